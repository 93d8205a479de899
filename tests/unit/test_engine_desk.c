/*
 * test_engine_desk.c — the agent helpers and the intake form as the engine
 * applies them: canned responses (/r in a topic, the API's template
 * replies), knowledge-base suggestions stored on tickets and posted to
 * their topics, and the intake form in the private chat (buttons, re-asks,
 * /cancel, resuming from the store). Real temporary SQLite store, manual
 * clock.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "engine/engine.h"
#include "store/store.h"
#include "common/cases.h"
#include "common/engine_fixture.h"

#define STAFF (-1001000000001LL)
#define CUST 777
#define T0 1767600000000LL

static struct fixture F;

static const char base_yaml[] =
    "telegram: {token: '123:abc', staff_group_id: -1001000000001}\n"
    "http: {api_tokens: [{name: t, token: engine-test-token-123456}]}\n"
    "agents:\n"
    "  - {id: alice, name: Alice, telegram_user_id: 11, groups: [general]}\n"
    "templates:\n"
    "  - name: greeting\n"
    "    text: \"Hi {{customer.first_name | default: 'there'}}, {{agent.name}} here about #{{ticket.id}}.\"\n"
    "  - name: order\n"
    "    text: \"Your order {{intake.order_id}} for {{customer.username}} is on its way.\"\n"
    "  - name: shout\n"
    "    text: \"{{customer.first_name | upcase}}! Ticket {{ticket.id}} is {{ticket.status}}.\"\n"
    "  - name: status\n"
    "    text: \"Ticket #{{ticket.id}} ({{ticket.subject}}) is in group {{ticket.group}}, priority {{ticket.priority}}.\"\n"
    "kb:\n"
    "  suggestions: 2\n"
    "  articles:\n"
    "    - {id: KB-001, title: How to reset your password, url: 'https://help.example.com/reset',\n"
    "       body: Open Settings then Security then Reset password., keywords: [password, login]}\n"
    "    - {id: KB-002, title: Refunds and returns, url: 'https://help.example.com/refunds',\n"
    "       body: A refund is paid within five days of the return., keywords: [refund, money back]}\n"
    "    - {id: KB-003, title: Shipping times, body: Parcels ship within two days., keywords: [delivery, parcel]}\n";

/* The form; disabled unless a test enables it. */
static const char intake_fmt[] =
    "intake:\n"
    "  enabled: %s\n"
    "  questions:\n"
    "    - {field: email, prompt: 'Your email?', type: email}\n"
    "    - {field: plan, prompt: 'Which plan?', type: choice, choices: [Free, Pro]}\n"
    "    - {field: order_id, prompt: 'Order number?', optional: true}\n"
    "groups: [{name: general}, {name: pro}]\n"
    "routing:\n"
    "  - {name: pro-plan, field: {plan: Pro}, group: pro, strategy: none}\n";

static void open_with(const char *enabled)
{
    char yaml[8192];
    int n = snprintf(yaml, sizeof yaml, "%s", base_yaml);
    snprintf(yaml + n, sizeof yaml - (size_t)n, intake_fmt, enabled);
    fixture_open(&F, T0, yaml);
}

static void setup(void)
{
    open_with("false");
}

static void setup_intake(void)
{
    open_with("true");
}

static void teardown(void)
{
    fixture_close(&F);
}

static struct engine_result customer(const char *text, int64_t msg_id)
{
    struct engine_event ev = fixture_customer(CUST, text);
    ev.tg_message_id = msg_id;
    ev.customer.username = NULL;
    return fixture_apply(&F, ev);
}

static struct engine_result press(const char *data, const char *qid)
{
    struct engine_event ev = fixture_customer(CUST, NULL);
    ev.callback_data = data;
    ev.callback_id = qid;
    return fixture_apply(&F, ev);
}

static struct engine_result staff(const char *text)
{
    static int64_t mid = 5000;
    struct engine_event ev = {.type = ENGINE_STAFF_MESSAGE, .text = text, .topic_id = 900,
                              .tg_chat_id = STAFF, .tg_message_id = ++mid};
    ev.customer.tg_user_id = 11;
    return fixture_apply(&F, ev);
}

static int64_t rows(void)
{
    int64_t n = 0;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_count(F.reader, NULL, &n, &e), 0);
    return n;
}

static struct tg_outbox_row *row(int64_t id)
{
    struct tg_outbox_row *r = NULL;
    struct err e = {0};
    cr_assert_eq(store_tg_outbox_get(F.reader, id, F.arena, &r, &e), 0, "row %lld: %s",
                 (long long)id, e.msg);
    return r;
}

