/*
 * report.c — the console summary, the production checklist, and the one
 * entry point that writes every report file a run asked for
 * (report_write_all), plus the small pieces the writers share
 * (report_impl.h). The formats themselves live in report_junit.c,
 * report_ctrf.c, report_html.c and baseline.c.
 */
#include "check/report.h"

#include "base/mem.h"
#include "check/baseline.h"
#include "check/report_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

/* ---- shared pieces ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
             : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n && buf_utf8_valid((const char *)s, n) ? n : 0;
}

int report_escape_xml(struct buf *b, const char *s, bool attr)
{
    int rc = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p && rc == 0) {
        unsigned char c = *p;
        switch (c) {
        case '&': rc = buf_puts(b, "&amp;"); p++; continue;
        case '<': rc = buf_puts(b, "&lt;"); p++; continue;
        case '>': rc = buf_puts(b, "&gt;"); p++; continue;
        case '"': rc = buf_puts(b, "&quot;"); p++; continue;
        case '\'': rc = buf_puts(b, "&#39;"); p++; continue;
        case '\t': case '\n': case '\r':
            rc = attr ? buf_printf(b, "&#%d;", c) : buf_putc(b, (char)c);
            p++;
            continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            rc = buf_printf(b, "\\x%02X", c);
            p++;
            continue;
        }
        size_t n = utf8_len(p);
        /* U+FFFE and U+FFFF are not XML characters either */
        if (n == 0 || (n == 3 && p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))) {
            rc = buf_puts(b, "\xEF\xBF\xBD");
            p += n ? n : 1;
            continue;
        }
        rc = buf_append(b, p, n);
        p += n;
    }
    return rc;
}

char *report_clock(int64_t ms, char *out)
{
    char sign = ms < 0 ? '-' : '+';
    uint64_t v = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
    snprintf(out, REPORT_CLOCK_LEN, "T%c%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64,
             sign, v / 3600000, v / 60000 % 60, v / 1000 % 60, v % 1000);
    return out;
}

