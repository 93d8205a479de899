/*
 * step.h — carrying out a scenario's steps (`tgcrm check`).
 *
 * The runner (run.c) sets up a case — sandbox or live target, env, the
 * case's own report for its strings — and hands the scenario's steps to
 * step_run_scenario, which runs them in order: actions through the fake
 * Telegram, the CRM's REST API, the clock and fault injection;
 * expectations through expect.c (each waits for idleness first and, with
 * `eventually`, polls while moving the clock); blocks expanded (repeat,
 * for_each, unordered in the seed's order). Every leaf step run becomes a
 * check_step; what the system did becomes timeline events and, at the
 * end, observations. The first failed or errored step ends the case.
 */
#ifndef TGCRM_CHECK_STEP_H
#define TGCRM_CHECK_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check/env.h"
#include "check/expect.h"
#include "check/result.h"
#include "check/scenario.h"

struct sandbox;
struct progress;
struct cfg;

#define STEP_MAX_FAULTS 64
#define STEP_MAX_WATCHES 32

/* A fault the scenario injected, for idleness, clear_fault and the timeline. */
struct step_fault {
    bool telegram;               /* else the sink */
    bool active;
    int64_t tg_id;               /* the fake's fault id */
    char endpoint[72];           /* sink endpoint, "*" for every one */
    int64_t until_ms;            /* scenario clock when it ends by itself, INT64_MAX never */
    size_t event;                /* its span in cc->events */
};

/* An expect_no_webhook whose window is still open. */
struct step_watch {
    const struct step *st;
    size_t index;                /* its check_step */
    struct expect_window w;      /* what it watches, until when (owned) */
    bool done;
};

struct step_run {
    struct check_env *env;       /* the case's env (borrowed) */
    struct sandbox *sb;          /* NULL on the live target */
    const struct cfg *cfg;       /* the configuration under test (agents) */
    struct check_report *rep;    /* the case's own report: its arena has the case's strings */
    struct check_case *cc;       /* the case being filled */
    struct progress *progress;   /* may be NULL */
    uint64_t rng;                /* the case's stream (run_case_stream) */
    int64_t tick_ms;
    int64_t step_timeout_ms;
    /* state */
    struct step_fault faults[STEP_MAX_FAULTS];
    size_t nfaults;
    struct step_watch watches[STEP_MAX_WATCHES];
    size_t nwatches;
    int64_t tg_seq;              /* the fake's sent log read up to this seq */
    int64_t sink_seq;            /* the sink's journal read up to this seq */
    const char *prefix;          /* block iteration label for step names, or NULL */
    int64_t next_due_ms;         /* the CRM's next due time (epoch ms) at the last idle */
    int64_t held;                /* answers the sink held at the last idle */
    int cur;                     /* index of the check_step running, -1 none */
};

/*
 * Run sc's steps into r->cc (status, steps, events, clock_ms) and then
 * record the observations. Returns 0 whatever the steps found; a negative
 * ERR_* only when the runner itself could not go on (out of memory).
 */
int step_run_scenario(struct step_run *r, const struct scenario *sc);

/* Wait for idleness at the current scenario time (sandbox; nothing live). */
int step_idle(struct step_run *r, struct err *e);

/* step_idle for env->settle (run is the struct step_run). */
int step_settle(void *run, struct err *e);

#endif
