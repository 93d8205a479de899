/*
 * tg_client.c — Bot API calls over libcurl (see tg_client.h).
 *
 * Each client keeps one easy handle inside its own multi handle. The
 * multi handle owns the connection cache, so re-adding the same easy
 * handle call after call reuses the keep-alive connection; and waiting in
 * curl_multi_poll instead of curl_easy_perform lets tg_client_abort wake a
 * thread parked in a 30-second long poll immediately (curl_multi_wakeup)
 * rather than at the next progress callback.
 */
#include "telegram/tg_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"

/* getUpdates pages are capped at ~4 MiB by the server; leave room. */
#define TG_BODY_MAX (16u * 1024u * 1024u)
#define TG_CONNECT_TIMEOUT_MS 10000L

struct tg_client {
    char *base;                 /* owned, SECRET: "<api_base>/bot<token>/" */
    CURL *easy;                 /* owned */
    CURLM *multi;               /* owned; holds the connection cache */
    struct curl_slist *hdrs;    /* owned */
    struct buf body;            /* the answer being received */
    char errbuf[CURL_ERROR_SIZE];
    atomic_bool aborted;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe everywhere: run it exactly once. */
static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    return buf_append(b, p, n) == 0 ? n : 0;   /* 0 makes curl fail the transfer */
}

int tg_client_new(const char *api_base, const char *token, struct tg_client **out,
                  struct err *e)
{
    *out = NULL;
    if (api_base == NULL || api_base[0] == '\0')
        return err_set(e, ERR_INVAL, "telegram api_base is not set");
    if (token == NULL || token[0] == '\0')
        return err_set(e, ERR_INVAL, "telegram token is not set");
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return err_set(e, ERR_IO, "curl_global_init failed: %s",
                       curl_easy_strerror(curl_init_rc));

    struct tg_client *c = mem_alloc(sizeof *c);
    size_t bl = strlen(api_base);
    while (bl > 0 && api_base[bl - 1] == '/')
        bl--;
    c->base = mem_printf("%.*s/bot%s/", (int)bl, api_base, token);
    buf_init(&c->body, TG_BODY_MAX);
    atomic_init(&c->aborted, false);
    c->easy = curl_easy_init();
    c->multi = curl_multi_init();
    if (c->easy == NULL || c->multi == NULL) {
        tg_client_free(&c);
        return err_set(e, ERR_NOMEM, "curl handle allocation failed");
    }
    c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = c->hdrs ? curl_slist_append(c->hdrs, "Expect:") : NULL;
    if (h2 == NULL) {
        tg_client_free(&c);
        return err_set(e, ERR_NOMEM, "curl header list allocation failed");
    }
    c->hdrs = h2;
    CURL *h = c->easy;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tgcrm");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, TG_CONNECT_TIMEOUT_MS);
    *out = c;
    return 0;
}

void tg_client_free(struct tg_client **cp)
{
    struct tg_client *c = *cp;
    if (c == NULL)
        return;
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->hdrs);
    buf_release(&c->body);
    if (c->base) {
        memset(c->base, 0, strlen(c->base));   /* the token does not linger */
        mem_free(c->base);
    }
    mem_free(c);
    *cp = NULL;
}

void tg_client_abort(struct tg_client *c)
{
    atomic_store(&c->aborted, true);
    curl_multi_wakeup(c->multi);
}

void tg_reply_release(struct tg_reply *r)
{
    if (r->result)
        json_decref(r->result);
    r->result = NULL;
    mem_free(r->raw);
    r->raw = NULL;
    mem_free(r->items);
    r->items = NULL;
    r->nitems = 0;
}

const char *tg_class_name(enum tg_class cls)
{
    switch (cls) {
    case TG_OK: return "ok";
    case TG_TRANSIENT: return "transient";
    case TG_RATE_LIMITED: return "rate_limited";
    case TG_BLOCKED: return "blocked";
    case TG_THREAD_LOST: return "thread_lost";
    case TG_UNAUTHORIZED: return "unauthorized";
    case TG_CONFLICT: return "conflict";
    case TG_PERMANENT: return "permanent";
    }
    return "unknown";
}

/* The descriptions that mean "this topic is gone" (reference 1.6, 5.5). */
static bool thread_lost_text(const char *d)
{
    return strstr(d, "message thread not found") != NULL ||
           strstr(d, "TOPIC_DELETED") != NULL || strstr(d, "TOPIC_ID_INVALID") != NULL;
}

enum tg_class tg_classify(const struct tg_reply *r)
{
    if (r->kind == TG_REPLY_OK)
        return TG_OK;
    if (r->kind != TG_REPLY_ERROR)
        return TG_TRANSIENT;
    int64_t code = r->error_code ? r->error_code : r->http_status;
    if (code == 429 || r->retry_after > 0)
        return TG_RATE_LIMITED;
    if (code >= 500 || code < 400)
        return TG_TRANSIENT;
    if (code == 401)
        return TG_UNAUTHORIZED;
    if (code == 409)
        return TG_CONFLICT;
    if (code == 403 && strstr(r->description, "bot was blocked by the user") != NULL)
        return TG_BLOCKED;
    if (code == 400 && thread_lost_text(r->description))
        return TG_THREAD_LOST;
    return TG_PERMANENT;
}

