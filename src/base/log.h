/*
 * log.h — one line per event: human-readable on a TTY, JSON lines otherwise.
 *
 * A log line is an event name plus typed fields, built with log_begin /
 * log_str / log_int / log_end so both output forms come from the same data:
 *
 *     struct log_line l;
 *     log_begin(&l, LOG_INFO, "http.listen");
 *     log_str(&l, "addr", addr);
 *     log_int(&l, "port", port);
 *     log_end(&l);
 *
 * log_msg() is the short form for a line with one free-text "msg" field.
 * Secrets are never passed to the log: callers log names and ids, never
 * tokens or signing keys (see log_redact for URLs that embed a bot token).
 * Thread-safe: each line is written with one write(2).
 */
#ifndef TGCRM_BASE_LOG_H
#define TGCRM_BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_AUTO = 0, LOG_TEXT, LOG_JSON };

/* Configure the process logger: fd (default 2), minimum level and format.
 * LOG_AUTO picks text when fd is a TTY, JSON lines otherwise. */
void log_setup(int fd, enum log_level min, enum log_format fmt);

/* Parse "debug|info|warn|error"; 0 or ERR_INVAL. */
int log_level_parse(const char *s, enum log_level *out);

struct log_line {
    struct buf b;      /* the line being built */
    enum log_level level;
    bool active;       /* false when the level is filtered out */
    bool json;
};

void log_begin(struct log_line *l, enum log_level level, const char *event);
void log_str(struct log_line *l, const char *key, const char *val);  /* NULL → null */
void log_int(struct log_line *l, const char *key, int64_t val);
void log_end(struct log_line *l);

/* One-line helper: event plus a printf-formatted "msg" field. */
void log_msg(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy `in` to `out` (size n) with any "/bot<token>" path part replaced by
 * "/bot<redacted>", so Telegram URLs can be logged. Returns out. */
char *log_redact(const char *in, char *out, size_t n);

#endif
