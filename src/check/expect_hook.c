/*
 * expect_hook.c — expect_webhook and expect_no_webhook: what the help desk
 * (the webhook sink) received since the scenario started.
 *
 * A webhook is selected by its endpoint, its body's type and `where`
 * fields (JSON paths with the matcher vocabulary, so the selection is
 * evaluated here rather than by the sink, whose predicates only test
 * equality); redeliveries of a webhook-id already received are the same
 * webhook and are not counted again. The selected webhooks are then held
 * to the step's assertions — count, signature, schema, truncation and
 * per-ticket order — each failure naming the delivery by its sink seq.
 * Near misses are the received webhooks that met the most selection
 * predicates, newest first, with what each one failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "check/expect_impl.h"
#include "check/schema.h"
#include "check/sink.h"

struct sel {
    const char *endpoint;    /* NULL = any */
    const char *type;        /* NULL = any */
    json_t *where;           /* path -> matcher, or NULL */
    size_t npreds;
};

/* A wanted value of a duration fact: duration strings ("1s", inside
 * matchers too) become ms, the unit the facts are kept in. */
static void durations_to_ms(json_t *v)
{
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach (v, k, m) {
            int64_t ms;
            if (json_is_string(m) && clock_parse_duration(json_string_value(m), &ms) == 0)
                json_object_set_new(v, k, json_integer(ms));
            else
                durations_to_ms(m);
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, m) {
            int64_t ms;
            if (json_is_string(m) && clock_parse_duration(json_string_value(m), &ms) == 0)
                json_array_set_new(v, i, json_integer(ms));
            else
                durations_to_ms(m);
        }
    }
}

static int read_sel(struct xc *x, struct sel *s, struct err *e)
{
    memset(s, 0, sizeof *s);
    int rc = expect_arg_text(x, "endpoint", &s->endpoint, e);
    if (rc == 0)
        rc = expect_arg_text(x, "type", &s->type, e);
    if (rc == 0 && s->type != NULL && strcmp(s->type, "*") == 0)
        s->type = NULL;              /* "*": any type (docs/scenarios.md) */
    if (rc == 0)
        rc = expect_arg_json(x, "where", &s->where, e);
    json_t *d = json_object_get(s->where, "@delivered_after");
    int64_t ms;
    if (json_is_string(d) && clock_parse_duration(json_string_value(d), &ms) == 0)
        json_object_set_new(s->where, "@delivered_after", json_integer(ms));
    else
        durations_to_ms(d);
    s->npreds = (s->endpoint != NULL) + (s->type != NULL) + json_object_size(s->where);
    return rc;
}

static const char *sel_words(struct xc *x, const struct sel *s, bool plural)
{
    const char *w = expect_say(x, "%s webhook%s%s%s", s->type ? s->type : "any",
                               plural ? "s" : "", s->endpoint ? " to " : "",
                               s->endpoint ? s->endpoint : "");
    if (s->where != NULL)
        w = expect_say(x, "%s where %s", w, expect_show(x, s->where));
    return w;
}

static const char *rec_words(struct xc *x, const struct sink_record *r)
{
    return expect_say(x, "webhook #%" PRId64 " (%s to %s at %s)", r->seq,
                      r->type ? r->type : "no type", r->endpoint, expect_at(x, r->at_ms));
}

/* Test r against the selection: *failed predicates, their lines in diff. */
static int select_one(struct xc *x, const struct sel *s, const struct sink_record *r,
                      json_t *doc, size_t *failed, struct buf *diff, struct err *e)
{
    size_t bad = 0;
    if (s->endpoint != NULL && strcmp(s->endpoint, r->endpoint) != 0) {
        buf_printf(diff, "%sendpoint: want \"%s\", got \"%s\"", diff->len ? "\n" : "",
                   s->endpoint, r->endpoint);
        bad++;
    }
    if (s->type != NULL && (r->type == NULL || strcmp(s->type, r->type) != 0)) {
        buf_printf(diff, "%stype: want \"%s\", got %s%s%s", diff->len ? "\n" : "", s->type,
                   r->type ? "\"" : "", r->type ? r->type : "none", r->type ? "\"" : "");
        bad++;
    }
    if (s->where != NULL && doc == NULL) {
        buf_printf(diff, "%sbody: not JSON (%s)", diff->len ? "\n" : "",
                   r->json_error ? r->json_error : "empty");
        bad += json_object_size(s->where);
    } else if (s->where != NULL) {
        size_t n;
        struct buf d;
        buf_init(&d, 0);
        int rc = expect_fields(s->where, doc, &x->t, &d, &n, e);
        if (rc == 0 && n > 0)
            buf_printf(diff, "%s%s", diff->len ? "\n" : "", buf_str(&d));
        buf_release(&d);
        if (rc != 0)
            return rc;
        bad += n;
    }
    *failed = bad;
    return 0;
}

