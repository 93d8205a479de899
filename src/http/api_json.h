/*
 * api_json.h — the public JSON shapes of the API's records.
 *
 * One renderer per record (Ticket, Entry, Agent of docs/openapi.yaml), so
 * the REST API and later the webhook payloads show the same object. Ticket
 * and Entry are the shapes of desk/view.h — the engine already writes them
 * into domain events — and these functions delegate to it so the two can
 * never drift; Agent joins configuration (identity) and store state, which
 * desk/ cannot see, so it is rendered here.
 *
 * Every function returns a NEW reference (json_decref it), never NULL.
 */
#ifndef TGCRM_HTTP_API_JSON_H
#define TGCRM_HTTP_API_JSON_H

#include <stdint.h>

#include "base/cfg.h"
#include "base/jx.h"
#include "desk/agent.h"
#include "desk/thread.h"
#include "desk/ticket.h"

/* <Ticket>; `c` is the ticket's customer (NULL renders customer: null,
 * which the API never sends: handlers load the customer first). */
json_t *api_json_ticket(const struct ticket *t, const struct customer *c);

/* <Entry> of a ticket's thread. */
json_t *api_json_entry(const struct thread_entry *te);

/*
 * <Agent>: identity from the configuration `a`, runtime state `st` (NULL
 * when the store has none yet: the configured initial availability is
 * shown and the times are null) and the number of active tickets held.
 */
json_t *api_json_agent(const struct cfg_agent *a, const struct agent_state *st,
                       int64_t active_tickets);

#endif
