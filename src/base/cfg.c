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
 * Texts in the template language (templates, the intake texts) are a whole
 * language, compiled by src/desk/template.c when a configuration is loaded
 * (template_set_new, intake_form_new); for them this file records where
 * every byte of the text was written, so those errors point into the file
 * just like the ones found here.
 *
 * kb.file is the one other file read here: its articles join c->kb and its
 * errors name it and its own lines.
 */
#include "base/cfg.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/tz.h"
#include "base/rx.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_FILE_MAX (16u << 20)    /* a config file larger than this is a mistake */
#define MAXKEYS 16                  /* most keys of any one mapping */
/* kb.min_score default: a BM25 score below this is a coincidence of common
 * words rather than a related article (src/desk/kb.h explains the scale) */
#define CFG_KB_MIN_SCORE 0.5
/* intake: a field name and a choice index travel in a button's callback
 * data ("intake:<field>:<index>"), which Telegram caps at 64 bytes */
#define CFG_FIELD_MAX 32
#define CFG_CHOICES_MAX 30

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
    "general_group", "default_priority", "on_closed", "reassign_on_offline",
    "fallback_strategy", "utc_offset", NULL
};
static const char *const k_group[] = { "name", "title", "level", NULL };
static const char *const k_agent[] = {
    "id", "name", "telegram_user_id", "username", "groups", "capacity", "availability", NULL
};
static const char *const k_rule[] = {
    "name", "keywords", "regex", "tier", "language", "group", "strategy", "priority",
    "field", "days", "hours", "utc_offset", NULL
};
static const char *const k_sla[] = {
    "name", "priority", "tier", "group", "first_response", "next_response",
    "resolution", "warn_before", "targets", "pause", "business_hours", NULL
};
/* the SLA metrics in CFG_SLA_METRICS order: keys of targets and of pause */
static const char *const k_sla_metrics[] = {
    "first_response", "next_response", "resolution", NULL
};
static const char *const k_hours[] = { "timezone", "days", "holidays", NULL };
static const char *const k_esc[] = {
    "name", "keywords", "on_sla", "no_reply", "tier", "set_priority", "raise_priority",
    "move_to_group", "notify", "regex", "manual", "next_level", "reassign", "strategy", NULL
};
static const char *const k_template[] = { "name", "text", NULL };
static const char *const k_kb_section[] = {
    "file", "articles", "suggestions", "min_score", NULL
};
static const char *const k_kb_file[] = { "articles", NULL };
static const char *const k_kb[] = { "id", "title", "url", "body", "keywords", NULL };
static const char *const k_intake[] = {
    "enabled", "questions", "intro", "confirmation", "cancelled", "skip_button",
    "summary_title", "abandon_after", NULL
};
static const char *const k_question[] = {
    "field", "prompt", "type", "choices", "optional", "label", "invalid", "min", "max", NULL
};
static const char *const k_webhook[] = {
    "name", "url", "secret", "previous_secret", "events", "timeout", "retry",
    "max_payload", "oversize", "ordering", "concurrency", "keep_succeeded", "keep_dead", NULL
};

#define FITS(t) _Static_assert(sizeof(t) / sizeof((t)[0]) <= MAXKEYS + 1, #t " exceeds MAXKEYS")
FITS(k_root);
FITS(k_telegram);
FITS(k_agent);
FITS(k_rule);
FITS(k_sla);
FITS(k_esc);
FITS(k_webhook);
FITS(k_question);

/* --- accepted values -------------------------------------------------------- */

static const char *const v_tg_mode[] = { "polling", "webhook", NULL };
static const char *const v_driver[] = { "sqlite", "postgres", NULL };
static const char *const v_sync[] = { "full", "normal", NULL };
static const char *const v_level[] = { "debug", "info", "warn", "error", NULL };
static const char *const v_format[] = { "auto", "text", "json", NULL };
/* the same names as ticket_priority_parse, agent_avail_parse, workflow_reopen_parse */
static const char *const v_priority[] = { "low", "normal", "high", "urgent", NULL };
/* ticket_status_name order; only the active ones may pause SLA clocks */
static const char *const v_status[] = {
    "open", "in_progress", "on_hold", "resolved", "closed", NULL
};
static const char *const v_pausable[] = { "open", "in_progress", "on_hold", NULL };
static const char *const v_days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };
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
    const char *src;        /* the text being parsed, for positions inside values */
    size_t kb_base;         /* index in c->kb of the first article being read */
    const char *kb_list;    /* how messages name that list: "kb", "kb.articles" */
    const char *parent;     /* for the kb file: the config file's name; else NULL */
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

/* Append n bytes to b and, when from is given, n times the source index i. */
static void put_from(struct buf *b, struct buf *from, const char *s, size_t n, size_t i)
{
    (void)buf_append(b, s, n);
    for (size_t k = 0; from != NULL && k < n; k++)
        (void)buf_append(from, &i, sizeof i);
}

/*
 * Expand ${NAME} from the environment; "$${" stands for a literal "${".
 * On success *out is a new NUL-terminated string. When `from` is given it
 * receives, for each byte of *out, the index in s it came from (size_t
 * values; an expanded variable's bytes all come from its '$').
 */
static int expand(struct ld *l, const char *s, size_t len, struct cfg_pos p, char **out,
                  struct buf *from)
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
            put_from(&b, from, "$", 1, i);
            put_from(&b, from, "{", 1, i + 2);
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
            put_from(&b, from, v, strlen(v), i);
            i = j + 1;
            continue;
        }
        put_from(&b, from, s + i, 1, i);
        i++;
    }
    if (from != NULL)                   /* the end of *out is the end of s */
        (void)buf_append(from, &len, sizeof len);
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

/* --- positions inside a text value ------------------------------------------- */

