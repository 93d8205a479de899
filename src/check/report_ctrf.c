/*
 * report_ctrf.c — the run as CTRF JSON (Common Test Report Format,
 * ctrf.io): results.tool, results.summary (counts, start and stop in ms
 * since the epoch) and results.tests[], one per scenario run, with name,
 * status, duration, the steps, and what CTRF has no field for — seed,
 * suite, file, line, repeat, expectation — under each test's "extra".
 *
 * CTRF statuses are passed / failed / skipped / pending / other: an errored
 * run is "failed" with rawStatus "errored", so CI counts it as a failure.
 * Seeds are strings (a 64-bit seed does not survive a JSON number in most
 * readers).
 */
#include "check/report.h"

#include "base/clock.h"
#include "base/jx.h"
#include "base/version.h"
#include "check/report_impl.h"

#include <inttypes.h>
#include <stdlib.h>


/* jansson refuses strings that are not UTF-8: those become null */
static json_t *str(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static const char *ctrf_status(enum check_status s)
{
    return s == CHECK_PASSED ? "passed" : s == CHECK_SKIPPED ? "skipped" : "failed";
}

static json_t *seed_str(uint64_t seed)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, seed);
    return json_string(s);
}

static json_t *test(const struct check_report *r, const struct check_case *c,
                    bool deterministic, int64_t *clock)
{
    char name[512];
    json_t *t = json_object();
    json_object_set_new(t, "name", str(report_case_name(r, c, name, sizeof name)));
    json_object_set_new(t, "status", json_string(ctrf_status(c->status)));
    json_object_set_new(t, "duration", json_integer(deterministic ? 0 : c->real_ms));
    if (!deterministic && r->started_at) {
        json_object_set_new(t, "start", json_integer(*clock));
        json_object_set_new(t, "stop", json_integer(*clock + c->real_ms));
        *clock += c->real_ms;
    }
    if (c->status != CHECK_PASSED)
        json_object_set_new(t, "rawStatus", json_string(check_status_name(c->status)));
    json_object_set_new(t, "suite", json_pack("[o]", str(c->suite)));
    json_object_set_new(t, "filePath", str(c->file));
    json_object_set_new(t, "line", json_integer(c->line));
    json_object_set_new(t, "type", json_string("integration"));
    const struct check_step *s = report_failing_step(c);
    if (s) {
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%s:%d:%d: %s", s->file ? s->file : (c->file ? c->file : "?"), s->line,
                   s->column, s->expected ? s->expected : check_status_name(s->status));
        json_object_set_new(t, "message", str(buf_str(&b)));
        buf_release(&b);
        report_failure_text(&b, c);
        json_object_set_new(t, "trace", str(buf_str(&b)));
        buf_release(&b);
    } else if (c->status == CHECK_SKIPPED) {
        for (size_t i = 0; i < c->nsteps; i++)
            if (c->steps[i].reason) {
                json_object_set_new(t, "message", str(c->steps[i].reason));
                break;
            }
    }
    json_t *tags = json_array();
    for (size_t i = 0; i < c->ntags; i++)
        json_array_append_new(tags, str(c->tags[i]));
    json_object_set_new(t, "tags", tags);
    json_t *steps = json_array();
    for (size_t i = 0; i < c->nsteps; i++) {
        const struct check_step *st = &c->steps[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", str(st->name ? st->name : st->kind));
        json_object_set_new(j, "status", json_string(ctrf_status(st->status)));
        json_object_set_new(j, "extra", json_pack("{s:o,s:i,s:i,s:I,s:I}", "kind", str(st->kind),
                                                  "line", st->line, "column", st->column,
                                                  "clock_start_ms", (json_int_t)st->clock_start_ms,
                                                  "clock_end_ms", (json_int_t)st->clock_end_ms));
        json_array_append_new(steps, j);
    }
    json_object_set_new(t, "steps", steps);
    json_t *checklist = json_array();
    for (size_t i = 0; i < c->nchecklist; i++)
        json_array_append_new(checklist, str(c->checklist[i]));
    json_object_set_new(t, "extra",
                        json_pack("{s:o,s:o,s:o,s:o,s:i,s:i,s:o,s:I,s:o}", "seed",
                                  seed_str(c->seed), "suite", str(c->suite), "scenario",
                                  str(c->scenario), "file", str(c->file), "line", c->line,
                                  "repeat", c->repeat, "expect", str(c->expect),
                                  "clock_ms", (json_int_t)c->clock_ms, "checklist", checklist));
    return t;
}

int report_ctrf_render(const struct check_report *r, bool deterministic, struct buf *out)
{
    int64_t start = deterministic ? 0 : r->started_at;
    int64_t clock = start;
    json_t *tests = json_array();
    for (size_t i = 0; i < r->ncases; i++)
        json_array_append_new(tests, test(r, &r->cases[i], deterministic, &clock));
    size_t failed = 0, passed = 0, skipped = 0;
    for (size_t i = 0; i < r->ncases; i++) {
        enum check_status s = r->cases[i].status;
        passed += s == CHECK_PASSED;
        skipped += s == CHECK_SKIPPED;
        failed += s == CHECK_FAILED || s == CHECK_ERRORED;
    }
    json_t *summary = json_pack("{s:I,s:I,s:I,s:I,s:i,s:i,s:I,s:I,s:I}",
                                "tests", (json_int_t)r->ncases, "passed", (json_int_t)passed,
                                "failed", (json_int_t)failed, "skipped", (json_int_t)skipped,
                                "pending", 0, "other", 0, "start", (json_int_t)start,
                                "stop", (json_int_t)(deterministic ? 0 : start + r->real_ms),
                                "duration", (json_int_t)(deterministic ? 0 : r->real_ms));
    json_t *items = json_array();
    for (size_t i = 0; i < r->nitems; i++) {
        const struct check_item *it = &r->items[i];
        json_array_append_new(items, json_pack("{s:o,s:o,s:s,s:I,s:I}", "id", str(it->id),
                                               "text", str(it->text), "status",
                                               check_status_name(it->status), "cases",
                                               (json_int_t)it->ncases, "failed",
                                               (json_int_t)it->nfailed));
    }
    json_t *doc = json_pack(
        "{s:s,s:s,s:s,s:{s:{s:s,s:s},s:o,s:o,s:{s:o},s:{s:o,s:i,s:o}}}", "reportFormat", "CTRF",
        "specVersion", "0.0.0", "generatedBy", "tgcrm check", "results", "tool", "name",
        "tgcrm check", "version", TGCRM_VERSION, "summary", summary, "tests", tests,
        "environment", "testEnvironment", str(r->target ? r->target : "sandbox"), "extra",
        "seed", seed_str(r->seed), "repeat", r->repeat, "checklist", items);
    if (!doc)
        return ERR_NOMEM;
    if (!deterministic && r->started_at) {
        char iso[CLOCK_ISO_LEN];
        json_object_set_new(doc, "timestamp", json_string(clock_fmt_iso(r->started_at, iso)));
    }
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    int rc = text ? buf_puts(out, text) : ERR_NOMEM;
    if (rc == 0)
        rc = buf_putc(out, '\n');
    free(text);
    return rc;
}