struct near_rec {
    const struct sink_record *r;
    size_t failed;
    char *diff;              /* owned (heap: a `during` walk looks many times) */
};

static int closest(const void *a, const void *b)
{
    const struct near_rec *p = a, *q = b;
    if (p->failed != q->failed)
        return p->failed < q->failed ? -1 : 1;
    return p->r->seq > q->r->seq ? -1 : 1;
}

/* What the sink received since the start, split into matches and the rest. */
struct pick {
    struct sink_found found;            /* received and refused requests, oldest first */
    int64_t *attempts, *latest;         /* per found.recs[i]: see count_attempts (owned) */
    const struct sink_record **match;   /* first deliveries of matching events, oldest first */
    json_t **doc;                       /* per match: the event's body (owned) */
    size_t nmatch;
    struct near_rec *other;             /* non-matching first deliveries */
    size_t nother;
    size_t received;                    /* requests that arrived (not refused) */
    size_t dups;                        /* redeliveries left out */
};

static void pick_release(struct pick *p)
{
    for (size_t i = 0; i < p->nother; i++)
        mem_free(p->other[i].diff);
    for (size_t i = 0; i < p->nmatch; i++)
        json_decref(p->doc[i]);
    mem_free(p->match);
    mem_free(p->doc);
    mem_free(p->other);
    mem_free(p->attempts);
    mem_free(p->latest);
    sink_found_release(&p->found);
}

