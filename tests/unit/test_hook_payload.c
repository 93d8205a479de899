/*
 * test_hook_payload.c — webhook delivery bodies from events in a real store.
 *
 * Each test gets a fresh SQLite file under a mkdtemp directory, opened
 * read-write (migrations applied), with one customer and one ticket; tests
 * append thread entries and an event the way the engine does (the event's
 * data holds view_ticket's snapshot and thread_seq) and read the event back
 * with store_event_list before building its bodies.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/jx.h"
#include "base/mem.h"
#include "desk/view.h"
#include "store/store.h"
#include "webhook/hook_payload.h"

static char dir[64];
static char path[128];
static struct cfg_store cfg;
static struct store *s;
static struct arena *a;
static struct err e;
static struct customer cust;
static struct ticket tk;

#define OK(call)                                                         \
    do {                                                                 \
        err_clear(&e);                                                   \
        int rc_ = (call);                                                \
        cr_assert_eq(rc_, 0, "%s: %s (%s)", #call, e.msg, err_name(rc_)); \
    } while (0)

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tgcrm-hookp-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/test.db", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.driver = "sqlite";
    cfg.path = path;
    cfg.synchronous = "normal";
    cfg.busy_timeout_ms = 2000;
    cfg.read_connections = 1;
    a = arena_new(0);
    err_clear(&e);
    cr_assert_eq(store_open(&cfg, STORE_RW, &s, &e), 0, "open: %s", e.msg);

    cust = (struct customer){.tg_user_id = 777, .first_name = "Ann", .tier = "standard",
                             .created_at = 1000};
    OK(store_customer_insert(s, &cust, &e));
    tk = (struct ticket){.customer_id = cust.id, .status = TICKET_OPEN,
                         .priority = PRIORITY_NORMAL, .group = "general",
                         .subject = "help", .created_at = 1000, .updated_at = 1000};
    OK(store_ticket_insert(s, &tk, &e));
}

static void teardown(void)
{
    store_close(&s);
    arena_free(&a);
    char p[160];
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

TestSuite(hook_payload, .init = setup, .fini = teardown);

/* Append a customer message of `len` characters (a repeated letter and a
 * Cyrillic word, so multi-byte text is covered). */
static void add_message(size_t len)
{
    char *text = mem_alloc(len + 1);
    for (size_t i = 0; i < len; i++)
        text[i] = (char)('a' + (tk.thread_len + (int)i) % 26);
    if (len >= 12)
        memcpy(text, "привет", 12);
    struct thread_entry te = {.ticket_id = tk.id, .seq = tk.thread_len + 1,
                              .kind = THREAD_MESSAGE, .dir = DIR_INBOUND,
                              .author_type = AUTHOR_CUSTOMER, .author_id = "777",
                              .author_name = "Ann", .text = text,
                              .tg_chat_id = 777, .tg_message_id = tk.thread_len + 10,
                              .at = 2000 + tk.thread_len};
    OK(store_thread_append(s, &te, &e));
    mem_free(text);
    tk.thread_len++;
}

/* Push an event the way the engine's domain_event does, return it as read
 * back from the store. */
static struct event_row *push_event(const char *type, int64_t thread_seq, bool with_ticket)
{
    json_t *data = json_pack("{s:{s:{s:s,s:s}}, s:{s:s,s:s}}", "changes", "status", "from",
                             "open", "to", "in_progress", "actor", "type", "agent",
                             "id", "alice");
    if (with_ticket) {
        json_object_set_new(data, "ticket", view_ticket(&tk, &cust));
        json_object_set_new(data, "thread_seq", json_integer(thread_seq));
    }
    char *text = jx_dumps(data);
    json_decref(data);
    struct event_row r = {.type = type, .ticket_id = with_ticket ? tk.id : 0,
                          .occurred_at = 1764000000123, .data = text};
    OK(store_event_push(s, &r, &e));
    mem_free(text);
    struct event_row *out;
    size_t n;
    OK(store_event_list(s, r.id - 1, 1, a, &out, &n, &e));
    cr_assert_eq(n, 1);
    return &out[0];
}

static json_t *parse(const char *body)
{
    json_t *v = NULL;
    err_clear(&e);
    cr_assert_eq(jx_parse_object(body, strlen(body), &v, &e), 0, "%s", e.msg);
    return v;
}

/* The thread of an unlimited build, one dumped entry per element. */
static json_t *full_thread(const struct event_row *ev)
{
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, 0, true, a, &bodies, &n, &e));
    cr_assert_eq(n, 1);
    json_t *v = parse(bodies[0]);
    json_t *th = json_incref(json_object_get(v, "thread"));
    json_decref(v);
    return th;
}

