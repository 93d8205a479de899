/*
 * test_engine.c — the single writer against a real temporary SQLite store,
 * with the manual clock: what one event writes, batches, savepoints,
 * duplicate Telegram updates, reopen policies and the threaded submit path.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "engine/engine.h"
#include "store/store.h"
#include "common/engine_fixture.h"

static struct fixture F;
/* short names for the fixture's members */
static struct cfg *C;
static struct clock *K;
static struct engine *E;
static struct store *R;      /* a reader for assertions */
static struct arena *A;

static const char *yaml_fmt =
    "http: {api_tokens: [{name: t, token: engine-test-token-123456}]}\n"
    "tickets: {on_closed: %s}\n"
    "groups: [{name: general}, {name: billing}]\n"
    "agents:\n"
    "  - {id: alice, name: Alice, telegram_user_id: 11, groups: [general, billing]}\n"
    "  - {id: bob, telegram_user_id: 12, groups: [general], availability: offline}\n";

static void setup_policy(const char *on_closed)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, yaml_fmt, on_closed);
    fixture_open(&F, 1767600000000LL, yaml);     /* 2026-01-05T08:00:00Z */
    C = F.cfg;
    K = F.clock;
    E = F.engine;
    R = F.reader;
    A = F.arena;
}

static void setup(void) { setup_policy("reopen"); }
static void setup_new_ticket(void) { setup_policy("new_ticket"); }

static void teardown(void)
{
    F.engine = E;            /* a test may have restarted it */
    fixture_close(&F);
}

static struct engine_event customer_msg(int64_t user, const char *text)
{
    return fixture_customer(user, text);
}

static struct engine_result apply1(struct engine_event ev)
{
    F.engine = E;
    return fixture_apply(&F, ev);
}

static struct ticket *ticket(int64_t id)
{
    struct ticket *t = NULL;
    struct err e = {0};
    cr_assert_eq(store_ticket_get(R, id, A, &t, &e), 0, "%s", e.msg);
    return t;
}

static size_t thread_of(int64_t id, struct thread_entry **out)
{
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_thread_list(R, id, A, out, &n, &e), 0, "%s", e.msg);
    return n;
}

static int64_t count_events(const char *type)
{
    struct event_row *evs = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_event_list(R, 0, 10000, A, &evs, &n, &e), 0, "%s", e.msg);
    int64_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(evs[i].type, type) == 0)
            c++;
    return c;
}

Test(engine, first_message_opens_a_ticket, .init = setup, .fini = teardown)
{
    struct engine_result res = apply1(customer_msg(501, "Billing problem\nsecond line"));
    cr_assert_eq(res.code, 0, "%s", res.err.msg);
    cr_assert(res.created);
    struct ticket *t = ticket(res.ticket_id);
    cr_expect_eq(t->status, TICKET_OPEN);
    cr_expect_str_eq(t->group, "general");
    cr_expect_str_eq(t->subject, "Billing problem");
    cr_expect_eq(t->created_at, 1767600000000LL);
    cr_expect_eq(t->first_response_at, 0);
    struct thread_entry *th;
    size_t n = thread_of(t->id, &th);
    cr_assert_eq(n, 2);
    cr_expect_eq(th[0].seq, 1);
    cr_expect_eq(th[0].kind, THREAD_MESSAGE);
    cr_expect_eq(th[0].dir, DIR_INBOUND);
    cr_expect_str_eq(th[0].text, "Billing problem\nsecond line");
    cr_expect_str_eq(th[1].event, "queued");
    cr_expect_eq(count_events("ticket.created"), 1);
    cr_expect_eq(count_events("message.created"), 1);
}

Test(engine, follow_ups_append_in_order, .init = setup, .fini = teardown)
{
    struct engine_event evs[3] = {customer_msg(502, "one"), customer_msg(502, "two"),
                                  customer_msg(502, "three")};
    struct engine_result res[3];
    struct err e = {0};
    cr_assert_eq(engine_apply_batch(E, evs, res, 3, &e), 0);
    cr_expect(res[0].created);
    cr_expect_not(res[1].created);
    cr_expect_eq(res[1].ticket_id, res[0].ticket_id, "one burst, one ticket");
    cr_expect_eq(res[2].ticket_id, res[0].ticket_id);
    struct thread_entry *th;
    size_t n = thread_of(res[0].ticket_id, &th);
    cr_assert_eq(n, 4);
    cr_expect_str_eq(th[0].text, "one");
    cr_expect_str_eq(th[2].text, "two");
    cr_expect_str_eq(th[3].text, "three");
}

