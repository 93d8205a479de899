/*
 * test_fake_tg.c — the fake Telegram Bot API in-process on port 0, driven
 * with libcurl like a bot would: the envelope, case-insensitive methods,
 * query/form/JSON parameters, the exact error strings, getUpdates
 * offset/limit/long polling, 409 conflicts, forum topics and their service
 * messages, blocked users, faults (429, 5xx, partition) and webhook
 * delivery to a local receiver with the secret header.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/jx.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/metrics.h"
#include "check/fake_tg.h"
#include "http/http_server.h"

#define TOKEN FAKE_TG_DEFAULT_TOKEN
#define STAFF (-1001234567890LL)
#define ANN 1001
#define BOB 2001

static struct fake_tg *fake;
static char base[64];

static void start(void)
{
    log_setup(2, LOG_ERROR, LOG_TEXT);
    curl_global_init(CURL_GLOBAL_ALL);
    struct err e = {0};
    cr_assert_eq(fake_tg_start(NULL, &fake, &e), 0, "%s", e.msg);
    cr_assert_eq(fake_tg_add_bot(fake, TOKEN, "Help Bot", "help_bot", &e), 0, "%s", e.msg);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", fake_tg_port(fake));
    struct fake_tg_user ann = {.id = ANN, .first_name = "Ann", .username = "ann",
                               .language_code = "en"};
    struct fake_tg_user bob = {.id = BOB, .first_name = "Bob", .username = "agent_bob"};
    cr_assert_eq(fake_tg_add_user(fake, &ann, &e), 0, "%s", e.msg);
    cr_assert_eq(fake_tg_add_user(fake, &bob, &e), 0, "%s", e.msg);
    int64_t members[] = {BOB};
    struct fake_tg_group g = {.id = STAFF, .title = "Support staff", .is_forum = true,
                              .bot_is_admin = true, .admins = members, .nadmins = 1};
    cr_assert_eq(fake_tg_add_group(fake, &g, &e), 0, "%s", e.msg);
    struct fake_tg_group plain = {.id = -1009999999999LL, .title = "Plain", .bot_is_admin = true};
    cr_assert_eq(fake_tg_add_group(fake, &plain, &e), 0, "%s", e.msg);
}

static void stop(void)
{
    fake_tg_free(&fake);
    cr_assert_null(fake);
    metrics_free_all();
    curl_global_cleanup();
}

TestSuite(fake_tg, .init = start, .fini = stop, .timeout = 30);

/* ---- a tiny HTTP client --------------------------------------------------- */

struct reply {
    long status;
    CURLcode cc;
    char body[65536];
    size_t len;
    char retry_after[32];
    char ctype[64];
    json_t *json;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t len = size * n;
    size_t room = sizeof r->body - 1 - r->len;
    size_t k = len < room ? len : room;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        sscanf(p + 12, " %31[0-9]", r->retry_after);
    if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
        sscanf(p + 13, " %63[^\r\n]", r->ctype);
    return len;
}

