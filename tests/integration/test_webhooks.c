/*
 * test_webhooks.c — outbound webhooks end to end: the real `tgcrm serve
 * --test-clock` delivering to a real receiving process on loopback
 * (tests/webhook_npm/receiver.mjs), which verifies every signature with the
 * Standard Webhooks reference library and every body against
 * docs/webhook-payload.schema.json, and answers as each test tells it.
 *
 * Time moves only through POST /v1/test/clock: timeouts, retry delays and
 * Retry-After are asserted as exact clock differences between attempts,
 * never as wall-clock durations. Waiting for an asynchronous outcome polls
 * with a generous bound.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET2 "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
#define WAIT_S 20

static struct daemon D;
static char rx_dir[64];
static pid_t rx_pid;
static int rx_port;

/* ---- paths ---------------------------------------------------------------------- */

/* The repository root: two levels above $TGCRM_BIN (build/tgcrm), else ".". */
static const char *root(void)
{
    static char r[PATH_MAX];
    if (r[0] != '\0')
        return r;
    const char *b = getenv("TGCRM_BIN");
    char tmp[PATH_MAX];
    if (b == NULL || realpath(b, tmp) == NULL) {
        snprintf(r, sizeof r, ".");
        return r;
    }
    snprintf(r, sizeof r, "%s", dirname(dirname(tmp)));
    return r;
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the receiver ------------------------------------------------------------------ */

static size_t collect_body(char *p, size_t s, size_t n, void *ud)
{
    size_t len = s * n;
    char **out = ud;
    size_t old = *out ? strlen(*out) : 0;
    *out = realloc(*out, old + len + 1);
    memcpy(*out + old, p, len);
    (*out)[old + len] = '\0';
    return len;
}

/* HTTP to the receiver; returns the status, *out (may be NULL) the body. */
static long rx_http(const char *method, const char *path, const char *body, char **out)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", rx_port, path);
    CURL *h = curl_easy_init();
    char *got = NULL;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (out != NULL)
        *out = got;
    else
        free(got);
    return status;
}

static void rx_config(const char *json)
{
    cr_assert_eq(rx_http("POST", "/control/config", json, NULL), 200, "receiver config %s", json);
}

/* Everything the receiver got on `path` (NULL: all), in arrival order. */
static json_t *rx_received(const char *path)
{
    char p[128], *body = NULL;
    snprintf(p, sizeof p, "/control/received%s%s", path ? "?path=" : "", path ? path : "");
    cr_assert_eq(rx_http("GET", p, NULL, &body), 200);
    json_error_t je;
    json_t *v = json_loads(body, 0, &je);
    free(body);
    cr_assert_not_null(v);
    json_t *list = json_incref(json_object_get(v, "received"));
    json_decref(v);
    return list;
}

static void rx_start(void)
{
    char mods[PATH_MAX + 64];
    snprintf(mods, sizeof mods, "%s/tests/webhook_npm/node_modules/standardwebhooks", root());
    if (access(mods, F_OK) != 0) {
        char cmd[PATH_MAX + 128];
        snprintf(cmd, sizeof cmd, "cd '%s/tests/webhook_npm' && npm ci --no-audit --no-fund "
                 "--loglevel=error >/dev/null 2>&1", root());
        cr_assert_eq(system(cmd), 0, "npm ci in tests/webhook_npm failed");
    }
    snprintf(rx_dir, sizeof rx_dir, "/tmp/tgcrm-rx-XXXXXX");
    cr_assert_not_null(mkdtemp(rx_dir));
    char portfile[128], logfile[128], script[PATH_MAX + 64], schema[PATH_MAX + 64];
    snprintf(portfile, sizeof portfile, "%s/port", rx_dir);
    snprintf(logfile, sizeof logfile, "%s/receiver.log", rx_dir);
    snprintf(script, sizeof script, "%s/tests/webhook_npm/receiver.mjs", root());
    snprintf(schema, sizeof schema, "%s/docs/webhook-payload.schema.json", root());
    rx_pid = fork();
    cr_assert_geq(rx_pid, 0);
    if (rx_pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp("node", "node", script, portfile, schema, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000 && rx_port == 0; i++) {
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            if (fscanf(f, "%d", &rx_port) != 1)
                rx_port = 0;
            fclose(f);
        }
        if (rx_port == 0)
            msleep(10);
    }
    cr_assert_gt(rx_port, 0, "the receiver did not start (see %s)", logfile);
}

static void rx_stop(void)
{
    if (rx_pid > 0) {
        kill(rx_pid, SIGTERM);
        waitpid(rx_pid, NULL, 0);
        rx_pid = 0;
    }
    rx_port = 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", rx_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", rx_dir);
}

/* ---- the daemon ------------------------------------------------------------------------ */

static json_t *call(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_send(&D, method, path, body, &r), 0, "transport failure %s %s",
                 method, path);
    cr_assert_eq(r.status, want, "%s %s: want %ld, got %ld: %s\nlog:\n%s", method, path, want,
                 r.status, r.body, daemon_log_tail(&D));
    json_error_t je;
    json_t *v = json_loads(r.body, 0, &je);
    cr_assert_not_null(v, "not JSON: %s", r.body);
    reply_free(&r);
    return v;
}

static void rx_clock(long long ms)
{
    char cfg[96];
    snprintf(cfg, sizeof cfg, "{\"now_ms\": %lld}", ms);
    rx_config(cfg);
}

