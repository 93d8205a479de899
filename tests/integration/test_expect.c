/*
 * test_expect.c — every expectation of `tgcrm check` against a real
 * `tgcrm serve --test-clock`, with the fake Telegram and the webhook sink
 * in this process on the same manual clock (as the sandbox runs them). A
 * customer writes through the fake; each expectation is then evaluated
 * both where it holds and where it does not, and a failure must say what
 * was expected, what was seen and the near misses, word for word where
 * the words are the point.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/clock.h"
#include "check/env.h"
#include "check/expect.h"
#include "check/fake_tg.h"
#include "check/result.h"
#include "check/scenario.h"
#include "check/sink.h"
#include "common/daemon.h"

#define TOKEN "424242:fake-bot-token-for-tests"
#define BOT 424242
#define STAFF -1001000000001LL
#define ANN 1001
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define OTHER_SECRET "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

static struct daemon D;
static struct clock *clk;
static struct fake_tg *tg;
static struct sink *snk;
static struct scenario_suite *suite;
static struct arena *ra;      /* the report's arena */
static struct check_env env;

/* One step per expectation under test, found by its label. */
static const char suite_yaml[] =
    "suite: expectations\n"
    "config: tgcrm.yaml\n"
    "customers:\n"
    "  ann: {telegram_user_id: 1001, first_name: Ann}\n"
    "  bo: {telegram_user_id: 1002, first_name: Bo}\n"
    "vars: {t: 0}\n"
    "scenarios:\n"
    "  - name: all\n"
    "    expect: each expectation can hold and can fail\n"
    "    steps:\n"
    "      - name: ticket open\n"
    "        expect_ticket: {customer: ann, fields: {status: open, group: general,"
    " subject: {contains: charged}, created_at: {near: t0, tolerance: 1s}}}\n"
    "      - name: ticket resolved\n"
    "        expect_ticket: {ticket: \"{{t}}\", fields: {status: resolved, priority: normal,"
    " custom_fields.plan: {absent: false}}}\n"
    "      - name: bo's ticket\n"
    "        expect_ticket: {customer: bo, fields: {status: open}}\n"
    "      - name: thread ok\n"
    "        expect_thread: {ticket: \"{{t}}\", entries: [{author: customer, contains: charged},"
    " {author: agent, kind: message}], complete: true}\n"
    "      - name: thread wrong order\n"
    "        expect_thread: {ticket: \"{{t}}\", count: 99, entries: [{author: agent},"
    " {author: customer, contains: charged}]}\n"
    "      - name: thread complete\n"
    "        expect_thread: {customer: ann, complete: true}\n"
    "      - name: topic got the message\n"
    "        expect_telegram: {topic: \"{{t}}\", contains: charged twice}\n"
    "      - name: chat got the reply\n"
    "        expect_telegram: {chat: ann, contains: Hello Ann, count: 1}\n"
    "      - name: chat did not get the customer text\n"
    "        expect_telegram: {chat: ann, contains: charged twice}\n"
    "      - name: created webhook\n"
    "        expect_webhook: {type: ticket.created, endpoint: hd, where: {$.ticket.id: \"{{t}}\","
    " $.ticket.status: {one_of: [open, new]}}, count: 1, schema: true, signature: true,"
    " truncated: false, ordered: true}\n"
    "      - name: delivered at once\n"
    "        expect_webhook: {type: \"*\", endpoint: hd, where: {$.type: ticket.created,"
    " \"@attempts\": 1, \"@delivered_after\": {max: 1s}}}\n"
    "      - name: delivered twice\n"
    "        expect_webhook: {type: ticket.created, endpoint: hd, where: {\"@attempts\": 2}}\n"
    "      - name: urgent webhook\n"
    "        expect_webhook: {type: ticket.created, where: {$.ticket.priority: urgent}}\n"
    "      - name: two created\n"
    "        expect_webhook: {type: ticket.created, count: 2}\n"
    "      - name: schema refused\n"
    "        expect_webhook: {type: ticket.created, schema: false}\n"
    "      - name: small truncated\n"
    "        expect_webhook: {type: message.created, endpoint: small, truncated: true}\n"
    "      - name: small whole\n"
    "        expect_webhook: {type: message.created, endpoint: small, truncated: false}\n"
    "      - name: updates in order\n"
    "        expect_webhook: {type: ticket.updated, endpoint: hd, where: {$.ticket.id: \"{{t}}\"},"
    " ordered: true, signature: false}\n"
    "      - name: no blocked\n"
    "        expect_no_webhook: {type: customer.blocked, during: 30s}\n"
    "      - name: no breach\n"
    "        expect_no_webhook: {type: ticket.sla_breached, endpoint: hd, during: 10m}\n"
    "      - name: no created\n"
    "        expect_no_webhook: {type: ticket.created}\n"
    "      - name: first response 2m\n"
    "        expect_duration: {customer: ann, metric: first_response, equals: 2m}\n"
    "      - name: first response 3m\n"
    "        expect_duration: {customer: ann, metric: first_response, equals: 3m,"
    " tolerance: 5s}\n"
    "      - name: resolution\n"
    "        expect_duration: {ticket: \"{{t}}\", metric: resolution, equals: 1h}\n"
    "      - name: share 100\n"
    "        expect_distribution: {by: group, max_share: 100}\n"
    "      - name: share 50\n"
    "        expect_distribution: {by: group, max_share: 50}\n"
    "      - name: share in billing\n"
    "        expect_distribution: {by: assignee, max_share: 30, group: billing}\n";

