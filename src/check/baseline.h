/*
 * baseline.h — the behaviour baseline of `tgcrm check`: what a run did,
 * normalised so two runs can be compared (the article's weekly regression
 * review: "any change in behaviour — even if it passes — should be
 * reviewed").
 *
 * --record-baseline FILE writes, per case, its status, its steps' outcomes
 * and its observations (result.h: final ticket states, webhooks received,
 * Bot API messages sent) as plain JSON: sorted keys, two-space indent, cases
 * sorted by suite, scenario and repeat, no wall-clock time anywhere, so
 * the same run gives the same bytes and a change reads well in `git diff`.
 *
 * Normalisation (per case, numbering in the order the run observed):
 *   - ids: a member named "id" or "*_id" (each element of "*_ids") whose
 *     value is an integer or a machine-made string (digits, prefix_token
 *     like "evt_12", a UUID, a long random token) becomes "<category#n>":
 *     the category is the name before "_id", or for "id" the enclosing
 *     member's name made singular (the observation's kind at the top), and
 *     n counts distinct values of that category in order of appearance. So
 *     the same ticket twice is "<ticket#1>" twice and a second ticket is
 *     "<ticket#2>". Config names ("alice", "vip") are kept: they are stable,
 *     and an assignment change must show. Observation keys get the same
 *     treatment (a ticket's key is its id; a telegram key's chat number).
 *   - timestamps: a string that is an RFC 3339 time becomes its offset on
 *     the scenario clock, "T+00:10:00.000", when the case knows the wall
 *     time of scenario time 0 (the sandbox), so SLA timings stay visible;
 *     otherwise (live) "<time#n>", numbered like ids.
 *   - everything else is kept as it was (durations in ms included).
 */
#ifndef TGCRM_CHECK_BASELINE_H
#define TGCRM_CHECK_BASELINE_H

#include <jansson.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "check/result.h"

/* The baseline format's version, written as "baseline": 1. */
#define BASELINE_VERSION 1

/* The normalised document for r (a new reference). */
json_t *baseline_doc(const struct check_report *r);

/* The normalised form of one case (a new reference): what baseline_doc
 * lists under "cases". */
json_t *baseline_case(const struct check_case *c);

/* baseline_doc as the file's text (with a final newline), appended to out.
 * 0, or ERR_TOOBIG from out. */
int baseline_render(const struct check_report *r, struct buf *out, struct err *e);

/*
 * Compare the run r with a recorded baseline (text old[0..n), read from
 * `name`, used in messages) and print every change in behaviour to f: a
 * case run added or gone, a status that changed, a step whose outcome
 * changed, and observations added (+), removed (-) or changed (~, with the
 * JSON paths that differ), and a changed order of observations. *changes
 * gets how many changes there were (0 = same behaviour). ERR_INVAL when
 * old is not a baseline file ("'name' is not a tgcrm check baseline: ...").
 */
int baseline_compare(const char *old, size_t n, const char *name, const struct check_report *r,
                     FILE *f, size_t *changes, struct err *e);

#endif
