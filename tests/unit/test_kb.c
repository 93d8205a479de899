/*
 * test_kb.c — knowledge-base suggestions: the ranking table in
 * tests/cases/kb.tsv (articles, queries, term splitting), determinism,
 * ties, min_score and k, and building the index from a configuration.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "common/cases.h"
#include "common/example.h"
#include "desk/kb.h"

#define MIN                                  \
    "http:\n"                                \
    "  api_tokens:\n"                        \
    "    - name: helpdesk\n"                 \
    "      token: \"0123456789abcdef\"\n"

/* The articles of kb.tsv, as cfg would hold them. */
struct table {
    struct case_row *rows;
    size_t nrows;
    struct cfg_kb_article a[64];
    char *kw[64][8];
    size_t n;
};

static void load_table(struct table *t)
{
    memset(t, 0, sizeof *t);
    cases_load("tests/cases/kb.tsv", &t->rows, &t->nrows);
    for (size_t i = 0; i < t->nrows; i++) {
        struct case_row *r = &t->rows[i];
        if (strcmp(r->cols[0], "article") != 0)
            continue;
        cr_assert_eq(r->ncols, 5, "kb.tsv:%d: an article has 5 columns", r->line);
        cr_assert_lt(t->n, 64);
        struct cfg_kb_article *a = &t->a[t->n];
        a->id = r->cols[1];
        a->title = r->cols[2];
        a->body = r->cols[4];
        a->keywords = t->kw[t->n];
        if (strcmp(r->cols[3], "-") != 0) {
            char *save = NULL;
            for (char *k = strtok_r(r->cols[3], ",", &save); k && a->nkeywords < 8;
                 k = strtok_r(NULL, ",", &save)) {
                while (*k == ' ')
                    k++;
                a->keywords[a->nkeywords++] = k;
            }
        }
        t->n++;
    }
}

static double default_min_score(void)
{
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("t.yaml", MIN, strlen(MIN), &c, &e), 0, "%s", e.msg);
    double m = c->kb_min_score;
    cr_assert_eq(c->kb_suggestions, 3);
    cfg_unref(&c);
    return m;
}

/* Split "a || b" into texts (pointing into s, which is modified). */
static size_t split_texts(char *s, const char **texts, size_t max)
{
    size_t n = 0;
    while (n < max) {
        texts[n++] = s;
        char *sep = strstr(s, " || ");
        if (sep == NULL)
            break;
        *sep = '\0';
        s = sep + 4;
    }
    return n;
}

static void hits_str(const struct kb_hit *h, size_t n, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s(%.3f)", i ? "," : "", h[i].id,
                 h[i].score);
}

