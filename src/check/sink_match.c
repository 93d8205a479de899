/*
 * sink_match.c — a sink query compiled into predicates, and a record scored
 * against them.
 *
 * Scoring (how many predicates hold) rather than a yes/no answer is what
 * makes near misses possible: sink_find keeps the non-matching records with
 * the best scores and asks for the failed predicates of those few only, so
 * the messages are built for three records, not for the whole journal.
 */
#include "check/sink_impl.h"

#include "base/mem.h"
#include "check/jpath.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_TICKET_PATH "$.ticket.id"
#define SHOW_MAX 200

enum pkind { P_ENDPOINT, P_METHOD, P_TYPE, P_TICKET, P_WHERE, P_SIG, P_DUP };

struct pred {
    enum pkind kind;
    char *label;               /* owned: what the failure names */
    char *str;                 /* owned: endpoint, method, type */
    struct jpath *path;        /* owned: ticket, where */
    json_t *want;              /* owned: ticket, where; NULL = the path exists */
    enum sink_sig sig;
    bool dup;                  /* P_DUP: want a duplicate */
};

struct sink_match {
    struct pred *p;
    size_t n;
    int64_t since;
    enum sink_which which;
};

static struct pred *add(struct sink_match *m, enum pkind kind, const char *label)
{
    struct pred *p = &m->p[m->n++];
    p->kind = kind;
    p->label = mem_strdup(label);
    return p;
}

/* jpath's errors know no field names: add the query's. */
static void name_field(struct err *e, const char *field)
{
    if (e != NULL && e->field[0] == '\0')
        snprintf(e->field, sizeof e->field, "%s", field);
}

int sink_match_new(const struct sink_query *q, struct sink_match **out, struct err *e)
{
    *out = NULL;
    struct sink_match *m = mem_alloc(sizeof *m);
    m->p = mem_alloc((7 + q->nwhere) * sizeof *m->p);
    m->since = q->since;
    m->which = q->which;
    int rc = 0;
    if (q->endpoint != NULL) {
        if (!sink_endpoint_ok(q->endpoint, false)) {
            rc = err_field(e, ERR_INVAL, "endpoint", "bad endpoint name '%.80s'", q->endpoint);
            goto fail;
        }
        add(m, P_ENDPOINT, "endpoint")->str = mem_strdup(q->endpoint);
    }
    if (q->method != NULL)
        add(m, P_METHOD, "method")->str = mem_strdup(q->method);
    if (q->type != NULL)
        add(m, P_TYPE, "type")->str = mem_strdup(q->type);
    if (q->ticket != 0) {
        struct pred *p = add(m, P_TICKET, "ticket");
        const char *tp = q->ticket_path ? q->ticket_path : DEFAULT_TICKET_PATH;
        if ((rc = jpath_compile(tp, &p->path, e)) != 0) {
            name_field(e, "ticket_path");
            goto fail;
        }
        p->want = json_integer(q->ticket);
    }
    for (size_t i = 0; i < q->nwhere; i++) {
        const struct sink_where *w = &q->where[i];
        struct pred *p = add(m, P_WHERE, w->path ? w->path : "");
        if ((rc = jpath_compile(w->path, &p->path, e)) != 0) {
            char field[48];
            snprintf(field, sizeof field, "where[%zu].path", i);
            name_field(e, field);
            goto fail;
        }
        p->want = w->equals ? json_deep_copy(w->equals) : NULL;
    }
    if (q->sig != SINK_SIG_ANY)
        add(m, P_SIG, "signature")->sig = q->sig;
    if (q->duplicate != SINK_EITHER)
        add(m, P_DUP, "duplicate")->dup = q->duplicate == SINK_YES;
    *out = m;
    return 0;

fail:
    sink_match_free(&m);
    return rc;
}

void sink_match_free(struct sink_match **mp)
{
    if (mp == NULL || *mp == NULL)
        return;
    struct sink_match *m = *mp;
    for (size_t i = 0; i < m->n; i++) {
        mem_free(m->p[i].label);
        mem_free(m->p[i].str);
        jpath_free(&m->p[i].path);
        json_decref(m->p[i].want);
    }
    mem_free(m->p);
    mem_free(m);
    *mp = NULL;
}

