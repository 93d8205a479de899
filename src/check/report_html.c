/*
 * report_html.c — the run as ONE self-contained HTML file: inline CSS and
 * inline SVG, no script, no external reference of any kind, so it can be
 * attached to a CI run or mailed and opens anywhere.
 *
 * Top: the counts and the production checklist (pass / FAIL / not proved
 * per item), then a table of scenario runs. Then one section per run:
 * status, seed, expectation, the failure in words, the steps table (the
 * failing step highlighted), and a timeline: an SVG sequence diagram with
 * one lane per enum check_lane, left to right, and the scenario clock
 * running down. Traffic is an arrow between lanes, a fault is a shaded
 * band across the lanes for its span, an SLA deadline a dashed line, and
 * the events of the failing expectation are drawn in red.
 *
 * Time runs down in rows rather than to scale: a scenario may spend 5 ms
 * on ten messages and then jump the clock 10 minutes, and a linear scale
 * would draw ten arrows on top of each other. Each event gets a row, and
 * the gap between rows grows with the logarithm of the time between them
 * (a long jump is marked with its length).
 */
#include "check/report.h"

#include "base/clock.h"
#include "base/mem.h"
#include "check/report_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 6
#define AXIS_W 120
#define LANE_W 150
#define HEAD_H 44
#define ROW_H 26
#define LABEL_MAX 34       /* characters of a label drawn; the rest is in the tooltip */

static const char *const lane_names[LANES] = {
    "Customer / agent", "Telegram Bot API", "CRM", "Help desk", "Faults", "SLA",
};

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "color:#1f2328;background:#f6f8fa}"
    "main{max-width:1120px;margin:0 auto;padding:24px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 8px}"
    "h3{font-size:15px;margin:18px 0 6px}"
    "section,.box{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;"
    "margin:16px 0}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;"
    "border-bottom:1px solid #eaeef2;vertical-align:top}"
    "th{font-weight:600;color:#57606a}"
    ".badge{display:inline-block;min-width:58px;text-align:center;border-radius:10px;"
    "padding:1px 8px;font-size:12px;font-weight:600;color:#fff}"
    ".b-passed{background:#1a7f37}.b-failed,.b-errored{background:#cf222e}"
    ".b-skipped{background:#9a6700}.b-notproved{background:#6e7781}"
    "section.case-failed,section.case-errored{border-left:6px solid #cf222e}"
    "tr.fail td{background:#ffebe9}"
    "pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px;"
    "overflow:auto;white-space:pre-wrap;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}"
    "pre.failure{background:#ffebe9;border-color:#ff8182}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0}"
    "dt{color:#57606a}dd{margin:0}"
    ".timeline{overflow-x:auto}svg text{font:11px system-ui,sans-serif;fill:#1f2328}"
    "svg .lane{stroke:#d0d7de;stroke-width:1}"
    "svg .head{fill:#eaeef2}svg .headtext{font-weight:600}"
    "svg .axis{fill:#57606a}svg .gap{fill:#8250df;font-style:italic}"
    "svg .arrow{stroke:#2563eb;stroke-width:2;fill:none}"
    "svg .mark{fill:#57606a}"
    "svg .fault{fill:#f59e0b;fill-opacity:.22}svg .faultbar{fill:#d97706}"
    "svg .sla{stroke:#8250df;stroke-width:1.5;stroke-dasharray:6 4}"
    "svg line.fail{stroke:#dc2626;stroke-width:3.5}svg circle.fail{fill:#dc2626}"
    "svg rect.faultbar.fail{fill:#dc2626}"
    "svg text.fail{fill:#b91c1c;font-weight:700}"
    "svg rect.failrow{fill:#fee2e2}";

static void esc(struct buf *b, const char *s)
{
    report_escape_xml(b, s, false);
}

