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
#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"
#include "desk/command.h"
#include "desk/view.h"
#include "desk/workflow.h"
#include "engine/outbox.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENGINE_BATCH_MAX 512
#define ENGINE_EVENT_ARENA (8u * 1024u * 1024u)
#define ENGINE_SUBJECT_MAX 120
#define ENGINE_TEXT_MAX (1024u * 1024u)

struct job {
    const struct engine_event *ev;
    struct engine_result *res;
    bool done;
    struct job *next;
};

struct engine {
    struct cfg *cfg;            /* owned reference; swapped under mu */
    struct store *w;            /* owned writer connection */
    struct clock *clock;        /* borrowed */

    pthread_mutex_t mu;
    pthread_cond_t wake;        /* jobs queued, kick, or stop */
    pthread_cond_t done;        /* a batch finished */
    struct job *head, *tail;
    bool running, stopping, kicked;
    pthread_t thread;

    int64_t last_update_id;     /* highest Telegram update applied */
    struct engine_stats stats;
};

/* ---- small helpers -------------------------------------------------------- */

static struct cfg *cfg_get(struct engine *en)
{
    pthread_mutex_lock(&en->mu);
    struct cfg *c = cfg_ref(en->cfg);
    pthread_mutex_unlock(&en->mu);
    return c;
}

static bool blank(const char *s)
{
    if (s == NULL)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* The staff forum group, or 0 when no Telegram bridge is configured. */
static int64_t staff_chat(const struct cfg *c)
{
    return c->telegram.token != NULL ? c->telegram.staff_group_id : 0;
}

/* Per-event context: what every apply_* step needs. */
struct apply {
    struct engine *en;
    const struct cfg *cfg;
    struct arena *a;
    int64_t now;
    struct err *e;
    struct engine_result *res;
};

static struct kv *kvs(struct apply *ap, size_t n)
{
    return arena_alloc(ap->a, n * sizeof(struct kv));
}

/* Two key/value pairs in the event arena; NULL when it is exhausted. */
static struct kv *kv2(struct apply *ap, const char *k1, const char *v1,
                      const char *k2, const char *v2)
{
    struct kv *d = kvs(ap, 2);
    if (d != NULL) {
        d[0] = (struct kv){k1, v1};
        d[1] = (struct kv){k2, v2};
    }
    return d;
}

/* Append an entry to t's thread (assigning the next seq). */
static int thread_add(struct apply *ap, struct ticket *t, struct thread_entry *te)
{
    te->ticket_id = t->id;
    te->seq = ++t->thread_len;
    te->at = ap->now;
    int rc = store_thread_append(ap->en->w, te, ap->e);
    if (rc == 0)
        ap->res->thread_seq = te->seq;
    return rc;
}

/* A system event in the thread, e.g. status_changed with from/to data. */
static int thread_event(struct apply *ap, struct ticket *t, const char *event,
                        const char *text, struct kv *data, size_t ndata,
                        const char *actor)
{
    struct thread_entry te = {
        .kind = THREAD_EVENT,
        .dir = DIR_INTERNAL,
        .author_type = AUTHOR_SYSTEM,
        .author_id = actor,
        .text = text,
        .event = event,
        .data = data,
        .ndata = ndata,
    };
    return thread_add(ap, t, &te);
}

/* Whether the ticket's thread has an event of this type (a rare, small scan). */
static bool thread_has_event(struct apply *ap, int64_t ticket_id, const char *event)
{
    struct thread_entry *th = NULL;
    size_t n = 0;
    struct err e = {0};
    if (store_thread_list(ap->en->w, ticket_id, ap->a, &th, &n, &e) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (th[i].event != NULL && strcmp(th[i].event, event) == 0)
            return true;
    return false;
}

/*
 * Write a domain event. `extra` (may be NULL, reference stolen) is merged
 * into the event data next to the ticket snapshot, so a consumer sees the
 * ticket exactly as it was when the event happened.
 */
static int domain_event(struct apply *ap, const char *type, const struct ticket *t,
                        const struct customer *c, json_t *extra)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = 0;
    if (extra != NULL && json_object_size(extra) > 0)
        rc = jx_dump(extra, &b);            /* "{...}": its '}' becomes ',' */
    json_decref(extra);
    if (rc != 0) {
        buf_release(&b);
        return err_set(ap->e, ERR_INTERNAL, "cannot encode event %s", type);
    }
    if (b.len > 0 && t != NULL)
        b.p[b.len - 1] = ',';
    else if (b.len == 0)
        buf_putc(&b, '{');
    if (t != NULL) {
        /* the snapshot is written as text: see view.h */
        buf_puts(&b, "\"ticket\":");
        view_ticket_write(&b, t, c);
        buf_puts(&b, ",\"thread_seq\":");
        buf_put_int(&b, t->thread_len);
        buf_putc(&b, '}');
    } else if (b.len == 1) {
        buf_putc(&b, '}');
    }
    struct event_row r = {
        .type = type,
        .ticket_id = t ? t->id : 0,
        .occurred_at = ap->now,
        .data = buf_str(&b),
    };
    rc = store_event_push(ap->en->w, &r, ap->e);
    buf_release(&b);
    return rc;
}

/* ticket.updated / .assigned / .resolved: who did it and, when given
 * (borrowed, may be NULL), what changed. */
static int actor_event(struct apply *ap, const char *type, const struct ticket *t,
                       const struct customer *c, const char *actor, json_t *changes)
{
    json_t *extra = json_object();
    if (changes != NULL)
        json_object_set(extra, "changes", changes);
    json_object_set_new(extra, "actor", json_string(actor));
    return domain_event(ap, type, t, c, extra);
}

/* message.created for the thread entry `seq`. */
static int message_event(struct apply *ap, const struct ticket *t,
                         const struct customer *c, int32_t seq)
{
    json_t *m = json_object();
    json_object_set_new(m, "message_seq", json_integer(seq));
    return domain_event(ap, "message.created", t, c, m);
}

static json_t *change(const char *from, const char *to)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", jx_str_or_null(from));
    json_object_set_new(o, "to", jx_str_or_null(to));
    return o;
}