static size_t step(const char *name)
{
    const struct scenario *sc = &suite->scenarios[0];
    for (size_t i = 0; i < sc->nsteps; i++)
        if (sc->steps[i].name != NULL && strcmp(sc->steps[i].name, name) == 0)
            return i;
    cr_assert_fail("no step '%s'", name);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Evaluate once: the outcome, the report in *out. */
static bool eval(const char *name, struct check_step *out, json_t **cap)
{
    struct err e = {0};
    bool held = true;
    size_t i = step(name);
    struct check_step *slot = &env.cc->steps[i];   /* as the runner keeps them */
    memset(slot, 0, sizeof *slot);
    int rc = expect_step(&env, &suite->scenarios[0].steps[i], &held, slot, cap, &e);
    *out = *slot;
    cr_assert_eq(rc, 0, "%s: %s", name, e.msg);
    cr_assert_not_null(out->expected, "%s: expected is always set", name);
    if (!held)
        cr_assert_not_null(out->seen, "%s: a failure says what was seen", name);
    arena_reset(env.scratch);
    return held;
}

/* Poll (real time) until it holds, as `eventually` would; fails the test otherwise. */
static void eventually(const char *name, json_t **cap)
{
    struct check_step out;
    for (int i = 0; i < 200; i++) {
        if (eval(name, &out, cap))
            return;
        if (cap != NULL) {
            json_decref(*cap);
            *cap = NULL;
        }
        sleep_ms(25);
    }
    cr_assert_fail("'%s' never held: expected %s; seen %s\nserve log:\n%s", name, out.expected,
                   out.seen, daemon_log_tail(&D));
}

/* EXPECT_VERBOSE=1 in the environment prints each failure as a report would. */
static void not_held(const char *name, struct check_step *out)
{
    cr_assert_not(eval(name, out, NULL), "'%s' held but must not: %s", name, out->expected);
    if (getenv("EXPECT_VERBOSE") == NULL)
        return;
    fprintf(stderr, "--- %s\nexpected: %s\nseen: %s\n", name, out->expected, out->seen);
    for (size_t i = 0; i < out->nnear; i++)
        fprintf(stderr, "near: %s\n  %s\n", out->near[i].what, out->near[i].diff);
}

static json_t *api(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_send(&D, method, path, body, &r), 0);
    cr_assert_eq(r.status, want, "%s %s: %ld %s", method, path, r.status, r.body);
    json_error_t je;
    json_t *v = json_loads(r.body, 0, &je);
    reply_free(&r);
    return v;
}

