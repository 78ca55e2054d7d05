/*
 * ana_common.c — descriptives, Hedges' J, Wilson's interval and the facts
 * record (see ana_common.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>

#include "ana_common.h"

void ana_facts_init(struct ana_facts *f)
{
    memset(f, 0, sizeof *f);
    f->responder_pct = 50.0;
}

static int ana_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int ana_median(const double *x, size_t n, double *out, struct err *e)
{
    double *copy;

    if (n == 0)
        return err_set(e, ANA_ETOOFEW, "the median needs at least one value");
    copy = malloc(n * sizeof *copy);
    if (copy == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    memcpy(copy, x, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, ana_cmp_double);
    *out = n % 2 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2;
    free(copy);
    return 0;
}

int ana_describe(const double *x, size_t n, struct ana_describe *out, struct err *e)
{
    struct ana_describe d;
    double sum = 0, corr = 0, ss = 0;
    int rc;

    if (n < 2) {
        err_set(e, ANA_ETOOFEW, "too few values");
        err_detail(e, "A standard deviation needs at least 2 values; there %s %zu.",
                   n == 1 ? "is" : "are", n);
        return ANA_ETOOFEW;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return err_set(e, ANA_EINVAL, "value %zu is not a finite number", i + 1);
        sum += x[i];
    }
    /* Two passes, the second correcting the mean by the rounding of the first
     * (as R's mean() does), so sums of squares are of true deviations. */
    d.mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        corr += x[i] - d.mean;
    d.mean += corr / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - d.mean) * (x[i] - d.mean);
    d.n = n;
    d.sd = sqrt(ss / (double)(n - 1));
    d.se = d.sd / sqrt((double)n);
    if ((rc = ana_median(x, n, &d.median, e)) != 0)
        return rc;
    *out = d;
    return 0;
}

int ana_hedges_j(double df, enum ana_hedges_j kind, double *out, struct err *e)
{
    gsl_sf_result r;
    int status;

    if (kind == ANA_J_APPROX) {
        if (!(df > 0.25))
            return err_set(e, ANA_ETOOFEW, "Hedges' J needs more than 0.25 degrees of freedom");
        *out = 1.0 - 3.0 / (4.0 * df - 1.0);
        return 0;
    }
    if (!(df > 1.0)) {
        err_set(e, ANA_ETOOFEW, "the exact Hedges' J needs more than 1 degree of freedom");
        err_detail(e, "Gamma((df - 1)/2) is infinite at df = %g.", df);
        return ANA_ETOOFEW;
    }
    /* Gamma(m) / Gamma(m - 1/2) as a Pochhammer symbol (m - 1/2)_{1/2}: GSL
     * computes its logarithm without the cancellation of two log-gammas,
     * which matters for large df where J tends to 1. */
    status = gsl_sf_lnpoch_e(df / 2.0 - 0.5, 0.5, &r);
    if (status != GSL_SUCCESS)
        return err_set(e, ANA_ENUMERIC, "Hedges' J: %s", gsl_strerror(status));
    *out = exp(r.val) / sqrt(df / 2.0);
    return 0;
}

const char *ana_hedges_j_name(enum ana_hedges_j kind)
{
    return kind == ANA_J_EXACT ? "exact" : "approx";
}

int ana_hedges_j_parse(const char *name, enum ana_hedges_j *out)
{
    if (strcmp(name, "approx") == 0)
        *out = ANA_J_APPROX;
    else if (strcmp(name, "exact") == 0)
        *out = ANA_J_EXACT;
    else
        return -1;
    return 0;
}

double ana_z_crit(double level)
{
    return gsl_cdf_ugaussian_Pinv(0.5 + level / 2.0);
}

double ana_t_crit(double level, double df)
{
    return gsl_cdf_tdist_Pinv(0.5 + level / 2.0, df);
}

int ana_wilson(size_t x, size_t n, double level, struct ana_proportion *out, struct err *e)
{
    double p, z, z2, denom, centre, half;

    if (n == 0)
        return err_set(e, ANA_ETOOFEW, "a proportion of nobody");
    if (x > n || !(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid proportion %zu of %zu", x, n);
    p = (double)x / (double)n;
    z = ana_z_crit(level);
    z2 = z * z;
    denom = 1.0 + z2 / (double)n;
    centre = (p + z2 / (2.0 * (double)n)) / denom;
    half = z * sqrt(p * (1.0 - p) / (double)n + z2 / (4.0 * (double)n * (double)n)) / denom;
    out->count = x;
    out->n = n;
    out->share = p;
    /* At p = 0 or 1 the interval touches the bound exactly; rounding must not
     * push it outside [0, 1]. */
    out->ci.lo = x == 0 ? 0.0 : fmax(0.0, centre - half);
    out->ci.hi = x == n ? 1.0 : fmin(1.0, centre + half);
    return 0;
}
