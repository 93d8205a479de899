/*
 * test_baseline.c — behaviour baselines: normalisation (the same id twice
 * gives the same placeholder, different ids different ones, timestamps as
 * scenario-clock offsets or counted placeholders, config names kept), the
 * file byte-identical for two runs that behaved the same, and the
 * comparison finding added, removed and changed observations, status and
 * step changes and reordering — and nothing when nothing changed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "check/baseline.h"
#include "common/report_fixture.h"

#define ORIGIN 1767225600000LL

static char *render(const struct check_report *r)
{
    struct buf b;
    buf_init(&b, 0);
    struct err e = {0};
    cr_assert_eq(baseline_render(r, &b, &e), 0, "%s", e.msg);
    return buf_detach(&b);
}

/* Compare cur with the baseline text; the printed comparison in *out. */
static size_t compare(const char *old, const struct check_report *cur, char **out)
{
    size_t n = 0, changes = 999;
    FILE *f = open_memstream(out, &n);
    struct err e = {0};
    cr_assert_eq(baseline_compare(old, strlen(old), "base.json", cur, f, &changes, &e), 0, "%s",
                 e.msg);
    fclose(f);
    return changes;
}

static const char *jstr(json_t *v, const char *path)
{
    json_t *cur = v;
    char *copy = mem_strdup(path), *save = NULL;
    for (char *k = strtok_r(copy, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(k)) : json_object_get(cur, k);
    mem_free(copy);
    cr_assert(json_is_string(cur), "%s is not a string", path);
    return json_string_value(cur);
}

Test(baseline, same_id_same_placeholder)
{
    struct check_report *r = report_fixture_new(100, ORIGIN);
    json_t *c = baseline_case(&r->cases[0]);
    /* ticket 101: the ticket's key, its id, and the ticket in both webhooks */
    cr_assert_str_eq(jstr(c, "observations.ticket.0.key"), "<ticket#1>");
    cr_assert_str_eq(jstr(c, "observations.ticket.0.value.id"), "<ticket#1>");
    cr_assert_str_eq(jstr(c, "observations.webhook.0.value.ticket.id"), "<ticket#1>");
    cr_assert_str_eq(jstr(c, "observations.webhook.1.value.ticket.id"), "<ticket#1>");
    /* two webhook events: two placeholders */
    cr_assert_str_eq(jstr(c, "observations.webhook.0.value.id"), "<webhook#1>");
    cr_assert_str_eq(jstr(c, "observations.webhook.1.value.id"), "<webhook#2>");
    /* categories by name: topic_id, customer.id, telegram_user_id; chat in a key */
    cr_assert_str_eq(jstr(c, "observations.ticket.0.value.topic_id"), "<topic#1>");
    cr_assert_str_eq(jstr(c, "observations.ticket.0.value.customer.id"), "<customer#1>");
    cr_assert_str_eq(jstr(c, "observations.ticket.0.value.customer.telegram_user_id"),
                     "<user#1>");
    cr_assert_str_eq(jstr(c, "observations.telegram.0.key"), "sendMessage <chat#1>");
    cr_assert_str_eq(jstr(c, "observations.telegram.0.value.chat_id"), "<chat#1>");
    /* what a person configured stays: agents, types, texts */
    cr_assert_str_eq(jstr(c, "observations.ticket.0.value.assignee"), "alice");
    cr_assert_str_eq(jstr(c, "observations.webhook.1.value.type"), "ticket.assigned");
    cr_assert_str_eq(jstr(c, "observations.telegram.0.value.text"), "We got your message");
    /* timestamps: offsets on the scenario clock */
    cr_assert_str_eq(jstr(c, "observations.ticket.0.value.created_at"), "T+00:00:01.000");
    cr_assert_str_eq(jstr(c, "observations.ticket.0.value.sla.first_response.due_at"),
                     "T+00:10:00.000");
    cr_assert_str_eq(jstr(c, "observations.webhook.0.at"), "T+00:05:01.500");
    /* observations of a kind in clock order, whatever order they came in */
    cr_assert_str_eq(jstr(c, "observations.webhook.0.key"), "hd ticket.created");
    cr_assert_str_eq(jstr(c, "steps.3.status"), "failed");
    cr_assert_str_eq(jstr(c, "status"), "failed");
    json_decref(c);
    /* another case counts from 1 again; two tickets are two placeholders */
    c = baseline_case(&r->cases[1]);
    cr_assert_str_eq(jstr(c, "observations.ticket.0.key"), "<ticket#1>");
    cr_assert_str_eq(jstr(c, "observations.ticket.1.key"), "<ticket#2>");
    cr_assert_str_eq(jstr(c, "observations.ticket.1.value.id"), "<ticket#2>");
    json_decref(c);
    check_report_free(&r);
}

Test(baseline, times_without_origin_are_counted)
{
    struct check_report *r = report_fixture_new(100, ORIGIN);
    r->cases[1].clock_origin_ms = 0;        /* live: the clock's origin is unknown */
    json_t *c = baseline_case(&r->cases[1]);
    const char *created = jstr(c, "observations.ticket.0.value.created_at");
    const char *due = jstr(c, "observations.ticket.0.value.sla.first_response.due_at");
    cr_assert_str_eq(created, "<time#1>");
    cr_assert_str_eq(due, "<time#2>");
    cr_assert_str_eq(jstr(c, "observations.ticket.1.value.created_at"), "<time#1>",
                     "the same time twice");
    json_decref(c);
    check_report_free(&r);
}

Test(baseline, ids_that_are_names_are_kept)
{
    struct check_report *r = NULL;
    cr_assert_eq(check_report_new(&r), 0);
    struct check_case *c = check_report_add_case(r);
    c->suite = "s";
    c->scenario = "x";
    check_case_add_obs(r, c, "webhook", "hd message.created",
                       "{\"thread\":[{\"author\":{\"id\":\"alice\",\"type\":\"agent\"}},"
                       "{\"author\":{\"id\":\"agent-2\"}},{\"author\":{\"id\":\"17\"}}],"
                       "\"rule_id\":\"vip\",\"delivery_id\":\"3f2b8c1e-9a7d-4e21-8b5a-1c2d3e4f5a6b\","
                       "\"message_ids\":[5,6,5],\"request_id\":\"req_8Hk2\"}", 0);
    json_t *j = baseline_case(c);
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.thread.0.author.id"), "alice");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.thread.1.author.id"), "agent-2");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.thread.2.author.id"), "<author#1>");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.rule_id"), "vip");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.delivery_id"), "<delivery#1>");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.request_id"), "<request#1>");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.message_ids.0"), "<message#1>");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.message_ids.1"), "<message#2>");
    cr_assert_str_eq(jstr(j, "observations.webhook.0.value.message_ids.2"), "<message#1>");
    json_decref(j);
    check_report_free(&r);
}

