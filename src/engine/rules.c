/*
 * rules.c — routing, queues, SLA clocks and escalation inside the engine
 * (see rules.h).
 *
 * Layout: the compiled sets; the crew (agents and cursors as routing sees
 * them, loaded for one decision); routing of new tickets and handing out
 * of waiting ones; SLA transitions and their reports; escalation; timers;
 * settling one ticket after an event.
 *
 * Every change to a ticket made here is recorded like any other change
 * (record.h): a thread entry saying what and why, and the domain events a
 * help desk expects (ticket.updated with the changes, ticket.assigned,
 * ticket.escalated, ticket.sla_warning / ticket.sla_breached). A ticket is
 * stored before any decision that reads the agents' load, because that load
 * is what the store counts from the stored tickets.
 */
#include "engine/rules.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "desk/escalate.h"
#include "desk/intake.h"
#include "desk/kb.h"
#include "desk/route.h"
#include "desk/template.h"
#include "engine/outbox.h"

/* Tickets one hand-out considers per group, at most (an agent with no
 * capacity limit coming online takes them in rounds of this many). */
#define DRAIN_MAX 100
/* Tickets one agent going offline gives back, per status. */
#define OFFLINE_MAX 500
/* Ticket id of no ticket. */
#define NO_TICKET 0

/* ---- the compiled sets ------------------------------------------------------- */

struct rules {
    atomic_int refs;
    struct cfg *cfg;                /* one reference */
    struct route_set *route;        /* owned */
    struct escalate_set *esc;       /* owned */
    struct template_set *templates; /* owned: canned responses */
    struct kb_index *kb;            /* owned: knowledge-base index */
    struct intake_form *intake;     /* owned: the intake form */
    bool esc_message;               /* a policy can fire on a customer message */
    bool esc_message_reassign;      /* ... and may only reassign: see escalate() */
};

int rules_new(struct cfg *c, struct rules **out, struct err *e)
{
    *out = NULL;
    struct rules *r = mem_alloc(sizeof *r);
    memset(r, 0, sizeof *r);
    atomic_init(&r->refs, 1);
    r->cfg = cfg_ref(c);
    int rc = route_compile(c, &r->route, e);
    if (rc == 0)
        rc = escalate_compile(c, &r->esc, e);
    if (rc == 0)
        rc = template_set_new(c, &r->templates, e);
    if (rc == 0)
        rc = kb_index_from_cfg(c, &r->kb, e);
    if (rc == 0)
        rc = intake_form_new(c, &r->intake, e);
    for (size_t i = 0; rc == 0 && i < c->nescalations; i++) {
        const struct cfg_escalation *x = &c->escalations[i];
        bool tier_only = x->tier != NULL && x->nkeywords == 0 && x->regex == NULL &&
                         x->on_sla == NULL && x->no_reply_ms == 0 && !x->manual;
        if (x->nkeywords > 0 || x->regex != NULL || tier_only) {
            r->esc_message = true;
            r->esc_message_reassign = r->esc_message_reassign || x->reassign;
        }
    }
    if (rc != 0) {
        rules_unref(&r);
        return rc;
    }
    *out = r;
    return 0;
}

struct rules *rules_ref(struct rules *r)
{
    atomic_fetch_add(&r->refs, 1);
    return r;
}

void rules_unref(struct rules **rp)
{
    if (rp == NULL || *rp == NULL)
        return;
    struct rules *r = *rp;
    *rp = NULL;
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    route_free(&r->route);
    escalate_free(&r->esc);
    template_set_free(&r->templates);
    kb_index_free(&r->kb);
    intake_form_free(&r->intake);
    cfg_unref(&r->cfg);
    mem_free(r);
}

struct cfg *rules_cfg(const struct rules *r)
{
    return r->cfg;
}

const struct template_set *rules_templates(const struct rules *r)
{
    return r->templates;
}

const struct kb_index *rules_kb(const struct rules *r)
{
    return r->kb;
}

const struct intake_form *rules_intake(const struct rules *r)
{
    return r->intake;
}

bool rules_is_policy(const struct rules *r, const char *name)
{
    bool manual = false;
    for (size_t i = 0; i < r->cfg->nescalations; i++) {
        if (strcmp(r->cfg->escalations[i].name, name) == 0)
            return true;
        manual = manual || r->cfg->escalations[i].manual;
    }
    return !manual && strcmp(name, ESCALATE_BUILTIN) == 0;
}

/* ---- small helpers -------------------------------------------------------------- */

/* The strategy a ticket is handed out by: its own, else its rule's. */
static enum route_strategy strategy_of(const struct apply *ap, const struct ticket *t)
{
    enum route_strategy s;
    if (t->strategy != NULL && route_strategy_parse(t->strategy, &s, NULL) == 0)
        return s;
    return route_rule_strategy(ap->rules->route, t->rule);
}

static const char *tier_of(const struct customer *c)
{
    return c != NULL ? c->tier : NULL;
}

