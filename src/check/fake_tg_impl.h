/*
 * fake_tg_impl.h — the fake Telegram's state, shared by its files only.
 *
 * fake_tg.c owns the state (users, chats, messages, update queues, faults,
 * the sent log) and the operations on it; fake_tg_bot.c maps Bot API
 * requests onto them, fake_tg_control.c the control API, fake_tg_webhook.c
 * delivers queues to webhooks, fake_tg_text.c does UTF-8/UTF-16 counting
 * and entities. Every function named fake_tg_st_* expects f->mu held; the
 * others take it themselves. Pointers into the state (users, chats,
 * messages) are valid only while the mutex is held: code that waits on the
 * condition variable looks them up again afterwards. Bots are the one
 * exception: they live until fake_tg_free.
 */
#ifndef TGCRM_CHECK_FAKE_TG_IMPL_H
#define TGCRM_CHECK_FAKE_TG_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "check/fake_tg.h"
#include "http/http_server.h"

/* Update types, as bits of an allowed_updates mask. */
enum {
    FTG_U_MESSAGE = 1u << 0,
    FTG_U_EDITED_MESSAGE = 1u << 1,
    FTG_U_CALLBACK_QUERY = 1u << 2,
    FTG_U_MY_CHAT_MEMBER = 1u << 3,
    FTG_U_CHAT_MEMBER = 1u << 4,
    FTG_U_MESSAGE_REACTION = 1u << 5,
    FTG_U_MESSAGE_REACTION_COUNT = 1u << 6,
    FTG_U_OTHER = 1u << 7,     /* every other known type: never produced */
};
#define FTG_U_ALL 0xffu
#define FTG_U_DEFAULT \
    (FTG_U_ALL & ~(FTG_U_CHAT_MEMBER | FTG_U_MESSAGE_REACTION | FTG_U_MESSAGE_REACTION_COUNT))

struct ftg_user {
    int64_t id;
    char *first_name, *last_name, *username, *language_code;  /* owned */
    bool is_bot, is_premium;
};

struct ftg_update {
    int64_t id;
    int64_t chat_id;           /* for stats and per-chat ordering */
    int64_t expires_ms;        /* by the fake clock */
    char *json;                /* owned: {"update_id":N,\n"<type>":{...}} */
    int64_t next_try_ms;       /* webhook: earliest next attempt */
    int tries;                 /* webhook attempts so far */
};

struct ftg_bot {
    struct ftg_user u;         /* the bot's own user (is_bot) */
    char *token;               /* owned */
    /* the update queue: a ring of unconfirmed updates, oldest at head */
    struct ftg_update *q;
    size_t qhead, qlen, qcap;
    int64_t next_update_id;
    unsigned allowed;          /* FTG_U_* mask */
    bool allowed_custom;       /* set explicitly to a non-default value */
    uint64_t poll_gen;         /* bumped by every getUpdates / setWebhook */
    /* webhook */
    char *wh_url, *wh_secret;  /* owned; wh_url NULL = getUpdates mode */
    int wh_max_conn;
    uint64_t wh_gen;           /* bumped when the webhook changes */
    int64_t wh_set_ms;         /* last non-empty setWebhook, for its 1/s limit */
    int64_t wh_err_date;       /* unix seconds, 0 = none */
    char *wh_err_msg;          /* owned */
    int64_t dropped;           /* updates refused: queue full */
    int64_t delivered;         /* updates delivered to the webhook */
};

struct ftg_topic {
    int64_t id;                /* message_thread_id == its creation message id */
    char *name, *icon_emoji;   /* owned; icon_emoji NULL = none */
    int64_t icon_color;
    int64_t creator;           /* user id */
    bool closed, deleted;
};

struct ftg_msg {
    int64_t id;
    int64_t from;              /* user or bot id */
    int64_t date, edit_date;   /* unix seconds */
    int64_t thread_id;         /* 0 = none */
    int64_t reply_to;          /* explicit reply, 0 = none */
    char *text;                /* owned, NULL for service messages */
    json_t *entities;          /* owned ref or NULL */
    json_t *reply_markup;      /* owned ref or NULL */
    json_t *service;           /* owned ref: {"forum_topic_created":{...}} etc, or NULL */
    json_t *forward_origin;    /* owned ref or NULL */
    int64_t fwd_from;          /* forwarded: original sender id, for legacy fields */
    int64_t fwd_date;
    bool deleted;
};

