/*
 * test_expect.c — the pure parts of the expectations: the matcher
 * vocabulary (each word holding and failing, with the exact wording a
 * failing scenario shows), time specs, durations as written in reports,
 * field paths and the per-field diff. The parts that talk to the CRM, the
 * fake Telegram and the sink run in tests/integration/test_expect.c.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/clock.h"
#include "check/expect_match.h"

#define T0 1764756000000LL   /* 2025-12-03T10:00:00Z */

static const struct expect_times times = { .t0_ms = T0, .now_ms = T0 + 300000 };

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    cr_assert_not_null(v, "bad test JSON %s: %s", text, je.text);
    return v;
}

/* want/got as JSON text (got NULL = missing): 1/0/<0, and the wording in why. */
static int m(const char *want, const char *got, char *why, size_t n)
{
    json_t *w = J(want), *g = got ? J(got) : NULL;
    struct buf b;
    struct err e = {0};
    buf_init(&b, 0);
    int r = expect_match(w, g, &times, &b, &e);
    snprintf(why, n, "%s", r < 0 ? e.msg : buf_str(&b));
    buf_release(&b);
    json_decref(w);
    json_decref(g);
    return r;
}

static void holds(const char *want, const char *got)
{
    char why[1024];
    int r = m(want, got, why, sizeof why);
    cr_assert_eq(r, 1, "%s vs %s: %d %s", want, got ? got : "(missing)", r, why);
}

static void fails(const char *want, const char *got, const char *says)
{
    char why[1024];
    int r = m(want, got, why, sizeof why);
    cr_assert_eq(r, 0, "%s vs %s should fail: %d %s", want, got ? got : "(missing)", r, why);
    cr_assert_str_eq(why, says);
}

static void refused(const char *want, const char *says)
{
    char why[1024];
    int r = m(want, "1", why, sizeof why);
    cr_assert_eq(r, ERR_INVAL, "%s: %d %s", want, r, why);
    cr_assert(strstr(why, says) != NULL, "%s: %s", want, why);
}

Test(match, literals)
{
    holds("\"resolved\"", "\"resolved\"");
    holds("1", "1.0");
    holds("null", "null");
    holds("{\"a\":[1,2]}", "{\"a\":[1,2]}");
    fails("\"resolved\"", "\"in_progress\"", "want \"resolved\", got \"in_progress\"");
    fails("42", "\"42\"", "want 42 (a number), got \"42\" (a string)");
    fails("null", NULL, "want null, got nothing");
    fails("false", "null", "want false, got null");
}

Test(match, one_of_and_not)
{
    holds("{\"one_of\":[\"high\",\"urgent\"]}", "\"urgent\"");
    fails("{\"one_of\":[\"high\",\"urgent\"]}", "\"low\"",
          "want one of [\"high\",\"urgent\"], got \"low\"");
    holds("{\"one_of\":[{\"matches\":\"^a\"},\"b\"]}", "\"abc\"");
    holds("{\"not\":\"closed\"}", "\"open\"");
    fails("{\"not\":\"closed\"}", "\"closed\"", "want anything but \"closed\", got \"closed\"");
    holds("{\"not\":{\"absent\":true}}", "\"x\"");
}

Test(match, matches_is_case_sensitive_and_unanchored)
{
    holds("{\"matches\":\"ord[0-9]+\"}", "\"your ord42 is late\"");
    fails("{\"matches\":\"^ord\"}", "\"ORD1\"", "want text matching /^ord/, got \"ORD1\"");
    holds("{\"matches\":\"(?i)^ord\"}", "\"ORD1\"");
    fails("{\"matches\":\"x\"}", "5", "want a string matching /x/, got 5");
    refused("{\"matches\":\"(\"}", "bad regex /(/:");
}

Test(match, contains)
{
    holds("{\"contains\":\"refund\"}", "\"about a refund please\"");
    fails("{\"contains\":\"refund\"}", "\"hello\"",
          "want text containing \"refund\", got \"hello\"");
    holds("{\"contains\":\"vip\"}", "[\"a\",\"vip\"]");
    holds("{\"contains\":{\"matches\":\"^esc\"}}", "[\"a\",\"escalate-l2\"]");
    fails("{\"contains\":\"vip\"}", "[\"a\"]", "want a list containing \"vip\", got [\"a\"]");
    holds("{\"contains\":\"plan\"}", "{\"plan\":\"pro\"}");
    fails("{\"contains\":\"x\"}", NULL, "want text or a list containing \"x\", got nothing");
}

Test(match, absent)
{
    holds("{\"absent\":true}", NULL);
    holds("{\"absent\":true}", "null");
    fails("{\"absent\":true}", "\"alice\"", "want nothing (absent or null), got \"alice\"");
    holds("{\"absent\":false}", "0");
    fails("{\"absent\":false}", "null", "want a value, got null");
    refused("{\"absent\":\"yes\"}", "'absent' wants true or false");
}

