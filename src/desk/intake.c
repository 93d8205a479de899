/*
 * intake.c — the intake form's state machine and answer validation (see
 * intake.h).
 *
 * The form is the configuration's questions with their texts compiled as
 * templates; a state is the answers so far. Each step reads one input,
 * validates it against the current question's type, and either records
 * the normalised answer and asks the next question, or asks again naming
 * the problem. Replies are built in the caller's arena.
 */
#include "desk/intake.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/jx.h"
#include "base/mem.h"
#include "desk/fold.h"

#define DATA_PREFIX "intake:"
#define DATA_MAX 64             /* Telegram's limit for callback_data, in bytes */
#define NUMBER_DIGITS 15        /* a double holds 15 decimal digits exactly */

enum qtype { Q_TEXT, Q_EMAIL, Q_PHONE, Q_NUMBER, Q_CHOICE };
static const char *const qtypes[] = { "text", "email", "phone", "number", "choice", NULL };

struct question {
    const struct cfg_intake_question *q;    /* borrowed from the form's cfg */
    enum qtype type;
    struct template *prompt;                /* owned */
};

struct intake_form {
    struct cfg *c;                          /* one reference */
    struct question *q;                     /* owned, c->nintake of them */
    size_t n;
    struct template *intro;                 /* owned; NULL when there is none */
    struct template *confirmation;
    struct template *cancelled;
};

/* Built-in sentences naming what was wrong with an answer. */
static const struct {
    const char *code;
    const char *text;
    bool replaceable;                       /* by the question's own 'invalid' text */
} problems[] = {
    { "empty", "Please type your answer.", true },
    { "not_text", "Please answer with a text message.", false },
    { "invalid_email", "That doesn't look like an email address. Please send it like "
      "name@example.com.", true },
    { "invalid_phone", "That doesn't look like a phone number. Please send it with the "
      "country code, like +44 20 7946 0958.", true },
    { "phone_country_code", "Please include the country code, like +44 20 7946 0958.", true },
    { "not_a_number", "Please send a number, like 42.", true },
    { "out_of_range", NULL, true },         /* built from the range */
    { "unknown_choice", NULL, true },       /* built from the choices */
    { "not_optional", "This question can't be skipped.", false },
    { "unknown_command", "Please answer the question, or send /cancel to stop.", false },
};

/* --- the form ---------------------------------------------------------------------- */

static int compile(const struct cfg *c, const char *what, const char *text,
                   const struct cfg_pos *at, unsigned ns, size_t nanswered,
                   struct template **out, struct err *e)
{
    struct template_scope scope = {
        .ns = ns, .questions = c->intake, .nquestions = c->nintake, .nanswered = nanswered,
        .sure = true,                       /* the bot sends these with no agent to ask */
    };
    return template_compile(c->path, what, text, at, &scope, out, e);
}

int intake_form_new(struct cfg *c, struct intake_form **out, struct err *e)
{
    struct intake_form *f = mem_alloc(sizeof *f);
    const struct cfg_intake_texts *t = &c->intake_texts;
    const unsigned all = TEMPLATE_NS_CUSTOMER | TEMPLATE_NS_TICKET | TEMPLATE_NS_INTAKE;
    int rc = 0;

    *out = NULL;
    f->c = cfg_ref(c);
    f->q = mem_alloc((c->nintake + 1) * sizeof *f->q);
    for (size_t i = 0; i < c->nintake; i++) {
        const struct cfg_intake_question *cq = &c->intake[i];
        struct question *q = &f->q[i];
        char what[96];
        q->q = cq;
        while (qtypes[q->type] != NULL && strcmp(qtypes[q->type], cq->type) != 0)
            q->type++;
        if (qtypes[q->type] == NULL) {
            rc = err_set(e, ERR_CONFIG, "%s:%d:%d: intake question '%s' has unknown type '%s'",
                         c->path, cq->pos.line, cq->pos.column, cq->field, cq->type);
            goto fail;
        }
        /* "intake:<field>:skip" or ":<index>" must fit Telegram's callback_data */
        if (strlen(DATA_PREFIX) + strlen(cq->field) + 1 + 4 > DATA_MAX || cq->nchoices > 9999) {
            rc = err_set(e, ERR_CONFIG, "%s:%d:%d: intake field '%s' is too long for a "
                         "button's data", c->path, cq->pos.line, cq->pos.column, cq->field);
            goto fail;
        }
        snprintf(what, sizeof what, "prompt of intake question '%s'", cq->field);
        /* a prompt may use the answers given before it */
        if ((rc = compile(c, what, cq->prompt, cq->prompt_at,
                          TEMPLATE_NS_CUSTOMER | TEMPLATE_NS_INTAKE, i, &q->prompt, e)))
            goto fail;
        f->n++;
    }
    if ((t->intro != NULL &&
         (rc = compile(c, "intake.intro", t->intro, t->intro_at, TEMPLATE_NS_CUSTOMER, 0,
                       &f->intro, e))) ||
        (rc = compile(c, "intake.confirmation", t->confirmation, t->confirmation_at, all,
                      c->nintake, &f->confirmation, e)) ||
        (rc = compile(c, "intake.cancelled", t->cancelled, t->cancelled_at,
                      TEMPLATE_NS_CUSTOMER, 0, &f->cancelled, e)))
        goto fail;
    *out = f;
    return 0;
fail:
    intake_form_free(&f);
    return rc;
}

