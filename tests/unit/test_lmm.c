/*
 * test_lmm.c — linear mixed models (analysis/ana_lmm.c) against R.
 *
 * 1. Every model in tests/fixtures/mixed/lmm_reference.json (lme4 fits
 *    refitted to the optimum with tight bobyqa, lmerTest's Satterthwaite df,
 *    emmeans means, car's delta method; made by compute_mixed.R from
 *    sleepstudy and HSAUR3's Beat the Blues trial): fixed effects, SEs, df,
 *    t, p, variance components, logLik, AIC, BIC, REML criterion or
 *    deviance, means by time and reductions.
 * 2. The team's sleepstudy.json (lme4's default fits, as users run them):
 *    the tolerances of issue 6, and how far lme4's default optimiser stops
 *    from the optimum.
 * 3. Every refusal: one participant, one observation each with a slope, a
 *    score that does not vary, collinear fixed effects, an exact fit, an
 *    unknown reference arm, an interaction without arm, one arm only.
 * 4. Invariants of the block computation: the row order and participants
 *    without observations change nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <jansson.h>

#include "ana_lmm.h"
#include "ana_lmm_int.h"
#include "ds.h"
#include "tap.h"

#define FIXTURES ATTUNE_SOURCE_ROOT "/tests/fixtures"

/* Relative tolerance even below 1 (for p-values, correlations). */
#define is_rel(got, want, tol, ...)                                                                \
    do {                                                                                           \
        double rg_ = (got), rw_ = (want);                                                          \
        int rp_ = (isnan(rg_) && isnan(rw_)) || fabs(rg_ - rw_) <= (tol)*fabs(rw_);                \
        if (!tap_ok(rp_, __FILE__, __LINE__, __VA_ARGS__))                                         \
            printf("#   got %.17g, want %.17g (relative tolerance %g)\n", rg_, rw_,                \
                   (double)(tol));                                                                 \
    } while (0)

/*
 * Satterthwaite df rest on numerical second derivatives of the deviance, in
 * lmerTest as here, with a step of 10% of each parameter: for a θ near zero
 * (a small slope–intercept covariance) the step is tiny and rounding noise
 * in the deviance (~1e-13 relative) reaches the df at ~1e-5. Agreement
 * with lmerTest is therefore checked to 1e-4, and p-values, which follow
 * the df, to 1e-3 relative (or 1e-12 absolute).
 */
#define DF_TOL 1e-4