/* ---- a result array left unparsed (tg_call_items) ------------------------------------ */

struct scan {
    const char *p, *end;
};

static void scan_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Past a string whose opening quote is at s->p. */
static bool scan_string(struct scan *s)
{
    for (s->p++; s->p < s->end; s->p++) {
        if (*s->p == '\\')
            s->p++;
        else if (*s->p == '"')
            return ++s->p <= s->end;
    }
    return false;
}

/* Past one value, found by its brackets and strings only: its syntax is
 * checked when it is parsed. */
static bool scan_value(struct scan *s)
{
    int depth = 0;
    do {
        if (s->p >= s->end)
            return false;
        char c = *s->p;
        if (c == '"') {
            if (!scan_string(s))
                return false;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return false;
        } else if (depth == 0) {        /* a scalar: up to what ends it */
            while (s->p < s->end && strchr(",]} \t\r\n", *s->p) == NULL)
                s->p++;
            return true;
        }
        s->p++;
    } while (depth > 0);
    return true;
}

/* The member name at s->p is exactly `name` (no escapes) and a colon follows. */
static bool scan_key(struct scan *s, const char *name)
{
    size_t n = strlen(name);
    if ((size_t)(s->end - s->p) < n + 2 || s->p[0] != '"' || memcmp(s->p + 1, name, n) != 0 ||
        s->p[n + 1] != '"')
        return false;
    s->p += n + 2;
    scan_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return false;
    s->p++;
    scan_ws(s);
    return true;
}

/* The elements of the array at s->p into r->items. */
static bool scan_items(struct scan *s, const char *base, struct tg_reply *r)
{
    size_t cap = 0;
    s->p++;                             /* '[' */
    scan_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        const char *at = s->p;
        if (!scan_value(s))
            return false;
        if (r->nitems == cap) {
            cap = cap ? cap * 2 : 128;
            r->items = mem_realloc(r->items, cap * sizeof *r->items);
        }
        r->items[r->nitems++] = (struct tg_item){(size_t)(at - base), (size_t)(s->p - at)};
        scan_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            scan_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return true;
        }
        return false;
    }
}

/* r->items from body when it is exactly {"ok":true,"result":[...]}, in
 * either order; false (r->items empty) for anything else. */
static bool scan_envelope(const char *body, size_t len, struct tg_reply *r)
{
    struct scan s = {body, body + len};
    bool ok = false, result = false;
    scan_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return false;
    s.p++;
    for (int member = 0; member < 2; member++) {
        scan_ws(&s);
        if (member == 1) {
            if (s.p >= s.end || *s.p != ',')
                goto no;
            s.p++;
            scan_ws(&s);
        }
        if (!ok && scan_key(&s, "ok")) {
            if ((size_t)(s.end - s.p) < 4 || memcmp(s.p, "true", 4) != 0)
                goto no;
            s.p += 4;
            ok = true;
        } else if (!result && scan_key(&s, "result")) {
            if (s.p >= s.end || *s.p != '[' || !scan_items(&s, body, r))
                goto no;
            result = true;
        } else {
            goto no;
        }
    }
    scan_ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
        scan_ws(&s);
        if (s.p == s.end)
            return true;
    }
no:
    mem_free(r->items);
    r->items = NULL;
    r->nitems = 0;
    return false;
}

/* Read the envelope out of the received body into r. */
static void parse_envelope(struct tg_client *c, struct tg_reply *r)
{
    json_t *v = NULL;
    struct err pe = {0};
    bool ok = false;
    if (c->body.len > 0 && jx_parse(c->body.p, c->body.len, &v, &pe) == 0 &&
        json_is_object(v)) {
        json_t *okv = json_object_get(v, "ok");
        ok = json_is_true(okv);
        if (ok && r->http_status >= 200 && r->http_status < 300) {
            r->kind = TG_REPLY_OK;
            r->result = json_incref(json_object_get(v, "result"));
            json_decref(v);
            return;
        }
        json_t *code = json_object_get(v, "error_code");
        json_t *desc = json_object_get(v, "description");
        json_t *params = json_object_get(v, "parameters");
        r->kind = TG_REPLY_ERROR;
        r->error_code = json_is_integer(code) ? json_integer_value(code) : r->http_status;
        snprintf(r->description, sizeof r->description, "%s",
                 json_is_string(desc) ? json_string_value(desc) : "no description");
        if (json_is_object(params)) {
            json_t *ra = json_object_get(params, "retry_after");
            json_t *mig = json_object_get(params, "migrate_to_chat_id");
            if (json_is_integer(ra))
                r->retry_after = json_integer_value(ra);
            if (json_is_integer(mig))
                r->migrate_to_chat_id = json_integer_value(mig);
        }
        if (ok && r->error_code == 0)   /* ok:true under a non-2xx status */
            r->error_code = r->http_status;
        json_decref(v);
        return;
    }
    json_decref(v);
    /* Not a Bot API envelope (a proxy's HTML error page, a cut body ...). */
    r->kind = TG_REPLY_ERROR;
    r->error_code = r->http_status >= 400 ? r->http_status : 502;
    snprintf(r->description, sizeof r->description, "HTTP %ld: answer is not a Bot API envelope",
             r->http_status);
}

