/*
 * ds_study.c — reading scores from the study database, and recording and
 * reading analysis runs (see ds.h); and what the database loaders share
 * (ds_int.h): instrument versions, fingerprints of rows, participant ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_int.h"

const struct db_statement ds_statements[] = {
    /* ds_load_study: does the study exist */
    {"ds_study_exists", "SELECT 1 FROM studies WHERE id = $1"},
    /* ds_load_study: every participant of the study, in a stable order */
    {"ds_study_participants",
     "SELECT code, arm_id, status FROM participants WHERE study_id = $1 ORDER BY id"},
    /* ds_load_study: each response's week and total score (NULL when voided) */
    {"ds_study_scores", "SELECT p.code, r.study_week, r.total_score, r.instrument_version"
                        " FROM responses r JOIN participants p ON p.id = r.participant_id"
                        " WHERE p.study_id = $1 AND r.instrument_id = $2"
                        " ORDER BY p.id, r.study_week"},
    /* ds_run_record */
    {"ds_run_insert",
     "INSERT INTO analysis_runs (study_id, kind, options, input_fingerprint,"
     " instrument_versions, program_version, result, created_by)"
     " VALUES ($1, $2, $3::jsonb, $4, $5::text[], $6, $7::jsonb, $8) RETURNING id"},
    /* ds_run_fetch */
    {"ds_run_select",
     "SELECT kind, study_id, input_fingerprint, options::text, result::text, reproducible"
     " FROM analysis_runs WHERE id = $1::uuid"},
    {NULL, NULL},
};

static enum ds_status ds_status_parse(const char *s)
{
    if (strcmp(s, "active") == 0)
        return DS_STATUS_ACTIVE;
    if (strcmp(s, "withdrawn") == 0)
        return DS_STATUS_WITHDRAWN;
    if (strcmp(s, "completed") == 0)
        return DS_STATUS_COMPLETED;
    return DS_STATUS_UNKNOWN;
}

int ds_versions_add(char ***versions, size_t *n, const char *instrument, const char *version,
                    struct err *e)
{
    char buf[160];
    char **grown;

    snprintf(buf, sizeof buf, "%s@%s", instrument, version);
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*versions)[i], buf) == 0)
            return 0;
    grown = realloc(*versions, (*n + 1) * sizeof *grown);
    if (grown == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    *versions = grown;
    if ((grown[*n] = strdup(buf)) == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    (*n)++;
    return 0;
}

void ds_hash_text(crypto_hash_sha256_state *st, const char *s)
{
    crypto_hash_sha256_update(st, (const unsigned char *)s, (unsigned long long)strlen(s) + 1);
}

long ds_find_id(const long long *ids, size_t n, long long id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else if (ids[mid] > id)
            hi = mid;
        else
            return (long)mid;
    }
    return -1;
}

int ds_load_study(PGconn *conn, const char *study, const char *instrument, struct ds_long **out,
                  struct err *e)
{
    struct ds_builder b;
    PGresult *res = NULL;
    const char *params[2] = {study, instrument};
    int rows, rc;

    if ((rc = ds_builder_init(&b, NULL, e)) != 0)
        return rc;
    rows = db_query(conn, "ds_study_exists", 1, params, NULL, e);
    if (rows < 0) {
        rc = rows;
        goto out;
    }
    if (rows == 0) {
        rc = err_set(e, DS_ENOTFOUND, "no study \"%s\"", study);
        goto out;
    }
    rows = db_query(conn, "ds_study_participants", 1, params, &res, e);
    if (rows < 0) {
        rc = rows;
        goto out;
    }
    for (int r = 0; r < rows; r++) {
        uint32_t s;
        if ((rc = ds_builder_subject(&b, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), 0, &s, e)) !=
            0)
            goto out;
        b.d->subject_status[s] = ds_status_parse(PQgetvalue(res, r, 2));
    }
    PQclear(res);
    res = NULL;
    rows = db_query(conn, "ds_study_scores", 2, params, &res, e);
    if (rows < 0) {
        rc = rows;
        goto out;
    }
    for (int r = 0; r < rows; r++) {
        uint32_t s;
        double week, score;

        if ((rc = ds_versions_add(&b.d->versions, &b.d->n_versions, instrument,
                                  PQgetvalue(res, r, 3), e)) != 0)
            goto out;
        if (PQgetisnull(res, r, 2)) {
            b.d->n_missing++;
            continue;
        }
        /* Every respondent is a participant of the study (foreign key), read above. */
        if ((rc = ds_builder_find(&b, PQgetvalue(res, r, 0), &s)) != 0) {
            err_set(e, DS_EDB, "response of unknown participant \"%s\"", PQgetvalue(res, r, 0));
            goto out;
        }
        week = strtod(PQgetvalue(res, r, 1), NULL);
        score = strtod(PQgetvalue(res, r, 2), NULL);
        if ((rc = ds_builder_row(&b, s, week, score, 0, e)) != 0)
            goto out;
    }
    snprintf(b.d->source, sizeof b.d->source, "study:%s/%s", study, instrument);
    rc = ds_builder_finish(&b, out, e);
