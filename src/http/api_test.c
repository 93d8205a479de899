/*
 * api_test.c — the manual clock, for tests only:
 *
 *   GET  /v1/test/clock    {"now": ISO, "now_ms": int}
 *   POST /v1/test/clock    {"advance": "5m"} or {"set": ISO}, exactly one
 *
 * These routes are in the table only when serve ran with --test-clock
 * (api_ctx.test_clock); otherwise they are 404 like any unknown path. After
 * a move the engine is kicked and the due timers are applied before the
 * response, so a test that moves time and then reads sees the effects.
 * The webhook dispatcher is woken too: retries due at the new time start
 * at once (their outcomes arrive asynchronously, as with a real clock).
 */
#include "base/log.h"
#include "http/api_impl.h"
#include "webhook/hook_deliver.h"

static void reply_now(struct api_ctx *ctx, struct http_resp *resp)
{
    int64_t now = clock_now_ms(ctx->clock);
    char iso[CLOCK_ISO_LEN];
    json_t *o = json_object();
    json_object_set_new(o, "now", json_string(clock_fmt_iso(now, iso)));
    json_object_set_new(o, "now_ms", json_integer(now));
    api_reply(resp, 200, o);
}

void api_test_clock_get(struct http_req *req, struct http_resp *resp,
                        const struct router_params *params, void *ud)
{
    (void)req;
    (void)params;
    reply_now(ud, resp);
}

void api_test_clock_move(struct http_req *req, struct http_resp *resp,
                         const struct router_params *params, void *ud)
{
    (void)params;
    static const char *const fields[] = {"advance", "set", NULL};
    struct api_ctx *ctx = ud;
    json_t *body = NULL;
    if (api_body(req, resp, fields, &body) != 0)
        return;
    struct err e = {0};
    const char *advance = NULL, *set = NULL;
    int rc = jx_get_str(body, "advance", false, &advance, &e);
    if (rc == 0)
        rc = jx_get_str(body, "set", false, &set, &e);
    if (rc == 0 && (advance == NULL) == (set == NULL))
        rc = err_set(&e, ERR_INVAL, "give exactly one of 'advance' and 'set'");
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

    engine_kick(ctx->engine);
    if (ctx->hooks != NULL)
        hook_deliver_kick(ctx->hooks);   /* retries on the manual clock */
    /* Apply what fell due synchronously: the kick alone would race the reply. */
    struct engine_event tick = {.type = ENGINE_TIMERS_DUE};
    struct engine_result res;
    if (api_submit(ctx, &tick, &res) != 0)
        log_msg(LOG_WARN, "test_clock.timers_failed", "%s", res.err.msg);

    struct log_line l;
    char iso[CLOCK_ISO_LEN];
    log_begin(&l, LOG_INFO, "test_clock.moved");
    log_str(&l, "now", clock_fmt_iso(clock_now_ms(ctx->clock), iso));
    log_end(&l);
    reply_now(ctx, resp);
}
