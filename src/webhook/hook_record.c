/*
 * hook_record.c — the dispatcher's writer thread (see hook_record.h).
 *
 * Batches form a FIFO under `mu`. The thread takes every batch waiting (up
 * to a run request, which must see its predecessors written) and writes
 * them in one transaction: when the store is slow, batches pile up and are
 * written together, so the number of transactions adapts to what the store
 * can take. A failed transaction is retried with back-off, in the same
 * order; nothing is dropped while the process runs.
 */
#include "webhook/hook_record.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

#define MERGE_MAX 256               /* batches written in one transaction */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 5000
#define STOP_GIVE_UP_MS 5000        /* at shutdown: how long a failing store is tried */
#define RUN_TRIES 3                 /* a run that meets a busy store (each waits
                                       the store's busy timeout) */

enum op_type { OP_CLAIM, OP_ENDPOINT, OP_DELIVERY, OP_ATTEMPT };

struct op {
    enum op_type type;
    const char *endpoint;           /* in the batch arena */
    int64_t from, to;               /* OP_CLAIM */
    bool disabled;                  /* OP_ENDPOINT ... */
    int64_t at;
    const char *reason, *url;
    struct hook_delivery_row d;     /* OP_DELIVERY; d.id is set once written */
    size_t ref;                     /* OP_ATTEMPT: index of its OP_DELIVERY */
    struct hook_attempt_row a;      /* OP_ATTEMPT */
};

struct run {
    int (*fn)(struct store *s, void *arg, struct err *e);
    void *arg;
    int rc;
    struct err err;
    bool done;
};

struct batch {
    struct op *ops;                 /* owned */
    size_t n, cap;
    struct arena *a;                /* owned: the ops' strings */
    struct run *run;                /* borrowed from a waiting caller, or NULL */
    struct batch *next;
};

struct hook_record {
    struct store *st;               /* owned: the writer's connection */
    void (*written)(void *arg);
    void *arg;
    pthread_t th;
    pthread_mutex_t mu;             /* guards everything below but `open` */
    pthread_cond_t work;            /* a batch arrived, or stop */
    pthread_cond_t done;            /* batches were written */
    struct batch *head, *tail;
    _Atomic size_t pending;         /* changed under mu, read without it */
    bool stop;
    char **fenced;                  /* owned names */
    size_t nfenced;
    struct batch *open;             /* the dispatcher's batch being filled */
};

/* ---- batches (dispatcher side) ------------------------------------------------- */

static void batch_free(struct batch *b)
{
    if (b == NULL)
        return;
    arena_free(&b->a);
    mem_free(b->ops);
    mem_free(b);
}

static struct op *add(struct hook_record *w, enum op_type type, const char *endpoint)
{
    struct batch *b = w->open;
    if (b == NULL) {
        b = w->open = mem_alloc(sizeof *b);
        b->a = arena_new(0);
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->ops = mem_realloc(b->ops, b->cap * sizeof *b->ops);
    }
    struct op *o = &b->ops[b->n++];
    memset(o, 0, sizeof *o);
    o->type = type;
    o->endpoint = arena_strdup(b->a, endpoint);
    return o;
}

static const char *keep(struct hook_record *w, const char *s)
{
    return arena_strdup(w->open->a, s);
}

void hook_record_claim(struct hook_record *w, const char *endpoint, int64_t from, int64_t to)
{
    struct op *o = add(w, OP_CLAIM, endpoint);
    o->from = from;
    o->to = to;
}

void hook_record_endpoint(struct hook_record *w, const char *endpoint, bool disabled,
                          int64_t at, const char *reason, const char *url)
{
    struct op *o = add(w, OP_ENDPOINT, endpoint);
    o->disabled = disabled;
    o->at = at;
    o->reason = keep(w, reason);
    o->url = keep(w, url);
}

size_t hook_record_delivery(struct hook_record *w, const struct hook_delivery_row *d)
{
    struct op *o = add(w, OP_DELIVERY, d->endpoint);
    o->d = *d;
    o->d.id = 0;
    o->d.endpoint = o->endpoint;
    o->d.type = keep(w, d->type);
    o->d.state = keep(w, d->state);
    o->d.oversize = keep(w, d->oversize);
    o->d.last_error = keep(w, d->last_error);
    return w->open->n - 1;
}

