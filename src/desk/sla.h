/*
 * sla.h — service-level targets of a ticket: policy choice, clocks,
 * warnings and breaches, as pure functions of (state, policy, event, now).
 *
 * Three metrics, each a clock that runs in cycles:
 *
 *   first_response  from the ticket's creation to the first agent reply
 *   next_response   from a customer message that follows an agent reply (and
 *                   is not already waiting) to the next agent reply — the
 *                   article's "follow-up after a response restarts the
 *                   response target while resolution keeps running"
 *   resolution      from creation (or a reopen) until resolved or closed
 *
 * Clocks always run, targets or not, so response and resolution times are
 * measured for every ticket; a target (from the policy chosen for the
 * ticket's priority) gives a cycle its deadline. Statuses listed in the
 * policy's `pause` stop a metric's clock (default: on_hold pauses all);
 * paused time extends the deadline and the clock resumes where it stopped.
 * With business hours, all of it is counted in the calendar's open time.
 *
 * Exactness: a warning is due at warn_at, a breach at due_at, both inclusive
 * (a reply at due_at itself is late). Every transition first reports what
 * became due up to `now`, so a breach can never be lost behind the event
 * that ends the clock, and each warning and breach is reported once per
 * cycle: the state records it. An event's `at` is the instant it was due,
 * so a late timer still produces exact payloads.
 *
 * Policy changes (priority, group or tier moved; config reloaded): pass the
 * newly selected policy to sla_on_policy (or to any transition: a policy
 * other than the state's is adopted first). Running cycles take the new
 * targets *measured from their original start*, with their paused time
 * kept — as Zendesk and Freshdesk recompute due dates on a priority change —
 * so raising a ticket to urgent can make it due (or breached) at once.
 * Finished cycles, warnings and breaches already reported stay as they were.
 *
 * The engine's part: keep struct sla_state on the ticket (sla_to_json /
 * sla_from_json), call the transitions with the ticket's events, arm one
 * timer at sla_next_at() and call sla_on_timer when it fires; emit
 * ticket.sla_warning / ticket.sla_breached for the events returned.
 */
#ifndef TGCRM_DESK_SLA_H
#define TGCRM_DESK_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cfg.h"
#include "base/err.h"
#include "base/jx.h"
#include "desk/ticket.h"

enum sla_metric {
    SLA_FIRST_RESPONSE = 0,
    SLA_NEXT_RESPONSE,
    SLA_RESOLUTION,
    SLA_METRIC_COUNT
};

/* One metric's clock. Times are ms since the epoch, 0 meaning "none". */
struct sla_clock {
    int64_t target_ms;      /* this cycle's target (counted ms); 0 = none: measured only */
    int64_t started_at;     /* start of the current cycle; 0 = never started */
    int64_t due_at;         /* deadline; 0 = none (no target, paused, never open) */
    int64_t warn_at;        /* when the warning is due; 0 = none */
    int64_t paused_ms;      /* counted time excluded by finished pauses this cycle */
    int64_t paused_since;   /* start of the current pause; 0 = not paused */
    int64_t warned_at;      /* the warning's due instant once reported; 0 = not */
    int64_t met_at;         /* when the cycle ended (reply, resolved); 0 = running */
    int64_t breached_at;    /* the deadline once its breach is reported; 0 = not */
    int32_t cycle;          /* 1 for the first cycle; 0 = never started */
    int32_t breaches;       /* breaches reported over all cycles */
};

struct sla_state {
    char policy[CFG_SLA_NAME_MAX];  /* name of the policy in force; "" = none */
    enum ticket_priority priority;  /* the priority the targets are for */
    enum ticket_status status;      /* the ticket status last seen */
    struct sla_clock clock[SLA_METRIC_COUNT];
};

enum sla_event_kind {
    SLA_WARNING = 0,        /* warn_before left until the deadline */
    SLA_BREACH,             /* the deadline passed without the cycle ending */
    SLA_MET                 /* the cycle ended (reply, resolution), late or not */
};

struct sla_event {
    enum sla_event_kind kind;
    enum sla_metric metric;
    int64_t at;             /* warning/breach: when due; met: when met */
    int32_t cycle;
    bool late;              /* met: the cycle had breached */
};

/* Room for every event one call can produce (3 metrics × warning, breach,
 * met, with a second round after a policy change). */
#define SLA_EVENTS_MAX 16
struct sla_events {
    size_t n;
    struct sla_event ev[SLA_EVENTS_MAX];
};

/* "first_response", "next_response", "resolution"; "warning", "breach", "met". */
const char *sla_metric_name(enum sla_metric m);
int sla_metric_parse(const char *s, enum sla_metric *out);
const char *sla_event_kind_name(enum sla_event_kind k);