/* Move p past raw byte ch. Columns count characters, as libfyaml's do. */
static void step_pos(struct cfg_pos *p, unsigned char ch)
{
    if (ch == '\n') {
        p->line++;
        p->column = 1;
    } else if ((ch & 0xc0) != 0x80) {
        p->column++;
    }
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
           ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/*
 * The double-quoted escape at raw[j] (a backslash): the raw bytes it spans
 * in *rn, and the number of value bytes it stands for. A backslash before
 * a line break only joins lines: it spans itself and stands for nothing
 * (the break and the indentation after it are skipped as whitespace).
 */
static size_t dq_escape(const char *raw, size_t rawlen, size_t j, size_t *rn)
{
    char ch = j + 1 < rawlen ? raw[j + 1] : '\0';
    size_t hex = ch == 'x' ? 2 : ch == 'u' ? 4 : ch == 'U' ? 8 : 0;
    if (ch == '\n' || ch == '\r') {
        *rn = 1;
        return 0;
    }
    if (hex > 0) {
        uint32_t cp = 0;
        size_t k = 0;
        for (; k < hex && j + 2 + k < rawlen && hexval(raw[j + 2 + k]) >= 0; k++)
            cp = cp * 16 + (uint32_t)hexval(raw[j + 2 + k]);
        *rn = 2 + k;
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
    *rn = 2;
    return ch == 'N' || ch == '_' ? 2 : ch == 'L' || ch == 'P' ? 3 : 1;   /* U+0085 U+00A0 U+2028/9 */
}

/*
 * Where each byte of scalar n's value v (vlen bytes) was written; vlen + 1
 * positions, the last one just after the value. The raw source of the
 * token and the value are walked side by side: content characters appear
 * in both in the same order, and what differs is whitespace (a block's
 * indentation, line breaks folded into spaces), quoting ('' in single
 * quotes) and escapes (double quotes), each handled here. The result is
 * exact for every character that is not whitespace, which is where errors
 * point.
 */
static struct cfg_pos *scalar_at(const struct ld *l, struct fy_node *n, const char *v,
                                 size_t vlen, struct cfg_pos fb)
{
    struct cfg_pos *at = mem_alloc((vlen + 1) * sizeof *at);
    struct fy_token *t = fy_node_get_scalar_token(n);
    const struct fy_mark *sm = t ? fy_token_start_mark(t) : NULL;
    const struct fy_mark *em = t ? fy_token_end_mark(t) : NULL;
    if (sm == NULL || em == NULL || l->src == NULL || em->input_pos < sm->input_pos) {
        for (size_t i = 0; i <= vlen; i++)
            at[i] = fb;
        return at;
    }
    enum fy_node_style st = fy_node_get_style(n);
    const char *raw = l->src + sm->input_pos;
    size_t rawlen = em->input_pos - sm->input_pos, i = 0, j = 0;
    struct cfg_pos p = { .line = sm->line + 1, .column = sm->column + 1 };
    while (i < vlen) {
        unsigned char want = (unsigned char)v[i];
        unsigned char ch = j < rawlen ? (unsigned char)raw[j] : 0;   /* v holds no NUL */
        if (st == FYNS_DOUBLE_QUOTED && ch == '\\') {
            size_t rn, nv = dq_escape(raw, rawlen, j, &rn);
            for (size_t k = 0; k < nv && i < vlen; k++)
                at[i++] = p;
            for (size_t k = 0; k < rn; k++)
                step_pos(&p, (unsigned char)raw[j++]);
        } else if (ch == want) {
            /* a UTF-8 continuation byte sits where its character starts */
            at[i] = (want & 0xc0) == 0x80 && i > 0 ? at[i - 1] : p;
            i++;
            step_pos(&p, ch);
            j++;
            if (st == FYNS_SINGLE_QUOTED && ch == '\'' && j < rawlen && raw[j] == '\'')
                step_pos(&p, (unsigned char)raw[j++]);
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            step_pos(&p, ch);                       /* indentation, a folded break */
            j++;
        } else {
            at[i++] = p;        /* a break folded into the value (or, past the end, lost) */
        }
    }
    at[vlen] = p;
    return at;
}

/*
 * The scalar text of key, ${} expanded; *out NULL when absent, else owned.
 * With `at`, *at also receives where each byte of *out was written (the
 * layout struct cfg_template describes), owned.
 */
static int m_text_at(struct map *m, const char *key, const char *want, char **out,
                     struct cfg_pos *vp, struct cfg_pos **at)
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
    if (s == NULL) {
        s = "";
        len = 0;
    }
    struct buf from;
    buf_init(&from, 0);
    rc = expand(m->l, s, len, p, out, at != NULL ? &from : NULL);
    if (rc == 0 && at != NULL) {
        struct cfg_pos *raw = scalar_at(m->l, n, s, len, p);
        size_t tl = strlen(*out);
        *at = mem_alloc((tl + 1) * sizeof **at);
        for (size_t k = 0; k <= tl; k++) {
            size_t ix;
            memcpy(&ix, from.p + k * sizeof ix, sizeof ix);
            (*at)[k] = raw[ix <= len ? ix : len];
        }
        mem_free(raw);
    }
    buf_release(&from);
    if (rc == 0 && vp != NULL)
        *vp = p;
    return rc;
}

static int m_text(struct map *m, const char *key, const char *want, char **out,
                  struct cfg_pos *vp)
{
    return m_text_at(m, key, want, out, vp, NULL);
}

/* A non-empty string, and with `at` where each byte was written; *out
 * untouched when absent. */
static int m_str_at(struct map *m, const char *key, char **out, struct cfg_pos **at,
                    struct cfg_pos *vp)
{
    char *t;
    struct cfg_pos p, *a = NULL;
    int rc = m_text_at(m, key, "a string", &t, &p, at != NULL ? &a : NULL);
    if (rc || t == NULL)
        return rc;
    if (t[0] == '\0') {
        mem_free(t);
        mem_free(a);
        return fail(m->l, p, "'%s' must not be empty", key);
    }
    *out = t;
    if (at != NULL)
        *at = a;
    if (vp != NULL)
        *vp = p;
    return 0;
}

static int m_str(struct map *m, const char *key, char **out, struct cfg_pos *vp)
{
    return m_str_at(m, key, out, NULL, vp);
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
    if (t[0] == '-')
        rc = fail(m->l, p, "'%s': invalid duration '%s' (a duration cannot be negative)",
                  key, t);
    else if (clock_parse_duration(t, &v) != 0)
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

/* A decimal: optional sign, digits, optional fraction ("1", "-2.5"). */
static int parse_decimal(const char *s, double *out)
{
    const char *p = (*s == '-' || *s == '+') ? s + 1 : s;
    double v = 0, scale = 1;
    bool digits = false, dot = false;
    for (; *p; p++) {
        if (*p == '.' && !dot) {
            dot = true;
        } else if (*p >= '0' && *p <= '9') {
            if (dot) {
                scale /= 10;
                v += (*p - '0') * scale;
            } else {
                v = v * 10 + (*p - '0');
            }
            digits = true;
        } else {
            return ERR_INVAL;
        }
    }
    if (!digits || v > 1e15)
        return ERR_INVAL;
    *out = *s == '-' ? -v : v;
    return 0;
}

/* A decimal number in [min, max], always with '.' (no locale); *seen set when given. */
static int m_decimal(struct map *m, const char *key, double min, double max, double *out,
                     bool *seen)
{
    char *t;
    struct cfg_pos p;
    int rc = m_text(m, key, "a number", &t, &p);
    if (rc || t == NULL)
        return rc;
    double v;
    if (parse_decimal(t, &v) != 0)
        rc = fail(m->l, p, "'%s' must be a number such as 2 or 1.5 (got '%s')", key, t);
    else if (v < min || v > max)
        rc = fail(m->l, p, "'%s' must be from %g to %g (got '%s')", key, min, max, t);
    else
        *out = v;
    if (rc == 0 && seen != NULL)
        *seen = true;
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

/* One non-empty string item of list `key` (written at ip), ${} expanded. */
static int item_str(struct ld *l, struct fy_node *item, struct cfg_pos ip, const char *key,
                    char **out)
{
    int rc;
    if ((rc = deref(l, &item, ip)) != 0)
        return rc;
    if (is_null(item) || fy_node_get_type(item) != FYNT_SCALAR)
        return fail(l, ip, "each item of '%s' must be a string, not %s", key, kind(item));
    size_t len = 0;
    const char *s = fy_node_get_scalar(item, &len);
    if ((rc = expand(l, s ? s : "", s ? len : 0, ip, out, NULL)) != 0)
        return rc;
    if ((*out)[0] == '\0')
        return fail(l, ip, "items of '%s' must not be empty", key);
    return 0;
}

/*
 * Node n (a sequence of strings, or — when `scalar_ok` — one string standing
 * for a list of one) as a string array. *out and *n are set as soon as the
 * array exists, so the owner frees whatever was filled if a later item is
 * wrong.
 */
static int node_strs(struct ld *l, struct fy_node *n, struct cfg_pos p, const char *key,
                     bool unique, char ***out, size_t *count)
{
    if (fy_node_get_type(n) == FYNT_SCALAR) {
        *out = mem_alloc(sizeof **out);
        *count = 1;
        return item_str(l, n, p, key, &(*out)[0]);
    }
    int cnt = fy_node_sequence_item_count(n);
    if (cnt <= 0)
        return 0;
    char **v = mem_alloc((size_t)cnt * sizeof *v);
    *out = v;
    *count = (size_t)cnt;
    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(n, &it)) != NULL && i < *count; i++) {
        struct cfg_pos ip = node_pos(item, p);
        int rc = item_str(l, item, ip, key, &v[i]);
        if (rc)
            return rc;
        for (size_t j = 0; unique && j < i; j++)
            if (strcmp(v[j], v[i]) == 0)
                return fail(l, ip, "'%s' lists '%s' twice", key, v[i]);
    }
    return 0;
}

/* A list of non-empty strings (see node_strs); absent leaves *out NULL. */
static int m_strlist(struct map *m, const char *key, bool unique, char ***out, size_t *n)
{
    struct fy_node *seq;
    size_t count;
    struct cfg_pos p;
    int rc = m_list(m, key, &seq, &count, &p);
    if (rc || seq == NULL || count == 0)
        return rc;
    return node_strs(m->l, seq, p, key, unique, out, n);
}

/* A string or a list of strings; *vp is where the value starts. */
static int m_strs(struct map *m, const char *key, char ***out, size_t *n, struct cfg_pos *vp)
{
    struct fy_node *v;
    int rc = m_get(m, key, &v, vp);
    if (rc || v == NULL)
        return rc;
    if (fy_node_get_type(v) == FYNT_MAPPING)
        return fail(m->l, *vp, "'%s' must be a string or a list of strings, not a mapping",
                    key);
    if (fy_node_get_type(v) == FYNT_SEQUENCE && fy_node_sequence_item_count(v) == 0)
        return fail(m->l, *vp, "'%s' must not be an empty list (leave the key out)", key);
    return node_strs(m->l, v, *vp, key, true, out, n);
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

/* Compile the pattern as the rules will (base/rx.h) and refuse it with
 * PCRE2's message and offset. */
static int regex_check(struct ld *l, const char *re, struct cfg_pos p)
{
    struct err re_err = {0};
    struct rx *r = NULL;
    if (rx_compile(re, &r, &re_err) != 0)
        return fail(l, p, "'regex': %s", re_err.msg);
    rx_free(&r);
    return 0;
}

/* The same for a keyword list (of map m), at the offending keyword. */
static int keywords_check(struct ld *l, struct map *m, char *const *words, size_t n)
{
    struct err kw_err = {0};
    struct rx *r = NULL;
    size_t bad = n;
    if (n == 0)
        return 0;
    if (rx_compile_words((const char *const *)words, n, &r, &bad, &kw_err) != 0) {
        struct fy_node *kn;
        struct cfg_pos p = m->pos;
        if (bad < n)
            p = m_item_pos(m, "keywords", bad);
        else
            (void)m_get(m, "keywords", &kn, &p);
        return fail(l, p, "'keywords': %s", kw_err.msg);
    }
    rx_free(&r);
    return 0;
}

/* --- days and hours, shared by routing rules and business hours --------------- */

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* "9:00", "09:30", "24:00" (only as an end). */
static bool parse_hhmm(const char *s, size_t len, bool end, int64_t *ms)
{
    if (len < 4 || len > 5 || s[len - 3] != ':')
        return false;
    int h = 0;
    for (size_t i = 0; i < len - 3; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        h = h * 10 + (s[i] - '0');
    }
    if (!isdigit((unsigned char)s[len - 2]) || !isdigit((unsigned char)s[len - 1]))
        return false;
    int m = (s[len - 2] - '0') * 10 + (s[len - 1] - '0');
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
        return false;
    *ms = ((int64_t)h * 60 + m) * 60000;
    return true;
}

/* "09:00-17:00"; an end at or before the start runs into the next day. */
static const char *parse_window(const char *s, size_t len, int64_t *start, int64_t *end)
{
    const char *dash = memchr(s, '-', len);
    if (dash == NULL)
        return "expected HH:MM-HH:MM";
    size_t l1 = (size_t)(dash - s), l2 = len - l1 - 1;
    if (!parse_hhmm(s, l1, false, start) || !parse_hhmm(dash + 1, l2, true, end))
        return "expected HH:MM-HH:MM with hours 00-23 (24:00 only as an end)";
    if (*end == *start)
        return "the window is empty";
    if (*end < *start)
        *end += TZ_DAY_MS;          /* overnight: closes the next morning */
    return NULL;
}

/* "mon", "mon-fri", "sat,sun", "fri-mon": weekday bits (bit 0 = Sunday). */
static bool parse_day_set(const char *key, unsigned *mask)
{
    *mask = 0;
    const char *p = key;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        char part[16];
        if (len == 0 || len >= sizeof part)
            return false;
        memcpy(part, p, len);
        part[len] = '\0';
        char *dash = strchr(part, '-');
        if (dash != NULL)
            *dash = '\0';
        int a = name_index(v_days, part);
        int b = dash != NULL ? name_index(v_days, dash + 1) : a;
        if (a < 0 || b < 0)
            return false;
        for (int d = a;; d = (d + 1) % 7) {       /* "fri-mon" wraps over the weekend */
            *mask |= 1u << d;
            if (d == b)
                break;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return *mask != 0;
}

/* Routing rules keep Monday as bit 0 (route.h); the day reader counts from Sunday. */
static unsigned monday_first(unsigned sunday_first)
{
    return (sunday_first >> 1) | ((sunday_first & 1u) << 6);
}

/* A routing window in minutes of the day (struct cfg_window: to < from wraps). */
static const char *rule_window(const char *s, struct cfg_window *w)
{
    int64_t start, end;
    const char *why = parse_window(s, strlen(s), &start, &end);
    if (why != NULL)
        return why;
    w->from_min = (int)(start / 60000);
    w->to_min = (int)((end > TZ_DAY_MS ? end - TZ_DAY_MS : end) / 60000);
    return NULL;
}

/* "+03:00", "-05:30", "UTC" into minutes east of UTC (-12:00 .. +14:00). */
static bool parse_offset(const char *s, int *out)
{
    if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0) {
        *out = 0;
        return true;
    }
    int64_t ms;
    if ((s[0] != '+' && s[0] != '-') || !parse_hhmm(s + 1, strlen(s + 1), true, &ms))
        return false;
    int min = (int)(ms / 60000);
    if (s[0] == '-')
        min = -min;
    if (min < -12 * 60 || min > 14 * 60)
        return false;
    *out = min;
    return true;
}

static int m_offset(struct map *m, const char *key, int *out)
{
    char *t = NULL;
    struct cfg_pos p;
    int rc = m_str(m, key, &t, &p);
    if (rc || t == NULL)
        return rc;
    if (!parse_offset(t, out))
        rc = fail(m->l, p, "'%s' must be an offset from UTC such as +03:00, -05:30 or UTC, "
                  "from -12:00 to +14:00 (got '%s')", key, t);
    mem_free(t);
    return rc;
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
    c->reassign_on_offline = true;
    if (n != NULL) {
        if ((rc = map_open(l, &m, n, fb, k_tickets, false, "section 'tickets'")) ||
            (rc = m_str(&m, "general_group", &c->general_group, gp)) ||
            (rc = m_enum(&m, "default_priority", v_priority, &c->default_priority, NULL)) ||
            (rc = m_enum(&m, "on_closed", v_on_closed, &c->on_closed, NULL)) ||
            (rc = m_bool(&m, "reassign_on_offline", &c->reassign_on_offline)) ||
            (rc = m_enum(&m, "fallback_strategy", v_strategy, &c->fallback_strategy, NULL)) ||
            (rc = m_offset(&m, "utc_offset", &c->utc_offset_min)))
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
    if (c->fallback_strategy == NULL)
        c->fallback_strategy = mem_strdup("none");
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

static void strv_free(char **v, size_t n);

/* field: {name: value | [values]} — conditions on intake answers. Whether
 * each name is an intake question is checked once intake is read
 * (rules_xref). */
static int rule_fields(struct ld *l, struct map *m, struct cfg_rule *r)
{
    struct fy_node *n;
    struct cfg_pos p;
    int rc = m_get(m, "field", &n, &p);
    if (rc || n == NULL)
        return rc;
    if (fy_node_get_type(n) != FYNT_MAPPING)
        return fail(l, p, "'field' must be a mapping of intake field to value, e.g. "
                    "{topic: billing}, not %s", kind(n));
    int cnt = fy_node_mapping_item_count(n);
    if (cnt <= 0)
        return fail(l, p, "'field' must name at least one field");
    r->fields = mem_alloc((size_t)cnt * sizeof *r->fields);
    r->nfields = (size_t)cnt;
    void *it = NULL;
    struct fy_node_pair *pair;
    for (size_t k = 0; k < r->nfields && (pair = fy_node_mapping_iterate(n, &it)); k++) {
        struct cfg_field_cond *f = &r->fields[k];
        struct fy_node *kn = fy_node_pair_key(pair);
        struct fy_node *vn = fy_node_pair_value(pair);
        f->pos = node_pos(kn, p);
        size_t len = 0;
        const char *ks = kn && fy_node_get_type(kn) == FYNT_SCALAR ?
                         fy_node_get_scalar(kn, &len) : NULL;
        if (ks == NULL || len == 0)
            return fail(l, f->pos, "keys of 'field' must be field names");
        f->name = mem_strndup(ks, len);
        if (!name_ok(f->name, "_"))
            return fail(l, f->pos, "field name must match [a-z0-9_]+ (got '%s')", f->name);
        for (size_t j = 0; j < k; j++)
            if (strcmp(r->fields[j].name, f->name) == 0)
                return fail(l, f->pos, "'field' names '%s' twice", f->name);
        struct cfg_pos vp = node_pos(vn, f->pos);
        if ((rc = deref(l, &vn, vp)))
            return rc;
        if (is_null(vn) || fy_node_get_type(vn) == FYNT_MAPPING)
            return fail(l, vp, "field '%s' must be a value or a list of values, not %s",
                        f->name, kind(vn));
        if ((rc = node_strs(l, vn, vp, f->name, true, &f->values, &f->nvalues)))
            return rc;
        if (f->nvalues == 0)
            return fail(l, vp, "field '%s' must list at least one value", f->name);
        struct err ve = {0};
        struct rx *rx = NULL;
        if (rx_compile_exact((const char *const *)f->values, f->nvalues, &rx, NULL, &ve) != 0)
            return fail(l, vp, "field '%s': %s", f->name, ve.msg);
        rx_free(&rx);
    }
    return 0;
}

/* days: and hours: of a rule, in the local time of utc_offset. */
static int rule_time(struct ld *l, struct map *m, struct cfg_rule *r)
{
    char **v = NULL;
    size_t n = 0;
    struct cfg_pos p;
    int rc;

    r->days = CFG_DAYS_ALL;
    r->utc_offset_min = l->c->utc_offset_min;
    if ((rc = m_strs(m, "days", &v, &n, &p)))
        goto out;
    if (n > 0)
        r->days = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned mask;
        if (!parse_day_set(v[k], &mask)) {
            rc = fail(l, m_item_pos(m, "days", k), "'days': unknown day or range '%s' (use "
                      "mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)", v[k]);
            goto out;
        }
        r->days |= monday_first(mask);
    }
    strv_free(v, n);
    v = NULL;
    n = 0;
    if ((rc = m_strs(m, "hours", &v, &n, &p)))
        goto out;
    if (n > 0) {
        r->hours = mem_alloc(n * sizeof *r->hours);
        r->nhours = n;
    }
    for (size_t k = 0; k < n; k++) {
        const char *why = rule_window(v[k], &r->hours[k]);
        if (why != NULL) {
            rc = fail(l, m_item_pos(m, "hours", k), "'hours': invalid window '%s' (%s)",
                      v[k], why);
            goto out;
        }
    }
    if ((rc = m_offset(m, "utc_offset", &r->utc_offset_min)))
        goto out;
    if (m_has(m, "utc_offset") && !m_has(m, "days") && !m_has(m, "hours")) {
        struct fy_node *on;
        (void)m_get(m, "utc_offset", &on, &p);
        rc = fail(l, p, "'utc_offset' sets the local time of 'days' and 'hours'; rule '%s' "
                  "has neither", r->name);
    }
out:
    strv_free(v, n);
    return rc;
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
        (rc = keywords_check(l, &m, r->keywords, r->nkeywords)) ||
        (rc = m_str(&m, "regex", &r->regex, &rp)) ||
        (r->regex != NULL && (rc = regex_check(l, r->regex, rp))) ||
        (rc = m_str(&m, "tier", &r->tier, NULL)) ||
        (rc = m_str(&m, "language", &r->language, NULL)) ||
        (rc = rule_fields(l, &m, r)) ||
        (rc = rule_time(l, &m, r)) ||
        (rc = group_ref(l, &m, "group", "rule", r->name, &r->group)) ||
        (rc = m_enum(&m, "strategy", v_strategy, &r->strategy, NULL)) ||
        (rc = m_enum(&m, "priority", v_priority, &r->priority, NULL)))
        return rc;
    if (r->nkeywords == 0 && r->regex == NULL && r->tier == NULL && r->language == NULL &&
        r->nfields == 0 && r->nhours == 0 && r->days == CFG_DAYS_ALL)
        return fail(l, np, "rule '%s' has no condition (keywords, regex, tier, language, "
                    "field, days or hours); use the general group as fallback", r->name);
    if (r->strategy == NULL)
        r->strategy = mem_strdup("round_robin");
    return 0;
}

/* --- sla ------------------------------------------------------------------------ */

/* One pair of a mapping whose keys are data (priorities, days). */
typedef int (*pair_fn)(struct ld *l, const char *key, struct cfg_pos kp,
                       struct fy_node *val, struct cfg_pos vp, void *ctx);

/* Call fn for each pair of mapping n: keys are plain scalars, each once,
 * and every value is present. `desc` names the mapping in messages. */
static int map_each(struct ld *l, struct fy_node *n, struct cfg_pos fb, const char *desc,
                    pair_fn fn, void *ctx)
{
    int rc = deref(l, &n, fb);
    if (rc)
        return rc;
    struct cfg_pos mp = node_pos(n, fb);
    if (is_null(n) || fy_node_get_type(n) != FYNT_MAPPING)
        return fail(l, mp, "%s must be a mapping, not %s", desc, kind(n));
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        struct cfg_pos kp = node_pos(k, mp);
        if (k == NULL || is_null(k) || fy_node_get_type(k) != FYNT_SCALAR ||
            fy_node_is_alias(k))
            return fail(l, kp, "keys in %s must be plain names", desc);
        size_t klen = 0;
        const char *ks = fy_node_get_scalar(k, &klen);
        char key[64];
        if (klen >= sizeof key)
            return fail(l, kp, "key '%.32s...' in %s is too long", ks, desc);
        memcpy(key, ks, klen);
        key[klen] = '\0';
        void *it2 = NULL;
        struct fy_node_pair *q;
        while ((q = fy_node_mapping_iterate(n, &it2)) != p) {
            size_t ql = 0;
            const char *qs = fy_node_get_scalar(fy_node_pair_key(q), &ql);
            if (qs != NULL && ql == klen && memcmp(qs, ks, klen) == 0)
                return fail(l, kp, "duplicate key '%s' in %s (first at line %d)", key, desc,
                            node_pos(fy_node_pair_key(q), mp).line);
        }
        struct fy_node *v = fy_node_pair_value(p);
        struct cfg_pos vp = node_pos(v, kp);
        if ((rc = deref(l, &v, vp)) != 0)
            return rc;
        if (is_null(v))
            return fail(l, kp, "'%s' in %s has no value", key, desc);
        if ((rc = fn(l, key, kp, v, vp, ctx)) != 0)
            return rc;
    }
    return 0;
}

/* Targets are bounded so that deadlines on a calendar are found quickly. */
#define SLA_TARGET_MAX_MS (366 * 86400000LL)

/* A target: a duration > 0, or "off" where allowed; *set says if written. */
static int m_target(struct map *m, const char *key, bool off_ok, int64_t *out, bool *set)
{
    *set = m_has(m, key);
    if (off_ok && *set) {
        char *t;
        int rc = m_text(m, key, "a duration or off", &t, NULL);
        if (rc)
            return rc;
        bool off = strcmp(t, "off") == 0;
        mem_free(t);
        if (off) {
            *out = 0;
            return 0;
        }
    }
    int rc = m_dur(m, key, true, out);
    if (rc == 0 && *out > SLA_TARGET_MAX_MS) {
        struct fy_node *n;
        struct cfg_pos p;
        (void)m_get(m, key, &n, &p);
        return fail(m->l, p, "'%s' must be at most 366d", key);
    }
    return rc;
}

/* first_response, next_response (default: first_response), resolution. */
static int read_targets(struct map *m, int64_t ms[CFG_SLA_METRICS])
{
    bool set;
    int rc;
    if ((rc = m_target(m, "first_response", false, &ms[0], &set)) ||
        (rc = m_target(m, "next_response", true, &ms[1], &set)))
        return rc;
    if (!set)
        ms[1] = ms[0];
    return m_target(m, "resolution", false, &ms[2], &set);
}

static int targets_pair(struct ld *l, const char *key, struct cfg_pos kp, struct fy_node *v,
                        struct cfg_pos vp, void *ctx)
{
    struct cfg_sla_policy *s = ctx;
    int pi = name_index(v_priority, key);
    char desc[128];
    struct map m;
    if (pi < 0)
        return fail(l, kp, "unknown priority '%s' in 'targets' (one of %s)", key,
                    join(v_priority, desc, sizeof desc));
    snprintf(desc, sizeof desc, "targets.%s of SLA policy '%s'", key, s->name);
    int rc = map_open(l, &m, v, vp, k_sla_metrics, false, desc);
    if (rc)
        return rc;
    s->has_targets[pi] = true;
    return read_targets(&m, s->targets_ms[pi]);
}

/* A list of statuses that pause a metric, as a mask of status bits. */
static int pause_list(struct ld *l, struct map *m, const char *key, unsigned *mask)
{
    char **v = NULL;
    size_t n = 0;
    char list[128];
    int rc = m_strlist(m, key, true, &v, &n);
    if (rc == 0)
        *mask = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        int st = name_index(v_status, v[k]);
        if (st < 0)
            rc = fail(l, m_item_pos(m, key, k), "unknown status '%s' (one of %s)", v[k],
                      join(v_pausable, list, sizeof list));
        else if (!in_list(v_pausable, v[k]))
            rc = fail(l, m_item_pos(m, key, k), "status '%s' ends the SLA clocks, it cannot "
                      "pause them (pause with %s)", v[k], join(v_pausable, list, sizeof list));
        else
            *mask |= 1u << st;
    }
    for (size_t k = 0; v != NULL && k < n; k++)
        mem_free(v[k]);
    mem_free(v);
    return rc;
}

