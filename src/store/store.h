/*
 * store.h — persistence behind one vtable.
 *
 * The engine (the single writer) and the HTTP readers talk to the database
 * only through these functions; the backend (store_sqlite.c now,
 * store_pg.c later) fills a struct store_ops. A struct store is ONE
 * connection and is not thread-safe: the engine owns the writer, and
 * readers take handles from a struct store_pool.
 *
 * Conventions for every function below:
 *   - returns 0, or a negative ERR_* with the message in `e`
 *     (ERR_NOTFOUND for a missing row, ERR_CONFLICT for a unique clash,
 *      ERR_BUSY when the database is locked past busy_timeout, ERR_DB else);
 *   - records read are allocated in the caller's arena `a` (strings too) and
 *     live as long as it; nothing returned needs freeing on its own;
 *   - records written are only read during the call (the store copies).
 *
 * SQL stays portable (no SQLite-only functions in queries); each backend has
 * its own numbered migrations under src/store/migrations/<driver>/.
 */
#ifndef TGCRM_STORE_STORE_H
#define TGCRM_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"
#include "desk/agent.h"
#include "desk/thread.h"
#include "desk/ticket.h"

struct store;

enum store_mode { STORE_RW = 0, STORE_RO };

/* A filter for store_ticket_list. Zero/NULL members do not filter. */
struct ticket_filter {
    bool has_status;
    enum ticket_status status;
    const char *group;
    const char *assignee;      /* "none" would be a real agent id; use unassigned */
    bool unassigned;           /* only tickets with no assignee */
    int64_t customer_id;
    int64_t after_id;          /* paging cursor: ids greater than this */
    int limit;                 /* 1..500; 0 means 50 */
};

/* A Bot API call waiting in the durable Telegram outbox. */
struct tg_outbox_row {
    int64_t id;
    int64_t chat_id;           /* destination chat */
    int64_t thread_id;         /* forum topic, 0 = none */
    int64_t ticket_id;         /* 0 when not about a ticket */
    const char *method;        /* "sendMessage", "createForumTopic" ... */
    const char *params;        /* JSON object text of the call's parameters */
    const char *state;         /* "pending" | "sent" | "failed" */
    int attempts;
    int64_t next_attempt_at;
    int64_t created_at;
    const char *last_error;    /* NULL unless failed/retrying */
};

/* A domain event (ticket.created ...) written with the change that caused it. */
struct event_row {
    int64_t id;                /* global order of events */
    const char *type;          /* "ticket.created", "ticket.updated" ... */
    int64_t ticket_id;         /* 0 when not about a ticket */
    int64_t occurred_at;
    const char *data;          /* JSON object text (before/after, actor ...) */
};

struct timer_row {
    int64_t id;
    const char *kind;          /* "sla.first_response" ... */
    int64_t ticket_id;
    int64_t due_at;
    const char *data;          /* JSON text or NULL */
};

struct group_load {
    const char *group;
    int64_t by_status[TICKET_STATUS_COUNT];
    int64_t unassigned_active;         /* active tickets nobody holds */
    int64_t oldest_unassigned_at;      /* created_at of the oldest such, 0 none */
};

struct agent_load {
    const char *agent_id;
    int64_t active;                    /* open + in_progress + on_hold assigned */
};

/* ---- lifecycle ------------------------------------------------------------ */

/*
 * Open one connection per cfg (driver "sqlite"; "postgres" gives ERR_CONFIG
 * "postgres backend not built yet" until it exists). STORE_RW applies
 * pending migrations and checks the schema version; STORE_RO only checks
 * it. Caller owns *out; store_close.
 */
int store_open(const struct cfg_store *cfg, enum store_mode mode,
               struct store **out, struct err *e);
void store_close(struct store **sp);

/* Schema version of the open database. */
int store_schema_version(struct store *s, int *out, struct err *e);

/* ---- transactions ------------------------------------------------------------ */

int store_begin(struct store *s, struct err *e);     /* write transaction */
int store_commit(struct store *s, struct err *e);
int store_rollback(struct store *s, struct err *e);  /* safe to call when none open */
/* A single level of savepoint inside a transaction, so one bad event of a
 * batch can be undone without losing the others. */
