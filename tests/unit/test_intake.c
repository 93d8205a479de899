/*
 * test_intake.c — the intake form: the conversations in tests/cases/intake.tsv
 * (every validation, skip, cancel, buttons, resuming through JSON after every
 * input), then the replies' texts and buttons, the summary, the
 * confirmation, expiry, stored states and the form's config errors.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "base/mem.h"
#include "common/cases.h"
#include "common/example.h"
#include "desk/intake.h"

#define MIN                                  \
    "http:\n"                                \
    "  api_tokens:\n"                        \
    "    - name: helpdesk\n"                 \
    "      token: \"0123456789abcdef\"\n"

/* The form of intake.tsv. */
#define FORM                                                                            \
    "intake:\n"                                                                         \
    "  intro: \"Hi {{customer.first_name}}! A few questions first.\"\n"                 \
    "  abandon_after: 1h\n"                                                             \
    "  questions:\n"                                                                    \
    "    - {field: name, prompt: \"What's your name?\"}\n"                             \
    "    - {field: email, prompt: \"Your email, {{intake.name}}?\", type: email}\n"     \
    "    - {field: phone, prompt: \"Phone number?\", type: phone, optional: true}\n"    \
    "    - {field: seats, prompt: \"How many seats?\", type: number, min: 1, max: 500}\n" \
    "    - {field: plan, prompt: \"Which plan?\", type: choice,\n"                      \
    "       choices: [Free, Pro, Enterprise], label: Plan chosen}\n"                    \
    "    - {field: notes, prompt: \"Anything else?\", optional: true}\n"

static struct cfg *load(const char *yaml)
{
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("t.yaml", yaml, strlen(yaml), &c, &e), 0, "%s", e.msg);
    return c;
}

static struct intake_form *form_of(const char *yaml)
{
    struct cfg *c = load(yaml);
    struct intake_form *f = NULL;
    struct err e = {0};
    cr_assert_eq(intake_form_new(c, &f, &e), 0, "%s", e.msg);
    cfg_unref(&c);                      /* the form holds its own reference */
    return f;
}

static const struct template_vars customer = { .customer_first_name = "Ann" };

/* Write the state to JSON and read it back, as the store does between messages. */
static void round_trip(const struct intake_form *f, struct intake_state *s, struct arena *a)
{
    char *json = intake_state_json(f, s);
    struct intake_state back;
    struct err e = {0};
    cr_assert_eq(intake_state_parse(f, json, strlen(json), a, &back, &e), 0, "%s: %s", json,
                 e.msg);
    cr_assert_eq(back.step, s->step, "%s", json);
    cr_assert_eq(back.status, s->status, "%s", json);
    for (size_t i = 0; i < s->nquestions; i++)
        cr_assert((back.answers[i] == NULL) == (s->answers[i] == NULL) &&
                  (back.answers[i] == NULL || strcmp(back.answers[i], s->answers[i]) == 0),
                  "answer %zu lost in %s", i, json);
    mem_free(json);
    *s = back;
}

static const char *field_at(const struct intake_form *f, const struct intake_state *s)
{
    static const char *const fields[] = { "name", "email", "phone", "seats", "plan", "notes" };
    (void)f;
    return s->step < 6 ? fields[s->step] : "(end)";
}

static void answers_str(const struct intake_state *s, char *out, size_t size)
{
    static const char *const fields[] = { "name", "email", "phone", "seats", "plan", "notes" };
    out[0] = '\0';
    for (size_t i = 0; i < s->nquestions; i++)
        if (s->answers[i] != NULL)
            snprintf(out + strlen(out), size - strlen(out), "%s%s=%s", out[0] ? ";" : "",
                     fields[i], s->answers[i]);
}

/* Every name=value of want appears in got (as ";name=value;" pieces). */
static bool contains_answers(const char *got, const char *want)
{
    size_t gl = strlen(got), wl = strlen(want);
    char *g = malloc(gl + 3), *w = strdup(want), *piece = malloc(wl + 3);
    bool ok = true;
    cr_assert(g && w && piece);
    g[0] = ';';
    memcpy(g + 1, got, gl);
    memcpy(g + gl + 1, ";", 2);
    for (char *save = NULL, *p = strtok_r(w, ";", &save); ok && p;
         p = strtok_r(NULL, ";", &save)) {
        size_t pl = strlen(p);
        piece[0] = ';';
        memcpy(piece + 1, p, pl);
        memcpy(piece + pl + 1, ";", 2);
        ok = strstr(g, piece) != NULL;
    }
    free(g);
    free(w);
    free(piece);
    return ok;
}

