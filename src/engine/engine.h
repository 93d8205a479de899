/*
 * engine.h — the single writer.
 *
 * Every change to the desk — a customer message, an agent reply, a REST
 * command, a due timer — is an engine_event. The engine applies events one
 * at a time on its own thread with the time read once from its clock, asks
 * desk/ for the decisions, and writes the new state, thread entries, outbox
 * rows (Telegram calls, domain events for webhooks) and timers in ONE
 * transaction. Events that arrive together are applied in arrival order and
 * committed as one batch (group commit), each inside its own savepoint so a
 * refused event undoes only itself.
 *
 * The engine performs no network I/O and never reads the wall clock except
 * through the struct clock it was given.
 */
#ifndef TGCRM_ENGINE_ENGINE_H
#define TGCRM_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "base/err.h"
#include "desk/agent.h"
#include "desk/ticket.h"
#include "store/store.h"

enum engine_event_type {
    ENGINE_CUSTOMER_MESSAGE = 0, /* a customer wrote: opens, appends to or reopens a ticket;
                                    with the intake form on, a message (or button press) in
                                    the private chat that would open one fills in the form
                                    first (its state is kept in the store) */
    ENGINE_AGENT_REPLY,          /* an agent's answer, relayed to the customer */
    ENGINE_AGENT_NOTE,           /* an internal note, never relayed */
    ENGINE_TICKET_UPDATE,        /* status / priority / group / assignee change */
    ENGINE_AGENT_AVAILABILITY,   /* an agent goes online / away / offline */
    ENGINE_TIMERS_DUE,           /* apply every timer due at the engine's now (SLA
                                    deadlines, no-reply escalations), each in its
                                    own savepoint */

    /* --- from Telegram (ingest) --- */
    ENGINE_STAFF_MESSAGE,        /* someone wrote in the staff group: agent reply,
                                    topic command (/status, /resolve ...), or ignored */
    ENGINE_CUSTOMER_EDIT,        /* a customer edited a message: thread entry updated */

    /* --- from the Telegram outbox (bridge) --- */
    ENGINE_OUTBOX_RESULT,        /* what became of one tg_outbox row (see outbox_*) */

    ENGINE_TICKET_ESCALATE       /* escalate ticket_id by hand (API): policy (NULL =
                                    the first manual one that changes something),
                                    reason (the note), actor */
};

/*
 * Outcome of one Bot API call from the Telegram outbox. The bridge never
 * writes the store itself: it reports here and the engine updates the row
 * and whatever the outcome means for the ticket, in one transaction.
 */
enum engine_outbox_outcome {
    OUTBOX_SENT = 0,        /* done; for createForumTopic, topic_id links the ticket */
    OUTBOX_RETRY,           /* transient (5xx, network, 429): try again at retry_at */
    OUTBOX_FAILED,          /* permanent error: row failed, recorded on the ticket */
    OUTBOX_BLOCKED,         /* 403 blocked by the user: customer marked blocked, row failed */
    OUTBOX_THREAD_LOST      /* topic deleted: the ticket's topic is recreated, the row
                               stays pending and goes out once the new topic exists */
};

/*
 * One event. Every pointer is borrowed from the submitter and must stay
 * valid until engine_submit returns.
 */
struct engine_event {
    enum engine_event_type type;

    /* ENGINE_CUSTOMER_MESSAGE */
    struct {
        int64_t tg_user_id;      /* required, > 0 */
        const char *first_name;  /* may be NULL */
        const char *last_name;
        const char *username;
        const char *language;
        const char *tier;        /* NULL keeps the stored tier ("standard" for new) */
    } customer;
    int64_t tg_chat_id;          /* where the message was written, 0 if not Telegram */
    int64_t tg_message_id;
    int64_t update_id;           /* Telegram update id, 0 if not from Telegram */

