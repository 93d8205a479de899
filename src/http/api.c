/*
 * api.c — the API's front door: route table, authentication and the
 * helpers every handler shares (see api.h, api_impl.h).
 *
 * Everything under /v1/ needs a bearer token, checked before routing so an
 * unauthenticated caller learns nothing about which paths exist. /healthz
 * and /metrics are open: they are for load balancers and Prometheus.
 * /telegram/webhook is authenticated by Telegram's secret-token header
 * instead (api_telegram.c), and /v1/inbound/{endpoint} by the help desk's
 * Standard Webhooks signature (api_inbound.c).
 */
#include "http/api.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/api_impl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Route tags. */
#define API_TEST_CLOCK 1u   /* only with serve --test-clock */

static const struct router_route routes[] = {
    {"GET", "/healthz", api_health_healthz, 0},
    {"GET", "/metrics", api_health_metrics, 0},
    {"POST", "/v1/customer-messages", api_tickets_customer_message, 0},
    {"GET", "/v1/tickets", api_tickets_list, 0},
    {"GET", "/v1/tickets/{id}", api_tickets_get, 0},
    {"PATCH", "/v1/tickets/{id}", api_tickets_update, 0},
    {"GET", "/v1/tickets/{id}/thread", api_tickets_thread, 0},
    {"POST", "/v1/tickets/{id}/replies", api_tickets_reply, 0},
    {"POST", "/v1/tickets/{id}/notes", api_tickets_note, 0},
    {"POST", "/v1/tickets/{id}/escalations", api_tickets_escalate, 0},
    {"GET", "/v1/agents", api_agents_list, 0},
    {"GET", "/v1/agents/{id}", api_agents_get, 0},
    {"PATCH", "/v1/agents/{id}", api_agents_update, 0},
    {"GET", "/v1/queues", api_queues_list, 0},
    {"POST", "/telegram/webhook", api_telegram_webhook, 0},
    {"GET", "/v1/webhooks/endpoints", api_webhooks_endpoints, 0},
    {"GET", "/v1/webhooks/endpoints/{name}", api_webhooks_endpoint, 0},
    {"POST", "/v1/webhooks/endpoints/{name}/enable", api_webhooks_enable, 0},
    {"POST", "/v1/webhooks/endpoints/{name}/disable", api_webhooks_disable, 0},
    {"POST", "/v1/webhooks/endpoints/{name}/replay-dead", api_webhooks_replay_dead, 0},
    {"GET", "/v1/webhooks/deliveries", api_webhooks_deliveries, 0},
    {"GET", "/v1/webhooks/deliveries/{id}", api_webhooks_delivery, 0},
    {"POST", "/v1/webhooks/deliveries/{id}/replay", api_webhooks_replay, 0},
    {"GET", "/v1/test/clock", api_test_clock_get, API_TEST_CLOCK},
    {"POST", "/v1/test/clock", api_test_clock_move, API_TEST_CLOCK},
    {"GET", "/v1/test/idle", api_test_idle, API_TEST_CLOCK},
    {"POST", "/v1/inbound/{endpoint}", api_inbound_post, 0},
};

/* ---- the error funnel and replies ------------------------------------------- */

void api_error_status(struct http_resp *resp, int status, const struct err *e)
{
    if (e != NULL && e->code == ERR_AUTH)
        http_resp_header(resp, "WWW-Authenticate", "Bearer");
    http_resp_error(resp, status, e);
}

void api_error(struct http_resp *resp, const struct err *e)
{
    api_error_status(resp, err_http_status(e != NULL ? e->code : ERR_INTERNAL), e);
}

void api_reply(struct http_resp *resp, int status, json_t *v)
{
    buf_release(&resp->body);
    int rc = jx_dump(v, &resp->body);
    json_decref(v);
    if (rc != 0) {
        struct err e = {0};
        err_set(&e, ERR_TOOBIG, "response larger than %u bytes", HTTP_RESP_MAX);
        api_error_status(resp, 500, &e);
        return;
    }
    resp->status = status;
    resp->content_type = "application/json";
}

/* ---- request parsing ---------------------------------------------------------- */

/* "application/json", any case, optionally followed by parameters. */
static bool is_json_media(const char *ct)
{
    static const char json[] = "application/json";
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, json, sizeof json - 1) != 0)
        return false;
    char next = ct[sizeof json - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

int api_body(struct http_req *req, struct http_resp *resp,
             const char *const *allowed, json_t **out)
{
    *out = NULL;
    struct err e = {0};
    const char *ct = http_req_header(req, "Content-Type");
    if (!is_json_media(ct)) {
        /* 415 keeps the code "invalid_request": err.h has no code of its
         * own for it and the status alone says what is wrong. */
        err_set(&e, ERR_INVAL, "Content-Type must be 'application/json', got '%.100s'",
                ct ? ct : "");
        api_error_status(resp, 415, &e);
        return ERR_INVAL;
    }
    json_t *v = NULL;
    int rc = jx_parse_object(req->body, req->body_len, &v, &e);
    if (rc == 0)
        rc = jx_check_fields(v, allowed, "", &e);
    if (rc != 0) {
        json_decref(v);
        api_error(resp, &e);
        return rc;
    }
    *out = v;
    return 0;
}

int api_parse_id(const char *s, const char *field, int64_t *out, struct err *e)
{
    int64_t v = 0;
    const char *p = s;
    for (; p != NULL && *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10) {
            v = -1;
            break;
        }
        v = v * 10 + d;
    }
    if (s == NULL || *s == '\0' || v <= 0 || *p != '\0')
        return err_field(e, ERR_INVAL, field, "'%s' must be a positive integer, got '%.40s'",
                         field, s ? s : "");
    *out = v;
    return 0;
}

