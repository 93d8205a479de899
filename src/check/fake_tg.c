/*
 * fake_tg.c — the fake Telegram's state, lifecycle and human-side actions.
 *
 * Owns everything behind one mutex: bots with their update queues and
 * webhook settings, users, chats (private chats are per bot, as on
 * Telegram: the chat with user U has id U for every bot but separate message
 * ids), messages, forum topics, pending callback queries, faults and the
 * sent log. The Bot API (fake_tg_bot.c) and the control API
 * (fake_tg_control.c) are thin layers over the fake_tg_st_* operations
 * here; the functions of fake_tg.h that play the humans (a user writes,
 * presses a button, blocks the bot, deletes a topic) live here too.
 *
 * Nothing here does I/O under the mutex: HTTP answers are built from
 * snapshots, the webhook thread copies what it posts.
 */
#include "check/fake_tg_impl.h"

#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEF_MAX_UPDATES 100000u
#define DEF_MAX_MSGS 100000u
#define DEF_MAX_SENT 100000u
#define DEF_CB_TTL_MS 15000
#define DEF_WH_BACKOFF_MS 60000
/* Telegram keeps updates (and callback queries) this long. */
#define UPDATE_TTL_MS (86400LL * 1000)
#define FIRST_UPDATE_ID 500000001LL
#define MAX_BOT_ID (1LL << 54)

/* ---- small helpers -------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool fake_tg_wait_until(struct fake_tg *f, int64_t deadline_ns)
{
    if (f->stopping)
        return false;
    struct timespec ts = {.tv_sec = deadline_ns / 1000000000LL,
                          .tv_nsec = deadline_ns % 1000000000LL};
    pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    return !f->stopping;
}

int64_t fake_tg_st_now_s(struct fake_tg *f)
{
    return clock_now_ms(f->clock) / 1000;
}

static void user_release(struct ftg_user *u)
{
    mem_freep(&u->first_name);
    mem_freep(&u->last_name);
    mem_freep(&u->username);
    mem_freep(&u->language_code);
}

static void user_set(struct ftg_user *u, const struct fake_tg_user *in, bool is_bot)
{
    user_release(u);
    u->id = in->id;
    u->first_name = mem_strdup(in->first_name ? in->first_name : "");
    u->last_name = in->last_name && *in->last_name ? mem_strdup(in->last_name) : NULL;
    u->username = in->username && *in->username ? mem_strdup(in->username) : NULL;
    u->language_code =
        in->language_code && *in->language_code ? mem_strdup(in->language_code) : NULL;
    u->is_premium = in->is_premium;
    u->is_bot = is_bot;
}

/* ---- lookups ---------------------------------------------------------------- */

struct ftg_bot *fake_tg_st_bot(struct fake_tg *f, int64_t id)
{
    if (f->nbots == 0)
        return NULL;
    if (id == 0)
        return f->bots[0];
    for (size_t i = 0; i < f->nbots; i++)
        if (f->bots[i]->u.id == id)
            return f->bots[i];
    return NULL;
}

struct ftg_bot *fake_tg_st_bot_by_token(struct fake_tg *f, const char *token)
{
    for (size_t i = 0; i < f->nbots; i++)
        if (strcmp(f->bots[i]->token, token) == 0)
            return f->bots[i];
    return NULL;
}

struct ftg_user *fake_tg_st_user(struct fake_tg *f, int64_t id)
{
    for (size_t i = 0; i < f->nusers; i++)
        if (f->users[i].id == id)
            return &f->users[i];
    struct ftg_bot *b = id != 0 ? fake_tg_st_bot(f, id) : NULL;
    return b ? &b->u : NULL;
}

struct ftg_chat *fake_tg_st_chat(struct fake_tg *f, int64_t id, int64_t bot_id)
{
    for (size_t i = 0; i < f->nchats; i++) {
        struct ftg_chat *c = f->chats[i];
        if (c->id == id && (c->type != FTG_PRIVATE || c->bot_id == bot_id))
            return c;
    }
    return NULL;
}

struct ftg_chat *fake_tg_st_private(struct fake_tg *f, int64_t user_id, struct ftg_bot *b,
                                    bool create)
{
    struct ftg_chat *c = fake_tg_st_chat(f, user_id, b->u.id);
    if (c != NULL || !create)
        return c;
    c = mem_alloc(sizeof *c);
    c->id = user_id;
    c->bot_id = b->u.id;
    c->type = FTG_PRIVATE;
    c->next_msg_id = 1;
    f->chats = mem_realloc(f->chats, (f->nchats + 1) * sizeof(struct ftg_chat *));
    f->chats[f->nchats++] = c;
    return c;
}

struct ftg_msg *fake_tg_st_msg(struct ftg_chat *c, int64_t id)
{
    if (c->mlen == 0 || id < c->msgs[c->mhead].id)
        return NULL;
    int64_t k = id - c->msgs[c->mhead].id;
    if (k >= (int64_t)c->mlen)
        return NULL;
    struct ftg_msg *m = &c->msgs[c->mhead + (size_t)k];
    return m->deleted ? NULL : m;
}

struct ftg_topic *fake_tg_st_topic(struct ftg_chat *c, int64_t id)
{
    for (size_t i = 0; i < c->ntopics; i++)
        if (c->topics[i].id == id)
            return &c->topics[i];
    return NULL;
}

struct ftg_member *fake_tg_st_member(struct ftg_chat *c, int64_t user_id)
{
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].user_id == user_id)
            return &c->members[i];
    return NULL;
}

/* ---- messages ----------------------------------------------------------------- */

void fake_tg_st_free_msg(struct ftg_msg *m)
{
    mem_freep(&m->text);
    json_decref(m->entities);
    json_decref(m->reply_markup);
    json_decref(m->service);
    json_decref(m->forward_origin);
    memset(m, 0, sizeof *m);
}

