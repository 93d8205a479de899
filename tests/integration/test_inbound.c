/*
 * test_inbound.c — POST /v1/inbound/{endpoint} through the real `tgcrm
 * serve` (manual clock) on loopback: requests signed with tgcrm's own
 * Standard Webhooks signer (hook_sign_header) as the help desk would sign
 * them. Updates, replies and notes applied; every class of bad request
 * refused with its status, code and field, logged, and leaving the ticket,
 * its thread and the domain events exactly as they were; a repeated
 * webhook-id applied once (also concurrently and across a SIGKILL);
 * rotation; and an inbound reply reaching the customer on the fake
 * Telegram.
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
#include "webhook/hook_sign.h"

#define S_NEW "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
#define S_OLD "whsec_Tm90IGEgcmVhbCBzZWNyZXQgYnV0IDMyIGJ5dGVzISE="
#define S_OTHER "whsec_b3RoZXIgc2VjcmV0IG9mIDMyIGJ5dGVzIGxvbmcgISE="

/* Two endpoints: helpdesk (one secret) and rotating (new + previous). The
 * event filter keeps outbound deliveries to the unused URLs rare. */
static const char endpoints_yaml[] =
    "webhooks:\n"
    "  - name: helpdesk\n"
    "    url: http://127.0.0.1:9/unused\n"
    "    secret: \"" S_NEW "\"\n"
    "    events: [customer.blocked]\n"
    "  - name: rotating\n"
    "    url: http://127.0.0.1:9/unused\n"
    "    secret: \"" S_NEW "\"\n"
    "    previous_secret: \"" S_OLD "\"\n"
    "    events: [customer.blocked]\n";

static struct daemon D;
static long long NOW;   /* the manual clock, Unix seconds */
static int SEQ;         /* makes webhook-ids unique within a test */

/* ---- plumbing ------------------------------------------------------------------- */

static json_t *parse(const struct http_reply *r)
{
    json_error_t je;
    json_t *v = json_loads(r->body, 0, &je);
    cr_assert_not_null(v, "not JSON (%ld): %s", r->status, r->body);
    return v;
}

static json_t *api(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_send(&D, method, path, body, &r), 0, "transport %s %s", method, path);
    cr_assert_eq(r.status, want, "%s %s: want %ld, got %ld: %s\n%s", method, path, want, r.status,
                 r.body, daemon_log_tail(&D));
    json_t *v = parse(&r);
    reply_free(&r);
    return v;
}

/* The three Standard Webhooks headers; NULL members are not sent. */
struct hooks {
    const char *id, *ts, *sig;
    const char *extra;   /* one more raw header line, or NULL */
};

/* POST body (len bytes) to /v1/inbound/<endpoint> with exactly the given
 * headers: no bearer token unless `extra` adds one. */
static void post_raw(const char *endpoint, const struct hooks *h, const char *body, size_t len,
                     struct http_reply *out)
{
    char path[128], lines[4][512];
    const char *list[5];
    size_t n = 0;
    const char *names[] = {"webhook-id", "webhook-timestamp", "webhook-signature"};
    const char *values[] = {h->id, h->ts, h->sig};
    for (int i = 0; i < 3; i++) {
        if (values[i] == NULL)
            continue;
        snprintf(lines[n], sizeof lines[n], "%s: %s", names[i], values[i]);
        list[n] = lines[n];
        n++;
    }
    if (h->extra != NULL)
        list[n++] = h->extra;
    list[n] = NULL;
    snprintf(path, sizeof path, "/v1/inbound/%s", endpoint);
    cr_assert_eq(daemon_http_raw(&D, "POST", path, list, body, len, out), 0, "POST %s", path);
}

/* Sign `body` at Unix time ts with `secret` and POST it under `id`. */
static void post_signed_at(const char *endpoint, const char *secret, const char *id,
                           long long ts, const char *body, struct http_reply *out)
{
    char sig[HOOK_SIGN_HEADER_MAX], tsbuf[24];
    struct err e = {0};
    cr_assert_eq(hook_sign_header(secret, NULL, id, ts, body, strlen(body), sig, &e), 0, "%s",
                 e.msg);
    snprintf(tsbuf, sizeof tsbuf, "%lld", ts);
    struct hooks h = {id, tsbuf, sig, NULL};
    post_raw(endpoint, &h, body, strlen(body), out);
}

static void post_signed(const char *endpoint, const char *secret, const char *id,
                        const char *body, struct http_reply *out)
{
    post_signed_at(endpoint, secret, id, NOW, body, out);
}

static const char *next_id(void)
{
    static char id[32];
    snprintf(id, sizeof id, "msg_%d", ++SEQ);
    return id;
}

