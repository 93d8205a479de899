/*
 * sink.h — the webhook capture sink: a local stand-in for the external help
 * desk that tgcrm's outbound webhooks are POSTed to.
 *
 * `tgcrm check` runs it in-process (on the scenario's manual clock) and
 * `tgcrm sink` (sink_cmd.c) runs it as a process (on the real clock, or a
 * manual one with --test-clock). Deliveries go to /hooks/<endpoint>; the
 * sink records every request byte-exact (method, path, raw query, headers
 * in order, raw body) with its arrival time on the sink's clock, a
 * sequence number and verdicts: the Standard Webhooks signature checked
 * against the endpoint's secrets (several, for rotation), whether the body
 * is JSON, and whether its webhook-id was seen before at that endpoint.
 *
 * Each endpoint answers from a queue of one-shot behaviours, then its
 * default (200 {"ok":true} when none is set): a status (with Retry-After),
 * a body, a delay on the sink's clock, or a fault — drop the connection,
 * reset it, truncate the answer, or be down (refuse) for a while.
 *
 * Queries filter the journal (endpoint, event type, ticket, any JSON path,
 * signature verdict, duplicates, since a sequence number), can wait for N
 * matches, and report near misses: the requests that came closest, with
 * the predicates they failed. Next to the hooks, on the same port, a JSON
 * control API under /control/ offers the same (docs/sink.md).
 *
 * Thread-safety: every function may be called from any thread. One mutex
 * guards the state and is never held during network I/O; one condition
 * variable wakes held requests and waiting queries.
 *
 * Memory is bounded: the journal keeps at most max_requests requests and
 * max_bytes bytes, evicting the oldest first and counting what it evicted
 * (never silently); the duplicate index remembers at most max_ids ids.
 */
#ifndef TGCRM_CHECK_SINK_H
#define TGCRM_CHECK_SINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/err.h"

/* Webhooks are captured under this prefix: /hooks/<endpoint>[/...]. */
#define SINK_HOOKS_PREFIX "/hooks/"
/* Endpoint names: 1..64 of [A-Za-z0-9_.-]; "*" names the fallback. */
#define SINK_ENDPOINT_MAX 64
#define SINK_ANY_ENDPOINT "*"
/* Secrets per endpoint (current, previous, ...). */
#define SINK_MAX_SECRETS 8
/* Distinct endpoint names the sink keeps state for. */
#define SINK_MAX_ENDPOINTS 1024

struct sink;

struct sink_opts {
    const char *listen;        /* "host:port", port 0 = any free; NULL = "127.0.0.1:0" */
    struct clock *clock;       /* borrowed, NULL = a real clock of our own: arrival
                                * times, delays, "down" periods, signature freshness */
    size_t max_requests;       /* journal entries, 0 = 100000 */
    size_t max_bytes;          /* journal bytes (request line, headers, body), 0 = 256 MiB */
    size_t max_body;           /* largest body taken (else 413, not captured), 0 = 16 MiB;
                                * at most max_bytes */
    size_t max_ids;            /* webhook-ids remembered for duplicates, 0 = 4 * max_requests */
    int64_t tolerance_s;       /* webhook-timestamp tolerance either side, 0 = 300 */
};

/*
 * Start serving. opts may be NULL (all defaults). ERR_INVAL for bad options
 * or a bad listen address, ERR_IO when it cannot be bound. Caller owns
 * *out; sink_free.
 */
int sink_start(const struct sink_opts *opts, struct sink **out, struct err *e);

/* The TCP port actually bound. */
int sink_port(const struct sink *s);

/*
 * Stop: held requests are let go without an answer, the server is stopped
 * (in-flight handlers finish), everything is freed; *sp = NULL. Records
 * still referenced by the caller (sink_get, sink_find) stay valid until
 * released. NULL is fine.
 */
void sink_free(struct sink **sp);

/* True for a valid endpoint name: 1..SINK_ENDPOINT_MAX of [A-Za-z0-9_.-],
 * or "*" when allow_any. */
bool sink_endpoint_ok(const char *name, bool allow_any);

/* ---- secrets ---------------------------------------------------------------- */