void intake_form_free(struct intake_form **fp)
{
    if (fp == NULL || *fp == NULL)
        return;
    struct intake_form *f = *fp;
    *fp = NULL;
    for (size_t i = 0; i < f->n; i++)
        template_free(&f->q[i].prompt);
    mem_free(f->q);
    template_free(&f->intro);
    template_free(&f->confirmation);
    template_free(&f->cancelled);
    cfg_unref(&f->c);
    mem_free(f);
}

bool intake_form_enabled(const struct intake_form *f)
{
    return f != NULL && f->c->intake_enabled && f->n > 0;
}

/* --- rendering replies -------------------------------------------------------------- */

/* The answers so far as intake.* values: an arena array of the given ones. */
static const struct kv *answers_kv(const struct intake_form *f, const struct intake_state *s,
                                   struct arena *a, size_t *n)
{
    struct kv *kv = arena_alloc(a, (f->n + 1) * sizeof *kv);
    *n = 0;
    for (size_t i = 0; kv != NULL && i < f->n && i < s->nquestions; i++)
        if (s->answers[i] != NULL && s->answers[i][0] != '\0')
            kv[(*n)++] = (struct kv){ .key = f->q[i].q->field, .value = s->answers[i] };
    return kv;
}

static int render(const struct template *t, const struct template_vars *v,
                  const struct intake_form *f, const struct intake_state *s, struct arena *a,
                  const char **text, struct err *e)
{
    struct template_vars vv = {0};
    struct template_out to;
    if (v != NULL)
        vv = *v;
    if (s != NULL)
        vv.intake = answers_kv(f, s, a, &vv.nintake);
    int rc = template_render(t, &vv, TEMPLATE_PLAIN, a, &to, e);
    *text = to.text;
    return rc;
}

/* The current question as a reply: `before` (a problem, the intro) and the
 * prompt, with the choice and skip buttons. */
static int ask(const struct intake_form *f, const struct intake_state *s,
               const struct template_vars *v, enum intake_outcome oc, const char *problem,
               const char *before, struct arena *a, struct intake_reply *out, struct err *e)
{
    const struct question *q = &f->q[s->step];
    const char *prompt;
    int rc = render(q->prompt, v, f, s, a, &prompt, e);
    if (rc)
        return rc;
    size_t nb = (q->type == Q_CHOICE ? q->q->nchoices : 0) + (q->q->optional ? 1 : 0);
    struct intake_button *b = arena_alloc(a, (nb + 1) * sizeof *b);
    if (b == NULL)
        return err_set(e, ERR_TOOBIG, "out of request memory building an intake reply");
    for (size_t i = 0; q->type == Q_CHOICE && i < q->q->nchoices; i++)
        b[i] = (struct intake_button){
            .text = q->q->choices[i],
            .data = arena_printf(a, DATA_PREFIX "%s:%zu", q->q->field, i),
        };
    if (q->q->optional)
        b[nb - 1] = (struct intake_button){
            .text = f->c->intake_texts.skip_button,
            .data = arena_printf(a, DATA_PREFIX "%s:skip", q->q->field),
        };
    out->outcome = oc;
    out->problem = problem;
    out->text = before != NULL ? arena_printf(a, "%s\n\n%s", before, prompt) : prompt;
    out->buttons = b;
    out->nbuttons = nb;
    if (a->exhausted)
        return err_set(e, ERR_TOOBIG, "out of request memory building an intake reply");
    return 0;
}

