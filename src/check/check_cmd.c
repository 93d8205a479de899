/*
 * check_cmd.c — the `tgcrm check` and `tgcrm sandbox` commands: options in,
 * run.c and the reports out, exit status by convention (0 all passed,
 * 1 a check failed, 2 usage or a suite that does not load).
 */
#include "check/check_cmd.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "check/env.h"
#include "check/fake_tg.h"
#include "check/report.h"
#include "check/run.h"
#include "check/sandbox.h"
#include "check/sink.h"

static const char usage[] =
    "usage: tgcrm check [options] [SUITE|DIR ...]   (default: suites/)\n"
    "\n"
    "  --seed S              the run's seed (default: a random one, printed)\n"
    "  --repeat N            run every scenario N times with derived seeds\n"
    "  --shuffle             run scenarios in an order the seed picks\n"
    "  -j, --jobs N          run up to N scenarios at once (default 1)\n"
    "  --tags a,b            only scenarios with one of these tags\n"
    "  --skip-tags a,b       no scenario with one of these tags\n"
    "  --scenario TEXT       only scenarios whose name contains TEXT (also --filter)\n"
    "  --report-dir DIR      junit.xml, ctrf.json and report.html into DIR (also --report)\n"
    "  --junit FILE, --ctrf FILE, --html FILE   one report to a file\n"
    "  --record-baseline FILE   store the run's observed behaviour\n"
    "  --baseline FILE       compare the run's behaviour with a baseline\n"
    "  --fail-on-change      with --baseline: a change makes the exit status 1\n"
    "  --deterministic       leave wall-clock times out of the reports (same seed, same bytes)\n"
    "  --checklist FILE      the production checklist (default: checklist.yaml by the suites)\n"
    "  --clock-start T       the scenario epoch (default " SANDBOX_EPOCH ")\n"
    "  --tick D              the longest single clock move (default 1s)\n"
    "  --step-timeout D      real time one step may take (default 30s)\n"
    "  --target URL --token T   run against a live tgcrm instead of the sandbox\n"
    "  --fake-listen ADDR    live: where the fake Telegram listens (default 127.0.0.1:0)\n"
    "  --sink-listen ADDR    live: where the webhook sink listens (default 127.0.0.1:0)\n"
    "  -q, --quiet           no progress, only the summary's failures\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0 all passed, 1 a check failed or errored, 2 usage or suite error.\n"
    "docs/scenarios.md describes the suite language, docs/check.md the runner.\n";

enum {
    O_SEED = 256, O_REPEAT, O_SHUFFLE, O_TAGS, O_SKIP_TAGS, O_SCENARIO, O_REPORT_DIR, O_JUNIT,
    O_CTRF, O_HTML, O_RECORD, O_BASELINE, O_FAIL_ON_CHANGE, O_DETERMINISTIC, O_CHECKLIST,
    O_CLOCK_START, O_TICK, O_STEP_TIMEOUT, O_TARGET, O_TOKEN, O_FAKE_LISTEN, O_SINK_LISTEN,
};

/* "a,b,c" → a NULL-terminated array of owned strings. */
static char **split(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **out = mem_alloc((n + 1) * sizeof *out);
    size_t k = 0;
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            out[k] = mem_alloc(len + 1);
            memcpy(out[k++], p, len);
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return out;
}

static void free_list(char **l)
{
    for (size_t i = 0; l != NULL && l[i] != NULL; i++)
        mem_free(l[i]);
    mem_free(l);
}

static uint64_t random_seed(void)
{
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &s, sizeof s) != (ssize_t)sizeof s)
            s = 0;
        close(fd);
    }
    if (s == 0)
        s = (uint64_t)clock_mono_ns() ^ ((uint64_t)getpid() << 32);
    return s % 1000000000000ULL;   /* short enough to type back */
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "tgcrm check: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(tgcrm check --help lists the options)\n");
    return 2;
}

static bool parse_dur(const char *s, int64_t *out)
{
    return clock_parse_duration(s, out) == 0 && *out > 0;
}

struct cli {
    struct run_opts run;
    struct report_opts rep;
    bool fail_on_change, quiet;
    char **tags, **skip_tags;
};

