/*
 * sla.c — SLA clocks and their transitions (see sla.h).
 *
 * A clock's deadline is derived, never accumulated: the cycle's counted
 * time at instant t is hours(started_at, t) − paused_ms, so the deadline is
 * the instant at which hours(started_at, ·) reaches target + paused_ms, and
 * the warning the one at which it reaches target − warn_before + paused_ms.
 * Both are recomputed (sla_hours_add) whenever a pause ends or the target
 * changes, and are unknown (0) while paused. Every public transition runs
 * as: adopt the policy, report what is due, change, report again.
 */
#include "desk/sla.h"
#include "desk/sla_hours.h"

#include "base/buf.h"

#include <stdio.h>
#include <string.h>

_Static_assert(SLA_METRIC_COUNT == CFG_SLA_METRICS, "metrics in step with cfg");
_Static_assert(PRIORITY_COUNT == CFG_PRIORITIES, "priorities in step with cfg");

static const char *const metric_names[SLA_METRIC_COUNT] = {
    "first_response", "next_response", "resolution"
};
static const char *const kind_names[] = { "warning", "breach", "met" };
/* ,"first_response": ... — the metrics as keys after an object's first */
static const char *const metric_keys[SLA_METRIC_COUNT] = {
    ",\"first_response\":", ",\"next_response\":", ",\"resolution\":"
};

const char *sla_metric_name(enum sla_metric m)
{
    return (unsigned)m < SLA_METRIC_COUNT ? metric_names[m] : "unknown";
}

int sla_metric_parse(const char *s, enum sla_metric *out)
{
    for (int m = 0; s != NULL && m < SLA_METRIC_COUNT; m++) {
        if (strcmp(s, metric_names[m]) == 0) {
            *out = (enum sla_metric)m;
            return 0;
        }
    }
    return ERR_INVAL;
}

const char *sla_event_kind_name(enum sla_event_kind k)
{
    return (unsigned)k <= SLA_MET ? kind_names[k] : "unknown";
}

/* --- policy ------------------------------------------------------------------- */

