/*
 * test_escalate.c — escalation policies.
 *
 * The table tests/cases/escalation.tsv (against tests/cases/escalation.yaml)
 * covers the article's escalation rows and the edge cases one trigger at a
 * time; the C tests below cover sequences (a ticket hammered by every
 * trigger never loops and never goes down a level), the built-in manual
 * policy, the no_reply timer, and the event data.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "common/cases.h"
#include "common/desk_world.h"
#include "desk/escalate.h"

#define NOW 1772614800000LL     /* 2026-03-04T09:00:00Z */
#define MAX_APPLIED 16

/* The ticket column: "key=value ..." over the defaults. */
struct tcell {
    struct escalate_ticket t;
    char *applied_copy;
    const char *applied[MAX_APPLIED];
};

static void parse_ticket(struct world *w, const char *spec, struct tcell *tc, const char *where)
{
    memset(tc, 0, sizeof *tc);
    struct escalate_ticket *t = &tc->t;
    t->id = 1;
    t->group = "general";
    t->priority = PRIORITY_NORMAL;
    t->status = TICKET_OPEN;
    t->tier = "standard";
    t->applied = tc->applied;
    if (world_opt(spec) == NULL)
        return;
    char *copy = arena_strdup(w->a, spec), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        cr_assert_not_null(eq, "%s: '%s' needs '='", where, tok);
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(tok, "id") == 0) {
            t->id = atoll(v);
        } else if (strcmp(tok, "group") == 0) {
            t->group = v;
        } else if (strcmp(tok, "priority") == 0) {
            cr_assert_eq(ticket_priority_parse(v, &t->priority, NULL), 0, "%s: %s", where, v);
        } else if (strcmp(tok, "status") == 0) {
            cr_assert_eq(ticket_status_parse(v, &t->status, NULL), 0, "%s: %s", where, v);
        } else if (strcmp(tok, "assignee") == 0) {
            t->assignee = v;
        } else if (strcmp(tok, "tier") == 0) {
            t->tier = v;
        } else if (strcmp(tok, "waiting") == 0) {
            int64_t ms;
            cr_assert_eq(clock_parse_duration(v, &ms), 0, "%s: %s", where, v);
            t->waiting_since = NOW - ms;
        } else if (strcmp(tok, "applied") == 0) {
            char *list = arena_strdup(w->a, v), *s2 = NULL;
            for (char *p = strtok_r(list, ",", &s2); p && t->napplied < MAX_APPLIED;
                 p = strtok_r(NULL, ",", &s2))
                tc->applied[t->napplied++] = p;
        } else {
            cr_assert_fail("%s: unknown ticket key '%s'", where, tok);
        }
    }
}

static const char *mentions(struct world *w, const struct escalate_decision *d)
{
    if (!d->notify)
        return "-";
    char *s = arena_strdup(w->a, "");
    for (size_t i = 0; i < d->nmentions; i++)
        s = arena_printf(w->a, "%s%s%s", s, i ? "," : "", d->mentions[i]->id);
    return s;
}