/* s cut to at most max code points, with "…" when cut. Into out (n bytes). */
static const char *cut(const char *s, size_t max, char *out, size_t n)
{
    size_t i = 0, cps = 0;
    s = s ? s : "";
    while (s[i] && i + 4 < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && ++cps > max)
            break;
        i++;
    }
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)  /* never split a sequence */
        i--;
    if (s[i] && cps > max && i + 4 <= n) {
        memcpy(out, s, i);
        memcpy(out + i, "\xE2\x80\xA6", 4);
    } else {
        memcpy(out, s, i);
        out[i] = '\0';
    }
    return out;
}

static const char *status_class(enum check_status s)
{
    return check_status_name(s);
}

static void badge(struct buf *b, const char *cls, const char *text)
{
    buf_printf(b, "<span class=\"badge b-%s\">%s</span>", cls, text);
}

static void checklist(struct buf *b, const struct check_report *r)
{
    buf_puts(b, "<section id=\"checklist\"><h2>Production checklist</h2>");
    if (!r->nitems) {
        buf_puts(b, "<p>No checklist items: no suite named any.</p></section>\n");
        return;
    }
    buf_puts(b, "<table><tr><th>Result</th><th>Item</th><th>What it proves</th>"
                "<th>Scenario runs</th></tr>\n");
    for (size_t i = 0; i < r->nitems; i++) {
        const struct check_item *it = &r->items[i];
        bool failed = it->status == CHECK_FAILED || it->status == CHECK_ERRORED;
        buf_printf(b, "<tr%s><td>", failed ? " class=\"fail\"" : "");
        if (it->status == CHECK_PASSED)
            badge(b, "passed", "pass");
        else if (failed)
            badge(b, "failed", "FAIL");
        else
            badge(b, "notproved", "not proved");
        buf_puts(b, "</td><td>");
        esc(b, it->id);
        buf_puts(b, "</td><td>");
        esc(b, it->text);
        buf_printf(b, "</td><td>%zu", it->ncases);
        if (it->nfailed)
            buf_printf(b, " (%zu failed)", it->nfailed);
        buf_puts(b, "</td></tr>\n");
    }
    buf_puts(b, "</table></section>\n");
}

static void case_table(struct buf *b, const struct check_report *r, bool deterministic)
{
    char name[512], t[REPORT_CLOCK_LEN];
    buf_puts(b, "<section id=\"runs\"><h2>Scenario runs</h2><table><tr><th>Result</th>"
                "<th>Scenario</th><th>Seed</th><th>Scenario clock</th>");
    if (!deterministic)
        buf_puts(b, "<th>Wall time</th>");
    buf_puts(b, "</tr>\n");
    for (size_t i = 0; i < r->ncases; i++) {
        const struct check_case *c = &r->cases[i];
        buf_puts(b, "<tr><td>");
        badge(b, status_class(c->status), check_status_name(c->status));
        buf_printf(b, "</td><td><a href=\"#case-%zu\">", i + 1);
        esc(b, report_case_name(r, c, name, sizeof name));
        buf_printf(b, "</a></td><td>%" PRIu64 "</td><td>%s</td>", c->seed,
                   report_clock(c->clock_ms, t));
        if (!deterministic)
            buf_printf(b, "<td>%s s</td>", report_seconds(c->real_ms, t));
        buf_puts(b, "</tr>\n");
    }
    buf_puts(b, "</table></section>\n");
}

static void steps_table(struct buf *b, const struct check_case *c, bool deterministic)
{
    char a[REPORT_CLOCK_LEN], z[REPORT_CLOCK_LEN];
    const struct check_step *failing = report_failing_step(c);
    buf_puts(b, "<h3>Steps</h3><table><tr><th>#</th><th>Result</th><th>Step</th><th>Where</th>"
                "<th>Scenario clock</th><th>Notes</th></tr>\n");
    for (size_t i = 0; i < c->nsteps; i++) {
        const struct check_step *s = &c->steps[i];
        buf_printf(b, "<tr%s><td>%zu</td><td>", s == failing ? " class=\"fail\"" : "", i + 1);
        badge(b, status_class(s->status), check_status_name(s->status));
        buf_puts(b, "</td><td><b>");
        esc(b, s->kind);
        buf_puts(b, "</b> ");
        esc(b, s->name);
        buf_puts(b, "</td><td>");
        esc(b, s->file ? s->file : c->file);
        buf_printf(b, ":%d:%d</td><td>%s &#8594; %s</td><td>", s->line, s->column,
                   report_clock(s->clock_start_ms, a), report_clock(s->clock_end_ms, z));
        if (s->polls)
            buf_printf(b, "%d poll%s ", s->polls, s->polls == 1 ? "" : "s");
        if (!deterministic)
            buf_printf(b, "%s s ", report_seconds(s->real_ms, a));
        if (s->reason) {
            buf_puts(b, "skipped: ");
            esc(b, s->reason);
        }
        buf_puts(b, "</td></tr>\n");
    }
    buf_puts(b, "</table>\n");
}