/* The transfer itself: 0 when it completed, with *cc the curl result. */
static int transfer(struct tg_client *c, CURLcode *cc)
{
    CURLMcode mc = curl_multi_add_handle(c->multi, c->easy);
    if (mc != CURLM_OK) {
        *cc = CURLE_FAILED_INIT;
        return 0;
    }
    int running = 1;
    bool done = false;
    *cc = CURLE_OK;
    while (!done) {
        if (atomic_load(&c->aborted))
            break;
        mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK) {
            *cc = CURLE_FAILED_INIT;
            done = true;
            break;
        }
        int left = 0;
        CURLMsg *m;
        while ((m = curl_multi_info_read(c->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE) {
                *cc = m->data.result;
                done = true;
            }
        if (done || running == 0)
            break;
        curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
    }
    curl_multi_remove_handle(c->multi, c->easy);
    return done || running == 0 ? 0 : ERR_BUSY;
}

/* Map a class to the code tg_call returns. */
static int class_code(const struct tg_reply *r)
{
    switch (r->cls) {
    case TG_OK: return 0;
    case TG_TRANSIENT: return ERR_IO;
    case TG_RATE_LIMITED: return ERR_BUSY;
    case TG_UNAUTHORIZED: return ERR_AUTH;
    case TG_CONFLICT: return ERR_CONFLICT;
    case TG_BLOCKED: return ERR_FORBIDDEN;
    case TG_THREAD_LOST: return ERR_INVAL;
    case TG_PERMANENT:
        if (r->error_code == 403)
            return ERR_FORBIDDEN;
        if (r->error_code == 404)
            return ERR_NOTFOUND;
        return ERR_INVAL;
    }
    return ERR_INTERNAL;
}

/* tg_call, or with items tg_call_items. */
static int call(struct tg_client *c, const char *method, const char *params_json,
                long timeout_ms, bool items, struct tg_reply *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (atomic_load(&c->aborted)) {
        out->aborted = true;
        out->cls = TG_TRANSIENT;
        snprintf(out->description, sizeof out->description, "client stopped");
        return err_set(e, ERR_BUSY, "telegram %s: client stopped", method);
    }
    const char *params = params_json ? params_json : "{}";
    char *url = mem_printf("%s%s", c->base, method);
    buf_release(&c->body);
    c->errbuf[0] = '\0';
    CURL *h = c->easy;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, params);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(params));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms > 0 && timeout_ms < TG_CONNECT_TIMEOUT_MS
                         ? timeout_ms : TG_CONNECT_TIMEOUT_MS);

    int64_t t0 = clock_mono_ns();
    CURLcode cc = CURLE_OK;
    int rc = transfer(c, &cc);
    mem_free(url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);   /* params is the caller's */
    if (rc != 0) {
        out->aborted = true;
        out->kind = TG_REPLY_TRANSPORT;
        out->cls = TG_TRANSIENT;
        snprintf(out->description, sizeof out->description, "client stopped");
        return err_set(e, ERR_BUSY, "telegram %s: client stopped", method);
    }
    if (cc != CURLE_OK) {
        out->kind = TG_REPLY_TRANSPORT;
        out->cls = TG_TRANSIENT;
        char red[TG_DESC_MAX];
        log_redact(c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc), red, sizeof red);
        snprintf(out->description, sizeof out->description, "%s", red);
        return err_set(e, ERR_IO, "telegram %s: %s", method, out->description);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    out->http_status = status;
    if (items && status >= 200 && status < 300 &&
        scan_envelope(c->body.p, c->body.len, out)) {
        out->kind = TG_REPLY_OK;
        out->raw = buf_detach(&c->body);
    } else {
        parse_envelope(c, out);
    }
    buf_release(&c->body);
    out->cls = tg_classify(out);

    struct log_line l;
    log_begin(&l, LOG_DEBUG, "telegram.call");
    log_str(&l, "method", method);
    log_int(&l, "status", status);
    log_str(&l, "class", tg_class_name(out->cls));
    log_int(&l, "ms", (clock_mono_ns() - t0) / 1000000);
    log_end(&l);

    if (out->cls == TG_OK)
        return 0;
    return err_set(e, class_code(out), "telegram %s: %s", method, out->description);
}

int tg_call(struct tg_client *c, const char *method, const char *params_json,
            long timeout_ms, struct tg_reply *out, struct err *e)
{
    return call(c, method, params_json, timeout_ms, false, out, e);
}

int tg_call_items(struct tg_client *c, const char *method, const char *params_json,
                  long timeout_ms, struct tg_reply *out, struct err *e)
{
    return call(c, method, params_json, timeout_ms, true, out, e);
}
