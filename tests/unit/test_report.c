/*
 * test_report.c — the reports a check run writes, from a report built by
 * hand (tests/common/report_fixture.c): JUnit XML well-formed and complete
 * (failure text, seeds, steps, escaping of <&>"' and control characters),
 * CTRF JSON with the keys the schema requires, the HTML self-contained
 * with its checklist, timeline and highlighted failure, the console
 * summary and checklist, the files report_write_all writes, the exit
 * code, the progress printer, and the result.c helpers.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/jx.h"
#include "base/mem.h"
#include "check/progress.h"
#include "check/report.h"
#include "check/report_impl.h"
#include "common/report_fixture.h"

#define ORIGIN 1767225600000LL   /* 2026-01-01T00:00:00Z */

static struct check_report *rep;

static void setup(void)
{
    rep = report_fixture_new(100, ORIGIN);
    cr_assert_not_null(rep);
}

static void teardown(void)
{
    check_report_free(&rep);
    cr_assert_null(rep);
}

TestSuite(report, .init = setup, .fini = teardown);

typedef int (*render_fn)(const struct check_report *, bool, struct buf *);

static char *render(render_fn fn, bool deterministic)
{
    struct buf b;
    buf_init(&b, 0);
    cr_assert_eq(fn(rep, deterministic, &b), 0);
    return buf_detach(&b);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* No raw control byte but tab, LF and CR: XML 1.0 (and HTML) cannot carry them. */
static void assert_no_controls(const char *doc)
{
    for (const unsigned char *p = (const unsigned char *)doc; *p; p++)
        cr_assert(*p >= 0x20 || *p == '\n' || *p == '\t' || *p == '\r',
                  "raw control byte 0x%02x at offset %zu", *p, (size_t)((const char *)p - doc));
}

/*
 * A small XML well-formedness check: tags nest and match, attribute values
 * are quoted, every '&' starts a known entity or a character reference, no
 * raw '<' or '>' in text (the reports escape both). HTML void elements
 * (meta) may stay open when `html`.
 */
static void assert_well_formed(const char *doc, bool html)
{
    const char *stack[64];
    size_t depth = 0;
    const char *p = doc;
    if (strncmp(p, "<?xml", 5) == 0)
        p = strstr(p, "?>") + 2;
    if (strncmp(p, "\n<!DOCTYPE", 10) == 0 || strncmp(p, "<!DOCTYPE", 9) == 0)
        p = strchr(p, '>') + 1;
    for (; *p; p++) {
        if (*p == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#"};
            bool ok = false;
            for (size_t i = 0; i < 5 && !ok; i++)
                ok = strncmp(p, ents[i], strlen(ents[i])) == 0;
            cr_assert(ok, "bad entity at %.20s", p);
            continue;
        }
        if (*p == '>')
            cr_assert_fail("raw '>' in text at %.30s", p > doc + 20 ? p - 20 : doc);
        if (*p != '<')
            continue;
        const char *end = strchr(p, '>');
        cr_assert_not_null(end, "unclosed tag");
        /* attributes: quotes balance */
        size_t quotes = 0;
        for (const char *q = p; q < end; q++)
            quotes += *q == '"';
        cr_assert_eq(quotes % 2, 0, "unbalanced quotes in %.*s", (int)(end - p + 1), p);
        bool closing = p[1] == '/', self = end[-1] == '/';
        const char *name = p + (closing ? 2 : 1);
        size_t len = strcspn(name, " />\n");
        if (!closing && !self && !(html && len == 4 && strncmp(name, "meta", 4) == 0)) {
            cr_assert_lt(depth, 64);
            stack[depth++] = name;
        } else if (closing) {
            cr_assert_gt(depth, 0, "close without open: %.*s", (int)len, name);
            depth--;
            cr_assert(strncmp(stack[depth], name, len) == 0 &&
                      strcspn(stack[depth], " />\n") == len,
                      "</%.*s> closes <%.*s>", (int)len, name,
                      (int)strcspn(stack[depth], " />\n"), stack[depth]);
        }
        p = end;
    }
    cr_assert_eq(depth, 0, "%zu elements left open", depth);
}

Test(report, junit_structure_and_escaping)
{
    char *x = render(report_junit_render, false);
    assert_well_formed(x, false);
    assert_no_controls(x);
    cr_assert(strncmp(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", 50) == 0);
    cr_assert_eq(count(x, "<testsuite "), 2);
    cr_assert_eq(count(x, "<testcase "), 3);
    cr_assert_eq(count(x, "<failure "), 1);
    cr_assert_eq(count(x, "<skipped "), 1);
    cr_assert_eq(count(x, "<system-out>"), 3);
    cr_assert_not_null(strstr(x, "tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""));
    /* seeds: the run's on the suite, each case's own */
    cr_assert_not_null(strstr(x, "<property name=\"seed\" value=\"424242\"/>"));
    cr_assert_not_null(strstr(x, "<property name=\"seed\" value=\"1111\"/>"));
    /* the failure: file:line:col, expected, seen, near misses, replay */
    cr_assert_not_null(strstr(x, "message=\"suites/routing.yaml:17:9: a webhook ticket.assigned "
                                 "with $.ticket.assignee = &quot;bob&quot;\""));
    cr_assert_not_null(strstr(x, "type=\"expect_webhook\""));
    cr_assert_not_null(strstr(x, "near misses, closest first:\n  webhook #2"));
    cr_assert_not_null(strstr(x, "$.ticket.assignee: want &quot;bob&quot;, got &quot;alice&quot;"));
    cr_assert_not_null(strstr(x, "tgcrm check --seed 1111 suites/routing.yaml"));
    /* names escaped; unicode kept; control characters shown, not raw */
    cr_assert_not_null(strstr(x, "name=\"routing &lt;&amp;&gt; &quot;escalation&quot;\""));
    cr_assert_not_null(strstr(x, "\xF0\x9F\x9A\x80"));
    cr_assert_not_null(strstr(x, "partition\\x01\\x1B[31m for 5 minutes"));
    cr_assert_not_null(strstr(x, "<skipped message=\"faults need the sandbox target\"/>"));
    /* steps in system-out, one line each */
    cr_assert_not_null(strstr(x, "  4 failed  T+00:10:01.000..T+00:10:31.000 expect_webhook "
                                 "ticket.assigned to bob  suites/routing.yaml:17:9 (31 polls)"));
    cr_assert_not_null(strstr(x, "<system-err>"), "the sandbox log of a failed case");
    cr_assert_not_null(strstr(x, " time=\""));
    mem_free(x);
}

Test(report, junit_deterministic_leaves_times_out)
{
    char *a = render(report_junit_render, true);
    rep->real_ms = 99999;
    rep->started_at += 5000;
    for (size_t i = 0; i < rep->ncases; i++) {
        rep->cases[i].real_ms += 77;
        for (size_t k = 0; k < rep->cases[i].nsteps; k++)
            rep->cases[i].steps[k].real_ms += 13;
    }
    char *b = render(report_junit_render, true);
    cr_assert_str_eq(a, b);
    cr_assert_null(strstr(a, "time="));
    cr_assert_null(strstr(a, "<system-err>"), "the log carries ports and wall times");
    assert_well_formed(a, false);
    char *c = render(report_junit_render, false);
    cr_assert_str_neq(a, c);
    mem_free(a);
    mem_free(b);
    mem_free(c);
}

Test(report, ctrf_has_the_required_keys)
{
    char *text = render(report_ctrf_render, false);
    json_t *doc = NULL;
    struct err e = {0};
    cr_assert_eq(jx_parse_object(text, strlen(text), &doc, &e), 0, "%s", e.msg);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "reportFormat")), "CTRF");
    cr_assert_not_null(json_string_value(json_object_get(doc, "specVersion")));
    json_t *res = json_object_get(doc, "results");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(res, "tool"), "name")),
                     "tgcrm check");
    json_t *sum = json_object_get(res, "summary");
    static const char *const keys[] = {"tests", "passed", "failed", "skipped", "pending",
                                       "other", "start", "stop"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert(json_is_integer(json_object_get(sum, keys[i])), "summary.%s", keys[i]);
    cr_assert_eq(json_integer_value(json_object_get(sum, "tests")), 3);
    cr_assert_eq(json_integer_value(json_object_get(sum, "failed")), 1);
    cr_assert_eq(json_integer_value(json_object_get(sum, "skipped")), 1);
    cr_assert_eq(json_integer_value(json_object_get(sum, "start")), 1764000000000);
    cr_assert_eq(json_integer_value(json_object_get(sum, "stop")), 1764000002345);
    json_t *tests = json_object_get(res, "tests");
    cr_assert_eq(json_array_size(tests), 3);
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t) {
        cr_assert(json_is_string(json_object_get(t, "name")));
        cr_assert(json_is_string(json_object_get(t, "status")));
        cr_assert(json_is_integer(json_object_get(t, "duration")));
        json_t *extra = json_object_get(t, "extra");
        cr_assert(json_is_string(json_object_get(extra, "seed")), "seed as a string");
        cr_assert(json_is_string(json_object_get(extra, "suite")));
        cr_assert(json_is_string(json_object_get(extra, "file")));
        cr_assert(json_is_integer(json_object_get(extra, "line")));
    }
    t = json_array_get(tests, 0);
    cr_assert_str_eq(json_string_value(json_object_get(t, "status")), "failed");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(t, "extra"), "seed")),
                     "1111");
    cr_assert_not_null(strstr(json_string_value(json_object_get(t, "trace")), "near misses"));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tests, 2), "status")),
                     "skipped");
    json_decref(doc);
    mem_free(text);
}

