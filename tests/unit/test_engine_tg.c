/*
 * test_engine_tg.c — what the engine does on the Telegram side: topics for
 * new tickets, copies into topics, agents' topic messages and commands,
 * outbox results (topic created, blocked, thread lost), edits, /start, and
 * long replies split for Telegram. Real temporary SQLite store, manual clock.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "engine/engine.h"
#include "store/store.h"
#include "common/engine_fixture.h"

#define STAFF (-1001000000001LL)
#define CUST 777

static struct fixture F;
static struct clock *K;
static struct engine *E;
static struct store *R;
static struct arena *A;

static void setup(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "telegram: {token: '123:abc', staff_group_id: %lld}\n"
             "http: {api_tokens: [{name: t, token: engine-test-token-123456}]}\n"
             "groups: [{name: general}, {name: level2, level: 2}]\n"
             "agents:\n"
             "  - {id: alice, name: Alice, telegram_user_id: 11, groups: [general]}\n"
             "  - {id: bob, telegram_user_id: 12, groups: [general]}\n"
             "  - {id: lena, telegram_user_id: 13, username: lena, groups: [level2]}\n",
             (long long)STAFF);
    fixture_open(&F, 1767600000000LL, yaml);
    K = F.clock;
    E = F.engine;
    R = F.reader;
    A = F.arena;
}

static void teardown(void)
{
    fixture_close(&F);
}

static struct engine_result apply1(struct engine_event ev)
{
    return fixture_apply(&F, ev);
}

static struct engine_result customer(const char *text, int64_t msg_id)
{
    struct engine_event ev = {.type = ENGINE_CUSTOMER_MESSAGE, .text = text,
                              .tg_chat_id = CUST, .tg_message_id = msg_id};
    ev.customer.tg_user_id = CUST;
    ev.customer.first_name = "Ann";
    return apply1(ev);
}

static struct engine_result staff(int64_t from, int64_t topic, const char *text)
{
    static int64_t mid = 5000;
    struct engine_event ev = {.type = ENGINE_STAFF_MESSAGE, .text = text, .topic_id = topic,
                              .tg_chat_id = STAFF, .tg_message_id = ++mid};
    ev.customer.tg_user_id = from;
    return apply1(ev);
}

static struct engine_result outcome(int64_t row, enum engine_outbox_outcome o, int64_t topic,
                                    const char *error)
{
    struct engine_event ev = {.type = ENGINE_OUTBOX_RESULT, .outbox_id = row, .outcome = o,
                              .topic_id = topic, .error = error};
    return apply1(ev);
}

static struct tg_outbox_row *row(int64_t id)
{
    struct tg_outbox_row *r = NULL;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_get(R, id, A, &r, &e), 0, "row %lld: %s", (long long)id, e.msg);
    return r;
}

static int64_t rows(void)
{
    int64_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_count(R, NULL, &n, &e), 0);
    return n;
}

static struct ticket *ticket(int64_t id)
{
    struct ticket *t = NULL;
    struct err e = {0};
    cr_assert_eq(store_ticket_get(R, id, A, &t, &e), 0, "%s", e.msg);
    return t;
}

/* Open a ticket and have its topic created as topic 900. */
static int64_t ticket_with_topic(void)
{
    struct engine_result r = customer("My invoice is wrong", 1);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_assert_eq(rows(), 2);
    cr_assert_str_eq(row(1)->method, "createForumTopic");
    cr_assert(strstr(row(1)->params, "Ann \xC2\xB7 #1") != NULL, "%s", row(1)->params);
    cr_assert_eq(row(1)->chat_id, STAFF);
    cr_assert_str_eq(row(2)->method, "copyMessage");
    cr_assert(strstr(row(2)->params, "\"message_thread_id\":\"$topic\"") != NULL, "%s", row(2)->params);
    cr_assert(strstr(row(2)->params, "\"from_chat_id\":777") != NULL);
    cr_assert_eq(outcome(1, OUTBOX_SENT, 900, NULL).code, 0);
    cr_assert_eq(ticket(r.ticket_id)->topic_id, 900);
    cr_assert_str_eq(row(1)->state, "sent");
    return r.ticket_id;
}

Test(engine_tg, new_ticket_gets_topic_and_copy, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    struct engine_result r = customer("second", 2);
    cr_expect_eq(r.ticket_id, id);
    cr_expect_eq(rows(), 3, "no second topic for a follow-up");
    cr_expect_str_eq(row(3)->method, "copyMessage");
}