static int parse(int argc, char **argv, struct cli *c)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, O_SEED},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"shuffle", no_argument, NULL, O_SHUFFLE},
        {"jobs", required_argument, NULL, 'j'},
        {"tags", required_argument, NULL, O_TAGS},
        {"tag", required_argument, NULL, O_TAGS},
        {"skip-tags", required_argument, NULL, O_SKIP_TAGS},
        {"scenario", required_argument, NULL, O_SCENARIO},
        {"filter", required_argument, NULL, O_SCENARIO},
        {"report-dir", required_argument, NULL, O_REPORT_DIR},
        {"report", required_argument, NULL, O_REPORT_DIR},
        {"junit", required_argument, NULL, O_JUNIT},
        {"ctrf", required_argument, NULL, O_CTRF},
        {"html", required_argument, NULL, O_HTML},
        {"record-baseline", required_argument, NULL, O_RECORD},
        {"baseline", required_argument, NULL, O_BASELINE},
        {"fail-on-change", no_argument, NULL, O_FAIL_ON_CHANGE},
        {"deterministic", no_argument, NULL, O_DETERMINISTIC},
        {"checklist", required_argument, NULL, O_CHECKLIST},
        {"clock-start", required_argument, NULL, O_CLOCK_START},
        {"tick", required_argument, NULL, O_TICK},
        {"step-timeout", required_argument, NULL, O_STEP_TIMEOUT},
        {"target", required_argument, NULL, O_TARGET},
        {"token", required_argument, NULL, O_TOKEN},
        {"fake-listen", required_argument, NULL, O_FAKE_LISTEN},
        {"sink-listen", required_argument, NULL, O_SINK_LISTEN},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct run_opts *r = &c->run;
    bool seeded = false;
    char *end;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "j:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case O_SEED:
            r->seed = strtoull(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || *optarg == '-')
                return bad("--seed wants an unsigned number, not '%s'", optarg);
            seeded = true;
            break;
        case O_REPEAT:
            r->repeat = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || r->repeat < 1 || r->repeat > 1000)
                return bad("--repeat wants 1..1000, not '%s'", optarg);
            break;
        case 'j':
            r->jobs = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || r->jobs < 1 || r->jobs > 64)
                return bad("-j wants 1..64, not '%s'", optarg);
            break;
        case O_SHUFFLE: r->shuffle = true; break;
        case O_TAGS: free_list(c->tags); c->tags = split(optarg); break;
        case O_SKIP_TAGS: free_list(c->skip_tags); c->skip_tags = split(optarg); break;
        case O_SCENARIO: r->filter = optarg; break;
        case O_REPORT_DIR: c->rep.dir = optarg; break;
        case O_JUNIT: c->rep.junit = optarg; break;
        case O_CTRF: c->rep.ctrf = optarg; break;
        case O_HTML: c->rep.html = optarg; break;
        case O_RECORD: c->rep.record_baseline = optarg; break;
        case O_BASELINE: c->rep.baseline = optarg; break;
        case O_FAIL_ON_CHANGE: c->fail_on_change = true; break;
        case O_DETERMINISTIC: c->rep.deterministic = true; break;
        case O_CHECKLIST: r->checklist = optarg; break;
        case O_CLOCK_START:
            if (clock_parse_iso(optarg, &r->clock_start_ms) != 0)
                return bad("--clock-start wants an RFC 3339 time, not '%s'", optarg);
            break;
        case O_TICK:
            if (!parse_dur(optarg, &r->tick_ms))
                return bad("--tick wants a duration above 0 such as 1s, not '%s'", optarg);
            break;
        case O_STEP_TIMEOUT:
            if (!parse_dur(optarg, &r->step_timeout_ms))
                return bad("--step-timeout wants a duration above 0, not '%s'", optarg);
            break;
        case O_TARGET: r->target = optarg; break;
        case O_TOKEN: r->token = optarg; break;
        case O_FAKE_LISTEN: r->fake_listen = optarg; break;
        case O_SINK_LISTEN: r->sink_listen = optarg; break;
        case 'q': c->quiet = true; break;
        case 'h': fputs(usage, stdout); return 1;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (r->target != NULL && r->token == NULL)
        return bad("--target needs --token (the CRM's API token)%s", "");
    if (r->target == NULL && (r->token || r->fake_listen || r->sink_listen))
        return bad("--token, --fake-listen and --sink-listen belong to --target%s", "");
    if (c->fail_on_change && c->rep.baseline == NULL)
        return bad("--fail-on-change needs --baseline FILE%s", "");
    if (!seeded)
        r->seed = random_seed();
    r->paths = (const char *const *)(argv + optind);
    r->npaths = (size_t)(argc - optind);
    r->tags = (const char *const *)c->tags;
    r->skip_tags = (const char *const *)c->skip_tags;
    return 0;
}

/* SIGINT, SIGTERM, SIGHUP: taken by one thread (blocked everywhere else,
 * workers included), which removes every sandbox before the process goes:
 * an interrupted run leaves no daemon and no store in memory behind. */
static sigset_t stop_sigs;

static void *on_stop(void *arg)
{
    (void)arg;
    int sig = 0;
    if (sigwait(&stop_sigs, &sig) != 0)
        return NULL;
    fprintf(stderr, "\ntgcrm check: interrupted (signal %d): removing the sandboxes\n", sig);
    sandbox_abandon_all();
    _exit(128 + sig);
}

static void take_stop_signals(void)
{
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, on_stop, NULL) == 0)
        pthread_detach(th);
}

