/*
 * store_sqlite.c — the SQLite backend of store.h; the only sqlite3 user.
 *
 * One struct sq is one sqlite3 connection, used by one thread at a time.
 * Every query is a prepared statement from a fixed table, prepared the
 * first time it is needed and kept for the life of the connection
 * (SQLITE_PREPARE_PERSISTENT); after each use it is reset and its bindings
 * cleared. Values only ever reach SQL through bindings: the one place that
 * assembles SQL text (the ticket_list variants) joins constant fragments
 * chosen by which filters are set, and caches each of the 32 variants.
 *
 * The write connection (STORE_RW) runs in WAL mode, so the read-only pool
 * connections (STORE_RO) read a consistent snapshot without blocking it.
 * At RW open the embedded migrations (migrate.h) above the database's
 * version are applied, each in its own transaction together with its row in
 * schema_version; a database newer than the binary is refused.
 *
 * SQLite result codes are translated here and only here:
 * BUSY/LOCKED → ERR_BUSY, CONSTRAINT → ERR_CONFLICT, anything else → ERR_DB
 * with sqlite3_errmsg in the message.
 *
 * Storage conventions (see migrations/sqlite/001_init.sql): times are
 * INTEGER ms and optional ones are NULL when the record says 0; enums are
 * their desk names; custom fields and thread data are JSON objects, tags a
 * JSON array, all encoded and decoded with jansson.
 */
#include "store/store_impl.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"
#include "desk/sla.h"
#include "desk/view.h"
#include "store/migrate.h"

/* ---- the statement table ----------------------------------------------------- */

#define CUSTOMER_COLS \
    "id, tg_user_id, first_name, last_name, username, language, tier, blocked, " \
    "created_at"

/* Column i of TICKET_COLS is parameter ?(i+1) in the insert and the update,
 * so one binder serves both. */
#define TICKET_COLS \
    "id, customer_id, status, priority, grp, assignee, rule, subject, " \
    "custom_fields, tags, topic_id, created_at, updated_at, first_response_at, " \
    "resolved_at, closed_at, last_customer_msg_at, last_agent_msg_at, " \
    "thread_len, reopen_count, strategy, waiting_since, escalations, sla, " \
    "kb_suggestions"

/* Same rule: column i is parameter ?(i+1) in the insert. */
#define THREAD_COLS \
    "id, ticket_id, seq, kind, dir, author_type, author_id, author_name, text, " \
    "event, data, tg_chat_id, tg_message_id, at, edited_at"

#define HOOK_EP_COLS \
    "name, last_event_id, disabled_at, disabled_reason, disabled_url, created_at"

/* Column i of HOOK_DL_COLS is parameter ?(i+1) in the upsert. */
#define HOOK_DL_COLS \
    "id, endpoint, event_id, part, parts, ticket_id, type, occurred_at, state, " \
    "attempts, next_attempt_at, max_payload, oversize, last_status, last_error, " \
    "created_at, finished_at"

#define STMTS(X)                                                                  \
    X(ST_BEGIN, "BEGIN IMMEDIATE")                                                \
    X(ST_COMMIT, "COMMIT")                                                        \
    X(ST_ROLLBACK, "ROLLBACK")                                                    \
    X(ST_SAVEPOINT, "SAVEPOINT ev")                                               \
    X(ST_RELEASE, "RELEASE ev")                                                   \
    X(ST_ROLLBACK_TO, "ROLLBACK TO ev")                                           \
    X(ST_HAS_VERSION_TABLE,                                                       \
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' "                  \
      "AND name = 'schema_version'")                                              \
    X(ST_VERSION, "SELECT max(version) FROM schema_version")                      \
    X(ST_VERSION_HAS, "SELECT count(*) FROM schema_version WHERE version = ?1")   \
    X(ST_VERSION_ADD, "INSERT INTO schema_version (version, name) VALUES (?1, ?2)") \
    X(ST_META_GET, "SELECT value FROM meta WHERE key = ?1")                       \
    X(ST_META_SET,                                                                \
      "INSERT INTO meta (key, value) VALUES (?1, ?2) "                            \
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value")                   \
    X(ST_INTAKE_GET, "SELECT state FROM intake_forms WHERE customer_id = ?1")     \
    X(ST_INTAKE_PUT,                                                              \
      "INSERT INTO intake_forms (customer_id, state, updated_at) VALUES (?1, ?2, ?3) " \
      "ON CONFLICT (customer_id) DO UPDATE SET state = excluded.state, "          \
      "updated_at = excluded.updated_at")                                         \
    X(ST_INTAKE_DELETE, "DELETE FROM intake_forms WHERE customer_id = ?1")        \
    X(ST_CUSTOMER_GET, "SELECT " CUSTOMER_COLS " FROM customers WHERE id = ?1")   \
    X(ST_CUSTOMER_GET_TG,                                                         \
      "SELECT " CUSTOMER_COLS " FROM customers WHERE tg_user_id = ?1")            \
    X(ST_CUSTOMER_INSERT,                                                         \
      "INSERT INTO customers (tg_user_id, first_name, last_name, username, "      \
      "language, tier, blocked, created_at) "                                     \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                  \
    X(ST_CUSTOMER_UPDATE,                                                         \
      "UPDATE customers SET tg_user_id = ?1, first_name = ?2, last_name = ?3, "   \
      "username = ?4, language = ?5, tier = ?6, blocked = ?7 WHERE id = ?9")      \
    X(ST_TICKET_INSERT,                                                           \
      "INSERT INTO tickets (customer_id, status, priority, grp, assignee, rule, " \
      "subject, custom_fields, tags, topic_id, created_at, updated_at, "          \
      "first_response_at, resolved_at, closed_at, last_customer_msg_at, "         \
      "last_agent_msg_at, thread_len, reopen_count, strategy, waiting_since, "    \
      "escalations, sla, kb_suggestions) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, " \
      "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, " \
      "?25)")                                                                     \
    X(ST_TICKET_UPDATE,                                                           \
      "UPDATE tickets SET status = ?3, priority = ?4, grp = ?5, assignee = ?6, "  \
      "rule = ?7, subject = ?8, custom_fields = ?9, tags = ?10, topic_id = ?11, " \
      "updated_at = ?13, first_response_at = ?14, resolved_at = ?15, "            \
      "closed_at = ?16, last_customer_msg_at = ?17, last_agent_msg_at = ?18, "    \
      "thread_len = ?19, reopen_count = ?20, strategy = ?21, waiting_since = ?22, " \
      "escalations = ?23, sla = ?24, kb_suggestions = ?25 WHERE id = ?1")          \
    /* without the indexed columns (priority and strategy are in the queue    \
     * index); unused ?N still bind */                                       \
    X(ST_TICKET_UPDATE_HOT,                                                       \
      "UPDATE tickets SET "                                                       \
      "rule = ?7, subject = ?8, custom_fields = ?9, tags = ?10, "                 \
      "updated_at = ?13, first_response_at = ?14, resolved_at = ?15, "            \
      "closed_at = ?16, last_customer_msg_at = ?17, last_agent_msg_at = ?18, "    \
      "thread_len = ?19, reopen_count = ?20, waiting_since = ?22, "               \
      "escalations = ?23, sla = ?24, kb_suggestions = ?25 WHERE id = ?1")         \
    X(ST_TICKET_GET, "SELECT " TICKET_COLS " FROM tickets WHERE id = ?1")         \
    X(ST_TICKET_LATEST,                                                           \
      "SELECT " TICKET_COLS " FROM tickets WHERE customer_id = ?1 "               \
      "ORDER BY id DESC LIMIT 1")                                                 \
    X(ST_TICKET_BY_TOPIC,                                                         \
      "SELECT " TICKET_COLS " FROM tickets WHERE topic_id = ?1 "                  \
      "ORDER BY id DESC LIMIT 1")                                                 \
    X(ST_TICKET_COUNT, "SELECT status, count(*) FROM tickets GROUP BY status")    \
    /* the terms and the CASE exactly as in the tickets_queue index (003) */ \
    X(ST_TICKET_QUEUE,                                                            \
      "SELECT " TICKET_COLS " FROM tickets WHERE grp = ?1 AND assignee IS NULL "  \
      "AND status IN ('open', 'in_progress') AND strategy IS NOT 'none' "         \
      "ORDER BY (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 "     \
      "WHEN 'normal' THEN 2 ELSE 3 END), created_at, id LIMIT ?2")               \
    X(ST_THREAD_APPEND,                                                           \
      "INSERT INTO thread (ticket_id, seq, kind, dir, author_type, author_id, "   \
      "author_name, text, event, data, tg_chat_id, tg_message_id, at, edited_at) " \
      "VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")    \
    X(ST_THREAD_EDIT,                                                             \
      "UPDATE thread SET text = ?4, edited_at = ?5 WHERE ticket_id = ?1 "         \
      "AND tg_chat_id = ?2 AND tg_message_id = ?3")                               \
    X(ST_THREAD_LIST,                                                             \
      "SELECT " THREAD_COLS " FROM thread WHERE ticket_id = ?1 ORDER BY seq")     \
    X(ST_AGENT_LIST,                                                              \
      "SELECT agent_id, availability, changed_at, last_assigned_at "              \
      "FROM agent_state ORDER BY agent_id")                                       \
    X(ST_AGENT_PUT,                                                               \
      "INSERT INTO agent_state (agent_id, availability, changed_at, "             \
      "last_assigned_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (agent_id) DO "      \
      "UPDATE SET availability = excluded.availability, "                         \
      "changed_at = excluded.changed_at, "                                        \
      "last_assigned_at = excluded.last_assigned_at")                             \
    X(ST_LOAD_GROUP_STATUS,                                                       \
      "SELECT grp, status, count(*) FROM tickets GROUP BY grp, status "           \
      "ORDER BY grp")                                                             \
    X(ST_LOAD_GROUP_UNASSIGNED,                                                   \
      "SELECT grp, count(*), min(created_at) FROM tickets "                       \
      "WHERE assignee IS NULL AND status IN (?1, ?2, ?3) GROUP BY grp")           \
    X(ST_LOAD_AGENT,                                                              \
      "SELECT agent_id, active FROM agent_load WHERE active > 0 "                 \
      "ORDER BY agent_id")                                                        \
    X(ST_AGENT_ASSIGNED,                                                          \
      "UPDATE agent_state SET last_assigned_at = ?2 WHERE agent_id = ?1")         \
    X(ST_CURSOR_LIST, "SELECT grp, agent_id FROM route_cursors ORDER BY grp")     \
    X(ST_CURSOR_PUT,                                                              \
      "INSERT INTO route_cursors (grp, agent_id) VALUES (?1, ?2) "                \
      "ON CONFLICT (grp) DO UPDATE SET agent_id = excluded.agent_id")             \
    X(ST_OUTBOX_PUSH,                                                             \
      "INSERT INTO tg_outbox (chat_id, thread_id, ticket_id, method, params, "    \
      "state, attempts, next_attempt_at, created_at, last_error) "                \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")                         \
    X(ST_OUTBOX_GET,                                                              \
      "SELECT id, chat_id, thread_id, ticket_id, method, params, state, "         \
      "attempts, next_attempt_at, created_at, last_error FROM tg_outbox "         \
      "WHERE id = ?1")                                                            \
    X(ST_OUTBOX_UPDATE,                                                           \
      "UPDATE tg_outbox SET state = ?2, attempts = ?3, next_attempt_at = ?4, "    \
      "last_error = ?5, params = coalesce(?6, params) WHERE id = ?1")             \
    X(ST_OUTBOX_COUNT_ALL, "SELECT count(*) FROM tg_outbox")                      \
    X(ST_OUTBOX_COUNT_STATE, "SELECT count(*) FROM tg_outbox WHERE state = ?1")   \
    X(ST_OUTBOX_PENDING,                                                          \
      "SELECT id, chat_id, thread_id, ticket_id, method, params, state, attempts, " \
      "next_attempt_at, created_at, last_error FROM tg_outbox "                   \
      "WHERE state = 'pending' ORDER BY id LIMIT ?1")                             \
    X(ST_OUTBOX_PENDING_AFTER,                                                    \
      "SELECT id, chat_id, thread_id, ticket_id, method, params, state, attempts, " \
      "next_attempt_at, created_at, last_error FROM tg_outbox "                   \
      "WHERE +state = 'pending' AND id > ?2 ORDER BY id LIMIT ?1")                \
    X(ST_EVENT_PUSH,                                                              \
      "INSERT INTO events (type, ticket_id, occurred_at, data) "                  \
      "VALUES (?1, ?2, ?3, ?4)")                                                  \
    X(ST_EVENT_LIST,                                                              \
      "SELECT id, type, ticket_id, occurred_at, data FROM events WHERE id > ?1 "  \
      "ORDER BY id LIMIT ?2")                                                     \
    X(ST_EVENT_COUNT, "SELECT count(*) FROM events")                              \
    X(ST_TIMER_PUT,                                                               \
      "INSERT INTO timers (kind, ticket_id, due_at, data) VALUES (?1, ?2, ?3, ?4) " \
      "ON CONFLICT (kind, ticket_id) DO UPDATE SET due_at = excluded.due_at, "    \
      "data = excluded.data RETURNING id")                                        \
    X(ST_TIMER_CANCEL, "DELETE FROM timers WHERE kind = ?1 AND ticket_id = ?2")   \
    X(ST_TIMER_DUE,                                                               \
      "SELECT id, kind, ticket_id, due_at, data FROM timers WHERE due_at <= ?1 "  \
      "ORDER BY due_at, id LIMIT ?2")                                             \
    X(ST_TIMER_NEXT, "SELECT min(due_at) FROM timers")                            \
    X(ST_IDEM_GET, "SELECT status, body FROM idempotency WHERE key = ?1")         \
    X(ST_IDEM_PUT,                                                                \
      "INSERT INTO idempotency (key, status, body, created_at) "                  \
      "VALUES (?1, ?2, ?3, ?4)")                                                  \
    X(ST_THREAD_LIST_UPTO,                                                        \
      "SELECT " THREAD_COLS " FROM thread WHERE ticket_id = ?1 AND seq <= ?2 "    \
      "ORDER BY seq")                                                             \
    X(ST_EVENT_GET,                                                               \
      "SELECT id, type, ticket_id, occurred_at, data FROM events WHERE id = ?1")  \
    X(ST_EVENT_LAST, "SELECT max(id) FROM events")                                \
    X(ST_HOOK_EP_LIST, "SELECT " HOOK_EP_COLS " FROM webhook_endpoints ORDER BY name") \
    X(ST_HOOK_EP_GET, "SELECT " HOOK_EP_COLS " FROM webhook_endpoints WHERE name = ?1") \
    X(ST_HOOK_EP_CREATE,                                                          \
      "INSERT INTO webhook_endpoints (name, last_event_id, created_at) "          \
      "VALUES (?1, ?2, ?3)")                                                      \
    X(ST_HOOK_EP_CLAIM,                                                           \
      "UPDATE webhook_endpoints SET last_event_id = ?3 "                          \
      "WHERE name = ?1 AND last_event_id = ?2")                                   \
    X(ST_HOOK_EP_DISABLE,                                                         \
      "UPDATE webhook_endpoints SET disabled_at = ?2, disabled_reason = ?3, "     \
      "disabled_url = ?4 WHERE name = ?1")                                        \
    X(ST_HOOK_DL_PUT,                                                             \
      "INSERT INTO webhook_deliveries (endpoint, event_id, part, parts, "         \
      "ticket_id, type, occurred_at, state, attempts, next_attempt_at, "          \
      "max_payload, oversize, last_status, last_error, created_at, finished_at) " \
      "VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "    \
      "?16, ?17) ON CONFLICT (endpoint, event_id, part) DO UPDATE SET "           \
      "state = excluded.state, attempts = excluded.attempts, "                    \
      "next_attempt_at = excluded.next_attempt_at, "                              \
      "last_status = excluded.last_status, last_error = excluded.last_error, "    \
      "finished_at = excluded.finished_at RETURNING id")                          \
    X(ST_HOOK_DL_GET, "SELECT " HOOK_DL_COLS " FROM webhook_deliveries WHERE id = ?1") \
    X(ST_HOOK_DL_PENDING,                                                         \
      "SELECT " HOOK_DL_COLS " FROM webhook_deliveries WHERE endpoint = ?1 "      \
      "AND state = 'pending' AND (event_id > ?2 OR (event_id = ?2 AND part > ?3)) " \
      "ORDER BY event_id, part LIMIT ?4")                                         \
    X(ST_HOOK_COUNTS,                                                             \
      "SELECT state, attempts > 0, count(*) FROM webhook_deliveries "             \
      "WHERE endpoint = ?1 GROUP BY state, attempts > 0")                         \
    X(ST_HOOK_REPLAY,                                                             \
      "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, "           \
      "next_attempt_at = ?2, finished_at = NULL WHERE id = ?1 "                   \
      "AND state <> 'pending'")                                                   \
    X(ST_HOOK_REPLAY_DEAD,                                                        \
      "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, "           \
      "next_attempt_at = ?2, finished_at = NULL WHERE endpoint = ?1 "             \
      "AND state = 'dead'")                                                       \
    X(ST_HOOK_PRUNE_AT,                                                           \
      "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM "         \
      "webhook_deliveries WHERE endpoint = ?1 AND state = ?2 AND finished_at < ?3 " \
      "ORDER BY event_id, part LIMIT ?4)")                                         \
    X(ST_HOOK_PRUNE,                                                              \
      "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM "                \
      "webhook_deliveries WHERE endpoint = ?1 AND state = ?2 AND finished_at < ?3 " \
      "ORDER BY event_id, part LIMIT ?4)")                                         \
    X(ST_HOOK_AT_INSERT,                                                          \
      "INSERT INTO webhook_attempts (delivery_id, at, status, outcome, error, "   \
      "latency_ms, response) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                \
    X(ST_HOOK_AT_LIST,                                                            \
      "SELECT id, delivery_id, at, status, outcome, error, latency_ms, response " \
      "FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY id")

enum stmt_id {
#define ST_ENUM(id, sql) id,
    STMTS(ST_ENUM)
#undef ST_ENUM
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
#define ST_SQL(id, sql) [id] = (sql),
    STMTS(ST_SQL)
#undef ST_SQL
};

/* ticket_list: one cached variant per combination of filters. Parameter
 * numbers are fixed whatever the variant: ?1 after_id, ?2 status, ?3 group,
 * ?4 assignee, ?5 customer_id, ?6 limit. */
enum {
    LF_STATUS = 1 << 0,
    LF_GROUP = 1 << 1,
    LF_ASSIGNEE = 1 << 2,
    LF_UNASSIGNED = 1 << 3,
    LF_CUSTOMER = 1 << 4,
    LIST_VARIANTS = 1 << 5
};

/* store_hook_delivery_list: the same scheme; ?1 after_id, ?2 endpoint,
 * ?3 state, ?4 ticket_id, ?5 limit. "failed" is state pending plus
 * HF_RETRYING. */
enum {
    HF_ENDPOINT = 1 << 0,
    HF_STATE = 1 << 1,
    HF_RETRYING = 1 << 2,
    HF_TICKET = 1 << 3,
    HOOK_LIST_VARIANTS = 1 << 4
};

static const char *const hook_list_conds[] = {
    " AND endpoint = ?2",       /* HF_ENDPOINT */
    " AND state = ?3",          /* HF_STATE */
    " AND attempts > 0",        /* HF_RETRYING */
    " AND ticket_id = ?4",      /* HF_TICKET */
};

static const char *const list_conds[] = {
    " AND status = ?2",         /* LF_STATUS */
    " AND grp = ?3",            /* LF_GROUP */
    " AND assignee = ?4",       /* LF_ASSIGNEE */
    " AND assignee IS NULL",    /* LF_UNASSIGNED */
    " AND customer_id = ?5",    /* LF_CUSTOMER */
};

/* The connection. `base` must stay first: &q->base is the struct store *. */
struct ckpt;

struct sq {
    struct store base;
    sqlite3 *db;                            /* owned */
    struct ckpt *ck;                        /* owned; the writer's checkpointer, or NULL */
    enum store_mode mode;
    char *path;                             /* owned copy, for messages */
    int brc;                                /* first failed bind since stmt() */
    sqlite3_stmt *st[ST_COUNT];             /* owned; NULL until first use */
    sqlite3_stmt *list[LIST_VARIANTS];      /* owned; NULL until first use */
    sqlite3_stmt *hook_list[HOOK_LIST_VARIANTS];   /* owned; NULL until first use */
};

static struct sq *sq_of(struct store *s)
{
    return (struct sq *)s;
}

/* ---- errors and statement plumbing ----------------------------------------------- */

/* Translate an SQLite result code (and the connection's message) into ours. */
static int fail(struct sq *q, int rc, const char *what, struct err *e)
{
    int code;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = ERR_BUSY;
        break;
    case SQLITE_CONSTRAINT:
        code = ERR_CONFLICT;
        break;
    default:
        code = ERR_DB;
        break;
    }
    err_set(e, code, "%s: %s", what, sqlite3_errmsg(q->db));
    return code;
}

