/*
 * cmd_demo.c — `attune demo`: the synthetic demo study (collector/demo.c,
 * docs/demo.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "collector.h"
#include "demo.h"
#include "audit.h"
#include "intake.h"

int cli_demo(int argc, char **argv)
{
    static const struct option options[] = {
        {"seed", required_argument, NULL, 's'},
        {"participants", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    static const struct db_statement *const demo_tables[] = {col_demo_statements, NULL};
    struct col_demo_options o = {1, 280, 0, 84, 0, NULL};
    struct audit_entry who;
    char actor[96];
    struct col_demo_summary sum;
    struct timespec t0, t1;
    struct cfg cfg;
    struct err e;
    PGconn *conn = NULL;
    int opt, rc = CLI_FAIL;
    char *end;

    col_time_parse("2026-01-05T08:00:00Z", &o.start);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            o.seed = strtoul(optarg, &end, 10);
            if (*end != '\0' || end == optarg) {
                fprintf(stderr, "error: --seed must be a non-negative integer\n");
                return CLI_USAGE;
            }
            break;
        case 'n':
            o.participants = strtol(optarg, &end, 10);
            if (*end != '\0' || end == optarg || o.participants < 1 || o.participants > 1000000) {
                fprintf(stderr, "error: --participants must be between 1 and 1000000\n");
                return CLI_USAGE;
            }
            break;
        default:
            cli_usage("demo", 1);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_usage("demo", 1);
        return CLI_USAGE;
    }
    o.progress = o.participants >= 10000;
    cli_actor(&who, actor, sizeof actor, "attune demo");
    o.who = &who;
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (cli_collector_connect(&cfg, &conn, &e) != 0 || db_prepare(conn, demo_tables, &e) != 0 ||
        col_demo_run(conn, &cfg, &o, &sum, &e) != 0) {
        cli_error(&e);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (sum.existed) {
        printf("demo: the study \"demo\" exists already; nothing done\n");
    } else {
        printf("demo: study \"demo\" created (seed %lu) in %.1f s\n", o.seed,
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        printf("  participants        %lld (%lld withdrawn)\n", sum.participants, sum.withdrawn);
        printf("  responses stored    %lld (%lld retried uploads answered 200, nothing stored)\n",
               sum.responses, sum.response_retries);
        printf("  questionnaires      %lld completed, %lld late, %lld missed, %lld not due after "
               "withdrawal\n",
               sum.completed, sum.late, sum.missed, sum.not_due_withdrawn);
        printf("  events stored       %lld (%lld duplicates in retried batches skipped)\n",
               sum.events, sum.event_duplicates);
    }
    rc = CLI_OK;
out:
    if (conn != NULL)
        PQfinish(conn);
    cfg_free(&cfg);
    return rc;
}