int api_path_id(const struct router_params *p, int64_t *out, struct err *e)
{
    return api_parse_id(router_param(p, "id"), "id", out, e);
}

int api_page_query(struct http_req *req, int *limit, int64_t *after, struct err *e)
{
    const char *v;
    *limit = 50;
    if ((v = http_req_query(req, "limit")) != NULL) {
        int64_t n = 0;
        if (api_parse_id(v, "limit", &n, NULL) != 0 || n > 500)
            return err_field(e, ERR_INVAL, "limit",
                             "'limit' must be an integer from 1 to 500, got '%.40s'", v);
        *limit = (int)n;
    }
    if ((v = http_req_query(req, "after")) != NULL && strcmp(v, "0") != 0)
        return api_parse_id(v, "after", after, e);
    return 0;
}

const char *api_actor(struct http_req *req)
{
    const char *a = arena_printf(req->arena, "api:%s", req->client ? req->client : "anonymous");
    return a ? a : "api";
}

int api_submit(struct api_ctx *ctx, const struct engine_event *ev,
               struct engine_result *res)
{
    memset(res, 0, sizeof *res);
    int rc = engine_submit(ctx->engine, ev, res);
    if (rc != 0 && res->err.code == 0)
        err_set(&res->err, rc, "the event was refused (%s)", err_id(rc));
    return rc;
}

int api_ticket_load(struct store *s, struct arena *a, int64_t id, json_t **out,
                    struct err *e)
{
    *out = NULL;
    struct ticket *t = NULL;
    int rc = store_ticket_get(s, id, a, &t, e);
    if (rc != 0)
        return rc;
    struct customer *c = NULL;
    struct err ce = {0};
    rc = store_customer_get(s, t->customer_id, a, &c, &ce);
    if (rc == ERR_NOTFOUND)   /* not the caller's 404: the store is inconsistent */
        return err_set(e, ERR_INTERNAL, "customer %lld of ticket %lld is missing",
                       (long long)t->customer_id, (long long)id);
    if (rc != 0) {
        if (e != NULL && e->code == 0)
            *e = ce;
        return rc;
    }
    *out = api_json_ticket(t, c);
    return 0;
}

/* ---- authentication ------------------------------------------------------------- */

/* Compare in time that depends only on the configured token's length, so
 * response timing does not reveal how much of a guess was right. */
static bool token_equal(const char *given, size_t glen, const char *want)
{
    size_t wlen = strlen(want);
    volatile unsigned char diff = glen != wlen;
    for (size_t i = 0; i < wlen; i++)
        diff |= (unsigned char)(given[i < glen ? i : 0] ^ want[i]);
    return diff == 0;
}

static void log_refused(struct http_req *req, const char *reason)
{
    struct log_line l;
    log_begin(&l, LOG_WARN, "http.unauthorized");
    log_str(&l, "method", req->method);
    log_str(&l, "path", req->path);
    log_str(&l, "reason", reason);
    log_end(&l);
}

/* Sets req->client to the token's name (never the token) on success. */
static int authenticate(struct api_ctx *ctx, struct http_req *req, struct err *e)
{
    const char *h = http_req_header(req, "Authorization");
    if (h == NULL) {
        log_refused(req, "no Authorization header");
        return err_set(e, ERR_AUTH, "missing bearer token (Authorization: Bearer <token>)");
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        log_refused(req, "not a Bearer credential");
        return err_set(e, ERR_AUTH, "authorization must use the Bearer scheme");
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t tlen = strlen(tok);
    const char *name = NULL;
    struct cfg *c = engine_cfg(ctx->engine);
    /* Look at every token whatever matched, again for even timing. */
    for (size_t i = 0; c != NULL && i < c->http.ntokens; i++) {
        const struct cfg_api_token *t = &c->http.tokens[i];
        if (t->token == NULL || t->token[0] == '\0')
            continue;
        if (token_equal(tok, tlen, t->token) && name == NULL)
            name = arena_strdup(req->arena, t->name ? t->name : "unnamed");
    }
    cfg_unref(&c);
    if (tlen == 0 || name == NULL) {
        log_refused(req, "unknown token");
        return err_set(e, ERR_AUTH, "invalid bearer token");
    }
    req->client = name;
    return 0;
}

void api_handle(struct http_req *req, struct http_resp *resp, void *api_ctx)
{
    struct api_ctx *ctx = api_ctx;
    static const char inbound[] = "/v1/inbound/";   /* signed instead, see above */
    if ((strncmp(req->path, "/v1/", 4) == 0 || strcmp(req->path, "/v1") == 0) &&
        strncmp(req->path, inbound, sizeof inbound - 1) != 0) {
        struct err e = {0};
        if (authenticate(ctx, req, &e) != 0) {
            api_error(resp, &e);
            return;
        }
    }
    router_dispatch(routes, sizeof routes / sizeof routes[0],
                    ctx->test_clock ? 0 : API_TEST_CLOCK, req, resp, ctx);
}