static bool cond(const char *want, const char *have)
{
    return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

const struct cfg_sla_policy *sla_select(const struct cfg *c, enum ticket_priority priority,
                                        const char *tier, const char *group)
{
    for (size_t i = 0; c != NULL && i < c->nsla; i++) {
        const struct cfg_sla_policy *p = &c->sla[i];
        if (cond(p->priority, ticket_priority_name(priority)) && cond(p->tier, tier) &&
            cond(p->group, group))
            return p;
    }
    return NULL;
}

int64_t sla_target_ms(const struct cfg_sla_policy *pol, enum ticket_priority p,
                      enum sla_metric m)
{
    if (pol == NULL || (unsigned)m >= SLA_METRIC_COUNT)
        return 0;
    if ((unsigned)p < PRIORITY_COUNT && pol->has_targets[p])
        return pol->targets_ms[p][m];
    const int64_t flat[SLA_METRIC_COUNT] = {
        pol->first_response_ms, pol->next_response_ms, pol->resolution_ms
    };
    return flat[m];
}

bool sla_pauses(const struct cfg_sla_policy *pol, enum sla_metric m, enum ticket_status s)
{
    if ((unsigned)s >= TICKET_STATUS_COUNT || (unsigned)m >= SLA_METRIC_COUNT)
        return false;
    unsigned mask = pol != NULL ? pol->pause[m] : 1u << TICKET_ON_HOLD;
    return (mask & (1u << s)) != 0;
}

static const struct cfg_calendar *calendar(const struct cfg_sla_policy *pol)
{
    return pol != NULL ? pol->calendar : NULL;
}

static bool stopped_status(enum ticket_status s)
{
    return s == TICKET_RESOLVED || s == TICKET_CLOSED;
}

/* --- clocks --------------------------------------------------------------------- */

static bool running(const struct sla_clock *c)
{
    return c->started_at != 0 && c->met_at == 0;
}

/* Deadline and warning of a running clock from its start, target and pauses. */
static void schedule(struct sla_clock *c, const struct cfg_sla_policy *pol)
{
    c->due_at = 0;
    c->warn_at = 0;
    if (!running(c) || c->paused_since != 0 || c->target_ms <= 0)
        return;
    const struct cfg_calendar *cal = calendar(pol);
    int64_t due = sla_hours_add(cal, c->started_at, c->target_ms + c->paused_ms);
    if (due == SLA_HOURS_NEVER)
        return;                     /* a calendar that never opens: no deadline */
    c->due_at = due;
    int64_t wb = pol != NULL ? pol->warn_before_ms : 0;
    if (wb > 0 && wb < c->target_ms)
        c->warn_at = sla_hours_add(cal, c->started_at, c->target_ms - wb + c->paused_ms);
}

static void pause_clock(struct sla_clock *c, int64_t now)
{
    c->paused_since = now;
    c->due_at = 0;
    c->warn_at = 0;
}

/* End the current pause at now, counting its business time as paused. */
static void end_pause(struct sla_clock *c, const struct cfg_sla_policy *pol, int64_t now)
{
    c->paused_ms += sla_hours_between(calendar(pol), c->paused_since, now);
    c->paused_since = 0;
}

static void start_cycle(struct sla_state *s, const struct cfg_sla_policy *pol,
                        enum sla_metric m, int64_t now)
{
    struct sla_clock *c = &s->clock[m];
    int32_t cycle = c->cycle, breaches = c->breaches;
    memset(c, 0, sizeof *c);
    c->cycle = cycle + 1;
    c->breaches = breaches;
    c->target_ms = sla_target_ms(pol, s->priority, m);
    c->started_at = now;
    if (sla_pauses(pol, m, s->status))
        pause_clock(c, now);
    schedule(c, pol);
}

static void add(struct sla_events *out, enum sla_event_kind kind, enum sla_metric m,
                int64_t at, const struct sla_clock *c)
{
    if (out->n < SLA_EVENTS_MAX)
        out->ev[out->n++] = (struct sla_event){ kind, m, at, c->cycle, c->breached_at != 0 };
}

static void stop(struct sla_state *s, const struct cfg_sla_policy *pol, enum sla_metric m,
                 int64_t now, struct sla_events *out)
{
    struct sla_clock *c = &s->clock[m];
    if (!running(c))
        return;
    if (c->paused_since != 0)
        end_pause(c, pol, now);
    c->met_at = now;
    add(out, SLA_MET, m, now, c);
}

/* Pause or resume every running clock as the status and policy want. */
static void sync_pauses(struct sla_state *s, const struct cfg_sla_policy *pol, int64_t now)
{
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        struct sla_clock *c = &s->clock[m];
        if (!running(c))
            continue;
        bool want = sla_pauses(pol, (enum sla_metric)m, s->status);
        if (want && c->paused_since == 0)
            pause_clock(c, now);
        else if (!want && c->paused_since != 0)
            end_pause(c, pol, now);
        schedule(c, pol);
    }
}

/* Report warnings and breaches due at now. */
static void fire(struct sla_state *s, int64_t now, struct sla_events *out)
{
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        struct sla_clock *c = &s->clock[m];
        if (!running(c) || c->paused_since != 0)
            continue;
        if (c->warn_at != 0 && c->warned_at == 0 && c->breached_at == 0 && now >= c->warn_at) {
            c->warned_at = c->warn_at;
            add(out, SLA_WARNING, (enum sla_metric)m, c->warn_at, c);
        }
        if (c->due_at != 0 && c->breached_at == 0 && now >= c->due_at) {
            c->breached_at = c->due_at;
            c->breaches++;
            add(out, SLA_BREACH, (enum sla_metric)m, c->due_at, c);
        }
    }
}

/* Order a transition's events by their instants (stable: a warning stays
 * before the breach due at the same instant, metrics in their order). */
static void finish(struct sla_events *out)
{
    for (size_t i = 1; i < out->n; i++) {
        struct sla_event ev = out->ev[i];
        size_t j = i;
        while (j > 0 && out->ev[j - 1].at > ev.at) {
            out->ev[j] = out->ev[j - 1];
            j--;
        }
        out->ev[j] = ev;
    }
}