/* pause: [statuses] for every metric, or {metric: [statuses]}; on_hold by default. */
static int sla_pause(struct ld *l, struct map *pm, struct cfg_sla_policy *s)
{
    struct fy_node *n;
    struct cfg_pos p;
    struct map m;
    unsigned mask;
    int rc = m_get(pm, "pause", &n, &p);
    for (size_t k = 0; k < CFG_SLA_METRICS; k++)
        s->pause[k] = 1u << name_index(v_status, "on_hold");
    if (rc || n == NULL)
        return rc;
    if (fy_node_get_type(n) == FYNT_SEQUENCE) {
        if ((rc = pause_list(l, pm, "pause", &mask)) != 0)
            return rc;
        for (size_t k = 0; k < CFG_SLA_METRICS; k++)
            s->pause[k] = mask;
        return 0;
    }
    if (fy_node_get_type(n) != FYNT_MAPPING)
        return fail(l, p, "'pause' must be a list of statuses or a mapping from metric "
                    "(first_response, next_response, resolution) to statuses");
    if ((rc = map_open(l, &m, n, p, k_sla_metrics, false, "'pause'")) != 0)
        return rc;
    for (size_t k = 0; k < CFG_SLA_METRICS; k++)
        if (m_has(&m, k_sla_metrics[k]) &&
            (rc = pause_list(l, &m, k_sla_metrics[k], &s->pause[k])) != 0)
            return rc;
    return 0;
}

