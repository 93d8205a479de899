/*
 * sink_replay.c — re-send a captured request byte-exact with libcurl: the
 * sink's one curl user (the style of tg_client.c: one easy handle per call,
 * a bounded body buffer, errors from CURLOPT_ERRORBUFFER). The process
 * initialises curl once at start (curl_global_init is not thread-safe), as
 * sink_main does, before any replay can run.
 *
 * "Byte-exact" means the receiver sees what the sink saw: the method, every
 * header in order and the body bytes. Headers that describe the connection
 * rather than the message (Host, Content-Length, Connection,
 * Transfer-Encoding, Expect) are curl's to write for the new connection;
 * headers curl would add on its own (Accept, a form Content-Type) are
 * suppressed when the original did not have them.
 */
#include "check/sink_impl.h"

#include "base/buf.h"
#include "base/mem.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define REPLAY_BODY_MAX (64u * 1024u)
#define REPLAY_TIMEOUT_MS 10000

/* Keep the first REPLAY_BODY_MAX bytes, read (and drop) the rest. */
static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    size_t room = REPLAY_BODY_MAX - b->len;
    buf_append(b, p, n < room ? n : room);
    return n;
}

static bool connection_header(const char *name)
{
    static const char *const skip[] = {"host", "content-length", "connection",
                                       "transfer-encoding", "expect", NULL};
    for (const char *const *k = skip; *k != NULL; k++)
        if (strcasecmp(name, *k) == 0)
            return true;
    return false;
}

static bool has_header(const struct sink_record *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return true;
    return false;
}

/* The header list for the replay; NULL only when curl ran out of memory. */
static struct curl_slist *headers_of(const struct sink_record *r)
{
    struct curl_slist *h = NULL;
    bool ok = true;
    for (size_t i = 0; i < r->nheaders && ok; i++) {
        if (connection_header(r->headers[i].name))
            continue;
        /* "Name;" is curl's way of sending a header with an empty value */
        char *line = r->headers[i].value[0]
                         ? mem_printf("%s: %s", r->headers[i].name, r->headers[i].value)
                         : mem_printf("%s;", r->headers[i].name);
        struct curl_slist *n = curl_slist_append(h, line);
        mem_free(line);
        ok = n != NULL;
        h = n ? n : h;
    }
    /* "Name:" removes a header curl would add by itself: Accept and a form
     * Content-Type unless the original had them, Expect always (the
     * original's was dropped above with the connection headers). */
    static const char *const unasked[] = {"Accept", "Content-Type", "Expect", NULL};
    for (const char *const *k = unasked; *k != NULL && ok; k++) {
        if (strcmp(*k, "Expect") != 0 && has_header(r, *k))
            continue;
        char line[32];
        snprintf(line, sizeof line, "%s:", *k);
        struct curl_slist *n = curl_slist_append(h, line);
        ok = n != NULL;
        h = n ? n : h;
    }
    if (!ok) {
        curl_slist_free_all(h);
        return NULL;
    }
    return h;
}

int sink_replay(struct sink *s, int64_t seq, const char *url, int64_t timeout_ms,
                struct sink_replayed *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return err_field(e, ERR_INVAL, "url", "replay needs an http:// or https:// URL");
    bool evicted = false;
    struct sink_record *r = sink_get(s, seq, &evicted);
    if (r == NULL)
        return err_set(e, ERR_NOTFOUND, "request #%lld %s", (long long)seq,
                       evicted ? "was evicted (the journal is full)" : "does not exist");
    int rc = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *h = headers_of(r);
    if (c == NULL || h == NULL) {
        rc = err_set(e, ERR_NOMEM, "curl allocation failed");
        goto out_curl;
    }
    struct buf body;
    buf_init(&body, REPLAY_BODY_MAX);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (r->body_len > 0 || strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms
                                                                  : REPLAY_TIMEOUT_MS));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (cc != CURLE_OK) {
        snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        out->status = 0;
    }
    out->body_len = body.len;
    out->body = body.len > 0 ? buf_detach(&body) : NULL;
    buf_release(&body);
out_curl:
    curl_slist_free_all(h);
    if (c != NULL)
        curl_easy_cleanup(c);
    sink_record_unref(&r);
    return rc;
}
