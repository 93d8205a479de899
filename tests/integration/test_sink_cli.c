/*
 * test_sink_cli.c — the real `tgcrm sink` process on loopback, driven
 * through its hooks and its control API only: signature verdicts with a
 * rotation and a stale timestamp, duplicate detection, a behaviour queue
 * (500 three times, then 200), a 30 s delay on the manual clock that is
 * held, released when the clock gets there and never earlier, 429 with
 * Retry-After, a dropped connection, an endpoint down for five minutes,
 * the eviction counter, replay, queries with near misses, and a clean exit
 * on SIGTERM. (Flag errors are in run-shell-tests.sh.)
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/hook_client.h"

#define NEW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define OLD_SECRET "whsec_c2VjcmV0LW9mLXRoZS1wcmV2aW91cy1yb3RhdGlvbg=="
#define ANY_SECRET "whsec_b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVk"
#define WRONG_SECRET "whsec_d3Jvbmctc2VjcmV0LWZvci1hbGwtZW5kcG9pbnRz"
#define START "2026-01-05T09:00:00Z"
#define T0_S 1767603600LL

static struct daemon D;
static char base[64];

/* Start a sink with the test's flags (NULL-terminated) after the defaults. */
static void start_sink(const char *const *flags)
{
    curl_global_init(CURL_GLOBAL_ALL);
    daemon_init(&D, NULL);
    cr_assert_eq(daemon_start_sink(&D, flags), 0, "tgcrm sink did not start");
    snprintf(base, sizeof base, "http://127.0.0.1:%d", D.port);
}

static void start_default(void)
{
    static const char *const flags[] = {
        "--test-clock", "--clock-start", START,
        "--secret", "desk=" NEW_SECRET, "--secret", "desk=" OLD_SECRET,
        "--secret", ANY_SECRET, NULL};
    start_sink(flags);
}

static void stop_sink(void)
{
    if (D.pid != 0)
        cr_expect_eq(daemon_stop(&D, SIGTERM), 0, "SIGTERM must stop the sink cleanly");
    daemon_cleanup(&D);
    curl_global_cleanup();
}

TestSuite(sink_cli, .init = start_default, .fini = stop_sink, .timeout = 60);

/* A control call that must answer `want`; the JSON body (new reference). */
static json_t *ctl(const char *method, const char *path, const char *body, long want)
{
    struct hc_reply r;
    hc_request(base, method, path, NULL, body, body ? strlen(body) : 0, &r);
    cr_assert_eq(r.cc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(r.cc));
    cr_assert_eq(r.status, want, "%s %s: %ld %s", method, path, r.status, buf_str(&r.body));
    json_error_t je;
    json_t *v = json_loads(buf_str(&r.body), 0, &je);
    cr_assert_not_null(v, "not JSON: %s", buf_str(&r.body));
    hc_reply_free(&r);
    return v;
}

static long deliver(const char *endpoint, const char *id, int64_t ts, const char *secret,
                    const char *previous, const char *body)
{
    return hc_deliver(base, endpoint, id, ts, secret, previous, body);
}

/* $.path of the record #seq, as a new reference. */
static json_t *record(int64_t seq)
{
    char path[64];
    snprintf(path, sizeof path, "/control/requests/%lld", (long long)seq);
    return ctl("GET", path, NULL, 200);
}

static const char *verdict(json_t *rec)
{
    return json_string_value(json_object_get(json_object_get(rec, "signature"), "verdict"));
}