int check_cmd_main(int argc, char **argv)
{
    static const char *const default_paths[] = { "suites" };
    struct cli c = {
        .run = { .repeat = 1, .jobs = 1, .tgcrm = "/proc/self/exe", .tick_ms = 1000,
                 .step_timeout_ms = 30000 },
    };
    clock_parse_iso(SANDBOX_EPOCH, &c.run.clock_start_ms);
    int rc = parse(argc, argv, &c);
    if (rc != 0) {
        free_list(c.tags);
        free_list(c.skip_tags);
        return rc == 1 ? 0 : rc;
    }
    if (c.run.npaths == 0) {
        c.run.paths = default_paths;
        c.run.npaths = 1;
    }
    signal(SIGPIPE, SIG_IGN);
    take_stop_signals();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* the in-process fake and sink log every request, and warn of the
     * connections the scenarios' faults drop on purpose: errors only */
    log_setup(2, LOG_ERROR, LOG_AUTO);
    bool tty = isatty(fileno(stderr));
    fprintf(stderr, "tgcrm check: seed %" PRIu64 " (replay with --seed %" PRIu64 ")%s%s\n",
            c.run.seed, c.run.seed, c.run.target ? ", target " : "",
            c.run.target ? c.run.target : "");
    c.run.progress = c.quiet ? NULL : stderr;
    c.run.progress_tty = tty;

    struct run_result res;
    struct err e = {0};
    int exit_code;
    rc = run_check(&c.run, &res, &e);
    if (rc != 0) {
        fprintf(stderr, "%s\n", e.msg);
        exit_code = 2;
        goto out;
    }
    report_print_summary(stdout, res.report, isatty(fileno(stdout)));
    size_t changes = 0;
    c.rep.out = stderr;
    if (report_write_all(res.report, &c.rep, &changes, &e) != 0) {
        fprintf(stderr, "tgcrm check: %s\n", e.msg);
        exit_code = 2;
    } else {
        exit_code = report_exit_code(res.report, changes, c.fail_on_change);
    }
    if (exit_code != 0)
        fprintf(stderr, "tgcrm check: seed %" PRIu64 " (replay with --seed %" PRIu64 ")\n",
                c.run.seed, c.run.seed);
    run_result_release(&res);
out:
    free_list(c.tags);
    free_list(c.skip_tags);
    curl_global_cleanup();
    return exit_code;
}

/* ---- tgcrm sandbox ------------------------------------------------------------------------ */

static const char sandbox_usage[] =
    "usage: tgcrm sandbox --config FILE [--clock-start T]\n"
    "\n"
    "Start the CRM on FILE (store, API, Telegram and webhooks pointed at this\n"
    "sandbox: docs/check.md, \"Sandbox\"), with the fake Telegram and the webhook\n"
    "sink in this process on a manual clock, print their addresses, and run until\n"
    "Ctrl-C. Move the clock with POST /v1/test/clock on the CRM.\n";

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

int check_cmd_sandbox(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"clock-start", required_argument, NULL, O_CLOCK_START},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int64_t start = 0;
    clock_parse_iso(SANDBOX_EPOCH, &start);
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case O_CLOCK_START:
            if (clock_parse_iso(optarg, &start) != 0) {
                fprintf(stderr, "tgcrm sandbox: --clock-start: not an RFC 3339 time: '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': fputs(sandbox_usage, stdout); return 0;
        default: fputs(sandbox_usage, stderr); return 2;
        }
    }
    if (config == NULL || optind != argc) {
        fputs(sandbox_usage, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct scenario_suite suite = { .name = "sandbox", .path = config,
                                    .config_path = (char *)config };
    struct sandbox_opts so = { .tgcrm = "/proc/self/exe", .clock_start_ms = start };
    struct sandbox *sb = NULL;
    struct err e = {0};
    if (sandbox_start(&suite, &so, &sb, &e) != 0) {
        fprintf(stderr, "tgcrm sandbox: %s\n", e.msg);
        curl_global_cleanup();
        return e.code == ERR_CONFIG ? 2 : 1;
    }
    printf("crm            %s   (token %s)\n", sb->api_url, sb->api_token);
    printf("fake telegram  http://127.0.0.1:%d   (docs/fake-telegram.md)\n", fake_tg_port(sb->tg));
    printf("webhook sink   http://127.0.0.1:%d   (docs/sink.md)\n", sink_port(sb->sink));
    printf("configuration  %s\nlog            %s\nCtrl-C stops all three.\n", sb->config_path,
           sb->log_path);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* the fake and the sink follow the CRM's clock, however it is moved */
    struct check_env env = { .api_url = sb->api_url, .api_token = sb->api_token };
    int code = env_open(&env, &e) == 0 ? 0 : 1;
    while (!stopping && code == 0) {
        if (!sandbox_alive(sb)) {
            fprintf(stderr, "tgcrm sandbox: serve exited (log: %s)\n", sb->log_path);
            code = 1;
            break;
        }
        int64_t now;
        if (env_now_ms(&env, &now, &e) == 0 && now > clock_now_ms(sb->clock)) {
            clock_manual_set(sb->clock, now);
            sink_clock_advanced(sb->sink);
        }
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
    env_close(&env);
    sandbox_free(&sb);
    curl_global_cleanup();
    return code;
}