Test(escalate, table)
{
    struct case_row *rows;
    size_t n;
    cases_load("tests/cases/escalation.tsv", &rows, &n);
    cr_assert_gt(n, 35, "the escalation table should have all its rows");
    for (size_t i = 0; i < n; i++) {
        struct case_row *r = &rows[i];
        char where[96];
        snprintf(where, sizeof where, "escalation.tsv:%d (%s)", r->line, r->cols[0]);
        cr_assert_eq(r->ncols, 11, "%s: want 11 columns, got %zu", where, r->ncols);
        struct world w;
        world_load_file(&w, "tests/cases/escalation.yaml");
        world_set_agents(&w, r->cols[4], where);
        struct tcell tc;
        parse_ticket(&w, r->cols[3], &tc, where);
        char *text = world_unescape(r->cols[2]);
        struct escalate_input in = { .now = NOW, .ticket = tc.t };
        const char *trig = r->cols[1];
        if (strncmp(trig, "manual:", 7) == 0) {
            in.trigger = ESCALATE_ON_MANUAL;
            in.policy = trig + 7;
        } else {
            cr_assert_eq(escalate_trigger_parse(trig, &in.trigger, NULL), 0, "%s: trigger", where);
        }
        if (in.trigger == ESCALATE_ON_MANUAL) {
            in.actor = "agent:alice";
            in.note = world_opt(r->cols[2]) ? text : NULL;
        } else {
            in.text = text;
        }
        struct escalate_decision d;
        struct err e = {0};
        int rc = escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, &e);
        const char *want_policy = r->cols[5];
        if (strncmp(want_policy, "refused: ", 9) == 0) {
            cr_expect(rc == ERR_CONFLICT || rc == ERR_NOTFOUND, "%s: rc %d, want a refusal", where,
                      rc);
            cr_expect(strstr(e.msg, want_policy + 9) != NULL, "%s: refusal is\n  %s\nwant\n  %s",
                      where, e.msg, want_policy + 9);
            cr_expect(strstr(e.msg, r->cols[10]) != NULL, "%s: %s", where, e.msg);
            free(text);
            world_close(&w);
            continue;
        }
        cr_assert_eq(rc, 0, "%s: %s", where, e.msg);
        if (world_opt(want_policy) == NULL) {
            cr_expect_not(d.escalate, "%s: escalated by '%s': %s", where, d.policy, d.why);
        } else {
            cr_expect(d.escalate, "%s: not escalated: %s", where, d.why);
            cr_expect(d.policy && strcmp(d.policy, want_policy) == 0, "%s: policy '%s', want '%s'",
                      where, d.policy ? d.policy : "-", want_policy);
        }
        /* the ticket after the decision */
        enum ticket_priority prio = d.escalate ? d.priority_to : tc.t.priority;
        const char *group = d.escalate ? d.group_to : tc.t.group;
        const char *assignee = d.escalate ? d.assign.agent : tc.t.assignee;
        if (world_opt(r->cols[6]) == NULL)
            cr_expect_eq(prio, tc.t.priority, "%s: priority changed to %s", where,
                         ticket_priority_name(prio));
        else
            cr_expect_str_eq(ticket_priority_name(prio), r->cols[6], "%s: priority", where);
        cr_expect_str_eq(group, world_opt(r->cols[7]) ? r->cols[7] : tc.t.group, "%s: group",
                         where);
        if (world_opt(r->cols[8]) == NULL)
            cr_expect_null(assignee, "%s: assignee '%s', want nobody (%s)", where, assignee,
                           d.why);
        else
            cr_expect(assignee && strcmp(assignee, r->cols[8]) == 0,
                      "%s: assignee '%s', want '%s' (%s)", where, assignee ? assignee : "-",
                      r->cols[8], d.why);
        cr_expect_str_eq(mentions(&w, &d), r->cols[9], "%s: mentions", where);
        cr_expect(d.why != NULL && strstr(d.why, r->cols[10]) != NULL,
                  "%s: why is\n  %s\nwant\n  %s", where, d.why, r->cols[10]);
        if (d.escalate) {
            cr_expect_eq(d.notify, d.notice != NULL, "%s: a notice exactly when notifying", where);
            cr_expect_eq(d.priority_changed, d.priority_from != d.priority_to, "%s", where);
            cr_expect_eq(d.group_changed, strcmp(d.group_from, d.group_to) != 0, "%s", where);
        }
        free(text);
        world_close(&w);
    }
    cases_free(rows, n);
}

/* --- sequences: never loops, never down --------------------------------------- */

/* Apply d to the ticket as the engine would, recording the policy. */
static void apply(struct world *w, struct tcell *tc, const struct escalate_decision *d,
                  int64_t now)
{
    struct escalate_ticket *t = &tc->t;
    t->priority = d->priority_to;
    t->group = d->group_to;
    if (d->assignee_changed) {
        for (size_t i = 0; t->assignee != NULL && i < w->nagents; i++)
            if (strcmp(w->agents[i].id, t->assignee) == 0 && w->agents[i].active > 0)
                w->agents[i].active--;
        t->assignee = d->assign.agent;
        route_note(w->agents, w->nagents, w->cursors, w->ncursors, d->group_to, &d->assign, now);
    }
    cr_assert_lt(t->napplied, MAX_APPLIED);
    tc->applied[t->napplied++] = d->policy;
}

