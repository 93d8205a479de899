/*
 * test_check.c — `tgcrm check` on itself, as a user runs it: the built
 * binary on the small suites of tests/check/, each case in its own sandbox
 * (serve --test-clock as a child, the fake Telegram and the sink
 * in-process, all on 127.0.0.1). A passing suite passes (exit 0); every
 * deliberately wrong scenario fails with what it expected, what it saw,
 * its file:line:column and the seed (exit 1); a suite that cannot run is
 * refused before anything runs (exit 2); one seed gives byte-identical
 * JUnit whatever -j, and another seed another order.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"

static const char *bin(void)
{
    const char *b = getenv("TGCRM_BIN");
    return b && *b ? b : "build/tgcrm";
}

struct ran {
    int status;
    char *out;             /* stdout and stderr together */
};

/* Start argv with stdout and stderr into a new file made from the
 * template path (its descriptor in *fd). */
static pid_t spawn(const char *const *argv, char *path, int *fd)
{
    *fd = mkstemp(path);
    cr_assert_geq(*fd, 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(*fd, 1);
        dup2(*fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Wait for pid (started by spawn) and take its output from fd/path. */
static struct ran collect(pid_t pid, int fd, const char *path)
{
    int st;
    waitpid(pid, &st, 0);
    struct ran r = { .status = WIFEXITED(st) ? WEXITSTATUS(st) : -1 };
    off_t len = lseek(fd, 0, SEEK_END);
    r.out = calloc(1, (size_t)len + 1);
    cr_assert_eq(pread(fd, r.out, (size_t)len, 0), len);
    close(fd);
    unlink(path);
    return r;
}

/* Run `tgcrm check ARGS...` (NULL-terminated), output captured. */
static struct ran check(const char *first, ...)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = bin();
    argv[n++] = "check";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && n < 46; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char path[] = "/tmp/tgcrm-check-out-XXXXXX";
    int fd;
    pid_t pid = spawn(argv, path, &fd);
    return collect(pid, fd, path);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s was not written", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

#define HAS(r, text) cr_assert(strstr((r).out, (text)) != NULL, "no '%s' in:\n%s", (text), (r).out)

TestSuite(check, .timeout = 120);

Test(check, a_passing_suite_exits_0)
{
    struct ran r = check("tests/check/pass.yaml", "--seed", "7", NULL);
    cr_assert_eq(r.status, 0, "%s", r.out);
    HAS(r, "seed 7");
    HAS(r, "1 passed, 0 failed, 0 errored");
    free(r.out);
}

Test(check, wrong_expectations_fail_each_with_its_message)
{
    struct ran r = check("tests/check/fail.yaml", "--seed", "4242", "-j", "2", NULL);
    cr_assert_eq(r.status, 1, "%s", r.out);
    HAS(r, "0 passed, 4 failed, 0 errored");
    /* the wrong assignee: expected and seen, the step's place, the seed */
    HAS(r, "tests/check/fail.yaml:11:9");
    HAS(r, "assignee: want \"bob\", got \"alice\"");
    HAS(r, "seed 4242");
    /* the webhook that never came, with the ones that nearly matched */
    HAS(r, "tests/check/fail.yaml:16:9");
    HAS(r, "type: want \"ticket.escalated\", got \"ticket.created\"");
    /* a REST status */
    HAS(r, "tests/check/fail.yaml:20:9");
    HAS(r, "answers 200");
    HAS(r, "HTTP 404");
    /* eventually gives up with the last poll's view */
    HAS(r, "tests/check/fail.yaml:25:9");
    HAS(r, "status: want \"resolved\", got \"open\"");
    free(r.out);
}

Test(check, eventually_polls_on_the_scenario_clock)
{
    const char *junit = "/tmp/tgcrm-check-polls.xml";
    struct ran r = check("tests/check/fail.yaml", "--scenario", "eventually", "--seed", "1",
                         "--junit", junit, NULL);
    cr_assert_eq(r.status, 1, "%s", r.out);
    char *x = slurp(junit);
    /* within 30s every 10s: at 0, 10, 20 and 30 s, then it gives up */
    cr_assert(strstr(x, "(4 polls)") != NULL, "%s", x);
    cr_assert(strstr(x, "T+00:00:00.000..T+00:00:30.000") != NULL, "%s", x);
    free(x);
    unlink(junit);
    free(r.out);
}

Test(check, a_suite_that_cannot_run_is_refused_before_anything_runs)
{
    char path[] = "/tmp/tgcrm-check-bad-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    char cfg[PATH_MAX];
    cr_assert_not_null(realpath("tests/check/crm.yaml", cfg));
    dprintf(fd,
            "suite: bad\n"
            "config: %s\n"
            "customers:\n"
            "  ann: {telegram_user_id: 5001}\n"
            "scenarios:\n"
            "  - name: typo\n"
            "    expect: never runs\n"
            "    steps:\n"
            "      - reply: {agent: alcie, customer: ann, text: hi}\n",
            cfg);
    close(fd);
    struct ran r = check(path, "tests/check/pass.yaml", NULL);
    cr_assert_eq(r.status, 2, "%s", r.out);
    char want[512];
    snprintf(want, sizeof want, "%s:9:24: 'agent' of reply: no agent 'alcie' in the "
             "configuration (did you mean 'alice'?)", path);
    HAS(r, want);
    cr_assert_null(strstr(r.out, "passed"), "nothing runs: %s", r.out);
    unlink(path);
    free(r.out);
}

Test(check, usage_errors_exit_2)
{
    struct ran r = check("--repeat", "0", "tests/check/pass.yaml", NULL);
    cr_assert_eq(r.status, 2, "%s", r.out);
    HAS(r, "--repeat wants 1..1000");
    free(r.out);
    r = check("/nonexistent/suite.yaml", NULL);
    cr_assert_eq(r.status, 2, "%s", r.out);
    HAS(r, "no such file");
    free(r.out);
}

static char *junit_of(const char *seed, const char *jobs, const char *path)
{
    struct ran r = check("tests/check/order.yaml", "tests/check/pass.yaml", "--seed", seed,
                         "--repeat", "2", "--shuffle", "-j", jobs, "--deterministic",
                         "--junit", path, NULL);
    cr_assert_eq(r.status, 0, "%s", r.out);
    free(r.out);
    char *x = slurp(path);
    unlink(path);
    return x;
}

Test(check, one_seed_one_junit_and_another_seed_another_order)
{
    char *a = junit_of("5", "1", "/tmp/tgcrm-check-a.xml");
    char *b = junit_of("5", "2", "/tmp/tgcrm-check-b.xml");
    char *c = junit_of("6", "2", "/tmp/tgcrm-check-c.xml");
    cr_assert_str_eq(a, b, "the same seed must give the same JUnit at -j 1 and -j 2");
    /* another seed: the unordered block's order differs (and so the file) */
    cr_assert_str_neq(a, c);
    cr_assert(strstr(a, "send [unordered 2→1]") != NULL, "%s", a);
    cr_assert(strstr(c, "send [unordered 4→1]") != NULL, "%s", c);
    /* blocks are expanded step by step, each iteration named */
    cr_assert(strstr(a, "send [3/3] from: c1, text: message {{i}}") != NULL, "%s", a);
    cr_assert(strstr(a, "send [row 2/2] from: c1, text: row {{row.word}}") != NULL, "%s", a);
    free(a);
    free(b);
    free(c);
}

Test(check, the_live_target_skips_what_it_cannot_do)
{
    /* a real CRM on the real clock is the target */
    struct daemon d;
    daemon_init(&d, NULL);
    cr_assert_eq(daemon_start(&d), 0, "serve did not start");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", d.port);
    struct ran r = check("tests/check/live.yaml", "--target", url, "--token", DAEMON_TOKEN,
                         "--seed", "3", NULL);
    cr_assert_eq(r.status, 0, "skipped is not failed: %s", r.out);
    HAS(r, "0 passed, 0 failed, 0 errored, 1 skipped");
    HAS(r, "advance needs the sandbox's test clock");
    free(r.out);
    /* a target that does not answer errors the case at once */
    r = check("tests/check/live.yaml", "--target", "http://127.0.0.1:9", "--token", DAEMON_TOKEN,
              NULL);
    cr_assert_eq(r.status, 1, "%s", r.out);
    HAS(r, "1 errored");
    HAS(r, "GET /healthz");
    free(r.out);
    daemon_stop(&d, SIGTERM);
    daemon_cleanup(&d);
    r = check("tests/check/live.yaml", "--seed", "3", NULL);
    cr_assert_eq(r.status, 0, "%s", r.out);
    HAS(r, "1 passed");
    free(r.out);
}

Test(check, tgcrm_sandbox_serves_until_sigterm)
{
    char out[] = "/tmp/tgcrm-sandbox-out-XXXXXX";
    const char *argv[] = { bin(), "sandbox", "--config", "tests/check/crm.yaml", NULL };
    int fd;
    pid_t pid = spawn(argv, out, &fd);
    /* its first lines name the CRM; wait for them (bounded) */
    char buf[4096] = "";
    for (int i = 0; i < 500 && strstr(buf, "Ctrl-C") == NULL; i++) {
        usleep(10000);
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
    }
    cr_assert(strstr(buf, "crm            http://127.0.0.1:") != NULL, "%s", buf);
    cr_assert(strstr(buf, "fake telegram  http://127.0.0.1:") != NULL, "%s", buf);
    cr_assert(strstr(buf, "webhook sink   http://127.0.0.1:") != NULL, "%s", buf);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sandbox must stop cleanly: %s", buf);
    close(fd);
    unlink(out);
}

/* serve dying mid-case is named as the cause, with how it ended, rather
 * than hidden behind the failed request's "connection refused": 20,000
 * clock moves keep the case busy while the test kills serve. */
Test(check, a_serve_that_dies_is_named_with_its_signal)
{
    char dir[] = "/tmp/tgcrm-check-died-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], cmd[300];
    snprintf(cmd, sizeof cmd, "cp tests/check/crm.yaml %s/crm.yaml", dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/died.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("suite: Serve dies\n"
          "description: serve is killed while the clock moves.\n"
          "config: crm.yaml\n"
          "scenarios:\n"
          "  - name: a long wait\n"
          "    expect: the clock moves a second at a time, 20,000 times\n"
          "    steps:\n"
          "      - repeat:\n"
          "          times: 20000\n"
          "          steps:\n"
          "            - advance: 1s\n", f);
    fclose(f);
    char out[] = "/tmp/tgcrm-check-died-out-XXXXXX";
    const char *argv[] = { bin(), "check", path, NULL };
    int fd;
    pid_t pid = spawn(argv, out, &fd);
    /* serve is the check's child; kill it once it serves (bounded wait) */
    pid_t serve = 0;
    for (int i = 0; i < 1000 && serve <= 0; i++) {
        usleep(10000);
        snprintf(cmd, sizeof cmd, "pgrep -P %d -f ' serve '", (int)pid);
        FILE *p = popen(cmd, "r");
        if (p != NULL) {
            if (fscanf(p, "%d", &serve) != 1)
                serve = 0;
            pclose(p);
        }
    }
    cr_assert_gt(serve, 0, "no serve child of the check");
    usleep(300 * 1000);                       /* let it listen and the case begin */
    kill(serve, SIGKILL);
    struct ran r = collect(pid, fd, out);
    cr_expect_eq(r.status, 1, "%s", r.out);
    HAS(r, "tgcrm serve died (killed by signal 9; log: ");
    free(r.out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
