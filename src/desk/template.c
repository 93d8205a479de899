/*
 * template.c — compiling and rendering {{...}} templates (see template.h).
 *
 * Compiling splits the text into pieces: literal text, a variable, or a
 * quoted text, each placeholder with its filters. Every name is resolved
 * against the catalogue and the scope here, so rendering cannot meet an
 * unknown name; it only looks values up, applies filters and escapes.
 */
#include "desk/template.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "desk/fold.h"

/* --- the catalogue ---------------------------------------------------------- */

enum var {
    V_FIRST_NAME, V_LAST_NAME, V_NAME, V_USERNAME, V_LANGUAGE, V_TIER,
    V_TICKET_ID, V_SUBJECT, V_PRIORITY, V_STATUS, V_GROUP,
    V_AGENT_NAME, V_AGENT_USERNAME,
    V_INTAKE,                   /* intake.<field>: the field is in the piece */
};

static const char *const namespaces[] = { "customer", "ticket", "agent", "intake", NULL };

/* Indexed by enum var (V_INTAKE excluded). `sure`: always has a value where
 * its namespace is available (Telegram requires a first name; a ticket
 * always has its id, subject, priority, status and group). */
static const struct {
    const char *name;
    unsigned ns;
    bool sure;
} catalogue[] = {
    [V_FIRST_NAME]     = { "first_name", TEMPLATE_NS_CUSTOMER, true },
    [V_LAST_NAME]      = { "last_name", TEMPLATE_NS_CUSTOMER, false },
    [V_NAME]           = { "name", TEMPLATE_NS_CUSTOMER, true },
    [V_USERNAME]       = { "username", TEMPLATE_NS_CUSTOMER, false },
    [V_LANGUAGE]       = { "language", TEMPLATE_NS_CUSTOMER, false },
    [V_TIER]           = { "tier", TEMPLATE_NS_CUSTOMER, true },
    [V_TICKET_ID]      = { "id", TEMPLATE_NS_TICKET, true },
    [V_SUBJECT]        = { "subject", TEMPLATE_NS_TICKET, true },
    [V_PRIORITY]       = { "priority", TEMPLATE_NS_TICKET, true },
    [V_STATUS]         = { "status", TEMPLATE_NS_TICKET, true },
    [V_GROUP]          = { "group", TEMPLATE_NS_TICKET, true },
    [V_AGENT_NAME]     = { "name", TEMPLATE_NS_AGENT, true },
    [V_AGENT_USERNAME] = { "username", TEMPLATE_NS_AGENT, false },
};
#define NCATALOGUE (sizeof catalogue / sizeof catalogue[0])

enum filter { F_DEFAULT, F_UPCASE, F_DOWNCASE, F_CAPITALIZE };
#define LIST_MAX 12             /* names listed at most in one message */
static const char *const filters[] = { "default", "upcase", "downcase", "capitalize", NULL };

/* --- compiled form ---------------------------------------------------------- */

struct step {
    enum filter f;
    char *arg;                  /* default's text; owned */
};

struct piece {
    enum { P_TEXT, P_VAR, P_QUOTED } kind;
    char *s;                    /* the literal, the quoted text, or the intake field; owned */
    size_t len;                 /* of s */
    enum var v;
    struct step *steps;         /* owned */
    size_t nsteps;
};

struct template {
    char *what;
    char *source;
    struct piece *p;
    size_t n;
};

struct named {
    char *name;                 /* owned */
    struct template *t;         /* owned */
};

struct template_set {
    struct named *v;            /* in configuration order */
    size_t n;
};

/* --- compiling -------------------------------------------------------------- */

struct cc {
    const char *file, *what, *text;
    size_t len;
    const struct cfg_pos *at;
    const struct template_scope *sc;
    struct err *e;
    struct template *t;
};

