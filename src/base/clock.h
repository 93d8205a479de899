/*
 * clock.h — time as a dependency.
 *
 * Everything that needs "now" (SLA deadlines, retry schedules, timestamps on
 * tickets) reads it from a struct clock that is passed in, never from the
 * wall clock directly. Two kinds exist: the real clock, and a manual clock
 * that moves only when told to. The manual one is created solely by
 * `serve --test-clock` (a command-line flag, never a config key) so that a
 * production config can never enable it by accident.
 *
 * Times are milliseconds since the Unix epoch, UTC, in int64_t.
 */
#ifndef TGCRM_BASE_CLOCK_H
#define TGCRM_BASE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct clock;

/* The real clock (CLOCK_REALTIME). Caller owns; clock_free. Never NULL. */
struct clock *clock_real_new(void);

/* A manual clock starting at start_ms. Caller owns; clock_free. */
struct clock *clock_manual_new(int64_t start_ms);

/* Free a clock; sets *cp to NULL. NULL is fine. */
void clock_free(struct clock **cp);

/* Current time in ms since the epoch. Thread-safe. */
int64_t clock_now_ms(struct clock *c);

/* True for a manual clock. */
bool clock_is_manual(const struct clock *c);

/*
 * Move a manual clock forward by delta_ms (>= 0) or to an absolute time
 * (never backwards). ERR_INVAL for the real clock, a negative delta or a
 * time in the past. Thread-safe.
 */
int clock_manual_advance(struct clock *c, int64_t delta_ms);
int clock_manual_set(struct clock *c, int64_t at_ms);

/* Monotonic nanoseconds, for measuring latencies only (never for state). */
int64_t clock_mono_ns(void);

/* Format ms as RFC 3339 UTC with milliseconds: 2026-11-24T00:58:33.123Z.
 * `out` must hold CLOCK_ISO_LEN bytes. Returns out. */
#define CLOCK_ISO_LEN 32
char *clock_fmt_iso(int64_t ms, char *out);

/* Parse RFC 3339 (Z or +hh:mm offset, optional fraction). 0 or ERR_INVAL. */
int clock_parse_iso(const char *s, int64_t *out_ms);

/*
 * Parse a duration such as "90s", "2m", "1h30m", "250ms", "1d", or a bare
 * integer of seconds. Negative values and trailing junk are ERR_INVAL.
 */
int clock_parse_duration(const char *s, int64_t *out_ms);

#endif