static const struct cfg_sla_policy *policy_of(const struct apply *ap, const struct ticket *t,
                                              const struct customer *c)
{
    return sla_select(ap->cfg, t->priority, tier_of(c), t->group);
}

static void escalate_ticket_of(const struct ticket *t, const struct customer *c,
                               struct escalate_ticket *et)
{
    *et = (struct escalate_ticket){
        .id = t->id, .status = t->status, .priority = t->priority, .group = t->group,
        .assignee = t->assignee, .tier = tier_of(c), .waiting_since = t->waiting_since,
        .applied = t->escalations, .napplied = t->nescalations,
    };
}

/* "2m", "1h30m", "90ms": a target in a sentence. */
static const char *duration(struct apply *ap, int64_t ms)
{
    static const struct { const char *unit; int64_t ms; } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
    };
    char buf[64];
    size_t len = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && len < sizeof buf - 24; i++) {
        if (ms >= units[i].ms) {
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%" PRId64 "%s",
                                    ms / units[i].ms, units[i].unit);
            ms %= units[i].ms;
        }
    }
    return arena_strdup(ap->a, len > 0 ? buf : "0s");
}

static const char *iso(struct apply *ap, int64_t ms)
{
    char b[CLOCK_ISO_LEN];
    return arena_strdup(ap->a, clock_fmt_iso(ms, b));
}

/* Store t if this file changed it since it was last stored. */
static int flush(struct apply *ap, struct rules_ticket *rt)
{
    if (!rt->dirty)
        return 0;
    rt->t->updated_at = ap->now;
    int rc = store_ticket_update(ap->w, rt->t, ap->e);
    if (rc == 0)
        rt->dirty = false;
    return rc;
}

/* ---- the crew: agents and cursors as routing sees them --------------------------- */

/* Loaded from the store for one decision and written back after it
 * (cursors); route_note keeps it right while one decision assigns several
 * tickets. */
struct crew {
    struct route_agent *agents;     /* one per configured agent, in cfg order */
    size_t n;
    struct route_cursor *cursors;   /* one per configured group */
    const char **was;               /* each cursor's agent as loaded */
    size_t ncursors;
};

static int crew_load(struct apply *ap, struct crew *cw)
{
    const struct cfg *c = ap->cfg;
    struct agent_state *st = NULL;
    struct agent_load *load = NULL;
    struct route_cursor_row *rows = NULL;
    size_t nst = 0, nload = 0, nrows = 0;
    int rc = store_agent_state_list(ap->w, ap->a, &st, &nst, ap->e);
    if (rc == 0)
        rc = store_load_by_agent(ap->w, ap->a, &load, &nload, ap->e);
    if (rc == 0)
        rc = store_route_cursor_list(ap->w, ap->a, &rows, &nrows, ap->e);
    if (rc != 0)
        return rc;
    memset(cw, 0, sizeof *cw);
    cw->agents = arena_alloc(ap->a, (c->nagents + 1) * sizeof *cw->agents);
    cw->cursors = arena_alloc(ap->a, (c->ngroups + 1) * sizeof *cw->cursors);
    cw->was = arena_alloc(ap->a, (c->ngroups + 1) * sizeof *cw->was);
    if (cw->agents == NULL || cw->cursors == NULL || cw->was == NULL)
        return record_too_big(ap);
    for (size_t i = 0; i < c->nagents; i++) {
        const struct cfg_agent *ca = &c->agents[i];
        enum agent_avail avail = AGENT_ONLINE;      /* never stored: as configured */
        if (ca->availability != NULL)
            agent_avail_parse(ca->availability, &avail, NULL);
        int64_t last = 0, active = 0;
        for (size_t k = 0; k < nst; k++) {
            if (strcmp(st[k].agent_id, ca->id) == 0) {
                avail = st[k].availability;
                last = st[k].last_assigned_at;
            }
        }
        for (size_t k = 0; k < nload; k++)
            if (strcmp(load[k].agent_id, ca->id) == 0)
                active = load[k].active;
        route_agent_init(&cw->agents[i], ca, avail, (int)active, last);
    }
    cw->n = c->nagents;
    for (size_t g = 0; g < c->ngroups; g++) {
        cw->cursors[g] = (struct route_cursor){.group = c->groups[g].name};
        for (size_t k = 0; k < nrows; k++)
            if (strcmp(rows[k].group, c->groups[g].name) == 0)
                cw->cursors[g].agent = rows[k].agent_id;
        cw->was[g] = cw->cursors[g].agent;
    }
    cw->ncursors = c->ngroups;
    return 0;
}

