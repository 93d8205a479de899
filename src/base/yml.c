/*
 * yml.c — one YAML document into a tree of positioned nodes (see yml.h).
 *
 * libfyaml parses; this file copies its document into arena nodes while it
 * checks what libfyaml leaves open: aliases must resolve (and their
 * expansion is bounded, against "billion laughs"), mapping keys must be
 * unique scalars, and a second document is refused rather than ignored.
 */
#include "base/yml.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"

struct conv {
    struct yml_doc *d;
    struct err *e;
    size_t nodes;
};

int yml_fail(const struct yml_doc *d, struct yml_pos p, struct err *e, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, ERR_CONFIG, "%s:%d:%d: %s", d->name, p.line > 0 ? p.line : 1,
                   p.col > 0 ? p.col : 1, msg);
}

/* --- positions ---------------------------------------------------------------- */

static struct yml_pos tok_pos(struct fy_token *t, struct yml_pos fb)
{
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    if (m == NULL)
        return fb;
    return (struct yml_pos){ .line = m->line + 1, .col = m->column + 1 };
}

/*
 * libfyaml 0.7 exposes marks only through tokens, and only scalars and
 * aliases have a public token, so a collection is placed at its first
 * scalar (the first key of a block mapping, where a reader looks) and an
 * empty one at the fallback (its key).
 */
static struct yml_pos node_pos(struct fy_node *n, struct yml_pos fb)
{
    for (int depth = 0; n != NULL && depth < 64; depth++) {
        void *it = NULL;
        switch (fy_node_get_type(n)) {
        case FYNT_SCALAR: {
            struct yml_pos p = tok_pos(fy_node_get_scalar_token(n), fb);
            enum fy_node_style st = fy_node_get_style(n);
            /* quoted and alias tokens start after the quote or '*' */
            if ((st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED || st == FYNS_ALIAS) &&
                p.col > 1)
                p.col--;
            return p;
        }
        case FYNT_SEQUENCE:
            n = fy_node_sequence_iterate(n, &it);
            break;
        case FYNT_MAPPING: {
            struct fy_node_pair *pr = fy_node_mapping_iterate(n, &it);
            n = pr ? fy_node_pair_key(pr) : NULL;
            break;
        }
        default:
            return fb;
        }
    }
    return fb;
}

/* --- conversion --------------------------------------------------------------- */

static bool fy_is_null(struct fy_node *n)
{
    if (n == NULL)
        return true;
    if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    if (s == NULL || len == 0)
        return true;
    return (len == 1 && s[0] == '~') ||
           (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
                         memcmp(s, "NULL", 4) == 0));
}

static struct yml_node *new_node(struct conv *cv, enum yml_kind k, struct yml_pos p)
{
    if (++cv->nodes > YML_MAX_NODES) {
        yml_fail(cv->d, p, cv->e, "the document expands to more than %u nodes "
                 "(aliases included)", YML_MAX_NODES);
        return NULL;
    }
    struct yml_node *y = arena_alloc(cv->d->a, sizeof *y);
    if (y == NULL) {
        err_set(cv->e, ERR_TOOBIG, "%s: the document is too large", cv->d->name);
        return NULL;
    }
    memset(y, 0, sizeof *y);
    y->kind = k;
    y->pos = p;
    return y;
}

static int convert(struct conv *cv, struct fy_node *n, struct yml_pos fb, int depth,
                   struct yml_node **out);

/* Follow an alias to its anchor. */
static int deref(struct conv *cv, struct fy_node **np, struct yml_pos p)
{
    struct fy_node *n = *np;
    if (n == NULL || !fy_node_is_alias(n))
        return 0;
    struct fy_node *r = fy_node_resolve_alias(n);
    if (r == NULL) {
        size_t len = 0;
        const char *s = fy_node_get_scalar(n, &len);
        return yml_fail(cv->d, p, cv->e, "alias '*%.*s' refers to no anchor",
                        (int)(len > 64 ? 64 : len), s ? s : "");
    }
    *np = r;
    return 0;
}

