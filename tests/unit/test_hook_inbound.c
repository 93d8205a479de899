/*
 * test_hook_inbound.c — inbound webhook requests: verification (headers,
 * id, timestamp tolerance, signature, rotation) and the body → command
 * parser, with one table row per way a body can be wrong.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "webhook/hook_inbound.h"
#include "webhook/hook_sign.h"

#define S1 "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
#define S2 "whsec_Tm90IGEgcmVhbCBzZWNyZXQgYnV0IDMyIGJ5dGVzISE="
#define NOW 1767603600   /* 2026-01-05T09:00:00Z */

static struct arena *A;
static struct err e;

static void setup(void)
{
    A = arena_new(0);
    err_clear(&e);
}

static void teardown(void)
{
    arena_free(&A);
}

TestSuite(hook_inbound, .init = setup, .fini = teardown);

/* ---- parsing: good bodies ------------------------------------------------------- */

static int parse(const char *body, struct hook_inbound_cmd *cmd)
{
    err_clear(&e);
    return hook_inbound_parse(body, strlen(body), A, cmd, &e);
}

Test(hook_inbound, update_with_every_field)
{
    struct hook_inbound_cmd c;
    cr_assert_eq(parse("{\"type\":\"ticket.update\",\"ticket_id\":42,\"status\":\"resolved\","
                       "\"priority\":\"urgent\",\"group\":\"billing\",\"assignee\":\"alice\","
                       "\"reason\":\"done in the help desk\"}", &c), 0, "%s", e.msg);
    cr_expect_eq(c.type, HOOK_INBOUND_UPDATE);
    cr_expect_eq(c.ticket_id, 42);
    cr_expect(c.update.set_status);
    cr_expect_eq(c.update.status, TICKET_RESOLVED);
    cr_expect(c.update.set_priority);
    cr_expect_eq(c.update.priority, PRIORITY_URGENT);
    cr_expect_str_eq(c.update.group, "billing");
    cr_expect(c.update.set_assignee);
    cr_expect_str_eq(c.update.assignee, "alice");
    cr_expect_str_eq(c.update.reason, "done in the help desk");
    cr_expect_null(c.agent);
    cr_expect_null(c.text);
}

Test(hook_inbound, update_of_one_field_leaves_the_others_alone)
{
    struct hook_inbound_cmd c;
    cr_assert_eq(parse("{\"ticket_id\":7,\"priority\":\"low\",\"type\":\"ticket.update\"}", &c), 0,
                 "%s", e.msg);
    cr_expect(c.update.set_priority);
    cr_expect_eq(c.update.priority, PRIORITY_LOW);
    cr_expect_not(c.update.set_status);
    cr_expect_not(c.update.set_assignee);
    cr_expect_null(c.update.group);
    cr_expect_null(c.update.reason);
}

Test(hook_inbound, null_assignee_unassigns)
{
    struct hook_inbound_cmd c;
    cr_assert_eq(parse("{\"type\":\"ticket.update\",\"ticket_id\":1,\"assignee\":null,"
                       "\"reason\":null}", &c), 0, "%s", e.msg);
    cr_expect(c.update.set_assignee);
    cr_expect_null(c.update.assignee);
    cr_expect_null(c.update.reason);
}

Test(hook_inbound, reply_and_note)
{
    struct hook_inbound_cmd c;
    cr_assert_eq(parse("{\"type\":\"ticket.reply\",\"ticket_id\":3,\"agent\":\"bob\","
                       "\"text\":\"Привет 👋 we fixed it\"}", &c), 0, "%s", e.msg);
    cr_expect_eq(c.type, HOOK_INBOUND_REPLY);
    cr_expect_eq(c.ticket_id, 3);
    cr_expect_str_eq(c.agent, "bob");
    cr_expect_str_eq(c.text, "Привет 👋 we fixed it");
    cr_assert_eq(parse("{\"type\":\"ticket.note\",\"ticket_id\":9223372036854775807,"
                       "\"agent\":\"carol\",\"text\":\"internal\"}", &c), 0, "%s", e.msg);
    cr_expect_eq(c.type, HOOK_INBOUND_NOTE);
    cr_expect_eq(c.ticket_id, INT64_MAX);
    cr_expect_str_eq(c.text, "internal");
}

