/*
 * mem.h — the process allocator: allocation that never returns NULL.
 *
 * Running out of process memory is not a condition a daemon can recover
 * from meaningfully, so these log and abort (Redis's zmalloc). Per-request
 * memory is bounded separately by the arena's cap, which *is* an error the
 * caller sees (ERR_TOOBIG).
 */
#ifndef TGCRM_BASE_MEM_H
#define TGCRM_BASE_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);                 /* zeroed; caller owns, mem_free */
void *mem_realloc(void *p, size_t n);      /* like realloc, never NULL */
char *mem_strdup(const char *s);           /* NULL in, NULL out */
char *mem_strndup(const char *s, size_t n);
char *mem_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mem_free(void *p);                    /* NULL is fine */

/* Free *pp and set it to NULL. */
#define mem_freep(pp) do { mem_free(*(pp)); *(pp) = NULL; } while (0)

#endif