Test(escalate, hammering_every_trigger_never_loops)
{
    struct world w;
    world_load_file(&w, "tests/cases/escalation.yaml");
    struct tcell tc;
    parse_ticket(&w, "tier=vip assignee=alice waiting=1h", &tc, "hammer");
    static const char *const texts[] = { "urgent!", "my lawyer", "hello", "СРОЧНО" };
    int escalations = 0, last_level = 1;
    int64_t now = NOW;
    for (int round = 0; round < 20; round++) {
        for (int trig = 0; trig < ESCALATE_ON_MANUAL; trig++) {
            struct escalate_input in = {
                .trigger = (enum escalate_trigger)trig, .text = texts[round % 4],
                .now = now, .ticket = tc.t,
            };
            struct escalate_decision d;
            struct err e = {0};
            cr_assert_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors,
                                           w.ncursors, w.a, &d, &e), 0, "%s", e.msg);
            if (!d.escalate)
                continue;
            escalations++;
            cr_expect_geq(d.level_to, d.level_from, "never down: %s", d.why);
            cr_expect_geq(d.priority_to, d.priority_from, "never lowers: %s", d.why);
            for (size_t k = 0; k < tc.t.napplied; k++)
                cr_expect_str_neq(tc.applied[k], d.policy, "'%s' applied twice", d.policy);
            apply(&w, &tc, &d, now);
            last_level = d.level_to;
            now += 60000;
        }
    }
    /* urgent, legal, vip-warning, sla-breach, silence and vip-customer at most
     * once each; the manual ones never fire without a manual trigger */
    cr_expect_leq(escalations, 6, "%d escalations", escalations);
    cr_expect_geq(escalations, 3);
    cr_expect_eq(last_level, 3, "legal took it to the top level");
    cr_expect_eq(tc.t.priority, PRIORITY_URGENT);
    world_close(&w);
}

Test(escalate, repeated_manual_escalation_stops_at_the_top)
{
    struct world w;
    world_load_file(&w, "tests/cases/escalation.yaml");
    struct tcell tc;
    parse_ticket(&w, "assignee=alice", &tc, "manual");
    int ok = 0;
    struct err e = {0};
    for (int i = 0; i < 10; i++) {
        struct escalate_input in = { .trigger = ESCALATE_ON_MANUAL, .actor = "agent:alice",
                                     .policy = "level-up", .now = NOW, .ticket = tc.t };
        struct escalate_decision d;
        memset(&e, 0, sizeof e);
        int rc = escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, &e);
        if (rc != 0) {
            cr_expect_eq(rc, ERR_CONFLICT);
            break;
        }
        ok++;
        apply(&w, &tc, &d, NOW);
    }
    /* general → level2 (high) → level3 (urgent), then nothing left */
    cr_expect_eq(ok, 2);
    cr_expect_str_eq(tc.t.group, "level3");
    cr_expect_eq(tc.t.priority, PRIORITY_URGENT);
    cr_expect(strstr(e.msg, "the top level") != NULL, "%s", e.msg);
    world_close(&w);
}

/* --- the built-in manual policy ------------------------------------------------ */

#define NO_MANUAL                                                                   \
    "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"                \
    "groups: [{name: general}, {name: l2, level: 2}]\n"                             \
    "agents:\n"                                                                     \
    "  - {id: a, telegram_user_id: 1, groups: [general]}\n"                         \
    "  - {id: s, telegram_user_id: 2, username: senior, groups: [l2]}\n"            \
    "escalation: [{name: kw, keywords: [urgent], set_priority: urgent}]\n"

