/*
 * sink_control.c — the sink's control API, `/control/...` (docs/sink.md).
 *
 * WireMock's admin API in shape: a request journal to list, find, fetch and
 * reset; behaviours to queue per endpoint; replay; stats; plus secrets and,
 * when the sink runs on a manual clock, the clock. JSON in, JSON out, errors
 * in the project's shape {"error":{"code","message","field"?}}; unknown
 * fields and parameters are refused by name. Every route is a thin adapter
 * over a function of sink.h.
 */
#include "check/sink_impl.h"

#include "base/jx.h"
#include "base/mem.h"
#include "http/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WHERE 32
#define DEF_LIMIT 1000
#define MAX_LIMIT 100000
#define MAX_WAIT_MS 60000
#define TAG_TEST_CLOCK 1u

/* ---- small helpers -------------------------------------------------------------- */

static void reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    jx_dump(v, &resp->body);
    json_decref(v);
}

static void fail(struct http_resp *resp, const struct err *e)
{
    http_resp_error(resp, err_http_status(e->code ? e->code : ERR_INTERNAL), e);
}

/* The body as a JSON object with only `allowed` keys ({} when empty). */
static int body_object(struct http_req *req, const char *const *allowed, json_t **out,
                       struct err *e)
{
    *out = NULL;
    if (req->body_len == 0) {
        *out = json_object();
        return 0;
    }
    int rc = jx_parse_object(req->body, req->body_len, out, e);
    if (rc == 0 && (rc = jx_check_fields(*out, allowed, "", e)) != 0)
        json_decref(*out), *out = NULL;
    return rc;
}

/* A positive path parameter ("{seq}"). */
static int param_seq(const struct router_params *p, int64_t *out, struct err *e)
{
    const char *v = router_param(p, "seq");
    char *end;
    errno = 0;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (v == NULL || *v < '0' || *v > '9' || *end != '\0' || errno != 0 || n <= 0)
        return err_field(e, ERR_INVAL, "seq", "'%.40s' is not a sequence number",
                         v ? v : "");
    *out = n;
    return 0;
}

/* A duration field ("30s", "250ms"); absent leaves *out. */
static int get_duration(json_t *o, const char *key, int64_t *out, struct err *e)
{
    const char *s = NULL;
    int rc = jx_get_str(o, key, false, &s, e);
    if (rc != 0 || s == NULL)
        return rc;
    if (clock_parse_duration(s, out) != 0)
        return err_field(e, ERR_INVAL, key,
                         "'%s' must be a duration such as \"250ms\", \"30s\" or \"5m\", "
                         "got '%.60s'", key, s);
    return 0;
}

/* ---- queries ---------------------------------------------------------------------------- */

/* A query plus how to run and show it. Strings borrow from the JSON. */
struct qspec {
    struct sink_query q;
    struct sink_where where[MAX_WHERE];
    int64_t want, wait_ms, limit;
    bool body;
};

static const char *const query_fields[] = {
    "endpoint", "type", "method", "ticket", "ticket_path", "since", "signature",
    "duplicate", "refused", "where", "count", "wait", "limit", "body", NULL};

static int parse_where(json_t *a, struct qspec *qs, struct err *e)
{
    if (!json_is_array(a) || json_array_size(a) > MAX_WHERE)
        return err_field(e, ERR_INVAL, "where",
                         "'where' must be an array of at most %d {\"path\",\"equals\"} objects",
                         MAX_WHERE);
    static const char *const fields[] = {"path", "equals", NULL};
    size_t i;
    json_t *w;
    json_array_foreach(a, i, w) {
        char where[48];
        snprintf(where, sizeof where, "where[%zu].", i);
        if (!json_is_object(w))
            return err_field(e, ERR_INVAL, "where", "where[%zu] must be an object", i);
        int rc = jx_check_fields(w, fields, where, e);
        if (rc == 0)
            rc = jx_get_str(w, "path", true, &qs->where[i].path, e);
        if (rc != 0)
            return rc;
        qs->where[i].equals = json_object_get(w, "equals");
    }
    qs->q.where = qs->where;
    qs->q.nwhere = json_array_size(a);
    return 0;
}

