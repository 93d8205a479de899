/*
 * arena.h — request-scoped memory freed in one step.
 *
 * An arena hands out memory from chunks and frees all of it at once in
 * arena_free. It has a cap: an allocation that would take the arena past it
 * fails (returns NULL) and sets the sticky `exhausted` flag, so a request
 * can be refused with 413 instead of taking the daemon's memory with it.
 * Everything returned is zeroed and owned by the arena: never free() it.
 */
#ifndef TGCRM_BASE_ARENA_H
#define TGCRM_BASE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;  /* owned: chunk list, newest first */
    size_t used;               /* bytes handed out plus chunk overhead */
    size_t cap;                /* 0 = unlimited */
    bool exhausted;            /* sticky: an allocation hit the cap */
};

/* Heap-allocate an arena with the given cap (0 = unlimited). Never NULL. */
struct arena *arena_new(size_t cap);

/* Free every chunk and the arena itself; sets *ap to NULL. NULL is fine. */
void arena_free(struct arena **ap);

/* Forget everything allocated but keep the newest chunk for reuse, so a
 * loop can use one arena per iteration without going back to malloc. */
void arena_reset(struct arena *a);

/* Zeroed, 16-byte aligned memory; NULL only when over the cap. */
void *arena_alloc(struct arena *a, size_t n);

/* Copies owned by the arena; NULL on cap (or NULL input for strdup). */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
