/*
 * test_scenario.c — the scenario language: a suite using every step kind
 * loads into the model; each kind of mistake is refused at its place.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "check/scenario.h"

static const char *const agents[] = { "alice", "bob", NULL };

#define HEAD                                                                        \
    "suite: Routing matrix\n"                                                       \
    "config: ../examples/tgcrm.yaml\n"                                              \
    "customers:\n"                                                                  \
    "  ann: {telegram_user_id: 5001, first_name: Ann, language: en}\n"              \
    "  bo: {telegram_user_id: 5002}\n"                                              \
    "vars: {plan: pro}\n"

static const char every_step[] =
    HEAD
    "checklist: [routing]\n"
    "scenarios:\n"
    "  - name: billing keyword\n"
    "    expect: The ticket lands in billing, assigned.\n"
    "    tags: [routing, smoke]\n"
    "    steps:\n"
    "      - send: {from: ann, text: \"I was charged twice on {{plan}}\"}\n"
    "        name: first message\n"
    "      - expect_ticket: {customer: ann, fields: {group: billing, status: open}}\n"
    "        eventually: {within: 30s, every: 1s}\n"
    "        capture: {t: $.id}\n"
    "      - reply: {agent: alice, ticket: \"{{t}}\", text: Hello}\n"
    "      - command: {agent: bob, customer: ann, text: /hold}\n"
    "      - press: {from: ann, button: Billing}\n"
    "      - edit: {from: ann, message: \"{{t}}\", text: fixed}\n"
    "      - api: {method: PATCH, path: \"/v1/tickets/{{t}}\", body: {status: resolved},"
    " status: 200}\n"
    "        capture: {st: $.status}\n"
    "      - advance: 2m\n"
    "      - wait: idle\n"
    "      - wait: 5s\n"
    "      - availability: {agent: alice, status: offline}\n"
    "      - fault: {target: webhook, kind: status, status: 500, times: 3}\n"
    "      - clear_fault: all\n"
    "      - repeat:\n"
    "          times: 10\n"
    "          as: i\n"
    "          steps:\n"
    "            - send: {from: bo, text: \"message {{i}}\"}\n"
    "      - for_each:\n"
    "          rows: [{len: 500}, {len: 1000}]\n"
    "          as: row\n"
    "          steps:\n"
    "            - send: {from: ann, text: \"{{row.len}} chars\"}\n"
    "      - unordered:\n"
    "          - send: {from: ann, text: one}\n"
    "          - send: {from: bo, text: two}\n"
    "      - expect_thread: {ticket: \"{{t}}\", count: 3, complete: true,"
    " entries: [{author: customer}]}\n"
    "      - expect_telegram: {chat: ann, contains: Hello}\n"
    "      - expect_webhook: {type: ticket.created, where: {$.ticket.id: \"{{t}}\"},"
    " count: 1, schema: true, signature: true}\n"
    "      - expect_no_webhook: {type: ticket.sla_breached, during: 10m}\n"
    "      - expect_distribution: {by: assignee, max_share: 30}\n"
    "      - expect_duration: {ticket: \"{{t}}\", metric: first_response, equals: 2m,"
    " tolerance: 1s}\n"
    "  - name: second\n"
    "    expect: nothing much\n"
    "    steps:\n"
    "      - advance: 1s\n";

Test(scenario, every_step_kind_loads)
{
    struct scenario_suite *s = NULL;
    struct err e = {0};
    cr_assert_eq(scenario_load_string("suites/routing.yaml", every_step, strlen(every_step),
                                      agents, &s, &e), 0, "%s", e.msg);
    cr_assert_str_eq(s->name, "Routing matrix");
    cr_assert_str_eq(s->config_path, "suites/../examples/tgcrm.yaml");
    cr_assert_eq(s->ncustomers, 2);
    cr_assert_eq(s->customers[0].tg_user_id, 5001);
    cr_assert_str_eq(s->customers[1].first_name, "bo", "first_name defaults to the name");
    cr_assert_eq(s->nscenarios, 2);
    const struct scenario *sc = &s->scenarios[0];
    cr_assert_eq(sc->ntags, 2);
    cr_assert_eq(sc->nsteps, 22);
    cr_assert_eq(sc->steps[0].kind, STEP_SEND);
    cr_assert_str_eq(sc->steps[0].name, "first message");
    cr_assert_eq(sc->steps[0].pos.line, 13);
    cr_assert_eq(sc->steps[1].kind, STEP_EXPECT_TICKET);
    cr_assert_eq(sc->steps[1].within_ms, 30000);
    cr_assert_eq(sc->steps[1].every_ms, 1000);
    cr_assert_not_null(sc->steps[1].capture);
    const struct step *rep = &sc->steps[13];
    cr_assert_eq(rep->kind, STEP_REPEAT);
    cr_assert_eq(rep->times, 10);
    cr_assert_eq(rep->nsteps, 1);
    cr_assert_eq(sc->steps[15].kind, STEP_UNORDERED);
    cr_assert_eq(sc->steps[15].nsteps, 2);
    bool seen[STEP_KIND_COUNT] = {false};
    for (size_t i = 0; i < sc->nsteps; i++)
        seen[sc->steps[i].kind] = true;
    for (int k = 0; k < STEP_KIND_COUNT; k++)
        cr_assert(seen[k], "no step of kind %s in the sample", scenario_step_name(k));
    scenario_suite_free(&s);
    cr_assert_null(s);
}

struct bad {
    const char *steps;      /* appended under one scenario's "steps:" */
    const char *want;       /* expected in the message, with line:column */
};