Test(kb, table)
{
    struct table t;
    load_table(&t);
    cr_assert_gt(t.n, 10);
    struct kb_index *ix = NULL;
    struct err e = {0};
    cr_assert_eq(kb_index_new(t.a, t.n, default_min_score(), &ix, &e), 0, "%s", e.msg);
    cr_assert_eq(kb_index_articles(ix), t.n);
    size_t queries = 0, terms = 0;
    for (size_t i = 0; i < t.nrows; i++) {
        struct case_row *r = &t.rows[i];
        if (strcmp(r->cols[0], "query") == 0) {
            cr_assert_eq(r->ncols, 3, "kb.tsv:%d: a query has 3 columns", r->line);
            const char *texts[8];
            size_t nt = split_texts(r->cols[1], texts, 8);
            struct kb_hit h[3];
            size_t n = kb_suggest(ix, texts, nt, 3, h);
            char got[256], ids[256] = "";
            hits_str(h, n, got, sizeof got);
            for (size_t k = 0; k < n; k++)
                snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s", k ? "," : "",
                         h[k].id);
            const char *want = r->cols[2];
            size_t wl = strlen(want);
            bool prefix = wl > 4 && strcmp(want + wl - 4, ",...") == 0;
            if (strcmp(want, "-") == 0)
                cr_expect_eq(n, 0, "kb.tsv:%d: expected no suggestion, got %s", r->line, got);
            else if (prefix)
                cr_expect(strncmp(ids, want, wl - 4) == 0 &&
                          (ids[wl - 4] == '\0' || ids[wl - 4] == ','),
                          "kb.tsv:%d: expected %s, got %s", r->line, want, got);
            else
                cr_expect_str_eq(ids, want, "kb.tsv:%d: expected %s, got %s", r->line, want, got);
            queries++;
        } else if (strcmp(r->cols[0], "terms") == 0) {
            cr_assert_eq(r->ncols, 3, "kb.tsv:%d: a terms row has 3 columns", r->line);
            struct arena *a = arena_new(0);
            const char **v;
            size_t n;
            cr_assert_eq(kb_terms(r->cols[1], a, &v, &n, &e), 0);
            char got[512] = "";
            for (size_t k = 0; k < n; k++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "", v[k]);
            const char *want = strcmp(r->cols[2], "-") == 0 ? "" : r->cols[2];
            cr_expect_str_eq(got, want, "kb.tsv:%d: terms '%s', want '%s'", r->line, got, want);
            arena_free(&a);
            terms++;
        } else {
            cr_assert_str_eq(r->cols[0], "article", "kb.tsv:%d: unknown row kind", r->line);
        }
    }
    cr_assert_gt(queries, 15);
    cr_assert_gt(terms, 5);
    kb_index_free(&ix);
    cr_assert_null(ix);
    cases_free(t.rows, t.nrows);
}

Test(kb, same_answer_every_time_and_whatever_the_article_order)
{
    struct table t;
    load_table(&t);
    struct kb_index *ix = NULL, *rev = NULL;
    struct cfg_kb_article reversed[64];
    for (size_t i = 0; i < t.n; i++)
        reversed[i] = t.a[t.n - 1 - i];
    cr_assert_eq(kb_index_new(t.a, t.n, 0, &ix, NULL), 0);
    cr_assert_eq(kb_index_new(reversed, t.n, 0, &rev, NULL), 0);
    const char *q[] = { "zebracorn password refund invoice card delivery subscription plan" };
    struct kb_hit a[10], b[10], c[10];
    size_t na = kb_suggest(ix, q, 1, 10, a);
    size_t nb = kb_suggest(ix, q, 1, 10, b);
    size_t nc = kb_suggest(rev, q, 1, 10, c);
    cr_assert_gt(na, 3);
    cr_assert_eq(na, nb);
    cr_assert_eq(na, nc);
    for (size_t i = 0; i < na; i++) {
        cr_assert_str_eq(a[i].id, b[i].id);
        cr_assert_str_eq(a[i].id, c[i].id);
        cr_assert(a[i].score == b[i].score);
        cr_assert_float_eq(a[i].score, c[i].score, 1e-12);
        if (i > 0)
            cr_assert(a[i - 1].score > a[i].score ||
                      (a[i - 1].score == a[i].score && strcmp(a[i - 1].id, a[i].id) < 0));
    }
    kb_index_free(&ix);
    kb_index_free(&rev);
    cases_free(t.rows, t.nrows);
}

Test(kb, k_and_min_score_bound_the_answer)
{
    struct table t;
    load_table(&t);
    struct kb_index *ix = NULL;
    cr_assert_eq(kb_index_new(t.a, t.n, 0, &ix, NULL), 0);
    const char *q[] = { "password refund invoice card delivery cancel" };
    struct kb_hit h[10];
    cr_assert_eq(kb_suggest(ix, q, 1, 2, h), 2);
    cr_assert_eq(kb_suggest(ix, q, 1, 0, h), 0);
    size_t all = kb_suggest(ix, q, 1, 10, h);
    cr_assert_geq(all, 6);
    double best = h[0].score;
    kb_index_free(&ix);
    cr_assert_eq(kb_index_new(t.a, t.n, best, &ix, NULL), 0);
    cr_assert_eq(kb_suggest(ix, q, 1, 10, h), 1, "only the best reaches its own score");
    kb_index_free(&ix);
    cr_assert_eq(kb_index_new(t.a, t.n, best + 0.001, &ix, NULL), 0);
    cr_assert_eq(kb_suggest(ix, q, 1, 10, h), 0);
    kb_index_free(&ix);
    cr_assert_eq(kb_index_new(t.a, t.n, -1, &ix, NULL), ERR_INVAL);
    cr_assert_null(ix);
    cases_free(t.rows, t.nrows);
}

