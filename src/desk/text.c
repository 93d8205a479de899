/*
 * text.c — UTF-16 lengths and message splitting (see text.h).
 *
 * Both functions walk the text one character at a time with step(), which
 * decodes one well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) or, failing that, takes a single
 * byte. So a cut can only ever fall between two steps.
 */
#include "desk/text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Is b a continuation byte within [lo, hi]? */
static bool cont(unsigned char b, unsigned char lo, unsigned char hi)
{
    return b >= lo && b <= hi;
}

/*
 * Bytes of the character starting at s[0] (len > 0 bytes remain) and its
 * UTF-16 units in *units. Ill-formed input is one byte of one unit.
 */
static size_t step(const unsigned char *s, size_t len, size_t *units)
{
    unsigned char c = s[0];
    *units = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        if (len >= 2 && cont(s[1], 0x80, 0xBF))
            return 2;
        return 1;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        /* E0 needs A0.. (no overlong), ED ..9F (no surrogates) */
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
        unsigned char hi = c == 0xED ? 0x9F : 0xBF;
        if (len >= 3 && cont(s[1], lo, hi) && cont(s[2], 0x80, 0xBF))
            return 3;
        return 1;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        /* F0 needs 90.. (no overlong), F4 ..8F (nothing past U+10FFFF) */
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
        if (len >= 4 && cont(s[1], lo, hi) && cont(s[2], 0x80, 0xBF) &&
            cont(s[3], 0x80, 0xBF)) {
            *units = 2;   /* a surrogate pair in UTF-16 */
            return 4;
        }
        return 1;
    }
    return 1;   /* stray continuation byte, C0/C1, F5..FF */
}

size_t text_utf16_len(const char *utf8)
{
    return utf8 == NULL ? 0 : text_utf16_len_n(utf8, strlen(utf8));
}

size_t text_utf16_len_n(const char *utf8, size_t len)
{
    if (utf8 == NULL)
        return 0;
    const unsigned char *s = (const unsigned char *)utf8;
    size_t total = 0;
    for (size_t i = 0; i < len;) {
        size_t u;
        i += step(s + i, len - i, &u);
        total += u;
    }
    return total;
}

/*
 * Where the part starting at `from` ends (exclusive byte offset), given
 * that the whole rest does not fit: after the last newline in the window,
 * else after the last space, else after the last character that fits. A
 * newline or space only counts in the second half of the window, so that
 * "Alice: <10,000 letters>" is not cut into a 7-character first part.
 */
static size_t cut_at(const unsigned char *s, size_t len, size_t from, size_t max_units)
{
    size_t i = from, units = 0, hard = from, nl = 0, sp = 0;
    while (i < len) {
        size_t u;
        size_t w = step(s + i, len - i, &u);
        if (units + u > max_units)
            break;
        units += u;
        i += w;
        hard = i;
        bool late = units * 2 >= max_units;
        if (late && s[i - 1] == '\n' && w == 1)
            nl = i;
        else if (late && s[i - 1] == ' ' && w == 1)
            sp = i;
    }
    if (nl > from)
        return nl;
    if (sp > from)
        return sp;
    return hard;
}

int text_split(const char *utf8, size_t max_units, struct arena *a,
               const char ***parts, size_t *n, struct err *e)
{
    *parts = NULL;
    *n = 0;
    if (utf8 == NULL)
        return err_set(e, ERR_INVAL, "no text to split");
    if (max_units < 2)
        return err_set(e, ERR_INVAL, "cannot split into parts of %zu units (minimum 2)",
                       max_units);
    const unsigned char *s = (const unsigned char *)utf8;
    size_t len = strlen(utf8);

    /* First pass counts the parts so the array is allocated once. */
    size_t count = 0;
    for (size_t pos = 0; pos < len; count++) {
        if (text_utf16_len(utf8 + pos) <= max_units)
            pos = len;
        else
            pos = cut_at(s, len, pos, max_units);
    }
    if (count == 0)
        return 0;
    const char **arr = arena_alloc(a, count * sizeof *arr);
    if (arr == NULL)
        return err_set(e, ERR_TOOBIG, "text split: arena exhausted");
    size_t k = 0;
    for (size_t pos = 0; pos < len && k < count; k++) {
        size_t end = text_utf16_len(utf8 + pos) <= max_units ? len
                                                             : cut_at(s, len, pos, max_units);
        char *p = arena_strndup(a, utf8 + pos, end - pos);
        if (p == NULL)
            return err_set(e, ERR_TOOBIG, "text split: arena exhausted");
        arr[k] = p;
        pos = end;
    }
    *parts = arr;
    *n = k;
    return 0;
}
