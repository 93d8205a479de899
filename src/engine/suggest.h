/*
 * suggest.h — knowledge-base suggestions on tickets (private to src/engine/).
 *
 * desk/kb.h ranks the configured articles; this is where the ranking meets
 * a ticket: after a customer message is in the thread, the ticket's
 * subject and customer messages are ranked against the knowledge base and
 * the best kb.suggestions articles are kept on the ticket (t->kb, stored
 * with it, shown by the API and in every webhook snapshot). When the
 * articles suggested — their ids, in order — change to a non-empty list,
 * the agents are told once in the ticket's topic and the thread records a
 * kb_suggested event. Deterministic: the same messages give the same
 * articles in the same order.
 */
#ifndef TGCRM_ENGINE_SUGGEST_H
#define TGCRM_ENGINE_SUGGEST_H

#include "engine/record.h"

/*
 * Rank again for t (its thread already holds the new message) and update
 * t->kb in the event arena; the caller stores t. Nothing (and no thread
 * read) when the knowledge base is empty or kb.suggestions is 0.
 */
int suggest_refresh(struct apply *ap, struct ticket *t);

#endif
