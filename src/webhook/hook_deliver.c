/*
 * hook_deliver.c — the outbound webhook dispatcher (see hook_deliver.h).
 *
 * Memory model. Each endpoint (struct ep) holds its pending deliveries as
 * struct row in a hook_queue (ordering and due times). A row is referenced
 * by up to three owners and freed when the last lets go:
 *   queued     it is in its endpoint's queue (pending),
 *   in_flight  a transfer (struct xfer) is sending it,
 *   dirty      the store has not seen its latest state yet (d->writes).
 * Attempt records (d->atts) point at dirty rows and are written with them.
 *
 * Loading. An endpoint's pending rows are loaded from the store in (event,
 * part) order, a page per round, up to QUEUE_ROWS_MAX; while some are still
 * only in the store (`partial`) no new events are fanned out for it, so a
 * row in memory is never overtaken by an older one left in the store.
 *
 * Fan-out. Events past an endpoint's cursor are read a page at a time and
 * turned into rows only while the endpoint has few deliveries due and not
 * yet started, so a backlog waits in the events table, not in memory, and
 * bodies built at fan-out are still cached when their attempt starts.
 *
 * Writes. Everything the store must learn — new rows, new states, attempts,
 * cursors, disabled flags — is copied into a batch at the end of each round
 * and written by hook_record's thread, so the network loop never waits for
 * the database. Reads (events, threads, pending rows) use a read-only
 * connection of the dispatcher's own; a page of pending rows is only loaded
 * when every batch is written, so the store never hands back a row whose
 * newer state is still on its way.
 */
#include "webhook/hook_deliver.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <strings.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/metrics.h"
#include "store/store.h"
#include "webhook/hook_dispatch.h"
#include "webhook/hook_payload.h"
#include "webhook/hook_queue.h"
#include "webhook/hook_record.h"
#include "webhook/hook_sign.h"

#define FANOUT_PAGE 64                  /* events read per round */
#define FANOUT_BUDGET_NS 2000000        /* building bodies: then start what is built */
#define LOAD_PAGE 5000                  /* pending rows loaded per round */
#define QUEUE_ROWS_MAX 200000           /* rows of one endpoint held in memory */
#define BODY_CACHE_MAX (64u << 20)      /* bytes of bodies kept for first attempts */
#define RESPONSE_KEEP 1024              /* bytes of a response body recorded */
#define CONNECT_TIMEOUT_MS 5000L
#define RECORD_BACKLOG_MAX 2048         /* unwritten batches that pause fan-out (~20 s) */
#define FLUSH_MS 10                     /* real ms changes gather before a batch: most
                                           deliveries are then written once, finished */
#define RETRY_STORE_MS 1000             /* a store read failed: try the row again */
#define IDLE_WAIT_MS 10000              /* longest sleep with nothing to do */
#define PRUNE_EVERY_MS 3600000          /* retention passes, on the dispatcher's clock */
#define PRUNE_BATCH 2000                /* rows per transaction: deliveries never wait long */

static const int64_t latency_bounds_ms[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 3600000,
};

enum rstate { R_PENDING = 0, R_SUCCEEDED, R_DEAD };
static const char *const rstate_name[] = {"pending", "succeeded", "dead"};

struct ep;

/* One delivery held in memory. */
struct row {
    struct hook_qnode n;        /* first: the queue hands nodes back */
    struct ep *ep;              /* borrowed */
    int64_t ticket_id, occurred_at, created_at, finished_at;
    int parts, attempts, last_status;
    int64_t max_payload;
    bool split;
    enum rstate state;
    char *type;                 /* owned */
    char *last_error;           /* owned, or NULL */
    char *body;                 /* owned body cache, or NULL */
    size_t body_len;
    bool queued, in_flight, dirty;
    size_t ref;                 /* its operation in the batch being filled */
    struct row *wnext;          /* next in d->writes while dirty */
};

struct attempt {
    struct row *r;              /* borrowed; dirty until written */
    int64_t at, latency_ms;
    int status;
    const char *outcome;        /* static */
    char *error, *response;     /* owned, or NULL */
};

struct ep {
    char *name;                 /* owned */
    const struct cfg_webhook *cfg;   /* borrowed from d->cfg */
    struct hook_queue q;
    bool known;                 /* its store row has been read */
    int64_t cursor;             /* last event fanned out (in memory) */
    int64_t stored_cursor;      /* ... and as far as handed to the writer */
    bool partial;               /* pending rows remain in the store only */
    int64_t load_event;         /* the last row loaded: (event, part) */
    int load_part;
    bool disabled, state_dirty;
    int64_t disabled_at;
    char *disabled_reason;      /* owned */
    char *disabled_url;         /* owned */
    int inflight;
    bool want;                  /* takes events in the fan-out under way */
    int64_t hold_until;         /* mono ms: a store read failed, wait before retrying */
    int64_t pruned_at;          /* clock ms of the last retention pass, 0 = never */
    bool prune_more;            /* the last pass hit PRUNE_BATCH: go on next round */
    struct metric *m_sent, *m_retried, *m_dead, *m_disabled, *m_latency;
    struct metric *m_inflight, *m_queued, *m_off;
};

struct xfer {
    CURL *h;                    /* owned */
    struct curl_slist *hdrs;    /* owned while sending */
    struct row *r;              /* the delivery; NULL when idle */
    int64_t started_at;         /* clock ms */
    int64_t deadline;           /* clock ms */
    int64_t mono0;              /* for the latency */
    char resp[RESPONSE_KEEP + 1];
    size_t resp_len;
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
};

enum cmd_type { CMD_REPLAY, CMD_REPLAY_DEAD, CMD_ENABLE, CMD_DISABLE };

struct cmd {
    enum cmd_type type;
    int64_t id;
    const char *endpoint;       /* borrowed from the caller */
    const char *reason;         /* borrowed */
    int64_t now;                /* set by the thread */
    int rc;
    struct err err;
    int64_t count;
    bool done;
    struct cmd *next;
};

struct hook_deliver {
    struct clock *clk;          /* borrowed */
    struct store *st;           /* owned: the dispatcher's read-only connection */
    struct hook_record *rec;    /* owned: its writer */
    CURLM *multi;               /* owned */
    pthread_t th;
    bool started;
    atomic_bool stop;

    pthread_mutex_t mu;         /* guards next_cfg, cmds */
    pthread_cond_t cv;          /* a command finished */
    struct cfg *next_cfg;       /* owned reference waiting to be taken */
    struct cmd *cmds, *cmds_tail;
    struct {                    /* hook_deliver_stats, written by the thread */
        _Atomic int64_t attempts, sent, retried, dead, disabled, fanned_out;
    } pub;
    /* guarded by mu: the loop's newest rest, for hook_deliver_idle */
    bool resting;
    int64_t rest_now;           /* clock when the resting round began */
    int64_t rest_cursor;        /* every endpoint has fanned out this far, -1 unknown */
    int rest_inflight;          /* attempts in flight while resting */
    int64_t rest_next;          /* the earliest retry or attempt deadline, INT64_MAX none */

    /* thread-only from here */
    struct cfg *cfg;            /* owned reference in use */
    struct ep **eps;            /* owned */
    size_t neps;
    struct xfer **xs;           /* owned: every transfer slot made */
    size_t nxs;
    struct xfer **idle;         /* owned array of borrowed idle slots */
    size_t nidle;
    struct row *writes, *writes_tail;
    struct attempt *atts;       /* owned */
    size_t natts, capatts;
    bool unflushed;             /* something is not handed to the writer yet */
    int64_t flushed_at;         /* mono ms of the last batch */
    size_t body_bytes;
    struct arena *fa;           /* owned: fan-out arena, reset per page */
};