/* Take pol and priority as the state's terms when they differ from them. */
static void adopt(struct sla_state *s, const struct cfg_sla_policy *pol,
                  enum ticket_priority priority, int64_t now)
{
    const char *name = pol != NULL ? pol->name : "";
    if (strcmp(s->policy, name) == 0 && s->priority == priority)
        return;
    snprintf(s->policy, sizeof s->policy, "%s", name);
    s->priority = priority;
    for (int m = 0; m < SLA_METRIC_COUNT; m++)
        if (running(&s->clock[m]))
            s->clock[m].target_ms = sla_target_ms(pol, priority, (enum sla_metric)m);
    sync_pauses(s, pol, now);
}

/* The common frame of a transition: adopt, report what is due. */
static void begin(struct sla_state *s, const struct cfg_sla_policy *pol, int64_t now,
                  struct sla_events *out)
{
    out->n = 0;
    fire(s, now, out);
    adopt(s, pol, s->priority, now);
    fire(s, now, out);
}

/* --- transitions ------------------------------------------------------------------- */

void sla_on_created(struct sla_state *s, const struct cfg_sla_policy *pol,
                    enum ticket_priority priority, int64_t now)
{
    memset(s, 0, sizeof *s);
    snprintf(s->policy, sizeof s->policy, "%s", pol != NULL ? pol->name : "");
    s->priority = priority;
    s->status = TICKET_OPEN;
    start_cycle(s, pol, SLA_FIRST_RESPONSE, now);
    start_cycle(s, pol, SLA_RESOLUTION, now);
}

void sla_on_agent_reply(struct sla_state *s, const struct cfg_sla_policy *pol, int64_t now,
                        struct sla_events *out)
{
    begin(s, pol, now, out);
    stop(s, pol, SLA_FIRST_RESPONSE, now, out);
    stop(s, pol, SLA_NEXT_RESPONSE, now, out);
    finish(out);
}

void sla_on_customer_message(struct sla_state *s, const struct cfg_sla_policy *pol,
                             int64_t now, struct sla_events *out)
{
    begin(s, pol, now, out);
    if (stopped_status(s->status) || running(&s->clock[SLA_FIRST_RESPONSE]) ||
        running(&s->clock[SLA_NEXT_RESPONSE])) {
        finish(out);
        return;                     /* closed, or already waiting for a reply */
    }
    start_cycle(s, pol, SLA_NEXT_RESPONSE, now);
    fire(s, now, out);
    finish(out);
}

void sla_on_status(struct sla_state *s, const struct cfg_sla_policy *pol,
                   enum ticket_status to, int64_t now, struct sla_events *out)
{
    begin(s, pol, now, out);
    enum ticket_status from = s->status;
    s->status = to;
    if (stopped_status(to)) {
        for (int m = 0; m < SLA_METRIC_COUNT; m++)
            stop(s, pol, (enum sla_metric)m, now, out);
    } else {
        if (stopped_status(from))
            start_cycle(s, pol, SLA_RESOLUTION, now);
        sync_pauses(s, pol, now);
        fire(s, now, out);
    }
    finish(out);
}

void sla_on_policy(struct sla_state *s, const struct cfg_sla_policy *pol,
                   enum ticket_priority priority, int64_t now, struct sla_events *out)
{
    out->n = 0;
    fire(s, now, out);
    adopt(s, pol, priority, now);
    fire(s, now, out);
    finish(out);
}

void sla_on_timer(struct sla_state *s, int64_t now, struct sla_events *out)
{
    out->n = 0;
    fire(s, now, out);
    finish(out);
}

int64_t sla_next_at(const struct sla_state *s)
{
    int64_t next = 0;
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        const struct sla_clock *c = &s->clock[m];
        if (!running(c) || c->paused_since != 0 || c->breached_at != 0)
            continue;
        int64_t at = c->warn_at != 0 && c->warned_at == 0 ? c->warn_at : c->due_at;
        if (at != 0 && (next == 0 || at < next))
            next = at;
    }
    return next;
}

