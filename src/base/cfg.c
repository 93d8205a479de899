/*
 * cfg.c — the configuration loader: one YAML file → one validated struct cfg.
 *
 * This is the only libfyaml user. The file is parsed into a document (with
 * libfyaml's own diagnostics collected rather than printed, so a syntax
 * error becomes our "file:line:column: message" and nothing reaches stderr),
 * then walked section by section against fixed key tables. Every value is
 * checked where it is read and every error names the position of the node
 * it is about; nothing wrong is ever replaced by a default.
 *
 * The struct is built incrementally: arrays are allocated zeroed at their
 * final size before their items are filled, so freeing a half-built cfg on
 * any error path is the same code as freeing a complete one.
 *
 * Sections are processed in dependency order (tickets and groups before the
 * agents, rules, policies and escalations that name groups), whatever order
 * the file writes them in.
 *
 * Names that the domain (src/desk/) also parses — priorities, availability,
 * on_closed — are checked against local tables here, because base/ must not
 * include desk/; tests/unit/test_cfg.c checks that the two stay in step.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "base/cfg.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libfyaml.h>
#include <limits.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_FILE_MAX (16u << 20)    /* a config file larger than this is a mistake */
#define MAXKEYS 16                  /* most keys of any one mapping */

/* --- key tables ------------------------------------------------------------- */

static const char *const k_root[] = {
    "telegram", "store", "http", "log", "tickets", "agents", "groups", "routing",
    "sla", "escalation", "templates", "kb", "intake", "webhooks", NULL
};
static const char *const k_telegram[] = {
    "token", "api_base", "mode", "staff_group_id", "poll_timeout", "webhook", NULL
};
static const char *const k_tg_webhook[] = { "url", "secret_token", NULL };
static const char *const k_store[] = {
    "driver", "path", "dsn", "synchronous", "busy_timeout", "read_connections", NULL
};
static const char *const k_http[] = { "listen", "api_tokens", "max_body", "threads", NULL };
static const char *const k_token[] = { "name", "token", NULL };
static const char *const k_log[] = { "level", "format", NULL };
static const char *const k_tickets[] = {
    "general_group", "default_priority", "on_closed", NULL
};
static const char *const k_group[] = { "name", "title", "level", NULL };
static const char *const k_agent[] = {
    "id", "name", "telegram_user_id", "username", "groups", "capacity", "availability", NULL
};
static const char *const k_rule[] = {
    "name", "keywords", "regex", "tier", "language", "group", "strategy", "priority", NULL
};
static const char *const k_sla[] = {
    "name", "priority", "tier", "group", "first_response", "next_response",
    "resolution", "warn_before", NULL
};
static const char *const k_esc[] = {
    "name", "keywords", "on_sla", "no_reply", "tier", "set_priority", "raise_priority",
    "move_to_group", "notify", NULL
};
static const char *const k_template[] = { "name", "text", NULL };
static const char *const k_kb[] = { "id", "title", "url", "body", "keywords", NULL };
static const char *const k_intake[] = { "enabled", "questions", NULL };
static const char *const k_question[] = {
    "field", "prompt", "type", "choices", "optional", NULL
};
static const char *const k_webhook[] = {
    "name", "url", "secret", "previous_secret", "events", "timeout", "retry",
    "max_payload", "oversize", "ordering", "concurrency", NULL
};

#define FITS(t) _Static_assert(sizeof(t) / sizeof((t)[0]) <= MAXKEYS + 1, #t " exceeds MAXKEYS")
FITS(k_root);
FITS(k_telegram);
FITS(k_agent);
FITS(k_rule);
FITS(k_sla);
FITS(k_esc);
FITS(k_webhook);

/* --- accepted values -------------------------------------------------------- */

static const char *const v_tg_mode[] = { "polling", "webhook", NULL };
static const char *const v_driver[] = { "sqlite", "postgres", NULL };
static const char *const v_sync[] = { "full", "normal", NULL };
static const char *const v_level[] = { "debug", "info", "warn", "error", NULL };
static const char *const v_format[] = { "auto", "text", "json", NULL };
/* the same names as ticket_priority_parse, agent_avail_parse, workflow_reopen_parse */
static const char *const v_priority[] = { "low", "normal", "high", "urgent", NULL };
static const char *const v_avail[] = { "online", "away", "offline", NULL };
static const char *const v_on_closed[] = { "reopen", "new_ticket", NULL };
static const char *const v_strategy[] = { "round_robin", "least_loaded", "none", NULL };
static const char *const v_on_sla[] = { "warning", "breach", NULL };
static const char *const v_qtype[] = { "text", "email", "phone", "number", "choice", NULL };
static const char *const v_oversize[] = { "split", "truncate", NULL };
static const char *const v_ordering[] = { "per_ticket", "none", NULL };
static const char *const v_events[] = {
    "ticket.created", "ticket.updated", "ticket.assigned", "ticket.escalated",
    "ticket.sla_warning", "ticket.sla_breached", "ticket.resolved", "message.created",
    "customer.blocked", NULL
};

static const int64_t default_retry_ms[] = {
    5000, 30000, 120000, 600000, 1800000, 3600000, 10800000, 21600000
};

/* --- loader state and errors ---------------------------------------------- */

struct ld {
    const char *name;       /* file name for messages */
    struct err *e;
    struct cfg *c;          /* the cfg being built */
};

static int fail(struct ld *l, struct cfg_pos p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record "name:line:column: message" (ERR_CONFIG) and return the code. */
static int fail(struct ld *l, struct cfg_pos p, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(l->e, ERR_CONFIG, "%s:%d:%d: %s", l->name,
                   p.line > 0 ? p.line : 1, p.column > 0 ? p.column : 1, msg);
}

static bool in_list(const char *const *names, const char *s)
{
    for (size_t i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], s) == 0)
            return true;
    return false;
}

/* "a, b or c" into out. */
static const char *join(const char *const *names, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; names[i] != NULL && len < n; i++) {
        const char *sep = i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ";
        int w = snprintf(out + len, n - len, "%s%s", sep, names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return out;
}

/* Edit distance of short strings, for "did you mean" hints. */
static size_t distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    size_t row[33];
    if (la > 32 || lb > 32)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *suggest(const char *const *names, const char *s, size_t len)
{
    const char *best = NULL;
    size_t bestd = 3;                   /* at most two edits away */
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t d = distance(s, len, names[i]);
        if (d < bestd && d < len) {
            bestd = d;
            best = names[i];
        }
    }
    return best;
}

/* --- nodes ------------------------------------------------------------------ */

static struct cfg_pos tok_pos(struct fy_token *t, struct cfg_pos fb)
{
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    if (m == NULL)
        return fb;
    return (struct cfg_pos){ .line = m->line + 1, .column = m->column + 1 };
}

/*
 * Where a node was written. libfyaml 0.7 exposes marks only through tokens,
 * and only scalars (and aliases) have a public token, so a collection is
 * placed at its first scalar — the first key of a block mapping, which is
 * where a reader looks — and an empty one at the fallback (its key).
 */
static struct cfg_pos node_pos(struct fy_node *n, struct cfg_pos fb)
{
    for (int depth = 0; n != NULL && depth < 64; depth++) {
        void *it = NULL;
        switch (fy_node_get_type(n)) {
        case FYNT_SCALAR: {
            struct cfg_pos p = tok_pos(fy_node_get_scalar_token(n), fb);
            enum fy_node_style st = fy_node_get_style(n);
            /* quoted scalar and alias tokens start after the quote or '*';
             * point at that first character, where the value is written */
            if ((st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED ||
                 st == FYNS_ALIAS) && p.column > 1)
                p.column--;
            return p;
        }
        case FYNT_SEQUENCE:
            n = fy_node_sequence_iterate(n, &it);
            break;
        case FYNT_MAPPING: {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
            break;
        }
        default:
            return fb;
        }
    }
    return fb;
}

/* A plain empty, "~" or "null" scalar (or no node at all): YAML's null. */
static bool is_null(struct fy_node *n)
{
    if (n == NULL)
        return true;
    if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    if (s == NULL || len == 0)
        return true;
    return (len == 1 && s[0] == '~') ||
           (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
                         memcmp(s, "NULL", 4) == 0));
}

static const char *kind(struct fy_node *n)
{
    if (is_null(n))
        return "empty";
    switch (fy_node_get_type(n)) {
    case FYNT_SEQUENCE: return "a list";
    case FYNT_MAPPING:  return "a mapping";
    default:            return "a scalar value";
    }
}

/* Follow an alias to its anchored node. */
static int deref(struct ld *l, struct fy_node **np, struct cfg_pos p)
{
    struct fy_node *n = *np;
    if (n == NULL || !fy_node_is_alias(n))
        return 0;
    struct fy_node *r = fy_node_resolve_alias(n);
    if (r == NULL) {
        size_t len = 0;
        const char *s = fy_node_get_scalar(n, &len);
        return fail(l, p, "alias '*%.*s' refers to no anchor", (int)(len > 64 ? 64 : len),
                    s ? s : "");
    }
    *np = r;
    return 0;
}

