/*
 * test_hook_deliver.c — the dispatcher in-process (so the sanitizer build
 * watches its memory): the engine writes events to a temporary SQLite file,
 * its commit hook wakes the dispatcher, which delivers to a libmicrohttpd
 * receiver in this process; every signature is checked with
 * hook_sign_verify on the manual clock. Covers delivery and the attempt
 * log, retries and the dead-letter list, replay, 410 and re-enabling,
 * resuming after a restart, reload by endpoint name, and commands naming
 * what does not exist.
 */
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "engine/engine.h"
#include "store/store.h"
#include "webhook/hook_deliver.h"
#include "webhook/hook_sign.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define T0 1767600000000LL

/* ---- the receiver ---------------------------------------------------------------- */

struct got {
    char id[64];
    char path[32];
    bool verified;
};

static struct MHD_Daemon *mhd;
static int port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct got got[512];
static size_t ngot;
static atomic_int answer = 200;
static struct clock *clk;

struct upload {
    char *body;
    size_t len;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    (void)cls;
    (void)method;
    (void)version;
    struct upload *u = *state;
    if (u == NULL) {
        *state = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*size > 0) {
        u->body = realloc(u->body, u->len + *size + 1);
        memcpy(u->body + u->len, data, *size);
        u->len += *size;
        u->body[u->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    struct hook_sign_headers h = {
        .id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id"),
        .timestamp = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp"),
        .signature = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature"),
    };
    const char *secrets[] = {SECRET};
    struct err e = {0};
    bool ok = hook_sign_verify(secrets, 1, &h, u->body ? u->body : "", u->len,
                               clock_now_ms(clk) / 1000, 0, &e) == 0;
    pthread_mutex_lock(&mu);
    if (ngot < sizeof got / sizeof got[0]) {
        snprintf(got[ngot].id, sizeof got[ngot].id, "%s", h.id ? h.id : "");
        snprintf(got[ngot].path, sizeof got[ngot].path, "%s", url);
        got[ngot].verified = ok;
        ngot++;
    }
    pthread_mutex_unlock(&mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"ok",
                                                             MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)atomic_load(&answer), r);
    MHD_destroy_response(r);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    struct upload *u = *state;
    if (u != NULL) {
        free(u->body);
        free(u);
    }
    *state = NULL;
}

static size_t received(void)
{
    pthread_mutex_lock(&mu);
    size_t n = ngot;
    pthread_mutex_unlock(&mu);
    return n;
}

/* ---- the desk ----------------------------------------------------------------------- */

static char dir[64];
static struct cfg *c;
static struct store *w;
static struct engine *en;
static struct hook_deliver *d;
static struct store *ro;
static struct arena *a;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct cfg *load(const char *hooks)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "store: {path: %s/t.db, synchronous: normal}\n"
             "http: {api_tokens: [{name: t, token: test-token-0123456789}]}\n"
             "agents: [{id: alice, telegram_user_id: 9001, groups: [general]}]\n"
             "webhooks:\n%s", dir, hooks);
    struct cfg *out = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("t.yaml", yaml, strlen(yaml), &out, &e), 0, "%s", e.msg);
    return out;
}

static char hooks_main[512];

