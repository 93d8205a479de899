/*
 * agent.c — availability names and the "can take a ticket" rule.
 */
#include "desk/agent.h"

#include <string.h>

static const char *const avail_names[AGENT_AVAIL_COUNT] = {"online", "away", "offline"};

const char *agent_avail_name(enum agent_avail a)
{
    return (unsigned)a < AGENT_AVAIL_COUNT ? avail_names[a] : "unknown";
}

int agent_avail_parse(const char *s, enum agent_avail *out, struct err *e)
{
    for (int i = 0; i < AGENT_AVAIL_COUNT; i++) {
        if (s != NULL && strcmp(s, avail_names[i]) == 0) {
            *out = (enum agent_avail)i;
            return 0;
        }
    }
    return err_field(e, ERR_INVAL, "availability",
                     "unknown availability '%s' (expected online, away or offline)",
                     s ? s : "");
}

bool agent_can_take(enum agent_avail a, int active_tickets, int capacity)
{
    return a == AGENT_ONLINE && (capacity <= 0 || active_tickets < capacity);
}
