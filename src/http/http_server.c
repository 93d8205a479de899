/*
 * http_server.c — libmicrohttpd translated into http_server.h.
 *
 * The only file that includes microhttpd.h: MHD_YES/MHD_NO, MHD's
 * three-phase access-handler protocol and its response objects stop here.
 *
 * A request goes through the access handler several times:
 *   1. headers received (*con_cls == NULL): make the request context and
 *      its arena, and look at Content-Length (below);
 *   2. once per piece of body: append it to the arena;
 *   3. body complete (*upload_data_size == 0): call the handler, send.
 *
 * Oversized bodies. A response queued in step 1 makes MHD skip "100
 * Continue", send it and close the connection without reading the body —
 * right for a client that waits for "100 Continue" (curl does), but a
 * client that is already sending gets its connection reset mid-upload and
 * usually never sees the 413. MHD 0.9.x also refuses to queue a response
 * while a body is arriving. So: with "Expect: 100-continue" (or a body
 * absurdly far over the limit) the 413 goes out in step 1; otherwise the
 * body is drained — read and dropped, never stored — and the 413 sent when
 * it ends, up to max_body + HTTP_DRAIN_MAX bytes in total, past which the
 * connection is cut. A chunked body is handled the same way from the
 * moment it passes the limit. The handler is never called for any of them.
 * The context (and with it the arena) is freed in the completion callback,
 * which MHD calls for finished and aborted requests alike.
 */
#include "http/http_server.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/metrics.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Working memory a handler may use on top of the body (ticket pages,
 * threads); past this the arena reports exhausted and the request fails. */
#define HTTP_ARENA_WORK (64u * 1024u * 1024u)
/* Idle seconds before MHD drops a connection. */
#define HTTP_CONN_TIMEOUT_S 30u
/* How much past max_body we drain (read and drop, never store) so the
 * client can finish sending and read its 413; past it the connection is
 * cut, so an endless upload costs nothing. */
#define HTTP_DRAIN_MAX (16u * 1024u * 1024u)

struct http_server {
    struct MHD_Daemon *d;
    http_handler h;
    void *ud;
    size_t max_body;
    size_t arena_cap;
    int port;
    struct metric *dur_sum;      /* microseconds, all requests */
    struct metric *dur_count;
};

/* Per-request state, *con_cls in MHD's terms. */
struct reqctx {
    struct arena *arena;
    char *body;                  /* arena; NUL-terminated */
    size_t len;
    size_t cap;                  /* bytes allocated for body, NUL included */
    size_t seen;                 /* body bytes received, stored or not */
    bool too_big;
    bool answered;               /* a response is queued */
    bool begun;                  /* the headers phase has run */
    char *target;                /* arena: the raw request target */
    int64_t t0_ns;
};

/* ---- requests ------------------------------------------------------------- */

const char *http_req_header(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct header_each {
    int (*fn)(const char *name, const char *value, void *ud);
    void *ud;
    int rc;
};

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct header_each *h = cls;
    h->rc = h->fn(key ? key : "", value ? value : "", h->ud);
    return h->rc == 0 ? MHD_YES : MHD_NO;
}

int http_req_header_each(struct http_req *req,
                         int (*fn)(const char *name, const char *value, void *ud),
                         void *ud)
{
    struct header_each h = {.fn = fn, .ud = ud};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, each_header, &h);
    return h.rc;
}

struct query_find {
    const char *name;
    const char *value;
    bool found;
};

static enum MHD_Result find_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct query_find *q = cls;
    if (key != NULL && strcmp(key, q->name) == 0) {
        q->value = value ? value : "";
        q->found = true;
        return MHD_NO;   /* first wins: stop iterating */
    }
    return MHD_YES;
}

bool http_req_peer_gone(struct http_req *req)
{
    const union MHD_ConnectionInfo *ci =
        req->conn ? MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
    if (ci == NULL)
        return false;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    /* 0: an orderly close; an error other than "nothing yet": a reset */
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

const char *http_req_query(struct http_req *req, const char *name)
{
    struct query_find q = {.name = name};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, find_arg, &q);
    return q.found ? q.value : NULL;
}

struct query_each {
    int (*fn)(const char *key, const char *value, void *ud);
    void *ud;
    int rc;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct query_each *q = cls;
    q->rc = q->fn(key ? key : "", value, q->ud);
    return q->rc == 0 ? MHD_YES : MHD_NO;
}

int http_req_query_each(struct http_req *req,
                        int (*fn)(const char *key, const char *value, void *ud),
                        void *ud)
{
    struct query_each q = {.fn = fn, .ud = ud};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_arg, &q);
    return q.rc;
}