static void advance(const char *d)
{
    int64_t ms;
    struct err e = {0};
    cr_assert_eq(clock_parse_duration(d, &ms), 0);
    cr_assert_eq(env_advance(&env, ms, &e), 0, "%s", e.msg);
}

static void up(void)
{
    struct err e = {0};
    /* behind serve's clock (daemon.c starts it at a fixed time); set equal below */
    clk = clock_manual_new(0);
    struct fake_tg_opts fo = { .clock = clk };
    cr_assert_eq(fake_tg_start(&fo, &tg, &e), 0, "%s", e.msg);
    cr_assert_eq(fake_tg_add_bot(tg, TOKEN, "Support", "support_bot", &e), 0, "%s", e.msg);
    struct fake_tg_user users[] = {
        { .id = ANN, .first_name = "Ann" }, { .id = 1002, .first_name = "Bo" },
        { .id = 9001, .first_name = "Alice" }, { .id = 9002, .first_name = "Bob" },
    };
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(fake_tg_add_user(tg, &users[i], &e), 0, "%s", e.msg);
    int64_t members[] = { 9001, 9002 };
    struct fake_tg_group g = { .id = STAFF, .title = "Support", .is_forum = true,
                               .bot_is_admin = true, .members = members, .nmembers = 2 };
    cr_assert_eq(fake_tg_add_group(tg, &g, &e), 0, "%s", e.msg);
    struct sink_opts so = { .clock = clk };
    cr_assert_eq(sink_start(&so, &snk, &e), 0, "%s", e.msg);
    const char *secrets[] = { SECRET };
    cr_assert_eq(sink_set_secrets(snk, "hd", secrets, 1, &e), 0, "%s", e.msg);

    char extra[2048];
    snprintf(extra, sizeof extra,
             "telegram:\n"
             "  token: \"" TOKEN "\"\n"
             "  api_base: http://127.0.0.1:%d\n"
             "  staff_group_id: %lld\n"
             "  poll_timeout: 1s\n"
             "sla:\n"
             "  - name: default\n"
             "    first_response: 5m\n"
             "    resolution: 1h\n"
             "webhooks:\n"
             "  - name: hd\n"
             "    url: \"http://127.0.0.1:%d/hooks/hd\"\n"
             "    secret: \"" SECRET "\"\n"
             "    retry: [5s]\n"
             "  - name: small\n"
             "    url: \"http://127.0.0.1:%d/hooks/small\"\n"
             "    secret: \"" SECRET "\"\n"
             "    events: [message.created]\n"
             "    max_payload: 1KiB\n"
             "    oversize: truncate\n",
             fake_tg_port(tg), STAFF, sink_port(snk), sink_port(snk));
    daemon_init(&D, extra);
    D.test_clock = true;
    cr_assert_eq(daemon_start(&D), 0, "serve did not start:\n%s", daemon_log_tail(&D));

    ra = arena_new(0);
    cr_assert_eq(scenario_load_string("expect.yaml", suite_yaml, strlen(suite_yaml), NULL,
                                      &suite, &e), 0, "%s", e.msg);
    memset(&env, 0, sizeof env);
    cr_assert_eq(env_open(&env, &e), 0);
    static char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", D.port);
    env.api_url = url;
    env.api_token = DAEMON_TOKEN;
    env.tg = tg;
    env.sink = snk;
    env.bot_id = BOT;
    env.group_chat_id = STAFF;
    env.clock = clk;
    env.suite = suite;
    env.sc = &suite->scenarios[0];
    env.cc = arena_alloc(ra, sizeof *env.cc);
    env.cc->nsteps = suite->scenarios[0].nsteps;
    env.cc->steps = arena_alloc(ra, env.cc->nsteps * sizeof *env.cc->steps);
    env.ra = ra;
    env.scratch = arena_new(0);
    cr_assert_eq(env_now_ms(&env, &env.t0_ms, &e), 0, "%s", e.msg);
    cr_assert_eq(clock_manual_set(clk, env.t0_ms), 0);   /* one clock for all three */
}

