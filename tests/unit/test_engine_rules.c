/*
 * test_engine_rules.c — routing, queues, SLA clocks and escalation as the
 * engine applies them: a real temporary SQLite store, the manual clock,
 * every outcome read back from the store (tickets, thread, domain events,
 * timers). The article's routing matrix and its four SLA scenarios, queue
 * hand-outs, offline reassignment, manual escalation and reload.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "desk/sla.h"
#include "engine/engine.h"
#include "store/store.h"
#include "common/engine_fixture.h"

#define T0 1767600000000LL          /* 2026-01-05T08:00:00Z */
#define MIN 60000LL

static struct fixture F;
static struct clock *K;
static struct engine *E;
static struct store *R;             /* a reader for assertions */
static struct arena *A;

/* Groups and agents every test has; `rules` adds routing, sla, escalation. */
static const char *base_yaml =
    "http: {api_tokens: [{name: t, token: engine-test-token-123456}]}\n"
    "telegram: {token: '123:abc', staff_group_id: -100}\n"
    "groups: [{name: general}, {name: billing}, {name: level2, level: 2}]\n"
    "agents:\n"
    "  - {id: a1, telegram_user_id: 11, username: ann, groups: [general, billing],"
    " capacity: %d}\n"
    "  - {id: a2, telegram_user_id: 12, groups: [general, billing], capacity: %d}\n"
    "  - {id: a3, telegram_user_id: 13, groups: [general]}\n"
    "  - {id: a4, telegram_user_id: 14, groups: [general]}\n"
    "  - {id: a5, telegram_user_id: 15, groups: [general]}\n"
    "  - {id: l2, name: Lena, telegram_user_id: 20, groups: [level2]}\n"
    "%s";

static const char *article_rules =
    "routing:\n"
    "  - {name: billing, keywords: [billing, invoice], group: billing}\n"
    "  - {name: load, keywords: [load], group: general, strategy: round_robin}\n"
    "sla:\n"
    "  - {name: article, first_response: 2m, resolution: 10m, warn_before: 30s}\n"
    "escalation:\n"
    "  - {name: urgent, keywords: [urgent], set_priority: urgent, move_to_group: level2,"
    " notify: true}\n"
    "  - {name: breach, on_sla: breach, raise_priority: true, notify: true}\n";

/* The billing agents a1 and a2 hold at most `capacity` active tickets. */
static void up(const char *rules, int capacity)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, base_yaml, capacity, capacity, rules);
    fixture_open(&F, T0, yaml);
    K = F.clock;
    E = F.engine;
    R = F.reader;
    A = F.arena;
}

static void setup(void) { up(article_rules, 10); }
static void setup_capacity_one(void) { up(article_rules, 1); }

static void teardown(void)
{
    fixture_close(&F);
}

/* ---- helpers ----------------------------------------------------------------- */

static struct engine_event customer_msg(int64_t user, const char *text)
{
    return fixture_customer(user, text);
}

static struct engine_result apply1(struct engine_event ev)
{
    return fixture_apply(&F, ev);
}

static int64_t open_ticket(int64_t user, const char *text)
{
    struct engine_result r = apply1(customer_msg(user, text));
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_assert(r.created);
    return r.ticket_id;
}

static void tick_at(int64_t at)
{
    struct err e = {0};
    cr_assert_eq(clock_manual_set(K, at), 0);
    struct engine_event t = {.type = ENGINE_TIMERS_DUE};
    struct engine_result res;
    cr_assert_eq(engine_apply_batch(E, &t, &res, 1, &e), 0, "%s", e.msg);
}

static struct engine_result reply(int64_t id, const char *agent, const char *text)
{
    struct engine_event r = {.type = ENGINE_AGENT_REPLY, .ticket_id = id, .agent_id = agent,
                             .text = text};
    return apply1(r);
}

static struct engine_result set_status(int64_t id, enum ticket_status s)
{
    struct engine_event u = {.type = ENGINE_TICKET_UPDATE, .ticket_id = id, .set_status = true,
                             .status = s, .actor = "test"};
    return apply1(u);
}

static struct engine_result availability(const char *agent, enum agent_avail a)
{
    struct engine_event ev = {.type = ENGINE_AGENT_AVAILABILITY, .agent_id = agent,
                              .availability = a};
    return apply1(ev);
}

