/*
 * test_workflow.c — the status workflow, driven by tests/cases/workflow.tsv.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/cases.h"
#include "desk/workflow.h"

static enum workflow_actor actor(const char *s)
{
    return strcmp(s, "customer") == 0 ? WORKFLOW_BY_CUSTOMER : WORKFLOW_BY_AGENT;
}

Test(workflow, table)
{
    struct case_row *rows;
    size_t n;
    cases_load("tests/cases/workflow.tsv", &rows, &n);
    cr_assert_gt(n, 20, "the workflow table should have all its rows");
    for (size_t i = 0; i < n; i++) {
        struct case_row *r = &rows[i];
        cr_assert_eq(r->ncols, 4, "workflow.tsv:%d: want 4 columns", r->line);
        enum ticket_status from, to;
        cr_assert_eq(ticket_status_parse(r->cols[0], &from, NULL), 0, "line %d", r->line);
        cr_assert_eq(ticket_status_parse(r->cols[1], &to, NULL), 0, "line %d", r->line);
        struct err e = {0};
        int rc = workflow_check(from, to, actor(r->cols[2]), &e);
        if (strcmp(r->cols[3], "ok") == 0) {
            cr_expect_eq(rc, 0, "workflow.tsv:%d: %s -> %s by %s refused: %s", r->line,
                         r->cols[0], r->cols[1], r->cols[2], e.msg);
        } else {
            const char *want = r->cols[3] + strlen("conflict: ");
            cr_expect_eq(rc, ERR_CONFLICT, "workflow.tsv:%d: %s -> %s allowed", r->line,
                         r->cols[0], r->cols[1]);
            cr_expect(strstr(e.msg, want) != NULL, "workflow.tsv:%d: message '%s' lacks '%s'",
                      r->line, e.msg, want);
            cr_expect_str_eq(e.field, "status");
        }
    }
    cases_free(rows, n);
}

Test(workflow, agent_reply_moves_open_to_in_progress_only)
{
    cr_assert_eq(workflow_after_agent_reply(TICKET_OPEN), TICKET_IN_PROGRESS);
    cr_assert_eq(workflow_after_agent_reply(TICKET_IN_PROGRESS), TICKET_IN_PROGRESS);
    cr_assert_eq(workflow_after_agent_reply(TICKET_ON_HOLD), TICKET_ON_HOLD);
    cr_assert_eq(workflow_after_agent_reply(TICKET_RESOLVED), TICKET_RESOLVED);
}

Test(workflow, customer_message_per_status_and_policy)
{
    for (int s = 0; s < TICKET_STATUS_COUNT; s++) {
        enum workflow_inbound r = workflow_on_customer_message((enum ticket_status)s, WORKFLOW_REOPEN);
        enum workflow_inbound n = workflow_on_customer_message((enum ticket_status)s, WORKFLOW_NEW_TICKET);
        if (ticket_status_is_active((enum ticket_status)s)) {
            cr_expect_eq(r, WORKFLOW_APPEND);
            cr_expect_eq(n, WORKFLOW_APPEND);
        }
    }
    cr_expect_eq(workflow_on_customer_message(TICKET_RESOLVED, WORKFLOW_NEW_TICKET), WORKFLOW_APPEND_REOPEN);
    cr_expect_eq(workflow_on_customer_message(TICKET_CLOSED, WORKFLOW_REOPEN), WORKFLOW_APPEND_REOPEN);
    cr_expect_eq(workflow_on_customer_message(TICKET_CLOSED, WORKFLOW_NEW_TICKET), WORKFLOW_OPEN_NEW);
}

Test(workflow, reopen_policy_names)
{
    enum workflow_reopen r;
    cr_assert_eq(workflow_reopen_parse("reopen", &r), 0);
    cr_assert_eq(r, WORKFLOW_REOPEN);
    cr_assert_eq(workflow_reopen_parse("new_ticket", &r), 0);
    cr_assert_eq(r, WORKFLOW_NEW_TICKET);
    cr_assert_eq(workflow_reopen_parse("sometimes", &r), ERR_INVAL);
    cr_assert_str_eq(workflow_reopen_name(WORKFLOW_NEW_TICKET), "new_ticket");
}

Test(workflow, out_of_range_is_refused)
{
    cr_assert_not(workflow_allowed((enum ticket_status)99, TICKET_OPEN, WORKFLOW_BY_AGENT));
    cr_assert_not(workflow_allowed(TICKET_OPEN, (enum ticket_status)-1, WORKFLOW_BY_AGENT));
}
