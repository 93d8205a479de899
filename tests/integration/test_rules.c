/*
 * test_rules.c — routing, SLA and escalation through the real `tgcrm serve`
 * over loopback HTTP: a keyword ticket routed to its queue and agent, an
 * SLA breach raised at the exact deadline with the test clock (and within a
 * second of it with the real clock), the breach escalating the ticket, a
 * waiting ticket taken when its agent comes online, and the escalation API.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/daemon.h"

static struct daemon D;

static const char rules_yaml[] =
    "routing:\n"
    "  - {name: billing, keywords: [invoice, billing], group: billing}\n"
    "sla:\n"
    "  - {name: article, first_response: 2m, resolution: 10m, warn_before: 30s}\n"
    "escalation:\n"
    "  - {name: breach, on_sla: breach, raise_priority: true, next_level: true,"
    " notify: true}\n";

static void up_clock(void)
{
    daemon_init(&D, rules_yaml);
    D.test_clock = true;
    cr_assert_eq(daemon_start(&D), 0, "serve did not start:\n%s", daemon_log_tail(&D));
}

static void up_real(void)
{
    daemon_init(&D, "sla:\n  - {name: quick, first_response: 2s}\n");
    cr_assert_eq(daemon_start(&D), 0, "serve did not start:\n%s", daemon_log_tail(&D));
}

static void down(void)
{
    daemon_cleanup(&D);
}

/* Request and parse; asserts the status. Caller json_decrefs. */
static json_t *call(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_send(&D, method, path, body, &r), 0, "transport failure %s %s", method,
                 path);
    cr_assert_eq(r.status, want, "%s %s: want %ld, got %ld: %s\nlog:\n%s", method, path, want,
                 r.status, r.body, daemon_log_tail(&D));
    json_error_t je;
    json_t *v = json_loads(r.body, 0, &je);
    cr_assert_not_null(v, "not JSON: %s", r.body);
    reply_free(&r);
    return v;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A customer writes; the ticket as the API answers. */
static json_t *customer_writes(long user, const char *text)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"customer\":{\"telegram_user_id\":%ld,\"first_name\":\"C%ld\"},\"text\":\"%s\"}",
             user, user, text);
    struct http_reply r;
    cr_assert_eq(daemon_send(&D, "POST", "/v1/customer-messages", body, &r), 0);
    cr_assert(r.status == 200 || r.status == 201, "%ld: %s", r.status, r.body);
    json_t *v = json_loads(r.body, 0, NULL);
    reply_free(&r);
    cr_assert_not_null(v);
    json_t *t = json_incref(json_object_get(v, "ticket"));
    json_decref(v);
    cr_assert_not_null(t);
    return t;
}

static json_t *get_ticket(json_int_t id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)id);
    return call("GET", path, NULL, 200);
}

/* The thread's first entry with this event, or NULL; *thread to free. */
static json_t *thread_event(json_int_t id, const char *event, json_t **thread)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld/thread", (long long)id);
    *thread = call("GET", path, NULL, 200);
    json_t *entries = json_object_get(*thread, "entries");
    if (entries == NULL)
        entries = *thread;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *ev = str(e, "event");
        if (ev != NULL && strcmp(ev, event) == 0)
            return e;
    }
    return NULL;
}

static void advance(const char *by)
{
    char body[64];
    snprintf(body, sizeof body, "{\"advance\":\"%s\"}", by);
    json_decref(call("POST", "/v1/test/clock", body, 200));
}

Test(rules_it, keyword_ticket_is_routed_to_its_queue_and_agent, .init = up_clock, .fini = down)
{
    json_t *t = customer_writes(7001, "My INVOICE is wrong");
    cr_expect_str_eq(str(t, "group"), "billing");
    cr_expect_str_eq(str(t, "rule"), "billing");
    cr_expect_str_eq(str(t, "assignee"), "alice", "the only billing agent");
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    json_t *thread = NULL;
    json_t *as = thread_event(id, "assigned", &thread);
    cr_assert_not_null(as, "an assignment entry");
    json_t *data = json_object_get(as, "data");
    cr_expect_str_eq(str(data, "rule"), "billing");
    cr_expect(strstr(str(data, "reason"), "routed to billing by rule 'billing'") != NULL, "%s",
              str(data, "reason"));
    json_decref(thread);

    /* no rule: the general queue, unassigned */
    t = customer_writes(7002, "hello");
    cr_expect_str_eq(str(t, "group"), "general");
    cr_expect(json_is_null(json_object_get(t, "rule")));
    cr_expect(json_is_null(json_object_get(t, "assignee")));
    json_decref(t);
}

