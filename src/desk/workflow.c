/*
 * workflow.c — the status transition table (see workflow.h).
 */
#include "desk/workflow.h"

#include <stdio.h>
#include <string.h>

/* allowed[by][from][to] */
static const bool allowed[2][TICKET_STATUS_COUNT][TICKET_STATUS_COUNT] = {
    [WORKFLOW_BY_AGENT] = {
        [TICKET_OPEN]        = {[TICKET_IN_PROGRESS] = true},
        [TICKET_IN_PROGRESS] = {[TICKET_ON_HOLD] = true, [TICKET_RESOLVED] = true},
        [TICKET_ON_HOLD]     = {[TICKET_IN_PROGRESS] = true},
        [TICKET_RESOLVED]    = {[TICKET_CLOSED] = true, [TICKET_IN_PROGRESS] = true},
        [TICKET_CLOSED]      = {0},
    },
    [WORKFLOW_BY_CUSTOMER] = {
        [TICKET_RESOLVED]    = {[TICKET_OPEN] = true},
        [TICKET_CLOSED]      = {[TICKET_OPEN] = true},
    },
};

bool workflow_allowed(enum ticket_status from, enum ticket_status to,
                      enum workflow_actor by)
{
    if ((unsigned)from >= TICKET_STATUS_COUNT || (unsigned)to >= TICKET_STATUS_COUNT ||
        (unsigned)by > WORKFLOW_BY_CUSTOMER)
        return false;
    return allowed[by][from][to];
}

int workflow_check(enum ticket_status from, enum ticket_status to,
                   enum workflow_actor by, struct err *e)
{
    if (workflow_allowed(from, to, by))
        return 0;
    if (from == to)
        return err_field(e, ERR_CONFLICT, "status", "ticket is already %s",
                         ticket_status_name(from));
    char list[128] = "";
    size_t off = 0;
    for (int s = 0; s < TICKET_STATUS_COUNT; s++) {
        if (!workflow_allowed(from, (enum ticket_status)s, by))
            continue;
        int n = snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "",
                         ticket_status_name((enum ticket_status)s));
        if (n > 0 && (size_t)n < sizeof list - off)
            off += (size_t)n;
    }
    return err_field(e, ERR_CONFLICT, "status",
                     "illegal transition %s -> %s (allowed from %s: %s)",
                     ticket_status_name(from), ticket_status_name(to),
                     ticket_status_name(from), off ? list : "none");
}

enum ticket_status workflow_after_agent_reply(enum ticket_status s)
{
    return s == TICKET_OPEN ? TICKET_IN_PROGRESS : s;
}

enum workflow_inbound workflow_on_customer_message(enum ticket_status s,
                                                   enum workflow_reopen policy)
{
    switch (s) {
    case TICKET_RESOLVED:
        return WORKFLOW_APPEND_REOPEN;
    case TICKET_CLOSED:
        return policy == WORKFLOW_REOPEN ? WORKFLOW_APPEND_REOPEN : WORKFLOW_OPEN_NEW;
    default:
        return WORKFLOW_APPEND;
    }
}

int workflow_reopen_parse(const char *s, enum workflow_reopen *out)
{
    if (s != NULL && strcmp(s, "reopen") == 0) {
        *out = WORKFLOW_REOPEN;
        return 0;
    }
    if (s != NULL && strcmp(s, "new_ticket") == 0) {
        *out = WORKFLOW_NEW_TICKET;
        return 0;
    }
    return ERR_INVAL;
}

const char *workflow_reopen_name(enum workflow_reopen r)
{
    return r == WORKFLOW_NEW_TICKET ? "new_ticket" : "reopen";
}