/* ---- responses ------------------------------------------------------------ */

int http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders >= HTTP_RESP_MAX_HEADERS)
        return ERR_TOOBIG;
    char *n = arena_strdup(resp->arena, name);
    char *v = arena_strdup(resp->arena, value);
    if (n == NULL || v == NULL)
        return ERR_TOOBIG;
    resp->headers[resp->nheaders].name = n;
    resp->headers[resp->nheaders].value = v;
    resp->nheaders++;
    return 0;
}

void http_resp_error(struct http_resp *resp, int status, const struct err *e)
{
    int code = e != NULL && e->code != 0 ? e->code : ERR_INTERNAL;
    const char *msg = e != NULL && e->msg[0] != '\0' ? e->msg : err_id(code);
    buf_release(&resp->body);
    resp->status = status;
    resp->content_type = "application/json";
    struct buf *b = &resp->body;
    buf_puts(b, "{\"error\":{\"code\":\"");
    buf_json_escape(b, err_id(code), strlen(err_id(code)));
    buf_puts(b, "\",\"message\":\"");
    buf_json_escape(b, msg, strlen(msg));
    buf_putc(b, '"');
    if (e != NULL && e->field[0] != '\0') {
        buf_puts(b, ",\"field\":\"");
        buf_json_escape(b, e->field, strlen(e->field));
        buf_putc(b, '"');
    }
    buf_puts(b, "}}");
}

/* ---- the access handler ------------------------------------------------------ */

/* Bounded label values: an attacker must not mint a series per method. */
static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH",
                                        "DELETE", "OPTIONS", NULL};
    for (const char *const *k = known; *k != NULL; k++)
        if (strcmp(m, *k) == 0)
            return *k;
    return "other";
}

static void account(struct http_server *s, struct reqctx *rc, const char *method,
                    const char *path, int status, const char *client)
{
    int64_t us = (clock_mono_ns() - rc->t0_ns) / 1000;
    char labels[96];
    snprintf(labels, sizeof labels, "method=\"%s\",status=\"%d\"", method_label(method),
             status);
    metrics_add(metrics_counter("tgcrm_http_requests_total",
                                "HTTP requests served, by method and status", labels),
                1);
    metrics_add(s->dur_sum, us);
    metrics_add(s->dur_count, 1);

    struct log_line l;
    log_begin(&l, LOG_INFO, "http.request");
    log_str(&l, "method", method);
    char safe[512];   /* the fake Telegram's paths carry bot tokens */
    log_str(&l, "path", log_redact(path, safe, sizeof safe));
    log_int(&l, "status", status);
    log_int(&l, "ms", us / 1000);
    if (client != NULL)
        log_str(&l, "client", client);
    log_end(&l);
}

/* A body sent only up to `cut` of its `len` bytes (http_resp.cut). */
struct cut_body {
    char *p;                     /* owned */
    size_t cut;
};

static ssize_t cut_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct cut_body *c = cls;
    if (pos >= c->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;   /* MHD closes the connection */
    size_t n = c->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(out, c->p + pos, n);
    return (ssize_t)n;
}

static void cut_free(void *cls)
{
    struct cut_body *c = cls;
    mem_free(c->p);
    mem_free(c);
}

/* The MHD response for a body: whole, or cut short on purpose. */
static struct MHD_Response *make_response(struct http_resp *resp)
{
    size_t len = resp->body.len;
    char *body = buf_detach(&resp->body);
    struct MHD_Response *r;
    if (resp->cut && resp->cut_at < len) {
        struct cut_body *c = mem_alloc(sizeof *c);
        c->p = body;
        c->cut = resp->cut_at;
        r = MHD_create_response_from_callback(len, 4096, cut_read, c, cut_free);
        if (r == NULL)
            cut_free(c);
        return r;
    }
    r = MHD_create_response_from_buffer_with_free_callback(len, body, mem_free);
    if (r == NULL)
        mem_free(body);
    return r;
}

/* Hand a filled response to MHD. Returns MHD's verdict. */
static enum MHD_Result send_resp(struct MHD_Connection *conn, struct http_resp *resp)
{
    struct MHD_Response *r = make_response(resp);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json");
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

static void resp_init(struct http_resp *resp, struct arena *a)
{
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body, HTTP_RESP_MAX);
    resp->arena = a;
}

