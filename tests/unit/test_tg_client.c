/*
 * test_tg_client.c — Bot API calls against the in-test stub: envelopes,
 * the outcome classes, transport errors, timeouts, abort, token hygiene.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "common/tg_stub.h"
#include "telegram/tg_client.h"

#define TOKEN "123456:SECRET-token-abc"

static struct tg_stub *S;
static struct tg_client *C;

static void setup(void)
{
    log_setup(2, LOG_ERROR, LOG_AUTO);
    S = tg_stub_start();
    cr_assert_not_null(S);
    struct err e = {0};
    cr_assert_eq(tg_client_new(tg_stub_base(S), TOKEN, &C, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
    tg_client_free(&C);
    tg_stub_free(&S);
}

TestSuite(tg_client, .init = setup, .fini = teardown);

static enum tg_class call_with(int status, const char *body, struct tg_reply *r, int *rc)
{
    tg_stub_push(S, "sendMessage", status, body);
    struct err e = {0};
    *rc = tg_call(C, "sendMessage", "{\"chat_id\":1,\"text\":\"hi\"}", 5000, r, &e);
    cr_expect_null(strstr(e.msg, "SECRET"), "token leaked into '%s'", e.msg);
    return r->cls;
}

Test(tg_client, success_returns_the_result_and_posts_json)
{
    struct tg_reply r;
    struct err e = {0};
    int rc = tg_call(C, "sendMessage", "{\"chat_id\":1,\"text\":\"hi\"}", 5000, &r, &e);
    cr_assert_eq(rc, 0, "%s", e.msg);
    cr_expect_eq(r.kind, TG_REPLY_OK);
    cr_expect_eq(r.cls, TG_OK);
    cr_expect_eq(r.http_status, 200);
    cr_assert(json_is_object(r.result));
    cr_expect(json_integer_value(json_object_get(r.result, "message_id")) > 0);
    tg_reply_release(&r);
    char *body = tg_stub_body(S, "sendMessage", 0);
    cr_expect_str_eq(body, "{\"chat_id\":1,\"text\":\"hi\"}");
    free(body);
    char *tok = tg_stub_last_token(S);
    cr_expect_str_eq(tok, TOKEN);
    free(tok);
    /* a second call on the same client works (the handle is reused) */
    cr_assert_eq(tg_call(C, "getMe", NULL, 5000, &r, &e), 0, "%s", e.msg);
    cr_expect(json_is_true(r.result));
    tg_reply_release(&r);
}

Test(tg_client, rate_limited_with_retry_after)
{
    struct tg_reply r;
    int rc;
    cr_expect_eq(call_with(429, "{\"ok\":false,\"error_code\":429,\"description\":"
                           "\"Too Many Requests: retry after 7\",\"parameters\":{\"retry_after\":7}}",
                           &r, &rc), TG_RATE_LIMITED);
    cr_expect_eq(rc, ERR_BUSY);
    cr_expect_eq(r.kind, TG_REPLY_ERROR);
    cr_expect_eq(r.retry_after, 7);
    cr_expect_eq(r.error_code, 429);
    cr_expect_str_eq(r.description, "Too Many Requests: retry after 7");
    tg_reply_release(&r);
}

