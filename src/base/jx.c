/*
 * jx.c — jansson translated into ERR_* codes and positioned messages.
 */
#include "base/jx.h"
#include "base/clock.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

int jx_parse(const char *s, size_t n, json_t **out, struct err *e)
{
    json_error_t je;
    *out = NULL;
    json_t *v = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v == NULL)
        return err_set(e, ERR_INVAL, "malformed JSON at line %d column %d: %s",
                       je.line, je.column, je.text);
    *out = v;
    return 0;
}

int jx_parse_object(const char *s, size_t n, json_t **out, struct err *e)
{
    int rc = jx_parse(s, n, out, e);
    if (rc != 0)
        return rc;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return err_set(e, ERR_INVAL, "request body must be a JSON object");
    }
    return 0;
}

int jx_check_fields(json_t *obj, const char *const *allowed, const char *where,
                    struct err *e)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++) {
            if (strcmp(*a, key) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            char name[160];
            snprintf(name, sizeof name, "%s%s", where, key);
            return err_field(e, ERR_INVAL, name, "unknown field '%s'", name);
        }
    }
    return 0;
}

static int missing(const char *key, bool required, struct err *e)
{
    if (required)
        return err_field(e, ERR_INVAL, key, "missing required field '%s'", key);
    return 0;
}

int jx_get_str(json_t *obj, const char *key, bool required, const char **out,
               struct err *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return missing(key, required, e);
    if (!json_is_string(v))
        return err_field(e, ERR_INVAL, key, "field '%s' must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int jx_get_int(json_t *obj, const char *key, bool required, int64_t *out,
               struct err *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return missing(key, required, e);
    if (!json_is_integer(v))
        return err_field(e, ERR_INVAL, key, "field '%s' must be an integer", key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int jx_get_bool(json_t *obj, const char *key, bool required, bool *out,
                struct err *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return missing(key, required, e);
    if (!json_is_boolean(v))
        return err_field(e, ERR_INVAL, key, "field '%s' must be a boolean", key);
    *out = json_is_true(v);
    return 0;
}

int jx_get_text(json_t *obj, const char *key, const char **out, struct err *e)
{
    int rc = jx_get_str(obj, key, true, out, e);
    if (rc != 0)
        return rc;
    for (const char *p = *out; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
    return err_field(e, ERR_INVAL, key, "field '%s' must not be empty", key);
}

int jx_dump(const json_t *v, struct buf *b)
{
    /* One json_dumps and one append: jansson's callback interface calls
     * back per token, which costs more than the copy on hot paths. */
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL)
        return ERR_NOMEM;
    int rc = buf_append(b, s, strlen(s));
    free(s);
    return rc;
}

char *jx_dumps(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL)
        return mem_strdup("null");
    /* jansson allocates with malloc; hand back memory mem_free can free. */
    return s;
}

json_t *jx_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *jx_time_or_null(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char iso[CLOCK_ISO_LEN];
    return json_string(clock_fmt_iso(ms, iso));
}