Test(hook_inbound, strings_outlive_the_body)
{
    char body[] = "{\"type\":\"ticket.reply\",\"ticket_id\":3,\"agent\":\"bob\",\"text\":\"hello\"}";
    struct hook_inbound_cmd c;
    cr_assert_eq(hook_inbound_parse(body, strlen(body), A, &c, &e), 0, "%s", e.msg);
    memset(body, 'x', sizeof body - 1);
    cr_expect_str_eq(c.agent, "bob");
    cr_expect_str_eq(c.text, "hello");
}

Test(hook_inbound, arena_cap_is_a_413_not_a_crash)
{
    struct arena *small = arena_new(4096);
    char body[16384];
    int n = snprintf(body, sizeof body, "{\"type\":\"ticket.note\",\"ticket_id\":1,\"agent\":\"a\","
                                        "\"text\":\"");
    memset(body + n, 'y', 10000);
    strcpy(body + n + 10000, "\"}");
    struct hook_inbound_cmd c;
    cr_expect_eq(hook_inbound_parse(body, strlen(body), small, &c, &e), ERR_TOOBIG);
    arena_free(&small);
}

/* ---- parsing: every way to be wrong ------------------------------------------- */

struct bad {
    const char *body;
    const char *field;     /* "" when the error names no field */
    const char *message;   /* a part of the message */
};

static const struct bad bad_bodies[] = {
    {"", "", "malformed JSON"},
    {"{\"type\":", "", "malformed JSON"},
    {"not json", "", "malformed JSON"},
    {"[1,2]", "", "must be a JSON object"},
    {"\"ticket.update\"", "", "must be a JSON object"},
    {"{\"type\":\"ticket.note\",\"type\":\"ticket.reply\"}", "", "malformed JSON"},
    {"{}", "type", "missing required field 'type'"},
    {"{\"ticket_id\":1,\"status\":\"open\"}", "type", "missing required field 'type'"},
    {"{\"type\":5,\"ticket_id\":1}", "type", "field 'type' must be a string"},
    {"{\"type\":\"ticket.updated\",\"ticket_id\":1}", "type",
     "unknown type 'ticket.updated' (expected ticket.update, ticket.reply or ticket.note)"},
    {"{\"type\":\"\",\"ticket_id\":1}", "type", "unknown type ''"},
    {"{\"type\":\"ticket.update\",\"status\":\"open\"}", "ticket_id",
     "missing required field 'ticket_id'"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":\"42\",\"status\":\"open\"}", "ticket_id",
     "must be a positive integer"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":0,\"status\":\"open\"}", "ticket_id",
     "must be a positive integer"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":-3,\"status\":\"open\"}", "ticket_id",
     "must be a positive integer"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":4.0,\"status\":\"open\"}", "ticket_id",
     "must be a positive integer"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":null,\"status\":\"open\"}", "ticket_id",
     "must be a positive integer"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1}", "", "nothing to change"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"reason\":\"why\"}", "", "nothing to change"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"status\":\"done\"}", "status",
     "unknown status 'done'"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"status\":true}", "status",
     "field 'status' must be a string"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"status\":null}", "status",
     "field 'status' must be a string"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"priority\":\"p1\"}", "priority",
     "unknown priority 'p1'"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"group\":null}", "group",
     "field 'group' must be a string"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"assignee\":7}", "assignee",
     "field 'assignee' must be a string or null"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"status\":\"open\",\"reason\":[]}", "reason",
     "field 'reason' must be a string or null"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"stauts\":\"open\"}", "stauts",
     "unknown field 'stauts' for type 'ticket.update'"},
    {"{\"type\":\"ticket.update\",\"ticket_id\":1,\"status\":\"open\",\"text\":\"hi\"}", "text",
     "unknown field 'text' for type 'ticket.update'"},
    {"{\"type\":\"ticket.reply\",\"ticket_id\":1,\"agent\":\"a\",\"text\":\"t\",\"status\":\"open\"}",
     "status", "unknown field 'status' for type 'ticket.reply'"},
    {"{\"type\":\"ticket.reply\",\"ticket_id\":1,\"text\":\"t\"}", "agent",
     "missing required field 'agent'"},
    {"{\"type\":\"ticket.reply\",\"ticket_id\":1,\"agent\":\" \\t\",\"text\":\"t\"}", "agent",
     "field 'agent' must not be empty"},
    {"{\"type\":\"ticket.reply\",\"ticket_id\":1,\"agent\":[\"a\"],\"text\":\"t\"}", "agent",
     "field 'agent' must be a string"},
    {"{\"type\":\"ticket.reply\",\"ticket_id\":1,\"agent\":\"a\"}", "text",
     "missing required field 'text'"},
    {"{\"type\":\"ticket.note\",\"ticket_id\":1,\"agent\":\"a\",\"text\":\"\\n\\r \"}", "text",
     "field 'text' must not be empty"},
    {"{\"type\":\"ticket.note\",\"ticket_id\":1,\"agent\":\"a\",\"text\":5}", "text",
     "field 'text' must be a string"},
    {"{\"type\":\"ticket.note\",\"ticket_id\":1,\"agent\":\"a\",\"text\":\"a\\u0000b\"}", "",
     "malformed JSON"},
};

