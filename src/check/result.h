/*
 * result.h — what a `tgcrm check` run found: the model the runner fills and
 * every report (console, JUnit XML, CTRF JSON, HTML, baseline) reads.
 *
 * One struct check_report per invocation; it holds one check_case per
 * scenario run (a scenario run N times by --repeat is N cases, each with its
 * own derived seed), and each case holds its steps' outcomes and the
 * timeline of traffic the scenario caused (Telegram <-> CRM <-> help desk)
 * on the scenario clock, with SLA deadlines and faults drawn on it.
 *
 * Ownership: everything hangs off the report's arena; check_report_free
 * releases it in one step. Strings are copied in (never borrowed from a
 * suite document, which the runner may free before the reports are written).
 */
#ifndef TGCRM_CHECK_RESULT_H
#define TGCRM_CHECK_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

enum check_status {
    CHECK_PASSED = 0,
    CHECK_FAILED,        /* an expectation did not hold */
    CHECK_ERRORED,       /* the run could not carry a step out (sandbox died, bad capture) */
    CHECK_SKIPPED,       /* not runnable on this target (live), with a reason */
};

/* "passed", "failed", "errored", "skipped". */
const char *check_status_name(enum check_status s);

/* Why an expectation failed, as the runner saw it: strings owned by the report. */
struct check_near {
    const char *what;        /* "webhook #12 (ticket.updated to hd)", "ticket 7" ... */
    const char *diff;        /* "$.ticket.priority: want \"high\", got \"normal\"" (one per line) */
};

struct check_step {
    const char *kind;        /* the step's key: "send", "expect_webhook" ... */
    const char *name;        /* the step's label, or a summary made from its arguments */
    const char *file;        /* suite file */
    int line, column;        /* where the step is written */
    enum check_status status;
    int64_t clock_start_ms;  /* scenario clock (ms since the scenario's start) */
    int64_t clock_end_ms;
    int64_t real_ms;         /* wall time the step took (reports only, never asserted) */
    int polls;               /* eventually: how many times the expectation was evaluated */
    /* failed / errored steps: */
    const char *expected;    /* what the step expected, in words */
    const char *seen;        /* what was there instead */
    struct check_near *near; /* near misses, closest first */
    size_t nnear;
    const char *reason;      /* skipped: why */
    size_t cap_near;         /* added: growth bookkeeping of check_step_add_near */
};

/* Lanes of the timeline, left to right in the HTML report. */
enum check_lane {
    LANE_CUSTOMER = 0,       /* customers and agents on Telegram (the fake) */
    LANE_TELEGRAM,           /* Bot API calls the CRM made */
    LANE_CRM,                /* REST calls, CRM state changes seen */
    LANE_HELPDESK,           /* webhooks received by the sink, inbound calls */
    LANE_FAULT,              /* faults active (span) */
    LANE_SLA,                /* SLA due times (instant) */
};

struct check_event {
    int64_t at_ms;           /* scenario clock */
    int64_t until_ms;        /* spans (faults); == at_ms for instants */
    enum check_lane from, to;/* an arrow from -> to; from == to for marks */
    const char *label;       /* "sendMessage chat 5001", "ticket.created #3", "SLA first response due" */
    const char *detail;      /* optional: body excerpt, NULL */
    int step;                /* index into check_case.steps that caused it, -1 = none */
    bool failed;             /* part of the failing expectation: highlighted */
};

/*
 * What the system did in a case, raw, in order — the baseline's material:
 * the final state of every ticket the case touched (kind "ticket", key the
 * ticket id as text), every webhook the sink received (kind "webhook", key
 * "<endpoint> <type>"), every Bot API message sent (kind "telegram", key
 * "<method> <chat>"). value is JSON text, un-normalised: the baseline
 * module replaces ids and timestamps with stable placeholders.
 */
struct check_observation {
    const char *kind;
    const char *key;
    const char *value;       /* JSON text */
    int64_t at_ms;           /* scenario clock */
};