/* A number for people: "5", "2.5", "-1000000". */
static const char *fmt_num(struct arena *a, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        return arena_printf(a, "%.0f", v);
    return arena_printf(a, "%g", v);
}

/* The sentence naming problem `code` for question q. */
static const char *problem_text(const struct question *q, const char *code, struct arena *a)
{
    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++) {
        if (strcmp(problems[i].code, code) != 0)
            continue;
        if (problems[i].replaceable && q->q->invalid != NULL)
            return q->q->invalid;
        if (problems[i].text != NULL)
            return problems[i].text;
        break;
    }
    const struct cfg_intake_question *cq = q->q;
    if (strcmp(code, "out_of_range") == 0) {
        if (cq->has_min && cq->has_max)
            return arena_printf(a, "Please send a number from %s to %s.", fmt_num(a, cq->min),
                                fmt_num(a, cq->max));
        return cq->has_min ? arena_printf(a, "Please send a number of at least %s.",
                                          fmt_num(a, cq->min))
                           : arena_printf(a, "Please send a number of at most %s.",
                                          fmt_num(a, cq->max));
    }
    struct buf b;
    buf_init(&b, 0);
    (void)buf_puts(&b, "Please choose one of: ");
    for (size_t i = 0; i < cq->nchoices; i++)
        (void)buf_printf(&b, "%s%s", i == 0 ? "" : i + 1 == cq->nchoices ? " or " : ", ",
                         cq->choices[i]);
    (void)buf_putc(&b, '.');
    char *s = arena_strdup(a, buf_str(&b));
    buf_release(&b);
    return s;
}

/* --- validation ------------------------------------------------------------------------ */

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alnum(unsigned char ch)
{
    return is_digit((char)ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* The text without surrounding whitespace, in the arena. */
static const char *trim(struct arena *a, const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\r'))
        n--;
    return arena_strndup(a, s, n);
}

/* A domain label: letters, digits, '-' inside, UTF-8 (internationalised). */
static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!is_alnum(ch) && ch != '-' && ch < 0x80)
            return false;
    }
    return true;
}

/* Email syntax (RFC 5321 sizes, dot-atom local part, no quoted forms). */
static const char *norm_email(struct arena *a, const char *s, const char **out)
{
    const char *at = strchr(s, '@');
    size_t len = strlen(s);
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL || len > 254)
        return "invalid_email";
    size_t ll = (size_t)(at - s);
    const char *dom = at + 1;
    if (ll > 64 || s[0] == '.' || s[ll - 1] == '.')
        return "invalid_email";
    for (size_t i = 0; i < ll; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(is_alnum(ch) || ch >= 0x80 || strchr("!#$%&'*+/=?^_`{|}~-.", ch) != NULL) ||
            (ch == '.' && s[i + 1] == '.'))
            return "invalid_email";
    }
    size_t labels = 0, last = 0;
    for (const char *p = dom;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, n))
            return "invalid_email";
        labels++;
        last = n;
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    const char *tld = dom + strlen(dom) - last;
    bool numeric = true;
    for (size_t i = 0; i < last; i++)
        numeric = numeric && is_digit(tld[i]);
    if (labels < 2 || last < 2 || numeric)
        return "invalid_email";
    char *o = arena_strdup(a, s);
    if (o == NULL)
        return NULL;
    for (char *p = o + ll + 1; *p; p++)         /* domains are case-insensitive */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    *out = o;
    return NULL;
}

/* E.164: "+" and 8..15 digits, the first not 0. */
static const char *norm_phone(struct arena *a, const char *s, const char **out)
{
    char d[40];
    size_t n = 0;
    bool plus = false;
    for (const char *p = s; *p; p++) {
        if (*p == '+' && n == 0 && !plus)
            plus = true;
        else if (is_digit(*p) && n < sizeof d - 1)
            d[n++] = *p;
        else if (strchr(" -.()/", *p) == NULL)
            return "invalid_phone";
    }
    d[n] = '\0';
    const char *digits = d;
    if (!plus && n >= 2 && d[0] == '0' && d[1] == '0') {    /* 00: the international prefix */
        digits += 2;
        n -= 2;
        plus = true;
    }
    if (n == 0)
        return "invalid_phone";
    if (!plus && (digits[0] == '0' || n <= 10))
        return "phone_country_code";        /* a national number: which country? */
    if (n < 8 || n > 15 || digits[0] == '0')
        return "invalid_phone";
    *out = arena_printf(a, "+%s", digits);
    return NULL;
}

