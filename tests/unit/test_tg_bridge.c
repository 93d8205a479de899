/*
 * test_tg_bridge.c — the outbox sender against the in-test Bot API stub and
 * a real engine on a temporary SQLite store with the manual clock: per-chat
 * order behind a retry, 429 pauses, outcomes reported, the "$topic"
 * placeholder (waiting, createForumTopic first, a lost topic), the rows it
 * holds in memory (a window refilled from the tail), idleness, stopping.
 *
 * Rows are written on a second read-write connection (as the engine would),
 * so each test controls exactly what is pending.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "common/tg_stub.h"
#include "engine/engine.h"
#include "store/store.h"
#include "telegram/tg_bridge.h"

#define STAFF (-100500LL)

static char dir[64];
static struct tg_stub *S;
static struct cfg *C;
static struct clock *K;
static struct engine *E;
static struct store *W;      /* a second writer for the test's rows */
static struct store *R;
static struct arena *A;
static struct tg_bridge *B;

static void setup(void)
{
    log_setup(2, LOG_ERROR, LOG_AUTO);
    S = tg_stub_start();
    cr_assert_not_null(S);
    snprintf(dir, sizeof dir, "/tmp/tgcrm-bridge-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "store: {path: %s/t.db}\n"
             "telegram: {token: '123:bridge-test', api_base: '%s', staff_group_id: %lld}\n"
             "http: {api_tokens: [{name: t, token: bridge-test-token-123456}]}\n"
             "groups: [{name: general}]\n"
             "agents:\n"
             "  - {id: alice, name: Alice, telegram_user_id: 11, groups: [general]}\n",
             dir, tg_stub_base(S), (long long)STAFF);
    struct err e = {0};
    cr_assert_eq(cfg_load_string("bridge-test.yaml", yaml, strlen(yaml), &C, &e), 0, "%s", e.msg);
    K = clock_manual_new(1767600000000LL);
    struct store *w = NULL;
    cr_assert_eq(store_open(&C->store, STORE_RW, &w, &e), 0, "%s", e.msg);
    cr_assert_eq(engine_new(C, w, K, &E, &e), 0, "%s", e.msg);
    cr_assert_eq(engine_start(E, &e), 0, "%s", e.msg);
    cr_assert_eq(store_open(&C->store, STORE_RW, &W, &e), 0, "%s", e.msg);
    cr_assert_eq(store_open(&C->store, STORE_RO, &R, &e), 0, "%s", e.msg);
    A = arena_new(0);
}

static void start_bridge_lim(const struct tg_bridge_limits *lim)
{
    struct err e = {0};
    cr_assert_eq(tg_bridge_new(C, E, lim, &B, &e), 0, "%s", e.msg);
    cr_assert_eq(tg_bridge_start(B, &e), 0, "%s", e.msg);
}

static void start_bridge(int64_t private_burst)
{
    struct tg_bridge_limits lim = {.private_burst = private_burst, .poll_ms = 20};
    start_bridge_lim(&lim);
}

static void teardown(void)
{
    tg_bridge_free(&B);
    engine_free(&E);
    store_close(&W);
    store_close(&R);
    cfg_unref(&C);
    clock_free(&K);
    arena_free(&A);
    tg_stub_free(&S);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(tg_bridge, .init = setup, .fini = teardown);

static int64_t push_row(int64_t chat, int64_t ticket, const char *method, const char *params)
{
    struct tg_outbox_row r = {.chat_id = chat, .ticket_id = ticket, .method = method,
                              .params = params, .next_attempt_at = clock_now_ms(K),
                              .created_at = clock_now_ms(K)};
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_push(W, &r, &e), 0, "%s", e.msg);
    return r.id;
}

static int64_t send_row(int64_t chat, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "{\"chat_id\":%lld,\"text\":\"%s\"}", (long long)chat, text);
    return push_row(chat, 0, "sendMessage", p);
}

static int64_t add_ticket(int64_t tg_user, int64_t topic)
{
    struct err e = {0};
    struct customer c = {.tg_user_id = tg_user, .first_name = "Bob", .tier = "standard",
                         .created_at = 1};
    cr_assert_eq(store_customer_insert(W, &c, &e), 0, "%s", e.msg);
    struct ticket t = {.customer_id = c.id, .status = TICKET_OPEN, .priority = PRIORITY_NORMAL,
                       .group = "general", .subject = "help", .topic_id = topic,
                       .created_at = 1, .updated_at = 1};
    cr_assert_eq(store_ticket_insert(W, &t, &e), 0, "%s", e.msg);
    return t.id;
}

