/*
 * cmd_serve.c — `attune serve`.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "collector.h"

int cli_serve(int argc, char **argv)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"print-config", no_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    const char *flags[] = {"listen", NULL, "threads", NULL, NULL};
    int print_config = 0, opt, rc;
    struct cfg cfg;
    struct err e;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'l':
            flags[1] = optarg;
            break;
        case 't':
            flags[3] = optarg;
            break;
        case 'p':
            print_config = 1;
            break;
        default:
            cli_usage("serve", 1);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, flags) != CLI_OK)
        return CLI_FAIL;
    if (print_config) {
        cfg_print(&cfg, stdout);
        cfg_free(&cfg);
        return CLI_OK;
    }
    err_clear(&e);
    rc = col_serve(&cfg, &e);
    if (rc != 0)
        cli_error(&e);
    cfg_free(&cfg);
    return rc == 0 ? CLI_OK : CLI_FAIL;
}