    /* Idempotency key (an inbound webhook-id, namespaced by the caller), or
     * NULL. An event whose key is already recorded is not applied again:
     * its result is marked duplicate and carries the first application's
     * ticket_id and thread_seq. An applied event records the key in its own
     * savepoint (table idempotency: status 0, body {"ticket_id","thread_seq"}),
     * so the change and the record commit together or not at all. A
     * refused event records nothing: it changed nothing. */
    const char *idem_key;

    /* ticket the event is about (reply, note, update); 0 for customer messages */
    int64_t ticket_id;

    /* ENGINE_AGENT_REPLY / ENGINE_AGENT_NOTE / actor of an update */
    const char *agent_id;        /* must be a configured agent for reply/note */
    const char *text;            /* message text (customer message, reply, note) */
    const char *template_name;   /* ENGINE_AGENT_REPLY: a canned response (templates
                                    section) rendered for the ticket instead of text
                                    (text must then be NULL) */

    /* ENGINE_TICKET_UPDATE: only the members flagged are changed */
    bool set_status;     enum ticket_status status;
    bool set_priority;   enum ticket_priority priority;
    bool set_group;      const char *group;
    bool set_assignee;   const char *assignee;   /* NULL = unassign */
    const char *actor;           /* who asked: "api:<token name>", "agent:<id>" ... */
    const char *policy;          /* ENGINE_TICKET_ESCALATE: an escalation policy, or NULL */
    const char *reason;          /* free text recorded in the thread, may be NULL */

    /* ENGINE_AGENT_AVAILABILITY */
    enum agent_avail availability;

    /* ENGINE_STAFF_MESSAGE: author is customer.tg_user_id (+ names), the
     * topic is topic_id, text and tg ids as above.
     * ENGINE_CUSTOMER_EDIT: customer.tg_user_id, tg_chat_id, tg_message_id,
     * text (the new text). */
    int64_t topic_id;
    /* ENGINE_CUSTOMER_MESSAGE from a button press (callback_query): its id, to
     * answer it, and its callback_data (text is then NULL). */
    const char *callback_id;
    const char *callback_data;

    /* ENGINE_OUTBOX_RESULT */
    int64_t outbox_id;
    enum engine_outbox_outcome outcome;
    int64_t retry_at;            /* OUTBOX_RETRY: when to try again (ms) */
    int64_t tg_result_message_id;/* OUTBOX_SENT: message_id Telegram returned, 0 if none */
    const char *error;           /* Bot API description for RETRY/FAILED/BLOCKED/THREAD_LOST */
    /* topic_id (above): OUTBOX_SENT of createForumTopic: the new message_thread_id */
};

struct engine_result {
    int code;                    /* 0 or the ERR_* the event was refused with */
    struct err err;              /* the reason when code != 0 */
    int64_t ticket_id;           /* ticket created or changed, 0 if none */
    bool created;                /* a new ticket was opened */
    bool reopened;               /* a resolved/closed ticket was reopened */
    bool duplicate;              /* the Telegram update or the idem_key was applied
                                    before: skipped */
    bool ignored;                /* applied, but deliberately did nothing (logged):
                                    e.g. a non-agent writing in the staff group */
    int32_t thread_seq;          /* seq of the thread entry written, 0 if none */
    char missing[256];           /* a canned response refused (ERR_UNPROCESSABLE, field
                                    "template"): its variables without a value,
                                    comma-separated; "" otherwise */
};

struct engine;
struct engine_stream;   /* engine_stream_begin */

struct engine_stats {
    int64_t events_applied;
    int64_t events_refused;
    int64_t batches;
    int64_t commit_failures;
    int64_t tickets_created;
};

/*
 * Create an engine over the writer connection `w` (ownership taken: the
 * engine closes it) with a reference to `c` (the engine takes its own ref)
 * and the clock `clk` (borrowed; must outlive the engine). Applies the
 * configured agents' initial availability for agents the store has never
 * seen. Caller owns *out; engine_free.
 */
int engine_new(struct cfg *c, struct store *w, struct clock *clk,
               struct engine **out, struct err *e);

