/*
 * test_err.c — first message wins; code tables agree.
 */
#include <criterion/criterion.h>

#include "base/err.h"

Test(err, first_message_wins)
{
    struct err e = {0};
    cr_assert_eq(err_set(&e, ERR_NOTFOUND, "ticket %d not found", 7), ERR_NOTFOUND);
    cr_assert_eq(err_set(&e, ERR_DB, "outer context"), ERR_DB);
    cr_assert_eq(e.code, ERR_NOTFOUND);
    cr_assert_str_eq(e.msg, "ticket 7 not found");
    cr_assert_not_null(e.file);
    cr_assert_gt(e.line, 0);
    err_clear(&e);
    cr_assert_eq(e.code, 0);
    cr_assert_eq(err_field(&e, ERR_INVAL, "text", "text must not be empty"), ERR_INVAL);
    cr_assert_str_eq(e.field, "text");
}

Test(err, null_context_still_returns_code)
{
    cr_assert_eq(err_set(NULL, ERR_BUSY, "x"), ERR_BUSY);
}

Test(err, tables)
{
    cr_assert_eq(err_http_status(ERR_NOTFOUND), 404);
    cr_assert_eq(err_http_status(ERR_CONFLICT), 409);
    cr_assert_eq(err_http_status(ERR_TOOBIG), 413);
    cr_assert_eq(err_http_status(ERR_UNPROCESSABLE), 422);
    cr_assert_eq(err_http_status(ERR_AUTH), 401);
    cr_assert_eq(err_http_status(-999), 500);
    cr_assert_str_eq(err_id(ERR_INVAL), "invalid_request");
    cr_assert_str_eq(err_name(ERR_CONFLICT), "ERR_CONFLICT");
    cr_assert_str_eq(err_name(-999), "ERR_UNKNOWN");
}
