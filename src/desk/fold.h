/*
 * fold.h — locale-free Unicode case mapping, for matching and for filters.
 *
 * towlower() follows LC_CTYPE, so the same KB query would rank differently
 * under another locale; these tables do not. They cover the scripts a help
 * desk meets most — ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic —
 * and map every other code point to itself. Used by kb (tokens), template
 * (upcase/downcase/capitalize filters) and intake (choice labels).
 *
 * Pure: no I/O, no allocation outside the caller's arena.
 */
#ifndef TGCRM_DESK_FOLD_H
#define TGCRM_DESK_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

/*
 * The code point starting at s (which must not be at its NUL) and its
 * length in bytes in *len. A byte that does not start a well-formed UTF-8
 * sequence decodes as U+FFFD with *len = 1, so every input can be walked.
 */
uint32_t fold_decode(const char *s, size_t *len);

/* Append cp as UTF-8 to out (room for 4 bytes); returns the byte count. */
size_t fold_encode(uint32_t cp, char *out);

uint32_t fold_lower(uint32_t cp);
uint32_t fold_upper(uint32_t cp);

/*
 * For search: lower case, then accents off Latin and Greek letters
 * ("é" → "e", "ά" → "α"), "ё" → "е" and final "ς" → "σ", so that spelling
 * variants a customer types find the same article.
 */
uint32_t fold_search(uint32_t cp);

/* The whole string mapped by fold_lower / fold_upper; arena copies, NULL
 * when the arena is exhausted. */
char *fold_lower_str(struct arena *a, const char *s);
char *fold_upper_str(struct arena *a, const char *s);

/* Equal ignoring case (fold_lower on both sides). NULL equals nothing. */
bool fold_equal(const char *x, const char *y);

#endif