Test(hook_inbound, every_bad_body_is_refused_naming_the_field)
{
    for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
        const struct bad *b = &bad_bodies[i];
        struct hook_inbound_cmd c;
        int rc = parse(b->body, &c);
        cr_expect_eq(rc, ERR_INVAL, "case %zu %s: rc %d", i, b->body, rc);
        cr_expect_eq(e.code, ERR_INVAL, "case %zu", i);
        cr_expect_str_eq(e.field, b->field, "case %zu %s: field '%s' (%s)", i, b->body, e.field,
                         e.msg);
        cr_expect(strstr(e.msg, b->message) != NULL, "case %zu %s: message '%s' lacks '%s'", i,
                  b->body, e.msg, b->message);
    }
}

/* The REST writes share these two: the same field rules apply there. */
Test(hook_inbound, shared_field_parsers)
{
    json_t *o = json_pack("{s:s, s:n}", "group", "level2", "assignee");
    struct hook_inbound_update u;
    cr_assert_eq(hook_inbound_update_parse(o, &u, &e), 0, "%s", e.msg);
    cr_expect_str_eq(u.group, "level2");
    cr_expect(u.set_assignee);
    cr_expect_null(u.assignee);
    json_decref(o);

    o = json_pack("{s:s}", "agent", "alice");
    const char *agent = NULL, *text = NULL;
    cr_expect_eq(hook_inbound_message_parse(o, &agent, &text, &e), ERR_INVAL);
    cr_expect_str_eq(e.field, "text");
    json_decref(o);
}

Test(hook_inbound, type_names)
{
    cr_expect_str_eq(hook_inbound_type_name(HOOK_INBOUND_UPDATE), "ticket.update");
    cr_expect_str_eq(hook_inbound_type_name(HOOK_INBOUND_REPLY), "ticket.reply");
    cr_expect_str_eq(hook_inbound_type_name(HOOK_INBOUND_NOTE), "ticket.note");
    cr_expect_str_eq(hook_inbound_type_name(HOOK_INBOUND_TYPE_COUNT), "unknown");
}

/* ---- verification ------------------------------------------------------------------ */

#define BODY "{\"type\":\"ticket.note\",\"ticket_id\":1,\"agent\":\"a\",\"text\":\"t\"}"

static struct cfg_webhook endpoint(char *secret, char *previous)
{
    return (struct cfg_webhook){.name = "helpdesk", .secret = secret, .previous_secret = previous};
}