#define is_p(got, want, ...)                                                                       \
    do {                                                                                           \
        double pg_ = (got), pw_ = (want);                                                          \
        int pp_ = fabs(pg_ - pw_) <= fmax(1e-3 * fabs(pw_), 1e-12);                                \
        if (!tap_ok(pp_, __FILE__, __LINE__, __VA_ARGS__))                                         \
            printf("#   got %.17g, want %.17g\n", pg_, pw_);                                       \
    } while (0)

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double num_at(const json_t *a, size_t i)
{
    const json_t *v = json_array_get(a, i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Largest relative differences seen, per quantity, printed at the end. */
struct maxerr {
    const char *what;
    double rel;
};
static struct maxerr worst[] = {
    {"fixed estimate", 0}, {"fixed se", 0},         {"fixed df", 0},   {"fixed p", 0},
    {"loglik/aic/bic", 0}, {"random sd", 0},        {"corr (abs)", 0}, {"mean estimate", 0},
    {"mean se", 0},        {"mean df", 0},          {"mean ci", 0},    {"reduction points", 0},
    {"reduction pct", 0},  {"reduction pct se", 0},
};

static double track(int i, double got, double want)
{
    double r = i == 6 ? fabs(got - want) : fabs(got - want) / fmax(fabs(want), 1e-300);
    if (isnan(got) != isnan(want))
        r = INFINITY;
    else if (isnan(got))
        r = 0.0;
    if (r > worst[i].rel)
        worst[i].rel = r;
    return r;
}

/* The btheb covariate: 1 when the patient took anti-depressants. */
static double *drug_covariate(const char *path, const struct ds_long *d)
{
    char line[256], **ids = NULL;
    double *cov = malloc(d->n * sizeof *cov), *per = calloc(d->n_subjects, sizeof *per);
    FILE *f = fopen(path, "r");

    (void)ids;
    if (cov == NULL || per == NULL || f == NULL)
        goto out;
    while (fgets(line, sizeof line, f) != NULL) {
        char *subj = line, *c1 = strchr(line, ','), *c2;
        if (c1 == NULL || (c2 = strchr(c1 + 1, ',')) == NULL)
            continue;
        *c1 = '\0';
        for (size_t s = 0; s < d->n_subjects; s++)
            if (strcmp(d->subjects[s], subj) == 0)
                per[s] = strncmp(c2 + 1, "Yes,", 4) == 0;
    }
    for (size_t o = 0; o < d->n; o++)
        cov[o] = per[d->subject[o]];
out:
    if (f != NULL)
        fclose(f);
    free(per);
    return cov;
}

/* Fits one model of the fixture file and compares it with R's tight fit. */
static void check_model(const char *id, const json_t *m)
{
    const json_t *s = json_object_get(m, "spec"), *r = json_object_get(m, "tight");
    const json_t *fixed = json_object_get(r, "fixed"), *rnd = json_object_get(r, "random");
    char path[512];
    struct ds_csv_columns cols = {str(s, "idcol"), str(s, "time"), str(s, "score"), str(s, "arm")};
    struct ds_long *d = NULL;
    struct ana_lmm_fit *f = NULL;
    struct ana_lmm_covariate cov = {"drug_yes", NULL};
    double *cov_values = NULL;
    struct err e;
    int slope = strcmp(str(s, "random"), "slope") == 0;
    size_t i;
    const char *key;
    const json_t *v;

    err_clear(&e);
    snprintf(path, sizeof path, FIXTURES "/mixed/%s", str(s, "file"));
    if (!ok(ds_load_csv(path, &cols, &d, &e) == 0, "%s: data load: %s", id, e.message))
        return;
    struct ana_lmm_data data = {
        .n = d->n,
        .group = d->subject,
        .time = d->time,
        .y = d->score,
        .n_groups = d->n_subjects,
        .group_arm = cols.arm ? d->subject_arm : NULL,
        .n_arms = d->n_arms,
        .arms = (const char *const *)d->arms,
        .time_name = cols.time,
        .arm_name = cols.arm,
    };
    struct ana_lmm_spec spec = {
        .random = slope ? ANA_LMM_RANDOM_SLOPE : ANA_LMM_RANDOM_INTERCEPT,
        .method = strcmp(str(s, "method"), "ml") == 0 ? ANA_LMM_ML : ANA_LMM_REML,
        .time_categorical = json_is_true(json_object_get(s, "time_categorical")),
        .interaction = json_is_true(json_object_get(s, "interaction")),
        .arm_ref = str(s, "arm_ref"),
    };
    if (str(s, "covariate") != NULL) {
        cov_values = drug_covariate(path, d);
        cov.value = cov_values;
        data.n_covariates = 1;
        data.covariates = &cov;
    }
    if (!ok(ana_lmm_fit(&data, &spec, &f, &e) == 0, "%s: fits: %s", id, e.message))
        goto out;
    ok(f->converged, "%s: converged", id);
    printf("# %s: theta %.17g %.17g %.17g, %u deviance evaluations\n", id, f->theta[0], f->theta[1],
           f->theta[2], f->n_evaluations);
    is_int(f->n_obs, (long long)num(r, "n_obs"), "%s: n_obs", id);
    is_int(f->n_groups, (long long)num(r, "n_groups"), "%s: n_groups", id);
    is_int(f->p, json_object_size(fixed), "%s: number of fixed effects", id);
    i = 0;
    json_object_foreach((json_t *)fixed, key, v)
    {
        const struct ana_lmm_coef *c = &f->fixed[i];
        if (i >= f->p)
            break;
        is_str(f->names[i], key, "%s: term %zu is named as R names it", id, i);
        track(0, c->estimate, num(v, "estimate"));
        track(1, c->se, num(v, "se"));
        track(2, c->df, num(v, "df"));
        track(3, c->p, num(v, "p"));
        is_double(c->estimate, num(v, "estimate"), 1e-6, "%s: %s estimate", id, key);
        is_rel(c->se, num(v, "se"), 1e-6, "%s: %s SE", id, key);
        is_rel(c->df, num(v, "df"), DF_TOL, "%s: %s Satterthwaite df", id, key);
        is_rel(c->t, num(v, "t"), 1e-6, "%s: %s t", id, key);
        is_p(c->p, num(v, "p"), "%s: %s p", id, key);
        i++;
    }
    track(4, f->loglik, num(r, "loglik"));
    track(4, f->aic, num(r, "aic"));
    track(4, f->bic, num(r, "bic"));
    is_rel(f->loglik, num(r, "loglik"), 1e-9, "%s: logLik", id);
    is_rel(f->aic, num(r, "aic"), 1e-9, "%s: AIC", id);
    is_rel(f->bic, num(r, "bic"), 1e-9, "%s: BIC", id);
    if (spec.method == ANA_LMM_REML) {
        is_rel(f->reml_criterion, num(r, "reml_criterion"), 1e-9, "%s: REML criterion", id);
        ok(isnan(f->deviance), "%s: no ML deviance for a REML fit", id);
    } else {
        is_rel(f->deviance, num(r, "deviance"), 1e-9, "%s: deviance", id);
        ok(isnan(f->reml_criterion), "%s: no REML criterion for an ML fit", id);
    }
    track(5, f->sd_intercept, num(rnd, "sd_intercept"));
    track(5, f->sd_residual, num(rnd, "sd_residual"));
    is_rel(f->sd_intercept, num(rnd, "sd_intercept"), 1e-5, "%s: SD of intercepts", id);
    is_rel(f->sd_residual, num(rnd, "sd_residual"), 1e-6, "%s: residual SD", id);
    if (slope) {
        track(5, f->sd_slope, num(rnd, "sd_slope"));
        track(6, f->corr, num(rnd, "corr"));
        is_rel(f->sd_slope, num(rnd, "sd_slope"), 1e-5, "%s: SD of slopes", id);
        is_double(f->corr, num(rnd, "corr"), 1e-5, "%s: correlation", id);
    } else {
        ok(isnan(f->sd_slope) && isnan(f->corr), "%s: no slope SD or correlation", id);
    }
    is_int(f->singular, json_is_true(json_object_get(r, "singular")), "%s: singular", id);

    json_array_foreach(json_object_get(r, "means"), i, v)
    {
        struct ana_lmm_estimate est;
        const char *arm = str(v, "arm");
        int a = arm ? ds_arm_index(d, arm) : -1;
        const json_t *ci = json_object_get(v, "ci95");
        if (!ok(ana_lmm_mean(f, num(v, "time"), a, &est, &e) == 0, "%s: mean %zu: %s", id, i,
                e.message))
            continue;
        track(7, est.estimate, num(v, "estimate"));
        track(8, est.se, num(v, "se"));
        track(9, est.df, num(v, "df"));
        track(10, est.ci95[0], num_at(ci, 0));
        track(10, est.ci95[1], num_at(ci, 1));
        is_double(est.estimate, num(v, "estimate"), 1e-6, "%s: mean at %g %s", id, num(v, "time"),
                  arm ? arm : "");
        is_rel(est.se, num(v, "se"), 1e-6, "%s: SE of mean at %g %s", id, num(v, "time"),
               arm ? arm : "");
        is_rel(est.df, num(v, "df"), DF_TOL, "%s: df of mean at %g %s", id, num(v, "time"),
               arm ? arm : "");
        is_double(est.ci95[0], num_at(ci, 0), 1e-6, "%s: CI low of mean at %g", id, num(v, "time"));
        is_double(est.ci95[1], num_at(ci, 1), 1e-6, "%s: CI high of mean at %g", id,
                  num(v, "time"));
    }
    json_array_foreach(json_object_get(r, "reductions"), i, v)
    {
        struct ana_lmm_reduction red;
        const char *arm = str(v, "arm");
        const json_t *pt = json_object_get(v, "points"), *pc = json_object_get(v, "percent");
        int a = arm ? ds_arm_index(d, arm) : -1;
        if (!ok(ana_lmm_reduction(f, num(v, "pre"), num(v, "post"), a, &red, &e) == 0,
                "%s: reduction: %s", id, e.message))
            continue;
        track(11, red.points.estimate, num(pt, "estimate"));
        track(11, red.points.se, num(pt, "se"));
        track(12, red.percent, num(pc, "estimate"));
        track(13, red.percent_se, num(pc, "se"));
        is_double(red.points.estimate, num(pt, "estimate"), 1e-6, "%s: reduction %s points", id,
                  arm ? arm : "");
        is_rel(red.points.se, num(pt, "se"), 1e-6, "%s: reduction %s SE", id, arm ? arm : "");
        is_rel(red.points.df, num(pt, "df"), DF_TOL, "%s: reduction %s df", id, arm ? arm : "");
        is_double(red.points.ci95[0], num_at(json_object_get(pt, "ci95"), 0), 1e-6,
                  "%s: reduction %s CI low", id, arm ? arm : "");
        is_double(red.points.ci95[1], num_at(json_object_get(pt, "ci95"), 1), 1e-6,
                  "%s: reduction %s CI high", id, arm ? arm : "");
        ok(red.has_percent, "%s: reduction %s has a percentage", id, arm ? arm : "");
        is_double(red.percent, num(pc, "estimate"), 1e-6, "%s: reduction %s percent", id,
                  arm ? arm : "");
        is_rel(red.percent_se, num(pc, "se"), 1e-6, "%s: reduction %s percent SE", id,
               arm ? arm : "");
        is_double(red.percent_ci95[0], num_at(json_object_get(pc, "ci95"), 0), 1e-6,
                  "%s: reduction %s percent CI low", id, arm ? arm : "");
        is_double(red.percent_ci95[1], num_at(json_object_get(pc, "ci95"), 1), 1e-6,
                  "%s: reduction %s percent CI high", id, arm ? arm : "");
    }
out:
    ana_lmm_fit_free(f);
    ds_long_free(d);
    free(cov_values);
}

static void test_reference(void)
{
    json_error_t je;
    json_t *root = json_load_file(FIXTURES "/mixed/lmm_reference.json", 0, &je);
    const char *id;
    json_t *m;

    if (!ok(root != NULL, "lmm_reference.json loads: %s", je.text))
        return;
    json_object_foreach(json_object_get(root, "models"), id, m) check_model(id, m);
    json_decref(root);
    for (size_t i = 0; i < sizeof worst / sizeof worst[0]; i++)
        printf("# largest %s error against lme4 (tight): %.3g%s\n", worst[i].what, worst[i].rel,
               i == 6 ? "" : " relative");
}

/* Fits sleepstudy (from the team's reference data) as the given spec; NULL on failure. */
static struct ana_lmm_fit *fit_sleepstudy(enum ana_lmm_random random, enum ana_lmm_method method,
                                          struct ds_long **dout)
{
    static const struct ds_csv_columns cols = {"Subject", "Days", "Reaction", NULL};
    struct ds_long *d = NULL;
    struct ana_lmm_fit *f = NULL;
    struct err e;

    err_clear(&e);
    if (ds_load_csv(FIXTURES "/reference/sleepstudy.csv", &cols, &d, &e) != 0) {
        ok(0, "sleepstudy.csv loads: %s", e.message);
        return NULL;
    }
    struct ana_lmm_data data = {.n = d->n,
                                .group = d->subject,
                                .time = d->time,
                                .y = d->score,
                                .n_groups = d->n_subjects,
                                .time_name = "Days"};
    struct ana_lmm_spec spec = {.random = random, .method = method};
    if (ana_lmm_fit(&data, &spec, &f, &e) != 0)
        ok(0, "sleepstudy fits: %s", e.message);
    if (dout != NULL)
        *dout = d;
    else
        ds_long_free(d);
    return f;
}

/*
 * The team's sleepstudy.json: lme4's default fits, as a user gets them, with
 * issue 6's tolerances (fixed effects, SEs, logLik, AIC, BIC 1e-6 relative;
 * random-slope variance components 1e-3 absolute). lme4's default optimiser
 * stops short of the optimum of the random-slope fits (its own tight refit,
 * also in the file, moves the SEs by up to 2.3e-5 relative): there the SEs
 * are held to 1e-6 against the tight refit and to 3e-5 against the default.
 */
static void test_sleepstudy_json(void)
{
    static const struct {
        const char *model, *method;
        enum ana_lmm_random random;
        enum ana_lmm_method m;
    } fits[] = {
        {"random_slope", "REML", ANA_LMM_RANDOM_SLOPE, ANA_LMM_REML},
        {"random_slope", "ML", ANA_LMM_RANDOM_SLOPE, ANA_LMM_ML},
        {"random_intercept", "REML", ANA_LMM_RANDOM_INTERCEPT, ANA_LMM_REML},
        {"random_intercept", "ML", ANA_LMM_RANDOM_INTERCEPT, ANA_LMM_ML},
    };
    static const char *terms[] = {"(Intercept)", "Days"};
    json_error_t je;
    json_t *root = json_load_file(FIXTURES "/reference/sleepstudy.json", 0, &je);

    if (!ok(root != NULL, "sleepstudy.json loads: %s", je.text))
        return;
    for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
        const json_t *m = json_object_get(
            json_object_get(json_object_get(json_object_get(root, "mixed_models"), fits[i].model),
                            fits[i].method),
            "lme4");
        const json_t *tight = json_object_get(
            json_object_get(json_object_get(json_object_get(root, "mixed_models"), fits[i].model),
                            fits[i].method),
            "lme4_tight_bobyqa");
        const json_t *vc = json_object_get(m, "varcorr_table");
        const char *name = fits[i].model;
        const char *meth = fits[i].method;
        int slope = fits[i].random == ANA_LMM_RANDOM_SLOPE;
        struct ana_lmm_fit *f = fit_sleepstudy(fits[i].random, fits[i].m, NULL);
        if (f == NULL)
            continue;
        for (size_t t = 0; t < 2; t++) {
            const char *term = terms[t];
            double se = f->fixed[t].se;
            ok(strcmp(f->names[t], terms[t]) == 0, "%s %s: term %s", name, meth, f->names[t]);
            is_rel(f->fixed[t].estimate, num(json_object_get(m, "fixed_effects"), term), 1e-6,
                   "%s %s: %s estimate (lme4 default)", name, meth, term);
            is_rel(se, num(json_object_get(m, "fixed_effects_se"), term), slope ? 3e-5 : 1e-6,
                   "%s %s: %s SE (lme4 default)", name, meth, term);
            is_rel(se, num(json_object_get(tight, "fixed_effects_se"), term), 1e-6,
                   "%s %s: %s SE (lme4 tight)", name, meth, term);
            is_rel(f->fixed[t].df,
                   num(json_object_get(json_object_get(m, "satterthwaite_lmerTest"), "df"), term),
                   DF_TOL, "%s %s: %s Satterthwaite df (lmerTest)", name, meth, term);
            is_p(f->fixed[t].p,
                 num(json_object_get(json_object_get(m, "satterthwaite_lmerTest"), "p"), term),
                 "%s %s: %s p (lmerTest)", name, meth, term);
        }
        is_rel(f->loglik, num(m, "logLik"), 1e-6, "%s %s: logLik", name, meth);
        is_rel(f->aic, num(m, "AIC"), 1e-6, "%s %s: AIC", name, meth);
        is_rel(f->bic, num(m, "BIC"), 1e-6, "%s %s: BIC", name, meth);
        if (fits[i].m == ANA_LMM_REML)
            is_rel(f->reml_criterion, num(m, "REML_criterion"), 1e-6, "%s %s: REML criterion", name,
                   meth);
        else
            is_rel(f->deviance, num(m, "deviance_ML"), 1e-6, "%s %s: deviance", name, meth);
        is_int(f->n_obs, 180, "%s %s: n_obs", name, meth);
        is_int(f->n_groups, 18, "%s %s: n_groups", name, meth);
        is_int(f->n_params, (long long)num(m, "logLik_df"), "%s %s: parameters counted as lme4",
               name, meth);
        if (slope) {
            /* lme4's VarCorr: variances and covariance, then SDs and correlation */
            const double vcov[3] = {f->sd_intercept * f->sd_intercept, f->sd_slope * f->sd_slope,
                                    f->corr * f->sd_intercept * f->sd_slope};
            const json_t *tvc = json_object_get(tight, "varcorr_table");
            for (size_t k = 0; k < 3; k++) {
                is_rel(vcov[k], num(json_array_get(vc, k), "vcov"), 1e-4,
                       "%s %s: variance component %zu (lme4 default)", name, meth, k);
                is_rel(vcov[k], num(json_array_get(tvc, k), "vcov"), 1e-5,
                       "%s %s: variance component %zu (lme4 tight)", name, meth, k);
            }
            ok(fabs(f->sd_intercept - num(json_array_get(vc, 0), "sdcor")) <= 1e-3,
               "%s %s: SD of intercepts within 1e-3", name, meth);
            ok(fabs(f->sd_slope - num(json_array_get(vc, 1), "sdcor")) <= 1e-3,
               "%s %s: SD of slopes within 1e-3", name, meth);
            ok(fabs(f->corr - num(json_array_get(vc, 2), "sdcor")) <= 1e-3,
               "%s %s: correlation within 1e-3", name, meth);
            ok(fabs(f->sd_residual - num(json_array_get(vc, 3), "sdcor")) <= 1e-3,
               "%s %s: residual SD within 1e-3", name, meth);
        } else {
            is_rel(f->sd_intercept, num(json_array_get(vc, 0), "sdcor"), 1e-6,
                   "%s %s: SD of intercepts", name, meth);
            is_rel(f->sd_residual, num(json_array_get(vc, 1), "sdcor"), 1e-6, "%s %s: residual SD",
                   name, meth);
        }
        ana_lmm_fit_free(f);
    }
    json_decref(root);
}

/* ------------------------------------------------ small synthetic data */

/* A small unbalanced trial: J participants, two arms, uneven weeks, a covariate. */
struct toy {
    size_t n, J;
    uint32_t group[64];
    double time[64], y[64], cov[64];
    int32_t arm[16];
};

static void toy_make(struct toy *t, unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    static const size_t counts[] = {5, 3, 4, 2, 5, 4, 3, 5, 2, 4};

    gsl_rng_set(r, seed);
    t->J = 10;
    t->n = 0;
    for (size_t g = 0; g < t->J; g++) {
        double u0 = gsl_ran_gaussian(r, 3.0), u1 = gsl_ran_gaussian(r, 0.6);
        t->arm[g] = (int32_t)(g % 2);
        for (size_t k = 0; k < counts[g]; k++) {
            double w = (double)(k * 2 + (g % 3 == 0 ? 1 : 0));
            t->group[t->n] = (uint32_t)g;
            t->time[t->n] = w;
            t->cov[t->n] = gsl_ran_gaussian(r, 1.0);
            t->y[t->n] = 14.0 + u0 + (-0.8 + u1 - 0.3 * t->arm[g]) * w + 0.5 * t->cov[t->n] +
                         gsl_ran_gaussian(r, 1.5);
            t->n++;
        }
    }
    gsl_rng_free(r);
}

static const char *const toy_arms[] = {"control", "app"};

static struct ana_lmm_data toy_data(const struct toy *t, const struct ana_lmm_covariate *cov)
{
    struct ana_lmm_data d = {.n = t->n,
                             .group = t->group,
                             .time = t->time,
                             .y = t->y,
                             .n_groups = t->J,
                             .group_arm = t->arm,
                             .n_arms = 2,
                             .arms = toy_arms,
                             .n_covariates = cov ? 1 : 0,
                             .covariates = cov,
                             .time_name = "week",
                             .arm_name = "arm"};
    return d;
}

/* log det and inverse of a dense symmetric positive definite matrix (in place → inverse). */
static double dense_logdet_inv(gsl_matrix *a)
{
    double ld = 0.0;

    if (gsl_linalg_cholesky_decomp1(a) != GSL_SUCCESS)
        return NAN;
    for (size_t i = 0; i < a->size1; i++)
        ld += 2.0 * log(gsl_matrix_get(a, i, i));
    gsl_linalg_cholesky_invert(a);
    return ld;
}

/*
 * The profiled REML criterion and GLS estimates computed densely, from
 * A = I + ZΛΛᵀZᵀ (n×n): the formulas of Bates et al. (2015) without any
 * block structure, to check the block evaluation and its optimum.
 */
static double dense_reml(const struct toy *t, const struct ana_lmm_fit *f, const double *theta,
                         double *beta_out, double *vcov_out)
{
    const size_t n = t->n, p = f->p;
    gsl_matrix *A = gsl_matrix_calloc(n, n), *X = gsl_matrix_calloc(n, p);
    gsl_matrix *AX = gsl_matrix_calloc(n, p), *XAX = gsl_matrix_calloc(p, p);
    gsl_vector *y = gsl_vector_alloc(n), *Ay = gsl_vector_alloc(n), *b = gsl_vector_alloc(p);
    gsl_vector *xay = gsl_vector_alloc(p), *res = gsl_vector_alloc(n), *Ares = gsl_vector_alloc(n);
    double T[2][2] = {{theta[0], 0.0}, {theta[1], theta[2]}}, ldA, ldX, r2, dev;
    struct err e;

    for (size_t i = 0; i < n; i++) {
        double zi[2] = {1.0, t->time[i]}, row[ANA_LMM_MAX_FIXED];
        ana_lmm_design_row(f, t->time[i], t->arm[t->group[i]], &t->cov[i], row, &e);
        for (size_t j = 0; j < p; j++)
            gsl_matrix_set(X, i, j, row[j]);
        gsl_vector_set(y, i, t->y[i]);
        for (size_t k = 0; k < n; k++) {
            double zk[2] = {1.0, t->time[k]}, v = i == k ? 1.0 : 0.0;
            if (t->group[i] == t->group[k]) {
                /* z_iᵀ T Tᵀ z_k */
                double a0 = zi[0] * T[0][0] + zi[1] * T[1][0], a1 = zi[1] * T[1][1];
                double b0 = zk[0] * T[0][0] + zk[1] * T[1][0], b1 = zk[1] * T[1][1];
                v += a0 * b0 + a1 * b1;
            }
            gsl_matrix_set(A, i, k, v);
        }
    }
    ldA = dense_logdet_inv(A); /* A now holds A⁻¹ */
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, A, X, 0.0, AX);
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, X, AX, 0.0, XAX);
    gsl_blas_dgemv(CblasNoTrans, 1.0, A, y, 0.0, Ay);
    gsl_blas_dgemv(CblasTrans, 1.0, X, Ay, 0.0, xay);
    ldX = dense_logdet_inv(XAX); /* XAX now holds (XᵀA⁻¹X)⁻¹ */
    gsl_blas_dgemv(CblasNoTrans, 1.0, XAX, xay, 0.0, b);
    gsl_vector_memcpy(res, y);
    gsl_blas_dgemv(CblasNoTrans, -1.0, X, b, 1.0, res);
    gsl_blas_dgemv(CblasNoTrans, 1.0, A, res, 0.0, Ares);
    gsl_blas_ddot(res, Ares, &r2);
    dev = ldA + ldX + (double)(n - p) * (1.0 + log(2.0 * M_PI * r2 / (double)(n - p)));
    for (size_t j = 0; beta_out != NULL && j < p; j++)
        beta_out[j] = gsl_vector_get(b, j);
    for (size_t j = 0; vcov_out != NULL && j < p * p; j++)
        vcov_out[j] = gsl_matrix_get(XAX, j / p, j % p) * r2 / (double)(n - p);
    gsl_matrix_free(A);
    gsl_matrix_free(X);
    gsl_matrix_free(AX);
    gsl_matrix_free(XAX);
    gsl_vector_free(y);
    gsl_vector_free(Ay);
    gsl_vector_free(b);
    gsl_vector_free(xay);
    gsl_vector_free(res);
    gsl_vector_free(Ares);
    return dev;
}

