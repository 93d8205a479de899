/*
 * test_env.c — {{variable}} expansion and the JSON reading of step
 * arguments (the HTTP half of env.c runs in the check integration tests).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/arena.h"
#include "check/env.h"

static struct check_env env;
static struct err e;

static void setup(void)
{
    memset(&env, 0, sizeof env);
    cr_assert_eq(env_open(&env, &e), 0);
    env.scratch = arena_new(0);
    json_object_set_new(env.vars, "t", json_integer(42));
    json_object_set_new(env.vars, "name", json_string("Ann"));
    json_object_set_new(env.vars, "row", json_pack("{si,s[ss]}", "len", 500, "tags", "a", "b"));
}

static void teardown(void)
{
    env_close(&env);
    env_close(&env);   /* twice is fine */
    arena_free(&env.scratch);
}

TestSuite(env, .init = setup, .fini = teardown);

Test(env, expand_strings_numbers_and_paths)
{
    const char *out;
    cr_assert_eq(env_expand(&env, "no vars", &out, &e), 0);
    cr_assert_str_eq(out, "no vars");
    cr_assert_eq(env_expand(&env, "/v1/tickets/{{t}}/thread", &out, &e), 0);
    cr_assert_str_eq(out, "/v1/tickets/42/thread");
    cr_assert_eq(env_expand(&env, "{{ name }}: {{row.len}} {{row.tags.1}}", &out, &e), 0);
    cr_assert_str_eq(out, "Ann: 500 b");
    cr_assert_eq(env_expand(&env, "{{row}}", &out, &e), 0);
    cr_assert_str_eq(out, "{\"len\":500,\"tags\":[\"a\",\"b\"]}");
}

Test(env, expand_names_what_has_no_value)
{
    const char *out;
    cr_assert_eq(env_expand(&env, "x {{row.width}}", &out, &e), ERR_NOTFOUND);
    cr_assert_str_eq(e.msg, "'{{row.width}}' has no value here");
    cr_assert_eq(env_expand(&env, "{{nobody}}", &out, &e), ERR_NOTFOUND);
}

static json_t *from_yaml(const char *text, struct yml_doc **d)
{
    cr_assert_eq(yml_load("t.yaml", text, strlen(text), d, &e), 0, "%s", e.msg);
    json_t *v = NULL;
    cr_assert_eq(env_json(&env, (*d)->root, &v, &e), 0, "%s", e.msg);
    return v;
}

Test(env, json_keeps_types)
{
    struct yml_doc *d = NULL;
    json_t *v = from_yaml("{id: \"{{t}}\", s: \"{{t}}x\", n: 7, q: \"7\", f: 1.5, b: true,"
                          " z: null, l: [\"{{name}}\", \"{{row.len}}\"], r: \"{{row}}\"}", &d);
    char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(got, "{\"b\":true,\"f\":1.5,\"id\":42,\"l\":[\"Ann\",500],\"n\":7,"
                          "\"q\":\"7\",\"r\":{\"len\":500,\"tags\":[\"a\",\"b\"]},\"s\":\"42x\","
                          "\"z\":null}");
    free(got);
    json_decref(v);
    yml_free(&d);
}

Test(env, text_of_n_is_seeded_words_of_exactly_n_characters)
{
    json_object_set_new(env.vars, "seed", json_string("8427361"));
    const char *a, *b;
    cr_assert_eq(env_expand(&env, "{{text(2000)}}", &a, &e), 0, "%s", e.msg);
    cr_assert_eq(strlen(a), 2000);
    cr_assert(a[0] >= 'a' && a[0] <= 'z' && a[1999] >= 'a' && a[1999] <= 'z');
    cr_assert_null(strstr(a, "  "), "single spaces");
    cr_assert_not_null(strchr(a, ' '), "words, not one run of letters");
    cr_assert_eq(strspn(a, "abcdefghijklmnopqrstuvwxyz "), 2000);
    /* the same N in the same case is the same text; a loop variable works too */
    cr_assert_eq(env_expand(&env, "{{ text(row.len) }}", &b, &e), 0, "%s", e.msg);
    cr_assert_eq(strlen(b), 500);
    const char *c;
    cr_assert_eq(env_expand(&env, "{{text(500)}}", &c, &e), 0);
    cr_assert_str_eq(b, c);
    /* another seed, another text */
    json_object_set_new(env.vars, "seed", json_string("1"));
    cr_assert_eq(env_expand(&env, "{{text(500)}}", &c, &e), 0);
    cr_assert_str_neq(b, c);
    /* a whole-scalar placeholder gives the string itself */
    struct yml_doc *d = NULL;
    cr_assert_eq(yml_load("t", "x: \"{{text(3)}}\"\n", 17, &d, &e), 0);
    json_t *v = NULL;
    cr_assert_eq(env_json(&env, yml_get(d->root, "x"), &v, &e), 0, "%s", e.msg);
    cr_assert(json_is_string(v) && json_string_length(v) == 3);
    json_decref(v);
    yml_free(&d);
    cr_assert_eq(env_expand(&env, "{{text(0)}}", &c, &e), ERR_NOTFOUND);
}
