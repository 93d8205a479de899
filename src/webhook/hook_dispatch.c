/*
 * hook_dispatch.c — the dispatcher's pure delivery policy (hook_dispatch.h).
 *
 * No I/O and no clock: every time is passed in, so the policy is tested
 * without a network and the dispatcher (hook_deliver.c) stays a thin loop
 * around it.
 */
#include "webhook/hook_dispatch.h"

#include <string.h>
#include <time.h>

bool hook_dispatch_wants(const struct cfg_webhook *h, const char *type)
{
    if (h == NULL || type == NULL)
        return false;
    if (h->nevents == 0)
        return true;
    for (size_t i = 0; i < h->nevents; i++)
        if (h->events[i] != NULL && strcmp(h->events[i], type) == 0)
            return true;
    return false;
}

enum hook_outcome hook_dispatch_classify(long status)
{
    if (status >= 200 && status <= 299)
        return HOOK_SUCCEEDED;
    if (status == 410)
        return HOOK_DISABLE;
    return HOOK_RETRY;
}

/* n decimal digits at s; -1 unless all are digits. */
static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* IMF-fixdate, the one HTTP date format senders must use (RFC 9110 5.6.7):
 * "Sun, 06 Nov 1994 08:49:37 GMT". Fixed positions, so no scanf. */
static bool parse_http_date(const char *s, int64_t *out_ms)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
        return false;
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (strncmp(s + 8, months + 3 * i, 3) == 0)
            mon = i;
    struct tm tm = {0};
    tm.tm_mday = num(s + 5, 2);
    tm.tm_year = num(s + 12, 4);
    tm.tm_hour = num(s + 17, 2);
    tm.tm_min = num(s + 20, 2);
    tm.tm_sec = num(s + 23, 2);
    if (mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 1970 ||
        tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
        tm.tm_sec < 0 || tm.tm_sec > 60)
        return false;
    tm.tm_mon = mon;
    tm.tm_year -= 1900;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out_ms = (int64_t)t * 1000;
    return true;
}

int64_t hook_dispatch_retry_after(const char *value, int64_t now_ms)
{
    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0)
        return -1;
    int64_t delay = 0;
    if (value[0] >= '0' && value[0] <= '9') {
        int64_t secs = 0;
        for (size_t i = 0; i < n; i++) {
            if (value[i] < '0' || value[i] > '9')
                return -1;
            if (secs < HOOK_DISPATCH_RETRY_AFTER_MAX_MS / 1000 + 1)
                secs = secs * 10 + (value[i] - '0');
        }
        delay = secs * 1000;
    } else {
        char date[32];
        int64_t at = 0;
        if (n >= sizeof date)
            return -1;
        memcpy(date, value, n);
        date[n] = '\0';
        if (!parse_http_date(date, &at))
            return -1;
        delay = at > now_ms ? at - now_ms : 0;
    }
    return delay > HOOK_DISPATCH_RETRY_AFTER_MAX_MS ? HOOK_DISPATCH_RETRY_AFTER_MAX_MS : delay;
}

int64_t hook_dispatch_next_attempt(const struct cfg_webhook *h, int attempts,
                                   int64_t now_ms, int64_t retry_after_ms)
{
    if (h == NULL || attempts < 1 || (size_t)attempts > h->nretry)
        return -1;
    int64_t delay = h->retry_ms[attempts - 1];
    int64_t ra = retry_after_ms > HOOK_DISPATCH_RETRY_AFTER_MAX_MS
                     ? HOOK_DISPATCH_RETRY_AFTER_MAX_MS : retry_after_ms;
    if (ra > delay)
        delay = ra;
    if (delay < 0)
        delay = 0;
    return now_ms + delay;
}
