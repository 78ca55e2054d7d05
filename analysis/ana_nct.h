/*
 * ana_nct.h — the noncentral t distribution, which GSL lacks, and the
 * confidence interval for a noncentrality parameter that effect sizes such as
 * d_z and Cohen's d take their exact intervals from.
 *
 * The CDF is the series of Lenth's algorithm AS 243 (Appl Stat 38:185-189,
 * 1989; the form R's pt() uses), summed outwards from the largest Poisson
 * weight as Benton & Krishnamoorthy (2003, Comput Stat Data Anal 43:249-267)
 * do, so that a large noncentrality does not underflow the first weight and
 * the sum stops with a proven bound on what is left. See ana_nct.c for the
 * accuracy.
 */
#ifndef ATTUNE_ANA_NCT_H
#define ATTUNE_ANA_NCT_H

#include "ana_common.h"

/*
 * P(T <= t) for T noncentral t with df > 0 degrees of freedom and
 * noncentrality ncp. ANA_EINVAL for a non-finite ncp, df <= 0 or NaN t;
 * ANA_ENUMERIC when GSL's incomplete beta fails or the series does not
 * converge (it always has in the tests).
 */
int ana_nct_cdf(double t, double df, double ncp, double *out, struct err *e);

/*
 * The confidence interval of the noncentrality parameter given an observed
 * t: the ncp values that put t at the (1 + level)/2 and (1 - level)/2
 * quantiles, found with GSL's Brent root finder (Steiger & Fouladi 1997, "the
 * inversion confidence interval principle"). The effect size's interval is
 * this one scaled (for d_z, divided by sqrt(n)).
 */
int ana_nct_ncp_ci(double t, double df, double level, struct ana_ci *out, struct err *e);

#endif
