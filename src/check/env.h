/*
 * env.h — what a running scenario can reach: the CRM's REST API, the fake
 * Telegram, the webhook sink, the scenario's variables and the scenario
 * clock. The runner (run.c) owns one check_env per case and hands it to
 * the step actions and the expectations (expect.c); this file is the one
 * place that speaks HTTP to the CRM (libcurl, translated to ERR_* here)
 * and expands {{variables}}.
 *
 * Ownership: the env owns its curl handle, its vars object and nothing
 * else; every other pointer is borrowed from the runner, which keeps them
 * alive for the case. Strings returned through `scratch` live until the
 * runner resets it (after each step).
 */
#ifndef TGCRM_CHECK_ENV_H
#define TGCRM_CHECK_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/yml.h"
#include "check/result.h"
#include "check/scenario.h"

struct fake_tg;
struct sink;
struct arena;
struct clock;

struct check_env {
    /* the target, fixed for a run (borrowed) */
    const char *api_url;             /* "http://127.0.0.1:PORT", no trailing slash */
    const char *api_token;           /* bearer token of the CRM API */
    struct fake_tg *tg;              /* the fake Bot API (NULL: none) */
    struct sink *sink;               /* the webhook sink (NULL: none) */
    int64_t bot_id;                  /* the CRM's bot on the fake */
    int64_t group_chat_id;           /* the staff forum group */
    struct clock *clock;             /* the fake's and the sink's clock: manual in the
                                      * sandbox (kept equal to the CRM's), real on live */
    /* the case (borrowed) */
    const struct scenario_suite *suite;
    const struct scenario *sc;
    struct check_case *cc;           /* steps, events and observations go here */
    struct arena *ra;                /* the report's arena: strings that outlive the case */
    struct arena *scratch;           /* reset by the runner after each step */
    int64_t t0_ms;                   /* CRM clock when the scenario started */
    int64_t tg_since;                /* fake_tg sent-log seq at the scenario's start */
    int64_t sink_since;              /* sink seq at the scenario's start */
    /* set by the runner: waits until the sandbox has done everything due at
     * the current scenario time; env_advance calls it after every move, so
     * whoever moves the clock (advance, eventually's polls) sees timers,
     * retries and deliveries happen in order. NULL = none */
    int (*settle)(void *ud, struct err *e);
    void *settle_ud;
    int64_t inbound_seq;             /* webhook-ids of signed inbound calls */
    /* owned */
    json_t *vars;                    /* name -> value: suite vars, loop vars, captures */
    void *curl;                      /* CURL *, created by env_open */
};

/* Create the env's own parts (curl handle, empty vars); the borrowed
 * members are the caller's to fill. 0 or ERR_NOMEM. */
int env_open(struct check_env *env, struct err *e);

/* Release what env_open created. Safe twice. */
void env_close(struct check_env *env);

/*
 * One REST call to the CRM: method api_url+path (path already expanded,
 * query included), body (may be NULL) sent as JSON. *status gets the HTTP
 * status; *out (may be NULL) a new reference to the parsed response body,
 * or NULL when the body was empty. 0 whenever the CRM answered (any
 * status); ERR_IO when it could not be reached, ERR_INVAL when it answered
 * something that is not JSON.
 */
int env_api(struct check_env *env, const char *method, const char *path, json_t *body,
            long *status, json_t **out, struct err *e);

/*
 * env_api as the help desk calls /v1/inbound/<endpoint>: the body signed
 * with the endpoint's secret (and previous_secret, may be NULL) in
 * Standard Webhooks headers (a fresh webhook-id, the clock's time).
 * secret NULL: env_api. Errors as env_api, and hook_sign's for a bad secret.
 */
int env_api_signed(struct check_env *env, const char *method, const char *path, json_t *body,
                   const char *secret, const char *previous, long *status, json_t **out,
                   struct err *e);

/* The CRM clock in ms since the epoch (GET /v1/test/clock on a manual
 * clock, the wall clock otherwise). */
int env_now_ms(struct check_env *env, int64_t *out, struct err *e);

/* The scenario clock: ms since the scenario started. */
int env_clock_ms(struct check_env *env, int64_t *out, struct err *e);

/* Move env->clock (the fake's and the sink's) forward by ms (> 0), then the
 * CRM's manual clock by the same amount — in that order, so what the CRM
 * sends at the new time is stamped with it — then tell the sink (held
 * answers now due are released). ERR_INVAL on a real clock. */
int env_move(struct check_env *env, int64_t ms, struct err *e);

/* env_move, then wait for env->settle when set. */
int env_advance(struct check_env *env, int64_t ms, struct err *e);

/* The longest move env_advance_wait makes in one request (the CRM's
 * duration grammar). */
#define ENV_MOVE_MAX 1000000000LL

/*
 * As env_advance for 0 < ms <= ENV_MOVE_MAX, but without settling: the
 * CRM waits up to wait_ms (real time) for idleness before it answers
 * (POST /v1/test/clock with wait_ms), and *answer gets that answer — the
 * members of GET /v1/test/idle — for the caller to judge (json_decref).
 */
int env_advance_wait(struct check_env *env, int64_t ms, int64_t wait_ms, json_t **answer,
                     struct err *e);

/*
 * Expand every {{name}} / {{name.field.sub}} in text from env->vars.
 * Strings are inserted as they are, other JSON values as compact JSON.
 * *out lives in env->scratch (text itself when it has no '{{'). ERR_NOTFOUND
 * naming the variable or field when it has no value.
 */
int env_expand(struct check_env *env, const char *text, const char **out, struct err *e);

/*
 * The JSON value of a step argument, {{variables}} expanded: a mapping
 * becomes an object, a sequence an array; a plain scalar that reads as an
 * integer, number, true/false or null becomes that; a scalar that is
 * exactly one "{{x}}" takes x's value with its type (so an id stays an
 * integer); anything else a string. *out is a new reference.
 */
int env_json(struct check_env *env, const struct yml_node *n, json_t **out, struct err *e);

/* Set a variable (steals v; replaces an earlier value). 0 or ERR_NOMEM. */
int env_var_set(struct check_env *env, const char *name, json_t *v, struct err *e);

/* The suite's customer called name, or NULL. */
const struct scenario_customer *env_customer(const struct check_env *env, const char *name);

/*
 * The ticket a step means: args' "ticket" (expanded, an id), else its
 * "customer" (that customer's most recent ticket), else the scenario's
 * most recent ticket. *out is a new reference to GET /v1/tickets/{id}.
 * ERR_NOTFOUND (with the customer's name or the id) when there is none.
 */
int env_ticket(struct check_env *env, const struct yml_node *args, json_t **out,
               struct err *e);

#endif
