/*
 * route.h — routing rules, agent assignment and the waiting queues, as pure
 * functions of (configuration, state the caller passes in, now).
 *
 * A new ticket is routed once, by its first message:
 *
 *   1. Rules (config `routing:`) are tried in order; the first whose every
 *      condition holds wins. Conditions: the text (any keyword, or the
 *      regex — see base/rx.h for how keywords match), the customer's tier
 *      and language, intake answers (`field:`), and the local day and time
 *      (`days:`, `hours:`, in the rule's `utc_offset`). The rule names a
 *      group, an assignment strategy and optionally a priority.
 *   2. No rule matched: the general queue (`tickets.general_group`) with
 *      `tickets.fallback_strategy` (default none: it stays unassigned).
 *   3. Inside the group an agent is picked by the strategy, among agents
 *      that serve the group, are online and are under their capacity:
 *        round_robin   the next agent after the group's cursor, in agent-id
 *                      order, wrapping; the cursor is the agent round robin
 *                      last gave a ticket to in this group.
 *        least_loaded  fewest active tickets; ties go to the longest idle
 *                      (oldest last_assigned_at, never assigned first),
 *                      then to the smaller agent id.
 *        none          nobody: the ticket waits for an agent to take it.
 *      Nobody eligible: the ticket waits in the group's queue.
 *
 * Waiting tickets are handed out (route_drain) whenever that can change the
 * answer — an agent comes online, frees capacity, or tickets arrive — in
 * queue order: priority (urgent first), then how long they have waited,
 * then ticket id. When an agent goes offline, route_offline gives their
 * open and in_progress tickets to others or back to the queue, if
 * `tickets.reassign_on_offline` (default true) says so; tickets on hold
 * stay (they wait for someone outside the desk).
 *
 * Determinism: every answer depends only on the arguments — never on the
 * order of the agents array (agents are ranked by id) or on a clock. The
 * engine applies tickets one at a time in arrival (update_id) order and
 * updates the state it passes in between them (route_note), so ten tickets
 * arriving together across five agents give each two.
 *
 * State the engine keeps and passes in (nothing here is stored):
 *   - per agent: availability, active ticket count (open, in_progress,
 *     on_hold), last_assigned_at (any assignment);
 *   - per group: the round-robin cursor (an agent id, or none yet);
 *   - per ticket: the strategy it was placed with (route_decision.assign.
 *     strategy, or an escalation's) and since when it has been waiting —
 *     route_ticket below.
 *
 * Memory: a route_set holds a reference on the cfg it was compiled from, so
 * every string it hands out (rule and group names) lives as long as the
 * set. Agent ids in results point into the caller's agents array; texts
 * ("why", "matched") are allocated in the caller's arena.
 */
#ifndef TGCRM_DESK_ROUTE_H
#define TGCRM_DESK_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"
#include "desk/agent.h"
#include "desk/ticket.h"

enum route_strategy {
    ROUTE_ROUND_ROBIN = 0,
    ROUTE_LEAST_LOADED,
    ROUTE_NONE,
    ROUTE_STRATEGY_COUNT
};

/* "round_robin", "least_loaded", "none" (as in the config and the API). */
const char *route_strategy_name(enum route_strategy s);
/* 0, or ERR_INVAL (field "strategy") listing the accepted names. */
int route_strategy_parse(const char *s, enum route_strategy *out, struct err *e);

/* An agent as assignment sees it: who (from the cfg) and how now (store). */
struct route_agent {
    const char *id;                 /* borrowed */
    const char *const *groups;      /* groups served, borrowed (cfg_agent.groups) */
    size_t ngroups;
    int capacity;                   /* most active tickets; 0 = unlimited */
    enum agent_avail availability;
    int active;                     /* active tickets now */
    int64_t last_assigned_at;       /* ms; 0 = never */
};

/* Fill a from the configured agent ca and its runtime state. */
void route_agent_init(struct route_agent *a, const struct cfg_agent *ca,
                      enum agent_avail availability, int active, int64_t last_assigned_at);

/* True when agent a serves group g. */
bool route_agent_serves(const struct route_agent *a, const char *group);