void hook_record_attempt(struct hook_record *w, size_t ref, const struct hook_attempt_row *a)
{
    const char *endpoint = w->open->ops[ref].endpoint;
    struct op *o = add(w, OP_ATTEMPT, endpoint);
    o->ref = ref;
    o->a = *a;
    o->a.outcome = keep(w, a->outcome);
    o->a.error = keep(w, a->error);
    o->a.response = keep(w, a->response);
}

/* Queue b (may be NULL when only a run is queued). */
static void enqueue(struct hook_record *w, struct batch *b)
{
    pthread_mutex_lock(&w->mu);
    if (w->tail != NULL)
        w->tail->next = b;
    else
        w->head = b;
    w->tail = b;
    w->pending++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

void hook_record_submit(struct hook_record *w)
{
    struct batch *b = w->open;
    if (b == NULL || b->n == 0)
        return;
    w->open = NULL;
    enqueue(w, b);
}

size_t hook_record_pending(struct hook_record *w)
{
    return atomic_load(&w->pending);
}

int hook_record_run(struct hook_record *w, int (*fn)(struct store *s, void *arg, struct err *e),
                    void *arg, struct err *e)
{
    hook_record_submit(w);
    struct run r = {.fn = fn, .arg = arg};
    struct batch *b = mem_alloc(sizeof *b);
    b->a = arena_new(0);
    b->run = &r;
    enqueue(w, b);
    pthread_mutex_lock(&w->mu);
    while (!r.done)
        pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (r.rc != 0 && e != NULL)
        *e = r.err;
    return r.rc;
}

bool hook_record_fenced(struct hook_record *w, const char *endpoint)
{
    bool f = false;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->nfenced && !f; i++)
        f = strcmp(w->fenced[i], endpoint) == 0;
    pthread_mutex_unlock(&w->mu);
    return f;
}

/* ---- writing (writer thread) -------------------------------------------------------- */

static void fence(struct hook_record *w, const char *endpoint, const char *why)
{
    if (hook_record_fenced(w, endpoint))
        return;
    log_msg(LOG_ERROR, "webhook.endpoint_fenced", "%s: another dispatcher serves endpoint "
            "'%s' on this database; this process stops serving it", why, endpoint);
    pthread_mutex_lock(&w->mu);
    w->fenced = mem_realloc(w->fenced, (w->nfenced + 1) * sizeof(char *));
    w->fenced[w->nfenced++] = mem_strdup(endpoint);
    pthread_mutex_unlock(&w->mu);
}

/* One operation. A failed claim fences its endpoint (ERR_CONFLICT). */
static int write_op(struct hook_record *w, struct batch *b, struct op *o, struct err *e)
{
    if (hook_record_fenced(w, o->endpoint))
        return 0;
    switch (o->type) {
    case OP_CLAIM: {
        int rc = store_hook_endpoint_claim(w->st, o->endpoint, o->from, o->to, e);
        if (rc == ERR_CONFLICT)
            fence(w, o->endpoint, e->msg);
        return rc;
    }
    case OP_ENDPOINT:
        return store_hook_endpoint_set_disabled(w->st, o->endpoint, o->disabled, o->at,
                                                o->reason, o->url, e);
    case OP_DELIVERY:
        return store_hook_delivery_put(w->st, &o->d, e);
    case OP_ATTEMPT:
        o->a.delivery_id = b->ops[o->ref].d.id;
        return store_hook_attempt_insert(w->st, &o->a, e);
    }
    return 0;
}

/* Write batches [first, first+n) in one transaction. */
static int write_batches(struct hook_record *w, struct batch *first, size_t n, struct err *e)
{
    int rc = store_begin(w->st, e);
    struct batch *b = first;
    for (size_t k = 0; rc == 0 && k < n; k++, b = b->next)
        for (size_t i = 0; rc == 0 && i < b->n; i++)
            rc = write_op(w, b, &b->ops[i], e);
    if (rc == 0)
        rc = store_commit(w->st, e);
    if (rc != 0)
        store_rollback(w->st, NULL);
    return rc;
}

