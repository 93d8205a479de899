/*
 * outbox.c — building Telegram outbox rows (see outbox.h).
 */
#include "engine/outbox.h"
#include "base/arena.h"
#include "base/buf.h"
#include "desk/text.h"

/*
 * Params are written as JSON text straight into a buffer (not built as
 * jansson objects and dumped): every customer message pushes at least one
 * row, so this is on the ingest path. p holds `{...` without its closing
 * brace; push closes it.
 */
static int push(struct store *w, const char *method, int64_t chat_id, int64_t ticket_id,
                struct buf *p, int64_t now, struct err *e)
{
    buf_putc(p, '}');
    struct tg_outbox_row row = {
        .chat_id = chat_id,
        .ticket_id = ticket_id,
        .method = method,
        .params = buf_str(p),
        .next_attempt_at = now,
        .created_at = now,
    };
    int rc = store_tg_outbox_push(w, &row, e);
    buf_release(p);
    return rc;
}

/* {"chat_id":N[,"message_thread_id":"$topic"] — left open for more keys. */
static void base(struct buf *p, int64_t chat_id, bool in_topic)
{
    buf_init(p, 0);
    buf_puts(p, "{\"chat_id\":");
    buf_put_int(p, chat_id);
    if (in_topic)
        buf_puts(p, ",\"message_thread_id\":\"" OUTBOX_TOPIC_PLACEHOLDER "\"");
}

/* sendMessage of text, split as needed; an inline keyboard of nbuttons
 * buttons (one per row) goes with the last part. */
static int send_parts(struct store *w, int64_t chat_id, bool in_topic, int64_t ticket_id,
                      const char *text, const struct intake_button *buttons, size_t nbuttons,
                      int64_t now, struct err *e)
{
    struct arena *a = arena_new(0);
    const char **parts = NULL;
    size_t n = 0;
    int rc = text_split(text, OUTBOX_TEXT_MAX, a, &parts, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct buf p;
        base(&p, chat_id, in_topic);
        buf_puts(&p, ",\"text\":");
        buf_json_str(&p, parts[i]);
        if (i + 1 == n && nbuttons > 0) {
            buf_puts(&p, ",\"reply_markup\":{\"inline_keyboard\":[");
            for (size_t k = 0; k < nbuttons; k++) {
                buf_puts(&p, k ? ",[{\"text\":" : "[{\"text\":");
                buf_json_str(&p, buttons[k].text);
                buf_puts(&p, ",\"callback_data\":");
                buf_json_str(&p, buttons[k].data);
                buf_puts(&p, "}]");
            }
            buf_puts(&p, "]}");
        }
        rc = push(w, "sendMessage", chat_id, ticket_id, &p, now, e);
    }
    arena_free(&a);
    return rc;
}

int outbox_send_text(struct store *w, int64_t chat_id, bool in_topic, int64_t ticket_id,
                     const char *text, int64_t now, struct err *e)
{
    return send_parts(w, chat_id, in_topic, ticket_id, text, NULL, 0, now, e);
}

int outbox_send_buttons(struct store *w, int64_t chat_id, const char *text,
                        const struct intake_button *buttons, size_t nbuttons, int64_t now,
                        struct err *e)
{
    return send_parts(w, chat_id, false, 0, text, buttons, nbuttons, now, e);
}

int outbox_answer_callback(struct store *w, int64_t chat_id, const char *callback_id,
                           const char *notice, int64_t now, struct err *e)
{
    struct buf p;
    buf_init(&p, 0);
    buf_puts(&p, "{\"callback_query_id\":");
    buf_json_str(&p, callback_id);
    if (notice != NULL) {
        buf_puts(&p, ",\"text\":");
        buf_json_str(&p, notice);
    }
    return push(w, "answerCallbackQuery", chat_id, 0, &p, now, e);
}

int outbox_send_mentions(struct store *w, int64_t staff_chat, int64_t ticket_id,
                         const char *text, const struct cfg_agent *const *agents,
                         size_t nagents, int64_t now, struct err *e)
{
    struct buf msg, ents;
    buf_init(&msg, 0);
    buf_init(&ents, 0);
    buf_puts(&msg, text);
    if (nagents > 0)
        buf_putc(&msg, '\n');
    for (size_t i = 0; i < nagents; i++) {
        const struct cfg_agent *ag = agents[i];
        if (i > 0)
            buf_putc(&msg, ' ');
        if (ag->username != NULL) {
            buf_printf(&msg, "@%s", ag->username);     /* Telegram notifies @mentions */
            continue;
        }
        const char *name = ag->name ? ag->name : ag->id;
        size_t off = text_utf16_len_n(msg.p, msg.len);
        buf_puts(&msg, name);
        buf_printf(&ents, "%s{\"type\":\"text_mention\",\"offset\":%zu,\"length\":%zu,"
                   "\"user\":{\"id\":", ents.len ? "," : "", off, text_utf16_len(name));
        buf_put_int(&ents, ag->tg_user_id);
        buf_puts(&ents, ",\"is_bot\":false,\"first_name\":");
        buf_json_str(&ents, name);
        buf_puts(&ents, "}}");
    }
    int rc;
    if (text_utf16_len_n(msg.p, msg.len) > OUTBOX_TEXT_MAX || ents.len == 0) {
        rc = outbox_send_text(w, staff_chat, true, ticket_id, buf_str(&msg), now, e);
    } else {
        struct buf p;
        base(&p, staff_chat, true);
        buf_puts(&p, ",\"text\":");
        buf_json_str(&p, buf_str(&msg));
        buf_puts(&p, ",\"entities\":[");
        buf_append(&p, ents.p, ents.len);
        buf_putc(&p, ']');
        rc = push(w, "sendMessage", staff_chat, ticket_id, &p, now, e);
    }
    buf_release(&ents);
    buf_release(&msg);
    return rc;
}

int outbox_create_topic(struct store *w, int64_t staff_chat, int64_t ticket_id,
                        const char *name, int64_t now, struct err *e)
{
    struct buf p;
    base(&p, staff_chat, false);
    buf_puts(&p, ",\"name\":");
    buf_json_str(&p, name);
    return push(w, "createForumTopic", staff_chat, ticket_id, &p, now, e);
}

int outbox_copy_to_topic(struct store *w, int64_t staff_chat, int64_t from_chat,
                         int64_t message_id, int64_t ticket_id, int64_t now,
                         struct err *e)
{
    struct buf p;
    base(&p, staff_chat, true);
    buf_puts(&p, ",\"from_chat_id\":");
    buf_put_int(&p, from_chat);
    buf_puts(&p, ",\"message_id\":");
    buf_put_int(&p, message_id);
    return push(w, "copyMessage", staff_chat, ticket_id, &p, now, e);
}

int outbox_topic_call(struct store *w, const char *method, int64_t staff_chat,
                      int64_t ticket_id, int64_t now, struct err *e)
{
    struct buf p;
    base(&p, staff_chat, true);
    return push(w, method, staff_chat, ticket_id, &p, now, e);
}