char *report_seconds(int64_t ms, char *out)
{
    if (ms < 0)
        ms = 0;
    snprintf(out, REPORT_CLOCK_LEN, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
    return out;
}

int report_clean(struct buf *b, const char *s)
{
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && rc == 0; p++)
        rc = (*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7F
             ? buf_printf(b, "\\x%02X", *p) : buf_putc(b, (char)*p);
    return rc;
}

char *report_case_name(const struct check_report *r, const struct check_case *c,
                       char *out, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    report_clean(&b, c->suite);
    buf_puts(&b, " \xE2\x80\xBA ");
    report_clean(&b, c->scenario);
    if (r->repeat > 1)
        buf_printf(&b, " (repeat %d)", c->repeat);
    snprintf(out, n, "%s", buf_str(&b));
    buf_release(&b);
    return out;
}

/* s on the console: control characters shown, never sent to the terminal. */
static void put_clean(FILE *f, const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    report_clean(&b, s);
    fputs(buf_str(&b), f);
    buf_release(&b);
}

const struct check_step *report_failing_step(const struct check_case *c)
{
    for (size_t i = 0; i < c->nsteps; i++)
        if (c->steps[i].status == CHECK_FAILED || c->steps[i].status == CHECK_ERRORED)
            return &c->steps[i];
    return NULL;
}

/* ---- console -------------------------------------------------------------- */

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *paint(bool color, const char *code)
{
    return color ? code : "";
}

/* Append text with every line after the first indented by `indent`. */
static void put_block(struct buf *b, const char *indent, const char *text)
{
    for (const char *p = text; *p; p++) {
        buf_putc(b, *p);
        if (*p == '\n' && p[1])
            buf_puts(b, indent);
    }
    buf_putc(b, '\n');
}

int report_failure_text(struct buf *b, const struct check_case *c)
{
    const struct check_step *s = report_failing_step(c);
    if (s) {
        buf_printf(b, "step %zu %s%s%s at %s:%d:%d\n", (size_t)(s - c->steps) + 1,
                   s->kind ? s->kind : "step", s->name ? " " : "", s->name ? s->name : "",
                   s->file ? s->file : (c->file ? c->file : "?"), s->line, s->column);
        if (s->expected) {
            buf_puts(b, "expected: ");
            put_block(b, "          ", s->expected);
        }
        if (s->seen) {
            buf_puts(b, "seen:     ");
            put_block(b, "          ", s->seen);
        }
        if (s->nnear)
            buf_puts(b, "near misses, closest first:\n");
        for (size_t i = 0; i < s->nnear; i++) {
            buf_printf(b, "  %s\n", s->near[i].what ? s->near[i].what : "?");
            if (s->near[i].diff) {
                buf_puts(b, "    ");
                put_block(b, "    ", s->near[i].diff);
            }
        }
    } else if (c->status == CHECK_FAILED || c->status == CHECK_ERRORED) {
        buf_printf(b, "%s at %s:%d (no step recorded)\n", check_status_name(c->status),
                   c->file ? c->file : "?", c->line);
    }
    return buf_printf(b, "seed %" PRIu64 ": replay with tgcrm check --seed %" PRIu64 " %s\n",
                      c->seed, c->seed, c->file ? c->file : "");
}

static void print_failure(FILE *f, const struct check_report *r, const struct check_case *c,
                          bool color)
{
    char name[512];
    const char *word = c->status == CHECK_ERRORED ? "ERRORED" : "FAILED ";
    fprintf(f, "\n%s%s%s %s%s%s\n", paint(color, RED BOLD), word, paint(color, RESET),
            paint(color, BOLD), report_case_name(r, c, name, sizeof name), paint(color, RESET));
    struct buf b;
    buf_init(&b, 0);
    if (c->expect)
        buf_printf(&b, "expectation: %s\n", c->expect);
    report_failure_text(&b, c);
    struct buf clean;
    buf_init(&clean, 0);
    report_clean(&clean, buf_str(&b));
    bool line_start = true;
    for (const char *p = buf_str(&clean); *p; p++) {
        if (line_start)
            fputs("  ", f);
        fputc(*p, f);
        line_start = *p == '\n';
    }
    buf_release(&clean);
    buf_release(&b);
}

void report_print_summary(FILE *f, const struct check_report *r, bool color)
{
    char secs[REPORT_CLOCK_LEN];
    fprintf(f, "%stgcrm check%s: %zu scenario run%s: %s%zu passed%s, %s%zu failed%s, "
            "%zu errored, %zu skipped (seed %" PRIu64 ", %s, %s s)\n",
            paint(color, BOLD), paint(color, RESET), r->ncases, r->ncases == 1 ? "" : "s",
            paint(color, GREEN), r->passed, paint(color, RESET),
            paint(color, r->failed ? RED : ""), r->failed, paint(color, r->failed ? RESET : ""),
            r->errored, r->skipped, r->seed, r->target ? r->target : "sandbox",
            report_seconds(r->real_ms, secs));
    for (size_t i = 0; i < r->ncases; i++) {
        const struct check_case *c = &r->cases[i];
        if (c->status == CHECK_FAILED || c->status == CHECK_ERRORED)
            print_failure(f, r, c, color);
    }
    bool any_skipped = false;
    for (size_t i = 0; i < r->ncases; i++) {
        const struct check_case *c = &r->cases[i];
        if (c->status != CHECK_SKIPPED)
            continue;
        if (!any_skipped)
            fputc('\n', f);
        any_skipped = true;
        char name[512];
        const char *why = NULL;
        for (size_t k = 0; k < c->nsteps && !why; k++)
            if (c->steps[k].status == CHECK_SKIPPED)
                why = c->steps[k].reason;
        fprintf(f, "%sSKIPPED%s %s%s", paint(color, YELLOW), paint(color, RESET),
                report_case_name(r, c, name, sizeof name), why ? ": " : "");
        put_clean(f, why);
        fputc('\n', f);
    }
    if (r->nitems) {
        fputc('\n', f);
        report_print_checklist(f, r, color);
    }
}

void report_print_checklist(FILE *f, const struct check_report *r, bool color)
{
    fprintf(f, "%sProduction checklist%s\n", paint(color, BOLD), paint(color, RESET));
    int w = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        int len = (int)strlen(r->items[i].id);
        if (len > w)
            w = len;
    }
    for (size_t i = 0; i < r->nitems; i++) {
        const struct check_item *it = &r->items[i];
        const char *mark, *code;
        if (it->status == CHECK_PASSED) {
            mark = "[pass]";
            code = GREEN;
        } else if (it->status == CHECK_FAILED || it->status == CHECK_ERRORED) {
            mark = "[FAIL]";
            code = RED;
        } else {
            mark = "[ -- ]";
            code = YELLOW;
        }
        fprintf(f, "  %s%s%s ", paint(color, code), mark, paint(color, RESET));
        put_clean(f, it->id);
        fprintf(f, "%*s  ", w - (int)strlen(it->id), "");
        put_clean(f, it->text);
        if (it->ncases == 0)
            fputs("  (not proved: no scenario)\n", f);
        else if (it->nfailed)
            fprintf(f, "  (%zu of %zu scenario runs failed)\n", it->nfailed, it->ncases);
        else if (it->status == CHECK_PASSED)
            fprintf(f, "  (%zu scenario run%s)\n", it->ncases, it->ncases == 1 ? "" : "s");
        else
            fprintf(f, "  (not proved: skipped)\n");
    }
}

