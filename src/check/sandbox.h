/*
 * sandbox.h — one case's private world for `tgcrm check`: the CRM under
 * test (`tgcrm serve --test-clock` as a child process, on a fresh SQLite
 * store in a temporary folder), the fake Telegram Bot API and the webhook
 * sink (in-process, loopback, ephemeral ports), all three on one manual
 * clock that starts at a fixed scenario epoch and moves only when the
 * scenario moves it.
 *
 * The CRM runs the suite's configuration with a few keys overridden so it
 * talks to the fake and the sink and nothing else (docs/check.md,
 * "Sandbox"); the fake is seeded with the bot, the staff forum group, the
 * agents and the suite's customers; the sink learns each endpoint's
 * signing secrets.
 *
 * Ownership: struct sandbox owns its clock, fake, sink, child process and
 * folder; sandbox_free kills and reaps the child and removes the folder.
 */
#ifndef TGCRM_CHECK_SANDBOX_H
#define TGCRM_CHECK_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "check/scenario.h"

struct cfg;
struct clock;
struct fake_tg;
struct sink;
struct check_env;

/* Where the scenario clock starts unless --clock-start says otherwise: a Monday. */
#define SANDBOX_EPOCH "2026-01-05T09:00:00.000Z"

/* The staff group made when the configuration names none. */
#define SANDBOX_GROUP_ID (-1001000000001LL)

struct sandbox_opts {
    const char *tgcrm;          /* the tgcrm binary to run serve with (borrowed) */
    int64_t clock_start_ms;     /* the scenario epoch */
    int64_t start_timeout_ms;   /* real time serve may take to listen, 0 = 10 s */
};

struct sandbox {
    char dir[256];              /* the case's temporary folder */
    char config_path[300];      /* the effective configuration (in dir) */
    char log_path[300];         /* serve's stdout and stderr (in dir) */
    struct clock *clock;        /* owned: manual, shared by the fake and the sink */
    struct fake_tg *tg;         /* owned */
    struct sink *sink;          /* owned */
    struct cfg *cfg;            /* owned reference: the effective configuration */
    pid_t pid;                  /* serve, 0 once reaped */
    int wait_status;            /* serve's waitpid status once reaped (sandbox_alive) */
    int port;                   /* serve's HTTP port */
    char api_url[64];           /* "http://127.0.0.1:<port>" */
    const char *api_token;      /* borrowed from cfg: the first http.api_tokens entry */
    int64_t bot_id;             /* the bot's Telegram user id */
    int64_t group_id;           /* the staff forum group */
    struct sandbox *next_live;  /* private: the list sandbox_abandon_all walks */
};

/*
 * Build and start a sandbox for a scenario of `suite`: folder, clock, fake
 * and sink, the effective configuration (written to config_path and
 * loaded), the fake's world, then serve, returning once it listens. On
 * failure everything started is stopped, *out is NULL, and e says what
 * failed (a configuration error keeps its file:line:column: ERR_CONFIG).
 */
int sandbox_start(const struct scenario_suite *suite, const struct sandbox_opts *o,
                  struct sandbox **out, struct err *e);

/* What idleness said about the future: when the CRM next has something
 * due (clock ms since the epoch, INT64_MAX none) and how many answers the
 * sink holds (they fall due at times only the sink knows). */
struct sandbox_due {
    int64_t next_ms;
    int64_t held;
};

/*
 * Wait (real time, up to timeout_ms) until the sandbox is idle at the
 * current scenario time: the CRM has taken every update the fake holds
 * for its bot (unless tg_faulted: a faulted Bot API may keep them from
 * it), its Telegram sender and webhook dispatcher have done everything due
 * now (GET /v1/test/idle), every webhook still in flight is held by the
 * sink, and no Telegram update appeared and no webhook reached the sink
 * while this was being looked at (the CRM's own Bot API calls may land
 * meanwhile: they are what it was settling). ERR_BUSY when idleness does not come; ERR_IO when serve
 * died or does not answer. env is the case's env (its curl handle).
 * *due gets what the last look said of the future.
 */
int sandbox_idle(struct sandbox *sb, struct check_env *env, bool tg_faulted,
                 int64_t timeout_ms, struct sandbox_due *due, struct err *e);

/*
 * Move the scenario clock by ms (> 0) and settle, as env_advance followed
 * by sandbox_idle — but in one request to the CRM when the sink holds no
 * answer (POST /v1/test/clock with wait_ms: the move and the first look
 * together), falling back to sandbox_idle when that look is not the end.
 * tg_faulted(ud) says, after the move, whether a Telegram fault is on.
 * The result and *due as sandbox_idle's.
 */
int sandbox_advance(struct sandbox *sb, struct check_env *env, int64_t ms,
                    int64_t timeout_ms, bool (*tg_faulted)(void *ud), void *ud,
                    struct sandbox_due *due, struct err *e);

/* Updates the fake holds for bot_id that its bot has not confirmed yet
 * (also what the live target waits on: there, the CRM polls our fake). */
int64_t sandbox_tg_pending(struct fake_tg *tg, int64_t bot_id);

/* True while serve runs (reaps it when it has exited). */
bool sandbox_alive(struct sandbox *sb);

/* The last max bytes of serve's log, a new string (mem_free), or NULL. */
char *sandbox_log_tail(const struct sandbox *sb, size_t max);

/*
 * The run is being interrupted (SIGINT, SIGTERM): kill every sandbox's
 * serve and remove its folder — a store in /dev/shm is memory — without
 * freeing anything. For a signal-waiting thread, never a signal handler;
 * the process must exit right after.
 */
void sandbox_abandon_all(void);

/* Kill and reap serve, stop the fake and the sink, remove the folder; *sp = NULL. */
void sandbox_free(struct sandbox **sp);

/*
 * The effective configuration text for `suite` (docs/check.md, "Sandbox"):
 * the suite's configuration with store, http.listen, telegram and the
 * webhook URLs pointed at this sandbox, and log as JSON lines. A new
 * string (mem_free). Exposed for the unit tests. ERR_CONFIG/ERR_IO as
 * the suite's configuration file cannot be read.
 */
int sandbox_config_text(const struct scenario_suite *suite, const char *dir, int fake_port,
                        int sink_port, char **out, struct err *e);

#endif
