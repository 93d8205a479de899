/*
 * outbox.c — building Telegram outbox rows (see outbox.h).
 */
#include "engine/outbox.h"
#include "base/arena.h"
#include "base/jx.h"
#include "base/mem.h"
#include "desk/text.h"

/* Serialise params (reference stolen) and push one row. */
static int push(struct store *w, const char *method, int64_t chat_id, int64_t ticket_id,
                json_t *params, int64_t now, struct err *e)
{
    char *p = jx_dumps(params);
    json_decref(params);
    struct tg_outbox_row row = {
        .chat_id = chat_id,
        .ticket_id = ticket_id,
        .method = method,
        .params = p,
        .next_attempt_at = now,
        .created_at = now,
    };
    int rc = store_tg_outbox_push(w, &row, e);
    mem_free(p);
    return rc;
}

static json_t *base(int64_t chat_id, bool in_topic)
{
    json_t *o = json_object();
    json_object_set_new(o, "chat_id", json_integer(chat_id));
    if (in_topic)
        json_object_set_new(o, "message_thread_id", json_string(OUTBOX_TOPIC_PLACEHOLDER));
    return o;
}

int outbox_send_text(struct store *w, int64_t chat_id, bool in_topic, int64_t ticket_id,
                     const char *text, int64_t now, struct err *e)
{
    struct arena *a = arena_new(0);
    const char **parts = NULL;
    size_t n = 0;
    int rc = text_split(text, OUTBOX_TEXT_MAX, a, &parts, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *p = base(chat_id, in_topic);
        json_object_set_new(p, "text", json_string(parts[i]));
        rc = push(w, "sendMessage", chat_id, ticket_id, p, now, e);
    }
    arena_free(&a);
    return rc;
}

int outbox_create_topic(struct store *w, int64_t staff_chat, int64_t ticket_id,
                        const char *name, int64_t now, struct err *e)
{
    json_t *p = base(staff_chat, false);
    json_object_set_new(p, "name", json_string(name));
    return push(w, "createForumTopic", staff_chat, ticket_id, p, now, e);
}

int outbox_copy_to_topic(struct store *w, int64_t staff_chat, int64_t from_chat,
                         int64_t message_id, int64_t ticket_id, int64_t now,
                         struct err *e)
{
    json_t *p = base(staff_chat, true);
    json_object_set_new(p, "from_chat_id", json_integer(from_chat));
    json_object_set_new(p, "message_id", json_integer(message_id));
    return push(w, "copyMessage", staff_chat, ticket_id, p, now, e);
}

int outbox_topic_call(struct store *w, const char *method, int64_t staff_chat,
                      int64_t ticket_id, int64_t now, struct err *e)
{
    return push(w, method, staff_chat, ticket_id, base(staff_chat, true), now, e);
}
