/*
 * test_cfg.c — the configuration loader: defaults, every section's fields,
 * ${ENV} expansion, reference counting, the example file, and a table of
 * bad configurations each refused with its exact "name:line:column:" and
 * message.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "desk/agent.h"
#include "desk/ticket.h"
#include "desk/workflow.h"

/* The smallest valid file: only http with one token. Four lines. */
#define MIN                                  \
    "http:\n"                                \
    "  api_tokens:\n"                        \
    "    - name: helpdesk\n"                 \
    "      token: \"0123456789abcdef\"\n"

static int load(const char *yaml, struct cfg **c, struct err *e)
{
    return cfg_load_string("t.yaml", yaml, strlen(yaml), c, e);
}

static struct cfg *load_ok(const char *yaml)
{
    struct cfg *c = NULL;
    struct err e = {0};
    int rc = load(yaml, &c, &e);
    cr_assert_eq(rc, 0, "load failed: %s", e.msg);
    cr_assert_not_null(c);
    return c;
}

Test(cfg, minimal_defaults)
{
    struct cfg *c = load_ok(MIN);
    cr_assert_str_eq(c->path, "t.yaml");
    cr_assert_null(c->telegram.token);
    cr_assert_str_eq(c->telegram.api_base, "https://api.telegram.org");
    cr_assert_str_eq(c->telegram.mode, "polling");
    cr_assert_eq(c->telegram.staff_group_id, 0);
    cr_assert_eq(c->telegram.poll_timeout_ms, 30000);
    cr_assert_str_eq(c->store.driver, "sqlite");
    cr_assert_str_eq(c->store.path, "tgcrm.db");
    cr_assert_null(c->store.dsn);
    cr_assert_str_eq(c->store.synchronous, "full");
    cr_assert_eq(c->store.busy_timeout_ms, 5000);
    cr_assert_eq(c->store.read_connections, 4);
    cr_assert_str_eq(c->http.listen, "127.0.0.1:8080");
    cr_assert_eq(c->http.ntokens, 1);
    cr_assert_str_eq(c->http.tokens[0].name, "helpdesk");
    cr_assert_str_eq(c->http.tokens[0].token, "0123456789abcdef");
    cr_assert_eq(c->http.max_body, 1 << 20);
    cr_assert_eq(c->http.threads, 4);
    cr_assert_str_eq(c->log.level, "info");
    cr_assert_str_eq(c->log.format, "auto");
    cr_assert_str_eq(c->general_group, "general");
    cr_assert_str_eq(c->default_priority, "normal");
    cr_assert_str_eq(c->on_closed, "reopen");
    cr_assert_eq(c->ngroups, 1, "the general group is always there");
    cr_assert_str_eq(c->groups[0].name, "general");
    cr_assert_str_eq(c->groups[0].title, "general");
    cr_assert_eq(c->groups[0].level, 1);
    cr_assert_eq(c->nagents + c->nrules + c->nsla + c->nescalations + c->ntemplates +
                 c->nkb + c->nintake + c->nwebhooks, 0);
    cr_assert_not(c->intake_enabled);
    cfg_unref(&c);
    cr_assert_null(c);
}

Test(cfg, every_field)
{
    setenv("TGCRM_TEST_BOT", "123:abc", 1);
    struct cfg *c = load_ok(
        "telegram:\n"
        "  token: \"${TGCRM_TEST_BOT}\"\n"
        "  api_base: http://127.0.0.1:8081\n"
        "  mode: webhook\n"
        "  staff_group_id: -1001000000001\n"
        "  poll_timeout: 1m30s\n"
        "  webhook: {url: \"https://x.example/tg\", secret_token: abc_DEF-123}\n"
        "store: {driver: postgres, path: x.db, dsn: \"host=db\", synchronous: normal,\n"
        "        busy_timeout: 250ms, read_connections: 8}\n"
        "http:\n"
        "  listen: \"[::1]:0\"\n"
        "  max_body: 512KiB\n"
        "  threads: 16\n"
        "  api_tokens:\n"
        "    - {name: a, token: aaaaaaaaaaaaaaaa}\n"
        "    - {name: b, token: bbbbbbbbbbbbbbbb}\n"
        "log: {level: debug, format: json}\n"
        "tickets: {general_group: front, default_priority: high, on_closed: new_ticket}\n"
        "groups:\n"
        "  - {name: billing, title: Billing, level: 1}\n"
        "  - {name: level2, level: 2}\n"
        "agents:\n"
        "  - id: alice\n"
        "    name: Alice\n"
        "    telegram_user_id: 1001\n"
        "    username: \"@alice\"\n"
        "    groups: [front, billing]\n"
        "    capacity: 0\n"
        "    availability: away\n"
        "  - {id: bob.b, telegram_user_id: 1002, groups: [level2]}\n"
        "routing:\n"
        "  - {name: billing, keywords: [invoice, refund], regex: \"charge ?back\", tier: vip,\n"
        "     language: en, group: billing, strategy: least_loaded, priority: urgent}\n"
        "sla:\n"
        "  - {name: default, priority: high, tier: vip, group: billing, first_response: 2m,\n"
        "     next_response: 5m, resolution: 10m, warn_before: 30s}\n"
        "escalation:\n"
        "  - {name: urgent, keywords: [urgent], on_sla: breach, no_reply: 3m, tier: vip,\n"
        "     raise_priority: yes, move_to_group: level2, notify: true}\n"
        "templates:\n"
        "  - {name: greeting, text: \"Hi {{customer.first_name | default: \\\"there\\\"}}\"}\n"
        "kb:\n"
        "  - {id: KB-1, title: Reset, url: \"https://kb/1\", body: text, keywords: [pw]}\n"
        "intake:\n"
        "  enabled: false\n"
        "  questions:\n"
        "    - {field: email, prompt: \"Email?\", type: email}\n"
        "    - {field: topic, prompt: \"Topic?\", type: choice, choices: [a, b], optional: true}\n"
        "webhooks:\n"
        "  - name: helpdesk\n"
        "    url: http://127.0.0.1:9000/hook\n"
        "    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
        "    previous_secret: \"whsec_AAAAAAAAAAAAAAAAAAAAAA==\"\n"
        "    events: [ticket.created, message.created]\n"
        "    timeout: 3s\n"
        "    retry: [1s, 2s]\n"
        "    max_payload: 10MB\n"
        "    oversize: truncate\n"
        "    ordering: none\n");

    cr_assert_str_eq(c->telegram.token, "123:abc");
    cr_assert_str_eq(c->telegram.api_base, "http://127.0.0.1:8081");
    cr_assert_str_eq(c->telegram.mode, "webhook");
    cr_assert_eq(c->telegram.staff_group_id, -1001000000001LL);
    cr_assert_eq(c->telegram.poll_timeout_ms, 90000);
    cr_assert_str_eq(c->telegram.webhook_url, "https://x.example/tg");
    cr_assert_str_eq(c->telegram.webhook_secret, "abc_DEF-123");

    cr_assert_str_eq(c->store.driver, "postgres");
    cr_assert_str_eq(c->store.path, "x.db");
    cr_assert_str_eq(c->store.dsn, "host=db");
    cr_assert_str_eq(c->store.synchronous, "normal");
    cr_assert_eq(c->store.busy_timeout_ms, 250);
    cr_assert_eq(c->store.read_connections, 8);

    cr_assert_str_eq(c->http.listen, "[::1]:0");
    cr_assert_eq(c->http.max_body, 512 * 1024);
    cr_assert_eq(c->http.threads, 16);
    cr_assert_eq(c->http.ntokens, 2);
    cr_assert_str_eq(c->http.tokens[1].name, "b");

    cr_assert_str_eq(c->log.level, "debug");
    cr_assert_str_eq(c->log.format, "json");
    cr_assert_str_eq(c->general_group, "front");
    cr_assert_str_eq(c->default_priority, "high");
    cr_assert_str_eq(c->on_closed, "new_ticket");

    cr_assert_eq(c->ngroups, 3, "billing, level2 and the implicit 'front'");
    cr_assert_str_eq(c->groups[1].name, "level2");
    cr_assert_str_eq(c->groups[1].title, "level2");
    cr_assert_eq(c->groups[1].level, 2);
    cr_assert_not_null(cfg_group_find(c, "front"));

    cr_assert_eq(c->nagents, 2);
    const struct cfg_agent *a = cfg_agent_find(c, "alice");
    cr_assert_not_null(a);
    cr_assert_str_eq(a->name, "Alice");
    cr_assert_eq(a->tg_user_id, 1001);
    cr_assert_str_eq(a->username, "alice", "stored without '@'");
    cr_assert_eq(a->ngroups, 2);
    cr_assert(cfg_agent_in_group(a, "billing"));
    cr_assert_not(cfg_agent_in_group(a, "level2"));
    cr_assert_eq(a->capacity, 0);
    cr_assert_str_eq(a->availability, "away");
    cr_assert_eq(a->pos.line, 23);
    const struct cfg_agent *b = cfg_agent_find_tg(c, 1002);
    cr_assert_not_null(b);
    cr_assert_str_eq(b->id, "bob.b");
    cr_assert_str_eq(b->name, "bob.b", "name defaults to the id");
    cr_assert_eq(b->capacity, 10);
    cr_assert_str_eq(b->availability, "online");
    cr_assert_null(b->username);
    cr_assert_null(cfg_agent_find(c, "nobody"));
    cr_assert_null(cfg_agent_find_tg(c, 9));

    cr_assert_eq(c->nrules, 1);
    struct cfg_rule *r = &c->rules[0];
    cr_assert_eq(r->nkeywords, 2);
    cr_assert_str_eq(r->keywords[1], "refund");
    cr_assert_str_eq(r->regex, "charge ?back");
    cr_assert_str_eq(r->tier, "vip");
    cr_assert_str_eq(r->language, "en");
    cr_assert_str_eq(r->group, "billing");
    cr_assert_str_eq(r->strategy, "least_loaded");
    cr_assert_str_eq(r->priority, "urgent");

    cr_assert_eq(c->nsla, 1);
    cr_assert_eq(c->sla[0].first_response_ms, 120000);
    cr_assert_eq(c->sla[0].next_response_ms, 300000);
    cr_assert_eq(c->sla[0].resolution_ms, 600000);
    cr_assert_eq(c->sla[0].warn_before_ms, 30000);
    cr_assert_str_eq(c->sla[0].group, "billing");

    cr_assert_eq(c->nescalations, 1);
    struct cfg_escalation *x = &c->escalations[0];
    cr_assert_str_eq(x->on_sla, "breach");
    cr_assert_eq(x->no_reply_ms, 180000);
    cr_assert(x->raise_priority);
    cr_assert_null(x->set_priority);
    cr_assert_str_eq(x->move_to_group, "level2");
    cr_assert(x->notify);

    const struct cfg_template *t = cfg_template_find(c, "greeting");
    cr_assert_not_null(t);
    cr_assert_str_eq(t->text, "Hi {{customer.first_name | default: \"there\"}}");
    cr_assert_null(cfg_template_find(c, "nope"));

    cr_assert_eq(c->nkb, 1);
    cr_assert_str_eq(c->kb[0].id, "KB-1");
    cr_assert_str_eq(c->kb[0].url, "https://kb/1");
    cr_assert_eq(c->kb[0].nkeywords, 1);

    cr_assert_not(c->intake_enabled);
    cr_assert_eq(c->nintake, 2);
    cr_assert_str_eq(c->intake[0].type, "email");
    cr_assert_not(c->intake[0].optional);
    cr_assert_eq(c->intake[1].nchoices, 2);
    cr_assert(c->intake[1].optional);

    const struct cfg_webhook *w = cfg_webhook_find(c, "helpdesk");
    cr_assert_not_null(w);
    cr_assert_str_eq(w->url, "http://127.0.0.1:9000/hook");
    cr_assert_str_eq(w->previous_secret, "whsec_AAAAAAAAAAAAAAAAAAAAAA==");
    cr_assert_eq(w->nevents, 2);
    cr_assert_eq(w->timeout_ms, 3000);
    cr_assert_eq(w->nretry, 2);
    cr_assert_eq(w->retry_ms[1], 2000);
    cr_assert_eq(w->max_payload, 10000000);
    cr_assert_str_eq(w->oversize, "truncate");
    cr_assert_str_eq(w->ordering, "none");
    cfg_unref(&c);
}

