/*
 * log.c — the process logger (see log.h).
 */

#include "base/log.h"
#include "base/clock.h"
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level log_min = LOG_INFO;
static bool log_json_mode = true;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_setup(int fd, enum log_level min, enum log_format fmt)
{
    log_fd = fd;
    log_min = min;
    if (fmt == LOG_AUTO)
        log_json_mode = !isatty(fd);
    else
        log_json_mode = fmt == LOG_JSON;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return ERR_INVAL;
}

void log_begin(struct log_line *l, enum log_level level, const char *event)
{
    buf_init(&l->b, 64 * 1024);
    l->level = level;
    l->active = level >= log_min;
    l->json = log_json_mode;
    if (!l->active)
        return;
    char ts[CLOCK_ISO_LEN];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_fmt_iso((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ts);
    if (l->json) {
        buf_printf(&l->b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"", ts,
                   level_names[level]);
        buf_json_escape(&l->b, event, strlen(event));
        buf_putc(&l->b, '"');
    } else {
        buf_printf(&l->b, "%s %-5s %s", ts, level_names[level], event);
    }
}

static bool needs_quotes(const char *v)
{
    if (*v == '\0')
        return true;
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            return true;
    return false;
}

void log_str(struct log_line *l, const char *key, const char *val)
{
    if (!l->active)
        return;
    if (l->json) {
        buf_printf(&l->b, ",\"%s\":", key);
        if (val == NULL) {
            buf_puts(&l->b, "null");
        } else {
            buf_putc(&l->b, '"');
            buf_json_escape(&l->b, val, strlen(val));
            buf_putc(&l->b, '"');
        }
    } else {
        buf_printf(&l->b, " %s=", key);
        if (val == NULL) {
            buf_puts(&l->b, "-");
        } else if (needs_quotes(val)) {
            buf_putc(&l->b, '"');
            buf_json_escape(&l->b, val, strlen(val));
            buf_putc(&l->b, '"');
        } else {
            buf_puts(&l->b, val);
        }
    }
}

void log_int(struct log_line *l, const char *key, int64_t val)
{
    if (!l->active)
        return;
    if (l->json)
        buf_printf(&l->b, ",\"%s\":%lld", key, (long long)val);
    else
        buf_printf(&l->b, " %s=%lld", key, (long long)val);
}

void log_end(struct log_line *l)
{
    if (l->active) {
        if (l->json)
            buf_putc(&l->b, '}');
        if (buf_putc(&l->b, '\n') != 0) {
            /* Over the 64 KiB line cap: say so instead of cutting silently. */
            buf_release(&l->b);
            buf_puts(&l->b, l->json ? "{\"event\":\"log.line_too_long\"}\n"
                                    : "log.line_too_long\n");
        }
        ssize_t off = 0, len = (ssize_t)l->b.len;
        while (off < len) {
            ssize_t n = write(log_fd, l->b.p + off, (size_t)(len - off));
            if (n <= 0)
                break;
            off += n;
        }
    }
    buf_release(&l->b);
}

void log_msg(enum log_level level, const char *event, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct log_line l;
    log_begin(&l, level, event);
    log_str(&l, "msg", msg);
    log_end(&l);
}

char *log_redact(const char *in, char *out, size_t n)
{
    if (n == 0)
        return out;
    const char *bot = strstr(in, "/bot");
    if (bot == NULL) {
        snprintf(out, n, "%s", in);
        return out;
    }
    const char *rest = strchr(bot + 4, '/');
    snprintf(out, n, "%.*s/bot<redacted>%s", (int)(bot - in), in, rest ? rest : "");
    return out;
}
