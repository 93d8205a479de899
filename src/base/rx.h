/*
 * rx.h — text matching for rules; the only PCRE2 user.
 *
 * Routing rules and escalation policies match customer text in two ways,
 * both compiled here so that the config loader (which refuses a bad pattern
 * at load with PCRE2's message and offset) and the rules in src/desk/
 * (which match) can never disagree:
 *
 *  - a pattern: a PCRE2 regular expression compiled caseless, UTF and UCP
 *    (\w, \d, \b, [[:alpha:]] and case folding are Unicode-aware). It
 *    matches anywhere in the text; write \b yourself for word edges.
 *
 *  - a keyword list: any of the words, each as a whole word, caseless.
 *      * Characters are literal: "c++", "(urgent)", "$5" mean what they say.
 *      * Case folding is Unicode's simple folding: "СЧЁТ" = "счёт",
 *        "INVOICE" = "invoice". Nothing more: "ё" ≠ "е", "Straße" ≠
 *        "STRASSE", and text is not normalised (NFC and NFD differ).
 *      * Whitespace inside a keyword matches any run of whitespace
 *        ("charge back" also matches "charge\n  back"); whitespace at its
 *        ends is ignored.
 *      * Whole word: not preceded or followed by a letter, digit or '_'
 *        (Unicode \w), so "bill" does not match "billing". A '*' at the
 *        start or end lifts that side's edge: "refund*" also matches
 *        "refunds", "*back" also matches "chargeback" — the usual way to
 *        catch inflected forms ("счёт*": "счёта", "счёту").
 *      * Scripts written without spaces between words (Han, Hiragana,
 *        Katakana, Thai, Lao, Khmer, Myanmar) have no word edges to find,
 *        so a keyword edge in one of them matches inside a longer run
 *        ("发票" matches "我的发票错了").
 *
 * Matching is bounded: a match limit stops a pattern that backtracks
 * catastrophically on a hostile message (rx_find then reports ERR_TOOBIG)
 * instead of stalling the engine. Invalid UTF-8 in the text is never an
 * error and never matched across (PCRE2_MATCH_INVALID_UTF).
 *
 * A compiled struct rx is immutable after rx_compile*, so one may be shared
 * by threads; each rx_find uses its own match data.
 */
#ifndef TGCRM_BASE_RX_H
#define TGCRM_BASE_RX_H

#include <stddef.h>

#include "base/err.h"

struct rx;

/*
 * Compile a PCRE2 pattern. On success *out is owned by the caller
 * (rx_free). On failure returns ERR_INVAL with "<PCRE2's message> at
 * offset N" in e (N counts bytes into the pattern), *out is NULL.
 */
int rx_compile(const char *pattern, struct rx **out, struct err *e);

/*
 * Compile a keyword list (n >= 1, words borrowed for the call). ERR_INVAL
 * for a keyword with nothing to match ("", "*", "  "), naming it, with its
 * index in *bad (if bad is not NULL); or when PCRE2 refuses the whole list
 * (too large), with *bad = n.
 */
int rx_compile_words(const char *const *words, size_t n, struct rx **out, size_t *bad,
                     struct err *e);

/*
 * Compile an equality test: a text matches when, apart from whitespace at
 * its ends, it equals one of the n values ignoring case (Unicode simple
 * folding, as keywords). For intake answers ("Billing" = "billing ").
 * ERR_INVAL for an empty value, with its index in *bad.
 */
int rx_compile_exact(const char *const *values, size_t n, struct rx **out, size_t *bad,
                     struct err *e);

/* Where a match is: bytes [start, end) of the text, and for a keyword list
 * the index of the keyword that matched (0 for a pattern). */
struct rx_hit {
    size_t start;
    size_t end;
    size_t word;
};

/*
 * Find the first match in text[0, len). 1 when found (*hit filled), 0 when
 * not, ERR_TOOBIG when the match limit stopped the search (e says so; the
 * caller treats it as no match and can say why).
 */
int rx_find(const struct rx *r, const char *text, size_t len, struct rx_hit *hit,
            struct err *e);

/* Free a compiled rx; sets *rp to NULL. NULL is fine. */
void rx_free(struct rx **rp);

#endif