static void test_dense(void)
{
    struct toy t;
    struct ana_lmm_covariate cov = {"engagement", NULL};
    struct ana_lmm_fit *f = NULL;
    struct err e;
    double beta[ANA_LMM_MAX_FIXED], vcov[ANA_LMM_MAX_FIXED * 8], dev, err_v = 0.0;

    toy_make(&t, 11);
    cov.value = t.cov;
    struct ana_lmm_data d = toy_data(&t, &cov);
    struct ana_lmm_spec spec = {.random = ANA_LMM_RANDOM_SLOPE,
                                .method = ANA_LMM_REML,
                                .interaction = 1,
                                .arm_ref = "control"};
    err_clear(&e);
    if (!ok(ana_lmm_fit(&d, &spec, &f, &e) == 0, "toy trial fits: %s", e.message))
        return;
    is_int(f->p, 5, "toy: (Intercept), week, armapp, engagement, week:armapp");
    is_str(f->names[2], "armapp", "toy: arm term named arm<level>");
    is_str(f->names[3], "engagement", "toy: covariate after the main effects, as R orders");
    is_str(f->names[4], "week:armapp", "toy: interaction named week:arm<level>");
    dev = dense_reml(&t, f, f->theta, beta, vcov);
    is_rel(f->reml_criterion, dev, 1e-11, "toy: REML criterion equals the dense computation");
    for (size_t j = 0; j < f->p; j++)
        is_double(f->fixed[j].estimate, beta[j], 1e-10, "toy: %s equals dense GLS", f->names[j]);
    for (size_t j = 0; j < f->p * f->p; j++)
        err_v = fmax(err_v, fabs(f->vcov[j] - vcov[j]) / sqrt(vcov[(j / f->p) * (f->p + 1)] *
                                                              vcov[(j % f->p) * (f->p + 1)]));
    ok(err_v < 1e-10, "toy: vcov equals σ²(XᵀA⁻¹X)⁻¹ (worst %.2g)", err_v);
    /* θ̂ is a minimum of the dense criterion */
    for (size_t k = 0; k < 3; k++) {
        double th[3] = {f->theta[0], f->theta[1], f->theta[2]};
        th[k] += 1e-3;
        ok(dense_reml(&t, f, th, NULL, NULL) > dev, "toy: θ%zu + 1e-3 raises the criterion", k);
        th[k] -= 2e-3;
        ok(dense_reml(&t, f, th, NULL, NULL) > dev, "toy: θ%zu − 1e-3 raises the criterion", k);
    }
    ana_lmm_fit_free(f);
}