static void check_event_fields(json_t *v, const struct event_row *ev)
{
    char id[32];
    snprintf(id, sizeof id, "evt_%lld", (long long)ev->id);
    cr_assert_str_eq(json_string_value(json_object_get(v, "id")), id);
    cr_assert_str_eq(json_string_value(json_object_get(v, "type")), ev->type);
    cr_assert_str_eq(json_string_value(json_object_get(v, "occurred_at")),
                     "2025-11-24T16:00:00.123Z");
    json_t *t = json_object_get(v, "ticket");
    cr_assert(json_is_object(t));
    cr_assert_eq(json_integer_value(json_object_get(t, "id")), tk.id);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(v, "changes"), "status"), "to")),
                     "in_progress");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "actor"), "id")),
                     "alice");
    cr_assert_null(json_object_get(v, "thread_seq"));
}

Test(hook_payload, long_messages_are_delivered_whole_when_they_fit)
{
    size_t lens[] = {500, 1000, 2000, 100000};
    for (size_t i = 0; i < 4; i++)
        add_message(lens[i]);
    struct event_row *ev = push_event("message.created", tk.thread_len, true);
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, 256 * 1024, true, a, &bodies, &n, &e));
    cr_assert_eq(n, 1);
    json_t *v = parse(bodies[0]);
    check_event_fields(v, ev);
    cr_assert_null(json_object_get(v, "part"));
    cr_assert_null(json_object_get(v, "truncated"));
    json_t *th = json_object_get(v, "thread");
    cr_assert_eq(json_array_size(th), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *en = json_array_get(th, i);
        cr_assert_eq(json_integer_value(json_object_get(en, "seq")), (json_int_t)i + 1);
        const char *text = json_string_value(json_object_get(en, "text"));
        cr_assert_eq(strlen(text), lens[i], "entry %zu", i);
        cr_assert_eq(strncmp(text, "привет", 12), 0);
    }
    json_decref(v);

    /* the same with truncate: nothing is cut */
    OK(hook_payload_build(s, ev, 256 * 1024, false, a, &bodies, &n, &e));
    cr_assert_eq(n, 1);
    cr_assert_null(strstr(bodies[0], "\"truncated\""));
}

Test(hook_payload, thread_stops_at_the_events_thread_seq)
{
    for (int i = 0; i < 5; i++)
        add_message(50);
    struct event_row *ev = push_event("ticket.updated", 3, true);
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, 0, true, a, &bodies, &n, &e));
    json_t *v = parse(bodies[0]);
    json_t *th = json_object_get(v, "thread");
    cr_assert_eq(json_array_size(th), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(th, 2), "seq")), 3);
    json_decref(v);
}

Test(hook_payload, split_parts_fit_and_reassemble_to_the_full_thread)
{
    for (int i = 0; i < 40; i++)
        add_message(1000 + (size_t)i * 37);
    struct event_row *ev = push_event("ticket.assigned", tk.thread_len, true);
    json_t *full = full_thread(ev);
    cr_assert_eq(json_array_size(full), 40);

    int64_t max = 6000;
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, max, true, a, &bodies, &n, &e));
    cr_assert_gt(n, 5);
    json_t *joined = json_array();
    for (size_t k = 0; k < n; k++) {
        cr_assert_leq(strlen(bodies[k]), (size_t)max, "part %zu: %zu bytes", k + 1,
                      strlen(bodies[k]));
        json_t *v = parse(bodies[k]);
        check_event_fields(v, ev);
        cr_assert_eq(json_integer_value(json_object_get(v, "part")), (json_int_t)k + 1);
        cr_assert_eq(json_integer_value(json_object_get(v, "parts")), (json_int_t)n);
        json_t *th = json_object_get(v, "thread");
        cr_assert_gt(json_array_size(th), 0);
        json_array_extend(joined, th);
        json_decref(v);
    }
    cr_assert(json_equal(joined, full), "parts reassemble to the full thread");
    json_decref(joined);
    json_decref(full);
}

Test(hook_payload, split_sends_an_oversized_entry_alone)
{
    add_message(500);
    add_message(1000);
    add_message(100000);
    add_message(2000);
    struct event_row *ev = push_event("message.created", tk.thread_len, true);
    json_t *full = full_thread(ev);
    int64_t max = 5000;
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, max, true, a, &bodies, &n, &e));
    cr_assert_eq(n, 3);   /* [500, 1000] [100000] [2000] */
    json_t *joined = json_array();
    for (size_t k = 0; k < n; k++) {
        json_t *v = parse(bodies[k]);
        json_t *th = json_object_get(v, "thread");
        if (k == 1) {
            cr_assert_eq(json_array_size(th), 1);
            cr_assert_gt(strlen(bodies[k]), (size_t)max);
        } else {
            cr_assert_leq(strlen(bodies[k]), (size_t)max);
        }
        json_array_extend(joined, th);
        json_decref(v);
    }
    cr_assert(json_equal(joined, full));
    json_decref(joined);
    json_decref(full);
}

