/*
 * fake_tg_webhook.c — the fake Telegram's webhook delivery thread.
 *
 * One thread, one libcurl handle, for every bot with a webhook: it posts
 * the oldest pending update of a bot as `application/json` with
 * `X-Telegram-Bot-Api-Secret-Token` when a secret is set, one at a time per
 * bot (so every chat's updates arrive in order — stricter than Telegram,
 * which runs chats in parallel). Any 2xx confirms the update. Otherwise the
 * failure is recorded for getWebhookInfo (last_error_date/message, with the
 * server's texts) and the update retried on the official schedule: the
 * first failure immediately, then after 2, 4, 8 … s, capped at
 * opts.webhook_max_backoff_ms; a Retry-After answer header overrides the
 * wait (0–3600 s). An update is dropped once it is 24 h old. Answer bodies
 * are ignored (Telegram would execute a method call found there).
 *
 * While a partition fault without a method filter is active, nothing is
 * posted: Telegram cannot reach the bot either. The mutex is released for
 * every HTTP exchange; the result is applied only if the webhook and the
 * queue head did not change meanwhile.
 */
#include "check/fake_tg_impl.h"

#include "base/mem.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WH_TIMEOUT_MS 60000L
#define WH_IDLE_POLL_MS 100

struct wh_result {
    long status;
    char reason[96];
    long retry_after;          /* -1 = no header */
    char err[128];             /* "" on an HTTP answer */
};

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct wh_result *r = ud;
    size_t len = size * n;
    if (len > 9 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        if (sp != NULL && (size_t)(sp - p) + 5 < len) {
            const char *reason = sp + 5;   /* after "NNN " */
            size_t rl = len - (size_t)(reason - p);
            while (rl > 0 && (reason[rl - 1] == '\r' || reason[rl - 1] == '\n'))
                rl--;
            snprintf(r->reason, sizeof r->reason, "%.*s", (int)rl, reason);
        }
    } else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        r->retry_after = strtol(p + 12, NULL, 10);
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;                     /* ignored, see the header comment */
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct fake_tg *f = ud;
    return __atomic_load_n(&f->stopping, __ATOMIC_RELAXED) ? 1 : 0;
}

static void post(struct fake_tg *f, CURL *h, const char *url, const char *secret,
                 const char *body, struct wh_result *r)
{
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char sh[300];
    if (secret != NULL) {
        snprintf(sh, sizeof sh, "X-Telegram-Bot-Api-Secret-Token: %s", secret);
        hdrs = curl_slist_append(hdrs, sh);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, WH_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "");
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    } else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(r->err, sizeof r->err, "Can't connect to the webhook");
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(r->err, sizeof r->err, "Read timeout expired");
    } else {
        snprintf(r->err, sizeof r->err, "Webhook connection closed");
    }
    curl_slist_free_all(hdrs);
}

/* Is a whole-API partition active? f->mu held. */
static bool partitioned(struct fake_tg *f, int64_t now)
{
    for (size_t i = 0; i < f->nfaults; i++) {
        const struct ftg_fault *x = &f->faults[i];
        if (x->f.kind == FAKE_TG_PARTITION && x->f.nmethods == 0 && x->left != 0 &&
            (x->until_ms == 0 || now < x->until_ms))
            return true;
    }
    return false;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The next due update of any bot, or NULL. f->mu held. */
static struct ftg_bot *due(struct fake_tg *f, int64_t now)
{
    if (partitioned(f, now))
        return NULL;
    for (size_t i = 0; i < f->nbots; i++) {
        struct ftg_bot *b = f->bots[i];
        if (b->wh_url == NULL)
            continue;
        while (b->qlen > 0 && b->q[b->qhead].expires_ms <= now)
            fake_tg_st_confirm(b, b->q[b->qhead].id + 1);   /* 24 h: dropped */
        if (b->qlen > 0 && b->q[b->qhead].next_try_ms <= now)
            return b;
    }
    return NULL;
}

void *fake_tg_webhook_run(void *arg)
{
    struct fake_tg *f = arg;
    CURL *h = curl_easy_init();
    pthread_mutex_lock(&f->mu);
    while (!f->stopping) {
        int64_t now = clock_now_ms(f->clock);
        struct ftg_bot *b = h != NULL ? due(f, now) : NULL;
        if (b == NULL) {
            fake_tg_wait_until(f, mono_ns() + WH_IDLE_POLL_MS * 1000000LL);
            continue;
        }
        char *url = mem_strdup(b->wh_url);
        char *secret = mem_strdup(b->wh_secret);
        char *body = mem_strdup(b->q[b->qhead].json);
        int64_t uid = b->q[b->qhead].id;
        uint64_t gen = b->wh_gen;
        pthread_mutex_unlock(&f->mu);

        struct wh_result r;
        post(f, h, url, secret, body, &r);
        mem_free(url);
        mem_free(secret);
        mem_free(body);

        pthread_mutex_lock(&f->mu);
        f->n_wh_attempts++;
        if (f->stopping || b->wh_gen != gen || b->qlen == 0 || b->q[b->qhead].id != uid)
            continue;                    /* webhook or queue changed meanwhile */
        if (r.err[0] == '\0' && r.status >= 200 && r.status < 300) {
            fake_tg_st_confirm(b, uid + 1);
            b->delivered++;
            f->n_wh_ok++;
            pthread_cond_broadcast(&f->cv);
            continue;
        }
        struct ftg_update *u = &b->q[b->qhead];
        u->tries++;
        now = clock_now_ms(f->clock);
        mem_free(b->wh_err_msg);
        if (r.err[0] != '\0')
            b->wh_err_msg = mem_strdup(r.err);
        else
            b->wh_err_msg = mem_printf("Wrong response from the webhook: %ld %s", r.status,
                                       r.reason);
        b->wh_err_date = now / 1000;
        int64_t wait = 0;
        if (u->tries >= 2) {
            wait = u->tries > 20 ? f->o.webhook_max_backoff_ms : 1000LL << (u->tries - 1);
            if (wait > f->o.webhook_max_backoff_ms)
                wait = f->o.webhook_max_backoff_ms;
        }
        if (r.retry_after >= 0)
            wait = (r.retry_after > 3600 ? 3600 : r.retry_after) * 1000LL;
        u->next_try_ms = now + wait;
    }
    pthread_mutex_unlock(&f->mu);
    if (h != NULL)
        curl_easy_cleanup(h);
    return NULL;
}