/* The JSON form of a query (POST /control/requests/find, and GET's
 * parameters once typed). */
static int parse_query(json_t *o, struct qspec *qs, struct err *e)
{
    memset(qs, 0, sizeof *qs);
    qs->limit = DEF_LIMIT;
    qs->body = true;
    const char *sig = NULL, *refused = NULL;
    bool dup = false, has_dup = json_object_get(o, "duplicate") != NULL;
    int rc;
    if ((rc = jx_check_fields(o, query_fields, "", e)) != 0 ||
        (rc = jx_get_str(o, "endpoint", false, &qs->q.endpoint, e)) != 0 ||
        (rc = jx_get_str(o, "type", false, &qs->q.type, e)) != 0 ||
        (rc = jx_get_str(o, "method", false, &qs->q.method, e)) != 0 ||
        (rc = jx_get_int(o, "ticket", false, &qs->q.ticket, e)) != 0 ||
        (rc = jx_get_str(o, "ticket_path", false, &qs->q.ticket_path, e)) != 0 ||
        (rc = jx_get_int(o, "since", false, &qs->q.since, e)) != 0 ||
        (rc = jx_get_str(o, "signature", false, &sig, e)) != 0 ||
        (rc = jx_get_bool(o, "duplicate", false, &dup, e)) != 0 ||
        (rc = jx_get_str(o, "refused", false, &refused, e)) != 0 ||
        (rc = jx_get_int(o, "count", false, &qs->want, e)) != 0 ||
        (rc = get_duration(o, "wait", &qs->wait_ms, e)) != 0 ||
        (rc = jx_get_int(o, "limit", false, &qs->limit, e)) != 0 ||
        (rc = jx_get_bool(o, "body", false, &qs->body, e)) != 0)
        return rc;
    if (json_object_get(o, "where") != NULL &&
        (rc = parse_where(json_object_get(o, "where"), qs, e)) != 0)
        return rc;
    if (sig != NULL && (sink_sig_parse(sig, &qs->q.sig) != 0 || qs->q.sig == SINK_SIG_ANY))
        return err_field(e, ERR_INVAL, "signature",
                         "'signature' must be one of unchecked, valid, missing, stale, "
                         "invalid; got '%.40s'", sig);
    if (has_dup)
        qs->q.duplicate = dup ? SINK_YES : SINK_NO;
    if (refused == NULL || strcmp(refused, "exclude") == 0)
        qs->q.which = SINK_RECEIVED;
    else if (strcmp(refused, "only") == 0)
        qs->q.which = SINK_REFUSED;
    else if (strcmp(refused, "include") == 0)
        qs->q.which = SINK_ALL;
    else
        return err_field(e, ERR_INVAL, "refused",
                         "'refused' must be exclude, only or include; got '%.40s'", refused);
    if (qs->q.ticket < 0 || qs->q.since < 0 || qs->want < 0)
        return err_set(e, ERR_INVAL, "ticket, since and count cannot be negative");
    if (qs->limit < 0 || qs->limit > MAX_LIMIT)
        return err_field(e, ERR_INVAL, "limit", "'limit' must be 0..%d", MAX_LIMIT);
    if (qs->wait_ms > MAX_WAIT_MS)
        return err_field(e, ERR_INVAL, "wait", "'wait' is at most 60s");
    return 0;
}

struct params {
    json_t *o;
    struct err *e;
};

