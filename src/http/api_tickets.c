/*
 * api_tickets.c — tickets and their threads:
 *
 *   POST  /v1/customer-messages        a customer message from outside Telegram
 *   GET   /v1/tickets                  filtered, paged list
 *   GET   /v1/tickets/{id}             one ticket
 *   GET   /v1/tickets/{id}/thread      its thread
 *   PATCH /v1/tickets/{id}             status / priority / group / assignee
 *   POST  /v1/tickets/{id}/replies     an agent's reply (relayed to the customer): its
 *                                      text, or a canned response by template name
 *   POST  /v1/tickets/{id}/notes       an internal note
 *
 * Writes become engine events; after the engine commits, the response is
 * read back through a reader handle so it shows exactly what was stored.
 * The bodies of the three ticket writes are parsed by hook_inbound.c and
 * turned into events by api_tickets_event, which the inbound webhook
 * (api_inbound.c) uses as well: one set of rules for both doors.
 */
#include "http/api_impl.h"

#include <stdio.h>
#include <string.h>

/* ---- small parsing helpers ------------------------------------------------------- */

/* Optional string member of a nested object; field named "<where><key>". */
static int nested_str(json_t *obj, const char *where, const char *key, const char **out,
                      struct err *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v)) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", where, key);
        return err_field(e, ERR_INVAL, name, "field '%s' must be a string", name);
    }
    *out = json_string_value(v);
    return 0;
}

void api_tickets_event(const struct hook_inbound_cmd *cmd, struct engine_event *ev)
{
    static const enum engine_event_type types[HOOK_INBOUND_TYPE_COUNT] = {
        [HOOK_INBOUND_UPDATE] = ENGINE_TICKET_UPDATE,
        [HOOK_INBOUND_REPLY] = ENGINE_AGENT_REPLY,
        [HOOK_INBOUND_NOTE] = ENGINE_AGENT_NOTE,
    };
    const struct hook_inbound_update *u = &cmd->update;
    memset(ev, 0, sizeof *ev);
    ev->type = types[cmd->type];
    ev->ticket_id = cmd->ticket_id;
    ev->agent_id = cmd->agent;
    ev->text = cmd->text;
    ev->set_status = u->set_status;
    ev->status = u->status;
    ev->set_priority = u->set_priority;
    ev->priority = u->priority;
    ev->set_group = u->group != NULL;
    ev->group = u->group;
    ev->set_assignee = u->set_assignee;
    ev->assignee = u->assignee;
    ev->reason = u->reason;
}

/* Reply with {"ticket": <Ticket>, ...extra} read back after a write. */
static void reply_ticket(struct api_ctx *ctx, struct http_req *req, struct http_resp *resp,
                         int status, int64_t id, json_t *extra, bool wrap)
{
    struct err e = {0};
    json_t *t = NULL;
    struct store *s = store_pool_get(ctx->readers);
    int rc = api_ticket_load(s, req->arena, id, &t, &e);
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        json_decref(extra);
        api_error(resp, &e);
        return;
    }
    if (!wrap) {
        json_decref(extra);
        api_reply(resp, status, t);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "ticket", t);
    json_object_update(o, extra);
    json_decref(extra);
    api_reply(resp, status, o);
}

/* ---- POST /v1/customer-messages ------------------------------------------------ */

