/*
 * common.c — what every dashboards file uses: JSON numbers, columns of
 * query results, error replies, the instrument a document shows and its
 * facts for charts, recording analysis runs, and audited reads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"
#include "col_int.h"
#include "dash_int.h"
#include "ds.h"
#include "ins.h"

struct dash_app *dash_of(const struct http_request *req)
{
    return ((const struct col_app *)req->app)->dash;
}

json_t *dash_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *dash_ci(double lo, double hi)
{
    return json_pack("[o, o]", dash_num(lo), dash_num(hi));
}

long long dash_ll(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

double dash_dbl(const PGresult *res, int row, int col)
{
    char *end;
    double v;

    if (PQgetisnull(res, row, col))
        return NAN;
    v = strtod(PQgetvalue(res, row, col), &end);
    return end == PQgetvalue(res, row, col) ? NAN : v;
}

const char *dash_str(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int dash_query(struct db_pool *pool, const char *name, int nparams, const char *const *params,
               PGresult **out, struct err *e)
{
    PGconn *conn = db_pool_acquire(pool, 5000, e);
    int n;

    if (conn == NULL)
        return e->code;
    n = db_query(conn, name, nparams, params, out, e);
    db_pool_release(pool, conn);
    return n;
}

void dash_reply_error(struct http_request *req, struct http_reply *rep, int rc, const struct err *e)
{
    if (rc == DASH_ENOTFOUND || rc == DS_ENOTFOUND) {
        http_problem(rep, 404, "not-found", NULL, NULL, "%s.", e->message);
        return;
    }
    if (rc == DASH_EINVAL) {
        http_problem(rep, 400, "invalid-query", NULL, NULL, "%s.", e->message);
        return;
    }
    if (rc == DB_EUNAVAILABLE || rc == DB_EBUSY || e->code == DB_EUNAVAILABLE ||
        e->code == DB_EBUSY)
        acc_reply_unavailable(req, rep, e);
    else
        acc_reply_internal(req, rep, "dash.failed", e);
}

int dash_pick_instrument(PGconn *conn, const char *study, const char *param, char *out, size_t size,
                         struct err *e)
{
    const char *params[2] = {study, param};
    PGresult *res = NULL;
    int n = db_query(conn, "dash_instrument_pick", 2, params, &res, e);

    if (n < 0)
        return n;
    if (n == 0) {
        PQclear(res);
        if (param != NULL)
            return err_set(e, DASH_ENOTFOUND, "study \"%s\" does not schedule \"%s\"", study,
                           param);
        return err_set(e, DASH_ENOTFOUND, "study \"%s\" does not exist or schedules nothing",
                       study);
    }
    snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int dash_instrument_json(struct col_app *app, PGconn *conn, const char *study,
                         const char *instrument, json_t **out, struct err *e)
{
    const char *params[2] = {study, instrument};
    const struct ins_definition *def = NULL;
    const struct ins_score *total;
    PGresult *res = NULL;
    json_t *weeks, *bands, *j;
    int n, rc;

    if ((rc = col_defs_scheduled(app->defs, app->pool, conn, study, instrument, &def, e)) < 0)
        return rc;
    if (rc == 0 || (total = ins_definition_total(def)) == NULL)
        return err_set(e, DASH_ENOTFOUND, "study \"%s\" does not schedule \"%s\" with a total",
                       study, instrument);
    if ((n = db_query(conn, "dash_instrument_weeks", 2, params, &res, e)) < 0)
        return n;
    weeks = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(weeks, json_integer(dash_ll(res, i, 0)));
    PQclear(res);
    bands = json_array();
    for (size_t i = 0; i < total->n_bands; i++)
        json_array_append_new(bands,
                              json_pack("{s:s, s:f, s:f}", "label", total->bands[i].label, "min",
                                        total->bands[i].min, "max", total->bands[i].max));
    j = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:o, s:o}", "id", def->id, "version",
                  def->version, "title", def->short_title ? def->short_title : def->title,
                  "score_label", total->label ? total->label : "total", "min", total->min, "max",
                  total->max, "bands", bands, "weeks", weeks);
    if (j != NULL && total->has_mcid)
        json_object_set_new(j, "mcid", json_real(total->mcid));
    if (j == NULL)
        return err_set(e, DASH_EINIT, "out of memory");
    *out = j;
    return 0;
}

int dash_record_run(struct db_pool *pool, const char *study, const char *kind, json_t *options,
                    const char *fingerprint, json_t *versions, json_t *result, char run_id[37],
                    struct err *e)
{
    char *vs[32];
    size_t nv = 0;
    struct ds_run run;
    PGconn *conn;
    int rc;

    for (size_t i = 0; versions != NULL && i < json_array_size(versions) && nv < 32; i++)
        if (json_is_string(json_array_get(versions, i)))
            vs[nv++] = (char *)json_string_value(json_array_get(versions, i));
    run.study = study;
    run.kind = kind;
    run.options = options;
    run.fingerprint = fingerprint;
    run.versions = vs;
    run.n_versions = nv;
    run.result = result;
    run.created_by = "attune serve (dashboards)";
    if ((conn = db_pool_acquire(pool, 5000, e)) == NULL)
        return e->code;
    rc = ds_run_record(conn, &run, run_id, e);
    db_pool_release(pool, conn);
    return rc;
}

int dash_sample_keep(size_t k, size_t total, size_t max)
{
    return total <= max || (k * max) / total != ((k + 1) * max) / total;
}

void dash_sha256_hex(const char *text, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)text, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

long dash_query_long(const struct http_request *req, const char *name, long deflt, long lo, long hi)
{
    const char *v = http_query(req, name);
    char *end;
    long n;

    if (v == NULL || *v == '\0')
        return deflt;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < lo || n > hi)
        return -1;
    return n;
}

int dash_audit_read(const struct http_request *req, const char *action, const char *target,
                    json_t *detail, struct err *e)
{
    struct audit_entry a;

    audit_entry_from_request(&a, req);
    a.action = action;
    a.target = target;
    a.detail = detail;
    return audit_append_now(dash_of(req)->pool, &a, e);
}