int store_savepoint(struct store *s, struct err *e);
int store_release(struct store *s, struct err *e);
/* Undo everything since store_savepoint AND release the savepoint, so the
 * next event can set a new one (do not store_release after it). */
int store_rollback_savepoint(struct store *s, struct err *e);

/* ---- meta (small key/value: the Telegram offset, ids ...) ------------------ */

int store_meta_get(struct store *s, const char *key, struct arena *a,
                   const char **out, struct err *e);          /* ERR_NOTFOUND */
int store_meta_set(struct store *s, const char *key, const char *value,
                   struct err *e);

/* ---- customers ------------------------------------------------------------- */

int store_customer_get(struct store *s, int64_t id, struct arena *a,
                       struct customer **out, struct err *e);
int store_customer_get_by_tg(struct store *s, int64_t tg_user_id, struct arena *a,
                             struct customer **out, struct err *e);
/* Insert; sets c->id. ERR_CONFLICT if tg_user_id exists. */
int store_customer_insert(struct store *s, struct customer *c, struct err *e);
/* Update every column but id/created_at by id. */
int store_customer_update(struct store *s, const struct customer *c, struct err *e);

/* ---- tickets --------------------------------------------------------------- */

/* Insert; sets t->id. */
int store_ticket_insert(struct store *s, struct ticket *t, struct err *e);
/* Update every column but id/customer_id/created_at by id (fields and tags
 * replaced as a whole). ERR_NOTFOUND if the id does not exist. Writes
 * t->stored (the store's note of the indexed columns) on success. */
int store_ticket_update(struct store *s, struct ticket *t, struct err *e);
int store_ticket_get(struct store *s, int64_t id, struct arena *a,
                     struct ticket **out, struct err *e);
/* The customer's most recent ticket (highest id), any status. */
int store_ticket_latest_for_customer(struct store *s, int64_t customer_id,
                                     struct arena *a, struct ticket **out,
                                     struct err *e);
/* The ticket linked to a forum topic, if any. */
int store_ticket_get_by_topic(struct store *s, int64_t topic_id, struct arena *a,
                              struct ticket **out, struct err *e);
/* Tickets matching f in ascending id order; *out is an arena array of
 * pointers, *n how many. */
int store_ticket_list(struct store *s, const struct ticket_filter *f,
                      struct arena *a, struct ticket ***out, size_t *n,
                      struct err *e);
int store_ticket_count_by_status(struct store *s, int64_t out[TICKET_STATUS_COUNT],
                                 struct err *e);

/* ---- thread ---------------------------------------------------------------- */

/* Append; sets te->id. The caller (engine) chooses te->seq. */
int store_thread_append(struct store *s, struct thread_entry *te, struct err *e);
/* Replace text and edited_at of the entry with this Telegram message. */
int store_thread_edit(struct store *s, int64_t ticket_id, int64_t tg_chat_id,
                      int64_t tg_message_id, const char *text, int64_t edited_at,
                      struct err *e);
/* All entries of a ticket in seq order; *out is an arena array. */
int store_thread_list(struct store *s, int64_t ticket_id, struct arena *a,
                      struct thread_entry **out, size_t *n, struct err *e);

/* ---- agents (runtime state; identity is in cfg) ------------------------------ */

int store_agent_state_list(struct store *s, struct arena *a,
                           struct agent_state **out, size_t *n, struct err *e);
/* Insert or replace by agent_id. */
int store_agent_state_put(struct store *s, const struct agent_state *st,
                          struct err *e);
int store_load_by_group(struct store *s, struct arena *a, struct group_load **out,
                        size_t *n, struct err *e);
int store_load_by_agent(struct store *s, struct arena *a, struct agent_load **out,
                        size_t *n, struct err *e);

/* ---- outboxes, events, timers ------------------------------------------------ */

/* Append; sets r->id. state defaults to "pending" when NULL. Ids only grow
 * (rows are never deleted), so a reader that has seen every pending row up
 * to some id finds the newer ones with store_tg_outbox_pending(after_id). */
