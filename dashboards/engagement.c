/*
 * engagement.c — the Engagement page's data: daily active participants,
 * events by type over time, sessions, minutes and the other measures per
 * study week by arm, and engagement against the change in the weekly
 * outcome (Pearson and Spearman with their intervals, the least-squares
 * line, change by tertile); for researchers also each participant's point.
 *
 * The measures are datasets/ds_engage.h's (sessions paired by its
 * documented rule, the same as `attune report`); the statistics are
 * analysis/'s: ana_mean_ci (weekly means), ana_pearson and ana_spearman
 * (Bonett–Wright interval, the report's default), ana_quantile_groups and
 * ana_group_summaries (tertiles). The line drawn through the scatter is the
 * least-squares line, slope r·SD(change)/SD(measure), from ana_pearson's r
 * and ana_describe's SDs: arithmetic on the library's numbers, stated in the
 * document.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ana_corr.h"
#include "ana_groups.h"
#include "ana_summary.h"
#include "collector.h"
#include "dash_int.h"
#include "ds.h"
#include "ds_engage.h"

/* The measures shown, in order. */
static const enum ds_eng_metric dash_metrics[] = {
    DS_ENG_SESSIONS, DS_ENG_MINUTES, DS_ENG_ACTIVE_DAYS, DS_ENG_EXERCISES, DS_ENG_TRIGGER_LOGS};
#define DASH_N_METRICS (sizeof dash_metrics / sizeof dash_metrics[0])

static const char *dash_arm_name(const struct ds_long *d, int a)
{
    return a >= 0 && d->n_arms ? d->arms[a] : "all";
}

/* Per study week and arm: the mean of each measure over exposed participants. */
static json_t *dash_weekly(const struct ds_long *d, const struct ds_engagement *g)
{
    json_t *out = json_array();
    double *x = malloc((g->n_subjects ? g->n_subjects : 1) * sizeof *x);

    if (x == NULL) {
        json_decref(out);
        return NULL;
    }
    for (size_t m = 0; m < DASH_N_METRICS; m++)
        for (int a = 0; a < (int)(d->n_arms ? d->n_arms : 1); a++)
            for (int w = 0; w < g->n_weeks; w++) {
                struct ana_mean_ci mc;
                struct err e;
                size_t k = 0;
                json_t *o;
                for (size_t s = 0; s < g->n_subjects; s++)
                    if (g->exposed[s * (size_t)g->n_weeks + (size_t)w] &&
                        (d->n_arms == 0 || d->subject_arm[s] == a))
                        x[k++] = ds_engagement_value(g, s, w, dash_metrics[m]);
                o = json_pack("{s:s, s:s, s:i, s:I}", "metric", ds_eng_metric_name(dash_metrics[m]),
                              "arm", dash_arm_name(d, d->n_arms ? a : -1), "week", w, "n",
                              (json_int_t)k);
                err_clear(&e);
                if (k >= 2 && ana_mean_ci(x, k, 0.95, &mc, &e) == 0) {
                    json_object_set_new(o, "mean", dash_num(mc.mean));
                    json_object_set_new(o, "ci95", dash_ci(mc.ci.lo, mc.ci.hi));
                } else {
                    json_object_set_new(o, "mean", k == 1 ? dash_num(x[0]) : json_null());
                    json_object_set_new(o, "ci95", json_null());
                }
                json_array_append_new(out, o);
            }
    free(x);
    return out;
}

static json_t *dash_corr_json(const struct ana_corr *c)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "r", dash_num(c->r), "p", dash_num(c->p), "ci95",
                     dash_ci(c->ci.lo, c->ci.hi), "df", dash_num(c->df));
}

/*
 * One measure against the change score for one group: the correlations, the
 * line and the tertiles. x and y hold the group's n pairs.
 */