/*
 * Merging participants with identical designs (ana_lmm_blocks_compress)
 * changes no evaluation: one set of blocks kept per participant (each its
 * own pattern), one compressed, compared at several θ.
 */
static void test_compress(void)
{
    const size_t J = 40, p = 2, q = 2;
    struct ana_lmm_blocks a, b;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    static const double thetas[][3] = {{1.0, 0.0, 1.0}, {0.3, -0.2, 0.05}, {2.5, 0.7, 0.0}};

    memset(&a, 0, sizeof a);
    a.n = 0;
    a.p = p;
    a.q = q;
    a.J = a.P = J;
    a.reml = 1;
    a.zz = calloc(J * 3, sizeof *a.zz);
    a.zx = calloc(J * q * p, sizeof *a.zx);
    a.zy = calloc(J * q, sizeof *a.zy);
    a.xx = calloc(p * p, sizeof *a.xx);
    a.xy = calloc(p, sizeof *a.xy);
    for (size_t g = 0; g < J; g++) {
        size_t nw = 3 + g % 4; /* four patterns: weeks 0..2, 0..3, 0..4, 0..5 */
        for (size_t w = 0; w < nw; w++) {
            double x[2] = {1.0, (double)w}, y = gsl_ran_gaussian(r, 2.0) - 0.5 * (double)w;
            a.n++;
            a.zz[3 * g] += 1.0;
            a.zz[3 * g + 1] += x[1];
            a.zz[3 * g + 2] += x[1] * x[1];
            a.zy[2 * g] += y;
            a.zy[2 * g + 1] += x[1] * y;
            for (size_t j = 0; j < p; j++) {
                a.zx[g * 4 + j] += x[j];
                a.zx[g * 4 + p + j] += x[1] * x[j];
                a.xy[j] += x[j] * y;
                for (size_t k = 0; k < p; k++)
                    a.xx[j * p + k] += x[j] * x[k];
            }
            a.yy += y * y;
        }
    }
    gsl_rng_free(r);
    b = a;
    b.zz = malloc(J * 3 * sizeof *b.zz);
    b.zx = malloc(J * q * p * sizeof *b.zx);
    b.zy = malloc(J * q * sizeof *b.zy);
    b.xx = malloc(p * p * sizeof *b.xx);
    b.xy = malloc(p * sizeof *b.xy);
    memcpy(b.zz, a.zz, J * 3 * sizeof *b.zz);
    memcpy(b.zx, a.zx, J * q * p * sizeof *b.zx);
    memcpy(b.zy, a.zy, J * q * sizeof *b.zy);
    memcpy(b.xx, a.xx, p * p * sizeof *b.xx);
    memcpy(b.xy, a.xy, p * sizeof *b.xy);
    /* a: every participant its own pattern */
    a.cnt = malloc(J * sizeof *a.cnt);
    a.zyy = malloc(J * 3 * sizeof *a.zyy);
    for (size_t g = 0; g < J; g++) {
        a.cnt[g] = 1.0;
        a.zyy[3 * g] = a.zy[2 * g] * a.zy[2 * g];
        a.zyy[3 * g + 1] = a.zy[2 * g] * a.zy[2 * g + 1];
        a.zyy[3 * g + 2] = a.zy[2 * g + 1] * a.zy[2 * g + 1];
    }
    ok(ana_lmm_blocks_compress(&b) == 0, "compress runs");
    is_int(b.P, 4, "40 participants with four designs make four patterns");
    a.s = calloc(p * p, sizeof *a.s);
    a.t = calloc(p, sizeof *a.t);
    a.beta = calloc(p, sizeof *a.beta);
    b.s = calloc(p * p, sizeof *b.s);
    b.t = calloc(p, sizeof *b.t);
    b.beta = calloc(p, sizeof *b.beta);
    for (size_t i = 0; i < sizeof thetas / sizeof thetas[0]; i++) {
        ok(ana_lmm_blocks_eval(&a, thetas[i]) == 0 && ana_lmm_blocks_eval(&b, thetas[i]) == 0,
           "θ set %zu evaluates", i);
        is_rel(b.ldL2, a.ldL2, 1e-12, "θ set %zu: log|L|² by pattern", i);
        is_rel(b.ldRX2, a.ldRX2, 1e-12, "θ set %zu: log|R_X|² by pattern", i);
        is_rel(b.r2, a.r2, 1e-12, "θ set %zu: penalised RSS by pattern", i);
        is_rel(ana_lmm_blocks_profiled(&b), ana_lmm_blocks_profiled(&a), 1e-13,
               "θ set %zu: REML criterion by pattern", i);
    }
    ana_lmm_blocks_free(&a);
    ana_lmm_blocks_free(&b);
}

