/*
 * test_template.c — templates: the table in tests/cases/templates.tsv
 * (rendering, filters, escaping, missing variables, compile errors), then
 * errors placed at the exact line and column inside every kind of YAML
 * scalar, and the configuration's template set.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "common/cases.h"
#include "common/example.h"
#include "desk/template.h"

#define MIN                                  \
    "http:\n"                                \
    "  api_tokens:\n"                        \
    "    - name: helpdesk\n"                 \
    "      token: \"0123456789abcdef\"\n"

/* The intake form the table's scope knows. */
static const struct cfg_intake_question questions[] = {
    { .field = "name", .type = "text" },
    { .field = "plan", .type = "choice" },
    { .field = "phone", .type = "phone", .optional = true },
};

/* \n, \t and \\ of a case file column; other backslashes stay. Heap copy. */
static char *unescape(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    cr_assert_not_null(out);
    for (; *s; s++) {
        if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
            *o++ = s[1] == 'n' ? '\n' : s[1] == 't' ? '\t' : '\\';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* "customer.first_name=Ann;ticket.id=7" into v (pointing into spec). */
static void parse_vars(char *spec, struct template_vars *v, struct kv *kv, size_t *nkv, int line)
{
    static const struct { const char *name; size_t off; } names[] = {
        { "customer.first_name", offsetof(struct template_vars, customer_first_name) },
        { "customer.last_name", offsetof(struct template_vars, customer_last_name) },
        { "customer.username", offsetof(struct template_vars, customer_username) },
        { "customer.language", offsetof(struct template_vars, customer_language) },
        { "customer.tier", offsetof(struct template_vars, customer_tier) },
        { "ticket.subject", offsetof(struct template_vars, ticket_subject) },
        { "ticket.priority", offsetof(struct template_vars, ticket_priority) },
        { "ticket.status", offsetof(struct template_vars, ticket_status) },
        { "ticket.group", offsetof(struct template_vars, ticket_group) },
        { "agent.name", offsetof(struct template_vars, agent_name) },
        { "agent.username", offsetof(struct template_vars, agent_username) },
    };
    memset(v, 0, sizeof *v);
    *nkv = 0;
    if (strcmp(spec, "-") == 0)
        return;
    for (char *save = NULL, *p = strtok_r(spec, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(p, '=');
        cr_assert_not_null(eq, "templates.tsv:%d: '%s' is not name=value", line, p);
        *eq = '\0';
        const char *val = eq + 1;
        if (strcmp(p, "ticket.id") == 0) {
            v->ticket_id = strtoll(val, NULL, 10);
            continue;
        }
        if (strncmp(p, "intake.", 7) == 0) {
            kv[*nkv].key = p + 7;
            kv[*nkv].value = val;
            (*nkv)++;
            continue;
        }
        size_t i = 0;
        while (i < sizeof names / sizeof names[0] && strcmp(names[i].name, p) != 0)
            i++;
        cr_assert(i < sizeof names / sizeof names[0], "templates.tsv:%d: unknown variable %s",
                  line, p);
        *(const char **)(void *)((char *)v + names[i].off) = val;
    }
    v->intake = kv;
}

Test(template, table)
{
    struct case_row *rows;
    size_t n;
    cases_load("tests/cases/templates.tsv", &rows, &n);
    cr_assert_gt(n, 60, "the template table should have all its rows");
    for (size_t r = 0; r < n; r++) {
        struct case_row *row = &rows[r];
        int line = row->line;
        cr_assert_eq(row->ncols, 5, "templates.tsv:%d: want 5 columns", line);
        const char *m = row->cols[0], *scope = row->cols[1], *expect = row->cols[4];
        enum template_mode mode = strcmp(m, "html") == 0 ? TEMPLATE_HTML :
                                  strcmp(m, "markdownv2") == 0 ? TEMPLATE_MARKDOWN_V2 :
                                  TEMPLATE_PLAIN;
        cr_assert(mode != TEMPLATE_PLAIN || strcmp(m, "plain") == 0, "templates.tsv:%d: mode",
                  line);
        bool bot = strcmp(scope, "bot") == 0;
        cr_assert(bot || strcmp(scope, "canned") == 0, "templates.tsv:%d: scope", line);
        struct template_scope sc = {
            .ns = bot ? TEMPLATE_NS_CUSTOMER | TEMPLATE_NS_TICKET | TEMPLATE_NS_INTAKE
                      : TEMPLATE_NS_ALL,
            .questions = questions, .nquestions = 3, .nanswered = 3, .sure = bot,
        };
        char *text = unescape(row->cols[2]);
        struct template *t = NULL;
        struct err e = {0};
        int rc = template_compile(NULL, "template 't'", text, NULL, &sc, &t, &e);
        if (strncmp(expect, "error: ", 7) == 0) {
            cr_expect_eq(rc, ERR_CONFIG, "templates.tsv:%d: compiled, expected an error", line);
            cr_expect_null(t);
            cr_expect(strstr(e.msg, expect + 7) != NULL,
                      "templates.tsv:%d: error '%s' lacks '%s'", line, e.msg, expect + 7);
            free(text);
            continue;
        }
        cr_assert_eq(rc, 0, "templates.tsv:%d: compile failed: %s", line, e.msg);
        struct template_vars v;
        struct kv kv[8];
        size_t nkv;
        char *vars = unescape(row->cols[3]);
        parse_vars(vars, &v, kv, &nkv, line);
        v.nintake = nkv;
        struct arena *a = arena_new(0);
        struct template_out out;
        rc = template_render(t, &v, mode, a, &out, &e);
        if (strncmp(expect, "text: ", 6) == 0) {
            char *want = unescape(expect + 6);
            cr_expect_eq(rc, 0, "templates.tsv:%d: render failed: %s", line, e.msg);
            if (rc == 0)
                cr_expect_str_eq(out.text, want, "templates.tsv:%d: got '%s', want '%s'", line,
                                 out.text, want);
            free(want);
        } else {
            cr_assert(strncmp(expect, "missing: ", 9) == 0, "templates.tsv:%d: expect", line);
            cr_expect_eq(rc, ERR_UNPROCESSABLE, "templates.tsv:%d: rendered '%s'", line,
                         out.text ? out.text : "");
            cr_expect_null(out.text);
            char got[256] = "";
            for (size_t k = 0; k < out.nmissing; k++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? "," : "",
                         out.missing[k]);
            cr_expect_str_eq(got, expect + 9, "templates.tsv:%d: missing '%s', want '%s'", line,
                             got, expect + 9);
        }
        arena_free(&a);
        template_free(&t);
        cr_assert_null(t);
        free(vars);
        free(text);
    }
    cases_free(rows, n);
}

/* --- errors at their place in the file ------------------------------------------ */

static void compile_fails(const char *yaml, const char *prefix, const char *msg)
{
    struct cfg *c = NULL;
    struct err e = {0};
    int rc = cfg_load_string("t.yaml", yaml, strlen(yaml), &c, &e);
    cr_assert_eq(rc, 0, "the YAML itself should load: %s", e.msg);
    struct template_set *s = (struct template_set *)1;
    rc = template_set_new(c, &s, &e);
    cr_expect_eq(rc, ERR_CONFIG, "compiled:\n%s", yaml);
    cr_expect_null(s);
    cr_expect(strncmp(e.msg, prefix, strlen(prefix)) == 0, "want prefix '%s', got '%s'", prefix,
              e.msg);
    cr_expect(strstr(e.msg, msg) != NULL, "want '%s' in '%s'", msg, e.msg);
    cfg_unref(&c);
}

Test(template, error_in_flow_double_quoted)
{
    compile_fails(MIN "templates:\n  - {name: t, text: \"Hi {{custmer.x}}\"}\n", "t.yaml:6:27: ",
                  "template 't': unknown variable namespace 'custmer'");
}

Test(template, error_in_literal_block)
{
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: |\n"
                  "      Dear {{customer.first_name}},\n"
                  "      your ticket {{ticket.idd}} is done.\n",
                  "t.yaml:9:28: ", "unknown variable 'ticket.idd'");
}

Test(template, error_in_folded_block_after_blank_line)
{
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: >-\n"
                  "      First line\n"
                  "      {{ticket.id}} and\n"
                  "\n"
                  "      then {{custmer.x}}\n",
                  "t.yaml:11:14: ", "unknown variable namespace 'custmer'");
}

Test(template, error_in_more_indented_literal_lines)
{
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: |\n"
                  "      Steps:\n"
                  "        1. open {{ticket.subject}}\n"
                  "        2. {{ \"x\" | shout }}\n",
                  "t.yaml:10:21: ", "unknown filter 'shout'");
}

