/*
 * fake_tg.h — a faithful fake Telegram Bot API server, as a library.
 *
 * `tgcrm fake-telegram` (fake_tg_cmd.c) and, later, `tgcrm check` run it
 * in-process. It serves `/bot<token>/<method>` like api.telegram.org in
 * local mode (plain HTTP, any port, local webhooks allowed): the
 * {ok,result} / {ok:false,error_code,description,parameters} envelope, the
 * real error strings, getUpdates long polling, webhooks delivered by a
 * libcurl thread, forum topics with their service messages. Next to it, on
 * the same port, a JSON control API under `/control/...` plays the humans
 * (users write, press buttons, delete topics, block the bot), shows what the
 * bot sent where, and injects faults (partitions, 429, 5xx, slowness).
 * docs/fake-telegram.md describes both HTTP surfaces.
 *
 * The functions below mirror the control API for in-process callers. All of
 * them are thread-safe: one mutex guards the whole state and is never held
 * during I/O; one condition variable wakes long polls, the webhook thread
 * and /control/sent waiters.
 *
 * Memory is bounded: per bot at most max_updates unconfirmed updates (newer
 * ones are dropped and counted, like Telegram's 100,000-event queue), and
 * per chat at most max_chat_messages messages, the oldest forgotten first;
 * the sent log keeps the newest max_sent entries.
 */
#ifndef TGCRM_CHECK_FAKE_TG_H
#define TGCRM_CHECK_FAKE_TG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/err.h"

/* The bot registered when none is given (`--bot` / fake_tg_add_bot). */
#define FAKE_TG_DEFAULT_TOKEN "123456:TEST-TOKEN"

struct fake_tg;

struct fake_tg_opts {
    const char *listen;        /* "host:port", port 0 = any free; NULL = "127.0.0.1:0" */
    struct clock *clock;       /* borrowed, NULL = a real clock of our own; gives message
                                * dates, fault durations, rate windows, expiry */
    size_t max_updates;        /* per bot unconfirmed updates, 0 = 100000 */
    size_t max_chat_messages;  /* per chat, 0 = 100000 */
    size_t max_sent;           /* sent-log entries, 0 = 100000 */
    int64_t callback_ttl_ms;   /* answerCallbackQuery deadline, 0 = 15000 */
    int64_t webhook_max_backoff_ms; /* cap of the retry wait, 0 = 60000 */
};

/*
 * Start serving. opts may be NULL (all defaults). No bot is registered:
 * call fake_tg_add_bot (fake_tg_main registers FAKE_TG_DEFAULT_TOKEN when no
 * --bot is given). ERR_INVAL / ERR_IO as http_server_start. Caller owns *out;
 * fake_tg_free.
 */
int fake_tg_start(const struct fake_tg_opts *opts, struct fake_tg **out, struct err *e);

/* The TCP port actually bound. */
int fake_tg_port(const struct fake_tg *f);

/*
 * Stop: parked long polls and hangs are woken and answered, the webhook
 * thread is joined, the server stopped, everything freed; *fp = NULL.
 * NULL is fine.
 */
void fake_tg_free(struct fake_tg **fp);

/*
 * Register a bot. token must look like a Bot API token ("<id>:<secret>",
 * id 1..2^54, no leading 0) — else ERR_INVAL; the bot's user id is the
 * number before the colon. first_name/username may be NULL (defaults
 * "Test Bot" / "test<id>_bot"). Registering an existing token is a no-op;
 * another token with the same id is ERR_CONFLICT. Strings are copied.
 */
int fake_tg_add_bot(struct fake_tg *f, const char *token, const char *first_name,
                    const char *username, struct err *e);

/* A human (or bot) user. Strings are borrowed for the call and copied. */
struct fake_tg_user {
    int64_t id;                /* > 0 */
    const char *first_name;    /* required, may be "" */
    const char *last_name;     /* NULL = none */
    const char *username;      /* NULL = none */
    const char *language_code; /* NULL = none */
    bool is_premium;
};

/* Create or replace a user (a bot id is ERR_CONFLICT). ERR_INVAL for id <= 0. */
int fake_tg_add_user(struct fake_tg *f, const struct fake_tg_user *u, struct err *e);

/* A group chat; every registered bot is a member. */
struct fake_tg_group {
    int64_t id;                /* < 0; "-100…" makes a supergroup, else a basic group */
    const char *title;         /* required */
    const char *username;      /* NULL = none */
    bool is_forum;             /* needs a supergroup id */
    bool bot_is_admin;         /* admin with every right, incl. can_manage_topics;
                                * false = plain member in privacy mode */
    const int64_t *members;    /* user ids (must exist), borrowed */
    size_t nmembers;
    const int64_t *admins;     /* user ids that are administrators (also members) */
    size_t nadmins;
};

/* Create a group (ERR_CONFLICT if the id exists, ERR_NOTFOUND for an unknown member). */
int fake_tg_add_group(struct fake_tg *f, const struct fake_tg_group *g, struct err *e);

/* A user's message. */
struct fake_tg_send {
    int64_t from;              /* user id */
    int64_t chat_id;           /* 0 or == from: the private chat with the bot */
    int64_t bot_id;            /* private chats: which bot, 0 = the first registered */
    const char *text;          /* required, non-empty */
    int64_t thread_id;         /* forum topic, 0 = General / none */
    int64_t reply_to;          /* message id in the same chat, 0 = none */
};