struct check_case {
    const char *suite;       /* suite name */
    const char *file;        /* suite file */
    const char *scenario;    /* scenario name */
    const char *expect;      /* the expectation written before execution */
    int line;                /* where the scenario is written */
    uint64_t seed;           /* the seed this run used: --seed S replays it */
    int repeat;              /* 1-based repetition (--repeat) */
    const char **tags;
    size_t ntags;
    const char **checklist;  /* production-checklist item ids this case proves */
    size_t nchecklist;
    enum check_status status;
    int64_t real_ms;         /* wall time */
    int64_t clock_ms;        /* scenario time covered */
    struct check_step *steps;
    size_t nsteps;
    struct check_event *events;
    size_t nevents;
    struct check_observation *obs;
    size_t nobs;
    const char *log;         /* the sandbox's log excerpt when the case failed, or NULL */
    /* added for the reports: */
    int64_t clock_origin_ms; /* wall-clock time (ms since the epoch) of scenario time 0:
                              * the sandbox's test-clock start; 0 = unknown (live) */
    size_t cap_steps, cap_events, cap_obs; /* growth bookkeeping of check_case_add_* */
};

/* One production-checklist item (the article's ten): id and text from the suites. */
struct check_item {
    const char *id;
    const char *text;
    enum check_status status;/* passed when every case mapped to it passed and there was one */
    size_t ncases, nfailed;
};

struct check_report {
    struct arena *a;         /* owns everything below */
    uint64_t seed;           /* the run's seed (printed at start and on every failure) */
    int repeat;
    const char *target;      /* "sandbox" or the live URL */
    int64_t started_at;      /* wall clock, ms since the epoch */
    int64_t real_ms;
    struct check_case *cases;
    size_t ncases;
    struct check_item *items;
    size_t nitems;
    size_t passed, failed, errored, skipped;
    size_t cap_cases, cap_items; /* added: growth bookkeeping of check_report_add_* */
};

/* A new empty report (arena-backed). 0 or ERR_NOMEM. */
int check_report_new(struct check_report **out);

/* Free a report and everything in it; sets *rp to NULL. NULL is fine. */
void check_report_free(struct check_report **rp);

/*
 * Filling a report (result.c). Every add appends a zeroed element to its
 * array in the report's arena and returns it; the arrays grow by doubling,
 * so a pointer returned by an add stays valid only until the next add to
 * the same array (the old elements are copied). The report's arena has no
 * cap, so these never return NULL. Strings passed in are copied; NULL stays
 * NULL. An array built by hand (cap_* == 0) is copied on the first add.
 *
 * Cases are reported in the order they are added: add them in the order
 * the run scheduled them (not the order parallel runs finished in), so two
 * runs with the same seed write the same files. The arena is not
 * thread-safe: parallel runs (-j) must hold one lock around these calls.
 */
struct check_case *check_report_add_case(struct check_report *r);

/* A step of c; status CHECK_PASSED until set. */
struct check_step *check_case_add_step(struct check_report *r, struct check_case *c);

/* A near miss of s, closest first: add them in that order. */
struct check_near *check_step_add_near(struct check_report *r, struct check_step *s,
                                       const char *what, const char *diff);

/* Room for `more` events in c's timeline without moving the array: an
 * expectation's failing polls write their events there and are rolled back
 * (check_case.nevents) for free. 0, or ERR_NOMEM. */
int check_case_reserve_events(struct check_report *r, struct check_case *c, size_t more);

/* An event of c's timeline: an instant at at_ms (until_ms = at_ms), step -1;
 * the caller sets lanes, label and the rest. */
struct check_event *check_case_add_event(struct check_report *r, struct check_case *c,
                                         int64_t at_ms, const char *label);

/* An observation of c (kind, key and JSON value text copied). */
struct check_observation *check_case_add_obs(struct check_report *r, struct check_case *c,
                                             const char *kind, const char *key,
                                             const char *value, int64_t at_ms);

/* The checklist item with this id, added (with text) if new; an existing
 * item keeps its text unless it had none. */
struct check_item *check_report_add_item(struct check_report *r, const char *id,
                                         const char *text);

/* s copied into the report's arena (NULL stays NULL). */
const char *check_report_str(struct check_report *r, const char *s);

/* printf into the report's arena. */
const char *check_report_printf(struct check_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Recount from the cases: passed/failed/errored/skipped, and each item's
 * ncases, nfailed and status: failed when one of its cases failed or
 * errored, passed when it has cases and all passed, else skipped (not
 * proved: no case, or some were skipped). A case's checklist id that names
 * no item adds one (with no text). Call once the cases are complete;
 * calling again is fine.
 */
void check_report_tally(struct check_report *r);

#endif
