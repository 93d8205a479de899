/*
 * expect_thread.c — expect_thread: a ticket's thread as the CRM API shows
 * it (GET /v1/tickets/{id}/thread) — how many entries, entry patterns in
 * order, and completeness (no gap in seq, every customer message that the
 * fake Telegram holds for the ticket's lifetime present).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "check/expect_impl.h"
#include "check/fake_tg.h"
#include "check/jpath.h"

/*
 * An entry pattern as fields for expect_fields: a lone string means "text
 * contains it"; in a mapping, `author: customer` means author.type and
 * `contains: x` means text contains x; other keys are fields of the entry.
 */
static json_t *pattern_fields(const json_t *p)
{
    json_t *f = json_object();
    if (json_is_string(p)) {
        json_object_set_new(f, "text", json_pack("{sO}", "contains", p));
        return f;
    }
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)p, k, v) {
        if (strcmp(k, "author") == 0 && (json_is_string(v) || expect_is_matcher(v)))
            json_object_set(f, "author.type", v);
        else if (strcmp(k, "contains") == 0)
            json_object_set_new(f, "text", json_pack("{sO}", "contains", v));
        else
            json_object_set(f, k, v);
    }
    return f;
}

/* "seq 4 (agent message \"Hello...\")" for reports. */
static const char *entry_words(struct xc *x, const json_t *en)
{
    char text[64];
    const char *t = json_string_value(json_object_get(en, "text"));
    snprintf(text, sizeof text, "%s", t != NULL ? t : "");
    if (t != NULL && strlen(t) >= sizeof text)
        memcpy(text + sizeof text - 4, "...", 4);
    return expect_say(x, "seq %" PRId64 " (%s %s \"%s\")",
                      (int64_t)json_integer_value(json_object_get(en, "seq")),
                      json_string_value(json_object_get(json_object_get(en, "author"), "type")),
                      json_string_value(json_object_get(en, "kind")), text);
}

/*
 * Place the patterns in order, each on the first entry after the previous
 * one's (greedy is exact for a subsequence). On the first that cannot be
 * placed, say why into `fails`, with near misses: the entry after the
 * previous match that met most fields, and an entry before it that matches
 * (out of order).
 */
static int place_patterns(struct xc *x, const json_t *pats, const json_t *entries,
                          struct buf *fails, struct err *e)
{
    size_t n = json_array_size(entries), pos = 0, k;
    const json_t *p;
    int rc = 0;
    json_array_foreach ((json_t *)pats, k, p) {
        json_t *f = pattern_fields(p);
        size_t best = n, best_failed = SIZE_MAX, found = n;
        struct buf best_diff;
        buf_init(&best_diff, 0);
        for (size_t i = pos; rc == 0 && i < n && found == n; i++) {
            struct buf d;
            size_t failed;
            buf_init(&d, 0);
            rc = expect_fields(f, json_array_get(entries, i), &x->t, &d, &failed, e);
            if (rc == 0 && failed == 0)
                found = i;
            else if (rc == 0 && failed < best_failed) {
                best = i;
                best_failed = failed;
                buf_release(&best_diff);
                best_diff = d;
                buf_init(&d, 0);
            }
            buf_release(&d);
        }
        if (rc == 0 && found == n) {
            const char *after = pos > 0 ? entry_words(x, json_array_get(entries, pos - 1))
                                        : "the start";
            buf_printf(fails, "%sentry #%zu %s: no match after %s", fails->len ? "\n" : "",
                       k + 1, expect_show(x, p), after);
            if (best < n)
                expect_near(x, expect_say(x, "%s (closest)", entry_words(x, json_array_get(
                                              entries, best))), buf_str(&best_diff));
            for (size_t i = 0; i < pos; i++) {
                size_t failed;
                struct buf d;
                buf_init(&d, 0);
                rc = expect_fields(f, json_array_get(entries, i), &x->t, &d, &failed, e);
                buf_release(&d);
                if (rc == 0 && failed == 0) {
                    expect_near(x, expect_say(x, "%s (out of order)",
                                              entry_words(x, json_array_get(entries, i))),
                                expect_say(x, "matches entry #%zu but comes before %s", k + 1,
                                           after));
                    break;
                }
            }
        }
        buf_release(&best_diff);
        json_decref(f);
        if (rc != 0 || found == n)
            return rc;
        pos = found + 1;
    }
    return 0;
}

