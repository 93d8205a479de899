/*
 * sink_json.c — the sink's records, near misses, behaviours and stats as
 * JSON: the shapes of the control API (docs/sink.md), which the check
 * runner reuses for its reports.
 */
#include "check/sink_impl.h"

#include "base/buf.h"
#include "base/jx.h"
#include "base/mem.h"

#include <string.h>

/* json_string that never fails: null for text that is not UTF-8. */
static json_t *str(const char *s)
{
    json_t *v = s != NULL ? json_string(s) : NULL;
    return v != NULL ? v : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    char iso[CLOCK_ISO_LEN];
    return ms > 0 ? json_string(clock_fmt_iso(ms, iso)) : json_null();
}

/* Standard base64 of bytes that cannot travel as a JSON string. */
static json_t *base64(const char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = mem_alloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)p[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)p[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    json_t *v = json_string(out);
    mem_free(out);
    return v;
}

json_t *sink_json_record(const struct sink_record *r, bool with_body)
{
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer(r->seq));
    json_object_set_new(o, "at", time_or_null(r->at_ms));
    json_object_set_new(o, "at_ms", json_integer(r->at_ms));
    json_object_set_new(o, "method", str(r->method));
    json_object_set_new(o, "path", str(r->path));
    json_object_set_new(o, "query", str(r->query));
    json_object_set_new(o, "endpoint", r->endpoint[0] ? str(r->endpoint) : json_null());
    json_t *hs = json_array();
    for (size_t i = 0; i < r->nheaders; i++)
        json_array_append_new(hs, json_pack("[o,o]", str(r->headers[i].name),
                                            str(r->headers[i].value)));
    json_object_set_new(o, "headers", hs);
    if (with_body) {
        json_t *b = json_stringn(r->body, r->body_len);
        if (b != NULL)
            json_object_set_new(o, "body", b);
        else
            json_object_set_new(o, "body_base64", base64(r->body, r->body_len));
    }
    json_object_set_new(o, "body_bytes", json_integer((json_int_t)r->body_len));
    json_object_set_new(o, "json",
                        r->json != NULL
                            ? json_pack("{s:b}", "valid", 1)
                            : json_pack("{s:b,s:o}", "valid", 0, "error", str(r->json_error)));
    json_object_set_new(o, "type", str(r->type));
    json_object_set_new(o, "webhook_id", str(r->webhook_id));
    json_object_set_new(o, "signature",
                        json_pack("{s:s,s:o}", "verdict", sink_sig_name(r->sig), "secret",
                                  r->sig_secret >= 0 ? json_integer(r->sig_secret)
                                                     : json_null()));
    json_object_set_new(o, "duplicate_of", r->dup_of ? json_integer(r->dup_of) : json_null());
    json_object_set_new(o, "refused", json_boolean(r->refused));
    json_object_set_new(o, "response",
                        json_pack("{s:o,s:o,s:I,s:o}", "status",
                                  r->status ? json_integer(r->status) : json_null(), "fault",
                                  r->fault ? json_string(sink_fault_name(r->fault)) : json_null(),
                                  "delay_ms", (json_int_t)r->delay_ms, "answered_at",
                                  time_or_null(sink_record_answered(r))));
    return o;
}

json_t *sink_json_near(const struct sink_near *nm, size_t npreds, bool with_body)
{
    json_t *failed = json_array();
    for (size_t i = 0; i < nm->nfails; i++)
        json_array_append_new(failed, json_pack("{s:o,s:o,s:o}", "predicate",
                                                str(nm->fails[i].predicate), "want",
                                                str(nm->fails[i].want), "got",
                                                str(nm->fails[i].got)));
    return json_pack("{s:o,s:I,s:I,s:o}", "request", sink_json_record(nm->rec, with_body), "met",
                     (json_int_t)nm->met, "of", (json_int_t)npreds, "failed", failed);
}

json_t *sink_json_rule(const struct sink_rule *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    if (r->b.fault == SINK_FAULT_NONE || r->b.fault == SINK_FAULT_TRUNCATE)
        json_object_set_new(o, "status", json_integer(r->b.status ? r->b.status : 200));
    json_object_set_new(o, "fault", r->b.fault ? json_string(sink_fault_name(r->b.fault))
                                               : json_null());
    if (r->b.body != NULL)
        json_object_set_new(o, "body", str(r->b.body));
    if (r->b.content_type != NULL)
        json_object_set_new(o, "content_type", str(r->b.content_type));
    if (r->b.retry_after != NULL)
        json_object_set_new(o, "retry_after", str(r->b.retry_after));
    json_object_set_new(o, "delay_ms", json_integer(r->b.delay_ms));
    json_object_set_new(o, "times_left", r->left >= 0 ? json_integer(r->left) : json_null());
    json_object_set_new(o, "until", time_or_null(r->until_ms));
    json_object_set_new(o, "hits", json_integer(r->hits));
    return o;
}

json_t *sink_json_stats(struct sink *s)
{
    struct sink_stats st;
    sink_stats(s, &st);
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                          "received", (json_int_t)st.received,
                          "refused", (json_int_t)st.refused,
                          "duplicates", (json_int_t)st.duplicates,
                          "stored", (json_int_t)st.stored,
                          "stored_bytes", (json_int_t)st.stored_bytes,
                          "evicted", (json_int_t)st.evicted,
                          "evicted_bytes", (json_int_t)st.evicted_bytes,
                          "ids_forgotten", (json_int_t)st.ids_forgotten,
                          "held", (json_int_t)st.held,
                          "last_seq", (json_int_t)st.last_seq,
                          "max_requests", (json_int_t)s->o.max_requests,
                          "max_bytes", (json_int_t)s->o.max_bytes);
    json_t *eps = json_object();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->neps; i++) {
        const struct sink_ep *ep = s->eps[i];
        if (strcmp(ep->name, SINK_ANY_ENDPOINT) == 0)
            continue;
        json_t *sig = json_object();
        for (int v = SINK_SIG_UNCHECKED; v <= SINK_SIG_INVALID; v++)
            json_object_set_new(sig, sink_sig_name((enum sink_sig)v), json_integer(ep->sig[v]));
        json_object_set_new(eps, ep->name,
                            json_pack("{s:I,s:I,s:I,s:I,s:o,s:I}",
                                      "received", (json_int_t)ep->received,
                                      "refused", (json_int_t)ep->refused,
                                      "duplicates", (json_int_t)ep->duplicates,
                                      "json_invalid", (json_int_t)ep->json_invalid,
                                      "signature", sig,
                                      "secrets", (json_int_t)ep->nsecrets));
    }
    pthread_mutex_unlock(&s->mu);
    json_object_set_new(o, "endpoints", eps);
    return o;
}