Test(rules_it, sla_breach_at_the_exact_deadline, .init = up_clock, .fini = down)
{
    json_t *t = customer_writes(7101, "hello, anyone?");
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_t *fr = json_object_get(json_object_get(t, "sla"), "first_response");
    cr_assert_not_null(fr, "the ticket shows its SLA clocks");
    cr_expect_str_eq(str(fr, "status"), "running");
    cr_expect_str_eq(str(fr, "started_at"), "2026-01-05T09:00:00.000Z");
    cr_expect_str_eq(str(fr, "due_at"), "2026-01-05T09:02:00.000Z");
    cr_expect_str_eq(str(fr, "warn_at"), "2026-01-05T09:01:30.000Z");
    cr_expect_eq(json_integer_value(json_object_get(fr, "target_ms")), 120000);
    json_decref(t);

    advance("1m59s");
    advance("999ms");
    t = get_ticket(id);
    fr = json_object_get(json_object_get(t, "sla"), "first_response");
    cr_expect(json_is_false(json_object_get(fr, "breached")), "1 ms before the deadline");
    cr_expect_str_eq(str(t, "priority"), "normal");
    json_decref(t);
    json_t *thread = NULL;
    cr_expect_not_null(thread_event(id, "sla_warning", &thread), "the warning came first");
    cr_expect_null(thread_event(id, "sla_breached", &thread));
    json_decref(thread);

    advance("1ms");
    t = get_ticket(id);
    fr = json_object_get(json_object_get(t, "sla"), "first_response");
    cr_expect(json_is_true(json_object_get(fr, "breached")));
    cr_expect_str_eq(str(fr, "breached_at"), "2026-01-05T09:02:00.000Z");
    cr_expect_eq(json_integer_value(json_object_get(fr, "breaches")), 1);
    /* the breach policy escalated it: priority up, a level up */
    cr_expect_str_eq(str(t, "priority"), "high");
    cr_expect_str_eq(str(t, "group"), "level2");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(t, "escalations"), 0)),
                     "breach");
    json_decref(t);
    json_t *b = thread_event(id, "sla_breached", &thread);
    cr_assert_not_null(b);
    cr_expect_str_eq(str(b, "at"), "2026-01-05T09:02:00.000Z", "recorded at the deadline");
    cr_expect_str_eq(str(json_object_get(b, "data"), "metric"), "first_response");
    json_t *x = thread_event(id, "escalated", &thread);
    cr_assert_not_null(x);
    cr_expect_str_eq(str(json_object_get(x, "data"), "trigger"), "sla_breach");
    json_decref(thread);

    /* once: moving on raises nothing more for that cycle */
    advance("5m");
    t = get_ticket(id);
    fr = json_object_get(json_object_get(t, "sla"), "first_response");
    cr_expect_eq(json_integer_value(json_object_get(fr, "breaches")), 1);
    json_decref(t);
}

Test(rules_it, waiting_ticket_taken_when_its_agent_comes_online, .init = up_clock,
     .fini = down)
{
    json_decref(call("PATCH", "/v1/agents/alice", "{\"availability\":\"offline\"}", 200));
    json_t *t = customer_writes(7201, "billing question");
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    cr_expect_str_eq(str(t, "group"), "billing");
    cr_expect(json_is_null(json_object_get(t, "assignee")), "nobody online in billing");
    json_decref(t);
    json_decref(call("PATCH", "/v1/agents/alice", "{\"availability\":\"online\"}", 200));
    t = get_ticket(id);
    cr_expect_str_eq(str(t, "assignee"), "alice");
    json_decref(t);
}

Test(rules_it, escalation_api, .init = up_clock, .fini = down)
{
    json_t *t = customer_writes(7301, "hello");
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_decref(t);
    char path[96];
    snprintf(path, sizeof path, "/v1/tickets/%lld/escalations", (long long)id);
    json_decref(call("POST", path, "{\"policy\":\"breach\"}", 409));     /* not manual */
    json_t *v = call("POST", path, "{\"reason\":\"VIP complaint\"}", 200);
    json_t *tk = json_object_get(v, "ticket");
    cr_expect_str_eq(str(tk, "group"), "level2", "the built-in manual policy: a level up");
    cr_expect_str_eq(str(tk, "priority"), "high");
    cr_expect_gt(json_integer_value(json_object_get(v, "seq")), 0);
    json_decref(v);
}

/* With the real clock nobody moves time: the engine wakes itself at the
 * deadline. The breach must be recorded within a second of it. */
Test(rules_it, real_clock_breach_within_a_second, .init = up_real, .fini = down)
{
    json_t *t = customer_writes(7401, "hello");
    json_int_t id = json_integer_value(json_object_get(t, "id"));
    json_t *fr = json_object_get(json_object_get(t, "sla"), "first_response");
    char due[40];
    snprintf(due, sizeof due, "%s", str(fr, "due_at"));
    json_decref(t);
    json_t *b = NULL, *thread = NULL;
    for (int i = 0; i < 100 && b == NULL; i++) {        /* up to 10 s */
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        json_decref(thread);
        b = thread_event(id, "sla_breached", &thread);
    }
    cr_assert_not_null(b, "no breach within 10 s of a 2 s target\n%s", daemon_log_tail(&D));
    struct tm tm_due = {0}, tm_at = {0};
    int ms_due = 0, ms_at = 0;
    cr_assert_eq(sscanf(due, "%d-%d-%dT%d:%d:%d.%dZ", &tm_due.tm_year, &tm_due.tm_mon,
                        &tm_due.tm_mday, &tm_due.tm_hour, &tm_due.tm_min, &tm_due.tm_sec,
                        &ms_due), 7);
    cr_assert_eq(sscanf(str(b, "at"), "%d-%d-%dT%d:%d:%d.%dZ", &tm_at.tm_year, &tm_at.tm_mon,
                        &tm_at.tm_mday, &tm_at.tm_hour, &tm_at.tm_min, &tm_at.tm_sec, &ms_at),
                 7);
    tm_due.tm_year -= 1900;
    tm_at.tm_year -= 1900;
    tm_due.tm_mon -= 1;
    tm_at.tm_mon -= 1;
    long long late = ((long long)timegm(&tm_at) - timegm(&tm_due)) * 1000 + ms_at - ms_due;
    cr_expect_geq(late, 0, "never early");
    cr_expect_leq(late, 1000, "breach recorded %lld ms after its deadline", late);
    json_decref(thread);
}