/*
 * Expand ${NAME} from the environment; "$${" stands for a literal "${".
 * On success *out is a new NUL-terminated string.
 */
static int expand(struct ld *l, const char *s, size_t len, struct cfg_pos p, char **out)
{
    struct buf b;
    buf_init(&b, 0);
    size_t i = 0;
    while (i < len) {
        if (s[i] == '\0') {
            buf_release(&b);
            return fail(l, p, "string contains a NUL character");
        }
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            (void)buf_append(&b, "${", 2);
            i += 3;
            continue;
        }
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            size_t start = i + 2, j = start;
            while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_'))
                j++;
            if (j == start || j >= len || s[j] != '}' || isdigit((unsigned char)s[start])) {
                buf_release(&b);
                return fail(l, p, "'${' must be followed by a variable name and '}', "
                            "e.g. ${TGCRM_API_TOKEN} (write $${ for a literal ${)");
            }
            char name[128];
            if (j - start >= sizeof name) {
                buf_release(&b);
                return fail(l, p, "environment variable name is too long");
            }
            memcpy(name, s + start, j - start);
            name[j - start] = '\0';
            const char *v = getenv(name);
            if (v == NULL) {
                buf_release(&b);
                return fail(l, p, "environment variable '%s' is not set", name);
            }
            (void)buf_puts(&b, v);
            i = j + 1;
            continue;
        }
        (void)buf_putc(&b, s[i]);
        i++;
    }
    *out = buf_detach(&b);
    return 0;
}

/* --- mappings ---------------------------------------------------------------- */

/* One YAML mapping checked against a key table; values are read by name. */
struct map {
    struct ld *l;
    const char *const *keys;        /* NULL-terminated table of accepted keys */
    bool root;                      /* the top level: its keys are sections */
    char desc[128];                 /* "section 'http'", "http.api_tokens[0]" */
    struct cfg_pos pos;             /* where the mapping starts */
    bool seen[MAXKEYS];
    struct fy_node *val[MAXKEYS];
    struct cfg_pos kpos[MAXKEYS];
};

static int slot(const struct map *m, const char *key)
{
    for (int i = 0; m->keys[i] != NULL; i++)
        if (strcmp(m->keys[i], key) == 0)
            return i;
    abort();                        /* a key missing from its table is a bug here */
}

/* How messages name a key of m: sections are "section 'x'", others "'x'". */
static const char *keydesc(const struct map *m, const char *key, char *buf, size_t n)
{
    snprintf(buf, n, m->root ? "section '%s'" : "'%s'", key);
    return buf;
}

/*
 * Open node n (written at fallback position fb) as a mapping with the given
 * keys: unknown and duplicate keys are errors at the key. `desc` names the
 * mapping in messages.
 */
static int map_open(struct ld *l, struct map *m, struct fy_node *n, struct cfg_pos fb,
                    const char *const *keys, bool root, const char *desc)
{
    memset(m, 0, sizeof *m);
    m->l = l;
    m->keys = keys;
    m->root = root;
    snprintf(m->desc, sizeof m->desc, "%s", desc);
    int rc = deref(l, &n, fb);
    if (rc)
        return rc;
    m->pos = node_pos(n, fb);
    if (root && (n == NULL || fy_node_get_type(n) != FYNT_MAPPING))
        return fail(l, m->pos, "the top level must be a mapping of sections "
                    "(telegram:, http:, ...), not %s", kind(n));
    if (is_null(n) || fy_node_get_type(n) != FYNT_MAPPING)
        return fail(l, m->pos, "%s must be a mapping, not %s", m->desc, kind(n));

    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        struct cfg_pos kp = node_pos(k, m->pos);
        if (k == NULL || is_null(k) || fy_node_get_type(k) != FYNT_SCALAR ||
            fy_node_is_alias(k))
            return fail(l, kp, "keys in %s must be plain names", m->desc);
        size_t klen = 0;
        const char *ks = fy_node_get_scalar(k, &klen);
        if (ks == NULL)
            ks = "";
        int show = (int)(klen > 64 ? 64 : klen);
        int i = -1;
        for (int j = 0; keys[j] != NULL; j++) {
            if (strlen(keys[j]) == klen && memcmp(keys[j], ks, klen) == 0) {
                i = j;
                break;
            }
        }
        if (i < 0) {
            const char *hint = suggest(keys, ks, klen);
            char hbuf[64] = "";
            if (hint != NULL)
                snprintf(hbuf, sizeof hbuf, " (did you mean '%s'?)", hint);
            if (root)
                return fail(l, kp, "unknown section '%.*s'%s", show, ks, hbuf);
            return fail(l, kp, "unknown key '%.*s' in %s%s", show, ks, m->desc, hbuf);
        }
        if (m->seen[i] && root)
            return fail(l, kp, "duplicate section '%s' (first at line %d)", keys[i],
                        m->kpos[i].line);
        if (m->seen[i])
            return fail(l, kp, "duplicate key '%s' in %s (first at line %d)",
                        keys[i], m->desc, m->kpos[i].line);
        m->seen[i] = true;
        m->val[i] = fy_node_pair_value(p);
        m->kpos[i] = kp;
    }
    return 0;
}

/* Whether key was written. */
static bool m_has(const struct map *m, const char *key)
{
    return m->seen[slot(m, key)];
}

static int m_need(struct map *m, const char *key)
{
    if (m_has(m, key))
        return 0;
    if (m->root)
        return fail(m->l, m->pos, "missing required section '%s'", key);
    return fail(m->l, m->pos, "missing required key '%s' in %s", key, m->desc);
}

/*
 * The value of key, aliases followed, in *out (NULL when the key is absent)
 * and where it was written in *vp. A key written without a value is an
 * error: an absent key takes the default, an empty one is a mistake.
 */
static int m_get(struct map *m, const char *key, struct fy_node **out, struct cfg_pos *vp)
{
    int i = slot(m, key);
    *out = NULL;
    if (!m->seen[i])
        return 0;
    struct fy_node *n = m->val[i];
    struct cfg_pos p = node_pos(n, m->kpos[i]);
    int rc = deref(m->l, &n, p);
    if (rc)
        return rc;
    if (is_null(n)) {
        char kb[96];
        return fail(m->l, m->kpos[i], "%s has no value (write one, or remove the key for its default)",
                    keydesc(m, key, kb, sizeof kb));
    }
    *out = n;
    if (vp != NULL)
        *vp = p;
    return 0;
}

/* The scalar text of key, ${} expanded; *out NULL when absent, else owned. */
static int m_text(struct map *m, const char *key, const char *want, char **out,
                  struct cfg_pos *vp)
{
    struct fy_node *n;
    struct cfg_pos p;
    *out = NULL;
    int rc = m_get(m, key, &n, &p);
    if (rc || n == NULL)
        return rc;
    if (fy_node_get_type(n) != FYNT_SCALAR)
        return fail(m->l, p, "'%s' must be %s, not %s", key, want, kind(n));
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    rc = expand(m->l, s ? s : "", s ? len : 0, p, out);
    if (rc == 0 && vp != NULL)
        *vp = p;
    return rc;
}

/* A non-empty string; *out untouched when absent. */
static int m_str(struct map *m, const char *key, char **out, struct cfg_pos *vp)
{
    char *t;
    struct cfg_pos p;
    int rc = m_text(m, key, "a string", &t, &p);
    if (rc || t == NULL)
        return rc;
    if (t[0] == '\0') {
        mem_free(t);
        return fail(m->l, p, "'%s' must not be empty", key);
    }
    *out = t;
    if (vp != NULL)
        *vp = p;
    return 0;
}

/* A string from a fixed set of names. */
static int m_enum(struct map *m, const char *key, const char *const *names, char **out,
                  struct cfg_pos *vp)
{
    char *t = NULL;
    struct cfg_pos p;
    int rc = m_str(m, key, &t, &p);
    if (rc || t == NULL)
        return rc;
    if (!in_list(names, t)) {
        char list[256];
        rc = fail(m->l, p, "'%s' must be one of %s (got '%s')", key,
                  join(names, list, sizeof list), t);
        mem_free(t);
        return rc;
    }
    *out = t;
    if (vp != NULL)
        *vp = p;
    return 0;
}

/* A whole decimal integer: optional sign, digits, nothing else. */
static int parse_int(const char *s, int64_t *out)
{
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (!isdigit((unsigned char)*d))
        return ERR_INVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return ERR_INVAL;
    *out = (int64_t)v;
    return 0;
}

static int m_int(struct map *m, const char *key, int64_t min, int64_t max,
                 const char *want, int64_t *out)
{
    char *t;
    struct cfg_pos p;
    int rc = m_text(m, key, want, &t, &p);
    if (rc || t == NULL)
        return rc;
    int64_t v;
    if (parse_int(t, &v) != 0 || v < min || v > max)
        rc = fail(m->l, p, "'%s' must be %s (got '%s')", key, want, t);
    else
        *out = v;
    mem_free(t);
    return rc;
}