/* A signed request to helpdesk that must be applied; returns the reply body. */
static json_t *inbound_ok(const char *body)
{
    struct http_reply r;
    const char *id = next_id();
    post_signed("helpdesk", S_NEW, id, body, &r);
    cr_assert_eq(r.status, 200, "%s: %ld %s\n%s", body, r.status, r.body, daemon_log_tail(&D));
    json_t *v = parse(&r);
    cr_expect_str_eq(json_string_value(json_object_get(v, "webhook_id")), id);
    reply_free(&r);
    return v;
}

/* inbound_ok, keeping only the answer's seq. */
static json_int_t inbound_seq(const char *body)
{
    json_t *v = inbound_ok(body);
    json_int_t seq = json_integer_value(json_object_get(v, "seq"));
    json_decref(v);
    return seq;
}

static void expect_error(const struct http_reply *r, long status, const char *code,
                         const char *field, const char *msg_part, const char *label)
{
    cr_expect_eq(r->status, status, "%s: want %ld, got %ld: %s", label, status, r->status,
                 r->body);
    json_t *v = parse(r);
    json_t *err = json_object_get(v, "error");
    cr_assert_not_null(err, "%s: no error object: %s", label, r->body);
    cr_expect_str_eq(json_string_value(json_object_get(err, "code")), code, "%s", label);
    json_t *f = json_object_get(err, "field");
    cr_expect_str_eq(f ? json_string_value(f) : "", field, "%s: field in %s", label, r->body);
    const char *m = json_string_value(json_object_get(err, "message"));
    cr_expect(m != NULL && strstr(m, msg_part) != NULL, "%s: message '%s' lacks '%s'", label,
              m ? m : "", msg_part);
    json_decref(v);
}

static json_int_t new_ticket(long tg_user)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"customer\":{\"telegram_user_id\":%ld,\"first_name\":\"Ann\"},"
             "\"text\":\"My invoice is wrong\"}", tg_user);
    json_t *v = api("POST", "/v1/customer-messages", body, 201);
    json_int_t id = json_integer_value(json_object_get(json_object_get(v, "ticket"), "id"));
    json_decref(v);
    return id;
}

static json_t *ticket(json_int_t id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld", (long long)id);
    return api("GET", path, NULL, 200);
}

static json_t *thread(json_int_t id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%lld/thread", (long long)id);
    json_t *v = api("GET", path, NULL, 200);
    json_t *entries = json_incref(json_object_get(v, "entries"));
    json_decref(v);
    return entries;
}

/* Everything a request could change, as one string: the ticket, its
 * thread and the number of domain events (the outbound webhook source). */
static char *snapshot(json_int_t id)
{
    json_t *t = ticket(id), *th = thread(id);
    struct http_reply m;
    cr_assert_eq(daemon_http(&D, "GET", "/metrics", NULL, NULL, NULL, &m), 0);
    const char *ev = strstr(m.body, "\ntgcrm_events_total ");
    cr_assert_not_null(ev, "no tgcrm_events_total in /metrics");
    long long events = atoll(ev + strlen("\ntgcrm_events_total "));
    reply_free(&m);
    char *ts = json_dumps(t, JSON_SORT_KEYS), *ths = json_dumps(th, JSON_SORT_KEYS);
    char *out = NULL;
    cr_assert_neq(asprintf(&out, "%s\n%s\nevents=%lld", ts, ths, events), -1);
    free(ts);
    free(ths);
    json_decref(t);
    json_decref(th);
    return out;
}

