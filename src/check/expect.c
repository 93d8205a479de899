/*
 * expect.c — expect_step (see expect.h): the dispatch, the helpers every
 * expectation shares (arguments, report strings, near misses, timeline
 * events, finding the ticket a step names), and the three expectations
 * about tickets: expect_ticket (fields), expect_duration (first response,
 * resolution) and expect_distribution (shares of assignees or groups).
 */
#include "check/expect.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "check/expect_impl.h"
#include "check/jpath.h"

/* ---- arguments ------------------------------------------------------------------ */

int expect_arg_json(struct xc *x, const char *key, json_t **out, struct err *e)
{
    const struct yml_node *n = yml_get(x->st->args, key);
    *out = NULL;
    return n == NULL ? 0 : env_json(x->env, n, out, e);
}

int expect_arg_text(struct xc *x, const char *key, const char **out, struct err *e)
{
    const struct yml_node *n = yml_get(x->st->args, key);
    *out = NULL;
    if (n == NULL || n->kind != YML_SCALAR)
        return 0;
    return env_expand(x->env, n->str, out, e);
}

int64_t expect_arg_int(struct xc *x, const char *key, int64_t dflt)
{
    const struct yml_node *n = yml_get(x->st->args, key);
    struct err ignored = {0};
    int64_t v;
    if (n == NULL || yml_int(x->env->suite->doc, n, key, 0, INT64_MAX, &v, &ignored) != 0)
        return dflt;
    return v;
}

int64_t expect_arg_dur(struct xc *x, const char *key, int64_t dflt)
{
    const struct yml_node *n = yml_get(x->st->args, key);
    struct err ignored = {0};
    int64_t v;
    if (n == NULL || yml_duration(x->env->suite->doc, n, key, &v, &ignored) != 0)
        return dflt;
    return v;
}

int expect_arg_bool(struct xc *x, const char *key)
{
    const struct yml_node *n = yml_get(x->st->args, key);
    struct err ignored = {0};
    bool v;
    if (n == NULL || yml_bool(x->env->suite->doc, n, key, &v, &ignored) != 0)
        return -1;
    return v;
}

/* ---- report strings ------------------------------------------------------------- */

const char *expect_say(struct xc *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0)
        s = arena_alloc(x->env->ra, (size_t)n + 1);
    if (s == NULL)
        return "";
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

const char *expect_show(struct xc *x, const json_t *v)
{
    char b[EXPECT_SHOW];
    return expect_say(x, "%s", jpath_show(v, b, sizeof b));
}

void expect_near(struct xc *x, const char *what, const char *diff)
{
    struct check_step *o = x->out;
    struct check_near *n = arena_alloc(x->env->ra, (o->nnear + 1) * sizeof *n);
    if (n == NULL)
        return;
    if (o->nnear > 0)
        memcpy(n, o->near, o->nnear * sizeof *n);
    n[o->nnear].what = expect_say(x, "%s", what);
    n[o->nnear].diff = expect_say(x, "%s", diff != NULL ? diff : "");
    o->near = n;
    o->nnear++;
}

int64_t expect_clock(const struct xc *x, int64_t at_ms)
{
    return at_ms - x->env->t0_ms;
}

/* Which of the case's steps is being evaluated: out's place in cc->steps,
 * or the next one when the runner keeps out elsewhere until it is done. */
static int step_index(const struct xc *x)
{
    const struct check_case *cc = x->env->cc;
    if (cc->steps != NULL && x->out >= cc->steps && x->out < cc->steps + cc->nsteps)
        return (int)(x->out - cc->steps);
    return (int)cc->nsteps;
}

/* An earlier poll of this step (eventually) drew its failure already:
 * drop those events so the timeline shows the last evaluation once. */