/* Queue the 413 answer. Returns MHD_YES if MHD took it. */
static enum MHD_Result reply_too_big(struct http_server *s, struct reqctx *rc,
                                     struct MHD_Connection *conn, const char *method,
                                     const char *url)
{
    struct http_resp resp;
    resp_init(&resp, rc->arena);
    struct err e = {0};
    err_set(&e, ERR_TOOBIG, "request body exceeds %zu bytes", s->max_body);
    http_resp_error(&resp, 413, &e);
    /* The unread rest of the body makes the connection unusable. */
    http_resp_header(&resp, "Connection", "close");
    enum MHD_Result ok = send_resp(conn, &resp);
    buf_release(&resp.body);
    if (ok == MHD_YES) {
        rc->answered = true;
        account(s, rc, method, url, 413, NULL);
    }
    return ok;
}

/* Parse a Content-Length value; false when absent or not a plain number
 * (MHD refuses malformed ones itself). */
static bool content_length(struct MHD_Connection *conn, unsigned long long *out)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (v == NULL || *v < '0' || *v > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = n;
    return true;
}

/* Append a piece of body; false when it would pass max_body. The buffer
 * grows by doubling inside the arena (old blocks stay until the arena goes,
 * so the arena holds at most twice the limit). */
static bool body_append(struct http_server *s, struct reqctx *rc, const char *data,
                        size_t n)
{
    if (n > s->max_body || rc->len > s->max_body - n)
        return false;
    size_t need = rc->len + n + 1;
    if (need > rc->cap) {
        size_t cap = rc->cap ? rc->cap : 16 * 1024;
        while (cap < need)
            cap *= 2;
        if (cap > s->max_body + 1)
            cap = s->max_body + 1;
        char *p = arena_alloc(rc->arena, cap);
        if (p == NULL)
            return false;
        if (rc->len > 0)
            memcpy(p, rc->body, rc->len);
        rc->body = p;
        rc->cap = cap;
    }
    memcpy(rc->body + rc->len, data, n);
    rc->len += n;
    rc->body[rc->len] = '\0';
    return true;
}

static struct reqctx *reqctx_new(struct http_server *s)
{
    struct reqctx *rc = mem_alloc(sizeof *rc);
    rc->t0_ns = clock_mono_ns();
    rc->arena = arena_new(s->arena_cap);
    return rc;
}

/* MHD's URI log callback runs once per request, before the access handler
 * and before the target is decoded and split: the one place the raw target
 * can be seen. Its result becomes *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    struct reqctx *rc = reqctx_new(cls);
    rc->target = arena_strdup(rc->arena, uri ? uri : "");
    return rc;
}

/* Abort the connection with a TCP reset instead of an orderly close. */
static void set_reset(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (ci != NULL)
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct reqctx *rc = *con_cls;

    if (rc == NULL || !rc->begun) {                 /* 1. headers */
        if (rc == NULL)
            *con_cls = rc = reqctx_new(s);
        rc->begun = true;
        unsigned long long cl = 0;
        if (content_length(conn, &cl)) {
            if (cl > s->max_body) {
                rc->too_big = true;
                const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                 MHD_HTTP_HEADER_EXPECT);
                if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
                    cl - s->max_body > HTTP_DRAIN_MAX)
                    return reply_too_big(s, rc, conn, method, url);
                return MHD_YES;                     /* drain, answer at the end */
            }
            if (cl > 0) {
                rc->body = arena_alloc(rc->arena, (size_t)cl + 1);
                rc->cap = rc->body ? (size_t)cl + 1 : 0;
            }
        }
        return MHD_YES;
    }

    if (*upload_size != 0) {                        /* 2. body */
        if (rc->answered) {
            *upload_size = 0;
            return MHD_YES;
        }
        rc->seen += *upload_size;
        if (!rc->too_big && !body_append(s, rc, upload, *upload_size))
            rc->too_big = true;
        if (rc->too_big && rc->seen > s->max_body &&
            rc->seen - s->max_body > HTTP_DRAIN_MAX)
            return MHD_NO;                          /* cut the connection */
        *upload_size = 0;
        return MHD_YES;
    }

    if (rc->answered)                               /* 3. complete */
        return MHD_YES;
    if (rc->too_big)
        return reply_too_big(s, rc, conn, method, url);

    struct http_req req = {
        .method = method,
        .path = url,
        .body = rc->body ? rc->body : "",
        .body_len = rc->len,
        .arena = rc->arena,
        .conn = conn,
        .target = rc->target ? rc->target : url,
    };
    struct http_resp resp;
    resp_init(&resp, rc->arena);
    s->h(&req, &resp, s->ud);
    if (resp.drop) {                                /* injected fault: no answer */
        if (resp.reset)
            set_reset(conn);
        buf_release(&resp.body);
        rc->answered = true;
        account(s, rc, method, url, 0, req.client);
        return MHD_NO;
    }
    if (resp.status < 100 || resp.status > 599) {
        struct err e = {0};
        err_set(&e, ERR_INTERNAL, "handler left no response");
        http_resp_error(&resp, 500, &e);
    }
    int status = resp.status;
    enum MHD_Result ok = send_resp(conn, &resp);
    buf_release(&resp.body);
    rc->answered = true;
    account(s, rc, method, url, status, req.client);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct reqctx *rc = *con_cls;
    if (rc == NULL)
        return;
    arena_free(&rc->arena);
    mem_free(rc);
    *con_cls = NULL;
}

