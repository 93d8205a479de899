/*
 * api_agents.c — agents:
 *
 *   GET   /v1/agents          every configured agent, in configuration order
 *   GET   /v1/agents/{id}     one
 *   PATCH /v1/agents/{id}     {"availability": "online|away|offline"}
 *
 * Who an agent is comes from the current configuration; availability and
 * times from store_agent_state_list; the active ticket count from
 * store_load_by_agent. An id the configuration does not know is 404.
 */
#include "http/api_impl.h"

#include <string.h>

/* Store-side facts about every agent, read in one go. */
struct agent_facts {
    struct agent_state *states;
    size_t nstates;
    struct agent_load *loads;
    size_t nloads;
};

static int load_facts(struct api_ctx *ctx, struct arena *a, struct agent_facts *f,
                      struct err *e)
{
    memset(f, 0, sizeof *f);
    struct store *s = store_pool_get(ctx->readers);
    int rc = store_agent_state_list(s, a, &f->states, &f->nstates, e);
    if (rc == 0)
        rc = store_load_by_agent(s, a, &f->loads, &f->nloads, e);
    store_pool_put(ctx->readers, s);
    return rc;
}

static const struct agent_state *state_of(const struct agent_facts *f, const char *id)
{
    for (size_t i = 0; i < f->nstates; i++)
        if (f->states[i].agent_id != NULL && strcmp(f->states[i].agent_id, id) == 0)
            return &f->states[i];
    return NULL;
}

static int64_t load_of(const struct agent_facts *f, const char *id)
{
    for (size_t i = 0; i < f->nloads; i++)
        if (f->loads[i].agent_id != NULL && strcmp(f->loads[i].agent_id, id) == 0)
            return f->loads[i].active;
    return 0;
}

static json_t *render(const struct cfg_agent *a, const struct agent_facts *f)
{
    return api_json_agent(a, state_of(f, a->id), load_of(f, a->id));
}

void api_agents_list(struct http_req *req, struct http_resp *resp,
                     const struct router_params *params, void *ud)
{
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    struct agent_facts f;
    if (load_facts(ctx, req->arena, &f, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    struct cfg *c = engine_cfg(ctx->engine);
    json_t *list = json_array();
    for (size_t i = 0; i < c->nagents; i++)
        json_array_append_new(list, render(&c->agents[i], &f));
    cfg_unref(&c);
    json_t *o = json_object();
    json_object_set_new(o, "agents", list);
    api_reply(resp, 200, o);
}

/* The agent {id} of the current configuration as JSON, or a 404 written. */
static void reply_agent(struct api_ctx *ctx, struct http_req *req, struct http_resp *resp,
                        const char *id)
{
    struct err e = {0};
    struct agent_facts f;
    if (load_facts(ctx, req->arena, &f, &e) != 0) {
        api_error(resp, &e);
        return;
    }
    struct cfg *c = engine_cfg(ctx->engine);
    const struct cfg_agent *a = cfg_agent_find(c, id);
    json_t *o = a != NULL ? render(a, &f) : NULL;
    cfg_unref(&c);
    if (o == NULL) {
        err_field(&e, ERR_NOTFOUND, "id", "unknown agent '%.100s'", id);
        api_error(resp, &e);
        return;
    }
    api_reply(resp, 200, o);
}

void api_agents_get(struct http_req *req, struct http_resp *resp,
                    const struct router_params *params, void *ud)
{
    reply_agent(ud, req, resp, router_param(params, "id"));
}

void api_agents_update(struct http_req *req, struct http_resp *resp,
                       const struct router_params *params, void *ud)
{
    static const char *const fields[] = {"availability", NULL};
    struct api_ctx *ctx = ud;
    const char *id = router_param(params, "id");
    struct err e = {0};

    struct cfg *c = engine_cfg(ctx->engine);
    bool known = cfg_agent_find(c, id) != NULL;
    cfg_unref(&c);
    if (!known) {
        err_field(&e, ERR_NOTFOUND, "id", "unknown agent '%.100s'", id);
        api_error(resp, &e);
        return;
    }

    json_t *body = NULL;
    if (api_body(req, resp, fields, &body) != 0)
        return;
    const char *avail = NULL;
    struct engine_event ev = {.type = ENGINE_AGENT_AVAILABILITY, .agent_id = id};
    int rc = jx_get_str(body, "availability", true, &avail, &e);
    if (rc == 0)
        rc = agent_avail_parse(avail, &ev.availability, &e);
    json_decref(body);   /* nothing of it is borrowed past this point */
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }
    ev.actor = api_actor(req);
    struct engine_result res;
    if (api_submit(ctx, &ev, &res) != 0) {
        api_error(resp, &res.err);
        return;
    }
    reply_agent(ctx, req, resp, id);
}
