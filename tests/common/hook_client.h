/*
 * hook_client.h — a small libcurl client for tests of the webhook sink:
 * any request with any headers and body, and deliveries signed the way
 * tgcrm signs them (Standard Webhooks, hook_sign). Transport failures are
 * results (cc, status 0), not test failures: the sink's faults produce them
 * on purpose.
 */
#ifndef TGCRM_TESTS_HOOK_CLIENT_H
#define TGCRM_TESTS_HOOK_CLIENT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct hc_reply {
    CURLcode cc;
    long status;            /* 0 when nothing was answered */
    struct buf body;        /* owned; hc_reply_free */
    struct buf headers;     /* the raw response header block */
};

/*
 * method base+path (path sent as is), headers a NULL-terminated list of
 * "Name: value" (may be NULL), body[0..len) when body is not NULL.
 */
void hc_request(const char *base, const char *method, const char *path,
                const char *const *headers, const char *body, size_t len, struct hc_reply *r);

/*
 * POST body to base/hooks/<endpoint> with webhook-id `id`, webhook-timestamp
 * ts_s and the signature(s) of secret (and previous, may be NULL). Returns
 * the HTTP status, 0 when there was no answer.
 */
long hc_deliver(const char *base, const char *endpoint, const char *id, int64_t ts_s,
                const char *secret, const char *previous, const char *body);

/* True when a header line starts with `line` (case-insensitive). */
bool hc_has_header(const struct hc_reply *r, const char *line);

void hc_reply_free(struct hc_reply *r);

#endif
