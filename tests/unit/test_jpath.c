/*
 * test_jpath.c — JSON paths: every step kind on a webhook-shaped document,
 * the failing-step messages, syntax errors with their columns, numeric
 * equality and the cut-to-fit display.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/jx.h"
#include "check/jpath.h"

static const char doc_text[] =
    "{\"id\":\"evt_7\",\"type\":\"ticket.updated\","
    "\"ticket\":{\"id\":42,\"priority\":\"high\",\"fields\":{\"order.no\":\"A-1\","
    "\"it's\":1,\"say \\\"hi\\\"\":2,\"caf\xc3\xa9\":3}},"
    "\"thread\":[{\"seq\":1,\"text\":\"hello\"},{\"seq\":2,\"text\":\"world\"}],"
    "\"ratio\":0.5,\"none\":null}";

static json_t *doc;

static void setup(void)
{
    struct err e = {0};
    cr_assert_eq(jx_parse(doc_text, strlen(doc_text), &doc, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
    json_decref(doc);
}

TestSuite(jpath, .init = setup, .fini = teardown);

/* The value at expr, compact JSON; "ERR: <message>" when it fails. */
static const char *at(const char *expr)
{
    static char out[600];
    struct err e = {0};
    json_t *v = NULL;
    if (jpath_get(doc, expr, &v, &e) != 0) {
        snprintf(out, sizeof out, "ERR: %s", e.msg);
        return out;
    }
    return jpath_show(v, out, sizeof out);
}

struct pcase {
    const char *expr;
    const char *want;
};

