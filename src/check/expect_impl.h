/*
 * expect_impl.h — what the expect_*.c files share: one evaluation's context
 * and the helpers that read step arguments and word a failure into the
 * report's arena. Private to src/check/expect*.c.
 */
#ifndef TGCRM_CHECK_EXPECT_IMPL_H
#define TGCRM_CHECK_EXPECT_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "check/env.h"
#include "check/expect.h"
#include "check/expect_match.h"
#include "check/result.h"
#include "check/scenario.h"

/* One evaluation of one step (all borrowed). */
struct xc {
    struct check_env *env;
    const struct step *st;
    struct check_step *out;
    struct expect_times t;       /* t0 and now on the CRM clock */
};

/* Bytes of a body or text quoted in a report line. */
#define EXPECT_SHOW 200

/* Argument `key` of the step as JSON, variables expanded (a new reference),
 * or NULL when the step does not give it. */
int expect_arg_json(struct xc *x, const char *key, json_t **out, struct err *e);
/* A scalar argument's text, variables expanded (in env->scratch), or NULL. */
int expect_arg_text(struct xc *x, const char *key, const char **out, struct err *e);
/* Whole-number, duration and boolean arguments (validated by the loader):
 * dflt when absent; booleans -1 when absent. */
int64_t expect_arg_int(struct xc *x, const char *key, int64_t dflt);
int64_t expect_arg_dur(struct xc *x, const char *key, int64_t dflt);
int expect_arg_bool(struct xc *x, const char *key);

/* printf into the report's arena ("" when the arena is full). */
const char *expect_say(struct xc *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A near miss, appended after those already noted (strings copied). */
void expect_near(struct xc *x, const char *what, const char *diff);
/* A highlighted event on the timeline: at_ms on the CRM clock (ms since the
 * epoch), label and detail copied (detail may be NULL). */
void expect_event(struct xc *x, int64_t at_ms, enum check_lane from, enum check_lane to,
                  const char *label, const char *detail);
/* The scenario clock (ms since the scenario's start) of a CRM time. */
int64_t expect_clock(const struct xc *x, int64_t at_ms);
/* The same as reports write it: "+2m0.5s" (in env->ra). */
const char *expect_at(struct xc *x, int64_t at_ms);

/*
 * The ticket the step names (its `ticket` or `customer`): 0 with *out a
 * new reference, or 0 with *out NULL and *why saying why there is none yet
 * (in env->ra: "customer 'ann' has no ticket"), which is a failed
 * expectation rather than an error. *who (may be NULL) gets how to call it
 * in a report: "ticket 7", "ann's latest ticket".
 */
int expect_ticket_of(struct xc *x, json_t **out, const char **why, const char **who,
                     struct err *e);

/* GET path from the CRM and demand 200 with a JSON object. */
int expect_get(struct xc *x, const char *path, json_t **out, struct err *e);

/* A JSON value as compact text cut to EXPECT_SHOW bytes, in env->ra. */
const char *expect_show(struct xc *x, const json_t *v);

/* The kinds, one file each. */
int expect_thread_step(struct xc *x, bool *held, json_t **cap, struct err *e);
int expect_tg_step(struct xc *x, bool *held, json_t **cap, struct err *e);
int expect_hook_step(struct xc *x, bool *held, json_t **cap, struct err *e);
int expect_hook_none_step(struct xc *x, bool *held, struct err *e);
int expect_hook_window_open(struct xc *x, struct expect_window *w, struct err *e);
int expect_hook_window_judge(struct xc *x, const struct expect_window *w, bool *held,
                             struct err *e);

#endif
