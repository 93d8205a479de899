/*
 * tz.h — IANA time zones as in-memory transition tables.
 *
 * A zone is loaded once (at config load) from the system's tz database
 * (TZif files, version 2 or later, under $TZDIR or /usr/share/zoneinfo —
 * Debian's tzdata package) into a sorted table of UTC instants at which the
 * zone's offset changes. The POSIX TZ rule in the file's footer, which
 * describes the future, is expanded into the same table up to the year
 * TZ_RULE_LAST_YEAR, so every lookup is one binary search and needs no I/O:
 * the pure domain code (src/desk/) asks "what is the offset at this UTC
 * instant" and "which UTC instant is this local wall time" and gets exact
 * answers across DST changes.
 *
 * Times are milliseconds since the Unix epoch; offsets are milliseconds east
 * of UTC (Berlin in winter: +3 600 000). "Local time" is the wall clock read
 * as if it were UTC: local_ms = utc_ms + offset.
 *
 * A struct tz is immutable after loading, so one can be shared by threads.
 */
#ifndef TGCRM_BASE_TZ_H
#define TGCRM_BASE_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct tz;

#define TZ_NAME_MAX 255          /* longest accepted zone name, bytes */
#define TZ_RULE_LAST_YEAR 2400   /* footer rules are expanded up to this year */

/*
 * Load zone `name` ("Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires")
 * from $TZDIR, or /usr/share/zoneinfo when TZDIR is unset. Caller owns *out
 * (tz_free). ERR_NOTFOUND "unknown time zone 'Europe/Berln'" for a name that
 * is not a zone; ERR_INVAL for a file that is not a usable TZif file
 * (version 1 only, leap-second "right/" zones, corrupt); ERR_IO otherwise.
 */
int tz_load(const char *name, struct tz **out, struct err *e);

/*
 * Build a zone from the bytes of a TZif file (version 2 or later); `name` is
 * copied for tz_name and messages. Same ownership and errors as tz_load.
 */
int tz_parse(const char *name, const void *data, size_t len, struct tz **out,
             struct err *e);

/*
 * Build a zone from a POSIX TZ string alone, e.g. "CET-1CEST,M3.5.0,M10.5.0/3"
 * (with RFC 8536's extensions: transition hours from -167 to 167). The zone's
 * name is the string. ERR_INVAL naming what is wrong.
 */
int tz_from_posix(const char *spec, struct tz **out, struct err *e);

/* Free a zone; sets *zp to NULL. NULL is fine. */
void tz_free(struct tz **zp);

/* The name the zone was loaded as. Borrowed from z. */
const char *tz_name(const struct tz *z);

/* Offset from UTC in effect at utc_ms, in ms east of UTC. */
int64_t tz_offset_at(const struct tz *z, int64_t utc_ms);

/* The local wall time at utc_ms: utc_ms + tz_offset_at(z, utc_ms). */
int64_t tz_to_local(const struct tz *z, int64_t utc_ms);

/*
 * The UTC instant at which the zone's wall clock shows local_ms. A wall time
 * that occurs twice (the hour repeated when clocks go back) gives the earlier
 * instant; one that never occurs (skipped when clocks go forward) is moved
 * forward by the length of the gap (02:30 on a spring-forward night in
 * Berlin is 03:30 CEST), as java.time and Python's zoneinfo do.
 */
int64_t tz_to_utc(const struct tz *z, int64_t local_ms);

/* Proleptic Gregorian calendar arithmetic (no zone involved). */
#define TZ_DAY_MS 86400000LL

/* Days since 1970-01-01 of year y, month m (1-12), day d (1-31). */
int64_t tz_days_from_civil(int64_t y, int m, int d);

/* The date of `days` since 1970-01-01. */
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Day of the week of `days` since 1970-01-01: 0 = Sunday ... 6 = Saturday. */
int tz_weekday(int64_t days);

/* Days in month m (1-12) of year y. */
int tz_month_days(int64_t y, int m);

/* floor(a / b) for b > 0, also for negative a. */
int64_t tz_floor_div(int64_t a, int64_t b);

#endif
