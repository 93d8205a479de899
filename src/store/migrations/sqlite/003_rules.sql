-- 003_rules.sql — what routing, queues, SLA and escalation keep (SQLite).
--
-- The rules themselves are pure (src/desk/route.h, sla.h, escalate.h); this
-- is the state the engine keeps for them between events:
--
--   * per ticket: the assignment strategy it was placed with (NULL: its
--     rule's), since when the customer has waited for an agent's reply
--     (escalation's no_reply; NULL = nobody waits), the escalation policies
--     already applied (a JSON array of names, so a policy never loops), and
--     its SLA clocks (a JSON object, desk/sla.h's stored form; NULL for
--     tickets opened before this migration, which have no SLA clocks);
--   * per group: the round-robin cursor (the agent it last gave a ticket);
--   * per agent: how many active tickets it holds, kept by triggers on every
--     write of a ticket's status or assignee, so routing reads one small
--     table instead of counting tickets.
--
-- The waiting queue of a group is an index, not a table: unassigned open or
-- in_progress tickets whose strategy hands them out, in queue order
-- (priority, then age, then id). The CASE expression must stay exactly as
-- the engine's queue query writes it (store_sqlite.c, ST_TICKET_QUEUE), or
-- SQLite cannot use the index for it.

ALTER TABLE tickets ADD COLUMN strategy TEXT;
ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;
ALTER TABLE tickets ADD COLUMN escalations TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tickets ADD COLUMN sla TEXT;

-- Tickets that were waiting for an answer before this migration: the last
-- customer message is the best estimate of when the wait began.
UPDATE tickets SET waiting_since = last_customer_msg_at
 WHERE status IN ('open', 'in_progress', 'on_hold')
   AND last_customer_msg_at IS NOT NULL
   AND last_customer_msg_at > coalesce(last_agent_msg_at, 0);

CREATE INDEX tickets_queue ON tickets (
    grp,
    (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END),
    created_at,
    id
) WHERE assignee IS NULL AND status IN ('open', 'in_progress') AND strategy IS NOT 'none';

CREATE TABLE route_cursors (
    grp       TEXT PRIMARY KEY,
    agent_id  TEXT NOT NULL
);

CREATE TABLE agent_load (
    agent_id  TEXT PRIMARY KEY,
    active    INTEGER NOT NULL DEFAULT 0
);

INSERT INTO agent_load (agent_id, active)
SELECT assignee, count(*) FROM tickets
 WHERE assignee IS NOT NULL AND status IN ('open', 'in_progress', 'on_hold')
 GROUP BY assignee;

CREATE TRIGGER tickets_load_insert AFTER INSERT ON tickets
WHEN NEW.assignee IS NOT NULL AND NEW.status IN ('open', 'in_progress', 'on_hold')
BEGIN
    INSERT INTO agent_load (agent_id, active) VALUES (NEW.assignee, 1)
        ON CONFLICT (agent_id) DO UPDATE SET active = active + 1;
END;

CREATE TRIGGER tickets_load_update AFTER UPDATE OF status, assignee ON tickets
WHEN OLD.assignee IS NOT NEW.assignee OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE agent_load SET active = active - 1
     WHERE agent_id = OLD.assignee
       AND OLD.status IN ('open', 'in_progress', 'on_hold');
    INSERT INTO agent_load (agent_id, active)
    SELECT NEW.assignee, 1
     WHERE NEW.assignee IS NOT NULL AND NEW.status IN ('open', 'in_progress', 'on_hold')
        ON CONFLICT (agent_id) DO UPDATE SET active = active + 1;
END;

CREATE TRIGGER tickets_load_delete AFTER DELETE ON tickets
WHEN OLD.assignee IS NOT NULL AND OLD.status IN ('open', 'in_progress', 'on_hold')
BEGIN
    UPDATE agent_load SET active = active - 1 WHERE agent_id = OLD.assignee;
END;
