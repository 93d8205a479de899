/*
 * api_test.c — the manual clock, for tests only:
 *
 *   GET  /v1/test/clock    {"now": ISO, "now_ms": int}
 *   POST /v1/test/clock    {"advance": "5m"} or {"set": ISO}, exactly one;
 *                          with "wait_ms" it also answers as GET /v1/test/idle
 *   GET  /v1/test/idle     has everything due at this clock time happened?
 *
 * These routes are in the table only when serve ran with --test-clock
 * (api_ctx.test_clock); otherwise they are 404 like any unknown path. After
 * a move the due timers are applied before the response, so a test that
 * moves time and then reads sees the effects.
 * The webhook dispatcher is woken too: retries due at the new time start
 * at once (their outcomes arrive asynchronously, as with a real clock).
 */
#include "base/log.h"
#include "http/api_impl.h"
#include "telegram/tg_bridge.h"
#include "webhook/hook_deliver.h"

#include <stdlib.h>
#include <time.h>

/* {"now": ISO, "now_ms": int}, a new object. */
static json_t *now_obj(struct api_ctx *ctx)
{
    int64_t now = clock_now_ms(ctx->clock);
    char iso[CLOCK_ISO_LEN];
    json_t *o = json_object();
    json_object_set_new(o, "now", json_string(clock_fmt_iso(now, iso)));
    json_object_set_new(o, "now_ms", json_integer(now));
    return o;
}

void api_test_clock_get(struct http_req *req, struct http_resp *resp,
                        const struct router_params *params, void *ud)
{
    (void)req;
    (void)params;
    api_reply(resp, 200, now_obj(ud));
}

/* The longest ?wait_ms: a bounded hold of one HTTP worker. */
#define IDLE_WAIT_MAX_MS 10000

struct idleness {
    bool telegram, webhooks;
    bool timers;         /* no engine timer is due at now */
    int in_flight;
    int64_t now;
    int64_t next;        /* the earliest time anything falls due, INT64_MAX none */
};

static int64_t earlier(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* One look: have the Telegram sender and the webhook dispatcher each done
 * everything they can at the current clock time, after the newest commit? */
static int look(struct api_ctx *ctx, bool kick, struct idleness *out, struct err *e)
{
    int64_t last_event = 0;
    struct store *s = store_pool_get(ctx->readers);
    int rc = store_event_last_id(s, &last_event, e);
    store_pool_put(ctx->readers, s);
    if (rc != 0)
        return rc;
    out->now = clock_now_ms(ctx->clock);
    int64_t timer = engine_next_timer(ctx->engine);
    /* a commit racing the clock move may have left one due: the engine's
     * thread applies it on its own, and until then nothing is idle */
    out->timers = timer == 0 || timer > out->now;
    int64_t tg_next = INT64_MAX, hook_next = INT64_MAX;
    out->telegram = ctx->bridge == NULL ||
                    tg_bridge_idle(ctx->bridge, out->now, &tg_next);
    out->in_flight = 0;
    out->webhooks = ctx->hooks == NULL ||
                    hook_deliver_idle(ctx->hooks, last_event, out->now, &out->in_flight,
                                      &hook_next);
    out->next = earlier(earlier(timer > 0 ? timer : INT64_MAX, tg_next), hook_next);
    /* a stale rest (a commit or a clock move it has not looked at yet):
     * make the worker look now rather than at its next poll — once per
     * request, as each kick costs the worker a pass over its queue */
    if (kick && !out->telegram)
        tg_bridge_kick(ctx->bridge);
    if (kick && !out->webhooks)
        hook_deliver_kick(ctx->hooks);
    if (kick && !out->timers)
        engine_kick(ctx->engine);
    return 0;
}

/* Wait up to wait ms (real time) for idleness; *id is the last look. */
static int await_idle(struct api_ctx *ctx, int64_t wait, struct idleness *id, struct err *e)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (bool first = true;; first = false) {
        int rc = look(ctx, first, id, e);
        if (rc != 0)
            return rc;
        clock_gettime(CLOCK_MONOTONIC, &t);
        int64_t spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if ((id->telegram && id->webhooks && id->timers) || spent >= wait)
            return 0;
        struct timespec nap = {0, 50 * 1000};    /* the workers answer a kick in µs */
        nanosleep(&nap, NULL);
    }
}

/* The verdict's members (docs/openapi.yaml, Idle) into o. */
static void put_idle(json_t *o, const struct idleness *id)
{
    json_object_set_new(o, "idle", json_boolean(id->telegram && id->webhooks && id->timers));
    json_object_set_new(o, "now_ms", json_integer(id->now));
    json_object_set_new(o, "telegram", json_boolean(id->telegram));
    json_object_set_new(o, "webhooks", json_boolean(id->webhooks));
    json_object_set_new(o, "webhooks_in_flight", json_integer(id->in_flight));
    /* what falls due next: a client may move the clock straight there */
    json_object_set_new(o, "next_due_ms",
                        id->next != INT64_MAX ? json_integer(id->next) : json_null());
}

