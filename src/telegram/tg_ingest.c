/*
 * tg_ingest.c — long polling and webhook deliveries (see tg_ingest.h).
 *
 * The polling thread owns its tg_client; set/deleteWebhook run on the
 * caller's thread with a second client so they never race the poller.
 * Sleeping between failed polls waits on a condition variable, so
 * tg_ingest_stop ends a back-off at once as well as a parked long poll
 * (tg_client_abort).
 */
#include "telegram/tg_ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"
#include "telegram/tg_client.h"
#include "telegram/tg_update.h"

#define POLL_LIMIT 100
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000

struct tg_ingest {
    struct engine *en;          /* borrowed */
    struct cfg *cfg;            /* owned reference (start-up settings) */
    struct tg_client *poll;     /* owned; used only by the thread */
    pthread_t th;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;         /* guards the sleep and stats */
    pthread_cond_t cv;
    struct tg_ingest_stats st;
};

int tg_ingest_new(struct cfg *c, struct engine *en, struct tg_ingest **out,
                  struct err *e)
{
    *out = NULL;
    if (c->telegram.token == NULL || c->telegram.token[0] == '\0')
        return err_set(e, ERR_CONFIG, "telegram.token is not set");
    struct tg_ingest *in = mem_alloc(sizeof *in);
    int rc = tg_client_new(c->telegram.api_base, c->telegram.token, &in->poll, e);
    if (rc != 0) {
        mem_free(in);
        return rc;
    }
    in->en = en;
    in->cfg = cfg_ref(c);
    atomic_init(&in->stop, false);
    pthread_mutex_init(&in->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&in->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = in;
    return 0;
}

/* Wait ms of real time, or less when stopping. */
static void nap(struct tg_ingest *in, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&in->mu);
    while (!atomic_load(&in->stop))
        if (pthread_cond_timedwait(&in->cv, &in->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&in->mu);
}

static void count(struct tg_ingest *in, int64_t *field, int64_t by)
{
    pthread_mutex_lock(&in->mu);
    *field += by;
    pthread_mutex_unlock(&in->mu);
}

/* Engine codes that mean "could not commit", as opposed to a rule refusal. */
static bool store_failure(int code)
{
    return code == ERR_DB || code == ERR_BUSY || code == ERR_IO || code == ERR_NOMEM ||
           code == ERR_INTERNAL || code == ERR_TOOBIG;
}

static void log_refused(const struct engine_event *ev, const struct engine_result *res)
{
    struct log_line l;
    log_begin(&l, LOG_WARN, "telegram.update_refused");
    log_int(&l, "update_id", ev->update_id);
    log_int(&l, "type", ev->type);
    log_str(&l, "code", err_name(res->code));
    log_str(&l, "msg", res->err.msg);
    log_end(&l);
}

static void log_skipped(int64_t update_id, const char *why)
{
    struct log_line l;
    log_begin(&l, LOG_DEBUG, "telegram.update_skipped");
    log_int(&l, "update_id", update_id);
    log_str(&l, "why", why);
    log_end(&l);
}

/* Add the offset-only event to evs[0..*n) when its last does not reach
 * max_id (there is room for one more). */
static bool offset_event(struct engine_event *evs, size_t *n, int64_t max_id)
{
    if (*n > 0 && evs[*n - 1].update_id >= max_id)
        return false;
    memset(&evs[*n], 0, sizeof evs[*n]);
    evs[*n].type = ENGINE_STAFF_MESSAGE;     /* topic_id 0: offset only */
    evs[*n].update_id = max_id;
    (*n)++;
    return true;
}

/*
 * After evs[0..n) were applied (rc the batch's return): refusals by the
 * desk's rules are logged and passed over (an update the desk refuses
 * would be refused forever) and the offset is moved past max_id; a failed
 * commit returns its code so the page is fetched again.
 */
static int settle(struct tg_ingest *in, const struct engine_event *evs,
                  const struct engine_result *res, size_t n, int rc, int64_t max_id)
{
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) {
            if (res[i].code == 0)
                continue;
            if (store_failure(res[i].code)) {
                struct log_line l;
                log_begin(&l, LOG_ERROR, "telegram.ingest_commit_failed");
                log_int(&l, "update_id", evs[i].update_id);
                log_str(&l, "code", err_name(res[i].code));
                log_str(&l, "msg", res[i].err.msg);
                log_end(&l);
                return res[i].code;
            }
            log_refused(&evs[i], &res[i]);
        }
    }
    /* Refused events were rolled back, their update_id with them: move
     * the offset past the page explicitly so they are not fetched again. */
    if (engine_last_update_id(in->en) < max_id) {
        struct engine_event only = {.type = ENGINE_STAFF_MESSAGE, .update_id = max_id};
        struct engine_result r1;
        memset(&r1, 0, sizeof r1);
        rc = engine_submit_batch(in->en, &only, &r1, 1);
        if (rc != 0 && store_failure(rc))
            return rc;
    }
    return 0;
}