Test(match, bounds)
{
    holds("{\"at_least\":3}", "3");
    fails("{\"at_least\":3}", "2", "want at least 3, got 2");
    holds("{\"at_least\":1,\"at_most\":5}", "5");
    fails("{\"at_least\":1,\"at_most\":5}", "6", "want at most 5, got 6");
    holds("{\"at_most\":\"2m\"}", "120000");
    fails("{\"at_most\":1}", "\"1\"", "want at most 1, got \"1\"");
}

Test(match, near_times)
{
    holds("{\"near\":\"t0+2m\",\"tolerance\":\"1s\"}", "\"2025-12-03T10:02:00.900Z\"");
    fails("{\"near\":\"t0+2m\",\"tolerance\":\"1s\"}", "\"2025-12-03T10:02:03.500Z\"",
          "want 2025-12-03T10:02:00.000Z ± 1s, got 2025-12-03T10:02:03.500Z (3.5s later)");
    fails("{\"at\":\"now\"}", "\"2025-12-03T10:04:58.000Z\"",
          "want 2025-12-03T10:05:00.000Z ± 1s, got 2025-12-03T10:04:58.000Z (2s earlier)");
    holds("{\"at\":\"2025-12-03T11:00:00+01:00\",\"tolerance\":0}", "\"2025-12-03T10:00:00Z\"");
    fails("{\"at\":\"t0\"}", "null", "want a time within 1s of 2025-12-03T10:00:00.000Z, got null");
    fails("{\"at\":\"t0\"}", "\"soon\"",
          "want a time within 1s of 2025-12-03T10:00:00.000Z, got \"soon\"");
    refused("{\"at\":\"tomorrow\"}", "'tomorrow' is not a time");
    refused("{\"tolerance\":\"1s\"}", "'tolerance' goes with 'near' or 'at'");
    refused("{\"near\":\"t0\",\"tolerance\":\"soon\"}", "'tolerance' wants a duration");
}

Test(match, near_numbers_and_durations)
{
    holds("{\"near\":\"2m\"}", "120400");
    fails("{\"near\":\"2m\"}", "125000", "want 2m ± 1s, got 2m5s (5s more)");
    holds("{\"near\":100,\"tolerance\":5}", "96");
    fails("{\"near\":100,\"tolerance\":5}", "94", "want 100 ± 5, got 94 (6 less)");
    fails("{\"near\":\"2m\"}", NULL, "want a number within 1000 of \"2m\", got nothing");
}

Test(match, equals_compares_a_mapping_literally)
{
    /* {contains: x} as data, not as a matcher */
    holds("{\"equals\":{\"contains\":\"x\"}}", "{\"contains\":\"x\"}");
    fails("{\"equals\":{\"contains\":\"x\"}}", "\"x\"", "want {\"contains\":\"x\"}, got \"x\"");
    /* a mapping with any non-matcher key is a literal */
    holds("{\"contains\":\"x\",\"other\":1}", "{\"other\":1,\"contains\":\"x\"}");
}

Test(times, specs)
{
    struct err e = {0};
    int64_t ms;
    cr_assert_eq(expect_time_parse("t0", &times, &ms, &e), 0);
    cr_assert_eq(ms, T0);
    cr_assert_eq(expect_time_parse("t0+2m", &times, &ms, &e), 0);
    cr_assert_eq(ms, T0 + 120000);
    cr_assert_eq(expect_time_parse("now-30s", &times, &ms, &e), 0);
    cr_assert_eq(ms, T0 + 300000 - 30000);
    cr_assert_eq(expect_time_parse("2025-12-03T10:00:00Z+1h", &times, &ms, &e), 0);
    cr_assert_eq(ms, T0 + 3600000);
    cr_assert_eq(expect_time_parse("2025-12-03T11:00:00+01:00-90s", &times, &ms, &e), 0);
    cr_assert_eq(ms, T0 - 90000);
    cr_assert_eq(expect_time_parse("2025-12-03T11:00:00.250+01:00", &times, &ms, &e), 0);
    cr_assert_eq(ms, T0 + 250);
    cr_assert_eq(expect_time_parse("1764756000000+1s", &times, &ms, &e), 0);
    cr_assert_eq(ms, T0 + 1000);
    cr_assert_eq(expect_time_parse("t0+", &times, &ms, &e), ERR_INVAL);
    cr_assert_eq(expect_time_parse("t0*2", &times, &ms, &e), ERR_INVAL);
    cr_assert_eq(expect_time_parse("", &times, &ms, &e), ERR_INVAL);
}

Test(times, durations_as_written)
{
    char b[32];
    cr_assert_str_eq(expect_fmt_dur(0, b, sizeof b), "0ms");
    cr_assert_str_eq(expect_fmt_dur(250, b, sizeof b), "250ms");
    cr_assert_str_eq(expect_fmt_dur(1500, b, sizeof b), "1.5s");
    cr_assert_str_eq(expect_fmt_dur(1005, b, sizeof b), "1.005s");
    cr_assert_str_eq(expect_fmt_dur(60000, b, sizeof b), "1m");
    cr_assert_str_eq(expect_fmt_dur(125000, b, sizeof b), "2m5s");
    cr_assert_str_eq(expect_fmt_dur(3600000 + 1000, b, sizeof b), "1h1s");
    cr_assert_str_eq(expect_fmt_dur(-3000, b, sizeof b), "-3s");
}

