/*
 * test_tg_ingest.c — long polling against the in-test Bot API stub and
 * webhook deliveries (the function and the HTTP route), into a real engine
 * on a temporary SQLite store: offsets, skipped updates, 401, stopping.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "common/tg_stub.h"
#include "engine/engine.h"
#include "http/api.h"
#include "store/store.h"
#include "telegram/tg_ingest.h"

#define STAFF (-100500LL)
#define SECRET "wh_secret-123"

static char dir[64];
static struct tg_stub *S;
static struct cfg *C;
static struct clock *K;
static struct engine *E;
static struct store *R;
static struct arena *A;
static struct tg_ingest *I;

static void setup(void)
{
    log_setup(2, LOG_ERROR, LOG_AUTO);
    S = tg_stub_start();
    cr_assert_not_null(S);
    snprintf(dir, sizeof dir, "/tmp/tgcrm-ingest-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "store: {path: %s/t.db}\n"
             "telegram: {token: '123:ingest-test', api_base: '%s', staff_group_id: %lld,\n"
             "  poll_timeout: 1s,\n"
             "  webhook: {url: 'http://127.0.0.1:9/telegram/webhook', secret_token: '" SECRET "'}}\n"
             "http: {api_tokens: [{name: t, token: ingest-test-token-123456}]}\n"
             "groups: [{name: general}]\n"
             "agents:\n"
             "  - {id: alice, name: Alice, telegram_user_id: 11, groups: [general]}\n",
             dir, tg_stub_base(S), (long long)STAFF);
    struct err e = {0};
    cr_assert_eq(cfg_load_string("ingest-test.yaml", yaml, strlen(yaml), &C, &e), 0, "%s", e.msg);
    K = clock_manual_new(1767600000000LL);
    struct store *w = NULL;
    cr_assert_eq(store_open(&C->store, STORE_RW, &w, &e), 0, "%s", e.msg);
    cr_assert_eq(engine_new(C, w, K, &E, &e), 0, "%s", e.msg);
    cr_assert_eq(engine_start(E, &e), 0, "%s", e.msg);
    cr_assert_eq(store_open(&C->store, STORE_RO, &R, &e), 0, "%s", e.msg);
    A = arena_new(0);
    cr_assert_eq(tg_ingest_new(C, E, &I, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
    tg_ingest_free(&I);
    engine_free(&E);
    store_close(&R);
    cfg_unref(&C);
    clock_free(&K);
    arena_free(&A);
    tg_stub_free(&S);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(tg_ingest, .init = setup, .fini = teardown);

#define WAIT_FOR(cond, ms)                                               \
    do {                                                                 \
        for (int w_ = 0; w_ < (ms) / 10 && !(cond); w_++)                \
            usleep(10 * 1000);                                           \
        cr_assert(cond, "timed out waiting for %s", #cond);              \
    } while (0)

static size_t ticket_count(void)
{
    struct ticket_filter f = {.limit = 500};
    struct ticket **ts = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_ticket_list(R, &f, A, &ts, &n, &e), 0, "%s", e.msg);
    return n;
}

#define PRIV(uid, mid, text)                                                               \
    "{\"message_id\":" #mid ",\"from\":{\"id\":" #uid ",\"is_bot\":false,\"first_name\":"  \
    "\"Bob\",\"language_code\":\"en\"},\"chat\":{\"id\":" #uid ",\"first_name\":\"Bob\","  \
    "\"type\":\"private\"},\"date\":1767225600,\"text\":\"" text "\"}"
#define TOPIC_CREATED                                                                      \
    "{\"message_id\":42,\"from\":{\"id\":7000001,\"is_bot\":true,\"first_name\":\"HelpBot\"}," \
    "\"chat\":{\"id\":-100500,\"title\":\"Staff\",\"is_forum\":true,\"type\":\"supergroup\"}," \
    "\"date\":1,\"message_thread_id\":42,\"forum_topic_created\":{\"name\":\"#1 Bob\","    \
    "\"icon_color\":7322096},\"is_topic_message\":true}"

Test(tg_ingest, a_page_is_applied_and_the_offset_moves_past_it)
{
    tg_stub_push(S, "getUpdates", 200,
                 "{\"ok\":true,\"result\":["
                 "{\"update_id\":100,\n\"message\":" PRIV(5550002, 1, "hello") "},"
                 "{\"update_id\":101,\n\"message\":" TOPIC_CREATED "},"
                 "{\"update_id\":102,\n\"message\":" PRIV(5550003, 1, "need help") "}]}");
    struct err e = {0};
    cr_assert_eq(tg_ingest_start(I, &e), 0, "%s", e.msg);
    WAIT_FOR(engine_last_update_id(E) == 102, 3000);
    cr_expect_eq(ticket_count(), 2);
    WAIT_FOR(tg_stub_count(S, "getUpdates") >= 2, 3000);
    char *first = tg_stub_body(S, "getUpdates", 0);
    char *second = tg_stub_body(S, "getUpdates", 1);
    cr_expect_null(strstr(first, "\"offset\""), "first poll: %s", first);
    cr_expect(strstr(first, "\"timeout\":1") != NULL, "first poll: %s", first);
    cr_expect(strstr(first, "\"allowed_updates\":[\"message\",\"edited_message\","
                            "\"callback_query\"]") != NULL, "first poll: %s", first);
    cr_expect(strstr(second, "\"offset\":103") != NULL, "second poll: %s", second);
    free(first);
    free(second);
    struct tg_ingest_stats st;
    tg_ingest_get_stats(I, &st);
    cr_expect_eq(st.updates, 3);
    cr_expect_eq(st.events, 2);
    cr_expect_eq(st.skipped, 1);
}

Test(tg_ingest, a_page_of_skipped_updates_still_moves_the_offset)
{
    tg_stub_push(S, "getUpdates", 200,
                 "{\"ok\":true,\"result\":[{\"update_id\":200,\"callback_query\":{\"id\":\"1\","
                 "\"from\":{\"id\":5,\"is_bot\":false,\"first_name\":\"x\"},"
                 "\"chat_instance\":\"1\",\"data\":\"d\"}},"
                 "{\"update_id\":201,\n\"message\":" TOPIC_CREATED "}]}");
    struct err e = {0};
    cr_assert_eq(tg_ingest_start(I, &e), 0, "%s", e.msg);
    WAIT_FOR(engine_last_update_id(E) == 201, 3000);
    cr_expect_eq(ticket_count(), 0);
    WAIT_FOR(tg_stub_count(S, "getUpdates") >= 2, 3000);
    char *second = tg_stub_body(S, "getUpdates", 1);
    cr_expect(strstr(second, "\"offset\":202") != NULL, "second poll: %s", second);
    free(second);
}

/* Updates are parsed one by one while the engine applies them: one that
 * is not JSON must still cost the whole page, as a page that could not be
 * parsed at all did — nothing applied, the offset unmoved, the same page
 * asked for again. */
