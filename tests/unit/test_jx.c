/*
 * test_jx.c — JSON input checks: positions, unknown fields, types.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/jx.h"

Test(jx, malformed_json_has_position)
{
    json_t *v;
    struct err e = {0};
    const char *s = "{\n  \"a\": 1,\n  \"b\": }";
    cr_assert_eq(jx_parse(s, strlen(s), &v, &e), ERR_INVAL);
    cr_assert_null(v);
    cr_assert(strstr(e.msg, "line 3") != NULL, "%s", e.msg);
}

Test(jx, duplicate_keys_refused)
{
    json_t *v;
    struct err e = {0};
    const char *s = "{\"a\":1,\"a\":2}";
    cr_assert_eq(jx_parse(s, strlen(s), &v, &e), ERR_INVAL);
}

Test(jx, object_required)
{
    json_t *v;
    struct err e = {0};
    cr_assert_eq(jx_parse_object("[1]", 3, &v, &e), ERR_INVAL);
    cr_assert(strstr(e.msg, "JSON object") != NULL);
}

Test(jx, unknown_field_named)
{
    json_t *v;
    struct err e = {0};
    const char *s = "{\"status\":\"open\",\"colour\":\"red\"}";
    cr_assert_eq(jx_parse_object(s, strlen(s), &v, &e), 0);
    static const char *const allowed[] = {"status", "priority", NULL};
    cr_assert_eq(jx_check_fields(v, allowed, "", &e), ERR_INVAL);
    cr_assert_str_eq(e.msg, "unknown field 'colour'");
    cr_assert_str_eq(e.field, "colour");
    json_decref(v);
}

Test(jx, typed_getters)
{
    json_t *v;
    struct err e = {0};
    const char *s = "{\"s\":\"x\",\"i\":5,\"b\":true,\"wrong\":\"5\"}";
    cr_assert_eq(jx_parse_object(s, strlen(s), &v, &e), 0);
    const char *str = NULL;
    int64_t i = 0;
    bool b = false;
    cr_assert_eq(jx_get_str(v, "s", true, &str, &e), 0);
    cr_assert_str_eq(str, "x");
    cr_assert_eq(jx_get_int(v, "i", true, &i, &e), 0);
    cr_assert_eq(i, 5);
    cr_assert_eq(jx_get_bool(v, "b", true, &b, &e), 0);
    cr_assert(b);
    cr_assert_eq(jx_get_int(v, "absent", false, &i, &e), 0);
    cr_assert_eq(i, 5, "optional absent keys leave the value alone");
    cr_assert_eq(jx_get_int(v, "wrong", true, &i, &e), ERR_INVAL);
    cr_assert_str_eq(e.msg, "field 'wrong' must be an integer");
    err_clear(&e);
    cr_assert_eq(jx_get_str(v, "missing", true, &str, &e), ERR_INVAL);
    cr_assert_str_eq(e.msg, "missing required field 'missing'");
    json_decref(v);
}

Test(jx, text_must_not_be_blank)
{
    json_t *v;
    struct err e = {0};
    const char *s = "{\"ok\":\" hi \",\"blank\":\" \\t\\r\\n\",\"empty\":\"\",\"num\":1}";
    cr_assert_eq(jx_parse_object(s, strlen(s), &v, &e), 0);
    const char *t = NULL;
    cr_assert_eq(jx_get_text(v, "ok", &t, &e), 0);
    cr_assert_str_eq(t, " hi ", "kept as given, not trimmed");
    const char *keys[] = {"blank", "empty"};
    for (size_t i = 0; i < 2; i++) {
        err_clear(&e);
        cr_assert_eq(jx_get_text(v, keys[i], &t, &e), ERR_INVAL);
        cr_assert_str_eq(e.field, keys[i]);
        cr_assert(strstr(e.msg, "must not be empty") != NULL, "%s", e.msg);
    }
    err_clear(&e);
    cr_assert_eq(jx_get_text(v, "num", &t, &e), ERR_INVAL);
    cr_assert_str_eq(e.msg, "field 'num' must be a string");
    err_clear(&e);
    cr_assert_eq(jx_get_text(v, "absent", &t, &e), ERR_INVAL);
    cr_assert_str_eq(e.msg, "missing required field 'absent'");
    json_decref(v);
}