static void start_dispatcher(void)
{
    struct err e = {0};
    cr_assert_eq(hook_deliver_new(c, clk, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(hook_deliver_start(d, &e), 0, "%s", e.msg);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tgcrm-hookdel-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    ngot = 0;
    atomic_store(&answer, 200);
    clk = clock_manual_new(T0);
    mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                           on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                           MHD_OPTION_END);
    cr_assert_not_null(mhd);
    port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
    snprintf(hooks_main, sizeof hooks_main,
             "  - {name: main, url: \"http://127.0.0.1:%d/main\", secret: \"" SECRET "\","
             " retry: [5s]}\n", port);
    c = load(hooks_main);
    struct err e = {0};
    cr_assert_eq(store_open(&c->store, STORE_RW, &w, &e), 0, "%s", e.msg);
    start_dispatcher();
    store_set_commit_hook(w, hook_deliver_on_commit, d);
    cr_assert_eq(engine_new(c, w, clk, &en, &e), 0, "%s", e.msg);
    cr_assert_eq(store_open(&c->store, STORE_RO, &ro, &e), 0, "%s", e.msg);
    a = arena_new(0);
}

static void teardown(void)
{
    engine_free(&en);
    hook_deliver_free(&d);
    store_close(&ro);
    arena_free(&a);
    cfg_unref(&c);
    MHD_stop_daemon(mhd);
    clock_free(&clk);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(hook_deliver, .init = setup, .fini = teardown, .timeout = 60);

/* A customer message through the engine (commits: the hook wakes d). */
static void customer_says(int64_t user, const char *text)
{
    struct engine_event ev = {.type = ENGINE_CUSTOMER_MESSAGE, .customer.tg_user_id = user,
                              .customer.first_name = "Ann", .text = text};
    struct engine_result r;
    struct err e = {0};
    cr_assert_eq(engine_apply_batch(en, &ev, &r, 1, &e), 0, "%s", e.msg);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
}

static bool wait_received(size_t n)
{
    for (int i = 0; i < 1000 && received() < n; i++)
        msleep(10);
    return received() >= n;
}

static struct hook_counts counts(void)
{
    struct hook_counts k;
    struct err e = {0};
    cr_assert_eq(store_hook_counts(ro, "main", &k, &e), 0, "%s", e.msg);
    return k;
}

/* Wait until the store shows `state` deliveries counting n. */
static bool wait_count(const char *state, int64_t n)
{
    for (int i = 0; i < 1000; i++) {
        struct hook_counts k = counts();
        int64_t v = strcmp(state, "dead") == 0 ? k.dead
                  : strcmp(state, "pending") == 0 ? k.pending : k.succeeded;
        if (v == n)
            return true;
        msleep(10);
    }
    return false;
}

static void advance(int64_t ms)
{
    cr_assert_eq(clock_manual_advance(clk, ms), 0);
    hook_deliver_kick(d);
}

Test(hook_deliver, delivers_signed_and_records_attempts)
{
    customer_says(1, "hello");
    customer_says(2, "hi");
    customer_says(1, "again");
    cr_assert(wait_received(5), "got %zu", received());
    cr_assert(wait_count("succeeded", 5));
    for (size_t i = 0; i < 5; i++) {
        cr_expect(got[i].verified, "%s not verified", got[i].id);
        cr_expect_str_eq(got[i].path, "/main");
    }
    struct hook_delivery_filter f = {.endpoint = "main"};
    struct hook_delivery_row *l = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_hook_delivery_list(ro, &f, a, &l, &n, &e), 0);
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        cr_expect_str_eq(l[i].state, "succeeded");
        cr_expect_eq(l[i].last_status, 200);
        struct hook_attempt_row *at = NULL;
        size_t na = 0;
        cr_assert_eq(store_hook_attempt_list(ro, l[i].id, a, &at, &na, &e), 0);
        cr_expect_eq(na, 1);
        cr_expect_str_eq(at[0].outcome, "succeeded");
        cr_expect_str_eq(at[0].response, "ok");
        cr_expect_eq(at[0].at, T0);
    }
    struct hook_deliver_stats st;
    hook_deliver_get_stats(d, &st);
    cr_expect_eq(st.sent, 5);
    cr_expect_eq(st.fanned_out, 5);
}

Test(hook_deliver, retries_dead_letter_and_replay)
{
    atomic_store(&answer, 503);
    customer_says(1, "hello");   /* ticket.created, then message.created behind it */
    cr_assert(wait_received(1));
    advance(5000);
    cr_assert(wait_count("dead", 1), "%lld dead", (long long)counts().dead);
    cr_assert(wait_received(3), "the next event of the ticket goes once the first is dead");
    advance(5000);
    cr_assert(wait_count("dead", 2));
    struct hook_deliver_stats st;
    hook_deliver_get_stats(d, &st);
    cr_expect_eq(st.dead, 2);
    cr_expect_eq(st.retried, 2);

    atomic_store(&answer, 200);
    struct hook_delivery_filter f = {.state = "dead"};
    struct hook_delivery_row *l = NULL;
    size_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_hook_delivery_list(ro, &f, a, &l, &n, &e), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(hook_deliver_replay(d, l[0].id, &e), 0, "%s", e.msg);
    cr_assert(wait_count("succeeded", 1));
    int64_t count = 0;
    cr_assert_eq(hook_deliver_replay_dead(d, "main", &count, &e), 0, "%s", e.msg);
    cr_assert_eq(count, 1);
    cr_assert(wait_count("succeeded", 2));
    cr_assert_eq(hook_deliver_replay(d, l[0].id, &e), 0, "a succeeded one may go again");
    cr_assert(wait_count("succeeded", 2) && wait_count("pending", 0));
}

