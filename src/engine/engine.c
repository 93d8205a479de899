/*
 * engine.c — the single writer (see engine.h).
 *
 * Threading: submitters put a job on a FIFO under `mu` and wait on `done`;
 * the engine thread takes every queued job (up to ENGINE_BATCH_MAX), applies
 * them in one transaction and broadcasts `done`. Group commit is what lets
 * a durable (synchronous=FULL) SQLite keep up with bursts: one fsync per
 * batch, not per event.
 *
 * Applying an event: load what it needs through the store into a per-event
 * arena, ask desk/ for the decision (workflow), write the ticket, its
 * thread entries, the domain events (the webhook source) and the Telegram
 * outbox rows. Any failure rolls back the event's savepoint and nothing of
 * it remains.
 */
#include "engine/engine.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"
#include "desk/command.h"
#include "desk/intake.h"
#include "desk/template.h"
#include "desk/view.h"
#include "desk/workflow.h"
#include "engine/outbox.h"
#include "engine/record.h"
#include "engine/rules.h"
#include "engine/suggest.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENGINE_BATCH_MAX 512
#define ENGINE_EVENT_ARENA (8u * 1024u * 1024u)
#define ENGINE_SUBJECT_MAX 120
#define ENGINE_TEXT_MAX (1024u * 1024u)

struct job {
    const struct engine_event *ev;   /* NULL for a stream */
    struct engine_result *res;
    struct engine_stream *stream;    /* the batch handed over while it runs */
    bool done;
    struct job *next;
};

/* A batch fed while it runs (engine_stream_begin): evs[0..count) are
 * handed over, the engine thread applies each as it comes. count, closed
 * and abandoned are under en->mu. */
struct engine_stream {
    struct engine *en;
    struct engine_event *evs;        /* the caller's, cap of them */
    struct engine_result *res;       /* the caller's, cap of them */
    size_t cap, count;
    bool closed, abandoned;
    pthread_cond_t more;             /* count grew, or closed */
    struct job job;                  /* its place in the queue */
};

struct engine {
    struct rules *rules;        /* owned reference: the cfg and its compiled rules;
                                   swapped under mu */
    struct store *w;            /* owned writer connection */
    struct clock *clock;        /* borrowed */

    pthread_mutex_t mu;
    pthread_cond_t wake;        /* jobs queued, kick, or stop */
    pthread_cond_t done;        /* a batch finished */
    struct job *head, *tail;
    bool running, stopping, kicked;
    pthread_t thread;

    int64_t last_update_id;     /* highest Telegram update applied */
    int64_t next_timer;         /* earliest timer's due time, 0 = none (under mu) */
    struct engine_stats stats;
};

/* ---- small helpers -------------------------------------------------------- */

/* The compiled rules of the current configuration: a new reference. */
static struct rules *rules_get(struct engine *en)
{
    pthread_mutex_lock(&en->mu);
    struct rules *r = rules_ref(en->rules);
    pthread_mutex_unlock(&en->mu);
    return r;
}

