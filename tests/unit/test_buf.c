/*
 * test_buf.c — bounded buffers and JSON escaping.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"

Test(buf, append_and_detach)
{
    struct buf b;
    buf_init(&b, 0);
    cr_assert_str_eq(buf_str(&b), "");
    cr_assert_eq(buf_puts(&b, "hello"), 0);
    cr_assert_eq(buf_printf(&b, " %d", 42), 0);
    cr_assert_str_eq(buf_str(&b), "hello 42");
    char *s = buf_detach(&b);
    cr_assert_str_eq(s, "hello 42");
    free(s);
    cr_assert_eq(b.len, 0);
}

Test(buf, max_refuses_and_leaves_contents)
{
    struct buf b;
    buf_init(&b, 8);
    cr_assert_eq(buf_puts(&b, "12345678"), 0);
    cr_assert_eq(buf_putc(&b, '9'), ERR_TOOBIG);
    cr_assert_eq(buf_printf(&b, "%s", "x"), ERR_TOOBIG);
    cr_assert_str_eq(buf_str(&b), "12345678");
    buf_release(&b);
}

Test(buf, json_escape)
{
    struct buf b;
    buf_init(&b, 0);
    const char in[] = "a\"b\\c\n\t\x01é";
    cr_assert_eq(buf_json_escape(&b, in, sizeof in - 1), 0);
    cr_assert_str_eq(buf_str(&b), "a\\\"b\\\\c\\n\\t\\u0001é");
    buf_release(&b);
}

Test(buf, json_str_quotes_or_nulls)
{
    struct buf b;
    buf_init(&b, 0);
    cr_assert_eq(buf_json_str(&b, "plain"), 0);
    cr_assert_eq(buf_json_str(&b, NULL), 0);
    cr_assert_eq(buf_json_str(&b, "a\"\x1f"), 0);
    cr_assert_eq(buf_json_str(&b, "\xc3\x28"), 0);          /* broken sequence */
    cr_assert_eq(buf_json_str(&b, "\xed\xa0\x80"), 0);      /* a lone surrogate */
    cr_assert_eq(buf_json_str(&b, "\xc0\xaf"), 0);          /* overlong '/' */
    cr_assert_eq(buf_json_str(&b, "\xf4\x90\x80\x80"), 0);  /* past U+10FFFF */
    cr_assert_eq(buf_json_str(&b, "\xf0\x9f\x98\x80"), 0);  /* 😀 is fine */
    cr_assert_str_eq(buf_str(&b),
                     "\"plain\"null\"a\\\"\\u001f\"nullnullnullnull\"\xf0\x9f\x98\x80\"");
    buf_release(&b);
}

Test(buf, put_int_extremes)
{
    struct buf b;
    buf_init(&b, 0);
    buf_put_int(&b, 0);
    buf_putc(&b, ' ');
    buf_put_int(&b, -42);
    buf_putc(&b, ' ');
    buf_put_int(&b, 9223372036854775807LL);
    buf_putc(&b, ' ');
    buf_put_int(&b, -9223372036854775807LL - 1);
    cr_assert_str_eq(buf_str(&b), "0 -42 9223372036854775807 -9223372036854775808");
    buf_release(&b);
}

Test(buf, json_escape_keeps_the_limit)
{
    struct buf b;
    buf_init(&b, 4);
    cr_assert_eq(buf_json_escape(&b, "ab\ncd", 5), ERR_TOOBIG);
    cr_assert(b.len <= 4);
    buf_release(&b);
}

/* buf_append skips reserve() while there is room: the max must hold on
 * that path too, with spare capacity left by an earlier doubling. */
Test(buf, max_holds_with_room_to_spare)
{
    struct buf b;
    buf_init(&b, 300);
    char chunk[200];
    memset(chunk, 'a', sizeof chunk);
    cr_assert_eq(buf_append(&b, chunk, 200), 0);
    cr_assert_eq(buf_append(&b, chunk, 100), 0);     /* 300: grows past 300 bytes */
    cr_assert_gt(b.cap, (size_t)301, "spare room left by the doubling");
    cr_assert_eq(buf_putc(&b, 'x'), ERR_TOOBIG);
    cr_assert_eq(b.len, 300);
    cr_assert_eq(strlen(buf_str(&b)), 300);
    buf_release(&b);
}