/* GET parameters are text: type them as the JSON form expects. */
static int typed_param(const char *key, const char *value, void *ud)
{
    struct params *p = ud;
    static const char *const ints[] = {"ticket", "since", "count", "limit", NULL};
    static const char *const bools[] = {"duplicate", "body", NULL};
    if (json_object_get(p->o, key) != NULL)
        return err_field(p->e, ERR_INVAL, key, "parameter '%.40s' given twice", key);
    if (strcmp(key, "where") == 0)
        return err_field(p->e, ERR_INVAL, key,
                         "'where' needs POST /control/requests/find with a JSON body");
    const char *v = value ? value : "";
    json_t *x = NULL;
    for (const char *const *k = ints; *k && x == NULL; k++)
        if (strcmp(key, *k) == 0) {
            char *end;
            errno = 0;
            long long n = strtoll(v, &end, 10);
            if (*v == '\0' || *end != '\0' || errno != 0)
                return err_field(p->e, ERR_INVAL, key,
                                 "parameter '%s' must be an integer, got '%.40s'", key, v);
            x = json_integer(n);
        }
    for (const char *const *k = bools; *k && x == NULL; k++)
        if (strcmp(key, *k) == 0) {
            if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
                return err_field(p->e, ERR_INVAL, key,
                                 "parameter '%s' must be true or false, got '%.40s'", key, v);
            x = json_boolean(strcmp(v, "true") == 0);
        }
    if (x == NULL)
        x = json_string(v);
    if (x == NULL)
        return err_field(p->e, ERR_INVAL, key, "parameter '%.40s' is not UTF-8", key);
    json_object_set_new(p->o, key, x);
    return 0;
}

static void run_query(struct sink *s, json_t *spec, struct http_resp *resp)
{
    struct err e = {0};
    struct qspec qs;
    struct sink_found f;
    if (parse_query(spec, &qs, &e) != 0 ||
        sink_find(s, &qs.q, (size_t)qs.want, qs.wait_ms, &f, &e) != 0) {
        fail(resp, &e);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < f.n && (int64_t)i < qs.limit; i++)
        json_array_append_new(list, sink_json_record(f.recs[i], qs.body));
    json_t *o = json_pack("{s:o,s:I,s:I,s:I,s:b}", "requests", list, "count", (json_int_t)f.n,
                          "last_seq", (json_int_t)f.last_seq, "evicted",
                          (json_int_t)f.evicted, "complete", f.complete);
    if (qs.want > 0) {
        json_object_set_new(o, "want", json_integer(qs.want));
        json_object_set_new(o, "satisfied", json_boolean((int64_t)f.n >= qs.want));
    }
    if (f.nnear > 0) {
        json_t *near = json_array();
        for (size_t i = 0; i < f.nnear; i++)
            json_array_append_new(near, sink_json_near(&f.near[i], f.npreds, qs.body));
        json_object_set_new(o, "near_misses", near);
    }
    sink_found_release(&f);
    reply(resp, 200, o);
}

static void r_list(struct http_req *req, struct http_resp *resp,
                   const struct router_params *params, void *ud)
{
    (void)params;
    struct err e = {0};
    struct params p = {.o = json_object(), .e = &e};
    if (http_req_query_each(req, typed_param, &p) != 0)
        fail(resp, &e);
    else
        run_query(ud, p.o, resp);
    json_decref(p.o);
}

static void r_find(struct http_req *req, struct http_resp *resp,
                   const struct router_params *params, void *ud)
{
    (void)params;
    struct err e = {0};
    json_t *body = NULL;
    if (body_object(req, query_fields, &body, &e) != 0) {
        fail(resp, &e);
        return;
    }
    run_query(ud, body, resp);
    json_decref(body);
}

static void r_one(struct http_req *req, struct http_resp *resp,
                  const struct router_params *params, void *ud)
{
    (void)req;
    struct err e = {0};
    int64_t seq;
    if (param_seq(params, &seq, &e) != 0) {
        fail(resp, &e);
        return;
    }
    bool evicted = false;
    struct sink_record *r = sink_get(ud, seq, &evicted);
    if (r == NULL) {
        err_set(&e, ERR_NOTFOUND, "request #%lld %s", (long long)seq,
                evicted ? "was evicted (the journal is full)" : "does not exist");
        fail(resp, &e);
        return;
    }
    reply(resp, 200, sink_json_record(r, true));
    sink_record_unref(&r);
}

static int no_params(const char *key, const char *value, void *ud)
{
    (void)value;
    return err_field(ud, ERR_INVAL, key, "unknown parameter '%.40s'", key);
}