/* A decimal number; normalised ("007" → "7", "1,50" → "1.5") and in range. */
static const char *norm_number(struct arena *a, const char *s, const struct cfg_intake_question *q,
                               const char **out)
{
    char ip[NUMBER_DIGITS + 1] = "", fp[NUMBER_DIGITS + 1] = "";
    size_t il = 0, fl = 0, digits = 0;
    bool neg = false, sep = false;
    const char *p = s;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    for (; *p; p++) {
        if (is_digit(*p)) {
            if (++digits > NUMBER_DIGITS)
                return "not_a_number";
            if (sep)
                fp[fl++] = *p;
            else if (il > 0 || *p != '0')
                ip[il++] = *p;              /* leading zeros dropped */
        } else if ((*p == '.' || *p == ',') && !sep && is_digit(p[1])) {
            sep = true;
        } else if (*p == ' ' && p > s && is_digit(p[-1]) && is_digit(p[1]) && !sep) {
            continue;                       /* "1 000" */
        } else {
            return "not_a_number";
        }
    }
    while (fl > 0 && fp[fl - 1] == '0')
        fl--;
    if (digits == 0)
        return "not_a_number";
    ip[il] = fp[fl] = '\0';
    double v = 0, scale = 1;
    for (size_t i = 0; i < il; i++)
        v = v * 10 + (ip[i] - '0');
    for (size_t i = 0; i < fl; i++)
        v += (fp[i] - '0') * (scale /= 10);
    if (neg)
        v = -v;
    if ((q->has_min && v < q->min) || (q->has_max && v > q->max))
        return "out_of_range";
    *out = arena_printf(a, "%s%s%s%s", neg && (il > 0 || fl > 0) ? "-" : "", il ? ip : "0",
                        fl ? "." : "", fp);
    return NULL;
}

/* s is all digits, at most 4 of them: their value in *out. */
static bool small_number(const char *s, size_t *out)
{
    size_t n = 0, k = 0;
    for (; k < 4 && is_digit(s[k]); k++)
        n = n * 10 + (size_t)(s[k] - '0');
    *out = n;
    return k > 0 && s[k] == '\0';
}

/* A choice by its label (exactly, then in any case) or its number (1-based). */
static const char *match_choice(const struct cfg_intake_question *q, const char *s, size_t *idx)
{
    for (size_t i = 0; i < q->nchoices; i++)
        if (strcmp(q->choices[i], s) == 0) {
            *idx = i;
            return NULL;
        }
    for (size_t i = 0; i < q->nchoices; i++)
        if (fold_equal(q->choices[i], s)) {
            *idx = i;
            return NULL;
        }
    size_t n;
    if (small_number(s, &n) && n >= 1 && n <= q->nchoices) {
        *idx = n - 1;
        return NULL;
    }
    return "unknown_choice";
}

/* Validate a typed answer to q: NULL and the normalised value, or a problem code. */
static const char *validate(const struct question *q, const char *s, struct arena *a,
                            const char **out)
{
    size_t idx;
    const char *why;
    if (*s == '\0')
        return "empty";
    switch (q->type) {
    case Q_EMAIL:  return norm_email(a, s, out);
    case Q_PHONE:  return norm_phone(a, s, out);
    case Q_NUMBER: return norm_number(a, s, q->q, out);
    case Q_CHOICE:
        if ((why = match_choice(q->q, s, &idx)) == NULL)
            *out = arena_strdup(a, q->q->choices[idx]);
        return why;
    case Q_TEXT:
        break;
    }
    *out = s;
    return NULL;
}

/* --- steps ------------------------------------------------------------------------------ */

static int state_check(const struct intake_form *f, const struct intake_state *s, struct err *e)
{
    if (s->nquestions != f->n || s->answers == NULL || s->step > f->n)
        return err_set(e, ERR_INVAL, "intake state does not fit the form (%zu questions, "
                       "state has %zu)", f->n, s->nquestions);
    return 0;
}