Test(engine, refused_event_undoes_only_itself, .init = setup, .fini = teardown)
{
    struct engine_event bad = customer_msg(503, "");
    struct engine_event evs[3] = {customer_msg(503, "ok 1"), bad, customer_msg(504, "ok 2")};
    struct engine_result res[3];
    struct err e = {0};
    cr_assert_eq(engine_apply_batch(E, evs, res, 3, &e), 0);
    cr_expect_eq(res[0].code, 0);
    cr_expect_eq(res[1].code, ERR_INVAL);
    cr_expect_str_eq(res[1].err.field, "text");
    cr_expect_eq(res[2].code, 0);
    int64_t by[TICKET_STATUS_COUNT];
    cr_assert_eq(store_ticket_count_by_status(R, by, &e), 0);
    cr_expect_eq(by[TICKET_OPEN], 2);
    struct thread_entry *th;
    cr_expect_eq(thread_of(res[0].ticket_id, &th), 2, "the refused empty message left no entry");
}

Test(engine, telegram_update_applied_once, .init = setup, .fini = teardown)
{
    struct engine_event ev = customer_msg(505, "hello");
    ev.update_id = 1000;
    cr_expect_eq(apply1(ev).code, 0);
    struct engine_result again = apply1(ev);
    cr_expect(again.duplicate, "a replayed update is recognised");
    ev.update_id = 999;
    cr_expect(apply1(ev).duplicate, "an older update is recognised too");
    struct thread_entry *th;
    cr_expect_eq(thread_of(1, &th), 2);
    const char *v = NULL;
    struct err e = {0};
    cr_assert_eq(store_meta_get(R, "telegram.last_update_id", A, &v, &e), 0);
    cr_expect_str_eq(v, "1000");

    /* The offset survives a restart of the engine. */
    engine_free(&E);
    struct store *w = NULL;
    cr_assert_eq(store_open(&C->store, STORE_RW, &w, &e), 0);
    cr_assert_eq(engine_new(C, w, K, &E, &e), 0);
    ev.update_id = 1000;
    cr_expect(apply1(ev).duplicate);
}

Test(engine, agent_reply_is_first_response_and_goes_to_outbox, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(506, "help")).ticket_id;
    clock_manual_advance(K, 61500);
    struct engine_event r = {.type = ENGINE_AGENT_REPLY, .ticket_id = id, .agent_id = "alice",
                             .text = "On it"};
    struct engine_result res = apply1(r);
    cr_assert_eq(res.code, 0, "%s", res.err.msg);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->status, TICKET_IN_PROGRESS);
    cr_expect_eq(t->first_response_at - t->created_at, 61500);
    cr_expect_str_eq(t->assignee, "alice");
    int64_t pending = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_count(R, "pending", &pending, &e), 0);
    cr_expect_eq(pending, 1);
    cr_expect_eq(count_events("ticket.assigned"), 1);
    cr_expect_eq(count_events("ticket.updated"), 1);

    clock_manual_advance(K, 1000);
    res = apply1(r);
    t = ticket(id);
    cr_expect_eq(t->first_response_at - t->created_at, 61500, "only the first reply counts");
    cr_expect_eq(t->last_agent_msg_at - t->created_at, 62500);
}

Test(engine, reply_by_unknown_agent_or_to_missing_ticket, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(507, "help")).ticket_id;
    struct engine_event r = {.type = ENGINE_AGENT_REPLY, .ticket_id = id, .agent_id = "zed",
                             .text = "hi"};
    struct engine_result res = apply1(r);
    cr_expect_eq(res.code, ERR_UNPROCESSABLE);
    cr_expect_str_eq(res.err.msg, "unknown agent 'zed'");
    r.agent_id = "alice";
    r.ticket_id = 4242;
    res = apply1(r);
    cr_expect_eq(res.code, ERR_NOTFOUND);
    cr_expect_str_eq(res.err.msg, "ticket 4242 not found");
}

Test(engine, notes_are_internal, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(508, "help")).ticket_id;
    struct engine_event n = {.type = ENGINE_AGENT_NOTE, .ticket_id = id, .agent_id = "bob",
                             .text = "internal"};
    cr_assert_eq(apply1(n).code, 0);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->first_response_at, 0);
    cr_expect_eq(t->status, TICKET_OPEN);
    int64_t pending = 0;
    struct err e = {0};
    store_tg_outbox_count(R, "pending", &pending, &e);
    cr_expect_eq(pending, 0, "a note is never sent to the customer");
}

