/*
 * err.c — the error context: first message wins, code tables from ERR_MAP.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int record(struct err *e, const char *file, int line, int code,
                  const char *field, const char *fmt, va_list ap)
{
    if (e == NULL || e->code != 0)
        return code;
    e->code = code;
    e->file = file;
    e->line = line;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    if (field != NULL)
        snprintf(e->field, sizeof e->field, "%s", field);
    else
        e->field[0] = '\0';
    return code;
}

int err_set_at(struct err *e, const char *file, int line, int code,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = record(e, file, line, code, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int err_field_at(struct err *e, const char *file, int line, int code,
                 const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = record(e, file, line, code, field, fmt, ap);
    va_end(ap);
    return rc;
}

void err_clear(struct err *e)
{
    if (e != NULL)
        memset(e, 0, sizeof *e);
}

const char *err_name(int code)
{
    switch (code) {
#define ERR_NAME(name, val, http, id) case name: return #name;
    ERR_MAP(ERR_NAME)
#undef ERR_NAME
    default: return "ERR_UNKNOWN";
    }
}

const char *err_id(int code)
{
    switch (code) {
#define ERR_ID(name, val, http, id) case name: return id;
    ERR_MAP(ERR_ID)
#undef ERR_ID
    default: return "internal";
    }
}

int err_http_status(int code)
{
    switch (code) {
#define ERR_HTTP(name, val, http, id) case name: return http;
    ERR_MAP(ERR_HTTP)
#undef ERR_HTTP
    default: return 500;
    }
}
