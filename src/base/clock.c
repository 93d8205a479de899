/*
 * clock.c — real and manual clocks, ISO-8601 and duration formats.
 */

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct clock {
    bool manual;
    pthread_mutex_t mu;   /* guards now_ms of the manual clock */
    int64_t now_ms;
};

struct clock *clock_real_new(void)
{
    struct clock *c = mem_alloc(sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

struct clock *clock_manual_new(int64_t start_ms)
{
    struct clock *c = clock_real_new();
    c->manual = true;
    c->now_ms = start_ms;
    return c;
}

void clock_free(struct clock **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    pthread_mutex_destroy(&(*cp)->mu);
    mem_free(*cp);
    *cp = NULL;
}

int64_t clock_now_ms(struct clock *c)
{
    if (c->manual) {
        pthread_mutex_lock(&c->mu);
        int64_t now = c->now_ms;
        pthread_mutex_unlock(&c->mu);
        return now;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool clock_is_manual(const struct clock *c)
{
    return c->manual;
}

int clock_manual_set(struct clock *c, int64_t at_ms)
{
    if (!c->manual)
        return ERR_INVAL;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (at_ms < c->now_ms)
        rc = ERR_INVAL;
    else
        c->now_ms = at_ms;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int clock_manual_advance(struct clock *c, int64_t delta_ms)
{
    if (!c->manual || delta_ms < 0)
        return ERR_INVAL;
    pthread_mutex_lock(&c->mu);
    c->now_ms += delta_ms;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* Without gmtime_r and printf: domain events format several instants each,
 * and glibc's gmtime_r takes the time-zone lock on every call. */
char *clock_fmt_iso(int64_t ms, char *out)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rest = ms - days * 86400000;          /* 0 .. 86399999 */
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {                      /* outside RFC 3339: clamp */
        y = y < 0 ? 0 : 9999;
    }
    char *p = out;
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rest / 3600000, 2);
    *p++ = ':';
    p = put_digits(p, rest / 60000 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rest / 1000 % 60, 2);
    *p++ = '.';
    p = put_digits(p, rest % 1000, 3);
    *p++ = 'Z';
    *p = '\0';
    return out;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return ERR_INVAL;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

int clock_parse_iso(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int y, mo, d, h, mi, se, ms = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return ERR_INVAL;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &se))
        return ERR_INVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return ERR_INVAL;
    if (*p == '.') {
        p++;
        int scale = 100, n = 0;
        while (isdigit((unsigned char)*p)) {
            ms += (*p - '0') * scale;
            scale /= 10;
            p++;
            n++;
        }
        if (n == 0)
            return ERR_INVAL;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            return ERR_INVAL;
        off = sign * ((int64_t)oh * 3600 + om * 60);
    } else {
        return ERR_INVAL;
    }
    if (*p != '\0')
        return ERR_INVAL;
    int64_t secs = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int clock_parse_duration(const char *s, int64_t *out_ms)
{
    if (s == NULL || *s == '\0')
        return ERR_INVAL;
    const char *p = s;
    int64_t total = 0;
    bool any = false;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return ERR_INVAL;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (v < 0 || v > 1000000000LL)
            return ERR_INVAL;
        p = end;
        int64_t unit;
        if (*p == '\0') {
            if (any)
                return ERR_INVAL;   /* "1h30" is ambiguous */
            unit = 1000;
        } else if (strncmp(p, "ms", 2) == 0) {
            unit = 1; p += 2;
        } else if (*p == 's') {
            unit = 1000; p++;
        } else if (*p == 'm') {
            unit = 60000; p++;
        } else if (*p == 'h') {
            unit = 3600000; p++;
        } else if (*p == 'd') {
            unit = 86400000; p++;
        } else {
            return ERR_INVAL;
        }
        total += (int64_t)v * unit;
        any = true;
    }
    *out_ms = total;
    return 0;
}