static int too_big(const char *what, struct err *e)
{
    err_set(e, ERR_TOOBIG, "%s: result does not fit in the request's memory", what);
    return ERR_TOOBIG;
}

/* Prepare sql into *slot unless it is there already. */
static int prepare(struct sq *q, sqlite3_stmt **slot, const char *sql, struct err *e)
{
    if (*slot != NULL)
        return 0;
    int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        *slot = NULL;
        return fail(q, rc, "prepare statement", e);
    }
    return 0;
}

/* The cached statement `id`, ready for binding. */
static int stmt(struct sq *q, enum stmt_id id, sqlite3_stmt **out, struct err *e)
{
    int rc = prepare(q, &q->st[id], stmt_sql[id], e);
    if (rc != 0)
        return rc;
    q->brc = SQLITE_OK;
    *out = q->st[id];
    return 0;
}

/* Make a statement reusable: every use ends here, success or not. */
static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Binders remember the first failure in q->brc; step() reports it. Text is
 * bound SQLITE_STATIC: callers keep it alive until done(). */
static void bind_int(struct sq *q, sqlite3_stmt *st, int i, int64_t v)
{
    int rc = sqlite3_bind_int64(st, i, v);
    if (rc != SQLITE_OK && q->brc == SQLITE_OK)
        q->brc = rc;
}

/* 0 means "none" in the records and NULL in the table. */
static void bind_opt(struct sq *q, sqlite3_stmt *st, int i, int64_t v)
{
    int rc = v == 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
    if (rc != SQLITE_OK && q->brc == SQLITE_OK)
        q->brc = rc;
}

static void bind_text(struct sq *q, sqlite3_stmt *st, int i, const char *s)
{
    int rc = s == NULL ? sqlite3_bind_null(st, i)
                       : sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK && q->brc == SQLITE_OK)
        q->brc = rc;
}

/* One step: 1 for a row, 0 when done, or a negative ERR_*. Does not reset. */
static int step(struct sq *q, sqlite3_stmt *st, const char *what, struct err *e)
{
    if (q->brc != SQLITE_OK) {
        int brc = q->brc;
        q->brc = SQLITE_OK;
        return err_set(e, brc == SQLITE_TOOBIG ? ERR_TOOBIG : ERR_DB,
                       "%s: cannot bind a value: %s", what, sqlite3_errstr(brc));
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return fail(q, rc, what, e);
}

/* Run a statement that returns no rows, then reset it. */
static int run(struct sq *q, sqlite3_stmt *st, const char *what, struct err *e)
{
    int rc = step(q, st, what, e);
    done(st);
    return rc < 0 ? rc : 0;
}

/* Run cached statement `id` without parameters. */
static int run_id(struct sq *q, enum stmt_id id, const char *what, struct err *e)
{
    sqlite3_stmt *st;
    int rc = stmt(q, id, &st, e);
    return rc != 0 ? rc : run(q, st, what, e);
}

/* Run constant SQL text (pragmas, DDL of migrations); several statements ok. */
static int exec(struct sq *q, const char *sql, const char *what, struct err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? ERR_BUSY : ERR_DB;
    err_set(e, code, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return code;
}

/* ---- reading columns into the caller's arena ------------------------------------ */

/* Column i as an arena string; NULL stays NULL. */
static int col_str(sqlite3_stmt *st, int i, struct arena *a, const char **out,
                   struct err *e)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        *out = NULL;
        return 0;
    }
    const unsigned char *p = sqlite3_column_text(st, i);
    if (p == NULL)
        return err_set(e, ERR_NOMEM, "out of memory reading a column");
    char *s = arena_strndup(a, (const char *)p, (size_t)sqlite3_column_bytes(st, i));
    if (s == NULL)
        return too_big("read column", e);
    *out = s;
    return 0;
}

/* Column i as a borrowed string, valid until the next step/reset. */
static const char *col_peek(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Decode a JSON object of strings (custom fields, thread data) into an arena
 * kv array. NULL / "{}" give an empty array without touching jansson. */
static int decode_kv(sqlite3_stmt *st, int col, struct arena *a, struct kv **out,
                     size_t *n, const char *what, int64_t id, struct err *e)
{
    *out = NULL;
    *n = 0;
    const char *text = col_peek(st, col);
    if (text == NULL || strcmp(text, "{}") == 0)
        return 0;

    json_t *obj;
    struct err je = {0};
    if (jx_parse(text, (size_t)sqlite3_column_bytes(st, col), &obj, &je) != 0)
        return err_set(e, ERR_DB, "%s of %lld: %s", what, (long long)id, je.msg);
    int rc = 0;
    if (!json_is_object(obj)) {
        rc = err_set(e, ERR_DB, "%s of %lld: not a JSON object", what, (long long)id);
        goto out_json;
    }
    size_t count = json_object_size(obj);
    struct kv *kv = arena_alloc(a, count * sizeof *kv);
    if (kv == NULL) {
        rc = too_big(what, e);
        goto out_json;
    }
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        kv[i].key = arena_strdup(a, key);
        if (json_is_string(val)) {
            kv[i].value = arena_strndup(a, json_string_value(val), json_string_length(val));
            if (kv[i].value == NULL) {
                rc = too_big(what, e);
                goto out_json;
            }
        } else if (!json_is_null(val)) {
            rc = err_set(e, ERR_DB, "%s of %lld: value of '%s' is not a string",
                         what, (long long)id, key);
            goto out_json;
        }
        if (kv[i].key == NULL) {
            rc = too_big(what, e);
            goto out_json;
        }
        i++;
    }
    *out = kv;
    *n = i;
out_json:
    json_decref(obj);
    return rc;
}

/* Decode a JSON array of strings (tags, escalations applied: `what`) of
 * ticket id. NULL / "[]" give none without touching jansson. */
