/*
 * jpath.c — JSON paths (see jpath.h): a hand-written scanner into a list of
 * steps, and a walk over jansson values.
 *
 * Each step remembers where it ends in the source text, so an evaluation
 * error can name the part of the path that did resolve ("no member 'x' in
 * $.ticket") without rebuilding it.
 */
#include "check/jpath.h"

#include "base/jx.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct step {
    bool is_index;
    int64_t index;      /* is_index */
    char *name;         /* owned, else */
    size_t end;         /* offset in text just past this step */
};

struct jpath {
    char *text;         /* owned */
    struct step steps[JPATH_MAX_STEPS];
    size_t n;
};

/* ---- compiling ------------------------------------------------------------- */

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '$' || c == '@' || c >= 0x80;
}

static int bad(const char *expr, size_t at, const char *what, struct err *e)
{
    return err_set(e, ERR_INVAL, "bad JSON path '%.100s': column %zu: %s", expr, at + 1,
                   what);
}

/* A quoted name starting at s[*i] (the quote); *i ends past the quote. */
static int quoted(const char *s, size_t *i, char **out, struct err *e)
{
    char q = s[*i];
    size_t j = *i + 1;
    char *name = mem_alloc(strlen(s) + 1);
    size_t n = 0;
    for (;;) {
        char c = s[j];
        if (c == '\0') {
            mem_free(name);
            return bad(s, j, "unterminated quoted name", e);
        }
        if (c == q)
            break;
        if (c == '\\') {
            char d = s[j + 1];
            if (d != '\\' && d != '\'' && d != '"') {
                mem_free(name);
                return bad(s, j, "only \\\\, \\' and \\\" escapes are allowed", e);
            }
            c = d;
            j++;
        }
        name[n++] = c;
        j++;
    }
    name[n] = '\0';
    *i = j + 1;
    *out = name;
    return 0;
}

/* An index starting at s[*i]: -?[0-9]+, at most 18 digits. */
static int index_of(const char *s, size_t *i, int64_t *out, struct err *e)
{
    size_t j = *i;
    bool neg = s[j] == '-';
    if (neg)
        j++;
    size_t start = j;
    int64_t v = 0;
    while (s[j] >= '0' && s[j] <= '9' && j - start < 18)
        v = v * 10 + (s[j++] - '0');
    if (j == start)
        return bad(s, *i, "expected an index or a quoted name", e);
    if (s[j] >= '0' && s[j] <= '9')
        return bad(s, *i, "index too large", e);
    *out = neg ? -v : v;
    *i = j;
    return 0;
}

int jpath_compile(const char *expr, struct jpath **out, struct err *e)
{
    *out = NULL;
    if (expr == NULL)
        return err_set(e, ERR_INVAL, "empty JSON path");
    if (strlen(expr) > JPATH_MAX_LEN)
        return err_set(e, ERR_INVAL, "JSON path longer than %d characters", JPATH_MAX_LEN);
    if (expr[0] != '$')
        return bad(expr, 0, "a path starts with '$'", e);
    struct jpath *p = mem_alloc(sizeof *p);
    p->text = mem_strdup(expr);
    size_t i = 1;
    int rc = 0;
    while (expr[i] != '\0') {
        if (p->n == JPATH_MAX_STEPS) {
            rc = bad(expr, i, "too many steps", e);
            goto fail;
        }
        struct step *st = &p->steps[p->n];
        if (expr[i] == '.') {
            size_t j = ++i;
            while (name_char((unsigned char)expr[j]))
                j++;
            if (j == i) {
                rc = bad(expr, i, "expected a member name after '.'", e);
                goto fail;
            }
            st->name = mem_strndup(expr + i, j - i);
            i = j;
        } else if (expr[i] == '[') {
            i++;
            if (expr[i] == '\'' || expr[i] == '"')
                rc = quoted(expr, &i, &st->name, e);
            else if ((rc = index_of(expr, &i, &st->index, e)) == 0)
                st->is_index = true;
            if (rc != 0)
                goto fail;
            if (expr[i] != ']') {
                rc = bad(expr, i, "expected ']'", e);
                goto fail;
            }
            i++;
        } else {
            rc = bad(expr, i, "expected '.' or '['", e);
            goto fail;
        }
        st->end = i;
        p->n++;
    }
    *out = p;
    return 0;

fail:
    jpath_free(&p);
    return rc;
}

void jpath_free(struct jpath **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    struct jpath *p = *pp;
    for (size_t i = 0; i < p->n; i++)
        mem_free(p->steps[i].name);
    /* a step that failed half-way may hold a name too */
    if (p->n < JPATH_MAX_STEPS)
        mem_free(p->steps[p->n].name);
    mem_free(p->text);
    mem_free(p);
    *pp = NULL;
}

const char *jpath_text(const struct jpath *p)
{
    return p->text;
}

/* ---- evaluating ------------------------------------------------------------ */

static const char *kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

json_t *jpath_eval(const struct jpath *p, json_t *root, struct err *why)
{
    json_t *v = root;
    size_t at = 1;      /* text length of the part resolved so far ("$") */
    for (size_t i = 0; i < p->n && v != NULL; i++) {
        const struct step *st = &p->steps[i];
        int w = (int)at;
        if (st->is_index) {
            if (!json_is_array(v)) {
                err_set(why, ERR_NOTFOUND, "%.*s is %s, not an array", w, p->text, kind(v));
                return NULL;
            }
            int64_t len = (int64_t)json_array_size(v);
            int64_t k = st->index < 0 ? len + st->index : st->index;
            if (k < 0 || k >= len) {
                err_set(why, ERR_NOTFOUND, "index %" PRId64 " out of range in %.*s (%" PRId64
                        " elements)", st->index, w, p->text, len);
                return NULL;
            }
            v = json_array_get(v, (size_t)k);
        } else {
            if (!json_is_object(v)) {
                err_set(why, ERR_NOTFOUND, "%.*s is %s, not an object", w, p->text, kind(v));
                return NULL;
            }
            json_t *next = json_object_get(v, st->name);
            if (next == NULL) {
                err_set(why, ERR_NOTFOUND, "no member '%s' in %.*s", st->name, w, p->text);
                return NULL;
            }
            v = next;
        }
        at = st->end;
    }
    if (v == NULL)
        err_set(why, ERR_NOTFOUND, "no document");
    return v;
}

int jpath_get(json_t *root, const char *expr, json_t **out, struct err *e)
{
    struct jpath *p;
    *out = NULL;
    int rc = jpath_compile(expr, &p, e);
    if (rc != 0)
        return rc;
    *out = jpath_eval(p, root, e);
    jpath_free(&p);
    return *out != NULL ? 0 : ERR_NOTFOUND;
}

bool jpath_equal(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b) != 0;
}

char *jpath_show(const json_t *v, char *out, size_t n)
{
    if (v == NULL) {
        snprintf(out, n, "(missing)");
        return out;
    }
    char *s = jx_dumps(v);
    size_t len = strlen(s);
    if (len < n) {
        memcpy(out, s, len + 1);
    } else {                      /* cut on a UTF-8 boundary, and say so */
        size_t cut = n - 4;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(out, s, cut);
        memcpy(out + cut, "...", 4);
    }
    mem_free(s);
    return out;
}