static json_t *dash_assoc(const char *metric, const char *arm, const double *x, const double *y,
                          size_t n)
{
    struct ana_corr pr, sp;
    struct ana_describe dx, dy;
    struct err e;
    json_t *o = json_pack("{s:s, s:s, s:I}", "metric", metric, "arm", arm, "n", (json_int_t)n);
    unsigned *grp = NULL;
    double cuts[2];

    err_clear(&e);
    if (ana_pearson(x, y, n, 0.95, &pr, &e) == 0 && ana_describe(x, n, &dx, &e) == 0 &&
        ana_describe(y, n, &dy, &e) == 0) {
        double slope = pr.r * dy.sd / dx.sd;
        json_object_set_new(o, "pearson", dash_corr_json(&pr));
        json_object_set_new(o, "line",
                            json_pack("{s:o, s:o}", "slope", dash_num(slope), "intercept",
                                      dash_num(dy.mean - slope * dx.mean)));
        /* The line is drawn over the observed range of the measure. */
        {
            double lo = x[0], hi = x[0];
            for (size_t i = 1; i < n; i++) {
                lo = x[i] < lo ? x[i] : lo;
                hi = x[i] > hi ? x[i] : hi;
            }
            json_object_set_new(json_object_get(o, "line"), "x_min", dash_num(lo));
            json_object_set_new(json_object_get(o, "line"), "x_max", dash_num(hi));
            json_object_set_new(json_object_get(o, "line"), "y_at_min",
                                dash_num(dy.mean + slope * (lo - dx.mean)));
            json_object_set_new(json_object_get(o, "line"), "y_at_max",
                                dash_num(dy.mean + slope * (hi - dx.mean)));
        }
    } else {
        json_object_set_new(o, "pearson", json_null());
        json_object_set_new(o, "unavailable", json_string(e.message));
    }
    err_clear(&e);
    if (ana_spearman(x, y, n, 0.95, ANA_SPEARMAN_SE_BONETT_WRIGHT, &sp, &e) == 0)
        json_object_set_new(o, "spearman", dash_corr_json(&sp));
    else
        json_object_set_new(o, "spearman", json_null());
    err_clear(&e);
    if (n >= 3 && (grp = malloc(n * sizeof *grp)) != NULL &&
        ana_quantile_groups(x, n, 3, cuts, grp, &e) == 0) {
        struct ana_group_summary gs[3];
        if (ana_group_summaries(x, y, grp, n, 3, 0.95, gs, &e) == 0) {
            json_t *t = json_array();
            for (int k = 0; k < 3; k++)
                json_array_append_new(
                    t, json_pack("{s:i, s:I, s:o, s:o, s:o, s:o}", "tertile", k + 1, "n",
                                 (json_int_t)gs[k].n, "x_min", dash_num(gs[k].x_min), "x_max",
                                 dash_num(gs[k].x_max), "mean_change", dash_num(gs[k].mean), "ci95",
                                 dash_ci(gs[k].ci.lo, gs[k].ci.hi)));
            json_object_set_new(o, "tertiles", t);
            json_object_set_new(o, "tertile_cuts",
                                json_pack("[o, o]", dash_num(cuts[0]), dash_num(cuts[1])));
        }
    }
    free(grp);
    return o;
}

