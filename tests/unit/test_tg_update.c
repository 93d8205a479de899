/*
 * test_tg_update.c — Update JSON (shaped as the reference documents the
 * server writes it) → engine events, and everything that is skipped.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/arena.h"
#include "base/jx.h"
#include "telegram/tg_update.h"

#define STAFF (-1001234567890LL)

static struct arena *A;
static json_t *U;

static void setup(void) { A = arena_new(0); }
static void teardown(void)
{
    json_decref(U);
    U = NULL;
    arena_free(&A);
}

TestSuite(tg_update, .init = setup, .fini = teardown);

static int conv(const char *json, struct engine_event *ev, const char **why)
{
    struct err e = {0};
    json_decref(U);
    U = NULL;
    cr_assert_eq(jx_parse(json, strlen(json), &U, &e), 0, "fixture: %s", e.msg);
    err_clear(&e);
    return tg_update_to_event(U, STAFF, A, ev, why, &e);
}

#define PRIVATE_CHAT "\"chat\":{\"id\":5550002,\"first_name\":\"Bob\",\"type\":\"private\"}"
#define BOB "\"from\":{\"id\":5550002,\"is_bot\":false,\"first_name\":\"Bob\"," \
            "\"last_name\":\"Stone\",\"username\":\"bob_s\",\"language_code\":\"pt-br\"}"
#define STAFF_CHAT "\"chat\":{\"id\":-1001234567890,\"title\":\"Support staff\"," \
                   "\"is_forum\":true,\"type\":\"supergroup\"}"
#define ANN "\"from\":{\"id\":5550001,\"is_bot\":false,\"first_name\":\"Ann\"," \
            "\"username\":\"agent_ann\",\"language_code\":\"en\"}"
#define BOT "\"from\":{\"id\":7000001,\"is_bot\":true,\"first_name\":\"HelpBot\"," \
            "\"username\":\"help_bot\"}"

Test(tg_update, private_text_is_a_customer_message)
{
    struct engine_event ev;
    int rc = conv("{\"update_id\":612000100,\n\"message\":{\"message_id\":12," BOB ","
                  PRIVATE_CHAT ",\"date\":1767225600,\"text\":\"My invoice is wrong\"}}",
                  &ev, NULL);
    cr_assert_eq(rc, 0);
    cr_expect_eq(ev.type, ENGINE_CUSTOMER_MESSAGE);
    cr_expect_eq(ev.update_id, 612000100);
    cr_expect_eq(ev.tg_chat_id, 5550002);
    cr_expect_eq(ev.tg_message_id, 12);
    cr_expect_eq(ev.customer.tg_user_id, 5550002);
    cr_expect_str_eq(ev.customer.first_name, "Bob");
    cr_expect_str_eq(ev.customer.last_name, "Stone");
    cr_expect_str_eq(ev.customer.username, "bob_s");
    cr_expect_str_eq(ev.customer.language, "pt-br");
    cr_expect_null(ev.customer.tier);
    cr_expect_str_eq(ev.text, "My invoice is wrong");
    cr_expect_eq(ev.topic_id, 0);
}

Test(tg_update, media_uses_caption_or_a_placeholder)
{
    struct engine_event ev;
    cr_assert_eq(conv("{\"update_id\":1,\"message\":{\"message_id\":13," BOB "," PRIVATE_CHAT
                      ",\"date\":1,\"photo\":[{\"file_id\":\"a\",\"file_unique_id\":\"b\","
                      "\"width\":90,\"height\":90}],\"caption\":\"see this\"}}", &ev, NULL), 0);
    cr_expect_str_eq(ev.text, "see this");
    cr_assert_eq(conv("{\"update_id\":2,\"message\":{\"message_id\":14," BOB "," PRIVATE_CHAT
                      ",\"date\":1,\"photo\":[{\"file_id\":\"a\",\"file_unique_id\":\"b\","
                      "\"width\":90,\"height\":90}]}}", &ev, NULL), 0);
    cr_expect_str_eq(ev.text, "[photo]");
    cr_assert_eq(conv("{\"update_id\":3,\"message\":{\"message_id\":15," BOB "," PRIVATE_CHAT
                      ",\"date\":1,\"document\":{\"file_name\":\"invoice.pdf\","
                      "\"mime_type\":\"application/pdf\",\"file_id\":\"c\","
                      "\"file_unique_id\":\"d\"}}}", &ev, NULL), 0);
    cr_expect_str_eq(ev.text, "[document: invoice.pdf]");
    cr_assert_eq(conv("{\"update_id\":4,\"message\":{\"message_id\":16," BOB "," PRIVATE_CHAT
                      ",\"date\":1,\"voice\":{\"file_id\":\"e\",\"file_unique_id\":\"f\","
                      "\"duration\":3}}}", &ev, NULL), 0);
    cr_expect_str_eq(ev.text, "[voice]");
    cr_assert_eq(conv("{\"update_id\":5,\"message\":{\"message_id\":17," BOB "," PRIVATE_CHAT
                      ",\"date\":1,\"sticker\":{\"file_id\":\"g\"}}}", &ev, NULL), 0);
    cr_expect_str_eq(ev.text, "[sticker]");
}

Test(tg_update, private_edit_is_a_customer_edit)
{
    struct engine_event ev;
    int rc = conv("{\"update_id\":612000103,\n\"edited_message\":{\"message_id\":12," BOB ","
                  PRIVATE_CHAT ",\"date\":1767225600,\"edit_date\":1767225700,"
                  "\"text\":\"My invoice #42 is wrong\"}}", &ev, NULL);
    cr_assert_eq(rc, 0);
    cr_expect_eq(ev.type, ENGINE_CUSTOMER_EDIT);
    cr_expect_eq(ev.tg_chat_id, 5550002);
    cr_expect_eq(ev.tg_message_id, 12);
    cr_expect_eq(ev.customer.tg_user_id, 5550002);
    cr_expect_str_eq(ev.text, "My invoice #42 is wrong");
}

/* The reference's example update (4.2), verbatim in shape. */
Test(tg_update, staff_topic_message_is_a_staff_message)
{
    struct engine_event ev;
    int rc = conv(
        "{\"update_id\":612000101,\n"
        "\"message\":{\"message_id\":57," ANN "," STAFF_CHAT ",\"date\":1767225600,"
        "\"message_thread_id\":42,"
        "\"reply_to_message\":{\"message_id\":42," BOT "," STAFF_CHAT ",\"date\":1767225000,"
        "\"message_thread_id\":42,\"forum_topic_created\":{\"name\":\"#5550002 Bob\","
        "\"icon_color\":7322096},\"is_topic_message\":true},"
        "\"text\":\"Hello Bob, how can I help?\",\"is_topic_message\":true}}", &ev, NULL);
    cr_assert_eq(rc, 0);
    cr_expect_eq(ev.type, ENGINE_STAFF_MESSAGE);
    cr_expect_eq(ev.update_id, 612000101);
    cr_expect_eq(ev.topic_id, 42);
    cr_expect_eq(ev.tg_chat_id, STAFF);
    cr_expect_eq(ev.tg_message_id, 57);
    cr_expect_eq(ev.customer.tg_user_id, 5550001);
    cr_expect_str_eq(ev.customer.username, "agent_ann");
    cr_expect_str_eq(ev.text, "Hello Bob, how can I help?");
}

