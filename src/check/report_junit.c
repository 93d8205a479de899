/*
 * report_junit.c — JUnit XML for CI systems (Jenkins, GitLab, GitHub
 * reporters): one <testsuite> per suite, one <testcase> per scenario run,
 * the steps in <system-out>, the seeds as properties, and a <failure> (an
 * expectation did not hold), <error> (the run could not carry a step out)
 * or <skipped> carrying the expected / seen / near misses / file:line text.
 *
 * The shape follows the Ant JUnit schema most consumers accept; testcase
 * <properties> (per-run seeds) are the widely read extension. Times are
 * seconds with milliseconds; with `deterministic` they are left out, as is
 * the sandbox log, so two runs with one seed give the same bytes.
 */
#include "check/report.h"

#include "check/report_impl.h"

#include <inttypes.h>
#include <string.h>

struct counts {
    size_t tests, failures, errors, skipped;
    int64_t real_ms;
};

static void count(struct counts *n, const struct check_case *c)
{
    n->tests++;
    n->failures += c->status == CHECK_FAILED;
    n->errors += c->status == CHECK_ERRORED;
    n->skipped += c->status == CHECK_SKIPPED;
    n->real_ms += c->real_ms;
}

static void attr(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, " %s=\"", name);
    report_escape_xml(b, value, true);
    buf_putc(b, '"');
}

static void attr_counts(struct buf *b, const struct counts *n, bool deterministic)
{
    char t[REPORT_CLOCK_LEN];
    buf_printf(b, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", n->tests,
               n->failures, n->errors, n->skipped);
    if (!deterministic)
        buf_printf(b, " time=\"%s\"", report_seconds(n->real_ms, t));
}