/* Seq must run 1, 2, 3 ... with nothing missing or repeated. */
static void check_seqs(struct xc *x, const json_t *entries, struct buf *fails)
{
    int64_t want = 1, at_prev = INT64_MIN;
    size_t i;
    const json_t *en;
    json_array_foreach ((json_t *)entries, i, en) {
        int64_t seq = json_integer_value(json_object_get(en, "seq")), at;
        const char *ats = json_string_value(json_object_get(en, "at"));
        if (ats != NULL && clock_parse_iso(ats, &at) == 0) {
            if (at < at_prev) {
                buf_printf(fails, "%sseq %" PRId64 " is dated %s, before the entry ahead of it",
                           fails->len ? "\n" : "", seq, ats);
                expect_near(x, entry_words(x, en), "its time goes back");
            }
            at_prev = at;
        }
        if (seq != want) {
            buf_printf(fails, "%sseq %" PRId64 " follows seq %" PRId64 " (%s)",
                       fails->len ? "\n" : "", seq, want - 1,
                       seq > want ? "entries missing" : "out of order or repeated");
            expect_near(x, entry_words(x, en), expect_say(x, "want seq %" PRId64, want));
        }
        want = seq + 1;
    }
}

/* Whether the thread holds the customer's Telegram message chat/mid. */
static bool same_kind(const json_t *en, const char *kind)
{
    const char *k = json_string_value(json_object_get(en, "kind"));
    return k != NULL && strcmp(k, kind) == 0;
}

/* The entries holding the customer's Telegram message chat/mid: how many,
 * and the index of the first in *at. */
static size_t find_message(const json_t *entries, int64_t chat, int64_t mid, size_t *at)
{
    size_t i, n = 0;
    const json_t *en;
    json_array_foreach ((json_t *)entries, i, en) {
        const json_t *tg = json_object_get(en, "telegram");
        if (json_integer_value(json_object_get(tg, "chat_id")) == chat &&
            json_integer_value(json_object_get(tg, "message_id")) == mid && n++ == 0)
            *at = i;
    }
    return n;
}

/* Where a side of the conversation writes, as the fake Telegram holds it. */
struct side {
    const char *who;         /* "customer", "agent" (report words) */
    int64_t chat, thread;    /* the chat, and the topic in it (0: none) */
    int64_t from;            /* only messages from this user; 0: anyone but the bot */
};

/*
 * Every message one side wrote (as the fake holds them) from the ticket's
 * creation to its closing, commands excepted (/start opens no ticket; a
 * topic command's effects are checked with `entries`), must be an entry —
 * exactly once, in the order written, with its text as last edited.
 */
static void check_side(struct xc *x, const struct side *sd, int64_t from_ms, int64_t until_ms,
                       const json_t *entries, struct buf *fails)
{
    json_t *box = fake_tg_messages(x->env->tg, sd->chat, x->env->bot_id, sd->thread);
    int64_t prev_mid = 0;
    size_t prev_at = 0;
    size_t i;
    const json_t *m;
    json_array_foreach (json_object_get(box, "messages"), i, m) {
        const char *text = json_string_value(json_object_get(m, "text"));
        int64_t date_ms = json_integer_value(json_object_get(m, "date")) * 1000;
        int64_t mid = json_integer_value(json_object_get(m, "message_id"));
        int64_t from = json_integer_value(json_object_get(json_object_get(m, "from"), "id"));
        /* dates are whole seconds: the creating message may be up to 999 ms "before" */
        if ((sd->from != 0 ? from != sd->from : from == x->env->bot_id || from == 0) ||
            date_ms < from_ms - 999 || date_ms > until_ms || text == NULL || text[0] == '/')
            continue;
        size_t at = 0, n = find_message(entries, sd->chat, mid, &at);
        if (n > 0) {
            /* once, in the order written, with the text as last edited */
            const json_t *en = json_array_get(entries, at);
            const char *has = json_string_value(json_object_get(en, "text"));
            bool twice = n > 1, late = prev_mid != 0 && at < prev_at;
            bool changed = has == NULL || strcmp(has, text) != 0;
            if (twice)
                buf_printf(fails, "%s%s message %" PRId64 " is in the thread %zu times",
                           fails->len ? "\n" : "", sd->who, mid, n);
            if (late)
                buf_printf(fails, "%s%s message %" PRId64 " comes before message %" PRId64
                           ", written earlier", fails->len ? "\n" : "", sd->who, mid, prev_mid);
            if (changed)
                buf_printf(fails, "%s%s message %" PRId64 ": want the text %s, got %s",
                           fails->len ? "\n" : "", sd->who, mid,
                           expect_show(x, json_object_get(m, "text")),
                           expect_show(x, json_object_get(en, "text")));
            if (twice || late || changed)
                expect_near(x, entry_words(x, en), expect_say(x, "Telegram message %" PRId64,
                                                                mid));
            prev_mid = mid;
            prev_at = at;
            continue;
        }
        buf_printf(fails, "%s%s message %" PRId64 " %s is not in the thread",
                   fails->len ? "\n" : "", sd->who, mid,
                   expect_show(x, json_object_get(m, "text")));
        expect_near(x, expect_say(x, "Telegram message %" PRId64 " from %" PRId64, mid, from),
                    expect_say(x, "sent at %s, missing from the thread", expect_at(x, date_ms)));
        expect_event(x, date_ms, LANE_CUSTOMER, LANE_TELEGRAM,
                     expect_say(x, "message %" PRId64 " lost", mid), text);
    }
    json_decref(box);
}

