/*
 * arena.c — chunked bump allocator with a cap (see arena.h).
 */
#include "base/arena.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARENA_CHUNK_MIN (16u * 1024u)

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;   /* usable bytes in data */
    size_t off;    /* next free offset */
    _Alignas(16) unsigned char data[];
};

struct arena *arena_new(size_t cap)
{
    struct arena *a = mem_alloc(sizeof *a);
    a->cap = cap;
    return a;
}

void arena_free(struct arena **ap)
{
    if (ap == NULL || *ap == NULL)
        return;
    struct arena_chunk *c = (*ap)->head;
    while (c != NULL) {
        struct arena_chunk *next = c->next;
        mem_free(c);
        c = next;
    }
    mem_free(*ap);
    *ap = NULL;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *keep = a->head;
    if (keep == NULL)
        return;
    struct arena_chunk *c = keep->next;
    while (c != NULL) {
        struct arena_chunk *next = c->next;
        mem_free(c);
        c = next;
    }
    keep->next = NULL;
    keep->off = 0;
    a->used = keep->size + sizeof *keep;
    a->exhausted = false;
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t need = (n + 15u) & ~(size_t)15u;
    if (need < n) {   /* overflow */
        a->exhausted = true;
        return NULL;
    }
    struct arena_chunk *c = a->head;
    if (c == NULL || c->size - c->off < need) {
        size_t size = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
        if (a->cap != 0 && a->used + size + sizeof *c > a->cap) {
            /* Try an exact-fit chunk before giving up. */
            size = need;
            if (a->used + size + sizeof *c > a->cap) {
                a->exhausted = true;
                return NULL;
            }
        }
        c = mem_alloc(sizeof *c + size);
        c->size = size;
        c->next = a->head;
        a->head = c;
        a->used += size + sizeof *c;
    }
    void *p = c->data + c->off;
    c->off += need;
    memset(p, 0, need);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
