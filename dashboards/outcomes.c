/*
 * outcomes.c — the Outcomes page's data for one instrument: the observed
 * mean by week with its 95% CI per arm, the mixed model's means by week and
 * reduction, severity bands by week, the pre/post table for each analysis
 * population, the claim table (the reduction computed every defensible way,
 * each with its n), and the Jacobson–Truax categories; for researchers also
 * individual trajectories and each completer's baseline and follow-up.
 *
 * Every number comes from the functions `attune analyze` uses, on the same
 * inputs:
 *   - data: ds_load_study() (datasets/), pairs by population: ds_pair();
 *   - observed means: ana_mean_ci() (analysis/ana_summary.h, Student's t,
 *     as the claim report);
 *   - the mixed model: cli_mixed_fit() and cli_mixed_result() (the JSON of
 *     `attune analyze mixed --time-categorical --interaction`), recorded as a
 *     run of kind "mixed" exactly as that command records it;
 *   - pre/post: ana_prepost_run() with ana_prepost_opts_init()'s defaults
 *     (2,000 bootstrap resamples, seed 1) and cli_facts_for_instrument()'s
 *     facts, as `attune analyze prepost` without options. The command's own
 *     JSON builder is private to cli/analyze_prepost.c, so this file shapes
 *     the same statistics under the same key names (a thin adapter; the
 *     integration tests compare it with the command's output).
 *   - Jacobson–Truax: each completer's category follows the rule of
 *     ana_reliable_change() (analysis/ana_prepost.c), and is shown only when
 *     the per-category counts agree with the library's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ana_lmm.h"
#include "ana_prepost.h"
#include "ana_summary.h"
#include "analyze.h"
#include "analyze_facts.h"
#include "collector.h"
#include "dash_int.h"
#include "ds.h"

#define DASH_TRAJECTORIES_PER_ARM 40

/* ---- pre/post for one group: the CLI's key names ---- */

static json_t *dash_prop(const struct ana_proportion *p)
{
    return json_pack("{s:I, s:I, s:o, s:o}", "count", (json_int_t)p->count, "n", (json_int_t)p->n,
                     "share", dash_num(p->share), "ci95", dash_ci(p->ci.lo, p->ci.hi));
}

