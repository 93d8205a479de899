/*
 * test_route.c — routing rules, assignment strategies and queues.
 *
 * The table tests/cases/routing.tsv (against tests/cases/routing.yaml)
 * covers the article's routing matrix and the matching edge cases; the C
 * tests below cover what a single row cannot: batches of tickets (the
 * article's "ten tickets at once, no agent above 30%"), determinism under
 * reordering, the queues, and reassignment when an agent goes offline.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "common/cases.h"
#include "common/desk_world.h"
#include "desk/route.h"

/* "name=value;name=value" into kv pairs in the arena. */
static size_t parse_fields(struct world *w, const char *spec, struct kv *out, size_t max)
{
    size_t n = 0;
    if (world_opt(spec) == NULL)
        return 0;
    char *copy = arena_strdup(w->a, spec), *save = NULL;
    for (char *tok = strtok_r(copy, ";", &save); tok && n < max; tok = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(tok, '=');
        cr_assert_not_null(eq);
        *eq = '\0';
        out[n++] = (struct kv){ tok, eq + 1 };
    }
    return n;
}

Test(route, table)
{
    struct case_row *rows;
    size_t n;
    cases_load("tests/cases/routing.tsv", &rows, &n);
    cr_assert_gt(n, 50, "the routing table should have all its rows");
    int64_t noon;
    cr_assert_eq(clock_parse_iso("2026-03-04T12:00:00+03:00", &noon), 0);
    for (size_t i = 0; i < n; i++) {
        struct case_row *r = &rows[i];
        cr_assert_eq(r->ncols, 13, "routing.tsv:%d: want 13 columns, got %zu", r->line, r->ncols);
        struct world w;
        world_load_file(&w, "tests/cases/routing.yaml");
        char where[64];
        snprintf(where, sizeof where, "routing.tsv:%d", r->line);
        world_set_agents(&w, r->cols[6], where);
        world_set_cursors(&w, r->cols[7]);
        struct kv fields[8];
        char *text = world_unescape(r->cols[1]);
        struct route_input in = {
            .text = text, .tier = world_opt(r->cols[2]), .language = world_opt(r->cols[3]),
            .fields = fields, .nfields = parse_fields(&w, r->cols[4], fields, 8), .now = noon,
        };
        if (world_opt(r->cols[5]) != NULL)
            cr_assert_eq(clock_parse_iso(r->cols[5], &in.now), 0, "routing.tsv:%d: time", r->line);
        struct route_decision d;
        struct err e = {0};
        cr_assert_eq(route_decide(w.rs, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a,
                                  &d, &e), 0, "routing.tsv:%d: %s", r->line, e.msg);
        const char *name = r->cols[0];
        if (world_opt(r->cols[8]) == NULL)
            cr_expect_null(d.rule, "routing.tsv:%d (%s): matched rule '%s', want none", r->line,
                           name, d.rule);
        else
            cr_expect(d.rule != NULL && strcmp(d.rule, r->cols[8]) == 0,
                      "routing.tsv:%d (%s): rule '%s', want '%s'", r->line, name,
                      d.rule ? d.rule : "-", r->cols[8]);
        cr_expect_str_eq(d.group, r->cols[9], "routing.tsv:%d (%s): group", r->line, name);
        if (world_opt(r->cols[10]) == NULL)
            cr_expect_null(d.assign.agent, "routing.tsv:%d (%s): assigned '%s', want nobody",
                           r->line, name, d.assign.agent);
        else
            cr_expect(d.assign.agent != NULL && strcmp(d.assign.agent, r->cols[10]) == 0,
                      "routing.tsv:%d (%s): assignee '%s', want '%s' (%s)", r->line, name,
                      d.assign.agent ? d.assign.agent : "-", r->cols[10], d.why);
        if (world_opt(r->cols[11]) == NULL) {
            cr_expect_not(d.set_priority, "routing.tsv:%d (%s): sets a priority", r->line, name);
        } else {
            cr_expect(d.set_priority, "routing.tsv:%d (%s): sets no priority", r->line, name);
            cr_expect_str_eq(ticket_priority_name(d.priority), r->cols[11], "routing.tsv:%d",
                             r->line);
        }
        cr_expect(strstr(d.why, r->cols[12]) != NULL, "routing.tsv:%d (%s): why is\n  %s\nwant\n  %s",
                  r->line, name, d.why, r->cols[12]);
        cr_expect_null(d.warning, "routing.tsv:%d: warning %s", r->line, d.warning);
        free(text);
        world_close(&w);
    }
    cases_free(rows, n);
}