Test(baseline, same_behaviour_same_bytes)
{
    /* two runs whose ids and clock origin differ but which behaved the same */
    struct check_report *a = report_fixture_new(100, ORIGIN);
    struct check_report *b = report_fixture_new(5000, ORIGIN + 86400000);
    b->cases[0].real_ms = 99999;      /* wall times never reach the file */
    b->real_ms = 1;
    /* the run order (--shuffle) does not matter either */
    struct check_case tmp = b->cases[0];
    b->cases[0] = b->cases[2];
    b->cases[2] = tmp;
    char *ta = render(a), *tb = render(b);
    cr_assert_str_eq(ta, tb);
    cr_assert(ta[strlen(ta) - 1] == '\n');
    cr_assert_not_null(strstr(ta, "\"baseline\": 1"));
    cr_assert_null(strstr(ta, "101"), "no raw id");
    cr_assert_null(strstr(ta, "2026-"), "no raw timestamp");
    char *out = NULL;
    cr_assert_eq(compare(ta, b, &out), 0);
    cr_assert_not_null(strstr(out, "baseline: no change in behaviour"), "%s", out);
    free(out);
    mem_free(ta);
    mem_free(tb);
    check_report_free(&a);
    check_report_free(&b);
}

/* The baseline a run of the unchanged fixture records (mem_free). */
static char *fixture_baseline(void)
{
    struct check_report *was = report_fixture_new(100, ORIGIN);
    char *text = render(was);
    check_report_free(&was);
    return text;
}

