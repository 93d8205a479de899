/*
 * test_tz.c — time zones: the civil calendar, TZif loading checked against
 * glibc's own reading of the same files (an independent implementation) at
 * every transition from 1900 to 2400, local→UTC across gaps and overlaps,
 * POSIX TZ strings, and every way a zone name or file can be refused.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/tz.h"

#define H (3600 * 1000LL)
#define M (60 * 1000LL)

static struct tz *load(const char *name)
{
    struct tz *z = NULL;
    struct err e = {0};
    int rc = tz_load(name, &z, &e);
    cr_assert_eq(rc, 0, "tz_load %s: %s", name, e.msg);
    cr_assert_not_null(z);
    return z;
}

static int64_t iso(const char *s)
{
    int64_t ms;
    cr_assert_eq(clock_parse_iso(s, &ms), 0, "bad ISO time in test: %s", s);
    return ms;
}

/* --- civil calendar ----------------------------------------------------------- */

Test(tz, civil_round_trip)
{
    for (int64_t d = -800000; d <= 800000; d += 7) {
        int64_t y;
        int m, dd;
        tz_civil_from_days(d, &y, &m, &dd);
        cr_assert(m >= 1 && m <= 12 && dd >= 1 && dd <= tz_month_days(y, m));
        cr_assert_eq(tz_days_from_civil(y, m, dd), d, "day %lld", (long long)d);
    }
    cr_assert_eq(tz_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(tz_days_from_civil(2000, 3, 1), 11017);
    cr_assert_eq(tz_days_from_civil(1969, 12, 31), -1);
}

Test(tz, weekdays_and_month_lengths)
{
    cr_assert_eq(tz_weekday(0), 4, "1970-01-01 was a Thursday");
    cr_assert_eq(tz_weekday(-1), 3);
    cr_assert_eq(tz_weekday(tz_days_from_civil(2026, 12, 25)), 5, "a Friday");
    cr_assert_eq(tz_weekday(tz_days_from_civil(2026, 3, 29)), 0, "a Sunday");
    cr_assert_eq(tz_month_days(2024, 2), 29);
    cr_assert_eq(tz_month_days(2100, 2), 28);
    cr_assert_eq(tz_month_days(2000, 2), 29);
    cr_assert_eq(tz_month_days(2026, 4), 30);
    cr_assert_eq(tz_month_days(2026, 13), 0);
    cr_assert_eq(tz_floor_div(-1, 1000), -1);
    cr_assert_eq(tz_floor_div(-1000, 1000), -1);
    cr_assert_eq(tz_floor_div(999, 1000), 0);
}

/* --- against glibc ------------------------------------------------------------ */

static long glibc_off(time_t t)
{
    struct tm tm;
    cr_assert_not_null(localtime_r(&t, &tm));
    return tm.tm_gmtoff;
}

/* Walk [from, to) in steps; wherever glibc's offset changes, find the exact
 * second by bisection and check both sides. Returns the changes seen. */
static int compare_with_glibc(const char *zone, int64_t from, int64_t to, int64_t step)
{
    char env[300];
    snprintf(env, sizeof env, ":%s", zone);
    setenv("TZ", env, 1);
    tzset();
    struct tz *z = load(zone);
    int changes = 0;
    long prev = glibc_off((time_t)from);
    for (int64_t t = from + step; t < to; t += step) {
        long cur = glibc_off((time_t)t);
        cr_assert_eq(tz_offset_at(z, t * 1000), (int64_t)cur * 1000,
                     "%s at %lld: ours %lld, glibc %ld", zone, (long long)t,
                     (long long)tz_offset_at(z, t * 1000), cur);
        if (cur != prev) {
            int64_t lo = t - step, hi = t;          /* glibc: lo old, hi new */
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (glibc_off((time_t)mid) == prev)
                    lo = mid;
                else
                    hi = mid;
            }
            cr_assert_eq(tz_offset_at(z, hi * 1000 - 1), (int64_t)glibc_off((time_t)lo) * 1000,
                         "%s just before the change at %lld", zone, (long long)hi);
            cr_assert_eq(tz_offset_at(z, hi * 1000), (int64_t)glibc_off((time_t)hi) * 1000,
                         "%s at the change at %lld", zone, (long long)hi);
            changes++;
        }
        prev = cur;
    }
    tz_free(&z);
    cr_assert_null(z);
    unsetenv("TZ");
    tzset();
    return changes;
}