static void forget_events(const struct xc *x)
{
    struct check_case *cc = x->env->cc;
    if (cc == NULL)
        return;
    int step = step_index(x);
    size_t k = 0;
    for (size_t i = 0; i < cc->nevents; i++)
        if (!(cc->events[i].failed && cc->events[i].step == step))
            cc->events[k++] = cc->events[i];
    cc->nevents = k;
}

const char *expect_at(struct xc *x, int64_t at_ms)
{
    char d[32];
    int64_t ms = expect_clock(x, at_ms);
    return expect_say(x, "%s%s", ms >= 0 ? "+" : "", expect_fmt_dur(ms, d, sizeof d));
}

void expect_event(struct xc *x, int64_t at_ms, enum check_lane from, enum check_lane to,
                  const char *label, const char *detail)
{
    struct check_case *cc = x->env->cc;
    if (cc == NULL)
        return;
    /* in the room the step reserved (check_case_reserve_events); without
     * room, a copy one longer in the poll's arena (failures are few) */
    struct check_event *ev = cc->events;
    if (cc->nevents >= cc->cap_events) {
        ev = arena_alloc(x->env->ra, (cc->nevents + 1) * sizeof *ev);
        if (ev == NULL)
            return;
        if (cc->nevents > 0)
            memcpy(ev, cc->events, cc->nevents * sizeof *ev);
        cc->cap_events = 0;      /* not the report's: keep_poll copies it */
    }
    ev[cc->nevents] = (struct check_event){
        .at_ms = expect_clock(x, at_ms), .until_ms = expect_clock(x, at_ms),
        .from = from, .to = to, .label = expect_say(x, "%s", label),
        .detail = detail != NULL ? expect_say(x, "%s", detail) : NULL,
        .step = step_index(x), .failed = true,
    };
    cc->events = ev;
    cc->nevents++;
}

/* ---- the CRM -------------------------------------------------------------------- */

int expect_get(struct xc *x, const char *path, json_t **out, struct err *e)
{
    long status;
    *out = NULL;
    int rc = env_api(x->env, "GET", path, NULL, &status, out, e);
    if (rc == 0 && (status != 200 || !json_is_object(*out)))
        rc = err_set(e, ERR_INVAL, "GET %s answered %ld", path, status);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int expect_ticket_of(struct xc *x, json_t **out, const char **why, const char **who,
                     struct err *e)
{
    *out = NULL;
    *why = NULL;
    const char *id, *cust;
    /* expand first: a variable without a value is an error, a missing ticket is not */
    int rc = expect_arg_text(x, "ticket", &id, e);
    if (rc == 0)
        rc = expect_arg_text(x, "customer", &cust, e);
    if (rc != 0)
        return rc;
    if (who != NULL)
        *who = id != NULL ? expect_say(x, "ticket %s", id)
                          : expect_say(x, "%s's latest ticket", cust != NULL ? cust : "?");
    struct err miss = {0};
    rc = env_ticket(x->env, x->st->args, out, &miss);
    if (rc == ERR_NOTFOUND) {
        *why = expect_say(x, "%s", miss.msg);
        return 0;
    }
    if (rc != 0)
        return err_set(e, rc, "%s", miss.msg);
    return 0;
}

/* ---- expect_ticket ---------------------------------------------------------------- */

/* "status \"resolved\", sla.first_response.breached false" from a fields object. */
static const char *fields_words(struct xc *x, const json_t *fields)
{
    struct buf b;
    buf_init(&b, 4096);
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)fields, k, v) {
        char s[EXPECT_SHOW];
        buf_printf(&b, "%s%s %s", b.len ? ", " : "", k, jpath_show(v, s, sizeof s));
    }
    const char *r = expect_say(x, "%s", buf_str(&b));
    buf_release(&b);
    return r;
}