Test(engine_tg, agent_text_in_topic_is_relayed, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    struct engine_result r = staff(11, 900, "Hello Ann, checking");
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect_not(r.ignored);
    struct tg_outbox_row *out = row(3);
    cr_expect_str_eq(out->method, "sendMessage");
    cr_expect_eq(out->chat_id, CUST);
    cr_expect(strstr(out->params, "Hello Ann, checking") != NULL);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->status, TICKET_IN_PROGRESS);
    cr_expect_str_eq(t->assignee, "alice");
    cr_expect_neq(t->first_response_at, 0);
    cr_expect_eq(rows(), 3, "a reply from the topic is not mirrored back into it");
}

Test(engine_tg, strangers_and_unknown_topics_are_ignored, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    struct engine_result r = staff(4242, 900, "I am not an agent");
    cr_expect(r.ignored);
    r = staff(11, 12345, "wrong topic");
    cr_expect(r.ignored);
    r = staff(11, 0, NULL);
    cr_expect(r.ignored, "offset-only updates do nothing");
    cr_expect_eq(rows(), 2);
    cr_expect_eq(ticket(id)->status, TICKET_OPEN);
}

Test(engine_tg, topic_commands, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    staff(11, 900, "on it");
    cr_assert_eq(staff(11, 900, "/hold").code, 0);
    cr_expect_eq(ticket(id)->status, TICKET_ON_HOLD);
    cr_assert_eq(staff(11, 900, "/status in_progress").code, 0);
    cr_expect_eq(ticket(id)->status, TICKET_IN_PROGRESS);

    int64_t before = rows();
    cr_assert_eq(staff(11, 900, "/status pending").code, 0);
    cr_expect_eq(ticket(id)->status, TICKET_IN_PROGRESS, "bad argument changes nothing");
    cr_expect_eq(rows(), before + 1);
    cr_expect(strstr(row(before + 1)->params, "Unknown command or bad argument: /status") != NULL,
              "%s", row(before + 1)->params);
    cr_expect(strstr(row(before + 1)->params, "$topic") != NULL, "the answer goes to the topic");

    cr_assert_eq(staff(11, 900, "/frobnicate").code, 0);
    cr_expect(strstr(row(rows())->params, "/frobnicate") != NULL);

    cr_assert_eq(staff(11, 900, "/assign zed").code, 0);
    cr_expect(strstr(row(rows())->params, "unknown agent 'zed'") != NULL, "%s", row(rows())->params);
    cr_assert_eq(staff(11, 900, "/assign bob").code, 0);
    cr_expect_str_eq(ticket(id)->assignee, "bob");

    before = rows();
    cr_assert_eq(staff(12, 900, "/note customer is VIP").code, 0);
    cr_expect_eq(rows(), before, "a note from the topic sends nothing");
    struct thread_entry *th = NULL;
    size_t n = 0;
    struct err e = {0};
    store_thread_list(R, id, A, &th, &n, &e);
    cr_expect_eq(th[n - 1].kind, THREAD_NOTE);
    cr_expect_str_eq(th[n - 1].text, "customer is VIP");

    cr_assert_eq(staff(11, 900, "/resolve").code, 0);
    cr_expect_eq(ticket(id)->status, TICKET_RESOLVED);
    cr_assert_eq(staff(11, 900, "/hold").code, 0);
    cr_expect_eq(ticket(id)->status, TICKET_RESOLVED);
    cr_expect(strstr(row(rows())->params, "illegal transition resolved -> on_hold") != NULL,
              "%s", row(rows())->params);
}

Test(engine_tg, escalate_moves_up_a_level, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    cr_assert_eq(staff(11, 900, "/escalate angry customer").code, 0);
    struct ticket *t = ticket(id);
    cr_expect_eq(t->priority, PRIORITY_HIGH);
    cr_expect_str_eq(t->group, "level2");
    cr_expect(strstr(row(rows())->params, "@lena") != NULL, "%s", row(rows())->params);
    struct event_row *evs = NULL;
    size_t n = 0;
    struct err e = {0};
    store_event_list(R, 0, 100, A, &evs, &n, &e);
    bool saw = false;
    for (size_t i = 0; i < n; i++)
        saw |= strcmp(evs[i].type, "ticket.escalated") == 0;
    cr_expect(saw);
}

Test(engine_tg, blocked_customer_is_marked_once, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    staff(11, 900, "hello");
    cr_assert_eq(outcome(3, OUTBOX_BLOCKED, 0, "Forbidden: bot was blocked by the user").code, 0);
    cr_expect_str_eq(row(3)->state, "failed");
    struct customer *c = NULL;
    struct err e = {0};
    store_customer_get_by_tg(R, CUST, A, &c, &e);
    cr_expect(c->blocked);
    staff(11, 900, "hello again");
    cr_assert_eq(outcome(4, OUTBOX_BLOCKED, 0, "Forbidden: bot was blocked by the user").code, 0);
    struct event_row *evs = NULL;
    size_t n = 0;
    store_event_list(R, 0, 100, A, &evs, &n, &e);
    int blocked = 0;
    for (size_t i = 0; i < n; i++)
        blocked += strcmp(evs[i].type, "customer.blocked") == 0;
    cr_expect_eq(blocked, 1);
    (void)id;
}