/* Write the cursors a decision moved. */
static int crew_save(struct apply *ap, const struct crew *cw)
{
    for (size_t g = 0; g < cw->ncursors; g++) {
        const char *now = cw->cursors[g].agent;
        if (now == NULL || (cw->was[g] != NULL && strcmp(now, cw->was[g]) == 0))
            continue;
        int rc = store_route_cursor_put(ap->w, cw->cursors[g].group, now, ap->e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static struct route_agent *crew_agent(const struct crew *cw, const char *id)
{
    for (size_t i = 0; id != NULL && i < cw->n; i++)
        if (strcmp(cw->agents[i].id, id) == 0)
            return &cw->agents[i];
    return NULL;
}

/* ---- routing and handing out ---------------------------------------------------------- */

/* The facts of a decision for an "assigned" entry, without its assignee
 * (the entry says "to" already). */
static size_t decision_facts(const struct route_decision *d, struct kv *out)
{
    struct kv all[ROUTE_KV_MAX];
    size_t n = route_decision_kv(d, all), k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].key, "assignee") != 0)
            out[k++] = all[i];
    return k;
}

static void start_sla(struct apply *ap, struct rules_ticket *rt)
{
    struct ticket *t = rt->t;
    t->sla = arena_alloc(ap->a, sizeof *t->sla);
    if (t->sla != NULL)
        sla_on_created(t->sla, policy_of(ap, t, rt->c), t->priority, ap->now);
}

int rules_route_new(struct apply *ap, struct rules_ticket *rt, const char *text)
{
    struct ticket *t = rt->t;
    struct route_input in = {
        .text = text, .tier = tier_of(rt->c), .language = rt->c->language,
        .fields = t->fields, .nfields = t->nfields, .now = ap->now,
    };
    /* Which rule, and so which strategy, does not depend on the agents: a
     * ticket that will wait for someone to take it (strategy none) is
     * placed without reading any agent's state. */
    struct crew cw = {0};
    struct route_decision d;
    int rc = route_decide(ap->rules->route, &in, NULL, 0, NULL, 0, ap->a, &d, ap->e);
    if (rc == 0 && d.assign.strategy != ROUTE_NONE) {
        rc = crew_load(ap, &cw);
        if (rc == 0)
            rc = route_decide(ap->rules->route, &in, cw.agents, cw.n, cw.cursors, cw.ncursors,
                              ap->a, &d, ap->e);
    }
    if (rc != 0)
        return rc;
    if (d.warning != NULL)
        log_msg(LOG_WARN, "route.match_limit", "%s", d.warning);
    t->group = d.group;
    t->rule = d.rule;
    if (d.set_priority)
        t->priority = d.priority;
    t->strategy = route_strategy_name(d.assign.strategy);
    t->assignee = d.assign.agent;
    rt->route_why = d.why;
    rt->nroute_facts = decision_facts(&d, rt->route_facts);
    if (d.assign.agent != NULL) {
        route_note(cw.agents, cw.n, cw.cursors, cw.ncursors, d.group, &d.assign, ap->now);
        rc = record_agent_assigned(ap, d.assign.agent);
        if (rc == 0)
            rc = crew_save(ap, &cw);
        if (rc != 0)
            return rc;
    }
    start_sla(ap, rt);
    t->waiting_since = ap->now;
    return t->sla != NULL ? 0 : record_too_big(ap);
}

int rules_route_record(struct apply *ap, struct rules_ticket *rt)
{
    struct ticket *t = rt->t;
    if (t->assignee != NULL)
        return record_assignee_entry(ap, t, NULL, t->assignee, "system", rt->route_why,
                                     rt->route_facts, rt->nroute_facts);
    return record_thread_event(ap, t, "queued", rt->route_why, rt->route_facts,
                               rt->nroute_facts, "system");
}

/* A ticket as the queues see it. */
static void queue_ticket_of(const struct apply *ap, const struct ticket *t,
                            struct route_ticket *q)
{
    *q = (struct route_ticket){
        .id = t->id, .group = t->group, .status = t->status, .priority = t->priority,
        .waiting_since = t->created_at, .strategy = strategy_of(ap, t),
        .assignee = t->assignee,
    };
}

/*
 * Carry out one hand-out or take-back: t (stored, in the arena) goes to
 * mv->assign.agent (NULL: back to the queue), recorded with the move's
 * reason, stored, announced.
 */
static int apply_move(struct apply *ap, struct ticket *t, const struct route_move *mv)
{
    struct customer *c = NULL;
    int rc = store_customer_get(ap->w, t->customer_id, ap->a, &c, ap->e);
    if (rc != 0)
        return rc;
    const char *from = t->assignee;
    struct kv facts[2] = {{"group", t->group},
                          {"strategy", route_strategy_name(mv->assign.strategy)}};
    rc = record_assignee(ap, t, mv->assign.agent, "system", mv->assign.why, facts, 2, NULL);
    if (rc != 0)
        return rc;
    t->updated_at = ap->now;
    rc = store_ticket_update(ap->w, t, ap->e);
    if (rc == 0)
        rc = record_assigned_events(ap, t, c, from, "system");
    return rc;
}

static struct ticket *find(struct ticket **ts, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ts[i]->id == id)
            return ts[i];
    return NULL;
}

