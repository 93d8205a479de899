/*
 * api.h — the REST API (docs/openapi.yaml is its exact description).
 *
 * api_handle is the http_handler `tgcrm serve` gives http_server_start.
 * It authenticates requests under /v1/ (Authorization: Bearer <token>, checked
 * in constant time against the configured http.tokens of the *current*
 * configuration, so a reload takes effect on the next request), routes the
 * request (router.h) and runs one handler per operation, one file per
 * resource: api_tickets.c, api_agents.c, api_queues.c, api_webhooks.c
 * (outbound webhook endpoints and deliveries), api_health.c and
 * api_test.c (the manual-clock routes, present only with --test-clock).
 *
 * Reads use a read-only store handle from the pool and the request arena;
 * writes go only through engine_submit (webhook delivery state through the
 * dispatcher's commands, hook_deliver.h), whose refusal (err code + message
 * + field) becomes the response through the one error funnel, api_error.
 *
 * Error statuses follow err_http_status(code); the one override is 415
 * (Content-Type not application/json on a POST/PATCH), which keeps the
 * code "invalid_request" in the body.
 */
#ifndef TGCRM_HTTP_API_H
#define TGCRM_HTTP_API_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "http/http_server.h"
#include "store/store.h"

struct tg_ingest;
struct hook_deliver;
struct tg_bridge;

/* Everything the handlers need; all borrowed, owned by serve. Shared by
 * every HTTP thread, so only thread-safe objects belong here. */
struct api_ctx {
    struct engine *engine;      /* the single writer; also the cfg source */
    struct store_pool *readers; /* read-only handles */
    struct clock *clock;        /* the engine's clock */
    bool test_clock;            /* expose /v1/test/clock (serve --test-clock) */
    int64_t started_at_ms;      /* for uptime_ms in /healthz */
    struct tg_ingest *tg;       /* webhook mode: takes POST /telegram/webhook;
                                   NULL (polling mode) answers it 404 */
    struct hook_deliver *hooks; /* the webhook dispatcher: replay, enable ... */
    struct tg_bridge *bridge;   /* the Telegram sender (NULL without a token): idleness */
};

/* The http_handler for the whole API; `api_ctx` is a struct api_ctx *. */
void api_handle(struct http_req *req, struct http_resp *resp, void *api_ctx);

#endif
