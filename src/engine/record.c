/*
 * record.c — thread entries, domain events and recorded changes of one
 * event (see record.h).
 */
#include "engine/record.h"

#include <inttypes.h>
#include <string.h>

#include "base/buf.h"
#include "desk/view.h"
#include "engine/outbox.h"

bool record_blank(const char *s)
{
    if (s == NULL)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

int64_t record_staff_chat(const struct cfg *c)
{
    return c->telegram.token != NULL ? c->telegram.staff_group_id : 0;
}

struct kv *record_kvs(struct apply *ap, size_t n)
{
    return arena_alloc(ap->a, n * sizeof(struct kv));
}

struct kv *record_kv2(struct apply *ap, const char *k1, const char *v1, const char *k2,
                      const char *v2)
{
    struct kv *d = record_kvs(ap, 2);
    if (d != NULL) {
        d[0] = (struct kv){k1, v1};
        d[1] = (struct kv){k2, v2};
    }
    return d;
}

int record_too_big(struct apply *ap)
{
    return err_set(ap->e, ERR_TOOBIG, "event too large");
}

int record_thread_add(struct apply *ap, struct ticket *t, struct thread_entry *te)
{
    te->ticket_id = t->id;
    te->seq = ++t->thread_len;
    te->at = ap->now;
    int rc = store_thread_append(ap->w, te, ap->e);
    if (rc == 0 && t->id == ap->res->ticket_id)
        ap->res->thread_seq = te->seq;
    return rc;
}

int record_thread_event(struct apply *ap, struct ticket *t, const char *event,
                        const char *text, struct kv *data, size_t ndata, const char *actor)
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
    return record_thread_add(ap, t, &te);
}

int record_event_members(struct apply *ap, const char *type, const struct ticket *t,
                         const struct customer *c, const char *members, size_t len)
{
    struct buf b;
    buf_init(&b, 0);
    buf_putc(&b, '{');
    buf_append(&b, members, len);
    if (t != NULL) {
        /* the snapshot is written as text: see view.h */
        buf_puts(&b, len > 0 ? ",\"ticket\":" : "\"ticket\":");
        view_ticket_write(&b, t, c);
        buf_puts(&b, ",\"thread_seq\":");
        buf_put_int(&b, t->thread_len);
    }
    buf_putc(&b, '}');
    struct event_row r = {
        .type = type,
        .ticket_id = t ? t->id : 0,
        .occurred_at = ap->now,
        .data = buf_str(&b),
    };
    int rc = store_event_push(ap->w, &r, ap->e);
    buf_release(&b);
    return rc;
}

int record_event(struct apply *ap, const char *type, const struct ticket *t,
                 const struct customer *c, json_t *extra)
{
    struct buf x;
    buf_init(&x, 0);
    int rc = 0;
    if (extra != NULL && json_object_size(extra) > 0)
        rc = jx_dump(extra, &x);            /* "{...}": its members are inside */
    json_decref(extra);
    if (rc != 0) {
        buf_release(&x);
        return err_set(ap->e, ERR_INTERNAL, "cannot encode event %s", type);
    }
    rc = record_event_members(ap, type, t, c, x.len > 2 ? x.p + 1 : "",
                              x.len > 2 ? x.len - 2 : 0);
    buf_release(&x);
    return rc;
}

int record_actor_event(struct apply *ap, const char *type, const struct ticket *t,
                       const struct customer *c, const char *actor, json_t *changes)
{
    json_t *extra = json_object();
    if (changes != NULL)
        json_object_set(extra, "changes", changes);
    json_object_set_new(extra, "actor", json_string(actor));
    return record_event(ap, type, t, c, extra);
}

json_t *record_change(const char *from, const char *to)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", jx_str_or_null(from));
    json_object_set_new(o, "to", jx_str_or_null(to));
    return o;
}

int record_changed(struct apply *ap, struct ticket *t, const char *event, const char *field,
                   const char *from, const char *to, const char *text, const char *actor,
                   json_t *changes)
{
    struct kv *d = record_kv2(ap, "from", from, "to", to);
    if (d == NULL || text == NULL)
        return record_too_big(ap);
    if (changes != NULL)
        json_object_set_new(changes, field, record_change(from, to));
    return record_thread_event(ap, t, event, text, d, 2, actor);
}

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