Test(hook_payload, truncate_keeps_the_newest_entries_and_counts_the_rest)
{
    for (int i = 0; i < 30; i++)
        add_message(1000);
    struct event_row *ev = push_event("ticket.escalated", tk.thread_len, true);
    json_t *full = full_thread(ev);
    int64_t max = 8000;
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, max, false, a, &bodies, &n, &e));
    cr_assert_eq(n, 1);
    cr_assert_leq(strlen(bodies[0]), (size_t)max);
    json_t *v = parse(bodies[0]);
    check_event_fields(v, ev);
    cr_assert(json_is_true(json_object_get(v, "truncated")));
    json_t *th = json_object_get(v, "thread");
    size_t kept = json_array_size(th);
    cr_assert_gt(kept, 0);
    cr_assert_lt(kept, 30);
    cr_assert_eq(json_integer_value(json_object_get(v, "omitted")), (json_int_t)(30 - kept));
    for (size_t i = 0; i < kept; i++)
        cr_assert(json_equal(json_array_get(th, i), json_array_get(full, 30 - kept + i)));
    /* one more entry would not have fitted (+1 for the comma, +1 for the
     * digit of "omitted" reserved but perhaps not used) */
    char *next = jx_dumps(json_array_get(full, 30 - kept - 1));
    cr_assert_gt(strlen(bodies[0]) + strlen(next) + 2, (size_t)max);
    mem_free(next);
    json_decref(v);
    json_decref(full);
}

Test(hook_payload, truncate_with_nothing_fitting_still_sends_the_event)
{
    add_message(100000);
    add_message(2000);
    struct event_row *ev = push_event("message.created", tk.thread_len, true);
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, 100, false, a, &bodies, &n, &e));
    cr_assert_eq(n, 1);
    json_t *v = parse(bodies[0]);
    check_event_fields(v, ev);
    cr_assert_eq(json_array_size(json_object_get(v, "thread")), 0);
    cr_assert_eq(json_integer_value(json_object_get(v, "omitted")), 2);
    json_decref(v);
}

Test(hook_payload, event_without_a_ticket)
{
    struct event_row *ev = push_event("customer.blocked", 0, false);
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, ev, 10, true, a, &bodies, &n, &e));
    cr_assert_eq(n, 1);
    json_t *v = parse(bodies[0]);
    cr_assert(json_is_null(json_object_get(v, "ticket")));
    cr_assert_eq(json_array_size(json_object_get(v, "thread")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(v, "type")), "customer.blocked");
    json_decref(v);
}

Test(hook_payload, bad_event_data_is_refused)
{
    struct event_row ev = {.id = 5, .type = "ticket.updated", .ticket_id = tk.id,
                           .occurred_at = 1, .data = "[1,2]"};
    char **bodies;
    size_t n;
    err_clear(&e);
    cr_assert_eq(hook_payload_build(s, &ev, 0, true, a, &bodies, &n, &e), ERR_INVAL);
    ev.data = "{\"ticket\": 3}";
    err_clear(&e);
    cr_assert_eq(hook_payload_build(s, &ev, 0, true, a, &bodies, &n, &e), ERR_INVAL);
    ev.data = "{\"thread_seq\": \"x\"}";
    err_clear(&e);
    cr_assert_eq(hook_payload_build(s, &ev, 0, true, a, &bodies, &n, &e), ERR_INVAL);
}

Test(hook_payload, data_cannot_override_body_members)
{
    struct event_row ev = {.id = 6, .type = "ticket.updated", .ticket_id = 0,
                           .occurred_at = 1,
                           .data = "{\"id\":\"x\",\"thread\":5,\"part\":9,\"reason\":\"r\"}"};
    char **bodies;
    size_t n;
    OK(hook_payload_build(s, &ev, 0, true, a, &bodies, &n, &e));
    json_t *v = parse(bodies[0]);
    cr_assert_str_eq(json_string_value(json_object_get(v, "id")), "evt_6");
    cr_assert(json_is_array(json_object_get(v, "thread")));
    cr_assert_null(json_object_get(v, "part"));
    cr_assert_str_eq(json_string_value(json_object_get(v, "reason")), "r");
    json_decref(v);
}

Test(hook_payload, message_ids)
{
    char id[HOOK_PAYLOAD_MSGID_MAX];
    cr_assert_str_eq(hook_payload_msg_id(42, 1, 1, id), "evt_42");
    cr_assert_str_eq(hook_payload_msg_id(42, 2, 3, id), "evt_42_p2");
}