int intake_start(const struct intake_form *f, const struct template_vars *v, int64_t now,
                 struct arena *a, struct intake_state *s, struct intake_reply *out,
                 struct err *e)
{
    memset(s, 0, sizeof *s);
    memset(out, 0, sizeof *out);
    if (f->n == 0)
        return err_set(e, ERR_INVAL, "the intake form has no questions");
    s->answers = arena_alloc(a, (f->n + 1) * sizeof *s->answers);
    if (s->answers == NULL)
        return err_set(e, ERR_TOOBIG, "out of request memory starting the intake form");
    s->nquestions = f->n;
    s->started_at = s->updated_at = now;
    const char *intro = NULL;
    if (f->intro != NULL) {
        int rc = render(f->intro, v, f, NULL, a, &intro, e);
        if (rc)
            return rc;
    }
    return ask(f, s, v, INTAKE_ASK, NULL, intro, a, out, e);
}

int intake_resume(const struct intake_form *f, const struct intake_state *s,
                  const struct template_vars *v, struct arena *a, struct intake_reply *out,
                  struct err *e)
{
    memset(out, 0, sizeof *out);
    int rc = state_check(f, s, e);
    if (rc)
        return rc;
    if (s->status != INTAKE_ASKING || s->step >= f->n)
        return err_set(e, ERR_CONFLICT, "the intake form is not waiting for an answer");
    return ask(f, s, v, INTAKE_ASK, NULL, NULL, a, out, e);
}

bool intake_expired(const struct intake_form *f, const struct intake_state *s, int64_t now)
{
    int64_t idle = f->c->intake_abandon_ms;
    return idle > 0 && s->status == INTAKE_ASKING && now - s->updated_at >= idle;
}

/* Everything answered: the fields and the summary. */
static int complete(const struct intake_form *f, struct intake_state *s, struct arena *a,
                    struct intake_reply *out, struct err *e)
{
    struct buf b;
    buf_init(&b, 0);
    (void)buf_puts(&b, f->c->intake_texts.summary_title);
    for (size_t i = 0; i < f->n; i++) {
        const char *ans = s->answers[i];
        (void)buf_printf(&b, "\n%s: %s", f->q[i].q->label,
                         ans == NULL || *ans == '\0' ? "(skipped)" : ans);
    }
    out->summary = arena_strdup(a, buf_str(&b));
    buf_release(&b);
    out->fields = answers_kv(f, s, a, &out->nfields);
    out->outcome = INTAKE_COMPLETE;
    s->status = INTAKE_DONE;
    s->step = f->n;
    if (a->exhausted)
        return err_set(e, ERR_TOOBIG, "out of request memory completing the intake form");
    return 0;
}

/* Record answer `ans` to the current question and move on. */
static int accept(const struct intake_form *f, struct intake_state *s, const char *ans,
                  const struct template_vars *v, int64_t now, struct arena *a,
                  struct intake_reply *out, struct err *e)
{
    s->answers[s->step] = ans;
    s->updated_at = now;
    while (s->step < f->n && s->answers[s->step] != NULL)
        s->step++;
    if (s->step >= f->n)
        return complete(f, s, a, out, e);
    return ask(f, s, v, INTAKE_ASK, NULL, NULL, a, out, e);
}

static int refuse(const struct intake_form *f, const struct intake_state *s, const char *code,
                  const struct template_vars *v, struct arena *a, struct intake_reply *out,
                  struct err *e)
{
    const char *why = problem_text(&f->q[s->step], code, a);
    return ask(f, s, v, INTAKE_REASK, code, why, a, out, e);
}

static int skip(const struct intake_form *f, struct intake_state *s,
                const struct template_vars *v, int64_t now, struct arena *a,
                struct intake_reply *out, struct err *e)
{
    if (!f->q[s->step].q->optional)
        return refuse(f, s, "not_optional", v, a, out, e);
    return accept(f, s, "", v, now, a, out, e);
}

static int ignore(const char *code, const char *notice, struct intake_reply *out)
{
    out->outcome = INTAKE_IGNORE;
    out->problem = code;
    out->notice = notice;
    return 0;
}

