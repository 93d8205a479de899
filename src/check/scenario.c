/*
 * scenario.c — load and check a suite file (see scenario.h, docs/scenarios.md).
 *
 * Each step kind is described by a table of its arguments (key, type,
 * required), so checking a step is one loop over its table, and adding a
 * step kind is one table and one line in `kinds`. Variables are checked
 * in the order steps run: a {{name}} must be a suite variable, a builtin,
 * a loop variable of an enclosing block or a capture of an earlier step;
 * {{text(N)}} (N characters of seeded text, for long messages) is the one
 * builtin function.
 */
#include "check/scenario.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/mem.h"

/* --- argument tables ------------------------------------------------------------ */

enum arg_type {
    A_TEXT,         /* a scalar; may hold {{variables}} */
    A_NAME,         /* a scalar from the arg's `one_of` list */
    A_DUR,          /* a duration */
    A_INT,          /* a whole number >= 0 */
    A_BOOL,
    A_MAP,          /* a mapping of anything (checked for variables) */
    A_LIST,         /* a list of anything (checked for variables) */
    A_CUSTOMER,     /* the name of a customer of the suite */
    A_AGENT,        /* an agent id of the configuration */
    A_STEPS         /* a list of steps */
};

struct arg {
    const char *key;
    enum arg_type type;
    bool required;
    const char *const *one_of;      /* A_NAME */
};

/* How a step's value is written: a mapping of args, or a lone scalar/list. */
enum form {
    F_MAP,          /* send: {from: ann, text: hi} */
    F_DUR,          /* advance: 2m */
    F_WAIT,         /* wait: idle | wait: 5s */
    F_TEXT,         /* clear_fault: telegram */
    F_STEPS         /* unordered: [steps] */
};