/* Whether the ticket's thread has an event of this type (a rare, small scan). */
static bool thread_has_event(struct apply *ap, int64_t ticket_id, const char *event)
{
    struct thread_entry *th = NULL;
    size_t n = 0;
    struct err e = {0};
    if (store_thread_list(ap->w, ticket_id, ap->a, &th, &n, &e) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (th[i].event != NULL && strcmp(th[i].event, event) == 0)
            return true;
    return false;
}

/* message.created for the thread entry `seq`. */
static int message_event(struct apply *ap, const struct ticket *t,
                         const struct customer *c, int32_t seq)
{
    char m[40];
    int n = snprintf(m, sizeof m, "\"message_seq\":%" PRId32, seq);
    return record_event_members(ap, "message.created", t, c, m, (size_t)n);
}

/* ---- ENGINE_CUSTOMER_MESSAGE ------------------------------------------------ */

static int upsert_customer(struct apply *ap, const struct engine_event *ev,
                           struct customer **out)
{
    struct customer *c = NULL;
    int rc = store_customer_get_by_tg(ap->w, ev->customer.tg_user_id, ap->a, &c, ap->e);
    if (rc == ERR_NOTFOUND) {
        err_clear(ap->e);
        c = arena_alloc(ap->a, sizeof *c);
        if (c == NULL)
            return record_too_big(ap);
        c->tg_user_id = ev->customer.tg_user_id;
        c->first_name = ev->customer.first_name ? ev->customer.first_name : "";
        c->last_name = ev->customer.last_name;
        c->username = ev->customer.username;
        c->language = ev->customer.language;
        c->tier = ev->customer.tier ? ev->customer.tier : "standard";
        c->created_at = ap->now;
        rc = store_customer_insert(ap->w, c, ap->e);
        *out = c;
        return rc;
    }
    if (rc != 0)
        return rc;
    /* Telegram sends the current profile with every message: keep it fresh. */
    bool dirty = false;
#define REFRESH(field, val)                                                        \
    if ((val) != NULL && (c->field == NULL || strcmp(c->field, (val)) != 0)) {     \
        c->field = (val);                                                          \
        dirty = true;                                                              \
    }
    REFRESH(first_name, ev->customer.first_name)
    REFRESH(last_name, ev->customer.last_name)
    REFRESH(username, ev->customer.username)
    REFRESH(language, ev->customer.language)
    REFRESH(tier, ev->customer.tier)
#undef REFRESH
    if (dirty)
        rc = store_customer_update(ap->w, c, ap->e);
    *out = c;
    return rc;
}

/* A new ticket for c with custom fields (an intake form's answers; borrowed
 * for the event): routed by its first message and its fields, then
 * inserted. */
static int open_ticket(struct apply *ap, struct customer *c, const char *text,
                       const struct kv *fields, size_t nfields, struct rules_ticket *rt)
{
    struct ticket *t = arena_alloc(ap->a, sizeof *t);
    char *subject = arena_alloc(ap->a, ENGINE_SUBJECT_MAX + 4);
    rules_begin(rt, t, c, true);
    if (t == NULL || subject == NULL)
        return record_too_big(ap);
    enum ticket_priority prio = PRIORITY_NORMAL;
    if (ap->cfg->default_priority != NULL)
        ticket_priority_parse(ap->cfg->default_priority, &prio, NULL);
    t->customer_id = c->id;
    t->status = TICKET_OPEN;
    t->priority = prio;
    t->group = ap->cfg->general_group ? ap->cfg->general_group : "general";
    t->subject = ticket_subject_from_text(text, subject, ENGINE_SUBJECT_MAX);
    t->fields = (struct kv *)fields;
    t->nfields = nfields;
    t->created_at = ap->now;
    t->updated_at = ap->now;
    int rc = rules_route_new(ap, rt, text);
    if (rc == 0)
        rc = store_ticket_insert(ap->w, t, ap->e);
    if (rc != 0)
        return rc;
    ap->res->created = true;
    return 0;
}

/*
 * The staff side of a customer message: a new ticket gets its topic, a
 * reopened closed one gets its topic reopened, and the message itself is
 * copied into the topic (or, when it did not come from Telegram, sent there
 * as text). Nothing when no Telegram bridge is configured.
 */
static int mirror_customer_message(struct apply *ap, const struct ticket *t,
                                   const struct customer *c, const struct engine_event *ev,
                                   bool new_ticket, bool reopen_topic)
{
    int64_t staff = record_staff_chat(ap->cfg);
    if (staff == 0)
        return 0;
    int rc = 0;
    if (new_ticket) {
        char name[TICKET_TOPIC_NAME_MAX];
        ticket_topic_name(c->first_name, c->last_name, t->id, name);
        rc = outbox_create_topic(ap->w, staff, t->id, name, ap->now, ap->e);
    } else if (reopen_topic) {
        rc = outbox_topic_call(ap->w, "reopenForumTopic", staff, t->id, ap->now, ap->e);
    }
    if (rc != 0)
        return rc;
    if (ev->tg_chat_id != 0 && ev->tg_message_id != 0)
        return outbox_copy_to_topic(ap->w, staff, ev->tg_chat_id, ev->tg_message_id,
                                    t->id, ap->now, ap->e);
    char *text = arena_printf(ap->a, "%s: %s", c->first_name && *c->first_name
                                                   ? c->first_name : "Customer", ev->text);
    if (text == NULL)
        return record_too_big(ap);
    return outbox_send_text(ap->w, staff, true, t->id, text, ap->now, ap->e);
}

/*
 * After the customer's message (or, for a completed intake form, its
 * entries) is in the thread of rt's ticket: the SLA and waiting clocks,
 * knowledge-base suggestions, the ticket stored, its events (ticket.created
 * and .assigned for a new one, ticket.updated with `changes` when given,
 * message.created for each of seqs), escalation on `text` and the rest of
 * rules_settle. res->thread_seq becomes the last of seqs.
 */
static int customer_wrote(struct apply *ap, struct rules_ticket *rt, bool created,
                          json_t *changes, const int32_t *seqs, size_t nseqs, const char *text)
{
    struct ticket *t = rt->t;
    struct customer *c = rt->c;
    rules_on_customer_message(ap, rt);
    int rc = suggest_refresh(ap, t);
    if (rc != 0)
        return rc;
    t->last_customer_msg_at = ap->now;
    t->updated_at = ap->now;
    if ((rc = store_ticket_update(ap->w, t, ap->e)) != 0)
        return rc;
    if (created) {
        rc = record_event(ap, "ticket.created", t, c, NULL);
        if (rc == 0 && t->assignee != NULL)
            rc = record_actor_event(ap, "ticket.assigned", t, c, "system", NULL);
    }
    if (rc == 0 && changes != NULL)
        rc = record_actor_event(ap, "ticket.updated", t, c, "customer", changes);
    for (size_t i = 0; rc == 0 && i < nseqs; i++)
        rc = message_event(ap, t, c, seqs[i]);
    if (rc == 0)
        rc = rules_settle(ap, rt, &(struct rules_after){.message = text});
    if (nseqs > 0)
        ap->res->thread_seq = seqs[nseqs - 1];
    return rc;
}

static int intake_message(struct apply *ap, const struct engine_event *ev, struct customer *c,
                          bool form_may_start, bool *handled);

static int apply_customer_message(struct apply *ap, const struct engine_event *ev)
{
    if (ev->customer.tg_user_id <= 0)
        return err_field(ap->e, ERR_INVAL, "customer.telegram_user_id",
                         "customer.telegram_user_id must be a positive integer");
    bool press = ev->callback_data != NULL;
    if (!press && record_blank(ev->text))
        return err_field(ap->e, ERR_INVAL, "text", "text must not be empty");
    if (!press && strlen(ev->text) > ENGINE_TEXT_MAX)
        return err_field(ap->e, ERR_TOOBIG, "text", "text is longer than %u bytes",
                         ENGINE_TEXT_MAX);

    struct customer *c = NULL;
    int rc = upsert_customer(ap, ev, &c);
    if (rc != 0)
        return rc;
    if (c == NULL)
        return err_set(ap->e, ERR_INTERNAL, "customer lookup returned nothing");

    enum workflow_reopen policy = WORKFLOW_REOPEN;
    if (ap->cfg->on_closed != NULL)
        workflow_reopen_parse(ap->cfg->on_closed, &policy);

    struct ticket *t = NULL;
    rc = store_ticket_latest_for_customer(ap->w, c->id, ap->a, &t, ap->e);
    enum workflow_inbound what = WORKFLOW_OPEN_NEW;
    if (rc == 0)
        what = workflow_on_customer_message(t->status, policy);
    else if (rc == ERR_NOTFOUND)
        err_clear(ap->e);
    else
        return rc;

    /* The intake form: one in progress takes the message (or button press);
     * a message that would open a ticket starts one instead. */
    bool handled = false;
    rc = intake_message(ap, ev, c, what == WORKFLOW_OPEN_NEW, &handled);
    if (rc != 0 || handled)
        return rc;
    if (press) {                /* a button of no form: answer it, nothing else */
        ap->res->ignored = true;
        return outbox_answer_callback(ap->w, ev->tg_chat_id, ev->callback_id, NULL, ap->now,
                                      ap->e);
    }

    /* /start greets; it is not a request for help, so no ticket opens. */
    if (strncmp(ev->text, "/start", 6) == 0 && (ev->text[6] == '\0' || ev->text[6] == ' ')) {
        const struct cfg_template *g = cfg_template_find(ap->cfg, "greeting");
        const char *hello = g && strstr(g->text, "{{") == NULL
                                ? g->text
                                : "Hello! Write your question here and our support team will answer.";
        return outbox_send_text(ap->w, c->tg_user_id, false, 0, hello, ap->now, ap->e);
    }

    enum ticket_status before = t ? t->status : TICKET_OPEN;
    struct rules_ticket rt;
    if (what == WORKFLOW_OPEN_NEW) {
        rc = open_ticket(ap, c, ev->text, NULL, 0, &rt);
        if (rc != 0)
            return rc;
        t = rt.t;
    } else {
        rules_begin(&rt, t, c, false);
    }
    ap->res->ticket_id = t->id;
    rc = mirror_customer_message(ap, t, c, ev, what == WORKFLOW_OPEN_NEW,
                                 what == WORKFLOW_APPEND_REOPEN && before == TICKET_CLOSED);
    if (rc != 0)
        return rc;

    struct thread_entry msg = {
        .kind = THREAD_MESSAGE,
        .dir = DIR_INBOUND,
        .author_type = AUTHOR_CUSTOMER,
        .author_id = arena_printf(ap->a, "%" PRId64, c->tg_user_id),
        .author_name = c->first_name,
        .text = ev->text,
        .tg_chat_id = ev->tg_chat_id,
        .tg_message_id = ev->tg_message_id,
    };
    rc = record_thread_add(ap, t, &msg);
    if (rc == 0 && what == WORKFLOW_OPEN_NEW)
        rc = rules_route_record(ap, &rt);
    if (rc != 0)
        return rc;
    int32_t msg_seq = msg.seq;

    json_t *changes = NULL;
    if (what == WORKFLOW_APPEND_REOPEN) {
        rc = workflow_check(t->status, TICKET_OPEN, WORKFLOW_BY_CUSTOMER, ap->e);
        if (rc != 0)
            return rc;
        changes = json_object();
        rc = record_status(ap, t, TICKET_OPEN, "system", "customer wrote again", changes);
        if (rc != 0)
            goto out_changes;
        rules_on_status(ap, &rt);
        t->reopen_count++;
        ap->res->reopened = true;
    }
    rc = customer_wrote(ap, &rt, what == WORKFLOW_OPEN_NEW, changes, &msg_seq, 1, ev->text);

out_changes:
    json_decref(changes);
    return rc;
}

/* ---- the intake form in the private chat ------------------------------------------ */

/* The bot's reply to a form step: the question (with its buttons), a
 * re-ask or the goodbye, and the answer to a button press. */
static int intake_say(struct apply *ap, const struct engine_event *ev,
                      const struct intake_reply *r)
{
    int rc = 0;
    if (r->text != NULL)
        rc = outbox_send_buttons(ap->w, ev->tg_chat_id, r->text, r->buttons, r->nbuttons,
                                 ap->now, ap->e);
    if (rc == 0 && ev->callback_id != NULL)
        rc = outbox_answer_callback(ap->w, ev->tg_chat_id, ev->callback_id, r->notice, ap->now,
                                    ap->e);
    return rc;
}

/*
 * The form is complete: open the ticket with the answers as custom fields
 * (routing sees them), the summary as the first entry of its thread, then
 * the message that started the form, then the bot's confirmation (sent to
 * the customer and kept in the thread). The topic gets the summary and a
 * copy of that first message.
 */
static int intake_complete(struct apply *ap, const struct engine_event *ev, struct customer *c,
                           const struct intake_state *s, const struct intake_reply *r)
{
    const struct intake_form *form = rules_intake(ap->rules);
    const char *first = s->opening != NULL ? s->opening : r->summary;
    struct rules_ticket rt;
    int rc = open_ticket(ap, c, first, r->fields, r->nfields, &rt);
    if (rc != 0)
        return rc;
    struct ticket *t = rt.t;
    ap->res->ticket_id = t->id;
    int64_t staff = record_staff_chat(ap->cfg);
    if (staff != 0) {
        char name[TICKET_TOPIC_NAME_MAX];
        ticket_topic_name(c->first_name, c->last_name, t->id, name);
        rc = outbox_create_topic(ap->w, staff, t->id, name, ap->now, ap->e);
        if (rc == 0)
            rc = outbox_send_text(ap->w, staff, true, t->id,
                                  arena_printf(ap->a, "\xF0\x9F\x93\x8B %s", r->summary), ap->now,
                                  ap->e);
        if (rc == 0 && s->opening_message_id != 0)
            rc = outbox_copy_to_topic(ap->w, staff, ev->tg_chat_id, s->opening_message_id,
                                      t->id, ap->now, ap->e);
        if (rc != 0)
            return rc;
    }
    const char *author = arena_printf(ap->a, "%" PRId64, c->tg_user_id);
    struct kv *origin = record_kvs(ap, 1);
    if (author == NULL || origin == NULL)
        return record_too_big(ap);
    origin[0] = (struct kv){"source", "intake"};
    int32_t seqs[3];
    size_t nseqs = 0;
    struct thread_entry summary = {
        .kind = THREAD_MESSAGE, .dir = DIR_INBOUND, .author_type = AUTHOR_CUSTOMER,
        .author_id = author, .author_name = c->first_name, .text = r->summary,
        .data = origin, .ndata = 1, .tg_chat_id = ev->tg_chat_id,
    };
    if ((rc = record_thread_add(ap, t, &summary)) != 0)
        return rc;
    seqs[nseqs++] = summary.seq;
    if (s->opening != NULL) {
        struct thread_entry opening = {
            .kind = THREAD_MESSAGE, .dir = DIR_INBOUND, .author_type = AUTHOR_CUSTOMER,
            .author_id = author, .author_name = c->first_name, .text = s->opening,
            .tg_chat_id = ev->tg_chat_id, .tg_message_id = s->opening_message_id,
        };
        if ((rc = record_thread_add(ap, t, &opening)) != 0)
            return rc;
        seqs[nseqs++] = opening.seq;
    }
    if ((rc = rules_route_record(ap, &rt)) != 0)
        return rc;
    struct template_vars v;
    template_vars_from(&v, c, t, NULL);
    const char *confirm = NULL;
    if ((rc = intake_confirmation(form, &v, ap->a, &confirm, ap->e)) != 0)
        return rc;
    struct thread_entry bot = {
        .kind = THREAD_MESSAGE, .dir = DIR_OUTBOUND, .author_type = AUTHOR_BOT,
        .author_id = "bot", .text = confirm, .data = origin, .ndata = 1,
    };
    if ((rc = record_thread_add(ap, t, &bot)) != 0)
        return rc;
    seqs[nseqs++] = bot.seq;
    rc = outbox_send_text(ap->w, c->tg_user_id, false, t->id, confirm, ap->now, ap->e);
    if (rc == 0 && ev->callback_id != NULL)
        rc = outbox_answer_callback(ap->w, ev->tg_chat_id, ev->callback_id, r->notice, ap->now,
                                    ap->e);
    if (rc != 0)
        return rc;
    return customer_wrote(ap, &rt, true, NULL, seqs, nseqs, first);
}

/*
 * A private message or button press of customer c when the intake form is
 * on: continue the form in progress (kept in the store), or start one when
 * the message would open a ticket (form_may_start) and came through
 * Telegram. *handled is false when the form has nothing to do with it. The
 * form's state is written in the event's savepoint, so it commits with the
 * update's offset: a restart resumes at the same question.
 */
static int intake_message(struct apply *ap, const struct engine_event *ev, struct customer *c,
                          bool form_may_start, bool *handled)
{
    *handled = false;
    const struct intake_form *form = rules_intake(ap->rules);
    if (!intake_form_enabled(form) || ev->tg_chat_id == 0)
        return 0;
    const char *json = NULL;
    struct intake_state s;
    bool going = false;
    int rc = store_intake_get(ap->w, c->id, ap->a, &json, ap->e);
    if (rc == 0) {
        struct err pe = {0};
        going = intake_state_parse(form, json, strlen(json), ap->a, &s, &pe) == 0 &&
                s.status == INTAKE_ASKING && !intake_expired(form, &s, ap->now);
        if (!going)
            log_msg(LOG_INFO, "intake.restart", "customer %" PRId64 ": the form in progress %s;"
                    " starting over", c->tg_user_id, pe.code ? pe.msg : "was left too long");
    } else if (rc == ERR_NOTFOUND) {
        err_clear(ap->e);
    } else {
        return rc;
    }
    /* A button press starts nothing: it belongs to a form that is over. */
    if (!going && (!form_may_start || ev->callback_data != NULL))
        return 0;

    struct template_vars v;
    template_vars_from(&v, c, NULL, NULL);
    struct intake_reply r;
    *handled = true;
    if (!going) {
        rc = intake_start(form, &v, ap->now, ap->a, &s, &r, ap->e);
        if (rc != 0)
            return rc;
        /* The message that started the form follows the summary in the
         * thread; /start (or a stale button) is not a request. */
        bool is_start = ev->text != NULL && strncmp(ev->text, "/start", 6) == 0;
        if (ev->text != NULL && !is_start) {
            s.opening = ev->text;
            s.opening_message_id = ev->tg_message_id;
        }
    } else {
        struct intake_input in = {.text = ev->text, .data = ev->callback_data};
        rc = intake_step(form, &s, &in, &v, ap->now, ap->a, &r, ap->e);
        if (rc != 0)
            return rc;
    }
    switch (r.outcome) {
    case INTAKE_COMPLETE:
        rc = store_intake_delete(ap->w, c->id, ap->e);
        return rc != 0 ? rc : intake_complete(ap, ev, c, &s, &r);
    case INTAKE_CANCEL:
        rc = store_intake_delete(ap->w, c->id, ap->e);
        return rc != 0 ? rc : intake_say(ap, ev, &r);
    case INTAKE_IGNORE:
        ap->res->ignored = true;
        return intake_say(ap, ev, &r);
    case INTAKE_ASK:
    case INTAKE_REASK:
    default: {
        char *state = intake_state_json(form, &s);
        rc = store_intake_put(ap->w, c->id, state, ap->now, ap->e);
        mem_free(state);
        return rc != 0 ? rc : intake_say(ap, ev, &r);
    }
    }
}

/* ---- ENGINE_AGENT_REPLY / ENGINE_AGENT_NOTE --------------------------------- */

/* `field` is the input that named the agent ("agent", "assignee"). */
static int known_agent(struct apply *ap, const char *field, const char *id,
                       const struct cfg_agent **out)
{
    if (record_blank(id))
        return err_field(ap->e, ERR_INVAL, field, "%s must not be empty", field);
    *out = cfg_agent_find(ap->cfg, id);
    if (*out == NULL)
        return err_field(ap->e, ERR_UNPROCESSABLE, field, "unknown agent '%s'", id);
    return 0;
}

/* "greeting, refund_done" — the configured canned responses, for answers
 * that name an unknown one. */
static const char *template_names(struct apply *ap)
{
    const struct template_set *set = rules_templates(ap->rules);
    size_t n = template_set_count(set);
    if (n == 0)
        return "none are configured (section templates)";
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", template_set_name(set, i));
    char *names = arena_strdup(ap->a, buf_str(&b));
    buf_release(&b);
    return names ? names : "";
}

/*
 * The canned response `name` rendered for ticket t of customer c, sent by
 * agent: plain text (tgcrm sends without a parse mode) in the event arena.
 * ERR_UNPROCESSABLE (field "template") for an unknown name, and for a
 * variable without a value or default — then res->missing lists them, and
 * nothing is sent.
 */
static int render_canned(struct apply *ap, const char *name, const struct ticket *t,
                         const struct customer *c, const struct cfg_agent *agent,
                         const char **out)
{
    const struct template *tp = template_set_find(rules_templates(ap->rules), name);
    if (tp == NULL)
        return err_field(ap->e, ERR_UNPROCESSABLE, "template",
                         "unknown template '%s'; templates: %s", name, template_names(ap));
    struct template_vars v;
    template_vars_from(&v, c, t, agent);
    struct template_out o;
    int rc = template_render(tp, &v, TEMPLATE_PLAIN, ap->a, &o, ap->e);
    if (rc == ERR_UNPROCESSABLE) {
        snprintf(ap->e->field, sizeof ap->e->field, "template");
        size_t len = 0;
        for (size_t i = 0; i < o.nmissing; i++)
            len += (size_t)snprintf(ap->res->missing + len, sizeof ap->res->missing - len,
                                    "%s%s", i ? "," : "", o.missing[i]) ;
    }
    if (rc != 0)
        return rc;
    if (record_blank(o.text))
        return err_field(ap->e, ERR_UNPROCESSABLE, "template",
                         "template '%s' rendered to an empty message", name);
    *out = o.text;
    return 0;
}

static int apply_agent_message(struct apply *ap, const struct engine_event *ev)
{
    bool note = ev->type == ENGINE_AGENT_NOTE;
    const char *tname = note ? NULL : ev->template_name;
    const struct cfg_agent *agent = NULL;
    int rc = known_agent(ap, "agent", ev->agent_id, &agent);
    if (rc != 0)
        return rc;
    if (tname != NULL) {
        if (ev->text != NULL)
            return err_field(ap->e, ERR_INVAL, "template",
                             "give either text or template, not both");
        if (record_blank(tname))
            return err_field(ap->e, ERR_INVAL, "template", "template must not be empty");
    } else {
        const char *text = ev->text;
        if (record_blank(text))
            return err_field(ap->e, ERR_INVAL, "text", "text must not be empty");
        if (strlen(text) > ENGINE_TEXT_MAX)
            return err_field(ap->e, ERR_TOOBIG, "text", "text is longer than %u bytes",
                             ENGINE_TEXT_MAX);
    }
    struct ticket *t = NULL;
    struct customer *c = NULL;
    rc = record_load_ticket(ap, ev->ticket_id, &t, &c);
    if (rc != 0)
        return rc;
    if (!note && t->status == TICKET_CLOSED)
        return err_set(ap->e, ERR_CONFLICT,
                       "ticket %" PRId64 " is closed; the customer's next message opens "
                       "a new conversation", t->id);
    const char *text = ev->text;
    if (tname != NULL && (rc = render_canned(ap, tname, t, c, agent, &text)) != 0)
        return rc;
    ap->res->ticket_id = t->id;
    struct rules_ticket rt;
    rules_begin(&rt, t, c, false);

    struct thread_entry msg = {
        .kind = note ? THREAD_NOTE : THREAD_MESSAGE,
        .dir = note ? DIR_INTERNAL : DIR_OUTBOUND,
        .author_type = AUTHOR_AGENT,
        .author_id = agent->id,
        .author_name = agent->name ? agent->name : agent->id,
        .text = text,
        .tg_chat_id = ev->tg_chat_id,
        .tg_message_id = ev->tg_message_id,
    };
    if (tname != NULL) {        /* which canned response it was */
        msg.data = record_kvs(ap, 1);
        if (msg.data == NULL)
            return record_too_big(ap);
        msg.data[0] = (struct kv){"template", tname};
        msg.ndata = 1;
    }
    rc = record_thread_add(ap, t, &msg);
    if (rc != 0)
        return rc;
    int32_t msg_seq = msg.seq;
    t->updated_at = ap->now;

    json_t *changes = json_object();
    bool assigned = false;
    if (!note) {
        if (t->first_response_at == 0)
            t->first_response_at = ap->now;
        t->last_agent_msg_at = ap->now;
        if (t->assignee == NULL) {
            rc = record_assignee(ap, t, agent->id, agent->id, "first agent to reply", NULL, 0,
                                 changes);
            if (rc != 0)
                goto out;
            assigned = true;
        }
        enum ticket_status next = workflow_after_agent_reply(t->status);
        if (next != t->status) {
            rc = record_status(ap, t, next, agent->id, "agent replied", changes);
            if (rc != 0)
                goto out;
            rules_on_status(ap, &rt);
        }
        rules_on_agent_reply(ap, &rt);
        /* The reply leaves through the durable Telegram outbox. */
        rc = outbox_send_text(ap->w, c->tg_user_id, false, t->id, text, ap->now, ap->e);
        if (rc != 0)
            goto out;
    }
    /* Written elsewhere than in the topic (API, help desk), or a canned
     * response (the topic shows only "/r name"): show what was sent there
     * too, so the topic stays the complete conversation for the agents. */
    if ((ev->tg_chat_id == 0 || tname != NULL) && record_staff_chat(ap->cfg) != 0) {
        char *mirror = note ? arena_printf(ap->a, "\xF0\x9F\x93\x9D %s (internal note): %s",
                                           msg.author_name, text)
                       : tname != NULL ? arena_printf(ap->a, "\xE2\x86\xAA %s (template %s): %s",
                                                      msg.author_name, tname, text)
                                       : arena_printf(ap->a, "\xE2\x86\xAA %s: %s",
                                                      msg.author_name, text);
        rc = mirror ? record_topic_say(ap, t->id, mirror) : record_too_big(ap);
        if (rc != 0)
            goto out;
    }
    rc = store_ticket_update(ap->w, t, ap->e);
    if (rc != 0 || note)
        goto out;
    if (json_object_size(changes) > 0)
        rc = record_actor_event(ap, "ticket.updated", t, c, agent->id, changes);
    if (rc == 0 && assigned)
        rc = record_actor_event(ap, "ticket.assigned", t, c, agent->id, NULL);
    if (rc == 0)
        rc = message_event(ap, t, c, msg_seq);
    if (rc == 0)
        rc = rules_settle(ap, &rt, &(struct rules_after){0});
out:
    ap->res->thread_seq = msg_seq;
    json_decref(changes);
    return rc;
}

/* ---- ENGINE_TICKET_UPDATE ----------------------------------------------------- */

static int apply_ticket_update(struct apply *ap, const struct engine_event *ev)
{
    if (!ev->set_status && !ev->set_priority && !ev->set_group && !ev->set_assignee)
        return err_set(ap->e, ERR_INVAL,
                       "nothing to change: give status, priority, group or assignee");
    struct ticket *t = NULL;
    struct customer *c = NULL;
    int rc = record_load_ticket(ap, ev->ticket_id, &t, &c);
    if (rc != 0)
        return rc;
    const char *actor = ev->actor ? ev->actor : "api";

    /* Validate everything before changing anything. */
    if (ev->set_status && ev->status != t->status) {
        rc = workflow_check(t->status, ev->status, WORKFLOW_BY_AGENT, ap->e);
        if (rc != 0)
            return rc;
    }
    const char *group = t->group;
    if (ev->set_group) {
        if (record_blank(ev->group) || cfg_group_find(ap->cfg, ev->group) == NULL)
            return err_field(ap->e, ERR_UNPROCESSABLE, "group", "unknown group '%s'",
                             ev->group ? ev->group : "");
        group = ev->group;
    }
    const char *assignee = t->assignee;
    if (ev->set_assignee)
        assignee = ev->assignee;
    if (ev->set_assignee && assignee != NULL) {
        const struct cfg_agent *agent = NULL;
        rc = known_agent(ap, "assignee", assignee, &agent);
        if (rc != 0)
            return rc;
        if (!cfg_agent_in_group(agent, group))
            return err_field(ap->e, ERR_UNPROCESSABLE, "assignee",
                             "agent '%s' does not serve group '%s'", assignee, group);
    }
    ap->res->ticket_id = t->id;
    struct rules_ticket rt;
    rules_begin(&rt, t, c, false);
    struct rules_after after = {0};
    json_t *changes = json_object();
    bool assigned = false, resolved = false, policy = false;
    if (ev->set_group && strcmp(group, t->group) != 0) {
        const char *from = t->group;
        t->group = arena_strdup(ap->a, group);
        rc = record_changed(ap, t, "group_changed", "group", from, group,
                            arena_printf(ap->a, "moved from %s to %s", from, group), actor,
                            changes);
        if (rc != 0)
            goto out;
        policy = after.requeue = true;      /* the new group's agents may take it */
        /* An assignee who does not serve the new group lets the ticket go. */
        const struct cfg_agent *cur = t->assignee ? cfg_agent_find(ap->cfg, t->assignee) : NULL;
        if (!ev->set_assignee && t->assignee != NULL &&
            (cur == NULL || !cfg_agent_in_group(cur, group))) {
            after.freed = t->assignee;
            rc = record_assignee(ap, t, NULL, actor, "does not serve the new group", NULL, 0,
                                 changes);
            if (rc != 0)
                goto out;
        }
    }
    if (ev->set_assignee) {
        bool same = (assignee == NULL && t->assignee == NULL) ||
                    (assignee != NULL && t->assignee != NULL && strcmp(assignee, t->assignee) == 0);
        if (!same) {
            if (t->assignee != NULL)
                after.freed = t->assignee;
            after.requeue = after.requeue || assignee == NULL;
            rc = record_assignee(ap, t, assignee, actor, ev->reason, NULL, 0, changes);
            if (rc != 0)
                goto out;
            assigned = assignee != NULL;
        }
    }
    if (ev->set_priority && ev->priority != t->priority) {
        const char *from = ticket_priority_name(t->priority);
        const char *to = ticket_priority_name(ev->priority);
        t->priority = ev->priority;
        rc = record_changed(ap, t, "priority_changed", "priority", from, to,
                            arena_printf(ap->a, "priority %s → %s", from, to), actor, changes);
        if (rc != 0)
            goto out;
        policy = true;
    }
    if (ev->set_status && ev->status != t->status) {
        rc = record_status(ap, t, ev->status, actor, ev->reason, changes);
        if (rc != 0)
            goto out;
        rules_on_status(ap, &rt);
        resolved = ev->status == TICKET_RESOLVED;
        if (!ticket_status_is_active(t->status) && t->assignee != NULL)
            after.freed = t->assignee;      /* one active ticket fewer */
        if (ev->status == TICKET_CLOSED && record_staff_chat(ap->cfg) != 0) {
            rc = outbox_topic_call(ap->w, "closeForumTopic", record_staff_chat(ap->cfg), t->id,
                                   ap->now, ap->e);
            if (rc != 0)
                goto out;
        }
    }
    if (json_object_size(changes) == 0)
        goto out;   /* everything already as asked: nothing to record */
    if (policy)
        rules_on_policy(ap, &rt);

    t->updated_at = ap->now;
    rc = store_ticket_update(ap->w, t, ap->e);
    if (rc != 0)
        goto out;
    rc = record_actor_event(ap, "ticket.updated", t, c, actor, changes);
    if (rc == 0 && assigned)
        rc = record_actor_event(ap, "ticket.assigned", t, c, actor, NULL);
    if (rc == 0 && resolved)
        rc = record_actor_event(ap, "ticket.resolved", t, c, actor, NULL);
    if (rc == 0)
        rc = rules_settle(ap, &rt, &after);
out:
    json_decref(changes);
    return rc;
}

/* ---- ENGINE_AGENT_AVAILABILITY ---------------------------------------------- */

static int apply_agent_availability(struct apply *ap, const struct engine_event *ev)
{
    const struct cfg_agent *agent = NULL;
    int rc = known_agent(ap, "agent", ev->agent_id, &agent);
    if (rc != 0)
        return rc;
    if ((unsigned)ev->availability >= AGENT_AVAIL_COUNT)
        return err_field(ap->e, ERR_INVAL, "availability", "unknown availability");
    struct agent_state *all = NULL;
    size_t n = 0;
    rc = store_agent_state_list(ap->w, ap->a, &all, &n, ap->e);
    if (rc != 0)
        return rc;
    struct agent_state st = {.agent_id = agent->id};
    if (agent->availability != NULL)        /* never stored: as configured */
        agent_avail_parse(agent->availability, &st.availability, NULL);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].agent_id, agent->id) == 0)
            st = all[i];
    if (st.changed_at != 0 && st.availability == ev->availability)
        return 0;
    enum agent_avail from = st.availability;
    st.availability = ev->availability;
    st.changed_at = ap->now;
    rc = store_agent_state_put(ap->w, &st, ap->e);
    if (rc == 0)
        rc = rules_availability(ap, agent->id, from, ev->availability);
    return rc;
}

