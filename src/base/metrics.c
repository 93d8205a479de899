/*
 * metrics.c — the process-wide metric registry (see metrics.h).
 *
 * Each metric is its own heap object so the pointer handed out never moves;
 * the registry is an array of those pointers behind one mutex, taken only to
 * register and to render. Values are atomics, so metrics_add/metrics_set
 * never lock: hot paths look a metric up once and keep the pointer.
 *
 * Rendering sorts a snapshot of the pointers by name, then labels, so the
 * exposition is stable from one scrape to the next and the # HELP / # TYPE
 * pair is written exactly once per name, before its first series.
 */
#include "base/metrics.h"
#include "base/err.h"
#include "base/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metric_type { METRIC_COUNTER = 0, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric {
    char *name;               /* owned */
    char *labels;             /* owned; "" for none */
    const char *help;         /* static, from the first registration */
    enum metric_type type;
    _Atomic int64_t value;    /* counter/gauge value; a histogram's sum */
    /* histograms only */
    int64_t *bounds;          /* owned, ascending */
    size_t nbounds;
    _Atomic int64_t *buckets; /* owned; nbounds + 1 (the last is +Inf), not cumulative */
    _Atomic int64_t count;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metric **reg;   /* owned array of owned metrics */
static size_t reg_n, reg_cap;

/* Names are [a-z_][a-z0-9_]*; anything else is a programming error that
 * would corrupt the exposition for every metric after it, so refuse loudly. */
static void check_name(const char *name)
{
    bool ok = name != NULL && name[0] != '\0' &&
              !(name[0] >= '0' && name[0] <= '9');
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!ok) {
        fprintf(stderr, "tgcrm: invalid metric name '%s'\n", name ? name : "(null)");
        abort();
    }
}

static struct metric *get_or_register(enum metric_type type, const char *name,
                                      const char *help, const char *labels)
{
    check_name(name);
    if (labels == NULL)
        labels = "";
    pthread_mutex_lock(&reg_mu);
    struct metric *m = NULL;
    for (size_t i = 0; i < reg_n; i++) {
        if (strcmp(reg[i]->name, name) == 0 && strcmp(reg[i]->labels, labels) == 0) {
            m = reg[i];
            break;
        }
    }
    if (m == NULL) {
        if (reg_n == reg_cap) {
            reg_cap = reg_cap ? reg_cap * 2 : 32;
            reg = mem_realloc(reg, reg_cap * sizeof(struct metric *));
        }
        m = mem_alloc(sizeof *m);
        m->name = mem_strdup(name);
        m->labels = mem_strdup(labels);
        m->help = help ? help : "";
        m->type = type;
        atomic_init(&m->value, 0);
        reg[reg_n++] = m;
    }
    pthread_mutex_unlock(&reg_mu);
    return m;
}

struct metric *metrics_histogram(const char *name, const char *help, const char *labels,
                                 const int64_t *bounds, size_t n)
{
    struct metric *m = get_or_register(METRIC_HISTOGRAM, name, help, labels);
    pthread_mutex_lock(&reg_mu);
    if (m->buckets == NULL) {
        m->bounds = mem_alloc((n ? n : 1) * sizeof *m->bounds);
        if (n > 0)
            memcpy(m->bounds, bounds, n * sizeof *m->bounds);
        m->nbounds = n;
        m->buckets = mem_alloc((n + 1) * sizeof *m->buckets);
        for (size_t i = 0; i <= n; i++)
            atomic_init(&m->buckets[i], 0);
        atomic_init(&m->count, 0);
    }
    pthread_mutex_unlock(&reg_mu);
    return m;
}

