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
 * The ceiling: the same rows a run wrote, written again raw. Creates the
 * source database's tables and indexes in a fresh file `dst` (WAL,
 * synchronous=FULL) and copies every row of `src` into it in `commits`
 * transactions (each a slice of every table, as a run's batches are) with
 * INSERT ... SELECT: no parsing, no application logic, only SQLite writing
 * those rows with that durability. Returns the seconds it took; *rows gets
 * how many rows were copied. Exits on any SQLite error.
 */
double bench_sqlite_replay(const char *src, const char *dst, int commits, long *rows);

/* Fork/exec argv with output to logfile; wait for a port in portfile.
 * Returns the pid (port in *port) or -1. */
pid_t bench_spawn(const char *const *argv, const char *logfile, const char *portfile, int *port);

/* HTTP on 127.0.0.1:port with a reused connection; body may be NULL.
 * Returns the status; *out (may be NULL) gets the heap body. */
long bench_http(int port, const char *method, const char *path, const char *body, char **out);

/* Peak and current resident set of pid in MiB (from /proc). */
void bench_rss(pid_t pid, double *peak_mb, double *now_mb);

#endif
