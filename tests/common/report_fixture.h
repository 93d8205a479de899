/*
 * report_fixture.h — a check report built by hand, as the runner would
 * fill it, for the report and baseline tests: a passed case with traffic,
 * a failed one with near misses, a fault span, an SLA deadline and
 * highlighted events, a skipped one, and names full of <&>"' , unicode
 * and control characters.
 */
#ifndef TGCRM_TESTS_REPORT_FIXTURE_H
#define TGCRM_TESTS_REPORT_FIXTURE_H

#include <stdint.h>

#include "check/result.h"

/* A new report (check_report_free it). ticket_base shifts every id the
 * "system" made (ticket, topic, message, webhook ids) and clock_origin the
 * wall time of scenario time 0, so two runs that behaved the same differ
 * only in those, as two real runs would. */
struct check_report *report_fixture_new(int64_t ticket_base, int64_t clock_origin);

#endif
