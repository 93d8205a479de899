/*
 * test_telegram.c — the Telegram bridge end to end: the real `tgcrm serve`
 * long-polling the real `tgcrm fake-telegram`, both as child processes on
 * loopback. Customer → ticket + topic + copy; agent in the topic → customer;
 * commands; reopen; a 10,000-character reply split in order; a deleted topic
 * recovered; a 429 storm survived in order; a blocked customer; webhook mode
 * refusing a wrong secret; SIGKILL of serve in the middle of 10,000 incoming
 * messages with every message present exactly once after restart.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"

#define TOKEN "424242:fake-bot-token-for-tests"
#define STAFF "-1001000000001"
#define CUST 1001

static struct daemon S;   /* serve */
static struct daemon F;   /* fake-telegram, in S's directory */

static json_t *fjson(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_http(&F, method, path, NULL, NULL, body, &r), 0, "fake %s %s", method, path);
    cr_assert_eq(r.status, want, "fake %s %s: %ld %s", method, path, r.status, r.body);
    json_error_t je;
    json_t *v = json_loads(r.body, 0, &je);
    cr_assert_not_null(v, "fake answered non-JSON: %s", r.body);
    reply_free(&r);
    return v;
}

static json_t *sjson(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_send(&S, method, path, body, &r), 0);
    cr_assert_eq(r.status, want, "serve %s %s: %ld %s\n%s", method, path, r.status, r.body,
                 daemon_log_tail(&S));
    json_error_t je;
    json_t *v = json_loads(r.body, 0, &je);
    cr_assert_not_null(v);
    reply_free(&r);
    return v;
}

static void start_serve(const char *mode_yaml)
{
    char extra[1024];
    snprintf(extra, sizeof extra,
             "telegram:\n"
             "  token: \"" TOKEN "\"\n"
             "  api_base: http://127.0.0.1:%d\n"
             "  staff_group_id: " STAFF "\n"
             "  poll_timeout: 1s\n%s",
             F.port, mode_yaml ? mode_yaml : "");
    FILE *f = fopen(S.config, "a");
    fputs(extra, f);
    fclose(f);
    cr_assert_eq(daemon_start(&S), 0, "serve did not start:\n%s", daemon_log_tail(&S));
}

/* The fake, its users and the staff group; serve's config gets `extra`. */
static void world_with(const char *extra)
{
    daemon_init(&S, extra);
    F = S;   /* same directory; F gets its own pid and port */
    F.pid = 0;
    cr_assert_eq(daemon_start_fake(&F, TOKEN), 0, "fake-telegram did not start");
    json_decref(fjson("POST", "/control/users", "{\"id\":1001,\"first_name\":\"Ann\",\"username\":\"ann\"}", 201));
    json_decref(fjson("POST", "/control/users", "{\"id\":9001,\"first_name\":\"Alice\"}", 201));
    json_decref(fjson("POST", "/control/users", "{\"id\":9002,\"first_name\":\"Bob\"}", 201));
    json_decref(fjson("POST", "/control/users", "{\"id\":6666,\"first_name\":\"Stranger\"}", 201));
    json_decref(fjson("POST", "/control/groups",
                      "{\"id\":" STAFF ",\"title\":\"Support\",\"is_forum\":true,"
                      "\"members\":[9001,9002,6666]}", 201));
}

static void world(void)
{
    world_with(NULL);
}

static void up(void)
{
    world();
    start_serve(NULL);
}

static void down(void)
{
    if (S.pid)
        daemon_stop(&S, SIGTERM);
    if (F.pid)
        daemon_stop(&F, SIGTERM);
    daemon_cleanup(&S);
}

static void customer_says(long from, const char *text)
{
    char body[512];
    json_t *s = json_string(text);
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    snprintf(body, sizeof body, "{\"from\":%ld,\"text\":%s}", from, q);
    free(q);
    json_decref(s);
    json_decref(fjson("POST", "/control/messages", body, 201));
}

/* Wait until the bot has done `method` in chat (optionally thread) after seq
 * `since`; returns that entry (new reference) or fails the test. */