/* method "GET"/"POST"; path after base; ctype NULL = none. */
static void call(struct reply *r, const char *method, const char *path, const char *ctype,
                 const char *body)
{
    memset(r, 0, sizeof *r);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    char ct[128];
    if (ctype != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        hd = curl_slist_append(hd, ct);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    r->cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    json_error_t je;
    r->json = r->len ? json_loadb(r->body, r->len, 0, &je) : NULL;
}

static void done(struct reply *r)
{
    json_decref(r->json);
    r->json = NULL;
}

/* A Bot API call with a JSON body. */
static void api(struct reply *r, const char *method, const char *json)
{
    char path[256];
    snprintf(path, sizeof path, "/bot%s/%s", TOKEN, method);
    call(r, "POST", path, "application/json", json);
}

/* Assert an error answer with exactly this code and description. */
static void expect_err(struct reply *r, long code, const char *desc)
{
    cr_assert_eq(r->status, code, "status %ld, body %s", r->status, r->body);
    cr_assert_not_null(r->json, "%s", r->body);
    cr_assert(json_is_false(json_object_get(r->json, "ok")));
    cr_assert_eq(json_integer_value(json_object_get(r->json, "error_code")), code);
    cr_assert_str_eq(json_string_value(json_object_get(r->json, "description")), desc);
    done(r);
}

static json_t *result(struct reply *r)
{
    cr_assert_eq(r->status, 200, "status %ld, body %s", r->status, r->body);
    cr_assert(json_is_true(json_object_get(r->json, "ok")), "%s", r->body);
    return json_object_get(r->json, "result");
}

static int64_t user_says(int64_t from, int64_t chat, int64_t thread, const char *text)
{
    struct fake_tg_send s = {.from = from, .chat_id = chat, .thread_id = thread, .text = text};
    json_t *out = NULL;
    struct err e = {0};
    cr_assert_eq(fake_tg_user_send(fake, &s, &out, &e), 0, "%s", e.msg);
    int64_t id = json_integer_value(json_object_get(json_object_get(out, "message"),
                                                    "message_id"));
    json_decref(out);
    return id;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- envelope and parameters ------------------------------------------------ */

Test(fake_tg, envelope_and_case_insensitive_methods)
{
    struct reply r;
    call(&r, "GET", "/bot" TOKEN "/getMe", NULL, NULL);
    cr_assert_str_eq(r.ctype, "application/json");
    const char *head = "{\"ok\":true,\"result\":{\"id\":123456,\"is_bot\":true,";
    cr_assert(strncmp(r.body, head, strlen(head)) == 0, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(result(&r), "username")), "help_bot");
    done(&r);
    call(&r, "POST", "/bot" TOKEN "/GETME", NULL, NULL);
    result(&r);
    done(&r);
    call(&r, "GET", "/bot" TOKEN "/gEtMe", NULL, NULL);
    result(&r);
    done(&r);
    /* method from the "method" parameter when the path has none */
    call(&r, "GET", "/bot" TOKEN "/?method=getMe", NULL, NULL);
    result(&r);
    done(&r);
}

Test(fake_tg, query_form_and_json_parameters)
{
    user_says(ANN, 0, 0, "hi");
    struct reply r;
    call(&r, "GET", "/bot" TOKEN "/sendMessage?chat_id=1001&text=from%20query", NULL, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(result(&r), "text")), "from query");
    done(&r);
    call(&r, "POST", "/bot" TOKEN "/sendMessage", "application/x-www-form-urlencoded",
         "chat_id=1001&text=from+form%21");
    cr_assert_str_eq(json_string_value(json_object_get(result(&r), "text")), "from form!");
    done(&r);
    call(&r, "POST", "/bot" TOKEN "/sendMessage", "application/json; charset=utf-8",
         "{\"chat_id\":1001,\"text\":\"from json\",\"reply_markup\":{\"inline_keyboard\":"
         "[[{\"text\":\"Close\",\"callback_data\":\"close:1\"}]]}}");
    json_t *m = result(&r);
    cr_assert_str_eq(json_string_value(json_object_get(m, "text")), "from json");
    cr_assert_not_null(json_object_get(m, "reply_markup"));
    done(&r);
    /* the query string wins over the body */
    call(&r, "POST", "/bot" TOKEN "/sendMessage?text=query%20wins",
         "application/x-www-form-urlencoded", "chat_id=1001&text=body");
    cr_assert_str_eq(json_string_value(json_object_get(result(&r), "text")), "query wins");
    done(&r);
    /* JSON without a JSON content type is not parsed */
    call(&r, "POST", "/bot" TOKEN "/sendMessage", "text/plain",
         "{\"chat_id\":1001,\"text\":\"x\"}");
    expect_err(&r, 400, "Bad Request: message text is empty");
}

/* ---- errors --------------------------------------------------------------------- */

Test(fake_tg, auth_and_path_errors)
{
    struct reply r;
    call(&r, "GET", "/bot999:unknown/getMe", NULL, NULL);
    expect_err(&r, 401, "Unauthorized");
    call(&r, "GET", "/bot0123:x/getMe", NULL, NULL);
    expect_err(&r, 401, "Unauthorized: invalid token specified");
    call(&r, "GET", "/botnocolon/getMe", NULL, NULL);
    expect_err(&r, 401, "Unauthorized: invalid token specified");
    call(&r, "GET", "/foo/getMe", NULL, NULL);
    expect_err(&r, 404, "Not Found");
    call(&r, "GET", "/bot" TOKEN "/noSuchMethod", NULL, NULL);
    expect_err(&r, 404, "Not Found: method not found");
}

