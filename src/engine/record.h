/*
 * record.h — what applying one event leaves behind (private to src/engine/).
 *
 * Every handler of the engine (engine.c) and of the support rules
 * (rules.c) changes tickets the same few ways: a thread entry, a domain
 * event with the ticket's snapshot (the webhook source), a status or
 * assignee change recorded in the thread, a line in the ticket's topic.
 * These are those ways, over one per-event context, struct apply. All of
 * it is written through the engine's writer connection inside the event's
 * savepoint, so a refused event leaves none of it.
 */
#ifndef TGCRM_ENGINE_RECORD_H
#define TGCRM_ENGINE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"
#include "base/jx.h"
#include "engine/engine.h"
#include "store/store.h"

struct rules;

/* Per-event context: what every step of applying one event needs. */
struct apply {
    struct store *w;                /* the writer connection (the engine's) */
    const struct cfg *cfg;          /* the configuration for this batch */
    const struct rules *rules;      /* its compiled rule sets (rules.h) */
    struct arena *a;                /* emptied for each event */
    int64_t now;                    /* the batch's time */
    struct err *e;                  /* the event's error (res->err) */
    struct engine_result *res;      /* set res->ticket_id as soon as the event's
                                       ticket is known: thread_seq follows it */
};

/* True for NULL or only whitespace. */
bool record_blank(const char *s);

/* The staff forum group, or 0 when no Telegram bridge is configured. */
int64_t record_staff_chat(const struct cfg *c);

/* n key/value pairs in the event arena; NULL when it is exhausted. */
struct kv *record_kvs(struct apply *ap, size_t n);
/* Two pairs, filled; NULL when the arena is exhausted. */
struct kv *record_kv2(struct apply *ap, const char *k1, const char *v1, const char *k2,
                      const char *v2);

/* ERR_TOOBIG "event too large": the arena ran out. */
int record_too_big(struct apply *ap);

/* Append te to t's thread with the next seq and the event's time. The seq
 * becomes res->thread_seq when t is the event's ticket. */
int record_thread_add(struct apply *ap, struct ticket *t, struct thread_entry *te);

/* A system entry in the thread: `event` (status_changed ...), a sentence,
 * data pairs (borrowed for the call), written by actor. */
int record_thread_event(struct apply *ap, struct ticket *t, const char *event,
                        const char *text, struct kv *data, size_t ndata, const char *actor);

/*
 * Write domain event `type` about t (NULL: about no ticket). `extra` (may be
 * NULL; reference stolen) is merged into the event's data next to the
 * ticket's snapshot (view_ticket_write of t and c as they are now) and the
 * thread length, so a consumer sees the ticket as it was when the event
 * happened.
 */
int record_event(struct apply *ap, const char *type, const struct ticket *t,
                 const struct customer *c, json_t *extra);

/* record_event with the extra members already as JSON text: len bytes of
 * members ("\"k\":v,..." without braces; len 0 for none). For the hot
 * paths, where building and dumping a jansson object costs more than the
 * rest of the event's text. */
int record_event_members(struct apply *ap, const char *type, const struct ticket *t,
                         const struct customer *c, const char *members, size_t len);

/* ticket.updated / .assigned / .resolved ...: "actor" and, when given
 * (borrowed, may be NULL), "changes". */
int record_actor_event(struct apply *ap, const char *type, const struct ticket *t,
                       const struct customer *c, const char *actor, json_t *changes);

/* {"from": from, "to": to} (nulls for NULL); a new reference. */
json_t *record_change(const char *from, const char *to);

/* A field's change from → to (the caller changed t) in the thread as
 * `event` with `text`, and in changes (may be NULL) under `field`. */
int record_changed(struct apply *ap, struct ticket *t, const char *event, const char *field,
                   const char *from, const char *to, const char *text, const char *actor,
                   json_t *changes);

/* Change t's status to `to` (no workflow check here), stamp resolved_at /
 * closed_at, and record it in the thread; adds "status" to changes (may
 * be NULL). The SLA clocks are the caller's (rules_sla_status). */
int record_status(struct apply *ap, struct ticket *t, enum ticket_status to,
                  const char *actor, const char *reason, json_t *changes);

/*
 * Give t to `agent` (NULL: unassign), record it in the thread with the
 * reason and any routing facts (extra pairs, borrowed; may be NULL), and
 * stamp the agent's last assignment time. Adds "assignee" to changes (may
 * be NULL). Counting the agent's load is the store's (agent_load).
 */
int record_assignee(struct apply *ap, struct ticket *t, const char *agent, const char *actor,
                    const char *reason, const struct kv *extra, size_t nextra,
                    json_t *changes);

/* The thread entry alone of an assignment from → to (either may be NULL),
 * its text "assigned to bob — <reason>" when a reason is given,
 * for a ticket whose assignee was set before it was first stored. */
int record_assignee_entry(struct apply *ap, struct ticket *t, const char *from, const char *to,
                          const char *actor, const char *reason, const struct kv *extra,
                          size_t nextra);

/* Stamp agent's last assignment time (an agent added by a reload gets its
 * state row, with its configured initial availability). */
int record_agent_assigned(struct apply *ap, const char *agent);

/* ticket.updated with the assignee change from → t->assignee, then
 * ticket.assigned when t has an assignee. */
int record_assigned_events(struct apply *ap, const struct ticket *t, const struct customer *c,
                           const char *from, const char *actor);

/* Load ticket id (ERR_NOTFOUND "ticket N not found") and, when c is not
 * NULL, its customer, into the event arena. */
int record_load_ticket(struct apply *ap, int64_t id, struct ticket **t, struct customer **c);

/* A line from the bot in the ticket's topic; nothing without a Telegram
 * bridge. */
int record_topic_say(struct apply *ap, int64_t ticket_id, const char *text);

#endif
