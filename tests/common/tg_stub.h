/*
 * tg_stub.h — a tiny scripted Bot API for unit tests of src/telegram/.
 *
 * Serves /bot<token>/<method> on 127.0.0.1 (ephemeral port) with
 * http_server. Every call is recorded (method + body). Answers come from
 * a FIFO of canned replies per method (tg_stub_push); when none is queued
 * it answers like Telegram would on success: sendMessage → a Message with
 * an increasing message_id, copyMessage → {"message_id":N},
 * createForumTopic → a ForumTopic with an increasing message_thread_id,
 * getUpdates → [] after parking park_ms, anything else → true.
 * (Not the fake Telegram of `tgcrm check`: no state, no rules.)
 */
#ifndef TGCRM_TESTS_TG_STUB_H
#define TGCRM_TESTS_TG_STUB_H

#include <stddef.h>

struct tg_stub;

/* Start; NULL on failure. */
struct tg_stub *tg_stub_start(void);
void tg_stub_free(struct tg_stub **sp);

/* "http://127.0.0.1:PORT" (borrowed). */
const char *tg_stub_base(struct tg_stub *s);
int tg_stub_port(struct tg_stub *s);

/* Queue one answer for the next call of method: HTTP status and body
 * (copied). A 429 also gets Retry-After from the body's retry_after. */
void tg_stub_push(struct tg_stub *s, const char *method, int status, const char *body);
/* Same, answered only after delay_ms. */
void tg_stub_push_delayed(struct tg_stub *s, const char *method, int status,
                          const char *body, int delay_ms);

/* How long an unscripted getUpdates parks before answering [] (default 100). */
void tg_stub_set_park(struct tg_stub *s, int park_ms);

/* Number of calls recorded, of method (NULL = all). */
size_t tg_stub_count(struct tg_stub *s, const char *method);

/* Body of the i-th call of method (NULL = any), heap copy the caller
 * frees, or NULL when there is no such call. */
char *tg_stub_body(struct tg_stub *s, const char *method, size_t i);

/* Token of the last call (heap copy), NULL when none. */
char *tg_stub_last_token(struct tg_stub *s);

#endif