Test(tz, agrees_with_glibc_1900_to_2400)
{
    static const struct { const char *zone; int min_changes; } zones[] = {
        { "Europe/Berlin", 800 },        /* footer CET-1CEST,M3.5.0,M10.5.0/3 */
        { "America/New_York", 800 },
        { "Australia/Sydney", 800 },     /* southern: DST over new year */
        { "Australia/Lord_Howe", 700 },  /* 30-minute DST */
        { "America/Nuuk", 700 },         /* RFC 8536 v3: hours -1 and 0 in rules */
        { "America/Santiago", 700 },
        { "Europe/Dublin", 700 },        /* "negative" DST in winter */
        { "Asia/Kathmandu", 2 },         /* +05:45, no DST */
        { "Asia/Kolkata", 3 },
        { "Pacific/Apia", 10 },          /* skipped 2011-12-30 entirely */
        { "Pacific/Kiritimati", 2 },     /* +14 */
        { "Africa/Casablanca", 20 },
        { "America/Sao_Paulo", 50 },
        { "Antarctica/Troll", 700 },     /* DST of two hours */
        { "UTC", 0 },
        { "Etc/GMT+5", 0 },
    };
    int64_t from = -2208988800LL;        /* 1900-01-01 */
    int64_t to = 13569465600LL;          /* 2400-01-01 */
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        int n = compare_with_glibc(zones[i].zone, from, to, 6 * 86400 + 3 * 3600 + 17 * 60 + 13);
        cr_expect_geq(n, zones[i].min_changes, "%s: only %d changes seen", zones[i].zone, n);
    }
}

Test(tz, known_offsets)
{
    struct tz *b = load("Europe/Berlin");
    cr_assert_str_eq(tz_name(b), "Europe/Berlin");
    /* 2026: CEST from 03-29 01:00 UTC to 10-25 01:00 UTC */
    cr_assert_eq(tz_offset_at(b, iso("2026-03-29T00:59:59.999Z")), 1 * H);
    cr_assert_eq(tz_offset_at(b, iso("2026-03-29T01:00:00Z")), 2 * H);
    cr_assert_eq(tz_offset_at(b, iso("2026-10-25T00:59:59.999Z")), 2 * H);
    cr_assert_eq(tz_offset_at(b, iso("2026-10-25T01:00:00Z")), 1 * H);
    /* far beyond the file's explicit table: the footer rule, expanded */
    cr_assert_eq(tz_offset_at(b, iso("2350-07-01T12:00:00Z")), 2 * H);
    cr_assert_eq(tz_offset_at(b, iso("2350-12-01T12:00:00Z")), 1 * H);
    cr_assert_eq(tz_to_local(b, iso("2026-07-01T10:00:00Z")), iso("2026-07-01T12:00:00Z"));
    tz_free(&b);
    struct tz *k = load("Asia/Kathmandu");
    cr_assert_eq(tz_offset_at(k, iso("2026-01-01T00:00:00Z")), 5 * H + 45 * M);
    tz_free(&k);
    struct tz *g = load("Etc/GMT+5");       /* POSIX sign: GMT+5 is five hours west */
    cr_assert_eq(tz_offset_at(g, 0), -5 * H);
    tz_free(&g);
}

/* --- local → UTC ---------------------------------------------------------------- */

