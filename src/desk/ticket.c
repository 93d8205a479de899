/*
 * ticket.c — names, parsing and small pure helpers for tickets.
 */
#include "desk/ticket.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[TICKET_STATUS_COUNT] = {
    "open", "in_progress", "on_hold", "resolved", "closed",
};

static const char *const priority_names[PRIORITY_COUNT] = {
    "low", "normal", "high", "urgent",
};

const char *ticket_status_name(enum ticket_status s)
{
    return (unsigned)s < TICKET_STATUS_COUNT ? status_names[s] : "unknown";
}

const char *ticket_priority_name(enum ticket_priority p)
{
    return (unsigned)p < PRIORITY_COUNT ? priority_names[p] : "unknown";
}

int ticket_status_parse(const char *s, enum ticket_status *out, struct err *e)
{
    for (int i = 0; i < TICKET_STATUS_COUNT; i++) {
        if (s != NULL && strcmp(s, status_names[i]) == 0) {
            *out = (enum ticket_status)i;
            return 0;
        }
    }
    return err_field(e, ERR_INVAL, "status",
                     "unknown status '%s' (expected open, in_progress, on_hold, "
                     "resolved or closed)", s ? s : "");
}

int ticket_priority_parse(const char *s, enum ticket_priority *out, struct err *e)
{
    for (int i = 0; i < PRIORITY_COUNT; i++) {
        if (s != NULL && strcmp(s, priority_names[i]) == 0) {
            *out = (enum ticket_priority)i;
            return 0;
        }
    }
    return err_field(e, ERR_INVAL, "priority",
                     "unknown priority '%s' (expected low, normal, high or urgent)",
                     s ? s : "");
}

bool ticket_status_is_active(enum ticket_status s)
{
    return s == TICKET_OPEN || s == TICKET_IN_PROGRESS || s == TICKET_ON_HOLD;
}

char *ticket_subject_from_text(const char *text, char *out, size_t max_bytes)
{
    const char *p = text ? text : "";
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t n = strcspn(p, "\r\n");
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    bool cut = false;
    if (n > max_bytes) {
        n = max_bytes;
        /* Back up to a UTF-8 lead byte so no character is split. */
        while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
            n--;
        cut = true;
    }
    memcpy(out, p, n);
    if (cut) {
        memcpy(out + n, "\xE2\x80\xA6", 3);   /* U+2026 HORIZONTAL ELLIPSIS */
        n += 3;
    }
    out[n] = '\0';
    return out;
}

const char *ticket_field(const struct ticket *t, const char *key)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].key, key) == 0)
            return t->fields[i].value;
    return NULL;
}

/* UTF-16 units of the UTF-8 character starting with byte c (4-byte
 * sequences are surrogate pairs); 0 for continuation bytes. */
static int utf16_units(unsigned char c)
{
    if ((c & 0xC0) == 0x80)
        return 0;
    return c >= 0xF0 ? 2 : 1;
}

char *ticket_topic_name(const char *first, const char *last, int64_t id, char *out)
{
    char suffix[40];
    int slen = snprintf(suffix, sizeof suffix, " \xC2\xB7 #%" PRId64, id);   /* " · #42" */
    int budget = 128 - (slen - 1);   /* '·' is 2 bytes but 1 unit */
    char name[400];
    snprintf(name, sizeof name, "%s%s%s", first && *first ? first : "Customer",
             last && *last ? " " : "", last && *last ? last : "");
    size_t n = 0;
    int units = 0;
    while (name[n] != '\0') {
        size_t len = 1;
        while (name[n + len] != '\0' && utf16_units((unsigned char)name[n + len]) == 0)
            len++;
        int u = utf16_units((unsigned char)name[n]);
        if (units + u > budget)
            break;
        units += u;
        n += len;
    }
    snprintf(out, TICKET_TOPIC_NAME_MAX, "%.*s%s", (int)n, name, suffix);
    return out;
}
