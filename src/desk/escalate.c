/*
 * escalate.c — escalation policies (see escalate.h).
 *
 * Evaluation is two steps per candidate policy: does the trigger fire for
 * it (and has it not been applied yet), then `plan` — what its actions
 * would change on this ticket now. A plan that changes nothing is not an
 * escalation, which together with the applied set is what keeps policies
 * from looping. The first candidate with an effect is the decision, and
 * its sentences ("why" for the thread, "notice" for the topic) are built
 * from the plan, so they always say exactly what happened.
 */
#include "desk/escalate.h"

#include "base/buf.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const trigger_names[ESCALATE_TRIGGER_COUNT] = {
    "message", "sla_warning", "sla_breach", "no_reply", "manual"
};

const char *escalate_trigger_name(enum escalate_trigger t)
{
    return (unsigned)t < ESCALATE_TRIGGER_COUNT ? trigger_names[t] : "unknown";
}

int escalate_trigger_parse(const char *s, enum escalate_trigger *out, struct err *e)
{
    for (int i = 0; i < ESCALATE_TRIGGER_COUNT; i++) {
        if (s != NULL && strcmp(s, trigger_names[i]) == 0) {
            *out = (enum escalate_trigger)i;
            return 0;
        }
    }
    return err_field(e, ERR_INVAL, "trigger", "unknown trigger '%s' (expected message, "
                     "sla_warning, sla_breach, no_reply or manual)", s ? s : "");
}

/* --- compiled policies ------------------------------------------------------ */

struct policy {
    const char *name;               /* borrowed from the cfg (or the built-in) */
    struct route_text text;         /* keywords / regex trigger */
    const char *tier;               /* NULL = any tier */
    bool tier_only;                 /* tier is the only trigger */
    bool manual;
    int on_sla;                     /* 0 none, else ESCALATE_ON_SLA_WARNING / _BREACH */
    int64_t no_reply_ms;
    bool set_priority;
    enum ticket_priority priority;
    bool raise;
    const char *move_to;            /* group name, or NULL */
    bool next_level;
    bool reassign;
    enum route_strategy strategy;
    bool notify;
};

/* The agents of one configured group, for mentions. */
struct members {
    const struct cfg_agent **agents;    /* owned array, borrowed items */
    size_t n;
};

struct escalate_set {
    struct cfg *cfg;                /* one reference */
    struct policy *p;               /* owned, one per cfg->escalations */
    size_t n;
    struct policy builtin;          /* /escalate without manual policies */
    bool has_manual;
    struct members *members;        /* owned, parallel to cfg->groups */
};

void escalate_free(struct escalate_set **esp)
{
    if (esp == NULL || *esp == NULL)
        return;
    struct escalate_set *es = *esp;
    for (size_t i = 0; i < es->n; i++)
        route_text_release(&es->p[i].text);
    mem_free(es->p);
    for (size_t g = 0; es->members != NULL && g < es->cfg->ngroups; g++)
        mem_free(es->members[g].agents);
    mem_free(es->members);
    cfg_unref(&es->cfg);
    mem_free(es);
    *esp = NULL;
}

static int policy_compile(struct policy *p, const struct cfg_escalation *x, struct err *e)
{
    struct err inner = {0};
    p->name = x->name;
    p->tier = x->tier;
    p->manual = x->manual;
    p->no_reply_ms = x->no_reply_ms;
    p->raise = x->raise_priority;
    p->move_to = x->move_to_group;
    p->next_level = x->next_level;
    p->reassign = x->reassign;
    p->notify = x->notify;
    if (x->on_sla != NULL)
        p->on_sla = strcmp(x->on_sla, "warning") == 0 ? ESCALATE_ON_SLA_WARNING
                                                       : ESCALATE_ON_SLA_BREACH;
    if (x->set_priority != NULL) {
        if (ticket_priority_parse(x->set_priority, &p->priority, &inner) != 0)
            return err_set(e, ERR_CONFIG, "escalation '%s': %s", x->name, inner.msg);
        p->set_priority = true;
    }
    if (route_strategy_parse(x->strategy ? x->strategy : "round_robin", &p->strategy,
                             &inner) != 0 ||
        route_text_compile(&p->text, x->keywords, x->nkeywords, x->regex, &inner) != 0)
        return err_set(e, ERR_CONFIG, "escalation '%s': %s", x->name, inner.msg);
    p->tier_only = x->tier != NULL && !route_text_active(&p->text) && x->on_sla == NULL &&
                   x->no_reply_ms == 0 && !x->manual;
    return 0;
}