static struct engine_result set_status(int64_t id, enum ticket_status s)
{
    struct engine_event u = {.type = ENGINE_TICKET_UPDATE, .ticket_id = id, .set_status = true,
                             .status = s, .actor = "test"};
    return apply1(u);
}

Test(engine, status_timestamps_and_illegal_moves, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(509, "help")).ticket_id;
    struct engine_result r = set_status(id, TICKET_RESOLVED);
    cr_expect_eq(r.code, ERR_CONFLICT);
    cr_expect(strstr(r.err.msg, "open -> resolved") != NULL, "%s", r.err.msg);
    cr_expect_eq(set_status(id, TICKET_IN_PROGRESS).code, 0);
    clock_manual_advance(K, 600000);
    cr_expect_eq(set_status(id, TICKET_RESOLVED).code, 0);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->resolved_at - t->created_at, 600000);
    cr_expect_eq(count_events("ticket.resolved"), 1);
    cr_expect_eq(set_status(id, TICKET_CLOSED).code, 0);
    t = ticket(id);
    cr_expect_neq(t->closed_at, 0);
    cr_expect_eq(set_status(id, TICKET_OPEN).code, ERR_CONFLICT);
}

Test(engine, resolved_ticket_reopens_on_customer_message, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(510, "help")).ticket_id;
    set_status(id, TICKET_IN_PROGRESS);
    set_status(id, TICKET_RESOLVED);
    struct engine_result r = apply1(customer_msg(510, "still broken"));
    cr_expect(r.reopened);
    cr_expect_eq(r.ticket_id, id);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->status, TICKET_OPEN);
    cr_expect_eq(t->reopen_count, 1);
    cr_expect_eq(t->resolved_at, 0);
}

Test(engine, closed_ticket_policy_new_ticket, .init = setup_new_ticket, .fini = teardown)
{
    int64_t id = apply1(customer_msg(511, "help")).ticket_id;
    set_status(id, TICKET_IN_PROGRESS);
    set_status(id, TICKET_RESOLVED);
    set_status(id, TICKET_CLOSED);
    struct engine_result r = apply1(customer_msg(511, "new question"));
    cr_expect(r.created);
    cr_expect_neq(r.ticket_id, id);
    cr_expect_eq(ticket(id)->status, TICKET_CLOSED, "the closed ticket stays closed");
}

Test(engine, update_validates_before_changing, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(512, "help")).ticket_id;
    struct engine_event u = {.type = ENGINE_TICKET_UPDATE, .ticket_id = id, .set_priority = true,
                             .priority = PRIORITY_URGENT, .set_group = true, .group = "nowhere"};
    struct engine_result r = apply1(u);
    cr_expect_eq(r.code, ERR_UNPROCESSABLE);
    cr_expect_eq(ticket(id)->priority, PRIORITY_NORMAL, "nothing of a refused update sticks");
    u.group = "billing";
    u.set_assignee = true;
    u.assignee = "bob";
    r = apply1(u);
    cr_expect_eq(r.code, ERR_UNPROCESSABLE, "bob does not serve billing");
    u.assignee = "alice";
    r = apply1(u);
    cr_expect_eq(r.code, 0, "%s", r.err.msg);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->priority, PRIORITY_URGENT);
    cr_expect_str_eq(t->group, "billing");
    cr_expect_str_eq(t->assignee, "alice");
}

Test(engine, availability_is_stored, .init = setup, .fini = teardown)
{
    struct agent_state *st = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_agent_state_list(R, A, &st, &n, &e), 0);
    cr_assert_eq(n, 2, "agents seeded from config");
    struct engine_event ev = {.type = ENGINE_AGENT_AVAILABILITY, .agent_id = "bob",
                              .availability = AGENT_ONLINE};
    cr_assert_eq(apply1(ev).code, 0);
    cr_assert_eq(store_agent_state_list(R, A, &st, &n, &e), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].agent_id, "bob") == 0)
            cr_expect_eq(st[i].availability, AGENT_ONLINE);
    ev.agent_id = "nobody";
    cr_expect_eq(apply1(ev).code, ERR_UNPROCESSABLE);
}

struct submitter {
    int64_t base;
    int ok;
};

