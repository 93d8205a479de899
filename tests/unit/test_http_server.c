/*
 * test_http_server.c — the HTTP server over loopback with libcurl: body
 * echo, 413 for oversized bodies (Content-Length and chunked), query
 * parsing, request and response headers, the error shape.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/metrics.h"
#include "common/hook_client.h"
#include "http/http_server.h"

#define MAX_BODY 1024

static atomic_int calls;

/* http_req_header_each callback: "name=value\n" lines, stopping at x-stop. */
static int list_header(const char *name, const char *value, void *ud)
{
    if (strcasecmp(name, "x-stop") == 0)
        return 1;
    buf_printf(ud, "%s=%s\n", name, value);
    return 0;
}

/* The handler under test: behaviour chosen by path. */
static void handler(struct http_req *req, struct http_resp *resp, void *ud)
{
    (void)ud;
    atomic_fetch_add(&calls, 1);
    if (strcmp(req->path, "/echo") == 0) {
        resp->status = 200;
        resp->content_type = "text/plain";
        buf_append(&resp->body, req->body, req->body_len);
    } else if (strcmp(req->path, "/query") == 0) {
        const char *a = http_req_query(req, "a");
        const char *b = http_req_query(req, "b");
        const char *flag = http_req_query(req, "flag");
        const char *none = http_req_query(req, "none");
        resp->status = 200;
        buf_printf(&resp->body, "a=%s|b=%s|flag=%s|none=%s", a ? a : "(null)",
                   b ? b : "(null)", flag ? flag : "(null)", none ? none : "(null)");
        resp->content_type = "text/plain";
    } else if (strcmp(req->path, "/headers") == 0) {
        const char *x = http_req_header(req, "x-test");
        resp->status = 201;
        http_resp_header(resp, "X-Echo", x ? x : "none");
        buf_puts(&resp->body, "{}");
    } else if (strcmp(req->path, "/target") == 0) {
        resp->status = 200;
        resp->content_type = "text/plain";
        buf_puts(&resp->body, req->target);
    } else if (strcmp(req->path, "/header-list") == 0) {
        resp->status = 200;
        resp->content_type = "text/plain";
        http_req_header_each(req, list_header, &resp->body);
    } else if (strcmp(req->path, "/cut") == 0) {
        resp->status = 200;
        buf_puts(&resp->body, "{\"a\":\"0123456789012345678901234567890123456789\"}");
        resp->cut = true;
        resp->cut_at = 10;
    } else if (strcmp(req->path, "/reset") == 0) {
        resp->drop = true;
        resp->reset = true;
    } else if (strcmp(req->path, "/nothing") == 0) {
        /* leaves status 0 */
    } else if (strcmp(req->path, "/error") == 0) {
        struct err e = {0};
        err_field(&e, ERR_INVAL, "limit", "limit must be 1..500, got \"x\"");
        http_resp_error(resp, 400, &e);
    } else {
        resp->status = 200;
        resp->content_type = "text/plain";
        buf_printf(&resp->body, "%s %s", req->method, req->path);
    }
}

static struct http_server *srv;

static void start(void)
{
    log_setup(2, LOG_ERROR, LOG_TEXT);
    curl_global_init(CURL_GLOBAL_ALL);
    struct err e = {0};
    cr_assert_eq(http_server_start("127.0.0.1:0", 2, MAX_BODY, handler, NULL, &srv, &e), 0,
                 "%s", e.msg);
    cr_assert_gt(http_server_port(srv), 0);
}

static void stop(void)
{
    http_server_free(&srv);
    cr_assert_null(srv);
    metrics_free_all();
    curl_global_cleanup();
}

TestSuite(http_server, .init = start, .fini = stop);