/* --- business hours ------------------------------------------------------------ */

struct window {             /* an opening window while the calendar is read */
    int day;
    int64_t start, end;     /* as in struct cfg_hours */
    struct cfg_pos pos;
    char text[48];          /* "mon 22:00-06:00", for messages */
};

struct hours_ctx {
    struct window *w;       /* owned by the ctx */
    size_t n, cap;
    const char *given[7];   /* the 'days' key that opened each weekday (borrowed) */
    char keys[7][64];
};

static int add_windows(struct ld *l, struct hours_ctx *h, const char *key, unsigned days,
                       const char *text, struct cfg_pos p)
{
    const char *s = text;
    while (*s != '\0') {
        size_t len = strcspn(s, ",");
        const char *b = s, *e = s + len;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        int64_t start, end;
        const char *why = parse_window(b, (size_t)(e - b), &start, &end);
        if (why != NULL)
            return fail(l, p, "invalid opening hours '%.*s' for '%s': %s (e.g. "
                        "\"09:00-17:00\")", (int)(e - b), b, key, why);
        for (int d = 0; d < 7; d++) {
            if (!(days & (1u << d)))
                continue;
            if (h->n == h->cap) {
                h->cap = h->cap ? h->cap * 2 : 16;
                h->w = mem_realloc(h->w, h->cap * sizeof *h->w);
            }
            struct window *w = &h->w[h->n++];
            w->day = d;
            w->start = start;
            w->end = end;
            w->pos = p;
            snprintf(w->text, sizeof w->text, "%s %.*s", v_days[d], (int)(e - b), b);
        }
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* One "09:00-17:00[, ...]" value of 'days'. */
static int add_scalar(struct ld *l, struct hours_ctx *h, const char *key, unsigned days,
                      struct fy_node *v, struct cfg_pos p)
{
    if (is_null(v) || fy_node_get_type(v) != FYNT_SCALAR)
        return fail(l, p, "opening hours for '%s' must be a string such as \"09:00-17:00\" "
                    "or a list of them, not %s", key, kind(v));
    size_t len = 0;
    const char *t = fy_node_get_scalar(v, &len);
    char buf[256];
    if (len >= sizeof buf)
        return fail(l, p, "opening hours for '%s' are too long", key);
    memcpy(buf, t, len);
    buf[len] = '\0';
    return add_windows(l, h, key, days, buf, p);
}

static int days_pair(struct ld *l, const char *key, struct cfg_pos kp, struct fy_node *v,
                     struct cfg_pos vp, void *ctx)
{
    struct hours_ctx *h = ctx;
    unsigned days;
    if (!parse_day_set(key, &days))
        return fail(l, kp, "unknown day '%s' in 'days' (use mon, tue, wed, thu, fri, sat, "
                    "sun, a range such as mon-fri or a list such as sat,sun)", key);
    for (int d = 0; d < 7; d++) {
        if (!(days & (1u << d)))
            continue;
        if (h->given[d] != NULL)
            return fail(l, kp, "'%s' is given twice in 'days' (also in '%s')", v_days[d],
                        h->given[d]);
        snprintf(h->keys[d], sizeof h->keys[d], "%s", key);
        h->given[d] = h->keys[d];
    }
    if (fy_node_get_type(v) != FYNT_SEQUENCE)
        return add_scalar(l, h, key, days, v, vp);
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
        int rc = add_scalar(l, h, key, days, item, node_pos(item, vp));
        if (rc)
            return rc;
    }
    return 0;
}

static int window_cmp(const void *a, const void *b)
{
    const struct window *x = a, *y = b;
    int64_t kx = x->day * TZ_DAY_MS + x->start, ky = y->day * TZ_DAY_MS + y->start;
    return kx < ky ? -1 : kx > ky;
}

static bool pos_before(struct cfg_pos a, struct cfg_pos b)
{
    return a.line < b.line || (a.line == b.line && a.column < b.column);
}

/* No two windows may overlap, overnight ones and Saturday → Sunday included. */
static int windows_check(struct ld *l, struct window *w, size_t n)
{
    const int64_t week = 7 * TZ_DAY_MS;
    qsort(w, n, sizeof *w, window_cmp);
    for (size_t i = 0; i < n; i++) {
        const struct window *a = &w[i], *b = &w[(i + 1) % n];
        int64_t a_end = a->day * TZ_DAY_MS + a->end;
        int64_t b_start = b->day * TZ_DAY_MS + b->start + (i + 1 == n ? week : 0);
        if (n > 1 && b_start < a_end) {
            const struct window *later = pos_before(a->pos, b->pos) ? b : a;
            const struct window *other = later == a ? b : a;
            return fail(l, later->pos, "opening hours '%s' overlap '%s'", later->text,
                        other->text);
        }
    }
    return 0;
}

/* "2026-12-25", or "12-25" for the same day every year. */
static bool parse_holiday(const char *s, struct cfg_holiday *h)
{
    size_t len = strlen(s);
    const char *md = s;
    h->year = 0;
    if (len == 10) {
        for (int i = 0; i < 4; i++)
            if (!isdigit((unsigned char)s[i]))
                return false;
        if (s[4] != '-')
            return false;
        h->year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        if (h->year < 1970)
            return false;
        md = s + 5;
    } else if (len != 5) {
        return false;
    }
    if (!isdigit((unsigned char)md[0]) || !isdigit((unsigned char)md[1]) || md[2] != '-' ||
        !isdigit((unsigned char)md[3]) || !isdigit((unsigned char)md[4]))
        return false;
    h->month = (md[0] - '0') * 10 + (md[1] - '0');
    h->day = (md[3] - '0') * 10 + (md[4] - '0');
    /* a yearly date may be Feb 29 (it is closed in leap years only) */
    return h->day >= 1 && h->day <= tz_month_days(h->year ? h->year : 2000, h->month);
}

static int sla_hours(struct ld *l, struct map *pm, struct cfg_sla_policy *s, size_t i)
{
    struct fy_node *n, *dn;
    struct cfg_pos p, tp, dp;
    struct map m;
    char desc[64];
    char **hol = NULL;
    size_t nhol = 0;
    struct hours_ctx h;
    struct err e = {0};
    int rc = m_get(pm, "business_hours", &n, &p);
    if (rc || n == NULL)
        return rc;
    memset(&h, 0, sizeof h);
    snprintf(desc, sizeof desc, "sla[%zu].business_hours", i);
    struct cfg_calendar *cal = mem_alloc(sizeof *cal);
    s->calendar = cal;                  /* owned from here: freed with the cfg */
    if ((rc = map_open(l, &m, n, p, k_hours, false, desc)) ||
        (rc = m_need(&m, "timezone")) || (rc = m_need(&m, "days")) ||
        (rc = m_str(&m, "timezone", &cal->timezone, &tp)))
        return rc;
    if (tz_load(cal->timezone, &cal->tz, &e) != 0)
        return fail(l, tp, "%s", e.msg);
    if ((rc = m_get(&m, "days", &dn, &dp)) ||
        (rc = map_each(l, dn, dp, "'days'", days_pair, &h)))
        goto out;
    if (h.n == 0) {
        rc = fail(l, dp, "business hours of SLA policy '%s' are never open ('days' is empty)",
                  s->name);
        goto out;
    }
    if ((rc = windows_check(l, h.w, h.n)))
        goto out;
    cal->hours = mem_alloc(h.n * sizeof *cal->hours);
    cal->nhours = h.n;
    for (size_t k = 0; k < h.n; k++)
        cal->hours[k] = (struct cfg_hours){ h.w[k].day, h.w[k].start, h.w[k].end };
    if ((rc = m_strlist(&m, "holidays", true, &hol, &nhol)) || nhol == 0)
        goto out;
    cal->holidays = mem_alloc(nhol * sizeof *cal->holidays);
    cal->nholidays = nhol;
    for (size_t k = 0; k < nhol; k++) {
        if (!parse_holiday(hol[k], &cal->holidays[k])) {
            rc = fail(l, m_item_pos(&m, "holidays", k), "invalid holiday '%s' (write a date "
                      "such as 2026-12-25, or 12-25 for every year)", hol[k]);
            goto out;
        }
    }
out:
    for (size_t k = 0; hol != NULL && k < nhol; k++)
        mem_free(hol[k]);
    mem_free(hol);
    mem_free(h.w);
    return rc;
}

static bool sla_unconditional(const struct cfg_sla_policy *s)
{
    return s->priority == NULL && s->tier == NULL && s->group == NULL;
}

static int sla_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_sla_policy *s = &c->sla[i];
    struct map m;
    char desc[64];
    struct cfg_pos np, wp, tp;
    struct fy_node *wn, *tn;
    int64_t flat[CFG_SLA_METRICS] = { 0 };
    int rc;

    snprintf(desc, sizeof desc, "sla[%zu]", i);
    if ((rc = map_open(l, &m, n, fb, k_sla, false, desc)) ||
        (rc = m_need(&m, "name")) ||
        (rc = m_str(&m, "name", &s->name, &np)))
        return rc;
    s->pos = np;
    if (strlen(s->name) >= CFG_SLA_NAME_MAX)
        return fail(l, np, "SLA policy name '%.24s...' is too long (at most %d bytes)",
                    s->name, CFG_SLA_NAME_MAX - 1);
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->sla[j].name, s->name) == 0)
            return fail(l, np, "duplicate SLA policy '%s' (first at line %d)", s->name,
                        c->sla[j].pos.line);
    if ((rc = m_enum(&m, "priority", v_priority, &s->priority, NULL)) ||
        (rc = m_str(&m, "tier", &s->tier, NULL)) ||
        (rc = group_ref(l, &m, "group", "SLA policy", s->name, &s->group)))
        return rc;
    for (size_t j = 0; j < i; j++)
        if (sla_unconditional(&c->sla[j]))
            return fail(l, np, "SLA policy '%s' is never used: policy '%s' (line %d) has no "
                        "conditions and matches every ticket first", s->name, c->sla[j].name,
                        c->sla[j].pos.line);
    if ((rc = read_targets(&m, flat)) ||
        (rc = m_dur(&m, "warn_before", true, &s->warn_before_ms)) ||
        (rc = m_get(&m, "targets", &tn, &tp)) ||
        (tn != NULL && (rc = map_each(l, tn, tp, "'targets'", targets_pair, s))) ||
        (rc = sla_pause(l, &m, s)) ||
        (rc = sla_hours(l, &m, s, i)))
        return rc;
    s->first_response_ms = flat[0];
    s->next_response_ms = flat[1];
    s->resolution_ms = flat[2];
    int64_t smallest = 0;
    for (int p = -1; p < CFG_PRIORITIES; p++) {
        const int64_t *t = p < 0 ? flat : s->targets_ms[p];
        for (size_t k = 0; k < CFG_SLA_METRICS; k++)
            if (t[k] > 0 && (smallest == 0 || t[k] < smallest))
                smallest = t[k];
    }
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
    struct cfg_pos np, sp, rp, stp, lp = fb;
    struct fy_node *ln;
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
        (rc = keywords_check(l, &m, x->keywords, x->nkeywords)) ||
        (rc = m_str(&m, "regex", &x->regex, &rp)) ||
        (x->regex != NULL && (rc = regex_check(l, x->regex, rp))) ||
        (rc = m_enum(&m, "on_sla", v_on_sla, &x->on_sla, NULL)) ||
        (rc = m_dur(&m, "no_reply", true, &x->no_reply_ms)) ||
        (rc = m_bool(&m, "manual", &x->manual)) ||
        (rc = m_str(&m, "tier", &x->tier, NULL)) ||
        (rc = m_enum(&m, "set_priority", v_priority, &x->set_priority, &sp)) ||
        (rc = m_bool(&m, "raise_priority", &x->raise_priority)) ||
        (rc = group_ref(l, &m, "move_to_group", "escalation", x->name, &x->move_to_group)) ||
        (rc = m_bool(&m, "next_level", &x->next_level)) ||
        (rc = m_bool(&m, "reassign", &x->reassign)) ||
        (rc = m_enum(&m, "strategy", v_strategy, &x->strategy, &stp)) ||
        (rc = m_bool(&m, "notify", &x->notify)))
        return rc;
    if (x->nkeywords == 0 && x->regex == NULL && x->on_sla == NULL && x->no_reply_ms == 0 &&
        x->tier == NULL && !x->manual)
        return fail(l, np, "escalation '%s' has no trigger (keywords, regex, on_sla, "
                    "no_reply, tier or manual)", x->name);
    if (x->set_priority == NULL && !x->raise_priority && x->move_to_group == NULL &&
        !x->next_level && !x->reassign && !x->notify)
        return fail(l, np, "escalation '%s' has no action (set_priority, raise_priority, "
                    "move_to_group, next_level, reassign or notify)", x->name);
    if (x->set_priority != NULL && x->raise_priority)
        return fail(l, sp, "escalation '%s': set_priority and raise_priority exclude each "
                    "other", x->name);
    if (m_has(&m, "next_level"))
        (void)m_get(&m, "next_level", &ln, &lp);
    if (x->next_level && x->move_to_group != NULL)
        return fail(l, lp, "escalation '%s': move_to_group and next_level exclude each "
                    "other", x->name);
    if (x->next_level) {
        int lo = INT_MAX, hi = INT_MIN;
        for (size_t g = 0; g < c->ngroups; g++) {
            lo = c->groups[g].level < lo ? c->groups[g].level : lo;
            hi = c->groups[g].level > hi ? c->groups[g].level : hi;
        }
        if (lo == hi)
            return fail(l, lp, "escalation '%s': next_level, but every group is at level %d "
                        "(give a group a higher 'level')", x->name, lo);
    }
    if (x->strategy != NULL && x->move_to_group == NULL && !x->next_level && !x->reassign)
        return fail(l, stp, "escalation '%s': 'strategy' picks the agent for move_to_group, "
                    "next_level or reassign, and it has none of them", x->name);
    if (x->strategy == NULL)
        x->strategy = mem_strdup("round_robin");
    return 0;
}