static json_int_t secret_index(json_t *rec)
{
    json_t *v = json_object_get(json_object_get(rec, "signature"), "secret");
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static json_int_t stats_get(const char *key)
{
    json_t *s = ctl("GET", "/control/stats", NULL, 200);
    json_int_t v = json_integer_value(json_object_get(s, key));
    json_decref(s);
    return v;
}

Test(sink_cli, signature_verdicts_with_rotation_and_stale_timestamp)
{
    const char *body = "{\"type\":\"ticket.created\",\"ticket\":{\"id\":1}}";
    cr_assert_eq(deliver("desk", "evt_1", T0_S, OLD_SECRET, NULL, body), 200);
    cr_assert_eq(deliver("desk", "evt_2", T0_S, NEW_SECRET, OLD_SECRET, body), 200);
    cr_assert_eq(deliver("desk", "evt_3", T0_S, WRONG_SECRET, NULL, body), 200);
    cr_assert_eq(deliver("desk", "evt_4", T0_S - 301, NEW_SECRET, NULL, body), 200);
    cr_assert_eq(deliver("crm", "evt_5", T0_S, ANY_SECRET, NULL, body), 200);
    struct hc_reply r;
    hc_request(base, "POST", "/hooks/desk", NULL, body, strlen(body), &r);
    hc_reply_free(&r);

    struct { const char *verdict; json_int_t secret; } want[] = {
        {"valid", 1}, {"valid", 0}, {"invalid", -1}, {"stale", 0}, {"valid", 0},
        {"missing", -1},
    };
    for (int i = 0; i < 6; i++) {
        json_t *rec = record(i + 1);
        cr_expect_str_eq(verdict(rec), want[i].verdict, "#%d", i + 1);
        cr_expect_eq(secret_index(rec), want[i].secret, "#%d", i + 1);
        json_decref(rec);
    }
    /* secrets are reported by count, never by value */
    json_t *s = ctl("GET", "/control/secrets", NULL, 200);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(s, "endpoints"), "desk")), 2);
    char *dump = json_dumps(s, 0);
    cr_expect_null(strstr(dump, "whsec_"), "%s", dump);
    free(dump);
    json_decref(s);
    /* a query for valid deliveries at desk */
    json_t *q = ctl("GET", "/control/requests?endpoint=desk&signature=valid&body=false", NULL,
                    200);
    cr_expect_eq(json_integer_value(json_object_get(q, "count")), 2);
    json_decref(q);
}

Test(sink_cli, duplicates_by_webhook_id)
{
    deliver("desk", "evt_7", T0_S, NEW_SECRET, NULL, "{}");
    deliver("desk", "evt_8", T0_S, NEW_SECRET, NULL, "{}");
    deliver("desk", "evt_7", T0_S + 5, NEW_SECRET, NULL, "{}");
    json_t *rec = record(3);
    cr_expect_eq(json_integer_value(json_object_get(rec, "duplicate_of")), 1);
    json_decref(rec);
    rec = record(2);
    cr_expect(json_is_null(json_object_get(rec, "duplicate_of")));
    json_decref(rec);
    json_t *q = ctl("GET", "/control/requests?duplicate=true", NULL, 200);
    cr_expect_eq(json_integer_value(json_object_get(q, "count")), 1);
    json_decref(q);
    cr_expect_eq(stats_get("duplicates"), 1);
}

Test(sink_cli, behaviour_queue_500_three_times_then_200)
{
    json_t *b = ctl("POST", "/control/behaviours",
                    "{\"endpoint\":\"desk\",\"status\":500,\"times\":3}", 201);
    cr_expect_eq(json_array_size(json_object_get(b, "queue")), 1);
    json_decref(b);
    long want[] = {500, 500, 500, 200, 200};
    for (int i = 0; i < 5; i++)
        cr_expect_eq(deliver("desk", "evt_1", T0_S, NEW_SECRET, NULL, "{}"), want[i], "#%d", i);
    b = ctl("GET", "/control/behaviours", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(b, "endpoints")), 0, "the queue is used up");
    json_decref(b);
    /* the journal says what each attempt got */
    json_t *q = ctl("GET", "/control/requests?endpoint=desk&body=false", NULL, 200);
    json_t *reqs = json_object_get(q, "requests");
    for (size_t i = 0; i < 5; i++)
        cr_expect_eq(json_integer_value(json_object_get(
                         json_object_get(json_array_get(reqs, i), "response"), "status")),
                     want[i]);
    json_decref(q);
}

struct async {
    pthread_t t;
    atomic_bool done;
    long status;
};

