/*
 * ana_lmm.h — linear mixed models for repeated scores: score ~ time
 * (+ arm, + time × arm, + numeric covariates) with a random intercept, or a
 * random intercept and slope, per participant; fitted by REML or ML.
 *
 * The method is lme4's profiled deviance (Bates, Mächler, Bolker & Walker
 * 2015, "Fitting linear mixed-effects models using lme4", J Stat Softw
 * 67(1), section 3): the deviance is minimised over the relative covariance
 * factor θ alone, with the fixed effects and the residual variance profiled
 * out. Every participant's random effects touch only their own rows, so each
 * evaluation accumulates q×q (q ≤ 2) and p×p blocks participant by
 * participant: the cost is linear in the number of participants, and no
 * N×N or (qJ)×(qJ) matrix is ever formed. Fixed-effect tests use
 * Satterthwaite degrees of freedom computed as lmerTest does (Kuznetsova,
 * Brockhoff & Christensen 2017, J Stat Softw 82(13)). docs/mixed-models.md
 * has the formulas.
 *
 * Pure statistics: arrays in, structs out; no I/O, no globals. GSL's error
 * handler must be off (main() does it); every GSL status is checked.
 */
#ifndef ATTUNE_ANA_LMM_H
#define ATTUNE_ANA_LMM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum {
    ANA_LMM_EINVAL = -1, /* a bad argument: no data, a NULL array, an unknown arm */
    ANA_LMM_EDATA = -2,  /* the data cannot identify the model (too few of something) */
    ANA_LMM_ERANK = -3,  /* the fixed-effect columns are linearly dependent */
    ANA_LMM_ENUM = -4,   /* a numerical failure (a matrix not positive definite, ...) */
    ANA_LMM_ENOMEM = -5,
};

/* Caps: fixed-effect columns, numeric covariates, distinct categorical times. */
#define ANA_LMM_MAX_FIXED      200
#define ANA_LMM_MAX_COVARIATES 16

enum ana_lmm_random {
    ANA_LMM_RANDOM_INTERCEPT = 0, /* (1 | id) */
    ANA_LMM_RANDOM_SLOPE,         /* (time | id): intercept and slope, unstructured 2×2 */
};

enum ana_lmm_method {
    ANA_LMM_REML = 0,
    ANA_LMM_ML,
};

/* An extra numeric fixed effect (an engagement measure, say): one value per observation. */
struct ana_lmm_covariate {
    const char *name;    /* the term name, as R would print it */
    const double *value; /* [n] */
};

/*
 * The observations in long form. Nothing is copied: the arrays need only
 * live during ana_lmm_fit(). Participants are small integers (datasets/
 * interns them); those without observations are ignored.
 */
struct ana_lmm_data {
    size_t n;                 /* observations */
    const uint32_t *group;    /* [n] participant of each observation, < n_groups */
    const double *time;       /* [n] study week (or any numeric time) */
    const double *y;          /* [n] score */
    size_t n_groups;          /* participant indices */
    const int32_t *group_arm; /* [n_groups] arm index, or NULL: no arm in the model */
    size_t n_arms;            /* names of the arm indices */
    const char *const *arms;  /* [n_arms] */
    size_t n_covariates;      /* 0 .. ANA_LMM_MAX_COVARIATES */
    const struct ana_lmm_covariate *covariates;
    const char *time_name; /* term name of the time, e.g. "week" (NULL: "time") */
    const char *arm_name;  /* term name prefix of the arm, e.g. "arm" (NULL: "arm") */
};

struct ana_lmm_spec {
    enum ana_lmm_random random;
    enum ana_lmm_method method;
    int time_categorical; /* one fixed effect per time after the first (treatment contrasts) */
    int interaction;      /* time × arm; needs an arm */
    const char *arm_ref;  /* reference arm; NULL: the first name in C-locale (strcmp) order */
};

/* One fixed effect with its Satterthwaite test. */
struct ana_lmm_coef {
    double estimate, se, df, t, p;
};

/* A linear combination of the fixed effects: L·β with its t-based 95% CI. */
struct ana_lmm_estimate {
    double estimate, se, df, t, p; /* t and p test L·β = 0 */
    double ci95[2];                /* estimate ± t(0.975, df)·se */
};

/* The model-based change from one time to another. */
struct ana_lmm_reduction {
    double pre, post;               /* the times */
    double mean_pre, mean_post;     /* model-based means */
    struct ana_lmm_estimate points; /* mean_pre − mean_post (positive: the score went down) */
    int has_percent;                /* 0 when mean_pre is 0 and a percentage means nothing */
    double percent, percent_se;     /* 100·(mean_pre − mean_post)/mean_pre, delta-method SE */
    double percent_ci95[2];         /* percent ± z(0.975)·SE (normal, as for any delta method) */
};