/* The daemon's manual clock, ms. */
static long long clock_ms(void)
{
    json_t *v = call("GET", "/v1/test/clock", NULL, 200);
    long long ms = json_integer_value(json_object_get(v, "now_ms"));
    json_decref(v);
    return ms;
}

/* Tell the receiver what time the daemon's manual clock says. */
static void sync_clock(void)
{
    rx_clock(clock_ms());
}

/* Move the clock by `ms`, announcing the new time to the receiver first
 * (requests signed at the old time are still accepted). */
static void advance_ms(long long ms)
{
    rx_clock(clock_ms() + ms);
    char body[64];
    snprintf(body, sizeof body, "{\"advance\": \"%lldms\"}", ms);
    json_decref(call("POST", "/v1/test/clock", body, 200));
}

#define SEC 1000LL
#define MIN (60 * SEC)

/*
 * Start a receiver and a daemon whose `webhooks:` section is hooks_fmt
 * with every %d replaced by the receiver's port (up to three).
 */
static void up_hooks(const char *hooks_fmt)
{
    rx_start();
    char yaml[4096];
    snprintf(yaml, sizeof yaml, hooks_fmt, rx_port, rx_port, rx_port);
    daemon_init(&D, yaml);
    D.test_clock = true;
    cr_assert_eq(daemon_start(&D), 0, "serve did not start:\n%s", daemon_log_tail(&D));
    rx_config("{\"secrets\": [\"" SECRET "\"]}");
    sync_clock();
}

static void down(void)
{
    daemon_cleanup(&D);
    rx_stop();
}

static const char one_endpoint[] =
    "webhooks:\n"
    "  - name: main\n"
    "    url: \"http://127.0.0.1:%d/main\"\n"
    "    secret: \"" SECRET "\"\n"
    "    timeout: 10s\n"
    "    retry: [5s, 30s, 2m, 10m, 30m]\n";

static void up_one(void)
{
    up_hooks(one_endpoint);
}

/* A customer's message; returns the ticket id. */
static int64_t customer_says(long user, const char *text)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"customer\":{\"telegram_user_id\":%ld,\"first_name\":"
             "\"Cust%ld\"},\"text\":\"%s\"}", user, user, text);
    struct http_reply r;
    cr_assert_eq(daemon_send(&D, "POST", "/v1/customer-messages", body, &r), 0);
    cr_assert(r.status == 200 || r.status == 201, "%ld: %s", r.status, r.body);
    json_error_t je;
    json_t *v = json_loads(r.body, 0, &je);
    int64_t id = json_integer_value(json_object_get(json_object_get(v, "ticket"), "id"));
    json_decref(v);
    reply_free(&r);
    return id;
}

static void agent_replies(int64_t ticket, const char *text)
{
    char path[64], body[256];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)ticket);
    snprintf(body, sizeof body, "{\"agent\":\"alice\",\"text\":\"%s\"}", text);
    json_decref(call("POST", path, body, 201));
}

static void set_status(int64_t ticket, const char *status)
{
    char path[64], body[128];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)ticket);
    snprintf(body, sizeof body, "{\"status\":\"%s\"}", status);
    json_decref(call("PATCH", path, body, 200));
}

/* The endpoint's record from the API. */
static json_t *endpoint(const char *name)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/webhooks/endpoints/%s", name);
    return call("GET", path, NULL, 200);
}

static int64_t count_of(const char *name, const char *state)
{
    json_t *e = endpoint(name);
    int64_t n = json_integer_value(json_object_get(json_object_get(e, "deliveries"), state));
    json_decref(e);
    return n;
}

/* Every delivery row (all pages) matching query, ascending id. */
static json_t *deliveries(const char *query)
{
    json_t *all = json_array();
    long long after = 0;
    for (;;) {
        char path[256];
        snprintf(path, sizeof path, "/v1/webhooks/deliveries?limit=500&after=%lld%s%s", after,
                 query && *query ? "&" : "", query ? query : "");
        json_t *v = call("GET", path, NULL, 200);
        json_array_extend(all, json_object_get(v, "deliveries"));
        json_t *next = json_object_get(v, "next_after");
        bool more = json_is_integer(next);
        after = more ? json_integer_value(next) : 0;
        json_decref(v);
        if (!more)
            return all;
    }
}

/* Poll until fn() holds, at most WAIT_S seconds of real time. */
static bool eventually(bool (*fn)(void *), void *arg)
{
    for (int i = 0; i < WAIT_S * 50; i++) {
        if (fn(arg))
            return true;
        msleep(20);
    }
    return fn(arg);
}

struct want { const char *endpoint, *state; int64_t n; };

static bool count_is(void *arg)
{
    const struct want *w = arg;
    return count_of(w->endpoint, w->state) == w->n;
}

static int64_t metric(const char *name_and_labels);

/* Every event so far is fanned out to the endpoint (its cursor has reached
 * the newest event) and none of its deliveries is pending. */
static bool nothing_pending(void *arg)
{
    const char *name = arg;
    json_t *e = endpoint(name);
    int64_t cursor = json_integer_value(json_object_get(e, "last_event_id"));
    int64_t pending = json_integer_value(json_object_get(json_object_get(e, "deliveries"),
                                                         "pending"));
    json_decref(e);
    return pending == 0 && cursor >= metric("tgcrm_events_total ");
}