/* The customer's messages in her chat, and the agents' in the ticket's topic. */
static int check_messages(struct xc *x, const json_t *t, const json_t *entries,
                          struct buf *fails, struct err *e)
{
    if (x->env->tg == NULL)
        return err_set(e, ERR_INVAL, "'complete' needs the fake Telegram to know what was "
                       "written");
    int64_t user = json_integer_value(json_object_get(json_object_get(t, "customer"),
                                                      "telegram_user_id"));
    int64_t from_ms, until_ms = INT64_MAX;
    const json_t *closed = json_object_get(t, "closed_at");
    if (clock_parse_iso(json_string_value(json_object_get(t, "created_at")), &from_ms) != 0)
        return err_set(e, ERR_INVAL, "the ticket's created_at is not a time");
    if (json_is_string(closed) && clock_parse_iso(json_string_value(closed), &until_ms) != 0)
        until_ms = INT64_MAX;
    struct side customer = { "customer", user, 0, user };
    check_side(x, &customer, from_ms, until_ms, entries, fails);
    int64_t topic = json_integer_value(json_object_get(t, "topic_id"));
    if (topic != 0 && x->env->group_chat_id != 0) {
        struct side agents = { "agent", x->env->group_chat_id, topic, 0 };
        check_side(x, &agents, from_ms, until_ms, entries, fails);
    }
    return 0;
}

int expect_thread_step(struct xc *x, bool *held, json_t **cap, struct err *e)
{
    json_t *t = NULL, *th = NULL, *pats = NULL;
    const char *why, *who;
    struct buf fails, want;
    buf_init(&fails, 0);
    buf_init(&want, 0);
    int64_t count = expect_arg_int(x, "count", -1);
    int complete = expect_arg_bool(x, "complete");
    int rc = expect_arg_json(x, "entries", &pats, e);
    if (rc == 0)
        rc = expect_ticket_of(x, &t, &why, &who, e);
    if (rc != 0)
        goto out;
    buf_printf(&want, "the thread of %s", who);
    const char *sep = ": ";
    if (count >= 0) {
        buf_printf(&want, "%s%" PRId64 " message entr%s", sep, count, count == 1 ? "y" : "ies");
        sep = "; ";
    }
    if (json_array_size(pats) > 0) {
        buf_printf(&want, "%sentries in this order: %s", sep, expect_show(x, pats));
        sep = "; ";
    }
    if (complete == 1)
        buf_printf(&want, "%scomplete (seq without gaps, every customer message present)", sep);
    x->out->expected = expect_say(x, "%s", buf_str(&want));
    if (t == NULL) {
        x->out->seen = why;
        goto out;
    }
    char path[64];
    snprintf(path, sizeof path, "/v1/tickets/%" PRId64 "/thread",
             (int64_t)json_integer_value(json_object_get(t, "id")));
    if ((rc = expect_get(x, path, &th, e)) != 0)
        goto out;
    const json_t *entries = json_object_get(th, "entries");
    /* count is of messages (docs/scenarios.md): notes and events come and go
     * with routing, SLA and commands, and are checked with `entries` */
    size_t n = 0, i;
    const json_t *en;
    json_array_foreach ((json_t *)entries, i, en)
        n += same_kind(en, "message");
    if (count >= 0 && (int64_t)n != count)
        buf_printf(&fails, "count: want %" PRId64 " message entries, got %zu (of %zu entries)",
                   count, n, json_array_size(entries));
    if (pats != NULL && (rc = place_patterns(x, pats, entries, &fails, e)) != 0)
        goto out;
    if (complete == 1) {
        check_seqs(x, entries, &fails);
        if ((rc = check_messages(x, t, entries, &fails, e)) != 0)
            goto out;
    }
    *held = fails.len == 0;
    if (!*held)
        x->out->seen = expect_say(x, "%s", buf_str(&fails));
    if (cap != NULL)
        *cap = json_incref(th);
out:
    buf_release(&fails);
    buf_release(&want);
    json_decref(pats);
    json_decref(th);
    json_decref(t);
    return rc;
}