/* ---- status changes, shared by reopen, reply and update --------------------- */

static void stamp_status(struct ticket *t, enum ticket_status to, int64_t now)
{
    if (to == TICKET_RESOLVED)
        t->resolved_at = now;
    else if (to == TICKET_CLOSED)
        t->closed_at = now;
    if (to == TICKET_OPEN || to == TICKET_IN_PROGRESS) {
        /* back to work: the earlier resolution no longer holds */
        t->resolved_at = 0;
        t->closed_at = 0;
    }
}

static int set_status(struct apply *ap, struct ticket *t, enum ticket_status to,
                      const char *actor, const char *reason, json_t *changes)
{
    enum ticket_status from = t->status;
    t->status = to;
    stamp_status(t, to, ap->now);
    struct kv *d = kvs(ap, 3);
    if (d == NULL)
        return err_set(ap->e, ERR_TOOBIG, "event too large");
    d[0] = (struct kv){"from", ticket_status_name(from)};
    d[1] = (struct kv){"to", ticket_status_name(to)};
    size_t nd = 2;
    if (reason != NULL)
        d[nd++] = (struct kv){"reason", reason};
    char *text = arena_printf(ap->a, "status %s → %s", ticket_status_name(from),
                              ticket_status_name(to));
    if (changes != NULL)
        json_object_set_new(changes, "status",
                            change(ticket_status_name(from), ticket_status_name(to)));
    return thread_event(ap, t, "status_changed", text, d, nd, actor);
}

static int set_assignee(struct apply *ap, struct ticket *t, const char *agent,
                        const char *actor, const char *reason, json_t *changes)
{
    const char *from = t->assignee;
    t->assignee = agent ? arena_strdup(ap->a, agent) : NULL;
    struct kv *d = kvs(ap, 3);
    if (d == NULL)
        return err_set(ap->e, ERR_TOOBIG, "event too large");
    size_t nd = 0;
    if (from != NULL)
        d[nd++] = (struct kv){"from", from};
    if (agent != NULL)
        d[nd++] = (struct kv){"to", agent};
    if (reason != NULL)
        d[nd++] = (struct kv){"reason", reason};
    char *text = agent ? arena_printf(ap->a, "assigned to %s", agent)
                       : arena_printf(ap->a, "unassigned from %s", from ? from : "-");
    if (changes != NULL)
        json_object_set_new(changes, "assignee", change(from, agent));
    int rc = thread_event(ap, t, agent ? "assigned" : "unassigned", text, d, nd, actor);
    if (rc != 0 || agent == NULL)
        return rc;
    struct agent_state st = {
        .agent_id = agent,
        .availability = AGENT_ONLINE,
        .changed_at = 0,
        .last_assigned_at = ap->now,
    };
    /* keep the stored availability: read, then write back with the new time */
    struct agent_state *all = NULL;
    size_t n = 0;
    rc = store_agent_state_list(ap->en->w, ap->a, &all, &n, ap->e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].agent_id, agent) == 0) {
            st.availability = all[i].availability;
            st.changed_at = all[i].changed_at;
        }
    }
    return store_agent_state_put(ap->en->w, &st, ap->e);
}

/* ---- ENGINE_CUSTOMER_MESSAGE ------------------------------------------------ */