/* Every tag's attributes: no src= at all, href= only to a fragment. */
static void assert_self_contained(const char *html)
{
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        char *tag = mem_strndup(p, (size_t)(end - p));
        cr_assert_null(strstr(tag, "src="), "%s", tag);
        cr_assert_null(strstr(tag, "://"), "%s", tag);
        const char *h = strstr(tag, "href=");
        cr_assert(!h || strncmp(h, "href=\"#", 7) == 0, "%s", tag);
        cr_assert(strncmp(tag, "<link", 5) != 0 && strncmp(tag, "<script", 7) != 0 &&
                  strncmp(tag, "<img", 4) != 0 && strncmp(tag, "<iframe", 7) != 0, "%s", tag);
        mem_free(tag);
    }
    cr_assert_null(strstr(html, "@import"));
    for (const char *u = strstr(html, "url("); u; u = strstr(u + 1, "url("))
        cr_assert(strncmp(u, "url(#", 5) == 0, "url() to a resource: %.30s", u);
}

Test(report, html_self_contained_with_timeline_and_failure)
{
    /* hostile text in a label and a name: must stay text */
    rep->cases[0].events[0].label = "<img src=\"https://evil.example/x.png\"> & more";
    rep->cases[1].scenario = "<script>alert(1)</script>";
    char *h = render(report_html_render, false);
    assert_well_formed(h, true);
    assert_no_controls(h);
    assert_self_contained(h);
    cr_assert_null(strstr(h, "<script>"));
    cr_assert_not_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    /* checklist first, pass / FAIL / not proved per item */
    const char *list = strstr(h, "id=\"checklist\""), *first = strstr(h, "id=\"case-1\"");
    cr_assert(list && first && list < first);
    cr_assert_not_null(strstr(h, ">not proved<"));
    cr_assert_not_null(strstr(h, ">FAIL<"));
    /* a timeline per case with events; lanes; fault span; SLA line; failure in red */
    cr_assert_eq(count(h, "<svg"), 2);
    cr_assert_not_null(strstr(h, ">Help desk</text>"));
    cr_assert_not_null(strstr(h, "class=\"fault\""));
    cr_assert_not_null(strstr(h, "class=\"sla\""));
    cr_assert_not_null(strstr(h, "class=\"arrow fail\""));
    cr_assert_not_null(strstr(h, "class=\"mark fail\""));
    cr_assert_not_null(strstr(h, "class=\"failrow\""));
    cr_assert_not_null(strstr(h, "marker-end=\"url(#ahf)\""));
    cr_assert_not_null(strstr(h, "&#8942; +4m59s"), "the long jump of the clock is marked");
    /* the failing step highlighted in its table, the failure spelled out */
    cr_assert_not_null(strstr(h, "<tr class=\"fail\"><td>4</td>"));
    cr_assert_not_null(strstr(h, "<pre class=\"failure\">step 4 expect_webhook"));
    cr_assert_not_null(strstr(h, "Seed</dt><dd>1111"));
    cr_assert_not_null(strstr(h, "the ticket is assigned to bob &amp; a webhook says so"));
    mem_free(h);
}

