/*
 * sink_cmd.c — `tgcrm sink`: the webhook capture sink as a process (a local
 * RequestBin for tgcrm's signed webhooks).
 *
 * Parses the flags (--listen is required, so a bare `tgcrm sink` prints its
 * usage instead of occupying a port), checks every secret before anything
 * starts, starts the sink (sink.h) on the real clock — or on a manual one
 * with --test-clock, moved through POST /control/clock — prints the base
 * URL, optionally writes the bound port to a file (for port 0), and waits
 * with sigwait for SIGINT/SIGTERM, then stops cleanly.
 */
#include "check/sink.h"

#include "base/cfg.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/metrics.h"
#include "http/http_server.h"
#include "webhook/hook_sign.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECRET_FLAGS 64

static const char usage[] =
    "usage: tgcrm sink --listen HOST:PORT [--secret [ENDPOINT=]whsec_...]... [--port-file FILE]\n"
    "                  [--max-requests N] [--max-bytes SIZE] [--max-body SIZE]\n"
    "                  [--tolerance DURATION] [--test-clock [--clock-start ISO8601]]\n"
    "                  [--log-level debug|info|warn|error]\n"
    "\n"
    "A webhook capture sink: point a webhook endpoint's URL at\n"
    "http://HOST:PORT/hooks/<endpoint>. Every request is recorded byte-exact with\n"
    "its signature verdict, JSON verdict and duplicate check; answers, faults and\n"
    "queries go through the control API under /control/ (see docs/sink.md).\n"
    "\n"
    "  --listen HOST:PORT   address to serve on, required (port 0 = any free)\n"
    "  --secret S           a signing secret to verify deliveries with, repeatable:\n"
    "                       'whsec_...' for every endpoint, 'ENDPOINT=whsec_...' for\n"
    "                       one; several for one endpoint model a rotation\n"
    "  --port-file FILE     write the bound port to FILE once listening\n"
    "  --max-requests N     requests kept before the oldest are evicted (default 100000)\n"
    "  --max-bytes SIZE     bytes kept before the oldest are evicted (default 256MiB)\n"
    "  --max-body SIZE      largest body taken, bigger ones get 413 (default 16MiB)\n"
    "  --tolerance D        webhook-timestamp tolerance (default 5m)\n"
    "  --test-clock         run on a manual clock moved by POST /control/clock\n"
    "  --clock-start T      where the manual clock starts (default: now)\n"
    "  --log-level LEVEL    default warn\n"
    "\n"
    "SIGINT/SIGTERM stop it. Exit codes: 0 ok, 2 usage error or cannot listen.\n";

struct opts {
    const char *listen, *port_file, *level, *clock_start;
    const char *secrets[MAX_SECRET_FLAGS];
    size_t nsecrets;
    bool test_clock;
    struct sink_opts so;
};

static int usage_error(const char *fmt, const char *arg)
{
    fputs("tgcrm sink: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage);
    return 2;
}

static int parse_count(const char *flag, const char *v, size_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n <= 0) {
        fprintf(stderr, "tgcrm sink: %s must be a positive integer, got '%s'\n", flag, v);
        return 2;
    }
    *out = (size_t)n;
    return 0;
}

static int parse_bytes(const char *flag, const char *v, size_t *out)
{
    int64_t n = 0;
    if (cfg_parse_size(v, &n) != 0 || n <= 0) {
        fprintf(stderr, "tgcrm sink: %s must be a size such as 65536, 512KiB or 16MiB, got '%s'\n",
                flag, v);
        return 2;
    }
    *out = (size_t)n;
    return 0;
}

/* 0, 1 for --help (usage printed), or 2 after a message. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    o->level = "warn";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        if (strcmp(a, "--test-clock") == 0) {
            o->test_clock = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc)
            return usage_error("bad argument '%s'", a);
        const char *v = argv[++i];
        int rc = 0;
        if (strcmp(a, "--listen") == 0)
            o->listen = v;
        else if (strcmp(a, "--port-file") == 0)
            o->port_file = v;
        else if (strcmp(a, "--log-level") == 0)
            o->level = v;
        else if (strcmp(a, "--clock-start") == 0)
            o->clock_start = v;
        else if (strcmp(a, "--secret") == 0 && o->nsecrets < MAX_SECRET_FLAGS)
            o->secrets[o->nsecrets++] = v;
        else if (strcmp(a, "--secret") == 0)
            return usage_error("at most %s --secret flags", "64");
        else if (strcmp(a, "--max-requests") == 0)
            rc = parse_count(a, v, &o->so.max_requests);
        else if (strcmp(a, "--max-bytes") == 0)
            rc = parse_bytes(a, v, &o->so.max_bytes);
        else if (strcmp(a, "--max-body") == 0)
            rc = parse_bytes(a, v, &o->so.max_body);
        else if (strcmp(a, "--tolerance") == 0) {
            if (clock_parse_duration(v, &o->so.tolerance_s) != 0 || o->so.tolerance_s < 1000) {
                fprintf(stderr, "tgcrm sink: --tolerance must be a duration of at least 1s "
                        "such as 30s or 5m, got '%s'\n", v);
                return 2;
            }
            o->so.tolerance_s /= 1000;
        } else
            return usage_error("unknown option '%s'", a);
        if (rc != 0)
            return rc;
    }
    if (o->listen == NULL)
        return usage_error("%s", "--listen HOST:PORT is required");
    if (o->clock_start != NULL && !o->test_clock) {
        fprintf(stderr, "tgcrm sink: --clock-start needs --test-clock\n");
        return 2;
    }
    return 0;
}

/* The secrets of one endpoint, in flag order (the first is the current one). */
struct group {
    char name[SINK_ENDPOINT_MAX + 2];
    const char *list[SINK_MAX_SECRETS];
    size_t n;
};

