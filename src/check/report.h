/*
 * report.h — everything that turns a filled struct check_report into
 * output: the console summary with the production checklist, JUnit XML,
 * CTRF JSON, the self-contained HTML report, and the behaviour baseline
 * (recorded and compared). The runner fills the report (result.h); the CLI
 * calls report_write_all once the run is over and report_exit_code to pick
 * its exit status. Live progress while running is progress.h.
 *
 * Files are written whole to "<path>.tmp" and renamed into place, so a
 * reader (or a CI artifact upload) never sees half a report.
 */
#ifndef TGCRM_CHECK_REPORT_H
#define TGCRM_CHECK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "check/result.h"

/* Every path is borrowed and may be NULL (that output is not written). */
struct report_opts {
    const char *dir;             /* --report-dir: junit.xml, ctrf.json and report.html
                                  * go there unless a path below names them (created) */
    const char *junit;           /* --junit FILE */
    const char *ctrf;            /* --ctrf FILE */
    const char *html;            /* --html FILE */
    const char *baseline;        /* --baseline FILE: compare the run with it */
    const char *record_baseline; /* --record-baseline FILE: write the run's behaviour
                                  * (after the comparison, so both may name one file) */
    bool deterministic;          /* leave wall-clock times and the sandbox log out of
                                  * JUnit, CTRF and HTML: same seed, same bytes */
    FILE *out;                   /* "wrote ..." lines and the baseline comparison;
                                  * NULL = stderr */
};

/*
 * Write every output o names, printing one "report: <format> written to
 * <path>" line each to o->out, and compare with the baseline when asked,
 * printing every change. *changes (may be NULL) gets the number of
 * behaviour changes found (0 when no baseline was compared). Returns 0, or
 * ERR_IO (a file could not be written or read) / ERR_INVAL (the baseline
 * file is not a tgcrm baseline), with the path in e; the outputs before the
 * failing one are written.
 */
int report_write_all(const struct check_report *r, const struct report_opts *o,
                     size_t *changes, struct err *e);

/*
 * The exit status of `tgcrm check` for a finished run: 1 when a case failed
 * or errored, or when fail_on_change and the baseline comparison found
 * changes; else 0. (Usage and suite errors, exit 2, never get this far.)
 */
int report_exit_code(const struct check_report *r, size_t changes, bool fail_on_change);

/*
 * The console summary: counts, the run's seed, then every failed or errored
 * case with its step, file:line:column, expected, seen, near misses and the
 * command that replays it, then skipped cases with their reasons, then the
 * production checklist. color: ANSI colours (for a terminal).
 */
void report_print_summary(FILE *f, const struct check_report *r, bool color);

/* The production checklist alone: one line per item, pass / FAIL / not proved. */
void report_print_checklist(FILE *f, const struct check_report *r, bool color);

/*
 * The renderers behind report_write_all, appending one whole document to
 * out: 0 or ERR_TOOBIG (out's maximum). deterministic: as in report_opts.
 */
int report_junit_render(const struct check_report *r, bool deterministic, struct buf *out);
int report_ctrf_render(const struct check_report *r, bool deterministic, struct buf *out);
int report_html_render(const struct check_report *r, bool deterministic, struct buf *out);

#endif