Test(report, summary_names_failures_and_checklist)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    report_print_summary(f, rep, false);
    fclose(f);
    cr_assert_not_null(strstr(out, "3 scenario runs: 1 passed, 1 failed, 0 errored, 1 skipped "
                                   "(seed 424242, sandbox, 2.345 s)"), "%s", out);
    cr_assert_not_null(strstr(out, "FAILED  routing <&> \"escalation\" \xE2\x80\xBA VIP"));
    cr_assert_not_null(strstr(out, "  step 4 expect_webhook ticket.assigned to bob at "
                                   "suites/routing.yaml:17:9\n"));
    cr_assert_not_null(strstr(out, "  seen:     2 webhooks, none matched\n"
                                   "            closest: #2\n"));
    cr_assert_not_null(strstr(out, "    $.ticket.assignee: want \"bob\", got \"alice\""));
    cr_assert_not_null(strstr(out, "replay with tgcrm check --seed 1111 suites/routing.yaml"));
    cr_assert_not_null(strstr(out, "SKIPPED webhooks \xE2\x80\xBA partition\\x01\\x1B[31m"));
    cr_assert_not_null(strstr(out, ": faults need the sandbox target"));
    cr_assert_not_null(strstr(out, "[FAIL] routing "));
    cr_assert_not_null(strstr(out, "[FAIL] webhooks"), "one of its two runs failed");
    cr_assert_not_null(strstr(out, "(1 of 2 scenario runs failed)"));
    cr_assert_not_null(strstr(out, "[ -- ] kb"));
    cr_assert_not_null(strstr(out, "(not proved: no scenario)"));
    cr_assert_null(strstr(out, "\033["), "no colour unless asked");
    free(out);
    f = open_memstream(&out, &n);
    report_print_summary(f, rep, true);
    fclose(f);
    cr_assert_not_null(strstr(out, "\033[31m"));
    free(out);
}

