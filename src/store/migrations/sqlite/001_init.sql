-- 001_init.sql — the initial tgcrm schema (SQLite).
--
-- Embedded into the binary by scripts/embed-sql.sh and applied by
-- store_sqlite.c in one transaction. The schema_version table is NOT created
-- here: store_sqlite.c creates it and records each applied version itself,
-- because it must read the version before any migration has run.
--
-- Conventions (kept portable so the PostgreSQL variant is a transliteration
-- with BIGSERIAL / BIGINT):
--   * times are INTEGER milliseconds since the epoch, UTC; NULL = "not yet"
--     for optional moments (the C records use 0 for that);
--   * statuses, priorities, kinds ... are stored as their text names from
--     src/desk (ticket_status_name, thread_kind_name ...);
--   * custom fields, tags and event data are JSON text (object / array);
--   * "group" is a keyword, so the ticket's queue column is `grp`.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    tg_user_id  INTEGER NOT NULL UNIQUE,
    first_name  TEXT    NOT NULL DEFAULT '',
    last_name   TEXT,
    username    TEXT,
    language    TEXT,
    tier        TEXT    NOT NULL DEFAULT 'standard',
    blocked     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE tickets (
    id                    INTEGER PRIMARY KEY,
    customer_id           INTEGER NOT NULL REFERENCES customers (id),
    status                TEXT    NOT NULL,
    priority              TEXT    NOT NULL,
    grp                   TEXT    NOT NULL,
    assignee              TEXT,
    rule                  TEXT,
    subject               TEXT,
    custom_fields         TEXT    NOT NULL DEFAULT '{}',
    tags                  TEXT    NOT NULL DEFAULT '[]',
    topic_id              INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    first_response_at     INTEGER,
    resolved_at           INTEGER,
    closed_at             INTEGER,
    last_customer_msg_at  INTEGER,
    last_agent_msg_at     INTEGER,
    thread_len            INTEGER NOT NULL DEFAULT 0,
    reopen_count          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tickets_customer   ON tickets (customer_id, id);
CREATE INDEX tickets_status     ON tickets (status);
CREATE INDEX tickets_grp_status ON tickets (grp, status);
CREATE INDEX tickets_assignee   ON tickets (assignee, status);
CREATE INDEX tickets_topic      ON tickets (topic_id);

CREATE TABLE thread (
    id             INTEGER PRIMARY KEY,
    ticket_id      INTEGER NOT NULL REFERENCES tickets (id),
    seq            INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    dir            TEXT    NOT NULL,
    author_type    TEXT    NOT NULL,
    author_id      TEXT,
    author_name    TEXT,
    text           TEXT,
    event          TEXT,
    data           TEXT,
    tg_chat_id     INTEGER,
    tg_message_id  INTEGER,
    at             INTEGER NOT NULL,
    edited_at      INTEGER,
    UNIQUE (ticket_id, seq)
);
CREATE INDEX thread_tg ON thread (ticket_id, tg_chat_id, tg_message_id);

CREATE TABLE agent_state (
    agent_id          TEXT PRIMARY KEY,
    availability      TEXT    NOT NULL,
    changed_at        INTEGER NOT NULL,
    last_assigned_at  INTEGER
);

CREATE TABLE tg_outbox (
    id               INTEGER PRIMARY KEY,
    chat_id          INTEGER NOT NULL,
    thread_id        INTEGER NOT NULL DEFAULT 0,
    ticket_id        INTEGER NOT NULL DEFAULT 0,
    method           TEXT    NOT NULL,
    params           TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    last_error       TEXT
);
CREATE INDEX tg_outbox_state ON tg_outbox (state, next_attempt_at);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    type         TEXT    NOT NULL,
    ticket_id    INTEGER NOT NULL DEFAULT 0,
    occurred_at  INTEGER NOT NULL,
    data         TEXT    NOT NULL
);

CREATE TABLE timers (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    ticket_id  INTEGER NOT NULL DEFAULT 0,
    due_at     INTEGER NOT NULL,
    data       TEXT,
    UNIQUE (kind, ticket_id)
);
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE idempotency (
    key         TEXT PRIMARY KEY,
    status      INTEGER NOT NULL,
    body        TEXT,
    created_at  INTEGER NOT NULL
);