static const char *const v_method[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
static const char *const v_avail[] = { "online", "away", "offline", NULL };
static const char *const v_target[] = { "telegram", "helpdesk", "webhook", NULL };
static const char *const v_fault[] = {
    "partition", "status", "rate_limit", "delay", "malformed", "drop", "down",
    "delete_topic", NULL
};
static const char *const v_by[] = { "assignee", "group", NULL };
static const char *const v_metric[] = { "first_response", "resolution", NULL };

static const struct arg a_send[] = {
    { "from", A_CUSTOMER, true, NULL }, { "text", A_TEXT, true, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_press[] = {
    { "from", A_CUSTOMER, true, NULL }, { "button", A_TEXT, true, NULL },
    { NULL, 0, 0, NULL } };
static const struct arg a_edit[] = {
    { "from", A_CUSTOMER, true, NULL }, { "message", A_TEXT, true, NULL },
    { "text", A_TEXT, true, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_reply[] = {
    { "agent", A_AGENT, true, NULL }, { "ticket", A_TEXT, false, NULL },
    { "customer", A_CUSTOMER, false, NULL }, { "text", A_TEXT, true, NULL },
    { NULL, 0, 0, NULL } };
static const struct arg a_api[] = {
    { "method", A_NAME, true, v_method }, { "path", A_TEXT, true, NULL },
    { "body", A_MAP, false, NULL }, { "status", A_INT, false, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_avail[] = {
    { "agent", A_AGENT, true, NULL }, { "status", A_NAME, true, v_avail },
    { NULL, 0, 0, NULL } };
static const struct arg a_fault[] = {
    { "target", A_NAME, true, v_target }, { "kind", A_NAME, true, v_fault },
    { "endpoint", A_TEXT, false, NULL }, { "status", A_INT, false, NULL },
    { "retry_after", A_DUR, false, NULL }, { "delay", A_DUR, false, NULL },
    { "times", A_INT, false, NULL }, { "for", A_DUR, false, NULL },
    { "ticket", A_TEXT, false, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_repeat[] = {
    { "times", A_INT, true, NULL }, { "as", A_TEXT, false, NULL },
    { "steps", A_STEPS, true, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_for_each[] = {
    { "rows", A_LIST, true, NULL }, { "as", A_TEXT, true, NULL },
    { "steps", A_STEPS, true, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_ticket[] = {
    { "ticket", A_TEXT, false, NULL }, { "customer", A_CUSTOMER, false, NULL },
    { "fields", A_MAP, true, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_thread[] = {
    { "ticket", A_TEXT, false, NULL }, { "customer", A_CUSTOMER, false, NULL },
    { "entries", A_LIST, false, NULL }, { "count", A_INT, false, NULL },
    { "complete", A_BOOL, false, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_telegram[] = {
    { "chat", A_CUSTOMER, false, NULL }, { "topic", A_TEXT, false, NULL },
    { "text", A_TEXT, false, NULL }, { "contains", A_TEXT, false, NULL },
    { "count", A_INT, false, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_webhook[] = {
    { "type", A_TEXT, true, NULL }, { "endpoint", A_TEXT, false, NULL },
    { "where", A_MAP, false, NULL }, { "count", A_INT, false, NULL },
    { "schema", A_BOOL, false, NULL }, { "signature", A_BOOL, false, NULL },
    { "truncated", A_BOOL, false, NULL }, { "ordered", A_BOOL, false, NULL },
    { NULL, 0, 0, NULL } };
static const struct arg a_no_webhook[] = {
    { "type", A_TEXT, true, NULL }, { "endpoint", A_TEXT, false, NULL },
    { "where", A_MAP, false, NULL }, { "during", A_DUR, false, NULL },
    { NULL, 0, 0, NULL } };
static const struct arg a_distribution[] = {
    { "by", A_NAME, true, v_by }, { "max_share", A_INT, true, NULL },
    { "group", A_TEXT, false, NULL }, { NULL, 0, 0, NULL } };
static const struct arg a_duration[] = {
    { "ticket", A_TEXT, false, NULL }, { "customer", A_CUSTOMER, false, NULL },
    { "metric", A_NAME, true, v_metric }, { "equals", A_DUR, true, NULL },
    { "tolerance", A_DUR, false, NULL }, { NULL, 0, 0, NULL } };

static const struct {
    const char *name;
    enum form form;
    const struct arg *args;         /* F_MAP */
} kinds[STEP_KIND_COUNT] = {
    [STEP_SEND] = { "send", F_MAP, a_send },
    [STEP_PRESS] = { "press", F_MAP, a_press },
    [STEP_EDIT] = { "edit", F_MAP, a_edit },
    [STEP_REPLY] = { "reply", F_MAP, a_reply },
    [STEP_COMMAND] = { "command", F_MAP, a_reply },
    [STEP_API] = { "api", F_MAP, a_api },
    [STEP_ADVANCE] = { "advance", F_DUR, NULL },
    [STEP_WAIT] = { "wait", F_WAIT, NULL },
    [STEP_AVAILABILITY] = { "availability", F_MAP, a_avail },
    [STEP_FAULT] = { "fault", F_MAP, a_fault },
    [STEP_CLEAR_FAULT] = { "clear_fault", F_TEXT, NULL },
    [STEP_REPEAT] = { "repeat", F_MAP, a_repeat },
    [STEP_FOR_EACH] = { "for_each", F_MAP, a_for_each },
    [STEP_UNORDERED] = { "unordered", F_STEPS, NULL },
    [STEP_EXPECT_TICKET] = { "expect_ticket", F_MAP, a_ticket },
    [STEP_EXPECT_THREAD] = { "expect_thread", F_MAP, a_thread },
    [STEP_EXPECT_TELEGRAM] = { "expect_telegram", F_MAP, a_telegram },
    [STEP_EXPECT_WEBHOOK] = { "expect_webhook", F_MAP, a_webhook },
    [STEP_EXPECT_NO_WEBHOOK] = { "expect_no_webhook", F_MAP, a_no_webhook },
    [STEP_EXPECT_DISTRIBUTION] = { "expect_distribution", F_MAP, a_distribution },
    [STEP_EXPECT_DURATION] = { "expect_duration", F_MAP, a_duration },
};

/* Names usable in {{...}} without being declared. */
static const char *const builtins[] = { "seed", "scenario", "suite", "run", NULL };

/* {{text(N)}}: N characters of text made from the seed, for long messages. */
#define TEXT_FN "text"
#define TEXT_MAX 1000000

const char *scenario_step_name(enum step_kind k)
{
    return (unsigned)k < STEP_KIND_COUNT ? kinds[k].name : "?";
}

bool scenario_step_is_expectation(enum step_kind k)
{
    return k >= STEP_EXPECT_TICKET && k < STEP_KIND_COUNT;
}

/* --- loader state ------------------------------------------------------------------- */

#define MAX_VARS 256

struct ld {
    struct scenario_suite *s;
    const struct yml_doc *d;
    struct err *e;
    const char *const *agents;      /* NULL: not checked */
    const char *vars[MAX_VARS];     /* names in scope, in order of definition */
    size_t nvars;
};

static int bind(struct ld *l, const char *name, struct yml_pos p)
{
    if (l->nvars == MAX_VARS)
        return yml_fail(l->d, p, l->e, "more than %d variables in one scenario", MAX_VARS);
    l->vars[l->nvars++] = name;
    return 0;
}

static bool bound(const struct ld *l, const char *name, size_t len)
{
    for (size_t i = 0; i < l->nvars; i++)
        if (strlen(l->vars[i]) == len && memcmp(l->vars[i], name, len) == 0)
            return true;
    for (size_t i = 0; builtins[i] != NULL; i++)
        if (strlen(builtins[i]) == len && memcmp(builtins[i], name, len) == 0)
            return true;
    return false;
}

static bool ident(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/*
 * The argument of {{text(ARG)}} (b..e, the text between the parentheses):
 * a length from 1 to TEXT_MAX, or a variable in scope holding one.
 */
static int check_text_arg(struct ld *l, const struct yml_node *n, const char *b, const char *e)
{
    while (b < e && *b == ' ')
        b++;
    while (e > b && e[-1] == ' ')
        e--;
    size_t len = (size_t)(e - b);
    if (len > 0 && strspn(b, "0123456789") >= len) {
        long v = len <= 7 ? strtol(b, NULL, 10) : TEXT_MAX + 1L;
        if (v >= 1 && v <= TEXT_MAX)
            return 0;
        return yml_fail(l->d, n->pos, l->e, "text(%.*s): the length must be from 1 to %d",
                        (int)len, b, TEXT_MAX);
    }
    size_t head = strcspn(b, ".");
    if (head > len)
        head = len;
    if (!ident(b, head))
        return yml_fail(l->d, n->pos, l->e, "text(%.*s): the argument is a length or a "
                        "variable, such as text(2000) or text(row.len)", (int)len, b);
    if (!bound(l, b, head))
        return yml_fail(l->d, n->pos, l->e, "unknown variable '%.*s' (declare it in "
                        "'vars', capture it in an earlier step, or use a loop's 'as')",
                        (int)head, b);
    return 0;
}

/* Every {{ name[.path] }} in a scalar must name a variable in scope; the
 * one builtin function, {{text(N)}}, a valid length. */
static int check_text(struct ld *l, const struct yml_node *n)
{
    const char *s = n->str;
    while ((s = strstr(s, "{{")) != NULL) {
        const char *end = strstr(s + 2, "}}");
        if (end == NULL)
            return yml_fail(l->d, n->pos, l->e, "'{{' without a closing '}}' in '%s'", n->str);
        const char *b = s + 2, *e = end;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        size_t head = strcspn(b, ".}(");
        if (head > (size_t)(e - b))
            head = (size_t)(e - b);
        if (head == strlen(TEXT_FN) && memcmp(b, TEXT_FN, head) == 0 && b[head] == '(' &&
            e[-1] == ')') {
            int rc = check_text_arg(l, n, b + head + 1, e - 1);
            if (rc != 0)
                return rc;
            s = end + 2;
            continue;
        }
        if (!ident(b, head))
            return yml_fail(l->d, n->pos, l->e, "'{{%.*s}}' is not a variable name",
                            (int)(end - s - 2), s + 2);
        if (!bound(l, b, head))
            return yml_fail(l->d, n->pos, l->e, "unknown variable '%.*s' (declare it in "
                            "'vars', capture it in an earlier step, or use a loop's 'as')",
                            (int)head, b);
        s = end + 2;
    }
    return 0;
}

/* Check variables in every scalar below n. */
static int check_tree(struct ld *l, const struct yml_node *n)
{
    if (n == NULL)
        return 0;
    if (n->kind == YML_SCALAR)
        return check_text(l, n);
    for (size_t i = 0; i < n->n; i++) {
        int rc = check_tree(l, n->items[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static const struct scenario_customer *customer(const struct ld *l, const char *name)
{
    for (size_t i = 0; i < l->s->ncustomers; i++)
        if (strcmp(l->s->customers[i].name, name) == 0)
            return &l->s->customers[i];
    return NULL;
}

static int parse_steps(struct ld *l, const struct yml_node *list, const char *what,
                       struct step **out, size_t *n);

/* One argument of a step against its table row. */
static int check_arg(struct ld *l, const struct arg *a, const struct yml_node *v,
                     struct step *st)
{
    char what[96];
    snprintf(what, sizeof what, "'%s' of %s", a->key, kinds[st->kind].name);
    int64_t i64;
    bool b;
    const char *str;
    int rc;
    switch (a->type) {
    case A_TEXT:
        if ((rc = yml_str(l->d, v, what, &str, l->e)) != 0)
            return rc;
        return check_text(l, v);
    case A_NAME:
        if ((rc = yml_str(l->d, v, what, &str, l->e)) != 0)
            return rc;
        for (size_t i = 0; a->one_of[i] != NULL; i++)
            if (strcmp(a->one_of[i], str) == 0)
                return 0;
        {
            const char *hint = yml_suggest(a->one_of, str);
            char list[256] = "";
            size_t len = 0;
            for (size_t i = 0; a->one_of[i] != NULL && len < sizeof list; i++) {
                int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                 a->one_of[i]);
                if (w < 0)
                    break;
                len += (size_t)w;
            }
            if (hint != NULL)
                return yml_fail(l->d, v->pos, l->e, "%s: unknown value '%s' (did you mean "
                                "'%s'?)", what, str, hint);
            return yml_fail(l->d, v->pos, l->e, "%s: unknown value '%s' (expected one of: %s)",
                            what, str, list);
        }
    case A_DUR:
        return yml_duration(l->d, v, what, &i64, l->e);
    case A_INT:
        if ((rc = yml_int(l->d, v, what, 0, INT32_MAX, &i64, l->e)) != 0)
            return rc;
        if (st->kind == STEP_REPEAT && strcmp(a->key, "times") == 0)
            st->times = i64;
        return 0;
    case A_BOOL:
        return yml_bool(l->d, v, what, &b, l->e);
    case A_MAP:
        if ((rc = yml_expect(l->d, v, YML_MAP, what, l->e)) != 0)
            return rc;
        return check_tree(l, v);
    case A_LIST:
        if ((rc = yml_expect(l->d, v, YML_SEQ, what, l->e)) != 0)
            return rc;
        return check_tree(l, v);
    case A_CUSTOMER:
        if ((rc = yml_str(l->d, v, what, &str, l->e)) != 0)
            return rc;
        if (customer(l, str) == NULL)
            return yml_fail(l->d, v->pos, l->e, "%s: no customer '%s' in the suite's "
                            "'customers'", what, str);
        return 0;
    case A_AGENT:
        if ((rc = yml_str(l->d, v, what, &str, l->e)) != 0)
            return rc;
        if (l->agents != NULL) {
            for (size_t i = 0; l->agents[i] != NULL; i++)
                if (strcmp(l->agents[i], str) == 0)
                    return 0;
            const char *hint = yml_suggest(l->agents, str);
            return yml_fail(l->d, v->pos, l->e, "%s: no agent '%s' in the configuration%s%s%s",
                            what, str, hint ? " (did you mean '" : "", hint ? hint : "",
                            hint ? "'?)" : "");
        }
        return 0;
    case A_STEPS:
        return parse_steps(l, v, what, &st->steps, &st->nsteps);
    }
    return 0;
}

/* The value of a F_MAP step: allowed keys, required ones, each typed. */
static int check_args(struct ld *l, struct step *st)
{
    const struct arg *args = kinds[st->kind].args;
    const char *allowed[24];
    size_t na = 0;
    for (; args[na].key != NULL; na++)
        allowed[na] = args[na].key;
    allowed[na] = NULL;
    char where[64];
    snprintf(where, sizeof where, "a '%s' step", kinds[st->kind].name);
    int rc = yml_expect(l->d, st->args, YML_MAP, kinds[st->kind].name, l->e);
    if (rc == 0)
        rc = yml_check_keys(l->d, st->args, allowed, where, l->e);
    if (rc != 0)
        return rc;
    /* a loop variable is in scope inside its block only */
    size_t outer = l->nvars;
    const struct yml_node *as = yml_get(st->args, "as");
    for (size_t i = 0; args[i].key != NULL; i++) {
        const struct yml_node *v = yml_get(st->args, args[i].key);
        if (v == NULL) {
            if (args[i].required)
                return yml_fail(l->d, st->pos, l->e, "a '%s' step needs '%s'",
                                kinds[st->kind].name, args[i].key);
            continue;
        }
        if (args[i].type == A_STEPS && as != NULL) {
            if (as->kind != YML_SCALAR || !ident(as->str, as->len))
                return yml_fail(l->d, as->pos, l->e, "'as' must be a variable name");
            if ((rc = bind(l, as->str, as->pos)) != 0)
                return rc;
        }
        if (strcmp(args[i].key, "as") == 0)
            continue;                       /* a name being declared, not used */
        if ((rc = check_arg(l, &args[i], v, st)) != 0)
            return rc;
    }
    l->nvars = outer;
    /* steps that act on a ticket say which: by reference or by customer */
    if (yml_get(st->args, "ticket") != NULL && yml_get(st->args, "customer") != NULL)
        return yml_fail(l->d, st->pos, l->e, "a '%s' step names either 'ticket' or "
                        "'customer', not both", kinds[st->kind].name);
    if (st->kind == STEP_EXPECT_TELEGRAM && (yml_get(st->args, "chat") == NULL) ==
                                                (yml_get(st->args, "topic") == NULL))
        return yml_fail(l->d, st->pos, l->e, "an 'expect_telegram' step names exactly one of "
                        "'chat' (a customer) or 'topic' (a ticket)");
    if (st->kind == STEP_REPEAT && st->times < 1)
        return yml_fail(l->d, yml_get(st->args, "times")->pos, l->e,
                        "'times' of repeat must be at least 1");
    if (st->kind == STEP_EXPECT_DISTRIBUTION) {
        const struct yml_node *m = yml_get(st->args, "max_share");
        int64_t pct = 0;
        (void)yml_int(l->d, m, "max_share", 0, INT32_MAX, &pct, NULL);
        if (pct < 1 || pct > 100)
            return yml_fail(l->d, m->pos, l->e, "'max_share' is a percentage from 1 to 100");
    }
    return 0;
}

static const char *const k_step_common[] = { "name", "capture", "eventually", NULL };
static const char *const k_eventually[] = { "within", "every", NULL };

static int parse_step(struct ld *l, const struct yml_node *m, struct step *st)
{
    int rc = yml_expect(l->d, m, YML_MAP, "a step", l->e);
    if (rc != 0)
        return rc;
    /* exactly one key names the step; the others are the common ones */
    const struct yml_node *keynode = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->str;
        bool common = false;
        for (size_t j = 0; k_step_common[j] != NULL; j++)
            common = common || strcmp(k, k_step_common[j]) == 0;
        if (common)
            continue;
        if (keynode != NULL)
            return yml_fail(l->d, m->keys[i]->pos, l->e, "a step does one thing: '%s' and "
                            "'%s' are both step kinds (use two steps)", keynode->str, k);
        keynode = m->keys[i];
        st->args = m->items[i];
    }
    if (keynode == NULL)
        return yml_fail(l->d, m->pos, l->e, "a step needs one of: send, press, edit, reply, "
                        "command, api, advance, wait, availability, fault, clear_fault, "
                        "repeat, for_each, unordered, expect_ticket, expect_thread, "
                        "expect_telegram, expect_webhook, expect_no_webhook, "
                        "expect_distribution, expect_duration");
    st->pos = keynode->pos;
    int kind = -1;
    const char *names[STEP_KIND_COUNT + 1];
    for (int k = 0; k < STEP_KIND_COUNT; k++) {
        names[k] = kinds[k].name;
        if (strcmp(kinds[k].name, keynode->str) == 0)
            kind = k;
    }
    names[STEP_KIND_COUNT] = NULL;
    if (kind < 0) {
        const char *hint = yml_suggest(names, keynode->str);
        return yml_fail(l->d, keynode->pos, l->e, "unknown step '%s'%s%s%s", keynode->str,
                        hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
    st->kind = (enum step_kind)kind;

    const struct yml_node *name = yml_get(m, "name");
    if (name != NULL && (rc = yml_str(l->d, name, "a step's 'name'", &st->name, l->e)) != 0)
        return rc;
    const struct yml_node *ev = yml_get(m, "eventually");
    if (ev != NULL) {
        if (!scenario_step_is_expectation(st->kind))
            return yml_fail(l->d, yml_key_pos(m, "eventually"), l->e, "'eventually' belongs "
                            "to expect_* steps; '%s' is an action", keynode->str);
        if (st->kind == STEP_EXPECT_NO_WEBHOOK)
            return yml_fail(l->d, yml_key_pos(m, "eventually"), l->e, "expect_no_webhook "
                            "watches for its 'during' (default: the rest of the scenario), "
                            "not 'eventually'");
        if ((rc = yml_expect(l->d, ev, YML_MAP, "'eventually'", l->e)) != 0 ||
            (rc = yml_check_keys(l->d, ev, k_eventually, "'eventually'", l->e)) != 0)
            return rc;
        const struct yml_node *w = yml_get(ev, "within"), *every = yml_get(ev, "every");
        if (w == NULL)
            return yml_fail(l->d, ev->pos, l->e, "'eventually' needs 'within' (a deadline "
                            "on the scenario clock)");
        if ((rc = yml_duration(l->d, w, "'within'", &st->within_ms, l->e)) != 0)
            return rc;
        if (every != NULL &&
            (rc = yml_duration(l->d, every, "'every'", &st->every_ms, l->e)) != 0)
            return rc;
        if (every != NULL && st->every_ms == 0)
            return yml_fail(l->d, every->pos, l->e, "'every' must be longer than 0");
    }

    int64_t ms;
    switch (kinds[st->kind].form) {
    case F_MAP:
        rc = check_args(l, st);
        break;
    case F_DUR:
        rc = yml_duration(l->d, st->args, keynode->str, &ms, l->e);
        if (rc == 0 && ms == 0)
            rc = yml_fail(l->d, st->args->pos, l->e, "'%s' must be longer than 0",
                          keynode->str);
        break;
    case F_WAIT:
        if (st->args != NULL && st->args->kind == YML_SCALAR && strcmp(st->args->str, "idle") == 0)
            rc = 0;
        else
            rc = yml_duration(l->d, st->args, "'wait' (idle or a duration)", &ms, l->e);
        break;
    case F_TEXT: {
        const char *t;
        rc = yml_str(l->d, st->args, keynode->str, &t, l->e);
        if (rc == 0 && strcmp(t, "all") != 0) {
            bool ok = false;
            for (size_t i = 0; v_target[i] != NULL; i++)
                ok = ok || strcmp(v_target[i], t) == 0;
            if (!ok)
                rc = yml_fail(l->d, st->args->pos, l->e, "clear_fault: unknown target '%s' "
                              "(expected telegram, helpdesk, webhook or all)", t);
        }
        break;
    }
    case F_STEPS:
        rc = parse_steps(l, st->args, keynode->str, &st->steps, &st->nsteps);
        break;
    }
    if (rc != 0)
        return rc;

    /* captures come into scope after the step */
    const struct yml_node *cap = yml_get(m, "capture");
    if (cap != NULL) {
        if (st->kind == STEP_EXPECT_NO_WEBHOOK || kinds[st->kind].form != F_MAP ||
            st->kind == STEP_REPEAT || st->kind == STEP_FOR_EACH)
            return yml_fail(l->d, yml_key_pos(m, "capture"), l->e, "a '%s' step has nothing "
                            "to capture", keynode->str);
        if ((rc = yml_expect(l->d, cap, YML_MAP, "'capture'", l->e)) != 0)
            return rc;
        for (size_t i = 0; i < cap->n; i++) {
            const char *var = cap->keys[i]->str;
            const char *path;
            if (!ident(var, strlen(var)))
                return yml_fail(l->d, cap->keys[i]->pos, l->e, "'%s' is not a variable name",
                                var);
            if ((rc = yml_str(l->d, cap->items[i], "a capture's JSON path", &path, l->e)) != 0)
                return rc;
            if (path[0] != '$')
                return yml_fail(l->d, cap->items[i]->pos, l->e, "a capture is a JSON path "
                                "starting with '$' (such as $.id), not '%s'", path);
            if ((rc = bind(l, var, cap->keys[i]->pos)) != 0)
                return rc;
        }
        st->capture = cap;
    }
    return 0;
}

static int parse_steps(struct ld *l, const struct yml_node *list, const char *what,
                       struct step **out, size_t *n)
{
    char w[96];
    snprintf(w, sizeof w, "%s", what);
    int rc = yml_expect(l->d, list, YML_SEQ, w, l->e);
    if (rc != 0)
        return rc;
    if (list->n == 0)
        return yml_fail(l->d, list->pos, l->e, "%s has no steps", what);
    struct step *steps = arena_alloc(l->s->a, list->n * sizeof *steps);
    if (steps == NULL)
        return err_set(l->e, ERR_TOOBIG, "%s: too many steps", l->d->name);
    for (size_t i = 0; i < list->n; i++)
        if ((rc = parse_step(l, list->items[i], &steps[i])) != 0)
            return rc;
    *out = steps;
    *n = list->n;
    return 0;
}

/* --- the suite ----------------------------------------------------------------------- */

static const char *const k_suite[] = {
    "suite", "description", "config", "checklist", "customers", "vars", "scenarios", NULL
};
static const char *const k_scenario[] = {
    "name", "expect", "tags", "checklist", "steps", NULL
};
static const char *const k_customer[] = {
    "telegram_user_id", "first_name", "last_name", "username", "language", NULL
};

/* A list of names into an arena array. */
static int names(struct ld *l, const struct yml_node *v, const char *what, const char ***out,
                 size_t *n)
{
    *out = NULL;
    *n = 0;
    if (v == NULL)
        return 0;
    int rc = yml_expect(l->d, v, YML_SEQ, what, l->e);
    if (rc != 0)
        return rc;
    const char **a = arena_alloc(l->s->a, (v->n ? v->n : 1) * sizeof *a);
    if (a == NULL)
        return err_set(l->e, ERR_TOOBIG, "%s: too many names", l->d->name);
    for (size_t i = 0; i < v->n; i++)
        if ((rc = yml_str(l->d, v->items[i], what, &a[i], l->e)) != 0)
            return rc;
    *out = a;
    *n = v->n;
    return 0;
}

static int parse_customers(struct ld *l, const struct yml_node *v)
{
    if (v == NULL)
        return 0;
    int rc = yml_expect(l->d, v, YML_MAP, "'customers'", l->e);
    if (rc != 0)
        return rc;
    struct scenario_suite *s = l->s;
    s->customers = arena_alloc(s->a, (v->n ? v->n : 1) * sizeof *s->customers);
    if (s->customers == NULL)
        return err_set(l->e, ERR_TOOBIG, "%s: too many customers", l->d->name);
    for (size_t i = 0; i < v->n; i++) {
        struct scenario_customer *c = &s->customers[i];
        const struct yml_node *m = v->items[i];
        c->name = v->keys[i]->str;
        c->pos = v->keys[i]->pos;
        if (!ident(c->name, strlen(c->name)))
            return yml_fail(l->d, c->pos, l->e, "customer name '%s' must be a plain name "
                            "(letters, digits, _)", c->name);
        if ((rc = yml_expect(l->d, m, YML_MAP, "a customer", l->e)) != 0 ||
            (rc = yml_check_keys(l->d, m, k_customer, "a customer", l->e)) != 0)
            return rc;
        const struct yml_node *id = yml_get(m, "telegram_user_id");
        if (id == NULL)
            return yml_fail(l->d, c->pos, l->e, "customer '%s' needs 'telegram_user_id'",
                            c->name);
        if ((rc = yml_int(l->d, id, "'telegram_user_id'", 1, INT64_MAX, &c->tg_user_id,
                          l->e)) != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (s->customers[j].tg_user_id == c->tg_user_id)
                return yml_fail(l->d, id->pos, l->e, "customers '%s' and '%s' have the same "
                                "telegram_user_id", s->customers[j].name, c->name);
        c->first_name = c->name;
        const struct yml_node *f;
        if ((f = yml_get(m, "first_name")) != NULL &&
            (rc = yml_str(l->d, f, "'first_name'", &c->first_name, l->e)) != 0)
            return rc;
        if ((f = yml_get(m, "last_name")) != NULL &&
            (rc = yml_str(l->d, f, "'last_name'", &c->last_name, l->e)) != 0)
            return rc;
        if ((f = yml_get(m, "username")) != NULL &&
            (rc = yml_str(l->d, f, "'username'", &c->username, l->e)) != 0)
            return rc;
        if ((f = yml_get(m, "language")) != NULL &&
            (rc = yml_str(l->d, f, "'language'", &c->language, l->e)) != 0)
            return rc;
        s->ncustomers++;
    }
    return 0;
}

static int parse_scenario(struct ld *l, const struct yml_node *m, struct scenario *sc)
{
    int rc = yml_expect(l->d, m, YML_MAP, "a scenario", l->e);
    if (rc == 0)
        rc = yml_check_keys(l->d, m, k_scenario, "a scenario", l->e);
    if (rc != 0)
        return rc;
    sc->pos = m->pos;
    const struct yml_node *v = yml_get(m, "name");
    if (v == NULL)
        return yml_fail(l->d, m->pos, l->e, "a scenario needs a 'name'");
    if ((rc = yml_str(l->d, v, "a scenario's 'name'", &sc->name, l->e)) != 0)
        return rc;
    v = yml_get(m, "expect");
    if (v == NULL)
        return yml_fail(l->d, m->pos, l->e, "scenario '%s' needs 'expect': the expected "
                        "result, written before it runs", sc->name);
    if ((rc = yml_str(l->d, v, "'expect'", &sc->expect, l->e)) != 0)
        return rc;
    if ((rc = names(l, yml_get(m, "tags"), "'tags'", &sc->tags, &sc->ntags)) != 0 ||
        (rc = names(l, yml_get(m, "checklist"), "'checklist'", &sc->checklist,
                    &sc->nchecklist)) != 0)
        return rc;
    v = yml_get(m, "steps");
    if (v == NULL)
        return yml_fail(l->d, m->pos, l->e, "scenario '%s' has no 'steps'", sc->name);
    size_t outer = l->nvars;            /* captures do not leak between scenarios */
    rc = parse_steps(l, v, "'steps'", &sc->steps, &sc->nsteps);
    l->nvars = outer;
    return rc;
}

static int parse_suite(struct ld *l)
{
    const struct yml_doc *d = l->d;
    struct scenario_suite *s = l->s;
    const struct yml_node *root = d->root;
    int rc = yml_expect(d, root, YML_MAP, "a suite file", l->e);
    if (rc == 0)
        rc = yml_check_keys(d, root, k_suite, "the suite", l->e);
    if (rc != 0)
        return rc;
    const struct yml_node *v = yml_get(root, "suite");
    if (v == NULL)
        return yml_fail(d, root->pos, l->e, "a suite file needs 'suite': its name");
    if ((rc = yml_str(d, v, "'suite'", &s->name, l->e)) != 0)
        return rc;
    if ((v = yml_get(root, "description")) != NULL &&
        (rc = yml_str(d, v, "'description'", &s->description, l->e)) != 0)
        return rc;
    v = yml_get(root, "config");
    if (v == NULL)
        return yml_fail(d, root->pos, l->e, "a suite needs 'config': the CRM configuration "
                        "under test, inline or as a path");
    if (v->kind == YML_MAP) {
        s->config_inline = v;
    } else {
        const char *p;
        if ((rc = yml_str(d, v, "'config' (a path or a mapping)", &p, l->e)) != 0)
            return rc;
        if (p[0] == '/') {
            s->config_path = mem_strdup(p);
        } else {                            /* relative to the suite's folder */
            const char *slash = strrchr(d->name, '/');
            size_t dl = slash ? (size_t)(slash - d->name) + 1 : 0;
            size_t pl = strlen(p);
            s->config_path = mem_alloc(dl + pl + 1);
            memcpy(s->config_path, d->name, dl);
            memcpy(s->config_path + dl, p, pl + 1);
        }
    }
    if ((rc = names(l, yml_get(root, "checklist"), "'checklist'", &s->checklist,
                    &s->nchecklist)) != 0 ||
        (rc = parse_customers(l, yml_get(root, "customers"))) != 0)
        return rc;
    v = yml_get(root, "vars");
    if (v != NULL) {
        if ((rc = yml_expect(d, v, YML_MAP, "'vars'", l->e)) != 0)
            return rc;
        for (size_t i = 0; i < v->n; i++) {
            if (!ident(v->keys[i]->str, v->keys[i]->len))
                return yml_fail(d, v->keys[i]->pos, l->e, "'%s' is not a variable name",
                                v->keys[i]->str);
            if (v->items[i]->kind != YML_SCALAR)
                return yml_fail(d, v->items[i]->pos, l->e, "variable '%s' must be a scalar "
                                "value, not %s", v->keys[i]->str, yml_kind_name(v->items[i]));
            if ((rc = bind(l, v->keys[i]->str, v->keys[i]->pos)) != 0)
                return rc;
        }
        s->vars = v;
    }
    v = yml_get(root, "scenarios");
    if (v == NULL)
        return yml_fail(d, root->pos, l->e, "a suite needs 'scenarios'");
    if ((rc = yml_expect(d, v, YML_SEQ, "'scenarios'", l->e)) != 0)
        return rc;
    if (v->n == 0)
        return yml_fail(d, v->pos, l->e, "'scenarios' is empty");
    s->scenarios = arena_alloc(s->a, v->n * sizeof *s->scenarios);
    if (s->scenarios == NULL)
        return err_set(l->e, ERR_TOOBIG, "%s: too many scenarios", d->name);
    for (size_t i = 0; i < v->n; i++) {
        if ((rc = parse_scenario(l, v->items[i], &s->scenarios[i])) != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->scenarios[j].name, s->scenarios[i].name) == 0)
                return yml_fail(d, s->scenarios[i].pos, l->e, "two scenarios are named '%s' "
                                "(first at line %d); reports and baselines need unique names",
                                s->scenarios[i].name, s->scenarios[j].pos.line);
        s->nscenarios++;
    }
    return 0;
}

static int finish(struct yml_doc *d, const char *const *agents, struct scenario_suite **out,
                  struct err *e)
{
    struct scenario_suite *s = mem_alloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->doc = d;
    s->path = d->name;
    s->a = arena_new(0);
    struct ld l = { .s = s, .d = d, .e = e, .agents = agents };
    int rc = parse_suite(&l);
    if (rc != 0) {
        scenario_suite_free(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int scenario_load_string(const char *name, const char *text, size_t len,
                         const char *const *agents, struct scenario_suite **out, struct err *e)
{
    *out = NULL;
    struct yml_doc *d = NULL;
    int rc = yml_load(name, text, len, &d, e);
    return rc != 0 ? rc : finish(d, agents, out, e);
}

int scenario_load(const char *path, const char *const *agents, struct scenario_suite **out,
                  struct err *e)
{
    *out = NULL;
    struct yml_doc *d = NULL;
    int rc = yml_load_file(path, &d, e);
    return rc != 0 ? rc : finish(d, agents, out, e);
}

void scenario_suite_free(struct scenario_suite **sp)
{
    struct scenario_suite *s = *sp;
    if (s == NULL)
        return;
    mem_free(s->config_path);
    arena_free(&s->a);
    yml_free(&s->doc);
    mem_free(s);
    *sp = NULL;
}