Test(escalate, builtin_manual_policy)
{
    struct world w;
    world_load(&w, NO_MANUAL);
    struct tcell tc;
    parse_ticket(&w, "id=42 assignee=a", &tc, "builtin");
    struct escalate_input in = { .trigger = ESCALATE_ON_MANUAL, .actor = "api:helpdesk",
                                 .note = "VIP", .now = NOW, .ticket = tc.t };
    struct escalate_decision d;
    struct err e = {0};
    cr_assert_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, &e), 0, "%s", e.msg);
    cr_expect(d.escalate);
    cr_expect_str_eq(d.policy, ESCALATE_BUILTIN);
    cr_expect_eq(d.trigger, ESCALATE_ON_MANUAL);
    cr_expect_eq(d.priority_to, PRIORITY_HIGH);
    cr_expect_str_eq(d.group_to, "l2");
    cr_expect_eq(d.level_from, 1);
    cr_expect_eq(d.level_to, 2);
    cr_expect_str_eq(d.assign.agent, "s");
    cr_expect_eq(d.assign.strategy, ROUTE_ROUND_ROBIN);
    cr_assert_eq(d.nmentions, 1);
    cr_expect_str_eq(d.mentions[0]->username, "senior");
    cr_expect_eq(d.mentions[0]->tg_user_id, 2);
    cr_expect_str_eq(d.reason, "manual escalation by api:helpdesk: VIP");
    cr_expect_str_eq(d.notice, "\xE2\xAC\x86 Escalated by 'manual' (manual escalation by "
                     "api:helpdesk: VIP): priority normal → high; moved general → l2; "
                     "reassigned a → s; notified l2 (1 agent).");
    in.policy = ESCALATE_BUILTIN;
    cr_expect_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, NULL), 0, "the built-in can be named");
    in.policy = "kw";
    cr_expect_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, NULL), ERR_CONFLICT);
    world_close(&w);
}

Test(escalate, builtin_is_hidden_by_manual_policies)
{
    struct world w;
    world_load_file(&w, "tests/cases/escalation.yaml");
    struct tcell tc;
    parse_ticket(&w, "-", &tc, "hidden");
    struct escalate_input in = { .trigger = ESCALATE_ON_MANUAL, .policy = ESCALATE_BUILTIN,
                                 .now = NOW, .ticket = tc.t };
    struct escalate_decision d;
    struct err e = {0};
    cr_expect_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, &e), ERR_NOTFOUND);
    cr_expect_str_eq(e.field, "policy");
    world_close(&w);
}

Test(escalate, manual_tier_policy_is_refused_for_other_tiers)
{
    struct world w;
    world_load(&w, "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
               "escalation: [{name: gold, manual: true, tier: gold, set_priority: urgent}]\n");
    struct tcell tc;
    parse_ticket(&w, "tier=silver", &tc, "tier");
    struct escalate_input in = { .trigger = ESCALATE_ON_MANUAL, .policy = "gold", .now = NOW,
                                 .ticket = tc.t };
    struct escalate_decision d;
    struct err e = {0};
    cr_expect_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, &e), ERR_CONFLICT);
    cr_expect(strstr(e.msg, "only for 'gold' customers") != NULL, "%s", e.msg);
    in.policy = NULL;
    memset(&e, 0, sizeof e);
    cr_expect_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, &e), ERR_CONFLICT);
    cr_expect(strstr(e.msg, "no manual escalation policy applies") != NULL, "%s", e.msg);
    world_close(&w);
}

/* --- the no_reply timer -------------------------------------------------------- */

Test(escalate, next_due)
{
    struct world w;
    world_load(&w, "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
               "escalation:\n"
               "  - {name: slow, no_reply: 1h, notify: true}\n"
               "  - {name: fast, no_reply: 10m, notify: true}\n"
               "  - {name: vip, no_reply: 5m, tier: vip, notify: true}\n"
               "  - {name: kw, keywords: [x], notify: true}\n");
    struct tcell tc;
    parse_ticket(&w, "waiting=0s", &tc, "due");
    cr_expect_eq(escalate_next_due(w.es, &tc.t, NOW), NOW + 600000, "the sooner of 10m and 1h");
    tc.t.tier = "vip";
    cr_expect_eq(escalate_next_due(w.es, &tc.t, NOW), NOW + 300000, "vip's own 5m");
    cr_expect_eq(escalate_next_due(w.es, &tc.t, NOW + 300000), NOW + 600000,
                 "a time already passed is not due again: no timer loop");
    tc.applied[tc.t.napplied++] = "vip";
    tc.applied[tc.t.napplied++] = "fast";
    cr_expect_eq(escalate_next_due(w.es, &tc.t, NOW), NOW + 3600000, "applied ones are done");
    cr_expect_eq(escalate_next_due(w.es, &tc.t, NOW + 3600000), 0, "nothing after the last");
    tc.t.status = TICKET_ON_HOLD;
    cr_expect_eq(escalate_next_due(w.es, &tc.t, NOW), 0, "on hold: no timer");
    tc.t.status = TICKET_IN_PROGRESS;
    tc.t.waiting_since = 0;
    cr_expect_eq(escalate_next_due(w.es, &tc.t, NOW), 0, "nobody waiting: no timer");

    /* due exactly at the deadline, not a millisecond before */
    tc.t.waiting_since = NOW;
    tc.t.napplied = 0;
    tc.t.tier = "standard";
    struct escalate_input in = { .trigger = ESCALATE_ON_NO_REPLY, .now = NOW + 599999,
                                 .ticket = tc.t };
    struct escalate_decision d;
    cr_assert_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, NULL), 0);
    cr_expect_not(d.escalate);
    in.now = NOW + 600000;
    cr_assert_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, NULL), 0);
    cr_expect(d.escalate);
    cr_expect_str_eq(d.policy, "fast");
    cr_expect_str_eq(d.reason, "no agent reply for 10m");
    world_close(&w);
}

