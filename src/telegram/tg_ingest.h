/*
 * tg_ingest.h — Telegram updates in: long polling or webhook → engine.
 *
 * Polling mode: a thread calls getUpdates with offset =
 * engine_last_update_id() + 1 (limit 100, timeout = telegram.poll_timeout,
 * allowed_updates message / edited_message / callback_query) and hands the
 * page to the engine as one batch, an engine_stream: each update is parsed
 * (tg_call_items leaves them unparsed) and converted with
 * tg_update_to_event while the engine applies the one before, so the parse
 * does not lengthen the page's turn. An update that is not JSON abandons
 * the page (nothing of it is applied) and it is fetched again after a
 * back-off. The offset is read back from the engine each time, so an
 * update is only confirmed to Telegram after the engine committed it
 * (exactly-once).
 *
 * Updates that produce no event must still move the offset. For them the
 * ingest submits an "offset only" event — ENGINE_STAFF_MESSAGE with
 * topic_id == 0 and the update_id — which the engine records as applied
 * and otherwise ignores. Only one is sent per page, after the last real
 * event, and only when the page's highest update_id is not already
 * carried by a real event.
 *
 * Errors back off (real time, not the desk clock): network / 5xx / 409
 * from 1 s doubling to 30 s (429 waits retry_after); 409 is logged as an
 * error (another instance or a webhook is active); 401 is logged and the
 * thread stops polling (the token is wrong).
 *
 * Webhook mode: serve calls tg_ingest_set_webhook at start, and the HTTP
 * route POST /telegram/webhook (api_telegram.c) passes each delivery to
 * tg_ingest_webhook. The webhook is registered with max_connections 1 so
 * Telegram delivers in update_id order: the engine skips an update_id at
 * or below the last applied one as a duplicate.
 */
#ifndef TGCRM_TELEGRAM_TG_INGEST_H
#define TGCRM_TELEGRAM_TG_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/cfg.h"
#include "base/err.h"
#include "engine/engine.h"

struct tg_ingest;

struct tg_ingest_stats {
    int64_t polls;             /* getUpdates calls answered ok */
    int64_t updates;           /* updates received (poll + webhook) */
    int64_t events;            /* real events submitted */
    int64_t skipped;           /* updates that gave no event */
    int64_t errors;            /* failed getUpdates calls */
};

/*
 * An ingest for the desk behind `en` (borrowed; must outlive the ingest),
 * configured by c (telegram.token, api_base, staff_group_id, poll_timeout,
 * webhook.url / secret_token; the ingest takes its own reference; the
 * webhook secret is read from the engine's current cfg on every delivery,
 * so a reload applies). ERR_CONFIG when telegram.token is not set. Nothing
 * runs until tg_ingest_start. Caller owns *out; tg_ingest_free.
 */
int tg_ingest_new(struct cfg *c, struct engine *en, struct tg_ingest **out,
                  struct err *e);

/* Start the long-polling thread (polling mode only). */
int tg_ingest_start(struct tg_ingest *in, struct err *e);

/*
 * Webhook mode: call setWebhook(url = telegram.webhook.url, secret_token,
 * allowed_updates, max_connections 1) once, synchronously, waiting at most
 * 30 s. 0, or the tg_call code with the Bot API description in e.
 */
int tg_ingest_set_webhook(struct tg_ingest *in, struct err *e);

/*
 * Polling mode after a webhook was used: deleteWebhook (pending updates
 * kept), since getUpdates answers 409 while a webhook is set.
 */
int tg_ingest_delete_webhook(struct tg_ingest *in, struct err *e);

/*
 * One webhook delivery: secret_header is the X-Telegram-Bot-Api-Secret-Token
 * header (NULL when absent), body/len the request body. Returns
 *   0             applied — or deliberately skipped, or refused by the
 *                 desk's rules (logged): Telegram must not redeliver it;
 *   ERR_AUTH      secret missing or wrong (compared in constant time),
 *                 or no secret configured;
 *   ERR_INVAL     body is not an Update object;
 *   ERR_DB/ERR_BUSY/... the engine could not commit: answer 5xx so
 *                 Telegram delivers it again.
 * Thread-safe (called from the HTTP worker threads).
 */
int tg_ingest_webhook(struct tg_ingest *in, const char *secret_header, const char *body,
                      size_t len, struct err *e);

void tg_ingest_get_stats(struct tg_ingest *in, struct tg_ingest_stats *out);

/* Stop the polling thread (aborting a parked getUpdates at once) and join
 * it. Idempotent; harmless when never started. */
void tg_ingest_stop(struct tg_ingest *in);

/* Stop if needed and free; sets *inp to NULL. NULL is fine. */
void tg_ingest_free(struct tg_ingest **inp);

#endif
