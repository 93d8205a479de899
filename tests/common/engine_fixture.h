/*
 * engine_fixture.h — a real engine for unit tests: a fresh SQLite file in a
 * temporary directory, the manual clock, a read-only connection for
 * assertions and an arena for what they read. Used by the test_engine*.c
 * files, which keep their own short names for the members.
 */
#ifndef TGCRM_TESTS_ENGINE_FIXTURE_H
#define TGCRM_TESTS_ENGINE_FIXTURE_H

#include <stdint.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "engine/engine.h"
#include "store/store.h"

struct fixture {
    char dir[64];               /* removed by fixture_close */
    struct cfg *cfg;
    struct clock *clock;        /* manual */
    struct engine *engine;
    struct store *reader;       /* STORE_RO on the same file */
    struct arena *arena;
};

/* Open everything on config `yaml` (without a store section: the fixture
 * puts the database in its directory); the test fails if anything does
 * not open. */
void fixture_open(struct fixture *f, int64_t start_ms, const char *yaml);
/* Free everything and remove the directory. */
void fixture_close(struct fixture *f);

/* Apply ev as a batch of one; the test fails if the batch cannot commit. */
struct engine_result fixture_apply(struct fixture *f, struct engine_event ev);

/* A customer message from Telegram user `user` ("Ann") in its private chat. */
struct engine_event fixture_customer(int64_t user, const char *text);

#endif