static void r_clear(struct http_req *req, struct http_resp *resp,
                    const struct router_params *params, void *ud)
{
    (void)params;
    struct err e = {0};
    if (http_req_query_each(req, no_params, &e) != 0) {
        fail(resp, &e);
        return;
    }
    struct sink_stats st;
    sink_stats(ud, &st);
    sink_clear(ud);
    reply(resp, 200, json_pack("{s:I}", "cleared", (json_int_t)st.stored));
}

/* ---- behaviours ---------------------------------------------------------------------- */

/* A behaviour from JSON; a numeric retry_after is written into seconds[24]. */
static int parse_behaviour(json_t *o, struct sink_behaviour *b, const char **endpoint,
                           bool *is_default, char *seconds, struct err *e)
{
    static const char *const fields[] = {"endpoint", "default", "status", "body",
                                         "content_type", "retry_after", "delay", "fault",
                                         "times", "for", NULL};
    memset(b, 0, sizeof *b);
    *is_default = false;
    int64_t status = 0;
    const char *fault = NULL;
    int rc;
    if ((rc = jx_check_fields(o, fields, "", e)) != 0 ||
        (rc = jx_get_str(o, "endpoint", true, endpoint, e)) != 0 ||
        (rc = jx_get_bool(o, "default", false, is_default, e)) != 0 ||
        (rc = jx_get_int(o, "status", false, &status, e)) != 0 ||
        (rc = jx_get_str(o, "body", false, &b->body, e)) != 0 ||
        (rc = jx_get_str(o, "content_type", false, &b->content_type, e)) != 0 ||
        (rc = get_duration(o, "delay", &b->delay_ms, e)) != 0 ||
        (rc = jx_get_str(o, "fault", false, &fault, e)) != 0 ||
        (rc = jx_get_int(o, "times", false, &b->times, e)) != 0 ||
        (rc = get_duration(o, "for", &b->for_ms, e)) != 0)
        return rc;
    if (status < 0 || status > 999)
        return err_field(e, ERR_INVAL, "status", "status must be 100..599");
    b->status = (int)status;
    json_t *ra = json_object_get(o, "retry_after");
    if (json_is_integer(ra) && json_integer_value(ra) >= 0) {
        snprintf(seconds, 24, "%lld", (long long)json_integer_value(ra));
        b->retry_after = seconds;
    } else if (ra != NULL && !json_is_string(ra)) {
        return err_field(e, ERR_INVAL, "retry_after",
                         "'retry_after' must be seconds (a number) or an HTTP date");
    } else {
        b->retry_after = json_string_value(ra);
    }
    if (fault != NULL && sink_fault_parse(fault, &b->fault) != 0)
        return err_field(e, ERR_INVAL, "fault",
                         "'fault' must be one of none, drop, reset, truncate, down; "
                         "got '%.40s'", fault);
    return 0;
}

static void r_behaviour_add(struct http_req *req, struct http_resp *resp,
                            const struct router_params *params, void *ud)
{
    (void)params;
    struct sink *s = ud;
    struct err e = {0};
    json_t *body = NULL;
    struct sink_behaviour b;
    const char *endpoint = NULL;
    bool is_default = false;
    int64_t id = 0;
    char seconds[24];
    int rc = jx_parse_object(req->body, req->body_len, &body, &e);
    if (rc == 0)
        rc = parse_behaviour(body, &b, &endpoint, &is_default, seconds, &e);
    if (rc == 0)
        rc = is_default ? sink_behaviour_default(s, endpoint, &b, &e)
                        : sink_behaviour_push(s, endpoint, &b, &id, &e);
    if (rc != 0) {
        fail(resp, &e);
        json_decref(body);
        return;
    }
    /* answer with the endpoint's behaviours as they stand now */
    json_t *all = sink_behaviours(s), *mine = json_null();
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(all, "endpoints"), i, x)
        if (strcmp(json_string_value(json_object_get(x, "endpoint")), endpoint) == 0)
            mine = json_incref(x);
    json_decref(all);
    if (id > 0 && json_is_object(mine))
        json_object_set_new(mine, "id", json_integer(id));
    json_decref(body);
    reply(resp, 201, mine);
}

