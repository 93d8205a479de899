/*
 * rx.c — PCRE2 behind one wrapper (see rx.h for the matching semantics).
 *
 * A keyword list becomes one pattern, one capturing group per keyword, so a
 * message is scanned once however many keywords a rule has, and the group
 * that took part says which keyword it was:
 *
 *     (?:L(kw0)R|L(kw1)R|...)
 *
 * where L and R are the word-edge guards ("not after / before a word
 * character"), left out for an edge a '*' lifted or one written in a
 * script without spaces, and each keyword is escaped so that
 * only its whitespace (→ \s+) has a meaning. An equality test is the same
 * alternation anchored at both ends instead of guarded. Every compile uses
 * the same options, so the config loader's check and the rules' matching
 * agree.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "base/rx.h"
#include "base/buf.h"
#include "base/mem.h"

#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backtracking budget of one rx_find: ample for a 4096-character message
 * against any sane pattern, small enough that a catastrophic one gives up
 * within milliseconds. */
#define RX_MATCH_LIMIT 1000000u
#define RX_DEPTH_LIMIT 10000u

/* Scripts without spaces between words: no edges to look for there. */
#define NOSPACE "[\\p{Han}\\p{Hiragana}\\p{Katakana}\\p{Thai}\\p{Lao}\\p{Khmer}\\p{Myanmar}]"
#define LEFT_EDGE  "(?<!\\w)"
#define RIGHT_EDGE "(?!\\w)"

static const uint32_t COMPILE_OPTS = PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP |
                                     PCRE2_MATCH_INVALID_UTF;

struct rx {
    pcre2_code *code;           /* owned */
    pcre2_match_context *mctx;  /* owned; the limits */
    size_t nwords;              /* keyword list: capturing group i+1 is word i */
};

static int compile(const char *pattern, size_t nwords, struct rx **out, struct err *e)
{
    int ec;
    PCRE2_SIZE off;
    *out = NULL;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                     COMPILE_OPTS, &ec, &off, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "invalid pattern");
        return err_set(e, ERR_INVAL, "%s at offset %zu", (const char *)msg, (size_t)off);
    }
    /* JIT is an optimisation only: where it is unavailable the
     * interpreter gives the same answers. TGCRM_RX_NO_JIT turns it off for
     * valgrind: the JIT's prefix scan reads whole words past the subject's
     * end (inside the allocation, harmless), which memcheck reports as
     * uninitialised reads from code it cannot name. */
    if (getenv("TGCRM_RX_NO_JIT") == NULL)
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    if (mctx == NULL) {
        pcre2_code_free(code);
        return err_set(e, ERR_NOMEM, "out of memory compiling a pattern");
    }
    pcre2_set_match_limit(mctx, RX_MATCH_LIMIT);
    pcre2_set_depth_limit(mctx, RX_DEPTH_LIMIT);
    struct rx *r = mem_alloc(sizeof *r);
    r->code = code;
    r->mctx = mctx;
    r->nwords = nwords;
    *out = r;
    return 0;
}

int rx_compile(const char *pattern, struct rx **out, struct err *e)
{
    return compile(pattern ? pattern : "", 0, out, e);
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Append keyword [s, s+n) literally, whitespace runs as \s+. */
static void put_literal(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_space(c)) {
            while (i + 1 < n && is_space((unsigned char)s[i + 1]))
                i++;
            (void)buf_puts(b, "\\s+");
        } else if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                 (c >= '0' && c <= '9'))) {
            /* PCRE2: a backslash before any ASCII non-alphanumeric makes it
             * literal; non-ASCII bytes are literal already */
            (void)buf_putc(b, '\\');
            (void)buf_putc(b, (char)c);
        } else {
            (void)buf_putc(b, (char)c);
        }
    }
}

/* A pattern for looking at one keyword's edge characters; NULL if it
 * cannot be compiled (then no edge counts as unspaced). */
static pcre2_code *probe_new(const char *pattern)
{
    int ec;
    PCRE2_SIZE off;
    return pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, COMPILE_OPTS, &ec, &off,
                         NULL);
}

/* Whether probe matches s[0, n): is that edge written in an unspaced script? */
static bool probe_hit(const pcre2_code *probe, const char *s, size_t n)
{
    if (probe == NULL)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(probe, NULL);
    int rc = md ? pcre2_match(probe, (PCRE2_SPTR)s, n, 0, 0, md, NULL) : -1;
    pcre2_match_data_free(md);
    return rc > 0;
}

