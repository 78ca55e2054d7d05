/*
 * ds_engage.c — reading a study's app events and each participant's study
 * clock from the database, and building their engagement (see ds_engage.h;
 * the pure part is ds_sessions.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ds_engage.h"
#include "ds_int.h"

const struct db_statement ds_engage_statements[] = {
    /* ds_engagement_load: each participant's current study week at asof, the
     * week they withdrew in, and the protocol length; in ds_load_study's order */
    {"ds_engage_clock",
     "SELECT p.id, p.code, attune_study_week(p.enrolled_at, s.timezone, $2::timestamptz),"
     " CASE WHEN p.withdrawn_at IS NULL THEN NULL"
     "  ELSE attune_study_week(p.enrolled_at, s.timezone, p.withdrawn_at) END, s.weeks"
     " FROM participants p JOIN studies s ON s.id = p.study_id"
     " WHERE p.study_id = $1 ORDER BY p.id"},
    /* ds_engagement_load: every event up to asof, with its local day and study week */
    {"ds_engage_events",
     "SELECT e.participant_id, e.type, (extract(epoch FROM e.at) * 1000000)::bigint,"
     " (e.at AT TIME ZONE s.timezone)::date - DATE '2000-01-01',"
     " attune_study_week(p.enrolled_at, s.timezone, e.at)"
     " FROM events e JOIN participants p ON p.id = e.participant_id"
     " JOIN studies s ON s.id = p.study_id"
     " WHERE p.study_id = $1 AND e.at <= $2::timestamptz"
     " ORDER BY e.participant_id, e.at, e.type, e.id"},
    /* ds_engagement_load: asof as given, or now, in one canonical UTC form */
    {"ds_engage_asof", "SELECT to_char(coalesce($1::timestamptz, now()) AT TIME ZONE 'UTC',"
                       " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"},
    {NULL, NULL},
};

int ds_engagement_load(PGconn *conn, const char *study, const struct ds_long *d, const char *asof,
                       int64_t cap_us, struct ds_engagement **out, struct err *e)
{
    struct ds_engagement *g = NULL;
    PGresult *res = NULL;
    long long *ids = NULL;
    struct ds_event *ev = NULL;
    crypto_hash_sha256_state st;
    unsigned char hash[crypto_hash_sha256_BYTES];
    char when[64];
    int rows, rc = DS_ENOMEM;

    {
        const char *params[1] = {asof};
        if ((rows = db_query(conn, "ds_engage_asof", 1, params, &res, e)) != 1) {
            if (rows >= 0 || e->code == 0)
                err_set(e, DS_EFORMAT, "invalid time \"%s\"", asof ? asof : "");
            rc = rows < 0 ? rows : DS_EFORMAT;
            goto out;
        }
        snprintf(when, sizeof when, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        res = NULL;
    }
    {
        const char *params[2] = {study, when};
        if ((rows = db_query(conn, "ds_engage_clock", 2, params, &res, e)) < 0) {
            rc = rows;
            goto out;
        }
    }
    if ((size_t)rows != d->n_subjects) {
        rc = err_set(e, DS_EDB, "the participants of study \"%s\" changed while being read", study);
        goto out;
    }
    if (rows == 0) {
        rc = err_set(e, DS_EEMPTY, "study \"%s\" has no participants", study);
        goto out;
    }
    if ((rc = ds_engagement_new(d->n_subjects, (int)strtol(PQgetvalue(res, 0, 4), NULL, 10), cap_us,
                                &g, e)) != 0)
        goto out;
    rc = DS_ENOMEM;
    snprintf(g->asof, sizeof g->asof, "%s", when);
    ids = malloc((size_t)rows * sizeof *ids);
    if (ids == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    crypto_hash_sha256_init(&st);
    ds_hash_text(&st, when);
    for (int r = 0; r < rows; r++) {
        long now_week = strtol(PQgetvalue(res, r, 2), NULL, 10);
        int withdrawn = !PQgetisnull(res, r, 3);
        long w_week = withdrawn ? strtol(PQgetvalue(res, r, 3), NULL, 10) : 0;
        ids[r] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        if (strcmp(PQgetvalue(res, r, 1), d->subjects[r]) != 0) {
            rc = err_set(e, DS_EDB, "the participants of study \"%s\" changed while being read",
                         study);
            goto out;
        }
        ds_hash_text(&st, PQgetvalue(res, r, 1));
        ds_hash_text(&st, PQgetvalue(res, r, 2));
        ds_hash_text(&st, withdrawn ? PQgetvalue(res, r, 3) : "");
        for (int w = 0; w < g->n_weeks; w++) {
            int ex = w <= now_week && (!withdrawn || w <= w_week);
            g->exposed[(size_t)r * (size_t)g->n_weeks + (size_t)w] = (uint8_t)ex;
            if (!ex)
                g->full[r] = 0;
        }
    }
    PQclear(res);
    res = NULL;
    {
        const char *params[2] = {study, when};
        if ((rows = db_query(conn, "ds_engage_events", 2, params, &res, e)) < 0) {
            rc = rows;
            goto out;
        }
    }
    ev = malloc(((size_t)rows + 1) * sizeof *ev);
    if (ev == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    for (int r = 0; r < rows;) {
        long long id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        long s = ds_find_id(ids, d->n_subjects, id);
        size_t n = 0;
        if (s < 0) {
            rc = err_set(e, DS_EDB, "event of a participant outside study \"%s\"", study);
            goto out;
        }
        for (; r < rows && strtoll(PQgetvalue(res, r, 0), NULL, 10) == id; r++, n++) {
            const char *type = PQgetvalue(res, r, 1);
            ev[n].kind = ds_event_kind_of(type);
            ev[n].at_us = strtoll(PQgetvalue(res, r, 2), NULL, 10);
            ev[n].day = (int32_t)strtol(PQgetvalue(res, r, 3), NULL, 10);
            ev[n].week = (int32_t)strtol(PQgetvalue(res, r, 4), NULL, 10);
            ds_hash_text(&st, d->subjects[s]);
            ds_hash_text(&st, type);
            ds_hash_text(&st, PQgetvalue(res, r, 2));
        }
        ds_events_sort(ev, n);
        if ((rc = ds_engagement_add(g, (size_t)s, ev, n, e)) != 0)
            goto out;
    }
    crypto_hash_sha256_final(&st, hash);
    sodium_bin2hex(g->fingerprint, sizeof g->fingerprint, hash, sizeof hash);
    *out = g;
    g = NULL;
    rc = 0;
out:
    PQclear(res);
    free(ids);
    free(ev);
    ds_engagement_free(g);
    return rc;
}