/* Submit evs[0..n) (room for n + 1) so that the offset reaches max_id. */
static int submit(struct tg_ingest *in, struct engine_event *evs, size_t n, int64_t max_id)
{
    offset_event(evs, &n, max_id);
    struct engine_result *res = mem_alloc(n * sizeof *res);
    int rc = engine_submit_batch(in->en, evs, res, n);
    rc = settle(in, evs, res, n, rc, max_id);
    mem_free(res);
    return rc;
}

/* Update i of a getUpdates page (a new reference): parsed from its text
 * (tg_call_items) or taken from the parsed array. */
static json_t *page_update(const struct tg_reply *r, size_t i, struct err *e)
{
    if (r->raw == NULL)
        return json_incref(json_array_get(r->result, i));
    json_t *u = NULL;
    return jx_parse(r->raw + r->items[i].off, r->items[i].len, &u, e) == 0 ? u : NULL;
}

/*
 * Convert and apply one getUpdates page, as one batch. The engine applies
 * each update while the next is parsed (engine_stream_*): parsing a page
 * costs about a quarter of applying it, and the two must not add up, as
 * the next page may only be asked for (confirming this one) once this one
 * is committed. An update that is not JSON abandons the page: nothing of
 * it stays, and it is fetched again after a back-off, as a page that could
 * not be parsed whole always was.
 */
static int apply_page(struct tg_ingest *in, const struct tg_reply *r, int64_t staff)
{
    size_t n = r->raw != NULL ? r->nitems : json_array_size(r->result);
    if (n == 0)
        return 0;
    struct arena *a = arena_new(0);
    json_t **docs = mem_alloc(n * sizeof(json_t *));  /* the events borrow from them */
    struct engine_event *evs = mem_alloc((n + 1) * sizeof *evs);
    struct engine_result *res = mem_alloc((n + 1) * sizeof *res);
    size_t ndocs = 0, k = 0, skipped = 0;
    int64_t max_id = 0;
    bool unreadable = false;
    struct engine_stream *st = NULL;
    int rc = engine_stream_begin(in->en, evs, res, n + 1, &st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct err e = {0};
        json_t *u = page_update(r, i, &e);
        if (u == NULL) {
            log_msg(LOG_WARN, "telegram.poll_failed",
                    "getUpdates: update %zu of %zu is not JSON (%s); the page is read again",
                    i + 1, n, e.msg);
            unreadable = true;
            break;
        }
        docs[ndocs++] = u;
        const char *why = NULL;
        int crc = tg_update_to_event(u, staff, a, &evs[k], &why, &e);
        if (crc < 0) {
            log_msg(LOG_WARN, "telegram.update_invalid", "%s", e.msg);
            skipped++;
            continue;
        }
        int64_t id = evs[k].update_id;
        if (id > max_id)
            max_id = id;
        if (crc == TG_UPDATE_SKIP) {
            log_skipped(id, why);
            skipped++;
            continue;
        }
        engine_stream_push(st);
        k++;
    }
    size_t events = k;                  /* the updates' own, before the offset's */
    if (rc == 0 && !unreadable && max_id > 0 && offset_event(evs, &k, max_id))
        engine_stream_push(st);
    int brc = engine_stream_end(&st, unreadable || max_id == 0);
    if (rc == 0 && unreadable) {
        count(in, &in->st.errors, 1);
        rc = ERR_INVAL;
    } else if (rc == 0) {
        if (max_id > 0)
            rc = settle(in, evs, res, k, brc, max_id);
        pthread_mutex_lock(&in->mu);
        in->st.updates += (int64_t)n;
        in->st.events += (int64_t)events;
        in->st.skipped += (int64_t)skipped;
        pthread_mutex_unlock(&in->mu);
    }
    for (size_t i = 0; i < ndocs; i++)
        json_decref(docs[i]);
    mem_free(docs);
    mem_free(res);
    mem_free(evs);
    arena_free(&a);
    return rc;
}

