/*
 * kb.h — knowledge-base suggestions: which articles answer this ticket.
 *
 * The articles (from the configuration: inline or kb.file) are indexed once
 * when a configuration is loaded; kb_suggest then ranks them against the
 * text of a ticket (its subject and messages) with BM25F: Okapi BM25
 * (k1 = 1.2, b = 0.75) over three fields — title (weight 3), keywords
 * (weight 2) and body (weight 1), each length-normalised on its own.
 *
 * Text becomes terms the same way on both sides: UTF-8 split into words
 * (letters and digits of any script; an apostrophe inside a word is
 * dropped, so "customer's" is "customers"), folded to lower case without
 * accents by locale-free tables (desk/fold.h), English stop words and
 * one-character words removed, and English words lightly stemmed
 * ("refunds", "refunded", "refunding" → "refund").
 *
 * Scores are divided by the largest idf of the index, so they mean the same
 * whatever the size of the knowledge base: 1.0 is about one rare word of
 * the ticket matched strongly (in a title), a word found only once in a
 * body scores about 0.45. Articles under the index's min_score are never
 * suggested: a ticket that shares nothing but common words with the
 * knowledge base gets no suggestion at all. Nor is an article that scores
 * under 40% of the best one: a strong answer is not followed by articles
 * that merely share a word with the ticket.
 *
 * Results are deterministic: terms are summed in a fixed order and equal
 * scores are ordered by article id.
 *
 * Pure: no I/O, no clock. An index is immutable after kb_index_new and may
 * be shared between threads.
 */
#ifndef TGCRM_DESK_KB_H
#define TGCRM_DESK_KB_H

#include <stddef.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"

struct kb_index;

/* One suggestion; the strings are borrowed from the index. */
struct kb_hit {
    const char *id;
    const char *title;
    const char *url;             /* NULL when the article has none */
    double score;                /* >= the index's min_score */
};

/*
 * Index n articles (copied: the index does not borrow from them). min_score
 * is the weakest score kb_suggest returns. ERR_INVAL for a negative
 * min_score; *out is NULL on failure.
 */
int kb_index_new(const struct cfg_kb_article *articles, size_t n, double min_score,
                 struct kb_index **out, struct err *e);

/* The index for c's kb section (its articles and kb.min_score). */
int kb_index_from_cfg(const struct cfg *c, struct kb_index **out, struct err *e);

void kb_index_free(struct kb_index **ip);

/* Number of articles and distinct terms indexed. */
size_t kb_index_articles(const struct kb_index *ix);
size_t kb_index_terms(const struct kb_index *ix);

/*
 * Rank the articles against texts[0..n) (e.g. the subject and each customer
 * message; NULL entries are skipped) and write the best at most k into out,
 * best first. Returns how many were written (0 when nothing scores at
 * least min_score).
 */
size_t kb_suggest(const struct kb_index *ix, const char *const *texts, size_t n, size_t k,
                  struct kb_hit *out);

/*
 * The terms text is indexed or searched as, in order, repeats kept: an
 * arena array of arena strings. For tests and for explaining a ranking.
 * ERR_TOOBIG when the arena is exhausted.
 */
int kb_terms(const char *text, struct arena *a, const char ***out, size_t *n, struct err *e);

#endif
