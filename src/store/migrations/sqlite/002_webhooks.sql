-- 002_webhooks.sql — durable state of the outbound webhook dispatcher.
--
-- The engine writes domain events (table `events`, 001) in the same
-- transaction as the change they announce. The dispatcher (src/webhook/
-- hook_deliver.c) turns them into deliveries: one row per endpoint, event and
-- body part, fanned out past a per-endpoint cursor that advances in the same
-- transaction as the rows it covers, so an event can neither be skipped nor
-- fanned out twice. Bodies are not stored: they are rebuilt from the event
-- row and the thread with the settings recorded here (max_payload, oversize).
--
-- Same conventions as 001: times are INTEGER ms since the epoch (UTC) and
-- NULL for "not yet"; states are text names.

-- One row per endpoint name ever configured. last_event_id is the fan-out
-- cursor: every event with a lower or equal id has its delivery rows (or
-- was not wanted by the endpoint's filter). A disabled endpoint (410 Gone,
-- or the API) keeps its rows pending and sends nothing until re-enabled;
-- disabled_url is the URL that was disabled, so a config reload that points
-- the endpoint somewhere else re-enables it.
CREATE TABLE webhook_endpoints (
    name             TEXT PRIMARY KEY,
    last_event_id    INTEGER NOT NULL DEFAULT 0,
    disabled_at      INTEGER,
    disabled_reason  TEXT,
    disabled_url     TEXT,
    created_at       INTEGER NOT NULL
);

-- One delivery: part `part` of `parts` of event `event_id` to `endpoint`.
-- state: pending (waiting for its first attempt or a retry) | succeeded |
-- dead (the retry schedule is used up: the dead-letter list).
-- attempts counts the attempts since the row was (re)queued and picks the
-- next delay of the schedule; the attempts themselves are in
-- webhook_attempts. occurred_at and type are copied from the event so lists
-- need no join.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    endpoint         TEXT    NOT NULL,
    event_id         INTEGER NOT NULL REFERENCES events (id),
    part             INTEGER NOT NULL DEFAULT 1,
    parts            INTEGER NOT NULL DEFAULT 1,
    ticket_id        INTEGER NOT NULL DEFAULT 0,
    type             TEXT    NOT NULL,
    occurred_at      INTEGER NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    max_payload      INTEGER NOT NULL DEFAULT 0,
    oversize         TEXT    NOT NULL DEFAULT 'split',
    last_status      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    UNIQUE (endpoint, event_id, part)
);
-- The dispatcher's (re)load: an endpoint's pending rows in event order.
CREATE INDEX webhook_deliveries_state ON webhook_deliveries (endpoint, state, event_id, part);
-- The API's per-ticket filter.
CREATE INDEX webhook_deliveries_ticket ON webhook_deliveries (ticket_id, id);

-- Every attempt: when, the HTTP status (NULL when nothing came back), what
-- it meant (succeeded | retry | dead | disabled), the transport error if
-- any ("timeout", "connection refused" ...), the latency and the first
-- bytes of the response body.
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    at           INTEGER NOT NULL,
    status       INTEGER,
    outcome      TEXT    NOT NULL,
    error        TEXT,
    latency_ms   INTEGER NOT NULL DEFAULT 0,
    response     TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
