/*
 * fold.c — locale-free Unicode case mapping (see fold.h).
 *
 * The mappings are ranges with a fixed offset or alternating upper/lower
 * pairs, which is how Unicode lays these blocks out; exceptions are listed
 * one by one. fold_lower and fold_upper are each other's inverse on the
 * covered letters (except the dotted/dotless i, final sigma and long s,
 * which have no single partner).
 */
#include "desk/fold.h"

#include <string.h>

uint32_t fold_decode(const char *s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char b = p[0];
    size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 :
               (b & 0xf8) == 0xf0 ? 4 : 0;
    uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1fu) : n == 3 ? (b & 0x0fu) : (b & 0x07u);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {         /* also stops at the NUL */
            n = 0;
            break;
        }
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (n == 0 || cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *len = 1;
        return 0xfffd;
    }
    *len = n;
    return cp;
}

size_t fold_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* In [lo, hi] and of the given parity (upper case of a pair block). */
static bool pair(uint32_t cp, uint32_t lo, uint32_t hi, uint32_t parity)
{
    return cp >= lo && cp <= hi && (cp & 1u) == parity;
}

uint32_t fold_lower(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
        return cp + 32;
    if (cp == 0x130)
        return 'i';
    if (cp == 0x178)
        return 0xff;
    if (pair(cp, 0x100, 0x137, 0) || pair(cp, 0x139, 0x148, 1) || pair(cp, 0x14a, 0x177, 0) ||
        pair(cp, 0x179, 0x17e, 1))
        return cp + 1;
    /* Greek */
    if (cp == 0x386)
        return 0x3ac;
    if (cp >= 0x388 && cp <= 0x38a)
        return cp + 37;
    if (cp == 0x38c)
        return 0x3cc;
    if (cp == 0x38e || cp == 0x38f)
        return cp + 63;
    if ((cp >= 0x391 && cp <= 0x3a1) || (cp >= 0x3a3 && cp <= 0x3ab))
        return cp + 32;
    /* Cyrillic */
    if (cp >= 0x400 && cp <= 0x40f)
        return cp + 80;
    if (cp >= 0x410 && cp <= 0x42f)
        return cp + 32;
    if (cp == 0x4c0)
        return 0x4cf;
    if (pair(cp, 0x460, 0x481, 0) || pair(cp, 0x48a, 0x4bf, 0) || pair(cp, 0x4c1, 0x4ce, 1) ||
        pair(cp, 0x4d0, 0x52f, 0))
        return cp + 1;
    return cp;
}

uint32_t fold_upper(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    if (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7)
        return cp - 32;
    if (cp == 0xff)
        return 0x178;
    if (cp == 0x131)
        return 'I';
    if (cp == 0x17f)
        return 'S';
    if (pair(cp, 0x101, 0x137, 1) || pair(cp, 0x13a, 0x148, 0) || pair(cp, 0x14b, 0x177, 1) ||
        pair(cp, 0x17a, 0x17e, 0))
        return cp - 1;
    if (cp == 0x3ac)
        return 0x386;
    if (cp >= 0x3ad && cp <= 0x3af)
        return cp - 37;
    if (cp == 0x3cc)
        return 0x38c;
    if (cp == 0x3cd || cp == 0x3ce)
        return cp - 63;
    if (cp == 0x3c2)
        return 0x3a3;
    if ((cp >= 0x3b1 && cp <= 0x3c1) || (cp >= 0x3c3 && cp <= 0x3cb))
        return cp - 32;
    if (cp >= 0x430 && cp <= 0x44f)
        return cp - 32;
    if (cp >= 0x450 && cp <= 0x45f)
        return cp - 80;
    if (cp == 0x4cf)
        return 0x4c0;
    if (pair(cp, 0x461, 0x481, 1) || pair(cp, 0x48b, 0x4bf, 1) || pair(cp, 0x4c2, 0x4ce, 0) ||
        pair(cp, 0x4d1, 0x52f, 1))
        return cp - 1;
    return cp;
}

/* Base letters of U+00C0..U+017F, lower case; '.' keeps the letter. */
static const char latin_base[] =
    "aaaaaa.ceeeeiiii" "dnooooo.ouuuuy.." "aaaaaa.ceeeeiiii" "dnooooo.ouuuuy.y"
    "aaaaaaccccccccdd" "ddeeeeeeeeeegggg" "gggghhhhiiiiiiii" "ii..jjkk.lllllll"
    "lllnnnnnnn..oooo" "oo..rrrrrrssssss" "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs";

uint32_t fold_search(uint32_t cp)
{
    cp = fold_lower(cp);
    if (cp >= 0xc0 && cp <= 0x17f && latin_base[cp - 0xc0] != '.')
        return (uint32_t)latin_base[cp - 0xc0];
    switch (cp) {
    case 0x3ac: return 0x3b1;           /* ά → α */
    case 0x3ad: return 0x3b5;
    case 0x3ae: return 0x3b7;
    case 0x3af: case 0x3ca: case 0x390: return 0x3b9;
    case 0x3cc: return 0x3bf;
    case 0x3cd: case 0x3cb: case 0x3b0: return 0x3c5;
    case 0x3ce: return 0x3c9;
    case 0x3c2: return 0x3c3;           /* final sigma */
    case 0x451: return 0x435;           /* ё → е */
    default:    return cp;
    }
}

/* A letter that has case (the only letters these tables know). */
static bool cased(uint32_t cp)
{
    return fold_lower(cp) != fold_upper(cp);
}

static char *map_str(struct arena *a, const char *s, uint32_t (*fn)(uint32_t))
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, n * 2 + 1);   /* no mapping more than doubles a character */
    if (out == NULL)
        return NULL;
    size_t o = 0;
    uint32_t prev = 0;
    while (*s) {
        size_t len, nlen;
        uint32_t cp = fold_decode(s, &len), m = fn(cp);
        /* Σ at the end of a word is ς, as Unicode's Final_Sigma rule says */
        if (m == 0x3c3 && cp == 0x3a3 && cased(prev) && (s[len] == '\0' ||
                                                          !cased(fold_decode(s + len, &nlen))))
            m = 0x3c2;
        if (cp == 0xfffd && len == 1 && (unsigned char)*s >= 0x80)
            out[o++] = *s;                  /* keep an invalid byte as it was */
        else
            o += fold_encode(m, out + o);
        prev = cp;
        s += len;
    }
    out[o] = '\0';
    return out;
}

char *fold_lower_str(struct arena *a, const char *s)
{
    return map_str(a, s, fold_lower);
}

char *fold_upper_str(struct arena *a, const char *s)
{
    return map_str(a, s, fold_upper);
}

bool fold_equal(const char *x, const char *y)
{
    if (x == NULL || y == NULL)
        return false;
    while (*x && *y) {
        size_t lx, ly;
        uint32_t cx = fold_decode(x, &lx), cy = fold_decode(y, &ly);
        if (fold_lower(cx) != fold_lower(cy) || (cx == 0xfffd && *x != *y))
            return false;       /* invalid bytes compare as bytes */
        x += lx;
        y += ly;
    }
    return *x == *y;
}