int store_tg_outbox_push(struct store *s, struct tg_outbox_row *r, struct err *e);
/* How many outbox rows this connection has pushed or updated since it was
 * opened, committed or not: a change counter for the commit hook (the
 * Telegram sender looks again only when it moved). */
int64_t store_tg_outbox_writes(const struct store *s);
int store_tg_outbox_count(struct store *s, const char *state, int64_t *out,
                          struct err *e);
/*
 * Rows in state "pending" with id > after_id, ascending id, at most limit
 * (> 0), whether due or not (next_attempt_at may be after now): the
 * Telegram bridge needs the rows waiting for a retry as well, so a chat's
 * later rows never overtake them. *out is an arena array of *n rows. `now`
 * is the caller's time, for backends that lease rows; SQLite does not need it.
 */
int store_tg_outbox_pending(struct store *s, int64_t now, int64_t after_id, int limit,
                            struct arena *a, struct tg_outbox_row **out, size_t *n,
                            struct err *e);
/* One row by id (ERR_NOTFOUND). */
int store_tg_outbox_get(struct store *s, int64_t id, struct arena *a,
                        struct tg_outbox_row **out, struct err *e);
/* Set a row's state ("pending" | "sent" | "failed"), attempts, next attempt
 * time and last error; params replaces the stored params unless NULL. */
int store_tg_outbox_update(struct store *s, int64_t id, const char *state, int attempts,
                           int64_t next_attempt_at, const char *last_error,
                           const char *params, struct err *e);
/* Append; sets r->id. */
int store_event_push(struct store *s, struct event_row *r, struct err *e);
/* Events with id > after_id, ascending, at most limit. */
int store_event_list(struct store *s, int64_t after_id, int limit, struct arena *a,
                     struct event_row **out, size_t *n, struct err *e);
int store_event_count(struct store *s, int64_t *out, struct err *e);

/* Insert or move the timer (kind, ticket_id) to due_at; sets r->id. */
int store_timer_put(struct store *s, struct timer_row *r, struct err *e);
int store_timer_cancel(struct store *s, const char *kind, int64_t ticket_id,
                       struct err *e);
/* Timers with due_at <= now, earliest first, at most limit. */
int store_timer_due(struct store *s, int64_t now, int limit, struct arena *a,
                    struct timer_row **out, size_t *n, struct err *e);
/* Earliest due_at of any timer; ERR_NOTFOUND when there are none. */
int store_timer_next(struct store *s, int64_t *out, struct err *e);

/* ---- idempotency of API writes ------------------------------------------------ */

/* The stored response for an Idempotency-Key; ERR_NOTFOUND if unseen. */
int store_idem_get(struct store *s, const char *key, struct arena *a,
                   int *out_status, const char **out_body, struct err *e);
int store_idem_put(struct store *s, const char *key, int status, const char *body,
                   int64_t at, struct err *e);

/* ---- commit notification -------------------------------------------------------- */

/*
 * After every commit on this connection that changed something, call
 * fn(arg) on the committing thread (fn NULL: stop). The data is durable and
 * visible to other connections by then, and fn runs before any checkpoint
 * work the commit triggers, so a reader woken by it — the webhook
 * dispatcher waits on the engine writer's commits this way instead of
 * polling — is not held up by it. fn must be quick and must not use this
 * connection. Set it before the connection is shared with another thread.
 */
void store_set_commit_hook(struct store *s, void (*fn)(void *arg), void *arg);

/* ---- outbound webhooks (the dispatcher's state) --------------------------------- */

/* Entries of a ticket with seq <= max_seq in seq order: the thread as it
 * was when a webhook event happened. */
int store_thread_list_upto(struct store *s, int64_t ticket_id, int32_t max_seq,
                           struct arena *a, struct thread_entry **out, size_t *n,
                           struct err *e);

/* One event by id (ERR_NOTFOUND). */
int store_event_get(struct store *s, int64_t id, struct arena *a, struct event_row **out,
                    struct err *e);
/* Highest event id, 0 when there are none. */
int store_event_last_id(struct store *s, int64_t *out, struct err *e);

