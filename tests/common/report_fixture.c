/*
 * report_fixture.c — the hand-built check report (report_fixture.h).
 */
#include "common/report_fixture.h"

#include "base/clock.h"

#include <stdio.h>

/* A ticket's final state / a webhook body, with ids and times as a run makes them. */
static const char *ticket_json(struct check_report *r, int64_t id, int64_t origin,
                               const char *assignee, int64_t due_ms)
{
    char created[CLOCK_ISO_LEN], due[CLOCK_ISO_LEN];
    clock_fmt_iso(origin + 1000, created);
    clock_fmt_iso(origin + due_ms, due);
    return check_report_printf(
        r, "{\"id\":%lld,\"status\":\"open\",\"assignee\":\"%s\",\"topic_id\":%lld,"
           "\"customer\":{\"id\":%lld,\"telegram_user_id\":5001,\"first_name\":\"Ann\"},"
           "\"created_at\":\"%s\",\"sla\":{\"first_response\":{\"due_at\":\"%s\"}},"
           "\"first_response_ms\":null}",
        (long long)id, assignee, (long long)(id + 700), (long long)(id + 40), created, due);
}

static const char *webhook_json(struct check_report *r, int64_t evt, int64_t ticket,
                                int64_t origin, const char *type)
{
    char at[CLOCK_ISO_LEN];
    clock_fmt_iso(origin + 1200, at);
    return check_report_printf(r, "{\"id\":\"evt_%lld\",\"type\":\"%s\",\"occurred_at\":\"%s\","
                                  "\"ticket\":{\"id\":%lld,\"priority\":\"high\"}}",
                               (long long)evt, type, at, (long long)ticket);
}

static struct check_step *step(struct check_report *r, struct check_case *c, const char *kind,
                               const char *name, int line, int64_t a, int64_t z)
{
    struct check_step *s = check_case_add_step(r, c);
    s->kind = check_report_str(r, kind);
    s->name = check_report_str(r, name);
    s->file = c->file;
    s->line = line;
    s->column = 9;
    s->clock_start_ms = a;
    s->clock_end_ms = z;
    s->real_ms = 3;
    return s;
}

static struct check_event *event(struct check_report *r, struct check_case *c, int64_t at,
                                 enum check_lane from, enum check_lane to, const char *label,
                                 int stepno)
{
    struct check_event *ev = check_case_add_event(r, c, at, label);
    ev->from = from;
    ev->to = to;
    ev->step = stepno;
    return ev;
}

static const char **strings(struct check_report *r, const char *a, const char *b)
{
    const char **v = arena_alloc(r->a, 2 * sizeof *v);
    v[0] = check_report_str(r, a);
    v[1] = check_report_str(r, b);
    return v;
}

struct check_report *report_fixture_new(int64_t base, int64_t origin)
{
    struct check_report *r = NULL;
    if (check_report_new(&r) != 0)
        return NULL;
    r->seed = 424242;
    r->target = "sandbox";
    r->started_at = 1764000000000;
    r->real_ms = 2345;
    check_report_add_item(r, "webhooks", "Webhook Integration delivers 100% of test payloads "
                                         "without truncation");
    check_report_add_item(r, "routing", "Agent Assignment rules match expected routing");
    check_report_add_item(r, "kb", "Knowledge Base Integration returns relevant articles");