/*
 * Group the --secret flags by endpoint and check each one, before anything
 * listens. Messages name the flag by position: secrets are never echoed.
 */
static int group_secrets(const struct opts *o, struct group *g, size_t *ng)
{
    *ng = 0;
    for (size_t i = 0; i < o->nsecrets; i++) {
        const char *f = o->secrets[i];
        const char *eq = strncmp(f, "whsec_", 6) == 0 ? NULL : strchr(f, '=');
        const char *secret = eq ? eq + 1 : f;
        char name[SINK_ENDPOINT_MAX + 2];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - f) : 1, eq ? f : SINK_ANY_ENDPOINT);
        unsigned char key[HOOK_SIGN_SECRET_MAX];
        size_t klen;
        int bad = hook_sign_key(secret, key, &klen, NULL);
        memset(key, 0, sizeof key);
        if (bad != 0 || (eq != NULL && (size_t)(eq - f) > SINK_ENDPOINT_MAX) ||
            !sink_endpoint_ok(name, true)) {
            fprintf(stderr, "tgcrm sink: --secret #%zu: %s (expected whsec_<base64> or "
                    "ENDPOINT=whsec_<base64>)\n", i + 1,
                    bad != 0 ? "not a webhook secret" : "bad endpoint name");
            return 2;
        }
        size_t k = 0;
        while (k < *ng && strcmp(g[k].name, name) != 0)
            k++;
        if (k == *ng) {
            snprintf(g[k].name, sizeof g[k].name, "%s", name);
            g[k].n = 0;
            (*ng)++;
        }
        if (g[k].n == SINK_MAX_SECRETS) {
            fprintf(stderr, "tgcrm sink: --secret #%zu: at most %d secrets per endpoint\n",
                    i + 1, SINK_MAX_SECRETS);
            return 2;
        }
        g[k].list[g[k].n++] = secret;
    }
    return 0;
}

int sink_main(int argc, char **argv)
{
    struct opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    enum log_level level;
    if (log_level_parse(o.level, &level) != 0) {
        fprintf(stderr, "tgcrm sink: bad --log-level '%s'\n", o.level);
        return 2;
    }
    int64_t start = 0;
    if (o.clock_start != NULL && clock_parse_iso(o.clock_start, &start) != 0) {
        fprintf(stderr, "tgcrm sink: --clock-start: not an RFC 3339 time: '%s'\n",
                o.clock_start);
        return 2;
    }
    struct group groups[MAX_SECRET_FLAGS];
    size_t ngroups = 0;
    if (group_secrets(&o, groups, &ngroups) != 0)
        return 2;
    log_setup(2, level, LOG_AUTO);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    rc = 2;
    struct err e = {0};
    struct sink *s = NULL;
    struct clock *clk = NULL;
    if (o.test_clock) {
        struct clock *real = clock_real_new();
        clk = clock_manual_new(o.clock_start != NULL ? start : clock_now_ms(real));
        clock_free(&real);
    }
    o.so.listen = o.listen;
    o.so.clock = clk;
    if (sink_start(&o.so, &s, &e) != 0) {
        fprintf(stderr, "tgcrm sink: %s\n", e.msg);
        goto out_clock;
    }
    for (size_t i = 0; i < ngroups; i++)
        if (sink_set_secrets(s, groups[i].name, groups[i].list, groups[i].n, &e) != 0) {
            fprintf(stderr, "tgcrm sink: %s\n", e.msg);  /* checked above: cannot happen */
            goto out_sink;
        }
    int port = sink_port(s);
    if (o.port_file != NULL && http_server_port_file(o.port_file, port) != 0) {
        fprintf(stderr, "tgcrm sink: cannot write --port-file '%s'\n", o.port_file);
        goto out_sink;
    }
    printf("sink listening on port %d (webhooks to /hooks/<endpoint>, control API at "
           "/control/%s)\n", port, o.test_clock ? ", manual clock" : "");
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    log_msg(LOG_INFO, "sink.stopping", "signal %d", sig);
    rc = 0;
out_sink:
    sink_free(&s);
out_clock:
    clock_free(&clk);
    curl_global_cleanup();
    metrics_free_all();
    return rc;
}
