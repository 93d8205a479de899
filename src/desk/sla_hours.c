/*
 * sla_hours.c — business-time arithmetic (see sla_hours.h).
 *
 * A cursor walks the calendar's open intervals in time order, one local
 * date after another: first the tail of an overnight window opened the day
 * before, then the date's own windows (cut at midnight), each turned into a
 * UTC interval with the zone's table. Dates that are holidays yield nothing.
 * Counting and adding are then a single pass over those intervals.
 */
#include "desk/sla_hours.h"

#include "base/tz.h"

struct cursor {
    const struct cfg_calendar *cal;
    int64_t date;           /* local date being read, days since the epoch */
    int phase;              /* 0: tails of the day before, 1: own windows, 2: done */
    size_t k;               /* next window of cal->hours to look at */
    bool closed;            /* the date is a holiday */
    bool any;               /* the date yielded an interval */
    int empty_days;         /* dates in a row without one */
};

static bool holiday(const struct cfg_calendar *cal, int64_t date)
{
    if (cal->nholidays == 0)
        return false;
    int64_t y;
    int m, d;
    tz_civil_from_days(date, &y, &m, &d);
    for (size_t i = 0; i < cal->nholidays; i++) {
        const struct cfg_holiday *h = &cal->holidays[i];
        if (h->month == m && h->day == d && (h->year == 0 || h->year == y))
            return true;
    }
    return false;
}

static void cursor_date(struct cursor *c, int64_t date)
{
    c->date = date;
    c->phase = 0;
    c->k = 0;
    c->closed = holiday(c->cal, date);
    c->any = false;
}

/* Start at the date before t's local date: its overnight window may still
 * be open at t. */
static void cursor_init(struct cursor *c, const struct cfg_calendar *cal, int64_t t)
{
    c->cal = cal;
    c->empty_days = 0;
    cursor_date(c, tz_floor_div(tz_to_local(cal->tz, t), TZ_DAY_MS) - 1);
}

/* The next open interval [*from, *to) in UTC; false past the horizon. */
static bool cursor_next(struct cursor *c, int64_t *from, int64_t *to)
{
    const struct cfg_calendar *cal = c->cal;
    for (;;) {
        if (c->closed || c->phase == 2) {
            c->empty_days = c->any ? 0 : c->empty_days + 1;
            if (c->empty_days > SLA_HOURS_HORIZON_DAYS)
                return false;
            cursor_date(c, c->date + 1);
            continue;
        }
        if (c->k == cal->nhours) {
            c->phase++;
            c->k = 0;
            continue;
        }
        const struct cfg_hours *h = &cal->hours[c->k++];
        int wd = tz_weekday(c->date);
        int64_t s, e;
        if (c->phase == 0) {
            if (h->day != (wd + 6) % 7 || h->end_ms <= TZ_DAY_MS)
                continue;
            s = 0;
            e = h->end_ms - TZ_DAY_MS;
        } else {
            if (h->day != wd)
                continue;
            s = h->start_ms;
            e = h->end_ms < TZ_DAY_MS ? h->end_ms : TZ_DAY_MS;
        }
        int64_t base = c->date * TZ_DAY_MS;
        *from = tz_to_utc(cal->tz, base + s);
        *to = tz_to_utc(cal->tz, base + e);
        if (*to <= *from)
            continue;           /* a window inside a skipped hour */
        c->any = true;
        return true;
    }
}

int64_t sla_hours_between(const struct cfg_calendar *cal, int64_t from, int64_t to)
{
    if (to <= from)
        return 0;
    if (cal == NULL)
        return to - from;
    struct cursor c;
    int64_t a, b, sum = 0;
    cursor_init(&c, cal, from);
    while (cursor_next(&c, &a, &b) && a < to) {
        int64_t lo = a > from ? a : from;
        int64_t hi = b < to ? b : to;
        if (hi > lo)
            sum += hi - lo;
    }
    return sum;
}

int64_t sla_hours_add(const struct cfg_calendar *cal, int64_t from, int64_t amount)
{
    if (amount <= 0)
        return from;
    if (cal == NULL)
        return from > SLA_HOURS_NEVER - amount ? SLA_HOURS_NEVER : from + amount;
    struct cursor c;
    int64_t a, b;
    cursor_init(&c, cal, from);
    while (cursor_next(&c, &a, &b)) {
        if (b <= from)
            continue;
        int64_t lo = a > from ? a : from;
        if (amount <= b - lo)
            return lo + amount;
        amount -= b - lo;
    }
    return SLA_HOURS_NEVER;
}

int64_t sla_hours_next_open(const struct cfg_calendar *cal, int64_t t)
{
    if (cal == NULL)
        return t;
    struct cursor c;
    int64_t a, b;
    cursor_init(&c, cal, t);
    while (cursor_next(&c, &a, &b))
        if (b > t)
            return a > t ? a : t;
    return SLA_HOURS_NEVER;
}

bool sla_hours_open_at(const struct cfg_calendar *cal, int64_t t)
{
    return sla_hours_next_open(cal, t) == t;
}
