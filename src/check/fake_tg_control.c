/*
 * fake_tg_control.c — the fake Telegram's control API, `/control/...`.
 *
 * JSON in, JSON out, errors in the project's shape
 * {"error":{"code","message","field"?}}. Every route is a thin adapter over
 * a function of fake_tg.h, so in-process callers can use either. The
 * routes, with examples, are in docs/fake-telegram.md.
 */
#include "check/fake_tg_impl.h"

#include "base/jx.h"
#include "base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS 10000
#define MAX_METHODS 64

static json_t *err_json(const struct err *e)
{
    json_t *o = json_object();
    int code = e->code ? e->code : ERR_INTERNAL;
    json_object_set_new(o, "code", json_string(err_id(code)));
    json_object_set_new(o, "message", json_string(e->msg[0] ? e->msg : err_id(code)));
    if (e->field[0])
        json_object_set_new(o, "field", json_string(e->field));
    return json_pack("{s:o}", "error", o);
}

/* Status and body for an error. */
static int fail(const struct err *e, json_t **out)
{
    *out = err_json(e);
    return err_http_status(e->code ? e->code : ERR_INTERNAL);
}

/* "bot": absent → 0 (the first bot), a number → that id, a string → by token. */
static int bot_ref(struct fake_tg *f, json_t *body, int64_t *id, struct err *e)
{
    json_t *v = json_object_get(body, "bot");
    *id = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *id = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return err_field(e, ERR_INVAL, "bot", "'bot' must be a bot id or token");
    pthread_mutex_lock(&f->mu);
    const struct ftg_bot *b = fake_tg_st_bot_by_token(f, json_string_value(v));
    *id = b ? b->u.id : -1;
    pthread_mutex_unlock(&f->mu);
    if (*id < 0)
        return err_field(e, ERR_NOTFOUND, "bot", "unknown bot token");
    return 0;
}

/* An array of integers → heap array (mem_free). */
static int id_list(json_t *body, const char *key, int64_t **out, size_t *n, struct err *e)
{
    json_t *a = json_object_get(body, key);
    *out = NULL;
    *n = 0;
    if (a == NULL)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_IDS)
        return err_field(e, ERR_INVAL, key, "'%s' must be an array of user ids", key);
    *out = mem_alloc((json_array_size(a) + 1) * sizeof **out);
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) {
        if (!json_is_integer(x)) {
            mem_freep(out);
            return err_field(e, ERR_INVAL, key, "'%s' must be an array of user ids", key);
        }
        (*out)[(*n)++] = json_integer_value(x);
    }
    return 0;
}

static int64_t q_int(const char *(*get)(void *, const char *), void *qud, const char *name,
                     int64_t def)
{
    const char *v = get ? get(qud, name) : NULL;
    if (v == NULL || *v == '\0')
        return def;
    return strtoll(v, NULL, 10);
}

static int r_bots(struct fake_tg *f, json_t *body, json_t **out, struct err *e)
{
    static const char *const fields[] = {"token", "first_name", "username", NULL};
    const char *token = NULL, *fn = NULL, *un = NULL;
    if ((jx_check_fields(body, fields, "", e)) != 0 ||
        (jx_get_str(body, "token", true, &token, e)) != 0 ||
        (jx_get_str(body, "first_name", false, &fn, e)) != 0 ||
        (jx_get_str(body, "username", false, &un, e)) != 0 ||
        (fake_tg_add_bot(f, token, fn, un, e)) != 0)
        return fail(e, out);
    pthread_mutex_lock(&f->mu);
    const struct ftg_bot *b = fake_tg_st_bot_by_token(f, token);
    *out = fake_tg_st_user_json(&b->u);
    pthread_mutex_unlock(&f->mu);
    return 201;
}

static int r_users(struct fake_tg *f, json_t *body, json_t **out, struct err *e)
{
    static const char *const fields[] = {"id", "first_name", "last_name", "username",
                                         "language_code", "is_premium", NULL};
    struct fake_tg_user u = {0};
    if ((jx_check_fields(body, fields, "", e)) != 0 ||
        (jx_get_int(body, "id", true, &u.id, e)) != 0 ||
        (jx_get_str(body, "first_name", true, &u.first_name, e)) != 0 ||
        (jx_get_str(body, "last_name", false, &u.last_name, e)) != 0 ||
        (jx_get_str(body, "username", false, &u.username, e)) != 0 ||
        (jx_get_str(body, "language_code", false, &u.language_code, e)) != 0 ||
        (jx_get_bool(body, "is_premium", false, &u.is_premium, e)) != 0 ||
        (fake_tg_add_user(f, &u, e)) != 0)
        return fail(e, out);
    pthread_mutex_lock(&f->mu);
    *out = fake_tg_st_user_json(fake_tg_st_user(f, u.id));
    pthread_mutex_unlock(&f->mu);
    return 201;
}