Test(tg_ingest, a_page_with_an_unreadable_update_is_read_again_whole)
{
    tg_stub_push(S, "getUpdates", 200,
                 "{\"ok\":true,\"result\":["
                 "{\"update_id\":300,\n\"message\":" PRIV(5550004, 1, "hello") "},"
                 "{\"update_id\":301,\"message\":{\"text\":tru}}]}");
    tg_stub_push(S, "getUpdates", 200,
                 "{\"ok\":true,\"result\":["
                 "{\"update_id\":300,\n\"message\":" PRIV(5550004, 1, "hello") "},"
                 "{\"update_id\":301,\n\"message\":" PRIV(5550005, 1, "hi") "}]}");
    struct err e = {0};
    cr_assert_eq(tg_ingest_start(I, &e), 0, "%s", e.msg);
    WAIT_FOR(engine_last_update_id(E) == 301, 5000);
    cr_expect_eq(ticket_count(), 2, "the first page left nothing behind");
    char *first = tg_stub_body(S, "getUpdates", 0);
    char *second = tg_stub_body(S, "getUpdates", 1);
    cr_expect_null(strstr(first, "\"offset\""), "first poll: %s", first);
    cr_expect_null(strstr(second, "\"offset\""), "the same page again: %s", second);
    free(first);
    free(second);
    struct tg_ingest_stats st;
    tg_ingest_get_stats(I, &st);
    cr_expect_eq(st.errors, 1);
    cr_expect_eq(st.updates, 2);
    cr_expect_eq(st.events, 2);
}

Test(tg_ingest, unauthorized_stops_polling)
{
    tg_stub_push(S, "getUpdates", 401, "{\"ok\":false,\"error_code\":401,"
                 "\"description\":\"Unauthorized\"}");
    struct err e = {0};
    cr_assert_eq(tg_ingest_start(I, &e), 0, "%s", e.msg);
    WAIT_FOR(tg_stub_count(S, "getUpdates") == 1, 3000);
    usleep(400 * 1000);
    cr_expect_eq(tg_stub_count(S, "getUpdates"), 1);
}

Test(tg_ingest, server_errors_back_off_then_recover)
{
    tg_stub_push(S, "getUpdates", 502, "<html>bad gateway</html>");
    tg_stub_push(S, "getUpdates", 200, "{\"ok\":true,\"result\":[{\"update_id\":300,"
                 "\"message\":" PRIV(5550004, 1, "hi") "}]}");
    struct err e = {0};
    cr_assert_eq(tg_ingest_start(I, &e), 0, "%s", e.msg);
    WAIT_FOR(tg_stub_count(S, "getUpdates") == 1, 3000);
    usleep(500 * 1000);
    cr_expect_eq(tg_stub_count(S, "getUpdates"), 1, "no back-off after a 502");
    WAIT_FOR(engine_last_update_id(E) == 300, 3000);
    struct tg_ingest_stats st;
    tg_ingest_get_stats(I, &st);
    cr_expect_eq(st.errors, 1);
}

