/*
 * test_fold.c — locale-free case mapping: UTF-8 decoding of good and bad
 * input, the case tables as each other's inverse, search folding, and
 * that no locale changes anything.
 */
#include <criterion/criterion.h>

#include <locale.h>
#include <string.h>

#include "desk/fold.h"

Test(fold, decode_and_encode)
{
    size_t n;
    cr_assert_eq(fold_decode("A", &n), 'A');
    cr_assert_eq(n, 1);
    cr_assert_eq(fold_decode("é", &n), 0xe9);
    cr_assert_eq(n, 2);
    cr_assert_eq(fold_decode("€", &n), 0x20ac);
    cr_assert_eq(n, 3);
    cr_assert_eq(fold_decode("🦓", &n), 0x1f993);
    cr_assert_eq(n, 4);
    static const char *const bad[] = {
        "\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "\xe2\x82",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(fold_decode(bad[i], &n), 0xfffd, "case %zu", i);
        cr_assert_eq(n, 1, "an invalid sequence is skipped one byte at a time");
    }
    char out[4];
    for (uint32_t cp = 1; cp < 0x110000; cp += cp < 0x800 ? 1 : 97) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        size_t len = fold_encode(cp, out);
        char buf[5] = {0};
        memcpy(buf, out, len);
        cr_assert_eq(fold_decode(buf, &n), cp, "U+%04X", cp);
        cr_assert_eq(n, len);
    }
}

Test(fold, case_tables_pair_up)
{
    size_t pairs = 0;
    for (uint32_t cp = 0; cp < 0x530; cp++) {
        uint32_t lo = fold_lower(cp), up = fold_upper(cp);
        if (lo != cp) {
            pairs++;
            if (cp != 0x130)            /* İ lowers to i, whose upper is I */
                cr_assert_eq(fold_upper(lo), cp, "U+%04X → U+%04X → U+%04X", cp, lo,
                             fold_upper(lo));
        }
        if (up != cp && cp != 0x131 && cp != 0x17f && cp != 0x3c2)
            cr_assert_eq(fold_lower(up), cp, "U+%04X ↑ U+%04X", cp, up);
    }
    cr_assert_gt(pairs, 250, "Latin, Greek and Cyrillic capitals are all covered");
    cr_assert_eq(fold_lower(0x416), 0x436);         /* Ж ж */
    cr_assert_eq(fold_lower(0x401), 0x451);         /* Ё ё */
    cr_assert_eq(fold_lower(0x3a3), 0x3c3);         /* Σ σ */
    cr_assert_eq(fold_upper(0x3c2), 0x3a3);         /* ς Σ */
    cr_assert_eq(fold_lower(0x1e9e), 0x1e9e, "outside the tables: unchanged");
}

Test(fold, strings_and_final_sigma)
{
    struct arena *a = arena_new(0);
    cr_assert_str_eq(fold_lower_str(a, "ΟΔΥΣΣΕΑΣ ΚΑΙ Σ"), "οδυσσεας και σ");
    cr_assert_str_eq(fold_upper_str(a, "straße ёжик"), "STRAßE ЁЖИК");
    cr_assert_str_eq(fold_lower_str(a, "A\xff" "B"), "a\xff" "b", "invalid bytes are kept");
    cr_assert(fold_equal("Enterprise", "ENTERPRISE"));
    cr_assert(fold_equal("Оплата", "оплата"));
    cr_assert_not(fold_equal("Pro", "Pros"));
    cr_assert_not(fold_equal("\xff", "\xfe"));
    cr_assert_not(fold_equal(NULL, "x"));
    arena_free(&a);
}

Test(fold, search_folding)
{
    cr_assert_eq(fold_search(0xc9), 'e');            /* É */
    cr_assert_eq(fold_search(0xfc), 'u');            /* ü */
    cr_assert_eq(fold_search(0x142), 'l');           /* ł */
    cr_assert_eq(fold_search(0xdf), 0xdf, "ß stays");
    cr_assert_eq(fold_search(0x386), 0x3b1);         /* Ά → α */
    cr_assert_eq(fold_search(0x3c2), 0x3c3);         /* ς → σ */
    cr_assert_eq(fold_search(0x401), 0x435);         /* Ё → е */
}

Test(fold, no_locale_dependence)
{
    uint32_t before[0x530];
    for (uint32_t cp = 0; cp < 0x530; cp++)
        before[cp] = fold_lower(cp) ^ (fold_upper(cp) << 11) ^ (fold_search(cp) << 22);
    if (setlocale(LC_ALL, "tr_TR.UTF-8") == NULL)
        setlocale(LC_ALL, "C.UTF-8");
    for (uint32_t cp = 0; cp < 0x530; cp++)
        cr_assert_eq(before[cp], fold_lower(cp) ^ (fold_upper(cp) << 11) ^
                                 (fold_search(cp) << 22));
    cr_assert_eq(fold_lower('I'), 'i', "no Turkish dotless i from a locale");
    setlocale(LC_ALL, "C");
}