static void r_behaviours(struct http_req *req, struct http_resp *resp,
                         const struct router_params *params, void *ud)
{
    (void)params;
    struct err e = {0};
    if (http_req_query_each(req, no_params, &e) != 0)
        fail(resp, &e);
    else
        reply(resp, 200, sink_behaviours(ud));
}

static int endpoint_param(const char *key, const char *value, void *ud)
{
    (void)value;
    if (strcmp(key, "endpoint") == 0)
        return 0;
    return err_field(ud, ERR_INVAL, key, "unknown parameter '%.40s'", key);
}

static void r_behaviour_clear(struct http_req *req, struct http_resp *resp,
                              const struct router_params *params, void *ud)
{
    (void)params;
    struct err e = {0};
    if (http_req_query_each(req, endpoint_param, &e) != 0) {
        fail(resp, &e);
        return;
    }
    const char *ep = http_req_query(req, "endpoint");
    size_t n = sink_behaviour_clear(ud, ep != NULL && ep[0] ? ep : NULL);
    reply(resp, 200, json_pack("{s:I}", "cleared", (json_int_t)n));
}

/* ---- replay, stats, secrets, clock ---------------------------------------------------- */

static void r_replay(struct http_req *req, struct http_resp *resp,
                     const struct router_params *params, void *ud)
{
    static const char *const fields[] = {"url", "timeout", NULL};
    struct err e = {0};
    json_t *body = NULL;
    int64_t seq = 0, timeout = 0;
    const char *url = NULL;
    struct sink_replayed out;
    int rc = param_seq(params, &seq, &e);
    if (rc == 0)
        rc = body_object(req, fields, &body, &e);
    if (rc == 0)
        rc = jx_get_str(body, "url", true, &url, &e);
    if (rc == 0)
        rc = get_duration(body, "timeout", &timeout, &e);
    if (rc == 0)
        rc = sink_replay(ud, seq, url, timeout, &out, &e);
    json_decref(body);
    if (rc != 0) {
        fail(resp, &e);
        return;
    }
    json_t *b = out.body ? json_stringn(out.body, out.body_len) : NULL;
    reply(resp, 200,
          json_pack("{s:I,s:o,s:o,s:o}", "seq", (json_int_t)seq, "status",
                    out.status ? json_integer(out.status) : json_null(), "body",
                    b ? b : json_null(), "error",
                    out.error[0] ? json_string(out.error) : json_null()));
    mem_free(out.body);
}

static void r_stats(struct http_req *req, struct http_resp *resp,
                    const struct router_params *params, void *ud)
{
    (void)req;
    (void)params;
    reply(resp, 200, sink_json_stats(ud));
}

static void r_secrets(struct http_req *req, struct http_resp *resp,
                      const struct router_params *params, void *ud)
{
    (void)req;
    (void)params;
    struct sink *s = ud;
    json_t *o = json_object();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->neps; i++)
        if (s->eps[i]->nsecrets > 0)       /* how many, never what */
            json_object_set_new(o, s->eps[i]->name, json_integer((json_int_t)s->eps[i]->nsecrets));
    pthread_mutex_unlock(&s->mu);
    reply(resp, 200, json_pack("{s:o}", "endpoints", o));
}