int escalate_compile(struct cfg *c, struct escalate_set **out, struct err *e)
{
    *out = NULL;
    struct escalate_set *es = mem_alloc(sizeof *es);
    es->cfg = cfg_ref(c);
    es->builtin = (struct policy){
        .name = ESCALATE_BUILTIN, .manual = true, .raise = true, .next_level = true,
        .strategy = ROUTE_ROUND_ROBIN, .notify = true,
    };
    if (c->ngroups > 0)
        es->members = mem_alloc(c->ngroups * sizeof *es->members);
    for (size_t g = 0; g < c->ngroups && c->nagents > 0; g++) {
        struct members *m = &es->members[g];
        m->agents = mem_alloc(c->nagents * sizeof(const struct cfg_agent *));
        for (size_t i = 0; i < c->nagents; i++)
            if (cfg_agent_in_group(&c->agents[i], c->groups[g].name))
                m->agents[m->n++] = &c->agents[i];
    }
    int rc = 0;
    if (c->nescalations > 0)
        es->p = mem_alloc(c->nescalations * sizeof *es->p);
    for (size_t i = 0; rc == 0 && i < c->nescalations; i++) {
        es->n = i + 1;                      /* a half-compiled policy is freed too */
        rc = policy_compile(&es->p[i], &c->escalations[i], e);
        es->has_manual = es->has_manual || es->p[i].manual;
    }
    if (rc != 0) {
        escalate_free(&es);
        return rc;
    }
    *out = es;
    return 0;
}

/* --- groups ----------------------------------------------------------------- */

/* Level of a group; 0 for a name the cfg no longer has (moves always go up). */
static int level_of(const struct cfg *c, const char *group)
{
    const struct cfg_group *g = cfg_group_find(c, group);
    return g ? g->level : 0;
}

/* The nearest group above `level` (lowest level above it, first in config
 * order), or NULL at the top. */
static const char *next_level_group(const struct cfg *c, int level)
{
    const struct cfg_group *up = NULL;
    for (size_t i = 0; i < c->ngroups; i++)
        if (c->groups[i].level > level && (up == NULL || c->groups[i].level < up->level))
            up = &c->groups[i];
    return up ? up->name : NULL;
}

static const struct members *members_of(const struct escalate_set *es, const char *group)
{
    for (size_t g = 0; es->members != NULL && g < es->cfg->ngroups; g++)
        if (strcmp(es->cfg->groups[g].name, group) == 0)
            return &es->members[g];
    return NULL;
}

/* --- triggers --------------------------------------------------------------- */

static bool applied(const struct escalate_ticket *t, const char *name)
{
    for (size_t i = 0; i < t->napplied; i++)
        if (t->applied[i] != NULL && strcmp(t->applied[i], name) == 0)
            return true;
    return false;
}

static bool tier_ok(const struct policy *p, const struct escalate_ticket *t)
{
    return p->tier == NULL || (t->tier != NULL && strcasecmp(p->tier, t->tier) == 0);
}

/* "1h30m" for a reason. */
static void put_dur(struct buf *b, int64_t ms)
{
    static const struct { const char *u; int64_t ms; } units[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms >= units[i].ms) {
            buf_printf(b, "%" PRId64 "%s", ms / units[i].ms, units[i].u);
            ms %= units[i].ms;
        }
    }
}

/*
 * Whether in's trigger fires policy p, ignoring the applied set (the
 * caller's business); what fired it goes to reason. Manual requests are
 * matched by name by the caller; here a manual trigger only needs
 * `manual`.
 */
static bool fires(const struct policy *p, const struct escalate_input *in, struct buf *reason,
                  struct buf *warn)
{
    const struct escalate_ticket *t = &in->ticket;
    if (!tier_ok(p, t))
        return false;
    switch (in->trigger) {
    case ESCALATE_ON_MESSAGE:
        if (p->tier_only) {
            buf_printf(reason, "message from a '%s' customer", p->tier);
            return true;
        }
        if (!route_text_active(&p->text))
            return false;
        {
            char owner[160];
            snprintf(owner, sizeof owner, "escalation '%s'", p->name);
            if (route_text_match(&p->text, in->text, owner, reason, warn) != 1)
                return false;
        }
        buf_puts(reason, " in the customer's message");
        return true;
    case ESCALATE_ON_SLA_WARNING:
    case ESCALATE_ON_SLA_BREACH:
        if (p->on_sla != (int)in->trigger)
            return false;
        buf_printf(reason, "SLA %s", in->trigger == ESCALATE_ON_SLA_WARNING ? "warning" : "breach");
        if (in->sla_metric != NULL)
            buf_printf(reason, " (%s)", in->sla_metric);
        return true;
    case ESCALATE_ON_NO_REPLY:
        if (p->no_reply_ms == 0 || t->waiting_since <= 0 ||
            in->now - t->waiting_since < p->no_reply_ms ||
            (t->status != TICKET_OPEN && t->status != TICKET_IN_PROGRESS))
            return false;
        buf_puts(reason, "no agent reply for ");
        put_dur(reason, p->no_reply_ms);
        return true;
    case ESCALATE_ON_MANUAL:
        if (!p->manual)
            return false;
        buf_printf(reason, "manual escalation by %s", in->actor ? in->actor : "an agent");
        if (in->note != NULL && in->note[0] != '\0')
            buf_printf(reason, ": %s", in->note);
        return true;
    default:
        return false;
    }
}