Test(tg_client, error_classes)
{
    struct tg_reply r;
    int rc;
    cr_expect_eq(call_with(500, "{\"ok\":false,\"error_code\":500,\"description\":"
                           "\"Internal Server Error: restart\"}", &r, &rc), TG_TRANSIENT);
    cr_expect_eq(rc, ERR_IO);
    cr_expect_eq(call_with(403, "{\"ok\":false,\"error_code\":403,\"description\":"
                           "\"Forbidden: bot was blocked by the user\"}", &r, &rc), TG_BLOCKED);
    cr_expect_eq(rc, ERR_FORBIDDEN);
    cr_expect_eq(call_with(403, "{\"ok\":false,\"error_code\":403,\"description\":"
                           "\"Forbidden: bot can't initiate conversation with a user\"}", &r, &rc),
                 TG_PERMANENT);
    cr_expect_eq(call_with(400, "{\"ok\":false,\"error_code\":400,\"description\":"
                           "\"Bad Request: message thread not found\"}", &r, &rc), TG_THREAD_LOST);
    cr_expect_eq(call_with(400, "{\"ok\":false,\"error_code\":400,\"description\":"
                           "\"Bad Request: TOPIC_DELETED\"}", &r, &rc), TG_THREAD_LOST);
    cr_expect_eq(call_with(400, "{\"ok\":false,\"error_code\":400,\"description\":"
                           "\"Bad Request: TOPIC_ID_INVALID\"}", &r, &rc), TG_THREAD_LOST);
    cr_expect_eq(call_with(400, "{\"ok\":false,\"error_code\":400,\"description\":"
                           "\"Bad Request: chat not found\"}", &r, &rc), TG_PERMANENT);
    cr_expect_eq(rc, ERR_INVAL);
    cr_expect_eq(call_with(401, "{\"ok\":false,\"error_code\":401,\"description\":"
                           "\"Unauthorized\"}", &r, &rc), TG_UNAUTHORIZED);
    cr_expect_eq(rc, ERR_AUTH);
    cr_expect_eq(call_with(409, "{\"ok\":false,\"error_code\":409,\"description\":"
                           "\"Conflict: terminated by other getUpdates request\"}", &r, &rc),
                 TG_CONFLICT);
    cr_expect_eq(call_with(400, "{\"ok\":false,\"error_code\":400,\"description\":"
                           "\"Bad Request: group chat was upgraded to a supergroup chat\","
                           "\"parameters\":{\"migrate_to_chat_id\":-1001234}}", &r, &rc),
                 TG_PERMANENT);
    cr_expect_eq(r.migrate_to_chat_id, -1001234);
    /* an answer that is not an envelope (a proxy's page) */
    cr_expect_eq(call_with(502, "<html>bad gateway</html>", &r, &rc), TG_TRANSIENT);
    cr_expect_eq(r.kind, TG_REPLY_ERROR);
    cr_expect_eq(r.http_status, 502);
}

Test(tg_client, connection_refused_is_a_transport_error)
{
    int port = tg_stub_port(S);
    tg_client_free(&C);
    tg_stub_free(&S);   /* nothing listens there now */
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", port);
    struct err e = {0};
    cr_assert_eq(tg_client_new(base, TOKEN, &C, &e), 0);
    struct tg_reply r;
    int rc = tg_call(C, "getMe", NULL, 2000, &r, &e);
    cr_expect_eq(rc, ERR_IO);
    cr_expect_eq(r.kind, TG_REPLY_TRANSPORT);
    cr_expect_eq(r.cls, TG_TRANSIENT);
    cr_expect_eq(r.http_status, 0);
    cr_expect_null(strstr(e.msg, "SECRET"), "token leaked into '%s'", e.msg);
    cr_expect_null(strstr(r.description, "SECRET"));
}

Test(tg_client, timeout_is_a_transport_error)
{
    tg_stub_push_delayed(S, "getMe", 200, "{\"ok\":true,\"result\":true}", 1500);
    struct tg_reply r;
    struct err e = {0};
    int64_t t0 = clock_mono_ns();
    int rc = tg_call(C, "getMe", NULL, 200, &r, &e);
    int64_t ms = (clock_mono_ns() - t0) / 1000000;
    cr_expect_eq(rc, ERR_IO, "%s", e.msg);
    cr_expect_eq(r.kind, TG_REPLY_TRANSPORT);
    cr_expect_lt(ms, 1200);
}

static void *abort_later(void *arg)
{
    usleep(150 * 1000);
    tg_client_abort(arg);
    return NULL;
}

Test(tg_client, abort_cuts_a_long_call_short)
{
    tg_stub_set_park(S, 3000);
    pthread_t th;
    pthread_create(&th, NULL, abort_later, C);
    struct tg_reply r;
    struct err e = {0};
    int64_t t0 = clock_mono_ns();
    int rc = tg_call(C, "getUpdates", "{\"timeout\":30}", 35000, &r, &e);
    int64_t ms = (clock_mono_ns() - t0) / 1000000;
    pthread_join(th, NULL);
    cr_expect_eq(rc, ERR_BUSY);
    cr_expect(r.aborted);
    cr_expect_lt(ms, 1000);
    cr_expect_eq(tg_call(C, "getMe", NULL, 1000, &r, &e), ERR_BUSY);   /* sticky */
}