static size_t received_count(const char *path)
{
    json_t *l = rx_received(path);
    size_t n = json_array_size(l);
    json_decref(l);
    return n;
}

struct at_least { const char *path; size_t n; };

static bool received_at_least(void *arg)
{
    const struct at_least *w = arg;
    return received_count(w->path) >= w->n;
}

/* The number N of a body or header id "evt_N" / "evt_N_pK". */
static int64_t event_no(const char *id)
{
    return id != NULL && strncmp(id, "evt_", 4) == 0 ? strtoll(id + 4, NULL, 10) : -1;
}

/*
 * Check what arrived on `path`: every signature verified, every body valid
 * against the schema, and per ticket the first arrival of each event in
 * ascending event order. Returns the distinct webhook-ids seen.
 */
static size_t check_arrivals(const char *path)
{
    json_t *l = rx_received(path);
    json_t *seen = json_object();
    json_t *last = json_object();   /* ticket id → last event number */
    size_t i;
    json_t *r;
    json_array_foreach(l, i, r) {
        const char *id = json_string_value(json_object_get(r, "id"));
        cr_assert_not_null(id, "a request without webhook-id");
        cr_expect(json_is_true(json_object_get(r, "verified")), "%s: signature not verified: %s",
                  id, json_string_value(json_object_get(r, "verify_error")));
        cr_expect(json_is_true(json_object_get(r, "schema_ok")), "%s: schema: %s", id,
                  json_string_value(json_object_get(r, "schema_errors")));
        json_t *body = json_object_get(r, "body");
        json_t *prev = json_object_get(seen, id);
        if (prev != NULL) {   /* a duplicate: the same webhook-id carries the same event */
            cr_expect(json_equal(json_object_get(prev, "id"), json_object_get(body, "id")) &&
                      json_equal(json_object_get(prev, "type"), json_object_get(body, "type")),
                      "%s sent twice with different bodies", id);
            continue;
        }
        json_object_set(seen, id, body);
        json_t *t = json_object_get(body, "ticket");
        char key[32];
        snprintf(key, sizeof key, "%lld",
                 (long long)(json_is_object(t) ? json_integer_value(json_object_get(t, "id")) : 0));
        int64_t n = event_no(id);
        json_t *lv = json_object_get(last, key);
        cr_expect(lv == NULL || json_integer_value(lv) < n ||
                  (json_integer_value(lv) == n && strstr(id, "_p") != NULL),
                  "ticket %s: %s arrived after event %lld", key, id,
                  (long long)json_integer_value(lv));
        json_object_set_new(last, key, json_integer(n));
        /* the thread is in order (and whole, unless this is a later part) */
        json_t *th = json_object_get(body, "thread");
        json_int_t first = json_integer_value(json_object_get(json_array_get(th, 0), "seq"));
        if (json_object_get(body, "part") == NULL || json_integer_value(
                json_object_get(body, "part")) == 1)
            cr_expect(json_array_size(th) == 0 || first == 1, "%s: thread does not start at 1",
                      id);
        for (size_t k = 0; k < json_array_size(th); k++)
            cr_expect_eq(json_integer_value(json_object_get(json_array_get(th, k), "seq")),
                         first + (json_int_t)k, "%s: thread out of order", id);
    }
    size_t distinct = json_object_size(seen);
    json_decref(seen);
    json_decref(last);
    json_decref(l);
    return distinct;
}

/* ---- tests ------------------------------------------------------------------------------- */

Test(webhooks, fifty_tickets_signed_valid_and_in_order, .init = up_one, .fini = down,
     .timeout = 180)
{
    for (long c = 0; c < 50; c++) {
        int64_t t = customer_says(5000 + c, "My invoice is wrong");
        customer_says(5000 + c, "It says \\\"twice\\\" — €12.50 ✓");
        agent_replies(t, "Looking into it");
        set_status(t, "resolved");
    }
    cr_assert(eventually(nothing_pending, "main"), "deliveries still pending:\n%s",
              daemon_log_tail(&D));
    int64_t succeeded = count_of("main", "succeeded");
    size_t distinct = check_arrivals("/main");
    cr_expect_eq((int64_t)distinct, succeeded, "distinct webhook-ids %zu, deliveries %lld",
                 distinct, (long long)succeeded);

    /* every ticket went through its lifecycle: created, messages, resolved */
    json_t *all = deliveries("state=succeeded");
    int created = 0, resolved = 0, messages = 0;
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d) {
        const char *type = json_string_value(json_object_get(d, "type"));
        created += strcmp(type, "ticket.created") == 0;
        resolved += strcmp(type, "ticket.resolved") == 0;
        messages += strcmp(type, "message.created") == 0;
        cr_expect_eq(json_array_size(json_object_get(d, "attempts")), 1);
    }
    json_decref(all);
    cr_expect_eq(created, 50);
    cr_expect_eq(resolved, 50);
    cr_expect_geq(messages, 150, "two customer messages and a reply per ticket");
}

/* The attempts of the only delivery of event type `type` for the ticket. */
static json_t *attempts_of(int64_t ticket, const char *type)
{
    char q[64];
    snprintf(q, sizeof q, "ticket=%lld", (long long)ticket);
    json_t *all = deliveries(q);
    json_t *found = NULL;
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d)
        if (strcmp(json_string_value(json_object_get(d, "type")), type) == 0)
            found = json_incref(d);
    json_decref(all);
    cr_assert_not_null(found, "no %s delivery for ticket %lld", type, (long long)ticket);
    return found;
}

