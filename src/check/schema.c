/*
 * schema.c — the JSON Schema subset of schema.h: a check of the schema
 * document once (keywords, $refs, patterns), then validation straight over
 * the jansson tree, building the instance path as it descends so the first
 * violation can say where it is.
 */
#include "check/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/jx.h"
#include "base/mem.h"
#include "base/rx.h"
#include "check/jpath.h"

/* $ref chains deeper than this are a cycle in the schema, not a deep document. */
#define SCHEMA_MAX_DEPTH 128

struct pat {
    const json_t *node;     /* the pattern string in doc */
    struct rx *rx;          /* owned */
};

struct schema {
    json_t *doc;            /* owned reference */
    struct pat *pats;       /* owned */
    size_t npats;
};

static const char *const annotations[] = {
    "$schema", "$id", "$defs", "definitions", "$comment", "title", "description",
    "examples", "default", "deprecated", "readOnly", "writeOnly", "format", NULL
};
static const char *const keywords[] = {
    "type", "enum", "const", "required", "properties", "additionalProperties",
    "dependentRequired", "items", "minItems", "maxItems", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    "allOf", "anyOf", "oneOf", "not", "$ref", NULL
};

static bool listed(const char *const *list, const char *k)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], k) == 0)
            return true;
    return false;
}