/* A button press: "intake:<field>:<index>" or "intake:<field>:skip". */
static int press(const struct intake_form *f, struct intake_state *s, const char *data,
                 const struct template_vars *v, int64_t now, struct arena *a,
                 struct intake_reply *out, struct err *e)
{
    const struct question *q = &f->q[s->step];
    size_t pl = strlen(DATA_PREFIX), fl = strlen(q->q->field);
    if (!intake_is_button(data))
        return ignore("not_ours", NULL, out);
    const char *rest = data + pl;
    if (strncmp(rest, q->q->field, fl) != 0 || rest[fl] != ':')
        return ignore("stale_button", "This question was already answered.", out);
    rest += fl + 1;
    if (strcmp(rest, "skip") == 0 && q->q->optional) {
        int rc = skip(f, s, v, now, a, out, e);
        out->notice = f->c->intake_texts.skip_button;
        return rc;
    }
    size_t idx;
    if (q->type != Q_CHOICE || !small_number(rest, &idx) || idx >= q->q->nchoices)
        return ignore("stale_button", "This question was already answered.", out);
    const char *label = arena_strdup(a, q->q->choices[idx]);
    if (label == NULL)
        return err_set(e, ERR_TOOBIG, "out of request memory reading an intake answer");
    int rc = accept(f, s, label, v, now, a, out, e);
    out->notice = label;
    return rc;
}

/* A typed command, in any case and maybe addressed: "/cancel", "/Skip@helpbot". */
static bool is_command(const char *s, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(s, name, n) == 0 && (s[n] == '\0' || s[n] == '@' || s[n] == ' ');
}

int intake_step(const struct intake_form *f, struct intake_state *s,
                const struct intake_input *in, const struct template_vars *v, int64_t now,
                struct arena *a, struct intake_reply *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    int rc = state_check(f, s, e);
    if (rc)
        return rc;
    if (s->status != INTAKE_ASKING)
        return ignore("closed", "This form is closed.", out);
    if (s->step >= f->n)                    /* the form shrank: nothing left to ask */
        return complete(f, s, a, out, e);
    if (in->data != NULL)
        return press(f, s, in->data, v, now, a, out, e);
    if (in->text == NULL)
        return refuse(f, s, "not_text", v, a, out, e);
    const char *t = trim(a, in->text), *ans = NULL;
    if (t == NULL)
        return err_set(e, ERR_TOOBIG, "out of request memory reading an intake answer");
    if (t[0] == '/') {
        if (is_command(t, "/cancel")) {
            s->status = INTAKE_CANCELLED;
            s->updated_at = now;
            out->outcome = INTAKE_CANCEL;
            return render(f->cancelled, v, f, NULL, a, &out->text, e);
        }
        if (is_command(t, "/skip"))
            return skip(f, s, v, now, a, out, e);
        if (is_command(t, "/start"))
            return ask(f, s, v, INTAKE_ASK, NULL, NULL, a, out, e);
        return refuse(f, s, "unknown_command", v, a, out, e);
    }
    const char *why = validate(&f->q[s->step], t, a, &ans);
    if (why != NULL)
        return refuse(f, s, why, v, a, out, e);
    if (ans == NULL)
        return err_set(e, ERR_TOOBIG, "out of request memory reading an intake answer");
    return accept(f, s, ans, v, now, a, out, e);
}

int intake_confirmation(const struct intake_form *f, const struct template_vars *v,
                        struct arena *a, const char **text, struct err *e)
{
    struct template_out to;
    int rc = template_render(f->confirmation, v, TEMPLATE_PLAIN, a, &to, e);
    *text = to.text;
    return rc;
}

bool intake_is_button(const char *data)
{
    return data != NULL && strncmp(data, DATA_PREFIX, strlen(DATA_PREFIX)) == 0;
}

/* --- the stored state ---------------------------------------------------------------------- */

static const char *const status_names[] = { "asking", "done", "cancelled", NULL };

char *intake_state_json(const struct intake_form *f, const struct intake_state *s)
{
    json_t *o = json_object(), *ans = json_object(), *skipped = json_array();
    json_object_set_new(o, "v", json_integer(1));
    json_object_set_new(o, "status", json_string(status_names[s->status]));
    json_object_set_new(o, "field", s->step < f->n && s->status == INTAKE_ASKING
                                    ? json_string(f->q[s->step].q->field) : json_null());
    for (size_t i = 0; i < f->n && i < s->nquestions; i++) {
        if (s->answers[i] == NULL)
            continue;
        if (s->answers[i][0] == '\0')
            json_array_append_new(skipped, json_string(f->q[i].q->field));
        else
            json_object_set_new(ans, f->q[i].q->field, json_string(s->answers[i]));
    }
    json_object_set_new(o, "answers", ans);
    json_object_set_new(o, "skipped", skipped);
    json_object_set_new(o, "opening", jx_str_or_null(s->opening));
    json_object_set_new(o, "opening_message_id", json_integer(s->opening_message_id));
    json_object_set_new(o, "started_at", json_integer(s->started_at));
    json_object_set_new(o, "updated_at", json_integer(s->updated_at));
    char *out = jx_dumps(o);
    json_decref(o);
    return out;
}

