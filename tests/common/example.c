/*
 * example.c — loading examples/tgcrm.yaml in unit tests (see example.h).
 */
#include "common/example.h"

#include <criterion/criterion.h>
#include <stdlib.h>

struct cfg *example_cfg(void)
{
    setenv("TGCRM_BOT_TOKEN", "123456:example-bot-token", 1);
    setenv("TGCRM_API_TOKEN", "example-api-token-0123456789", 1);
    setenv("TGCRM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load("examples/tgcrm.yaml", &c, &e), 0, "examples/tgcrm.yaml: %s", e.msg);
    return c;
}