static void *deliver_async(void *ud)
{
    struct async *a = ud;
    a->status = deliver("desk", "evt_slow", T0_S, NEW_SECRET, NULL, "{\"type\":\"ticket.created\"}");
    atomic_store(&a->done, true);
    return NULL;
}

Test(sink_cli, delay_on_the_manual_clock_is_held_then_released_never_early)
{
    json_decref(ctl("POST", "/control/behaviours", "{\"endpoint\":\"desk\",\"delay\":\"30s\"}",
                    201));
    struct async a = {0};
    pthread_create(&a.t, NULL, deliver_async, &a);
    int tries = 0;
    while (stats_get("held") != 1 && tries++ < 1000)
        usleep(10000);
    cr_assert_eq(stats_get("held"), 1, "the delivery is held");

    json_t *c = ctl("POST", "/control/clock", "{\"advance\":\"29s\"}", 200);
    json_decref(c);
    cr_expect_eq(stats_get("held"), 1, "released early");
    cr_expect(!atomic_load(&a.done));
    json_t *rec = record(1);
    cr_expect(json_is_null(json_object_get(json_object_get(rec, "response"), "answered_at")));
    json_decref(rec);

    /* the clock call returns once what fell due has been released */
    c = ctl("POST", "/control/clock", "{\"advance\":\"1s\"}", 200);
    cr_expect_str_eq(json_string_value(json_object_get(c, "now")), "2026-01-05T09:00:30.000Z");
    json_decref(c);
    cr_expect_eq(stats_get("held"), 0);
    pthread_join(a.t, NULL);
    cr_expect_eq(a.status, 200);
    rec = record(1);
    json_t *resp = json_object_get(rec, "response");
    cr_expect_eq(json_integer_value(json_object_get(resp, "delay_ms")), 30000);
    cr_expect_str_eq(json_string_value(json_object_get(resp, "answered_at")),
                     "2026-01-05T09:00:30.000Z");
    cr_expect_str_eq(json_string_value(json_object_get(rec, "at")), "2026-01-05T09:00:00.000Z");
    json_decref(rec);
}

Test(sink_cli, rate_limit_429_with_retry_after)
{
    json_decref(ctl("POST", "/control/behaviours",
                    "{\"endpoint\":\"desk\",\"status\":429,\"retry_after\":30}", 201));
    struct hc_reply r;
    hc_request(base, "POST", "/hooks/desk", NULL, "{}", 2, &r);
    cr_expect_eq(r.status, 429);
    cr_expect(hc_has_header(&r, "Retry-After: 30\r"), "%s", buf_str(&r.headers));
    hc_reply_free(&r);
    /* an HTTP date works as well */
    json_decref(ctl("POST", "/control/behaviours",
                    "{\"endpoint\":\"desk\",\"status\":503,"
                    "\"retry_after\":\"Wed, 21 Oct 2026 07:28:00 GMT\"}", 201));
    hc_request(base, "POST", "/hooks/desk", NULL, "{}", 2, &r);
    cr_expect_eq(r.status, 503);
    cr_expect(hc_has_header(&r, "Retry-After: Wed, 21 Oct 2026 07:28:00 GMT"), "%s",
              buf_str(&r.headers));
    hc_reply_free(&r);
}

Test(sink_cli, drop_closes_without_an_answer)
{
    json_decref(ctl("POST", "/control/behaviours", "{\"endpoint\":\"desk\",\"fault\":\"drop\"}",
                    201));
    struct hc_reply r;
    hc_request(base, "POST", "/hooks/desk", NULL, "{}", 2, &r);
    cr_expect_eq(r.cc, CURLE_GOT_NOTHING, "%s", curl_easy_strerror(r.cc));
    cr_expect_eq(r.status, 0);
    hc_reply_free(&r);
    json_t *rec = record(1);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(rec, "response"), "fault")),
                     "drop");
    cr_expect(json_is_false(json_object_get(rec, "refused")), "a dropped request was received");
    json_decref(rec);
    cr_expect_eq(deliver("desk", "evt_1", T0_S, NEW_SECRET, NULL, "{}"), 200, "one-shot");
}

