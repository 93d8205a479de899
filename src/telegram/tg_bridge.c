/*
 * tg_bridge.c — the Telegram outbox sender (see tg_bridge.h).
 *
 * The view: the bridge keeps the oldest pending rows (at most lim.batch)
 * in memory rather than reading them again every round — a busy outbox
 * under a rate limit holds hundreds of rows that wait for minutes, and
 * reading them all each round was most of the sender's cost. It stays
 * true because of who writes: new rows only ever get higher ids, so a
 * round reads just the tail after the newest row it has; an existing row
 * only changes when the bridge reports its outcome, after which it reads
 * that one row again. A full reload every RESYNC_MS of real time (and
 * after a failed read) mends anything else.
 *
 * One round: walk the view once (id order), and for each conversation
 * consider only its first row. A considered row goes out when it is due,
 * its chat is not paused, its topic is known and the chat's and the global
 * token buckets both have a token. After a call the outcome is reported to
 * the engine and awaited, and the row read again, so the bridge never
 * sends a row twice on a stale "pending". A round that sent nothing
 * sleeps poll_ms (real time) or until kicked. A kick that brings no
 * outbox change (tg_bridge_notify) and no due time skips the walk: a
 * manual clock moving in small steps costs nothing then.
 *
 * State kept between rounds, all on the bridge thread: the view; per chat
 * a token bucket and a pause (429); per conversation nothing (rebuilt
 * each round).
 */
#include "telegram/tg_bridge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/store.h"
#include "telegram/tg_client.h"

#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS (5 * 60 * 1000)
#define MAP_SWEEP_AT 4096
#define POISON_MAX 256
#define REPORT_TRIES 50
#define RESYNC_MS 60000              /* real time between full reloads of the view */

/* A pending row in the view. */
struct vrow {
    struct tg_outbox_row r;      /* method and params point into text */
    char *text;                  /* owned: method NUL params NUL */
    bool topic;                  /* params hold the "$topic" placeholder */
    bool gone;                   /* no longer pending: dropped by view_compact */
};

/* The oldest pending rows: every pending row with id <= max_id is in v. */
struct view {
    struct vrow *v;              /* owned, ascending id */
    size_t n, cap;
    int64_t max_id;
    bool stale;                  /* reload before the next round */
    int64_t loaded_at;           /* real time (mono ms) of the last full load */
};

/* A slot of the open-addressing maps; key (a, b), a != 0 when used. */
struct slot {
    int64_t a, b;
    /* per chat */
    double tokens;
    int64_t refilled_at;
    int64_t paused_until;
    /* per conversation, valid in round `round` only */
    uint64_t round;
    int64_t wait_topic_ticket;   /* head waits for this ticket's topic */
};

struct map {
    struct slot *s;              /* owned */
    size_t cap, used;
};

struct bucket {
    double tokens;
    int64_t refilled_at;
};

struct tg_bridge {
    struct engine *en;           /* borrowed */
    struct clock *clk;           /* borrowed: the engine's */
    struct store *ro;            /* owned, read-only */
    struct tg_client *cli;       /* owned; used only by the thread */
    struct tg_bridge_limits lim;

    pthread_t th;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;          /* guards kicked, stats, rest */
    pthread_cond_t cv;
    bool kicked;
    struct tg_bridge_stats st;
    /* the newest round that made no call, for tg_bridge_idle: it saw the
     * outbox at change count `rest_version` and clock `rest_now` */
    bool resting;
    int64_t rest_version, rest_now;
    int64_t rest_next;           /* when a row the round passed over may go, INT64_MAX none */
    atomic_llong version;        /* the outbox's change count (tg_bridge_notify) */

    /* thread-only state */
    struct view view;
    int64_t seen_version;        /* the change count the view was last read at */
    struct map chats;            /* key (chat_id, 0) */
    struct map convs;            /* key (chat_id, ticket or 0) */
    uint64_t round;
    int64_t round_next;          /* the newest walk: the earliest time a row it held back may go */
    struct bucket global;
    int64_t paused_all_until;
    int64_t last429_chat, last429_until;
    int64_t poison[POISON_MAX];  /* rows sent but not reportable: never again */
    size_t npoison;
};

