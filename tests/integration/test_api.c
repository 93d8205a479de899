/*
 * test_api.c — the real `tgcrm serve` on a temporary SQLite file, driven
 * over loopback HTTP: auth, bad input, the ticket lifecycle, agents and
 * queues, the test clock, metrics, reload and crash durability.
 */
#define _GNU_SOURCE   /* strcasestr */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"

static struct daemon D;

static void up(void)
{
    daemon_init(&D, NULL);
    cr_assert_eq(daemon_start(&D), 0, "serve did not start:\n%s", daemon_log_tail(&D));
}

static void up_clock(void)
{
    daemon_init(&D, NULL);
    D.test_clock = true;
    cr_assert_eq(daemon_start(&D), 0, "serve did not start:\n%s", daemon_log_tail(&D));
}

static void down(void)
{
    daemon_cleanup(&D);
}

static json_t *body_json(struct http_reply *r)
{
    json_error_t je;
    json_t *v = json_loads(r->body, 0, &je);
    cr_assert_not_null(v, "response is not JSON: %s", r->body);
    return v;
}

/* Request and parse; asserts the status. Caller json_decrefs. */
static json_t *call(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_send(&D, method, path, body, &r), 0, "transport failure %s %s", method, path);
    cr_assert_eq(r.status, want, "%s %s: want %ld, got %ld: %s\nlog:\n%s", method, path, want,
                 r.status, r.body, daemon_log_tail(&D));
    json_t *v = body_json(&r);
    reply_free(&r);
    return v;
}

static const char *sget(json_t *o, const char *path)
{
    /* "a.b.c" lookups in nested objects */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    return cur && json_is_string(cur) ? json_string_value(cur) : NULL;
}

static json_int_t iget(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static json_int_t customer_writes(long tg_user, const char *text, long want)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"customer\":{\"telegram_user_id\":%ld,\"first_name\":\"Cust%ld\"},\"text\":\"%s\"}",
             tg_user, tg_user, text);
    json_t *v = call("POST", "/v1/customer-messages", body, want);
    json_int_t id = iget(json_object_get(v, "ticket"), "id");
    json_decref(v);
    return id;
}

static void expect_error(struct http_reply *r, long status, const char *code, const char *msg_part)
{
    cr_expect_eq(r->status, status, "want %ld got %ld: %s", status, r->status, r->body);
    json_t *v = body_json(r);
    json_t *err = json_object_get(v, "error");
    cr_assert_not_null(err, "no error object: %s", r->body);
    cr_expect_str_eq(json_string_value(json_object_get(err, "code")), code);
    const char *m = json_string_value(json_object_get(err, "message"));
    cr_expect(m && strstr(m, msg_part), "message '%s' lacks '%s'", m ? m : "", msg_part);
    json_decref(v);
}

/* ---- health, auth --------------------------------------------------------------- */

