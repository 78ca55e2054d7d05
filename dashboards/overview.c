/*
 * overview.c — the Overview page's data: enrolment over time, the
 * CONSORT-style flow by arm (datasets/ds_attrition, as `attune report`
 * draws it), questionnaire statuses by week, the alerts that need a human
 * (unacknowledged safety flags, participants gone quiet), the completion
 * grid of participants by week, and the audited acknowledgement of a flag.
 *
 * The overview and alert documents are cached (cache.c); the completion
 * grid is a page of participants read live, since a researcher pages
 * through it and it costs one indexed query per page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "collector.h"
#include "dash_int.h"
#include "ds_attrition.h"

/* Inactivity is judged from this many days up; the page picks N from here. */
#define DASH_INACTIVE_MIN_DAYS "3"
#define DASH_ALERTS_MAX        "500"
#define DASH_GRID_MAX          200

/* ---- the flow (an adapter from struct ds_attrition to JSON) ---- */

static json_t *dash_flow_counts(const struct ds_attrition_flow *f)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "enrolled",
                     (json_int_t)f->enrolled, "baseline_done", (json_int_t)f->baseline_done,
                     "no_baseline", (json_int_t)f->no_baseline, "no_baseline_void",
                     (json_int_t)f->no_baseline_void, "completers", (json_int_t)f->completers,
                     "not_final_withdrawn", (json_int_t)f->not_final_withdrawn, "not_final_missed",
                     (json_int_t)f->not_final_missed, "not_final_void",
                     (json_int_t)f->not_final_void, "not_final_pending",
                     (json_int_t)f->not_final_pending, "final_without_baseline",
                     (json_int_t)f->final_without_baseline, "withdrawn", (json_int_t)f->withdrawn);
}

static void dash_flow_weeks(json_t *out, const struct ds_attrition *a,
                            const struct ds_attrition_arm *arm, const char *name)
{
    for (size_t w = 0; w < a->n_weeks; w++) {
        const struct ds_attrition_week *wk = &arm->weeks[w];
        json_t *o = json_pack("{s:s, s:i, s:I, s:I}", "arm", name, "week", wk->week, "scored",
                              (json_int_t)wk->scored, "voided", (json_int_t)wk->voided);
        for (int s = 0; s < DS_SCHED_COUNT; s++)
            json_object_set_new(o, ds_sched_status_name((enum ds_sched_status)s),
                                json_integer((json_int_t)wk->status[s]));
        json_array_append_new(out, o);
    }
}

static json_t *dash_flow_json(const struct ds_attrition *a, const char *instrument)
{
    json_t *arms = json_array(), *weeks = json_array();

    for (size_t i = 0; i < a->n_arms; i++) {
        json_t *o = dash_flow_counts(&a->arms[i].flow);
        json_object_set_new(o, "arm", json_string(a->arms[i].arm));
        json_array_append_new(arms, o);
        dash_flow_weeks(weeks, a, &a->arms[i], a->arms[i].arm);
    }
    dash_flow_weeks(weeks, a, &a->total, "all");
    return json_pack("{s:s, s:i, s:i, s:s, s:s, s:o, s:o, s:o}", "instrument", instrument,
                     "baseline_week", a->baseline_week, "final_week", a->final_week, "asof",
                     a->asof, "fingerprint", a->fingerprint, "arms", arms, "total",
                     dash_flow_counts(&a->total.flow), "weeks", weeks);
}

/* ---- the overview document ---- */