/* ---- small map ------------------------------------------------------------ */

static size_t hash2(int64_t a, int64_t b)
{
    uint64_t x = (uint64_t)a * 0x9E3779B97F4A7C15ull ^ (uint64_t)b;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return (size_t)x;
}

static void map_init(struct map *m, size_t cap)
{
    m->s = mem_alloc(cap * sizeof *m->s);
    m->cap = cap;
    m->used = 0;
}

static struct slot *map_find(struct map *m, int64_t a, int64_t b, bool *fresh);

static void map_grow(struct map *m)
{
    struct map n;
    map_init(&n, m->cap * 2);
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].a != 0) {
            bool fresh;
            struct slot *d = map_find(&n, m->s[i].a, m->s[i].b, &fresh);
            *d = m->s[i];
        }
    mem_free(m->s);
    *m = n;
}

/* The slot for (a, b), inserted zeroed (and *fresh true) when missing. */
static struct slot *map_find(struct map *m, int64_t a, int64_t b, bool *fresh)
{
    if ((m->used + 1) * 10 > m->cap * 7)
        map_grow(m);
    size_t i = hash2(a, b) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        struct slot *s = &m->s[i];
        if (s->a == a && s->b == b && a != 0) {
            *fresh = false;
            return s;
        }
        if (s->a == 0) {
            memset(s, 0, sizeof *s);
            s->a = a;
            s->b = b;
            m->used++;
            *fresh = true;
            return s;
        }
    }
}

static void map_clear(struct map *m)
{
    memset(m->s, 0, m->cap * sizeof *m->s);
    m->used = 0;
}

/* ---- rate limits ------------------------------------------------------------ */

static bool is_group(int64_t chat) { return chat < 0; }

static void refill(double *tokens, int64_t *at, int64_t now, int64_t burst, int64_t per_min)
{
    if (now > *at) {
        *tokens += (double)(now - *at) * (double)per_min / 60000.0;
        if (*tokens > (double)burst)
            *tokens = (double)burst;
        *at = now;
    }
}

static struct slot *chat_state(struct tg_bridge *b, int64_t chat, int64_t now)
{
    bool fresh;
    struct slot *s = map_find(&b->chats, chat, 0, &fresh);
    int64_t burst = is_group(chat) ? b->lim.group_burst : b->lim.private_burst;
    if (fresh) {
        s->tokens = (double)burst;
        s->refilled_at = now;
    }
    refill(&s->tokens, &s->refilled_at, now, burst,
           is_group(chat) ? b->lim.group_per_min : b->lim.private_per_min);
    return s;
}

/* Forget chats that are idle (full bucket, no pause) when the map is big. */
static void sweep_chats(struct tg_bridge *b, int64_t now)
{
    if (b->chats.used < MAP_SWEEP_AT)
        return;
    struct map keep;
    map_init(&keep, b->chats.cap);
    for (size_t i = 0; i < b->chats.cap; i++) {
        struct slot *s = &b->chats.s[i];
        if (s->a == 0)
            continue;
        int64_t burst = is_group(s->a) ? b->lim.group_burst : b->lim.private_burst;
        if (s->paused_until > now || s->tokens < (double)burst) {
            bool fresh;
            *map_find(&keep, s->a, s->b, &fresh) = *s;
        }
    }
    mem_free(b->chats.s);
    b->chats = keep;
}

/* ---- the view ------------------------------------------------------------------- */

static int64_t mono_ms(void) { return clock_mono_ns() / 1000000; }

/* Copy r into v (r's strings are the caller's arena's). */
static void vrow_set(struct vrow *v, const struct tg_outbox_row *r)
{
    size_t ml = r->method ? strlen(r->method) : 0, pl = r->params ? strlen(r->params) : 0;
    mem_free(v->text);
    memset(v, 0, sizeof *v);
    v->r = *r;
    v->r.method = v->r.params = v->r.state = v->r.last_error = NULL;   /* not ours */
    v->text = mem_alloc(ml + pl + 2);
    if (r->method != NULL) {
        memcpy(v->text, r->method, ml + 1);
        v->r.method = v->text;
    }
    if (r->params != NULL) {
        memcpy(v->text + ml + 1, r->params, pl + 1);
        v->r.params = v->text + ml + 1;
        v->topic = strstr(r->params, "\"$topic\"") != NULL;
    }
}

