/*
 * test_sla.c — SLA clocks and business hours.
 *
 * Driven by tests/cases/sla.tsv (scenarios: the article's SLA table, pauses,
 * next-response restarts, warnings and breaches at their exact instants,
 * policy changes, business hours) and tests/cases/business_hours.tsv
 * (weekends, holidays, DST), both against the policies of
 * tests/cases/sla.yaml. Then policy selection, the JSON forms, and a
 * randomized comparison of three engines — one that arms the timer exactly,
 * one that polls every second and one that never fires it — which must
 * report the same warnings and breaches at the same instants.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/tz.h"
#include "common/cases.h"
#include "desk/sla.h"
#include "desk/sla_hours.h"

#define T0 1772438400000LL          /* 2026-03-02T08:00:00Z, Monday 09:00 in Berlin */
#define MIN (60 * 1000LL)

static struct cfg *load_cases_cfg(void)
{
    struct cfg *c = NULL;
    struct err e = {0};
    int rc = cfg_load("tests/cases/sla.yaml", &c, &e);
    cr_assert_eq(rc, 0, "tests/cases/sla.yaml: %s", e.msg);
    return c;
}

static struct cfg *load_yaml(const char *yaml)
{
    struct cfg *c = NULL;
    struct err e = {0};
    int rc = cfg_load_string("t.yaml", yaml, strlen(yaml), &c, &e);
    cr_assert_eq(rc, 0, "%s", e.msg);
    return c;
}

static const struct cfg_sla_policy *policy(const struct cfg *c, const char *name)
{
    for (size_t i = 0; i < c->nsla; i++)
        if (strcmp(c->sla[i].name, name) == 0)
            return &c->sla[i];
    cr_assert_fail("no SLA policy '%s' in the cases config", name);
    return NULL;
}

/* An instant: RFC 3339, or a duration after T0. */
static bool parse_at(const char *s, int64_t *out)
{
    if (strchr(s, 'T') != NULL)
        return clock_parse_iso(s, out) == 0;
    int64_t d;
    if (clock_parse_duration(s, &d) != 0)
        return false;
    *out = T0 + d;
    return true;
}

/* "-" is 0; else an instant or a duration as `instant` says. */
static int64_t value(const char *s, bool instant, int line)
{
    int64_t v = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    bool ok = instant ? parse_at(s, &v) : clock_parse_duration(s, &v) == 0;
    cr_assert(ok, "line %d: cannot read '%s' as %s", line, s, instant ? "an instant" : "a duration");
    return v;
}

/* --- sla.tsv ------------------------------------------------------------------------ */

struct sim {
    const struct cfg *cfg;
    char name[64];
    struct sla_state st;
    enum ticket_priority prio;
    char tier[32];
    char group[32];
    struct sla_event seen[256];     /* warnings and breaches so far */
    size_t nseen;
};

static const struct cfg_sla_policy *sim_policy(const struct sim *s)
{
    return sla_select(s->cfg, s->prio, s->tier, s->group);
}

static void apply(struct sim *s, char *ev, int64_t at, struct sla_events *out, int line)
{
    char *save = NULL;
    char *verb = strtok_r(ev, " ", &save);
    char *arg = strtok_r(NULL, " ", &save);
    out->n = 0;
    cr_assert_not_null(verb, "line %d: no event", line);
    if (strcmp(verb, "create") == 0) {
        cr_assert_eq(ticket_priority_parse(arg, &s->prio, NULL), 0, "line %d", line);
        snprintf(s->tier, sizeof s->tier, "standard");
        snprintf(s->group, sizeof s->group, "general");
        for (char *kv; (kv = strtok_r(NULL, " ", &save)) != NULL;) {
            if (strncmp(kv, "tier=", 5) == 0)
                snprintf(s->tier, sizeof s->tier, "%s", kv + 5);
            else if (strncmp(kv, "group=", 6) == 0)
                snprintf(s->group, sizeof s->group, "%s", kv + 6);
            else
                cr_assert_fail("line %d: unknown create option '%s'", line, kv);
        }
        sla_on_created(&s->st, sim_policy(s), s->prio, at);
    } else if (strcmp(verb, "reply") == 0) {
        sla_on_agent_reply(&s->st, sim_policy(s), at, out);
    } else if (strcmp(verb, "customer") == 0) {
        sla_on_customer_message(&s->st, sim_policy(s), at, out);
    } else if (strcmp(verb, "status") == 0) {
        enum ticket_status to;
        cr_assert_eq(ticket_status_parse(arg, &to, NULL), 0, "line %d: status '%s'", line, arg);
        sla_on_status(&s->st, sim_policy(s), to, at, out);
    } else if (strcmp(verb, "priority") == 0 || strcmp(verb, "group") == 0 ||
               strcmp(verb, "tier") == 0) {
        cr_assert_not_null(arg, "line %d: %s needs a value", line, verb);
        if (verb[0] == 'p')
            cr_assert_eq(ticket_priority_parse(arg, &s->prio, NULL), 0, "line %d", line);
        else if (verb[0] == 'g')
            snprintf(s->group, sizeof s->group, "%s", arg);
        else
            snprintf(s->tier, sizeof s->tier, "%s", arg);
        sla_on_policy(&s->st, sim_policy(s), s->prio, at, out);
    } else if (strcmp(verb, "timer") == 0) {
        sla_on_timer(&s->st, at, out);
    } else {
        cr_assert_fail("line %d: unknown event '%s'", line, verb);
    }
}