static int dash_overview_build(const struct dash_build *b, struct dash_built *out, struct err *e)
{
    const char *p1[1] = {b->study};
    PGresult *res = NULL;
    PGconn *conn = NULL;
    struct ds_attrition *flow = NULL;
    json_t *doc = NULL, *arms, *enrol, *instruments, *versions = NULL, *options = NULL;
    char instrument[64], fp[65], run_id[37];
    char *canon = NULL;
    long long cum_total = 0;
    int n, rc;

    if ((conn = db_pool_acquire(b->pool, 5000, e)) == NULL)
        return e->code;
#define Q(name, np, params)                                                                        \
    do {                                                                                           \
        PQclear(res);                                                                              \
        res = NULL;                                                                                \
        if ((n = db_query(conn, name, np, params, &res, e)) < 0) {                                 \
            rc = n;                                                                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

    Q("dash_study", 1, p1);
    if (n == 0) {
        rc = err_set(e, DASH_ENOTFOUND, "There is no study \"%s\"", b->study);
        goto out;
    }
    doc = json_pack("{s:{s:s, s:s, s:i, s:s, s:s}}", "study", "id", PQgetvalue(res, 0, 0), "title",
                    PQgetvalue(res, 0, 1), "weeks", (int)dash_ll(res, 0, 2), "timezone",
                    PQgetvalue(res, 0, 3), "status", PQgetvalue(res, 0, 4));
    if (doc == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }

    Q("dash_study_arms", 1, p1);
    arms = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arms,
                              json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I}}", "id",
                                        PQgetvalue(res, i, 0), "label", PQgetvalue(res, i, 1),
                                        "participants", "enrolled", (json_int_t)dash_ll(res, i, 2),
                                        "active", (json_int_t)dash_ll(res, i, 3), "withdrawn",
                                        (json_int_t)dash_ll(res, i, 4), "completed",
                                        (json_int_t)dash_ll(res, i, 5)));
    json_object_set_new(json_object_get(doc, "study"), "arms", arms);

    Q("dash_study_instruments", 1, p1);
    instruments = json_array();
    versions = json_array();
    for (int i = 0; i < n; i++) {
        json_t *facts = NULL;
        if (dash_instrument_json(b->app, conn, b->study, PQgetvalue(res, i, 0), &facts, e) == 0)
            json_array_append_new(instruments, facts);
        json_array_append_new(versions,
                              json_pack("s++", PQgetvalue(res, i, 0), "@", PQgetvalue(res, i, 1)));
    }
    json_object_set_new(doc, "instruments", instruments);

    if ((rc = dash_pick_instrument(conn, b->study, NULL, instrument, sizeof instrument, e)) != 0)
        goto out;
    json_object_set_new(doc, "primary_instrument", json_string(instrument));

    /* Enrolment by calendar week (Monday) in the study's zone, and cumulative. */
    Q("dash_enrolment", 1, p1);
    enrol = json_array();
    {
        json_t *cum = json_object();
        for (int i = 0; i < n; i++) {
            const char *arm = PQgetvalue(res, i, 1);
            long long k = dash_ll(res, i, 2);
            json_t *c = json_object_get(cum, arm);
            long long sofar = (c ? json_integer_value(c) : 0) + k;
            json_object_set_new(cum, arm, json_integer(sofar));
            cum_total += k;
            json_array_append_new(enrol, json_pack("{s:s, s:s, s:I, s:I}", "week_start",
                                                   PQgetvalue(res, i, 0), "arm", arm, "enrolled",
                                                   (json_int_t)k, "cumulative", (json_int_t)sofar));
        }
        json_decref(cum);
    }
    json_object_set_new(doc, "enrolment", enrol);
    json_object_set_new(doc, "enrolled", json_integer(cum_total));

    /* The flow and the statuses by week, from the derived statuses. */
    if ((rc = ds_attrition_load(conn, b->study, instrument, NULL, NULL, NULL, &flow, e)) != 0)
        goto out;
    json_object_set_new(doc, "flow", dash_flow_json(flow, instrument));
    if (flow->total.flow.enrolled > 0)
        json_object_set_new(
            doc, "retention",
            json_pack("{s:s, s:I, s:I, s:f}", "definition",
                      "completers (scored at the baseline and final weeks) / "
                      "enrolled",
                      "completers", (json_int_t)flow->total.flow.completers, "enrolled",
                      (json_int_t)flow->total.flow.enrolled, "share",
                      (double)flow->total.flow.completers / (double)flow->total.flow.enrolled));

    /* What needs a human now: counts only here (the lists are researchers'). */
    {
        Q("dash_alert_counts", 1, p1);
        json_object_set_new(doc, "alerts",
                            json_pack("{s:I, s:I, s:I, s:I}", "safety_unacknowledged",
                                      (json_int_t)dash_ll(res, 0, 0), "inactive_3d",
                                      (json_int_t)dash_ll(res, 0, 1), "inactive_7d",
                                      (json_int_t)dash_ll(res, 0, 2), "inactive_14d",
                                      (json_int_t)dash_ll(res, 0, 3)));
    }
    Q("dash_data_updated", 1, p1);
    json_object_set_new(doc, "data_updated_at", json_string(PQgetvalue(res, 0, 0)));
    db_pool_release(b->pool, conn);
    conn = NULL;

    /* Provenance: the flow's own fingerprint and the rest of the input. */
    canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (canon == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    {
        char *both = NULL;
        if (asprintf(&both, "%s\n%s", flow->fingerprint, canon) < 0) {
            rc = err_set(e, DASH_EINIT, "out of memory");
            goto out;
        }
        dash_sha256_hex(both, strlen(both), fp);
        free(both);
    }
    options = json_pack("{s:s, s:s, s:s, s:s}", "source", "dashboard", "page", "overview",
                        "instrument", instrument, "asof", flow->asof);
    if ((rc = dash_record_run(b->pool, b->study, "dashboard.overview", options, fp, versions, doc,
                              run_id, e)) != 0)
        goto out;
    json_object_set_new(doc, "runs",
                        json_pack("[{s:s, s:s, s:s}]", "kind", "dashboard.overview", "id", run_id,
                                  "fingerprint", fp));
    json_object_set_new(doc, "instrument_versions", versions);
    versions = NULL;
    out->public_doc = doc;
    doc = NULL;
    rc = 0;
out:
#undef Q
    json_decref(versions);
    PQclear(res);
    if (conn != NULL)
        db_pool_release(b->pool, conn);
    ds_attrition_free(flow);
    json_decref(doc);
    json_decref(options);
    free(canon);
    return rc;
}