static int decode_list(sqlite3_stmt *st, int col, struct arena *a, const char ***out,
                       size_t *n, const char *what, int64_t id, struct err *e)
{
    *out = NULL;
    *n = 0;
    const char *text = col_peek(st, col);
    if (text == NULL || strcmp(text, "[]") == 0)
        return 0;

    json_t *arr;
    struct err je = {0};
    if (jx_parse(text, (size_t)sqlite3_column_bytes(st, col), &arr, &je) != 0)
        return err_set(e, ERR_DB, "%s of ticket %lld: %s", what, (long long)id, je.msg);
    int rc = 0;
    if (!json_is_array(arr)) {
        rc = err_set(e, ERR_DB, "%s of ticket %lld: not a JSON array", what, (long long)id);
        goto out_json;
    }
    size_t count = json_array_size(arr);
    const char **tags = arena_alloc(a, count * sizeof *tags);
    if (tags == NULL) {
        rc = too_big(what, e);
        goto out_json;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            rc = err_set(e, ERR_DB, "%s of ticket %lld: item %zu is not a string", what,
                         (long long)id, i);
            goto out_json;
        }
        tags[i] = arena_strndup(a, json_string_value(v), json_string_length(v));
        if (tags[i] == NULL) {
            rc = too_big(what, e);
            goto out_json;
        }
    }
    *out = tags;
    *n = count;
out_json:
    json_decref(arr);
    return rc;
}

/* ---- encoding JSON columns --------------------------------------------------------- */

/* kv array → heap JSON object text (mem_free), or NULL when n == 0. A later
 * duplicate key replaces an earlier one. */
static int encode_kv(const struct kv *kv, size_t n, char **out, const char *what,
                     struct err *e)
{
    *out = NULL;
    if (n == 0)
        return 0;
    json_t *obj = json_object();
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key == NULL) {
            json_decref(obj);
            return err_set(e, ERR_INVAL, "%s: entry %zu has no key", what, i);
        }
        json_t *v = jx_str_or_null(kv[i].value);
        if (json_object_set_new(obj, kv[i].key, v) != 0) {
            json_decref(obj);
            return err_field(e, ERR_INVAL, kv[i].key,
                             "%s: '%s' is not valid UTF-8", what, kv[i].key);
        }
    }
    *out = jx_dumps(obj);
    json_decref(obj);
    return 0;
}

/* String array (tags, escalations: `field`) → heap JSON array text
 * (mem_free), or NULL when n == 0. */
static int encode_list(const char *const *tags, size_t n, const char *field, char **out,
                       struct err *e)
{
    *out = NULL;
    if (n == 0)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *v = tags[i] ? json_string(tags[i]) : NULL;
        if (json_array_append_new(arr, v) != 0) {
            json_decref(arr);
            return err_field(e, ERR_INVAL, field, "%s: item %zu is missing or not valid UTF-8",
                             field, i);
        }
    }
    *out = jx_dumps(arr);
    json_decref(arr);
    return 0;
}

/* ---- growable result arrays ----------------------------------------------------------- */

/* Rows are collected on the heap and copied into the arena once at the end,
 * so the arena holds exactly one array per result. */
struct vec {
    char *p;
    size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->p = mem_realloc(v->p, v->cap * v->size);
    }
    void *slot = v->p + v->n * v->size;
    memset(slot, 0, v->size);
    v->n++;
    return slot;
}

/* Move the rows into the arena (*arr NULL when none) and free the heap copy. */
static int vec_finish(struct vec *v, struct arena *a, void **arr, size_t *n,
                      const char *what, struct err *e)
{
    int rc = 0;
    *arr = NULL;
    if (v->n > 0) {
        *arr = arena_alloc(a, v->n * v->size);
        if (*arr == NULL)
            rc = too_big(what, e);
        else
            memcpy(*arr, v->p, v->n * v->size);
    }
    mem_freep(&v->p);
    if (rc == 0)
        *n = v->n;
    return rc;
}

/* One row of a result into the slot `row` (zeroed), strings into `a`. */
typedef int (*row_fill)(sqlite3_stmt *st, struct arena *a, void *row, struct err *e);

/*
 * Step a bound statement to the end, filling one `size`-byte record per row
 * with `fill`, and hand back the arena array (*out NULL when no rows). The
 * statement is reset whatever happens.
 */
static int collect(struct sq *q, sqlite3_stmt *st, const char *what, struct arena *a,
                   size_t size, row_fill fill, void **out, size_t *n, struct err *e)
{
    struct vec v = {.size = size};
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = step(q, st, what, e)) == 1)
        if ((rc = fill(st, a, vec_push(&v), e)) != 0)
            break;
    done(st);
    if (rc != 0) {
        mem_free(v.p);
        return rc;
    }
    return vec_finish(&v, a, out, n, what, e);
}


/* ---- schema version and migrations ----------------------------------------------------- */

static int latest_version(void)
{
    int v = 0;
    for (int i = 0; i < store_migrations_count; i++)
        if (store_migrations[i].version > v)
            v = store_migrations[i].version;
    return v;
}

/* max(version) of schema_version, 0 when empty; the table must exist. */
static int read_version(struct sq *q, int *out, struct err *e)
{
    sqlite3_stmt *st;
    int rc = stmt(q, ST_VERSION, &st, e);
    if (rc != 0)
        return rc;
    rc = step(q, st, "read schema version", e);
    if (rc >= 0) {
        *out = rc == 1 ? sqlite3_column_int(st, 0) : 0;
        rc = 0;
    }
    done(st);
    return rc;
}

/* Whether migration `version` is recorded in schema_version. */
static int recorded(struct sq *q, int version, bool *out, struct err *e)
{
    sqlite3_stmt *st;
    int rc = stmt(q, ST_VERSION_HAS, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, version);
    rc = step(q, st, "read schema version", e);
    if (rc >= 0) {
        *out = rc == 1 && sqlite3_column_int(st, 0) > 0;
        rc = 0;
    }
    done(st);
    return rc;
}

static int has_version_table(struct sq *q, bool *out, struct err *e)
{
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HAS_VERSION_TABLE, &st, e);
    if (rc != 0)
        return rc;
    rc = step(q, st, "look for schema_version", e);
    if (rc >= 0) {
        *out = rc == 1 && sqlite3_column_int(st, 0) > 0;
        rc = 0;
    }
    done(st);
    return rc;
}

/* Apply one migration in its own transaction, unless another process did
 * it between our check and our lock. */
static int apply(struct sq *q, const struct store_migration *m, struct err *e)
{
    char what[160];
    snprintf(what, sizeof what, "migration %03d_%s", m->version, m->name);
    int rc = run_id(q, ST_BEGIN, what, e);
    if (rc != 0)
        return rc;
    bool done_before;
    rc = recorded(q, m->version, &done_before, e);
    if (rc != 0)
        goto out_rollback;
    if (done_before)
        return run_id(q, ST_COMMIT, what, e);
    rc = exec(q, m->sql, what, e);
    if (rc != 0)
        goto out_rollback;
    sqlite3_stmt *st;
    rc = stmt(q, ST_VERSION_ADD, &st, e);
    if (rc != 0)
        goto out_rollback;
    bind_int(q, st, 1, m->version);
    bind_text(q, st, 2, m->name);
    rc = run(q, st, what, e);
    if (rc != 0)
        goto out_rollback;
    rc = run_id(q, ST_COMMIT, what, e);
    if (rc != 0)
        goto out_rollback;
    return 0;
out_rollback:
    if (!sqlite3_get_autocommit(q->db))
        run_id(q, ST_ROLLBACK, what, NULL);
    return rc;
}

static int newer(int v, int latest, struct err *e)
{
    return err_set(e, ERR_SCHEMA, "database schema version %d is newer than this binary (%d)",
                   v, latest);
}

/* RW: create the version table if needed, refuse a newer database, apply
 * every migration not recorded yet, in order. Recorded one by one rather
 * than by the highest version, so migrations numbered on parallel branches
 * (a 002 merged after a database already has 003) are still applied. */