/* The whole serve log (daemon_log_tail keeps only the end). */
static char *whole_log(void)
{
    char path[320];
    snprintf(path, sizeof path, "%s/serve.log", D.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static int occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Start serve on the manual clock and read it; ids start again. */
static void start_serve(void)
{
    cr_assert_eq(daemon_start(&D), 0, "serve did not start:\n%s", daemon_log_tail(&D));
    json_t *clk = api("GET", "/v1/test/clock", NULL, 200);
    NOW = (long long)(json_integer_value(json_object_get(clk, "now_ms")) / 1000);
    json_decref(clk);
    SEQ = 0;
}

static void up(void)
{
    daemon_init(&D, endpoints_yaml);
    D.test_clock = true;
    start_serve();
}

static void down(void)
{
    daemon_cleanup(&D);
}

/* ---- applied ----------------------------------------------------------------------- */

Test(inbound, update_note_and_reply_are_applied, .init = up, .fini = down)
{
    json_int_t id = new_ticket(7001);
    char body[512];
    snprintf(body, sizeof body,
             "{\"type\":\"ticket.update\",\"ticket_id\":%lld,\"status\":\"in_progress\","
             "\"priority\":\"high\",\"group\":\"billing\",\"assignee\":\"alice\","
             "\"reason\":\"taken in the help desk\"}", (long long)id);
    json_t *r = inbound_ok(body);
    cr_expect_eq(json_integer_value(json_object_get(r, "ticket_id")), id);
    json_int_t update_seq = json_integer_value(json_object_get(r, "seq"));
    cr_expect_gt(update_seq, 0);
    json_decref(r);
    json_t *t = ticket(id);
    cr_expect_str_eq(json_string_value(json_object_get(t, "status")), "in_progress");
    cr_expect_str_eq(json_string_value(json_object_get(t, "priority")), "high");
    cr_expect_str_eq(json_string_value(json_object_get(t, "group")), "billing");
    cr_expect_str_eq(json_string_value(json_object_get(t, "assignee")), "alice");
    json_decref(t);

    snprintf(body, sizeof body,
             "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"bob\","
             "\"text\":\"customer called, see CRM-12\"}", (long long)id);
    json_int_t note_seq = inbound_seq(body);
    snprintf(body, sizeof body,
             "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,\"agent\":\"alice\","
             "\"text\":\"Your invoice is corrected. Привет 👋\"}", (long long)id);
    json_int_t reply_seq = inbound_seq(body);

    json_t *th = thread(id);
    bool saw_status = false;
    for (size_t i = 0; i < json_array_size(th); i++) {
        json_t *en = json_array_get(th, i);
        json_int_t seq = json_integer_value(json_object_get(en, "seq"));
        const char *kind = json_string_value(json_object_get(en, "kind"));
        const char *text = json_string_value(json_object_get(en, "text"));
        const char *author = json_string_value(json_object_get(json_object_get(en, "author"), "id"));
        const char *event = json_string_value(json_object_get(en, "event"));
        if (event != NULL && strcmp(event, "status_changed") == 0) {
            saw_status = true;
            cr_expect_str_eq(author, "inbound:helpdesk", "the actor names the endpoint");
            cr_expect_str_eq(json_string_value(json_object_get(json_object_get(en, "data"),
                                                               "reason")),
                             "taken in the help desk");
        }
        if (seq == note_seq) {
            cr_expect_str_eq(kind, "note");
            cr_expect_str_eq(author, "bob");
            cr_expect_str_eq(text, "customer called, see CRM-12");
        }
        if (seq == reply_seq) {
            cr_expect_str_eq(kind, "message");
            cr_expect_str_eq(json_string_value(json_object_get(en, "direction")), "outbound");
            cr_expect_str_eq(author, "alice");
            cr_expect_str_eq(text, "Your invoice is corrected. Привет 👋");
        }
    }
    cr_expect(saw_status);
    cr_expect_eq(reply_seq, (json_int_t)json_array_size(th), "the reply is the last entry");
    json_decref(th);

    /* an update that asks for what already is changes nothing and says so */
    snprintf(body, sizeof body, "{\"type\":\"ticket.update\",\"ticket_id\":%lld,"
             "\"priority\":\"high\"}", (long long)id);
    char *before = snapshot(id);
    cr_expect_eq(inbound_seq(body), 0);
    char *after = snapshot(id);
    cr_expect_str_eq(after, before);
    free(before);
    free(after);

    char *log = whole_log();
    cr_expect_eq(occurrences(log, "\"inbound.applied\""), 4, "every applied request is logged");
    free(log);
}

/* ---- refused -------------------------------------------------------------------------- */

enum sign_mode { SIGNED = 0, UNSIGNED, WRONG_SECRET, OLD_SECRET, STALE, FUTURE, BAD_TS, NO_ID,
                 NO_TS, NO_SIG, DOTTED_ID, BEARER_ONLY };

struct bad_case {
    const char *label;
    const char *endpoint;
    enum sign_mode mode;
    const char *body;       /* %lld is the ticket id */
    long status;
    const char *code;
    const char *field;
    const char *message;    /* a part of it */
};

#define MARK "SECRET-BODY-MARKER"   /* must never appear in the log */

static const struct bad_case bad_cases[] = {
    {"invalid JSON", "helpdesk", SIGNED, "{\"type\":\"ticket.note\",", 400, "invalid_request", "",
     "malformed JSON"},
    {"not an object", "helpdesk", SIGNED, "[\"" MARK "\"]", 400, "invalid_request", "",
     "must be a JSON object"},
    {"missing type", "helpdesk", SIGNED, "{\"ticket_id\":%lld,\"status\":\"resolved\"}", 400,
     "invalid_request", "type", "missing required field 'type'"},
    {"unknown type", "helpdesk", SIGNED, "{\"type\":\"ticket.delete\",\"ticket_id\":%lld}", 400,
     "invalid_request", "type", "unknown type 'ticket.delete'"},
    {"missing ticket_id", "helpdesk", SIGNED,
     "{\"type\":\"ticket.note\",\"agent\":\"alice\",\"text\":\"" MARK "\"}", 400,
     "invalid_request", "ticket_id", "missing required field 'ticket_id'"},
    {"ticket_id of the wrong type", "helpdesk", SIGNED,
     "{\"type\":\"ticket.note\",\"ticket_id\":\"%lld\",\"agent\":\"alice\",\"text\":\"x\"}", 400,
     "invalid_request", "ticket_id", "must be a positive integer"},
    {"text of the wrong type", "helpdesk", SIGNED,
     "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":[\"x\"]}", 400,
     "invalid_request", "text", "field 'text' must be a string"},
    {"missing text", "helpdesk", SIGNED,
     "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,\"agent\":\"alice\"}", 400,
     "invalid_request", "text", "missing required field 'text'"},
    {"unknown field", "helpdesk", SIGNED,
     "{\"type\":\"ticket.update\",\"ticket_id\":%lld,\"stauts\":\"resolved\"}", 400,
     "invalid_request", "stauts", "unknown field 'stauts' for type 'ticket.update'"},
    {"unknown status", "helpdesk", SIGNED,
     "{\"type\":\"ticket.update\",\"ticket_id\":%lld,\"status\":\"done\"}", 400,
     "invalid_request", "status", "unknown status 'done'"},
    {"nothing to change", "helpdesk", SIGNED, "{\"type\":\"ticket.update\",\"ticket_id\":%lld}",
     400, "invalid_request", "", "nothing to change"},
    {"unknown ticket", "helpdesk", SIGNED,
     "{\"type\":\"ticket.reply\",\"ticket_id\":999999,\"agent\":\"alice\",\"text\":\"" MARK "\"}",
     422, "unprocessable", "ticket_id", "ticket 999999 not found"},
    {"illegal transition", "helpdesk", SIGNED,
     "{\"type\":\"ticket.update\",\"ticket_id\":%lld,\"status\":\"closed\"}", 409, "conflict",
     "status", "illegal transition open -> closed"},
    {"unknown agent", "helpdesk", SIGNED,
     "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,\"agent\":\"zed\",\"text\":\"" MARK "\"}",
     422, "unprocessable", "agent", "unknown agent 'zed'"},
    {"unknown assignee", "helpdesk", SIGNED,
     "{\"type\":\"ticket.update\",\"ticket_id\":%lld,\"assignee\":\"zed\"}", 422,
     "unprocessable", "assignee", "unknown agent 'zed'"},
    {"assignee outside the group", "helpdesk", SIGNED,
     "{\"type\":\"ticket.update\",\"ticket_id\":%lld,\"assignee\":\"carol\"}", 422,
     "unprocessable", "assignee", "agent 'carol' does not serve group 'general'"},
    {"unknown group", "helpdesk", SIGNED,
     "{\"type\":\"ticket.update\",\"ticket_id\":%lld,\"group\":\"nowhere\",\"status\":\"in_progress\"}",
     422, "unprocessable", "group", "unknown group 'nowhere'"},
    {"signed with another secret", "helpdesk", WRONG_SECRET,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"" MARK "\"}",
     401, "unauthorized", "webhook-signature", "bad signature"},
    {"the rotating endpoint's old secret", "helpdesk", OLD_SECRET,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"" MARK "\"}",
     401, "unauthorized", "webhook-signature", "bad signature"},
    {"stale timestamp", "helpdesk", STALE,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"" MARK "\"}",
     401, "unauthorized", "webhook-timestamp", "stale timestamp: webhook-timestamp is 301 s behind"},
    {"future timestamp", "helpdesk", FUTURE,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 401,
     "unauthorized", "webhook-timestamp", "is 3600 s ahead of the server clock"},
    {"timestamp in milliseconds", "helpdesk", BAD_TS,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 401,
     "unauthorized", "webhook-timestamp", "stale timestamp"},
    {"no signature at all", "helpdesk", UNSIGNED,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 401,
     "unauthorized", "webhook-id", "missing header 'webhook-id'"},
    {"no webhook-id", "helpdesk", NO_ID,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 401,
     "unauthorized", "webhook-id", "missing header 'webhook-id'"},
    {"no webhook-timestamp", "helpdesk", NO_TS,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 401,
     "unauthorized", "webhook-timestamp", "missing header 'webhook-timestamp'"},
    {"no webhook-signature", "helpdesk", NO_SIG,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 401,
     "unauthorized", "webhook-signature", "missing header 'webhook-signature'"},
    {"dotted webhook-id", "helpdesk", DOTTED_ID,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 400,
     "invalid_request", "webhook-id", "header 'webhook-id' must be"},
    {"the API token is not a signature", "helpdesk", BEARER_ONLY,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 401,
     "unauthorized", "webhook-id", "missing header"},
    {"unknown endpoint", "zendesk", SIGNED,
     "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\",\"text\":\"x\"}", 404,
     "not_found", "endpoint", "unknown inbound endpoint 'zendesk'"},
};

static void send_case(const struct bad_case *c, json_int_t id, struct http_reply *r)
{
    char body[1024];
    snprintf(body, sizeof body, c->body, (long long)id);
    const char *wid = next_id();
    char sig[HOOK_SIGN_HEADER_MAX], ts[32];
    struct err e = {0};
    long long at = c->mode == STALE ? NOW - 301 : c->mode == FUTURE ? NOW + 3600 : NOW;
    const char *secret = c->mode == WRONG_SECRET ? S_OTHER : c->mode == OLD_SECRET ? S_OLD : S_NEW;
    cr_assert_eq(hook_sign_header(secret, NULL, wid, at, body, strlen(body), sig, &e), 0, "%s",
                 e.msg);
    snprintf(ts, sizeof ts, c->mode == BAD_TS ? "%lld000" : "%lld", at);
    struct hooks h = {wid, ts, sig, NULL};
    switch (c->mode) {
    case UNSIGNED: h = (struct hooks){0}; break;
    case BEARER_ONLY: h = (struct hooks){.extra = "Authorization: Bearer " DAEMON_TOKEN}; break;
    case NO_ID: h.id = NULL; break;
    case NO_TS: h.ts = NULL; break;
    case NO_SIG: h.sig = NULL; break;
    case DOTTED_ID: h.id = "msg.1"; break;
    default: break;
    }
    post_raw(c->endpoint, &h, body, strlen(body), r);
}

Test(inbound, every_bad_request_is_refused_logged_and_changes_nothing, .init = up, .fini = down,
     .timeout = 60)
{
    json_int_t id = new_ticket(7002);
    char *before = snapshot(id);
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct http_reply r;
        send_case(c, id, &r);
        expect_error(&r, c->status, c->code, c->field, c->message, c->label);
        cr_expect(strcasestr(r.headers, "WWW-Authenticate") == NULL,
                  "%s: a bearer challenge would mislead", c->label);
        reply_free(&r);
        char *after = snapshot(id);
        cr_expect_str_eq(after, before, "%s changed the ticket", c->label);
        free(after);
    }

    /* over http.max_body (64 KiB in the test config): 413 before any handler */
    size_t big = 70 * 1024;
    char *body = malloc(big + 1);
    int k = snprintf(body, big, "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"alice\","
                                "\"text\":\"", (long long)id);
    memset(body + k, 'x', big - (size_t)k - 2);
    memcpy(body + big - 2, "\"}", 3);
    char sig[HOOK_SIGN_HEADER_MAX], ts[32];
    struct err e = {0};
    cr_assert_eq(hook_sign_header(S_NEW, NULL, "msg_big", NOW, body, big, sig, &e), 0);
    snprintf(ts, sizeof ts, "%lld", NOW);
    struct hooks h = {"msg_big", ts, sig, NULL};
    struct http_reply r;
    post_raw("helpdesk", &h, body, big, &r);
    expect_error(&r, 413, "payload_too_large", "", "", "oversize body");
    reply_free(&r);
    free(body);
    char *after = snapshot(id);
    cr_expect_str_eq(after, before, "the oversize body changed the ticket");
    free(after);
    free(before);

    char *log = whole_log();
    cr_expect_eq(occurrences(log, "\"inbound.refused\""), (int)n, "one warning per refusal");
    cr_expect_eq(occurrences(log, "\"inbound.applied\""), 0);
    cr_expect(strstr(log, "\"path\":\"/v1/inbound/helpdesk\",\"status\":413") != NULL,
              "the 413 is in the access log");
    cr_expect(strstr(log, "\"reason\":\"unknown agent 'zed'\"") != NULL);
    cr_expect(strstr(log, MARK) == NULL, "a body was logged");
    cr_expect(strstr(log, S_NEW + 6) == NULL && strstr(log, S_OLD + 6) == NULL,
              "a secret was logged");
    cr_expect(strstr(log, "v1,") == NULL, "a signature was logged");
    free(log);

    struct http_reply m;
    cr_assert_eq(daemon_http(&D, "GET", "/metrics", NULL, NULL, NULL, &m), 0);
    cr_expect(strstr(m.body, "tgcrm_inbound_requests_total{endpoint=\"helpdesk\","
                             "outcome=\"unauthorized\"}") != NULL, "%s", m.body);
    cr_expect(strstr(m.body, "outcome=\"applied\"") == NULL);
    reply_free(&m);
}

Test(inbound, reply_to_a_closed_ticket_is_a_conflict, .init = up, .fini = down)
{
    json_int_t id = new_ticket(7003);
    const char *steps[] = {"in_progress", "resolved", "closed"};
    char body[256];
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body, "{\"type\":\"ticket.update\",\"ticket_id\":%lld,"
                 "\"status\":\"%s\"}", (long long)id, steps[i]);
        json_decref(inbound_ok(body));
    }
    char *before = snapshot(id);
    snprintf(body, sizeof body, "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,"
             "\"agent\":\"alice\",\"text\":\"too late\"}", (long long)id);
    struct http_reply r;
    post_signed("helpdesk", S_NEW, next_id(), body, &r);
    expect_error(&r, 409, "conflict", "", "is closed", "reply to closed");
    reply_free(&r);
    char *after = snapshot(id);
    cr_expect_str_eq(after, before);
    free(before);
    free(after);
}

