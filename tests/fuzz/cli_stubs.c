/*
 * cli_stubs.c — what cli/main.c defines for the other command files, for
 * the route fuzz target, which links those files (the dashboards' handlers
 * call into them) but has its own main. Routing never reaches a command, so
 * these are never called; if one were, the target would stop loudly.
 */
#include <stdlib.h>

#include "cli.h"

const char *cli_config_file = NULL;

int cli_config(struct cfg *c, const char *const *flag_pairs)
{
    (void)c;
    (void)flag_pairs;
    abort();
}

void cli_error(const struct err *e)
{
    (void)e;
    abort();
}

void cli_usage(const char *name, int to_stderr)
{
    (void)name;
    (void)to_stderr;
    abort();
}
