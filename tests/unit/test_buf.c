/*
 * test_buf.c — bounded buffers and JSON escaping.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

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
