/*
 * test_store_webhooks.c — the webhook dispatcher's part of the store
 * (migration 002) against a real SQLite file: endpoint records and the
 * compare-and-set fan-out claim, delivery upsert by key, the filters of the
 * delivery list, the pending window, counts, replays, attempts, the thread
 * up to a seq, and the commit hook.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "store/store.h"

static char dir[64];
static char path[128];
static struct cfg_store cfg;
static struct store *s;
static struct arena *a;
static struct err e;

#define OK(call)                                                         \
    do {                                                                 \
        err_clear(&e);                                                   \
        int rc_ = (call);                                                \
        cr_assert_eq(rc_, 0, "%s: %s (%s)", #call, e.msg, err_name(rc_)); \
    } while (0)

#define FAILS(code, call)                                                \
    do {                                                                 \
        err_clear(&e);                                                   \
        int rc_ = (call);                                                \
        cr_assert_eq(rc_, (code), "%s: got %s (%s), want %s", #call,     \
                     err_name(rc_), e.msg, err_name(code));              \
    } while (0)

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tgcrm-storewh-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/test.db", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.driver = "sqlite";
    cfg.path = path;
    cfg.synchronous = "normal";
    cfg.busy_timeout_ms = 2000;
    a = arena_new(0);
    OK(store_open(&cfg, STORE_RW, &s, &e));
}

static void teardown(void)
{
    store_close(&s);
    arena_free(&a);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(store_webhooks, .init = setup, .fini = teardown);

/* An event (the deliveries reference events). */
static int64_t add_event(const char *type, int64_t ticket)
{
    struct event_row r = {.type = type, .ticket_id = ticket, .occurred_at = 1000,
                          .data = "{\"thread_seq\":0}"};
    OK(store_event_push(s, &r, &e));
    return r.id;
}

static struct hook_delivery_row delivery(const char *endpoint, int64_t event, int part,
                                         int64_t ticket, const char *state, int attempts)
{
    return (struct hook_delivery_row){
        .endpoint = endpoint, .event_id = event, .part = part, .parts = part > 1 ? part : 1,
        .ticket_id = ticket, .type = "ticket.created", .occurred_at = 1000, .state = state,
        .attempts = attempts, .next_attempt_at = 2000, .max_payload = 4096,
        .oversize = "split", .created_at = 1500,
    };
}

static int64_t put(struct hook_delivery_row d)
{
    OK(store_hook_delivery_put(s, &d, &e));
    cr_assert_gt(d.id, 0);
    return d.id;
}