Test(baseline, compare_reports_every_change)
{
    char *old = fixture_baseline();
    struct check_report *r = report_fixture_new(100, ORIGIN);
    /* case 2 (webhooks › every payload...): passed -> failed, a step failed,
     * the second ticket assigned to dave, the first ticket gone */
    struct check_case *c = &r->cases[1];
    c->status = CHECK_FAILED;
    c->steps[1].status = CHECK_FAILED;
    c->obs[1].value = "{\"id\":103,\"assignee\":\"dave\"}";
    c->obs[0] = c->obs[1];
    c->nobs = 1;
    /* case 1: a webhook more */
    check_case_add_obs(r, &r->cases[0], "webhook", "hd ticket.escalated",
                       "{\"id\":\"evt_300\",\"type\":\"ticket.escalated\"}", 700000);
    char *out = NULL;
    size_t n = compare(old, r, &out);
    cr_assert_not_null(strstr(out, "    + webhook hd ticket.escalated at T+00:11:40.000: "
                                   "{\"id\":\"<webhook#3>\",\"type\":\"ticket.escalated\"}"), "%s", out);
    cr_assert_not_null(strstr(out, "    status: passed -> failed\n"), "%s", out);
    cr_assert_not_null(strstr(out, "    ~ step 2 expect_webhook \"ticket.created\"\n"
                                   "        $.status: \"passed\" -> \"failed\"\n"), "%s", out);
    cr_assert_not_null(strstr(out, "    ~ ticket <ticket#1> at T+00:00:00.060\n"
                                   "        at: \"T+00:00:00.050\" -> \"T+00:00:00.060\"\n"), "%s", out);
    cr_assert_not_null(strstr(out, "        $.assignee: \"carol\" -> \"dave\"\n"), "%s", out);
    cr_assert_not_null(strstr(out, "        $.customer: {"), "%s", out);
    cr_assert_not_null(strstr(out, "-> (absent)"), "%s", out);
    cr_assert_not_null(strstr(out, "    - ticket <ticket#2> at T+00:00:00.060: "), "%s", out);
    /* 1 added webhook; status, step, changed ticket, removed ticket */
    cr_assert_eq(n, 5, "%zu changes:\n%s", n, out);
    cr_assert_not_null(strstr(out, "baseline: 5 changes in behaviour"), "%s", out);
    free(out);
    mem_free(old);
    check_report_free(&r);
}

Test(baseline, compare_sees_order_and_cases)
{
    char *old = fixture_baseline();
    struct check_report *r = report_fixture_new(100, ORIGIN);
    /* the two webhooks arrive at the same time, in the other order */
    struct check_case *c = &r->cases[0];
    c->obs[1].at_ms = c->obs[2].at_ms;
    struct check_observation tmp = c->obs[1];
    c->obs[1] = c->obs[2];
    c->obs[2] = tmp;
    /* a scenario renamed: one gone, one new */
    r->cases[2].scenario = "partition for five minutes";
    char *out = NULL;
    size_t n = compare(old, r, &out);
    cr_assert_not_null(strstr(out, "~ order of webhook observations changed:\n"
                                   "        was: hd ticket.created, hd ticket.assigned\n"
                                   "        now: hd ticket.assigned, hd ticket.created\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "  + webhooks \xE2\x80\xBA partition for five minutes "
                                   "(repeat 1): a new scenario run (skipped)"), "%s", out);
    cr_assert_not_null(strstr(out, "  - webhooks \xE2\x80\xBA partition\\x01\\x1B[31m "
                                   "for 5 minutes"), "%s", out);
    /* order; the created webhook now at another time; the numbering of the
     * two webhook events swapped; added case; removed case */
    cr_assert_geq(n, 4, "%s", out);
    free(out);
    mem_free(old);
    check_report_free(&r);
}

Test(baseline, a_step_added_is_one_change)
{
    char *old = fixture_baseline();
    struct check_report *r = report_fixture_new(100, ORIGIN);
    /* a step written into the middle of case 1: the later steps keep their identity */
    struct check_case *c = &r->cases[0];
    check_case_add_step(r, c);
    memmove(&c->steps[2], &c->steps[1], (c->nsteps - 2) * sizeof *c->steps);
    memset(&c->steps[1], 0, sizeof *c->steps);
    c->steps[1].kind = "wait";
    c->steps[1].name = "settle";
    c->steps[1].clock_start_ms = c->steps[1].clock_end_ms = 1000;
    /* and the last step dropped from case 2 */
    r->cases[1].nsteps = 1;
    char *out = NULL;
    size_t n = compare(old, r, &out);
    cr_assert_not_null(strstr(out, "    + step 2 wait \"settle\": passed\n"), "%s", out);
    cr_assert_not_null(strstr(out, "    - step 2 expect_webhook \"ticket.created\": passed\n"),
                       "%s", out);
    cr_assert_null(strstr(out, "~ step"), "%s", out);
    cr_assert_eq(n, 2, "%s", out);
    free(out);
    mem_free(old);
    check_report_free(&r);
}

Test(baseline, refuses_what_is_not_a_baseline)
{
    struct check_report *r = report_fixture_new(100, ORIGIN);
    size_t changes = 7;
    struct err e = {0};
    cr_assert_eq(baseline_compare("{\"junit\":1}", 11, "x.json", r, stderr, &changes, &e),
                 ERR_INVAL);
    cr_assert_not_null(strstr(e.msg, "'x.json' is not a tgcrm check baseline"), "%s", e.msg);
    err_clear(&e);
    cr_assert_eq(baseline_compare("{\"baseline\":1,", 14, "y.json", r, stderr, &changes, &e),
                 ERR_INVAL);
    cr_assert_not_null(strstr(e.msg, "'y.json' is not a tgcrm check baseline: "
                                     "malformed JSON at line 1"), "%s",
                       e.msg);
    cr_assert_eq(changes, 0);
    check_report_free(&r);
}
