/*
 * cfg.h — the configuration: one YAML file → one immutable struct cfg.
 *
 * cfg_load parses and validates the whole file (libfyaml) and either returns
 * a complete struct cfg or refuses with "file:line:column: what is wrong"
 * (ERR_CONFIG). There are no silent defaults for things that are wrong: an
 * unknown key, a value of the wrong type, a duplicate name or a reference to
 * something that does not exist is an error at its position. Keys that are
 * absent take the documented defaults (docs/config.md).
 *
 * Secrets are written as "${ENV_NAME}" (the whole scalar or part of it) and
 * expanded at load; an unset variable is an error at that position.
 *
 * Lifetime: a loaded cfg is shared by the engine and the HTTP threads and is
 * replaced on SIGHUP, so it is reference counted: cfg_load returns one
 * reference; cfg_ref/cfg_unref add and drop one; the last unref frees it.
 * Everything inside is owned by the cfg and immutable after load.
 */
#ifndef TGCRM_BASE_CFG_H
#define TGCRM_BASE_CFG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct cfg_pos {            /* where a value was written, for later errors */
    int line;
    int column;
};

struct cfg_telegram {
    char *token;            /* bot token (secret); NULL if not configured */
    char *api_base;         /* default "https://api.telegram.org" */
    char *mode;             /* "polling" (default) or "webhook" */
    int64_t staff_group_id; /* forum supergroup chat id; 0 = not configured */
    int64_t poll_timeout_ms;/* default 30s */
    char *webhook_url;      /* webhook mode: public URL Telegram posts to */
    char *webhook_secret;   /* secret_token (secret) */
};

struct cfg_store {
    char *driver;           /* "sqlite" (default) or "postgres" */
    char *path;             /* sqlite file; default "tgcrm.db" */
    char *dsn;              /* postgres conninfo (secret); required for postgres */
    char *synchronous;      /* sqlite: "full" (default) or "normal" */
    int64_t busy_timeout_ms;/* default 5s */
    int read_connections;   /* read pool size, default 4, 1..64 */
};

struct cfg_api_token {
    char *name;             /* who holds it, for logs ("helpdesk", "ops") */
    char *token;            /* the bearer token (secret) */
};

struct cfg_http {
    char *listen;           /* "127.0.0.1:8080" (default); port 0 = ephemeral */
    struct cfg_api_token *tokens;
    size_t ntokens;         /* at least one is required */
    int64_t max_body;       /* bytes, default 1 MiB; accepts "512KiB", "1MiB" */
    int threads;            /* worker threads, default 4 */
};

struct cfg_log {
    char *level;            /* "debug" | "info" (default) | "warn" | "error" */
    char *format;           /* "auto" (default) | "text" | "json" */
};

struct cfg_agent {
    char *id;               /* stable id used in the API and thread ("alice") */
    char *name;             /* display name, default = id */
    int64_t tg_user_id;     /* Telegram user id (required) */
    char *username;         /* Telegram username, optional */
    char **groups;          /* names of groups this agent serves (>= 1) */
    size_t ngroups;
    int capacity;           /* max active tickets, default 10, 0 = unlimited */
    char *availability;     /* initial availability on first start: default "online" */
    struct cfg_pos pos;
};

struct cfg_group {
    char *name;             /* "general", "billing", "level2" */
    char *title;            /* display title, default = name */
    int level;              /* support level, default 1 (escalation moves upward) */
    struct cfg_pos pos;
};

/* --- sections later issues give full meaning to; parsed and validated now --- */

struct cfg_rule {           /* routing rule, first match wins */
    char *name;
    char **keywords;        /* match any keyword (case-insensitive) */
    size_t nkeywords;
    char *regex;            /* PCRE2 pattern or NULL */
    char *tier;             /* customer tier or NULL */
    char *language;         /* customer language or NULL */
    char *group;            /* target group (must exist) */
    char *strategy;         /* "round_robin" (default) | "least_loaded" | "none" */
    char *priority;         /* priority to set, or NULL */
    struct cfg_pos pos;
};

struct cfg_sla_policy {
    char *name;
    char *priority;         /* condition: only tickets of this priority, or NULL */
    char *tier;             /* condition, or NULL */
    char *group;            /* condition (must exist), or NULL */
    int64_t first_response_ms;  /* 0 = no target */
    int64_t next_response_ms;
    int64_t resolution_ms;
    int64_t warn_before_ms;
    struct cfg_pos pos;
};