static int migrate(struct sq *q, struct err *e)
{
    int rc = exec(q, "CREATE TABLE IF NOT EXISTS schema_version ("
                     "version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
                  "create schema_version", e);
    if (rc != 0)
        return rc;
    int v, latest = latest_version();
    rc = read_version(q, &v, e);
    if (rc != 0)
        return rc;
    if (v > latest)
        return newer(v, latest, e);
    for (int i = 0; i < store_migrations_count; i++) {
        bool have;
        rc = recorded(q, store_migrations[i].version, &have, e);
        if (rc == 0 && !have)
            rc = apply(q, &store_migrations[i], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* RO: the database must be migrated by a RW open to exactly our version. */
static int check_version(struct sq *q, struct err *e)
{
    bool has;
    int rc = has_version_table(q, &has, e);
    if (rc != 0)
        return rc;
    int v = 0, latest = latest_version();
    if (has && (rc = read_version(q, &v, e)) != 0)
        return rc;
    if (v == 0)
        return err_set(e, ERR_SCHEMA, "database '%s' is not migrated (open it read-write first)",
                       q->path);
    if (v > latest)
        return newer(v, latest, e);
    for (int i = 0; i < store_migrations_count; i++) {
        bool have;
        if ((rc = recorded(q, store_migrations[i].version, &have, e)) != 0)
            return rc;
        if (!have)
            return err_set(e, ERR_SCHEMA, "database lacks migration %03d_%s of this binary "
                           "(%d); open it read-write first to migrate",
                           store_migrations[i].version, store_migrations[i].name, latest);
    }
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

/* ---- the writer's background checkpointer ---------------------------------------- */

/*
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses the
 * threshold: it copies thousands of pages into the database file and
 * fsyncs it while the engine, the single writer, waits. The writer
 * instead hands that work to a thread with its own connection, woken by
 * the WAL hook; PASSIVE checkpoints never block the writer. Should the
 * checkpointer fall far behind (a long-lived reader pins the WAL), the
 * writer checkpoints inline as SQLite would, so the WAL stays bounded.
 */
/* 1000 pages, SQLite's own autocheckpoint size: a WAL kept short stays
 * cheap to search and to copy back. (An earlier note here credited 1000
 * over 4000 with ~10% more ingest throughput; that was measured while the
 * checkpointer was a no-op — see ckpt_start — so it compared noise.) */
#define CKPT_PAGES 1000             /* wake the checkpointer at this WAL size */
#define CKPT_INLINE_PAGES 64000     /* ... and checkpoint inline past this */

struct ckpt {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool due, stop;
    sqlite3 *db;                    /* owned; used by the thread only */
};

static void *ckpt_main(void *arg)
{
    struct ckpt *ck = arg;
    pthread_mutex_lock(&ck->mu);
    for (;;) {
        while (!ck->due && !ck->stop)
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (ck->stop)
            break;
        ck->due = false;
        pthread_mutex_unlock(&ck->mu);
        int rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_msg(LOG_WARN, "store.checkpoint_failed", "background checkpoint: %s",
                    sqlite3_errmsg(ck->db));
        pthread_mutex_lock(&ck->mu);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

/* Past CKPT_PAGES: hand the checkpoint to the thread (see on_wal). */
static void ckpt_wake(struct ckpt *ck)
{
    pthread_mutex_lock(&ck->mu);
    ck->due = true;
    pthread_cond_signal(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
}

static void ckpt_stop(struct sq *q)
{
    struct ckpt *ck = q->ck;
    if (ck == NULL)
        return;
    q->ck = NULL;                   /* on_wal, on this same thread, stops waking it */
    pthread_mutex_lock(&ck->mu);
    ck->stop = true;
    pthread_cond_signal(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    pthread_join(ck->th, NULL);
    sqlite3_close(ck->db);
    pthread_cond_destroy(&ck->cv);
    pthread_mutex_destroy(&ck->mu);
    mem_free(ck);
    q->ck = NULL;
}

static int ckpt_start(struct sq *q, int busy_ms, struct err *e)
{
    struct ckpt *ck = mem_alloc(sizeof *ck);
    memset(ck, 0, sizeof *ck);
    int rc = sqlite3_open_v2(q->path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        rc = err_set(e, ERR_DB, "cannot open checkpoint connection to '%s': %s", q->path,
                     ck->db ? sqlite3_errmsg(ck->db) : sqlite3_errstr(rc));
        sqlite3_close(ck->db);
        mem_free(ck);
        return rc;
    }
    sqlite3_busy_timeout(ck->db, busy_ms);
    /* A connection only learns the database is in WAL mode when it first
     * reads it; until then sqlite3_wal_checkpoint_v2 is a successful no-op
     * (the log and checkpoint counts come back -1) and the WAL would grow
     * until the writer's inline checkpoint. */
    rc = sqlite3_exec(ck->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = err_set(e, ERR_DB, "cannot read '%s' for checkpoints: %s", q->path,
                     sqlite3_errmsg(ck->db));
        sqlite3_close(ck->db);
        mem_free(ck);
        return rc;
    }
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    if (pthread_create(&ck->th, NULL, ckpt_main, ck) != 0) {
        sqlite3_close(ck->db);
        pthread_cond_destroy(&ck->cv);
        pthread_mutex_destroy(&ck->mu);
        mem_free(ck);
        return err_set(e, ERR_INTERNAL, "cannot start the checkpoint thread");
    }
    q->ck = ck;                     /* on_wal wakes it; wal_autocheckpoint stays off */
    return 0;
}

static void sq_close(struct store *s)
{
    struct sq *q = sq_of(s);
    ckpt_stop(q);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(q->st[i]);
    for (int i = 0; i < LIST_VARIANTS; i++)
        sqlite3_finalize(q->list[i]);
    for (int i = 0; i < HOOK_LIST_VARIANTS; i++)
        sqlite3_finalize(q->hook_list[i]);
    sqlite3_close(q->db);   /* rolls back an open transaction; NULL is fine */
    mem_free(q->path);
    mem_free(q);
}

static const struct store_ops sqlite_ops;

/* Before the first connection: no global allocation statistics, which
 * SQLite otherwise keeps under a process-wide mutex on every malloc. */
static void tune_library(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/*
 * Called by SQLite after each commit that wrote to the WAL, with its size:
 * first the commit hook (store_set_commit_hook) so a woken reader goes on
 * at once, then the checkpoint policy — wake the background checkpointer
 * past CKPT_PAGES, or checkpoint right here past CKPT_INLINE_PAGES (the
 * checkpointer has fallen behind, or is not running yet during migration).
 */
static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq *q = arg;
    if (q->base.on_commit != NULL)
        q->base.on_commit(q->base.on_commit_arg);
    if (frames >= CKPT_INLINE_PAGES || (q->ck == NULL && frames >= CKPT_PAGES))
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    else if (q->ck != NULL && frames >= CKPT_PAGES)
        ckpt_wake(q->ck);
    return SQLITE_OK;
}

/*
 * Open per cfg: path (default "tgcrm.db"), synchronous "full" (default) or
 * "normal", busy_timeout_ms (<= 0 means the default 5000). RW creates the
 * file, switches it to WAL and migrates; RO needs an existing database at
 * exactly this binary's schema version (ERR_SCHEMA otherwise).
 */
int store_sqlite_open(const struct cfg_store *cfg, enum store_mode mode,
                      struct store **out, struct err *e)
{
    *out = NULL;
    const char *path = cfg->path ? cfg->path : "tgcrm.db";
    const char *sync_sql;
    if (cfg->synchronous == NULL || strcasecmp(cfg->synchronous, "full") == 0)
        sync_sql = "PRAGMA synchronous = FULL";
    else if (strcasecmp(cfg->synchronous, "normal") == 0)
        sync_sql = "PRAGMA synchronous = NORMAL";
    else
        return err_set(e, ERR_CONFIG, "unknown store synchronous '%s' (expected full or normal)",
                       cfg->synchronous);
    int busy_ms = cfg->busy_timeout_ms <= 0 ? 5000
                : cfg->busy_timeout_ms > INT_MAX ? INT_MAX : (int)cfg->busy_timeout_ms;

    struct sq *q = mem_alloc(sizeof *q);
    q->base.ops = &sqlite_ops;
    q->mode = mode;
    q->path = mem_strdup(path);

    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, tune_library);
    /* A struct store is used by one thread at a time (store.h), so the
     * connection needs none of SQLite's per-call mutex. */
    int flags = SQLITE_OPEN_NOMUTEX |
                (mode == STORE_RO ? SQLITE_OPEN_READONLY
                                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (mode == STORE_RO && (rc & 0xff) == SQLITE_CANTOPEN)
            rc = err_set(e, ERR_SCHEMA, "database '%s' cannot be opened read-only (%s); "
                         "open it read-write first to create and migrate it",
                         path, sqlite3_errstr(rc));
        else
            rc = err_set(e, ERR_DB, "cannot open database '%s': %s", path,
                         q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        goto out_close;
    }
    sqlite3_busy_timeout(q->db, busy_ms);
    if (mode == STORE_RW) {
        /* The writer commits batches of hundreds of events, each under a
         * savepoint: a page cache that holds a whole batch (no spills to the
         * WAL mid-transaction), savepoint journals in memory instead of a
         * temp file, and a WAL that folds repeated writes of hot index pages
         * into one checkpoint (taken in the background: ckpt_start, on_wal)
         * roughly double ingest throughput. */
        if ((rc = exec(q, "PRAGMA journal_mode = WAL", "set WAL mode", e)) != 0 ||
            (rc = exec(q, sync_sql, "set synchronous", e)) != 0 ||
            (rc = exec(q, "PRAGMA cache_size = -16384", "set cache size", e)) != 0)
            goto out_close;
        sqlite3_wal_hook(q->db, on_wal, q);
    }
    if ((rc = exec(q, "PRAGMA foreign_keys = ON", "enable foreign keys", e)) != 0 ||
        (rc = exec(q, "PRAGMA temp_store = MEMORY", "set temp store", e)) != 0)
        goto out_close;
    rc = mode == STORE_RW ? migrate(q, e) : check_version(q, e);
    if (rc == 0 && mode == STORE_RW)
        rc = ckpt_start(q, busy_ms, e);
    if (rc != 0)
        goto out_close;
    *out = &q->base;
    return 0;
out_close:
    sq_close(&q->base);
    return rc;
}

static int sq_schema_version(struct store *s, int *out, struct err *e)
{
    struct sq *q = sq_of(s);
    bool has;
    int rc = has_version_table(q, &has, e);
    if (rc != 0)
        return rc;
    *out = 0;
    return has ? read_version(q, out, e) : 0;
}

/* ---- transactions ------------------------------------------------------------------------- */

static int sq_begin(struct store *s, struct err *e)
{
    return run_id(sq_of(s), ST_BEGIN, "begin transaction", e);
}

static int sq_commit(struct store *s, struct err *e)
{
    return run_id(sq_of(s), ST_COMMIT, "commit", e);
}

/* A no-op outside a transaction, so cleanup paths can always call it. */
static int sq_rollback(struct store *s, struct err *e)
{
    struct sq *q = sq_of(s);
    if (sqlite3_get_autocommit(q->db))
        return 0;
    return run_id(q, ST_ROLLBACK, "rollback", e);
}

static int sq_savepoint(struct store *s, struct err *e)
{
    return run_id(sq_of(s), ST_SAVEPOINT, "savepoint", e);
}

static int sq_release(struct store *s, struct err *e)
{
    return run_id(sq_of(s), ST_RELEASE, "release savepoint", e);
}

/* Undo to the savepoint and drop it, so the next event can set a new one. */
static int sq_rollback_savepoint(struct store *s, struct err *e)
{
    struct sq *q = sq_of(s);
    int rc = run_id(q, ST_ROLLBACK_TO, "rollback to savepoint", e);
    return rc != 0 ? rc : run_id(q, ST_RELEASE, "release savepoint", e);
}

/* ---- meta ------------------------------------------------------------------------------------- */

static int sq_meta_get(struct store *s, const char *key, struct arena *a,
                       const char **out, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_META_GET, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, key);
    rc = step(q, st, "read meta", e);
    if (rc == 1)
        rc = col_str(st, 0, a, out, e);
    else if (rc == 0)
        rc = err_set(e, ERR_NOTFOUND, "meta key '%s' not found", key);
    done(st);
    return rc;
}

static int sq_meta_set(struct store *s, const char *key, const char *value,
                       struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_META_SET, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, key);
    bind_text(q, st, 2, value ? value : "");
    return run(q, st, "write meta", e);
}

/* ---- customers ----------------------------------------------------------------------------------- */

static int read_customer(sqlite3_stmt *st, struct arena *a, struct customer **out,
                         struct err *e)
{
    struct customer *c = arena_alloc(a, sizeof *c);
    if (c == NULL)
        return too_big("read customer", e);
    int rc;
    c->id = sqlite3_column_int64(st, 0);
    c->tg_user_id = sqlite3_column_int64(st, 1);
    if ((rc = col_str(st, 2, a, &c->first_name, e)) != 0 ||
        (rc = col_str(st, 3, a, &c->last_name, e)) != 0 ||
        (rc = col_str(st, 4, a, &c->username, e)) != 0 ||
        (rc = col_str(st, 5, a, &c->language, e)) != 0 ||
        (rc = col_str(st, 6, a, &c->tier, e)) != 0)
        return rc;
    c->blocked = sqlite3_column_int(st, 7) != 0;
    c->created_at = sqlite3_column_int64(st, 8);
    *out = c;
    return 0;
}

static int customer_query(struct sq *q, enum stmt_id id, int64_t v, const char *what,
                          struct arena *a, struct customer **out, struct err *e)
{
    sqlite3_stmt *st;
    int rc = stmt(q, id, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, v);
    rc = step(q, st, "read customer", e);
    if (rc == 1)
        rc = read_customer(st, a, out, e);
    else if (rc == 0)
        rc = err_set(e, ERR_NOTFOUND, "customer with %s %lld not found", what, (long long)v);
    done(st);
    return rc;
}

static int sq_customer_get(struct store *s, int64_t id, struct arena *a,
                           struct customer **out, struct err *e)
{
    return customer_query(sq_of(s), ST_CUSTOMER_GET, id, "id", a, out, e);
}

static int sq_customer_get_by_tg(struct store *s, int64_t tg_user_id, struct arena *a,
                                 struct customer **out, struct err *e)
{
    return customer_query(sq_of(s), ST_CUSTOMER_GET_TG, tg_user_id, "tg_user_id", a, out, e);
}

/* Parameters ?1..?8 are shared by the insert and the update; the update's
 * ?9 is the id (the insert has no ?9). */
static void bind_customer(struct sq *q, sqlite3_stmt *st, const struct customer *c,
                          bool update)
{
    bind_int(q, st, 1, c->tg_user_id);
    bind_text(q, st, 2, c->first_name ? c->first_name : "");
    bind_text(q, st, 3, c->last_name);
    bind_text(q, st, 4, c->username);
    bind_text(q, st, 5, c->language);
    bind_text(q, st, 6, c->tier ? c->tier : "standard");
    bind_int(q, st, 7, c->blocked ? 1 : 0);
    bind_int(q, st, 8, c->created_at);
    if (update)
        bind_int(q, st, 9, c->id);
}

static int sq_customer_insert(struct store *s, struct customer *c, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_CUSTOMER_INSERT, &st, e);
    if (rc != 0)
        return rc;
    bind_customer(q, st, c, false);
    struct err se = {0};
    rc = step(q, st, "insert customer", &se);
    if (rc == ERR_CONFLICT)
        rc = err_set(e, ERR_CONFLICT, "customer with tg_user_id %lld exists",
                     (long long)c->tg_user_id);
    else if (rc < 0 && e != NULL && e->code == 0)
        *e = se;
    if (rc >= 0) {
        c->id = sqlite3_last_insert_rowid(q->db);
        rc = 0;
    }
    done(st);
    return rc;
}

static int sq_customer_update(struct store *s, const struct customer *c, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_CUSTOMER_UPDATE, &st, e);
    if (rc != 0)
        return rc;
    bind_customer(q, st, c, true);
    rc = step(q, st, "update customer", e);
    if (rc >= 0)
        rc = sqlite3_changes(q->db) == 0
           ? err_set(e, ERR_NOTFOUND, "customer %lld not found", (long long)c->id) : 0;
    done(st);
    return rc;
}

/* ---- tickets ---------------------------------------------------------------------------------------- */

static int parse_status(const char *name, enum ticket_status *out, int64_t id,
                        struct err *e)
{
    struct err pe = {0};
    if (ticket_status_parse(name, out, &pe) != 0)
        return err_set(e, ERR_DB, "ticket %lld: unknown status '%s' in the store",
                       (long long)id, name ? name : "");
    return 0;
}

/* Note the indexed columns as now stored (see ticket.stored). */
static void remember_keys(struct ticket *t)
{
    t->stored.known = true;
    t->stored.status = t->status;
    t->stored.priority = t->priority;
    t->stored.group = t->group;
    t->stored.assignee = t->assignee;
    t->stored.strategy = t->strategy;
    t->stored.topic_id = t->topic_id;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The SLA clocks of column col (NULL: none) into the arena. */
static int decode_sla(sqlite3_stmt *st, int col, struct arena *a, struct sla_state **out,
                      int64_t id, struct err *e)
{
    *out = NULL;
    const char *text = col_peek(st, col);
    if (text == NULL)
        return 0;
    struct sla_state *s = arena_alloc(a, sizeof *s);
    if (s == NULL)
        return too_big("read SLA state", e);
    struct err je = {0};
    if (sla_read(text, (size_t)sqlite3_column_bytes(st, col), s, &je) != 0)
        return err_set(e, ERR_DB, "SLA state of ticket %lld: %s", (long long)id, je.msg);
    *out = s;
    return 0;
}

/* The knowledge-base suggestions of column col ("[]": none, without
 * touching jansson) into the arena. */
static int decode_kb(sqlite3_stmt *st, int col, struct arena *a, struct ticket_kb **out,
                     size_t *n, int64_t id, struct err *e)
{
    *out = NULL;
    *n = 0;
    const char *text = col_peek(st, col);
    if (text == NULL || strcmp(text, "[]") == 0)
        return 0;
    json_t *arr;
    struct err je = {0};
    if (jx_parse(text, (size_t)sqlite3_column_bytes(st, col), &arr, &je) != 0)
        return err_set(e, ERR_DB, "kb suggestions of ticket %lld: %s", (long long)id, je.msg);
    int rc = 0;
    size_t count = json_is_array(arr) ? json_array_size(arr) : 0;
    struct ticket_kb *kb = arena_alloc(a, (count + 1) * sizeof *kb);
    if (kb == NULL)
        rc = too_big("kb suggestions", e);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *v = json_array_get(arr, i);
        const char *aid = json_string_value(json_object_get(v, "id"));
        const char *title = json_string_value(json_object_get(v, "title"));
        const char *url = json_string_value(json_object_get(v, "url"));
        if (aid == NULL || title == NULL) {
            rc = err_set(e, ERR_DB, "kb suggestions of ticket %lld: item %zu has no id or title",
                         (long long)id, i);
            break;
        }
        kb[i] = (struct ticket_kb){arena_strdup(a, aid), arena_strdup(a, title),
                                   url ? arena_strdup(a, url) : NULL,
                                   json_number_value(json_object_get(v, "score"))};
        if (kb[i].id == NULL || kb[i].title == NULL || (url != NULL && kb[i].url == NULL))
            rc = too_big("kb suggestions", e);
    }
    if (rc == 0) {
        *out = kb;
        *n = count;
    }
    json_decref(arr);
    return rc;
}

/* Fill t from a row of TICKET_COLS. */
static int fill_ticket(sqlite3_stmt *st, struct arena *a, struct ticket *t, struct err *e)
{
    int rc;
    t->id = sqlite3_column_int64(st, 0);
    t->customer_id = sqlite3_column_int64(st, 1);
    if ((rc = parse_status(col_peek(st, 2), &t->status, t->id, e)) != 0)
        return rc;
    struct err pe = {0};
    if (ticket_priority_parse(col_peek(st, 3), &t->priority, &pe) != 0)
        return err_set(e, ERR_DB, "ticket %lld: %s", (long long)t->id, pe.msg);
    if ((rc = col_str(st, 4, a, &t->group, e)) != 0 ||
        (rc = col_str(st, 5, a, &t->assignee, e)) != 0 ||
        (rc = col_str(st, 6, a, &t->rule, e)) != 0 ||
        (rc = col_str(st, 7, a, &t->subject, e)) != 0 ||
        (rc = decode_kv(st, 8, a, &t->fields, &t->nfields, "custom fields of ticket",
                        t->id, e)) != 0 ||
        (rc = decode_list(st, 9, a, &t->tags, &t->ntags, "tags", t->id, e)) != 0 ||
        (rc = col_str(st, 20, a, &t->strategy, e)) != 0 ||
        (rc = decode_list(st, 22, a, &t->escalations, &t->nescalations, "escalations",
                          t->id, e)) != 0 ||
        (rc = decode_sla(st, 23, a, &t->sla, t->id, e)) != 0 ||
        (rc = decode_kb(st, 24, a, &t->kb, &t->nkb, t->id, e)) != 0)
        return rc;
    t->topic_id = sqlite3_column_int64(st, 10);
    t->created_at = sqlite3_column_int64(st, 11);
    t->updated_at = sqlite3_column_int64(st, 12);
    t->first_response_at = sqlite3_column_int64(st, 13);
    t->resolved_at = sqlite3_column_int64(st, 14);
    t->closed_at = sqlite3_column_int64(st, 15);
    t->last_customer_msg_at = sqlite3_column_int64(st, 16);
    t->last_agent_msg_at = sqlite3_column_int64(st, 17);
    t->thread_len = sqlite3_column_int(st, 18);
    t->reopen_count = sqlite3_column_int(st, 19);
    t->waiting_since = sqlite3_column_int64(st, 21);
    remember_keys(t);
    return 0;
}

static int read_ticket(sqlite3_stmt *st, struct arena *a, struct ticket **out,
                       struct err *e)
{
    struct ticket *t = arena_alloc(a, sizeof *t);
    if (t == NULL)
        return too_big("read ticket", e);
    int rc = fill_ticket(st, a, t, e);
    if (rc == 0)
        *out = t;
    return rc;
}

/* One ticket by a single integer parameter; ERR_NOTFOUND names `what`. */
static int ticket_query(struct sq *q, enum stmt_id id, int64_t v, const char *what,
                        struct arena *a, struct ticket **out, struct err *e)
{
    sqlite3_stmt *st;
    int rc = stmt(q, id, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, v);
    rc = step(q, st, "read ticket", e);
    if (rc == 1)
        rc = read_ticket(st, a, out, e);
    else if (rc == 0)
        rc = err_set(e, ERR_NOTFOUND, "%s %lld not found", what, (long long)v);
    done(st);
    return rc;
}

static int check_ticket(const struct ticket *t, struct err *e)
{
    if ((unsigned)t->status >= TICKET_STATUS_COUNT)
        return err_field(e, ERR_INVAL, "status", "invalid ticket status %d", (int)t->status);
    if ((unsigned)t->priority >= PRIORITY_COUNT)
        return err_field(e, ERR_INVAL, "priority", "invalid ticket priority %d",
                         (int)t->priority);
    if (t->group == NULL)
        return err_field(e, ERR_INVAL, "group", "ticket has no group");
    return 0;
}

/* The JSON columns of a ticket, encoded for one write. */
struct ticket_json {
    char *fields;           /* heap, NULL = "{}" */
    char *tags;             /* heap, NULL = "[]" */
    char *escalations;      /* heap, NULL = "[]" */
    struct buf sla;         /* empty = NULL (no clocks) */
    struct buf kb;          /* empty = "[]" */
};

static int encode_ticket(const struct ticket *t, struct ticket_json *j, struct err *e)
{
    memset(j, 0, sizeof *j);
    buf_init(&j->sla, 0);
    buf_init(&j->kb, 0);
    int rc = encode_kv(t->fields, t->nfields, &j->fields, "custom field", e);
    if (rc == 0)
        rc = encode_list(t->tags, t->ntags, "tags", &j->tags, e);
    if (rc == 0)
        rc = encode_list(t->escalations, t->nescalations, "escalations", &j->escalations, e);
    if (rc == 0 && t->sla != NULL)
        sla_write(&j->sla, t->sla);
    if (rc == 0 && t->nkb > 0)
        view_kb_write(&j->kb, t->kb, t->nkb);
    return rc;
}

static void ticket_json_release(struct ticket_json *j)
{
    mem_free(j->fields);
    mem_free(j->tags);
    mem_free(j->escalations);
    buf_release(&j->sla);
    buf_release(&j->kb);
}

/* Parameters ?1..?25 follow TICKET_COLS. */
static void bind_ticket(struct sq *q, sqlite3_stmt *st, const struct ticket *t,
                        const struct ticket_json *j)
{
    bind_int(q, st, 1, t->id);
    bind_int(q, st, 2, t->customer_id);
    bind_text(q, st, 3, ticket_status_name(t->status));
    bind_text(q, st, 4, ticket_priority_name(t->priority));
    bind_text(q, st, 5, t->group);
    bind_text(q, st, 6, t->assignee);
    bind_text(q, st, 7, t->rule);
    bind_text(q, st, 8, t->subject);
    bind_text(q, st, 9, j->fields ? j->fields : "{}");
    bind_text(q, st, 10, j->tags ? j->tags : "[]");
    bind_opt(q, st, 11, t->topic_id);
    bind_int(q, st, 12, t->created_at);
    bind_int(q, st, 13, t->updated_at);
    bind_opt(q, st, 14, t->first_response_at);
    bind_opt(q, st, 15, t->resolved_at);
    bind_opt(q, st, 16, t->closed_at);
    bind_opt(q, st, 17, t->last_customer_msg_at);
    bind_opt(q, st, 18, t->last_agent_msg_at);
    bind_int(q, st, 19, t->thread_len);
    bind_int(q, st, 20, t->reopen_count);
    bind_text(q, st, 21, t->strategy);
    bind_opt(q, st, 22, t->waiting_since);
    bind_text(q, st, 23, j->escalations ? j->escalations : "[]");
    bind_text(q, st, 24, j->sla.len > 0 ? buf_str(&j->sla) : NULL);
    bind_text(q, st, 25, j->kb.len > 0 ? buf_str(&j->kb) : "[]");
}

/* True when an update would leave every indexed column as stored. */
static bool keys_unchanged(const struct ticket *t)
{
    return t->stored.known && t->stored.status == t->status &&
           t->stored.priority == t->priority && t->stored.topic_id == t->topic_id &&
           same_str(t->stored.group, t->group) && same_str(t->stored.assignee, t->assignee) &&
           same_str(t->stored.strategy, t->strategy);
}

/* Insert (insert == true, sets t->id) or update by id. */
static int ticket_write(struct sq *q, struct ticket *t, bool insert, struct err *e)
{
    int rc = check_ticket(t, e);
    if (rc != 0)
        return rc;
    struct ticket_json j;
    if ((rc = encode_ticket(t, &j, e)) != 0)
        goto out_json;
    enum stmt_id id = insert ? ST_TICKET_INSERT
                    : keys_unchanged(t) ? ST_TICKET_UPDATE_HOT : ST_TICKET_UPDATE;
    sqlite3_stmt *st;
    if ((rc = stmt(q, id, &st, e)) != 0)
        goto out_json;
    bind_ticket(q, st, t, &j);
    rc = step(q, st, insert ? "insert ticket" : "update ticket", e);
    if (rc >= 0) {
        rc = 0;
        if (insert)
            t->id = sqlite3_last_insert_rowid(q->db);
        else if (sqlite3_changes(q->db) == 0)
            rc = err_set(e, ERR_NOTFOUND, "ticket %lld not found", (long long)t->id);
    }
    done(st);
    if (rc == 0)
        remember_keys(t);
out_json:
    ticket_json_release(&j);
    return rc;
}

static int sq_ticket_insert(struct store *s, struct ticket *t, struct err *e)
{
    return ticket_write(sq_of(s), t, true, e);
}

static int sq_ticket_update(struct store *s, struct ticket *t, struct err *e)
{
    return ticket_write(sq_of(s), t, false, e);
}

static int sq_ticket_get(struct store *s, int64_t id, struct arena *a,
                         struct ticket **out, struct err *e)
{
    return ticket_query(sq_of(s), ST_TICKET_GET, id, "ticket", a, out, e);
}

static int sq_ticket_latest_for_customer(struct store *s, int64_t customer_id,
                                         struct arena *a, struct ticket **out,
                                         struct err *e)
{
    return ticket_query(sq_of(s), ST_TICKET_LATEST, customer_id, "ticket of customer",
                        a, out, e);
}

/* topic_id 0 means "no topic" and never matches (the column is NULL). */
static int sq_ticket_get_by_topic(struct store *s, int64_t topic_id, struct arena *a,
                                  struct ticket **out, struct err *e)
{
    return ticket_query(sq_of(s), ST_TICKET_BY_TOPIC, topic_id, "ticket of topic",
                        a, out, e);
}

/* The cached statement for this set of filters, built from constant
 * fragments only (values are bound, never spliced in). */
/*
 * The cached statement for one combination of filters: `head` (ending in a
 * WHERE clause), the conds[i] whose bit is set in mask, then `tail`.
 */
static int variant_stmt(struct sq *q, sqlite3_stmt **slot, const char *head,
                        const char *const *conds, size_t nconds, unsigned mask,
                        const char *tail, sqlite3_stmt **out, struct err *e)
{
    if (*slot == NULL) {
        char sql[1024];
        size_t len = (size_t)snprintf(sql, sizeof sql, "%s", head);
        for (size_t i = 0; i < nconds; i++)
            if (mask & (1u << i))
                len += (size_t)snprintf(sql + len, sizeof sql - len, "%s", conds[i]);
        snprintf(sql + len, sizeof sql - len, "%s", tail);
        int rc = prepare(q, slot, sql, e);
        if (rc != 0)
            return rc;
    }
    q->brc = SQLITE_OK;
    *out = *slot;
    return 0;
}

static int list_stmt(struct sq *q, unsigned mask, sqlite3_stmt **out, struct err *e)
{
    return variant_stmt(q, &q->list[mask], "SELECT " TICKET_COLS " FROM tickets WHERE id > ?1",
                        list_conds, sizeof list_conds / sizeof list_conds[0], mask,
                        " ORDER BY id LIMIT ?6", out, e);
}

/* Limit: <= 0 means 50, above 500 is cut to 500. */
static int sq_ticket_list(struct store *s, const struct ticket_filter *f,
                          struct arena *a, struct ticket ***out, size_t *n,
                          struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    if (f->has_status && (unsigned)f->status >= TICKET_STATUS_COUNT)
        return err_field(e, ERR_INVAL, "status", "invalid ticket status %d", (int)f->status);
    unsigned mask = (f->has_status ? LF_STATUS : 0u) | (f->group ? LF_GROUP : 0u) |
                    (f->assignee ? LF_ASSIGNEE : 0u) | (f->unassigned ? LF_UNASSIGNED : 0u) |
                    (f->customer_id != 0 ? LF_CUSTOMER : 0u);
    int limit = f->limit <= 0 ? 50 : f->limit > 500 ? 500 : f->limit;

    sqlite3_stmt *st;
    int rc = list_stmt(q, mask, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, f->after_id);
    if (f->has_status)
        bind_text(q, st, 2, ticket_status_name(f->status));
    if (f->group)
        bind_text(q, st, 3, f->group);
    if (f->assignee)
        bind_text(q, st, 4, f->assignee);
    if (f->customer_id != 0)
        bind_int(q, st, 5, f->customer_id);
    bind_int(q, st, 6, limit);

    struct ticket **arr = arena_alloc(a, (size_t)limit * sizeof(struct ticket *));
    if (arr == NULL) {
        rc = too_big("list tickets", e);
        goto out_done;
    }
    size_t count = 0;
    while ((rc = step(q, st, "list tickets", e)) == 1) {
        if ((rc = read_ticket(st, a, &arr[count], e)) != 0)
            goto out_done;
        count++;
    }
    if (rc == 0) {
        *out = count > 0 ? arr : NULL;
        *n = count;
    }
out_done:
    done(st);
    return rc;
}

static int sq_ticket_count_by_status(struct store *s, int64_t out[TICKET_STATUS_COUNT],
                                     struct err *e)
{
    struct sq *q = sq_of(s);
    for (int i = 0; i < TICKET_STATUS_COUNT; i++)
        out[i] = 0;
    sqlite3_stmt *st;
    int rc = stmt(q, ST_TICKET_COUNT, &st, e);
    if (rc != 0)
        return rc;
    while ((rc = step(q, st, "count tickets", e)) == 1) {
        enum ticket_status status;
        if ((rc = parse_status(col_peek(st, 0), &status, 0, e)) != 0)
            break;
        out[status] = sqlite3_column_int64(st, 1);
    }
    done(st);
    return rc;
}

/* ---- thread ------------------------------------------------------------------------------------------- */

static int sq_thread_append(struct store *s, struct thread_entry *te, struct err *e)
{
    struct sq *q = sq_of(s);
    if ((unsigned)te->kind > THREAD_EVENT || (unsigned)te->dir > DIR_INTERNAL ||
        (unsigned)te->author_type > AUTHOR_SYSTEM)
        return err_set(e, ERR_INVAL, "thread entry with invalid kind, dir or author type");
    char *data;
    int rc = encode_kv(te->data, te->ndata, &data, "thread data", e);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st;
    if ((rc = stmt(q, ST_THREAD_APPEND, &st, e)) != 0)
        goto out_data;
    bind_int(q, st, 2, te->ticket_id);
    bind_int(q, st, 3, te->seq);
    bind_text(q, st, 4, thread_kind_name(te->kind));
    bind_text(q, st, 5, thread_dir_name(te->dir));
    bind_text(q, st, 6, thread_author_type_name(te->author_type));
    bind_text(q, st, 7, te->author_id);
    bind_text(q, st, 8, te->author_name);
    bind_text(q, st, 9, te->text);
    bind_text(q, st, 10, te->event);
    bind_text(q, st, 11, data);
    bind_opt(q, st, 12, te->tg_chat_id);
    bind_opt(q, st, 13, te->tg_message_id);
    bind_int(q, st, 14, te->at);
    bind_opt(q, st, 15, te->edited_at);
    rc = step(q, st, "append thread entry", e);
    if (rc >= 0) {
        te->id = sqlite3_last_insert_rowid(q->db);
        rc = 0;
    }
    done(st);
out_data:
    mem_free(data);
    return rc;
}

static int sq_thread_edit(struct store *s, int64_t ticket_id, int64_t tg_chat_id,
                          int64_t tg_message_id, const char *text, int64_t edited_at,
                          struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_THREAD_EDIT, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, ticket_id);
    bind_int(q, st, 2, tg_chat_id);
    bind_int(q, st, 3, tg_message_id);
    bind_text(q, st, 4, text);
    bind_opt(q, st, 5, edited_at);
    rc = step(q, st, "edit thread entry", e);
    if (rc >= 0)
        rc = sqlite3_changes(q->db) == 0
           ? err_set(e, ERR_NOTFOUND, "no message %lld of chat %lld in ticket %lld",
                     (long long)tg_message_id, (long long)tg_chat_id, (long long)ticket_id)
           : 0;
    done(st);
    return rc;
}

static int fill_entry(sqlite3_stmt *st, struct arena *a, struct thread_entry *te,
                      struct err *e)
{
    te->id = sqlite3_column_int64(st, 0);
    te->ticket_id = sqlite3_column_int64(st, 1);
    te->seq = sqlite3_column_int(st, 2);
    if (thread_kind_parse(col_peek(st, 3), &te->kind) != 0 ||
        thread_dir_parse(col_peek(st, 4), &te->dir) != 0 ||
        thread_author_type_parse(col_peek(st, 5), &te->author_type) != 0)
        return err_set(e, ERR_DB, "thread entry %lld: unknown kind, dir or author type",
                       (long long)te->id);
    int rc;
    if ((rc = col_str(st, 6, a, &te->author_id, e)) != 0 ||
        (rc = col_str(st, 7, a, &te->author_name, e)) != 0 ||
        (rc = col_str(st, 8, a, &te->text, e)) != 0 ||
        (rc = col_str(st, 9, a, &te->event, e)) != 0 ||
        (rc = decode_kv(st, 10, a, &te->data, &te->ndata, "data of thread entry",
                        te->id, e)) != 0)
        return rc;
    te->tg_chat_id = sqlite3_column_int64(st, 11);
    te->tg_message_id = sqlite3_column_int64(st, 12);
    te->at = sqlite3_column_int64(st, 13);
    te->edited_at = sqlite3_column_int64(st, 14);
    return 0;
}

static int fill_entry_row(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    return fill_entry(st, a, row, e);
}

/* Entries of ticket_id, all of them (max_seq < 0) or up to max_seq. */
static int thread_query(struct sq *q, int64_t ticket_id, int32_t max_seq, struct arena *a,
                        struct thread_entry **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = stmt(q, max_seq < 0 ? ST_THREAD_LIST : ST_THREAD_LIST_UPTO, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, ticket_id);
    if (max_seq >= 0)
        bind_int(q, st, 2, max_seq);
    void *arr;
    rc = collect(q, st, "list thread", a, sizeof(struct thread_entry), fill_entry_row, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_thread_list(struct store *s, int64_t ticket_id, struct arena *a,
                          struct thread_entry **out, size_t *n, struct err *e)
{
    return thread_query(sq_of(s), ticket_id, -1, a, out, n, e);
}

static int sq_thread_list_upto(struct store *s, int64_t ticket_id, int32_t max_seq,
                               struct arena *a, struct thread_entry **out, size_t *n,
                               struct err *e)
{
    return thread_query(sq_of(s), ticket_id, max_seq < 0 ? 0 : max_seq, a, out, n, e);
}

/* ---- agents ------------------------------------------------------------------------------------------ */

static int fill_agent_state(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct agent_state *as = row;
    int rc = col_str(st, 0, a, &as->agent_id, e);
    if (rc != 0)
        return rc;
    struct err pe = {0};
    if (agent_avail_parse(col_peek(st, 1), &as->availability, &pe) != 0)
        return err_set(e, ERR_DB, "agent '%s': %s", as->agent_id, pe.msg);
    as->changed_at = sqlite3_column_int64(st, 2);
    as->last_assigned_at = sqlite3_column_int64(st, 3);
    return 0;
}

static int sq_agent_state_list(struct store *s, struct arena *a,
                               struct agent_state **out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = stmt(q, ST_AGENT_LIST, &st, e);
    if (rc != 0)
        return rc;
    void *arr;
    rc = collect(q, st, "list agent state", a, sizeof(struct agent_state), fill_agent_state,
                 &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_agent_state_put(struct store *s, const struct agent_state *as,
                              struct err *e)
{
    struct sq *q = sq_of(s);
    if (as->agent_id == NULL || (unsigned)as->availability >= AGENT_AVAIL_COUNT)
        return err_set(e, ERR_INVAL, "agent state needs an agent id and a valid availability");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_AGENT_PUT, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, as->agent_id);
    bind_text(q, st, 2, agent_avail_name(as->availability));
    bind_int(q, st, 3, as->changed_at);
    bind_opt(q, st, 4, as->last_assigned_at);
    return run(q, st, "write agent state", e);
}

/* Bind the names of the active statuses to ?1..?3 (the load queries). */
static void bind_active(struct sq *q, sqlite3_stmt *st)
{
    bind_text(q, st, 1, ticket_status_name(TICKET_OPEN));
    bind_text(q, st, 2, ticket_status_name(TICKET_IN_PROGRESS));
    bind_text(q, st, 3, ticket_status_name(TICKET_ON_HOLD));
}

/* Two queries: counts per (group, status) scan only the (grp, status) index;
 * the unassigned active ones use the (assignee, status) index. Without a
 * transaction a write may land between them: a group seen only by the
 * second query is added rather than lost. */
static int sq_load_by_group(struct store *s, struct arena *a, struct group_load **out,
                            size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    struct vec v = {.size = sizeof(struct group_load)};
    sqlite3_stmt *st;
    int rc = stmt(q, ST_LOAD_GROUP_STATUS, &st, e);
    if (rc != 0)
        return rc;
    struct group_load *g = NULL;
    while ((rc = step(q, st, "load by group", e)) == 1) {
        const char *grp = col_peek(st, 0);
        if (grp == NULL) {
            rc = err_set(e, ERR_DB, "load by group: ticket without a group");
            break;
        }
        if (g == NULL || strcmp(g->group, grp) != 0) {
            g = vec_push(&v);
            if ((g->group = arena_strdup(a, grp)) == NULL) {
                rc = too_big("load by group", e);
                break;
            }
        }
        enum ticket_status status;
        if ((rc = parse_status(col_peek(st, 1), &status, 0, e)) != 0)
            break;
        g->by_status[status] = sqlite3_column_int64(st, 2);
    }
    done(st);
    if (rc != 0)
        goto out_vec;

    if ((rc = stmt(q, ST_LOAD_GROUP_UNASSIGNED, &st, e)) != 0)
        goto out_vec;
    bind_active(q, st);
    while ((rc = step(q, st, "load by group", e)) == 1) {
        const char *grp = col_peek(st, 0);
        if (grp == NULL) {
            rc = err_set(e, ERR_DB, "load by group: ticket without a group");
            break;
        }
        g = NULL;
        for (size_t i = 0; i < v.n; i++) {
            struct group_load *gi = (struct group_load *)(void *)(v.p + i * v.size);
            if (strcmp(gi->group, grp) == 0) {
                g = gi;
                break;
            }
        }
        if (g == NULL) {
            g = vec_push(&v);
            if ((g->group = arena_strdup(a, grp)) == NULL) {
                rc = too_big("load by group", e);
                break;
            }
        }
        g->unassigned_active = sqlite3_column_int64(st, 1);
        g->oldest_unassigned_at = sqlite3_column_int64(st, 2);
    }
    done(st);
    if (rc != 0)
        goto out_vec;
    void *arr;
    rc = vec_finish(&v, a, &arr, n, "load by group", e);
    if (rc == 0)
        *out = arr;
    return rc;
out_vec:
    mem_free(v.p);
    return rc;
}

static int fill_agent_load(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct agent_load *l = row;
    l->active = sqlite3_column_int64(st, 1);
    return col_str(st, 0, a, &l->agent_id, e);
}

/* From agent_load, which triggers keep in step with every ticket write
 * (migration 003): one row per agent, not a count over tickets. */
static int sq_load_by_agent(struct store *s, struct arena *a, struct agent_load **out,
                            size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = stmt(q, ST_LOAD_AGENT, &st, e);
    if (rc != 0)
        return rc;
    void *arr;
    rc = collect(q, st, "load by agent", a, sizeof(struct agent_load), fill_agent_load, &arr, n, e);
    *out = arr;
    return rc;
}

/* ---- outboxes, events, timers --------------------------------------------------------------------------- */

static int sq_tg_outbox_push(struct store *s, struct tg_outbox_row *r, struct err *e)
{
    struct sq *q = sq_of(s);
    if (r->method == NULL)
        return err_field(e, ERR_INVAL, "method", "outbox row has no method");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_OUTBOX_PUSH, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, r->chat_id);
    bind_int(q, st, 2, r->thread_id);
    bind_int(q, st, 3, r->ticket_id);
    bind_text(q, st, 4, r->method);
    bind_text(q, st, 5, r->params ? r->params : "{}");
    bind_text(q, st, 6, r->state ? r->state : "pending");
    bind_int(q, st, 7, r->attempts);
    bind_int(q, st, 8, r->next_attempt_at);
    bind_int(q, st, 9, r->created_at);
    bind_text(q, st, 10, r->last_error);
    rc = step(q, st, "push telegram outbox", e);
    if (rc >= 0) {
        r->id = sqlite3_last_insert_rowid(q->db);
        rc = 0;
    }
    done(st);
    return rc;
}

/* One tg_outbox row from the column order of ST_OUTBOX_GET into r. */
static int read_outbox_row(sqlite3_stmt *st, struct arena *a, struct tg_outbox_row *r,
                           struct err *e)
{
    int rc;
    r->id = sqlite3_column_int64(st, 0);
    r->chat_id = sqlite3_column_int64(st, 1);
    r->thread_id = sqlite3_column_int64(st, 2);
    r->ticket_id = sqlite3_column_int64(st, 3);
    r->attempts = sqlite3_column_int(st, 7);
    r->next_attempt_at = sqlite3_column_int64(st, 8);
    r->created_at = sqlite3_column_int64(st, 9);
    if ((rc = col_str(st, 4, a, &r->method, e)) != 0 ||
        (rc = col_str(st, 5, a, &r->params, e)) != 0 ||
        (rc = col_str(st, 6, a, &r->state, e)) != 0 ||
        (rc = col_str(st, 10, a, &r->last_error, e)) != 0)
        return rc;
    return 0;
}

static int sq_tg_outbox_get(struct store *s, int64_t id, struct arena *a,
                            struct tg_outbox_row **out, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    sqlite3_stmt *st;
    int rc = stmt(q, ST_OUTBOX_GET, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, id);
    rc = step(q, st, "get telegram outbox row", e);
    if (rc == 0) {
        rc = err_set(e, ERR_NOTFOUND, "telegram outbox row %lld not found", (long long)id);
    } else if (rc == 1) {
        struct tg_outbox_row *r = arena_alloc(a, sizeof *r);
        if (r == NULL)
            rc = err_set(e, ERR_TOOBIG, "get telegram outbox row: arena exhausted");
        else
            rc = read_outbox_row(st, a, r, e);
        if (rc == 0)
            *out = r;
    }
    done(st);
    return rc;
}

static int sq_tg_outbox_update(struct store *s, int64_t id, const char *state, int attempts,
                               int64_t next_attempt_at, const char *last_error,
                               const char *params, struct err *e)
{
    struct sq *q = sq_of(s);
    if (state == NULL)
        return err_field(e, ERR_INVAL, "state", "outbox update needs a state");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_OUTBOX_UPDATE, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, id);
    bind_text(q, st, 2, state);
    bind_int(q, st, 3, attempts);
    bind_int(q, st, 4, next_attempt_at);
    bind_text(q, st, 5, last_error);
    bind_text(q, st, 6, params);
    rc = run(q, st, "update telegram outbox row", e);
    if (rc == 0 && sqlite3_changes(q->db) == 0)
        rc = err_set(e, ERR_NOTFOUND, "telegram outbox row %lld not found", (long long)id);
    return rc;
}

/* Run a "SELECT count(*)"-like statement that is already bound. */
static int count_query(struct sq *q, sqlite3_stmt *st, const char *what, int64_t *out,
                       struct err *e)
{
    int rc = step(q, st, what, e);
    if (rc >= 0) {
        *out = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
        rc = 0;
    }
    done(st);
    return rc;
}

/* state NULL counts every row. */
static int sq_tg_outbox_count(struct store *s, const char *state, int64_t *out,
                              struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, state ? ST_OUTBOX_COUNT_STATE : ST_OUTBOX_COUNT_ALL, &st, e);
    if (rc != 0)
        return rc;
    if (state)
        bind_text(q, st, 1, state);
    return count_query(q, st, "count telegram outbox", out, e);
}

/*
 * Every pending row, due or not, in id order: the bridge needs the rows
 * still waiting for a retry too, to keep a chat's later rows behind them.
 * `now` is not needed by SQLite (a leasing backend would use it).
 */
static int fill_outbox_row(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    return read_outbox_row(st, a, row, e);
}

static int sq_tg_outbox_pending(struct store *s, int64_t now, int64_t after_id, int limit,
                                struct arena *a, struct tg_outbox_row **out, size_t *n,
                                struct err *e)
{
    struct sq *q = sq_of(s);
    (void)now;
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return err_field(e, ERR_INVAL, "limit", "limit must be positive");
    /* All pending rows: the state index. The tail after an id: the rowid
     * range (the "+" keeps the planner off the state index, which would
     * read every pending row and sort them to find the few new ones). */
    sqlite3_stmt *st;
    int rc = stmt(q, after_id > 0 ? ST_OUTBOX_PENDING_AFTER : ST_OUTBOX_PENDING, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, limit);
    if (after_id > 0)
        bind_int(q, st, 2, after_id);
    void *arr;
    rc = collect(q, st, "list pending telegram outbox", a, sizeof(struct tg_outbox_row),
                 fill_outbox_row, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_event_push(struct store *s, struct event_row *r, struct err *e)
{
    struct sq *q = sq_of(s);
    if (r->type == NULL)
        return err_field(e, ERR_INVAL, "type", "event has no type");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_EVENT_PUSH, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, r->type);
    bind_int(q, st, 2, r->ticket_id);
    bind_int(q, st, 3, r->occurred_at);
    bind_text(q, st, 4, r->data ? r->data : "{}");
    rc = step(q, st, "push event", e);
    if (rc >= 0) {
        r->id = sqlite3_last_insert_rowid(q->db);
        rc = 0;
    }
    done(st);
    return rc;
}

static int fill_event(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct event_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->ticket_id = sqlite3_column_int64(st, 2);
    r->occurred_at = sqlite3_column_int64(st, 3);
    int rc = col_str(st, 1, a, &r->type, e);
    return rc != 0 ? rc : col_str(st, 4, a, &r->data, e);
}

static int sq_event_list(struct store *s, int64_t after_id, int limit, struct arena *a,
                         struct event_row **out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return err_field(e, ERR_INVAL, "limit", "limit must be positive");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_EVENT_LIST, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, after_id);
    bind_int(q, st, 2, limit);
    void *arr;
    rc = collect(q, st, "list events", a, sizeof(struct event_row), fill_event, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_event_count(struct store *s, int64_t *out, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_EVENT_COUNT, &st, e);
    return rc != 0 ? rc : count_query(q, st, "count events", out, e);
}

static int sq_timer_put(struct store *s, struct timer_row *r, struct err *e)
{
    struct sq *q = sq_of(s);
    if (r->kind == NULL)
        return err_field(e, ERR_INVAL, "kind", "timer has no kind");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_TIMER_PUT, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, r->kind);
    bind_int(q, st, 2, r->ticket_id);
    bind_int(q, st, 3, r->due_at);
    bind_text(q, st, 4, r->data);
    rc = step(q, st, "put timer", e);
    if (rc == 1) {
        r->id = sqlite3_column_int64(st, 0);
        rc = step(q, st, "put timer", e);   /* finish the statement */
    } else if (rc == 0) {
        rc = err_set(e, ERR_DB, "put timer: no id returned");
    }
    done(st);
    return rc < 0 ? rc : 0;
}

/* Cancelling a timer that does not exist is not an error. */
static int sq_timer_cancel(struct store *s, const char *kind, int64_t ticket_id,
                           struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_TIMER_CANCEL, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, kind);
    bind_int(q, st, 2, ticket_id);
    return run(q, st, "cancel timer", e);
}

static int fill_timer(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct timer_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->ticket_id = sqlite3_column_int64(st, 2);
    r->due_at = sqlite3_column_int64(st, 3);
    int rc = col_str(st, 1, a, &r->kind, e);
    return rc != 0 ? rc : col_str(st, 4, a, &r->data, e);
}

static int sq_timer_due(struct store *s, int64_t now, int limit, struct arena *a,
                        struct timer_row **out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return err_field(e, ERR_INVAL, "limit", "limit must be positive");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_TIMER_DUE, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, now);
    bind_int(q, st, 2, limit);
    void *arr;
    rc = collect(q, st, "list due timers", a, sizeof(struct timer_row), fill_timer, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_timer_next(struct store *s, int64_t *out, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_TIMER_NEXT, &st, e);
    if (rc != 0)
        return rc;
    rc = step(q, st, "next timer", e);
    if (rc == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc >= 0) {
        rc = err_set(e, ERR_NOTFOUND, "no timers");
    }
    done(st);
    return rc;
}

/* ---- routing state --------------------------------------------------------------------------------------- */

/* A row into a slot of an array of ticket pointers (for collect). */
static int fill_ticket_ptr(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    return read_ticket(st, a, row, e);
}

static int sq_ticket_queue(struct store *s, const char *group, int limit, struct arena *a,
                           struct ticket ***out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    if (group == NULL || limit <= 0)
        return err_set(e, ERR_INVAL, "ticket queue needs a group and a positive limit");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_TICKET_QUEUE, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, group);
    bind_int(q, st, 2, limit);
    void *arr;
    rc = collect(q, st, "read ticket queue", a, sizeof(struct ticket *), fill_ticket_ptr,
                 &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_agent_assigned(struct store *s, const char *agent_id, int64_t at,
                             struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_AGENT_ASSIGNED, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, agent_id);
    bind_int(q, st, 2, at);
    rc = step(q, st, "record assignment", e);
    if (rc >= 0)
        rc = sqlite3_changes(q->db) == 0
                 ? err_set(e, ERR_NOTFOUND, "agent '%s' has no state yet", agent_id) : 0;
    done(st);
    return rc;
}

static int fill_cursor(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct route_cursor_row *c = row;
    int rc = col_str(st, 0, a, &c->group, e);
    return rc != 0 ? rc : col_str(st, 1, a, &c->agent_id, e);
}

static int sq_route_cursor_list(struct store *s, struct arena *a,
                                struct route_cursor_row **out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = stmt(q, ST_CURSOR_LIST, &st, e);
    if (rc != 0)
        return rc;
    void *arr;
    rc = collect(q, st, "list round-robin cursors", a, sizeof(struct route_cursor_row),
                 fill_cursor, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_route_cursor_put(struct store *s, const char *group, const char *agent_id,
                               struct err *e)
{
    struct sq *q = sq_of(s);
    if (group == NULL || agent_id == NULL)
        return err_set(e, ERR_INVAL, "a round-robin cursor needs a group and an agent");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_CURSOR_PUT, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, group);
    bind_text(q, st, 2, agent_id);
    return run(q, st, "write round-robin cursor", e);
}

/* ---- intake forms in progress ----------------------------------------------------------------------------- */

static int sq_intake_get(struct store *s, int64_t customer_id, struct arena *a,
                         const char **out, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_INTAKE_GET, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, customer_id);
    rc = step(q, st, "read intake form", e);
    if (rc == 1)
        rc = col_str(st, 0, a, out, e);
    else if (rc == 0)
        rc = err_set(e, ERR_NOTFOUND, "customer %lld has no intake form in progress",
                     (long long)customer_id);
    done(st);
    return rc;
}

static int sq_intake_put(struct store *s, int64_t customer_id, const char *state, int64_t at,
                         struct err *e)
{
    struct sq *q = sq_of(s);
    if (state == NULL)
        return err_set(e, ERR_INVAL, "an intake form needs a state");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_INTAKE_PUT, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, customer_id);
    bind_text(q, st, 2, state);
    bind_int(q, st, 3, at);
    return run(q, st, "write intake form", e);
}

static int sq_intake_delete(struct store *s, int64_t customer_id, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_INTAKE_DELETE, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, customer_id);
    return run(q, st, "delete intake form", e);
}