/* "warning first_response@1m30s, met first_response@3m late" */
static size_t parse_events(char *text, struct sla_event *ev, size_t cap, int line)
{
    size_t n = 0;
    if (strcmp(text, "-") == 0)
        return 0;
    char *save = NULL;
    for (char *item = strtok_r(text, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        char kind[16], metric[32], at[64], late[8] = "";
        char *atsign = strchr(item, '@');
        cr_assert_not_null(atsign, "line %d: '%s' lacks @TIME", line, item);
        *atsign = ' ';
        int k = sscanf(item, "%15s %31s %63s %7s", kind, metric, at, late);
        cr_assert(k >= 3, "line %d: cannot read event '%s'", line, item);
        cr_assert_lt(n, cap);
        struct sla_event *e = &ev[n++];
        if (strcmp(kind, "warning") == 0)
            e->kind = SLA_WARNING;
        else if (strcmp(kind, "breach") == 0)
            e->kind = SLA_BREACH;
        else if (strcmp(kind, "met") == 0)
            e->kind = SLA_MET;
        else
            cr_assert_fail("line %d: unknown event kind '%s'", line, kind);
        cr_assert_eq(sla_metric_parse(metric, &e->metric), 0, "line %d: metric '%s'", line, metric);
        e->at = value(at, true, line);
        e->late = strcmp(late, "late") == 0;
        cr_assert(late[0] == '\0' || e->late, "line %d: '%s' after the time", line, late);
    }
    return n;
}

static void describe(const struct sla_events *out, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < out->n && len < n; i++) {
        const struct sla_event *e = &out->ev[i];
        char iso[CLOCK_ISO_LEN];
        int w = snprintf(buf + len, n - len, "%s%s %s@%s(+%llds)%s", i ? ", " : "",
                         sla_event_kind_name(e->kind), sla_metric_name(e->metric),
                         clock_fmt_iso(e->at, iso), (long long)((e->at - T0) / 1000),
                         e->late ? " late" : "");
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static void check_field(const struct sim *s, const char *check, int64_t now, int line)
{
    char key[64], val[64];
    const char *eq = strchr(check, '=');
    cr_assert_not_null(eq, "line %d: check '%s' lacks '='", line, check);
    snprintf(key, sizeof key, "%.*s", (int)(eq - check), check);
    snprintf(val, sizeof val, "%s", eq + 1);
    if (strcmp(key, "policy") == 0) {
        cr_expect_str_eq(s->st.policy, strcmp(val, "-") == 0 ? "" : val, "line %d: policy", line);
        return;
    }
    char *dot = strchr(key, '.');
    cr_assert_not_null(dot, "line %d: check '%s' names no metric", line, key);
    *dot = '\0';
    const char *field = dot + 1;
    enum sla_metric m;
    cr_assert_eq(sla_metric_parse(key, &m), 0, "line %d: metric '%s'", line, key);
    const struct sla_clock *c = &s->st.clock[m];
    if (strcmp(field, "status") == 0) {
        const char *st = c->started_at == 0 ? "not_started" : c->met_at != 0 ? "met"
                         : c->paused_since != 0 ? "paused" : "running";
        cr_expect_str_eq(st, val, "line %d: %s.status is %s, want %s", line, key, st, val);
        return;
    }
    static const struct { const char *name; bool instant; size_t off; bool i32; } fields[] = {
        { "target", false, offsetof(struct sla_clock, target_ms), false },
        { "paused", false, offsetof(struct sla_clock, paused_ms), false },
        { "started", true, offsetof(struct sla_clock, started_at), false },
        { "due", true, offsetof(struct sla_clock, due_at), false },
        { "warn", true, offsetof(struct sla_clock, warn_at), false },
        { "paused_since", true, offsetof(struct sla_clock, paused_since), false },
        { "warned", true, offsetof(struct sla_clock, warned_at), false },
        { "met", true, offsetof(struct sla_clock, met_at), false },
        { "breached", true, offsetof(struct sla_clock, breached_at), false },
        { "cycle", false, offsetof(struct sla_clock, cycle), true },
        { "breaches", false, offsetof(struct sla_clock, breaches), true },
    };
    if (strcmp(field, "elapsed") == 0) {
        int64_t got = sla_elapsed_ms(&s->st, sim_policy(s), m, now);
        int64_t want = value(val, false, line);
        cr_expect_eq(got, want, "line %d: %s.elapsed is %lld ms, want %s", line, key,
                     (long long)got, val);
        return;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(field, fields[i].name) != 0)
            continue;
        const char *p = (const char *)c + fields[i].off;
        int64_t got;
        int64_t want;
        if (fields[i].i32) {
            got = *(const int32_t *)(const void *)p;
            want = strtoll(val, NULL, 10);
        } else {
            got = *(const int64_t *)(const void *)p;
            want = value(val, fields[i].instant, line);
        }
        char g[CLOCK_ISO_LEN] = "", w[CLOCK_ISO_LEN] = "";
        if (fields[i].instant) {
            clock_fmt_iso(got, g);
            clock_fmt_iso(want, w);
        }
        cr_expect_eq(got, want, "line %d: %s.%s is %lld %s, want %s %s", line, key, field,
                     (long long)got, g, val, w);
        return;
    }
    cr_assert_fail("line %d: unknown field '%s'", line, field);
}

/* The state survives its stored form, through text. */
static void check_json(const struct sla_state *st, int line)
{
    json_t *j = sla_to_json(st);
    char *text = jx_dumps(j);
    json_decref(j);
    json_t *back = NULL;
    struct err e = {0};
    cr_assert_eq(jx_parse(text, strlen(text), &back, &e), 0, "%s", e.msg);
    struct sla_state copy;
    memset(&copy, 0xa5, sizeof copy);
    cr_assert_eq(sla_from_json(back, &copy, &e), 0, "line %d: %s in %s", line, e.msg, text);
    cr_expect(memcmp(&copy, st, sizeof copy) == 0, "line %d: the state changed through JSON: %s",
              line, text);
    json_decref(back);
    free(text);
}

/* Never early, never twice. */
static void check_invariants(struct sim *s, const struct sla_events *out, int64_t now, int line)
{
    for (size_t i = 0; i < out->n; i++) {
        const struct sla_event *e = &out->ev[i];
        cr_expect_leq(e->at, now, "line %d: %s reported before it was due", line,
                      sla_event_kind_name(e->kind));
        if (i > 0)
            cr_expect_leq(out->ev[i - 1].at, e->at, "line %d: events out of order", line);
        if (e->kind == SLA_MET)
            continue;
        for (size_t k = 0; k < s->nseen; k++)
            cr_expect(!(s->seen[k].kind == e->kind && s->seen[k].metric == e->metric &&
                        s->seen[k].cycle == e->cycle),
                      "line %d: %s %s of cycle %d reported twice", line,
                      sla_event_kind_name(e->kind), sla_metric_name(e->metric), e->cycle);
        if (s->nseen < sizeof s->seen / sizeof s->seen[0])
            s->seen[s->nseen++] = *e;
    }
}

Test(sla, scenarios)
{
    struct cfg *cfg = load_cases_cfg();
    struct case_row *rows;
    size_t n, scenarios = 0;
    cases_load("tests/cases/sla.tsv", &rows, &n);
    cr_assert_gt(n, 80, "sla.tsv should have all its rows");
    struct sim *s = calloc(1, sizeof *s);
    s->cfg = cfg;
    for (size_t i = 0; i < n; i++) {
        struct case_row *r = &rows[i];
        int line = r->line;
        cr_assert(r->ncols == 5 || r->ncols == 6, "sla.tsv:%d: want 5 or 6 columns, got %zu",
                  line, r->ncols);
        if (strcmp(s->name, r->cols[0]) != 0) {
            cr_assert(strncmp(r->cols[2], "create", 6) == 0,
                      "sla.tsv:%d: scenario '%s' must start with create", line, r->cols[0]);
            memset(s, 0, sizeof *s);
            s->cfg = cfg;
            snprintf(s->name, sizeof s->name, "%s", r->cols[0]);
            scenarios++;
        }
        int64_t at = value(r->cols[1], true, line);
        struct sla_events out;
        apply(s, r->cols[2], at, &out, line);

        struct sla_event want[SLA_EVENTS_MAX];
        size_t nwant = parse_events(r->cols[3], want, SLA_EVENTS_MAX, line);
        char got[1024];
        describe(&out, got, sizeof got);
        cr_expect_eq(out.n, nwant, "sla.tsv:%d (%s): %zu events, want %zu; got: %s", line,
                     s->name, out.n, nwant, got);
        for (size_t k = 0; k < out.n && k < nwant; k++) {
            const struct sla_event *g = &out.ev[k], *w = &want[k];
            cr_expect(g->kind == w->kind && g->metric == w->metric && g->at == w->at &&
                      (g->kind != SLA_MET || g->late == w->late),
                      "sla.tsv:%d (%s): event %zu differs; got: %s", line, s->name, k + 1, got);
        }
        int64_t next = sla_next_at(&s->st), want_next = value(r->cols[4], true, line);
        char a[CLOCK_ISO_LEN], b[CLOCK_ISO_LEN];
        cr_expect_eq(next, want_next, "sla.tsv:%d (%s): next timer %s, want %s (%s)", line,
                     s->name, next ? clock_fmt_iso(next, a) : "-", r->cols[4],
                     want_next ? clock_fmt_iso(want_next, b) : "-");
        if (r->ncols == 6 && strcmp(r->cols[5], "-") != 0) {
            char *save = NULL;
            for (char *c = strtok_r(r->cols[5], " ", &save); c != NULL;
                 c = strtok_r(NULL, " ", &save))
                check_field(s, c, at, line);
        }
        check_invariants(s, &out, at, line);
        check_json(&s->st, line);
    }
    cr_expect_geq(scenarios, 20);
    free(s);
    cases_free(rows, n);
    cfg_unref(&cfg);
}

/* --- business_hours.tsv ------------------------------------------------------------- */

Test(sla, business_hours)
{
    struct cfg *cfg = load_cases_cfg();
    struct case_row *rows;
    size_t n;
    cases_load("tests/cases/business_hours.tsv", &rows, &n);
    cr_assert_gt(n, 50, "business_hours.tsv should have all its rows");
    for (size_t i = 0; i < n; i++) {
        struct case_row *r = &rows[i];
        int line = r->line;
        cr_assert_eq(r->ncols, 5, "business_hours.tsv:%d: want 5 columns", line);
        const struct cfg_calendar *cal = policy(cfg, r->cols[0])->calendar;
        cr_assert_not_null(cal, "business_hours.tsv:%d: policy '%s' has no business_hours",
                           line, r->cols[0]);
        int64_t from = value(r->cols[2], true, line);
        const char *op = r->cols[1];
        char a[CLOCK_ISO_LEN], b[CLOCK_ISO_LEN];
        if (strcmp(op, "add") == 0) {
            int64_t amount = value(r->cols[3], false, line);
            int64_t want = value(r->cols[4], true, line);
            int64_t got = sla_hours_add(cal, from, amount);
            cr_expect_eq(got, want, "business_hours.tsv:%d: add gave %s, want %s", line,
                         clock_fmt_iso(got, a), clock_fmt_iso(want, b));
            cr_expect_eq(sla_hours_between(cal, from, got), amount,
                         "business_hours.tsv:%d: between(from, add(from, x)) != x", line);
            if (amount > 0)
                cr_expect_lt(sla_hours_between(cal, from, got - 1), amount,
                             "business_hours.tsv:%d: not the earliest instant", line);
        } else if (strcmp(op, "between") == 0) {
            int64_t to = value(r->cols[3], true, line);
            int64_t want = value(r->cols[4], false, line);
            int64_t got = sla_hours_between(cal, from, to);
            cr_expect_eq(got, want, "business_hours.tsv:%d: between gave %lld ms, want %s",
                         line, (long long)got, r->cols[4]);
        } else if (strcmp(op, "next_open") == 0) {
            int64_t want = value(r->cols[4], true, line);
            int64_t got = sla_hours_next_open(cal, from);
            cr_expect_eq(got, want, "business_hours.tsv:%d: next_open gave %s, want %s", line,
                         clock_fmt_iso(got, a), clock_fmt_iso(want, b));
        } else if (strcmp(op, "open") == 0) {
            bool want = strcmp(r->cols[4], "yes") == 0;
            cr_assert(want || strcmp(r->cols[4], "no") == 0, "line %d: yes or no", line);
            cr_expect_eq(sla_hours_open_at(cal, from), want, "business_hours.tsv:%d: open at %s",
                         line, r->cols[2]);
        } else {
            cr_assert_fail("business_hours.tsv:%d: unknown op '%s'", line, op);
        }
    }
    cases_free(rows, n);
    cfg_unref(&cfg);
}

/* Splitting a span anywhere never changes its business time, and adding in
 * two steps is adding once — across every window edge, night and DST day. */
Test(sla, business_hours_algebra)
{
    struct cfg *cfg = load_cases_cfg();
    static const char *const cals[] = { "office", "split", "night", "sunday", "sydney", "always" };
    uint64_t seed = 42;
    for (size_t k = 0; k < sizeof cals / sizeof cals[0]; k++) {
        const struct cfg_calendar *cal = policy(cfg, cals[k])->calendar;
        for (int i = 0; i < 300; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t a = T0 + (int64_t)(seed >> 33) % (400LL * 86400000);
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t x = (int64_t)(seed >> 35) % (30LL * 3600000);
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t y = (int64_t)(seed >> 35) % (30LL * 3600000);
            int64_t mid = sla_hours_add(cal, a, x);
            int64_t end = sla_hours_add(cal, mid, y);
            cr_assert_eq(sla_hours_add(cal, a, x + y), end, "%s: add(add(a,x),y) at %lld",
                         cals[k], (long long)a);
            cr_assert_eq(sla_hours_between(cal, a, end), x + y, "%s", cals[k]);
            int64_t cut = a + (end - a) / 3;
            cr_assert_eq(sla_hours_between(cal, a, cut) + sla_hours_between(cal, cut, end), x + y,
                         "%s: between is additive", cals[k]);
            int64_t open = sla_hours_next_open(cal, a);
            cr_assert(sla_hours_open_at(cal, open), "%s", cals[k]);
            cr_assert_eq(sla_hours_between(cal, a, open), 0, "%s: closed until next_open", cals[k]);
        }
    }
    cfg_unref(&cfg);
}

Test(sla, no_calendar_is_wall_time)
{
    cr_assert_eq(sla_hours_between(NULL, 1000, 5000), 4000);
    cr_assert_eq(sla_hours_between(NULL, 5000, 1000), 0);
    cr_assert_eq(sla_hours_add(NULL, 1000, 500), 1500);
    cr_assert_eq(sla_hours_add(NULL, 1000, -5), 1000);
    cr_assert_eq(sla_hours_add(NULL, INT64_MAX - 10, 100), SLA_HOURS_NEVER);
    cr_assert_eq(sla_hours_next_open(NULL, 77), 77);
    cr_assert(sla_hours_open_at(NULL, 77));
}

/* A calendar whose only open day is always a holiday has no deadline. */
Test(sla, never_open_calendar)
{
    struct cfg *c = load_yaml(
        "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
        "sla:\n"
        "  - name: closed\n"
        "    first_response: 1h\n"
        "    business_hours:\n"
        "      timezone: UTC\n"
        "      days: {mon: \"09:00-17:00\"}\n"
        "      holidays: [01-01, 01-02, 01-03, 01-04, 01-05, 01-06, 01-07]\n");
    const struct cfg_calendar *cal = c->sla[0].calendar;
    cr_assert_not_null(cal);
    int64_t jan1, want;
    cr_assert_eq(clock_parse_iso("2026-01-01T00:00:00Z", &jan1), 0);
    cr_assert_eq(clock_parse_iso("2026-01-12T09:00:00.001Z", &want), 0);
    cr_assert_eq(sla_hours_add(cal, jan1, 1), want, "Monday the 5th is a holiday");
    /* and now one that never opens: every Monday of the year is a holiday */
    cfg_unref(&c);
    char yaml[8192];
    int len = snprintf(yaml, sizeof yaml,
                       "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"
                       "sla:\n  - name: closed\n    first_response: 1h\n"
                       "    business_hours:\n      timezone: UTC\n"
                       "      days: {mon: \"09:00-17:00\"}\n      holidays: [");
    for (int m = 1; m <= 12; m++)
        for (int d = 1; d <= tz_month_days(2000, m); d++)
            len += snprintf(yaml + len, sizeof yaml - (size_t)len, "%s%02d-%02d",
                            m == 1 && d == 1 ? "" : ", ", m, d);
    snprintf(yaml + len, sizeof yaml - (size_t)len, "]\n");
    c = load_yaml(yaml);
    cal = c->sla[0].calendar;
    cr_assert_eq(sla_hours_add(cal, T0, 1), SLA_HOURS_NEVER);
    cr_assert_eq(sla_hours_next_open(cal, T0), SLA_HOURS_NEVER);
    cr_assert_eq(sla_hours_between(cal, T0, T0 + 86400000LL * 3000), 0);
    struct sla_state st;
    sla_on_created(&st, &c->sla[0], PRIORITY_NORMAL, T0);
    cr_assert_eq(st.clock[SLA_FIRST_RESPONSE].target_ms, 3600000);
    cr_assert_eq(st.clock[SLA_FIRST_RESPONSE].due_at, 0, "no deadline when never open");
    cr_assert_eq(sla_next_at(&st), 0);
    cfg_unref(&c);
}

/* --- policies ------------------------------------------------------------------------- */

#define POLICIES                                                           \
    "http: {api_tokens: [{name: t, token: \"0123456789abcdef\"}]}\n"       \
    "groups: [{name: billing}]\n"                                          \
    "sla:\n"                                                               \
    "  - {name: vip-urgent, tier: vip, priority: urgent, first_response: 1m}\n" \
    "  - {name: vip, tier: vip, first_response: 5m}\n"                     \
    "  - {name: billing, group: billing, first_response: 10m}\n"          \
    "  - {name: urgent, priority: urgent, first_response: 15m}\n"

Test(sla, select_first_match)
{
    struct cfg *c = load_yaml(POLICIES "  - {name: default, first_response: 1h}\n");
    static const struct {
        enum ticket_priority p;
        const char *tier, *group, *want;
    } cases[] = {
        { PRIORITY_URGENT, "vip", "general", "vip-urgent" },
        { PRIORITY_HIGH, "vip", "billing", "vip" },
        { PRIORITY_URGENT, "standard", "billing", "billing" },
        { PRIORITY_URGENT, "standard", "general", "urgent" },
        { PRIORITY_LOW, "standard", "general", "default" },
        { PRIORITY_LOW, NULL, NULL, "default" },
        { PRIORITY_URGENT, NULL, NULL, "urgent" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct cfg_sla_policy *p = sla_select(c, cases[i].p, cases[i].tier, cases[i].group);
        cr_assert_not_null(p, "case %zu", i);
        cr_expect_str_eq(p->name, cases[i].want, "case %zu", i);
    }
    cfg_unref(&c);
    c = load_yaml(POLICIES);        /* no fallback: some tickets have no policy */
    cr_expect_null(sla_select(c, PRIORITY_LOW, "standard", "general"));
    cr_expect_null(sla_select(NULL, PRIORITY_LOW, NULL, NULL));
    cfg_unref(&c);
}

Test(sla, targets_and_pauses)
{
    struct cfg *cfg = load_cases_cfg();
    const struct cfg_sla_policy *t = policy(cfg, "tiered");
    cr_expect_eq(sla_target_ms(t, PRIORITY_NORMAL, SLA_FIRST_RESPONSE), 60 * MIN);
    cr_expect_eq(sla_target_ms(t, PRIORITY_NORMAL, SLA_NEXT_RESPONSE), 120 * MIN);
    cr_expect_eq(sla_target_ms(t, PRIORITY_URGENT, SLA_RESOLUTION), 60 * MIN);
    cr_expect_eq(sla_target_ms(t, PRIORITY_HIGH, SLA_NEXT_RESPONSE), 30 * MIN);
    cr_expect_eq(sla_target_ms(t, PRIORITY_LOW, SLA_NEXT_RESPONSE), 0);
    cr_expect_eq(sla_target_ms(t, PRIORITY_LOW, SLA_RESOLUTION), 0);
    cr_expect_eq(sla_target_ms(NULL, PRIORITY_LOW, SLA_RESOLUTION), 0);
    cr_expect_eq(sla_target_ms(t, PRIORITY_LOW, SLA_METRIC_COUNT), 0);
    const struct cfg_sla_policy *a = policy(cfg, "article");
    cr_expect_eq(sla_target_ms(a, PRIORITY_URGENT, SLA_NEXT_RESPONSE), 2 * MIN,
                 "next_response defaults to first_response");
    const struct cfg_sla_policy *p = policy(cfg, "pauses");
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        cr_expect(sla_pauses(a, (enum sla_metric)m, TICKET_ON_HOLD));
        cr_expect(sla_pauses(NULL, (enum sla_metric)m, TICKET_ON_HOLD));
        cr_expect_not(sla_pauses(a, (enum sla_metric)m, TICKET_IN_PROGRESS));
        cr_expect_not(sla_pauses(NULL, (enum sla_metric)m, TICKET_OPEN));
    }
    cr_expect(sla_pauses(p, SLA_FIRST_RESPONSE, TICKET_ON_HOLD));
    cr_expect_not(sla_pauses(p, SLA_RESOLUTION, TICKET_ON_HOLD));
    cr_expect(sla_pauses(p, SLA_RESOLUTION, TICKET_IN_PROGRESS));
    cr_expect_not(sla_pauses(p, SLA_RESOLUTION, (enum ticket_status)42));
    cfg_unref(&cfg);
}

Test(sla, names)
{
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        enum sla_metric back;
        cr_assert_eq(sla_metric_parse(sla_metric_name((enum sla_metric)m), &back), 0);
        cr_assert_eq(back, (enum sla_metric)m);
    }
    enum sla_metric x;
    cr_assert_eq(sla_metric_parse("reply", &x), ERR_INVAL);
    cr_assert_eq(sla_metric_parse(NULL, &x), ERR_INVAL);
    cr_assert_str_eq(sla_metric_name(SLA_METRIC_COUNT), "unknown");
    cr_assert_str_eq(sla_event_kind_name(SLA_BREACH), "breach");
    cr_assert_str_eq(sla_event_kind_name((enum sla_event_kind)9), "unknown");
}