static void view_clear(struct view *w)
{
    for (size_t i = 0; i < w->n; i++)
        mem_free(w->v[i].text);
    w->n = 0;
    w->max_id = 0;
}

/* Drop the rows that left the pending state. */
static void view_compact(struct view *w)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->v[i].gone) {
            mem_free(w->v[i].text);
            continue;
        }
        w->v[k++] = w->v[i];
    }
    w->n = k;
}

/*
 * Bring the view up to date: a full reload when stale or RESYNC_MS has
 * passed, else the rows added after max_id while there is room. 0, or the
 * store's code (the view is then marked stale).
 */
static int view_refresh(struct tg_bridge *b, int64_t now, struct arena *a)
{
    struct view *w = &b->view;
    if (w->stale || mono_ms() - w->loaded_at >= RESYNC_MS) {
        view_clear(w);
        w->stale = false;
        w->loaded_at = mono_ms();
    }
    view_compact(w);
    size_t limit = (size_t)b->lim.batch;
    if (w->n >= limit)
        return 0;
    struct tg_outbox_row *rows = NULL;
    size_t n = 0;
    struct err e = {0};
    int rc = store_tg_outbox_pending(b->ro, now, w->max_id, (int)(limit - w->n), a, &rows, &n,
                                     &e);
    if (rc != 0) {
        log_msg(LOG_WARN, "telegram.bridge_read_failed", "%s", e.msg);
        w->stale = true;
        return rc;
    }
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->n + n)
            cap *= 2;
        w->v = mem_realloc(w->v, cap * sizeof *w->v);
        w->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        struct vrow *v = &w->v[w->n++];
        v->text = NULL;
        vrow_set(v, &rows[i]);
        w->max_id = rows[i].id;
    }
    return 0;
}

/* After its outcome was reported: read the row again (gone unless pending). */
static void view_reread(struct tg_bridge *b, struct vrow *v)
{
    struct arena *a = arena_new(0);
    struct tg_outbox_row *r = NULL;
    struct err e = {0};
    int rc = store_tg_outbox_get(b->ro, v->r.id, a, &r, &e);
    if (rc == 0 && strcmp(r->state, "pending") == 0)
        vrow_set(v, r);
    else if (rc == 0 || rc == ERR_NOTFOUND)
        v->gone = true;
    else
        b->view.stale = true;    /* cannot tell: reload before the next round */
    arena_free(&a);
}

/* ---- the placeholder ---------------------------------------------------------- */

enum resolve { RESOLVED, WAIT_TOPIC, BAD_ROW };

/*
 * The params to send: the row's own, or a heap copy with "$topic"
 * replaced (*owned set). WAIT_TOPIC when the ticket has no topic yet;
 * BAD_ROW (with why) when the row can never be sent.
 */
static enum resolve resolve(struct tg_bridge *b, const struct vrow *v,
                            struct arena *a, const char **params, char **owned,
                            char *why, size_t whylen)
{
    const struct tg_outbox_row *r = &v->r;
    *params = r->params;
    *owned = NULL;
    if (!v->topic)
        return RESOLVED;
    json_t *p = NULL;
    struct err e = {0};
    if (jx_parse_object(r->params, strlen(r->params), &p, &e) != 0) {
        snprintf(why, whylen, "params are not a JSON object: %.200s", e.msg);
        return BAD_ROW;
    }
    json_t *tid = json_object_get(p, "message_thread_id");
    if (!json_is_string(tid) || strcmp(json_string_value(tid), "$topic") != 0) {
        json_decref(p);
        return RESOLVED;   /* "$topic" was inside some text */
    }
    struct ticket *t = NULL;
    int rc = r->ticket_id > 0 ? store_ticket_get(b->ro, r->ticket_id, a, &t, &e) : ERR_NOTFOUND;
    if (rc != 0) {
        json_decref(p);
        if (rc == ERR_NOTFOUND) {
            snprintf(why, whylen, "row %lld needs the topic of ticket %lld, which does not exist",
                     (long long)r->id, (long long)r->ticket_id);
            return BAD_ROW;
        }
        log_msg(LOG_WARN, "telegram.bridge_read_failed", "%s", e.msg);
        b->view.stale = true;   /* try again next round */
        return WAIT_TOPIC;
    }
    if (t->topic_id == 0) {
        json_decref(p);
        return WAIT_TOPIC;
    }
    json_object_set_new(p, "message_thread_id", json_integer(t->topic_id));
    *owned = jx_dumps(p);
    json_decref(p);
    *params = *owned;
    return RESOLVED;
}

