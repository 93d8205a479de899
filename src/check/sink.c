/*
 * sink.c — the webhook sink's state, capture path and queries (sink.h).
 *
 * A request to /hooks/<endpoint> is copied out of the HTTP layer into a
 * record, its body parsed and its signature checked — all before the mutex
 * is taken. Under the mutex it gets its seq and arrival time, the
 * endpoint's next behaviour is consumed, the duplicate index consulted and
 * the record appended to the journal (evicting the oldest past the caps).
 * A delayed answer then waits on the condition variable until the sink's
 * clock passes its deadline; the answer itself is built after the mutex is
 * released. The server runs a thread per connection so that a held request
 * never stalls another one.
 *
 * Records are reference-counted (atomically) and immutable once in the
 * journal, so queries hand out references instead of copies and an
 * eviction never invalidates what a caller holds.
 */
#include "check/sink_impl.h"

#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"
#include "webhook/hook_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEF_MAX_REQUESTS 100000u
#define DEF_MAX_BYTES (256u * 1024u * 1024u)
#define DEF_MAX_BODY (16u * 1024u * 1024u)
#define DEF_TOLERANCE_S 300
/* How often a request held on a manual clock looks at it by itself (the
 * normal wake-up is sink_clock_advanced). */
#define HOLD_POLL_MS 20
/* A real clock is re-read at least this often while holding (it may jump). */
#define HOLD_REAL_STEP_MS 1000
#define NEAR_MAX 3
/* Far enough for any plausible timestamp: lets the signature of a stale
 * request still be checked on its own. */
#define ANY_TIME_S (1LL << 40)

static const char *const sig_names[] = {"any", "unchecked", "valid", "missing", "stale",
                                        "invalid"};
static const char *const fault_names[] = {"none", "drop", "reset", "truncate", "down"};

#define NNAMES(t) (sizeof(t) / sizeof((t)[0]))

/* The index of name in names[0..n), or -1. */
static int name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *sink_sig_name(enum sink_sig v)
{
    return (unsigned)v < NNAMES(sig_names) ? sig_names[v] : "?";
}

int sink_sig_parse(const char *name, enum sink_sig *out)
{
    int i = name_index(sig_names, NNAMES(sig_names), name);
    if (i < 0)
        return ERR_INVAL;
    *out = (enum sink_sig)i;
    return 0;
}

const char *sink_fault_name(enum sink_fault f)
{
    return (unsigned)f < NNAMES(fault_names) ? fault_names[f] : "?";
}

int sink_fault_parse(const char *name, enum sink_fault *out)
{
    int i = name_index(fault_names, NNAMES(fault_names), name);
    if (i < 0)
        return ERR_INVAL;
    *out = (enum sink_fault)i;
    return 0;
}

