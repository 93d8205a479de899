/*
 * api_webhooks.c — outbound webhook endpoints and their deliveries:
 *
 *   GET  /v1/webhooks/endpoints                      every configured endpoint, with state
 *   GET  /v1/webhooks/endpoints/{name}               one
 *   POST /v1/webhooks/endpoints/{name}/enable        re-enable (after a 410, or a disable)
 *   POST /v1/webhooks/endpoints/{name}/disable       stop sending; {"reason": "..."} optional
 *   POST /v1/webhooks/endpoints/{name}/replay-dead   queue every dead delivery again
 *   GET  /v1/webhooks/deliveries                     filtered, paged, with attempts
 *   GET  /v1/webhooks/deliveries/{id}                one, with attempts
 *   POST /v1/webhooks/deliveries/{id}/replay         queue a dead or succeeded one again
 *
 * Reads come from a reader handle; every change is a command to the
 * dispatcher (hook_deliver.h), which owns the delivery state, so the answer
 * shows the state after the change. Endpoints are those of the current
 * configuration; an unknown name is 404.
 */
#include "http/api_impl.h"
#include "webhook/hook_deliver.h"
#include "webhook/hook_payload.h"

#include <string.h>

/* ---- rendering ------------------------------------------------------------------ */

static json_t *attempt_json(const struct hook_attempt_row *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "at", jx_time_or_null(a->at));
    json_object_set_new(o, "status", a->status > 0 ? json_integer(a->status) : json_null());
    json_object_set_new(o, "outcome", json_string(a->outcome ? a->outcome : ""));
    json_object_set_new(o, "error", jx_str_or_null(a->error));
    json_object_set_new(o, "latency_ms", json_integer(a->latency_ms));
    json_object_set_new(o, "response", jx_str_or_null(a->response));
    return o;
}

/* A <Delivery> with its attempts read through s. */
static int delivery_json(struct store *s, struct arena *a, const struct hook_delivery_row *d,
                         json_t **out, struct err *e)
{
    struct hook_attempt_row *at = NULL;
    size_t n = 0;
    int rc = store_hook_attempt_list(s, d->id, a, &at, &n, e);
    if (rc != 0)
        return rc;
    char msgid[HOOK_PAYLOAD_MSGID_MAX];
    bool pending = d->state != NULL && strcmp(d->state, "pending") == 0;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "endpoint", json_string(d->endpoint ? d->endpoint : ""));
    json_object_set_new(o, "webhook_id", json_string(hook_payload_msg_id(
                            d->event_id, (size_t)d->part, (size_t)d->parts, msgid)));
    json_object_set_new(o, "event_id", json_integer(d->event_id));
    json_object_set_new(o, "type", json_string(d->type ? d->type : ""));
    json_object_set_new(o, "ticket_id", d->ticket_id > 0 ? json_integer(d->ticket_id)
                                                         : json_null());
    json_object_set_new(o, "part", json_integer(d->part));
    json_object_set_new(o, "parts", json_integer(d->parts));
    json_object_set_new(o, "state", json_string(d->state ? d->state : ""));
    json_object_set_new(o, "attempt_count", json_integer(d->attempts));
    json_object_set_new(o, "next_attempt_at",
                        pending ? jx_time_or_null(d->next_attempt_at) : json_null());
    json_object_set_new(o, "last_status", d->last_status > 0 ? json_integer(d->last_status)
                                                             : json_null());
    json_object_set_new(o, "last_error", jx_str_or_null(d->last_error));
    json_object_set_new(o, "occurred_at", jx_time_or_null(d->occurred_at));
    json_object_set_new(o, "created_at", jx_time_or_null(d->created_at));
    json_object_set_new(o, "finished_at", jx_time_or_null(d->finished_at));
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, attempt_json(&at[i]));
    json_object_set_new(o, "attempts", list);
    *out = o;
    return 0;
}

static json_t *int_list(const int64_t *v, size_t n)
{
    json_t *l = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(l, json_integer(v[i]));
    return l;
}

/* An <Endpoint>: configuration w, the dispatcher's record r (NULL before
 * its first start) and the delivery counts. */
