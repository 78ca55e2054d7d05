/*
 * cmd_study.c — `attune study create|texts`, `attune enroll` and `attune link`:
 * setting a study up from the command line (the work is in collector/study.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "collector.h"
#include "audit.h"
#include "intake.h"

int cli_collector_connect(const struct cfg *cfg, PGconn **out, struct err *e)
{
    char *conninfo = NULL;
    PGconn *conn = NULL;
    int rc;

    if ((rc = cluster_resolve(cfg, 1, &conninfo, e)) != 0)
        return rc;
    rc = db_connect(conninfo, &conn, e);
    free(conninfo);
    if (rc != 0)
        return rc;
    if ((rc = db_prepare(conn, col_statement_tables, e)) != 0 ||
        (rc = db_prepare(conn, (const struct db_statement *const[]){audit_statements, NULL}, e)) !=
            0) {
        err_hint(e, "Has the database been migrated? Run \"attune migrate\".");
        PQfinish(conn);
        return rc;
    }
    *out = conn;
    return 0;
}

int cli_study(int argc, char **argv)
{
    struct audit_entry who;
    char actor[96];
    struct cfg cfg;
    struct err e;
    PGconn *conn = NULL;
    int rc = CLI_FAIL;

    int texts, outcome = 0;

    texts = argc == 4 && strcmp(argv[1], "texts") == 0;
    if (!texts && (argc != 3 || strcmp(argv[1], "create") != 0)) {
        cli_usage("study", 1);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    cli_actor(&who, actor, sizeof actor, NULL);
    if (cli_collector_connect(&cfg, &conn, &e) != 0 ||
        (texts ? col_study_texts(conn, argv[2], argv[3], &who, &outcome, &e)
               : col_study_create(conn, &cfg, argv[2], &who, &e)) != 0) {
        cli_error(&e);
        goto out;
    }
    if (!texts)
        printf("study created from %s\n", argv[2]);
    else
        printf("item texts from %s %s in study %s\n", argv[3],
               outcome == COL_TEXTS_STORED     ? "stored"
               : outcome == COL_TEXTS_REPLACED ? "replaced the texts stored before"
                                               : "unchanged: already stored",
               argv[2]);
    rc = CLI_OK;
out:
    if (conn != NULL)
        PQfinish(conn);
    cfg_free(&cfg);
    return rc;
}

/* Prints the enrolment CSV: header, then code, arm, token, personal link. */
static void cli_enrol_print(const struct cfg *cfg, const struct col_enrolment *list, int n)
{
    const char *base = cfg->public_url ? cfg->public_url : "";
    size_t bl = strlen(base);

    /* A public_url ending in "/" must not give "//p/". */
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    printf("code,arm,token,link\n");
    for (int i = 0; i < n; i++)
        printf("%s,%s,%s,%.*s/p/%s\n", list[i].code, list[i].arm, list[i].token, (int)bl, base,
               list[i].token);
    fflush(stdout);
}

int cli_enroll(int argc, char **argv)
{
    static const struct option options[] = {
        {"study", required_argument, NULL, 's'}, {"arm", required_argument, NULL, 'a'},
        {"count", required_argument, NULL, 'n'}, {"enrolled-at", required_argument, NULL, 't'},
        {"code", required_argument, NULL, 'c'},  {NULL, 0, NULL, 0},
    };
    const char *study = NULL, *arm = NULL, *code = NULL;
    long count = 1;
    int64_t at = col_time_now();
    struct col_enrolment *list = NULL;
    struct audit_entry who;
    char actor[96];
    struct cfg cfg;
    struct err e;
    PGconn *conn = NULL;
    int opt, rc = CLI_FAIL;
    char *end;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            study = optarg;
            break;
        case 'a':
            arm = optarg;
            break;
        case 'n':
            count = strtol(optarg, &end, 10);
            if (*end != '\0' || end == optarg || count < 1 || count > 100000) {
                fprintf(stderr, "error: --count must be a number from 1 to 100000\n");
                return CLI_USAGE;
            }
            break;
        case 't':
            if (col_time_parse(optarg, &at) != 0) {
                fprintf(stderr, "error: --enrolled-at must be an RFC 3339 time\n");
                return CLI_USAGE;
            }
            break;
        case 'c':
            code = optarg;
            break;
        default:
            cli_usage("enroll", 1);
            return CLI_USAGE;
        }
    }
    if (study == NULL || arm == NULL || optind < argc) {
        cli_usage("enroll", 1);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    cli_actor(&who, actor, sizeof actor, NULL);
    if (cli_collector_connect(&cfg, &conn, &e) != 0 ||
        col_enroll(conn, study, arm, (int)count, at, code, &who, &list, &e) != 0) {
        cli_error(&e);
        goto out;
    }
    cli_enrol_print(&cfg, list, (int)count);
    rc = CLI_OK;
out:
    free(list);
    if (conn != NULL)
        PQfinish(conn);
    cfg_free(&cfg);
    return rc;
}

int cli_link(int argc, char **argv)
{
    static const struct option options[] = {
        {"study", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *study = NULL;
    struct cfg cfg;
    struct err e;
    PGconn *conn = NULL;
    int opt, reissue, rc = CLI_FAIL;
    struct col_enrolment en;
    struct audit_entry who;
    char actor[96];

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 's') {
            cli_usage("link", 1);
            return CLI_USAGE;
        }
        study = optarg;
    }
    if (study == NULL || argc - optind != 2 ||
        (strcmp(argv[optind], "revoke") != 0 && strcmp(argv[optind], "reissue") != 0)) {
        cli_usage("link", 1);
        return CLI_USAGE;
    }
    reissue = strcmp(argv[optind], "reissue") == 0;
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    memset(&en, 0, sizeof en);
    cli_actor(&who, actor, sizeof actor, NULL);
    if (cli_collector_connect(&cfg, &conn, &e) != 0 ||
        col_token_revoke(conn, study, argv[optind + 1], reissue, &who, en.token, &e) != 0) {
        cli_error(&e);
        goto out;
    }
    if (reissue) {
        snprintf(en.code, sizeof en.code, "%s", argv[optind + 1]);
        {
            const char *params[2] = {study, en.code};
            PGresult *res = NULL;
            if (db_query_sql(conn,
                             "SELECT arm_id FROM participants WHERE study_id = $1 AND code = $2", 2,
                             params, &res, &e) == 1)
                snprintf(en.arm, sizeof en.arm, "%s", PQgetvalue(res, 0, 0));
            PQclear(res);
        }
        cli_enrol_print(&cfg, &en, 1);
    } else {
        printf("tokens of %s revoked\n", argv[optind + 1]);
    }
    rc = CLI_OK;
out:
    if (conn != NULL)
        PQfinish(conn);
    cfg_free(&cfg);
    return rc;
}