void api_tickets_customer_message(struct http_req *req, struct http_resp *resp,
                                  const struct router_params *params, void *ud)
{
    (void)params;
    static const char *const fields[] = {"customer", "text", NULL};
    static const char *const cfields[] = {"telegram_user_id", "first_name", "last_name",
                                          "username", "language", "tier", NULL};
    struct api_ctx *ctx = ud;
    json_t *body = NULL;
    if (api_body(req, resp, fields, &body) != 0)
        return;

    struct err e = {0};
    struct engine_event ev = {.type = ENGINE_CUSTOMER_MESSAGE};
    int rc = 0;
    json_t *cust = json_object_get(body, "customer");
    json_t *uid = cust ? json_object_get(cust, "telegram_user_id") : NULL;
    if (cust == NULL)
        rc = err_field(&e, ERR_INVAL, "customer", "missing required field 'customer'");
    else if (!json_is_object(cust))
        rc = err_field(&e, ERR_INVAL, "customer", "field 'customer' must be an object");
    if (rc == 0)
        rc = jx_check_fields(cust, cfields, "customer.", &e);
    if (rc == 0 && uid == NULL)
        rc = err_field(&e, ERR_INVAL, "customer.telegram_user_id",
                       "missing required field 'customer.telegram_user_id'");
    if (rc == 0 && (!json_is_integer(uid) || json_integer_value(uid) <= 0))
        rc = err_field(&e, ERR_INVAL, "customer.telegram_user_id",
                       "field 'customer.telegram_user_id' must be a positive integer");
    if (rc == 0) {
        ev.customer.tg_user_id = (int64_t)json_integer_value(uid);
        rc = nested_str(cust, "customer.", "first_name", &ev.customer.first_name, &e);
    }
    if (rc == 0)
        rc = nested_str(cust, "customer.", "last_name", &ev.customer.last_name, &e);
    if (rc == 0)
        rc = nested_str(cust, "customer.", "username", &ev.customer.username, &e);
    if (rc == 0)
        rc = nested_str(cust, "customer.", "language", &ev.customer.language, &e);
    if (rc == 0)
        rc = nested_str(cust, "customer.", "tier", &ev.customer.tier, &e);
    if (rc == 0)
        rc = jx_get_text(body, "text", &ev.text, &e);
    if (rc != 0) {
        json_decref(body);
        api_error(resp, &e);
        return;
    }

    struct engine_result res;
    rc = api_submit(ctx, &ev, &res);
    json_decref(body);   /* ev borrowed its strings until submit returned */
    if (rc != 0) {
        api_error(resp, &res.err);
        return;
    }
    json_t *extra = json_object();
    json_object_set_new(extra, "created", json_boolean(res.created));
    json_object_set_new(extra, "reopened", json_boolean(res.reopened));
    json_object_set_new(extra, "seq", json_integer(res.thread_seq));
    reply_ticket(ctx, req, resp, res.created ? 201 : 200, res.ticket_id, extra, true);
}

/* ---- GET /v1/tickets --------------------------------------------------------------- */

static int known_param(const char *key, const char *value, void *ud)
{
    (void)value;
    static const char *const names[] = {"status", "group", "assignee", "unassigned",
                                        "customer", "limit", "after", NULL};
    for (const char *const *n = names; *n != NULL; n++)
        if (strcmp(key, *n) == 0)
            return 0;
    return err_field(ud, ERR_INVAL, key, "unknown query parameter '%.60s'", key);
}

/* Query string → filter. *customer_tg is the telegram_user_id asked for. */
static int parse_list_query(struct http_req *req, struct ticket_filter *f,
                            int64_t *customer_tg, struct err *e)
{
    int rc = http_req_query_each(req, known_param, e);
    if (rc != 0)
        return rc;
    const char *v;
    if ((v = http_req_query(req, "status")) != NULL) {
        if ((rc = ticket_status_parse(v, &f->status, e)) != 0)
            return rc;
        f->has_status = true;
    }
    if ((v = http_req_query(req, "group")) != NULL) {
        if (*v == '\0')
            return err_field(e, ERR_INVAL, "group", "'group' must not be empty");
        f->group = v;
    }
    if ((v = http_req_query(req, "assignee")) != NULL) {
        if (*v == '\0')
            return err_field(e, ERR_INVAL, "assignee", "'assignee' must not be empty");
        f->assignee = v;
    }
    if ((v = http_req_query(req, "unassigned")) != NULL) {
        if (strcmp(v, "true") == 0)
            f->unassigned = true;
        else if (strcmp(v, "false") != 0)
            return err_field(e, ERR_INVAL, "unassigned",
                             "'unassigned' must be true or false, got '%.40s'", v);
        if (f->unassigned && f->assignee != NULL)
            return err_field(e, ERR_INVAL, "unassigned",
                             "'unassigned=true' cannot be combined with 'assignee'");
    }
    if ((v = http_req_query(req, "customer")) != NULL &&
        (rc = api_parse_id(v, "customer", customer_tg, e)) != 0)
        return rc;
    return api_page_query(req, &f->limit, &f->after_id, e);
}

/* The customer of t, loaded once per request however many tickets share it. */
static int customer_of(struct store *s, struct arena *a, const struct ticket *t,
                       struct customer ***cache, size_t *n, struct customer **out,
                       struct err *e)
{
    for (size_t i = 0; i < *n; i++)
        if ((*cache)[i]->id == t->customer_id) {
            *out = (*cache)[i];
            return 0;
        }
    struct customer *c = NULL;
    struct err ce = {0};
    int rc = store_customer_get(s, t->customer_id, a, &c, &ce);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_INTERNAL, "customer %lld of ticket %lld is missing",
                       (long long)t->customer_id, (long long)t->id);
    if (rc != 0) {
        if (e->code == 0)
            *e = ce;
        return rc;
    }
    (*cache)[(*n)++] = c;
    *out = c;
    return 0;
}

