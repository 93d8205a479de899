/*
 * api_health.c — GET /healthz and GET /metrics (no authentication).
 *
 * /healthz proves the store can be read (its schema version) and says how
 * long the daemon has been up by its own clock. /metrics renders the
 * registry after refreshing the gauges that are cheaper to compute at
 * scrape time than to keep current: ticket counts per status, the pending
 * Telegram outbox, the event count and the engine's statistics.
 */
#include "base/log.h"
#include "base/metrics.h"
#include "http/api_impl.h"

#include <stdio.h>

void api_health_healthz(struct http_req *req, struct http_resp *resp,
                        const struct router_params *params, void *ud)
{
    (void)req;
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    int version = 0;
    struct store *s = store_pool_get(ctx->readers);
    int rc = store_schema_version(s, &version, &e);
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        api_error_status(resp, 503, &e);
        return;
    }
    int64_t now = clock_now_ms(ctx->clock);
    char iso[CLOCK_ISO_LEN];
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    json_object_set_new(o, "schema_version", json_integer(version));
    json_object_set_new(o, "uptime_ms",
                        json_integer(now > ctx->started_at_ms ? now - ctx->started_at_ms : 0));
    json_object_set_new(o, "now", json_string(clock_fmt_iso(now, iso)));
    api_reply(resp, 200, o);
}

/* Refresh the store-derived gauges; on failure they keep their last
 * values and the scrape still succeeds (the log says why). */
static void refresh_store(struct api_ctx *ctx)
{
    struct err e = {0};
    int64_t by_status[TICKET_STATUS_COUNT] = {0};
    int64_t pending = 0, events = 0;
    struct store *s = store_pool_get(ctx->readers);
    int rc = store_ticket_count_by_status(s, by_status, &e);
    if (rc == 0)
        rc = store_tg_outbox_count(s, "pending", &pending, &e);
    if (rc == 0)
        rc = store_event_count(s, &events, &e);
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        log_msg(LOG_WARN, "metrics.store_failed", "%s", e.msg);
        return;
    }
    for (int i = 0; i < TICKET_STATUS_COUNT; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "status=\"%s\"",
                 ticket_status_name((enum ticket_status)i));
        metrics_set(metrics_gauge("tgcrm_tickets", "Tickets by status", labels),
                    by_status[i]);
    }
    metrics_set(metrics_gauge("tgcrm_tg_outbox_pending",
                              "Telegram Bot API calls waiting in the outbox", ""),
                pending);
    metrics_set(metrics_counter("tgcrm_events_total", "Domain events written", ""), events);
}

static void refresh_engine(struct api_ctx *ctx)
{
    struct engine_stats st = {0};
    engine_get_stats(ctx->engine, &st);
    metrics_set(metrics_counter("tgcrm_engine_events_applied_total",
                                "Events the engine applied", ""),
                st.events_applied);
    metrics_set(metrics_counter("tgcrm_engine_events_refused_total",
                                "Events the engine refused", ""),
                st.events_refused);
    metrics_set(metrics_counter("tgcrm_engine_batches_total",
                                "Batches the engine committed", ""),
                st.batches);
    metrics_set(metrics_counter("tgcrm_engine_commit_failures_total",
                                "Batches whose commit failed", ""),
                st.commit_failures);
    metrics_set(metrics_counter("tgcrm_engine_tickets_created_total",
                                "Tickets the engine opened", ""),
                st.tickets_created);
}

void api_health_metrics(struct http_req *req, struct http_resp *resp,
                        const struct router_params *params, void *ud)
{
    (void)req;
    (void)params;
    struct api_ctx *ctx = ud;
    refresh_store(ctx);
    refresh_engine(ctx);
    if (metrics_render(&resp->body) != 0) {
        struct err e = {0};
        err_set(&e, ERR_TOOBIG, "metrics exposition larger than %u bytes", HTTP_RESP_MAX);
        api_error_status(resp, 500, &e);
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
}
