/*
 * sla_hours.h — business time: how much of a span a calendar counts, and
 * which instant lies a given amount of counted time after another.
 *
 * A calendar (struct cfg_calendar, read with the config) has weekly opening
 * windows in an IANA time zone and closed holidays. Windows are wall-clock
 * times, so a window that spans a DST change is as long as the clock really
 * runs (09:00-17:00 on a Sunday when clocks go forward at 02:00 is still 8
 * hours; 00:00-06:00 that night is 5). A holiday closes its whole local
 * date; the part of an overnight window that falls on the next date belongs
 * to that date. A NULL calendar is open around the clock: business time is
 * plain elapsed time. Everything is in milliseconds, exact; pure (the zone's
 * table was loaded with the config).
 */
#ifndef TGCRM_DESK_SLA_HOURS_H
#define TGCRM_DESK_SLA_HOURS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/cfg.h"

/* Returned by sla_hours_add and sla_hours_next_open for a calendar that
 * stays closed for SLA_HOURS_HORIZON_DAYS days in a row (holidays only). */
#define SLA_HOURS_NEVER INT64_MAX
#define SLA_HOURS_HORIZON_DAYS 1000

/* Counted time in [from, to); 0 when to <= from. */
int64_t sla_hours_between(const struct cfg_calendar *cal, int64_t from, int64_t to);

/*
 * The earliest instant t >= from with sla_hours_between(cal, from, t) ==
 * amount: a deadline. Time that runs out exactly at closing time is due at
 * closing time, not at the next opening. amount <= 0 gives from.
 */
int64_t sla_hours_add(const struct cfg_calendar *cal, int64_t from, int64_t amount);

/* The earliest instant >= t at which the calendar is open (t itself if open). */
int64_t sla_hours_next_open(const struct cfg_calendar *cal, int64_t t);

/* Whether the calendar is open at instant t. */
bool sla_hours_open_at(const struct cfg_calendar *cal, int64_t t);

#endif
