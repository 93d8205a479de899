/*
 * test_text.c — UTF-16 lengths and splitting of long messages.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "desk/text.h"

static struct arena *A;

static void setup(void) { A = arena_new(0); }
static void teardown(void) { arena_free(&A); }

TestSuite(text, .init = setup, .fini = teardown);

/* Split and check the invariants every split must keep; returns n. */
static size_t split_checked(const char *s, size_t max, const char ***parts)
{
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(text_split(s, max, A, parts, &n, &e), 0, "%s", e.msg);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_gt(strlen((*parts)[i]), 0, "part %zu is empty", i);
        cr_assert_leq(text_utf16_len((*parts)[i]), max, "part %zu has %zu units", i,
                      text_utf16_len((*parts)[i]));
        cr_assert_eq(strncmp(s + total, (*parts)[i], strlen((*parts)[i])), 0,
                     "part %zu is not the next slice of the input", i);
        total += strlen((*parts)[i]);
    }
    cr_assert_eq(total, strlen(s), "parts do not add up to the input");
    return n;
}

static char *repeat(const char *unit, size_t times)
{
    size_t u = strlen(unit);
    char *s = malloc(u * times + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * u, unit, u);
    s[u * times] = '\0';
    return s;
}

Test(text, utf16_lengths)
{
    cr_expect_eq(text_utf16_len(NULL), 0);
    cr_expect_eq(text_utf16_len(""), 0);
    cr_expect_eq(text_utf16_len("hello"), 5);
    cr_expect_eq(text_utf16_len("Привет"), 6);           /* 2-byte chars */
    cr_expect_eq(text_utf16_len("你好"), 2);              /* 3-byte chars */
    cr_expect_eq(text_utf16_len("😀"), 2);               /* 4 bytes = surrogate pair */
    cr_expect_eq(text_utf16_len("a😀b"), 4);
    cr_expect_eq(text_utf16_len("\xe2\x82\xac"), 1);     /* euro sign */
}

Test(text, invalid_utf8_counts_bytes_safely)
{
    cr_expect_eq(text_utf16_len("\xff"), 1);
    cr_expect_eq(text_utf16_len("a\x80" "b"), 3);        /* stray continuation */
    cr_expect_eq(text_utf16_len("\xc3"), 1);             /* truncated 2-byte */
    cr_expect_eq(text_utf16_len("\xf0\x9f\x98"), 3);     /* truncated emoji: 3 bad bytes */
    cr_expect_eq(text_utf16_len("\xed\xa0\x80"), 3);     /* encoded surrogate is invalid */
    cr_expect_eq(text_utf16_len("\xc0\xaf"), 2);         /* overlong */
    const char **p;
    size_t n = split_checked("\xff\xfe\xfd\xfc\xfb", 2, &p);
    cr_expect_eq(n, 3);
}

Test(text, short_text_is_one_part_and_empty_is_none)
{
    const char **p;
    cr_expect_eq(split_checked("hello world", 4096, &p), 1);
    cr_expect_str_eq(p[0], "hello world");
    cr_expect_eq(split_checked("", 4096, &p), 0);
}

Test(text, bad_arguments)
{
    const char **p;
    size_t n;
    struct err e = {0};
    cr_expect_eq(text_split("abc", 1, A, &p, &n, &e), ERR_INVAL);
    cr_expect_eq(text_split(NULL, 10, A, &p, &n, &e), ERR_INVAL);
}

Test(text, exactly_4096_is_one_part_and_4097_two)
{
    char *s = repeat("a", 4096);
    const char **p;
    cr_expect_eq(split_checked(s, TEXT_MESSAGE_MAX, &p), 1);
    free(s);
    s = repeat("a", 4097);
    cr_expect_eq(split_checked(s, TEXT_MESSAGE_MAX, &p), 2);
    cr_expect_eq(strlen(p[0]), 4096);
    cr_expect_eq(strlen(p[1]), 1);
    free(s);
}