/* --- batches: the article's load-balancing row ---------------------------------- */

#define FIVE_AGENTS                                                                 \
    "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"                \
    "groups: [{name: support}]\n"                                                   \
    "agents:\n"                                                                     \
    "  - {id: a1, telegram_user_id: 1, groups: [support]}\n"                        \
    "  - {id: a2, telegram_user_id: 2, groups: [support]}\n"                        \
    "  - {id: a3, telegram_user_id: 3, groups: [support]}\n"                        \
    "  - {id: a4, telegram_user_id: 4, groups: [support]}\n"                        \
    "  - {id: a5, telegram_user_id: 5, groups: [support]}\n"

/* Route `tickets` messages arriving at the same instant, one at a time with
 * the state updated in between (as the engine does), counting per agent. */
static void simulate(struct world *w, int tickets, int counts[WORLD_MAX_AGENTS], const char **order)
{
    memset(counts, 0, WORLD_MAX_AGENTS * sizeof *counts);
    int64_t now = 1772614800000;           /* all arrive together */
    for (int t = 0; t < tickets; t++) {
        struct route_input in = { .text = "my order is late", .now = now };
        struct route_decision d;
        struct err e = {0};
        cr_assert_eq(route_decide(w->rs, &in, w->agents, w->nagents, w->cursors, w->ncursors,
                                  w->a, &d, &e), 0, "%s", e.msg);
        if (order != NULL)
            order[t] = d.assign.agent;
        if (d.assign.agent == NULL)
            continue;
        counts[d.assign.index]++;
        route_note(w->agents, w->nagents, w->cursors, w->ncursors, d.group, &d.assign, now);
    }
}

static void ten_across_five(const char *strategy)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, FIVE_AGENTS
             "routing: [{name: orders, keywords: [order], group: support, strategy: %s}]\n",
             strategy);
    struct world w;
    world_load(&w, yaml);
    int counts[WORLD_MAX_AGENTS];
    simulate(&w, 10, counts, NULL);
    for (size_t i = 0; i < w.nagents; i++) {
        cr_expect_leq(counts[i] * 100, 30 * 10, "%s: %s got %d of 10 tickets", strategy,
                      w.agents[i].id, counts[i]);
        cr_expect_eq(counts[i], 2, "%s: %s got %d of 10 (an even share is 2)", strategy,
                     w.agents[i].id, counts[i]);
        cr_expect_eq(w.agents[i].active, 2);
    }
    world_close(&w);
}

Test(route, ten_tickets_at_once_round_robin)
{
    ten_across_five("round_robin");
}

Test(route, ten_tickets_at_once_least_loaded)
{
    ten_across_five("least_loaded");
}

Test(route, ten_tickets_with_uneven_starting_load)
{
    struct world w;
    world_load(&w, FIVE_AGENTS
               "routing: [{name: orders, keywords: [order], group: support, strategy: least_loaded}]\n");
    world_agent(&w, "a1")->active = 3;
    world_agent(&w, "a2")->active = 1;
    int counts[WORLD_MAX_AGENTS];
    simulate(&w, 10, counts, NULL);
    int total = 0;
    for (size_t i = 0; i < w.nagents; i++) {
        cr_expect_leq(counts[i] * 100, 30 * 10, "%s got %d of 10", w.agents[i].id, counts[i]);
        total += counts[i];
    }
    cr_expect_eq(total, 10);
    cr_expect_eq(counts[0], 0, "the busiest agent gets nothing until the others catch up");
    world_close(&w);
}