static struct ticket *ticket(int64_t id)
{
    struct ticket *t = NULL;
    struct err e = {0};
    cr_assert_eq(store_ticket_get(F.reader, id, F.arena, &t, &e), 0, "%s", e.msg);
    return t;
}

static struct thread_entry *thread(int64_t id, size_t *n)
{
    struct thread_entry *th = NULL;
    struct err e = {0};
    cr_assert_eq(store_thread_list(F.reader, id, F.arena, &th, n, &e), 0, "%s", e.msg);
    return th;
}

/* A ticket opened by the customer, its topic created as topic 900. */
static int64_t ticket_with_topic(const char *text)
{
    struct engine_result r = customer(text, 1);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_assert(r.created);
    struct engine_event ev = {.type = ENGINE_OUTBOX_RESULT, .outbox_id = 1,
                              .outcome = OUTBOX_SENT, .topic_id = 900};
    cr_assert_str_eq(row(1)->method, "createForumTopic");
    cr_assert_eq(fixture_apply(&F, ev).code, 0);
    return r.ticket_id;
}

/* The last outbox row's params contain s. */
static void last_says(const char *s)
{
    struct tg_outbox_row *r = row(rows());
    cr_expect(strstr(r->params, s) != NULL, "last row %s: %s", r->method, r->params);
}

/* ---- canned responses ----------------------------------------------------------- */

Test(engine_desk, canned_response_from_topic, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic("I cannot log in");
    int64_t before = rows();
    struct engine_result r = staff("/r greeting");
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_assert_eq(rows(), before + 2, "the reply to the customer, its copy in the topic");
    struct tg_outbox_row *out = row(before + 1);
    cr_expect_eq(out->chat_id, CUST);
    cr_expect(strstr(out->params, "\"Hi Ann, Alice here about #1.\"") != NULL, "%s", out->params);
    last_says("$topic");
    last_says("Alice (template greeting): Hi Ann, Alice here about #1.");

    struct ticket *t = ticket(id);
    cr_expect_neq(t->first_response_at, 0, "a canned response is the first response");
    cr_expect_eq(t->status, TICKET_IN_PROGRESS);
    cr_expect_str_eq(t->assignee, "alice");
    size_t n = 0;
    struct thread_entry *th = thread(id, &n);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (th[i].kind == THREAD_MESSAGE && th[i].dir == DIR_OUTBOUND) {
            cr_expect_str_eq(th[i].text, "Hi Ann, Alice here about #1.");
            cr_expect_str_eq(th[i].author_id, "alice");
            cr_assert_eq(th[i].ndata, 1);
            cr_expect_str_eq(th[i].data[0].key, "template");
            cr_expect_str_eq(th[i].data[0].value, "greeting");
            found = true;
        }
    cr_expect(found, "the canned response is in the thread as the agent's reply");
}

Test(engine_desk, canned_response_missing_and_unknown, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic("Where is my parcel?");
    int64_t before = rows();
    cr_assert_eq(staff("/r order").code, 0);
    cr_expect_eq(rows(), before + 1, "nothing for the customer, one answer in the topic");
    last_says("$topic");
    last_says("intake.order_id");
    last_says("customer.username");
    cr_expect_eq(ticket(id)->first_response_at, 0, "a refused template is no response");

    cr_assert_eq(staff("/r nosuch").code, 0);
    last_says("Unknown template 'nosuch'");
    last_says("greeting, order, shout, status");
    cr_assert_eq(staff("/r").code, 0);
    last_says("Usage: /r <template>");
    cr_expect_eq(ticket(id)->first_response_at, 0);
}

