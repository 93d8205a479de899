/*
 * scenario.h — suite files of `tgcrm check`: the scenario language, parsed
 * and checked before anything runs.
 *
 * A suite is a YAML file (docs/scenarios.md) holding the CRM configuration
 * under test (inline or by path), named customers, variables and scenarios;
 * a scenario is an expectation written before execution plus named steps.
 * scenario_load reads the file through base/yml and refuses anything the
 * runner could not carry out — unknown step or key, wrong value type, bad
 * duration, a customer or agent nobody declared, a {{variable}} that no
 * earlier step captures — with file:line:column, so a suite fails before
 * it starts rather than halfway through.
 *
 * The model keeps each step's validated YAML node: the runner reads the
 * arguments through the typed yml_* readers, which cannot fail on a loaded
 * suite except for values only known at run time (captured variables).
 *
 * Ownership: struct scenario_suite owns its yml document, every step and
 * string; scenario_suite_free releases all of it.
 */
#ifndef TGCRM_CHECK_SCENARIO_H
#define TGCRM_CHECK_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/yml.h"

/* What a step does. Order is the documentation's order. */
enum step_kind {
    /* actions */
    STEP_SEND = 0,          /* a customer writes to the bot */
    STEP_PRESS,             /* a customer presses an inline button */
    STEP_EDIT,              /* a customer edits an earlier message */
    STEP_REPLY,             /* an agent writes in the ticket's topic */
    STEP_COMMAND,           /* an agent runs a topic command (/resolve ...) */
    STEP_API,               /* a REST call to the CRM */
    STEP_ADVANCE,           /* move the scenario clock */
    STEP_WAIT,              /* let the system settle, or wait real time (live) */
    STEP_AVAILABILITY,      /* set an agent's availability */
    STEP_FAULT,             /* inject a fault */
    STEP_CLEAR_FAULT,       /* clear one */
    /* blocks */
    STEP_REPEAT,            /* the same steps N times */
    STEP_FOR_EACH,          /* the same steps once per row of a table */
    STEP_UNORDERED,         /* these steps in an order the seed picks */
    /* expectations */
    STEP_EXPECT_TICKET,
    STEP_EXPECT_THREAD,
    STEP_EXPECT_TELEGRAM,
    STEP_EXPECT_WEBHOOK,
    STEP_EXPECT_NO_WEBHOOK,
    STEP_EXPECT_DISTRIBUTION,
    STEP_EXPECT_DURATION,
    STEP_KIND_COUNT
};

/* The step's key in a suite file ("send", "expect_ticket", ...). */
const char *scenario_step_name(enum step_kind k);

/* True for the expect_* kinds. */
bool scenario_step_is_expectation(enum step_kind k);

struct step {
    enum step_kind kind;
    struct yml_pos pos;             /* where the step's key is written */
    const char *name;               /* optional label (borrowed from the document) */
    const struct yml_node *args;    /* the validated value of the step's key */
    const struct yml_node *capture; /* mapping var -> JSON path, or NULL */
    int64_t within_ms;              /* eventually: deadline on the scenario clock, 0 = now */
    int64_t every_ms;               /* eventually: poll interval, 0 = 1s */
    struct step *steps;             /* blocks: the inner steps (owned by the suite) */
    size_t nsteps;
    int64_t times;                  /* repeat: how many times */
};

struct scenario {
    const char *name;
    const char *expect;             /* the expectation, written before execution */
    const char **tags;
    size_t ntags;
    const char **checklist;         /* production-checklist items this scenario proves */
    size_t nchecklist;
    struct yml_pos pos;
    struct step *steps;
    size_t nsteps;
};

struct scenario_customer {
    const char *name;               /* the suite's name for the actor ("ann") */
    int64_t tg_user_id;
    const char *first_name;
    const char *last_name;          /* may be NULL */
    const char *username;           /* may be NULL */
    const char *language;           /* may be NULL */
    struct yml_pos pos;
};

struct scenario_suite {
    const char *name;
    const char *description;        /* may be NULL */
    const char *path;               /* the suite file */
    /* the CRM configuration under test: a path (resolved against the suite's
     * folder) or an inline mapping, exactly one of them */
    char *config_path;              /* owned, or NULL */
    const struct yml_node *config_inline;
    const char **checklist;
    size_t nchecklist;
    struct scenario_customer *customers;
    size_t ncustomers;
    const struct yml_node *vars;    /* mapping name -> scalar, or NULL */
    struct scenario *scenarios;
    size_t nscenarios;
    struct yml_doc *doc;            /* owned */
    struct arena *a;                /* owned: steps, arrays */
};

/*
 * Load and check the suite file at path. `agents` (NULL-terminated, may be
 * NULL) are the agent ids the configuration declares, for checking agent
 * references; NULL skips that check (the runner passes them once it has
 * loaded the config). On failure returns ERR_CONFIG (ERR_IO when unreadable)
 * with "file:line:column: message" in e, and *out is NULL.
 */
int scenario_load(const char *path, const char *const *agents, struct scenario_suite **out,
                  struct err *e);

/* The same from text; `name` stands in for the path (and its folder for relative paths). */
int scenario_load_string(const char *name, const char *text, size_t len,
                         const char *const *agents, struct scenario_suite **out, struct err *e);

/* Free a suite; sets *sp to NULL. NULL is fine. */
void scenario_suite_free(struct scenario_suite **sp);

#endif