/* ---- small helpers --------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe everywhere: run it exactly once. */
static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void bump(_Atomic int64_t *field, int64_t n)
{
    atomic_fetch_add_explicit(field, n, memory_order_relaxed);
}

static bool transient(int rc)
{
    return rc == ERR_DB || rc == ERR_BUSY || rc == ERR_IO;
}

static int64_t mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

/* Copy s[0..n) as text: valid UTF-8 is kept, other bytes and control
 * characters (but tab and newline) become '?', so it can go into JSON. */
static char *text_copy(const char *s, size_t n)
{
    char *out = mem_alloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3
                   : (c >> 3) == 0x1e ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)s[i + k] >> 6) == 0x2;
        if (len == 1 && c < 0x20 && c != '\t' && c != '\n')
            ok = false;
        if (!ok) {
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, s + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
    return out;
}

/* ---- rows ---------------------------------------------------------------------------- */

static void drop_body(struct hook_deliver *d, struct row *r)
{
    if (r->body != NULL) {
        d->body_bytes -= r->body_len;
        mem_freep(&r->body);
        r->body_len = 0;
    }
}

/* Keep a copy of body for r's next attempt, if the cache has room. */
static void cache_body(struct hook_deliver *d, struct row *r, const char *body)
{
    size_t len = strlen(body);
    if (r->body != NULL || d->body_bytes + len > BODY_CACHE_MAX)
        return;
    r->body = mem_strndup(body, len);
    r->body_len = len;
    d->body_bytes += len;
}

static void row_free(struct hook_deliver *d, struct row *r)
{
    drop_body(d, r);
    mem_free(r->type);
    mem_free(r->last_error);
    mem_free(r);
}

/* Free r unless something still holds it. */
static void row_release(struct hook_deliver *d, struct row *r)
{
    if (!r->queued && !r->in_flight && !r->dirty)
        row_free(d, r);
}

static void note_unflushed(struct hook_deliver *d)
{
    d->unflushed = true;
}

/* r's state changed: the next flush writes it. */
static void mark_dirty(struct hook_deliver *d, struct row *r)
{
    note_unflushed(d);
    if (r->dirty)
        return;
    r->dirty = true;
    r->wnext = NULL;
    if (d->writes_tail != NULL)
        d->writes_tail->wnext = r;
    else
        d->writes = r;
    d->writes_tail = r;
}

static void set_error(struct row *r, const char *msg)
{
    mem_free(r->last_error);
    r->last_error = msg != NULL ? mem_strdup(msg) : NULL;
}

static struct row *row_new(struct ep *ep, int64_t event_id, int part, int parts,
                           int64_t ticket_id, const char *type, int64_t occurred_at)
{
    struct row *r = mem_alloc(sizeof *r);
    r->ep = ep;
    r->n.event_id = event_id;
    r->n.part = part;
    r->parts = parts;
    r->ticket_id = ticket_id;
    r->type = mem_strdup(type != NULL ? type : "");
    r->occurred_at = occurred_at;
    return r;
}

static void row_enqueue(struct ep *ep, struct row *r, bool busy)
{
    hook_queue_add(&ep->q, &r->n, r->ticket_id, busy);
    r->queued = true;
}

/* Finished (succeeded or dead): out of the queue, state written later. */
static void row_finish(struct hook_deliver *d, struct row *r, enum rstate state, int64_t now)
{
    r->state = state;
    r->finished_at = now;
    drop_body(d, r);
    if (r->queued) {
        hook_queue_remove(&r->ep->q, &r->n);
        r->queued = false;
    }
    mark_dirty(d, r);
}

static void record_attempt(struct hook_deliver *d, struct row *r, int64_t at, int status,
                           const char *outcome, const char *error, const char *resp,
                           size_t resp_len, int64_t latency_ms)
{
    if (d->natts == d->capatts) {
        d->capatts = d->capatts ? d->capatts * 2 : 256;
        d->atts = mem_realloc(d->atts, d->capatts * sizeof *d->atts);
    }
    d->atts[d->natts++] = (struct attempt){
        .r = r, .at = at, .status = status, .outcome = outcome, .latency_ms = latency_ms,
        .error = error != NULL ? mem_strdup(error) : NULL,
        .response = resp_len > 0 ? text_copy(resp, resp_len) : NULL,
    };
    mark_dirty(d, r);
}

/* ---- endpoints ----------------------------------------------------------------------- */

static struct ep *ep_find(struct hook_deliver *d, const char *name)
{
    for (size_t i = 0; i < d->neps; i++)
        if (strcmp(d->eps[i]->name, name) == 0)
            return d->eps[i];
    return NULL;
}

static bool per_ticket(const struct cfg_webhook *w)
{
    return w->ordering == NULL || strcmp(w->ordering, "none") != 0;
}

static struct metric *ep_metric(const struct ep *ep, const char *name, const char *help,
                                bool gauge)
{
    char labels[160];
    snprintf(labels, sizeof labels, "endpoint=\"%s\"", ep->name);
    return gauge ? metrics_gauge(name, help, labels) : metrics_counter(name, help, labels);
}

static struct ep *ep_new(struct hook_deliver *d, const struct cfg_webhook *w)
{
    struct ep *ep = mem_alloc(sizeof *ep);
    ep->name = mem_strdup(w->name);
    ep->cfg = w;
    hook_queue_init(&ep->q, per_ticket(w));
    ep->partial = true;
    ep->m_sent = ep_metric(ep, "tgcrm_webhook_sent_total",
                           "Webhook deliveries accepted with a 2xx", false);
    ep->m_retried = ep_metric(ep, "tgcrm_webhook_retried_total",
                              "Failed webhook attempts that will be retried", false);
    ep->m_dead = ep_metric(ep, "tgcrm_webhook_dead_total",
                           "Webhook deliveries moved to the dead-letter list", false);
    ep->m_disabled = ep_metric(ep, "tgcrm_webhook_disabled_total",
                               "Times a webhook endpoint was disabled by 410 Gone", false);
    ep->m_inflight = ep_metric(ep, "tgcrm_webhook_in_flight",
                               "Webhook attempts in flight", true);
    ep->m_queued = ep_metric(ep, "tgcrm_webhook_queued",
                             "Pending webhook deliveries the dispatcher holds", true);
    ep->m_off = ep_metric(ep, "tgcrm_webhook_endpoint_disabled",
                          "1 while the webhook endpoint is disabled", true);
    char labels[160];
    snprintf(labels, sizeof labels, "endpoint=\"%s\"", ep->name);
    ep->m_latency = metrics_histogram("tgcrm_webhook_delivery_latency_milliseconds",
                                      "From the event's commit to the 2xx of its delivery",
                                      labels, latency_bounds_ms,
                                      sizeof latency_bounds_ms / sizeof latency_bounds_ms[0]);
    d->eps = mem_realloc(d->eps, (d->neps + 1) * sizeof(struct ep *));
    d->eps[d->neps++] = ep;
    return ep;
}

struct create {
    const char *name;
    int64_t now;
};

/* On the writer: record a new endpoint at the newest event (unless it is
 * there already). */
static int create_endpoint(struct store *s, void *arg, struct err *e)
{
    const struct create *c = arg;
    int64_t last = 0;
    int rc = store_event_last_id(s, &last, e);
    if (rc == 0)
        rc = store_hook_endpoint_create(s, c->name, last, c->now, e);
    if (rc == ERR_CONFLICT) {
        err_clear(e);
        rc = 0;
    }
    return rc;
}

