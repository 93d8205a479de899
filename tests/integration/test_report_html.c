/*
 * test_report_html.c — the HTML report in a real browser: the hand-built
 * report (tests/common/report_fixture.c) is written as HTML, Debian's
 * Chromium renders it headless to a PNG, and png_check.py checks that the
 * timeline is drawn there — arrows on many rows, the failing expectation
 * in red, a fault span shaded — rather than blank. Chromium missing is a
 * failure, not a skip: scripts/install-deps.sh installs it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mem.h"
#include "check/report.h"
#include "common/report_fixture.h"

static const char *chromium(void)
{
    static const char *const names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                        "/usr/bin/google-chrome"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (access(names[i], X_OK) == 0)
            return names[i];
    return NULL;
}

/* Run a shell command, its output to log; the exit status. */
static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

Test(report_html, renders_with_a_drawn_timeline, .timeout = 180)
{
    const char *browser = chromium();
    cr_assert_not_null(browser, "chromium is not installed (scripts/install-deps.sh installs it)");
    char dir[] = "/tmp/tgcrm-html-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *html = mem_printf("%s/report.html", dir), *png = mem_printf("%s/shot.png", dir);
    struct check_report *r = report_fixture_new(100, 1767225600000LL);
    struct report_opts o = {.html = html, .out = stderr};
    struct err e = {0};
    cr_assert_eq(report_write_all(r, &o, NULL, &e), 0, "%s", e.msg);
    check_report_free(&r);
    /* root needs --no-sandbox; a private profile keeps runs apart */
    char *cmd = mem_printf("timeout 120 %s --headless --no-sandbox --disable-gpu "
                           "--hide-scrollbars --user-data-dir=%s/profile --window-size=1100,1800 "
                           "--screenshot=%s file://%s > %s/chromium.log 2>&1",
                           browser, dir, png, html, dir);
    int rc = run(cmd);
    char *log = mem_printf("tail -5 %s/chromium.log", dir);
    if (rc != 0 || access(png, R_OK) != 0)
        run(log);
    cr_assert_eq(rc, 0, "chromium exited %d", rc);
    cr_assert_eq(access(png, R_OK), 0, "no screenshot");
    char *check = mem_printf("python3 tests/integration/png_check.py %s", png);
    cr_assert_eq(run(check), 0, "the timeline is not drawn in %s", png);
    if (!getenv("TGCRM_KEEP_SHOT")) {
        char *rm = mem_printf("rm -rf %s", dir);
        run(rm);
        mem_free(rm);
    }
    mem_free(check);
    mem_free(log);
    mem_free(cmd);
    mem_free(png);
    mem_free(html);
}
