/*
 * test_command.c — topic command parsing, driven by tests/cases/commands.tsv.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/cases.h"
#include "desk/command.h"

static const char *kind_name(enum command_kind k)
{
    static const char *names[] = {"none", "status", "hold", "resolve", "assign", "escalate",
                                  "note", "template", "unknown", "bad_args"};
    return names[k];
}

Test(command, table)
{
    struct case_row *rows;
    size_t n;
    cases_load("tests/cases/commands.tsv", &rows, &n);
    cr_assert_gt(n, 15);
    for (size_t i = 0; i < n; i++) {
        struct case_row *r = &rows[i];
        struct command c;
        command_parse(r->cols[0], &c);
        cr_expect_str_eq(kind_name(c.kind), r->cols[1], "commands.tsv:%d: '%s'", r->line, r->cols[0]);
        if (r->ncols > 2) {
            char arg[256];
            snprintf(arg, sizeof arg, "%.*s", (int)c.arg_len, c.arg);
            cr_expect_str_eq(arg, r->cols[2], "commands.tsv:%d: argument", r->line);
        }
    }
    cases_free(rows, n);
}

Test(command, status_value_and_usage)
{
    struct command c;
    command_parse("/status in_progress", &c);
    cr_assert_eq(c.kind, COMMAND_STATUS);
    cr_assert_eq(c.status, TICKET_IN_PROGRESS);
    cr_assert(strstr(command_usage(), "/assign <agent>") != NULL);
    command_parse(NULL, &c);
    cr_assert_eq(c.kind, COMMAND_NONE);
}
