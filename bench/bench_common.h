/*
 * bench_common.h — pieces the benchmarks share: the raw SQLite ceiling,
 * child processes, and small HTTP calls over loopback.
 */
#ifndef TGCRM_BENCH_COMMON_H
#define TGCRM_BENCH_COMMON_H

#include <stddef.h>
#include <sys/types.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/*
 * The ceiling: rows per second for inserting n thread-sized rows into a
 * fresh SQLite file at `path` (WAL, synchronous=FULL), `batch` rows per
 * transaction, one prepared statement — what the store could do at best.
 */
double bench_sqlite_ceiling(const char *path, int n, int batch);

/* Fork/exec argv with output to logfile; wait for a port in portfile.
 * Returns the pid (port in *port) or -1. */
pid_t bench_spawn(const char *const *argv, const char *logfile, const char *portfile, int *port);

/* HTTP on 127.0.0.1:port with a reused connection; body may be NULL.
 * Returns the status; *out (may be NULL) gets the heap body. */
long bench_http(int port, const char *method, const char *path, const char *body, char **out);

/* Peak and current resident set of pid in MiB (from /proc). */
void bench_rss(pid_t pid, double *peak_mb, double *now_mb);

#endif
