/*
 * agent.h — agents, their availability, and the groups (queues) they serve.
 *
 * Who an agent is (id, name, Telegram user, groups, capacity) comes from the
 * configuration; how an agent is *now* (availability, when last assigned)
 * is state kept in the store, so it survives restarts and config reloads.
 */
#ifndef TGCRM_DESK_AGENT_H
#define TGCRM_DESK_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum agent_avail {
    AGENT_ONLINE = 0,
    AGENT_AWAY,
    AGENT_OFFLINE,
    AGENT_AVAIL_COUNT
};

/* Runtime state of one agent, as stored. Strings owned by the load arena. */
struct agent_state {
    const char *agent_id;
    enum agent_avail availability;
    int64_t changed_at;        /* when availability last changed (ms) */
    int64_t last_assigned_at;  /* when a ticket was last assigned (ms), 0 never */
};

const char *agent_avail_name(enum agent_avail a);
int agent_avail_parse(const char *s, enum agent_avail *out, struct err *e);

/*
 * Whether an agent may receive a new ticket: online and with fewer active
 * tickets than its capacity (capacity 0 means unlimited).
 */
bool agent_can_take(enum agent_avail a, int active_tickets, int capacity);

#endif