/* The ticket pointers more[0, nmore) after (*all)[0, *n), in the arena. */
static int append(struct apply *ap, struct ticket ***all, size_t *n, struct ticket **more,
                  size_t nmore)
{
    if (nmore == 0)
        return 0;
    struct ticket **grown = arena_alloc(ap->a, (*n + nmore) * sizeof(struct ticket *));
    if (grown == NULL)
        return record_too_big(ap);
    if (*n > 0)
        memcpy(grown, *all, *n * sizeof(struct ticket *));
    memcpy(grown + *n, more, nmore * sizeof(struct ticket *));
    *all = grown;
    *n += nmore;
    return 0;
}

/* How many waiting tickets of group g the eligible agents can take now. */
static int room_in(const struct crew *cw, const char *group)
{
    int room = 0;
    for (size_t i = 0; i < cw->n && room < DRAIN_MAX; i++) {
        const struct route_agent *ag = &cw->agents[i];
        if (!route_agent_serves(ag, group) ||
            !agent_can_take(ag->availability, ag->active, ag->capacity))
            continue;
        room += ag->capacity == 0 ? DRAIN_MAX : ag->capacity - ag->active;
    }
    return room < DRAIN_MAX ? room : DRAIN_MAX;
}

/*
 * Agent `agent_id` came online or freed capacity: hand out the waiting
 * tickets of the groups it serves, in queue order, by their strategies
 * (to it, or to others who can take them). `skip` is a ticket not to hand
 * out now (one this event just took from the agent).
 */
static int drain(struct apply *ap, const char *agent_id, int64_t skip)
{
    struct crew cw;
    int rc = crew_load(ap, &cw);
    if (rc != 0)
        return rc;
    const struct route_agent *me = crew_agent(&cw, agent_id);
    if (me == NULL || !agent_can_take(me->availability, me->active, me->capacity))
        return 0;
    struct ticket **all = NULL;
    size_t n = 0;
    for (size_t g = 0; g < me->ngroups; g++) {
        int room = room_in(&cw, me->groups[g]);
        struct ticket **ts = NULL;
        size_t nts = 0;
        if (room > 0)
            rc = store_ticket_queue(ap->w, me->groups[g], room, ap->a, &ts, &nts, ap->e);
        if (rc == 0)
            rc = append(ap, &all, &n, ts, nts);
        if (rc != 0)
            return rc;
    }
    struct route_ticket *q = arena_alloc(ap->a, (n + 1) * sizeof *q);
    if (q == NULL)
        return record_too_big(ap);
    size_t nq = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i]->id != skip)
            queue_ticket_of(ap, all[i], &q[nq++]);
    struct route_move *mv = NULL;
    size_t nmv = 0;
    rc = route_drain(q, nq, cw.agents, cw.n, cw.cursors, cw.ncursors, ap->now, ap->a, &mv, &nmv,
                     ap->e);
    for (size_t i = 0; rc == 0 && i < nmv; i++)
        rc = apply_move(ap, find(all, n, mv[i].ticket_id), &mv[i]);
    return rc == 0 ? crew_save(ap, &cw) : rc;
}

/* Held tickets of agent in one status, appended to *all. */
static int held_in(struct apply *ap, const char *agent, enum ticket_status s,
                   struct ticket ***all, size_t *n)
{
    struct ticket_filter f = {.has_status = true, .status = s, .assignee = agent,
                              .limit = OFFLINE_MAX};
    struct ticket **ts = NULL;
    size_t nts = 0;
    int rc = store_ticket_list(ap->w, &f, ap->a, &ts, &nts, ap->e);
    return rc != 0 ? rc : append(ap, all, n, ts, nts);
}

/* Agent `agent_id` went offline: its open and in_progress tickets go to
 * others or back to the queue (tickets.reassign_on_offline). */
static int offline(struct apply *ap, const char *agent_id)
{
    if (!ap->cfg->reassign_on_offline)
        return 0;
    struct ticket **held = NULL;
    size_t n = 0;
    int rc = held_in(ap, agent_id, TICKET_OPEN, &held, &n);
    if (rc == 0)
        rc = held_in(ap, agent_id, TICKET_IN_PROGRESS, &held, &n);
    if (rc != 0 || n == 0)
        return rc;
    struct crew cw;
    if ((rc = crew_load(ap, &cw)) != 0)
        return rc;
    struct route_ticket *q = arena_alloc(ap->a, n * sizeof *q);
    if (q == NULL)
        return record_too_big(ap);
    for (size_t i = 0; i < n; i++)
        queue_ticket_of(ap, held[i], &q[i]);
    struct route_move *mv = NULL;
    size_t nmv = 0;
    rc = route_offline(ap->rules->route, agent_id, q, n, cw.agents, cw.n, cw.cursors, cw.ncursors,
                       ap->now, ap->a, &mv, &nmv, ap->e);
    for (size_t i = 0; rc == 0 && i < nmv; i++)
        rc = apply_move(ap, find(held, n, mv[i].ticket_id), &mv[i]);
    return rc == 0 ? crew_save(ap, &cw) : rc;
}