static int m_int32(struct map *m, const char *key, int min, int max, const char *want,
                   int *out)
{
    int64_t v = *out;
    int rc = m_int(m, key, min, max, want, &v);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

static int m_bool(struct map *m, const char *key, bool *out)
{
    char *t;
    struct cfg_pos p;
    int rc = m_text(m, key, "true or false", &t, &p);
    if (rc || t == NULL)
        return rc;
    if (strcasecmp(t, "true") == 0 || strcasecmp(t, "yes") == 0)
        *out = true;
    else if (strcasecmp(t, "false") == 0 || strcasecmp(t, "no") == 0)
        *out = false;
    else
        rc = fail(m->l, p, "'%s' must be true or false (got '%s')", key, t);
    mem_free(t);
    return rc;
}

/* A duration in ms; `positive` refuses 0. *out untouched when absent. */
static int m_dur(struct map *m, const char *key, bool positive, int64_t *out)
{
    char *t;
    struct cfg_pos p;
    int rc = m_text(m, key, "a duration", &t, &p);
    if (rc || t == NULL)
        return rc;
    int64_t v;
    if (clock_parse_duration(t, &v) != 0)
        rc = fail(m->l, p, "'%s': invalid duration '%s' (use e.g. 30s, 2m, 1h30m)", key, t);
    else if (positive && v <= 0)
        rc = fail(m->l, p, "'%s' must be greater than 0", key);
    else
        *out = v;
    mem_free(t);
    return rc;
}

/* Bytes: a bare integer or a number with KB/KiB/MB/MiB/GB/GiB (B allowed). */
static int parse_size(const char *s, int64_t *out)
{
    static const struct { const char *unit; int64_t mul; } units[] = {
        { "", 1 }, { "B", 1 }, { "KB", 1000 }, { "KiB", 1024 },
        { "MB", 1000000 }, { "MiB", 1048576 }, { "GB", 1000000000 },
        { "GiB", 1073741824 },
    };
    if (!isdigit((unsigned char)*s))
        return ERR_INVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0)
        return ERR_INVAL;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            if (v > INT64_MAX / units[i].mul)
                return ERR_INVAL;
            *out = (int64_t)v * units[i].mul;
            return 0;
        }
    }
    return ERR_INVAL;
}

static int m_size(struct map *m, const char *key, int64_t min, int64_t *out)
{
    char *t;
    struct cfg_pos p;
    int rc = m_text(m, key, "a size", &t, &p);
    if (rc || t == NULL)
        return rc;
    int64_t v;
    if (parse_size(t, &v) != 0)
        rc = fail(m->l, p, "'%s': invalid size '%s' (use bytes or e.g. 512KiB, 1MiB, 10MB)",
                  key, t);
    else if (v < min)
        rc = fail(m->l, p, "'%s' must be at least %" PRId64 " bytes (got '%s')", key, min, t);
    else
        *out = v;
    mem_free(t);
    return rc;
}

/* A list; *seq NULL when absent, else the sequence and its item count. */
static int m_list(struct map *m, const char *key, struct fy_node **seq, size_t *count,
                  struct cfg_pos *vp)
{
    struct fy_node *n;
    struct cfg_pos p;
    *seq = NULL;
    *count = 0;
    int rc = m_get(m, key, &n, &p);
    if (rc || n == NULL)
        return rc;
    if (fy_node_get_type(n) != FYNT_SEQUENCE) {
        char kb[96];
        return fail(m->l, p, "%s must be a list, not %s", keydesc(m, key, kb, sizeof kb),
                    kind(n));
    }
    int cnt = fy_node_sequence_item_count(n);
    *seq = n;
    *count = cnt > 0 ? (size_t)cnt : 0;
    if (vp != NULL)
        *vp = p;
    return 0;
}

/* Position of item idx of list key (which has been read successfully). */
static struct cfg_pos m_item_pos(struct map *m, const char *key, size_t idx)
{
    int i = slot(m, key);
    struct fy_node *n = m->val[i];
    struct cfg_pos p = node_pos(n, m->kpos[i]);
    if (n != NULL && fy_node_is_alias(n))
        n = fy_node_resolve_alias(n);
    if (n == NULL || fy_node_get_type(n) != FYNT_SEQUENCE)
        return p;
    void *it = NULL;
    struct fy_node *item = NULL;
    for (size_t k = 0; k <= idx; k++)
        if ((item = fy_node_sequence_iterate(n, &it)) == NULL)
            return p;
    return node_pos(item, p);
}

/*
 * A list of non-empty strings. *out and *n are set as soon as the array exists,
 * so the owner frees whatever was filled if a later item is wrong.
 */
static int m_strlist(struct map *m, const char *key, bool unique, char ***out, size_t *n)
{
    struct fy_node *seq;
    size_t count;
    struct cfg_pos p;
    int rc = m_list(m, key, &seq, &count, &p);
    if (rc || seq == NULL || count == 0)
        return rc;
    char **v = mem_alloc(count * sizeof *v);
    *out = v;
    *n = count;
    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(seq, &it)) != NULL && i < count; i++) {
        struct cfg_pos ip = node_pos(item, p);
        if ((rc = deref(m->l, &item, ip)) != 0)
            return rc;
        if (is_null(item) || fy_node_get_type(item) != FYNT_SCALAR)
            return fail(m->l, ip, "each item of '%s' must be a string, not %s", key,
                        kind(item));
        size_t len = 0;
        const char *s = fy_node_get_scalar(item, &len);
        if ((rc = expand(m->l, s ? s : "", s ? len : 0, ip, &v[i])) != 0)
            return rc;
        if (v[i][0] == '\0')
            return fail(m->l, ip, "items of '%s' must not be empty", key);
        for (size_t j = 0; unique && j < i; j++)
            if (strcmp(v[j], v[i]) == 0)
                return fail(m->l, ip, "'%s' lists '%s' twice", key, v[i]);
    }
    return 0;
}

/* Item idx of a list of mappings, for a per-item parser. */
typedef int (*item_fn)(struct ld *l, struct fy_node *n, size_t idx, struct cfg_pos fb);

static int each_item(struct ld *l, struct fy_node *seq, struct cfg_pos fb, size_t count,
                     item_fn fn)
{
    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; i < count && (item = fy_node_sequence_iterate(seq, &it)) != NULL; i++) {
        int rc = fn(l, item, i, node_pos(item, fb));
        if (rc)
            return rc;
    }
    return 0;
}

/* --- value checks ------------------------------------------------------------ */

/* Only a-z, 0-9 and the characters in extra. */
static bool name_ok(const char *s, const char *extra)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
            return false;
    return true;
}

static bool url_ok(const char *s)
{
    return (strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
           (strncmp(s, "https://", 8) == 0 && s[8] != '\0');
}

/* host:port, host non-empty (IPv6 in brackets), port 0..65535. */
static bool listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return false;
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hl < 3 || s[hl - 1] != ']')
            return false;
    } else if (memchr(s, ':', hl) != NULL) {
        return false;
    }
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)s[i]) || s[i] == '/')
            return false;
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (pl == 0 || pl > 5)
        return false;
    for (size_t i = 0; i < pl; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return strtol(p, NULL, 10) <= 65535;   /* at most 5 digits: cannot overflow */
}

/* Decoded length of standard base64 (padding optional), or -1 if invalid. */
static long b64_decoded_len(const char *s)
{
    size_t n = strlen(s), pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isalnum(ch) || ch == '+' || ch == '/'))
            return -1;
    }
    if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0))
        return -1;
    return (long)(n / 4 * 3 + (n % 4 == 2 ? 1 : n % 4 == 3 ? 2 : 0));
}

/* Standard Webhooks secret: "whsec_" + base64 of at least 16 bytes. */
static int secret_check(struct ld *l, const char *key, const char *s, struct cfg_pos p)
{
    if (strncmp(s, "whsec_", 6) != 0)
        return fail(l, p, "'%s' must start with \"whsec_\" followed by base64", key);
    long n = b64_decoded_len(s + 6);
    if (n < 0)
        return fail(l, p, "'%s' is not valid base64 after \"whsec_\"", key);
    if (n < 16)
        return fail(l, p, "'%s' must decode to at least 16 bytes (got %ld)", key, n);
    return 0;
}

/* {{ and }} pair up, without nesting or empty placeholders. */
static const char *braces_check(const char *t, size_t *at)
{
    size_t open = SIZE_MAX;
    for (size_t i = 0; t[i] != '\0'; i++) {
        if (t[i] == '{' && t[i + 1] == '{') {
            if (open != SIZE_MAX) {
                *at = i;
                return "'{{' inside a placeholder";
            }
            open = i;
            i++;
        } else if (t[i] == '}' && t[i + 1] == '}') {
            if (open == SIZE_MAX) {
                *at = i;
                return "'}}' without an opening '{{'";
            }
            size_t k = open + 2;
            while (k < i && isspace((unsigned char)t[k]))
                k++;
            if (k == i) {
                *at = open;
                return "empty placeholder '{{ }}'";
            }
            open = SIZE_MAX;
            i++;
        }
    }
    if (open != SIZE_MAX) {
        *at = open;
        return "'{{' is never closed";
    }
    return NULL;
}