Test(cfg, section_defaults)
{
    struct cfg *c = load_ok(MIN
        "agents: [{id: a, telegram_user_id: 1, groups: [general]}]\n"
        "routing: [{name: r, keywords: [x], group: general}]\n"
        "intake:\n"
        "  questions: [{field: name, prompt: \"Name?\"}]\n"
        "webhooks:\n"
        "  - {name: w, url: \"https://h/\", secret: whsec_AAAAAAAAAAAAAAAAAAAAAA}\n"
        "  - {name: w2, url: \"https://h/\", secret: whsec_AAAAAAAAAAAAAAAAAAAAAA, retry: []}\n");
    cr_assert_str_eq(c->rules[0].strategy, "round_robin");
    cr_assert_null(c->rules[0].priority);
    cr_assert(c->intake_enabled, "writing the intake section enables it");
    cr_assert_str_eq(c->intake[0].type, "text");
    const struct cfg_webhook *w = &c->webhooks[0];
    cr_assert_eq(w->nevents, 0);
    cr_assert_eq(w->timeout_ms, 10000);
    cr_assert_eq(w->max_payload, 256 * 1024);
    cr_assert_str_eq(w->oversize, "split");
    cr_assert_str_eq(w->ordering, "per_ticket");
    static const int64_t sched[] = { 5000, 30000, 120000, 600000, 1800000, 3600000,
                                     10800000, 21600000 };
    cr_assert_eq(w->nretry, 8);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(w->retry_ms[i], sched[i]);
    cr_assert_eq(c->webhooks[1].nretry, 0, "retry: [] means no retries");
    cfg_unref(&c);
}

Test(cfg, env_expansion)
{
    setenv("TGCRM_TEST_A", "alpha", 1);
    setenv("TGCRM_TEST_N", "7", 1);
    setenv("TGCRM_TEST_EMPTY", "", 1);
    struct cfg *c = load_ok(
        "http:\n"
        "  listen: \"127.0.0.1:808${TGCRM_TEST_N}\"\n"
        "  threads: ${TGCRM_TEST_N}\n"
        "  api_tokens:\n"
        "    - name: \"x-${TGCRM_TEST_A}-${TGCRM_TEST_A}${TGCRM_TEST_EMPTY}\"\n"
        "      token: \"$${NOT_EXPANDED}-0123456789\"\n"
        "templates:\n"
        "  - {name: t, text: \"costs $5 ${TGCRM_TEST_A} $$x $\"}\n");
    cr_assert_str_eq(c->http.listen, "127.0.0.1:8087");
    cr_assert_eq(c->http.threads, 7);
    cr_assert_str_eq(c->http.tokens[0].name, "x-alpha-alpha");
    cr_assert_str_eq(c->http.tokens[0].token, "${NOT_EXPANDED}-0123456789");
    cr_assert_str_eq(c->templates[0].text, "costs $5 alpha $$x $");
    cfg_unref(&c);
}

Test(cfg, refcount)
{
    struct cfg *c = load_ok(MIN);
    struct cfg *d = cfg_ref(c);
    cr_assert_eq(d, c);
    cr_assert_eq(atomic_load(&c->refs), 2);
    cfg_unref(&d);
    cr_assert_null(d);
    cr_assert_eq(atomic_load(&c->refs), 1);
    cr_assert_str_eq(c->http.listen, "127.0.0.1:8080", "still alive after one unref");
    cfg_unref(&c);
    cr_assert_null(c);
    cfg_unref(&c);          /* NULL is fine */
    cfg_unref(NULL);
    cr_assert_null(cfg_ref(NULL));
}

Test(cfg, anchors_and_aliases)
{
    struct cfg *c = load_ok(MIN
        "groups: [{name: billing}]\n"
        "agents:\n"
        "  - {id: a, telegram_user_id: 1, groups: &both [general, billing]}\n"
        "  - {id: b, telegram_user_id: 2, groups: *both}\n");
    cr_assert_eq(c->agents[1].ngroups, 2);
    cr_assert_str_eq(c->agents[1].groups[1], "billing");
    cfg_unref(&c);
}