static int template_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_template *t = &c->templates[i];
    struct map m;
    char desc[64];
    struct cfg_pos np;
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
    /* the text is checked by template_compile (src/desk/), with these positions */
    return m_str_at(&m, "text", &t->text, &t->text_at, NULL);
}

/* Article i of the list being read: c->kb[l->kb_base + i]. */
static int kb_item(struct ld *l, struct fy_node *n, size_t i, struct cfg_pos fb)
{
    struct cfg *c = l->c;
    struct cfg_kb_article *k = &c->kb[l->kb_base + i];
    struct map m;
    char desc[64];
    struct cfg_pos ip = fb, up;
    int rc;

    snprintf(desc, sizeof desc, "%s[%zu]", l->kb_list, i);
    if ((rc = map_open(l, &m, n, fb, k_kb, false, desc)) ||
        (rc = m_need(&m, "id")) || (rc = m_need(&m, "title")) ||
        (rc = m_str(&m, "id", &k->id, &ip)))
        return rc;
    k->pos = ip;
    for (size_t j = 0; j < l->kb_base + i; j++) {
        if (strcmp(c->kb[j].id, k->id) != 0)
            continue;
        if (j < l->kb_base && l->parent != NULL)
            return fail(l, ip, "duplicate kb article id '%s' (first at line %d of %s)", k->id,
                        c->kb[j].pos.line, l->parent);
        return fail(l, ip, "duplicate kb article id '%s' (first at line %d)", k->id,
                    c->kb[j].pos.line);
    }
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

static int read_file(const char *path, struct buf *b, char *why, size_t n);
static int sec_list(struct ld *l, struct map *root, const char *key, void **arr,
                    size_t *n, size_t size, item_fn fn);
static int load_doc(struct ld *l, const char *text, size_t len, bool json, const char *nothing,
                    int (*root_fn)(struct ld *l, struct fy_node *root));

/* The kb file's document: a list of articles, or a mapping with 'articles'. */
static int kb_file_root(struct ld *l, struct fy_node *top)
{
    struct cfg *c = l->c;
    struct cfg_pos p = { 1, 1 };
    struct fy_node *seq = top;
    struct map m;
    int rc;

    if (fy_node_get_type(top) == FYNT_MAPPING) {
        if ((rc = map_open(l, &m, top, p, k_kb_file, false, "the kb file")) ||
            (rc = m_need(&m, "articles")) ||
            (rc = m_get(&m, "articles", &seq, &p)))
            return rc;
    } else {
        p = node_pos(top, p);
    }
    if (fy_node_get_type(seq) != FYNT_SEQUENCE)
        return fail(l, p, "the kb file must hold a list of articles (or 'articles:' with "
                    "one), not %s", kind(seq));
    int cnt = fy_node_sequence_item_count(seq);
    size_t count = cnt > 0 ? (size_t)cnt : 0;
    if (count == 0)
        return 0;
    /* grown zeroed before it is counted, so a failure frees it whole */
    struct cfg_kb_article *all = mem_alloc((l->kb_base + count) * sizeof *all);
    if (l->kb_base > 0)
        memcpy(all, c->kb, l->kb_base * sizeof *all);
    mem_free(c->kb);
    c->kb = all;
    c->nkb = l->kb_base + count;
    return each_item(l, seq, p, count, kb_item);
}

/*
 * Read kb.file (relative paths are relative to the config file's folder),
 * YAML or, by its .json extension, JSON. Its articles follow the inline
 * ones; errors inside it name it and its own lines.
 */
static int kb_file(struct ld *l, const char *file, struct cfg_pos fp)
{
    const char *slash = strrchr(l->name, '/');
    char *path = file[0] == '/' || slash == NULL ? mem_strdup(file) :
                 mem_printf("%.*s/%s", (int)(slash - l->name), l->name, file);
    struct buf b;
    char why[256];
    int rc;

    buf_init(&b, CFG_FILE_MAX);
    if (read_file(path, &b, why, sizeof why) != 0) {
        rc = fail(l, fp, "kb file '%s': %s", path, why);
        goto out;
    }
    size_t len = strlen(path);
    struct ld fl = {
        .name = path, .e = l->e, .c = l->c, .kb_base = l->c->nkb,
        .kb_list = "articles", .parent = l->name,
    };
    rc = load_doc(&fl, buf_str(&b), b.len, len > 5 && strcasecmp(path + len - 5, ".json") == 0,
                  "the kb file is empty (expected a list of articles)", kb_file_root);
out:
    buf_release(&b);
    mem_free(path);
    return rc;
}

/*
 * Section kb: a list of articles, or a mapping with inline 'articles', a
 * 'file' of them and the suggestion settings.
 */
static int sec_kb(struct ld *l, struct map *root)
{
    struct cfg *c = l->c;
    struct fy_node *n;
    struct cfg_pos p, fp;
    struct map m;
    int rc;

    c->kb_suggestions = 3;
    c->kb_min_score = CFG_KB_MIN_SCORE;
    if ((rc = m_get(root, "kb", &n, &p)) || n == NULL)
        return rc;
    if (fy_node_get_type(n) == FYNT_SEQUENCE) {
        l->kb_list = "kb";
        return sec_list(l, root, "kb", (void **)&c->kb, &c->nkb, sizeof *c->kb, kb_item);
    }
    if (fy_node_get_type(n) != FYNT_MAPPING)
        return fail(l, p, "section 'kb' must be a list of articles or a mapping with "
                    "'articles' and/or 'file', not %s", kind(n));
    if ((rc = map_open(l, &m, n, p, k_kb_section, false, "section 'kb'")) ||
        (rc = m_int32(&m, "suggestions", 0, 20, "an integer from 0 to 20",
                      &c->kb_suggestions)) ||
        (rc = m_decimal(&m, "min_score", 0, 100, &c->kb_min_score, NULL)) ||
        (rc = m_str(&m, "file", &c->kb_file, &fp)))
        return rc;
    if (!m_has(&m, "articles") && c->kb_file == NULL)
        return fail(l, m.pos, "section 'kb' has neither 'articles' nor 'file'");
    l->kb_list = "kb.articles";
    if ((rc = sec_list(l, &m, "articles", (void **)&c->kb, &c->nkb, sizeof *c->kb, kb_item)))
        return rc;
    return c->kb_file != NULL ? kb_file(l, c->kb_file, fp) : 0;
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
    if (strlen(q->field) > CFG_FIELD_MAX)
        return fail(l, fp, "'field' must be at most %d characters (it travels in Telegram's "
                    "64-byte button data)", CFG_FIELD_MAX);
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->intake[j].field, q->field) == 0)
            return fail(l, fp, "duplicate intake field '%s' (first at line %d)", q->field,
                        c->intake[j].pos.line);
    if ((rc = m_str_at(&m, "prompt", &q->prompt, &q->prompt_at, NULL)) ||
        (rc = m_enum(&m, "type", v_qtype, &q->type, &tp)) ||
        (rc = m_strlist(&m, "choices", true, &q->choices, &q->nchoices)) ||
        (rc = m_bool(&m, "optional", &q->optional)) ||
        (rc = m_str(&m, "label", &q->label, NULL)) ||
        (rc = m_str(&m, "invalid", &q->invalid, NULL)) ||
        (rc = m_decimal(&m, "min", -1e15, 1e15, &q->min, &q->has_min)) ||
        (rc = m_decimal(&m, "max", -1e15, 1e15, &q->max, &q->has_max)))
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
        if (q->nchoices > CFG_CHOICES_MAX)
            return fail(l, m_item_pos(&m, "choices", CFG_CHOICES_MAX), "question '%s' has "
                        "more than %d choices", q->field, CFG_CHOICES_MAX);
    } else if (m_has(&m, "choices")) {
        (void)m_get(&m, "choices", &cn, &cp);
        return fail(l, cp, "question '%s' has 'choices' but its type is '%s' (use type: "
                    "choice)", q->field, q->type);
    }
    if ((q->has_min || q->has_max) && strcmp(q->type, "number") != 0) {
        (void)m_get(&m, q->has_min ? "min" : "max", &cn, &cp);
        return fail(l, cp, "question '%s': 'min' and 'max' apply to type 'number' only",
                    q->field);
    }
    if (q->has_min && q->has_max && q->min > q->max) {
        (void)m_get(&m, "max", &cn, &cp);
        return fail(l, cp, "question '%s': 'max' (%g) is less than 'min' (%g)", q->field,
                    q->max, q->min);
    }
    if (q->label == NULL) {             /* "order_id" → "Order id" */
        q->label = mem_strdup(q->field);
        for (char *p = q->label; *p; p++)
            if (*p == '_')
                *p = ' ';
        q->label[0] = (char)toupper((unsigned char)q->label[0]);
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
    struct cfg_intake_texts *t = &c->intake_texts;
    int rc;

    c->intake_abandon_ms = 86400000;
    if (n != NULL) {
        c->intake_enabled = true;       /* writing the section means using it */
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
        if ((rc = m_str_at(&m, "intro", &t->intro, &t->intro_at, NULL)) ||
            (rc = m_str_at(&m, "confirmation", &t->confirmation, &t->confirmation_at, NULL)) ||
            (rc = m_str_at(&m, "cancelled", &t->cancelled, &t->cancelled_at, NULL)) ||
            (rc = m_str(&m, "skip_button", &t->skip_button, NULL)) ||
            (rc = m_str(&m, "summary_title", &t->summary_title, NULL)) ||
            (rc = m_dur(&m, "abandon_after", false, &c->intake_abandon_ms)))
            return rc;
    }
    if (t->confirmation == NULL)
        t->confirmation = mem_strdup("Thank you! Your request #{{ticket.id}} is open. "
                                     "We will answer here as soon as we can.");
    if (t->cancelled == NULL)
        t->cancelled = mem_strdup("Cancelled: nothing was sent to our team. "
                                  "Write to us again whenever you like.");
    if (t->skip_button == NULL)
        t->skip_button = mem_strdup("Skip");
    if (t->summary_title == NULL)
        t->summary_title = mem_strdup("Intake form");
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
    w->keep_succeeded_ms = 30LL * 86400000;
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
            if ((rc = expand(l, s ? s : "", s ? len : 0, ip, &t, NULL)))
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
        (rc = m_int32(&m, "concurrency", 1, 256, "an integer from 1 to 256", &w->concurrency)) ||
        (rc = m_dur(&m, "keep_succeeded", false, &w->keep_succeeded_ms)) ||
        (rc = m_dur(&m, "keep_dead", false, &w->keep_dead_ms)))
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

