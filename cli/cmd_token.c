/*
 * cmd_token.c — `attune token create|list|revoke`: API tokens for scripts and
 * the study app. A token acts for its user and never beyond that user's role
 * and studies; it is printed once and stored only as a hash.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"
#include "cli.h"

struct cli_token_tx {
    const char *username;
    struct acc_token_spec spec;
    struct acc_token_made made;
    long long revoke_id;
    int already;
    struct audit_entry who;
    char actor[96];
};

static int cli_token_owner(PGconn *conn, struct cli_token_tx *t, struct err *e)
{
    const char *params[1] = {t->username};
    PGresult *res = NULL;
    int rc;

    if ((rc = db_query(conn, "acc_user_get", 1, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        PQclear(res);
        return err_set(e, ACC_ENOTFOUND, "user \"%s\" not found", t->username);
    }
    t->spec.user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (strcmp(PQgetvalue(res, 0, 1), "viewer") == 0) {
        PQclear(res);
        err_set(e, ACC_EINVAL, "viewers cannot have API tokens");
        err_detail(e, "A viewer sees aggregates only; tokens are for researchers and admins.");
        return ACC_EINVAL;
    }
    PQclear(res);
    return 0;
}

static int cli_token_create_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct cli_token_tx *t = vctx;
    int rc;

    if ((rc = cli_token_owner(conn, t, e)) != 0)
        return rc;
    return acc_token_create(conn, &t->spec, &t->who, &t->made, e);
}

static int cli_token_revoke_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct cli_token_tx *t = vctx;
    int rc = acc_token_revoke(conn, t->revoke_id, 0, &t->who, e);

    t->already = rc == 1;
    return rc < 0 ? rc : 0;
}

static int cli_token_list(struct db_pool *pool, const char *username, struct err *e)
{
    PGconn *conn = db_pool_acquire(pool, 5000, e);
    long long owner = 0;
    json_t *list = NULL, *row;
    size_t i;
    int n;

    if (conn == NULL)
        return CLI_FAIL;
    if (username != NULL) {
        const char *params[1] = {username};
        PGresult *res = NULL;
        n = db_query(conn, "acc_user_get", 1, params, &res, e);
        if (n == 1)
            owner = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (n <= 0) {
            db_pool_release(pool, conn);
            if (n == 0)
                err_set(e, ACC_ENOTFOUND, "user \"%s\" not found", username);
            return CLI_FAIL;
        }
    }
    n = acc_token_list(conn, owner, &list, e);
    db_pool_release(pool, conn);
    if (n < 0)
        return CLI_FAIL;
    printf("%-6s %-16s %-24s %-12s %-18s %-21s %s\n", "id", "owner", "name", "study", "scopes",
           "expires", "state");
    json_array_foreach(list, i, row)
    {
        char scopes[40] = "";
        json_t *s;
        size_t k;
        json_array_foreach(json_object_get(row, "scopes"), k, s)
        {
            if (k > 0)
                strncat(scopes, ",", sizeof scopes - strlen(scopes) - 1);
            strncat(scopes, json_string_value(s), sizeof scopes - strlen(scopes) - 1);
        }
        const char *study = json_string_value(json_object_get(row, "study"));
        printf("%-6lld %-16s %-24s %-12s %-18s %-21s %s\n",
               (long long)json_integer_value(json_object_get(row, "id")),
               json_string_value(json_object_get(row, "owner")),
               json_string_value(json_object_get(row, "name")), study ? study : "(any)", scopes,
               json_string_value(json_object_get(row, "expires_at")),
               json_is_true(json_object_get(row, "revoked")) ? "revoked" : "active");
    }
    json_decref(list);
    return CLI_OK;
}

int cli_token(int argc, char **argv)
{
    static const struct option options[] = {
        {"user", required_argument, NULL, 'u'},  {"name", required_argument, NULL, 'n'},
        {"scope", required_argument, NULL, 's'}, {"study", required_argument, NULL, 't'},
        {"days", required_argument, NULL, 'd'},  {NULL, 0, NULL, 0},
    };
    struct cli_token_tx t;
    struct db_pool *pool = NULL;
    const char *action, *scopes = NULL;
    int opt, rc = CLI_FAIL;
    struct cfg cfg;
    struct err e;
    char *end;

    memset(&t, 0, sizeof t);
    t.spec.days = 90;
    if (argc < 2) {
        cli_usage("token", 1);
        return CLI_USAGE;
    }
    action = argv[1];
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (opt) {
        case 'u':
            t.username = optarg;
            break;
        case 'n':
            t.spec.name = optarg;
            break;
        case 's':
            scopes = optarg;
            break;
        case 't':
            t.spec.study = optarg;
            break;
        case 'd':
            t.spec.days = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || t.spec.days < 1 || t.spec.days > 3650) {
                fprintf(stderr, "error: --days takes a whole number from 1 to 3650\n");
                return CLI_USAGE;
            }
            break;
        default:
            cli_usage("token", 1);
            return CLI_USAGE;
        }
    }
    if (strcmp(action, "create") == 0) {
        if (t.username == NULL || t.spec.name == NULL || scopes == NULL || argc - 1 != optind) {
            fprintf(stderr, "error: token create needs --user, --name and --scope\n");
            cli_usage("token", 1);
            return CLI_USAGE;
        }
        if (acc_scopes_parse(scopes, &t.spec.scopes) != 0) {
            fprintf(stderr,
                    "error: invalid scope \"%s\"\nHINT: Use read, write, export, "
                    "separated by commas.\n",
                    scopes);
            return CLI_USAGE;
        }
        t.spec.username = t.username;
    } else if (strcmp(action, "revoke") == 0) {
        if (argc - 1 - optind != 1) {
            cli_usage("token", 1);
            return CLI_USAGE;
        }
        t.revoke_id = strtoll(argv[1 + optind], &end, 10);
        if (end == argv[1 + optind] || *end != '\0' || t.revoke_id <= 0) {
            fprintf(stderr, "error: \"%s\" is not a token id\n", argv[1 + optind]);
            return CLI_USAGE;
        }
    } else if (strcmp(action, "list") != 0 || argc - 1 != optind) {
        fprintf(stderr, "error: unknown action \"token %s\"\n", action);
        cli_usage("token", 1);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    if (cli_access_pool(&cfg, &pool, &e) != 0)
        goto out;
    cli_actor(&t.who, t.actor, sizeof t.actor, NULL);
    if (strcmp(action, "list") == 0) {
        rc = cli_token_list(pool, t.username, &e);
        goto out;
    }
    if (strcmp(action, "create") == 0) {
        if (db_run(pool, DB_READ_COMMITTED, cli_token_create_tx, &t, &e) != 0)
            goto out;
        fprintf(stderr, "token %lld for %s, expires %s; it is shown only this once:\n", t.made.id,
                t.username, t.made.expires_at);
        printf("%s\n", t.made.token);
        sodium_memzero(t.made.token, sizeof t.made.token);
    } else {
        if (db_run(pool, DB_READ_COMMITTED, cli_token_revoke_tx, &t, &e) != 0)
            goto out;
        printf("token %lld %s\n", t.revoke_id, t.already ? "was already revoked" : "revoked");
    }
    rc = CLI_OK;
out:
    if (rc != CLI_OK)
        cli_error(&e);
    db_pool_free(pool);
    cfg_free(&cfg);
    return rc;
}