static json_t *wait_sent(const char *chat, long thread, const char *method, long since)
{
    for (int i = 0; i < 60; i++) {
        char path[256];
        if (thread > 0)
            snprintf(path, sizeof path, "/control/sent?chat_id=%s&message_thread_id=%ld&since=%ld&wait_ms=500",
                     chat, thread, since);
        else
            snprintf(path, sizeof path, "/control/sent?chat_id=%s&since=%ld&wait_ms=500", chat, since);
        json_t *v = fjson("GET", path, NULL, 200);
        json_t *arr = json_object_get(v, "sent");
        if (json_array_size(arr) > 0)   /* wait for newer entries next time round */
            since = (long)json_integer_value(json_object_get(
                json_array_get(arr, json_array_size(arr) - 1), "seq"));
        for (size_t k = 0; k < json_array_size(arr); k++) {
            json_t *e = json_array_get(arr, k);
            if (strcmp(json_string_value(json_object_get(e, "method")), method) == 0) {
                json_incref(e);
                json_decref(v);
                return e;
            }
        }
        json_decref(v);
    }
    cr_assert_fail("the bot never did %s in chat %s (thread %ld)\nserve log:\n%s", method, chat,
                   thread, daemon_log_tail(&S));
    return NULL;
}

static json_t *ticket_of(long customer)
{
    for (int i = 0; i < 200; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v1/tickets?customer=%ld", customer);
        json_t *v = sjson("GET", path, NULL, 200);
        json_t *arr = json_object_get(v, "tickets");
        if (json_array_size(arr) > 0) {
            json_t *t = json_array_get(arr, json_array_size(arr) - 1);
            json_incref(t);
            json_decref(v);
            return t;
        }
        json_decref(v);
        usleep(20000);
    }
    cr_assert_fail("no ticket for customer %ld\n%s", customer, daemon_log_tail(&S));
    return NULL;
}

static json_t *ticket_id_get(json_int_t id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)id);
    return sjson("GET", path, NULL, 200);
}

/* Poll the ticket until `field` equals `want` (string), up to ~5 s. */
static void wait_field(json_int_t id, const char *field, const char *want)
{
    const char *got = NULL;
    for (int i = 0; i < 250; i++) {
        json_t *t = ticket_id_get(id);
        json_t *v = json_object_get(t, field);
        got = json_is_string(v) ? json_string_value(v) : "null";
        bool ok = strcmp(got, want) == 0;
        json_decref(t);
        if (ok)
            return;
        usleep(20000);
    }
    cr_assert_fail("ticket %lld: %s never became %s\n%s", (long long)id, field, want,
                   daemon_log_tail(&S));
}

static long topic_of(json_int_t id)
{
    for (int i = 0; i < 250; i++) {
        json_t *t = ticket_id_get(id);
        json_t *v = json_object_get(t, "topic_id");
        long topic = json_is_integer(v) ? (long)json_integer_value(v) : 0;
        json_decref(t);
        if (topic > 0)
            return topic;
        usleep(20000);
    }
    cr_assert_fail("ticket %lld never got a topic\n%s", (long long)id, daemon_log_tail(&S));
    return 0;
}

static void agent_says(long from, long topic, const char *text)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"from\":%ld,\"chat_id\":" STAFF ",\"message_thread_id\":%ld,\"text\":\"%s\"}",
             from, topic, text);
    json_decref(fjson("POST", "/control/messages", body, 201));
}

Test(telegram, customer_message_opens_ticket_topic_and_copy, .init = up, .fini = down, .timeout = 60)
{
    customer_says(CUST, "My invoice is wrong");
    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    long topic = topic_of(id);
    json_t *created = wait_sent(STAFF, 0, "createForumTopic", 0);
    json_t *ftc = json_object_get(created, "forum_topic_created");
    cr_expect(strstr(json_string_value(json_object_get(ftc, "name")), "Ann") != NULL);
    cr_expect(strstr(json_string_value(json_object_get(ftc, "name")), "#1") != NULL);
    json_decref(created);
    json_t *copy = wait_sent(STAFF, topic, "copyMessage", 0);
    cr_expect_str_eq(json_string_value(json_object_get(copy, "text")), "My invoice is wrong");
    json_decref(copy);

    /* follow-ups go to the same ticket and topic, in order */
    customer_says(CUST, "second");
    customer_says(CUST, "third");
    json_t *s2 = wait_sent(STAFF, topic, "copyMessage", 0);
    long seq = (long)json_integer_value(json_object_get(s2, "seq"));
    json_decref(s2);
    json_t *a = wait_sent(STAFF, topic, "copyMessage", seq);
    long seq2 = (long)json_integer_value(json_object_get(a, "seq"));
    cr_expect_str_eq(json_string_value(json_object_get(a, "text")), "second");
    json_decref(a);
    a = wait_sent(STAFF, topic, "copyMessage", seq2);
    cr_expect_str_eq(json_string_value(json_object_get(a, "text")), "third");
    json_decref(a);
    t = ticket_id_get(id);
    cr_expect_eq(json_integer_value(json_object_get(t, "id")), id);
    json_decref(t);
    json_t *all = sjson("GET", "/v1/tickets", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(all, "tickets")), 1, "one customer, one ticket");
    json_decref(all);
}