/* ---- idempotency ------------------------------------------------------------------------ */

static int count_text(json_int_t id, const char *text)
{
    json_t *th = thread(id);
    int n = 0;
    for (size_t i = 0; i < json_array_size(th); i++) {
        const char *t = json_string_value(json_object_get(json_array_get(th, i), "text"));
        n += t != NULL && strcmp(t, text) == 0;
    }
    json_decref(th);
    return n;
}

Test(inbound, a_repeated_webhook_id_is_applied_once, .init = up, .fini = down, .timeout = 60)
{
    json_int_t id = new_ticket(7004);
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,"
             "\"agent\":\"alice\",\"text\":\"only once\"}", (long long)id);
    struct http_reply first, again;
    post_signed("helpdesk", S_NEW, "msg_retry", body, &first);
    cr_assert_eq(first.status, 200, "%s", first.body);
    cr_expect(strcasestr(first.headers, "Idempotent-Replayed") == NULL);
    char *state = snapshot(id);

    /* the help desk retries: same id and body, fresh timestamp and signature */
    post_signed_at("helpdesk", S_NEW, "msg_retry", NOW + 10, body, &again);
    cr_expect_eq(again.status, 200, "%s", again.body);
    cr_expect_str_eq(again.body, first.body, "the original response");
    cr_expect(strcasestr(again.headers, "Idempotent-Replayed: true") != NULL, "%s",
              again.headers);
    reply_free(&again);
    char *now = snapshot(id);
    cr_expect_str_eq(now, state, "the replay changed something");
    free(now);
    cr_expect_eq(count_text(id, "only once"), 1);

    /* the id is the idempotency key, not the body */
    char other[256];
    snprintf(other, sizeof other, "{\"type\":\"ticket.note\",\"ticket_id\":%lld,"
             "\"agent\":\"bob\",\"text\":\"reused id\"}", (long long)id);
    post_signed("helpdesk", S_NEW, "msg_retry", other, &again);
    cr_expect_eq(again.status, 200);
    cr_expect_str_eq(again.body, first.body);
    reply_free(&again);
    cr_expect_eq(count_text(id, "reused id"), 0);

    /* ids are per endpoint: the same id at another endpoint is another request */
    post_signed("rotating", S_NEW, "msg_retry", body, &again);
    cr_expect_eq(again.status, 200);
    cr_expect_str_neq(again.body, first.body);
    reply_free(&again);
    cr_expect_eq(count_text(id, "only once"), 2);

    /* a refused request is not remembered: fixed and re-sent under its id, it applies */
    char bad[256];
    snprintf(bad, sizeof bad, "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"zed\","
             "\"text\":\"second try\"}", (long long)id);
    post_signed("helpdesk", S_NEW, "msg_fixed", bad, &again);
    cr_expect_eq(again.status, 422);
    reply_free(&again);
    snprintf(bad, sizeof bad, "{\"type\":\"ticket.note\",\"ticket_id\":%lld,\"agent\":\"bob\","
             "\"text\":\"second try\"}", (long long)id);
    post_signed("helpdesk", S_NEW, "msg_fixed", bad, &again);
    cr_expect_eq(again.status, 200, "%s", again.body);
    reply_free(&again);
    cr_expect_eq(count_text(id, "second try"), 1);

    /* the key is durable: it survives a SIGKILL and a restart */
    daemon_stop(&D, SIGKILL);
    cr_assert_eq(daemon_start(&D), 0, "serve did not restart:\n%s", daemon_log_tail(&D));
    post_signed("helpdesk", S_NEW, "msg_retry", body, &again);
    cr_expect_eq(again.status, 200);
    cr_expect_str_eq(again.body, first.body);
    reply_free(&again);
    cr_expect_eq(count_text(id, "only once"), 2);
    reply_free(&first);
    free(state);
}