/* ---- outcomes ------------------------------------------------------------------- */

static bool poisoned(const struct tg_bridge *b, int64_t id)
{
    for (size_t i = 0; i < b->npoison; i++)
        if (b->poison[i] == id)
            return true;
    return false;
}

static void bump(struct tg_bridge *b, int64_t *field)
{
    pthread_mutex_lock(&b->mu);
    (*field)++;
    pthread_mutex_unlock(&b->mu);
}

/* Wait ms of real time, or less when stopping or kicked; true when the
 * whole time passed (no kick). */
static bool nap(struct tg_bridge *b, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->kicked && !atomic_load(&b->stop))
        if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) != 0)
            break;
    bool timed_out = !b->kicked;
    b->kicked = false;
    pthread_mutex_unlock(&b->mu);
    return timed_out;
}

static bool retryable(int code)
{
    return code == ERR_DB || code == ERR_BUSY || code == ERR_IO || code == ERR_INTERNAL;
}

/* Hand one outcome to the engine, retrying a failed commit for a while. */
static void report(struct tg_bridge *b, const struct engine_event *ev)
{
    struct engine_result res;
    int rc = 0;
    for (int i = 0; i < REPORT_TRIES; i++) {
        memset(&res, 0, sizeof res);
        rc = engine_submit(b->en, ev, &res);
        if (rc == 0 || !retryable(rc) || atomic_load(&b->stop))
            break;
        nap(b, 100);
    }
    if (rc == 0)
        return;
    bump(b, &b->st.report_failures);
    struct log_line l;
    log_begin(&l, LOG_ERROR, "telegram.outbox_report_failed");
    log_int(&l, "outbox_id", ev->outbox_id);
    log_int(&l, "outcome", ev->outcome);
    log_str(&l, "code", err_name(rc));
    log_str(&l, "msg", res.err.msg);
    log_end(&l);
    /* A call that went out must not go out again from this process while
     * its row still reads "pending"; a final outcome the engine would not
     * take is not retried every round either. */
    if (ev->outcome != OUTBOX_RETRY && b->npoison < POISON_MAX)
        b->poison[b->npoison++] = ev->outbox_id;
}

