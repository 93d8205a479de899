/*
 * baseline.c — recording and comparing behaviour baselines (baseline.h
 * says what is recorded and how it is normalised).
 *
 * Both directions go through one function, baseline_doc: recording dumps
 * it, comparing builds it for the current run and walks it beside the
 * parsed file, so a baseline recorded from a run always compares equal to
 * that run. jansson objects double as the small hash maps normalisation
 * needs (value -> placeholder, category -> count).
 */
#include "check/baseline.h"

#include "base/clock.h"
#include "base/jx.h"
#include "base/mem.h"
#include "check/report_impl.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

/* ---- normalisation -------------------------------------------------------- */

struct norm {
    json_t *seen;        /* "category\x1fvalue" -> placeholder (json string) */
    json_t *counts;      /* category -> integer */
    int64_t origin;      /* wall ms of scenario time 0, 0 = unknown */
};

static json_t *placeholder(struct norm *n, const char *cat, const char *value)
{
    char *k = mem_printf("%s\x1f%s", cat, value);
    json_t *p = json_object_get(n->seen, k);
    if (!p) {
        json_int_t c = json_integer_value(json_object_get(n->counts, cat)) + 1;
        json_object_set_new(n->counts, cat, json_integer(c));
        char *text = mem_printf("<%s#%" JSON_INTEGER_FORMAT ">", cat, c);
        p = json_string(text);
        json_object_set_new(n->seen, k, p);
        mem_free(text);
    }
    mem_free(k);
    return json_incref(p);
}