/*
 * The user sends a message: it is stored, and a `message` update is queued
 * for every bot that would see it (private chat: that bot; group: every bot,
 * all messages when admin, else commands and replies to it only). *out
 * (may be NULL) gets a new reference {"message":{...},"update_ids":[...]}.
 * ERR_NOTFOUND for an unknown user/chat/topic or reply target, ERR_INVAL
 * for empty text.
 */
int fake_tg_user_send(struct fake_tg *f, const struct fake_tg_send *s, json_t **out,
                      struct err *e);

/*
 * The user edits their own message: an `edited_message` update with
 * edit_date. *out as for fake_tg_user_send.
 */
int fake_tg_user_edit(struct fake_tg *f, int64_t from, int64_t chat_id, int64_t bot_id,
                      int64_t message_id, const char *text, json_t **out, struct err *e);

/*
 * The user presses an inline button of a bot's message: a `callback_query`
 * update for the bot that sent it. data NULL = the first callback button's
 * data; otherwise a button with that callback_data must exist (ERR_NOTFOUND).
 * *out gets {"callback_query_id":"…","update_id":N}.
 */
int fake_tg_user_press(struct fake_tg *f, int64_t from, int64_t chat_id, int64_t bot_id,
                       int64_t message_id, const char *data, json_t **out, struct err *e);

/*
 * The user blocks (blocked=true) or unblocks the bot: sends then fail with
 * 403 `Forbidden: bot was blocked by the user`; the bot gets a
 * `my_chat_member` update (kicked / member). bot_id 0 = first bot.
 */
int fake_tg_block(struct fake_tg *f, int64_t user_id, int64_t bot_id, bool blocked,
                  struct err *e);

/* A human deletes a forum topic (no update, as on Telegram). ERR_NOTFOUND. */
int fake_tg_delete_topic(struct fake_tg *f, int64_t chat_id, int64_t thread_id,
                         struct err *e);

/* Which sent-log entries to read. */
struct fake_tg_sent_filter {
    int64_t chat_id;           /* 0 = every chat */
    int64_t thread_id;         /* 0 = any thread */
    int64_t bot_id;            /* 0 = every bot */
    int64_t since;             /* only entries with seq > since */
    int64_t wait_ms;           /* wait up to this long for a first match (<= 60000) */
};

/*
 * What the bots sent, oldest first: a new reference
 * {"sent":[{"seq","bot_id","method","chat_id","message_thread_id"?,
 * "message_id"?,"text"?,"date",...}],"last_seq":N}. Never NULL.
 */
json_t *fake_tg_sent(struct fake_tg *f, const struct fake_tg_sent_filter *flt);

/* A chat's forum topics: new reference {"topics":[...]}; NULL if no such chat. */
json_t *fake_tg_topics(struct fake_tg *f, int64_t chat_id);

/* A chat's stored messages (thread 0 = all): new reference, NULL if no such chat. */
json_t *fake_tg_messages(struct fake_tg *f, int64_t chat_id, int64_t bot_id,
                         int64_t thread_id);

enum fake_tg_fault_kind {
    FAKE_TG_PARTITION = 1,     /* connections fail (refuse) or hang */
    FAKE_TG_HTTP_ERROR,        /* 5xx answers */
    FAKE_TG_RATE_LIMIT,        /* 429 Too Many Requests: retry after N */
    FAKE_TG_SLOW,              /* answers delayed by delay_ms */
};

/* One injected fault on the Bot API (never on /control). */
struct fake_tg_fault {
    enum fake_tg_fault_kind kind;
    bool hang;                 /* partition: hold the request (bounded) instead of
                                * closing the connection at once */
    int status;                /* http_error: 500 (JSON) or 502/503/504 (nginx HTML) */
    int retry_after;           /* rate_limit: seconds, >= 1 (default 5) */
    int64_t calls;             /* matching calls it affects, 0 = unlimited */
    int64_t duration_ms;       /* lifetime from now, 0 = until cleared */
    int64_t rate;              /* rate_limit: > 0 = allow `rate` calls per window per
                                * chat and answer 429 beyond (instead of always) */
    int64_t window_ms;         /* rate_limit window, default 1000 */
    int64_t delay_ms;          /* slow */
    const char *const *methods;/* lower- or mixed-case method names, NULL = all */
    size_t nmethods;
};

/* Add a fault; *id (may be NULL) gets its id. ERR_INVAL for bad fields. */
int fake_tg_fault_add(struct fake_tg *f, const struct fake_tg_fault *ft, int64_t *id,
                      struct err *e);

/* Remove one fault (ERR_NOTFOUND) or, with id 0, all of them. */
int fake_tg_fault_clear(struct fake_tg *f, int64_t id, struct err *e);

/* Counters and queue sizes: a new reference. */
json_t *fake_tg_stats(struct fake_tg *f);

/*
 * Forget users, chats, messages, updates, webhooks, faults and the sent log;
 * registered bots stay (with fresh queues). Parked long polls return [].
 */
void fake_tg_reset(struct fake_tg *f);

/*
 * The control API on a JSON value, as the HTTP layer uses it: method
 * ("GET", "POST", "DELETE"), path ("/control/…"), query string parameters
 * through get_query (may be NULL), body (may be NULL). Returns the HTTP
 * status; *out gets a new reference (the response body). Lets in-process
 * callers speak the documented API without sockets.
 */
int fake_tg_control(struct fake_tg *f, const char *method, const char *path,
                    const char *(*get_query)(void *qud, const char *name), void *qud,
                    json_t *body, json_t **out);

/* `tgcrm fake-telegram`: argv[0] is "fake-telegram". Returns the exit code. */
int fake_tg_main(int argc, char **argv);

#endif
