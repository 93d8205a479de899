/*
 * desk_world.h — the state the engine hands to the routing and escalation
 * rules (src/desk/route.h, escalate.h), built in memory for unit tests:
 * a cfg, its compiled route and escalation sets, every configured agent
 * (online, no tickets, never assigned unless a test says otherwise), one
 * round-robin cursor per group, and an arena for the decisions' texts.
 *
 * Also the cell syntax the rule case files (tests/cases/routing.tsv,
 * escalation.tsv) share: "-" for nothing, "\n"/"\t" escapes, agent
 * states "id=availability[,active[,last_assigned_seconds]]".
 */
#ifndef TGCRM_TESTS_DESK_WORLD_H
#define TGCRM_TESTS_DESK_WORLD_H

#include <stddef.h>

#include "desk/escalate.h"
#include "desk/route.h"

#define WORLD_MAX_AGENTS 16
#define WORLD_MAX_GROUPS 16

struct world {
    struct cfg *cfg;                        /* one reference */
    struct route_set *rs;
    struct escalate_set *es;
    struct route_agent agents[WORLD_MAX_AGENTS];
    size_t nagents;
    struct route_cursor cursors[WORLD_MAX_GROUPS];
    size_t ncursors;
    struct arena *a;
};

/* Load a config file / string and compile it; the test fails if either fails. */
void world_load_file(struct world *w, const char *path);
void world_load(struct world *w, const char *yaml);
void world_close(struct world *w);

/* The agent with this id (the test fails if there is none). */
struct route_agent *world_agent(struct world *w, const char *id);

/* NULL for "-", else s. */
const char *world_opt(const char *s);

/* A heap copy of a cell with "\n", "\t" unescaped ("-" → ""). Caller frees. */
char *world_unescape(const char *s);

/* Apply "id=availability[,active[,last_assigned_seconds]] ..." ("-" = none);
 * `where` names the file and line for failures. */
void world_set_agents(struct world *w, const char *spec, const char *where);

/* Apply "group:agent ..." round-robin cursors ("-" = none). */
void world_set_cursors(struct world *w, const char *spec);

#endif
