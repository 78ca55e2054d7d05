/*
 * cmd_version.c — `attune version`.
 */
#include <stdio.h>

#include <gsl/gsl_version.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <sodium.h>

#include "cli.h"

int cli_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        cli_usage("version", 1);
        return CLI_USAGE;
    }
    printf("attune %s (%s)\n", ATTUNE_VERSION, ATTUNE_GIT_REV);
    printf("libmicrohttpd %s, jansson %s, libpq %d, GSL %s, libsodium %s\n", MHD_get_version(),
           JANSSON_VERSION, PQlibVersion(), gsl_version, sodium_version_string());
    return CLI_OK;
}
