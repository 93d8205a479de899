/*
 * expect_tg.c — expect_telegram: what a customer's chat or a ticket's
 * forum topic received from the bot since the scenario started, read from
 * the fake Telegram's sent log: the calls that put a new message in a
 * chat (send*, copyMessage, forwardMessage), by their text or caption;
 * an edit (editMessageText, editMessageCaption) is the message it edited,
 * with its newest text; topic service messages are not messages.
 *
 * Near misses answer the two usual questions: did the text go to another
 * chat or topic, and what did this chat get instead (the messages whose
 * text is closest to the wanted one, by the longest run they share).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "check/expect_impl.h"
#include "check/fake_tg.h"

/* Texts longer than this are compared on their first bytes only (near misses). */
#define SIMILAR_MAX 1000

/* The longest common substring of a and b, in bytes (bounded lengths). */
static size_t common_run(const char *a, const char *b)
{
    size_t na = strnlen(a, SIMILAR_MAX), nb = strnlen(b, SIMILAR_MAX), best = 0;
    size_t *row = mem_alloc((nb + 1) * sizeof *row);
    memset(row, 0, (nb + 1) * sizeof *row);
    for (size_t i = 1; i <= na; i++) {
        size_t diag = 0;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            row[j] = a[i - 1] == b[j - 1] ? diag + 1 : 0;
            if (row[j] > best)
                best = row[j];
            diag = up;
        }
    }
    mem_free(row);
    return best;
}

/* Calls that put a new message in a chat (edits change one; topic services are none). */
static bool new_message(const char *method)
{
    return method != NULL && (strncmp(method, "send", 4) == 0 ||
                              strcmp(method, "copyMessage") == 0 ||
                              strcmp(method, "forwardMessage") == 0);
}

/*
 * An edit counts as the message it edited, with its newest text
 * (docs/scenarios.md): the message of all (new messages so far) in the
 * edit's chat with its message_id gets the edit's text or caption.
 */
static void fold_edit(json_t *all, const json_t *edit)
{
    json_int_t chat = json_integer_value(json_object_get(edit, "chat_id"));
    json_int_t id = json_integer_value(json_object_get(edit, "message_id"));
    size_t i;
    json_t *m;
    json_array_foreach (all, i, m) {
        if (json_integer_value(json_object_get(m, "chat_id")) != chat ||
            json_integer_value(json_object_get(m, "message_id")) != id)
            continue;
        json_t *now = json_copy(m);            /* the log's entry stays as it was */
        const char *keys[] = { "text", "caption" };
        for (size_t k = 0; k < 2; k++) {
            json_t *v = json_object_get(edit, keys[k]);
            if (v != NULL)
                json_object_set(now, keys[k], v);
        }
        json_array_set_new(all, i, now);
        return;
    }
}

/* A message's text, or its caption. */
static const char *text_of(const json_t *m)
{
    const char *t = json_string_value(json_object_get(m, "text"));
    return t != NULL ? t : json_string_value(json_object_get(m, "caption"));
}

struct want_tg {
    int64_t chat;            /* 0 = any */
    int64_t thread;          /* 0 = any */
    const char *place;       /* "ann's chat", "the topic of ticket 7", "any chat" */
    const char *text;        /* exact, or NULL */
    const char *contains;    /* or NULL */
};

static bool text_ok(const struct want_tg *w, const char *t)
{
    return t != NULL && (w->text == NULL || strcmp(w->text, t) == 0) &&
           (w->contains == NULL || strstr(t, w->contains) != NULL);
}

static bool place_ok(const struct want_tg *w, const json_t *m)
{
    return (w->chat == 0 || json_integer_value(json_object_get(m, "chat_id")) == w->chat) &&
           (w->thread == 0 ||
            json_integer_value(json_object_get(m, "message_thread_id")) == w->thread);
}

static const char *msg_words(struct xc *x, const json_t *m)
{
    int64_t thread = json_integer_value(json_object_get(m, "message_thread_id"));
    return expect_say(x, "message %" PRId64 " to chat %" PRId64 "%s%s at %s",
                      (int64_t)json_integer_value(json_object_get(m, "message_id")),
                      (int64_t)json_integer_value(json_object_get(m, "chat_id")),
                      thread ? " topic " : "",
                      thread ? expect_say(x, "%" PRId64, thread) : "",
                      expect_at(x, json_integer_value(json_object_get(m, "date")) * 1000));
}

struct cand {
    const json_t *m;
    size_t score;            /* shared run with the wanted text */
    bool elsewhere;          /* the wanted text, at the wrong place */
};

static int by_closeness(const void *a, const void *b)
{
    const struct cand *p = a, *q = b;
    if (p->elsewhere != q->elsewhere)
        return p->elsewhere ? -1 : 1;
    return p->score < q->score ? 1 : p->score > q->score ? -1 : 0;
}

