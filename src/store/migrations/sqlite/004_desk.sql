-- 004_desk.sql — what the agents' helpers and the intake form keep (SQLite).
--
--   * per ticket: the knowledge-base articles suggested for it (a JSON array
--     of {"id","title","url","score"}, best first; desk/kb.h ranks them), so
--     the API and every webhook payload show them without ranking again, and
--     the topic is told only when they change;
--   * per customer: the intake form in progress in the private chat
--     (desk/intake.h's JSON state), written in the same transaction as the
--     update that advanced it, so a restart resumes at the same question.
--     A row exists only while a form is being filled in.

ALTER TABLE tickets ADD COLUMN kb_suggestions TEXT NOT NULL DEFAULT '[]';

CREATE TABLE intake_forms (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers (id),
    state        TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL
);