/* MHD's own complaints (bad requests, socket errors) go to our log. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_msg(LOG_WARN, "http.mhd", "%s", msg);
}

/* ---- lifecycle ------------------------------------------------------------- */

/* Split "host:port" / "[v6]:port" and resolve host (IPv4 preferred). */
static int resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen,
                   struct err *e)
{
    char host[256];
    const char *port_s;
    if (listen == NULL || *listen == '\0')
        return err_set(e, ERR_INVAL, "empty listen address");
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return err_set(e, ERR_INVAL, "bad listen address '%s' (expected [addr]:port)",
                           listen);
        snprintf(host, sizeof host, "%.*s", (int)(close - listen - 1), listen + 1);
        port_s = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
            return err_set(e, ERR_INVAL, "bad listen address '%s' (expected host:port)",
                           listen);
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port_s = colon + 1;
    }
    char *end;
    errno = 0;
    long port = strtol(port_s, &end, 10);
    if (*port_s < '0' || *port_s > '9' || *end != '\0' || errno != 0 || port < 0 ||
        port > 65535)
        return err_set(e, ERR_INVAL, "bad port in listen address '%s'", listen);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, "0", &hints,
                          &res);
    if (gai != 0)
        return err_set(e, ERR_INVAL, "cannot resolve listen host '%s': %s", host,
                       gai_strerror(gai));
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    for (const struct addrinfo *ai = res; pick == NULL && ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET6)
            pick = ai;
    if (pick == NULL) {
        freeaddrinfo(res);
        return err_set(e, ERR_INVAL, "no IPv4 or IPv6 address for listen host '%s'", host);
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *sslen = pick->ai_addrlen;
    if (pick->ai_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

int http_server_start(const char *listen, int threads, size_t max_body,
                      http_handler h, void *ud, struct http_server **out,
                      struct err *e)
{
    struct http_server_opts o = {.listen = listen, .threads = threads,
                                 .max_body = max_body};
    return http_server_start_opts(&o, h, ud, out, e);
}

int http_server_start_opts(const struct http_server_opts *o, http_handler h, void *ud,
                           struct http_server **out, struct err *e)
{
    const char *listen = o->listen;
    int threads = o->thread_per_connection ? 1 : o->threads;
    size_t max_body = o->max_body;
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    int rc = resolve(listen, &ss, &sslen, e);
    if (rc != 0)
        return rc;

    struct http_server *s = mem_alloc(sizeof *s);
    s->h = h;
    s->ud = ud;
    s->max_body = max_body;
    s->arena_cap = 2 * max_body + HTTP_ARENA_WORK;
    s->dur_sum = metrics_counter("tgcrm_http_request_duration_microseconds_sum",
                                 "Total time spent serving HTTP requests, microseconds", "");
    s->dur_count = metrics_counter("tgcrm_http_request_duration_microseconds_count",
                                   "HTTP requests timed in the duration sum", "");

    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (o->thread_per_connection)
        flags |= MHD_USE_THREAD_PER_CONNECTION;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger goes first: MHD reports problems with later options
     * through whatever logger is set at that point. A pool of one is no
     * pool: the internal polling thread serves alone then. */
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_TIMEOUT, HTTP_CONN_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (unsigned)threads,
        MHD_OPTION_END);
    if (s->d == NULL) {
        mem_free(s);
        return err_set(e, ERR_IO, "cannot listen on '%s' (address in use or not local?)",
                       listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? (int)info->port : 0;

    struct log_line l;
    log_begin(&l, LOG_INFO, "http.listen");
    log_str(&l, "addr", listen);
    log_int(&l, "port", s->port);
    log_int(&l, "threads", threads > 1 ? threads : 1);
    log_int(&l, "max_body", (int64_t)max_body);
    log_end(&l);
    *out = s;
    return 0;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

int http_server_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return ERR_IO;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return ERR_IO;
    return 0;
}

void http_server_free(struct http_server **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    struct http_server *s = *sp;
    /* MHD_stop_daemon closes the listener, lets handlers that are running
     * finish and joins every thread before returning. */
    MHD_stop_daemon(s->d);
    mem_free(s);
    *sp = NULL;
}
