/*
 * hook_inbound.c — inbound webhook requests checked and parsed (see
 * hook_inbound.h).
 *
 * Verification adds to hook_sign_verify only what makes a refusal precise:
 * which header is missing, whether the timestamp is malformed or how far
 * off it is. The signature itself is hook_sign_verify's, so inbound and
 * outbound can never disagree on the scheme.
 */
#include "webhook/hook_inbound.h"

#include <inttypes.h>
#include <string.h>

static const char *const type_names[HOOK_INBOUND_TYPE_COUNT] = {
    [HOOK_INBOUND_UPDATE] = "ticket.update",
    [HOOK_INBOUND_REPLY] = "ticket.reply",
    [HOOK_INBOUND_NOTE] = "ticket.note",
};

/* The members each type takes; anything else is refused, so a misspelt
 * field ("stauts") is an error instead of a silent no-op. */
static const char *const update_fields[] = {"type", "ticket_id", "status", "priority",
                                            "group", "assignee", "reason", NULL};
static const char *const message_fields[] = {"type", "ticket_id", "agent", "text", NULL};

const char *hook_inbound_type_name(enum hook_inbound_type t)
{
    return (unsigned)t < HOOK_INBOUND_TYPE_COUNT ? type_names[t] : "unknown";
}

/* ---- verification ------------------------------------------------------------ */

/* 1..HOOK_INBOUND_ID_MAX visible ASCII characters, no '.': the id is part
 * of the signed content, where '.' separates it from the timestamp. */
static int check_id(const char *id, struct err *e)
{
    size_t n = strlen(id);
    bool ok = n <= HOOK_INBOUND_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = id[i] > ' ' && id[i] < 0x7f && id[i] != '.';
    if (!ok)
        return err_field(e, ERR_INVAL, "webhook-id",
                         "header 'webhook-id' must be 1 to %d visible ASCII characters "
                         "without '.'", HOOK_INBOUND_ID_MAX);
    return 0;
}

int hook_inbound_verify(const struct cfg_webhook *w, const struct hook_sign_headers *h,
                        const char *body, size_t len, int64_t now, struct err *e)
{
    const char *const names[] = {"webhook-id", "webhook-timestamp", "webhook-signature"};
    const char *const values[] = {h->id, h->timestamp, h->signature};
    for (size_t i = 0; i < 3; i++)
        if (values[i] == NULL || values[i][0] == '\0')
            return err_field(e, ERR_AUTH, names[i], "missing header '%s'", names[i]);
    int rc = check_id(h->id, e);
    if (rc != 0)
        return rc;
    int64_t ts = 0;
    if (!hook_sign_timestamp(h->timestamp, &ts))
        return err_field(e, ERR_INVAL, "webhook-timestamp",
                         "header 'webhook-timestamp' must be a Unix time in whole seconds, "
                         "got '%.32s'", h->timestamp);
    int64_t behind = now - ts;
    if (behind > HOOK_SIGN_TOLERANCE_S || -behind > HOOK_SIGN_TOLERANCE_S)
        return err_field(e, ERR_AUTH, "webhook-timestamp",
                         "stale timestamp: webhook-timestamp is %" PRId64 " s %s the server "
                         "clock (tolerance %d s)", behind > 0 ? behind : -behind,
                         behind > 0 ? "behind" : "ahead of", HOOK_SIGN_TOLERANCE_S);

    const char *secrets[2] = {w->secret, w->previous_secret};
    size_t nsecrets = w->previous_secret != NULL && w->previous_secret[0] != '\0' ? 2 : 1;
    struct err ve = {0};
    rc = hook_sign_verify(secrets, nsecrets, h, body, len, now, HOOK_SIGN_TOLERANCE_S, &ve);
    if (rc == ERR_AUTH)   /* the checks above leave only the signature to fail */
        return err_field(e, ERR_AUTH, "webhook-signature",
                         "bad signature: no v1 signature in 'webhook-signature' matches "
                         "endpoint '%s'", w->name);
    if (rc != 0)
        return err_set(e, ERR_CONFIG, "webhook endpoint '%s': %s", w->name, ve.msg);
    return 0;
}

/* ---- fields ------------------------------------------------------------------- */