static bool same_str(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The index in f of the first arrival of part k of r's split event at r's
 * endpoint, or SIZE_MAX. */
static size_t part_of(const struct sink_found *f, const struct sink_record *r, json_int_t k)
{
    const char *id = json_string_value(json_object_get(r->json, "id"));
    for (size_t i = 0; i < f->n; i++) {
        const struct sink_record *o = f->recs[i];
        if (o->dup_of == 0 && !o->refused && o->json != NULL &&
            strcmp(o->endpoint, r->endpoint) == 0 &&
            same_str(json_string_value(json_object_get(o->json, "id")), id) &&
            json_integer_value(json_object_get(o->json, "part")) == k)
            return i;
    }
    return SIZE_MAX;
}

struct rec_ref {
    const struct sink_record *r;
    size_t i;                           /* its index in the sink_found */
};

/* Endpoint, then webhook-id; a record without one is its own group (by index). */
static int by_attempt_key(const void *pa, const void *pb)
{
    const struct rec_ref *a = pa, *b = pb;
    int c = strcmp(a->r->endpoint, b->r->endpoint);
    if (c != 0)
        return c;
    const char *x = a->r->webhook_id, *y = b->r->webhook_id;
    if (x != NULL && y != NULL && (c = strcmp(x, y)) != 0)
        return c;
    if (x == NULL || y == NULL) {
        if ((x == NULL) != (y == NULL))
            return x == NULL ? -1 : 1;
        return a->i < b->i ? -1 : a->i > b->i;
    }
    return 0;
}

/*
 * For every record of f: the attempts of its webhook-id at its endpoint
 * (refused ones too; a record without an id is one attempt) and the latest
 * arrival among them — one sort, not a scan of f per record, which made a
 * count over thousands of deliveries quadratic.
 */
static void count_attempts(const struct sink_found *f, int64_t *attempts, int64_t *latest)
{
    struct rec_ref *refs = mem_alloc((f->n + 1) * sizeof *refs);
    for (size_t i = 0; i < f->n; i++)
        refs[i] = (struct rec_ref){ f->recs[i], i };
    qsort(refs, f->n, sizeof *refs, by_attempt_key);
    for (size_t g = 0; g < f->n;) {
        size_t end = g + 1;
        while (end < f->n && by_attempt_key(&refs[g], &refs[end]) == 0)
            end++;
        int64_t last = 0;
        for (size_t k = g; k < end; k++)
            if (refs[k].r->at_ms > last)
                last = refs[k].r->at_ms;
        for (size_t k = g; k < end; k++) {
            attempts[refs[k].i] = (int64_t)(end - g);
            latest[refs[k].i] = last;
        }
        g = end;
    }
    mem_free(refs);
}

/*
 * The event r (a first arrival) stands for, as docs/scenarios.md describes
 * it: its body, a split event's parts joined (the first part's body with
 * every part's thread in part order, `part` removed), plus the delivery
 * facts `@attempts` (of the first part) and `@delivered_after` (ms from
 * occurred_at to the latest attempt of any part). NULL when r is not JSON,
 * is a later part, or a part has not arrived yet (the event has not).
 */
static json_t *event_doc(const struct pick *p, size_t ri)
{
    const struct sink_found *f = &p->found;
    const struct sink_record *r = f->recs[ri];
    if (r->json == NULL || !json_is_object(r->json))
        return NULL;
    json_int_t parts = json_integer_value(json_object_get(r->json, "parts"));
    int64_t latest = p->latest[ri];
    int64_t attempts = p->attempts[ri];
    json_t *doc = json_copy(r->json);
    if (parts > 1) {
        if (json_integer_value(json_object_get(r->json, "part")) != 1) {
            json_decref(doc);
            return NULL;
        }
        json_t *thread = json_array();
        for (json_int_t k = 1; k <= parts; k++) {
            size_t oi = k == 1 ? ri : part_of(f, r, k);
            if (oi == SIZE_MAX) {
                json_decref(thread);
                json_decref(doc);
                return NULL;
            }
            const struct sink_record *o = f->recs[oi];
            if (p->latest[oi] > latest)
                latest = p->latest[oi];
            json_t *th = json_object_get(o->json, "thread");
            if (json_is_array(th))
                json_array_extend(thread, th);
        }
        json_object_set_new(doc, "thread", thread);
        json_object_del(doc, "part");
    }
    json_object_set_new(doc, "@attempts", json_integer(attempts));
    int64_t occurred;
    const char *occ = json_string_value(json_object_get(r->json, "occurred_at"));
    if (occ != NULL && clock_parse_iso(occ, &occurred) == 0)
        json_object_set_new(doc, "@delivered_after", json_integer(latest - occurred));
    return doc;
}

static int pick_records(struct xc *x, const struct sel *s, int64_t since, bool with_dups,
                        struct pick *p, struct err *e)
{
    memset(p, 0, sizeof *p);
    struct sink_query q = { .since = since, .which = SINK_ALL };
    int rc = sink_find(x->env->sink, &q, 0, 0, &p->found, e);
    if (rc != 0)
        return rc;
    p->match = mem_alloc((p->found.n + 1) * sizeof(const struct sink_record *));
    p->doc = mem_alloc((p->found.n + 1) * sizeof(json_t *));
    p->other = mem_alloc((p->found.n + 1) * sizeof *p->other);
    p->attempts = mem_alloc((p->found.n + 1) * sizeof *p->attempts);
    p->latest = mem_alloc((p->found.n + 1) * sizeof *p->latest);
    count_attempts(&p->found, p->attempts, p->latest);
    for (size_t i = 0; i < p->found.n; i++) {
        const struct sink_record *r = p->found.recs[i];
        if (r->refused)
            continue;
        p->received++;
        if (r->dup_of != 0 && !with_dups) {
            p->dups++;
            continue;
        }
        json_t *doc = event_doc(p, i);
        if (doc == NULL && r->json != NULL)
            continue;                    /* a later part, or an event still arriving */
        size_t failed;
        struct buf d;
        buf_init(&d, 0);
        rc = select_one(x, s, r, doc, &failed, &d, e);
        if (rc == 0 && failed == 0) {
            p->doc[p->nmatch] = doc;
            p->match[p->nmatch++] = r;
            doc = NULL;
        } else if (rc == 0)
            p->other[p->nother++] = (struct near_rec){ r, failed, mem_strdup(buf_str(&d)) };
        json_decref(doc);
        buf_release(&d);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The three closest non-matches as near misses, drawn on the timeline. */
static void note_near(struct xc *x, struct pick *p)
{
    qsort(p->other, p->nother, sizeof *p->other, closest);
    for (size_t i = 0; i < p->nother && i < 3; i++) {
        const struct near_rec *n = &p->other[i];
        expect_near(x, rec_words(x, n->r), n->diff);
        expect_event(x, n->r->at_ms, LANE_CRM, LANE_HELPDESK,
                     expect_say(x, "near miss: %s", rec_words(x, n->r)), n->diff);
    }
}

/* "evt_12" -> 12; 0 when the body has no such id. */
static int64_t event_id(const struct sink_record *r)
{
    const char *id = json_string_value(json_object_get(r->json, "id"));
    return id != NULL && strncmp(id, "evt_", 4) == 0 ? strtoll(id + 4, NULL, 10) : 0;
}

static int64_t ticket_id(const struct sink_record *r)
{
    return json_integer_value(json_object_get(json_object_get(r->json, "ticket"), "id"));
}

/*
 * Per endpoint and ticket, the first deliveries must arrive in event order
 * (and a split event's parts in part order): for every ticket a match is
 * about, among every webhook received for it at that endpoint.
 */
static void check_order(struct xc *x, const struct pick *p, struct buf *fails)
{
    for (size_t i = 0; i < p->nmatch; i++) {
        const struct sink_record *m = p->match[i];
        int64_t tid = ticket_id(m);
        bool seen_before = false;
        for (size_t j = 0; j < i && !seen_before; j++)
            seen_before = ticket_id(p->match[j]) == tid &&
                          strcmp(p->match[j]->endpoint, m->endpoint) == 0;
        if (tid == 0 || seen_before)
            continue;
        const struct sink_record *prev = NULL;
        for (size_t k = 0; k < p->found.n; k++) {
            const struct sink_record *r = p->found.recs[k];
            if (r->dup_of != 0 || r->refused || r->json == NULL || ticket_id(r) != tid ||
                strcmp(r->endpoint, m->endpoint) != 0)
                continue;
            int64_t part = json_integer_value(json_object_get(r->json, "part"));
            int64_t pprev = prev ? json_integer_value(json_object_get(prev->json, "part")) : 0;
            if (prev != NULL && (event_id(r) < event_id(prev) ||
                                 (event_id(r) == event_id(prev) && part <= pprev))) {
                buf_printf(fails, "%sticket %" PRId64 " at %s: evt_%" PRId64 " (%s) arrived "
                           "after evt_%" PRId64 " (%s)", fails->len ? "\n" : "", tid,
                           m->endpoint, event_id(r), r->type ? r->type : "?", event_id(prev),
                           prev->type ? prev->type : "?");
                expect_near(x, rec_words(x, r), expect_say(x, "out of order: after %s",
                                                           rec_words(x, prev)));
                expect_event(x, r->at_ms, LANE_CRM, LANE_HELPDESK,
                             expect_say(x, "out of order: %s", rec_words(x, r)), NULL);
            }
            prev = r;
        }
    }
}

static const char *omitted_words(struct xc *x, const struct sink_record *r)
{
    int64_t n = json_integer_value(json_object_get(r->json, "omitted"));
    return expect_say(x, "truncated, %" PRId64 " thread entr%s omitted", n, n == 1 ? "y" : "ies");
}

/* signature / schema / truncated on every match. */
static int check_each(struct xc *x, const struct pick *p, struct buf *fails, struct err *e)
{
    int sig = expect_arg_bool(x, "signature"), sch = expect_arg_bool(x, "schema");
    int trunc = expect_arg_bool(x, "truncated");
    struct schema *schema = NULL;
    if (sch >= 0) {
        int rc = schema_compile_text("docs/webhook-payload.schema.json", schema_webhook_text,
                                     schema_webhook_len, &schema, e);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < p->nmatch; i++) {
        const struct sink_record *r = p->match[i];
        struct buf d;
        buf_init(&d, 0);
        if (sig >= 0 && (r->sig == SINK_SIG_VALID) != (sig == 1))
            buf_printf(&d, "signature: want %s, got %s", sig ? "valid" : "not valid",
                       sink_sig_name(r->sig));
        if (trunc >= 0 && json_is_true(json_object_get(r->json, "truncated")) != (trunc == 1))
            buf_printf(&d, "%struncated: want %s, got %s", d.len ? "\n" : "",
                       trunc ? "true" : "false",
                       trunc ? "a whole body" : omitted_words(x, r));
        char why[512];
        if (schema != NULL && schema_validate(schema, r->json, why, sizeof why) != (sch == 1))
            buf_printf(&d, "%sschema: %s", d.len ? "\n" : "",
                       sch ? why : "want a body the schema refuses, got a valid one");
        if (d.len > 0) {
            buf_printf(fails, "%s%s: %s", fails->len ? "\n" : "", rec_words(x, r), buf_str(&d));
            expect_near(x, rec_words(x, r), buf_str(&d));
            expect_event(x, r->at_ms, LANE_CRM, LANE_HELPDESK, rec_words(x, r), buf_str(&d));
        }
        buf_release(&d);
    }
    schema_free(&schema);
    return 0;
}

static const char *want_words(struct xc *x, const struct sel *s, int64_t count)
{
    const char *w = expect_say(x, "%s %s", count >= 0 ? expect_say(x, "exactly %" PRId64, count)
                                                      : "at least one",
                                  sel_words(x, s, count >= 0 && count != 1));
    int sig = expect_arg_bool(x, "signature"), sch = expect_arg_bool(x, "schema");
    int trunc = expect_arg_bool(x, "truncated"), ord = expect_arg_bool(x, "ordered");
    if (sig >= 0)
        w = expect_say(x, "%s, signature %s", w, sig ? "valid" : "not valid");
    if (sch >= 0)
        w = expect_say(x, "%s, %s the payload schema", w, sch ? "valid against" : "refused by");
    if (trunc >= 0)
        w = expect_say(x, "%s, %s", w, trunc ? "truncated" : "not truncated");
    if (ord == 1)
        w = expect_say(x, "%s, in event order per ticket", w);
    return w;
}

int expect_hook_step(struct xc *x, bool *held, json_t **cap, struct err *e)
{
    if (x->env->sink == NULL)
        return err_set(e, ERR_INVAL, "expect_webhook needs the webhook sink");
    struct sel s;
    struct pick p;
    struct buf fails;
    memset(&p, 0, sizeof p);
    buf_init(&fails, 0);
    int rc = read_sel(x, &s, e);
    int64_t count = expect_arg_int(x, "count", -1);
    if (rc == 0)
        x->out->expected = want_words(x, &s, count);
    if (rc == 0)
        rc = pick_records(x, &s, x->env->sink_since, false, &p, e);
    if (rc != 0) {
        pick_release(&p);
        json_decref(s.where);
        return rc;
    }
    bool enough = count >= 0 ? (int64_t)p.nmatch == count : p.nmatch > 0;
    if (!enough) {
        buf_printf(&fails, "%zu matching webhook%s among %zu received since the scenario "
                   "started%s", p.nmatch, p.nmatch == 1 ? "" : "s", p.received,
                   p.dups ? expect_say(x, " (%zu redeliveries not counted)", p.dups) : "");
        for (size_t i = 0; count >= 0 && (int64_t)p.nmatch > count && i < p.nmatch && i < 3;
             i++)
            expect_near(x, rec_words(x, p.match[i]), "matched");
        note_near(x, &p);
    }
    if ((rc = check_each(x, &p, &fails, e)) == 0 && expect_arg_bool(x, "ordered") == 1)
        check_order(x, &p, &fails);
    if (rc == 0 && !p.found.complete)
        buf_printf(&fails, "%s(%" PRId64 " requests were evicted from the sink's journal: "
                   "counts may be short)", fails.len ? "\n" : "", p.found.evicted);
    *held = rc == 0 && fails.len == 0;
    if (rc == 0 && !*held)
        x->out->seen = expect_say(x, "%s", buf_str(&fails));
    if (rc == 0 && cap != NULL && p.nmatch > 0 && p.doc[0] != NULL)
        *cap = json_incref(p.doc[0]);
    buf_release(&fails);
    pick_release(&p);
    json_decref(s.where);
    return rc;
}

/* The selection of a window, fixed when the step runs. */
static int window_sel(struct xc *x, json_t **out, struct err *e)
{
    struct sel s;
    int rc = read_sel(x, &s, e);
    if (rc == 0)
        *out = json_pack("{s:s?, s:s?, s:O?}", "endpoint", s.endpoint, "type", s.type, "where",
                         s.where);
    json_decref(s.where);
    return rc;
}

static struct sel sel_of(const struct expect_window *w)
{
    json_t *where = json_object_get(w->sel, "where");
    return (struct sel){ json_string_value(json_object_get(w->sel, "endpoint")),
                         json_string_value(json_object_get(w->sel, "type")),
                         json_is_object(where) ? where : NULL, 0 };
}

int expect_hook_window_open(struct xc *x, struct expect_window *w, struct err *e)
{
    memset(w, 0, sizeof *w);
    if (x->env->sink == NULL)
        return err_set(e, ERR_INVAL, "expect_no_webhook needs the webhook sink");
    int rc = window_sel(x, &w->sel, e);
    if (rc != 0)
        return rc;
    struct sink_stats st;
    sink_stats(x->env->sink, &st);
    int64_t during = expect_arg_dur(x, "during", 0);
    w->since_seq = st.last_seq;
    w->from_ms = x->t.now_ms;
    w->until_ms = during > 0 ? x->t.now_ms + during : INT64_MAX;
    struct sel s = sel_of(w);
    char d[32];
    x->out->expected = expect_say(x, "no %s %s%s", sel_words(x, &s, false),
                                  during ? "for the next " : "until the scenario ends",
                                  during ? expect_fmt_dur(during, d, sizeof d) : "");
    return 0;
}

int expect_hook_window_judge(struct xc *x, const struct expect_window *w, bool *held,
                             struct err *e)
{
    struct sel s = sel_of(w);
    struct pick p;
    int rc = pick_records(x, &s, w->since_seq, true, &p, e);
    const struct sink_record *hit = NULL;
    for (size_t i = 0; rc == 0 && i < p.nmatch && hit == NULL; i++)
        if (p.match[i]->at_ms <= w->until_ms)
            hit = p.match[i];
    *held = rc == 0 && hit == NULL;
    if (hit != NULL) {
        /* deliveries lag their events (retries): say when the event happened too */
        char d[32];
        int64_t occurred;
        const char *occ = json_string_value(json_object_get(hit->json, "occurred_at"));
        bool dated = occ != NULL && clock_parse_iso(occ, &occurred) == 0;
        x->out->seen = expect_say(x, "%s arrived %s into the window%s%s", rec_words(x, hit),
                                  expect_fmt_dur(hit->at_ms - w->from_ms, d, sizeof d),
                                  dated ? "; the event occurred at " : "",
                                  dated ? expect_at(x, occurred) : "");
        expect_near(x, rec_words(x, hit), expect_show(x, hit->json));
        expect_event(x, hit->at_ms, LANE_CRM, LANE_HELPDESK,
                     expect_say(x, "unwanted: %s", rec_words(x, hit)), NULL);
    }
    pick_release(&p);
    return rc;
}

/* expect_step's expect_no_webhook: the window from the scenario's start to now. */
int expect_hook_none_step(struct xc *x, bool *held, struct err *e)
{
    struct expect_window w;
    int rc = expect_hook_window_open(x, &w, e);
    if (rc == 0) {
        w.since_seq = x->env->sink_since;
        w.until_ms = x->t.now_ms;
        x->out->expected = expect_say(x, "%s (so far: since the scenario started)",
                                      x->out->expected);
        rc = expect_hook_window_judge(x, &w, held, e);
    }
    expect_window_release(&w);
    return rc;
}
