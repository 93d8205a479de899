/*
 * route.c — routing rules, assignment strategies and queues (see route.h).
 *
 * Rules are compiled once per cfg (keywords, regex and intake-answer
 * equality each become one base/rx matcher) and evaluated in order against
 * a route_input; the first rule whose conditions all hold wins. Every
 * decision comes with the sentence the thread records ("why"), built from
 * what actually decided it: the condition that matched, the agent picked
 * and, when agents were passed over, who and for what reason.
 */
#include "desk/route.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/rx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXCERPT_MAX 60      /* bytes of matched text or pattern quoted in "why" */
#define SKIPPED_MAX 5       /* passed-over agents named in "why" */

static const char *const strategy_names[ROUTE_STRATEGY_COUNT] = {
    "round_robin", "least_loaded", "none"
};
static const char *const day_names[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

const char *route_strategy_name(enum route_strategy s)
{
    return (unsigned)s < ROUTE_STRATEGY_COUNT ? strategy_names[s] : "unknown";
}

int route_strategy_parse(const char *s, enum route_strategy *out, struct err *e)
{
    for (int i = 0; i < ROUTE_STRATEGY_COUNT; i++) {
        if (s != NULL && strcmp(s, strategy_names[i]) == 0) {
            *out = (enum route_strategy)i;
            return 0;
        }
    }
    return err_field(e, ERR_INVAL, "strategy", "unknown strategy '%s' (expected round_robin, "
                     "least_loaded or none)", s ? s : "");
}

/* --- agents ------------------------------------------------------------- */

void route_agent_init(struct route_agent *a, const struct cfg_agent *ca,
                      enum agent_avail availability, int active, int64_t last_assigned_at)
{
    a->id = ca->id;
    a->groups = (const char *const *)ca->groups;
    a->ngroups = ca->ngroups;
    a->capacity = ca->capacity;
    a->availability = availability;
    a->active = active;
    a->last_assigned_at = last_assigned_at;
}

bool route_agent_serves(const struct route_agent *a, const char *group)
{
    for (size_t i = 0; group != NULL && i < a->ngroups; i++)
        if (a->groups[i] != NULL && strcmp(a->groups[i], group) == 0)
            return true;
    return false;
}

static bool is_excluded(const struct route_agent *ag, const char *exclude)
{
    return exclude != NULL && strcmp(ag->id, exclude) == 0;
}

static bool eligible(const struct route_agent *ag, const char *group, const char *exclude)
{
    return route_agent_serves(ag, group) && !is_excluded(ag, exclude) &&
           agent_can_take(ag->availability, ag->active, ag->capacity);
}

static bool any_eligible(const struct route_agent *agents, size_t n, const char *group,
                         const char *exclude)
{
    for (size_t i = 0; i < n; i++)
        if (eligible(&agents[i], group, exclude))
            return true;
    return false;
}

/* Why an agent serving the group was passed over, into b. */
static void put_refusal(struct buf *b, const struct route_agent *ag, const char *exclude)
{
    if (is_excluded(ag, exclude))
        buf_printf(b, "%s excluded", ag->id);
    else if (ag->availability != AGENT_ONLINE)
        buf_printf(b, "%s %s", ag->id, agent_avail_name(ag->availability));
    else
        buf_printf(b, "%s at capacity %d/%d", ag->id, ag->active, ag->capacity);
}

/* The buffer's text copied into the arena; ERR_TOOBIG when it is full. */
static int finish(struct buf *b, struct arena *a, const char **out, struct err *e)
{
    *out = arena_strdup(a, buf_str(b));
    buf_release(b);
    if (*out == NULL)
        return err_set(e, ERR_TOOBIG, "routing: the arena is exhausted");
    return 0;
}

/* Serving agents not eligible, in id order, as "; skipped: a offline, b ..." */
static void put_skipped(struct buf *b, const struct route_agent *agents, size_t n,
                        const char *group, const char *exclude, const char *lead)
{
    const char *last = NULL;
    size_t shown = 0, more = 0;
    for (;;) {
        /* the next serving, ineligible agent after `last` in id order */
        const struct route_agent *next = NULL;
        for (size_t i = 0; i < n; i++) {
            const struct route_agent *ag = &agents[i];
            if (!route_agent_serves(ag, group) || eligible(ag, group, exclude))
                continue;
            if (last != NULL && strcmp(ag->id, last) <= 0)
                continue;
            if (next == NULL || strcmp(ag->id, next->id) < 0)
                next = ag;
        }
        if (next == NULL)
            break;
        last = next->id;
        if (shown == SKIPPED_MAX) {
            more++;
            continue;
        }
        buf_puts(b, shown == 0 ? lead : ", ");
        put_refusal(b, next, exclude);
        shown++;
    }
    if (more > 0)
        buf_printf(b, " and %zu more", more);
}

/* Round robin: the eligible agent with the smallest id after the cursor,
 * else (wrapping) the smallest id of all. */
static int pick_rr(const struct route_agent *agents, size_t n, const char *group,
                   const char *cursor, const char *exclude)
{
    int after = -1, first = -1;
    for (size_t i = 0; i < n; i++) {
        const struct route_agent *ag = &agents[i];
        if (!eligible(ag, group, exclude))
            continue;
        if (first < 0 || strcmp(ag->id, agents[first].id) < 0)
            first = (int)i;
        if (cursor != NULL && strcmp(ag->id, cursor) > 0 &&
            (after < 0 || strcmp(ag->id, agents[after].id) < 0))
            after = (int)i;
    }
    return after >= 0 ? after : first;
}

/* a before b for least loaded: fewer active, idle longer, smaller id. */
static bool lighter(const struct route_agent *a, const struct route_agent *b)
{
    if (a->active != b->active)
        return a->active < b->active;
    if (a->last_assigned_at != b->last_assigned_at)
        return a->last_assigned_at < b->last_assigned_at;
    return strcmp(a->id, b->id) < 0;
}

static int pick_ll(const struct route_agent *agents, size_t n, const char *group,
                   const char *exclude)
{
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if (eligible(&agents[i], group, exclude) && (best < 0 || lighter(&agents[i], &agents[best])))
            best = (int)i;
    return best;
}

/* "(1 active of 5, idle longest of 3 tied)" for the least-loaded pick w. */
static void put_load(struct buf *b, const struct route_agent *agents, size_t n,
                     const char *group, const char *exclude, const struct route_agent *w)
{
    size_t tied = 0, same_idle = 0;
    for (size_t i = 0; i < n; i++) {
        const struct route_agent *ag = &agents[i];
        if (!eligible(ag, group, exclude) || ag->active != w->active)
            continue;
        tied++;
        if (ag->last_assigned_at == w->last_assigned_at)
            same_idle++;
    }
    buf_printf(b, " (%d active", w->active);
    if (w->capacity > 0)
        buf_printf(b, " of %d", w->capacity);
    if (tied > 1 && same_idle == 1)
        buf_printf(b, ", idle longest of %zu tied", tied);
    else if (tied > 1)
        buf_printf(b, ", first by id of %zu tied and equally idle", tied);
    buf_putc(b, ')');
}

int route_pick(enum route_strategy s, const char *group,
               const struct route_agent *agents, size_t nagents, const char *cursor,
               const char *exclude, struct arena *a, struct route_assign *out,
               struct err *e)
{
    struct buf b;
    buf_init(&b, 0);
    out->agent = NULL;
    out->index = -1;
    out->strategy = s;

    if (s == ROUTE_NONE) {
        buf_printf(&b, "strategy none: waiting in the %s queue for an agent to take it", group);
        return finish(&b, a, &out->why, e);
    }
    int i = s == ROUTE_LEAST_LOADED ? pick_ll(agents, nagents, group, exclude)
                                    : pick_rr(agents, nagents, group, cursor, exclude);
    if (i < 0) {
        bool serves = false;
        for (size_t k = 0; k < nagents && !serves; k++)
            serves = route_agent_serves(&agents[k], group);
        if (!serves) {
            buf_printf(&b, "no agent serves %s: waiting in the queue", group);
        } else {
            buf_printf(&b, "nobody can take it in %s", group);
            put_skipped(&b, agents, nagents, group, exclude, " (");
            buf_puts(&b, "): waiting in the queue");
        }
        return finish(&b, a, &out->why, e);
    }
    const struct route_agent *w = &agents[i];
    out->agent = w->id;
    out->index = i;
    if (s == ROUTE_LEAST_LOADED) {
        buf_printf(&b, "least loaded picked %s", w->id);
        put_load(&b, agents, nagents, group, exclude, w);
    } else if (cursor == NULL) {
        buf_printf(&b, "round robin picked %s (first in rotation)", w->id);
    } else {
        buf_printf(&b, "round robin picked %s (next after %s)", w->id, cursor);
    }
    put_skipped(&b, agents, nagents, group, exclude, "; skipped: ");
    return finish(&b, a, &out->why, e);
}

const char *route_cursor_of(const struct route_cursor *cursors, size_t ncursors,
                            const char *group)
{
    for (size_t i = 0; group != NULL && i < ncursors; i++)
        if (cursors[i].group != NULL && strcmp(cursors[i].group, group) == 0)
            return cursors[i].agent;
    return NULL;
}

void route_note(struct route_agent *agents, size_t nagents, struct route_cursor *cursors,
                size_t ncursors, const char *group, const struct route_assign *as,
                int64_t now)
{
    if (as->agent == NULL)
        return;
    for (size_t i = 0; i < nagents; i++) {
        if (strcmp(agents[i].id, as->agent) == 0) {
            agents[i].active++;
            agents[i].last_assigned_at = now;
            break;
        }
    }
    if (as->strategy != ROUTE_ROUND_ROBIN)
        return;
    for (size_t i = 0; group != NULL && i < ncursors; i++) {
        if (cursors[i].group != NULL && strcmp(cursors[i].group, group) == 0) {
            cursors[i].agent = as->agent;
            break;
        }
    }
}

/* --- compiled rules --------------------------------------------------------- */

struct rrule {
    const struct cfg_rule *cfg;     /* borrowed from the set's cfg */
    struct route_text text;         /* keywords / regex */
    struct rx **fields;             /* owned; one per cfg->fields */
    enum route_strategy strategy;
    bool set_priority;
    enum ticket_priority priority;
};

struct route_set {
    struct cfg *cfg;                /* one reference */
    struct rrule *rules;            /* owned */
    size_t nrules;
    enum route_strategy fallback;
};

static void rrule_release(struct rrule *r)
{
    route_text_release(&r->text);
    for (size_t k = 0; r->fields != NULL && k < r->cfg->nfields; k++)
        rx_free(&r->fields[k]);
    mem_free(r->fields);
}

void route_free(struct route_set **rsp)
{
    if (rsp == NULL || *rsp == NULL)
        return;
    struct route_set *rs = *rsp;
    for (size_t i = 0; i < rs->nrules; i++)
        rrule_release(&rs->rules[i]);
    mem_free(rs->rules);
    cfg_unref(&rs->cfg);
    mem_free(rs);
    *rsp = NULL;
}

static int rrule_compile(struct rrule *r, const struct cfg_rule *cr, struct err *e)
{
    struct err inner = {0};
    int rc = 0;
    r->cfg = cr;
    if (route_strategy_parse(cr->strategy ? cr->strategy : "round_robin", &r->strategy,
                             &inner) != 0)
        return err_set(e, ERR_CONFIG, "rule '%s': %s", cr->name, inner.msg);
    if (cr->priority != NULL) {
        if (ticket_priority_parse(cr->priority, &r->priority, &inner) != 0)
            return err_set(e, ERR_CONFIG, "rule '%s': %s", cr->name, inner.msg);
        r->set_priority = true;
    }
    rc = route_text_compile(&r->text, cr->keywords, cr->nkeywords, cr->regex, &inner);
    if (cr->nfields > 0)
        r->fields = mem_alloc(cr->nfields * sizeof(struct rx *));
    for (size_t k = 0; rc == 0 && k < cr->nfields; k++)
        rc = rx_compile_exact((const char *const *)cr->fields[k].values, cr->fields[k].nvalues,
                              &r->fields[k], NULL, &inner);
    if (rc != 0)
        return err_set(e, ERR_CONFIG, "rule '%s': %s", cr->name, inner.msg);
    return 0;
}

int route_compile(struct cfg *c, struct route_set **out, struct err *e)
{
    *out = NULL;
    struct route_set *rs = mem_alloc(sizeof *rs);
    rs->cfg = cfg_ref(c);
    int rc = route_strategy_parse(c->fallback_strategy ? c->fallback_strategy : "none",
                                  &rs->fallback, e);
    if (rc == 0 && c->nrules > 0)
        rs->rules = mem_alloc(c->nrules * sizeof *rs->rules);
    for (size_t i = 0; rc == 0 && i < c->nrules; i++) {
        rs->nrules = i + 1;                 /* a half-compiled rule is freed too */
        rc = rrule_compile(&rs->rules[i], &c->rules[i], e);
    }
    if (rc != 0) {
        route_free(&rs);
        return rc == ERR_INVAL ? ERR_CONFIG : rc;
    }
    *out = rs;
    return 0;
}

const struct cfg *route_cfg(const struct route_set *rs)
{
    return rs->cfg;
}

enum route_strategy route_rule_strategy(const struct route_set *rs, const char *name)
{
    for (size_t i = 0; name != NULL && i < rs->nrules; i++)
        if (strcmp(rs->rules[i].cfg->name, name) == 0)
            return rs->rules[i].strategy;
    return rs->fallback;
}

/* --- matching --------------------------------------------------------------- */

/* At most max bytes of s, not cutting a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

/* "'kw'" or "'kw' ("Matched Text")" when the text differs from the keyword. */
static void put_hit(struct buf *b, const char *what, const char *cfgtext, const char *text,
                    const struct rx_hit *h)
{
    size_t cl = strlen(cfgtext);
    size_t shown = utf8_cut(cfgtext, cl, EXCERPT_MAX);
    buf_printf(b, "%s '%.*s%s'", what, (int)shown, cfgtext, shown < cl ? "…" : "");
    size_t ml = h->end - h->start;
    if (ml == cl && memcmp(text + h->start, cfgtext, ml) == 0)
        return;
    size_t ms = utf8_cut(text + h->start, ml, EXCERPT_MAX);
    buf_printf(b, " (\"%.*s%s\")", (int)ms, text + h->start, ms < ml ? "…" : "");
}

/* Language tags: "en" matches "en", "en-US", "en_gb"; "en-US" only "en-US". */
static bool lang_match(const char *want, const char *have)
{
    size_t i = 0;
    for (; want[i] != '\0'; i++) {
        char w = want[i] == '_' ? '-' : want[i];
        char h = have[i] == '_' ? '-' : have[i];
        if (h == '\0' || tolower((unsigned char)w) != tolower((unsigned char)h))
            return false;
    }
    return have[i] == '\0' || have[i] == '-' || have[i] == '_';
}

static const char *field_value(const struct route_input *in, const char *name)
{
    for (size_t i = 0; i < in->nfields; i++)
        if (in->fields[i].key != NULL && strcmp(in->fields[i].key, name) == 0)
            return in->fields[i].value;
    return NULL;
}

/* Weekday (0 = Monday) and minute of the day of `now` at UTC+offset. */
static void local_time(int64_t now, int offset_min, int *wday, int *minute)
{
    int64_t t = now / 60000 - (now % 60000 < 0 ? 1 : 0) + offset_min;
    int64_t day = t / 1440 - (t % 1440 < 0 ? 1 : 0);
    *minute = (int)(t - day * 1440);
    *wday = (int)(((day % 7) + 7 + 3) % 7);   /* 1970-01-01 was a Thursday */
}

static bool in_hours(const struct cfg_rule *r, int wday, int minute)
{
    bool today = (r->days >> wday) & 1u;
    bool yesterday = (r->days >> ((wday + 6) % 7)) & 1u;
    if (r->nhours == 0)
        return today;
    for (size_t k = 0; k < r->nhours; k++) {
        int from = r->hours[k].from_min, to = r->hours[k].to_min;
        if (from < to ? (today && minute >= from && minute < to)
                      : ((today && minute >= from) || (yesterday && minute < to)))
            return true;
    }
    return false;
}

int route_text_compile(struct route_text *t, char *const *keywords, size_t nkeywords,
                       const char *regex, struct err *e)
{
    memset(t, 0, sizeof *t);
    t->keywords = keywords;
    t->regex = regex;
    int rc = 0;
    if (nkeywords > 0)
        rc = rx_compile_words((const char *const *)keywords, nkeywords, &t->kw, NULL, e);
    if (rc == 0 && regex != NULL)
        rc = rx_compile(regex, &t->re, e);
    return rc;
}

void route_text_release(struct route_text *t)
{
    rx_free(&t->kw);
    rx_free(&t->re);
}

bool route_text_active(const struct route_text *t)
{
    return t->kw != NULL || t->re != NULL;
}

int route_text_match(const struct route_text *t, const char *text, const char *owner,
                     struct buf *what, struct buf *warn)
{
    struct rx_hit h;
    struct err e = {0};
    if (text == NULL)
        text = "";
    size_t len = strlen(text);
    int rc = t->kw ? rx_find(t->kw, text, len, &h, &e) : 0;
    if (rc == 1) {
        put_hit(what, "keyword", t->keywords[h.word], text, &h);
        return 1;
    }
    if (rc == 0 && t->re != NULL)
        rc = rx_find(t->re, text, len, &h, &e);
    if (rc == 1) {
        put_hit(what, "regex", t->regex, text, &h);
        return 1;
    }
    if (rc < 0)
        buf_printf(warn, "%s%s: %s", warn->len ? "; " : "", owner, e.msg);
    return 0;
}

/* Whether rule r holds for in; what held is appended to why. */
static bool match_rule(const struct rrule *r, const struct route_input *in, struct buf *why,
                       struct buf *warn)
{
    const struct cfg_rule *c = r->cfg;
    if (c->tier != NULL) {
        if (in->tier == NULL || strcasecmp(in->tier, c->tier) != 0)
            return false;
        buf_printf(why, "%stier '%s'", why->len ? ", " : "", c->tier);
    }
    if (c->language != NULL) {
        if (in->language == NULL || !lang_match(c->language, in->language))
            return false;
        buf_printf(why, "%slanguage '%s'", why->len ? ", " : "", in->language);
    }
    for (size_t k = 0; k < c->nfields; k++) {
        const char *v = field_value(in, c->fields[k].name);
        struct rx_hit h;
        if (v == NULL || rx_find(r->fields[k], v, strlen(v), &h, NULL) != 1)
            return false;
        size_t vl = strlen(v), shown = utf8_cut(v, vl, EXCERPT_MAX);
        buf_printf(why, "%sfield %s = '%.*s%s'", why->len ? ", " : "", c->fields[k].name,
                   (int)shown, v, shown < vl ? "…" : "");
    }
    if (c->nhours > 0 || c->days != CFG_DAYS_ALL) {
        int wday, minute;
        local_time(in->now, c->utc_offset_min, &wday, &minute);
        if (!in_hours(c, wday, minute))
            return false;
        int off = c->utc_offset_min < 0 ? -c->utc_offset_min : c->utc_offset_min;
        buf_printf(why, "%slocal time %s %02d:%02d (UTC%c%02d:%02d)", why->len ? ", " : "",
                   day_names[wday], minute / 60, minute % 60,
                   c->utc_offset_min < 0 ? '-' : '+', off / 60, off % 60);
    }
    if (route_text_active(&r->text)) {
        char owner[160];
        snprintf(owner, sizeof owner, "rule '%s'", c->name);
        if (why->len > 0)
            buf_puts(why, ", ");
        if (route_text_match(&r->text, in->text, owner, why, warn) != 1)
            return false;
    }
    return true;
}

int route_decide(const struct route_set *rs, const struct route_input *in,
                 const struct route_agent *agents, size_t nagents,
                 const struct route_cursor *cursors, size_t ncursors,
                 struct arena *a, struct route_decision *out, struct err *e)
{
    const struct cfg *c = rs->cfg;
    struct buf why, warn;
    const struct rrule *hit = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    buf_init(&why, 0);
    buf_init(&warn, 0);
    for (size_t i = 0; i < rs->nrules && hit == NULL; i++) {
        buf_release(&why);
        buf_init(&why, 0);
        if (match_rule(&rs->rules[i], in, &why, &warn))
            hit = &rs->rules[i];
    }
    enum route_strategy s = rs->fallback;
    if (hit != NULL) {
        out->rule = hit->cfg->name;
        out->group = hit->cfg->group;
        out->set_priority = hit->set_priority;
        out->priority = hit->priority;
        s = hit->strategy;
    } else {
        buf_release(&why);
        buf_init(&why, 0);
        buf_puts(&why, "no routing rule matched");
        out->group = c->general_group;
    }
    if ((rc = finish(&why, a, &out->matched, e)) != 0)
        goto out_warn;
    if (warn.len > 0 && (rc = finish(&warn, a, &out->warning, e)) != 0)
        goto out_warn;
    rc = route_pick(s, out->group, agents, nagents,
                    route_cursor_of(cursors, ncursors, out->group), NULL, a, &out->assign, e);
    if (rc != 0)
        goto out_warn;
    if (hit != NULL) {
        out->why = arena_printf(a, "routed to %s by rule '%s' (%s)%s%s; %s", out->group,
                                out->rule, out->matched,
                                out->set_priority ? ", priority " : "",
                                out->set_priority ? ticket_priority_name(out->priority) : "",
                                out->assign.why);
    } else {
        out->why = arena_printf(a, "no routing rule matched: %s queue; %s", out->group,
                                out->assign.why);
    }
    if (out->why == NULL)
        rc = err_set(e, ERR_TOOBIG, "routing: the arena is exhausted");
out_warn:
    buf_release(&warn);
    buf_release(&why);
    return rc;
}

size_t route_decision_kv(const struct route_decision *d, struct kv *out)
{
    size_t n = 0;
    if (d->rule != NULL)
        out[n++] = (struct kv){ "rule", d->rule };
    out[n++] = (struct kv){ "group", d->group };
    out[n++] = (struct kv){ "matched", d->matched };
    out[n++] = (struct kv){ "strategy", route_strategy_name(d->assign.strategy) };
    if (d->assign.agent != NULL)
        out[n++] = (struct kv){ "assignee", d->assign.agent };
    if (d->set_priority)
        out[n++] = (struct kv){ "priority", ticket_priority_name(d->priority) };
    return n;
}

/* --- queues ----------------------------------------------------------------- */

int route_queue_cmp(const struct route_ticket *a, const struct route_ticket *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->waiting_since != b->waiting_since)
        return a->waiting_since < b->waiting_since ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int queue_cmp_void(const void *a, const void *b)
{
    return route_queue_cmp(a, b);
}

void route_queue_sort(struct route_ticket *t, size_t n)
{
    if (n > 1)
        qsort(t, n, sizeof *t, queue_cmp_void);
}

bool route_ticket_waits(const struct route_ticket *t)
{
    return t->assignee == NULL && t->strategy != ROUTE_NONE &&
           (t->status == TICKET_OPEN || t->status == TICKET_IN_PROGRESS);
}

int route_next_for_agent(const struct route_agent *ag, const struct route_ticket *t, size_t n)
{
    if (!agent_can_take(ag->availability, ag->active, ag->capacity))
        return -1;
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if (route_ticket_waits(&t[i]) && route_agent_serves(ag, t[i].group) &&
            (best < 0 || route_queue_cmp(&t[i], &t[best]) < 0))
            best = (int)i;
    return best;
}

/* One ticket to its group by its strategy: pick, account, record the move
 * with `lead` before the pick's why. */
static int hand_out(struct route_ticket *t, const char *exclude, const char *lead,
                    struct route_agent *agents, size_t nagents, struct route_cursor *cursors,
                    size_t ncursors, int64_t now, struct arena *a, struct route_move *mv,
                    struct err *e)
{
    int rc = route_pick(t->strategy, t->group, agents, nagents,
                        route_cursor_of(cursors, ncursors, t->group), exclude, a,
                        &mv->assign, e);
    if (rc != 0)
        return rc;
    mv->ticket_id = t->id;
    mv->group = t->group;
    mv->from = t->assignee;
    mv->assign.why = arena_printf(a, "%s%s", lead, mv->assign.why);
    if (mv->assign.why == NULL)
        return err_set(e, ERR_TOOBIG, "routing: the arena is exhausted");
    route_note(agents, nagents, cursors, ncursors, t->group, &mv->assign, now);
    t->assignee = mv->assign.agent;
    return 0;
}

int route_drain(struct route_ticket *t, size_t n, struct route_agent *agents, size_t nagents,
                struct route_cursor *cursors, size_t ncursors, int64_t now, struct arena *a,
                struct route_move **moves, size_t *nmoves, struct err *e)
{
    *moves = NULL;
    *nmoves = 0;
    if (n == 0)
        return 0;
    route_queue_sort(t, n);
    struct route_move *mv = arena_alloc(a, n * sizeof *mv);
    if (mv == NULL)
        return err_set(e, ERR_TOOBIG, "routing: the arena is exhausted");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* nobody eligible stays nobody within one drain: assignments only
         * use capacity up, so such tickets are skipped without a word */
        if (!route_ticket_waits(&t[i]) || !any_eligible(agents, nagents, t[i].group, NULL))
            continue;
        char *lead = arena_printf(a, "taken from the %s queue: ", t[i].group);
        if (lead == NULL)
            return err_set(e, ERR_TOOBIG, "routing: the arena is exhausted");
        int rc = hand_out(&t[i], NULL, lead, agents, nagents, cursors, ncursors, now, a,
                          &mv[k], e);
        if (rc != 0)
            return rc;
        k++;
    }
    *moves = mv;
    *nmoves = k;
    return 0;
}