int64_t sla_elapsed_ms(const struct sla_state *s, const struct cfg_sla_policy *pol,
                       enum sla_metric m, int64_t now)
{
    if ((unsigned)m >= SLA_METRIC_COUNT)
        return 0;
    const struct sla_clock *c = &s->clock[m];
    if (c->started_at == 0)
        return 0;
    const struct cfg_calendar *cal = calendar(pol);
    int64_t end = c->met_at != 0 ? c->met_at : now;
    int64_t paused = c->paused_ms;
    if (c->paused_since != 0)
        paused += sla_hours_between(cal, c->paused_since, end);
    int64_t v = sla_hours_between(cal, c->started_at, end) - paused;
    return v > 0 ? v : 0;
}

/* --- JSON ---------------------------------------------------------------------------- */

/* The clock fields, in one table for both directions. */
#define CLOCK_FIELDS(X)                                  \
    X(target_ms) X(started_at) X(due_at) X(warn_at)      \
    X(paused_ms) X(paused_since) X(warned_at) X(met_at)  \
    X(breached_at) X(cycle) X(breaches)

json_t *sla_to_json(const struct sla_state *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "v", json_integer(1));
    json_object_set_new(o, "policy", s->policy[0] ? json_string(s->policy) : json_null());
    json_object_set_new(o, "priority", json_string(ticket_priority_name(s->priority)));
    json_object_set_new(o, "status", json_string(ticket_status_name(s->status)));
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        const struct sla_clock *c = &s->clock[m];
        json_t *k = json_object();
#define PUT(f) json_object_set_new(k, #f, json_integer(c->f));
        CLOCK_FIELDS(PUT)
#undef PUT
        json_object_set_new(o, metric_names[m], k);
    }
    return o;
}

static int get_field(json_t *obj, const char *metric, const char *key, int64_t max,
                     int64_t *out, struct err *e)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", metric, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return err_field(e, ERR_INVAL, name, "field '%s' must be an integer from 0 to %lld",
                         name, (long long)max);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int clock_from_json(json_t *k, const char *metric, struct sla_clock *c, struct err *e)
{
    static const char *const keys[] = {
#define NAME(f) #f,
        CLOCK_FIELDS(NAME)
#undef NAME
        NULL
    };
    char where[48];
    int64_t v;
    int rc;
    snprintf(where, sizeof where, "%s.", metric);
    if (!json_is_object(k))
        return err_field(e, ERR_INVAL, metric, "field '%s' must be an object", metric);
    if ((rc = jx_check_fields(k, keys, where, e)))
        return rc;
#define GET(f)                                                                       \
    v = 0;                                                                           \
    if ((rc = get_field(k, metric, #f, sizeof c->f == 4 ? INT32_MAX : INT64_MAX, &v, \
                        e)))                                                         \
        return rc;                                                                   \
    c->f = v;
    CLOCK_FIELDS(GET)
#undef GET
    return 0;
}

int sla_from_json(json_t *j, struct sla_state *out, struct err *e)
{
    static const char *const keys[] = {
        "v", "policy", "priority", "status", "first_response", "next_response",
        "resolution", NULL
    };
    struct sla_state s;
    int64_t version = 0;
    const char *str;
    int rc;
    memset(&s, 0, sizeof s);
    if (!json_is_object(j))
        return err_set(e, ERR_INVAL, "SLA state must be a JSON object");
    if ((rc = jx_check_fields(j, keys, "", e)) || (rc = jx_get_int(j, "v", true, &version, e)))
        return rc;
    if (version != 1)
        return err_field(e, ERR_INVAL, "v", "unsupported SLA state version %lld",
                         (long long)version);
    json_t *p = json_object_get(j, "policy");
    if (p != NULL && !json_is_null(p)) {
        if (!json_is_string(p) || json_string_length(p) >= sizeof s.policy)
            return err_field(e, ERR_INVAL, "policy", "field 'policy' must be a policy name "
                             "shorter than %d bytes, or null", CFG_SLA_NAME_MAX);
        snprintf(s.policy, sizeof s.policy, "%s", json_string_value(p));
    }
    str = "normal";
    if ((rc = jx_get_str(j, "priority", false, &str, e)) ||
        (rc = ticket_priority_parse(str, &s.priority, e)))
        return rc;
    str = "open";
    if ((rc = jx_get_str(j, "status", false, &str, e)) ||
        (rc = ticket_status_parse(str, &s.status, e)))
        return rc;
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        json_t *k = json_object_get(j, metric_names[m]);
        if (k != NULL && (rc = clock_from_json(k, metric_names[m], &s.clock[m], e)))
            return rc;
    }
    *out = s;
    return 0;
}

