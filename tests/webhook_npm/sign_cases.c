/*
 * sign_cases.c — signed webhook cases for verify.mjs (tests/webhook_npm).
 *
 * Prints one JSON object a line: {"secrets": [...], "id", "timestamp",
 * "body", "signature", "expect": true|false}. The signature is the
 * webhook-signature header hook_sign_header computed; verify.mjs checks it
 * with the Standard Webhooks reference library under every listed secret
 * and compares the outcome with "expect". Bodies are pseudo-random
 * (fixed seed unless argv[1] gives one): ASCII, JSON, multi-byte UTF-8
 * (Cyrillic, CJK, emoji) and 100,000-character bodies; every fifth case is
 * signed with a rotation pair; a few tampered cases must be rejected.
 * The timestamp is the wall clock: the library checks it against its own.
 *
 * Usage: sign_cases [N [SEED]]   (default 50 cases, seed 1)
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "webhook/hook_sign.h"

static const char *const pieces[] = {
    "a", "b", "z", "0", "9", " ", "{", "}", "\"", "\\", ".", ",", ":", "\n", "\t",
    "é", "ß", "привет", "你好", "👋", "🎫", "€", "\xe2\x80\x8b", "line\r\n",
};

/* A random whsec_ secret of 24..64 bytes. */
static void make_secret(char *out, size_t cap)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t bytes = 24 + (size_t)(rand() % 41);
    size_t chars = (bytes + 2) / 3 * 4;
    strcpy(out, "whsec_");
    size_t n = strlen(out);
    for (size_t i = 0; i < chars && n + 1 < cap; i++)
        out[n++] = b64[rand() % 64];
    out[n] = '\0';
}

/* Characters (code points) in s: the bytes that do not continue one. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Append random pieces until the body has exactly `target` characters
 * (the last piece may be replaced by single letters to land on it). */
static int make_body(struct buf *b, size_t target)
{
    int rc = 0;
    size_t have = 0;
    if (rand() % 3 == 0) {   /* a JSON-looking body */
        rc = buf_printf(b, "{\"id\":\"evt_%d\",\"text\":\"", rand());
        have = chars(buf_str(b));
    }
    while (rc == 0 && have < target) {
        const char *p = pieces[(size_t)rand() % (sizeof pieces / sizeof pieces[0])];
        if (have + chars(p) > target)
            p = "q";
        rc = buf_puts(b, p);
        have += chars(p);
    }
    return rc;
}

int main(int argc, char **argv)
{
    int ncases = argc > 1 ? atoi(argv[1]) : 50;
    srand(argc > 2 ? (unsigned)atoi(argv[2]) : 1U);
    long long now = (long long)time(NULL);
    int rc = 0;
    for (int i = 0; i < ncases && rc == 0; i++) {
        char s1[128], s2[128], id[32], sig[HOOK_SIGN_HEADER_MAX];
        struct err e = {0};
        make_secret(s1, sizeof s1);
        make_secret(s2, sizeof s2);
        snprintf(id, sizeof id, "evt_%d", i + 1);
        size_t target = (i % 10 == 3) ? 100000 : (size_t)(rand() % 2000);
        struct buf b;
        buf_init(&b, 0);
        rc = make_body(&b, target);
        bool rotate = i % 5 == 4;
        if (rc == 0)
            rc = hook_sign_header(s1, rotate ? s2 : NULL, id, now, buf_str(&b), b.len, sig,
                                  &e);
        if (rc != 0) {
            fprintf(stderr, "sign_cases: case %d: %s\n", i + 1, e.msg);
            buf_release(&b);
            break;
        }
        /* every seventh case is tampered after signing and must fail */
        bool expect = i % 7 != 6;
        if (!expect && buf_putc(&b, 'x') != 0)
            rc = 1;
        char ts[24];
        snprintf(ts, sizeof ts, "%lld", now);
        json_t *line = json_pack("{s:[s,s*], s:s, s:s, s:s, s:s, s:b}", "secrets", s1,
                                 rotate ? s2 : NULL, "id", id, "timestamp", ts,
                                 "body", buf_str(&b), "signature", sig, "expect", expect);
        if (line == NULL) {
            fprintf(stderr, "sign_cases: case %d: cannot encode (invalid UTF-8?)\n", i + 1);
            rc = 1;
        } else {
            char *text = json_dumps(line, JSON_COMPACT);
            puts(text);
            free(text);
            json_decref(line);
        }
        buf_release(&b);
    }
    return rc == 0 ? 0 : 1;
}
