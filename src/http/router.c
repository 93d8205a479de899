/*
 * router.c — segment-by-segment matching of paths against route patterns
 * (see router.h). Tables are small (tens of routes), so a linear scan is
 * both the simplest and fast enough: no allocation until a match.
 */
#include "http/router.h"

#include <stdbool.h>
#include <string.h>

const char *router_param(const struct router_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

/* One segment starting at s (just after a '/'): its length up to the next
 * '/' or the end. */
static size_t seglen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && s[n] != '/')
        n++;
    return n;
}

/*
 * Does path match pattern? When `params` is given, fill it (copies in a).
 * Returns 1 match, 0 no match, ERR_TOOBIG arena exhausted.
 */
static int match(const char *pattern, const char *path, struct arena *a,
                 struct router_params *params)
{
    if (*pattern != '/' || *path != '/')
        return 0;
    if (params != NULL)
        params->n = 0;
    const char *p = pattern, *q = path;
    while (*p == '/' && *q == '/') {
        p++;
        q++;
        size_t pl = seglen(p), ql = seglen(q);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (ql == 0)
                return 0;   /* a placeholder never matches an empty segment */
            if (params != NULL) {
                if (params->n >= ROUTER_MAX_PARAMS)
                    return 0;
                char *name = arena_strndup(a, p + 1, pl - 2);
                char *value = arena_strndup(a, q, ql);
                if (name == NULL || value == NULL)
                    return ERR_TOOBIG;
                params->name[params->n] = name;
                params->value[params->n] = value;
                params->n++;
            }
        } else if (pl != ql || memcmp(p, q, pl) != 0) {
            return 0;
        }
        p += pl;
        q += ql;
    }
    return *p == '\0' && *q == '\0';
}

static bool listed(const struct router_route *routes, size_t upto, unsigned hide,
                   const char *path, const char *method)
{
    for (size_t i = 0; i < upto; i++)
        if ((routes[i].tags & hide) == 0 && strcmp(routes[i].method, method) == 0 &&
            match(routes[i].pattern, path, NULL, NULL) == 1)
            return true;
    return false;
}

int router_match(const struct router_route *routes, size_t n, unsigned hide,
                 const char *method, const char *path, struct arena *a,
                 const struct router_route **out, struct router_params *params,
                 struct buf *allow, struct err *e)
{
    *out = NULL;
    bool path_known = false;
    for (size_t i = 0; i < n; i++) {
        const struct router_route *r = &routes[i];
        if ((r->tags & hide) != 0 || match(r->pattern, path, NULL, NULL) != 1)
            continue;
        path_known = true;
        if (strcmp(r->method, method) != 0)
            continue;
        int rc = match(r->pattern, path, a, params);
        if (rc == ERR_TOOBIG)
            return err_set(e, ERR_TOOBIG, "request arena exhausted");
        *out = r;
        return 0;
    }
    if (!path_known)
        return err_set(e, ERR_NOTFOUND, "no such path '%s'", path);
    if (allow != NULL) {
        for (size_t i = 0; i < n; i++) {
            const struct router_route *r = &routes[i];
            if ((r->tags & hide) != 0 || match(r->pattern, path, NULL, NULL) != 1 ||
                listed(routes, i, hide, path, r->method))
                continue;
            if (allow->len > 0)
                buf_puts(allow, ", ");
            buf_puts(allow, r->method);
        }
    }
    return err_set(e, ERR_METHOD, "method '%s' not allowed for '%s'", method, path);
}

int router_dispatch(const struct router_route *routes, size_t n, unsigned hide,
                    struct http_req *req, struct http_resp *resp, void *ud)
{
    const struct router_route *r = NULL;
    struct router_params params = {0};
    struct buf allow;
    buf_init(&allow, 256);
    struct err e = {0};
    int rc = router_match(routes, n, hide, req->method, req->path, req->arena, &r,
                          &params, &allow, &e);
    if (rc == 0) {
        buf_release(&allow);
        r->fn(req, resp, &params, ud);
        return 0;
    }
    if (rc == ERR_METHOD)
        http_resp_header(resp, "Allow", buf_str(&allow));
    buf_release(&allow);
    http_resp_error(resp, err_http_status(rc), &e);
    return rc;
}
