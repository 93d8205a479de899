/*
 * hook_record.h — the webhook dispatcher's writer: what happened to
 * deliveries, written to the store on a thread of its own.
 *
 * The dispatcher (hook_deliver.c) never waits for the database: each round
 * it copies what changed — cursor claims, endpoint states, deliveries by
 * their key (endpoint, event_id, part), attempts — into a batch and hands it
 * over. This thread writes batches in order, all that are waiting in one
 * transaction, on its own read-write connection; a busy or failing store
 * only delays the writing (retried with back-off, never skipped or
 * reordered), and the dispatcher stops fanning out new events while too
 * many batches wait (hook_record_pending).
 *
 * A batch is self-contained: the claim that moves an endpoint's cursor
 * travels with the delivery rows for the events it covers, so whatever
 * prefix of batches reached the store, the store is consistent.
 *
 * Claims are compare-and-set (store_hook_endpoint_claim). When one fails,
 * another dispatcher has taken the endpoint's events: the endpoint is
 * "fenced" — this writer drops every later operation for it and logs why —
 * and the dispatcher, seeing hook_record_fenced, stops serving it.
 */
#ifndef TGCRM_WEBHOOK_HOOK_RECORD_H
#define TGCRM_WEBHOOK_HOOK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cfg.h"
#include "base/err.h"
#include "store/store.h"

struct hook_record;

/*
 * Open a read-write connection on cfg and start the thread. `written`
 * (may be NULL) is called with `arg` on the writer thread after every
 * transaction, to wake whoever waits for the store to catch up. Caller owns
 * *out; hook_record_free.
 */
int hook_record_new(const struct cfg_store *cfg, void (*written)(void *arg), void *arg,
                    struct hook_record **out, struct err *e);

/*
 * Operations, added to the open batch (everything is copied). Only the
 * dispatcher thread may call these and hook_record_submit.
 *
 * claim:     move `endpoint`'s cursor from `from` to `to`.
 * endpoint:  its disabled state (at, reason, url when disabled).
 * delivery:  insert or update delivery d (by key); returns a reference for
 *            hook_record_attempt within the same batch.
 * attempt:   one attempt of the delivery added as `ref` in this batch.
 */
void hook_record_claim(struct hook_record *w, const char *endpoint, int64_t from, int64_t to);
void hook_record_endpoint(struct hook_record *w, const char *endpoint, bool disabled,
                          int64_t at, const char *reason, const char *url);
size_t hook_record_delivery(struct hook_record *w, const struct hook_delivery_row *d);
void hook_record_attempt(struct hook_record *w, size_t ref, const struct hook_attempt_row *a);

/* Hand the open batch to the thread (nothing happens when it is empty). */
void hook_record_submit(struct hook_record *w);

/* Batches handed over and not written yet. Any thread. */
size_t hook_record_pending(struct hook_record *w);

/*
 * Run fn(s, arg, e) on the writer's connection in a transaction of its own,
 * after every batch handed over so far is written, and wait for it. Returns
 * fn's result (the transaction is rolled back when it fails); ERR_BUSY is
 * retried for a while first. For the dispatcher's commands (replay ...).
 */
int hook_record_run(struct hook_record *w, int (*fn)(struct store *s, void *arg, struct err *e),
                    void *arg, struct err *e);

/* True once a claim of endpoint failed: nothing more is written for it. */
bool hook_record_fenced(struct hook_record *w, const char *endpoint);

/* Write what was handed over (trying for a few seconds if the store
 * fails), stop the thread, close; sets *wp to NULL. NULL is fine. */
void hook_record_free(struct hook_record **wp);

#endif