struct ftg_msg *fake_tg_st_add_msg(struct fake_tg *f, struct ftg_chat *c, struct ftg_msg *m)
{
    if (c->mlen >= f->o.max_chat_messages) {          /* forget the oldest */
        fake_tg_st_free_msg(&c->msgs[c->mhead]);
        c->mhead++;
        c->mlen--;
    }
    if (c->mhead > 0 && c->mhead + c->mlen == c->mcap) {
        memmove(c->msgs, c->msgs + c->mhead, c->mlen * sizeof *c->msgs);
        c->mhead = 0;
    }
    if (c->mhead + c->mlen == c->mcap) {
        c->mcap = c->mcap ? c->mcap * 2 : 16;
        c->msgs = mem_realloc(c->msgs, c->mcap * sizeof *c->msgs);
    }
    struct ftg_msg *slot = &c->msgs[c->mhead + c->mlen];
    *slot = *m;
    slot->id = c->next_msg_id++;
    if (slot->date == 0)
        slot->date = fake_tg_st_now_s(f);
    c->mlen++;
    memset(m, 0, sizeof *m);
    return slot;
}

json_t *fake_tg_st_user_json(const struct ftg_user *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(u->id));
    json_object_set_new(o, "is_bot", json_boolean(u->is_bot));
    json_object_set_new(o, "first_name", json_string(u->first_name ? u->first_name : ""));
    if (u->last_name)
        json_object_set_new(o, "last_name", json_string(u->last_name));
    if (u->username)
        json_object_set_new(o, "username", json_string(u->username));
    if (u->language_code)
        json_object_set_new(o, "language_code", json_string(u->language_code));
    if (u->is_premium)
        json_object_set_new(o, "is_premium", json_true());
    return o;
}

json_t *fake_tg_st_chat_json(struct fake_tg *f, const struct ftg_chat *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(c->id));
    if (c->type == FTG_PRIVATE) {
        const struct ftg_user *u = fake_tg_st_user(f, c->id);
        json_object_set_new(o, "first_name",
                            json_string(u && u->first_name ? u->first_name : ""));
        if (u && u->last_name)
            json_object_set_new(o, "last_name", json_string(u->last_name));
        if (u && u->username)
            json_object_set_new(o, "username", json_string(u->username));
        json_object_set_new(o, "type", json_string("private"));
        return o;
    }
    json_object_set_new(o, "title", json_string(c->title ? c->title : ""));
    if (c->username)
        json_object_set_new(o, "username", json_string(c->username));
    if (c->type == FTG_GROUP) {
        json_object_set_new(o, "type", json_string("group"));
        json_object_set_new(o, "all_members_are_administrators", json_false());
        return o;
    }
    if (c->is_forum)
        json_object_set_new(o, "is_forum", json_true());
    json_object_set_new(o, "type", json_string("supergroup"));
    return o;
}

json_t *fake_tg_st_msg_json(struct fake_tg *f, struct ftg_chat *c, const struct ftg_msg *m,
                            bool need_reply)
{
    json_t *o = json_object();
    json_object_set_new(o, "message_id", json_integer(m->id));
    const struct ftg_user *from = fake_tg_st_user(f, m->from);
    if (from != NULL)
        json_object_set_new(o, "from", fake_tg_st_user_json(from));
    json_object_set_new(o, "chat", fake_tg_st_chat_json(f, c));
    json_object_set_new(o, "date", json_integer(m->date));
    if (m->edit_date)
        json_object_set_new(o, "edit_date", json_integer(m->edit_date));
    bool in_topic = c->is_forum && m->thread_id > 1;
    if (in_topic)
        json_object_set_new(o, "message_thread_id", json_integer(m->thread_id));
    if (m->forward_origin) {
        json_object_set(o, "forward_origin", m->forward_origin);
        const struct ftg_user *ff = fake_tg_st_user(f, m->fwd_from);
        if (ff != NULL)
            json_object_set_new(o, "forward_from", fake_tg_st_user_json(ff));
        json_object_set_new(o, "forward_date", json_integer(m->fwd_date));
    }
    if (need_reply) {
        int64_t rid = m->reply_to;
        if (rid == 0 && in_topic && m->id != m->thread_id)
            rid = m->thread_id;                   /* implicit reply to the topic start */
        const struct ftg_msg *r = rid ? fake_tg_st_msg(c, rid) : NULL;
        if (r != NULL)
            json_object_set_new(o, "reply_to_message", fake_tg_st_msg_json(f, c, r, false));
    }
    if (m->text) {
        json_object_set_new(o, "text", json_string(m->text));
        if (m->entities)
            json_object_set(o, "entities", m->entities);
    }
    if (m->service)
        json_object_update(o, m->service);
    if (m->reply_markup)
        json_object_set(o, "reply_markup", m->reply_markup);
    if (in_topic)
        json_object_set_new(o, "is_topic_message", json_true());
    return o;
}

/* ---- update queues -------------------------------------------------------- */

static void drop_head(struct ftg_bot *b)
{
    mem_freep(&b->q[b->qhead].json);
    b->qhead++;
    b->qlen--;
    if (b->qlen == 0)
        b->qhead = 0;
}

void fake_tg_st_confirm(struct ftg_bot *b, int64_t offset)
{
    while (b->qlen > 0 && b->q[b->qhead].id < offset)
        drop_head(b);
}

void fake_tg_st_clear_queue(struct ftg_bot *b)
{
    while (b->qlen > 0)
        drop_head(b);
}