Test(report, write_all_writes_every_file_and_exit_codes)
{
    char dir[] = "/tmp/tgcrm-report-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *sub = mem_printf("%s/out/nested", dir), *base = mem_printf("%s/baseline.json", dir);
    char *out = NULL;
    size_t n = 0, changes = 99;
    FILE *f = open_memstream(&out, &n);
    struct report_opts o = {.dir = sub, .record_baseline = base, .out = f};
    struct err e = {0};
    cr_assert_eq(report_write_all(rep, &o, &changes, &e), 0, "%s", e.msg);
    cr_assert_eq(changes, 0);
    /* compare with what was just recorded: no change */
    o = (struct report_opts){.baseline = base, .out = f};
    cr_assert_eq(report_write_all(rep, &o, &changes, &e), 0, "%s", e.msg);
    fclose(f);
    cr_assert_eq(changes, 0);
    static const char *const files[] = {"junit.xml", "ctrf.json", "report.html"};
    for (size_t i = 0; i < 3; i++) {
        char *p = mem_printf("%s/%s", sub, files[i]);
        cr_assert_eq(access(p, R_OK), 0, "%s", p);
        cr_assert_not_null(strstr(out, p));
        char *tmp = mem_printf("%s.tmp", p);
        cr_assert_neq(access(tmp, F_OK), 0, "no temporary file left");
        mem_free(tmp);
        remove(p);
        mem_free(p);
    }
    cr_assert_not_null(strstr(out, "report: JUnit XML written to "));
    cr_assert_not_null(strstr(out, "report: baseline recorded in "));
    cr_assert_not_null(strstr(out, "baseline: no change in behaviour"));
    /* a baseline that cannot be read is an error naming it */
    char *missing = mem_printf("%s/nope.json", dir);
    o = (struct report_opts){.baseline = missing, .out = stderr};
    cr_assert_eq(report_write_all(rep, &o, &changes, &e), ERR_IO);
    cr_assert_not_null(strstr(e.msg, "nope.json"), "%s", e.msg);
    /* exit codes */
    cr_assert_eq(report_exit_code(rep, 0, false), 1, "a case failed");
    rep->cases[0].status = CHECK_PASSED;
    check_report_tally(rep);
    cr_assert_eq(report_exit_code(rep, 0, true), 0);
    cr_assert_eq(report_exit_code(rep, 3, false), 0, "changes alone pass without the flag");
    cr_assert_eq(report_exit_code(rep, 3, true), 1);
    remove(base);
    rmdir(sub);
    char *parent = mem_printf("%s/out", dir);
    rmdir(parent);
    rmdir(dir);
    mem_free(parent);
    mem_free(missing);
    mem_free(sub);
    mem_free(base);
    free(out);
}

