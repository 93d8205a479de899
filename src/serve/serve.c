/*
 * serve.c — `tgcrm serve` (see serve.h).
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait, so no work happens in a signal handler and reloads
 * are ordinary code.
 */
#include "serve/serve.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/metrics.h"
#include "engine/engine.h"
#include "http/api.h"
#include "http/http_server.h"
#include "store/store.h"
#include "telegram/tg_bridge.h"
#include "telegram/tg_ingest.h"
#include "webhook/hook_deliver.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: tgcrm serve --config FILE [--test-clock [--clock-start ISO8601]]\n"
    "                   [--port-file FILE] [--log-level LEVEL] [--log-format text|json]\n"
    "\n"
    "Run the CRM daemon: REST API, engine and store.\n"
    "\n"
    "  -c, --config FILE      configuration file (YAML; see docs/config.md)\n"
    "      --test-clock       use a manual clock moved through POST /v1/test/clock;\n"
    "                         for tests only, never available from configuration\n"
    "      --clock-start T    where the manual clock starts (default: now)\n"
    "      --port-file FILE   write the HTTP port there once listening (for port 0)\n"
    "      --log-level L      debug|info|warn|error (overrides the config)\n"
    "      --log-format F     auto|text|json (overrides the config)\n"
    "  -h, --help             this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the configuration.\n"
    "Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error.\n";

struct serve_opts {
    const char *config;
    bool test_clock;
    const char *clock_start;
    const char *port_file;
    const char *log_level;
    const char *log_format;
};