/* Read (or create) the endpoint's store row: cursor and disabled state. A
 * new endpoint starts at the newest event: it is sent what happens from now. */
static int ep_open(struct hook_deliver *d, struct ep *ep, int64_t now, struct err *e)
{
    struct arena *a = arena_new(0);
    struct hook_endpoint_row *r = NULL;
    int rc = store_hook_endpoint_get(d->st, ep->name, a, &r, e);
    if (rc == ERR_NOTFOUND) {
        err_clear(e);
        struct create c = {.name = ep->name, .now = now};
        rc = hook_record_run(d->rec, create_endpoint, &c, e);
        if (rc == 0)
            rc = store_hook_endpoint_get(d->st, ep->name, a, &r, e);
    }
    if (rc == 0) {
        ep->known = true;
        ep->cursor = ep->stored_cursor = r->last_event_id;
        ep->disabled = r->disabled;
        ep->disabled_at = r->disabled_at;
        mem_free(ep->disabled_reason);
        mem_free(ep->disabled_url);
        ep->disabled_reason = mem_strdup(r->disabled_reason);
        ep->disabled_url = mem_strdup(r->disabled_url);
        metrics_set(ep->m_off, ep->disabled);
    }
    arena_free(&a);
    return rc;
}

static void ep_set_disabled(struct hook_deliver *d, struct ep *ep, bool off, int64_t now,
                            const char *reason)
{
    ep->disabled = off;
    ep->disabled_at = off ? now : 0;
    mem_free(ep->disabled_reason);
    mem_free(ep->disabled_url);
    ep->disabled_reason = off ? mem_strdup(reason) : NULL;
    ep->disabled_url = off ? mem_strdup(ep->cfg->url) : NULL;
    ep->state_dirty = true;
    note_unflushed(d);
    metrics_set(ep->m_off, off);
    struct log_line l;
    log_begin(&l, off ? LOG_ERROR : LOG_INFO, off ? "webhook.disabled" : "webhook.enabled");
    log_str(&l, "endpoint", ep->name);
    log_str(&l, "url", ep->cfg->url);
    if (off)
        log_str(&l, "reason", reason);
    log_end(&l);
}

/* Rows of ep in the queue go: in-flight ones are kept, the rest freed. */
static void drain_one(struct hook_qnode *n, void *arg)
{
    struct hook_deliver *d = arg;
    struct row *r = (struct row *)n;
    r->queued = false;
    row_release(d, r);
}

/*
 * Forget ep's queue and load it again from the store, around the attempts
 * in flight. Call only with nothing of ep left to write (after a flush).
 */
static void ep_reset(struct hook_deliver *d, struct ep *ep)
{
    hook_queue_drain(&ep->q, drain_one, d);
    hook_queue_release(&ep->q);
    hook_queue_init(&ep->q, per_ticket(ep->cfg));
    for (size_t i = 0; i < d->nxs; i++) {
        struct row *r = d->xs[i]->r;
        if (r != NULL && r->ep == ep)
            row_enqueue(ep, r, true);
    }
    ep->partial = true;
    ep->load_event = 0;
    ep->load_part = 0;
}

/* Load the next page of ep's pending rows from the store. */
static int ep_load(struct hook_deliver *d, struct ep *ep, struct err *e)
{
    size_t room = QUEUE_ROWS_MAX > ep->q.nodes ? QUEUE_ROWS_MAX - ep->q.nodes : 0;
    if (room == 0)
        return 0;
    int limit = room < LOAD_PAGE ? (int)room : LOAD_PAGE;
    struct arena *a = arena_new(0);
    struct hook_delivery_row *rows = NULL;
    size_t n = 0;
    int rc = store_hook_delivery_pending(d->st, ep->name, ep->load_event, ep->load_part, limit,
                                         a, &rows, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct hook_delivery_row *dr = &rows[i];
        ep->load_event = dr->event_id;
        ep->load_part = dr->part;
        bool running = false;
        for (size_t k = 0; k < d->nxs && !running; k++) {
            const struct row *x = d->xs[k]->r;
            running = x != NULL && x->ep == ep && x->n.event_id == dr->event_id &&
                      x->n.part == dr->part;
        }
        if (running)
            continue;
        struct row *r = row_new(ep, dr->event_id, dr->part, dr->parts, dr->ticket_id, dr->type,
                                dr->occurred_at);
        r->attempts = dr->attempts;
        r->n.due = dr->next_attempt_at;
        r->max_payload = dr->max_payload;
        r->split = dr->oversize == NULL || strcmp(dr->oversize, "truncate") != 0;
        r->last_status = dr->last_status;
        r->last_error = mem_strdup(dr->last_error);
        r->created_at = dr->created_at;
        row_enqueue(ep, r, false);
    }
    if (rc == 0 && n < (size_t)limit)
        ep->partial = false;
    arena_free(&a);
    return rc;
}

/* ---- configuration ------------------------------------------------------------------- */

static void abort_xfer(struct hook_deliver *d, struct xfer *x);

/* Drop an endpoint that left the configuration (its rows stay stored). */
static void ep_drop(struct hook_deliver *d, size_t i)
{
    struct ep *ep = d->eps[i];
    for (size_t k = 0; k < d->nxs; k++)
        if (d->xs[k]->r != NULL && d->xs[k]->r->ep == ep)
            abort_xfer(d, d->xs[k]);
    hook_queue_drain(&ep->q, drain_one, d);
    hook_queue_release(&ep->q);
    metrics_set(ep->m_inflight, 0);
    metrics_set(ep->m_queued, 0);
    mem_free(ep->name);
    mem_free(ep->disabled_reason);
    mem_free(ep->disabled_url);
    mem_free(ep);
    d->eps[i] = d->eps[--d->neps];
}

static void flush(struct hook_deliver *d);

/* Take a configuration handed over by hook_deliver_set_cfg, if any. */
static void take_cfg(struct hook_deliver *d, int64_t now)
{
    pthread_mutex_lock(&d->mu);
    struct cfg *nc = d->next_cfg;
    d->next_cfg = NULL;
    pthread_mutex_unlock(&d->mu);
    if (nc == NULL)
        return;
    flush(d);   /* what a dropped endpoint's rows owe the store is on its way */
    for (size_t i = d->neps; i-- > 0;)
        if (cfg_webhook_find(nc, d->eps[i]->name) == NULL) {
            log_msg(LOG_INFO, "webhook.endpoint_removed", "endpoint '%s' is no longer "
                    "configured; its pending deliveries stay stored", d->eps[i]->name);
            ep_drop(d, i);
        }
    for (size_t i = 0; i < nc->nwebhooks; i++) {
        const struct cfg_webhook *w = &nc->webhooks[i];
        struct ep *ep = ep_find(d, w->name);
        if (ep == NULL) {
            ep_new(d, w);
            continue;
        }
        bool reorder = per_ticket(w) != ep->q.per_ticket;
        ep->cfg = w;
        if (reorder)
            ep_reset(d, ep);
        if (ep->disabled && ep->disabled_url != NULL && strcmp(ep->disabled_url, w->url) != 0)
            ep_set_disabled(d, ep, false, now, NULL);
    }
    struct cfg *old = d->cfg;
    d->cfg = nc;
    cfg_unref(&old);
}

/* ---- transfers ------------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    size_t k = RESPONSE_KEEP - x->resp_len;
    if (k > n)
        k = n;
    memcpy(x->resp + x->resp_len, p, k);
    x->resp_len += k;
    x->resp[x->resp_len] = '\0';
    return n;          /* read the rest too, so the connection can be reused */
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        size_t i = sizeof name - 1, end = n;
        while (i < end && (p[i] == ' ' || p[i] == '\t'))
            i++;
        while (end > i && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' '))
            end--;
        size_t len = end - i < sizeof x->retry_after - 1 ? end - i : sizeof x->retry_after - 1;
        memcpy(x->retry_after, p + i, len);
        x->retry_after[len] = '\0';
    }
    return n;
}