struct racer {
    const char *body;
    long status;
    char *reply;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct http_reply rep;
    post_signed("helpdesk", S_NEW, "msg_race", r->body, &rep);
    r->status = rep.status;
    r->reply = strdup(rep.body);
    reply_free(&rep);
    return NULL;
}

Test(inbound, concurrent_deliveries_of_one_id_apply_once, .init = up, .fini = down,
     .timeout = 60)
{
    json_int_t id = new_ticket(7005);
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,"
             "\"agent\":\"bob\",\"text\":\"raced\"}", (long long)id);
    enum { N = 8 };
    struct racer rs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        rs[i] = (struct racer){.body = body};
        pthread_create(&th[i], NULL, race, &rs[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_expect_eq(rs[i].status, 200, "%s", rs[i].reply);
        cr_expect_str_eq(rs[i].reply, rs[0].reply, "every answer is the same");
    }
    for (int i = 0; i < N; i++)
        free(rs[i].reply);
    cr_expect_eq(count_text(id, "raced"), 1);
}

/* ---- rotation ---------------------------------------------------------------------------- */

Test(inbound, rotation_accepts_the_previous_secret, .init = up, .fini = down)
{
    json_int_t id = new_ticket(7006);
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"ticket.note\",\"ticket_id\":%lld,"
             "\"agent\":\"bob\",\"text\":\"signed with the old secret\"}", (long long)id);
    struct http_reply r;
    post_signed("rotating", S_OLD, next_id(), body, &r);
    cr_expect_eq(r.status, 200, "previous_secret: %s", r.body);
    reply_free(&r);
    post_signed("rotating", S_NEW, next_id(), body, &r);
    cr_expect_eq(r.status, 200, "secret: %s", r.body);
    reply_free(&r);

    /* both signatures in one header, as a sender mid-rotation sends them */
    const char *wid = next_id();
    char sig[HOOK_SIGN_HEADER_MAX], ts[32];
    struct err e = {0};
    cr_assert_eq(hook_sign_header(S_OTHER, S_OLD, wid, NOW, body, strlen(body), sig, &e), 0);
    snprintf(ts, sizeof ts, "%lld", NOW);
    struct hooks h = {wid, ts, sig, NULL};
    post_raw("rotating", &h, body, strlen(body), &r);
    cr_expect_eq(r.status, 200, "one matching signature of two: %s", r.body);
    reply_free(&r);
    cr_expect_eq(count_text(id, "signed with the old secret"), 3);

    /* an endpoint that is not rotating refuses the old secret */
    post_signed("helpdesk", S_OLD, next_id(), body, &r);
    expect_error(&r, 401, "unauthorized", "webhook-signature", "bad signature", "old secret");
    reply_free(&r);

    /* the rotation ends with a reload: then the old secret is refused there too */
    FILE *f = fopen(D.config, "r");
    cr_assert_not_null(f);
    char cfg[8192];
    size_t n = fread(cfg, 1, sizeof cfg - 1, f);
    fclose(f);
    cfg[n] = '\0';
    char *prev = strstr(cfg, "    previous_secret:");
    cr_assert_not_null(prev);
    char *eol = strchr(prev, '\n');
    memmove(prev, eol + 1, strlen(eol + 1) + 1);
    f = fopen(D.config, "w");
    fputs(cfg, f);
    fclose(f);
    kill(D.pid, SIGHUP);
    bool refused = false;
    for (int i = 0; i < 200 && !refused; i++) {
        post_signed("rotating", S_OLD, next_id(), body, &r);
        refused = r.status == 401;
        reply_free(&r);
        if (!refused)
            usleep(20000);
    }
    cr_expect(refused, "the old secret still works after the reload\n%s", daemon_log_tail(&D));
}