Test(tg_update, staff_command_in_topic)
{
    struct engine_event ev;
    cr_assert_eq(conv("{\"update_id\":9,\"message\":{\"message_id\":58," ANN "," STAFF_CHAT
                      ",\"date\":1,\"message_thread_id\":42,\"text\":\"/resolve\","
                      "\"entities\":[{\"type\":\"bot_command\",\"offset\":0,\"length\":8}],"
                      "\"is_topic_message\":true}}", &ev, NULL), 0);
    cr_expect_eq(ev.type, ENGINE_STAFF_MESSAGE);
    cr_expect_str_eq(ev.text, "/resolve");
}

Test(tg_update, skipped_updates_keep_their_update_id)
{
    struct engine_event ev;
    const char *why = NULL;
    /* the bot's own forum_topic_created service message */
    cr_expect_eq(conv("{\"update_id\":20,\"message\":{\"message_id\":42," BOT "," STAFF_CHAT
                      ",\"date\":1,\"message_thread_id\":42,\"forum_topic_created\":{\"name\":"
                      "\"#1 Bob\",\"icon_color\":7322096},\"is_topic_message\":true}}",
                      &ev, &why), TG_UPDATE_SKIP);
    cr_expect_eq(ev.update_id, 20);
    cr_expect_not_null(why);
    /* a topic closed by a human */
    cr_expect_eq(conv("{\"update_id\":21,\"message\":{\"message_id\":60," ANN "," STAFF_CHAT
                      ",\"date\":1,\"message_thread_id\":42,\"forum_topic_closed\":{},"
                      "\"is_topic_message\":true}}", &ev, &why), TG_UPDATE_SKIP);
    cr_expect_eq(conv("{\"update_id\":22,\"message\":{\"message_id\":61," ANN "," STAFF_CHAT
                      ",\"date\":1,\"message_thread_id\":42,\"forum_topic_reopened\":{},"
                      "\"is_topic_message\":true}}", &ev, &why), TG_UPDATE_SKIP);
    cr_expect_eq(conv("{\"update_id\":23,\"message\":{\"message_id\":62," ANN "," STAFF_CHAT
                      ",\"date\":1,\"message_thread_id\":42,\"forum_topic_edited\":{\"name\":"
                      "\"x\"},\"is_topic_message\":true}}", &ev, &why), TG_UPDATE_SKIP);
    /* someone joins the staff group */
    cr_expect_eq(conv("{\"update_id\":24,\"message\":{\"message_id\":63," ANN "," STAFF_CHAT
                      ",\"date\":1,\"new_chat_members\":[{\"id\":9,\"is_bot\":false,"
                      "\"first_name\":\"Z\"}]}}", &ev, &why), TG_UPDATE_SKIP);
    /* General topic of the staff group (no thread) */
    cr_expect_eq(conv("{\"update_id\":25,\"message\":{\"message_id\":64," ANN "," STAFF_CHAT
                      ",\"date\":1,\"text\":\"hi all\"}}", &ev, &why), TG_UPDATE_SKIP);
    cr_expect_str_eq(why, "staff group message outside a topic");
    /* another group */
    cr_expect_eq(conv("{\"update_id\":26,\"message\":{\"message_id\":65," ANN ",\"chat\":{"
                      "\"id\":-100999,\"title\":\"x\",\"type\":\"supergroup\"},\"date\":1,"
                      "\"text\":\"hi\"}}", &ev, &why), TG_UPDATE_SKIP);
    /* a bot writing privately (cannot happen, still skipped) */
    cr_expect_eq(conv("{\"update_id\":27,\"message\":{\"message_id\":66," BOT ","
                      PRIVATE_CHAT ",\"date\":1,\"text\":\"x\"}}", &ev, &why), TG_UPDATE_SKIP);
    /* an edit in the staff group */
    cr_expect_eq(conv("{\"update_id\":28,\"edited_message\":{\"message_id\":57," ANN ","
                      STAFF_CHAT ",\"date\":1,\"edit_date\":2,\"message_thread_id\":42,"
                      "\"text\":\"x\",\"is_topic_message\":true}}", &ev, &why), TG_UPDATE_SKIP);
    /* callback queries and other update types */
    cr_expect_eq(conv("{\"update_id\":29,\"callback_query\":{\"id\":\"4382\"," BOB ","
                      "\"chat_instance\":\"-1\",\"data\":\"close:42\"}}", &ev, &why),
                 TG_UPDATE_SKIP);
    cr_expect_eq(ev.update_id, 29);
    cr_expect_eq(conv("{\"update_id\":30,\"my_chat_member\":{}}", &ev, &why), TG_UPDATE_SKIP);
    /* a private message with nothing in it (e.g. a pinned service message) */
    cr_expect_eq(conv("{\"update_id\":31,\"message\":{\"message_id\":67," BOB ","
                      PRIVATE_CHAT ",\"date\":1}}", &ev, &why), TG_UPDATE_SKIP);
    /* odd shapes never fail, they are skipped */
    cr_expect_eq(conv("{\"update_id\":32,\"message\":\"nope\"}", &ev, &why), TG_UPDATE_SKIP);
    cr_expect_eq(conv("{\"update_id\":33,\"message\":{\"message_id\":1,\"text\":\"x\"}}",
                      &ev, &why), TG_UPDATE_SKIP);
}