/* --- plans ------------------------------------------------------------------ */

static const char *agent_id_in(const struct route_agent *agents, size_t n, const char *id,
                               int *index)
{
    *index = -1;
    for (size_t i = 0; id != NULL && i < n; i++) {
        if (strcmp(agents[i].id, id) == 0) {
            *index = (int)i;
            return agents[i].id;
        }
    }
    return id;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What p would change on the ticket now, into d (texts not yet built);
 * *kept_why is the pick's explanation when the assignee stays despite a
 * move or reassign. Returns whether it has an effect. */
static int plan(const struct escalate_set *es, const struct policy *p,
                const struct escalate_input *in, const struct route_agent *agents,
                size_t nagents, const struct route_cursor *cursors, size_t ncursors,
                struct arena *a, struct escalate_decision *d, bool *effect,
                const char **kept_why, struct err *e)
{
    const struct escalate_ticket *t = &in->ticket;
    const struct cfg *c = es->cfg;

    d->policy = p->name;
    d->priority_from = d->priority_to = t->priority;
    if (p->set_priority && p->priority > t->priority)
        d->priority_to = p->priority;
    if (p->raise && t->priority < PRIORITY_URGENT)
        d->priority_to = (enum ticket_priority)(t->priority + 1);
    d->priority_changed = d->priority_to != d->priority_from;

    d->group_from = d->group_to = t->group;
    d->level_from = d->level_to = level_of(c, t->group);
    const char *target = p->next_level ? next_level_group(c, d->level_from) : p->move_to;
    if (target != NULL && strcmp(target, t->group) != 0 && level_of(c, target) >= d->level_from) {
        d->group_to = target;
        d->level_to = level_of(c, target);
        d->group_changed = true;
    }

    d->assignee_from = t->assignee;
    d->assign = (struct route_assign){ .index = -1, .strategy = p->strategy };
    d->assign.agent = agent_id_in(agents, nagents, t->assignee, &d->assign.index);
    *kept_why = NULL;
    if (d->group_changed || p->reassign) {
        struct route_assign as;
        int rc = route_pick(p->strategy, d->group_to, agents, nagents,
                            route_cursor_of(cursors, ncursors, d->group_to), t->assignee, a,
                            &as, e);
        if (rc != 0)
            return rc;
        bool cur_fits = false;
        if (d->assign.index >= 0)
            cur_fits = route_agent_serves(&agents[d->assign.index], d->group_to);
        else if (t->assignee != NULL)
            cur_fits = !d->group_changed;   /* unknown to the caller: keep unless moving */
        if (as.agent == NULL && p->strategy != ROUTE_NONE && t->assignee != NULL && cur_fits)
            *kept_why = as.why;             /* nobody else: the ticket stays where it is */
        else
            d->assign = as;
    }
    d->assignee_changed = !same(d->assign.agent, t->assignee);

    bool changes = d->priority_changed || d->group_changed || d->assignee_changed;
    bool notify_only = !p->set_priority && !p->raise && p->move_to == NULL && !p->next_level &&
                       !p->reassign;
    d->notify = p->notify && (changes || notify_only);
    *effect = changes || d->notify;
    return 0;
}

/* Why a plan has no effect, for a refused manual request. */
static void put_nothing(struct buf *b, const struct escalate_decision *d, const struct policy *p,
                        const struct escalate_ticket *t)
{
    buf_printf(b, "nothing to escalate: ticket %" PRId64 " is in %s (level %d)", t->id,
               t->group, d->level_from);
    if (p->next_level)
        buf_puts(b, ", the top level");
    buf_printf(b, " at priority %s", ticket_priority_name(t->priority));
    if (t->assignee != NULL)
        buf_printf(b, " with %s", t->assignee);
}

/* The changes of d, as "priority normal → urgent; moved general → level2; ...".
 * `detail` adds the assignment's explanation. */
static void put_changes(struct buf *b, const struct escalate_decision *d, const char *kept_why,
                        bool detail)
{
    const char *sep = "";
    if (d->priority_changed) {
        buf_printf(b, "priority %s → %s", ticket_priority_name(d->priority_from),
                   ticket_priority_name(d->priority_to));
        sep = "; ";
    }
    if (d->group_changed) {
        buf_printf(b, "%smoved %s → %s", sep, d->group_from, d->group_to);
        sep = "; ";
    }
    if (d->assignee_changed) {
        if (d->assignee_from == NULL)
            buf_printf(b, "%sassigned to %s", sep, d->assign.agent);
        else if (d->assign.agent == NULL)
            buf_printf(b, "%sunassigned from %s", sep, d->assignee_from);
        else
            buf_printf(b, "%sreassigned %s → %s", sep, d->assignee_from, d->assign.agent);
        if (detail)
            buf_printf(b, ": %s", d->assign.why);
        sep = "; ";
    } else if (kept_why != NULL && detail) {
        buf_printf(b, "%sstays with %s: %s", sep, d->assignee_from, kept_why);
        sep = "; ";
    }
    if (d->notify)
        buf_printf(b, "%snotified %s (%zu agent%s)", sep, d->group_to, d->nmentions,
                   d->nmentions == 1 ? "" : "s");
}

/* Fill the texts and mentions of the chosen plan. */
static int finish(const struct escalate_set *es, struct escalate_decision *d,
                  const char *reason, const char *kept_why, struct arena *a, struct err *e)
{
    const struct members *m = members_of(es, d->group_to);
    if (d->notify && m != NULL) {
        d->mentions = m->agents;
        d->nmentions = m->n;
    }
    d->escalate = true;
    d->reason = arena_strdup(a, reason);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "escalated by '%s' (%s): ", d->policy, reason);
    put_changes(&b, d, kept_why, true);
    d->why = arena_strdup(a, buf_str(&b));
    buf_release(&b);
    if (d->notify) {
        buf_init(&b, 0);
        buf_printf(&b, "\xE2\xAC\x86 Escalated by '%s' (%s): ", d->policy, reason);
        put_changes(&b, d, NULL, false);
        buf_putc(&b, '.');
        d->notice = arena_strdup(a, buf_str(&b));
        buf_release(&b);
    }
    if (d->reason == NULL || d->why == NULL || (d->notify && d->notice == NULL))
        return err_set(e, ERR_TOOBIG, "escalation: the arena is exhausted");
    return 0;
}