static int64_t pending_count(void)
{
    int64_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_count(R, "pending", &n, &e), 0, "%s", e.msg);
    return n;
}

static int64_t count_state(const char *state)
{
    int64_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_count(R, state, &n, &e), 0, "%s", e.msg);
    return n;
}

/* Poll (real time) until cond holds, at most ms. */
#define WAIT_FOR(cond, ms)                                               \
    do {                                                                 \
        for (int w_ = 0; w_ < (ms) / 10 && !(cond); w_++)                \
            usleep(10 * 1000);                                           \
        cr_assert(cond, "timed out waiting for %s", #cond);              \
    } while (0)

static bool body_has(const char *method, size_t i, const char *needle)
{
    char *b = tg_stub_body(S, method, i);
    bool ok = b != NULL && strstr(b, needle) != NULL;
    if (!ok)
        cr_log_error("call %zu of %s: %s (want %s)", i, method, b ? b : "(none)", needle);
    free(b);
    return ok;
}

static int64_t next_attempt_of(int64_t id)
{
    struct tg_outbox_row *rows = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_pending(R, 0, 0, 100, A, &rows, &n, &e), 0, "%s", e.msg);
    for (size_t i = 0; i < n; i++)
        if (rows[i].id == id)
            return rows[i].next_attempt_at;
    return -1;
}

Test(tg_bridge, a_retry_holds_back_later_rows_of_the_same_chat_only)
{
    int64_t t0 = clock_now_ms(K);
    tg_stub_push(S, "sendMessage", 500,
                 "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server Error\"}");
    int64_t a = send_row(501, "a");
    send_row(501, "b");
    send_row(501, "c");
    send_row(502, "x");
    start_bridge(10);

    WAIT_FOR(tg_stub_count(S, "sendMessage") == 2, 3000);
    cr_expect(body_has("sendMessage", 0, "\"a\""));
    cr_expect(body_has("sendMessage", 1, "\"x\""));
    WAIT_FOR(next_attempt_of(a) == t0 + 1000, 3000);   /* first back-off step: 1 s */
    usleep(300 * 1000);
    cr_expect_eq(tg_stub_count(S, "sendMessage"), 2, "b or c overtook a waiting a");

    clock_manual_advance(K, 1000);
    tg_bridge_kick(B);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 5, 3000);
    cr_expect(body_has("sendMessage", 2, "\"a\""));
    cr_expect(body_has("sendMessage", 3, "\"b\""));
    cr_expect(body_has("sendMessage", 4, "\"c\""));
    WAIT_FOR(pending_count() == 0, 3000);
    cr_expect_eq(count_state("sent"), 4);
    struct tg_bridge_stats st;
    tg_bridge_get_stats(B, &st);
    cr_expect_eq(st.sent, 4);
    cr_expect_eq(st.retried, 1);
    cr_expect_eq(st.calls, 5);
}

Test(tg_bridge, a_429_pauses_the_chat_until_retry_after)
{
    int64_t t0 = clock_now_ms(K);
    tg_stub_push(S, "sendMessage", 429,
                 "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry "
                 "after 5\",\"parameters\":{\"retry_after\":5}}");
    int64_t a = send_row(601, "a");
    send_row(601, "b");
    send_row(602, "y");
    start_bridge(10);

    WAIT_FOR(tg_stub_count(S, "sendMessage") == 2, 3000);
    cr_expect(body_has("sendMessage", 1, "\"y\""));
    WAIT_FOR(next_attempt_of(a) == t0 + 5000, 3000);
    clock_manual_advance(K, 3000);
    tg_bridge_kick(B);
    usleep(300 * 1000);
    cr_expect_eq(tg_stub_count(S, "sendMessage"), 2, "sent during the 429 pause");

    clock_manual_advance(K, 2000);
    tg_bridge_kick(B);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 4, 3000);
    cr_expect(body_has("sendMessage", 2, "\"a\""));
    cr_expect(body_has("sendMessage", 3, "\"b\""));
    WAIT_FOR(pending_count() == 0, 3000);
    struct tg_bridge_stats st;
    tg_bridge_get_stats(B, &st);
    cr_expect_eq(st.rate_limited, 1);
}

Test(tg_bridge, rate_limit_of_a_private_chat_on_the_desk_clock)
{
    for (int i = 0; i < 5; i++)
        send_row(650, "m");
    start_bridge(2);      /* burst 2, then 1 per second of the desk clock */
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 2, 3000);
    usleep(300 * 1000);
    cr_expect_eq(tg_stub_count(S, "sendMessage"), 2);
    clock_manual_advance(K, 1000);
    tg_bridge_kick(B);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 3, 3000);
    clock_manual_advance(K, 2000);
    tg_bridge_kick(B);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 5, 3000);
}