Test(route, round_robin_rotates_in_id_order)
{
    struct world w;
    world_load(&w, FIVE_AGENTS "routing: [{name: orders, keywords: [order], group: support}]\n");
    const char *order[7];
    int counts[WORLD_MAX_AGENTS];
    simulate(&w, 7, counts, order);
    const char *want[7] = { "a1", "a2", "a3", "a4", "a5", "a1", "a2" };
    for (int i = 0; i < 7; i++)
        cr_expect_str_eq(order[i], want[i], "ticket %d", i);
    cr_expect_str_eq(route_cursor_of(w.cursors, w.ncursors, "support"), "a2");
    world_close(&w);
}

Test(route, capacity_full_then_queue)
{
    struct world w;
    world_load(&w, "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
               "groups: [{name: support}]\n"
               "agents:\n"
               "  - {id: a, telegram_user_id: 1, groups: [support], capacity: 2}\n"
               "  - {id: b, telegram_user_id: 2, groups: [support], capacity: 1}\n"
               "routing: [{name: orders, keywords: [order], group: support}]\n");
    const char *order[5];
    int counts[WORLD_MAX_AGENTS];
    simulate(&w, 5, counts, order);
    cr_expect_str_eq(order[0], "a");
    cr_expect_str_eq(order[1], "b");
    cr_expect_str_eq(order[2], "a");
    cr_expect_null(order[3], "both full: the fourth waits");
    cr_expect_null(order[4]);
    world_close(&w);
}

/* The agents array order never changes an answer: agents are ranked by id. */
Test(route, independent_of_agent_order)
{
    static const char *const strategies[] = { "round_robin", "least_loaded" };
    for (size_t s = 0; s < 2; s++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml, FIVE_AGENTS
                 "routing: [{name: orders, keywords: [order], group: support, strategy: %s}]\n",
                 strategies[s]);
        const char *forward[12], *backward[12];
        int counts[WORLD_MAX_AGENTS];
        struct world w;
        world_load(&w, yaml);
        world_agent(&w, "a3")->active = 1;
        world_agent(&w, "a4")->last_assigned_at = 5;
        simulate(&w, 12, counts, forward);
        char *fcopy[12];
        for (int i = 0; i < 12; i++)
            fcopy[i] = forward[i] ? strdup(forward[i]) : NULL;
        world_close(&w);

        world_load(&w, yaml);
        for (size_t i = 0; i < w.nagents / 2; i++) {
            struct route_agent tmp = w.agents[i];
            w.agents[i] = w.agents[w.nagents - 1 - i];
            w.agents[w.nagents - 1 - i] = tmp;
        }
        world_agent(&w, "a3")->active = 1;
        world_agent(&w, "a4")->last_assigned_at = 5;
        simulate(&w, 12, counts, backward);
        for (int i = 0; i < 12; i++) {
            cr_expect(fcopy[i] && backward[i] && strcmp(fcopy[i], backward[i]) == 0,
                      "%s ticket %d: %s vs %s", strategies[s], i, fcopy[i], backward[i]);
            free(fcopy[i]);
        }
        world_close(&w);
    }
}

/* --- fallback strategy, priorities, kv, warnings ---------------------------------- */

Test(route, fallback_strategy_assigns_in_the_general_queue)
{
    struct world w;
    world_load(&w, "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
               "tickets: {fallback_strategy: least_loaded}\n"
               "agents: [{id: a, telegram_user_id: 1, groups: [general]}]\n");
    struct route_input in = { .text = "hi", .now = 1 };
    struct route_decision d;
    cr_assert_eq(route_decide(w.rs, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a, &d,
                              NULL), 0);
    cr_expect_null(d.rule);
    cr_expect_str_eq(d.group, "general");
    cr_expect_str_eq(d.assign.agent, "a");
    cr_expect_eq(d.assign.strategy, ROUTE_LEAST_LOADED);
    cr_expect_eq(route_rule_strategy(w.rs, NULL), ROUTE_LEAST_LOADED);
    cr_expect_eq(route_rule_strategy(w.rs, "gone"), ROUTE_LEAST_LOADED);
    world_close(&w);
}