/* The ticket of rt may wait unassigned now: offer it to its group by its
 * strategy, preferring an agent other than `exclude`. */
static int offer(struct apply *ap, struct rules_ticket *rt, const char *exclude)
{
    struct route_ticket q;
    queue_ticket_of(ap, rt->t, &q);
    if (!route_ticket_waits(&q))
        return 0;
    int rc = flush(ap, rt);
    struct crew cw;
    if (rc == 0)
        rc = crew_load(ap, &cw);
    if (rc != 0)
        return rc;
    struct route_move mv = {.ticket_id = rt->t->id, .group = rt->t->group};
    rc = route_pick(q.strategy, q.group, cw.agents, cw.n,
                    route_cursor_of(cw.cursors, cw.ncursors, q.group), exclude, ap->a,
                    &mv.assign, ap->e);
    if (rc != 0 || mv.assign.agent == NULL)
        return rc;      /* nobody: it waits in the queue */
    mv.assign.why = arena_printf(ap->a, "taken from the %s queue: %s", q.group, mv.assign.why);
    if (mv.assign.why == NULL)
        return record_too_big(ap);
    route_note(cw.agents, cw.n, cw.cursors, cw.ncursors, q.group, &mv.assign, ap->now);
    rc = apply_move(ap, rt->t, &mv);
    return rc == 0 ? crew_save(ap, &cw) : rc;
}

int rules_availability(struct apply *ap, const char *agent_id, enum agent_avail from,
                       enum agent_avail to)
{
    if (to == AGENT_ONLINE && from != AGENT_ONLINE)
        return drain(ap, agent_id, NO_TICKET);
    if (to == AGENT_OFFLINE && from != AGENT_OFFLINE)
        return offline(ap, agent_id);
    return 0;
}

/* ---- SLA ------------------------------------------------------------------------------ */

void rules_begin(struct rules_ticket *rt, struct ticket *t, struct customer *c, bool fresh)
{
    memset(rt, 0, sizeof *rt);
    rt->t = t;
    rt->c = c;
    rt->fresh = fresh;
    if (fresh)
        return;                     /* nothing armed yet */
    rt->sla_next = t->sla != NULL ? sla_next_at(t->sla) : 0;
    rt->waiting_since = t->waiting_since;
    rt->status = t->status;
    rt->nescalations = t->nescalations;
}

/* Keep a transition's warnings and breaches for rules_settle. */
static void keep(struct rules_ticket *rt, const struct sla_events *evs)
{
    for (size_t i = 0; i < evs->n; i++) {
        if (evs->ev[i].kind == SLA_MET)
            continue;
        if (rt->npending == RULES_PENDING_MAX) {
            log_msg(LOG_ERROR, "sla.events_dropped", "ticket %" PRId64 ": more than %d SLA "
                    "events in one event", rt->t->id, RULES_PENDING_MAX);
            return;
        }
        rt->pending[rt->npending++] = evs->ev[i];
    }
}

static bool stopped(enum ticket_status s)
{
    return s == TICKET_RESOLVED || s == TICKET_CLOSED;
}

void rules_on_customer_message(struct apply *ap, struct rules_ticket *rt)
{
    struct ticket *t = rt->t;
    /* Already waiting for an answer: the clocks have nothing to start, and
     * what falls due is the timer's (the hot path of follow-ups). */
    if (t->waiting_since != 0 && !stopped(t->status))
        return;
    if (t->sla != NULL) {
        struct sla_events evs;
        sla_on_customer_message(t->sla, policy_of(ap, t, rt->c), ap->now, &evs);
        keep(rt, &evs);
    }
    if (!stopped(t->status))
        t->waiting_since = ap->now;
    rt->dirty = true;
}

void rules_on_agent_reply(struct apply *ap, struct rules_ticket *rt)
{
    struct ticket *t = rt->t;
    if (t->sla != NULL) {
        struct sla_events evs;
        sla_on_agent_reply(t->sla, policy_of(ap, t, rt->c), ap->now, &evs);
        keep(rt, &evs);
    }
    t->waiting_since = 0;
    rt->dirty = true;
}

void rules_on_status(struct apply *ap, struct rules_ticket *rt)
{
    struct ticket *t = rt->t;
    if (t->sla != NULL) {
        struct sla_events evs;
        sla_on_status(t->sla, policy_of(ap, t, rt->c), t->status, ap->now, &evs);
        keep(rt, &evs);
    }
    if (stopped(t->status))
        t->waiting_since = 0;   /* a resolved ticket owes no answer (as its clocks say) */
    rt->dirty = true;
}

void rules_on_policy(struct apply *ap, struct rules_ticket *rt)
{
    struct ticket *t = rt->t;
    if (t->sla == NULL)
        return;
    struct sla_events evs;
    sla_on_policy(t->sla, policy_of(ap, t, rt->c), t->priority, ap->now, &evs);
    keep(rt, &evs);
    rt->dirty = true;
}

