/*
 * progress.h — what `tgcrm check` shows while it runs.
 *
 * On a terminal: one live line, redrawn in place, with the suite, scenario
 * and step being run and the passed / failed counts so far; a finished
 * case that did not pass leaves a permanent line above it. Elsewhere (CI
 * logs, pipes): plain lines, one when a case starts and one when it ends,
 * so a log shows where a hung run stopped without redraw noise.
 *
 * Thread-safety: scenarios run in parallel (-j) report from their own
 * threads; every function takes the printer's mutex.
 */
#ifndef TGCRM_CHECK_PROGRESS_H
#define TGCRM_CHECK_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "check/result.h"

struct progress;

/* A printer writing to f (borrowed). tty: redraw a live line (pass
 * isatty(fileno(f))); total: scenario runs planned, 0 = unknown. Never NULL. */
struct progress *progress_new(FILE *f, bool tty, size_t total);

/* Clear the live line and free; sets *pp to NULL. NULL is fine. */
void progress_free(struct progress **pp);

/* Case c starts: c->suite, c->scenario and c->repeat are read now. */
void progress_case_start(struct progress *p, const struct check_case *c);

/* Case c starts step number `index` (0-based) of `kind` with `name` (may be
 * NULL). Only the live line shows steps. */
void progress_step(struct progress *p, const struct check_case *c, size_t index,
                   const char *kind, const char *name);

/* Case c is over: c->status and c->seed are read now. */
void progress_case_end(struct progress *p, const struct check_case *c);

#endif
