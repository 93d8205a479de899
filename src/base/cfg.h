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
 * Loading a configuration is cfg_load followed by compiling what src/desk/
 * owns: template_set_new (templates), intake_form_new (the intake texts) and
 * kb_index_from_cfg. Their errors are config errors in the same
 * "file:line:column: message" form, to be treated exactly like cfg_load's
 * (refuse to start; keep the running configuration on reload).
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

/* A condition on a custom field (an intake answer): equals one of values. */
struct cfg_field_cond {
    char *name;             /* an intake question's field */
    char **values;          /* >= 1; compared case-insensitively */
    size_t nvalues;
    struct cfg_pos pos;     /* of the name, for errors found after intake is read */
};

/* A time-of-day window in local minutes: [from, to), to may be 1440 (24:00).
 * from > to wraps past midnight and belongs to the day it starts on. */
struct cfg_window {
    int from_min;
    int to_min;
};

#define CFG_DAYS_ALL 0x7fu  /* bit 0 = Monday ... bit 6 = Sunday */

struct cfg_rule {           /* routing rule, first match wins */
    char *name;
    char **keywords;        /* match any keyword (whole words, see base/rx.h) */
    size_t nkeywords;
    char *regex;            /* PCRE2 pattern or NULL */
    char *tier;             /* customer tier or NULL */
    char *language;         /* customer language or NULL */
    char *group;            /* target group (must exist) */
    char *strategy;         /* "round_robin" (default) | "least_loaded" | "none" */
    char *priority;         /* priority to set, or NULL */
    struct cfg_field_cond *fields;  /* all must hold; none = no condition */
    size_t nfields;
    struct cfg_window *hours;       /* any may hold; none = all day */
    size_t nhours;
    unsigned days;          /* CFG_DAYS_ALL bits; default every day */
    int utc_offset_min;     /* local time of hours/days; default tickets.utc_offset */
    struct cfg_pos pos;
};

/* SLA metrics are indexed in this order everywhere (desk/sla.h names them):
 * 0 first_response, 1 next_response, 2 resolution. Priorities and statuses
 * are indexed in the order of desk's enum ticket_priority and enum
 * ticket_status (tests/unit/test_cfg.c checks that they stay in step). */
#define CFG_SLA_METRICS 3
#define CFG_PRIORITIES 4
#define CFG_SLA_NAME_MAX 64     /* policy names are shorter: tickets store them */

struct tz;

struct cfg_hours {          /* one opening window of a business-hours calendar */
    int day;                /* 0 = Sunday ... 6 = Saturday */
    int64_t start_ms;       /* local time of day it opens, ms after midnight */
    int64_t end_ms;         /* > start_ms; past 24h when it runs into the next day */
};

struct cfg_holiday {        /* a local calendar day on which nothing is open */
    int year;               /* 0 = the same day every year */
    int month;
    int day;
};

struct cfg_calendar {       /* business hours: when SLA clocks count */
    char *timezone;         /* IANA zone name */
    struct tz *tz;          /* owned: the zone's transitions, loaded with the cfg */
    struct cfg_hours *hours;        /* sorted by day, then start; never overlapping */
    size_t nhours;
    struct cfg_holiday *holidays;
    size_t nholidays;
};

struct cfg_sla_policy {
    char *name;             /* shorter than CFG_SLA_NAME_MAX */
    char *priority;         /* condition: only tickets of this priority, or NULL */
    char *tier;             /* condition, or NULL */
    char *group;            /* condition (must exist), or NULL */
    /* targets for priorities without their own entry; 0 = no target */
    int64_t first_response_ms;
    int64_t next_response_ms;   /* default: first_response_ms ("off" = none) */
    int64_t resolution_ms;
    /* targets: {urgent: {...}}: replace the targets above for that priority */
    int64_t targets_ms[CFG_PRIORITIES][CFG_SLA_METRICS];
    bool has_targets[CFG_PRIORITIES];
    unsigned pause[CFG_SLA_METRICS];    /* bit s: status s pauses the metric */
    int64_t warn_before_ms;     /* 0 = no warnings */
    struct cfg_calendar *calendar;      /* owned; NULL = clocks always count */
    struct cfg_pos pos;
};

