/*
 * cmd_participant.c — `attune participant withdraw|erase CODE`: stop
 * collecting from a participant at once, and erase their data with a reason
 * kept in the audit trail (access/participants.c does the work).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "cli.h"

struct cli_participant_tx {
    int erase;
    const char *study;
    const char *code;
    struct acc_participant p;
    struct acc_erasure erased;
    int already;
    struct audit_entry who;
    char actor[96];
};

static int cli_participant_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct cli_participant_tx *t = vctx;
    int rc;

    if ((rc = acc_participant_find(conn, t->study, t->code, &t->p, e)) != 0)
        return rc;
    if (t->erase)
        return acc_participant_erase(conn, &t->p, &t->who, &t->erased, e);
    rc = acc_participant_withdraw(conn, &t->p, &t->who, e);
    t->already = rc == 1;
    return rc < 0 ? rc : 0;
}

int cli_participant(int argc, char **argv)
{
    static const struct option options[] = {
        {"study", required_argument, NULL, 's'},
        {"reason", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    struct cli_participant_tx t;
    struct db_pool *pool = NULL;
    const char *action, *reason = NULL;
    int opt, rc = CLI_FAIL;
    struct cfg cfg;
    struct err e;

    memset(&t, 0, sizeof t);
    if (argc < 2) {
        cli_usage("participant", 1);
        return CLI_USAGE;
    }
    action = argv[1];
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        if (opt == 's')
            t.study = optarg;
        else if (opt == 'r')
            reason = optarg;
        else {
            cli_usage("participant", 1);
            return CLI_USAGE;
        }
    }
    if ((strcmp(action, "withdraw") != 0 && strcmp(action, "erase") != 0) ||
        argc - 1 - optind != 1) {
        if (strcmp(action, "withdraw") != 0 && strcmp(action, "erase") != 0)
            fprintf(stderr, "error: unknown action \"participant %s\"\n", action);
        cli_usage("participant", 1);
        return CLI_USAGE;
    }
    t.erase = strcmp(action, "erase") == 0;
    t.code = argv[1 + optind];
    if (t.erase && (reason == NULL || reason[0] == '\0')) {
        fprintf(stderr, "error: an erasure needs a reason\n"
                        "HINT: Give it with --reason \"...\"; it is kept in the audit trail.\n");
        return CLI_USAGE;
    }
    if (reason != NULL && strlen(reason) > 2000) {
        fprintf(stderr, "error: the reason is longer than 2000 characters\n");
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    if (cli_access_pool(&cfg, &pool, &e) != 0)
        goto out;
    cli_actor(&t.who, t.actor, sizeof t.actor, reason);
    if (db_run(pool, DB_READ_COMMITTED, cli_participant_tx, &t, &e) != 0)
        goto out;
    if (t.erase)
        printf("participant %s of study %s erased: %ld responses, %ld item answers, %ld events "
               "deleted; %ld tokens revoked; %ld analysis runs marked not reproducible\n",
               t.code, t.p.study_id, t.erased.responses, t.erased.items, t.erased.events,
               t.erased.tokens, t.erased.runs);
    else if (t.already)
        printf("participant %s of study %s had already withdrawn (%s)\n", t.code, t.p.study_id,
               t.p.withdrawn_at);
    else
        printf("participant %s of study %s withdrawn at %s\n", t.code, t.p.study_id,
               t.p.withdrawn_at);
    rc = CLI_OK;
out:
    if (rc != CLI_OK)
        cli_error(&e);
    db_pool_free(pool);
    cfg_free(&cfg);
    return rc;
}