Test(tz, to_utc_gap_and_overlap)
{
    struct tz *b = load("Europe/Berlin");
    /* an ordinary wall time */
    cr_assert_eq(tz_to_utc(b, iso("2026-03-02T09:00:00Z")), iso("2026-03-02T08:00:00Z"));
    /* the skipped hour: 02:30 does not exist on 2026-03-29, it reads as 03:30 CEST */
    cr_assert_eq(tz_to_utc(b, iso("2026-03-29T02:30:00Z")), iso("2026-03-29T01:30:00Z"));
    cr_assert_eq(tz_to_utc(b, iso("2026-03-29T02:00:00Z")), iso("2026-03-29T01:00:00Z"));
    cr_assert_eq(tz_to_utc(b, iso("2026-03-29T03:00:00Z")), iso("2026-03-29T01:00:00Z"));
    cr_assert_eq(tz_to_utc(b, iso("2026-03-29T01:59:59.999Z")), iso("2026-03-29T00:59:59.999Z"));
    /* the repeated hour: 02:30 on 2026-10-25 happens twice, the first (CEST) wins */
    cr_assert_eq(tz_to_utc(b, iso("2026-10-25T02:30:00Z")), iso("2026-10-25T00:30:00Z"));
    cr_assert_eq(tz_to_utc(b, iso("2026-10-25T03:00:00Z")), iso("2026-10-25T02:00:00Z"));
    cr_assert_eq(tz_to_utc(b, iso("2026-10-25T01:59:59Z")), iso("2026-10-24T23:59:59Z"));
    tz_free(&b);

    struct tz *lh = load("Australia/Lord_Howe");     /* +10:30 ⇄ +11 at 02:00 local */
    cr_assert_eq(tz_to_utc(lh, iso("2026-10-04T02:15:00Z")), iso("2026-10-03T15:45:00Z"));
    cr_assert_eq(tz_to_utc(lh, iso("2026-04-05T01:45:00Z")), iso("2026-04-04T14:45:00Z"));
    tz_free(&lh);
}

/* Every wall time maps to the earliest instant that shows it, or (in a gap)
 * to an instant just after the gap. */
Test(tz, to_utc_property)
{
    static const char *const zones[] = {
        "Europe/Berlin", "Australia/Sydney", "America/Nuuk", "Pacific/Apia",
        "Australia/Lord_Howe", "UTC",
    };
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        struct tz *z = load(zones[i]);
        for (int64_t l = iso("2009-01-01T00:00:00Z"); l < iso("2031-01-01T00:00:00Z");
             l += 17 * M + 13000) {
            int64_t u = tz_to_utc(z, l);
            if (tz_to_local(z, u) == l) {
                /* no earlier instant within a day shows the same wall time */
                for (int64_t d = 30 * M; d <= 3 * H; d += 30 * M)
                    cr_assert_neq(tz_to_local(z, u - d), l, "%s: %lld has an earlier reading",
                                  zones[i], (long long)l);
            } else {
                /* a gap: the wall clock jumped over l; u is just past the jump */
                int64_t gap = tz_to_local(z, u) - l;
                cr_assert(gap > 0 && gap <= 24 * H, "%s: local %lld → %lld", zones[i],
                          (long long)l, (long long)u);
                cr_assert_neq(tz_offset_at(z, u - gap), tz_offset_at(z, u));
            }
        }
        tz_free(&z);
    }
}

/* --- POSIX TZ strings --------------------------------------------------------------- */

Test(tz, posix_matches_file)
{
    struct tz *file = load("Europe/Berlin");
    struct tz *rule = NULL;
    struct err e = {0};
    cr_assert_eq(tz_from_posix("CET-1CEST,M3.5.0,M10.5.0/3", &rule, &e), 0, "%s", e.msg);
    cr_assert_str_eq(tz_name(rule), "CET-1CEST,M3.5.0,M10.5.0/3");
    for (int64_t t = iso("1996-01-01T00:00:00Z"); t < iso("2399-01-01T00:00:00Z"); t += 3 * H + 7 * M)
        cr_assert_eq(tz_offset_at(rule, t), tz_offset_at(file, t), "at %lld", (long long)t);
    tz_free(&rule);
    tz_free(&file);
}