static int r_groups(struct fake_tg *f, json_t *body, json_t **out, struct err *e)
{
    static const char *const fields[] = {"id", "title", "username", "is_forum",
                                         "bot_is_admin", "members", "admins", NULL};
    struct fake_tg_group g = {.bot_is_admin = true};
    int64_t *members = NULL, *admins = NULL;
    int rc;
    if ((rc = jx_check_fields(body, fields, "", e)) != 0 ||
        (rc = jx_get_int(body, "id", true, &g.id, e)) != 0 ||
        (rc = jx_get_str(body, "title", true, &g.title, e)) != 0 ||
        (rc = jx_get_str(body, "username", false, &g.username, e)) != 0 ||
        (rc = jx_get_bool(body, "is_forum", false, &g.is_forum, e)) != 0 ||
        (rc = jx_get_bool(body, "bot_is_admin", false, &g.bot_is_admin, e)) != 0 ||
        (rc = id_list(body, "members", &members, &g.nmembers, e)) != 0 ||
        (rc = id_list(body, "admins", &admins, &g.nadmins, e)) != 0)
        goto out;
    g.members = members;
    g.admins = admins;
    rc = fake_tg_add_group(f, &g, e);
out:
    mem_free(members);
    mem_free(admins);
    if (rc != 0)
        return fail(e, out);
    pthread_mutex_lock(&f->mu);
    *out = fake_tg_st_chat_json(f, fake_tg_st_chat(f, g.id, 0));
    pthread_mutex_unlock(&f->mu);
    return 201;
}

static int r_messages(struct fake_tg *f, json_t *body, json_t **out, struct err *e)
{
    static const char *const fields[] = {"from", "chat_id", "bot", "text",
                                         "message_thread_id", "reply_to", NULL};
    struct fake_tg_send s = {0};
    if ((jx_check_fields(body, fields, "", e)) != 0 ||
        (jx_get_int(body, "from", true, &s.from, e)) != 0 ||
        (jx_get_int(body, "chat_id", false, &s.chat_id, e)) != 0 ||
        (bot_ref(f, body, &s.bot_id, e)) != 0 ||
        (jx_get_str(body, "text", true, &s.text, e)) != 0 ||
        (jx_get_int(body, "message_thread_id", false, &s.thread_id, e)) != 0 ||
        (jx_get_int(body, "reply_to", false, &s.reply_to, e)) != 0 ||
        (fake_tg_user_send(f, &s, out, e)) != 0)
        return fail(e, out);
    return 201;
}

static int r_edits(struct fake_tg *f, json_t *body, json_t **out, struct err *e)
{
    static const char *const fields[] = {"from", "chat_id", "bot", "message_id", "text", NULL};
    int64_t from = 0, chat = 0, bot = 0, mid = 0;
    const char *text = NULL;
    if ((jx_check_fields(body, fields, "", e)) != 0 ||
        (jx_get_int(body, "from", true, &from, e)) != 0 ||
        (jx_get_int(body, "chat_id", false, &chat, e)) != 0 ||
        (bot_ref(f, body, &bot, e)) != 0 ||
        (jx_get_int(body, "message_id", true, &mid, e)) != 0 ||
        (jx_get_str(body, "text", true, &text, e)) != 0 ||
        (fake_tg_user_edit(f, from, chat, bot, mid, text, out, e)) != 0)
        return fail(e, out);
    return 201;
}

static int r_callbacks(struct fake_tg *f, json_t *body, json_t **out, struct err *e)
{
    static const char *const fields[] = {"from", "chat_id", "bot", "message_id", "data", NULL};
    int64_t from = 0, chat = 0, bot = 0, mid = 0;
    const char *data = NULL;
    if ((jx_check_fields(body, fields, "", e)) != 0 ||
        (jx_get_int(body, "from", true, &from, e)) != 0 ||
        (jx_get_int(body, "chat_id", false, &chat, e)) != 0 ||
        (bot_ref(f, body, &bot, e)) != 0 ||
        (jx_get_int(body, "message_id", true, &mid, e)) != 0 ||
        (jx_get_str(body, "data", false, &data, e)) != 0 ||
        (fake_tg_user_press(f, from, chat, bot, mid, data, out, e)) != 0)
        return fail(e, out);
    return 201;
}

