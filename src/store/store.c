/*
 * store.c — the public store_* API: backend choice, dispatch, the read pool.
 *
 * Every store_* function forwards to the connection's ops table
 * (store_impl.h), so callers never know which database they talk to. The
 * pool hands read-only connections to HTTP threads: a fixed set opened up
 * front, borrowed and returned under one mutex, borrowers waiting on a
 * condition variable while all are out.
 */
#include "store/store.h"
#include "store/store_impl.h"

#include <pthread.h>
#include <string.h>

#include "base/mem.h"

/* ---- lifecycle ------------------------------------------------------------ */

/*
 * Pick the backend by cfg->driver (NULL means the default, "sqlite") and
 * open one connection with it. *out is NULL on failure.
 */
int store_open(const struct cfg_store *cfg, enum store_mode mode,
               struct store **out, struct err *e)
{
    *out = NULL;
    const char *driver = cfg->driver ? cfg->driver : "sqlite";
    if (strcmp(driver, "sqlite") == 0)
        return store_sqlite_open(cfg, mode, out, e);
    if (strcmp(driver, "postgres") == 0)
        return err_set(e, ERR_CONFIG, "postgres backend not built yet");
    return err_set(e, ERR_CONFIG, "unknown store driver '%s' (expected sqlite or postgres)",
                   driver);
}

/* Close the connection (rolling back any open transaction) and NULL *sp. */
void store_close(struct store **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    (*sp)->ops->close(*sp);
    *sp = NULL;
}

/* Dispatch: each function below has its contract in store.h. */

int store_schema_version(struct store *s, int *out, struct err *e)
{
    return s->ops->schema_version(s, out, e);
}

/* ---- transactions ------------------------------------------------------------ */

int store_begin(struct store *s, struct err *e)
{
    return s->ops->begin(s, e);
}

int store_commit(struct store *s, struct err *e)
{
    return s->ops->commit(s, e);
}

void store_set_commit_hook(struct store *s, void (*fn)(void *arg), void *arg)
{
    s->on_commit = fn;
    s->on_commit_arg = fn != NULL ? arg : NULL;
}

int store_rollback(struct store *s, struct err *e)
{
    return s->ops->rollback(s, e);
}

int store_savepoint(struct store *s, struct err *e)
{
    return s->ops->savepoint(s, e);
}

int store_release(struct store *s, struct err *e)
{
    return s->ops->release(s, e);
}

int store_rollback_savepoint(struct store *s, struct err *e)
{
    return s->ops->rollback_savepoint(s, e);
}

/* ---- meta -------------------------------------------------------------------- */

int store_meta_get(struct store *s, const char *key, struct arena *a,
                   const char **out, struct err *e)
{
    return s->ops->meta_get(s, key, a, out, e);
}

int store_meta_set(struct store *s, const char *key, const char *value,
                   struct err *e)
{
    return s->ops->meta_set(s, key, value, e);
}

/* ---- customers ------------------------------------------------------------- */

int store_customer_get(struct store *s, int64_t id, struct arena *a,
                       struct customer **out, struct err *e)
{
    return s->ops->customer_get(s, id, a, out, e);
}

int store_customer_get_by_tg(struct store *s, int64_t tg_user_id, struct arena *a,
                             struct customer **out, struct err *e)
{
    return s->ops->customer_get_by_tg(s, tg_user_id, a, out, e);
}

int store_customer_insert(struct store *s, struct customer *c, struct err *e)
{
    return s->ops->customer_insert(s, c, e);
}

int store_customer_update(struct store *s, const struct customer *c, struct err *e)
{
    return s->ops->customer_update(s, c, e);
}

/* ---- tickets --------------------------------------------------------------- */

int store_ticket_insert(struct store *s, struct ticket *t, struct err *e)
{
    return s->ops->ticket_insert(s, t, e);
}

int store_ticket_update(struct store *s, struct ticket *t, struct err *e)
{
    return s->ops->ticket_update(s, t, e);
}

int store_ticket_get(struct store *s, int64_t id, struct arena *a,
                     struct ticket **out, struct err *e)
{
    return s->ops->ticket_get(s, id, a, out, e);
}

int store_ticket_latest_for_customer(struct store *s, int64_t customer_id,
                                     struct arena *a, struct ticket **out,
                                     struct err *e)
{
    return s->ops->ticket_latest_for_customer(s, customer_id, a, out, e);
}