static int parse_args(int argc, char **argv, struct serve_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test-clock", no_argument, NULL, 'T'},
        {"clock-start", required_argument, NULL, 'S'},
        {"port-file", required_argument, NULL, 'P'},
        {"log-level", required_argument, NULL, 'L'},
        {"log-format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'T': o->test_clock = true; break;
        case 'S': o->clock_start = optarg; break;
        case 'P': o->port_file = optarg; break;
        case 'L': o->log_level = optarg; break;
        case 'F': o->log_format = optarg; break;
        case 'h': fputs(usage, stdout); return 1;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tgcrm serve: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    if (o->config == NULL) {
        fprintf(stderr, "tgcrm serve: --config FILE is required\n%s", usage);
        return 2;
    }
    if (o->clock_start != NULL && !o->test_clock) {
        fprintf(stderr, "tgcrm serve: --clock-start needs --test-clock\n");
        return 2;
    }
    return 0;
}

static int setup_log(const struct cfg *c, const struct serve_opts *o)
{
    const char *lvl = o->log_level ? o->log_level : c->log.level;
    const char *fmt = o->log_format ? o->log_format : c->log.format;
    enum log_level level = LOG_INFO;
    if (lvl != NULL && log_level_parse(lvl, &level) != 0) {
        fprintf(stderr, "tgcrm serve: unknown log level '%s'\n", lvl);
        return 2;
    }
    enum log_format f = LOG_AUTO;
    if (fmt != NULL && strcmp(fmt, "text") == 0)
        f = LOG_TEXT;
    else if (fmt != NULL && strcmp(fmt, "json") == 0)
        f = LOG_JSON;
    else if (fmt != NULL && strcmp(fmt, "auto") != 0) {
        fprintf(stderr, "tgcrm serve: unknown log format '%s'\n", fmt);
        return 2;
    }
    log_setup(2, level, f);
    return 0;
}

/* Settings a running daemon cannot change: say so on reload. */
static void warn_restart_only(const struct cfg *old, const struct cfg *nc)
{
    if ((old->telegram.token == NULL) != (nc->telegram.token == NULL) ||
        (old->telegram.token && nc->telegram.token &&
         strcmp(old->telegram.token, nc->telegram.token) != 0) ||
        old->telegram.staff_group_id != nc->telegram.staff_group_id)
        log_msg(LOG_WARN, "config.restart_needed",
                "telegram token and mode take effect after a restart");
    if (strcmp(old->http.listen, nc->http.listen) != 0 ||
        strcmp(old->store.driver, nc->store.driver) != 0 ||
        (old->store.path && nc->store.path && strcmp(old->store.path, nc->store.path) != 0))
        log_msg(LOG_WARN, "config.restart_needed",
                "http.listen and store settings take effect after a restart");
}

static void reload(struct engine *en, struct hook_deliver *hooks, const char *path)
{
    struct err e = {0};
    struct cfg *nc = NULL;
    if (cfg_load(path, &nc, &e) != 0 || engine_check_cfg(nc, &e) != 0) {
        cfg_unref(&nc);
        struct log_line l;
        log_begin(&l, LOG_ERROR, "config.reload_failed");
        log_str(&l, "error", e.msg);
        log_str(&l, "kept", "previous configuration");
        log_end(&l);
        return;
    }
    struct cfg *old = engine_cfg(en);
    warn_restart_only(old, nc);
    cfg_unref(&old);
    engine_set_cfg(en, nc);
    hook_deliver_set_cfg(hooks, nc);
    struct log_line l;
    log_begin(&l, LOG_INFO, "config.reloaded");
    log_str(&l, "path", path);
    log_int(&l, "agents", (int64_t)nc->nagents);
    log_int(&l, "groups", (int64_t)nc->ngroups);
    log_int(&l, "webhooks", (int64_t)nc->nwebhooks);
    log_end(&l);
    cfg_unref(&nc);
}

/* Who a commit of the engine's writer wakes: the webhook dispatcher (new
 * events) and the Telegram sender (new outbox rows), at once rather than at
 * their next poll. The bridge starts after the engine, hence the atomic. */
struct wake {
    struct hook_deliver *hooks;
    _Atomic(struct tg_bridge *) bridge;
    struct store *w;          /* borrowed: the writer whose commits these are */
};

/* On the engine's thread, inside its commit: the outbox counter is its own. */
static void on_commit(void *arg)
{
    struct wake *w = arg;
    hook_deliver_on_commit(w->hooks);
    struct tg_bridge *b = atomic_load(&w->bridge);
    if (b != NULL)
        tg_bridge_notify(b, store_tg_outbox_writes(w->w));
}

int serve_main(int argc, char **argv)
{
    static struct wake wake;
    struct serve_opts o = {0};
    int prc = parse_args(argc, argv, &o);
    if (prc != 0)
        return prc == 1 ? 0 : prc;

    /* Block the signals we take with sigwait before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1;
    struct err e = {0};
    struct cfg *c = NULL;
    struct clock *clk = NULL;
    struct store *w = NULL;
    struct engine *en = NULL;
    struct store_pool *pool = NULL;
    struct http_server *srv = NULL;
    struct tg_ingest *ingest = NULL;
    struct tg_bridge *bridge = NULL;
    struct hook_deliver *hooks = NULL;

    if (cfg_load(o.config, &c, &e) != 0 || engine_check_cfg(c, &e) != 0) {
        fprintf(stderr, "tgcrm serve: %s\n", e.msg);
        cfg_unref(&c);
        return 2;
    }
    if (setup_log(c, &o) != 0) {
        exit_code = 2;
        goto out;
    }

    if (o.test_clock) {
        int64_t start = 0;
        if (o.clock_start != NULL && clock_parse_iso(o.clock_start, &start) != 0) {
            fprintf(stderr, "tgcrm serve: --clock-start: not an RFC 3339 time: '%s'\n",
                    o.clock_start);
            exit_code = 2;
            goto out;
        }
        if (o.clock_start == NULL) {
            struct clock *real = clock_real_new();
            start = clock_now_ms(real);
            clock_free(&real);
        }
        clk = clock_manual_new(start);
        log_msg(LOG_WARN, "clock.manual",
                "TEST CLOCK: time moves only through POST /v1/test/clock; never use in production");
    } else {
        clk = clock_real_new();
    }

    if (store_open(&c->store, STORE_RW, &w, &e) != 0) {
        log_msg(LOG_ERROR, "store.open_failed", "%s", e.msg);
        exit_code = e.code == ERR_SCHEMA || e.code == ERR_CONFIG ? 2 : 1;
        goto out;
    }
    /* The webhook dispatcher wakes on every commit of the engine's writer,
     * so an event goes out as soon as it is durable, not at the next poll. */
    if (hook_deliver_new(c, clk, &hooks, &e) != 0) {
        log_msg(LOG_ERROR, "webhook.init_failed", "%s", e.msg);
        goto out;
    }
    wake.hooks = hooks;
    wake.w = w;
    store_set_commit_hook(w, on_commit, &wake);
    if (engine_new(c, w, clk, &en, &e) != 0) {
        log_msg(LOG_ERROR, "engine.init_failed", "%s", e.msg);
        goto out;
    }
    w = NULL;   /* the engine owns the writer now */
    if (engine_start(en, &e) != 0) {
        log_msg(LOG_ERROR, "engine.start_failed", "%s", e.msg);
        goto out;
    }
    if (hook_deliver_start(hooks, &e) != 0) {
        log_msg(LOG_ERROR, "webhook.start_failed", "%s", e.msg);
        goto out;
    }
    if (store_pool_new(&c->store, c->store.read_connections, &pool, &e) != 0) {
        log_msg(LOG_ERROR, "store.pool_failed", "%s", e.msg);
        goto out;
    }

    /* The Telegram side runs only when a bot token is configured. */
    bool webhook_mode = false;
    if (c->telegram.token != NULL) {
        webhook_mode = c->telegram.mode != NULL && strcmp(c->telegram.mode, "webhook") == 0;
        if (tg_ingest_new(c, en, &ingest, &e) != 0 ||
            (webhook_mode ? tg_ingest_set_webhook(ingest, &e) : tg_ingest_start(ingest, &e)) != 0) {
            log_msg(LOG_ERROR, "telegram.start_failed", "%s", e.msg);
            goto out;
        }
        if (tg_bridge_new(c, en, NULL, &bridge, &e) != 0) {
            log_msg(LOG_ERROR, "telegram.bridge_failed", "%s", e.msg);
            goto out;
        }
        /* notified before its first look: a commit after that look is never
         * missed, one before it is in what the look reads */
        atomic_store(&wake.bridge, bridge);
        if (tg_bridge_start(bridge, &e) != 0) {
            log_msg(LOG_ERROR, "telegram.bridge_failed", "%s", e.msg);
            goto out;
        }
    }

    struct api_ctx api = {
        .engine = en,
        .readers = pool,
        .clock = clk,
        .test_clock = o.test_clock,
        .started_at_ms = clock_now_ms(clk),
        .tg = webhook_mode ? ingest : NULL,
        .hooks = hooks,
        .bridge = bridge,
    };
    if (http_server_start(c->http.listen, c->http.threads, (size_t)c->http.max_body,
                          api_handle, &api, &srv, &e) != 0) {
        log_msg(LOG_ERROR, "http.start_failed", "%s", e.msg);
        exit_code = 2;
        goto out;
    }
    int port = http_server_port(srv);
    if (o.port_file != NULL && http_server_port_file(o.port_file, port) != 0) {
        log_msg(LOG_ERROR, "serve.port_file", "cannot write '%s': %s", o.port_file,
                strerror(errno));
        goto out;
    }
    struct log_line l;
    log_begin(&l, LOG_INFO, "serve.ready");
    log_int(&l, "port", port);
    log_str(&l, "store", c->store.driver);
    log_str(&l, "clock", o.test_clock ? "manual" : "real");
    log_str(&l, "telegram", ingest == NULL ? "off" : webhook_mode ? "webhook" : "polling");
    log_int(&l, "webhooks", (int64_t)c->nwebhooks);
    log_int(&l, "pid", (int64_t)getpid());
    log_end(&l);

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(en, hooks, o.config);
            continue;
        }
        log_msg(LOG_INFO, "serve.stopping", "signal %d", sig);
        break;
    }
    exit_code = 0;

out:
    http_server_free(&srv);     /* finish in-flight requests first */
    tg_ingest_free(&ingest);    /* no new updates ... */
    atomic_store(&wake.bridge, NULL);
    tg_bridge_free(&bridge);    /* ... and no more sends; pending rows stay queued */
    if (en != NULL)
        engine_stop(en);        /* then commit what is queued */
    store_pool_free(&pool);
    engine_free(&en);           /* no more commits to wake the dispatcher ... */
    hook_deliver_free(&hooks);  /* ... which abandons its transfers: rows stay pending */
    store_close(&w);
    clock_free(&clk);
    cfg_unref(&c);
    metrics_free_all();
    if (exit_code == 0)
        log_msg(LOG_INFO, "serve.stopped", "clean shutdown");
    return exit_code;
}
