/*
 * yml.h — YAML documents as a small tree of positioned nodes.
 *
 * The scenario files of `tgcrm check` (and, in time, the configuration) are
 * YAML whose every error must name file:line:column. libfyaml's own tree
 * exposes positions only through tokens and leaves aliases, duplicate keys
 * and stray documents to the caller; this file loads one document through
 * it and hands back a plain tree where every node knows where it was
 * written, aliases are resolved, keys are unique, and text is valid UTF-8.
 * Readers then walk structs instead of a library API, and the helpers here
 * word the errors the same way everywhere:
 *
 *     suite.yaml:12:9: unknown key 'expcet' in a step (did you mean 'expect'?)
 *
 * Ownership: a struct yml_doc owns every node and string in it (one arena);
 * yml_free releases them all at once.
 */
#ifndef TGCRM_BASE_YML_H
#define TGCRM_BASE_YML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct arena;

struct yml_pos {
    int line;               /* 1-based */
    int col;                /* 1-based */
};

enum yml_kind {
    YML_NULL = 0,           /* empty, ~ or null (plain) */
    YML_SCALAR,
    YML_SEQ,
    YML_MAP
};

struct yml_node {
    enum yml_kind kind;
    struct yml_pos pos;         /* where the node is written (a collection: its first entry) */
    const char *str;            /* scalar text, NUL-terminated; NULL for other kinds */
    size_t len;                 /* bytes in str */
    bool plain;                 /* an unquoted scalar: only these read as numbers/booleans */
    size_t n;                   /* sequence items, or mapping pairs */
    struct yml_node **items;    /* sequence items, or mapping values (n of them) */
    struct yml_node **keys;     /* mapping keys (scalars, unique), n of them; NULL otherwise */
};

struct yml_doc {
    char *name;                 /* owned: the file name used in messages */
    struct yml_node *root;      /* never NULL; kind YML_NULL for an empty document */
    struct arena *a;            /* owned: every node and string */
};

/* Largest document read (bytes) and most nodes built (aliases count again). */
#define YML_MAX_BYTES (16u << 20)
#define YML_MAX_NODES 1000000u

/*
 * Parse exactly one YAML document from text (len bytes; need not be
 * NUL-terminated). `name` is used in messages. On failure returns
 * ERR_CONFIG with "name:line:column: message" in e and *out is NULL.
 */
int yml_load(const char *name, const char *text, size_t len, struct yml_doc **out,
             struct err *e);

/* Read and parse the file at path (ERR_IO when it cannot be read). */
int yml_load_file(const char *path, struct yml_doc **out, struct err *e);

/* Free the document and all its nodes; sets *dp to NULL. NULL is fine. */
void yml_free(struct yml_doc **dp);

/* Record "name:line:column: message" as ERR_CONFIG in e; returns ERR_CONFIG. */
int yml_fail(const struct yml_doc *d, struct yml_pos p, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The value of `key` in a mapping node, or NULL (also when map is not a mapping). */
const struct yml_node *yml_get(const struct yml_node *map, const char *key);

/* Position of `key` itself in a mapping (the map's position if absent). */
struct yml_pos yml_key_pos(const struct yml_node *map, const char *key);

/* "a mapping", "a list", "a scalar value", "empty": for messages. */
const char *yml_kind_name(const struct yml_node *n);

/*
 * Fail unless every key of map is in the NULL-terminated `allowed`; the
 * message names `where` and suggests the nearest allowed key.
 */
int yml_check_keys(const struct yml_doc *d, const struct yml_node *map,
                   const char *const *allowed, const char *where, struct err *e);

/* Fail unless n has kind k; `what` names the value ("steps", "the suite"). */
int yml_expect(const struct yml_doc *d, const struct yml_node *n, enum yml_kind k,
               const char *what, struct err *e);

/* Typed scalars; each fails with a positioned message naming `what`. */
int yml_str(const struct yml_doc *d, const struct yml_node *n, const char *what,
            const char **out, struct err *e);
int yml_int(const struct yml_doc *d, const struct yml_node *n, const char *what,
            int64_t min, int64_t max, int64_t *out, struct err *e);
int yml_bool(const struct yml_doc *d, const struct yml_node *n, const char *what, bool *out,
             struct err *e);
/* A duration ("90s", "2m", "1h30m", "250ms") in milliseconds, >= 0. */
int yml_duration(const struct yml_doc *d, const struct yml_node *n, const char *what,
                 int64_t *out, struct err *e);

/* The name in the NULL-terminated list nearest to s (at most two edits), or NULL. */
const char *yml_suggest(const char *const *names, const char *s);

#endif