Test(route, decision_kv)
{
    struct world w;
    world_load_file(&w, "tests/cases/routing.yaml");
    int64_t noon;
    cr_assert_eq(clock_parse_iso("2026-03-04T12:00:00+03:00", &noon), 0);
    struct route_input in = { .text = "billing", .tier = "vip", .now = noon };
    struct route_decision d;
    cr_assert_eq(route_decide(w.rs, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a, &d,
                              NULL), 0);
    struct kv kv[ROUTE_KV_MAX];
    size_t n = route_decision_kv(&d, kv);
    cr_assert_eq(n, 6);
    const char *want[][2] = {
        { "rule", "vip" }, { "group", "vip" }, { "matched", "tier 'vip'" },
        { "strategy", "round_robin" }, { "assignee", "erin" }, { "priority", "high" },
    };
    for (size_t i = 0; i < n; i++) {
        cr_expect_str_eq(kv[i].key, want[i][0]);
        cr_expect_str_eq(kv[i].value, want[i][1]);
    }
    in = (struct route_input){ .text = "hello", .now = noon };
    cr_assert_eq(route_decide(w.rs, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a, &d,
                              NULL), 0);
    n = route_decision_kv(&d, kv);
    cr_expect_eq(n, 3, "no rule, no assignee, no priority");
    cr_expect_str_eq(kv[0].key, "group");
    cr_expect_str_eq(kv[2].value, "none");
    world_close(&w);
}

Test(route, a_regex_that_gives_up_is_no_match_and_a_warning)
{
    struct world w;
    world_load(&w, "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
               "routing:\n"
               "  - {name: slow, regex: \"^(a+)+$\", group: general, strategy: none}\n"
               "  - {name: after, keywords: [aaaa*], group: general, strategy: none}\n");
    char text[64];
    memset(text, 'a', sizeof text - 2);
    text[sizeof text - 2] = '!';
    text[sizeof text - 1] = '\0';
    struct route_input in = { .text = text, .now = 1 };
    struct route_decision d;
    cr_assert_eq(route_decide(w.rs, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a, &d,
                              NULL), 0);
    cr_expect_str_eq(d.rule, "after", "the next rule still gets its turn");
    cr_assert_not_null(d.warning);
    cr_expect(strstr(d.warning, "rule 'slow': the pattern gave up") != NULL, "%s", d.warning);
    world_close(&w);
}

Test(route, exhausted_arena_is_toobig)
{
    struct world w;
    world_load_file(&w, "tests/cases/routing.yaml");
    struct arena *tiny = arena_new(64);
    (void)arena_alloc(tiny, 60);
    struct route_input in = { .text = "billing", .now = 1 };
    struct route_decision d;
    struct err e = {0};
    cr_expect_eq(route_decide(w.rs, &in, w.agents, w.nagents, w.cursors, w.ncursors, tiny, &d,
                              &e), ERR_TOOBIG);
    cr_expect(strstr(e.msg, "arena") != NULL, "%s", e.msg);
    arena_free(&tiny);
    world_close(&w);
}

Test(route, strategy_names)
{
    enum route_strategy s;
    for (int i = 0; i < ROUTE_STRATEGY_COUNT; i++) {
        cr_assert_eq(route_strategy_parse(route_strategy_name((enum route_strategy)i), &s, NULL), 0);
        cr_expect_eq(s, (enum route_strategy)i);
    }
    struct err e = {0};
    cr_expect_eq(route_strategy_parse("random", &s, &e), ERR_INVAL);
    cr_expect_str_eq(e.field, "strategy");
    cr_expect_str_eq(route_strategy_name((enum route_strategy)9), "unknown");
}

