/*
 * test_metrics.c — the registry: get-or-register, atomic updates from many
 * threads, and a stable Prometheus text rendering.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "base/err.h"
#include "base/metrics.h"

static void reset(void)
{
    metrics_free_all();
}

TestSuite(metrics, .init = reset, .fini = reset);

Test(metrics, same_name_and_labels_is_same_metric)
{
    struct metric *a = metrics_counter("x_total", "help", "k=\"1\"");
    struct metric *b = metrics_counter("x_total", "other help", "k=\"1\"");
    struct metric *c = metrics_counter("x_total", "help", "k=\"2\"");
    cr_assert_eq(a, b);
    cr_assert_neq(a, c);
    metrics_add(a, 2);
    metrics_add(b, 3);
    cr_assert_eq(metrics_value(a), 5);
    cr_assert_eq(metrics_value(c), 0);
}

Test(metrics, gauge_set)
{
    struct metric *g = metrics_gauge("queue_depth", "items waiting", "");
    metrics_set(g, 42);
    cr_assert_eq(metrics_value(g), 42);
    metrics_set(g, -1);
    cr_assert_eq(metrics_value(g), -1);
    metrics_add(g, 3);
    cr_assert_eq(metrics_value(g), 2);
}

Test(metrics, empty_registry_renders_nothing)
{
    struct buf b;
    buf_init(&b, 0);
    cr_assert_eq(metrics_render(&b), 0);
    cr_assert_str_eq(buf_str(&b), "");
    buf_release(&b);
}

Test(metrics, renders_sorted_with_help_and_type_once)
{
    /* Registered out of order on purpose. */
    metrics_add(metrics_counter("req_total", "Requests", "status=\"500\""), 1);
    metrics_set(metrics_gauge("alpha", "First\\by name\nsecond line", ""), 7);
    metrics_add(metrics_counter("req_total", "Requests", "status=\"200\""), 10);
    metrics_add(metrics_counter("req_total", "Requests", "status=\"404\""), 2);

    struct buf b;
    buf_init(&b, 0);
    cr_assert_eq(metrics_render(&b), 0);
    cr_assert_str_eq(buf_str(&b),
                     "# HELP alpha First\\\\by name\\nsecond line\n"
                     "# TYPE alpha gauge\n"
                     "alpha 7\n"
                     "# HELP req_total Requests\n"
                     "# TYPE req_total counter\n"
                     "req_total{status=\"200\"} 10\n"
                     "req_total{status=\"404\"} 2\n"
                     "req_total{status=\"500\"} 1\n");
    buf_release(&b);
}

Test(metrics, render_respects_buffer_limit)
{
    metrics_add(metrics_counter("some_long_metric_name_total", "help text", ""), 1);
    struct buf b;
    buf_init(&b, 16);
    cr_assert_eq(metrics_render(&b), ERR_TOOBIG);
    buf_release(&b);
}

static void *bump(void *ud)
{
    struct metric *m = ud;
    for (int i = 0; i < 100000; i++)
        metrics_add(m, 1);
    /* Registering from several threads at once must also be safe. */
    metrics_add(metrics_counter("threads_total", "", ""), 1);
    return NULL;
}

Test(metrics, concurrent_adds_are_exact)
{
    struct metric *m = metrics_counter("hits_total", "hits", "");
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, bump, m);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(metrics_value(m), 800000);
    cr_assert_eq(metrics_value(metrics_counter("threads_total", "", "")), 8);
}

Test(metrics, free_all_forgets_everything)
{
    metrics_add(metrics_counter("gone_total", "x", ""), 5);
    metrics_free_all();
    struct metric *m = metrics_counter("gone_total", "x", "");
    cr_assert_eq(metrics_value(m), 0);
}

Test(metrics, invalid_name_aborts, .signal = SIGABRT)
{
    metrics_counter("Bad-Name", "x", "");
}

Test(metrics, histogram_buckets_sum_and_count)
{
    static const int64_t bounds[] = {10, 100, 1000};
    struct metric *h = metrics_histogram("lat_ms", "latency", "ep=\"a\"", bounds, 3);
    cr_assert_eq(metrics_histogram("lat_ms", "latency", "ep=\"a\"", NULL, 0), h,
                 "the same series on the second call");
    int64_t values[] = {0, 10, 11, 100, 999, 5000};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        metrics_observe(h, values[i]);
    metrics_observe(metrics_histogram("bare_ms", "no labels", "", bounds, 1), 3);
    struct buf b;
    buf_init(&b, 0);
    cr_assert_eq(metrics_render(&b), 0);
    const char *t = buf_str(&b);
    cr_expect(strstr(t, "# TYPE lat_ms histogram\n") != NULL, "%s", t);
    cr_expect(strstr(t, "lat_ms_bucket{ep=\"a\",le=\"10\"} 2\n") != NULL, "%s", t);
    cr_expect(strstr(t, "lat_ms_bucket{ep=\"a\",le=\"100\"} 4\n") != NULL, "%s", t);
    cr_expect(strstr(t, "lat_ms_bucket{ep=\"a\",le=\"1000\"} 5\n") != NULL, "%s", t);
    cr_expect(strstr(t, "lat_ms_bucket{ep=\"a\",le=\"+Inf\"} 6\n") != NULL, "%s", t);
    cr_expect(strstr(t, "lat_ms_sum{ep=\"a\"} 6120\n") != NULL, "%s", t);
    cr_expect(strstr(t, "lat_ms_count{ep=\"a\"} 6\n") != NULL, "%s", t);
    cr_expect(strstr(t, "bare_ms_bucket{le=\"10\"} 1\n") != NULL, "%s", t);
    cr_expect(strstr(t, "bare_ms_sum 3\n") != NULL, "%s", t);
    buf_release(&b);
}