static int regex_check(struct ld *l, const char *re, struct cfg_pos p)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                     PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP,
                                     &ec, &off, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", ec);
        return fail(l, p, "'regex': %s at offset %zu", (const char *)msg, (size_t)off);
    }
    pcre2_code_free(code);
    return 0;
}

/* "1h30m", "250ms" — for messages. */
static const char *fmt_dur(int64_t ms, char *out, size_t n)
{
    static const struct { const char *u; int64_t ms; } units[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
    };
    size_t len = 0;
    out[0] = '\0';
    if (ms == 0) {
        snprintf(out, n, "0s");
        return out;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0] && len < n; i++) {
        if (ms >= units[i].ms) {
            int w = snprintf(out + len, n - len, "%" PRId64 "%s", ms / units[i].ms, units[i].u);
            if (w < 0)
                break;
            len += (size_t)w;
            ms %= units[i].ms;
        }
    }
    return out;
}

/* --- sections ------------------------------------------------------------- */

static int sec_telegram(struct ld *l, struct fy_node *n, struct cfg_pos fb)
{
    struct cfg_telegram *t = &l->c->telegram;
    struct map m, w;
    struct fy_node *wn;
    struct cfg_pos mode_pos = fb, p, wp;
    int rc;

    t->poll_timeout_ms = 30000;
    if (n != NULL) {
        if ((rc = map_open(l, &m, n, fb, k_telegram, false, "section 'telegram'")) ||
            (rc = m_str(&m, "token", &t->token, NULL)) ||
            (rc = m_str(&m, "api_base", &t->api_base, &p)))
            return rc;
        if (t->api_base != NULL && !url_ok(t->api_base))
            return fail(l, p, "'api_base' must start with http:// or https://");
        if ((rc = m_enum(&m, "mode", v_tg_mode, &t->mode, &mode_pos)) ||
            (rc = m_int(&m, "staff_group_id", INT64_MIN, INT64_MAX, "an integer chat id",
                        &t->staff_group_id)) ||
            (rc = m_dur(&m, "poll_timeout", false, &t->poll_timeout_ms)) ||
            (rc = m_get(&m, "webhook", &wn, &wp)))
            return rc;
        if (wn != NULL) {
            if ((rc = map_open(l, &w, wn, wp, k_tg_webhook, false, "telegram.webhook")) ||
                (rc = m_str(&w, "url", &t->webhook_url, &p)))
                return rc;
            if (t->webhook_url != NULL && !url_ok(t->webhook_url))
                return fail(l, p, "'url' must start with http:// or https://");
            if ((rc = m_str(&w, "secret_token", &t->webhook_secret, &p)))
                return rc;
            if (t->webhook_secret != NULL) {
                size_t len = strlen(t->webhook_secret);
                bool ok = len <= 256;
                for (size_t i = 0; ok && i < len; i++) {
                    char ch = t->webhook_secret[i];
                    ok = isalnum((unsigned char)ch) || ch == '_' || ch == '-';
                }
                if (!ok)
                    return fail(l, p, "'secret_token' must be 1 to 256 characters of "
                                "A-Z, a-z, 0-9, '_' and '-' (Telegram's rule)");
            }
        }
        if (t->mode != NULL && strcmp(t->mode, "webhook") == 0 &&
            (t->webhook_url == NULL || t->webhook_secret == NULL))
            return fail(l, mode_pos, "mode 'webhook' requires telegram.webhook.url and "
                        "telegram.webhook.secret_token");
    }
    if (t->api_base == NULL)
        t->api_base = mem_strdup("https://api.telegram.org");
    if (t->mode == NULL)
        t->mode = mem_strdup("polling");
    return 0;
}

static int sec_store(struct ld *l, struct fy_node *n, struct cfg_pos fb)
{
    struct cfg_store *s = &l->c->store;
    struct map m;
    struct cfg_pos dp = fb;
    int rc;

    s->busy_timeout_ms = 5000;
    s->read_connections = 4;
    if (n != NULL) {
        if ((rc = map_open(l, &m, n, fb, k_store, false, "section 'store'")) ||
            (rc = m_enum(&m, "driver", v_driver, &s->driver, &dp)) ||
            (rc = m_str(&m, "path", &s->path, NULL)) ||
            (rc = m_str(&m, "dsn", &s->dsn, NULL)) ||
            (rc = m_enum(&m, "synchronous", v_sync, &s->synchronous, NULL)) ||
            (rc = m_dur(&m, "busy_timeout", false, &s->busy_timeout_ms)) ||
            (rc = m_int32(&m, "read_connections", 1, 64, "an integer from 1 to 64",
                          &s->read_connections)))
            return rc;
        if (s->driver != NULL && strcmp(s->driver, "postgres") == 0 && s->dsn == NULL)
            return fail(l, dp, "driver 'postgres' requires 'dsn' (a libpq connection string)");
    }
    if (s->driver == NULL)
        s->driver = mem_strdup("sqlite");
    if (s->path == NULL)
        s->path = mem_strdup("tgcrm.db");
    if (s->synchronous == NULL)
        s->synchronous = mem_strdup("full");
    return 0;
}

static int api_token_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg_http *h = &l->c->http;
    struct cfg_api_token *t = &h->tokens[i];
    struct map m;
    char desc[64];
    struct cfg_pos np, tp;
    int rc;

    snprintf(desc, sizeof desc, "http.api_tokens[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_token, false, desc)) ||
        (rc = m_need(&m, "name")) || (rc = m_need(&m, "token")) ||
        (rc = m_str(&m, "name", &t->name, &np)) ||
        (rc = m_str(&m, "token", &t->token, &tp)))
        return rc;
    if (strlen(t->token) < 16)
        return fail(l, tp, "api token '%s' is too short: at least 16 characters are required",
                    t->name);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(h->tokens[j].name, t->name) == 0)
            return fail(l, np, "duplicate api token name '%s'", t->name);
        if (strcmp(h->tokens[j].token, t->token) == 0)
            return fail(l, tp, "api token '%s' has the same token as '%s'", t->name,
                        h->tokens[j].name);
    }
    return 0;
}

static int sec_http(struct ld *l, struct fy_node *n, struct cfg_pos fb)
{
    struct cfg_http *h = &l->c->http;
    struct map m;
    struct fy_node *seq;
    size_t count;
    struct cfg_pos p;
    int rc;

    h->max_body = 1 << 20;
    h->threads = 4;
    if ((rc = map_open(l, &m, n, fb, k_http, false, "section 'http'")) ||
        (rc = m_str(&m, "listen", &h->listen, &p)))
        return rc;
    if (h->listen != NULL && !listen_ok(h->listen))
        return fail(l, p, "'listen' must be host:port with a port from 0 to 65535, "
                    "e.g. 127.0.0.1:8080 (got '%s')", h->listen);
    if ((rc = m_size(&m, "max_body", 1024, &h->max_body)) ||
        (rc = m_int32(&m, "threads", 1, 64, "an integer from 1 to 64", &h->threads)) ||
        (rc = m_need(&m, "api_tokens")) ||
        (rc = m_list(&m, "api_tokens", &seq, &count, &p)))
        return rc;
    if (count == 0)
        return fail(l, p, "'api_tokens' must list at least one token");
    h->tokens = mem_alloc(count * sizeof *h->tokens);
    h->ntokens = count;
    if ((rc = each_item(l, seq, p, count, api_token_item)))
        return rc;
    if (h->listen == NULL)
        h->listen = mem_strdup("127.0.0.1:8080");
    return 0;
}

static int sec_log(struct ld *l, struct fy_node *n, struct cfg_pos fb)
{
    struct cfg_log *g = &l->c->log;
    struct map m;
    int rc;

    if (n != NULL) {
        if ((rc = map_open(l, &m, n, fb, k_log, false, "section 'log'")) ||
            (rc = m_enum(&m, "level", v_level, &g->level, NULL)) ||
            (rc = m_enum(&m, "format", v_format, &g->format, NULL)))
            return rc;
    }
    if (g->level == NULL)
        g->level = mem_strdup("info");
    if (g->format == NULL)
        g->format = mem_strdup("auto");
    return 0;
}

static int sec_tickets(struct ld *l, struct fy_node *n, struct cfg_pos fb,
                       struct cfg_pos *gp)
{
    struct cfg *c = l->c;
    struct map m;
    int rc;