/* ---- the timeline --------------------------------------------------------- */

struct row {
    int64_t t;
    size_t ev;          /* index into c->events */
    bool end;           /* the end of a span rather than its start */
    double y;
};

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->ev != y->ev)      /* the run's order among equal times */
        return x->ev < y->ev ? -1 : 1;
    return (int)x->end - (int)y->end;
}

static double lane_x(enum check_lane l)
{
    int i = (int)l < 0 || (int)l >= LANES ? LANES - 1 : (int)l;
    return AXIS_W + LANE_W * i + LANE_W / 2.0;
}

static bool is_span(const struct check_event *ev)
{
    return ev->until_ms > ev->at_ms;
}

static bool is_sla(const struct check_event *ev)
{
    return !is_span(ev) && ev->from == LANE_SLA && ev->to == LANE_SLA;
}

/* An event's tooltip: full label, detail, time, step. */
static void tooltip(struct buf *b, const struct check_event *ev)
{
    char a[REPORT_CLOCK_LEN], z[REPORT_CLOCK_LEN];
    buf_puts(b, "<title>");
    esc(b, ev->label);
    if (is_span(ev))
        buf_printf(b, "&#10;%s &#8594; %s", report_clock(ev->at_ms, a),
                   report_clock(ev->until_ms, z));
    else
        buf_printf(b, "&#10;%s", report_clock(ev->at_ms, a));
    if (ev->step >= 0)
        buf_printf(b, " (step %d)", ev->step + 1);
    if (ev->failed)
        buf_puts(b, "&#10;part of the failing expectation");
    if (ev->detail) {
        buf_puts(b, "&#10;");
        esc(b, ev->detail);
    }
    buf_puts(b, "</title>");
}

static void label(struct buf *b, double x, double y, const char *anchor, bool failed,
                  const char *text)
{
    char shown[LABEL_MAX * 4 + 8];
    buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor,
               failed ? " class=\"fail\"" : "");
    esc(b, cut(text, LABEL_MAX, shown, sizeof shown));
    buf_puts(b, "</text>");
}

