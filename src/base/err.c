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

/* One row per code, generated from ERR_MAP; looked up by value. */
struct err_row {
    int code;
    int http;
    const char *name;
    const char *id;
};

static const struct err_row err_rows[] = {
#define ERR_ROW(name, val, http, id) {name, http, #name, id},
    ERR_MAP(ERR_ROW)
#undef ERR_ROW
};

static const struct err_row *row(int code)
{
    for (size_t i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++)
        if (err_rows[i].code == code)
            return &err_rows[i];
    return NULL;
}

const char *err_name(int code)
{
    const struct err_row *r = row(code);
    return r ? r->name : "ERR_UNKNOWN";
}

const char *err_id(int code)
{
    const struct err_row *r = row(code);
    return r ? r->id : "internal";
}

int err_http_status(int code)
{
    const struct err_row *r = row(code);
    return r ? r->http : 500;
}
