/*
 * hook_client.c — see hook_client.h.
 */
#include "common/hook_client.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "webhook/hook_sign.h"

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    buf_append(ud, p, sz * n);
    return sz * n;
}

void hc_request(const char *base, const char *method, const char *path,
                const char *const *headers, const char *body, size_t len, struct hc_reply *r)
{
    CURL *c = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "%s%s", base, path);
    buf_init(&r->body, 0);
    buf_init(&r->headers, 0);
    struct curl_slist *hs = curl_slist_append(NULL, "Expect:");
    for (const char *const *h = headers; h != NULL && *h != NULL; h++)
        hs = curl_slist_append(hs, *h);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    r->cc = curl_easy_perform(c);
    r->status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
}

long hc_deliver(const char *base, const char *endpoint, const char *id, int64_t ts_s,
                const char *secret, const char *previous, const char *body)
{
    char sig[HOOK_SIGN_HEADER_MAX] = "", h_id[160], h_ts[64], h_sig[160], path[160];
    hook_sign_header(secret, previous, id, ts_s, body, strlen(body), sig, NULL);
    snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", (long long)ts_s);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
    snprintf(path, sizeof path, "/hooks/%s", endpoint);
    const char *hs[] = {"Content-Type: application/json", h_id, h_ts, h_sig, NULL};
    struct hc_reply r;
    hc_request(base, "POST", path, hs, body, strlen(body), &r);
    long status = r.cc == CURLE_OK ? r.status : 0;
    hc_reply_free(&r);
    return status;
}

bool hc_has_header(const struct hc_reply *r, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = buf_str(&r->headers); *p != '\0'; p++)
        if ((p == buf_str(&r->headers) || p[-1] == '\n') && strncasecmp(p, line, n) == 0)
            return true;
    return false;
}

void hc_reply_free(struct hc_reply *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}