Test(tg_bridge, blocked_and_permanent_errors_fail_the_row)
{
    tg_stub_push(S, "sendMessage", 403, "{\"ok\":false,\"error_code\":403,\"description\":"
                 "\"Forbidden: bot was blocked by the user\"}");
    tg_stub_push(S, "sendMessage", 400, "{\"ok\":false,\"error_code\":400,\"description\":"
                 "\"Bad Request: chat not found\"}");
    send_row(701, "a");
    send_row(702, "b");
    start_bridge(0);
    WAIT_FOR(count_state("failed") == 2, 3000);
    struct tg_bridge_stats st;
    tg_bridge_get_stats(B, &st);
    cr_expect_eq(st.blocked, 1);
    cr_expect_eq(st.failed, 1);
    cr_expect_eq(st.report_failures, 0);
}

Test(tg_bridge, topic_rows_wait_for_createForumTopic_and_get_its_id)
{
    int64_t t = add_ticket(801, 0);
    char p[256];
    /* the copy is written BEFORE the topic creation: it must wait for it */
    snprintf(p, sizeof p, "{\"chat_id\":%lld,\"from_chat_id\":801,\"message_id\":5,"
             "\"message_thread_id\":\"$topic\"}", (long long)STAFF);
    push_row(STAFF, t, "copyMessage", p);
    snprintf(p, sizeof p, "{\"chat_id\":%lld,\"name\":\"#1 Bob\"}", (long long)STAFF);
    push_row(STAFF, t, "createForumTopic", p);
    snprintf(p, sizeof p, "{\"chat_id\":%lld,\"message_thread_id\":\"$topic\",\"text\":\"hello\"}",
             (long long)STAFF);
    push_row(STAFF, t, "sendMessage", p);
    start_bridge(0);

    WAIT_FOR(tg_stub_count(S, "sendMessage") == 1, 3000);
    char *first = tg_stub_body(S, NULL, 0);
    cr_expect(strstr(first, "\"name\"") != NULL, "first call was %s", first);
    free(first);
    struct ticket *tk = NULL;
    struct err e = {0};
    cr_assert_eq(store_ticket_get(R, t, A, &tk, &e), 0, "%s", e.msg);
    cr_assert_gt(tk->topic_id, 0);
    char want[64];
    snprintf(want, sizeof want, "\"message_thread_id\":%lld", (long long)tk->topic_id);
    cr_expect(body_has("copyMessage", 0, want));
    cr_expect(body_has("sendMessage", 0, want));
    cr_expect(body_has(NULL, 1, "\"from_chat_id\""), "copy before the text");
    WAIT_FOR(pending_count() == 0, 3000);
}

Test(tg_bridge, a_row_waits_while_the_ticket_has_no_topic)
{
    int64_t t = add_ticket(802, 0);
    char p[256];
    snprintf(p, sizeof p, "{\"chat_id\":%lld,\"message_thread_id\":\"$topic\",\"text\":\"hi\"}",
             (long long)STAFF);
    push_row(STAFF, t, "sendMessage", p);
    int64_t other = add_ticket(803, 33);      /* another ticket's topic is not held up */
    push_row(STAFF, other, "sendMessage", p);
    start_bridge(0);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 1, 3000);
    cr_expect(body_has("sendMessage", 0, "\"message_thread_id\":33"));
    usleep(300 * 1000);
    cr_expect_eq(tg_stub_count(S, "sendMessage"), 1);

    struct ticket *tk = NULL;
    struct err e = {0};
    cr_assert_eq(store_ticket_get(W, t, A, &tk, &e), 0, "%s", e.msg);
    tk->topic_id = 99;
    cr_assert_eq(store_ticket_update(W, tk, &e), 0, "%s", e.msg);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 2, 3000);
    cr_expect(body_has("sendMessage", 1, "\"message_thread_id\":99"));
}