static int cfail(struct cc *c, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A config error at byte off of the text. */
static int cfail(struct cc *c, size_t off, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (off > c->len)
        off = c->len;
    if (c->at != NULL)
        return err_set(c->e, ERR_CONFIG, "%s:%d:%d: %s: %s", c->file ? c->file : "config",
                       c->at[off].line, c->at[off].column, c->what, msg);
    size_t chars = 0;
    for (size_t i = 0; i < off; i++)
        chars += ((unsigned char)c->text[i] & 0xc0) != 0x80;
    return err_set(c->e, ERR_CONFIG, "%s: %s (at character %zu)", c->what, msg, chars + 1);
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static bool is_ident(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

static size_t skip_ws(const struct cc *c, size_t i)
{
    while (i < c->len && is_ws(c->text[i]))
        i++;
    return i;
}

static bool at2(const struct cc *c, size_t i, char ch)
{
    return i + 1 < c->len && c->text[i] == ch && c->text[i + 1] == ch;
}

/* "a, b or c" of a NULL-terminated list, into out. */
static const char *join(const char *const *names, size_t n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && names[i] != NULL && len < size; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == n || names[i + 1] == NULL) ? " or " : ", ";
        int w = snprintf(out + len, size - len, "%s%s", sep, names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return out;
}

/* The character at byte i, for messages ("unexpected 'é'"). */
static int char_len(const struct cc *c, size_t i)
{
    size_t n;
    (void)fold_decode(c->text + i, &n);
    return (int)n;
}

/* A quoted text starting at its quote at *ip; \" \' and \\ escape. */
static int quoted(struct cc *c, size_t *ip, char **out)
{
    size_t start = *ip, i = start + 1;
    char q = c->text[start];
    struct buf b;
    buf_init(&b, 0);
    while (i < c->len && c->text[i] != q) {
        if (c->text[i] == '\\' && i + 1 < c->len &&
            (c->text[i + 1] == q || c->text[i + 1] == '\\'))
            i++;
        (void)buf_putc(&b, c->text[i]);
        i++;
    }
    if (i >= c->len) {
        buf_release(&b);
        return cfail(c, start, "quoted text is never closed (missing %c)", q);
    }
    *out = buf_detach(&b);
    *ip = i + 1;
    return 0;
}

static struct piece *add_piece(struct template *t)
{
    t->p = mem_realloc(t->p, (t->n + 1) * sizeof *t->p);
    memset(&t->p[t->n], 0, sizeof t->p[t->n]);
    return &t->p[t->n++];
}

/* The names of the given namespace's variables: "first_name, last_name ...". */
static const char *ns_names(unsigned bit, char *out, size_t size)
{
    const char *names[NCATALOGUE + 1];
    size_t n = 0;
    for (size_t i = 0; i < NCATALOGUE; i++)
        if (catalogue[i].ns == bit)
            names[n++] = catalogue[i].name;
    names[n] = NULL;
    return join(names, n, out, size);
}

static const char *scope_names(unsigned ns, char *out, size_t size)
{
    const char *names[5];
    size_t n = 0;
    for (size_t i = 0; namespaces[i] != NULL; i++)
        if (ns & (1u << i))
            names[n++] = namespaces[i];
    names[n] = NULL;
    if (n == 0)
        return "none";
    return join(names, n, out, size);
}

/* Resolve the variable written at [vs, ve) into pc; *sure when it always has a value. */
static int resolve(struct cc *c, size_t vs, size_t ve, struct piece *pc, bool *sure)
{
    const char *s = c->text + vs;
    int n = (int)(ve - vs);
    const char *dot = memchr(s, '.', (size_t)n);
    char list[256];
    if (dot == NULL)
        return cfail(c, vs, "'%.*s' is not a variable: write namespace.name, such as "
                     "customer.first_name", n, s);
    int nl = (int)(dot - s);
    int ns = -1;
    for (int i = 0; namespaces[i] != NULL; i++)
        if ((int)strlen(namespaces[i]) == nl && memcmp(namespaces[i], s, (size_t)nl) == 0)
            ns = i;
    if (ns < 0)
        return cfail(c, vs, "unknown variable namespace '%.*s' (expected %s)", nl, s,
                     join(namespaces, 4, list, sizeof list));
    unsigned bit = 1u << ns;
    if ((c->sc->ns & bit) == 0)
        return cfail(c, vs, "'%s.*' variables are not available here (this text can use: %s)",
                     namespaces[ns], scope_names(c->sc->ns, list, sizeof list));
    const char *name = dot + 1;
    int rl = n - nl - 1;
    if (bit == TEMPLATE_NS_INTAKE) {
        const struct template_scope *sc = c->sc;
        for (size_t q = 0; q < sc->nquestions; q++) {
            const char *f = sc->questions[q].field;
            if ((int)strlen(f) != rl || memcmp(f, name, (size_t)rl) != 0)
                continue;
            if (q >= sc->nanswered)
                return cfail(c, vs, "'intake.%s' is asked later in the form, so it has no "
                             "answer here", f);
            pc->kind = P_VAR;
            pc->v = V_INTAKE;
            pc->s = mem_strdup(f);
            pc->len = strlen(f);
            *sure = !sc->questions[q].optional;
            return 0;
        }
        if (sc->nquestions == 0)
            return cfail(c, vs, "unknown intake field '%.*s' (no intake questions are "
                         "configured)", rl, name);
        const char *fields[LIST_MAX + 1];
        size_t nf = 0;
        for (; nf < sc->nquestions && nf < LIST_MAX; nf++)
            fields[nf] = sc->questions[nf].field;
        fields[nf] = NULL;
        return cfail(c, vs, "unknown intake field '%.*s' (the form asks for %s)", rl, name,
                     join(fields, nf, list, sizeof list));
    }
    for (size_t v = 0; v < NCATALOGUE; v++) {
        if (catalogue[v].ns == bit && (int)strlen(catalogue[v].name) == rl &&
            memcmp(catalogue[v].name, name, (size_t)rl) == 0) {
            pc->kind = P_VAR;
            pc->v = (enum var)v;
            *sure = catalogue[v].sure;
            return 0;
        }
    }
    return cfail(c, vs + (size_t)nl + 1, "unknown variable '%.*s' (%s has %s)", n, s,
                 namespaces[ns], ns_names(bit, list, sizeof list));
}

/* One filter after its '|' at *ip, into pc. */
static int parse_filter(struct cc *c, size_t *ip, struct piece *pc)
{
    size_t i = skip_ws(c, *ip), fs = i;
    char list[128];
    while (i < c->len && is_ident(c->text[i]))
        i++;
    if (i == fs)
        return cfail(c, fs, "expected a filter name after '|' (%s)",
                     join(filters, 4, list, sizeof list));
    int f = -1;
    for (int k = 0; filters[k] != NULL; k++)
        if (strlen(filters[k]) == i - fs && memcmp(filters[k], c->text + fs, i - fs) == 0)
            f = k;
    if (f < 0)
        return cfail(c, fs, "unknown filter '%.*s' (filters: %s)", (int)(i - fs),
                     c->text + fs, join(filters, 4, list, sizeof list));
    pc->steps = mem_realloc(pc->steps, (pc->nsteps + 1) * sizeof *pc->steps);
    struct step *st = &pc->steps[pc->nsteps++];
    st->f = (enum filter)f;
    st->arg = NULL;
    i = skip_ws(c, i);
    bool colon = i < c->len && c->text[i] == ':';
    if (f != F_DEFAULT) {
        if (colon)
            return cfail(c, fs, "filter '%s' takes no value", filters[f]);
        *ip = i;
        return 0;
    }
    if (!colon)
        return cfail(c, fs, "filter 'default' needs a value, such as default: \"there\"");
    i = skip_ws(c, i + 1);
    if (i >= c->len || (c->text[i] != '"' && c->text[i] != '\''))
        return cfail(c, i, "filter 'default' needs a quoted text after ':', such as "
                     "default: \"there\"");
    int rc = quoted(c, &i, &st->arg);
    *ip = i;
    return rc;
}

/* The placeholder whose "{{" is at *ip. */
static int placeholder(struct cc *c, size_t *ip)
{
    size_t open = *ip, i = skip_ws(c, open + 2), vs = 0, ve = 0;
    struct piece *pc = add_piece(c->t);
    int rc;

    if (i >= c->len)
        return cfail(c, open, "'{{' is never closed");
    if (at2(c, i, '}'))
        return cfail(c, open, "empty placeholder '{{ }}'");
    if (c->text[i] == '"' || c->text[i] == '\'') {
        pc->kind = P_QUOTED;
        if ((rc = quoted(c, &i, &pc->s)))
            return rc;
        pc->len = strlen(pc->s);
    } else if (is_ident(c->text[i])) {
        vs = i;
        while (i < c->len && (is_ident(c->text[i]) || c->text[i] == '.'))
            i++;
        ve = i;
    } else if (at2(c, i, '{')) {
        return cfail(c, i, "'{{' inside a placeholder");
    } else {
        return cfail(c, i, "unexpected '%.*s' in a placeholder (expected a variable such as "
                     "customer.first_name)", char_len(c, i), c->text + i);
    }
    for (;;) {
        i = skip_ws(c, i);
        if (i >= c->len)
            return cfail(c, open, "'{{' is never closed");
        if (at2(c, i, '}')) {
            i += 2;
            break;
        }
        if (c->text[i] == '|') {
            i++;
            if ((rc = parse_filter(c, &i, pc)))
                return rc;
            continue;
        }
        if (at2(c, i, '{'))
            return cfail(c, i, "'{{' inside a placeholder");
        return cfail(c, i, "unexpected '%.*s' in a placeholder (expected '|' or '}}')",
                     char_len(c, i), c->text + i);
    }
    if (pc->kind != P_QUOTED) {
        bool sure = false, dflt = false;
        if ((rc = resolve(c, vs, ve, pc, &sure)))
            return rc;
        for (size_t k = 0; k < pc->nsteps; k++)
            dflt = dflt || pc->steps[k].f == F_DEFAULT;
        if (c->sc->sure && !sure && !dflt)
            return cfail(c, vs, "'%.*s' may have no value here and this text is sent "
                         "without an agent: give it a default, such as {{%.*s | default: "
                         "\"...\"}}", (int)(ve - vs), c->text + vs, (int)(ve - vs),
                         c->text + vs);
    }
    *ip = i;
    return 0;
}

static void add_text(struct template *t, const char *s, size_t n)
{
    if (n == 0)
        return;
    struct piece *pc = add_piece(t);
    pc->kind = P_TEXT;
    pc->s = mem_strndup(s, n);
    pc->len = n;
}

int template_compile(const char *file, const char *what, const char *text,
                     const struct cfg_pos *at, const struct template_scope *scope,
                     struct template **out, struct err *e)
{
    struct template *t = mem_alloc(sizeof *t);
    t->what = mem_strdup(what);
    t->source = mem_strdup(text);
    struct cc c = {
        .file = file, .what = what, .text = text, .len = strlen(text), .at = at,
        .sc = scope, .e = e, .t = t,
    };
    size_t lit = 0, i = 0;
    int rc = 0;
    *out = NULL;
    while (i < c.len) {
        if (at2(&c, i, '{')) {
            add_text(t, text + lit, i - lit);
            if ((rc = placeholder(&c, &i)))
                break;
            lit = i;
        } else if (at2(&c, i, '}')) {
            rc = cfail(&c, i, "'}}' without an opening '{{' (write {{ \"}}\" }} for a literal "
                       "'}}')");
            break;
        } else {
            i++;
        }
    }
    if (rc != 0) {
        template_free(&t);
        return rc;
    }
    add_text(t, text + lit, c.len - lit);
    *out = t;
    return 0;
}

void template_free(struct template **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    struct template *t = *tp;
    *tp = NULL;
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < t->p[i].nsteps; k++)
            mem_free(t->p[i].steps[k].arg);
        mem_free(t->p[i].steps);
        mem_free(t->p[i].s);
    }
    mem_free(t->p);
    mem_free(t->what);
    mem_free(t->source);
    mem_free(t);
}

const char *template_what(const struct template *t)
{
    return t->what;
}

const char *template_source(const struct template *t)
{
    return t->source;
}

/* --- rendering -------------------------------------------------------------- */

static void put_escaped(struct buf *b, const char *s, enum template_mode mode)
{
    if (mode == TEMPLATE_PLAIN) {
        (void)buf_puts(b, s);
        return;
    }
    for (; *s; s++) {
        if (mode == TEMPLATE_HTML) {
            switch (*s) {
            case '&': (void)buf_puts(b, "&amp;"); continue;
            case '<': (void)buf_puts(b, "&lt;"); continue;
            case '>': (void)buf_puts(b, "&gt;"); continue;
            case '"': (void)buf_puts(b, "&quot;"); continue;
            default: break;
            }
        } else if (strchr("_*[]()~`>#+-=|{}.!\\", *s) != NULL) {
            (void)buf_putc(b, '\\');
        }
        (void)buf_putc(b, *s);
    }
}

char *template_escape(struct arena *a, const char *s, enum template_mode mode)
{
    struct buf b;
    buf_init(&b, 0);
    put_escaped(&b, s ? s : "", mode);
    char *out = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_release(&b);
    return out;
}

static const char *intake_value(const struct template_vars *v, const char *field)
{
    for (size_t i = 0; i < v->nintake; i++)
        if (v->intake[i].key != NULL && strcmp(v->intake[i].key, field) == 0)
            return v->intake[i].value;
    return NULL;
}

/* The value of a variable piece; arena memory for composed ones. */
static const char *value(const struct piece *p, const struct template_vars *v, struct arena *a)
{
    switch (p->v) {
    case V_FIRST_NAME:     return v->customer_first_name;
    case V_LAST_NAME:      return v->customer_last_name;
    case V_USERNAME:       return v->customer_username;
    case V_LANGUAGE:       return v->customer_language;
    case V_TIER:           return v->customer_tier;
    case V_SUBJECT:        return v->ticket_subject;
    case V_PRIORITY:       return v->ticket_priority;
    case V_STATUS:         return v->ticket_status;
    case V_GROUP:          return v->ticket_group;
    case V_AGENT_NAME:     return v->agent_name;
    case V_AGENT_USERNAME: return v->agent_username;
    case V_INTAKE:         return intake_value(v, p->s);
    case V_TICKET_ID:
        return v->ticket_id != 0 ? arena_printf(a, "%" PRId64, v->ticket_id) : NULL;
    case V_NAME: {
        const char *f = v->customer_first_name, *l = v->customer_last_name;
        bool hf = f != NULL && *f, hl = l != NULL && *l;
        return hf && hl ? arena_printf(a, "%s %s", f, l) : hf ? f : hl ? l : NULL;
    }
    }
    return NULL;
}

/* First character upper case, the rest lower case (Liquid's capitalize). */
static char *capitalize(struct arena *a, const char *s)
{
    char *low = fold_lower_str(a, s);
    if (low == NULL || *low == '\0')
        return low;
    size_t n;
    uint32_t cp = fold_decode(low, &n);
    char first[4];
    size_t fn = fold_encode(fold_upper(cp), first);
    return arena_printf(a, "%.*s%s", (int)fn, first, low + n);
}

static const char *apply(const struct step *st, const char *val, struct arena *a)
{
    switch (st->f) {
    case F_DEFAULT:    return val != NULL && *val ? val : st->arg;
    case F_UPCASE:     return val ? fold_upper_str(a, val) : NULL;
    case F_DOWNCASE:   return val ? fold_lower_str(a, val) : NULL;
    case F_CAPITALIZE: return val ? capitalize(a, val) : NULL;
    }
    return val;
}

static const char *var_name(const struct piece *p, struct arena *a)
{
    if (p->v == V_INTAKE)
        return arena_printf(a, "intake.%s", p->s);
    unsigned ns = catalogue[p->v].ns;
    int bit = 0;
    while ((1u << bit) != ns)
        bit++;
    return arena_printf(a, "%s.%s", namespaces[bit], catalogue[p->v].name);
}

int template_render(const struct template *t, const struct template_vars *v,
                    enum template_mode mode, struct arena *a, struct template_out *out,
                    struct err *e)
{
    static const struct template_vars none;
    struct buf b;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (v == NULL)
        v = &none;
    const char **missing = arena_alloc(a, (t->n + 1) * sizeof *missing);
    if (missing == NULL)
        return err_set(e, ERR_TOOBIG, "out of request memory rendering %s", t->what);
    buf_init(&b, 0);
    for (size_t i = 0; i < t->n; i++) {
        const struct piece *p = &t->p[i];
        if (p->kind == P_TEXT) {
            (void)buf_append(&b, p->s, p->len);
            continue;
        }
        const char *val = p->kind == P_QUOTED ? p->s : value(p, v, a);
        if (p->kind == P_VAR && val != NULL && *val == '\0')
            val = NULL;                         /* empty is missing, as for default */
        for (size_t k = 0; k < p->nsteps; k++)
            val = apply(&p->steps[k], val, a);
        if (val != NULL) {
            put_escaped(&b, val, mode);
            continue;
        }
        if (p->kind == P_QUOTED)
            continue;                           /* only out of memory, reported below */
        const char *name = var_name(p, a);
        bool seen = false;
        for (size_t k = 0; name != NULL && k < out->nmissing; k++)
            seen = seen || strcmp(missing[k], name) == 0;
        if (name != NULL && !seen)
            missing[out->nmissing++] = name;
    }
    if (a->exhausted) {
        rc = err_set(e, ERR_TOOBIG, "out of request memory rendering %s", t->what);
    } else if (out->nmissing > 0) {
        char list[ERR_MSG_MAX / 2];
        missing[out->nmissing] = NULL;
        out->missing = missing;
        rc = err_set(e, ERR_UNPROCESSABLE, "%s was not sent: no value for %s (give %s a "
                     "default, such as {{%s | default: \"...\"}})", t->what,
                     join(missing, out->nmissing, list, sizeof list),
                     out->nmissing > 1 ? "them" : "it", missing[0]);
    } else {
        out->text = arena_strndup(a, b.p ? b.p : "", b.len);
        if (out->text == NULL)
            rc = err_set(e, ERR_TOOBIG, "out of request memory rendering %s", t->what);
    }
    buf_release(&b);
    return rc;
}

void template_vars_from(struct template_vars *v, const struct customer *cu,
                        const struct ticket *t, const struct cfg_agent *agent)
{
    memset(v, 0, sizeof *v);
    if (cu != NULL) {
        v->customer_first_name = cu->first_name;
        v->customer_last_name = cu->last_name;
        v->customer_username = cu->username;
        v->customer_language = cu->language;
        v->customer_tier = cu->tier;
    }
    if (t != NULL) {
        v->ticket_id = t->id;
        v->ticket_subject = t->subject;
        v->ticket_priority = ticket_priority_name(t->priority);
        v->ticket_status = ticket_status_name(t->status);
        v->ticket_group = t->group;
        v->intake = t->fields;
        v->nintake = t->nfields;
    }
    if (agent != NULL) {
        v->agent_name = agent->name;
        v->agent_username = agent->username;
    }
}

/* --- the configuration's templates ------------------------------------------- */

int template_set_new(const struct cfg *c, struct template_set **out, struct err *e)
{
    struct template_set *s = mem_alloc(sizeof *s);
    struct template_scope scope = {
        .ns = TEMPLATE_NS_ALL, .questions = c->intake, .nquestions = c->nintake,
        .nanswered = c->nintake, .sure = false,
    };
    *out = NULL;
    s->v = mem_alloc((c->ntemplates + 1) * sizeof *s->v);
    for (size_t i = 0; i < c->ntemplates; i++) {
        const struct cfg_template *ct = &c->templates[i];
        char what[160];
        snprintf(what, sizeof what, "template '%s'", ct->name);
        int rc = template_compile(c->path, what, ct->text, ct->text_at, &scope, &s->v[i].t, e);
        if (rc != 0) {
            template_set_free(&s);
            return rc;
        }
        s->v[i].name = mem_strdup(ct->name);
        s->n++;
    }
    *out = s;
    return 0;
}

void template_set_free(struct template_set **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    struct template_set *s = *sp;
    *sp = NULL;
    for (size_t i = 0; i < s->n; i++) {
        template_free(&s->v[i].t);
        mem_free(s->v[i].name);
    }
    mem_free(s->v);
    mem_free(s);
}

const struct template *template_set_find(const struct template_set *s, const char *name)
{
    for (size_t i = 0; s != NULL && name != NULL && i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return s->v[i].t;
    return NULL;
}

size_t template_set_count(const struct template_set *s)
{
    return s != NULL ? s->n : 0;
}

const char *template_set_name(const struct template_set *s, size_t i)
{
    return s != NULL && i < s->n ? s->v[i].name : NULL;
}

const struct template *template_set_at(const struct template_set *s, size_t i)
{
    return s != NULL && i < s->n ? s->v[i].t : NULL;
}