/* --- queues ---------------------------------------------------------------- */

static struct route_ticket tk(int64_t id, const char *group, enum ticket_priority p,
                              int64_t since)
{
    return (struct route_ticket){ .id = id, .group = group, .status = TICKET_OPEN,
                                  .priority = p, .waiting_since = since,
                                  .strategy = ROUTE_ROUND_ROBIN };
}

Test(route, queue_order_priority_then_age_then_id)
{
    struct route_ticket t[] = {
        tk(1, "g", PRIORITY_NORMAL, 100), tk(2, "g", PRIORITY_URGENT, 300),
        tk(3, "g", PRIORITY_NORMAL, 50), tk(4, "g", PRIORITY_LOW, 10),
        tk(5, "g", PRIORITY_HIGH, 200), tk(6, "g", PRIORITY_NORMAL, 50),
    };
    route_queue_sort(t, 6);
    const int64_t want[] = { 2, 5, 3, 6, 1, 4 };
    for (int i = 0; i < 6; i++)
        cr_expect_eq(t[i].id, want[i], "position %d: %lld", i, (long long)t[i].id);
    cr_expect_lt(route_queue_cmp(&t[0], &t[1]), 0);
    cr_expect_eq(route_queue_cmp(&t[2], &t[2]), 0);
    cr_expect_gt(route_queue_cmp(&t[5], &t[4]), 0);
}

Test(route, next_ticket_for_an_agent_coming_free)
{
    const char *groups[] = { "billing" };
    struct route_agent ag = { .id = "a", .groups = groups, .ngroups = 1, .capacity = 2,
                              .availability = AGENT_ONLINE, .active = 1 };
    struct route_ticket t[] = {
        tk(1, "tech", PRIORITY_URGENT, 1),          /* not ag's group */
        tk(2, "billing", PRIORITY_NORMAL, 50),
        tk(3, "billing", PRIORITY_HIGH, 90),
        tk(4, "billing", PRIORITY_URGENT, 5),       /* already assigned */
        tk(5, "billing", PRIORITY_URGENT, 6),       /* strategy none: manual pick */
        tk(6, "billing", PRIORITY_URGENT, 7),       /* on hold */
    };
    t[3].assignee = "b";
    t[4].strategy = ROUTE_NONE;
    t[5].status = TICKET_ON_HOLD;
    cr_expect_eq(route_next_for_agent(&ag, t, 6), 2, "ticket 3: high beats older normal");
    ag.active = 2;
    cr_expect_eq(route_next_for_agent(&ag, t, 6), -1, "at capacity");
    ag.active = 0;
    ag.availability = AGENT_AWAY;
    cr_expect_eq(route_next_for_agent(&ag, t, 6), -1, "away");
}

