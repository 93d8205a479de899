/*
 * engine_fixture.c — a real engine for unit tests (see engine_fixture.h).
 */
#include "common/engine_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fixture_open(struct fixture *f, int64_t start_ms, const char *yaml)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tgcrm-engine-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    size_t len = strlen(yaml) + sizeof f->dir + 64;
    char *full = malloc(len);
    cr_assert_not_null(full);
    snprintf(full, len, "store: {path: %s/t.db}\n%s", f->dir, yaml);
    struct err e = {0};
    int rc = cfg_load_string("fixture.yaml", full, strlen(full), &f->cfg, &e);
    free(full);
    cr_assert_eq(rc, 0, "%s", e.msg);
    f->clock = clock_manual_new(start_ms);
    struct store *w = NULL;
    cr_assert_eq(store_open(&f->cfg->store, STORE_RW, &w, &e), 0, "%s", e.msg);
    cr_assert_eq(engine_new(f->cfg, w, f->clock, &f->engine, &e), 0, "%s", e.msg);
    cr_assert_eq(store_open(&f->cfg->store, STORE_RO, &f->reader, &e), 0, "%s", e.msg);
    f->arena = arena_new(0);
}

void fixture_close(struct fixture *f)
{
    engine_free(&f->engine);
    store_close(&f->reader);
    cfg_unref(&f->cfg);
    clock_free(&f->clock);
    arena_free(&f->arena);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

struct engine_result fixture_apply(struct fixture *f, struct engine_event ev)
{
    struct engine_result res;
    struct err e = {0};
    cr_assert_eq(engine_apply_batch(f->engine, &ev, &res, 1, &e), 0, "%s", e.msg);
    return res;
}

struct engine_event fixture_customer(int64_t user, const char *text)
{
    struct engine_event ev = {.type = ENGINE_CUSTOMER_MESSAGE, .text = text};
    ev.customer.tg_user_id = user;
    ev.customer.first_name = "Ann";
    ev.tg_chat_id = user;
    return ev;
}
