/*
 * sink_impl.h — the webhook sink's state, shared by its files only.
 *
 * sink.c owns the state (journal, endpoints with their secrets and
 * behaviours, held requests) and captures requests; sink_ids.c is the
 * duplicate index; sink_match.c compiles queries into predicates and scores
 * records against them; sink_json.c renders records and stats;
 * sink_control.c is the control API; sink_replay.c the one curl user.
 * Functions named sink_st_* expect s->mu held.
 */
#ifndef TGCRM_CHECK_SINK_IMPL_H
#define TGCRM_CHECK_SINK_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "check/sink.h"
#include "http/http_server.h"

/* ---- sink_ids.c: first seq of each (endpoint, webhook-id) -------------------- */

struct sink_ids;

/* An index remembering at most max keys, the oldest forgotten first. */
struct sink_ids *sink_ids_new(size_t max);
void sink_ids_free(struct sink_ids **xp);

/*
 * The seq first recorded for (endpoint, id), or 0 after recording seq as
 * the first one now.
 */
int64_t sink_ids_seen(struct sink_ids *x, const char *endpoint, const char *id, int64_t seq);

/* Keys held, and keys forgotten because the index was full. */
size_t sink_ids_count(const struct sink_ids *x);
int64_t sink_ids_forgotten(const struct sink_ids *x);

/* Forget everything (counters too). */
void sink_ids_clear(struct sink_ids *x);

/* ---- sink_match.c: queries as predicates -------------------------------------- */

struct sink_match;

/* Compile q (JSON paths, names checked). ERR_INVAL naming the bad field. */
int sink_match_new(const struct sink_query *q, struct sink_match **out, struct err *e);
void sink_match_free(struct sink_match **mp);

/* How many predicates the query has. */
size_t sink_match_npreds(const struct sink_match *m);

/* Inside the query's window (since, refused or not)? */
bool sink_match_window(const struct sink_match *m, const struct sink_record *r);

/*
 * How many predicates r satisfies. With fails non-NULL, each failed one is
 * appended to *fails / *nfails (heap strings; sink_match_fails_free).
 */
size_t sink_match_test(const struct sink_match *m, const struct sink_record *r,
                       struct sink_fail **fails, size_t *nfails);

void sink_match_fails_free(struct sink_fail *fails, size_t n);

/* ---- sink.c: state ----------------------------------------------------------------- */

/* A behaviour as stored: strings owned. */
struct sink_rule {
    struct sink_behaviour b;   /* body, content_type, retry_after owned */
    int64_t id;
    int64_t left;              /* requests left, -1 = no count limit */
    int64_t until_ms;          /* clock time it ends, 0 = no time limit */
    int64_t hits;
};

struct sink_ep {
    char *name;                /* owned; "*" = the fallback */
    char **secrets;            /* owned */
    size_t nsecrets;
    struct sink_rule *queue;   /* owned, head first */
    size_t nqueue;
    struct sink_rule *dflt;    /* owned or NULL */
    /* counters */
    int64_t received, refused, duplicates, json_invalid;
    int64_t sig[SINK_SIG_INVALID + 1];
};

/* A request whose answer is held until the sink's clock reaches `until`. */
struct sink_hold {
    int64_t until;
    struct http_req *req;      /* borrowed: its handler's thread is the one holding */
};

struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* CLOCK_MONOTONIC; broadcast on every change */
    struct clock *clock;       /* borrowed or own_clock */
    struct clock *own_clock;
    struct sink_opts o;        /* with defaults filled in; listen not kept */
    struct http_server *http;
    bool stopping;

    /* the journal: a ring of references, oldest at head, seqs consecutive */
    struct sink_record **ring;
    size_t head, len, cap;
    size_t bytes;
    int64_t next_seq;          /* the last seq handed out */
    int64_t evicted_upto;      /* highest seq evicted, 0 = none */
    struct sink_ids *ids;

    struct sink_ep **eps;      /* owned */
    size_t neps;
    int64_t next_rule_id;

    struct sink_hold *holds;   /* held requests (unordered) */
    size_t nholds, capholds;

    struct sink_stats st;      /* counters; stored/held/last_seq filled on read */
};

/* Monotonic deadline helpers around s->cv (mu held). False once stopping. */
bool sink_st_wait_ms(struct sink *s, int64_t ms);

/* The endpoint's state, created when `create` (NULL when the name is bad or
 * SINK_MAX_ENDPOINTS are tracked). */
struct sink_ep *sink_st_ep(struct sink *s, const char *name, bool create);


/* ---- sink_json.c ------------------------------------------------------------------- */

/* A behaviour as stored, as JSON (sink_behaviours, the control API). */
json_t *sink_json_rule(const struct sink_rule *r);

/* ---- sink_control.c ---------------------------------------------------------------- */

/* Serve one /control/... request. */
void sink_control_handle(struct sink *s, struct http_req *req, struct http_resp *resp);

#endif