static void *submit_many(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < 50; i++) {
        struct engine_event ev = customer_msg(s->base + i, "threaded");
        struct engine_result res;
        if (engine_submit(E, &ev, &res) == 0 && res.created)
            s->ok++;
    }
    return NULL;
}

Test(engine, threaded_submit_from_many_threads, .init = setup, .fini = teardown)
{
    struct err e = {0};
    cr_assert_eq(engine_start(E, &e), 0);
    struct submitter s[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct submitter){.base = 10000 + i * 1000};
        pthread_create(&th[i], NULL, submit_many, &s[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(s[i].ok, 50);
    }
    struct engine_stats st;
    engine_get_stats(E, &st);
    cr_expect_eq(st.events_applied, 200);
    cr_expect_eq(st.tickets_created, 200);
    engine_stop(E);
    struct engine_event ev = customer_msg(1, "late");
    struct engine_result res;
    cr_expect_eq(engine_submit(E, &ev, &res), ERR_BUSY, "no submits after stop");
}

/* ---- idempotency keys (inbound webhooks) ------------------------------------------ */

Test(engine, idem_key_applies_once_and_answers_like_the_first_time, .init = setup,
     .fini = teardown)
{
    int64_t id = apply1(customer_msg(520, "help")).ticket_id;
    struct engine_event r = {.type = ENGINE_AGENT_REPLY, .ticket_id = id, .agent_id = "alice",
                             .text = "fixed", .idem_key = "inbound:helpdesk:msg_1"};
    struct engine_result first = apply1(r);
    cr_assert_eq(first.code, 0, "%s", first.err.msg);
    cr_expect_not(first.duplicate);
    struct thread_entry *th;
    size_t len = thread_of(id, &th);

    clock_manual_advance(K, 60000);
    struct engine_result again = apply1(r);
    cr_expect_eq(again.code, 0);
    cr_expect(again.duplicate);
    cr_expect_eq(again.ticket_id, first.ticket_id);
    cr_expect_eq(again.thread_seq, first.thread_seq);
    cr_expect_eq(thread_of(id, &th), len, "the replay wrote nothing");
    int64_t pending = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_count(R, "pending", &pending, &e), 0);
    cr_expect_eq(pending, 1, "the customer gets the reply once");
    cr_expect_eq(count_events("message.created"), 2, "the customer's and the reply");

    /* the key is in the store, committed with the reply */
    int status = -1;
    const char *body = NULL;
    cr_assert_eq(store_idem_get(R, "inbound:helpdesk:msg_1", A, &status, &body, &e), 0, "%s",
                 e.msg);
    cr_expect_eq(status, 0);
    cr_expect_not_null(strstr(body, "\"thread_seq\":"));

    /* another key is another request */
    r.idem_key = "inbound:helpdesk:msg_2";
    struct engine_result other = apply1(r);
    cr_expect_not(other.duplicate);
    cr_expect_gt(other.thread_seq, first.thread_seq);
}

Test(engine, idem_key_twice_in_one_batch, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(521, "help")).ticket_id;
    struct thread_entry *th;
    size_t len = thread_of(id, &th);
    struct engine_event n = {.type = ENGINE_AGENT_NOTE, .ticket_id = id, .agent_id = "bob",
                             .text = "note", .idem_key = "k"};
    struct engine_event evs[2] = {n, n};
    struct engine_result res[2];
    struct err e = {0};
    cr_assert_eq(engine_apply_batch(E, evs, res, 2, &e), 0, "%s", e.msg);
    cr_expect_eq(res[0].code, 0);
    cr_expect_not(res[0].duplicate);
    cr_expect(res[1].duplicate);
    cr_expect_eq(res[1].thread_seq, res[0].thread_seq);
    cr_expect_eq(thread_of(id, &th), len + 1, "one note");
}

Test(engine, refused_event_records_no_key, .init = setup, .fini = teardown)
{
    int64_t id = apply1(customer_msg(522, "help")).ticket_id;
    struct engine_event u = {.type = ENGINE_TICKET_UPDATE, .ticket_id = id, .set_status = true,
                             .status = TICKET_RESOLVED, .actor = "inbound:helpdesk",
                             .idem_key = "inbound:helpdesk:msg_9"};
    struct engine_result res = apply1(u);
    cr_expect_eq(res.code, ERR_CONFLICT, "open → resolved is not a transition");
    int status = 0;
    const char *body = NULL;
    struct err e = {0};
    cr_expect_eq(store_idem_get(R, "inbound:helpdesk:msg_9", A, &status, &body, &e),
                 ERR_NOTFOUND);

    /* once the ticket is in progress the same request is legal and applies */
    cr_assert_eq(set_status(id, TICKET_IN_PROGRESS).code, 0);
    res = apply1(u);
    cr_expect_eq(res.code, 0, "%s", res.err.msg);
    cr_expect_not(res.duplicate);
    cr_expect_eq(ticket(id)->status, TICKET_RESOLVED);
    cr_expect(apply1(u).duplicate);
}