static struct xfer *xfer_get(struct hook_deliver *d)
{
    if (d->nidle > 0)
        return d->idle[--d->nidle];
    struct xfer *x = mem_alloc(sizeof *x);
    x->h = curl_easy_init();
    if (x->h == NULL) {
        mem_free(x);
        return NULL;
    }
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->h, CURLOPT_POST, 1L);
    d->xs = mem_realloc(d->xs, (d->nxs + 1) * sizeof(struct xfer *));
    d->xs[d->nxs++] = x;
    d->idle = mem_realloc(d->idle, d->nxs * sizeof(struct xfer *));
    return x;
}

/* Give the slot back; the row is the caller's business. */
static void xfer_put(struct hook_deliver *d, struct xfer *x)
{
    curl_multi_remove_handle(d->multi, x->h);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    struct row *r = x->r;
    x->r = NULL;
    if (r != NULL) {
        r->in_flight = false;
        r->ep->inflight--;
        metrics_set(r->ep->m_inflight, r->ep->inflight);
    }
    d->idle[d->nidle++] = x;
}

/* Stop a transfer without an outcome: its row stays pending, due now. */
static void abort_xfer(struct hook_deliver *d, struct xfer *x)
{
    struct row *r = x->r;
    xfer_put(d, x);
    if (r == NULL)
        return;
    if (r->queued)
        hook_queue_retry(&r->ep->q, &r->n, r->n.due);
    row_release(d, r);
}

/* The body of r: the cached one, or rebuilt from its event. 0, or an error
 * with *permanent telling a broken event from a store hiccup. */
static int body_of(struct hook_deliver *d, struct row *r, struct arena *a, const char **body,
                   size_t *len, bool *permanent, struct err *e)
{
    *permanent = false;
    if (r->body != NULL) {
        *body = r->body;
        *len = r->body_len;
        return 0;
    }
    struct event_row *ev = NULL;
    int rc = store_event_get(d->st, r->n.event_id, a, &ev, e);
    char **bodies = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = hook_payload_build(d->st, ev, r->max_payload, r->split, a, &bodies, &n, e);
    if (rc != 0) {
        *permanent = !transient(rc);
        return rc;
    }
    size_t k = (size_t)r->n.part <= n ? (size_t)r->n.part : n;
    if (n != (size_t)r->parts)
        log_msg(LOG_WARN, "webhook.parts_changed", "event %" PRId64 " now builds %zu parts, "
                "not %d (a message was edited); sending part %zu as part %d", r->n.event_id, n,
                r->parts, k, r->n.part);
    *body = bodies[k - 1];
    *len = strlen(*body);
    return 0;
}

/* A delivery that can never be built: straight to the dead-letter list. */
static void dead_unbuildable(struct hook_deliver *d, struct row *r, const char *why,
                             int64_t now)
{
    char msg[512];
    snprintf(msg, sizeof msg, "cannot build the body: %s", why);
    set_error(r, msg);
    r->last_status = 0;
    struct log_line l;
    log_begin(&l, LOG_ERROR, "webhook.dead");
    log_str(&l, "endpoint", r->ep->name);
    log_int(&l, "event_id", r->n.event_id);
    log_str(&l, "error", msg);
    log_end(&l);
    metrics_add(r->ep->m_dead, 1);
    bump(&d->pub.dead, 1);
    row_finish(d, r, R_DEAD, now);
}

static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, const char *v)
{
    char line[256];
    snprintf(line, sizeof line, fmt, v);
    struct curl_slist *n = curl_slist_append(l, line);
    if (n == NULL)
        curl_slist_free_all(l);
    return n;
}

/* Start an attempt of r (popped from its queue, so marked busy there). */
static void start(struct hook_deliver *d, struct ep *ep, struct row *r, int64_t now)
{
    struct err e = {0};
    struct arena *a = arena_new(0);
    const char *body = NULL;
    size_t len = 0;
    bool permanent = false;
    int rc = body_of(d, r, a, &body, &len, &permanent, &e);
    if (rc != 0) {
        if (permanent) {
            dead_unbuildable(d, r, e.msg, now);
        } else {
            log_msg(LOG_WARN, "webhook.store_read_failed", "%s", e.msg);
            hook_queue_retry(&ep->q, &r->n, now + RETRY_STORE_MS);
        }
        goto out;
    }
    char msgid[HOOK_PAYLOAD_MSGID_MAX], ts[24], sig[HOOK_SIGN_HEADER_MAX];
    hook_payload_msg_id(r->n.event_id, (size_t)r->n.part, (size_t)r->parts, msgid);
    snprintf(ts, sizeof ts, "%" PRId64, now / 1000);
    rc = hook_sign_header(ep->cfg->secret, ep->cfg->previous_secret, msgid, now / 1000, body,
                          len, sig, &e);
    if (rc != 0) {   /* cfg validated the secret: this is a bug, not a reason to drop */
        log_msg(LOG_ERROR, "webhook.sign_failed", "endpoint '%s': %s", ep->name, e.msg);
        hook_queue_retry(&ep->q, &r->n, now + 60000);
        goto out;
    }
    struct xfer *x = xfer_get(d);
    struct curl_slist *h = NULL;
    if (x == NULL ||
        (h = add_header(NULL, "Content-Type: %s", "application/json")) == NULL ||
        (h = add_header(h, "User-Agent: %s", "tgcrm-webhooks/1")) == NULL ||
        (h = add_header(h, "Expect:%s", "")) == NULL ||
        (h = add_header(h, "webhook-id: %s", msgid)) == NULL ||
        (h = add_header(h, "webhook-timestamp: %s", ts)) == NULL ||
        (h = add_header(h, "webhook-signature: %s", sig)) == NULL) {
        if (x != NULL)
            d->idle[d->nidle++] = x;
        log_msg(LOG_ERROR, "webhook.no_memory", "cannot set up a transfer");
        hook_queue_retry(&ep->q, &r->n, now + RETRY_STORE_MS);
        goto out;
    }
    /* The body must outlive the transfer: it is r's cache from here on. */
    if (r->body == NULL) {
        r->body = mem_strndup(body, len);
        r->body_len = len;
        d->body_bytes += len;
    }
    x->hdrs = h;
    x->r = r;
    x->started_at = now;
    x->deadline = now + ep->cfg->timeout_ms;
    x->mono0 = clock_mono_ns();
    x->resp_len = 0;
    x->resp[0] = '\0';
    x->retry_after[0] = '\0';
    x->errbuf[0] = '\0';
    bool manual = clock_is_manual(d->clk);
    curl_easy_setopt(x->h, CURLOPT_URL, ep->cfg->url);
    curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, h);
    /* On a manual clock the deadline is the clock's (expire()); the real
     * clock also lets curl enforce it, and bounds connecting. */
    curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, manual ? 0L : (long)ep->cfg->timeout_ms);
    curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS,
                     manual ? 0L : ep->cfg->timeout_ms < CONNECT_TIMEOUT_MS
                                   ? (long)ep->cfg->timeout_ms : CONNECT_TIMEOUT_MS);
    r->in_flight = true;
    ep->inflight++;
    metrics_set(ep->m_inflight, ep->inflight);
    if (curl_multi_add_handle(d->multi, x->h) != CURLM_OK) {
        log_msg(LOG_ERROR, "webhook.curl_failed", "cannot start a transfer");
        r->n.due = now + RETRY_STORE_MS;
        abort_xfer(d, x);
    }