Test(tg_update, no_staff_group_configured_skips_group_messages)
{
    struct engine_event ev;
    struct err e = {0};
    const char *j = "{\"update_id\":9,\"message\":{\"message_id\":58," ANN "," STAFF_CHAT
                    ",\"date\":1,\"message_thread_id\":42,\"text\":\"x\",\"is_topic_message\":true}}";
    cr_assert_eq(jx_parse(j, strlen(j), &U, &e), 0);
    cr_expect_eq(tg_update_to_event(U, 0, A, &ev, NULL, &e), TG_UPDATE_SKIP);
}

Test(tg_update, update_without_id_is_invalid)
{
    struct engine_event ev;
    cr_expect_eq(conv("{\"message\":{\"message_id\":1}}", &ev, NULL), ERR_INVAL);
    cr_expect_eq(conv("{\"update_id\":\"7\"}", &ev, NULL), ERR_INVAL);
    cr_expect_eq(conv("[1,2]", &ev, NULL), ERR_INVAL);
}

Test(tg_update, button_press_in_private_chat_is_customer_input)
{
    struct engine_event ev;
    const char *why = NULL;
    cr_assert_eq(conv("{\"update_id\":40,\"callback_query\":{\"id\":\"4383\"," BOB ","
                      "\"message\":{\"message_id\":70,\"from\":{\"id\":7000001,\"is_bot\":true,"
                      "\"first_name\":\"HelpBot\"}," PRIVATE_CHAT ",\"date\":1,\"text\":\"Plan?\"},"
                      "\"chat_instance\":\"-2\",\"data\":\"intake:plan:1\"}}", &ev, &why), 0,
                 "%s", why ? why : "");
    cr_expect_eq(ev.type, ENGINE_CUSTOMER_MESSAGE);
    cr_expect_eq(ev.update_id, 40);
    cr_expect_eq(ev.customer.tg_user_id, 5550002);
    cr_expect_str_eq(ev.customer.first_name, "Bob");
    cr_expect_eq(ev.tg_chat_id, 5550002);
    cr_expect_str_eq(ev.callback_id, "4383");
    cr_expect_str_eq(ev.callback_data, "intake:plan:1");
    cr_expect_null(ev.text);
    /* a button under a message in a group is not a customer's */
    cr_expect_eq(conv("{\"update_id\":41,\"callback_query\":{\"id\":\"4384\"," BOB ","
                      "\"message\":{\"message_id\":71," STAFF_CHAT ",\"date\":1,\"text\":\"x\"},"
                      "\"chat_instance\":\"-2\",\"data\":\"intake:plan:1\"}}", &ev, &why),
                 TG_UPDATE_SKIP);
    /* a game's button has no data */
    cr_expect_eq(conv("{\"update_id\":42,\"callback_query\":{\"id\":\"4385\"," BOB ","
                      "\"message\":{\"message_id\":72," PRIVATE_CHAT ",\"date\":1,\"text\":\"x\"},"
                      "\"chat_instance\":\"-2\",\"game_short_name\":\"g\"}}", &ev, &why),
                 TG_UPDATE_SKIP);
}