static void r_secrets_set(struct http_req *req, struct http_resp *resp,
                          const struct router_params *params, void *ud)
{
    static const char *const fields[] = {"secrets", NULL};
    struct err e = {0};
    json_t *body = NULL;
    const char *endpoint = router_param(params, "endpoint");
    const char *list[SINK_MAX_SECRETS];
    size_t n = 0;
    int rc = body_object(req, fields, &body, &e);
    json_t *a = body ? json_object_get(body, "secrets") : NULL;
    if (rc == 0 && (!json_is_array(a) || json_array_size(a) > SINK_MAX_SECRETS))
        rc = err_field(&e, ERR_INVAL, "secrets",
                       "'secrets' must be an array of at most %d whsec_ strings",
                       SINK_MAX_SECRETS);
    for (size_t i = 0; rc == 0 && i < json_array_size(a); i++) {
        list[n] = json_string_value(json_array_get(a, i));
        if (list[n++] == NULL)
            rc = err_field(&e, ERR_INVAL, "secrets", "secret %zu is not a string", i + 1);
    }
    if (rc == 0)
        rc = sink_set_secrets(ud, endpoint, list, n, &e);
    json_decref(body);
    if (rc != 0)
        fail(resp, &e);
    else
        reply(resp, 200, json_pack("{s:s,s:I}", "endpoint", endpoint, "secrets", (json_int_t)n));
}

static void reply_now(struct sink *s, struct http_resp *resp)
{
    char iso[CLOCK_ISO_LEN];
    int64_t now = clock_now_ms(s->clock);
    reply(resp, 200, json_pack("{s:s,s:I}", "now", clock_fmt_iso(now, iso), "now_ms",
                               (json_int_t)now));
}

static void r_clock(struct http_req *req, struct http_resp *resp,
                    const struct router_params *params, void *ud)
{
    (void)req;
    (void)params;
    reply_now(ud, resp);
}

/* {"advance": "30s"} or {"set": ISO}; then held answers that fell due are
 * released before the reply, so the caller's next look sees them. */
static void r_clock_move(struct http_req *req, struct http_resp *resp,
                         const struct router_params *params, void *ud)
{
    (void)params;
    static const char *const fields[] = {"advance", "set", NULL};
    struct sink *s = ud;
    struct err e = {0};
    json_t *body = NULL;
    int64_t delta = -1;
    const char *set = NULL;
    int rc = body_object(req, fields, &body, &e);
    if (rc == 0)
        rc = get_duration(body, "advance", &delta, &e);
    if (rc == 0)
        rc = jx_get_str(body, "set", false, &set, &e);
    if (rc == 0 && (delta >= 0) == (set != NULL))
        rc = err_set(&e, ERR_INVAL, "give exactly one of 'advance' and 'set'");
    int64_t at = 0;
    if (rc == 0 && set != NULL && clock_parse_iso(set, &at) != 0)
        rc = err_field(&e, ERR_INVAL, "set", "'set' must be an RFC 3339 time, got '%.60s'", set);
    if (rc == 0 && (set != NULL ? clock_manual_set(s->clock, at)
                                : clock_manual_advance(s->clock, delta)) != 0)
        rc = err_field(&e, ERR_INVAL, "set", "the clock cannot move backwards (now %lld ms)",
                       (long long)clock_now_ms(s->clock));
    json_decref(body);
    if (rc != 0) {
        fail(resp, &e);
        return;
    }
    sink_clock_advanced(s);
    reply_now(s, resp);
}

static const struct router_route routes[] = {
    {"GET", "/control/requests", r_list, 0},
    {"DELETE", "/control/requests", r_clear, 0},
    {"POST", "/control/requests/find", r_find, 0},
    {"GET", "/control/requests/{seq}", r_one, 0},
    {"GET", "/control/behaviours", r_behaviours, 0},
    {"POST", "/control/behaviours", r_behaviour_add, 0},
    {"DELETE", "/control/behaviours", r_behaviour_clear, 0},
    {"POST", "/control/replay/{seq}", r_replay, 0},
    {"GET", "/control/stats", r_stats, 0},
    {"GET", "/control/secrets", r_secrets, 0},
    {"PUT", "/control/secrets/{endpoint}", r_secrets_set, 0},
    {"GET", "/control/clock", r_clock, TAG_TEST_CLOCK},
    {"POST", "/control/clock", r_clock_move, TAG_TEST_CLOCK},
};

void sink_control_handle(struct sink *s, struct http_req *req, struct http_resp *resp)
{
    unsigned hide = clock_is_manual(s->clock) ? 0 : TAG_TEST_CLOCK;
    router_dispatch(routes, sizeof routes / sizeof routes[0], hide, req, resp, s);
}