/* ---- the reply reaches the customer on Telegram ---------------------------------------- */

#define TG_TOKEN "424242:fake-bot-token-for-tests"
#define STAFF "-1001000000001"

static struct daemon F;   /* fake-telegram, in D's directory */

static json_t *fake(const char *method, const char *path, const char *body, long want)
{
    struct http_reply r;
    cr_assert_eq(daemon_http(&F, method, path, NULL, NULL, body, &r), 0, "fake %s %s", method,
                 path);
    cr_assert_eq(r.status, want, "fake %s %s: %ld %s", method, path, r.status, r.body);
    json_t *v = parse(&r);
    reply_free(&r);
    return v;
}

static void up_telegram(void)
{
    daemon_init(&D, endpoints_yaml);
    F = D;
    F.pid = 0;
    cr_assert_eq(daemon_start_fake(&F, TG_TOKEN), 0, "fake-telegram did not start");
    json_decref(fake("POST", "/control/users", "{\"id\":1001,\"first_name\":\"Ann\"}", 201));
    json_decref(fake("POST", "/control/users", "{\"id\":9001,\"first_name\":\"Alice\"}", 201));
    json_decref(fake("POST", "/control/groups", "{\"id\":" STAFF ",\"title\":\"Support\","
                     "\"is_forum\":true,\"members\":[9001]}", 201));
    FILE *f = fopen(D.config, "a");
    fprintf(f, "telegram:\n  token: \"" TG_TOKEN "\"\n  api_base: http://127.0.0.1:%d\n"
               "  staff_group_id: " STAFF "\n  poll_timeout: 1s\n", F.port);
    fclose(f);
    D.test_clock = true;
    start_serve();
}