/*
 * Routing rules may test intake answers; intake is read after routing (the
 * section order is fixed), so those names are checked here: each must be a
 * question's field, and a choice question can only hold one of its choices.
 */
static int rules_xref(struct ld *l)
{
    const struct cfg *c = l->c;
    for (size_t i = 0; i < c->nrules; i++) {
        const struct cfg_rule *r = &c->rules[i];
        for (size_t k = 0; k < r->nfields; k++) {
            const struct cfg_field_cond *f = &r->fields[k];
            const struct cfg_intake_question *q = NULL;
            for (size_t j = 0; j < c->nintake && q == NULL; j++)
                if (strcmp(c->intake[j].field, f->name) == 0)
                    q = &c->intake[j];
            if (q == NULL)
                return fail(l, f->pos, "rule '%s' tests field '%s', which is not an intake "
                            "question's field", r->name, f->name);
            for (size_t v = 0; q->nchoices > 0 && v < f->nvalues; v++) {
                bool found = false;
                for (size_t j = 0; j < q->nchoices && !found; j++)
                    found = strcasecmp(q->choices[j], f->values[v]) == 0;
                if (!found)
                    return fail(l, f->pos, "rule '%s': field '%s' can never be '%s' (not one "
                                "of its choices)", r->name, f->name, f->values[v]);
            }
        }
    }
    return 0;
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
    if ((rc = sec_kb(l, &r)))
        return rc;
    if ((rc = m_get(&r, "intake", &n, &p)) || (rc = sec_intake(l, n, p)))
        return rc;
    arr = (void **)&c->webhooks;
    if ((rc = sec_list(l, &r, "webhooks", arr, &c->nwebhooks, sizeof *c->webhooks,
                       webhook_item)))
        return rc;
    return rules_xref(l);
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
    mem_free(c->fallback_strategy);
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
        for (size_t k = 0; r->fields != NULL && k < r->nfields; k++) {
            mem_free(r->fields[k].name);
            strv_free(r->fields[k].values, r->fields[k].nvalues);
        }
        mem_free(r->fields);
        mem_free(r->hours);
    }
    mem_free(c->rules);
    for (size_t i = 0; i < c->nsla; i++) {
        mem_free(c->sla[i].name);
        mem_free(c->sla[i].priority);
        mem_free(c->sla[i].tier);
        mem_free(c->sla[i].group);
        struct cfg_calendar *cal = c->sla[i].calendar;
        if (cal != NULL) {
            mem_free(cal->timezone);
            tz_free(&cal->tz);
            mem_free(cal->hours);
            mem_free(cal->holidays);
            mem_free(cal);
        }
    }
    mem_free(c->sla);
    for (size_t i = 0; i < c->nescalations; i++) {
        struct cfg_escalation *x = &c->escalations[i];
        mem_free(x->name);
        strv_free(x->keywords, x->nkeywords);
        mem_free(x->regex);
        mem_free(x->strategy);
        mem_free(x->on_sla);
        mem_free(x->tier);
        mem_free(x->set_priority);
        mem_free(x->move_to_group);
    }
    mem_free(c->escalations);
    for (size_t i = 0; i < c->ntemplates; i++) {
        mem_free(c->templates[i].name);
        mem_free(c->templates[i].text);
        mem_free(c->templates[i].text_at);
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
    mem_free(c->kb_file);
    for (size_t i = 0; i < c->nintake; i++) {
        struct cfg_intake_question *q = &c->intake[i];
        mem_free(q->field);
        mem_free(q->prompt);
        mem_free(q->prompt_at);
        mem_free(q->type);
        strv_free(q->choices, q->nchoices);
        mem_free(q->label);
        mem_free(q->invalid);
    }
    mem_free(c->intake);
    struct cfg_intake_texts *it = &c->intake_texts;
    mem_free(it->intro);
    mem_free(it->intro_at);
    mem_free(it->confirmation);
    mem_free(it->confirmation_at);
    mem_free(it->cancelled);
    mem_free(it->cancelled_at);
    mem_free(it->skip_button);
    mem_free(it->summary_title);
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

/*
 * Parse one YAML (or, with json, JSON) document of text and hand its root
 * to root_fn; `nothing` is the message for a document with nothing in it.
 */
static int load_doc(struct ld *l, const char *text, size_t len, bool json, const char *nothing,
                    int (*root_fn)(struct ld *l, struct fy_node *root))
{
    struct buf out;
    struct fy_diag_cfg dc;
    int rc;

    if ((rc = utf8_check(l, (const unsigned char *)text, len)) != 0)
        return rc;
    l->src = text;
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
        .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS |
                 (json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE),
        .diag = diag,
    };
    struct fy_parser *fyp = fy_parser_create(&pc);
    if (fyp == NULL) {
        rc = err_set(l->e, ERR_NOMEM, "%s: cannot create the YAML parser", l->name);
        goto out_diag;
    }
    if (fy_parser_set_string(fyp, text, len) != 0) {
        rc = yaml_error(l, diag, &out);
        goto out_parser;
    }
    struct fy_document *doc = fy_parse_load_document(fyp);
    if (doc == NULL) {
        if (fy_parser_get_stream_error(fyp) || fy_diag_got_error(diag))
            rc = yaml_error(l, diag, &out);
        else
            rc = fail(l, (struct cfg_pos){ 1, 1 }, "%s", nothing);
        goto out_parser;
    }
    struct fy_node *root = fy_document_root(doc);
    if (is_null(root)) {
        rc = fail(l, (struct cfg_pos){ 1, 1 }, "%s", nothing);
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
    rc = root_fn(l, root);
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
    int rc = load_doc(&l, yaml ? yaml : "", yaml ? len : 0, false,
                      "the file is empty (expected a mapping of sections: telegram, store, "
                      "http, ...)", load_root);
    if (rc != 0) {
        if (e != NULL && e->code == 0)      /* never fail without saying why */
            err_set(e, rc, "%s: cannot load the configuration", name);
        cfg_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* The whole file into b (whose max bounds it); 0, or -1 with the reason in why. */
static int read_file(const char *path, struct buf *b, char *why, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, n, "cannot open: %s", strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t got;
    int rc = 0;
    while (rc == 0 && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(b, chunk, got) != 0) {
            snprintf(why, n, "larger than %zu bytes", b->max);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(why, n, "cannot read: %s", strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}

int cfg_load(const char *path, struct cfg **out, struct err *e)
{
    *out = NULL;
    struct buf b;
    char why[256];
    int rc;
    buf_init(&b, CFG_FILE_MAX);
    if (read_file(path, &b, why, sizeof why) != 0)
        rc = err_set(e, ERR_IO, "%s: %s", path, why);
    else
        rc = cfg_load_string(path, buf_str(&b), b.len, out, e);
    buf_release(&b);
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

int cfg_parse_size(const char *s, int64_t *out)
{
    return s != NULL ? parse_size(s, out) : ERR_INVAL;
}
