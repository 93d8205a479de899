/*
 * view.c — desk records rendered as JSON (see view.h).
 */
#include "desk/view.h"

static json_t *int_or_null(int64_t v)
{
    return v != 0 ? json_integer(v) : json_null();
}

/* json_string refuses invalid UTF-8; the store only holds valid text, but a
 * renderer must never hand back NULL, so fall back to null. */
static json_t *str(const char *s)
{
    json_t *v = jx_str_or_null(s);
    return v != NULL ? v : json_null();
}

json_t *view_customer(const struct customer *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(c->id));
    json_object_set_new(o, "telegram_user_id", json_integer(c->tg_user_id));
    json_object_set_new(o, "first_name", str(c->first_name ? c->first_name : ""));
    json_object_set_new(o, "last_name", str(c->last_name));
    json_object_set_new(o, "username", str(c->username));
    json_object_set_new(o, "language", str(c->language));
    json_object_set_new(o, "tier", str(c->tier ? c->tier : "standard"));
    json_object_set_new(o, "blocked", json_boolean(c->blocked));
    return o;
}

json_t *view_kv(const struct kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, str(kv[i].value));
    return o;
}

json_t *view_ticket(const struct ticket *t, const struct customer *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "status", json_string(ticket_status_name(t->status)));
    json_object_set_new(o, "priority", json_string(ticket_priority_name(t->priority)));
    json_object_set_new(o, "group", str(t->group));
    json_object_set_new(o, "assignee", str(t->assignee));
    json_object_set_new(o, "rule", str(t->rule));
    json_object_set_new(o, "subject", str(t->subject ? t->subject : ""));
    json_object_set_new(o, "customer", c ? view_customer(c) : json_null());
    json_object_set_new(o, "custom_fields", view_kv(t->fields, t->nfields));
    json_t *tags = json_array();
    for (size_t i = 0; i < t->ntags; i++)
        json_array_append_new(tags, str(t->tags[i]));
    json_object_set_new(o, "tags", tags);
    json_object_set_new(o, "topic_id", int_or_null(t->topic_id));
    json_object_set_new(o, "created_at", jx_time_or_null(t->created_at));
    json_object_set_new(o, "updated_at", jx_time_or_null(t->updated_at));
    json_object_set_new(o, "first_response_at", jx_time_or_null(t->first_response_at));
    json_object_set_new(o, "resolved_at", jx_time_or_null(t->resolved_at));
    json_object_set_new(o, "closed_at", jx_time_or_null(t->closed_at));
    json_object_set_new(o, "first_response_ms",
                        t->first_response_at ? json_integer(t->first_response_at - t->created_at)
                                             : json_null());
    json_object_set_new(o, "resolution_ms",
                        t->resolved_at ? json_integer(t->resolved_at - t->created_at)
                                       : json_null());
    json_object_set_new(o, "thread_len", json_integer(t->thread_len));
    json_object_set_new(o, "reopen_count", json_integer(t->reopen_count));
    return o;
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
