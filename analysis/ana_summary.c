/*
 * ana_summary.c — a mean and a median with intervals (see ana_summary.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "ana_summary.h"

int ana_mean_ci(const double *x, size_t n, double level, struct ana_mean_ci *out, struct err *e)
{
    struct ana_describe d;
    double t;
    int rc;

    if (!(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", level);
    if ((rc = ana_describe(x, n, &d, e)) != 0)
        return rc;
    t = ana_t_crit(level, (double)n - 1);
    out->n = n;
    out->mean = d.mean;
    out->sd = d.sd;
    out->se = d.se;
    out->df = (double)n - 1;
    out->ci.lo = d.mean - t * d.se;
    out->ci.hi = d.mean + t * d.se;
    return 0;
}

static int ana_summary_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* R's qbinom(p, n, 1/2): the smallest k with P(B <= k) >= p. */
static size_t ana_qbinom_half(double p, size_t n)
{
    size_t k = 0;

    while (k < n && gsl_cdf_binomial_P((unsigned)k, 0.5, (unsigned)n) < p * (1 - 64 * 2.2e-16))
        k++;
    return k;
}

int ana_median_ci(const double *x, size_t n, double level, struct ana_median_ci *out, struct err *e)
{
    double *s;
    size_t k;

    if (!(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", level);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return err_set(e, ANA_EINVAL, "value %zu is not a finite number", i + 1);
    k = n > 0 ? ana_qbinom_half((1 - level) / 2, n) : 0;
    if (k < 1) {
        err_set(e, ANA_ETOOFEW, "too few values for an interval of the median");
        err_detail(e, "An order-statistic interval at level %g needs more than %zu values.", level,
                   n);
        return ANA_ETOOFEW;
    }
    if (n > (size_t)1 << 31)
        return err_set(e, ANA_EINVAL, "too many values");
    s = malloc(n * sizeof *s);
    if (s == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, ana_summary_cmp);
    out->n = n;
    out->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    out->lower_rank = k;
    out->upper_rank = n - k + 1;
    out->ci.lo = s[k - 1];
    out->ci.hi = s[n - k];
    /* P(x_(k) <= median <= x_(n-k+1)) = 1 - 2 P(B <= k - 1). */
    out->coverage = 1 - 2 * gsl_cdf_binomial_P((unsigned)(k - 1), 0.5, (unsigned)n);
    free(s);
    return 0;
}
