/*
 * payload_cases.c — webhook delivery bodies for schema.mjs (tests/webhook_npm).
 *
 * Builds a temporary SQLite store (the path in argv[1], which must not
 * exist), writes a customer, a ticket with a mixed thread (customer and
 * agent messages, a note, system events with data, multi-byte and
 * 100,000-character texts) and events like the engine's, then prints every
 * body hook_payload_build makes for them, one a line: whole, oversize split,
 * oversize truncate, and an event about no ticket.
 *
 * Usage: payload_cases DB_PATH
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/jx.h"
#include "base/mem.h"
#include "desk/sla.h"
#include "desk/view.h"
#include "store/store.h"
#include "webhook/hook_payload.h"

static int fail(const char *what, const struct err *e)
{
    fprintf(stderr, "payload_cases: %s: %s\n", what, e->msg);
    return 1;
}

static int add_entry(struct store *s, struct ticket *t, enum thread_kind kind,
                     enum author_type who, const char *text, struct err *e)
{
    static struct kv data[] = {{"from", "open"}, {"to", "in_progress"}};
    struct thread_entry te = {
        .ticket_id = t->id, .seq = t->thread_len + 1, .kind = kind,
        .dir = kind == THREAD_MESSAGE ? (who == AUTHOR_CUSTOMER ? DIR_INBOUND : DIR_OUTBOUND)
                                      : DIR_INTERNAL,
        .author_type = who, .author_id = who == AUTHOR_AGENT ? "alice" : "777",
        .author_name = who == AUTHOR_SYSTEM ? NULL : "Someone", .text = text,
        .event = kind == THREAD_EVENT ? "status_changed" : NULL,
        .data = kind == THREAD_EVENT ? data : NULL, .ndata = kind == THREAD_EVENT ? 2 : 0,
        .tg_chat_id = kind == THREAD_MESSAGE ? 777 : 0,
        .tg_message_id = kind == THREAD_MESSAGE ? 100 + t->thread_len : 0,
        .at = 1764000000000 + t->thread_len * 1000,
        .edited_at = t->thread_len == 2 ? 1764000009000 : 0,
    };
    int rc = store_thread_append(s, &te, e);
    if (rc == 0)
        t->thread_len++;
    return rc;
}

static int print_bodies(struct store *s, const struct event_row *ev, int64_t max, bool split,
                        struct arena *a, struct err *e)
{
    char **bodies;
    size_t n;
    int rc = hook_payload_build(s, ev, max, split, a, &bodies, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        puts(bodies[i]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: payload_cases DB_PATH\n");
        return 2;
    }
    struct cfg_store cfg = {.driver = "sqlite", .path = argv[1], .synchronous = "normal",
                            .busy_timeout_ms = 2000, .read_connections = 1};
    struct err e = {0};
    struct store *s = NULL;
    struct arena *a = arena_new(0);
    int rc = 1;
    if (store_open(&cfg, STORE_RW, &s, &e) != 0) {
        rc = fail("open", &e);
        goto out;
    }
    struct customer c = {.tg_user_id = 777, .first_name = "Аня", .last_name = "K",
                         .tier = "vip", .created_at = 1764000000000};
    if (store_customer_insert(s, &c, &e) != 0) {
        rc = fail("customer", &e);
        goto out_store;
    }
    static struct kv fields[] = {{"order", "A-17"}};
    static const char *tags[] = {"billing", "refund"};
    /* SLA clocks in every state the schema knows: met, running, never started */
    struct cfg_sla_policy gold = {.name = "gold", .first_response_ms = 120000,
                                  .resolution_ms = 600000, .warn_before_ms = 30000};
    struct sla_state clocks;
    struct sla_events sla_out;
    sla_on_created(&clocks, &gold, PRIORITY_HIGH, 1764000000000);
    sla_on_agent_reply(&clocks, &gold, 1764000050000, &sla_out);
    const char *applied[] = {"urgent"};
    struct ticket t = {.sla = &clocks, .escalations = applied, .nescalations = 1,
                       .rule = "billing", .strategy = "round_robin",
                       .customer_id = c.id, .status = TICKET_IN_PROGRESS,
                       .priority = PRIORITY_HIGH, .group = "billing", .assignee = "alice",
                       .subject = "Refund 👋", .fields = fields, .nfields = 1, .tags = tags,
                       .ntags = 2, .topic_id = 55, .created_at = 1764000000000,
                       .updated_at = 1764000100000, .first_response_at = 1764000050000};
    if (store_ticket_insert(s, &t, &e) != 0) {
        rc = fail("ticket", &e);
        goto out_store;
    }
    char *big = mem_alloc(100001);
    memset(big, 'x', 100000);
    int err = 0;
    err |= add_entry(s, &t, THREAD_MESSAGE, AUTHOR_CUSTOMER, "Привет, где мой возврат? 你好", &e);
    err |= add_entry(s, &t, THREAD_EVENT, AUTHOR_SYSTEM, "status changed", &e);
    err |= add_entry(s, &t, THREAD_MESSAGE, AUTHOR_AGENT, "Looking into it", &e);
    err |= add_entry(s, &t, THREAD_NOTE, AUTHOR_AGENT, "check the ledger", &e);
    err |= add_entry(s, &t, THREAD_MESSAGE, AUTHOR_CUSTOMER, big, &e);
    for (int i = 0; i < 20; i++)
        err |= add_entry(s, &t, THREAD_MESSAGE, i % 2 ? AUTHOR_AGENT : AUTHOR_CUSTOMER,
                         "a reply of moderate length, repeated to fill the thread", &e);
    mem_free(big);
    if (err != 0) {
        rc = fail("thread", &e);
        goto out_store;
    }
    json_t *data = json_pack("{s:{s:s,s:s}, s:o, s:i}", "actor", "type", "agent", "id",
                             "alice", "ticket", view_ticket(&t, &c), "thread_seq",
                             (json_int_t)t.thread_len);
    char *text = jx_dumps(data);
    json_decref(data);
    struct event_row ev = {.type = "message.created", .ticket_id = t.id,
                           .occurred_at = 1764000200000, .data = text};
    struct event_row blocked = {.type = "customer.blocked", .ticket_id = 0,
                                .occurred_at = 1764000300000,
                                .data = "{\"customer_id\": 1, \"reason\": \"403\"}"};
    if (store_event_push(s, &ev, &e) != 0 || store_event_push(s, &blocked, &e) != 0) {
        rc = fail("event", &e);
        goto out_text;
    }
    if (print_bodies(s, &ev, 0, true, a, &e) != 0 ||
        print_bodies(s, &ev, 4096, true, a, &e) != 0 ||
        print_bodies(s, &ev, 4096, false, a, &e) != 0 ||
        print_bodies(s, &blocked, 4096, true, a, &e) != 0) {
        rc = fail("build", &e);
        goto out_text;
    }
    rc = 0;
out_text:
    mem_free(text);
out_store:
    store_close(&s);
out:
    arena_free(&a);
    return rc;
}