/* The test clock submits ENGINE_TIMERS_DUE on every move: with no timer due
 * that must not cost a transaction (a commit wakes every reader of the
 * outbox and the event log), and with one due it must still apply it. */
Test(engine, a_tick_with_nothing_due_commits_nothing, .init = setup, .fini = teardown)
{
    struct engine_stats before, after;
    struct engine_event tick = {.type = ENGINE_TIMERS_DUE};
    struct engine_result res;
    struct err e = {0};
    engine_get_stats(E, &before);
    cr_assert_eq(engine_apply_batch(E, &tick, &res, 1, &e), 0, "%s", e.msg);
    engine_get_stats(E, &after);
    cr_expect_eq(after.batches, before.batches, "an empty tick committed");
    cr_expect_eq(res.code, 0);

    /* a tick in the same batch as a real event: the batch commits as usual */
    struct engine_event evs[2] = {tick, customer_msg(901, "hello")};
    struct engine_result rs[2];
    engine_get_stats(E, &before);
    cr_assert_eq(engine_apply_batch(E, evs, rs, 2, &e), 0, "%s", e.msg);
    engine_get_stats(E, &after);
    cr_expect_eq(after.batches, before.batches + 1);
    cr_expect_eq(rs[1].code, 0);
    cr_expect(rs[1].created);
}

/* message.created carries the thread entry's seq next to the ticket's
 * snapshot (written as text, without jansson); events with other members
 * (ticket.assigned: its actor) keep them beside the snapshot too. */
Test(engine, event_data_holds_its_members_and_the_snapshot, .init = setup, .fini = teardown)
{
    struct engine_result res = apply1(customer_msg(901, "hello"));
    cr_assert_eq(res.code, 0);
    struct event_row *evs = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_event_list(R, 0, 10000, A, &evs, &n, &e), 0, "%s", e.msg);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *d = json_loads(evs[i].data, 0, &je);
        cr_assert_not_null(d, "%s: %s", evs[i].type, evs[i].data);
        json_t *tk = json_object_get(d, "ticket");
        cr_expect_eq(json_integer_value(json_object_get(tk, "id")), res.ticket_id);
        cr_expect(json_is_integer(json_object_get(d, "thread_seq")));
        if (strcmp(evs[i].type, "message.created") == 0) {
            cr_expect_eq(json_integer_value(json_object_get(d, "message_seq")), res.thread_seq);
            cr_expect_eq(json_object_size(d), 3, "%s", evs[i].data);
            seen++;
        }
        json_decref(d);
    }
    cr_expect_eq(seen, 1);
}

/* A batch is applied without savepoints first; a refusal sends it back to
 * its start, rolled back, to be applied again with one savepoint per event.
 * Nothing of the first pass may survive into the second: each message
 * once, the refused event's neighbours applied, the offset moved. */
Test(engine, a_refusal_reapplies_the_batch_once_and_carefully, .init = setup, .fini = teardown)
{
    struct engine_event evs[4] = {customer_msg(801, "first"), customer_msg(801, "second"),
                                  customer_msg(802, ""), customer_msg(803, "third")};
    for (int i = 0; i < 4; i++)
        evs[i].update_id = 10 + i;
    struct engine_result res[4];
    struct engine_stats before, after;
    struct err e = {0};
    engine_get_stats(E, &before);
    cr_assert_eq(engine_apply_batch(E, evs, res, 4, &e), 0, "%s", e.msg);
    engine_get_stats(E, &after);
    cr_expect_eq(after.batches, before.batches + 1);
    cr_expect_eq(after.events_applied - before.events_applied, 3);
    cr_expect_eq(after.events_refused - before.events_refused, 1);
    cr_expect(res[0].created);
    cr_expect_not(res[1].created);
    cr_expect_eq(res[1].ticket_id, res[0].ticket_id);
    cr_expect_eq(res[2].code, ERR_INVAL);
    cr_expect_str_eq(res[2].err.field, "text");
    cr_expect_eq(res[2].ticket_id, 0);
    cr_expect(res[3].created);
    cr_expect_neq(res[3].ticket_id, res[0].ticket_id);
    cr_expect_eq(engine_last_update_id(E), 13);
    int64_t by[TICKET_STATUS_COUNT];
    cr_assert_eq(store_ticket_count_by_status(R, by, &e), 0);
    cr_expect_eq(by[TICKET_OPEN], 2);
    struct thread_entry *th;
    size_t n = thread_of(res[0].ticket_id, &th);
    size_t messages = 0;
    for (size_t i = 0; i < n; i++)
        messages += th[i].kind == THREAD_MESSAGE;
    cr_expect_eq(messages, 2, "each message once in the thread");
    cr_expect_eq(count_events("ticket.created"), 2);
    cr_expect_eq(count_events("message.created"), 3);
}