static int parse_kind(const char *k, enum fake_tg_fault_kind *out)
{
    static const struct {
        const char *name;
        enum fake_tg_fault_kind kind;
    } kinds[] = {{"partition", FAKE_TG_PARTITION}, {"http_error", FAKE_TG_HTTP_ERROR},
                 {"rate_limit", FAKE_TG_RATE_LIMIT}, {"slow", FAKE_TG_SLOW}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return 0;
        }
    return ERR_INVAL;
}

static int r_faults(struct fake_tg *f, json_t *body, json_t **out, struct err *e)
{
    static const char *const fields[] = {"kind", "mode", "status", "retry_after", "calls",
                                         "duration_ms", "methods", "rate", "window_ms",
                                         "delay_ms", NULL};
    struct fake_tg_fault ft = {0};
    const char *kind = NULL, *mode = NULL;
    int64_t status = 500, retry = 0;
    const char *ms[MAX_METHODS];
    if ((jx_check_fields(body, fields, "", e)) != 0 ||
        (jx_get_str(body, "kind", true, &kind, e)) != 0 ||
        (jx_get_str(body, "mode", false, &mode, e)) != 0 ||
        (jx_get_int(body, "status", false, &status, e)) != 0 ||
        (jx_get_int(body, "retry_after", false, &retry, e)) != 0 ||
        (jx_get_int(body, "calls", false, &ft.calls, e)) != 0 ||
        (jx_get_int(body, "duration_ms", false, &ft.duration_ms, e)) != 0 ||
        (jx_get_int(body, "rate", false, &ft.rate, e)) != 0 ||
        (jx_get_int(body, "window_ms", false, &ft.window_ms, e)) != 0 ||
        (jx_get_int(body, "delay_ms", false, &ft.delay_ms, e)) != 0)
        return fail(e, out);
    if (parse_kind(kind, &ft.kind) != 0) {
        err_field(e, ERR_INVAL, "kind",
                  "kind must be partition, http_error, rate_limit or slow, not '%s'", kind);
        return fail(e, out);
    }
    if (mode != NULL && strcmp(mode, "refuse") != 0 && strcmp(mode, "hang") != 0) {
        err_field(e, ERR_INVAL, "mode", "mode must be refuse or hang");
        return fail(e, out);
    }
    ft.hang = mode != NULL && strcmp(mode, "hang") == 0;
    if (status < 500 || status > 599 || retry < 0 || retry > 86400) {
        err_field(e, ERR_INVAL, status < 500 || status > 599 ? "status" : "retry_after",
                  "status must be 5xx and retry_after 0..86400");
        return fail(e, out);
    }
    ft.status = (int)status;
    ft.retry_after = (int)retry;
    json_t *m = json_object_get(body, "methods");
    if (m != NULL) {
        size_t i;
        json_t *x;
        if (!json_is_array(m) || json_array_size(m) > MAX_METHODS) {
            err_field(e, ERR_INVAL, "methods", "methods must be an array of method names");
            return fail(e, out);
        }
        json_array_foreach(m, i, x) {
            if (!json_is_string(x)) {
                err_field(e, ERR_INVAL, "methods", "methods must be an array of method names");
                return fail(e, out);
            }
            ms[i] = json_string_value(x);
        }
        ft.methods = ms;
        ft.nmethods = json_array_size(m);
    }
    int64_t id = 0;
    if (fake_tg_fault_add(f, &ft, &id, e) != 0)
        return fail(e, out);
    *out = json_pack("{s:I}", "id", (json_int_t)id);
    return 201;
}

static int r_block(struct fake_tg *f, int64_t uid, json_t *body, bool blocked, json_t **out,
                   struct err *e)
{
    int64_t bot = 0;
    if (bot_ref(f, body, &bot, e) != 0 || fake_tg_block(f, uid, bot, blocked, e) != 0)
        return fail(e, out);
    *out = json_pack("{s:I,s:b}", "user_id", (json_int_t)uid, "blocked", blocked);
    return 200;
}

static int not_found(const char *method, const char *path, json_t **out)
{
    struct err e = {0};
    err_set(&e, ERR_NOTFOUND, "no control route %s %s", method, path);
    return fail(&e, out);
}

/* Parse "<int>" or "<int>/<rest>"; returns the end or NULL. */
static const char *path_int(const char *p, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno != 0)
        return NULL;
    *out = v;
    return end;
}