static int convert_map(struct conv *cv, struct fy_node *n, struct yml_node *y, int depth)
{
    size_t cnt = (size_t)fy_node_mapping_item_count(n);
    y->keys = arena_alloc(cv->d->a, (cnt ? cnt : 1) * sizeof(struct yml_node *));
    y->items = arena_alloc(cv->d->a, (cnt ? cnt : 1) * sizeof(struct yml_node *));
    if (y->keys == NULL || y->items == NULL)
        return err_set(cv->e, ERR_TOOBIG, "%s: the document is too large", cv->d->name);
    void *it = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(n, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(pr);
        struct yml_pos kp = node_pos(k, y->pos);
        int rc = deref(cv, &k, kp);
        if (rc != 0)
            return rc;
        if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR)
            return yml_fail(cv->d, kp, cv->e, "a mapping key must be a plain name, not %s",
                            k == NULL ? "empty" : "a collection");
        struct yml_node *key = NULL, *val = NULL;
        if ((rc = convert(cv, k, kp, depth + 1, &key)) != 0)
            return rc;
        key->pos = kp;
        if (key->kind != YML_SCALAR)
            key->kind = YML_SCALAR;     /* "null:" as a key is the name "null" */
        if (key->str == NULL) {
            key->str = "";
            key->len = 0;
        }
        for (size_t i = 0; i < y->n; i++)
            if (strcmp(y->keys[i]->str, key->str) == 0)
                return yml_fail(cv->d, kp, cv->e, "duplicate key '%s' (first at line %d)",
                                key->str, y->keys[i]->pos.line);
        if ((rc = convert(cv, fy_node_pair_value(pr), kp, depth + 1, &val)) != 0)
            return rc;
        y->keys[y->n] = key;
        y->items[y->n] = val;
        y->n++;
    }
    return 0;
}

static int convert(struct conv *cv, struct fy_node *n, struct yml_pos fb, int depth,
                   struct yml_node **out)
{
    struct yml_pos p = node_pos(n, fb);
    if (depth > 64)
        return yml_fail(cv->d, p, cv->e, "the document nests deeper than 64 levels");
    int rc = deref(cv, &n, p);
    if (rc != 0)
        return rc;
    struct yml_node *y;
    if (fy_is_null(n)) {
        y = new_node(cv, YML_NULL, p);
    } else {
        switch (fy_node_get_type(n)) {
        case FYNT_SCALAR: {
            y = new_node(cv, YML_SCALAR, p);
            if (y == NULL)
                break;
            size_t len = 0;
            const char *s = fy_node_get_scalar(n, &len);
            char *copy = arena_alloc(cv->d->a, len + 1);
            if (copy == NULL)
                return err_set(cv->e, ERR_TOOBIG, "%s: the document is too large",
                               cv->d->name);
            if (len > 0)
                memcpy(copy, s, len);
            copy[len] = '\0';
            if (memchr(copy, '\0', len) != NULL)
                return yml_fail(cv->d, p, cv->e, "NUL character in a value");
            y->str = copy;
            y->len = len;
            y->plain = fy_node_get_style(n) == FYNS_PLAIN;
            break;
        }
        case FYNT_SEQUENCE: {
            y = new_node(cv, YML_SEQ, p);
            if (y == NULL)
                break;
            size_t cnt = (size_t)fy_node_sequence_item_count(n);
            y->items = arena_alloc(cv->d->a, (cnt ? cnt : 1) * sizeof(struct yml_node *));
            if (y->items == NULL)
                return err_set(cv->e, ERR_TOOBIG, "%s: the document is too large",
                               cv->d->name);
            void *it = NULL;
            struct fy_node *item;
            while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
                if ((rc = convert(cv, item, p, depth + 1, &y->items[y->n])) != 0)
                    return rc;
                y->n++;
            }
            break;
        }
        case FYNT_MAPPING:
            y = new_node(cv, YML_MAP, p);
            if (y != NULL && (rc = convert_map(cv, n, y, depth)) != 0)
                return rc;
            break;
        default:
            y = NULL;
            err_set(cv->e, ERR_INTERNAL, "%s: unknown YAML node type", cv->d->name);
        }
    }
    if (y == NULL)
        return cv->e && cv->e->code ? cv->e->code : ERR_INTERNAL;
    *out = y;
    return 0;
}