static struct ticket *ticket(int64_t id)
{
    struct ticket *t = NULL;
    struct err e = {0};
    cr_assert_eq(store_ticket_get(R, id, A, &t, &e), 0, "%s", e.msg);
    return t;
}

/* The thread entry of ticket id with this event, the n-th (0 = first). */
static struct thread_entry *entry(int64_t id, const char *event, int nth)
{
    struct thread_entry *th = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_thread_list(R, id, A, &th, &n, &e), 0, "%s", e.msg);
    for (size_t i = 0; i < n; i++)
        if (th[i].event != NULL && strcmp(th[i].event, event) == 0 && nth-- == 0)
            return &th[i];
    return NULL;
}

static const char *data_of(const struct thread_entry *te, const char *key)
{
    for (size_t i = 0; te != NULL && i < te->ndata; i++)
        if (strcmp(te->data[i].key, key) == 0)
            return te->data[i].value;
    return NULL;
}

/* Domain events of a type about ticket id (0: any), in order. */
static size_t events(const char *type, int64_t id, struct event_row **out)
{
    struct event_row *evs = NULL;
    size_t n = 0, k = 0;
    struct err e = {0};
    cr_assert_eq(store_event_list(R, 0, 10000, A, &evs, &n, &e), 0, "%s", e.msg);
    struct event_row *sel = arena_alloc(A, (n + 1) * sizeof *sel);
    for (size_t i = 0; i < n; i++)
        if (strcmp(evs[i].type, type) == 0 && (id == 0 || evs[i].ticket_id == id))
            sel[k++] = evs[i];
    if (out != NULL)
        *out = sel;
    return k;
}

static json_t *data_json(const struct event_row *ev)
{
    json_t *v = json_loads(ev->data, 0, NULL);
    cr_assert_not_null(v, "%s", ev->data);
    return v;
}

/* The due time of ticket id's timer of this kind, 0 when none; asserts
 * there is at most one. */
static int64_t timer_of(int64_t id, const char *kind)
{
    struct timer_row *t = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_timer_due(R, INT64_MAX, 10000, A, &t, &n, &e), 0, "%s", e.msg);
    int64_t at = 0;
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].ticket_id == id && strcmp(t[i].kind, kind) == 0) {
            at = t[i].due_at;
            seen++;
        }
    }
    cr_assert_leq(seen, 1, "one %s timer per ticket", kind);
    return at;
}

/* ---- the article's routing matrix --------------------------------------------------- */

Test(rules, keyword_routes_to_the_billing_queue, .init = setup, .fini = teardown)
{
    int64_t id = open_ticket(100, "Hi, my INVOICE is wrong");
    struct ticket *t = ticket(id);
    cr_expect_str_eq(t->group, "billing");
    cr_expect_str_eq(t->rule, "billing");
    cr_expect_str_eq(t->strategy, "round_robin");
    cr_expect_str_eq(t->assignee, "a1", "first billing agent in rotation");
    struct thread_entry *as = entry(id, "assigned", 0);
    cr_assert_not_null(as);
    cr_expect_eq(as->seq, 2, "after the customer's message");
    cr_expect_str_eq(data_of(as, "rule"), "billing");
    cr_expect_str_eq(data_of(as, "to"), "a1");
    cr_expect(strstr(data_of(as, "matched"), "keyword 'invoice' (\"INVOICE\")") != NULL, "%s",
              data_of(as, "matched"));
    cr_expect(strstr(data_of(as, "reason"), "routed to billing by rule 'billing'") != NULL, "%s",
              data_of(as, "reason"));

    struct event_row *ev;
    cr_assert_eq(events("ticket.assigned", id, &ev), 1);
    json_t *d = data_json(&ev[0]);
    json_t *tk = json_object_get(d, "ticket");
    cr_expect_str_eq(json_string_value(json_object_get(tk, "rule")), "billing");
    cr_expect_str_eq(json_string_value(json_object_get(tk, "assignee")), "a1");
    json_decref(d);

    /* the next billing ticket goes to the next agent of the rotation */
    cr_expect_str_eq(ticket(open_ticket(101, "billing question"))->assignee, "a2");
    cr_expect_str_eq(ticket(open_ticket(102, "another invoice"))->assignee, "a1");
}

