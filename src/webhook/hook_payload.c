/*
 * hook_payload.c — delivery bodies from domain events (see hook_payload.h).
 *
 * The body is assembled as text rather than as one jansson tree: the event
 * fields are serialised once (the "head"), every thread entry once, and a
 * body is head + optional part/truncation members + the entries it carries.
 * That makes the size of any candidate body a sum of known lengths, so
 * split and truncate decide exactly, without serialising trial bodies.
 *
 * Speed: a body is built for every delivery, so neither half goes through
 * jansson's trees on the common path. The head is spliced from the event's
 * data text (written by the engine with jansson, so valid JSON) by a small
 * scanner of its top-level members; anything the scanner does not take —
 * malformed data, escaped keys, a non-object ticket — goes the jansson way,
 * which also words the errors. Entries are written by entry_text, which
 * writes exactly view_entry's object (test_hook_payload.c compares them).
 */
#include "webhook/hook_payload.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/jx.h"
#include "base/mem.h"

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

/* ---- JSON text without trees ----------------------------------------------------- */

/* True when s[0..n) is valid UTF-8 (what jansson's json_string demands). */
static bool utf8_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3
                   : (c >> 3) == 0x1e ? 4 : 0;
        if (len == 0 || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] >> 6) != 0x2)
                return false;
        i += len;
    }
    return true;
}

/* A JSON string, or null for NULL or invalid UTF-8 (as view.c's str()). */
static int put_str(struct buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || !utf8_ok(s, n))
        return buf_puts(b, "null");
    int rc = buf_putc(b, '"');
    if (rc == 0)
        rc = buf_json_escape(b, s, n);
    return rc != 0 ? rc : buf_putc(b, '"');
}

/* Decimal digits of v (>= 0) right-aligned in out[0..width), zero-padded. */
static void digits_at(char *out, int width, int64_t v)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
}

/* "2026-11-24T00:58:33.123Z" with quotes, as clock_fmt_iso writes it, for
 * times from 1970 to 9999 (others go through clock_fmt_iso): every entry
 * has two times, and snprintf was a fifth of building a body. */
static int put_time(struct buf *b, int64_t ms)
{
    if (ms == 0)
        return buf_puts(b, "null");
    if (ms < 0 || ms >= 253402300800000LL) {
        char iso[CLOCK_ISO_LEN];
        int rc = buf_putc(b, '"');
        if (rc == 0)
            rc = buf_puts(b, clock_fmt_iso(ms, iso));
        return rc != 0 ? rc : buf_putc(b, '"');
    }
    int64_t secs = ms / 1000, days = secs / 86400, sod = secs % 86400;
    /* civil from days (Howard Hinnant's algorithm) */
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    char t[] = "\"0000-00-00T00:00:00.000Z\"";
    digits_at(t + 1, 4, y);
    digits_at(t + 6, 2, m);
    digits_at(t + 9, 2, d);
    digits_at(t + 12, 2, sod / 3600);
    digits_at(t + 15, 2, sod / 60 % 60);
    digits_at(t + 18, 2, sod % 60);
    digits_at(t + 21, 3, ms % 1000);
    return buf_append(b, t, sizeof t - 1);
}