/* Row order and participants without any score change nothing. */
static void test_invariance(void)
{
    struct toy t, u;
    struct ana_lmm_fit *f = NULL, *g = NULL;
    struct err e;
    size_t perm[64];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

    toy_make(&t, 5);
    u = t;
    for (size_t i = 0; i < t.n; i++)
        perm[i] = i;
    gsl_ran_shuffle(r, perm, t.n, sizeof *perm);
    gsl_rng_free(r);
    /* shuffled rows, participants renumbered g → g + 3 with three empty ones first */
    u.J = t.J + 3;
    for (size_t i = 0; i < t.n; i++) {
        u.group[i] = t.group[perm[i]] + 3;
        u.time[i] = t.time[perm[i]];
        u.y[i] = t.y[perm[i]];
    }
    for (size_t g2 = 0; g2 < u.J; g2++)
        u.arm[g2] = g2 < 3 ? 1 : t.arm[g2 - 3];
    struct ana_lmm_data d1 = toy_data(&t, NULL), d2 = toy_data(&u, NULL);
    struct ana_lmm_spec spec = {
        .random = ANA_LMM_RANDOM_SLOPE, .method = ANA_LMM_ML, .interaction = 1};
    err_clear(&e);
    ok(ana_lmm_fit(&d1, &spec, &f, &e) == 0, "toy fits: %s", e.message);
    ok(ana_lmm_fit(&d2, &spec, &g, &e) == 0, "shuffled toy fits: %s", e.message);
    if (f != NULL && g != NULL) {
        is_int(g->n_groups, f->n_groups, "participants without scores do not count");
        is_rel(g->deviance, f->deviance, 1e-10, "row order: same deviance");
        for (size_t j = 0; j < f->p; j++) {
            is_double(g->fixed[j].estimate, f->fixed[j].estimate, 1e-7, "row order: same %s",
                      f->names[j]);
            is_rel(g->fixed[j].se, f->fixed[j].se, 1e-6, "row order: same SE of %s", f->names[j]);
        }
        is_str(f->levels[0], "app", "default reference arm: first in C-locale order");
    }
    ana_lmm_fit_free(f);
    ana_lmm_fit_free(g);
}