Test(report, escape_xml)
{
    struct buf b;
    buf_init(&b, 0);
    report_escape_xml(&b, "a<b>&\"c'\t\n\x01\x7f \xC3\xA9 \xFF \xEF\xBF\xBF \xF0\x9F\x98\x80", false);
    cr_assert_str_eq(buf_str(&b), "a&lt;b&gt;&amp;&quot;c&#39;\t\n\\x01\\x7F \xC3\xA9 "
                                  "\xEF\xBF\xBD \xEF\xBF\xBD \xF0\x9F\x98\x80");
    buf_release(&b);
    report_escape_xml(&b, "line1\nline2\ttab", true);
    cr_assert_str_eq(buf_str(&b), "line1&#10;line2&#9;tab");
    buf_release(&b);
    report_escape_xml(&b, NULL, false);
    cr_assert_str_eq(buf_str(&b), "");
    buf_release(&b);
    char t[REPORT_CLOCK_LEN];
    cr_assert_str_eq(report_clock(0, t), "T+00:00:00.000");
    cr_assert_str_eq(report_clock(3723004, t), "T+01:02:03.004");
    cr_assert_str_eq(report_clock(-1500, t), "T-00:00:01.500");
}

Test(report, progress_plain_lines)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    struct progress *p = progress_new(f, false, 3);
    for (size_t i = 0; i < rep->ncases; i++) {
        progress_case_start(p, &rep->cases[i]);
        progress_step(p, &rep->cases[i], 0, "send", "hello");
        progress_case_end(p, &rep->cases[i]);
    }
    progress_free(&p);
    cr_assert_null(p);
    fclose(f);
    cr_assert_null(strchr(out, '\r'), "no redraws off a terminal");
    cr_assert_not_null(strstr(out, "start webhooks \xE2\x80\xBA every payload arrives whole "
                                   "(repeat 1)\n"));
    cr_assert_not_null(strstr(out, "FAILED  routing <&> \"escalation\" \xE2\x80\xBA VIP"));
    cr_assert_not_null(strstr(out, "(repeat 1, seed 1111)\n"));
    cr_assert_not_null(strstr(out, "ok      webhooks \xE2\x80\xBA every payload"));
    cr_assert_not_null(strstr(out, "skipped webhooks \xE2\x80\xBA partition\\x01\\x1B[31m"));
    cr_assert_null(strchr(out, '\033'), "control characters are shown, not sent");
    free(out);
}

Test(report, progress_live_line)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    struct progress *p = progress_new(f, true, 3);
    progress_case_start(p, &rep->cases[1]);
    progress_step(p, &rep->cases[1], 1, "expect_webhook", "ticket.created");
    progress_case_end(p, &rep->cases[1]);
    progress_case_start(p, &rep->cases[0]);
    progress_case_end(p, &rep->cases[0]);
    progress_free(&p);
    fclose(f);
    cr_assert_not_null(strstr(out, "\r\033[K[0/3, 0 passed, 0 failed] webhooks \xE2\x80\xBA "
                                   "every payload arrives whole \xE2\x80\xBA step 2 "
                                   "expe"), "cut to the width (80 off a terminal)");
    cr_assert_null(strstr(out, "step 2 expect_"));
    cr_assert_null(strstr(out, "ok      webhooks"), "a pass leaves no permanent line");
    cr_assert_not_null(strstr(out, "\r\033[KFAILED  routing"));
    cr_assert_not_null(strstr(out, "[2/3, 1 passed, 1 failed]"));
    cr_assert(n >= 4 && strcmp(out + n - 4, "\r\033[K") == 0, "the live line is cleared");
    free(out);
}

