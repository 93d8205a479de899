/*
 * test_view.c — the JSON shape of tickets, customers and thread entries.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "desk/sla.h"
#include "desk/view.h"

Test(view, ticket_durations_and_nulls)
{
    struct customer c = {.id = 7, .tg_user_id = 1001, .first_name = "Ann", .tier = "vip"};
    const char *tags[] = {"billing"};
    struct kv f[] = {{"plan", "pro"}};
    struct ticket t = {
        .id = 42, .status = TICKET_RESOLVED, .priority = PRIORITY_HIGH, .group = "billing",
        .subject = "Refund", .fields = f, .nfields = 1, .tags = tags, .ntags = 1,
        .created_at = 1000, .updated_at = 5000, .first_response_at = 61500,
        .resolved_at = 601999, .thread_len = 4,
    };
    json_t *v = view_ticket(&t, &c);
    char *s = jx_dumps(v);
    cr_assert(strstr(s, "\"status\":\"resolved\"") != NULL, "%s", s);
    cr_assert(strstr(s, "\"assignee\":null") != NULL, "%s", s);
    cr_assert(strstr(s, "\"first_response_ms\":60500") != NULL, "%s", s);
    cr_assert(strstr(s, "\"resolution_ms\":600999") != NULL, "%s", s);
    cr_assert(strstr(s, "\"created_at\":\"1970-01-01T00:00:01.000Z\"") != NULL, "%s", s);
    cr_assert(strstr(s, "\"closed_at\":null") != NULL, "%s", s);
    cr_assert(strstr(s, "\"custom_fields\":{\"plan\":\"pro\"}") != NULL, "%s", s);
    cr_assert(strstr(s, "\"tier\":\"vip\"") != NULL, "%s", s);
    cr_assert(strstr(s, "\"topic_id\":null") != NULL, "%s", s);
    free(s);
    json_decref(v);
}

Test(view, entry_with_and_without_telegram)
{
    struct kv d[] = {{"from", "open"}, {"to", "in_progress"}};
    struct thread_entry te = {
        .seq = 3, .kind = THREAD_EVENT, .dir = DIR_INTERNAL, .author_type = AUTHOR_SYSTEM,
        .text = "status open → in_progress", .event = "status_changed", .data = d, .ndata = 2,
        .at = 2500,
    };
    json_t *v = view_entry(&te);
    char *s = jx_dumps(v);
    cr_assert(strstr(s, "\"telegram\":null") != NULL, "%s", s);
    cr_assert(strstr(s, "\"data\":{\"from\":\"open\",\"to\":\"in_progress\"}") != NULL, "%s", s);
    free(s);
    json_decref(v);
    te.tg_chat_id = 1001;
    te.tg_message_id = 5;
    v = view_entry(&te);
    s = jx_dumps(v);
    cr_assert(strstr(s, "\"telegram\":{\"chat_id\":1001,\"message_id\":5}") != NULL, "%s", s);
    free(s);
    json_decref(v);
}

/* The text writer and the json_t form are one definition: the text must
 * parse, equal the json_t form, and survive hostile strings. */