/* An API time ("2026-01-05T09:00:05.000Z") in ms since the epoch. */
static int64_t iso_ms(const char *at)
{
    cr_assert_not_null(at);
    struct tm tm = {0};
    int ms = 0;
    cr_assert_eq(sscanf(at, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms), 7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* When attempt k of a delivery started. */
static int64_t attempt_ms(json_t *delivery, size_t k)
{
    json_t *a = json_array_get(json_object_get(delivery, "attempts"), k);
    return iso_ms(json_string_value(json_object_get(a, "at")));
}

struct attempts_want { int64_t ticket; const char *type; size_t n; };

static bool has_attempts(void *arg)
{
    const struct attempts_want *w = arg;
    char q[64];
    snprintf(q, sizeof q, "ticket=%lld", (long long)w->ticket);
    json_t *all = deliveries(q);
    bool ok = false;
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d)
        if (strcmp(json_string_value(json_object_get(d, "type")), w->type) == 0)
            ok = json_array_size(json_object_get(d, "attempts")) >= w->n;
    json_decref(all);
    return ok;
}

Test(webhooks, slow_endpoint_times_out_and_is_retried_on_schedule, .init = up_one,
     .fini = down, .timeout = 120)
{
    rx_config("{\"delay_ms\": 30000}");   /* answers only after 30 s */
    int64_t t = customer_says(6001, "hello");
    struct at_least one = {"/main", 1};
    cr_assert(eventually(received_at_least, &one));
    advance_ms(10 * SEC);   /* the timeout, on the daemon's clock */
    struct attempts_want w = {t, "ticket.created", 1};
    cr_assert(eventually(has_attempts, &w), "the timeout was not recorded:\n%s",
              daemon_log_tail(&D));
    json_t *d = attempts_of(t, "ticket.created");
    json_t *a0 = json_array_get(json_object_get(d, "attempts"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(a0, "outcome")), "retry");
    cr_expect(json_is_null(json_object_get(a0, "status")));
    cr_expect(strstr(json_string_value(json_object_get(a0, "error")), "timeout") != NULL);
    cr_expect_str_eq(json_string_value(json_object_get(d, "state")), "pending");
    json_decref(d);

    rx_config("{\"delay_ms\": 0}");
    advance_ms(4 * SEC);   /* not yet: the first retry is 5 s after the failure */
    advance_ms(SEC);
    w.n = 2;
    cr_assert(eventually(has_attempts, &w), "no retry after 5 s:\n%s", daemon_log_tail(&D));
    cr_assert(eventually(nothing_pending, "main"));
    d = attempts_of(t, "ticket.created");
    cr_expect_str_eq(json_string_value(json_object_get(d, "state")), "succeeded");
    cr_expect_eq(json_array_size(json_object_get(d, "attempts")), 2);
    cr_expect_eq(attempt_ms(d, 1) - attempt_ms(d, 0), 15000,
                 "10 s timeout + 5 s retry delay on the clock");
    json_decref(d);

    /* the receiver saw the first request (given up on) and the retry, same id */
    json_t *l = rx_received("/main");
    json_t *first = json_array_get(l, 0);
    cr_expect(json_is_true(json_object_get(first, "aborted")));
    size_t same = 0, i;
    json_t *r;
    json_array_foreach(l, i, r)
        same += strcmp(json_string_value(json_object_get(r, "id")),
                       json_string_value(json_object_get(first, "id"))) == 0;
    cr_expect_eq(same, 2);
    json_decref(l);
    check_arrivals("/main");
}

Test(webhooks, server_errors_then_recovery_keep_ticket_order, .init = up_one, .fini = down,
     .timeout = 120)
{
    rx_config("{\"status\": 500}");
    int64_t t = customer_says(6101, "first");
    customer_says(6101, "second");
    struct attempts_want w = {t, "ticket.created", 1};
    cr_assert(eventually(has_attempts, &w));
    advance_ms(5 * SEC);
    w.n = 2;
    cr_assert(eventually(has_attempts, &w));
    advance_ms(30 * SEC);
    w.n = 3;
    cr_assert(eventually(has_attempts, &w));
    /* the later events of the ticket waited behind the failing one */
    json_t *l = rx_received("/main");
    size_t i;
    json_t *r;
    json_array_foreach(l, i, r)
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(r, "body"), "type")),
                         "ticket.created", "a later event overtook the failing one");
    json_decref(l);
    cr_expect_eq(count_of("main", "failing"), 1);

    rx_config("{\"status\": 200}");
    advance_ms(2 * MIN);
    cr_assert(eventually(nothing_pending, "main"), "%s", daemon_log_tail(&D));
    json_t *d = attempts_of(t, "ticket.created");
    cr_expect_eq(json_array_size(json_object_get(d, "attempts")), 4);
    cr_expect_eq(attempt_ms(d, 1) - attempt_ms(d, 0), 5000);
    cr_expect_eq(attempt_ms(d, 2) - attempt_ms(d, 1), 30000);
    cr_expect_eq(attempt_ms(d, 3) - attempt_ms(d, 2), 120000);
    json_decref(d);
    check_arrivals("/main");
}

