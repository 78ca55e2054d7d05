/*
 * ana_corr.h — correlation of two measures over the same participants
 * (engagement with change score, say): Pearson's r and Spearman's rho, each
 * with a two-sided test and a confidence interval on Fisher's z scale.
 *
 * Pearson is exactly R's cor.test(x, y): t = r sqrt((n - 2)/(1 - r^2)) on
 * n - 2 df, and the interval tanh(atanh(r) -+ z_crit / sqrt(n - 3)) (Fisher
 * 1921). Spearman's rho is Pearson's r of the mid-ranks; its p is R's
 * cor.test(x, y, method = "spearman", exact = FALSE) (the t approximation,
 * which R uses whenever there are ties or n > 1289). R gives Spearman no
 * interval; ours is Fisher's z with a standard error that accounts for rho
 * not being Pearson's r:
 *   - Bonett & Wright (2000, Psychometrika 65:23-28), the default:
 *       SE = sqrt((1 + rho^2 / 2) / (n - 3))
 *   - Fieller, Hartley & Pearson (1957, Biometrika 44:470-481):
 *       SE = sqrt(1.06 / (n - 3))
 * Bonett & Wright found theirs closer to nominal coverage for |rho| up to
 * 0.9, which is why it is the default. tests/fixtures/corr/ reproduces both
 * in R.
 *
 * Pure statistics: arrays in, structs out.
 */
#ifndef ATTUNE_ANA_CORR_H
#define ATTUNE_ANA_CORR_H

#include <stddef.h>

#include "ana_common.h"

enum ana_spearman_se {
    ANA_SPEARMAN_SE_BONETT_WRIGHT = 0,
    ANA_SPEARMAN_SE_FIELLER,
};

struct ana_corr {
    size_t n;
    double r;         /* Pearson's r, or Spearman's rho */
    double t, df;     /* the test statistic on n - 2 df (infinite when |r| = 1) */
    double p;         /* two-sided */
    double se_z;      /* the standard error on Fisher's z scale */
    struct ana_ci ci; /* [r, r] when |r| = 1 */
};

/*
 * Mid-ranks (1-based; tied values share the mean of their ranks), as R's
 * rank(x, ties.method = "average"). `ranks` has n places. ANA_EINVAL for a
 * value that is not finite; ANA_ENOMEM.
 */
int ana_ranks(const double *x, size_t n, double *ranks, struct err *e);

/*
 * Pearson's r of n pairs with its test and interval at `level`.
 * ANA_ETOOFEW for n < 4 (the interval needs n - 3 > 0); ANA_EZEROVAR when
 * x or y does not vary; ANA_EINVAL for a value that is not finite or a
 * level outside (0, 1).
 */
int ana_pearson(const double *x, const double *y, size_t n, double level, struct ana_corr *out,
                struct err *e);

/* Spearman's rho, as ana_pearson on the mid-ranks, with the chosen SE. */
int ana_spearman(const double *x, const double *y, size_t n, double level, enum ana_spearman_se se,
                 struct ana_corr *out, struct err *e);

/* "bonett-wright" / "fieller", and back (-1 for an unknown name). */
const char *ana_spearman_se_name(enum ana_spearman_se se);
int ana_spearman_se_parse(const char *name, enum ana_spearman_se *out);

#endif
