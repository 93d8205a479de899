/*
 * test_schema.c — the JSON Schema subset validator (src/check/schema.c)
 * against tgcrm's own schema files: a valid webhook body passes, and each
 * keyword the webhook schema relies on refuses what it must, with the
 * path and the reason.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/schema.h"

static struct schema *hook;
static json_t *body;
static char why[512];

static const char valid_body[] =
    "{\"id\":\"evt_12\",\"type\":\"ticket.updated\",\"occurred_at\":\"2026-12-03T10:00:00.000Z\","
    "\"ticket\":{\"id\":7,\"status\":\"open\",\"priority\":\"normal\",\"group\":\"general\","
    "\"assignee\":null,\"rule\":null,\"subject\":\"hi\",\"customer\":{\"id\":1,"
    "\"telegram_user_id\":1001,\"first_name\":\"Ann\",\"last_name\":null,\"username\":null,"
    "\"language\":null,\"tier\":\"standard\",\"blocked\":false},\"custom_fields\":{},"
    "\"tags\":[],\"topic_id\":null,\"created_at\":\"2026-12-03T10:00:00.000Z\","
    "\"updated_at\":\"2026-12-03T10:00:00.000Z\",\"first_response_at\":null,"
    "\"resolved_at\":null,\"closed_at\":null,\"first_response_ms\":null,\"resolution_ms\":null,"
    "\"thread_len\":1,\"reopen_count\":0,\"escalations\":[],\"kb_suggestions\":[],\"sla\":null},"
    "\"thread\":[{\"seq\":1,\"kind\":\"message\",\"direction\":\"inbound\",\"author\":{\"type\":"
    "\"customer\",\"id\":null,\"name\":\"Ann\"},\"text\":\"hi\",\"event\":null,\"data\":{},"
    "\"telegram\":null,\"at\":\"2026-12-03T10:00:00.000Z\",\"edited_at\":null}],"
    "\"changes\":{\"status\":[\"new\",\"open\"]}}";

static void setup(void)
{
    struct err e = {0};
    cr_assert_eq(schema_compile_text("webhook", schema_webhook_text, schema_webhook_len, &hook,
                                     &e), 0, "%s", e.msg);
    json_error_t je;
    body = json_loads(valid_body, 0, &je);
    cr_assert_not_null(body, "%s", je.text);
}

static void teardown(void)
{
    schema_free(&hook);
    schema_free(&hook);   /* twice is fine */
    json_decref(body);
}

TestSuite(schema, .init = setup, .fini = teardown);

/* Set member `path` ("a.b.c", numbers index lists) of body to JSON text v (NULL deletes). */
static void set(const char *path, const char *v)
{
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    json_t *o = body;
    char *key = p, *dot;
    while ((dot = strchr(key, '.')) != NULL) {
        *dot = '\0';
        o = json_is_array(o) ? json_array_get(o, (size_t)atoi(key)) : json_object_get(o, key);
        key = dot + 1;
    }
    if (v == NULL) {
        json_object_del(o, key);
        return;
    }
    json_error_t je;
    json_t *x = json_loads(v, JSON_DECODE_ANY, &je);
    cr_assert_not_null(x, "%s", v);
    json_object_set_new(o, key, x);
}

static void refused(const char *want)
{
    cr_assert_not(schema_validate(hook, body, why, sizeof why), "accepted; wanted: %s", want);
    cr_assert(strstr(why, want) != NULL, "why: %s\nwanted: %s", why, want);
}

Test(schema, a_valid_body_passes)
{
    cr_assert(schema_validate(hook, body, why, sizeof why), "%s", why);
    cr_assert_str_eq(why, "");
    set("ticket", "null");   /* oneOf: an event about no ticket */
    cr_assert(schema_validate(hook, body, why, sizeof why), "%s", why);
}

Test(schema, enum_and_ref)
{
    set("ticket.status", "\"done\"");
    refused("$.ticket: valid against none of the 2 alternatives (1: $.ticket.status: \"done\" "
            "is not one of [\"open\",\"in_progress\",\"on_hold\",\"resolved\",\"closed\"]; "
            "2: $.ticket: {");
}

Test(schema, required_member)
{
    set("occurred_at", NULL);
    refused("$: required member 'occurred_at' is missing");
}

Test(schema, additional_properties_false)
{
    set("thread.0.author.email", "\"a@b\"");
    refused("$.thread[0].author: member 'email' is not allowed here");
}

Test(schema, a_false_schema_forbids_the_member)
{
    set("thread_seq", "3");
    refused("$.thread_seq: no value is allowed here");
}

Test(schema, pattern_is_case_sensitive)
{
    set("id", "\"EVT_12\"");
    refused("$.id: \"EVT_12\" does not match the pattern ^evt_[0-9]+$");
    set("id", "\"evt_12\"");
    set("type", "\"Ticket.Updated\"");
    refused("$.type: \"Ticket.Updated\" does not match the pattern");
}

