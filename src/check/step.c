/*
 * step.c — a scenario's steps carried out (see step.h).
 *
 * Every leaf step run is one check_step: begin() adds it with its place in
 * the suite, the action or expectation fills it, finish() stamps the
 * clocks and collects what the system did meanwhile into the timeline
 * (the fake's sent log, the sink's journal). Actions speak to the world
 * the way its users would: customers and agents through the fake
 * Telegram's user functions, the help desk through the REST API, time
 * through env_advance, faults through the fake's and the sink's fault
 * injection. Expectations are expect_step's; this file owns their
 * `eventually` loop and their captures.
 *
 * On the live target the clock is real: steps that need the sandbox
 * (advance, faults, wait: idle) end the case as skipped, with the reason.
 */
#include "check/step.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/jx.h"
#include "check/expect.h"
#include "check/expect_match.h"
#include "check/fake_tg.h"
#include "check/jpath.h"
#include "check/progress.h"
#include "check/run.h"
#include "check/sandbox.h"
#include "check/sink.h"

/* Step outcomes inside this file: a status, and for the runner's own
 * failures (out of memory) a negative code. */
#define LABEL_MAX 160
#define EVENTS_PER_POLL 8     /* room reserved for the failure events of one poll */

/* ---- small helpers -------------------------------------------------------------- */

static bool live(const struct step_run *r) { return r->sb == NULL; }

static struct check_step *cur(struct step_run *r)
{
    return &r->cc->steps[r->cur];
}

/* The scenario clock now (ms since the scenario started). */
static int64_t scn_now(struct step_run *r)
{
    return clock_now_ms(r->env->clock) - r->env->t0_ms;
}

static const char *say(struct step_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *say(struct step_run *r, const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return check_report_str(r->rep, b);
}

static int64_t mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

/* A timeline event of the current step. */
static struct check_event *event(struct step_run *r, int64_t at, enum check_lane from,
                                 enum check_lane to, const char *label, const char *detail)
{
    struct check_event *ev = check_case_add_event(r->rep, r->cc, at < 0 ? 0 : at, label);
    if (ev != NULL) {
        ev->from = from;
        ev->to = to;
        ev->detail = check_report_str(r->rep, detail);
        ev->step = r->cur;
    }
    return ev;
}

/* "ann: My invoice is wrong" cut for a label. */
static void clip(char *out, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len < n) {
        memcpy(out, s, len + 1);
        return;
    }
    size_t k = n - 4;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;                                   /* not inside a UTF-8 character */
    memcpy(out, s, k);
    memcpy(out + k, "...", 4);
}

/* A step's label when it has no `name`: its kind and its scalar arguments. */
static const char *summary(struct step_run *r, const struct step *st)
{
    char b[LABEL_MAX] = "";
    size_t len = 0;
    const struct yml_node *a = st->args;
    if (a != NULL && a->kind == YML_SCALAR) {
        snprintf(b, sizeof b, "%s", a->str);
    } else if (a != NULL && a->kind == YML_MAP) {
        for (size_t i = 0; i < a->n && len < sizeof b; i++) {
            const struct yml_node *v = a->items[i];
            int w = v->kind == YML_SCALAR
                        ? snprintf(b + len, sizeof b - len, "%s%s: %s", i ? ", " : "",
                                   a->keys[i]->str, v->str)
                        : snprintf(b + len, sizeof b - len, "%s%s: …", i ? ", " : "",
                                   a->keys[i]->str);
            if (w < 0)
                break;
            len += (size_t)w;
        }
    }
    char c[LABEL_MAX];
    clip(c, sizeof c - 24, b);
    return r->prefix != NULL ? say(r, "%s %s", r->prefix, c) : say(r, "%s", c);
}

/* Add the check_step of a leaf step and make it current. */
static void begin(struct step_run *r, const struct step *st)
{
    size_t idx = r->cc->nsteps;
    struct check_step *s = check_case_add_step(r->rep, r->cc);
    r->cur = (int)idx;
    s->kind = scenario_step_name(st->kind);
    s->name = st->name != NULL ? (r->prefix ? say(r, "%s %s", r->prefix, st->name)
                                            : check_report_str(r->rep, st->name))
                               : summary(r, st);
    s->file = r->cc->file;
    s->line = st->pos.line;
    s->column = st->pos.col;
    s->status = CHECK_PASSED;
    s->clock_start_ms = scn_now(r);
    s->real_ms = mono_ms();                  /* the start; finish() makes it a duration */
    if (r->progress != NULL)
        progress_step(r->progress, r->cc, idx, s->kind, s->name);
}

static void set_status(struct step_run *r, enum check_status st, const char *expected,
                       const char *seen)
{
    struct check_step *s = cur(r);
    s->status = st;
    if (expected != NULL && s->expected == NULL)
        s->expected = check_report_str(r->rep, expected);
    if (seen != NULL)
        s->seen = check_report_str(r->rep, seen);
}

/* The runner could not carry the step out: errored, with why. */
static int errored(struct step_run *r, const struct err *e)
{
    set_status(r, CHECK_ERRORED, NULL, e->msg[0] ? e->msg : "the step could not be run");
    return CHECK_ERRORED;
}

static int skipped(struct step_run *r, const char *why)
{
    struct check_step *s = cur(r);
    s->status = CHECK_SKIPPED;
    s->reason = check_report_str(r->rep, why);
    return CHECK_SKIPPED;
}

/* ---- the timeline: what the fake and the sink saw ------------------------------------ */