/* ---- ENGINE_TICKET_ESCALATE ------------------------------------------------------ */

static int apply_ticket_escalate(struct apply *ap, const struct engine_event *ev)
{
    if (ev->policy != NULL && !rules_is_policy(ap->rules, ev->policy))
        return err_field(ap->e, ERR_UNPROCESSABLE, "policy", "unknown escalation policy '%s'",
                         ev->policy);
    return rules_escalate(ap, ev->ticket_id, ev->policy, ev->reason,
                          ev->actor ? ev->actor : "api");
}

/* ---- ENGINE_STAFF_MESSAGE: agents in the staff group ------------------------------ */

/* Codes that mean "the command was refused by the rules": answered in the
 * topic, the update still counts as handled. */
static bool refusal(int rc)
{
    return rc == ERR_INVAL || rc == ERR_CONFLICT || rc == ERR_UNPROCESSABLE ||
           rc == ERR_NOTFOUND;
}

/* Run a sub-event for a topic command; a refusal becomes a topic answer. */
static int topic_run(struct apply *ap, int64_t ticket_id, int rc)
{
    if (!refusal(rc))
        return rc;
    char *text = arena_printf(ap->a, "\xE2\x9A\xA0 %s", ap->e->msg);
    err_clear(ap->e);
    return record_topic_say(ap, ticket_id, text ? text : "refused");
}

