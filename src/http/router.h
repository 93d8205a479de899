/*
 * router.h — method + path pattern → handler.
 *
 * A route table is a static array of struct router_route. Patterns are
 * absolute paths whose segments are literals or `{name}` placeholders that
 * match one non-empty segment ("/v1/tickets/{id}/thread"); there are no
 * wildcards, prefixes or trailing-slash games, so a path either matches a
 * pattern exactly or not at all. Routes can carry tags; a caller hides the
 * routes of a tag (the test-clock routes when the clock is real) and hidden
 * routes behave exactly like paths that do not exist.
 *
 * An unknown path is 404; a known path with another method is 405 with an
 * `Allow` header listing the methods it does have. Both bodies use the
 * common error shape (http_resp_error).
 */
#ifndef TGCRM_HTTP_ROUTER_H
#define TGCRM_HTTP_ROUTER_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "http/http_server.h"

#define ROUTER_MAX_PARAMS 4

/* Values of a matched route's placeholders; strings owned by the arena
 * given to router_match (the request arena). */
struct router_params {
    size_t n;
    const char *name[ROUTER_MAX_PARAMS];
    const char *value[ROUTER_MAX_PARAMS];
};

typedef void (*router_fn)(struct http_req *req, struct http_resp *resp,
                          const struct router_params *params, void *ud);

struct router_route {
    const char *method;      /* "GET", "POST", "PATCH" ... (exact) */
    const char *pattern;     /* "/v1/tickets/{id}"; at most ROUTER_MAX_PARAMS {} */
    router_fn fn;
    unsigned tags;           /* caller-defined bits, see `hide` below */
};

/* The value of placeholder `name`, or NULL. Borrowed. */
const char *router_param(const struct router_params *p, const char *name);

/*
 * Find the route for method + path among routes[0..n) whose tags share no
 * bit with `hide`. 0 with *out and params filled; ERR_NOTFOUND when no
 * visible pattern matches the path; ERR_METHOD when some do but not with
 * this method — then `allow` (if not NULL) gets their methods, in table
 * order without repeats, joined by ", ". ERR_TOOBIG when the arena is
 * exhausted. Messages go to e.
 */
int router_match(const struct router_route *routes, size_t n, unsigned hide,
                 const char *method, const char *path, struct arena *a,
                 const struct router_route **out, struct router_params *params,
                 struct buf *allow, struct err *e);

/*
 * Route a request: call the matching handler, or answer 404 / 405 (with
 * Allow) in the common error shape. Returns 0 when a handler ran, else the
 * ERR_* code that was answered.
 */
int router_dispatch(const struct router_route *routes, size_t n, unsigned hide,
                    struct http_req *req, struct http_resp *resp, void *ud);

#endif
