/*
 * bench_ingest.c — Telegram ingestion end to end: 100,000 customer messages
 * from 10,000 customers wait in `tgcrm fake-telegram`; `tgcrm serve` (real
 * process, SQLite, synchronous=FULL, a staff forum group so every message
 * also produces its topic/copy outbox rows) drains them by long polling.
 * Measured until the fake has nothing left unconfirmed.
 *
 * Ceiling, same run: the rows serve wrote (customers, tickets, thread,
 * outbox, events, offset) written again raw into a fresh file, in one
 * transaction per 100 updates (a getUpdates page), same durability —
 * bench_sqlite_replay. "The raw SQLite insert rate for the same rows."
 *
 * Prints: bench ingest updates=… updates_per_s=… rows=… ceiling_updates_per_s=…
 *         ratio=… serve_rss_mb=… serve_peak_rss_mb=…
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#define TOKEN "555:bench-token"

static long pending(int port)
{
    char *body = NULL;
    if (bench_http(port, "GET", "/control/stats", NULL, &body) != 200) {
        free(body);
        return -1;
    }
    json_error_t je;
    json_t *v = json_loads(body, 0, &je);
    free(body);
    long p = (long)json_integer_value(json_object_get(
        json_array_get(json_object_get(v, "bots"), 0), "pending_update_count"));
    json_decref(v);
    return p;
}

int main(int argc, char **argv)
{
    const char *bin = argc > 1 ? argv[1] : "build/tgcrm";
    int n = argc > 2 ? atoi(argv[2]) : 100000;
    int customers = n / 10 > 0 ? n / 10 : 1;
    char dir[] = "/tmp/tgcrm-bench-ingest-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char fport[256], flog[256], sport[256], slog[256], cfgp[256], raw[256];
    snprintf(fport, sizeof fport, "%s/fake.port", dir);
    snprintf(flog, sizeof flog, "%s/fake.log", dir);
    snprintf(sport, sizeof sport, "%s/serve.port", dir);
    snprintf(slog, sizeof slog, "%s/serve.log", dir);
    snprintf(cfgp, sizeof cfgp, "%s/tgcrm.yaml", dir);
    snprintf(raw, sizeof raw, "%s/raw.db", dir);

    int fp = 0, sp = 0;
    const char *fargv[] = {bin, "fake-telegram", "--listen", "127.0.0.1:0", "--bot", TOKEN,
                           "--port-file", fport, NULL};
    pid_t fake = bench_spawn(fargv, flog, fport, &fp);
    if (fake < 0) {
        fprintf(stderr, "bench ingest: fake-telegram did not start\n");
        return 1;
    }
    char body[256];
    bench_http(fp, "POST", "/control/groups",
               "{\"id\":-1001000000001,\"title\":\"Support\",\"is_forum\":true}", NULL);
    for (int c = 0; c < customers; c++) {
        snprintf(body, sizeof body, "{\"id\":%d,\"first_name\":\"C%d\"}", 100000 + c, c);
        bench_http(fp, "POST", "/control/users", body, NULL);
    }
    for (int i = 0; i < n; i++) {
        snprintf(body, sizeof body, "{\"from\":%d,\"text\":\"Hello, I have a question about my invoice %d\"}",
                 100000 + i % customers, i);
        if (bench_http(fp, "POST", "/control/messages", body, NULL) != 201) {
            fprintf(stderr, "bench ingest: could not queue message %d\n", i);
            return 1;
        }
    }

    FILE *f = fopen(cfgp, "w");
    fprintf(f, "telegram: {token: '%s', api_base: 'http://127.0.0.1:%d', staff_group_id: -1001000000001,"
               " poll_timeout: 1s}\n"
               "store: {path: %s/tgcrm.db, synchronous: full}\n"
               "http: {listen: '127.0.0.1:0', api_tokens: [{name: b, token: bench-token-0123456789}]}\n"
               "log: {level: warn}\n"
               "agents: [{id: a, telegram_user_id: 1, groups: [general]}]\n", TOKEN, fp, dir);
    fclose(f);
    const char *sargv[] = {bin, "serve", "--config", cfgp, "--port-file", sport, NULL};
    double t0 = bench_now();
    pid_t serve = bench_spawn(sargv, slog, sport, &sp);
    if (serve < 0) {
        fprintf(stderr, "bench ingest: serve did not start\n");
        return 1;
    }
    long left = n;
    while ((left = pending(fp)) != 0 && bench_now() - t0 < 600)
        usleep(2000);
    double dt = bench_now() - t0;
    double peak, now;
    bench_rss(serve, &peak, &now);
    kill(serve, SIGTERM);
    waitpid(serve, NULL, 0);
    kill(fake, SIGTERM);
    waitpid(fake, NULL, 0);

    char db[300];
    snprintf(db, sizeof db, "%s/tgcrm.db", dir);
    long rows = 0;
    double ceiling = n / bench_sqlite_replay(db, raw, (n + 99) / 100, &rows);
    double rate = n / dt;
    printf("bench ingest updates=%d left=%ld updates_per_s=%.0f rows=%ld ceiling_updates_per_s=%.0f "
           "ratio=%.3f serve_rss_mb=%.1f serve_peak_rss_mb=%.1f\n", n, left, rate, rows, ceiling,
           rate / ceiling, now, peak);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 && left == 0 ? 0 : 1;
}