Test(telegram, start_greets_without_ticket, .init = up, .fini = down, .timeout = 60)
{
    customer_says(CUST, "/start");
    json_t *hello = wait_sent("1001", 0, "sendMessage", 0);
    cr_expect(strstr(json_string_value(json_object_get(hello, "text")), "Hello") != NULL);
    json_decref(hello);
    json_t *all = sjson("GET", "/v1/tickets", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(all, "tickets")), 0);
    json_decref(all);
}

Test(telegram, agent_reply_commands_and_reopen, .init = up, .fini = down, .timeout = 60)
{
    customer_says(CUST, "Help please");
    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    long topic = topic_of(id);

    agent_says(6666, topic, "I am not staff");
    agent_says(9001, topic, "Hi Ann, on it");
    json_t *r = wait_sent("1001", 0, "sendMessage", 0);
    cr_expect_str_eq(json_string_value(json_object_get(r, "text")), "Hi Ann, on it");
    long seq = (long)json_integer_value(json_object_get(r, "seq"));
    json_decref(r);
    wait_field(id, "status", "in_progress");
    wait_field(id, "assignee", "alice");
    t = ticket_id_get(id);
    cr_expect(json_is_integer(json_object_get(t, "first_response_ms")));
    json_decref(t);

    agent_says(9001, topic, "/status weird");
    json_t *usage = wait_sent(STAFF, topic, "sendMessage", 0);
    cr_expect(strstr(json_string_value(json_object_get(usage, "text")), "Unknown command or bad argument") != NULL);
    json_decref(usage);
    agent_says(9001, topic, "/resolve");
    wait_field(id, "status", "resolved");

    /* nothing the stranger wrote reached the customer */
    json_t *sent = fjson("GET", "/control/sent?chat_id=1001", NULL, 200);
    json_t *arr = json_object_get(sent, "sent");
    for (size_t i = 0; i < json_array_size(arr); i++)
        cr_expect(strcmp(json_string_value(json_object_get(json_array_get(arr, i), "text")),
                         "I am not staff") != 0);
    json_decref(sent);

    customer_says(CUST, "it broke again");
    wait_field(id, "status", "open");
    t = ticket_id_get(id);
    cr_expect_eq(json_integer_value(json_object_get(t, "reopen_count")), 1);
    json_decref(t);
    (void)seq;
}

Test(telegram, long_reply_is_split_in_order, .init = up, .fini = down, .timeout = 60)
{
    customer_says(CUST, "Send me the whole log");
    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    topic_of(id);
    size_t len = 10000;
    char *text = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        text[i] = (i % 100 == 99) ? ' ' : (char)('a' + i % 26);
    text[len] = '\0';
    json_t *body = json_pack("{s:s,s:s}", "agent", "alice", "text", text);
    char *b = json_dumps(body, 0);
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    json_decref(sjson("POST", path, b, 201));
    free(b);
    json_decref(body);
    /* Telegram trims whitespace at the ends of a message, so the space a
     * part was cut after may vanish; every other character must arrive, in
     * order, exactly once. */
    char *want = malloc(len + 1), *seen = malloc(len + 1);
    size_t nw = 0, ns = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ')
            want[nw++] = text[i];
    long since = 0;
    int parts = 0;
    while (ns < nw) {
        json_t *m = wait_sent("1001", 0, "sendMessage", since);
        const char *s = json_string_value(json_object_get(m, "text"));
        since = (long)json_integer_value(json_object_get(m, "seq"));
        cr_assert_leq(strlen(s), 4096);
        for (const char *c = s; *c && ns < len; c++)
            if (*c != ' ')
                seen[ns++] = *c;
        parts++;
        json_decref(m);
    }
    cr_expect_eq(ns, nw, "nothing lost, nothing added");
    cr_expect_eq(memcmp(seen, want, nw), 0, "parts in order and unaltered");
    cr_expect_eq(parts, 3);
    free(want);
    free(seen);
    free(text);
}

