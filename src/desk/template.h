/*
 * template.h — canned responses and the bot's own texts: {{...}} templates.
 *
 * A template is text with placeholders:
 *
 *     Hi {{ customer.first_name | default: "there" | capitalize }}, about #{{ticket.id}}:
 *
 * A placeholder holds a variable (namespace.name, from the catalogue below)
 * or a quoted text ({{ "{{" }} writes a literal "{{"), then any number of
 * filters: default: "text" (used when the value is missing or empty),
 * upcase, downcase, capitalize. Whitespace inside {{ }} is free.
 *
 *   customer.first_name  .last_name  .name  .username  .language  .tier
 *   ticket.id  .subject  .priority  .status  .group
 *   agent.name  .username
 *   intake.<field>       an answer of the intake form (a ticket custom field)
 *
 * Templates are compiled once, when a configuration is loaded: a syntax
 * error, an unknown namespace, variable, intake field or filter is a
 * config error (ERR_CONFIG) at the file:line:column inside the text, found
 * through the positions cfg recorded. Rendering is then a walk over the
 * compiled pieces with no parsing.
 *
 * Rendering is strict: a variable with no value (NULL or "") and no
 * default makes the render fail and lists every such variable, so the
 * agent is told what is missing instead of a customer receiving "Hi ,".
 * Texts the bot sends on its own (intake) are compiled with `sure`, which
 * moves that check to load time: every variable that may be empty must
 * carry a default there.
 *
 * Escaping: what a placeholder produces (values, defaults, quoted texts) is
 * escaped for the parse mode; the template's own literal text is trusted
 * and sent as written. tgcrm sends messages today without a parse_mode
 * (src/engine/outbox.c), so the engine renders with TEMPLATE_PLAIN; HTML
 * and MarkdownV2 are here for the day a template is sent with one.
 *
 * Pure: no I/O, no clock. Compiled templates are immutable and may be
 * shared between threads.
 */
#ifndef TGCRM_DESK_TEMPLATE_H
#define TGCRM_DESK_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"
#include "desk/ticket.h"

enum template_mode {
    TEMPLATE_PLAIN = 0,         /* no parse_mode: values as they are */
    TEMPLATE_HTML,              /* parse_mode HTML: & < > " become entities */
    TEMPLATE_MARKDOWN_V2,       /* parse_mode MarkdownV2: \ before _*[]()~`>#+-=|{}.!\ */
};

/* Namespaces, as bits of template_scope.ns. */
enum {
    TEMPLATE_NS_CUSTOMER = 1,
    TEMPLATE_NS_TICKET = 2,
    TEMPLATE_NS_AGENT = 4,
    TEMPLATE_NS_INTAKE = 8,
    TEMPLATE_NS_ALL = 15,
};

/* What a text may refer to, for compiling it. */
struct template_scope {
    unsigned ns;                /* TEMPLATE_NS_* bits allowed */
    const struct cfg_intake_question *questions;    /* the intake form; borrowed */
    size_t nquestions;
    size_t nanswered;           /* intake.<field> may name questions[0..nanswered) only */
    bool sure;                  /* every variable must have a value or a default */
};

/* The values a template is rendered with; all borrowed; NULL (ticket_id 0)
 * means no value. */
struct template_vars {
    const char *customer_first_name;
    const char *customer_last_name;
    const char *customer_username;
    const char *customer_language;
    const char *customer_tier;
    int64_t ticket_id;
    const char *ticket_subject;
    const char *ticket_priority;
    const char *ticket_status;
    const char *ticket_group;
    const char *agent_name;
    const char *agent_username;
    const struct kv *intake;    /* intake answers, e.g. a ticket's custom fields */
    size_t nintake;
};

/* The result of a render; arena memory. */
struct template_out {
    const char *text;           /* the message; NULL when something is missing */
    const char **missing;       /* variables without value or default, first use first */
    size_t nmissing;
};

struct template;                /* a compiled template */
struct template_set;            /* the configuration's templates, by name */

/*
 * Fill v from records the engine already has; any of them may be NULL.
 * The ticket's custom fields become the intake.* values.
 */
void template_vars_from(struct template_vars *v, const struct customer *cu,
                        const struct ticket *t, const struct cfg_agent *agent);

/*
 * Compile `text`. `what` names it in messages ("template 'greeting'");
 * `file` and `at` (a position per byte of text, as struct cfg_template
 * describes; NULL for built-in texts) place errors. On success *out is a
 * new template the caller frees with template_free; on failure ERR_CONFIG,
 * "file:line:column: what: message" in e, and *out is NULL.
 */
int template_compile(const char *file, const char *what, const char *text,
                     const struct cfg_pos *at, const struct template_scope *scope,
                     struct template **out, struct err *e);

/* Free a template and set *tp to NULL; NULL is fine. */
void template_free(struct template **tp);

/*
 * Render t with v, escaping substituted values for mode. 0 with out->text
 * set; ERR_UNPROCESSABLE with out->missing listing every variable that has
 * no value and no default (and a message saying so in e); ERR_TOOBIG when
 * the arena is exhausted.
 */
int template_render(const struct template *t, const struct template_vars *v,
                    enum template_mode mode, struct arena *a, struct template_out *out,
                    struct err *e);

/* Escape s for mode into the arena (NULL when the arena is exhausted). */
char *template_escape(struct arena *a, const char *s, enum template_mode mode);

/* The name given at compile time (the `what`) and the source text. */
const char *template_what(const struct template *t);
const char *template_source(const struct template *t);

/*
 * Compile every template of c (section templates; they may use every
 * namespace, and intake.<field> for the fields of c's intake form). This is
 * part of loading a configuration: ERR_CONFIG with file:line:column.
 */
int template_set_new(const struct cfg *c, struct template_set **out, struct err *e);
void template_set_free(struct template_set **sp);

/* The template called name, or NULL; borrowed from s. */
const struct template *template_set_find(const struct template_set *s, const char *name);

/* Templates in configuration order: count, and the name and template at i. */
size_t template_set_count(const struct template_set *s);
const char *template_set_name(const struct template_set *s, size_t i);
const struct template *template_set_at(const struct template_set *s, size_t i);

#endif