Test(template, error_after_double_quoted_escapes_and_continuation)
{
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: \"\\u00e9\\t{{custmer.x}}\"\n",
                  "t.yaml:7:22: ", "unknown variable namespace");
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: \"caf\\u00e9 \\\"q\\\" \\\n"
                  "      {{custmer.x}}\"\n",
                  "t.yaml:8:9: ", "unknown variable namespace");
}

Test(template, error_in_plain_and_single_quoted)
{
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: Hello\n"
                  "      {{custmer.x}}\n",
                  "t.yaml:8:9: ", "unknown variable namespace");
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: 'it''s {{custmer.x}}'\n",
                  "t.yaml:7:20: ", "unknown variable namespace");
}

Test(template, columns_count_characters_and_env_is_mapped_back)
{
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: \"привет {{custmer.x}}\"\n",
                  "t.yaml:7:21: ", "unknown variable namespace");
    setenv("TGCRM_T_ENV", "a much longer value", 1);
    compile_fails(MIN "templates:\n"
                  "  - name: t\n"
                  "    text: \"${TGCRM_T_ENV} {{custmer.x}}\"\n",
                  "t.yaml:7:29: ", "unknown variable namespace");
}

Test(template, syntax_errors_point_at_the_braces)
{
    compile_fails(MIN "templates:\n  - {name: t, text: \"Hi {{name\"}\n", "t.yaml:6:25: ",
                  "template 't': '{{' is never closed");
    compile_fails(MIN "templates:\n  - {name: t, text: \"Hi name}}\"}\n", "t.yaml:6:29: ",
                  "'}}' without an opening '{{'");
    compile_fails(MIN "templates:\n  - {name: t, text: \"Hi {{ }}\"}\n", "t.yaml:6:25: ",
                  "empty placeholder");
}