/*
 * Set the signing secrets ("whsec_<base64>") an endpoint's deliveries are
 * verified with, replacing earlier ones; n == 0 removes them (deliveries
 * are then "unchecked"). endpoint NULL or "*" sets the fallback for every
 * endpoint without secrets of its own. Several secrets model a rotation:
 * the verdict says which one matched (its index). ERR_INVAL for a bad
 * endpoint name, more than SINK_MAX_SECRETS, or a bad secret (the message
 * gives its index, never its text). Strings are copied.
 */
int sink_set_secrets(struct sink *s, const char *endpoint, const char *const *secrets,
                     size_t n, struct err *e);

/* ---- what was captured ---------------------------------------------------------- */

/* The signature verdict of a request. */
enum sink_sig {
    SINK_SIG_ANY = 0,          /* queries only: any verdict */
    SINK_SIG_UNCHECKED,        /* the endpoint has no secrets */
    SINK_SIG_VALID,            /* a v1 signature matches a secret, timestamp fresh */
    SINK_SIG_MISSING,          /* webhook-id, -timestamp or -signature absent */
    SINK_SIG_STALE,            /* timestamp not a number or outside the tolerance */
    SINK_SIG_INVALID,          /* no signature matches any secret */
};

/* "unchecked", "valid", ... ("any" for SINK_SIG_ANY). */
const char *sink_sig_name(enum sink_sig v);
/* The reverse; ERR_INVAL for an unknown name. */
int sink_sig_parse(const char *name, enum sink_sig *out);

/* How the sink answers (or does not). */
enum sink_fault {
    SINK_FAULT_NONE = 0,       /* answer with the status and body */
    SINK_FAULT_DROP,           /* read the request, close the connection, no answer */
    SINK_FAULT_RESET,          /* read the request, abort with a TCP reset */
    SINK_FAULT_TRUNCATE,       /* send the status and half the body, then close */
    SINK_FAULT_DOWN,           /* refused: reset, and the request counts as never
                                * received (no duplicate tracking, excluded from
                                * queries unless asked for) */
};

const char *sink_fault_name(enum sink_fault f);   /* "none", "drop", ... */
int sink_fault_parse(const char *name, enum sink_fault *out);

struct sink_header {
    const char *name;          /* as received (case kept) */
    const char *value;
};

/*
 * One captured request. Immutable once published, except answered_ms;
 * shared by reference (sink_get, sink_find): release with
 * sink_record_unref. All strings are NUL-terminated and owned by the record.
 */
struct sink_record {
    int64_t seq;               /* 1, 2, ...: arrival order, never reused */
    int64_t at_ms;             /* arrival on the sink's clock */
    const char *method;
    const char *path;          /* percent-decoded path */
    const char *query;         /* raw query string without '?', "" when none */
    const char *endpoint;      /* the name after /hooks/, "" for other paths */
    const struct sink_header *headers;
    size_t nheaders;
    const char *body;          /* raw bytes (may contain NULs), NUL-terminated */
    size_t body_len;
    size_t bytes;              /* what the record costs against max_bytes */

    json_t *json;              /* the body parsed, or NULL (owned; read-only) */
    const char *json_error;    /* why the body is not JSON ("line 1 column 3: ..."), or NULL */
    const char *type;          /* the body's "type" member when a string, else NULL */
    const char *webhook_id;    /* the webhook-id header, or NULL */
    enum sink_sig sig;
    int sig_secret;            /* index of the matching secret (also when stale), -1 none */
    int64_t dup_of;            /* seq of the first delivery with this webhook-id at this
                                * endpoint, 0 when this is the first */
    bool refused;              /* answered by a "down" endpoint */

    /* the answer decided on arrival */
    int status;                /* HTTP status (also for truncate); 0 when no answer */
    enum sink_fault fault;
    int64_t delay_ms;          /* held until at_ms + delay_ms on the sink's clock */
    int64_t answered_ms;       /* sink clock when the answer was released; 0 while held
                                * or when stopped first. Read with sink_record_answered */

    int refs;                  /* private */
};

/* answered_ms, read safely while the request may still be held. */
int64_t sink_record_answered(const struct sink_record *r);

/*
 * The record with this seq (a new reference), or NULL when there is none
 * or it was evicted or cleared — *evicted (may be NULL) tells which.
 */
struct sink_record *sink_get(struct sink *s, int64_t seq, bool *evicted);