/* Optional string member that may also be null (*out NULL then). */
static int str_or_null(json_t *obj, const char *key, bool *present, const char **out,
                       struct err *e)
{
    json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (v == NULL || json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return err_field(e, ERR_INVAL, key, "field '%s' must be a string or null", key);
    *out = json_string_value(v);
    return 0;
}

int hook_inbound_update_parse(json_t *obj, struct hook_inbound_update *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *status = NULL, *priority = NULL;
    bool has_reason = false;
    int rc = jx_get_str(obj, "status", false, &status, e);
    if (rc == 0 && status != NULL) {
        rc = ticket_status_parse(status, &out->status, e);
        out->set_status = true;
    }
    if (rc == 0)
        rc = jx_get_str(obj, "priority", false, &priority, e);
    if (rc == 0 && priority != NULL) {
        rc = ticket_priority_parse(priority, &out->priority, e);
        out->set_priority = true;
    }
    if (rc == 0)
        rc = jx_get_str(obj, "group", false, &out->group, e);
    if (rc == 0)
        rc = str_or_null(obj, "assignee", &out->set_assignee, &out->assignee, e);
    if (rc == 0)
        rc = str_or_null(obj, "reason", &has_reason, &out->reason, e);
    if (rc == 0 && !out->set_status && !out->set_priority && out->group == NULL &&
        !out->set_assignee)
        rc = err_set(e, ERR_INVAL,
                     "nothing to change: give at least one of status, priority, group, "
                     "assignee");
    return rc;
}

int hook_inbound_message_parse(json_t *obj, const char **agent, const char **text,
                               struct err *e)
{
    int rc = jx_get_text(obj, "agent", agent, e);
    return rc != 0 ? rc : jx_get_text(obj, "text", text, e);
}

/* ---- the whole body ------------------------------------------------------------ */

static int parse_type(json_t *doc, enum hook_inbound_type *out, struct err *e)
{
    const char *name = NULL;
    int rc = jx_get_str(doc, "type", true, &name, e);
    if (rc != 0)
        return rc;
    for (int t = 0; t < HOOK_INBOUND_TYPE_COUNT; t++) {
        if (strcmp(name, type_names[t]) == 0) {
            *out = (enum hook_inbound_type)t;
            return 0;
        }
    }
    return err_field(e, ERR_INVAL, "type",
                     "unknown type '%.60s' (expected ticket.update, ticket.reply or "
                     "ticket.note)", name);
}

/* Only the members of the command's type, named with the type on refusal. */
static int check_fields(json_t *doc, enum hook_inbound_type t, struct err *e)
{
    struct err fe = {0};
    const char *const *allowed = t == HOOK_INBOUND_UPDATE ? update_fields : message_fields;
    if (jx_check_fields(doc, allowed, "", &fe) == 0)
        return 0;
    return err_field(e, ERR_INVAL, fe.field, "%s for type '%s'", fe.msg,
                     hook_inbound_type_name(t));
}

static int parse_ticket_id(json_t *doc, int64_t *out, struct err *e)
{
    json_t *v = json_object_get(doc, "ticket_id");
    if (v == NULL)
        return err_field(e, ERR_INVAL, "ticket_id", "missing required field 'ticket_id'");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return err_field(e, ERR_INVAL, "ticket_id",
                         "field 'ticket_id' must be a positive integer");
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* Replace a string borrowed from the document by a copy in `a`. */
static int keep(struct arena *a, const char **s, struct err *e)
{
    if (*s == NULL)
        return 0;
    const char *copy = arena_strdup(a, *s);
    if (copy == NULL)
        return err_set(e, ERR_TOOBIG, "request too large to hold in memory");
    *s = copy;
    return 0;
}

int hook_inbound_parse(const char *body, size_t len, struct arena *a,
                       struct hook_inbound_cmd *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    json_t *doc = NULL;
    int rc = jx_parse_object(body, len, &doc, e);
    if (rc != 0)
        return rc;
    rc = parse_type(doc, &out->type, e);
    if (rc == 0)
        rc = check_fields(doc, out->type, e);
    if (rc == 0)
        rc = parse_ticket_id(doc, &out->ticket_id, e);
    if (rc == 0)
        rc = out->type == HOOK_INBOUND_UPDATE
                 ? hook_inbound_update_parse(doc, &out->update, e)
                 : hook_inbound_message_parse(doc, &out->agent, &out->text, e);
    /* the document goes away here: the command keeps copies */
    struct hook_inbound_update *u = &out->update;
    const char **strings[] = {&u->group, &u->assignee, &u->reason, &out->agent, &out->text};
    for (size_t i = 0; rc == 0 && i < sizeof strings / sizeof strings[0]; i++)
        rc = keep(a, strings[i], e);
    json_decref(doc);
    return rc;
}
