/*
 * test_router.c — pattern matching, placeholders, 404 vs 405 + Allow, and
 * hidden (tagged) routes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http/router.h"

static int called;
static const char *last_id;

static void h_list(struct http_req *req, struct http_resp *resp,
                   const struct router_params *p, void *ud)
{
    (void)req;
    (void)p;
    (void)ud;
    called = 1;
    resp->status = 200;
}

static void h_get(struct http_req *req, struct http_resp *resp,
                  const struct router_params *p, void *ud)
{
    (void)req;
    (void)ud;
    called = 2;
    last_id = router_param(p, "id");
    resp->status = 200;
}

static void h_other(struct http_req *req, struct http_resp *resp,
                    const struct router_params *p, void *ud)
{
    (void)req;
    (void)p;
    (void)ud;
    called = 3;
    resp->status = 201;
}

#define TAG_TEST 1u

static const struct router_route routes[] = {
    {"GET", "/v1/tickets", h_list, 0},
    {"GET", "/v1/tickets/{id}", h_get, 0},
    {"PATCH", "/v1/tickets/{id}", h_other, 0},
    {"GET", "/v1/tickets/{id}/thread", h_get, 0},
    {"POST", "/v1/tickets/{id}/replies", h_other, 0},
    {"GET", "/v1/a/{x}/b/{y}", h_get, 0},
    {"GET", "/v1/test/clock", h_list, TAG_TEST},
    {"POST", "/v1/test/clock", h_other, TAG_TEST},
    {"GET", "/", h_list, 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static struct arena *a;

static void setup(void)
{
    a = arena_new(1 << 20);
    called = 0;
    last_id = NULL;
}

static void teardown(void)
{
    arena_free(&a);
}

TestSuite(router, .init = setup, .fini = teardown);

static int match(const char *method, const char *path, const struct router_route **r,
                 struct router_params *p, struct buf *allow)
{
    struct err e = {0};
    return router_match(routes, NROUTES, 0, method, path, a, r, p, allow, &e);
}

Test(router, literal_match)
{
    const struct router_route *r;
    struct router_params p;
    cr_assert_eq(match("GET", "/v1/tickets", &r, &p, NULL), 0);
    cr_assert_eq(r->fn, h_list);
    cr_assert_eq(p.n, 0);
    cr_assert_eq(match("GET", "/", &r, &p, NULL), 0);
    cr_assert_eq(r, &routes[8]);
}

Test(router, placeholders_capture_segments)
{
    const struct router_route *r;
    struct router_params p;
    cr_assert_eq(match("GET", "/v1/tickets/42", &r, &p, NULL), 0);
    cr_assert_eq(r, &routes[1]);
    cr_assert_str_eq(router_param(&p, "id"), "42");
    cr_assert_null(router_param(&p, "nope"));

    cr_assert_eq(match("GET", "/v1/tickets/abc/thread", &r, &p, NULL), 0);
    cr_assert_eq(r, &routes[3]);
    cr_assert_str_eq(router_param(&p, "id"), "abc");

    cr_assert_eq(match("GET", "/v1/a/one/b/two", &r, &p, NULL), 0);
    cr_assert_eq(p.n, 2);
    cr_assert_str_eq(router_param(&p, "x"), "one");
    cr_assert_str_eq(router_param(&p, "y"), "two");
}

Test(router, unknown_paths_are_not_found)
{
    const struct router_route *r;
    struct router_params p;
    const char *paths[] = {"/v1/ticket", "/v1/tickets/", "/v1/tickets//thread",
                           "/v1/tickets/1/thread/x", "/v1", "", "v1/tickets",
                           "/v1/tickets/1/replies/", "//"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        cr_assert_eq(match("GET", paths[i], &r, &p, NULL), ERR_NOTFOUND, "%s", paths[i]);
        cr_assert_null(r);
    }
}

Test(router, wrong_method_lists_allowed)
{
    const struct router_route *r;
    struct router_params p;
    struct buf allow;
    buf_init(&allow, 0);
    cr_assert_eq(match("DELETE", "/v1/tickets/7", &r, &p, &allow), ERR_METHOD);
    cr_assert_str_eq(buf_str(&allow), "GET, PATCH");
    buf_release(&allow);

    cr_assert_eq(match("GET", "/v1/tickets/7/replies", &r, &p, &allow), ERR_METHOD);
    cr_assert_str_eq(buf_str(&allow), "POST");
    buf_release(&allow);
}

Test(router, hidden_routes_do_not_exist)
{
    const struct router_route *r;
    struct router_params p;
    struct err e = {0};
    cr_assert_eq(router_match(routes, NROUTES, TAG_TEST, "GET", "/v1/test/clock", a, &r,
                              &p, NULL, &e),
                 ERR_NOTFOUND);
    err_clear(&e);
    cr_assert_eq(router_match(routes, NROUTES, TAG_TEST, "DELETE", "/v1/test/clock", a,
                              &r, &p, NULL, &e),
                 ERR_NOTFOUND);
    err_clear(&e);
    cr_assert_eq(router_match(routes, NROUTES, 0, "POST", "/v1/test/clock", a, &r, &p,
                              NULL, &e),
                 0);
    cr_assert_eq(r->fn, h_other);
}

/* dispatch: a response without a server (router never touches req->conn). */
static void dispatch(const char *method, const char *path, struct http_resp *resp)
{
    struct http_req req = {.method = method, .path = path, .body = "", .arena = a};
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body, 0);
    resp->arena = a;
    router_dispatch(routes, NROUTES, TAG_TEST, &req, resp, NULL);
}

Test(router, dispatch_calls_handler)
{
    struct http_resp resp;
    dispatch("GET", "/v1/tickets/99", &resp);
    cr_assert_eq(called, 2);
    cr_assert_str_eq(last_id, "99");
    cr_assert_eq(resp.status, 200);
    buf_release(&resp.body);
}

Test(router, dispatch_404_json)
{
    struct http_resp resp;
    dispatch("GET", "/nope", &resp);
    cr_assert_eq(called, 0);
    cr_assert_eq(resp.status, 404);
    cr_assert_str_eq(resp.content_type, "application/json");
    cr_assert_str_eq(buf_str(&resp.body),
                     "{\"error\":{\"code\":\"not_found\",\"message\":\"no such path '/nope'\"}}");
    cr_assert_eq(resp.nheaders, 0);
    buf_release(&resp.body);
}

Test(router, dispatch_405_with_allow)
{
    struct http_resp resp;
    dispatch("PUT", "/v1/tickets", &resp);
    cr_assert_eq(called, 0);
    cr_assert_eq(resp.status, 405);
    cr_assert(strstr(buf_str(&resp.body), "\"code\":\"method_not_allowed\"") != NULL);
    cr_assert_eq(resp.nheaders, 1);
    cr_assert_str_eq(resp.headers[0].name, "Allow");
    cr_assert_str_eq(resp.headers[0].value, "GET");
    buf_release(&resp.body);
}

Test(router, dispatch_hidden_route_is_404)
{
    struct http_resp resp;
    dispatch("POST", "/v1/test/clock", &resp);
    cr_assert_eq(called, 0);
    cr_assert_eq(resp.status, 404);
    buf_release(&resp.body);
}