/* ---- idempotency ------------------------------------------------------------------------------------------ */

static int sq_idem_get(struct store *s, const char *key, struct arena *a,
                       int *out_status, const char **out_body, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_IDEM_GET, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, key);
    rc = step(q, st, "read idempotency key", e);
    if (rc == 1) {
        *out_status = sqlite3_column_int(st, 0);
        rc = col_str(st, 1, a, out_body, e);
    } else if (rc == 0) {
        rc = err_set(e, ERR_NOTFOUND, "idempotency key '%s' not seen", key);
    }
    done(st);
    return rc;
}

/* A key already stored gives ERR_CONFLICT (the first response stands). */
static int sq_idem_put(struct store *s, const char *key, int status, const char *body,
                       int64_t at, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_IDEM_PUT, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, key);
    bind_int(q, st, 2, status);
    bind_text(q, st, 3, body);
    bind_int(q, st, 4, at);
    return run(q, st, "write idempotency key", e);
}

/* ---- outbound webhooks ------------------------------------------------------------------------------------ */

static int sq_event_get(struct store *s, int64_t id, struct arena *a, struct event_row **out,
                        struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_EVENT_GET, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, id);
    rc = step(q, st, "read event", e);
    if (rc == 1) {
        struct event_row *r = arena_alloc(a, sizeof *r);
        rc = r == NULL ? too_big("read event", e) : fill_event(st, a, r, e);
        if (rc == 0)
            *out = r;
    } else if (rc == 0) {
        rc = err_set(e, ERR_NOTFOUND, "event %lld not found", (long long)id);
    }
    done(st);
    return rc;
}