out:
    arena_free(&a);
}

/* What an attempt that got `status` (0: none) and `error` means for r. */
static void finish(struct hook_deliver *d, struct xfer *x, long status, const char *error,
                   int64_t now)
{
    struct row *r = x->r;
    struct ep *ep = r->ep;
    int64_t latency = (clock_mono_ns() - x->mono0) / 1000000;
    enum hook_outcome o = error != NULL ? HOOK_RETRY : hook_dispatch_classify(status);
    const char *outcome = "succeeded";
    char why[256] = "";
    r->last_status = (int)status;
    bump(&d->pub.attempts, 1);

    if (o == HOOK_SUCCEEDED) {
        r->attempts++;
        set_error(r, NULL);
        metrics_add(ep->m_sent, 1);
        metrics_observe(ep->m_latency, now - r->occurred_at);
        bump(&d->pub.sent, 1);
    } else if (o == HOOK_DISABLE) {
        outcome = "disabled";
        snprintf(why, sizeof why, "410 Gone from %s", ep->cfg->url);
        set_error(r, why);
        metrics_add(ep->m_disabled, 1);
        bump(&d->pub.disabled, 1);
        if (!ep->disabled)
            ep_set_disabled(d, ep, true, now, why);
    } else {
        if (error == NULL)
            snprintf(why, sizeof why, "HTTP %ld", status);
        set_error(r, error != NULL ? error : why);
        r->attempts++;
        int64_t ra = status == 429 || status == 503
                   ? hook_dispatch_retry_after(x->retry_after[0] ? x->retry_after : NULL, now)
                   : -1;
        int64_t next = hook_dispatch_next_attempt(ep->cfg, r->attempts, now, ra);
        outcome = next < 0 ? "dead" : "retry";
        struct log_line l;
        log_begin(&l, next < 0 ? LOG_ERROR : LOG_WARN,
                  next < 0 ? "webhook.dead" : "webhook.retry");
        log_str(&l, "endpoint", ep->name);
        log_int(&l, "event_id", r->n.event_id);
        log_int(&l, "attempts", r->attempts);
        log_str(&l, "error", r->last_error);
        if (next >= 0)
            log_int(&l, "retry_in_ms", next - now);
        log_end(&l);
        if (next < 0) {
            metrics_add(ep->m_dead, 1);
            bump(&d->pub.dead, 1);
        } else {
            r->n.due = next;
            metrics_add(ep->m_retried, 1);
            bump(&d->pub.retried, 1);
        }
    }
    record_attempt(d, r, x->started_at, (int)status, outcome, error, x->resp, x->resp_len,
                   latency);
    xfer_put(d, x);
    if (o == HOOK_SUCCEEDED)
        row_finish(d, r, R_SUCCEEDED, now);
    else if (strcmp(outcome, "dead") == 0)
        row_finish(d, r, R_DEAD, now);
    else {
        drop_body(d, r);   /* retries may be hours away: rebuild then */
        if (o == HOOK_DISABLE)
            r->n.due = now;   /* first in line once the endpoint is enabled again */
        hook_queue_retry(&ep->q, &r->n, r->n.due);
        mark_dirty(d, r);
    }
    row_release(d, r);
}

/* Finished transfers, as curl reports them. */
static void collect(struct hook_deliver *d, int64_t now)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x == NULL || x->r == NULL)
            continue;
        CURLcode cc = m->data.result;
        long status = 0;
        char error[CURL_ERROR_SIZE + 64];
        if (cc == CURLE_OK) {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            finish(d, x, status, NULL, now);
            continue;
        }
        if (cc == CURLE_OPERATION_TIMEDOUT)
            snprintf(error, sizeof error, "timeout after %" PRId64 " ms",
                     x->r->ep->cfg->timeout_ms);
        else
            snprintf(error, sizeof error, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
        finish(d, x, 0, error, now);
    }
}

/* Attempts past their deadline on the dispatcher's clock fail as timeouts. */
static void expire(struct hook_deliver *d, int64_t now)
{
    for (size_t i = 0; i < d->nxs; i++) {
        struct xfer *x = d->xs[i];
        if (x->r == NULL || x->deadline > now)
            continue;
        char error[64];
        snprintf(error, sizeof error, "timeout after %" PRId64 " ms", x->r->ep->cfg->timeout_ms);
        finish(d, x, 0, error, now);
    }
}

/* Start every due delivery that concurrency and ordering allow. */
static void start_due(struct hook_deliver *d, int64_t now)
{
    for (size_t i = 0; i < d->neps; i++) {
        struct ep *ep = d->eps[i];
        if (!ep->known || ep->disabled)
            continue;
        while (ep->inflight < ep->cfg->concurrency && !atomic_load(&d->stop)) {
            struct hook_qnode *n = hook_queue_pop(&ep->q, now);
            if (n == NULL)
                break;
            start(d, ep, (struct row *)n, now);
        }
        metrics_set(ep->m_queued, (int64_t)ep->q.nodes);
    }
}

/* ---- fan-out -------------------------------------------------------------------------- */

/* Does ep take new events now? Not while its store has unloaded rows, its
 * queue is full, or enough of its deliveries are due and waiting. */
static bool wants_events(const struct ep *ep, int64_t now)
{
    size_t low = 2 * (size_t)ep->cfg->concurrency;
    return ep->known && !ep->partial && ep->q.nodes < QUEUE_ROWS_MAX &&
           hook_queue_count_due(&ep->q, now, low) < low;
}

/* The bodies of one event for one (max_payload, split) pair. */
struct built {
    int64_t max_payload;
    bool split;
    int rc;
    char **bodies;
    size_t n;
    struct err err;             /* why the build failed */
};

/* Create ep's rows for event ev. Returns 0, or a transient store error
 * (then nothing was created and ep's cursor stays before ev). */
static int fan_one(struct hook_deliver *d, struct ep *ep, const struct event_row *ev,
                   struct built *cache, size_t *ncache, int64_t now)
{
    const struct cfg_webhook *w = ep->cfg;
    bool split = w->oversize == NULL || strcmp(w->oversize, "truncate") != 0;
    struct built *b = NULL;
    for (size_t i = 0; i < *ncache && b == NULL; i++)
        if (cache[i].max_payload == w->max_payload && cache[i].split == split)
            b = &cache[i];
    if (b == NULL) {
        b = &cache[(*ncache)++];
        *b = (struct built){.max_payload = w->max_payload, .split = split};
        b->rc = hook_payload_build(d->st, ev, w->max_payload, split, d->fa, &b->bodies, &b->n,
                                   &b->err);
    }
    if (b->rc != 0 && transient(b->rc)) {
        log_msg(LOG_WARN, "webhook.store_read_failed", "event %" PRId64 ": %s", ev->id,
                b->err.msg);
        return b->rc;
    }
    size_t parts = b->rc == 0 ? b->n : 1;
    for (size_t k = 0; k < parts; k++) {
        struct row *r = row_new(ep, ev->id, (int)k + 1, (int)parts, ev->ticket_id, ev->type,
                                ev->occurred_at);
        r->max_payload = w->max_payload;
        r->split = split;
        r->created_at = now;
        r->n.due = now;
        row_enqueue(ep, r, false);
        mark_dirty(d, r);
        if (b->rc != 0)
            dead_unbuildable(d, r, b->err.msg, now);
        else
            cache_body(d, r, b->bodies[k]);
    }
    bump(&d->pub.fanned_out, (int64_t)parts);
    return 0;
}