    *gp = fb;
    if (n != NULL) {
        if ((rc = map_open(l, &m, n, fb, k_tickets, false, "section 'tickets'")) ||
            (rc = m_str(&m, "general_group", &c->general_group, gp)) ||
            (rc = m_enum(&m, "default_priority", v_priority, &c->default_priority, NULL)) ||
            (rc = m_enum(&m, "on_closed", v_on_closed, &c->on_closed, NULL)))
            return rc;
        if (c->general_group != NULL && !name_ok(c->general_group, "_-"))
            return fail(l, *gp, "'general_group' must match [a-z0-9_-]+ (got '%s')",
                        c->general_group);
    }
    if (c->general_group == NULL)
        c->general_group = mem_strdup("general");
    if (c->default_priority == NULL)
        c->default_priority = mem_strdup("normal");
    if (c->on_closed == NULL)
        c->on_closed = mem_strdup("reopen");
    return 0;
}

static int group_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_group *g = &c->groups[i];
    struct map m;
    char desc[64];
    struct cfg_pos np;
    int rc;

    g->level = 1;
    snprintf(desc, sizeof desc, "groups[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_group, false, desc)) ||
        (rc = m_need(&m, "name")) ||
        (rc = m_str(&m, "name", &g->name, &np)))
        return rc;
    g->pos = np;
    if (!name_ok(g->name, "_-"))
        return fail(l, np, "group name must match [a-z0-9_-]+ (got '%s')", g->name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->groups[j].name, g->name) == 0)
            return fail(l, np, "duplicate group name '%s' (first at line %d)", g->name,
                        c->groups[j].pos.line);
    if ((rc = m_str(&m, "title", &g->title, NULL)) ||
        (rc = m_int32(&m, "level", 1, 100, "an integer from 1 to 100", &g->level)))
        return rc;
    if (g->title == NULL)
        g->title = mem_strdup(g->name);
    return 0;
}

static int sec_groups(struct ld *l, struct map *root, struct cfg_pos gpos)
{
    struct cfg *c = l->c;
    struct fy_node *seq;
    size_t count;
    struct cfg_pos p;
    int rc;

    if ((rc = m_list(root, "groups", &seq, &count, &p)))
        return rc;
    if (count > 0) {
        c->groups = mem_alloc(count * sizeof *c->groups);
        c->ngroups = count;
        if ((rc = each_item(l, seq, p, count, group_item)))
            return rc;
    }
    if (cfg_group_find(c, c->general_group) == NULL) {
        /* the fallback queue always exists, listed or not */
        c->groups = mem_realloc(c->groups, (c->ngroups + 1) * sizeof *c->groups);
        struct cfg_group *g = &c->groups[c->ngroups++];
        g->name = mem_strdup(c->general_group);
        g->title = mem_strdup(c->general_group);
        g->level = 1;
        g->pos = gpos;
    }
    return 0;
}

static int agent_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_agent *a = &c->agents[i];
    struct map m;
    char desc[64];
    struct cfg_pos ip, tp, up, gp;
    int rc;

    a->capacity = 10;
    snprintf(desc, sizeof desc, "agents[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_agent, false, desc)) ||
        (rc = m_need(&m, "id")) || (rc = m_need(&m, "telegram_user_id")) ||
        (rc = m_need(&m, "groups")) ||
        (rc = m_str(&m, "id", &a->id, &ip)))
        return rc;
    a->pos = ip;
    if (!name_ok(a->id, "_.-"))
        return fail(l, ip, "agent id must match [a-z0-9_.-]+ (got '%s')", a->id);
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->agents[j].id, a->id) == 0)
            return fail(l, ip, "duplicate agent id '%s' (first at line %d)", a->id,
                        c->agents[j].pos.line);
    if ((rc = m_str(&m, "name", &a->name, NULL)) ||
        (rc = m_int(&m, "telegram_user_id", 1, INT64_MAX, "a positive integer",
                    &a->tg_user_id)))
        return rc;
    (void)m_get(&m, "telegram_user_id", &n, &tp);
    for (size_t j = 0; j < i; j++)
        if (c->agents[j].tg_user_id == a->tg_user_id)
            return fail(l, tp, "agents '%s' and '%s' have the same telegram_user_id %" PRId64,
                        c->agents[j].id, a->id, a->tg_user_id);
    if ((rc = m_str(&m, "username", &a->username, &up)))
        return rc;
    if (a->username != NULL) {
        const char *u = a->username[0] == '@' ? a->username + 1 : a->username;
        bool ok = *u != '\0';
        for (const char *q = u; ok && *q; q++)
            ok = isalnum((unsigned char)*q) || *q == '_';
        if (!ok)
            return fail(l, up, "'username' must be a Telegram username: letters, digits "
                        "and '_' (got '%s')", a->username);
        if (u != a->username)
            memmove(a->username, u, strlen(u) + 1);     /* stored without '@' */
    }
    if ((rc = m_strlist(&m, "groups", true, &a->groups, &a->ngroups)))
        return rc;
    (void)m_get(&m, "groups", &n, &gp);
    if (a->ngroups == 0)
        return fail(l, gp, "agent '%s' must serve at least one group", a->id);
    for (size_t k = 0; k < a->ngroups; k++)
        if (cfg_group_find(c, a->groups[k]) == NULL)
            return fail(l, m_item_pos(&m, "groups", k),
                        "agent '%s' refers to unknown group '%s'", a->id, a->groups[k]);
    if ((rc = m_int32(&m, "capacity", 0, 1000000, "a non-negative integer", &a->capacity)) ||
        (rc = m_enum(&m, "availability", v_avail, &a->availability, NULL)))
        return rc;
    if (a->name == NULL)
        a->name = mem_strdup(a->id);
    if (a->availability == NULL)
        a->availability = mem_strdup("online");
    return 0;
}

/* A group reference that must exist. */
static int group_ref(struct ld *l, struct map *m, const char *key, const char *owner,
                     const char *name, char **out)
{
    struct cfg_pos p;
    int rc = m_str(m, key, out, &p);
    if (rc || *out == NULL)
        return rc;
    if (cfg_group_find(l->c, *out) == NULL)
        return fail(l, p, "%s '%s' refers to unknown group '%s'", owner, name, *out);
    return 0;
}

static int rule_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_rule *r = &c->rules[i];
    struct map m;
    char desc[64];
    struct cfg_pos np, rp;
    int rc;

    snprintf(desc, sizeof desc, "routing[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_rule, false, desc)) ||
        (rc = m_need(&m, "name")) || (rc = m_need(&m, "group")) ||
        (rc = m_str(&m, "name", &r->name, &np)))
        return rc;
    r->pos = np;
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->rules[j].name, r->name) == 0)
            return fail(l, np, "duplicate routing rule '%s' (first at line %d)", r->name,
                        c->rules[j].pos.line);
    if ((rc = m_strlist(&m, "keywords", false, &r->keywords, &r->nkeywords)) ||
        (rc = m_str(&m, "regex", &r->regex, &rp)) ||
        (r->regex != NULL && (rc = regex_check(l, r->regex, rp))) ||
        (rc = m_str(&m, "tier", &r->tier, NULL)) ||
        (rc = m_str(&m, "language", &r->language, NULL)) ||
        (rc = group_ref(l, &m, "group", "rule", r->name, &r->group)) ||
        (rc = m_enum(&m, "strategy", v_strategy, &r->strategy, NULL)) ||
        (rc = m_enum(&m, "priority", v_priority, &r->priority, NULL)))
        return rc;
    if (r->nkeywords == 0 && r->regex == NULL && r->tier == NULL && r->language == NULL)
        return fail(l, np, "rule '%s' has no condition (keywords, regex, tier or language); "
                    "use the general group as fallback", r->name);
    if (r->strategy == NULL)
        r->strategy = mem_strdup("round_robin");
    return 0;
}

static int sla_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_sla_policy *s = &c->sla[i];
    struct map m;
    char desc[64];
    struct cfg_pos np, wp;
    struct fy_node *wn;
    int rc;

    snprintf(desc, sizeof desc, "sla[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_sla, false, desc)) ||
        (rc = m_need(&m, "name")) ||
        (rc = m_str(&m, "name", &s->name, &np)))
        return rc;
    s->pos = np;
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->sla[j].name, s->name) == 0)
            return fail(l, np, "duplicate SLA policy '%s' (first at line %d)", s->name,
                        c->sla[j].pos.line);
    if ((rc = m_enum(&m, "priority", v_priority, &s->priority, NULL)) ||
        (rc = m_str(&m, "tier", &s->tier, NULL)) ||
        (rc = group_ref(l, &m, "group", "SLA policy", s->name, &s->group)) ||
        (rc = m_dur(&m, "first_response", true, &s->first_response_ms)) ||
        (rc = m_dur(&m, "next_response", true, &s->next_response_ms)) ||
        (rc = m_dur(&m, "resolution", true, &s->resolution_ms)) ||
        (rc = m_dur(&m, "warn_before", true, &s->warn_before_ms)))
        return rc;
    int64_t smallest = 0;
    const int64_t targets[] = { s->first_response_ms, s->next_response_ms, s->resolution_ms };
    for (size_t k = 0; k < 3; k++)
        if (targets[k] > 0 && (smallest == 0 || targets[k] < smallest))
            smallest = targets[k];
    if (smallest == 0)
        return fail(l, np, "SLA policy '%s' has no target (first_response, next_response "
                    "or resolution)", s->name);
    if (s->warn_before_ms > 0 && s->warn_before_ms >= smallest) {
        char a[48], b[48];
        (void)m_get(&m, "warn_before", &wn, &wp);
        return fail(l, wp, "'warn_before' (%s) must be shorter than the smallest target (%s)",
                    fmt_dur(s->warn_before_ms, a, sizeof a), fmt_dur(smallest, b, sizeof b));
    }
    return 0;
}