Test(text, ten_thousand_ascii_words_cut_after_spaces)
{
    char *s = repeat("word ", 2000);   /* 10,000 chars */
    const char **p;
    size_t n = split_checked(s, TEXT_MESSAGE_MAX, &p);
    cr_expect_eq(n, 3);
    for (size_t i = 0; i + 1 < n; i++) {
        size_t l = strlen(p[i]);
        cr_expect_eq(p[i][l - 1], ' ', "part %zu should end with its space", i);
    }
    cr_expect_eq(strlen(p[0]), 4095);  /* 819 whole "word " */
    free(s);
}

Test(text, prefers_the_last_newline_over_spaces)
{
    /* window of 20: "aaa bbb ccc\nddd eee " — newline at 12 wins over later spaces */
    const char *s = "aaa bbb ccc\nddd eee fff ggg";
    const char **p;
    size_t n = split_checked(s, 20, &p);
    cr_expect_eq(n, 2);
    cr_expect_str_eq(p[0], "aaa bbb ccc\n");
    cr_expect_str_eq(p[1], "ddd eee fff ggg");
}

Test(text, early_breaks_do_not_make_tiny_parts)
{
    /* the only space is near the start: cut hard instead of after "Al: " */
    const char *s = "Al: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    const char **p;
    size_t n = split_checked(s, 20, &p);
    cr_expect_eq(n, 2);
    cr_expect_eq(strlen(p[0]), 20);
}

Test(text, no_spaces_cuts_hard)
{
    char *s = repeat("x", 10000);
    const char **p;
    size_t n = split_checked(s, TEXT_MESSAGE_MAX, &p);
    cr_expect_eq(n, 3);
    cr_expect_eq(strlen(p[0]), 4096);
    cr_expect_eq(strlen(p[1]), 4096);
    cr_expect_eq(strlen(p[2]), 10000 - 8192);
    free(s);
}

Test(text, emoji_at_the_boundary_is_never_split)
{
    /* 4095 'a' then an emoji: 4097 units; the emoji must move whole */
    char *head = repeat("a", 4095);
    size_t hl = strlen(head);
    char *s = malloc(hl + 4 + 2);
    memcpy(s, head, hl);
    memcpy(s + hl, "\xf0\x9f\x98\x80" "b", 6);
    const char **p;
    size_t n = split_checked(s, TEXT_MESSAGE_MAX, &p);
    cr_expect_eq(n, 2);
    cr_expect_eq(strlen(p[0]), 4095);
    cr_expect_str_eq(p[1], "\xf0\x9f\x98\x80" "b");
    free(head);
    free(s);
}

Test(text, only_emoji)
{
    char *s = repeat("😀", 3000);   /* 6000 units */
    const char **p;
    size_t n = split_checked(s, TEXT_MESSAGE_MAX, &p);
    cr_expect_eq(n, 2);
    cr_expect_eq(text_utf16_len(p[0]), 4096);
    cr_expect_eq(text_utf16_len(p[1]), 1904);
    /* odd window: 5 units holds two emoji, never a half */
    n = split_checked("😀😀😀", 5, &p);
    cr_expect_eq(n, 2);
    cr_expect_str_eq(p[0], "😀😀");
    free(s);
}

Test(text, cyrillic_and_cjk_count_one_unit_each)
{
    char *s = repeat("Привет мир ", 1000);   /* 11,000 units, 20,000 bytes */
    const char **p;
    size_t n = split_checked(s, TEXT_MESSAGE_MAX, &p);
    cr_expect_eq(n, 3);
    cr_expect_eq(p[0][strlen(p[0]) - 1], ' ');
    free(s);
    s = repeat("漢字", 5000);               /* 10,000 units, no spaces */
    n = split_checked(s, TEXT_MESSAGE_MAX, &p);
    cr_expect_eq(n, 3);
    cr_expect_eq(text_utf16_len(p[0]), 4096);
    cr_expect_eq(strlen(p[0]), 4096 * 3);
    free(s);
}

Test(text, trailing_whitespace_stays_with_earlier_part)
{
    const char **p;
    size_t n = split_checked("abcd\n\nefgh", 6, &p);
    cr_expect_eq(n, 2);
    cr_expect_str_eq(p[0], "abcd\n\n");
    cr_expect_str_eq(p[1], "efgh");
}