static int escalate(struct apply *ap, struct rules_ticket *rt, struct escalate_input *in,
                    const char *actor, bool *applied);

/* One warning or breach: thread entry, domain event, escalation trigger. */
static int report(struct apply *ap, struct rules_ticket *rt, const struct sla_event *ev)
{
    struct ticket *t = rt->t;
    const struct sla_clock *k = &t->sla->clock[ev->metric];
    bool warning = ev->kind == SLA_WARNING;
    const char *metric = sla_metric_name(ev->metric);
    /* a breach is due at its instant; a warning names the deadline it warns of */
    const char *due = iso(ap, warning && k->due_at != 0 ? k->due_at : ev->at);
    const char *target = duration(ap, k->target_ms);
    struct kv *d = record_kvs(ap, 5);
    char *text = warning
        ? arena_printf(ap->a, "SLA warning: %s due at %s (target %s, policy '%s')", metric,
                       due, target, t->sla->policy)
        : arena_printf(ap->a, "SLA breached: %s was due at %s (target %s, policy '%s')",
                       metric, due, target, t->sla->policy);
    const char *cycle = arena_printf(ap->a, "%" PRId32, ev->cycle);
    if (d == NULL || text == NULL || cycle == NULL || due == NULL || target == NULL)
        return record_too_big(ap);
    d[0] = (struct kv){"metric", metric};
    d[1] = (struct kv){"policy", t->sla->policy};
    d[2] = (struct kv){"cycle", cycle};
    d[3] = (struct kv){"due_at", due};
    d[4] = (struct kv){"target", target};
    int rc = record_thread_event(ap, t, warning ? "sla_warning" : "sla_breached", text, d, 5,
                                 "system");
    rt->dirty = true;
    if (rc == 0)
        rc = flush(ap, rt);
    if (rc != 0)
        return rc;
    json_t *x = json_object();
    json_object_set_new(x, "metric", json_string(metric));
    json_object_set_new(x, "policy", t->sla->policy[0] ? json_string(t->sla->policy)
                                                       : json_null());
    json_object_set_new(x, "cycle", json_integer(ev->cycle));
    json_object_set_new(x, "target_ms", json_integer(k->target_ms));
    json_object_set_new(x, "due_at", json_string(due));
    if (warning)
        json_object_set_new(x, "warn_at", jx_time_or_null(ev->at));
    rc = record_event(ap, warning ? "ticket.sla_warning" : "ticket.sla_breached", t, rt->c, x);
    if (rc != 0)
        return rc;
    struct escalate_input in = {
        .trigger = warning ? ESCALATE_ON_SLA_WARNING : ESCALATE_ON_SLA_BREACH,
        .sla_metric = metric, .now = ap->now,
    };
    bool applied;
    return escalate(ap, rt, &in, "system", &applied);
}

/* Report what was kept, including what reporting raises (an escalation
 * that raises the priority can make a clock due at once). */
static int report_pending(struct apply *ap, struct rules_ticket *rt)
{
    int rc = 0;
    while (rc == 0 && rt->npending > 0) {
        struct sla_event ev = rt->pending[0];
        memmove(rt->pending, rt->pending + 1, --rt->npending * sizeof ev);
        rc = report(ap, rt, &ev);
    }
    return rc;
}

/* ---- escalation ----------------------------------------------------------------------- */

/* The policies applied to t plus `name`, unless it is there already. */
static int add_applied(struct apply *ap, struct ticket *t, const char *name)
{
    for (size_t i = 0; i < t->nescalations; i++)
        if (strcmp(t->escalations[i], name) == 0)
            return 0;
    const char **list = arena_alloc(ap->a, (t->nescalations + 1) * sizeof *list);
    if (list == NULL)
        return record_too_big(ap);
    if (t->nescalations > 0)
        memcpy(list, t->escalations, t->nescalations * sizeof *list);
    list[t->nescalations] = name;
    t->escalations = list;
    t->nescalations++;
    return 0;
}

/* The notice in the topic, mentioning the agents of the (new) group. */
static int notify(struct apply *ap, const struct ticket *t, const struct escalate_decision *d)
{
    int64_t staff = record_staff_chat(ap->cfg);
    if (!d->notify || d->notice == NULL || staff == 0)
        return 0;
    return outbox_send_mentions(ap->w, staff, t->id, d->notice, d->mentions, d->nmentions,
                                ap->now, ap->e);
}

