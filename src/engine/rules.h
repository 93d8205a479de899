/*
 * rules.h — the support rules applied by the engine (private to src/engine/).
 *
 * desk/ decides (route.h, sla.h, escalate.h are pure); this is where those
 * decisions meet the store, inside the event being applied:
 *
 *   routing     a new ticket is routed by its first message; tickets that
 *               found nobody wait in their group's queue (an index of the
 *               store) and are handed out when an agent comes online or
 *               frees capacity; an agent who goes offline has their open
 *               and in_progress tickets reassigned (tickets.reassign_on_offline)
 *   SLA         every ticket's clocks live on the ticket (sla column); the
 *               handlers call the transitions, warnings and breaches become
 *               thread entries, ticket.sla_warning / ticket.sla_breached and
 *               escalation triggers; one timer per ticket (kind "sla") is
 *               kept at sla_next_at
 *   escalation  customer messages, SLA warnings and breaches, no-reply
 *               timers (kind "escalate") and manual requests are evaluated;
 *               a decision changes priority, group and assignee, notifies
 *               the topic and emits ticket.escalated; the policies applied
 *               are kept on the ticket so none applies twice
 *
 * The routing state — each agent's availability, load and last assignment,
 * each group's round-robin cursor — is read from the store when a decision
 * needs it and written back with it, never cached between events: the
 * store is the truth, also with several nodes on one database. A customer
 * message on a ticket that is already waiting for an answer reads no agent
 * state at all.
 *
 * Compiled rule sets (routing patterns, escalation keywords) are built
 * once per configuration (rules_new) and shared by reference with every
 * batch that runs under it; a reload builds new ones.
 */
#ifndef TGCRM_ENGINE_RULES_H
#define TGCRM_ENGINE_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/cfg.h"
#include "base/err.h"
#include "desk/agent.h"
#include "desk/route.h"
#include "desk/sla.h"
#include "desk/ticket.h"
#include "engine/record.h"
#include "store/store.h"

/* ---- the compiled rule sets of one configuration ------------------------ */

struct rules;

/* Compile c's routing rules, escalation policies, templates, knowledge
 * base and intake form (takes its own reference on c). Caller owns *out
 * (rules_unref). ERR_CONFIG with file:line:column for what cfg_load cannot
 * check itself (template syntax, see desk/template.h). */
int rules_new(struct cfg *c, struct rules **out, struct err *e);
/* Another reference to r. Thread-safe. */
struct rules *rules_ref(struct rules *r);
/* Drop a reference; the last one frees. Sets *rp to NULL; NULL is fine. */
void rules_unref(struct rules **rp);
/* The configuration r was compiled from (borrowed, lives as long as r). */
struct cfg *rules_cfg(const struct rules *r);
/* Its compiled canned responses, knowledge base and intake form (borrowed,
 * live as long as r). */
struct template_set;
struct kb_index;
struct intake_form;
const struct template_set *rules_templates(const struct rules *r);
const struct kb_index *rules_kb(const struct rules *r);
const struct intake_form *rules_intake(const struct rules *r);

/* ---- one ticket through one event --------------------------------------- */

/* SLA warnings and breaches raised but not reported yet. */
#define RULES_PENDING_MAX 32

/*
 * A ticket being changed by an event: the handler loads it, calls
 * rules_begin, makes its changes (and the matching rules_on_* calls),
 * stores the ticket and writes its own events, and ends with rules_settle.
 */
struct rules_ticket {
    struct ticket *t;               /* event arena */
    struct customer *c;             /* event arena */
    /* what the ticket's timers depend on, as loaded (zero for a new ticket) */
    int64_t sla_next;
    int64_t waiting_since;
    enum ticket_status status;
    size_t nescalations;
    bool fresh;                     /* a new ticket: arm whatever is due */
    bool dirty;                     /* changed since the handler stored it */
    /* the routing decision of a new ticket, until rules_route_record */
    const char *route_why;
    struct kv route_facts[ROUTE_KV_MAX];
    size_t nroute_facts;
    size_t npending;
    struct sla_event pending[RULES_PENDING_MAX];
};

void rules_begin(struct rules_ticket *rt, struct ticket *t, struct customer *c, bool fresh);

/*
 * Route a new ticket (status open, not inserted yet) by its first message
 * `text`: group, rule, priority, strategy and assignee (or the queue); the
 * agent's last assignment and the group's round-robin cursor are stored.
 * Starts its SLA clocks and marks the customer as waiting. Deciding before
 * the insert stores the ticket once with its place, not moved afterwards.
 */
int rules_route_new(struct apply *ap, struct rules_ticket *rt, const char *text);
/* Once inserted (and after its first message): the decision and its reason
 * in the thread. The caller writes ticket.created, then ticket.assigned
 * when t->assignee is set. */
int rules_route_record(struct apply *ap, struct rules_ticket *rt);

/* The customer wrote (after any reopen): SLA next-response, waiting. */
void rules_on_customer_message(struct apply *ap, struct rules_ticket *rt);
/* An agent replied to the customer: response clocks met, nobody waits. */
void rules_on_agent_reply(struct apply *ap, struct rules_ticket *rt);
/* The status changed (record_status done): clocks pause, resume, stop or
 * restart; resolved and closed end the wait. */
void rules_on_status(struct apply *ap, struct rules_ticket *rt);
/* Priority, group or the customer's tier changed: the SLA policy is
 * chosen again and running clocks take its targets. */
void rules_on_policy(struct apply *ap, struct rules_ticket *rt);

/* What rules_settle does besides reporting and timers. */
struct rules_after {
    const char *message;            /* a customer message: escalation keywords */
    const char *freed;              /* an agent who let the ticket go or freed
                                       capacity with it: hand out waiting tickets */
    bool requeue;                   /* the ticket may wait unassigned now: offer it
                                       to its group (preferring another than freed) */
};

/*
 * After the handler stored the ticket and wrote its events: report the SLA
 * warnings and breaches raised (thread, ticket.sla_*, escalation), evaluate
 * escalation for a customer message, offer or hand out tickets as `after`
 * says, store the ticket again if that changed it, and re-arm its timers
 * when what they depend on changed.
 */
int rules_settle(struct apply *ap, struct rules_ticket *rt, const struct rules_after *after);

/* ---- agents, manual escalation, timers ----------------------------------- */

/* agent_id's availability went from → to (stored already): coming online
 * hands out waiting tickets; going offline reassigns (reassign_on_offline). */
int rules_availability(struct apply *ap, const char *agent_id, enum agent_avail from,
                       enum agent_avail to);

/*
 * /escalate or the API: escalate ticket_id by `policy` (NULL: the first
 * manual policy that changes something; ESCALATE_BUILTIN without any),
 * with the agent's note (may be NULL), on behalf of actor ("agent:alice").
 * Refusals as escalate_evaluate (ERR_NOTFOUND unknown policy, ERR_CONFLICT
 * nothing to change ...), with a message for the agent.
 */
int rules_escalate(struct apply *ap, int64_t ticket_id, const char *policy, const char *note,
                   const char *actor);

/* Whether `name` is an escalation policy /escalate can name (a manual one,
 * or the built-in when there is none): tells a policy from a note. */
bool rules_is_policy(const struct rules *r, const char *name);

/* Apply one due timer of kind "sla" or "escalate" (others are moved an
 * hour later and logged). */
int rules_timer(struct apply *ap, const struct timer_row *row);

#endif