/* Release a reference; sets *rp to NULL. NULL is fine. */
void sink_record_unref(struct sink_record **rp);

/*
 * Forget every captured request and remembered webhook-id, and zero the
 * counters (the eviction counter too). Sequence numbers keep growing, so
 * "since" cursors stay meaningful. Behaviours and secrets stay.
 */
void sink_clear(struct sink *s);

/* ---- behaviours -------------------------------------------------------------- */

/*
 * How an endpoint answers. Strings are copied when the behaviour is set.
 * A queued behaviour applies to `times` requests (0 with for_ms == 0 means
 * once) and/or for for_ms of clock time from when it was set, whichever
 * ends first; then the next one applies, and finally the default.
 */
struct sink_behaviour {
    int status;                /* 100..599, 0 = 200 */
    const char *body;          /* NULL = {"ok":true} for 2xx, {"ok":false,"status":N} else */
    const char *content_type;  /* NULL = application/json */
    const char *retry_after;   /* Retry-After header value (seconds or an HTTP date), or NULL */
    int64_t delay_ms;          /* hold the answer until the clock passes arrival + delay */
    enum sink_fault fault;
    int64_t times;             /* queue only: requests it applies to, 0 = no count limit */
    int64_t for_ms;            /* queue only: clock time it applies for, 0 = no time limit */
};

/*
 * Append b to the endpoint's queue (endpoint "*" = the fallback queue, used
 * by endpoints whose own queue is empty). *id (may be NULL) gets its id.
 * ERR_INVAL for a bad endpoint name, status, negative delay/times/for, or a
 * fault with fields it ignores (down with a delay).
 */
int sink_behaviour_push(struct sink *s, const char *endpoint, const struct sink_behaviour *b,
                        int64_t *id, struct err *e);

/*
 * Set the endpoint's default (b NULL = back to plain 200). times/for_ms
 * must be 0: a default lasts until changed or cleared.
 */
int sink_behaviour_default(struct sink *s, const char *endpoint,
                           const struct sink_behaviour *b, struct err *e);

/* Drop the queue and default of one endpoint, or of all (endpoint NULL).
 * Requests already held keep their deadline. Returns how many were dropped. */
size_t sink_behaviour_clear(struct sink *s, const char *endpoint);

/* Every endpoint's queue and default: a new reference,
 * {"endpoints":[{"endpoint","queue":[...],"default":{...}|null}]}. */
json_t *sink_behaviours(struct sink *s);

/*
 * Call after moving the sink's manual clock: wakes every held request
 * whose deadline has passed and returns once each of them has been
 * released (its answer handed to the HTTP server), so the next step of a
 * scenario sees them answered. Requests not yet due stay held: none is
 * released early. (Held requests also re-check the clock every 20 ms, so a
 * forgotten call delays an answer, it never loses one.)
 */
void sink_clock_advanced(struct sink *s);

/* ---- queries ---------------------------------------------------------------- */

enum sink_tri { SINK_EITHER = 0, SINK_YES, SINK_NO };

/* Refused ("down") requests never reached the help desk: which to look at. */
enum sink_which { SINK_RECEIVED = 0, SINK_REFUSED, SINK_ALL };

/* A JSON-path predicate on the body. */
struct sink_where {
    const char *path;          /* jpath syntax, "$.ticket.priority" */
    const json_t *equals;      /* compared with jpath_equal; NULL = the path exists */
};

/* Every set field is one predicate; all must hold. Borrowed for the call. */
struct sink_query {
    const char *endpoint;      /* NULL = any */
    const char *type;          /* the body's $.type, NULL = any */
    int64_t ticket;            /* the body's ticket id, 0 = any */
    const char *ticket_path;   /* where the ticket id is, NULL = "$.ticket.id" */
    const struct sink_where *where;
    size_t nwhere;
    enum sink_sig sig;         /* SINK_SIG_ANY = any verdict */
    enum sink_tri duplicate;   /* SINK_NO = first deliveries only */
    const char *method;        /* NULL = any */
    /* the window (not predicates: near misses come from inside it) */
    int64_t since;             /* only seq > since */
    enum sink_which which;
};

