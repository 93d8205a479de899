/*
 * hook_queue.h — the in-memory schedule of one webhook endpoint.
 *
 * The dispatcher (hook_deliver.c) keeps every pending delivery of an
 * endpoint that it has loaded as a node here. Nodes are grouped in lists by
 * an ordering key — the ticket id under ordering "per_ticket" (events about
 * no ticket share key 0 and are ordered among themselves), a key of their
 * own under "none" — and each list is kept in (event_id, part) order. Only a
 * list's head may be attempted, and only while no attempt of that list is in
 * flight ("busy"): so a delivery that is retrying holds back the later
 * deliveries of its ticket and nothing else.
 *
 * The heads of idle lists sit in a min-heap by (due, event_id, part), so the
 * next delivery to start and the earliest time anything becomes due are both
 * O(1) to find, and starting or finishing one is O(log lists). Lists are
 * found by key in an open-addressing hash table.
 *
 * Pure bookkeeping: no clock (times are passed in), no I/O, no allocation of
 * nodes — the caller embeds struct hook_qnode in its own record and owns it.
 */
#ifndef TGCRM_WEBHOOK_HOOK_QUEUE_H
#define TGCRM_WEBHOOK_HOOK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hook_qlist;

/* Embedded in the caller's delivery record; the caller sets the first three
 * members before hook_queue_add and changes `due` only through the queue. */
struct hook_qnode {
    int64_t event_id;
    int part;
    int64_t due;                 /* earliest time of the next attempt */
    /* private to hook_queue.c */
    struct hook_qnode *next;
    struct hook_qlist *list;
};

struct hook_queue {
    bool per_ticket;
    struct hook_qlist **slots;   /* owned hash table of owned lists; NULL = empty */
    size_t cap, nlists;
    struct hook_qlist **heap;    /* owned array; borrowed entries: idle lists by head */
    size_t nheap, heapcap;
    size_t nodes;                /* nodes in all lists */
    size_t busy;                 /* lists with an attempt in flight */
    int64_t seq;                 /* keys of ordering "none" */
};

/* An empty queue; per_ticket false means ordering "none". */
void hook_queue_init(struct hook_queue *q, bool per_ticket);

/* Free the queue's own memory. Nodes still in it are forgotten, not freed:
 * hand them back first with hook_queue_drain. */
void hook_queue_release(struct hook_queue *q);

/*
 * Add node n (event_id, part and due set) for ticket `ticket_id`. It goes
 * into its list in (event_id, part) order, but never before a busy head.
 * busy: n is already in flight (the dispatcher rebuilding its queue around
 * running attempts): it becomes the head of its list, which is marked busy.
 */
void hook_queue_add(struct hook_queue *q, struct hook_qnode *n, int64_t ticket_id, bool busy);

/* The earliest due idle head with due <= now, marked busy (it stays the head
 * of its list until hook_queue_retry or hook_queue_remove); NULL if none. */
struct hook_qnode *hook_queue_pop(struct hook_queue *q, int64_t now);

/* When the earliest idle head is due; INT64_MAX when there is none. */
int64_t hook_queue_next_due(const struct hook_queue *q);

/* How many idle heads are due at now, counting no further than limit. */
size_t hook_queue_count_due(const struct hook_queue *q, int64_t now, size_t limit);

/* The attempt of busy head n failed: it stays the head, due again at `due`. */
void hook_queue_retry(struct hook_queue *q, struct hook_qnode *n, int64_t due);

/* Take n out: normally the busy head whose delivery finished (the next node
 * of its list, if any, becomes the head), but any node may go. */
void hook_queue_remove(struct hook_queue *q, struct hook_qnode *n);

/* Take every node out, calling fn(node, arg) for each (fn may free it);
 * the queue is empty and usable afterwards. */
void hook_queue_drain(struct hook_queue *q, void (*fn)(struct hook_qnode *n, void *arg),
                      void *arg);

#endif
