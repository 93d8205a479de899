/*
 * text.h — message text as Telegram measures it.
 *
 * Telegram counts the length of a message (and the offsets of its
 * entities) in UTF-16 code units: a character of the Basic Multilingual
 * Plane is one unit, anything above it (most emoji) is a surrogate pair,
 * two units. The engine splits long replies with text_split before it
 * writes sendMessage rows, so every part is at most 4096 units and no
 * character — or surrogate pair — is ever cut in half.
 *
 * Pure: no allocation outside the caller's arena, no I/O.
 *
 * Invalid UTF-8 is never rejected here (the text came from somewhere that
 * already accepted it): every byte that does not start a well-formed
 * sequence counts as one character of one unit, the way it would be shown
 * as U+FFFD, and is kept byte for byte.
 */
#ifndef TGCRM_DESK_TEXT_H
#define TGCRM_DESK_TEXT_H

#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"

/* Telegram's limit for sendMessage text, in UTF-16 units. */
#define TEXT_MESSAGE_MAX 4096

/* Length of the NUL-terminated utf8 in UTF-16 code units (NULL → 0). */
size_t text_utf16_len(const char *utf8);

/* The same for the first len bytes (which need not end in a NUL). */
size_t text_utf16_len_n(const char *utf8, size_t len);

/*
 * Split utf8 into parts of at most max_units UTF-16 units each. A cut is
 * made after the last newline inside the window, else after the last
 * space, else at the last character boundary that fits; whitespace at a
 * cut stays at the end of the earlier part. No part is empty and the
 * concatenation of the parts is exactly the input; "" gives zero parts.
 *
 * *parts is an arena array of *n arena strings (NUL-terminated).
 * ERR_INVAL when max_units < 2 (an emoji would not fit) or utf8 is NULL;
 * ERR_TOOBIG when the arena is exhausted.
 */
int text_split(const char *utf8, size_t max_units, struct arena *a,
               const char ***parts, size_t *n, struct err *e);

#endif