Test(api, healthz_without_auth, .init = up, .fini = down)
{
    struct http_reply r;
    cr_assert_eq(daemon_http(&D, "GET", "/healthz", NULL, NULL, NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    json_t *v = body_json(&r);
    cr_expect_str_eq(sget(v, "status"), "ok");
    cr_expect_geq(iget(v, "schema_version"), 1);
    json_decref(v);
    reply_free(&r);
}

Test(api, auth_required_and_checked, .init = up, .fini = down)
{
    struct http_reply r;
    daemon_http(&D, "GET", "/v1/tickets", NULL, NULL, NULL, &r);
    expect_error(&r, 401, "unauthorized", "");
    cr_expect(strcasestr(r.headers, "WWW-Authenticate: Bearer") != NULL, "%s", r.headers);
    reply_free(&r);
    daemon_http(&D, "GET", "/v1/tickets", "wrong-token-wrong-token", NULL, NULL, &r);
    expect_error(&r, 401, "unauthorized", "");
    reply_free(&r);
    /* The wrong token must not appear in the log. */
    cr_expect(strstr(daemon_log_tail(&D), "wrong-token-wrong-token") == NULL);
    cr_expect(strstr(daemon_log_tail(&D), DAEMON_TOKEN) == NULL, "the real token was logged");
    daemon_http(&D, "GET", "/v1/tickets", DAEMON_TOKEN, NULL, NULL, &r);
    cr_expect_eq(r.status, 200);
    reply_free(&r);
}

Test(api, unknown_route_and_method, .init = up, .fini = down)
{
    struct http_reply r;
    daemon_get(&D, "/v1/nothing-here", &r);
    cr_expect_eq(r.status, 404);
    reply_free(&r);
    daemon_send(&D, "DELETE", "/v1/tickets", NULL, &r);
    cr_expect_eq(r.status, 405);
    cr_expect(strcasestr(r.headers, "Allow:") != NULL, "%s", r.headers);
    reply_free(&r);
}

/* ---- bad input changes nothing ------------------------------------------------------ */

Test(api, bad_bodies_are_refused_precisely, .init = up, .fini = down)
{
    struct http_reply r;
    daemon_send(&D, "POST", "/v1/customer-messages", "{\"customer\": {", &r);
    expect_error(&r, 400, "invalid_request", "malformed JSON");
    reply_free(&r);
    daemon_send(&D, "POST", "/v1/customer-messages",
                "{\"customer\":{\"telegram_user_id\":5},\"text\":\"hi\",\"colour\":1}", &r);
    expect_error(&r, 400, "invalid_request", "colour");
    reply_free(&r);
    daemon_send(&D, "POST", "/v1/customer-messages", "{\"customer\":{\"telegram_user_id\":5}}", &r);
    expect_error(&r, 400, "invalid_request", "text");
    reply_free(&r);
    daemon_send(&D, "POST", "/v1/customer-messages",
                "{\"customer\":{\"telegram_user_id\":\"5\"},\"text\":\"hi\"}", &r);
    expect_error(&r, 400, "invalid_request", "telegram_user_id");
    reply_free(&r);
    daemon_send(&D, "POST", "/v1/customer-messages",
                "{\"customer\":{\"telegram_user_id\":5},\"text\":\"   \"}", &r);
    expect_error(&r, 400, "invalid_request", "text");
    reply_free(&r);
    daemon_http(&D, "POST", "/v1/customer-messages", DAEMON_TOKEN, "text/plain", "hello", &r);
    cr_expect_eq(r.status, 415, "%s", r.body);
    reply_free(&r);

    /* Over max_body (64 KiB in the test config). */
    size_t n = 100 * 1024;
    char *big = malloc(n + 64);
    strcpy(big, "{\"customer\":{\"telegram_user_id\":5},\"text\":\"");
    size_t off = strlen(big);
    memset(big + off, 'x', n);
    strcpy(big + off + n, "\"}");
    daemon_send(&D, "POST", "/v1/customer-messages", big, &r);
    expect_error(&r, 413, "payload_too_large", "");
    reply_free(&r);
    free(big);

    /* Nothing of the above created anything. */
    json_t *v = call("GET", "/v1/tickets", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(v, "tickets")), 0);
    json_decref(v);
}

/* ---- the lifecycle ------------------------------------------------------------------- */

Test(api, customer_message_opens_then_appends, .init = up, .fini = down)
{
    json_int_t id = customer_writes(1001, "My invoice is wrong\\nplease help", 201);
    cr_assert_gt(id, 0);
    json_int_t again = customer_writes(1001, "Any news?", 200);
    cr_assert_eq(again, id, "a second message goes to the same open ticket");

    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)id);
    json_t *t = call("GET", path, NULL, 200);
    cr_expect_str_eq(sget(t, "status"), "open");
    cr_expect_str_eq(sget(t, "group"), "general");
    cr_expect_str_eq(sget(t, "subject"), "My invoice is wrong");
    cr_expect_str_eq(sget(t, "customer.first_name"), "Cust1001");
    cr_expect(json_is_null(json_object_get(t, "assignee")));
    cr_expect(json_is_null(json_object_get(t, "first_response_at")));
    json_decref(t);

    snprintf(path, sizeof path, "/v1/tickets/%lld/thread", (long long)id);
    json_t *th = call("GET", path, NULL, 200);
    json_t *entries = json_object_get(th, "entries");
    cr_assert_geq(json_array_size(entries), 3);
    json_t *first = json_array_get(entries, 0);
    cr_expect_str_eq(sget(first, "text"), "My invoice is wrong\nplease help");
    cr_expect_str_eq(sget(first, "direction"), "inbound");
    cr_expect_str_eq(sget(first, "author.type"), "customer");
    json_t *last = json_array_get(entries, json_array_size(entries) - 1);
    cr_expect_str_eq(sget(last, "text"), "Any news?");
    for (size_t i = 0; i < json_array_size(entries); i++)
        cr_expect_eq(iget(json_array_get(entries, i), "seq"), (json_int_t)i + 1, "seq in order");
    json_decref(th);
}

