/*
 * serve.h — the CRM daemon: `tgcrm serve`.
 *
 * Wires the parts together: configuration, the store, the engine thread,
 * the read pool and the HTTP API; then waits for signals. SIGTERM/SIGINT
 * shut down cleanly (in-flight requests finish, queued events commit, every
 * resource is released); SIGHUP reloads the configuration, keeping the old
 * one when the new file is bad.
 */
#ifndef TGCRM_SERVE_SERVE_H
#define TGCRM_SERVE_SERVE_H

/* Entry point for `tgcrm serve ARGS`; argv[0] is "serve". Returns the exit
 * code: 0 clean shutdown, 1 runtime failure, 2 usage or configuration error. */
int serve_main(int argc, char **argv);

#endif
