/*
 * cmd_db.c — `attune db start|stop|status|url` and `attune migrate`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "migrate.h"

#define CLI_NOT_RUNNING 3 /* exit status of `db status` when stopped, as pg_ctl's */

static int cli_db_start(const struct cfg *cfg, struct err *e)
{
    char url[1024];
    char *conninfo = NULL;
    int rc = cluster_start(cfg, e);

    if (rc != 0)
        return CLI_FAIL;
    if (cluster_conninfo(cfg, &conninfo, e) != 0)
        return CLI_FAIL;
    cfg_mask_url(conninfo, url, sizeof url);
    printf("database running: %s\n", url);
    free(conninfo);
    return CLI_OK;
}

static int cli_db_stop(const struct cfg *cfg, struct err *e)
{
    if (cluster_stop(cfg, e) != 0)
        return CLI_FAIL;
    printf("database stopped\n");
    return CLI_OK;
}

static int cli_db_status(const struct cfg *cfg, struct err *e)
{
    enum cluster_state state;
    char data[4096];

    if (cfg->database_url != NULL) {
        PGconn *conn = NULL;
        char url[1024];
        cfg_mask_url(cfg->database_url, url, sizeof url);
        if (db_connect(cfg->database_url, &conn, e) != 0) {
            printf("external database not reachable: %s\n", url);
            return CLI_NOT_RUNNING;
        }
        PQfinish(conn);
        printf("external database reachable: %s\n", url);
        return CLI_OK;
    }
    if (cluster_status(cfg, &state, e) != 0)
        return CLI_FAIL;
    cluster_path(cfg, "data", data, sizeof data);
    switch (state) {
    case CLUSTER_ABSENT:
        printf("not initialised (%s)\n", data);
        return CLI_NOT_RUNNING;
    case CLUSTER_STOPPED:
        printf("stopped (%s)\n", data);
        return CLI_NOT_RUNNING;
    case CLUSTER_RUNNING:
        printf("running (%s)\n", data);
        return CLI_OK;
    }
    return CLI_FAIL;
}

static int cli_db_url(const struct cfg *cfg, struct err *e)
{
    char *conninfo = NULL;

    if (cfg->database_url != NULL) {
        char url[1024];
        cfg_mask_url(cfg->database_url, url, sizeof url);
        printf("%s\n", url);
        return CLI_OK;
    }
    if (cluster_conninfo(cfg, &conninfo, e) != 0)
        return CLI_FAIL;
    printf("%s\n", conninfo);
    free(conninfo);
    return CLI_OK;
}

int cli_db(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(const struct cfg *cfg, struct err *e);
    } actions[] = {
        {"start", cli_db_start},
        {"stop", cli_db_stop},
        {"status", cli_db_status},
        {"url", cli_db_url},
    };
    struct cfg cfg;
    struct err e;
    int rc = CLI_USAGE;

    if (argc != 2) {
        cli_usage("db", 1);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(argv[1], actions[i].name) != 0)
            continue;
        if (cli_config(&cfg, NULL) != CLI_OK)
            return CLI_FAIL;
        err_clear(&e);
        rc = actions[i].run(&cfg, &e);
        if (rc == CLI_FAIL)
            cli_error(&e);
        cfg_free(&cfg);
        return rc;
    }
    fprintf(stderr, "error: unknown action \"db %s\"\n", argv[1]);
    cli_usage("db", 1);
    return CLI_USAGE;
}

static void cli_migrate_applied(const struct migration *m, void *ctx)
{
    (void)ctx;
    printf("applied %s\n", m->name);
}

int cli_migrate(int argc, char **argv)
{
    static const struct option options[] = {
        {"status", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    struct migration_set *set = NULL;
    PGconn *conn = NULL;
    char *conninfo = NULL;
    struct cfg cfg;
    struct err e;
    int status_only = 0, opt, rc = CLI_FAIL;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 's') {
            cli_usage("migrate", 1);
            return CLI_USAGE;
        }
        status_only = 1;
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    if (migrate_load(cfg.sql_dir, &set, &e) != 0 || cluster_resolve(&cfg, 1, &conninfo, &e) != 0 ||
        db_connect(conninfo, &conn, &e) != 0)
        goto out;
    if (status_only) {
        if (migrate_check(conn, set, &e) != 0)
            goto out;
        for (size_t i = 0; i < set->n; i++)
            printf("%-8s %s\n", set->items[i].applied ? "applied" : "pending", set->items[i].name);
        rc = CLI_OK;
        goto out;
    }
    if (migrate_apply(conn, set, cli_migrate_applied, NULL, &e) != 0)
        goto out;
    printf("database is up to date (%zu migrations)\n", set->n);
    rc = CLI_OK;
out:
    if (rc != CLI_OK)
        cli_error(&e);
    if (conn != NULL)
        PQfinish(conn);
    free(conninfo);
    migrate_set_free(set);
    cfg_free(&cfg);
    return rc;
}