static void down_telegram(void)
{
    if (D.pid)
        daemon_stop(&D, SIGTERM);
    if (F.pid)
        daemon_stop(&F, SIGTERM);
    daemon_cleanup(&D);
}

/* The first `method` the bot called in `chat` whose text is `text`, waiting
 * up to ~10 s; a new reference. */
static json_t *wait_sent(const char *chat, const char *method, const char *text)
{
    long since = 0;   /* the fake answers at once when it has newer entries */
    for (int i = 0; i < 20; i++) {
        char path[160];
        snprintf(path, sizeof path, "/control/sent?chat_id=%s&since=%ld&wait_ms=500", chat,
                 since);
        json_t *v = fake("GET", path, NULL, 200);
        json_t *arr = json_object_get(v, "sent");
        for (size_t k = 0; k < json_array_size(arr); k++) {
            json_t *s = json_array_get(arr, k);
            since = (long)json_integer_value(json_object_get(s, "seq"));
            const char *t = json_string_value(json_object_get(s, "text"));
            if (strcmp(json_string_value(json_object_get(s, "method")), method) == 0 && t != NULL &&
                strcmp(t, text) == 0) {
                json_incref(s);
                json_decref(v);
                return s;
            }
        }
        json_decref(v);
    }
    cr_assert_fail("the bot never sent '%s' to %s\n%s", text, chat, daemon_log_tail(&D));
    return NULL;
}