/* "/escalate [policy] [note]": the first word is a policy when one has
 * that name, else the whole argument is the agent's note. */
static int escalate_command(struct apply *ap, int64_t ticket_id, const char *actor,
                            const char *arg)
{
    const char *policy = NULL, *note = arg;
    size_t len = strcspn(arg, " \t\n");
    char *word = arena_strndup(ap->a, arg, len);
    if (word == NULL)
        return record_too_big(ap);
    if (len > 0 && rules_is_policy(ap->rules, word)) {
        policy = word;
        note = arg + len + strspn(arg + len, " \t\n");
    }
    return rules_escalate(ap, ticket_id, policy, note, actor);
}

static int apply_staff_message(struct apply *ap, const struct engine_event *ev)
{
    if (ev->topic_id == 0) {     /* an update that only moves the offset */
        ap->res->ignored = true;
        return 0;
    }
    struct ticket *t = NULL;
    int rc = store_ticket_get_by_topic(ap->w, ev->topic_id, ap->a, &t, ap->e);
    if (rc == ERR_NOTFOUND) {
        err_clear(ap->e);
        log_msg(LOG_INFO, "telegram.topic_unknown", "message in topic %" PRId64
                " that belongs to no ticket: ignored", ev->topic_id);
        ap->res->ignored = true;
        return 0;
    }
    if (rc != 0)
        return rc;
    const struct cfg_agent *agent = cfg_agent_find_tg(ap->cfg, ev->customer.tg_user_id);
    if (agent == NULL) {
        struct log_line l;
        log_begin(&l, LOG_WARN, "telegram.not_an_agent");
        log_int(&l, "tg_user_id", ev->customer.tg_user_id);
        log_int(&l, "ticket", t->id);
        log_str(&l, "msg", "message in a ticket topic from someone who is not an agent: ignored");
        log_end(&l);
        ap->res->ignored = true;
        return 0;
    }
    ap->res->ticket_id = t->id;
    char actor[96];
    snprintf(actor, sizeof actor, "agent:%s", agent->id);
    struct command cmd;
    command_parse(ev->text, &cmd);
    char *arg = arena_strndup(ap->a, cmd.arg, cmd.arg_len);
    if (arg == NULL)
        return record_too_big(ap);
    struct engine_event sub = {.ticket_id = t->id, .agent_id = agent->id, .actor = actor,
                               .tg_chat_id = ev->tg_chat_id, .tg_message_id = ev->tg_message_id};
    switch (cmd.kind) {
    case COMMAND_NONE:
        sub.type = ENGINE_AGENT_REPLY;
        sub.text = ev->text;
        return topic_run(ap, t->id, apply_agent_message(ap, &sub));
    case COMMAND_NOTE:
        sub.type = ENGINE_AGENT_NOTE;
        sub.text = arg;
        return topic_run(ap, t->id, apply_agent_message(ap, &sub));
    case COMMAND_STATUS:
    case COMMAND_HOLD:
    case COMMAND_RESOLVE:
        sub.type = ENGINE_TICKET_UPDATE;
        sub.set_status = true;
        sub.status = cmd.kind == COMMAND_HOLD      ? TICKET_ON_HOLD
                     : cmd.kind == COMMAND_RESOLVE ? TICKET_RESOLVED
                                                   : cmd.status;
        if (sub.status == t->status)
            return record_topic_say(ap, t->id, arena_printf(ap->a, "The ticket is already %s.",
                                                     ticket_status_name(t->status)));
        return topic_run(ap, t->id, apply_ticket_update(ap, &sub));
    case COMMAND_ASSIGN:
        sub.type = ENGINE_TICKET_UPDATE;
        sub.set_assignee = true;
        sub.assignee = arg;
        return topic_run(ap, t->id, apply_ticket_update(ap, &sub));
    case COMMAND_ESCALATE:
        return topic_run(ap, t->id, escalate_command(ap, t->id, actor, arg));
    case COMMAND_TEMPLATE:
        if (template_set_find(rules_templates(ap->rules), arg) == NULL)
            return record_topic_say(ap, t->id, arena_printf(ap->a, "Unknown template '%s'. "
                                    "Usage: /r <template>; templates: %s", arg,
                                    template_names(ap)));
        sub.type = ENGINE_AGENT_REPLY;
        sub.template_name = arg;
        return topic_run(ap, t->id, apply_agent_message(ap, &sub));
    case COMMAND_BAD_ARGS:
        if (strcmp(cmd.name, "r") == 0)
            return record_topic_say(ap, t->id, arena_printf(ap->a, "Usage: /r <template>; "
                                    "templates: %s", template_names(ap)));
        /* fall through */
    case COMMAND_UNKNOWN:
    default:
        return record_topic_say(ap, t->id, arena_printf(ap->a, "Unknown command or bad argument: /%s\n\n%s",
                                                 cmd.name, command_usage()));
    }
}