Test(template, intake_fields_come_from_the_config)
{
    compile_fails(MIN "templates:\n  - {name: t, text: \"{{intake.plan}}\"}\n", "t.yaml:6:24: ",
                  "unknown intake field 'plan' (no intake questions are configured)");
    compile_fails(MIN "templates:\n  - {name: t, text: \"{{intake.plann}}\"}\n"
                  "intake:\n  questions:\n    - {field: plan, prompt: \"Plan?\"}\n",
                  "t.yaml:6:24: ", "unknown intake field 'plann' (the form asks for plan)");
}

/* --- the set ---------------------------------------------------------------- */

Test(template, set_from_config_renders_and_reports_missing)
{
    const char *yaml = MIN
        "templates:\n"
        "  - name: greeting\n"
        "    text: \"Hi {{customer.first_name | default: \\\"there\\\"}}!\"\n"
        "  - name: status\n"
        "    text: |\n"
        "      Ticket #{{ticket.id}} ({{ticket.subject}}) for @{{customer.username}},\n"
        "      plan {{intake.plan}}.\n"
        "intake:\n"
        "  questions:\n"
        "    - {field: plan, prompt: \"Plan?\", type: choice, choices: [Free, Pro]}\n";
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("t.yaml", yaml, strlen(yaml), &c, &e), 0, "%s", e.msg);
    struct template_set *s = NULL;
    cr_assert_eq(template_set_new(c, &s, &e), 0, "%s", e.msg);
    cfg_unref(&c);                      /* the set needs nothing from the cfg */
    cr_assert_eq(template_set_count(s), 2);
    cr_assert_str_eq(template_set_name(s, 1), "status");
    cr_assert_null(template_set_find(s, "nope"));
    cr_assert_null(template_set_at(s, 2));
    const struct template *t = template_set_find(s, "status");
    cr_assert_eq(t, template_set_at(s, 1));
    cr_assert_str_eq(template_what(t), "template 'status'");

    struct customer cu = { .first_name = "Ann", .username = "ann_l", .tier = "standard" };
    struct kv fields[] = { { "plan", "Pro" } };
    struct ticket tk = { .id = 42, .subject = "Refund", .group = "general",
                         .fields = fields, .nfields = 1 };
    struct template_vars v;
    template_vars_from(&v, &cu, &tk, NULL);
    struct arena *a = arena_new(0);
    struct template_out out;
    cr_assert_eq(template_render(t, &v, TEMPLATE_PLAIN, a, &out, &e), 0, "%s", e.msg);
    cr_assert_str_eq(out.text, "Ticket #42 (Refund) for @ann_l,\nplan Pro.\n");

    template_vars_from(&v, &(struct customer){ .first_name = "Bo" }, NULL, NULL);
    cr_assert_eq(template_render(t, &v, TEMPLATE_PLAIN, a, &out, &e), ERR_UNPROCESSABLE);
    cr_assert_eq(out.nmissing, 4);
    cr_assert_str_eq(e.msg, "template 'status' was not sent: no value for ticket.id, "
                     "ticket.subject, customer.username or intake.plan (give them a default, "
                     "such as {{ticket.id | default: \"...\"}})");

    err_clear(&e);
    cr_assert_eq(template_render(template_set_find(s, "greeting"), NULL, TEMPLATE_HTML, a, &out,
                                 &e), 0);
    cr_assert_str_eq(out.text, "Hi there!");
    arena_free(&a);
    template_set_free(&s);
    cr_assert_null(s);
}

