/*
 * engagement.c — the engagement section (see flow.h): per-participant and
 * per-week measures from datasets/ds_engage, their summaries, and their
 * relation to the change score through analysis/ (ana_corr, ana_groups,
 * ana_lmm). Plumbing only: arrays are built here, statistics computed there.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ana_corr.h"
#include "ana_groups.h"
#include "ana_lmm.h"
#include "analyze.h"
#include "flow.h"

#define ENG_SESSION_RULE                                                                           \
    "events in time order (at one instant: ends, then starts, then the rest); a session_start "    \
    "opens a session and the next session_end within the cap closes it (paired, lasting end - "    \
    "start); a start not closed so (another start first, an end after the cap, no more events) "   \
    "is an unpaired start: it counts as a session lasting until its last other event within the "  \
    "cap and before the next start (0 without one); an end with no open session, or after the "    \
    "cap, is an unpaired end and is dropped"

/* A summary of values: n, mean, SD, median and the share above 0. */
static json_t *eng_summary(const double *x, size_t n)
{
    struct ana_describe d;
    struct err e;
    size_t pos = 0;

    for (size_t i = 0; i < n; i++)
        pos += x[i] > 0;
    if (n == 0)
        return json_pack("{s:i}", "n", 0);
    if (n == 1)
        return json_pack("{s:i, s:f, s:n, s:f, s:f}", "n", 1, "mean", x[0], "sd", "median", x[0],
                         "share_above_0", x[0] > 0 ? 1.0 : 0.0);
    err_clear(&e);
    if (ana_describe(x, n, &d, &e) != 0)
        return json_pack("{s:I, s:s}", "n", (json_int_t)n, "unavailable", e.message);
    return json_pack("{s:I, s:f, s:f, s:f, s:f}", "n", (json_int_t)n, "mean", d.mean, "sd", d.sd,
                     "median", d.median, "share_above_0", (double)pos / (double)n);
}

/* The arms to summarise: each of the data's arms, then all (-1). */
static int eng_arm_at(const struct ds_long *d, size_t i)
{
    return i < d->n_arms ? (int)i : -1;
}

static const char *eng_arm_name(const struct ds_long *d, int arm)
{
    return arm >= 0 ? d->arms[arm] : "all";
}

static json_t *eng_participants(const struct ds_long *d, const struct ds_engagement *g)
{
    json_t *list = json_array();

    for (size_t s = 0; s < d->n_subjects; s++) {
        json_t *weeks = json_array(), *tot = json_object(), *p;
        for (int w = 0; w < g->n_weeks; w++) {
            json_t *o = json_pack("{s:i, s:b}", "week", w, "exposed",
                                  g->exposed[s * (size_t)g->n_weeks + (size_t)w]);
            for (unsigned m = 0; m < DS_ENG_COUNT; m++)
                json_object_set_new(o, ds_eng_metric_name(m),
                                    json_real(ds_engagement_value(g, s, w, m)));
            json_array_append_new(weeks, o);
        }
        for (unsigned m = 0; m < DS_ENG_COUNT; m++)
            json_object_set_new(tot, ds_eng_metric_name(m),
                                json_real(ds_engagement_value(g, s, -1, m)));
        p = json_pack("{s:s, s:o, s:b, s:o, s:o}", "participant", d->subjects[s], "arm",
                      d->subject_arm[s] >= 0 ? json_string(d->arms[d->subject_arm[s]])
                                             : json_null(),
                      "full_exposure", g->full[s], "total", tot, "weeks", weeks);
        json_array_append_new(list, p);
    }
    return list;
}

/* Summaries by week and arm (exposed participants), and study totals by arm
 * (participants exposed to every week). */
static int eng_summaries(const struct ds_long *d, const struct ds_engagement *g, json_t *out,
                         struct err *e)
{
    double *buf = malloc((d->n_subjects ? d->n_subjects : 1) * sizeof *buf);
    json_t *by_week = json_array(), *by_arm = json_object();