/* Sign BODY as the help desk would, with `secret`, id and ts. */
static void sign(const char *secret, const char *id, int64_t ts, char sig[HOOK_SIGN_HEADER_MAX])
{
    struct err se = {0};
    cr_assert_eq(hook_sign_header(secret, NULL, id, ts, BODY, strlen(BODY), sig, &se), 0, "%s",
                 se.msg);
}

static int verify(const struct cfg_webhook *w, const char *id, const char *ts, const char *sig,
                  const char *body, int64_t now)
{
    err_clear(&e);
    struct hook_sign_headers h = {id, ts, sig};
    return hook_inbound_verify(w, &h, body, strlen(body), now, &e);
}

Test(hook_inbound, verify_accepts_a_good_signature)
{
    struct cfg_webhook w = endpoint(S1, NULL);
    char sig[HOOK_SIGN_HEADER_MAX];
    sign(S1, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", NOW, sig);
    cr_expect_eq(verify(&w, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1767603600", sig, BODY, NOW), 0,
                 "%s", e.msg);
}

Test(hook_inbound, verify_rotation_takes_either_secret)
{
    char sig_new[HOOK_SIGN_HEADER_MAX], sig_old[HOOK_SIGN_HEADER_MAX];
    sign(S1, "msg_1", NOW, sig_new);
    sign(S2, "msg_1", NOW, sig_old);
    struct cfg_webhook rotating = endpoint(S1, S2);
    cr_expect_eq(verify(&rotating, "msg_1", "1767603600", sig_new, BODY, NOW), 0, "%s", e.msg);
    cr_expect_eq(verify(&rotating, "msg_1", "1767603600", sig_old, BODY, NOW), 0, "%s", e.msg);
    /* once the rotation is over the old secret is refused */
    struct cfg_webhook done = endpoint(S1, NULL);
    cr_expect_eq(verify(&done, "msg_1", "1767603600", sig_old, BODY, NOW), ERR_AUTH);
    cr_expect_str_eq(e.field, "webhook-signature");
    /* an empty previous_secret is no secret at all */
    struct cfg_webhook blank = endpoint(S1, "");
    cr_expect_eq(verify(&blank, "msg_1", "1767603600", sig_new, BODY, NOW), 0, "%s", e.msg);
}

Test(hook_inbound, verify_refuses_tampering)
{
    struct cfg_webhook w = endpoint(S1, NULL);
    char sig[HOOK_SIGN_HEADER_MAX];
    sign(S1, "msg_1", NOW, sig);
    const char *tampered = "{\"type\":\"ticket.note\",\"ticket_id\":2,\"agent\":\"a\",\"text\":\"t\"}";
    cr_expect_eq(verify(&w, "msg_1", "1767603600", sig, tampered, NOW), ERR_AUTH);
    cr_expect_str_eq(e.field, "webhook-signature");
    cr_expect(strstr(e.msg, "bad signature") != NULL, "%s", e.msg);
    cr_expect(strstr(e.msg, "'helpdesk'") != NULL, "%s", e.msg);
    cr_expect_eq(verify(&w, "msg_2", "1767603600", sig, BODY, NOW), ERR_AUTH);
    cr_expect_eq(verify(&w, "msg_1", "1767603601", sig, BODY, NOW), ERR_AUTH);
    cr_expect_eq(verify(&w, "msg_1", "1767603600", "v1,AAAA", BODY, NOW), ERR_AUTH);
    sig[0] = 'v';
    sig[1] = '2';   /* a version we do not know is not a v1 signature */
    cr_expect_eq(verify(&w, "msg_1", "1767603600", sig, BODY, NOW), ERR_AUTH);
    char other[HOOK_SIGN_HEADER_MAX];
    sign(S2, "msg_1", NOW, other);
    cr_expect_eq(verify(&w, "msg_1", "1767603600", other, BODY, NOW), ERR_AUTH);
}

Test(hook_inbound, verify_names_the_missing_header)
{
    struct cfg_webhook w = endpoint(S1, NULL);
    char sig[HOOK_SIGN_HEADER_MAX];
    sign(S1, "msg_1", NOW, sig);
    cr_expect_eq(verify(&w, NULL, "1767603600", sig, BODY, NOW), ERR_AUTH);
    cr_expect_str_eq(e.field, "webhook-id");
    cr_expect_str_eq(e.msg, "missing header 'webhook-id'");
    cr_expect_eq(verify(&w, "msg_1", "", sig, BODY, NOW), ERR_AUTH);
    cr_expect_str_eq(e.field, "webhook-timestamp");
    cr_expect_eq(verify(&w, "msg_1", "1767603600", NULL, BODY, NOW), ERR_AUTH);
    cr_expect_str_eq(e.field, "webhook-signature");
}

Test(hook_inbound, verify_refuses_malformed_ids_and_timestamps)
{
    struct cfg_webhook w = endpoint(S1, NULL);
    char sig[HOOK_SIGN_HEADER_MAX];
    sign(S1, "msg_1", NOW, sig);
    const char *ids[] = {"msg.1", "msg 1", "msg\x01", "msg_\xc3\xa9"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        cr_expect_eq(verify(&w, ids[i], "1767603600", sig, BODY, NOW), ERR_INVAL, "id %zu", i);
        cr_expect_str_eq(e.field, "webhook-id");
    }
    char longid[HOOK_INBOUND_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    cr_expect_eq(verify(&w, longid, "1767603600", sig, BODY, NOW), ERR_INVAL);
    longid[HOOK_INBOUND_ID_MAX] = '\0';   /* exactly the maximum: well formed */
    cr_expect_eq(verify(&w, longid, "1767603600", sig, BODY, NOW), ERR_AUTH);

    const char *stamps[] = {"soon", "--1", "1767603600.5", " 1767603600", "+1767603600",
                            "0x69", "9999999999999999999"};
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        cr_expect_eq(verify(&w, "msg_1", stamps[i], sig, BODY, NOW), ERR_INVAL, "ts %zu", i);
        cr_expect_str_eq(e.field, "webhook-timestamp");
    }
}

Test(hook_inbound, verify_tolerates_five_minutes_either_way)
{
    struct cfg_webhook w = endpoint(S1, NULL);
    char sig[HOOK_SIGN_HEADER_MAX];
    sign(S1, "msg_1", NOW, sig);
    cr_expect_eq(verify(&w, "msg_1", "1767603600", sig, BODY, NOW + 300), 0, "%s", e.msg);
    cr_expect_eq(verify(&w, "msg_1", "1767603600", sig, BODY, NOW - 300), 0, "%s", e.msg);
    cr_expect_eq(verify(&w, "msg_1", "1767603600", sig, BODY, NOW + 301), ERR_AUTH);
    cr_expect_str_eq(e.field, "webhook-timestamp");
    cr_expect_str_eq(e.msg, "stale timestamp: webhook-timestamp is 301 s behind the server "
                            "clock (tolerance 300 s)");
    cr_expect_eq(verify(&w, "msg_1", "-1767603600", sig, BODY, NOW), ERR_AUTH, "well formed, "
                 "but 112 years behind");
    cr_expect_eq(verify(&w, "msg_1", "1767603600", sig, BODY, NOW - 3600), ERR_AUTH);
    cr_expect_str_eq(e.msg, "stale timestamp: webhook-timestamp is 3600 s ahead of the server "
                            "clock (tolerance 300 s)");
}

Test(hook_inbound, verify_reports_a_broken_endpoint_secret_as_config)
{
    struct cfg_webhook w = endpoint("whsec_!!!!", NULL);
    char sig[HOOK_SIGN_HEADER_MAX];
    sign(S1, "msg_1", NOW, sig);
    cr_expect_eq(verify(&w, "msg_1", "1767603600", sig, BODY, NOW), ERR_CONFIG);
    cr_expect(strstr(e.msg, "'helpdesk'") != NULL, "%s", e.msg);
}
