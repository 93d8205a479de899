/*
 * suggest.c — knowledge-base suggestions on tickets (see suggest.h).
 */
#include "engine/suggest.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "base/buf.h"
#include "desk/kb.h"
#include "engine/rules.h"

/* kb.suggestions is at most 20 (cfg.c). */
#define SUGGEST_MAX 20

/* The ticket's subject and every customer message of its thread. */
static int customer_texts(struct apply *ap, const struct ticket *t, const char ***out,
                          size_t *n)
{
    struct thread_entry *th = NULL;
    size_t nth = 0;
    int rc = store_thread_list(ap->w, t->id, ap->a, &th, &nth, ap->e);
    if (rc != 0)
        return rc;
    const char **texts = arena_alloc(ap->a, (nth + 1) * sizeof *texts);
    if (texts == NULL)
        return record_too_big(ap);
    size_t k = 0;
    texts[k++] = t->subject;
    for (size_t i = 0; i < nth; i++)
        if (th[i].kind == THREAD_MESSAGE && th[i].author_type == AUTHOR_CUSTOMER)
            texts[k++] = th[i].text;
    *out = texts;
    *n = k;
    return 0;
}

static bool same_ids(const struct ticket_kb *a, size_t na, const struct kb_hit *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].id, b[i].id) != 0)
            return false;
    return true;
}

/* The note for the agents, and the thread's record of it. */
static int announce(struct apply *ap, struct ticket *t)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "\xF0\x9F\x93\x9A Knowledge base (internal, for agents) — articles that may "
                 "answer this ticket:");
    for (size_t i = 0; i < t->nkb; i++) {
        buf_printf(&b, "\n%zu. %s (%s)", i + 1, t->kb[i].title, t->kb[i].id);
        if (t->kb[i].url != NULL)
            buf_printf(&b, " %s", t->kb[i].url);
    }
    int rc = record_topic_say(ap, t->id, buf_str(&b));
    buf_release(&b);
    if (rc != 0)
        return rc;
    buf_init(&b, 0);
    for (size_t i = 0; i < t->nkb; i++)
        buf_printf(&b, "%s%s", i ? "," : "", t->kb[i].id);
    struct kv d = {"articles", arena_strdup(ap->a, buf_str(&b))};
    buf_release(&b);
    if (d.value == NULL)
        return record_too_big(ap);
    return record_thread_event(ap, t, "kb_suggested",
                               arena_printf(ap->a, "%zu knowledge-base article%s suggested",
                                            t->nkb, t->nkb == 1 ? "" : "s"),
                               &d, 1, "system");
}

int suggest_refresh(struct apply *ap, struct ticket *t)
{
    const struct kb_index *ix = rules_kb(ap->rules);
    int want = ap->cfg->kb_suggestions;
    if (want <= 0 || ix == NULL || kb_index_articles(ix) == 0)
        return 0;
    if (want > SUGGEST_MAX)
        want = SUGGEST_MAX;
    const char **texts = NULL;
    size_t ntexts = 0;
    int rc = customer_texts(ap, t, &texts, &ntexts);
    if (rc != 0)
        return rc;
    struct kb_hit hits[SUGGEST_MAX];
    size_t n = kb_suggest(ix, texts, ntexts, (size_t)want, hits);
    bool changed = !same_ids(t->kb, t->nkb, hits, n);
    struct ticket_kb *kb = arena_alloc(ap->a, (n + 1) * sizeof *kb);
    if (kb == NULL)
        return record_too_big(ap);
    for (size_t i = 0; i < n; i++)      /* borrowed from the index, which outlives the event */
        kb[i] = (struct ticket_kb){hits[i].id, hits[i].title, hits[i].url,
                                   round(hits[i].score * 1000.0) / 1000.0};
    t->kb = kb;
    t->nkb = n;
    return changed && n > 0 ? announce(ap, t) : 0;
}
