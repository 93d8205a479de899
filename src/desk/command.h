/*
 * command.h — the agent commands understood inside a ticket's topic.
 *
 *   /status <open|in_progress|on_hold|resolved|closed>   /hold   /resolve
 *   /assign <agent>   /escalate [reason]   /note <text>   /r <template>
 *
 * Parsing is pure: the engine decides what a parsed command does. A text
 * that does not start with '/' is not a command (it is a reply to relay).
 */
#ifndef TGCRM_DESK_COMMAND_H
#define TGCRM_DESK_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "desk/ticket.h"

enum command_kind {
    COMMAND_NONE = 0,     /* not a command: an ordinary message */
    COMMAND_STATUS,
    COMMAND_HOLD,
    COMMAND_RESOLVE,
    COMMAND_ASSIGN,
    COMMAND_ESCALATE,
    COMMAND_NOTE,
    COMMAND_TEMPLATE,
    COMMAND_UNKNOWN,      /* starts with '/', but no such command */
    COMMAND_BAD_ARGS      /* a known command with a missing or bad argument */
};

struct command {
    enum command_kind kind;
    enum ticket_status status;   /* COMMAND_STATUS */
    char name[32];               /* the command word, without '/' and '@bot' */
    const char *arg;             /* the rest of the text, trimmed; points into the
                                    parsed text (borrowed), "" when none */
    size_t arg_len;
};

/* Parse `text` (borrowed; arg points into it). Never fails: problems are
 * COMMAND_UNKNOWN / COMMAND_BAD_ARGS with name filled. */
void command_parse(const char *text, struct command *out);

/* The usage text the bot answers with in the topic after UNKNOWN/BAD_ARGS. */
const char *command_usage(void);

#endif