struct cfg_escalation {
    char *name;
    char **keywords;        /* trigger: any customer message with one of these */
    size_t nkeywords;
    char *regex;            /* trigger: a customer message matching it, or NULL */
    char *on_sla;           /* trigger: "warning" | "breach" | NULL */
    int64_t no_reply_ms;    /* trigger: no agent reply for this long, 0 = off */
    bool manual;            /* trigger: /escalate or the API */
    char *tier;             /* trigger alone; with other triggers, narrows them */
    char *set_priority;     /* action, or NULL */
    bool raise_priority;    /* action: one level up */
    char *move_to_group;    /* action (must exist), or NULL */
    bool next_level;        /* action: move to the nearest group of a higher level */
    bool reassign;          /* action: another agent of the (new) group */
    char *strategy;         /* how that agent is picked; default "round_robin" */
    bool notify;            /* action: notify in the topic */
    struct cfg_pos pos;
};

/*
 * Texts written in the template language (canned responses, the intake
 * form's texts) are compiled by src/desk/template.c, which cfg must not
 * include; so cfg records where every byte of such a text was written:
 * at[i] is the file position of byte i of the (${ENV}-expanded) text and
 * at[strlen(text)] the position just after it. Block scalars, folding,
 * quoting and escapes are accounted for, so a template error points at
 * the exact line and column in the file. NULL for built-in defaults.
 */
struct cfg_template {
    char *name;
    char *text;
    struct cfg_pos *text_at;    /* per byte of text, see above; owned */
    struct cfg_pos pos;
};

struct cfg_kb_article {
    char *id;
    char *title;
    char *url;
    char *body;
    char **keywords;
    size_t nkeywords;
    struct cfg_pos pos;     /* of its id, in the file that defines it */
};

struct cfg_intake_question {
    char *field;            /* custom field name the answer is stored under, <= 32 bytes */
    char *prompt;           /* a template */
    struct cfg_pos *prompt_at;  /* per byte of prompt; owned */
    char *type;             /* "text" | "email" | "phone" | "number" | "choice" */
    char **choices;         /* for "choice" (2..30) */
    size_t nchoices;
    bool optional;
    char *label;            /* name in the form summary; default: field, humanised */
    char *invalid;          /* re-ask text for a refused answer, or NULL (built-in) */
    bool has_min, has_max;  /* "number": range, inclusive */
    double min, max;
    struct cfg_pos pos;
};

/* The intake form's own texts. Templates except the two labels; never NULL
 * after load except intro; the *_at maps are NULL for built-in defaults. */
struct cfg_intake_texts {
    char *intro;            /* sent before the first question, or NULL */
    struct cfg_pos *intro_at;
    char *confirmation;     /* after the ticket opened */
    struct cfg_pos *confirmation_at;
    char *cancelled;        /* after /cancel */
    struct cfg_pos *cancelled_at;
    char *skip_button;      /* label of the skip button, default "Skip" */
    char *summary_title;    /* first line of the form summary, default "Intake form" */
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
    int64_t keep_succeeded_ms; /* delivered rows kept this long, default 30d; 0 = forever */
    int64_t keep_dead_ms;   /* dead letters kept this long, default 0 = until replayed */
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
    bool reassign_on_offline;           /* default true: see docs/config.md */
    char *fallback_strategy;            /* general queue without a rule: default "none" */
    int utc_offset_min;                 /* desk local time for routing hours, default 0 */

    struct cfg_rule *rules;             size_t nrules;
    struct cfg_sla_policy *sla;         size_t nsla;
    struct cfg_escalation *escalations; size_t nescalations;
    struct cfg_template *templates;     size_t ntemplates;
    struct cfg_kb_article *kb;          size_t nkb;     /* inline, then from kb.file */
    char *kb_file;                      /* kb.file as written, or NULL */
    int kb_suggestions;                 /* articles stored per ticket, default 3 */
    double kb_min_score;                /* weaker matches are not suggested */
    struct cfg_intake_question *intake; size_t nintake;
    bool intake_enabled;
    struct cfg_intake_texts intake_texts;
    int64_t intake_abandon_ms;          /* a form idle this long starts over; 0 = never */
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

/* A size as the config writes it ("512KiB", "1MiB", "10MB", bytes) for
 * command-line flags that take one. 0 or ERR_INVAL. */
int cfg_parse_size(const char *s, int64_t *out);

#endif