/* The round-robin cursor of one group: the agent it last gave a ticket. */
struct route_cursor {
    const char *group;              /* borrowed */
    const char *agent;              /* borrowed; NULL = none yet */
};

/* One assignment decision inside a group. */
struct route_assign {
    const char *agent;              /* chosen agent (agents[index].id), NULL = waits */
    int index;                      /* into the agents array, -1 when NULL */
    enum route_strategy strategy;   /* the strategy used (record it on the ticket) */
    const char *why;                /* arena: "round robin picked alice (next after bob)" */
};

/*
 * Pick an agent of `group` by strategy s: see the file comment. `cursor` is
 * the group's round-robin cursor (may be NULL); `exclude` an agent id never
 * to pick (e.g. the one a ticket is escalated away from), or NULL. Fills
 * *out (agent NULL when nobody is eligible, with why saying who was not and
 * for what reason). ERR_TOOBIG only when the arena is exhausted.
 */
int route_pick(enum route_strategy s, const char *group,
               const struct route_agent *agents, size_t nagents, const char *cursor,
               const char *exclude, struct arena *a, struct route_assign *out,
               struct err *e);

/*
 * Account for an assignment in the caller's state, so the next decision in
 * the same batch sees it: the agent's active count and last_assigned_at
 * (= now), and — for round robin — the cursor of `group` in cursors (an
 * entry must exist for the group; one per configured group is simplest).
 * No-op when as->agent is NULL.
 */
void route_note(struct route_agent *agents, size_t nagents, struct route_cursor *cursors,
                size_t ncursors, const char *group, const struct route_assign *as,
                int64_t now);

/* The cursor of group in cursors, or NULL. */
const char *route_cursor_of(const struct route_cursor *cursors, size_t ncursors,
                            const char *group);

/* --- text conditions (shared with escalation policies) ------------------ */

struct rx;
struct buf;

/* "Any of these keywords, else this regex" over a message text. */
struct route_text {
    struct rx *kw;                  /* owned; NULL without keywords */
    struct rx *re;                  /* owned; NULL without a regex */
    char *const *keywords;          /* borrowed from the cfg */
    const char *regex;              /* borrowed from the cfg */
};

/* Compile (either may be absent). ERR_INVAL with rx's message. */
int route_text_compile(struct route_text *t, char *const *keywords, size_t nkeywords,
                       const char *regex, struct err *e);
void route_text_release(struct route_text *t);
/* True when the condition has keywords or a regex. */
bool route_text_active(const struct route_text *t);

/*
 * Match text (NULL = ""): 1 when a keyword or the regex matched, with
 * "keyword 'счёт' ("СЧЁТ")" / "regex 'a|b' ("b")" appended to what (the
 * text as written only when it differs); 0 otherwise. A regex that gave up
 * (match limit) is no match and appends "<owner>: <why>" to warn.
 */
int route_text_match(const struct route_text *t, const char *text, const char *owner,
                     struct buf *what, struct buf *warn);

/* --- routing a new ticket ------------------------------------------------- */

struct route_set;

/* Compile cfg's routing rules (PCRE2). Takes its own reference on c. The
 * patterns were checked by cfg_load, so failure means memory or a cfg not
 * from cfg_load: ERR_CONFIG naming the rule. */
int route_compile(struct cfg *c, struct route_set **out, struct err *e);
void route_free(struct route_set **rsp);

/* The cfg the set was compiled from (borrowed). */
const struct cfg *route_cfg(const struct route_set *rs);

/* What the rules look at, filled by the engine. All borrowed. */
struct route_input {
    const char *text;               /* the first message (UTF-8); NULL = "" */
    const char *tier;               /* the customer's tier, or NULL */
    const char *language;           /* the customer's IETF language tag, or NULL */
    const struct kv *fields;        /* intake answers */
    size_t nfields;
    int64_t now;                    /* ms since the epoch, UTC */
};

struct route_decision {
    const char *rule;               /* the rule that matched; NULL = fallback */
    const char *group;              /* target group; never NULL */
    const char *matched;            /* arena: "keyword 'invoice'", "tier 'vip'", ...
                                       or "no routing rule matched" */
    bool set_priority;              /* the rule sets a priority */
    enum ticket_priority priority;
    struct route_assign assign;     /* agent or NULL (waits in the group's queue) */
    const char *why;                /* arena: one line for the thread */
    const char *warning;            /* arena: a rule's regex gave up on this text
                                       (match limit), to log; NULL normally */
};

