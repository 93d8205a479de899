/*
 * daemon.c — run `tgcrm serve` as a child and talk HTTP to it (see daemon.h).
 */
#include "common/daemon.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char base_config[] =
    "store:\n"
    "  path: %s/tgcrm.db\n"
    "http:\n"
    "  listen: 127.0.0.1:0\n"
    "  max_body: 64KiB\n"
    "  threads: 2\n"
    "  api_tokens:\n"
    "    - name: tests\n"
    "      token: " DAEMON_TOKEN "\n"
    "log:\n"
    "  level: info\n"
    "  format: json\n"
    "groups:\n"
    "  - name: general\n"
    "  - name: billing\n"
    "  - name: level2\n"
    "    level: 2\n"
    "agents:\n"
    "  - id: alice\n"
    "    name: Alice\n"
    "    telegram_user_id: 9001\n"
    "    groups: [general, billing]\n"
    "    capacity: 5\n"
    "  - id: bob\n"
    "    name: Bob\n"
    "    telegram_user_id: 9002\n"
    "    groups: [general]\n"
    "  - id: carol\n"
    "    name: Carol\n"
    "    telegram_user_id: 9003\n"
    "    groups: [level2]\n"
    "    availability: away\n";

static void die(const char *what)
{
    fprintf(stderr, "daemon test helper: %s: %s\n", what, strerror(errno));
    abort();
}

void daemon_init(struct daemon *d, const char *extra_yaml)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/tgcrm-it-XXXXXX");
    if (mkdtemp(d->dir) == NULL)
        die("mkdtemp");
    snprintf(d->config, sizeof d->config, "%s/tgcrm.yaml", d->dir);
    FILE *f = fopen(d->config, "w");
    if (f == NULL)
        die("config");
    fprintf(f, base_config, d->dir);
    if (extra_yaml != NULL)
        fputs(extra_yaml, f);
    fclose(f);
}

static const char *bin(void)
{
    const char *b = getenv("TGCRM_BIN");
    return b && *b ? b : "build/tgcrm";
}

/* Wait for the port file of a just-forked child; 0 or -1 if it exited. */
static int wait_port(struct daemon *d, const char *portfile)
{
    for (int i = 0; i < 1000; i++) {   /* up to 10 s */
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            int port = 0;
            int ok = fscanf(f, "%d", &port);
            fclose(f);
            if (ok == 1 && port > 0) {
                d->port = port;
                return 0;
            }
        }
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Fork and exec argv with stdout/stderr appended to logfile; sets d->pid. */
static void spawn(struct daemon *d, const char *logfile, const char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
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
    d->pid = pid;
}

int daemon_start(struct daemon *d)
{
    char portfile[320], logfile[320];
    snprintf(portfile, sizeof portfile, "%s/port", d->dir);
    snprintf(logfile, sizeof logfile, "%s/serve.log", d->dir);
    unlink(portfile);
    const char *argv[12];
    int n = 0;
    argv[n++] = bin();
    argv[n++] = "serve";
    argv[n++] = "--config";
    argv[n++] = d->config;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    if (d->test_clock) {
        argv[n++] = "--test-clock";
        argv[n++] = "--clock-start";
        argv[n++] = "2026-01-05T09:00:00Z";
    }
    argv[n] = NULL;
    spawn(d, logfile, argv);
    return wait_port(d, portfile);
}

int daemon_start_fake(struct daemon *d, const char *token)
{
    char portfile[320], logfile[320];
    snprintf(portfile, sizeof portfile, "%s/fake-port", d->dir);
    snprintf(logfile, sizeof logfile, "%s/fake.log", d->dir);
    unlink(portfile);
    const char *argv[] = {bin(), "fake-telegram", "--listen", "127.0.0.1:0", "--bot", token,
                          "--port-file", portfile, NULL};
    spawn(d, logfile, argv);
    return wait_port(d, portfile);
}

int daemon_start_sink(struct daemon *d, const char *const *args)
{
    char portfile[320], logfile[320];
    snprintf(portfile, sizeof portfile, "%s/sink-port", d->dir);
    snprintf(logfile, sizeof logfile, "%s/sink.log", d->dir);
    unlink(portfile);
    const char *argv[48] = {bin(), "sink", "--listen", "127.0.0.1:0", "--port-file", portfile};
    size_t n = 6;
    for (const char *const *a = args; a != NULL && *a != NULL && n + 1 < 48; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    spawn(d, logfile, argv);
    return wait_port(d, portfile);
}

int daemon_stop(struct daemon *d, int sig)
{
    if (d->pid == 0)
        return -1;
    kill(d->pid, sig);
    int status = 0;
    while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
        ;
    d->pid = 0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

void daemon_cleanup(struct daemon *d)
{
    if (d->pid != 0)
        daemon_stop(d, SIGKILL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "daemon test helper: could not remove %s\n", d->dir);
}

const char *daemon_log_tail(struct daemon *d)
{
    static char buf[4097];
    char path[320];
    snprintf(path, sizeof path, "%s/serve.log", d->dir);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return buf;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 4096 ? size - 4096 : 0, SEEK_SET);
    size_t n = fread(buf, 1, 4096, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

struct sink {
    char *p;
    size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t add = size * n;
    char *p = realloc(s->p, s->len + add + 1);
    if (p == NULL)
        return 0;
    memcpy(p + s->len, data, add);
    s->len += add;
    p[s->len] = '\0';
    s->p = p;
    return add;
}

/* One request; `lines` are extra raw header lines (may be NULL). */
static int perform(struct daemon *d, const char *method, const char *path, const char *token,
                   const char *content_type, const char *const *lines, const char *body,
                   size_t len, struct http_reply *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d->port, path);
    struct curl_slist *h = NULL;
    char line[256];
    if (token != NULL) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, line);
    }
    if (body != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        h = curl_slist_append(h, line);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    for (size_t i = 0; lines != NULL && lines[i] != NULL; i++)
        h = curl_slist_append(h, lines[i]);
    h = curl_slist_append(h, "Expect:");
    struct sink sb = {0}, sh = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sh);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    r->body = sb.p ? sb.p : strdup("");
    r->len = sb.len;
    r->headers = sh.p ? sh.p : strdup("");
    return rc == CURLE_OK ? 0 : -1;
}

int daemon_http(struct daemon *d, const char *method, const char *path,
                const char *token, const char *content_type, const char *body,
                struct http_reply *r)
{
    return perform(d, method, path, token, content_type, NULL, body,
                   body != NULL ? strlen(body) : 0, r);
}

int daemon_http_raw(struct daemon *d, const char *method, const char *path,
                    const char *const *lines, const char *body, size_t len,
                    struct http_reply *r)
{
    return perform(d, method, path, NULL, NULL, lines, body, len, r);
}

int daemon_get(struct daemon *d, const char *path, struct http_reply *r)
{
    return daemon_http(d, "GET", path, DAEMON_TOKEN, NULL, NULL, r);
}

int daemon_send(struct daemon *d, const char *method, const char *path,
                const char *body, struct http_reply *r)
{
    return daemon_http(d, method, path, DAEMON_TOKEN, NULL, body, r);
}

void reply_free(struct http_reply *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}