Test(template, vars_from_records)
{
    struct customer cu = { .first_name = "Ann", .last_name = "Lee", .username = "al",
                           .language = "en", .tier = "vip" };
    struct ticket tk = { .id = 7, .subject = "S", .priority = PRIORITY_HIGH,
                         .status = TICKET_ON_HOLD, .group = "billing" };
    struct cfg_agent ag = { .id = "alice", .name = "Alice", .username = "alice_s" };
    struct template_vars v;
    template_vars_from(&v, &cu, &tk, &ag);
    cr_assert_str_eq(v.customer_last_name, "Lee");
    cr_assert_str_eq(v.customer_tier, "vip");
    cr_assert_eq(v.ticket_id, 7);
    cr_assert_str_eq(v.ticket_priority, "high");
    cr_assert_str_eq(v.ticket_status, "on_hold");
    cr_assert_str_eq(v.agent_name, "Alice");
    cr_assert_str_eq(v.agent_username, "alice_s");
}

Test(template, example_config_compiles)
{
    struct cfg *c = example_cfg();
    struct err e = {0};
    struct template_set *s = NULL;
    cr_assert_eq(template_set_new(c, &s, &e), 0, "%s", e.msg);
    cr_assert_eq(template_set_count(s), c->ntemplates);
    template_set_free(&s);
    cfg_unref(&c);
}

Test(template, escape_helper)
{
    struct arena *a = arena_new(0);
    cr_assert_str_eq(template_escape(a, "a<b>&\"", TEMPLATE_HTML), "a&lt;b&gt;&amp;&quot;");
    cr_assert_str_eq(template_escape(a, "1.5!", TEMPLATE_MARKDOWN_V2), "1\\.5\\!");
    cr_assert_str_eq(template_escape(a, "1.5!", TEMPLATE_PLAIN), "1.5!");
    cr_assert_str_eq(template_escape(a, NULL, TEMPLATE_HTML), "");
    arena_free(&a);
}