Test(webhooks, one_failing_ticket_does_not_hold_back_others, .init = up_one, .fini = down,
     .timeout = 120)
{
    rx_config("{\"fail_ids\": [\"evt_1\"]}");   /* the first event of the first ticket */
    int64_t a = customer_says(6201, "ticket A");
    int64_t b = customer_says(6202, "ticket B");
    customer_says(6202, "ticket B again");
    struct want w = {"main", "succeeded", 3};   /* B's three; A's two wait */
    cr_assert(eventually(count_is, &w), "%s", daemon_log_tail(&D));
    cr_expect_eq(count_of("main", "pending"), 2);
    json_t *d = attempts_of(b, "ticket.created");
    cr_expect_str_eq(json_string_value(json_object_get(d, "state")), "succeeded");
    json_decref(d);
    rx_config("{\"fail_ids\": []}");
    advance_ms(5 * SEC);
    cr_assert(eventually(nothing_pending, "main"));
    d = attempts_of(a, "ticket.created");
    cr_expect_eq(json_array_size(json_object_get(d, "attempts")), 2);
    json_decref(d);
    check_arrivals("/main");
}

Test(webhooks, too_many_requests_waits_for_retry_after, .init = up_one, .fini = down,
     .timeout = 120)
{
    rx_config("{\"status\": 429, \"retry_after\": 120}");
    int64_t t = customer_says(6301, "hello");
    struct attempts_want w = {t, "ticket.created", 1};
    cr_assert(eventually(has_attempts, &w));
    json_t *d = attempts_of(t, "ticket.created");
    cr_expect_eq(json_integer_value(json_object_get(d, "last_status")), 429);
    /* next_attempt_at is the Retry-After, not the 5 s of the schedule */
    cr_expect_eq(iso_ms(json_string_value(json_object_get(d, "next_attempt_at"))) -
                 attempt_ms(d, 0), 120000);
    json_decref(d);
    advance_ms(5 * SEC);   /* the schedule alone would retry now */
    rx_config("{\"status\": 200, \"retry_after\": null}");
    advance_ms(115 * SEC);
    cr_assert(eventually(nothing_pending, "main"), "%s", daemon_log_tail(&D));
    d = attempts_of(t, "ticket.created");
    cr_expect_eq(json_array_size(json_object_get(d, "attempts")), 2);
    cr_expect_eq(attempt_ms(d, 1) - attempt_ms(d, 0), 120000);
    json_decref(d);
}

static bool disabled(void *arg)
{
    json_t *e = endpoint(arg);
    bool off = json_is_false(json_object_get(e, "enabled"));
    json_decref(e);
    return off;
}

static int64_t metric(const char *name_and_labels)
{
    struct http_reply r;
    cr_assert_eq(daemon_get(&D, "/metrics", &r), 0);
    int64_t v = -1;
    /* a sample line, not the # HELP line that names the metric too */
    for (const char *p = r.body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
        p += *p == '\n';
        if (strncmp(p, name_and_labels, strlen(name_and_labels)) == 0) {
            v = strtoll(p + strlen(name_and_labels), NULL, 10);
            break;
        }
    }
    reply_free(&r);
    return v;
}

Test(webhooks, gone_disables_the_endpoint_until_enabled, .init = up_one, .fini = down,
     .timeout = 120)
{
    rx_config("{\"status\": 410}");
    customer_says(6401, "hello");
    cr_assert(eventually(disabled, "main"), "%s", daemon_log_tail(&D));
    json_t *e = endpoint("main");
    cr_expect(strstr(json_string_value(json_object_get(e, "disabled_reason")), "410") != NULL);
    json_decref(e);
    cr_expect_eq(metric("tgcrm_webhook_disabled_total{endpoint=\"main\"} "), 1);
    cr_expect_eq(metric("tgcrm_webhook_endpoint_disabled{endpoint=\"main\"} "), 1);

    /* while disabled, new events queue up but nothing is sent */
    size_t before = received_count("/main");
    customer_says(6402, "another");
    struct want w = {"main", "pending", 4};
    cr_assert(eventually(count_is, &w));
    advance_ms(60 * MIN);
    cr_expect_eq(received_count("/main"), before);

    rx_config("{\"status\": 200}");
    json_decref(call("POST", "/v1/webhooks/endpoints/main/enable", NULL, 200));
    cr_assert(eventually(nothing_pending, "main"), "%s", daemon_log_tail(&D));
    cr_expect_eq(count_of("main", "succeeded"), 4);
    check_arrivals("/main");
    json_decref(call("POST", "/v1/webhooks/endpoints/nope/enable", NULL, 404));
}

/* The dispatcher has done what is due at this clock time and has no attempt in flight. */
static bool settled(void *arg)
{
    (void)arg;
    json_t *v = call("GET", "/v1/test/idle?wait_ms=1000", NULL, 200);
    bool ok = json_is_true(json_object_get(v, "idle")) &&
              json_integer_value(json_object_get(v, "webhooks_in_flight")) == 0;
    json_decref(v);
    return ok;
}