/* --- event data ----------------------------------------------------------------- */

Test(escalate, event_kv)
{
    struct world w;
    world_load_file(&w, "tests/cases/escalation.yaml");
    struct tcell tc;
    parse_ticket(&w, "assignee=alice", &tc, "kv");
    struct escalate_input in = { .trigger = ESCALATE_ON_MESSAGE, .text = "urgent", .now = NOW,
                                 .ticket = tc.t };
    struct escalate_decision d;
    cr_assert_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, NULL), 0);
    struct kv kv[ESCALATE_KV_MAX];
    size_t n = escalate_event_kv(&d, kv);
    const char *want[][2] = {
        { "policy", "urgent" }, { "trigger", "message" },
        { "reason", "keyword 'urgent' in the customer's message" },
        { "priority_from", "normal" }, { "priority_to", "urgent" },
        { "group_from", "general" }, { "group_to", "level2" },
        { "assignee_from", "alice" }, { "assignee_to", "carol" },
    };
    cr_assert_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        cr_expect_str_eq(kv[i].key, want[i][0]);
        cr_expect_str_eq(kv[i].value, want[i][1], "%s", kv[i].key);
    }
    /* a notify-only decision carries only what it is */
    parse_ticket(&w, "tier=vip", &tc, "kv2");
    in = (struct escalate_input){ .trigger = ESCALATE_ON_SLA_WARNING, .sla_metric = "resolution",
                                  .now = NOW, .ticket = tc.t };
    cr_assert_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                   &d, NULL), 0);
    n = escalate_event_kv(&d, kv);
    cr_expect_eq(n, 3);
    cr_expect_str_eq(kv[2].value, "SLA warning (resolution)");
    world_close(&w);
}

Test(escalate, trigger_names)
{
    enum escalate_trigger t;
    for (int i = 0; i < ESCALATE_TRIGGER_COUNT; i++) {
        cr_assert_eq(escalate_trigger_parse(escalate_trigger_name((enum escalate_trigger)i), &t,
                                            NULL), 0);
        cr_expect_eq(t, (enum escalate_trigger)i);
    }
    struct err e = {0};
    cr_expect_eq(escalate_trigger_parse("sometime", &t, &e), ERR_INVAL);
    cr_expect_str_eq(e.field, "trigger");
    cr_expect_str_eq(escalate_trigger_name((enum escalate_trigger)77), "unknown");
}

Test(escalate, exhausted_arena_is_toobig)
{
    struct world w;
    world_load_file(&w, "tests/cases/escalation.yaml");
    struct tcell tc;
    parse_ticket(&w, "assignee=alice", &tc, "arena");
    struct arena *tiny = arena_new(64);
    (void)arena_alloc(tiny, 60);
    struct escalate_input in = { .trigger = ESCALATE_ON_MESSAGE, .text = "urgent", .now = NOW,
                                 .ticket = tc.t };
    struct escalate_decision d;
    struct err e = {0};
    cr_expect_eq(escalate_evaluate(w.es, &in, w.agents, w.nagents, w.cursors, w.ncursors, tiny,
                                   &d, &e), ERR_TOOBIG);
    arena_free(&tiny);
    world_close(&w);
}