/* --- evaluation ------------------------------------------------------------- */

/*
 * Try policy p on in: 1 when it triggers and has an effect (d is the
 * decision, texts built); 0 when not — then *triggered says whether it
 * triggered, and if so d holds its (empty) plan; negative on error.
 */
static int try_policy(const struct escalate_set *es, const struct policy *p,
                      const struct escalate_input *in, const struct route_agent *agents,
                      size_t nagents, const struct route_cursor *cursors, size_t ncursors,
                      struct arena *a, struct buf *warn, struct escalate_decision *d,
                      bool *triggered, struct err *e)
{
    struct buf reason;
    const char *kept_why;
    bool effect = false;
    int rc = 0;

    buf_init(&reason, 0);
    *triggered = fires(p, in, &reason, warn);
    if (*triggered) {
        memset(d, 0, sizeof *d);
        d->trigger = in->trigger;
        rc = plan(es, p, in, agents, nagents, cursors, ncursors, a, d, &effect, &kept_why, e);
        if (rc == 0 && effect)
            rc = finish(es, d, buf_str(&reason), kept_why, a, e);
    }
    buf_release(&reason);
    return rc < 0 ? rc : effect;
}

static int manual(const struct escalate_set *es, const struct escalate_input *in,
                  const struct route_agent *agents, size_t nagents,
                  const struct route_cursor *cursors, size_t ncursors, struct arena *a,
                  struct escalate_decision *d, struct err *e)
{
    const struct escalate_ticket *t = &in->ticket;
    const struct policy *named = NULL;
    if (!ticket_status_is_active(t->status))
        return err_set(e, ERR_CONFLICT, "ticket %" PRId64 " is %s: only open, in_progress or "
                       "on_hold tickets are escalated", t->id, ticket_status_name(t->status));
    if (in->policy != NULL) {
        for (size_t i = 0; i < es->n && named == NULL; i++)
            if (strcmp(es->p[i].name, in->policy) == 0)
                named = &es->p[i];
        if (named == NULL && !es->has_manual && strcmp(in->policy, ESCALATE_BUILTIN) == 0)
            named = &es->builtin;
        if (named == NULL)
            return err_field(e, ERR_NOTFOUND, "policy", "unknown escalation policy '%s'",
                             in->policy);
        if (!named->manual)
            return err_field(e, ERR_CONFLICT, "policy", "escalation '%s' is not manual "
                             "(give it 'manual: true' to use it from /escalate)", named->name);
        if (!tier_ok(named, t))
            return err_field(e, ERR_CONFLICT, "policy", "escalation '%s' is only for '%s' "
                             "customers", named->name, named->tier);
    }
    struct buf warn, nothing;
    buf_init(&warn, 0);
    buf_init(&nothing, 0);
    int rc = 0;
    size_t n = named ? 1 : es->has_manual ? es->n : 1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct policy *p = named ? named : es->has_manual ? &es->p[i] : &es->builtin;
        bool triggered;
        rc = try_policy(es, p, in, agents, nagents, cursors, ncursors, a, &warn, d, &triggered, e);
        if (rc == 0 && triggered && nothing.len == 0)
            put_nothing(&nothing, d, p, t);
    }
    if (rc == 0) {
        memset(d, 0, sizeof *d);
        rc = err_set(e, ERR_CONFLICT, "%s", nothing.len ? buf_str(&nothing) :
                     "no manual escalation policy applies to this ticket");
    }
    buf_release(&nothing);
    buf_release(&warn);
    return rc < 0 ? rc : 0;
}

