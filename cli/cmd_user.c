/*
 * cmd_user.c — `attune user add|list|passwd|role|disable|enable|join|leave`:
 * researchers' accounts and their study memberships. Every change is audited
 * (user.*) with the operator as actor; changing a password or disabling an
 * account ends its sessions at once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"
#include "cli.h"

#define CLI_MAX_STUDIES 32

struct cli_user_tx {
    const char *action;
    const char *username;
    const char *display_name;
    enum acc_role role;
    const char *password;
    const char *study;
    const char *studies[CLI_MAX_STUDIES];
    int n_studies;
    struct audit_entry who;
    char actor[96];
};

static int cli_user_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct cli_user_tx *t = vctx;
    const char *a = t->action;
    int rc;

    if (strcmp(a, "add") == 0) {
        if ((rc = acc_user_add(conn, t->username, t->display_name, t->role, t->password, &t->who,
                               e)) != 0)
            return rc;
        for (int i = 0; i < t->n_studies; i++)
            if ((rc = acc_user_membership(conn, t->username, t->studies[i], 1, &t->who, e)) != 0)
                return rc;
        return 0;
    }
    if (strcmp(a, "passwd") == 0)
        return acc_user_set_password(conn, t->username, t->password, &t->who, e);
    if (strcmp(a, "role") == 0)
        return acc_user_set_role(conn, t->username, t->role, &t->who, e);
    if (strcmp(a, "disable") == 0 || strcmp(a, "enable") == 0)
        return acc_user_set_disabled(conn, t->username, strcmp(a, "disable") == 0, &t->who, e);
    if (strcmp(a, "join") == 0 || strcmp(a, "leave") == 0)
        return acc_user_membership(conn, t->username, t->study, strcmp(a, "join") == 0, &t->who, e);
    return err_set(e, ACC_EINVAL, "unknown action \"%s\"", a);
}

static int cli_user_list(struct db_pool *pool, struct err *e)
{
    PGconn *conn = db_pool_acquire(pool, 5000, e);
    PGresult *res = NULL;
    int n;

    if (conn == NULL)
        return CLI_FAIL;
    n = db_query(conn, "acc_user_list", 0, NULL, &res, e);
    db_pool_release(pool, conn);
    if (n < 0)
        return CLI_FAIL;
    printf("%-20s %-11s %-9s %-24s %-20s %s\n", "user", "role", "status", "studies", "last sign-in",
           "name");
    for (int i = 0; i < n; i++)
        printf("%-20s %-11s %-9s %-24s %-20s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)[0] ? PQgetvalue(res, i, 4) : "-",
               PQgetisnull(res, i, 6) ? "never" : PQgetvalue(res, i, 6), PQgetvalue(res, i, 1));
    PQclear(res);
    return CLI_OK;
}

int cli_user(int argc, char **argv)
{
    static const struct option options[] = {
        {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},
        {"study", required_argument, NULL, 's'},
        {"password-stdin", no_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    /* Positional arguments each action takes after its name. */
    static const struct {
        const char *name;
        int nargs;
    } actions[] = {{"add", 1},     {"list", 0},   {"passwd", 1}, {"role", 2},
                   {"disable", 1}, {"enable", 1}, {"join", 2},   {"leave", 2}};
    struct cli_user_tx t;
    struct db_pool *pool = NULL;
    char password[ACC_PASSWORD_MAX + 2] = "";
    const char *role_text = NULL;
    int from_stdin = 0, opt, nargs = -1, rc = CLI_FAIL;
    struct cfg cfg;
    struct err e;

    memset(&t, 0, sizeof t);
    if (argc < 2) {
        cli_usage("user", 1);
        return CLI_USAGE;
    }
    t.action = argv[1];
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(actions[i].name, t.action) == 0)
            nargs = actions[i].nargs;
    if (nargs < 0) {
        fprintf(stderr, "error: unknown action \"user %s\"\n", t.action);
        cli_usage("user", 1);
        return CLI_USAGE;
    }
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (opt) {
        case 'r':
            role_text = optarg;
            break;
        case 'n':
            t.display_name = optarg;
            break;
        case 's':
            if (t.n_studies == CLI_MAX_STUDIES) {
                fprintf(stderr, "error: at most %d --study options\n", CLI_MAX_STUDIES);
                return CLI_USAGE;
            }
            t.studies[t.n_studies++] = optarg;
            break;
        case 'p':
            from_stdin = 1;
            break;
        default:
            cli_usage("user", 1);
            return CLI_USAGE;
        }
    }
    if (argc - 1 - optind != nargs) {
        fprintf(stderr, "error: \"user %s\" takes %d argument%s\n", t.action, nargs,
                nargs == 1 ? "" : "s");
        cli_usage("user", 1);
        return CLI_USAGE;
    }
    if (nargs >= 1)
        t.username = argv[1 + optind];
    if (strcmp(t.action, "role") == 0)
        role_text = argv[2 + optind];
    if (strcmp(t.action, "join") == 0 || strcmp(t.action, "leave") == 0)
        t.study = argv[2 + optind];
    if (strcmp(t.action, "add") == 0 || strcmp(t.action, "role") == 0) {
        t.role = acc_role_parse(role_text);
        if (t.role == ACC_ROLE_NONE) {
            fprintf(stderr, "error: %s role \"%s\"\nHINT: Use viewer, researcher or admin.\n",
                    role_text ? "unknown" : "missing", role_text ? role_text : "--role");
            return CLI_USAGE;
        }
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    if (strcmp(t.action, "add") == 0 || strcmp(t.action, "passwd") == 0) {
        if (cli_read_password(from_stdin, password, sizeof password, &e) != 0 ||
            acc_password_check(password, t.username, &e) != 0)
            goto out;
        t.password = password;
    }
    if (cli_access_pool(&cfg, &pool, &e) != 0)
        goto out;
    if (strcmp(t.action, "list") == 0) {
        rc = cli_user_list(pool, &e);
        goto out;
    }
    cli_actor(&t.who, t.actor, sizeof t.actor, NULL);
    if (db_run(pool, DB_READ_COMMITTED, cli_user_tx, &t, &e) != 0)
        goto out;
    if (strcmp(t.action, "add") == 0)
        printf("user %s added (%s)\n", t.username, acc_role_name(t.role));
    else if (strcmp(t.action, "passwd") == 0)
        printf("password of %s changed; their sessions have ended\n", t.username);
    else if (strcmp(t.action, "role") == 0)
        printf("%s is now %s\n", t.username, acc_role_name(t.role));
    else if (strcmp(t.action, "disable") == 0)
        printf("user %s disabled; their sessions have ended and their tokens stop working\n",
               t.username);
    else if (strcmp(t.action, "enable") == 0)
        printf("user %s enabled\n", t.username);
    else
        printf("%s %s study %s\n", t.username,
               strcmp(t.action, "join") == 0 ? "is a member of" : "has left", t.study);
    rc = CLI_OK;
out:
    if (rc != CLI_OK)
        cli_error(&e);
    sodium_memzero(password, sizeof password);
    db_pool_free(pool);
    cfg_free(&cfg);
    return rc;
}