Test(tg_ingest, stop_ends_a_parked_long_poll_at_once)
{
    tg_stub_set_park(S, 5000);
    struct err e = {0};
    cr_assert_eq(tg_ingest_start(I, &e), 0, "%s", e.msg);
    WAIT_FOR(tg_stub_count(S, "getUpdates") == 1, 3000);
    usleep(100 * 1000);
    int64_t t0 = clock_mono_ns();
    tg_ingest_stop(I);
    cr_expect_lt((clock_mono_ns() - t0) / 1000000, 1000);
}

static int webhook(const char *secret, const char *body)
{
    struct err e = {0};
    return tg_ingest_webhook(I, secret, body, strlen(body), &e);
}

Test(tg_ingest, webhook_checks_the_secret_and_applies_the_update)
{
    const char *u = "{\"update_id\":400,\"message\":" PRIV(5550005, 3, "via webhook") "}";
    cr_expect_eq(webhook(NULL, u), ERR_AUTH);
    cr_expect_eq(webhook("wrong", u), ERR_AUTH);
    cr_expect_eq(webhook(SECRET "x", u), ERR_AUTH);
    cr_expect_eq(webhook(SECRET, "{not json"), ERR_INVAL);
    cr_expect_eq(webhook(SECRET, "{\"no_update_id\":1}"), ERR_INVAL);
    cr_expect_eq(ticket_count(), 0);
    cr_expect_eq(webhook(SECRET, u), 0);
    cr_expect_eq(ticket_count(), 1);
    cr_expect_eq(engine_last_update_id(E), 400);
    cr_expect_eq(webhook(SECRET, u), 0, "a redelivery is accepted (and skipped)");
    cr_expect_eq(ticket_count(), 1);
    cr_expect_eq(webhook(SECRET, "{\"update_id\":401,\"message\":" TOPIC_CREATED "}"), 0);
    cr_expect_eq(engine_last_update_id(E), 401);
}

Test(tg_ingest, set_webhook_sends_url_secret_and_one_connection)
{
    struct err e = {0};
    cr_assert_eq(tg_ingest_set_webhook(I, &e), 0, "%s", e.msg);
    char *b = tg_stub_body(S, "setWebhook", 0);
    cr_assert_not_null(b);
    cr_expect(strstr(b, "\"url\":\"http://127.0.0.1:9/telegram/webhook\"") != NULL, "%s", b);
    cr_expect(strstr(b, "\"secret_token\":\"" SECRET "\"") != NULL, "%s", b);
    cr_expect(strstr(b, "\"max_connections\":1") != NULL, "%s", b);
    free(b);
    tg_stub_push(S, "setWebhook", 400, "{\"ok\":false,\"error_code\":400,\"description\":"
                 "\"Bad Request: bad webhook: An HTTPS URL must be provided for webhook\"}");
    err_clear(&e);
    cr_expect_eq(tg_ingest_set_webhook(I, &e), ERR_INVAL);
    cr_expect(strstr(e.msg, "HTTPS URL") != NULL, "%s", e.msg);
    cr_assert_eq(tg_ingest_delete_webhook(I, &e), 0, "%s", e.msg);
}

/* ---- the HTTP route ---------------------------------------------------------- */

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static long post(int port, const char *secret, const char *body)
{
    CURL *h = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/telegram/webhook", port);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    char sh[128];
    if (secret) {
        snprintf(sh, sizeof sh, "X-Telegram-Bot-Api-Secret-Token: %s", secret);
        hd = curl_slist_append(hd, sh);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return status;
}

Test(tg_ingest, webhook_route_answers_401_200_and_404_without_ingest)
{
    struct err e = {0};
    struct store_pool *pool = NULL;
    cr_assert_eq(store_pool_new(&C->store, 1, &pool, &e), 0, "%s", e.msg);
    struct api_ctx ctx = {.engine = E, .readers = pool, .clock = K, .tg = I};
    struct http_server *srv = NULL;
    cr_assert_eq(http_server_start("127.0.0.1:0", 2, 1 << 20, api_handle, &ctx, &srv, &e), 0,
                 "%s", e.msg);
    int port = http_server_port(srv);
    const char *u = "{\"update_id\":500,\"message\":" PRIV(5550006, 3, "route") "}";
    cr_expect_eq(post(port, NULL, u), 401);
    cr_expect_eq(post(port, "nope", u), 401);
    cr_expect_eq(post(port, SECRET, "[]"), 400);
    cr_expect_eq(post(port, SECRET, u), 200);
    cr_expect_eq(ticket_count(), 1);
    ctx.tg = NULL;
    cr_expect_eq(post(port, SECRET, u), 404);
    http_server_free(&srv);
    store_pool_free(&pool);
}
