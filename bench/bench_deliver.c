/*
 * bench_deliver.c — the outbound webhook dispatcher against a local
 * receiver, with the raw libcurl POST rate to the same receiver as the
 * ceiling, measured in the same run.
 *
 * The receiver is a small epoll HTTP/1.1 server on its own thread in this
 * process: it parses each request, notes when it arrived (monotonic clock)
 * by the event id in its webhook-id header, and answers 200.
 *
 * Throughput: 50,000 domain events (45,000 customer messages from 5,000
 * customers: every ticket.created and message.created) are committed by
 * the engine (synchronous=FULL) while the endpoint's dispatcher is stopped,
 * then a dispatcher is started and timed until the receiver has every
 * event: fan-out, body building, signing, sending, recording.
 *
 * Latency: with the dispatcher running, one customer message (one event)
 * every millisecond is submitted to the engine for 5 s; a commit hook on
 * the engine's writer notes when each commit finished, and the latency of
 * an event is its receipt minus its commit.
 *
 * Ceiling: the same number of POSTs of a body of the same size, through one
 * curl multi handle with the endpoint's concurrency, to the same receiver.
 *
 * Prints: bench deliver events=… deliveries_per_s=… p50_ms=… p99_ms=…
 *         ceiling_posts_per_s=… ratio=… paced_events=… paced_per_s=… (the rate
 *         the engine actually committed them at) concurrency=… body_bytes=…
 *         cpu_us_per_delivery=… (process CPU while draining, all threads)
 * BENCH_DEBUG=1 also lists the paced events slower than 20 ms.
 */
#define _GNU_SOURCE   /* accept4 */
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "base/mem.h"
#include "engine/engine.h"
#include "store/store.h"
#include "webhook/hook_deliver.h"

#include "bench_common.h"

#define CUSTOMERS 5000
#define MESSAGES 45000          /* + CUSTOMERS tickets = 50,000 events */
#define BATCH 512
#define PACED_MS 5000           /* the latency phase: one event a millisecond */
#define MAX_EVENTS 120000
#define CONCURRENCY 16

/* ---- the receiver -------------------------------------------------------------------- */

struct conn {
    int fd;
    char buf[65536];
    size_t len;
};

static int listen_fd, epoll_fd;
static atomic_bool recv_stop;
static _Atomic int64_t received;             /* distinct events seen */
static _Atomic int64_t posts;                /* requests answered */
static _Atomic int64_t body_bytes;           /* of the webhook requests */
static int64_t arrived_ns[MAX_EVENTS];       /* first arrival per event id, 0 none */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Handle every complete request in c->buf; false when the peer must go. */
static bool serve_requests(struct conn *c)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (;;) {
        c->buf[c->len] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        if (end == NULL)
            return c->len < sizeof c->buf - 1;
        size_t hlen = (size_t)(end - c->buf) + 4;
        size_t blen = 0;
        int64_t ev = 0;
        for (char *p = c->buf; p < end; p = strstr(p, "\r\n") + 2) {
            if (strncasecmp(p, "content-length:", 15) == 0)
                blen = strtoul(p + 15, NULL, 10);
            else if (strncasecmp(p, "webhook-id: evt_", 16) == 0)
                ev = strtoll(p + 16, NULL, 10);
        }
        if (hlen + blen > sizeof c->buf - 1)
            return false;
        if (c->len < hlen + blen)
            return true;
        if (ev > 0)
            atomic_fetch_add(&body_bytes, (int64_t)blen);
        if (ev > 0 && ev < MAX_EVENTS && arrived_ns[ev] == 0) {
            arrived_ns[ev] = now_ns();
            atomic_fetch_add(&received, 1);
        }
        atomic_fetch_add(&posts, 1);
        if (write(c->fd, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1))
            return false;
        memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
        c->len -= hlen + blen;
    }
}

static void *receiver_main(void *arg)
{
    (void)arg;
    struct epoll_event evs[64];
    while (!atomic_load(&recv_stop)) {
        int n = epoll_wait(epoll_fd, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                int fd;
                while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            struct conn *c = evs[i].data.ptr;
            ssize_t r;
            bool alive = true;
            while ((r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len)) > 0) {
                c->len += (size_t)r;
                if (!(alive = serve_requests(c)))
                    break;
            }
            if (r == 0 || (r < 0 && errno != EAGAIN) || !alive) {
                close(c->fd);
                free(c);
            }
        }
    }
    return NULL;
}

