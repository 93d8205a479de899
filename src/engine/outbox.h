/*
 * outbox.h — the Telegram outbox rows the engine writes.
 *
 * This is the contract with tg_bridge (src/telegram/): every Bot API call
 * the desk wants made becomes one tg_outbox row, written in the same
 * transaction as the change that caused it. Rows to a ticket's topic carry
 * the placeholder "message_thread_id": "$topic", which the bridge resolves
 * from the ticket at send time — so a topic that is (re)created later is
 * still the right destination, and a row waits while the ticket has none.
 * Texts longer than Telegram's 4096 UTF-16 units become several rows, in
 * order, split by text_split without cutting a character.
 */
#ifndef TGCRM_ENGINE_OUTBOX_H
#define TGCRM_ENGINE_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "desk/intake.h"
#include "store/store.h"

#define OUTBOX_TOPIC_PLACEHOLDER "$topic"
#define OUTBOX_TEXT_MAX 4096

/* sendMessage to chat_id (a customer's private chat, or the staff group
 * when in_topic, then into the ticket's topic). Split as needed. */
int outbox_send_text(struct store *w, int64_t chat_id, bool in_topic, int64_t ticket_id,
                     const char *text, int64_t now, struct err *e);

/*
 * sendMessage of `text` into the ticket's topic, followed by a line that
 * mentions `agents` (borrowed): "@username" where an agent has one, else
 * the agent's name as a text_mention of its Telegram account, so everyone
 * is notified. A notice too long for one message goes out split, the
 * mentions then as plain names.
 */
int outbox_send_mentions(struct store *w, int64_t staff_chat, int64_t ticket_id,
                         const char *text, const struct cfg_agent *const *agents,
                         size_t nagents, int64_t now, struct err *e);

/* sendMessage of text to a private chat with an inline keyboard of
 * nbuttons buttons (one per row; none when 0), attached to the last part
 * when the text is split. */
int outbox_send_buttons(struct store *w, int64_t chat_id, const char *text,
                        const struct intake_button *buttons, size_t nbuttons, int64_t now,
                        struct err *e);

/* answerCallbackQuery for a button press in chat_id (the row's chat, so it
 * keeps that chat's order), with a notice for the customer or NULL. */
int outbox_answer_callback(struct store *w, int64_t chat_id, const char *callback_id,
                           const char *notice, int64_t now, struct err *e);

/* createForumTopic in the staff group for the ticket. */
int outbox_create_topic(struct store *w, int64_t staff_chat, int64_t ticket_id,
                        const char *name, int64_t now, struct err *e);

/* copyMessage of the customer's message into the ticket's topic. */
int outbox_copy_to_topic(struct store *w, int64_t staff_chat, int64_t from_chat,
                         int64_t message_id, int64_t ticket_id, int64_t now,
                         struct err *e);

/* closeForumTopic / reopenForumTopic for the ticket's topic. */
int outbox_topic_call(struct store *w, const char *method, int64_t staff_chat,
                      int64_t ticket_id, int64_t now, struct err *e);

#endif
