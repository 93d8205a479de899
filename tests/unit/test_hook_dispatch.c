/*
 * test_hook_dispatch.c — the webhook dispatcher's pure delivery policy:
 * event filters, HTTP outcome classes, Retry-After parsing and the retry
 * schedule. (The dispatcher that uses them: test_hook_deliver.c.)
 */
#include <criterion/criterion.h>

#include "webhook/hook_dispatch.h"

static int64_t sched[] = {5000, 30000, 120000};

Test(hook_dispatch, event_filter)
{
    char *events[] = {"ticket.created", "message.created"};
    struct cfg_webhook all = {.name = "a"};
    struct cfg_webhook some = {.name = "b", .events = events, .nevents = 2};
    cr_assert(hook_dispatch_wants(&all, "ticket.resolved"));
    cr_assert(hook_dispatch_wants(&some, "message.created"));
    cr_assert_not(hook_dispatch_wants(&some, "ticket.resolved"));
    cr_assert_not(hook_dispatch_wants(&some, "ticket"));
    cr_assert_not(hook_dispatch_wants(NULL, "ticket.created"));
}

Test(hook_dispatch, classify)
{
    cr_assert_eq(hook_dispatch_classify(200), HOOK_SUCCEEDED);
    cr_assert_eq(hook_dispatch_classify(204), HOOK_SUCCEEDED);
    cr_assert_eq(hook_dispatch_classify(299), HOOK_SUCCEEDED);
    cr_assert_eq(hook_dispatch_classify(410), HOOK_DISABLE);
    long retry[] = {0, 100, 301, 302, 304, 400, 401, 404, 409, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        cr_assert_eq(hook_dispatch_classify(retry[i]), HOOK_RETRY, "%ld", retry[i]);
}

Test(hook_dispatch, retry_after_seconds_and_dates)
{
    int64_t now = 784111777000;   /* Sun, 06 Nov 1994 08:49:37 GMT */
    cr_assert_eq(hook_dispatch_retry_after("120", now), 120000);
    cr_assert_eq(hook_dispatch_retry_after(" 0 ", now), 0);
    cr_assert_eq(hook_dispatch_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), 60000);
    cr_assert_eq(hook_dispatch_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now), 0);
    cr_assert_eq(hook_dispatch_retry_after("999999999999999999999", now),
                 HOOK_DISPATCH_RETRY_AFTER_MAX_MS);
    const char *bad[] = {NULL, "", "  ", "-5", "1.5", "12s", "soon",
                         "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(hook_dispatch_retry_after(bad[i], now), -1, "case %zu", i);
}

Test(hook_dispatch, schedule_then_dead_letter)
{
    struct cfg_webhook h = {.name = "a", .retry_ms = sched, .nretry = 3};
    cr_assert_eq(hook_dispatch_next_attempt(&h, 1, 1000, -1), 6000);
    cr_assert_eq(hook_dispatch_next_attempt(&h, 2, 1000, -1), 31000);
    cr_assert_eq(hook_dispatch_next_attempt(&h, 3, 1000, -1), 121000);
    cr_assert_eq(hook_dispatch_next_attempt(&h, 4, 1000, -1), -1);
    cr_assert_eq(hook_dispatch_next_attempt(&h, 0, 1000, -1), -1);
    /* Retry-After only ever delays, and is capped at a day */
    cr_assert_eq(hook_dispatch_next_attempt(&h, 1, 1000, 60000), 61000);
    cr_assert_eq(hook_dispatch_next_attempt(&h, 2, 1000, 1000), 31000);
    cr_assert_eq(hook_dispatch_next_attempt(&h, 1, 0, 7LL * 24 * 3600 * 1000),
                 HOOK_DISPATCH_RETRY_AFTER_MAX_MS);
    struct cfg_webhook none = {.name = "b"};
    cr_assert_eq(hook_dispatch_next_attempt(&none, 1, 1000, -1), -1);
}