Test(hook_deliver, gone_disables_until_enabled)
{
    atomic_store(&answer, 410);
    customer_says(1, "hello");
    cr_assert(wait_received(1));
    struct hook_endpoint_row *ep = NULL;
    struct err e = {0};
    for (int i = 0; i < 500; i++) {
        cr_assert_eq(store_hook_endpoint_get(ro, "main", a, &ep, &e), 0);
        if (ep->disabled)
            break;
        msleep(10);
    }
    cr_assert(ep->disabled);
    cr_assert(strstr(ep->disabled_reason, "410") != NULL);
    customer_says(2, "more");
    cr_assert(wait_count("pending", 4));
    advance(3600000);
    msleep(50);
    cr_assert_eq(received(), 1, "nothing is sent to a disabled endpoint");
    atomic_store(&answer, 200);
    cr_assert_eq(hook_deliver_enable(d, "main", &e), 0, "%s", e.msg);
    cr_assert(wait_count("succeeded", 4));
    cr_assert_eq(hook_deliver_disable(d, "main", "maintenance", &e), 0);
    cr_assert_eq(store_hook_endpoint_get(ro, "main", a, &ep, &e), 0);
    cr_assert(ep->disabled);
    cr_assert_str_eq(ep->disabled_reason, "maintenance");
}

Test(hook_deliver, a_new_dispatcher_resumes_what_is_pending)
{
    atomic_store(&answer, 500);
    customer_says(1, "hello");
    customer_says(2, "hello");
    cr_assert(wait_received(2));
    cr_assert(wait_count("pending", 4));
    store_set_commit_hook(w, NULL, NULL);
    hook_deliver_free(&d);
    atomic_store(&answer, 200);
    start_dispatcher();
    store_set_commit_hook(w, hook_deliver_on_commit, d);
    advance(5000);
    cr_assert(wait_count("succeeded", 4), "pending %lld", (long long)counts().pending);
}

Test(hook_deliver, reload_matches_endpoints_by_name)
{
    customer_says(1, "before");
    cr_assert(wait_count("succeeded", 2));
    char hooks[1024];
    snprintf(hooks, sizeof hooks,
             "  - {name: other, url: \"http://127.0.0.1:%d/other\", secret: \"" SECRET "\"}\n",
             port);
    struct cfg *nc = load(hooks);
    hook_deliver_set_cfg(d, nc);
    struct err e = {0};
    struct hook_endpoint_row *ep = NULL;
    for (int i = 0; i < 500 && store_hook_endpoint_get(ro, "other", a, &ep, &e) != 0; i++)
        msleep(10);
    cr_assert_not_null(ep, "the new endpoint was recorded");
    cr_assert_gt(ep->last_event_id, 0, "a new endpoint starts at the newest event");
    customer_says(2, "after");
    cr_assert(wait_received(4));
    msleep(50);
    pthread_mutex_lock(&mu);
    for (size_t i = 2; i < ngot; i++)
        cr_expect_str_eq(got[i].path, "/other", "the removed endpoint got nothing more");
    pthread_mutex_unlock(&mu);
    int64_t count = 0;
    cr_assert_eq(hook_deliver_replay_dead(d, "main", &count, &e), ERR_NOTFOUND);
    cr_assert(strstr(e.msg, "not configured") != NULL, "%s", e.msg);
    cfg_unref(&nc);
}

Test(hook_deliver, commands_name_what_exists)
{
    struct err e = {0};
    cr_assert_eq(hook_deliver_replay(d, 4242, &e), ERR_NOTFOUND);
    cr_assert_eq(hook_deliver_enable(d, "nobody", &e), ERR_NOTFOUND);
    cr_assert_eq(hook_deliver_disable(d, "nobody", "x", &e), ERR_NOTFOUND);
    customer_says(1, "hello");
    cr_assert(wait_count("succeeded", 2));
    struct hook_delivery_filter f = {0};
    struct hook_delivery_row *l = NULL;
    size_t n = 0;
    cr_assert_eq(store_hook_delivery_list(ro, &f, a, &l, &n, &e), 0);
    atomic_store(&answer, 500);
    cr_assert_eq(hook_deliver_replay(d, l[0].id, &e), 0);
    cr_assert_eq(hook_deliver_replay(d, l[0].id, &e), ERR_CONFLICT, "still pending");
    hook_deliver_stop(d);
    cr_assert_eq(hook_deliver_enable(d, "main", &e), ERR_BUSY, "stopped");
}
