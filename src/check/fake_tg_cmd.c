/*
 * fake_tg_cmd.c — `tgcrm fake-telegram`: the fake Telegram as a process.
 *
 * Parses the flags (--listen is required, so a bare `tgcrm fake-telegram`
 * prints its usage instead of occupying a port), starts fake_tg (fake_tg.h) with the real clock,
 * registers the bots (FAKE_TG_DEFAULT_TOKEN when no --bot is given), prints
 * the base URL, optionally writes the bound port to a file (for port 0),
 * and waits with sigwait for SIGINT/SIGTERM, then stops cleanly.
 */
#include "check/fake_tg.h"

#include "base/log.h"
#include "base/mem.h"
#include "base/metrics.h"
#include "http/http_server.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define MAX_BOTS 64

static const char usage[] =
    "usage: tgcrm fake-telegram --listen HOST:PORT [--bot TOKEN]... [--port-file FILE]\n"
    "                           [--log-level debug|info|warn|error]\n"
    "\n"
    "A fake Telegram Bot API server: point a bot's API base URL at\n"
    "http://HOST:PORT (it serves /bot<TOKEN>/<method>), and drive the humans\n"
    "through the control API under /control/ (see docs/fake-telegram.md).\n"
    "\n"
    "  --listen HOST:PORT   address to serve on, required (e.g. 127.0.0.1:8081;\n"
    "                       port 0 = any free)\n"
    "  --bot TOKEN          register a bot token, repeatable (default: " FAKE_TG_DEFAULT_TOKEN ")\n"
    "  --port-file FILE     write the bound port to FILE once listening\n"
    "  --log-level LEVEL    default warn\n"
    "\n"
    "SIGINT/SIGTERM stop it. Exit codes: 0 ok, 2 usage error or cannot listen.\n";

int fake_tg_main(int argc, char **argv)
{
    const char *listen = NULL, *port_file = NULL, *level_s = "warn";
    const char *bots[MAX_BOTS];
    size_t nbots = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "tgcrm fake-telegram: bad argument '%s'\n\n%s", a, usage);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--listen") == 0) {
            listen = v;
        } else if (strcmp(a, "--port-file") == 0) {
            port_file = v;
        } else if (strcmp(a, "--log-level") == 0) {
            level_s = v;
        } else if (strcmp(a, "--bot") == 0 && nbots < MAX_BOTS) {
            bots[nbots++] = v;
        } else {
            fprintf(stderr, "tgcrm fake-telegram: unknown option '%s'\n\n%s", a, usage);
            return 2;
        }
    }
    if (listen == NULL) {
        fprintf(stderr, "tgcrm fake-telegram: --listen HOST:PORT is required\n\n%s", usage);
        return 2;
    }
    enum log_level level;
    if (log_level_parse(level_s, &level) != 0) {
        fprintf(stderr, "tgcrm fake-telegram: bad --log-level '%s'\n", level_s);
        return 2;
    }
    log_setup(2, level, LOG_AUTO);
    if (nbots == 0)
        bots[nbots++] = FAKE_TG_DEFAULT_TOKEN;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    int rc = 2;
    struct err e = {0};
    struct fake_tg *f = NULL;
    struct fake_tg_opts o = {.listen = listen};
    if (fake_tg_start(&o, &f, &e) != 0) {
        fprintf(stderr, "tgcrm fake-telegram: %s\n", e.msg);
        goto out_curl;
    }
    for (size_t i = 0; i < nbots; i++) {
        if (fake_tg_add_bot(f, bots[i], NULL, NULL, &e) != 0) {
            fprintf(stderr, "tgcrm fake-telegram: --bot '%s': %s\n", bots[i], e.msg);
            goto out_fake;
        }
    }
    int port = fake_tg_port(f);
    if (port_file != NULL && http_server_port_file(port_file, port) != 0) {
        fprintf(stderr, "tgcrm fake-telegram: cannot write --port-file '%s'\n", port_file);
        goto out_fake;
    }
    printf("fake-telegram listening on port %d (bots: %zu; control API at /control/)\n",
           port, nbots);
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    log_msg(LOG_INFO, "fake_tg.stopping", "signal %d", sig);
    rc = 0;
out_fake:
    fake_tg_free(&f);
out_curl:
    curl_global_cleanup();
    metrics_free_all();
    return rc;
}