Test(rules, ten_tickets_at_once_over_five_agents, .init = setup, .fini = teardown)
{
    struct engine_event evs[10];
    struct engine_result res[10];
    for (int i = 0; i < 10; i++) {
        evs[i] = customer_msg(200 + i, "load test");
        evs[i].update_id = 5000 + i;
    }
    struct err e = {0};
    cr_assert_eq(engine_apply_batch(E, evs, res, 10, &e), 0, "%s", e.msg);
    int per[5] = {0};
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(res[i].code, 0, "%s", res[i].err.msg);
        struct ticket *t = ticket(res[i].ticket_id);
        cr_assert_not_null(t->assignee);
        per[t->assignee[1] - '1']++;
        static const char *const order[5] = {"a1", "a2", "a3", "a4", "a5"};
        cr_expect_str_eq(t->assignee, order[i % 5], "round robin in arrival order");
    }
    for (int a = 0; a < 5; a++)
        cr_expect_leq(per[a] * 10, 3 * 10, "agent a%d has %d of 10 (more than 30%%)", a + 1,
                      per[a]);
}

Test(rules, no_rule_lands_unassigned_in_the_general_queue, .init = setup, .fini = teardown)
{
    int64_t id = open_ticket(300, "hello there");
    struct ticket *t = ticket(id);
    cr_expect_str_eq(t->group, "general");
    cr_expect_null(t->rule);
    cr_expect_null(t->assignee);
    cr_expect_str_eq(t->strategy, "none");
    struct thread_entry *q = entry(id, "queued", 0);
    cr_assert_not_null(q);
    cr_expect_str_eq(data_of(q, "matched"), "no routing rule matched");
    cr_expect_eq(events("ticket.assigned", id, NULL), 0);
    /* strategy none: agents coming online do not take it */
    cr_assert_eq(availability("a3", AGENT_OFFLINE).code, 0);
    cr_assert_eq(availability("a3", AGENT_ONLINE).code, 0);
    cr_expect_null(ticket(id)->assignee);
}

Test(rules, escalation_moves_the_ticket_to_level_2, .init = setup, .fini = teardown)
{
    int64_t id = open_ticket(400, "my invoice is wrong");
    cr_assert_str_eq(ticket(id)->assignee, "a1");
    struct engine_result r = apply1(customer_msg(400, "this is URGENT"));
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    struct ticket *t = ticket(id);
    cr_expect_str_eq(t->group, "level2");
    cr_expect_eq(t->priority, PRIORITY_URGENT);
    cr_expect_str_eq(t->assignee, "l2");
    cr_assert_eq(t->nescalations, 1);
    cr_expect_str_eq(t->escalations[0], "urgent");
    struct thread_entry *x = entry(id, "escalated", 0);
    cr_assert_not_null(x);
    cr_expect_str_eq(data_of(x, "policy"), "urgent");
    cr_expect_str_eq(data_of(x, "group_to"), "level2");
    struct thread_entry *as = entry(id, "assigned", 1);
    cr_assert_not_null(as);
    cr_expect(strncmp(as->text, "assigned to l2 — escalation 'urgent': ", 40) == 0,
              "the assignment names the policy that decided it: %s", as->text);
    struct event_row *ev;
    cr_assert_eq(events("ticket.escalated", id, &ev), 1);
    json_t *d = data_json(&ev[0]);
    cr_expect_str_eq(json_string_value(json_object_get(d, "policy")), "urgent");
    cr_expect_str_eq(json_string_value(json_object_get(d, "trigger")), "message");
    cr_expect_str_eq(json_string_value(json_object_get(d, "assignee_from")), "a1");
    cr_expect_str_eq(json_string_value(json_object_get(d, "assignee_to")), "l2");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "ticket"), "group")),
                     "level2");
    json_decref(d);

    /* the notice in the topic mentions the level 2 agent by name */
    struct tg_outbox_row *rows = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_pending(R, 0, 0, 500, A, &rows, &n, &e), 0);
    bool notice = false;
    for (size_t i = 0; i < n; i++)
        notice |= strstr(rows[i].params, "Escalated by 'urgent'") != NULL &&
                  strstr(rows[i].params, "\"text_mention\"") != NULL &&
                  strstr(rows[i].params, "\"id\":20") != NULL;
    cr_expect(notice, "a topic notice mentioning Lena");

    /* never twice: the same keyword again changes nothing */
    apply1(customer_msg(400, "still urgent!"));
    cr_expect_eq(events("ticket.escalated", id, NULL), 1);
}