/* want and got are equal JSON, else say both (case `what` i). */
static void expect_same(json_t *want, json_t *got, const char *what, size_t i)
{
    char *w = jx_dumps(want), *g = jx_dumps(got);
    cr_expect(json_equal(want, got), "%s %zu:\nwant %s\ngot  %s", what, i, w, g);
    mem_free(w);
    mem_free(g);
}

/* Entries are written without jansson: they must be view_entry's objects. */
Test(hook_payload, entries_are_exactly_view_entry)
{
    static const struct kv data[] = {{"from", "open"}, {"to", "in \"progress\""},
                                     {"note", "line\nbreak\ttab\x01"}};
    struct thread_entry entries[] = {
        {.kind = THREAD_MESSAGE, .dir = DIR_INBOUND, .author_type = AUTHOR_CUSTOMER,
         .author_id = "777", .author_name = "Ann \"A\" \\ B", .text = "emoji \xF0\x9F\x98\x80 "
         "€ привет \x7f </script>", .tg_chat_id = 777, .tg_message_id = 5, .at = 1000,
         .edited_at = 1764000000999},
        {.kind = THREAD_EVENT, .dir = DIR_INTERNAL, .author_type = AUTHOR_SYSTEM,
         .text = "status changed", .event = "status_changed", .data = (struct kv *)data,
         .ndata = 3, .at = 253402300799999},
        {.kind = THREAD_NOTE, .dir = DIR_INTERNAL, .author_type = AUTHOR_AGENT,
         .author_id = "alice", .text = NULL, .tg_chat_id = -100123, .at = 1},
        {.kind = THREAD_MESSAGE, .dir = DIR_OUTBOUND, .author_type = AUTHOR_AGENT,
         .author_id = "alice", .text = "bad utf-8 \xC3\x28 here", .at = 951782400000},
    };
    size_t ne = sizeof entries / sizeof entries[0];
    for (size_t i = 0; i < ne; i++) {
        entries[i].ticket_id = tk.id;
        entries[i].seq = tk.thread_len + 1;
        OK(store_thread_append(s, &entries[i], &e));
        tk.thread_len++;
    }
    struct event_row *ev = push_event("ticket.updated", tk.thread_len, true);
    json_t *th = full_thread(ev);
    struct thread_entry *stored;
    size_t n;
    OK(store_thread_list(s, tk.id, a, &stored, &n, &e));
    cr_assert_eq(json_array_size(th), n);
    for (size_t i = 0; i < n; i++) {
        json_t *want = view_entry(&stored[i]);
        expect_same(want, json_array_get(th, i), "entry", i);
        json_decref(want);
    }
    json_decref(th);
}

/* The head spliced from the data text equals the one jansson would build. */
Test(hook_payload, spliced_head_equals_the_jansson_way)
{
    const char *datas[] = {
        "{\"ticket\":null,\"actor\":\"a\"}",
        " { \"changes\" : {\"s\":[1,{\"x\":\"}]\"}]} , \"ticket\" : null , \"n\" : -1.5e3 } ",
        "{\"reason\":\"quote \\\" brace } bracket ] \\\\\",\"ok\":true,\"none\":null}",
        "{\"id\":\"x\",\"type\":\"y\",\"occurred_at\":1,\"thread\":[],\"part\":2,\"keep\":[]}",
        "{\"k\\u0065y\":\"escaped key\",\"ticket\":null}",
        "{}",
    };
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++) {
        struct event_row ev = {.id = 70 + (int64_t)i, .type = "ticket.\"updated\"",
                               .occurred_at = 1764000000123, .data = datas[i]};
        char **bodies;
        size_t n;
        OK(hook_payload_build(s, &ev, 0, true, a, &bodies, &n, &e));
        json_t *got = parse(bodies[0]);
        json_t *data = parse(datas[i]);
        json_t *want = json_object();
        char id[32];
        snprintf(id, sizeof id, "evt_%lld", (long long)ev.id);
        json_object_set_new(want, "id", json_string(id));
        json_object_set_new(want, "type", json_string(ev.type));
        json_object_set_new(want, "occurred_at", json_string("2025-11-24T16:00:00.123Z"));
        json_object_set_new(want, "ticket", json_null());
        const char *k;
        json_t *v;
        static const char *const reserved[] = {"id", "type", "occurred_at", "ticket",
                                               "thread_seq", "thread", "part", "parts",
                                               "truncated", "omitted"};
        json_object_foreach(data, k, v) {
            bool skip = false;
            for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
                skip |= strcmp(k, reserved[r]) == 0;
            if (!skip)
                json_object_set(want, k, v);
        }
        json_object_set_new(want, "thread", json_array());
        expect_same(want, got, "data", i);
        json_decref(want);
        json_decref(data);
        json_decref(got);
    }
}