Test(engine_desk, canned_cases)
{
    struct case_row *lines = NULL;
    size_t n = 0;
    cases_load("tests/cases/canned.tsv", &lines, &n);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        const struct case_row *c = &lines[i];
        cr_assert_eq(c->ncols, 2, "canned.tsv:%d: want command and expect", c->line);
        open_with("false");
        int64_t id = ticket_with_topic("I cannot log in");
        int64_t before = rows();
        cr_assert_eq(staff(c->cols[0]).code, 0, "canned.tsv:%d", c->line);
        const char *want = c->cols[1];
        if (strncmp(want, "customer: ", 10) == 0) {
            struct tg_outbox_row *out = row(before + 1);
            cr_expect_eq(out->chat_id, CUST, "canned.tsv:%d: %s", c->line, out->params);
            char quoted[512];
            snprintf(quoted, sizeof quoted, "\"text\":\"%s\"", want + 10);
            cr_expect(strstr(out->params, quoted) != NULL, "canned.tsv:%d: sent %s", c->line,
                      out->params);
            cr_expect_neq(ticket(id)->first_response_at, 0, "canned.tsv:%d", c->line);
        } else {
            cr_assert(strncmp(want, "topic: ", 7) == 0, "canned.tsv:%d: bad expect", c->line);
            cr_expect_eq(rows(), before + 1, "canned.tsv:%d: only an answer in the topic",
                         c->line);
            struct tg_outbox_row *out = row(rows());
            cr_expect_eq(out->chat_id, STAFF, "canned.tsv:%d", c->line);
            cr_expect(strstr(out->params, want + 7) != NULL, "canned.tsv:%d: answered %s",
                      c->line, out->params);
            cr_expect_eq(ticket(id)->first_response_at, 0, "canned.tsv:%d", c->line);
        }
        fixture_close(&F);
    }
    cases_free(lines, n);
}

Test(engine_desk, canned_response_by_event, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic("Where is my parcel?");
    struct engine_event ev = {.type = ENGINE_AGENT_REPLY, .ticket_id = id, .agent_id = "alice",
                              .template_name = "order"};
    struct engine_result r = fixture_apply(&F, ev);
    cr_expect_eq(r.code, ERR_UNPROCESSABLE);
    cr_expect_str_eq(r.err.field, "template");
    cr_expect_str_eq(r.missing, "intake.order_id,customer.username");
    ev.template_name = "nosuch";
    r = fixture_apply(&F, ev);
    cr_expect_eq(r.code, ERR_UNPROCESSABLE);
    cr_expect(strstr(r.err.msg, "unknown template 'nosuch'") != NULL, "%s", r.err.msg);
    cr_expect_str_eq(r.missing, "");
    ev.template_name = "greeting";
    ev.text = "both";
    cr_expect_eq(fixture_apply(&F, ev).code, ERR_INVAL);
    ev.text = NULL;
    r = fixture_apply(&F, ev);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect_gt(r.thread_seq, 0);
    cr_expect_neq(ticket(id)->first_response_at, 0);
}

Test(engine_desk, template_syntax_error_refused_with_position)
{
    const char *yaml = "store: {path: /tmp/unused.db}\n"
                       "http: {api_tokens: [{name: t, token: engine-test-token-123456}]}\n"
                       "templates:\n"
                       "  - name: bad\n"
                       "    text: \"Hi {{customer.frist_name}}\"\n";
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load_string("t.yaml", yaml, strlen(yaml), &c, &e), 0, "%s", e.msg);
    cr_expect_eq(engine_check_cfg(c, &e), ERR_CONFIG);
    cr_expect(strncmp(e.msg, "t.yaml:5:", 9) == 0, "%s", e.msg);
    cr_expect(strstr(e.msg, "template 'bad'") != NULL, "%s", e.msg);
    cfg_unref(&c);
}

/* ---- knowledge-base suggestions -------------------------------------------------- */

/* The ids of t's suggestions, "KB-001,KB-002". */
static const char *kb_ids(const struct ticket *t)
{
    static char ids[256];
    size_t len = 0;
    ids[0] = '\0';
    for (size_t i = 0; i < t->nkb; i++)
        len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%s", i ? "," : "", t->kb[i].id);
    return ids;
}

/* How many kb_suggested events t's thread has. */
static int kb_events(int64_t id)
{
    size_t n = 0;
    struct thread_entry *th = thread(id, &n);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += th[i].event != NULL && strcmp(th[i].event, "kb_suggested") == 0;
    return k;
}