Test(store_webhooks, endpoint_record_and_claim)
{
    struct hook_endpoint_row *ep = NULL;
    FAILS(ERR_NOTFOUND, store_hook_endpoint_get(s, "helpdesk", a, &ep, &e));
    OK(store_hook_endpoint_create(s, "helpdesk", 7, 1000, &e));
    FAILS(ERR_CONFLICT, store_hook_endpoint_create(s, "helpdesk", 9, 1000, &e));
    OK(store_hook_endpoint_get(s, "helpdesk", a, &ep, &e));
    cr_assert_eq(ep->last_event_id, 7);
    cr_assert_not(ep->disabled);
    cr_assert_eq(ep->created_at, 1000);

    OK(store_hook_endpoint_claim(s, "helpdesk", 7, 12, &e));
    FAILS(ERR_CONFLICT, store_hook_endpoint_claim(s, "helpdesk", 7, 15, &e));
    cr_assert(strstr(e.msg, "12") != NULL, "%s", e.msg);
    FAILS(ERR_NOTFOUND, store_hook_endpoint_claim(s, "nobody", 0, 1, &e));

    OK(store_hook_endpoint_set_disabled(s, "helpdesk", true, 5000, "410 Gone", "http://x/", &e));
    OK(store_hook_endpoint_get(s, "helpdesk", a, &ep, &e));
    cr_assert(ep->disabled);
    cr_assert_eq(ep->disabled_at, 5000);
    cr_assert_str_eq(ep->disabled_reason, "410 Gone");
    cr_assert_str_eq(ep->disabled_url, "http://x/");
    OK(store_hook_endpoint_set_disabled(s, "helpdesk", false, 0, NULL, NULL, &e));
    OK(store_hook_endpoint_get(s, "helpdesk", a, &ep, &e));
    cr_assert_not(ep->disabled);
    cr_assert_null(ep->disabled_reason);
    FAILS(ERR_NOTFOUND, store_hook_endpoint_set_disabled(s, "nobody", false, 0, NULL, NULL, &e));

    OK(store_hook_endpoint_create(s, "archive", 0, 1000, &e));
    struct hook_endpoint_row *all = NULL;
    size_t n = 0;
    OK(store_hook_endpoint_list(s, a, &all, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_str_eq(all[0].name, "archive");
    cr_assert_str_eq(all[1].name, "helpdesk");
}

Test(store_webhooks, delivery_upsert_by_key)
{
    int64_t ev = add_event("ticket.created", 3);
    int64_t id = put(delivery("helpdesk", ev, 1, 3, "pending", 0));
    struct hook_delivery_row d = delivery("helpdesk", ev, 1, 3, "succeeded", 1);
    d.last_status = 200;
    d.finished_at = 2500;
    OK(store_hook_delivery_put(s, &d, &e));
    cr_assert_eq(d.id, id, "the same key is the same row");
    struct hook_delivery_row *got = NULL;
    OK(store_hook_delivery_get(s, id, a, &got, &e));
    cr_assert_str_eq(got->state, "succeeded");
    cr_assert_eq(got->attempts, 1);
    cr_assert_eq(got->last_status, 200);
    cr_assert_eq(got->finished_at, 2500);
    cr_assert_str_eq(got->endpoint, "helpdesk");
    cr_assert_str_eq(got->oversize, "split");
    cr_assert_eq(got->max_payload, 4096);
    cr_assert_eq(got->ticket_id, 3);
    cr_assert_null(got->last_error);
    /* another part or endpoint is another row */
    cr_assert_neq(put(delivery("helpdesk", ev, 2, 3, "pending", 0)), id);
    cr_assert_neq(put(delivery("archive", ev, 1, 3, "pending", 0)), id);
    FAILS(ERR_NOTFOUND, store_hook_delivery_get(s, 999, a, &got, &e));
    /* a delivery must name an event that exists */
    struct hook_delivery_row bad = delivery("helpdesk", 999, 1, 3, "pending", 0);
    FAILS(ERR_CONFLICT, store_hook_delivery_put(s, &bad, &e));
}

Test(store_webhooks, list_filters_and_paging)
{
    int64_t e1 = add_event("ticket.created", 1), e2 = add_event("message.created", 1);
    int64_t e3 = add_event("ticket.created", 2);
    put(delivery("a", e1, 1, 1, "succeeded", 1));
    put(delivery("a", e2, 1, 1, "pending", 2));       /* failing */
    put(delivery("a", e3, 1, 2, "pending", 0));
    put(delivery("b", e1, 1, 1, "dead", 9));
    struct hook_delivery_row *l = NULL;
    size_t n = 0;
    struct hook_delivery_filter f = {0};
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 4);
    f = (struct hook_delivery_filter){.endpoint = "a"};
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 3);
    f = (struct hook_delivery_filter){.state = "pending"};
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 2);
    f = (struct hook_delivery_filter){.state = "failed"};
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 1);
    cr_assert_eq(l[0].event_id, e2);
    f = (struct hook_delivery_filter){.state = "dead", .endpoint = "b"};
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 1);
    f = (struct hook_delivery_filter){.ticket_id = 2};
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 1);
    cr_assert_eq(l[0].event_id, e3);
    f = (struct hook_delivery_filter){.limit = 2};
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 2);
    f.after_id = l[1].id;
    OK(store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_eq(n, 2, "the second page");
    f = (struct hook_delivery_filter){.state = "lost"};
    FAILS(ERR_INVAL, store_hook_delivery_list(s, &f, a, &l, &n, &e));
    cr_assert_str_eq(e.field, "state");

    struct hook_counts c;
    OK(store_hook_counts(s, "a", &c, &e));
    cr_assert_eq(c.pending, 2);
    cr_assert_eq(c.failing, 1);
    cr_assert_eq(c.succeeded, 1);
    cr_assert_eq(c.dead, 0);
    OK(store_hook_counts(s, "nobody", &c, &e));
    cr_assert_eq(c.pending + c.dead + c.succeeded, 0);
}

Test(store_webhooks, pending_window_in_event_order)
{
    int64_t ev[4];
    for (int i = 0; i < 4; i++)
        ev[i] = add_event("message.created", 1);
    put(delivery("a", ev[2], 1, 1, "pending", 0));
    put(delivery("a", ev[0], 2, 1, "pending", 0));
    put(delivery("a", ev[0], 1, 1, "pending", 0));
    put(delivery("a", ev[1], 1, 1, "succeeded", 1));
    put(delivery("a", ev[3], 1, 1, "dead", 3));
    put(delivery("b", ev[1], 1, 1, "pending", 0));
    struct hook_delivery_row *l = NULL;
    size_t n = 0;
    OK(store_hook_delivery_pending(s, "a", 0, 0, 10, a, &l, &n, &e));
    cr_assert_eq(n, 3);
    cr_assert(l[0].event_id == ev[0] && l[0].part == 1);
    cr_assert(l[1].event_id == ev[0] && l[1].part == 2);
    cr_assert(l[2].event_id == ev[2]);
    OK(store_hook_delivery_pending(s, "a", ev[0], 1, 10, a, &l, &n, &e));
    cr_assert_eq(n, 2, "after (event, part 1): part 2 and the next event");
    OK(store_hook_delivery_pending(s, "a", 0, 0, 1, a, &l, &n, &e));
    cr_assert_eq(n, 1);
    FAILS(ERR_INVAL, store_hook_delivery_pending(s, "a", 0, 0, 0, a, &l, &n, &e));
}

