/*
 * store_impl.h — the backend side of store.h (private to src/store/).
 *
 * A backend (store_sqlite.c, later store_pg.c) defines its connection struct
 * with a `struct store` as its FIRST member, points base.ops at its own
 * static, constant `struct store_ops`, and hands out &conn->base. store.c
 * only dispatches: each public store_* function calls s->ops->same_name.
 * Every op has exactly the contract of the public function of the same name
 * in store.h (same arguments, same errors, same ownership).
 */
#ifndef TGCRM_STORE_STORE_IMPL_H
#define TGCRM_STORE_STORE_IMPL_H

#include "store/store.h"

struct store_ops {
    const char *driver;            /* "sqlite" ... for logs and messages */

    /* Free everything of the connection, including s itself. */
    void (*close)(struct store *s);
    int (*schema_version)(struct store *s, int *out, struct err *e);

    int (*begin)(struct store *s, struct err *e);
    int (*commit)(struct store *s, struct err *e);
    int (*rollback)(struct store *s, struct err *e);
    int (*savepoint)(struct store *s, struct err *e);
    int (*release)(struct store *s, struct err *e);
    int (*rollback_savepoint)(struct store *s, struct err *e);

    int (*meta_get)(struct store *s, const char *key, struct arena *a,
                    const char **out, struct err *e);
    int (*meta_set)(struct store *s, const char *key, const char *value,
                    struct err *e);

    int (*customer_get)(struct store *s, int64_t id, struct arena *a,
                        struct customer **out, struct err *e);
    int (*customer_get_by_tg)(struct store *s, int64_t tg_user_id,
                              struct arena *a, struct customer **out,
                              struct err *e);
    int (*customer_insert)(struct store *s, struct customer *c, struct err *e);
    int (*customer_update)(struct store *s, const struct customer *c,
                           struct err *e);

    int (*ticket_insert)(struct store *s, struct ticket *t, struct err *e);
    int (*ticket_update)(struct store *s, struct ticket *t, struct err *e);
    int (*ticket_get)(struct store *s, int64_t id, struct arena *a,
                      struct ticket **out, struct err *e);
    int (*ticket_latest_for_customer)(struct store *s, int64_t customer_id,
                                      struct arena *a, struct ticket **out,
                                      struct err *e);
    int (*ticket_get_by_topic)(struct store *s, int64_t topic_id,
                               struct arena *a, struct ticket **out,
                               struct err *e);
    int (*ticket_list)(struct store *s, const struct ticket_filter *f,
                       struct arena *a, struct ticket ***out, size_t *n,
                       struct err *e);
    int (*ticket_count_by_status)(struct store *s,
                                  int64_t out[TICKET_STATUS_COUNT],
                                  struct err *e);

    int (*thread_append)(struct store *s, struct thread_entry *te,
                         struct err *e);
    int (*thread_edit)(struct store *s, int64_t ticket_id, int64_t tg_chat_id,
                       int64_t tg_message_id, const char *text,
                       int64_t edited_at, struct err *e);
    int (*thread_list)(struct store *s, int64_t ticket_id, struct arena *a,
                       struct thread_entry **out, size_t *n, struct err *e);

    int (*agent_state_list)(struct store *s, struct arena *a,
                            struct agent_state **out, size_t *n, struct err *e);
    int (*agent_state_put)(struct store *s, const struct agent_state *st,
                           struct err *e);
    int (*load_by_group)(struct store *s, struct arena *a,
                         struct group_load **out, size_t *n, struct err *e);
    int (*load_by_agent)(struct store *s, struct arena *a,
                         struct agent_load **out, size_t *n, struct err *e);

    int (*tg_outbox_push)(struct store *s, struct tg_outbox_row *r,
                          struct err *e);
    int (*tg_outbox_count)(struct store *s, const char *state, int64_t *out,
                           struct err *e);
    int (*tg_outbox_pending)(struct store *s, int64_t now, int64_t after_id, int limit,
                             struct arena *a, struct tg_outbox_row **out,
                             size_t *n, struct err *e);
    int (*tg_outbox_get)(struct store *s, int64_t id, struct arena *a,
                         struct tg_outbox_row **out, struct err *e);
    int (*tg_outbox_update)(struct store *s, int64_t id, const char *state, int attempts,
                            int64_t next_attempt_at, const char *last_error,
                            const char *params, struct err *e);
    int (*event_push)(struct store *s, struct event_row *r, struct err *e);
    int (*event_list)(struct store *s, int64_t after_id, int limit,
                      struct arena *a, struct event_row **out, size_t *n,
                      struct err *e);
    int (*event_count)(struct store *s, int64_t *out, struct err *e);