/*
 * Route a new ticket: first matching rule, else the fallback; then pick an
 * agent in the group (the cursor for it is looked up in cursors). Follow
 * with route_note(..., d.group, &d.assign, now) before deciding the next
 * ticket of a batch. ERR_TOOBIG only when the arena is exhausted.
 */
int route_decide(const struct route_set *rs, const struct route_input *in,
                 const struct route_agent *agents, size_t nagents,
                 const struct route_cursor *cursors, size_t ncursors,
                 struct arena *a, struct route_decision *out, struct err *e);

/*
 * The facts of a decision as key/value pairs for the thread entry and the
 * webhook payload: rule (when one matched), group, matched, strategy,
 * assignee (when one was picked), priority (when the rule sets one). Values
 * borrowed from d, the set or static names. Returns how many were written.
 */
#define ROUTE_KV_MAX 6
size_t route_decision_kv(const struct route_decision *d, struct kv *out);

/* The strategy of rule `name`, or the fallback strategy for NULL or an
 * unknown name (e.g. a rule removed by a reload). */
enum route_strategy route_rule_strategy(const struct route_set *rs, const char *name);

/* --- queues ------------------------------------------------------------- */

/* A ticket as the queues see it. */
struct route_ticket {
    int64_t id;
    const char *group;              /* borrowed */
    enum ticket_status status;
    enum ticket_priority priority;
    int64_t waiting_since;          /* ms; when it started waiting (created_at) */
    enum route_strategy strategy;   /* how it is handed out; none = manual pick */
    const char *assignee;           /* borrowed; NULL = unassigned */
};

/* Queue order: higher priority first, then longer waiting, then lower id.
 * <0, 0, >0 like strcmp. */
int route_queue_cmp(const struct route_ticket *a, const struct route_ticket *b);
void route_queue_sort(struct route_ticket *t, size_t n);

/* Whether t waits to be handed out: unassigned, open or in_progress, and
 * not strategy none. */
bool route_ticket_waits(const struct route_ticket *t);

/*
 * The waiting ticket agent `ag` should take next (it has just come online
 * or freed capacity): the first in queue order that waits, in a group ag
 * serves. Index into t, or -1 (none, or ag cannot take a ticket).
 */
int route_next_for_agent(const struct route_agent *ag, const struct route_ticket *t, size_t n);

/* One ticket handed out (or taken back) by route_drain / route_offline. */
struct route_move {
    int64_t ticket_id;
    const char *group;              /* borrowed from the ticket */
    const char *from;               /* previous assignee (borrowed), or NULL */
    struct route_assign assign;     /* new assignee, or NULL: back to the queue */
};

/*
 * Hand out waiting tickets: in queue order, each that waits is offered to
 * its group by its strategy; the state (agents, cursors, and each handed
 * out ticket's assignee in t) is updated in place as tickets go, so on
 * return it is the state to store. *moves is an arena array of *nmoves
 * (only tickets that got an agent). t is reordered (queue order).
 * ERR_TOOBIG when the arena is exhausted.
 */
int route_drain(struct route_ticket *t, size_t n, struct route_agent *agents, size_t nagents,
                struct route_cursor *cursors, size_t ncursors, int64_t now, struct arena *a,
                struct route_move **moves, size_t *nmoves, struct err *e);

/*
 * Agent `agent_id` went offline: with tickets.reassign_on_offline, each of
 * its open or in_progress tickets in `held` (in queue order) goes to another
 * agent of its group by the ticket's strategy, or back to the queue
 * (assign.agent NULL) when nobody can take it or the strategy is none.
 * Without it, nothing moves (*nmoves = 0). The offline agent is never
 * picked, whatever `agents` says about it. State is updated as in
 * route_drain.
 */
int route_offline(const struct route_set *rs, const char *agent_id, struct route_ticket *held,
                  size_t n, struct route_agent *agents, size_t nagents,
                  struct route_cursor *cursors, size_t ncursors, int64_t now,
                  struct arena *a, struct route_move **moves, size_t *nmoves, struct err *e);

#endif
