/*
 * view.c — desk records rendered as JSON (see view.h).
 */
#include "desk/view.h"

#include <string.h>

#include "base/clock.h"
#include "desk/sla.h"

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

/* Appends of string literals, their length known at compile time: the
 * snapshot is a few dozen keys, written for every domain event. */
#define LIT(b, s) buf_append((b), (s), sizeof(s) - 1)
/* ,"k": — every key but an object's first ("id", written with its brace);
 * k is a literal (no escaping needed) */
#define KEY(b, k) LIT(b, ",\"" k "\":")

static void put_int_or_null(struct buf *b, int64_t v)
{
    if (v != 0)
        buf_put_int(b, v);
    else
        LIT(b, "null");
}

static void put_time(struct buf *b, int64_t ms)
{
    if (ms == 0) {
        LIT(b, "null");
        return;
    }
    char iso[CLOCK_ISO_LEN + 2];
    iso[0] = '"';
    clock_fmt_iso(ms, iso + 1);
    size_t n = strlen(iso);
    iso[n] = '"';
    buf_append(b, iso, n + 1);
}

#define KEY_STR(b, k, v) do { KEY(b, k); buf_json_str((b), (v)); } while (0)
#define KEY_INT(b, k, v) do { KEY(b, k); buf_put_int((b), (v)); } while (0)
#define KEY_INT_OR_NULL(b, k, v) do { KEY(b, k); put_int_or_null((b), (v)); } while (0)
#define KEY_TIME(b, k, ms) do { KEY(b, k); put_time((b), (ms)); } while (0)
#define KEY_BOOL(b, k, v) do { KEY(b, k); if (v) LIT(b, "true"); else LIT(b, "false"); } while (0)

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
    LIT(b, "{\"id\":");
    buf_put_int(b, c->id);
    KEY_INT(b, "telegram_user_id", c->tg_user_id);
    KEY_STR(b, "first_name", c->first_name ? c->first_name : "");
    KEY_STR(b, "last_name", c->last_name);
    KEY_STR(b, "username", c->username);
    KEY_STR(b, "language", c->language);
    KEY_STR(b, "tier", c->tier ? c->tier : "standard");
    KEY_BOOL(b, "blocked", c->blocked);
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

static void str_array(struct buf *b, const char *const *items, size_t n)
{
    buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_putc(b, ',');
        buf_json_str(b, items[i]);
    }
    buf_putc(b, ']');
}

static const char *clock_status(const struct sla_clock *k)
{
    if (k->met_at != 0)
        return "met";
    return k->paused_since != 0 ? "paused" : "running";
}

/*
 * The SLA clocks as stored, with no reading of the clock: the snapshot in a
 * domain event must say what was true when the event happened, whenever it
 * is delivered. Elapsed and remaining time follow from these and the
 * reader's now (docs/openapi.yaml, SlaClock). A metric that never started
 * is null: every domain event carries this, so it is kept short.
 */
void view_sla_write(struct buf *b, const struct sla_state *s)
{
    static const char *const metric_keys[SLA_METRIC_COUNT] = {
        ",\"first_response\":", ",\"next_response\":", ",\"resolution\":"
    };
    if (s == NULL) {
        LIT(b, "null");
        return;
    }
    LIT(b, "{\"policy\":");
    if (s->policy[0] != '\0')
        buf_json_str(b, s->policy);
    else
        LIT(b, "null");
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        const struct sla_clock *k = &s->clock[m];
        buf_puts(b, metric_keys[m]);
        if (k->started_at == 0) {
            LIT(b, "null");                 /* never started (most next_response) */
            continue;
        }
        LIT(b, "{\"status\":");
        buf_json_str(b, clock_status(k));
        KEY_BOOL(b, "breached", k->breached_at != 0);
        KEY_INT_OR_NULL(b, "target_ms", k->target_ms);
        KEY_INT(b, "cycle", k->cycle);
        KEY_TIME(b, "started_at", k->started_at);
        KEY_TIME(b, "due_at", k->due_at);
        KEY_TIME(b, "warn_at", k->warn_at);
        KEY_INT(b, "paused_ms", k->paused_ms);
        KEY_TIME(b, "paused_since", k->paused_since);
        KEY_TIME(b, "met_at", k->met_at);
        KEY_TIME(b, "breached_at", k->breached_at);
        KEY_INT(b, "breaches", k->breaches);
        buf_putc(b, '}');
    }
    buf_putc(b, '}');
}

json_t *view_sla(const struct sla_state *s)
{
    struct buf b;
    buf_init(&b, 0);
    view_sla_write(&b, s);
    return parsed(&b);
}

void view_kb_write(struct buf *b, const struct ticket_kb *kb, size_t n)
{
    buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_putc(b, ',');
        LIT(b, "{\"id\":");
        buf_json_str(b, kb[i].id);
        KEY_STR(b, "title", kb[i].title);
        KEY_STR(b, "url", kb[i].url);
        KEY(b, "score");
        buf_printf(b, "%.3f", kb[i].score);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
}

void view_ticket_write(struct buf *b, const struct ticket *t, const struct customer *c)
{
    LIT(b, "{\"id\":");
    buf_put_int(b, t->id);
    KEY_STR(b, "status", ticket_status_name(t->status));
    KEY_STR(b, "priority", ticket_priority_name(t->priority));
    KEY_STR(b, "group", t->group);
    KEY_STR(b, "assignee", t->assignee);
    KEY_STR(b, "rule", t->rule);
    KEY_STR(b, "subject", t->subject ? t->subject : "");
    KEY(b, "customer");
    if (c != NULL)
        view_customer_write(b, c);
    else
        LIT(b, "null");
    KEY(b, "custom_fields");
    view_kv_write(b, t->fields, t->nfields);
    KEY(b, "tags");
    str_array(b, t->tags, t->ntags);
    KEY_INT_OR_NULL(b, "topic_id", t->topic_id);
    KEY_TIME(b, "created_at", t->created_at);
    KEY_TIME(b, "updated_at", t->updated_at);
    KEY_TIME(b, "first_response_at", t->first_response_at);
    KEY_TIME(b, "resolved_at", t->resolved_at);
    KEY_TIME(b, "closed_at", t->closed_at);
    KEY(b, "first_response_ms");
    if (t->first_response_at != 0)
        buf_put_int(b, t->first_response_at - t->created_at);
    else
        LIT(b, "null");
    KEY(b, "resolution_ms");
    if (t->resolved_at != 0)
        buf_put_int(b, t->resolved_at - t->created_at);
    else
        LIT(b, "null");
    KEY_INT(b, "thread_len", t->thread_len);
    KEY_INT(b, "reopen_count", t->reopen_count);
    KEY(b, "escalations");
    str_array(b, t->escalations, t->nescalations);
    KEY(b, "sla");
    view_sla_write(b, t->sla);
    KEY(b, "kb_suggestions");
    view_kb_write(b, t->kb, t->nkb);
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
