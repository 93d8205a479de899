/*
 * env.c — a running scenario's reach: REST calls to the CRM (the check
 * subsystem's one libcurl wrapper), the scenario clock, and {{variable}}
 * expansion of step arguments. See env.h.
 */
#include "check/env.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/jx.h"
#include "check/run.h"
#include "check/sink.h"
#include "webhook/hook_sign.h"

/* A CRM answer larger than this is a bug in the CRM or the suite. */
#define ENV_MAX_BODY (64u << 20)
/* One call; the CRM answers reads at once and applies writes before answering. */
#define ENV_TIMEOUT_MS 30000L

int env_open(struct check_env *env, struct err *e)
{
    env->vars = json_object();
    env->curl = curl_easy_init();
    if (env->vars == NULL || env->curl == NULL) {
        env_close(env);
        return err_set(e, ERR_NOMEM, "out of memory starting a scenario");
    }
    return 0;
}

void env_close(struct check_env *env)
{
    if (env->curl != NULL)
        curl_easy_cleanup(env->curl);
    env->curl = NULL;
    json_decref(env->vars);
    env->vars = NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* Standard Webhooks headers for payload signed with secret (and the
 * previous one during a rotation), as the help desk would send them. */
static struct curl_slist *sign(struct check_env *env, const char *secret, const char *previous,
                               const char *payload, struct curl_slist *hdrs, struct err *e)
{
    char id[64], sig[HOOK_SIGN_HEADER_MAX], line[160];
    int64_t ts = (env->clock != NULL ? clock_now_ms(env->clock) : 0) / 1000;
    snprintf(id, sizeof id, "msg_check_%" PRId64, ++env->inbound_seq);
    if (hook_sign_header(secret, previous, id, ts, payload, strlen(payload), sig, e) != 0)
        return NULL;
    snprintf(line, sizeof line, "webhook-id: %s", id);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "webhook-timestamp: %" PRId64, ts);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "webhook-signature: %s", sig);
    return curl_slist_append(hdrs, line);
}

int env_api(struct check_env *env, const char *method, const char *path, json_t *body,
            long *status, json_t **out, struct err *e)
{
    return env_api_signed(env, method, path, body, NULL, NULL, status, out, e);
}

int env_api_signed(struct check_env *env, const char *method, const char *path, json_t *body,
                   const char *secret, const char *previous, long *status, json_t **out,
                   struct err *e)
{
    CURL *h = env->curl;
    struct buf resp, url, auth;
    struct curl_slist *hdrs = NULL;
    char *payload = NULL;
    int rc = 0;
    buf_init(&resp, ENV_MAX_BODY);
    buf_init(&url, 0);
    buf_init(&auth, 0);
    if (out != NULL)
        *out = NULL;
    *status = 0;

