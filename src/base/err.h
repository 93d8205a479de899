/*
 * err.h — error codes and the error context every fallible function fills.
 *
 * A fallible function returns 0 (ERR_OK) or a negative ERR_* code and, on
 * failure, describes the cause once in a `struct err` passed by the caller.
 * Only the first (innermost) message is kept, so the most specific cause
 * survives while callers above simply pass the code up (`return rc;`).
 *
 * One X-macro table gives every code its name and HTTP status so the three
 * never drift apart (libuv's UV_ERRNO_MAP, curl's CURLcode + failf).
 */
#ifndef TGCRM_BASE_ERR_H
#define TGCRM_BASE_ERR_H

#include <stddef.h>

/*            name           value  http  short id used in JSON errors */
#define ERR_MAP(X)                                                       \
    X(ERR_OK,          0,    200, "ok")                                  \
    X(ERR_NOMEM,      -1,    500, "out_of_memory")                       \
    X(ERR_INVAL,      -2,    400, "invalid_request")                     \
    X(ERR_NOTFOUND,   -3,    404, "not_found")                           \
    X(ERR_CONFLICT,   -4,    409, "conflict")                            \
    X(ERR_IO,         -5,    500, "io_error")                            \
    X(ERR_DB,         -6,    500, "store_error")                         \
    X(ERR_BUSY,       -7,    503, "busy")                                \
    X(ERR_TOOBIG,     -8,    413, "payload_too_large")                   \
    X(ERR_AUTH,       -9,    401, "unauthorized")                        \
    X(ERR_FORBIDDEN,  -10,   403, "forbidden")                           \
    X(ERR_CONFIG,     -11,   500, "config_error")                        \
    X(ERR_UNPROCESSABLE, -12, 422, "unprocessable")                      \
    X(ERR_SCHEMA,     -13,   500, "schema_mismatch")                     \
    X(ERR_METHOD,     -14,   405, "method_not_allowed")                  \
    X(ERR_INTERNAL,   -15,   500, "internal")

enum {
#define ERR_ENUM(name, val, http, id) name = (val),
    ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
};

#define ERR_MSG_MAX 512

/* Returns `code`; visible inline so analysers know what err_set returns. */
static inline int err_pass(int code, int recorded)
{
    (void)recorded;
    return code;
}

/*
 * The error context. Zero-initialise it (`struct err e = {0};`) before use.
 * `msg` holds the first message recorded; `field` optionally names the input
 * field the error is about (used by HTTP 4xx bodies); `file`/`line` say where
 * the error was first recorded, for logs.
 */
struct err {
    int code;                 /* 0 until the first err_set */
    char msg[ERR_MSG_MAX];    /* first, innermost message */
    char field[128];          /* offending input field, or "" */
    const char *file;         /* static string: __FILE__ of err_set */
    int line;
};

/*
 * Record an error if none is recorded yet and return `code`, so callers can
 * write `return err_set(e, ERR_INVAL, "bad %s", x);`. (The macro yields
 * `code` itself, so static analysers see that such a return is non-zero;
 * `code` is evaluated twice.) `e` may be NULL (the
 * code is still returned). Later calls never overwrite the first message.
 */
#define err_set(e, code, ...) \
    err_pass((code), err_set_at((e), __FILE__, __LINE__, (code), __VA_ARGS__))
int err_set_at(struct err *e, const char *file, int line, int code,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Like err_set but also names the offending field (copied). */
#define err_field(e, code, fieldname, ...) \
    err_pass((code), err_field_at((e), __FILE__, __LINE__, (code), (fieldname), __VA_ARGS__))
int err_field_at(struct err *e, const char *file, int line, int code,
                 const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Forget any recorded error so the context can be reused. */
void err_clear(struct err *e);

/* Static name of a code, e.g. "ERR_NOTFOUND"; "ERR_UNKNOWN" for others. */
const char *err_name(int code);

/* Short id for JSON bodies, e.g. "not_found". Never NULL. */
const char *err_id(int code);

/* HTTP status for a code (500 for unknown codes). */
int err_http_status(int code);

#endif
