/*
 * hook_queue.c — one endpoint's in-memory schedule (see hook_queue.h).
 *
 * Invariants: a list is in the table while it has nodes; it is in the heap
 * exactly when it has nodes and is not busy; heap_idx is its position there
 * (NOT_IN_HEAP otherwise). The table uses linear probing with backward-shift
 * deletion, so there are no tombstones to sweep.
 */
#include "webhook/hook_queue.h"

#include "base/mem.h"

#define NOT_IN_HEAP SIZE_MAX
#define TABLE_MIN 64

struct hook_qlist {
    int64_t key;
    struct hook_qnode *head, *tail;
    bool busy;
    size_t heap_idx;
};

/* ---- the table ----------------------------------------------------------------- */

static size_t slot_of(int64_t key, size_t cap)
{
    uint64_t x = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (size_t)x & (cap - 1);
}

static void table_put(struct hook_qlist **slots, size_t cap, struct hook_qlist *l)
{
    size_t i = slot_of(l->key, cap);
    while (slots[i] != NULL)
        i = (i + 1) & (cap - 1);
    slots[i] = l;
}

static void table_grow(struct hook_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : TABLE_MIN;
    struct hook_qlist **slots = mem_alloc(cap * sizeof(struct hook_qlist *));
    for (size_t i = 0; i < q->cap; i++)
        if (q->slots[i] != NULL)
            table_put(slots, cap, q->slots[i]);
    mem_free(q->slots);
    q->slots = slots;
    q->cap = cap;
}

static struct hook_qlist *table_find(const struct hook_queue *q, int64_t key)
{
    if (q->cap == 0)
        return NULL;
    for (size_t i = slot_of(key, q->cap); q->slots[i] != NULL; i = (i + 1) & (q->cap - 1))
        if (q->slots[i]->key == key)
            return q->slots[i];
    return NULL;
}

/* Remove l and close the gap by moving later entries of the probe run back. */
static void table_del(struct hook_queue *q, const struct hook_qlist *l)
{
    size_t mask = q->cap - 1;
    size_t i = slot_of(l->key, q->cap);
    while (q->slots[i] != l)
        i = (i + 1) & mask;
    q->slots[i] = NULL;
    for (size_t j = (i + 1) & mask; q->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = slot_of(q->slots[j]->key, q->cap);
        /* move j back to i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            q->slots[i] = q->slots[j];
            q->slots[j] = NULL;
            i = j;
        }
    }
    q->nlists--;
}

/* ---- the heap ------------------------------------------------------------------- */

static bool before(const struct hook_qlist *a, const struct hook_qlist *b)
{
    const struct hook_qnode *x = a->head, *y = b->head;
    if (x->due != y->due)
        return x->due < y->due;
    if (x->event_id != y->event_id)
        return x->event_id < y->event_id;
    return x->part < y->part;
}

static void heap_set(struct hook_queue *q, size_t i, struct hook_qlist *l)
{
    q->heap[i] = l;
    l->heap_idx = i;
}

static void sift_up(struct hook_queue *q, size_t i)
{
    struct hook_qlist *l = q->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(l, q->heap[p]))
            break;
        heap_set(q, i, q->heap[p]);
        i = p;
    }
    heap_set(q, i, l);
}

static void sift_down(struct hook_queue *q, size_t i)
{
    struct hook_qlist *l = q->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->nheap)
            break;
        if (c + 1 < q->nheap && before(q->heap[c + 1], q->heap[c]))
            c++;
        if (!before(q->heap[c], l))
            break;
        heap_set(q, i, q->heap[c]);
        i = c;
    }
    heap_set(q, i, l);
}

static void heap_push(struct hook_queue *q, struct hook_qlist *l)
{
    if (q->nheap == q->heapcap) {
        q->heapcap = q->heapcap ? q->heapcap * 2 : TABLE_MIN;
        q->heap = mem_realloc(q->heap, q->heapcap * sizeof(struct hook_qlist *));
    }
    heap_set(q, q->nheap++, l);
    sift_up(q, l->heap_idx);
}

static void heap_del(struct hook_queue *q, struct hook_qlist *l)
{
    size_t i = l->heap_idx;
    l->heap_idx = NOT_IN_HEAP;
    struct hook_qlist *last = q->heap[--q->nheap];
    if (i == q->nheap)
        return;
    heap_set(q, i, last);
    sift_down(q, i);
    sift_up(q, last->heap_idx);
}

/* The head of l changed (or its due did): restore l's place. */
static void heap_fix(struct hook_queue *q, struct hook_qlist *l)
{
    if (l->heap_idx == NOT_IN_HEAP)
        return;
    sift_down(q, l->heap_idx);
    sift_up(q, l->heap_idx);
}

/* ---- the queue -------------------------------------------------------------------- */

void hook_queue_init(struct hook_queue *q, bool per_ticket)
{
    *q = (struct hook_queue){.per_ticket = per_ticket};
}

void hook_queue_release(struct hook_queue *q)
{
    for (size_t i = 0; i < q->cap; i++)
        mem_free(q->slots[i]);
    mem_free(q->slots);
    mem_free(q->heap);
    *q = (struct hook_queue){.per_ticket = q->per_ticket};
}

