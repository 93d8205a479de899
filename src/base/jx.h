/*
 * jx.h — the jansson wrapper: parsing with positions, strict field checks.
 *
 * jx.c is the one place that translates jansson's conventions (NULL/-1
 * returns, json_error_t) into ours (ERR_* codes and struct err). Other files
 * may build and read json_t values with jansson's own functions, under
 * jansson's ownership rules ("_new" steals, getters borrow); they go through
 * jx for anything that can fail on untrusted input.
 */
#ifndef TGCRM_BASE_JX_H
#define TGCRM_BASE_JX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Parse a JSON document of n bytes. On success *out is a new reference the
 * caller must json_decref. On failure ERR_INVAL with "line L column C: ..."
 * in e. Duplicate object keys are refused (they hide mistakes).
 */
int jx_parse(const char *s, size_t n, json_t **out, struct err *e);

/* Like jx_parse but the document must be an object. */
int jx_parse_object(const char *s, size_t n, json_t **out, struct err *e);

/*
 * Refuse any key of `obj` not in the NULL-terminated `allowed` list:
 * ERR_INVAL "unknown field 'x'" with field set. `where` prefixes the field
 * name ("" for top level, "customer." for a nested object).
 */
int jx_check_fields(json_t *obj, const char *const *allowed, const char *where,
                    struct err *e);

/*
 * Typed getters. A missing key gives ERR_INVAL "missing required field 'k'"
 * when `required`, else leaves *out untouched and returns 0 (check with
 * json_object_get if presence matters). A wrong type gives ERR_INVAL naming
 * the field and the expected type. Strings are borrowed from obj.
 */
int jx_get_str(json_t *obj, const char *key, bool required, const char **out,
               struct err *e);
int jx_get_int(json_t *obj, const char *key, bool required, int64_t *out,
               struct err *e);
int jx_get_bool(json_t *obj, const char *key, bool required, bool *out,
                struct err *e);
/* A required string that is not empty or only whitespace (spaces, tabs,
 * line breaks): ERR_INVAL "field 'k' must not be empty" otherwise, or as
 * jx_get_str for a missing or non-string member. */
int jx_get_text(json_t *obj, const char *key, const char **out, struct err *e);

/* Serialise compactly (keys in insertion order) and append to b. */
int jx_dump(const json_t *v, struct buf *b);

/* Serialise to a heap string the caller mem_frees; never NULL. */
char *jx_dumps(const json_t *v);

/* json_string for possibly-NULL s: NULL gives json_null(). New reference. */
json_t *jx_str_or_null(const char *s);

/* ISO-8601 string for ms, or null when ms == 0 (unset). New reference. */
json_t *jx_time_or_null(int64_t ms);

#endif