static json_t *endpoint_json(const struct cfg_webhook *w, const struct hook_endpoint_row *r,
                             const struct hook_counts *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(w->name));
    json_object_set_new(o, "url", json_string(w->url));
    json_object_set_new(o, "enabled", json_boolean(r == NULL || !r->disabled));
    json_object_set_new(o, "disabled_at", r && r->disabled ? jx_time_or_null(r->disabled_at)
                                                            : json_null());
    json_object_set_new(o, "disabled_reason", jx_str_or_null(r && r->disabled
                                                             ? r->disabled_reason : NULL));
    json_t *ev = json_array();
    for (size_t i = 0; i < w->nevents; i++)
        json_array_append_new(ev, json_string(w->events[i]));
    json_object_set_new(o, "events", ev);
    json_object_set_new(o, "ordering", json_string(w->ordering ? w->ordering : "per_ticket"));
    json_object_set_new(o, "timeout_ms", json_integer(w->timeout_ms));
    json_object_set_new(o, "retry_ms", int_list(w->retry_ms, w->nretry));
    json_object_set_new(o, "max_payload", json_integer(w->max_payload));
    json_object_set_new(o, "oversize", json_string(w->oversize ? w->oversize : "split"));
    json_object_set_new(o, "concurrency", json_integer(w->concurrency));
    json_object_set_new(o, "last_event_id", r ? json_integer(r->last_event_id) : json_null());
    json_t *d = json_object();
    json_object_set_new(d, "pending", json_integer(c->pending));
    json_object_set_new(d, "failing", json_integer(c->failing));
    json_object_set_new(d, "dead", json_integer(c->dead));
    json_object_set_new(d, "succeeded", json_integer(c->succeeded));
    json_object_set_new(o, "deliveries", d);
    return o;
}

/* Render configured endpoint w from the store behind s. */
static int load_endpoint(struct store *s, struct arena *a, const struct cfg_webhook *w,
                         json_t **out, struct err *e)
{
    struct hook_endpoint_row *r = NULL;
    struct hook_counts c;
    int rc = store_hook_endpoint_get(s, w->name, a, &r, e);
    if (rc == ERR_NOTFOUND) {   /* the dispatcher has not recorded it yet */
        err_clear(e);
        r = NULL;
        rc = 0;
    }
    if (rc == 0)
        rc = store_hook_counts(s, w->name, &c, e);
    if (rc == 0)
        *out = endpoint_json(w, r, &c);
    return rc;
}

/* ---- endpoints ------------------------------------------------------------------- */

void api_webhooks_endpoints(struct http_req *req, struct http_resp *resp,
                            const struct router_params *params, void *ud)
{
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    struct cfg *c = engine_cfg(ctx->engine);
    json_t *list = json_array();
    struct store *s = store_pool_get(ctx->readers);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->nwebhooks; i++) {
        json_t *o = NULL;
        rc = load_endpoint(s, req->arena, &c->webhooks[i], &o, &e);
        if (rc == 0)
            json_array_append_new(list, o);
    }
    store_pool_put(ctx->readers, s);
    cfg_unref(&c);
    if (rc != 0) {
        json_decref(list);
        api_error(resp, &e);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "endpoints", list);
    api_reply(resp, 200, o);
}

/* Reply with endpoint `name` of the current configuration, or 404. */
static void reply_endpoint(struct api_ctx *ctx, struct http_req *req, struct http_resp *resp,
                           const char *name)
{
    struct err e = {0};
    struct cfg *c = engine_cfg(ctx->engine);
    const struct cfg_webhook *w = cfg_webhook_find(c, name);
    json_t *o = NULL;
    int rc;
    if (w == NULL) {
        rc = err_set(&e, ERR_NOTFOUND, "webhook endpoint '%.100s' is not configured", name);
    } else {
        struct store *s = store_pool_get(ctx->readers);
        rc = load_endpoint(s, req->arena, w, &o, &e);
        store_pool_put(ctx->readers, s);
    }
    cfg_unref(&c);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }
    api_reply(resp, 200, o);
}

void api_webhooks_endpoint(struct http_req *req, struct http_resp *resp,
                           const struct router_params *params, void *ud)
{
    reply_endpoint(ud, req, resp, router_param(params, "name"));
}

/* A POST that takes no body: refuse one, so a typo'd field is not ignored. */
static int no_body(struct http_req *req, struct http_resp *resp)
{
    if (req->body_len == 0)
        return 0;
    static const char *const none[] = {NULL};
    json_t *body = NULL;
    int rc = api_body(req, resp, none, &body);
    json_decref(body);
    return rc;
}

