/*
 * api_inbound.c — POST /v1/inbound/{endpoint}: the external help desk
 * writing back into tgcrm (docs/webhooks.md, "Inbound").
 *
 * {endpoint} names an entry of the `webhooks` configuration. The request
 * is authenticated by its Standard Webhooks signature alone, made with that
 * entry's secret (or previous_secret while a rotation is under way): api.c
 * lets /v1/inbound/ through without a bearer token. Then the body becomes
 * a ticket command (hook_inbound.c, the same parsers as the REST writes)
 * and an engine event (api_tickets_event) whose idempotency key is the
 * webhook-id, so the engine records the id in the same savepoint as the
 * change: a retried delivery is answered with the first result and applied
 * once, even across a crash between commit and response.
 *
 * Answers: 200 {"webhook_id","ticket_id","seq"} (with `Idempotent-Replayed:
 * true` for a repeated webhook-id); 400 malformed headers or body; 401
 * missing header, stale timestamp, bad signature; 404 unknown endpoint;
 * 409 illegal transition or closed ticket; 422 unknown ticket, agent or
 * group. 413 for an oversize body comes from the server before this runs.
 * Every refusal is logged (inbound.refused: endpoint, webhook-id, status,
 * reason — never the body, a signature or a secret) and changes nothing.
 */
#include "base/log.h"
#include "base/metrics.h"
#include "http/api_impl.h"

#include <string.h>

/* What one request was, for its log line and counter. */
struct outcome {
    const char *endpoint;        /* configured name, or the requested one (trimmed) */
    bool known;                  /* endpoint is configured */
    const char *id;              /* webhook-id once well formed and signed, else NULL */
    const struct hook_inbound_cmd *cmd;   /* once parsed, else NULL */
};

static void count(const struct outcome *o, const char *what)
{
    char labels[160];
    snprintf(labels, sizeof labels, "endpoint=\"%s\",outcome=\"%s\"",
             o->known ? o->endpoint : "", what);
    metrics_add(metrics_counter("tgcrm_inbound_requests_total",
                                "Inbound webhook requests by endpoint and outcome", labels),
                1);
}

static void log_refused(const struct outcome *o, int status, const struct err *e)
{
    struct log_line l;
    log_begin(&l, LOG_WARN, "inbound.refused");
    log_str(&l, "endpoint", o->endpoint);
    log_str(&l, "webhook_id", o->id);
    if (o->cmd != NULL) {
        log_str(&l, "type", hook_inbound_type_name(o->cmd->type));
        log_int(&l, "ticket_id", o->cmd->ticket_id);
    }
    log_int(&l, "status", status);
    log_str(&l, "code", err_id(e->code));
    if (e->field[0] != '\0')
        log_str(&l, "field", e->field);
    log_str(&l, "reason", e->msg);
    log_end(&l);
    count(o, status == 401 ? "unauthorized" : status >= 500 ? "failed" : "refused");
}

static void refuse(struct http_resp *resp, const struct outcome *o, const struct err *e)
{
    int status = err_http_status(e->code);
    log_refused(o, status, e);
    /* No WWW-Authenticate on a 401: a bearer token would not help here. */
    http_resp_error(resp, status, e);
}

static void applied(struct http_resp *resp, const struct outcome *o,
                    const struct engine_result *res)
{
    struct log_line l;
    log_begin(&l, LOG_INFO, "inbound.applied");
    log_str(&l, "endpoint", o->endpoint);
    log_str(&l, "webhook_id", o->id);
    log_str(&l, "type", hook_inbound_type_name(o->cmd->type));
    log_int(&l, "ticket_id", res->ticket_id);
    log_int(&l, "seq", res->thread_seq);
    log_str(&l, "replayed", res->duplicate ? "true" : "false");
    log_end(&l);
    count(o, res->duplicate ? "replayed" : "applied");

    /* Only what the engine recorded with the idempotency key, so a replay
     * answers with exactly the bytes of the first response. */
    json_t *body = json_object();
    json_object_set_new(body, "webhook_id", json_string(o->id));
    json_object_set_new(body, "ticket_id", json_integer(res->ticket_id));
    json_object_set_new(body, "seq", json_integer(res->thread_seq));
    if (res->duplicate)
        http_resp_header(resp, "Idempotent-Replayed", "true");
    api_reply(resp, 200, body);
}

/* Apply cmd through the engine; *res as engine_submit left it. */
static int submit(struct api_ctx *ctx, struct http_req *req, const struct outcome *o,
                  const struct hook_inbound_cmd *cmd, struct engine_result *res,
                  struct err *e)
{
    struct engine_event ev;
    api_tickets_event(cmd, &ev);
    /* Outbound events of this change carry this actor: a help desk that
     * receives its own change back can recognise it and not echo it. */
    ev.actor = arena_printf(req->arena, "inbound:%s", o->endpoint);
    ev.idem_key = arena_printf(req->arena, "inbound:%s:%s", o->endpoint, o->id);
    if (ev.actor == NULL || ev.idem_key == NULL)
        return err_set(e, ERR_TOOBIG, "request arena exhausted");
    int rc = api_submit(ctx, &ev, res);
    if (rc == ERR_NOTFOUND) {
        /* The ticket named in the body: 404 would say the endpoint is wrong. */
        return err_field(e, ERR_UNPROCESSABLE, "ticket_id", "%s", res->err.msg);
    }
    if (rc != 0)
        *e = res->err;
    return rc;
}

void api_inbound_post(struct http_req *req, struct http_resp *resp,
                      const struct router_params *params, void *ud)
{
    struct api_ctx *ctx = ud;
    struct err e = {0};
    struct cfg *c = engine_cfg(ctx->engine);
    const char *name = router_param(params, "endpoint");
    const struct cfg_webhook *w = cfg_webhook_find(c, name);
    struct outcome o = {.endpoint = w != NULL ? w->name : arena_printf(req->arena, "%.64s", name),
                        .known = w != NULL};
    if (w == NULL) {
        err_field(&e, ERR_NOTFOUND, "endpoint", "unknown inbound endpoint '%.64s'", name);
        refuse(resp, &o, &e);
        goto out;
    }
    req->client = o.endpoint;   /* the access log shows who called */

    struct hook_sign_headers h = {
        .id = http_req_header(req, "webhook-id"),
        .timestamp = http_req_header(req, "webhook-timestamp"),
        .signature = http_req_header(req, "webhook-signature"),
    };
    int64_t now = clock_now_ms(ctx->clock) / 1000;
    if (hook_inbound_verify(w, &h, req->body, req->body_len, now, &e) != 0) {
        refuse(resp, &o, &e);
        goto out;
    }
    o.id = h.id;

    struct hook_inbound_cmd cmd;
    if (hook_inbound_parse(req->body, req->body_len, req->arena, &cmd, &e) != 0) {
        refuse(resp, &o, &e);
        goto out;
    }
    o.cmd = &cmd;

    struct engine_result res;
    if (submit(ctx, req, &o, &cmd, &res, &e) != 0) {
        refuse(resp, &o, &e);
        goto out;
    }
    applied(resp, &o, &res);
out:
    cfg_unref(&c);
}