Test(engine_desk, kb_suggestions_stored_and_posted_once, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic("I forgot my password and cannot login");
    struct ticket *t = ticket(id);
    cr_assert_eq(t->nkb, 1, "%s", kb_ids(t));
    cr_expect_str_eq(t->kb[0].id, "KB-001");
    cr_expect_str_eq(t->kb[0].title, "How to reset your password");
    cr_expect_str_eq(t->kb[0].url, "https://help.example.com/reset");
    cr_expect_gt(t->kb[0].score, 0.5);
    cr_expect_eq(kb_events(id), 1);
    /* the topic row after createForumTopic and the copy */
    cr_expect(strstr(row(3)->params, "Knowledge base (internal, for agents)") != NULL, "%s",
              row(3)->params);
    cr_expect(strstr(row(3)->params, "How to reset your password (KB-001)") != NULL);
    cr_expect(strstr(row(3)->params, "$topic") != NULL);

    int64_t before = rows();
    cr_assert_eq(customer("Still no luck with the password", 2).code, 0);
    cr_expect_str_eq(kb_ids(ticket(id)), "KB-001");
    cr_expect_eq(rows(), before + 1, "same articles: only the copy of the message, no new note");
    cr_expect_eq(kb_events(id), 1);

    cr_assert_eq(customer("Also I want a refund, my money back please", 3).code, 0);
    t = ticket(id);
    cr_expect_eq(t->nkb, 2, "%s", kb_ids(t));
    cr_expect(strstr(kb_ids(t), "KB-002") != NULL, "%s", kb_ids(t));
    cr_expect_eq(kb_events(id), 2, "changed suggestions are posted again");
    last_says("Refunds and returns (KB-002)");
}

Test(engine_desk, kb_suggestions_are_deterministic, .init = setup, .fini = teardown)
{
    const char *msg = "refund for a parcel delivery that never came";
    int64_t a = ticket_with_topic(msg);
    char first[256];
    snprintf(first, sizeof first, "%s", kb_ids(ticket(a)));
    cr_expect_neq(first[0], '\0');
    /* another customer, the same words */
    struct engine_event ev = fixture_customer(CUST + 1, msg);
    struct engine_result r = fixture_apply(&F, ev);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect_str_eq(kb_ids(ticket(r.ticket_id)), first);
    for (size_t i = 0; i < ticket(a)->nkb; i++)
        cr_expect_eq(ticket(a)->kb[i].score, ticket(r.ticket_id)->kb[i].score);
}

Test(engine_desk, kb_nothing_for_unrelated_text, .init = setup, .fini = teardown)
{
    int64_t id = ticket_with_topic("hello there");
    cr_expect_eq(ticket(id)->nkb, 0);
    cr_expect_eq(kb_events(id), 0);
    cr_expect_eq(rows(), 2, "no note without suggestions");
}

/* ---- the intake form ---------------------------------------------------------------- */

/* Stop the engine and start a new one on the same database: a restart. */
static void restart(void)
{
    engine_free(&F.engine);
    struct store *w = NULL;
    struct err e = {0};
    cr_assert_eq(store_open(&F.cfg->store, STORE_RW, &w, &e), 0, "%s", e.msg);
    cr_assert_eq(engine_new(F.cfg, w, F.clock, &F.engine, &e), 0, "%s", e.msg);
}

static bool has_form(void)
{
    const char *json = NULL;
    struct err e = {0};
    int rc = store_intake_get(F.reader, 1, F.arena, &json, &e);
    cr_assert(rc == 0 || rc == ERR_NOTFOUND, "%s", e.msg);
    return rc == 0;
}

static int64_t tickets(void)
{
    int64_t by[TICKET_STATUS_COUNT] = {0}, n = 0;
    struct err e = {0};
    cr_assert_eq(store_ticket_count_by_status(F.reader, by, &e), 0);
    for (int i = 0; i < TICKET_STATUS_COUNT; i++)
        n += by[i];
    return n;
}