static void property(struct buf *b, const char *indent, const char *name, const char *value)
{
    buf_printf(b, "%s<property", indent);
    attr(b, "name", name);
    attr(b, "value", value);
    buf_puts(b, "/>\n");
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The steps, one line each, for <system-out>. */
static void steps_text(struct buf *o, const struct check_case *c, bool deterministic)
{
    char a[REPORT_CLOCK_LEN], z[REPORT_CLOCK_LEN], secs[REPORT_CLOCK_LEN];
    buf_printf(o, "seed %" PRIu64 ", repeat %d\n", c->seed, c->repeat);
    if (c->expect)
        buf_printf(o, "expect: %s\n", c->expect);
    for (size_t i = 0; i < c->nsteps; i++) {
        const struct check_step *s = &c->steps[i];
        buf_printf(o, "%3zu %-7s %s..%s %s%s%s  %s:%d:%d", i + 1, check_status_name(s->status),
                   report_clock(s->clock_start_ms, a), report_clock(s->clock_end_ms, z),
                   s->kind ? s->kind : "step", s->name ? " " : "", s->name ? s->name : "",
                   s->file ? s->file : (c->file ? c->file : "?"), s->line, s->column);
        if (s->polls)
            buf_printf(o, " (%d poll%s)", s->polls, s->polls == 1 ? "" : "s");
        if (!deterministic)
            buf_printf(o, " [%s s]", report_seconds(s->real_ms, secs));
        if (s->reason)
            buf_printf(o, " skipped: %s", s->reason);
        buf_putc(o, '\n');
    }
}

static void testcase(struct buf *b, const struct check_report *r, const struct check_case *c,
                     bool deterministic)
{
    char seed[32], t[REPORT_CLOCK_LEN], name[512];
    struct buf text;
    buf_init(&text, 0);
    if (r->repeat > 1)
        snprintf(name, sizeof name, "%s (repeat %d)", c->scenario ? c->scenario : "", c->repeat);
    else
        snprintf(name, sizeof name, "%s", c->scenario ? c->scenario : "");
    buf_puts(b, "    <testcase");
    attr(b, "name", name);
    attr(b, "classname", c->suite);
    attr(b, "file", c->file);
    buf_printf(b, " line=\"%d\"", c->line);
    if (!deterministic)
        buf_printf(b, " time=\"%s\"", report_seconds(c->real_ms, t));
    buf_puts(b, ">\n      <properties>\n");
    snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
    property(b, "        ", "seed", seed);
    snprintf(seed, sizeof seed, "%d", c->repeat);
    property(b, "        ", "repeat", seed);
    if (c->expect)
        property(b, "        ", "expect", c->expect);
    for (size_t i = 0; i < c->ntags; i++)
        property(b, "        ", "tag", c->tags[i]);
    for (size_t i = 0; i < c->nchecklist; i++)
        property(b, "        ", "checklist", c->checklist[i]);
    buf_puts(b, "      </properties>\n");
    const struct check_step *s = report_failing_step(c);
    if (c->status == CHECK_FAILED || c->status == CHECK_ERRORED) {
        const char *el = c->status == CHECK_FAILED ? "failure" : "error";
        buf_printf(b, "      <%s", el);
        buf_release(&text);
        if (s)
            buf_printf(&text, "%s:%d:%d: %s", s->file ? s->file : (c->file ? c->file : "?"),
                       s->line, s->column, s->expected ? s->expected : check_status_name(s->status));
        else
            buf_puts(&text, check_status_name(c->status));
        attr(b, "message", buf_str(&text));
        attr(b, "type", s && s->kind ? s->kind : check_status_name(c->status));
        buf_puts(b, ">");
        buf_release(&text);
        report_failure_text(&text, c);
        report_escape_xml(b, buf_str(&text), false);
        buf_printf(b, "</%s>\n", el);
    } else if (c->status == CHECK_SKIPPED) {
        const char *why = NULL;
        for (size_t i = 0; i < c->nsteps && !why; i++)
            why = c->steps[i].reason;
        buf_puts(b, "      <skipped");
        if (why)
            attr(b, "message", why);
        buf_puts(b, "/>\n");
    }
    buf_release(&text);
    steps_text(&text, c, deterministic);
    buf_puts(b, "      <system-out>");
    report_escape_xml(b, buf_str(&text), false);
    buf_puts(b, "</system-out>\n");
    if (c->log && !deterministic) {
        buf_puts(b, "      <system-err>");
        report_escape_xml(b, c->log, false);
        buf_puts(b, "</system-err>\n");
    }
    buf_puts(b, "    </testcase>\n");
    buf_release(&text);
}

int report_junit_render(const struct check_report *r, bool deterministic, struct buf *out)
{
    struct buf *b = out;
    struct counts all = {0};
    char seed[32];
    for (size_t i = 0; i < r->ncases; i++)
        count(&all, &r->cases[i]);
    if (!deterministic)
        all.real_ms = r->real_ms;
    buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tgcrm check\"");
    attr_counts(b, &all, deterministic);
    buf_puts(b, ">\n");
    snprintf(seed, sizeof seed, "%" PRIu64, r->seed);
    /* suites in order of first appearance, each with its cases in run order */
    for (size_t i = 0; i < r->ncases; i++) {
        const struct check_case *first = &r->cases[i];
        bool seen_before = false;
        for (size_t k = 0; k < i && !seen_before; k++)
            seen_before = same(r->cases[k].suite, first->suite);
        if (seen_before)
            continue;
        struct counts n = {0};
        for (size_t k = i; k < r->ncases; k++)
            if (same(r->cases[k].suite, first->suite))
                count(&n, &r->cases[k]);
        buf_puts(b, "  <testsuite");
        attr(b, "name", first->suite);
        attr_counts(b, &n, deterministic);
        buf_puts(b, ">\n    <properties>\n");
        property(b, "      ", "seed", seed);
        property(b, "      ", "target", r->target ? r->target : "sandbox");
        property(b, "      ", "file", first->file);
        buf_puts(b, "    </properties>\n");
        for (size_t k = i; k < r->ncases; k++)
            if (same(r->cases[k].suite, first->suite))
                testcase(b, r, &r->cases[k], deterministic);
        buf_puts(b, "  </testsuite>\n");
    }
    return buf_puts(b, "</testsuites>\n");
}