static int put_int(struct buf *b, int64_t v)
{
    char n[24];
    int k = (int)sizeof n;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        n[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        n[--k] = '-';
    return buf_append(b, n + k, sizeof n - (size_t)k);
}

/* view_entry(te), serialised: the same members with the same values. */
static int entry_text(const struct thread_entry *te, struct buf *b)
{
    int rc = buf_puts(b, "{\"seq\":");
    if (rc == 0)
        rc = put_int(b, te->seq);
    if (rc == 0)
        rc = buf_puts(b, ",\"kind\":\"");
    if (rc == 0)
        rc = buf_puts(b, thread_kind_name(te->kind));
    if (rc == 0)
        rc = buf_puts(b, "\",\"direction\":\"");
    if (rc == 0)
        rc = buf_puts(b, thread_dir_name(te->dir));
    if (rc == 0)
        rc = buf_puts(b, "\",\"author\":{\"type\":\"");
    if (rc == 0)
        rc = buf_puts(b, thread_author_type_name(te->author_type));
    if (rc == 0)
        rc = buf_puts(b, "\",\"id\":");
    if (rc == 0)
        rc = put_str(b, te->author_id);
    if (rc == 0)
        rc = buf_puts(b, ",\"name\":");
    if (rc == 0)
        rc = put_str(b, te->author_name);
    if (rc == 0)
        rc = buf_puts(b, "},\"text\":");
    if (rc == 0)
        rc = put_str(b, te->text ? te->text : "");
    if (rc == 0)
        rc = buf_puts(b, ",\"event\":");
    if (rc == 0)
        rc = put_str(b, te->event);
    if (rc == 0)
        rc = buf_puts(b, ",\"data\":{");
    bool first = true;
    for (size_t i = 0; rc == 0 && i < te->ndata; i++) {
        const char *k = te->data[i].key;
        if (k == NULL || !utf8_ok(k, strlen(k)))
            continue;   /* json_object_set_new refuses such a key too */
        if (!first)
            rc = buf_putc(b, ',');
        first = false;
        if (rc == 0)
            rc = put_str(b, k);
        if (rc == 0)
            rc = buf_putc(b, ':');
        if (rc == 0)
            rc = put_str(b, te->data[i].value);
    }
    if (rc == 0)
        rc = buf_puts(b, "},\"telegram\":");
    if (rc == 0 && (te->tg_chat_id != 0 || te->tg_message_id != 0)) {
        rc = buf_puts(b, "{\"chat_id\":");
        if (rc == 0)
            rc = put_int(b, te->tg_chat_id);
        if (rc == 0)
            rc = buf_puts(b, ",\"message_id\":");
        if (rc == 0)
            rc = put_int(b, te->tg_message_id);
        if (rc == 0)
            rc = buf_putc(b, '}');
    } else if (rc == 0) {
        rc = buf_puts(b, "null");
    }
    if (rc == 0)
        rc = buf_puts(b, ",\"at\":");
    if (rc == 0)
        rc = put_time(b, te->at);
    if (rc == 0)
        rc = buf_puts(b, ",\"edited_at\":");
    if (rc == 0)
        rc = put_time(b, te->edited_at);
    return rc != 0 ? rc : buf_putc(b, '}');
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the string starting at p (a '"'); NULL if unterminated. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past the value starting at p; NULL when it is not one. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        char stack[64];
        size_t depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                if ((p = skip_string(p, end)) == NULL)
                    return NULL;
                p--;
            } else if (*p == '{' || *p == '[') {
                if (depth == sizeof stack)
                    return NULL;
                stack[depth++] = *p == '{' ? '}' : ']';
            } else if (*p == '}' || *p == ']') {
                if (depth == 0 || stack[--depth] != *p)
                    return NULL;
                if (depth == 0)
                    return p + 1;
            }
        }
        return NULL;
    }
    const char *s = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
        p++;
    return p > s ? p : NULL;
}

/*
 * The head (see build_head) spliced from ev->data's text. 0, or -1 when the
 * text is anything but a plain object this scanner takes (then build_head
 * goes through jansson, which also words the error).
 */
