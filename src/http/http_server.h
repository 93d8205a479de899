/*
 * http_server.h — the HTTP/1.1 server: libmicrohttpd behind a small API.
 *
 * http_server.c is the only file that includes microhttpd.h; everything
 * above it sees a request (method, decoded path, whole body, a request
 * arena) and fills a response (status, body, content type, a few headers).
 * The server reads the whole body before calling the handler, bounded by
 * max_body: a larger body is refused with 413 and the handler is never
 * called for it. Nothing past the limit is ever stored: a client that sent
 * "Expect: 100-continue" gets the 413 before sending any of the body;
 * other clients are already sending, so the rest of their body is read and
 * dropped (up to 16 MiB past the limit, then the connection is cut) and the
 * 413 follows, which they can then actually read.
 *
 * The handler runs on one of `threads` worker threads, so it must be
 * thread-safe; a request is handled start to finish on one thread. Each
 * request is logged at info (method, path, status, ms — never headers or
 * bodies) and counted in tgcrm_http_requests_total{method,status} plus
 * tgcrm_http_request_duration_microseconds_{sum,count}.
 */
#ifndef TGCRM_HTTP_HTTP_SERVER_H
#define TGCRM_HTTP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

/* Upper bound of a response body (a JSON page of tickets stays far below). */
#define HTTP_RESP_MAX (64u * 1024u * 1024u)
/* Extra response headers beyond Content-Type. */
#define HTTP_RESP_MAX_HEADERS 8

struct http_server;

/*
 * One request. Everything is borrowed and valid only during the handler
 * call; copy what must outlive it. The arena is freed after the response.
 */
struct http_req {
    const char *method;     /* "GET", "POST" ... */
    const char *path;       /* percent-decoded, without the query string */
    const char *body;       /* NUL-terminated ("" when none); owned by arena */
    size_t body_len;        /* bytes, not counting the NUL */
    struct arena *arena;    /* request arena: capped, freed after the response */
    const char *client;     /* set by the handler: who is calling (an API token's
                             * NAME, never the token), for the access log; static
                             * or arena string, NULL = anonymous */
    void *conn;             /* private: the libmicrohttpd connection */
    const char *target;     /* the request target exactly as received: raw path
                             * and query, nothing decoded; owned by arena */
};

struct http_header {
    const char *name;       /* owned by the request arena */
    const char *value;
};

/*
 * The response the handler fills. It arrives with status 0 (the server
 * answers 500 if the handler leaves it so), an empty body buffer limited to
 * HTTP_RESP_MAX, and content_type NULL (application/json is sent then).
 */
struct http_resp {
    int status;
    struct buf body;             /* owned by the server; released after sending */
    const char *content_type;    /* static or request-arena string, or NULL */
    struct http_header headers[HTTP_RESP_MAX_HEADERS];
    size_t nheaders;
    struct arena *arena;         /* borrowed: the request arena (for header copies) */
    bool drop;                   /* set by the handler: close the connection without
                                  * answering (status, body and headers are ignored);
                                  * for fault injection (fake-telegram partitions) */
    bool reset;                  /* with drop: abort with a TCP reset (SO_LINGER 0)
                                  * rather than an orderly close */
    bool cut;                    /* announce the whole body's Content-Length but send
                                  * only its first cut_at bytes, then close: a
                                  * truncated answer, for fault injection */
    size_t cut_at;
};

/* The signature of the one handler the server calls per request. */
typedef void (*http_handler)(struct http_req *req, struct http_resp *resp, void *ud);

/* A request header by case-insensitive name, or NULL. Borrowed. */
const char *http_req_header(struct http_req *req, const char *name);

/*
 * Call fn(name, value, ud) for each request header in the order received
 * (repeated headers come one by one); stops early and returns fn's result
 * when it is non-zero, else 0. Strings are borrowed.
 */
int http_req_header_each(struct http_req *req,
                         int (*fn)(const char *name, const char *value, void *ud),
                         void *ud);

/*
 * True when the client has closed or reset the connection the request came
 * on, as far as the kernel has seen by now — for a handler that holds its
 * answer (a test sink delaying it) to tell a caller still waiting from one
 * that gave up. False while it is open or cannot be told.
 */
bool http_req_peer_gone(struct http_req *req);

/*
 * A query-string argument (percent-decoded) by exact name, or NULL when
 * absent; "" for a key without a value ("?unassigned"). The first of
 * repeated keys wins. Borrowed.
 */
const char *http_req_query(struct http_req *req, const char *name);

/*
 * Call fn for each query argument in order (value NULL for a bare key);
 * stops early and returns fn's result when it is non-zero, else 0. Lets a
 * handler refuse parameters it does not know.
 */
int http_req_query_each(struct http_req *req,
                        int (*fn)(const char *key, const char *value, void *ud),
                        void *ud);

/*
 * Add a response header; name and value are copied into the request
 * arena. ERR_TOOBIG when HTTP_RESP_MAX_HEADERS are set or the arena is
 * exhausted (the header is not added). Content-Type is set through
 * resp->content_type instead.
 */
int http_resp_header(struct http_resp *resp, const char *name, const char *value);

/*
 * Replace the response with the error shape every 4xx/5xx body uses:
 *     {"error":{"code":"<err_id(e->code)>","message":"<e->msg>","field":"<e->field>"}}
 * ("field" only when e->field is set) with the given status and
 * Content-Type application/json. Headers already added stay.
 */
void http_resp_error(struct http_resp *resp, int status, const struct err *e);

/*
 * Start serving on `listen` ("host:port", "[v6addr]:port", host may be
 * "localhost" or an address; port 0 picks a free one — see
 * http_server_port) with `threads` worker threads, bodies up to max_body
 * bytes, calling h(req, resp, ud) for every request. ERR_INVAL for a bad
 * listen string, ERR_IO when the address cannot be bound. Caller owns *out;
 * http_server_free.
 */
int http_server_start(const char *listen, int threads, size_t max_body,
                      http_handler h, void *ud, struct http_server **out,
                      struct err *e);

/*
 * Options of http_server_start_opts. Zero-initialise, then set what you need.
 */
struct http_server_opts {
    const char *listen;          /* as for http_server_start; borrowed */
    int threads;                 /* worker threads; ignored with thread_per_connection */
    size_t max_body;             /* as for http_server_start */
    bool thread_per_connection;  /* one thread per connection, so a handler may block
                                  * (long polls, injected hangs) without stalling other
                                  * connections — with a pool, a blocked worker also
                                  * stalls every keep-alive connection it owns */
};

/*
 * http_server_start with options (added for `tgcrm fake-telegram`, whose
 * getUpdates long polls block in the handler). Same contract otherwise.
 */
int http_server_start_opts(const struct http_server_opts *o, http_handler h, void *ud,
                           struct http_server **out, struct err *e);

/* The TCP port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);

/*
 * Write port and a newline to path through a temporary file renamed into
 * place, so a harness polling for it never reads half a number: the
 * --port-file of serve, fake-telegram and sink. 0 or ERR_IO.
 */
int http_server_port_file(const char *path, int port);

/*
 * Stop accepting, let in-flight requests finish, join the threads and free
 * the server; sets *sp to NULL. NULL is fine.
 */
void http_server_free(struct http_server **sp);

#endif
