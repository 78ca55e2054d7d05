/*
 * cmd_analyze.c — `attune analyze <kind>`: a table of the analyses, each a
 * handler in its own file (cmd_analyze_<kind>.c) that takes argv from the
 * kind's name on. Checking the kind exists happens here, once.
 */
#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "cli.h"

/* Every analysis. Other issues add rows (prepost, between, reliability, ...). */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} cli_analyses[] = {
    {"mixed", cli_analyze_mixed},
};

int cli_analyze(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage("analyze", 1);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < sizeof cli_analyses / sizeof cli_analyses[0]; i++)
        if (strcmp(argv[1], cli_analyses[i].name) == 0)
            return cli_analyses[i].run(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown analysis \"%s\"\n", argv[1]);
    fprintf(stderr, "HINT: Run \"attune analyze --help\" for the list.\n");
    return CLI_USAGE;
}
