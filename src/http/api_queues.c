/*
 * api_queues.c — GET /v1/queues: one entry per configured group, in
 * configuration order, with ticket counts per status, the unassigned
 * backlog and the agents who serve the group (their availability, load
 * and capacity). A group without tickets shows zeros, not absence.
 */
#include "http/api_impl.h"

#include <string.h>

static const struct group_load *group_of(const struct group_load *g, size_t n,
                                         const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (g[i].group != NULL && strcmp(g[i].group, name) == 0)
            return &g[i];
    return NULL;
}

static enum agent_avail avail_of(const struct agent_state *st, size_t n,
                                 const struct cfg_agent *a)
{
    for (size_t i = 0; i < n; i++)
        if (st[i].agent_id != NULL && strcmp(st[i].agent_id, a->id) == 0)
            return st[i].availability;
    /* Never stored yet: the configured initial availability. */
    enum agent_avail v = AGENT_ONLINE;
    if (a->availability != NULL)
        agent_avail_parse(a->availability, &v, NULL);
    return v;
}

static int64_t active_of(const struct agent_load *l, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].agent_id != NULL && strcmp(l[i].agent_id, id) == 0)
            return l[i].active;
    return 0;
}

void api_queues_list(struct http_req *req, struct http_resp *resp,
                     const struct router_params *params, void *ud)
{
    (void)params;
    struct api_ctx *ctx = ud;
    struct err e = {0};
    struct group_load *groups = NULL;
    struct agent_load *loads = NULL;
    struct agent_state *states = NULL;
    size_t ngroups = 0, nloads = 0, nstates = 0;
    struct store *s = store_pool_get(ctx->readers);
    int rc = store_load_by_group(s, req->arena, &groups, &ngroups, &e);
    if (rc == 0)
        rc = store_load_by_agent(s, req->arena, &loads, &nloads, &e);
    if (rc == 0)
        rc = store_agent_state_list(s, req->arena, &states, &nstates, &e);
    store_pool_put(ctx->readers, s);
    if (rc != 0) {
        api_error(resp, &e);
        return;
    }

    struct cfg *c = engine_cfg(ctx->engine);
    json_t *list = json_array();
    for (size_t i = 0; i < c->ngroups; i++) {
        const struct cfg_group *g = &c->groups[i];
        const struct group_load *gl = group_of(groups, ngroups, g->name);
        static const struct group_load zero;
        if (gl == NULL)
            gl = &zero;
        json_t *o = json_object();
        json_object_set_new(o, "group", json_string(g->name));
        json_object_set_new(o, "title", json_string(g->title ? g->title : g->name));
        json_object_set_new(o, "level", json_integer(g->level));
        int64_t active = 0;
        for (int st = 0; st < TICKET_STATUS_COUNT; st++) {
            json_object_set_new(o, ticket_status_name((enum ticket_status)st),
                                json_integer(gl->by_status[st]));
            if (ticket_status_is_active((enum ticket_status)st))
                active += gl->by_status[st];
        }
        json_object_set_new(o, "active", json_integer(active));
        json_object_set_new(o, "unassigned", json_integer(gl->unassigned_active));
        json_object_set_new(o, "oldest_unassigned_at",
                            jx_time_or_null(gl->oldest_unassigned_at));
        json_t *agents = json_array();
        int64_t online = 0;
        for (size_t k = 0; k < c->nagents; k++) {
            const struct cfg_agent *a = &c->agents[k];
            if (!cfg_agent_in_group(a, g->name))
                continue;
            enum agent_avail av = avail_of(states, nstates, a);
            if (av == AGENT_ONLINE)
                online++;
            json_t *ao = json_object();
            json_object_set_new(ao, "id", json_string(a->id));
            json_object_set_new(ao, "availability", json_string(agent_avail_name(av)));
            json_object_set_new(ao, "active_tickets",
                                json_integer(active_of(loads, nloads, a->id)));
            json_object_set_new(ao, "capacity", json_integer(a->capacity));
            json_array_append_new(agents, ao);
        }
        json_object_set_new(o, "agents_online", json_integer(online));
        json_object_set_new(o, "agents", agents);
        json_array_append_new(list, o);
    }
    cfg_unref(&c);
    json_t *o = json_object();
    json_object_set_new(o, "queues", list);
    api_reply(resp, 200, o);
}