    /* 1: failed, with near misses, a fault span, an SLA line and highlighted events */
    struct check_case *c = check_report_add_case(r);
    c->suite = "routing <&> \"escalation\"";
    c->file = "suites/routing.yaml";
    c->scenario = "VIP customer goes to tier-2 \xF0\x9F\x9A\x80 while the desk is down";
    c->expect = "the ticket is assigned to bob & a webhook says so";
    c->line = 12;
    c->seed = 1111;
    c->status = CHECK_FAILED;
    c->real_ms = 120;
    c->clock_ms = 15 * 60000;
    c->clock_origin_ms = origin;
    c->checklist = strings(r, "routing", "webhooks");
    c->nchecklist = 2;
    c->tags = strings(r, "vip", "faults");
    c->ntags = 2;
    c->log = "serve: listening on 127.0.0.1:40123\n\x01 bell\x07 done";
    step(r, c, "send", "ann: I need help <now> & \"fast\"", 14, 0, 1000);
    step(r, c, "fault", "helpdesk down for 5m", 15, 1000, 1000);
    step(r, c, "advance", "10m", 16, 1000, 601000);
    struct check_step *s = step(r, c, "expect_webhook", "ticket.assigned to bob", 17,
                                601000, 631000);
    s->status = CHECK_FAILED;
    s->polls = 31;
    s->expected = "a webhook ticket.assigned with $.ticket.assignee = \"bob\"";
    s->seen = "2 webhooks, none matched\nclosest: #2";
    check_step_add_near(r, s, "webhook #2 (ticket.assigned to hd)",
                        "$.ticket.assignee: want \"bob\", got \"alice\"");
    check_step_add_near(r, s, "webhook #1 (ticket.created to hd)",
                        "$.type: want \"ticket.assigned\", got \"ticket.created\"\n"
                        "$.ticket.assignee: want \"bob\", got null");
    event(r, c, 0, LANE_CUSTOMER, LANE_TELEGRAM, "message from ann: I need help <now>", 0);
    event(r, c, 40, LANE_TELEGRAM, LANE_CRM, "getUpdates \xE2\x86\x92 1 update", 0);
    event(r, c, 80, LANE_CRM, LANE_TELEGRAM, "createForumTopic", 0);
    event(r, c, 90, LANE_CRM, LANE_CRM, "ticket #1 created", 0);
    struct check_event *ev = event(r, c, 1000, LANE_FAULT, LANE_FAULT,
                                   "helpdesk down (connection refused)", 1);
    ev->until_ms = 301000;
    event(r, c, 1200, LANE_CRM, LANE_HELPDESK, "ticket.created #1 \xE2\x80\x94 refused", -1)
        ->detail = "{\"type\":\"ticket.created\"}";
    event(r, c, 301500, LANE_CRM, LANE_HELPDESK, "ticket.created #1 (retry 3)", -1);
    event(r, c, 600000, LANE_SLA, LANE_SLA, "SLA first response due", -1);
    ev = event(r, c, 602000, LANE_CRM, LANE_HELPDESK, "ticket.assigned #1 \xE2\x86\x92 alice", 3);
    ev->failed = true;
    ev = event(r, c, 631000, LANE_HELPDESK, LANE_HELPDESK, "expected ticket.assigned to bob", 3);
    ev->failed = true;
    check_case_add_obs(r, c, "ticket", check_report_printf(r, "%lld", (long long)base + 1),
                       ticket_json(r, base + 1, origin, "alice", 600000), 631000);
    check_case_add_obs(r, c, "webhook", "hd ticket.created",
                       webhook_json(r, base + 90, base + 1, origin, "ticket.created"), 301500);
    check_case_add_obs(r, c, "webhook", "hd ticket.assigned",
                       webhook_json(r, base + 91, base + 1, origin, "ticket.assigned"), 602000);
    check_case_add_obs(r, c, "telegram", "sendMessage 5001",
                       "{\"chat_id\":5001,\"text\":\"We got your message\"}", 100);

    /* 2: passed, two tickets (so two placeholders) */
    c = check_report_add_case(r);
    c->suite = "webhooks";
    c->file = "suites/webhooks.yaml";
    c->scenario = "every payload arrives whole";
    c->expect = "three webhooks, signed, untruncated";
    c->line = 3;
    c->seed = 2222;
    c->status = CHECK_PASSED;
    c->clock_ms = 2000;
    c->clock_origin_ms = origin;
    c->checklist = strings(r, "webhooks", NULL);
    c->nchecklist = 1;
    step(r, c, "send", "bob: hello", 5, 0, 10);
    step(r, c, "expect_webhook", "ticket.created", 6, 10, 50)->polls = 2;
    event(r, c, 0, LANE_CUSTOMER, LANE_TELEGRAM, "message from bob", 0);
    event(r, c, 20, LANE_CRM, LANE_HELPDESK, "ticket.created #2", 1);
    check_case_add_obs(r, c, "ticket", check_report_printf(r, "%lld", (long long)base + 2),
                       ticket_json(r, base + 2, origin, "carol", 900000), 50);
    check_case_add_obs(r, c, "ticket", check_report_printf(r, "%lld", (long long)base + 3),
                       ticket_json(r, base + 3, origin, "carol", 900000), 60);

    /* 3: skipped on this target, with control characters in its name */
    c = check_report_add_case(r);
    c->suite = "webhooks";
    c->file = "suites/webhooks.yaml";
    c->scenario = "partition\x01\x1b[31m for 5 minutes";
    c->line = 30;
    c->seed = 3333;
    c->status = CHECK_SKIPPED;
    s = step(r, c, "fault", "partition telegram", 31, 0, 0);
    s->status = CHECK_SKIPPED;
    s->reason = "faults need the sandbox target";
    check_report_tally(r);
    return r;
}