static int splice_head(const struct event_row *ev, struct buf *head, int64_t *thread_seq)
{
    const char *p = ev->data, *end = p ? p + strlen(p) : NULL;
    const char *type = ev->type ? ev->type : "";
    if (p == NULL || ev->occurred_at == 0 || !utf8_ok(type, strlen(type)))
        return -1;   /* (put_time writes 0 as null; the jansson way writes 1970) */
    p = skip_space(p, end);
    if (p >= end || *p != '{')
        return -1;
    /* members other than ticket, in order: [from, to) spans */
    const char *keep[64][2];
    size_t nkeep = 0;
    const char *ticket = NULL, *ticket_end = NULL;
    *thread_seq = 0;
    p = skip_space(p + 1, end);
    while (p < end && *p != '}') {
        const char *k = p, *ke = p < end && *p == '"' ? skip_string(p, end) : NULL;
        if (ke == NULL || memchr(k, '\\', (size_t)(ke - k)) != NULL)
            return -1;
        p = skip_space(ke, end);
        if (p >= end || *p != ':')
            return -1;
        const char *v = skip_space(p + 1, end), *ve = skip_value(v, end);
        if (ve == NULL)
            return -1;
        size_t klen = (size_t)(ke - k) - 2;
        char key[32] = "";
        if (klen < sizeof key)
            memcpy(key, k + 1, klen);
        if (strcmp(key, "ticket") == 0) {
            if (*v != '{' && !(ve - v == 4 && memcmp(v, "null", 4) == 0))
                return -1;
            ticket = v;
            ticket_end = ve;
        } else if (strcmp(key, "thread_seq") == 0) {
            char num[24], *ne;
            if (ve - v >= (ptrdiff_t)sizeof num)
                return -1;
            memcpy(num, v, (size_t)(ve - v));
            num[ve - v] = '\0';
            *thread_seq = strtoll(num, &ne, 10);
            if (*ne != '\0' || ne == num)
                return -1;
        } else if (klen >= sizeof key || !is_reserved(key)) {
            if (nkeep == sizeof keep / sizeof keep[0])
                return -1;
            keep[nkeep][0] = k;
            keep[nkeep++][1] = ve;
        }
        p = skip_space(ve, end);
        if (p < end && *p == ',')
            p = skip_space(p + 1, end);
        else if (p >= end || *p != '}')
            return -1;
    }
    if (p >= end || skip_space(p + 1, end) != end)
        return -1;
    char id[HOOK_PAYLOAD_MSGID_MAX];
    int rc = buf_printf(head, "{\"id\":\"%s\",\"type\":\"",
                        hook_payload_msg_id(ev->id, 1, 1, id));
    if (rc == 0)
        rc = buf_json_escape(head, type, strlen(type));
    if (rc == 0)
        rc = buf_puts(head, "\",\"occurred_at\":");
    if (rc == 0)
        rc = put_time(head, ev->occurred_at);
    if (rc == 0)
        rc = buf_puts(head, ",\"ticket\":");
    if (rc == 0)
        rc = ticket ? buf_append(head, ticket, (size_t)(ticket_end - ticket))
                    : buf_puts(head, "null");
    for (size_t i = 0; rc == 0 && i < nkeep; i++) {
        rc = buf_putc(head, ',');
        if (rc == 0)
            rc = buf_append(head, keep[i][0], (size_t)(keep[i][1] - keep[i][0]));
    }
    if (rc == 0)
        rc = buf_putc(head, '}');
    return rc == 0 ? 0 : -1;
}

/*
 * Serialise the event fields as a JSON object into `head` (the thread is
 * added later); *thread_seq gets data.thread_seq (0 when absent).
 */
static int build_head(const struct event_row *ev, struct buf *head, int64_t *thread_seq,
                      struct err *e)
{
    if (splice_head(ev, head, thread_seq) == 0)
        return 0;
    buf_release(head);
    buf_init(head, 0);
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
    int rc = store_thread_list_upto(s, ev->ticket_id,
                                    thread_seq > INT32_MAX ? INT32_MAX : (int32_t)thread_seq,
                                    a, &te, &nte, e);
    if (rc != 0)
        return rc;
    if (nte == 0)
        return 0;
    struct piece *p = mem_alloc(nte * sizeof *p);
    size_t k = 0;
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < nte && rc == 0; i++) {
        if (te[i].seq > thread_seq)
            continue;
        rc = entry_text(&te[i], &b);
        if (rc != 0)
            break;
        p[k].len = b.len;
        p[k].text = buf_detach(&b);
        k++;
    }
    buf_release(&b);
    if (rc != 0) {
        for (size_t i = 0; i < k; i++)
            mem_free(p[i].text);
        mem_free(p);
        return err_set(e, ERR_INTERNAL, "cannot encode the thread of ticket %" PRId64,
                       ev->ticket_id);
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
