/*
 * ana_groups.h — participants split into equal-probability groups of one
 * measure (tertiles of engagement, say), and another measure (the change
 * score) summarised within each group.
 *
 * The cut points are R's default sample quantiles (type 7, Hyndman & Fan
 * 1996, Am Stat 50:361-365) at 1/k, 2/k, ..., (k-1)/k, and the groups are
 * right-closed intervals: group 0 is x <= q1, group j is q_j < x <= q_{j+1},
 * the last is x > q_{k-1}. This is R's
 *   cut(x, c(-Inf, quantile(x, (1:(k-1))/k), Inf), labels = FALSE)
 * With ties at a cut point (many participants with zero engagement, say)
 * groups are unequal, and a group can be empty when two cut points
 * coincide; the counts say so.
 *
 * Pure statistics: arrays in, structs out.
 */
#ifndef ATTUNE_ANA_GROUPS_H
#define ATTUNE_ANA_GROUPS_H

#include <stddef.h>

#include "ana_common.h"

#define ANA_GROUPS_MAX 10

/* A type-7 sample quantile of n >= 1 sorted values, p in [0, 1]. */
double ana_quantile_sorted(const double *sorted, size_t n, double p);

/*
 * Splits n >= 1 values into k (2 .. ANA_GROUPS_MAX) quantile groups:
 * cuts[0 .. k-2] receive the cut points and group[i] the group (0 .. k-1)
 * of x[i]. ANA_EINVAL for a bad k or a value that is not finite; ANA_ETOOFEW
 * for n = 0; ANA_ENOMEM.
 */
int ana_quantile_groups(const double *x, size_t n, unsigned k, double *cuts, unsigned *group,
                        struct err *e);

/* One group's outcome. */
struct ana_group_summary {
    size_t n;
    double x_min, x_max; /* the grouping measure's range in the group (NaN when empty) */
    double mean, sd, se; /* of the outcome; sd and se NaN for n < 2, everything NaN when empty */
    double median;
    struct ana_ci ci; /* t interval of the mean at the level; NaN for n < 2 */
};

/*
 * Summarises y within each of k groups (group[i] < k) at a confidence level;
 * x gives each group's range. out has k places. ANA_EINVAL for a group index
 * >= k, a value that is not finite or a bad level; ANA_ENOMEM.
 */
int ana_group_summaries(const double *x, const double *y, const unsigned *group, size_t n,
                        unsigned k, double level, struct ana_group_summary *out, struct err *e);

#endif
