/*
 * main.c — argv → subcommand. No logic lives here.
 */
#include "base/version.h"
#include "check/check_cmd.h"
#include "check/fake_tg.h"
#include "check/sink.h"
#include "serve/serve.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>


static const char usage[] =
    "usage: tgcrm <command> [options]\n"
    "\n"
    "  serve          the CRM daemon (REST API, engine, store)\n"
    "  check          run scenario suites against the CRM (the integration testing framework)\n"
    "  sandbox        CRM + fake Telegram + webhook sink wired together, for poking by hand\n"
    "  fake-telegram  a fake Telegram Bot API server\n"
    "  sink           a webhook capture sink\n"
    "  version        print the version\n"
    "  help           this text\n"
    "\n"
    "Run 'tgcrm <command> --help' for a command's options.\n"
    "Exit codes: 0 ok, 1 a check failed, 2 usage or configuration error.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "fake-telegram") == 0)
        return fake_tg_main(argc - 1, argv + 1);
    if (strcmp(cmd, "sink") == 0)
        return sink_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return check_cmd_main(argc - 1, argv + 1);
    if (strcmp(cmd, "sandbox") == 0)
        return check_cmd_sandbox(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && strcmp(argv[2], "--help") == 0) {
            puts("usage: tgcrm version\n\nPrint the version and exit.");
            return 0;
        }
        printf("tgcrm %s\n", TGCRM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "tgcrm: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