static int ticket_step(struct xc *x, bool *held, json_t **cap, struct err *e)
{
    json_t *fields = NULL, *t = NULL;
    const char *why, *who;
    struct buf diff;
    buf_init(&diff, 0);
    int rc = expect_arg_json(x, "fields", &fields, e);
    if (rc == 0)
        rc = expect_ticket_of(x, &t, &why, &who, e);
    if (rc != 0)
        goto out;
    x->out->expected = expect_say(x, "%s: %s", who, fields_words(x, fields));
    if (t == NULL) {
        x->out->seen = why;
        goto out;
    }
    size_t failed;
    if ((rc = expect_fields(fields, t, &x->t, &diff, &failed, e)) != 0)
        goto out;
    *held = failed == 0;
    if (!*held) {
        int64_t id = json_integer_value(json_object_get(t, "id"));
        x->out->seen = expect_say(x, "%s", buf_str(&diff));
        expect_near(x, expect_say(x, "ticket %" PRId64 " (%zu of %zu fields differ)", id,
                                  failed, json_object_size(fields)), buf_str(&diff));
        expect_event(x, x->t.now_ms, LANE_CRM, LANE_CRM,
                     expect_say(x, "ticket %" PRId64 ": %zu field%s differ", id, failed,
                                failed == 1 ? "" : "s"), buf_str(&diff));
    }
    if (cap != NULL)
        *cap = json_incref(t);
out:
    buf_release(&diff);
    json_decref(fields);
    json_decref(t);
    return rc;
}

/* ---- expect_duration ---------------------------------------------------------------- */

/* The ticket's RFC 3339 member `key` in ms, or -1 when null or missing. */
static int64_t ticket_time(const json_t *t, const char *key)
{
    int64_t ms;
    const json_t *v = json_object_get(t, key);
    return json_is_string(v) && clock_parse_iso(json_string_value(v), &ms) == 0 ? ms : -1;
}

static int duration_step(struct xc *x, bool *held, struct err *e)
{
    const char *metric, *why, *who;
    json_t *t = NULL;
    int rc = expect_arg_text(x, "metric", &metric, e);
    if (rc == 0)
        rc = expect_ticket_of(x, &t, &why, &who, e);
    if (rc != 0)
        return rc;
    bool first = metric == NULL || strcmp(metric, "resolution") != 0;
    const char *at_key = first ? "first_response_at" : "resolved_at";
    const char *words = first ? "first response" : "resolution";
    int64_t want = expect_arg_dur(x, "equals", 0);
    int64_t tol = expect_arg_dur(x, "tolerance", EXPECT_TOLERANCE_MS);
    char d1[32], d2[32], d3[32];
    x->out->expected = expect_say(x, "%s: %s time %s ± %s", who, words,
                                  expect_fmt_dur(want, d1, 32), expect_fmt_dur(tol, d2, 32));
    if (t == NULL) {
        x->out->seen = why;
        return 0;
    }
    int64_t id = json_integer_value(json_object_get(t, "id"));
    int64_t created = ticket_time(t, "created_at"), at = ticket_time(t, at_key);
    char c_iso[CLOCK_ISO_LEN], a_iso[CLOCK_ISO_LEN];
    clock_fmt_iso(created, c_iso);
    if (at < 0) {
        x->out->seen = expect_say(x, "ticket %" PRId64 " has no %s yet (%s is null; created "
                                  "%s)", id, words, at_key, c_iso);
    } else {
        int64_t took = at - created, off = took - want;
        *held = off >= -tol && off <= tol;
        if (!*held) {
            x->out->seen = expect_say(x, "ticket %" PRId64 ": %s took %s (created_at %s, %s %s)"
                                      ", %s %s than wanted", id, words,
                                      expect_fmt_dur(took, d1, 32), c_iso, at_key,
                                      clock_fmt_iso(at, a_iso),
                                      expect_fmt_dur(off < 0 ? -off : off, d3, 32),
                                      off < 0 ? "less" : "more");
            expect_event(x, at, LANE_CRM, LANE_CRM,
                         expect_say(x, "ticket %" PRId64 " %s after %s", id, words,
                                    expect_fmt_dur(took, d1, 32)), NULL);
        }
    }
    json_decref(t);
    return 0;
}