int fake_tg_control(struct fake_tg *f, const char *method, const char *path,
                    const char *(*get_query)(void *qud, const char *name), void *qud,
                    json_t *body, json_t **out)
{
    struct err e = {0};
    json_t *empty = NULL;
    if (body == NULL)
        body = empty = json_object();
    int status;
    bool get = strcmp(method, "GET") == 0, postm = strcmp(method, "POST") == 0,
         del = strcmp(method, "DELETE") == 0;
    const char *r = strncmp(path, "/control/", 9) == 0 ? path + 9 : "";
    int64_t a = 0, b = 0;
    const char *rest;

    if (postm && strcmp(r, "bots") == 0) {
        status = r_bots(f, body, out, &e);
    } else if (postm && strcmp(r, "users") == 0) {
        status = r_users(f, body, out, &e);
    } else if (postm && strncmp(r, "users/", 6) == 0 && (rest = path_int(r + 6, &a)) &&
               (strcmp(rest, "/block") == 0 || strcmp(rest, "/unblock") == 0)) {
        status = r_block(f, a, body, strcmp(rest, "/block") == 0, out, &e);
    } else if (postm && strcmp(r, "groups") == 0) {
        status = r_groups(f, body, out, &e);
    } else if (postm && strcmp(r, "messages") == 0) {
        status = r_messages(f, body, out, &e);
    } else if (get && strcmp(r, "messages") == 0) {
        *out = fake_tg_messages(f, q_int(get_query, qud, "chat_id", 0),
                                q_int(get_query, qud, "bot", 0),
                                q_int(get_query, qud, "message_thread_id", 0));
        status = 200;
        if (*out == NULL) {
            err_field(&e, ERR_NOTFOUND, "chat_id", "no such chat");
            status = fail(&e, out);
        }
    } else if (postm && strcmp(r, "edits") == 0) {
        status = r_edits(f, body, out, &e);
    } else if (postm && strcmp(r, "callbacks") == 0) {
        status = r_callbacks(f, body, out, &e);
    } else if (get && strcmp(r, "sent") == 0) {
        struct fake_tg_sent_filter flt = {
            .chat_id = q_int(get_query, qud, "chat_id", 0),
            .thread_id = q_int(get_query, qud, "message_thread_id", 0),
            .bot_id = q_int(get_query, qud, "bot", 0),
            .since = q_int(get_query, qud, "since", 0),
            .wait_ms = q_int(get_query, qud, "wait_ms", 0),
        };
        *out = fake_tg_sent(f, &flt);
        status = 200;
    } else if (get && strcmp(r, "topics") == 0) {
        *out = fake_tg_topics(f, q_int(get_query, qud, "chat_id", 0));
        status = 200;
        if (*out == NULL) {
            err_field(&e, ERR_NOTFOUND, "chat_id", "no such chat");
            status = fail(&e, out);
        }
    } else if (del && strncmp(r, "topics/", 7) == 0 && (rest = path_int(r + 7, &a)) &&
               *rest == '/' && (rest = path_int(rest + 1, &b)) && *rest == '\0') {
        status = fake_tg_delete_topic(f, a, b, &e) == 0 ? 200 : 0;
        if (status == 200)
            *out = json_pack("{s:b}", "deleted", 1);
        else
            status = fail(&e, out);
    } else if (postm && strcmp(r, "faults") == 0) {
        status = r_faults(f, body, out, &e);
    } else if (del && (strcmp(r, "faults") == 0 ||
                       (strncmp(r, "faults/", 7) == 0 && (rest = path_int(r + 7, &a)) &&
                        *rest == '\0' && a > 0))) {
        status = fake_tg_fault_clear(f, a, &e) == 0 ? 200 : 0;
        if (status == 200)
            *out = json_pack("{s:b}", "cleared", 1);
        else
            status = fail(&e, out);
    } else if (get && strcmp(r, "stats") == 0) {
        *out = fake_tg_stats(f);
        status = 200;
    } else if (postm && strcmp(r, "reset") == 0) {
        fake_tg_reset(f);
        *out = json_pack("{s:b}", "reset", 1);
        status = 200;
    } else {
        status = not_found(method, path, out);
    }
    json_decref(empty);
    return status;
}

static const char *req_query(void *qud, const char *name)
{
    return http_req_query(qud, name);
}

void fake_tg_control_handle(struct fake_tg *f, struct http_req *req, struct http_resp *resp)
{
    json_t *body = NULL, *out = NULL;
    struct err e = {0};
    if (req->body_len > 0 && jx_parse_object(req->body, req->body_len, &body, &e) != 0) {
        http_resp_error(resp, 400, &e);
        return;
    }
    resp->status = fake_tg_control(f, req->method, req->path, req_query, req, body, &out);
    resp->content_type = "application/json";
    jx_dump(out, &resp->body);
    json_decref(out);
    json_decref(body);
}