void api_webhooks_enable(struct http_req *req, struct http_resp *resp,
                         const struct router_params *params, void *ud)
{
    struct api_ctx *ctx = ud;
    const char *name = router_param(params, "name");
    struct err e = {0};
    if (no_body(req, resp) != 0)
        return;
    if (hook_deliver_enable(ctx->hooks, name, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    reply_endpoint(ctx, req, resp, name);
}

void api_webhooks_disable(struct http_req *req, struct http_resp *resp,
                          const struct router_params *params, void *ud)
{
    static const char *const fields[] = {"reason", NULL};
    struct api_ctx *ctx = ud;
    const char *name = router_param(params, "name");
    struct err e = {0};
    json_t *body = NULL;
    const char *reason = NULL;
    if (req->body_len > 0) {
        if (api_body(req, resp, fields, &body) != 0)
            return;
        if (jx_get_str(body, "reason", false, &reason, &e) != 0) {
            json_decref(body);
            api_error(resp, &e);
            return;
        }
    }
    const char *why = reason != NULL
                    ? arena_printf(req->arena, "%.400s (%s)", reason, api_actor(req))
                    : arena_printf(req->arena, "disabled through the API (%s)", api_actor(req));
    json_decref(body);
    if (hook_deliver_disable(ctx->hooks, name, why, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    reply_endpoint(ctx, req, resp, name);
}

void api_webhooks_replay_dead(struct http_req *req, struct http_resp *resp,
                              const struct router_params *params, void *ud)
{
    struct api_ctx *ctx = ud;
    const char *name = router_param(params, "name");
    struct err e = {0};
    int64_t count = 0;
    if (no_body(req, resp) != 0)
        return;
    if (hook_deliver_replay_dead(ctx->hooks, name, &count, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "endpoint", json_string(name));
    json_object_set_new(o, "replayed", json_integer(count));
    api_reply(resp, 200, o);
}

/* ---- deliveries ------------------------------------------------------------------- */

static int known_param(const char *key, const char *value, void *ud)
{
    (void)value;
    static const char *const names[] = {"endpoint", "state", "ticket", "limit", "after", NULL};
    for (const char *const *n = names; *n != NULL; n++)
        if (strcmp(key, *n) == 0)
            return 0;
    return err_field(ud, ERR_INVAL, key, "unknown query parameter '%.60s'", key);
}

static int parse_query(struct http_req *req, struct hook_delivery_filter *f, struct err *e)
{
    int rc = http_req_query_each(req, known_param, e);
    if (rc != 0)
        return rc;
    const char *v;
    if ((v = http_req_query(req, "endpoint")) != NULL) {
        if (*v == '\0')
            return err_field(e, ERR_INVAL, "endpoint", "'endpoint' must not be empty");
        f->endpoint = v;
    }
    if ((v = http_req_query(req, "state")) != NULL) {
        static const char *const states[] = {"pending", "failed", "dead", "succeeded", NULL};
        bool ok = false;
        for (const char *const *s = states; *s != NULL && !ok; s++)
            ok = strcmp(v, *s) == 0;
        if (!ok)
            return err_field(e, ERR_INVAL, "state", "'state' must be pending, failed, dead or "
                             "succeeded, got '%.40s'", v);
        f->state = v;
    }
    if ((v = http_req_query(req, "ticket")) != NULL &&
        (rc = api_parse_id(v, "ticket", &f->ticket_id, e)) != 0)
        return rc;
    return api_page_query(req, &f->limit, &f->after_id, e);
}

void api_webhooks_deliveries(struct http_req *req, struct http_resp *resp,
                             const struct router_params *params, void *ud)
{
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    struct hook_delivery_filter f = {0};
    int rc = parse_query(req, &f, &e);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }
    struct hook_delivery_row *rows = NULL;
    size_t n = 0;
    json_t *list = json_array();
    struct store *s = store_pool_get(ctx->readers);
    rc = store_hook_delivery_list(s, &f, req->arena, &rows, &n, &e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *o = NULL;
        rc = delivery_json(s, req->arena, &rows[i], &o, &e);
        if (rc == 0)
            json_array_append_new(list, o);
    }
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        json_decref(list);
        api_error(resp, &e);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "deliveries", list);
    json_object_set_new(o, "next_after", n == (size_t)f.limit ? json_integer(rows[n - 1].id)
                                                              : json_null());
    api_reply(resp, 200, o);
}

/* Reply with delivery `id` and its attempts, or 404. */
static void reply_delivery(struct api_ctx *ctx, struct http_req *req, struct http_resp *resp,
                           int64_t id)
{
    struct err e = {0};
    struct hook_delivery_row *d = NULL;
    json_t *o = NULL;
    struct store *s = store_pool_get(ctx->readers);
    int rc = store_hook_delivery_get(s, id, req->arena, &d, &e);
    if (rc == 0)
        rc = delivery_json(s, req->arena, d, &o, &e);
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }
    api_reply(resp, 200, o);
}

void api_webhooks_delivery(struct http_req *req, struct http_resp *resp,
                           const struct router_params *params, void *ud)
{
    struct err e = {0};
    int64_t id = 0;
    if (api_path_id(params, &id, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    reply_delivery(ud, req, resp, id);
}

void api_webhooks_replay(struct http_req *req, struct http_resp *resp,
                         const struct router_params *params, void *ud)
{
    struct api_ctx *ctx = ud;
    struct err e = {0};
    int64_t id = 0;
    if (api_path_id(params, &id, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    if (no_body(req, resp) != 0)
        return;
    if (hook_deliver_replay(ctx->hooks, id, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    reply_delivery(ctx, req, resp, id);
}