Test(inbound, a_reply_reaches_the_customer_on_telegram, .init = up_telegram,
     .fini = down_telegram, .timeout = 60)
{
    json_decref(fake("POST", "/control/messages", "{\"from\":1001,\"text\":\"Where is my order?\"}",
                     201));
    json_int_t id = 0;
    for (int i = 0; i < 250 && id == 0; i++) {
        json_t *v = api("GET", "/v1/tickets?customer=1001", NULL, 200);
        json_t *t = json_array_get(json_object_get(v, "tickets"), 0);
        id = t ? json_integer_value(json_object_get(t, "id")) : 0;
        json_decref(v);
        if (id == 0)
            usleep(20000);
    }
    cr_assert_gt(id, 0, "no ticket\n%s", daemon_log_tail(&D));

    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"ticket.reply\",\"ticket_id\":%lld,"
             "\"agent\":\"alice\",\"text\":\"It ships today 📦\"}", (long long)id);
    json_decref(inbound_ok(body));
    json_t *sent = wait_sent("1001", "sendMessage", "It ships today 📦");
    json_decref(sent);
    /* the agents see it in the ticket's topic too */
    json_t *mirror = wait_sent(STAFF, "sendMessage", "\xE2\x86\xAA Alice: It ships today 📦");
    json_decref(mirror);

    /* a note stays internal: in the topic, never with the customer */
    snprintf(body, sizeof body, "{\"type\":\"ticket.note\",\"ticket_id\":%lld,"
             "\"agent\":\"alice\",\"text\":\"courier is late\"}", (long long)id);
    json_decref(inbound_ok(body));
    json_decref(wait_sent(STAFF, "sendMessage", "\xF0\x9F\x93\x9D Alice (internal note): "
                                               "courier is late"));
    json_t *all = fake("GET", "/control/sent?chat_id=1001", NULL, 200);
    json_t *arr = json_object_get(all, "sent");
    for (size_t k = 0; k < json_array_size(arr); k++) {
        const char *t = json_string_value(json_object_get(json_array_get(arr, k), "text"));
        cr_expect(t == NULL || strstr(t, "courier") == NULL, "the note reached the customer");
    }
    json_decref(all);
}