static int field_index(const struct intake_form *f, const char *field)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->q[i].q->field, field) == 0)
            return (int)i;
    return -1;
}

static int parse_state(const struct intake_form *f, json_t *o, struct arena *a,
                       struct intake_state *s, struct err *e)
{
    static const char *const fields[] = {
        "v", "status", "field", "answers", "skipped", "opening", "opening_message_id",
        "started_at", "updated_at", NULL
    };
    const char *status = NULL, *opening = NULL;
    int64_t ver = 0;
    int rc;
    if ((rc = jx_check_fields(o, fields, "", e)) ||
        (rc = jx_get_int(o, "v", true, &ver, e)) ||
        (rc = jx_get_str(o, "status", true, &status, e)) ||
        (rc = jx_get_int(o, "opening_message_id", false, &s->opening_message_id, e)) ||
        (rc = jx_get_int(o, "started_at", true, &s->started_at, e)) ||
        (rc = jx_get_int(o, "updated_at", true, &s->updated_at, e)))
        return rc;
    if (ver != 1)
        return err_field(e, ERR_INVAL, "v", "unsupported intake state version %" PRId64, ver);
    int st = 0;
    while (status_names[st] != NULL && strcmp(status_names[st], status) != 0)
        st++;
    if (status_names[st] == NULL)
        return err_field(e, ERR_INVAL, "status", "unknown intake status '%s'", status);
    s->status = (enum intake_status)st;
    json_t *op = json_object_get(o, "opening");
    if (op != NULL && !json_is_null(op)) {
        if ((rc = jx_get_str(o, "opening", false, &opening, e)))
            return rc;
        s->opening = arena_strdup(a, opening);
    }
    json_t *ans = json_object_get(o, "answers"), *skipped = json_object_get(o, "skipped");
    if (ans != NULL && !json_is_object(ans))
        return err_field(e, ERR_INVAL, "answers", "'answers' must be an object");
    if (skipped != NULL && !json_is_array(skipped))
        return err_field(e, ERR_INVAL, "skipped", "'skipped' must be an array");
    const char *key;
    json_t *val;
    json_object_foreach(ans, key, val) {
        if (!json_is_string(val) || json_string_length(val) == 0)
            return err_field(e, ERR_INVAL, "answers", "answer '%s' must be a non-empty "
                             "string", key);
        int i = field_index(f, key);
        if (i >= 0)                         /* a question the form no longer asks: dropped */
            s->answers[i] = arena_strdup(a, json_string_value(val));
    }
    size_t k;
    json_array_foreach(skipped, k, val) {
        if (!json_is_string(val))
            return err_field(e, ERR_INVAL, "skipped", "'skipped' must list field names");
        int i = field_index(f, json_string_value(val));
        if (i >= 0 && s->answers[i] == NULL)
            s->answers[i] = "";
    }
    s->step = 0;
    while (s->step < f->n && s->answers[s->step] != NULL)
        s->step++;
    if (a->exhausted)
        return err_set(e, ERR_TOOBIG, "out of request memory reading an intake state");
    return 0;
}

int intake_state_parse(const struct intake_form *f, const char *json, size_t len,
                       struct arena *a, struct intake_state *out, struct err *e)
{
    json_t *o = NULL;
    memset(out, 0, sizeof *out);
    int rc = jx_parse_object(json, len, &o, e);
    if (rc)
        return rc;
    out->nquestions = f->n;
    out->answers = arena_alloc(a, (f->n + 1) * sizeof *out->answers);
    if (out->answers == NULL)
        rc = err_set(e, ERR_TOOBIG, "out of request memory reading an intake state");
    else
        rc = parse_state(f, o, a, out, e);
    json_decref(o);
    return rc;
}
