/*
 * test_rx.c — the rule matcher: keyword lists (whole words, Unicode case
 * folding, literal characters, '*' edges, scripts without spaces), PCRE2
 * patterns, error messages with offsets, and the match limit.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/rx.h"

/* 1 when `text` matches the keyword list, with the keyword index in *word. */
static int words_find(const char *const *words, size_t n, const char *text, size_t *word)
{
    struct rx *r = NULL;
    struct err e = {0};
    cr_assert_eq(rx_compile_words(words, n, &r, NULL, &e), 0, "compile: %s", e.msg);
    struct rx_hit h = {0};
    int rc = rx_find(r, text, strlen(text), &h, &e);
    if (rc == 1 && word != NULL)
        *word = h.word;
    rx_free(&r);
    cr_assert_null(r);
    return rc;
}

static int one(const char *kw, const char *text)
{
    const char *w[] = { kw };
    return words_find(w, 1, text, NULL);
}

Test(rx, whole_words_only)
{
    cr_expect_eq(one("bill", "my bill is wrong"), 1);
    cr_expect_eq(one("bill", "billing question"), 0, "a prefix of a word is not the word");
    cr_expect_eq(one("bill", "rebill me"), 0);
    cr_expect_eq(one("bill", "bill_2 is wrong"), 0, "'_' is a word character");
    cr_expect_eq(one("bill", "bill."), 1);
    cr_expect_eq(one("bill", "(bill)"), 1);
    cr_expect_eq(one("bill", "bill"), 1);
    cr_expect_eq(one("bill", ""), 0);
}

Test(rx, unicode_case_folding)
{
    cr_expect_eq(one("счёт", "Мой СЧЁТ неверный"), 1);
    cr_expect_eq(one("СЧЁТ", "мой счёт неверный"), 1);
    cr_expect_eq(one("Invoice", "INVOICE 42"), 1);
    cr_expect_eq(one("ΣΊΣΥΦΟΣ", "σίσυφος"), 1, "Greek, final sigma folds too");
    cr_expect_eq(one("счёт", "мой счет неверный"), 0, "ё and е are different letters");
    cr_expect_eq(one("счёт", "счёта"), 0, "an inflected form is another word");
    cr_expect_eq(one("счёт*", "нет счёта"), 1, "unless the keyword ends in '*'");
    cr_expect_eq(one("рахунок", "мійрахунок"), 0, "Cyrillic letters are word characters");
}

Test(rx, star_edges)
{
    cr_expect_eq(one("refund*", "two refunds please"), 1);
    cr_expect_eq(one("refund*", "refund"), 1);
    cr_expect_eq(one("refund*", "prerefunds"), 0, "the left edge still counts");
    cr_expect_eq(one("*back", "chargeback now"), 1);
    cr_expect_eq(one("*back", "backup"), 0);
    cr_expect_eq(one("*fund*", "prerefunds"), 1);
}

Test(rx, special_characters_are_literal)
{
    cr_expect_eq(one("c++", "I write c++ daily"), 1);
    cr_expect_eq(one("c++", "I write cc daily"), 0, "'+' is not a quantifier");
    cr_expect_eq(one("a.b", "axb"), 0, "'.' is not a wildcard");
    cr_expect_eq(one("a.b", "see a.b now"), 1);
    cr_expect_eq(one("(urgent)", "it is (urgent)!"), 1);
    cr_expect_eq(one("$5", "costs $5"), 1);
    cr_expect_eq(one("[x]", "box [x] ticked"), 1);
    cr_expect_eq(one("\\d", "a \\d b"), 1);
    cr_expect_eq(one("\\d", "a 5 b"), 0);
    cr_expect_eq(one("a|b", "a"), 0, "'|' is not alternation");
    cr_expect_eq(one("\\E.*", "x \\E.* y"), 1, "no \\Q...\\E games");
}

Test(rx, whitespace_inside_a_keyword)
{
    cr_expect_eq(one("charge back", "a charge   back here"), 1);
    cr_expect_eq(one("charge back", "a charge\n\tback here"), 1);
    cr_expect_eq(one("charge back", "a chargeback"), 0);
    cr_expect_eq(one("  padded  ", "is padded here"), 1, "ends are trimmed");
}

Test(rx, scripts_without_spaces)
{
    cr_expect_eq(one("发票", "我的发票错了"), 1);
    cr_expect_eq(one("請求書", "請求書が届きません"), 1, "Han then Hiragana");
    cr_expect_eq(one("ใบแจ้งหนี้", "ขอใบแจ้งหนี้ด้วย"), 1, "Thai");
    cr_expect_eq(one("bill", "发票bill"), 0, "a Latin edge is still an edge");
}