static json_t *dash_prepost_json(const struct ana_prepost *r, const struct ana_facts *f,
                                 const struct ds_pairs *pairs, enum ds_population pop)
{
    const struct ana_paired *s = &r->summary;
    json_t *j, *un = json_object();

#define OK(part) (r->status[part] == 0)
#define UN(key, part)                                                                              \
    do {                                                                                           \
        if (!OK(part))                                                                             \
            json_object_set_new(un, key, json_string(r->why[part]));                               \
    } while (0)
    j = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)s->n, "mean_pre",
                  dash_num(s->pre.mean), "mean_post", dash_num(s->post.mean), "sd_pre",
                  dash_num(s->pre.sd), "sd_post", dash_num(s->post.sd), "mean_diff",
                  dash_num(s->diff.mean), "sd_diff", dash_num(s->diff.sd), "r_pre_post",
                  s->has_r ? dash_num(s->r_pre_post) : json_null());
    json_object_set_new(j, "paired_t",
                        OK(ANA_PP_PAIRED_T)
                            ? json_pack("{s:o, s:o, s:o, s:o}", "t", dash_num(r->paired_t.t), "df",
                                        dash_num(r->paired_t.df), "p", dash_num(r->paired_t.p),
                                        "mean_diff_ci95",
                                        dash_ci(r->paired_t.ci.lo, r->paired_t.ci.hi))
                            : json_null());
    UN("paired_t", ANA_PP_PAIRED_T);
    json_object_set_new(j, "d_z",
                        OK(ANA_PP_D_Z) ? json_pack("{s:o, s:o}", "value", dash_num(r->d_z.value),
                                                   "ci95", dash_ci(r->d_z.ci.lo, r->d_z.ci.hi))
                                       : json_null());
    UN("d_z", ANA_PP_D_Z);
    json_object_set_new(j, "d_av", OK(ANA_PP_D_AV) ? dash_num(r->d_av) : json_null());
    json_object_set_new(j, "d_rm", OK(ANA_PP_D_RM) ? dash_num(r->d_rm) : json_null());
    json_object_set_new(j, "g_av", OK(ANA_PP_G_AV) ? dash_num(r->g_av) : json_null());
    json_object_set_new(j, "delta_pre",
                        OK(ANA_PP_DELTA_PRE) ? dash_num(r->delta_pre) : json_null());
    if (OK(ANA_PP_PCT_MEANS)) {
        json_t *x = json_pack("{s:o}", "value", dash_num(r->pct_means));
        if (OK(ANA_PP_BOOTSTRAP)) {
            json_object_set_new(x, "ci95", dash_ci(r->boot.percentile.lo, r->boot.percentile.hi));
            json_object_set_new(x, "ci95_bca",
                                r->boot.has_bca ? dash_ci(r->boot.bca.lo, r->boot.bca.hi)
                                                : json_null());
            json_object_set_new(x, "bootstrap",
                                json_pack("{s:I, s:I}", "resamples", (json_int_t)r->boot.resamples,
                                          "seed", (json_int_t)r->boot.seed));
        } else {
            json_object_set_new(x, "ci95", json_null());
        }
        json_object_set_new(j, "pct_reduction_group_means", x);
    } else {
        json_object_set_new(j, "pct_reduction_group_means", json_null());
    }
    UN("pct_reduction_group_means", ANA_PP_PCT_MEANS);
    UN("bootstrap", ANA_PP_BOOTSTRAP);
    json_object_set_new(
        j, "individual_pct_reduction",
        json_pack("{s:o, s:o, s:I, s:I}", "mean",
                  OK(ANA_PP_PCT_INDIVIDUAL) ? dash_num(r->pct_individual.mean) : json_null(),
                  "median",
                  OK(ANA_PP_PCT_INDIVIDUAL) ? dash_num(r->pct_individual.median) : json_null(),
                  "n_used", (json_int_t)r->pct_individual.n_used, "n_excluded",
                  (json_int_t)r->pct_individual.n_excluded));
    UN("individual_pct_reduction", ANA_PP_PCT_INDIVIDUAL);
    if (OK(ANA_PP_RESPONDERS) && r->responders.has_responders) {
        json_t *x = dash_prop(&r->responders.responders);
        json_object_set_new(x, "threshold_pct", json_real(f->responder_pct));
        json_object_set_new(j, "responders", x);
    } else {
        json_object_set_new(j, "responders", json_null());
    }
    if (OK(ANA_PP_RESPONDERS) && r->responders.has_remission) {
        json_t *x = dash_prop(&r->responders.remission);
        json_object_set_new(x, "cutoff", json_real(f->remission_cutoff));
        json_object_set_new(j, "remission", x);
    } else {
        json_object_set_new(j, "remission", json_null());
    }
    UN("responders", ANA_PP_RESPONDERS);
    if (OK(ANA_PP_RELIABLE_CHANGE)) {
        const struct ana_rci *c = &r->rci;
        json_object_set_new(
            j, "reliable_change",
            json_pack("{s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:{s:s, s:f, s:I, s:I, s:I, s:I}}",
                      "reliability", c->reliability, "se_diff", c->se_diff, "critical", c->critical,
                      "min_reliable_change", c->min_reliable_change, "improved",
                      (json_int_t)c->improved, "unchanged", (json_int_t)c->unchanged,
                      "deteriorated", (json_int_t)c->deteriorated, "clinically_significant",
                      "criterion", c->criterion == ANA_JT_C ? "c" : "a", "cutoff", c->cutoff,
                      "recovered", (json_int_t)c->recovered, "improved",
                      (json_int_t)c->improved_only, "unchanged", (json_int_t)c->unchanged,
                      "deteriorated", (json_int_t)c->deteriorated));
    } else {
        json_object_set_new(j, "reliable_change", json_null());
    }
    UN("reliable_change", ANA_PP_RELIABLE_CHANGE);
#undef OK
#undef UN
    json_object_set_new(j, "unavailable", un);
    json_object_set_new(
        j, "population",
        json_pack("{s:s, s:I, s:I, s:{s:I, s:I}, s:I}", "name", ds_population_name(pop),
                  "considered", (json_int_t)pairs->n_considered, "included", (json_int_t)pairs->n,
                  "excluded", "no_baseline", (json_int_t)pairs->n_no_baseline, "no_followup",
                  (json_int_t)pairs->n_no_followup, "imputed", (json_int_t)pairs->n_imputed));
    return j;
}

