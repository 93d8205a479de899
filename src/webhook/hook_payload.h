/*
 * hook_payload.h — the JSON body of a webhook delivery, built from one event.
 *
 * The engine writes every domain event (struct event_row) with a full
 * ticket snapshot and the thread length at that moment in its `data`. A
 * delivery body is (docs/webhooks.md, docs/webhook-payload.schema.json):
 *
 *   {"id": "evt_<event id>", "type", "occurred_at" (ISO 8601, ms, UTC),
 *    "ticket": <data.ticket, or null for events about no ticket>,
 *    ...every other member of data but ticket and thread_seq ("changes",
 *       "actor" ...; members named like the body's own are dropped),
 *    ["part": k, "parts": n | "truncated": true, "omitted": m],
 *    "thread": [<Entry> ...]}
 *
 * The thread is the ticket's entries with seq <= data.thread_seq, in seq
 * order, rendered with view_entry: the thread as it was when the event
 * happened, even if the delivery is made later.
 *
 * Size: a body longer than max_payload bytes is never cut silently.
 *   split     several bodies with the same "id" and "part" 1..n of
 *             "parts" n; each carries the ticket and every event field, and
 *             the thread is divided across them in order (concatenating the
 *             parts' threads gives the whole thread). Each part is at most
 *             max_payload bytes, with one exception: an entry that is larger
 *             than max_payload on its own (with the event fields) goes alone
 *             in its own part, which then exceeds max_payload. Likewise
 *             event fields that alone exceed max_payload are sent whole.
 *   truncate  one body whose thread keeps the newest entries that fit,
 *             with "truncated": true and "omitted": <entries left out>
 *             (possibly every one; the event fields are still sent whole).
 */
#ifndef TGCRM_WEBHOOK_HOOK_PAYLOAD_H
#define TGCRM_WEBHOOK_HOOK_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "store/store.h"

/*
 * Build the delivery bodies of event `ev` (read through `s`, which must see
 * the event's ticket thread). max_payload <= 0 means no limit. `split`
 * chooses oversize "split" (true) or "truncate" (false).
 * On success *bodies is an arena array of *n >= 1 NUL-terminated strings
 * (owned by `a`, as is the array); n > 1 only when split.
 * Errors: ERR_INVAL when ev->data is not a JSON object (or its ticket /
 * thread_seq members have the wrong type), the store's errors when the
 * thread cannot be read, ERR_NOMEM "arena exhausted" when `a` hits its cap.
 */
int hook_payload_build(struct store *s, const struct event_row *ev, int64_t max_payload,
                       bool split, struct arena *a, char ***bodies, size_t *n,
                       struct err *e);

/*
 * The webhook-id header of part `part` (1-based) of `parts` for event id
 * `event_id`: "evt_<id>" for a whole body, "evt_<id>_p<part>" for a part,
 * so receivers that drop duplicate webhook-ids keep every part while the
 * body's "id" stays the event's. No '.', as the signing scheme requires.
 * Writes into out (HOOK_PAYLOAD_MSGID_MAX bytes); returns out.
 */
#define HOOK_PAYLOAD_MSGID_MAX 48
char *hook_payload_msg_id(int64_t event_id, size_t part, size_t parts,
                          char out[HOOK_PAYLOAD_MSGID_MAX]);

#endif