static int64_t backoff_ms(int attempts)
{
    int64_t d = RETRY_BASE_MS;
    for (int i = 0; i < attempts && d < RETRY_MAX_MS; i++)
        d *= 2;
    return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

/* A 429 on chat: pause it, and everything when a second chat is hit. */
static void rate_limited(struct tg_bridge *b, struct slot *cs, int64_t chat, int64_t until,
                         int64_t now)
{
    cs->paused_until = until;
    cs->tokens = 0;
    if (b->last429_until > now && b->last429_chat != chat) {
        int64_t all = until > b->last429_until ? until : b->last429_until;
        if (all > b->paused_all_until)
            b->paused_all_until = all;
        b->global.tokens = 0;
        log_msg(LOG_WARN, "telegram.flood_wait", "429 on two chats: all sends paused for %lld ms",
                (long long)(all - now));
    }
    b->last429_chat = chat;
    b->last429_until = until;
}

/* Make the call for row r and report its outcome. */
static void send_row(struct tg_bridge *b, const struct tg_outbox_row *r, const char *params,
                     struct slot *cs, int64_t now)
{
    struct tg_reply rep;
    struct err e = {0};
    bump(b, &b->st.calls);
    tg_call(b->cli, r->method, params, (long)b->lim.call_timeout_ms, &rep, &e);
    if (rep.aborted) {          /* stopping: the row stays pending */
        tg_reply_release(&rep);
        return;
    }
    struct engine_event ev = {.type = ENGINE_OUTBOX_RESULT, .outbox_id = r->id};
    ev.error = rep.description[0] ? rep.description : NULL;
    int64_t *stat = &b->st.failed;
    switch (rep.cls) {
    case TG_OK:
        ev.outcome = OUTBOX_SENT;
        ev.error = NULL;
        stat = &b->st.sent;
        if (json_is_object(rep.result)) {
            json_t *mid = json_object_get(rep.result, "message_id");
            json_t *tid = json_object_get(rep.result, "message_thread_id");
            if (json_is_integer(mid))
                ev.tg_result_message_id = json_integer_value(mid);
            if (strcmp(r->method, "createForumTopic") == 0 && json_is_integer(tid))
                ev.topic_id = json_integer_value(tid);
        }
        break;
    case TG_RATE_LIMITED: {
        int64_t wait = (rep.retry_after > 0 ? rep.retry_after : 1) * 1000;
        ev.outcome = OUTBOX_RETRY;
        ev.retry_at = now + wait;
        rate_limited(b, cs, r->chat_id, ev.retry_at, now);
        bump(b, &b->st.rate_limited);
        stat = &b->st.retried;
        break;
    }
    case TG_TRANSIENT:
    case TG_UNAUTHORIZED:   /* a token fixed by a reload must not have lost rows */
        ev.outcome = OUTBOX_RETRY;
        ev.retry_at = now + backoff_ms(r->attempts);
        stat = &b->st.retried;
        if (rep.cls == TG_UNAUTHORIZED)
            log_msg(LOG_ERROR, "telegram.unauthorized", "%s: %s — check telegram.token",
                    r->method, rep.description);
        break;
    case TG_BLOCKED:
        ev.outcome = OUTBOX_BLOCKED;
        stat = &b->st.blocked;
        break;
    case TG_THREAD_LOST:
        ev.outcome = OUTBOX_THREAD_LOST;
        stat = &b->st.thread_lost;
        break;
    case TG_CONFLICT:
    case TG_PERMANENT:
        ev.outcome = OUTBOX_FAILED;
        break;
    }
    bump(b, stat);
    struct log_line l;
    log_begin(&l, ev.outcome == OUTBOX_SENT ? LOG_DEBUG : LOG_WARN, "telegram.outbox_call");
    log_int(&l, "outbox_id", r->id);
    log_str(&l, "method", r->method);
    log_int(&l, "chat_id", r->chat_id);
    log_str(&l, "class", tg_class_name(rep.cls));
    if (ev.error)
        log_str(&l, "error", ev.error);
    log_end(&l);
    report(b, &ev);
    tg_reply_release(&rep);
}

/* ---- one round ------------------------------------------------------------------ */

/* A row held back may go at `at`: keep the earliest such time of the round. */
static void later(struct tg_bridge *b, int64_t at)
{
    if (at < b->round_next)
        b->round_next = at;
}

/* ms until a bucket holding `tokens` (< 1) refilling per_min a minute has one. */
static int64_t token_wait(double tokens, int64_t per_min)
{
    double ms = (1.0 - tokens) * 60000.0 / (double)(per_min > 0 ? per_min : 1);
    return (int64_t)ms + 1;
}

/* Report a row that can never be sent as failed, and read it again. */
static void fail_row(struct tg_bridge *b, struct vrow *v, const char *why)
{
    struct engine_event ev = {.type = ENGINE_OUTBOX_RESULT, .outbox_id = v->r.id,
                              .outcome = OUTBOX_FAILED, .error = why};
    bump(b, &b->st.failed);
    report(b, &ev);
    view_reread(b, v);
}

/* Walk the view once; returns how many calls were made. */
static int round_once(struct tg_bridge *b, int64_t now, struct arena *a)
{
    b->round_next = INT64_MAX;
    b->round++;
    if (b->convs.used > MAP_SWEEP_AT)
        map_clear(&b->convs);
    sweep_chats(b, now);
    refill(&b->global.tokens, &b->global.refilled_at, now, b->lim.global_burst,
           b->lim.global_per_min);
    int calls = 0;
    for (size_t i = 0; i < b->view.n && !atomic_load(&b->stop); i++) {
        struct vrow *v = &b->view.v[i];
        const struct tg_outbox_row *r = &v->r;
        if (v->gone)
            continue;
        if (r->chat_id == 0 || r->method == NULL || r->params == NULL) {
            if (!poisoned(b, r->id))
                fail_row(b, v, "outbox row without chat_id, method or params");
            continue;
        }
        int64_t conv_ticket = is_group(r->chat_id) ? r->ticket_id : 0;
        bool fresh;
        struct slot *cv = map_find(&b->convs, r->chat_id, conv_ticket, &fresh);
        if (cv->round != b->round) {            /* the conversation's head */
            cv->round = b->round;
            cv->wait_topic_ticket = 0;
        } else if (cv->wait_topic_ticket != 0 && r->ticket_id == cv->wait_topic_ticket &&
                   strcmp(r->method, "createForumTopic") == 0) {
            cv->wait_topic_ticket = 0;          /* the topic the head waits for */
        } else {
            continue;                           /* behind an earlier row */
        }
        if (poisoned(b, r->id))
            continue;
        if (r->next_attempt_at > now) {
            later(b, r->next_attempt_at);
            continue;
        }
        if (b->paused_all_until > now) {
            later(b, b->paused_all_until);
            break;
        }
        struct slot *cs = chat_state(b, r->chat_id, now);
        if (cs->paused_until > now) {
            later(b, cs->paused_until);
            continue;
        }
        /* tokens before the topic: a row its chat has no token for would
         * read its ticket for nothing, and so would the createForumTopic
         * behind it (the same chat) */
        if (b->global.tokens < 1.0) {
            later(b, now + token_wait(b->global.tokens, b->lim.global_per_min));
            break;                              /* nothing else may go either */
        }
        if (cs->tokens < 1.0) {
            later(b, now + token_wait(cs->tokens, is_group(r->chat_id) ? b->lim.group_per_min
                                                                       : b->lim.private_per_min));
            continue;
        }
        const char *params;
        char *owned;
        char why[256];
        arena_reset(a);
        enum resolve res = resolve(b, v, a, &params, &owned, why, sizeof why);
        if (res == WAIT_TOPIC) {
            cv->wait_topic_ticket = r->ticket_id;
            continue;
        }
        if (res == BAD_ROW) {
            fail_row(b, v, why);
            continue;
        }
        b->global.tokens -= 1.0;
        cs->tokens -= 1.0;
        send_row(b, r, params, cs, now);
        mem_free(owned);
        view_reread(b, v);
        calls++;
    }
    return calls;
}

/*
 * Does this wake need a walk? Not when the outbox has not changed since
 * the last walk, the view is sound and nothing it held back is due yet:
 * the walk would find what the last one found. A wake by the poll timer
 * always walks (rows written by another process or connection; topics).
 */
static bool walk_needed(struct tg_bridge *b, int64_t version, int64_t now, bool polled)
{
    return polled || b->view.stale || version != b->seen_version || now >= b->round_next;
}

static void *bridge_main(void *arg)
{
    struct tg_bridge *b = arg;
    struct arena *a = arena_new(0);
    bool polled = true;
    while (!atomic_load(&b->stop)) {
        /* read before the round: a commit or a clock move during it makes
         * the rest stale, so tg_bridge_idle never reports a round that
         * might have missed a row */
        int64_t version = atomic_load(&b->version);
        int64_t now = clock_now_ms(b->clk);
        pthread_mutex_lock(&b->mu);
        b->resting = false;
        pthread_mutex_unlock(&b->mu);
        int calls = 0;
        if (walk_needed(b, version, now, polled)) {
            arena_reset(a);
            if (view_refresh(b, now, a) == 0) {
                b->seen_version = version;
                calls = round_once(b, now, a);
            }
        }
        if (calls == 0) {
            pthread_mutex_lock(&b->mu);
            b->resting = !b->view.stale;
            b->rest_version = version;
            b->rest_now = now;
            b->rest_next = b->round_next;
            pthread_mutex_unlock(&b->mu);
            polled = nap(b, b->lim.poll_ms);
        }
    }
    arena_free(&a);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static int64_t or_default(int64_t v, int64_t def) { return v > 0 ? v : def; }

int tg_bridge_new(struct cfg *c, struct engine *en, const struct tg_bridge_limits *lim,
                  struct tg_bridge **out, struct err *e)
{
    *out = NULL;
    if (c->telegram.token == NULL || c->telegram.token[0] == '\0')
        return err_set(e, ERR_CONFIG, "telegram.token is not set");
    struct tg_bridge *b = mem_alloc(sizeof *b);
    int rc = tg_client_new(c->telegram.api_base, c->telegram.token, &b->cli, e);
    if (rc != 0)
        goto out_free;
    rc = store_open(&c->store, STORE_RO, &b->ro, e);
    if (rc != 0)
        goto out_client;
    struct tg_bridge_limits z = {0};
    const struct tg_bridge_limits *l = lim ? lim : &z;
    b->lim.private_burst = or_default(l->private_burst, 3);
    b->lim.private_per_min = or_default(l->private_per_min, 60);
    b->lim.group_burst = or_default(l->group_burst, 20);
    b->lim.group_per_min = or_default(l->group_per_min, 20);
    b->lim.global_burst = or_default(l->global_burst, 30);
    b->lim.global_per_min = or_default(l->global_per_min, 1800);
    b->lim.poll_ms = or_default(l->poll_ms, 50);
    b->lim.call_timeout_ms = or_default(l->call_timeout_ms, 30000);
    b->lim.batch = l->batch > 0 ? l->batch : 500;
    b->en = en;
    b->clk = engine_clock(en);
    atomic_init(&b->stop, false);
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&b->version, 0);
    b->round_next = INT64_MAX;
    map_init(&b->chats, 64);
    map_init(&b->convs, 64);
    b->global.tokens = (double)b->lim.global_burst;
    b->global.refilled_at = clock_now_ms(b->clk);
    *out = b;
    return 0;

out_client:
    tg_client_free(&b->cli);
out_free:
    mem_free(b);
    return rc;
}

int tg_bridge_start(struct tg_bridge *b, struct err *e)
{
    if (b->started)
        return err_set(e, ERR_CONFLICT, "telegram bridge already started");
    if (pthread_create(&b->th, NULL, bridge_main, b) != 0)
        return err_set(e, ERR_INTERNAL, "cannot start the telegram bridge thread");
    b->started = true;
    return 0;
}

void tg_bridge_kick(struct tg_bridge *b)
{
    pthread_mutex_lock(&b->mu);
    b->kicked = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void tg_bridge_notify(struct tg_bridge *b, int64_t outbox_writes)
{
    if (atomic_exchange(&b->version, outbox_writes) != outbox_writes)
        tg_bridge_kick(b);
}

bool tg_bridge_idle(struct tg_bridge *b, int64_t now, int64_t *next)
{
    pthread_mutex_lock(&b->mu);
    /* the clock may have moved since the rest, but not as far as anything
     * that rest held back: the walk would find what it found */
    bool idle = b->resting && b->rest_version == atomic_load(&b->version) &&
                now >= b->rest_now && (now == b->rest_now || now < b->rest_next);
    *next = b->rest_next;
    pthread_mutex_unlock(&b->mu);
    return idle;
}

void tg_bridge_get_stats(struct tg_bridge *b, struct tg_bridge_stats *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->st;
    pthread_mutex_unlock(&b->mu);
}

void tg_bridge_stop(struct tg_bridge *b)
{
    atomic_store(&b->stop, true);
    tg_client_abort(b->cli);
    tg_bridge_kick(b);
    if (b->started) {
        pthread_join(b->th, NULL);
        b->started = false;
    }
}

void tg_bridge_free(struct tg_bridge **bp)
{
    struct tg_bridge *b = *bp;
    if (b == NULL)
        return;
    tg_bridge_stop(b);
    tg_client_free(&b->cli);
    store_close(&b->ro);
    view_clear(&b->view);
    mem_free(b->view.v);
    mem_free(b->chats.s);
    mem_free(b->convs.s);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    mem_free(b);
    *bp = NULL;
}