Test(cfg, example_file_loads)
{
    setenv("TGCRM_BOT_TOKEN", "123456:example-bot-token", 1);
    setenv("TGCRM_API_TOKEN", "example-api-token-0123456789", 1);
    setenv("TGCRM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
    struct cfg *c = NULL;
    struct err e = {0};
    int rc = cfg_load("examples/tgcrm.yaml", &c, &e);
    cr_assert_eq(rc, 0, "examples/tgcrm.yaml: %s", e.msg);
    cr_assert_str_eq(c->path, "examples/tgcrm.yaml");
    cr_assert_str_eq(c->telegram.token, "123456:example-bot-token");
    cr_assert_str_eq(c->telegram.api_base, "http://127.0.0.1:8081");
    cr_assert_str_eq(c->telegram.mode, "polling");
    cr_assert_eq(c->telegram.staff_group_id, -1001000000001LL);
    cr_assert_str_eq(c->store.path, "tgcrm.db");
    cr_assert_str_eq(c->http.listen, "127.0.0.1:8080");
    cr_assert_str_eq(c->http.tokens[0].token, "example-api-token-0123456789");
    cr_assert_eq(c->ngroups, 3);
    cr_assert_not_null(cfg_group_find(c, "general"));
    cr_assert_not_null(cfg_group_find(c, "billing"));
    cr_assert_not_null(cfg_group_find(c, "level2"));
    cr_assert_eq(c->nagents, 4);
    cr_assert(c->nrules >= 2 && c->nrules <= 3);
    cr_assert_geq(c->nsla, 1);
    int found = 0;
    for (size_t i = 0; i < c->nsla; i++)
        if (c->sla[i].first_response_ms == 120000 && c->sla[i].resolution_ms == 600000)
            found = 1;
    cr_assert(found, "an SLA policy with 2m first response / 10m resolution");
    int urgent = 0;
    for (size_t i = 0; i < c->nescalations; i++)
        if (strcmp(c->escalations[i].name, "urgent") == 0)
            urgent = 1;
    cr_assert(urgent);
    cr_assert_eq(c->ntemplates, 3);
    cr_assert_eq(c->nkb, 3);
    cr_assert(c->intake_enabled);
    cr_assert_eq(c->nintake, 3);
    int choice = 0;
    for (size_t i = 0; i < c->nintake; i++)
        if (strcmp(c->intake[i].type, "choice") == 0)
            choice = 1;
    cr_assert(choice);
    cr_assert_eq(c->nwebhooks, 1);
    cr_assert_str_eq(c->webhooks[0].url, "http://127.0.0.1:9000/hooks/helpdesk");
    cr_assert_str_eq(c->webhooks[0].secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    cfg_unref(&c);
}

Test(cfg, example_needs_its_env)
{
    setenv("TGCRM_BOT_TOKEN", "123456:example-bot-token", 1);
    setenv("TGCRM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
    unsetenv("TGCRM_API_TOKEN");
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load("examples/tgcrm.yaml", &c, &e), ERR_CONFIG);
    cr_assert_null(c);
    cr_assert(strstr(e.msg, "environment variable 'TGCRM_API_TOKEN' is not set"), "%s", e.msg);
    cr_assert(strncmp(e.msg, "examples/tgcrm.yaml:", 20) == 0, "%s", e.msg);
}

Test(cfg, missing_file_is_io)
{
    struct cfg *c = (struct cfg *)1;
    struct err e = {0};
    cr_assert_eq(cfg_load("tests/no/such/file.yaml", &c, &e), ERR_IO);
    cr_assert_null(c);
    cr_assert(strstr(e.msg, "tests/no/such/file.yaml") != NULL, "%s", e.msg);
}

Test(cfg, null_err_is_fine)
{
    struct cfg *c = NULL;
    cr_assert_eq(cfg_load_string("t.yaml", "x: [", 4, &c, NULL), ERR_CONFIG);
    cr_assert_null(c);
}

Test(cfg, first_error_wins)
{
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(load("log: {level: loud, format: xml}\n" MIN, &c, &e), ERR_CONFIG);
    cr_assert(strstr(e.msg, "'level'") != NULL, "%s", e.msg);
    cr_assert_eq(e.code, ERR_CONFIG);
}

/* Names cfg accepts are exactly the names the domain parses (cfg keeps its
 * own tables because base/ must not include desk/). */
Test(cfg, names_match_desk)
{
    static const char *const prio[] = { "low", "normal", "high", "urgent" };
    static const char *const avail[] = { "online", "away", "offline" };
    static const char *const closed[] = { "reopen", "new_ticket" };
    char buf[1024];
    for (size_t i = 0; i < 4; i++) {
        enum ticket_priority p;
        cr_assert_eq(ticket_priority_parse(prio[i], &p, NULL), 0);
        snprintf(buf, sizeof buf, MIN "tickets: {default_priority: %s}\n", prio[i]);
        struct cfg *c = load_ok(buf);
        cfg_unref(&c);
    }
    cr_assert_eq(PRIORITY_COUNT, 4);
    for (size_t i = 0; i < 3; i++) {
        enum agent_avail a;
        cr_assert_eq(agent_avail_parse(avail[i], &a, NULL), 0);
        snprintf(buf, sizeof buf,
                 MIN "agents: [{id: a, telegram_user_id: 1, groups: [general], "
                 "availability: %s}]\n", avail[i]);
        struct cfg *c = load_ok(buf);
        cfg_unref(&c);
    }
    cr_assert_eq(AGENT_AVAIL_COUNT, 3);
    for (size_t i = 0; i < 2; i++) {
        enum workflow_reopen r;
        cr_assert_eq(workflow_reopen_parse(closed[i], &r), 0);
        snprintf(buf, sizeof buf, MIN "tickets: {on_closed: %s}\n", closed[i]);
        struct cfg *c = load_ok(buf);
        cfg_unref(&c);
    }
}

/* --- bad configurations --------------------------------------------------------- */

struct bad {
    const char *yaml;
    const char *prefix;     /* exact "name:line:column:" */
    const char *msg;        /* substring of the message */
};

static const struct bad bad_cases[] = {
    /* syntax and shape */
    { "http:\n  listen: [1, 2\n", "t.yaml:3:1:", "flow sequence without a closing bracket" },
    { "a: \"\\q\"\n", "t.yaml:1:5:", "invalid escape" },
    { "", "t.yaml:1:1:", "the file is empty" },
    { "# nothing but a comment\n", "t.yaml:1:1:", "the file is empty" },
    { "---\n", "t.yaml:1:1:", "the file is empty" },
    { MIN "---\n---\nlog: {}\n", "t.yaml:7:1:", "more than one YAML document" },
    { "a: \"\xc3\x28\"\n", "t.yaml:1:5:", "invalid UTF-8 (byte 0xc3)" },
    { MIN MIN, "t.yaml:5:1:", "duplicate section 'http' (first at line 1)" },
    { "http:\n  api_tokens: [{name: a, token: \"${}\"}]\n", "t.yaml:2:33:", "'${' must be followed by a variable name" },
    { "- a\n- b\n", "t.yaml:1:3:", "the top level must be a mapping" },
    { MIN "---\nlog: {}\n", "t.yaml:6:1:", "more than one YAML document" },
    { MIN "telegramm:\n  token: x\n", "t.yaml:5:1:", "unknown section 'telegramm' (did you mean 'telegram'?)" },
    { "log: {level: info}\n", "t.yaml:1:1:", "missing required section 'http'" },
    { MIN "log: [info]\n", "t.yaml:5:7:", "section 'log' must be a mapping, not a list" },
    { MIN "log:\n", "t.yaml:5:1:", "section 'log' has no value" },
    { MIN "agents: {id: a}\n", "t.yaml:5:10:", "section 'agents' must be a list, not a mapping" },
    { MIN "groups: [general]\n", "t.yaml:5:10:", "groups[0] must be a mapping, not a scalar value" },
    { MIN "log:\n  level: info\n  level: debug\n", "t.yaml:7:3:", "duplicate key 'level' in section 'log' (first at line 6)" },
    { MIN "log:\n  level:\n", "t.yaml:6:3:", "'level' has no value" },
    { MIN "log: {level: *nope}\n", "t.yaml:5:14:", "alias '*nope' refers to no anchor" },
    /* http */
    { "http:\n  listn: x\n", "t.yaml:2:3:", "unknown key 'listn' in section 'http' (did you mean 'listen'?)" },
    { "http:\n  listen: \"127.0.0.1:8080\"\n", "t.yaml:2:3:", "missing required key 'api_tokens' in section 'http'" },
    { "http:\n  api_tokens: []\n", "t.yaml:2:3:", "'api_tokens' must list at least one token" },
    { "http:\n  api_tokens:\n    - name: x\n", "t.yaml:3:7:", "missing required key 'token' in http.api_tokens[0]" },
    { "http:\n  api_tokens:\n    - name: x\n      token: short\n", "t.yaml:4:14:", "api token 'x' is too short: at least 16 characters" },
    { MIN "    - name: helpdesk\n      token: \"zzzzzzzzzzzzzzzzzzzz\"\n", "t.yaml:5:13:", "duplicate api token name 'helpdesk'" },
    { MIN "  listen: localhost\n", "t.yaml:5:11:", "'listen' must be host:port" },
    { MIN "  listen: \"127.0.0.1:70000\"\n", "t.yaml:5:11:", "port from 0 to 65535" },
    { MIN "  listen: [a]\n", "t.yaml:5:12:", "'listen' must be a string, not a list" },
    { MIN "  threads: 0\n", "t.yaml:5:12:", "'threads' must be an integer from 1 to 64 (got '0')" },
    { MIN "  threads: 4x\n", "t.yaml:5:12:", "'threads' must be an integer from 1 to 64" },
    { MIN "  max_body: 5XB\n", "t.yaml:5:13:", "'max_body': invalid size '5XB'" },
    /* telegram and store */
    { MIN "telegram: {poll_timeout: 5x}\n", "t.yaml:5:26:", "'poll_timeout': invalid duration '5x' (use e.g. 30s, 2m, 1h30m)" },
    { MIN "telegram:\n  mode: webhook\n", "t.yaml:6:9:", "mode 'webhook' requires telegram.webhook.url" },
    { MIN "telegram:\n  mode: push\n", "t.yaml:6:9:", "'mode' must be one of polling or webhook (got 'push')" },
    { MIN "telegram:\n  api_base: api.telegram.org\n", "t.yaml:6:13:", "'api_base' must start with http:// or https://" },
    { MIN "telegram:\n  webhook: {url: \"https://x\", secret_token: \"a b\"}\n", "t.yaml:6:45:", "'secret_token' must be 1 to 256 characters" },
    { MIN "telegram:\n  staff_group_id: \"-100x\"\n", "t.yaml:6:19:", "'staff_group_id' must be an integer chat id" },
    { MIN "store:\n  driver: postgres\n", "t.yaml:6:11:", "driver 'postgres' requires 'dsn'" },
    { MIN "store:\n  read_connections: 65\n", "t.yaml:6:21:", "'read_connections' must be an integer from 1 to 64" },
    { MIN "log: {level: verbose}\n", "t.yaml:5:14:", "'level' must be one of debug, info, warn or error (got 'verbose')" },
    { MIN "tickets: {default_priority: critical}\n", "t.yaml:5:29:", "'default_priority' must be one of low, normal, high or urgent" },
    /* ${ENV} */
    { "http:\n  api_tokens:\n    - name: x\n      token: \"${TGCRM_TEST_UNSET_VAR}\"\n", "t.yaml:4:14:", "environment variable 'TGCRM_TEST_UNSET_VAR' is not set" },
    { MIN "telegram: {token: \"abc${\"}\n", "t.yaml:5:19:", "'${' must be followed by a variable name and '}'" },
    { MIN "telegram: {token: \"${1ABC}\"}\n", "t.yaml:5:19:", "'${' must be followed by a variable name" },
    /* groups and agents */
    { MIN "groups: [{name: Billing}]\n", "t.yaml:5:17:", "group name must match [a-z0-9_-]+ (got 'Billing')" },
    { MIN "groups:\n  - name: billing\n  - name: billing\n", "t.yaml:7:11:", "duplicate group name 'billing' (first at line 6)" },
    { MIN "agents:\n  - id: alice\n    telegram_user_id: 1\n    groups: [general]\n"
      "  - id: alice\n    telegram_user_id: 2\n    groups: [general]\n",
      "t.yaml:9:9:", "duplicate agent id 'alice' (first at line 6)" },
    { MIN "groups: [{name: billing}]\nagents:\n  - id: bob\n    telegram_user_id: 1\n"
      "    groups: [general, billng]\n", "t.yaml:9:23:", "agent 'bob' refers to unknown group 'billng'" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 1, groups: [general], capacity: -1}\n",
      "t.yaml:6:63:", "'capacity' must be a non-negative integer (got '-1')" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 1, groups: [general], capacity: five}\n",
      "t.yaml:6:63:", "'capacity' must be a non-negative integer" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 0, groups: [general]}\n",
      "t.yaml:6:31:", "'telegram_user_id' must be a positive integer" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 1, groups: [general]}\n"
      "  - {id: b, telegram_user_id: 1, groups: [general]}\n",
      "t.yaml:7:31:", "agents 'a' and 'b' have the same telegram_user_id 1" },
    { MIN "agents:\n  - {id: a, groups: [general]}\n", "t.yaml:6:6:", "missing required key 'telegram_user_id' in agents[0]" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 1, groups: []}\n", "t.yaml:6:34:", "agent 'a' must serve at least one group" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 1, groups: [general], capacit: 3}\n",
      "t.yaml:6:53:", "unknown key 'capacit' in agents[0] (did you mean 'capacity'?)" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 1, groups: [general, general]}\n",
      "t.yaml:6:52:", "'groups' lists 'general' twice" },
    { MIN "agents:\n  - {id: a, telegram_user_id: 1, groups: [general], availability: busy}\n",
      "t.yaml:6:67:", "'availability' must be one of online, away or offline" },
    /* routing */
    { MIN "routing:\n  - {name: r, group: general, regex: \"refund(\"}\n", "t.yaml:6:38:", "'regex': missing closing parenthesis at offset 7" },
    { MIN "routing:\n  - {name: r, group: general}\n", "t.yaml:6:12:", "rule 'r' has no condition (keywords, regex, tier, language, field, days or hours); use the general group as fallback" },
    { MIN "routing:\n  - {name: r, keywords: [x], group: sales}\n", "t.yaml:6:37:", "rule 'r' refers to unknown group 'sales'" },
    { MIN "routing:\n  - {name: r, keywords: x, group: general}\n", "t.yaml:6:25:", "'keywords' must be a list, not a scalar value" },
    { MIN "routing:\n  - {name: r, keywords: [x]}\n", "t.yaml:6:6:", "missing required key 'group' in routing[0]" },
    { MIN "routing:\n  - {name: r, keywords: [x], group: general, strategy: random}\n", "t.yaml:6:56:", "'strategy' must be one of round_robin, least_loaded or none" },
    /* sla */
    { MIN "sla:\n  - {name: s, first_response: -5s}\n", "t.yaml:6:31:", "'first_response': invalid duration '-5s'" },
    { MIN "sla:\n  - {name: s, first_response: 0s}\n", "t.yaml:6:31:", "'first_response' must be greater than 0" },
    { MIN "sla:\n  - {name: s, first_response: 2m, resolution: 10m, warn_before: 2m}\n", "t.yaml:6:65:", "'warn_before' (2m) must be shorter than the smallest target (2m)" },
    { MIN "sla:\n  - {name: s, tier: vip}\n", "t.yaml:6:12:", "SLA policy 's' has no target" },
    /* sla: per-priority targets, pauses, business hours */