Test(schema, type_lists_and_integers)
{
    set("ticket.assignee", "5");
    refused("$.ticket.assignee: 5 is an integer, not one of the types [\"string\",\"null\"]");
    set("ticket.assignee", "\"alice\"");
    set("ticket.id", "7.0");   /* an integral number is an integer */
    cr_assert(schema_validate(hook, body, why, sizeof why), "%s", why);
    set("ticket.id", "7.5");
    refused("7.5 is a number, not integer");
}

Test(schema, minimum)
{
    set("ticket.thread_len", "-1");
    refused("$.ticket.thread_len: -1 is less than the minimum 0");
}

Test(schema, date_time_format_is_asserted)
{
    set("occurred_at", "\"yesterday\"");
    refused("$.occurred_at: \"yesterday\" is not an RFC 3339 date-time");
}

Test(schema, dependent_required_and_not)
{
    set("truncated", "true");
    refused("$: 'truncated' is present, so 'omitted' is required");
    set("omitted", "2");
    cr_assert(schema_validate(hook, body, why, sizeof why), "%s", why);
    set("truncated", "false");
    refused("$.truncated: false is not true");
    set("truncated", "true");
    set("part", "1");
    set("parts", "2");
    refused("$: matches a schema it must not match");
}

Test(schema, string_map_additional_properties_schema)
{
    set("ticket.custom_fields", "{\"plan\": 3}");
    refused("$.ticket.custom_fields.plan: 3 is an integer, not string");
}

static struct schema *compile(const char *text, struct err *e)
{
    struct schema *s = NULL;
    int rc = schema_compile_text("t", text, strlen(text), &s, e);
    cr_assert_eq(rc == 0, s != NULL);
    return s;
}

Test(schema, inbound_schema_any_of_and_const)
{
    FILE *f = fopen("docs/inbound-payload.schema.json", "r");
    cr_assert_not_null(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    struct err e = {0};
    struct schema *s = compile(text, &e);
    cr_assert_not_null(s, "%s", e.msg);
    json_t *ok = json_pack("{sssiss}", "type", "ticket.update", "ticket_id", 3, "status", "open");
    cr_assert(schema_validate(s, ok, why, sizeof why), "%s", why);
    json_object_del(ok, "status");   /* anyOf: at least one change */
    cr_assert_not(schema_validate(s, ok, why, sizeof why));
    cr_assert(strstr(why, "valid against none of the 3 alternatives") != NULL, "%s", why);
    json_t *blank = json_pack("{sssiss ss}", "type", "ticket.reply", "ticket_id", 3, "agent",
                              "alice", "text", " \n");
    cr_assert_not(schema_validate(s, blank, why, sizeof why));
    cr_assert(strstr(why, "$.text: \" \\n\" does not match the pattern") != NULL, "%s", why);
    json_decref(ok);
    json_decref(blank);
    schema_free(&s);
}

Test(schema, keywords_outside_the_subset_are_refused)
{
    struct err e = {0};
    cr_assert_null(compile("{\"$defs\":{\"X\":{\"patternProperties\":{}}}}", &e));
    cr_assert_str_eq(e.msg, "t: unsupported keyword 'patternProperties' at #/$defs/X");
    struct err e2 = {0};
    cr_assert_null(compile("{\"$ref\":\"#/$defs/Nope\"}", &e2));
    cr_assert(strstr(e2.msg, "unresolvable $ref at #") != NULL, "%s", e2.msg);
    struct err e3 = {0};
    cr_assert_null(compile("{\"pattern\":\"(\"}", &e3));
    cr_assert(strstr(e3.msg, "bad 'pattern' at #") != NULL, "%s", e3.msg);
    struct err e4 = {0};
    cr_assert_null(compile("{\"type\":", &e4));
}

Test(schema, lengths_count_code_points_and_one_of_wants_exactly_one)
{
    struct err e = {0};
    struct schema *s = compile("{\"type\":\"string\",\"maxLength\":2}", &e);
    json_t *v = json_string("ёж");   /* 4 bytes, 2 characters */
    cr_assert(schema_validate(s, v, why, sizeof why), "%s", why);
    json_decref(v);
    v = json_string("ёжи");
    cr_assert_not(schema_validate(s, v, why, sizeof why));
    cr_assert_str_eq(why, "$: \"ёжи\" is longer than 2 characters");
    json_decref(v);
    schema_free(&s);
    s = compile("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}", &e);
    v = json_integer(3);
    cr_assert_not(schema_validate(s, v, why, sizeof why));
    cr_assert_str_eq(why, "$: valid against alternatives 1 and more of oneOf, wanted exactly one");
    json_decref(v);
    v = json_real(3.5);
    cr_assert(schema_validate(s, v, NULL, 0));
    json_decref(v);
    schema_free(&s);
}
