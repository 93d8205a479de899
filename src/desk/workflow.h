/*
 * workflow.h — the ticket status workflow.
 *
 *     open → in_progress → on_hold ⇄ in_progress → resolved → closed
 *
 * plus reopening: a new customer message on a resolved (or, when the
 * configuration says so, closed) ticket brings it back to open. Who asks
 * matters: agents and API clients may make the manual moves; only the
 * system (a customer message) reopens. Everything else is refused with
 * ERR_CONFLICT and a message that lists what *is* allowed.
 */
#ifndef TGCRM_DESK_WORKFLOW_H
#define TGCRM_DESK_WORKFLOW_H

#include <stdbool.h>

#include "base/err.h"
#include "desk/ticket.h"

enum workflow_actor {
    WORKFLOW_BY_AGENT = 0,    /* an agent command, the REST API, the help desk */
    WORKFLOW_BY_CUSTOMER      /* a customer message (reopen) */
};

/* What a customer message does to a ticket that is no longer active. */
enum workflow_reopen {
    WORKFLOW_REOPEN = 0,      /* resolved/closed tickets reopen */
    WORKFLOW_NEW_TICKET       /* resolved reopens; closed starts a new ticket */
};

/*
 * Check a transition. 0 when allowed (from == to is refused as well: it is
 * not a transition, and the API reports it instead of pretending to act).
 * ERR_CONFLICT "illegal transition resolved → on_hold (allowed: closed,
 * in_progress)" otherwise, with field "status".
 */
int workflow_check(enum ticket_status from, enum ticket_status to,
                   enum workflow_actor by, struct err *e);

/* True when workflow_check would allow it (no message). */
bool workflow_allowed(enum ticket_status from, enum ticket_status to,
                      enum workflow_actor by);

/*
 * The status after an agent's reply to the customer: an open ticket moves
 * to in_progress (the article's "agent replies → In Progress"); all other
 * statuses stay as they are.
 */
enum ticket_status workflow_after_agent_reply(enum ticket_status s);

/* What to do with a customer message given the latest ticket's status. */
enum workflow_inbound {
    WORKFLOW_APPEND = 0,      /* the ticket is active: add to its thread */
    WORKFLOW_APPEND_REOPEN,   /* reopen the ticket, then add */
    WORKFLOW_OPEN_NEW         /* open a new ticket */
};
enum workflow_inbound workflow_on_customer_message(enum ticket_status s,
                                                   enum workflow_reopen policy);

int workflow_reopen_parse(const char *s, enum workflow_reopen *out);
const char *workflow_reopen_name(enum workflow_reopen r);

#endif
