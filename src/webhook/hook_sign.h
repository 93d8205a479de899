/*
 * hook_sign.h — Standard Webhooks v1 signatures for outbound webhooks.
 *
 * Every delivery carries three headers (Standard Webhooks spec v1.0.0, the
 * scheme Svix uses too):
 *   webhook-id         the message id, stable across retries (no '.')
 *   webhook-timestamp  integer Unix seconds of this attempt
 *   webhook-signature  "v1,<base64 HMAC-SHA256>" over "id.timestamp.body",
 *                      keyed by the base64-decoded secret after "whsec_"
 * While an endpoint's secret is rotated (cfg_webhook.previous_secret set)
 * the header carries two space-separated signatures, new one first, so a
 * receiver holding either secret accepts the delivery.
 *
 * Verification is here too, for tests and for receivers built on tgcrm:
 * constant-time comparison (CRYPTO_memcmp) and a timestamp tolerance.
 * Pure computation over caller buffers: no allocation that outlives a call,
 * no clock (the caller passes `now`). hook_sign.c is the only file of the
 * webhook subsystem that uses OpenSSL.
 */
#ifndef TGCRM_WEBHOOK_HOOK_SIGN_H
#define TGCRM_WEBHOOK_HOOK_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Default tolerance of hook_sign_verify, seconds either side of now. */
#define HOOK_SIGN_TOLERANCE_S 300

/* One "v1,<44 base64 chars>" element plus NUL. */
#define HOOK_SIGN_ONE_MAX 48
/* The header value: up to two elements separated by a space. */
#define HOOK_SIGN_HEADER_MAX (2 * HOOK_SIGN_ONE_MAX)

/* Longest accepted secret text (after "whsec_"); the spec uses 24-64 bytes. */
#define HOOK_SIGN_SECRET_MAX 512

/* The three headers of a received delivery; borrowed strings. */
struct hook_sign_headers {
    const char *id;          /* webhook-id */
    const char *timestamp;   /* webhook-timestamp, decimal seconds */
    const char *signature;   /* webhook-signature, space-separated list */
};

/*
 * Decode a "whsec_<base64>" secret (the prefix is optional, as in the
 * reference libraries; missing '=' padding is accepted) into key[0..*klen).
 * `key` must hold HOOK_SIGN_SECRET_MAX bytes. ERR_INVAL "bad webhook secret"
 * for NULL, empty, over-long or non-base64 secrets.
 */
int hook_sign_key(const char *secret, unsigned char *key, size_t *klen, struct err *e);

/*
 * Write "v1,<base64 HMAC-SHA256(key, id "." ts "." body)>" into out
 * (HOOK_SIGN_ONE_MAX bytes). `id` must not be empty nor contain '.';
 * body[0..len) is signed exactly as given (it is the bytes sent).
 * ERR_INVAL for a bad secret or id, ERR_INTERNAL if OpenSSL fails.
 */
int hook_sign_one(const char *secret, const char *id, int64_t ts,
                  const char *body, size_t len, char out[HOOK_SIGN_ONE_MAX],
                  struct err *e);

/*
 * The webhook-signature header value: the signature with `secret`, then,
 * when previous_secret is non-NULL and non-empty, a space and the signature
 * with it. out holds HOOK_SIGN_HEADER_MAX bytes. Errors as hook_sign_one.
 */
int hook_sign_header(const char *secret, const char *previous_secret,
                     const char *id, int64_t ts, const char *body, size_t len,
                     char out[HOOK_SIGN_HEADER_MAX], struct err *e);

/*
 * Verify a received delivery against any of nsecrets secrets (the current
 * and, during rotation, the previous one). `now` is Unix seconds from the
 * caller's clock; tolerance_s <= 0 means HOOK_SIGN_TOLERANCE_S.
 * Returns 0 when some "v1," element matches some secret, else ERR_AUTH with
 * "missing webhook headers", "stale timestamp" (not a decimal number or
 * more than the tolerance away from now; checked first, as the reference
 * libraries do) or "bad signature". ERR_INVAL for a bad secret.
 */
int hook_sign_verify(const char *const *secrets, size_t nsecrets,
                     const struct hook_sign_headers *h, const char *body,
                     size_t len, int64_t now, int64_t tolerance_s, struct err *e);

/*
 * Parse a webhook-timestamp header the way hook_sign_verify does: strict
 * decimal seconds (an optional '-', then 1 to 18 digits, nothing else).
 * False, leaving *out alone, for anything else.
 */
bool hook_sign_timestamp(const char *s, int64_t *out);

#endif