#define SLA1 MIN "sla:\n  - name: s\n    first_response: 2m\n"
    { SLA1 "    targets:\n      urgent: {resolution: -1h}\n", "t.yaml:9:28:", "'resolution': invalid duration '-1h' (a duration cannot be negative)" },
    { SLA1 "    targets:\n      critical: {resolution: 1h}\n", "t.yaml:9:7:", "unknown priority 'critical' in 'targets' (one of low, normal, high or urgent)" },
    { SLA1 "    targets:\n      urgent: {reply: 1h}\n", "t.yaml:9:16:", "unknown key 'reply' in targets.urgent of SLA policy 's'" },
    { SLA1 "    targets:\n      urgent: {resolution: 1h}\n      urgent: {resolution: 2h}\n", "t.yaml:10:7:", "duplicate key 'urgent' in 'targets' (first at line 9)" },
    { SLA1 "    targets: [urgent]\n", "t.yaml:8:15:", "'targets' must be a mapping, not a list" },
    { MIN "sla:\n  - name: s\n    first_response: 1h\n    warn_before: 10m\n    targets:\n      urgent: {first_response: 5m}\n", "t.yaml:8:18:", "'warn_before' (10m) must be shorter than the smallest target (5m)" },
    { SLA1 "    resolution: 400d\n", "t.yaml:8:17:", "'resolution' must be at most 366d" },
    { SLA1 "    next_response: of\n", "t.yaml:8:20:", "'next_response': invalid duration 'of'" },
    { SLA1 "    pause: [waiting]\n", "t.yaml:8:13:", "unknown status 'waiting' (one of open, in_progress or on_hold)" },
    { SLA1 "    pause: {resolution: [on_hold, resolved]}\n", "t.yaml:8:35:", "status 'resolved' ends the SLA clocks, it cannot pause them" },
    { SLA1 "    pause: {reply: [on_hold]}\n", "t.yaml:8:13:", "unknown key 'reply' in 'pause'" },
    { SLA1 "    pause: yes\n", "t.yaml:8:12:", "'pause' must be a list of statuses or a mapping from metric" },
    { SLA1 "    pause: [on_hold, on_hold]\n", "t.yaml:8:22:", "'pause' lists 'on_hold' twice" },