Test(store_webhooks, replay_one_and_all_dead)
{
    int64_t e1 = add_event("ticket.created", 1), e2 = add_event("ticket.created", 2);
    int64_t dead1 = put(delivery("a", e1, 1, 1, "dead", 3));
    int64_t dead2 = put(delivery("a", e2, 1, 2, "dead", 3));
    int64_t pending = put(delivery("b", e1, 1, 1, "pending", 1));
    OK(store_hook_replay(s, dead1, 9000, &e));
    struct hook_delivery_row *d = NULL;
    OK(store_hook_delivery_get(s, dead1, a, &d, &e));
    cr_assert_str_eq(d->state, "pending");
    cr_assert_eq(d->attempts, 0);
    cr_assert_eq(d->next_attempt_at, 9000);
    cr_assert_eq(d->finished_at, 0);
    FAILS(ERR_CONFLICT, store_hook_replay(s, pending, 9000, &e));
    FAILS(ERR_CONFLICT, store_hook_replay(s, dead1, 9000, &e));   /* pending now */
    FAILS(ERR_NOTFOUND, store_hook_replay(s, 12345, 9000, &e));
    int64_t count = -1;
    OK(store_hook_replay_dead(s, "a", 9100, &count, &e));
    cr_assert_eq(count, 1);
    OK(store_hook_delivery_get(s, dead2, a, &d, &e));
    cr_assert_str_eq(d->state, "pending");
    OK(store_hook_replay_dead(s, "a", 9100, &count, &e));
    cr_assert_eq(count, 0);
}