Test(telegram, deleted_topic_is_recreated, .init = up, .fini = down, .timeout = 60)
{
    customer_says(CUST, "first");
    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    long topic = topic_of(id);
    json_decref(wait_sent(STAFF, topic, "copyMessage", 0));
    char path[128];
    snprintf(path, sizeof path, "/control/topics/" STAFF "/%ld", topic);
    json_decref(fjson("DELETE", path, NULL, 200));
    customer_says(CUST, "are you there?");
    long fresh = 0;
    for (int i = 0; i < 250 && (fresh == 0 || fresh == topic); i++) {
        json_t *tk = ticket_id_get(id);
        json_t *v = json_object_get(tk, "topic_id");
        fresh = json_is_integer(v) ? (long)json_integer_value(v) : 0;
        json_decref(tk);
        usleep(20000);
    }
    cr_assert_neq(fresh, topic, "a new topic replaces the deleted one");
    cr_assert_gt(fresh, 0);
    json_t *hist = wait_sent(STAFF, fresh, "sendMessage", 0);
    cr_expect(strstr(json_string_value(json_object_get(hist, "text")), "recreated") != NULL);
    cr_expect(strstr(json_string_value(json_object_get(hist, "text")), "first") != NULL);
    json_decref(hist);
    json_t *copy = wait_sent(STAFF, fresh, "copyMessage", 0);
    cr_expect_str_eq(json_string_value(json_object_get(copy, "text")), "are you there?");
    json_decref(copy);
}

Test(telegram, rate_limit_storm_keeps_order, .init = up, .fini = down, .timeout = 90)
{
    customer_says(CUST, "hello");
    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    long topic = topic_of(id);
    json_decref(fjson("POST", "/control/faults",
                      "{\"kind\":\"rate_limit\",\"retry_after\":1,\"calls\":4,\"methods\":[\"sendMessage\"]}", 201));
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    for (int i = 0; i < 5; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"agent\":\"alice\",\"text\":\"reply %d\"}", i);
        json_decref(sjson("POST", path, body, 201));
    }
    long since = 0;
    for (int i = 0; i < 5; i++) {
        json_t *m = wait_sent("1001", 0, "sendMessage", since);
        char want[32];
        snprintf(want, sizeof want, "reply %d", i);
        cr_expect_str_eq(json_string_value(json_object_get(m, "text")), want, "order kept through 429s");
        since = (long)json_integer_value(json_object_get(m, "seq"));
        json_decref(m);
    }
    json_t *stats = fjson("GET", "/control/stats", NULL, 200);
    cr_expect_geq(json_integer_value(json_object_get(stats, "faulted")), 4, "the 429s really happened");
    json_decref(stats);
    (void)topic;
}

Test(telegram, blocked_customer_is_marked, .init = up, .fini = down, .timeout = 60)
{
    customer_says(CUST, "hello");
    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    topic_of(id);
    json_decref(fjson("POST", "/control/users/1001/block", NULL, 200));
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    json_decref(sjson("POST", path, "{\"agent\":\"alice\",\"text\":\"are you there\"}", 201));
    bool blocked = false;
    for (int i = 0; i < 250 && !blocked; i++) {
        json_t *tk = ticket_id_get(id);
        blocked = json_is_true(json_object_get(json_object_get(tk, "customer"), "blocked"));
        json_decref(tk);
        if (!blocked)
            usleep(20000);
    }
    cr_expect(blocked, "the customer is marked blocked\n%s", daemon_log_tail(&S));
}

static void up_webhook(void)
{
    world();
    start_serve("  mode: webhook\n"
                "  webhook:\n"
                "    url: http://127.0.0.1:9/telegram/webhook\n"
                "    secret_token: right-secret-0123456789\n");
}

