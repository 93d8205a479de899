/*
 * hook_inbound.h — inbound webhooks from the external help desk: checking
 * a request and turning its JSON body into a ticket command.
 *
 * POST /v1/inbound/<endpoint> (src/http/api_inbound.c) carries one command
 * per request, signed like our outbound deliveries (Standard Webhooks v1,
 * with the endpoint's secret and, during a rotation, its previous secret):
 *
 *   {"type":"ticket.update","ticket_id":42,"status":"resolved",
 *    "priority":"high","group":"billing","assignee":"alice","reason":"..."}
 *   {"type":"ticket.reply","ticket_id":42,"agent":"alice","text":"..."}
 *   {"type":"ticket.note", "ticket_id":42,"agent":"alice","text":"..."}
 *
 * The three types are the three REST writes on a ticket (PATCH
 * /v1/tickets/{id}, POST .../replies, POST .../notes) with the ticket id
 * in the body, and the REST handlers parse their bodies with the same
 * functions (hook_inbound_update_parse, hook_inbound_message_parse), so a
 * field means and checks the same in both. docs/webhooks.md ("Inbound")
 * and docs/inbound-payload.schema.json describe the format.
 *
 * Pure: no store, no engine, no clock (`now` is passed in), no I/O. What a
 * command refers to (the ticket, the agent, the group, whether the status
 * transition is allowed) is checked by the engine when it applies it.
 */
#ifndef TGCRM_WEBHOOK_HOOK_INBOUND_H
#define TGCRM_WEBHOOK_HOOK_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"
#include "base/jx.h"
#include "desk/ticket.h"
#include "webhook/hook_sign.h"

/* Longest accepted webhook-id (it becomes part of an idempotency key). */
#define HOOK_INBOUND_ID_MAX 255

enum hook_inbound_type {
    HOOK_INBOUND_UPDATE = 0,   /* "ticket.update": status / priority / group / assignee */
    HOOK_INBOUND_REPLY,        /* "ticket.reply": an agent's answer, relayed to the customer */
    HOOK_INBOUND_NOTE,         /* "ticket.note": an internal note */
    HOOK_INBOUND_TYPE_COUNT
};

/*
 * The fields of a ticket change. Only the members flagged (or, for group,
 * non-NULL) are changed. Strings are borrowed from wherever the parser
 * read them (see each parser).
 */
struct hook_inbound_update {
    bool set_status;     enum ticket_status status;
    bool set_priority;   enum ticket_priority priority;
    const char *group;   /* NULL = unchanged */
    bool set_assignee;   const char *assignee;   /* NULL with set_assignee = unassign */
    const char *reason;  /* recorded in the thread; may be NULL */
};

/* One inbound command. */
struct hook_inbound_cmd {
    enum hook_inbound_type type;
    int64_t ticket_id;                 /* > 0 */
    struct hook_inbound_update update; /* HOOK_INBOUND_UPDATE */
    const char *agent;                 /* HOOK_INBOUND_REPLY / _NOTE: agent id, not blank */
    const char *text;                  /* HOOK_INBOUND_REPLY / _NOTE: not blank */
};

/* "ticket.update", "ticket.reply", "ticket.note"; "unknown" for others. */
const char *hook_inbound_type_name(enum hook_inbound_type t);

/*
 * Authenticate a request for endpoint `w` at `now` (Unix seconds from the
 * caller's clock): the three headers present, webhook-id well formed (1 to
 * HOOK_INBOUND_ID_MAX printable ASCII characters without spaces or '.'),
 * webhook-timestamp within HOOK_SIGN_TOLERANCE_S of now, and some v1
 * signature made with w->secret or w->previous_secret over the raw body.
 * Errors name the header in e->field:
 *   ERR_AUTH  "missing header 'webhook-signature'", "stale timestamp: ...
 *             seconds behind/ahead of the server clock (tolerance 300 s)",
 *             "bad signature: ...";
 *   ERR_INVAL a malformed webhook-id or webhook-timestamp;
 *   ERR_CONFIG the endpoint's secret cannot be decoded (cfg.c refuses such
 *             secrets, so this means a bug, never the caller's fault).
 */
int hook_inbound_verify(const struct cfg_webhook *w, const struct hook_sign_headers *h,
                        const char *body, size_t len, int64_t now, struct err *e);

/*
 * Parse the body body[0..len) into *out. Strings are copied into `a` and
 * live as long as it. ERR_INVAL naming the field for malformed JSON, a
 * body that is not an object, a missing / wrongly typed / unknown field,
 * an unknown type, status or priority, a ticket_id that is not a positive
 * integer, a blank agent or text, or an update that changes nothing;
 * ERR_TOOBIG when `a` is exhausted.
 */
int hook_inbound_parse(const char *body, size_t len, struct arena *a,
                       struct hook_inbound_cmd *out, struct err *e);

/*
 * The change fields of a JSON object (status, priority, group, assignee,
 * reason; other members are not looked at): status and priority must be
 * known names, group a string, assignee and reason a string or null, and
 * at least one of status, priority, group, assignee must be present.
 * Strings are borrowed from obj. ERR_INVAL naming the field otherwise.
 * Shared by PATCH /v1/tickets/{id} and "ticket.update".
 */
int hook_inbound_update_parse(json_t *obj, struct hook_inbound_update *out, struct err *e);

/*
 * The "agent" and "text" members of a JSON object: both required strings,
 * neither empty nor only whitespace. Strings are borrowed from obj.
 * ERR_INVAL naming the field otherwise. Shared by POST
 * /v1/tickets/{id}/replies and /notes and "ticket.reply" / "ticket.note".
 */
int hook_inbound_message_parse(json_t *obj, const char **agent, const char **text,
                               struct err *e);

#endif