static int receiver_start(pthread_t *th)
{
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 512) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    epoll_fd = epoll_create1(0);
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &le);
    pthread_create(th, NULL, receiver_main, NULL);
    return ntohs(a.sin_port);
}

/* ---- the ceiling: raw libcurl POSTs ------------------------------------------------------ */

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static double curl_ceiling(int port, int n, const char *body)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ceiling", port);
    CURLM *m = curl_multi_init();
    CURL *h[CONCURRENCY];
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (int i = 0; i < CONCURRENCY; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
    }
    int started = 0, done = 0, running = 0;
    double t0 = bench_now();
    for (int i = 0; i < CONCURRENCY && started < n; i++, started++)
        curl_multi_add_handle(m, h[i]);
    while (done < n) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            curl_multi_remove_handle(m, e);
            done++;
            if (started < n) {
                curl_multi_add_handle(m, e);
                started++;
            }
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double rate = n / (bench_now() - t0);
    for (int i = 0; i < CONCURRENCY; i++)
        curl_easy_cleanup(h[i]);
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(m);
    return rate;
}

/* ---- the latency phase ---------------------------------------------------------------------- */

static _Atomic int64_t last_commit_ns;
static struct hook_deliver *live;

static void on_commit(void *arg)
{
    (void)arg;
    atomic_store(&last_commit_ns, now_ns());
    hook_deliver_on_commit(live);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* CPU time of the whole process (dispatcher, its writer, the receiver). */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Wait until the receiver has `want` distinct events or `secs` pass. */
static bool wait_received(int64_t want, double secs)
{
    double end = bench_now() + secs;
    while (atomic_load(&received) < want && bench_now() < end)
        usleep(2000);
    return atomic_load(&received) >= want;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;   /* argv[1]: the tgcrm binary, unused: all in-process */
    char dir[] = "/tmp/tgcrm-bench-deliver-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t rth;
    int port = receiver_start(&rth);
    if (port <= 0) {
        fprintf(stderr, "bench deliver: cannot listen\n");
        return 1;
    }
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "store: {path: %s/deliver.db, synchronous: full}\n"
             "http: {api_tokens: [{name: b, token: bench-token-0123456789}]}\n"
             "agents: [{id: a, telegram_user_id: 1, groups: [general]}]\n"
             "webhooks:\n"
             "  - {name: bench, url: \"http://127.0.0.1:%d/hooks\", concurrency: %d,\n"
             "     secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}\n",
             dir, port, CONCURRENCY);
    struct err e = {0};
    struct cfg *c = NULL;
    struct store *w = NULL;
    struct engine *en = NULL;
    struct hook_deliver *d = NULL;
    struct clock *k = clock_real_new();
    if (cfg_load_string("bench.yaml", yaml, strlen(yaml), &c, &e) != 0 ||
        store_open(&c->store, STORE_RW, &w, &e) != 0) {
        fprintf(stderr, "bench deliver: %s\n", e.msg);
        return 1;
    }
    /* A first dispatcher records the endpoint (cursor at event 0) and stops. */
    if (hook_deliver_new(c, k, &d, &e) != 0 || hook_deliver_start(d, &e) != 0) {
        fprintf(stderr, "bench deliver: %s\n", e.msg);
        return 1;
    }
    usleep(100000);
    hook_deliver_free(&d);

    /* The backlog: 50,000 events committed durably. */
    if (engine_new(c, w, k, &en, &e) != 0) {
        fprintf(stderr, "bench deliver: %s\n", e.msg);
        return 1;
    }
    struct engine_event *evs = mem_alloc(BATCH * sizeof *evs);
    struct engine_result *res = mem_alloc(BATCH * sizeof *res);
    int failed = 0;
    for (int i = 0; i < MESSAGES; i += BATCH) {
        int m = 0;
        for (int j = i; j < i + BATCH && j < MESSAGES; j++, m++) {
            memset(&evs[m], 0, sizeof evs[m]);
            evs[m].type = ENGINE_CUSTOMER_MESSAGE;
            evs[m].customer.tg_user_id = 100000 + j % CUSTOMERS;
            evs[m].customer.first_name = "Customer";
            evs[m].tg_chat_id = evs[m].customer.tg_user_id;
            evs[m].tg_message_id = j + 1;
            evs[m].text = "Hello, I have a question about my invoice";
        }
        if (engine_apply_batch(en, evs, res, (size_t)m, &e) != 0) {
            fprintf(stderr, "bench deliver: %s\n", e.msg);
            return 1;
        }
        for (int j = 0; j < m; j++)
            failed += res[j].code != 0;
    }
    int64_t events = 0;
    store_event_last_id(w, &events, &e);

    /* Throughput: a dispatcher drains the backlog. */
    double cpu0 = cpu_seconds();
    double t0 = bench_now();
    if (hook_deliver_new(c, k, &live, &e) != 0 || hook_deliver_start(live, &e) != 0) {
        fprintf(stderr, "bench deliver: %s\n", e.msg);
        return 1;
    }
    bool all = wait_received(events, 300);
    double rate = (double)atomic_load(&received) / (bench_now() - t0);
    double cpu_us = (cpu_seconds() - cpu0) * 1e6 / (double)(events > 0 ? events : 1);

    /* Latency: one event a millisecond through the running engine. */
    store_set_commit_hook(w, on_commit, NULL);
    if (engine_start(en, &e) != 0) {
        fprintf(stderr, "bench deliver: %s\n", e.msg);
        return 1;
    }
    int paced = PACED_MS;
    int64_t *commit_ns = mem_alloc((size_t)paced * sizeof *commit_ns);
    int64_t base = events;
    int64_t start = now_ns();
    for (int i = 0; i < paced; i++) {
        int64_t at = start + (int64_t)i * 1000000;
        while (now_ns() < at) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
        struct engine_event ev = {
            .type = ENGINE_CUSTOMER_MESSAGE, .customer.tg_user_id = 100000 + i % CUSTOMERS,
            .customer.first_name = "Customer", .tg_chat_id = 100000 + i % CUSTOMERS,
            .tg_message_id = MESSAGES + i + 1, .text = "One more question about my invoice",
        };
        struct engine_result r;
        failed += engine_submit(en, &ev, &r) != 0;
        commit_ns[i] = atomic_load(&last_commit_ns);
    }
    double paced_rate = paced / ((double)(commit_ns[paced - 1] - start) / 1e9 + 0.001);
    all = wait_received(base + paced, 30) && all;
    int64_t *lat = mem_alloc((size_t)paced * sizeof *lat);
    int nlat = 0;
    for (int i = 0; i < paced; i++) {
        int64_t id = base + 1 + i;
        if (id < MAX_EVENTS && arrived_ns[id] != 0)
            lat[nlat++] = arrived_ns[id] > commit_ns[i] ? arrived_ns[id] - commit_ns[i] : 0;
    }
    if (getenv("BENCH_DEBUG")) {   /* which events were slow, and when */
        for (int i = 0; i < paced; i++) {
            int64_t id = base + 1 + i;
            int64_t l = arrived_ns[id] ? arrived_ns[id] - commit_ns[i] : -1;
            if (l > 20000000)
                fprintf(stderr, "SLOW i=%d commit_at=%.1fms lat=%.1fms\n", i,
                        (double)(commit_ns[i] - start) / 1e6, (double)l / 1e6);
        }
    }
    qsort(lat, (size_t)nlat, sizeof *lat, cmp_i64);
    double p50 = nlat ? (double)lat[nlat / 2] / 1e6 : -1;
    double p99 = nlat ? (double)lat[(nlat * 99) / 100] / 1e6 : -1;

    /* The ceiling: raw POSTs of a body of the same size to the same receiver. */
    int64_t np = atomic_load(&posts);
    size_t avg = np > 0 ? (size_t)(atomic_load(&body_bytes) / np) : 1500;
    char *body = mem_alloc(avg + 1);
    memset(body, 'x', avg);
    double ceiling = curl_ceiling(port, (int)events, body);

    printf("bench deliver events=%lld deliveries_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
           "ceiling_posts_per_s=%.0f ratio=%.3f paced_events=%d paced_per_s=%.0f concurrency=%d "
           "body_bytes=%zu cpu_us_per_delivery=%.0f%s\n",
           (long long)events, rate, p50, p99, ceiling, rate / ceiling, paced, paced_rate,
           CONCURRENCY, avg, cpu_us,
           all && failed == 0 ? "" : " INCOMPLETE");

    engine_stop(en);
    hook_deliver_free(&live);
    engine_free(&en);
    atomic_store(&recv_stop, true);
    pthread_join(rth, NULL);
    cfg_unref(&c);
    clock_free(&k);
    mem_free(evs);
    mem_free(res);
    mem_free(commit_ns);
    mem_free(lat);
    mem_free(body);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 && all && failed == 0 ? 0 : 1;
}