Test(tz, posix_rule_kinds)
{
    struct tz *z = NULL;
    struct err e = {0};
    /* Jn never counts Feb 29: J60 is 1 March in every year */
    cr_assert_eq(tz_from_posix("AAA0BBB,J60/0,J300/0", &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, iso("2024-02-29T23:59:59Z")), 0);
    cr_assert_eq(tz_offset_at(z, iso("2024-03-01T00:00:00Z")), 1 * H);
    cr_assert_eq(tz_offset_at(z, iso("2025-03-01T00:00:00Z")), 1 * H);
    tz_free(&z);
    /* n counts from 0 and includes Feb 29: day 59 is Feb 29 in a leap year */
    cr_assert_eq(tz_from_posix("AAA0BBB,59/0,300/0", &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, iso("2024-02-29T00:00:00Z")), 1 * H);
    cr_assert_eq(tz_offset_at(z, iso("2025-02-28T23:59:59Z")), 0);
    cr_assert_eq(tz_offset_at(z, iso("2025-03-01T00:00:00Z")), 1 * H);
    tz_free(&z);
    /* explicit DST offset, quoted names, hours past 24 (RFC 8536) */
    cr_assert_eq(tz_from_posix("<+0330>-3:30<+0430>-4:30,J79/24,J263/24", &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, iso("2020-01-10T00:00:00Z")), 3 * H + 30 * M);
    cr_assert_eq(tz_offset_at(z, iso("2020-06-10T00:00:00Z")), 4 * H + 30 * M);
    tz_free(&z);
    /* last Sunday (week 5) of a month with four Sundays */
    cr_assert_eq(tz_from_posix("CET-1CEST,M2.5.0,M10.5.0/3", &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, iso("2026-02-22T00:59:59Z")), 1 * H, "2026-02-22 is the last Sunday");
    cr_assert_eq(tz_offset_at(z, iso("2026-02-22T01:00:00Z")), 2 * H);
    tz_free(&z);
    /* no DST at all */
    cr_assert_eq(tz_from_posix("<-03>3", &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, iso("2300-01-01T00:00:00Z")), -3 * H);
    tz_free(&z);
}

Test(tz, posix_refused)
{
    static const char *const bad[] = {
        "", "C-1", "CET", "CET-1CEST", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0",
        "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET25", "CET-1:60",
        "CET-1CEST,J0,J300", "CET-1CEST,366,300", "CET-1CEST,M3.5.0/168,M10.5.0",
        "<CE>-1", "<CET-1", "CET-1CEST,M3.5.0,M10.5.0x", "CET-1:5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tz *z = (struct tz *)1;
        struct err e = {0};
        cr_expect_eq(tz_from_posix(bad[i], &z, &e), ERR_INVAL, "accepted '%s'", bad[i]);
        cr_expect_null(z);
        cr_expect(strstr(e.msg, "TZ string") != NULL, "'%s': %s", bad[i], e.msg);
    }
}

/* --- names and files --------------------------------------------------------------- */

static void load_fails(const char *name, int code, const char *msg)
{
    struct tz *z = (struct tz *)1;
    struct err e = {0};
    cr_expect_eq(tz_load(name, &z, &e), code, "'%s': %d %s", name, e.code, e.msg);
    cr_expect_null(z);
    cr_expect(strstr(e.msg, msg) != NULL, "'%s': message '%s' lacks '%s'", name, e.msg, msg);
}