static int sq_event_last_id(struct store *s, int64_t *out, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_EVENT_LAST, &st, e);
    return rc != 0 ? rc : count_query(q, st, "last event id", out, e);
}

static int fill_hook_endpoint(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct hook_endpoint_row *r = row;
    r->last_event_id = sqlite3_column_int64(st, 1);
    r->disabled = sqlite3_column_type(st, 2) != SQLITE_NULL;
    r->disabled_at = sqlite3_column_int64(st, 2);
    r->created_at = sqlite3_column_int64(st, 5);
    int rc;
    if ((rc = col_str(st, 0, a, &r->name, e)) != 0 ||
        (rc = col_str(st, 3, a, &r->disabled_reason, e)) != 0)
        return rc;
    return col_str(st, 4, a, &r->disabled_url, e);
}

static int sq_hook_endpoint_list(struct store *s, struct arena *a,
                                 struct hook_endpoint_row **out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_EP_LIST, &st, e);
    if (rc != 0)
        return rc;
    void *arr;
    rc = collect(q, st, "list webhook endpoints", a, sizeof(struct hook_endpoint_row),
                 fill_hook_endpoint, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_hook_endpoint_get(struct store *s, const char *name, struct arena *a,
                                struct hook_endpoint_row **out, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_EP_GET, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, name);
    void *arr;
    size_t n = 0;
    rc = collect(q, st, "read webhook endpoint", a, sizeof(struct hook_endpoint_row),
                 fill_hook_endpoint, &arr, &n, e);
    if (rc == 0 && n == 0)
        rc = err_set(e, ERR_NOTFOUND, "webhook endpoint '%s' not found", name);
    if (rc == 0)
        *out = arr;
    return rc;
}

