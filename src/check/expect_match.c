/*
 * expect_match.c — the matcher vocabulary (see expect_match.h): literal
 * comparison, the matcher words, time specs, and the wording of a failed
 * comparison, which is what a failing scenario shows its reader.
 */
#include "check/expect_match.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "base/rx.h"
#include "check/jpath.h"

#define SHOW 200

static const char *const words[] = {
    "equals", "one_of", "not", "matches", "contains", "absent", "present", "at_least",
    "at_most", "min", "max", "length", "near", "at", "tolerance", NULL
};

bool expect_is_matcher(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) == 0)
        return false;
    const char *k;
    json_t *x;
    json_object_foreach ((json_t *)v, k, x) {
        size_t i;
        for (i = 0; words[i] != NULL && strcmp(words[i], k) != 0; i++)
            ;
        if (words[i] == NULL)
            return false;
    }
    return true;
}

char *expect_fmt_dur(int64_t ms, char *out, size_t n)
{
    uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    uint64_t h = a / 3600000, m = a / 60000 % 60, s = a / 1000 % 60, r = a % 1000;
    char part[3][32] = { "", "", "" };
    if (a < 1000) {
        snprintf(out, n, "%s%" PRIu64 "ms", ms < 0 ? "-" : "", a);
        return out;
    }
    if (h)
        snprintf(part[0], sizeof part[0], "%" PRIu64 "h", h);
    if (m)
        snprintf(part[1], sizeof part[1], "%" PRIu64 "m", m);
    if (r) {       /* "1.5s", not "1.500s" */
        snprintf(part[2], sizeof part[2], "%" PRIu64 ".%03" PRIu64, s, r);
        size_t len = strlen(part[2]);
        while (part[2][len - 1] == '0')
            len--;
        part[2][len++] = 's';
        part[2][len] = '\0';
    } else if (s) {
        snprintf(part[2], sizeof part[2], "%" PRIu64 "s", s);
    }
    snprintf(out, n, "%s%s%s%s", ms < 0 ? "-" : "", part[0], part[1], part[2]);
    return out;
}

int expect_time_parse(const char *spec, const struct expect_times *t, int64_t *ms,
                      struct err *e)
{
    int64_t base;
    const char *rest = NULL;
    if (strncmp(spec, "t0", 2) == 0) {
        base = t->t0_ms;
        rest = spec + 2;
    } else if (strncmp(spec, "now", 3) == 0) {
        base = t->now_ms;
        rest = spec + 3;
    } else if (clock_parse_iso(spec, &base) == 0) {
        rest = "";
    } else {
        char *end;
        int64_t d;
        long long v = strtoll(spec, &end, 10);
        if (end != spec && (*end == '\0' || ((*end == '+' || *end == '-') &&
                                             clock_parse_duration(end + 1, &d) == 0))) {
            base = v;
            rest = end;
        } else {
            /* an RFC 3339 time then +/-duration: the offset is after the last sign */
            const char *sign = strrchr(spec, '+');
            const char *minus = strrchr(spec, '-');
            if (minus != NULL && (sign == NULL || minus > sign))
                sign = minus;
            char head[64];
            size_t hn = sign != NULL ? (size_t)(sign - spec) : 0;
            if (sign == NULL || hn >= sizeof head)
                goto bad;
            memcpy(head, spec, hn);
            head[hn] = '\0';
            if (clock_parse_iso(head, &base) != 0)
                goto bad;
            rest = sign;
        }
    }
    if (*rest == '\0') {
        *ms = base;
        return 0;
    }
    int64_t d;
    if ((*rest == '+' || *rest == '-') && clock_parse_duration(rest + 1, &d) == 0) {
        *ms = *rest == '+' ? base + d : base - d;
        return 0;
    }
bad:
    return err_set(e, ERR_INVAL, "'%s' is not a time (t0, now, an RFC 3339 time or ms since "
                   "the epoch, optionally +/- a duration such as 2m)", spec);
}

/* ---- wording ---------------------------------------------------------------------- */