Test(telegram, webhook_mode_checks_the_secret, .init = up_webhook, .fini = down, .timeout = 60)
{
    const char *update = "{\"update_id\":77,\"message\":{\"message_id\":5,\"date\":1767225600,"
                         "\"chat\":{\"id\":1001,\"type\":\"private\",\"first_name\":\"Ann\"},"
                         "\"from\":{\"id\":1001,\"is_bot\":false,\"first_name\":\"Ann\"},"
                         "\"text\":\"via webhook\"}}";
    struct http_reply r;
    cr_assert_eq(daemon_http(&S, "POST", "/telegram/webhook", NULL, NULL, update, &r), 0);
    cr_expect_eq(r.status, 401, "%s", r.body);
    reply_free(&r);
    cr_expect(strstr(daemon_log_tail(&S), "right-secret") == NULL, "the secret is never logged");
    json_t *all = sjson("GET", "/v1/tickets", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(all, "tickets")), 0, "a refused update changes nothing");
    json_decref(all);

    /* with the right secret it is applied, and a replay is applied once */
    char cmd[1024];
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "curl -s -o /dev/null -w '%%{http_code}' -H 'Content-Type: application/json' "
                 "-H 'X-Telegram-Bot-Api-Secret-Token: right-secret-0123456789' "
                 "--data-binary '%s' http://127.0.0.1:%d/telegram/webhook", update, S.port);
        FILE *p = popen(cmd, "r");
        char code[8] = "";
        cr_assert_not_null(fgets(code, sizeof code, p));
        pclose(p);
        cr_expect_str_eq(code, "200");
    }
    json_t *t = ticket_of(CUST);
    json_decref(t);
    /* (the copy into the topic fails: this update never passed through the
     * fake, so the fake does not know message 5 — also recorded on the ticket) */
    json_t *th = sjson("GET", "/v1/tickets/1/thread", NULL, 200);
    json_t *entries = json_object_get(th, "entries");
    int messages = 0;
    for (size_t i = 0; i < json_array_size(entries); i++)
        messages += strcmp(json_string_value(json_object_get(json_array_get(entries, i), "kind")),
                           "message") == 0;
    cr_expect_eq(messages, 1, "the replayed update is applied once");
    json_decref(th);
}

Test(telegram, sigkill_during_ingest_loses_and_duplicates_nothing, .init = world, .fini = down,
     .timeout = 240)
{
    /* 10,000 messages from 100 customers wait in the fake. */
    const int customers = 100, per = 100;
    for (int c = 0; c < customers; c++) {
        char body[128];
        snprintf(body, sizeof body, "{\"id\":%d,\"first_name\":\"C%d\"}", 20000 + c, c);
        json_decref(fjson("POST", "/control/users", body, 201));
    }
    for (int m = 0; m < per; m++)
        for (int c = 0; c < customers; c++) {
            char text[32];
            snprintf(text, sizeof text, "m%d", m);
            customer_says(20000 + c, text);
        }
    start_serve(NULL);
    usleep(150 * 1000);
    daemon_stop(&S, SIGKILL);
    cr_assert_eq(daemon_start(&S), 0, "restart:\n%s", daemon_log_tail(&S));
    /* wait until the fake has no pending updates */
    for (int i = 0; i < 600; i++) {
        json_t *st = fjson("GET", "/control/stats", NULL, 200);
        json_int_t pending = json_integer_value(json_object_get(
            json_array_get(json_object_get(st, "bots"), 0), "pending_update_count"));
        json_decref(st);
        if (pending == 0)
            break;
        usleep(50000);
    }
    usleep(200 * 1000);   /* the last page is confirmed by the next poll */
    for (int c = 0; c < customers; c++) {
        json_t *t = ticket_of(20000 + c);
        char path[96];
        snprintf(path, sizeof path, "/v1/tickets/%lld/thread",
                 (long long)json_integer_value(json_object_get(t, "id")));
        json_decref(t);
        json_t *th = sjson("GET", path, NULL, 200);
        json_t *entries = json_object_get(th, "entries");
        int m = 0;
        for (size_t i = 0; i < json_array_size(entries); i++) {
            json_t *e = json_array_get(entries, i);
            if (strcmp(json_string_value(json_object_get(e, "kind")), "message") != 0)
                continue;
            char want[32];
            snprintf(want, sizeof want, "m%d", m);
            cr_assert_str_eq(json_string_value(json_object_get(e, "text")), want,
                             "customer %d: message %d missing, duplicated or out of order", c, m);
            m++;
        }
        cr_assert_eq(m, per, "customer %d has %d of %d messages", c, m, per);
        json_decref(th);
    }
}

