/*
 * ticket.c — names, parsing and small pure helpers for tickets.
 */
#include "desk/ticket.h"

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