/* The category of one completer, by ana_reliable_change()'s rule. */
static const char *dash_jt_category(const struct ana_facts *f, const struct ana_rci *c, double pre,
                                    double post, double rci)
{
    double better = f->higher_is_better ? rci : -rci;
    int healthy_pre = f->higher_is_better ? pre > c->cutoff : pre < c->cutoff;
    int healthy_post = f->higher_is_better ? post > c->cutoff : post < c->cutoff;

    if (fabs(rci) > c->critical && better > 0)
        return !healthy_pre && healthy_post ? "recovered" : "improved";
    if (fabs(rci) > c->critical)
        return "deteriorated";
    return "unchanged";
}

/* Everything the outcomes builder keeps while it works. */
struct dash_oc {
    const struct dash_build *b;
    struct ds_long *d;
    struct ana_facts facts;
    const char *facts_source;
    double pre, post;
    json_t *inst;
};

/* Observed means by arm and week: ana_mean_ci on the scores of each cell. */
static json_t *dash_observed(const struct dash_oc *oc)
{
    const struct ds_long *d = oc->d;
    json_t *out = json_array(), *weeks = json_object_get(oc->inst, "weeks");
    double *x = malloc((d->n ? d->n : 1) * sizeof *x);
    size_t w;
    json_t *wv;

    if (x == NULL) {
        json_decref(out);
        return NULL;
    }
    for (size_t a = 0; a < (d->n_arms ? d->n_arms : 1); a++) {
        json_array_foreach(weeks, w, wv)
        {
            double week = (double)json_integer_value(wv);
            struct ana_mean_ci m;
            struct err e;
            size_t k = 0;
            json_t *o;
            for (size_t i = 0; i < d->n; i++)
                if (d->time[i] == week &&
                    (d->n_arms == 0 || d->subject_arm[d->subject[i]] == (int32_t)a))
                    x[k++] = d->score[i];
            o = json_pack("{s:s, s:i, s:I}", "arm", d->n_arms ? d->arms[a] : "all", "week",
                          (int)week, "n", (json_int_t)k);
            err_clear(&e);
            if (k >= 2 && ana_mean_ci(x, k, 0.95, &m, &e) == 0) {
                json_object_set_new(o, "mean", dash_num(m.mean));
                json_object_set_new(o, "sd", dash_num(m.sd));
                json_object_set_new(o, "ci95", dash_ci(m.ci.lo, m.ci.hi));
            } else {
                json_object_set_new(o, "mean", k == 1 ? dash_num(x[0]) : json_null());
                json_object_set_new(o, "sd", json_null());
                json_object_set_new(o, "ci95", json_null());
            }
            json_array_append_new(out, o);
        }
    }
    free(x);
    return out;
}