static int dash_engagement_build(const struct dash_build *b, struct dash_built *out, struct err *e)
{
    const char *p1[1] = {b->study};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    struct ds_long *d = NULL;
    struct ds_engagement *g = NULL;
    struct ds_pairs pairs;
    json_t *doc = NULL, *priv = NULL, *dau = json_array(), *types = json_array(), *assoc = NULL;
    json_t *points = json_array(), *versions = json_array(), *options = NULL;
    double *x = NULL, *y = NULL;
    char instrument[64], fp[65], run_id[37], *both = NULL;
    int n, rc;

    memset(&pairs, 0, sizeof pairs);
    if ((conn = db_pool_acquire(b->pool, 5000, e)) == NULL) {
        rc = e->code;
        goto out;
    }
    if ((rc = dash_pick_instrument(conn, b->study, NULL, instrument, sizeof instrument, e)) != 0 ||
        (rc = ds_load_study(conn, b->study, instrument, &d, e)) != 0 ||
        (rc = ds_engagement_load(conn, b->study, d, NULL, 0, &g, e)) != 0)
        goto out;
    if ((n = db_query(conn, "dash_dau", 1, p1, &res, e)) < 0) {
        rc = n;
        goto out;
    }
    for (int i = 0; i < n; i++)
        json_array_append_new(dau, json_pack("{s:s, s:s, s:I}", "day", PQgetvalue(res, i, 0), "arm",
                                             PQgetvalue(res, i, 1), "active",
                                             (json_int_t)dash_ll(res, i, 2)));
    PQclear(res);
    res = NULL;
    if ((n = db_query(conn, "dash_event_types", 1, p1, &res, e)) < 0) {
        rc = n;
        goto out;
    }
    for (int i = 0; i < n; i++)
        json_array_append_new(types, json_pack("{s:s, s:s, s:I}", "week_start",
                                               PQgetvalue(res, i, 0), "type", PQgetvalue(res, i, 1),
                                               "events", (json_int_t)dash_ll(res, i, 2)));
    PQclear(res);
    res = NULL;
    db_pool_release(b->pool, conn);
    conn = NULL;

    /* Engagement against change: completers of the weekly outcome. */
    {
        double pre = 0, post = 0;
        int first = 1;
        for (size_t i = 0; i < d->n; i++) {
            if (first || d->time[i] < pre)
                pre = d->time[i];
            if (first || d->time[i] > post)
                post = d->time[i];
            first = 0;
        }
        if ((rc = ds_pair(d, pre, post, -1, DS_COMPLETERS, &pairs, e)) != 0)
            goto out;
        assoc = json_array();
        x = malloc((pairs.n ? pairs.n : 1) * sizeof *x);
        y = malloc((pairs.n ? pairs.n : 1) * sizeof *y);
        if (x == NULL || y == NULL) {
            rc = err_set(e, DASH_EINIT, "out of memory");
            goto out;
        }
        for (size_t m = 0; m < DASH_N_METRICS; m++)
            for (int a = -1; a < (int)d->n_arms; a++) {
                size_t k = 0;
                for (size_t i = 0; i < pairs.n; i++) {
                    if (a >= 0 && pairs.arm[i] != a)
                        continue;
                    x[k] = ds_engagement_value(g, pairs.subject[i], -1, dash_metrics[m]);
                    y[k] = pairs.pre[i] - pairs.post[i];
                    k++;
                }
                json_array_append_new(assoc, dash_assoc(ds_eng_metric_name(dash_metrics[m]),
                                                        dash_arm_name(d, a), x, y, k));
            }
        size_t *in_arm = calloc(d->n_arms + 1, sizeof *in_arm);
        size_t *seen = calloc(d->n_arms + 1, sizeof *seen);
        if (in_arm == NULL || seen == NULL) {
            free(in_arm);
            free(seen);
            rc = err_set(e, DASH_EINIT, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < pairs.n; i++)
            in_arm[pairs.arm[i] >= 0 ? (size_t)pairs.arm[i] : d->n_arms]++;
        for (size_t i = 0; i < pairs.n; i++) {
            size_t a = pairs.arm[i] >= 0 ? (size_t)pairs.arm[i] : d->n_arms;
            json_t *p;
            /* The statistics use everyone; the scatter draws at most this many an arm. */
            if (!dash_sample_keep(seen[a]++, in_arm[a], DASH_POINTS_PER_ARM))
                continue;
            p = json_pack("{s:s, s:s, s:f}", "code", d->subjects[pairs.subject[i]], "arm",
                          dash_arm_name(d, pairs.arm[i]), "change", pairs.pre[i] - pairs.post[i]);
            for (size_t m = 0; m < DASH_N_METRICS; m++)
                json_object_set_new(
                    p, ds_eng_metric_name(dash_metrics[m]),
                    dash_num(ds_engagement_value(g, pairs.subject[i], -1, dash_metrics[m])));
            json_array_append_new(points, p);
        }
        free(in_arm);
        free(seen);
        doc = json_pack("{s:s, s:s, s:{s:s, s:f, s:f, s:s, s:I}}", "study", b->study, "outcome",
                        instrument, "change", "definition",
                        "baseline - final score (positive: "
                        "the score went down)",
                        "pre", pre, "post", post, "population", "completers", "n",
                        (json_int_t)pairs.n);
    }
    if (doc == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    json_object_set_new(doc, "daily_active", dau);
    json_object_set_new(doc, "events_by_type", types);
    dau = types = NULL;
    json_object_set_new(doc, "weekly", dash_weekly(d, g));
    json_object_set_new(doc, "association", assoc);
    assoc = NULL;
    json_object_set_new(
        doc, "definitions",
        json_pack("{s:s, s:s, s:s, s:f, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:I}", "session",
                  "a session_start and the next session_end within the cap; an unpaired start "
                  "lasts until the last other event within the cap (docs/report.md)",
                  "active_day", "a calendar day in the study's time zone with any event",
                  "exposure",
                  "a study week counts for a participant once it has begun and "
                  "before they withdrew",
                  "session_cap_minutes", (double)g->cap_us / 60e6, "weeks", (json_int_t)g->n_weeks,
                  "sessions", "paired", (json_int_t)g->sessions.paired, "unpaired_start",
                  (json_int_t)g->sessions.unpaired_start, "unpaired_end",
                  (json_int_t)g->sessions.unpaired_end, "over_cap",
                  (json_int_t)g->sessions.over_cap, "events", (json_int_t)g->n_events,
                  "events_outside_study_weeks", (json_int_t)g->n_outside));
    json_object_set_new(doc, "line_rule",
                        json_string("least squares: slope = Pearson r x SD(change) / SD(measure), "
                                    "through the means"));

    if (asprintf(&both, "%s\n%s", d->fingerprint, g->fingerprint) < 0) {
        both = NULL;
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    dash_sha256_hex(both, strlen(both), fp);
    for (size_t i = 0; i < d->n_versions; i++)
        json_array_append_new(versions, json_string(d->versions[i]));
    options =
        json_pack("{s:s, s:s, s:s, s:f, s:s, s:s}", "source", "dashboard", "page", "engagement",
                  "outcome", instrument, "session_cap_minutes", (double)g->cap_us / 60e6,
                  "population", "completers", "spearman_se", "bonett-wright");
    if ((rc = dash_record_run(b->pool, b->study, "dashboard.engagement", options, fp, versions, doc,
                              run_id, e)) != 0)
        goto out;
    json_object_set_new(doc, "runs",
                        json_pack("[{s:s, s:s, s:s}]", "kind", "dashboard.engagement", "id", run_id,
                                  "fingerprint", fp));
    priv = json_pack("{s:s, s:s, s:O, s:o, s:s}", "study", b->study, "outcome", instrument, "runs",
                     json_object_get(doc, "runs"), "points", points, "points_rule",
                     "every completer when an arm has at most 3000, else 3000 of the arm's "
                     "spread evenly; the correlations and lines use everyone");
    points = NULL;
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
    ds_pairs_free(&pairs);
    ds_engagement_free(g);
    ds_long_free(d);
    free(x);
    free(y);
    free(both);
    json_decref(doc);
    json_decref(priv);
    json_decref(dau);
    json_decref(types);
    json_decref(assoc);
    json_decref(points);
    json_decref(versions);
    json_decref(options);
    return rc;
}

const struct dash_doc_kind dash_doc_engagement = {"engagement", 0, 600, dash_engagement_build};

void dash_api_engagement(struct http_request *req, struct http_reply *rep)
{
    dash_reply_doc(req, rep, &dash_doc_engagement, NULL, DASH_PUBLIC);
}

void dash_api_engagement_points(struct http_request *req, struct http_reply *rep)
{
    dash_reply_private_doc(req, rep, &dash_doc_engagement, NULL);
}
