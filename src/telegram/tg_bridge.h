/*
 * tg_bridge.h — the Telegram outbox sender: tg_outbox rows → Bot API calls.
 *
 * The engine writes every Bot API call the desk wants as a tg_outbox row
 * (engine/outbox.h). The bridge is a thread that reads the pending rows on
 * its own READ-ONLY store connection, makes the calls with tg_client, and
 * reports each outcome back as an ENGINE_OUTBOX_RESULT event; it never
 * writes the store. Rules it keeps:
 *
 *  - Order. Rows are taken in id order and, per conversation, only the
 *    oldest pending one — even while it waits for a retry — so a later
 *    message never overtakes an earlier one. A conversation is a private
 *    chat, or one ticket's topic in the staff group (ticket_id): topics
 *    are independent threads, and one ticket waiting for its topic must
 *    not hold up every other ticket's topic. One exception: a row waiting
 *    for its ticket's topic lets that ticket's later createForumTopic go
 *    first (a lost topic is recreated by a row written after the rows
 *    that need it).
 *  - The "$topic" placeholder: params "message_thread_id":"$topic" is
 *    replaced by the ticket's current topic_id, read at send time; while
 *    it is 0 the row waits.
 *  - Rate limits: token buckets on the desk clock (≈1 msg/s per private
 *    chat with a small burst, 20/min per group chat — negative ids — and
 *    30/s overall). A 429 pauses that chat until retry_after has passed
 *    (a 429 on a second chat while the first is still paused is taken as
 *    flood control of the whole bot and pauses everything).
 *  - Outcomes: SENT (with the message_id / the new topic's
 *    message_thread_id), RETRY at retry_at (5xx, network, 401: back-off 1 s,
 *    2 s, 4 s ... 5 min by the row's attempts; 429: now + retry_after),
 *    BLOCKED, THREAD_LOST, FAILED (other 4xx).
 *
 * Due-ness and rate limits use the engine's clock (it may be manual); the
 * thread itself wakes every poll_ms of REAL time (or on tg_bridge_kick /
 * tg_bridge_notify), so moving a manual clock takes effect within one
 * poll interval. It holds the oldest `batch` pending rows in memory and
 * reads only what changed (see tg_bridge.c).
 * Delivery is at-least-once: a call whose outcome could not be reported
 * (the process stopped in between) is made again after a restart.
 */
#ifndef TGCRM_TELEGRAM_TG_BRIDGE_H
#define TGCRM_TELEGRAM_TG_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/cfg.h"
#include "base/err.h"
#include "engine/engine.h"

/* Tunables; zero members take the defaults shown. */
struct tg_bridge_limits {
    int64_t private_burst;        /* 3 messages at once to one private chat */
    int64_t private_per_min;      /* 60 (1/s) sustained */
    int64_t group_burst;          /* 20 */
    int64_t group_per_min;        /* 20 */
    int64_t global_burst;         /* 30 */
    int64_t global_per_min;       /* 1800 (30/s) */
    int64_t poll_ms;              /* 50: real-time wake interval */
    int64_t call_timeout_ms;      /* 30000 per Bot API call */
    int batch;                    /* 500: the oldest pending rows held and walked */
};

struct tg_bridge_stats {
    int64_t calls;                /* Bot API calls made */
    int64_t sent, retried, failed, blocked, thread_lost;
    int64_t rate_limited;         /* 429 answers */
    int64_t report_failures;      /* outcomes the engine did not accept */
};

struct tg_bridge;

/*
 * A bridge for the desk behind `en` (borrowed; must outlive the bridge;
 * its clock is the bridge's clock), with the Telegram and store settings
 * of c (read now: api_base, token, store path). Opens its own read-only
 * store connection (the database must already be migrated: open the
 * engine's writer first). lim may be NULL. ERR_CONFIG without a token.
 * Nothing runs until tg_bridge_start. Caller owns *out; tg_bridge_free.
 */
int tg_bridge_new(struct cfg *c, struct engine *en, const struct tg_bridge_limits *lim,
                  struct tg_bridge **out, struct err *e);

/* Start the sender thread. */
int tg_bridge_start(struct tg_bridge *b, struct err *e);

/* Look at the outbox now instead of at the next poll. Any thread. */
void tg_bridge_kick(struct tg_bridge *b);

/*
 * The engine's writer committed; outbox_writes is its
 * store_tg_outbox_writes count. When it moved, the bridge looks at the
 * outbox now (a kick); when it did not, nothing of the bridge's changed.
 * Call from the writer's commit hook, after the commit is visible. Any
 * thread.
 */
void tg_bridge_notify(struct tg_bridge *b, int64_t outbox_writes);

void tg_bridge_get_stats(struct tg_bridge *b, struct tg_bridge_stats *out);

/*
 * True when the bridge's newest round made no call, saw the outbox as the
 * last tg_bridge_notify left it, and ran at clock `now` — or earlier, when
 * nothing it held back falls due by `now`: nothing it holds can go out
 * before the clock moves past that or the outbox changes. *next gets the
 * earliest clock time at which a row that round held back (a retry, a 429
 * pause, an empty token bucket) may go, INT64_MAX for none. The idleness
 * `tgcrm check` waits for (GET /v1/test/idle); it relies on every outbox
 * write being notified, as serve's commit hook does.
 */
bool tg_bridge_idle(struct tg_bridge *b, int64_t now, int64_t *next);

/* Stop the thread (a call in flight is aborted; its row stays pending) and
 * join it. Idempotent; harmless when never started. Call before
 * engine_stop so the last outcomes can still be reported. */
void tg_bridge_stop(struct tg_bridge *b);

/* Stop if needed and free; sets *bp to NULL. NULL is fine. */
void tg_bridge_free(struct tg_bridge **bp);

#endif