Test(report, helpers_grow_and_tally)
{
    struct check_report *r = NULL;
    cr_assert_eq(check_report_new(&r), 0);
    struct check_case *c = check_report_add_case(r);
    c->scenario = "first";
    for (int i = 0; i < 100; i++) {
        struct check_step *s = check_case_add_step(r, &r->cases[0]);
        s->line = i;
        check_case_add_event(r, &r->cases[0], i, "ev");
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        check_case_add_obs(r, &r->cases[0], "ticket", key, "{}", i);
    }
    for (int i = 0; i < 20; i++)
        check_report_add_case(r)->seed = (uint64_t)i;
    c = &r->cases[0];
    cr_assert_str_eq(c->scenario, "first");
    cr_assert_eq(c->nsteps, 100);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(c->steps[i].line, i);
        cr_assert_eq(c->events[i].at_ms, i);
        cr_assert_eq(c->events[i].until_ms, i);
        cr_assert_eq(c->events[i].step, -1);
    }
    cr_assert_str_eq(c->obs[99].key, "k99");
    cr_assert_eq(r->ncases, 21);
    cr_assert_eq(r->cases[20].seed, 19);
    cr_assert_eq(r->cases[20].repeat, 1);
    /* items: deduplicated, text kept, created from case ids by tally */
    check_report_add_item(r, "a", NULL);
    check_report_add_item(r, "a", "Item A");
    check_report_add_item(r, "a", "ignored");
    cr_assert_eq(r->nitems, 1);
    cr_assert_str_eq(r->items[0].text, "Item A");
    const char *ids[] = {"a", "b"};
    r->cases[1].checklist = ids;
    r->cases[1].nchecklist = 2;
    r->cases[2].checklist = ids;
    r->cases[2].nchecklist = 1;
    r->cases[2].status = CHECK_SKIPPED;
    check_report_tally(r);
    cr_assert_eq(r->nitems, 2);
    cr_assert_eq(r->items[0].ncases, 2);
    cr_assert_eq(r->items[0].status, CHECK_SKIPPED, "one skipped run: not proved");
    cr_assert_eq(r->items[1].status, CHECK_PASSED);
    cr_assert_eq(r->passed, 20);
    cr_assert_eq(r->skipped, 1);
    r->cases[1].status = CHECK_ERRORED;
    check_report_tally(r);
    cr_assert_eq(r->items[1].status, CHECK_FAILED);
    cr_assert_eq(r->items[1].nfailed, 1);
    cr_assert_eq(r->errored, 1);
    cr_assert_str_eq(check_report_printf(r, "%d-%s", 7, "x"), "7-x");
    cr_assert_null(check_report_str(r, NULL));
    cr_assert_str_eq(check_status_name(CHECK_ERRORED), "errored");
    check_report_free(&r);
    cr_assert_null(r);
}

/* Room reserved for a poll's events: the array keeps its place while the
 * room lasts (a failing poll is rolled back by count, nothing copied), and
 * the events already there survive a move. */
Test(report, reserved_events_stay_in_place)
{
    struct check_report *r = NULL;
    cr_assert_eq(check_report_new(&r), 0);
    struct check_case *c = check_report_add_case(r);
    for (int i = 0; i < 5; i++)
        check_case_add_event(r, c, i, "before");
    cr_assert_eq(check_case_reserve_events(r, c, 8), 0);
    cr_assert_geq(c->cap_events, c->nevents + 8);
    struct check_event *at = c->events;
    for (int poll = 0; poll < 100; poll++) {        /* failing polls, rolled back */
        size_t n0 = c->nevents;
        cr_assert_eq(check_case_reserve_events(r, c, 8), 0);
        cr_assert_eq(c->events, at, "poll %d moved the timeline", poll);
        c->events[c->nevents++] = (struct check_event){.at_ms = 99, .label = "failed"};
        c->nevents = n0;
    }
    for (int i = 0; i < 5; i++)
        cr_expect_eq(c->events[i].at_ms, i);
    c->cap_events = 0;                               /* an array built by hand */
    cr_assert_eq(check_case_reserve_events(r, c, 1), 0);
    cr_expect_neq(c->events, at);
    cr_expect_eq(c->nevents, 5);
    cr_expect_str_eq(c->events[4].label, "before");
    check_report_free(&r);
}