struct cfg_escalation {
    char *name;
    char **keywords;        /* trigger: any customer message with one of these */
    size_t nkeywords;
    char *on_sla;           /* trigger: "warning" | "breach" | NULL */
    int64_t no_reply_ms;    /* trigger: no agent reply for this long, 0 = off */
    char *tier;             /* trigger: customer tier, or NULL */
    char *set_priority;     /* action, or NULL */
    bool raise_priority;    /* action: one level up */
    char *move_to_group;    /* action (must exist), or NULL */
    bool notify;            /* action: notify in the topic */
    struct cfg_pos pos;
};

struct cfg_template {
    char *name;
    char *text;
    struct cfg_pos pos;
};

struct cfg_kb_article {
    char *id;
    char *title;
    char *url;
    char *body;
    char **keywords;
    size_t nkeywords;
    struct cfg_pos pos;
};

struct cfg_intake_question {
    char *field;            /* custom field name the answer is stored under */
    char *prompt;
    char *type;             /* "text" | "email" | "phone" | "number" | "choice" */
    char **choices;         /* for "choice" (>= 2) */
    size_t nchoices;
    bool optional;
    struct cfg_pos pos;
};

struct cfg_webhook {
    char *name;             /* endpoint name, used in /v1/inbound/<name> */
    char *url;
    char *secret;           /* "whsec_..." (secret) */
    char *previous_secret;  /* during rotation, or NULL */
    char **events;          /* filter; empty = all */
    size_t nevents;
    int64_t timeout_ms;     /* default 10s */
    int64_t *retry_ms;      /* schedule; default 5s,30s,2m,10m,30m,1h,3h,6h */
    size_t nretry;
    int64_t max_payload;    /* bytes, default 256 KiB */
    char *oversize;         /* "split" (default) | "truncate" */
    char *ordering;         /* "per_ticket" (default) | "none" */
    struct cfg_pos pos;
    int concurrency;        /* attempts in flight at once, default 16 */
};

struct cfg {
    atomic_int refs;
    char *path;             /* the file it was loaded from */

    struct cfg_telegram telegram;
    struct cfg_store store;
    struct cfg_http http;
    struct cfg_log log;

    struct cfg_agent *agents;           size_t nagents;
    struct cfg_group *groups;           size_t ngroups;     /* always has the general group */
    /* section "tickets" */
    char *general_group;                /* fallback queue name, default "general" */
    char *default_priority;             /* default "normal" */
    char *on_closed;                    /* "reopen" (default) | "new_ticket" */

    struct cfg_rule *rules;             size_t nrules;
    struct cfg_sla_policy *sla;         size_t nsla;
    struct cfg_escalation *escalations; size_t nescalations;
    struct cfg_template *templates;     size_t ntemplates;
    struct cfg_kb_article *kb;          size_t nkb;
    struct cfg_intake_question *intake; size_t nintake;
    bool intake_enabled;
    struct cfg_webhook *webhooks;       size_t nwebhooks;
};

/*
 * Load and validate `path`. On success *out holds one reference. On failure
 * returns ERR_CONFIG (or ERR_IO if the file cannot be read) with
 * "path:line:column: message" in e, and *out is NULL.
 */
int cfg_load(const char *path, struct cfg **out, struct err *e);

/* Same, from a string; `name` stands in for the path in messages. */
int cfg_load_string(const char *name, const char *yaml, size_t len,
                    struct cfg **out, struct err *e);

struct cfg *cfg_ref(struct cfg *c);
/* Drop a reference; frees on the last one. Sets *cp to NULL. NULL is fine. */
void cfg_unref(struct cfg **cp);

/* Lookups by name; borrowed pointers into c, or NULL. */
const struct cfg_agent *cfg_agent_find(const struct cfg *c, const char *id);
const struct cfg_agent *cfg_agent_find_tg(const struct cfg *c, int64_t tg_user_id);
const struct cfg_group *cfg_group_find(const struct cfg *c, const char *name);
const struct cfg_template *cfg_template_find(const struct cfg *c, const char *name);
const struct cfg_webhook *cfg_webhook_find(const struct cfg *c, const char *name);

/* True when agent a serves group g. */
bool cfg_agent_in_group(const struct cfg_agent *a, const char *group);

#endif
