/*
 * tg_update.c — Update JSON → engine_event (see tg_update.h).
 *
 * Only reads the JSON (jansson getters borrow), never trusts its shape:
 * a field of the wrong type is treated as absent, and a message that
 * cannot be understood is skipped rather than refused, so one odd update
 * can never stall the offset.
 */
#include "telegram/tg_update.h"

#include <stdbool.h>
#include <string.h>

/* Service-message fields (reference 2.6, 4.2): never an event. */
static const char *const service_keys[] = {
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed",
    "forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden",
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
    "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
    "channel_chat_created", "migrate_to_chat_id", "migrate_from_chat_id",
    "pinned_message", "message_auto_delete_timer_changed", "video_chat_started",
    "video_chat_ended", "video_chat_scheduled", "video_chat_participants_invited",
    "write_access_allowed", "users_shared", "chat_shared", "proximity_alert_triggered",
    "boost_added", "chat_background_set", "successful_payment", "refunded_payment",
    NULL,
};

/* Media without text: placeholder label, in the order they are checked. */
static const char *const media_keys[][2] = {
    {"photo", "[photo]"},         {"video", "[video]"},
    {"animation", "[animation]"}, {"audio", "[audio]"},
    {"voice", "[voice]"},         {"video_note", "[video note]"},
    {"sticker", "[sticker]"},     {"location", "[location]"},
    {"venue", "[venue]"},         {"contact", "[contact]"},
    {"poll", "[poll]"},           {"dice", "[dice]"},
    {"story", "[story]"},         {"game", "[game]"},
    {"paid_media", "[paid media]"},
};

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static bool is_service(json_t *msg)
{
    for (size_t i = 0; service_keys[i] != NULL; i++)
        if (json_object_get(msg, service_keys[i]) != NULL)
            return true;
    return false;
}

/*
 * The message's text: text, else caption, else a media placeholder.
 * 0 with *out NULL when the message has nothing a person wrote.
 */
static int content_of(json_t *msg, struct arena *a, const char **out, struct err *e)
{
    *out = NULL;
    const char *t = str_of(msg, "text");
    if (t == NULL)
        t = str_of(msg, "caption");
    if (t != NULL && t[0] != '\0') {
        *out = t;
        return 0;
    }
    json_t *doc = json_object_get(msg, "document");
    if (json_is_object(doc)) {
        const char *name = str_of(doc, "file_name");
        char *p = name && name[0] ? arena_printf(a, "[document: %s]", name)
                                  : arena_strdup(a, "[document]");
        if (p == NULL)
            return err_set(e, ERR_TOOBIG, "update: arena exhausted");
        *out = p;
        return 0;
    }
    for (size_t i = 0; i < sizeof media_keys / sizeof media_keys[0]; i++)
        if (json_object_get(msg, media_keys[i][0]) != NULL) {
            *out = media_keys[i][1];
            return 0;
        }
    return 0;
}

/* Fill the author (a User object) into ev->customer; false if unusable. */
static bool author(json_t *from, struct engine_event *ev)
{
    if (!json_is_object(from))
        return false;
    int64_t id = int_of(from, "id");
    if (id <= 0)
        return false;
    ev->customer.tg_user_id = id;
    ev->customer.first_name = str_of(from, "first_name");
    ev->customer.last_name = str_of(from, "last_name");
    ev->customer.username = str_of(from, "username");
    ev->customer.language = str_of(from, "language_code");
    return true;
}

static int skip(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return TG_UPDATE_SKIP;
}

/*
 * A callback_query: a customer pressed an inline button under one of the
 * bot's messages in their private chat (the intake form's). The press is
 * the customer's input: ENGINE_CUSTOMER_MESSAGE with callback_data and
 * the query's id (to answer it) instead of text.
 */
static int button_press(json_t *cq, struct engine_event *ev, const char **why)
{
    if (!json_is_object(cq))
        return skip(why, "callback_query is not an object");
    const char *id = str_of(cq, "id");
    const char *data = str_of(cq, "data");
    json_t *msg = json_object_get(cq, "message");
    json_t *chat = json_is_object(msg) ? json_object_get(msg, "chat") : NULL;
    const char *chat_type = json_is_object(chat) ? str_of(chat, "type") : NULL;
    if (id == NULL || data == NULL)
        return skip(why, "callback query without id or data (a game or an inline message)");
    if (chat_type == NULL || strcmp(chat_type, "private") != 0)
        return skip(why, "callback query outside a private chat");
    if (!author(json_object_get(cq, "from"), ev))
        return skip(why, "callback query without a person as author");
    ev->type = ENGINE_CUSTOMER_MESSAGE;
    ev->tg_chat_id = int_of(chat, "id");
    ev->callback_id = id;
    ev->callback_data = data;
    return 0;
}

int tg_update_to_event(json_t *update, int64_t staff_group_id, struct arena *a,
                       struct engine_event *ev, const char **why, struct err *e)
{
    memset(ev, 0, sizeof *ev);
    if (why)
        *why = NULL;
    json_t *uid = json_object_get(update, "update_id");
    if (!json_is_object(update) || !json_is_integer(uid) || json_integer_value(uid) <= 0)
        return err_set(e, ERR_INVAL, "update without a positive integer 'update_id'");
    ev->update_id = json_integer_value(uid);

    bool edited = false;
    json_t *msg = json_object_get(update, "message");
    if (msg == NULL) {
        msg = json_object_get(update, "edited_message");
        edited = msg != NULL;
    }
    if (msg == NULL) {
        json_t *cq = json_object_get(update, "callback_query");
        if (cq != NULL)
            return button_press(cq, ev, why);
        return skip(why, "update type not handled");
    }
    if (!json_is_object(msg))
        return skip(why, "message is not an object");

    json_t *chat = json_object_get(msg, "chat");
    json_t *from = json_object_get(msg, "from");
    int64_t chat_id = json_is_object(chat) ? int_of(chat, "id") : 0;
    const char *chat_type = json_is_object(chat) ? str_of(chat, "type") : NULL;
    if (chat_id == 0 || chat_type == NULL)
        return skip(why, "message without a chat");
    if (json_is_object(from) && json_is_true(json_object_get(from, "is_bot")))
        return skip(why, "message from a bot");
    if (is_service(msg))
        return skip(why, "service message");

    ev->tg_chat_id = chat_id;
    ev->tg_message_id = int_of(msg, "message_id");
    if (ev->tg_message_id <= 0)
        return skip(why, "message without a message_id");
    if (!author(from, ev))
        return skip(why, "message without a person as author");
    const char *text = NULL;
    int rc = content_of(msg, a, &text, e);
    if (rc != 0)
        return rc;

    if (strcmp(chat_type, "private") == 0) {
        if (text == NULL)
            return skip(why, "private message without content");
        ev->text = text;
        ev->type = edited ? ENGINE_CUSTOMER_EDIT : ENGINE_CUSTOMER_MESSAGE;
        return 0;
    }
    if (staff_group_id == 0 || chat_id != staff_group_id)
        return skip(why, "message in a chat that is not the staff group");
    if (edited)
        return skip(why, "edit in the staff group");
    int64_t topic = int_of(msg, "message_thread_id");
    if (!json_is_true(json_object_get(msg, "is_topic_message")) || topic <= 0)
        return skip(why, "staff group message outside a topic");
    if (text == NULL)
        return skip(why, "staff message without content");
    ev->type = ENGINE_STAFF_MESSAGE;
    ev->topic_id = topic;
    ev->text = text;
    return 0;
}