static const char *show(const json_t *v, char *out)
{
    if (v == NULL)
        return "nothing";
    return jpath_show(v, out, SHOW);
}

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    case JSON_ARRAY: return "a list";
    default: return "an object";
    }
}

static int say(struct buf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int say(struct buf *why, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    buf_puts(why, line);
    return 0;
}

/* ---- literals and words ---------------------------------------------------------- */

static int literal(const json_t *want, const json_t *got, struct buf *why)
{
    if (got != NULL && jpath_equal(want, got))
        return 1;
    char abuf[SHOW], bbuf[SHOW];
    const char *a = show(want, abuf), *b = show(got, bbuf);
    /* 42 vs "42": say why they differ, since they print almost alike */
    const char *ta = a, *tb = b;
    size_t la = strlen(a), lb = strlen(b);
    if (*ta == '"') ta++, la -= 2;
    if (*tb == '"') tb++, lb -= 2;
    if (got != NULL && json_typeof(want) != json_typeof(got) && la == lb &&
        strncmp(ta, tb, la) == 0)
        return say(why, "want %s (%s), got %s (%s)", a, kind_of(want), b, kind_of(got));
    return say(why, "want %s, got %s", a, b);
}

static int match_regex(const json_t *re, const json_t *got, struct buf *why, struct err *e)
{
    if (!json_is_string(re))
        return err_set(e, ERR_INVAL, "'matches' wants a regular expression");
    size_t n = json_string_length(re) + 8;
    char *src = mem_alloc(n);
    snprintf(src, n, "(?-i)%s", json_string_value(re));
    struct rx *rx = NULL;
    struct err in = {0};
    int rc = rx_compile(src, &rx, &in);
    mem_free(src);
    if (rc != 0)
        return err_set(e, ERR_INVAL, "bad regex /%s/: %s", json_string_value(re), in.msg);
    char b[SHOW];
    struct rx_hit hit;
    struct err ignored = {0};
    int found = json_is_string(got) ? rx_find(rx, json_string_value(got),
                                              json_string_length(got), &hit, &ignored) : 0;
    rx_free(&rx);
    if (found == 1)
        return 1;
    return say(why, "want %s matching /%s/, got %s", json_is_string(got) ? "text" : "a string",
               json_string_value(re), show(got, b));
}

/* 1 when got is an object whose every member named in x matches it. */
static int has_members(const json_t *x, const json_t *got, const struct expect_times *t,
                       struct err *e)
{
    if (!json_is_object(got))
        return 0;
    struct buf scratch;
    buf_init(&scratch, 0);
    size_t bad = 0;
    int rc = expect_fields(x, (json_t *)got, t, &scratch, &bad, e);
    buf_release(&scratch);
    return rc < 0 ? rc : bad == 0;
}

static int match_contains(const json_t *x, const json_t *got, const struct expect_times *t,
                          struct buf *why, struct err *e)
{
    char a[SHOW], b[SHOW];
    if (json_is_string(got) && json_is_string(x)) {
        if (strstr(json_string_value(got), json_string_value(x)) != NULL)
            return 1;
        return say(why, "want text containing %s, got %s", show(x, a), show(got, b));
    }
    if (json_is_array(got)) {
        struct buf scratch;
        buf_init(&scratch, 0);
        int r = 0;
        for (size_t i = 0; r == 0 && i < json_array_size(got); i++)
            r = json_is_object(x) && !expect_is_matcher(x)
                    ? has_members(x, json_array_get(got, i), t, e)
                    : expect_match(x, json_array_get(got, i), t, &scratch, e);
        buf_release(&scratch);
        if (r != 0)
            return r;
        return say(why, "want a list containing %s, got %s", show(x, a), show(got, b));
    }
    if (json_is_object(got) && json_is_string(x)) {
        if (json_object_get(got, json_string_value(x)) != NULL)
            return 1;
        return say(why, "want an object with member %s, got %s", show(x, a), show(got, b));
    }
    return say(why, "want text or a list containing %s, got %s", show(x, a), show(got, b));
}

/* A wanted number: a number, or a duration string in ms. */
static int want_number(const json_t *w, const char *word, double *out, struct err *e)
{
    int64_t ms;
    if (json_is_number(w)) {
        *out = json_number_value(w);
        return 0;
    }
    if (json_is_string(w) && clock_parse_duration(json_string_value(w), &ms) == 0) {
        *out = (double)ms;
        return 0;
    }
    return err_set(e, ERR_INVAL, "'%s' wants a number or a duration", word);
}

static int match_bound(const json_t *w, const char *word, const json_t *got, struct buf *why,
                       struct err *e)
{
    double lim;
    int rc = want_number(w, word, &lim, e);
    if (rc != 0)
        return rc;
    bool least = strcmp(word, "at_least") == 0 || strcmp(word, "min") == 0;
    char a[SHOW], b[SHOW];
    if (json_is_number(got) &&
        (least ? json_number_value(got) >= lim : json_number_value(got) <= lim))
        return 1;
    return say(why, "want %s %s, got %s", least ? "at least" : "at most", show(w, a),
               show(got, b));
}

/* {length: n}: items of an array or object, characters (code points) of a string. */
static int match_length(const json_t *w, const json_t *got, struct buf *why, struct err *e)
{
    if (!json_is_integer(w) || json_integer_value(w) < 0)
        return err_set(e, ERR_INVAL, "'length' wants a whole number");
    char b[SHOW];
    size_t n;
    if (json_is_array(got))
        n = json_array_size(got);
    else if (json_is_object(got))
        n = json_object_size(got);
    else if (json_is_string(got)) {
        const unsigned char *p = (const unsigned char *)json_string_value(got);
        n = 0;
        for (size_t i = 0; i < json_string_length(got); i++)
            n += (p[i] & 0xC0) != 0x80;
    } else
        return say(why, "want something of length %" JSON_INTEGER_FORMAT ", got %s",
                   json_integer_value(w), show(got, b));
    if ((json_int_t)n == json_integer_value(w))
        return 1;
    return say(why, "want length %" JSON_INTEGER_FORMAT ", got length %zu: %s",
               json_integer_value(w), n, show(got, b));
}

static int tolerance_of(const json_t *m, int64_t *tol, struct err *e)
{
    const json_t *t = json_object_get(m, "tolerance");
    *tol = EXPECT_TOLERANCE_MS;
    if (t == NULL)
        return 0;
    if (json_is_integer(t) && json_integer_value(t) >= 0) {
        *tol = json_integer_value(t);
        return 0;
    }
    if (json_is_string(t) && clock_parse_duration(json_string_value(t), tol) == 0)
        return 0;
    return err_set(e, ERR_INVAL, "'tolerance' wants a duration such as 1s");
}

static int match_near(const json_t *m, const char *word, const json_t *got,
                      const struct expect_times *t, struct buf *why, struct err *e)
{
    const json_t *w = json_object_get(m, word);
    int64_t tol;
    int rc = tolerance_of(m, &tol, e);
    if (rc != 0)
        return rc;
    char a[SHOW], b[SHOW], d1[32], d2[32];
    bool time = strcmp(word, "at") == 0 || json_is_string(got);
    if (time) {
        int64_t want, have;
        if (json_is_integer(w))
            want = json_integer_value(w);
        else if (!json_is_string(w))
            return err_set(e, ERR_INVAL, "'%s' wants a time", word);
        else if ((rc = expect_time_parse(json_string_value(w), t, &want, e)) != 0)
            return rc;
        char iso[CLOCK_ISO_LEN], iso2[CLOCK_ISO_LEN];
        clock_fmt_iso(want, iso);
        if (!json_is_string(got) || clock_parse_iso(json_string_value(got), &have) != 0)
            return say(why, "want a time within %s of %s, got %s", expect_fmt_dur(tol, d1, 32),
                       iso, show(got, b));
        int64_t off = have - want;
        if (off >= -tol && off <= tol)
            return 1;
        return say(why, "want %s ± %s, got %s (%s %s)", iso, expect_fmt_dur(tol, d1, 32),
                   clock_fmt_iso(have, iso2), expect_fmt_dur(off < 0 ? -off : off, d2, 32),
                   off < 0 ? "earlier" : "later");
    }
    double want;
    if ((rc = want_number(w, word, &want, e)) != 0)
        return rc;
    if (!json_is_number(got))
        return say(why, "want a number within %" PRId64 " of %s, got %s", tol, show(w, a),
                   show(got, b));
    double off = json_number_value(got) - want;
    if (off >= (double)-tol && off <= (double)tol)
        return 1;
    if (json_is_string(w))     /* a duration: answer in durations */
        return say(why, "want %s ± %s, got %s (%s %s)", json_string_value(w),
                   expect_fmt_dur(tol, d1, 32),
                   expect_fmt_dur((int64_t)json_number_value(got), d2, 32),
                   expect_fmt_dur((int64_t)(off < 0 ? -off : off), a, 32),
                   off < 0 ? "less" : "more");
    return say(why, "want %s ± %" PRId64 ", got %s (%g %s)", show(w, a), tol, show(got, b),
               off < 0 ? -off : off, off < 0 ? "less" : "more");
}

static int word(const json_t *m, const char *k, const json_t *x, const json_t *got,
                const struct expect_times *t, struct buf *why, struct err *e)
{
    char a[SHOW], b[SHOW];
    if (strcmp(k, "equals") == 0)
        return literal(x, got, why);
    if (strcmp(k, "one_of") == 0) {
        if (!json_is_array(x))
            return err_set(e, ERR_INVAL, "'one_of' wants a list");
        struct buf scratch;
        buf_init(&scratch, 0);
        int r = 0;
        for (size_t i = 0; r == 0 && i < json_array_size(x); i++)
            r = expect_match(json_array_get(x, i), got, t, &scratch, e);
        buf_release(&scratch);
        return r != 0 ? r : say(why, "want one of %s, got %s", show(x, a), show(got, b));
    }
    if (strcmp(k, "not") == 0) {
        struct buf scratch;
        buf_init(&scratch, 0);
        int r = expect_match(x, got, t, &scratch, e);
        buf_release(&scratch);
        if (r < 0)
            return r;
        return r == 0 ? 1 : say(why, "want anything but %s, got %s", show(x, a), show(got, b));
    }
    if (strcmp(k, "matches") == 0)
        return match_regex(x, got, why, e);
    if (strcmp(k, "contains") == 0)
        return match_contains(x, got, t, why, e);
    if (strcmp(k, "absent") == 0) {
        if (!json_is_boolean(x))
            return err_set(e, ERR_INVAL, "'absent' wants true or false");
        bool gone = got == NULL || json_is_null(got);
        if (gone == json_is_true(x))
            return 1;
        return json_is_true(x) ? say(why, "want nothing (absent or null), got %s", show(got, b))
                               : say(why, "want a value, got %s", show(got, b));
    }
    if (strcmp(k, "present") == 0) {
        if (!json_is_boolean(x))
            return err_set(e, ERR_INVAL, "'present' wants true or false");
        if ((got != NULL) == json_is_true(x))
            return 1;
        return json_is_true(x) ? say(why, "want the path to exist, got nothing")
                               : say(why, "want nothing there, got %s", show(got, b));
    }
    if (strcmp(k, "at_least") == 0 || strcmp(k, "at_most") == 0 || strcmp(k, "min") == 0 ||
        strcmp(k, "max") == 0)
        return match_bound(x, k, got, why, e);
    if (strcmp(k, "length") == 0)
        return match_length(x, got, why, e);
    if (strcmp(k, "near") == 0 || strcmp(k, "at") == 0)
        return match_near(m, k, got, t, why, e);
    return 1;   /* tolerance: read by near/at */
}

int expect_match(const json_t *want, const json_t *got, const struct expect_times *t,
                 struct buf *why, struct err *e)
{
    if (!expect_is_matcher(want))
        return literal(want, got, why);
    if (json_object_get(want, "tolerance") != NULL && json_object_get(want, "near") == NULL &&
        json_object_get(want, "at") == NULL)
        return err_set(e, ERR_INVAL, "'tolerance' goes with 'near' or 'at'");
    const char *k;
    json_t *x;
    json_object_foreach ((json_t *)want, k, x) {
        int r = word(want, k, x, got, t, why, e);
        if (r != 1)
            return r;
    }
    return 1;
}

/* ---- fields ----------------------------------------------------------------------- */

static bool plain_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c >= 0x80))
            return false;
    }
    return n > 0;
}