static const char *outcome_name(enum intake_outcome o)
{
    static const char *const names[] = { "ask", "reask", "complete", "cancel", "ignore" };
    return names[o];
}

Test(intake, table)
{
    struct intake_form *f = form_of(MIN FORM);
    struct case_row *rows;
    size_t n;
    cases_load("tests/cases/intake.tsv", &rows, &n);
    cr_assert_gt(n, 60, "the intake table should have all its rows");
    for (size_t r = 0; r < n; r++) {
        struct case_row *row = &rows[r];
        int line = row->line;
        cr_assert_eq(row->ncols, 3, "intake.tsv:%d: want 3 columns", line);
        struct arena *a = arena_new(0);
        struct intake_state s;
        struct intake_reply rep;
        struct err e = {0};
        int64_t now = 1000;
        cr_assert_eq(intake_start(f, &customer, now, a, &s, &rep, &e), 0, "%s", e.msg);
        char *inputs = strdup(row->cols[0]);
        char *p = inputs;
        for (;;) {
            char *sep = strstr(p, " | ");
            if (sep != NULL)
                *sep = '\0';
            struct intake_input in = { .text = p };
            size_t pl = strlen(p);
            if (strcmp(p, "<none>") == 0)
                in.text = NULL;
            else if (strcmp(p, "<empty>") == 0)
                in.text = "";
            else if (pl > 2 && p[0] == '[' && p[pl - 1] == ']') {
                p[pl - 1] = '\0';
                in = (struct intake_input){ .data = p + 1 };
            }
            round_trip(f, &s, a);
            err_clear(&e);
            now += 60000;
            cr_assert_eq(intake_step(f, &s, &in, &customer, now, a, &rep, &e), 0,
                         "intake.tsv:%d: step failed: %s", line, e.msg);
            if (sep == NULL)
                break;
            p = sep + 3;
        }
        char got[256];
        if (rep.outcome == INTAKE_ASK)
            snprintf(got, sizeof got, "ask %s", field_at(f, &s));
        else if (rep.outcome == INTAKE_REASK)
            snprintf(got, sizeof got, "reask %s %s", field_at(f, &s), rep.problem);
        else if (rep.outcome == INTAKE_IGNORE)
            snprintf(got, sizeof got, "ignore %s", rep.problem);
        else
            snprintf(got, sizeof got, "%s", outcome_name(rep.outcome));
        cr_expect_str_eq(got, row->cols[1], "intake.tsv:%d: got '%s', want '%s'", line, got,
                         row->cols[1]);
        char ans[1024];
        answers_str(&s, ans, sizeof ans);
        if (strcmp(row->cols[2], "-") != 0)
            cr_expect(contains_answers(ans, row->cols[2]), "intake.tsv:%d: answers '%s' lack '%s'",
                      line, ans, row->cols[2]);
        free(inputs);
        arena_free(&a);
    }
    cases_free(rows, n);
    intake_form_free(&f);
    cr_assert_null(f);
}

/* --- replies ------------------------------------------------------------------------ */

static struct intake_reply step(const struct intake_form *f, struct intake_state *s,
                                const char *text, struct arena *a)
{
    struct intake_reply r;
    struct err e = {0};
    struct intake_input in = { .text = text };
    cr_assert_eq(intake_step(f, s, &in, &customer, 5000, a, &r, &e), 0, "%s", e.msg);
    return r;
}

