/*
 * jpath.h — a small JSON path: pick one value out of a JSON document.
 *
 * The webhook sink filters captured deliveries by fields of their bodies,
 * and the scenario runner states expectations about them ("$.ticket.id is
 * 42", "$.thread[0].text is the customer's first message"). Both need the
 * same tiny, exact language, so it lives here:
 *
 *     $                  the whole document
 *     $.ticket.id        object members by name ([A-Za-z0-9_$@-] and UTF-8)
 *     $.thread[0].text   array elements by index
 *     $.thread[-1]       negative indexes count from the end
 *     $['a.b']["c d"]    any member name, quoted (\\ and \' or \" escape)
 *
 * One path names at most one value: there are no wildcards, filters or
 * recursive descent. A path is compiled once (syntax errors carry the
 * column) and evaluated many times; evaluation says exactly which step
 * failed, which is what a near-miss report needs.
 */
#ifndef TGCRM_CHECK_JPATH_H
#define TGCRM_CHECK_JPATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Longest path text accepted, and most steps in one path. */
#define JPATH_MAX_LEN 1024
#define JPATH_MAX_STEPS 64

struct jpath;

/*
 * Compile `expr`. ERR_INVAL for bad syntax, with the 1-based column:
 * "bad JSON path '$.a[x]': column 5: expected an index or a quoted name".
 * Caller owns *out; jpath_free.
 */
int jpath_compile(const char *expr, struct jpath **out, struct err *e);

/* Free a compiled path; sets *pp to NULL. NULL is fine. */
void jpath_free(struct jpath **pp);

/* The path's source text. Borrowed from p. */
const char *jpath_text(const struct jpath *p);

/*
 * The value p names in root (borrowed from root), or NULL when it does not
 * exist; then `why` (may be NULL) gets ERR_NOTFOUND with the failing step:
 * "no member 'x' in $.ticket", "index 5 out of range in $.thread (2
 * elements)", "$.ticket.id is a number, not an object".
 */
json_t *jpath_eval(const struct jpath *p, json_t *root, struct err *why);

/*
 * Compile and evaluate in one go: 0 with *out borrowed from root,
 * ERR_INVAL for bad syntax or ERR_NOTFOUND as jpath_eval explains.
 */
int jpath_get(json_t *root, const char *expr, json_t **out, struct err *e);

/*
 * Equality for expectations: numbers compare by value (1 == 1.0), every
 * other kind as json_equal does (objects ignore member order). NULL equals
 * only NULL.
 */
bool jpath_equal(const json_t *a, const json_t *b);

/*
 * v as compact JSON for messages, cut to fit n bytes (with "..." when
 * cut); "(missing)" for NULL. Returns out. n must be at least 16.
 */
char *jpath_show(const json_t *v, char *out, size_t n);

#endif
