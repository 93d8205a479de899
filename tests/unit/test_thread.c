/*
 * test_thread.c — thread entry names and data lookup.
 */
#include <criterion/criterion.h>

#include "desk/thread.h"

Test(thread, names_round_trip)
{
    enum thread_kind k;
    enum thread_dir d;
    enum author_type a;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(thread_kind_parse(thread_kind_name((enum thread_kind)i), &k), 0);
        cr_assert_eq((int)k, i);
        cr_assert_eq(thread_dir_parse(thread_dir_name((enum thread_dir)i), &d), 0);
        cr_assert_eq((int)d, i);
    }
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(thread_author_type_parse(thread_author_type_name((enum author_type)i), &a), 0);
        cr_assert_eq((int)a, i);
    }
    cr_assert_eq(thread_kind_parse("chat", &k), ERR_INVAL);
    cr_assert_eq(thread_dir_parse(NULL, &d), ERR_INVAL);
    cr_assert_str_eq(thread_kind_name((enum thread_kind)9), "unknown");
}

Test(thread, data_lookup)
{
    struct kv d[] = {{"from", "open"}, {"to", "in_progress"}};
    struct thread_entry te = {.data = d, .ndata = 2};
    cr_assert_str_eq(thread_data(&te, "to"), "in_progress");
    cr_assert_null(thread_data(&te, "reason"));
}