    int (*timer_put)(struct store *s, struct timer_row *r, struct err *e);
    int (*timer_cancel)(struct store *s, const char *kind, int64_t ticket_id,
                        struct err *e);
    int (*timer_due)(struct store *s, int64_t now, int limit, struct arena *a,
                     struct timer_row **out, size_t *n, struct err *e);
    int (*timer_next)(struct store *s, int64_t *out, struct err *e);

    int (*ticket_queue)(struct store *s, const char *group, int limit, struct arena *a,
                        struct ticket ***out, size_t *n, struct err *e);
    int (*agent_assigned)(struct store *s, const char *agent_id, int64_t at,
                          struct err *e);
    int (*route_cursor_list)(struct store *s, struct arena *a,
                             struct route_cursor_row **out, size_t *n, struct err *e);
    int (*route_cursor_put)(struct store *s, const char *group, const char *agent_id,
                            struct err *e);
    int (*intake_get)(struct store *s, int64_t customer_id, struct arena *a,
                      const char **out, struct err *e);
    int (*intake_put)(struct store *s, int64_t customer_id, const char *state, int64_t at,
                      struct err *e);
    int (*intake_delete)(struct store *s, int64_t customer_id, struct err *e);

    int (*idem_get)(struct store *s, const char *key, struct arena *a,
                    int *out_status, const char **out_body, struct err *e);
    int (*idem_put)(struct store *s, const char *key, int status,
                    const char *body, int64_t at, struct err *e);

    int (*thread_list_upto)(struct store *s, int64_t ticket_id, int32_t max_seq,
                            struct arena *a, struct thread_entry **out, size_t *n,
                            struct err *e);
    int (*event_get)(struct store *s, int64_t id, struct arena *a,
                     struct event_row **out, struct err *e);
    int (*event_last_id)(struct store *s, int64_t *out, struct err *e);
    int (*hook_endpoint_list)(struct store *s, struct arena *a,
                              struct hook_endpoint_row **out, size_t *n, struct err *e);
    int (*hook_endpoint_get)(struct store *s, const char *name, struct arena *a,
                             struct hook_endpoint_row **out, struct err *e);
    int (*hook_endpoint_create)(struct store *s, const char *name, int64_t last_event_id,
                                int64_t now, struct err *e);
    int (*hook_endpoint_claim)(struct store *s, const char *name, int64_t from,
                               int64_t to, struct err *e);
    int (*hook_endpoint_set_disabled)(struct store *s, const char *name, bool disabled,
                                      int64_t at, const char *reason, const char *url,
                                      struct err *e);
    int (*hook_delivery_put)(struct store *s, struct hook_delivery_row *r, struct err *e);
    int (*hook_delivery_get)(struct store *s, int64_t id, struct arena *a,
                             struct hook_delivery_row **out, struct err *e);
    int (*hook_delivery_list)(struct store *s, const struct hook_delivery_filter *f,
                              struct arena *a, struct hook_delivery_row **out, size_t *n,
                              struct err *e);
    int (*hook_delivery_pending)(struct store *s, const char *endpoint, int64_t after_event,
                                 int after_part, int limit, struct arena *a,
                                 struct hook_delivery_row **out, size_t *n, struct err *e);
    int (*hook_counts)(struct store *s, const char *endpoint, struct hook_counts *out,
                       struct err *e);
    int (*hook_replay)(struct store *s, int64_t id, int64_t now, struct err *e);
    int (*hook_replay_dead)(struct store *s, const char *endpoint, int64_t now,
                            int64_t *count, struct err *e);
    int (*hook_prune)(struct store *s, const char *endpoint, const char *state, int64_t before,
                      int limit, int64_t *deleted, struct err *e);
    int (*hook_attempt_insert)(struct store *s, struct hook_attempt_row *r, struct err *e);
    int (*hook_attempt_list)(struct store *s, int64_t delivery_id, struct arena *a,
                             struct hook_attempt_row **out, size_t *n, struct err *e);
};

/* The base every backend connection starts with. */
struct store {
    const struct store_ops *ops;   /* static, never NULL */
    void (*on_commit)(void *arg);  /* store_set_commit_hook; NULL = none; the
                                      backend calls it after each commit */
    void *on_commit_arg;           /* borrowed */
    int64_t outbox_writes;         /* store_tg_outbox_writes; the connection's thread only */
};

/*
 * Open one SQLite connection (store_sqlite.c); the contract of store_open.
 * cfg->driver is not looked at: store_open has already chosen.
 */
int store_sqlite_open(const struct cfg_store *cfg, enum store_mode mode,
                      struct store **out, struct err *e);

#endif