Test(jpath, resolves)
{
    static const struct pcase cases[] = {
        {"$.ticket.id", "42"},
        {"$.type", "\"ticket.updated\""},
        {"$.thread[0].text", "\"hello\""},
        {"$.thread[1].seq", "2"},
        {"$.thread[-1].text", "\"world\""},
        {"$.thread[-2].seq", "1"},
        {"$['ticket'][\"priority\"]", "\"high\""},
        {"$.ticket.fields['order.no']", "\"A-1\""},
        {"$.ticket.fields['it\\'s']", "1"},
        {"$.ticket.fields[\"say \\\"hi\\\"\"]", "2"},
        {"$.ticket.fields.caf\xc3\xa9", "3"},
        {"$.none", "null"},
        {"$.ratio", "0.5"},
        {"$.thread[0]", "{\"seq\":1,\"text\":\"hello\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_str_eq(at(cases[i].expr), cases[i].want, "%s", cases[i].expr);
    cr_expect_eq(strncmp(at("$"), "{\"id\":\"evt_7\"", 13), 0, "%s", at("$"));
}

Test(jpath, says_which_step_failed)
{
    static const struct pcase cases[] = {
        {"$.ticket.assignee", "ERR: no member 'assignee' in $.ticket"},
        {"$.tickets.id", "ERR: no member 'tickets' in $"},
        {"$.thread[2].text", "ERR: index 2 out of range in $.thread (2 elements)"},
        {"$.thread[-3]", "ERR: index -3 out of range in $.thread (2 elements)"},
        {"$.ticket.id.x", "ERR: $.ticket.id is a number, not an object"},
        {"$.ticket[0]", "ERR: $.ticket is an object, not an array"},
        {"$.thread.seq", "ERR: $.thread is an array, not an object"},
        {"$.none.x", "ERR: $.none is null, not an object"},
        {"$['type'][0]", "ERR: $['type'] is a string, not an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_str_eq(at(cases[i].expr), cases[i].want, "%s", cases[i].expr);
}

Test(jpath, refuses_bad_syntax_with_column)
{
    static const struct pcase cases[] = {
        {"ticket.id", "column 1: a path starts with '$'"},
        {"$.", "column 3: expected a member name after '.'"},
        {"$..a", "column 3: expected a member name after '.'"},
        {"$.a[", "column 5: expected an index or a quoted name"},
        {"$.a[x]", "column 5: expected an index or a quoted name"},
        {"$.a[1", "column 6: expected ']'"},
        {"$.a['b", "column 7: unterminated quoted name"},
        {"$.a['b\\n']", "column 7: only"},
        {"$a", "column 2: expected '.' or '['"},
        {"$.a b", "column 4: expected '.' or '['"},
        {"$[1234567890123456789]", "column 3: index too large"},
        {"", "column 1: a path starts with '$'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jpath *p = (struct jpath *)1;
        struct err e = {0};
        cr_expect_eq(jpath_compile(cases[i].expr, &p, &e), ERR_INVAL, "%s", cases[i].expr);
        cr_expect_null(p);
        cr_expect(strstr(e.msg, cases[i].want) != NULL, "%s: got '%s', want '%s'",
                  cases[i].expr, e.msg, cases[i].want);
        cr_expect(strstr(e.msg, "bad JSON path") != NULL, "%s", e.msg);
    }
    struct err e = {0};
    struct jpath *p = NULL;
    cr_expect_eq(jpath_compile(NULL, &p, &e), ERR_INVAL);
    char longp[JPATH_MAX_LEN + 8] = "$";
    memset(longp + 1, 'a', JPATH_MAX_LEN + 2);
    longp[JPATH_MAX_LEN + 3] = '\0';
    err_clear(&e);
    cr_expect_eq(jpath_compile(longp, &p, &e), ERR_INVAL);
    cr_expect(strstr(e.msg, "longer than") != NULL, "%s", e.msg);
    char deep[4 * (JPATH_MAX_STEPS + 1) + 2] = "$";
    for (int i = 0; i <= JPATH_MAX_STEPS; i++)
        strcat(deep, "[0]");
    err_clear(&e);
    cr_expect_eq(jpath_compile(deep, &p, &e), ERR_INVAL);
    cr_expect(strstr(e.msg, "too many steps") != NULL, "%s", e.msg);
}

Test(jpath, compiled_once_used_many_times)
{
    struct jpath *p = NULL;
    struct err e = {0};
    cr_assert_eq(jpath_compile("$.ticket.id", &p, &e), 0, "%s", e.msg);
    cr_expect_str_eq(jpath_text(p), "$.ticket.id");
    for (int i = 0; i < 3; i++) {
        json_t *d = json_pack("{s:{s:i}}", "ticket", "id", i);
        json_t *v = jpath_eval(p, d, NULL);
        cr_expect_eq(json_integer_value(v), i);
        json_decref(d);
    }
    json_t *none = json_pack("{s:s}", "x", "y");
    err_clear(&e);
    cr_expect_null(jpath_eval(p, none, &e));
    cr_expect_eq(e.code, ERR_NOTFOUND);
    cr_expect_null(jpath_eval(p, NULL, NULL));
    json_decref(none);
    jpath_free(&p);
    cr_expect_null(p);
    jpath_free(&p);
}

Test(jpath, equality)
{
    json_t *i42 = json_integer(42), *r42 = json_real(42.0), *r425 = json_real(42.5);
    json_t *s42 = json_string("42");
    json_t *o1 = json_pack("{s:i,s:s}", "a", 1, "b", "x");
    json_t *o2 = json_pack("{s:s,s:i}", "b", "x", "a", 1);
    cr_expect(jpath_equal(i42, r42));
    cr_expect(!jpath_equal(i42, r425));
    cr_expect(!jpath_equal(i42, s42), "a number is not its text");
    cr_expect(jpath_equal(o1, o2), "member order does not matter");
    cr_expect(!jpath_equal(o1, NULL));
    cr_expect(jpath_equal(NULL, NULL));
    json_decref(i42);
    json_decref(r42);
    json_decref(r425);
    json_decref(s42);
    json_decref(o1);
    json_decref(o2);
}

Test(jpath, show_cuts_to_fit)
{
    char out[16];
    cr_expect_str_eq(jpath_show(NULL, out, sizeof out), "(missing)");
    json_t *s = json_string("0123456789abcdefghij");
    cr_expect_str_eq(jpath_show(s, out, sizeof out), "\"0123456789a...");
    cr_expect_eq(strlen(out), sizeof out - 1);
    json_decref(s);
    /* never half a UTF-8 character */
    json_t *u = json_string("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    jpath_show(u, out, sizeof out);
    cr_expect_str_eq(out, "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");
    json_decref(u);
}