void api_tickets_list(struct http_req *req, struct http_resp *resp,
                      const struct router_params *params, void *ud)
{
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    struct ticket_filter f = {0};
    int64_t customer_tg = 0;
    int rc = parse_list_query(req, &f, &customer_tg, &e);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }

    json_t *list = json_array();
    struct ticket **ts = NULL;
    size_t n = 0;
    struct store *s = store_pool_get(ctx->readers);
    bool none = false;
    if (customer_tg != 0) {
        struct customer *c = NULL;
        struct err ce = {0};
        rc = store_customer_get_by_tg(s, customer_tg, req->arena, &c, &ce);
        if (rc == ERR_NOTFOUND) {
            none = true;   /* an unknown customer simply has no tickets */
            rc = 0;
        } else if (rc != 0) {
            e = ce;
        } else {
            f.customer_id = c->id;
        }
    }
    if (rc == 0 && !none)
        rc = store_ticket_list(s, &f, req->arena, &ts, &n, &e);
    if (rc == 0 && n > 0) {
        struct customer **cache = arena_alloc(req->arena, n * sizeof(struct customer *));
        size_t ncache = 0;
        if (cache == NULL)
            rc = err_set(&e, ERR_TOOBIG, "request arena exhausted");
        for (size_t i = 0; rc == 0 && i < n; i++) {
            struct customer *c = NULL;
            rc = customer_of(s, req->arena, ts[i], &cache, &ncache, &c, &e);
            if (rc == 0)
                json_array_append_new(list, api_json_ticket(ts[i], c));
        }
    }
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        json_decref(list);
        api_error(resp, &e);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "tickets", list);
    json_object_set_new(o, "next_after",
                        n > 0 && n == (size_t)f.limit ? json_integer(ts[n - 1]->id)
                                                      : json_null());
    api_reply(resp, 200, o);
}

/* ---- GET /v1/tickets/{id}, /thread ------------------------------------------------ */

