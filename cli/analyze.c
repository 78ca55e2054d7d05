/*
 * analyze.c — the shared data-source options of `attune analyze` (see analyze.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "cluster.h"
#include "db.h"

int cli_data_option(int opt, const char *arg, struct cli_data_source *src)
{
    switch (opt) {
    case CLI_OPT_CSV:
        src->csv = arg;
        return 1;
    case CLI_OPT_ID:
        src->columns.id = arg;
        return 1;
    case CLI_OPT_TIME:
        src->columns.time = arg;
        return 1;
    case CLI_OPT_SCORE:
        src->columns.score = arg;
        return 1;
    case CLI_OPT_ARM:
        src->columns.arm = arg;
        return 1;
    case CLI_OPT_STUDY:
        src->study = arg;
        return 1;
    case CLI_OPT_INSTRUMENT:
        src->instrument = arg;
        return 1;
    case CLI_OPT_FORMAT:
        if (strcmp(arg, "table") == 0)
            src->format = CLI_FORMAT_TABLE;
        else if (strcmp(arg, "json") == 0)
            src->format = CLI_FORMAT_JSON;
        else if (strcmp(arg, "csv") == 0)
            src->format = CLI_FORMAT_CSV;
        else {
            fprintf(stderr, "error: unknown format \"%s\"\nHINT: Use table, json or csv.\n", arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

int cli_data_connect(const struct cfg *cfg, const struct db_statement *const *tables, PGconn **out,
                     struct err *e)
{
    char *conninfo = NULL;
    PGconn *c = NULL;
    int rc;

    if ((rc = cluster_resolve(cfg, 1, &conninfo, e)) != 0)
        goto out;
    if ((rc = db_connect(conninfo, &c, e)) != 0 || (rc = db_prepare(c, tables, e)) != 0)
        goto out;
    *out = c;
    c = NULL;
out:
    if (c != NULL)
        PQfinish(c);
    free(conninfo);
    return rc;
}

int cli_data_load(const struct cfg *cfg, const struct cli_data_source *src, struct ds_long **out,
                  PGconn **conn, struct err *e)
{
    static const struct db_statement *const tables[] = {ds_statements, NULL};
    PGconn *c = NULL;
    int rc;

    *conn = NULL;
    if (src->csv != NULL && src->study != NULL)
        return err_set(e, DS_EFORMAT, "give either --csv or --study, not both");
    if (src->csv != NULL) {
        if (src->columns.id == NULL || src->columns.time == NULL || src->columns.score == NULL) {
            err_set(e, DS_EFORMAT, "--csv needs --id, --time and --score");
            err_hint(e, "Name the columns, for example --id participant --time week --score gad7.");
            return DS_EFORMAT;
        }
        return ds_load_csv(src->csv, &src->columns, out, e);
    }
    if (src->study == NULL || src->instrument == NULL) {
        err_set(e, DS_EFORMAT, "no data given");
        err_hint(e, "Use --study S --instrument I, or --csv FILE --id COL --time COL --score COL.");
        return DS_EFORMAT;
    }
    if ((rc = cli_data_connect(cfg, tables, &c, e)) != 0)
        return rc;
    if ((rc = ds_load_study(c, src->study, src->instrument, out, e)) != 0) {
        PQfinish(c);
        return rc;
    }
    *conn = c;
    return 0;
}

json_t *cli_data_options_json(const struct cli_data_source *src)
{
    if (src->csv != NULL)
        return json_pack("{s:s, s:s, s:s, s:s, s:s?}", "source", "csv", "csv", src->csv, "id",
                         src->columns.id, "time", src->columns.time, "score", src->columns.score,
                         "arm", src->columns.arm);
    return json_pack("{s:s, s:s?, s:s?}", "source", "study", "study", src->study, "instrument",
                     src->instrument);
}