Test(fake_tg, send_message_errors)
{
    struct reply r;
    api(&r, "sendMessage", "{\"chat_id\":777,\"text\":\"\"}");
    expect_err(&r, 400, "Bad Request: message text is empty");   /* text before chat */
    api(&r, "sendMessage", "{\"text\":\"x\"}");
    expect_err(&r, 400, "Bad Request: chat_id is empty");
    api(&r, "sendMessage", "{\"chat_id\":777,\"text\":\"x\"}");
    expect_err(&r, 400, "Bad Request: chat not found");
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"x\"}");
    expect_err(&r, 403, "Forbidden: bot can't initiate conversation with a user");
    user_says(ANN, 0, 0, "/start");
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"   \"}");
    expect_err(&r, 400, "Bad Request: text must be non-empty");
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"x\",\"parse_mode\":\"bbcode\"}");
    expect_err(&r, 400, "Bad Request: unsupported parse_mode");
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"a < b\",\"parse_mode\":\"HTML\"}");
    expect_err(&r, 400, "Bad Request: can't parse entities: Unsupported start tag \"\" at "
               "byte offset 2");
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"hi.\",\"parse_mode\":\"MarkdownV2\"}");
    expect_err(&r, 400, "Bad Request: can't parse entities: Character '.' is reserved and "
               "must be escaped with the preceding '\\'");
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"x\",\"reply_markup\":{\"inline_keyboard\":"
        "[[{\"text\":\"t\",\"callback_data\":\"\"}]]}}");
    expect_err(&r, 400, "Bad Request: BUTTON_DATA_INVALID");
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"x\",\"reply_to_message_id\":999}");
    expect_err(&r, 400, "Bad Request: message to be replied not found");
    api(&r, "createForumTopic", "{\"chat_id\":-1009999999999,\"name\":\"t\"}");
    expect_err(&r, 400, "Bad Request: the chat is not a forum");
}

Test(fake_tg, length_limit_counts_utf16_units)
{
    user_says(ANN, 0, 0, "/start");
    /* 2048 emoji = 4096 UTF-16 units: ok; one more ASCII letter: too long */
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"chat_id\":1001,\"text\":\"");
    for (int i = 0; i < 2048; i++)
        buf_puts(&b, "\xF0\x9F\x98\x80");
    buf_puts(&b, "\"}");
    struct reply r;
    api(&r, "sendMessage", buf_str(&b));
    result(&r);
    done(&r);
    b.len -= 2;
    buf_puts(&b, "x\"}");
    api(&r, "sendMessage", buf_str(&b));
    expect_err(&r, 400, "Bad Request: message is too long");
    buf_release(&b);
    /* the same in ASCII: 4096 ok, 4097 too long */
    buf_init(&b, 0);
    buf_puts(&b, "{\"chat_id\":1001,\"text\":\"");
    for (int i = 0; i < 4096; i++)
        buf_putc(&b, 'a');
    buf_puts(&b, "\"}");
    api(&r, "sendMessage", buf_str(&b));
    result(&r);
    done(&r);
    b.len -= 2;
    buf_puts(&b, "a\"}");
    api(&r, "sendMessage", buf_str(&b));
    expect_err(&r, 400, "Bad Request: message is too long");
    buf_release(&b);
}

Test(fake_tg, html_parse_mode_gives_entities)
{
    user_says(ANN, 0, 0, "/start");
    struct reply r;
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"<b>Hi</b> &amp; <i>bye</i>\","
        "\"parse_mode\":\"HTML\"}");
    json_t *m = result(&r);
    cr_assert_str_eq(json_string_value(json_object_get(m, "text")), "Hi & bye");
    json_t *ents = json_object_get(m, "entities");
    cr_assert_eq(json_array_size(ents), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ents, 0), "type")), "bold");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(ents, 1), "offset")), 5);
    done(&r);
}

