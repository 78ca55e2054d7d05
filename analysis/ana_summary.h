/*
 * ana_summary.h — a mean and a median of one sample with confidence
 * intervals, for summaries such as the mean and the median of individual
 * percentage reductions in the claim report.
 *
 * The mean's interval is Student's t, as R's t.test(x). The median's is
 * distribution-free, from order statistics (Conover 1999, Practical
 * Nonparametric Statistics, 3rd ed., section 3.2): with k the
 * level-(1 - level)/2 quantile of Binomial(n, 1/2) (R's qbinom), the
 * interval is [x_(k), x_(n-k+1)] of the sorted sample, whose coverage is at
 * least `level` (reported exactly). It needs k >= 1: about n >= 6 at 95%.
 *
 * Pure statistics: arrays in, structs out.
 */
#ifndef ATTUNE_ANA_SUMMARY_H
#define ATTUNE_ANA_SUMMARY_H

#include <stddef.h>

#include "ana_common.h"

struct ana_mean_ci {
    size_t n;
    double mean, sd, se, df;
    struct ana_ci ci;
};

/* ANA_ETOOFEW for n < 2; ANA_EINVAL for a value that is not finite or a bad level. */
int ana_mean_ci(const double *x, size_t n, double level, struct ana_mean_ci *out, struct err *e);

struct ana_median_ci {
    size_t n;
    double median;
    struct ana_ci ci;
    size_t lower_rank, upper_rank; /* 1-based order statistics of the interval */
    double coverage;               /* its exact coverage, >= level */
};

/*
 * ANA_ETOOFEW when n is too small for an interval at this level (k = 0);
 * ANA_EINVAL for a value that is not finite or a bad level; ANA_ENOMEM.
 */
int ana_median_ci(const double *x, size_t n, double level, struct ana_median_ci *out,
                  struct err *e);

#endif
