/*
 * daemon.h — integration-test helpers: run the real `tgcrm serve` as a child
 * process on a temporary SQLite file and talk to it over loopback HTTP.
 *
 * The binary is $TGCRM_BIN (the Makefile sets it) or build/tgcrm. Every
 * daemon listens on 127.0.0.1 with an ephemeral port read from its
 * --port-file, so tests can run in parallel.
 */
#ifndef TGCRM_TESTS_DAEMON_H
#define TGCRM_TESTS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DAEMON_TOKEN "test-token-0123456789abcdef"

struct daemon {
    char dir[256];        /* temp dir with tgcrm.yaml, tgcrm.db, serve.log */
    char config[320];
    pid_t pid;            /* 0 when not running */
    int port;
    bool test_clock;
};

struct http_reply {
    long status;
    char *body;           /* heap, NUL-terminated; free with reply_free */
    size_t len;
    char *headers;        /* raw response headers */
};

/* A fresh temp dir with a config: the standard test config (3 agents, groups
 * general/billing/level2) followed by `extra_yaml` (may be NULL). */
void daemon_init(struct daemon *d, const char *extra_yaml);

/* Start serve (with --test-clock when d->test_clock) and wait until ready.
 * Returns 0, or -1 if it exited (see serve.log). */
int daemon_start(struct daemon *d);

/* Start `tgcrm fake-telegram --listen 127.0.0.1:0 --bot TOKEN` in d->dir
 * (d from daemon_init) and wait for its port. 0 or -1. */
int daemon_start_fake(struct daemon *d, const char *token);

/* Start `tgcrm sink --listen 127.0.0.1:0 --port-file F ARGS...` in d->dir
 * (d from daemon_init; args NULL-terminated, may be NULL), its output in
 * d->dir/sink.log, and wait for its port. 0 or -1. */
int daemon_start_sink(struct daemon *d, const char *const *args);

/* Send sig and wait for exit; returns the exit status (or 128+signal). */
int daemon_stop(struct daemon *d, int sig);

/* Remove the temp dir. */
void daemon_cleanup(struct daemon *d);

/* The daemon's log, for failure messages (static buffer, last 4 KiB). */
const char *daemon_log_tail(struct daemon *d);

/*
 * HTTP request to the daemon. `token` NULL sends no Authorization header;
 * `body` NULL sends none; content_type NULL means application/json when a
 * body is given. The reply is filled; returns 0 or -1 on transport failure.
 */
int daemon_http(struct daemon *d, const char *method, const char *path,
                const char *token, const char *content_type, const char *body,
                struct http_reply *r);

/*
 * A request with extra raw header lines ("Name: value", NULL-terminated;
 * NULL for none) and a body of len bytes (NULL for none; sent as
 * application/json), without an Authorization header unless a line adds
 * one. For requests authenticated otherwise (signed webhooks).
 */
int daemon_http_raw(struct daemon *d, const char *method, const char *path,
                    const char *const *lines, const char *body, size_t len,
                    struct http_reply *r);

/* Shorthands with the standard token. */
int daemon_get(struct daemon *d, const char *path, struct http_reply *r);
int daemon_send(struct daemon *d, const char *method, const char *path,
                const char *body, struct http_reply *r);

void reply_free(struct http_reply *r);

#endif