    if (buf_printf(&url, "%s%s", env->api_url, path) != 0 ||
        buf_printf(&auth, "Authorization: Bearer %s", env->api_token) != 0) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    hdrs = curl_slist_append(hdrs, buf_str(&auth));
    if (body != NULL || secret != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        payload = body != NULL ? jx_dumps(body) : strdup("");
        if (payload == NULL) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (secret != NULL) {
        struct curl_slist *signed_hdrs = sign(env, secret, previous, payload, hdrs, e);
        if (signed_hdrs == NULL) {
            rc = e->code != 0 ? e->code : err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
        hdrs = signed_hdrs;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ENV_TIMEOUT_MS);
    if (payload != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        rc = err_set(e, ERR_IO, "%s %s: %s", method, path, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (out != NULL && resp.len > 0) {
        rc = jx_parse(resp.p, resp.len, out, e);
        if (rc != 0)
            rc = err_set(e, ERR_INVAL, "%s %s answered %ld with a body that is not JSON",
                         method, path, *status);
    }
out:
    curl_slist_free_all(hdrs);
    free(payload);
    buf_release(&resp);
    buf_release(&url);
    buf_release(&auth);
    return rc;
}

int env_now_ms(struct check_env *env, int64_t *out, struct err *e)
{
    if (env->clock != NULL && !clock_is_manual(env->clock)) {
        *out = clock_now_ms(env->clock);
        return 0;
    }
    long status;
    json_t *r = NULL;
    int rc = env_api(env, "GET", "/v1/test/clock", NULL, &status, &r, e);
    if (rc == 0 && (status != 200 || !json_is_integer(json_object_get(r, "now_ms"))))
        rc = err_set(e, ERR_INVAL, "GET /v1/test/clock answered %ld: is serve running "
                     "with --test-clock?", status);
    if (rc == 0)
        *out = json_integer_value(json_object_get(r, "now_ms"));
    json_decref(r);
    return rc;
}

int env_clock_ms(struct check_env *env, int64_t *out, struct err *e)
{
    int64_t now;
    int rc = env_now_ms(env, &now, e);
    if (rc == 0)
        *out = now - env->t0_ms;
    return rc;
}

/* One move of ours and the CRM's (0 < ms <= ENV_MOVE_MAX); with wait_ms
 * >= 0 the CRM answers when idle (or after wait_ms) into *answer. */
static int move(struct check_env *env, int64_t ms, int64_t wait_ms, json_t **answer,
                struct err *e)
{
    char d[32];
    snprintf(d, sizeof d, "%" PRId64 "ms", ms);
    json_t *body = wait_ms >= 0 ? json_pack("{sssI}", "advance", d, "wait_ms", (json_int_t)wait_ms)
                                : json_pack("{ss}", "advance", d);
    /* ours first: the sandbox is idle, so nothing of the CRM's is on its
     * way; once the CRM's clock moves, what it sends at the new time
     * must arrive at the new time (the sink stamps arrivals) */
    clock_manual_advance(env->clock, ms);
    long status;
    int rc = body == NULL ? err_set(e, ERR_NOMEM, "out of memory")
                          : env_api(env, "POST", "/v1/test/clock", body, &status, answer, e);
    json_decref(body);
    if (rc == 0 && status != 200)
        rc = err_set(e, ERR_INVAL, "POST /v1/test/clock answered %ld", status);
    return rc;
}

int env_move(struct check_env *env, int64_t ms, struct err *e)
{
    if (env->clock == NULL || !clock_is_manual(env->clock))
        return err_set(e, ERR_INVAL, "the clock can only be moved in the sandbox");
    while (ms > 0) {
        int64_t step = ms > ENV_MOVE_MAX ? ENV_MOVE_MAX : ms;
        int rc = move(env, step, -1, NULL, e);
        if (rc != 0)
            return rc;
        ms -= step;
    }
    if (env->sink != NULL)
        sink_clock_advanced(env->sink);
    return 0;
}

int env_advance(struct check_env *env, int64_t ms, struct err *e)
{
    int rc = env_move(env, ms, e);
    if (rc == 0 && env->settle != NULL)
        rc = env->settle(env->settle_ud, e);
    return rc;
}

int env_advance_wait(struct check_env *env, int64_t ms, int64_t wait_ms, json_t **answer,
                     struct err *e)
{
    *answer = NULL;
    if (env->clock == NULL || !clock_is_manual(env->clock))
        return err_set(e, ERR_INVAL, "the clock can only be moved in the sandbox");
    if (ms <= 0 || ms > ENV_MOVE_MAX || wait_ms < 0)
        return err_set(e, ERR_INVAL, "a move of %" PRId64 " ms cannot be made in one request",
                       ms);
    int rc = move(env, ms, wait_ms, answer, e);
    if (rc != 0) {
        json_decref(*answer);
        *answer = NULL;
        return rc;
    }
    if (env->sink != NULL)
        sink_clock_advanced(env->sink);
    return 0;
}

/* The value of "name.a.b" (len bytes) in vars, or NULL. */
static json_t *lookup(json_t *vars, const char *ref, size_t len)
{
    char key[256];
    size_t head = strcspn(ref, ".");
    if (head > len)
        head = len;
    if (head == 0 || head >= sizeof key)
        return NULL;
    memcpy(key, ref, head);
    key[head] = '\0';
    json_t *v = json_object_get(vars, key);
    const char *p = ref + head;
    const char *end = ref + len;
    while (v != NULL && p < end && *p == '.') {
        p++;
        size_t n = strcspn(p, ".");
        if (n > (size_t)(end - p))
            n = (size_t)(end - p);
        if (n == 0 || n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_is_array(v)) {
            char *stop;
            errno = 0;
            unsigned long i = strtoul(key, &stop, 10);
            v = (*stop == '\0' && errno == 0) ? json_array_get(v, i) : NULL;
        } else {
            v = json_object_get(v, key);
        }
        p += n;
    }
    return v;
}

/* {{text(N)}}: the longest text a suite may ask for. */
#define TEXT_MAX 1000000

/*
 * N characters of text made from the case's seed ({{seed}}) and N: words
 * of lower-case ASCII letters separated by single spaces, starting and
 * ending with a letter, so N characters are N bytes and N UTF-16 units.
 * The same N in the same case is always the same text, so an expectation
 * can compare with what a step sent.
 */
static json_t *seeded_text(struct check_env *env, long n)
{
    const char *seed = json_string_value(json_object_get(env->vars, "seed"));
    uint64_t st = (seed ? strtoull(seed, NULL, 10) : 0) ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
    char *t = malloc((size_t)n + 1);
    if (t == NULL)
        return NULL;
    for (long i = 0; i < n; i++) {
        uint64_t x = run_rand(&st);
        bool edge = i == 0 || i == n - 1 || t[i - 1] == ' ';
        t[i] = !edge && x % 6 == 0 ? ' ' : (char)('a' + (x >> 8) % 26);
    }
    t[n] = '\0';
    json_t *v = json_stringn(t, (size_t)n);
    free(t);
    return v;
}

/* The value of a reference: a variable (borrowed from vars) or text(N)
 * (a new value in *made, released by the caller). NULL when it has none. */
static json_t *value_of(struct check_env *env, const char *ref, size_t len, json_t **made)
{
    *made = NULL;
    if (len > 6 && strncmp(ref, "text(", 5) == 0 && ref[len - 1] == ')') {
        const char *b = ref + 5;
        size_t k = len - 6;
        while (k > 0 && *b == ' ')
            b++, k--;
        while (k > 0 && b[k - 1] == ' ')
            k--;
        long n = 0;
        if (k > 0 && strspn(b, "0123456789") >= k) {
            n = k <= 7 ? strtol(b, NULL, 10) : TEXT_MAX + 1L;
        } else {
            json_t *v = lookup(env->vars, b, k);
            if (json_is_integer(v))
                n = (long)json_integer_value(v);
            else if (json_is_string(v))
                n = strtol(json_string_value(v), NULL, 10);
        }
        if (n < 1 || n > TEXT_MAX)
            return NULL;
        return *made = seeded_text(env, n);
    }
    return lookup(env->vars, ref, len);
}

/* The reference inside "{{ ref }}" starting at open (which points at "{{"). */
static void ref_span(const char *open, const char *close, const char **b, size_t *n)
{
    const char *s = open + 2, *t = close;
    while (s < t && *s == ' ')
        s++;
    while (t > s && t[-1] == ' ')
        t--;
    *b = s;
    *n = (size_t)(t - s);
}

int env_expand(struct check_env *env, const char *text, const char **out, struct err *e)
{
    if (strstr(text, "{{") == NULL) {
        *out = text;
        return 0;
    }
    struct buf b;
    buf_init(&b, 0);
    int rc = 0;
    const char *s = text, *open;
    while ((open = strstr(s, "{{")) != NULL) {
        const char *close = strstr(open + 2, "}}");
        if (close == NULL)
            break;   /* the loader refuses this; keep the text as written */
        const char *ref;
        size_t n;
        ref_span(open, close, &ref, &n);
        json_t *made;
        json_t *v = value_of(env, ref, n, &made);
        if (v == NULL) {
            rc = err_set(e, ERR_NOTFOUND, "'{{%.*s}}' has no value here", (int)n, ref);
            goto out;
        }
        int w = buf_append(&b, s, (size_t)(open - s));
        if (w == 0 && json_is_string(v))
            w = buf_append(&b, json_string_value(v), json_string_length(v));
        else if (w == 0)
            w = jx_dump(v, &b);
        json_decref(made);
        if (w != 0)
            goto nomem;
        s = close + 2;
    }
    if (buf_puts(&b, s) != 0)
        goto nomem;
    *out = arena_strndup(env->scratch, buf_str(&b), b.len);
    if (*out == NULL)
        goto nomem;
    goto out;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory");
out:
    buf_release(&b);
    return rc;
}

/* A plain scalar's JSON reading: integer, real, true/false/null, else NULL. */
static json_t *plain_value(const char *s)
{
    if (strcmp(s, "true") == 0)
        return json_true();
    if (strcmp(s, "false") == 0)
        return json_false();
    if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
        return json_null();
    if (*s == '\0')
        return NULL;
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0)
        return json_integer(i);
    errno = 0;
    double d = strtod(s, &end);
    if (*end == '\0' && errno == 0 && strspn(s, "+-0123456789.eE") == strlen(s))
        return json_real(d);
    return NULL;
}

static int scalar_json(struct check_env *env, const struct yml_node *n, json_t **out,
                       struct err *e)
{
    const char *s = n->str;
    /* exactly one "{{x}}": keep x's type */
    if (strncmp(s, "{{", 2) == 0) {
        const char *close = strstr(s + 2, "}}");
        if (close != NULL && close[2] == '\0' && strstr(s + 2, "{{") == NULL) {
            const char *ref;
            size_t len;
            ref_span(s, close, &ref, &len);
            json_t *made;
            json_t *v = value_of(env, ref, len, &made);
            if (v == NULL)
                return err_set(e, ERR_NOTFOUND, "'%s' has no value here", s);
            *out = made != NULL ? made : json_incref(v);
            return 0;
        }
    }
    const char *x;
    int rc = env_expand(env, s, &x, e);
    if (rc != 0)
        return rc;
    *out = n->plain ? plain_value(x) : NULL;
    if (*out == NULL)
        *out = json_string(x);
    return *out != NULL ? 0 : err_set(e, ERR_INVAL, "'%s' is not valid UTF-8", x);
}

int env_json(struct check_env *env, const struct yml_node *n, json_t **out, struct err *e)
{
    *out = NULL;
    if (n == NULL || n->kind == YML_NULL) {
        *out = json_null();
        return 0;
    }
    if (n->kind == YML_SCALAR)
        return scalar_json(env, n, out, e);
    json_t *c = n->kind == YML_MAP ? json_object() : json_array();
    if (c == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        json_t *v;
        int rc = env_json(env, n->items[i], &v, e);
        if (rc == 0 && n->kind == YML_MAP) {
            const char *k;
            rc = env_expand(env, n->keys[i]->str, &k, e);
            if (rc == 0 && json_object_set_new(c, k, v) != 0)
                rc = err_set(e, ERR_NOMEM, "out of memory");
            if (rc != 0 && v != NULL)
                json_decref(v);
        } else if (rc == 0 && json_array_append_new(c, v) != 0) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
        }
        if (rc != 0) {
            json_decref(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

int env_var_set(struct check_env *env, const char *name, json_t *v, struct err *e)
{
    if (v == NULL || json_object_set_new(env->vars, name, v) != 0)
        return err_set(e, ERR_NOMEM, "out of memory setting '%s'", name);
    return 0;
}

const struct scenario_customer *env_customer(const struct check_env *env, const char *name)
{
    for (size_t i = 0; i < env->suite->ncustomers; i++)
        if (strcmp(env->suite->customers[i].name, name) == 0)
            return &env->suite->customers[i];
    return NULL;
}

/* GET path and demand a 200 JSON object. */
static int get_ok(struct check_env *env, const char *path, json_t **out, struct err *e)
{
    long status;
    int rc = env_api(env, "GET", path, NULL, &status, out, e);
    if (rc == 0 && status == 404)
        rc = err_set(e, ERR_NOTFOUND, "GET %s: not found", path);
    else if (rc == 0 && (status != 200 || !json_is_object(*out)))
        rc = err_set(e, ERR_INVAL, "GET %s answered %ld", path, status);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* The highest ticket id (ids ascend: page to the last one) of a customer's
 * Telegram user id, or of everyone with 0; *id = 0 when there is none. */
static int newest(struct check_env *env, int64_t customer, int64_t *id, struct err *e)
{
    char path[128];
    int64_t after = 0;
    *id = 0;
    for (;;) {
        json_t *page;
        if (customer != 0)
            snprintf(path, sizeof path, "/v1/tickets?customer=%" PRId64 "&limit=500&after=%"
                     PRId64, customer, after);
        else
            snprintf(path, sizeof path, "/v1/tickets?limit=500&after=%" PRId64, after);
        int rc = get_ok(env, path, &page, e);
        if (rc != 0)
            return rc;
        json_t *list = json_object_get(page, "tickets");
        size_t n = json_array_size(list);
        if (n > 0)
            *id = json_integer_value(json_object_get(json_array_get(list, n - 1), "id"));
        json_t *next = json_object_get(page, "next_after");
        after = json_is_integer(next) ? json_integer_value(next) : 0;
        json_decref(page);
        if (after == 0)
            return 0;
    }
}

int env_ticket(struct check_env *env, const struct yml_node *args, json_t **out,
               struct err *e)
{
    *out = NULL;
    const struct yml_node *t = yml_get(args, "ticket");
    const struct yml_node *c = yml_get(args, "customer");
    char path[128];
    int64_t id = 0;
    int rc;
    if (t != NULL) {
        json_t *v;
        if ((rc = env_json(env, t, &v, e)) != 0)
            return rc;
        if (json_is_integer(v))
            id = json_integer_value(v);
        else if (json_is_string(v))
            id = strtoll(json_string_value(v), NULL, 10);
        json_decref(v);
        if (id <= 0)
            return err_set(e, ERR_INVAL, "'ticket: %s' is not a ticket id", t->str);
    } else if (c != NULL) {
        const struct scenario_customer *cu = env_customer(env, c->str);
        if (cu == NULL)
            return err_set(e, ERR_INVAL, "unknown customer '%s'", c->str);
        if ((rc = newest(env, cu->tg_user_id, &id, e)) != 0)
            return rc;
        if (id == 0)
            return err_set(e, ERR_NOTFOUND, "customer '%s' has no ticket", c->str);
    } else {
        if ((rc = newest(env, 0, &id, e)) != 0)
            return rc;
        if (id == 0)
            return err_set(e, ERR_NOTFOUND, "the scenario has no ticket yet");
    }
    snprintf(path, sizeof path, "/v1/tickets/%" PRId64, id);
    rc = get_ok(env, path, out, e);
    if (rc == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "ticket %" PRId64 " does not exist", id);
    return rc;
}