Test(webhooks, endpoint_down_five_minutes_then_everything_in_order, .init = up_one,
     .fini = down, .timeout = 180)
{
    rx_config("{\"reset\": true}");   /* connections dropped: the endpoint is down */
    int64_t tickets[6];
    for (int m = 0; m < 5; m++) {     /* five minutes of activity */
        for (int c = 0; c < 6; c++) {
            if (m == 0)
                tickets[c] = customer_says(6500 + c, "down?");
            else
                customer_says(6500 + c, "still down?");
        }
        advance_ms(MIN);
    }
    cr_expect_eq(count_of("main", "succeeded"), 0);
    cr_expect_gt(count_of("main", "failing"), 0);
    /* no attempt of the outage may still be in flight when the endpoint comes
     * back: one that failed after the jump below would be rescheduled past it */
    cr_assert(eventually(settled, NULL), "the dispatcher did not settle");
    rx_config("{\"reset\": false}");
    advance_ms(30 * MIN);   /* past every pending retry of the schedule */
    cr_assert(eventually(nothing_pending, "main"), "%s", daemon_log_tail(&D));
    cr_expect_eq(count_of("main", "dead"), 0);
    size_t distinct = check_arrivals("/main");
    cr_expect_eq((int64_t)distinct, count_of("main", "succeeded"));
    cr_expect_eq(distinct, 6 * 2 + 6 * 4, "every event of the five minutes arrived");
    (void)tickets;
}

static const char short_schedule[] =
    "webhooks:\n"
    "  - name: main\n"
    "    url: \"http://127.0.0.1:%d/main\"\n"
    "    secret: \"" SECRET "\"\n"
    "    retry: [5s]\n";

static void up_short(void)
{
    up_hooks(short_schedule);
}

Test(webhooks, dead_letter_list_and_replay, .init = up_short, .fini = down, .timeout = 120)
{
    rx_config("{\"status\": 500}");
    int64_t t = customer_says(6601, "hello");   /* ticket.created + message.created */
    struct attempts_want w = {t, "ticket.created", 1};
    cr_assert(eventually(has_attempts, &w));
    advance_ms(5 * SEC);
    struct want dead = {"main", "dead", 1};
    cr_assert(eventually(count_is, &dead), "%s", daemon_log_tail(&D));
    /* the dead one no longer holds its ticket back: the next event is tried */
    struct attempts_want w2 = {t, "message.created", 1};
    cr_assert(eventually(has_attempts, &w2));
    advance_ms(5 * SEC);
    dead.n = 2;
    cr_assert(eventually(count_is, &dead));
    cr_expect_eq(metric("tgcrm_webhook_dead_total{endpoint=\"main\"} "), 2);

    json_t *list = deliveries("state=dead&endpoint=main");
    cr_assert_eq(json_array_size(list), 2);
    int64_t first = json_integer_value(json_object_get(json_array_get(list, 0), "id"));
    json_t *a = json_object_get(json_array_get(list, 0), "attempts");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "outcome")), "dead");
    json_decref(list);

    rx_config("{\"status\": 200}");
    char path[64];
    snprintf(path, sizeof path, "/v1/webhooks/deliveries/%lld/replay", (long long)first);
    json_t *d = call("POST", path, NULL, 200);
    cr_expect_str_eq(json_string_value(json_object_get(d, "state")), "pending");
    cr_expect_eq(json_integer_value(json_object_get(d, "attempt_count")), 0);
    json_decref(d);
    struct want ok = {"main", "succeeded", 1};
    cr_assert(eventually(count_is, &ok), "%s", daemon_log_tail(&D));
    json_decref(call("POST", path, NULL, 200));   /* a succeeded one may be sent again */

    json_t *rd = call("POST", "/v1/webhooks/endpoints/main/replay-dead", NULL, 200);
    cr_expect_eq(json_integer_value(json_object_get(rd, "replayed")), 1);
    json_decref(rd);
    cr_assert(eventually(nothing_pending, "main"));
    cr_expect_eq(count_of("main", "dead"), 0);
    cr_expect_eq(count_of("main", "succeeded"), 2);
    check_arrivals("/main");
}

Test(webhooks, sigkill_with_deliveries_in_flight_loses_nothing, .init = up_one,
     .fini = down, .timeout = 180)
{
    rx_config("{\"delay_ms\": 3000}");   /* hold requests: they are in flight */
    for (long c = 0; c < 20; c++)
        customer_says(6700 + c, "in flight");
    struct at_least some = {"/main", 16};   /* the endpoint's concurrency */
    cr_assert(eventually(received_at_least, &some));
    cr_assert_eq(daemon_stop(&D, SIGKILL), 128 + SIGKILL);
    rx_config("{\"delay_ms\": 0}");
    cr_assert_eq(daemon_start(&D), 0, "restart failed:\n%s", daemon_log_tail(&D));
    sync_clock();
    cr_assert(eventually(nothing_pending, "main"), "%s", daemon_log_tail(&D));
    /* 20 tickets: ticket.created + message.created each */
    struct at_least all = {"/main", 40};
    cr_assert(eventually(received_at_least, &all));
    size_t distinct = check_arrivals("/main");
    cr_expect_eq(distinct, 40, "every event delivered; duplicates only by webhook-id");
    cr_expect_eq(count_of("main", "succeeded"), 40);
}

static const char two_endpoints[] =
    "webhooks:\n"
    "  - name: good\n"
    "    url: \"http://127.0.0.1:%d/good\"\n"
    "    secret: \"" SECRET "\"\n"
    "  - name: bad\n"
    "    url: \"http://127.0.0.1:%d/bad\"\n"
    "    secret: \"" SECRET "\"\n"
    "    events: [ticket.created]\n"
    "    timeout: 10s\n";