Test(rules, two_tickets_in_the_same_second_in_arrival_order, .init = setup, .fini = teardown)
{
    struct engine_event evs[2] = {customer_msg(501, "billing one"),
                                  customer_msg(502, "billing two")};
    evs[0].update_id = 71;
    evs[1].update_id = 72;
    struct engine_result res[2];
    struct err e = {0};
    cr_assert_eq(engine_apply_batch(E, evs, res, 2, &e), 0, "%s", e.msg);
    cr_expect_lt(res[0].ticket_id, res[1].ticket_id);
    cr_expect_str_eq(ticket(res[0].ticket_id)->assignee, "a1");
    cr_expect_str_eq(ticket(res[1].ticket_id)->assignee, "a2");
    cr_expect_eq(ticket(res[0].ticket_id)->created_at, ticket(res[1].ticket_id)->created_at);
}

/* ---- the article's SLA scenarios ------------------------------------------------------- */

Test(rules, sla_on_time_reply_no_breach, .init = setup, .fini = teardown)
{
    int64_t id = open_ticket(600, "hello");
    cr_expect_eq(timer_of(id, "sla"), T0 + 90000, "the warning, 30 s before the 2 min target");
    tick_at(T0 + MIN);
    cr_assert_eq(reply(id, "a3", "on it").code, 0);
    cr_expect_eq(timer_of(id, "sla"), T0 + 10 * MIN - 30000, "now resolution's warning");
    tick_at(T0 + 5 * MIN);
    cr_expect_eq(events("ticket.sla_breached", id, NULL), 0);
    cr_expect_eq(events("ticket.sla_warning", id, NULL), 0);
    struct ticket *t = ticket(id);
    cr_assert_not_null(t->sla);
    cr_expect_eq(t->sla->clock[0].met_at, T0 + MIN);
    cr_expect_eq(t->sla->clock[0].breached_at, 0);
}

Test(rules, sla_no_reply_breaches_at_the_deadline_and_escalates, .init = setup,
     .fini = teardown)
{
    int64_t id = open_ticket(700, "hello");
    tick_at(T0 + 90000 - 1);
    cr_expect_eq(events("ticket.sla_warning", id, NULL), 0, "not a millisecond early");
    tick_at(T0 + 90000);
    struct event_row *ev;
    cr_assert_eq(events("ticket.sla_warning", id, &ev), 1);
    cr_expect_eq(ev[0].occurred_at, T0 + 90000);
    cr_expect_eq(timer_of(id, "sla"), T0 + 2 * MIN);

    tick_at(T0 + 2 * MIN - 1);
    cr_expect_eq(events("ticket.sla_breached", id, NULL), 0);
    tick_at(T0 + 2 * MIN);
    cr_assert_eq(events("ticket.sla_breached", id, &ev), 1);
    cr_expect_eq(ev[0].occurred_at, T0 + 2 * MIN, "at the deadline exactly");
    json_t *d = data_json(&ev[0]);
    cr_expect_str_eq(json_string_value(json_object_get(d, "metric")), "first_response");
    cr_expect_str_eq(json_string_value(json_object_get(d, "policy")), "article");
    cr_expect_str_eq(json_string_value(json_object_get(d, "due_at")), "2026-01-05T08:02:00.000Z");
    cr_expect_eq(json_integer_value(json_object_get(d, "target_ms")), 2 * MIN);
    json_t *fr = json_object_get(json_object_get(json_object_get(d, "ticket"), "sla"),
                                 "first_response");
    cr_expect(json_is_true(json_object_get(fr, "breached")));
    json_decref(d);
    struct thread_entry *b = entry(id, "sla_breached", 0);
    cr_assert_not_null(b);
    cr_expect_eq(b->at, T0 + 2 * MIN);

    /* the breach policy raised the priority */
    struct ticket *t = ticket(id);
    cr_expect_eq(t->priority, PRIORITY_HIGH);
    cr_assert_eq(events("ticket.escalated", id, &ev), 1);
    d = data_json(&ev[0]);
    cr_expect_str_eq(json_string_value(json_object_get(d, "policy")), "breach");
    cr_expect_str_eq(json_string_value(json_object_get(d, "trigger")), "sla_breach");
    json_decref(d);

    /* three minutes without a reply: nothing is raised twice */
    tick_at(T0 + 3 * MIN);
    cr_expect_eq(events("ticket.sla_breached", id, NULL), 1);
    cr_expect_eq(events("ticket.escalated", id, NULL), 1);
    cr_expect_eq(ticket(id)->priority, PRIORITY_HIGH);
}

