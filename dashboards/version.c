/*
 * version.c — a study's data version, and GET .../dashboard/changes, the
 * cheap endpoint every open page polls to learn that new data arrived.
 *
 * The version is the seal number of the study's newest sealed audit row of
 * a data-changing action. Every write the dashboards show is audited in the
 * same transaction as the write (submissions, event batches, enrolment,
 * withdrawal, erasure, acknowledgements), and the sealer numbers rows in the
 * order they became visible, about a second after their commit. Ids would
 * not do: a transaction that took id 41 may commit after the one that took
 * 42, and "max(id)" would never see it. One backward scan of the index
 * audit_seals_study (sql/012_audit_seals.sql) answers it, each link joined
 * to its row for the action.
 *
 * What this does not see: rows written without an audit row (`attune demo`
 * writes as the database owner, before serving). Documents also expire
 * after their time-to-live, so nothing stays stale for long.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "dash_int.h"

int dash_version_read(PGconn *conn, const char *study, struct dash_version *out, struct err *e)
{
    const char *params[1] = {study};
    PGresult *res = NULL;
    int n = db_query(conn, "dash_version", 1, params, &res, e);

    if (n < 0)
        return n;
    out->seq = 0;
    out->changed_at[0] = '\0';
    if (n == 1) {
        out->seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(out->changed_at, sizeof out->changed_at, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return 0;
}

/* GET /api/v1/studies/{study}/dashboard/changes */
void dash_api_changes(struct http_request *req, struct http_reply *rep)
{
    struct dash_app *d = dash_of(req);
    const char *study = http_path_param(req, "study");
    struct dash_version v;
    struct err e;
    PGconn *conn;
    int rc;

    err_clear(&e);
    if ((conn = db_pool_acquire(d->pool, 2000, &e)) == NULL) {
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    rc = dash_version_read(conn, study, &v, &e);
    db_pool_release(d->pool, conn);
    if (rc != 0) {
        dash_reply_error(req, rep, rc, &e);
        return;
    }
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:I, s:s?}", "study", study, "version", (json_int_t)v.seq,
                              "changed_at", v.changed_at[0] ? v.changed_at : NULL));
}