Test(sink_cli, down_for_five_minutes_then_back)
{
    json_decref(ctl("POST", "/control/behaviours",
                    "{\"endpoint\":\"desk\",\"fault\":\"down\",\"for\":\"5m\"}", 201));
    cr_expect_eq(deliver("desk", "evt_1", T0_S, NEW_SECRET, NULL, "{}"), 0);
    json_decref(ctl("POST", "/control/clock", "{\"advance\":\"4m59s\"}", 200));
    cr_expect_eq(deliver("desk", "evt_1", T0_S + 299, NEW_SECRET, NULL, "{}"), 0);
    cr_expect_eq(deliver("crm", "evt_1", T0_S + 299, ANY_SECRET, NULL, "{}"), 200,
                 "the control API and other endpoints stay up");
    json_decref(ctl("POST", "/control/clock", "{\"advance\":\"1s\"}", 200));
    cr_expect_eq(deliver("desk", "evt_1", T0_S + 300, NEW_SECRET, NULL, "{}"), 200);

    json_t *q = ctl("GET", "/control/requests?endpoint=desk&body=false", NULL, 200);
    cr_expect_eq(json_integer_value(json_object_get(q, "count")), 1, "refused ones left out");
    json_t *first = json_array_get(json_object_get(q, "requests"), 0);
    cr_expect(json_is_null(json_object_get(first, "duplicate_of")),
              "the help desk never saw the refused attempts");
    json_decref(q);
    q = ctl("GET", "/control/requests?endpoint=desk&refused=only", NULL, 200);
    cr_expect_eq(json_integer_value(json_object_get(q, "count")), 2);
    json_decref(q);
    cr_expect_eq(stats_get("refused"), 2);
}

Test(sink_cli, queries_find_wait_and_near_misses)
{
    deliver("desk", "evt_1", T0_S, NEW_SECRET, NULL,
            "{\"type\":\"ticket.created\",\"ticket\":{\"id\":42,\"priority\":\"low\"}}");
    deliver("desk", "evt_2", T0_S, NEW_SECRET, NULL,
            "{\"type\":\"ticket.updated\",\"ticket\":{\"id\":42,\"priority\":\"high\"}}");
    json_t *q = ctl("POST", "/control/requests/find",
                    "{\"endpoint\":\"desk\",\"ticket\":42,\"where\":[{\"path\":"
                    "\"$.ticket.priority\",\"equals\":\"high\"}],\"body\":false}", 200);
    cr_expect_eq(json_integer_value(json_object_get(q, "count")), 1);
    json_decref(q);
    /* "await 1 within 100ms" that does not come: near misses explain why */
    q = ctl("POST", "/control/requests/find",
            "{\"type\":\"ticket.resolved\",\"ticket\":42,\"count\":1,\"wait\":\"100ms\","
            "\"body\":false}", 200);
    cr_expect(json_is_false(json_object_get(q, "satisfied")));
    json_t *near = json_object_get(q, "near_misses");
    cr_assert_eq(json_array_size(near), 2);
    json_t *n0 = json_array_get(near, 0);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(n0, "request"), "seq")), 2);
    cr_expect_eq(json_integer_value(json_object_get(n0, "met")), 1);
    json_t *f0 = json_array_get(json_object_get(n0, "failed"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(f0, "predicate")), "type");
    cr_expect_str_eq(json_string_value(json_object_get(f0, "got")), "\"ticket.updated\"");
    json_decref(q);
    /* bad queries name the field */
    q = ctl("POST", "/control/requests/find", "{\"where\":[{\"path\":\"ticket.id\"}]}", 400);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(q, "error"), "field")),
                     "where[0].path");
    json_decref(q);
    q = ctl("GET", "/control/requests?since=abc", NULL, 400);
    json_decref(q);
    q = ctl("GET", "/control/requests/99", NULL, 404);
    json_decref(q);
    /* DELETE forgets, seqs go on */
    json_decref(ctl("DELETE", "/control/requests", NULL, 200));
    deliver("desk", "evt_3", T0_S, NEW_SECRET, NULL, "{}");
    cr_expect_eq(stats_get("stored"), 1);
    cr_expect_eq(stats_get("last_seq"), 3);
}

