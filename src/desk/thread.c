/*
 * thread.c — names and parsing for thread entries.
 */
#include "desk/thread.h"

#include <string.h>

static const char *const kind_names[] = {"message", "note", "event"};
static const char *const dir_names[] = {"inbound", "outbound", "internal"};
static const char *const author_names[] = {"customer", "agent", "bot", "system"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *thread_kind_name(enum thread_kind k)
{
    return (unsigned)k < NELEM(kind_names) ? kind_names[k] : "unknown";
}

const char *thread_dir_name(enum thread_dir d)
{
    return (unsigned)d < NELEM(dir_names) ? dir_names[d] : "unknown";
}

const char *thread_author_type_name(enum author_type a)
{
    return (unsigned)a < NELEM(author_names) ? author_names[a] : "unknown";
}

static int find(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s != NULL && strcmp(s, names[i]) == 0)
            return (int)i;
    return ERR_INVAL;
}

int thread_kind_parse(const char *s, enum thread_kind *out)
{
    int i = find(s, kind_names, NELEM(kind_names));
    if (i < 0)
        return i;
    *out = (enum thread_kind)i;
    return 0;
}

int thread_dir_parse(const char *s, enum thread_dir *out)
{
    int i = find(s, dir_names, NELEM(dir_names));
    if (i < 0)
        return i;
    *out = (enum thread_dir)i;
    return 0;
}

int thread_author_type_parse(const char *s, enum author_type *out)
{
    int i = find(s, author_names, NELEM(author_names));
    if (i < 0)
        return i;
    *out = (enum author_type)i;
    return 0;
}

const char *thread_data(const struct thread_entry *te, const char *key)
{
    for (size_t i = 0; i < te->ndata; i++)
        if (strcmp(te->data[i].key, key) == 0)
            return te->data[i].value;
    return NULL;
}
