/*
 * hook_payload.c — delivery bodies from domain events (see hook_payload.h).
 *
 * The body is assembled as text rather than as one jansson tree: the event
 * fields are serialised once (the "head"), every thread entry once, and a
 * body is head + optional part/truncation members + the entries it carries.
 * That makes the size of any candidate body a sum of known lengths, so
 * split and truncate decide exactly, without serialising trial bodies.
 */
#include "webhook/hook_payload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/jx.h"
#include "base/mem.h"
#include "desk/view.h"

/* Members of the body that data members may not override. */
static const char *const reserved[] = {
    "id", "type", "occurred_at", "ticket", "thread_seq", "thread",
    "part", "parts", "truncated", "omitted", NULL,
};

static const char THREAD_OPEN[] = ",\"thread\":[";
static const char THREAD_CLOSE[] = "]}";

/* One serialised thread entry; text is heap-owned. */
struct piece {
    char *text;
    size_t len;
};

static bool is_reserved(const char *key)
{
    for (size_t i = 0; reserved[i] != NULL; i++)
        if (strcmp(reserved[i], key) == 0)
            return true;
    return false;
}

static size_t digits(size_t v)
{
    size_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

char *hook_payload_msg_id(int64_t event_id, size_t part, size_t parts,
                          char out[HOOK_PAYLOAD_MSGID_MAX])
{
    if (parts > 1)
        snprintf(out, HOOK_PAYLOAD_MSGID_MAX, "evt_%" PRId64 "_p%zu", event_id, part);
    else
        snprintf(out, HOOK_PAYLOAD_MSGID_MAX, "evt_%" PRId64, event_id);
    return out;
}

/*
 * Serialise the event fields as a JSON object into `head` (the thread is
 * added later); *thread_seq gets data.thread_seq (0 when absent).
 */
static int build_head(const struct event_row *ev, struct buf *head, int64_t *thread_seq,
                      struct err *e)
{
    json_t *data = NULL;
    int rc = jx_parse_object(ev->data ? ev->data : "", ev->data ? strlen(ev->data) : 0,
                             &data, e);
    if (rc != 0)
        goto out;
    json_t *ticket = json_object_get(data, "ticket");
    if (ticket != NULL && !json_is_object(ticket) && !json_is_null(ticket)) {
        rc = err_field(e, ERR_INVAL, "ticket", "event %" PRId64 ": 'ticket' is not an object",
                       ev->id);
        goto out_data;
    }
    *thread_seq = 0;
    rc = jx_get_int(data, "thread_seq", false, thread_seq, e);
    if (rc != 0)
        goto out_data;

    json_t *body = json_object();
    char id[HOOK_PAYLOAD_MSGID_MAX];
    char iso[CLOCK_ISO_LEN];
    json_object_set_new(body, "id", json_string(hook_payload_msg_id(ev->id, 1, 1, id)));
    json_object_set_new(body, "type", json_string(ev->type ? ev->type : ""));
    json_object_set_new(body, "occurred_at", json_string(clock_fmt_iso(ev->occurred_at, iso)));
    json_object_set(body, "ticket", ticket ? ticket : json_null());
    const char *key;
    json_t *val;
    json_object_foreach(data, key, val) {
        if (!is_reserved(key))
            json_object_set(body, key, val);
    }
    rc = jx_dump(body, head);
    json_decref(body);
    if (rc != 0)
        rc = err_set(e, ERR_INTERNAL, "cannot encode event %" PRId64, ev->id);
out_data:
    json_decref(data);
out:
    return rc;
}

/* Serialise the entries with seq <= thread_seq into a heap array. */
static int build_thread(struct store *s, const struct event_row *ev, int64_t thread_seq,
                        struct arena *a, struct piece **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    if (ev->ticket_id == 0 || thread_seq <= 0)
        return 0;
    struct thread_entry *te = NULL;
    size_t nte = 0;
    int rc = store_thread_list(s, ev->ticket_id, a, &te, &nte, e);
    if (rc != 0)
        return rc;
    if (nte == 0)
        return 0;
    struct piece *p = mem_alloc(nte * sizeof *p);
    size_t k = 0;
    for (size_t i = 0; i < nte; i++) {
        if (te[i].seq > thread_seq)
            continue;
        json_t *v = view_entry(&te[i]);
        p[k].text = jx_dumps(v);
        p[k].len = strlen(p[k].text);
        json_decref(v);
        k++;
    }
    *out = p;
    *n = k;
    return 0;
}

/* Length of a body made of the head's first hlen bytes, `extra` bytes of
 * part/truncation members and entries [from, to). */
static size_t body_len(size_t hlen, size_t extra, const struct piece *p, size_t from,
                       size_t to)
{
    size_t len = hlen + extra + strlen(THREAD_OPEN) + strlen(THREAD_CLOSE);
    for (size_t i = from; i < to; i++)
        len += p[i].len + (i > from ? 1 : 0);
    return len;
}

/* Assemble one body into the arena: head (without its '}'), extra, the
 * entries [from, to) in order. */
static int emit(const struct buf *head, const char *extra, const struct piece *p,
                size_t from, size_t to, struct arena *a, char **out, struct err *e)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = buf_append(&b, head->p, head->len - 1);
    if (rc == 0)
        rc = buf_puts(&b, extra);
    if (rc == 0)
        rc = buf_puts(&b, THREAD_OPEN);
    for (size_t i = from; rc == 0 && i < to; i++) {
        if (i > from)
            rc = buf_putc(&b, ',');
        if (rc == 0)
            rc = buf_append(&b, p[i].text, p[i].len);
    }
    if (rc == 0)
        rc = buf_puts(&b, THREAD_CLOSE);
    if (rc != 0) {
        rc = err_set(e, ERR_INTERNAL, "cannot assemble a webhook body");
        goto out;
    }
    *out = arena_strndup(a, b.p, b.len);
    if (*out == NULL)
        rc = err_set(e, ERR_NOMEM, "arena exhausted");
out:
    buf_release(&b);
    return rc;
}