void api_test_clock_move(struct http_req *req, struct http_resp *resp,
                         const struct router_params *params, void *ud)
{
    (void)params;
    static const char *const fields[] = {"advance", "set", "wait_ms", NULL};
    struct api_ctx *ctx = ud;
    json_t *body = NULL;
    if (api_body(req, resp, fields, &body) != 0)
        return;
    struct err e = {0};
    const char *advance = NULL, *set = NULL;
    int64_t wait = -1;           /* none: answer at once, without a verdict */
    int rc = jx_get_str(body, "advance", false, &advance, &e);
    if (rc == 0)
        rc = jx_get_str(body, "set", false, &set, &e);
    if (rc == 0 && (advance == NULL) == (set == NULL))
        rc = err_set(&e, ERR_INVAL, "give exactly one of 'advance' and 'set'");
    if (rc == 0 && json_object_get(body, "wait_ms") != NULL &&
        (jx_get_int(body, "wait_ms", true, &wait, &e) != 0 || wait < 0 ||
         wait > IDLE_WAIT_MAX_MS))
        rc = err_field(&e, ERR_INVAL, "wait_ms", "'wait_ms' must be an integer 0..%d",
                       IDLE_WAIT_MAX_MS);
    int64_t ms = 0;
    if (rc == 0 && advance != NULL) {
        if (clock_parse_duration(advance, &ms) != 0)
            rc = err_field(&e, ERR_INVAL, "advance",
                           "'advance' must be a duration such as \"90s\" or \"1h30m\", "
                           "got '%.60s'", advance);
        else if (clock_manual_advance(ctx->clock, ms) != 0)
            rc = err_set(&e, ERR_INVAL, "the clock is not a manual clock");
    } else if (rc == 0) {
        if (clock_parse_iso(set, &ms) != 0)
            rc = err_field(&e, ERR_INVAL, "set",
                           "'set' must be an RFC 3339 time, got '%.60s'", set);
        else if (clock_manual_set(ctx->clock, ms) != 0)
            rc = err_field(&e, ERR_INVAL, "set",
                           "'set' cannot move the clock backwards (now %lld ms)",
                           (long long)clock_now_ms(ctx->clock));
    }
    json_decref(body);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }

    if (ctx->hooks != NULL)
        hook_deliver_kick(ctx->hooks);   /* retries on the manual clock */
    if (ctx->bridge != NULL)
        tg_bridge_kick(ctx->bridge);     /* rows waiting for this time */
    /* Apply what fell due synchronously (an engine_kick would only race the
     * reply, and apply the same timers a second time for nothing). */
    int64_t timer = engine_next_timer(ctx->engine);
    if (timer != 0 && timer <= clock_now_ms(ctx->clock)) {
        struct engine_event tick = {.type = ENGINE_TIMERS_DUE};
        struct engine_result res;
        if (api_submit(ctx, &tick, &res) != 0)
            log_msg(LOG_WARN, "test_clock.timers_failed", "%s", res.err.msg);
    }

    struct log_line l;
    char iso[CLOCK_ISO_LEN];
    log_begin(&l, LOG_INFO, "test_clock.moved");
    log_str(&l, "now", clock_fmt_iso(clock_now_ms(ctx->clock), iso));
    log_end(&l);
    json_t *o = now_obj(ctx);
    if (wait >= 0) {             /* the move and GET /v1/test/idle in one round trip */
        struct idleness id;
        if (await_idle(ctx, wait, &id, &e) != 0) {
            json_decref(o);
            api_error_status(resp, 503, &e);
            return;
        }
        put_idle(o, &id);
    }
    api_reply(resp, 200, o);
}

void api_test_idle(struct http_req *req, struct http_resp *resp,
                   const struct router_params *params, void *ud)
{
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    int64_t wait = 0;
    const char *w = http_req_query(req, "wait_ms");
    if (w != NULL) {
        char *end;
        wait = strtoll(w, &end, 10);
        if (*w == '\0' || *end != '\0' || wait < 0 || wait > IDLE_WAIT_MAX_MS) {
            err_field(&e, ERR_INVAL, "wait_ms", "'wait_ms' must be 0..%d", IDLE_WAIT_MAX_MS);
            api_error(resp, &e);
            return;
        }
    }
    struct idleness id;
    if (await_idle(ctx, wait, &id, &e) != 0) {
        api_error_status(resp, 503, &e);
        return;
    }
    json_t *o = json_object();
    put_idle(o, &id);
    api_reply(resp, 200, o);
}