#define BH SLA1 "    business_hours:\n      timezone: Europe/Berlin\n"
    { SLA1 "    business_hours:\n      timezone: Europe/Berln\n      days: {mon: \"09:00-17:00\"}\n", "t.yaml:9:17:", "unknown time zone 'Europe/Berln'" },
    { SLA1 "    business_hours:\n      timezone: ../../etc/passwd\n      days: {mon: \"09:00-17:00\"}\n", "t.yaml:9:17:", "unknown time zone '../../etc/passwd'" },
    { SLA1 "    business_hours:\n      days: {mon: \"09:00-17:00\"}\n", "t.yaml:9:7:", "missing required key 'timezone' in sla[0].business_hours" },
    { BH, "t.yaml:9:7:", "missing required key 'days' in sla[0].business_hours" },
    { BH "      days: {mon-fri: \"9-17\"}\n", "t.yaml:10:23:", "invalid opening hours '9-17' for 'mon-fri': expected HH:MM-HH:MM" },
    { BH "      days: {mon-fri: \"09:00-24:30\"}\n", "t.yaml:10:23:", "invalid opening hours '09:00-24:30'" },
    { BH "      days: {mon-fri: \"24:00-02:00\"}\n", "t.yaml:10:23:", "(24:00 only as an end)" },
    { BH "      days: {mon-fri: \"09:00-09:00\"}\n", "t.yaml:10:23:", "invalid opening hours '09:00-09:00' for 'mon-fri': the window is empty" },
    { BH "      days: {mon-fry: \"09:00-17:00\"}\n", "t.yaml:10:14:", "unknown day 'mon-fry' in 'days'" },
    { BH "      days: {mon-fri: \"09:00-17:00\", wed: \"18:00-20:00\"}\n", "t.yaml:10:38:", "'wed' is given twice in 'days' (also in 'mon-fri')" },
    { BH "      days: {mon: [\"09:00-12:00\", \"11:00-13:00\"]}\n", "t.yaml:10:35:", "opening hours 'mon 11:00-13:00' overlap 'mon 09:00-12:00'" },
    { BH "      days: {mon: \"22:00-06:00\", tue: \"05:00-09:00\"}\n", "t.yaml:10:39:", "opening hours 'tue 05:00-09:00' overlap 'mon 22:00-06:00'" },
    { BH "      days: {sat: \"22:00-02:00\", sun: \"01:00-03:00\"}\n", "t.yaml:10:39:", "opening hours 'sun 01:00-03:00' overlap 'sat 22:00-02:00'" },
    { BH "      days: {mon: 9}\n", "t.yaml:10:19:", "invalid opening hours '9' for 'mon'" },
    { BH "      days: {mon: {from: 9}}\n", "t.yaml:10:20:", "opening hours for 'mon' must be a string such as \"09:00-17:00\" or a list of them, not a mapping" },
    { BH "      days: {}\n", "t.yaml:10:7:", "business hours of SLA policy 's' are never open ('days' is empty)" },
    { BH "      days: {mon: \"09:00-17:00\"}\n      holidays: [2026-02-30]\n", "t.yaml:11:18:", "invalid holiday '2026-02-30' (write a date such as 2026-12-25, or 12-25 for every year)" },
    { BH "      days: {mon: \"09:00-17:00\"}\n      holidays: [12-25, 25.12.2026]\n", "t.yaml:11:25:", "invalid holiday '25.12.2026'" },
    { BH "      days: {mon: \"09:00-17:00\"}\n      holidays: [2026-13-01]\n", "t.yaml:11:18:", "invalid holiday '2026-13-01'" },
    { BH "      days: {mon: \"09:00-17:00\"}\n      holidays: [12-25, 12-25]\n", "t.yaml:11:25:", "'holidays' lists '12-25' twice" },
    { BH "      days: {mon: \"09:00-17:00\"}\n      hollidays: []\n", "t.yaml:11:7:", "unknown key 'hollidays' in sla[0].business_hours (did you mean 'holidays'?)" },
    { MIN "sla:\n  - {name: a, first_response: 1m}\n  - {name: b, tier: vip, first_response: 1m}\n", "t.yaml:7:12:", "SLA policy 'b' is never used: policy 'a' (line 6) has no conditions and matches every ticket first" },
    { MIN "sla:\n  - {name: a234567890123456789012345678901234567890123456789012345678901234, first_response: 1m}\n", "t.yaml:6:12:", "is too long (at most 63 bytes)" },
    /* escalation */
    { MIN "escalation:\n  - {name: e, notify: true}\n", "t.yaml:6:12:", "escalation 'e' has no trigger" },
    { MIN "escalation:\n  - {name: e, keywords: [urgent]}\n", "t.yaml:6:12:", "escalation 'e' has no action" },
    { MIN "escalation:\n  - {name: e, keywords: [x], move_to_group: level3}\n", "t.yaml:6:45:", "escalation 'e' refers to unknown group 'level3'" },
    { MIN "escalation:\n  - {name: e, keywords: [x], notify: maybe}\n", "t.yaml:6:38:", "'notify' must be true or false (got 'maybe')" },
    { MIN "escalation:\n  - {name: e, no_reply: 0s, notify: true}\n", "t.yaml:6:25:", "'no_reply' must be greater than 0" },
    /* templates and kb (template syntax: test_template.c, where templates compile) */
    { MIN "templates:\n  - {name: t, text: a}\n  - {name: t, text: b}\n", "t.yaml:7:12:", "duplicate template 't' (first at line 6)" },
    { MIN "templates:\n  - {name: t, text: \"\"}\n", "t.yaml:6:21:", "'text' must not be empty" },
    { MIN "kb:\n  - {id: KB-1, body: x}\n", "t.yaml:6:6:", "missing required key 'title' in kb[0]" },
    /* intake */
    { MIN "intake:\n  questions:\n    - {field: topic, prompt: \"?\", type: choice}\n", "t.yaml:7:41:", "question 'topic' of type 'choice' needs at least 2 'choices'" },
    { MIN "intake:\n  questions:\n    - {field: topic, prompt: \"?\", type: choice, choices: [a]}\n", "t.yaml:7:59:", "needs at least 2 'choices'" },
    { MIN "intake:\n  questions:\n    - {field: age, prompt: \"?\", type: number, choices: [a, b]}\n", "t.yaml:7:57:", "question 'age' has 'choices' but its type is 'number'" },
    { MIN "intake:\n  questions:\n    - {field: Email, prompt: \"?\"}\n", "t.yaml:7:15:", "'field' must match [a-z0-9_]+" },
    { MIN "intake:\n  enabled: true\n", "t.yaml:6:3:", "intake is enabled but has no questions" },
    { MIN "intake:\n  questions:\n    - {field: n, prompt: \"?\", min: 1}\n", "t.yaml:7:36:", "question 'n': 'min' and 'max' apply to type 'number' only" },
    { MIN "intake:\n  questions:\n    - {field: n, prompt: \"?\", type: number, min: 5, max: 1}\n", "t.yaml:7:58:", "question 'n': 'max' (1) is less than 'min' (5)" },
    { MIN "intake:\n  questions:\n    - {field: n, prompt: \"?\", type: number, min: ten}\n", "t.yaml:7:50:", "'min' must be a number such as 2 or 1.5 (got 'ten')" },
    { MIN "intake:\n  questions:\n    - {field: abcdefghijklmnopqrstuvwxyz0123456, prompt: \"?\"}\n", "t.yaml:7:15:", "'field' must be at most 32 characters" },
    { MIN "intake:\n  questions:\n    - {field: n, prompt: \"?\", type: choice, choices: [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10,\n"
      "       b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, d1]}\n",
      "t.yaml:8:90:", "question 'n' has more than 30 choices" },
    { MIN "intake:\n  questions:\n    - {field: n, prompt: \"?\", type: date}\n", "t.yaml:7:37:", "'type' must be one of text, email, phone, number or choice (got 'date')" },
    { MIN "intake:\n  questions: [{field: n, prompt: \"?\"}]\n  abandon_after: soon\n", "t.yaml:7:18:", "'abandon_after': invalid duration 'soon'" },
    { MIN "intake:\n  questions: [{field: n, prompt: \"?\"}]\n  intro: [hi]\n", "t.yaml:7:11:", "'intro' must be a string, not a list" },
    { MIN "intake:\n  questions: [{field: n, prompt: \"?\"}]\n  confirmation: \"\"\n", "t.yaml:7:17:", "'confirmation' must not be empty" },
    { MIN "intake:\n  questions: [{field: n, prompt: \"?\"}]\n  skip_buton: Pass\n", "t.yaml:7:3:", "unknown key 'skip_buton' in section 'intake' (did you mean 'skip_button'?)" },
    /* kb as a mapping, kb.file */
    { MIN "kb: nope\n", "t.yaml:5:5:", "section 'kb' must be a list of articles or a mapping with 'articles' and/or 'file', not a scalar value" },
    { MIN "kb:\n  suggestions: 3\n", "t.yaml:6:3:", "section 'kb' has neither 'articles' nor 'file'" },
    { MIN "kb:\n  suggestions: 21\n  articles: []\n", "t.yaml:6:16:", "'suggestions' must be an integer from 0 to 20 (got '21')" },
    { MIN "kb:\n  min_score: high\n  articles: []\n", "t.yaml:6:14:", "'min_score' must be a number such as 2 or 1.5 (got 'high')" },
    { MIN "kb:\n  min_score: -1\n  articles: []\n", "t.yaml:6:14:", "'min_score' must be from 0 to 100 (got '-1')" },
    { MIN "kb:\n  file: /nonexistent/tgcrm-kb.yaml\n", "t.yaml:6:9:", "kb file '/nonexistent/tgcrm-kb.yaml': cannot open: No such file or directory" },
    { MIN "kb:\n  articles:\n    - {id: A, title: T}\n    - {id: A, title: U}\n", "t.yaml:8:12:", "duplicate kb article id 'A' (first at line 7)" },
    { MIN "kb:\n  articles:\n    - {id: A}\n", "t.yaml:7:8:", "missing required key 'title' in kb.articles[0]" },
    { MIN "kb:\n  fil: x.yaml\n", "t.yaml:6:3:", "unknown key 'fil' in section 'kb' (did you mean 'file'?)" },
    /* webhooks */
    { MIN "webhooks:\n  - {name: w, url: \"https://h/\", secret: abc}\n", "t.yaml:6:42:", "'secret' must start with \"whsec_\"" },
    { MIN "webhooks:\n  - {name: w, url: \"https://h/\", secret: \"whsec_!!!!\"}\n", "t.yaml:6:42:", "'secret' is not valid base64" },
    { MIN "webhooks:\n  - {name: w, url: \"https://h/\", secret: whsec_AAAA}\n", "t.yaml:6:42:", "'secret' must decode to at least 16 bytes (got 3)" },
    { MIN "webhooks:\n  - {name: w, url: \"ftp://h/\", secret: whsec_AAAAAAAAAAAAAAAAAAAAAA}\n", "t.yaml:6:20:", "'url' must start with http:// or https://" },
    { MIN "webhooks:\n  - {name: w, url: \"https://h/\", secret: whsec_AAAAAAAAAAAAAAAAAAAAAA,\n"
      "     events: [ticket.created, ticket.deleted]}\n", "t.yaml:7:31:", "unknown event 'ticket.deleted'" },
    { MIN "webhooks:\n  - {name: w, url: \"https://h/\", secret: whsec_AAAAAAAAAAAAAAAAAAAAAA,\n"
      "     retry: [5s, soon]}\n", "t.yaml:7:18:", "'retry': invalid duration 'soon'" },
    { MIN "webhooks:\n  - {name: w, url: \"https://h/\", secret: whsec_AAAAAAAAAAAAAAAAAAAAAA}\n"
      "  - {name: w, url: \"https://h/\", secret: whsec_AAAAAAAAAAAAAAAAAAAAAA}\n",
      "t.yaml:7:12:", "duplicate webhook name 'w' (first at line 6)" },
    { MIN "webhooks:\n  - {name: w, url: \"https://h/\"}\n", "t.yaml:6:6:", "missing required key 'secret' in webhooks[0]" },
};