Test(intake, questions_texts_and_buttons)
{
    struct intake_form *f = form_of(MIN FORM);
    cr_assert(intake_form_enabled(f));
    struct arena *a = arena_new(0);
    struct intake_state s;
    struct intake_reply r;
    struct err e = {0};
    cr_assert_eq(intake_start(f, &customer, 1000, a, &s, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(r.outcome, INTAKE_ASK);
    cr_assert_str_eq(r.text, "Hi Ann! A few questions first.\n\nWhat's your name?");
    cr_assert_eq(r.nbuttons, 0);
    cr_assert_eq(s.started_at, 1000);

    r = step(f, &s, "Ann", a);
    cr_assert_str_eq(r.text, "Your email, Ann?", "a prompt uses earlier answers");
    r = step(f, &s, "nope", a);
    cr_assert_eq(r.outcome, INTAKE_REASK);
    cr_assert_str_eq(r.text, "That doesn't look like an email address. Please send it like "
                     "name@example.com.\n\nYour email, Ann?");
    r = step(f, &s, "ann@example.com", a);
    cr_assert_str_eq(r.text, "Phone number?");
    cr_assert_eq(r.nbuttons, 1, "an optional question has a skip button");
    cr_assert_str_eq(r.buttons[0].text, "Skip");
    cr_assert_str_eq(r.buttons[0].data, "intake:phone:skip");
    r = step(f, &s, "/skip", a);
    r = step(f, &s, "900", a);
    cr_assert_str_eq(r.text, "Please send a number from 1 to 500.\n\nHow many seats?");
    r = step(f, &s, "2", a);
    cr_assert_eq(r.nbuttons, 3);
    cr_assert_str_eq(r.buttons[1].text, "Pro");
    cr_assert_str_eq(r.buttons[1].data, "intake:plan:1");
    for (size_t i = 0; i < r.nbuttons; i++)
        cr_assert_leq(strlen(r.buttons[i].data), 64);
    r = step(f, &s, "Gold", a);
    cr_assert_str_eq(r.problem, "unknown_choice");
    cr_assert_str_eq(r.text, "Please choose one of: Free, Pro or Enterprise.\n\nWhich plan?");
    cr_assert_eq(r.nbuttons, 3, "a re-ask shows the buttons again");

    struct intake_input press = { .data = "intake:plan:2" };
    cr_assert_eq(intake_step(f, &s, &press, &customer, 6000, a, &r, &e), 0);
    cr_assert_str_eq(r.notice, "Enterprise", "the button press is acknowledged");
    cr_assert_eq(s.updated_at, 6000);
    r = step(f, &s, "  Call me after 5pm  ", a);
    cr_assert_eq(r.outcome, INTAKE_COMPLETE);
    cr_assert_null(r.text);
    cr_assert_eq(s.status, INTAKE_DONE);
    cr_assert_str_eq(r.summary, "Intake form\nName: Ann\nEmail: ann@example.com\n"
                     "Phone: (skipped)\nSeats: 2\nPlan chosen: Enterprise\n"
                     "Notes: Call me after 5pm");
    cr_assert_eq(r.nfields, 5, "skipped questions are not fields");
    cr_assert_str_eq(r.fields[1].key, "email");
    cr_assert_str_eq(r.fields[2].key, "seats");
    cr_assert_str_eq(r.fields[2].value, "2");

    struct template_vars v = customer;
    v.ticket_id = 77;
    v.intake = r.fields;
    v.nintake = r.nfields;
    const char *conf;
    cr_assert_eq(intake_confirmation(f, &v, a, &conf, &e), 0, "%s", e.msg);
    cr_assert_str_eq(conf, "Thank you! Your request #77 is open. We will answer here as soon "
                     "as we can.");
    arena_free(&a);
    intake_form_free(&f);
}

Test(intake, cancel_resume_and_expiry)
{
    struct intake_form *f = form_of(MIN FORM);
    struct arena *a = arena_new(0);
    struct intake_state s;
    struct intake_reply r;
    struct err e = {0};
    cr_assert_eq(intake_start(f, &customer, 0, a, &s, &r, &e), 0);
    s.opening = "My invoice is wrong";
    s.opening_message_id = 17;
    r = step(f, &s, "Ann", a);

    cr_assert_eq(intake_resume(f, &s, &customer, a, &r, &e), 0);
    cr_assert_eq(r.outcome, INTAKE_ASK);
    cr_assert_str_eq(r.text, "Your email, Ann?", "resuming asks where the customer stopped");

    char *json = intake_state_json(f, &s);
    cr_assert(strstr(json, "\"opening\":\"My invoice is wrong\"") != NULL, "%s", json);
    struct intake_state back;
    cr_assert_eq(intake_state_parse(f, json, strlen(json), a, &back, &e), 0, "%s", e.msg);
    mem_free(json);
    cr_assert_str_eq(back.opening, "My invoice is wrong");
    cr_assert_eq(back.opening_message_id, 17);
    cr_assert_eq(back.updated_at, 5000);

    cr_assert_not(intake_expired(f, &back, 5000 + 3599999));
    cr_assert(intake_expired(f, &back, 5000 + 3600000), "abandon_after: 1h");

    r = step(f, &back, "/cancel", a);
    cr_assert_eq(r.outcome, INTAKE_CANCEL);
    cr_assert_str_eq(r.text, "Cancelled: nothing was sent to our team. Write to us again "
                     "whenever you like.");
    cr_assert_eq(back.status, INTAKE_CANCELLED);
    cr_assert_not(intake_expired(f, &back, 1000000000), "only an open form expires");
    cr_assert_eq(intake_resume(f, &back, &customer, a, &r, &e), ERR_CONFLICT);
    arena_free(&a);
    intake_form_free(&f);
}

Test(intake, custom_texts_and_invalid_message)
{
    struct intake_form *f = form_of(MIN
        "intake:\n"
        "  confirmation: \"Ticket {{ticket.id}} for {{intake.email}}: thanks, "
        "{{customer.first_name}}.\"\n"
        "  cancelled: Bye.\n"
        "  skip_button: Pass\n"
        "  summary_title: Form\n"
        "  questions:\n"
        "    - {field: email, prompt: Email?, type: email, invalid: \"Hmm, no.\"}\n"
        "    - {field: code, prompt: Code?, optional: true}\n");
    struct arena *a = arena_new(0);
    struct intake_state s;
    struct intake_reply r;
    struct err e = {0};
    cr_assert_eq(intake_start(f, NULL, 0, a, &s, &r, &e), 0, "%s", e.msg);
    cr_assert_str_eq(r.text, "Email?", "no intro unless configured");
    r = step(f, &s, "x", a);
    cr_assert_str_eq(r.text, "Hmm, no.\n\nEmail?");
    r = step(f, &s, "/foo", a);
    cr_assert_str_eq(r.text, "Please answer the question, or send /cancel to stop.\n\nEmail?",
                     "'invalid' replaces only the validation sentence");
    r = step(f, &s, "a@b.io", a);
    cr_assert_str_eq(r.buttons[0].text, "Pass");
    struct intake_input press = { .data = "intake:code:skip" };
    cr_assert_eq(intake_step(f, &s, &press, NULL, 1, a, &r, &e), 0);
    cr_assert_eq(r.outcome, INTAKE_COMPLETE);
    cr_assert_str_eq(r.notice, "Pass");
    cr_assert_str_eq(r.summary, "Form\nEmail: a@b.io\nCode: (skipped)");
    struct template_vars v = { .customer_first_name = "Bo", .ticket_id = 5,
                               .intake = r.fields, .nintake = r.nfields };
    const char *conf;
    cr_assert_eq(intake_confirmation(f, &v, a, &conf, &e), 0, "%s", e.msg);
    cr_assert_str_eq(conf, "Ticket 5 for a@b.io: thanks, Bo.");
    arena_free(&a);
    intake_form_free(&f);
}

/* --- stored states ---------------------------------------------------------------------- */

Test(intake, state_survives_an_edited_form)
{
    struct intake_form *f = form_of(MIN FORM);
    struct intake_form *g = form_of(MIN
        "intake:\n"
        "  questions:\n"
        "    - {field: email, prompt: Email?, type: email}\n"
        "    - {field: company, prompt: Company?}\n"
        "    - {field: name, prompt: Name?}\n");
    struct arena *a = arena_new(0);
    struct intake_state s, t;
    struct intake_reply r;
    struct err e = {0};
    cr_assert_eq(intake_start(f, &customer, 0, a, &s, &r, &e), 0);
    r = step(f, &s, "Ann", a);
    r = step(f, &s, "ann@example.com", a);
    r = step(f, &s, "/skip", a);
    char *json = intake_state_json(f, &s);
    cr_assert_eq(intake_state_parse(g, json, strlen(json), a, &t, &e), 0, "%s", e.msg);
    mem_free(json);
    cr_assert_eq(t.nquestions, 3);
    cr_assert_str_eq(t.answers[0], "ann@example.com");
    cr_assert_null(t.answers[1]);
    cr_assert_str_eq(t.answers[2], "Ann");
    cr_assert_eq(t.step, 1, "the new question is asked next");
    r = step(g, &t, "ACME", a);
    cr_assert_eq(r.outcome, INTAKE_COMPLETE);
    cr_assert_eq(intake_step(f, &t, &(struct intake_input){ .text = "x" }, NULL, 0, a, &r, &e),
                 ERR_INVAL, "a state checked against the wrong form is refused");
    arena_free(&a);
    intake_form_free(&f);
    intake_form_free(&g);
}

Test(intake, bad_states_are_refused)
{
    struct intake_form *f = form_of(MIN FORM);
    struct arena *a = arena_new(0);
    static const struct { const char *json, *field, *msg; } bad[] = {
        { "[1]", "", "must be a JSON object" },
        { "{\"v\":1", "", "" },
        { "{\"v\":2,\"status\":\"asking\",\"started_at\":0,\"updated_at\":0}", "v",
          "unsupported intake state version 2" },
        { "{\"v\":1,\"status\":\"paused\",\"started_at\":0,\"updated_at\":0}", "status",
          "unknown intake status 'paused'" },
        { "{\"v\":1,\"status\":\"asking\",\"started_at\":0}", "updated_at",
          "missing required field 'updated_at'" },
        { "{\"v\":1,\"status\":\"asking\",\"started_at\":0,\"updated_at\":0,\"x\":1}", "x",
          "unknown field 'x'" },
        { "{\"v\":1,\"status\":\"asking\",\"started_at\":0,\"updated_at\":0,"
          "\"answers\":{\"name\":7}}", "answers", "answer 'name' must be a non-empty string" },
        { "{\"v\":1,\"status\":\"asking\",\"started_at\":0,\"updated_at\":0,"
          "\"skipped\":{}}", "skipped", "'skipped' must be an array" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct intake_state s;
        struct err e = {0};
        cr_expect_eq(intake_state_parse(f, bad[i].json, strlen(bad[i].json), a, &s, &e),
                     ERR_INVAL, "%s", bad[i].json);
        cr_expect(strstr(e.msg, bad[i].msg) != NULL, "'%s' lacks '%s'", e.msg, bad[i].msg);
        if (bad[i].field[0] != '\0')
            cr_expect_str_eq(e.field, bad[i].field, "%s", bad[i].json);
    }
    arena_free(&a);
    intake_form_free(&f);
}

Test(intake, buttons_are_recognised)
{
    cr_assert(intake_is_button("intake:plan:1"));
    cr_assert_not(intake_is_button("close:42"));
    cr_assert_not(intake_is_button(NULL));
}

/* --- the form's config errors --------------------------------------------------------------- */

static void form_fails(const char *yaml, const char *prefix, const char *msg)
{
    struct cfg *c = load(yaml);
    struct intake_form *f = (struct intake_form *)1;
    struct err e = {0};
    cr_expect_eq(intake_form_new(c, &f, &e), ERR_CONFIG, "built:\n%s", yaml);
    cr_expect_null(f);
    cr_expect(strncmp(e.msg, prefix, strlen(prefix)) == 0, "want prefix '%s', got '%s'", prefix,
              e.msg);
    cr_expect(strstr(e.msg, msg) != NULL, "want '%s' in '%s'", msg, e.msg);
    cfg_unref(&c);
}

Test(intake, texts_are_checked_at_load)
{
    form_fails(MIN "intake:\n  questions:\n"
               "    - {field: a, prompt: \"A?\"}\n"
               "    - {field: b, prompt: \"{{intake.c}}?\"}\n"
               "    - {field: c, prompt: \"C?\"}\n",
               "t.yaml:8:29: ", "prompt of intake question 'b': 'intake.c' is asked later in "
               "the form");
    form_fails(MIN "intake:\n  questions:\n"
               "    - {field: a, prompt: \"A?\", optional: true}\n"
               "    - {field: b, prompt: \"You said {{intake.a}}.\"}\n",
               "t.yaml:8:38: ", "'intake.a' may have no value here");
    form_fails(MIN "intake:\n  questions:\n"
               "    - {field: a, prompt: \"Hi @{{customer.username}}\"}\n",
               "t.yaml:7:33: ", "'customer.username' may have no value here");
    form_fails(MIN "intake:\n  questions:\n    - {field: a, prompt: \"A?\"}\n"
               "  confirmation: |\n    Thanks, {{agent.name}}\n",
               "t.yaml:9:15: ", "intake.confirmation: 'agent.*' variables are not available");
    form_fails(MIN "intake:\n  questions:\n    - {field: a, prompt: \"A?\"}\n"
               "  intro: \"{{ intake.a }}\"\n",
               "t.yaml:8:14: ", "intake.intro: 'intake.*' variables are not available here");
    form_fails(MIN "intake:\n  enabled: false\n  questions:\n    - {field: a, prompt: \"{{x\"}\n",
               "t.yaml:8:27: ", "'{{' is never closed");
}

Test(intake, disabled_or_absent)
{
    struct intake_form *f = form_of(MIN);
    cr_assert_not(intake_form_enabled(f));
    struct arena *a = arena_new(0);
    struct intake_state s;
    struct intake_reply r;
    struct err e = {0};
    cr_assert_eq(intake_start(f, NULL, 0, a, &s, &r, &e), ERR_INVAL);
    arena_free(&a);
    intake_form_free(&f);
    f = form_of(MIN "intake:\n  enabled: false\n  questions: [{field: a, prompt: A?}]\n");
    cr_assert_not(intake_form_enabled(f));
    intake_form_free(&f);
}

Test(intake, example_config_form_builds)
{
    struct cfg *c = example_cfg();
    struct err e = {0};
    struct intake_form *f = NULL;
    cr_assert_eq(intake_form_new(c, &f, &e), 0, "%s", e.msg);
    cr_assert(intake_form_enabled(f));
    intake_form_free(&f);
    cfg_unref(&c);
}