static char *poll_params(int64_t offset, int64_t timeout_s)
{
    json_t *p = json_object();
    if (offset > 0)
        json_object_set_new(p, "offset", json_integer(offset));
    json_object_set_new(p, "limit", json_integer(POLL_LIMIT));
    json_object_set_new(p, "timeout", json_integer(timeout_s));
    json_t *au = json_array();
    json_array_append_new(au, json_string("message"));
    json_array_append_new(au, json_string("edited_message"));
    json_array_append_new(au, json_string("callback_query"));
    json_object_set_new(p, "allowed_updates", au);
    char *s = jx_dumps(p);
    json_decref(p);
    return s;
}

static void *poll_main(void *arg)
{
    struct tg_ingest *in = arg;
    int64_t backoff = BACKOFF_MIN_MS;
    int64_t timeout_s = in->cfg->telegram.poll_timeout_ms / 1000;
    if (timeout_s < 0)
        timeout_s = 0;
    if (timeout_s > 50)
        timeout_s = 50;   /* the server's LONG_POLL_MAX_TIMEOUT */
    log_msg(LOG_INFO, "telegram.polling", "long polling with timeout %llds",
            (long long)timeout_s);
    while (!atomic_load(&in->stop)) {
        struct cfg *c = engine_cfg(in->en);
        int64_t staff = c ? c->telegram.staff_group_id : in->cfg->telegram.staff_group_id;
        cfg_unref(&c);
        int64_t last = engine_last_update_id(in->en);
        /* no update seen yet: no offset, start at the server's queue head */
        char *params = poll_params(last > 0 ? last + 1 : 0, timeout_s);
        struct tg_reply r;
        struct err e = {0};
        int rc = tg_call_items(in->poll, "getUpdates", params,
                               (long)(timeout_s * 1000 + 15000), &r, &e);
        mem_free(params);
        if (atomic_load(&in->stop) || r.aborted) {
            tg_reply_release(&r);
            break;
        }
        int64_t wait = 0;
        if (rc == 0 && (r.raw != NULL || json_is_array(r.result))) {
            count(in, &in->st.polls, 1);
            rc = apply_page(in, &r, staff);
            if (rc != 0)
                wait = backoff;   /* the engine could not commit: same page again */
            else
                backoff = BACKOFF_MIN_MS;
        } else {
            count(in, &in->st.errors, 1);
            if (rc == 0) {
                log_msg(LOG_ERROR, "telegram.poll_failed", "getUpdates result is not an array");
                wait = backoff;
            } else if (r.cls == TG_UNAUTHORIZED) {
                log_msg(LOG_ERROR, "telegram.poll_stopped",
                        "getUpdates: %s — the bot token is not accepted; polling stopped",
                        r.description);
                tg_reply_release(&r);
                break;
            } else if (r.cls == TG_CONFLICT) {
                log_msg(LOG_ERROR, "telegram.poll_conflict",
                        "getUpdates: %s — is another tgcrm polling this bot, or a webhook set?",
                        r.description);
                wait = backoff;
            } else if (r.cls == TG_RATE_LIMITED && r.retry_after > 0) {
                log_msg(LOG_WARN, "telegram.poll_failed", "%s", e.msg);
                wait = r.retry_after * 1000;
            } else {
                log_msg(LOG_WARN, "telegram.poll_failed", "%s", e.msg);
                wait = backoff;
            }
        }
        tg_reply_release(&r);
        if (wait > 0) {
            if (wait == backoff)
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            nap(in, wait);
        }
    }
    return NULL;
}

int tg_ingest_start(struct tg_ingest *in, struct err *e)
{
    if (in->started)
        return err_set(e, ERR_CONFLICT, "telegram ingest already started");
    if (pthread_create(&in->th, NULL, poll_main, in) != 0)
        return err_set(e, ERR_INTERNAL, "cannot start the telegram polling thread");
    in->started = true;
    return 0;
}

/* One synchronous call on a client of its own (not the poller's). */
static int call_once(struct tg_ingest *in, const char *method, json_t *params, struct err *e)
{
    struct tg_client *c = NULL;
    int rc = tg_client_new(in->cfg->telegram.api_base, in->cfg->telegram.token, &c, e);
    if (rc != 0) {
        json_decref(params);
        return rc;
    }
    char *p = jx_dumps(params);
    json_decref(params);
    struct tg_reply r;
    rc = tg_call(c, method, p, 30000, &r, e);
    if (rc == 0)
        log_msg(LOG_INFO, "telegram.webhook", "%s: ok", method);
    tg_reply_release(&r);
    mem_free(p);
    tg_client_free(&c);
    return rc;
}

