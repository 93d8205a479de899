/*
 * bench_engine.c — how fast the single writer durably applies customer
 * messages, against the raw SQLite insert rate of the same rows on the same
 * disk as the ceiling (measured in the same run).
 *
 * Workload: N messages from N/10 customers (so ~10% open tickets, the rest
 * appends), applied through engine_apply_batch in batches of 512 — the
 * group-commit path the ingest loop uses — on a fresh file with
 * synchronous=FULL. The ceiling writes the very rows the engine wrote
 * (customers, tickets, thread, events, ...) again, raw, in as many
 * transactions, same durability (bench_sqlite_replay).
 *
 * Prints: bench engine_apply events_per_s=… rows=… ceiling_events_per_s=… ratio=… rss_mb=…
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "base/mem.h"
#include "engine/engine.h"
#include "store/store.h"

#include "bench_common.h"

#define BATCH 512

int main(int argc, char **argv)
{
    int n = argc > 2 ? atoi(argv[2]) : 100000;   /* argv[1]: the tgcrm binary (unused) */
    char dir[] = "/tmp/tgcrm-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char yaml[512], raw[128];
    snprintf(yaml, sizeof yaml,
             "store: {path: %s/engine.db, synchronous: full}\n"
             "http: {api_tokens: [{name: b, token: bench-token-0123456789}]}\n"
             "agents: [{id: a, telegram_user_id: 1, groups: [general]}]\n", dir);
    snprintf(raw, sizeof raw, "%s/raw.db", dir);
    struct err e = {0};
    struct cfg *c = NULL;
    struct store *w = NULL;
    struct engine *en = NULL;
    struct clock *k = clock_manual_new(1767600000000LL);
    if (cfg_load_string("bench.yaml", yaml, strlen(yaml), &c, &e) != 0 ||
        store_open(&c->store, STORE_RW, &w, &e) != 0 || engine_new(c, w, k, &en, &e) != 0) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    struct engine_event *evs = mem_alloc(BATCH * sizeof *evs);
    struct engine_result *res = mem_alloc(BATCH * sizeof *res);
    int customers = n / 10 > 0 ? n / 10 : 1;
    int failed = 0;
    double t0 = bench_now();
    for (int i = 0; i < n; i += BATCH) {
        int m = 0;
        for (int j = i; j < i + BATCH && j < n; j++, m++) {
            memset(&evs[m], 0, sizeof evs[m]);
            evs[m].type = ENGINE_CUSTOMER_MESSAGE;
            evs[m].customer.tg_user_id = 100000 + j % customers;
            evs[m].customer.first_name = "Customer";
            evs[m].tg_chat_id = evs[m].customer.tg_user_id;
            evs[m].tg_message_id = j + 1;
            evs[m].update_id = j + 1;
            evs[m].text = "Hello, I have a question about my invoice";
        }
        if (engine_apply_batch(en, evs, res, (size_t)m, &e) != 0) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return 1;
        }
        for (int j = 0; j < m; j++)
            failed += res[j].code != 0;
        clock_manual_advance(k, 10);
    }
    double rate = n / (bench_now() - t0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    engine_free(&en);       /* closes w: the engine owns its store */
    char db[128];
    snprintf(db, sizeof db, "%s/engine.db", dir);
    long rows = 0;
    double ceil_rate = n / bench_sqlite_replay(db, raw, (n + BATCH - 1) / BATCH, &rows);
    printf("bench engine_apply events=%d failed=%d events_per_s=%.0f rows=%ld "
           "ceiling_events_per_s=%.0f ratio=%.3f rss_mb=%.1f\n", n, failed, rate, rows,
           ceil_rate, rate / ceil_rate, (double)ru.ru_maxrss / 1024.0);
    cfg_unref(&c);
    clock_free(&k);
    mem_free(evs);
    mem_free(res);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 && failed == 0 ? 0 : 1;
}