/*
 * Check what cfg_load cannot: compile c's rules, templates, knowledge base
 * and intake form as engine_new and engine_set_cfg would, and drop them.
 * 0, or ERR_CONFIG with "file:line:column: message" in e. serve calls it
 * before starting and before a reload, so a bad template never runs.
 */
int engine_check_cfg(struct cfg *c, struct err *e);

/* Start the writer thread. engine_submit may be called from any thread after. */
int engine_start(struct engine *en, struct err *e);

/*
 * Apply one event and wait until it is committed (or refused). The result's
 * code is 0 when applied; an event refused by the rules (ERR_INVAL,
 * ERR_NOTFOUND, ERR_CONFLICT ...) changes nothing. Returns res->code.
 * Safe from any thread once started; ERR_BUSY after engine_stop began.
 */
int engine_submit(struct engine *en, const struct engine_event *ev,
                  struct engine_result *res);

/*
 * Apply events without the thread, in the caller's thread, as one batch
 * (used by tests and by the ingest path that batches itself). res[i] gets
 * each event's result. Returns 0, or the store error that failed the
 * commit (then nothing of the batch was applied).
 */
int engine_apply_batch(struct engine *en, const struct engine_event *evs,
                       struct engine_result *res, size_t n, struct err *e);

/*
 * Submit n events and wait until all are committed, as one batch where
 * possible (the ingest path: a getUpdates page at a time). res[i] gets each
 * result; returns 0 or the first non-zero result code.
 */
int engine_submit_batch(struct engine *en, const struct engine_event *evs,
                        struct engine_result *res, size_t n);

/*
 * A batch handed over while it runs (the ingest path: a getUpdates page,
 * update by update as it is parsed), so that reading the next event
 * overlaps applying the last. The engine thread applies each event as it
 * arrives, all in one transaction committed at engine_stream_end; nothing
 * else is applied meanwhile. evs and res (cap of each) stay the caller's
 * and must live until engine_stream_end; the caller fills evs[i] before
 * pushing it. Returns 0 with *out set, or ERR_BUSY when the engine is not
 * running. Every begun stream must be ended, soon: the writer waits.
 */
int engine_stream_begin(struct engine *en, struct engine_event *evs,
                        struct engine_result *res, size_t cap, struct engine_stream **out);

/* Hand over the next event (evs[count], filled by the caller). ERR_INVAL
 * when the stream is full (cap) or ended. */
int engine_stream_push(struct engine_stream *st);

/*
 * Close the stream and wait until its batch is committed: res[i] then
 * holds each pushed event's result, and the return is 0 or the first
 * non-zero result code (as engine_submit_batch). With abandon, nothing of
 * the batch stays (it is rolled back; res is zeroed) and 0 is returned.
 * Frees the stream and sets *stp to NULL; NULL is fine.
 */
int engine_stream_end(struct engine_stream **stp, bool abandon);

/* Highest Telegram update_id applied so far (the getUpdates offset is this + 1). */
int64_t engine_last_update_id(struct engine *en);

/* Replace the configuration (SIGHUP): its routing rules and escalation
 * policies are compiled here, once. Events already queued see the new one;
 * a batch already running finishes with the old. Takes its own reference
 * to c. A cfg whose rules do not compile (possible only for one cfg_load
 * did not check) is logged and the old configuration stays. */
void engine_set_cfg(struct engine *en, struct cfg *c);

/* A new reference to the current configuration; cfg_unref it. */
struct cfg *engine_cfg(struct engine *en);

/* The engine's clock (borrowed). */
struct clock *engine_clock(struct engine *en);

/* Wake the engine so it looks at timers again (after a manual clock move).
 * With the real clock the engine wakes by itself when the next timer is
 * due. */
void engine_kick(struct engine *en);

void engine_get_stats(struct engine *en, struct engine_stats *out);

/* When the earliest timer falls due (clock ms), 0 when there is none. */
int64_t engine_next_timer(struct engine *en);

/* Stop the thread after the queued events are applied. Idempotent. */
void engine_stop(struct engine *en);

/* Stop if needed and free; sets *enp to NULL. */
void engine_free(struct engine **enp);

#endif