static int upsert_customer(struct apply *ap, const struct engine_event *ev,
                           struct customer **out)
{
    struct customer *c = NULL;
    int rc = store_customer_get_by_tg(ap->en->w, ev->customer.tg_user_id, ap->a, &c, ap->e);
    if (rc == ERR_NOTFOUND) {
        err_clear(ap->e);
        c = arena_alloc(ap->a, sizeof *c);
        if (c == NULL)
            return err_set(ap->e, ERR_TOOBIG, "event too large");
        c->tg_user_id = ev->customer.tg_user_id;
        c->first_name = ev->customer.first_name ? ev->customer.first_name : "";
        c->last_name = ev->customer.last_name;
        c->username = ev->customer.username;
        c->language = ev->customer.language;
        c->tier = ev->customer.tier ? ev->customer.tier : "standard";
        c->created_at = ap->now;
        rc = store_customer_insert(ap->en->w, c, ap->e);
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
        rc = store_customer_update(ap->en->w, c, ap->e);
    *out = c;
    return rc;
}

static int open_ticket(struct apply *ap, const struct customer *c, const char *text,
                       struct ticket **out)
{
    struct ticket *t = arena_alloc(ap->a, sizeof *t);
    char *subject = arena_alloc(ap->a, ENGINE_SUBJECT_MAX + 4);
    if (t == NULL || subject == NULL)
        return err_set(ap->e, ERR_TOOBIG, "event too large");
    enum ticket_priority prio = PRIORITY_NORMAL;
    if (ap->cfg->default_priority != NULL)
        ticket_priority_parse(ap->cfg->default_priority, &prio, NULL);
    t->customer_id = c->id;
    t->status = TICKET_OPEN;
    t->priority = prio;
    t->group = ap->cfg->general_group ? ap->cfg->general_group : "general";
    t->subject = ticket_subject_from_text(text, subject, ENGINE_SUBJECT_MAX);
    t->created_at = ap->now;
    t->updated_at = ap->now;
    int rc = store_ticket_insert(ap->en->w, t, ap->e);
    if (rc != 0)
        return rc;
    ap->res->created = true;
    *out = t;
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
    int64_t staff = staff_chat(ap->cfg);
    if (staff == 0)
        return 0;
    int rc = 0;
    if (new_ticket) {
        char name[TICKET_TOPIC_NAME_MAX];
        ticket_topic_name(c->first_name, c->last_name, t->id, name);
        rc = outbox_create_topic(ap->en->w, staff, t->id, name, ap->now, ap->e);
    } else if (reopen_topic) {
        rc = outbox_topic_call(ap->en->w, "reopenForumTopic", staff, t->id, ap->now, ap->e);
    }
    if (rc != 0)
        return rc;
    if (ev->tg_chat_id != 0 && ev->tg_message_id != 0)
        return outbox_copy_to_topic(ap->en->w, staff, ev->tg_chat_id, ev->tg_message_id,
                                    t->id, ap->now, ap->e);
    char *text = arena_printf(ap->a, "%s: %s", c->first_name && *c->first_name
                                                   ? c->first_name : "Customer", ev->text);
    if (text == NULL)
        return err_set(ap->e, ERR_TOOBIG, "event too large");
    return outbox_send_text(ap->en->w, staff, true, t->id, text, ap->now, ap->e);
}

static int apply_customer_message(struct apply *ap, const struct engine_event *ev)
{
    if (ev->customer.tg_user_id <= 0)
        return err_field(ap->e, ERR_INVAL, "customer.telegram_user_id",
                         "customer.telegram_user_id must be a positive integer");
    if (blank(ev->text))
        return err_field(ap->e, ERR_INVAL, "text", "text must not be empty");
    if (strlen(ev->text) > ENGINE_TEXT_MAX)
        return err_field(ap->e, ERR_TOOBIG, "text", "text is longer than %u bytes",
                         ENGINE_TEXT_MAX);

    struct customer *c = NULL;
    int rc = upsert_customer(ap, ev, &c);
    if (rc != 0)
        return rc;
    if (c == NULL)
        return err_set(ap->e, ERR_INTERNAL, "customer lookup returned nothing");

    /* /start greets; it is not a request for help, so no ticket opens. */
    if (strncmp(ev->text, "/start", 6) == 0 && (ev->text[6] == '\0' || ev->text[6] == ' ')) {
        const struct cfg_template *g = cfg_template_find(ap->cfg, "greeting");
        const char *hello = g && strstr(g->text, "{{") == NULL
                                ? g->text
                                : "Hello! Write your question here and our support team will answer.";
        return outbox_send_text(ap->en->w, c->tg_user_id, false, 0, hello, ap->now, ap->e);
    }

    enum workflow_reopen policy = WORKFLOW_REOPEN;
    if (ap->cfg->on_closed != NULL)
        workflow_reopen_parse(ap->cfg->on_closed, &policy);

    struct ticket *t = NULL;
    rc = store_ticket_latest_for_customer(ap->en->w, c->id, ap->a, &t, ap->e);
    enum workflow_inbound what = WORKFLOW_OPEN_NEW;
    if (rc == 0)
        what = workflow_on_customer_message(t->status, policy);
    else if (rc == ERR_NOTFOUND)
        err_clear(ap->e);
    else
        return rc;

    enum ticket_status before = t ? t->status : TICKET_OPEN;
    if (what == WORKFLOW_OPEN_NEW) {
        rc = open_ticket(ap, c, ev->text, &t);
        if (rc != 0)
            return rc;
    }
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
    rc = thread_add(ap, t, &msg);
    if (rc != 0)
        return rc;
    int32_t msg_seq = msg.seq;

    json_t *changes = NULL;
    if (what == WORKFLOW_APPEND_REOPEN) {
        rc = workflow_check(t->status, TICKET_OPEN, WORKFLOW_BY_CUSTOMER, ap->e);
        if (rc != 0)
            return rc;
        changes = json_object();
        rc = set_status(ap, t, TICKET_OPEN, "system", "customer wrote again", changes);
        if (rc != 0)
            goto out_changes;
        t->reopen_count++;
        ap->res->reopened = true;
    }
    if (what == WORKFLOW_OPEN_NEW) {
        /* Routing rules come with the support-logic milestone; until then
         * every new ticket waits, unassigned, in the general queue. */
        struct kv *d = kv2(ap, "group", t->group, "reason", "no routing rule matched");
        if (d == NULL) {
            rc = err_set(ap->e, ERR_TOOBIG, "event too large");
            goto out_changes;
        }
        char *text = arena_printf(ap->a, "queued in %s (no routing rule matched)", t->group);
        rc = thread_event(ap, t, "queued", text, d, 2, "system");
        if (rc != 0)
            goto out_changes;
    }

    t->last_customer_msg_at = ap->now;
    t->updated_at = ap->now;
    rc = store_ticket_update(ap->en->w, t, ap->e);
    if (rc != 0)
        goto out_changes;

    if (what == WORKFLOW_OPEN_NEW) {
        rc = domain_event(ap, "ticket.created", t, c, NULL);
        if (rc != 0)
            goto out_changes;
    }
    if (changes != NULL) {
        rc = actor_event(ap, "ticket.updated", t, c, "customer", changes);
        if (rc != 0)
            goto out_changes;
    }
    rc = message_event(ap, t, c, msg_seq);
    if (rc != 0)
        goto out_changes;
    ap->res->ticket_id = t->id;
    ap->res->thread_seq = msg_seq;

out_changes:
    json_decref(changes);
    return rc;
}

/* ---- ENGINE_AGENT_REPLY / ENGINE_AGENT_NOTE --------------------------------- */

static int load_ticket(struct apply *ap, int64_t id, struct ticket **t, struct customer **c)
{
    if (id <= 0)
        return err_field(ap->e, ERR_INVAL, "ticket_id", "ticket id must be positive");
    int rc = store_ticket_get(ap->en->w, id, ap->a, t, ap->e);
    if (rc == ERR_NOTFOUND) {
        err_clear(ap->e);
        err_set(ap->e, ERR_NOTFOUND, "ticket %" PRId64 " not found", id);
        return ERR_NOTFOUND;
    }
    if (rc != 0)
        return rc;
    if (*t == NULL) {
        err_set(ap->e, ERR_INTERNAL, "ticket lookup returned nothing");
        return ERR_INTERNAL;
    }
    if (c == NULL)
        return 0;
    rc = store_customer_get(ap->en->w, (*t)->customer_id, ap->a, c, ap->e);
    if (rc == 0 && *c == NULL)
        rc = err_set(ap->e, ERR_INTERNAL, "customer lookup returned nothing");
    return rc;
}

/* `field` is the input that named the agent ("agent", "assignee"). */
static int known_agent(struct apply *ap, const char *field, const char *id,
                       const struct cfg_agent **out)
{
    if (blank(id))
        return err_field(ap->e, ERR_INVAL, field, "%s must not be empty", field);
    *out = cfg_agent_find(ap->cfg, id);
    if (*out == NULL)
        return err_field(ap->e, ERR_UNPROCESSABLE, field, "unknown agent '%s'", id);
    return 0;
}

static int apply_agent_message(struct apply *ap, const struct engine_event *ev)
{
    bool note = ev->type == ENGINE_AGENT_NOTE;
    const struct cfg_agent *agent = NULL;
    int rc = known_agent(ap, "agent", ev->agent_id, &agent);
    if (rc != 0)
        return rc;
    if (blank(ev->text))
        return err_field(ap->e, ERR_INVAL, "text", "text must not be empty");
    if (strlen(ev->text) > ENGINE_TEXT_MAX)
        return err_field(ap->e, ERR_TOOBIG, "text", "text is longer than %u bytes",
                         ENGINE_TEXT_MAX);
    struct ticket *t = NULL;
    struct customer *c = NULL;
    rc = load_ticket(ap, ev->ticket_id, &t, &c);
    if (rc != 0)
        return rc;
    if (!note && t->status == TICKET_CLOSED)
        return err_set(ap->e, ERR_CONFLICT,
                       "ticket %" PRId64 " is closed; the customer's next message opens "
                       "a new conversation", t->id);

    struct thread_entry msg = {
        .kind = note ? THREAD_NOTE : THREAD_MESSAGE,
        .dir = note ? DIR_INTERNAL : DIR_OUTBOUND,
        .author_type = AUTHOR_AGENT,
        .author_id = agent->id,
        .author_name = agent->name ? agent->name : agent->id,
        .text = ev->text,
        .tg_chat_id = ev->tg_chat_id,
        .tg_message_id = ev->tg_message_id,
    };
    rc = thread_add(ap, t, &msg);
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
            rc = set_assignee(ap, t, agent->id, agent->id, "first agent to reply", changes);
            if (rc != 0)
                goto out;
            assigned = true;
        }
        enum ticket_status next = workflow_after_agent_reply(t->status);
        if (next != t->status) {
            rc = set_status(ap, t, next, agent->id, "agent replied", changes);
            if (rc != 0)
                goto out;
        }
        /* The reply leaves through the durable Telegram outbox. */
        rc = outbox_send_text(ap->en->w, c->tg_user_id, false, t->id, ev->text, ap->now, ap->e);
        if (rc != 0)
            goto out;
    }
    /* Written elsewhere than in the topic (API, help desk): show it there too,
     * so the topic stays the complete conversation for the agents. */
    if (ev->tg_chat_id == 0 && staff_chat(ap->cfg) != 0) {
        char *mirror = arena_printf(ap->a, note ? "\xF0\x9F\x93\x9D %s (internal note): %s"
                                                : "\xE2\x86\xAA %s: %s",
                                    msg.author_name, ev->text);
        rc = mirror ? outbox_send_text(ap->en->w, staff_chat(ap->cfg), true, t->id, mirror,
                                       ap->now, ap->e)
                    : err_set(ap->e, ERR_TOOBIG, "event too large");
        if (rc != 0)
            goto out;
    }
    rc = store_ticket_update(ap->en->w, t, ap->e);
    if (rc != 0)
        goto out;
    if (!note) {
        if (json_object_size(changes) > 0) {
            rc = actor_event(ap, "ticket.updated", t, c, agent->id, changes);
            if (rc != 0)
                goto out;
        }
        if (assigned) {
            rc = actor_event(ap, "ticket.assigned", t, c, agent->id, NULL);
            if (rc != 0)
                goto out;
        }
        rc = message_event(ap, t, c, msg_seq);
        if (rc != 0)
            goto out;
    }
    ap->res->ticket_id = t->id;
    ap->res->thread_seq = msg_seq;