Test(sink_cli, replay_re_sends_byte_exact)
{
    static const char body[] = "{\"type\":\"message.created\",\"text\":\"\xd0\x9f\xd1\x80\xd0\xb8"
                               "\xd0\xb2\xd0\xb5\xd1\x82\"}";
    deliver("desk", "evt_1", T0_S, NEW_SECRET, NULL, body);
    char req[256];
    snprintf(req, sizeof req, "{\"url\":\"%s/hooks/desk?from=1\"}", base);
    json_t *out = ctl("POST", "/control/replay/1", req, 200);
    cr_expect_eq(json_integer_value(json_object_get(out, "status")), 200);
    cr_expect_str_eq(json_string_value(json_object_get(out, "body")), "{\"ok\":true}");
    json_decref(out);
    json_t *a = record(1), *b = record(2);
    cr_expect_str_eq(json_string_value(json_object_get(b, "body")), body);
    cr_expect_str_eq(json_string_value(json_object_get(b, "query")), "from=1");
    cr_expect_str_eq(json_string_value(json_object_get(b, "webhook_id")), "evt_1");
    cr_expect_str_eq(verdict(b), "valid", "the signature headers traveled unchanged");
    cr_expect_eq(json_integer_value(json_object_get(b, "duplicate_of")), 1);
    json_t *ha = json_object_get(a, "headers"), *hb = json_object_get(b, "headers");
    cr_expect_eq(json_array_size(ha), json_array_size(hb));
    json_decref(a);
    json_decref(b);
    /* replay of something unknown */
    json_decref(ctl("POST", "/control/replay/77", req, 404));
    json_decref(ctl("POST", "/control/replay/1", "{\"url\":\"file:///etc/passwd\"}", 400));
}

Test(sink_cli, clock_routes_refuse_bad_input)
{
    json_decref(ctl("POST", "/control/clock", "{\"advance\":\"soon\"}", 400));
    json_decref(ctl("POST", "/control/clock", "{\"set\":\"2020-01-01T00:00:00Z\"}", 400));
    json_decref(ctl("POST", "/control/clock", "{}", 400));
    json_t *c = ctl("GET", "/control/clock", NULL, 200);
    cr_expect_str_eq(json_string_value(json_object_get(c, "now")), "2026-01-05T09:00:00.000Z");
    json_decref(c);
}

/* ---- sinks with other flags -------------------------------------------------------- */

static void no_fixture(void)
{
}

TestSuite(sink_cli_caps, .init = no_fixture, .fini = stop_sink, .timeout = 60);

Test(sink_cli_caps, eviction_counter)
{
    static const char *const flags[] = {"--max-requests", "3", NULL};
    start_sink(flags);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "evt_%d", i);
        cr_assert_eq(deliver("desk", id, T0_S, NEW_SECRET, NULL, "{}"), 200);
    }
    cr_expect_eq(stats_get("received"), 5);
    cr_expect_eq(stats_get("stored"), 3);
    cr_expect_eq(stats_get("evicted"), 2);
    json_t *e = ctl("GET", "/control/requests/1", NULL, 404);
    cr_expect(strstr(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
                     "evicted") != NULL);
    json_decref(e);
    json_t *q = ctl("GET", "/control/requests?body=false", NULL, 200);
    cr_expect_eq(json_integer_value(json_object_get(q, "evicted")), 2);
    cr_expect(json_is_false(json_object_get(q, "complete")));
    json_decref(q);
}

Test(sink_cli_caps, real_clock_hides_the_clock_routes)
{
    start_sink(NULL);
    json_decref(ctl("GET", "/control/clock", NULL, 404));
    /* unsigned deliveries are captured as unchecked */
    cr_expect_eq(deliver("desk", "evt_1", T0_S, NEW_SECRET, NULL, "{}"), 200);
    json_t *rec = record(1);
    cr_expect_str_eq(verdict(rec), "unchecked");
    json_decref(rec);
}