static void down(void)
{
    env_close(&env);
    arena_free(&env.scratch);
    if (D.pid)
        daemon_stop(&D, SIGTERM);
    daemon_cleanup(&D);
    sink_free(&snk);
    fake_tg_free(&tg);
    scenario_suite_free(&suite);
    arena_free(&ra);
    clock_free(&clk);
}

TestSuite(expect, .init = up, .fini = down, .timeout = 60);

/* Ann writes; the ticket exists with its topic; {{t}} is its id. */
static int64_t ann_writes(const char *text)
{
    struct err e = {0};
    struct fake_tg_send s = { .from = ANN, .text = text };
    cr_assert_eq(fake_tg_user_send(tg, &s, NULL, &e), 0, "%s", e.msg);
    json_t *t = NULL;
    eventually("ticket open", &t);
    int64_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    json_object_set_new(env.vars, "t", json_integer(id));
    return id;
}

static void reply(int64_t id, const char *text)
{
    char path[64], body[256];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    snprintf(body, sizeof body, "{\"agent\":\"alice\",\"text\":\"%s\"}", text);
    json_decref(api("POST", path, body, 201));
}

Test(expect, ticket_fields)
{
    struct check_step out;
    not_held("bo's ticket", &out);
    cr_assert_str_eq(out.seen, "customer 'bo' has no ticket");
    int64_t id = ann_writes("I was charged twice");
    not_held("ticket resolved", &out);
    cr_assert_str_eq(out.seen, "status: want \"resolved\", got \"open\"\n"
                               "custom_fields.plan: want a value, got nothing "
                               "(no member 'plan' in $.custom_fields)");
    cr_assert_eq(out.nnear, 1);
    char what[64];
    snprintf(what, sizeof what, "ticket %lld (2 of 3 fields differ)", (long long)id);
    cr_assert_str_eq(out.near[0].what, what);
    cr_assert_eq(env.cc->nevents, 1, "the failure is drawn on the timeline");
    cr_assert(env.cc->events[0].failed);
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)id);
    json_decref(api("PATCH", path, "{\"status\":\"in_progress\"}", 200));
    json_decref(api("PATCH", path, "{\"status\":\"resolved\"}", 200));
    not_held("ticket resolved", &out);   /* still no plan */
    cr_assert_str_eq(out.seen, "custom_fields.plan: want a value, got nothing "
                               "(no member 'plan' in $.custom_fields)");
    cr_assert_eq(env.cc->nevents, 1, "a step evaluated again is drawn once");
    advance("2s");
    not_held("ticket open", &out);
    cr_assert_eq(env.cc->nevents, 2, "another step's failure is drawn too");
    cr_assert(strstr(out.seen, "status: want \"open\", got \"resolved\"") != NULL, "%s", out.seen);
}

Test(expect, thread_order_count_and_completeness)
{
    struct check_step out;
    int64_t id = ann_writes("I was charged twice");
    not_held("thread ok", &out);          /* no agent message yet */
    cr_assert(strstr(out.seen, "entry #2 {\"author\":\"agent\",\"kind\":\"message\"}: no match "
                     "after seq 1 (customer message \"I was charged twice\")") != NULL,
              "%s", out.seen);
    reply(id, "Hello Ann, looking into it");
    eventually("thread ok", NULL);
    not_held("thread wrong order", &out);
    cr_assert(strncmp(out.seen, "count: want 99 message entries, got 2 (of ", 42) == 0,
              "count is of messages, the customer's and the agent's: %s", out.seen);
    cr_assert(strstr(out.seen, "\nentry #2 {\"author\":\"customer\",\"contains\":\"charged\"}: "
                     "no match after seq") != NULL, "%s", out.seen);
    bool out_of_order = false;
    for (size_t i = 0; i < out.nnear; i++)
        out_of_order |= strstr(out.near[i].what, "(out of order)") != NULL &&
                        strstr(out.near[i].diff, "matches entry #2") != NULL;
    cr_assert(out_of_order, "the customer entry before the agent's is named out of order");

    /* a message Telegram holds but the CRM has not taken in: incomplete */
    eventually("thread complete", NULL);
    struct err e = {0};
    const char *methods[] = { "getUpdates" };
    struct fake_tg_fault f = { .kind = FAKE_TG_PARTITION, .methods = methods, .nmethods = 1 };
    int64_t fid;
    cr_assert_eq(fake_tg_fault_add(tg, &f, &fid, &e), 0, "%s", e.msg);
    sleep_ms(1200);   /* let a long poll in flight finish */
    struct fake_tg_send s = { .from = ANN, .text = "are you there?" };
    cr_assert_eq(fake_tg_user_send(tg, &s, NULL, &e), 0, "%s", e.msg);
    not_held("thread complete", &out);
    cr_assert(strstr(out.seen, "is not in the thread") != NULL &&
              strstr(out.seen, "\"are you there?\"") != NULL, "%s", out.seen);
    cr_assert_eq(fake_tg_fault_clear(tg, fid, &e), 0);
    eventually("thread complete", NULL);
}