Test(route, drain_hands_out_in_queue_order)
{
    struct world w;
    world_load(&w, "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
               "groups: [{name: billing}, {name: tech}]\n"
               "agents:\n"
               "  - {id: a, telegram_user_id: 1, groups: [billing], capacity: 2}\n"
               "  - {id: b, telegram_user_id: 2, groups: [billing, tech], capacity: 1}\n");
    struct route_ticket t[] = {
        tk(10, "billing", PRIORITY_NORMAL, 100), tk(11, "billing", PRIORITY_NORMAL, 50),
        tk(12, "billing", PRIORITY_URGENT, 900), tk(13, "tech", PRIORITY_LOW, 1),
        tk(14, "billing", PRIORITY_HIGH, 1), tk(15, "tech", PRIORITY_HIGH, 2),
    };
    t[4].strategy = ROUTE_NONE;                     /* stays for a manual pick */
    t[5].strategy = ROUTE_LEAST_LOADED;
    struct route_move *mv;
    size_t nmv;
    struct err e = {0};
    cr_assert_eq(route_drain(t, 6, w.agents, w.nagents, w.cursors, w.ncursors, 5000, w.a, &mv,
                             &nmv, &e), 0, "%s", e.msg);
    /* urgent 12 first (a: first in rotation), then tech 15 (high) to b, then
     * billing 11 (older) to a; b and a are then full: 10 and 13 wait */
    cr_assert_eq(nmv, 3);
    cr_expect_eq(mv[0].ticket_id, 12);
    cr_expect_str_eq(mv[0].assign.agent, "a");
    cr_expect_eq(mv[1].ticket_id, 15);
    cr_expect_str_eq(mv[1].assign.agent, "b");
    cr_expect_eq(mv[2].ticket_id, 11);
    cr_expect_str_eq(mv[2].assign.agent, "a");
    cr_expect(strstr(mv[2].assign.why, "taken from the billing queue: round robin picked a") != NULL,
              "%s", mv[2].assign.why);
    cr_expect_null(mv[0].from);
    cr_expect_eq(world_agent(&w, "a")->active, 2);
    cr_expect_eq(world_agent(&w, "a")->last_assigned_at, 5000);
    cr_expect_eq(world_agent(&w, "b")->active, 1);
    cr_expect_str_eq(route_cursor_of(w.cursors, w.ncursors, "billing"), "a");
    cr_expect_null(route_cursor_of(w.cursors, w.ncursors, "tech"), "least loaded moves no cursor");
    world_close(&w);
}

Test(route, drain_with_nobody_online_moves_nothing)
{
    struct world w;
    world_load(&w, FIVE_AGENTS);
    for (size_t i = 0; i < w.nagents; i++)
        w.agents[i].availability = AGENT_OFFLINE;
    struct route_ticket t[] = { tk(1, "support", PRIORITY_URGENT, 1) };
    struct route_move *mv;
    size_t nmv = 9;
    cr_assert_eq(route_drain(t, 1, w.agents, w.nagents, w.cursors, w.ncursors, 1, w.a, &mv,
                             &nmv, NULL), 0);
    cr_expect_eq(nmv, 0);
    cr_expect_eq(route_drain(t, 0, w.agents, w.nagents, w.cursors, w.ncursors, 1, w.a, &mv,
                             &nmv, NULL), 0);
    world_close(&w);
}

#define OFFLINE_CFG(flag)                                                           \
    "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"                \
    "tickets: {reassign_on_offline: " flag "}\n"                                    \
    "groups: [{name: billing}]\n"                                                   \
    "agents:\n"                                                                     \
    "  - {id: a, telegram_user_id: 1, groups: [billing]}\n"                         \
    "  - {id: b, telegram_user_id: 2, groups: [billing], capacity: 1}\n"            \
    "  - {id: c, telegram_user_id: 3, groups: [billing], availability: offline}\n"