static void collect_telegram(struct step_run *r)
{
    struct fake_tg_sent_filter f = { .since = r->tg_seq, .bot_id = r->env->bot_id };
    json_t *o = fake_tg_sent(r->env->tg, &f);
    json_t *list = json_object_get(o, "sent");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *s = json_array_get(list, i);
        int64_t seq = json_integer_value(json_object_get(s, "seq"));
        if (seq > r->tg_seq)
            r->tg_seq = seq;
        const char *method = json_string_value(json_object_get(s, "method"));
        int64_t chat = json_integer_value(json_object_get(s, "chat_id"));
        int64_t date = json_integer_value(json_object_get(s, "date"));
        json_t *thread = json_object_get(s, "message_thread_id");
        char label[2 * LABEL_MAX];
        if (json_is_integer(thread))
            snprintf(label, sizeof label, "%s chat %" PRId64 " topic %" JSON_INTEGER_FORMAT,
                     method ? method : "?", chat, json_integer_value(thread));
        else
            snprintf(label, sizeof label, "%s chat %" PRId64, method ? method : "?", chat);
        const char *text = json_string_value(json_object_get(s, "text"));
        char detail[LABEL_MAX];
        clip(detail, sizeof detail, text ? text : "");
        /* the sent log dates in whole seconds of the shared clock */
        int64_t at = date > 0 ? date * 1000 - r->env->t0_ms : scn_now(r);
        int64_t now = scn_now(r);
        event(r, at > now ? now : at, LANE_CRM, LANE_TELEGRAM, label, text ? detail : NULL);
    }
    json_decref(o);
}

static void collect_sink(struct step_run *r)
{
    struct sink_query q = { .since = r->sink_seq, .which = SINK_ALL };
    struct sink_found f;
    struct err e = {0};
    if (sink_find(r->env->sink, &q, 0, 0, &f, &e) != 0)
        return;
    for (size_t i = 0; i < f.n; i++) {
        const struct sink_record *rec = f.recs[i];
        if (rec->seq > r->sink_seq)
            r->sink_seq = rec->seq;
        char label[2 * LABEL_MAX];
        snprintf(label, sizeof label, "%s → %s%s", rec->type ? rec->type : rec->path,
                 rec->endpoint[0] ? rec->endpoint : "?", rec->refused ? " (refused)" : "");
        char detail[LABEL_MAX];
        clip(detail, sizeof detail, rec->body ? rec->body : "");
        event(r, rec->at_ms - r->env->t0_ms, LANE_CRM, LANE_HELPDESK, label, detail);
    }
    sink_found_release(&f);
}

static void collect(struct step_run *r)
{
    if (r->env->tg != NULL)
        collect_telegram(r);
    if (r->env->sink != NULL)
        collect_sink(r);
}

/* ---- faults ----------------------------------------------------------------------------- */

static bool tg_faulted(struct step_run *r)
{
    int64_t now = scn_now(r);
    for (size_t i = 0; i < r->nfaults; i++)
        if (r->faults[i].active && r->faults[i].telegram && r->faults[i].until_ms > now)
            return true;
    return false;
}

/* Faults whose time is up end on the timeline at their own time. */
static void expire_faults(struct step_run *r)
{
    int64_t now = scn_now(r);
    for (size_t i = 0; i < r->nfaults; i++) {
        struct step_fault *f = &r->faults[i];
        if (f->active && f->until_ms <= now) {
            f->active = false;
            r->cc->events[f->event].until_ms = f->until_ms;
        }
    }
}

int step_settle(void *run, struct err *e)
{
    return step_idle(run, e);
}

/* Live: the CRM is not ours to ask, but the fake is — wait (real time,
 * bounded) until the CRM has taken what customers and agents wrote. Whether
 * it did the rest is the expectations' to judge (with `eventually`). */