/* The API around a fit: design rows, averages over arms, reductions without a percentage. */
static void test_api(void)
{
    struct toy t;
    struct ana_lmm_fit *f = NULL, *c = NULL;
    struct ana_lmm_estimate m0, m1, avg;
    struct ana_lmm_reduction red;
    struct err e;
    double row[ANA_LMM_MAX_FIXED];

    toy_make(&t, 3);
    struct ana_lmm_data d = toy_data(&t, NULL);
    struct ana_lmm_spec spec = {
        .random = ANA_LMM_RANDOM_INTERCEPT, .interaction = 1, .arm_ref = "control"};
    err_clear(&e);
    if (!ok(ana_lmm_fit(&d, &spec, &f, &e) == 0, "toy fits: %s", e.message))
        return;
    is_int(ana_lmm_level_of_arm(f, 0), 0, "--arm-ref control is level 0");
    is_int(ana_lmm_level_of_arm(f, 1), 1, "app is level 1");
    is_int(ana_lmm_level_of_arm(f, 7), -1, "an unknown arm has no level");
    ok(ana_lmm_mean(f, 4, 0, &m0, &e) == 0 && ana_lmm_mean(f, 4, 1, &m1, &e) == 0 &&
           ana_lmm_mean(f, 4, -1, &avg, &e) == 0,
       "means at week 4 per arm and averaged");
    is_double(avg.estimate, (m0.estimate + m1.estimate) / 2, 1e-12,
              "arm -1 averages the arms with equal weights");
    ok(avg.ci95[0] < avg.estimate && avg.estimate < avg.ci95[1], "the CI surrounds the mean");
    ok(ana_lmm_design_row(f, 4, 1, NULL, row, &e) == 0 && row[0] == 1.0 && row[1] == 4.0 &&
           row[2] == 1.0 && row[3] == 4.0,
       "design row of week 4, app: 1, 4, 1, 4");
    ok(ana_lmm_reduction(f, 0, 8, 1, &red, &e) == 0, "reduction week 0 → 8 for app");
    is_double(red.points.estimate, red.mean_pre - red.mean_post, 1e-12,
              "reduction in points is pre − post");
    is_double(red.percent, 100 * (red.mean_pre - red.mean_post) / red.mean_pre, 1e-12,
              "reduction in percent of the pre mean");
    ok(red.percent_ci95[0] < red.percent && red.percent < red.percent_ci95[1],
       "the percentage CI surrounds it");
    is_double(red.percent_ci95[1] - red.percent, 1.959963984540054 * red.percent_se, 1e-9,
              "delta-method CI is normal: ±1.96 SE");
    ana_lmm_fit_free(f);

    /* categorical time: means only at observed times */
    spec.time_categorical = 1;
    spec.interaction = 0;
    if (ok(ana_lmm_fit(&d, &spec, &c, &e) == 0, "toy fits with categorical time: %s", e.message)) {
        is_str(c->names[1], "factor(week)1", "categorical time named factor(week)<level>");
        is_int(ana_lmm_mean(c, 2.5, 0, &m0, &e), ANA_LMM_EINVAL,
               "no mean at an unobserved categorical time");
        ok(strstr(e.message, "no time 2.5") != NULL, "message: %s", e.message);
        ok(ana_lmm_mean(c, 0, 0, &m0, &e) == 0 && fabs(m0.estimate - c->fixed[0].estimate) < 1e-12,
           "the reference arm's mean at the first time is the intercept");
    }
    ana_lmm_fit_free(c);

    /*
     * A baseline mean of exactly 0 has no percentage (a fit made by hand:
     * score = 0 + 1·week, identity covariance).
     */
    {
        double fx_vcov[4] = {1, 0, 0, 1}, vp[4] = {1, 0, 0, 1}, jac[8] = {0}, times[2] = {0, 8};
        struct ana_lmm_coef fx[2] = {{0, 1, 10, 0, 1}, {1, 1, 10, 1, 0.3}};
        struct ana_lmm_fit h;
        memset(&h, 0, sizeof h);
        h.p = 2;
        h.fixed = fx;
        h.vcov = fx_vcov;
        h.n_times = 2;
        h.times = times;
        h.n_varpar = 2;
        h.vcov_varpar = vp;
        h.jac = jac;
        ok(ana_lmm_reduction(&h, 0, 8, -1, &red, &e) == 0, "reduction from a zero mean computes");
        ok(!red.has_percent && isnan(red.percent), "no percentage of a zero baseline");
        is_double(red.points.estimate, -8.0, 1e-15, "the reduction in points is still given");
    }
}

