/*
 * run.h — the runner of `tgcrm check`: suites in, a filled check_report out.
 *
 * run_check loads every suite (and the configuration each one tests)
 * before anything runs, so a bad file stops the run with its
 * file:line:column; then it plans the cases — every selected scenario of
 * every suite, --repeat times, each with a seed derived from the run's
 * seed — in file order or shuffled by the seed, and runs them on -j
 * worker threads, each case in its own sandbox (sandbox.h) or against the
 * live target. Steps are carried out by step.c.
 *
 * Seeds. One PRNG (splitmix64) for everything random. Repetition r of a
 * run with seed S runs its cases with seed run_case_seed(S, r), and
 * run_case_seed(S, 1) == S: so `--seed <a case's seed>` replays that case
 * (the report prints it). Inside a case the stream is mixed with the
 * suite's and the scenario's names, so two scenarios never share a
 * sequence; the order of a shuffled run comes from the run's seed and the
 * repetition. Nothing else (threads, timing, -j) changes what a seed does.
 */
#ifndef TGCRM_CHECK_RUN_H
#define TGCRM_CHECK_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "check/result.h"

struct run_opts {
    const char *const *paths;    /* suite files or folders (borrowed) */
    size_t npaths;
    uint64_t seed;
    int repeat;                  /* >= 1 */
    bool shuffle;
    int jobs;                    /* worker threads, >= 1 */
    const char *const *tags;     /* run only scenarios with one of these (NULL-terminated) */
    const char *const *skip_tags;/* ... and none of these */
    const char *filter;          /* run only scenarios whose name contains this */
    const char *checklist;       /* checklist file, NULL = checklist.yaml beside the suites */
    const char *tgcrm;           /* the binary serve is run from */
    int64_t clock_start_ms;      /* the scenario epoch */
    int64_t tick_ms;             /* longest single clock move (advance, eventually) */
    int64_t step_timeout_ms;     /* real time a step may take */
    /* live target: all NULL for the sandbox */
    const char *target;          /* the CRM's base URL */
    const char *token;           /* its API token */
    const char *fake_listen;     /* where the fake Telegram listens for it */
    const char *sink_listen;     /* where the sink listens for it */
    FILE *progress;              /* progress output (NULL = none) */
    bool progress_tty;
};

/* What a run leaves: the report, and the per-case reports whose arenas
 * hold each case's steps, events and strings (cases run on their own
 * threads, each filling its own arena; report->cases point into them). */
struct run_result {
    struct check_report *report;     /* owned */
    struct check_report **cases;     /* owned: one per case, report->cases order */
    size_t ncases;
};

/*
 * Run. *out is filled (release it with run_result_release) whenever the
 * run took place, whatever the checks found: 0. ERR_CONFIG with
 * "file:line:column: message" for a suite, configuration or checklist
 * that does not load, ERR_INVAL for bad options, ERR_IO when a path
 * cannot be read — then nothing ran and *out is empty.
 */
int run_check(const struct run_opts *o, struct run_result *out, struct err *e);

/* Free everything of a run result (zeroes it). */
void run_result_release(struct run_result *r);

/* ---- seeds, exposed for step.c and the tests ---------------------------------- */

/* The next number of a splitmix64 stream. */
uint64_t run_rand(uint64_t *state);

/* A number in [0, n) from the stream (n > 0), without modulo bias. */
uint64_t run_rand_below(uint64_t *state, uint64_t n);

/* The seed of repetition `repeat` (1-based) of a run seeded `seed`; repetition 1 keeps it. */
uint64_t run_case_seed(uint64_t seed, int repeat);

/* A case's PRNG state: its seed mixed with the suite's and the scenario's names. */
uint64_t run_case_stream(uint64_t case_seed, const char *suite, const char *scenario);

/* Shuffle idx[0..n) in place (Fisher-Yates) with the stream. */
void run_shuffle(uint64_t *state, size_t *idx, size_t n);

#endif
