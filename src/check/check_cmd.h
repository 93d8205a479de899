/*
 * check_cmd.h — the `tgcrm check` and `tgcrm sandbox` commands (main.c's
 * entry points into the testing framework).
 */
#ifndef TGCRM_CHECK_CHECK_CMD_H
#define TGCRM_CHECK_CHECK_CMD_H

/* `tgcrm check`: argv[0] is "check". Returns the exit status (0/1/2). */
int check_cmd_main(int argc, char **argv);

/* `tgcrm sandbox`: argv[0] is "sandbox". Runs until SIGINT/SIGTERM. */
int check_cmd_sandbox(int argc, char **argv);

#endif