    if (buf == NULL) {
        json_decref(by_week);
        json_decref(by_arm);
        return err_set(e, DS_ENOMEM, "out of memory");
    }
    for (size_t ai = 0; ai <= d->n_arms; ai++) {
        int arm = eng_arm_at(d, ai);
        json_t *tot = json_object();
        size_t n_full = 0;
        for (int w = 0; w < g->n_weeks; w++) {
            json_t *o = json_pack("{s:i, s:s}", "week", w, "arm", eng_arm_name(d, arm));
            size_t n = 0;
            for (unsigned m = 0; m < DS_ENG_COUNT; m++) {
                n = 0;
                for (size_t s = 0; s < d->n_subjects; s++)
                    if ((arm < 0 || d->subject_arm[s] == arm) &&
                        g->exposed[s * (size_t)g->n_weeks + (size_t)w])
                        buf[n++] = ds_engagement_value(g, s, w, m);
                json_object_set_new(o, ds_eng_metric_name(m), eng_summary(buf, n));
            }
            json_object_set_new(o, "exposed", json_integer((json_int_t)n));
            json_array_append_new(by_week, o);
        }
        for (unsigned m = 0; m < DS_ENG_COUNT; m++) {
            n_full = 0;
            for (size_t s = 0; s < d->n_subjects; s++)
                if ((arm < 0 || d->subject_arm[s] == arm) && g->full[s])
                    buf[n_full++] = ds_engagement_value(g, s, -1, m);
            json_object_set_new(tot, ds_eng_metric_name(m), eng_summary(buf, n_full));
        }
        json_object_set_new(tot, "participants", json_integer((json_int_t)n_full));
        json_object_set_new(by_arm, eng_arm_name(d, arm), tot);
    }
    free(buf);
    json_object_set_new(out, "by_week", by_week);
    json_object_set_new(out, "by_arm", by_arm);
    return 0;
}

static json_t *eng_corr_json(const struct ana_corr *c, const char *method, const char *ci_method)
{
    return json_pack("{s:s, s:I, s:f, s:o, s:s, s:o, s:f, s:o}", "method", method, "n",
                     (json_int_t)c->n, "r", c->r, "ci95", cli_jci(c->ci.lo, c->ci.hi), "ci_method",
                     ci_method, "t", cli_jnum(c->t), "df", c->df, "p", cli_jnum(c->p));
}

/* Correlations and tertiles for the pairs of one arm (-1: all). */
static int eng_outcome_arm(const struct ds_long *d, const struct ds_engagement *g,
                           const struct cli_engage_opts *o, const struct ds_pairs *p, int arm,
                           json_t *corr_out, json_t *tert_out, struct err *e)
{
    double *x = NULL, *y = NULL, cuts[2];
    unsigned *grp = NULL;
    size_t n = 0;
    json_t *cj = json_object();
    int rc = DS_ENOMEM;
    char sp_ci[160];

    snprintf(sp_ci, sizeof sp_ci, "Fisher z, SE %s",
             o->spearman_se == ANA_SPEARMAN_SE_FIELLER ? "sqrt(1.06/(n-3)) (Fieller et al. 1957)"
                                                       : "sqrt((1+rho^2/2)/(n-3)) (Bonett & "
                                                         "Wright 2000)");
    x = malloc((p->n ? p->n : 1) * sizeof *x);
    y = malloc((p->n ? p->n : 1) * sizeof *y);
    grp = malloc((p->n ? p->n : 1) * sizeof *grp);
    if (x == NULL || y == NULL || grp == NULL || cj == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->n; i++)
        if (arm < 0 || p->arm[i] == arm)
            y[n++] = p->pre[i] - p->post[i];
    for (unsigned m = 0; m < DS_ENG_COUNT; m++) {
        struct ana_corr pe, sp;
        struct err ce;
        json_t *mj = json_object();
        size_t k = 0;
        for (size_t i = 0; i < p->n; i++)
            if (arm < 0 || p->arm[i] == arm)
                x[k++] = ds_engagement_value(g, p->subject[i], -1, m);
        err_clear(&ce);
        if (ana_pearson(x, y, n, o->level, &pe, &ce) == 0)
            json_object_set_new(mj, "pearson",
                                eng_corr_json(&pe, "Pearson", "Fisher z, SE 1/sqrt(n-3)"));
        else
            json_object_set_new(
                mj, "pearson",
                json_pack("{s:I, s:s}", "n", (json_int_t)n, "unavailable", ce.message));
        err_clear(&ce);
        if (ana_spearman(x, y, n, o->level, o->spearman_se, &sp, &ce) == 0)
            json_object_set_new(mj, "spearman", eng_corr_json(&sp, "Spearman", sp_ci));
        else
            json_object_set_new(
                mj, "spearman",
                json_pack("{s:I, s:s}", "n", (json_int_t)n, "unavailable", ce.message));
        json_object_set_new(cj, ds_eng_metric_name(m), mj);
    }
    json_object_set_new(corr_out, eng_arm_name(d, arm), cj);
    cj = NULL;
    {
        size_t k = 0;
        struct ana_group_summary gs[3];
        struct err te;
        for (size_t i = 0; i < p->n; i++)
            if (arm < 0 || p->arm[i] == arm)
                x[k++] = ds_engagement_value(g, p->subject[i], -1, o->metric);
        err_clear(&te);
        if (n < 3 || ana_quantile_groups(x, n, 3, cuts, grp, &te) != 0 ||
            ana_group_summaries(x, y, grp, n, 3, o->level, gs, &te) != 0) {
            json_object_set_new(tert_out, eng_arm_name(d, arm),
                                json_pack("{s:I, s:s}", "n", (json_int_t)n, "unavailable",
                                          n < 3 ? "fewer than 3 participants" : te.message));
        } else {
            json_t *groups = json_array();
            for (unsigned t = 0; t < 3; t++)
                json_array_append_new(
                    groups, json_pack("{s:i, s:I, s:o, s:o, s:o, s:o, s:o}", "tertile", t + 1, "n",
                                      (json_int_t)gs[t].n, "engagement_range",
                                      cli_jci(gs[t].x_min, gs[t].x_max), "mean_change",
                                      cli_jnum(gs[t].mean), "sd_change", cli_jnum(gs[t].sd),
                                      "median_change", cli_jnum(gs[t].median), "ci95",
                                      cli_jci(gs[t].ci.lo, gs[t].ci.hi)));
            json_object_set_new(tert_out, eng_arm_name(d, arm),
                                json_pack("{s:I, s:[f, f], s:o}", "n", (json_int_t)n, "cuts",
                                          cuts[0], cuts[1], "groups", groups));
        }
    }
    rc = 0;
out:
    json_decref(cj);
    free(x);
    free(y);
    free(grp);
    return rc;
}