Test(engine_tg, deleted_topic_is_recreated_with_history, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    customer("more details", 2);                            /* row 3: copy */
    cr_assert_eq(outcome(3, OUTBOX_THREAD_LOST, 0, "Bad Request: message thread not found").code, 0);
    cr_expect_str_eq(row(3)->state, "pending", "the copy waits for the new topic");
    cr_expect_eq(ticket(id)->topic_id, 0);
    cr_expect_str_eq(row(4)->method, "createForumTopic");
    /* a second report about another row of the same lost topic does not recreate twice */
    cr_assert_eq(outcome(2, OUTBOX_THREAD_LOST, 0, "Bad Request: message thread not found").code, 0);
    cr_expect_eq(rows(), 4);
    cr_assert_eq(outcome(4, OUTBOX_SENT, 901, NULL).code, 0);
    cr_expect_eq(ticket(id)->topic_id, 901);
    cr_expect(strstr(row(5)->params, "recreated") != NULL, "%s", row(5)->params);
    cr_expect(strstr(row(5)->params, "more details") != NULL, "history is posted");
}

Test(engine_tg, retry_and_duplicate_reports, .init = setup, .fini = teardown)
{
    ticket_with_topic();
    struct engine_event ev = {.type = ENGINE_OUTBOX_RESULT, .outbox_id = 2, .outcome = OUTBOX_RETRY,
                              .retry_at = 1767600005000LL, .error = "Too Many Requests: retry after 5"};
    cr_assert_eq(apply1(ev).code, 0);
    cr_expect_str_eq(row(2)->state, "pending");
    cr_expect_eq(row(2)->attempts, 1);
    cr_expect_eq(row(2)->next_attempt_at, 1767600005000LL);
    cr_assert_eq(outcome(2, OUTBOX_SENT, 0, NULL).code, 0);
    cr_expect(outcome(2, OUTBOX_SENT, 0, NULL).ignored, "a second report is ignored");
    cr_expect_eq(outcome(999, OUTBOX_SENT, 0, NULL).code, ERR_NOTFOUND);
}

Test(engine_tg, start_greets_without_a_ticket, .init = setup, .fini = teardown)
{
    struct engine_result r = customer("/start", 1);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect_eq(r.ticket_id, 0);
    cr_expect_eq(rows(), 1);
    cr_expect_eq(row(1)->chat_id, CUST);
    int64_t by[TICKET_STATUS_COUNT];
    struct err e = {0};
    store_ticket_count_by_status(R, by, &e);
    cr_expect_eq(by[TICKET_OPEN], 0);
}

Test(engine_tg, edits_update_the_thread, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    clock_manual_advance(K, 5000);
    struct engine_event ev = {.type = ENGINE_CUSTOMER_EDIT, .text = "My invoice is WRONG",
                              .tg_chat_id = CUST, .tg_message_id = 1};
    ev.customer.tg_user_id = CUST;
    struct engine_result r = apply1(ev);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    struct thread_entry *th = NULL;
    size_t n = 0;
    struct err e = {0};
    store_thread_list(R, id, A, &th, &n, &e);
    cr_expect_str_eq(th[0].text, "My invoice is WRONG");
    cr_expect_eq(th[0].edited_at, 1767600005000LL);
    ev.tg_message_id = 99;
    cr_expect(apply1(ev).ignored, "an edit of an unknown message is ignored");
}

Test(engine_tg, long_replies_are_split_in_order, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic();
    size_t len = 10000;
    char *text = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        text[i] = (char)('a' + i % 26);
    text[len] = '\0';
    struct engine_event ev = {.type = ENGINE_AGENT_REPLY, .ticket_id = id, .agent_id = "alice",
                              .text = text};
    cr_assert_eq(apply1(ev).code, 0);
    /* to the customer: 3 parts; mirrored into the topic (API reply): 3 more */
    cr_expect_eq(rows(), 2 + 6, "rows %lld", (long long)rows());
    size_t total = 0;
    for (int64_t i = 3; i <= 5; i++) {
        cr_expect_eq(row(i)->chat_id, CUST);
        json_error_t je;
        json_t *p = json_loads(row(i)->params, 0, &je);
        size_t l = strlen(json_string_value(json_object_get(p, "text")));
        cr_expect_leq(l, 4096);
        cr_expect_eq(strncmp(json_string_value(json_object_get(p, "text")), text + total, l), 0,
                     "parts in order, nothing lost");
        total += l;
        json_decref(p);
    }
    cr_expect_eq(total, len);
    free(text);
}
