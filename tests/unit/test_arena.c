/*
 * test_arena.c — the capped request arena.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"

Test(arena, allocations_are_zeroed_and_aligned)
{
    struct arena *a = arena_new(0);
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = arena_alloc(a, (size_t)(i % 97) + 1);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 16, 0);
        for (int j = 0; j < (i % 97) + 1; j++)
            cr_assert_eq(p[j], 0);
        memset(p, 0xAB, (size_t)(i % 97) + 1);
    }
    void *big = arena_alloc(a, 1 << 20);
    cr_assert_not_null(big);
    arena_free(&a);
    cr_assert_null(a);
    arena_free(&a);   /* NULL is fine */
}

Test(arena, cap_is_enforced_and_sticky)
{
    struct arena *a = arena_new(64 * 1024);
    cr_assert_not_null(arena_alloc(a, 1000));
    cr_assert_null(arena_alloc(a, 200 * 1024));
    cr_assert(a->exhausted);
    arena_free(&a);
}

Test(arena, strings)
{
    struct arena *a = arena_new(0);
    cr_assert_str_eq(arena_strdup(a, "hello"), "hello");
    cr_assert_str_eq(arena_strndup(a, "hello", 3), "hel");
    cr_assert_str_eq(arena_printf(a, "%d-%s", 42, "x"), "42-x");
    cr_assert_null(arena_strdup(a, NULL));
    arena_free(&a);
}

Test(arena, reset_keeps_one_chunk_and_clears_the_flag)
{
    struct arena *a = arena_new(64 * 1024);
    cr_assert_not_null(arena_alloc(a, 1000));
    cr_assert_not_null(arena_alloc(a, 20 * 1024));
    cr_assert_null(arena_alloc(a, 60 * 1024));
    cr_assert(a->exhausted);
    arena_reset(a);
    cr_assert_not(a->exhausted);
    unsigned char *p = arena_alloc(a, 100);
    cr_assert_not_null(p);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(p[i], 0, "memory handed out again is zeroed");
    arena_free(&a);
}