static int esc_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_escalation *x = &c->escalations[i];
    struct map m;
    char desc[64];
    struct cfg_pos np, sp;
    int rc;

    snprintf(desc, sizeof desc, "escalation[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_esc, false, desc)) ||
        (rc = m_need(&m, "name")) ||
        (rc = m_str(&m, "name", &x->name, &np)))
        return rc;
    x->pos = np;
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->escalations[j].name, x->name) == 0)
            return fail(l, np, "duplicate escalation '%s' (first at line %d)", x->name,
                        c->escalations[j].pos.line);
    if ((rc = m_strlist(&m, "keywords", false, &x->keywords, &x->nkeywords)) ||
        (rc = m_enum(&m, "on_sla", v_on_sla, &x->on_sla, NULL)) ||
        (rc = m_dur(&m, "no_reply", true, &x->no_reply_ms)) ||
        (rc = m_str(&m, "tier", &x->tier, NULL)) ||
        (rc = m_enum(&m, "set_priority", v_priority, &x->set_priority, &sp)) ||
        (rc = m_bool(&m, "raise_priority", &x->raise_priority)) ||
        (rc = group_ref(l, &m, "move_to_group", "escalation", x->name, &x->move_to_group)) ||
        (rc = m_bool(&m, "notify", &x->notify)))
        return rc;
    if (x->nkeywords == 0 && x->on_sla == NULL && x->no_reply_ms == 0 && x->tier == NULL)
        return fail(l, np, "escalation '%s' has no trigger (keywords, on_sla, no_reply or "
                    "tier)", x->name);
    if (x->set_priority == NULL && !x->raise_priority && x->move_to_group == NULL &&
        !x->notify)
        return fail(l, np, "escalation '%s' has no action (set_priority, raise_priority, "
                    "move_to_group or notify)", x->name);
    if (x->set_priority != NULL && x->raise_priority)
        return fail(l, sp, "escalation '%s': set_priority and raise_priority exclude each "
                    "other", x->name);
    return 0;
}

static int template_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_template *t = &c->templates[i];
    struct map m;
    char desc[64];
    struct cfg_pos np, tp;
    int rc;

    snprintf(desc, sizeof desc, "templates[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_template, false, desc)) ||
        (rc = m_need(&m, "name")) || (rc = m_need(&m, "text")) ||
        (rc = m_str(&m, "name", &t->name, &np)))
        return rc;
    t->pos = np;
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->templates[j].name, t->name) == 0)
            return fail(l, np, "duplicate template '%s' (first at line %d)", t->name,
                        c->templates[j].pos.line);
    if ((rc = m_str(&m, "text", &t->text, &tp)))
        return rc;
    size_t at = 0;
    const char *why = braces_check(t->text, &at);
    if (why != NULL)
        return fail(l, tp, "template '%s': %s (at character %zu of the text)", t->name, why,
                    at + 1);
    return 0;
}

static int kb_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_kb_article *k = &c->kb[i];
    struct map m;
    char desc[64];
    struct cfg_pos ip, up;
    int rc;

    snprintf(desc, sizeof desc, "kb[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_kb, false, desc)) ||
        (rc = m_need(&m, "id")) || (rc = m_need(&m, "title")) ||
        (rc = m_str(&m, "id", &k->id, &ip)))
        return rc;
    k->pos = ip;
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->kb[j].id, k->id) == 0)
            return fail(l, ip, "duplicate kb article id '%s' (first at line %d)", k->id,
                        c->kb[j].pos.line);
    if ((rc = m_str(&m, "title", &k->title, NULL)) ||
        (rc = m_str(&m, "url", &k->url, &up)))
        return rc;
    if (k->url != NULL && !url_ok(k->url))
        return fail(l, up, "'url' must start with http:// or https://");
    if ((rc = m_str(&m, "body", &k->body, NULL)) ||
        (rc = m_strlist(&m, "keywords", false, &k->keywords, &k->nkeywords)))
        return rc;
    return 0;
}

static int question_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_intake_question *q = &c->intake[i];
    struct map m;
    char desc[64];
    struct cfg_pos fp, tp = fb, cp;
    struct fy_node *cn;
    int rc;

    snprintf(desc, sizeof desc, "intake.questions[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_question, false, desc)) ||
        (rc = m_need(&m, "field")) || (rc = m_need(&m, "prompt")) ||
        (rc = m_str(&m, "field", &q->field, &fp)))
        return rc;
    q->pos = fp;
    if (!name_ok(q->field, "_"))
        return fail(l, fp, "'field' must match [a-z0-9_]+ (got '%s')", q->field);
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->intake[j].field, q->field) == 0)
            return fail(l, fp, "duplicate intake field '%s' (first at line %d)", q->field,
                        c->intake[j].pos.line);
    if ((rc = m_str(&m, "prompt", &q->prompt, NULL)) ||
        (rc = m_enum(&m, "type", v_qtype, &q->type, &tp)) ||
        (rc = m_strlist(&m, "choices", true, &q->choices, &q->nchoices)) ||
        (rc = m_bool(&m, "optional", &q->optional)))
        return rc;
    if (q->type == NULL)
        q->type = mem_strdup("text");
    if (strcmp(q->type, "choice") == 0) {
        if (q->nchoices < 2) {
            if (m_has(&m, "choices") && m_get(&m, "choices", &cn, &cp) == 0)
                tp = cp;
            return fail(l, tp, "question '%s' of type 'choice' needs at least 2 'choices'",
                        q->field);
        }
    } else if (m_has(&m, "choices")) {
        (void)m_get(&m, "choices", &cn, &cp);
        return fail(l, cp, "question '%s' has 'choices' but its type is '%s' (use type: "
                    "choice)", q->field, q->type);
    }
    return 0;
}

static int sec_intake(struct ld *l, struct fy_node *n, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct map m;
    struct fy_node *seq;
    size_t count;
    struct cfg_pos p;
    int rc;

    if (n == NULL)
        return 0;
    c->intake_enabled = true;           /* writing the section means using it */
    if ((rc = map_open(l, &m, n, fb, k_intake, false, "section 'intake'")) ||
        (rc = m_bool(&m, "enabled", &c->intake_enabled)) ||
        (rc = m_list(&m, "questions", &seq, &count, &p)))
        return rc;
    if (count > 0) {
        c->intake = mem_alloc(count * sizeof *c->intake);
        c->nintake = count;
        if ((rc = each_item(l, seq, p, count, question_item)))
            return rc;
    }
    if (c->intake_enabled && c->nintake == 0)
        return fail(l, m.pos, "intake is enabled but has no questions");
    return 0;
}