size_t sink_match_npreds(const struct sink_match *m)
{
    return m->n;
}

bool sink_match_window(const struct sink_match *m, const struct sink_record *r)
{
    if (r->seq <= m->since)
        return false;
    switch (m->which) {
    case SINK_REFUSED: return r->refused;
    case SINK_ALL: return true;
    default: return !r->refused;
    }
}

/* ---- one predicate ---------------------------------------------------------------- */

static char *show(const json_t *v)
{
    char buf[SHOW_MAX];
    return mem_strdup(jpath_show(v, buf, sizeof buf));
}

static char *show_str(const char *s)
{
    json_t *v = json_string(s);
    char *out = v ? show(v) : mem_strdup("(not UTF-8)");
    json_decref(v);
    return out;
}

/* A string predicate; *got (when got != NULL and it fails) says what was there. */
static bool test_str(const char *want, const char *have, const char *none, char **got)
{
    if (have != NULL && strcmp(want, have) == 0)
        return true;
    if (got != NULL)
        *got = have != NULL ? show_str(have) : mem_strdup(none);
    return false;
}

static bool test_path(const struct pred *p, const struct sink_record *r, char **got)
{
    if (r->json == NULL) {
        if (got != NULL)
            *got = mem_strdup("(the body is not JSON)");
        return false;
    }
    struct err why = {0};
    json_t *v = jpath_eval(p->path, r->json, got != NULL ? &why : NULL);
    if (v == NULL) {
        if (got != NULL)
            *got = mem_printf("(missing: %s)", why.msg);
        return false;
    }
    if (p->want == NULL || jpath_equal(v, p->want))
        return true;
    if (got != NULL)
        *got = show(v);
    return false;
}

static bool test_one(const struct pred *p, const struct sink_record *r, char **got)
{
    switch (p->kind) {
    case P_ENDPOINT:
        return test_str(p->str, r->endpoint[0] ? r->endpoint : NULL, "(not a /hooks/ path)",
                        got);
    case P_METHOD:
        return test_str(p->str, r->method, "", got);
    case P_TYPE:
        return test_str(p->str, r->type,
                        r->json == NULL ? "(the body is not JSON)" : "(no string $.type)", got);
    case P_TICKET:
    case P_WHERE:
        return test_path(p, r, got);
    case P_SIG:
        if (r->sig == p->sig)
            return true;
        if (got != NULL)
            *got = mem_strdup(sink_sig_name(r->sig));
        return false;
    case P_DUP:
        if ((r->dup_of != 0) == p->dup)
            return true;
        if (got != NULL)
            *got = r->dup_of != 0 ? mem_printf("duplicate of #%lld", (long long)r->dup_of)
                                  : mem_strdup("first delivery");
        return false;
    }
    return false;
}

static char *want_text(const struct pred *p)
{
    switch (p->kind) {
    case P_ENDPOINT:
    case P_METHOD:
    case P_TYPE:
        return show_str(p->str);
    case P_TICKET:
    case P_WHERE:
        return p->want != NULL ? show(p->want) : mem_strdup("(present)");
    case P_SIG:
        return mem_strdup(sink_sig_name(p->sig));
    case P_DUP:
        return mem_strdup(p->dup ? "a duplicate" : "first delivery");
    }
    return mem_strdup("");
}

size_t sink_match_test(const struct sink_match *m, const struct sink_record *r,
                       struct sink_fail **fails, size_t *nfails)
{
    size_t met = 0;
    for (size_t i = 0; i < m->n; i++) {
        char *got = NULL;
        if (test_one(&m->p[i], r, fails != NULL ? &got : NULL)) {
            met++;
            continue;
        }
        if (fails == NULL)
            continue;
        *fails = mem_realloc(*fails, (*nfails + 1) * sizeof **fails);
        (*fails)[*nfails] = (struct sink_fail){
            .predicate = mem_strdup(m->p[i].label),
            .want = want_text(&m->p[i]),
            .got = got,
        };
        (*nfails)++;
    }
    return met;
}

void sink_match_fails_free(struct sink_fail *fails, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mem_free(fails[i].predicate);
        mem_free(fails[i].want);
        mem_free(fails[i].got);
    }
    mem_free(fails);
}
