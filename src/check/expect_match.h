/*
 * expect_match.h — the matcher vocabulary of `tgcrm check` expectations
 * (docs/check.md, "Expectations"): how one wanted value is compared with
 * what the CRM, the sink or the fake Telegram returned, and how a failure
 * is worded. Pure: no I/O; the times it needs are passed in.
 *
 * A wanted value is either a literal (compared exactly, numbers by value)
 * or a matcher: a mapping whose keys are all matcher words —
 *
 *     {equals: v}               exactly v (to compare with a mapping literally)
 *     {one_of: [a, b]}          any of them
 *     {not: v}                  anything but v (a literal or a matcher)
 *     {matches: regex}          a string with a match of the PCRE2 regex
 *                               (case-sensitive, unanchored; (?i) for caseless)
 *     {contains: x}             a string containing x, or a list with an element x
 *                               (a plain mapping x: an element having its members)
 *     {present: true}           the path exists; {present: false}: it does not
 *     {min: n} {max: n}         numbers or durations, inclusive (= at_least, at_most)
 *     {length: n}               items of a list or object, characters of a string
 *     {absent: true}            missing or null; {absent: false}: present, not null
 *     {at_least: n} {at_most: n}  numbers (both = a range)
 *     {near: v, tolerance: d}   a time or a number within d (default 1s)
 *     {at: t, tolerance: d}     the same, for times only
 *
 * Several words in one mapping must all hold. Times are RFC 3339 strings;
 * a wanted time is a time spec: `t0` (the scenario's start on the CRM
 * clock), `now` (the CRM clock now), an RFC 3339 time or ms since the
 * epoch, optionally followed by +duration or -duration ("t0+2m",
 * "2026-12-03T10:00:00Z-30s"). Durations are "90s", "2m", "1h30m", "250ms".
 */
#ifndef TGCRM_CHECK_EXPECT_MATCH_H
#define TGCRM_CHECK_EXPECT_MATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* The times a time spec can refer to (ms since the epoch, CRM clock). */
struct expect_times {
    int64_t t0_ms;               /* the scenario's start */
    int64_t now_ms;              /* now */
};

/* The default tolerance of near/at and expect_duration. */
#define EXPECT_TOLERANCE_MS 1000

/* Parse a time spec (see above) into *ms. ERR_INVAL naming it. */
int expect_time_parse(const char *spec, const struct expect_times *t, int64_t *ms,
                      struct err *e);

/* Write ms as a duration the way suites write them: "2m5s", "1.5s", "250ms",
 * "-3s". Returns out (at least 32 bytes). */
char *expect_fmt_dur(int64_t ms, char *out, size_t n);

/* True when v is a matcher mapping (every key a matcher word). */
bool expect_is_matcher(const json_t *v);

/*
 * Compare got (borrowed; NULL = missing) with want. 1 when it holds, 0
 * when not — then "want ..., got ..." is appended to why —, ERR_INVAL for
 * a malformed matcher (unknown word mixed in, a bad regex or time spec,
 * tolerance without near/at).
 */
int expect_match(const json_t *want, const json_t *got, const struct expect_times *t,
                 struct buf *why, struct err *e);

/*
 * A field name of an expectation as a JSON path: "$..." is taken as
 * written; a dotted name "sla.first_response.breached" becomes
 * "$.sla.first_response.breached", a numeric part an index ("tags.0" ->
 * "$.tags[0]"). ERR_INVAL when it does not fit n bytes or is empty.
 */
int expect_field_path(const char *field, char *out, size_t n, struct err *e);

/*
 * Match every `field: want` of fields (an object) against doc. For each
 * field that does not hold, one line "field: want ..., got ..." is appended
 * to diff (lines separated by '\n'). *failed gets how many failed (may be
 * NULL). 0, or ERR_INVAL for a bad field path or matcher.
 */
int expect_fields(const json_t *fields, json_t *doc, const struct expect_times *t,
                  struct buf *diff, size_t *failed, struct err *e);

#endif