Test(expect, telegram_chat_and_topic)
{
    struct check_step out;
    int64_t id = ann_writes("I was charged twice");
    eventually("topic got the message", NULL);
    not_held("chat got the reply", &out);
    cr_assert(strncmp(out.seen, "0 matching messages (of ", 24) == 0, "%s", out.seen);
    reply(id, "Hello Ann, looking into it");
    json_t *cap = NULL;
    eventually("chat got the reply", &cap);
    cr_assert(strstr(json_string_value(json_object_get(cap, "text")), "Hello Ann") != NULL);
    cr_assert_eq(json_integer_value(json_object_get(cap, "chat_id")), ANN);
    json_decref(cap);
    /* the customer's words went to the topic, not to her chat: the near miss says so */
    not_held("chat did not get the customer text", &out);
    cr_assert_geq(out.nnear, 1);
    cr_assert(strstr(out.near[0].diff, "the wanted text went here, not to ann's chat") != NULL,
              "%s: %s", out.near[0].what, out.near[0].diff);
    char topic[64];
    snprintf(topic, sizeof topic, " to chat %lld topic ", STAFF);
    cr_assert(strstr(out.near[0].what, topic) != NULL, "%s", out.near[0].what);
    /* a second identical reply: count 1 no longer holds, and the matches are listed */
    reply(id, "Hello Ann, looking into it");
    for (int i = 0; i < 200 && eval("chat got the reply", &out, NULL); i++)
        sleep_ms(25);
    not_held("chat got the reply", &out);
    cr_assert(strncmp(out.seen, "2 matching messages", 19) == 0, "%s", out.seen);
    cr_assert_str_eq(out.near[0].diff, "matched: \"Hello Ann, looking into it\"");
}