enum ftg_chat_type { FTG_PRIVATE = 1, FTG_GROUP, FTG_SUPERGROUP };

struct ftg_member {
    int64_t user_id;
    bool admin;
};

struct ftg_chat {
    int64_t id;                /* private: the user's id */
    int64_t bot_id;            /* private: the bot this chat is with; else 0 */
    enum ftg_chat_type type;
    char *title, *username;    /* owned; groups */
    bool is_forum, bot_is_admin;
    struct ftg_member *members;
    size_t nmembers;
    bool blocked;              /* private: the user blocked the bot */
    int64_t next_msg_id;
    struct ftg_msg *msgs;      /* ring, oldest at mhead; ids increase */
    size_t mhead, mlen, mcap;
    struct ftg_topic *topics;
    size_t ntopics;
};

struct ftg_cbq {               /* a callback query waiting for its answer */
    int64_t id;
    int64_t bot_id;
    int64_t chat_id;
    int64_t created_ms;
    bool answered;
};

struct ftg_fault {
    int64_t id;
    struct fake_tg_fault f;    /* methods points into `methods` below */
    char **methods;            /* owned, lower-case */
    int64_t until_ms;          /* 0 = forever */
    int64_t left;              /* calls left, -1 = unlimited */
    struct { int64_t chat; int64_t start; int64_t n; } win[64];  /* rate windows */
    int64_t hits;
};

struct ftg_sent {
    int64_t seq;
    int64_t chat_id, thread_id, bot_id;
    json_t *entry;             /* owned */
};

struct fake_tg {
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* CLOCK_MONOTONIC; broadcast on every change */
    struct clock *clock;       /* borrowed or own_clock */
    struct clock *own_clock;
    struct fake_tg_opts o;     /* with defaults filled in */
    struct http_server *http;
    pthread_t wh_thread;
    bool wh_started;
    bool stopping;

    struct ftg_bot **bots;     /* owned, never freed before fake_tg_free */
    size_t nbots;
    struct ftg_user *users;
    size_t nusers;
    struct ftg_chat **chats;
    size_t nchats;
    struct ftg_cbq *cbqs;      /* ring-ish: dropped when expired */
    size_t ncbqs;
    int64_t next_cbq_id;
    struct ftg_fault *faults;
    size_t nfaults;
    int64_t next_fault_id;
    uint64_t fault_gen;        /* bumped when faults are cleared: ends hangs/delays */
    struct ftg_sent *sent;     /* ring of at most o.max_sent */
    size_t shead, slen, scap;
    int64_t next_seq;

    /* counters for /control/stats */
    int64_t n_requests, n_errors, n_faulted, n_updates, n_wh_attempts, n_wh_ok;
    json_t *per_method;        /* owned: {"sendmessage":N,...} */
};

/* ---- fake_tg.c: state operations (f->mu held) ------------------------------- */

int64_t fake_tg_st_now_s(struct fake_tg *f);
struct ftg_bot *fake_tg_st_bot(struct fake_tg *f, int64_t id);        /* 0 = first */
struct ftg_bot *fake_tg_st_bot_by_token(struct fake_tg *f, const char *token);
struct ftg_user *fake_tg_st_user(struct fake_tg *f, int64_t id);       /* users + bots */
/* A chat as the given bot sees it (private chats are per bot). */
struct ftg_chat *fake_tg_st_chat(struct fake_tg *f, int64_t id, int64_t bot_id);
struct ftg_chat *fake_tg_st_private(struct fake_tg *f, int64_t user_id, struct ftg_bot *b,
                                    bool create);
