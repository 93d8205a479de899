/*
 * test_view.c — the JSON shape of tickets, customers and thread entries.
 */
#include <criterion/criterion.h>
#include <string.h>

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