/* Fan out a page of events, or as much of it as FANOUT_BUDGET_NS allows,
 * so a burst never delays the first deliveries by a whole page of bodies.
 * True when more events may be waiting. */
static bool fan_out(struct hook_deliver *d, int64_t now)
{
    if (hook_record_pending(d->rec) >= RECORD_BACKLOG_MAX)
        return false;   /* the store is behind: new events wait in it */
    int64_t from = INT64_MAX;
    for (size_t i = 0; i < d->neps; i++) {
        struct ep *ep = d->eps[i];
        ep->want = wants_events(ep, now);
        if (ep->want && ep->cursor < from)
            from = ep->cursor;
    }
    if (from == INT64_MAX)
        return false;
    arena_reset(d->fa);
    struct err e = {0};
    struct event_row *evs = NULL;
    size_t n = 0;
    if (store_event_list(d->st, from, FANOUT_PAGE, d->fa, &evs, &n, &e) != 0) {
        log_msg(LOG_WARN, "webhook.store_read_failed", "%s", e.msg);
        return false;
    }
    struct built *cache = mem_alloc(d->neps * sizeof *cache);
    int64_t t0 = clock_mono_ns();
    bool more = n == FANOUT_PAGE;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && clock_mono_ns() - t0 > FANOUT_BUDGET_NS) {
            more = true;   /* send what is built; the rest next round */
            break;
        }
        const struct event_row *ev = &evs[k];
        size_t ncache = 0;
        for (size_t i = 0; i < d->neps; i++) {
            struct ep *ep = d->eps[i];
            if (!ep->want || ev->id <= ep->cursor)
                continue;
            if (hook_dispatch_wants(ep->cfg, ev->type) &&
                fan_one(d, ep, ev, cache, &ncache, now) != 0) {
                ep->want = false;   /* try this event again next round */
                continue;
            }
            ep->cursor = ev->id;
            note_unflushed(d);
        }
    }
    mem_free(cache);
    return more;
}

/* ---- writing to the store --------------------------------------------------------------- */

static void row_record(const struct row *r, struct hook_delivery_row *out)
{
    *out = (struct hook_delivery_row){
        .endpoint = r->ep->name, .event_id = r->n.event_id, .part = r->n.part,
        .parts = r->parts, .ticket_id = r->ticket_id, .type = r->type,
        .occurred_at = r->occurred_at, .state = rstate_name[r->state],
        .attempts = r->attempts, .next_attempt_at = r->n.due, .max_payload = r->max_payload,
        .oversize = r->split ? "split" : "truncate", .last_status = r->last_status,
        .last_error = r->last_error, .created_at = r->created_at,
        .finished_at = r->finished_at,
    };
}

static void free_attempts(struct hook_deliver *d)
{
    for (size_t i = 0; i < d->natts; i++) {
        mem_free(d->atts[i].error);
        mem_free(d->atts[i].response);
    }
    d->natts = 0;
}

/*
 * Hand everything the store has not seen to the writer, as one batch:
 * cursor claims and endpoint states first, then each changed delivery
 * (with its attempts), so the claim of an event travels with its rows.
 */
static void flush(struct hook_deliver *d)
{
    if (!d->unflushed)
        return;
    for (size_t i = 0; i < d->neps; i++) {
        struct ep *ep = d->eps[i];
        if (ep->cursor != ep->stored_cursor) {
            hook_record_claim(d->rec, ep->name, ep->stored_cursor, ep->cursor);
            ep->stored_cursor = ep->cursor;
        }
        if (ep->state_dirty) {
            hook_record_endpoint(d->rec, ep->name, ep->disabled, ep->disabled_at,
                                 ep->disabled_reason, ep->disabled_url);
            ep->state_dirty = false;
        }
    }
    for (struct row *r = d->writes; r != NULL; r = r->wnext) {
        struct hook_delivery_row dr;
        row_record(r, &dr);
        r->ref = hook_record_delivery(d->rec, &dr);
    }
    for (size_t i = 0; i < d->natts; i++) {
        const struct attempt *at = &d->atts[i];
        struct hook_attempt_row ar = {
            .at = at->at, .status = at->status, .outcome = at->outcome, .error = at->error,
            .latency_ms = at->latency_ms, .response = at->response,
        };
        hook_record_attempt(d->rec, at->r->ref, &ar);
    }
    hook_record_submit(d->rec);
    free_attempts(d);
    for (struct row *r = d->writes, *next; r != NULL; r = next) {
        next = r->wnext;
        r->wnext = NULL;
        r->dirty = false;
        row_release(d, r);
    }
    d->writes = d->writes_tail = NULL;
    d->unflushed = false;
    d->flushed_at = mono_ms();
}

/* flush once FLUSH_MS have passed since the last batch. */
static void maybe_flush(struct hook_deliver *d)
{
    if (d->unflushed && mono_ms() - d->flushed_at >= FLUSH_MS)
        flush(d);
}

/* An endpoint whose events another dispatcher claimed: stop serving it. */
static void drop_fenced(struct hook_deliver *d)
{
    for (size_t i = d->neps; i-- > 0;)
        if (hook_record_fenced(d->rec, d->eps[i]->name))
            ep_drop(d, i);
}

/* ---- commands ----------------------------------------------------------------------------- */

static int do_replay(struct store *s, void *arg, struct err *e)
{
    struct cmd *c = arg;
    return store_hook_replay(s, c->id, c->now, e);
}

static int do_replay_dead(struct store *s, void *arg, struct err *e)
{
    struct cmd *c = arg;
    return store_hook_replay_dead(s, c->endpoint, c->now, &c->count, e);
}

/* Nothing: hook_record_run of it waits until every batch is written. */
static int do_sync(struct store *s, void *arg, struct err *e)
{
    (void)s;
    (void)arg;
    (void)e;
    return 0;
}

static struct ep *configured(struct hook_deliver *d, const char *name, struct err *e)
{
    struct ep *ep = name != NULL ? ep_find(d, name) : NULL;
    if (ep == NULL)
        err_set(e, ERR_NOTFOUND, "webhook endpoint '%s' is not configured", name ? name : "");
    else if (!ep->known)
        err_set(e, ERR_BUSY, "webhook endpoint '%s' is not loaded yet: try again", name);
    return ep != NULL && ep->known ? ep : NULL;
}

static void run_command(struct hook_deliver *d, struct cmd *c)
{
    struct ep *ep = NULL;
    flush(d);
    if (c->type == CMD_REPLAY) {
        struct arena *a = arena_new(0);
        struct hook_delivery_row *dr = NULL;
        c->rc = hook_record_run(d->rec, do_sync, NULL, &c->err);
        if (c->rc == 0)
            c->rc = store_hook_delivery_get(d->st, c->id, a, &dr, &c->err);
        if (c->rc == 0 && (ep = configured(d, dr->endpoint, &c->err)) == NULL)
            c->rc = c->err.code;
        arena_free(&a);
        if (c->rc == 0)
            c->rc = hook_record_run(d->rec, do_replay, c, &c->err);
        if (c->rc == 0)
            ep_reset(d, ep);
        return;
    }
    if ((ep = configured(d, c->endpoint, &c->err)) == NULL) {
        c->rc = c->err.code;
        return;
    }
    switch (c->type) {
    case CMD_REPLAY_DEAD:
        c->rc = hook_record_run(d->rec, do_replay_dead, c, &c->err);
        if (c->rc == 0 && c->count > 0)
            ep_reset(d, ep);
        break;
    case CMD_ENABLE:
    case CMD_DISABLE:
        if (ep->disabled != (c->type == CMD_DISABLE))
            ep_set_disabled(d, ep, c->type == CMD_DISABLE, c->now,
                            c->reason != NULL ? c->reason : "disabled through the API");
        flush(d);
        c->rc = hook_record_run(d->rec, do_sync, NULL, &c->err);
        break;
    case CMD_REPLAY:
        break;
    }
}