static bool all_digits(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* A string id the system made rather than one a person wrote in a config:
 * digits, prefix_token with a digit in the token (evt_12, msg_2Jk9), a
 * UUID, or a token of 16+ letters, digits, '_' and '-' mixing letters and
 * digits. */
static bool machine_made(const char *s)
{
    if (all_digits(s) || is_uuid(s))
        return true;
    size_t len = strlen(s), alpha = 0, digit = 0, other = 0;
    const char *us = strchr(s, '_');
    for (const char *p = s; *p; p++) {
        if (isalpha((unsigned char)*p))
            alpha++;
        else if (isdigit((unsigned char)*p))
            digit++;
        else if (*p != '_' && *p != '-')
            other++;
    }
    if (other || !digit)
        return false;
    if (us && us > s && us - s <= 16) {
        bool prefix_alpha = true, tail_digit = false;
        for (const char *p = s; p < us; p++)
            prefix_alpha = prefix_alpha && isalpha((unsigned char)*p);
        for (const char *p = us + 1; *p; p++)
            tail_digit = tail_digit || isdigit((unsigned char)*p);
        if (prefix_alpha && tail_digit && !strchr(us + 1, '_'))
            return true;
    }
    return len >= 16 && alpha > 0;
}

/* Categories that name the same kind of id under two names. */
static const char *alias(const char *cat)
{
    static const char *const pairs[][2] = {
        {"message_thread", "topic"}, {"from", "user"}, {"telegram_user", "user"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (strcmp(cat, pairs[i][0]) == 0)
            return pairs[i][1];
    return cat;
}

/* The category of an id held in member `key` of an object that is itself
 * member `parent` ("ticket_id" -> ticket; "id" in "tickets" -> ticket), or
 * NULL when key does not hold an id. Writes into out. */
static const char *id_category(const char *key, const char *parent, char *out, size_t n)
{
    size_t len = strlen(key);
    if (strcmp(key, "id") == 0) {
        snprintf(out, n, "%s", parent);
        len = strlen(out);
        if (len > 3 && out[len - 1] == 's' && out[len - 2] != 's')
            out[len - 1] = '\0';
    } else if (len > 3 && strcmp(key + len - 3, "_id") == 0) {
        snprintf(out, n, "%.*s", (int)(len - 3), key);
    } else if (len > 4 && strcmp(key + len - 4, "_ids") == 0) {
        snprintf(out, n, "%.*s", (int)(len - 4), key);
    } else {
        return NULL;
    }
    const char *a = alias(out);
    if (a != out)
        snprintf(out, n, "%s", a);
    return out;
}

/* v replaced by a placeholder when it is an id value; NULL when not. */
static json_t *norm_id(struct norm *n, const char *cat, json_t *v)
{
    char num[32];
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return placeholder(n, cat, num);
    }
    if (json_is_string(v) && machine_made(json_string_value(v)))
        return placeholder(n, cat, json_string_value(v));
    return NULL;
}

/* Strings from the report may be NULL or not UTF-8 (json_string refuses
 * those): fall back to a JSON null, which still compares stably. */
static json_t *str(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static json_t *norm_string(struct norm *n, const char *s)
{
    int64_t ms;
    if (strlen(s) >= 20 && isdigit((unsigned char)s[0]) && clock_parse_iso(s, &ms) == 0) {
        if (n->origin) {
            char t[REPORT_CLOCK_LEN];
            return json_string(report_clock(ms - n->origin, t));
        }
        return placeholder(n, "time", s);
    }
    return str(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The member names of objects a and b (either may be NULL or not an
 * object), sorted, each once: an array to mem_free, *n names in it, the
 * names borrowed from *holder (json_decref it after). Visiting members in
 * this order keeps numbering and diffs independent of member order. */
static const char **union_keys(json_t *a, json_t *b, json_t **holder, size_t *n)
{
    json_t *keys = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(a, k, v) {
        json_object_set(keys, k, json_true());
    }
    json_object_foreach(b, k, v) {
        json_object_set(keys, k, json_true());
    }
    size_t i = 0;
    const char **sorted = mem_alloc((json_object_size(keys) + 1) * sizeof *sorted);
    json_object_foreach(keys, k, v) {
        sorted[i++] = k;
    }
    qsort(sorted, i, sizeof *sorted, cmp_str);
    *holder = keys;
    *n = i;
    return sorted;
}

/* A normalised copy of v (new reference); `name` is the member v is held
 * in (the observation's kind at the top). Object members are visited in
 * sorted order so numbering does not depend on how a body orders them. */
static json_t *norm_value(struct norm *n, json_t *v, const char *name)
{
    char cat[128];
    if (json_is_object(v)) {
        size_t cnt;
        json_t *holder;
        const char **keys = union_keys(v, NULL, &holder, &cnt);
        json_t *out = json_object();
        for (size_t i = 0; i < cnt; i++) {
            json_t *child = json_object_get(v, keys[i]);
            const char *c = id_category(keys[i], name, cat, sizeof cat);
            json_t *nv = NULL;
            if (c && json_is_array(child)) {
                nv = json_array();
                size_t j;
                json_t *el;
                json_array_foreach(child, j, el) {
                    json_t *ne = norm_id(n, c, el);
                    json_array_append_new(nv, ne ? ne : norm_value(n, el, keys[i]));
                }
            } else if (c) {
                nv = norm_id(n, c, child);
            }
            json_object_set_new(out, keys[i], nv ? nv : norm_value(n, child, keys[i]));
        }
        mem_free(keys);
        json_decref(holder);
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t j;
        json_t *el;
        json_array_foreach(v, j, el) {
            json_array_append_new(out, norm_value(n, el, name));
        }
        return out;
    }
    if (json_is_string(v))
        return norm_string(n, json_string_value(v));
    return json_deep_copy(v);
}

/* An observation's key: a ticket's key is its id; in other keys each
 * integer word is an id (a chat for telegram, else of the kind). */
static json_t *norm_key(struct norm *n, const char *kind, const char *key)
{
    if (!key)
        return json_null();
    const char *cat = strcmp(kind, "ticket") == 0 ? "ticket"
                    : strcmp(kind, "telegram") == 0 ? "chat" : kind;
    struct buf b;
    buf_init(&b, 0);
    char *copy = mem_strdup(key), *save = NULL;
    bool first = true;
    for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (!first)
            buf_putc(&b, ' ');
        first = false;
        if (all_digits(w)) {
            json_t *p = placeholder(n, cat, w);
            buf_puts(&b, json_string_value(p));
            json_decref(p);
        } else {
            buf_puts(&b, w);
        }
    }
    json_t *out = json_string(buf_str(&b));
    buf_release(&b);
    mem_free(copy);
    return out;
}

static json_t *clock_str(int64_t ms)
{
    char t[REPORT_CLOCK_LEN];
    return json_string(report_clock(ms, t));
}

json_t *baseline_case(const struct check_case *c)
{
    struct norm n = {json_object(), json_object(), c->clock_origin_ms};
    json_t *out = json_object();
    json_object_set_new(out, "suite", str(c->suite));
    json_object_set_new(out, "scenario", str(c->scenario));
    json_object_set_new(out, "repeat", json_integer(c->repeat));
    json_object_set_new(out, "status", json_string(check_status_name(c->status)));
    json_t *steps = json_array();
    for (size_t i = 0; i < c->nsteps; i++) {
        const struct check_step *s = &c->steps[i];
        json_t *j = json_object();
        json_object_set_new(j, "kind", str(s->kind));
        json_object_set_new(j, "name", s->name ? norm_string(&n, s->name) : json_null());
        json_object_set_new(j, "status", json_string(check_status_name(s->status)));
        json_object_set_new(j, "at", clock_str(s->clock_start_ms));
        json_object_set_new(j, "end", clock_str(s->clock_end_ms));
        json_array_append_new(steps, j);
    }
    json_object_set_new(out, "steps", steps);
    /* observations grouped by kind, each kind in scenario-clock order
     * (the run's order among equal times); numbering follows the run's order */
    json_t *obs = json_object();
    json_t **norm = mem_alloc((c->nobs + 1) * sizeof(json_t *));
    for (size_t i = 0; i < c->nobs; i++) {
        const struct check_observation *o = &c->obs[i];
        const char *kind = o->kind ? o->kind : "other";
        json_t *j = json_object();
        json_object_set_new(j, "key", norm_key(&n, kind, o->key));
        json_t *raw = NULL;
        if (o->value && jx_parse(o->value, strlen(o->value), &raw, NULL) == 0) {
            json_object_set_new(j, "value", norm_value(&n, raw, kind));
            json_decref(raw);
        } else {
            json_object_set_new(j, "value", o->value ? norm_string(&n, o->value) : json_null());
        }
        json_object_set_new(j, "at", clock_str(o->at_ms));
        norm[i] = j;
    }
    size_t *order = mem_alloc((c->nobs + 1) * sizeof *order);
    for (size_t i = 0; i < c->nobs; i++) {     /* insertion sort: stable, usually sorted */
        size_t k = i;
        for (; k > 0 && c->obs[order[k - 1]].at_ms > c->obs[i].at_ms; k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
    for (size_t i = 0; i < c->nobs; i++) {
        const char *kind = c->obs[order[i]].kind ? c->obs[order[i]].kind : "other";
        json_t *list = json_object_get(obs, kind);
        if (!list) {
            list = json_array();
            json_object_set_new(obs, kind, list);
        }
        json_array_append_new(list, norm[order[i]]);
    }
    mem_free(order);
    mem_free(norm);
    json_object_set_new(out, "observations", obs);
    json_decref(n.seen);
    json_decref(n.counts);
    return out;
}

static int cmp_case(const void *a, const void *b)
{
    const struct check_case *x = *(const struct check_case *const *)a;
    const struct check_case *y = *(const struct check_case *const *)b;
    int d = strcmp(x->suite ? x->suite : "", y->suite ? y->suite : "");
    if (d == 0)
        d = strcmp(x->scenario ? x->scenario : "", y->scenario ? y->scenario : "");
    return d ? d : (x->repeat > y->repeat) - (x->repeat < y->repeat);
}

json_t *baseline_doc(const struct check_report *r)
{
    json_t *doc = json_object();
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, r->seed);
    json_object_set_new(doc, "baseline", json_integer(BASELINE_VERSION));
    json_object_set_new(doc, "generator", json_string("tgcrm check"));
    json_object_set_new(doc, "seed", json_string(seed));
    const struct check_case **sorted = mem_alloc((r->ncases + 1) * sizeof(struct check_case *));
    for (size_t i = 0; i < r->ncases; i++)
        sorted[i] = &r->cases[i];
    qsort(sorted, r->ncases, sizeof(struct check_case *), cmp_case);
    json_t *cases = json_array();
    for (size_t i = 0; i < r->ncases; i++)
        json_array_append_new(cases, baseline_case(sorted[i]));
    mem_free(sorted);
    json_object_set_new(doc, "cases", cases);
    return doc;
}

int baseline_render(const struct check_report *r, struct buf *out, struct err *e)
{
    json_t *doc = baseline_doc(r);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    int rc = text ? buf_puts(out, text) : ERR_NOMEM;
    if (rc == 0)
        rc = buf_putc(out, '\n');
    free(text);
    return rc ? err_set(e, rc, "cannot render the baseline") : 0;
}

/* ---- comparison ----------------------------------------------------------- */

#define DIFF_LINES_MAX 24     /* JSON paths shown per changed observation */
#define SHOW_MAX 160          /* bytes of a value shown in a message */

/* v as compact JSON, cut to SHOW_MAX bytes on a UTF-8 boundary; "(absent)"
 * for NULL. Caller mem_frees. */
static char *show(const json_t *v)
{
    if (!v)
        return mem_strdup("(absent)");
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *out;
    size_t len = s ? strlen(s) : 0;
    if (len > SHOW_MAX) {
        size_t cut = SHOW_MAX;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        out = mem_printf("%.*s...", (int)cut, s);
    } else {
        out = mem_strdup(s ? s : "?");
    }
    free(s);
    return out;
}

/* Append "<indent>$.a[0].b: old -> new" lines for every leaf where a and b
 * differ; counts lines in *lines (only DIFF_LINES_MAX are written). */
static void diff_json(struct buf *o, const char *path, const json_t *a, const json_t *b,
                      size_t *lines)
{
    if (a && b && json_equal(a, b))
        return;
    if (json_is_object(a) && json_is_object(b)) {
        size_t cnt;
        json_t *keys;
        const char **sorted = union_keys((json_t *)a, (json_t *)b, &keys, &cnt);
        for (size_t i = 0; i < cnt; i++) {
            bool plain = sorted[i][0] != '\0';
            for (const char *p = sorted[i]; *p && plain; p++)
                plain = isalnum((unsigned char)*p) || *p == '_';
            char *sub = plain ? mem_printf("%s.%s", path, sorted[i])
                              : mem_printf("%s[\"%s\"]", path, sorted[i]);
            diff_json(o, sub, json_object_get(a, sorted[i]), json_object_get(b, sorted[i]),
                      lines);
            mem_free(sub);
        }
        mem_free(sorted);
        json_decref(keys);
        return;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < (na > nb ? na : nb); i++) {
            char *sub = mem_printf("%s[%zu]", path, i);
            diff_json(o, sub, json_array_get(a, i), json_array_get(b, i), lines);
            mem_free(sub);
        }
        return;
    }
    if (++*lines > DIFF_LINES_MAX)
        return;
    char *sa = show(a), *sb = show(b);
    buf_printf(o, "        %s: %s -> %s\n", path, sa, sb);
    mem_free(sa);
    mem_free(sb);
}

static const char *sval(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "?";
}

static bool same_step(json_t *a, json_t *b)
{
    return strcmp(sval(a, "kind"), sval(b, "kind")) == 0 &&
           strcmp(sval(a, "name"), sval(b, "name")) == 0;
}

static void step_line(struct buf *o, char sign, size_t no, json_t *s)
{
    buf_printf(o, "    %c step %zu %s \"%s\": %s\n", sign, no, sval(s, "kind"), sval(s, "name"),
               sval(s, "status"));
}

/*
 * Compare two lists of steps, aligned on (kind, name) by a longest common
 * subsequence, so a step added to a suite shows as one "+" rather than as
 * every later step changed. Aligned steps whose outcome or timing differ
 * are "~" with the fields that changed.
 */
static size_t diff_steps(struct buf *o, json_t *old, json_t *cur)
{
    size_t n = 0, na = json_array_size(old), nb = json_array_size(cur), w = nb + 1;
    size_t *lcs = mem_alloc((na + 1) * w * sizeof *lcs);  /* lcs of old[i..] and cur[j..] */
    for (size_t i = na; i-- > 0;) {
        for (size_t j = nb; j-- > 0;) {
            size_t down = lcs[(i + 1) * w + j], right = lcs[i * w + j + 1];
            if (same_step(json_array_get(old, i), json_array_get(cur, j)))
                lcs[i * w + j] = lcs[(i + 1) * w + j + 1] + 1;
            else
                lcs[i * w + j] = down > right ? down : right;
        }
    }
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        json_t *a = json_array_get(old, i), *b = json_array_get(cur, j);
        if (a && b && same_step(a, b)) {
            if (!json_equal(a, b)) {
                buf_printf(o, "    ~ step %zu %s \"%s\"\n", j + 1, sval(b, "kind"),
                           sval(b, "name"));
                size_t lines = 0;
                diff_json(o, "$", a, b, &lines);
                n++;
            }
            i++;
            j++;
        } else if (b && (!a || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
            step_line(o, '+', ++j, b);
            n++;
        } else {
            step_line(o, '-', ++i, a);
            n++;
        }
    }
    mem_free(lcs);
    return n;
}

/* "key\x1fN": the N-th observation with this key in a list. Caller mem_frees. */
static char *occurrence(json_t *list, size_t idx)
{
    const char *key = sval(json_array_get(list, idx), "key");
    size_t nth = 0;
    for (size_t i = 0; i < idx; i++)
        if (strcmp(sval(json_array_get(list, i), "key"), key) == 0)
            nth++;
    return mem_printf("%s\x1f%zu", key, nth);
}

/* Compare one kind's observations, matched by key and occurrence. */
static size_t diff_kind(struct buf *o, const char *kind, json_t *old, json_t *cur)
{
    size_t n = 0, na = json_array_size(old), nb = json_array_size(cur);
    json_t *index = json_object();   /* occurrence -> index in old */
    bool *matched = mem_alloc(na + 1);
    for (size_t i = 0; i < na; i++) {
        char *k = occurrence(old, i);
        json_object_set_new(index, k, json_integer((json_int_t)i));
        mem_free(k);
    }
    bool added_or_removed = false;
    for (size_t i = 0; i < nb; i++) {
        json_t *b = json_array_get(cur, i);
        char *k = occurrence(cur, i);
        json_t *at = json_object_get(index, k);
        mem_free(k);
        if (!at) {
            char *v = show(json_object_get(b, "value"));
            buf_printf(o, "    + %s %s at %s: %s\n", kind, sval(b, "key"), sval(b, "at"), v);
            mem_free(v);
            n++;
            added_or_removed = true;
            continue;
        }
        size_t ai = (size_t)json_integer_value(at);
        matched[ai] = true;
        json_t *a = json_array_get(old, ai);
        if (json_equal(a, b))
            continue;
        buf_printf(o, "    ~ %s %s at %s\n", kind, sval(b, "key"), sval(b, "at"));
        size_t lines = 0;
        if (!json_equal(json_object_get(a, "at"), json_object_get(b, "at")))
            diff_json(o, "at", json_object_get(a, "at"), json_object_get(b, "at"), &lines);
        diff_json(o, "$", json_object_get(a, "value"), json_object_get(b, "value"), &lines);
        if (lines > DIFF_LINES_MAX)
            buf_printf(o, "        ... %zu more\n", lines - DIFF_LINES_MAX);
        n++;
    }
    for (size_t i = 0; i < na; i++) {
        if (matched[i])
            continue;
        json_t *a = json_array_get(old, i);
        char *v = show(json_object_get(a, "value"));
        buf_printf(o, "    - %s %s at %s: %s\n", kind, sval(a, "key"), sval(a, "at"), v);
        mem_free(v);
        n++;
        added_or_removed = true;
    }
    /* the same observations in another order is a change too (webhooks
     * reordered); adds and removes already explain a different sequence */
    if (!added_or_removed && na == nb) {
        bool same = true;
        for (size_t i = 0; i < na && same; i++)
            same = strcmp(sval(json_array_get(old, i), "key"),
                          sval(json_array_get(cur, i), "key")) == 0;
        if (!same) {
            buf_printf(o, "    ~ order of %s observations changed:\n        was:", kind);
            for (size_t i = 0; i < na; i++)
                buf_printf(o, "%s %s", i ? "," : "", sval(json_array_get(old, i), "key"));
            buf_puts(o, "\n        now:");
            for (size_t i = 0; i < nb; i++)
                buf_printf(o, "%s %s", i ? "," : "", sval(json_array_get(cur, i), "key"));
            buf_putc(o, '\n');
            n++;
        }
    }
    mem_free(matched);
    json_decref(index);
    return n;
}

static size_t diff_case(struct buf *o, json_t *old, json_t *cur)
{
    size_t n = 0;
    if (!json_equal(json_object_get(old, "status"), json_object_get(cur, "status"))) {
        buf_printf(o, "    status: %s -> %s\n", sval(old, "status"), sval(cur, "status"));
        n++;
    }
    n += diff_steps(o, json_object_get(old, "steps"), json_object_get(cur, "steps"));
    json_t *oa = json_object_get(old, "observations"), *ob = json_object_get(cur, "observations");
    size_t cnt;
    json_t *kinds;
    const char **sorted = union_keys(oa, ob, &kinds, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        json_t *empty = json_array();
        json_t *la = json_object_get(oa, sorted[i]), *lb = json_object_get(ob, sorted[i]);
        n += diff_kind(o, sorted[i], la ? la : empty, lb ? lb : empty);
        json_decref(empty);
    }
    mem_free(sorted);
    json_decref(kinds);
    return n;
}

/* "suite › scenario (repeat N)" of a normalised case. Caller mem_frees. */
static char *case_id(json_t *c)
{
    return mem_printf("%s \xE2\x80\xBA %s (repeat %" JSON_INTEGER_FORMAT ")", sval(c, "suite"),
                      sval(c, "scenario"), json_integer_value(json_object_get(c, "repeat")));
}

int baseline_compare(const char *old, size_t n, const char *name, const struct check_report *r,
                     FILE *f, size_t *changes, struct err *e)
{
    json_t *was = NULL;
    struct err why = {0};
    *changes = 0;
    if (jx_parse(old, n, &was, &why) != 0)
        return err_set(e, ERR_INVAL, "'%s' is not a tgcrm check baseline: %s", name, why.msg);
    json_t *cases_was = json_object_get(was, "cases");
    if (json_integer_value(json_object_get(was, "baseline")) != BASELINE_VERSION ||
        !json_is_array(cases_was)) {
        json_decref(was);
        return err_set(e, ERR_INVAL, "'%s' is not a tgcrm check baseline: want \"baseline\": %d "
                       "and a \"cases\" list", name, BASELINE_VERSION);
    }
    struct buf all;              /* everything printed, cleaned for a terminal at the end */
    buf_init(&all, 0);
    json_t *now = baseline_doc(r);
    json_t *cases_now = json_object_get(now, "cases");
    buf_printf(&all, "baseline: comparing with %s (recorded with seed %s; this run: seed %s)\n", name,
            sval(was, "seed"), sval(now, "seed"));
    json_t *by_id = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(cases_was, i, c) {
        char *id = case_id(c);
        json_object_set(by_id, id, c);
        mem_free(id);
    }
    struct buf o;
    buf_init(&o, 0);
    size_t total = 0;
    json_array_foreach(cases_now, i, c) {
        char *id = case_id(c);
        json_t *prev = json_object_get(by_id, id);
        buf_release(&o);
        if (!prev) {
            buf_printf(&all, "  + %s: a new scenario run (%s)\n", id, sval(c, "status"));
            total++;
        } else {
            size_t k = diff_case(&o, prev, c);
            if (k)
                buf_printf(&all, "  %s: %zu change%s\n%s", id, k, k == 1 ? "" : "s",
                           buf_str(&o));
            total += k;
            json_object_del(by_id, id);
        }
        mem_free(id);
    }
    json_array_foreach(cases_was, i, c) {
        char *id = case_id(c);
        if (json_object_get(by_id, id)) {
            buf_printf(&all, "  - %s: no longer runs (was %s)\n", id, sval(c, "status"));
            total++;
        }
        mem_free(id);
    }
    if (total)
        buf_printf(&all, "baseline: %zu change%s in behaviour: review them; if they are intended, "
                "record a new baseline\n", total, total == 1 ? "" : "s");
    else
        buf_printf(&all, "baseline: no change in behaviour\n");
    buf_release(&o);
    buf_init(&o, 0);
    report_clean(&o, buf_str(&all));
    fputs(buf_str(&o), f);
    buf_release(&o);
    buf_release(&all);
    json_decref(by_id);
    json_decref(now);
    json_decref(was);
    *changes = total;
    return 0;
}
