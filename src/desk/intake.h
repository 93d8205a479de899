/*
 * intake.h — the bot's intake form: questions asked in the private chat
 * before a ticket opens.
 *
 * A state machine over plain values. The engine keeps one struct
 * intake_state per customer in the store (as JSON: intake_state_json /
 * intake_state_parse), hands every private message or button press of that
 * customer to intake_step together with `now`, and acts on the reply:
 *
 *   INTAKE_ASK        send reply.text with reply.buttons (the next question)
 *   INTAKE_REASK      the answer was refused: reply.text names the problem
 *                     and asks the same question again
 *   INTAKE_COMPLETE   open the ticket with reply.fields as custom fields and
 *                     reply.summary as its first thread entry (then the
 *                     message that started the form, kept in the state), and
 *                     send intake_confirmation's text
 *   INTAKE_CANCEL     /cancel: send reply.text, drop the state, no ticket
 *   INTAKE_IGNORE     a button of an earlier question or another form:
 *                     nothing changed; answer the button with reply.notice
 *
 * Answers are validated and normalised by type: text (trimmed, not
 * empty), email (syntax; the domain lower-cased), phone (E.164: "+" and 8
 * to 15 digits; spaces, dots, dashes and brackets dropped, "00" read as
 * "+"; a number without a country code is refused), number (sign,
 * digits, one '.' or ',' decimal separator; the configured range) and
 * choice (a button, the label typed in any case, or its number).
 * Optional questions take /skip or the Skip button. /start repeats the
 * current question. Texts are templates (desk/template.h) compiled when
 * the configuration is loaded, rendered as plain text (tgcrm sends
 * without a parse mode).
 *
 * Buttons carry "intake:<field>:<choice index>" or "intake:<field>:skip"
 * (at most 44 bytes: Telegram allows 64), so a press is matched to its
 * question even after the form was edited and reloaded.
 *
 * Pure: no I/O, no clock; the strings of a state live in the caller's
 * arena (or are static), so a state does not depend on the form it was
 * made with.
 */
#ifndef TGCRM_DESK_INTAKE_H
#define TGCRM_DESK_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/err.h"
#include "desk/template.h"
#include "desk/ticket.h"

enum intake_status { INTAKE_ASKING = 0, INTAKE_DONE, INTAKE_CANCELLED };

/* One customer's progress through the form. */
struct intake_state {
    enum intake_status status;
    size_t step;                /* the question being asked; nquestions once done */
    size_t nquestions;          /* length of answers: the form's question count */
    const char **answers;       /* per question: the normalised answer, "" if skipped,
                                 * NULL if not reached; arena */
    const char *opening;        /* the message that started the form, or NULL; arena */
    int64_t opening_message_id; /* its Telegram message_id, or 0 */
    int64_t started_at;         /* ms */
    int64_t updated_at;         /* ms, last accepted answer */
};

enum intake_outcome {
    INTAKE_ASK,
    INTAKE_REASK,
    INTAKE_COMPLETE,
    INTAKE_CANCEL,
    INTAKE_IGNORE,
};

struct intake_button {
    const char *text;           /* the label */
    const char *data;           /* callback_data, at most 64 bytes */
};

/* What to do after a step. Texts made for this reply are in the arena;
 * labels and field names are borrowed from the form: use the reply while
 * both live. */
struct intake_reply {
    enum intake_outcome outcome;
    const char *text;           /* for the customer; NULL for COMPLETE and IGNORE */
    const struct intake_button *buttons;    /* inline keyboard, one button per row */
    size_t nbuttons;
    const char *problem;        /* REASK / IGNORE: a stable code, see intake_step */
    const char *notice;         /* for a button press: answerCallbackQuery text, or NULL */
    const struct kv *fields;    /* COMPLETE: the answers, skipped ones left out */
    size_t nfields;
    const char *summary;        /* COMPLETE: the form for the ticket's thread */
};

/* What the customer sent: a message (text, NULL when it has none, e.g. a
 * photo) or a button press (callback_data). */
struct intake_input {
    const char *text;
    const char *data;
};

struct intake_form;

/*
 * Compile the form of c (its questions and texts). Part of loading a
 * configuration: a template error is ERR_CONFIG with file:line:column. The
 * form takes a reference to c. Built whether or not intake is enabled, so
 * a disabled form is still checked.
 */
int intake_form_new(struct cfg *c, struct intake_form **out, struct err *e);
void intake_form_free(struct intake_form **fp);

/* Whether the form is switched on (intake.enabled). */
bool intake_form_enabled(const struct intake_form *f);

/*
 * A new state at the first question, and the reply asking it (with
 * intake.intro before it). v holds the customer's values for the texts.
 * Set s->opening / s->opening_message_id to keep the message that started
 * the form.
 */
int intake_start(const struct intake_form *f, const struct template_vars *v, int64_t now,
                 struct arena *a, struct intake_state *s, struct intake_reply *out,
                 struct err *e);

/*
 * Apply one input. Problem codes: REASK "empty", "not_text",
 * "invalid_email", "invalid_phone", "phone_country_code", "not_a_number",
 * "out_of_range", "unknown_choice", "not_optional", "unknown_command";
 * IGNORE "stale_button" (another question's button), "not_ours" (not an
 * intake button), "closed" (the form is already done or cancelled).
 * Errors: ERR_INVAL for a state that does not fit the form, ERR_TOOBIG
 * when the arena is exhausted.
 */
int intake_step(const struct intake_form *f, struct intake_state *s,
                const struct intake_input *in, const struct template_vars *v, int64_t now,
                struct arena *a, struct intake_reply *out, struct err *e);

/* Ask the current question again (the customer came back, or sent /start). */
int intake_resume(const struct intake_form *f, const struct intake_state *s,
                  const struct template_vars *v, struct arena *a, struct intake_reply *out,
                  struct err *e);

/* True when s has been idle for intake.abandon_after: start over instead. */
bool intake_expired(const struct intake_form *f, const struct intake_state *s, int64_t now);

/*
 * The confirmation for a completed form; v has the new ticket (ticket.*)
 * and its fields (intake.*). Plain text in the arena.
 */
int intake_confirmation(const struct intake_form *f, const struct template_vars *v,
                        struct arena *a, const char **text, struct err *e);

/* True for callback_data that intake buttons carry. */
bool intake_is_button(const char *data);

/* s as JSON (answers by field name), a heap string to mem_free. */
char *intake_state_json(const struct intake_form *f, const struct intake_state *s);

/*
 * Read a state written by intake_state_json against the current form:
 * answers to questions the form no longer has are dropped, and the step
 * is the first question neither answered nor skipped, so a form edited
 * mid-way continues sensibly. ERR_INVAL (naming the field) for JSON that
 * is not such a state.
 */
int intake_state_parse(const struct intake_form *f, const char *json, size_t len,
                       struct arena *a, struct intake_state *out, struct err *e);

#endif
