/*
 * hook_dispatch.h — delivery policy of the outbound webhook dispatcher.
 *
 * The pure decisions the dispatcher (hook_deliver.c) asks for: which
 * endpoint wants which event, what an HTTP answer means, when the next
 * attempt is due. No I/O, no clock: unit-tested on their own.
 *
 * The dispatcher follows the design first written here, with these
 * changes (each for a reason found while building it):
 *   - The per-endpoint cursor lives in a table (webhook_endpoints) rather
 *     than in meta, beside the endpoint's disabled flag, reason and URL,
 *     and it advances by compare-and-set (store_hook_endpoint_claim), so a
 *     second dispatcher on the same database is detected, not trusted.
 *   - 410 disables the endpoint but leaves its rows "pending" instead of
 *     moving them to a "disabled" state: "pending" already means "not
 *     delivered", re-enabling (through the API, or a reload that changes
 *     the URL) then needs no conversion, and order is kept.
 *   - Up to cfg_webhook.concurrency (default 16) attempts per endpoint are
 *     in flight, not "a few": the throughput goal needs it, and per-ticket
 *     ordering still allows one per ticket.
 *   - The due list with per-ticket ordering is kept in memory
 *     (hook_queue.h) instead of being queried each round: a NOT EXISTS
 *     query per round is O(pending rows) and would cap the rate.
 *   - The store is written after the requests go out, so a database commit
 *     is never on a delivery's path; a crash re-sends with the same
 *     webhook-id (at-least-once, as designed).
 *   - The engine had no commit signal (the Telegram bridge polls every
 *     50 ms); serve installs a commit hook on the engine's writer
 *     connection (store_set_commit_hook) that wakes the dispatcher.
 */
#ifndef TGCRM_WEBHOOK_HOOK_DISPATCH_H
#define TGCRM_WEBHOOK_HOOK_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/cfg.h"

/* Longest Retry-After the dispatcher obeys: one day. */
#define HOOK_DISPATCH_RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

/* What to do after one attempt. */
enum hook_outcome {
    HOOK_SUCCEEDED = 0,   /* 2xx: done */
    HOOK_RETRY,           /* failed; try again per the schedule */
    HOOK_DISABLE          /* 410 Gone: stop sending to this endpoint */
};

/* True when endpoint h subscribes to event type `type` (an empty events
 * list means every type). */
bool hook_dispatch_wants(const struct cfg_webhook *h, const char *type);

/*
 * Classify an attempt's HTTP status (0 for a timeout or connection error:
 * no answer). Redirects are failures (never followed).
 */
enum hook_outcome hook_dispatch_classify(long status);

/*
 * Parse a Retry-After header value (delta-seconds, or an IMF-fixdate such
 * as "Sun, 06 Nov 1994 08:49:37 GMT") into a delay in ms from now_ms.
 * Returns the delay (0 for a date in the past), or -1 when the value is
 * NULL or malformed. The result is capped at HOOK_DISPATCH_RETRY_AFTER_MAX_MS.
 */
int64_t hook_dispatch_retry_after(const char *value, int64_t now_ms);

/*
 * When the next attempt is due after `attempts` failed ones (1 after the
 * first failure): now_ms + h->retry_ms[attempts - 1], or later when
 * retry_after_ms (>= 0; -1 = none) asks for more. Returns -1 when the
 * schedule is used up (the delivery goes to the dead-letter list).
 */
int64_t hook_dispatch_next_attempt(const struct cfg_webhook *h, int attempts,
                                   int64_t now_ms, int64_t retry_after_ms);

#endif