#define SC "scenarios:\n  - name: s\n    expect: x\n    steps:\n"   /* steps from line 11 */

static const struct bad cases[] = {
    { "      - sned: {from: ann, text: hi}\n",
      "t.yaml:11:9: unknown step 'sned' (did you mean 'send'?)" },
    { "      - send: {from: ann, txt: hi}\n",
      "t.yaml:11:27: unknown key 'txt' in a 'send' step (did you mean 'text'?)" },
    { "      - send: {from: ann}\n", "t.yaml:11:9: a 'send' step needs 'text'" },
    { "      - send: {from: zed, text: hi}\n",
      "t.yaml:11:22: 'from' of send: no customer 'zed' in the suite's 'customers'" },
    { "      - reply: {agent: alcie, customer: ann, text: hi}\n",
      "no agent 'alcie' in the configuration (did you mean 'alice'?)" },
    { "      - advance: 2 minutes\n",
      "t.yaml:11:18: advance must be a duration such as 250ms" },
    { "      - advance: 0s\n", "'advance' must be longer than 0" },
    { "      - send: {from: ann, text: \"{{ticket}}\"}\n",
      "t.yaml:11:33: unknown variable 'ticket'" },
    { "      - send: {from: ann, text: \"{{t}}\"}\n"
      "      - expect_ticket: {customer: ann, fields: {status: open}}\n"
      "        capture: {t: $.id}\n",
      "t.yaml:11:33: unknown variable 't'" },
    { "      - send: {from: ann, text: \"{{plan\"}\n",
      "'{{' without a closing '}}'" },
    { "      - send: {from: ann, text: hi}\n        advance: 1s\n",
      "t.yaml:12:9: a step does one thing: 'send' and 'advance' are both step kinds" },
    { "      - send: {from: ann, text: hi}\n        eventually: {within: 5s}\n",
      "t.yaml:12:9: 'eventually' belongs to expect_* steps" },
    { "      - expect_ticket: {customer: ann, fields: {a: b}}\n        eventually: {every: 1s}\n",
      "'eventually' needs 'within'" },
    { "      - expect_ticket: {customer: ann, ticket: \"1\", fields: {a: b}}\n",
      "names either 'ticket' or 'customer', not both" },
    { "      - expect_telegram: {text: hi}\n",
      "names exactly one of 'chat' (a customer) or 'topic' (a ticket)" },
    { "      - fault: {target: helpdesk, kind: partiton, for: 5m}\n",
      "'kind' of fault: unknown value 'partiton' (did you mean 'partition'?)" },
    { "      - repeat: {times: 0, steps: [{advance: 1s}]}\n", "'times' of repeat must be at least 1" },
    { "      - repeat: {times: 2, steps: []}\n", "has no steps" },
    { "      - for_each: {rows: [1], as: r, steps: [{advance: 1s}]}\n"
      "      - send: {from: ann, text: \"{{r}}\"}\n",
      "t.yaml:12:33: unknown variable 'r'" },
    { "      - expect_distribution: {by: assignee, max_share: 130}\n",
      "'max_share' is a percentage from 1 to 100" },
    { "      - expect_ticket: {customer: ann, fields: {a: b}}\n        capture: {t: id}\n",
      "a capture is a JSON path starting with '$'" },
    { "      - clear_fault: everything\n", "clear_fault: unknown target 'everything'" },
    { "      - api: {method: FETCH, path: /x}\n",
      "'method' of api: unknown value 'FETCH'" },
    { "      - wait: soon\n", "'wait' (idle or a duration) must be a duration" },
    { "      - 42\n", "t.yaml:11:9: a step must be a mapping, not a scalar value" },
    { "      - send: {from: ann, text: \"{{text(0)}}\"}\n",
      "t.yaml:11:33: text(0): the length must be from 1 to 1000000" },
    { "      - send: {from: ann, text: \"{{text(1000001)}}\"}\n",
      "text(1000001): the length must be from 1 to 1000000" },
    { "      - send: {from: ann, text: \"{{text(99999999999999999999)}}\"}\n",
      "the length must be from 1 to 1000000" },
    { "      - send: {from: ann, text: \"{{text(len)}}\"}\n",
      "t.yaml:11:33: unknown variable 'len'" },
    { "      - send: {from: ann, text: \"{{text()}}\"}\n",
      "text(): the argument is a length or a variable, such as text(2000)" },
    { "      - send: {from: ann, text: \"{{text(2 000)}}\"}\n",
      "text(2 000): the argument is a length or a variable" },
};

