/*
 * cli.h — the `attune` command line: a table of git-style subcommands.
 *
 * Each subcommand is one row (name, handler, one-line summary, usage text).
 * main.c checks that the command exists, handles `--help` for all of them in
 * one place, and calls the handler with argv starting at the command name.
 * Handlers parse their own options with getopt_long, load the configuration
 * with cli_config(), and return an exit status: 0 success, 1 failure (after
 * printing the error), 2 usage error.
 */
#ifndef ATTUNE_CLI_H
#define ATTUNE_CLI_H

#include <libpq-fe.h>

#include "cfg.h"
#include "err.h"

#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage; /* full --help text after the "usage:" line */
};

/* Global --config FILE, taken before the command name. NULL if not given. */
extern const char *cli_config_file;

/*
 * Loads the configuration (defaults, file, environment), applies the flags
 * given as key/value pairs (NULL-terminated, values may be NULL to skip), and
 * finishes it. Prints the error and returns CLI_FAIL on failure.
 */
int cli_config(struct cfg *c, const char *const *flag_pairs);

/* Prints an error record to stderr in the command line's form. */
void cli_error(const struct err *e);

/* Prints "usage: attune <cmd> ..." for a command to stdout or stderr. */
void cli_usage(const char *name, int to_stderr);

/* ---- shared by the access commands (access_util.c) ---- */

struct db_pool;
struct audit_entry;

/*
 * A one-connection pool to the database as its owner, with access/'s and the
 * audit statements prepared, so that the commands can use db_run(). *out is
 * the caller's (db_pool_free).
 */
int cli_access_pool(const struct cfg *cfg, struct db_pool **out, struct err *e);

/*
 * An audit template for the person at the terminal: system, "cli:<user>".
 * The actor's text is written into `buf` (96 bytes suffice), which must
 * outlive the entry.
 */
void cli_actor(struct audit_entry *a, char *buf, size_t size, const char *reason);

/*
 * Reads a password: one line from standard input when `from_stdin`, else
 * twice without echo from the terminal. `size` must allow ACC_PASSWORD_MAX+2.
 */
int cli_read_password(int from_stdin, char *buf, size_t size, struct err *e);

/* The handlers, one per file cmd_*.c. */
int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_db(int argc, char **argv);
int cli_instruments(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_study(int argc, char **argv);
int cli_enroll(int argc, char **argv);
int cli_link(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* A connection for the collector's command-line tools, its statements
 * prepared (cmd_study.c). */
int cli_collector_connect(const struct cfg *cfg, PGconn **out, struct err *e);
int cli_analyze(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_participant(int argc, char **argv);
int cli_report(int argc, char **argv);

#endif
