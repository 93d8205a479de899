/*
 * escalate.h — escalation policies, as pure functions of (configuration,
 * the ticket's state, a trigger, now).
 *
 * A policy (config `escalation:`) has triggers and actions. The engine calls
 * escalate_evaluate when something that can trigger one happens:
 *
 *   ESCALATE_ON_MESSAGE      every customer message: `keywords` (whole words,
 *                            base/rx.h) or `regex` in its text; a policy
 *                            whose only trigger is `tier` fires on any
 *                            message of a customer of that tier
 *   ESCALATE_ON_SLA_WARNING  an SLA warning / breach of the ticket (`on_sla`)
 *   ESCALATE_ON_SLA_BREACH
 *   ESCALATE_ON_NO_REPLY     a timer at escalate_next_due: the customer has
 *                            waited `no_reply` without an agent reply
 *   ESCALATE_ON_MANUAL       /escalate [policy] or the API (`manual: true`)
 *
 * `tier` next to other triggers narrows them to that customer tier.
 * Policies are tried in config order and the first that applies wins (one
 * escalation per event; the next event gives the next policy its turn).
 *
 * Actions, in this order: set_priority / raise_priority (never lowers),
 * move_to_group / next_level (never to a lower level), reassign (within the
 * new or current group, by the policy's strategy, preferring an agent other
 * than the current one), notify (the topic notice mentions the group's
 * agents). A ticket.escalated event carries escalate_event_kv.
 *
 * Never loops. The engine keeps, per ticket, the set of policy names
 * already applied to it (escalate_ticket.applied) and adds d.policy to it
 * when it applies a decision. A policy is never applied twice to one ticket
 * by a trigger, and a policy whose actions would change nothing (priority
 * already there, already at that or a higher level, nobody else to take
 * it) does not apply at all — so a ticket at the top level is not escalated
 * again. A manual request is an agent's explicit decision: it may repeat a
 * policy, but is refused (ERR_CONFLICT) when there is nothing to change.
 * Without any `manual: true` policy, /escalate uses the built-in policy
 * "manual": raise priority, move to the next level, round robin, notify.
 *
 * Memory: an escalate_set holds a reference on its cfg; names and mention
 * lists point into it. Agent ids come from the caller's agents array;
 * texts are allocated in the caller's arena.
 */
#ifndef TGCRM_DESK_ESCALATE_H
#define TGCRM_DESK_ESCALATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"
#include "desk/route.h"
#include "desk/ticket.h"

enum escalate_trigger {
    ESCALATE_ON_MESSAGE = 0,
    ESCALATE_ON_SLA_WARNING,
    ESCALATE_ON_SLA_BREACH,
    ESCALATE_ON_NO_REPLY,
    ESCALATE_ON_MANUAL,
    ESCALATE_TRIGGER_COUNT
};

/* "message", "sla_warning", "sla_breach", "no_reply", "manual". */
const char *escalate_trigger_name(enum escalate_trigger t);
int escalate_trigger_parse(const char *s, enum escalate_trigger *out, struct err *e);

/* The name of the built-in manual policy. */
#define ESCALATE_BUILTIN "manual"

struct escalate_set;

/* Compile cfg's policies. Takes its own reference on c. ERR_CONFIG naming
 * the policy for a cfg that cfg_load would have refused. */
int escalate_compile(struct cfg *c, struct escalate_set **out, struct err *e);
void escalate_free(struct escalate_set **esp);

/* The ticket as escalation sees it, filled by the engine. All borrowed. */
struct escalate_ticket {
    int64_t id;
    enum ticket_status status;
    enum ticket_priority priority;
    const char *group;
    const char *assignee;           /* NULL = unassigned */
    const char *tier;               /* the customer's tier, or NULL */
    int64_t waiting_since;          /* ms: the first customer message since the last
                                       agent reply (or since opening); 0 = the agent
                                       spoke last, nobody waits */
    const char *const *applied;     /* policies already applied to the ticket */
    size_t napplied;
};

struct escalate_input {
    enum escalate_trigger trigger;
    const char *text;               /* ON_MESSAGE: the message (UTF-8) */
    const char *sla_metric;         /* ON_SLA_*: "first_response" ..., or NULL */
    const char *policy;             /* ON_MANUAL: the policy asked for; NULL = first */
    const char *actor;              /* ON_MANUAL: "agent:alice", "api:helpdesk" ... */
    const char *note;               /* ON_MANUAL: the agent's reason, or NULL */
    int64_t now;
    struct escalate_ticket ticket;
};

struct escalate_decision {
    bool escalate;                  /* false: no policy applies (why says so) */
    const char *policy;             /* the policy applied (add it to the ticket's set) */
    enum escalate_trigger trigger;
    const char *reason;             /* arena: "keyword 'urgent' in the customer's message" */

    bool priority_changed;
    enum ticket_priority priority_from, priority_to;

    bool group_changed;
    const char *group_from, *group_to;   /* group_to == group_from when unchanged */
    int level_from, level_to;

    bool assignee_changed;
    const char *assignee_from;      /* borrowed from the input */
    struct route_assign assign;     /* assign.agent: the assignee after (may be NULL);
                                       with round robin, move the cursor of group_to
                                       (route_note) */

    bool notify;                    /* post `notice` in the topic, mentioning: */
    const struct cfg_agent *const *mentions;  /* agents of group_to (cfg order) */
    size_t nmentions;

    const char *why;                /* arena: one line for the thread */
    const char *notice;             /* arena: the topic notice (without mentions), or NULL */
};

/*
 * Decide what in->trigger does to the ticket (see the file comment). 0 with
 * d->escalate true or false. Manual requests are refused instead of being
 * a quiet no-op: ERR_NOTFOUND for an unknown policy name, ERR_CONFLICT for
 * a policy that is not manual, a ticket that is not active, or nothing to
 * change — each with a message for the agent. ERR_TOOBIG when the arena is
 * exhausted.
 */
int escalate_evaluate(const struct escalate_set *es, const struct escalate_input *in,
                      const struct route_agent *agents, size_t nagents,
                      const struct route_cursor *cursors, size_t ncursors,
                      struct arena *a, struct escalate_decision *out, struct err *e);

/*
 * When the next no_reply policy comes due for t after `after` (ms), or 0
 * for never. The engine keeps one timer per ticket at that time; when it is
 * due it calls escalate_evaluate with ESCALATE_ON_NO_REPLY — and again,
 * while a policy applies, since several may have come due together — then
 * re-arms with escalate_next_due(es, t, now). Only times after `after`
 * count, so a policy that came due with nothing to change (nobody else to
 * take the ticket) is not retried in a loop; it comes due again when the
 * customer starts waiting anew. Re-arm too whenever waiting_since, the
 * status or the applied set changes.
 */
int64_t escalate_next_due(const struct escalate_set *es, const struct escalate_ticket *t,
                          int64_t after);

/*
 * The facts of a decision as key/value pairs for the thread entry and the
 * ticket.escalated payload: policy, trigger, reason, and the from/to of
 * priority, group and assignee (each only when it changed). Values are
 * borrowed from d, the set or static names. Returns how many were written
 * (at most ESCALATE_KV_MAX).
 */
#define ESCALATE_KV_MAX 9
size_t escalate_event_kv(const struct escalate_decision *d, struct kv *out);

#endif