/* --- loading ------------------------------------------------------------------ */

/* Position of the first byte that is not valid UTF-8, for the message. */
static int utf8_fail(struct yml_doc *d, const char *s, size_t len, struct err *e)
{
    struct yml_pos p = { 1, 1 };
    size_t line = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '\n')
            continue;
        if (!buf_utf8_valid(s + line, i - line) || memchr(s + line, '\0', i - line) != NULL) {
            size_t j = line;
            while (j < i && buf_utf8_valid(s + line, j - line + 1) && s[j] != '\0')
                j++;
            /* j stops inside a multi-byte sequence too: step to its start */
            while (j > line && ((unsigned char)s[j] & 0xc0) == 0x80)
                j--;
            p.col = (int)(j - line) + 1;
            if (s[j] == '\0')
                return yml_fail(d, p, e, "NUL byte in the file; YAML is UTF-8 text");
            return yml_fail(d, p, e, "invalid UTF-8 (byte 0x%02x); YAML is UTF-8 text",
                            (unsigned char)s[j]);
        }
        p.line++;
        line = i + 1;
    }
    return yml_fail(d, p, e, "invalid UTF-8");
}

static void diag_out(struct fy_diag *diag, void *user, const char *b, size_t n)
{
    (void)diag;
    (void)buf_append(user, b, n);
}

/* The first error libfyaml reported, as our message. */
static int parse_error(struct yml_doc *d, struct fy_diag *diag, struct buf *out, struct err *e)
{
    void *it = NULL;
    struct fy_diag_error *de;
    while ((de = fy_diag_errors_iterate(diag, &it)) != NULL)
        if (de->type >= FYET_ERROR && de->msg != NULL)
            return yml_fail(d, (struct yml_pos){ de->line, de->column }, e, "%s", de->msg);
    const char *s = buf_str(out);
    const char *tag = strstr(s, ": ");
    if (tag != NULL && s[0] == '[')
        s = tag + 2;
    size_t len = strcspn(s, "\n");
    return yml_fail(d, (struct yml_pos){ 1, 1 }, e, "invalid YAML%s%.*s", len ? ": " : "",
                    (int)len, s);
}