/* The dispatcher's record of one endpoint (by name). */
struct hook_endpoint_row {
    const char *name;
    int64_t last_event_id;     /* fan-out cursor: events <= this have delivery rows */
    bool disabled;
    int64_t disabled_at;       /* 0 unless disabled */
    const char *disabled_reason;
    const char *disabled_url;  /* the URL that was disabled */
    int64_t created_at;
};

/* One delivery: part `part` of `parts` of an event to an endpoint. */
struct hook_delivery_row {
    int64_t id;
    const char *endpoint;
    int64_t event_id;
    int part, parts;           /* 1-based; 1 of 1 for a whole body */
    int64_t ticket_id;         /* 0 for events about no ticket */
    const char *type;          /* the event type */
    int64_t occurred_at;       /* the event's time */
    const char *state;         /* "pending" | "succeeded" | "dead" */
    int attempts;              /* since (re)queued: picks the next retry delay */
    int64_t next_attempt_at;
    int64_t max_payload;       /* body settings used at fan-out, reused on rebuild */
    const char *oversize;      /* "split" | "truncate" */
    int last_status;           /* HTTP status of the last attempt, 0 none */
    const char *last_error;    /* NULL unless the last attempt failed */
    int64_t created_at;
    int64_t finished_at;       /* when it succeeded or died, 0 while pending */
};

/* One attempt of a delivery. */
struct hook_attempt_row {
    int64_t id;
    int64_t delivery_id;
    int64_t at;                /* when it started (dispatcher clock) */
    int status;                /* HTTP status, 0 when nothing came back */
    const char *outcome;       /* "succeeded" | "retry" | "dead" | "disabled" */
    const char *error;         /* "timeout", "connection refused" ..., or NULL */
    int64_t latency_ms;
    const char *response;      /* first bytes of the response body, or NULL */
};

/* A filter for store_hook_delivery_list; zero/NULL members do not filter. */
struct hook_delivery_filter {
    const char *endpoint;
    const char *state;         /* "pending" | "succeeded" | "dead" | "failed" (pending
                                  with at least one failed attempt: retrying) */
    int64_t ticket_id;
    int64_t after_id;          /* paging cursor: ids greater than this */
    int limit;                 /* 1..500; 0 means 50 */
};

/* Deliveries of one endpoint by state. */
struct hook_counts {
    int64_t pending, failing, dead, succeeded;   /* failing: pending with attempts > 0 */
};

/* Every endpoint record, by name. */
int store_hook_endpoint_list(struct store *s, struct arena *a, struct hook_endpoint_row **out,
                             size_t *n, struct err *e);
/* One endpoint record (ERR_NOTFOUND). */
int store_hook_endpoint_get(struct store *s, const char *name, struct arena *a,
                            struct hook_endpoint_row **out, struct err *e);
/* Record a new endpoint with its cursor at last_event_id (ERR_CONFLICT if known). */
int store_hook_endpoint_create(struct store *s, const char *name, int64_t last_event_id,
                               int64_t now, struct err *e);
/*
 * The fan-out claim: move endpoint name's cursor from `from` to `to`, in
 * the transaction that inserts the delivery rows for the events between.
 * ERR_CONFLICT when the cursor is not at `from` (someone else claimed those
 * events), ERR_NOTFOUND for an unknown endpoint.
 */
int store_hook_endpoint_claim(struct store *s, const char *name, int64_t from, int64_t to,
                              struct err *e);
/* Disable (with when, why and which URL) or re-enable (the rest ignored). */
int store_hook_endpoint_set_disabled(struct store *s, const char *name, bool disabled,
                                     int64_t at, const char *reason, const char *url,
                                     struct err *e);

/*
 * Insert the delivery (endpoint, event_id, part), or update the one there:
 * state, attempts, next_attempt_at, last_status, last_error, finished_at
 * (the rest never changes). r->id is ignored on the way in and set to the
 * row's id. The dispatcher names deliveries by that key, never by id.
 */
int store_hook_delivery_put(struct store *s, struct hook_delivery_row *r, struct err *e);
int store_hook_delivery_get(struct store *s, int64_t id, struct arena *a,
                            struct hook_delivery_row **out, struct err *e);
/* Deliveries matching f in ascending id order (an arena array). */
int store_hook_delivery_list(struct store *s, const struct hook_delivery_filter *f,
                             struct arena *a, struct hook_delivery_row **out, size_t *n,
                             struct err *e);