int tg_ingest_set_webhook(struct tg_ingest *in, struct err *e)
{
    const struct cfg_telegram *t = &in->cfg->telegram;
    if (t->webhook_url == NULL || t->webhook_secret == NULL)
        return err_set(e, ERR_CONFIG, "telegram.webhook.url and secret_token are required");
    json_t *p = json_object();
    json_object_set_new(p, "url", json_string(t->webhook_url));
    json_object_set_new(p, "secret_token", json_string(t->webhook_secret));
    json_object_set_new(p, "max_connections", json_integer(1));
    json_t *au = json_array();
    json_array_append_new(au, json_string("message"));
    json_array_append_new(au, json_string("edited_message"));
    json_array_append_new(au, json_string("callback_query"));
    json_object_set_new(p, "allowed_updates", au);
    return call_once(in, "setWebhook", p, e);
}

int tg_ingest_delete_webhook(struct tg_ingest *in, struct err *e)
{
    json_t *p = json_object();
    json_object_set_new(p, "drop_pending_updates", json_false());
    return call_once(in, "deleteWebhook", p, e);
}

/* Constant-time for a given configured secret length. */
static bool secret_equal(const char *given, const char *want)
{
    size_t glen = strlen(given), wlen = strlen(want);
    volatile unsigned char diff = glen != wlen;
    for (size_t i = 0; i < wlen; i++)
        diff |= (unsigned char)(given[i < glen ? i : 0] ^ want[i]);
    return diff == 0 && wlen > 0;
}

int tg_ingest_webhook(struct tg_ingest *in, const char *secret_header, const char *body,
                      size_t len, struct err *e)
{
    struct cfg *c = engine_cfg(in->en);
    const char *want = c && c->telegram.webhook_secret ? c->telegram.webhook_secret
                                                       : in->cfg->telegram.webhook_secret;
    int64_t staff = c ? c->telegram.staff_group_id : in->cfg->telegram.staff_group_id;
    bool ok = want != NULL && secret_header != NULL && secret_equal(secret_header, want);
    cfg_unref(&c);
    if (!ok)
        return err_set(e, ERR_AUTH, "%s X-Telegram-Bot-Api-Secret-Token",
                       secret_header ? "wrong" : "missing");
    json_t *u = NULL;
    int rc = jx_parse_object(body, len, &u, e);
    if (rc != 0)
        return rc;
    struct arena *a = arena_new(0);
    struct engine_event evs[2];
    const char *why = NULL;
    rc = tg_update_to_event(u, staff, a, &evs[0], &why, e);
    if (rc >= 0) {
        bool real = rc == 0;
        if (!real)
            log_skipped(evs[0].update_id, why);
        int64_t id = evs[0].update_id;
        rc = submit(in, evs, real ? 1 : 0, id);
        pthread_mutex_lock(&in->mu);
        in->st.updates++;
        if (real)
            in->st.events++;
        else
            in->st.skipped++;
        pthread_mutex_unlock(&in->mu);
        if (rc != 0)
            err_set(e, rc, "the update could not be committed (%s)", err_id(rc));
    }
    arena_free(&a);
    json_decref(u);
    return rc;
}

void tg_ingest_get_stats(struct tg_ingest *in, struct tg_ingest_stats *out)
{
    pthread_mutex_lock(&in->mu);
    *out = in->st;
    pthread_mutex_unlock(&in->mu);
}

void tg_ingest_stop(struct tg_ingest *in)
{
    atomic_store(&in->stop, true);
    tg_client_abort(in->poll);
    pthread_mutex_lock(&in->mu);
    pthread_cond_broadcast(&in->cv);
    pthread_mutex_unlock(&in->mu);
    if (in->started) {
        pthread_join(in->th, NULL);
        in->started = false;
    }
}

void tg_ingest_free(struct tg_ingest **inp)
{
    struct tg_ingest *in = *inp;
    if (in == NULL)
        return;
    tg_ingest_stop(in);
    tg_client_free(&in->poll);
    cfg_unref(&in->cfg);
    pthread_cond_destroy(&in->cv);
    pthread_mutex_destroy(&in->mu);
    mem_free(in);
    *inp = NULL;
}