/* ---- ENGINE_CUSTOMER_EDIT ------------------------------------------------------------ */

static int apply_customer_edit(struct apply *ap, const struct engine_event *ev)
{
    if (record_blank(ev->text))
        return err_field(ap->e, ERR_INVAL, "text", "text must not be empty");
    struct customer *c = NULL;
    int rc = store_customer_get_by_tg(ap->w, ev->customer.tg_user_id, ap->a, &c, ap->e);
    struct ticket *t = NULL;
    if (rc == 0)
        rc = store_ticket_latest_for_customer(ap->w, c->id, ap->a, &t, ap->e);
    if (rc == 0)
        rc = store_thread_edit(ap->w, t->id, ev->tg_chat_id, ev->tg_message_id, ev->text,
                               ap->now, ap->e);
    if (rc == ERR_NOTFOUND) {     /* an edit of something we never recorded */
        err_clear(ap->e);
        ap->res->ignored = true;
        return 0;
    }
    if (rc != 0)
        return rc;
    ap->res->ticket_id = t->id;
    if (record_staff_chat(ap->cfg) == 0)
        return 0;
    char *text = arena_printf(ap->a, "\xE2\x9C\x8F %s edited a message: %s", c->first_name,
                              ev->text);
    return record_topic_say(ap, t->id, text ? text : "(edited)");
}

/* ---- ENGINE_OUTBOX_RESULT -------------------------------------------------------------- */

/* Post the ticket's history into its freshly recreated topic. */
static int post_history(struct apply *ap, const struct ticket *t)
{
    struct thread_entry *th = NULL;
    size_t n = 0;
    int rc = store_thread_list(ap->w, t->id, ap->a, &th, &n, ap->e);
    if (rc != 0)
        return rc;
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "\xE2\x99\xBB The topic of ticket #%" PRId64 " was deleted and has been "
               "recreated. History so far:\n", t->id);
    for (size_t i = 0; i < n; i++) {
        if (th[i].kind == THREAD_EVENT)
            continue;
        char at[CLOCK_ISO_LEN];
        buf_printf(&b, "\n[%s] %s%s: %s", clock_fmt_iso(th[i].at, at),
                   th[i].author_name ? th[i].author_name : thread_author_type_name(th[i].author_type),
                   th[i].kind == THREAD_NOTE ? " (note)" : "", th[i].text ? th[i].text : "");
    }
    rc = record_topic_say(ap, t->id, buf_str(&b));
    buf_release(&b);
    return rc;
}