/* ---- expect_distribution ------------------------------------------------------------ */

struct tally {
    json_t *counts;          /* name -> count */
    int64_t total;
};

/* s percent-encoded for a query string (cut to fit n). */
static void pct_encode(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; *s != '\0' && k + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
}

/* Count the tickets created since the scenario started, by assignee or group. */
static int tally_tickets(struct xc *x, const char *by, const char *group, struct tally *ty,
                         struct err *e)
{
    int64_t after = 0;
    for (;;) {
        char path[512];
        json_t *page;
        char q[200] = "";
        if (group != NULL)
            pct_encode(group, q, sizeof q);
        snprintf(path, sizeof path, "/v1/tickets?limit=500&after=%" PRId64 "%s%s", after,
                 group != NULL ? "&group=" : "", q);
        int rc = expect_get(x, path, &page, e);
        if (rc != 0)
            return rc;
        json_t *list = json_object_get(page, "tickets"), *t;
        size_t i;
        json_array_foreach (list, i, t) {
            if (ticket_time(t, "created_at") < x->env->t0_ms)
                continue;
            const json_t *v = json_object_get(t, by);
            const char *name = json_is_string(v) ? json_string_value(v) : "(unassigned)";
            json_t *c = json_object_get(ty->counts, name);
            json_object_set_new(ty->counts, name,
                                json_integer(c != NULL ? json_integer_value(c) + 1 : 1));
            ty->total++;
        }
        json_t *next = json_object_get(page, "next_after");
        after = json_is_integer(next) ? json_integer_value(next) : 0;
        json_decref(page);
        if (after == 0)
            return 0;
    }
}

/* One name's count, for sorting the report: most tickets first, then by name. */
struct share {
    const char *name;
    int64_t n;
};

static int by_count(const void *a, const void *b)
{
    const struct share *p = a, *q = b;
    if (p->n != q->n)
        return p->n < q->n ? 1 : -1;
    return strcmp(p->name, q->name);
}

