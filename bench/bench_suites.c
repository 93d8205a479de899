/*
 * bench_suites.c — the built-in suites as a benchmark (issue 7): every
 * suite under suites/ run three times (`tgcrm check --repeat 3`, a fixed
 * seed, two workers: the 2-core target machine) in the sandbox, timed from
 * outside. The scenario time the runs covered comes from the CTRF report
 * (each test's extra.clock_ms), so the ratio says how much faster than the
 * article's real-time plan the same checks ran.
 *
 * The yardstick, measured in the same run: the article's plan runs these
 * checks in real time, so the time it would take is the scenario time the
 * runs covered (plan_s); speedup = plan_s / wall_s. Targets (issue 7, a
 * 2-core machine): wall_s <= 10, speedup >= 1000.
 *
 * Prints: bench suites runs=3 cases=… passed=… wall_s=… plan_s=… speedup=…
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
    const char *bin = argc > 1 ? argv[1] : "build/tgcrm";
    const char *suites = argc > 2 ? argv[2] : "suites";
    char dir[] = "/tmp/tgcrm-bench-suites-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char ctrf[256], log[256];
    snprintf(ctrf, sizeof ctrf, "%s/ctrf.json", dir);
    snprintf(log, sizeof log, "%s/check.log", dir);

    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        (void)f;
        dup2(STDOUT_FILENO, STDERR_FILENO);
        execl(bin, bin, "check", "--repeat", "3", "--seed", "7", "-j", "2", "--quiet",
              "--ctrf", ctrf, suites, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double wall = bench_now() - t0;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (rc == 2 || rc == 127 || rc == 128) {
        fprintf(stderr, "bench suites: tgcrm check exited %d (see %s)\n", rc, log);
        return 1;
    }

    json_error_t je;
    json_t *doc = json_load_file(ctrf, 0, &je);
    json_t *tests = json_object_get(json_object_get(doc, "results"), "tests");
    if (!json_is_array(tests)) {
        fprintf(stderr, "bench suites: no CTRF report in %s\n", ctrf);
        json_decref(doc);
        return 1;
    }
    double plan_ms = 0;
    size_t passed = 0, i;
    json_t *t;
    json_array_foreach(tests, i, t) {
        plan_ms += (double)json_integer_value(
            json_object_get(json_object_get(t, "extra"), "clock_ms"));
        const char *st = json_string_value(json_object_get(t, "status"));
        if (st != NULL && strcmp(st, "passed") == 0)
            passed++;
    }
    printf("bench suites runs=3 cases=%zu passed=%zu wall_s=%.2f plan_s=%.0f speedup=%.0f "
           "wall_target_s=10 speedup_target=1000\n",
           json_array_size(tests), passed, wall, plan_ms / 1000.0,
           wall > 0 ? plan_ms / 1000.0 / wall : 0.0);
    json_decref(doc);
    /* failures are the suites' business (make test reports them); the
     * benchmark measured the run either way */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
