/*
 * sandbox.c — a case's private CRM, fake Telegram and sink (see sandbox.h).
 *
 * Start-up is on the critical path of every case, so nothing here sleeps
 * for a fixed time: serve writes its port file by rename once it listens,
 * and an inotify watch on the case's folder wakes us the moment it lands.
 * The effective configuration is written as YAML from the suite's parsed
 * configuration, node by node, with the overridden keys replaced as they
 * are met; every other scalar keeps its text and its quoting, so serve
 * reads exactly what the suite wrote.
 */
#include "check/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/mem.h"
#include "check/env.h"
#include "check/fake_tg.h"
#include "check/sink.h"

#define START_TIMEOUT_MS 10000

/* Every sandbox alive in this process, for sandbox_abandon_all. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sandbox *live_head;

static void live_add(struct sandbox *sb)
{
    pthread_mutex_lock(&live_mu);
    sb->next_live = live_head;
    live_head = sb;
    pthread_mutex_unlock(&live_mu);
}

static void live_remove(struct sandbox *sb)
{
    pthread_mutex_lock(&live_mu);
    for (struct sandbox **p = &live_head; *p != NULL; p = &(*p)->next_live)
        if (*p == sb) {
            *p = sb->next_live;
            break;
        }
    pthread_mutex_unlock(&live_mu);
}

/* ---- the effective configuration ------------------------------------------------ */

static int emit_node(struct buf *b, const struct yml_node *n, int indent);

static void pad(struct buf *b, int indent)
{
    for (int i = 0; i < indent; i++)
        buf_putc(b, ' ');
}

/* A scalar as the suite wrote it: plain text stays plain (so numbers stay
 * numbers), anything quoted is written double-quoted with JSON escapes,
 * which YAML reads the same. */
static int emit_scalar(struct buf *b, const struct yml_node *n)
{
    if (n->kind == YML_NULL)
        return buf_puts(b, "null");
    if (n->plain && n->len > 0 && memchr(n->str, '\n', n->len) == NULL)
        return buf_append(b, n->str, n->len);
    return buf_json_str(b, n->str);
}

static int emit_key(struct buf *b, const char *key, int indent)
{
    pad(b, indent);
    int rc = buf_json_str(b, key);
    return rc != 0 ? rc : buf_putc(b, ':');
}

/* "key: <node>" at indent, the node's block beneath when it is a collection. */
static int emit_pair(struct buf *b, const char *key, const struct yml_node *v, int indent)
{
    int rc = emit_key(b, key, indent);
    if (rc != 0)
        return rc;
    if (v->kind == YML_MAP || v->kind == YML_SEQ) {
        if (v->n == 0)
            return buf_puts(b, v->kind == YML_MAP ? " {}\n" : " []\n");
        buf_putc(b, '\n');
        return emit_node(b, v, indent + 2);
    }
    buf_putc(b, ' ');
    rc = emit_scalar(b, v);
    return rc != 0 ? rc : buf_putc(b, '\n');
}

static int emit_str_pair(struct buf *b, const char *key, const char *value, int indent)
{
    int rc = emit_key(b, key, indent);
    if (rc == 0)
        rc = buf_putc(b, ' ');
    if (rc == 0)
        rc = buf_json_str(b, value);
    return rc != 0 ? rc : buf_putc(b, '\n');
}

static int emit_int_pair(struct buf *b, const char *key, int64_t v, int indent)
{
    int rc = emit_key(b, key, indent);
    return rc != 0 ? rc : buf_printf(b, " %" PRId64 "\n", v);
}

/* A collection's entries at indent (the caller wrote its key). */
static int emit_node(struct buf *b, const struct yml_node *n, int indent)
{
    int rc = 0;
    for (size_t i = 0; i < n->n && rc == 0; i++) {
        if (n->kind == YML_MAP) {
            rc = emit_pair(b, n->keys[i]->str, n->items[i], indent);
            continue;
        }
        const struct yml_node *v = n->items[i];
        pad(b, indent);
        buf_puts(b, "-");
        if ((v->kind == YML_MAP || v->kind == YML_SEQ) && v->n > 0) {
            buf_putc(b, '\n');
            rc = emit_node(b, v, indent + 2);
        } else if (v->kind == YML_MAP || v->kind == YML_SEQ) {
            rc = buf_puts(b, v->kind == YML_MAP ? " {}\n" : " []\n");
        } else {
            buf_putc(b, ' ');
            rc = emit_scalar(b, v);
            if (rc == 0)
                rc = buf_putc(b, '\n');
        }
    }
    return rc;
}

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* The keys of map except those in drop (NULL-terminated). */
static int emit_except(struct buf *b, const struct yml_node *map, const char *const *drop,
                       int indent)
{
    int rc = 0;
    for (size_t i = 0; map != NULL && map->kind == YML_MAP && i < map->n && rc == 0; i++) {
        bool skip = false;
        for (size_t k = 0; drop[k] != NULL; k++)
            skip = skip || is(map->keys[i]->str, drop[k]);
        if (!skip)
            rc = emit_pair(b, map->keys[i]->str, map->items[i], indent);
    }
    return rc;
}