Test(fields, paths)
{
    char p[256];
    struct err e = {0};
    cr_assert_eq(expect_field_path("status", p, sizeof p, &e), 0);
    cr_assert_str_eq(p, "$.status");
    cr_assert_eq(expect_field_path("sla.first_response.breached", p, sizeof p, &e), 0);
    cr_assert_str_eq(p, "$.sla.first_response.breached");
    cr_assert_eq(expect_field_path("tags.0", p, sizeof p, &e), 0);
    cr_assert_str_eq(p, "$.tags[0]");
    cr_assert_eq(expect_field_path("custom_fields.order id", p, sizeof p, &e), 0);
    cr_assert_str_eq(p, "$.custom_fields['order id']");
    cr_assert_eq(expect_field_path("$['a.b'][1]", p, sizeof p, &e), 0);
    cr_assert_str_eq(p, "$['a.b'][1]");
    cr_assert_eq(expect_field_path("a..b", p, sizeof p, &e), ERR_INVAL);
    cr_assert_str_eq(e.msg, "field 'a..b' has an empty part");
    struct err e2 = {0};
    cr_assert_eq(expect_field_path("abcdefgh", p, 6, &e2), ERR_INVAL);
}

Test(fields, diff_lines)
{
    json_t *ticket = J("{\"status\":\"in_progress\",\"priority\":\"high\",\"assignee\":\"bob\","
                       "\"custom_fields\":{\"plan\":\"pro\"},\"sla\":{\"first_response\":"
                       "{\"breached\":false}},\"tags\":[\"vip\"]}");
    json_t *want = J("{\"status\":\"resolved\",\"priority\":\"high\",\"custom_fields.plan\":"
                     "\"pro\",\"sla.first_response.breached\":true,\"sla.resolution.met_at\":"
                     "{\"absent\":false},\"tags\":{\"contains\":\"vip\"}}");
    struct buf d;
    struct err e = {0};
    size_t failed;
    buf_init(&d, 0);
    cr_assert_eq(expect_fields(want, ticket, &times, &d, &failed, &e), 0, "%s", e.msg);
    cr_assert_eq(failed, 3);
    cr_assert_str_eq(buf_str(&d),
                     "status: want \"resolved\", got \"in_progress\"\n"
                     "sla.first_response.breached: want true, got false\n"
                     "sla.resolution.met_at: want a value, got nothing "
                     "(no member 'resolution' in $.sla)");
    buf_release(&d);
    json_decref(want);
    want = J("{\"status\":{\"matches\":\"[\"}}");
    cr_assert_eq(expect_fields(want, ticket, &times, &d, &failed, &e), ERR_INVAL);
    cr_assert(strstr(e.msg, "field 'status': bad regex") != NULL, "%s", e.msg);
    buf_release(&d);
    json_decref(want);
    json_decref(ticket);
}

/* The words docs/scenarios.md promises the suites: present, min/max, length,
 * contains with a mapping (an item having those members). */
Test(match, scenarios_vocabulary)
{
    holds("{\"present\": true}", "null");
    holds("{\"present\": false}", NULL);
    fails("{\"present\": true}", NULL, "want the path to exist, got nothing");
    fails("{\"present\": false}", "3", "want nothing there, got 3");
    holds("{\"min\": 1, \"max\": 3}", "3");
    holds("{\"max\": \"1s\"}", "1000");
    fails("{\"min\": 2}", "1", "want at least 2, got 1");
    holds("{\"length\": 0}", "[]");
    holds("{\"length\": 2}", "{\"a\": 1, \"b\": 2}");
    holds("{\"length\": 3}", "\"h\\u00e9y\"");
    fails("{\"length\": 0}", "[1]", "want length 0, got length 1: [1]");
    refused("{\"length\": \"x\"}", "'length' wants a whole number");
    holds("{\"contains\": {\"id\": \"KB-1\"}}", "[{\"id\": \"KB-2\"}, {\"id\": \"KB-1\", \"t\": 1}]");
    fails("{\"contains\": {\"id\": \"KB-3\"}}", "[{\"id\": \"KB-2\"}]",
          "want a list containing {\"id\":\"KB-3\"}, got [{\"id\":\"KB-2\"}]");
}

Test(fields, indexed_names)
{
    char out[128];
    struct err e = {0};
    cr_assert_eq(expect_field_path("kb_suggestions[0].id", out, sizeof out, &e), 0);
    cr_assert_str_eq(out, "$.kb_suggestions[0].id");
    cr_assert_eq(expect_field_path("thread[-1].text", out, sizeof out, &e), 0);
    cr_assert_str_eq(out, "$.thread[-1].text");
}