Test(tz, unknown_names)
{
    load_fails("Europe/Berln", ERR_NOTFOUND, "unknown time zone 'Europe/Berln'");
    load_fails("Europe", ERR_NOTFOUND, "unknown time zone 'Europe'");
    load_fails("../../etc/passwd", ERR_NOTFOUND, "unknown time zone '../../etc/passwd'");
    load_fails("/etc/localtime", ERR_NOTFOUND, "unknown time zone");
    load_fails("Europe//Berlin", ERR_NOTFOUND, "unknown time zone");
    load_fails("Europe/Berlin ", ERR_NOTFOUND, "unknown time zone");
    load_fails("", ERR_NOTFOUND, "unknown time zone ''");
    load_fails("zone.tab", ERR_NOTFOUND, "is not a TZif file");
    /* Debian 12 ships the leap-second zones in tzdata (later releases move
     * them to tzdata-legacy); the refusal itself is also tested on a
     * handmade file below */
    if (access("/usr/share/zoneinfo/right/Europe/Berlin", R_OK) == 0)
        load_fails("right/Europe/Berlin", ERR_INVAL, "leap seconds");
}

Test(tz, tzdir_is_honoured)
{
    setenv("TZDIR", "/nonexistent/zoneinfo", 1);
    load_fails("Europe/Berlin", ERR_NOTFOUND, "install the tzdata package");
    unsetenv("TZDIR");
    struct tz *z = load("Europe/Berlin");
    tz_free(&z);
    tz_free(&z);        /* NULL is fine */
    tz_free(NULL);
}

/* A TZif file made by hand: a minimal version 1 block, then the 64-bit one. */
struct tzif {
    unsigned char b[1024];
    size_t n;
};

static void put32(struct tzif *f, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        f->b[f->n++] = (unsigned char)(v >> (i * 8));
}

static void put64(struct tzif *f, int64_t v)
{
    put32(f, (uint32_t)((uint64_t)v >> 32));
    put32(f, (uint32_t)v);
}

static void header(struct tzif *f, char version, uint32_t leap, uint32_t times, uint32_t types)
{
    memcpy(f->b + f->n, "TZif", 4);
    f->n += 4;
    f->b[f->n++] = (unsigned char)version;
    memset(f->b + f->n, 0, 15);
    f->n += 15;
    put32(f, 0);            /* isutcnt */
    put32(f, 0);            /* isstdcnt */
    put32(f, leap);
    put32(f, times);
    put32(f, types);
    put32(f, 4);            /* charcnt: "AAA\0" */
}

static void make(struct tzif *f, char version, uint32_t ntimes, const int64_t *at,
                 const unsigned char *idx, uint32_t ntypes, const int32_t *off,
                 uint32_t leap, const char *footer)
{
    f->n = 0;
    header(f, version, 0, 0, 1);                 /* v1 block: one type, no times */
    put32(f, 0);
    f->b[f->n++] = 0;
    f->b[f->n++] = 0;
    memcpy(f->b + f->n, "AAA", 4);
    f->n += 4;
    if (version == '\0')
        return;
    header(f, version, leap, ntimes, ntypes);
    for (uint32_t i = 0; i < ntimes; i++)
        put64(f, at[i]);
    for (uint32_t i = 0; i < ntimes; i++)
        f->b[f->n++] = idx[i];
    for (uint32_t i = 0; i < ntypes; i++) {
        put32(f, (uint32_t)off[i]);
        f->b[f->n++] = 0;
        f->b[f->n++] = 0;
    }
    memcpy(f->b + f->n, "AAA", 4);
    f->n += 4;
    for (uint32_t i = 0; i < leap; i++) {
        put64(f, 78796800);
        put32(f, 1);
    }
    if (footer != NULL) {
        f->b[f->n++] = '\n';
        memcpy(f->b + f->n, footer, strlen(footer));
        f->n += strlen(footer);
        f->b[f->n++] = '\n';
    }
}

static int parse(const struct tzif *f, size_t len, struct tz **z, struct err *e)
{
    return tz_parse("Test/Zone", f->b, len, z, e);
}