/* Criterion may run each case in a re-executed process where static
 * pointers differ, so the parameters are copied into its shared memory. */
static void bad_free(struct criterion_test_params *crp)
{
    struct bad *v = crp->params;
    for (size_t i = 0; i < crp->length; i++) {
        cr_free((void *)v[i].yaml);
        cr_free((void *)v[i].prefix);
        cr_free((void *)v[i].msg);
    }
    cr_free(v);
}

static char *shared_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cr_malloc(n);
    memcpy(p, s, n);
    return p;
}

/* A table of bad cases as Criterion parameters. */
static struct criterion_test_params bad_params(const struct bad *cases, size_t n)
{
    struct bad *v = cr_malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i].yaml = shared_str(cases[i].yaml);
        v[i].prefix = shared_str(cases[i].prefix);
        v[i].msg = shared_str(cases[i].msg);
    }
    return cr_make_param_array(struct bad, v, n, bad_free);
}

/* b is refused with its exact position and message. */
static void bad_check(const struct bad *b)
{
    struct cfg *c = (struct cfg *)1;
    struct err e = {0};
    int rc = load(b->yaml, &c, &e);
    cr_assert_eq(rc, ERR_CONFIG, "expected ERR_CONFIG for:\n%s\ngot %d: %s", b->yaml, rc, e.msg);
    cr_assert_null(c);
    cr_assert(strncmp(e.msg, b->prefix, strlen(b->prefix)) == 0,
              "expected prefix '%s', got '%s'", b->prefix, e.msg);
    cr_assert(strstr(e.msg, b->msg) != NULL, "expected '%s' in '%s'", b->msg, e.msg);
}