static int apply_outbox_result(struct apply *ap, const struct engine_event *ev)
{
    struct tg_outbox_row *row = NULL;
    int rc = store_tg_outbox_get(ap->w, ev->outbox_id, ap->a, &row, ap->e);
    if (rc != 0)
        return rc;
    if (strcmp(row->state, "pending") != 0) {     /* reported twice: first one counts */
        ap->res->ignored = true;
        return 0;
    }
    int attempts = row->attempts + 1;
    const char *err = ev->error ? ev->error : "";
    struct ticket *t = NULL;
    if (row->ticket_id != 0) {
        rc = record_load_ticket(ap, row->ticket_id, &t, NULL);
        if (rc != 0)
            return rc;
        ap->res->ticket_id = t->id;
    }
    switch (ev->outcome) {
    case OUTBOX_SENT:
        rc = store_tg_outbox_update(ap->w, row->id, "sent", attempts, ap->now, NULL, NULL,
                                    ap->e);
        if (rc == 0 && t != NULL && strcmp(row->method, "createForumTopic") == 0) {
            bool recreated = thread_has_event(ap, t->id, "topic_lost");
            t->topic_id = ev->topic_id;
            t->updated_at = ap->now;
            rc = store_ticket_update(ap->w, t, ap->e);
            if (rc == 0 && recreated)
                rc = post_history(ap, t);
        }
        return rc;
    case OUTBOX_RETRY:
        return store_tg_outbox_update(ap->w, row->id, "pending", attempts,
                                      ev->retry_at > ap->now ? ev->retry_at : ap->now, err,
                                      NULL, ap->e);
    case OUTBOX_THREAD_LOST:
        rc = store_tg_outbox_update(ap->w, row->id, "pending", attempts, ap->now, err, NULL,
                                    ap->e);
        if (rc != 0 || t == NULL || t->topic_id == 0)
            return rc;    /* already being recreated */
        {
            struct kv *d = record_kv2(ap, "topic_id", arena_printf(ap->a, "%" PRId64, t->topic_id),
                               "error", err);
            t->topic_id = 0;
            t->updated_at = ap->now;
            rc = d ? record_thread_event(ap, t, "topic_lost", "the ticket's topic was deleted; "
                                  "recreating it", d, 2, "system")
                   : record_too_big(ap);
        }
        if (rc == 0)
            rc = store_ticket_update(ap->w, t, ap->e);
        if (rc == 0) {
            struct customer *c = NULL;
            rc = store_customer_get(ap->w, t->customer_id, ap->a, &c, ap->e);
            char name[TICKET_TOPIC_NAME_MAX];
            if (rc == 0)
                rc = outbox_create_topic(ap->w, record_staff_chat(ap->cfg), t->id,
                                         ticket_topic_name(c->first_name, c->last_name, t->id, name),
                                         ap->now, ap->e);
        }
        return rc;
    case OUTBOX_BLOCKED:
    case OUTBOX_FAILED:
    default:
        rc = store_tg_outbox_update(ap->w, row->id, "failed", attempts, ap->now, err, NULL,
                                    ap->e);
        if (rc != 0 || t == NULL)
            return rc;
        struct customer *c = NULL;
        rc = store_customer_get(ap->w, t->customer_id, ap->a, &c, ap->e);
        if (rc != 0)
            return rc;
        bool blocked = ev->outcome == OUTBOX_BLOCKED;
        struct kv *d = record_kv2(ap, "method", row->method, "error", err);
        if (d == NULL)
            return record_too_big(ap);
        rc = record_thread_event(ap, t, blocked ? "customer_blocked" : "delivery_failed",
                          blocked ? "the customer blocked the bot; messages cannot be delivered"
                                  : arena_printf(ap->a, "%s failed: %s", row->method, err),
                          d, 2, "system");
        t->updated_at = ap->now;
        if (rc == 0)
            rc = store_ticket_update(ap->w, t, ap->e);
        if (rc == 0 && blocked && !c->blocked) {
            c->blocked = true;
            rc = store_customer_update(ap->w, c, ap->e);
            if (rc == 0)
                rc = record_event(ap, "customer.blocked", t, c, NULL);
        }
        return rc;
    }
}

/* ---- idempotency keys (engine_event.idem_key) ------------------------------------ */

/* 1 when `key` was recorded by an earlier event (res then carries that
 * event's result), 0 when it is new, or a store error. */
static int idem_seen(struct engine *en, const char *key, struct arena *a,
                     struct engine_result *res)
{
    int status = 0;
    const char *body = NULL;
    int rc = store_idem_get(en->w, key, a, &status, &body, &res->err);
    if (rc == ERR_NOTFOUND) {
        err_clear(&res->err);
        return 0;
    }
    if (rc != 0)
        return rc;
    json_t *v = NULL;
    if (body != NULL && jx_parse_object(body, strlen(body), &v, NULL) == 0) {
        res->ticket_id = (int64_t)json_integer_value(json_object_get(v, "ticket_id"));
        res->thread_seq = (int32_t)json_integer_value(json_object_get(v, "thread_seq"));
    }
    json_decref(v);
    res->duplicate = true;
    return 1;
}

static int idem_record(struct engine *en, const char *key, int64_t now,
                       struct engine_result *res)
{
    char body[80];
    snprintf(body, sizeof body, "{\"ticket_id\":%" PRId64 ",\"thread_seq\":%" PRId32 "}",
             res->ticket_id, res->thread_seq);
    return store_idem_put(en->w, key, 0, body, now, &res->err);
}

/* ---- batches ---------------------------------------------------------------------- */

/* When the earliest timer is due, 0 for none (read after each commit, so
 * the thread can sleep until then). A failed read means "look again soon". */
static int64_t next_timer(struct engine *en)
{
    int64_t at = 0;
    struct err e = {0};
    int rc = store_timer_next(en->w, &at, &e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0) {
        log_msg(LOG_ERROR, "engine.timer_next_failed", "%s", e.msg);
        return clock_now_ms(en->clock) + 1000;
    }
    return at;
}

static struct apply apply_ctx(struct engine *en, const struct rules *r, int64_t now,
                              struct engine_result *res, struct arena *a)
{
    arena_reset(a);   /* one arena per batch, emptied for each event */
    return (struct apply){.w = en->w, .cfg = rules_cfg(r), .rules = r, .a = a, .now = now,
                          .e = &res->err, .res = res};
}

static int out_of_memory(struct arena *a, int rc, struct engine_result *res)
{
    if (rc == 0 && a->exhausted)
        rc = err_set(&res->err, ERR_TOOBIG, "event needs more than %u bytes of memory",
                     ENGINE_EVENT_ARENA);
    return rc;
}

static int apply_one(struct engine *en, const struct rules *r, const struct engine_event *ev,
                     int64_t now, struct engine_result *res, struct arena *a)
{
    struct apply ap = apply_ctx(en, r, now, res, a);
    int rc;
    switch (ev->type) {
    case ENGINE_CUSTOMER_MESSAGE:   rc = apply_customer_message(&ap, ev); break;
    case ENGINE_AGENT_REPLY:
    case ENGINE_AGENT_NOTE:         rc = apply_agent_message(&ap, ev); break;
    case ENGINE_TICKET_UPDATE:      rc = apply_ticket_update(&ap, ev); break;
    case ENGINE_AGENT_AVAILABILITY: rc = apply_agent_availability(&ap, ev); break;
    case ENGINE_STAFF_MESSAGE:      rc = apply_staff_message(&ap, ev); break;
    case ENGINE_CUSTOMER_EDIT:      rc = apply_customer_edit(&ap, ev); break;
    case ENGINE_OUTBOX_RESULT:      rc = apply_outbox_result(&ap, ev); break;
    case ENGINE_TICKET_ESCALATE:    rc = apply_ticket_escalate(&ap, ev); break;
    case ENGINE_TIMERS_DUE:         /* engine_apply_batch: one savepoint per timer */
    default:
        rc = err_set(&res->err, ERR_INVAL, "unknown event type %d", (int)ev->type);
    }
    return out_of_memory(a, rc, res);
}

/* ---- timers ----------------------------------------------------------------------- */

#define TIMER_PAGE 256              /* due timers read at once */
#define TIMER_PAGES 8               /* ... and pages per tick; more wait for the next */
#define TIMER_RETRY_MS 60000        /* a timer that failed is tried again this much later */

/* One due timer in its own savepoint. A timer whose handling fails is
 * logged and moved a minute on (in a savepoint of its own), so one bad
 * ticket can neither undo the others nor spin the engine. Returns only a
 * store error that fails the batch. */
static int apply_timer(struct engine *en, const struct rules *r, const struct timer_row *row,
                       int64_t now, struct arena *a, struct err *e)
{
    struct engine_result res = {0};
    int rc = store_savepoint(en->w, e);
    if (rc != 0)
        return rc;
    struct apply ap = apply_ctx(en, r, now, &res, a);
    int trc = out_of_memory(a, rules_timer(&ap, row), &res);
    if (trc == 0)
        return store_release(en->w, e);
    struct log_line l;
    log_begin(&l, LOG_ERROR, "engine.timer_failed");
    log_str(&l, "kind", row->kind);
    log_int(&l, "ticket", row->ticket_id);
    log_str(&l, "error", res.err.msg);
    log_end(&l);
    if ((rc = store_rollback_savepoint(en->w, e)) != 0 || (rc = store_savepoint(en->w, e)) != 0)
        return rc;
    struct timer_row later = *row;
    later.due_at = now + TIMER_RETRY_MS;
    rc = store_timer_put(en->w, &later, e);
    return rc == 0 ? store_release(en->w, e) : rc;
}

/* ENGINE_TIMERS_DUE: every timer due at now, earliest first. */
static int apply_timers(struct engine *en, const struct rules *r, int64_t now, struct arena *a,
                        struct err *e)
{
    struct arena *rows = arena_new(0);
    int rc = 0;
    for (int page = 0; page < TIMER_PAGES && rc == 0; page++) {
        struct timer_row *due = NULL;
        size_t n = 0;
        arena_reset(rows);
        rc = store_timer_due(en->w, now, TIMER_PAGE, rows, &due, &n, e);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = apply_timer(en, r, &due[i], now, a, e);
        if (n < TIMER_PAGE)
            break;
    }
    arena_free(&rows);
    return rc;
}

/* True when evs are all ENGINE_TIMERS_DUE and no timer is due at now:
 * the batch would commit an empty transaction. */
static bool nothing_due(struct engine *en, const struct engine_event *evs, size_t n,
                        int64_t now)
{
    for (size_t i = 0; i < n; i++)
        if (evs[i].type != ENGINE_TIMERS_DUE)
            return false;
    pthread_mutex_lock(&en->mu);
    int64_t next = en->next_timer;
    pthread_mutex_unlock(&en->mu);
    return next == 0 || next > now;
}

/* Where a batch's events come from: an array of n, or a stream. */
struct source {
    const struct engine_event *evs;
    size_t n;
    struct engine_stream *st;
};

/* Event i of src, waiting for a stream to hand it over; NULL past the end
 * (and for every event of a stream its sender abandoned). */