out:
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
    int rc = load_ticket(ap, ev->ticket_id, &t, &c);
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
        if (blank(ev->group) || cfg_group_find(ap->cfg, ev->group) == NULL)
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
    json_t *changes = json_object();
    bool assigned = false, resolved = false;
    if (ev->set_group && strcmp(group, t->group) != 0) {
        const char *from = t->group;
        t->group = arena_strdup(ap->a, group);
        struct kv *d = kv2(ap, "from", from, "to", group);
        if (d == NULL) {
            rc = err_set(ap->e, ERR_TOOBIG, "event too large");
            goto out;
        }
        json_object_set_new(changes, "group", change(from, group));
        rc = thread_event(ap, t, "group_changed",
                          arena_printf(ap->a, "moved from %s to %s", from, group), d, 2, actor);
        if (rc != 0)
            goto out;
        /* An assignee who does not serve the new group lets the ticket go. */
        const struct cfg_agent *cur = t->assignee ? cfg_agent_find(ap->cfg, t->assignee) : NULL;
        if (!ev->set_assignee && t->assignee != NULL && (cur == NULL || !cfg_agent_in_group(cur, group))) {
            rc = set_assignee(ap, t, NULL, actor, "does not serve the new group", changes);
            if (rc != 0)
                goto out;
        }
    }
    if (ev->set_assignee) {
        bool same = (assignee == NULL && t->assignee == NULL) ||
                    (assignee != NULL && t->assignee != NULL && strcmp(assignee, t->assignee) == 0);
        if (!same) {
            rc = set_assignee(ap, t, assignee, actor, ev->reason, changes);
            if (rc != 0)
                goto out;
            assigned = assignee != NULL;
        }
    }
    if (ev->set_priority && ev->priority != t->priority) {
        const char *from = ticket_priority_name(t->priority);
        const char *to = ticket_priority_name(ev->priority);
        t->priority = ev->priority;
        struct kv *d = kv2(ap, "from", from, "to", to);
        if (d == NULL) {
            rc = err_set(ap->e, ERR_TOOBIG, "event too large");
            goto out;
        }
        json_object_set_new(changes, "priority", change(from, to));
        rc = thread_event(ap, t, "priority_changed",
                          arena_printf(ap->a, "priority %s → %s", from, to), d, 2, actor);
        if (rc != 0)
            goto out;
    }
    if (ev->set_status && ev->status != t->status) {
        rc = set_status(ap, t, ev->status, actor, ev->reason, changes);
        if (rc != 0)
            goto out;
        resolved = ev->status == TICKET_RESOLVED;
        if (ev->status == TICKET_CLOSED && staff_chat(ap->cfg) != 0) {
            rc = outbox_topic_call(ap->en->w, "closeForumTopic", staff_chat(ap->cfg), t->id,
                                   ap->now, ap->e);
            if (rc != 0)
                goto out;
        }
    }
    if (json_object_size(changes) == 0)
        goto done;   /* everything already as asked: nothing to record */

    t->updated_at = ap->now;
    rc = store_ticket_update(ap->en->w, t, ap->e);
    if (rc != 0)
        goto out;
    rc = actor_event(ap, "ticket.updated", t, c, actor, changes);
    if (rc == 0 && assigned)
        rc = actor_event(ap, "ticket.assigned", t, c, actor, NULL);
    if (rc == 0 && resolved)
        rc = actor_event(ap, "ticket.resolved", t, c, actor, NULL);
    if (rc != 0)
        goto out;