/* Without a policy the clocks still measure, and nothing is ever due. */
Test(sla, no_policy_measures_only)
{
    struct sla_state st;
    struct sla_events out;
    sla_on_created(&st, NULL, PRIORITY_HIGH, T0);
    cr_assert_str_eq(st.policy, "");
    cr_assert_eq(sla_next_at(&st), 0);
    sla_on_status(&st, NULL, TICKET_IN_PROGRESS, T0 + MIN, &out);
    sla_on_status(&st, NULL, TICKET_ON_HOLD, T0 + 2 * MIN, &out);
    sla_on_status(&st, NULL, TICKET_IN_PROGRESS, T0 + 5 * MIN, &out);
    sla_on_agent_reply(&st, NULL, T0 + 6 * MIN, &out);
    cr_assert_eq(out.n, 1);
    cr_assert_eq(out.ev[0].kind, SLA_MET);
    cr_assert_not(out.ev[0].late);
    cr_assert_eq(sla_elapsed_ms(&st, NULL, SLA_FIRST_RESPONSE, T0 + 99 * MIN), 3 * MIN,
                 "6 minutes less 3 on hold");
    sla_on_timer(&st, T0 + 1000 * MIN, &out);
    cr_assert_eq(out.n, 0);
    cr_assert_eq(sla_elapsed_ms(&st, NULL, SLA_NEXT_RESPONSE, T0), 0, "never started");
    cr_assert_eq(sla_elapsed_ms(&st, NULL, SLA_METRIC_COUNT, T0), 0);
}

