/*
 * api_impl.h — what the api_*.c files share (private to src/http/).
 *
 * The helpers in api.c that every handler uses — the error funnel, JSON
 * replies, request-body and parameter parsing, the engine submit wrapper —
 * and the handlers themselves, which api.c's route table points at. A
 * handler never returns an error: it always leaves a complete response.
 */
#ifndef TGCRM_HTTP_API_IMPL_H
#define TGCRM_HTTP_API_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/jx.h"
#include "http/api.h"
#include "http/api_json.h"
#include "http/router.h"
#include "webhook/hook_inbound.h"

/* ---- api.c: helpers -------------------------------------------------------- */

/*
 * The error funnel: status err_http_status(e->code), body
 * {"error":{"code":err_id(code),"message":e->msg,"field":e->field}} ("field"
 * only when set). A 401 also gets `WWW-Authenticate: Bearer`.
 */
void api_error(struct http_resp *resp, const struct err *e);

/* The funnel with an explicit status (415, 503) instead of the code's. */
void api_error_status(struct http_resp *resp, int status, const struct err *e);

/* Reply `status` with v serialised as the JSON body; steals v. */
void api_reply(struct http_resp *resp, int status, json_t *v);

/*
 * The JSON object body of a POST/PATCH: Content-Type must be
 * application/json (else 415), the body one JSON object (else 400) with
 * only the keys in the NULL-terminated `allowed` (else 400 naming the
 * first unknown one). 0 with *out a new reference (json_decref it); on
 * failure the error response is already written and *out is NULL.
 */
int api_body(struct http_req *req, struct http_resp *resp,
             const char *const *allowed, json_t **out);

/* A positive int64 in decimal without sign or spaces; ERR_INVAL naming
 * `field` otherwise. */
int api_parse_id(const char *s, const char *field, int64_t *out, struct err *e);

/* The {id} path parameter as a ticket id (400 naming "id" when bad). */
int api_path_id(const struct router_params *p, int64_t *out, struct err *e);

/* The paging query of a list: ?limit (1..500, default 50) and ?after (an
 * id; absent or 0 leaves *after alone). 400 naming the parameter. */
int api_page_query(struct http_req *req, int *limit, int64_t *after, struct err *e);

/* "api:<token name>" for engine_event.actor; request-arena string. */
const char *api_actor(struct http_req *req);

/*
 * engine_submit, with the guarantee that a refusal carries a code and a
 * message in res->err (so it can go straight to api_error). Returns
 * res->code.
 */
int api_submit(struct api_ctx *ctx, const struct engine_event *ev,
               struct engine_result *res);

/* Load ticket `id` and its customer from `s` into `a` and render it. */
int api_ticket_load(struct store *s, struct arena *a, int64_t id, json_t **out,
                    struct err *e);

/* ---- handlers (router_fn), one file per resource ------------------------------- */

void api_health_healthz(struct http_req *, struct http_resp *,
                        const struct router_params *, void *ctx);
void api_health_metrics(struct http_req *, struct http_resp *,
                        const struct router_params *, void *ctx);

void api_tickets_customer_message(struct http_req *, struct http_resp *,
                                  const struct router_params *, void *ctx);
void api_tickets_list(struct http_req *, struct http_resp *,
                      const struct router_params *, void *ctx);
void api_tickets_get(struct http_req *, struct http_resp *,
                     const struct router_params *, void *ctx);
void api_tickets_thread(struct http_req *, struct http_resp *,
                        const struct router_params *, void *ctx);
void api_tickets_update(struct http_req *, struct http_resp *,
                        const struct router_params *, void *ctx);
void api_tickets_reply(struct http_req *, struct http_resp *,
                       const struct router_params *, void *ctx);
void api_tickets_note(struct http_req *, struct http_resp *,
                      const struct router_params *, void *ctx);
void api_tickets_escalate(struct http_req *, struct http_resp *,
                          const struct router_params *, void *ctx);
/* The engine event for a ticket command (REST or inbound): type, ticket
 * and the command's fields; strings are borrowed from cmd. The caller sets
 * actor (and idem_key) itself. */
void api_tickets_event(const struct hook_inbound_cmd *cmd, struct engine_event *ev);

void api_agents_list(struct http_req *, struct http_resp *,
                     const struct router_params *, void *ctx);
void api_agents_get(struct http_req *, struct http_resp *,
                    const struct router_params *, void *ctx);
void api_agents_update(struct http_req *, struct http_resp *,
                       const struct router_params *, void *ctx);

void api_queues_list(struct http_req *, struct http_resp *,
                     const struct router_params *, void *ctx);

void api_telegram_webhook(struct http_req *, struct http_resp *,
                          const struct router_params *, void *ctx);

void api_inbound_post(struct http_req *, struct http_resp *,
                      const struct router_params *, void *ctx);
void api_webhooks_endpoints(struct http_req *, struct http_resp *,
                            const struct router_params *, void *ctx);
void api_webhooks_endpoint(struct http_req *, struct http_resp *,
                           const struct router_params *, void *ctx);
void api_webhooks_enable(struct http_req *, struct http_resp *,
                         const struct router_params *, void *ctx);
void api_webhooks_disable(struct http_req *, struct http_resp *,
                          const struct router_params *, void *ctx);
void api_webhooks_replay_dead(struct http_req *, struct http_resp *,
                              const struct router_params *, void *ctx);
void api_webhooks_deliveries(struct http_req *, struct http_resp *,
                             const struct router_params *, void *ctx);
void api_webhooks_delivery(struct http_req *, struct http_resp *,
                           const struct router_params *, void *ctx);
void api_webhooks_replay(struct http_req *, struct http_resp *,
                         const struct router_params *, void *ctx);

void api_test_clock_get(struct http_req *, struct http_resp *,
                        const struct router_params *, void *ctx);
void api_test_clock_move(struct http_req *, struct http_resp *,
                         const struct router_params *, void *ctx);
void api_test_idle(struct http_req *, struct http_resp *,
                   const struct router_params *, void *ctx);

#endif
