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
};

/* A new empty report (arena-backed). 0 or ERR_NOMEM. */
int check_report_new(struct check_report **out);

/* Free a report and everything in it; sets *rp to NULL. NULL is fine. */
void check_report_free(struct check_report **rp);

#endif
