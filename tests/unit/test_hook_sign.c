/*
 * test_hook_sign.c — Standard Webhooks v1 signing and verification.
 *
 * The known-answer test uses the vector of the Standard Webhooks reference
 * libraries' own test suites (secret whsec_MfKQ9r8GK..., id
 * msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330); the npm library
 * `standardwebhooks` 1.1.1 computes the same value. The rest are round
 * trips, rotation, tampering and timestamp tolerance.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/err.h"
#include "webhook/hook_sign.h"

#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* 32 random bytes each, as `whsec_` + base64 */
#define S1 "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
#define S2 "whsec_Tm90IGEgcmVhbCBzZWNyZXQgYnV0IDMyIGJ5dGVzISE="

static struct err e;

Test(hook_sign, known_answer_vector)
{
    char out[HOOK_SIGN_ONE_MAX];
    err_clear(&e);
    cr_assert_eq(hook_sign_one(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY),
                               out, &e), 0, "%s", e.msg);
    cr_assert_str_eq(out, VEC_SIG);

    struct hook_sign_headers h = {VEC_ID, "1614265330", VEC_SIG};
    const char *secrets[] = {VEC_SECRET};
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, VEC_BODY, strlen(VEC_BODY),
                                  VEC_TS + 10, 0, &e), 0, "%s", e.msg);
}

Test(hook_sign, secret_prefix_and_padding_are_optional)
{
    char a[HOOK_SIGN_ONE_MAX], b[HOOK_SIGN_ONE_MAX], c[HOOK_SIGN_ONE_MAX];
    cr_assert_eq(hook_sign_one(S2, "msg_1", 5, "x", 1, a, &e), 0, "%s", e.msg);
    cr_assert_eq(hook_sign_one(S2 + 6, "msg_1", 5, "x", 1, b, &e), 0);
    /* the same secret without its trailing '=' */
    char nopad[64];
    strcpy(nopad, S2);
    nopad[strlen(nopad) - 1] = '\0';
    cr_assert_eq(hook_sign_one(nopad, "msg_1", 5, "x", 1, c, &e), 0, "%s", e.msg);
    cr_assert_str_eq(a, b);
    cr_assert_str_eq(a, c);
    cr_assert_eq(strlen(a), 3 + 44);
}

Test(hook_sign, key_decodes_to_the_right_length)
{
    unsigned char key[HOOK_SIGN_SECRET_MAX];
    size_t n = 0;
    cr_assert_eq(hook_sign_key(VEC_SECRET, key, &n, &e), 0);
    cr_assert_eq(n, 24);
    cr_assert_eq(hook_sign_key(S2, key, &n, &e), 0);
    cr_assert_eq(n, 32);
    cr_assert_eq(memcmp(key, "Not a real secret but 32 bytes!!", 32), 0);
}

Test(hook_sign, bad_secrets_and_ids_are_refused)
{
    char out[HOOK_SIGN_ONE_MAX];
    const char *bad[] = {NULL, "", "whsec_", "whsec_abcde", "whsec_ab$d", "whsec_a b="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&e);
        cr_assert_eq(hook_sign_one(bad[i], "msg_1", 1, "x", 1, out, &e), ERR_INVAL,
                     "secret %zu", i);
        cr_assert(strstr(e.msg, "bad webhook secret") != NULL, "%s", e.msg);
    }
    err_clear(&e);
    cr_assert_eq(hook_sign_one(S1, "msg.1", 1, "x", 1, out, &e), ERR_INVAL);
    err_clear(&e);
    cr_assert_eq(hook_sign_one(S1, "", 1, "x", 1, out, &e), ERR_INVAL);
}

Test(hook_sign, round_trip_and_tampering)
{
    const char *body = "{\"id\":\"evt_1\",\"text\":\"привет 👋\"}";
    char sig[HOOK_SIGN_HEADER_MAX];
    cr_assert_eq(hook_sign_header(S1, NULL, "evt_1", 1700000000, body, strlen(body),
                                  sig, &e), 0);
    cr_assert_null(strchr(sig, ' '));
    const char *secrets[] = {S1};
    struct hook_sign_headers h = {"evt_1", "1700000000", sig};
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, body, strlen(body), 1700000000, 0, &e), 0,
                 "%s", e.msg);

    /* one changed byte of the body */
    char copy[128];
    strcpy(copy, body);
    copy[5] ^= 1;
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, copy, strlen(copy), 1700000000, 0, &e),
                 ERR_AUTH);
    cr_assert_str_eq(e.msg, "bad signature");

    /* another id, another timestamp, a truncated body, a wrong secret */
    struct hook_sign_headers h2 = {"evt_2", "1700000000", sig};
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h2, body, strlen(body), 1700000000, 0, &e),
                 ERR_AUTH);
    struct hook_sign_headers h3 = {"evt_1", "1700000001", sig};
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h3, body, strlen(body), 1700000000, 0, &e),
                 ERR_AUTH);
    cr_assert_str_eq(e.msg, "bad signature");
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, body, strlen(body) - 1, 1700000000, 0, &e),
                 ERR_AUTH);
    const char *other[] = {S2};
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(other, 1, &h, body, strlen(body), 1700000000, 0, &e),
                 ERR_AUTH);

    /* a changed signature character; a non-v1 version tag */
    char sig2[HOOK_SIGN_HEADER_MAX];
    strcpy(sig2, sig);
    sig2[10] = sig2[10] == 'A' ? 'B' : 'A';
    struct hook_sign_headers h4 = {"evt_1", "1700000000", sig2};
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h4, body, strlen(body), 1700000000, 0, &e),
                 ERR_AUTH);
    strcpy(sig2, sig);
    sig2[1] = '2';
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h4, body, strlen(body), 1700000000, 0, &e),
                 ERR_AUTH);
}