/* A fitted model. Everything is the caller's once returned; free with ana_lmm_fit_free(). */
struct ana_lmm_fit {
    struct ana_lmm_spec spec; /* as given (spec.arm_ref points into `levels`) */

    size_t p;     /* fixed effects */
    char **names; /* [p] R's names: (Intercept), week, factor(week)1, armB, week:armB */
    struct ana_lmm_coef *fixed; /* [p] */
    double *vcov;               /* [p*p] row-major covariance of the estimates */

    size_t n_theta;  /* 1 or 3 */
    double theta[3]; /* lme4's θ: lower triangle of the relative factor, by column */
    double sd_intercept, sd_slope, corr, sd_residual; /* slope and corr NaN without a slope */

    double loglik;         /* the REML log-likelihood for REML fits (as lme4) */
    double aic, bic;       /* −2 logLik + 2k, −2 logLik + k log n, k = n_params */
    double reml_criterion; /* −2 REML logLik; NaN for ML fits */
    double deviance;       /* −2 logLik; NaN for REML fits (lme4's deviance() refuses them) */
    size_t n_params;       /* k: p + q(q+1)/2 + 1 */
    size_t n_obs, n_groups;
    int converged; /* the optimiser met its tolerance and the gradient vanished */
    int singular;  /* a random-effect SD is 0 (θ on the boundary) */
    unsigned n_evaluations;

    /* The design, for model-based means and contrasts. */
    size_t n_times;     /* distinct observed times, ascending */
    double *times;      /* [n_times] */
    size_t n_levels;    /* arm levels in the model (0 without arm), the reference first */
    char **levels;      /* [n_levels] arm names */
    int32_t *level_arm; /* [n_levels] the data's arm index of each level */
    size_t n_covariates;
    char **covariate_names; /* [n_covariates] */
    double *covariate_mean; /* [n_covariates] over the observations */

    /* Satterthwaite's ingredients (lmerTest): variance parameters (θ, σ). */
    size_t n_varpar;     /* n_theta + 1 */
    double *vcov_varpar; /* [k*k] 2·H⁻¹, H the Hessian of the deviance in (θ, σ) */
    double *jac;         /* [k][p*p] derivative of vcov(β) by each variance parameter */
};

/*
 * Fits the model. On success *out is a new fit, the caller's to free with
 * ana_lmm_fit_free(). Errors: ANA_LMM_EINVAL (bad arguments, an unknown
 * reference arm), ANA_LMM_EDATA (fewer than two participants, no more
 * observations than random effects, a score that does not vary, a model that
 * fits exactly), ANA_LMM_ERANK (collinear fixed effects: a time that never
 * varies, an arm confounded with another term), ANA_LMM_ENUM, ANA_LMM_ENOMEM.
 * A fit whose optimiser did not converge is returned with converged = 0.
 */
int ana_lmm_fit(const struct ana_lmm_data *d, const struct ana_lmm_spec *spec,
                struct ana_lmm_fit **out, struct err *e);

/* Frees a fit. NULL-safe. */
void ana_lmm_fit_free(struct ana_lmm_fit *f);

/* The data's arm index → the model level, or -1 when that arm is not in the model. */
int ana_lmm_level_of_arm(const struct ana_lmm_fit *f, int arm);

/*
 * The fixed-effect design row (length f->p) of a time and arm: `arm` is the
 * data's arm index, or -1 for the equally weighted average over the arms
 * (ignored without arm). Covariates take `covariates` ([f->n_covariates]),
 * or their means when NULL. A categorical time must be one of f->times.
 */
int ana_lmm_design_row(const struct ana_lmm_fit *f, double time, int arm, const double *covariates,
                       double *row, struct err *e);

/* L·β for a row L (length f->p), its SE, Satterthwaite df, t, p and 95% CI. */
int ana_lmm_contrast(const struct ana_lmm_fit *f, const double *L, struct ana_lmm_estimate *out,
                     struct err *e);

/* The model-based mean at a time (and arm, as for ana_lmm_design_row), covariates at their means.
 */
int ana_lmm_mean(const struct ana_lmm_fit *f, double time, int arm, struct ana_lmm_estimate *out,
                 struct err *e);

/*
 * The model-based reduction from time `pre` to time `post` for an arm (as
 * above): in points with a Satterthwaite t interval, and in percent of the
 * pre mean with a delta-method normal interval.
 */
int ana_lmm_reduction(const struct ana_lmm_fit *f, double pre, double post, int arm,
                      struct ana_lmm_reduction *out, struct err *e);

#endif
