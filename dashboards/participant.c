/*
 * participant.c — GET /api/v1/studies/{study}/participants/{code}/timeline:
 * one pseudonymous participant's questionnaires (every scheduled one with
 * its derived status, score, band and flags), app use by day and type, and
 * their engagement per study week (sessions paired by datasets/ds_engage.h's
 * rule, as for everyone else). Researchers and admins only; every read is an
 * audit row naming the participant by internal id, never by code.
 * Withdrawal is the access module's POST .../participants/{code}/withdraw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "collector.h"
#include "dash_int.h"
#include "ds_engage.h"

#define DASH_MAX_EVENTS 200000 /* one participant's events read for the timeline */

/* Sessions, minutes and the rest per study week, from the participant's events. */
static json_t *dash_weekly_use(const PGresult *res, int n, int weeks, struct err *e)
{
    struct ds_engagement *g = NULL;
    struct ds_event *ev = malloc((size_t)(n ? n : 1) * sizeof *ev);
    json_t *out = NULL;
    static const enum ds_eng_metric ms[] = {DS_ENG_SESSIONS, DS_ENG_MINUTES, DS_ENG_ACTIVE_DAYS,
                                            DS_ENG_EXERCISES, DS_ENG_TRIGGER_LOGS};

    if (ev == NULL)
        return NULL;
    for (int i = 0; i < n; i++) {
        ev[i].at_us = dash_ll(res, i, 0);
        ev[i].day = (int32_t)dash_ll(res, i, 1);
        ev[i].week = (int32_t)dash_ll(res, i, 2);
        ev[i].kind = ds_event_kind_of(PQgetvalue(res, i, 3));
    }
    ds_events_sort(ev, (size_t)n);
    if (ds_engagement_new(1, weeks, 0, &g, e) != 0 ||
        ds_engagement_add(g, 0, ev, (size_t)n, e) != 0)
        goto out;
    out = json_array();
    for (int w = 0; w < weeks; w++) {
        json_t *o = json_pack("{s:i}", "week", w);
        for (size_t m = 0; m < sizeof ms / sizeof ms[0]; m++)
            json_object_set_new(o, ds_eng_metric_name(ms[m]),
                                dash_num(ds_engagement_value(g, 0, w, ms[m])));
        json_array_append_new(out, o);
    }
out:
    ds_engagement_free(g);
    free(ev);
    return out;
}

void dash_api_timeline(struct http_request *req, struct http_reply *rep)
{
    struct dash_app *d = dash_of(req);
    const char *study = http_path_param(req, "study");
    const char *code = http_path_param(req, "code");
    const char *p2[2] = {study, code};
    char idtext[24], maxev[24];
    const char *p1[2] = {idtext, maxev};
    PGresult *res = NULL;
    PGconn *conn = NULL;
    json_t *doc = NULL, *sched, *daily, *weekly;
    struct err e;
    long long id;
    int n, rc, weeks;

    err_clear(&e);
    if ((conn = db_pool_acquire(d->pool, 2000, &e)) == NULL) {
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    if ((n = db_query(conn, "dash_participant", 2, p2, &res, &e)) < 0) {
        rc = n;
        goto fail;
    }
    if (n == 0) {
        rc = err_set(&e, DASH_ENOTFOUND, "Study \"%s\" has no participant \"%s\"", study, code);
        goto fail;
    }
    id = dash_ll(res, 0, 0);
    weeks = (int)dash_ll(res, 0, 7);
    doc = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s?, s:b, s:i, s:s}}", "study", study,
                    "participant", "code", PQgetvalue(res, 0, 1), "arm", PQgetvalue(res, 0, 2),
                    "status", PQgetvalue(res, 0, 3), "enrolled_at", PQgetvalue(res, 0, 4),
                    "withdrawn_at", dash_str(res, 0, 5), "erased", !PQgetisnull(res, 0, 6),
                    "study_week", (int)dash_ll(res, 0, 8), "timezone", PQgetvalue(res, 0, 9));
    json_object_set_new(doc, "weeks", json_integer(weeks));
    PQclear(res);
    res = NULL;
    snprintf(idtext, sizeof idtext, "%lld", id);
    snprintf(maxev, sizeof maxev, "%d", DASH_MAX_EVENTS);

    if ((n = db_query(conn, "dash_participant_schedule", 1, p1, &res, &e)) < 0) {
        rc = n;
        goto fail;
    }
    sched = json_array();
    for (int i = 0; i < n; i++) {
        json_t *flags =
            PQgetisnull(res, i, 9) ? json_array() : json_loads(PQgetvalue(res, i, 9), 0, NULL);
        json_array_append_new(
            sched,
            json_pack("{s:s, s:i, s:s, s:s, s:s, s:s?, s:s?, s:o, s:s?, s:s?, s:o, s:s?}",
                      "instrument", PQgetvalue(res, i, 0), "week", (int)dash_ll(res, i, 1),
                      "status", PQgetvalue(res, i, 2), "opens_at", PQgetvalue(res, i, 3),
                      "closes_at", PQgetvalue(res, i, 4), "response_id", dash_str(res, i, 5),
                      "completed_at", dash_str(res, i, 6), "score", dash_num(dash_dbl(res, i, 7)),
                      "severity", dash_str(res, i, 8), "timing", dash_str(res, i, 10), "flags",
                      flags ? flags : json_array(), "acknowledged_at", dash_str(res, i, 11)));
    }
    json_object_set_new(doc, "questionnaires", sched);
    PQclear(res);
    res = NULL;

    if ((n = db_query(conn, "dash_participant_daily", 1, p1, &res, &e)) < 0) {
        rc = n;
        goto fail;
    }
    daily = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(daily, json_pack("{s:s, s:s, s:I, s:o}", "day", PQgetvalue(res, i, 0),
                                               "type", PQgetvalue(res, i, 1), "events",
                                               (json_int_t)dash_ll(res, i, 2), "minutes",
                                               dash_num(dash_dbl(res, i, 3))));
    json_object_set_new(doc, "app_use_by_day", daily);
    PQclear(res);
    res = NULL;

    if ((n = db_query(conn, "dash_participant_events", 2, p1, &res, &e)) < 0) {
        rc = n;
        goto fail;
    }
    weekly = dash_weekly_use(res, n, weeks, &e);
    json_object_set_new(doc, "app_use_by_week", weekly ? weekly : json_null());
    PQclear(res);
    res = NULL;
    db_pool_release(d->pool, conn);
    conn = NULL;

    {
        json_t *detail = json_pack("{s:s}", "view", "timeline");
        rc = dash_audit_read(req, "participant.read",
                             arena_printf(req->arena, "participant:%s/#%lld", study, id), detail,
                             &e);
        json_decref(detail);
        if (rc != 0)
            goto fail;
    }
    http_reply_json(rep, 200, doc);
    return;
fail:
    PQclear(res);
    if (conn != NULL)
        db_pool_release(d->pool, conn);
    json_decref(doc);
    dash_reply_error(req, rep, rc, &e);
}