struct reply {
    long status;
    struct buf body;
    struct buf headers;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_append(ud, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    buf_append(ud, p, sz * n);
    return sz * n;
}

struct upload {
    const char *p;
    size_t left;
};

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t k = sz * n < u->left ? sz * n : u->left;
    if (k > 100 && u->left < 64 * 1024)
        k = 100;   /* many small chunks for small bodies */
    memcpy(p, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

/* One request. body == NULL: GET. chunked: send body with
 * Transfer-Encoding: chunked (no Content-Length). */
static void request(const char *method, const char *path, const char *body,
                    size_t body_len, bool chunked, const char *extra_header,
                    struct reply *r)
{
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", http_server_port(srv), path);
    buf_init(&r->body, 0);
    buf_init(&r->headers, 0);
    struct curl_slist *hs = NULL;
    if (extra_header != NULL)
        hs = curl_slist_append(hs, extra_header);
    struct upload up = {body, body_len};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body != NULL && chunked) {
        hs = curl_slist_append(hs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (hs != NULL)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    CURLcode cc = curl_easy_perform(c);
    cr_assert_eq(cc, CURLE_OK, "curl: %s", curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
}

static void reply_free(struct reply *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

/* Case-insensitive search of the raw header block for "Name: value". */
static bool has_header(const struct reply *r, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = buf_str(&r->headers); *p; p++)
        if (strncasecmp(p, line, n) == 0)
            return true;
    return false;
}

Test(http_server, echoes_body)
{
    struct reply r;
    request("POST", "/echo", "hello, world", 12, false, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(buf_str(&r.body), "hello, world");
    cr_assert(has_header(&r, "Content-Type: text/plain"), "%s", buf_str(&r.headers));
    reply_free(&r);
}

Test(http_server, echoes_chunked_body)
{
    char body[900];
    memset(body, 'x', sizeof body);
    body[sizeof body - 1] = 'y';
    struct reply r;
    request("POST", "/echo", body, sizeof body, true, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body.len, sizeof body);
    cr_assert_eq(memcmp(r.body.p, body, sizeof body), 0);
    reply_free(&r);
}

Test(http_server, body_exactly_at_limit_is_accepted)
{
    char body[MAX_BODY];
    memset(body, 'a', sizeof body);
    struct reply r;
    request("POST", "/echo", body, sizeof body, false, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body.len, (size_t)MAX_BODY);
    reply_free(&r);
}

Test(http_server, oversize_content_length_is_413_without_handler)
{
    char body[MAX_BODY + 1];
    memset(body, 'a', sizeof body);
    struct reply r;
    request("POST", "/echo", body, sizeof body, false, NULL, &r);
    cr_assert_eq(r.status, 413);
    cr_assert(strstr(buf_str(&r.body), "\"code\":\"payload_too_large\"") != NULL, "%s",
              buf_str(&r.body));
    cr_assert(has_header(&r, "Content-Type: application/json"));
    cr_assert_eq(atomic_load(&calls), 0);
    reply_free(&r);
}

Test(http_server, oversize_big_upload_is_413)
{
    /* Far over the limit: curl sends Expect: 100-continue; the server must
     * answer before reading any of it. */
    size_t n = 4u * 1024u * 1024u;
    char *body = malloc(n);
    memset(body, 'b', n);
    struct reply r;
    request("PUT", "/echo", body, n, false, NULL, &r);
    cr_assert_eq(r.status, 413);
    cr_assert_eq(atomic_load(&calls), 0);
    reply_free(&r);
    free(body);
}

Test(http_server, oversize_without_expect_is_drained_then_413)
{
    /* A client that does not wait for "100 Continue" is already sending:
     * it must still be able to read the 413 (not get a reset). */
    size_t n = 3u * 1024u * 1024u;
    char *body = malloc(n);
    memset(body, 'e', n);
    for (int i = 0; i < 5; i++) {
        struct reply r;
        request("POST", "/echo", body, n, false, "Expect:", &r);
        cr_assert_eq(r.status, 413);
        cr_assert(strstr(buf_str(&r.body), "payload_too_large") != NULL);
        reply_free(&r);
    }
    cr_assert_eq(atomic_load(&calls), 0);
    free(body);
}

Test(http_server, oversize_chunked_is_413_without_handler)
{
    char body[MAX_BODY * 3];
    memset(body, 'c', sizeof body);
    struct reply r;
    request("POST", "/echo", body, sizeof body, true, NULL, &r);
    cr_assert_eq(r.status, 413);
    cr_assert(strstr(buf_str(&r.body), "payload_too_large") != NULL, "%s",
              buf_str(&r.body));
    cr_assert_eq(atomic_load(&calls), 0);
    reply_free(&r);
}

Test(http_server, oversize_big_chunked_is_413)
{
    size_t n = 4u * 1024u * 1024u;
    char *body = malloc(n);
    memset(body, 'd', n);
    struct reply r;
    request("POST", "/echo", body, n, true, NULL, &r);
    cr_assert_eq(r.status, 413);
    cr_assert_eq(atomic_load(&calls), 0);
    reply_free(&r);
    free(body);
}

Test(http_server, parses_query_and_decodes_path)
{
    struct reply r;
    request("GET", "/query?a=1&b=hello%20world&flag&a=2", NULL, 0, false, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(buf_str(&r.body), "a=1|b=hello world|flag=|none=(null)");
    reply_free(&r);

    request("GET", "/some%20where?x=1", NULL, 0, false, NULL, &r);
    cr_assert_str_eq(buf_str(&r.body), "GET /some where");
    reply_free(&r);
}

Test(http_server, request_and_response_headers)
{
    struct reply r;
    request("GET", "/headers", NULL, 0, false, "X-Test: abc 123", &r);
    cr_assert_eq(r.status, 201);
    cr_assert(has_header(&r, "X-Echo: abc 123"), "%s", buf_str(&r.headers));
    cr_assert(has_header(&r, "Content-Type: application/json"), "%s", buf_str(&r.headers));
    reply_free(&r);
}

Test(http_server, missing_status_is_500)
{
    struct reply r;
    request("GET", "/nothing", NULL, 0, false, NULL, &r);
    cr_assert_eq(r.status, 500);
    cr_assert(strstr(buf_str(&r.body), "\"code\":\"internal\"") != NULL);
    reply_free(&r);
}

Test(http_server, error_shape)
{
    struct reply r;
    request("GET", "/error", NULL, 0, false, NULL, &r);
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(buf_str(&r.body),
                     "{\"error\":{\"code\":\"invalid_request\",\"message\":"
                     "\"limit must be 1..500, got \\\"x\\\"\",\"field\":\"limit\"}}");
    reply_free(&r);
}

Test(http_server, counts_requests_in_metrics)
{
    struct reply r;
    request("GET", "/x", NULL, 0, false, NULL, &r);
    reply_free(&r);
    request("GET", "/y", NULL, 0, false, NULL, &r);
    reply_free(&r);
    struct metric *m = metrics_counter("tgcrm_http_requests_total", "",
                                       "method=\"GET\",status=\"200\"");
    cr_assert_eq(metrics_value(m), 2);
    struct metric *c = metrics_counter("tgcrm_http_request_duration_microseconds_count",
                                       "", "");
    cr_assert_eq(metrics_value(c), 2);
}

Test(http_server_listen, bad_addresses_refused)
{
    struct http_server *s = NULL;
    struct err e = {0};
    cr_assert_eq(http_server_start("nocolon", 1, 10, handler, NULL, &s, &e), ERR_INVAL);
    cr_assert_null(s);
    err_clear(&e);
    cr_assert_eq(http_server_start("127.0.0.1:99999", 1, 10, handler, NULL, &s, &e),
                 ERR_INVAL);
    err_clear(&e);
    cr_assert_eq(http_server_start("127.0.0.1:x", 1, 10, handler, NULL, &s, &e), ERR_INVAL);
    metrics_free_all();
}

Test(http_server_listen, localhost_and_port_in_use)
{
    log_setup(2, LOG_ERROR, LOG_TEXT);
    struct http_server *a = NULL, *b = NULL;
    struct err e = {0};
    cr_assert_eq(http_server_start("localhost:0", 1, 10, handler, NULL, &a, &e), 0, "%s",
                 e.msg);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", http_server_port(a));
    cr_assert_eq(http_server_start(addr, 1, 10, handler, NULL, &b, &e), ERR_IO);
    cr_assert_null(b);
    http_server_free(&a);
    http_server_free(&a);   /* NULL is fine */
    metrics_free_all();
}

/* ---- raw target, header order, faults -------------------------------------- */

/* A GET through tests/common/hook_client.h, which reports transport
 * failures instead of asserting on them. */
static CURLcode raw_get(const char *path, const char *const *headers, struct hc_reply *r)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", http_server_port(srv));
    hc_request(base, "GET", path, headers, NULL, 0, r);
    return r->cc;
}

Test(http_server, target_is_raw)
{
    struct hc_reply r;
    cr_assert_eq(raw_get("/target?b=x%20y&a=%41&&flag", NULL, &r), CURLE_OK);
    cr_assert_str_eq(buf_str(&r.body), "/target?b=x%20y&a=%41&&flag");
    hc_reply_free(&r);
}

Test(http_server, headers_in_order_with_repeats)
{
    const char *hs[] = {"X-B: 2", "X-A: 1", "X-B: 3", "X-Stop: here", "X-After: never", NULL};
    struct hc_reply r;
    cr_assert_eq(raw_get("/header-list", hs, &r), CURLE_OK);
    const char *b = buf_str(&r.body);
    const char *b2 = strstr(b, "X-B=2\n");
    cr_assert_not_null(b2, "%s", b);
    cr_assert_not_null(strstr(b2, "X-B=2\nX-A=1\nX-B=3\n"), "%s", b);
    cr_assert_null(strstr(b, "X-After"), "iteration must stop: %s", b);
    hc_reply_free(&r);
}

Test(http_server, cut_body_is_truncated_on_the_wire)
{
    struct hc_reply r;
    CURLcode cc = raw_get("/cut", NULL, &r);
    cr_assert_eq(cc, CURLE_PARTIAL_FILE, "curl: %s", curl_easy_strerror(cc));
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body.len, 10u, "%s", buf_str(&r.body));
    cr_assert(hc_has_header(&r, "Content-Length: 48"), "%s", buf_str(&r.headers));
    hc_reply_free(&r);
}

Test(http_server, reset_gives_no_answer)
{
    struct hc_reply r;
    CURLcode cc = raw_get("/reset", NULL, &r);
    cr_assert(cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR, "curl: %s",
              curl_easy_strerror(cc));
    cr_assert_eq(r.status, 0);
    hc_reply_free(&r);
}
