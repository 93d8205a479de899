/*
 * test_hook_queue.c — one endpoint's in-memory schedule: per-ticket order,
 * a busy or retrying head holding back only its own ticket, due times,
 * ordering "none", late (replayed) nodes, draining, and a randomised run
 * against a simple model with thousands of tickets (table growth and
 * deletion, heap order).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "webhook/hook_queue.h"

static struct hook_qnode *node(int64_t event, int part, int64_t due)
{
    struct hook_qnode *n = calloc(1, sizeof *n);
    n->event_id = event;
    n->part = part;
    n->due = due;
    return n;
}

static void free_node(struct hook_qnode *n, void *arg)
{
    (*(int *)arg)++;
    free(n);
}

static void drain(struct hook_queue *q)
{
    int freed = 0;
    hook_queue_drain(q, free_node, &freed);
    hook_queue_release(q);
}

Test(hook_queue, per_ticket_heads_only)
{
    struct hook_queue q;
    hook_queue_init(&q, true);
    hook_queue_add(&q, node(1, 1, 0), 10, false);
    hook_queue_add(&q, node(2, 1, 0), 10, false);
    hook_queue_add(&q, node(3, 1, 0), 20, false);
    cr_assert_eq(q.nodes, 3);
    cr_assert_eq(hook_queue_count_due(&q, 0, 10), 2, "two tickets, two heads");
    struct hook_qnode *a = hook_queue_pop(&q, 0);
    struct hook_qnode *b = hook_queue_pop(&q, 0);
    cr_assert_eq(a->event_id, 1);
    cr_assert_eq(b->event_id, 3);
    cr_assert_null(hook_queue_pop(&q, 0), "event 2 waits while event 1 is in flight");
    cr_assert_eq(q.busy, 2);
    hook_queue_remove(&q, a);
    free(a);
    struct hook_qnode *c = hook_queue_pop(&q, 0);
    cr_assert_eq(c->event_id, 2);
    hook_queue_remove(&q, b);
    free(b);
    hook_queue_remove(&q, c);
    free(c);
    cr_assert_eq(q.nodes, 0);
    cr_assert_eq(q.nlists, 0);
    cr_assert_eq(hook_queue_next_due(&q), INT64_MAX);
    drain(&q);
}

Test(hook_queue, retrying_head_holds_its_ticket_only)
{
    struct hook_queue q;
    hook_queue_init(&q, true);
    hook_queue_add(&q, node(1, 1, 100), 10, false);
    hook_queue_add(&q, node(2, 1, 100), 10, false);
    hook_queue_add(&q, node(3, 1, 100), 20, false);
    cr_assert_null(hook_queue_pop(&q, 99), "nothing is due before 100");
    cr_assert_eq(hook_queue_next_due(&q), 100);
    struct hook_qnode *a = hook_queue_pop(&q, 100);
    cr_assert_eq(a->event_id, 1);
    hook_queue_retry(&q, a, 5000);                 /* failed: again at 5000 */
    struct hook_qnode *b = hook_queue_pop(&q, 100);
    cr_assert_eq(b->event_id, 3, "the other ticket goes on");
    cr_assert_null(hook_queue_pop(&q, 4999), "event 2 stays behind the retrying event 1");
    cr_assert_eq(hook_queue_next_due(&q), 5000);
    cr_assert_eq(hook_queue_pop(&q, 5000), a);
    hook_queue_remove(&q, a);
    free(a);
    struct hook_qnode *c = hook_queue_pop(&q, 5000);
    cr_assert_eq(c->event_id, 2);
    hook_queue_remove(&q, c);
    free(c);
    hook_queue_remove(&q, b);
    free(b);
    drain(&q);
}

Test(hook_queue, parts_in_order_and_earliest_due_first)
{
    struct hook_queue q;
    hook_queue_init(&q, true);
    hook_queue_add(&q, node(5, 2, 0), 1, false);
    hook_queue_add(&q, node(5, 1, 0), 1, false);   /* part 1 goes before part 2 */
    hook_queue_add(&q, node(4, 1, 50), 2, false);
    hook_queue_add(&q, node(6, 1, 10), 3, false);
    struct hook_qnode *n = hook_queue_pop(&q, 100);
    cr_assert_eq(n->event_id, 5);
    cr_assert_eq(n->part, 1);
    n = hook_queue_pop(&q, 100);
    cr_assert_eq(n->event_id, 6, "due 10 before due 50");
    n = hook_queue_pop(&q, 100);
    cr_assert_eq(n->event_id, 4);
    cr_assert_null(hook_queue_pop(&q, 100));
    drain(&q);
}