Test(fake_tg, blocked_user_gets_403)
{
    user_says(ANN, 0, 0, "/start");
    struct err e = {0};
    cr_assert_eq(fake_tg_block(fake, ANN, 0, true, &e), 0, "%s", e.msg);
    struct reply r;
    api(&r, "sendMessage", "{\"chat_id\":1001,\"text\":\"ping\"}");
    expect_err(&r, 403, "Forbidden: bot was blocked by the user");
    /* the bot learnt it through my_chat_member */
    api(&r, "getUpdates", "{\"offset\":-1}");
    json_t *u = json_array_get(result(&r), 0);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
                         json_object_get(u, "my_chat_member"), "new_chat_member"), "status")),
                     "kicked");
    done(&r);
}

/* ---- getUpdates ------------------------------------------------------------------ */

Test(fake_tg, get_updates_offset_confirm_limit)
{
    user_says(ANN, 0, 0, "one");
    user_says(ANN, 0, 0, "two");
    user_says(ANN, 0, 0, "three");
    struct reply r;
    api(&r, "getUpdates", "{\"limit\":2}");
    json_t *res = result(&r);
    cr_assert_eq(json_array_size(res), 2);
    int64_t first = json_integer_value(json_object_get(json_array_get(res, 0), "update_id"));
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(res, 0), "message"), "text")), "one");
    cr_assert(strstr(r.body, ",\n\"message\":") != NULL, "server's ,\\n separator");
    done(&r);
    /* not removed when returned: same answer again */
    api(&r, "getUpdates", "{}");
    cr_assert_eq(json_array_size(result(&r)), 3);
    done(&r);
    /* confirming removes everything below offset */
    char q[64];
    snprintf(q, sizeof q, "{\"offset\":%lld}", (long long)first + 2);
    api(&r, "getUpdates", q);
    res = result(&r);
    cr_assert_eq(json_array_size(res), 1);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(res, 0), "message"), "text")), "three");
    done(&r);
    api(&r, "getWebhookInfo", NULL);
    cr_assert_eq(json_integer_value(json_object_get(result(&r), "pending_update_count")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(result(&r), "url")), "");
    done(&r);
    /* limit is clamped, never an error */
    api(&r, "getUpdates", "{\"limit\":0}");
    cr_assert_eq(json_array_size(result(&r)), 1);
    done(&r);
}

struct later {
    int64_t delay_ms;
    int64_t from, chat, thread;
    const char *text;
};

static void *say_later(void *arg)
{
    const struct later *l = arg;
    usleep((useconds_t)(l->delay_ms * 1000));
    user_says(l->from, l->chat, l->thread, l->text);
    return NULL;
}

Test(fake_tg, long_poll_returns_as_soon_as_an_update_arrives)
{
    struct later l = {.delay_ms = 300, .from = ANN, .text = "wake up"};
    pthread_t t;
    pthread_create(&t, NULL, say_later, &l);
    int64_t t0 = now_ms();
    struct reply r;
    api(&r, "getUpdates", "{\"timeout\":20}");
    int64_t ms = now_ms() - t0;
    pthread_join(t, NULL);
    cr_assert_eq(json_array_size(result(&r)), 1, "%s", r.body);
    cr_assert(ms >= 250 && ms < 3000, "took %lld ms", (long long)ms);
    /* and an empty poll waits for its timeout */
    t0 = now_ms();
    char q[64];
    snprintf(q, sizeof q, "{\"timeout\":1,\"offset\":%lld}",
             (long long)json_integer_value(json_object_get(
                 json_array_get(json_object_get(r.json, "result"), 0), "update_id")) + 1);
    done(&r);
    api(&r, "getUpdates", q);
    ms = now_ms() - t0;
    cr_assert_eq(json_array_size(result(&r)), 0);
    cr_assert(ms >= 900 && ms < 3000, "took %lld ms", (long long)ms);
    done(&r);
}

static void *poll_long(void *arg)
{
    struct reply *r = arg;
    api(r, "getUpdates", "{\"timeout\":10}");
    return NULL;
}