const struct dash_doc_kind dash_doc_overview = {"overview", 0, 60, dash_overview_build};

void dash_api_overview(struct http_request *req, struct http_reply *rep)
{
    dash_reply_doc(req, rep, &dash_doc_overview, NULL, DASH_PUBLIC);
}

/* ---- alerts: the lists (researchers) ---- */

static int dash_alerts_build(const struct dash_build *b, struct dash_built *out, struct err *e)
{
    const char *p2[2] = {b->study, DASH_ALERTS_MAX};
    const char *p3[2] = {b->study, DASH_INACTIVE_MIN_DAYS};
    PGresult *res = NULL;
    json_t *safety = json_array(), *acked = json_array(), *inactive = json_array();
    json_t *pub, *priv;
    int n;

    if ((n = dash_query(b->pool, "dash_alerts_safety", 2, p2, &res, e)) < 0)
        goto fail;
    for (int i = 0; i < n; i++) {
        json_t *flags = json_loads(PQgetvalue(res, i, 7), 0, NULL);
        json_array_append_new(safety,
                              json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o}", "response_id",
                                        PQgetvalue(res, i, 0), "code", PQgetvalue(res, i, 1), "arm",
                                        PQgetvalue(res, i, 2), "instrument", PQgetvalue(res, i, 3),
                                        "week", (int)dash_ll(res, i, 4), "completed_at",
                                        PQgetvalue(res, i, 5), "received_at", PQgetvalue(res, i, 6),
                                        "flags", flags ? flags : json_array()));
    }
    PQclear(res);
    res = NULL;
    if ((n = dash_query(b->pool, "dash_alerts_acknowledged", 1, p2, &res, e)) < 0)
        goto fail;
    for (int i = 0; i < n; i++) {
        json_t *flags = json_loads(PQgetvalue(res, i, 7), 0, NULL);
        json_array_append_new(
            acked, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:s, s:s?}", "response_id",
                             PQgetvalue(res, i, 0), "code", PQgetvalue(res, i, 1), "arm",
                             PQgetvalue(res, i, 2), "instrument", PQgetvalue(res, i, 3), "week",
                             (int)dash_ll(res, i, 4), "completed_at", PQgetvalue(res, i, 5),
                             "acknowledged_at", PQgetvalue(res, i, 6), "flags",
                             flags ? flags : json_array(), "acknowledged_by", PQgetvalue(res, i, 8),
                             "note", dash_str(res, i, 9)));
    }
    PQclear(res);
    res = NULL;
    if ((n = dash_query(b->pool, "dash_alerts_inactive", 2, p3, &res, e)) < 0)
        goto fail;
    for (int i = 0; i < n; i++)
        json_array_append_new(
            inactive, json_pack("{s:s, s:s, s:s, s:s?, s:f, s:i}", "code", PQgetvalue(res, i, 0),
                                "arm", PQgetvalue(res, i, 1), "enrolled_at", PQgetvalue(res, i, 2),
                                "last_activity", dash_str(res, i, 3), "days_inactive",
                                dash_dbl(res, i, 4), "study_week", (int)dash_ll(res, i, 5)));
    PQclear(res);
    pub = json_pack("{s:I, s:I}", "safety_unacknowledged", (json_int_t)json_array_size(safety),
                    "inactive", (json_int_t)json_array_size(inactive));
    priv = json_pack("{s:o, s:o, s:o, s:s, s:s}", "safety", safety, "acknowledged", acked,
                     "inactive", inactive, "inactive_rule",
                     "active participants still inside their study period (enrolment + the "
                     "protocol's weeks + one week) whose last app event or questionnaire, or "
                     "their enrolment when they have neither, is at least " DASH_INACTIVE_MIN_DAYS
                     " days old",
                     "safety_rule",
                     "responses that raised an instrument's safety flag (PHQ-9 item 9 above 0 "
                     "or unanswered) and that nobody has acknowledged");
    if (pub == NULL || priv == NULL) {
        json_decref(pub);
        json_decref(priv);
        return err_set(e, DASH_EINIT, "out of memory");
    }
    out->public_doc = pub;
    out->private_doc = priv;
    return 0;