/* Carry out decision d on rt's ticket. */
static int escalation_apply(struct apply *ap, struct rules_ticket *rt, struct crew *cw,
                            const struct escalate_decision *d, const char *actor)
{
    struct ticket *t = rt->t;
    json_t *changes = json_object();
    int rc = 0;
    if (d->priority_changed) {
        const char *from = ticket_priority_name(d->priority_from);
        const char *to = ticket_priority_name(d->priority_to);
        t->priority = d->priority_to;
        rc = record_changed(ap, t, "priority_changed", "priority", from, to,
                            arena_printf(ap->a, "priority %s → %s", from, to), actor, changes);
    }
    if (rc == 0 && d->group_changed) {
        t->group = d->group_to;
        rc = record_changed(ap, t, "group_changed", "group", d->group_from, d->group_to,
                            arena_printf(ap->a, "moved from %s to %s", d->group_from,
                                         d->group_to),
                            actor, changes);
    }
    if (rc == 0 && (d->group_changed || d->assignee_changed))
        t->strategy = route_strategy_name(d->assign.strategy);
    if (rc == 0 && d->assignee_changed) {
        struct kv facts[2] = {{"group", d->group_to},
                              {"strategy", route_strategy_name(d->assign.strategy)}};
        /* the assignment names the policy that decided it (issue 6) */
        const char *why = arena_printf(ap->a, "escalation '%s': %s", d->policy,
                                       d->assign.why ? d->assign.why : "");
        rc = why != NULL ? record_assignee(ap, t, d->assign.agent, actor, why, facts, 2, changes)
                         : record_too_big(ap);
        route_note(cw->agents, cw->n, cw->cursors, cw->ncursors, d->group_to, &d->assign,
                   ap->now);
    }
    if (rc == 0)
        rc = add_applied(ap, t, d->policy);
    struct kv facts[ESCALATE_KV_MAX];
    size_t nfacts = escalate_event_kv(d, facts);
    if (rc == 0)
        rc = record_thread_event(ap, t, "escalated", d->why, facts, nfacts, actor);
    rt->dirty = true;
    if (rc == 0 && (d->priority_changed || d->group_changed))
        rules_on_policy(ap, rt);
    if (rc == 0)
        rc = flush(ap, rt);
    if (rc == 0)
        rc = crew_save(ap, cw);
    if (rc == 0 && json_object_size(changes) > 0)
        rc = record_actor_event(ap, "ticket.updated", t, rt->c, actor, changes);
    if (rc == 0 && d->assignee_changed && d->assign.agent != NULL)
        rc = record_actor_event(ap, "ticket.assigned", t, rt->c, actor, NULL);
    if (rc == 0) {
        json_t *x = json_object();
        for (size_t i = 0; i < nfacts; i++)
            json_object_set_new(x, facts[i].key, jx_str_or_null(facts[i].value));
        json_object_set_new(x, "actor", json_string(actor));
        rc = record_event(ap, "ticket.escalated", t, rt->c, x);
    }
    if (rc == 0)
        rc = notify(ap, t, d);
    if (rc == 0 && d->assignee_changed && d->assignee_from != NULL)
        rc = drain(ap, d->assignee_from, t->id);    /* its old agent has room now */
    json_decref(changes);
    return rc;
}

/*
 * Evaluate in (its ticket filled here) and apply the decision. A customer
 * message is first tried without the agents: unless a message policy may
 * only reassign, whether anything applies does not depend on them, and a
 * follow-up message is then no reason to read every agent's state.
 */
static int escalate(struct apply *ap, struct rules_ticket *rt, struct escalate_input *in,
                    const char *actor, bool *applied)
{
    *applied = false;
    struct escalate_decision d;
    escalate_ticket_of(rt->t, rt->c, &in->ticket);
    int rc;
    if (in->trigger == ESCALATE_ON_MESSAGE && !ap->rules->esc_message_reassign) {
        rc = escalate_evaluate(ap->rules->esc, in, NULL, 0, NULL, 0, ap->a, &d, ap->e);
        if (rc != 0 || !d.escalate)
            return rc;
    }
    struct crew cw;
    rc = flush(ap, rt);
    if (rc == 0)
        rc = crew_load(ap, &cw);
    if (rc == 0)
        rc = escalate_evaluate(ap->rules->esc, in, cw.agents, cw.n, cw.cursors, cw.ncursors, ap->a,
                               &d, ap->e);
    if (rc != 0 || !d.escalate)
        return rc;
    *applied = true;
    return escalation_apply(ap, rt, &cw, &d, actor);
}

int rules_escalate(struct apply *ap, int64_t ticket_id, const char *policy, const char *note,
                   const char *actor)
{
    struct ticket *t = NULL;
    struct customer *c = NULL;
    int rc = record_load_ticket(ap, ticket_id, &t, &c);
    if (rc != 0)
        return rc;
    ap->res->ticket_id = t->id;
    struct rules_ticket rt;
    rules_begin(&rt, t, c, false);
    struct escalate_input in = {
        .trigger = ESCALATE_ON_MANUAL, .policy = policy, .actor = actor,
        .note = record_blank(note) ? NULL : note, .now = ap->now,
    };
    bool applied;
    rc = escalate(ap, &rt, &in, actor, &applied);
    if (rc == 0)
        rc = rules_settle(ap, &rt, &(struct rules_after){0});
    return rc;
}

/* ---- timers ---------------------------------------------------------------------------- */