/* --- JSON -------------------------------------------------------------------------------- */

Test(sla, stored_form)
{
    struct cfg *cfg = load_cases_cfg();
    struct sla_state st;
    struct sla_events out;
    const struct cfg_sla_policy *a = policy(cfg, "article");
    sla_on_created(&st, a, PRIORITY_URGENT, T0);
    sla_on_agent_reply(&st, a, T0 + MIN, &out);
    json_t *j = sla_to_json(&st);
    char *text = jx_dumps(j);
    cr_assert_str_eq(text,
        "{\"v\":1,\"policy\":\"article\",\"priority\":\"urgent\",\"status\":\"open\","
        "\"first_response\":{\"target_ms\":120000,\"started_at\":1772438400000,"
        "\"due_at\":1772438520000,\"warn_at\":1772438490000,\"paused_ms\":0,"
        "\"paused_since\":0,\"warned_at\":0,\"met_at\":1772438460000,\"breached_at\":0,"
        "\"cycle\":1,\"breaches\":0},"
        "\"next_response\":{\"target_ms\":0,\"started_at\":0,\"due_at\":0,\"warn_at\":0,"
        "\"paused_ms\":0,\"paused_since\":0,\"warned_at\":0,\"met_at\":0,\"breached_at\":0,"
        "\"cycle\":0,\"breaches\":0},"
        "\"resolution\":{\"target_ms\":600000,\"started_at\":1772438400000,"
        "\"due_at\":1772439000000,\"warn_at\":1772438970000,\"paused_ms\":0,"
        "\"paused_since\":0,\"warned_at\":0,\"met_at\":0,\"breached_at\":0,"
        "\"cycle\":1,\"breaches\":0}}");
    free(text);
    json_decref(j);
    /* a minimal state: absent clocks are zero, priority and status default */
    struct err e = {0};
    json_t *min = json_pack("{s:i, s:n}", "v", 1, "policy");
    memset(&st, 0x5a, sizeof st);
    cr_assert_eq(sla_from_json(min, &st, &e), 0, "%s", e.msg);
    cr_assert_str_eq(st.policy, "");
    cr_assert_eq(st.priority, PRIORITY_NORMAL);
    cr_assert_eq(st.status, TICKET_OPEN);
    cr_assert_eq(st.clock[SLA_RESOLUTION].started_at, 0);
    json_decref(min);
    cfg_unref(&cfg);
}