Test(fake_tg, conflict_between_two_pollers_and_with_webhook)
{
    static struct reply a;
    pthread_t t;
    pthread_create(&t, NULL, poll_long, &a);
    usleep(300 * 1000);
    struct reply b;
    api(&b, "getUpdates", "{\"timeout\":0}");
    pthread_join(t, NULL);
    expect_err(&a, 409, "Conflict: terminated by other getUpdates request; make sure that "
               "only one bot instance is running");
    result(&b);
    done(&b);

    /* a parked poll is ended by setWebhook */
    pthread_create(&t, NULL, poll_long, &a);
    usleep(300 * 1000);
    api(&b, "setWebhook", "{\"url\":\"http://127.0.0.1:9/hook\"}");
    cr_assert_str_eq(json_string_value(json_object_get(b.json, "description")),
                     "Webhook was set");
    done(&b);
    pthread_join(t, NULL);
    expect_err(&a, 409, "Conflict: terminated by setWebhook request");
    api(&b, "getUpdates", NULL);
    expect_err(&b, 409, "Conflict: can't use getUpdates method while webhook is active; use "
               "deleteWebhook to delete the webhook first");
    api(&b, "deleteWebhook", NULL);
    cr_assert_str_eq(json_string_value(json_object_get(b.json, "description")),
                     "Webhook was deleted");
    done(&b);
    api(&b, "deleteWebhook", NULL);
    cr_assert_str_eq(json_string_value(json_object_get(b.json, "description")),
                     "Webhook is already deleted");
    done(&b);
}

/* ---- forum topics ----------------------------------------------------------------- */

Test(fake_tg, forum_topic_service_message_and_deleted_topic)
{
    struct reply r;
    api(&r, "createForumTopic", "{\"chat_id\":-1001234567890,\"name\":\"  Ann\\n #1001 \"}");
    json_t *t = result(&r);
    int64_t thread = json_integer_value(json_object_get(t, "message_thread_id"));
    cr_assert_str_eq(json_string_value(json_object_get(t, "name")), "Ann #1001");
    cr_assert_eq(json_integer_value(json_object_get(t, "icon_color")), 7322096);
    cr_assert_gt(thread, 1);
    done(&r);

    api(&r, "getUpdates", "{}");
    json_t *msg = json_object_get(json_array_get(result(&r), 0), "message");
    cr_assert_not_null(json_object_get(msg, "forum_topic_created"), "%s", r.body);
    cr_assert_eq(json_integer_value(json_object_get(msg, "message_thread_id")), thread);
    cr_assert(json_is_true(json_object_get(msg, "is_topic_message")));
    cr_assert_eq(json_integer_value(json_object_get(msg, "message_id")), thread);
    cr_assert(json_is_true(json_object_get(json_object_get(msg, "from"), "is_bot")));
    int64_t off = json_integer_value(json_object_get(json_array_get(result(&r), 0),
                                                     "update_id")) + 1;
    done(&r);

    /* an agent's message in the topic: implicit reply to the topic start */
    user_says(BOB, STAFF, thread, "hello from the topic");
    char q[64];
    snprintf(q, sizeof q, "{\"offset\":%lld}", (long long)off);
    api(&r, "getUpdates", q);
    msg = json_object_get(json_array_get(result(&r), 0), "message");
    cr_assert_eq(json_integer_value(json_object_get(msg, "message_thread_id")), thread);
    cr_assert(json_is_true(json_object_get(msg, "is_topic_message")));
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(msg, "reply_to_message"),
                                                    "message_id")), thread);
    done(&r);

    char body[160];
    snprintf(body, sizeof body, "{\"chat_id\":%lld,\"message_thread_id\":%lld,\"text\":\"hi\"}",
             (long long)STAFF, (long long)thread);
    api(&r, "sendMessage", body);
    cr_assert(json_is_true(json_object_get(result(&r), "is_topic_message")));
    done(&r);
    api(&r, "sendMessage", "{\"chat_id\":-1001234567890,\"message_thread_id\":1,\"text\":\"x\"}");
    expect_err(&r, 400, "Bad Request: message thread not found");

    snprintf(body, sizeof body, "{\"chat_id\":%lld,\"message_thread_id\":%lld}",
             (long long)STAFF, (long long)thread);
    api(&r, "closeForumTopic", body);
    result(&r);
    done(&r);
    api(&r, "closeForumTopic", body);
    expect_err(&r, 400, "Bad Request: TOPIC_NOT_MODIFIED");

    struct err e = {0};
    cr_assert_eq(fake_tg_delete_topic(fake, STAFF, thread, &e), 0, "%s", e.msg);
    snprintf(body, sizeof body, "{\"chat_id\":%lld,\"message_thread_id\":%lld,\"text\":\"hi\"}",
             (long long)STAFF, (long long)thread);
    api(&r, "sendMessage", body);
    expect_err(&r, 400, "Bad Request: message thread not found");
}