Test(expect, webhooks_selected_and_asserted)
{
    struct check_step out;
    ann_writes("I was charged twice");
    json_t *cap = NULL;
    eventually("created webhook", &cap);
    cr_assert_str_eq(json_string_value(json_object_get(cap, "type")), "ticket.created");
    json_decref(cap);
    /* docs/scenarios.md: "*" is any type; @attempts and @delivered_after are delivery facts */
    cr_assert(eval("delivered at once", &out, NULL), "%s", out.seen);
    not_held("delivered twice", &out);
    cr_assert(strstr(out.near[0].diff, "@attempts: want 2, got 1") != NULL, "%s",
              out.near[0].diff);
    not_held("urgent webhook", &out);
    cr_assert(strncmp(out.seen, "0 matching webhooks among ", 26) == 0, "%s", out.seen);
    cr_assert_geq(out.nnear, 1);
    cr_assert_str_eq(out.near[0].diff, "$.ticket.priority: want \"urgent\", got \"normal\"");
    cr_assert(strstr(out.near[0].what, "(ticket.created to hd at ") != NULL, "%s",
              out.near[0].what);
    not_held("two created", &out);
    cr_assert(strncmp(out.seen, "1 matching webhook among ", 25) == 0, "%s", out.seen);
    not_held("schema refused", &out);
    cr_assert(strstr(out.seen, "schema: want a body the schema refuses, got a valid one") != NULL,
              "%s", out.seen);
    /* the help desk now holds another secret: bo's ticket.created fails its signature */
    struct err e = {0};
    const char *other[] = { OTHER_SECRET };
    cr_assert_eq(sink_set_secrets(snk, "hd", other, 1, &e), 0);
    struct fake_tg_send s = { .from = 1002, .text = "hello from bo" };
    cr_assert_eq(fake_tg_user_send(tg, &s, NULL, &e), 0, "%s", e.msg);
    json_t *bo = NULL;
    eventually("bo's ticket", &bo);
    json_object_set_new(env.vars, "t", json_incref(json_object_get(bo, "id")));
    json_decref(bo);
    for (int i = 0; i < 200; i++) {
        if (!eval("created webhook", &out, NULL) && strstr(out.seen, "signature") != NULL)
            break;
        sleep_ms(25);
    }
    cr_assert(strstr(out.seen, ": signature: want valid, got invalid") != NULL, "%s", out.seen);
}

/* POST a body to the sink as if the CRM had sent it (unsigned). */
static void post_hook(const char *endpoint, const char *body)
{
    struct daemon k = { .port = sink_port(snk) };
    char path[64];
    snprintf(path, sizeof path, "/hooks/%s", endpoint);
    struct http_reply r;
    cr_assert_eq(daemon_http_raw(&k, "POST", path, NULL, body, strlen(body), &r), 0);
    cr_assert_eq(r.status, 200, "%ld", r.status);
    reply_free(&r);
}

Test(expect, webhook_truncation_and_order)
{
    struct check_step out;
    char big[1600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "charged ", 8);
    ann_writes(big);   /* its message.created does not fit 1 KiB */
    eventually("small truncated", NULL);
    not_held("small whole", &out);
    cr_assert(strstr(out.seen, "(message.created to small at ") != NULL &&
              strstr(out.seen, "): truncated: want false, got truncated, ") != NULL &&
              strstr(out.seen, " omitted") != NULL,
              "%s", out.seen);

    /* crafted deliveries about a ticket of their own, so the CRM's own do not interleave */
    json_object_set_new(env.vars, "t", json_integer(4242));
    const char *b1 = "{\"id\":\"evt_1000\",\"type\":\"ticket.updated\",\"ticket\":{\"id\":4242}}";
    const char *b2 = "{\"id\":\"evt_999\",\"type\":\"ticket.updated\",\"ticket\":{\"id\":4242}}";
    post_hook("hd", b1);
    cr_assert(eval("updates in order", &out, NULL), "%s", out.seen);
    post_hook("hd", b2);
    not_held("updates in order", &out);
    cr_assert_str_eq(out.seen, "ticket 4242 at hd: evt_999 (ticket.updated) arrived after "
                               "evt_1000 (ticket.updated)");
    cr_assert_eq(out.nnear, 1);
    cr_assert(strstr(out.near[0].diff, "out of order: after webhook #") != NULL, "%s",
              out.near[0].diff);
}

