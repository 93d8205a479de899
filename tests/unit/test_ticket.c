/*
 * test_ticket.c — ticket names, parsing, subjects and fields.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "desk/ticket.h"

Test(ticket, status_names_round_trip)
{
    for (int i = 0; i < TICKET_STATUS_COUNT; i++) {
        enum ticket_status s;
        cr_assert_eq(ticket_status_parse(ticket_status_name((enum ticket_status)i), &s, NULL), 0);
        cr_assert_eq((int)s, i);
    }
    cr_assert_str_eq(ticket_status_name(TICKET_IN_PROGRESS), "in_progress");
    cr_assert_str_eq(ticket_status_name((enum ticket_status)42), "unknown");
}

Test(ticket, unknown_status_lists_choices)
{
    struct err e = {0};
    enum ticket_status s;
    cr_assert_eq(ticket_status_parse("pending", &s, &e), ERR_INVAL);
    cr_assert(strstr(e.msg, "unknown status 'pending'") != NULL, "%s", e.msg);
    cr_assert(strstr(e.msg, "on_hold") != NULL);
    cr_assert_str_eq(e.field, "status");
    err_clear(&e);
    cr_assert_eq(ticket_status_parse(NULL, &s, &e), ERR_INVAL);
}

Test(ticket, priorities_are_ordered)
{
    enum ticket_priority p;
    cr_assert_eq(ticket_priority_parse("urgent", &p, NULL), 0);
    cr_assert_eq(p, PRIORITY_URGENT);
    cr_assert_gt(PRIORITY_URGENT, PRIORITY_HIGH);
    cr_assert_gt(PRIORITY_HIGH, PRIORITY_NORMAL);
    cr_assert_gt(PRIORITY_NORMAL, PRIORITY_LOW);
    struct err e = {0};
    cr_assert_eq(ticket_priority_parse("critical", &p, &e), ERR_INVAL);
    cr_assert_str_eq(e.field, "priority");
}

Test(ticket, active_statuses)
{
    cr_assert(ticket_status_is_active(TICKET_OPEN));
    cr_assert(ticket_status_is_active(TICKET_IN_PROGRESS));
    cr_assert(ticket_status_is_active(TICKET_ON_HOLD));
    cr_assert_not(ticket_status_is_active(TICKET_RESOLVED));
    cr_assert_not(ticket_status_is_active(TICKET_CLOSED));
}

Test(ticket, subject_is_first_line_trimmed)
{
    char out[64];
    cr_assert_str_eq(ticket_subject_from_text("  \n Hello there  \nsecond", out, 60), "Hello there");
    cr_assert_str_eq(ticket_subject_from_text("", out, 60), "");
    cr_assert_str_eq(ticket_subject_from_text(NULL, out, 60), "");
}

Test(ticket, subject_cut_never_splits_a_character)
{
    char out[32];
    /* "ПРИВЕТ" is 12 bytes; cutting at 5 must back up to 4 (two letters). */
    ticket_subject_from_text("ПРИВЕТ", out, 5);
    cr_assert_str_eq(out, "ПР\xE2\x80\xA6");
    ticket_subject_from_text("abcdefgh", out, 4);
    cr_assert_str_eq(out, "abcd\xE2\x80\xA6");
}

Test(ticket, field_lookup)
{
    struct kv f[] = {{"email", "a@b.c"}, {"plan", "pro"}};
    struct ticket t = {.fields = f, .nfields = 2};
    cr_assert_str_eq(ticket_field(&t, "plan"), "pro");
    cr_assert_null(ticket_field(&t, "phone"));
}

Test(ticket, topic_name_fits_128_units)
{
    char out[TICKET_TOPIC_NAME_MAX];
    cr_assert_str_eq(ticket_topic_name("Ann", "Smith", 42, out), "Ann Smith \xC2\xB7 #42");
    cr_assert_str_eq(ticket_topic_name(NULL, NULL, 7, out), "Customer \xC2\xB7 #7");
    char longname[300];
    memset(longname, 'x', 299);
    longname[299] = '\0';
    ticket_topic_name(longname, NULL, 123456, out);
    cr_assert_eq(strlen(out), 128 + 1, "128 units, '\xC2\xB7' is two bytes: %zu", strlen(out));
    cr_assert(strstr(out, "#123456") != NULL);
    /* emoji count two units each and are never split */
    char emoji[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(emoji, "\xF0\x9F\x98\x80");
    ticket_topic_name(emoji, NULL, 1, out);
    size_t bytes = strlen(out) - strlen(" \xC2\xB7 #1");
    cr_assert_eq(bytes % 4, 0, "no emoji cut in half");
    cr_assert_leq(bytes / 4 * 2 + 5, 128);
}