/* Up to three near misses among every message sent since the start. */
static void near_misses(struct xc *x, const struct want_tg *w, const json_t *all)
{
    const char *wanted = w->text != NULL ? w->text : w->contains;
    size_t n = json_array_size(all), k = 0, i;
    struct cand *c = mem_alloc((n + 1) * sizeof *c);
    const json_t *m;
    json_array_foreach ((json_t *)all, i, m) {
        const char *t = text_of(m);
        bool here = place_ok(w, m), good = text_ok(w, t);
        if (t == NULL || (here && good) || (!here && !good))
            continue;
        c[k++] = (struct cand){ .m = m, .elsewhere = good,
                                .score = wanted != NULL ? common_run(wanted, t) : 0 };
    }
    qsort(c, k, sizeof *c, by_closeness);
    for (i = 0; i < k && i < 3; i++) {
        json_t *t = json_string(text_of(c[i].m));
        expect_near(x, msg_words(x, c[i].m),
                    c[i].elsewhere ? expect_say(x, "the wanted text went here, not to %s: %s",
                                                w->place, expect_show(x, t))
                                   : expect_say(x, "text: %s", expect_show(x, t)));
        expect_event(x, json_integer_value(json_object_get(c[i].m, "date")) * 1000,
                     LANE_TELEGRAM, LANE_CUSTOMER, expect_say(x, "near miss: %s",
                                                              msg_words(x, c[i].m)),
                     json_string_value(t));
        json_decref(t);
    }
    mem_free(c);
}

/* Too many: every match is worth seeing (a message sent twice). */
static void extra_matches(struct xc *x, const struct want_tg *w, const json_t *all)
{
    size_t i, k = 0;
    const json_t *m;
    json_array_foreach ((json_t *)all, i, m) {
        if (!place_ok(w, m) || !text_ok(w, text_of(m)))
            continue;
        if (k++ == 3)
            break;
        json_t *t = json_string(text_of(m));
        expect_near(x, msg_words(x, m), expect_say(x, "matched: %s", expect_show(x, t)));
        json_decref(t);
    }
}

/* Where the step looks: a customer's chat or a ticket's topic. */
static int resolve_place(struct xc *x, struct want_tg *w, const char **why, struct err *e)
{
    const char *chat, *topic;
    int rc = expect_arg_text(x, "chat", &chat, e);
    if (rc == 0)
        rc = expect_arg_text(x, "topic", &topic, e);
    if (rc != 0)
        return rc;
    *why = NULL;
    w->place = "any chat";
    if (chat != NULL && topic != NULL)
        return err_set(e, ERR_INVAL, "give 'chat' or 'topic', not both");
    if (chat != NULL) {
        const struct scenario_customer *cu = env_customer(x->env, chat);
        if (cu == NULL)
            return err_set(e, ERR_INVAL, "unknown customer '%s'", chat);
        w->chat = cu->tg_user_id;
        w->place = expect_say(x, "%s's chat", chat);
    } else if (topic != NULL) {
        char *end;
        long long id = strtoll(topic, &end, 10);
        if (*end != '\0' || id <= 0)
            return err_set(e, ERR_INVAL, "'topic: %s' is not a ticket id", topic);
        char path[64];
        json_t *t;
        snprintf(path, sizeof path, "/v1/tickets/%lld", id);
        if ((rc = expect_get(x, path, &t, e)) != 0)
            return rc;
        w->place = expect_say(x, "the topic of ticket %lld", id);
        w->chat = x->env->group_chat_id;
        w->thread = json_integer_value(json_object_get(t, "topic_id"));
        if (w->thread == 0)
            *why = expect_say(x, "ticket %lld has no topic", id);
        json_decref(t);
    }
    return 0;
}

int expect_tg_step(struct xc *x, bool *held, json_t **cap, struct err *e)
{
    struct want_tg w = {0};
    const char *why;
    if (x->env->tg == NULL)
        return err_set(e, ERR_INVAL, "expect_telegram needs the fake Telegram");
    int rc = resolve_place(x, &w, &why, e);
    if (rc == 0)
        rc = expect_arg_text(x, "text", &w.text, e);
    if (rc == 0)
        rc = expect_arg_text(x, "contains", &w.contains, e);
    if (rc != 0)
        return rc;
    int64_t count = expect_arg_int(x, "count", -1);
    x->out->expected = expect_say(
        x, "%s received %s message%s%s%s%s%s since the scenario started", w.place,
        count >= 0 ? expect_say(x, "exactly %" PRId64, count) : "a",
        count == 1 || count < 0 ? "" : "s", w.text ? " with text " : "",
        w.text ? expect_say(x, "\"%s\"", w.text) : "", w.contains ? " containing " : "",
        w.contains ? expect_say(x, "\"%s\"", w.contains) : "");
    if (why != NULL) {
        x->out->seen = why;
        return 0;
    }
    struct fake_tg_sent_filter f = { .bot_id = x->env->bot_id, .since = x->env->tg_since };
    json_t *log = fake_tg_sent(x->env->tg, &f);
    json_t *all = json_array();
    json_t *m, *first = NULL;
    size_t i, matched = 0, here = 0;
    json_array_foreach (json_object_get(log, "sent"), i, m) {
        const char *method = json_string_value(json_object_get(m, "method"));
        if (new_message(method))
            json_array_append(all, m);
        else if (method != NULL && strncmp(method, "editMessage", 11) == 0)
            fold_edit(all, m);
    }
    json_array_foreach (all, i, m) {
        if (!place_ok(&w, m))
            continue;
        here++;
        if (text_ok(&w, text_of(m)) && matched++ == 0)
            first = m;
    }
    *held = count >= 0 ? (int64_t)matched == count : matched > 0;
    if (!*held) {
        x->out->seen = expect_say(x, "%zu matching message%s (of %zu sent to %s)", matched,
                                  matched == 1 ? "" : "s", here, w.place);
        if (count >= 0 && (int64_t)matched > count)
            extra_matches(x, &w, all);
        near_misses(x, &w, all);
    }
    if (cap != NULL && first != NULL)
        *cap = json_incref(first);
    json_decref(all);
    json_decref(log);
    return 0;
}