/* The mixed model: fitted, its document built and recorded as `attune analyze mixed` does. */
static json_t *dash_mixed(struct dash_oc *oc, json_t *runs, struct err *e)
{
    const struct dash_build *b = oc->b;
    struct cli_data_source src;
    struct cli_mixed_options mo;
    struct cli_mixed_names names = {"participant", "week", b->param, "arm"};
    struct ana_lmm_fit *fit = NULL;
    json_t *opts = NULL, *result = NULL, *versions;
    char run_id[37];
    int rc;

    memset(&src, 0, sizeof src);
    memset(&mo, 0, sizeof mo);
    src.study = b->study;
    src.instrument = b->param;
    mo.random = ANA_LMM_RANDOM_SLOPE;
    mo.method = ANA_LMM_REML;
    mo.time_categorical = 1;
    mo.with_arm = ds_arms_with_scores(oc->d) > 1;
    mo.interaction = mo.with_arm;
    mo.has_pre = mo.has_post = 1;
    mo.pre = oc->pre;
    mo.post = oc->post;
    if ((rc = cli_mixed_fit(oc->d, &mo, &names, &fit, e)) != 0)
        goto out;
    if ((opts = cli_data_options_json(&src)) == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    json_object_update_new(opts, cli_mixed_options_json(&mo));
    if ((rc = cli_mixed_result(fit, oc->d, &mo, &names, opts, &result, e)) != 0)
        goto out;
    versions = json_array();
    for (size_t i = 0; i < oc->d->n_versions; i++)
        json_array_append_new(versions, json_string(oc->d->versions[i]));
    rc = dash_record_run(b->pool, b->study, "mixed", opts, oc->d->fingerprint, versions, result,
                         run_id, e);
    json_decref(versions);
    if (rc != 0)
        goto out;
    json_object_set_new(result, "run_id", json_string(run_id));
    json_array_append_new(runs, json_pack("{s:s, s:s, s:s}", "kind", "mixed", "id", run_id,
                                          "fingerprint", oc->d->fingerprint));
out:
    ana_lmm_fit_free(fit);
    json_decref(opts);
    if (rc != 0) {
        json_decref(result);
        return NULL;
    }
    return result;
}

/* The model-based means and reduction, in the page's shape, from the mixed document. */
static json_t *dash_mixed_summary(json_t *mixed)
{
    json_t *means = json_array(), *m, *x;
    size_t i;

    json_array_foreach(json_object_get(mixed, "means"), i, m)
    {
        x = json_pack("{s:O, s:i, s:O, s:O, s:O, s:O}", "arm", json_object_get(m, "arm"), "week",
                      (int)json_number_value(json_object_get(m, "time")), "estimate",
                      json_object_get(m, "estimate"), "se", json_object_get(m, "se"), "df",
                      json_object_get(m, "df"), "ci95", json_object_get(m, "ci95"));
        if (x != NULL)
            json_array_append_new(means, x);
    }
    return json_pack(
        "{s:o, s:O, s:O, s:O?, s:O?, s:O?, s:O?, s:s}", "means", means, "reduction",
        json_object_get(mixed, "reduction"), "model", json_object_get(mixed, "model"), "converged",
        json_object_get(mixed, "converged"), "n_obs", json_object_get(mixed, "n_obs"), "n_groups",
        json_object_get(mixed, "n_groups"), "run_id", json_object_get(mixed, "run_id"),
        "population",
        "every observed score of every participant with at least one (valid when dropout is "
        "missing at random)");
}

/* Severity bands by arm and week (the engine's stored band of each scored response). */
static json_t *dash_severity(PGconn *conn, const char *study, const char *instrument, struct err *e)
{
    const char *params[2] = {study, instrument};
    PGresult *res = NULL;
    json_t *out;
    int n = db_query(conn, "dash_severity", 2, params, &res, e);

    if (n < 0)
        return NULL;
    out = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(out, json_pack("{s:s, s:i, s:s, s:I}", "arm", PQgetvalue(res, i, 0),
                                             "week", (int)dash_ll(res, i, 1), "band",
                                             PQgetvalue(res, i, 2), "n",
                                             (json_int_t)dash_ll(res, i, 3)));
    PQclear(res);
    return out;
}

/* Pre/post for one population and group (arm index, or -1 for every arm). */
static int dash_group(struct dash_oc *oc, enum ds_population pop, int arm, json_t **out,
                      json_t *jt_points, struct err *e)
{
    struct ds_pairs pairs;
    struct ana_prepost_opts opts;
    struct ana_prepost *r = NULL;
    double *rci = NULL;
    int rc;

    memset(&pairs, 0, sizeof pairs);
    if ((rc = ds_pair(oc->d, oc->pre, oc->post, arm, pop, &pairs, e)) != 0)
        return rc;
    if (pairs.n < 2) {
        *out = json_pack("{s:I, s:s}", "n", (json_int_t)pairs.n, "unavailable",
                         "fewer than 2 participants with both scores");
        ds_pairs_free(&pairs);
        return 0;
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        ds_pairs_free(&pairs);
        return err_set(e, DASH_EINIT, "out of memory");
    }
    ana_prepost_opts_init(&opts);
    if ((rc = ana_prepost_run(pairs.pre, pairs.post, pairs.n, &opts, &oc->facts, r, e)) != 0)
        goto out;
    *out = dash_prepost_json(r, &oc->facts, &pairs, pop);
    /* Each completer's point of the Jacobson–Truax plot (researchers). */
    if (jt_points != NULL && r->status[ANA_PP_RELIABLE_CHANGE] == 0 &&
        (rci = malloc(pairs.n * sizeof *rci)) != NULL) {
        struct ana_rci c;
        size_t count[4] = {0, 0, 0, 0};
        json_t *pts = json_array();
        struct err e2;
        err_clear(&e2);
        if (ana_reliable_change(pairs.pre, pairs.post, pairs.n, &r->summary, &oc->facts, &c, rci,
                                &e2) == 0) {
            for (size_t i = 0; i < pairs.n; i++) {
                const char *cat =
                    dash_jt_category(&oc->facts, &c, pairs.pre[i], pairs.post[i], rci[i]);
                count[cat[0] == 'r' ? 0 : cat[0] == 'i' ? 1 : cat[0] == 'u' ? 2 : 3]++;
                if (!dash_sample_keep(i, pairs.n, DASH_POINTS_PER_ARM))
                    continue;
                json_array_append_new(
                    pts,
                    json_pack("{s:s, s:s, s:f, s:f, s:f, s:s}", "code",
                              oc->d->subjects[pairs.subject[i]], "arm",
                              pairs.arm[i] >= 0 ? oc->d->arms[pairs.arm[i]] : "all", "pre",
                              pairs.pre[i], "post", pairs.post[i], "rci", rci[i], "category", cat));
            }
            /* The categories must be the library's, or none are shown. */
            if (count[0] == c.recovered && count[1] == c.improved_only && count[2] == c.unchanged &&
                count[3] == c.deteriorated)
                json_array_extend(jt_points, pts);
        }
        json_decref(pts);
    }
    rc = 0;
out:
    free(rci);
    free(r);
    ds_pairs_free(&pairs);
    return rc;
}

/* A sample of individual trajectories per arm: all when few, else a fixed spread. */
static json_t *dash_trajectories(const struct ds_long *d, size_t *shown)
{
    json_t *out = json_array();
    size_t *count = calloc(d->n_arms ? d->n_arms : 1, sizeof *count);
    size_t *per_arm = calloc(d->n_arms ? d->n_arms : 1, sizeof *per_arm);
    json_t **by_subject = calloc(d->n_subjects ? d->n_subjects : 1, sizeof *by_subject);

    *shown = 0;
    if (count == NULL || per_arm == NULL || by_subject == NULL)
        goto out;
    for (size_t s = 0; s < d->n_subjects; s++)
        per_arm[d->subject_arm[s] >= 0 ? (size_t)d->subject_arm[s] : 0]++;
    for (size_t s = 0; s < d->n_subjects; s++) {
        size_t a = d->subject_arm[s] >= 0 ? (size_t)d->subject_arm[s] : 0;
        /* An even spread of the arm's participants in enrolment order. */
        if (!dash_sample_keep(count[a]++, per_arm[a], DASH_TRAJECTORIES_PER_ARM))
            continue;
        by_subject[s] = json_pack("{s:s, s:s, s:[]}", "code", d->subjects[s], "arm",
                                  d->n_arms ? d->arms[a] : "all", "points");
    }
    for (size_t i = 0; i < d->n; i++)
        if (by_subject[d->subject[i]] != NULL)
            json_array_append_new(json_object_get(by_subject[d->subject[i]], "points"),
                                  json_pack("[f, f]", d->time[i], d->score[i]));
    for (size_t s = 0; s < d->n_subjects; s++)
        if (by_subject[s] != NULL) {
            if (json_array_size(json_object_get(by_subject[s], "points")) > 0) {
                json_array_append(out, by_subject[s]);
                (*shown)++;
            }
            json_decref(by_subject[s]);
        }
out:
    free(count);
    free(per_arm);
    free(by_subject);
    return out;
}

static int dash_outcomes_build(const struct dash_build *b, struct dash_built *out, struct err *e)
{
    static const enum ds_population pops[] = {DS_COMPLETERS, DS_BOCF, DS_LOCF};
    struct dash_oc oc;
    PGconn *conn = NULL;
    json_t *doc = NULL, *priv = NULL, *runs = json_array(), *groups = json_array();
    json_t *jt = json_array(), *mixed = NULL, *severity = NULL, *claims = json_array(), *w;
    json_t *versions = json_array(), *options = NULL;
    char run_id[37];
    size_t shown = 0;
    int rc;

    memset(&oc, 0, sizeof oc);
    oc.b = b;
    if ((conn = db_pool_acquire(b->pool, 5000, e)) == NULL) {
        rc = e->code;
        goto out;
    }
    if ((rc = dash_instrument_json(b->app, conn, b->study, b->param, &oc.inst, e)) != 0 ||
        (rc = ds_load_study(conn, b->study, b->param, &oc.d, e)) != 0)
        goto out;
    if ((severity = dash_severity(conn, b->study, b->param, e)) == NULL) {
        rc = e->code ? e->code : DASH_EINIT;
        goto out;
    }
    db_pool_release(b->pool, conn);
    conn = NULL;
    w = json_object_get(oc.inst, "weeks");
    if (json_array_size(w) < 2) {
        rc = err_set(e, DASH_EDATA, "\"%s\" is scheduled at fewer than two weeks", b->param);
        goto out;
    }
    oc.pre = (double)json_integer_value(json_array_get(w, 0));
    oc.post = (double)json_integer_value(json_array_get(w, json_array_size(w) - 1));
    cli_facts_for_instrument(b->cfg, b->param, &oc.facts, &oc.facts_source);

    /* Pre/post: each population, each arm and every arm together. */
    for (size_t p = 0; p < sizeof pops / sizeof pops[0]; p++) {
        for (int a = 0; a <= (int)oc.d->n_arms; a++) {
            int arm = a < (int)oc.d->n_arms ? a : -1;
            json_t *g = NULL;
            if (oc.d->n_arms == 0 && arm >= 0)
                continue;
            /* Jacobson–Truax points: each completer once, from their own arm's group. */
            json_t *jt_for =
                pops[p] == DS_COMPLETERS && (arm >= 0 || oc.d->n_arms == 0) ? jt : NULL;
            if ((rc = dash_group(&oc, pops[p], arm, &g, jt_for, e)) != 0)
                goto out;
            json_object_set_new(g, "arm", json_string(arm >= 0 ? oc.d->arms[arm] : "all"));
            json_object_set_new(g, "population_name", json_string(ds_population_name(pops[p])));
            json_array_append_new(groups, g);
        }
    }

    /* The mixed model (its failure is shown, not fatal: the rest still stands). */
    {
        struct err me;
        err_clear(&me);
        mixed = dash_mixed(&oc, runs, &me);
        if (mixed == NULL)
            mixed = json_pack("{s:s}", "unavailable", me.message);
    }

    /* The claim table: the reduction every defensible way, with its n. */
    {
        size_t i;
        json_t *g, *red;
        json_array_foreach(groups, i, g)
        {
            json_t *pct = json_object_get(g, "pct_reduction_group_means");
            json_array_append_new(
                claims,
                json_pack("{s:O, s:O, s:s, s:O, s:o, s:o, s:s?}", "arm", json_object_get(g, "arm"),
                          "population", json_object_get(g, "population_name"), "definition",
                          "reduction of group means, 100 (mean_pre - mean_post) / mean_pre", "n",
                          json_object_get(g, "n"), "value",
                          pct ? json_incref(json_object_get(pct, "value")) : json_null(), "ci95",
                          pct ? json_incref(json_object_get(pct, "ci95")) : json_null(),
                          "ci_method", pct ? "bootstrap percentile" : NULL));
        }
        unsigned char *scored = calloc(oc.d->n_subjects ? oc.d->n_subjects : 1, 1);
        if (scored == NULL) {
            rc = err_set(e, DASH_EINIT, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < oc.d->n; k++)
            scored[oc.d->subject[k]] = 1;
        json_array_foreach(json_object_get(mixed, "reduction"), i, red)
        {
            json_t *pc = json_object_get(red, "percent");
            json_t *arm = json_object_get(red, "arm");
            json_int_t n = 0;
            /* The model's participants in this arm: those with any score. */
            for (size_t s = 0; s < oc.d->n_subjects; s++)
                if (scored[s] && (!json_is_string(arm) || (oc.d->subject_arm[s] >= 0 &&
                                                           strcmp(oc.d->arms[oc.d->subject_arm[s]],
                                                                  json_string_value(arm)) == 0)))
                    n++;
            json_array_append_new(
                claims, json_pack("{s:O, s:s, s:s, s:I, s:O?, s:O?, s:s}", "arm", arm, "population",
                                  "mixed model", "definition",
                                  "model-based reduction of means, 100 (mean_pre - mean_post) / "
                                  "mean_pre",
                                  "n", n, "value", json_object_get(pc, "estimate"), "ci95",
                                  json_object_get(pc, "ci95"), "ci_method", "delta method"));
        }
        free(scored);
    }

    for (size_t i = 0; i < oc.d->n_versions; i++)
        json_array_append_new(versions, json_string(oc.d->versions[i]));
    doc = json_pack("{s:s, s:O, s:f, s:f, s:s?, s:o, s:o, s:o, s:o, s:o, s:{s:s, s:I, s:I, s:I}}",
                    "study", b->study, "instrument", oc.inst, "pre", oc.pre, "post", oc.post,
                    "facts_source", oc.facts_source, "observed", dash_observed(&oc), "model",
                    dash_mixed_summary(mixed), "severity", severity, "prepost", groups, "claims",
                    claims, "input", "fingerprint", oc.d->fingerprint, "participants",
                    (json_int_t)oc.d->n_subjects, "scores", (json_int_t)oc.d->n, "missing_scores",
                    (json_int_t)oc.d->n_missing);
    severity = groups = claims = NULL;
    if (doc == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    /* The Jacobson–Truax geometry and counts for everyone; the points for researchers. */
    json_object_set_new(doc, "jacobson_truax",
                        json_pack("{s:s, s:I}", "population", "completers", "points",
                                  (json_int_t)json_array_size(jt)));
    options =
        json_pack("{s:s, s:s, s:s, s:f, s:f, s:[sss], s:{s:i, s:i}, s:s}", "source", "dashboard",
                  "page", "outcomes", "instrument", b->param, "pre", oc.pre, "post", oc.post,
                  "populations", "completers", "bocf", "locf", "bootstrap", "resamples", 2000,
                  "seed", 1, "mixed", "attune analyze mixed --time-categorical --interaction");
    if ((rc = dash_record_run(b->pool, b->study, "dashboard.outcomes", options, oc.d->fingerprint,
                              versions, doc, run_id, e)) != 0)
        goto out;
    json_array_insert_new(runs, 0,
                          json_pack("{s:s, s:s, s:s}", "kind", "dashboard.outcomes", "id", run_id,
                                    "fingerprint", oc.d->fingerprint));
    json_object_set_new(doc, "runs", json_incref(runs));
    json_object_set_new(doc, "instrument_versions", json_incref(versions));
    priv = json_pack("{s:s, s:O, s:o, s:o, s:O}", "study", b->study, "instrument", oc.inst,
                     "trajectories", dash_trajectories(oc.d, &shown), "jacobson_truax", jt, "runs",
                     runs);
    jt = NULL;
    if (priv == NULL) {
        rc = err_set(e, DASH_EINIT, "out of memory");
        goto out;
    }
    json_object_set_new(priv, "trajectories_shown", json_integer((json_int_t)shown));
    json_object_set_new(priv, "jacobson_truax_rule",
                        json_sprintf("every completer when an arm has at most %d, else %d of the "
                                     "arm's spread evenly in enrolment order; the categories in "
                                     "the public document count everyone",
                                     DASH_POINTS_PER_ARM, DASH_POINTS_PER_ARM));
    json_object_set_new(priv, "trajectories_rule",
                        json_sprintf("all participants when an arm has at most %d, else every "
                                     "k-th in enrolment order, %d per arm",
                                     DASH_TRAJECTORIES_PER_ARM, DASH_TRAJECTORIES_PER_ARM));
    out->public_doc = doc;
    out->private_doc = priv;
    doc = priv = NULL;
    rc = 0;
out:
    if (conn != NULL)
        db_pool_release(b->pool, conn);
    ds_long_free(oc.d);
    json_decref(oc.inst);
    json_decref(doc);
    json_decref(priv);
    json_decref(runs);
    json_decref(groups);
    json_decref(jt);
    json_decref(mixed);
    json_decref(severity);
    json_decref(claims);
    json_decref(versions);
    json_decref(options);
    return rc;
}

const struct dash_doc_kind dash_doc_outcomes = {"outcomes", 1, 600, dash_outcomes_build};

void dash_api_outcomes(struct http_request *req, struct http_reply *rep)
{
    dash_reply_doc(req, rep, &dash_doc_outcomes, http_query(req, "instrument"), DASH_PUBLIC);
}

void dash_api_outcomes_individual(struct http_request *req, struct http_reply *rep)
{
    dash_reply_private_doc(req, rep, &dash_doc_outcomes, http_query(req, "instrument"));
}