ParameterizedTestParameters(cfg, bad)
{
    return bad_params(bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

ParameterizedTest(const struct bad *b, cfg, bad)
{
    unsetenv("TGCRM_TEST_UNSET_VAR");
    bad_check(b);
}

/* Nothing from libfyaml reaches stderr on a syntax error. */
Test(cfg, syntax_error_is_quiet, .init = cr_redirect_stderr)
{
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(load("a: [1, 2\nb: {\n", &c, &e), ERR_CONFIG);
    cr_assert_eq(load("", &c, &e), ERR_CONFIG);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

/* --- sla: targets per priority, pauses, business hours ------------------------ */

Test(cfg, sla_every_field)
{
    struct cfg *c = load_ok(
        MIN
        "sla:\n"
        "  - name: office\n"
        "    tier: vip\n"
        "    first_response: 1h\n"
        "    resolution: 1d\n"
        "    warn_before: 5m\n"
        "    targets:\n"
        "      urgent: {first_response: 10m, next_response: 20m, resolution: 4h}\n"
        "      low: {first_response: 4h, next_response: off}\n"
        "    pause:\n"
        "      resolution: [on_hold, in_progress]\n"
        "      next_response: []\n"
        "    business_hours:\n"
        "      timezone: America/New_York\n"
        "      days:\n"
        "        mon-thu: [\"09:00-12:00\", \"13:00-17:00\"]\n"
        "        fri: \"9:00-15:30\"\n"
        "        sat,sun: \"22:00-02:00\"\n"
        "      holidays: [2026-07-03, 12-25, 02-29]\n"
        "  - name: fallback\n"
        "    first_response: 2m\n"
        "    pause: [open]\n");
    cr_assert_eq(c->nsla, 2);
    const struct cfg_sla_policy *s = &c->sla[0];
    cr_assert_eq(s->first_response_ms, 3600000);
    cr_assert_eq(s->next_response_ms, 3600000, "next_response defaults to first_response");
    cr_assert_eq(s->resolution_ms, 86400000);
    cr_assert(s->has_targets[PRIORITY_URGENT]);
    cr_assert(s->has_targets[PRIORITY_LOW]);
    cr_assert_not(s->has_targets[PRIORITY_NORMAL]);
    cr_assert_not(s->has_targets[PRIORITY_HIGH]);
    cr_assert_eq(s->targets_ms[PRIORITY_URGENT][0], 600000);
    cr_assert_eq(s->targets_ms[PRIORITY_URGENT][1], 1200000);
    cr_assert_eq(s->targets_ms[PRIORITY_URGENT][2], 14400000);
    cr_assert_eq(s->targets_ms[PRIORITY_LOW][0], 14400000);
    cr_assert_eq(s->targets_ms[PRIORITY_LOW][1], 0, "off");
    cr_assert_eq(s->targets_ms[PRIORITY_LOW][2], 0, "an entry replaces the flat targets");
    cr_assert_eq(s->pause[0], 1u << TICKET_ON_HOLD, "metrics not listed keep on_hold");
    cr_assert_eq(s->pause[1], 0u);
    cr_assert_eq(s->pause[2], (1u << TICKET_ON_HOLD) | (1u << TICKET_IN_PROGRESS));
    cr_assert_eq(c->sla[1].pause[2], 1u << TICKET_OPEN);
    cr_assert_null(c->sla[1].calendar);

    const struct cfg_calendar *cal = s->calendar;
    cr_assert_not_null(cal);
    cr_assert_str_eq(cal->timezone, "America/New_York");
    cr_assert_not_null(cal->tz);
    /* sorted by day (Sunday first), then start; overnight windows end past 24h */
    static const struct cfg_hours want[] = {
        { 0, 79200000, 93600000 },
        { 1, 32400000, 43200000 }, { 1, 46800000, 61200000 },
        { 2, 32400000, 43200000 }, { 2, 46800000, 61200000 },
        { 3, 32400000, 43200000 }, { 3, 46800000, 61200000 },
        { 4, 32400000, 43200000 }, { 4, 46800000, 61200000 },
        { 5, 32400000, 55800000 },
        { 6, 79200000, 93600000 },
    };
    cr_assert_eq(cal->nhours, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < cal->nhours; i++) {
        cr_expect_eq(cal->hours[i].day, want[i].day, "window %zu", i);
        cr_expect_eq(cal->hours[i].start_ms, want[i].start_ms, "window %zu", i);
        cr_expect_eq(cal->hours[i].end_ms, want[i].end_ms, "window %zu", i);
    }
    cr_assert_eq(cal->nholidays, 3);
    cr_assert_eq(cal->holidays[0].year, 2026);
    cr_assert_eq(cal->holidays[0].month, 7);
    cr_assert_eq(cal->holidays[0].day, 3);
    cr_assert_eq(cal->holidays[1].year, 0, "every year");
    cr_assert_eq(cal->holidays[2].month, 2);
    cr_assert_eq(cal->holidays[2].day, 29);
    cfg_unref(&c);
}

/* The statuses cfg accepts in pause lists are desk's, as bits in its order. */
Test(cfg, sla_statuses_match_desk)
{
    static const char *const active[] = { "open", "in_progress", "on_hold" };
    char buf[512];
    for (size_t i = 0; i < 3; i++) {
        enum ticket_status st;
        cr_assert_eq(ticket_status_parse(active[i], &st, NULL), 0);
        cr_assert(ticket_status_is_active(st));
        snprintf(buf, sizeof buf, MIN "sla: [{name: s, first_response: 1m, pause: [%s]}]\n",
                 active[i]);
        struct cfg *c = load_ok(buf);
        for (size_t m = 0; m < CFG_SLA_METRICS; m++)
            cr_assert_eq(c->sla[0].pause[m], 1u << st, "%s", active[i]);
        cfg_unref(&c);
    }
    for (int st = 0; st < TICKET_STATUS_COUNT; st++) {
        if (ticket_status_is_active((enum ticket_status)st))
            continue;
        snprintf(buf, sizeof buf, MIN "sla: [{name: s, first_response: 1m, pause: [%s]}]\n",
                 ticket_status_name((enum ticket_status)st));
        struct cfg *c = NULL;
        struct err e = {0};
        cr_assert_eq(load(buf, &c, &e), ERR_CONFIG);
        cr_assert(strstr(e.msg, "ends the SLA clocks") != NULL, "%s", e.msg);
    }
    cr_assert_eq(TICKET_STATUS_COUNT, 5);
    cr_assert_eq(PRIORITY_COUNT, CFG_PRIORITIES);
}

/* --- routing, escalation and ticket policy (issue 6) ------------------------------ */

#define INTAKE                                                                      \
    "intake:\n"                                                                     \
    "  questions:\n"                                                                \
    "    - {field: topic, prompt: \"?\", type: choice, choices: [billing, other]}\n" \
    "    - {field: plan, prompt: \"?\"}\n"

Test(cfg, routing_and_escalation_fields)
{
    struct cfg *c = load_ok(MIN
        "tickets: {reassign_on_offline: no, fallback_strategy: least_loaded, utc_offset: \"-05:30\"}\n"
        "groups: [{name: billing}, {name: level2, level: 2}]\n"
        INTAKE
        "routing:\n"
        "  - name: form\n"
        "    field: {topic: Billing, plan: [pro, \"enterprise plus\"]}\n"
        "    days: [mon-wed, fri, sun-mon]\n"
        "    hours: [\"09:00-12:30\", \"22:00-02:00\", \"23:00-24:00\"]\n"
        "    utc_offset: \"+03:00\"\n"
        "    group: billing\n"
        "  - {name: weekend, days: sat, group: billing}\n"
        "  - {name: nights, hours: \"20:00-08:00\", group: billing}\n"
        "escalation:\n"
        "  - {name: legal, regex: \"\\\\blawyer\\\\b\", manual: true, next_level: true, reassign: yes,\n"
        "     strategy: least_loaded}\n"
        "  - {name: ping, tier: vip, notify: true}\n");
    cr_assert_not(c->reassign_on_offline);
    cr_assert_str_eq(c->fallback_strategy, "least_loaded");
    cr_assert_eq(c->utc_offset_min, -330);
    struct cfg_rule *r = &c->rules[0];
    cr_assert_eq(r->nfields, 2);
    cr_assert_str_eq(r->fields[0].name, "topic");
    cr_assert_eq(r->fields[0].nvalues, 1);
    cr_assert_str_eq(r->fields[0].values[0], "Billing");
    cr_assert_eq(r->fields[1].nvalues, 2);
    cr_assert_str_eq(r->fields[1].values[1], "enterprise plus");
    cr_assert_eq(r->fields[1].pos.line, 13);
    cr_assert_eq(r->days, 0x1u | 0x2u | 0x4u | 0x10u | 0x40u, "mon-wed, fri, sun-mon: %#x", r->days);
    cr_assert_eq(r->nhours, 3);
    cr_assert_eq(r->hours[0].from_min, 9 * 60);
    cr_assert_eq(r->hours[0].to_min, 12 * 60 + 30);
    cr_assert_eq(r->hours[1].from_min, 22 * 60);
    cr_assert_eq(r->hours[1].to_min, 2 * 60);
    cr_assert_eq(r->hours[2].to_min, 24 * 60);
    cr_assert_eq(r->utc_offset_min, 180);
    cr_assert_eq(c->rules[1].days, 0x20u, "a single day as a string");
    cr_assert_eq(c->rules[1].utc_offset_min, -330, "tickets.utc_offset is the default");
    cr_assert_eq(c->rules[2].days, CFG_DAYS_ALL);
    cr_assert_eq(c->rules[2].nhours, 1);
    cr_assert_str_eq(c->rules[2].strategy, "round_robin");
    struct cfg_escalation *x = &c->escalations[0];
    cr_assert_str_eq(x->regex, "\\blawyer\\b");
    cr_assert(x->manual);
    cr_assert(x->next_level);
    cr_assert(x->reassign);
    cr_assert_str_eq(x->strategy, "least_loaded");
    cr_assert_str_eq(c->escalations[1].strategy, "round_robin", "the default");
    cr_assert_not(c->escalations[1].manual);
    cfg_unref(&c);

    c = load_ok(MIN);
    cr_assert(c->reassign_on_offline, "reassigning is the default");
    cr_assert_str_eq(c->fallback_strategy, "none");
    cr_assert_eq(c->utc_offset_min, 0);
    cfg_unref(&c);
}

static const struct bad bad_rule_cases[] = {
    /* tickets */
    { MIN "tickets: {reassign_on_offline: maybe}\n", "t.yaml:5:32:", "'reassign_on_offline' must be true or false (got 'maybe')" },
    { MIN "tickets: {fallback_strategy: random}\n", "t.yaml:5:30:", "'fallback_strategy' must be one of round_robin, least_loaded or none (got 'random')" },
    { MIN "tickets: {utc_offset: \"+25:00\"}\n", "t.yaml:5:23:", "'utc_offset' must be an offset from UTC such as +03:00, -05:30 or UTC, from -12:00 to +14:00 (got '+25:00')" },
    { MIN "tickets: {utc_offset: 3}\n", "t.yaml:5:23:", "'utc_offset' must be an offset from UTC" },
    /* routing: patterns and keywords */
    { MIN "routing:\n  - {name: r, group: general, regex: \"[a-\"}\n", "t.yaml:6:38:", "'regex': missing terminating ] for character class at offset 3" },
    { MIN "routing:\n  - {name: r, group: general, regex: \"(?<n>a)(?<n>b)\"}\n", "t.yaml:6:38:", "'regex': two named subpatterns have the same name" },
    { MIN "routing:\n  - {name: r, group: general, keywords: [ok, \"*\"]}\n", "t.yaml:6:46:", "'keywords': keyword '*' has nothing to match" },
    { MIN "routing:\n  - {name: r, group: general, keywords: [\"  \"]}\n", "t.yaml:6:42:", "'keywords': keyword '  ' has nothing to match" },
    /* routing: time of day */
    { MIN "routing:\n  - {name: r, group: general, hours: \"9-17\"}\n", "t.yaml:6:38:", "'hours': invalid window '9-17' (expected HH:MM-HH:MM" },
    { MIN "routing:\n  - {name: r, group: general, hours: \"09:00-25:00\"}\n", "t.yaml:6:38:", "'hours': invalid window '09:00-25:00' (expected HH:MM-HH:MM with hours 00-23" },
    { MIN "routing:\n  - {name: r, group: general, hours: \"10:60-11:00\"}\n", "t.yaml:6:38:", "invalid window '10:60-11:00'" },
    { MIN "routing:\n  - {name: r, group: general, hours: \"10:00-10:00\"}\n", "t.yaml:6:38:", "invalid window '10:00-10:00' (the window is empty)" },
    { MIN "routing:\n  - {name: r, group: general, hours: \"24:00-02:00\"}\n", "t.yaml:6:38:", "invalid window '24:00-02:00' (expected HH:MM-HH:MM with hours 00-23 (24:00 only as an end))" },
    { MIN "routing:\n  - name: r\n    group: general\n    hours:\n      - \"09:00-12:00\"\n      - \"13:00-1700\"\n", "t.yaml:10:9:", "'hours': invalid window '13:00-1700'" },
    { MIN "routing:\n  - {name: r, group: general, hours: []}\n", "t.yaml:6:31:", "'hours' must not be an empty list (leave the key out)" },
    { MIN "routing:\n  - {name: r, group: general, hours: {from: 9}}\n", "t.yaml:6:39:", "'hours' must be a string or a list of strings, not a mapping" },
    { MIN "routing:\n  - {name: r, group: general, days: [mon, funday]}\n", "t.yaml:6:43:", "'days': unknown day or range 'funday' (use mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)" },
    { MIN "routing:\n  - {name: r, group: general, days: mon-xyz}\n", "t.yaml:6:37:", "'days': unknown day or range 'mon-xyz'" },
    { MIN "routing:\n  - {name: r, group: general, days: [mon, mon]}\n", "t.yaml:6:43:", "'days' lists 'mon' twice" },
    { MIN "routing:\n  - {name: r, group: general, keywords: [x], utc_offset: \"+01:00\"}\n", "t.yaml:6:58:", "'utc_offset' sets the local time of 'days' and 'hours'; rule 'r' has neither" },
    { MIN "routing:\n  - {name: r, group: general, days: [sat], utc_offset: \"01:00\"}\n", "t.yaml:6:56:", "'utc_offset' must be an offset from UTC" },
    /* routing: intake fields */
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: topic}\n", "t.yaml:10:38:", "'field' must be a mapping of intake field to value, e.g. {topic: billing}, not a scalar value" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {}}\n", "t.yaml:10:31:", "'field' must name at least one field" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {Topic: billing}}\n", "t.yaml:10:39:", "field name must match [a-z0-9_]+ (got 'Topic')" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {topic: billing, topic: other}}\n", "t.yaml:10:55:", "'field' names 'topic' twice" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {topic: {a: b}}}\n", "t.yaml:10:47:", "field 'topic' must be a value or a list of values, not a mapping" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {topic: []}}\n", "t.yaml:10:39:", "field 'topic' must list at least one value" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {plan: \" \"}}\n", "t.yaml:10:45:", "field 'plan': value ' ' has nothing to match" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {color: red}}\n", "t.yaml:10:39:", "rule 'r' tests field 'color', which is not an intake question's field" },
    { MIN "routing:\n  - {name: r, group: general, field: {topic: billing}}\n", "t.yaml:6:39:", "rule 'r' tests field 'topic', which is not an intake question's field" },
    { MIN INTAKE "routing:\n  - {name: r, group: general, field: {topic: [billing, sales]}}\n", "t.yaml:10:39:", "rule 'r': field 'topic' can never be 'sales' (not one of its choices)" },
    /* escalation */
    { MIN "escalation:\n  - {name: e, no_reply: -5m, notify: true}\n", "t.yaml:6:25:", "'no_reply': invalid duration '-5m'" },
    { MIN "escalation:\n  - {name: e, regex: \"(urgent\", notify: true}\n", "t.yaml:6:22:", "'regex': missing closing parenthesis at offset 7" },
    { MIN "escalation:\n  - {name: e, keywords: [\"**\"], notify: true}\n", "t.yaml:6:26:", "'keywords': keyword '**' has nothing to match" },
    { MIN "escalation:\n  - {name: e, manual: sometimes, notify: true}\n", "t.yaml:6:23:", "'manual' must be true or false (got 'sometimes')" },
    { MIN "escalation:\n  - {name: e, manual: true}\n", "t.yaml:6:12:", "escalation 'e' has no action (set_priority, raise_priority, move_to_group, next_level, reassign or notify)" },
    { MIN "escalation:\n  - {name: e, raise_priority: true}\n", "t.yaml:6:12:", "escalation 'e' has no trigger (keywords, regex, on_sla, no_reply, tier or manual)" },
    { MIN "groups: [{name: l2, level: 2}]\nescalation:\n  - {name: e, manual: true, move_to_group: l2, next_level: true}\n",
      "t.yaml:7:60:", "escalation 'e': move_to_group and next_level exclude each other" },
    { MIN "escalation:\n  - {name: e, manual: true, next_level: true}\n", "t.yaml:6:41:", "escalation 'e': next_level, but every group is at level 1 (give a group a higher 'level')" },
    { MIN "escalation:\n  - {name: e, manual: true, notify: true, strategy: least_loaded}\n", "t.yaml:6:53:", "escalation 'e': 'strategy' picks the agent for move_to_group, next_level or reassign, and it has none of them" },
    { MIN "escalation:\n  - {name: e, manual: true, reassign: true, strategy: fastest}\n", "t.yaml:6:55:", "'strategy' must be one of round_robin, least_loaded or none (got 'fastest')" },
    { MIN "escalation:\n  - {name: e, manual: true, move_to_group: level9}\n", "t.yaml:6:44:", "escalation 'e' refers to unknown group 'level9'" },
};