/*
 * The policy for a ticket: the first in config order whose conditions
 * (priority, tier, group; absent ones match anything) all hold. A policy
 * without conditions is the fallback (the config refuses policies after
 * it). NULL when none applies; borrowed from c.
 */
const struct cfg_sla_policy *sla_select(const struct cfg *c, enum ticket_priority priority,
                                        const char *tier, const char *group);

/* The target of metric m for priority p under policy pol (0 = none; a NULL
 * policy has none): the policy's `targets` entry for p if it has one, else
 * its flat targets. */
int64_t sla_target_ms(const struct cfg_sla_policy *pol, enum ticket_priority p,
                      enum sla_metric m);

/* Whether status s pauses metric m under pol (NULL: on_hold pauses all). */
bool sla_pauses(const struct cfg_sla_policy *pol, enum sla_metric m, enum ticket_status s);

/*
 * Transitions. `pol` is the policy sla_select gives for the ticket now (may
 * be NULL); `now` is the event's time; `out` receives the events, in order
 * of their instants, and must not be NULL (out->n is reset).
 */

/* A new ticket (status open): first response and resolution start at now. */
void sla_on_created(struct sla_state *s, const struct cfg_sla_policy *pol,
                    enum ticket_priority priority, int64_t now);

/* An agent replied to the customer: running response cycles are met. */
void sla_on_agent_reply(struct sla_state *s, const struct cfg_sla_policy *pol, int64_t now,
                        struct sla_events *out);

/* The customer wrote. Starts a next_response cycle when the customer is not
 * already waiting for a reply. Call after reopening (sla_on_status) when the
 * message reopened the ticket. */
void sla_on_customer_message(struct sla_state *s, const struct cfg_sla_policy *pol,
                             int64_t now, struct sla_events *out);

/* The status changed to `to`: resolved and closed end every running cycle
 * (resolution met; waiting responses count as answered, as in Zendesk);
 * leaving them starts a new resolution cycle; pausing statuses pause and
 * resume clocks per the policy. */
void sla_on_status(struct sla_state *s, const struct cfg_sla_policy *pol,
                   enum ticket_status to, int64_t now, struct sla_events *out);

/* The ticket's priority, or what the policy is chosen by, changed: adopt
 * pol and priority (see the header comment). Cheap when nothing changed. */
void sla_on_policy(struct sla_state *s, const struct cfg_sla_policy *pol,
                   enum ticket_priority priority, int64_t now, struct sla_events *out);

/* The timer armed at sla_next_at fired (or any time): report what is due
 * at now. Never early, never twice. */
void sla_on_timer(struct sla_state *s, int64_t now, struct sla_events *out);

/* The earliest instant at which sla_on_timer will report something; 0 when
 * nothing is pending (no running cycle with a target, or all paused). */
int64_t sla_next_at(const struct sla_state *s);

/* Counted time of metric m's current cycle up to now (or to its end),
 * pauses excluded. 0 when never started. */
int64_t sla_elapsed_ms(const struct sla_state *s, const struct cfg_sla_policy *pol,
                       enum sla_metric m, int64_t now);

/*
 * The stored form: {"v":1,"policy","priority","status","first_response":
 * {clock fields, integers},...}. sla_to_json returns a new reference.
 * sla_from_json reads it back strictly: ERR_INVAL naming the field for
 * anything unknown, mistyped or out of range; *out untouched on error.
 */
json_t *sla_to_json(const struct sla_state *s);
int sla_from_json(json_t *j, struct sla_state *out, struct err *e);

/*
 * The stored form as text, without building jansson values: the engine
 * reads and writes a ticket's clocks with every change of the ticket.
 * sla_write appends to b (b without a maximum: appends cannot fail) what
 * sla_to_json dumps compactly, keys in the same order, minus the zeros —
 * fields that are 0 and metrics never started are left out (sla_from_json
 * reads absent ones as 0) — so a ticket row stays small. sla_read reads
 * that text directly; any other valid stored form (other key order,
 * spacing, escapes, zeros written out) goes through jansson and
 * sla_from_json, with its errors. *out untouched on error.
 */
struct buf;
void sla_write(struct buf *b, const struct sla_state *s);
int sla_read(const char *text, size_t len, struct sla_state *out, struct err *e);

/*
 * The API form, for GET /v1/tickets/{id}: per metric its status
 * ("not_started", "running", "paused", "met"), breached, target_ms, cycle,
 * started_at, due_at, warn_at, paused_ms (including a pause in progress),
 * elapsed_ms, remaining_ms (null without a target; negative when over),
 * met_at, breached_at, breaches; times as ISO-8601. New reference.
 */
json_t *sla_view(const struct sla_state *s, const struct cfg_sla_policy *pol, int64_t now);

#endif