/* Appends of literals, their length known at compile time. */
#define PUT_LIT(b, s) buf_append((b), (s), sizeof(s) - 1)

void sla_write(struct buf *b, const struct sla_state *s)
{
    PUT_LIT(b, "{\"v\":1,\"policy\":");
    if (s->policy[0] != '\0')
        buf_json_str(b, s->policy);
    else
        PUT_LIT(b, "null");
    PUT_LIT(b, ",\"priority\":\"");
    buf_puts(b, ticket_priority_name(s->priority));
    PUT_LIT(b, "\",\"status\":\"");
    buf_puts(b, ticket_status_name(s->status));
    buf_putc(b, '"');
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        const struct sla_clock *c = &s->clock[m];
        if (c->cycle == 0 && c->breaches == 0 && c->started_at == 0)
            continue;                       /* never started: all zero */
        bool first = true;
        buf_puts(b, metric_keys[m]);
        buf_putc(b, '{');
#define PUT(f)                                       \
        if (c->f != 0) {                             \
            if (first)                               \
                PUT_LIT(b, "\"" #f "\":");           \
            else                                     \
                PUT_LIT(b, ",\"" #f "\":");          \
            buf_put_int(b, c->f);                    \
            first = false;                           \
        }
        CLOCK_FIELDS(PUT)
#undef PUT
        buf_putc(b, '}');
    }
    buf_putc(b, '}');
}

/* A cursor over text sla_write wrote: each step consumes what it expects
 * or fails, and a failure sends the caller to the general reader. */
struct scan {
    const char *p, *end;
};

static bool lit_n(struct scan *sc, const char *s, size_t n)
{
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, s, n) != 0)
        return false;
    sc->p += n;
    return true;
}

#define LIT(sc, s) lit_n((sc), (s), sizeof(s) - 1)

/* A non-negative integer of at most 18 digits (no overflow possible). */
static bool num(struct scan *sc, int64_t max, int64_t *out)
{
    int64_t v = 0;
    int digits = 0;
    while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9' && digits < 19) {
        v = v * 10 + (*sc->p - '0');
        sc->p++;
        digits++;
    }
    if (digits == 0 || digits > 18 || v > max || (digits > 1 && sc->p[-digits] == '0'))
        return false;
    *out = v;
    return true;
}

/* A plain string up to its closing quote (no escapes, no control bytes),
 * copied into out (size n). */
static bool plain_str(struct scan *sc, char *out, size_t n)
{
    const char *s = sc->p;
    while (sc->p < sc->end && *sc->p != '"') {
        if (*sc->p == '\\' || (unsigned char)*sc->p < 0x20)
            return false;
        sc->p++;
    }
    size_t len = (size_t)(sc->p - s);
    if (sc->p == sc->end || len >= n)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    sc->p++;
    return true;
}

