/*
 * test_yml.c — YAML into positioned nodes: positions, refusals, typed reads.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/yml.h"

static struct yml_doc *load_ok(const char *s)
{
    struct yml_doc *d = NULL;
    struct err e = {0};
    cr_assert_eq(yml_load("t.yaml", s, strlen(s), &d, &e), 0, "%s", e.msg);
    return d;
}

static void load_fails(const char *s, const char *want)
{
    struct yml_doc *d = NULL;
    struct err e = {0};
    cr_assert_eq(yml_load("t.yaml", s, strlen(s), &d, &e), ERR_CONFIG, "accepted: %s", s);
    cr_assert_null(d);
    cr_assert(strstr(e.msg, want) != NULL, "message '%s' lacks '%s'", e.msg, want);
}

Test(yml, tree_and_positions)
{
    struct yml_doc *d = load_ok("suite: demo\n"
                                "scenarios:\n"
                                "  - name: \"first\"\n"
                                "    steps: []\n"
                                "empty:\n");
    cr_assert_eq(d->root->kind, YML_MAP);
    cr_assert_eq(d->root->n, 3);
    const struct yml_node *sc = yml_get(d->root, "scenarios");
    cr_assert_eq(sc->kind, YML_SEQ);
    cr_assert_eq(sc->n, 1);
    const struct yml_node *name = yml_get(sc->items[0], "name");
    cr_assert_str_eq(name->str, "first");
    cr_assert_not(name->plain);
    cr_assert_eq(name->pos.line, 3);
    cr_assert_eq(name->pos.col, 11, "a quoted value is placed at its quote");
    cr_assert_eq(yml_key_pos(sc->items[0], "steps").line, 4);
    cr_assert_eq(yml_key_pos(sc->items[0], "steps").col, 5);
    cr_assert_eq(yml_get(d->root, "empty")->kind, YML_NULL);
    cr_assert_null(yml_get(d->root, "missing"));
    yml_free(&d);
    cr_assert_null(d);
}

Test(yml, aliases_resolve_and_expansion_is_bounded)
{
    struct yml_doc *d = load_ok("base: &b {x: 1}\ncopy: *b\n");
    cr_assert_str_eq(yml_get(yml_get(d->root, "copy"), "x")->str, "1");
    yml_free(&d);
    load_fails("a: *nowhere\n", "");
    /* nine levels of ten-fold aliases: a billion nodes if expanded */
    const char *laughs =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    load_fails(laughs, "more than 1000000 nodes");
}

Test(yml, refusals_name_the_place)
{
    load_fails("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a' (first at line 1)");
    load_fails("a: 1\n---\nb: 2\n", "t.yaml:3:1: more than one YAML document");
    load_fails("a: [1, 2\n", "t.yaml:");
    load_fails("ok: 1\nbad: \"x\xff\"\n", "t.yaml:2:8: invalid UTF-8 (byte 0xff)");
    load_fails("", "the file is empty");
    load_fails("? [a, b]\n: 1\n", "a mapping key must be a plain name");
}

Test(yml, typed_reads_and_key_checks)
{
    struct yml_doc *d = load_ok("n: 42\nq: \"42\"\nb: true\nt: 1m30s\nbad: 4x\nstpes: []\n");
    struct err e = {0};
    int64_t v = 0;
    bool b = false;
    cr_assert_eq(yml_int(d, yml_get(d->root, "n"), "n", 0, 100, &v, &e), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(yml_int(d, yml_get(d->root, "q"), "q", 0, 100, &v, &e), ERR_CONFIG,
                 "a quoted number is a string");
    err_clear(&e);
    cr_assert_eq(yml_int(d, yml_get(d->root, "n"), "n", 0, 10, &v, &e), ERR_CONFIG);
    cr_assert(strstr(e.msg, "t.yaml:1:4: n must be between 0 and 10, not 42") != NULL, "%s",
              e.msg);
    err_clear(&e);
    cr_assert_eq(yml_bool(d, yml_get(d->root, "b"), "b", &b, &e), 0);
    cr_assert(b);
    cr_assert_eq(yml_duration(d, yml_get(d->root, "t"), "t", &v, &e), 0);
    cr_assert_eq(v, 90000);
    cr_assert_eq(yml_duration(d, yml_get(d->root, "bad"), "advance", &v, &e), ERR_CONFIG);
    cr_assert(strstr(e.msg, "5:6: advance must be a duration") != NULL, "%s", e.msg);
    err_clear(&e);
    static const char *const allowed[] = {"n", "q", "b", "t", "bad", "steps", NULL};
    cr_assert_eq(yml_check_keys(d, d->root, allowed, "a scenario", &e), ERR_CONFIG);
    cr_assert(strstr(e.msg, "t.yaml:6:1: unknown key 'stpes' in a scenario (did you mean "
                            "'steps'?)") != NULL, "%s", e.msg);
    err_clear(&e);
    cr_assert_eq(yml_expect(d, yml_get(d->root, "n"), YML_SEQ, "steps", &e), ERR_CONFIG);
    cr_assert(strstr(e.msg, "steps must be a list, not a scalar value") != NULL, "%s", e.msg);
    yml_free(&d);
}