out:
    PQclear(res);
    ds_builder_free(&b);
    return rc;
}

int ds_run_record(PGconn *conn, const struct ds_run *run, char run_id[37], struct err *e)
{
    char *options = NULL, *result = NULL, *versions = NULL;
    PGresult *res = NULL;
    size_t len = 3;
    int rows, rc = DS_ENOMEM;

    options = json_dumps(run->options, JSON_COMPACT | JSON_SORT_KEYS);
    result = json_dumps(run->result, JSON_COMPACT | JSON_REAL_PRECISION(17));
    /* A text[] literal: {"a","b"}; version names hold no quotes or braces. */
    for (size_t i = 0; i < run->n_versions; i++)
        len += strlen(run->versions[i]) + 3;
    versions = malloc(len);
    if (options == NULL || result == NULL || versions == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    {
        size_t used = (size_t)snprintf(versions, len, "{");
        for (size_t i = 0; i < run->n_versions; i++) {
            if (strpbrk(run->versions[i], "\"\\{},") != NULL) {
                rc = err_set(e, DS_EFORMAT, "invalid instrument version \"%s\"", run->versions[i]);
                goto out;
            }
            used += (size_t)snprintf(versions + used, len - used, "%s\"%s\"", i ? "," : "",
                                     run->versions[i]);
        }
        snprintf(versions + used, len - used, "}");
    }
    {
        const char *params[8] = {run->study, run->kind,      options, run->fingerprint,
                                 versions,   ATTUNE_VERSION, result,  run->created_by};
        rows = db_query(conn, "ds_run_insert", 8, params, &res, e);
    }
    if (rows < 0) {
        rc = rows;
        goto out;
    }
    snprintf(run_id, 37, "%s", PQgetvalue(res, 0, 0));
    rc = 0;
out:
    PQclear(res);
    free(options);
    free(result);
    free(versions);
    return rc;
}

int ds_run_fetch(PGconn *conn, const char *run_id, char **kind, char **study, char **fingerprint,
                 json_t **options, json_t **result, int *reproducible, struct err *e)
{
    const char *params[1] = {run_id};
    PGresult *res = NULL;
    json_error_t jerr;
    json_t *opt = NULL, *resj = NULL;
    char *k = NULL, *s = NULL, *f = NULL;
    int rows, rc = DS_ENOMEM;

    /* Refuse what is not a uuid before asking the database to cast it. */
    if (strlen(run_id) != 36 || strspn(run_id, "0123456789abcdefABCDEF-") != 36)
        return err_set(e, DS_ENOTFOUND, "no analysis run \"%s\"", run_id);
    rows = db_query(conn, "ds_run_select", 1, params, &res, e);
    if (rows < 0)
        return rows;
    if (rows == 0) {
        PQclear(res);
        return err_set(e, DS_ENOTFOUND, "no analysis run \"%s\"", run_id);
    }
    opt = json_loads(PQgetvalue(res, 0, 3), 0, &jerr);
    resj = json_loads(PQgetvalue(res, 0, 4), 0, &jerr);
    k = strdup(PQgetvalue(res, 0, 0));
    s = PQgetisnull(res, 0, 1) ? NULL : strdup(PQgetvalue(res, 0, 1));
    f = strdup(PQgetvalue(res, 0, 2));
    if (opt == NULL || resj == NULL || k == NULL || f == NULL ||
        (!PQgetisnull(res, 0, 1) && s == NULL)) {
        err_set(e, DS_ENOMEM, "could not read analysis run \"%s\"", run_id);
        goto out;
    }
    *reproducible = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
    *options = opt;
    *result = resj;
    *kind = k;
    *study = s;
    *fingerprint = f;
    opt = resj = NULL;
    k = s = f = NULL;
    rc = 0;
out:
    json_decref(opt);
    json_decref(resj);
    free(k);
    free(s);
    free(f);
    PQclear(res);
    return rc;
}