static void timeline(struct buf *b, const struct check_case *c)
{
    size_t n = 0;
    struct row *rows = mem_alloc((2 * c->nevents + 1) * sizeof *rows);
    for (size_t i = 0; i < c->nevents; i++) {
        rows[n++] = (struct row){c->events[i].at_ms, i, false, 0};
        if (is_span(&c->events[i]))
            rows[n++] = (struct row){c->events[i].until_ms, i, true, 0};
    }
    qsort(rows, n, sizeof *rows, cmp_row);
    double *y_at = mem_alloc((c->nevents + 1) * sizeof *y_at);
    double *y_end = mem_alloc((c->nevents + 1) * sizeof *y_end);
    double y = HEAD_H + 20;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            int64_t dt = rows[i].t - rows[i - 1].t;
            y += ROW_H + (dt > 0 ? fmin(48, 6 * log10(1.0 + (double)dt)) : 0);
        }
        rows[i].y = y;
        if (rows[i].end)
            y_end[rows[i].ev] = y;
        else
            y_at[rows[i].ev] = y;
    }
    double width = AXIS_W + LANE_W * LANES, height = y + 28;
    buf_printf(b, "<h3>Timeline</h3><div class=\"timeline\"><svg"
                  " role=\"img\" class=\"timeline-svg\" width=\"%.0f\" height=\"%.0f\" "
                  "viewBox=\"0 0 %.0f %.0f\"><defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"9\" "
                  "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
                  "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#2563eb\"/></marker>"
                  "<marker id=\"ahf\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" "
                  "markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
                  "fill=\"#dc2626\"/></marker></defs>\n",
               width, height, width, height);
    /* background: failing rows, fault spans */
    for (size_t i = 0; i < c->nevents; i++) {
        const struct check_event *ev = &c->events[i];
        if (ev->failed && !is_span(ev))
            buf_printf(b, "<rect class=\"failrow\" x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%d\"/>",
                       y_at[i] - ROW_H + 6, width, ROW_H);
        if (is_span(ev)) {
            buf_printf(b, "<rect class=\"fault\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\">",
                       AXIS_W, y_at[i], LANE_W * LANES, y_end[i] - y_at[i]);
            tooltip(b, ev);
            buf_puts(b, "</rect>\n");
        }
    }
    /* lanes and their heads */
    for (int l = 0; l < LANES; l++) {
        double x = lane_x((enum check_lane)l);
        buf_printf(b, "<rect class=\"head\" x=\"%.1f\" y=\"4\" width=\"%d\" height=\"%d\" rx=\"4\"/>"
                      "<text class=\"headtext\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>"
                      "<line class=\"lane\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>\n",
                   x - LANE_W / 2.0 + 4, LANE_W - 8, HEAD_H - 12, x, HEAD_H / 2 + 2,
                   lane_names[l], x, HEAD_H - 8, x, height - 8);
    }
    /* the time axis: a label where the time moves, the length of long jumps */
    char t[REPORT_CLOCK_LEN];
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && rows[i].t == rows[i - 1].t)
            continue;
        if (i > 0 && rows[i].t - rows[i - 1].t >= 60000) {
            int64_t dt = rows[i].t - rows[i - 1].t;
            buf_printf(b, "<text class=\"gap\" x=\"6\" y=\"%.1f\">&#8942; +%" PRId64 "m%02" PRId64
                          "s</text>", rows[i].y - ROW_H / 2.0 - 2, dt / 60000, dt / 1000 % 60);
        }
        buf_printf(b, "<text class=\"axis\" x=\"6\" y=\"%.1f\">%s</text>\n", rows[i].y + 4,
                   report_clock(rows[i].t, t));
    }
    /* the events */
    for (size_t i = 0; i < c->nevents; i++) {
        const struct check_event *ev = &c->events[i];
        double yy = y_at[i], x1 = lane_x(ev->from), x2 = lane_x(ev->to);
        const char *fail = ev->failed ? " fail" : "";
        buf_puts(b, "<g>");
        tooltip(b, ev);
        if (is_span(ev)) {
            double xf = lane_x(LANE_FAULT);
            buf_printf(b, "<rect class=\"faultbar%s\" x=\"%.1f\" y=\"%.1f\" width=\"8\" "
                          "height=\"%.1f\"/>", fail, xf - 4, yy, y_end[i] - yy);
            label(b, xf + 8, yy + 12, "start", ev->failed, ev->label);
        } else if (is_sla(ev)) {
            buf_printf(b, "<line class=\"sla%s\" x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>",
                       fail, AXIS_W, yy, width, yy);
            label(b, lane_x(LANE_SLA), yy - 5, "middle", ev->failed, ev->label);
        } else if (ev->from == ev->to) {
            buf_printf(b, "<circle class=\"mark%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"/>", fail, x1, yy);
            label(b, x1 + (x1 > lane_x(LANE_HELPDESK) ? -9 : 9), yy - 6,
                  x1 > lane_x(LANE_HELPDESK) ? "end" : "start", ev->failed, ev->label);
        } else {
            double dir = x2 > x1 ? 1 : -1;
            buf_printf(b, "<line class=\"arrow%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "marker-end=\"url(#%s)\"/>", fail, x1 + 3 * dir, yy, x2 - 3 * dir, yy,
                       ev->failed ? "ahf" : "ah");
            label(b, (x1 + x2) / 2, yy - 5, "middle", ev->failed, ev->label);
        }
        buf_puts(b, "</g>\n");
    }
    buf_puts(b, "</svg></div>\n");
    mem_free(y_end);
    mem_free(y_at);
    mem_free(rows);
}