static void run_commands(struct hook_deliver *d, int64_t now)
{
    for (;;) {
        pthread_mutex_lock(&d->mu);
        struct cmd *c = d->cmds;
        if (c != NULL) {
            d->cmds = c->next;
            if (d->cmds == NULL)
                d->cmds_tail = NULL;
        }
        pthread_mutex_unlock(&d->mu);
        if (c == NULL)
            return;
        c->now = now;
        run_command(d, c);
        pthread_mutex_lock(&d->mu);
        c->done = true;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}

/* Queue c for the thread and wait for it. */
static int submit(struct hook_deliver *d, struct cmd *c, struct err *e)
{
    pthread_mutex_lock(&d->mu);
    if (!d->started || atomic_load(&d->stop)) {
        pthread_mutex_unlock(&d->mu);
        return err_set(e, ERR_BUSY, "the webhook dispatcher is not running");
    }
    if (d->cmds_tail != NULL)
        d->cmds_tail->next = c;
    else
        d->cmds = c;
    d->cmds_tail = c;
    curl_multi_wakeup(d->multi);
    while (!c->done)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    if (c->rc != 0 && e != NULL)
        *e = c->err;
    return c->rc;
}

int hook_deliver_replay(struct hook_deliver *d, int64_t delivery_id, struct err *e)
{
    struct cmd c = {.type = CMD_REPLAY, .id = delivery_id};
    return submit(d, &c, e);
}

int hook_deliver_replay_dead(struct hook_deliver *d, const char *endpoint, int64_t *count,
                             struct err *e)
{
    struct cmd c = {.type = CMD_REPLAY_DEAD, .endpoint = endpoint};
    int rc = submit(d, &c, e);
    *count = rc == 0 ? c.count : 0;
    return rc;
}

int hook_deliver_enable(struct hook_deliver *d, const char *endpoint, struct err *e)
{
    struct cmd c = {.type = CMD_ENABLE, .endpoint = endpoint};
    return submit(d, &c, e);
}

int hook_deliver_disable(struct hook_deliver *d, const char *endpoint, const char *reason,
                         struct err *e)
{
    struct cmd c = {.type = CMD_DISABLE, .endpoint = endpoint, .reason = reason};
    return submit(d, &c, e);
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* Should ep's next page be loaded now? Only with nothing left to write:
 * the store must not hand back a row whose newer state is still here. */
static bool loadable(struct hook_deliver *d, const struct ep *ep)
{
    return ep->known && ep->partial && ep->q.nodes < QUEUE_ROWS_MAX / 2 && !d->unflushed &&
           mono_ms() >= ep->hold_until && hook_record_pending(d->rec) == 0;
}

/* Open endpoints not read yet and load the next page of partial ones. */
static void prepare_endpoints(struct hook_deliver *d, int64_t now)
{
    for (size_t i = 0; i < d->neps; i++) {
        struct ep *ep = d->eps[i];
        struct err e = {0};
        if (mono_ms() < ep->hold_until)
            continue;
        int rc = 0;
        if (!ep->known)
            rc = ep_open(d, ep, now, &e);
        if (rc == 0 && ep->partial)
            flush(d);   /* the writer wakes us when it has caught up */
        if (rc == 0 && loadable(d, ep))
            rc = ep_load(d, ep, &e);
        if (rc != 0) {
            log_msg(LOG_WARN, "webhook.store_read_failed", "endpoint '%s': %s", ep->name, e.msg);
            ep->hold_until = mono_ms() + RETRY_STORE_MS;
        }
    }
}

/* ---- retention -------------------------------------------------------------------------- */

struct prune {
    const char *endpoint, *state;
    int64_t before, deleted;
};

static int do_prune(struct store *s, void *arg, struct err *e)
{
    struct prune *p = arg;
    return store_hook_prune(s, p->endpoint, p->state, p->before, PRUNE_BATCH, &p->deleted, e);
}

/*
 * Forget deliveries older than the endpoint's keep_succeeded / keep_dead:
 * a pass starts once per PRUNE_EVERY_MS and deletes one batch per state per
 * round, so a large backlog is worked off between rounds of sending rather
 * than in one long transaction.
 */
static void prune(struct hook_deliver *d, int64_t now)
{
    for (size_t i = 0; i < d->neps; i++) {
        struct ep *ep = d->eps[i];
        if (!ep->known || (!ep->prune_more && now - ep->pruned_at < PRUNE_EVERY_MS))
            continue;
        if (!ep->prune_more)
            ep->pruned_at = now;
        ep->prune_more = false;
        const struct { const char *state; int64_t keep; } kinds[] = {
            {"succeeded", ep->cfg->keep_succeeded_ms}, {"dead", ep->cfg->keep_dead_ms}};
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            if (kinds[k].keep <= 0)
                continue;
            struct prune p = {ep->name, kinds[k].state, now - kinds[k].keep, 0};
            struct err e = {0};
            if (hook_record_run(d->rec, do_prune, &p, &e) != 0) {
                log_msg(LOG_WARN, "webhook.prune_failed", "endpoint '%s': %s", ep->name, e.msg);
                continue;
            }
            if (p.deleted > 0)
                log_msg(LOG_INFO, "webhook.pruned", "endpoint '%s': %lld %s deliveries older "
                        "than the retention forgotten", ep->name, (long long)p.deleted,
                        kinds[k].state);
            if (p.deleted == PRUNE_BATCH)
                ep->prune_more = true;
        }
    }
}

/* How long to sleep: until the next due delivery or deadline (real clock
 * only: a manual clock moves by hook_deliver_kick), the next batch for the
 * writer, or IDLE_WAIT_MS. */
static int wait_ms(struct hook_deliver *d)
{
    int64_t now = clock_now_ms(d->clk);
    int64_t t = IDLE_WAIT_MS;
    if (!clock_is_manual(d->clk)) {
        for (size_t i = 0; i < d->neps; i++) {
            const struct ep *ep = d->eps[i];
            if (!ep->known || ep->disabled || ep->inflight >= ep->cfg->concurrency)
                continue;
            int64_t due = hook_queue_next_due(&ep->q);
            if (due != INT64_MAX && due - now < t)
                t = due - now;
        }
        for (size_t i = 0; i < d->nxs; i++)
            if (d->xs[i]->r != NULL && d->xs[i]->deadline - now < t)
                t = d->xs[i]->deadline - now;
    }
    for (size_t i = 0; i < d->neps; i++)
        if (loadable(d, d->eps[i]) || d->eps[i]->prune_more)
            t = 0;   /* keep loading, keep pruning */
    if (d->unflushed) {
        int64_t left = d->flushed_at + FLUSH_MS - mono_ms();
        if (left < t)
            t = left;
    }
    return t < 0 ? 0 : (int)t;
}

/* Publish whether the loop is about to sleep, having done all it could at
 * clock `now`, with how far every endpoint has fanned out and what is in
 * flight (see hook_deliver_idle). */
static void set_rest(struct hook_deliver *d, bool resting, int64_t now)
{
    int64_t cursor = INT64_MAX, next = INT64_MAX;
    int inflight = 0;
    for (size_t i = 0; resting && i < d->neps; i++) {
        const struct ep *ep = d->eps[i];
        inflight += ep->inflight;
        if (ep->disabled)
            continue;
        if (!ep->known || ep->partial)
            cursor = -1;   /* rows still in the store only: not settled */
        else if (ep->cursor < cursor)
            cursor = ep->cursor;
        int64_t due = hook_queue_next_due(&ep->q);
        if (due < next)
            next = due;
    }
    for (size_t i = 0; resting && i < d->nxs; i++)
        if (d->xs[i]->r != NULL && d->xs[i]->deadline < next)
            next = d->xs[i]->deadline;     /* an attempt times out on the clock */
    pthread_mutex_lock(&d->mu);
    d->resting = resting;
    d->rest_now = now;
    d->rest_cursor = cursor;
    d->rest_inflight = inflight;
    d->rest_next = next;
    pthread_mutex_unlock(&d->mu);
}

static void *deliver_main(void *arg)
{
    struct hook_deliver *d = arg;
    prctl(PR_SET_NAME, "tgcrm-hooks", 0, 0, 0);   /* for top -H and perf */
    while (!atomic_load(&d->stop)) {
        int64_t now = clock_now_ms(d->clk);
        int running = 0;
        set_rest(d, false, now);
        take_cfg(d, now);
        run_commands(d, now);
        drop_fenced(d);
        prepare_endpoints(d, now);
        curl_multi_perform(d->multi, &running);
        collect(d, now);
        expire(d, now);
        bool more = fan_out(d, now);
        start_due(d, now);
        curl_multi_perform(d->multi, &running);
        maybe_flush(d);
        prune(d, now);
        /* A transfer that finished in that perform only left a message:
         * no socket would wake the poll for it, so go round again. */
        bool finished = (size_t)running < d->nxs - d->nidle;
        if (!more && !finished && !atomic_load(&d->stop)) {
            set_rest(d, true, now);
            curl_multi_poll(d->multi, NULL, 0, wait_ms(d), NULL);
        }
    }
    /* Abandon what is in flight (it stays pending) and hand over what is
     * known; hook_deliver_free lets the writer finish. */
    for (size_t i = 0; i < d->nxs; i++)
        if (d->xs[i]->r != NULL)
            abort_xfer(d, d->xs[i]);
    flush(d);
    run_commands(d, clock_now_ms(d->clk));   /* answer any waiter */
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int hook_deliver_new(struct cfg *c, struct clock *clk, struct hook_deliver **out,
                     struct err *e)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return err_set(e, ERR_IO, "curl_global_init failed: %s",
                       curl_easy_strerror(curl_init_rc));
    struct hook_deliver *d = mem_alloc(sizeof *d);
    /* The writer's commits need not wait for the disk: a crash only means
     * sending again what was not recorded, with the same webhook-id. */
    struct cfg_store sc = c->store;
    char normal[] = "normal";
    sc.synchronous = normal;
    int rc = 0;
    d->multi = curl_multi_init();
    if (d->multi == NULL) {
        rc = err_set(e, ERR_NOMEM, "curl multi handle allocation failed");
        goto out_free;
    }
    rc = store_open(&c->store, STORE_RO, &d->st, e);
    if (rc != 0)
        goto out_multi;
    /* the writer wakes the dispatcher after each write: loads wait for it */
    rc = hook_record_new(&sc, hook_deliver_on_commit, d, &d->rec, e);
    if (rc != 0)
        goto out_store;
    d->clk = clk;
    d->cfg = cfg_ref(c);
    d->fa = arena_new(0);
    atomic_init(&d->stop, false);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    /* Record the endpoints now, not in the thread's first round: an event
     * committed in between must not count as "before" a new endpoint. */
    for (size_t i = 0; i < c->nwebhooks && rc == 0; i++)
        rc = ep_open(d, ep_new(d, &c->webhooks[i]), clock_now_ms(clk), e);
    if (rc != 0) {
        hook_deliver_free(&d);
        return rc;
    }
    *out = d;
    return 0;

out_store:
    store_close(&d->st);
out_multi:
    curl_multi_cleanup(d->multi);
out_free:
    mem_free(d);
    return rc;
}

int hook_deliver_start(struct hook_deliver *d, struct err *e)
{
    pthread_mutex_lock(&d->mu);
    if (d->started) {
        pthread_mutex_unlock(&d->mu);
        return err_set(e, ERR_CONFLICT, "webhook dispatcher already started");
    }
    int rc = pthread_create(&d->th, NULL, deliver_main, d);
    if (rc == 0)
        d->started = true;
    pthread_mutex_unlock(&d->mu);
    if (rc != 0)
        return err_set(e, ERR_INTERNAL, "cannot start the webhook dispatcher thread");
    return 0;
}

void hook_deliver_kick(struct hook_deliver *d)
{
    curl_multi_wakeup(d->multi);
}

void hook_deliver_on_commit(void *d)
{
    hook_deliver_kick(d);
}

void hook_deliver_set_cfg(struct hook_deliver *d, struct cfg *c)
{
    struct cfg *nc = cfg_ref(c);
    pthread_mutex_lock(&d->mu);
    struct cfg *old = d->next_cfg;
    d->next_cfg = nc;
    pthread_mutex_unlock(&d->mu);
    cfg_unref(&old);
    hook_deliver_kick(d);
}

bool hook_deliver_idle(struct hook_deliver *d, int64_t last_event_id, int64_t now,
                       int *in_flight, int64_t *next)
{
    pthread_mutex_lock(&d->mu);
    bool idle = d->resting && d->rest_now == now && d->rest_cursor >= last_event_id;
    *in_flight = d->rest_inflight;
    *next = d->rest_next;
    pthread_mutex_unlock(&d->mu);
    return idle;
}

void hook_deliver_get_stats(struct hook_deliver *d, struct hook_deliver_stats *out)
{
    *out = (struct hook_deliver_stats){
        .attempts = atomic_load(&d->pub.attempts), .sent = atomic_load(&d->pub.sent),
        .retried = atomic_load(&d->pub.retried), .dead = atomic_load(&d->pub.dead),
        .disabled = atomic_load(&d->pub.disabled),
        .fanned_out = atomic_load(&d->pub.fanned_out),
    };
}

void hook_deliver_stop(struct hook_deliver *d)
{
    pthread_mutex_lock(&d->mu);
    bool started = d->started;
    atomic_store(&d->stop, true);
    pthread_mutex_unlock(&d->mu);
    curl_multi_wakeup(d->multi);
    if (started) {
        pthread_join(d->th, NULL);
        pthread_mutex_lock(&d->mu);
        d->started = false;
        pthread_mutex_unlock(&d->mu);
    }
}

void hook_deliver_free(struct hook_deliver **dp)
{
    struct hook_deliver *d = *dp;
    if (d == NULL)
        return;
    hook_deliver_stop(d);
    hook_record_free(&d->rec);   /* writes what the thread handed over */
    for (size_t i = 0; i < d->nxs; i++)
        if (d->xs[i]->r != NULL)
            abort_xfer(d, d->xs[i]);
    while (d->neps > 0)
        ep_drop(d, d->neps - 1);
    for (struct row *r = d->writes, *next; r != NULL; r = next) {
        next = r->wnext;
        r->dirty = false;
        row_release(d, r);
    }
    free_attempts(d);
    mem_free(d->atts);
    for (size_t i = 0; i < d->nxs; i++) {
        curl_easy_cleanup(d->xs[i]->h);
        mem_free(d->xs[i]);
    }
    mem_free(d->xs);
    mem_free(d->idle);
    mem_free(d->eps);
    curl_multi_cleanup(d->multi);
    store_close(&d->st);
    arena_free(&d->fa);
    cfg_unref(&d->cfg);
    cfg_unref(&d->next_cfg);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    mem_free(d);
    *dp = NULL;
}