done:
    ap->res->ticket_id = t->id;
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
    rc = store_agent_state_list(ap->en->w, ap->a, &all, &n, ap->e);
    if (rc != 0)
        return rc;
    struct agent_state st = {.agent_id = agent->id};
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].agent_id, agent->id) == 0)
            st = all[i];
    if (st.changed_at != 0 && st.availability == ev->availability)
        return 0;
    st.availability = ev->availability;
    st.changed_at = ap->now;
    return store_agent_state_put(ap->en->w, &st, ap->e);
}

/* ---- timers -------------------------------------------------------------------- */

/*
 * Apply every timer due at `now`. No timer kinds exist before the SLA
 * milestone; a row of an unknown kind (written by a newer binary) is left
 * in place and logged rather than silently deleted.
 */
static int apply_timers(struct apply *ap)
{
    struct timer_row *due = NULL;
    size_t n = 0;
    int rc = store_timer_due(ap->en->w, ap->now, 256, ap->a, &due, &n, ap->e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        log_msg(LOG_WARN, "engine.timer_unknown", "timer kind '%s' for ticket %" PRId64
                " has no handler", due[i].kind, due[i].ticket_id);
    return 0;
}

/* ---- ENGINE_STAFF_MESSAGE: agents in the staff group ------------------------------ */

/* A line from the bot in the ticket's topic (usage, refusals, confirmations). */
static int topic_say(struct apply *ap, int64_t ticket_id, const char *text)
{
    return outbox_send_text(ap->en->w, staff_chat(ap->cfg), true, ticket_id, text, ap->now,
                            ap->e);
}

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
    return topic_say(ap, ticket_id, text ? text : "refused");
}

/*
 * Manual escalation: priority one level up and, when the configuration has
 * a group of a higher support level, the ticket moves to the nearest one
 * (its agents are mentioned in the topic). Policy-driven escalation comes
 * with the support-logic milestone.
 */