struct ftg_msg *fake_tg_st_msg(struct ftg_chat *c, int64_t id);
struct ftg_topic *fake_tg_st_topic(struct ftg_chat *c, int64_t id);
struct ftg_member *fake_tg_st_member(struct ftg_chat *c, int64_t user_id);
/* Append a message (id assigned); returns it. Takes ownership of the refs in m. */
struct ftg_msg *fake_tg_st_add_msg(struct fake_tg *f, struct ftg_chat *c, struct ftg_msg *m);
/* Message JSON as the server renders it; need_reply adds reply_to_message. */
json_t *fake_tg_st_msg_json(struct fake_tg *f, struct ftg_chat *c, const struct ftg_msg *m,
                            bool need_reply);
json_t *fake_tg_st_chat_json(struct fake_tg *f, const struct ftg_chat *c);
json_t *fake_tg_st_user_json(const struct ftg_user *u);
/* Queue an update of `type` ("message", ...) for b unless filtered; returns its id or 0. */
int64_t fake_tg_st_push(struct fake_tg *f, struct ftg_bot *b, unsigned type_bit,
                        const char *type, json_t *obj, int64_t chat_id);
/* Queue a message-type update to every bot that sees message m of chat c
 * (sender excluded); ids appended to `ids` when not NULL. */
void fake_tg_st_fanout(struct fake_tg *f, struct ftg_chat *c, const struct ftg_msg *m,
                       bool edited, bool service, json_t *ids);
/* Remove confirmed updates: all with id < offset. */
void fake_tg_st_confirm(struct ftg_bot *b, int64_t offset);
void fake_tg_st_clear_queue(struct ftg_bot *b);
/* Record what a bot did in the sent log (takes the entry reference). */
void fake_tg_st_log_sent(struct fake_tg *f, struct ftg_bot *b, const char *method,
                         int64_t chat_id, int64_t thread_id, json_t *entry);
int64_t fake_tg_st_new_cbq(struct fake_tg *f, int64_t bot_id, int64_t chat_id);
struct ftg_cbq *fake_tg_st_cbq(struct fake_tg *f, int64_t id);
void fake_tg_st_free_msg(struct ftg_msg *m);

/* Sleep on f->cv until mono deadline (ns) or stop; false when stopping. */
bool fake_tg_wait_until(struct fake_tg *f, int64_t deadline_ns);

/* ---- fake_tg_bot.c --------------------------------------------------------- */

/* Serve one /bot… request (any path that is not /control). */
void fake_tg_bot_handle(struct fake_tg *f, struct http_req *req, struct http_resp *resp);

/* ---- fake_tg_control.c ------------------------------------------------------ */

/* Serve one /control… request. */
void fake_tg_control_handle(struct fake_tg *f, struct http_req *req, struct http_resp *resp);

/* ---- fake_tg_webhook.c ------------------------------------------------------ */

/* The delivery thread's body (arg: struct fake_tg *). */
void *fake_tg_webhook_run(void *arg);

/* ---- fake_tg_text.c --------------------------------------------------------- */

/* True when s (n bytes) is valid UTF-8. */
bool fake_tg_text_utf8_ok(const char *s, size_t n);
/* Length in UTF-16 code units of valid UTF-8 s. */
int64_t fake_tg_text_utf16_len(const char *s, size_t n);
/* Trim leading/trailing whitespace; returns a heap copy (mem_free). */
char *fake_tg_text_trim(const char *s);
/* Auto-detected entities of a user's text (bot_command, mention, url,
 * hashtag) as Telegram clients produce; NULL when none. New reference. */
json_t *fake_tg_text_entities(const char *text);
/* Clean a topic name: newlines → spaces, runs of spaces collapsed, trimmed,
 * at most 128 code points. Heap copy. */
char *fake_tg_text_clean_name(const char *s);
/*
 * Parse text with parse_mode "html", "markdownv2" or "markdown": *plain gets
 * the visible text (heap), *entities a new reference or NULL. On error 400
 * with the full description in desc (e.g. "Bad Request: can't parse
 * entities: Unsupported start tag \"x\" at byte offset 3"), returns -1.
 */
int fake_tg_text_parse(const char *text, const char *mode, char **plain, json_t **entities,
                       char *desc, size_t descn);

#endif