Test(tz, handmade_files)
{
    static const int64_t at[] = { 1000, 2000, 3000 };
    static const unsigned char idx[] = { 1, 0, 1 };
    static const int32_t off[] = { 3600, 7200 };
    struct tzif f;
    struct tz *z = NULL;
    struct err e = {0};

    make(&f, '2', 3, at, idx, 2, off, 0, "AAA-3");
    cr_assert_eq(parse(&f, f.n, &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, 999999), 1 * H, "type 0 before the first transition");
    cr_assert_eq(tz_offset_at(z, 1000000), 2 * H);
    cr_assert_eq(tz_offset_at(z, 2000000), 1 * H);
    cr_assert_eq(tz_offset_at(z, 2999999), 1 * H);
    cr_assert_eq(tz_offset_at(z, 3000000), 2 * H);
    cr_assert_eq(tz_offset_at(z, INT64_MAX / 2), 2 * H, "footer without DST: the last offset holds");
    cr_assert_eq(tz_offset_at(z, INT64_MIN / 2), 1 * H);
    tz_free(&z);

    make(&f, '4', 3, at, idx, 2, off, 0, "");    /* empty footer, version 4 */
    cr_assert_eq(parse(&f, f.n, &z, &e), 0, "%s", e.msg);
    tz_free(&z);
    make(&f, '2', 0, NULL, NULL, 1, off, 0, NULL);   /* no footer at all */
    cr_assert_eq(parse(&f, f.n, &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, 0), 1 * H);
    tz_free(&z);
    make(&f, '3', 0, NULL, NULL, 1, off, 0, "CET-1CEST,M3.5.0,M10.5.0/3");
    cr_assert_eq(parse(&f, f.n, &z, &e), 0, "%s", e.msg);
    cr_assert_eq(tz_offset_at(z, iso("2026-07-01T00:00:00Z")), 2 * H, "footer rule from the start");
    tz_free(&z);
}

Test(tz, handmade_files_refused)
{
    static const int64_t at[] = { 1000, 2000, 3000 };
    static const int64_t unordered[] = { 1000, 3000, 2000 };
    static const unsigned char idx[] = { 1, 0, 1 };
    static const unsigned char bad_idx[] = { 1, 0, 2 };
    static const int32_t off[] = { 3600, 7200 };
    static const int32_t huge[] = { 3600, 100000 };
    static const struct {
        char version;
        const int64_t *at;
        const unsigned char *idx;
        const int32_t *off;
        uint32_t leap;
        const char *footer;
        long cut;               /* bytes removed from the end */
        const char *msg;
    } cases[] = {
        { '\0', at, idx, off, 0, NULL, 0, "TZif version 1 file" },
        { '2', at, idx, off, 1, "AAA-1", 0, "leap seconds" },
        { '2', unordered, idx, off, 0, "AAA-1", 0, "transitions out of order" },
        { '2', at, bad_idx, off, 0, "AAA-1", 0, "bad transition type" },
        { '2', at, idx, huge, 0, "AAA-1", 0, "bad local time type" },
        { '2', at, idx, off, 0, "AAA-1", 8, "truncated TZif file" },
        { '2', at, idx, off, 0, "AAA-1", 2, "corrupt TZif footer" },
        { '2', at, idx, off, 0, "not a rule", 0, "invalid TZ string 'not a rule'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tzif f;
        make(&f, cases[i].version, 3, cases[i].at, cases[i].idx, 2, cases[i].off,
             cases[i].leap, cases[i].footer);
        struct tz *z = (struct tz *)1;
        struct err e = {0};
        cr_expect_eq(parse(&f, f.n - (size_t)cases[i].cut, &z, &e), ERR_INVAL, "case %zu", i);
        cr_expect_null(z);
        cr_expect(strstr(e.msg, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, e.msg,
                  cases[i].msg);
    }
    struct tz *z = NULL;
    struct err e = {0};
    cr_expect_eq(tz_parse("X", "TZjf", 4, &z, &e), ERR_INVAL);
    cr_expect(strstr(e.msg, "time zone 'X': not a TZif file") != NULL, "%s", e.msg);
}
