/*
 * hook_sign.c — Standard Webhooks v1 signing and verification (OpenSSL).
 *
 * HMAC-SHA256 through EVP_MAC (OpenSSL 3), fed in three pieces so a large
 * body is never copied; base64 through EVP_EncodeBlock/EVP_DecodeBlock.
 * EVP_DecodeBlock counts '=' padding as zero bytes and refuses input whose
 * length is not a multiple of four, so hook_sign_key pads first and trims
 * the padding bytes from the result itself.
 */
#include "webhook/hook_sign.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define PREFIX "whsec_"
#define MAC_LEN 32

int hook_sign_key(const char *secret, unsigned char *key, size_t *klen, struct err *e)
{
    if (secret == NULL)
        return err_set(e, ERR_INVAL, "bad webhook secret: none given");
    if (strncmp(secret, PREFIX, strlen(PREFIX)) == 0)
        secret += strlen(PREFIX);
    size_t n = strlen(secret);
    /* base64 of HOOK_SIGN_SECRET_MAX bytes never needs more than this */
    char padded[HOOK_SIGN_SECRET_MAX + 4];
    if (n == 0 || n % 4 == 1 || n > HOOK_SIGN_SECRET_MAX)
        return err_set(e, ERR_INVAL, "bad webhook secret: wrong length");
    memcpy(padded, secret, n);
    size_t pad = (4 - n % 4) % 4;
    for (size_t i = 0; i < pad; i++)
        padded[n + i] = '=';
    size_t plen = n + pad;
    padded[plen] = '\0';
    size_t eq = 0;   /* padding in the padded text, ours or the secret's own */
    while (eq < 2 && eq < plen && padded[plen - 1 - eq] == '=')
        eq++;
    /* the only characters EVP_DecodeBlock would skip silently: refuse them */
    for (size_t i = 0; i < plen - eq; i++) {
        char c = padded[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok)
            return err_set(e, ERR_INVAL, "bad webhook secret: not base64");
    }
    int got = EVP_DecodeBlock(key, (const unsigned char *)padded, (int)plen);
    if (got < 0 || (size_t)got < eq)
        return err_set(e, ERR_INVAL, "bad webhook secret: not base64");
    *klen = (size_t)got - eq;
    if (*klen == 0)
        return err_set(e, ERR_INVAL, "bad webhook secret: empty key");
    return 0;
}

/* mac[MAC_LEN] = HMAC-SHA256(key, id "." ts "." body). */
static int hmac(const unsigned char *key, size_t klen, const char *id, const char *ts,
                const char *body, size_t len, unsigned char *mac, struct err *e)
{
    int rc = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (m == NULL) {
        rc = err_set(e, ERR_INTERNAL, "openssl: no HMAC");
        goto out;
    }
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(m);
    if (ctx == NULL) {
        rc = err_set(e, ERR_INTERNAL, "openssl: cannot make an HMAC context");
        goto out_mac;
    }
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outl = 0;
    if (EVP_MAC_init(ctx, key, klen, params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
        (len > 0 && EVP_MAC_update(ctx, (const unsigned char *)body, len) != 1) ||
        EVP_MAC_final(ctx, mac, &outl, MAC_LEN) != 1 || outl != MAC_LEN)
        rc = err_set(e, ERR_INTERNAL, "openssl: HMAC-SHA256 failed");
    EVP_MAC_CTX_free(ctx);
out_mac:
    EVP_MAC_free(m);
out:
    return rc;
}

/* Sign with the decimal timestamp text `ts`; out gets "v1,<b64>". */
static int sign_ts(const char *secret, const char *id, const char *ts, const char *body,
                   size_t len, char out[HOOK_SIGN_ONE_MAX], struct err *e)
{
    unsigned char key[HOOK_SIGN_SECRET_MAX];
    size_t klen = 0;
    unsigned char mac[MAC_LEN];
    int rc = hook_sign_key(secret, key, &klen, e);
    if (rc != 0)
        goto out;
    rc = hmac(key, klen, id, ts, body, len, mac, e);
    if (rc != 0)
        goto out;
    out[0] = 'v';
    out[1] = '1';
    out[2] = ',';
    /* 32 bytes encode to 44 characters plus NUL: fits HOOK_SIGN_ONE_MAX */
    EVP_EncodeBlock((unsigned char *)out + 3, mac, MAC_LEN);
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static int check_id(const char *id, struct err *e)
{
    if (id == NULL || id[0] == '\0' || strchr(id, '.') != NULL)
        return err_set(e, ERR_INVAL, "bad webhook id '%s'", id ? id : "");
    return 0;
}

int hook_sign_one(const char *secret, const char *id, int64_t ts,
                  const char *body, size_t len, char out[HOOK_SIGN_ONE_MAX],
                  struct err *e)
{
    int rc = check_id(id, e);
    if (rc != 0)
        return rc;
    char tsbuf[24];
    snprintf(tsbuf, sizeof tsbuf, "%" PRId64, ts);
    return sign_ts(secret, id, tsbuf, body, len, out, e);
}

int hook_sign_header(const char *secret, const char *previous_secret,
                     const char *id, int64_t ts, const char *body, size_t len,
                     char out[HOOK_SIGN_HEADER_MAX], struct err *e)
{
    int rc = hook_sign_one(secret, id, ts, body, len, out, e);
    if (rc != 0 || previous_secret == NULL || previous_secret[0] == '\0')
        return rc;
    size_t n = strlen(out);
    out[n] = ' ';
    return hook_sign_one(previous_secret, id, ts, body, len, out + n + 1, e);
}

bool hook_sign_timestamp(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '-') {
        neg = true;
        s++;
    }
    size_t n = strlen(s);
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

int hook_sign_verify(const char *const *secrets, size_t nsecrets,
                     const struct hook_sign_headers *h, const char *body,
                     size_t len, int64_t now, int64_t tolerance_s, struct err *e)
{
    if (h == NULL || h->id == NULL || h->timestamp == NULL || h->signature == NULL)
        return err_set(e, ERR_AUTH, "missing webhook headers");
    if (tolerance_s <= 0)
        tolerance_s = HOOK_SIGN_TOLERANCE_S;
    int64_t ts = 0;
    if (!hook_sign_timestamp(h->timestamp, &ts) || ts < now - tolerance_s || ts > now + tolerance_s)
        return err_set(e, ERR_AUTH, "stale timestamp");
    if (check_id(h->id, NULL) != 0)
        return err_set(e, ERR_AUTH, "bad signature");

    for (size_t k = 0; k < nsecrets; k++) {
        char want[HOOK_SIGN_ONE_MAX];
        /* sign the timestamp text as received: it is what the sender signed */
        int rc = sign_ts(secrets[k], h->id, h->timestamp, body, len, want, e);
        if (rc != 0)
            return rc;
        size_t wlen = strlen(want);
        const char *p = h->signature;
        while (*p != '\0') {
            while (*p == ' ')
                p++;
            const char *end = strchr(p, ' ');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (n == wlen && CRYPTO_memcmp(p, want, wlen) == 0)
                return 0;
            p += n;
        }
    }
    return err_set(e, ERR_AUTH, "bad signature");
}
