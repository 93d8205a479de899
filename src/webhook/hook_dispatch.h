/*
 * hook_dispatch.h — delivery policy of the outbound webhook dispatcher.
 *
 * What exists: the pure decisions a dispatcher needs (which endpoint wants
 * which event, what an HTTP answer means, when the next attempt is due),
 * unit-tested. What does not exist yet: the dispatcher itself. Nothing
 * calls this file; serve does not start a dispatcher.
 *
 * Design of the dispatcher (to be implemented; needs a store migration):
 *
 *   Thread and I/O. One thread owned by serve, one curl multi handle, at
 *   most a few transfers in flight per endpoint. It wakes when the engine
 *   commits (the same signal the Telegram bridge uses) or when the earliest
 *   next_attempt_at is due. No redirects (CURLOPT_FOLLOWLOCATION off),
 *   CURLOPT_TIMEOUT_MS = cfg_webhook.timeout_ms, connect timeout 5 s,
 *   response body read up to 4 KiB for the log, then dropped.
 *
 *   Durable state. A table webhook_deliveries (endpoint, event_id, part,
 *   parts, ticket_id, state pending|succeeded|dead|disabled, attempts,
 *   next_attempt_at, last_status, last_error, created_at), unique on
 *   (endpoint, event_id, part), and a per-endpoint cursor (last event id
 *   fanned out) in meta. The dispatcher reads events after the cursor
 *   with store_event_list, keeps those hook_dispatch_wants says the
 *   endpoint wants, builds the bodies with hook_payload_build and inserts
 *   one delivery row per body, advancing the cursor in the same
 *   transaction. Bodies are rebuilt from the event row on each attempt
 *   (they are a pure function of the event and the thread up to its
 *   thread_seq, which never changes), so the table stores no bodies.
 *
 *   Headers per attempt: webhook-id from hook_payload_msg_id (stable
 *   across retries), webhook-timestamp = now of this attempt in seconds,
 *   webhook-signature from hook_sign_header with secret and
 *   previous_secret, Content-Type application/json, User-Agent tgcrm.
 *
 *   Ordering. ordering "per_ticket": a delivery is only started when no
 *   earlier delivery (lower event_id, or same event and lower part) of the
 *   same endpoint and ticket is pending; a failing delivery therefore holds
 *   back later events of its ticket but not of other tickets. Events
 *   without a ticket are ordered among themselves. "none": any due
 *   delivery may go.
 *
 *   Outcomes (hook_dispatch_classify): 2xx succeeded; 410 disables the
 *   endpoint (its pending rows become "disabled"; nothing more is sent
 *   until a config reload changes the endpoint); anything else, timeouts
 *   and connection errors included, is retried after the cfg retry_ms
 *   schedule (hook_dispatch_next_attempt), with Retry-After on 429 and 503
 *   honoured when it asks for a later time (capped at 24 h). When the
 *   schedule is used up the row becomes "dead": the dead-letter list,
 *   listed and replayed through the API (replay = state pending,
 *   attempts 0), and counted in metrics.
 *
 *   Reload. Endpoints are matched by name; a changed secret applies from
 *   the next attempt; a removed endpoint's pending rows stay for replay.
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