static void live_settle(struct step_run *r)
{
    int64_t deadline = mono_ms() + r->step_timeout_ms;
    while (r->env->tg != NULL && sandbox_tg_pending(r->env->tg, r->env->bot_id) > 0 &&
           mono_ms() < deadline) {
        struct timespec ts = { 0, 5 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

int step_idle(struct step_run *r, struct err *e)
{
    if (live(r)) {
        live_settle(r);
        return 0;
    }
    struct sandbox_due due = { INT64_MAX, 0 };
    int rc = sandbox_idle(r->sb, r->env, tg_faulted(r), r->step_timeout_ms, &due, e);
    r->next_due_ms = due.next_ms;
    r->held = due.held;
    return rc;
}

/* How far the clock may move in one go from now, at most max: exactly to
 * the next time anything falls due — the CRM's timers, retries and pauses
 * (as the last idleness reported them), a fault's end. While the sink holds
 * an answer (due when only it knows), no more than a tick; when something
 * is due now yet not done (a full concurrency window), a tick. */
static int64_t next_move(struct step_run *r, int64_t max)
{
    int64_t now = scn_now(r);
    int64_t due = r->next_due_ms == INT64_MAX ? INT64_MAX : r->next_due_ms - r->env->t0_ms;
    for (size_t i = 0; i < r->nfaults; i++)
        if (r->faults[i].active && r->faults[i].until_ms < due)
            due = r->faults[i].until_ms;
    int64_t d = due == INT64_MAX ? max : due > now ? due - now : r->tick_ms;
    if (r->held > 0 && d > r->tick_ms)
        d = r->tick_ms;
    return d < max ? d : max;
}

static bool tg_faulted_cb(void *run)
{
    return tg_faulted(run);
}

/* One move of d ms, settled: in the sandbox the move and the first look
 * are one request (sandbox_advance); live, the clock is not ours. */
static int move_settled(struct step_run *r, int64_t d, struct err *e)
{
    if (live(r))
        return env_advance(r->env, d, e);   /* refuses: a real clock */
    struct sandbox_due due = { INT64_MAX, 0 };
    int rc = sandbox_advance(r->sb, r->env, d, r->step_timeout_ms, tg_faulted_cb, r, &due, e);
    r->next_due_ms = due.next_ms;
    r->held = due.held;
    return rc;
}

/* Move the clock by ms, settling after each move, so timers, retries and
 * fault ends happen at their own time, in order: in ticks of at most
 * --tick, or straight to the next due time when nothing falls due before. */
static int advance(struct step_run *r, int64_t ms, struct err *e)
{
    while (ms > 0) {
        int64_t d = next_move(r, ms);
        int rc = move_settled(r, d, e);
        if (rc != 0)
            return rc;
        expire_faults(r);
        ms -= d;
    }
    return 0;
}

/* ---- arguments ------------------------------------------------------------------------ */

static int arg_text(struct step_run *r, const struct yml_node *args, const char *key,
                    const char **out, struct err *e)
{
    const struct yml_node *v = yml_get(args, key);
    if (v == NULL || v->kind != YML_SCALAR)
        return err_set(e, ERR_INVAL, "'%s' is missing", key);
    return env_expand(r->env, v->str, out, e);
}

static int arg_int(struct step_run *r, const struct yml_node *args, const char *key,
                   int64_t *out, struct err *e)
{
    const char *s;
    int rc = arg_text(r, args, key, &s, e);
    if (rc != 0)
        return rc;
    char *end;
    *out = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0')
        return err_set(e, ERR_INVAL, "'%s: %s' is not a whole number", key, s);
    return 0;
}

static int arg_dur(const struct yml_node *args, const char *key, int64_t *out)
{
    const struct yml_node *v = yml_get(args, key);
    *out = 0;
    return v != NULL && v->kind == YML_SCALAR ? clock_parse_duration(v->str, out) : 0;
}

static const struct scenario_customer *customer_arg(struct step_run *r,
                                                    const struct yml_node *args,
                                                    const char *key)
{
    const struct yml_node *v = yml_get(args, key);
    return v != NULL && v->kind == YML_SCALAR ? env_customer(r->env, v->str) : NULL;
}

static const struct cfg_agent *agent_arg(struct step_run *r, const struct yml_node *args)
{
    const struct yml_node *v = yml_get(args, "agent");
    for (size_t i = 0; v != NULL && r->cfg != NULL && i < r->cfg->nagents; i++)
        if (strcmp(r->cfg->agents[i].id, v->str) == 0)
            return &r->cfg->agents[i];
    return NULL;
}

/* ---- actions ----------------------------------------------------------------------------- */

static int act_send(struct step_run *r, const struct step *st, json_t **src, struct err *e)
{
    const struct scenario_customer *cu = customer_arg(r, st->args, "from");
    const char *text;
    int rc = arg_text(r, st->args, "text", &text, e);
    if (rc != 0)
        return rc;
    struct fake_tg_send s = { .from = cu->tg_user_id, .bot_id = r->env->bot_id, .text = text };
    json_t *res = NULL;
    if ((rc = fake_tg_user_send(r->env->tg, &s, &res, e)) != 0)
        return rc;
    *src = json_incref(json_object_get(res, "message"));
    json_decref(res);
    char label[2 * LABEL_MAX], t[LABEL_MAX];
    clip(t, 100, text);
    snprintf(label, sizeof label, "%s: %s", cu->name, t);
    event(r, scn_now(r), LANE_CUSTOMER, LANE_TELEGRAM, label, NULL);
    return 0;
}

static int act_edit(struct step_run *r, const struct step *st, json_t **src, struct err *e)
{
    const struct scenario_customer *cu = customer_arg(r, st->args, "from");
    const char *text;
    int64_t mid;
    int rc = arg_text(r, st->args, "text", &text, e);
    if (rc == 0)
        rc = arg_int(r, st->args, "message", &mid, e);
    json_t *res = NULL;
    if (rc == 0)
        rc = fake_tg_user_edit(r->env->tg, cu->tg_user_id, cu->tg_user_id, r->env->bot_id, mid,
                               text, &res, e);
    if (rc != 0)
        return rc;
    *src = json_incref(json_object_get(res, "message"));
    json_decref(res);
    event(r, scn_now(r), LANE_CUSTOMER, LANE_TELEGRAM,
          say(r, "%s edits message %" PRId64, cu->name, mid), text);
    return 0;
}

/* The newest bot message in the customer's chat with a button labelled `label`. */
static int act_press(struct step_run *r, const struct step *st, json_t **src, struct err *e)
{
    const struct scenario_customer *cu = customer_arg(r, st->args, "from");
    const char *label;
    int rc = arg_text(r, st->args, "button", &label, e);
    if (rc != 0)
        return rc;
    json_t *msgs = fake_tg_messages(r->env->tg, cu->tg_user_id, r->env->bot_id, 0);
    json_t *list = json_object_get(msgs, "messages");
    int64_t mid = 0;
    const char *data = NULL;
    char seen[512] = "";
    size_t len = 0;
    for (size_t i = json_array_size(list); i-- > 0 && mid == 0;) {
        json_t *m = json_array_get(list, i);
        json_t *rows = json_object_get(json_object_get(m, "reply_markup"), "inline_keyboard");
        for (size_t y = 0; y < json_array_size(rows) && mid == 0; y++) {
            json_t *row = json_array_get(rows, y);
            for (size_t x = 0; x < json_array_size(row); x++) {
                json_t *b = json_array_get(row, x);
                const char *t = json_string_value(json_object_get(b, "text"));
                const char *d = json_string_value(json_object_get(b, "callback_data"));
                if (t == NULL || d == NULL)
                    continue;
                if (strcmp(t, label) == 0) {
                    mid = json_integer_value(json_object_get(m, "message_id"));
                    data = d;
                    break;
                }
                int w = snprintf(seen + len, sizeof seen - len, "%s'%s'", len ? ", " : "", t);
                if (w > 0 && (size_t)w < sizeof seen - len)
                    len += (size_t)w;
            }
        }
    }
    json_t *res = NULL;
    if (mid == 0)
        rc = err_set(e, ERR_NOTFOUND, "no button '%s' in %s's chat (buttons there: %s)", label,
                     cu->name, len ? seen : "none");
    else
        rc = fake_tg_user_press(r->env->tg, cu->tg_user_id, cu->tg_user_id, r->env->bot_id, mid,
                                data, &res, e);
    json_decref(msgs);
    if (rc != 0)
        return rc;
    *src = res;
    event(r, scn_now(r), LANE_CUSTOMER, LANE_TELEGRAM,
          say(r, "%s presses '%s'", cu->name, label), NULL);
    return 0;
}

/* An agent writes in the ticket's topic of the staff group. */
static int act_reply(struct step_run *r, const struct step *st, json_t **src, struct err *e)
{
    const struct cfg_agent *ag = agent_arg(r, st->args);
    const char *text;
    int rc = arg_text(r, st->args, "text", &text, e);
    if (rc != 0)
        return rc;
    if (ag == NULL)
        return err_set(e, ERR_INVAL, "no such agent in the configuration");
    bool command = st->kind == STEP_COMMAND;
    if (command != (text[0] == '/'))
        return err_set(e, ERR_INVAL, command ? "a command starts with '/': '%s'"
                                             : "a reply must not start with '/' (use "
                                               "'command'): '%s'", text);
    json_t *t = NULL;
    if ((rc = env_ticket(r->env, st->args, &t, e)) != 0)
        return rc;
    int64_t id = json_integer_value(json_object_get(t, "id"));
    json_t *topic = json_object_get(t, "topic_id");
    if (!json_is_integer(topic)) {
        json_decref(t);
        return err_set(e, ERR_NOTFOUND, "ticket %" PRId64 " has no topic in the staff group",
                       id);
    }
    struct fake_tg_send s = { .from = ag->tg_user_id, .chat_id = r->env->group_chat_id,
                              .bot_id = r->env->bot_id, .text = text,
                              .thread_id = json_integer_value(topic) };
    json_decref(t);
    json_t *res = NULL;
    if ((rc = fake_tg_user_send(r->env->tg, &s, &res, e)) != 0)
        return rc;
    *src = json_incref(json_object_get(res, "message"));
    json_decref(res);
    char label[2 * LABEL_MAX], c[LABEL_MAX];
    clip(c, 100, text);
    snprintf(label, sizeof label, "%s in #%" PRId64 ": %s", ag->id, id, c);
    event(r, scn_now(r), LANE_CUSTOMER, LANE_TELEGRAM, label, NULL);
    return 0;
}

/* The endpoint a call to /v1/inbound/<name> speaks for: it is signed as
 * that endpoint's help desk would sign it. NULL for other paths. */
static const struct cfg_webhook *inbound_endpoint(struct step_run *r, const char *path)
{
    static const char prefix[] = "/v1/inbound/";
    if (r->cfg == NULL || strncmp(path, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const char *name = path + sizeof prefix - 1;
    size_t len = strcspn(name, "/?");
    for (size_t i = 0; i < r->cfg->nwebhooks; i++)
        if (strlen(r->cfg->webhooks[i].name) == len &&
            strncmp(r->cfg->webhooks[i].name, name, len) == 0)
            return &r->cfg->webhooks[i];
    return NULL;
}

/* A REST call; a status other than the expected one (or a non-2xx) fails the step. */
static int act_api(struct step_run *r, const struct step *st, json_t **src, bool *held,
                   struct err *e)
{
    const char *method = yml_get(st->args, "method")->str;
    const char *path = "";
    int rc = arg_text(r, st->args, "path", &path, e);
    json_t *body = NULL;
    const struct yml_node *b = yml_get(st->args, "body");
    if (rc == 0 && b != NULL)
        rc = env_json(r->env, b, &body, e);
    int64_t want = 0;
    if (rc == 0 && yml_get(st->args, "status") != NULL)
        rc = arg_int(r, st->args, "status", &want, e);
    long status = 0;
    json_t *resp = NULL;
    const struct cfg_webhook *in = rc == 0 ? inbound_endpoint(r, path) : NULL;
    if (rc == 0)
        rc = env_api_signed(r->env, method, path, body, in ? in->secret : NULL,
                            in ? in->previous_secret : NULL, &status, &resp, e);
    json_decref(body);
    if (rc != 0)
        return rc;
    event(r, scn_now(r), LANE_HELPDESK, LANE_CRM, say(r, "%s %s → %ld", method, path, status),
          NULL);
    *held = want != 0 ? status == want : status >= 200 && status < 300;
    if (!*held) {
        char shown[600];
        jpath_show(resp, shown, sizeof shown);
        set_status(r, CHECK_FAILED,
                   want ? say(r, "%s %s answers %" PRId64, method, path, want)
                        : say(r, "%s %s answers 2xx", method, path),
                   say(r, "HTTP %ld %s", status, shown));
    }
    *src = resp;
    return 0;
}

static int act_availability(struct step_run *r, const struct step *st, struct err *e)
{
    const char *agent = yml_get(st->args, "agent")->str;
    const char *status = yml_get(st->args, "status")->str;
    char path[160];
    snprintf(path, sizeof path, "/v1/agents/%s", agent);
    json_t *body = json_pack("{ss}", "availability", status);
    long code;
    int rc = env_api(r->env, "PATCH", path, body, &code, NULL, e);
    json_decref(body);
    if (rc == 0 && code != 200)
        rc = err_set(e, ERR_INVAL, "PATCH %s answered %ld", path, code);
    if (rc == 0)
        event(r, scn_now(r), LANE_HELPDESK, LANE_CRM, say(r, "%s is %s", agent, status), NULL);
    return rc;
}

/* ---- fault injection ---------------------------------------------------------------------- */

static struct step_fault *fault_slot(struct step_run *r, struct err *e)
{
    if (r->nfaults == STEP_MAX_FAULTS) {
        err_set(e, ERR_TOOBIG, "more than %d faults in one scenario", STEP_MAX_FAULTS);
        return NULL;
    }
    struct step_fault *f = &r->faults[r->nfaults++];
    memset(f, 0, sizeof *f);
    return f;
}

static int fault_telegram(struct step_run *r, const struct step *st, const char *kind,
                          int64_t times, int64_t for_ms, struct err *e)
{
    int64_t status = 0, retry = 0, delay = 0;
    if (yml_get(st->args, "status") != NULL && arg_int(r, st->args, "status", &status, e) != 0)
        return ERR_INVAL;
    arg_dur(st->args, "retry_after", &retry);
    arg_dur(st->args, "delay", &delay);
    if (strcmp(kind, "delete_topic") == 0) {
        json_t *t = NULL;
        int rc = env_ticket(r->env, st->args, &t, e);
        if (rc != 0)
            return rc;
        json_t *topic = json_object_get(t, "topic_id");
        int64_t id = json_integer_value(json_object_get(t, "id"));
        rc = json_is_integer(topic)
                 ? fake_tg_delete_topic(r->env->tg, r->env->group_chat_id,
                                        json_integer_value(topic), e)
                 : err_set(e, ERR_NOTFOUND, "ticket %" PRId64 " has no topic", id);
        json_decref(t);
        if (rc == 0)
            event(r, scn_now(r), LANE_FAULT, LANE_TELEGRAM,
                  say(r, "topic of #%" PRId64 " deleted", id), NULL);
        return rc;
    }
    struct fake_tg_fault ft = { .calls = times, .duration_ms = for_ms };
    if (strcmp(kind, "partition") == 0 || strcmp(kind, "down") == 0) {
        ft.kind = FAKE_TG_PARTITION;
    } else if (strcmp(kind, "drop") == 0) {
        ft.kind = FAKE_TG_PARTITION;
        ft.hang = true;
    } else if (strcmp(kind, "status") == 0) {
        ft.kind = FAKE_TG_HTTP_ERROR;
        ft.status = status ? (int)status : 500;
    } else if (strcmp(kind, "malformed") == 0) {
        ft.kind = FAKE_TG_HTTP_ERROR;
        ft.status = status ? (int)status : 502;
    } else if (strcmp(kind, "rate_limit") == 0) {
        ft.kind = FAKE_TG_RATE_LIMIT;
        ft.retry_after = retry > 0 ? (int)((retry + 999) / 1000) : 5;
    } else {
        ft.kind = FAKE_TG_SLOW;
        ft.delay_ms = delay > 0 ? delay : 1000;
    }
    struct step_fault *f = fault_slot(r, e);
    if (f == NULL)
        return ERR_TOOBIG;
    int rc = fake_tg_fault_add(r->env->tg, &ft, &f->tg_id, e);
    if (rc != 0) {
        r->nfaults--;
        return rc;
    }
    f->telegram = true;
    return 0;
}

static int fault_sink(struct step_run *r, const struct step *st, const char *target,
                      const char *kind, int64_t times, int64_t for_ms, struct err *e)
{
    const char *endpoint = SINK_ANY_ENDPOINT;
    int64_t status = 0, retry = 0, delay = 0;
    int rc = 0;
    if (yml_get(st->args, "endpoint") != NULL) {
        if (strcmp(target, "helpdesk") == 0)
            return err_set(e, ERR_INVAL, "a helpdesk fault is on every endpoint: 'endpoint' "
                           "belongs to target webhook");
        if ((rc = arg_text(r, st->args, "endpoint", &endpoint, e)) != 0)
            return rc;
    }
    if (yml_get(st->args, "status") != NULL && arg_int(r, st->args, "status", &status, e) != 0)
        return ERR_INVAL;
    arg_dur(st->args, "retry_after", &retry);
    arg_dur(st->args, "delay", &delay);
    struct sink_behaviour b = { .times = times, .for_ms = for_ms };
    char ra[32];
    if (strcmp(kind, "partition") == 0 || strcmp(kind, "down") == 0) {
        b.fault = SINK_FAULT_DOWN;
    } else if (strcmp(kind, "drop") == 0) {
        b.fault = SINK_FAULT_DROP;
    } else if (strcmp(kind, "status") == 0) {
        b.status = status ? (int)status : 500;
    } else if (strcmp(kind, "malformed") == 0) {
        b.status = status ? (int)status : 200;
        b.body = "<html><body><h1>Service Unavailable</h1></body></html>";
        b.content_type = "text/html";
    } else if (strcmp(kind, "rate_limit") == 0) {
        b.status = 429;
        snprintf(ra, sizeof ra, "%" PRId64, retry > 0 ? (retry + 999) / 1000 : 5);
        b.retry_after = ra;
    } else if (strcmp(kind, "delay") == 0) {
        b.delay_ms = delay > 0 ? delay : 1000;
    } else {
        return err_set(e, ERR_INVAL, "fault kind '%s' is for target telegram", kind);
    }
    struct step_fault *f = fault_slot(r, e);
    if (f == NULL)
        return ERR_TOOBIG;
    snprintf(f->endpoint, sizeof f->endpoint, "%s", endpoint);
    /* without times or for the fault lasts until cleared: the endpoint's default */
    if (times == 0 && for_ms == 0)
        rc = sink_behaviour_default(r->env->sink, endpoint, &b, e);
    else
        rc = sink_behaviour_push(r->env->sink, endpoint, &b, NULL, e);
    if (rc != 0)
        r->nfaults--;
    return rc;
}

static int act_fault(struct step_run *r, const struct step *st, struct err *e)
{
    const char *target = yml_get(st->args, "target")->str;
    const char *kind = yml_get(st->args, "kind")->str;
    int64_t times = 0, for_ms = 0;
    if (yml_get(st->args, "times") != NULL && arg_int(r, st->args, "times", &times, e) != 0)
        return ERR_INVAL;
    arg_dur(st->args, "for", &for_ms);
    bool tg = strcmp(target, "telegram") == 0;
    if (!tg && strcmp(kind, "delete_topic") == 0)
        return err_set(e, ERR_INVAL, "delete_topic is a telegram fault");
    size_t before = r->nfaults;
    int rc = tg ? fault_telegram(r, st, kind, times, for_ms, e)
                : fault_sink(r, st, target, kind, times, for_ms, e);
    if (rc != 0 || r->nfaults == before)
        return rc;
    struct step_fault *f = &r->faults[r->nfaults - 1];
    int64_t now = scn_now(r);
    f->active = true;
    f->until_ms = for_ms > 0 ? now + for_ms : INT64_MAX;
    char label[2 * LABEL_MAX];
    snprintf(label, sizeof label, "%s %s%s%s%s", target, kind, f->endpoint[0] ? " " : "",
             f->endpoint[0] && strcmp(f->endpoint, "*") != 0 ? f->endpoint : "",
             times > 0 ? say(r, " ×%" PRId64, times) : "");
    struct check_event *ev = event(r, now, LANE_FAULT, LANE_FAULT, label, NULL);
    f->event = r->cc->nevents - 1;
    if (ev != NULL)
        ev->until_ms = for_ms > 0 ? now + for_ms : now;   /* open: closed at clear or end */
    return 0;
}

/* End the faults on target ("telegram", "helpdesk"/"webhook", "all"). */
static int clear_faults(struct step_run *r, const char *target, struct err *e)
{
    bool all = strcmp(target, "all") == 0;
    bool tg = all || strcmp(target, "telegram") == 0;
    bool hooks = all || !tg;
    int64_t now = scn_now(r);
    if (tg && r->env->tg != NULL) {
        int rc = fake_tg_fault_clear(r->env->tg, 0, e);
        if (rc != 0 && rc != ERR_NOTFOUND)
            return rc;
    }
    if (hooks && r->env->sink != NULL)
        sink_behaviour_clear(r->env->sink, NULL);
    for (size_t i = 0; i < r->nfaults; i++) {
        struct step_fault *f = &r->faults[i];
        if (f->active && (f->telegram ? tg : hooks)) {
            f->active = false;
            r->cc->events[f->event].until_ms = f->until_ms < now ? f->until_ms : now;
        }
    }
    return 0;
}

/* ---- expectations ------------------------------------------------------------------------- */

/* Keep what the final poll wrote (it lives in the poll's arena): the
 * step's words and near misses, and the failure events expect.c added —
 * their text, and the array only when the poll had to copy it (ev0 is
 * the array before the poll). */
static void keep_poll(struct step_run *r, size_t n0, const struct check_event *ev0)
{
    struct check_report *rep = r->rep;
    struct check_step *s = cur(r);
    s->expected = check_report_str(rep, s->expected);
    s->seen = check_report_str(rep, s->seen);
    if (s->nnear > 0) {
        struct check_near *near = arena_alloc(rep->a, s->nnear * sizeof *near);
        for (size_t i = 0; i < s->nnear; i++) {
            near[i].what = check_report_str(rep, s->near[i].what);
            near[i].diff = check_report_str(rep, s->near[i].diff);
        }
        s->near = near;
        s->cap_near = 0;
    }
    struct check_case *cc = r->cc;
    if (cc->nevents == n0)
        return;                          /* the poll added no event */
    struct check_event *ev = cc->events;
    if (ev != ev0) {
        ev = arena_alloc(rep->a, cc->nevents * sizeof *ev);
        if (ev == NULL)
            return;
        memcpy(ev, cc->events, cc->nevents * sizeof *ev);
        cc->events = ev;
        cc->cap_events = cc->nevents;
    }
    for (size_t i = n0; i < cc->nevents; i++) {
        ev[i].label = check_report_str(rep, ev[i].label);
        ev[i].detail = check_report_str(rep, ev[i].detail);
    }
}

/* Evaluate; while it fails and `eventually` allows, move the clock by
 * `every` and evaluate again. Each poll writes into an arena of its own:
 * only the last one's account is kept, so a long `eventually` costs no
 * memory per poll. */
static int expectation(struct step_run *r, const struct step *st, json_t **src, bool *held,
                       struct err *e)
{
    int rc = step_idle(r, e);
    if (rc != 0)
        return rc;
    int64_t start = scn_now(r);
    int64_t every = st->every_ms > 0 ? st->every_ms : 1000;
    struct arena *keep = r->env->ra;
    struct check_case *cc = r->cc;
    for (;;) {
        struct check_step *s = cur(r);
        s->polls++;
        s->expected = s->seen = NULL;
        s->near = NULL;
        s->nnear = 0;
        json_decref(*src);
        *src = NULL;
        if (check_case_reserve_events(r->rep, cc, EVENTS_PER_POLL) != 0)
            return err_set(e, ERR_NOMEM, "out of memory");
        struct check_event *ev0 = cc->events;
        size_t n0 = cc->nevents, cap0 = cc->cap_events;
        struct arena *poll = arena_new(0);
        r->env->ra = poll;
        arena_reset(r->env->scratch);
        rc = expect_step(r->env, st, held, s, src, e);
        r->env->ra = keep;
        bool last = rc != 0 || *held || st->within_ms <= 0 ||
                    scn_now(r) - start >= st->within_ms;
        if (last) {
            keep_poll(r, n0, ev0);
        } else {                        /* forget this poll's account */
            cc->events = ev0;
            cc->nevents = n0;
            cc->cap_events = cap0;
        }
        arena_free(&poll);
        if (last)
            return rc;
        if (live(r)) {
            struct timespec ts = { every / 1000, (every % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        } else if ((rc = advance(r, every, e)) != 0) {
            return rc;
        }
        collect(r);
    }
}

/* Set each capture's variable from src. */
static int captures(struct step_run *r, const struct step *st, json_t *src, struct err *e)
{
    const struct yml_node *cap = st->capture;
    for (size_t i = 0; cap != NULL && i < cap->n; i++) {
        const char *var = cap->keys[i]->str, *path = cap->items[i]->str;
        json_t *v = NULL;
        int rc = src == NULL ? err_set(e, ERR_NOTFOUND, "the step gave nothing to capture")
                             : jpath_get(src, path, &v, e);
        if (rc != 0)
            return err_set(e, rc, "capture '%s' (%s): %s", var, path, e->msg);
        if ((rc = env_var_set(r->env, var, json_deep_copy(v), e)) != 0)
            return rc;
    }
    return 0;
}

/* ---- expect_no_webhook: windows judged as the clock moves on ------------------------------ */

/* Open the window of st (docs/scenarios.md): it watches from now; the clock
 * does not move here, later steps move it. */
static int watch_open(struct step_run *r, const struct step *st, struct err *e)
{
    int rc = step_idle(r, e);
    if (rc != 0)
        return rc;
    size_t k = 0;                         /* drop the windows already judged */
    for (size_t i = 0; i < r->nwatches; i++) {
        if (r->watches[i].done)
            expect_window_release(&r->watches[i].w);
        else
            r->watches[k++] = r->watches[i];
    }
    r->nwatches = k;
    if (k == STEP_MAX_WATCHES)
        return err_set(e, ERR_INVAL, "more than %d expect_no_webhook windows open at once",
                       STEP_MAX_WATCHES);
    struct step_watch *w = &r->watches[r->nwatches];
    memset(w, 0, sizeof *w);
    w->st = st;
    w->index = (size_t)r->cur;
    rc = expect_window_open(r->env, st, cur(r), &w->w, e);
    if (rc == 0)
        r->nwatches++;
    return rc;
}

/*
 * Judge every open window on what has arrived so far: a matching event
 * inside one fails its step (the case fails with it); a window whose end
 * the clock has passed is done; at the scenario's end (final) every window
 * is done, and one the scenario did not cover says how much it covered.
 */
static int watch_judge(struct step_run *r, bool final)
{
    int status = CHECK_PASSED;
    for (size_t i = 0; i < r->nwatches; i++) {
        struct step_watch *w = &r->watches[i];
        if (w->done)
            continue;
        struct err e = {0};
        struct check_step *s = &r->cc->steps[w->index];
        bool held;
        int rc = expect_window_judge(r->env, w->st, s, &w->w, &held, &e);
        int64_t now = clock_now_ms(r->env->clock);
        if (rc != 0 || !held) {
            int was = r->cur;
            r->cur = (int)w->index;
            status = rc != 0 ? errored(r, &e) : CHECK_FAILED;
            s->status = (enum check_status)status;
            s->expected = check_report_str(r->rep, s->expected);
            s->seen = check_report_str(r->rep, s->seen);
            s->clock_end_ms = scn_now(r);
            r->cur = was;
            w->done = true;
            continue;
        }
        if (now >= w->w.until_ms) {
            w->done = true;
        } else if (final) {
            char a[32], b[32];
            if (w->w.until_ms != INT64_MAX)
                s->expected = say(r, "%s (the scenario ended %s into the window of %s)",
                                  s->expected, expect_fmt_dur(now - w->w.from_ms, a, sizeof a),
                                  expect_fmt_dur(w->w.until_ms - w->w.from_ms, b, sizeof b));
            w->done = true;
        }
        s->clock_end_ms = scn_now(r);
    }
    return status;
}

static void watch_release(struct step_run *r)
{
    for (size_t i = 0; i < r->nwatches; i++)
        expect_window_release(&r->watches[i].w);
    r->nwatches = 0;
}

/* ---- one step ------------------------------------------------------------------------------ */

static int run_steps(struct step_run *r, const struct step *steps, size_t n);

/* The live target cannot move time or inject faults on the CRM's side. */
static const char *live_refusal(const struct step *st)
{
    switch (st->kind) {
    case STEP_ADVANCE:
        return "advance needs the sandbox's test clock";
    case STEP_FAULT:
    case STEP_CLEAR_FAULT:
        return "faults are injected in the sandbox only";
    case STEP_WAIT:
        return st->args->kind == YML_SCALAR && strcmp(st->args->str, "idle") == 0
                   ? "wait: idle reads the sandbox's state"
                   : NULL;
    default:
        return NULL;
    }
}

/* Run one leaf step; returns its status (CHECK_*) or a negative ERR_*. */
static int leaf(struct step_run *r, const struct step *st)
{
    begin(r, st);
    struct err e = {0};
    json_t *src = NULL;
    bool held = true;
    int rc = 0;
    const char *why = live(r) ? live_refusal(st) : NULL;
    if (why != NULL) {
        int status = skipped(r, why);
        cur(r)->clock_end_ms = scn_now(r);
        cur(r)->real_ms = mono_ms() - cur(r)->real_ms;
        return status;
    }
    int64_t ms;
    switch (st->kind) {
    case STEP_SEND: rc = act_send(r, st, &src, &e); break;
    case STEP_PRESS: rc = act_press(r, st, &src, &e); break;
    case STEP_EDIT: rc = act_edit(r, st, &src, &e); break;
    case STEP_REPLY:
    case STEP_COMMAND: rc = act_reply(r, st, &src, &e); break;
    case STEP_API: rc = act_api(r, st, &src, &held, &e); break;
    case STEP_AVAILABILITY: rc = act_availability(r, st, &e); break;
    case STEP_FAULT: rc = act_fault(r, st, &e); break;
    case STEP_CLEAR_FAULT: rc = clear_faults(r, st->args->str, &e); break;
    case STEP_ADVANCE:
        clock_parse_duration(st->args->str, &ms);
        rc = step_idle(r, &e);
        if (rc == 0)
            rc = advance(r, ms, &e);
        break;
    case STEP_WAIT:
        if (strcmp(st->args->str, "idle") != 0 && live(r)) {
            clock_parse_duration(st->args->str, &ms);
            struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        } else {
            rc = step_idle(r, &e);
        }
        break;
    case STEP_EXPECT_NO_WEBHOOK: rc = watch_open(r, st, &e); break;
    default:
        if (scenario_step_is_expectation(st->kind))
            rc = expectation(r, st, &src, &held, &e);
        else
            rc = err_set(&e, ERR_INTERNAL, "'%s' is not a leaf step", scenario_step_name(st->kind));
        break;
    }
    /* actions settle before the next step looks: nothing is "now" until idle */
    if (rc == 0 && !scenario_step_is_expectation(st->kind) && st->kind != STEP_ADVANCE &&
        st->kind != STEP_WAIT)
        rc = step_idle(r, &e);
    if (rc == 0 && held)
        rc = captures(r, st, src, &e);
    json_decref(src);
    collect(r);
    struct check_step *s = cur(r);
    s->clock_end_ms = scn_now(r);
    s->real_ms = mono_ms() - s->real_ms;
    if (rc == ERR_NOMEM)
        return rc;
    if (rc != 0)
        return errored(r, &e);
    if (!held) {
        s->status = CHECK_FAILED;
        return CHECK_FAILED;
    }
    return s->status;
}

/* Run a block's steps once with `as` set to v (stolen; NULL = no variable). */
static int iteration(struct step_run *r, const struct step *st, const char *as, json_t *v,
                     const char *label)
{
    struct err e = {0};
    if (as != NULL && env_var_set(r->env, as, v, &e) != 0)
        return ERR_NOMEM;
    const char *outer = r->prefix;
    r->prefix = outer != NULL ? say(r, "%s %s", outer, label) : label;
    int rc = run_steps(r, st->steps, st->nsteps);
    r->prefix = outer;
    return rc;
}

static int block(struct step_run *r, const struct step *st)
{
    const struct yml_node *as = st->kind == STEP_UNORDERED ? NULL : yml_get(st->args, "as");
    const char *name = as != NULL ? as->str : NULL;
    int rc = CHECK_PASSED;
    if (st->kind == STEP_REPEAT) {
        for (int64_t i = 1; i <= st->times && rc == CHECK_PASSED; i++)
            rc = iteration(r, st, name, name ? json_integer(i) : NULL,
                           say(r, "[%" PRId64 "/%" PRId64 "]", i, st->times));
        return rc;
    }
    if (st->kind == STEP_FOR_EACH) {
        json_t *rows = NULL;
        struct err e = {0};
        if (env_json(r->env, yml_get(st->args, "rows"), &rows, &e) != 0) {
            begin(r, st);               /* the block itself is the step that failed */
            return errored(r, &e);
        }
        size_t n = json_array_size(rows);
        for (size_t i = 0; i < n && rc == CHECK_PASSED; i++)
            rc = iteration(r, st, name, json_incref(json_array_get(rows, i)),
                           say(r, "[row %zu/%zu]", i + 1, n));
        json_decref(rows);
        return rc;
    }
    /* unordered: the case's stream picks the order */
    size_t *idx = arena_alloc(r->rep->a, (st->nsteps + 1) * sizeof *idx);
    for (size_t i = 0; i < st->nsteps; i++)
        idx[i] = i;
    run_shuffle(&r->rng, idx, st->nsteps);
    for (size_t k = 0; k < st->nsteps && rc == CHECK_PASSED; k++) {
        const char *outer = r->prefix;
        const char *label = say(r, "[unordered %zu→%zu]", idx[k] + 1, k + 1);
        r->prefix = outer != NULL ? say(r, "%s %s", outer, label) : label;
        rc = run_steps(r, &st->steps[idx[k]], 1);
        r->prefix = outer;
    }
    return rc;
}

static int run_steps(struct step_run *r, const struct step *steps, size_t n)
{
    int rc = CHECK_PASSED;
    for (size_t i = 0; i < n && rc == CHECK_PASSED; i++) {
        const struct step *st = &steps[i];
        bool is_block = st->kind == STEP_REPEAT || st->kind == STEP_FOR_EACH ||
                        st->kind == STEP_UNORDERED;
        rc = is_block ? block(r, st) : leaf(r, st);
        if (rc == CHECK_PASSED && !is_block && r->nwatches > 0)
            rc = watch_judge(r, false);
    }
    return rc;
}

/* ---- the end: SLA marks and observations ------------------------------------------------ */

static void sla_marks(struct step_run *r, json_t *t)
{
    static const char *const metrics[] = { "first_response", "next_response", "resolution" };
    int64_t id = json_integer_value(json_object_get(t, "id"));
    json_t *sla = json_object_get(t, "sla");
    for (size_t m = 0; m < 3; m++) {
        json_t *k = json_object_get(sla, metrics[m]);
        const char *due = json_string_value(json_object_get(k, "due_at"));
        const char *breached = json_string_value(json_object_get(k, "breached_at"));
        int64_t at;
        if (due != NULL && clock_parse_iso(due, &at) == 0)
            event(r, at - r->env->t0_ms, LANE_SLA, LANE_SLA,
                  say(r, "#%" PRId64 " %s due", id, metrics[m]), due);
        if (breached != NULL && clock_parse_iso(breached, &at) == 0)
            event(r, at - r->env->t0_ms, LANE_SLA, LANE_SLA,
                  say(r, "#%" PRId64 " %s breached", id, metrics[m]), breached);
    }
}

static void observe_tickets(struct step_run *r)
{
    struct err e = {0};
    int64_t after = 0;
    for (;;) {
        char path[96];
        snprintf(path, sizeof path, "/v1/tickets?limit=500&after=%" PRId64, after);
        long status;
        json_t *page = NULL;
        if (env_api(r->env, "GET", path, NULL, &status, &page, &e) != 0 || status != 200) {
            json_decref(page);
            return;
        }
        json_t *list = json_object_get(page, "tickets");
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *t = json_array_get(list, i);
            char *text = jx_dumps(t);
            char key[32];
            snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(t, "id")));
            check_case_add_obs(r->rep, r->cc, "ticket", key, text, scn_now(r));
            free(text);
            sla_marks(r, t);
        }
        json_t *next = json_object_get(page, "next_after");
        after = json_is_integer(next) ? json_integer_value(next) : 0;
        json_decref(page);
        if (after == 0)
            return;
    }
}

static void observe_traffic(struct step_run *r)
{
    struct fake_tg_sent_filter f = { .since = r->env->tg_since, .bot_id = r->env->bot_id };
    json_t *o = fake_tg_sent(r->env->tg, &f);
    json_t *list = json_object_get(o, "sent");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *s = json_array_get(list, i);
        char key[96];
        snprintf(key, sizeof key, "%s %" JSON_INTEGER_FORMAT,
                 json_string_value(json_object_get(s, "method")),
                 json_integer_value(json_object_get(s, "chat_id")));
        char *text = jx_dumps(s);
        int64_t date = json_integer_value(json_object_get(s, "date"));
        check_case_add_obs(r->rep, r->cc, "telegram", key, text, date * 1000 - r->env->t0_ms);
        free(text);
    }
    json_decref(o);
    struct sink_query q = { .since = r->env->sink_since };
    struct sink_found fd;
    struct err e = {0};
    if (sink_find(r->env->sink, &q, 0, 0, &fd, &e) != 0)
        return;
    for (size_t i = 0; i < fd.n; i++) {
        const struct sink_record *rec = fd.recs[i];
        char key[160];
        snprintf(key, sizeof key, "%s %s", rec->endpoint, rec->type ? rec->type : "?");
        check_case_add_obs(r->rep, r->cc, "webhook", key, rec->json ? rec->body : "null",
                           rec->at_ms - r->env->t0_ms);
    }
    sink_found_release(&fd);
}

int step_run_scenario(struct step_run *r, const struct scenario *sc)
{
    r->cur = -1;
    r->tg_seq = r->env->tg_since;
    r->sink_seq = r->env->sink_since;
    int rc = run_steps(r, sc->steps, sc->nsteps);
    struct err e = {0};
    if (rc == CHECK_PASSED && r->nwatches > 0 && step_idle(r, &e) == 0)
        rc = watch_judge(r, true);
    watch_release(r);
    if (rc < 0)
        return rc;
    /* faults still open end with the scenario */
    int64_t end = scn_now(r);
    for (size_t i = 0; i < r->nfaults; i++)
        if (r->faults[i].active)
            r->cc->events[r->faults[i].event].until_ms =
                r->faults[i].until_ms < end ? r->faults[i].until_ms : end;
    r->cur = -1;
    if (r->env->tg != NULL && r->env->sink != NULL) {
        observe_tickets(r);
        observe_traffic(r);
    }
    r->cc->status = (enum check_status)rc;
    r->cc->clock_ms = end;
    return 0;
}