/* A predicate a near miss failed. Strings owned by the sink_found. */
struct sink_fail {
    char *predicate;           /* "endpoint", "type", "$.ticket.id", "signature", ... */
    char *want;                /* as JSON or a word */
    char *got;                 /* ditto, or why it is missing */
};

struct sink_near {
    struct sink_record *rec;   /* a reference */
    size_t met;                /* predicates satisfied, of sink_found.npreds */
    struct sink_fail *fails;
    size_t nfails;
};

/* The answer of sink_find; release with sink_found_release. */
struct sink_found {
    struct sink_record **recs; /* matches, oldest first (references) */
    size_t n;
    struct sink_near *near;    /* when n < max(want, 1): up to 3 closest non-matches,
                                * most predicates met first, then newest first */
    size_t nnear;
    size_t npreds;             /* predicates in the query */
    int64_t last_seq;          /* the newest seq captured so far */
    int64_t evicted;           /* requests evicted so far */
    bool complete;             /* false when evicted requests lay inside the window:
                                * the count may be short by up to `evicted` */
};

/*
 * Find the requests matching q, oldest first. With want > 0 and fewer
 * matches, wait up to wait_ms of real time (the clock may be manual and
 * still; the caller moves it) for more to arrive, then return what there
 * is. 0, or ERR_INVAL for a bad query (a JSON path, an endpoint name).
 * out is always initialised; release it with sink_found_release.
 */
int sink_find(struct sink *s, const struct sink_query *q, size_t want, int64_t wait_ms,
              struct sink_found *out, struct err *e);

/* Release the references and strings of a sink_found (zeroes it). */
void sink_found_release(struct sink_found *f);

/* ---- stats, JSON -------------------------------------------------------------- */

struct sink_stats {
    int64_t received;          /* requests captured, refused ones included */
    int64_t refused;           /* answered by a down endpoint */
    int64_t duplicates;        /* deliveries whose webhook-id was seen before */
    int64_t stored;            /* in the journal now */
    int64_t stored_bytes;
    int64_t evicted;           /* pushed out by max_requests / max_bytes */
    int64_t evicted_bytes;
    int64_t ids_forgotten;     /* webhook-ids pushed out of the duplicate index */
    int64_t held;              /* answers being delayed for a caller still waiting */
    int64_t last_seq;
};

void sink_stats(struct sink *s, struct sink_stats *out);

/*
 * The record as JSON (a new reference): seq, at, method, path, query,
 * endpoint, headers [[name, value], ...], body (a string, or body_base64
 * when not UTF-8; left out when with_body is false), body_bytes, json
 * verdict, type, webhook_id, signature {verdict, secret}, duplicate_of,
 * refused, response {status, fault, delay_ms, answered_at}.
 */
json_t *sink_json_record(const struct sink_record *r, bool with_body);

/* A near miss as JSON: {"request":{...},"met":M,"of":N,"failed":[{predicate,want,got}]}. */
json_t *sink_json_near(const struct sink_near *nm, size_t npreds, bool with_body);

/* Stats as JSON, with per-endpoint counters (a new reference). */
json_t *sink_json_stats(struct sink *s);

/* ---- replay ------------------------------------------------------------------ */

struct sink_replayed {
    long status;               /* HTTP status, 0 when there was no answer */
    char *body;                /* the answer's first 64 KiB (owned; mem_free), or NULL */
    size_t body_len;
    char error[256];           /* the transport error when status is 0 */
};

/*
 * Re-send captured request `seq` to url byte-exact: the same method, the
 * same headers in the same order (minus Host, Content-Length, Connection,
 * Transfer-Encoding and Expect, which belong to the connection) and the
 * same body; nothing is added. Waits up to timeout_ms (0 = 10 s) of real
 * time. 0 with *out filled (also when the target failed to answer: see
 * out->error), ERR_NOTFOUND for an unknown or evicted seq, ERR_INVAL for a
 * URL that is not http(s). The process must have called curl_global_init
 * (sink_main does; so must the check runner, once, at start).
 */
int sink_replay(struct sink *s, int64_t seq, const char *url, int64_t timeout_ms,
                struct sink_replayed *out, struct err *e);

/* ---- the command ------------------------------------------------------------- */

/* `tgcrm sink`: argv[0] is "sink". Returns the exit code. */
int sink_main(int argc, char **argv);

#endif
