/*
 * view.c — desk records rendered as JSON (see view.h).
 */
#include "desk/view.h"

#include <string.h>

#include "base/clock.h"

/* json_string refuses invalid UTF-8; the store only holds valid text, but a
 * renderer must never hand back NULL, so fall back to null. */
static json_t *str(const char *s)
{
    json_t *v = jx_str_or_null(s);
    return v != NULL ? v : json_null();
}

/*
 * The customer and ticket shapes are written as text first: the engine
 * embeds a ticket snapshot in every domain event, and building it through
 * jansson objects and dumping them was a third of the cost of applying a
 * message. The json_t forms parse that same text, so each shape is
 * defined once.
 */

/* ,"k": — every key but an object's first ("id", written with its brace) */
static void key(struct buf *b, const char *k)
{
    buf_puts(b, ",\"");
    buf_puts(b, k);                 /* keys are literals below: no escaping */
    buf_puts(b, "\":");
}

static void key_str(struct buf *b, const char *k, const char *v)
{
    key(b, k);
    buf_json_str(b, v);
}

static void key_int_or_null(struct buf *b, const char *k, int64_t v)
{
    key(b, k);
    if (v != 0)
        buf_put_int(b, v);
    else
        buf_puts(b, "null");
}

static void key_time(struct buf *b, const char *k, int64_t ms)
{
    key(b, k);
    if (ms == 0) {
        buf_puts(b, "null");
        return;
    }
    char iso[CLOCK_ISO_LEN];
    buf_putc(b, '"');
    buf_puts(b, clock_fmt_iso(ms, iso));
    buf_putc(b, '"');
}

/* Parse text this file wrote; it is valid by construction. */
static json_t *parsed(struct buf *b)
{
    json_t *v = NULL;
    if (jx_parse(buf_str(b), b->len, &v, NULL) != 0)
        v = json_null();            /* unreachable: never hand back NULL */
    buf_release(b);
    return v;
}

void view_customer_write(struct buf *b, const struct customer *c)
{
    buf_puts(b, "{\"id\":");
    buf_put_int(b, c->id);
    key(b, "telegram_user_id");
    buf_put_int(b, c->tg_user_id);
    key_str(b, "first_name", c->first_name ? c->first_name : "");
    key_str(b, "last_name", c->last_name);
    key_str(b, "username", c->username);
    key_str(b, "language", c->language);
    key_str(b, "tier", c->tier ? c->tier : "standard");
    key(b, "blocked");
    buf_puts(b, c->blocked ? "true" : "false");
    buf_putc(b, '}');
}

json_t *view_customer(const struct customer *c)
{
    struct buf b;
    buf_init(&b, 0);
    view_customer_write(&b, c);
    return parsed(&b);
}

void view_kv_write(struct buf *b, const struct kv *kv, size_t n)
{
    buf_putc(b, '{');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        bool seen = !buf_utf8_valid(kv[i].key, strlen(kv[i].key));
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(kv[j].key, kv[i].key) == 0;
        if (seen)
            continue;               /* a key given twice keeps its first value */
        if (!first)
            buf_putc(b, ',');
        first = false;
        buf_json_str(b, kv[i].key);
        buf_putc(b, ':');
        buf_json_str(b, kv[i].value);
    }
    buf_putc(b, '}');
}

json_t *view_kv(const struct kv *kv, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    view_kv_write(&b, kv, n);
    return parsed(&b);
}

void view_ticket_write(struct buf *b, const struct ticket *t, const struct customer *c)
{
    buf_puts(b, "{\"id\":");
    buf_put_int(b, t->id);
    key_str(b, "status", ticket_status_name(t->status));
    key_str(b, "priority", ticket_priority_name(t->priority));
    key_str(b, "group", t->group);
    key_str(b, "assignee", t->assignee);
    key_str(b, "rule", t->rule);
    key_str(b, "subject", t->subject ? t->subject : "");
    key(b, "customer");
    if (c != NULL)
        view_customer_write(b, c);
    else
        buf_puts(b, "null");
    key(b, "custom_fields");
    view_kv_write(b, t->fields, t->nfields);
    key(b, "tags");
    buf_putc(b, '[');
    for (size_t i = 0; i < t->ntags; i++) {
        if (i > 0)
            buf_putc(b, ',');
        buf_json_str(b, t->tags[i]);
    }
    buf_putc(b, ']');
    key_int_or_null(b, "topic_id", t->topic_id);
    key_time(b, "created_at", t->created_at);
    key_time(b, "updated_at", t->updated_at);
    key_time(b, "first_response_at", t->first_response_at);
    key_time(b, "resolved_at", t->resolved_at);
    key_time(b, "closed_at", t->closed_at);
    key(b, "first_response_ms");
    if (t->first_response_at != 0)
        buf_put_int(b, t->first_response_at - t->created_at);
    else
        buf_puts(b, "null");
    key(b, "resolution_ms");
    if (t->resolved_at != 0)
        buf_put_int(b, t->resolved_at - t->created_at);
    else
        buf_puts(b, "null");
    key(b, "thread_len");
    buf_put_int(b, t->thread_len);
    key(b, "reopen_count");
    buf_put_int(b, t->reopen_count);
    buf_putc(b, '}');
}

json_t *view_ticket(const struct ticket *t, const struct customer *c)
{
    struct buf b;
    buf_init(&b, 0);
    view_ticket_write(&b, t, c);
    return parsed(&b);
}

json_t *view_entry(const struct thread_entry *te)
{
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer(te->seq));
    json_object_set_new(o, "kind", json_string(thread_kind_name(te->kind)));
    json_object_set_new(o, "direction", json_string(thread_dir_name(te->dir)));
    json_t *author = json_object();
    json_object_set_new(author, "type", json_string(thread_author_type_name(te->author_type)));
    json_object_set_new(author, "id", str(te->author_id));
    json_object_set_new(author, "name", str(te->author_name));
    json_object_set_new(o, "author", author);
    json_object_set_new(o, "text", str(te->text ? te->text : ""));
    json_object_set_new(o, "event", str(te->event));
    json_object_set_new(o, "data", view_kv(te->data, te->ndata));
    if (te->tg_chat_id != 0 || te->tg_message_id != 0) {
        json_t *tg = json_object();
        json_object_set_new(tg, "chat_id", json_integer(te->tg_chat_id));
        json_object_set_new(tg, "message_id", json_integer(te->tg_message_id));
        json_object_set_new(o, "telegram", tg);
    } else {
        json_object_set_new(o, "telegram", json_null());
    }
    json_object_set_new(o, "at", jx_time_or_null(te->at));
    json_object_set_new(o, "edited_at", jx_time_or_null(te->edited_at));
    return o;
}