Test(rules, sla_on_hold_pauses_and_resumes, .init = setup, .fini = teardown)
{
    int64_t id = open_ticket(800, "hello");
    tick_at(T0 + MIN);
    cr_assert_eq(set_status(id, TICKET_IN_PROGRESS).code, 0);
    cr_assert_eq(set_status(id, TICKET_ON_HOLD).code, 0);
    cr_expect_eq(timer_of(id, "sla"), 0, "every clock paused: nothing to wait for");
    tick_at(T0 + 6 * MIN);
    cr_expect_eq(events("ticket.sla_warning", id, NULL), 0);
    cr_expect_eq(events("ticket.sla_breached", id, NULL), 0);
    struct ticket *t = ticket(id);
    cr_expect_neq(t->sla->clock[0].paused_since, 0);

    cr_assert_eq(set_status(id, TICKET_IN_PROGRESS).code, 0);
    t = ticket(id);
    cr_expect_eq(t->sla->clock[0].paused_ms, 5 * MIN);
    cr_expect_eq(t->sla->clock[0].due_at, T0 + 7 * MIN, "the pause moved the deadline");
    tick_at(T0 + 7 * MIN - 1);
    cr_expect_eq(events("ticket.sla_breached", id, NULL), 0);
    tick_at(T0 + 7 * MIN);
    struct event_row *ev;
    cr_assert_eq(events("ticket.sla_breached", id, &ev), 1);
    cr_expect_eq(ev[0].occurred_at, T0 + 7 * MIN);
}

Test(rules, sla_follow_up_restarts_response_while_resolution_runs, .init = setup,
     .fini = teardown)
{
    int64_t id = open_ticket(900, "hello");
    tick_at(T0 + MIN);
    cr_assert_eq(reply(id, "a3", "hi").code, 0);
    tick_at(T0 + 3 * MIN);
    cr_assert_eq(apply1(customer_msg(900, "one more thing")).code, 0);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->sla->clock[1].started_at, T0 + 3 * MIN, "next response started");
    cr_expect_eq(t->sla->clock[1].due_at, T0 + 5 * MIN);
    cr_expect_eq(t->sla->clock[2].started_at, T0, "resolution keeps running");
    cr_expect_eq(t->sla->clock[2].due_at, T0 + 10 * MIN);
    cr_expect_eq(t->waiting_since, T0 + 3 * MIN);

    tick_at(T0 + 5 * MIN);
    struct event_row *ev;
    cr_assert_eq(events("ticket.sla_breached", id, &ev), 1);
    json_t *d = data_json(&ev[0]);
    cr_expect_str_eq(json_string_value(json_object_get(d, "metric")), "next_response");
    json_decref(d);
    tick_at(T0 + 10 * MIN);
    cr_assert_eq(events("ticket.sla_breached", id, &ev), 2, "and the resolution breach");
    d = data_json(&ev[1]);
    cr_expect_str_eq(json_string_value(json_object_get(d, "metric")), "resolution");
    json_decref(d);
}

Test(rules, resolving_stops_the_clocks_and_the_timer, .init = setup, .fini = teardown)
{
    int64_t id = open_ticket(950, "hello");
    cr_assert_eq(reply(id, "a3", "fixed").code, 0);
    cr_assert_eq(set_status(id, TICKET_RESOLVED).code, 0);
    cr_expect_eq(timer_of(id, "sla"), 0);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->sla->clock[2].met_at, T0);
    cr_expect_eq(t->waiting_since, 0);
    tick_at(T0 + 20 * MIN);
    cr_expect_eq(events("ticket.sla_breached", id, NULL), 0);
}