static const struct engine_event *source_at(struct engine *en, const struct source *src,
                                            size_t i)
{
    if (src->st == NULL)
        return i < src->n ? &src->evs[i] : NULL;
    struct engine_stream *st = src->st;
    pthread_mutex_lock(&en->mu);
    while (i >= st->count && !st->closed)
        pthread_cond_wait(&st->more, &en->mu);
    const struct engine_event *ev = i < st->count && !st->abandoned ? &st->evs[i] : NULL;
    pthread_mutex_unlock(&en->mu);
    return ev;
}

/* How many events src holds in all, once its sender is done with it. */
static size_t source_total(struct engine *en, const struct source *src)
{
    if (src->st == NULL)
        return src->n;
    pthread_mutex_lock(&en->mu);
    while (!src->st->closed)
        pthread_cond_wait(&src->st->more, &en->mu);
    size_t n = src->st->count;
    pthread_mutex_unlock(&en->mu);
    return n;
}

/*
 * The batch of src in one transaction (engine_apply_batch's contract).
 *
 * A refused event must undo only itself, which a savepoint around each
 * event gives; but under a savepoint SQLite journals every page the event
 * first touches, which cost 16% of the writer's instructions on the
 * ingest benchmark (callgrind). Refusals are rare, so the batch is first
 * applied without savepoints; at the first refusal it is rolled back and
 * applied again from its start with one savepoint per event ("careful").
 * The second pass sees the same database and the same events, so it gets
 * the same results; only a log line an event writes while it is applied
 * can appear twice.
 */
static int apply_source(struct engine *en, const struct source *src,
                        struct engine_result *res, struct err *e)
{
    int64_t now = clock_now_ms(en->clock);
    if (src->st == NULL && nothing_due(en, src->evs, src->n, now)) {
        memset(res, 0, src->n * sizeof *res);
        return 0;
    }
    struct rules *r = rules_get(en);
    int64_t max_update;
    struct arena *a = arena_new(ENGINE_EVENT_ARENA);
    size_t n;
    bool careful = false;
    int rc;
again:
    max_update = en->last_update_id;
    n = 0;
    rc = store_begin(en->w, e);
    if (rc != 0)
        goto out_rollback;
    for (const struct engine_event *ev; (ev = source_at(en, src, n)) != NULL; n++) {
        size_t i = n;
        memset(&res[i], 0, sizeof res[i]);
        if (ev->type == ENGINE_TIMERS_DUE) {
            rc = apply_timers(en, r, now, a, e);
            if (rc != 0)
                goto out_rollback;
            continue;
        }
        if (ev->update_id != 0 && ev->update_id <= max_update) {
            res[i].duplicate = true;
            continue;
        }
        if (ev->update_id > max_update)
            max_update = ev->update_id;
        if (ev->idem_key != NULL) {
            int seen = idem_seen(en, ev->idem_key, a, &res[i]);
            if (seen < 0)
                res[i].code = seen;
            if (seen != 0)
                continue;
        }
        if (careful && (rc = store_savepoint(en->w, e)) != 0)
            goto out_rollback;
        int erc = apply_one(en, r, ev, now, &res[i], a);
        if (erc == 0 && ev->idem_key != NULL)
            erc = idem_record(en, ev->idem_key, now, &res[i]);
        res[i].code = erc;
        if (!careful && erc != 0) {
            /* no savepoint to go back to: the whole batch again, carefully */
            store_rollback(en->w, NULL);
            arena_reset(a);
            careful = true;
            goto again;
        }
        if (!careful)
            continue;
        if (erc == 0) {
            rc = store_release(en->w, e);
        } else {
            if (res[i].err.code == 0)
                err_set(&res[i].err, erc, "%s", err_name(erc));
            rc = store_rollback_savepoint(en->w, e);   /* undoes and releases */
            res[i].ticket_id = 0;
            res[i].created = res[i].reopened = false;
            res[i].thread_seq = 0;
        }
        if (rc != 0)
            goto out_rollback;
    }
    if (src->st != NULL && src->st->abandoned) {
        /* the sender gave the batch up (a page it could not read whole):
         * nothing of it may stay */
        store_rollback(en->w, NULL);
        n = source_total(en, src);
        memset(res, 0, n * sizeof *res);
        goto out_cfg;
    }
    if (max_update > en->last_update_id) {
        char v[32];
        snprintf(v, sizeof v, "%" PRId64, max_update);
        rc = store_meta_set(en->w, "telegram.last_update_id", v, e);
        if (rc != 0)
            goto out_rollback;
    }
    rc = store_commit(en->w, e);
    if (rc != 0)
        goto out_rollback;
    int64_t next = next_timer(en);
    pthread_mutex_lock(&en->mu);
    if (next != en->next_timer) {
        en->next_timer = next;
        pthread_cond_signal(&en->wake);     /* the thread may wait for an older one */
    }
    en->last_update_id = max_update;
    en->stats.batches++;
    for (size_t i = 0; i < n; i++) {
        if (res[i].duplicate)
            continue;
        if (res[i].code == 0)
            en->stats.events_applied++;
        else
            en->stats.events_refused++;
        if (res[i].created)
            en->stats.tickets_created++;
    }
    pthread_mutex_unlock(&en->mu);
    goto out_cfg;

out_rollback:
    store_rollback(en->w, NULL);
    pthread_mutex_lock(&en->mu);
    en->stats.commit_failures++;
    pthread_mutex_unlock(&en->mu);
    n = source_total(en, src);     /* a stream's sender may still be handing over */
    for (size_t i = 0; i < n; i++) {
        res[i].code = rc;
        res[i].ticket_id = 0;
        res[i].created = res[i].reopened = res[i].duplicate = false;
        err_clear(&res[i].err);
        err_set(&res[i].err, rc, "%s", e && e->code ? e->msg : "the batch could not be committed");
    }
out_cfg:
    arena_free(&a);
    rules_unref(&r);
    return rc;
}

int engine_apply_batch(struct engine *en, const struct engine_event *evs,
                       struct engine_result *res, size_t n, struct err *e)
{
    struct source src = {.evs = evs, .n = n};
    return apply_source(en, &src, res, e);
}

/* ---- the thread ----------------------------------------------------------------- */

/*
 * With mu held: wait for jobs, a stop or a kick. With the real clock the
 * earliest timer falling due counts as a kick, so an SLA breach is applied
 * at its deadline (to the scheduler's precision) with nobody asking; the
 * manual clock only moves when told, and whoever moves it kicks. A tick
 * that left a timer due (which the timers' own retry makes a bug) is not
 * repeated before retry_at.
 */
static void wait_for_work(struct engine *en, int64_t retry_at)
{
    while (en->head == NULL && !en->stopping && !en->kicked) {
        int64_t next = en->next_timer;
        int64_t now = clock_now_ms(en->clock);
        if (next != 0 && next <= now && now >= retry_at) {
            en->kicked = true;
            return;
        }
        if (next == 0 || clock_is_manual(en->clock)) {
            pthread_cond_wait(&en->wake, &en->mu);
            continue;
        }
        int64_t at = next > retry_at ? next : retry_at;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (at - now) * 1000000LL;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&en->wake, &en->mu, &ts);
    }
}