bool sink_endpoint_ok(const char *name, bool allow_any)
{
    if (name == NULL)
        return false;
    if (strcmp(name, SINK_ANY_ENDPOINT) == 0)
        return allow_any;
    size_t n = strlen(name);
    if (n == 0 || n > SINK_ENDPOINT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* ---- records ------------------------------------------------------------------ */

int64_t sink_record_answered(const struct sink_record *r)
{
    return __atomic_load_n(&r->answered_ms, __ATOMIC_ACQUIRE);
}

static void record_free(struct sink_record *r)
{
    mem_free((void *)r->method);
    mem_free((void *)r->path);
    mem_free((void *)r->query);
    mem_free((void *)r->endpoint);
    for (size_t i = 0; i < r->nheaders; i++) {
        mem_free((void *)r->headers[i].name);
        mem_free((void *)r->headers[i].value);
    }
    mem_free((void *)r->headers);
    mem_free((void *)r->body);
    json_decref(r->json);
    mem_free((void *)r->json_error);
    mem_free((void *)r->webhook_id);
    mem_free(r);
}

void sink_record_unref(struct sink_record **rp)
{
    if (rp == NULL || *rp == NULL)
        return;
    if (__atomic_sub_fetch(&(*rp)->refs, 1, __ATOMIC_ACQ_REL) == 0)
        record_free(*rp);
    *rp = NULL;
}

static struct sink_record *record_ref(struct sink_record *r)
{
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    return r;
}

struct headers {
    struct sink_header *h;
    size_t n, cap, bytes;
};

static int add_header(const char *name, const char *value, void *ud)
{
    struct headers *hs = ud;
    if (hs->n == hs->cap) {
        hs->cap = hs->cap ? 2 * hs->cap : 16;
        hs->h = mem_realloc(hs->h, hs->cap * sizeof *hs->h);
    }
    hs->h[hs->n].name = mem_strdup(name);
    hs->h[hs->n].value = mem_strdup(value);
    hs->n++;
    hs->bytes += strlen(name) + strlen(value) + 4;   /* ": " and CRLF */
    return 0;
}

static const char *header_of(const struct sink_record *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* "/hooks/<name>[/...]" → name, else "" (heap). */
static char *endpoint_of(const char *path)
{
    size_t pl = strlen(SINK_HOOKS_PREFIX);
    if (strncmp(path, SINK_HOOKS_PREFIX, pl) != 0)
        return mem_strdup("");
    const char *name = path + pl;
    const char *end = strchr(name, '/');
    char *ep = end ? mem_strndup(name, (size_t)(end - name)) : mem_strdup(name);
    if (!sink_endpoint_ok(ep, false))
        ep[0] = '\0';
    return ep;
}

/* Copy everything out of the HTTP layer and parse the body (no lock). */
static struct sink_record *record_new(struct http_req *req)
{
    struct sink_record *r = mem_alloc(sizeof *r);
    r->refs = 1;
    r->sig_secret = -1;
    r->method = mem_strdup(req->method);
    r->path = mem_strdup(req->path);
    const char *q = strchr(req->target, '?');
    r->query = mem_strdup(q ? q + 1 : "");
    r->endpoint = endpoint_of(req->path);
    struct headers hs = {0};
    http_req_header_each(req, add_header, &hs);
    r->headers = hs.h;
    r->nheaders = hs.n;
    char *body = mem_alloc(req->body_len + 1);
    memcpy(body, req->body, req->body_len);
    r->body = body;
    r->body_len = req->body_len;
    r->bytes = strlen(req->method) + strlen(req->target) + hs.bytes + req->body_len;
    r->webhook_id = mem_strdup(header_of(r, "webhook-id"));

    struct err e = {0};
    if (req->body_len == 0)
        r->json_error = mem_strdup("empty body");
    else if (jx_parse(req->body, req->body_len, &r->json, &e) != 0)
        r->json_error = mem_strdup(e.msg);
    else
        r->type = json_string_value(json_object_get(r->json, "type"));
    return r;
}

/* Strict decimal seconds within tol of now (what hook_sign_verify checks). */
static bool fresh(const char *ts, int64_t now_s, int64_t tol)
{
    const char *p = ts;
    bool neg = *p == '-';
    if (neg)
        p++;
    size_t n = strlen(p);
    if (n == 0 || n > 18 || strspn(p, "0123456789") != n)
        return false;
    long long v = strtoll(p, NULL, 10);
    if (neg)
        v = -v;
    return v >= now_s - tol && v <= now_s + tol;
}

/* The signature verdict against the endpoint's secrets (no lock). */
static void verify(struct sink_record *r, char *const *secrets, size_t n, int64_t now_s,
                   int64_t tol)
{
    if (n == 0) {
        r->sig = SINK_SIG_UNCHECKED;
        return;
    }
    struct hook_sign_headers h = {
        .id = header_of(r, "webhook-id"),
        .timestamp = header_of(r, "webhook-timestamp"),
        .signature = header_of(r, "webhook-signature"),
    };
    if (h.id == NULL || h.timestamp == NULL || h.signature == NULL) {
        r->sig = SINK_SIG_MISSING;
        return;
    }
    bool ok_time = fresh(h.timestamp, now_s, tol);
    for (size_t k = 0; k < n && r->sig_secret < 0; k++) {
        const char *one[] = {secrets[k]};
        if (hook_sign_verify(one, 1, &h, r->body, r->body_len, now_s,
                             ok_time ? tol : ANY_TIME_S, NULL) == 0)
            r->sig_secret = (int)k;
    }
    r->sig = !ok_time ? SINK_SIG_STALE : r->sig_secret >= 0 ? SINK_SIG_VALID : SINK_SIG_INVALID;
}

/* ---- endpoints, behaviours ---------------------------------------------------------- */

struct sink_ep *sink_st_ep(struct sink *s, const char *name, bool create)
{
    for (size_t i = 0; i < s->neps; i++)
        if (strcmp(s->eps[i]->name, name) == 0)
            return s->eps[i];
    if (!create || !sink_endpoint_ok(name, true) || s->neps == SINK_MAX_ENDPOINTS)
        return NULL;
    struct sink_ep *ep = mem_alloc(sizeof *ep);
    ep->name = mem_strdup(name);
    s->eps = mem_realloc(s->eps, (s->neps + 1) * sizeof(struct sink_ep *));
    s->eps[s->neps++] = ep;
    return ep;
}

static void secrets_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(v[i], 0, strlen(v[i]));     /* secrets do not linger */
        mem_free(v[i]);
    }
    mem_free(v);
}

static void rule_release(struct sink_rule *r)
{
    mem_free((void *)r->b.body);
    mem_free((void *)r->b.content_type);
    mem_free((void *)r->b.retry_after);
}

static void ep_free(struct sink_ep *ep)
{
    secrets_free(ep->secrets, ep->nsecrets);
    for (size_t i = 0; i < ep->nqueue; i++)
        rule_release(&ep->queue[i]);
    mem_free(ep->queue);
    if (ep->dflt != NULL)
        rule_release(ep->dflt);
    mem_free(ep->dflt);
    mem_free(ep->name);
    mem_free(ep);
}

int sink_set_secrets(struct sink *s, const char *endpoint, const char *const *secrets,
                     size_t n, struct err *e)
{
    const char *name = endpoint ? endpoint : SINK_ANY_ENDPOINT;
    if (!sink_endpoint_ok(name, true))
        return err_field(e, ERR_INVAL, "endpoint", "bad endpoint name '%.80s'", name);
    if (n > SINK_MAX_SECRETS)
        return err_field(e, ERR_INVAL, "secrets", "at most %d secrets per endpoint, got %zu",
                         SINK_MAX_SECRETS, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char key[HOOK_SIGN_SECRET_MAX];
        size_t klen;
        int rc = hook_sign_key(secrets[i], key, &klen, NULL);
        memset(key, 0, sizeof key);
        if (rc != 0)
            return err_field(e, ERR_INVAL, "secrets",
                             "secret %zu for endpoint '%s' is not a webhook secret "
                             "(expected whsec_<base64>)", i + 1, name);
    }
    char **copy = n ? mem_alloc(n * sizeof *copy) : NULL;
    for (size_t i = 0; i < n; i++)
        copy[i] = mem_strdup(secrets[i]);
    pthread_mutex_lock(&s->mu);
    struct sink_ep *ep = sink_st_ep(s, name, true);
    if (ep == NULL) {
        pthread_mutex_unlock(&s->mu);
        secrets_free(copy, n);
        return err_set(e, ERR_BUSY, "the sink tracks at most %d endpoints", SINK_MAX_ENDPOINTS);
    }
    secrets_free(ep->secrets, ep->nsecrets);
    ep->secrets = copy;
    ep->nsecrets = n;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Copy the secrets a request to `name` is checked with (mu held). */
static char **secrets_for(struct sink *s, const char *name, size_t *n)
{
    struct sink_ep *ep = name[0] ? sink_st_ep(s, name, false) : NULL;
    if (ep == NULL || ep->nsecrets == 0)
        ep = sink_st_ep(s, SINK_ANY_ENDPOINT, false);
    *n = ep != NULL ? ep->nsecrets : 0;
    if (*n == 0)
        return NULL;
    char **v = mem_alloc(*n * sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = mem_strdup(ep->secrets[i]);
    return v;
}

static int check_behaviour(const struct sink_behaviour *b, bool queued, struct err *e)
{
    if (b->status != 0 && (b->status < 100 || b->status > 599))
        return err_field(e, ERR_INVAL, "status", "status must be 100..599, got %d", b->status);
    if (b->delay_ms < 0 || b->times < 0 || b->for_ms < 0)
        return err_set(e, ERR_INVAL, "delay, times and for cannot be negative");
    if (!queued && (b->times != 0 || b->for_ms != 0))
        return err_field(e, ERR_INVAL, b->times ? "times" : "for",
                         "a default lasts until changed: it takes no 'times' or 'for'");
    bool no_answer = b->fault == SINK_FAULT_DROP || b->fault == SINK_FAULT_RESET ||
                     b->fault == SINK_FAULT_DOWN;
    if (no_answer && (b->status != 0 || b->body != NULL || b->content_type != NULL ||
                      b->retry_after != NULL))
        return err_field(e, ERR_INVAL, "fault",
                         "fault '%s' sends no answer: it takes no status, body, "
                         "content_type or retry_after", sink_fault_name(b->fault));
    if (b->fault == SINK_FAULT_DOWN && b->delay_ms != 0)
        return err_field(e, ERR_INVAL, "delay", "a down endpoint refuses at once: no delay");
    if ((unsigned)b->fault > SINK_FAULT_DOWN)
        return err_field(e, ERR_INVAL, "fault", "unknown fault %d", (int)b->fault);
    return 0;
}

static void rule_init(struct sink *s, struct sink_rule *r, const struct sink_behaviour *b)
{
    memset(r, 0, sizeof *r);
    r->b = *b;
    r->b.body = mem_strdup(b->body);
    r->b.content_type = mem_strdup(b->content_type);
    r->b.retry_after = mem_strdup(b->retry_after);
    r->id = ++s->next_rule_id;
    r->left = b->times > 0 ? b->times : b->for_ms > 0 ? -1 : 1;
    r->until_ms = b->for_ms > 0 ? clock_now_ms(s->clock) + b->for_ms : 0;
}

int sink_behaviour_push(struct sink *s, const char *endpoint, const struct sink_behaviour *b,
                        int64_t *id, struct err *e)
{
    const char *name = endpoint ? endpoint : SINK_ANY_ENDPOINT;
    if (!sink_endpoint_ok(name, true))
        return err_field(e, ERR_INVAL, "endpoint", "bad endpoint name '%.80s'", name);
    int rc = check_behaviour(b, true, e);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&s->mu);
    struct sink_ep *ep = sink_st_ep(s, name, true);
    if (ep == NULL) {
        pthread_mutex_unlock(&s->mu);
        return err_set(e, ERR_BUSY, "the sink tracks at most %d endpoints", SINK_MAX_ENDPOINTS);
    }
    ep->queue = mem_realloc(ep->queue, (ep->nqueue + 1) * sizeof *ep->queue);
    struct sink_rule *r = &ep->queue[ep->nqueue++];
    rule_init(s, r, b);
    if (id != NULL)
        *id = r->id;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int sink_behaviour_default(struct sink *s, const char *endpoint,
                           const struct sink_behaviour *b, struct err *e)
{
    const char *name = endpoint ? endpoint : SINK_ANY_ENDPOINT;
    if (!sink_endpoint_ok(name, true))
        return err_field(e, ERR_INVAL, "endpoint", "bad endpoint name '%.80s'", name);
    int rc = b != NULL ? check_behaviour(b, false, e) : 0;
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&s->mu);
    struct sink_ep *ep = sink_st_ep(s, name, b != NULL);
    if (ep == NULL && b != NULL) {
        pthread_mutex_unlock(&s->mu);
        return err_set(e, ERR_BUSY, "the sink tracks at most %d endpoints", SINK_MAX_ENDPOINTS);
    }
    if (ep != NULL && ep->dflt != NULL) {
        rule_release(ep->dflt);
        mem_freep(&ep->dflt);
    }
    if (b != NULL) {
        ep->dflt = mem_alloc(sizeof *ep->dflt);
        rule_init(s, ep->dflt, b);
        ep->dflt->left = -1;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static size_t ep_clear_rules(struct sink_ep *ep)
{
    size_t n = ep->nqueue + (ep->dflt != NULL);
    for (size_t i = 0; i < ep->nqueue; i++)
        rule_release(&ep->queue[i]);
    mem_freep(&ep->queue);
    ep->nqueue = 0;
    if (ep->dflt != NULL)
        rule_release(ep->dflt);
    mem_freep(&ep->dflt);
    return n;
}

size_t sink_behaviour_clear(struct sink *s, const char *endpoint)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->neps; i++)
        if (endpoint == NULL || strcmp(s->eps[i]->name, endpoint) == 0)
            n += ep_clear_rules(s->eps[i]);
    pthread_mutex_unlock(&s->mu);
    return n;
}

json_t *sink_behaviours(struct sink *s)
{
    json_t *list = json_array();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->neps; i++) {
        const struct sink_ep *ep = s->eps[i];
        if (ep->nqueue == 0 && ep->dflt == NULL)
            continue;
        json_t *q = json_array();
        for (size_t k = 0; k < ep->nqueue; k++)
            json_array_append_new(q, sink_json_rule(&ep->queue[k]));
        json_array_append_new(list, json_pack("{s:s,s:o,s:o}", "endpoint", ep->name, "queue", q,
                                              "default",
                                              ep->dflt ? sink_json_rule(ep->dflt) : json_null()));
    }
    pthread_mutex_unlock(&s->mu);
    return json_pack("{s:o}", "endpoints", list);
}

/* The answer chosen for one request; strings in the request arena. */
struct answer {
    int status;
    const char *body, *content_type, *retry_after;
    int64_t delay_ms;
    enum sink_fault fault;
};

/* The head of ep's queue still in force at `now`, dropping expired ones. */
static struct sink_rule *queue_head(struct sink_ep *ep, int64_t now)
{
    while (ep != NULL && ep->nqueue > 0) {
        struct sink_rule *h = &ep->queue[0];
        if (h->left != 0 && (h->until_ms == 0 || now < h->until_ms))
            return h;
        rule_release(h);
        memmove(ep->queue, ep->queue + 1, --ep->nqueue * sizeof *ep->queue);
    }
    return NULL;
}

/* Consume the behaviour that answers a request to ep at `now` (mu held). */
static void choose(struct sink *s, struct sink_ep *ep, int64_t now, struct arena *a,
                   struct answer *out)
{
    struct sink_ep *any = sink_st_ep(s, SINK_ANY_ENDPOINT, false);
    struct sink_rule *r = queue_head(ep, now);
    if (r == NULL)
        r = queue_head(any, now);
    if (r == NULL)
        r = ep != NULL && ep->dflt != NULL ? ep->dflt : any != NULL ? any->dflt : NULL;
    memset(out, 0, sizeof *out);
    out->status = 200;
    if (r == NULL)
        return;
    out->status = r->b.status ? r->b.status : 200;
    out->body = arena_strdup(a, r->b.body);
    out->content_type = arena_strdup(a, r->b.content_type);
    out->retry_after = arena_strdup(a, r->b.retry_after);
    out->delay_ms = r->b.delay_ms;
    out->fault = r->b.fault;
    if (out->fault == SINK_FAULT_DROP || out->fault == SINK_FAULT_RESET ||
        out->fault == SINK_FAULT_DOWN)
        out->status = 0;
    r->hits++;
    if (r->left > 0)
        r->left--;           /* an exhausted head is dropped by the next queue_head */
}

/* ---- the journal -------------------------------------------------------------------- */

static void evict_oldest(struct sink *s)
{
    struct sink_record *r = s->ring[s->head];
    s->head = (s->head + 1) % s->cap;
    s->len--;
    s->bytes -= r->bytes;
    s->st.evicted++;
    s->st.evicted_bytes += (int64_t)r->bytes;
    s->evicted_upto = r->seq;
    sink_record_unref(&r);
}

/* Append a reference to r, evicting the oldest past the caps (mu held). */
static void journal_add(struct sink *s, struct sink_record *r)
{
    while (s->len > 0 && (s->len >= s->o.max_requests || s->bytes + r->bytes > s->o.max_bytes))
        evict_oldest(s);
    if (s->len == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        if (cap > s->o.max_requests)
            cap = s->o.max_requests;
        struct sink_record **ring = mem_alloc(cap * sizeof(struct sink_record *));
        for (size_t i = 0; i < s->len; i++)
            ring[i] = s->ring[(s->head + i) % s->cap];
        mem_free(s->ring);
        s->ring = ring;
        s->head = 0;
        s->cap = cap;
    }
    s->ring[(s->head + s->len) % s->cap] = record_ref(r);
    s->len++;
    s->bytes += r->bytes;
}

/* The journal's i-th record, oldest first (mu held). */
static struct sink_record *at(const struct sink *s, size_t i)
{
    return s->ring[(s->head + i) % s->cap];
}

/* Index of the first record with seq >= seq (mu held); len when none. */
static size_t index_from(const struct sink *s, int64_t seq)
{
    if (s->len == 0)
        return 0;
    int64_t first = at(s, 0)->seq;
    if (seq <= first)
        return 0;
    int64_t k = seq - first;
    return k >= (int64_t)s->len ? s->len : (size_t)k;
}

struct sink_record *sink_get(struct sink *s, int64_t seq, bool *evicted)
{
    struct sink_record *r = NULL;
    pthread_mutex_lock(&s->mu);
    size_t i = index_from(s, seq);
    if (i < s->len && at(s, i)->seq == seq)
        r = record_ref(at(s, i));
    if (evicted != NULL)
        *evicted = r == NULL && seq > 0 && seq <= s->evicted_upto;
    pthread_mutex_unlock(&s->mu);
    return r;
}

void sink_clear(struct sink *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->len > 0)
        evict_oldest(s);
    sink_ids_clear(s->ids);
    int64_t last = s->next_seq;
    memset(&s->st, 0, sizeof s->st);
    s->evicted_upto = 0;
    s->next_seq = last;
    for (size_t i = 0; i < s->neps; i++) {
        struct sink_ep *ep = s->eps[i];
        ep->received = ep->refused = ep->duplicates = ep->json_invalid = 0;
        memset(ep->sig, 0, sizeof ep->sig);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- holding answers ------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool sink_st_wait_ms(struct sink *s, int64_t ms)
{
    if (s->stopping)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    return !s->stopping;
}

/* Wait (mu held) until the sink's clock reaches `until`. False when the
 * sink stopped first. A caller that gives up meanwhile is no longer waited
 * for (see sink_stats' held), but the hold runs its course: the answer is
 * recorded as it would have been sent. */
static bool hold(struct sink *s, struct http_req *req, int64_t until)
{
    if (s->nholds == s->capholds) {
        s->capholds = s->capholds ? 2 * s->capholds : 16;
        s->holds = mem_realloc(s->holds, s->capholds * sizeof *s->holds);
    }
    s->holds[s->nholds++] = (struct sink_hold){ until, req };
    bool manual = clock_is_manual(s->clock);
    int64_t now;
    while (!s->stopping && (now = clock_now_ms(s->clock)) < until) {
        int64_t left = until - now;
        sink_st_wait_ms(s, manual ? HOLD_POLL_MS : left < HOLD_REAL_STEP_MS ? left : HOLD_REAL_STEP_MS);
    }
    for (size_t i = 0; i < s->nholds; i++)
        if (s->holds[i].req == req) {
            s->holds[i] = s->holds[--s->nholds];
            break;
        }
    pthread_cond_broadcast(&s->cv);     /* sink_clock_advanced may be waiting */
    return !s->stopping;
}

void sink_clock_advanced(struct sink *s)
{
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    for (;;) {
        int64_t now = clock_now_ms(s->clock);
        bool due = false;
        for (size_t i = 0; i < s->nholds && !due; i++)
            due = s->holds[i].until <= now;
        if (!due || !sink_st_wait_ms(s, 100))
            break;
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- capturing ------------------------------------------------------------------------ */

static void count(struct sink *s, struct sink_ep *ep, const struct sink_record *r)
{
    s->st.received++;
    s->st.refused += r->refused;
    s->st.duplicates += r->dup_of != 0;
    if (ep == NULL)
        return;
    ep->received++;
    ep->refused += r->refused;
    ep->duplicates += r->dup_of != 0;
    ep->json_invalid += r->json == NULL;
    ep->sig[r->sig]++;
}

static void respond(struct http_resp *resp, const struct answer *a)
{
    if (a->fault == SINK_FAULT_DROP || a->fault == SINK_FAULT_RESET ||
        a->fault == SINK_FAULT_DOWN) {
        resp->drop = true;
        resp->reset = a->fault != SINK_FAULT_DROP;
        return;
    }
    resp->status = a->status;
    resp->content_type = a->content_type ? a->content_type : "application/json";
    if (a->body != NULL)
        buf_puts(&resp->body, a->body);
    else if (a->status >= 200 && a->status < 300)
        buf_puts(&resp->body, "{\"ok\":true}");
    else
        buf_printf(&resp->body, "{\"ok\":false,\"status\":%d}", a->status);
    if (a->retry_after != NULL)
        http_resp_header(resp, "Retry-After", a->retry_after);
    if (a->fault == SINK_FAULT_TRUNCATE) {
        resp->cut = true;
        resp->cut_at = resp->body.len / 2;
    }
}

static void log_capture(const struct sink_record *r)
{
    struct log_line l;
    log_begin(&l, LOG_DEBUG, "sink.captured");
    log_int(&l, "seq", r->seq);
    log_str(&l, "endpoint", r->endpoint);
    log_str(&l, "signature", sink_sig_name(r->sig));
    log_int(&l, "status", r->status);
    log_str(&l, "fault", sink_fault_name(r->fault));
    log_end(&l);
}

static void capture(struct sink *s, struct http_req *req, struct http_resp *resp)
{
    struct sink_record *r = record_new(req);
    size_t nsec;
    pthread_mutex_lock(&s->mu);
    char **secrets = secrets_for(s, r->endpoint, &nsec);
    pthread_mutex_unlock(&s->mu);
    verify(r, secrets, nsec, clock_now_ms(s->clock) / 1000, s->o.tolerance_s);
    secrets_free(secrets, nsec);

    struct answer a = {0};
    pthread_mutex_lock(&s->mu);
    r->at_ms = clock_now_ms(s->clock);
    r->seq = ++s->next_seq;
    struct sink_ep *ep = r->endpoint[0] ? sink_st_ep(s, r->endpoint, true) : NULL;
    if (ep != NULL)
        choose(s, ep, r->at_ms, req->arena, &a);
    else                                 /* not a hook, or too many endpoints */
        a.status = r->endpoint[0] ? 503 : 404;
    r->status = a.status;
    r->fault = a.fault;
    r->delay_ms = a.delay_ms;
    r->refused = a.fault == SINK_FAULT_DOWN;
    if (ep != NULL && !r->refused && r->webhook_id != NULL)
        r->dup_of = sink_ids_seen(s->ids, r->endpoint, r->webhook_id, r->seq);
    count(s, ep, r);
    journal_add(s, r);
    pthread_cond_broadcast(&s->cv);
    bool due = a.delay_ms == 0 || hold(s, req, r->at_ms + a.delay_ms);
    if (due)
        __atomic_store_n(&r->answered_ms, clock_now_ms(s->clock), __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->mu);
    log_capture(r);

    if (!due) {                          /* stopping: never due, never answered */
        resp->drop = true;
    } else if (ep == NULL && r->endpoint[0]) {
        struct err e = {0};
        err_set(&e, ERR_BUSY, "the sink tracks at most %d endpoints", SINK_MAX_ENDPOINTS);
        http_resp_error(resp, 503, &e);
    } else if (ep == NULL) {
        struct err e = {0};
        err_set(&e, ERR_NOTFOUND, "no webhook endpoint at '%.200s': deliveries go to "
                SINK_HOOKS_PREFIX "<endpoint>", r->path);
        http_resp_error(resp, 404, &e);
    } else {
        respond(resp, &a);
    }
    sink_record_unref(&r);
}

static void on_http(struct http_req *req, struct http_resp *resp, void *ud)
{
    struct sink *s = ud;
    if (strncmp(req->path, "/control", 8) == 0 && (req->path[8] == '\0' || req->path[8] == '/'))
        sink_control_handle(s, req, resp);
    else
        capture(s, req, resp);
}

/* ---- queries ------------------------------------------------------------------------------ */

static void found_add(struct sink_found *f, struct sink_record *r)
{
    if (f->n == 0 || (f->n >= 8 && (f->n & (f->n - 1)) == 0))   /* 8, 16, 32, ... */
        f->recs = mem_realloc(f->recs, (f->n ? 2 * f->n : 8) * sizeof(struct sink_record *));
    f->recs[f->n++] = record_ref(r);
}

/* The up to NEAR_MAX non-matching records in the window that satisfy the
 * most predicates, newest first among equals (mu held). */
static void near_misses(struct sink *s, const struct sink_match *m, struct sink_found *f)
{
    struct sink_record *best[NEAR_MAX];
    size_t score[NEAR_MAX], nb = 0, npreds = sink_match_npreds(m);
    for (size_t i = s->len; i-- > 0;) {            /* newest first: ties keep the newest */
        struct sink_record *r = at(s, i);
        if (!sink_match_window(m, r))
            continue;
        size_t met = sink_match_test(m, r, NULL, NULL);
        if (met == npreds)
            continue;
        size_t k = nb;
        while (k > 0 && score[k - 1] < met)
            k--;
        if (k == NEAR_MAX)
            continue;
        size_t last = nb < NEAR_MAX ? nb : NEAR_MAX - 1;
        memmove(best + k + 1, best + k, (last - k) * sizeof(struct sink_record *));
        memmove(score + k + 1, score + k, (last - k) * sizeof *score);
        best[k] = r;
        score[k] = met;
        if (nb < NEAR_MAX)
            nb++;
    }
    f->near = nb ? mem_alloc(nb * sizeof *f->near) : NULL;
    for (size_t k = 0; k < nb; k++) {
        struct sink_near *n = &f->near[f->nnear++];
        n->rec = record_ref(best[k]);
        n->met = sink_match_test(m, best[k], &n->fails, &n->nfails);
    }
}

int sink_find(struct sink *s, const struct sink_query *q, size_t want, int64_t wait_ms,
              struct sink_found *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct sink_match *m;
    int rc = sink_match_new(q, &m, e);
    if (rc != 0)
        return rc;
    out->npreds = sink_match_npreds(m);
    int64_t end = mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    int64_t cursor = q->since;                 /* the last seq looked at */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (size_t i = index_from(s, cursor + 1); i < s->len; i++) {
            struct sink_record *r = at(s, i);
            if (sink_match_window(m, r) && sink_match_test(m, r, NULL, NULL) == out->npreds)
                found_add(out, r);
        }
        if (s->next_seq > cursor)
            cursor = s->next_seq;
        int64_t left = end - mono_ms();
        if (out->n >= want || left <= 0 || !sink_st_wait_ms(s, left))
            break;
    }
    if (out->n < (want > 0 ? want : 1))
        near_misses(s, m, out);
    out->last_seq = s->next_seq;
    out->evicted = s->st.evicted;
    out->complete = s->evicted_upto <= q->since;
    pthread_mutex_unlock(&s->mu);
    sink_match_free(&m);
    return 0;
}

void sink_found_release(struct sink_found *f)
{
    for (size_t i = 0; i < f->n; i++)
        sink_record_unref(&f->recs[i]);
    mem_free(f->recs);
    for (size_t i = 0; i < f->nnear; i++) {
        sink_record_unref(&f->near[i].rec);
        sink_match_fails_free(f->near[i].fails, f->near[i].nfails);
    }
    mem_free(f->near);
    memset(f, 0, sizeof *f);
}

void sink_stats(struct sink *s, struct sink_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->stored = (int64_t)s->len;
    out->stored_bytes = (int64_t)s->bytes;
    /* held: answers a caller still waits for. An attempt the CRM gave up on
     * (its timeout) stays held here until the clock gets there, but must
     * not count: the CRM's in-flight count is compared with this one, and
     * a stale hold would vouch for an attempt that is really on its way. */
    out->held = 0;
    for (size_t i = 0; i < s->nholds; i++)
        out->held += !http_req_peer_gone(s->holds[i].req);
    out->last_seq = s->next_seq;
    out->ids_forgotten = sink_ids_forgotten(s->ids);
    pthread_mutex_unlock(&s->mu);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int sink_start(const struct sink_opts *opts, struct sink **out, struct err *e)
{
    *out = NULL;
    struct sink_opts o = {0};
    if (opts != NULL)
        o = *opts;
    if (o.max_requests == 0)
        o.max_requests = DEF_MAX_REQUESTS;
    if (o.max_bytes == 0)
        o.max_bytes = DEF_MAX_BYTES;
    if (o.max_body == 0)
        o.max_body = o.max_bytes < DEF_MAX_BODY ? o.max_bytes : DEF_MAX_BODY;
    if (o.max_ids == 0)
        o.max_ids = 4 * o.max_requests;
    if (o.tolerance_s <= 0)
        o.tolerance_s = DEF_TOLERANCE_S;
    if (o.max_body > o.max_bytes)
        return err_set(e, ERR_INVAL, "max_body (%zu) cannot exceed max_bytes (%zu): a "
                       "request must fit in the journal", o.max_body, o.max_bytes);
    const char *listen = o.listen ? o.listen : "127.0.0.1:0";
    o.listen = NULL;                      /* borrowed: not kept past start */

    struct sink *s = mem_alloc(sizeof *s);
    s->o = o;
    s->clock = opts != NULL ? opts->clock : NULL;
    if (s->clock == NULL)
        s->clock = s->own_clock = clock_real_new();
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->ids = sink_ids_new(o.max_ids);

    struct http_server_opts ho = {
        .listen = listen,
        .max_body = o.max_body,
        .thread_per_connection = true,    /* held answers block their thread only */
    };
    int rc = http_server_start_opts(&ho, on_http, s, &s->http, e);
    if (rc != 0) {
        sink_free(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int sink_port(const struct sink *s)
{
    return http_server_port(s->http);
}

void sink_free(struct sink **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    struct sink *s = *sp;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    http_server_free(&s->http);           /* held handlers see `stopping` and return */
    while (s->len > 0)
        evict_oldest(s);
    mem_free(s->ring);
    sink_ids_free(&s->ids);
    for (size_t i = 0; i < s->neps; i++)
        ep_free(s->eps[i]);
    mem_free(s->eps);
    mem_free(s->holds);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    clock_free(&s->own_clock);
    mem_free(s);
    *sp = NULL;
}
