/*
 * test_log.c — both log formats and token redaction.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

static char *capture(enum log_format fmt)
{
    char path[] = "/tmp/tgcrm-log-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    log_setup(fd, LOG_INFO, fmt);
    struct log_line l;
    log_begin(&l, LOG_INFO, "http.request");
    log_str(&l, "path", "/v1/tickets");
    log_str(&l, "note", "has space \"quoted\"");
    log_int(&l, "status", 200);
    log_str(&l, "none", NULL);
    log_end(&l);
    log_begin(&l, LOG_DEBUG, "filtered.out");
    log_end(&l);
    static char buf[4096];
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    log_setup(2, LOG_INFO, LOG_AUTO);
    return buf;
}

Test(log, json_lines)
{
    char *s = capture(LOG_JSON);
    cr_assert(strstr(s, "\"level\":\"info\",\"event\":\"http.request\"") != NULL, "%s", s);
    cr_assert(strstr(s, "\"path\":\"/v1/tickets\"") != NULL, "%s", s);
    cr_assert(strstr(s, "\"note\":\"has space \\\"quoted\\\"\"") != NULL, "%s", s);
    cr_assert(strstr(s, "\"status\":200") != NULL, "%s", s);
    cr_assert(strstr(s, "\"none\":null}") != NULL, "%s", s);
    cr_assert(strstr(s, "filtered.out") == NULL);
    cr_assert_eq(strchr(s, '\n'), s + strlen(s) - 1, "exactly one line");
}

Test(log, text_lines)
{
    char *s = capture(LOG_TEXT);
    cr_assert(strstr(s, "info  http.request path=/v1/tickets") != NULL, "%s", s);
    cr_assert(strstr(s, "status=200") != NULL, "%s", s);
    cr_assert(strstr(s, "note=\"has space \\\"quoted\\\"\"") != NULL, "%s", s);
}

Test(log, redacts_bot_tokens)
{
    char out[128];
    log_redact("http://127.0.0.1:8081/bot123:ABC-secret/getUpdates", out, sizeof out);
    cr_assert_str_eq(out, "http://127.0.0.1:8081/bot<redacted>/getUpdates");
    log_redact("http://x/healthz", out, sizeof out);
    cr_assert_str_eq(out, "http://x/healthz");
}

Test(log, levels)
{
    enum log_level l;
    cr_assert_eq(log_level_parse("WARN", &l), 0);
    cr_assert_eq(l, LOG_WARN);
    cr_assert_neq(log_level_parse("loud", &l), 0);
}