Test(hook_queue, ordering_none_starts_everything_due)
{
    struct hook_queue q;
    hook_queue_init(&q, false);
    for (int i = 1; i <= 5; i++)
        hook_queue_add(&q, node(i, 1, 0), 7, false);   /* all one ticket */
    cr_assert_eq(hook_queue_count_due(&q, 0, 100), 5);
    cr_assert_eq(hook_queue_count_due(&q, 0, 3), 3, "counting stops at the limit");
    for (int i = 1; i <= 5; i++)
        cr_assert_eq(hook_queue_pop(&q, 0)->event_id, i);
    cr_assert_eq(q.busy, 5);
    drain(&q);
}

Test(hook_queue, replayed_node_goes_to_its_place_but_not_before_a_busy_head)
{
    struct hook_queue q;
    hook_queue_init(&q, true);
    hook_queue_add(&q, node(10, 1, 0), 1, false);
    hook_queue_add(&q, node(12, 1, 0), 1, false);
    struct hook_qnode *busy = hook_queue_pop(&q, 0);
    cr_assert_eq(busy->event_id, 10);
    hook_queue_add(&q, node(8, 1, 0), 1, false);    /* older, queued again */
    hook_queue_add(&q, node(11, 1, 0), 1, false);
    hook_queue_remove(&q, busy);
    free(busy);
    int64_t want[] = {8, 11, 12};
    for (int i = 0; i < 3; i++) {
        struct hook_qnode *n = hook_queue_pop(&q, 0);
        cr_assert_not_null(n);
        cr_assert_eq(n->event_id, want[i]);
        hook_queue_remove(&q, n);
        free(n);
    }
    drain(&q);
}

Test(hook_queue, rebuilding_around_running_attempts)
{
    struct hook_queue q;
    hook_queue_init(&q, true);
    struct hook_qnode *running = node(3, 1, 0);
    hook_queue_add(&q, node(4, 1, 0), 1, false);
    hook_queue_add(&q, running, 1, true);            /* in flight: head, busy */
    cr_assert_eq(q.busy, 1);
    cr_assert_null(hook_queue_pop(&q, 0));
    hook_queue_remove(&q, running);
    free(running);
    cr_assert_eq(hook_queue_pop(&q, 0)->event_id, 4);
    drain(&q);
}

Test(hook_queue, drain_hands_back_every_node)
{
    struct hook_queue q;
    hook_queue_init(&q, true);
    for (int i = 0; i < 100; i++)
        hook_queue_add(&q, node(i, 1, 0), i % 7, false);
    hook_queue_pop(&q, 0);
    int freed = 0;
    hook_queue_drain(&q, free_node, &freed);
    cr_assert_eq(freed, 100);
    cr_assert_eq(q.nodes, 0);
    cr_assert_eq(q.busy, 0);
    cr_assert_null(hook_queue_pop(&q, 0));
    hook_queue_add(&q, node(1, 1, 0), 1, false);     /* usable again */
    cr_assert_eq(hook_queue_pop(&q, 0)->event_id, 1);
    drain(&q);
}

/* Thousands of tickets, random failures: every node comes out exactly once,
 * per ticket in event order, never before it is due, and never while
 * another node of its ticket is in flight. */
Test(hook_queue, randomised_against_a_model)
{
    enum { TICKETS = 3000, EVENTS = 30000 };
    struct hook_queue q;
    hook_queue_init(&q, true);
    static int64_t last_done[TICKETS];
    static bool in_flight[TICKETS];
    srand(7);
    for (int e = 1; e <= EVENTS; e++) {
        struct hook_qnode *n = node(e, 1, rand() % 1000);
        hook_queue_add(&q, n, e % TICKETS, false);
    }
    struct hook_qnode *flight[64];
    int nflight = 0;
    int64_t now = 0;
    size_t done = 0;
    while (done < EVENTS) {
        struct hook_qnode *n;
        while (nflight < 64 && (n = hook_queue_pop(&q, now)) != NULL) {
            int t = (int)(n->event_id % TICKETS);
            cr_assert(n->due <= now, "started before due");
            cr_assert_not(in_flight[t], "two of ticket %d in flight", t);
            cr_assert_gt(n->event_id, last_done[t], "ticket %d out of order", t);
            in_flight[t] = true;
            flight[nflight++] = n;
        }
        if (nflight == 0) {
            now = hook_queue_next_due(&q);
            cr_assert_neq(now, INT64_MAX, "nodes left but none due ever");
            continue;
        }
        int k = rand() % nflight;
        n = flight[k];
        flight[k] = flight[--nflight];
        int t = (int)(n->event_id % TICKETS);
        in_flight[t] = false;
        if (rand() % 4 == 0) {
            hook_queue_retry(&q, n, now + 1 + rand() % 500);
        } else {
            last_done[t] = n->event_id;
            hook_queue_remove(&q, n);
            free(n);
            done++;
        }
        now += rand() % 3;
    }
    cr_assert_eq(q.nodes, 0);
    cr_assert_eq(q.nlists, 0);
    drain(&q);
}