int64_t fake_tg_st_push(struct fake_tg *f, struct ftg_bot *b, unsigned type_bit,
                        const char *type, json_t *obj, int64_t chat_id)
{
    int64_t now = clock_now_ms(f->clock);
    while (b->qlen > 0 && b->q[b->qhead].expires_ms <= now)   /* 24 h retention */
        drop_head(b);
    if (!(b->allowed & type_bit))
        return 0;
    if (b->qlen >= f->o.max_updates) {
        b->dropped++;
        return 0;
    }
    if (b->qhead > 0 && b->qhead + b->qlen == b->qcap) {
        memmove(b->q, b->q + b->qhead, b->qlen * sizeof *b->q);
        b->qhead = 0;
    }
    if (b->qhead + b->qlen == b->qcap) {
        b->qcap = b->qcap ? b->qcap * 2 : 64;
        b->q = mem_realloc(b->q, b->qcap * sizeof *b->q);
    }
    struct ftg_update *u = &b->q[b->qhead + b->qlen];
    memset(u, 0, sizeof *u);
    u->id = b->next_update_id++;
    u->chat_id = chat_id;
    u->expires_ms = now + UPDATE_TTL_MS;
    char *body = jx_dumps(obj);
    /* the server literally writes ",\n" between the two members */
    u->json = mem_printf("{\"update_id\":%" PRId64 ",\n\"%s\":%s}", u->id, type, body);
    mem_free(body);
    b->qlen++;
    f->n_updates++;
    pthread_cond_broadcast(&f->cv);
    return u->id;
}

/* Does bot b see message m in group chat c? */
static bool bot_sees(struct ftg_chat *c, struct ftg_bot *b, const struct ftg_msg *m,
                     const struct ftg_user *from, bool service)
{
    if (service)
        return true;                     /* every service message, even its own */
    if (m->from == b->u.id || (from != NULL && from->is_bot))
        return false;                    /* own messages; other bots' messages */
    if (c->type == FTG_PRIVATE || c->bot_is_admin)
        return true;
    if (m->text && m->text[0] == '/')   /* privacy mode: commands ... */
        return true;
    const struct ftg_msg *r = m->reply_to ? fake_tg_st_msg(c, m->reply_to) : NULL;
    return r != NULL && r->from == b->u.id;   /* ... and replies to the bot */
}

void fake_tg_st_fanout(struct fake_tg *f, struct ftg_chat *c, const struct ftg_msg *m,
                       bool edited, bool service, json_t *ids)
{
    json_t *mj = fake_tg_st_msg_json(f, c, m, true);
    const struct ftg_user *from = fake_tg_st_user(f, m->from);
    for (size_t i = 0; i < f->nbots; i++) {
        struct ftg_bot *b = f->bots[i];
        if (c->type == FTG_PRIVATE && c->bot_id != b->u.id)
            continue;
        if (!bot_sees(c, b, m, from, service))
            continue;
        int64_t id = fake_tg_st_push(f, b, edited ? FTG_U_EDITED_MESSAGE : FTG_U_MESSAGE,
                                     edited ? "edited_message" : "message", mj, c->id);
        if (ids != NULL && id != 0) {
            json_t *one = json_object();
            json_object_set_new(one, "bot_id", json_integer(b->u.id));
            json_object_set_new(one, "update_id", json_integer(id));
            json_array_append_new(ids, one);
        }
    }
    json_decref(mj);
}

/* ---- sent log, callback queries ------------------------------------------------ */

void fake_tg_st_log_sent(struct fake_tg *f, struct ftg_bot *b, const char *method,
                         int64_t chat_id, int64_t thread_id, json_t *entry)
{
    json_t *o = json_object();
    int64_t seq = ++f->next_seq;
    json_object_set_new(o, "seq", json_integer(seq));
    json_object_set_new(o, "bot_id", json_integer(b->u.id));
    json_object_set_new(o, "method", json_string(method));
    json_object_set_new(o, "chat_id", json_integer(chat_id));
    if (thread_id)
        json_object_set_new(o, "message_thread_id", json_integer(thread_id));
    json_object_set_new(o, "date", json_integer(fake_tg_st_now_s(f)));
    if (entry != NULL) {
        json_object_update_missing(o, entry);
        json_decref(entry);
    }
    if (f->slen >= f->o.max_sent) {
        json_decref(f->sent[f->shead].entry);
        f->shead++;
        f->slen--;
    }
    if (f->shead > 0 && f->shead + f->slen == f->scap) {
        memmove(f->sent, f->sent + f->shead, f->slen * sizeof *f->sent);
        f->shead = 0;
    }
    if (f->shead + f->slen == f->scap) {
        f->scap = f->scap ? f->scap * 2 : 64;
        f->sent = mem_realloc(f->sent, f->scap * sizeof *f->sent);
    }
    struct ftg_sent *s = &f->sent[f->shead + f->slen++];
    s->seq = seq;
    s->chat_id = chat_id;
    s->thread_id = thread_id;
    s->bot_id = b->u.id;
    s->entry = o;
    pthread_cond_broadcast(&f->cv);
}

int64_t fake_tg_st_new_cbq(struct fake_tg *f, int64_t bot_id, int64_t chat_id)
{
    int64_t now = clock_now_ms(f->clock);
    size_t k = 0;                        /* drop expired ones (updates live 150 s) */
    for (size_t i = 0; i < f->ncbqs; i++)
        if (now - f->cbqs[i].created_ms < 150000 + f->o.callback_ttl_ms)
            f->cbqs[k++] = f->cbqs[i];
    f->ncbqs = k;
    f->cbqs = mem_realloc(f->cbqs, (f->ncbqs + 1) * sizeof *f->cbqs);
    struct ftg_cbq *q = &f->cbqs[f->ncbqs++];
    q->id = f->next_cbq_id++;
    q->bot_id = bot_id;
    q->chat_id = chat_id;
    q->created_ms = now;
    q->answered = false;
    return q->id;
}