Test(sla, stored_form_refused)
{
    static const struct { const char *json; const char *field; const char *msg; } cases[] = {
        { "[]", "", "SLA state must be a JSON object" },
        { "{}", "v", "missing required field 'v'" },
        { "{\"v\":2}", "v", "unsupported SLA state version 2" },
        { "{\"v\":1,\"x\":1}", "x", "unknown field 'x'" },
        { "{\"v\":1,\"policy\":5}", "policy", "field 'policy' must be a policy name" },
        { "{\"v\":1,\"policy\":\"0123456789012345678901234567890123456789012345678901234567890123\"}",
          "policy", "shorter than 64 bytes" },
        { "{\"v\":1,\"priority\":\"critical\"}", "priority", "critical" },
        { "{\"v\":1,\"status\":\"pending\"}", "status", "pending" },
        { "{\"v\":1,\"resolution\":[]}", "resolution", "field 'resolution' must be an object" },
        { "{\"v\":1,\"resolution\":{\"due\":1}}", "resolution.due", "unknown field 'resolution.due'" },
        { "{\"v\":1,\"resolution\":{\"due_at\":-1}}", "resolution.due_at", "must be an integer from 0" },
        { "{\"v\":1,\"resolution\":{\"due_at\":\"x\"}}", "resolution.due_at", "must be an integer" },
        { "{\"v\":1,\"first_response\":{\"cycle\":4294967296}}", "first_response.cycle", "from 0 to 2147483647" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = NULL;
        struct err e = {0};
        cr_assert_eq(jx_parse(cases[i].json, strlen(cases[i].json), &j, &e), 0);
        struct sla_state st;
        memset(&st, 0x11, sizeof st);
        struct sla_state before = st;
        cr_expect_eq(sla_from_json(j, &st, &e), ERR_INVAL, "case %zu accepted", i);
        cr_expect(strstr(e.msg, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, e.msg,
                  cases[i].msg);
        if (cases[i].field[0] != '\0' && strcmp(cases[i].field, "priority") != 0 &&
            strcmp(cases[i].field, "status") != 0)
            cr_expect_str_eq(e.field, cases[i].field, "case %zu", i);
        cr_expect(memcmp(&st, &before, sizeof st) == 0, "case %zu: state changed on error", i);
        json_decref(j);
    }
}

Test(sla, view)
{
    struct cfg *cfg = load_cases_cfg();
    const struct cfg_sla_policy *a = policy(cfg, "article");
    struct sla_state st;
    struct sla_events out;
    sla_on_created(&st, a, PRIORITY_NORMAL, T0);
    sla_on_status(&st, a, TICKET_IN_PROGRESS, T0, &out);
    sla_on_status(&st, a, TICKET_ON_HOLD, T0 + MIN, &out);
    json_t *v = sla_view(&st, a, T0 + 4 * MIN);
    json_t *fr = json_object_get(v, "first_response");
    cr_assert_str_eq(json_string_value(json_object_get(v, "policy")), "article");
    cr_assert(json_is_null(json_object_get(v, "business_hours")));
    cr_assert_str_eq(json_string_value(json_object_get(fr, "status")), "paused");
    cr_assert_eq(json_integer_value(json_object_get(fr, "paused_ms")), 3 * MIN,
                 "the pause in progress counts");
    cr_assert_eq(json_integer_value(json_object_get(fr, "elapsed_ms")), MIN);
    cr_assert_eq(json_integer_value(json_object_get(fr, "remaining_ms")), MIN);
    cr_assert(json_is_null(json_object_get(fr, "due_at")), "unknown while paused");
    cr_assert_str_eq(json_string_value(json_object_get(fr, "started_at")), "2026-03-02T08:00:00.000Z");
    json_t *nr = json_object_get(v, "next_response");
    cr_assert_str_eq(json_string_value(json_object_get(nr, "status")), "not_started");
    cr_assert(json_is_null(json_object_get(nr, "remaining_ms")));
    json_decref(v);
    /* back to work, then over time: remaining goes negative, breached shows */
    sla_on_status(&st, a, TICKET_IN_PROGRESS, T0 + 4 * MIN, &out);
    sla_on_timer(&st, T0 + 10 * MIN, &out);
    v = sla_view(&st, a, T0 + 10 * MIN);
    fr = json_object_get(v, "first_response");
    cr_assert_str_eq(json_string_value(json_object_get(fr, "status")), "running");
    cr_assert(json_is_true(json_object_get(fr, "breached")));
    cr_assert_eq(json_integer_value(json_object_get(fr, "remaining_ms")), -5 * MIN);
    cr_assert_str_eq(json_string_value(json_object_get(fr, "due_at")), "2026-03-02T08:05:00.000Z");
    cr_assert_str_eq(json_string_value(json_object_get(fr, "breached_at")), "2026-03-02T08:05:00.000Z");
    cr_assert_eq(json_integer_value(json_object_get(fr, "breaches")), 1);
    json_decref(v);
    const struct cfg_sla_policy *o = policy(cfg, "office");
    sla_on_created(&st, o, PRIORITY_NORMAL, T0);
    v = sla_view(&st, o, T0);
    cr_assert_str_eq(json_string_value(json_object_get(v, "business_hours")), "Europe/Berlin");
    json_decref(v);
    cfg_unref(&cfg);
}

/* --- three engines, one truth ---------------------------------------------------------- */

enum engine_kind { EXACT, POLLING, NO_TIMER };

struct engine {
    enum engine_kind kind;
    struct sla_state st;
    struct sla_event log[512];
    size_t n;
};

static void record(struct engine *g, const struct sla_events *out, int64_t now)
{
    for (size_t i = 0; i < out->n; i++) {
        cr_assert_leq(out->ev[i].at, now, "never early");
        if (g->n < sizeof g->log / sizeof g->log[0])
            g->log[g->n++] = out->ev[i];
    }
}

/* Let time pass up to `until` the way each engine would. */
static void run_until(struct engine *g, int64_t from, int64_t until)
{
    struct sla_events out;
    if (g->kind == EXACT) {
        int64_t t;
        while ((t = sla_next_at(&g->st)) != 0 && t <= until) {
            sla_on_timer(&g->st, t, &out);
            cr_assert_gt(out.n, 0, "an armed timer always has something to report");
            for (size_t i = 0; i < out.n; i++)
                cr_assert_eq(out.ev[i].at, t, "reported at its instant exactly");
            record(g, &out, t);
        }
    } else if (g->kind == POLLING) {
        for (int64_t t = from - from % 1000 + 1000; t <= until; t += 1000) {
            sla_on_timer(&g->st, t, &out);
            record(g, &out, t);
        }
    }
}

static bool same_event(const struct sla_event *a, const struct sla_event *b)
{
    return a->kind == b->kind && a->metric == b->metric && a->at == b->at &&
           a->cycle == b->cycle && (a->kind != SLA_MET || a->late == b->late);
}

Test(sla, engines_agree)
{
    struct cfg *cfg = load_cases_cfg();
    static const char *const tiers[] = { "article", "tiered", "pauses", "office", "standard" };
    static const char *const groups[] = { "general", "level2", "billing" };
    uint64_t seed = 7;
#define RND(n) (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL, \
                (int64_t)((seed >> 33) % (uint64_t)(n)))
    for (int round = 0; round < 150; round++) {
        struct engine *g = calloc(3, sizeof *g);
        const char *tier = tiers[RND(5)];
        const char *group = groups[RND(3)];
        enum ticket_priority prio = (enum ticket_priority)RND(4);
        enum ticket_status status = TICKET_OPEN;
        bool office = strcmp(tier, "office") == 0;
        int64_t now = T0 + RND(7 * 86400000LL);
        for (int k = 0; k < 3; k++) {
            g[k].kind = (enum engine_kind)k;
            sla_on_created(&g[k].st, sla_select(cfg, prio, tier, group), prio, now);
        }
        for (int step = 0; step < 25; step++) {
            int64_t next = now + (office ? RND(20 * 3600000LL) : RND(4 * MIN));
            for (int k = 0; k < 3; k++)
                if (g[k].kind != POLLING || !office)    /* a day of polls is slow */
                    run_until(&g[k], now, next);
            now = next;
            int op = (int)RND(6);
            enum ticket_status to = (enum ticket_status)RND(TICKET_STATUS_COUNT);
            if (op == 3 && to == status)
                op = 0;
            if (op == 4)
                prio = (enum ticket_priority)RND(4);
            if (op == 5)
                group = groups[RND(3)];
            const struct cfg_sla_policy *pol = sla_select(cfg, prio, tier, group);
            for (int k = 0; k < 3; k++) {
                struct sla_events out;
                if (g[k].kind == POLLING && office)
                    continue;
                switch (op) {
                case 0: sla_on_agent_reply(&g[k].st, pol, now, &out); break;
                case 1: case 2: sla_on_customer_message(&g[k].st, pol, now, &out); break;
                case 3: sla_on_status(&g[k].st, pol, to, now, &out); break;
                default: sla_on_policy(&g[k].st, pol, prio, now, &out); break;
                }
                record(&g[k], &out, now);
            }
            if (op == 3)
                status = to;
        }
        for (int k = 1; k < 3; k++) {
            if (g[k].kind == POLLING && office)
                continue;
            cr_assert_eq(g[k].n, g[0].n, "round %d: engine %d saw %zu events, exact saw %zu",
                         round, k, g[k].n, g[0].n);
            /* the same events; the order may differ only where instants tie */
            for (size_t i = 0; i < g[0].n; i++) {
                bool found = false;
                for (size_t j = 0; j < g[k].n && !found; j++)
                    found = same_event(&g[0].log[i], &g[k].log[j]);
                cr_assert(found, "round %d: engine %d misses %s %s@%lld", round, k,
                          sla_event_kind_name(g[0].log[i].kind),
                          sla_metric_name(g[0].log[i].metric), (long long)g[0].log[i].at);
            }
            cr_assert(memcmp(&g[k].st, &g[0].st, sizeof g[0].st) == 0,
                      "round %d: engine %d ended in another state", round, k);
        }
        free(g);
    }
#undef RND
    cfg_unref(&cfg);
}

/* sla_write / sla_read: the engine's fast codec of the stored form agrees
 * with sla_to_json / sla_from_json on every state the scenarios reach. */
static void round_trip(const struct sla_state *st)
{
    struct buf b;
    buf_init(&b, 0);
    sla_write(&b, st);
    struct sla_state back;
    struct err e = {0};
    memset(&back, 0x33, sizeof back);
    cr_assert_eq(sla_read(buf_str(&b), b.len, &back, &e), 0, "%s: %s", e.msg, buf_str(&b));
    cr_assert(memcmp(st, &back, sizeof back) == 0 || (strcmp(st->policy, back.policy) == 0 &&
              memcmp(st->clock, back.clock, sizeof back.clock) == 0 &&
              st->priority == back.priority && st->status == back.status), "%s", buf_str(&b));
    /* the same text is a valid stored form for the general reader too */
    json_t *j = NULL;
    cr_assert_eq(jx_parse(buf_str(&b), b.len, &j, &e), 0);
    struct sla_state slow;
    cr_assert_eq(sla_from_json(j, &slow, &e), 0, "%s", e.msg);
    cr_assert(memcmp(slow.clock, back.clock, sizeof back.clock) == 0);
    json_decref(j);
    /* and what sla_to_json writes, zeros and all, reads back the same */
    j = sla_to_json(st);
    char *full = jx_dumps(j);
    struct sla_state again;
    cr_assert_eq(sla_read(full, strlen(full), &again, &e), 0, "%s", e.msg);
    cr_assert(memcmp(again.clock, st->clock, sizeof again.clock) == 0, "%s", full);
    free(full);
    json_decref(j);
    buf_release(&b);
}

Test(sla, fast_codec_round_trips)
{
    struct cfg *cfg = load_cases_cfg();
    const struct cfg_sla_policy *a = policy(cfg, "article");
    struct sla_state st;
    struct sla_events out;
    sla_on_created(&st, a, PRIORITY_URGENT, T0);
    round_trip(&st);
    sla_on_status(&st, a, TICKET_ON_HOLD, T0 + MIN, &out);
    round_trip(&st);
    sla_on_status(&st, a, TICKET_IN_PROGRESS, T0 + 3 * MIN, &out);
    sla_on_timer(&st, T0 + 5 * MIN, &out);
    round_trip(&st);
    sla_on_agent_reply(&st, a, T0 + 6 * MIN, &out);
    sla_on_customer_message(&st, a, T0 + 7 * MIN, &out);
    round_trip(&st);
    sla_on_status(&st, a, TICKET_RESOLVED, T0 + 8 * MIN, &out);
    round_trip(&st);
    memset(&st, 0, sizeof st);                      /* nothing at all */
    round_trip(&st);
    snprintf(st.policy, sizeof st.policy, "q\"uo\\te ü");   /* escapes: the general reader */
    round_trip(&st);
    cfg_unref(&cfg);
}

Test(sla, fast_reader_falls_back_and_refuses_alike)
{
    struct sla_state st;
    struct err e = {0};
    const char *spaced = "{ \"v\": 1, \"status\": \"on_hold\", \"resolution\": {\"cycle\": 2} }";
    cr_assert_eq(sla_read(spaced, strlen(spaced), &st, &e), 0, "%s", e.msg);
    cr_expect_eq(st.status, TICKET_ON_HOLD);
    cr_expect_eq(st.clock[SLA_RESOLUTION].cycle, 2);
    static const char *const bad[] = {
        "", "{", "{\"v\":1,\"policy\":null,\"priority\":\"normal\",\"status\":\"open\"}x",
        "{\"v\":1,\"policy\":null,\"priority\":\"normal\",\"status\":\"open\","
        "\"resolution\":{\"cycle\":-1}}",
        "{\"v\":1,\"policy\":null,\"priority\":\"normal\",\"status\":\"open\","
        "\"resolution\":{\"cycle\":4294967296}}",
        "{\"v\":2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&st, 0x11, sizeof st);
        struct sla_state before = st;
        err_clear(&e);
        cr_expect_neq(sla_read(bad[i], strlen(bad[i]), &st, &e), 0, "case %zu accepted", i);
        cr_expect(memcmp(&st, &before, sizeof st) == 0, "case %zu changed the state", i);
    }
}