static int webhook_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_webhook *w = &c->webhooks[i];
    struct map m;
    char desc[64];
    struct cfg_pos np, up, sp, rp;
    struct fy_node *seq;
    size_t count;
    int rc;

    w->timeout_ms = 10000;
    w->max_payload = 256 * 1024;
    w->concurrency = 16;
    snprintf(desc, sizeof desc, "webhooks[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_webhook, false, desc)) ||
        (rc = m_need(&m, "name")) || (rc = m_need(&m, "url")) || (rc = m_need(&m, "secret")) ||
        (rc = m_str(&m, "name", &w->name, &np)))
        return rc;
    w->pos = np;
    if (!name_ok(w->name, "_-"))
        return fail(l, np, "webhook name must match [a-z0-9_-]+ (got '%s')", w->name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->webhooks[j].name, w->name) == 0)
            return fail(l, np, "duplicate webhook name '%s' (first at line %d)", w->name,
                        c->webhooks[j].pos.line);
    if ((rc = m_str(&m, "url", &w->url, &up)))
        return rc;
    if (!url_ok(w->url))
        return fail(l, up, "'url' must start with http:// or https:// (got '%s')", w->url);
    if ((rc = m_str(&m, "secret", &w->secret, &sp)) ||
        (rc = secret_check(l, "secret", w->secret, sp)) ||
        (rc = m_str(&m, "previous_secret", &w->previous_secret, &sp)) ||
        (w->previous_secret != NULL &&
         (rc = secret_check(l, "previous_secret", w->previous_secret, sp))) ||
        (rc = m_strlist(&m, "events", true, &w->events, &w->nevents)))
        return rc;
    for (size_t k = 0; k < w->nevents; k++) {
        if (!in_list(v_events, w->events[k])) {
            char list[512];
            return fail(l, m_item_pos(&m, "events", k), "unknown event '%s' (expected %s)",
                        w->events[k], join(v_events, list, sizeof list));
        }
    }
    if ((rc = m_dur(&m, "timeout", true, &w->timeout_ms)) ||
        (rc = m_list(&m, "retry", &seq, &count, &rp)))
        return rc;
    if (seq != NULL && count > 0) {
        w->retry_ms = mem_alloc(count * sizeof *w->retry_ms);
        w->nretry = count;
        void *it = NULL;
        struct fy_node *item;
        for (size_t k = 0; k < count && (item = fy_node_sequence_iterate(seq, &it)); k++) {
            struct cfg_pos ip = node_pos(item, rp);
            char *t = NULL;
            if ((rc = deref(l, &item, ip)))
                return rc;
            if (is_null(item) || fy_node_get_type(item) != FYNT_SCALAR)
                return fail(l, ip, "each item of 'retry' must be a duration, not %s",
                            kind(item));
            size_t len = 0;
            const char *s = fy_node_get_scalar(item, &len);
            if ((rc = expand(l, s ? s : "", s ? len : 0, ip, &t)))
                return rc;
            if (clock_parse_duration(t, &w->retry_ms[k]) != 0)
                rc = fail(l, ip, "'retry': invalid duration '%s' (use e.g. 30s, 2m, 1h30m)", t);
            else if (w->retry_ms[k] <= 0)
                rc = fail(l, ip, "'retry' delays must be greater than 0");
            mem_free(t);
            if (rc)
                return rc;
        }
    } else if (seq == NULL) {
        size_t nd = sizeof default_retry_ms / sizeof default_retry_ms[0];
        w->retry_ms = mem_alloc(sizeof default_retry_ms);
        memcpy(w->retry_ms, default_retry_ms, sizeof default_retry_ms);
        w->nretry = nd;
    }   /* retry: [] means no retries */
    if ((rc = m_size(&m, "max_payload", 1024, &w->max_payload)) ||
        (rc = m_enum(&m, "oversize", v_oversize, &w->oversize, NULL)) ||
        (rc = m_enum(&m, "ordering", v_ordering, &w->ordering, NULL)) ||
        (rc = m_int32(&m, "concurrency", 1, 256, "an integer from 1 to 256", &w->concurrency)))
        return rc;
    if (w->oversize == NULL)
        w->oversize = mem_strdup("split");
    if (w->ordering == NULL)
        w->ordering = mem_strdup("per_ticket");
    return 0;
}

/*
 * A top-level list of mappings: allocate the (zeroed) array at its final
 * size, record the count so a partial array is freed whole, parse items.
 */
static int sec_list(struct ld *l, struct map *root, const char *key, void **arr,
                    size_t *n, size_t size, item_fn fn)
{
    struct fy_node *seq;
    size_t count;
    struct cfg_pos p;
    int rc = m_list(root, key, &seq, &count, &p);
    if (rc || count == 0)
        return rc;
    *arr = mem_alloc(count * size);
    *n = count;
    return each_item(l, seq, p, count, fn);
}

static int load_root(struct ld *l, struct fy_node *top)
{
    struct cfg *c = l->c;
    struct map r;
    struct fy_node *n;
    struct cfg_pos p, gpos;
    int rc;

    if ((rc = map_open(l, &r, top, (struct cfg_pos){ 1, 1 }, k_root, true, "the top level")))
        return rc;

    if ((rc = m_get(&r, "telegram", &n, &p)) || (rc = sec_telegram(l, n, p)) ||
        (rc = m_get(&r, "store", &n, &p)) || (rc = sec_store(l, n, p)) ||
        (rc = m_need(&r, "http")) ||
        (rc = m_get(&r, "http", &n, &p)) || (rc = sec_http(l, n, p)) ||
        (rc = m_get(&r, "log", &n, &p)) || (rc = sec_log(l, n, p)) ||
        (rc = m_get(&r, "tickets", &n, &p)) || (rc = sec_tickets(l, n, p, &gpos)) ||
        (rc = sec_groups(l, &r, gpos)))
        return rc;

    void **arr;
    arr = (void **)&c->agents;
    if ((rc = sec_list(l, &r, "agents", arr, &c->nagents, sizeof *c->agents, agent_item)))
        return rc;
    arr = (void **)&c->rules;
    if ((rc = sec_list(l, &r, "routing", arr, &c->nrules, sizeof *c->rules, rule_item)))
        return rc;
    arr = (void **)&c->sla;
    if ((rc = sec_list(l, &r, "sla", arr, &c->nsla, sizeof *c->sla, sla_item)))
        return rc;
    arr = (void **)&c->escalations;
    if ((rc = sec_list(l, &r, "escalation", arr, &c->nescalations, sizeof *c->escalations,
                       esc_item)))
        return rc;
    arr = (void **)&c->templates;
    if ((rc = sec_list(l, &r, "templates", arr, &c->ntemplates, sizeof *c->templates,
                       template_item)))
        return rc;
    arr = (void **)&c->kb;
    if ((rc = sec_list(l, &r, "kb", arr, &c->nkb, sizeof *c->kb, kb_item)))
        return rc;
    if ((rc = m_get(&r, "intake", &n, &p)) || (rc = sec_intake(l, n, p)))
        return rc;
    arr = (void **)&c->webhooks;
    return sec_list(l, &r, "webhooks", arr, &c->nwebhooks, sizeof *c->webhooks,
                    webhook_item);
}

/* --- freeing ---------------------------------------------------------------- */

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        mem_free(v[i]);
    mem_free(v);
}

static void cfg_destroy(struct cfg *c)
{
    mem_free(c->path);
    struct cfg_telegram *t = &c->telegram;
    mem_free(t->token);
    mem_free(t->api_base);
    mem_free(t->mode);
    mem_free(t->webhook_url);
    mem_free(t->webhook_secret);
    mem_free(c->store.driver);
    mem_free(c->store.path);
    mem_free(c->store.dsn);
    mem_free(c->store.synchronous);
    mem_free(c->http.listen);
    for (size_t i = 0; i < c->http.ntokens; i++) {
        mem_free(c->http.tokens[i].name);
        mem_free(c->http.tokens[i].token);
    }
    mem_free(c->http.tokens);
    mem_free(c->log.level);
    mem_free(c->log.format);
    for (size_t i = 0; i < c->nagents; i++) {
        struct cfg_agent *a = &c->agents[i];
        mem_free(a->id);
        mem_free(a->name);
        mem_free(a->username);
        strv_free(a->groups, a->ngroups);
        mem_free(a->availability);
    }
    mem_free(c->agents);
    for (size_t i = 0; i < c->ngroups; i++) {
        mem_free(c->groups[i].name);
        mem_free(c->groups[i].title);
    }
    mem_free(c->groups);
    mem_free(c->general_group);
    mem_free(c->default_priority);
    mem_free(c->on_closed);
    for (size_t i = 0; i < c->nrules; i++) {
        struct cfg_rule *r = &c->rules[i];
        mem_free(r->name);
        strv_free(r->keywords, r->nkeywords);
        mem_free(r->regex);
        mem_free(r->tier);
        mem_free(r->language);
        mem_free(r->group);
        mem_free(r->strategy);
        mem_free(r->priority);
    }
    mem_free(c->rules);
    for (size_t i = 0; i < c->nsla; i++) {
        mem_free(c->sla[i].name);
        mem_free(c->sla[i].priority);
        mem_free(c->sla[i].tier);
        mem_free(c->sla[i].group);
    }
    mem_free(c->sla);
    for (size_t i = 0; i < c->nescalations; i++) {
        struct cfg_escalation *x = &c->escalations[i];
        mem_free(x->name);
        strv_free(x->keywords, x->nkeywords);
        mem_free(x->on_sla);
        mem_free(x->tier);
        mem_free(x->set_priority);
        mem_free(x->move_to_group);
    }
    mem_free(c->escalations);
    for (size_t i = 0; i < c->ntemplates; i++) {
        mem_free(c->templates[i].name);
        mem_free(c->templates[i].text);
    }
    mem_free(c->templates);
    for (size_t i = 0; i < c->nkb; i++) {
        struct cfg_kb_article *k = &c->kb[i];
        mem_free(k->id);
        mem_free(k->title);
        mem_free(k->url);
        mem_free(k->body);
        strv_free(k->keywords, k->nkeywords);
    }
    mem_free(c->kb);
    for (size_t i = 0; i < c->nintake; i++) {
        struct cfg_intake_question *q = &c->intake[i];
        mem_free(q->field);
        mem_free(q->prompt);
        mem_free(q->type);
        strv_free(q->choices, q->nchoices);
    }
    mem_free(c->intake);
    for (size_t i = 0; i < c->nwebhooks; i++) {
        struct cfg_webhook *w = &c->webhooks[i];
        mem_free(w->name);
        mem_free(w->url);
        mem_free(w->secret);
        mem_free(w->previous_secret);
        strv_free(w->events, w->nevents);
        mem_free(w->retry_ms);
        mem_free(w->oversize);
        mem_free(w->ordering);
    }
    mem_free(c->webhooks);
    mem_free(c);
}