/* A store thrown away with the case: no fsync per commit (synchronous
 * normal in WAL mode still never corrupts it, it only forgets the newest
 * commits on a power cut, which a sandbox does not survive anyway). */
static int emit_store(struct buf *b, const struct yml_node *v, const char *dir)
{
    static const char *const drop[] = { "driver", "path", "dsn", "synchronous", NULL };
    char path[320];
    snprintf(path, sizeof path, "%s/tgcrm.db", dir);
    buf_puts(b, "store:\n");
    emit_str_pair(b, "driver", "sqlite", 2);
    emit_str_pair(b, "path", path, 2);
    emit_str_pair(b, "synchronous", "normal", 2);
    return emit_except(b, v, drop, 2);
}

static int emit_http(struct buf *b, const struct yml_node *v)
{
    static const char *const drop[] = { "listen", NULL };
    buf_puts(b, "http:\n");
    emit_str_pair(b, "listen", "127.0.0.1:0", 2);
    return emit_except(b, v, drop, 2);
}

static int emit_telegram(struct buf *b, const struct yml_node *v, int fake_port)
{
    static const char *const drop[] = { "api_base", "mode", "webhook", "token",
                                        "staff_group_id", NULL };
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", fake_port);
    buf_puts(b, "telegram:\n");
    emit_str_pair(b, "api_base", base, 2);
    emit_str_pair(b, "mode", "polling", 2);
    const struct yml_node *t = v ? yml_get(v, "token") : NULL;
    if (t != NULL)
        emit_pair(b, "token", t, 2);
    else
        emit_str_pair(b, "token", FAKE_TG_DEFAULT_TOKEN, 2);
    const struct yml_node *g = v ? yml_get(v, "staff_group_id") : NULL;
    if (g != NULL)
        emit_pair(b, "staff_group_id", g, 2);
    else
        emit_int_pair(b, "staff_group_id", SANDBOX_GROUP_ID, 2);
    return emit_except(b, v, drop, 2);
}