/* The value a local JSON pointer "#/a/b" names in doc, or NULL. */
static const json_t *resolve(const json_t *doc, const char *ref)
{
    if (ref[0] != '#')
        return NULL;
    const json_t *v = doc;
    const char *p = ref + 1;
    char tok[256];
    while (*p == '/' && v != NULL) {
        p++;
        size_t n = 0;
        while (*p != '\0' && *p != '/' && n + 1 < sizeof tok) {
            if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
                tok[n++] = p[1] == '0' ? '~' : '/';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = '\0';
        if (json_is_array(v))
            v = json_array_get(v, (size_t)strtoul(tok, NULL, 10));
        else
            v = json_object_get(v, tok);
    }
    return *p == '\0' ? v : NULL;
}

/* ---- checking the schema ------------------------------------------------------- */

static int check(struct schema *s, const json_t *node, const char *where, struct err *e);

static int check_list(struct schema *s, const json_t *arr, const char *where, const char *kw,
                      struct err *e)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return err_set(e, ERR_INVAL, "'%s' at %s must be a non-empty list of schemas", kw,
                       where);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s/%zu", where, kw, i);
        int rc = check(s, json_array_get(arr, i), sub, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_map(struct schema *s, const json_t *map, const char *where, const char *kw,
                     struct err *e)
{
    if (!json_is_object(map))
        return err_set(e, ERR_INVAL, "'%s' at %s must be an object", kw, where);
    const char *k;
    const json_t *v;
    json_object_foreach ((json_t *)map, k, v) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s/%s", where, kw, k);
        int rc = check(s, v, sub, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_pattern(struct schema *s, const json_t *pat, const char *where,
                         struct err *e)
{
    if (!json_is_string(pat))
        return err_set(e, ERR_INVAL, "'pattern' at %s must be a string", where);
    /* JSON Schema patterns are case-sensitive; rx compiles caseless by default */
    char *src = mem_alloc(json_string_length(pat) + 8);
    snprintf(src, json_string_length(pat) + 8, "(?-i)%s", json_string_value(pat));
    struct rx *rx = NULL;
    struct err in = {0};
    int rc = rx_compile(src, &rx, &in);
    mem_free(src);
    if (rc != 0)
        return err_set(e, ERR_INVAL, "bad 'pattern' at %s: %s", where, in.msg);
    s->pats = mem_realloc(s->pats, (s->npats + 1) * sizeof *s->pats);
    s->pats[s->npats++] = (struct pat){ .node = pat, .rx = rx };
    return 0;
}

static int check(struct schema *s, const json_t *node, const char *where, struct err *e)
{
    if (json_is_boolean(node))
        return 0;
    if (!json_is_object(node))
        return err_set(e, ERR_INVAL, "the schema at %s is neither an object nor a boolean",
                       where);
    const char *k;
    const json_t *v;
    int rc = 0;
    json_object_foreach ((json_t *)node, k, v) {
        if (!listed(keywords, k) && !listed(annotations, k))
            return err_set(e, ERR_INVAL, "unsupported keyword '%s' at %s", k, where);
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", where, k);
        if (strcmp(k, "$defs") == 0 || strcmp(k, "definitions") == 0 ||
            strcmp(k, "properties") == 0)
            rc = check_map(s, v, where, k, e);
        else if (strcmp(k, "additionalProperties") == 0 || strcmp(k, "items") == 0 ||
                 strcmp(k, "not") == 0)
            rc = check(s, v, sub, e);
        else if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 ||
                 strcmp(k, "oneOf") == 0)
            rc = check_list(s, v, where, k, e);
        else if (strcmp(k, "pattern") == 0)
            rc = check_pattern(s, v, where, e);
        else if (strcmp(k, "$ref") == 0 &&
                 (!json_is_string(v) || resolve(s->doc, json_string_value(v)) == NULL))
            rc = err_set(e, ERR_INVAL, "unresolvable $ref at %s (only '#/...' pointers "
                         "into the same document)", where);
        else if (strcmp(k, "required") == 0 && !json_is_array(v))
            rc = err_set(e, ERR_INVAL, "'required' at %s must be a list", where);
        else if (strcmp(k, "enum") == 0 && !json_is_array(v))
            rc = err_set(e, ERR_INVAL, "'enum' at %s must be a list", where);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int schema_compile(json_t *doc, struct schema **out, struct err *e)
{
    *out = NULL;
    struct schema *s = mem_alloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->doc = json_incref(doc);
    int rc = check(s, doc, "#", e);
    if (rc != 0) {
        schema_free(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int schema_compile_text(const char *name, const char *text, size_t len, struct schema **out,
                        struct err *e)
{
    json_t *doc;
    struct err in = {0};
    *out = NULL;
    int rc = jx_parse(text, len, &doc, &in);
    if (rc == 0) {
        rc = schema_compile(doc, out, &in);
        json_decref(doc);
    }
    if (rc != 0)
        return err_set(e, ERR_INVAL, "%s: %s", name, in.msg);
    return 0;
}

void schema_free(struct schema **sp)
{
    struct schema *s = sp != NULL ? *sp : NULL;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->npats; i++)
        rx_free(&s->pats[i].rx);
    mem_free(s->pats);
    json_decref(s->doc);
    mem_free(s);
    *sp = NULL;
}

/* ---- validating ----------------------------------------------------------------- */

struct vctx {
    const struct schema *s;
    char path[512];         /* the instance path so far: "$.ticket.customer" */
    size_t plen;
    char *why;
    size_t n;
    int depth;
};

static bool fail(struct vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct vctx *c, const char *fmt, ...)
{
    if (c->why == NULL || c->n == 0)
        return false;
    int k = snprintf(c->why, c->n, "%s: ", c->path);
    if (k >= 0 && (size_t)k < c->n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why + k, c->n - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return false;
}

static const char *type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static bool is_type(const json_t *v, const char *t)
{
    if (strcmp(t, "object") == 0) return json_is_object(v);
    if (strcmp(t, "array") == 0) return json_is_array(v);
    if (strcmp(t, "string") == 0) return json_is_string(v);
    if (strcmp(t, "number") == 0) return json_is_number(v);
    if (strcmp(t, "boolean") == 0) return json_is_boolean(v);
    if (strcmp(t, "null") == 0) return json_is_null(v);
    if (strcmp(t, "integer") == 0)
        return json_is_integer(v) ||
               (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
    return false;
}

/* Descend into a member or element: returns the old path length to restore. */
static size_t enter(struct vctx *c, const char *name, size_t index)
{
    size_t old = c->plen;
    int k = name != NULL ? snprintf(c->path + old, sizeof c->path - old, ".%s", name)
                         : snprintf(c->path + old, sizeof c->path - old, "[%zu]", index);
    if (k > 0)
        c->plen = old + (size_t)k < sizeof c->path ? old + (size_t)k : sizeof c->path - 1;
    return old;
}

static void leave(struct vctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static bool valid(struct vctx *c, const json_t *sc, const json_t *v);

static size_t utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static const struct rx *pattern_of(const struct schema *s, const json_t *node)
{
    for (size_t i = 0; i < s->npats; i++)
        if (s->pats[i].node == node)
            return s->pats[i].rx;
    return NULL;
}

static bool valid_type(struct vctx *c, const json_t *t, const json_t *v)
{
    char shown[96];
    if (json_is_string(t)) {
        if (is_type(v, json_string_value(t)))
            return true;
        return fail(c, "%s is %s, not %s", jpath_show(v, shown, sizeof shown), type_of(v),
                    json_string_value(t));
    }
    for (size_t i = 0; i < json_array_size(t); i++)
        if (is_type(v, json_string_value(json_array_get(t, i))))
            return true;
    char want[128];
    return fail(c, "%s is %s, not one of the types %s", jpath_show(v, shown, sizeof shown),
                type_of(v), jpath_show(t, want, sizeof want));
}

static bool valid_number(struct vctx *c, const json_t *sc, const json_t *v)
{
    double x = json_number_value(v);
    const json_t *m;
    if ((m = json_object_get(sc, "minimum")) != NULL && x < json_number_value(m))
        return fail(c, "%g is less than the minimum %g", x, json_number_value(m));
    if ((m = json_object_get(sc, "maximum")) != NULL && x > json_number_value(m))
        return fail(c, "%g is more than the maximum %g", x, json_number_value(m));
    if ((m = json_object_get(sc, "exclusiveMinimum")) != NULL && x <= json_number_value(m))
        return fail(c, "%g is not more than %g", x, json_number_value(m));
    if ((m = json_object_get(sc, "exclusiveMaximum")) != NULL && x >= json_number_value(m))
        return fail(c, "%g is not less than %g", x, json_number_value(m));
    return true;
}

static bool valid_string(struct vctx *c, const json_t *sc, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t cp = utf8_len(s, len);
    char shown[96];
    const json_t *m;
    if ((m = json_object_get(sc, "minLength")) != NULL && (json_int_t)cp < json_integer_value(m))
        return fail(c, "%s is shorter than %lld characters", jpath_show(v, shown, sizeof shown),
                    (long long)json_integer_value(m));
    if ((m = json_object_get(sc, "maxLength")) != NULL && (json_int_t)cp > json_integer_value(m))
        return fail(c, "%s is longer than %lld characters", jpath_show(v, shown, sizeof shown),
                    (long long)json_integer_value(m));
    if ((m = json_object_get(sc, "pattern")) != NULL) {
        struct err e = {0};
        struct rx_hit hit;
        if (rx_find(pattern_of(c->s, m), s, len, &hit, &e) != 1)
            return fail(c, "%s does not match the pattern %s",
                        jpath_show(v, shown, sizeof shown), json_string_value(m));
    }
    m = json_object_get(sc, "format");
    int64_t ms;
    if (json_is_string(m) && strcmp(json_string_value(m), "date-time") == 0 &&
        clock_parse_iso(s, &ms) != 0)
        return fail(c, "%s is not an RFC 3339 date-time", jpath_show(v, shown, sizeof shown));
    return true;
}

static bool valid_object(struct vctx *c, const json_t *sc, const json_t *v)
{
    const json_t *req = json_object_get(sc, "required");
    for (size_t i = 0; i < json_array_size(req); i++) {
        const char *k = json_string_value(json_array_get(req, i));
        if (k != NULL && json_object_get(v, k) == NULL)
            return fail(c, "required member '%s' is missing", k);
    }
    const json_t *dep = json_object_get(sc, "dependentRequired");
    const char *k;
    const json_t *x;
    json_object_foreach ((json_t *)dep, k, x) {
        if (json_object_get(v, k) == NULL)
            continue;
        for (size_t i = 0; i < json_array_size(x); i++) {
            const char *need = json_string_value(json_array_get(x, i));
            if (need != NULL && json_object_get(v, need) == NULL)
                return fail(c, "'%s' is present, so '%s' is required", k, need);
        }
    }
    const json_t *props = json_object_get(sc, "properties");
    const json_t *extra = json_object_get(sc, "additionalProperties");
    json_object_foreach ((json_t *)v, k, x) {
        const json_t *sub = json_object_get(props, k);
        if (sub == NULL && extra == NULL)
            continue;
        if (sub == NULL && json_is_false(extra))
            return fail(c, "member '%s' is not allowed here", k);
        size_t old = enter(c, k, 0);
        bool ok = valid(c, sub != NULL ? sub : extra, x);
        leave(c, old);
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_array(struct vctx *c, const json_t *sc, const json_t *v)
{
    size_t n = json_array_size(v);
    const json_t *m;
    if ((m = json_object_get(sc, "minItems")) != NULL && (json_int_t)n < json_integer_value(m))
        return fail(c, "%zu items, fewer than %lld", n, (long long)json_integer_value(m));
    if ((m = json_object_get(sc, "maxItems")) != NULL && (json_int_t)n > json_integer_value(m))
        return fail(c, "%zu items, more than %lld", n, (long long)json_integer_value(m));
    const json_t *items = json_object_get(sc, "items");
    for (size_t i = 0; items != NULL && i < n; i++) {
        size_t old = enter(c, NULL, i);
        bool ok = valid(c, items, json_array_get(v, i));
        leave(c, old);
        if (!ok)
            return false;
    }
    return true;
}

/* anyOf (want_one false) and oneOf (want_one true). */
static bool valid_alternatives(struct vctx *c, const json_t *list, const json_t *v,
                               bool want_one)
{
    size_t n = json_array_size(list), hits = 0, first = 0;
    char whys[3][256];
    char *saved = c->why;
    size_t savedn = c->n;
    for (size_t i = 0; i < n; i++) {
        c->why = whys[i < 3 ? i : 2];
        c->n = sizeof whys[0];
        c->why[0] = '\0';
        if (valid(c, json_array_get(list, i), v)) {
            if (hits++ == 0)
                first = i;
        }
    }
    c->why = saved;
    c->n = savedn;
    if (hits == 1 || (hits > 1 && !want_one))
        return true;
    if (hits > 1)
        return fail(c, "valid against alternatives %zu and more of oneOf, wanted exactly one",
                    first + 1);
    return fail(c, "valid against none of the %zu alternatives (1: %s%s%s%s%s)", n, whys[0],
                n > 1 ? "; 2: " : "", n > 1 ? whys[1] : "", n > 2 ? "; 3: " : "",
                n > 2 ? whys[2] : "");
}

static bool valid(struct vctx *c, const json_t *sc, const json_t *v)
{
    char shown[96];
    if (json_is_true(sc))
        return true;
    if (json_is_false(sc))
        return fail(c, "no value is allowed here");
    if (++c->depth > SCHEMA_MAX_DEPTH) {
        c->depth--;
        return fail(c, "the schema's $refs nest deeper than %d", SCHEMA_MAX_DEPTH);
    }
    bool ok = false;
    const json_t *m;
    if ((m = json_object_get(sc, "$ref")) != NULL &&
        !valid(c, resolve(c->s->doc, json_string_value(m)), v))
        goto out;
    if ((m = json_object_get(sc, "type")) != NULL && !valid_type(c, m, v))
        goto out;
    if ((m = json_object_get(sc, "const")) != NULL && !jpath_equal(m, v)) {
        char want[96];
        fail(c, "%s is not %s", jpath_show(v, shown, sizeof shown),
             jpath_show(m, want, sizeof want));
        goto out;
    }
    if ((m = json_object_get(sc, "enum")) != NULL) {
        size_t i;
        for (i = 0; i < json_array_size(m) && !jpath_equal(json_array_get(m, i), v); i++)
            ;
        if (i == json_array_size(m)) {
            char want[160];
            fail(c, "%s is not one of %s", jpath_show(v, shown, sizeof shown),
                 jpath_show(m, want, sizeof want));
            goto out;
        }
    }
    if ((json_is_number(v) && !valid_number(c, sc, v)) ||
        (json_is_string(v) && !valid_string(c, sc, v)) ||
        (json_is_object(v) && !valid_object(c, sc, v)) ||
        (json_is_array(v) && !valid_array(c, sc, v)))
        goto out;
    if ((m = json_object_get(sc, "allOf")) != NULL)
        for (size_t i = 0; i < json_array_size(m); i++)
            if (!valid(c, json_array_get(m, i), v))
                goto out;
    if ((m = json_object_get(sc, "anyOf")) != NULL && !valid_alternatives(c, m, v, false))
        goto out;
    if ((m = json_object_get(sc, "oneOf")) != NULL && !valid_alternatives(c, m, v, true))
        goto out;
    if ((m = json_object_get(sc, "not")) != NULL) {
        char *saved = c->why;
        c->why = NULL;
        bool inner = valid(c, m, v);
        c->why = saved;
        if (inner) {
            char what[128];
            fail(c, "matches a schema it must not match (%s)", jpath_show(m, what, sizeof what));
            goto out;
        }
    }
    ok = true;
out:
    c->depth--;
    return ok;
}

bool schema_validate(const struct schema *s, const json_t *v, char *why, size_t n)
{
    struct vctx c = { .s = s, .why = why, .n = n };
    strcpy(c.path, "$");
    c.plen = 1;
    if (why != NULL && n > 0)
        why[0] = '\0';
    return valid(&c, s->doc, v);
}