/*
 * A list of literals as one alternation, one capturing group each. `words`
 * reads '*' edges and puts word-edge guards around each alternative;
 * otherwise the whole text must be one of them.
 */
static int compile_list(const char *const *items, size_t n, bool words, struct rx **out,
                        size_t *bad, struct err *e)
{
    const char *what = words ? "keyword" : "value";
    size_t ignored;
    if (bad == NULL)
        bad = &ignored;
    *bad = n;
    *out = NULL;
    if (n == 0)
        return err_set(e, ERR_INVAL, "no %ss", what);
    /* Whether an edge is in an unspaced script is decided here, per keyword,
     * rather than by a lookaround in the pattern: plain guards leave PCRE2
     * able to skip to the positions where a keyword can start, which makes
     * matching a long message many times faster. */
    pcre2_code *first = words ? probe_new("^" NOSPACE) : NULL;
    pcre2_code *last = words ? probe_new(NOSPACE "\\z") : NULL;
    struct buf b;
    buf_init(&b, 0);
    (void)buf_puts(&b, words ? "(?:" : "^\\s*(?:");
    for (size_t i = 0; i < n; i++) {
        const char *w = items[i] ? items[i] : "";
        size_t len = strlen(w);
        while (len > 0 && is_space((unsigned char)w[len - 1]))
            len--;
        while (len > 0 && is_space((unsigned char)*w)) {
            w++;
            len--;
        }
        bool open_left = words && len > 0 && w[0] == '*';
        if (open_left) {
            w++;
            len--;
        }
        bool open_right = words && len > 0 && w[len - 1] == '*';
        if (open_right)
            len--;
        if (len == 0) {
            buf_release(&b);
            pcre2_code_free(first);
            pcre2_code_free(last);
            *bad = i;
            return err_set(e, ERR_INVAL, "%s '%s' has nothing to match", what,
                           items[i] ? items[i] : "");
        }
        if (i > 0)
            (void)buf_putc(&b, '|');
        if (words && !open_left && !probe_hit(first, w, len))
            (void)buf_puts(&b, LEFT_EDGE);
        /* an open edge takes in the rest of the word, so the hit is the
         * whole word ("refunds" for "refund*"), which is what "why" quotes */
        (void)buf_puts(&b, open_left ? "(\\w*" : "(");
        put_literal(&b, w, len);
        (void)buf_puts(&b, open_right ? "\\w*)" : ")");
        if (words && !open_right && !probe_hit(last, w, len))
            (void)buf_puts(&b, RIGHT_EDGE);
    }
    pcre2_code_free(first);
    pcre2_code_free(last);
    (void)buf_puts(&b, words ? ")" : ")\\s*$");
    int rc = compile(buf_str(&b), n, out, e);
    buf_release(&b);
    return rc;
}

int rx_compile_words(const char *const *words, size_t n, struct rx **out, size_t *bad,
                     struct err *e)
{
    return compile_list(words, n, true, out, bad, e);
}

int rx_compile_exact(const char *const *values, size_t n, struct rx **out, size_t *bad,
                     struct err *e)
{
    return compile_list(values, n, false, out, bad, e);
}

int rx_find(const struct rx *r, const char *text, size_t len, struct rx_hit *hit,
            struct err *e)
{
    if (r == NULL || text == NULL)
        return 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->code, NULL);
    if (md == NULL)
        return err_set(e, ERR_NOMEM, "out of memory matching a pattern");
    int rc = pcre2_match(r->code, (PCRE2_SPTR)text, len, 0, 0, md, r->mctx);
    int out = 0;
    if (rc > 0) {
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        hit->start = ov[0];
        hit->end = ov[1];
        hit->word = 0;
        for (size_t i = 0; i < r->nwords; i++) {
            if (ov[2 * (i + 1)] != PCRE2_UNSET) {
                hit->word = i;
                break;
            }
        }
        out = 1;
    } else if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
               rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        out = err_set(e, ERR_TOOBIG, "the pattern gave up on this text (match limit)");
    } else if (rc != PCRE2_ERROR_NOMATCH) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "match error");
        out = err_set(e, ERR_INTERNAL, "matching failed: %s", (const char *)msg);
    }
    pcre2_match_data_free(md);
    return out;
}

void rx_free(struct rx **rp)
{
    if (rp == NULL || *rp == NULL)
        return;
    pcre2_match_context_free((*rp)->mctx);
    pcre2_code_free((*rp)->code);
    mem_free(*rp);
    *rp = NULL;
}