ParameterizedTestParameters(cfg, bad_rules)
{
    return bad_params(bad_rule_cases, sizeof bad_rule_cases / sizeof bad_rule_cases[0]);
}

ParameterizedTest(const struct bad *b, cfg, bad_rules)
{
    bad_check(b);
}

/* --- kb.file, intake texts, positions inside texts --------------------------------- */

/* A fresh directory under /tmp; files written into it are removed by rm_dir. */
static void make_dir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/tgcrm-cfg-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void rm_dir(const char *dir, const char *const *names)
{
    char path[256];
    for (size_t i = 0; names[i] != NULL; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
    remove(dir);
}

Test(cfg, kb_file_yaml_and_json)
{
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    write_file(dir, "kb.yaml", "articles:\n"
               "  - {id: F-1, title: From file, keywords: [x, y]}\n"
               "  - id: F-2\n"
               "    title: Second\n"
               "    body: |\n"
               "      text\n");
    write_file(dir, "kb.json", "[{\"id\": \"J-1\", \"title\": \"From JSON\", "
               "\"url\": \"https://kb/j\", \"keywords\": [\"k\"]}]\n");
    write_file(dir, "t.yaml", MIN "kb:\n  suggestions: 5\n  min_score: 1.25\n"
               "  file: kb.yaml\n  articles:\n    - {id: I-1, title: Inline}\n");
    write_file(dir, "j.yaml", MIN "kb: {file: kb.json}\n");

    struct cfg *c = NULL;
    struct err e = {0};
    snprintf(path, sizeof path, "%s/t.yaml", dir);
    cr_assert_eq(cfg_load(path, &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c->nkb, 3);
    cr_assert_str_eq(c->kb[0].id, "I-1", "inline articles come first");
    cr_assert_str_eq(c->kb[1].id, "F-1");
    cr_assert_eq(c->kb[1].nkeywords, 2);
    cr_assert_str_eq(c->kb[2].body, "text\n");
    cr_assert_eq(c->kb[2].pos.line, 3, "positions are in the kb file");
    cr_assert_str_eq(c->kb_file, "kb.yaml");
    cr_assert_eq(c->kb_suggestions, 5);
    cr_assert_float_eq(c->kb_min_score, 1.25, 1e-12);
    cfg_unref(&c);

    snprintf(path, sizeof path, "%s/j.yaml", dir);
    cr_assert_eq(cfg_load(path, &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c->nkb, 1);
    cr_assert_str_eq(c->kb[0].url, "https://kb/j");
    cr_assert_float_eq(c->kb_min_score, 0.5, 1e-12, "the default");
    cfg_unref(&c);
    rm_dir(dir, (const char *const[]){ "kb.yaml", "kb.json", "t.yaml", "j.yaml", NULL });
}

Test(cfg, kb_file_errors_name_the_file)
{
    static const struct { const char *name, *text, *where, *msg; } cases[] = {
        { "syntax.yaml", "- {id: X, title: [\n", "syntax.yaml:2:1: ", "" },
        { "dup.yaml", "- {id: D-1, title: Again}\n", "dup.yaml:1:8: ",
          "duplicate kb article id 'D-1' (first at line 8 of " },
        { "scalar.yaml", "hello\n", "scalar.yaml:1:1: ",
          "the kb file must hold a list of articles (or 'articles:' with one), not a scalar" },
        { "broken.json", "[{\"id\": \"J\", \"title\": \"T\",}]\n", "broken.json:1:", "" },
        { "empty.yaml", "", "empty.yaml:1:1: ",
          "the kb file is empty (expected a list of articles)" },
        { "notitle.yaml", "- {id: M}\n", "notitle.yaml:1:4: ",
          "missing required key 'title' in articles[0]" },
        { "typo.yaml", "artcles: []\n", "typo.yaml:1:1: ",
          "unknown key 'artcles' in the kb file (did you mean 'articles'?)" },
        { "nolist.yaml", "articles: {id: A}\n", "nolist.yaml:1:12: ",
          "the kb file must hold a list of articles" },
    };
    char dir[64], path[128], yaml[512], prefix[160];
    const char *names[sizeof cases / sizeof cases[0] + 2];
    make_dir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(dir, cases[i].name, cases[i].text);
        snprintf(yaml, sizeof yaml, MIN "kb:\n  file: %s\n  articles:\n"
                 "    - {id: D-1, title: Inline}\n", cases[i].name);
        write_file(dir, "t.yaml", yaml);
        snprintf(path, sizeof path, "%s/t.yaml", dir);
        struct cfg *c = NULL;
        struct err e = {0};
        cr_expect_eq(cfg_load(path, &c, &e), ERR_CONFIG, "%s loaded", cases[i].name);
        cr_expect_null(c);
        snprintf(prefix, sizeof prefix, "%s/%s", dir, cases[i].where);
        cr_expect(strncmp(e.msg, prefix, strlen(prefix)) == 0, "want prefix '%s', got '%s'",
                  prefix, e.msg);
        cr_expect(strstr(e.msg, cases[i].msg) != NULL, "want '%s' in '%s'", cases[i].msg,
                  e.msg);
        names[i] = cases[i].name;
    }
    names[sizeof cases / sizeof cases[0]] = "t.yaml";
    names[sizeof cases / sizeof cases[0] + 1] = NULL;
    rm_dir(dir, names);
}

Test(cfg, intake_texts_and_defaults)
{
    struct cfg *c = load_ok(MIN "intake:\n  questions:\n"
                            "    - {field: order_id, prompt: \"Order?\", type: number}\n");
    const struct cfg_intake_texts *t = &c->intake_texts;
    cr_assert_null(t->intro);
    cr_assert_str_eq(t->confirmation, "Thank you! Your request #{{ticket.id}} is open. "
                     "We will answer here as soon as we can.");
    cr_assert_null(t->confirmation_at, "a built-in text has no positions");
    cr_assert_str_eq(t->skip_button, "Skip");
    cr_assert_str_eq(t->summary_title, "Intake form");
    cr_assert_eq(c->intake_abandon_ms, 86400000);
    cr_assert_str_eq(c->intake[0].label, "Order id");
    cr_assert_not(c->intake[0].has_min);
    cfg_unref(&c);

    c = load_ok(MIN "intake:\n"
                "  intro: Hello!\n"
                "  confirmation: |\n"
                "    Ticket #{{ticket.id}}\n"
                "  cancelled: Bye\n"
                "  skip_button: Pass\n"
                "  summary_title: Form\n"
                "  abandon_after: 30m\n"
                "  questions:\n"
                "    - {field: seats, prompt: \"Seats?\", type: number, min: -2.5, max: 10,\n"
                "       label: Seat count, invalid: \"1 to 10, please\"}\n");
    t = &c->intake_texts;
    cr_assert_str_eq(t->intro, "Hello!");
    cr_assert_str_eq(t->confirmation, "Ticket #{{ticket.id}}\n");
    cr_assert_eq(t->confirmation_at[8].line, 8, "the '{{' is on line 8");
    cr_assert_eq(t->confirmation_at[8].column, 13);
    cr_assert_str_eq(t->skip_button, "Pass");
    cr_assert_eq(c->intake_abandon_ms, 1800000);
    const struct cfg_intake_question *q = &c->intake[0];
    cr_assert(q->has_min && q->has_max);
    cr_assert_float_eq(q->min, -2.5, 1e-12);
    cr_assert_float_eq(q->max, 10, 1e-12);
    cr_assert_str_eq(q->label, "Seat count");
    cr_assert_str_eq(q->invalid, "1 to 10, please");
    cr_assert_eq(q->prompt_at[0].line, 14);
    cr_assert_eq(q->prompt_at[0].column, 31, "the S after the opening quote");
    cfg_unref(&c);
}

Test(cfg, template_text_positions)
{
    struct cfg *c = load_ok(MIN "templates:\n"
                            "  - name: t\n"
                            "    text: >\n"
                            "      one\n"
                            "      two {{x}}\n");
    const struct cfg_template *t = &c->templates[0];
    cr_assert_str_eq(t->text, "one two {{x}}\n");
    const char *brace = strstr(t->text, "{{");
    struct cfg_pos p = t->text_at[brace - t->text];
    cr_assert_eq(p.line, 9);
    cr_assert_eq(p.column, 11);
    cr_assert_eq(t->text_at[0].line, 8);
    cr_assert_eq(t->text_at[0].column, 7);
    cfg_unref(&c);
}