Test(api, reply_sets_first_response_and_in_progress, .init = up, .fini = down)
{
    json_int_t id = customer_writes(1002, "Hello", 201);
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    json_t *v = call("POST", path, "{\"agent\":\"alice\",\"text\":\"Hi, looking into it\"}", 201);
    json_t *t = json_object_get(v, "ticket");
    cr_expect_str_eq(sget(t, "status"), "in_progress");
    cr_expect_str_eq(sget(t, "assignee"), "alice");
    cr_expect(json_is_string(json_object_get(t, "first_response_at")));
    cr_expect(json_is_integer(json_object_get(t, "first_response_ms")));
    json_decref(v);

    /* unknown agent: 422, nothing written */
    struct http_reply r;
    daemon_send(&D, "POST", path, "{\"agent\":\"mallory\",\"text\":\"hi\"}", &r);
    expect_error(&r, 422, "unprocessable", "unknown agent 'mallory'");
    reply_free(&r);
    snprintf(path, sizeof path, "/v1/tickets/%lld/thread", (long long)id);
    json_t *th = call("GET", path, NULL, 200);
    json_t *entries = json_object_get(th, "entries");
    json_t *last = json_array_get(entries, json_array_size(entries) - 1);
    cr_expect_str_eq(sget(last, "event"), "status_changed");
    bool saw_reply = false;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        if (sget(e, "direction") && strcmp(sget(e, "direction"), "outbound") == 0) {
            saw_reply = true;
            cr_expect_str_eq(sget(e, "author.id"), "alice");
        }
        cr_expect(sget(e, "text") == NULL || strcmp(sget(e, "text"), "hi") != 0,
                  "the refused reply must not be in the thread");
    }
    cr_expect(saw_reply);
    json_decref(th);

    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)999999);
    daemon_send(&D, "POST", path, "{\"agent\":\"alice\",\"text\":\"hi\"}", &r);
    expect_error(&r, 404, "not_found", "999999");
    reply_free(&r);
}

Test(api, status_workflow_and_illegal_transition, .init = up, .fini = down)
{
    json_int_t id = customer_writes(1003, "Broken", 201);
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)id);

    struct http_reply r;
    daemon_send(&D, "PATCH", path, "{\"status\":\"resolved\"}", &r);
    expect_error(&r, 409, "conflict", "illegal transition open -> resolved");
    reply_free(&r);
    json_t *t = call("GET", path, NULL, 200);
    cr_expect_str_eq(sget(t, "status"), "open", "a refused transition changes nothing");
    json_int_t len_before = iget(t, "thread_len");
    json_decref(t);

    daemon_send(&D, "PATCH", path, "{\"status\":\"pending\"}", &r);
    expect_error(&r, 400, "invalid_request", "unknown status 'pending'");
    reply_free(&r);
    daemon_send(&D, "PATCH", path, "{}", &r);
    expect_error(&r, 400, "invalid_request", "nothing to change");
    reply_free(&r);
    daemon_send(&D, "PATCH", path, "{\"group\":\"nowhere\"}", &r);
    expect_error(&r, 422, "unprocessable", "unknown group 'nowhere'");
    reply_free(&r);
    daemon_send(&D, "PATCH", path, "{\"assignee\":\"carol\"}", &r);
    expect_error(&r, 422, "unprocessable", "does not serve group 'general'");
    reply_free(&r);
    t = call("GET", path, NULL, 200);
    cr_expect_eq(iget(t, "thread_len"), len_before, "refused updates write no thread entries");
    json_decref(t);

    const char *steps[] = {"in_progress", "on_hold", "in_progress", "resolved", "closed"};
    for (size_t i = 0; i < 5; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"status\":\"%s\",\"reason\":\"step %zu\"}", steps[i], i);
        t = call("PATCH", path, body, 200);
        cr_expect_str_eq(sget(t, "status"), steps[i]);
        if (strcmp(steps[i], "resolved") == 0)
            cr_expect(json_is_integer(json_object_get(t, "resolution_ms")));
        json_decref(t);
    }
    daemon_send(&D, "PATCH", path, "{\"status\":\"in_progress\"}", &r);
    expect_error(&r, 409, "conflict", "allowed from closed: none");
    reply_free(&r);

    /* The customer writes again: the default policy reopens. */
    json_int_t again = customer_writes(1003, "It broke again", 200);
    cr_expect_eq(again, id);
    t = call("GET", path, NULL, 200);
    cr_expect_str_eq(sget(t, "status"), "open");
    cr_expect_eq(iget(t, "reopen_count"), 1);
    cr_expect(json_is_null(json_object_get(t, "resolved_at")));
    json_decref(t);
}

