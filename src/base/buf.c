/*
 * buf.c — growable bounded buffer (see buf.h).
 */
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void buf_release(struct buf *b)
{
    size_t max = b->max;
    mem_free(b->p);
    buf_init(b, max);
}

/* Room for extra more bytes and the NUL. The first allocation is 256
 * bytes: most buffers hold a JSON text of a few hundred bytes to a few KB
 * (an event's ticket snapshot is ~1.2 KB), and each doubling from a
 * smaller start is a realloc and a copy on the writer's path. */
static int reserve(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need < b->len || (b->max != 0 && b->len + extra > b->max))
        return ERR_TOOBIG;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->p = mem_realloc(b->p, cap);
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
    /* the common case, room already there, without the call */
    if (b->len + n + 1 > b->cap || b->len + n + 1 < b->len ||
        (b->max != 0 && b->len + n > b->max)) {
        int rc = reserve(b, n);
        if (rc != 0)
            return rc;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ERR_INVAL;
    int rc = reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* Bytes a JSON string body can carry as they are. */
static int plain(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

int buf_json_escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && plain((unsigned char)s[run]))
            run++;
        int rc = buf_append(b, s + i, run - i);   /* one copy per run, not per byte */
        if (rc != 0 || run == n)
            return rc;
        unsigned char c = (unsigned char)s[run];
        switch (c) {
        case '"':  rc = buf_append(b, "\\\"", 2); break;
        case '\\': rc = buf_append(b, "\\\\", 2); break;
        case '\n': rc = buf_append(b, "\\n", 2); break;
        case '\r': rc = buf_append(b, "\\r", 2); break;
        case '\t': rc = buf_append(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = buf_append(b, u, 6);
        }
        }
        if (rc != 0)
            return rc;
        i = run + 1;
    }
    return 0;
}

bool buf_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

int buf_json_str(struct buf *b, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (s == NULL || !buf_utf8_valid(s, n))
        return buf_append(b, "null", 4);
    int rc = buf_putc(b, '"');
    if (rc == 0)
        rc = buf_json_escape(b, s, n);
    return rc != 0 ? rc : buf_putc(b, '"');
}

int buf_put_int(struct buf *b, long long v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

const char *buf_str(const struct buf *b)
{
    return b->p ? b->p : "";
}

char *buf_detach(struct buf *b)
{
    char *p = b->p ? b->p : mem_strdup("");
    size_t max = b->max;
    buf_init(b, max);
    return p;
}