/* ---- queues -------------------------------------------------------------------------- */

Test(rules, waiting_ticket_is_taken_when_an_agent_comes_online, .init = setup,
     .fini = teardown)
{
    cr_assert_eq(availability("a1", AGENT_AWAY).code, 0);
    cr_assert_eq(availability("a2", AGENT_OFFLINE).code, 0);
    int64_t id = open_ticket(1000, "invoice again");
    struct ticket *t = ticket(id);
    cr_expect_str_eq(t->group, "billing");
    cr_expect_null(t->assignee);
    struct thread_entry *q = entry(id, "queued", 0);
    cr_assert_not_null(q);
    cr_expect(strstr(q->text, "nobody can take it in billing (a1 away, a2 offline)") != NULL,
              "%s", q->text);

    clock_manual_advance(K, 5000);
    cr_assert_eq(availability("a2", AGENT_ONLINE).code, 0);
    t = ticket(id);
    cr_expect_str_eq(t->assignee, "a2");
    struct thread_entry *as = entry(id, "assigned", 0);
    cr_assert_not_null(as);
    cr_expect(strstr(data_of(as, "reason"), "taken from the billing queue") != NULL, "%s",
              data_of(as, "reason"));
    cr_expect_eq(events("ticket.assigned", id, NULL), 1);
}

Test(rules, queue_goes_by_priority_then_age, .init = setup, .fini = teardown)
{
    cr_assert_eq(availability("a1", AGENT_OFFLINE).code, 0);
    cr_assert_eq(availability("a2", AGENT_OFFLINE).code, 0);
    int64_t older = open_ticket(1100, "invoice");
    clock_manual_advance(K, 1000);
    int64_t newer = open_ticket(1101, "billing");
    struct engine_event up = {.type = ENGINE_TICKET_UPDATE, .ticket_id = newer,
                              .set_priority = true, .priority = PRIORITY_HIGH, .actor = "t"};
    cr_assert_eq(apply1(up).code, 0);
    clock_manual_advance(K, 1000);
    int64_t oldest_low = open_ticket(1102, "invoice");
    (void)oldest_low;
    /* a1 comes back with room for everything: taken in queue order */
    cr_assert_eq(availability("a1", AGENT_ONLINE).code, 0);
    struct thread_entry *a = entry(newer, "assigned", 0), *b = entry(older, "assigned", 0);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    struct event_row *ev;
    cr_assert_eq(events("ticket.assigned", 0, &ev), 3);
    cr_expect_eq(ev[0].ticket_id, newer, "high priority first");
    cr_expect_eq(ev[1].ticket_id, older, "then the older");
}

Test(rules, freed_capacity_takes_the_next_waiting_ticket, .init = setup_capacity_one,
     .fini = teardown)
{
    int64_t t1 = open_ticket(1200, "invoice 1");
    int64_t t2 = open_ticket(1201, "invoice 2");
    int64_t t3 = open_ticket(1202, "invoice 3");
    cr_expect_str_eq(ticket(t1)->assignee, "a1");
    cr_expect_str_eq(ticket(t2)->assignee, "a2");
    cr_expect_null(ticket(t3)->assignee, "both at capacity 1/1");
    cr_assert_eq(reply(t1, "a1", "done").code, 0);
    cr_assert_eq(set_status(t1, TICKET_RESOLVED).code, 0);
    cr_expect_str_eq(ticket(t3)->assignee, "a1", "a1 freed a place and took the next");
    /* on hold still counts as load */
    cr_assert_eq(reply(t2, "a2", "waiting for you").code, 0);
    cr_assert_eq(set_status(t2, TICKET_ON_HOLD).code, 0);
    int64_t t4 = open_ticket(1203, "invoice 4");
    cr_expect_null(ticket(t4)->assignee);
    /* a manual reassignment frees a2 as well */
    struct engine_event mv = {.type = ENGINE_TICKET_UPDATE, .ticket_id = t2, .set_assignee = true,
                              .assignee = NULL, .actor = "agent:a2"};
    cr_assert_eq(apply1(mv).code, 0);
    cr_expect_str_eq(ticket(t4)->assignee, "a2");
    cr_expect_null(ticket(t2)->assignee, "on hold: not handed out again");
}

