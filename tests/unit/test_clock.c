/*
 * test_clock.c — manual clock, ISO-8601 and durations.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <time.h>

#include "base/clock.h"
#include "base/err.h"

Test(clock, manual_moves_only_forward)
{
    struct clock *c = clock_manual_new(1000);
    cr_assert(clock_is_manual(c));
    cr_assert_eq(clock_now_ms(c), 1000);
    cr_assert_eq(clock_manual_advance(c, 500), 0);
    cr_assert_eq(clock_now_ms(c), 1500);
    cr_assert_eq(clock_manual_advance(c, -1), ERR_INVAL);
    cr_assert_eq(clock_manual_set(c, 1400), ERR_INVAL);
    cr_assert_eq(clock_manual_set(c, 9000), 0);
    cr_assert_eq(clock_now_ms(c), 9000);
    clock_free(&c);
    cr_assert_null(c);
}

Test(clock, real_clock_refuses_manual_moves)
{
    struct clock *c = clock_real_new();
    cr_assert_not(clock_is_manual(c));
    cr_assert_gt(clock_now_ms(c), 1600000000000LL);
    cr_assert_eq(clock_manual_advance(c, 1), ERR_INVAL);
    clock_free(&c);
}

Test(clock, iso_round_trip_with_millis)
{
    char buf[CLOCK_ISO_LEN];
    int64_t ms;
    cr_assert_str_eq(clock_fmt_iso(1795481913123LL, buf), "2026-11-24T00:58:33.123Z");
    cr_assert_eq(clock_parse_iso("2026-11-24T00:58:33.123Z", &ms), 0);
    cr_assert_eq(ms, 1795481913123LL);
    cr_assert_eq(clock_parse_iso("2026-11-24T02:58:33.123+02:00", &ms), 0);
    cr_assert_eq(ms, 1795481913123LL);
    cr_assert_eq(clock_parse_iso("2026-11-24T00:58:33Z", &ms), 0);
    cr_assert_eq(ms, 1795481913000LL);
    cr_assert_str_eq(clock_fmt_iso(0, buf), "1970-01-01T00:00:00.000Z");
}

Test(clock, iso_rejects_junk)
{
    int64_t ms;
    cr_assert_eq(clock_parse_iso("2026-13-01T00:00:00Z", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_iso("2026-11-24 00:58", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_iso("2026-11-24T00:58:33", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_iso("2026-11-24T00:58:33Zjunk", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_iso("", &ms), ERR_INVAL);
}

Test(clock, durations)
{
    int64_t ms;
    cr_assert_eq(clock_parse_duration("2m", &ms), 0);
    cr_assert_eq(ms, 120000);
    cr_assert_eq(clock_parse_duration("1h30m", &ms), 0);
    cr_assert_eq(ms, 5400000);
    cr_assert_eq(clock_parse_duration("250ms", &ms), 0);
    cr_assert_eq(ms, 250);
    cr_assert_eq(clock_parse_duration("1d", &ms), 0);
    cr_assert_eq(ms, 86400000);
    cr_assert_eq(clock_parse_duration("45", &ms), 0);
    cr_assert_eq(ms, 45000);
    cr_assert_eq(clock_parse_duration("-5s", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_duration("5x", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_duration("1h30", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_duration("", &ms), ERR_INVAL);
    cr_assert_eq(clock_parse_duration(NULL, &ms), ERR_INVAL);
}

/* The formatter does its own calendar arithmetic; check it against libc's
 * gmtime_r over leap days, century years, before the epoch and far ahead. */
Test(clock, iso_matches_gmtime)
{
    static const int64_t at[] = {
        0, 1, 999, 1000, -1, -999, -1000, -1001, -86400000, -86400001,
        951782400000LL,      /* 2000-02-29 */
        951868799999LL,      /* 2000-02-29T23:59:59.999 */
        4107542400000LL,     /* 2100-03-01 */
        253402300799999LL,   /* 9999-12-31T23:59:59.999 */
        -62135596800000LL,   /* 0001-01-01 */
    };
    char got[CLOCK_ISO_LEN], want[64];
    for (int64_t i = 0; i < 20000; i++) {
        int64_t ms = i < (int64_t)(sizeof at / sizeof at[0]) ? at[i]
                   : (i * 7919LL * 86400000LL / 13) % 253402300799999LL - 2208988800000LL + i;
        time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        int frac = (int)(ms - (int64_t)secs * 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        cr_assert_str_eq(clock_fmt_iso(ms, got), want, "ms=%lld", (long long)ms);
        int64_t back;
        cr_assert_eq(clock_parse_iso(got, &back), 0, "%s", got);
        cr_assert_eq(back, ms, "%s", got);
    }
}