int store_ticket_get_by_topic(struct store *s, int64_t topic_id, struct arena *a,
                              struct ticket **out, struct err *e)
{
    return s->ops->ticket_get_by_topic(s, topic_id, a, out, e);
}

int store_ticket_list(struct store *s, const struct ticket_filter *f,
                      struct arena *a, struct ticket ***out, size_t *n,
                      struct err *e)
{
    return s->ops->ticket_list(s, f, a, out, n, e);
}

int store_ticket_count_by_status(struct store *s, int64_t out[TICKET_STATUS_COUNT],
                                 struct err *e)
{
    return s->ops->ticket_count_by_status(s, out, e);
}

/* ---- thread ---------------------------------------------------------------- */

int store_thread_append(struct store *s, struct thread_entry *te, struct err *e)
{
    return s->ops->thread_append(s, te, e);
}

int store_thread_edit(struct store *s, int64_t ticket_id, int64_t tg_chat_id,
                      int64_t tg_message_id, const char *text, int64_t edited_at,
                      struct err *e)
{
    return s->ops->thread_edit(s, ticket_id, tg_chat_id, tg_message_id, text,
                               edited_at, e);
}

int store_thread_list(struct store *s, int64_t ticket_id, struct arena *a,
                      struct thread_entry **out, size_t *n, struct err *e)
{
    return s->ops->thread_list(s, ticket_id, a, out, n, e);
}

/* ---- agents ------------------------------------------------------------------ */

int store_agent_state_list(struct store *s, struct arena *a,
                           struct agent_state **out, size_t *n, struct err *e)
{
    return s->ops->agent_state_list(s, a, out, n, e);
}

int store_agent_state_put(struct store *s, const struct agent_state *st,
                          struct err *e)
{
    return s->ops->agent_state_put(s, st, e);
}

int store_load_by_group(struct store *s, struct arena *a, struct group_load **out,
                        size_t *n, struct err *e)
{
    return s->ops->load_by_group(s, a, out, n, e);
}

int store_load_by_agent(struct store *s, struct arena *a, struct agent_load **out,
                        size_t *n, struct err *e)
{
    return s->ops->load_by_agent(s, a, out, n, e);
}

/* ---- outboxes, events, timers ------------------------------------------------ */

int store_tg_outbox_push(struct store *s, struct tg_outbox_row *r, struct err *e)
{
    int rc = s->ops->tg_outbox_push(s, r, e);
    if (rc == 0)
        s->outbox_writes++;
    return rc;
}

int64_t store_tg_outbox_writes(const struct store *s)
{
    return s->outbox_writes;
}

int store_tg_outbox_count(struct store *s, const char *state, int64_t *out,
                          struct err *e)
{
    return s->ops->tg_outbox_count(s, state, out, e);
}

int store_tg_outbox_get(struct store *s, int64_t id, struct arena *a,
                        struct tg_outbox_row **out, struct err *e)
{
    return s->ops->tg_outbox_get(s, id, a, out, e);
}

int store_tg_outbox_update(struct store *s, int64_t id, const char *state, int attempts,
                           int64_t next_attempt_at, const char *last_error,
                           const char *params, struct err *e)
{
    int rc = s->ops->tg_outbox_update(s, id, state, attempts, next_attempt_at, last_error,
                                      params, e);
    if (rc == 0)
        s->outbox_writes++;
    return rc;
}

int store_tg_outbox_pending(struct store *s, int64_t now, int64_t after_id, int limit,
                            struct arena *a, struct tg_outbox_row **out, size_t *n,
                            struct err *e)
{
    return s->ops->tg_outbox_pending(s, now, after_id, limit, a, out, n, e);
}

int store_event_push(struct store *s, struct event_row *r, struct err *e)
{
    return s->ops->event_push(s, r, e);
}

int store_event_list(struct store *s, int64_t after_id, int limit, struct arena *a,
                     struct event_row **out, size_t *n, struct err *e)
{
    return s->ops->event_list(s, after_id, limit, a, out, n, e);
}

int store_event_count(struct store *s, int64_t *out, struct err *e)
{
    return s->ops->event_count(s, out, e);
}