static int escalate(struct apply *ap, int64_t ticket_id, const char *actor, const char *reason)
{
    struct ticket *t = NULL;
    int rc = load_ticket(ap, ticket_id, &t, NULL);
    if (rc != 0)
        return rc;
    const struct cfg_group *cur = cfg_group_find(ap->cfg, t->group);
    const struct cfg_group *up = NULL;
    for (size_t i = 0; i < ap->cfg->ngroups; i++) {
        const struct cfg_group *g = &ap->cfg->groups[i];
        if (cur != NULL && g->level > cur->level && (up == NULL || g->level < up->level))
            up = g;
    }
    if (t->priority == PRIORITY_URGENT && up == NULL) {
        err_set(ap->e, ERR_CONFLICT, "ticket %" PRId64 " is already at the top level", t->id);
        return ERR_CONFLICT;
    }
    struct engine_event u = {
        .type = ENGINE_TICKET_UPDATE, .ticket_id = ticket_id, .actor = actor,
        .reason = reason && *reason ? reason : "escalated",
        .set_priority = t->priority < PRIORITY_URGENT,
        .priority = t->priority < PRIORITY_URGENT ? t->priority + 1 : t->priority,
        .set_group = up != NULL, .group = up ? up->name : NULL,
    };
    rc = apply_ticket_update(ap, &u);
    if (rc != 0)
        return rc;
    rc = load_ticket(ap, ticket_id, &t, NULL);
    if (rc != 0)
        return rc;
    struct kv *d = kv2(ap, "reason", u.reason, "group", t->group);
    if (d == NULL)
        return err_set(ap->e, ERR_TOOBIG, "event too large");
    rc = thread_event(ap, t, "escalated",
                      arena_printf(ap->a, "escalated to %s: %s", t->group, u.reason), d, 2, actor);
    if (rc == 0)
        rc = store_ticket_update(ap->en->w, t, ap->e);
    struct customer *c = NULL;
    if (rc == 0)
        rc = store_customer_get(ap->en->w, t->customer_id, ap->a, &c, ap->e);
    if (rc == 0) {
        json_t *extra = json_object();
        json_object_set_new(extra, "actor", json_string(actor));
        json_object_set_new(extra, "reason", json_string(u.reason));
        rc = domain_event(ap, "ticket.escalated", t, c, extra);
    }
    if (rc == 0 && staff_chat(ap->cfg) != 0) {
        struct buf b;
        buf_init(&b, 4096);
        buf_printf(&b, "\xE2\xAC\x86 Escalated to %s (%s).", t->group, u.reason);
        for (size_t i = 0; i < ap->cfg->nagents; i++) {
            const struct cfg_agent *ag = &ap->cfg->agents[i];
            if (cfg_agent_in_group(ag, t->group) && ag->username != NULL)
                buf_printf(&b, " @%s", ag->username);
        }
        rc = topic_say(ap, t->id, buf_str(&b));
        buf_release(&b);
    }
    return rc;
}

static int apply_staff_message(struct apply *ap, const struct engine_event *ev)
{
    if (ev->topic_id == 0) {     /* an update that only moves the offset */
        ap->res->ignored = true;
        return 0;
    }
    struct ticket *t = NULL;
    int rc = store_ticket_get_by_topic(ap->en->w, ev->topic_id, ap->a, &t, ap->e);
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
            return topic_say(ap, t->id, arena_printf(ap->a, "The ticket is already %s.",
                                                     ticket_status_name(t->status)));
        return topic_run(ap, t->id, apply_ticket_update(ap, &sub));
    case COMMAND_ASSIGN:
        sub.type = ENGINE_TICKET_UPDATE;
        sub.set_assignee = true;
        sub.assignee = arg;
        return topic_run(ap, t->id, apply_ticket_update(ap, &sub));
    case COMMAND_ESCALATE:
        return topic_run(ap, t->id, escalate(ap, t->id, actor, arg));
    case COMMAND_TEMPLATE:
        return topic_say(ap, t->id, "Canned responses (/r) are not available yet: they "
                                    "arrive with the templates milestone.");
    case COMMAND_UNKNOWN:
    case COMMAND_BAD_ARGS:
    default:
        return topic_say(ap, t->id, arena_printf(ap->a, "Unknown command or bad argument: /%s\n\n%s",
                                                 cmd.name, command_usage()));
    }
}

/* ---- ENGINE_CUSTOMER_EDIT ------------------------------------------------------------ */

static int apply_customer_edit(struct apply *ap, const struct engine_event *ev)
{
    if (blank(ev->text))
        return err_field(ap->e, ERR_INVAL, "text", "text must not be empty");
    struct customer *c = NULL;
    int rc = store_customer_get_by_tg(ap->en->w, ev->customer.tg_user_id, ap->a, &c, ap->e);
    struct ticket *t = NULL;
    if (rc == 0)
        rc = store_ticket_latest_for_customer(ap->en->w, c->id, ap->a, &t, ap->e);
    if (rc == 0)
        rc = store_thread_edit(ap->en->w, t->id, ev->tg_chat_id, ev->tg_message_id, ev->text,
                               ap->now, ap->e);
    if (rc == ERR_NOTFOUND) {     /* an edit of something we never recorded */
        err_clear(ap->e);
        ap->res->ignored = true;
        return 0;
    }
    if (rc != 0)
        return rc;
    ap->res->ticket_id = t->id;
    if (staff_chat(ap->cfg) == 0)
        return 0;
    char *text = arena_printf(ap->a, "\xE2\x9C\x8F %s edited a message: %s", c->first_name,
                              ev->text);
    return topic_say(ap, t->id, text ? text : "(edited)");
}