static int parse(struct yml_doc *d, const char *text, size_t len, struct err *e)
{
    struct buf out;
    buf_init(&out, 4096);
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;                   /* never stderr: everything goes to diag_out */
    dc.output_fn = diag_out;
    dc.user = &out;
    dc.colorize = false;
    int rc = 0;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (diag == NULL) {
        rc = err_set(e, ERR_NOMEM, "%s: cannot create the YAML diagnostics", d->name);
        goto out_buf;
    }
    fy_diag_set_collect_errors(diag, true);
    /* duplicates are allowed here so convert_map reports them with names */
    struct fy_parse_cfg pc = {
        .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS | FYPCF_JSON_NONE,
        .diag = diag,
    };
    struct fy_parser *fyp = fy_parser_create(&pc);
    if (fyp == NULL) {
        rc = err_set(e, ERR_NOMEM, "%s: cannot create the YAML parser", d->name);
        goto out_diag;
    }
    if (fy_parser_set_string(fyp, text, len) != 0) {
        rc = parse_error(d, diag, &out, e);
        goto out_parser;
    }
    struct fy_document *doc = fy_parse_load_document(fyp);
    if (doc == NULL) {
        if (fy_parser_get_stream_error(fyp) || fy_diag_got_error(diag))
            rc = parse_error(d, diag, &out, e);
        else
            rc = yml_fail(d, (struct yml_pos){ 1, 1 }, e, "the file is empty");
        goto out_parser;
    }
    struct fy_document *doc2;
    while ((doc2 = fy_parse_load_document(fyp)) != NULL) {
        struct fy_node *r2 = fy_document_root(doc2);
        bool empty = fy_is_null(r2);
        struct yml_pos p2 = node_pos(r2, (struct yml_pos){ 1, 1 });
        fy_parse_document_destroy(fyp, doc2);
        if (!empty) {
            rc = yml_fail(d, p2, e, "more than one YAML document ('---'); a file holds "
                          "exactly one");
            goto out_doc;
        }
    }
    if (fy_parser_get_stream_error(fyp)) {
        rc = parse_error(d, diag, &out, e);
        goto out_doc;
    }
    struct conv cv = { .d = d, .e = e };
    rc = convert(&cv, fy_document_root(doc), (struct yml_pos){ 1, 1 }, 0, &d->root);
out_doc:
    fy_parse_document_destroy(fyp, doc);
out_parser:
    fy_parser_destroy(fyp);
out_diag:
    fy_diag_destroy(diag);
out_buf:
    buf_release(&out);
    return rc;
}

int yml_load(const char *name, const char *text, size_t len, struct yml_doc **out,
             struct err *e)
{
    *out = NULL;
    struct yml_doc *d = mem_alloc(sizeof *d);
    memset(d, 0, sizeof *d);
    d->name = mem_strdup(name ? name : "<string>");
    d->a = arena_new(0);
    int rc;
    if (len > YML_MAX_BYTES)
        rc = err_set(e, ERR_TOOBIG, "%s: larger than %u bytes", d->name, YML_MAX_BYTES);
    else if (!buf_utf8_valid(text, len) || memchr(text, '\0', len) != NULL)
        rc = utf8_fail(d, text, len, e);
    else
        rc = parse(d, text, len, e);
    if (rc != 0) {
        yml_free(&d);
        return rc;
    }
    *out = d;
    return 0;
}

int yml_load_file(const char *path, struct yml_doc **out, struct err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, YML_MAX_BYTES);
    char chunk[65536];
    size_t got;
    int rc = 0;
    while (rc == 0 && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&b, chunk, got) != 0)
            rc = err_set(e, ERR_TOOBIG, "%s: larger than %u bytes", path, YML_MAX_BYTES);
    if (rc == 0 && ferror(f))
        rc = err_set(e, ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    fclose(f);
    if (rc == 0)
        rc = yml_load(path, buf_str(&b), b.len, out, e);
    buf_release(&b);
    return rc;
}

void yml_free(struct yml_doc **dp)
{
    struct yml_doc *d = *dp;
    if (d == NULL)
        return;
    arena_free(&d->a);
    mem_free(d->name);
    mem_free(d);
    *dp = NULL;
}

/* --- readers ------------------------------------------------------------------ */

const struct yml_node *yml_get(const struct yml_node *map, const char *key)
{
    if (map == NULL || map->kind != YML_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0)
            return map->items[i];
    return NULL;
}

struct yml_pos yml_key_pos(const struct yml_node *map, const char *key)
{
    if (map != NULL && map->kind == YML_MAP)
        for (size_t i = 0; i < map->n; i++)
            if (strcmp(map->keys[i]->str, key) == 0)
                return map->keys[i]->pos;
    return map ? map->pos : (struct yml_pos){ 1, 1 };
}

const char *yml_kind_name(const struct yml_node *n)
{
    switch (n ? n->kind : YML_NULL) {
    case YML_SCALAR: return "a scalar value";
    case YML_SEQ:    return "a list";
    case YML_MAP:    return "a mapping";
    default:         return "empty";
    }
}