/* The mixed model with engagement as a covariate. */
static int eng_mixed(const struct ds_long *d, const struct ds_engagement *g,
                     const struct cli_engage_opts *o, json_t **out, struct err *e)
{
    const char *metric = ds_eng_metric_name(o->metric);
    struct cli_mixed_options mo;
    struct cli_mixed_names names = {"participant", "week", "score", "arm"};
    struct ana_lmm_covariate cov[2];
    struct ana_lmm_fit *f = NULL;
    double *c1 = NULL, *c2 = NULL;
    char n1[64], n2[80];
    json_t *opts = NULL, *doc = NULL;
    int rc = DS_ENOMEM;

    memset(&mo, 0, sizeof mo);
    mo.random = ANA_LMM_RANDOM_SLOPE;
    mo.method = ANA_LMM_REML;
    mo.with_arm = ds_arms_with_scores(d) > 1;
    mo.interaction = mo.with_arm;
    c1 = malloc((d->n ? d->n : 1) * sizeof *c1);
    c2 = malloc((d->n ? d->n : 1) * sizeof *c2);
    if (c1 == NULL || c2 == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    if (o->covariate == CLI_COV_TOTAL) {
        snprintf(n1, sizeof n1, "%s_total", metric);
        snprintf(n2, sizeof n2, "week:%s_total", metric);
        for (size_t i = 0; i < d->n; i++) {
            c1[i] = ds_engagement_value(g, d->subject[i], -1, o->metric);
            c2[i] = d->time[i] * c1[i];
        }
        cov[0] = (struct ana_lmm_covariate){n1, c1};
        cov[1] = (struct ana_lmm_covariate){n2, c2};
        mo.n_covariates = 2;
    } else {
        snprintf(n1, sizeof n1, "%s_previous_week", metric);
        for (size_t i = 0; i < d->n; i++) {
            double w = d->time[i] - 1;
            c1[i] = w >= 0 && w < g->n_weeks && w == floor(w)
                        ? ds_engagement_value(g, d->subject[i], (int)w, o->metric)
                        : 0.0;
        }
        cov[0] = (struct ana_lmm_covariate){n1, c1};
        mo.n_covariates = 1;
    }
    mo.covariates = cov;
    if ((rc = cli_mixed_fit(d, &mo, &names, &f, e)) != 0)
        goto out;
    opts = cli_mixed_options_json(&mo);
    if ((rc = cli_mixed_result(f, d, &mo, &names, opts, &doc, e)) != 0)
        goto out;
    /* The means and reduction of this model are at the covariates' observation
     * means, which for week x engagement is not week x mean engagement: they
     * would mislead. The main model (attune analyze mixed) gives them. */
    json_object_del(doc, "means");
    json_object_del(doc, "reduction");
    json_object_set_new(
        doc, "covariate",
        json_pack("{s:s, s:s, s:s}", "kind", o->covariate == CLI_COV_TOTAL ? "total" : "weekly",
                  "metric", metric, "meaning",
                  o->covariate == CLI_COV_TOTAL
                      ? "the participant's study total: its coefficient is the difference in "
                        "level per unit, and week:<total> the difference in weekly slope per "
                        "unit"
                      : "the measure in the study week before each score (0 for the first "
                        "week): the difference in score per unit of the previous week's use"));
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    json_decref(opts);
    json_decref(doc);
    ana_lmm_fit_free(f);
    free(c1);
    free(c2);
    return rc;
}

int cli_engagement_json(const struct ds_long *d, const struct ds_engagement *g,
                        const struct cli_engage_opts *o, json_t **out, struct err *e)
{
    struct ds_pairs p;
    json_t *doc = NULL, *corr = NULL, *tert = NULL, *mixed = NULL;
    int rc;

    memset(&p, 0, sizeof p);
    doc = json_pack(
        "{s:{s:s, s:f, s:s, s:s, s:[i, i], s:s}, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:s, "
        "s:s}",
        "definitions", "sessions", ENG_SESSION_RULE, "session_cap_minutes",
        (double)g->cap_us / 60e6, "active_days",
        "distinct calendar days in the study's time zone with any app event", "exercises",
        "exercise_completed, breathing_exercise and grounding_exercise events", "study_weeks", 0,
        g->n_weeks - 1, "exposed",
        "a week counts for a participant once it has begun (as of asof) and unless they "
        "withdrew before it began; study totals are summarised over participants exposed to "
        "every week",
        "sessions", "sessions", (json_int_t)g->sessions.sessions, "paired",
        (json_int_t)g->sessions.paired, "unpaired_start", (json_int_t)g->sessions.unpaired_start,
        "unpaired_end", (json_int_t)g->sessions.unpaired_end, "end_after_cap",
        (json_int_t)g->sessions.over_cap, "events", (json_int_t)g->n_events,
        "events_outside_study_weeks", (json_int_t)g->n_outside, "asof", g->asof,
        "events_fingerprint", g->fingerprint);
    if (doc == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    if ((rc = eng_summaries(d, g, doc, e)) != 0)
        goto out;
    if (o->participants)
        json_object_set_new(doc, "participants", eng_participants(d, g));
    if ((rc = ds_pair(d, o->pre, o->post, -1, o->population, &p, e)) != 0)
        goto out;
    corr = json_object();
    tert = json_object();
    for (size_t ai = 0; ai <= d->n_arms; ai++)
        if ((rc = eng_outcome_arm(d, g, o, &p, eng_arm_at(d, ai), corr, tert, e)) != 0)
            goto out;
    json_object_set_new(
        doc, "outcome",
        json_pack("{s:{s:s, s:f, s:f, s:I, s:I}, s:s, s:s, s:O, s:{s:s, s:O}}", "population",
                  "name", ds_population_name(o->population), "pre", o->pre, "post", o->post,
                  "considered", (json_int_t)p.n_considered, "included", (json_int_t)p.n, "change",
                  "pre - post (positive: the score went down)", "engagement",
                  "each participant's study total", "correlations", corr, "tertiles", "metric",
                  ds_eng_metric_name(o->metric), "by_arm", tert));
    if (o->covariate != CLI_COV_NONE) {
        struct err me;
        err_clear(&me);
        if (eng_mixed(d, g, o, &mixed, &me) == 0)
            json_object_set_new(doc, "mixed", mixed);
        else
            json_object_set_new(doc, "mixed", json_pack("{s:s}", "unavailable", me.message));
        mixed = NULL;
    }
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    json_decref(doc);
    json_decref(corr);
    json_decref(tert);
    ds_pairs_free(&p);
    return rc;
}