Test(rules, offline_agent_tickets_are_reassigned, .init = setup, .fini = teardown)
{
    int64_t t1 = open_ticket(1300, "invoice 1");        /* a1 */
    int64_t t2 = open_ticket(1301, "invoice 2");        /* a2 */
    cr_assert_str_eq(ticket(t1)->assignee, "a1");
    cr_assert_eq(reply(t1, "a1", "looking").code, 0);   /* in_progress */
    cr_assert_eq(availability("a1", AGENT_OFFLINE).code, 0);
    cr_expect_str_eq(ticket(t1)->assignee, "a2");
    struct thread_entry *as = entry(t1, "assigned", 1);
    cr_assert_not_null(as);
    cr_expect_str_eq(data_of(as, "from"), "a1");
    cr_expect(strstr(data_of(as, "reason"), "a1 went offline") != NULL, "%s",
              data_of(as, "reason"));
    /* issue 6: the thread says why, in the entry people read, not only in its data */
    cr_expect(strncmp(as->text, "assigned to a2 — a1 went offline", 34) == 0, "%s", as->text);
    struct thread_entry *first = entry(t1, "assigned", 0);
    cr_assert_not_null(first);
    cr_expect(strstr(first->text, "by rule '") != NULL, "routing names its rule: %s",
              first->text);
    /* nobody left in billing: back to the queue, then to the first who returns */
    cr_assert_eq(availability("a2", AGENT_OFFLINE).code, 0);
    cr_expect_null(ticket(t1)->assignee);
    cr_expect_null(ticket(t2)->assignee);
    cr_assert_eq(availability("a1", AGENT_ONLINE).code, 0);
    cr_expect_str_eq(ticket(t1)->assignee, "a1");
    cr_expect_str_eq(ticket(t2)->assignee, "a1");
}

static void setup_keep_on_offline(void)
{
    char rules[1024];
    snprintf(rules, sizeof rules, "tickets: {reassign_on_offline: false}\n%s", article_rules);
    up(rules, 10);
}

Test(rules, offline_keeps_tickets_when_configured, .init = setup_keep_on_offline,
     .fini = teardown)
{
    int64_t t1 = open_ticket(1400, "invoice");
    cr_assert_eq(availability("a1", AGENT_OFFLINE).code, 0);
    cr_expect_str_eq(ticket(t1)->assignee, "a1");
}

/* ---- manual escalation, no-reply timers, reload ---------------------------------------- */

Test(rules, manual_escalation_builtin_and_refusals, .init = setup, .fini = teardown)
{
    int64_t id = open_ticket(1500, "hello");
    struct engine_event x = {.type = ENGINE_TICKET_ESCALATE, .ticket_id = id,
                             .actor = "api:t", .policy = "nope"};
    struct engine_result r = apply1(x);
    cr_expect_eq(r.code, ERR_UNPROCESSABLE);
    cr_expect_str_eq(r.err.field, "policy");
    x.policy = "urgent";
    r = apply1(x);
    cr_expect_eq(r.code, ERR_CONFLICT);
    cr_expect(strstr(r.err.msg, "escalation 'urgent' is not manual") != NULL, "%s", r.err.msg);
    cr_expect_eq(ticket(id)->priority, PRIORITY_NORMAL, "refusals change nothing");

    /* no manual policy configured: the built-in one, a level up */
    x.policy = NULL;
    x.reason = "customer is a journalist";
    r = apply1(x);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    struct ticket *t = ticket(id);
    cr_expect_str_eq(t->group, "level2");
    cr_expect_eq(t->priority, PRIORITY_HIGH);
    cr_expect_str_eq(t->assignee, "l2");
    cr_expect_str_eq(t->escalations[0], "manual");
    x.policy = "manual";
    cr_assert_eq(apply1(x).code, 0, "the built-in by name, again: priority up");
    cr_expect_eq(ticket(id)->priority, PRIORITY_URGENT);
    r = apply1(x);
    cr_expect_eq(r.code, ERR_CONFLICT, "top level, top priority");
    x.type = ENGINE_TICKET_ESCALATE;
    x.ticket_id = 4242;
    cr_expect_eq(apply1(x).code, ERR_NOTFOUND);
}