int escalate_evaluate(const struct escalate_set *es, const struct escalate_input *in,
                      const struct route_agent *agents, size_t nagents,
                      const struct route_cursor *cursors, size_t ncursors,
                      struct arena *a, struct escalate_decision *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->trigger = in->trigger;
    if (in->trigger == ESCALATE_ON_MANUAL)
        return manual(es, in, agents, nagents, cursors, ncursors, a, out, e);

    const struct escalate_ticket *t = &in->ticket;
    if (!ticket_status_is_active(t->status)) {
        out->why = arena_printf(a, "ticket %" PRId64 " is %s: not escalated", t->id,
                                ticket_status_name(t->status));
        return out->why ? 0 : err_set(e, ERR_TOOBIG, "escalation: the arena is exhausted");
    }
    struct buf warn;
    buf_init(&warn, 0);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < es->n; i++) {
        bool triggered;
        if (!applied(t, es->p[i].name))
            rc = try_policy(es, &es->p[i], in, agents, nagents, cursors, ncursors, a, &warn,
                            out, &triggered, e);
    }
    if (rc == 0) {
        memset(out, 0, sizeof *out);
        out->trigger = in->trigger;
        out->why = arena_printf(a, "no escalation policy applies (%s)%s%s",
                                escalate_trigger_name(in->trigger), warn.len ? ": " : "",
                                buf_str(&warn));
        if (out->why == NULL)
            rc = err_set(e, ERR_TOOBIG, "escalation: the arena is exhausted");
    }
    buf_release(&warn);
    return rc < 0 ? rc : 0;
}

int64_t escalate_next_due(const struct escalate_set *es, const struct escalate_ticket *t,
                          int64_t after)
{
    if (t->waiting_since <= 0 || (t->status != TICKET_OPEN && t->status != TICKET_IN_PROGRESS))
        return 0;
    int64_t due = 0;
    for (size_t i = 0; i < es->n; i++) {
        const struct policy *p = &es->p[i];
        if (p->no_reply_ms == 0 || applied(t, p->name) || !tier_ok(p, t))
            continue;
        int64_t at = t->waiting_since + p->no_reply_ms;
        if (at > after && (due == 0 || at < due))
            due = at;
    }
    return due;
}

size_t escalate_event_kv(const struct escalate_decision *d, struct kv *out)
{
    size_t n = 0;
    out[n++] = (struct kv){ "policy", d->policy };
    out[n++] = (struct kv){ "trigger", escalate_trigger_name(d->trigger) };
    out[n++] = (struct kv){ "reason", d->reason };
    if (d->priority_changed) {
        out[n++] = (struct kv){ "priority_from", ticket_priority_name(d->priority_from) };
        out[n++] = (struct kv){ "priority_to", ticket_priority_name(d->priority_to) };
    }
    if (d->group_changed) {
        out[n++] = (struct kv){ "group_from", d->group_from };
        out[n++] = (struct kv){ "group_to", d->group_to };
    }
    if (d->assignee_changed && d->assignee_from != NULL)
        out[n++] = (struct kv){ "assignee_from", d->assignee_from };
    if (d->assignee_changed && d->assign.agent != NULL)
        out[n++] = (struct kv){ "assignee_to", d->assign.agent };
    return n;
}