static void up_two(void)
{
    up_hooks(two_endpoints);
}

Test(webhooks, a_slow_endpoint_never_slows_another, .init = up_two, .fini = down,
     .timeout = 120)
{
    rx_config("{\"path\": \"/bad\", \"delay_ms\": 60000}");
    for (long c = 0; c < 30; c++)
        customer_says(6800 + c, "hello");
    /* all 60 events reach the good endpoint while the bad one hangs */
    struct want w = {"good", "succeeded", 60};
    cr_assert(eventually(count_is, &w), "%s", daemon_log_tail(&D));
    cr_expect_eq(count_of("bad", "succeeded"), 0);
    cr_expect_eq(count_of("bad", "pending"), 30, "the filter keeps only ticket.created");
    check_arrivals("/good");
    /* the filter: only ticket.created reached /bad */
    json_t *l = rx_received("/bad");
    size_t i;
    json_t *r;
    json_array_foreach(l, i, r)
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(r, "body"), "type")),
                         "ticket.created");
    json_decref(l);
}

Test(webhooks, secret_rotation_on_reload, .init = up_one, .fini = down, .timeout = 120)
{
    customer_says(6901, "before the rotation");
    cr_assert(eventually(nothing_pending, "main"));
    /* rotate: the new secret signs first, the old one still signs too */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sed -i 's|    secret: \"" SECRET "\"|    secret: \"" SECRET2
             "\"\\n    previous_secret: \"" SECRET "\"|' '%s'", D.config);
    cr_assert_eq(system(cmd), 0);
    kill(D.pid, SIGHUP);
    msleep(300);
    rx_config("{\"secrets\": [\"" SECRET "\"]}");   /* a receiver not rotated yet */
    customer_says(6902, "during the rotation");
    struct want w = {"main", "succeeded", 4};
    cr_assert(eventually(count_is, &w), "%s", daemon_log_tail(&D));
    check_arrivals("/main");
    rx_config("{\"secrets\": [\"" SECRET2 "\"]}");  /* one rotated already */
    customer_says(6903, "after the receiver rotated");
    w.n = 6;
    cr_assert(eventually(count_is, &w));
    json_t *l = rx_received("/main");
    json_t *last = json_array_get(l, json_array_size(l) - 1);
    cr_expect(json_is_true(json_object_get(last, "verified")));
    const char *sig = json_string_value(json_object_get(last, "signature"));
    cr_expect(sig && strchr(sig, ' ') != NULL, "two signatures during the rotation: %s", sig);
    json_decref(l);
}

Test(webhooks, metrics_count_sent_and_latency, .init = up_one, .fini = down, .timeout = 60)
{
    customer_says(7001, "hello");
    cr_assert(eventually(nothing_pending, "main"));
    cr_expect_eq(metric("tgcrm_webhook_sent_total{endpoint=\"main\"} "), 2);
    cr_expect_eq(metric("tgcrm_webhook_delivery_latency_milliseconds_count{endpoint=\"main\"} "),
                 2);
    cr_expect_eq(metric("tgcrm_webhook_delivery_latency_milliseconds_bucket{endpoint=\"main\","
                        "le=\"+Inf\"} "), 2);
    cr_expect_eq(metric("tgcrm_webhook_retried_total{endpoint=\"main\"} "), 0);
}

static const char small_payloads[] =
    "webhooks:\n"
    "  - name: main\n"
    "    url: \"http://127.0.0.1:%d/main\"\n"
    "    secret: \"" SECRET "\"\n"
    "    max_payload: 3KiB\n";

static void up_small(void)
{
    up_hooks(small_payloads);
}

Test(webhooks, oversize_events_arrive_split_in_order, .init = up_small, .fini = down,
     .timeout = 120)
{
    char text[1201];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    for (int i = 0; i < 6; i++)
        customer_says(7101, text);
    cr_assert(eventually(nothing_pending, "main"), "%s", daemon_log_tail(&D));
    check_arrivals("/main");
    /* the last message.created carries the whole thread, in parts */
    json_t *l = rx_received("/main");
    int64_t last_event = 0;
    size_t i;
    json_t *r;
    json_array_foreach(l, i, r)
        if (event_no(json_string_value(json_object_get(r, "id"))) > last_event)
            last_event = event_no(json_string_value(json_object_get(r, "id")));
    int parts = 0, next_seq = 1, expect_part = 1;
    json_array_foreach(l, i, r) {
        json_t *body = json_object_get(r, "body");
        if (event_no(json_string_value(json_object_get(r, "id"))) != last_event)
            continue;
        char want[64];
        snprintf(want, sizeof want, "evt_%lld_p%d", (long long)last_event, expect_part);
        cr_expect_str_eq(json_string_value(json_object_get(r, "id")), want);
        cr_expect_eq(json_integer_value(json_object_get(body, "part")), expect_part);
        parts = (int)json_integer_value(json_object_get(body, "parts"));
        json_t *th = json_object_get(body, "thread");
        for (size_t k = 0; k < json_array_size(th); k++)
            cr_expect_eq(json_integer_value(json_object_get(json_array_get(th, k), "seq")),
                         next_seq++);
        expect_part++;
    }
    json_decref(l);
    cr_expect_gt(parts, 1, "a thread of 6 x 1200 characters must be split at 3 KiB");
    cr_expect_eq(expect_part - 1, parts, "every part arrived, in order");
    cr_expect_geq(next_seq, 7, "the parts join into the whole thread");
}