int record_status(struct apply *ap, struct ticket *t, enum ticket_status to,
                  const char *actor, const char *reason, json_t *changes)
{
    enum ticket_status from = t->status;
    t->status = to;
    stamp_status(t, to, ap->now);
    struct kv *d = record_kvs(ap, 3);
    if (d == NULL)
        return record_too_big(ap);
    d[0] = (struct kv){"from", ticket_status_name(from)};
    d[1] = (struct kv){"to", ticket_status_name(to)};
    size_t nd = 2;
    if (reason != NULL)
        d[nd++] = (struct kv){"reason", reason};
    char *text = arena_printf(ap->a, "status %s → %s", ticket_status_name(from),
                              ticket_status_name(to));
    if (changes != NULL)
        json_object_set_new(changes, "status",
                            record_change(ticket_status_name(from), ticket_status_name(to)));
    return record_thread_event(ap, t, "status_changed", text, d, nd, actor);
}

/* An agent added by a reload has no state row yet: it gets one with its
 * configured initial availability. */
int record_agent_assigned(struct apply *ap, const char *agent)
{
    int rc = store_agent_assigned(ap->w, agent, ap->now, ap->e);
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear(ap->e);
    const struct cfg_agent *ca = cfg_agent_find(ap->cfg, agent);
    struct agent_state st = {.agent_id = agent, .changed_at = ap->now,
                             .last_assigned_at = ap->now};
    if (ca != NULL && ca->availability != NULL)
        agent_avail_parse(ca->availability, &st.availability, NULL);
    return store_agent_state_put(ap->w, &st, ap->e);
}

int record_assignee_entry(struct apply *ap, struct ticket *t, const char *from, const char *to,
                          const char *actor, const char *reason, const struct kv *extra,
                          size_t nextra)
{
    struct kv *d = record_kvs(ap, 3 + nextra);
    /* issue 6: every assignment says in the thread which rule decided it and
     * why — in the text people read, and in data for machines */
    const char *sep = reason != NULL ? " — " : "", *why = reason != NULL ? reason : "";
    char *text = to ? arena_printf(ap->a, "assigned to %s%s%s", to, sep, why)
                    : arena_printf(ap->a, "unassigned from %s%s%s", from ? from : "-", sep, why);
    if (d == NULL || text == NULL)
        return record_too_big(ap);
    size_t nd = 0;
    if (from != NULL)
        d[nd++] = (struct kv){"from", from};
    if (to != NULL)
        d[nd++] = (struct kv){"to", to};
    if (reason != NULL)
        d[nd++] = (struct kv){"reason", reason};
    for (size_t i = 0; i < nextra; i++)
        d[nd++] = extra[i];
    return record_thread_event(ap, t, to ? "assigned" : "unassigned", text, d, nd, actor);
}

int record_assignee(struct apply *ap, struct ticket *t, const char *agent, const char *actor,
                    const char *reason, const struct kv *extra, size_t nextra,
                    json_t *changes)
{
    const char *from = t->assignee;
    t->assignee = agent ? arena_strdup(ap->a, agent) : NULL;
    if (agent != NULL && t->assignee == NULL)
        return record_too_big(ap);
    if (changes != NULL)
        json_object_set_new(changes, "assignee", record_change(from, agent));
    int rc = record_assignee_entry(ap, t, from, agent, actor, reason, extra, nextra);
    if (rc != 0 || agent == NULL)
        return rc;
    return record_agent_assigned(ap, agent);
}

int record_assigned_events(struct apply *ap, const struct ticket *t, const struct customer *c,
                           const char *from, const char *actor)
{
    json_t *changes = json_object();
    json_object_set_new(changes, "assignee", record_change(from, t->assignee));
    int rc = record_actor_event(ap, "ticket.updated", t, c, actor, changes);
    json_decref(changes);
    if (rc == 0 && t->assignee != NULL)
        rc = record_actor_event(ap, "ticket.assigned", t, c, actor, NULL);
    return rc;
}

int record_load_ticket(struct apply *ap, int64_t id, struct ticket **t, struct customer **c)
{
    if (id <= 0)
        return err_field(ap->e, ERR_INVAL, "ticket_id", "ticket id must be positive");
    int rc = store_ticket_get(ap->w, id, ap->a, t, ap->e);
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
    rc = store_customer_get(ap->w, (*t)->customer_id, ap->a, c, ap->e);
    if (rc == 0 && *c == NULL)
        rc = err_set(ap->e, ERR_INTERNAL, "customer lookup returned nothing");
    return rc;
}

int record_topic_say(struct apply *ap, int64_t ticket_id, const char *text)
{
    int64_t staff = record_staff_chat(ap->cfg);
    if (staff == 0)
        return 0;
    return outbox_send_text(ap->w, staff, true, ticket_id, text, ap->now, ap->e);
}