/* ---- canned responses, knowledge base, intake form ------------------------------- */

static const char desk_yaml[] =
    "templates:\n"
    "  - name: greeting\n"
    "    text: \"Hi {{customer.first_name | default: 'there'}}, {{agent.name}} here about #{{ticket.id}}.\"\n"
    "  - name: order\n"
    "    text: \"Your order {{intake.order_id}} is on its way.\"\n"
    "kb:\n"
    "  articles:\n"
    "    - {id: KB-001, title: How to reset your password, url: 'https://help.example.com/reset',\n"
    "       body: Open Settings then Security then Reset password., keywords: [password, login]}\n"
    "    - {id: KB-002, title: Refunds and returns, body: A refund is paid within five days.,\n"
    "       keywords: [refund, money back]}\n";

static void up_desk(void)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "%s"
             "intake:\n"
             "  enabled: false\n"
             "  questions: [{field: order_id, prompt: 'Order?', optional: true}]\n", desk_yaml);
    world_with(yaml);
    start_serve(NULL);
}

static void up_intake(void)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "%s"
             "intake:\n"
             "  questions:\n"
             "    - {field: email, prompt: 'Your email?', type: email}\n"
             "    - {field: plan, prompt: 'Which plan?', type: choice, choices: [Free, Pro]}\n"
             "    - {field: order_id, prompt: 'Order number?', optional: true}\n"
             "routing:\n"
             "  - {name: pro-plan, field: {plan: Pro}, group: level2, strategy: none}\n",
             desk_yaml);
    world_with(yaml);
    json_decref(fjson("POST", "/control/users", "{\"id\":1002,\"first_name\":\"Ben\"}", 201));
    start_serve(NULL);
}

/* The text of the next sendMessage to chat (thread) after seq *since, which
 * moves past it; the entry (new reference) when out is not NULL. */
static const char *next_text(const char *chat, long thread, long *since, json_t **out)
{
    static char text[4096];
    json_t *m = wait_sent(chat, thread, "sendMessage", *since);
    *since = (long)json_integer_value(json_object_get(m, "seq"));
    snprintf(text, sizeof text, "%s", json_string_value(json_object_get(m, "text")));
    if (out != NULL)
        *out = m;
    else
        json_decref(m);
    return text;
}

Test(telegram, desk_canned_response_and_kb_suggestions, .init = up_desk, .fini = down,
     .timeout = 60)
{
    customer_says(CUST, "I forgot my password and cannot login");
    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_t *kb = json_object_get(t, "kb_suggestions");
    cr_assert_eq(json_array_size(kb), 1, "%s", json_dumps(t, 0));
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(kb, 0), "id")), "KB-001");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(kb, 0), "url")),
                     "https://help.example.com/reset");
    json_decref(t);
    long topic = topic_of(id);
    long since = 0;
    const char *note = next_text(STAFF, topic, &since, NULL);
    cr_expect(strstr(note, "Knowledge base (internal, for agents)") != NULL, "%s", note);
    cr_expect(strstr(note, "How to reset your password (KB-001)") != NULL, "%s", note);

    /* /r from the topic reaches the customer as Alice's reply */
    agent_says(9001, topic, "/r greeting");
    long csince = 0;
    cr_expect_str_eq(next_text("1001", 0, &csince, NULL), "Hi Ann, Alice here about #1.");
    wait_field(id, "assignee", "alice");
    t = ticket_id_get(id);
    cr_expect(json_is_string(json_object_get(t, "first_response_at")), "counts as first response");
    json_decref(t);

    /* a template with a value missing is not sent; the topic is told why */
    agent_says(9001, topic, "/r order");
    const char *why = NULL;
    do
        why = next_text(STAFF, topic, &since, NULL);
    while (strstr(why, "not sent") == NULL && strstr(why, "(template") != NULL);
    cr_expect(strstr(why, "template 'order' was not sent") != NULL, "%s", why);
    cr_expect(strstr(why, "intake.order_id") != NULL, "%s", why);

    /* the same from the API: 422 naming the variables */
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    json_t *err = sjson("POST", path, "{\"agent\":\"alice\",\"template\":\"order\"}", 422);
    json_t *e = json_object_get(err, "error");
    cr_expect_str_eq(json_string_value(json_object_get(e, "field")), "template");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(e, "missing"), 0)),
                     "intake.order_id");
    json_decref(err);
    json_decref(sjson("POST", path, "{\"agent\":\"alice\",\"template\":\"nope\"}", 422));
    json_t *ok = sjson("POST", path, "{\"agent\":\"bob\",\"template\":\"greeting\"}", 201);
    cr_expect_gt(json_integer_value(json_object_get(ok, "seq")), 0);
    json_decref(ok);
    cr_expect_str_eq(next_text("1001", 0, &csince, NULL), "Hi Ann, Bob here about #1.");
}

