/*
 * thread.h — the conversation thread: every message and system event of a
 * ticket, in order.
 *
 * Entries are numbered by `seq` (1, 2, 3 ...) within their ticket; the
 * engine is the only writer, so seq order is the order things happened.
 * Strings are owned by the arena the entry was loaded into.
 */
#ifndef TGCRM_DESK_THREAD_H
#define TGCRM_DESK_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "desk/ticket.h"

enum thread_kind {
    THREAD_MESSAGE = 0,   /* a message someone wrote */
    THREAD_NOTE,          /* an internal note by an agent: never sent to the customer */
    THREAD_EVENT          /* a system event: assigned, status_changed, escalated, sla_* ... */
};

enum thread_dir {
    DIR_INBOUND = 0,      /* customer → desk */
    DIR_OUTBOUND,         /* desk → customer (agent reply, bot message) */
    DIR_INTERNAL          /* stays inside the desk (notes, events) */
};

enum author_type {
    AUTHOR_CUSTOMER = 0,
    AUTHOR_AGENT,
    AUTHOR_BOT,
    AUTHOR_SYSTEM
};

struct thread_entry {
    int64_t id;              /* store id */
    int64_t ticket_id;
    int32_t seq;             /* 1-based position in the ticket's thread */
    enum thread_kind kind;
    enum thread_dir dir;
    enum author_type author_type;
    const char *author_id;   /* agent id / customer tg id as text / "system"; may be NULL */
    const char *author_name; /* display name; may be NULL */
    const char *text;        /* message text, or a human summary of the event */
    const char *event;       /* THREAD_EVENT: event type, e.g. "status_changed"; else NULL */
    struct kv *data;         /* event details (from/to, rule, reason ...) */
    size_t ndata;
    int64_t tg_chat_id;      /* Telegram chat the message was in, 0 if none */
    int64_t tg_message_id;   /* Telegram message id, 0 if none */
    int64_t at;              /* when it happened (ms) */
    int64_t edited_at;       /* last edit (ms), 0 if never edited */
};

const char *thread_kind_name(enum thread_kind k);
const char *thread_dir_name(enum thread_dir d);
const char *thread_author_type_name(enum author_type a);

int thread_kind_parse(const char *s, enum thread_kind *out);
int thread_dir_parse(const char *s, enum thread_dir *out);
int thread_author_type_parse(const char *s, enum author_type *out);

/* The value of data key `key` in an entry, or NULL. Borrowed. */
const char *thread_data(const struct thread_entry *te, const char *key);

#endif
