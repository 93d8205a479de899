/*
 * ticket.h — the domain's core records: customers and tickets.
 *
 * Pure data, no I/O. Records that come from the store are allocated in the
 * caller's arena (every `const char *` in them is owned by that arena, or is
 * a static string, and lives as long as it). Times are ms since the epoch,
 * 0 meaning "not yet" (first_response_at == 0: no response so far).
 */
#ifndef TGCRM_DESK_TICKET_H
#define TGCRM_DESK_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct sla_state;             /* desk/sla.h */

enum ticket_status {
    TICKET_OPEN = 0,
    TICKET_IN_PROGRESS,
    TICKET_ON_HOLD,
    TICKET_RESOLVED,
    TICKET_CLOSED,
    TICKET_STATUS_COUNT
};

/* Ordered: a larger value is more urgent (priority raises compare with >). */
enum ticket_priority {
    PRIORITY_LOW = 0,
    PRIORITY_NORMAL,
    PRIORITY_HIGH,
    PRIORITY_URGENT,
    PRIORITY_COUNT
};

/* A key/value pair; both owned by the record's arena. */
struct kv {
    const char *key;
    const char *value;
};

/* A knowledge-base article suggested for a ticket (desk/kb.h ranks them);
 * strings owned like the record's. */
struct ticket_kb {
    const char *id;
    const char *title;
    const char *url;          /* may be NULL */
    double score;             /* kb_suggest's score, rounded to 3 decimals */
};

struct customer {
    int64_t id;               /* store id; 0 before insert */
    int64_t tg_user_id;       /* Telegram user id; unique */
    const char *first_name;   /* never NULL once stored ("" if Telegram gave none) */
    const char *last_name;    /* may be NULL */
    const char *username;     /* without '@'; may be NULL */
    const char *language;     /* IETF tag from Telegram, may be NULL */
    const char *tier;         /* e.g. "standard", "vip"; never NULL once stored */
    bool blocked;             /* the customer blocked the bot (403 from Telegram) */
    int64_t created_at;
};

struct ticket {
    int64_t id;               /* store id, the public ticket number */
    int64_t customer_id;
    enum ticket_status status;
    enum ticket_priority priority;
    const char *group;        /* queue the ticket is in; never NULL once stored */
    const char *assignee;     /* agent id, NULL when unassigned */
    const char *rule;         /* name of the routing rule that placed it, or NULL */
    const char *subject;      /* first line of the first message, bounded */
    struct kv *fields;        /* custom fields (intake answers, API-set) */
    size_t nfields;
    const char **tags;
    size_t ntags;
    int64_t topic_id;         /* forum topic (message_thread_id), 0 = none yet */
    int64_t created_at;
    int64_t updated_at;
    int64_t first_response_at;
    int64_t resolved_at;
    int64_t closed_at;
    int64_t last_customer_msg_at;
    int64_t last_agent_msg_at;
    int32_t thread_len;       /* entries in the thread; next seq is thread_len + 1 */
    int32_t reopen_count;

    /* What the support rules keep on the ticket (the engine's; see
     * desk/route.h, escalate.h, sla.h). */
    const char *strategy;     /* assignment strategy it was placed with
                                 ("round_robin" ...), NULL = its rule's */
    int64_t waiting_since;    /* the first customer message no agent has
                                 answered yet, 0 = nobody waits */
    const char **escalations; /* names of escalation policies applied */
    size_t nescalations;
    struct sla_state *sla;    /* SLA clocks; NULL for a ticket without
                                 (opened before SLA clocks existed) */
    struct ticket_kb *kb;     /* knowledge-base suggestions, best first */
    size_t nkb;

    /* Store-private, not part of the record: the indexed columns as the
     * store last read or wrote them (strings borrowed like the fields
     * above). An update that leaves them alone then skips index upkeep,
     * which was a fifth of the cost of applying a message. known == false
     * (a zeroed struct) always takes the full update. */
    struct {
        bool known;
        enum ticket_status status;
        enum ticket_priority priority;
        const char *group;
        const char *assignee;
        const char *strategy;
        int64_t topic_id;
    } stored;
};

/* Names as used in the API, config and store ("in_progress", "urgent"...). */
const char *ticket_status_name(enum ticket_status s);
const char *ticket_priority_name(enum ticket_priority p);

/* Parse a name; 0, or ERR_INVAL listing the accepted names in e. */
int ticket_status_parse(const char *s, enum ticket_status *out, struct err *e);
int ticket_priority_parse(const char *s, enum ticket_priority *out, struct err *e);

/* True for open, in_progress and on_hold: the ticket counts as agent load. */
bool ticket_status_is_active(enum ticket_status s);

/*
 * Derive a subject from the first message: its first line, trimmed, cut at
 * a character boundary to at most max_bytes bytes (an ellipsis is added when
 * cut). Writes into out (size max_bytes + 4). Returns out.
 */
char *ticket_subject_from_text(const char *text, char *out, size_t max_bytes);

/*
 * The forum topic name for a ticket: "First Last · #42" within Telegram's
 * 128-character limit (counted in UTF-16 units, as Telegram counts). The
 * name is shortened at a character boundary, never the ticket number.
 * `out` must hold TICKET_TOPIC_NAME_MAX bytes. Returns out.
 */
#define TICKET_TOPIC_NAME_MAX 520
char *ticket_topic_name(const char *first, const char *last, int64_t id, char *out);

/* The value of custom field `key`, or NULL. Borrowed from t. */
const char *ticket_field(const struct ticket *t, const char *key);

#endif