Test(tg_client, bad_arguments)
{
    struct tg_client *c = NULL;
    struct err e = {0};
    cr_expect_eq(tg_client_new(NULL, TOKEN, &c, &e), ERR_INVAL);
    cr_expect_eq(tg_client_new("http://x", "", &c, &e), ERR_INVAL);
    cr_expect_null(c);
}

/* ---- tg_call_items: the result array left unparsed ---------------------------------- */

static int items_with(int status, const char *body, struct tg_reply *r)
{
    tg_stub_push(S, "getUpdates", status, body);
    struct err e = {0};
    return tg_call_items(C, "getUpdates", "{}", 5000, r, &e);
}

static char *item(const struct tg_reply *r, size_t i)
{
    return strndup(r->raw + r->items[i].off, r->items[i].len);
}

Test(tg_client, items_are_found_by_brackets_and_strings)
{
    struct tg_reply r;
    const char *body = " {\"result\" : [ {\"update_id\":1,\"t\":\"a ] } \\\" [ {\"} ,"
                       "\n[1,{\"x\":[]}], 7,\"s\" ,null] ,\"ok\":true }\n";
    cr_assert_eq(items_with(200, body, &r), 0);
    cr_expect_eq(r.kind, TG_REPLY_OK);
    cr_expect_null(r.result);
    cr_assert_not_null(r.raw);
    cr_assert_eq(r.nitems, 5);
    const char *want[] = {"{\"update_id\":1,\"t\":\"a ] } \\\" [ {\"}", "[1,{\"x\":[]}]",
                          "7", "\"s\"", "null"};
    for (size_t i = 0; i < 5; i++) {
        char *got = item(&r, i);
        cr_expect_str_eq(got, want[i]);
        free(got);
    }
    tg_reply_release(&r);
    cr_expect_null(r.raw);
    cr_expect_null(r.items);

    cr_assert_eq(items_with(200, "{\"ok\":true,\"result\":[]}", &r), 0);
    cr_expect_not_null(r.raw);
    cr_expect_eq(r.nitems, 0);
    tg_reply_release(&r);
}

/* Anything but exactly {ok:true, result:[...]} is read whole, as tg_call
 * reads it: an error envelope, another member, a result that is not an
 * array, a body the scan cannot follow (then it is no envelope at all). */
Test(tg_client, items_fall_back_to_the_whole_parse)
{
    struct tg_reply r;
    cr_expect_eq(items_with(409, "{\"ok\":false,\"error_code\":409,\"description\":"
                                 "\"Conflict: terminated by other getUpdates request\"}", &r),
                 ERR_CONFLICT);
    cr_expect_eq(r.cls, TG_CONFLICT);
    cr_expect_null(r.raw);
    tg_reply_release(&r);

    cr_expect_eq(items_with(200, "{\"ok\":true,\"result\":[{\"update_id\":3}],\"extra\":1}",
                            &r), 0);
    cr_expect_null(r.raw);
    cr_assert(json_is_array(r.result));
    cr_expect_eq(json_array_size(r.result), 1);
    tg_reply_release(&r);

    cr_expect_eq(items_with(200, "{\"ok\":true,\"result\":true}", &r), 0);
    cr_expect_null(r.raw);
    cr_expect(json_is_true(r.result));
    tg_reply_release(&r);

    cr_expect_eq(items_with(200, "{\"ok\":true,\"result\":[{\"update_id\":3}", &r), ERR_IO);
    cr_expect_eq(r.cls, TG_TRANSIENT, "a cut body is no envelope");
    cr_expect_null(r.raw);
    tg_reply_release(&r);

    cr_expect_eq(items_with(200, "{\"ok\":true,\"result\":[1]} trailing", &r), ERR_IO);
    cr_expect_null(r.raw);
    tg_reply_release(&r);
}
