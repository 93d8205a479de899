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

double bench_sqlite_ceiling(const char *path, int n, int batch)
{
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE t(id INTEGER PRIMARY KEY, ticket_id INT, seq INT, kind TEXT,"
                     " dir TEXT, author TEXT, text TEXT, chat INT, msg INT, at INT)", 0, 0, 0);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO t(ticket_id,seq,kind,dir,author,text,chat,msg,at)"
                           " VALUES(?,?,?,?,?,?,?,?,?)", -1, &st, NULL);
    int groups = n / 10 > 0 ? n / 10 : 1;
    double t0 = bench_now();
    for (int i = 0; i < n; i += batch) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
        for (int j = i; j < i + batch && j < n; j++) {
            sqlite3_bind_int64(st, 1, j % groups);
            sqlite3_bind_int(st, 2, j / groups);
            sqlite3_bind_text(st, 3, "message", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, "inbound", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, "customer", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 6, "Hello, I have a question about my invoice", -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 7, 100000 + j % groups);
            sqlite3_bind_int64(st, 8, j);
            sqlite3_bind_int64(st, 9, 1767600000000LL + j);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
        sqlite3_exec(db, "COMMIT", 0, 0, 0);
    }
    double dt = bench_now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n / dt;
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