Test(expect, no_webhook_during_a_window)
{
    struct check_step out;
    cr_assert(eval("no created", &out, NULL), "nothing was created yet");
    ann_writes("I was charged twice");
    eventually("created webhook", NULL);
    not_held("no created", &out);
    cr_assert(strstr(out.seen, "(ticket.created to hd at ") != NULL &&
              strstr(out.seen, " arrived") != NULL, "%s", out.seen);
    /* a window opens at its step and does not move the clock: later steps do */
    struct err e = {0};
    struct expect_window blocked, breach;
    struct check_step *sb = &env.cc->steps[step("no blocked")];
    struct check_step *sr = &env.cc->steps[step("no breach")];
    memset(sb, 0, sizeof *sb);
    memset(sr, 0, sizeof *sr);
    int64_t before, after;
    cr_assert_eq(env_clock_ms(&env, &before, &e), 0);
    cr_assert_eq(expect_window_open(&env, &suite->scenarios[0].steps[step("no blocked")], sb,
                                    &blocked, &e), 0, "%s", e.msg);
    cr_assert_eq(expect_window_open(&env, &suite->scenarios[0].steps[step("no breach")], sr,
                                    &breach, &e), 0, "%s", e.msg);
    cr_assert_eq(env_clock_ms(&env, &after, &e), 0);
    cr_assert_eq(after, before, "opening a window does not move the clock");
    cr_assert_eq(breach.until_ms - breach.from_ms, 600000);
    cr_assert_str_eq(sr->expected, "no ticket.sla_breached webhook to hd for the next 10m");
    bool held = false;
    cr_assert_eq(expect_window_judge(&env, &suite->scenarios[0].steps[step("no breach")], sr,
                                     &breach, &held, &e), 0, "%s", e.msg);
    cr_assert(held, "nothing arrived in the window yet");
    /* the first-response target is 5m: the breach arrives inside the 10m window */
    advance("6m");
    cr_assert_eq(expect_window_judge(&env, &suite->scenarios[0].steps[step("no blocked")], sb,
                                     &blocked, &held, &e), 0, "%s", e.msg);
    cr_assert(held, "%s", sb->seen ? sb->seen : "");
    /* the delivery follows the clock asynchronously here (no runner to wait for idleness) */
    for (int i = 0; i < 200 && held; i++) {
        cr_assert_eq(expect_window_judge(&env, &suite->scenarios[0].steps[step("no breach")],
                                         sr, &breach, &held, &e), 0, "%s", e.msg);
        if (held)
            sleep_ms(25);
    }
    cr_assert_not(held, "the breach arrived inside the window");
    cr_assert(strstr(sr->seen, "(ticket.sla_breached to hd at ") != NULL, "%s", sr->seen);
    cr_assert(strstr(sr->seen, " into the window; the event occurred at +") != NULL,
              "the breach is dated by its event: %s", sr->seen);
    expect_window_release(&blocked);
    expect_window_release(&breach);
    cr_assert_null(breach.sel);
}

Test(expect, durations)
{
    struct check_step out;
    int64_t id = ann_writes("I was charged twice");
    not_held("first response 2m", &out);
    char want[128];
    snprintf(want, sizeof want, "ticket %lld has no first response yet (first_response_at is "
             "null; created ", (long long)id);
    cr_assert(strncmp(out.seen, want, strlen(want)) == 0, "%s", out.seen);
    advance("2m");
    reply(id, "Hello Ann");
    cr_assert(eval("first response 2m", &out, NULL), "%s", out.seen);
    not_held("first response 3m", &out);
    cr_assert(strstr(out.seen, ": first response took 2m (created_at ") != NULL, "%s", out.seen);
    cr_assert(strstr(out.seen, "1m less than wanted") != NULL, "%s", out.seen);
    cr_assert_str_eq(out.expected, "ann's latest ticket: first response time 3m ± 5s");
    not_held("resolution", &out);
    cr_assert(strstr(out.seen, "has no resolution yet (resolved_at is null") != NULL, "%s",
              out.seen);
}

Test(expect, distribution)
{
    struct check_step out;
    not_held("share 100", &out);
    cr_assert_str_eq(out.seen, "no ticket was created in this scenario: a share of nothing "
                               "proves nothing");
    ann_writes("I was charged twice");
    cr_assert(eval("share 100", &out, NULL), "%s", out.seen);
    not_held("share 50", &out);
    cr_assert_str_eq(out.seen, "general has 1 of 1 tickets (100.0%), above 50%\n"
                               "counts: general 1 (100.0%)");
    cr_assert_eq(out.nnear, 1);
    cr_assert_str_eq(out.near[0].what, "general");
    not_held("share in billing", &out);
    cr_assert_str_eq(out.expected, "no assignee above 30% of the tickets created in this "
                                   "scenario in group billing");
}