static int sq_hook_endpoint_create(struct store *s, const char *name, int64_t last_event_id,
                                   int64_t now, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_EP_CREATE, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, name);
    bind_int(q, st, 2, last_event_id);
    bind_int(q, st, 3, now);
    return run(q, st, "create webhook endpoint", e);
}

static int sq_hook_endpoint_claim(struct store *s, const char *name, int64_t from,
                                  int64_t to, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_EP_CLAIM, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, name);
    bind_int(q, st, 2, from);
    bind_int(q, st, 3, to);
    rc = run(q, st, "claim webhook events", e);
    if (rc != 0 || sqlite3_changes(q->db) > 0)
        return rc;
    /* Tell a moved cursor from a missing endpoint. */
    struct arena *a = arena_new(0);
    struct hook_endpoint_row *ep = NULL;
    rc = sq_hook_endpoint_get(s, name, a, &ep, e);
    if (rc == 0)
        rc = err_set(e, ERR_CONFLICT, "webhook endpoint '%s': cursor is at event %lld, "
                     "not %lld (claimed elsewhere)", name, (long long)ep->last_event_id,
                     (long long)from);
    arena_free(&a);
    return rc;
}

static int sq_hook_endpoint_set_disabled(struct store *s, const char *name, bool disabled,
                                         int64_t at, const char *reason, const char *url,
                                         struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_EP_DISABLE, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, name);
    if (disabled) {
        bind_int(q, st, 2, at);
        bind_text(q, st, 3, reason ? reason : "");
        bind_text(q, st, 4, url);
    }   /* re-enabling leaves ?2..?4 NULL */
    rc = run(q, st, "disable webhook endpoint", e);
    if (rc == 0 && sqlite3_changes(q->db) == 0)
        rc = err_set(e, ERR_NOTFOUND, "webhook endpoint '%s' not found", name);
    return rc;
}