/* --- YAML document ------------------------------------------------------------ */

/*
 * libfyaml stops without a diagnostic at some undecodable input (a stray
 * byte at the start reads as an unknown encoding), which would look like an
 * empty file; so the text is checked to be UTF-8 without NULs first.
 */
static int utf8_check(struct ld *l, const unsigned char *s, size_t len)
{
    struct cfg_pos p = { 1, 1 };
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 :
                   (b & 0xf8) == 0xf0 ? 4 : 0;
        bool ok = n > 0 && i + n <= len && b != 0 && b != 0xc0 && b != 0xc1 && b <= 0xf4;
        for (size_t k = 1; ok && k < n; k++)
            ok = (s[i + k] & 0xc0) == 0x80;
        if (ok && n == 3) {
            ok = !(b == 0xe0 && s[i + 1] < 0xa0) &&         /* overlong */
                 !(b == 0xed && s[i + 1] >= 0xa0);          /* surrogate */
        } else if (ok && n == 4) {
            ok = !(b == 0xf0 && s[i + 1] < 0x90) &&         /* overlong */
                 !(b == 0xf4 && s[i + 1] >= 0x90);          /* > U+10FFFF */
        }
        if (!ok) {
            if (b == 0)
                return fail(l, p, "NUL byte in the file; a config file is UTF-8 text");
            return fail(l, p, "invalid UTF-8 (byte 0x%02x); a config file is UTF-8 text", b);
        }
        if (b == '\n') {
            p.line++;
            p.column = 1;
        } else {
            p.column++;
        }
        i += n;
    }
    return 0;
}

/* libfyaml's uncollected output (messages without a position) lands here. */
static void diag_out(struct fy_diag *diag, void *user, const char *b, size_t n)
{
    (void)diag;
    (void)buf_append(user, b, n);
}

/* The first error libfyaml reported, as our message. */
static int yaml_error(struct ld *l, struct fy_diag *diag, struct buf *out)
{
    void *it = NULL;
    struct fy_diag_error *de;
    while ((de = fy_diag_errors_iterate(diag, &it)) != NULL) {
        if (de->type >= FYET_ERROR && de->msg != NULL)
            return fail(l, (struct cfg_pos){ de->line, de->column }, "%s", de->msg);
    }
    /* no positioned error: use what libfyaml printed, minus its "[ERR]: " */
    const char *s = buf_str(out);
    const char *tag = strstr(s, ": ");
    if (tag != NULL && s[0] == '[')
        s = tag + 2;
    size_t len = strcspn(s, "\n");
    if (len == 0)
        return fail(l, (struct cfg_pos){ 1, 1 }, "invalid YAML");
    return fail(l, (struct cfg_pos){ 1, 1 }, "invalid YAML: %.*s", (int)len, s);
}

static int load_yaml(struct ld *l, const char *yaml, size_t len)
{
    struct buf out;
    struct fy_diag_cfg dc;
    int rc;

    if ((rc = utf8_check(l, (const unsigned char *)yaml, len)) != 0)
        return rc;
    buf_init(&out, 4096);
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;                   /* never stderr: everything goes to diag_out */
    dc.output_fn = diag_out;
    dc.user = &out;
    dc.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (diag == NULL) {
        rc = err_set(l->e, ERR_NOMEM, "%s: cannot create the YAML diagnostics", l->name);
        goto out_buf;
    }
    fy_diag_set_collect_errors(diag, true);

    /* duplicate keys are allowed here so that map_open reports them with names */
    struct fy_parse_cfg pc = {
        .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS | FYPCF_JSON_NONE,
        .diag = diag,
    };
    struct fy_parser *fyp = fy_parser_create(&pc);
    if (fyp == NULL) {
        rc = err_set(l->e, ERR_NOMEM, "%s: cannot create the YAML parser", l->name);
        goto out_diag;
    }
    if (fy_parser_set_string(fyp, yaml, len) != 0) {
        rc = yaml_error(l, diag, &out);
        goto out_parser;
    }
    struct fy_document *doc = fy_parse_load_document(fyp);
    if (doc == NULL) {
        if (fy_parser_get_stream_error(fyp) || fy_diag_got_error(diag))
            rc = yaml_error(l, diag, &out);
        else
            rc = fail(l, (struct cfg_pos){ 1, 1 }, "the file is empty (expected a mapping "
                      "of sections: telegram, store, http, ...)");
        goto out_parser;
    }
    struct fy_node *root = fy_document_root(doc);
    if (is_null(root)) {
        rc = fail(l, (struct cfg_pos){ 1, 1 }, "the file is empty (expected a mapping "
                  "of sections: telegram, store, http, ...)");
        goto out_doc;
    }
    /* a second document would be silently ignored: refuse it (empty ones,
     * such as a trailing "---", hold nothing to ignore) */
    struct fy_document *doc2;
    while ((doc2 = fy_parse_load_document(fyp)) != NULL) {
        struct fy_node *r2 = fy_document_root(doc2);
        bool empty = is_null(r2);
        struct cfg_pos p2 = node_pos(r2, (struct cfg_pos){ 1, 1 });
        fy_parse_document_destroy(fyp, doc2);
        if (!empty) {
            rc = fail(l, p2, "more than one YAML document ('---'); a config file holds "
                      "exactly one");
            goto out_doc;
        }
    }
    if (fy_parser_get_stream_error(fyp)) {
        rc = yaml_error(l, diag, &out);
        goto out_doc;
    }
    rc = load_root(l, root);
out_doc:
    fy_parse_document_destroy(fyp, doc);
out_parser:
    fy_parser_destroy(fyp);
out_diag:
    fy_diag_destroy(diag);
out_buf:
    buf_release(&out);
    return rc;
}

/* --- public ----------------------------------------------------------------- */

int cfg_load_string(const char *name, const char *yaml, size_t len,
                    struct cfg **out, struct err *e)
{
    *out = NULL;
    if (name == NULL)
        name = "<string>";
    struct cfg *c = mem_alloc(sizeof *c);
    atomic_init(&c->refs, 1);
    c->path = mem_strdup(name);
    struct ld l = { .name = name, .e = e, .c = c };
    int rc = load_yaml(&l, yaml ? yaml : "", yaml ? len : 0);
    if (rc != 0) {
        if (e != NULL && e->code == 0)      /* never fail without saying why */
            err_set(e, rc, "%s: cannot load the configuration", name);
        cfg_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

int cfg_load(const char *path, struct cfg **out, struct err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, CFG_FILE_MAX);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(&b, chunk, n) != 0) {
            rc = err_set(e, ERR_IO, "%s: larger than %u bytes; not a config file", path,
                         CFG_FILE_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = err_set(e, ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    rc = cfg_load_string(path, buf_str(&b), b.len, out, e);
out:
    buf_release(&b);
    fclose(f);
    return rc;
}

struct cfg *cfg_ref(struct cfg *c)
{
    if (c != NULL)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void cfg_unref(struct cfg **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    struct cfg *c = *cp;
    *cp = NULL;
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        cfg_destroy(c);
}

const struct cfg_agent *cfg_agent_find(const struct cfg *c, const char *id)
{
    for (size_t i = 0; c != NULL && id != NULL && i < c->nagents; i++)
        if (c->agents[i].id != NULL && strcmp(c->agents[i].id, id) == 0)
            return &c->agents[i];
    return NULL;
}

const struct cfg_agent *cfg_agent_find_tg(const struct cfg *c, int64_t tg_user_id)
{
    for (size_t i = 0; c != NULL && i < c->nagents; i++)
        if (c->agents[i].tg_user_id == tg_user_id)
            return &c->agents[i];
    return NULL;
}

const struct cfg_group *cfg_group_find(const struct cfg *c, const char *name)
{
    for (size_t i = 0; c != NULL && name != NULL && i < c->ngroups; i++)
        if (c->groups[i].name != NULL && strcmp(c->groups[i].name, name) == 0)
            return &c->groups[i];
    return NULL;
}

const struct cfg_template *cfg_template_find(const struct cfg *c, const char *name)
{
    for (size_t i = 0; c != NULL && name != NULL && i < c->ntemplates; i++)
        if (c->templates[i].name != NULL && strcmp(c->templates[i].name, name) == 0)
            return &c->templates[i];
    return NULL;
}

const struct cfg_webhook *cfg_webhook_find(const struct cfg *c, const char *name)
{
    for (size_t i = 0; c != NULL && name != NULL && i < c->nwebhooks; i++)
        if (c->webhooks[i].name != NULL && strcmp(c->webhooks[i].name, name) == 0)
            return &c->webhooks[i];
    return NULL;
}

bool cfg_agent_in_group(const struct cfg_agent *a, const char *group)
{
    for (size_t i = 0; a != NULL && group != NULL && i < a->ngroups; i++)
        if (strcmp(a->groups[i], group) == 0)
            return true;
    return false;
}
