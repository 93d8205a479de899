/*
 * progress.c — the progress printer (progress.h): a live line redrawn with
 * "\r" and "erase to end of line" on a terminal, plain lines elsewhere.
 *
 * The live line is cut to the terminal's width, counted in code points,
 * because a line that wraps can no longer be redrawn in place.
 */
#include "check/progress.h"

#include "base/mem.h"
#include "check/report_impl.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct progress {
    FILE *f;                 /* borrowed */
    bool tty;
    size_t total, started, done, passed, failed, skipped;
    bool live;               /* a live line is on screen */
    pthread_mutex_t mu;
};

struct progress *progress_new(FILE *f, bool tty, size_t total)
{
    struct progress *p = mem_alloc(sizeof *p);
    p->f = f;
    p->tty = tty;
    p->total = total;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

static void clear_live(struct progress *p)
{
    if (p->live) {
        fputs("\r\033[K", p->f);
        p->live = false;
    }
}

void progress_free(struct progress **pp)
{
    if (!pp || !*pp)
        return;
    struct progress *p = *pp;
    clear_live(p);
    fflush(p->f);
    pthread_mutex_destroy(&p->mu);
    mem_free(p);
    *pp = NULL;
}

static size_t width(const struct progress *p)
{
    struct winsize ws;
    if (ioctl(fileno(p->f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

/* "[3/12 2 passed 1 failed]" */
static void counts(const struct progress *p, char *out, size_t n)
{
    if (p->total)
        snprintf(out, n, "[%zu/%zu, %zu passed, %zu failed]", p->done, p->total, p->passed,
                 p->failed);
    else
        snprintf(out, n, "[%zu done, %zu passed, %zu failed]", p->done, p->passed, p->failed);
}

static void draw(struct progress *p, const char *raw)
{
    struct buf clean;
    buf_init(&clean, 0);
    report_clean(&clean, raw);
    const char *text = buf_str(&clean);
    size_t max = width(p) - 1, cps = 0, i = 0;
    for (; text[i]; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80 && ++cps > max)
            break;
    fprintf(p->f, "\r\033[K%.*s", (int)i, text);
    fflush(p->f);
    p->live = true;
    buf_release(&clean);
}

/* A permanent line, control characters shown. */
static void put_line(struct progress *p, const char *text)
{
    struct buf clean;
    buf_init(&clean, 0);
    report_clean(&clean, text);
    fprintf(p->f, "%s\n", buf_str(&clean));
    fflush(p->f);
    buf_release(&clean);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

void progress_case_start(struct progress *p, const struct check_case *c)
{
    char n[96], line[1024];
    pthread_mutex_lock(&p->mu);
    p->started++;
    counts(p, n, sizeof n);
    if (p->tty) {
        snprintf(line, sizeof line, "%s %s \xE2\x80\xBA %s", n, or_empty(c->suite),
                 or_empty(c->scenario));
        draw(p, line);
    } else {
        snprintf(line, sizeof line, "start %s \xE2\x80\xBA %s (repeat %d)", or_empty(c->suite),
                 or_empty(c->scenario), c->repeat);
        put_line(p, line);
    }
    pthread_mutex_unlock(&p->mu);
}

void progress_step(struct progress *p, const struct check_case *c, size_t index,
                   const char *kind, const char *name)
{
    if (!p->tty)
        return;
    char n[96], line[1024];
    pthread_mutex_lock(&p->mu);
    counts(p, n, sizeof n);
    snprintf(line, sizeof line, "%s %s \xE2\x80\xBA %s \xE2\x80\xBA step %zu %s%s%s", n,
             or_empty(c->suite), or_empty(c->scenario), index + 1, or_empty(kind),
             name ? " " : "", or_empty(name));
    draw(p, line);
    pthread_mutex_unlock(&p->mu);
}

void progress_case_end(struct progress *p, const struct check_case *c)
{
    char n[96], line[1024];
    pthread_mutex_lock(&p->mu);
    p->done++;
    p->passed += c->status == CHECK_PASSED;
    p->failed += c->status == CHECK_FAILED || c->status == CHECK_ERRORED;
    p->skipped += c->status == CHECK_SKIPPED;
    const char *word = c->status == CHECK_PASSED ? "ok     " : c->status == CHECK_SKIPPED
                     ? "skipped" : c->status == CHECK_FAILED ? "FAILED " : "ERRORED";
    snprintf(line, sizeof line, "%s %s \xE2\x80\xBA %s (repeat %d, seed %" PRIu64 ")", word,
             or_empty(c->suite), or_empty(c->scenario), c->repeat, c->seed);
    if (p->tty) {
        clear_live(p);
        if (c->status != CHECK_PASSED)   /* a passing case leaves no trace on a terminal */
            put_line(p, line);
        counts(p, n, sizeof n);
        draw(p, n);
    } else {
        put_line(p, line);
    }
    pthread_mutex_unlock(&p->mu);
}
