/*
 * bench_common.c — shared benchmark helpers (see bench_common.h).
 */
#include "bench_common.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run one statement; stop the benchmark on failure (a wrong ceiling is worse than none). */
static void must(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench: %s: %s\n", sql, msg ? msg : "?");
        exit(1);
    }
}

struct table {
    char name[64];
    sqlite3_int64 lo, hi;       /* rowid range in the source */
};

double bench_sqlite_replay(const char *src, const char *dst, int commits, long *rows)
{
    sqlite3 *db;
    if (sqlite3_open(dst, &db) != SQLITE_OK) {
        fprintf(stderr, "bench: cannot open %s\n", dst);
        exit(1);
    }
    must(db, "PRAGMA journal_mode=WAL");
    must(db, "PRAGMA synchronous=FULL");
    char sql[8192];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS s", src);
    must(db, sql);
    /* the same tables and indexes, created from the source's own schema */
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT sql, type, name FROM s.sqlite_schema WHERE sql IS NOT NULL"
                           " AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index'", -1, &st, NULL);
    struct table t[32];
    int nt = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        must(db, (const char *)sqlite3_column_text(st, 0));
        if (strcmp((const char *)sqlite3_column_text(st, 1), "table") == 0 && nt < 32)
            snprintf(t[nt++].name, sizeof t[0].name, "%s", sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    *rows = 0;
    for (int i = 0; i < nt; i++) {
        snprintf(sql, sizeof sql, "SELECT coalesce(min(rowid),0), coalesce(max(rowid),-1), count(*)"
                                  " FROM s.\"%s\"", t[i].name);
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        sqlite3_step(st);
        t[i].lo = sqlite3_column_int64(st, 0);
        t[i].hi = sqlite3_column_int64(st, 1);
        *rows += (long)sqlite3_column_int64(st, 2);
        sqlite3_finalize(st);
    }
    if (commits < 1)
        commits = 1;
    double t0 = bench_now();
    for (int c = 0; c < commits; c++) {
        must(db, "BEGIN IMMEDIATE");
        for (int i = 0; i < nt; i++) {
            sqlite3_int64 span = t[i].hi - t[i].lo + 1;
            sqlite3_int64 a = t[i].lo + span * c / commits, b = t[i].lo + span * (c + 1) / commits;
            snprintf(sql, sizeof sql, "INSERT INTO main.\"%s\" SELECT * FROM s.\"%s\""
                                      " WHERE rowid >= %lld AND rowid < %lld", t[i].name,
                     t[i].name, (long long)a, (long long)b);
            must(db, sql);
        }
        must(db, "COMMIT");
    }
    double dt = bench_now() - t0;
    sqlite3_close(db);
    return dt;
}

pid_t bench_spawn(const char *const *argv, const char *logfile, const char *portfile, int *port)
{
    unlink(portfile);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 2000; i++) {
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d", port);
            fclose(f);
            if (ok == 1 && *port > 0)
                return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(10000);
    }
    return -1;
}

struct sink {
    char *p;
    size_t n;
};

static size_t collect(char *d, size_t sz, size_t nm, void *ud)
{
    struct sink *s = ud;
    char *p = realloc(s->p, s->n + sz * nm + 1);
    if (p == NULL)
        return 0;
    memcpy(p + s->n, d, sz * nm);
    s->n += sz * nm;
    p[s->n] = '\0';
    s->p = p;
    return sz * nm;
}

long bench_http(int port, const char *method, const char *path, const char *body, char **out)
{
    static CURL *c;          /* one connection, kept alive across calls */
    static struct curl_slist *h;
    if (c == NULL) {
        c = curl_easy_init();
        h = curl_slist_append(NULL, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
    }
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct sink s = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, body ? 0L : 1L);
    if (body == NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (out != NULL)
        *out = s.p;
    else
        free(s.p);
    return status;
}

void bench_rss(pid_t pid, double *peak_mb, double *now_mb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    *peak_mb = *now_mb = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *peak_mb = kb / 1024.0;
        else if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *now_mb = kb / 1024.0;
    }
    fclose(f);
}