/* Press the button with `data` under the bot's message `mid` in Ann's chat. */
static void press(long mid, const char *data)
{
    char body[256];
    snprintf(body, sizeof body, "{\"from\":%d,\"message_id\":%ld,\"data\":\"%s\"}", CUST, mid,
             data);
    json_decref(fjson("POST", "/control/callbacks", body, 201));
}

Test(telegram, desk_intake_form_buttons_cancel_and_restart, .init = up_intake, .fini = down,
     .timeout = 90)
{
    /* Ben gives up: /cancel leaves no ticket */
    long bsince = 0;
    customer_says(1002, "hi");
    cr_expect_str_eq(next_text("1002", 0, &bsince, NULL), "Your email?");
    customer_says(1002, "/cancel");
    cr_expect(strstr(next_text("1002", 0, &bsince, NULL), "Cancelled") != NULL);

    long since = 0;
    customer_says(CUST, "My app crashes on start");
    cr_expect_str_eq(next_text("1001", 0, &since, NULL), "Your email?");
    customer_says(CUST, "no idea");
    cr_expect(strstr(next_text("1001", 0, &since, NULL), "email address") != NULL);
    customer_says(CUST, "ann@Example.com");
    json_t *q = NULL;
    cr_expect_str_eq(next_text("1001", 0, &since, &q), "Which plan?");
    long mid = (long)json_integer_value(json_object_get(q, "message_id"));
    cr_expect_not_null(json_object_get(q, "reply_markup"), "choices come as buttons");
    json_decref(q);
    press(mid, "intake:plan:1");
    json_t *ans = wait_sent("1001", 0, "answerCallbackQuery", since);
    json_decref(ans);
    cr_expect_str_eq(next_text("1001", 0, &since, NULL), "Order number?");

    /* a restart in the middle of the form: it goes on where it stopped */
    cr_assert_eq(daemon_stop(&S, SIGTERM), 0);
    cr_assert_eq(daemon_start(&S), 0, "serve did not restart:\n%s", daemon_log_tail(&S));
    json_t *none = sjson("GET", "/v1/tickets", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(none, "tickets")), 0, "no ticket until done");
    json_decref(none);
    customer_says(CUST, "A-1234");
    const char *confirm = next_text("1001", 0, &since, NULL);
    cr_expect(strstr(confirm, "#1") != NULL, "%s", confirm);

    json_t *t = ticket_of(CUST);
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_t *cf = json_object_get(t, "custom_fields");
    cr_expect_str_eq(json_string_value(json_object_get(cf, "email")), "ann@example.com");
    cr_expect_str_eq(json_string_value(json_object_get(cf, "plan")), "Pro");
    cr_expect_str_eq(json_string_value(json_object_get(cf, "order_id")), "A-1234");
    cr_expect_str_eq(json_string_value(json_object_get(t, "group")), "level2");
    cr_expect_str_eq(json_string_value(json_object_get(t, "subject")), "My app crashes on start");
    json_decref(t);
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld/thread", (long long)id);
    json_t *th = sjson("GET", path, NULL, 200);
    json_t *entries = json_object_get(th, "entries");
    const char *first = json_string_value(json_object_get(json_array_get(entries, 0), "text"));
    cr_expect(strncmp(first, "Intake form\nEmail: ann@example.com\nPlan: Pro", 43) == 0, "%s",
              first);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(entries, 1), "text")),
                     "My app crashes on start");
    bool confirmed = false;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *en = json_array_get(entries, i);
        confirmed = confirmed || strcmp(json_string_value(json_object_get(
                                     json_object_get(en, "author"), "type")), "bot") == 0;
    }
    cr_expect(confirmed, "the bot's confirmation is part of the conversation");
    json_decref(th);
    json_t *all = sjson("GET", "/v1/tickets", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(all, "tickets")), 1, "Ben left no ticket");
    json_decref(all);
}