Test(scenario, refused)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad *b = &cases[i];
        char text[4096];
        snprintf(text, sizeof text, HEAD SC "%s", b->steps);
        struct scenario_suite *s = NULL;
        struct err e = {0};
        cr_assert_eq(scenario_load_string("t.yaml", text, strlen(text), agents, &s, &e),
                     ERR_CONFIG, "accepted:\n%s", text);
        cr_assert_null(s);
        cr_assert(strstr(e.msg, b->want) != NULL, "got '%s'\nwant '%s'", e.msg, b->want);
    }
}

Test(scenario, suite_level_refusals)
{
    static const struct { const char *text, *want; } cases[] = {
    { "suite: x\nscenarios: []\n", "a suite needs 'config'" },
    { "config: c.yaml\nscenarios: []\n", "t.yaml:1:1: a suite file needs 'suite'" },
    { "suite: x\nconfig: c.yaml\nscenarios: []\n", "t.yaml:3:1: 'scenarios' is empty" },
    { "suite: x\nconfig: c.yaml\nsenarios: []\n", "t.yaml:3:1: unknown key 'senarios' in "
      "the suite (did you mean 'scenarios'?)" },
    { "suite: x\nconfig: c.yaml\nscenarios:\n  - name: a\n    steps: [{advance: 1s}]\n",
      "scenario 'a' needs 'expect'" },
    { "suite: x\nconfig: c.yaml\nscenarios:\n  - {name: a, expect: e, steps: [{advance: 1s}]}\n"
      "  - {name: a, expect: e, steps: [{advance: 1s}]}\n",
      "t.yaml:5:6: two scenarios are named 'a' (first at line 4)" },
    { "suite: x\nconfig: c.yaml\ncustomers:\n  a: {telegram_user_id: 1}\n"
      "  b: {telegram_user_id: 1}\nscenarios: []\n",
      "customers 'a' and 'b' have the same telegram_user_id" },
    { "suite: x\nconfig: c.yaml\ncustomers:\n  a: {}\nscenarios: []\n",
      "customer 'a' needs 'telegram_user_id'" },
    { "suite: x\nconfig: c.yaml\nvars: {v: [1]}\nscenarios: []\n",
      "variable 'v' must be a scalar value" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct scenario_suite *s = NULL;
        struct err e = {0};
        cr_assert_eq(scenario_load_string("t.yaml", cases[i].text, strlen(cases[i].text),
                                          NULL, &s, &e), ERR_CONFIG, "accepted: %s",
                     cases[i].text);
        cr_assert(strstr(e.msg, cases[i].want) != NULL, "got '%s'\nwant '%s'", e.msg,
                  cases[i].want);
    }
}

Test(scenario, text_builtin_takes_a_length_or_a_variable)
{
    const char *text =
        HEAD
        "scenarios:\n"
        "  - name: long messages\n    expect: e\n    steps:\n"
        "      - send: {from: ann, text: \"{{text(2000)}}\"}\n"
        "      - send: {from: ann, text: \"{{ text( 1000000 ) }} and {{plan}}\"}\n"
        "      - for_each:\n"
        "          rows: [{len: 500}, {len: 100000}]\n"
        "          as: row\n"
        "          steps:\n"
        "            - send: {from: bo, text: \"{{text(row.len)}}\"}\n"
        "      - repeat: {times: 2, as: i, steps: [{send: {from: bo, text: \"{{text(i)}}\"}}]}\n";
    struct scenario_suite *s = NULL;
    struct err e = {0};
    cr_assert_eq(scenario_load_string("t.yaml", text, strlen(text), agents, &s, &e), 0, "%s",
                 e.msg);
    cr_assert_eq(s->scenarios[0].nsteps, 4);
    scenario_suite_free(&s);
}

Test(scenario, captures_do_not_leak_between_scenarios)
{
    const char *text =
        HEAD
        "scenarios:\n"
        "  - name: a\n    expect: e\n    steps:\n"
        "      - expect_ticket: {customer: ann, fields: {status: open}}\n"
        "        capture: {t: $.id}\n"
        "  - name: b\n    expect: e\n    steps:\n"
        "      - send: {from: ann, text: \"{{t}}\"}\n";
    struct scenario_suite *s = NULL;
    struct err e = {0};
    cr_assert_eq(scenario_load_string("t.yaml", text, strlen(text), agents, &s, &e), ERR_CONFIG);
    cr_assert(strstr(e.msg, "t.yaml:16:33: unknown variable 't'") != NULL, "%s", e.msg);
}
