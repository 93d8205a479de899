/*
 * tg_stub.c — see tg_stub.h.
 */
#include "common/tg_stub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_server.h"

struct canned {
    char *method;
    int status;
    char *body;
    int delay_ms;
    struct canned *next;
};

struct call {
    char *method;
    char *body;
};

struct tg_stub {
    struct http_server *srv;
    char base[64];
    pthread_mutex_t mu;
    struct canned *head, *tail;
    struct call *calls;
    size_t ncalls, cap;
    char *last_token;
    int park_ms;
    long next_id;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Take the first canned answer for method, or NULL. */
static struct canned *take(struct tg_stub *s, const char *method)
{
    struct canned *prev = NULL;
    for (struct canned *c = s->head; c; prev = c, c = c->next)
        if (strcmp(c->method, method) == 0) {
            if (prev)
                prev->next = c->next;
            else
                s->head = c->next;
            if (s->tail == c)
                s->tail = prev;
            return c;
        }
    return NULL;
}

static void handler(struct http_req *req, struct http_resp *resp, void *ud)
{
    struct tg_stub *s = ud;
    const char *p = req->path;
    if (strncmp(p, "/bot", 4) != 0 || strchr(p + 4, '/') == NULL) {
        resp->status = 404;
        buf_puts(&resp->body, "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}");
        return;
    }
    const char *slash = strchr(p + 4, '/');
    const char *method = slash + 1;
    pthread_mutex_lock(&s->mu);
    free(s->last_token);
    s->last_token = strndup(p + 4, (size_t)(slash - (p + 4)));
    if (s->ncalls == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->calls = realloc(s->calls, s->cap * sizeof *s->calls);
    }
    s->calls[s->ncalls].method = strdup(method);
    s->calls[s->ncalls].body = strdup(req->body);
    s->ncalls++;
    struct canned *c = take(s, method);
    long id = ++s->next_id;
    int park = s->park_ms;
    pthread_mutex_unlock(&s->mu);

    resp->content_type = "application/json";
    if (c != NULL) {
        if (c->delay_ms > 0)
            sleep_ms(c->delay_ms);
        resp->status = c->status;
        buf_puts(&resp->body, c->body);
        const char *ra = strstr(c->body, "\"retry_after\":");
        if (c->status == 429 && ra != NULL) {
            char v[16];
            snprintf(v, sizeof v, "%d", atoi(ra + 14));
            http_resp_header(resp, "Retry-After", v);
        }
        free(c->method);
        free(c->body);
        free(c);
        return;
    }
    resp->status = 200;
    if (strcmp(method, "sendMessage") == 0)
        buf_printf(&resp->body, "{\"ok\":true,\"result\":{\"message_id\":%ld,\"date\":1,"
                   "\"chat\":{\"id\":1,\"type\":\"private\"},\"text\":\"x\"}}", id);
    else if (strcmp(method, "copyMessage") == 0)
        buf_printf(&resp->body, "{\"ok\":true,\"result\":{\"message_id\":%ld}}", id);
    else if (strcmp(method, "createForumTopic") == 0)
        buf_printf(&resp->body, "{\"ok\":true,\"result\":{\"message_thread_id\":%ld,"
                   "\"name\":\"t\",\"icon_color\":7322096}}", id);
    else if (strcmp(method, "getUpdates") == 0) {
        sleep_ms(park);
        buf_puts(&resp->body, "{\"ok\":true,\"result\":[]}");
    } else
        buf_puts(&resp->body, "{\"ok\":true,\"result\":true}");
}

struct tg_stub *tg_stub_start(void)
{
    struct tg_stub *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->park_ms = 100;
    struct http_server_opts o = {.listen = "127.0.0.1:0", .threads = 4,
                                 .max_body = 1 << 20, .thread_per_connection = true};
    struct err e = {0};
    if (http_server_start_opts(&o, handler, s, &s->srv, &e) != 0) {
        fprintf(stderr, "tg_stub: %s\n", e.msg);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", http_server_port(s->srv));
    return s;
}

void tg_stub_free(struct tg_stub **sp)
{
    struct tg_stub *s = *sp;
    if (s == NULL)
        return;
    http_server_free(&s->srv);
    while (s->head) {
        struct canned *c = s->head;
        s->head = c->next;
        free(c->method);
        free(c->body);
        free(c);
    }
    for (size_t i = 0; i < s->ncalls; i++) {
        free(s->calls[i].method);
        free(s->calls[i].body);
    }
    free(s->calls);
    free(s->last_token);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *sp = NULL;
}

const char *tg_stub_base(struct tg_stub *s) { return s->base; }
int tg_stub_port(struct tg_stub *s) { return http_server_port(s->srv); }

void tg_stub_push_delayed(struct tg_stub *s, const char *method, int status,
                          const char *body, int delay_ms)
{
    struct canned *c = calloc(1, sizeof *c);
    c->method = strdup(method);
    c->status = status;
    c->body = strdup(body);
    c->delay_ms = delay_ms;
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = c;
    else
        s->head = c;
    s->tail = c;
    pthread_mutex_unlock(&s->mu);
}

void tg_stub_push(struct tg_stub *s, const char *method, int status, const char *body)
{
    tg_stub_push_delayed(s, method, status, body, 0);
}

void tg_stub_set_park(struct tg_stub *s, int park_ms)
{
    pthread_mutex_lock(&s->mu);
    s->park_ms = park_ms;
    pthread_mutex_unlock(&s->mu);
}

size_t tg_stub_count(struct tg_stub *s, const char *method)
{
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (size_t i = 0; i < s->ncalls; i++)
        if (method == NULL || strcmp(s->calls[i].method, method) == 0)
            n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

char *tg_stub_body(struct tg_stub *s, const char *method, size_t i)
{
    char *out = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t k = 0; k < s->ncalls; k++)
        if (method == NULL || strcmp(s->calls[k].method, method) == 0) {
            if (i == 0) {
                out = strdup(s->calls[k].body);
                break;
            }
            i--;
        }
    pthread_mutex_unlock(&s->mu);
    return out;
}

char *tg_stub_last_token(struct tg_stub *s)
{
    pthread_mutex_lock(&s->mu);
    char *t = s->last_token ? strdup(s->last_token) : NULL;
    pthread_mutex_unlock(&s->mu);
    return t;
}