fail:
    json_decref(safety);
    json_decref(acked);
    json_decref(inactive);
    return n;
}

/* Short TTL: an alert must not wait long for a human to see it. */
const struct dash_doc_kind dash_doc_alerts = {"alerts", 0, 30, dash_alerts_build};

void dash_api_alerts(struct http_request *req, struct http_reply *rep)
{
    dash_reply_private_doc(req, rep, &dash_doc_alerts, NULL);
}

/* ---- acknowledging a safety flag ---- */

static int dash_uuid_ok(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (s == NULL || strlen(s) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++) {
        char c = s[i];
        if (shape[i] == '-'
                ? c != '-'
                : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

struct dash_ack_tx {
    const struct http_request *req;
    const char *study, *response, *note;
    char at[40], by[201];
    int already;
};

static int dash_ack_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct dash_ack_tx *t = vctx;
    const struct acc_identity *who = acc_identity_of(t->req);
    const char *p2[2] = {t->response, t->study};
    const char *p3[3] = {t->response, who->actor, t->note};
    struct audit_entry a;
    PGresult *res = NULL;
    json_t *detail;
    int n, rc;

    if ((n = db_query(conn, "dash_ack_find", 2, p2, NULL, e)) < 0)
        return n;
    if (n == 0)
        return err_set(e, DASH_ENOTFOUND, "Study \"%s\" has no flagged response \"%s\"", t->study,
                       t->response);
    if ((n = db_query(conn, "dash_ack_insert", 3, p3, &res, e)) < 0)
        return n;
    t->already = n == 0;
    PQclear(res);
    res = NULL;
    if ((n = db_query(conn, "dash_ack_select", 1, p2, &res, e)) < 0)
        return n;
    if (n == 1) {
        snprintf(t->at, sizeof t->at, "%s", PQgetvalue(res, 0, 0));
        snprintf(t->by, sizeof t->by, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    if (t->already)
        return 0;
    audit_entry_from_request(&a, t->req);
    a.action = "alert.acknowledge";
    a.target = arena_printf(t->req->arena, "response:%s", t->response);
    detail = json_pack("{s:b}", "note", t->note != NULL);
    a.detail = detail;
    rc = audit_append(conn, &a, e);
    json_decref(detail);
    return rc;
}

/* POST /api/v1/studies/{study}/dashboard/alerts/{response}/acknowledge, body {"note"?} */
void dash_api_acknowledge(struct http_request *req, struct http_reply *rep)
{
    struct dash_app *d = dash_of(req);
    struct dash_ack_tx t;
    json_t *note = req->json ? json_object_get(req->json, "note") : NULL;
    const char *key;
    json_t *v;
    struct err e;
    int rc;

    memset(&t, 0, sizeof t);
    t.req = req;
    t.study = http_path_param(req, "study");
    t.response = http_path_param(req, "response");
    if (!dash_uuid_ok(t.response)) {
        http_problem(rep, 404, "not-found", NULL, NULL, "There is no response \"%s\".",
                     t.response ? t.response : "");
        return;
    }
    if (req->json != NULL && !json_is_object(req->json)) {
        http_problem(rep, 422, "invalid-body", NULL,
                     json_pack("[{s:s, s:s}]", "pointer", "", "message", "must be an object"),
                     "The body must be a JSON object such as {\"note\": \"called them\"}.");
        return;
    }
    json_object_foreach(req->json, key, v)
    {
        if (strcmp(key, "note") != 0) {
            http_problem(
                rep, 422, "invalid-body", NULL,
                json_pack("[{s:s+, s:s}]", "pointer", "/", key, "message", "unknown field"),
                "The only field is \"note\".");
            return;
        }
    }
    if (note != NULL && !json_is_null(note)) {
        if (!json_is_string(note) || json_string_length(note) > 2000) {
            http_problem(rep, 422, "invalid-body", NULL,
                         json_pack("[{s:s, s:s}]", "pointer", "/note", "message",
                                   "must be text of at most 2000 characters"),
                         "The note must be text of at most 2000 characters.");
            return;
        }
        if (json_string_length(note) > 0)
            t.note = json_string_value(note);
    }
    err_clear(&e);
    if ((rc = db_run(d->pool, DB_READ_COMMITTED, dash_ack_tx, &t, &e)) != 0) {
        dash_reply_error(req, rep, rc, &e);
        return;
    }
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:s, s:s, s:b}", "response_id", t.response, "acknowledged_at",
                              t.at, "acknowledged_by", t.by, "already_acknowledged", t.already));
}

/* ---- the completion grid (researchers, live, one page of participants) ---- */

void dash_api_completion(struct http_request *req, struct http_reply *rep)
{
    struct dash_app *d = dash_of(req);
    const char *study = http_path_param(req, "study");
    const char *param = http_query(req, "instrument");
    long limit = dash_query_long(req, "limit", 50, 1, DASH_GRID_MAX);
    long offset = dash_query_long(req, "offset", 0, 0, 100000000L);
    char instrument[64], lim[24], off[24];
    const char *params[4];
    PGresult *res = NULL, *cnt = NULL;
    json_t *rows = NULL, *row = NULL;
    const char *last = NULL;
    struct err e;
    PGconn *conn;
    int n, rc;

    if (limit < 0 || offset < 0) {
        http_problem(rep, 400, "invalid-query", NULL,
                     json_pack("[{s:s, s:s}]", "pointer",
                               limit < 0 ? "/query/limit" : "/query/offset", "message",
                               "out of range"),
                     "limit must be 1 to %d and offset 0 or more.", DASH_GRID_MAX);
        return;
    }
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    err_clear(&e);
    if ((conn = db_pool_acquire(d->pool, 2000, &e)) == NULL) {
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    if ((rc = dash_pick_instrument(conn, study, param, instrument, sizeof instrument, &e)) != 0)
        goto fail;
    params[0] = study;
    params[1] = instrument;
    params[2] = lim;
    params[3] = off;
    if ((n = db_query(conn, "dash_completion", 4, params, &res, &e)) < 0 ||
        (rc = db_query(conn, "dash_participant_count", 1, params, &cnt, &e)) < 0) {
        rc = n < 0 ? n : rc;
        goto fail;
    }
    db_pool_release(d->pool, conn);
    conn = NULL;
    rows = json_array();
    for (int i = 0; i < n; i++) {
        const char *code = PQgetvalue(res, i, 0);
        if (last == NULL || strcmp(last, code) != 0) {
            row = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:[]}", "code", code, "arm",
                            PQgetvalue(res, i, 1), "status", PQgetvalue(res, i, 2), "enrolled_at",
                            PQgetvalue(res, i, 3), "last_activity", dash_str(res, i, 8), "weeks");
            json_array_append_new(rows, row);
            last = code;
        }
        json_array_append_new(json_object_get(row, "weeks"),
                              json_pack("{s:i, s:s, s:s, s:s}", "week", (int)dash_ll(res, i, 4),
                                        "status", PQgetvalue(res, i, 5), "opens_at",
                                        PQgetvalue(res, i, 6), "closes_at", PQgetvalue(res, i, 7)));
    }
    {
        json_t *detail = json_pack("{s:s, s:I}", "view", "completion", "rows",
                                   (json_int_t)json_array_size(rows));
        rc = dash_audit_read(req, "participant.list",
                             arena_printf(req->arena, "study:%s/participants", study), detail, &e);
        json_decref(detail);
        if (rc != 0)
            goto fail;
    }
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "study", study, "instrument",
                              instrument, "total", (json_int_t)dash_ll(cnt, 0, 0), "offset",
                              (json_int_t)offset, "limit", (json_int_t)limit, "participants",
                              rows));
    rows = NULL;
    PQclear(res);
    PQclear(cnt);
    return;
fail:
    if (conn != NULL)
        db_pool_release(d->pool, conn);
    json_decref(rows);
    PQclear(res);
    PQclear(cnt);
    dash_reply_error(req, rep, rc, &e);
}