/* Pending rows of an endpoint after position (event_id, part), ascending by
 * (event_id, part), at most limit: how the dispatcher loads its queues. */
int store_hook_delivery_pending(struct store *s, const char *endpoint, int64_t after_event,
                                int after_part, int limit, struct arena *a,
                                struct hook_delivery_row **out, size_t *n, struct err *e);
/* Counts by state for one endpoint. */
int store_hook_counts(struct store *s, const char *endpoint, struct hook_counts *out,
                      struct err *e);
/*
 * Queue a finished delivery again: state pending, attempts 0, due at now.
 * ERR_NOTFOUND for an unknown id, ERR_CONFLICT when it is still pending.
 */
int store_hook_replay(struct store *s, int64_t id, int64_t now, struct err *e);
/* Queue every dead delivery of an endpoint again; *count gets how many. */
int store_hook_replay_dead(struct store *s, const char *endpoint, int64_t now,
                           int64_t *count, struct err *e);

/*
 * Retention: delete up to limit (> 0) deliveries of endpoint in state
 * ("succeeded" or "dead") that finished before `before`, oldest events
 * first, with their attempts; *deleted gets how many deliveries went.
 * Pending deliveries are never touched.
 */
int store_hook_prune(struct store *s, const char *endpoint, const char *state, int64_t before,
                     int limit, int64_t *deleted, struct err *e);

/* Append; sets r->id. */
int store_hook_attempt_insert(struct store *s, struct hook_attempt_row *r, struct err *e);
/* Attempts of a delivery, oldest first. */
int store_hook_attempt_list(struct store *s, int64_t delivery_id, struct arena *a,
                            struct hook_attempt_row **out, size_t *n, struct err *e);


/* ---- routing state (routing, queues; see desk/route.h) ------------------------------ */

/* The round-robin cursor of one group: the agent it last gave a ticket. */
struct route_cursor_row {
    const char *group;
    const char *agent_id;
};

/*
 * The waiting queue of `group`: unassigned open or in_progress tickets whose
 * strategy is not "none", in queue order (urgent first, then the oldest,
 * then the lowest id), at most limit (> 0). Read through an index that holds
 * only waiting tickets, so the cost follows the queue, not the table.
 * *out is an arena array of *n pointers.
 */
int store_ticket_queue(struct store *s, const char *group, int limit, struct arena *a,
                       struct ticket ***out, size_t *n, struct err *e);
/* Set last_assigned_at of agent_id's state to `at`; ERR_NOTFOUND when the
 * agent has no state row yet (then store_agent_state_put one). */
int store_agent_assigned(struct store *s, const char *agent_id, int64_t at, struct err *e);
/* Every group's cursor, by group name. *out is an arena array. */
int store_route_cursor_list(struct store *s, struct arena *a, struct route_cursor_row **out,
                            size_t *n, struct err *e);
/* Insert or move the cursor of group to agent_id. */
int store_route_cursor_put(struct store *s, const char *group, const char *agent_id,
                           struct err *e);

/* ---- intake forms in progress (desk/intake.h) ------------------------------------ */

/* The JSON state of the form customer_id is filling in (ERR_NOTFOUND: none). */
int store_intake_get(struct store *s, int64_t customer_id, struct arena *a, const char **out,
                     struct err *e);
/* Insert or replace it. */
int store_intake_put(struct store *s, int64_t customer_id, const char *state, int64_t at,
                     struct err *e);
/* Forget it (completed or cancelled); no row is fine. */
int store_intake_delete(struct store *s, int64_t customer_id, struct err *e);

/* ---- a pool of read-only handles for the HTTP threads --------------------------- */

struct store_pool;

/* Open n read-only connections. Caller owns; store_pool_free. */
int store_pool_new(const struct cfg_store *cfg, int n, struct store_pool **out,
                   struct err *e);
void store_pool_free(struct store_pool **pp);
/* Borrow a handle (blocks while all are in use); give it back with put. */
struct store *store_pool_get(struct store_pool *p);
void store_pool_put(struct store_pool *p, struct store *s);

#endif
