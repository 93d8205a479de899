/*
 * test_run.c — the runner's seeds and orders, and the sandbox's effective
 * configuration: what must not change between two runs with one seed, and
 * what must change with another.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "base/mem.h"
#include "check/run.h"
#include "check/sandbox.h"
#include "check/scenario.h"

Test(run, splitmix_is_the_reference_sequence)
{
    /* splitmix64 from state 0: the published first outputs */
    uint64_t s = 0;
    cr_assert_eq(run_rand(&s), 0xE220A8397B1DCDAFULL);
    cr_assert_eq(run_rand(&s), 0x6E789E6AA1B965F4ULL);
    cr_assert_eq(run_rand(&s), 0x06C45D188009454FULL);
}

Test(run, below_stays_below_and_covers)
{
    uint64_t s = 42;
    bool seen[7] = {false};
    for (int i = 0; i < 1000; i++) {
        uint64_t x = run_rand_below(&s, 7);
        cr_assert_lt(x, 7);
        seen[x] = true;
    }
    for (int i = 0; i < 7; i++)
        cr_assert(seen[i], "%d never drawn in 1000 tries", i);
}

Test(run, repetition_one_keeps_the_seed_so_a_case_seed_replays_it)
{
    cr_assert_eq(run_case_seed(8427361, 1), 8427361);
    uint64_t r2 = run_case_seed(8427361, 2), r3 = run_case_seed(8427361, 3);
    cr_assert_neq(r2, 8427361);
    cr_assert_neq(r2, r3);
    cr_assert_eq(run_case_seed(8427361, 2), r2, "derivation is a function");
    cr_assert_neq(run_case_seed(8427362, 2), r2);
}

Test(run, case_streams_differ_by_suite_and_scenario)
{
    uint64_t a = run_case_stream(7, "Routing", "billing");
    cr_assert_eq(a, run_case_stream(7, "Routing", "billing"));
    cr_assert_neq(a, run_case_stream(7, "Routing", "vip"));
    cr_assert_neq(a, run_case_stream(7, "Routin", "gbilling"), "names are delimited");
    cr_assert_neq(a, run_case_stream(8, "Routing", "billing"));
}

static void order(uint64_t seed, size_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    run_shuffle(&seed, idx, n);
}

Test(run, shuffle_is_a_permutation_fixed_by_the_seed)
{
    size_t a[10], b[10], c[10];
    order(1, a, 10);
    order(1, b, 10);
    order(2, c, 10);
    cr_assert_arr_eq(a, b, sizeof a, "same seed, same order");
    cr_assert_arr_neq(a, c, sizeof a, "another seed, another order");
    bool seen[10] = {false};
    for (int i = 0; i < 10; i++) {
        cr_assert_lt(a[i], 10);
        cr_assert_not(seen[a[i]], "%zu twice", a[i]);
        seen[a[i]] = true;
    }
}

Test(run, shuffle_of_one_or_none_is_harmless)
{
    size_t one[1] = {0};
    uint64_t s = 5;
    run_shuffle(&s, one, 1);
    cr_assert_eq(one[0], 0);
    run_shuffle(&s, NULL, 0);
}

/* ---- the effective configuration --------------------------------------------------- */

static const char suite_text[] =
    "suite: s\n"
    "config:\n"
    "  telegram: {token: \"555:ABC\", api_base: \"https://api.telegram.org\", mode: webhook,\n"
    "             webhook: {url: \"https://x.example/tg\", secret_token: abc}}\n"
    "  store: {driver: postgres, dsn: \"host=db\", busy_timeout: 2s}\n"
    "  http:\n"
    "    listen: \"0.0.0.0:8080\"\n"
    "    api_tokens: [{name: t, token: \"0123456789abcdef0123\"}]\n"
    "  groups: [{name: general, title: \"Support: 24/7, \\\"fast\\\"\"}]\n"
    "  agents:\n"
    "    - {id: alice, telegram_user_id: 9001, groups: [general]}\n"
    "  webhooks:\n"
    "    - name: helpdesk\n"
    "      url: \"https://helpdesk.example.com/api/in\"\n"
    "      secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
    "      retry: [5s, 30s]\n"
    "scenarios:\n"
    "  - {name: x, expect: y, steps: [{advance: 1s}]}\n";

Test(sandbox, effective_config_points_everything_at_the_sandbox)
{
    struct scenario_suite *s = NULL;
    struct err e = {0};
    cr_assert_eq(scenario_load_string("t.yaml", suite_text, strlen(suite_text), NULL, &s, &e),
                 0, "%s", e.msg);
    char *text = NULL;
    cr_assert_eq(sandbox_config_text(s, "/tmp/case", 4101, 4102, &text, &e), 0, "%s", e.msg);
    struct cfg *c = NULL;
    cr_assert_eq(cfg_load_string("effective.yaml", text, strlen(text), &c, &e), 0,
                 "%s\n---\n%s", e.msg, text);
    cr_assert_str_eq(c->store.driver, "sqlite");
    cr_assert_str_eq(c->store.path, "/tmp/case/tgcrm.db");
    cr_assert_eq(c->store.busy_timeout_ms, 2000, "other store keys are kept");
    cr_assert_str_eq(c->http.listen, "127.0.0.1:0");
    cr_assert_str_eq(c->telegram.api_base, "http://127.0.0.1:4101");
    cr_assert_str_eq(c->telegram.mode, "polling");
    cr_assert_str_eq(c->telegram.token, "555:ABC", "the token is kept");
    cr_assert_eq(c->telegram.staff_group_id, SANDBOX_GROUP_ID, "a staff group by default");
    cr_assert_eq(c->nwebhooks, 1);
    cr_assert_str_eq(c->webhooks[0].url, "http://127.0.0.1:4102/hooks/helpdesk");
    cr_assert_eq(c->webhooks[0].nretry, 2, "the rest of the endpoint is kept");
    cr_assert_str_eq(c->groups[0].title, "Support: 24/7, \"fast\"", "quoted text survives");
    cr_assert_eq(c->agents[0].tg_user_id, 9001, "plain numbers stay numbers");
    cfg_unref(&c);
    mem_free(text);
    scenario_suite_free(&s);
}

Test(sandbox, a_config_without_telegram_gets_the_default_bot)
{
    static const char t[] =
        "suite: s\nconfig:\n  http: {api_tokens: [{name: t, token: \"0123456789abcdef0123\"}]}\n"
        "scenarios:\n  - {name: x, expect: y, steps: [{advance: 1s}]}\n";
    struct scenario_suite *s = NULL;
    struct err e = {0};
    cr_assert_eq(scenario_load_string("t.yaml", t, strlen(t), NULL, &s, &e), 0, "%s", e.msg);
    char *text = NULL;
    cr_assert_eq(sandbox_config_text(s, "/d", 1, 2, &text, &e), 0);
    struct cfg *c = NULL;
    cr_assert_eq(cfg_load_string("e.yaml", text, strlen(text), &c, &e), 0, "%s\n%s", e.msg,
                 text);
    cr_assert_str_eq(c->telegram.token, "123456:TEST-TOKEN");
    cr_assert_eq(c->nwebhooks, 0);
    cfg_unref(&c);
    mem_free(text);
    scenario_suite_free(&s);
}