/* ---- ENGINE_OUTBOX_RESULT -------------------------------------------------------------- */

/* Post the ticket's history into its freshly recreated topic. */
static int post_history(struct apply *ap, const struct ticket *t)
{
    struct thread_entry *th = NULL;
    size_t n = 0;
    int rc = store_thread_list(ap->en->w, t->id, ap->a, &th, &n, ap->e);
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
    rc = topic_say(ap, t->id, buf_str(&b));
    buf_release(&b);
    return rc;
}

static int apply_outbox_result(struct apply *ap, const struct engine_event *ev)
{
    struct tg_outbox_row *row = NULL;
    int rc = store_tg_outbox_get(ap->en->w, ev->outbox_id, ap->a, &row, ap->e);
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
        rc = load_ticket(ap, row->ticket_id, &t, NULL);
        if (rc != 0)
            return rc;
        ap->res->ticket_id = t->id;
    }
    switch (ev->outcome) {
    case OUTBOX_SENT:
        rc = store_tg_outbox_update(ap->en->w, row->id, "sent", attempts, ap->now, NULL, NULL,
                                    ap->e);
        if (rc == 0 && t != NULL && strcmp(row->method, "createForumTopic") == 0) {
            bool recreated = thread_has_event(ap, t->id, "topic_lost");
            t->topic_id = ev->topic_id;
            t->updated_at = ap->now;
            rc = store_ticket_update(ap->en->w, t, ap->e);
            if (rc == 0 && recreated)
                rc = post_history(ap, t);
        }
        return rc;
    case OUTBOX_RETRY:
        return store_tg_outbox_update(ap->en->w, row->id, "pending", attempts,
                                      ev->retry_at > ap->now ? ev->retry_at : ap->now, err,
                                      NULL, ap->e);
    case OUTBOX_THREAD_LOST:
        rc = store_tg_outbox_update(ap->en->w, row->id, "pending", attempts, ap->now, err, NULL,
                                    ap->e);
        if (rc != 0 || t == NULL || t->topic_id == 0)
            return rc;    /* already being recreated */
        {
            struct kv *d = kv2(ap, "topic_id", arena_printf(ap->a, "%" PRId64, t->topic_id),
                               "error", err);
            t->topic_id = 0;
            t->updated_at = ap->now;
            rc = d ? thread_event(ap, t, "topic_lost", "the ticket's topic was deleted; "
                                  "recreating it", d, 2, "system")
                   : err_set(ap->e, ERR_TOOBIG, "event too large");
        }
        if (rc == 0)
            rc = store_ticket_update(ap->en->w, t, ap->e);
        if (rc == 0) {
            struct customer *c = NULL;
            rc = store_customer_get(ap->en->w, t->customer_id, ap->a, &c, ap->e);
            char name[TICKET_TOPIC_NAME_MAX];
            if (rc == 0)
                rc = outbox_create_topic(ap->en->w, staff_chat(ap->cfg), t->id,
                                         ticket_topic_name(c->first_name, c->last_name, t->id, name),
                                         ap->now, ap->e);
        }
        return rc;
    case OUTBOX_BLOCKED:
    case OUTBOX_FAILED:
    default:
        rc = store_tg_outbox_update(ap->en->w, row->id, "failed", attempts, ap->now, err, NULL,
                                    ap->e);
        if (rc != 0 || t == NULL)
            return rc;
        struct customer *c = NULL;
        rc = store_customer_get(ap->en->w, t->customer_id, ap->a, &c, ap->e);
        if (rc != 0)
            return rc;
        bool blocked = ev->outcome == OUTBOX_BLOCKED;
        struct kv *d = kv2(ap, "method", row->method, "error", err);
        if (d == NULL)
            return err_set(ap->e, ERR_TOOBIG, "event too large");
        rc = thread_event(ap, t, blocked ? "customer_blocked" : "delivery_failed",
                          blocked ? "the customer blocked the bot; messages cannot be delivered"
                                  : arena_printf(ap->a, "%s failed: %s", row->method, err),
                          d, 2, "system");
        t->updated_at = ap->now;
        if (rc == 0)
            rc = store_ticket_update(ap->en->w, t, ap->e);
        if (rc == 0 && blocked && !c->blocked) {
            c->blocked = true;
            rc = store_customer_update(ap->en->w, c, ap->e);
            if (rc == 0)
                rc = domain_event(ap, "customer.blocked", t, c, NULL);
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

static int apply_one(struct engine *en, const struct cfg *c, const struct engine_event *ev,
                     int64_t now, struct engine_result *res, struct arena *a)
{
    arena_reset(a);   /* one arena per batch, emptied for each event */
    struct apply ap = {.en = en, .cfg = c, .a = a, .now = now, .e = &res->err, .res = res};
    int rc;
    switch (ev->type) {
    case ENGINE_CUSTOMER_MESSAGE:   rc = apply_customer_message(&ap, ev); break;
    case ENGINE_AGENT_REPLY:
    case ENGINE_AGENT_NOTE:         rc = apply_agent_message(&ap, ev); break;
    case ENGINE_TICKET_UPDATE:      rc = apply_ticket_update(&ap, ev); break;
    case ENGINE_AGENT_AVAILABILITY: rc = apply_agent_availability(&ap, ev); break;
    case ENGINE_TIMERS_DUE:         rc = apply_timers(&ap); break;
    case ENGINE_STAFF_MESSAGE:      rc = apply_staff_message(&ap, ev); break;
    case ENGINE_CUSTOMER_EDIT:      rc = apply_customer_edit(&ap, ev); break;
    case ENGINE_OUTBOX_RESULT:      rc = apply_outbox_result(&ap, ev); break;
    default:
        rc = err_set(&res->err, ERR_INVAL, "unknown event type %d", (int)ev->type);
    }
    if (rc == 0 && a->exhausted)
        rc = err_set(&res->err, ERR_TOOBIG, "event needs more than %u bytes of memory",
                     ENGINE_EVENT_ARENA);
    return rc;
}

int engine_apply_batch(struct engine *en, const struct engine_event *evs,
                       struct engine_result *res, size_t n, struct err *e)
{
    struct cfg *c = cfg_get(en);
    int64_t now = clock_now_ms(en->clock);
    int64_t max_update = en->last_update_id;
    struct arena *a = arena_new(ENGINE_EVENT_ARENA);
    int rc = store_begin(en->w, e);
    if (rc != 0)
        goto out_cfg;
    for (size_t i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof res[i]);
        if (evs[i].update_id != 0 && evs[i].update_id <= max_update) {
            res[i].duplicate = true;
            continue;
        }
        if (evs[i].update_id > max_update)
            max_update = evs[i].update_id;
        if (evs[i].idem_key != NULL) {
            int seen = idem_seen(en, evs[i].idem_key, a, &res[i]);
            if (seen < 0)
                res[i].code = seen;
            if (seen != 0)
                continue;
        }
        rc = store_savepoint(en->w, e);
        if (rc != 0)
            goto out_rollback;
        int erc = apply_one(en, c, &evs[i], now, &res[i], a);
        if (erc == 0 && evs[i].idem_key != NULL)
            erc = idem_record(en, evs[i].idem_key, now, &res[i]);
        res[i].code = erc;
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
    pthread_mutex_lock(&en->mu);
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
    for (size_t i = 0; i < n; i++) {
        res[i].code = rc;
        res[i].ticket_id = 0;
        res[i].created = res[i].reopened = res[i].duplicate = false;
        err_clear(&res[i].err);
        err_set(&res[i].err, rc, "%s", e && e->code ? e->msg : "the batch could not be committed");
    }
out_cfg:
    arena_free(&a);
    cfg_unref(&c);
    return rc;
}

/* ---- the thread ----------------------------------------------------------------- */

static void *engine_main(void *arg)
{
    struct engine *en = arg;
    struct engine_event *evs = mem_alloc(ENGINE_BATCH_MAX * sizeof *evs);
    struct engine_result *res = mem_alloc(ENGINE_BATCH_MAX * sizeof *res);
    struct job **jobs = mem_alloc(ENGINE_BATCH_MAX * sizeof(struct job *));

    pthread_mutex_lock(&en->mu);
    for (;;) {
        while (en->head == NULL && !en->stopping && !en->kicked)
            pthread_cond_wait(&en->wake, &en->mu);
        if (en->head == NULL && en->stopping)
            break;
        bool kicked = en->kicked;
        en->kicked = false;
        size_t n = 0;
        while (en->head != NULL && n < ENGINE_BATCH_MAX) {
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
            if (engine_apply_batch(en, &tick, &tres, 1, &e) != 0)
                log_msg(LOG_ERROR, "engine.timers_failed", "%s", e.msg);
            err_clear(&e);
        }
        if (n > 0 && engine_apply_batch(en, evs, res, n, &e) != 0)
            log_msg(LOG_ERROR, "engine.commit_failed", "%s", e.msg);

        pthread_mutex_lock(&en->mu);
        for (size_t i = 0; i < n; i++) {
            *jobs[i]->res = res[i];
            jobs[i]->done = true;
        }
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
    en->cfg = cfg_ref(c);
    en->w = w;
    en->clock = clk;
    pthread_mutex_init(&en->mu, NULL);
    pthread_cond_init(&en->wake, NULL);
    pthread_cond_init(&en->done, NULL);

    struct arena *a = arena_new(0);
    const char *v = NULL;
    int rc = store_meta_get(w, "telegram.last_update_id", a, &v, e);
    if (rc == 0) {
        en->last_update_id = strtoll(v, NULL, 10);
    } else if (rc == ERR_NOTFOUND) {
        err_clear(e);
        rc = 0;
    }
    arena_free(&a);
    if (rc == 0)
        rc = seed_agents(en, c, e);
    if (rc != 0) {
        en->w = NULL;   /* on failure the caller keeps the connection */
        engine_free(&en);
        return rc;
    }
    *out = en;
    return 0;
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

int64_t engine_last_update_id(struct engine *en)
{
    pthread_mutex_lock(&en->mu);
    int64_t v = en->last_update_id;
    pthread_mutex_unlock(&en->mu);
    return v;
}

void engine_set_cfg(struct engine *en, struct cfg *c)
{
    struct cfg *nc = cfg_ref(c);
    pthread_mutex_lock(&en->mu);
    struct cfg *old = en->cfg;
    en->cfg = nc;
    pthread_mutex_unlock(&en->mu);
    cfg_unref(&old);
}

struct cfg *engine_cfg(struct engine *en)
{
    return cfg_get(en);
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
    cfg_unref(&en->cfg);
    pthread_cond_destroy(&en->done);
    pthread_cond_destroy(&en->wake);
    pthread_mutex_destroy(&en->mu);
    mem_free(en);
    *enp = NULL;
}
