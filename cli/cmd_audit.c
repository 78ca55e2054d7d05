/*
 * cmd_audit.c — `attune audit verify|show`. verify seals what is not yet
 * sealed and recomputes the whole hash chain, naming the first broken row;
 * show prints rows filtered by time, actor, action, target and study.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"
#include "cli.h"

static int cli_audit_verify(struct db_pool *pool, int seal, struct err *e)
{
    struct audit_report report;
    char head[2 * AUDIT_HASH_BYTES + 1];
    PGconn *conn;
    long sealed = 0;
    int rc;

    if (seal && (sealed = audit_seal(pool, 1000, AUDIT_SEAL_DURABLE, e)) < 0)
        return CLI_FAIL;
    if ((conn = db_pool_acquire(pool, 5000, e)) == NULL)
        return CLI_FAIL;
    rc = audit_verify(conn, &report, e);
    db_pool_release(pool, conn);
    if (rc != 0)
        return CLI_FAIL;
    sodium_bin2hex(head, sizeof head, report.head_hash, sizeof report.head_hash);
    if (seal)
        printf("sealed %ld new row%s\n", sealed, sealed == 1 ? "" : "s");
    printf("audit trail intact: %lld sealed row%s", report.rows, report.rows == 1 ? "" : "s");
    if (report.unsealed > 0)
        printf(", %lld not yet sealed", report.unsealed);
    printf("\nhead: seal %lld, %s\n", report.head_seq, head);
    return CLI_OK;
}

static int cli_audit_show(struct db_pool *pool, const struct audit_filter *f, int as_json,
                          struct err *e)
{
    PGconn *conn = db_pool_acquire(pool, 5000, e);
    json_t *rows = NULL, *row;
    size_t i;
    int n;

    if (conn == NULL)
        return CLI_FAIL;
    n = audit_query(conn, f, &rows, e);
    db_pool_release(pool, conn);
    if (n < 0)
        return CLI_FAIL;
    if (as_json) {
        char *text = json_dumps(rows, JSON_INDENT(2));
        printf("%s\n", text ? text : "[]");
        free(text);
        json_decref(rows);
        return CLI_OK;
    }
    printf("%-8s %-27s %-12s %-24s %-24s %s\n", "id", "at", "actor kind", "actor", "action",
           "target");
    json_array_foreach(rows, i, row)
    {
        const char *target = json_string_value(json_object_get(row, "target"));
        const char *reason = json_string_value(json_object_get(row, "reason"));
        printf("%-8lld %-27s %-12s %-24s %-24s %s%s%s\n",
               (long long)json_integer_value(json_object_get(row, "id")),
               json_string_value(json_object_get(row, "at")),
               json_string_value(json_object_get(row, "actor_kind")),
               json_string_value(json_object_get(row, "actor")),
               json_string_value(json_object_get(row, "action")), target ? target : "-",
               reason ? "  reason: " : "", reason ? reason : "");
    }
    json_decref(rows);
    return CLI_OK;
}

int cli_audit(int argc, char **argv)
{
    static const struct option options[] = {
        {"since", required_argument, NULL, 'S'},  {"until", required_argument, NULL, 'U'},
        {"actor", required_argument, NULL, 'a'},  {"action", required_argument, NULL, 'A'},
        {"target", required_argument, NULL, 't'}, {"study", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'l'},  {"json", no_argument, NULL, 'j'},
        {"no-seal", no_argument, NULL, 'n'},      {NULL, 0, NULL, 0},
    };
    struct audit_filter f;
    struct db_pool *pool = NULL;
    int as_json = 0, seal = 1, opt, rc = CLI_FAIL;
    const char *action;
    struct cfg cfg;
    struct err e;
    char *end;

    memset(&f, 0, sizeof f);
    f.limit = 100;
    if (argc < 2) {
        cli_usage("audit", 1);
        return CLI_USAGE;
    }
    action = argv[1];
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (opt) {
        case 'S':
            f.since = optarg;
            break;
        case 'U':
            f.until = optarg;
            break;
        case 'a':
            f.actor = optarg;
            break;
        case 'A':
            f.action = optarg;
            break;
        case 't':
            f.target = optarg;
            break;
        case 's':
            f.study_id = optarg;
            break;
        case 'l':
            f.limit = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || f.limit < 1 || f.limit > 10000) {
                fprintf(stderr, "error: --limit takes a whole number from 1 to 10000\n");
                return CLI_USAGE;
            }
            break;
        case 'j':
            as_json = 1;
            break;
        case 'n':
            seal = 0;
            break;
        default:
            cli_usage("audit", 1);
            return CLI_USAGE;
        }
    }
    if ((strcmp(action, "verify") != 0 && strcmp(action, "show") != 0) || argc - 1 != optind) {
        if (strcmp(action, "verify") != 0 && strcmp(action, "show") != 0)
            fprintf(stderr, "error: unknown action \"audit %s\"\n", action);
        cli_usage("audit", 1);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    if (cli_access_pool(&cfg, &pool, &e) == 0)
        rc = strcmp(action, "verify") == 0 ? cli_audit_verify(pool, seal, &e)
                                           : cli_audit_show(pool, &f, as_json, &e);
    if (rc != CLI_OK)
        cli_error(&e);
    db_pool_free(pool);
    cfg_free(&cfg);
    return rc;
}
