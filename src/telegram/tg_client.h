/*
 * tg_client.h — calls to the Telegram Bot API (the only libcurl user for it).
 *
 * One struct tg_client is one keep-alive connection to api_base, used by
 * ONE thread at a time (the ingest thread has its own, the bridge its
 * own). A call POSTs its parameters as a JSON object to
 * <api_base>/bot<token>/<method> and parses the answer envelope:
 *
 *   {"ok":true,"result":...}
 *   {"ok":false,"error_code":N,"description":"...","parameters":{...}}
 *
 * The reply is then sorted into the few classes the bridge and the ingest
 * act on (tg_class). The token is never logged nor put into an error
 * message: URLs are passed through log_redact.
 *
 * tg_client_abort may be called from any other thread: it makes the call
 * in progress (a long poll, say) return at once with ERR_BUSY, and every
 * later call too. It is how a thread blocked in getUpdates is stopped.
 */
#ifndef TGCRM_TELEGRAM_TG_CLIENT_H
#define TGCRM_TELEGRAM_TG_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

/* What a reply means for the caller. */
enum tg_class {
    TG_OK = 0,          /* ok:true */
    TG_TRANSIENT,       /* network error, timeout, 5xx, unparsable answer: retry later */
    TG_RATE_LIMITED,    /* 429: retry after reply.retry_after seconds */
    TG_BLOCKED,         /* 403 "bot was blocked by the user" */
    TG_THREAD_LOST,     /* 400 "message thread not found" / TOPIC_DELETED / TOPIC_ID_INVALID */
    TG_UNAUTHORIZED,    /* 401: the token is wrong (retrying will not help until fixed) */
    TG_CONFLICT,        /* 409: another getUpdates / a webhook is active */
    TG_PERMANENT        /* any other 4xx: this call will never succeed */
};

enum tg_reply_kind {
    TG_REPLY_NONE = 0,  /* no call made (aborted before it started) */
    TG_REPLY_OK,        /* HTTP answer with ok:true */
    TG_REPLY_ERROR,     /* HTTP answer with ok:false, or a non-2xx status */
    TG_REPLY_TRANSPORT  /* no HTTP answer: connect refused, timeout, reset ... */
};

#define TG_DESC_MAX 512

/* One element of a reply's "result" array, as text in tg_reply.raw. */
struct tg_item {
    size_t off, len;
};

struct tg_reply {
    enum tg_reply_kind kind;
    enum tg_class cls;
    long http_status;             /* 0 for TG_REPLY_TRANSPORT */
    json_t *result;               /* owned: "result" when ok, else NULL; tg_reply_release */
    int64_t error_code;           /* from the envelope (or the HTTP status) */
    char description[TG_DESC_MAX];/* Bot API description, or the transport error */
    int64_t retry_after;          /* seconds, from parameters.retry_after; 0 if none */
    int64_t migrate_to_chat_id;   /* from parameters; 0 if none */
    bool aborted;                 /* tg_client_abort cut the call short */
    char *raw;                    /* owned: tg_call_items' body, which items index */
    struct tg_item *items;        /* owned: tg_call_items' result elements, unparsed */
    size_t nitems;
};

struct tg_client;

/*
 * A client for api_base (e.g. "https://api.telegram.org", no trailing
 * slash needed) and the bot token (both copied). ERR_INVAL when either is
 * missing. Caller owns *out; tg_client_free.
 */
int tg_client_new(const char *api_base, const char *token, struct tg_client **out,
                  struct err *e);

/* Free the client and its connection; sets *cp to NULL. NULL is fine. */
void tg_client_free(struct tg_client **cp);

/*
 * Call `method` with params_json (a JSON object text; NULL means "{}"),
 * waiting at most timeout_ms for the whole exchange. *out is always filled
 * (release it with tg_reply_release). Returns 0 when Telegram answered
 * ok:true; otherwise a negative code with a message in e that names the
 * method and the description:
 *   ERR_IO        transport error or 5xx / unparsable answer (TG_TRANSIENT)
 *   ERR_BUSY      429 (TG_RATE_LIMITED), or the client was aborted
 *   ERR_AUTH      401; ERR_FORBIDDEN 403; ERR_CONFLICT 409; ERR_NOTFOUND 404;
 *   ERR_INVAL     400 and any other 4xx.
 * Act on out->cls rather than on the code.
 */
int tg_call(struct tg_client *c, const char *method, const char *params_json,
            long timeout_ms, struct tg_reply *out, struct err *e);

/*
 * tg_call for a method whose result is an array (getUpdates), leaving the
 * elements unparsed so the caller can parse and use one while the next
 * waits: when the answer is exactly {"ok":true,"result":[...]} (members in
 * either order), out->result stays NULL and out->items[0..nitems) index
 * each element's text in out->raw; only its brackets and strings have been
 * followed, so each element still has to be parsed (and may prove
 * malformed). Any other answer is read as tg_call reads it (out->result
 * set when ok). Same returns as tg_call.
 */
int tg_call_items(struct tg_client *c, const char *method, const char *params_json,
                  long timeout_ms, struct tg_reply *out, struct err *e);

/* Drop the result reference and the unparsed body; the reply can be reused. */
void tg_reply_release(struct tg_reply *r);

/*
 * Sort an envelope into a class (exposed for tests and for callers that
 * build replies themselves): kind, http_status, error_code, description
 * and retry_after must be set.
 */
enum tg_class tg_classify(const struct tg_reply *r);

/* Static name of a class, for logs: "ok", "transient", "rate_limited" ... */
const char *tg_class_name(enum tg_class cls);

/* Make the current and every later tg_call on c return ERR_BUSY promptly.
 * Thread-safe; the only function that may be called while another thread
 * is inside tg_call. */
void tg_client_abort(struct tg_client *c);

#endif
