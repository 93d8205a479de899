/*
 * metrics.h — process-wide counters and gauges in Prometheus text format.
 *
 * A metric is identified by name plus a label string (`code="200"`); the
 * first call to metrics_counter/metrics_gauge registers it and later calls
 * return the same pointer, so hot paths look it up once and keep it.
 * Updates are atomic; rendering takes a lock only to walk the registry.
 */
#ifndef TGCRM_BASE_METRICS_H
#define TGCRM_BASE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct metric;

/* Get or register. name: [a-z_]+; labels: "" or `k="v",k2="v2"` (copied).
 * help: one line (static string). The pointer lives until metrics_free_all. */
struct metric *metrics_counter(const char *name, const char *help, const char *labels);
struct metric *metrics_gauge(const char *name, const char *help, const char *labels);

/*
 * Get or register a histogram with the n ascending upper bounds in bounds[]
 * (copied on first registration; later calls may pass NULL/0). Rendered as
 * name_bucket{...,le="b"} (cumulative, then le="+Inf"), name_sum and
 * name_count. Use metrics_observe on it, not metrics_add/metrics_set.
 */
struct metric *metrics_histogram(const char *name, const char *help, const char *labels,
                                 const int64_t *bounds, size_t n);
void metrics_observe(struct metric *m, int64_t v);

void metrics_add(struct metric *m, int64_t v);
void metrics_set(struct metric *m, int64_t v);
int64_t metrics_value(const struct metric *m);

/* Append every metric in text exposition format 0.0.4 (HELP/TYPE once per name). */
int metrics_render(struct buf *b);

/* Free the registry (shutdown, tests). Pointers handed out become invalid. */
void metrics_free_all(void);

#endif