static bool fast_read(const char *text, size_t len, struct sla_state *s)
{
    struct scan sc = { text, text + len };
    char name[32];
    int64_t v;
    memset(s, 0, sizeof *s);
    if (!LIT(&sc, "{\"v\":1,\"policy\":"))
        return false;
    if (!LIT(&sc, "null") &&
        !(LIT(&sc, "\"") && plain_str(&sc, s->policy, sizeof s->policy) &&
          buf_utf8_valid(s->policy, strlen(s->policy))))
        return false;
    if (!LIT(&sc, ",\"priority\":\"") || !plain_str(&sc, name, sizeof name) ||
        ticket_priority_parse(name, &s->priority, NULL) != 0)
        return false;
    if (!LIT(&sc, ",\"status\":\"") || !plain_str(&sc, name, sizeof name) ||
        ticket_status_parse(name, &s->status, NULL) != 0)
        return false;
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        struct sla_clock *c = &s->clock[m];
        /* absent metrics and fields are zero; present ones come in order */
        if (!lit_n(&sc, metric_keys[m], strlen(metric_keys[m])))
            continue;
        if (!LIT(&sc, "{"))
            return false;
        bool first = true;
#define GET(f)                                                                        \
        if (first ? LIT(&sc, "\"" #f "\":") : LIT(&sc, ",\"" #f "\":")) {            \
            if (!num(&sc, sizeof c->f == 4 ? INT32_MAX : INT64_MAX, &v))              \
                return false;                                                         \
            c->f = v;                                                                 \
            first = false;                                                            \
        }
        CLOCK_FIELDS(GET)
#undef GET
        if (!LIT(&sc, "}"))
            return false;
    }
    return LIT(&sc, "}") && sc.p == sc.end;
}

int sla_read(const char *text, size_t len, struct sla_state *out, struct err *e)
{
    struct sla_state s;
    if (fast_read(text, len, &s)) {
        *out = s;
        return 0;
    }
    json_t *j = NULL;
    int rc = jx_parse(text, len, &j, e);
    if (rc == 0)
        rc = sla_from_json(j, out, e);
    json_decref(j);
    return rc;
}

static const char *clock_status(const struct sla_clock *c)
{
    if (c->started_at == 0)
        return "not_started";
    if (c->met_at != 0)
        return "met";
    return c->paused_since != 0 ? "paused" : "running";
}

json_t *sla_view(const struct sla_state *s, const struct cfg_sla_policy *pol, int64_t now)
{
    json_t *o = json_object();
    json_object_set_new(o, "policy", s->policy[0] ? json_string(s->policy) : json_null());
    json_object_set_new(o, "priority", json_string(ticket_priority_name(s->priority)));
    json_object_set_new(o, "business_hours",
                        pol != NULL && pol->calendar != NULL
                            ? json_string(pol->calendar->timezone) : json_null());
    for (int m = 0; m < SLA_METRIC_COUNT; m++) {
        const struct sla_clock *c = &s->clock[m];
        int64_t elapsed = sla_elapsed_ms(s, pol, (enum sla_metric)m, now);
        int64_t paused = c->paused_ms;
        if (c->paused_since != 0)
            paused += sla_hours_between(calendar(pol), c->paused_since, now);
        json_t *k = json_object();
        json_object_set_new(k, "status", json_string(clock_status(c)));
        json_object_set_new(k, "breached", json_boolean(c->breached_at != 0));
        json_object_set_new(k, "target_ms", c->target_ms ? json_integer(c->target_ms)
                                                         : json_null());
        json_object_set_new(k, "cycle", json_integer(c->cycle));
        json_object_set_new(k, "started_at", jx_time_or_null(c->started_at));
        json_object_set_new(k, "due_at", jx_time_or_null(c->due_at));
        json_object_set_new(k, "warn_at", jx_time_or_null(c->warn_at));
        json_object_set_new(k, "paused_ms", json_integer(paused));
        json_object_set_new(k, "paused_since", jx_time_or_null(c->paused_since));
        json_object_set_new(k, "elapsed_ms", json_integer(elapsed));
        json_object_set_new(k, "remaining_ms",
                            c->target_ms && c->started_at ? json_integer(c->target_ms - elapsed)
                                                          : json_null());
        json_object_set_new(k, "met_at", jx_time_or_null(c->met_at));
        json_object_set_new(k, "breached_at", jx_time_or_null(c->breached_at));
        json_object_set_new(k, "breaches", json_integer(c->breaches));
        json_object_set_new(o, metric_names[m], k);
    }
    return o;
}
