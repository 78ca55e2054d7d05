/*
 * ana_boot.h — the nonparametric bootstrap of the percentage reduction of
 * group means, 100 (mean(pre) - mean(post)) / mean(pre), with percentile and
 * BCa intervals (Efron 1987, JASA 82:171-185; Davison & Hinkley 1997, ch. 5).
 *
 * Participants (pre/post pairs) are resampled with replacement. The random
 * numbers come from GSL's MT19937 generator seeded with opts.seed, so the
 * same data and seed always give the same interval.
 *
 * Two ways to draw a resample, with the same distribution: n uniform
 * indices; or, when many participants share the same (pre, post) pair (as
 * integer questionnaire scores do), multinomial counts over the K distinct
 * pairs, drawn as K conditional binomials — drawing n participants with
 * replacement and counting how many land on each distinct pair is exactly a
 * multinomial(n; m_k / n) draw. ANA_BOOT_AUTO takes the multinomial when
 * K <= n/16, which is decided by the data alone, so a result is still
 * determined by data and seed. The interval functions
 * are separate and take the replicates, so they can be checked against R's
 * boot.ci() on R's own replicates.
 */
#ifndef ATTUNE_ANA_BOOT_H
#define ATTUNE_ANA_BOOT_H

#include <stddef.h>

#include "ana_common.h"

#define ANA_BOOT_DEFAULT_RESAMPLES 2000
#define ANA_BOOT_DEFAULT_SEED      1UL
#define ANA_BOOT_MAX_RESAMPLES     1000000

enum ana_boot_method {
    ANA_BOOT_AUTO = 0,
    ANA_BOOT_INDEX,       /* n uniform indices per resample */
    ANA_BOOT_MULTINOMIAL, /* counts over the distinct pairs */
};

struct ana_boot_opts {
    size_t resamples;            /* 2000 */
    unsigned long seed;          /* 1 */
    double level;                /* 0.95 */
    enum ana_boot_method method; /* ANA_BOOT_AUTO */
};

struct ana_boot {
    double estimate;               /* the statistic on the data */
    struct ana_ci percentile;      /* boot.ci(type = "perc") */
    int has_bca;                   /* 0 when the acceleration or bias correction is undefined */
    char bca_why[ERR_MESSAGE_MAX]; /* why not, when has_bca = 0 */
    struct ana_ci bca;             /* boot.ci(type = "bca") with jackknife influence values */
    double z0;                     /* bias correction */
    double acceleration;
    size_t resamples;
    size_t n_nonfinite; /* resamples whose mean baseline was 0: left out, as boot.ci does */
    double boot_mean;   /* over the finite replicates */
    double boot_sd;
    int extreme; /* an interval end is the smallest or largest replicate */
    unsigned long seed;
    enum ana_boot_method method; /* the one used */
    size_t distinct;             /* distinct (pre, post) pairs */
};

/* Sets resamples 2000, seed 1, level 0.95. */
void ana_boot_opts_init(struct ana_boot_opts *o);

/*
 * Bootstraps the percentage reduction of group means over n >= 2 pairs.
 * ANA_EZEROBASE when mean(pre) = 0; ANA_ETOOFEW when fewer than 10
 * replicates are finite; ANA_EINVAL for resamples outside [100, 1e6].
 */
int ana_boot_pct_reduction(const double *pre, const double *post, size_t n,
                           const struct ana_boot_opts *o, struct ana_boot *out, struct err *e);

/*
 * The percentile interval from R finite replicates sorted ascending, with
 * boot's interpolation on the normal quantile scale (boot:::norm.inter).
 * *extreme is set when an end is the first or last order statistic.
 */
int ana_boot_ci_percentile(const double *sorted, size_t r, double level, struct ana_ci *out,
                           int *extreme, struct err *e);

/*
 * The BCa interval from R finite replicates sorted ascending, the estimate t0
 * and n empirical influence values L (boot:::bca.ci): z0 = qnorm(#{t < t0}/R),
 * a = sum L^3 / (6 (sum L^2)^1.5). ANA_ENUMERIC when z0 or a is not finite.
 */
int ana_boot_ci_bca(const double *sorted, size_t r, double t0, const double *L, size_t n,
                    double level, struct ana_ci *out, double *z0, double *a, int *extreme,
                    struct err *e);

#endif