static int split_bodies(const struct buf *head, const struct piece *p, size_t np,
                        size_t max, struct arena *a, char ***bodies, size_t *n,
                        struct err *e)
{
    size_t hlen = head->len - 1;
    /* part and parts never exceed np, so this many bytes always suffice */
    size_t extra = strlen(",\"part\":") + digits(np) + strlen(",\"parts\":") + digits(np);
    size_t *start = mem_alloc((np + 1) * sizeof *start);
    size_t nparts = 0;
    int rc = 0;
    size_t from = 0;
    for (size_t i = 0; i < np; i++) {
        if (i > from && body_len(hlen, extra, p, from, i + 1) > max) {
            start[nparts++] = from;
            from = i;
        }
    }
    start[nparts++] = from;
    start[nparts] = np;

    char **out = arena_alloc(a, nparts * sizeof *out);
    if (out == NULL) {
        rc = err_set(e, ERR_NOMEM, "arena exhausted");
        goto out_start;
    }
    for (size_t k = 0; k < nparts; k++) {
        char x[64] = "";
        if (nparts > 1)
            snprintf(x, sizeof x, ",\"part\":%zu,\"parts\":%zu", k + 1, nparts);
        rc = emit(head, x, p, start[k], start[k + 1], a, &out[k], e);
        if (rc != 0)
            goto out_start;
    }
    *bodies = out;
    *n = nparts;
out_start:
    mem_free(start);
    return rc;
}

static int truncate_body(const struct buf *head, const struct piece *p, size_t np,
                         size_t max, struct arena *a, char ***bodies, size_t *n,
                         struct err *e)
{
    size_t hlen = head->len - 1;
    size_t extra = strlen(",\"truncated\":true,\"omitted\":") + digits(np);
    size_t from = np;   /* keep entries [from, np): the newest that fit */
    while (from > 0 && body_len(hlen, extra, p, from - 1, np) <= max)
        from--;
    char **out = arena_alloc(a, sizeof *out);
    if (out == NULL)
        return err_set(e, ERR_NOMEM, "arena exhausted");
    char x[64];
    snprintf(x, sizeof x, ",\"truncated\":true,\"omitted\":%zu", from);
    int rc = emit(head, x, p, from, np, a, &out[0], e);
    if (rc != 0)
        return rc;
    *bodies = out;
    *n = 1;
    return 0;
}

int hook_payload_build(struct store *s, const struct event_row *ev, int64_t max_payload,
                       bool split, struct arena *a, char ***bodies, size_t *n,
                       struct err *e)
{
    struct buf head;
    buf_init(&head, 0);
    struct piece *p = NULL;
    size_t np = 0;
    int64_t thread_seq = 0;
    int rc = build_head(ev, &head, &thread_seq, e);
    if (rc != 0)
        goto out_head;
    rc = build_thread(s, ev, thread_seq, a, &p, &np, e);
    if (rc != 0)
        goto out_thread;

    size_t whole = body_len(head.len - 1, 0, p, 0, np);
    if (max_payload <= 0 || whole <= (size_t)max_payload || np == 0) {
        char **out = arena_alloc(a, sizeof *out);
        if (out == NULL) {
            rc = err_set(e, ERR_NOMEM, "arena exhausted");
            goto out_thread;
        }
        rc = emit(&head, "", p, 0, np, a, &out[0], e);
        if (rc == 0) {
            *bodies = out;
            *n = 1;
        }
    } else if (split) {
        rc = split_bodies(&head, p, np, (size_t)max_payload, a, bodies, n, e);
    } else {
        rc = truncate_body(&head, p, np, (size_t)max_payload, a, bodies, n, e);
    }
out_thread:
    for (size_t i = 0; i < np; i++)
        mem_free(p[i].text);
    mem_free(p);
out_head:
    buf_release(&head);
    return rc;
}