Test(api, group_priority_assignee_changes, .init = up, .fini = down)
{
    json_int_t id = customer_writes(1004, "Refund please", 201);
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)id);
    json_t *t = call("PATCH", path, "{\"group\":\"billing\",\"priority\":\"high\",\"assignee\":\"alice\"}", 200);
    cr_expect_str_eq(sget(t, "group"), "billing");
    cr_expect_str_eq(sget(t, "priority"), "high");
    cr_expect_str_eq(sget(t, "assignee"), "alice");
    json_decref(t);
    /* moving to level2 lets alice go: she does not serve it */
    t = call("PATCH", path, "{\"group\":\"level2\"}", 200);
    cr_expect(json_is_null(json_object_get(t, "assignee")));
    json_decref(t);
    t = call("PATCH", path, "{\"assignee\":\"carol\"}", 200);
    cr_expect_str_eq(sget(t, "assignee"), "carol");
    json_decref(t);
    t = call("PATCH", path, "{\"assignee\":null}", 200);
    cr_expect(json_is_null(json_object_get(t, "assignee")));
    json_decref(t);
}

Test(api, notes_stay_internal, .init = up, .fini = down)
{
    json_int_t id = customer_writes(1005, "Question", 201);
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/notes", (long long)id);
    json_t *v = call("POST", path, "{\"agent\":\"bob\",\"text\":\"VIP, be nice\"}", 201);
    json_t *t = json_object_get(v, "ticket");
    cr_expect_str_eq(sget(t, "status"), "open", "a note is not a response");
    cr_expect(json_is_null(json_object_get(t, "first_response_at")));
    json_decref(v);
}

Test(api, list_filters_and_paging, .init = up, .fini = down)
{
    for (long u = 2000; u < 2007; u++)
        customer_writes(u, "hello", 201);
    json_t *v = call("GET", "/v1/tickets?limit=3", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(v, "tickets")), 3);
    json_int_t next = json_integer_value(json_object_get(v, "next_after"));
    cr_expect_gt(next, 0);
    json_decref(v);
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets?limit=3&after=%lld", (long long)next);
    v = call("GET", path, NULL, 200);
    json_t *arr = json_object_get(v, "tickets");
    cr_expect_eq(json_array_size(arr), 3);
    cr_expect_gt(iget(json_array_get(arr, 0), "id"), next);
    json_decref(v);

    v = call("GET", "/v1/tickets?customer=2003", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(v, "tickets")), 1);
    json_decref(v);
    v = call("GET", "/v1/tickets?status=open&group=general&unassigned=true", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(v, "tickets")), 7);
    json_decref(v);
    v = call("GET", "/v1/tickets?status=closed", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(v, "tickets")), 0);
    json_decref(v);

    struct http_reply r;
    daemon_get(&D, "/v1/tickets?limit=0", &r);
    expect_error(&r, 400, "invalid_request", "limit");
    reply_free(&r);
    daemon_get(&D, "/v1/tickets?status=weird", &r);
    expect_error(&r, 400, "invalid_request", "weird");
    reply_free(&r);
    daemon_get(&D, "/v1/tickets/abc", &r);
    cr_expect_eq(r.status, 400);
    reply_free(&r);
}

