/*
 * tg_update.h — one Telegram Update (JSON) → one engine_event.
 *
 * The ingest (long polling or webhook) receives Updates and must turn each
 * into what the desk understands:
 *
 *   private chat, message from a person    → ENGINE_CUSTOMER_MESSAGE
 *   private chat, edited_message           → ENGINE_CUSTOMER_EDIT
 *   staff group, message inside a topic    → ENGINE_STAFF_MESSAGE (topic_id)
 *   private chat, inline button pressed    → ENGINE_CUSTOMER_MESSAGE with
 *     (callback_query)                       callback_id and callback_data, no text
 *   anything else                          → no event (TG_UPDATE_SKIP)
 *
 * "Anything else" is: service messages (forum_topic_created/closed/...,
 * new_chat_members, pinned_message ...), messages from bots (the bot's own
 * service messages come back as updates), staff-group messages in the
 * General topic, other chats, edits outside private chats, callback
 * queries outside private chats and every other update type. A skipped update still has an
 * update_id the offset must move past; the caller handles that (see
 * tg_ingest.h).
 *
 * Message text is the text, else the caption, else a placeholder naming
 * the media: "[photo]", "[document: report.pdf]", "[voice]" ...
 */
#ifndef TGCRM_TELEGRAM_TG_UPDATE_H
#define TGCRM_TELEGRAM_TG_UPDATE_H

#include <jansson.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "engine/engine.h"

/* tg_update_to_event's "valid update, but nothing for the engine". */
#define TG_UPDATE_SKIP 1

/*
 * Convert `update` (an Update object) for a desk whose staff forum group
 * is staff_group_id (0 = none configured: every group message is skipped).
 *
 * Returns 0 with *ev filled (zeroed first; update_id always set);
 * TG_UPDATE_SKIP with ev->update_id set (and `why` set to a static reason
 * for the log when not NULL); ERR_INVAL when the update has no integer
 * update_id (nothing to advance past).
 *
 * Strings in *ev are borrowed from `update` (keep it alive until the event
 * is submitted) or allocated in `a` (placeholders); ERR_TOOBIG when the
 * arena is exhausted.
 */
int tg_update_to_event(json_t *update, int64_t staff_group_id, struct arena *a,
                       struct engine_event *ev, const char **why, struct err *e);

#endif