Test(hook_sign, rotation_sends_two_signatures_either_verifies)
{
    const char *body = "{}";
    char sig[HOOK_SIGN_HEADER_MAX];
    cr_assert_eq(hook_sign_header(S1, S2, "evt_9", 42, body, 2, sig, &e), 0);
    const char *sp = strchr(sig, ' ');
    cr_assert_not_null(sp);
    cr_assert_eq(strncmp(sig, "v1,", 3), 0);
    cr_assert_eq(strncmp(sp + 1, "v1,", 3), 0);

    char one[HOOK_SIGN_ONE_MAX];
    cr_assert_eq(hook_sign_one(S1, "evt_9", 42, body, 2, one, &e), 0);
    cr_assert_eq(strncmp(sig, one, strlen(one)), 0, "new secret first");
    cr_assert_eq(hook_sign_one(S2, "evt_9", 42, body, 2, one, &e), 0);
    cr_assert_str_eq(sp + 1, one);

    struct hook_sign_headers h = {"evt_9", "42", sig};
    const char *only_new[] = {S1}, *only_old[] = {S2}, *both[] = {S2, S1};
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(only_new, 1, &h, body, 2, 42, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(hook_sign_verify(only_old, 1, &h, body, 2, 42, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(hook_sign_verify(both, 2, &h, body, 2, 42, 0, &e), 0, "%s", e.msg);

    /* an empty previous secret means no rotation */
    cr_assert_eq(hook_sign_header(S1, "", "evt_9", 42, body, 2, sig, &e), 0);
    cr_assert_null(strchr(sig, ' '));
}

Test(hook_sign, stale_and_future_timestamps)
{
    const char *body = "hello";
    char sig[HOOK_SIGN_HEADER_MAX];
    cr_assert_eq(hook_sign_header(S1, NULL, "evt_3", 1000000, body, 5, sig, &e), 0);
    const char *secrets[] = {S1};
    struct hook_sign_headers h = {"evt_3", "1000000", sig};
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, body, 5, 1000000 + 300, 0, &e), 0);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, body, 5, 1000000 - 300, 0, &e), 0);
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, body, 5, 1000000 + 301, 0, &e), ERR_AUTH);
    cr_assert_str_eq(e.msg, "stale timestamp");
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, body, 5, 1000000 - 301, 0, &e), ERR_AUTH);
    cr_assert_str_eq(e.msg, "stale timestamp");
    /* a custom tolerance */
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, body, 5, 1000000 + 3600, 3600, &e), 0);

    const char *junk[] = {"", "abc", "1e6", "1000000 ", "99999999999999999999"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        struct hook_sign_headers hj = {"evt_3", junk[i], sig};
        err_clear(&e);
        cr_assert_eq(hook_sign_verify(secrets, 1, &hj, body, 5, 1000000, 0, &e), ERR_AUTH);
        cr_assert_str_eq(e.msg, "stale timestamp", "'%s'", junk[i]);
    }
    struct hook_sign_headers none = {"evt_3", "1000000", NULL};
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &none, body, 5, 1000000, 0, &e), ERR_AUTH);
    cr_assert_str_eq(e.msg, "missing webhook headers");
}

Test(hook_sign, large_and_empty_bodies)
{
    static char big[100001];
    memset(big, 'z', sizeof big - 1);
    char sig[HOOK_SIGN_HEADER_MAX];
    cr_assert_eq(hook_sign_header(S1, NULL, "evt_4", 7, big, sizeof big - 1, sig, &e), 0);
    const char *secrets[] = {S1};
    struct hook_sign_headers h = {"evt_4", "7", sig};
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, big, sizeof big - 1, 7, 0, &e), 0);
    big[50000] = 'y';
    err_clear(&e);
    cr_assert_eq(hook_sign_verify(secrets, 1, &h, big, sizeof big - 1, 7, 0, &e), ERR_AUTH);

    cr_assert_eq(hook_sign_header(S1, NULL, "evt_5", 7, "", 0, sig, &e), 0);
    struct hook_sign_headers h0 = {"evt_5", "7", sig};
    cr_assert_eq(hook_sign_verify(secrets, 1, &h0, "", 0, 7, 0, &e), 0);
}