static void *engine_main(void *arg)
{
    struct engine *en = arg;
    struct engine_event *evs = mem_alloc(ENGINE_BATCH_MAX * sizeof *evs);
    struct engine_result *res = mem_alloc(ENGINE_BATCH_MAX * sizeof *res);
    struct job **jobs = mem_alloc(ENGINE_BATCH_MAX * sizeof(struct job *));
    int64_t retry_at = 0;

    pthread_mutex_lock(&en->mu);
    for (;;) {
        wait_for_work(en, retry_at);
        if (en->head == NULL && en->stopping)
            break;
        bool kicked = en->kicked;
        en->kicked = false;
        size_t n = 0;
        struct job *stream = NULL;      /* a stream is a batch of its own */
        if (en->head != NULL && en->head->stream != NULL) {
            stream = en->head;
            en->head = stream->next;
        }
        while (stream == NULL && en->head != NULL && en->head->stream == NULL &&
               n < ENGINE_BATCH_MAX) {
            jobs[n] = en->head;
            en->head = en->head->next;
            evs[n] = *jobs[n]->ev;
            n++;
        }
        if (en->head == NULL)
            en->tail = NULL;
        pthread_mutex_unlock(&en->mu);

        struct err e = {0};
        if (kicked) {
            struct engine_event tick = {.type = ENGINE_TIMERS_DUE};
            struct engine_result tres;
            int64_t at = clock_now_ms(en->clock);
            if (engine_apply_batch(en, &tick, &tres, 1, &e) != 0)
                log_msg(LOG_ERROR, "engine.timers_failed", "%s", e.msg);
            err_clear(&e);
            pthread_mutex_lock(&en->mu);
            bool stuck = en->next_timer != 0 && en->next_timer <= at;
            pthread_mutex_unlock(&en->mu);
            retry_at = stuck ? at + 1000 : 0;
        }
        if (n > 0 && engine_apply_batch(en, evs, res, n, &e) != 0)
            log_msg(LOG_ERROR, "engine.commit_failed", "%s", e.msg);
        if (stream != NULL) {
            struct source src = {.st = stream->stream};
            if (apply_source(en, &src, stream->stream->res, &e) != 0)
                log_msg(LOG_ERROR, "engine.commit_failed", "%s", e.msg);
        }

        pthread_mutex_lock(&en->mu);
        for (size_t i = 0; i < n; i++) {
            *jobs[i]->res = res[i];
            jobs[i]->done = true;
        }
        if (stream != NULL)
            stream->done = true;
        pthread_cond_broadcast(&en->done);
    }
    pthread_mutex_unlock(&en->mu);
    mem_free(evs);
    mem_free(res);
    mem_free(jobs);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------- */

/* Give agents the store has never seen their configured initial availability. */
static int seed_agents(struct engine *en, const struct cfg *c, struct err *e)
{
    struct arena *a = arena_new(0);
    struct agent_state *all = NULL;
    size_t n = 0;
    int rc = store_agent_state_list(en->w, a, &all, &n, e);
    if (rc != 0)
        goto out;
    rc = store_begin(en->w, e);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < c->nagents; i++) {
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            if (strcmp(all[j].agent_id, c->agents[i].id) == 0)
                seen = true;
        if (seen)
            continue;
        struct agent_state st = {.agent_id = c->agents[i].id};
        if (c->agents[i].availability != NULL)
            agent_avail_parse(c->agents[i].availability, &st.availability, NULL);
        rc = store_agent_state_put(en->w, &st, e);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = store_commit(en->w, e);
    else
        store_rollback(en->w, NULL);
out:
    arena_free(&a);
    return rc;
}

int engine_new(struct cfg *c, struct store *w, struct clock *clk,
               struct engine **out, struct err *e)
{
    *out = NULL;
    struct engine *en = mem_alloc(sizeof *en);
    int rc = rules_new(c, &en->rules, e);
    if (rc != 0) {
        mem_free(en);
        return rc;
    }
    en->w = w;
    en->clock = clk;
    pthread_mutex_init(&en->mu, NULL);
    pthread_cond_init(&en->wake, NULL);
    pthread_cond_init(&en->done, NULL);

    struct arena *a = arena_new(0);
    const char *v = NULL;
    rc = store_meta_get(w, "telegram.last_update_id", a, &v, e);
    if (rc == 0) {
        en->last_update_id = strtoll(v, NULL, 10);
    } else if (rc == ERR_NOTFOUND) {
        err_clear(e);
        rc = 0;
    }
    arena_free(&a);
    if (rc == 0)
        rc = seed_agents(en, c, e);
    en->next_timer = next_timer(en);
    if (rc != 0) {
        en->w = NULL;   /* on failure the caller keeps the connection */
        engine_free(&en);
        return rc;
    }
    *out = en;
    return 0;
}

int engine_check_cfg(struct cfg *c, struct err *e)
{
    struct rules *r = NULL;
    int rc = rules_new(c, &r, e);
    rules_unref(&r);
    return rc;
}

int engine_start(struct engine *en, struct err *e)
{
    pthread_mutex_lock(&en->mu);
    if (en->running) {
        pthread_mutex_unlock(&en->mu);
        return 0;
    }
    en->stopping = false;
    int rc = pthread_create(&en->thread, NULL, engine_main, en);
    if (rc == 0)
        en->running = true;
    pthread_mutex_unlock(&en->mu);
    if (rc != 0)
        return err_set(e, ERR_INTERNAL, "cannot start the engine thread: %s", strerror(rc));
    return 0;
}

int engine_submit(struct engine *en, const struct engine_event *ev,
                  struct engine_result *res)
{
    struct job job = {.ev = ev, .res = res};
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&en->mu);
    if (!en->running || en->stopping) {
        pthread_mutex_unlock(&en->mu);
        res->code = err_set(&res->err, ERR_BUSY, "the engine is shutting down");
        return res->code;
    }
    /* The job lives on this stack frame: safe, because we do not return
     * until the engine thread has marked it done and dropped it. */
    if (en->tail != NULL)
        en->tail->next = &job;
    else
        en->head = &job; // cppcheck-suppress autoVariables
    en->tail = &job;     // cppcheck-suppress autoVariables
    pthread_cond_signal(&en->wake);
    while (!job.done)
        pthread_cond_wait(&en->done, &en->mu);
    pthread_mutex_unlock(&en->mu);
    return res->code;
}

int engine_submit_batch(struct engine *en, const struct engine_event *evs,
                        struct engine_result *res, size_t n)
{
    if (n == 0)
        return 0;
    struct job *jobs = mem_alloc(n * sizeof *jobs);
    pthread_mutex_lock(&en->mu);
    if (!en->running || en->stopping) {
        pthread_mutex_unlock(&en->mu);
        mem_free(jobs);
        for (size_t i = 0; i < n; i++) {
            memset(&res[i], 0, sizeof res[i]);
            res[i].code = err_set(&res[i].err, ERR_BUSY, "the engine is shutting down");
        }
        return ERR_BUSY;
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (struct job){.ev = &evs[i], .res = &res[i]};
        if (en->tail != NULL)
            en->tail->next = &jobs[i];
        else
            en->head = &jobs[i];
        en->tail = &jobs[i];
    }
    pthread_cond_signal(&en->wake);
    while (!jobs[n - 1].done)    /* FIFO: the last one done means all are */
        pthread_cond_wait(&en->done, &en->mu);
    pthread_mutex_unlock(&en->mu);
    mem_free(jobs);
    for (size_t i = 0; i < n; i++)
        if (res[i].code != 0)
            return res[i].code;
    return 0;
}

int engine_stream_begin(struct engine *en, struct engine_event *evs,
                        struct engine_result *res, size_t cap, struct engine_stream **out)
{
    *out = NULL;
    pthread_mutex_lock(&en->mu);
    if (!en->running || en->stopping) {
        pthread_mutex_unlock(&en->mu);
        return ERR_BUSY;
    }
    struct engine_stream *st = mem_alloc(sizeof *st);
    *st = (struct engine_stream){.en = en, .evs = evs, .res = res, .cap = cap};
    pthread_cond_init(&st->more, NULL);
    st->job.stream = st;
    if (en->tail != NULL)
        en->tail->next = &st->job;
    else
        en->head = &st->job;
    en->tail = &st->job;
    pthread_cond_signal(&en->wake);
    pthread_mutex_unlock(&en->mu);
    *out = st;
    return 0;
}

int engine_stream_push(struct engine_stream *st)
{
    struct engine *en = st->en;
    pthread_mutex_lock(&en->mu);
    int rc = st->closed || st->count >= st->cap ? ERR_INVAL : 0;
    if (rc == 0) {
        st->count++;
        pthread_cond_signal(&st->more);
    }
    pthread_mutex_unlock(&en->mu);
    return rc;
}

int engine_stream_end(struct engine_stream **stp, bool abandon)
{
    struct engine_stream *st = *stp;
    if (st == NULL)
        return 0;
    struct engine *en = st->en;
    pthread_mutex_lock(&en->mu);
    st->closed = true;
    st->abandoned = abandon;
    pthread_cond_signal(&st->more);
    while (!st->job.done)
        pthread_cond_wait(&en->done, &en->mu);
    pthread_mutex_unlock(&en->mu);
    int rc = 0;
    for (size_t i = 0; i < st->count && rc == 0; i++)
        rc = st->res[i].code;
    pthread_cond_destroy(&st->more);
    mem_free(st);
    *stp = NULL;
    return rc;
}

int64_t engine_last_update_id(struct engine *en)
{
    pthread_mutex_lock(&en->mu);
    int64_t v = en->last_update_id;
    pthread_mutex_unlock(&en->mu);
    return v;
}

void engine_set_cfg(struct engine *en, struct cfg *c)
{
    struct rules *nr = NULL;
    struct err e = {0};
    if (rules_new(c, &nr, &e) != 0) {
        log_msg(LOG_ERROR, "engine.reload_failed", "the configuration's rules do not compile, "
                "the running configuration stays: %s", e.msg);
        return;
    }
    pthread_mutex_lock(&en->mu);
    struct rules *old = en->rules;
    en->rules = nr;
    pthread_mutex_unlock(&en->mu);
    rules_unref(&old);      /* a batch still running holds its own reference */
}

struct cfg *engine_cfg(struct engine *en)
{
    struct rules *r = rules_get(en);
    struct cfg *c = cfg_ref(rules_cfg(r));
    rules_unref(&r);
    return c;
}

struct clock *engine_clock(struct engine *en)
{
    return en->clock;
}

void engine_kick(struct engine *en)
{
    pthread_mutex_lock(&en->mu);
    en->kicked = true;
    pthread_cond_signal(&en->wake);
    pthread_mutex_unlock(&en->mu);
}

int64_t engine_next_timer(struct engine *en)
{
    pthread_mutex_lock(&en->mu);
    int64_t next = en->next_timer;
    pthread_mutex_unlock(&en->mu);
    return next;
}

void engine_get_stats(struct engine *en, struct engine_stats *out)
{
    pthread_mutex_lock(&en->mu);
    *out = en->stats;
    pthread_mutex_unlock(&en->mu);
}

void engine_stop(struct engine *en)
{
    pthread_mutex_lock(&en->mu);
    if (!en->running) {
        pthread_mutex_unlock(&en->mu);
        return;
    }
    en->stopping = true;
    pthread_cond_signal(&en->wake);
    pthread_mutex_unlock(&en->mu);
    pthread_join(en->thread, NULL);
    pthread_mutex_lock(&en->mu);
    en->running = false;
    pthread_mutex_unlock(&en->mu);
}

void engine_free(struct engine **enp)
{
    if (enp == NULL || *enp == NULL)
        return;
    struct engine *en = *enp;
    engine_stop(en);
    store_close(&en->w);
    rules_unref(&en->rules);
    pthread_cond_destroy(&en->done);
    pthread_cond_destroy(&en->wake);
    pthread_mutex_destroy(&en->mu);
    mem_free(en);
    *enp = NULL;
}
