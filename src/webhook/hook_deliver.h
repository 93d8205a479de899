/*
 * hook_deliver.h — the outbound webhook dispatcher: domain events → signed
 * HTTP POSTs to every configured endpoint, retried, ordered, dead-lettered.
 *
 * One thread, one curl multi handle and a read-only store connection;
 * its writes go through hook_record (a second writer beside the engine
 * that only touches the webhook tables, on a thread of its own). The
 * thread sleeps in curl_multi_poll and wakes when
 *   - the engine commits (serve installs hook_deliver_on_commit as the
 *     writer's commit hook: new events are fanned out at once),
 *   - the earliest retry falls due or an attempt's deadline passes (read
 *     from the struct clock: with `serve --test-clock` time moves only when
 *     the test moves it, and hook_deliver_kick after the move),
 *   - a transfer makes progress, a command arrives, or it is stopped.
 *
 * Each round: finish completed transfers (hook_dispatch_classify decides:
 * succeeded, retry per the endpoint's schedule and Retry-After, dead after
 * the last one, or 410 → endpoint disabled), fail transfers past their
 * deadline, fan out new events (one delivery per endpoint, event and body
 * part, bodies from hook_payload_build), start every due delivery the
 * endpoint's concurrency and ordering allow (hook_queue.h), and every
 * FLUSH_MS hand what happened to the writer as one batch.
 *
 * Durability: the store is written AFTER the requests go out, so a commit
 * never delays a delivery. The fan-out cursor advances in the same
 * transaction as the delivery rows it covers (store_hook_endpoint_claim);
 * a crash before that transaction means the events are fanned out and sent
 * again after a restart, with the same webhook-id (hook_payload_msg_id).
 * Delivery is at-least-once; receivers dedupe on webhook-id. The writer
 * commits with synchronous=NORMAL: a power loss can only cost records,
 * which means sending again, never losing an event.
 *
 * Commands from other threads (the REST API: replay, re-enable, disable)
 * are queued to the dispatcher thread, which runs them between rounds
 * through its writer, so its memory and the store never disagree.
 */
#ifndef TGCRM_WEBHOOK_HOOK_DELIVER_H
#define TGCRM_WEBHOOK_HOOK_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "base/err.h"

struct hook_deliver;

/* Counters since start, over all endpoints. */
struct hook_deliver_stats {
    int64_t attempts;            /* HTTP attempts finished (any outcome) */
    int64_t sent;                /* deliveries accepted with a 2xx */
    int64_t retried;             /* failed attempts that will be retried */
    int64_t dead;                /* deliveries moved to the dead-letter list */
    int64_t disabled;            /* endpoints disabled by a 410 */
    int64_t fanned_out;          /* delivery rows created */
    int64_t flush_failures;      /* store writes that had to be retried */
};

/*
 * A dispatcher for the webhooks of c (a reference is taken; see
 * hook_deliver_set_cfg) on clock clk (borrowed, must outlive it). Opens its
 * own connections on c->store (the database must already be migrated:
 * open the engine's writer first) and records every configured endpoint
 * it has not seen before at the newest event, now, so nothing committed
 * after this call is missed. No delivery starts before hook_deliver_start.
 * Caller owns *out; hook_deliver_free.
 */
int hook_deliver_new(struct cfg *c, struct clock *clk, struct hook_deliver **out,
                     struct err *e);

/* Start the thread. */
int hook_deliver_start(struct hook_deliver *d, struct err *e);

/* Look for new events and due retries now. Any thread; cheap. */
void hook_deliver_kick(struct hook_deliver *d);

/* hook_deliver_kick with the signature of a store commit hook
 * (store_set_commit_hook(writer, hook_deliver_on_commit, d)). */
void hook_deliver_on_commit(void *d);

/* Use configuration c from now on (SIGHUP): endpoints are matched by name;
 * a new one starts at the newest event, a removed one's rows stay in the
 * store, a changed secret or timeout applies from the next attempt, a
 * changed URL re-enables an endpoint disabled at the old URL. */
void hook_deliver_set_cfg(struct hook_deliver *d, struct cfg *c);

/*
 * Commands, run on the dispatcher thread; each waits for its result. A
 * delivery or endpoint that is not in the current configuration gives
 * ERR_NOTFOUND ("webhook endpoint 'x' is not configured"); ERR_BUSY when
 * the dispatcher is not running or the store stays locked.
 *
 * replay:      a succeeded or dead delivery is queued again (attempts 0,
 *              due now); ERR_NOTFOUND for an unknown id, ERR_CONFLICT if it
 *              is still pending.
 * replay_dead: every dead delivery of the endpoint; *count gets how many.
 * enable:      re-enable an endpoint (a no-op when it is enabled).
 * disable:     stop sending to it, recording `reason`; its deliveries stay
 *              pending and fan-out goes on.
 */
int hook_deliver_replay(struct hook_deliver *d, int64_t delivery_id, struct err *e);
int hook_deliver_replay_dead(struct hook_deliver *d, const char *endpoint, int64_t *count,
                             struct err *e);
int hook_deliver_enable(struct hook_deliver *d, const char *endpoint, struct err *e);
int hook_deliver_disable(struct hook_deliver *d, const char *endpoint, const char *reason,
                         struct err *e);

void hook_deliver_get_stats(struct hook_deliver *d, struct hook_deliver_stats *out);

/*
 * True when the dispatcher's loop is asleep having done everything it could
 * at clock `now` with every event up to last_event_id fanned out: no
 * delivery can start before the clock moves, an event is committed or an
 * answer arrives. *in_flight gets the attempts still waiting for an answer
 * (a test sink may hold them until its clock moves); *next the earliest
 * clock time a retry falls due or an attempt times out, INT64_MAX for
 * none. The idleness `tgcrm check` waits for (GET /v1/test/idle).
 */
bool hook_deliver_idle(struct hook_deliver *d, int64_t last_event_id, int64_t now,
                       int *in_flight, int64_t *next);

/* Stop the thread: transfers in flight are abandoned (their deliveries stay
 * pending and go again after a restart) and what is known is written.
 * Idempotent; harmless when never started. */
void hook_deliver_stop(struct hook_deliver *d);

/* Stop if needed and free; sets *dp to NULL. NULL is fine. */
void hook_deliver_free(struct hook_deliver **dp);

#endif
