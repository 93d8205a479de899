/*
 * sink_ids.c — the sink's duplicate index: (endpoint, webhook-id) → the seq
 * of the first delivery that carried it.
 *
 * An open-addressing hash table (linear probing, deletion by backward
 * shift, so there are no tombstones to clean up) plus a ring of the keys in
 * insertion order. When the index is full the oldest key is forgotten and
 * counted: duplicate detection then covers the newest `max` ids, which the
 * stats make visible, instead of memory growing without bound. Ids outlive
 * the journal's records on purpose: a redelivery of an evicted request is
 * still a duplicate. The caller holds the sink's mutex.
 */
#include "check/sink_impl.h"

#include "base/mem.h"

#include <string.h>

struct slot {
    char *key;          /* owned: "endpoint\nid"; NULL = empty */
    uint64_t hash;
    int64_t seq;
};

struct sink_ids {
    struct slot *t;     /* mask + 1 slots, at most half full; grows */
    size_t mask;
    char **order;       /* ring of ocap keys (borrowed from t), oldest at ohead */
    size_t ohead, ocap, n, max;
    int64_t forgotten;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Both structures start small and double as ids arrive: a sink that sees
 * a hundred deliveries should not pay for a million. */
#define IDS_MIN 16u

struct sink_ids *sink_ids_new(size_t max)
{
    struct sink_ids *x = mem_alloc(sizeof *x);
    x->t = mem_alloc(2 * IDS_MIN * sizeof *x->t);
    x->mask = 2 * IDS_MIN - 1;
    x->ocap = IDS_MIN;
    x->order = mem_alloc(x->ocap * sizeof(char *));
    x->max = max > 0 ? max : 1;
    return x;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const struct sink_ids *x, const char *key, uint64_t h)
{
    size_t i = (size_t)h & x->mask;
    while (x->t[i].key != NULL && (x->t[i].hash != h || strcmp(x->t[i].key, key) != 0))
        i = (i + 1) & x->mask;
    return i;
}

/* Remove the key in slot i and close the gap (Knuth's algorithm R). */
static void remove_at(struct sink_ids *x, size_t i)
{
    mem_free(x->t[i].key);
    x->t[i].key = NULL;
    size_t j = i;
    for (;;) {
        j = (j + 1) & x->mask;
        if (x->t[j].key == NULL)
            return;
        size_t home = (size_t)x->t[j].hash & x->mask;
        /* move j back into the hole unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            x->t[i] = x->t[j];
            x->t[j].key = NULL;
            i = j;
        }
    }
}

/* Double the table (rehashing every key) and the order ring (unrolled). */
static void grow(struct sink_ids *x)
{
    struct slot *old = x->t;
    size_t oldn = x->mask + 1;
    x->mask = 2 * oldn - 1;
    x->t = mem_alloc(2 * oldn * sizeof *x->t);
    for (size_t i = 0; i < oldn; i++)
        if (old[i].key != NULL)
            x->t[find(x, old[i].key, old[i].hash)] = old[i];
    mem_free(old);

    size_t ocap = x->ocap > 0 ? 2 * x->ocap : IDS_MIN;
    char **order = mem_alloc(ocap * sizeof(char *));
    for (size_t i = 0; i < x->n; i++)
        order[i] = x->order[(x->ohead + i) % x->ocap];
    mem_free(x->order);
    x->order = order;
    x->ohead = 0;
    x->ocap = ocap;
}

int64_t sink_ids_seen(struct sink_ids *x, const char *endpoint, const char *id, int64_t seq)
{
    char *key = mem_printf("%s\n%s", endpoint, id);
    uint64_t h = fnv1a(key);
    size_t i = find(x, key, h);
    if (x->t[i].key != NULL) {
        mem_free(key);
        return x->t[i].seq;
    }
    if (x->n == x->max) {                /* forget the oldest */
        const char *old = x->order[x->ohead];
        remove_at(x, find(x, old, fnv1a(old)));
        x->ohead = (x->ohead + 1) % x->ocap;
        x->n--;
        x->forgotten++;
        i = find(x, key, h);             /* the shift may have moved the gap */
    } else if (x->n == x->ocap) {        /* keeps the table at most half full */
        grow(x);
        i = find(x, key, h);
    }
    x->t[i] = (struct slot){.key = key, .hash = h, .seq = seq};
    x->order[(x->ohead + x->n) % x->ocap] = key;
    x->n++;
    return 0;
}

size_t sink_ids_count(const struct sink_ids *x)
{
    return x->n;
}

int64_t sink_ids_forgotten(const struct sink_ids *x)
{
    return x->forgotten;
}

void sink_ids_clear(struct sink_ids *x)
{
    for (size_t i = 0; i <= x->mask; i++)
        mem_freep(&x->t[i].key);
    x->ohead = x->n = 0;
    x->forgotten = 0;
}

void sink_ids_free(struct sink_ids **xp)
{
    if (xp == NULL || *xp == NULL)
        return;
    struct sink_ids *x = *xp;
    sink_ids_clear(x);
    mem_free(x->t);
    mem_free(x->order);
    mem_free(x);
    *xp = NULL;
}