/* True when s[0..n) is one or more list indexes: "[0]", "[-1][2]". */
static bool indexes(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i++] != '[')
            return false;
        if (i < n && s[i] == '-')
            i++;
        size_t d = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, d++;
        if (d == 0 || i >= n || s[i++] != ']')
            return false;
    }
    return n > 0;
}

int expect_field_path(const char *field, char *out, size_t n, struct err *e)
{
    if (field[0] == '$') {
        size_t len = strlen(field);
        if (len >= n)
            return err_set(e, ERR_INVAL, "field '%.60s...' is too long", field);
        memcpy(out, field, len + 1);
        return 0;
    }
    struct buf b;
    buf_init(&b, n - 1);
    int rc = buf_putc(&b, '$');
    const char *p = field;
    for (;;) {
        size_t len = strcspn(p, ".");
        if (len == 0) {
            buf_release(&b);
            return err_set(e, ERR_INVAL, "field '%s' has an empty part", field);
        }
        size_t name = strcspn(p, "[");
        if (strspn(p, "0123456789") == len)
            rc = rc ? rc : buf_printf(&b, "[%.*s]", (int)len, p);
        else if (plain_name(p, len) ||   /* a name, or one with indexes: kb_suggestions[0] */
                 (name < len && plain_name(p, name) && indexes(p + name, len - name)))
            rc = rc ? rc : buf_printf(&b, ".%.*s", (int)len, p);
        else {
            rc = rc ? rc : buf_puts(&b, "['");
            for (size_t i = 0; rc == 0 && i < len; i++) {
                if (p[i] == '\'' || p[i] == '\\')
                    rc = buf_putc(&b, '\\');
                rc = rc ? rc : buf_putc(&b, p[i]);
            }
            rc = rc ? rc : buf_puts(&b, "']");
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    if (rc != 0) {
        buf_release(&b);
        return err_set(e, ERR_INVAL, "field '%.60s...' is too long", field);
    }
    memcpy(out, buf_str(&b), b.len + 1);
    buf_release(&b);
    return 0;
}

int expect_fields(const json_t *fields, json_t *doc, const struct expect_times *t,
                  struct buf *diff, size_t *failed, struct err *e)
{
    size_t bad = 0;
    const char *k;
    json_t *want;
    if (failed != NULL)
        *failed = 0;
    json_object_foreach ((json_t *)fields, k, want) {
        char path[JPATH_MAX_LEN + 1];
        struct jpath *p;
        struct err in = {0};
        int rc = expect_field_path(k, path, sizeof path, &in);
        if (rc == 0)
            rc = jpath_compile(path, &p, &in);
        if (rc != 0)
            return err_set(e, ERR_INVAL, "field '%s': %s", k, in.msg);
        struct err miss = {0};
        json_t *got = jpath_eval(p, doc, &miss);
        jpath_free(&p);
        struct buf why;
        buf_init(&why, 0);
        int r = expect_match(want, got, t, &why, &in);
        if (r == 0) {
            bad++;
            if (diff->len > 0)
                buf_putc(diff, '\n');
            buf_printf(diff, "%s: %s", k, buf_str(&why));
            if (got == NULL)
                buf_printf(diff, " (%s)", miss.msg);
        }
        buf_release(&why);
        if (r < 0)
            return err_set(e, r, "field '%s': %s", k, in.msg);
    }
    if (failed != NULL)
        *failed = bad;
    return 0;
}