/* ---- streams (engine_stream_*: a getUpdates page handed over as it is parsed) ---- */

/* A reader sees nothing of a stream until its end (one transaction), then
 * all of it; a refused event undoes only itself, as in any batch. */
Test(engine, a_stream_is_one_batch_applied_as_it_arrives, .init = setup, .fini = teardown)
{
    struct err e = {0};
    cr_assert_eq(engine_start(E, &e), 0, "%s", e.msg);
    struct engine_event evs[4];
    struct engine_result res[4];
    struct engine_stats before, after;
    engine_get_stats(E, &before);
    struct engine_stream *st = NULL;
    cr_assert_eq(engine_stream_begin(E, evs, res, 3, &st), 0);
    evs[0] = customer_msg(701, "first");
    evs[0].update_id = 50;
    cr_expect_eq(engine_stream_push(st), 0);
    evs[1] = customer_msg(702, "");               /* refused: undoes only itself */
    evs[1].update_id = 51;
    cr_expect_eq(engine_stream_push(st), 0);
    usleep(20 * 1000);
    int64_t by[TICKET_STATUS_COUNT];
    cr_assert_eq(store_ticket_count_by_status(R, by, &e), 0);
    cr_expect_eq(by[TICKET_OPEN], 0, "committed only at the end");
    evs[2] = customer_msg(703, "third");
    evs[2].update_id = 52;
    cr_expect_eq(engine_stream_push(st), 0);
    evs[3] = customer_msg(704, "over the cap");
    cr_expect_eq(engine_stream_push(st), ERR_INVAL, "a fourth event does not fit");
    cr_expect_eq(engine_stream_end(&st, false), ERR_INVAL, "the first non-zero code");
    cr_expect_null(st);
    cr_expect_eq(res[0].code, 0);
    cr_expect(res[0].created);
    cr_expect_eq(res[1].code, ERR_INVAL);
    cr_expect_eq(res[2].code, 0);
    engine_get_stats(E, &after);
    cr_expect_eq(after.batches, before.batches + 1, "one transaction");
    cr_expect_eq(engine_last_update_id(E), 52);
    cr_assert_eq(store_ticket_count_by_status(R, by, &e), 0);
    cr_expect_eq(by[TICKET_OPEN], 2);
}

Test(engine, an_abandoned_stream_leaves_nothing, .init = setup, .fini = teardown)
{
    struct err e = {0};
    cr_assert_eq(engine_start(E, &e), 0, "%s", e.msg);
    struct engine_event evs[2];
    struct engine_result res[2];
    struct engine_stream *st = NULL;
    cr_assert_eq(engine_stream_begin(E, evs, res, 2, &st), 0);
    evs[0] = customer_msg(711, "applied, then undone");
    evs[0].update_id = 60;
    cr_expect_eq(engine_stream_push(st), 0);
    usleep(20 * 1000);
    cr_expect_eq(engine_stream_end(&st, true), 0);
    int64_t by[TICKET_STATUS_COUNT];
    cr_assert_eq(store_ticket_count_by_status(R, by, &e), 0);
    cr_expect_eq(by[TICKET_OPEN], 0);
    cr_expect_eq(engine_last_update_id(E), 0, "the offset did not move");
    cr_expect_eq(count_events("ticket.created"), 0);

    /* the engine goes on as before; a stream cannot begin once it stopped */
    struct engine_event ev = customer_msg(712, "after");
    struct engine_result r1;
    cr_expect_eq(engine_submit(E, &ev, &r1), 0);
    engine_stop(E);
    cr_expect_eq(engine_stream_begin(E, evs, res, 2, &st), ERR_BUSY);
    cr_expect_null(st);
}