Test(kb, title_outweighs_body)
{
    struct cfg_kb_article a[] = {
        { .id = "body", .title = "General questions", .body = "We also cover shipping times." },
        { .id = "title", .title = "Shipping times", .body = "We deliver worldwide." },
    };
    struct kb_index *ix = NULL;
    cr_assert_eq(kb_index_new(a, 2, 0, &ix, NULL), 0);
    const char *q[] = { "shipping" };
    struct kb_hit h[2];
    cr_assert_eq(kb_suggest(ix, q, 1, 2, h), 2);
    cr_assert_str_eq(h[0].id, "title");
    cr_assert_gt(h[0].score, h[1].score);
    cr_assert_str_eq(h[0].title, "Shipping times");
    cr_assert_null(h[0].url);
    kb_index_free(&ix);
}

Test(kb, empty_index_and_empty_query)
{
    struct kb_index *ix = NULL;
    cr_assert_eq(kb_index_new(NULL, 0, 0.5, &ix, NULL), 0);
    const char *q[] = { "anything", NULL };
    struct kb_hit h[3];
    cr_assert_eq(kb_suggest(ix, q, 2, 3, h), 0);
    cr_assert_eq(kb_index_terms(ix), 0);
    kb_index_free(&ix);
    cr_assert_eq(kb_suggest(NULL, q, 1, 3, h), 0);
}

Test(kb, index_from_config)
{
    const char *yaml = MIN
        "kb:\n"
        "  min_score: 0.2\n"
        "  suggestions: 2\n"
        "  articles:\n"
        "    - {id: KB-1, title: Reset your password, url: \"https://kb/1\", keywords: [login]}\n"
        "    - {id: KB-2, title: Refunds, body: Money back within 14 days.}\n";
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("t.yaml", yaml, strlen(yaml), &c, &e), 0, "%s", e.msg);
    cr_assert_float_eq(c->kb_min_score, 0.2, 1e-12);
    struct kb_index *ix = NULL;
    cr_assert_eq(kb_index_from_cfg(c, &ix, &e), 0, "%s", e.msg);
    cfg_unref(&c);                      /* the index keeps its own copies */
    const char *q[] = { "can't login" };
    struct kb_hit h[2];
    cr_assert_eq(kb_suggest(ix, q, 1, 2, h), 1);
    cr_assert_str_eq(h[0].id, "KB-1");
    cr_assert_str_eq(h[0].url, "https://kb/1");
    kb_index_free(&ix);
}

Test(kb, example_config_suggests)
{
    struct cfg *c = example_cfg();
    struct err e = {0};
    struct kb_index *ix = NULL;
    cr_assert_eq(kb_index_from_cfg(c, &ix, &e), 0, "%s", e.msg);
    cfg_unref(&c);
    static const struct { const char *text, *want; } q[] = {
        { "I forgot my password", "KB-001" },
        { "I want my money back", "KB-002" },
        { "Please fix the VAT number on my invoice", "KB-003" },
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        struct kb_hit h[3];
        size_t n = kb_suggest(ix, &q[i].text, 1, 3, h);
        cr_assert_geq(n, 1, "'%s': no suggestion", q[i].text);
        cr_assert_str_eq(h[0].id, q[i].want, "'%s'", q[i].text);
    }
    const char *hello = "hello, thanks!";
    struct kb_hit h[3];
    cr_assert_eq(kb_suggest(ix, &hello, 1, 3, h), 0);
    kb_index_free(&ix);
}
