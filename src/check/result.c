/*
 * result.c — the check report's lifecycle and the helpers that fill it.
 *
 * The runner builds a struct check_report while it runs scenarios; the
 * reports (report*.c, baseline.c) only read it. Everything lives in the
 * report's arena, so the arrays grow by doubling into fresh arena memory
 * (the old copy is simply abandoned: at most half the bytes are wasted,
 * and the whole report is freed in one step anyway).
 */
#include "check/result.h"

#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *check_status_name(enum check_status s)
{
    switch (s) {
    case CHECK_PASSED: return "passed";
    case CHECK_FAILED: return "failed";
    case CHECK_ERRORED: return "errored";
    case CHECK_SKIPPED: return "skipped";
    }
    return "unknown";
}

int check_report_new(struct check_report **out)
{
    struct arena *a = arena_new(0);
    struct check_report *r = arena_alloc(a, sizeof *r);
    if (!r) {
        arena_free(&a);
        *out = NULL;
        return ERR_NOMEM;
    }
    r->a = a;
    r->repeat = 1;
    *out = r;
    return 0;
}

void check_report_free(struct check_report **rp)
{
    if (!rp || !*rp)
        return;
    struct arena *a = (*rp)->a;     /* the report itself lives in its arena */
    arena_free(&a);
    *rp = NULL;
}

/* Make room for one more element of `size` bytes in *arr (n used, *cap
 * allocated; cap 0 with n > 0 means the array was built by hand) and
 * return the new, zeroed element. */
static void *grow(struct arena *a, void **arr, size_t *n, size_t *cap, size_t size)
{
    if (*n >= *cap) {
        size_t ncap = *cap ? *cap * 2 : (*n < 4 ? 8 : *n * 2);
        char *p = arena_alloc(a, ncap * size);
        if (!p)
            return NULL;
        if (*n)
            memcpy(p, *arr, *n * size);
        *arr = p;
        *cap = ncap;
    }
    char *el = (char *)*arr + *n * size;
    memset(el, 0, size);
    (*n)++;
    return el;
}

struct check_case *check_report_add_case(struct check_report *r)
{
    struct check_case *c = grow(r->a, (void **)&r->cases, &r->ncases, &r->cap_cases,
                                sizeof *c);
    if (c)
        c->repeat = 1;
    return c;
}

struct check_step *check_case_add_step(struct check_report *r, struct check_case *c)
{
    return grow(r->a, (void **)&c->steps, &c->nsteps, &c->cap_steps, sizeof *c->steps);
}

struct check_near *check_step_add_near(struct check_report *r, struct check_step *s,
                                       const char *what, const char *diff)
{
    struct check_near *n = grow(r->a, (void **)&s->near, &s->nnear, &s->cap_near,
                                sizeof *n);
    if (n) {
        n->what = check_report_str(r, what);
        n->diff = check_report_str(r, diff);
    }
    return n;
}

int check_case_reserve_events(struct check_report *r, struct check_case *c, size_t more)
{
    if (c->cap_events >= c->nevents + more)
        return 0;
    size_t n = c->nevents, ncap = c->cap_events ? c->cap_events : 8;
    while (ncap < n + more)
        ncap *= 2;
    struct check_event *ev = arena_alloc(r->a, ncap * sizeof *ev);
    if (ev == NULL)
        return ERR_NOMEM;
    if (n > 0)
        memcpy(ev, c->events, n * sizeof *ev);
    c->events = ev;
    c->cap_events = ncap;
    return 0;
}

struct check_event *check_case_add_event(struct check_report *r, struct check_case *c,
                                         int64_t at_ms, const char *label)
{
    struct check_event *ev = grow(r->a, (void **)&c->events, &c->nevents, &c->cap_events,
                                  sizeof *ev);
    if (ev) {
        ev->at_ms = ev->until_ms = at_ms;
        ev->label = check_report_str(r, label);
        ev->step = -1;
    }
    return ev;
}

struct check_observation *check_case_add_obs(struct check_report *r, struct check_case *c,
                                             const char *kind, const char *key,
                                             const char *value, int64_t at_ms)
{
    struct check_observation *o = grow(r->a, (void **)&c->obs, &c->nobs, &c->cap_obs,
                                       sizeof *o);
    if (o) {
        o->kind = check_report_str(r, kind);
        o->key = check_report_str(r, key);
        o->value = check_report_str(r, value);
        o->at_ms = at_ms;
    }
    return o;
}

static struct check_item *find_item(const struct check_report *r, const char *id)
{
    for (size_t i = 0; i < r->nitems; i++)
        if (strcmp(r->items[i].id, id) == 0)
            return &r->items[i];
    return NULL;
}

struct check_item *check_report_add_item(struct check_report *r, const char *id,
                                         const char *text)
{
    struct check_item *it = find_item(r, id);
    if (!it) {
        it = grow(r->a, (void **)&r->items, &r->nitems, &r->cap_items, sizeof *it);
        if (!it)
            return NULL;
        it->id = check_report_str(r, id);
        it->status = CHECK_SKIPPED;
    }
    if (!it->text && text)
        it->text = check_report_str(r, text);
    return it;
}

const char *check_report_str(struct check_report *r, const char *s)
{
    return s ? arena_strdup(r->a, s) : NULL;
}

const char *check_report_printf(struct check_report *r, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : arena_alloc(r->a, (size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

void check_report_tally(struct check_report *r)
{
    r->passed = r->failed = r->errored = r->skipped = 0;
    for (size_t i = 0; i < r->nitems; i++)
        r->items[i].ncases = r->items[i].nfailed = 0;
    /* items of the cases first (adding may move the items array) */
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t k = 0; k < r->cases[i].nchecklist; k++)
            check_report_add_item(r, r->cases[i].checklist[k], NULL);
    size_t *npassed = arena_alloc(r->a, (r->nitems + 1) * sizeof *npassed);
    for (size_t i = 0; i < r->ncases; i++) {
        const struct check_case *c = &r->cases[i];
        switch (c->status) {
        case CHECK_PASSED: r->passed++; break;
        case CHECK_FAILED: r->failed++; break;
        case CHECK_ERRORED: r->errored++; break;
        case CHECK_SKIPPED: r->skipped++; break;
        }
        for (size_t k = 0; k < c->nchecklist; k++) {
            struct check_item *it = find_item(r, c->checklist[k]);
            it->ncases++;
            if (c->status == CHECK_FAILED || c->status == CHECK_ERRORED)
                it->nfailed++;
            else if (c->status == CHECK_PASSED && npassed)
                npassed[it - r->items]++;
        }
    }
    for (size_t i = 0; i < r->nitems; i++) {
        struct check_item *it = &r->items[i];
        if (it->nfailed)
            it->status = CHECK_FAILED;
        else if (it->ncases && npassed && npassed[i] == it->ncases)
            it->status = CHECK_PASSED;
        else
            it->status = CHECK_SKIPPED;
    }
}
