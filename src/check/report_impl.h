/*
 * report_impl.h — pieces the report writers share (report.c defines them):
 * escaping for XML and HTML, and how a scenario-clock time is shown.
 */
#ifndef TGCRM_CHECK_REPORT_IMPL_H
#define TGCRM_CHECK_REPORT_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "check/result.h"

/*
 * Append s (NULL = nothing) escaped for XML/HTML text and attribute values:
 * & < > " ' as entities; control characters XML 1.0 cannot carry (even as
 * references) shown as "\xNN", and invalid UTF-8 bytes as U+FFFD, so any
 * input gives a well-formed document that still shows what was there.
 * Tab, line feed and carriage return are kept (as &#9; &#10; &#13; when
 * attr, so attribute values keep them). Returns 0 or ERR_TOOBIG.
 */
int report_escape_xml(struct buf *b, const char *s, bool attr);

/* A scenario-clock time as "T+00:01:05.250" (hours grow as needed; "T-" before
 * the start). out must hold REPORT_CLOCK_LEN bytes. Returns out. */
#define REPORT_CLOCK_LEN 32
char *report_clock(int64_t ms, char *out);

/* "1.250" seconds for wall-clock ms, into out (REPORT_CLOCK_LEN bytes). */
char *report_seconds(int64_t ms, char *out);

/* Append s (NULL = nothing) for a terminal: control characters other
 * than line feed and tab shown as "\xNN", so a name cannot move the
 * cursor or change colours. 0 or ERR_TOOBIG. */
int report_clean(struct buf *b, const char *s);

/* The case's display name (control characters shown as by report_clean):
 * "suite › scenario", with " (repeat N)" when the run repeated. Into out (n bytes, cut to fit). */
char *report_case_name(const struct check_report *r, const struct check_case *c,
                       char *out, size_t n);

/* The failure of c in words, appended to b: the failing step with its
 * file:line:column, expected, seen, the near misses, and the seed with
 * the command that replays it (only the seed line when c has no failing
 * step). 0 or ERR_TOOBIG. */
int report_failure_text(struct buf *b, const struct check_case *c);

/* The first failed or errored step of c, or NULL. */
const struct check_step *report_failing_step(const struct check_case *c);

#endif
