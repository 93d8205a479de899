/*
 * api_telegram.c — POST /telegram/webhook: Telegram delivering an Update.
 *
 * Not under /v1/: Telegram cannot send our bearer token. It proves itself
 * with the X-Telegram-Bot-Api-Secret-Token header instead, which
 * tg_ingest_webhook compares (constant time) with telegram.webhook
 * .secret_token. Answers:
 *   200 {"ok":true}     applied, or skipped / refused by the desk's rules
 *                       (redelivering would not change that);
 *   401                 secret missing or wrong (logged);
 *   400                 body is not an Update;
 *   5xx                 the engine could not commit: Telegram retries;
 *   404                 not in webhook mode (api_ctx.tg is NULL).
 */
#include "base/log.h"
#include "http/api_impl.h"
#include "telegram/tg_ingest.h"

void api_telegram_webhook(struct http_req *req, struct http_resp *resp,
                          const struct router_params *params, void *ud)
{
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    if (ctx->tg == NULL) {
        err_set(&e, ERR_NOTFOUND, "no route for POST %s", req->path);
        http_resp_error(resp, 404, &e);
        return;
    }
    req->client = "telegram";
    const char *secret = http_req_header(req, "X-Telegram-Bot-Api-Secret-Token");
    int rc = tg_ingest_webhook(ctx->tg, secret, req->body, req->body_len, &e);
    if (rc == ERR_AUTH) {
        struct log_line l;
        log_begin(&l, LOG_WARN, "http.unauthorized");
        log_str(&l, "method", req->method);
        log_str(&l, "path", req->path);
        log_str(&l, "reason", e.msg);
        log_end(&l);
        req->client = NULL;
        http_resp_error(resp, 401, &e);   /* no WWW-Authenticate: not a Bearer route */
        return;
    }
    if (rc != 0) {
        if (e.code == 0)
            err_set(&e, rc, "webhook delivery failed (%s)", err_id(rc));
        api_error(resp, &e);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    api_reply(resp, 200, o);
}