Test(fake_tg, copy_message_and_sent_log)
{
    int64_t mid = user_says(ANN, 0, 0, "My invoice is wrong");
    struct reply r;
    char body[200];
    snprintf(body, sizeof body, "{\"chat_id\":%lld,\"from_chat_id\":1001,\"message_id\":%lld}",
             (long long)STAFF, (long long)mid);
    api(&r, "copyMessage", body);
    json_t *res = result(&r);
    cr_assert(json_is_integer(json_object_get(res, "message_id")), "%s", r.body);
    cr_assert_eq(json_object_size(res), 1);
    done(&r);
    api(&r, "copyMessage", "{\"chat_id\":1001,\"from_chat_id\":1001,\"message_id\":999}");
    expect_err(&r, 400, "Bad Request: message to copy not found");
    struct fake_tg_sent_filter flt = {.chat_id = STAFF};
    json_t *sent = fake_tg_sent(fake, &flt);
    json_t *s0 = json_array_get(json_object_get(sent, "sent"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(s0, "method")), "copyMessage");
    cr_assert_str_eq(json_string_value(json_object_get(s0, "text")), "My invoice is wrong");
    json_decref(sent);
}

/* ---- faults ------------------------------------------------------------------------- */

Test(fake_tg, rate_limit_fault_gives_429_with_retry_after)
{
    struct fake_tg_fault ft = {.kind = FAKE_TG_RATE_LIMIT, .retry_after = 7, .calls = 1};
    struct err e = {0};
    cr_assert_eq(fake_tg_fault_add(fake, &ft, NULL, &e), 0, "%s", e.msg);
    struct reply r;
    api(&r, "getMe", NULL);
    cr_assert_str_eq(r.retry_after, "7");
    cr_assert_str_eq(r.body, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
                     "Requests: retry after 7\",\"parameters\":{\"retry_after\":7}}");
    done(&r);
    api(&r, "getMe", NULL);              /* calls: 1 — used up */
    result(&r);
    done(&r);

    /* per-rate: 2 calls per window, the third is refused */
    struct fake_tg_fault rt = {.kind = FAKE_TG_RATE_LIMIT, .rate = 2, .window_ms = 60000};
    cr_assert_eq(fake_tg_fault_add(fake, &rt, NULL, &e), 0, "%s", e.msg);
    api(&r, "getMe", NULL);
    done(&r);
    api(&r, "getMe", NULL);
    done(&r);
    api(&r, "getMe", NULL);
    cr_assert_eq(r.status, 429);
    cr_assert_gt(atoi(r.retry_after), 0);
    done(&r);
    cr_assert_eq(fake_tg_fault_clear(fake, 0, &e), 0);
    api(&r, "getMe", NULL);
    result(&r);
    done(&r);
}

Test(fake_tg, http_error_fault_and_method_filter)
{
    const char *only[] = {"sendMessage"};
    struct fake_tg_fault ft = {.kind = FAKE_TG_HTTP_ERROR, .status = 502, .methods = only,
                               .nmethods = 1};
    struct err e = {0};
    cr_assert_eq(fake_tg_fault_add(fake, &ft, NULL, &e), 0, "%s", e.msg);
    struct reply r;
    api(&r, "getMe", NULL);
    result(&r);
    done(&r);
    api(&r, "sendmessage", "{\"chat_id\":1,\"text\":\"x\"}");
    cr_assert_eq(r.status, 502);
    cr_assert(strstr(r.body, "502 Bad Gateway") != NULL, "%s", r.body);
    done(&r);
    struct fake_tg_fault f500 = {.kind = FAKE_TG_HTTP_ERROR, .status = 500, .calls = 1};
    cr_assert_eq(fake_tg_fault_clear(fake, 0, &e), 0);
    cr_assert_eq(fake_tg_fault_add(fake, &f500, NULL, &e), 0, "%s", e.msg);
    api(&r, "getMe", NULL);
    expect_err(&r, 500, "Internal Server Error");
}