Test(engine_desk, intake_form_with_buttons_resumes_after_restart, .init = setup_intake,
     .fini = teardown)
{
    struct engine_result r = customer("My app crashes on start", 1);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect_not(r.created, "the form comes first");
    cr_expect_eq(tickets(), 0);
    cr_expect(has_form());
    cr_expect_eq(row(rows())->chat_id, CUST);
    last_says("Your email?");

    cr_assert_eq(customer("not an email", 2).code, 0);
    last_says("email address");
    last_says("Your email?");
    cr_assert_eq(customer("ann@Example.COM", 3).code, 0);
    last_says("Which plan?");
    last_says("\"reply_markup\":{\"inline_keyboard\":[[{\"text\":\"Free\",\"callback_data\":"
              "\"intake:plan:0\"}],[{\"text\":\"Pro\",\"callback_data\":\"intake:plan:1\"}]]}");

    restart();      /* the state is in the store, not in memory */
    int64_t before = rows();
    r = press("intake:plan:1", "cb-1");
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect_eq(rows(), before + 2, "the next question and the answer to the press");
    cr_expect(strstr(row(before + 1)->params, "Order number?") != NULL, "%s",
              row(before + 1)->params);
    cr_expect(strstr(row(before + 1)->params, "intake:order_id:skip") != NULL);
    cr_expect_str_eq(row(before + 2)->method, "answerCallbackQuery");
    cr_expect(strstr(row(before + 2)->params, "\"callback_query_id\":\"cb-1\"") != NULL);

    before = rows();
    r = press("intake:email:0", "cb-old");
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect(r.ignored, "a button of an earlier question changes nothing");
    cr_expect_eq(rows(), before + 1);
    cr_expect_str_eq(row(rows())->method, "answerCallbackQuery");

    r = customer("/skip", 4);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect(r.created);
    cr_expect_not(has_form());
    struct ticket *t = ticket(r.ticket_id);
    cr_expect_str_eq(t->subject, "My app crashes on start");
    cr_expect_str_eq(t->group, "pro", "routing matched the intake field");
    cr_expect_str_eq(t->rule, "pro-plan");
    cr_expect_eq(t->nfields, 2);
    cr_expect_str_eq(t->fields[0].key, "email");
    cr_expect_str_eq(t->fields[0].value, "ann@example.com");
    cr_expect_str_eq(t->fields[1].key, "plan");
    cr_expect_str_eq(t->fields[1].value, "Pro");

    size_t n = 0;
    struct thread_entry *th = thread(r.ticket_id, &n);
    cr_assert_geq(n, 4);
    cr_expect_eq(th[0].author_type, AUTHOR_CUSTOMER);
    cr_expect(strstr(th[0].text, "Intake form") == th[0].text, "%s", th[0].text);
    cr_expect(strstr(th[0].text, "Email: ann@example.com") != NULL, "%s", th[0].text);
    cr_expect(strstr(th[0].text, "(skipped)") != NULL, "%s", th[0].text);
    cr_expect_str_eq(th[1].text, "My app crashes on start");
    cr_expect_eq(th[1].tg_message_id, 1);
    bool confirmed = false;
    for (size_t i = 2; i < n; i++)
        if (th[i].author_type == AUTHOR_BOT && th[i].dir == DIR_OUTBOUND)
            confirmed = strstr(th[i].text, "#1") != NULL;
    cr_expect(confirmed, "the bot's confirmation is in the thread");
    /* the customer got the confirmation; the topic the summary and the first message */
    bool sent = false, summary = false, copy = false;
    for (int64_t i = before + 1; i <= rows(); i++) {
        struct tg_outbox_row *o = row(i);
        sent = sent || (o->chat_id == CUST && strstr(o->params, "request #1 is open") != NULL);
        summary = summary || (o->chat_id == STAFF && strstr(o->params, "Intake form") != NULL);
        copy = copy || (strcmp(o->method, "copyMessage") == 0 &&
                        strstr(o->params, "\"message_id\":1") != NULL);
    }
    cr_expect(sent && summary && copy, "sent %d summary %d copy %d", sent, summary, copy);

    r = customer("One more detail", 5);
    cr_expect_not(r.created, "with a ticket open, messages go to it");
    cr_expect_eq(tickets(), 1);
    cr_expect_not(has_form());
}

Test(engine_desk, intake_cancel_leaves_no_ticket, .init = setup_intake, .fini = teardown)
{
    cr_assert_eq(customer("hello", 1).code, 0);
    cr_expect(has_form());
    cr_assert_eq(customer("/cancel", 2).code, 0);
    cr_expect_not(has_form());
    cr_expect_eq(tickets(), 0);
    last_says("Cancelled");
    /* a button of the cancelled form is answered and starts nothing */
    struct engine_result r = press("intake:plan:0", "cb-late");
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect(r.ignored);
    cr_expect_not(has_form());
    cr_expect_str_eq(row(rows())->method, "answerCallbackQuery");
    /* writing again starts over at the first question */
    cr_assert_eq(customer("hello again", 3).code, 0);
    cr_expect(has_form());
    last_says("Your email?");
    cr_expect_eq(tickets(), 0);
}

Test(engine_desk, intake_not_for_api_messages, .init = setup_intake, .fini = teardown)
{
    struct engine_event ev = fixture_customer(CUST, "from the web form");
    ev.tg_chat_id = 0;
    struct engine_result r = fixture_apply(&F, ev);
    cr_assert_eq(r.code, 0, "%s", r.err.msg);
    cr_expect(r.created, "a message from outside Telegram cannot fill in the form");
}