static bool node_before(const struct hook_qnode *a, const struct hook_qnode *b)
{
    return a->event_id != b->event_id ? a->event_id < b->event_id : a->part < b->part;
}

void hook_queue_add(struct hook_queue *q, struct hook_qnode *n, int64_t ticket_id, bool busy)
{
    int64_t key = q->per_ticket ? ticket_id : --q->seq;
    struct hook_qlist *l = table_find(q, key);
    if (l == NULL) {
        if ((q->nlists + 1) * 10 > q->cap * 7)
            table_grow(q);
        l = mem_alloc(sizeof *l);
        l->key = key;
        l->heap_idx = NOT_IN_HEAP;
        table_put(q->slots, q->cap, l);
        q->nlists++;
    }
    n->list = l;
    n->next = NULL;
    q->nodes++;
    if (l->head == NULL) {
        l->head = l->tail = n;
    } else if (busy) {
        n->next = l->head;           /* a running attempt is always the head */
        l->head = n;
    } else if (node_before(l->tail, n)) {
        l->tail->next = n;           /* the usual case: a later event */
        l->tail = n;
    } else {
        /* an earlier delivery queued again: its place in event order, but
         * behind a head whose attempt is running */
        struct hook_qnode *p = l->busy ? l->head : NULL;
        struct hook_qnode *c = p ? p->next : l->head;
        while (c != NULL && node_before(c, n)) {
            p = c;
            c = c->next;
        }
        n->next = c;
        if (p == NULL)
            l->head = n;
        else
            p->next = n;
        if (c == NULL)
            l->tail = n;
    }
    if (busy) {
        if (l->heap_idx != NOT_IN_HEAP)
            heap_del(q, l);
        if (!l->busy)
            q->busy++;
        l->busy = true;
    } else if (!l->busy) {
        if (l->heap_idx == NOT_IN_HEAP)
            heap_push(q, l);
        else
            heap_fix(q, l);
    }
}

struct hook_qnode *hook_queue_pop(struct hook_queue *q, int64_t now)
{
    if (q->nheap == 0 || q->heap[0]->head->due > now)
        return NULL;
    struct hook_qlist *l = q->heap[0];
    heap_del(q, l);
    l->busy = true;
    q->busy++;
    return l->head;
}

int64_t hook_queue_next_due(const struct hook_queue *q)
{
    return q->nheap > 0 ? q->heap[0]->head->due : INT64_MAX;
}

/* Heap entries due at now in the subtree at i, up to limit - counted. */
static size_t count_from(const struct hook_queue *q, size_t i, int64_t now, size_t limit)
{
    if (i >= q->nheap || limit == 0 || q->heap[i]->head->due > now)
        return 0;
    size_t c = 1;
    c += count_from(q, 2 * i + 1, now, limit - c);
    if (c < limit)
        c += count_from(q, 2 * i + 2, now, limit - c);
    return c;
}

size_t hook_queue_count_due(const struct hook_queue *q, int64_t now, size_t limit)
{
    return count_from(q, 0, now, limit);
}

void hook_queue_retry(struct hook_queue *q, struct hook_qnode *n, int64_t due)
{
    struct hook_qlist *l = n->list;
    n->due = due;
    if (l->busy) {
        l->busy = false;
        q->busy--;
    }
    if (l->heap_idx == NOT_IN_HEAP)
        heap_push(q, l);
    else
        heap_fix(q, l);
}

/* Unlink n from its list wherever it is; the list leaves the heap/table
 * when it empties. */
static void unlink_node(struct hook_queue *q, struct hook_qnode *n)
{
    struct hook_qlist *l = n->list;
    struct hook_qnode *p = NULL;
    for (struct hook_qnode *c = l->head; c != n; c = c->next)
        p = c;
    bool was_head = p == NULL;
    if (was_head)
        l->head = n->next;
    else
        p->next = n->next;
    if (l->tail == n)
        l->tail = p;
    n->next = NULL;
    n->list = NULL;
    q->nodes--;
    if (was_head && l->busy) {
        l->busy = false;
        q->busy--;
    }
    if (l->head == NULL) {
        if (l->heap_idx != NOT_IN_HEAP)
            heap_del(q, l);
        table_del(q, l);
        mem_free(l);
    } else if (!l->busy) {
        if (l->heap_idx == NOT_IN_HEAP)
            heap_push(q, l);
        else
            heap_fix(q, l);
    }
}

void hook_queue_remove(struct hook_queue *q, struct hook_qnode *n)
{
    if (n->list != NULL)
        unlink_node(q, n);
}

void hook_queue_drain(struct hook_queue *q, void (*fn)(struct hook_qnode *n, void *arg),
                      void *arg)
{
    for (size_t i = 0; i < q->cap; i++) {
        struct hook_qlist *l = q->slots[i];
        if (l == NULL)
            continue;
        for (struct hook_qnode *c = l->head, *next; c != NULL; c = next) {
            next = c->next;
            c->next = NULL;
            c->list = NULL;
            fn(c, arg);
        }
        mem_free(l);
        q->slots[i] = NULL;
    }
    q->nlists = q->nheap = q->nodes = q->busy = 0;
}