/* Every refusal: code, message, and nothing returned. */
static void refused(const char *what, const struct ana_lmm_data *d, const struct ana_lmm_spec *s,
                    int code, const char *expect)
{
    struct ana_lmm_fit *f = NULL;
    struct err e;
    int rc;

    err_clear(&e);
    rc = ana_lmm_fit(d, s, &f, &e);
    is_int(rc, code, "%s is refused", what);
    ok(f == NULL, "%s: nothing is returned", what);
    ok(strstr(e.message, expect) != NULL, "%s: \"%s\" says \"%s\"", what, e.message, expect);
    ana_lmm_fit_free(f);
}

static void test_refusals(void)
{
    struct toy t;
    struct ana_lmm_spec slope = {.random = ANA_LMM_RANDOM_SLOPE};
    struct ana_lmm_spec icept = {.random = ANA_LMM_RANDOM_INTERCEPT};
    double y[64], tm[64], cv[64];
    uint32_t gr[64];

    toy_make(&t, 9);
    struct ana_lmm_data d = toy_data(&t, NULL);

    /* one participant */
    for (size_t i = 0; i < t.n; i++)
        gr[i] = 0;
    d.group = gr;
    d.group_arm = NULL;
    refused("one participant", &d, &slope, ANA_LMM_EDATA, "more than one participant");
    d = toy_data(&t, NULL);

    /* one score each: 10 participants, 10 rows */
    d.n = 10;
    for (size_t i = 0; i < 10; i++) {
        gr[i] = (uint32_t)i;
        tm[i] = (double)(i % 3);
    }
    d.group = gr;
    d.time = tm;
    d.group_arm = NULL;
    refused("one score per participant, slope", &d, &slope, ANA_LMM_EDATA, "too few observations");
    refused("one score per participant, intercept", &d, &icept, ANA_LMM_EDATA,
            "too few observations");

    /* two scores each: enough for an intercept, not for a slope */
    d.n = 20;
    for (size_t i = 0; i < 20; i++) {
        gr[i] = (uint32_t)(i / 2);
        tm[i] = (double)(i % 2) * 8;
    }
    refused("two scores per participant, slope", &d, &slope, ANA_LMM_EDATA,
            "too few observations for a random slope");
    d = toy_data(&t, NULL);

    /* no variation */
    for (size_t i = 0; i < t.n; i++)
        y[i] = 7.0;
    d.y = y;
    refused("constant score", &d, &slope, ANA_LMM_EDATA, "the score does not vary");
    d = toy_data(&t, NULL);

    /* every score at week 3 */
    for (size_t i = 0; i < t.n; i++)
        tm[i] = 3.0;
    d.time = tm;
    refused("one time only", &d, &icept, ANA_LMM_EDATA, "every score is at the same time");
    d = toy_data(&t, NULL);

    /* collinear covariates */
    {
        struct ana_lmm_covariate c = {"weeks_again", t.time};
        d = toy_data(&t, &c);
        refused("covariate equal to the time", &d, &icept, ANA_LMM_ERANK, "\"weeks_again\"");
        for (size_t i = 0; i < t.n; i++)
            cv[i] = 2.0;
        c.name = "constant";
        c.value = cv;
        refused("constant covariate", &d, &icept, ANA_LMM_ERANK, "\"constant\"");
        for (size_t i = 0; i < t.n; i++)
            cv[i] = 0.0;
        c.name = "zero";
        refused("zero covariate", &d, &icept, ANA_LMM_ERANK, "zero in every observation");
    }
    d = toy_data(&t, NULL);

    /* categorical time × arm with a week only one arm reached */
    {
        struct toy u = t;
        struct ana_lmm_spec s = {
            .random = ANA_LMM_RANDOM_INTERCEPT, .time_categorical = 1, .interaction = 1};
        /* the control arm's week-1 scores move to week 11: neither arm has both weeks */
        for (size_t i = 0; i < u.n; i++)
            if (u.arm[u.group[i]] == 0 && u.time[i] == 1.0)
                u.time[i] = 11.0;
        d = toy_data(&u, NULL);
        refused("an arm missing at a categorical time", &d, &s, ANA_LMM_ERANK, "factor(week)1:arm");
    }
    d = toy_data(&t, NULL);

    /* scores that a participant's own line fits exactly */
    for (size_t i = 0; i < t.n; i++)
        y[i] = 10.0 + (double)t.group[i] - 0.5 * (double)(t.group[i] % 3) * t.time[i];
    d.y = y;
    refused("an exact fit", &d, &slope, ANA_LMM_EDATA, "the residual variance is zero");
    d = toy_data(&t, NULL);

    /* arms */
    {
        struct ana_lmm_spec s = {.random = ANA_LMM_RANDOM_INTERCEPT, .arm_ref = "placebo"};
        refused("an unknown reference arm", &d, &s, ANA_LMM_EINVAL, "no arm \"placebo\"");
        s.arm_ref = NULL;
        s.interaction = 1;
        d.group_arm = NULL;
        refused("an interaction without arm", &d, &s, ANA_LMM_EINVAL, "needs an arm");
        int32_t one[16];
        for (size_t g = 0; g < t.J; g++)
            one[g] = 1;
        d.group_arm = one;
        s.interaction = 0;
        refused("one arm only", &d, &s, ANA_LMM_EDATA, "only one arm");
    }
    d = toy_data(&t, NULL);

    /* bad input */
    y[0] = NAN;
    for (size_t i = 1; i < t.n; i++)
        y[i] = t.y[i];
    d.y = y;
    refused("a NaN score", &d, &icept, ANA_LMM_EINVAL, "not a finite number");
    d = toy_data(&t, NULL);
    for (size_t i = 0; i < t.n; i++)
        gr[i] = t.group[i];
    gr[3] = 99;
    d.group = gr;
    refused("a participant index out of range", &d, &icept, ANA_LMM_EINVAL, "participant 99");
    d = toy_data(&t, NULL);
    d.n = 0;
    refused("no observations", &d, &icept, ANA_LMM_EINVAL, "no observations");
}

int main(void)
{
    gsl_set_error_handler_off();
    test_reference();
    test_sleepstudy_json();
    test_dense();
    test_compress();
    test_invariance();
    test_api();
    test_refusals();
    return tap_done();
}