int store_timer_put(struct store *s, struct timer_row *r, struct err *e)
{
    return s->ops->timer_put(s, r, e);
}

int store_timer_cancel(struct store *s, const char *kind, int64_t ticket_id,
                       struct err *e)
{
    return s->ops->timer_cancel(s, kind, ticket_id, e);
}

int store_timer_due(struct store *s, int64_t now, int limit, struct arena *a,
                    struct timer_row **out, size_t *n, struct err *e)
{
    return s->ops->timer_due(s, now, limit, a, out, n, e);
}

int store_timer_next(struct store *s, int64_t *out, struct err *e)
{
    return s->ops->timer_next(s, out, e);
}

/* ---- routing state ---------------------------------------------------------------- */

int store_ticket_queue(struct store *s, const char *group, int limit, struct arena *a,
                       struct ticket ***out, size_t *n, struct err *e)
{
    return s->ops->ticket_queue(s, group, limit, a, out, n, e);
}

int store_agent_assigned(struct store *s, const char *agent_id, int64_t at, struct err *e)
{
    return s->ops->agent_assigned(s, agent_id, at, e);
}

int store_route_cursor_list(struct store *s, struct arena *a, struct route_cursor_row **out,
                            size_t *n, struct err *e)
{
    return s->ops->route_cursor_list(s, a, out, n, e);
}

int store_route_cursor_put(struct store *s, const char *group, const char *agent_id,
                           struct err *e)
{
    return s->ops->route_cursor_put(s, group, agent_id, e);
}

/* ---- intake forms in progress ----------------------------------------------------- */

int store_intake_get(struct store *s, int64_t customer_id, struct arena *a, const char **out,
                     struct err *e)
{
    return s->ops->intake_get(s, customer_id, a, out, e);
}

int store_intake_put(struct store *s, int64_t customer_id, const char *state, int64_t at,
                     struct err *e)
{
    return s->ops->intake_put(s, customer_id, state, at, e);
}

int store_intake_delete(struct store *s, int64_t customer_id, struct err *e)
{
    return s->ops->intake_delete(s, customer_id, e);
}

/* ---- idempotency --------------------------------------------------------------- */

int store_idem_get(struct store *s, const char *key, struct arena *a,
                   int *out_status, const char **out_body, struct err *e)
{
    return s->ops->idem_get(s, key, a, out_status, out_body, e);
}

int store_idem_put(struct store *s, const char *key, int status, const char *body,
                   int64_t at, struct err *e)
{
    return s->ops->idem_put(s, key, status, body, at, e);
}

/* ---- outbound webhooks -------------------------------------------------------------- */

int store_thread_list_upto(struct store *s, int64_t ticket_id, int32_t max_seq,
                           struct arena *a, struct thread_entry **out, size_t *n,
                           struct err *e)
{
    return s->ops->thread_list_upto(s, ticket_id, max_seq, a, out, n, e);
}

int store_event_get(struct store *s, int64_t id, struct arena *a, struct event_row **out,
                    struct err *e)
{
    return s->ops->event_get(s, id, a, out, e);
}

int store_event_last_id(struct store *s, int64_t *out, struct err *e)
{
    return s->ops->event_last_id(s, out, e);
}

int store_hook_endpoint_list(struct store *s, struct arena *a, struct hook_endpoint_row **out,
                             size_t *n, struct err *e)
{
    return s->ops->hook_endpoint_list(s, a, out, n, e);
}

int store_hook_endpoint_get(struct store *s, const char *name, struct arena *a,
                            struct hook_endpoint_row **out, struct err *e)
{
    return s->ops->hook_endpoint_get(s, name, a, out, e);
}

int store_hook_endpoint_create(struct store *s, const char *name, int64_t last_event_id,
                               int64_t now, struct err *e)
{
    return s->ops->hook_endpoint_create(s, name, last_event_id, now, e);
}

int store_hook_endpoint_claim(struct store *s, const char *name, int64_t from, int64_t to,
                              struct err *e)
{
    return s->ops->hook_endpoint_claim(s, name, from, to, e);
}

int store_hook_endpoint_set_disabled(struct store *s, const char *name, bool disabled,
                                     int64_t at, const char *reason, const char *url,
                                     struct err *e)
{
    return s->ops->hook_endpoint_set_disabled(s, name, disabled, at, reason, url, e);
}