Test(view, ticket_text_is_the_json_form)
{
    struct customer c = {.id = 1, .tg_user_id = 5, .first_name = "A \"quoted\"\n\\name",
                         .username = "bad\xc3\x28utf8"};
    struct kv f[] = {{"k", "v1"}, {"k", "v2"}, {"ctl", "\x01\x1f"}};
    const char *tags[] = {"x", "привет"};
    struct ticket t = {.id = 9, .group = "general", .subject = "\xed\xa0\x80", .fields = f,
                       .nfields = 3, .tags = tags, .ntags = 2, .topic_id = 77,
                       .created_at = -1, .thread_len = 2};
    struct buf b;
    buf_init(&b, 0);
    view_ticket_write(&b, &t, &c);
    json_t *from_text = NULL;
    cr_assert_eq(jx_parse(buf_str(&b), b.len, &from_text, NULL), 0, "%s", buf_str(&b));
    json_t *v = view_ticket(&t, &c);
    cr_assert(json_equal(v, from_text));
    json_t *cust = json_object_get(v, "customer");
    cr_assert_str_eq(json_string_value(json_object_get(cust, "first_name")),
                     "A \"quoted\"\n\\name");
    cr_assert(json_is_null(json_object_get(cust, "username")));      /* invalid UTF-8 */
    cr_assert(json_is_null(json_object_get(v, "subject")));          /* lone surrogate */
    json_t *cf = json_object_get(v, "custom_fields");
    cr_assert_eq(json_object_size(cf), 2);
    cr_assert_str_eq(json_string_value(json_object_get(cf, "k")), "v1");
    cr_assert_str_eq(json_string_value(json_object_get(cf, "ctl")), "\x01\x1f");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "tags"), 1)), "привет");
    cr_assert_str_eq(json_string_value(json_object_get(v, "created_at")),
                     "1969-12-31T23:59:59.999Z");
    cr_assert_eq(json_integer_value(json_object_get(v, "topic_id")), 77);
    json_decref(v);
    json_decref(from_text);
    buf_release(&b);
    v = view_ticket(&t, NULL);
    cr_assert(json_is_null(json_object_get(v, "customer")));
    json_decref(v);
}

/* The ticket's SLA clocks: as stored (no now), null when never started,
 * and the text writer equal to the json_t form. */
Test(view, ticket_sla_clocks)
{
    struct sla_state st;
    struct sla_events out;
    struct cfg_sla_policy pol = {.name = "gold", .first_response_ms = 120000,
                                 .next_response_ms = 120000, .resolution_ms = 600000,
                                 .warn_before_ms = 30000};
    for (int m = 0; m < CFG_SLA_METRICS; m++)
        pol.pause[m] = 1u << TICKET_ON_HOLD;
    sla_on_created(&st, &pol, PRIORITY_NORMAL, 1000);
    sla_on_status(&st, &pol, TICKET_ON_HOLD, 61000, &out);
    struct ticket t = {.id = 3, .group = "general", .created_at = 1000, .sla = &st};
    const char *applied[] = {"urgent"};
    t.escalations = applied;
    t.nescalations = 1;
    struct buf b;
    buf_init(&b, 0);
    view_ticket_write(&b, &t, NULL);
    json_t *from_text = NULL;
    cr_assert_eq(jx_parse(buf_str(&b), b.len, &from_text, NULL), 0, "%s", buf_str(&b));
    json_t *v = view_ticket(&t, NULL);
    cr_assert(json_equal(v, from_text));
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "escalations"), 0)),
                     "urgent");
    json_t *sla = json_object_get(v, "sla");
    cr_assert_str_eq(json_string_value(json_object_get(sla, "policy")), "gold");
    json_t *fr = json_object_get(sla, "first_response");
    cr_assert_str_eq(json_string_value(json_object_get(fr, "status")), "paused");
    cr_assert(json_is_false(json_object_get(fr, "breached")));
    cr_assert_eq(json_integer_value(json_object_get(fr, "target_ms")), 120000);
    cr_assert(json_is_null(json_object_get(fr, "due_at")), "unknown while paused");
    cr_assert_str_eq(json_string_value(json_object_get(fr, "paused_since")),
                     "1970-01-01T00:01:01.000Z");
    cr_assert(json_is_null(json_object_get(sla, "next_response")), "never started");
    json_t *res = json_object_get(sla, "resolution");
    cr_assert_str_eq(json_string_value(json_object_get(res, "started_at")),
                     "1970-01-01T00:00:01.000Z");
    json_decref(v);
    json_decref(from_text);
    buf_release(&b);
    t.sla = NULL;
    v = view_ticket(&t, NULL);
    cr_assert(json_is_null(json_object_get(v, "sla")));
    json_decref(v);
}