struct ftg_cbq *fake_tg_st_cbq(struct fake_tg *f, int64_t id)
{
    for (size_t i = 0; i < f->ncbqs; i++)
        if (f->cbqs[i].id == id)
            return &f->cbqs[i];
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void chat_free(struct ftg_chat *c)
{
    for (size_t i = 0; i < c->mlen; i++)
        fake_tg_st_free_msg(&c->msgs[c->mhead + i]);
    mem_free(c->msgs);
    for (size_t i = 0; i < c->ntopics; i++) {
        mem_free(c->topics[i].name);
        mem_free(c->topics[i].icon_emoji);
    }
    mem_free(c->topics);
    mem_free(c->members);
    mem_free(c->title);
    mem_free(c->username);
    mem_free(c);
}

static void fault_release(struct ftg_fault *ft)
{
    for (size_t i = 0; i < ft->f.nmethods; i++)
        mem_free(ft->methods[i]);
    mem_freep(&ft->methods);
}

static void webhook_release(struct ftg_bot *b)
{
    mem_freep(&b->wh_url);
    mem_freep(&b->wh_secret);
    mem_freep(&b->wh_err_msg);
    b->wh_err_date = 0;
    b->wh_gen++;
}

/* Everything but the bots themselves. f->mu held (or single-threaded). */
static void clear_world(struct fake_tg *f)
{
    for (size_t i = 0; i < f->nusers; i++)
        user_release(&f->users[i]);
    mem_freep(&f->users);
    f->nusers = 0;
    for (size_t i = 0; i < f->nchats; i++)
        chat_free(f->chats[i]);
    mem_freep(&f->chats);
    f->nchats = 0;
    mem_freep(&f->cbqs);
    f->ncbqs = 0;
    for (size_t i = 0; i < f->nfaults; i++)
        fault_release(&f->faults[i]);
    mem_freep(&f->faults);
    f->nfaults = 0;
    f->fault_gen++;
    for (size_t i = 0; i < f->slen; i++)
        json_decref(f->sent[f->shead + i].entry);
    mem_freep(&f->sent);
    f->shead = f->slen = f->scap = 0;
    for (size_t i = 0; i < f->nbots; i++) {
        struct ftg_bot *b = f->bots[i];
        fake_tg_st_clear_queue(b);
        webhook_release(b);
        b->allowed = FTG_U_DEFAULT;
        b->allowed_custom = false;
        b->dropped = b->delivered = 0;
    }
    json_object_clear(f->per_method);
    f->n_requests = f->n_errors = f->n_faulted = f->n_updates = 0;
    f->n_wh_attempts = f->n_wh_ok = 0;
}

static void on_http(struct http_req *req, struct http_resp *resp, void *ud)
{
    struct fake_tg *f = ud;
    if (strncmp(req->path, "/control", 8) == 0 &&
        (req->path[8] == '\0' || req->path[8] == '/'))
        fake_tg_control_handle(f, req, resp);
    else
        fake_tg_bot_handle(f, req, resp);
}

int fake_tg_start(const struct fake_tg_opts *opts, struct fake_tg **out, struct err *e)
{
    *out = NULL;
    struct fake_tg *f = mem_alloc(sizeof *f);
    if (opts != NULL)
        f->o = *opts;
    if (f->o.max_updates == 0)
        f->o.max_updates = DEF_MAX_UPDATES;
    if (f->o.max_chat_messages == 0)
        f->o.max_chat_messages = DEF_MAX_MSGS;
    if (f->o.max_sent == 0)
        f->o.max_sent = DEF_MAX_SENT;
    if (f->o.callback_ttl_ms <= 0)
        f->o.callback_ttl_ms = DEF_CB_TTL_MS;
    if (f->o.webhook_max_backoff_ms <= 0)
        f->o.webhook_max_backoff_ms = DEF_WH_BACKOFF_MS;
    f->o.listen = NULL;                  /* borrowed: not kept past start */
    f->clock = opts != NULL && opts->clock != NULL ? opts->clock : NULL;
    if (f->clock == NULL)
        f->clock = f->own_clock = clock_real_new();
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    f->per_method = json_object();
    f->next_cbq_id = 4000000000000000001LL;
    f->next_fault_id = 1;

    int rc = pthread_create(&f->wh_thread, NULL, fake_tg_webhook_run, f);
    if (rc != 0) {
        rc = err_set(e, ERR_IO, "cannot start the webhook thread: %s", strerror(rc));
        goto out_free;
    }
    f->wh_started = true;
    struct http_server_opts ho = {
        .listen = opts != NULL && opts->listen != NULL ? opts->listen : "127.0.0.1:0",
        .max_body = 8u * 1024u * 1024u,
        .thread_per_connection = true,
    };
    rc = http_server_start_opts(&ho, on_http, f, &f->http, e);
    if (rc != 0)
        goto out_free;
    *out = f;
    return 0;

out_free:
    fake_tg_free(&f);
    return rc;
}

int fake_tg_port(const struct fake_tg *f)
{
    return http_server_port(f->http);
}

void fake_tg_free(struct fake_tg **fp)
{
    if (fp == NULL || *fp == NULL)
        return;
    struct fake_tg *f = *fp;
    pthread_mutex_lock(&f->mu);
    __atomic_store_n(&f->stopping, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    http_server_free(&f->http);          /* handlers see `stopping` and return */
    if (f->wh_started)
        pthread_join(f->wh_thread, NULL);
    clear_world(f);
    for (size_t i = 0; i < f->nbots; i++) {
        struct ftg_bot *b = f->bots[i];
        mem_free(b->q);
        user_release(&b->u);
        mem_free(b->token);
        mem_free(b);
    }
    mem_free(f->bots);
    json_decref(f->per_method);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    clock_free(&f->own_clock);
    mem_free(f);
    *fp = NULL;
}

/* ---- public actions ---------------------------------------------------------- */

/* Bot id of a well-formed token, else 0 (the server's own rules, 1.4). */
static int64_t token_id(const char *token)
{
    const char *colon = strchr(token, ':');
    if (colon == NULL || token[0] == '0' || strlen(token) > 80 || strchr(token, '/') ||
        colon == token || colon[1] == '\0')
        return 0;
    int64_t id = 0;
    for (const char *p = token; p < colon; p++) {
        if (*p < '0' || *p > '9' || id > MAX_BOT_ID)
            return 0;
        id = id * 10 + (*p - '0');
    }
    return id > 0 && id < MAX_BOT_ID ? id : 0;
}

int fake_tg_add_bot(struct fake_tg *f, const char *token, const char *first_name,
                    const char *username, struct err *e)
{
    int64_t id = token != NULL ? token_id(token) : 0;
    if (id == 0)
        return err_field(e, ERR_INVAL, "token", "malformed bot token (want '<id>:<secret>')");
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    if (fake_tg_st_bot_by_token(f, token) != NULL)
        goto out;
    if (fake_tg_st_user(f, id) != NULL) {
        rc = err_field(e, ERR_CONFLICT, "token", "id %" PRId64 " is already taken", id);
        goto out;
    }
    struct ftg_bot *b = mem_alloc(sizeof *b);
    char uname[64];
    snprintf(uname, sizeof uname, "test%" PRId64 "_bot", id);
    struct fake_tg_user u = {.id = id, .first_name = first_name ? first_name : "Test Bot",
                             .username = username ? username : uname};
    user_set(&b->u, &u, true);
    b->token = mem_strdup(token);
    b->next_update_id = FIRST_UPDATE_ID;
    b->allowed = FTG_U_DEFAULT;
    b->wh_max_conn = 40;
    f->bots = mem_realloc(f->bots, (f->nbots + 1) * sizeof(struct ftg_bot *));
    f->bots[f->nbots++] = b;
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int fake_tg_add_user(struct fake_tg *f, const struct fake_tg_user *u, struct err *e)
{
    if (u->id <= 0)
        return err_field(e, ERR_INVAL, "id", "user id must be positive");
    if (u->first_name == NULL)
        return err_field(e, ERR_INVAL, "first_name", "missing required field 'first_name'");
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    struct ftg_user *have = fake_tg_st_user(f, u->id);
    if (have != NULL && have->is_bot) {
        rc = err_field(e, ERR_CONFLICT, "id", "id %" PRId64 " is a bot", u->id);
    } else if (have != NULL) {
        user_set(have, u, false);
    } else {
        f->users = mem_realloc(f->users, (f->nusers + 1) * sizeof *f->users);
        struct ftg_user *nu = &f->users[f->nusers++];
        memset(nu, 0, sizeof *nu);
        user_set(nu, u, false);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static void add_member(struct ftg_chat *c, int64_t uid, bool admin)
{
    struct ftg_member *m = fake_tg_st_member(c, uid);
    if (m == NULL) {
        c->members = mem_realloc(c->members, (c->nmembers + 1) * sizeof *c->members);
        m = &c->members[c->nmembers++];
        m->user_id = uid;
        m->admin = false;
    }
    m->admin = m->admin || admin;
}

int fake_tg_add_group(struct fake_tg *f, const struct fake_tg_group *g, struct err *e)
{
    if (g->id >= 0)
        return err_field(e, ERR_INVAL, "id", "group ids are negative");
    if (g->title == NULL || *g->title == '\0')
        return err_field(e, ERR_INVAL, "title", "missing required field 'title'");
    bool super = g->id <= -1000000000000LL;
    if (g->is_forum && !super)
        return err_field(e, ERR_INVAL, "is_forum",
                         "a forum needs a supergroup id (-100…, e.g. -1001234567890)");
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    if (fake_tg_st_chat(f, g->id, 0) != NULL) {
        rc = err_field(e, ERR_CONFLICT, "id", "chat %" PRId64 " exists", g->id);
        goto out;
    }
    for (size_t i = 0; i < g->nmembers + g->nadmins; i++) {
        int64_t uid = i < g->nmembers ? g->members[i] : g->admins[i - g->nmembers];
        if (fake_tg_st_user(f, uid) == NULL) {
            rc = err_field(e, ERR_NOTFOUND, "members", "unknown user %" PRId64, uid);
            goto out;
        }
    }
    struct ftg_chat *c = mem_alloc(sizeof *c);
    c->id = g->id;
    c->type = super ? FTG_SUPERGROUP : FTG_GROUP;
    c->title = mem_strdup(g->title);
    c->username = g->username && *g->username ? mem_strdup(g->username) : NULL;
    c->is_forum = g->is_forum;
    c->bot_is_admin = g->bot_is_admin;
    c->next_msg_id = 2;                  /* 1 is the group's creation; topic 1 = General */
    for (size_t i = 0; i < g->nmembers; i++)
        add_member(c, g->members[i], false);
    for (size_t i = 0; i < g->nadmins; i++)
        add_member(c, g->admins[i], true);
    f->chats = mem_realloc(f->chats, (f->nchats + 1) * sizeof(struct ftg_chat *));
    f->chats[f->nchats++] = c;
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* The chat a human acts in: private (with bot_id) or a group. */
static int human_chat(struct fake_tg *f, int64_t from, int64_t chat_id, int64_t bot_id,
                      bool create, struct ftg_chat **out, struct err *e)
{
    const struct ftg_user *u = fake_tg_st_user(f, from);
    if (u == NULL || u->is_bot)
        return err_field(e, ERR_NOTFOUND, "from", "unknown user %" PRId64, from);
    if (chat_id == 0 || chat_id == from) {
        struct ftg_bot *b = fake_tg_st_bot(f, bot_id);
        if (b == NULL)
            return err_field(e, ERR_NOTFOUND, "bot", "unknown bot %" PRId64, bot_id);
        *out = fake_tg_st_private(f, from, b, create);
        if (*out == NULL)
            return err_field(e, ERR_NOTFOUND, "chat_id",
                             "user %" PRId64 " has no chat with bot %" PRId64, from, b->u.id);
        return 0;
    }
    struct ftg_chat *c = fake_tg_st_chat(f, chat_id, 0);
    if (c == NULL || c->type == FTG_PRIVATE)
        return err_field(e, ERR_NOTFOUND, "chat_id", "unknown group %" PRId64, chat_id);
    add_member(c, from, false);          /* lenient: writing makes you a member */
    *out = c;
    return 0;
}

int fake_tg_user_send(struct fake_tg *f, const struct fake_tg_send *s, json_t **out,
                      struct err *e)
{
    if (out != NULL)
        *out = NULL;
    if (s->text == NULL || *s->text == '\0')
        return err_field(e, ERR_INVAL, "text", "text must be non-empty");
    if (!fake_tg_text_utf8_ok(s->text, strlen(s->text)))
        return err_field(e, ERR_INVAL, "text", "text is not UTF-8");
    pthread_mutex_lock(&f->mu);
    struct ftg_chat *c = NULL;
    int rc = human_chat(f, s->from, s->chat_id, s->bot_id, true, &c, e);
    if (rc != 0)
        goto out;
    if (c->type == FTG_PRIVATE && c->blocked)
        c->blocked = false;              /* writing to a blocked bot restarts it */
    int64_t thread = 0;
    if (c->is_forum && s->thread_id > 1) {
        const struct ftg_topic *t = fake_tg_st_topic(c, s->thread_id);
        if (t == NULL || t->deleted) {
            rc = err_field(e, ERR_NOTFOUND, "message_thread_id",
                           "no topic %" PRId64 " in chat %" PRId64, s->thread_id, c->id);
            goto out;
        }
        thread = s->thread_id;
    }
    if (s->reply_to) {
        const struct ftg_msg *r = fake_tg_st_msg(c, s->reply_to);
        if (r == NULL) {
            rc = err_field(e, ERR_NOTFOUND, "reply_to", "no message %" PRId64 " in chat %" PRId64,
                           s->reply_to, c->id);
            goto out;
        }
        if (c->is_forum && thread == 0 && r->thread_id > 1)
            thread = r->thread_id;       /* a reply lands in the replied message's topic */
    }
    struct ftg_msg m = {.from = s->from, .thread_id = thread, .reply_to = s->reply_to};
    m.text = mem_strdup(s->text);
    m.entities = fake_tg_text_entities(s->text);
    struct ftg_msg *sm = fake_tg_st_add_msg(f, c, &m);
    json_t *ids = json_array();
    fake_tg_st_fanout(f, c, sm, false, false, ids);
    if (out != NULL) {
        *out = json_object();
        json_object_set_new(*out, "message", fake_tg_st_msg_json(f, c, sm, true));
        json_object_set_new(*out, "update_ids", ids);
    } else {
        json_decref(ids);
    }
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int fake_tg_user_edit(struct fake_tg *f, int64_t from, int64_t chat_id, int64_t bot_id,
                      int64_t message_id, const char *text, json_t **out, struct err *e)
{
    if (out != NULL)
        *out = NULL;
    if (text == NULL || *text == '\0' || !fake_tg_text_utf8_ok(text, strlen(text)))
        return err_field(e, ERR_INVAL, "text", "text must be non-empty UTF-8");
    pthread_mutex_lock(&f->mu);
    struct ftg_chat *c = NULL;
    int rc = human_chat(f, from, chat_id, bot_id, false, &c, e);
    if (rc != 0)
        goto out;
    struct ftg_msg *m = fake_tg_st_msg(c, message_id);
    if (m == NULL || m->from != from || m->text == NULL) {
        rc = err_field(e, ERR_NOTFOUND, "message_id",
                       "no message %" PRId64 " of user %" PRId64 " in chat %" PRId64,
                       message_id, from, c->id);
        goto out;
    }
    mem_free(m->text);
    m->text = mem_strdup(text);
    json_decref(m->entities);
    m->entities = fake_tg_text_entities(text);
    m->edit_date = fake_tg_st_now_s(f);
    json_t *ids = json_array();
    fake_tg_st_fanout(f, c, m, true, false, ids);
    if (out != NULL) {
        *out = json_object();
        json_object_set_new(*out, "message", fake_tg_st_msg_json(f, c, m, true));
        json_object_set_new(*out, "update_ids", ids);
    } else {
        json_decref(ids);
    }
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* The first button of an inline keyboard whose callback_data is data (any when NULL). */
static const char *find_button(json_t *markup, const char *data)
{
    json_t *rows = json_object_get(markup, "inline_keyboard");
    size_t i, j;
    json_t *row, *btn;
    json_array_foreach(rows, i, row) {
        json_array_foreach(row, j, btn) {
            const char *d = json_string_value(json_object_get(btn, "callback_data"));
            if (d != NULL && (data == NULL || strcmp(d, data) == 0))
                return d;
        }
    }
    return NULL;
}

int fake_tg_user_press(struct fake_tg *f, int64_t from, int64_t chat_id, int64_t bot_id,
                       int64_t message_id, const char *data, json_t **out, struct err *e)
{
    if (out != NULL)
        *out = NULL;
    pthread_mutex_lock(&f->mu);
    struct ftg_chat *c = NULL;
    int rc = human_chat(f, from, chat_id, bot_id, false, &c, e);
    if (rc != 0)
        goto out;
    const struct ftg_msg *m = fake_tg_st_msg(c, message_id);
    struct ftg_bot *b = m != NULL ? fake_tg_st_bot(f, m->from) : NULL;
    if (m == NULL || b == NULL || m->from == 0) {
        rc = err_field(e, ERR_NOTFOUND, "message_id",
                       "no bot message %" PRId64 " in chat %" PRId64, message_id, c->id);
        goto out;
    }
    const char *d = find_button(m->reply_markup, data);
    if (d == NULL) {
        rc = err_field(e, ERR_NOTFOUND, "data", "message %" PRId64 " has no button with "
                       "callback_data '%s'", message_id, data ? data : "(any)");
        goto out;
    }
    int64_t qid = fake_tg_st_new_cbq(f, b->u.id, c->id);
    char qids[32], inst[32];
    snprintf(qids, sizeof qids, "%" PRId64, qid);
    snprintf(inst, sizeof inst, "%" PRId64, (c->id * 7919) ^ 0x5bd1e995);
    json_t *q = json_object();
    json_object_set_new(q, "id", json_string(qids));
    json_object_set_new(q, "from", fake_tg_st_user_json(fake_tg_st_user(f, from)));
    json_object_set_new(q, "message", fake_tg_st_msg_json(f, c, m, true));
    json_object_set_new(q, "chat_instance", json_string(inst));
    json_object_set_new(q, "data", json_string(d));
    int64_t uid = fake_tg_st_push(f, b, FTG_U_CALLBACK_QUERY, "callback_query", q, c->id);
    json_decref(q);
    if (out != NULL) {
        *out = json_object();
        json_object_set_new(*out, "callback_query_id", json_string(qids));
        json_object_set_new(*out, "update_id", uid ? json_integer(uid) : json_null());
    }
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int fake_tg_block(struct fake_tg *f, int64_t user_id, int64_t bot_id, bool blocked,
                  struct err *e)
{
    pthread_mutex_lock(&f->mu);
    struct ftg_chat *c = NULL;
    int rc = human_chat(f, user_id, user_id, bot_id, true, &c, e);
    if (rc != 0 || c->blocked == blocked)
        goto out;
    c->blocked = blocked;
    struct ftg_bot *b = fake_tg_st_bot(f, c->bot_id);
    json_t *u = json_object();
    json_object_set_new(u, "chat", fake_tg_st_chat_json(f, c));
    json_object_set_new(u, "from", fake_tg_st_user_json(fake_tg_st_user(f, user_id)));
    json_object_set_new(u, "date", json_integer(fake_tg_st_now_s(f)));
    json_t *old = json_object(), *nw = json_object();
    json_object_set_new(old, "user", fake_tg_st_user_json(&b->u));
    json_object_set_new(old, "status", json_string(blocked ? "member" : "kicked"));
    json_object_set_new(nw, "user", fake_tg_st_user_json(&b->u));
    json_object_set_new(nw, "status", json_string(blocked ? "kicked" : "member"));
    if (blocked)
        json_object_set_new(nw, "until_date", json_integer(0));
    if (!blocked)
        json_object_set_new(old, "until_date", json_integer(0));
    json_object_set_new(u, "old_chat_member", old);
    json_object_set_new(u, "new_chat_member", nw);
    fake_tg_st_push(f, b, FTG_U_MY_CHAT_MEMBER, "my_chat_member", u, c->id);
    json_decref(u);
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int fake_tg_delete_topic(struct fake_tg *f, int64_t chat_id, int64_t thread_id,
                         struct err *e)
{
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    struct ftg_chat *c = fake_tg_st_chat(f, chat_id, 0);
    struct ftg_topic *t = c != NULL ? fake_tg_st_topic(c, thread_id) : NULL;
    if (t == NULL || t->deleted) {
        rc = err_field(e, ERR_NOTFOUND, "message_thread_id",
                       "no topic %" PRId64 " in chat %" PRId64, thread_id, chat_id);
        goto out;
    }
    t->deleted = true;
    for (size_t i = 0; i < c->mlen; i++) {
        struct ftg_msg *m = &c->msgs[c->mhead + i];
        if (m->thread_id == thread_id)
            m->deleted = true;
    }
    pthread_cond_broadcast(&f->cv);
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static bool sent_match(const struct ftg_sent *s, const struct fake_tg_sent_filter *flt)
{
    return s->seq > flt->since && (flt->chat_id == 0 || s->chat_id == flt->chat_id) &&
           (flt->thread_id == 0 || s->thread_id == flt->thread_id) &&
           (flt->bot_id == 0 || s->bot_id == flt->bot_id);
}

json_t *fake_tg_sent(struct fake_tg *f, const struct fake_tg_sent_filter *flt)
{
    int64_t wait_ms = flt->wait_ms > 60000 ? 60000 : flt->wait_ms;
    int64_t deadline = mono_ns() + wait_ms * 1000000LL;
    json_t *arr = json_array();
    pthread_mutex_lock(&f->mu);
    for (;;) {
        for (size_t i = 0; i < f->slen; i++) {
            const struct ftg_sent *s = &f->sent[f->shead + i];
            if (sent_match(s, flt))
                json_array_append(arr, s->entry);
        }
        if (json_array_size(arr) > 0 || wait_ms <= 0 || mono_ns() >= deadline ||
            !fake_tg_wait_until(f, deadline))
            break;
    }
    json_t *o = json_object();
    json_object_set_new(o, "sent", arr);
    json_object_set_new(o, "last_seq", json_integer(f->next_seq));
    pthread_mutex_unlock(&f->mu);
    return o;
}

static json_t *topic_json(const struct ftg_topic *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "message_thread_id", json_integer(t->id));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "icon_color", json_integer(t->icon_color));
    if (t->icon_emoji)
        json_object_set_new(o, "icon_custom_emoji_id", json_string(t->icon_emoji));
    json_object_set_new(o, "creator", json_integer(t->creator));
    json_object_set_new(o, "closed", json_boolean(t->closed));
    json_object_set_new(o, "deleted", json_boolean(t->deleted));
    return o;
}

json_t *fake_tg_topics(struct fake_tg *f, int64_t chat_id)
{
    json_t *o = NULL;
    pthread_mutex_lock(&f->mu);
    const struct ftg_chat *c = fake_tg_st_chat(f, chat_id, 0);
    if (c != NULL) {
        json_t *arr = json_array();
        for (size_t i = 0; i < c->ntopics; i++)
            json_array_append_new(arr, topic_json(&c->topics[i]));
        o = json_object();
        json_object_set_new(o, "topics", arr);
    }
    pthread_mutex_unlock(&f->mu);
    return o;
}

json_t *fake_tg_messages(struct fake_tg *f, int64_t chat_id, int64_t bot_id,
                         int64_t thread_id)
{
    json_t *o = NULL;
    pthread_mutex_lock(&f->mu);
    struct ftg_bot *b = fake_tg_st_bot(f, bot_id);
    struct ftg_chat *c = fake_tg_st_chat(f, chat_id, chat_id > 0 && b ? b->u.id : 0);
    if (c != NULL) {
        json_t *arr = json_array();
        for (size_t i = 0; i < c->mlen; i++) {
            const struct ftg_msg *m = &c->msgs[c->mhead + i];
            if (!m->deleted && (thread_id == 0 || m->thread_id == thread_id))
                json_array_append_new(arr, fake_tg_st_msg_json(f, c, m, true));
        }
        o = json_object();
        json_object_set_new(o, "messages", arr);
    }
    pthread_mutex_unlock(&f->mu);
    return o;
}

int fake_tg_fault_add(struct fake_tg *f, const struct fake_tg_fault *ft, int64_t *id,
                      struct err *e)
{
    switch (ft->kind) {
    case FAKE_TG_PARTITION:
    case FAKE_TG_SLOW:
        break;
    case FAKE_TG_HTTP_ERROR:
        if (ft->status < 500 || ft->status > 599)
            return err_field(e, ERR_INVAL, "status", "http_error status must be 5xx");
        break;
    case FAKE_TG_RATE_LIMIT:
        if (ft->retry_after < 0 || ft->rate < 0 || ft->window_ms < 0)
            return err_field(e, ERR_INVAL, "retry_after", "negative rate limit field");
        break;
    default:
        return err_field(e, ERR_INVAL, "kind", "unknown fault kind");
    }
    if (ft->kind == FAKE_TG_SLOW && ft->delay_ms <= 0)
        return err_field(e, ERR_INVAL, "delay_ms", "slow needs delay_ms > 0");
    if (ft->calls < 0 || ft->duration_ms < 0)
        return err_field(e, ERR_INVAL, "calls", "calls and duration_ms must be >= 0");
    pthread_mutex_lock(&f->mu);
    f->faults = mem_realloc(f->faults, (f->nfaults + 1) * sizeof *f->faults);
    struct ftg_fault *x = &f->faults[f->nfaults++];
    memset(x, 0, sizeof *x);
    x->id = f->next_fault_id++;
    x->f = *ft;
    if (x->f.kind == FAKE_TG_RATE_LIMIT && x->f.retry_after == 0)
        x->f.retry_after = 5;
    if (x->f.window_ms == 0)
        x->f.window_ms = 1000;
    x->methods = ft->nmethods ? mem_alloc(ft->nmethods * sizeof *x->methods) : NULL;
    for (size_t i = 0; i < ft->nmethods; i++) {
        x->methods[i] = mem_strdup(ft->methods[i]);
        for (char *p = x->methods[i]; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    x->f.methods = (const char *const *)x->methods;
    x->until_ms = ft->duration_ms ? clock_now_ms(f->clock) + ft->duration_ms : 0;
    x->left = ft->calls ? ft->calls : -1;
    if (id != NULL)
        *id = x->id;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int fake_tg_fault_clear(struct fake_tg *f, int64_t id, struct err *e)
{
    int rc = id == 0 ? 0 : ERR_NOTFOUND;
    pthread_mutex_lock(&f->mu);
    size_t k = 0;
    for (size_t i = 0; i < f->nfaults; i++) {
        if (id == 0 || f->faults[i].id == id) {
            fault_release(&f->faults[i]);
            rc = 0;
        } else {
            f->faults[k++] = f->faults[i];
        }
    }
    f->nfaults = k;
    f->fault_gen++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (rc != 0)
        return err_set(e, ERR_NOTFOUND, "no fault %" PRId64, id);
    return 0;
}

json_t *fake_tg_stats(struct fake_tg *f)
{
    json_t *o = json_object();
    pthread_mutex_lock(&f->mu);
    json_object_set_new(o, "requests", json_integer(f->n_requests));
    json_object_set_new(o, "errors", json_integer(f->n_errors));
    json_object_set_new(o, "faulted", json_integer(f->n_faulted));
    json_object_set_new(o, "updates", json_integer(f->n_updates));
    json_object_set_new(o, "webhook_attempts", json_integer(f->n_wh_attempts));
    json_object_set_new(o, "webhook_delivered", json_integer(f->n_wh_ok));
    json_object_set_new(o, "methods", json_deep_copy(f->per_method));
    json_object_set_new(o, "users", json_integer((json_int_t)f->nusers));
    json_object_set_new(o, "chats", json_integer((json_int_t)f->nchats));
    json_object_set_new(o, "sent", json_integer(f->next_seq));
    json_object_set_new(o, "faults", json_integer((json_int_t)f->nfaults));
    json_t *bots = json_array();
    for (size_t i = 0; i < f->nbots; i++) {
        const struct ftg_bot *b = f->bots[i];
        json_t *x = json_object();
        json_object_set_new(x, "id", json_integer(b->u.id));
        json_object_set_new(x, "pending_update_count", json_integer((json_int_t)b->qlen));
        json_object_set_new(x, "dropped_updates", json_integer(b->dropped));
        json_object_set_new(x, "webhook", json_string(b->wh_url ? b->wh_url : ""));
        json_object_set_new(x, "webhook_delivered", json_integer(b->delivered));
        json_array_append_new(bots, x);
    }
    json_object_set_new(o, "bots", bots);
    pthread_mutex_unlock(&f->mu);
    return o;
}

void fake_tg_reset(struct fake_tg *f)
{
    pthread_mutex_lock(&f->mu);
    clear_world(f);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}