Test(fake_tg, partition_refuse_and_hang)
{
    struct fake_tg_fault ft = {.kind = FAKE_TG_PARTITION, .calls = 1};
    struct err e = {0};
    cr_assert_eq(fake_tg_fault_add(fake, &ft, NULL, &e), 0, "%s", e.msg);
    struct reply r;
    api(&r, "getMe", NULL);
    cr_assert(r.cc == CURLE_GOT_NOTHING || r.cc == CURLE_RECV_ERROR ||
              r.cc == CURLE_COULDNT_CONNECT, "curl said %d (%s)", r.cc, curl_easy_strerror(r.cc));
    done(&r);
    api(&r, "getMe", NULL);
    result(&r);
    done(&r);
    /* hang: held until the partition ends, then cut */
    struct fake_tg_fault hg = {.kind = FAKE_TG_PARTITION, .hang = true, .duration_ms = 700};
    cr_assert_eq(fake_tg_fault_add(fake, &hg, NULL, &e), 0, "%s", e.msg);
    int64_t t0 = now_ms();
    api(&r, "getMe", NULL);
    int64_t ms = now_ms() - t0;
    cr_assert_neq(r.cc, CURLE_OK);
    cr_assert(ms >= 500 && ms < 5000, "held %lld ms", (long long)ms);
    done(&r);
    /* slow: delayed once (calls: 1), then fast again */
    struct fake_tg_fault sl = {.kind = FAKE_TG_SLOW, .delay_ms = 400, .calls = 1};
    cr_assert_eq(fake_tg_fault_add(fake, &sl, NULL, &e), 0, "%s", e.msg);
    t0 = now_ms();
    api(&r, "getMe", NULL);
    result(&r);
    done(&r);
    cr_assert_geq(now_ms() - t0, 350);
    t0 = now_ms();
    api(&r, "getMe", NULL);
    result(&r);
    done(&r);
    cr_assert_lt(now_ms() - t0, 300);
    /* the control API is never partitioned */
    struct fake_tg_fault again = {.kind = FAKE_TG_PARTITION, .duration_ms = 5000};
    cr_assert_eq(fake_tg_fault_add(fake, &again, NULL, &e), 0, "%s", e.msg);
    call(&r, "GET", "/control/stats", NULL, NULL);
    cr_assert_eq(r.status, 200);
    done(&r);
    call(&r, "DELETE", "/control/faults", NULL, NULL);
    cr_assert_eq(r.status, 200);
    done(&r);
    api(&r, "getMe", NULL);
    result(&r);
    done(&r);
}

/* ---- webhook delivery ------------------------------------------------------------------ */

static atomic_int hook_calls, hook_fail_first;
static char hook_secret[64];
static char hook_body[4096];

static void hook(struct http_req *req, struct http_resp *resp, void *ud)
{
    (void)ud;
    int n = atomic_fetch_add(&hook_calls, 1);
    const char *s = http_req_header(req, "X-Telegram-Bot-Api-Secret-Token");
    snprintf(hook_secret, sizeof hook_secret, "%s", s ? s : "");
    snprintf(hook_body, sizeof hook_body, "%s", req->body);
    if (n < atomic_load(&hook_fail_first)) {
        resp->status = 500;
        buf_puts(&resp->body, "nope");
        return;
    }
    resp->status = 200;
    buf_puts(&resp->body, "{}");
}