static int distribution_step(struct xc *x, bool *held, struct err *e)
{
    const char *by, *group;
    int rc = expect_arg_text(x, "by", &by, e);
    if (rc == 0)
        rc = expect_arg_text(x, "group", &group, e);
    if (rc != 0)
        return rc;
    int64_t max = expect_arg_int(x, "max_share", 100);
    x->out->expected = expect_say(x, "no %s above %" PRId64 "%% of the tickets created in this "
                                  "scenario%s%s", by, max, group ? " in group " : "",
                                  group ? group : "");
    struct tally ty = { .counts = json_object() };
    if ((rc = tally_tickets(x, by, group, &ty, e)) != 0)
        goto out;
    if (ty.total == 0) {
        x->out->seen = expect_say(x, "no ticket was created in this scenario%s%s: a share of "
                                  "nothing proves nothing", group ? " in group " : "",
                                  group ? group : "");
        goto out;
    }
    size_t n = json_object_size(ty.counts), i = 0;
    struct share *sh = arena_alloc(x->env->scratch, n * sizeof *sh);
    if (sh == NULL) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach (ty.counts, k, v)
        sh[i++] = (struct share){ .name = k, .n = json_integer_value(v) };
    qsort(sh, n, sizeof *sh, by_count);
    struct buf counts, over;
    buf_init(&counts, 0);
    buf_init(&over, 0);
    for (i = 0; i < n; i++) {
        int64_t pct10 = sh[i].n * 1000 / ty.total;   /* tenths of a percent, for the report */
        buf_printf(&counts, "%s%s %" PRId64 " (%" PRId64 ".%" PRId64 "%%)", i ? ", " : "",
                   sh[i].name, sh[i].n, pct10 / 10, pct10 % 10);
        /* exact: n/total > max% <=> 100n > max*total; nobody's share is "(unassigned)" */
        if (strcmp(sh[i].name, "(unassigned)") != 0 && sh[i].n * 100 > max * ty.total) {
            buf_printf(&over, "%s%s has %" PRId64 " of %" PRId64 " tickets (%" PRId64 ".%" PRId64
                       "%%), above %" PRId64 "%%", over.len ? "\n" : "", sh[i].name, sh[i].n,
                       ty.total, pct10 / 10, pct10 % 10, max);
            expect_near(x, sh[i].name, expect_say(x, "%" PRId64 " of %" PRId64 " tickets",
                                                  sh[i].n, ty.total));
        }
    }
    *held = over.len == 0;
    if (!*held) {
        x->out->seen = expect_say(x, "%s\ncounts: %s", buf_str(&over), buf_str(&counts));
        expect_event(x, x->t.now_ms, LANE_CRM, LANE_CRM,
                     expect_say(x, "distribution by %s: %s", by, buf_str(&counts)), NULL);
    }
    buf_release(&counts);
    buf_release(&over);
out:
    json_decref(ty.counts);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------------------- */

int expect_step(struct check_env *env, const struct step *st, bool *held,
                struct check_step *out, json_t **capture_src, struct err *e)
{
    struct xc x = { .env = env, .st = st, .out = out };
    *held = false;
    if (capture_src != NULL)
        *capture_src = NULL;
    out->seen = NULL;
    out->near = NULL;
    out->nnear = 0;
    x.t.t0_ms = env->t0_ms;
    forget_events(&x);
    int rc = env_now_ms(env, &x.t.now_ms, e);
    if (rc != 0)
        return rc;
    switch (st->kind) {
    case STEP_EXPECT_TICKET:
        rc = ticket_step(&x, held, capture_src, e);
        break;
    case STEP_EXPECT_THREAD:
        rc = expect_thread_step(&x, held, capture_src, e);
        break;
    case STEP_EXPECT_TELEGRAM:
        rc = expect_tg_step(&x, held, capture_src, e);
        break;
    case STEP_EXPECT_WEBHOOK:
        rc = expect_hook_step(&x, held, capture_src, e);
        break;
    case STEP_EXPECT_NO_WEBHOOK:
        rc = expect_hook_none_step(&x, held, e);
        break;
    case STEP_EXPECT_DISTRIBUTION:
        rc = distribution_step(&x, held, e);
        break;
    case STEP_EXPECT_DURATION:
        rc = duration_step(&x, held, e);
        break;
    default:
        return err_set(e, ERR_INVAL, "'%s' is not an expectation", scenario_step_name(st->kind));
    }
    if (rc != 0) {
        *held = false;
        if (capture_src != NULL) {
            json_decref(*capture_src);
            *capture_src = NULL;
        }
    }
    /* the runner's arenas can run out; a report saying nothing would look like a pass */
    if (out->expected == NULL)
        out->expected = scenario_step_name(st->kind);
    if (!*held && rc == 0 && out->seen == NULL)
        out->seen = "(out of report memory)";
    return rc;
}

int expect_window_open(struct check_env *env, const struct step *st, struct check_step *out,
                       struct expect_window *w, struct err *e)
{
    struct xc x = { .env = env, .st = st, .out = out };
    x.t.t0_ms = env->t0_ms;
    memset(w, 0, sizeof *w);
    int rc = env_now_ms(env, &x.t.now_ms, e);
    return rc != 0 ? rc : expect_hook_window_open(&x, w, e);
}

int expect_window_judge(struct check_env *env, const struct step *st, struct check_step *out,
                        const struct expect_window *w, bool *held, struct err *e)
{
    struct xc x = { .env = env, .st = st, .out = out };
    x.t.t0_ms = env->t0_ms;
    *held = false;
    int rc = env_now_ms(env, &x.t.now_ms, e);
    return rc != 0 ? rc : expect_hook_window_judge(&x, w, held, e);
}

void expect_window_release(struct expect_window *w)
{
    json_decref(w->sel);
    w->sel = NULL;
}