Test(store_webhooks, attempts_oldest_first)
{
    int64_t ev = add_event("ticket.created", 1);
    int64_t id = put(delivery("a", ev, 1, 1, "pending", 2));
    struct hook_attempt_row r1 = {.delivery_id = id, .at = 100, .status = 500,
                                  .outcome = "retry", .latency_ms = 12, .response = "boom"};
    struct hook_attempt_row r2 = {.delivery_id = id, .at = 200, .outcome = "retry",
                                  .error = "timeout after 10000 ms", .latency_ms = 10000};
    OK(store_hook_attempt_insert(s, &r1, &e));
    OK(store_hook_attempt_insert(s, &r2, &e));
    struct hook_attempt_row *l = NULL;
    size_t n = 0;
    OK(store_hook_attempt_list(s, id, a, &l, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_eq(l[0].status, 500);
    cr_assert_str_eq(l[0].response, "boom");
    cr_assert_null(l[0].error);
    cr_assert_eq(l[1].status, 0, "no answer");
    cr_assert_str_eq(l[1].error, "timeout after 10000 ms");
    cr_assert_eq(l[1].latency_ms, 10000);
    struct hook_attempt_row orphan = {.delivery_id = 999, .at = 1, .outcome = "retry"};
    FAILS(ERR_CONFLICT, store_hook_attempt_insert(s, &orphan, &e));
}

Test(store_webhooks, events_by_id_and_last)
{
    int64_t last = -1;
    OK(store_event_last_id(s, &last, &e));
    cr_assert_eq(last, 0);
    int64_t id = add_event("ticket.created", 4);
    add_event("ticket.updated", 4);
    OK(store_event_last_id(s, &last, &e));
    cr_assert_eq(last, id + 1);
    struct event_row *ev = NULL;
    OK(store_event_get(s, id, a, &ev, &e));
    cr_assert_str_eq(ev->type, "ticket.created");
    cr_assert_eq(ev->ticket_id, 4);
    FAILS(ERR_NOTFOUND, store_event_get(s, 999, a, &ev, &e));
}

Test(store_webhooks, thread_up_to_a_seq)
{
    struct customer c = {.tg_user_id = 1, .first_name = "Ann", .tier = "standard",
                         .created_at = 1};
    OK(store_customer_insert(s, &c, &e));
    struct ticket t = {.customer_id = c.id, .status = TICKET_OPEN, .priority = PRIORITY_NORMAL,
                       .group = "general", .subject = "x", .created_at = 1, .updated_at = 1};
    OK(store_ticket_insert(s, &t, &e));
    for (int i = 1; i <= 5; i++) {
        struct thread_entry te = {.ticket_id = t.id, .seq = i, .kind = THREAD_MESSAGE,
                                  .dir = DIR_INBOUND, .author_type = AUTHOR_CUSTOMER,
                                  .text = "hi", .at = i};
        OK(store_thread_append(s, &te, &e));
    }
    struct thread_entry *l = NULL;
    size_t n = 0;
    OK(store_thread_list_upto(s, t.id, 3, a, &l, &n, &e));
    cr_assert_eq(n, 3);
    cr_assert_eq(l[2].seq, 3);
    OK(store_thread_list_upto(s, t.id, 0, a, &l, &n, &e));
    cr_assert_eq(n, 0);
    OK(store_thread_list_upto(s, t.id, 99, a, &l, &n, &e));
    cr_assert_eq(n, 5);
}

static int commits;

static void on_commit(void *arg)
{
    (void)arg;
    commits++;
}

Test(store_webhooks, commit_hook_after_each_change)
{
    commits = 0;
    store_set_commit_hook(s, on_commit, NULL);
    OK(store_begin(s, &e));
    add_event("ticket.created", 1);
    cr_assert_eq(commits, 0, "not before the commit");
    OK(store_commit(s, &e));
    cr_assert_eq(commits, 1);
    OK(store_begin(s, &e));
    add_event("ticket.created", 1);
    OK(store_rollback(s, &e));
    cr_assert_eq(commits, 1, "not for a rollback");
    add_event("ticket.created", 1);   /* autocommit */
    cr_assert_eq(commits, 2);
    store_set_commit_hook(s, NULL, NULL);
    add_event("ticket.created", 1);
    cr_assert_eq(commits, 2, "removed");
}

static int64_t put_finished(const char *endpoint, int64_t event, const char *state,
                            int64_t finished_at)
{
    struct hook_delivery_row d = delivery(endpoint, event, 1, 1, state, 1);
    d.finished_at = finished_at;
    int64_t id = put(d);
    struct hook_attempt_row at = {.delivery_id = id, .at = finished_at, .status = 200,
                                  .outcome = "succeeded"};
    OK(store_hook_attempt_insert(s, &at, &e));
    return id;
}

static size_t count_state(const char *endpoint, const char *state)
{
    struct hook_delivery_filter f = {.endpoint = endpoint, .state = state, .limit = 1000};
    struct hook_delivery_row *rows = NULL;
    size_t n = 0;
    OK(store_hook_delivery_list(s, &f, a, &rows, &n, &e));
    return n;
}

Test(store_webhooks, prune_takes_old_finished_rows_of_one_state_in_batches)
{
    int64_t ev[6];
    for (int i = 0; i < 6; i++)
        ev[i] = add_event("ticket.created", i + 1);
    int64_t old1 = put_finished("a", ev[0], "succeeded", 1000);
    put_finished("a", ev[1], "succeeded", 2000);
    put_finished("a", ev[2], "succeeded", 9000);             /* too young */
    put_finished("a", ev[3], "dead", 1000);                  /* another state */
    put_finished("b", ev[0], "succeeded", 1000);             /* another endpoint */
    put(delivery("a", ev[4], 1, 1, "pending", 0));           /* never */
    int64_t deleted = -1;
    OK(store_hook_prune(s, "a", "succeeded", 5000, 1, &deleted, &e));
    cr_assert_eq(deleted, 1, "one batch of one");
    struct hook_delivery_row *d = NULL;
    FAILS(ERR_NOTFOUND, store_hook_delivery_get(s, old1, a, &d, &e));
    struct hook_attempt_row *ats = NULL;
    size_t nat = 9;
    OK(store_hook_attempt_list(s, old1, a, &ats, &nat, &e));
    cr_assert_eq(nat, 0, "its attempts went with it");
    OK(store_hook_prune(s, "a", "succeeded", 5000, 10, &deleted, &e));
    cr_assert_eq(deleted, 1);
    OK(store_hook_prune(s, "a", "succeeded", 5000, 10, &deleted, &e));
    cr_assert_eq(deleted, 0);
    cr_assert_eq(count_state("a", "succeeded"), 1);
    cr_assert_eq(count_state("a", "dead"), 1);
    cr_assert_eq(count_state("a", "pending"), 1);
    cr_assert_eq(count_state("b", "succeeded"), 1);
    OK(store_hook_prune(s, "a", "dead", 5000, 10, &deleted, &e));
    cr_assert_eq(deleted, 1);
    cr_assert_eq(count_state("a", "dead"), 0);
}
