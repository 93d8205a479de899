/*
 * view.h — the public JSON shape of desk records.
 *
 * One renderer per record, used by the REST API, the domain events the
 * engine writes (and so the webhook payloads) and the check framework, so a
 * ticket looks the same everywhere. Pure: builds jansson values or text.
 * Every json_t function returns a NEW reference (json_decref it), never NULL.
 */
#ifndef TGCRM_DESK_VIEW_H
#define TGCRM_DESK_VIEW_H

#include "base/buf.h"
#include "base/jx.h"
#include "desk/thread.h"
#include "desk/ticket.h"

/* {"id","telegram_user_id","first_name","last_name","username","language","tier","blocked"} */
json_t *view_customer(const struct customer *c);

/* The Ticket object of docs/openapi.yaml; `c` may be NULL (customer: null). */
json_t *view_ticket(const struct ticket *t, const struct customer *c);

/* The Sla object of docs/openapi.yaml (a ticket's "sla"): the clocks of
 * desk/sla.h as stored, times as RFC 3339; null for NULL. */
struct sla_state;
json_t *view_sla(const struct sla_state *s);

/* The Entry object of docs/openapi.yaml. */
json_t *view_entry(const struct thread_entry *te);

/* {k: v, ...} from a kv array (a key given twice keeps its first value). */
json_t *view_kv(const struct kv *kv, size_t n);

/*
 * The same shapes appended to b as JSON text, without building jansson
 * values (the engine writes a ticket snapshot into every domain event).
 * b must have no maximum (buf_init(b, 0)): appends then cannot fail.
 */
void view_customer_write(struct buf *b, const struct customer *c);
void view_kv_write(struct buf *b, const struct kv *kv, size_t n);
void view_ticket_write(struct buf *b, const struct ticket *t, const struct customer *c);
void view_sla_write(struct buf *b, const struct sla_state *s);
/* [{"id","title","url","score"}, ...]: a ticket's kb_suggestions. */
void view_kb_write(struct buf *b, const struct ticket_kb *kb, size_t n);

#endif