static const char retention[] =
    "webhooks:\n"
    "  - name: main\n"
    "    url: \"http://127.0.0.1:%d/main\"\n"
    "    secret: \"" SECRET "\"\n"
    "    retry: [5s]\n"
    "    keep_succeeded: 2h\n"
    "    keep_dead: 4h\n";

static void up_retention(void)
{
    up_hooks(retention);
}

static bool deliveries_are(void *arg)
{
    const int64_t *n = arg;
    json_t *all = deliveries(NULL);
    bool ok = (int64_t)json_array_size(all) == *n;
    json_decref(all);
    return ok;
}

/* Delivered rows go after keep_succeeded, dead letters after keep_dead,
 * pending ones never; a pass runs once an hour of the dispatcher's clock,
 * so a row goes within the hour after its retention ends. */
Test(webhooks, retention_forgets_old_deliveries_only, .init = up_retention, .fini = down,
     .timeout = 120)
{
    customer_says(6701, "hello");                 /* ticket.created + message.created */
    struct want ok = {"main", "succeeded", 2};
    cr_assert(eventually(count_is, &ok), "%s", daemon_log_tail(&D));
    rx_config("{\"status\": 500}");
    int64_t t2 = customer_says(6702, "second");   /* two more, to die */
    struct attempts_want w = {t2, "ticket.created", 1};
    cr_assert(eventually(has_attempts, &w));
    advance_ms(5 * SEC);
    struct want dead = {"main", "dead", 1};
    cr_assert(eventually(count_is, &dead), "%s", daemon_log_tail(&D));
    rx_config("{\"status\": 200}");
    struct attempts_want w2 = {t2, "message.created", 1};
    cr_assert(eventually(has_attempts, &w2));
    advance_ms(5 * SEC);                          /* its retry, if it met the 500 */
    struct want ok3 = {"main", "succeeded", 3};
    cr_assert(eventually(count_is, &ok3), "%s", daemon_log_tail(&D));

    /* the pass due 1h59m later finds nothing old enough */
    advance_ms(119 * MIN);
    msleep(200);
    int64_t four = 4, zero = 0;
    cr_assert(deliveries_are(&four));
    /* the next pass, an hour later: the delivered rows are past 2h and go,
     * the dead letter (4h) stays */
    advance_ms(62 * MIN);
    struct want ok0 = {"main", "succeeded", 0};
    cr_assert(eventually(count_is, &ok0), "%s", daemon_log_tail(&D));
    cr_expect_eq(count_of("main", "dead"), 1);
    json_t *left = deliveries(NULL);
    cr_assert_eq(json_array_size(left), 1);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(left, 0), "state")), "dead");
    json_decref(left);
    /* and the one after that: past 4h, the dead letter goes too */
    advance_ms(62 * MIN);
    cr_assert(eventually(deliveries_are, &zero), "%s", daemon_log_tail(&D));
    /* new events are still delivered and listed */
    customer_says(6703, "after");
    struct want ok2 = {"main", "succeeded", 2};
    cr_assert(eventually(count_is, &ok2), "%s", daemon_log_tail(&D));
}

static void up_kb(void)
{
    char fmt[2048];
    snprintf(fmt, sizeof fmt, "%s"
             "kb:\n"
             "  articles:\n"
             "    - {id: KB-001, title: How to reset your password,\n"
             "       url: 'https://help.example.com/reset', keywords: [password, login]}\n"
             "    - {id: KB-002, title: Refunds and returns, keywords: [refund]}\n",
             one_endpoint);
    up_hooks(fmt);
}

Test(webhooks, payloads_carry_kb_suggestions, .init = up_kb, .fini = down, .timeout = 60)
{
    int64_t t = customer_says(7001, "I forgot my password");
    customer_says(7001, "and I want a refund");
    cr_assert(eventually(nothing_pending, "main"), "deliveries still pending:\n%s",
              daemon_log_tail(&D));
    check_arrivals("/main");
    json_t *l = rx_received("/main");
    char *created = NULL, *last = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(l, i, r) {
        json_t *body = json_object_get(r, "body");
        json_t *tk = json_object_get(body, "ticket");
        if (json_integer_value(json_object_get(tk, "id")) != t)
            continue;
        json_t *kb = json_object_get(tk, "kb_suggestions");
        cr_assert(json_is_array(kb));
        char **slot = strcmp(json_string_value(json_object_get(body, "type")),
                             "ticket.created") == 0 ? &created : &last;
        free(*slot);
        *slot = json_dumps(kb, JSON_COMPACT);
    }
    cr_assert_not_null(created);
    cr_expect(strstr(created, "\"id\":\"KB-001\"") != NULL, "%s", created);
    cr_expect(strstr(created, "\"url\":\"https://help.example.com/reset\"") != NULL, "%s",
              created);
    cr_expect(strstr(created, "KB-002") == NULL, "%s", created);
    cr_assert_not_null(last);
    cr_expect(strstr(last, "KB-002") != NULL, "the later events carry the new suggestion: %s",
              last);
    free(created);
    free(last);
    json_decref(l);
}