Test(tg_bridge, a_lost_topic_is_recreated_and_the_row_goes_there)
{
    int64_t t = add_ticket(804, 50);
    char p[256];
    snprintf(p, sizeof p, "{\"chat_id\":%lld,\"message_thread_id\":\"$topic\",\"text\":\"hello\"}",
             (long long)STAFF);
    push_row(STAFF, t, "sendMessage", p);
    tg_stub_push(S, "sendMessage", 400, "{\"ok\":false,\"error_code\":400,\"description\":"
                 "\"Bad Request: message thread not found\"}");
    start_bridge(0);
    WAIT_FOR(tg_stub_count(S, "createForumTopic") == 1, 3000);
    WAIT_FOR(pending_count() == 0, 3000);
    struct ticket *tk = NULL;
    struct err e = {0};
    cr_assert_eq(store_ticket_get(R, t, A, &tk, &e), 0, "%s", e.msg);
    cr_assert_gt(tk->topic_id, 0);
    cr_assert_neq(tk->topic_id, 50);
    char want[64];
    snprintf(want, sizeof want, "\"message_thread_id\":%lld", (long long)tk->topic_id);
    cr_expect(body_has("sendMessage", 0, "\"message_thread_id\":50"));
    cr_expect(body_has("sendMessage", 1, want));
    cr_expect(body_has("sendMessage", 1, "hello"));
    struct tg_bridge_stats st;
    tg_bridge_get_stats(B, &st);
    cr_expect_eq(st.thread_lost, 1);
}

Test(tg_bridge, stops_promptly_even_mid_call)
{
    tg_stub_push_delayed(S, "sendMessage", 200, "{\"ok\":true,\"result\":{\"message_id\":1}}",
                         3000);
    send_row(901, "slow");
    start_bridge(0);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 1, 3000);
    int64_t t0 = clock_mono_ns();
    tg_bridge_free(&B);
    cr_expect_lt((clock_mono_ns() - t0) / 1000000, 1000);
    cr_expect_eq(pending_count(), 1, "an aborted call leaves its row pending");
}

/* The bridge holds at most `batch` pending rows: as rows go out the window
 * fills again from the rows after the newest it holds, and rows written
 * after it last looked are found — in id order, none twice. */
Test(tg_bridge, the_window_refills_from_the_tail_in_id_order)
{
    for (int i = 0; i < 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "m%d", i);
        send_row(800 + i, t);
    }
    struct tg_bridge_limits lim = {.private_burst = 3, .poll_ms = 20, .batch = 2};
    start_bridge_lim(&lim);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 5, 3000);
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof want, "\"m%d\"", i);
        cr_expect(body_has("sendMessage", (size_t)i, want));
    }
    send_row(810, "late1");          /* written after the bridge emptied its window */
    send_row(810, "late2");
    tg_bridge_kick(B);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 7, 3000);
    cr_expect(body_has("sendMessage", 5, "\"late1\""));
    cr_expect(body_has("sendMessage", 6, "\"late2\""));
    WAIT_FOR(pending_count() == 0, 3000);
    usleep(200 * 1000);
    cr_expect_eq(tg_stub_count(S, "sendMessage"), 7, "a row went out twice");
}

/* Idle: the newest look made no call and saw the outbox as last notified.
 * A clock move short of what it held back needs no new look (nothing could
 * go); one that reaches it does. A notified change wakes it; the same
 * count again does not. The poll is long, so only a kick makes it look. */
Test(tg_bridge, idleness_follows_the_outbox_and_the_clock)
{
    int64_t t0 = clock_now_ms(K);
    tg_stub_push(S, "sendMessage", 500,
                 "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server Error\"}");
    int64_t a = send_row(901, "a");
    struct tg_bridge_limits lim = {.private_burst = 10, .poll_ms = 10000};
    start_bridge_lim(&lim);
    int64_t next = 0;
    WAIT_FOR(next_attempt_of(a) == t0 + 1000, 3000);
    WAIT_FOR(tg_bridge_idle(B, t0, &next), 3000);
    cr_expect_eq(next, t0 + 1000, "the retry is what it waits for");

    clock_manual_advance(K, 999);               /* short of the retry */
    cr_expect(tg_bridge_idle(B, t0 + 999, &next), "a move that reaches nothing needs no look");
    clock_manual_advance(K, 1);                 /* the retry falls due */
    cr_expect_not(tg_bridge_idle(B, t0 + 1000, &next), "idle while a row is due");
    tg_bridge_kick(B);
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 2, 3000);
    WAIT_FOR(tg_bridge_idle(B, t0 + 1000, &next), 3000);
    cr_expect_eq(next, INT64_MAX);

    send_row(902, "b");                         /* written behind its back */
    tg_bridge_notify(B, 0);                     /* the count it has seen: no look */
    usleep(300 * 1000);
    cr_expect_eq(tg_stub_count(S, "sendMessage"), 2);
    tg_bridge_notify(B, 1);                     /* a change: it looks now */
    WAIT_FOR(tg_stub_count(S, "sendMessage") == 3, 3000);
    cr_expect(body_has("sendMessage", 2, "\"b\""));
    WAIT_FOR(pending_count() == 0, 3000);
}