Test(route, offline_agent_tickets_are_reassigned)
{
    struct world w;
    world_load(&w, OFFLINE_CFG("true"));
    world_agent(&w, "a")->active = 4;
    world_agent(&w, "a")->availability = AGENT_OFFLINE;
    world_agent(&w, "c")->availability = AGENT_OFFLINE;
    struct route_ticket t[] = {
        tk(1, "billing", PRIORITY_NORMAL, 10), tk(2, "billing", PRIORITY_URGENT, 20),
        tk(3, "billing", PRIORITY_NORMAL, 30), tk(4, "billing", PRIORITY_NORMAL, 5),
    };
    for (int i = 0; i < 4; i++)
        t[i].assignee = "a";
    t[2].status = TICKET_ON_HOLD;       /* waits on a third party: stays with a */
    t[3].strategy = ROUTE_NONE;         /* back to the queue for a manual pick */
    struct route_move *mv;
    size_t nmv;
    struct err e = {0};
    cr_assert_eq(route_offline(w.rs, "a", t, 4, w.agents, w.nagents, w.cursors, w.ncursors,
                               7000, w.a, &mv, &nmv, &e), 0, "%s", e.msg);
    cr_assert_eq(nmv, 3);
    cr_expect_eq(mv[0].ticket_id, 2, "urgent first");
    cr_expect_str_eq(mv[0].assign.agent, "b");
    cr_expect_str_eq(mv[0].from, "a");
    cr_expect(strstr(mv[0].assign.why, "a went offline: round robin picked b") != NULL, "%s",
              mv[0].assign.why);
    cr_expect_eq(mv[1].ticket_id, 4);
    cr_expect_null(mv[1].assign.agent);
    cr_expect(strstr(mv[1].assign.why, "strategy none") != NULL, "%s", mv[1].assign.why);
    cr_expect_eq(mv[2].ticket_id, 1);
    cr_expect_null(mv[2].assign.agent, "b is full and c offline: back to the queue");
    cr_expect(strstr(mv[2].assign.why, "nobody can take it in billing (a excluded, b at capacity "
                     "1/1, c offline)") != NULL, "%s", mv[2].assign.why);
    cr_expect_eq(world_agent(&w, "a")->active, 1, "only the on-hold ticket is still a's");
    cr_expect_eq(world_agent(&w, "b")->active, 1);
    world_close(&w);
}

Test(route, offline_agent_keeps_tickets_when_configured)
{
    struct world w;
    world_load(&w, OFFLINE_CFG("false"));
    struct route_ticket t[] = { tk(1, "billing", PRIORITY_NORMAL, 10) };
    t[0].assignee = "a";
    struct route_move *mv = (struct route_move *)1;
    size_t nmv = 9;
    cr_assert_eq(route_offline(w.rs, "a", t, 1, w.agents, w.nagents, w.cursors, w.ncursors, 1,
                               w.a, &mv, &nmv, NULL), 0);
    cr_expect_eq(nmv, 0);
    cr_expect_null(mv);
    cr_expect_str_eq(t[0].assignee, "a");
    world_close(&w);
}

Test(route, agent_helpers)
{
    struct cfg *c = NULL;
    cr_assert_eq(cfg_load_string("t.yaml", OFFLINE_CFG("true"), strlen(OFFLINE_CFG("true")), &c,
                                 NULL), 0);
    struct route_agent a;
    route_agent_init(&a, &c->agents[1], AGENT_AWAY, 3, 42);
    cr_expect_str_eq(a.id, "b");
    cr_expect_eq(a.capacity, 1);
    cr_expect_eq(a.active, 3);
    cr_expect_eq(a.last_assigned_at, 42);
    cr_expect(route_agent_serves(&a, "billing"));
    cr_expect_not(route_agent_serves(&a, "general"));
    cr_expect_not(route_agent_serves(&a, NULL));
    struct route_assign none = { .agent = NULL };
    route_note(&a, 1, NULL, 0, "billing", &none, 99);
    cr_expect_eq(a.active, 3, "noting nobody changes nothing");
    cfg_unref(&c);
}

/* The shipped example compiles and routes the README's message. */
Test(route, example_config)
{
    setenv("TGCRM_BOT_TOKEN", "123456:example-bot-token", 1);
    setenv("TGCRM_API_TOKEN", "example-api-token-0123456789", 1);
    setenv("TGCRM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
    struct world w;
    world_load_file(&w, "examples/tgcrm.yaml");
    struct route_input in = { .text = "My invoice is wrong", .now = 1772614800000LL };
    struct route_decision d;
    struct err e = {0};
    cr_assert_eq(route_decide(w.rs, &in, w.agents, w.nagents, w.cursors, w.ncursors, w.a, &d,
                              &e), 0, "%s", e.msg);
    cr_expect_str_eq(d.rule, "billing");
    cr_expect_str_eq(d.group, "billing");
    cr_expect_not_null(d.assign.agent, "%s", d.why);
    world_close(&w);
}