/* ---- the page ------------------------------------------------------------- */

static void case_section(struct buf *b, const struct check_report *r, size_t idx,
                         bool deterministic)
{
    const struct check_case *c = &r->cases[idx];
    char name[512], t[REPORT_CLOCK_LEN];
    buf_printf(b, "<section id=\"case-%zu\" class=\"case case-%s\"><h2>", idx + 1,
               status_class(c->status));
    badge(b, status_class(c->status), check_status_name(c->status));
    buf_puts(b, " ");
    esc(b, report_case_name(r, c, name, sizeof name));
    buf_printf(b, "</h2><dl><dt>Seed</dt><dd>%" PRIu64 " (replay: <code>tgcrm check --seed %"
                  PRIu64 " ", c->seed, c->seed);
    esc(b, c->file);
    buf_puts(b, "</code>)</dd><dt>Scenario</dt><dd>");
    esc(b, c->file);
    buf_printf(b, ":%d, repeat %d</dd>", c->line, c->repeat);
    if (c->expect) {
        buf_puts(b, "<dt>Expectation</dt><dd>");
        esc(b, c->expect);
        buf_puts(b, "</dd>");
    }
    buf_printf(b, "<dt>Scenario clock</dt><dd>%s</dd>", report_clock(c->clock_ms, t));
    if (!deterministic)
        buf_printf(b, "<dt>Wall time</dt><dd>%s s</dd>", report_seconds(c->real_ms, t));
    if (c->ntags) {
        buf_puts(b, "<dt>Tags</dt><dd>");
        for (size_t i = 0; i < c->ntags; i++) {
            if (i)
                buf_puts(b, ", ");
            esc(b, c->tags[i]);
        }
        buf_puts(b, "</dd>");
    }
    buf_puts(b, "</dl>\n");
    if (c->status == CHECK_FAILED || c->status == CHECK_ERRORED) {
        struct buf f;
        buf_init(&f, 0);
        report_failure_text(&f, c);
        buf_puts(b, "<h3>What failed</h3><pre class=\"failure\">");
        esc(b, buf_str(&f));
        buf_puts(b, "</pre>\n");
        buf_release(&f);
    }
    if (c->nsteps)
        steps_table(b, c, deterministic);
    if (c->nevents)
        timeline(b, c);
    if (c->log && !deterministic) {
        buf_puts(b, "<details><summary>Sandbox log</summary><pre>");
        esc(b, c->log);
        buf_puts(b, "</pre></details>\n");
    }
    buf_puts(b, "</section>\n");
}

int report_html_render(const struct check_report *r, bool deterministic, struct buf *out)
{
    struct buf *b = out;
    char t[REPORT_CLOCK_LEN];
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>tgcrm check report</title><style>");
    buf_puts(b, css);
    buf_puts(b, "</style></head><body><main>\n<div class=\"box\"><h1>tgcrm check</h1><p>");
    buf_printf(b, "%zu scenario run%s: <b>%zu passed</b>, <b>%zu failed</b>, %zu errored, "
                  "%zu skipped. Seed %" PRIu64 ", target ", r->ncases, r->ncases == 1 ? "" : "s",
               r->passed, r->failed, r->errored, r->skipped, r->seed);
    esc(b, r->target ? r->target : "sandbox");
    if (r->repeat > 1)
        buf_printf(b, ", repeated %d times", r->repeat);
    if (!deterministic && r->started_at) {
        char iso[CLOCK_ISO_LEN];
        buf_printf(b, ", started %s, took %s s", clock_fmt_iso(r->started_at, iso),
                   report_seconds(r->real_ms, t));
    }
    buf_puts(b, ".</p></div>\n");
    checklist(b, r);
    case_table(b, r, deterministic);
    for (size_t i = 0; i < r->ncases; i++)
        case_section(b, r, i, deterministic);
    return buf_puts(b, "</main></body></html>\n");
}