int report_exit_code(const struct check_report *r, size_t changes, bool fail_on_change)
{
    if (r->failed || r->errored)
        return 1;
    for (size_t i = 0; i < r->ncases; i++)
        if (r->cases[i].status == CHECK_FAILED || r->cases[i].status == CHECK_ERRORED)
            return 1;
    return fail_on_change && changes ? 1 : 0;
}

/* ---- files ---------------------------------------------------------------- */

/* Write data to path through "<path>.tmp" and a rename. */
static int write_file(const char *path, const char *data, size_t n, struct err *e)
{
    char *tmp = mem_printf("%s.tmp", path);
    int rc = 0;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        goto out_tmp;
    }
    bool ok = fwrite(data, 1, n, f) == n;
    if (fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        remove(tmp);
    }
out_tmp:
    mem_free(tmp);
    return rc;
}

static int read_file(const char *path, struct buf *b, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    char chunk[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_append(b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = err_set(e, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    else if (rc)
        rc = err_set(e, ERR_IO, "'%s' is too big", path);
    fclose(f);
    return rc;
}

/* mkdir -p */
static int make_dir(const char *dir, struct err *e)
{
    char *p = mem_strdup(dir);
    int rc = 0;
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = err_set(e, ERR_IO, "cannot create '%s': %s", p, strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    mem_free(p);
    return rc;
}

typedef int (*render_fn)(const struct check_report *, bool, struct buf *);

static int write_one(const struct check_report *r, const struct report_opts *o, FILE *out,
                     const char *format, const char *path, render_fn render, struct err *e)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = render(r, o->deterministic, &b);
    if (rc)
        rc = err_set(e, rc, "cannot render the %s report", format);
    else
        rc = write_file(path, buf_str(&b), b.len, e);
    if (rc == 0)
        fprintf(out, "report: %s written to %s\n", format, path);
    buf_release(&b);
    return rc;
}

int report_write_all(const struct check_report *r, const struct report_opts *o,
                     size_t *changes, struct err *e)
{
    FILE *out = o->out ? o->out : stderr;
    char *paths[3] = {NULL, NULL, NULL};
    int rc = 0;
    if (changes)
        *changes = 0;
    if (o->dir) {
        if ((rc = make_dir(o->dir, e)) != 0)
            return rc;
        paths[0] = mem_printf("%s/junit.xml", o->dir);
        paths[1] = mem_printf("%s/ctrf.json", o->dir);
        paths[2] = mem_printf("%s/report.html", o->dir);
    }
    static const char *const formats[3] = {"JUnit XML", "CTRF JSON", "HTML"};
    static const render_fn renders[3] = {report_junit_render, report_ctrf_render,
                                         report_html_render};
    const char *named[3] = {o->junit, o->ctrf, o->html};
    for (int i = 0; i < 3 && rc == 0; i++) {
        const char *path = named[i] ? named[i] : paths[i];
        if (path)
            rc = write_one(r, o, out, formats[i], path, renders[i], e);
    }
    if (rc == 0 && o->baseline) {
        struct buf old;
        buf_init(&old, 0);
        size_t n = 0;
        rc = read_file(o->baseline, &old, e);
        if (rc == 0)
            rc = baseline_compare(buf_str(&old), old.len, o->baseline, r, out, &n, e);
        if (rc == 0 && changes)
            *changes = n;
        buf_release(&old);
    }
    if (rc == 0 && o->record_baseline) {
        struct buf b;
        buf_init(&b, 0);
        rc = baseline_render(r, &b, e);
        if (rc == 0)
            rc = write_file(o->record_baseline, buf_str(&b), b.len, e);
        if (rc == 0)
            fprintf(out, "report: baseline recorded in %s\n", o->record_baseline);
        buf_release(&b);
    }
    for (int i = 0; i < 3; i++)
        mem_free(paths[i]);
    return rc;
}