int store_hook_delivery_put(struct store *s, struct hook_delivery_row *r, struct err *e)
{
    return s->ops->hook_delivery_put(s, r, e);
}

int store_hook_delivery_get(struct store *s, int64_t id, struct arena *a,
                            struct hook_delivery_row **out, struct err *e)
{
    return s->ops->hook_delivery_get(s, id, a, out, e);
}

int store_hook_delivery_list(struct store *s, const struct hook_delivery_filter *f,
                             struct arena *a, struct hook_delivery_row **out, size_t *n,
                             struct err *e)
{
    return s->ops->hook_delivery_list(s, f, a, out, n, e);
}

int store_hook_delivery_pending(struct store *s, const char *endpoint, int64_t after_event,
                                int after_part, int limit, struct arena *a,
                                struct hook_delivery_row **out, size_t *n, struct err *e)
{
    return s->ops->hook_delivery_pending(s, endpoint, after_event, after_part, limit, a,
                                         out, n, e);
}

int store_hook_counts(struct store *s, const char *endpoint, struct hook_counts *out,
                      struct err *e)
{
    return s->ops->hook_counts(s, endpoint, out, e);
}

int store_hook_replay(struct store *s, int64_t id, int64_t now, struct err *e)
{
    return s->ops->hook_replay(s, id, now, e);
}

int store_hook_replay_dead(struct store *s, const char *endpoint, int64_t now,
                           int64_t *count, struct err *e)
{
    return s->ops->hook_replay_dead(s, endpoint, now, count, e);
}

int store_hook_prune(struct store *s, const char *endpoint, const char *state, int64_t before,
                     int limit, int64_t *deleted, struct err *e)
{
    return s->ops->hook_prune(s, endpoint, state, before, limit, deleted, e);
}

int store_hook_attempt_insert(struct store *s, struct hook_attempt_row *r, struct err *e)
{
    return s->ops->hook_attempt_insert(s, r, e);
}

int store_hook_attempt_list(struct store *s, int64_t delivery_id, struct arena *a,
                            struct hook_attempt_row **out, size_t *n, struct err *e)
{
    return s->ops->hook_attempt_list(s, delivery_id, a, out, n, e);
}

/* ---- the read pool ---------------------------------------------------------------- */

struct store_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* signalled when a handle comes back */
    struct store **all;          /* owned: every connection, for free */
    struct store **idle;         /* owned array; borrowed entries of all[] */
    int n;                       /* connections in all[] */
    int nidle;                   /* entries of idle[] in use (a stack) */
};

/*
 * Open n read-only connections (n <= 0 takes cfg->read_connections, then 4)
 * with store_open(..., STORE_RO, ...). All or nothing: on failure the ones
 * already opened are closed and *out is NULL.
 */
int store_pool_new(const struct cfg_store *cfg, int n, struct store_pool **out,
                   struct err *e)
{
    *out = NULL;
    if (n <= 0)
        n = cfg->read_connections > 0 ? cfg->read_connections : 4;

    struct store_pool *p = mem_alloc(sizeof *p);
    p->all = mem_alloc((size_t)n * sizeof(struct store *));
    p->idle = mem_alloc((size_t)n * sizeof(struct store *));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < n; i++) {
        int rc = store_open(cfg, STORE_RO, &p->all[i], e);
        if (rc != 0) {
            p->n = i;
            store_pool_free(&p);
            return rc;
        }
        p->idle[i] = p->all[i];
    }
    p->n = n;
    p->nidle = n;
    *out = p;
    return 0;
}

/*
 * Close every connection and free the pool; sets *pp to NULL. Every handle
 * must have been put back (the caller joins its threads first).
 */
void store_pool_free(struct store_pool **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    struct store_pool *p = *pp;
    for (int i = 0; i < p->n; i++)
        store_close(&p->all[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    mem_free(p->all);
    mem_free(p->idle);
    mem_freep(pp);
}

/*
 * Borrow a connection, waiting while all are out. Never NULL. The handle is
 * the caller's alone until store_pool_put.
 */
struct store *store_pool_get(struct store_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->nidle == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    struct store *s = p->idle[--p->nidle];
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* Return a connection taken with store_pool_get and wake one waiter. */
void store_pool_put(struct store_pool *p, struct store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->idle[p->nidle++] = s;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
