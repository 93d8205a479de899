/*
 * buf.h — a growable, always NUL-terminated byte buffer with a maximum.
 *
 * Like curl's dynbuf: a buffer is created with a limit and an append that
 * would pass it fails with ERR_TOOBIG instead of growing without bound. The
 * contents are owned by the buffer until buf_detach hands them over.
 */
#ifndef TGCRM_BASE_BUF_H
#define TGCRM_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *p;        /* owned; NULL until the first append, else NUL-terminated */
    size_t len;     /* bytes used, not counting the NUL */
    size_t cap;     /* bytes allocated */
    size_t max;     /* 0 = unlimited */
};

/* Set up an empty buffer with the given maximum (0 = unlimited). */
void buf_init(struct buf *b, size_t max);

/* Free the contents; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);

/* Append bytes; 0 or ERR_TOOBIG (the buffer is unchanged then). */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append s as the body of a JSON string (escaped, without quotes). */
int buf_json_escape(struct buf *b, const char *s, size_t n);

/* Append the NUL-terminated s as a quoted JSON string, or `null` when s is
 * NULL or not valid UTF-8 (the same rule jansson applies to json_string). */
int buf_json_str(struct buf *b, const char *s);

/* Append v in decimal. */
int buf_put_int(struct buf *b, long long v);

/* True when s[0..n) is valid UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF). */
bool buf_utf8_valid(const char *s, size_t n);

/* The contents as a C string ("" when empty); borrowed. */
const char *buf_str(const struct buf *b);

/* Hand the heap string to the caller (mem_free it); the buffer is reset. */
char *buf_detach(struct buf *b);

#endif