/* Edit distance of short strings, for "did you mean" hints. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[33];
    if (la > 32 || lb > 32)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *yml_suggest(const char *const *names, const char *s)
{
    const char *best = NULL;
    size_t bestd = 3;                   /* at most two edits away */
    size_t len = strlen(s);
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t d = distance(s, names[i]);
        if (d < bestd && d < len) {
            bestd = d;
            best = names[i];
        }
    }
    return best;
}

int yml_check_keys(const struct yml_doc *d, const struct yml_node *map,
                   const char *const *allowed, const char *where, struct err *e)
{
    if (map == NULL || map->kind != YML_MAP)
        return 0;
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->str;
        bool ok = false;
        for (size_t j = 0; allowed[j] != NULL && !ok; j++)
            ok = strcmp(allowed[j], k) == 0;
        if (ok)
            continue;
        const char *hint = yml_suggest(allowed, k);
        if (hint != NULL)
            return yml_fail(d, map->keys[i]->pos, e, "unknown key '%s' in %s (did you mean '%s'?)",
                            k, where, hint);
        char list[512];
        size_t len = 0;
        list[0] = '\0';
        for (size_t j = 0; allowed[j] != NULL && len < sizeof list; j++) {
            int w = snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", allowed[j]);
            if (w < 0)
                break;
            len += (size_t)w;
        }
        return yml_fail(d, map->keys[i]->pos, e, "unknown key '%s' in %s (expected one of: %s)",
                        k, where, list);
    }
    return 0;
}

int yml_expect(const struct yml_doc *d, const struct yml_node *n, enum yml_kind k,
               const char *what, struct err *e)
{
    if (n != NULL && n->kind == k)
        return 0;
    static const char *const want[] = { "empty", "a scalar value", "a list", "a mapping" };
    return yml_fail(d, n ? n->pos : (struct yml_pos){ 1, 1 }, e, "%s must be %s, not %s", what,
                    want[k], yml_kind_name(n));
}

int yml_str(const struct yml_doc *d, const struct yml_node *n, const char *what,
            const char **out, struct err *e)
{
    int rc = yml_expect(d, n, YML_SCALAR, what, e);
    if (rc == 0)
        *out = n->str;
    return rc;
}

int yml_int(const struct yml_doc *d, const struct yml_node *n, const char *what,
            int64_t min, int64_t max, int64_t *out, struct err *e)
{
    int rc = yml_expect(d, n, YML_SCALAR, what, e);
    if (rc != 0)
        return rc;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(n->str, &end, 10);
    if (!n->plain || n->len == 0 || *end != '\0' || errno != 0)
        return yml_fail(d, n->pos, e, "%s must be a whole number, not '%s'", what, n->str);
    if (v < min || v > max)
        return yml_fail(d, n->pos, e, "%s must be between %lld and %lld, not %lld", what,
                        (long long)min, (long long)max, v);
    *out = v;
    return 0;
}

int yml_bool(const struct yml_doc *d, const struct yml_node *n, const char *what, bool *out,
             struct err *e)
{
    int rc = yml_expect(d, n, YML_SCALAR, what, e);
    if (rc != 0)
        return rc;
    if (n->plain && strcmp(n->str, "true") == 0)
        *out = true;
    else if (n->plain && strcmp(n->str, "false") == 0)
        *out = false;
    else
        return yml_fail(d, n->pos, e, "%s must be true or false, not '%s'", what, n->str);
    return 0;
}

int yml_duration(const struct yml_doc *d, const struct yml_node *n, const char *what,
                 int64_t *out, struct err *e)
{
    int rc = yml_expect(d, n, YML_SCALAR, what, e);
    if (rc != 0)
        return rc;
    if (clock_parse_duration(n->str, out) != 0)
        return yml_fail(d, n->pos, e, "%s must be a duration such as 250ms, 30s, 2m or 1h30m, "
                        "not '%s'", what, n->str);
    return 0;
}
