/*
 * expect.h — the expectations of `tgcrm check`: evaluate one expect_* step
 * of a scenario, once, against what the CRM, the fake Telegram and the
 * webhook sink show now (docs/check.md, "Expectations").
 *
 * The runner owns time: for a step with `within:` it calls expect_step
 * again after moving the clock by `every:` until it holds or the deadline
 * passes. Only expect_no_webhook with `during:` moves the clock itself,
 * across its window, because "nothing arrived during 10 minutes" is one
 * observation, not a poll.
 *
 * A failure is told three ways, all strings in env->ra: out->expected
 * (what the step wanted, in words), out->seen (what was there, with exact
 * values: `status: want "resolved", got "in_progress"`), out->near (the
 * near misses, closest first), plus check_event entries with failed=true
 * appended to env->cc so the HTML timeline highlights them. Evaluating a
 * step again (an `eventually` poll) first drops the failed events its
 * earlier evaluation appended, so the timeline shows the last one once;
 * the step is identified by out's place in env->cc->steps (or, when out is
 * not in that array yet, as the next step, env->cc->nsteps).
 *
 * The matcher vocabulary is in expect_match.h; expect_hook.c holds the
 * webhook expectations, expect_thread.c the thread, expect_tg.c Telegram.
 */
#ifndef TGCRM_CHECK_EXPECT_H
#define TGCRM_CHECK_EXPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "check/env.h"
#include "check/result.h"
#include "check/scenario.h"

/*
 * Evaluate expectation st (an expect_* kind) once. *held says whether it
 * holds. out->expected is always set; out->seen, out->near/nnear only when
 * it does not hold (out's other members are the runner's). *capture_src
 * (may be NULL) gets a new reference to what a `capture:` reads, or NULL:
 * expect_ticket the ticket, expect_thread the thread ({ticket_id,
 * entries}), expect_telegram the last matching message (a sent-log entry),
 * expect_webhook the first matching body; the others nothing.
 * Returns 0 whenever the expectation could be evaluated, held or not;
 * ERR_IO when the CRM cannot be reached, ERR_NOTFOUND for a {{variable}}
 * without a value, ERR_INVAL for an argument only known to be wrong now
 * (a bad matcher, a ticket id that is not a number), with e saying so.
 */
int expect_step(struct check_env *env, const struct step *st, bool *held,
                struct check_step *out, json_t **capture_src, struct err *e);

/*
 * expect_no_webhook's window (docs/scenarios.md): it opens when the step
 * runs and watches what arrives at the sink from then until `during` has
 * passed on the scenario clock (without `during`, to the scenario's end).
 * The step does not move the clock; the runner judges the window after
 * every later step and when the scenario ends. (expect_step on this kind
 * judges "none since the scenario started, so far".)
 */
struct expect_window {
    json_t *sel;                 /* {endpoint, type, where}, variables expanded (owned) */
    int64_t since_seq;           /* the sink's newest seq when it opened */
    int64_t from_ms;             /* CRM clock when it opened */
    int64_t until_ms;            /* CRM clock when it closes; INT64_MAX: the scenario's end */
};

/* Open st's window now: *w filled, out->expected set. ERR_INVAL as expect_step. */
int expect_window_open(struct check_env *env, const struct step *st, struct check_step *out,
                       struct expect_window *w, struct err *e);

/* Judge w on what has arrived so far: *held false when a matching event
 * arrived inside it (out->seen and the near misses name it). */
int expect_window_judge(struct check_env *env, const struct step *st, struct check_step *out,
                        const struct expect_window *w, bool *held, struct err *e);

/* Free what w owns (NULLs it). */
void expect_window_release(struct expect_window *w);

#endif
