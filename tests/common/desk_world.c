/*
 * desk_world.c — in-memory rule state for unit tests (see desk_world.h).
 */
#include "common/desk_world.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void world_open(struct world *w, struct cfg *c)
{
    memset(w, 0, sizeof *w);
    w->cfg = c;
    struct err e = {0};
    cr_assert_eq(route_compile(c, &w->rs, &e), 0, "route_compile: %s", e.msg);
    cr_assert_eq(escalate_compile(c, &w->es, &e), 0, "escalate_compile: %s", e.msg);
    cr_assert_leq(c->nagents, WORLD_MAX_AGENTS);
    cr_assert_leq(c->ngroups, WORLD_MAX_GROUPS);
    for (size_t i = 0; i < c->nagents; i++)
        route_agent_init(&w->agents[i], &c->agents[i], AGENT_ONLINE, 0, 0);
    w->nagents = c->nagents;
    for (size_t g = 0; g < c->ngroups; g++)
        w->cursors[g] = (struct route_cursor){ c->groups[g].name, NULL };
    w->ncursors = c->ngroups;
    w->a = arena_new(0);
}

void world_load_file(struct world *w, const char *path)
{
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load(path, &c, &e), 0, "%s", e.msg);
    world_open(w, c);
}

void world_load(struct world *w, const char *yaml)
{
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("t.yaml", yaml, strlen(yaml), &c, &e), 0, "%s", e.msg);
    world_open(w, c);
}

void world_close(struct world *w)
{
    route_free(&w->rs);
    escalate_free(&w->es);
    cr_assert_null(w->rs);
    cr_assert_null(w->es);
    cfg_unref(&w->cfg);
    arena_free(&w->a);
}

struct route_agent *world_agent(struct world *w, const char *id)
{
    for (size_t i = 0; i < w->nagents; i++)
        if (strcmp(w->agents[i].id, id) == 0)
            return &w->agents[i];
    cr_assert_fail("no agent '%s'", id);
    return NULL;
}

const char *world_opt(const char *s)
{
    return s == NULL || strcmp(s, "-") == 0 ? NULL : s;
}

char *world_unescape(const char *s)
{
    char *out = strdup(world_opt(s) ? s : ""), *o = out;
    for (const char *p = out; *p; p++) {
        if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't')) {
            *o++ = p[1] == 'n' ? '\n' : '\t';
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

void world_set_agents(struct world *w, const char *spec, const char *where)
{
    if (world_opt(spec) == NULL)
        return;
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        cr_assert_not_null(eq, "%s: agent state '%s' needs '='", where, tok);
        *eq = '\0';
        struct route_agent *ag = world_agent(w, tok);
        char *av = eq + 1, *comma = strchr(av, ',');
        if (comma)
            *comma = '\0';
        cr_assert_eq(agent_avail_parse(av, &ag->availability, NULL), 0,
                     "%s: availability '%s'", where, av);
        if (comma) {
            char *c2 = strchr(comma + 1, ',');
            ag->active = atoi(comma + 1);
            if (c2)
                ag->last_assigned_at = atoll(c2 + 1) * 1000;
        }
    }
    free(copy);
}

void world_set_cursors(struct world *w, const char *spec)
{
    if (world_opt(spec) == NULL)
        return;
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        cr_assert_not_null(colon, "cursor '%s' needs group:agent", tok);
        *colon = '\0';
        for (size_t g = 0; g < w->ncursors; g++)
            if (strcmp(w->cursors[g].group, tok) == 0)
                w->cursors[g].agent = arena_strdup(w->a, colon + 1);
    }
    free(copy);
}