Test(rx, which_keyword_matched)
{
    const char *w[] = { "invoice", "refund", "счёт" };
    size_t word = 99;
    cr_assert_eq(words_find(w, 3, "Need a REFUND", &word), 1);
    cr_expect_eq(word, 1);
    cr_assert_eq(words_find(w, 3, "где мой Счёт?", &word), 1);
    cr_expect_eq(word, 2);
    cr_assert_eq(words_find(w, 3, "refund my invoice", &word), 1);
    cr_expect_eq(word, 1, "the leftmost match in the text wins");
    cr_expect_eq(words_find(w, 3, "nothing here", &word), 0);
}

Test(rx, keyword_with_nothing_to_match)
{
    const char *w[] = { "ok", "  *  " };
    struct rx *r = NULL;
    struct err e = {0};
    size_t bad = 0;
    cr_assert_eq(rx_compile_words(w, 2, &r, &bad, &e), ERR_INVAL);
    cr_expect_null(r);
    cr_expect_eq(bad, 1);
    cr_expect(strstr(e.msg, "keyword '  *  ' has nothing to match") != NULL, "%s", e.msg);
    const char *empty[] = { "" };
    cr_assert_eq(rx_compile_words(empty, 1, &r, &bad, NULL), ERR_INVAL);
    cr_assert_eq(rx_compile_words(w, 0, &r, &bad, NULL), ERR_INVAL);
}

Test(rx, patterns)
{
    struct rx *r = NULL;
    struct err e = {0};
    cr_assert_eq(rx_compile("refund|charge ?back", &r, &e), 0, "%s", e.msg);
    struct rx_hit h;
    const char *t = "I want a ChargeBack now";
    cr_assert_eq(rx_find(r, t, strlen(t), &h, &e), 1);
    cr_expect_eq(h.start, 9);
    cr_expect_eq(h.end, 19);
    cr_expect_eq(rx_find(r, "nope", 4, &h, &e), 0);
    rx_free(&r);

    cr_assert_eq(rx_compile("\\bсч[её]т\\w*", &r, &e), 0, "%s", e.msg);
    t = "Где СЧЕТА?";
    cr_expect_eq(rx_find(r, t, strlen(t), &h, &e), 1, "\\b and \\w are Unicode-aware");
    rx_free(&r);
}

Test(rx, pattern_errors_name_the_offset)
{
    struct rx *r = (struct rx *)1;
    struct err e = {0};
    cr_assert_eq(rx_compile("refund(", &r, &e), ERR_INVAL);
    cr_expect_null(r);
    cr_expect_str_eq(e.msg, "missing closing parenthesis at offset 7");
    struct err e2 = {0};
    cr_assert_eq(rx_compile("a{2,1}", &r, &e2), ERR_INVAL);
    cr_expect(strstr(e2.msg, "at offset") != NULL, "%s", e2.msg);
}

Test(rx, invalid_utf8_text_is_not_an_error)
{
    const char *w[] = { "bill" };
    cr_expect_eq(words_find(w, 1, "\xff\xfe bill \xc3", NULL), 1);
    cr_expect_eq(words_find(w, 1, "\xff\xfe", NULL), 0);
}

Test(rx, catastrophic_backtracking_gives_up)
{
    struct rx *r = NULL;
    struct err e = {0};
    cr_assert_eq(rx_compile("^(a+)+$", &r, &e), 0);
    char text[64];
    memset(text, 'a', sizeof text - 2);
    text[sizeof text - 2] = '!';
    text[sizeof text - 1] = '\0';
    struct rx_hit h;
    cr_expect_eq(rx_find(r, text, strlen(text), &h, &e), ERR_TOOBIG);
    cr_expect(strstr(e.msg, "match limit") != NULL, "%s", e.msg);
    rx_free(&r);
    rx_free(&r);
}

Test(rx, exact_values)
{
    const char *v[] = { "Billing", "Оплата", "two words" };
    struct rx *r = NULL;
    struct err e = {0};
    cr_assert_eq(rx_compile_exact(v, 3, &r, NULL, &e), 0, "%s", e.msg);
    struct rx_hit h;
    static const struct { const char *text; int want; } cases[] = {
        { "billing", 1 }, { "  BILLING \n", 1 }, { "оплата", 1 }, { "two  words", 1 },
        { "billing please", 0 }, { "my billing", 0 }, { "", 0 }, { "bill", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(rx_find(r, cases[i].text, strlen(cases[i].text), &h, &e), cases[i].want,
                     "'%s'", cases[i].text);
    cr_assert_eq(rx_find(r, "ОПЛАТА", strlen("ОПЛАТА"), &h, &e), 1);
    cr_expect_eq(h.word, 1);
    rx_free(&r);
    const char *empty[] = { "ok", " " };
    size_t bad = 0;
    cr_assert_eq(rx_compile_exact(empty, 2, &r, &bad, &e), ERR_INVAL);
    cr_expect_eq(bad, 1);
}