void api_tickets_get(struct http_req *req, struct http_resp *resp,
                     const struct router_params *params, void *ud)
{
    struct api_ctx *ctx = ud;
    struct err e = {0};
    int64_t id = 0;
    if (api_path_id(params, &id, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    reply_ticket(ctx, req, resp, 200, id, NULL, false);
}

void api_tickets_thread(struct http_req *req, struct http_resp *resp,
                        const struct router_params *params, void *ud)
{
    struct api_ctx *ctx = ud;
    struct err e = {0};
    int64_t id = 0;
    if (api_path_id(params, &id, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    struct ticket *t = NULL;
    struct thread_entry *entries = NULL;
    size_t n = 0;
    struct store *s = store_pool_get(ctx->readers);
    int rc = store_ticket_get(s, id, req->arena, &t, &e);
    if (rc == 0)
        rc = store_thread_list(s, id, req->arena, &entries, &n, &e);
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, api_json_entry(&entries[i]));
    json_t *o = json_object();
    json_object_set_new(o, "ticket_id", json_integer(id));
    json_object_set_new(o, "entries", list);
    api_reply(resp, 200, o);
}

/* ---- PATCH /v1/tickets/{id} ---------------------------------------------------------- */

/* The ticket id of the path and the JSON body (only `fields`); -1 when
 * either is bad, the error answered. */
static int id_and_body(struct http_req *req, struct http_resp *resp,
                       const struct router_params *params, const char *const *fields,
                       int64_t *id, json_t **body)
{
    struct err e = {0};
    if (api_path_id(params, id, &e) != 0) {
        api_error(resp, &e);
        return -1;
    }
    return api_body(req, resp, fields, body) != 0 ? -1 : 0;
}

void api_tickets_update(struct http_req *req, struct http_resp *resp,
                        const struct router_params *params, void *ud)
{
    static const char *const fields[] = {"status", "priority", "group", "assignee",
                                         "reason", NULL};
    struct api_ctx *ctx = ud;
    struct err e = {0};
    int64_t id = 0;
    json_t *body = NULL;
    if (id_and_body(req, resp, params, fields, &id, &body) != 0)
        return;

    struct hook_inbound_cmd cmd = {.type = HOOK_INBOUND_UPDATE, .ticket_id = id};
    int rc = hook_inbound_update_parse(body, &cmd.update, &e);
    if (rc != 0) {
        json_decref(body);
        api_error(resp, &e);
        return;
    }
    struct engine_event ev;
    api_tickets_event(&cmd, &ev);
    ev.actor = api_actor(req);

    struct engine_result res;
    rc = api_submit(ctx, &ev, &res);
    json_decref(body);
    if (rc != 0) {
        api_error(resp, &res.err);
        return;
    }
    reply_ticket(ctx, req, resp, 200, res.ticket_id ? res.ticket_id : id, NULL, false);
}

/* ---- POST /v1/tickets/{id}/replies, /notes --------------------------------------- */

/*
 * A canned response that was not sent: 422 whose error also lists the
 * variables that had no value ("missing"), so a help desk can ask for them.
 */
static void template_refused(struct http_resp *resp, const struct engine_result *res)
{
    json_t *missing = json_array();
    const char *p = res->missing;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        json_array_append_new(missing, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    json_t *err = json_pack("{s:s, s:s, s:s, s:o}", "code", err_id(res->err.code), "message",
                            res->err.msg, "field", "template", "missing", missing);
    api_reply(resp, err_http_status(res->err.code), json_pack("{s:o}", "error", err));
}

static void agent_message(struct http_req *req, struct http_resp *resp,
                          const struct router_params *params, struct api_ctx *ctx,
                          enum hook_inbound_type type)
{
    static const char *const note_fields[] = {"agent", "text", NULL};
    static const char *const reply_fields[] = {"agent", "text", "template", NULL};
    bool reply = type == HOOK_INBOUND_REPLY;
    struct err e = {0};
    int64_t id = 0;
    json_t *body = NULL;
    if (id_and_body(req, resp, params, reply ? reply_fields : note_fields, &id, &body) != 0)
        return;
    struct hook_inbound_cmd cmd = {.type = type, .ticket_id = id};
    const char *tname = NULL;
    int rc = 0;
    if (reply && json_object_get(body, "template") != NULL) {
        rc = jx_get_text(body, "template", &tname, &e);
        if (rc == 0 && json_object_get(body, "text") != NULL)
            rc = err_field(&e, ERR_INVAL, "template", "give either text or template, not both");
        if (rc == 0)
            rc = jx_get_text(body, "agent", &cmd.agent, &e);
    } else {
        rc = hook_inbound_message_parse(body, &cmd.agent, &cmd.text, &e);
    }
    if (rc != 0) {
        json_decref(body);
        api_error(resp, &e);
        return;
    }
    struct engine_event ev;
    api_tickets_event(&cmd, &ev);
    ev.actor = api_actor(req);
    ev.template_name = tname;

    struct engine_result res;
    rc = api_submit(ctx, &ev, &res);
    json_decref(body);
    if (rc != 0 && res.missing[0] != '\0') {
        template_refused(resp, &res);
        return;
    }
    if (rc != 0) {
        api_error(resp, &res.err);
        return;
    }
    json_t *extra = json_object();
    json_object_set_new(extra, "seq", json_integer(res.thread_seq));
    reply_ticket(ctx, req, resp, 201, res.ticket_id ? res.ticket_id : id, extra, true);
}

void api_tickets_reply(struct http_req *req, struct http_resp *resp,
                       const struct router_params *params, void *ud)
{
    agent_message(req, resp, params, ud, HOOK_INBOUND_REPLY);
}

void api_tickets_note(struct http_req *req, struct http_resp *resp,
                      const struct router_params *params, void *ud)
{
    agent_message(req, resp, params, ud, HOOK_INBOUND_NOTE);
}

/* ---- POST /v1/tickets/{id}/escalations ---------------------------------------------- */

/* An optional string member that may also be null (→ NULL). */
static int str_or_null(json_t *body, const char *key, const char **out, struct err *e)
{
    *out = NULL;
    json_t *v = json_object_get(body, key);
    if (v == NULL || json_is_null(v))
        return 0;
    return jx_get_str(body, key, false, out, e);
}

void api_tickets_escalate(struct http_req *req, struct http_resp *resp,
                          const struct router_params *params, void *ud)
{
    static const char *const fields[] = {"policy", "reason", NULL};
    struct api_ctx *ctx = ud;
    struct err e = {0};
    int64_t id = 0;
    json_t *body = NULL;
    if (id_and_body(req, resp, params, fields, &id, &body) != 0)
        return;
    struct engine_event ev = {.type = ENGINE_TICKET_ESCALATE, .ticket_id = id,
                              .actor = api_actor(req)};
    int rc = str_or_null(body, "policy", &ev.policy, &e);
    if (rc == 0)
        rc = str_or_null(body, "reason", &ev.reason, &e);
    struct engine_result res;
    if (rc == 0 && (rc = api_submit(ctx, &ev, &res)) != 0)
        e = res.err;
    json_decref(body);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }
    json_t *extra = json_object();
    json_object_set_new(extra, "seq", json_integer(res.thread_seq));
    reply_ticket(ctx, req, resp, 200, id, extra, true);
}