static void setup_manual(void)
{
    up("escalation:\n"
       "  - {name: level-up, manual: true, raise_priority: true, next_level: true,"
       " notify: true}\n"
       "  - {name: silence, no_reply: 3m, reassign: true, strategy: least_loaded}\n", 10);
}

Test(rules, manual_escalation_applies_and_may_repeat, .init = setup_manual, .fini = teardown)
{
    int64_t id = open_ticket(1600, "hello");
    struct engine_event x = {.type = ENGINE_TICKET_ESCALATE, .ticket_id = id,
                             .actor = "agent:a3", .reason = "angry"};
    struct engine_result r = apply1(x);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    struct ticket *t = ticket(id);
    cr_expect_str_eq(t->group, "level2");
    cr_expect_eq(t->priority, PRIORITY_HIGH);
    cr_expect_str_eq(t->assignee, "l2");
    struct thread_entry *e = entry(id, "escalated", 0);
    cr_assert_not_null(e);
    cr_expect_str_eq(e->author_id, "agent:a3");
    cr_expect(strstr(data_of(e, "reason"), "manual escalation by agent:a3: angry") != NULL, "%s",
              data_of(e, "reason"));
    /* again: the top level, but the priority can still rise */
    r = apply1(x);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect_eq(ticket(id)->priority, PRIORITY_URGENT);
    r = apply1(x);
    cr_expect_eq(r.code, ERR_CONFLICT, "nothing left to change");
    cr_expect(strstr(r.err.msg, "nothing to escalate") != NULL, "%s", r.err.msg);
}

Test(rules, no_reply_timer_escalates_at_its_time, .init = setup_manual, .fini = teardown)
{
    int64_t id = open_ticket(1700, "hello");
    cr_assert_eq(apply1((struct engine_event){.type = ENGINE_TICKET_UPDATE, .ticket_id = id,
                                              .set_assignee = true, .assignee = "a3",
                                              .actor = "t"}).code, 0);
    cr_expect_eq(timer_of(id, "escalate"), T0 + 3 * MIN);
    tick_at(T0 + 3 * MIN - 1);
    cr_expect_eq(events("ticket.escalated", id, NULL), 0);
    tick_at(T0 + 3 * MIN);
    struct event_row *ev;
    cr_assert_eq(events("ticket.escalated", id, &ev), 1);
    json_t *d = data_json(&ev[0]);
    cr_expect_str_eq(json_string_value(json_object_get(d, "trigger")), "no_reply");
    cr_expect_str_eq(json_string_value(json_object_get(d, "assignee_from")), "a3");
    json_decref(d);
    cr_expect_neq(strcmp(ticket(id)->assignee, "a3"), 0, "another agent");
    cr_expect_eq(timer_of(id, "escalate"), 0, "applied: not due again");
    /* an agent reply ends the wait; a new message starts the clock again, but
     * the policy was applied already */
    cr_assert_eq(reply(id, ticket(id)->assignee, "sorry").code, 0);
    clock_manual_advance(K, MIN);
    apply1(customer_msg(1700, "thanks"));
    cr_expect_eq(timer_of(id, "escalate"), 0);
}

Test(rules, reload_compiles_the_new_rules, .init = setup, .fini = teardown)
{
    int64_t before = open_ticket(1800, "refund please");
    cr_expect_str_eq(ticket(before)->group, "general");
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "store: {path: %s/t.db}\n", F.dir);
    size_t len = strlen(yaml);
    snprintf(yaml + len, sizeof yaml - len, base_yaml, 10, 10,
             "routing:\n  - {name: refunds, keywords: [refund], group: billing,"
             " strategy: least_loaded}\n");
    struct cfg *nc = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("reload.yaml", yaml, strlen(yaml), &nc, &e), 0, "%s", e.msg);
    engine_set_cfg(E, nc);
    cfg_unref(&nc);
    int64_t after = open_ticket(1801, "refund please");
    struct ticket *t = ticket(after);
    cr_expect_str_eq(t->group, "billing");
    cr_expect_str_eq(t->rule, "refunds");
    cr_expect_str_eq(t->strategy, "least_loaded");
}