int route_offline(const struct route_set *rs, const char *agent_id, struct route_ticket *held,
                  size_t n, struct route_agent *agents, size_t nagents,
                  struct route_cursor *cursors, size_t ncursors, int64_t now,
                  struct arena *a, struct route_move **moves, size_t *nmoves, struct err *e)
{
    *moves = NULL;
    *nmoves = 0;
    if (!rs->cfg->reassign_on_offline || n == 0)
        return 0;
    route_queue_sort(held, n);
    struct route_move *mv = arena_alloc(a, n * sizeof *mv);
    char *lead = arena_printf(a, "%s went offline: ", agent_id);
    if (mv == NULL || lead == NULL)
        return err_set(e, ERR_TOOBIG, "routing: the arena is exhausted");
    struct route_agent *gone = NULL;
    for (size_t i = 0; i < nagents && gone == NULL; i++)
        if (strcmp(agents[i].id, agent_id) == 0)
            gone = &agents[i];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct route_ticket *t = &held[i];
        if (t->assignee == NULL || strcmp(t->assignee, agent_id) != 0 ||
            (t->status != TICKET_OPEN && t->status != TICKET_IN_PROGRESS))
            continue;
        int rc = hand_out(t, agent_id, lead, agents, nagents, cursors, ncursors, now, a,
                          &mv[k], e);
        if (rc != 0)
            return rc;
        if (gone != NULL && gone->active > 0)
            gone->active--;
        k++;
    }
    *moves = mv;
    *nmoves = k;
    return 0;
}
