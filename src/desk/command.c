/*
 * command.c — parsing of topic commands (see command.h).
 */
#include "desk/command.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Commands in a ticket topic:\n"
    "/status <open|in_progress|on_hold|resolved|closed> — change the status\n"
    "/hold — put the ticket on hold\n"
    "/resolve — mark it resolved\n"
    "/assign <agent> — give it to an agent\n"
    "/escalate [reason] — escalate it\n"
    "/note <text> — internal note, never sent to the customer\n"
    "/r <template> — send a canned response\n"
    "Anything else you write here is sent to the customer.";

const char *command_usage(void)
{
    return usage;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void command_parse(const char *text, struct command *out)
{
    memset(out, 0, sizeof *out);
    out->arg = "";
    if (text == NULL || text[0] != '/') {
        out->kind = COMMAND_NONE;
        return;
    }
    const char *p = text + 1;
    size_t n = 0;
    while (p[n] != '\0' && !is_space(p[n]) && p[n] != '@')
        n++;
    snprintf(out->name, sizeof out->name, "%.*s", (int)(n < 31 ? n : 31), p);
    p += n;
    if (*p == '@')                       /* /status@support_bot resolved */
        while (*p != '\0' && !is_space(*p))
            p++;
    while (is_space(*p))
        p++;
    size_t len = strlen(p);
    while (len > 0 && is_space(p[len - 1]))
        len--;
    out->arg = p;
    out->arg_len = len;
    bool has_arg = len > 0;
    bool one_word = has_arg && strcspn(p, " \t\r\n") >= len;

    if (strcmp(out->name, "status") == 0) {
        char word[32];
        snprintf(word, sizeof word, "%.*s", (int)(len < 31 ? len : 31), p);
        if (one_word && ticket_status_parse(word, &out->status, NULL) == 0)
            out->kind = COMMAND_STATUS;
        else
            out->kind = COMMAND_BAD_ARGS;
    } else if (strcmp(out->name, "hold") == 0) {
        out->kind = has_arg ? COMMAND_BAD_ARGS : COMMAND_HOLD;
    } else if (strcmp(out->name, "resolve") == 0) {
        out->kind = has_arg ? COMMAND_BAD_ARGS : COMMAND_RESOLVE;
    } else if (strcmp(out->name, "assign") == 0) {
        out->kind = one_word ? COMMAND_ASSIGN : COMMAND_BAD_ARGS;
    } else if (strcmp(out->name, "escalate") == 0) {
        out->kind = COMMAND_ESCALATE;
    } else if (strcmp(out->name, "note") == 0) {
        out->kind = has_arg ? COMMAND_NOTE : COMMAND_BAD_ARGS;
    } else if (strcmp(out->name, "r") == 0) {
        out->kind = one_word ? COMMAND_TEMPLATE : COMMAND_BAD_ARGS;
    } else {
        out->kind = COMMAND_UNKNOWN;
    }
}