void metrics_observe(struct metric *m, int64_t v)
{
    size_t i = 0;
    while (i < m->nbounds && v > m->bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->value, v, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

struct metric *metrics_counter(const char *name, const char *help, const char *labels)
{
    return get_or_register(METRIC_COUNTER, name, help, labels);
}

struct metric *metrics_gauge(const char *name, const char *help, const char *labels)
{
    return get_or_register(METRIC_GAUGE, name, help, labels);
}

void metrics_add(struct metric *m, int64_t v)
{
    atomic_fetch_add_explicit(&m->value, v, memory_order_relaxed);
}

void metrics_set(struct metric *m, int64_t v)
{
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

int64_t metrics_value(const struct metric *m)
{
    /* atomic_load takes a non-const pointer in C11. */
    return atomic_load_explicit((_Atomic int64_t *)&m->value, memory_order_relaxed);
}

static int cmp_metric(const void *a, const void *b)
{
    const struct metric *x = *(struct metric *const *)a;
    const struct metric *y = *(struct metric *const *)b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->labels, y->labels);
}

/* HELP text escapes backslash and newline (text format 0.0.4). */
static int put_help(struct buf *b, const char *help)
{
    int rc = 0;
    for (const char *p = help; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = buf_puts(b, "\\\\");
        else if (*p == '\n')
            rc = buf_puts(b, "\\n");
        else
            rc = buf_putc(b, *p);
    }
    return rc;
}

static const char *type_name(enum metric_type t)
{
    return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

/* name_bucket{labels,le="..."} lines, then name_sum and name_count. */
static int put_histogram(struct buf *b, const struct metric *m)
{
    const char *sep = m->labels[0] != '\0' ? "," : "";
    int64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= m->nbounds; i++) {
        cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        if (i < m->nbounds)
            rc = buf_printf(b, "%s_bucket{%s%sle=\"%lld\"} %lld\n", m->name, m->labels, sep,
                            (long long)m->bounds[i], (long long)cum);
        else
            rc = buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", m->name, m->labels, sep,
                            (long long)cum);
    }
    const char *open = m->labels[0] != '\0' ? "{" : "";
    const char *close = m->labels[0] != '\0' ? "}" : "";
    if (rc == 0)
        rc = buf_printf(b, "%s_sum%s%s%s %lld\n", m->name, open, m->labels, close,
                        (long long)metrics_value(m));
    if (rc == 0)
        rc = buf_printf(b, "%s_count%s%s%s %lld\n", m->name, open, m->labels, close,
                        (long long)cum);
    return rc;
}

int metrics_render(struct buf *b)
{
    /* Snapshot the pointers so the lock is not held while formatting. The
     * metrics themselves stay valid: only metrics_free_all frees them. */
    pthread_mutex_lock(&reg_mu);
    size_t n = reg_n;
    struct metric **snap = mem_alloc((n ? n : 1) * sizeof(struct metric *));
    if (n > 0)
        memcpy(snap, reg, n * sizeof(struct metric *));
    pthread_mutex_unlock(&reg_mu);

    qsort(snap, n, sizeof(struct metric *), cmp_metric);
    int rc = 0;
    const char *last = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct metric *m = snap[i];
        if (last == NULL || strcmp(last, m->name) != 0) {
            rc = buf_printf(b, "# HELP %s ", m->name);
            if (rc == 0)
                rc = put_help(b, m->help);
            if (rc == 0)
                rc = buf_printf(b, "\n# TYPE %s %s\n", m->name, type_name(m->type));
            last = m->name;
        }
        if (rc != 0)
            break;
        if (m->type == METRIC_HISTOGRAM)
            rc = put_histogram(b, m);
        else if (m->labels[0] != '\0')
            rc = buf_printf(b, "%s{%s} %lld\n", m->name, m->labels,
                            (long long)metrics_value(m));
        else
            rc = buf_printf(b, "%s %lld\n", m->name, (long long)metrics_value(m));
    }
    mem_free(snap);
    return rc;
}

void metrics_free_all(void)
{
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < reg_n; i++) {
        mem_free(reg[i]->name);
        mem_free(reg[i]->labels);
        mem_free(reg[i]->bounds);
        mem_free((void *)reg[i]->buckets);
        mem_free(reg[i]);
    }
    mem_freep(&reg);
    reg_n = 0;
    reg_cap = 0;
    pthread_mutex_unlock(&reg_mu);
}