/* Bind r's columns to ?1..?17 in HOOK_DL_COLS order. */
static void bind_delivery(struct sq *q, sqlite3_stmt *st, const struct hook_delivery_row *r)
{
    bind_int(q, st, 1, r->id);
    bind_text(q, st, 2, r->endpoint);
    bind_int(q, st, 3, r->event_id);
    bind_int(q, st, 4, r->part);
    bind_int(q, st, 5, r->parts);
    bind_int(q, st, 6, r->ticket_id);
    bind_text(q, st, 7, r->type);
    bind_int(q, st, 8, r->occurred_at);
    bind_text(q, st, 9, r->state ? r->state : "pending");
    bind_int(q, st, 10, r->attempts);
    bind_int(q, st, 11, r->next_attempt_at);
    bind_int(q, st, 12, r->max_payload);
    bind_text(q, st, 13, r->oversize ? r->oversize : "split");
    bind_opt(q, st, 14, r->last_status);
    bind_text(q, st, 15, r->last_error);
    bind_int(q, st, 16, r->created_at);
    bind_opt(q, st, 17, r->finished_at);
}

static int sq_hook_delivery_put(struct store *s, struct hook_delivery_row *r, struct err *e)
{
    struct sq *q = sq_of(s);
    if (r->endpoint == NULL || r->type == NULL)
        return err_set(e, ERR_INVAL, "webhook delivery needs an endpoint and a type");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_DL_PUT, &st, e);
    if (rc != 0)
        return rc;
    bind_delivery(q, st, r);   /* ?1 (the id) is not in the statement: the table picks it */
    rc = step(q, st, "write webhook delivery", e);
    if (rc == 1) {
        r->id = sqlite3_column_int64(st, 0);
        rc = step(q, st, "write webhook delivery", e);   /* finish the statement */
    } else if (rc == 0) {
        rc = err_set(e, ERR_DB, "write webhook delivery: no id returned");
    }
    done(st);
    return rc < 0 ? rc : 0;
}

static int fill_delivery(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct hook_delivery_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->event_id = sqlite3_column_int64(st, 2);
    r->part = sqlite3_column_int(st, 3);
    r->parts = sqlite3_column_int(st, 4);
    r->ticket_id = sqlite3_column_int64(st, 5);
    r->occurred_at = sqlite3_column_int64(st, 7);
    r->attempts = sqlite3_column_int(st, 9);
    r->next_attempt_at = sqlite3_column_int64(st, 10);
    r->max_payload = sqlite3_column_int64(st, 11);
    r->last_status = sqlite3_column_int(st, 13);
    r->created_at = sqlite3_column_int64(st, 15);
    r->finished_at = sqlite3_column_int64(st, 16);
    int rc;
    if ((rc = col_str(st, 1, a, &r->endpoint, e)) != 0 ||
        (rc = col_str(st, 6, a, &r->type, e)) != 0 ||
        (rc = col_str(st, 8, a, &r->state, e)) != 0 ||
        (rc = col_str(st, 12, a, &r->oversize, e)) != 0)
        return rc;
    return col_str(st, 14, a, &r->last_error, e);
}

static int sq_hook_delivery_get(struct store *s, int64_t id, struct arena *a,
                                struct hook_delivery_row **out, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_DL_GET, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, id);
    void *arr;
    size_t n = 0;
    rc = collect(q, st, "read webhook delivery", a, sizeof(struct hook_delivery_row),
                 fill_delivery, &arr, &n, e);
    if (rc == 0 && n == 0)
        rc = err_set(e, ERR_NOTFOUND, "webhook delivery %lld not found", (long long)id);
    if (rc == 0)
        *out = arr;
    return rc;
}

static bool hook_state_ok(const char *state)
{
    static const char *const states[] = {"pending", "succeeded", "dead", "failed", NULL};
    for (size_t i = 0; states[i] != NULL; i++)
        if (strcmp(state, states[i]) == 0)
            return true;
    return false;
}

/* Limit: <= 0 means 50, above 500 is cut to 500. */
static int sq_hook_delivery_list(struct store *s, const struct hook_delivery_filter *f,
                                 struct arena *a, struct hook_delivery_row **out, size_t *n,
                                 struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    if (f->state != NULL && !hook_state_ok(f->state))
        return err_field(e, ERR_INVAL, "state", "unknown delivery state '%s' (expected "
                         "pending, succeeded, dead or failed)", f->state);
    bool failed = f->state != NULL && strcmp(f->state, "failed") == 0;
    unsigned mask = (f->endpoint ? HF_ENDPOINT : 0u) | (f->state ? HF_STATE : 0u) |
                    (failed ? HF_RETRYING : 0u) | (f->ticket_id != 0 ? HF_TICKET : 0u);
    int limit = f->limit <= 0 ? 50 : f->limit > 500 ? 500 : f->limit;
    sqlite3_stmt *st;
    int rc = variant_stmt(q, &q->hook_list[mask],
                          "SELECT " HOOK_DL_COLS " FROM webhook_deliveries WHERE id > ?1",
                          hook_list_conds, sizeof hook_list_conds / sizeof hook_list_conds[0],
                          mask, " ORDER BY id LIMIT ?5", &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, f->after_id);
    if (f->endpoint)
        bind_text(q, st, 2, f->endpoint);
    if (f->state)
        bind_text(q, st, 3, failed ? "pending" : f->state);
    if (f->ticket_id != 0)
        bind_int(q, st, 4, f->ticket_id);
    bind_int(q, st, 5, limit);
    void *arr;
    rc = collect(q, st, "list webhook deliveries", a, sizeof(struct hook_delivery_row),
                 fill_delivery, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_hook_delivery_pending(struct store *s, const char *endpoint, int64_t after_event,
                                    int after_part, int limit, struct arena *a,
                                    struct hook_delivery_row **out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return err_field(e, ERR_INVAL, "limit", "limit must be positive");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_DL_PENDING, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, endpoint);
    bind_int(q, st, 2, after_event);
    bind_int(q, st, 3, after_part);
    bind_int(q, st, 4, limit);
    void *arr;
    rc = collect(q, st, "list pending webhook deliveries", a, sizeof(struct hook_delivery_row),
                 fill_delivery, &arr, n, e);
    *out = arr;
    return rc;
}

static int sq_hook_counts(struct store *s, const char *endpoint, struct hook_counts *out,
                          struct err *e)
{
    struct sq *q = sq_of(s);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_COUNTS, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, endpoint);
    while ((rc = step(q, st, "count webhook deliveries", e)) == 1) {
        const char *state = col_peek(st, 0);
        bool tried = sqlite3_column_int(st, 1) != 0;
        int64_t c = sqlite3_column_int64(st, 2);
        if (state == NULL)
            continue;
        if (strcmp(state, "pending") == 0) {
            out->pending += c;
            if (tried)
                out->failing += c;
        } else if (strcmp(state, "succeeded") == 0) {
            out->succeeded += c;
        } else if (strcmp(state, "dead") == 0) {
            out->dead += c;
        }
    }
    done(st);
    return rc < 0 ? rc : 0;
}

static int sq_hook_replay(struct store *s, int64_t id, int64_t now, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_REPLAY, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, id);
    bind_int(q, st, 2, now);
    rc = run(q, st, "replay webhook delivery", e);
    if (rc != 0 || sqlite3_changes(q->db) > 0)
        return rc;
    struct arena *a = arena_new(0);
    struct hook_delivery_row *r = NULL;
    rc = sq_hook_delivery_get(s, id, a, &r, e);
    if (rc == 0)
        rc = err_set(e, ERR_CONFLICT, "webhook delivery %lld is still pending", (long long)id);
    arena_free(&a);
    return rc;
}

static int sq_hook_replay_dead(struct store *s, const char *endpoint, int64_t now,
                               int64_t *count, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_REPLAY_DEAD, &st, e);
    if (rc != 0)
        return rc;
    bind_text(q, st, 1, endpoint);
    bind_int(q, st, 2, now);
    rc = run(q, st, "replay dead webhook deliveries", e);
    *count = rc == 0 ? sqlite3_changes(q->db) : 0;
    return rc;
}

/* Both statements select the same rows (the same subquery over a unique
 * order), attempts first so no attempt outlives its delivery. */
static int sq_hook_prune(struct store *s, const char *endpoint, const char *state,
                         int64_t before, int limit, int64_t *deleted, struct err *e)
{
    struct sq *q = sq_of(s);
    static const enum stmt_id ids[] = {ST_HOOK_PRUNE_AT, ST_HOOK_PRUNE};
    *deleted = 0;
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        int rc = stmt(q, ids[i], &st, e);
        if (rc != 0)
            return rc;
        bind_text(q, st, 1, endpoint);
        bind_text(q, st, 2, state);
        bind_int(q, st, 3, before);
        bind_int(q, st, 4, limit);
        if ((rc = run(q, st, "prune webhook deliveries", e)) != 0)
            return rc;
    }
    *deleted = sqlite3_changes(q->db);
    return 0;
}

static int sq_hook_attempt_insert(struct store *s, struct hook_attempt_row *r, struct err *e)
{
    struct sq *q = sq_of(s);
    if (r->outcome == NULL)
        return err_set(e, ERR_INVAL, "webhook attempt needs an outcome");
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_AT_INSERT, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, r->delivery_id);
    bind_int(q, st, 2, r->at);
    bind_opt(q, st, 3, r->status);
    bind_text(q, st, 4, r->outcome);
    bind_text(q, st, 5, r->error);
    bind_int(q, st, 6, r->latency_ms);
    bind_text(q, st, 7, r->response);
    rc = step(q, st, "insert webhook attempt", e);
    if (rc >= 0) {
        r->id = sqlite3_last_insert_rowid(q->db);
        rc = 0;
    }
    done(st);
    return rc;
}

static int fill_attempt(sqlite3_stmt *st, struct arena *a, void *row, struct err *e)
{
    struct hook_attempt_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->delivery_id = sqlite3_column_int64(st, 1);
    r->at = sqlite3_column_int64(st, 2);
    r->status = sqlite3_column_int(st, 3);
    r->latency_ms = sqlite3_column_int64(st, 6);
    int rc;
    if ((rc = col_str(st, 4, a, &r->outcome, e)) != 0 ||
        (rc = col_str(st, 5, a, &r->error, e)) != 0)
        return rc;
    return col_str(st, 7, a, &r->response, e);
}

static int sq_hook_attempt_list(struct store *s, int64_t delivery_id, struct arena *a,
                                struct hook_attempt_row **out, size_t *n, struct err *e)
{
    struct sq *q = sq_of(s);
    sqlite3_stmt *st;
    int rc = stmt(q, ST_HOOK_AT_LIST, &st, e);
    if (rc != 0)
        return rc;
    bind_int(q, st, 1, delivery_id);
    void *arr;
    rc = collect(q, st, "list webhook attempts", a, sizeof(struct hook_attempt_row),
                 fill_attempt, &arr, n, e);
    *out = arr;
    return rc;
}

static const struct store_ops sqlite_ops = {
    .driver = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_savepoint = sq_rollback_savepoint,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .customer_get = sq_customer_get,
    .customer_get_by_tg = sq_customer_get_by_tg,
    .customer_insert = sq_customer_insert,
    .customer_update = sq_customer_update,
    .ticket_insert = sq_ticket_insert,
    .ticket_update = sq_ticket_update,
    .ticket_get = sq_ticket_get,
    .ticket_latest_for_customer = sq_ticket_latest_for_customer,
    .ticket_get_by_topic = sq_ticket_get_by_topic,
    .ticket_list = sq_ticket_list,
    .ticket_count_by_status = sq_ticket_count_by_status,
    .thread_append = sq_thread_append,
    .thread_edit = sq_thread_edit,
    .thread_list = sq_thread_list,
    .agent_state_list = sq_agent_state_list,
    .agent_state_put = sq_agent_state_put,
    .load_by_group = sq_load_by_group,
    .load_by_agent = sq_load_by_agent,
    .tg_outbox_push = sq_tg_outbox_push,
    .tg_outbox_count = sq_tg_outbox_count,
    .tg_outbox_pending = sq_tg_outbox_pending,
    .tg_outbox_get = sq_tg_outbox_get,
    .tg_outbox_update = sq_tg_outbox_update,
    .event_push = sq_event_push,
    .event_list = sq_event_list,
    .event_count = sq_event_count,
    .timer_put = sq_timer_put,
    .timer_cancel = sq_timer_cancel,
    .timer_due = sq_timer_due,
    .timer_next = sq_timer_next,
    .ticket_queue = sq_ticket_queue,
    .agent_assigned = sq_agent_assigned,
    .route_cursor_list = sq_route_cursor_list,
    .route_cursor_put = sq_route_cursor_put,
    .intake_get = sq_intake_get,
    .intake_put = sq_intake_put,
    .intake_delete = sq_intake_delete,
    .idem_get = sq_idem_get,
    .idem_put = sq_idem_put,
    .thread_list_upto = sq_thread_list_upto,
    .event_get = sq_event_get,
    .event_last_id = sq_event_last_id,
    .hook_endpoint_list = sq_hook_endpoint_list,
    .hook_endpoint_get = sq_hook_endpoint_get,
    .hook_endpoint_create = sq_hook_endpoint_create,
    .hook_endpoint_claim = sq_hook_endpoint_claim,
    .hook_endpoint_set_disabled = sq_hook_endpoint_set_disabled,
    .hook_delivery_put = sq_hook_delivery_put,
    .hook_delivery_get = sq_hook_delivery_get,
    .hook_delivery_list = sq_hook_delivery_list,
    .hook_delivery_pending = sq_hook_delivery_pending,
    .hook_counts = sq_hook_counts,
    .hook_replay = sq_hook_replay,
    .hook_replay_dead = sq_hook_replay_dead,
    .hook_prune = sq_hook_prune,
    .hook_attempt_insert = sq_hook_attempt_insert,
    .hook_attempt_list = sq_hook_attempt_list,
};