static int put_timer(struct apply *ap, const char *kind, int64_t ticket_id, int64_t at)
{
    if (at == 0)
        return store_timer_cancel(ap->w, kind, ticket_id, ap->e);
    if (at <= ap->now) {
        /* never a timer in the past: it would fire again at once */
        log_msg(LOG_ERROR, "engine.timer_in_past", "ticket %" PRId64 ": %s timer at %" PRId64
                " is not after now (%" PRId64 "); dropped", ticket_id, kind, at, ap->now);
        return store_timer_cancel(ap->w, kind, ticket_id, ap->e);
    }
    struct timer_row r = {.kind = kind, .ticket_id = ticket_id, .due_at = at};
    return store_timer_put(ap->w, &r, ap->e);
}

/*
 * Re-arm rt's timers where their time changed (or `force`: the timer itself
 * just fired). What is armed is known without reading it: the SLA timer is
 * always at sla_next_at of the stored clocks, the escalation timer at the
 * next no_reply due of the stored ticket (policies are only ever added to
 * its applied list, so the list as loaded is a prefix of the current one).
 */
static int arm(struct apply *ap, struct rules_ticket *rt, bool force_sla, bool force_esc)
{
    const struct ticket *t = rt->t;
    int64_t next = t->sla != NULL ? sla_next_at(t->sla) : 0;
    int rc = 0;
    if (force_sla || next != rt->sla_next)
        rc = put_timer(ap, "sla", t->id, next);
    struct escalate_ticket et, was;
    escalate_ticket_of(t, rt->c, &et);
    was = et;
    was.waiting_since = rt->waiting_since;
    was.status = rt->status;
    was.napplied = rt->nescalations;
    int64_t due = escalate_next_due(ap->rules->esc, &et, ap->now);
    int64_t armed = rt->fresh ? 0 : escalate_next_due(ap->rules->esc, &was, ap->now);
    if (rc == 0 && (force_esc || due != armed))
        rc = put_timer(ap, "escalate", t->id, due);
    if (rc == 0) {      /* what is armed now */
        rt->fresh = false;
        rt->sla_next = next;
        rt->waiting_since = t->waiting_since;
        rt->status = t->status;
        rt->nescalations = t->nescalations;
    }
    return rc;
}

static int settle(struct apply *ap, struct rules_ticket *rt, const struct rules_after *after,
                  bool force_sla, bool force_esc)
{
    int rc = report_pending(ap, rt);
    struct ticket *t = rt->t;
    if (rc == 0 && after->message != NULL && ap->rules->esc_message &&
        ticket_status_is_active(t->status)) {
        struct escalate_input in = {.trigger = ESCALATE_ON_MESSAGE, .text = after->message,
                                    .now = ap->now};
        bool applied;
        rc = escalate(ap, rt, &in, "system", &applied);
        if (rc == 0)
            rc = report_pending(ap, rt);
    }
    if (rc == 0 && after->requeue && t->assignee == NULL)
        rc = offer(ap, rt, after->freed);
    if (rc == 0)
        rc = flush(ap, rt);
    if (rc == 0 && after->freed != NULL)
        rc = drain(ap, after->freed, t->id);
    if (rc == 0)
        rc = arm(ap, rt, force_sla, force_esc);
    return rc;
}

int rules_settle(struct apply *ap, struct rules_ticket *rt, const struct rules_after *after)
{
    rt->dirty = false;      /* the handler has stored it */
    return settle(ap, rt, after, false, false);
}

int rules_timer(struct apply *ap, const struct timer_row *row)
{
    bool sla = strcmp(row->kind, "sla") == 0;
    if (!sla && strcmp(row->kind, "escalate") != 0) {
        log_msg(LOG_WARN, "engine.timer_unknown", "timer kind '%s' for ticket %" PRId64
                " has no handler; looked at again in an hour", row->kind, row->ticket_id);
        struct timer_row r = *row;
        r.due_at = ap->now + 3600000;
        return store_timer_put(ap->w, &r, ap->e);
    }
    struct ticket *t = NULL;
    struct customer *c = NULL;
    int rc = record_load_ticket(ap, row->ticket_id, &t, &c);
    if (rc == ERR_NOTFOUND) {
        err_clear(ap->e);
        return store_timer_cancel(ap->w, row->kind, row->ticket_id, ap->e);
    }
    if (rc != 0)
        return rc;
    ap->res->ticket_id = t->id;
    struct rules_ticket rt;
    rules_begin(&rt, t, c, false);
    if (sla) {
        /* the policy is chosen again: a reload may have changed it */
        rules_on_policy(ap, &rt);
    } else {
        /* several no_reply policies may have come due together */
        bool applied = true;
        for (size_t i = 0; rc == 0 && applied && i <= ap->cfg->nescalations; i++) {
            struct escalate_input in = {.trigger = ESCALATE_ON_NO_REPLY, .now = ap->now};
            rc = escalate(ap, &rt, &in, "system", &applied);
        }
    }
    if (rc == 0)
        rc = settle(ap, &rt, &(struct rules_after){0}, sla, !sla);
    return rc;
}