Test(fake_tg, webhook_delivery_with_secret_and_retry)
{
    struct http_server *rx = NULL;
    struct err e = {0};
    atomic_store(&hook_calls, 0);
    atomic_store(&hook_fail_first, 2);
    cr_assert_eq(http_server_start("127.0.0.1:0", 1, 65536, hook, NULL, &rx, &e), 0, "%s",
                 e.msg);
    char body[200];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/hook\",\"secret_token\":"
             "\"s3cr3t_-X\"}", http_server_port(rx));
    struct reply r;
    api(&r, "setWebhook", body);
    result(&r);
    done(&r);
    user_says(ANN, 0, 0, "via webhook");
    /* first failure retried at once, the second after 2 s, then delivered */
    for (int i = 0; i < 30 && atomic_load(&hook_calls) < 2; i++)
        usleep(50 * 1000);
    usleep(300 * 1000);
    cr_assert_eq(atomic_load(&hook_calls), 2, "retry waits after the 2nd failure");
    api(&r, "getWebhookInfo", NULL);
    json_t *info = result(&r);
    cr_assert_eq(json_integer_value(json_object_get(info, "pending_update_count")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(info, "last_error_message")),
                     "Wrong response from the webhook: 500 Internal Server Error");
    cr_assert_gt(json_integer_value(json_object_get(info, "last_error_date")), 0);
    done(&r);
    for (int i = 0; i < 100 && atomic_load(&hook_calls) < 3; i++)
        usleep(50 * 1000);
    cr_assert_eq(atomic_load(&hook_calls), 3);
    cr_assert_str_eq(hook_secret, "s3cr3t_-X");
    cr_assert(strstr(hook_body, "\"text\":\"via webhook\"") != NULL, "%s", hook_body);
    for (int i = 0; i < 40; i++) {
        api(&r, "getWebhookInfo", NULL);
        json_int_t pending = json_integer_value(json_object_get(result(&r),
                                                                "pending_update_count"));
        done(&r);
        if (pending == 0)
            break;
        usleep(50 * 1000);
    }
    api(&r, "getWebhookInfo", NULL);
    cr_assert_eq(json_integer_value(json_object_get(result(&r), "pending_update_count")), 0);
    done(&r);
    api(&r, "setWebhook", "{\"url\":\"ftp://x\"}");
    expect_err(&r, 400, "Bad Request: invalid webhook URL specified");
    api(&r, "deleteWebhook", NULL);
    done(&r);
    http_server_free(&rx);
}

/* ---- control API over HTTP --------------------------------------------------------------- */

Test(fake_tg, control_api_round_trip)
{
    struct reply r;
    call(&r, "POST", "/control/users", "application/json",
         "{\"id\":3001,\"first_name\":\"Cid\",\"username\":\"cid\"}");
    cr_assert_eq(r.status, 201, "%s", r.body);
    done(&r);
    call(&r, "POST", "/control/messages", "application/json",
         "{\"from\":3001,\"text\":\"/start\"}");
    cr_assert_eq(r.status, 201, "%s", r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "update_ids")), 1);
    done(&r);
    api(&r, "sendMessage", "{\"chat_id\":3001,\"text\":\"Pick\",\"reply_markup\":"
        "{\"inline_keyboard\":[[{\"text\":\"A\",\"callback_data\":\"a\"}]]}}");
    int64_t mid = json_integer_value(json_object_get(result(&r), "message_id"));
    done(&r);
    char body[160];
    snprintf(body, sizeof body, "{\"from\":3001,\"message_id\":%lld,\"data\":\"a\"}",
             (long long)mid);
    call(&r, "POST", "/control/callbacks", "application/json", body);
    cr_assert_eq(r.status, 201, "%s", r.body);
    char ans[160];
    snprintf(ans, sizeof ans, "{\"callback_query_id\":\"%s\",\"text\":\"ok\"}",
             json_string_value(json_object_get(r.json, "callback_query_id")));
    done(&r);
    api(&r, "answerCallbackQuery", ans);
    result(&r);
    done(&r);
    api(&r, "answerCallbackQuery", ans);
    expect_err(&r, 400, "Bad Request: query is too old and response timeout expired or query "
               "ID is invalid");
    call(&r, "GET", "/control/sent?chat_id=3001", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(json_object_get(r.json, "sent")), 2, "%s", r.body);
    done(&r);
    call(&r, "POST", "/control/faults", "application/json", "{\"kind\":\"meteor\"}");
    cr_assert_eq(r.status, 400);
    done(&r);
    call(&r, "GET", "/control/nope", NULL, NULL);
    cr_assert_eq(r.status, 404);
    done(&r);
    call(&r, "POST", "/control/reset", NULL, NULL);
    cr_assert_eq(r.status, 200);
    done(&r);
    api(&r, "sendMessage", "{\"chat_id\":3001,\"text\":\"x\"}");
    expect_err(&r, 400, "Bad Request: chat not found");
}
