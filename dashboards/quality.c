/*
 * quality.c — the Data quality page's data: missed and late questionnaires
 * by instrument and week (the collector's derived statuses), submissions
 * refused by reason and duplicates absorbed (intake_outcomes, counted by
 * attune serve), scores voided by the missing-item rule or prorated, and
 * participants without any app event (their codes for researchers only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "dash_int.h"

static int dash_quality_build(const struct dash_build *b, struct dash_built *out, struct err *e)
{
    const char *p1[1] = {b->study};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    json_t *doc = NULL, *priv = NULL, *statuses = json_array(), *intake = json_array();
    json_t *scores = json_array(), *silent = json_array(), *days = json_array(), *options = NULL;
    char fp[65], run_id[37], *canon = NULL;
    int n, rc;

    if ((conn = db_pool_acquire(b->pool, 5000, e)) == NULL) {
        rc = e->code;
        goto out;
    }
#define Q(name)                                                                                    \
    do {                                                                                           \
        PQclear(res);                                                                              \
        res = NULL;                                                                                \
        if ((n = db_query(conn, name, 1, p1, &res, e)) < 0) {                                      \
            rc = n;                                                                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
    Q("dash_study");
    if (n == 0) {
        rc = err_set(e, DASH_ENOTFOUND, "There is no study \"%s\"", b->study);
        goto out;
    }
    Q("dash_quality_statuses");
    for (int i = 0; i < n; i++)
        json_array_append_new(
            statuses, json_pack("{s:s, s:i, s:s, s:I}", "instrument", PQgetvalue(res, i, 0), "week",
                                (int)dash_ll(res, i, 1), "status", PQgetvalue(res, i, 2), "n",
                                (json_int_t)dash_ll(res, i, 3)));
    Q("dash_quality_intake");
    for (int i = 0; i < n; i++)
        json_array_append_new(
            intake, json_pack("{s:s, s:s, s:I, s:I}", "channel", PQgetvalue(res, i, 0), "outcome",
                              PQgetvalue(res, i, 1), "requests", (json_int_t)dash_ll(res, i, 2),
                              "items", (json_int_t)dash_ll(res, i, 3)));
    Q("dash_quality_intake_days");
    for (int i = 0; i < n; i++)
        json_array_append_new(days, json_pack("{s:s, s:I, s:I, s:I}", "day", PQgetvalue(res, i, 0),
                                              "refused", (json_int_t)dash_ll(res, i, 1), "retried",
                                              (json_int_t)dash_ll(res, i, 2), "duplicate_events",
                                              (json_int_t)dash_ll(res, i, 3)));
    Q("dash_quality_scores");
    for (int i = 0; i < n; i++)
        json_array_append_new(scores, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "instrument",
                                                PQgetvalue(res, i, 0), "responses",
                                                (json_int_t)dash_ll(res, i, 1), "voided",
                                                (json_int_t)dash_ll(res, i, 2), "prorated",
                                                (json_int_t)dash_ll(res, i, 3), "late",
                                                (json_int_t)dash_ll(res, i, 4), "items_missing",
                                                (json_int_t)dash_ll(res, i, 5)));
    Q("dash_quality_no_events");
    for (int i = 0; i < n; i++)
        json_array_append_new(silent, json_pack("{s:s, s:s, s:s, s:s}", "code",
                                                PQgetvalue(res, i, 0), "arm", PQgetvalue(res, i, 1),
                                                "status", PQgetvalue(res, i, 2), "enrolled_at",
                                                PQgetvalue(res, i, 3)));
#undef Q
    PQclear(res);
    res = NULL;
    db_pool_release(b->pool, conn);
    conn = NULL;

    doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:I}", "study", b->study, "statuses", statuses,
                    "intake", intake, "intake_by_day", days, "scores", scores, "no_app_events",
                    (json_int_t)json_array_size(silent));
    statuses = intake = days = scores = NULL;
    if (doc == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    json_object_set_new(
        doc, "definitions",
        json_pack("{s:s, s:s, s:s}", "intake",
                  "Counted by attune serve for every participant submission (API, web form, "
                  "FHIR): stored, retry (the same submission again, answered 200 with nothing "
                  "stored), duplicate (events already stored, skipped within a batch), or the "
                  "problem code it was refused with; requests that could not be tied to a "
                  "participant (no or unknown token) are not counted here",
                  "statuses",
                  "the collector's derived statuses of every scheduled questionnaire "
                  "(attune_schedule_status), as of now",
                  "voided", "answered, but the instrument's missing-item rule left no score"));
    if ((canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    dash_sha256_hex(canon, strlen(canon), fp);
    options = json_pack("{s:s, s:s}", "source", "dashboard", "page", "quality");
    if ((rc = dash_record_run(b->pool, b->study, "dashboard.quality", options, fp, NULL, doc,
                              run_id, e)) != 0)
        goto out;
    json_object_set_new(doc, "runs",
                        json_pack("[{s:s, s:s, s:s}]", "kind", "dashboard.quality", "id", run_id,
                                  "fingerprint", fp));
    priv = json_pack("{s:s, s:O, s:o}", "study", b->study, "runs", json_object_get(doc, "runs"),
                     "no_app_events", silent);
    silent = NULL;
    if (priv == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    out->public_doc = doc;
    out->private_doc = priv;
    doc = priv = NULL;
    rc = 0;
out:
    if (conn != NULL)
        db_pool_release(b->pool, conn);
    PQclear(res);
    free(canon);
    json_decref(doc);
    json_decref(priv);
    json_decref(statuses);
    json_decref(intake);
    json_decref(days);
    json_decref(scores);
    json_decref(silent);
    json_decref(options);
    return rc;
}

const struct dash_doc_kind dash_doc_quality = {"quality", 0, 120, dash_quality_build};

void dash_api_quality(struct http_request *req, struct http_reply *rep)
{
    dash_reply_doc(req, rep, &dash_doc_quality, NULL, DASH_PUBLIC);
}

void dash_api_quality_participants(struct http_request *req, struct http_reply *rep)
{
    dash_reply_private_doc(req, rep, &dash_doc_quality, NULL);
}