Test(api, agents_and_queues, .init = up, .fini = down)
{
    json_t *v = call("GET", "/v1/agents", NULL, 200);
    json_t *agents = json_object_get(v, "agents");
    cr_assert_eq(json_array_size(agents), 3);
    cr_expect_str_eq(sget(json_array_get(agents, 2), "availability"), "away");
    json_decref(v);

    v = call("PATCH", "/v1/agents/carol", "{\"availability\":\"online\"}", 200);
    cr_expect_str_eq(sget(v, "availability"), "online");
    json_decref(v);
    struct http_reply r;
    daemon_send(&D, "PATCH", "/v1/agents/carol", "{\"availability\":\"busy\"}", &r);
    expect_error(&r, 400, "invalid_request", "busy");
    reply_free(&r);
    daemon_send(&D, "PATCH", "/v1/agents/zed", "{\"availability\":\"online\"}", &r);
    cr_expect(r.status == 404 || r.status == 422, "%ld", r.status);
    reply_free(&r);

    json_int_t id = customer_writes(3001, "Need help", 201);
    customer_writes(3002, "Me too", 201);
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    json_decref(call("POST", path, "{\"agent\":\"bob\",\"text\":\"on it\"}", 201));

    v = call("GET", "/v1/queues", NULL, 200);
    json_t *queues = json_object_get(v, "queues");
    cr_assert_eq(json_array_size(queues), 3);
    json_t *general = json_array_get(queues, 0);
    cr_expect_str_eq(sget(general, "group"), "general");
    cr_expect_eq(iget(general, "active"), 2);
    cr_expect_eq(iget(general, "unassigned"), 1);
    cr_expect_eq(iget(general, "open"), 1);
    cr_expect_eq(iget(general, "in_progress"), 1);
    json_t *qa = json_object_get(general, "agents");
    bool saw_bob = false;
    for (size_t i = 0; i < json_array_size(qa); i++) {
        json_t *a = json_array_get(qa, i);
        if (strcmp(sget(a, "id"), "bob") == 0) {
            saw_bob = true;
            cr_expect_eq(iget(a, "active_tickets"), 1);
        }
    }
    cr_expect(saw_bob);
    json_decref(v);
}

Test(api, metrics_text, .init = up, .fini = down)
{
    customer_writes(4001, "hi", 201);
    struct http_reply r;
    daemon_http(&D, "GET", "/metrics", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_expect(strstr(r.body, "# TYPE") != NULL, "%s", r.body);
    cr_expect(strstr(r.body, "tgcrm_tickets{status=\"open\"} 1") != NULL, "%s", r.body);
    cr_expect(strstr(r.body, "tgcrm_http_requests_total") != NULL, "%s", r.body);
    reply_free(&r);
}

/* ---- the test clock ------------------------------------------------------------------- */

Test(api, test_clock_absent_in_production, .init = up, .fini = down)
{
    struct http_reply r;
    daemon_send(&D, "POST", "/v1/test/clock", "{\"advance\":\"5m\"}", &r);
    cr_expect_eq(r.status, 404, "the manual clock must not exist without --test-clock");
    reply_free(&r);
}

Test(api, test_clock_drives_timestamps, .init = up_clock, .fini = down)
{
    json_t *v = call("GET", "/v1/test/clock", NULL, 200);
    cr_expect_str_eq(sget(v, "now"), "2026-01-05T09:00:00.000Z");
    json_decref(v);
    json_int_t id = customer_writes(5001, "clock test", 201);
    json_decref(call("POST", "/v1/test/clock", "{\"advance\":\"1m30s\"}", 200));
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    v = call("POST", path, "{\"agent\":\"alice\",\"text\":\"hello\"}", 201);
    json_t *t = json_object_get(v, "ticket");
    cr_expect_str_eq(sget(t, "created_at"), "2026-01-05T09:00:00.000Z");
    cr_expect_str_eq(sget(t, "first_response_at"), "2026-01-05T09:01:30.000Z");
    cr_expect_eq(iget(t, "first_response_ms"), 90000);
    json_decref(v);
    struct http_reply r;
    daemon_send(&D, "POST", "/v1/test/clock", "{\"set\":\"2020-01-01T00:00:00Z\"}", &r);
    cr_expect_eq(r.status, 400, "the clock never goes backwards: %s", r.body);
    reply_free(&r);
}

/* ---- signals: reload, shutdown, crash ----------------------------------------------------- */

Test(api, sighup_reload_good_and_bad, .init = up, .fini = down)
{
    FILE *f = fopen(D.config, "a");
    fputs("  - id: dave\n    telegram_user_id: 9004\n    groups: [general]\n", f);
    fclose(f);
    kill(D.pid, SIGHUP);
    bool seen = false;
    for (int i = 0; i < 200 && !seen; i++) {
        json_t *v = call("GET", "/v1/agents", NULL, 200);
        seen = json_array_size(json_object_get(v, "agents")) == 4;
        json_decref(v);
        if (!seen)
            usleep(20000);
    }
    cr_expect(seen, "the reloaded config should list dave");

    f = fopen(D.config, "a");
    fputs("nonsense_section: 1\n", f);
    fclose(f);
    kill(D.pid, SIGHUP);
    bool logged = false;
    for (int i = 0; i < 200 && !logged; i++) {
        logged = strstr(daemon_log_tail(&D), "config.reload_failed") != NULL;
        if (!logged)
            usleep(20000);
    }
    cr_expect(logged, "a bad reload is logged:\n%s", daemon_log_tail(&D));
    json_t *v = call("GET", "/v1/agents", NULL, 200);
    cr_expect_eq(json_array_size(json_object_get(v, "agents")), 4, "the old config stays");
    json_decref(v);
}

Test(api, sighup_reload_with_a_template_error_keeps_the_running_config, .init = up,
     .fini = down)
{
    FILE *f = fopen(D.config, "a");
    fputs("templates:\n  - name: broken\n    text: \"Hi {{customer.frist_name}}\"\n", f);
    fclose(f);
    kill(D.pid, SIGHUP);
    const char *at = NULL;
    for (int i = 0; i < 200 && at == NULL; i++) {
        at = strstr(daemon_log_tail(&D), "config.reload_failed");
        if (at == NULL)
            usleep(20000);
    }
    cr_assert_not_null(at, "a template error fails the reload:\n%s", daemon_log_tail(&D));
    cr_expect(strstr(at, "template 'broken'") != NULL && strstr(at, "frist_name") != NULL,
              "the error names the template and the variable:\n%s", at);
    cr_expect(strstr(at, "tgcrm.yaml:") != NULL, "with its position:\n%s", at);
    json_int_t id = customer_writes(6101, "still working?", 201);
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/replies", (long long)id);
    json_decref(call("POST", path, "{\"agent\":\"alice\",\"template\":\"broken\"}", 422));
}

Test(api, sigterm_is_a_clean_exit, .init = up, .fini = down)
{
    customer_writes(6001, "bye", 201);
    cr_expect_eq(daemon_stop(&D, SIGTERM), 0, "log:\n%s", daemon_log_tail(&D));
    cr_expect(strstr(daemon_log_tail(&D), "serve.stopped") != NULL);
}

struct writer {
    long base;
    int n;
    int acked;          /* writes answered 2xx: committed */
};

static void *write_loop(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"customer\":{\"telegram_user_id\":%ld},\"text\":\"msg %d\"}", w->base + i, i);
        struct http_reply r;
        int rc = daemon_send(&D, "POST", "/v1/customer-messages", body, &r);
        long status = r.status;
        reply_free(&r);
        if (rc != 0 || status != 201)
            break;          /* the daemon died: stop here */
        w->acked++;
    }
    return NULL;
}