static void nap_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void do_run(struct hook_record *w, struct run *r)
{
    for (int i = 0; i < RUN_TRIES; i++) {
        err_clear(&r->err);
        r->rc = store_begin(w->st, &r->err);
        if (r->rc == 0)
            r->rc = r->fn(w->st, r->arg, &r->err);
        if (r->rc == 0)
            r->rc = store_commit(w->st, &r->err);
        if (r->rc == 0)
            return;
        store_rollback(w->st, NULL);
        if (r->rc != ERR_BUSY)
            return;
    }
}

static void *record_main(void *arg)
{
    struct hook_record *w = arg;
    prctl(PR_SET_NAME, "tgcrm-hookdb", 0, 0, 0);   /* for top -H and perf */
    int64_t backoff = BACKOFF_MIN_MS;
    int tries = 0;
    int64_t stop_seen = 0;          /* mono ms when stopping was first seen */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->work, &w->mu);
        if (w->head == NULL)
            break;
        /* every batch up to and including the first with a run */
        size_t n = 0;
        struct batch *last = NULL;
        for (struct batch *b = w->head; b != NULL && n < MERGE_MAX; b = b->next) {
            n++;
            last = b;
            if (b->run != NULL)
                break;
        }
        bool stopping = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (stopping && stop_seen == 0)
            stop_seen = clock_mono_ns() / 1000000;

        struct err e = {0};
        int rc = write_batches(w, w->head, n, &e);
        if (rc == ERR_CONFLICT) {   /* fenced now: the same batches again without it */
            err_clear(&e);
            rc = write_batches(w, w->head, n, &e);
        }
        if (rc != 0) {
            tries++;
            if (rc != ERR_BUSY && tries == 1)
                log_msg(LOG_ERROR, "webhook.store_write_failed", "%s (retrying)", e.msg);
            if (stopping && clock_mono_ns() / 1000000 - stop_seen >= STOP_GIVE_UP_MS) {
                log_msg(LOG_ERROR, "webhook.store_write_lost", "gave up writing %zu batches "
                        "at shutdown: their deliveries are sent again after a restart",
                        atomic_load(&w->pending));
                pthread_mutex_lock(&w->mu);
                break;
            }
            if (rc != ERR_BUSY) {
                nap_ms(stopping ? BACKOFF_MIN_MS : backoff);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            }
            pthread_mutex_lock(&w->mu);
            continue;
        }
        tries = 0;
        backoff = BACKOFF_MIN_MS;
        if (last->run != NULL)
            do_run(w, last->run);

        pthread_mutex_lock(&w->mu);
        for (size_t k = 0; k < n; k++) {
            struct batch *b = w->head;
            w->head = b->next;
            if (b->run != NULL)
                b->run->done = true;
            batch_free(b);
        }
        if (w->head == NULL)
            w->tail = NULL;
        w->pending -= n;
        pthread_cond_broadcast(&w->done);
        pthread_mutex_unlock(&w->mu);
        if (w->written != NULL)
            w->written(w->arg);
        pthread_mutex_lock(&w->mu);
    }
    /* Whatever could not be written: release its waiters. */
    while (w->head != NULL) {
        struct batch *b = w->head;
        w->head = b->next;
        if (b->run != NULL) {
            b->run->rc = err_set(&b->run->err, ERR_BUSY, "the webhook writer is stopping");
            b->run->done = true;
        }
        batch_free(b);
    }
    w->tail = NULL;
    w->pending = 0;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int hook_record_new(const struct cfg_store *cfg, void (*written)(void *arg), void *arg,
                    struct hook_record **out, struct err *e)
{
    *out = NULL;
    struct hook_record *w = mem_alloc(sizeof *w);
    int rc = store_open(cfg, STORE_RW, &w->st, e);
    if (rc != 0) {
        mem_free(w);
        return rc;
    }
    w->written = written;
    w->arg = arg;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->th, NULL, record_main, w) != 0) {
        rc = err_set(e, ERR_INTERNAL, "cannot start the webhook writer thread");
        pthread_cond_destroy(&w->done);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->mu);
        store_close(&w->st);
        mem_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void hook_record_free(struct hook_record **wp)
{
    struct hook_record *w = *wp;
    if (w == NULL)
        return;
    hook_record_submit(w);
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    batch_free(w->open);
    for (size_t i = 0; i < w->nfenced; i++)
        mem_free(w->fenced[i]);
    mem_free(w->fenced);
    store_close(&w->st);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
    mem_free(w);
    *wp = NULL;
}