/* Every endpoint's url becomes the sink's /hooks/<name>; the rest is kept. */
static int emit_webhooks(struct buf *b, const struct yml_node *v, int sink_port)
{
    static const char *const drop[] = { "url", NULL };
    buf_puts(b, "webhooks:");
    if (v->kind != YML_SEQ || v->n == 0)
        return buf_puts(b, " []\n");
    buf_putc(b, '\n');
    for (size_t i = 0; i < v->n; i++) {
        const struct yml_node *ep = v->items[i];
        const struct yml_node *name = ep->kind == YML_MAP ? yml_get(ep, "name") : NULL;
        buf_puts(b, "  -\n");
        if (name != NULL && name->kind == YML_SCALAR) {
            char url[128 + SINK_ENDPOINT_MAX];
            snprintf(url, sizeof url, "http://127.0.0.1:%d" SINK_HOOKS_PREFIX "%s", sink_port,
                     name->str);
            emit_str_pair(b, "url", url, 4);
        }
        int rc = emit_except(b, ep, drop, 4);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sandbox_config_text(const struct scenario_suite *suite, const char *dir, int fake_port,
                        int sink_port, char **out, struct err *e)
{
    *out = NULL;
    struct yml_doc *doc = NULL;
    const struct yml_node *root = suite->config_inline;
    if (root == NULL) {
        int rc = yml_load_file(suite->config_path, &doc, e);
        if (rc != 0)
            return rc;
        root = doc->root;
    }
    struct buf b;
    buf_init(&b, 0);
    bool telegram = false;
    int rc = 0;
    buf_puts(&b, "# tgcrm check: the suite's configuration as the sandbox runs it\n");
    for (size_t i = 0; root->kind == YML_MAP && i < root->n && rc == 0; i++) {
        const char *k = root->keys[i]->str;
        const struct yml_node *v = root->items[i];
        if (is(k, "store"))
            rc = emit_store(&b, v, dir);
        else if (is(k, "http"))
            rc = emit_http(&b, v);
        else if (is(k, "telegram"))
            rc = emit_telegram(&b, v, fake_port), telegram = true;
        else if (is(k, "webhooks"))
            rc = emit_webhooks(&b, v, sink_port);
        else if (!is(k, "log"))
            rc = emit_pair(&b, k, v, 0);
    }
    if (rc == 0 && yml_get(root, "store") == NULL)
        rc = emit_store(&b, NULL, dir);
    if (rc == 0 && !telegram)
        rc = emit_telegram(&b, NULL, fake_port);
    if (rc == 0)
        rc = buf_puts(&b, "log:\n  level: info\n  format: json\n");
    yml_free(&doc);
    if (rc != 0) {
        buf_release(&b);
        return err_set(e, ERR_NOMEM, "out of memory writing the sandbox configuration");
    }
    *out = buf_detach(&b);
    return 0;
}

/* ---- the fake's world --------------------------------------------------------------- */

static int seed_fake(struct sandbox *sb, const struct scenario_suite *suite, struct err *e)
{
    const struct cfg *c = sb->cfg;
    int rc = fake_tg_add_bot(sb->tg, c->telegram.token, "tgcrm", NULL, e);
    if (rc != 0)
        return rc;
    sb->bot_id = strtoll(c->telegram.token, NULL, 10);
    int64_t *members = mem_alloc((c->nagents + 1) * sizeof *members);
    for (size_t i = 0; i < c->nagents && rc == 0; i++) {
        const struct cfg_agent *a = &c->agents[i];
        struct fake_tg_user u = { .id = a->tg_user_id, .first_name = a->name,
                                  .username = a->username, .language_code = "en" };
        rc = fake_tg_add_user(sb->tg, &u, e);
        members[i] = a->tg_user_id;
    }
    for (size_t i = 0; i < suite->ncustomers && rc == 0; i++) {
        const struct scenario_customer *cu = &suite->customers[i];
        struct fake_tg_user u = { .id = cu->tg_user_id, .first_name = cu->first_name,
                                  .last_name = cu->last_name, .username = cu->username,
                                  .language_code = cu->language };
        rc = fake_tg_add_user(sb->tg, &u, e);
    }
    sb->group_id = c->telegram.staff_group_id;
    if (rc == 0 && sb->group_id != 0) {
        struct fake_tg_group g = { .id = sb->group_id, .title = "Support", .is_forum = true,
                                   .bot_is_admin = true, .members = members,
                                   .nmembers = c->nagents };
        rc = fake_tg_add_group(sb->tg, &g, e);
    }
    mem_free(members);
    return rc;
}

static int seed_sink(struct sandbox *sb, struct err *e)
{
    const struct cfg *c = sb->cfg;
    for (size_t i = 0; i < c->nwebhooks; i++) {
        const struct cfg_webhook *w = &c->webhooks[i];
        const char *secrets[2] = { w->secret, w->previous_secret };
        int rc = sink_set_secrets(sb->sink, w->name, secrets, w->previous_secret ? 2 : 1, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- serve --------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

static int spawn(struct sandbox *sb, const struct sandbox_opts *o, const char *portfile,
                 struct err *e)
{
    char start[CLOCK_ISO_LEN];
    clock_fmt_iso(o->clock_start_ms, start);
    const char *argv[] = { o->tgcrm, "serve", "--config", sb->config_path, "--test-clock",
                           "--clock-start", start, "--port-file", portfile, NULL };
    int fd = open(sb->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(e, ERR_IO, "cannot create '%s': %s", sb->log_path, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return err_set(e, ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* the child: no signal mask or handler of the runner's survives
         * exec, and it dies with the runner (a CI job killing `check` must
         * not leave daemons behind) */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd);
    sb->pid = pid;
    return 0;
}

static int read_port(const char *portfile)
{
    FILE *f = fopen(portfile, "r");
    char line[32] = "";
    if (f == NULL)
        return 0;
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    fclose(f);
    char *end;
    long port = strtol(line, &end, 10);
    return end != line && port > 0 && port < 65536 ? (int)port : 0;
}

/* Wait for serve's port file: inotify wakes us when it is renamed into place. */
static int wait_ready(struct sandbox *sb, const char *portfile, int64_t timeout_ms,
                      struct err *e)
{
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in >= 0 && inotify_add_watch(in, sb->dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        close(in);
        in = -1;
    }
    int64_t deadline = mono_ms() + timeout_ms;
    int rc = 0;
    for (;;) {
        if ((sb->port = read_port(portfile)) > 0)
            break;
        if (!sandbox_alive(sb)) {
            rc = err_set(e, ERR_IO, "tgcrm serve exited before listening (log: %s)",
                         sb->log_path);
            break;
        }
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            rc = err_set(e, ERR_IO, "tgcrm serve did not listen within %" PRId64 " ms (log: %s)",
                         timeout_ms, sb->log_path);
            break;
        }
        if (in >= 0) {
            struct pollfd p = { .fd = in, .events = POLLIN };
            poll(&p, 1, left < 20 ? (int)left : 20);   /* 20 ms: to notice a death */
            char ev[4096];
            while (read(in, ev, sizeof ev) > 0) {
            }
        } else {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
    }
    if (in >= 0)
        close(in);
    if (rc == 0)
        snprintf(sb->api_url, sizeof sb->api_url, "http://127.0.0.1:%d", sb->port);
    return rc;
}

static int write_file(const char *path, const char *text, struct err *e)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    if (fclose(f) != 0 || !ok)
        return err_set(e, ERR_IO, "cannot write '%s'", path);
    return 0;
}

/* Where cases' folders go: $TMPDIR, else memory (/dev/shm) when there is
 * one, else /tmp. A case's store lives and dies in milliseconds. */
static const char *case_root(void)
{
    const char *t = getenv("TMPDIR");
    if (t != NULL && *t != '\0')
        return t;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

int sandbox_start(const struct scenario_suite *suite, const struct sandbox_opts *o,
                  struct sandbox **out, struct err *e)
{
    *out = NULL;
    struct sandbox *sb = mem_alloc(sizeof *sb);
    char *text = NULL;
    int rc;
    snprintf(sb->dir, sizeof sb->dir, "%s/tgcrm-check-XXXXXX", case_root());
    if (mkdtemp(sb->dir) == NULL) {
        rc = err_set(e, ERR_IO, "mkdtemp '%s': %s", sb->dir, strerror(errno));
        sb->dir[0] = '\0';
        goto fail;
    }
    live_add(sb);
    snprintf(sb->config_path, sizeof sb->config_path, "%s/tgcrm.yaml", sb->dir);
    snprintf(sb->log_path, sizeof sb->log_path, "%s/serve.log", sb->dir);
    sb->clock = clock_manual_new(o->clock_start_ms);
    struct fake_tg_opts fo = { .clock = sb->clock };
    struct sink_opts so = { .clock = sb->clock };
    if ((rc = fake_tg_start(&fo, &sb->tg, e)) != 0 || (rc = sink_start(&so, &sb->sink, e)) != 0)
        goto fail;
    if ((rc = sandbox_config_text(suite, sb->dir, fake_tg_port(sb->tg), sink_port(sb->sink),
                                  &text, e)) != 0 ||
        (rc = write_file(sb->config_path, text, e)) != 0 ||
        (rc = cfg_load(sb->config_path, &sb->cfg, e)) != 0)
        goto fail;
    sb->api_token = sb->cfg->http.tokens[0].token;
    if ((rc = seed_fake(sb, suite, e)) != 0 || (rc = seed_sink(sb, e)) != 0)
        goto fail;
    char portfile[320];
    snprintf(portfile, sizeof portfile, "%s/port", sb->dir);
    if ((rc = spawn(sb, o, portfile, e)) != 0 ||
        (rc = wait_ready(sb, portfile, o->start_timeout_ms > 0 ? o->start_timeout_ms
                                                              : START_TIMEOUT_MS, e)) != 0)
        goto fail;
    mem_free(text);
    *out = sb;
    return 0;
fail:
    mem_free(text);
    sandbox_free(&sb);
    return rc;
}

/* ---- idleness -------------------------------------------------------------------------- */

/* What moved in the fake and the sink: equal snapshots around a look mean
 * nothing arrived while we looked. */
struct snap {
    int64_t updates, pending, sink_seq, held;
};

/* The bot's unconfirmed updates in a fake_tg_stats answer. */
static int64_t pending_of(json_t *stats, int64_t bot_id)
{
    json_t *bots = json_object_get(stats, "bots");
    for (size_t i = 0; i < json_array_size(bots); i++) {
        json_t *b = json_array_get(bots, i);
        if (json_integer_value(json_object_get(b, "id")) == bot_id)
            return json_integer_value(json_object_get(b, "pending_update_count"));
    }
    return 0;
}

int64_t sandbox_tg_pending(struct fake_tg *tg, int64_t bot_id)
{
    json_t *st = fake_tg_stats(tg);
    int64_t n = pending_of(st, bot_id);
    json_decref(st);
    return n;
}

static void snapshot(struct sandbox *sb, struct snap *s)
{
    json_t *st = fake_tg_stats(sb->tg);
    s->updates = json_integer_value(json_object_get(st, "updates"));
    s->pending = pending_of(st, sb->bot_id);
    json_decref(st);
    struct sink_stats ss;
    sink_stats(sb->sink, &ss);
    s->sink_seq = ss.last_seq;
    s->held = ss.held;
}

/* How serve ended, from its wait status: "exit status N" or "signal N". */
static void ended(const struct sandbox *sb, char *out, size_t n)
{
    if (WIFSIGNALED(sb->wait_status))
        snprintf(out, n, "killed by signal %d", WTERMSIG(sb->wait_status));
    else
        snprintf(out, n, "exit status %d", WEXITSTATUS(sb->wait_status));
}

/* A request to the CRM failed with rc: rc, or ERR_IO when serve is gone
 * (looked for up to 200 ms). Then the request's own error (connection
 * refused ...) is only the symptom, so the message leads with the cause
 * instead of keeping the first one recorded. */
static int or_died(struct sandbox *sb, int rc, struct err *e)
{
    /* its sockets close a moment before it can be reaped: look a while */
    bool alive = sandbox_alive(sb);
    for (int i = 0; alive && i < 100; i++) {
        struct timespec ts = { 0, 2 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        alive = sandbox_alive(sb);
    }
    if (alive)
        return rc;
    char how[48], was[ERR_MSG_MAX];
    ended(sb, how, sizeof how);
    snprintf(was, sizeof was, "%s", e != NULL ? e->msg : "");
    err_clear(e);
    return err_set(e, ERR_IO, "tgcrm serve died (%s; log: %s)%s%.300s", how, sb->log_path,
                   was[0] != '\0' ? ": " : "", was);
}

/*
 * The verdict on one look: r is the CRM's answer (GET /v1/test/idle's
 * members), a and b our snapshots from before and after it; *due gets what
 * r says of the future. The CRM's own Bot API calls may land while it
 * settles: a call is over (and its outcome committed) before its sender
 * rests, and once the CRM is idle only a commit makes more — which only a
 * Telegram update can cause now. So: no update appeared meanwhile, none
 * waits. Webhook deliveries are another matter: an attempt the CRM gave up
 * on (its timeout) may still be held by the sink, so the sink's count of
 * held answers can cover an attempt that is really on its way; a delivery
 * that arrived meanwhile makes the look void.
 */
static bool verdict(const json_t *r, const struct snap *a, const struct snap *b,
                    bool tg_faulted, struct sandbox_due *due)
{
    json_t *next = json_object_get(r, "next_due_ms");
    due->next_ms = json_is_integer(next) ? json_integer_value(next) : INT64_MAX;
    due->held = b->held;
    return json_is_true(json_object_get(r, "idle")) &&
           json_integer_value(json_object_get(r, "webhooks_in_flight")) <= b->held &&
           a->updates == b->updates && a->sink_seq == b->sink_seq &&
           (b->pending == 0 || tg_faulted);
}

int sandbox_idle(struct sandbox *sb, struct check_env *env, bool tg_faulted,
                 int64_t timeout_ms, struct sandbox_due *due, struct err *e)
{
    int64_t deadline = mono_ms() + timeout_ms;
    long nap_us = 50;
    for (;;) {
        struct snap a, b;
        snapshot(sb, &a);
        bool idle = false;
        if (a.pending == 0 || tg_faulted) {
            int64_t left = deadline - mono_ms();
            char path[64];
            snprintf(path, sizeof path, "/v1/test/idle?wait_ms=%" PRId64,
                     left > 1000 ? (int64_t)1000 : left > 0 ? left : 0);
            long status = 0;
            json_t *r = NULL;
            int rc = env_api(env, "GET", path, NULL, &status, &r, e);
            if (rc != 0)
                return or_died(sb, rc, e);
            snapshot(sb, &b);
            idle = status == 200 && verdict(r, &a, &b, tg_faulted, due);
            json_decref(r);
        }
        if (idle)
            return 0;
        if (mono_ms() > deadline)
            return err_set(e, ERR_BUSY, "the sandbox did not become idle within %" PRId64
                           " ms of real time (Telegram updates waiting: %" PRId64
                           ", webhooks held by the sink: %" PRId64 ")",
                           timeout_ms, a.pending, a.held);
        struct timespec ts = { 0, nap_us * 1000 };
        nanosleep(&ts, NULL);
        if (nap_us < 2000)
            nap_us *= 2;
    }
}

int sandbox_advance(struct sandbox *sb, struct check_env *env, int64_t ms,
                    int64_t timeout_ms, bool (*tg_faulted)(void *ud), void *ud,
                    struct sandbox_due *due, struct err *e)
{
    struct snap a, b;
    snapshot(sb, &a);
    if (a.held > 0 || ms > ENV_MOVE_MAX) {
        /* the sink must release what falls due between the CRM's move and
         * its look: the move, then the looks */
        int rc = env_move(env, ms, e);
        if (rc != 0)
            return or_died(sb, rc, e);
        return sandbox_idle(sb, env, tg_faulted(ud), timeout_ms, due, e);
    }
    json_t *r = NULL;
    int rc = env_advance_wait(env, ms, timeout_ms < 1000 ? timeout_ms : 1000, &r, e);
    if (rc != 0)
        return or_died(sb, rc, e);
    snapshot(sb, &b);
    bool faulted = tg_faulted(ud);
    bool idle = verdict(r, &a, &b, faulted, due);
    json_decref(r);
    return idle ? 0 : sandbox_idle(sb, env, faulted, timeout_ms, due, e);
}

/* ---- the end ----------------------------------------------------------------------------- */

bool sandbox_alive(struct sandbox *sb)
{
    if (sb->pid <= 0)
        return false;
    if (waitpid(sb->pid, &sb->wait_status, WNOHANG) == sb->pid) {
        sb->pid = 0;
        return false;
    }
    return true;
}

char *sandbox_log_tail(const struct sandbox *sb, size_t max)
{
    FILE *f = fopen(sb->log_path, "r");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)max ? size - (long)max : 0;
    fseek(f, from, SEEK_SET);
    char *s = mem_alloc((size_t)(size - from) + 1);
    size_t n = fread(s, 1, (size_t)(size - from), f);
    s[n] = '\0';
    fclose(f);
    if (from > 0) {                 /* start at a whole line */
        char *nl = strchr(s, '\n');
        if (nl != NULL)
            memmove(s, nl + 1, strlen(nl + 1) + 1);
    }
    return s;
}

/* The case's folder holds files only (store, log, configuration, port). */
static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    const struct dirent *de;
    char path[600];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void sandbox_free(struct sandbox **sp)
{
    struct sandbox *sb = *sp;
    if (sb == NULL)
        return;
    live_remove(sb);
    /* SIGKILL: the store is thrown away with the folder, so a graceful
     * shutdown would only cost time on every case */
    if (sb->pid > 0) {
        kill(sb->pid, SIGKILL);
        waitpid(sb->pid, NULL, 0);
        sb->pid = 0;
    }
    fake_tg_free(&sb->tg);
    sink_free(&sb->sink);
    clock_free(&sb->clock);
    cfg_unref(&sb->cfg);
    if (sb->dir[0] != '\0')
        rm_dir(sb->dir);
    mem_free(sb);
    *sp = NULL;
}

void sandbox_abandon_all(void)
{
    pthread_mutex_lock(&live_mu);
    for (struct sandbox *sb = live_head; sb != NULL; sb = sb->next_live) {
        if (sb->pid > 0)
            kill(sb->pid, SIGKILL);
        if (sb->dir[0] != '\0')
            rm_dir(sb->dir);
    }
    pthread_mutex_unlock(&live_mu);
}