Test(api, sigkill_loses_no_committed_write, .init = up, .fini = down, .timeout = 120)
{
    /* Sequential writes, then SIGKILL between two of them. */
    for (long u = 7000; u < 7010; u++)
        customer_writes(u, "before the crash", 201);
    cr_assert_eq(daemon_stop(&D, SIGKILL), 128 + SIGKILL);
    cr_assert_eq(daemon_start(&D), 0, "restart failed:\n%s", daemon_log_tail(&D));
    for (long u = 7000; u < 7010; u++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/tickets?customer=%ld", u);
        json_t *v = call("GET", path, NULL, 200);
        cr_expect_eq(json_array_size(json_object_get(v, "tickets")), 1, "customer %ld lost", u);
        json_decref(v);
    }

    /* Concurrent writers, killed mid-stream: every acknowledged write survives. */
    struct writer ws[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        ws[i] = (struct writer){.base = 100000 + i * 10000, .n = 400};
        pthread_create(&th[i], NULL, write_loop, &ws[i]);
    }
    usleep(300 * 1000);
    daemon_stop(&D, SIGKILL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(daemon_start(&D), 0, "restart failed:\n%s", daemon_log_tail(&D));
    int total = 0;
    for (int i = 0; i < 4; i++) {
        total += ws[i].acked;
        for (int k = 0; k < ws[i].acked; k++) {
            char path[64];
            snprintf(path, sizeof path, "/v1/tickets?customer=%ld", ws[i].base + k);
            json_t *v = call("GET", path, NULL, 200);
            cr_expect_eq(json_array_size(json_object_get(v, "tickets")), 1,
                         "acknowledged write for customer %ld lost", ws[i].base + k);
            json_decref(v);
        }
    }
    cr_expect_gt(total, 0, "some writes should have been acknowledged before the kill");
}
