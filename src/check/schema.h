/*
 * schema.h — a JSON Schema validator for the subset tgcrm's own schema
 * files use (docs/webhook-payload.schema.json, docs/inbound-payload.schema.json).
 *
 * `expect_webhook ... schema: true` checks every delivery the sink captured
 * against the webhook payload schema, so a body that drifts from the
 * documented contract fails a scenario with the first violation and where
 * it is ("$.ticket.status: \"done\" is not one of [\"open\", ...]").
 *
 * Supported (draft 2020-12 meaning): type (one or a list), enum, const,
 * required, properties, additionalProperties (bool or schema),
 * dependentRequired, items (one schema), minItems, maxItems, minimum,
 * maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength (code
 * points), pattern (PCRE2 through base/rx, case-sensitive, unanchored),
 * format "date-time" (asserted: RFC 3339), allOf, anyOf, oneOf, not,
 * boolean schemas, and $ref to a JSON pointer inside the same document
 * ("#", "#/$defs/Ticket"). Annotations ($schema, $id, $defs, $comment,
 * title, description, examples, default, deprecated, readOnly, writeOnly,
 * other formats) are accepted and ignored. Any other keyword is refused
 * when the schema is compiled, naming it: a validator that silently skipped
 * a keyword would pass what the schema forbids.
 */
#ifndef TGCRM_CHECK_SCHEMA_H
#define TGCRM_CHECK_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

struct schema;

/*
 * Check that doc is a schema of the subset (every keyword known, every
 * $ref resolvable, every pattern compilable) and prepare it. Takes its own
 * reference to doc. ERR_INVAL naming the keyword and where it is
 * ("unsupported keyword 'patternProperties' at #/$defs/X"). Caller owns
 * *out; schema_free.
 */
int schema_compile(json_t *doc, struct schema **out, struct err *e);

/* The same from JSON text (name is used in messages). */
int schema_compile_text(const char *name, const char *text, size_t len, struct schema **out,
                        struct err *e);

/* Free a schema; sets *sp to NULL. NULL is fine. */
void schema_free(struct schema **sp);

/*
 * Validate v. True when valid; otherwise false with the first violation
 * found in why (n bytes, NUL-terminated, cut if longer): a JSON path into
 * v, then what is wrong. why may be NULL.
 */
bool schema_validate(const struct schema *s, const json_t *v, char *why, size_t n);

/* docs/webhook-payload.schema.json, embedded at build time
 * (build/gen/schema_webhook.c, scripts/embed-text.sh). */
extern const char schema_webhook_text[];
extern const size_t schema_webhook_len;

#endif
