/*
 * example.h — examples/tgcrm.yaml, loaded the way unit tests need it.
 *
 * The example names its secrets as ${TGCRM_BOT_TOKEN}, ${TGCRM_API_TOKEN}
 * and ${TGCRM_WEBHOOK_SECRET}; these are set to test values first. Tests
 * that compile a module's part of the example (templates, the intake form,
 * the knowledge base) share this instead of repeating the set-up.
 */
#ifndef TGCRM_TESTS_EXAMPLE_H
#define TGCRM_TESTS_EXAMPLE_H

#include "base/cfg.h"

/* The example configuration (one reference, cfg_unref it); aborts the
 * test with the loader's message if it does not load. */
struct cfg *example_cfg(void);

#endif
