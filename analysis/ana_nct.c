/*
 * ana_nct.c — the noncentral t CDF and the inversion for a confidence
 * interval of its noncentrality (see ana_nct.h).
 *
 * For t >= 0, with x = t^2/(t^2 + df), b = df/2 and lambda = ncp^2/2
 * (Lenth 1989, AS 243; Guenther 1978):
 *
 *   P(T <= t) = Phi(-ncp) + sum_{i>=0} [ p_i I_x(i + 1/2, b) + q_i I_x(i + 1, b) ]
 *   p_i = 1/2 e^-lambda lambda^i / i!
 *   q_i = 1/2 sign(ncp) e^-lambda lambda^(i+1/2) / Gamma(i + 3/2)
 *
 * and for t < 0, P(T <= t; ncp) = 1 - P(T <= -t; -ncp).
 *
 * AS 243 (and R's pt()) sum from i = 0, where p_0 = e^-lambda/2 underflows
 * once |ncp| > 37.6; R then switches to a normal approximation that is good to
 * only about three digits for small df. Here, as in Benton & Krishnamoorthy
 * (2003), the sum starts at the largest weight, i = floor(lambda), and runs
 * forwards and backwards with the recurrences
 *
 *   I_x(a + 1, b) = I_x(a, b) - T(a),  T(a) = x^a (1-x)^b Gamma(a+b) / (Gamma(a+1) Gamma(b)),
 *   T(a + 1) = T(a) x (a + b) / (a + 1),
 *
 * so only two incomplete beta functions (GSL) and two weights are computed
 * directly. The weights at the start use Loader's saddle-point form (Loader
 * 2000, "Fast and accurate computation of binomial probabilities"): no
 * lambda^k / k! is ever formed. Each direction stops when the terms are
 * past the mode and their geometric bound on everything left is below
 * 1e-17, well under the rounding of the sum.
 *
 * Accuracy, measured on the 2912 points of tests/fixtures/analysis/nct_cdf.csv
 * (t from -60 to 200, df from 1 to 1e6, ncp from -45 to 150): the absolute
 * error against an independent numerical integral of the defining formula
 * is below 1e-12 everywhere (largest 9.8e-13); the difference from R's pt()
 * where R sums its series is below 1e-12 up to df = 1e4 and 1.9e-11 at
 * df = 1e5, where R is the less accurate. At the largest df the limit is
 * GSL's incomplete beta with both parameters near 1e5 or more. Lower tail
 * probabilities far below 1e-16 for t < 0 have absolute, not relative,
 * accuracy (as in R).
 */
#include <math.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_gamma.h>

#include "ana_nct.h"

/* Far more than any df and ncp need: the sum spans about 9 sqrt(lambda) terms. */
#define ANA_NCT_MAX_TERMS 10000000L
#define ANA_NCT_EPS       1e-17

/*
 * Loader's stirlerr(n) = log Gamma(n + 1) - (n + 1/2) log n + n - log sqrt(2 pi),
 * the error of Stirling's formula, for n > 0 (integer or not).
 */
static double ana_stirlerr(double n)
{
    const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680, s4 = 1.0 / 1188;
    double nn;

    if (n <= 15.0)
        return gsl_sf_lngamma(n + 1.0) - (n + 0.5) * log(n) + n - 0.5 * log(2.0 * M_PI);
    nn = n * n;
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/* Loader's bd0(x, np) = x log(x/np) + np - x, without cancellation near x = np. */
static double ana_bd0(double x, double np)
{
    if (fabs(x - np) < 0.1 * (x + np)) {
        double v = (x - np) / (x + np), s = (x - np) * v, ej = 2 * x * v;
        v = v * v;
        for (int j = 1; j < 1000; j++) {
            double s1;
            ej *= v;
            s1 = s + ej / (2 * j + 1);
            if (s1 == s)
                return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / np) + np - x;
}

/* e^-lambda lambda^m / Gamma(m + 1) for real m >= 0 (the Poisson weight at m). */
static double ana_poisson_weight(double m, double lambda)
{
    if (m == 0)
        return exp(-lambda);
    return exp(-ana_stirlerr(m) - ana_bd0(m, lambda)) / sqrt(2.0 * M_PI * m);
}

/*
 * T(a) = x^a y^b / (a B(a, b)), in logs: the first term the recurrence
 * subtracts. log_x and log_y are log x and log(1 - x), computed apart so
 * neither loses digits.
 */
static int ana_beta_term(double a, double b, double log_x, double log_y, double *out)
{
    gsl_sf_result lb;
    int status = gsl_sf_lnbeta_e(a, b, &lb);

    if (status != GSL_SUCCESS)
        return status;
    *out = exp(a * log_x + b * log_y - log(a) - lb.val);
    return GSL_SUCCESS;
}

static void ana_nct_beta_error(struct err *e, int status)
{
    err_set(e, ANA_ENUMERIC, "noncentral t: incomplete beta function: %s", gsl_strerror(status));
}

/* P(T <= t) for t > 0 and ncp != 0: the series above. */
static int ana_nct_series(double t, double df, double ncp, double *out, struct err *e)
{
    double t2 = t * t, b = df / 2.0, lambda = ncp * ncp / 2.0, sgn = ncp < 0 ? -1.0 : 1.0;
    double x, log_x, log_y, sum;
    double k0;
    /* Values at the start index, kept for the backward pass. */
    double p0, q0, ip0, iq0, tp0, tq0;
    double p, q, ip, iq, tp, tq;
    gsl_sf_result r;
    int status, rc = ANA_ENUMERIC;

    /* x = t^2/(t^2 + df) and log(1 - x), each without cancellation. */
    if (t2 < df) {
        double u = t2 / df;
        x = u / (1.0 + u);
        log_y = -log1p(u);
        log_x = log(u) + log_y;
    } else {
        double u = df / t2;
        x = 1.0 / (1.0 + u);
        log_x = -log1p(u);
        log_y = log(u) + log_x;
    }
    k0 = floor(lambda);
    if (k0 > (double)ANA_NCT_MAX_TERMS) {
        err_set(e, ANA_ENUMERIC, "noncentral t: noncentrality %g is too large", ncp);
        goto out;
    }

    p0 = 0.5 * ana_poisson_weight(k0, lambda);
    q0 = 0.5 * sgn * ana_poisson_weight(k0 + 0.5, lambda);
    /* An incomplete beta too small for a double is zero here, not an error:
     * the sum is absolute. */
    status = gsl_sf_beta_inc_e(k0 + 0.5, b, x, &r);
    if (status != GSL_SUCCESS && status != GSL_EUNDRFLW) {
        ana_nct_beta_error(e, status);
        goto out;
    }
    ip0 = status == GSL_EUNDRFLW ? 0.0 : r.val;
    status = gsl_sf_beta_inc_e(k0 + 1.0, b, x, &r);
    if (status != GSL_SUCCESS && status != GSL_EUNDRFLW) {
        ana_nct_beta_error(e, status);
        goto out;
    }
    iq0 = status == GSL_EUNDRFLW ? 0.0 : r.val;
    if ((status = ana_beta_term(k0 + 0.5, b, log_x, log_y, &tp0)) != GSL_SUCCESS ||
        (status = ana_beta_term(k0 + 1.0, b, log_x, log_y, &tq0)) != GSL_SUCCESS) {
        ana_nct_beta_error(e, status);
        goto out;
    }

    sum = p0 * ip0 + q0 * iq0;

    /* Forwards: i = k0 + 1, k0 + 2, ... Both weights fall from here on once
     * i > lambda; the incomplete betas only fall. */
    p = p0, q = q0, ip = ip0, iq = iq0, tp = tp0, tq = tq0;
    for (long j = 1;; j++) {
        double i = k0 + (double)j, ap = i - 0.5, aq = i, term, ratio;

        if (j > ANA_NCT_MAX_TERMS) {
            err_set(e, ANA_ENUMERIC, "noncentral t: the series did not converge");
            goto out;
        }
        /* Step the incomplete betas from a = i - 1 + 1/2 (and i) to the next a. */
        ip -= tp;
        tp *= x * (ap + b) / (ap + 1.0);
        iq -= tq;
        tq *= x * (aq + b) / (aq + 1.0);
        p *= lambda / i;
        q *= lambda / (i + 0.5);
        term = p * ip + q * iq;
        sum += term;
        ratio = lambda / (i + 1.0);
        /* With ratio < 1 every later term is at most ratio times the one
         * before it (weights shrink by lambda/(i+1), betas do not grow). */
        if (ratio < 1.0 &&
            (fabs(p) * fmax(ip, 0) + fabs(q) * fmax(iq, 0)) * ratio / (1.0 - ratio) < ANA_NCT_EPS)
            break;
    }

    /* Backwards: i = k0 - 1, ..., 0. Going down, the incomplete betas grow
     * (to at most 1) and the weights shrink by i/lambda. */
    p = p0, q = q0, ip = ip0, iq = iq0, tp = tp0, tq = tq0;
    for (double i = k0 - 1.0; i >= 0.0; i -= 1.0) {
        double ap = i + 0.5, aq = i + 1.0, ratio;

        tp *= (ap + 1.0) / (x * (ap + b));
        ip += tp;
        tq *= (aq + 1.0) / (x * (aq + b));
        iq += tq;
        p *= (i + 1.0) / lambda;
        q *= (i + 1.5) / lambda;
        sum += p * ip + q * iq;
        ratio = i / lambda;
        if (ratio < 1.0 && (fabs(p) + fabs(q)) * ratio / (1.0 - ratio) < ANA_NCT_EPS)
            break;
    }

    sum += gsl_cdf_ugaussian_P(-ncp);
    *out = fmin(1.0, fmax(0.0, sum));
    rc = 0;
out:
    return rc;
}

int ana_nct_cdf(double t, double df, double ncp, double *out, struct err *e)
{
    double p;
    int rc;

    if (isnan(t) || !(df > 0) || !isfinite(df) || !isfinite(ncp))
        return err_set(e, ANA_EINVAL, "noncentral t: invalid arguments (t %g, df %g, ncp %g)", t,
                       df, ncp);
    if (isinf(t)) {
        *out = t > 0 ? 1.0 : 0.0;
        return 0;
    }
    if (ncp == 0) {
        *out = gsl_cdf_tdist_P(t, df);
        return 0;
    }
    if (t == 0) {
        *out = gsl_cdf_ugaussian_P(-ncp);
        return 0;
    }
    if (t > 0)
        return ana_nct_series(t, df, ncp, out, e);
    if ((rc = ana_nct_series(-t, df, -ncp, &p, e)) != 0)
        return rc;
    *out = 1.0 - p;
    return 0;
}

/* ---- the interval ---- */

struct ana_nct_root {
    double t, df, target;
    int failed;
    struct err *e;
};

/* F(t; df, ncp) - target: decreasing in ncp. */
static double ana_nct_root_fn(double ncp, void *params)
{
    struct ana_nct_root *r = params;
    double p;

    if (r->failed)
        return 0;
    if (ana_nct_cdf(r->t, r->df, ncp, &p, r->e) != 0) {
        r->failed = 1;
        return 0;
    }
    return p - r->target;
}

/*
 * The ncp with P(T <= t; df, ncp) = target. Starts from the normal
 * approximation T ~ N(ncp, 1 + t^2/(2 df)) and widens the bracket until the
 * root is inside, then lets Brent's method close it to 1e-13.
 */
static int ana_nct_solve(double t, double df, double target, double *out, struct err *e)
{
    struct ana_nct_root r = {t, df, target, 0, e};
    gsl_function fn = {ana_nct_root_fn, &r};
    gsl_root_fsolver *s = NULL;
    double spread = sqrt(1.0 + t * t / (2.0 * df)), z = gsl_cdf_ugaussian_Pinv(target);
    double guess = t - z * spread, step = 2.0 * spread + 1.0;
    double lo = guess - step, hi = guess + step, flo, fhi;
    int status, rc = ANA_ENUMERIC, iter;

    flo = ana_nct_root_fn(lo, &r);
    fhi = ana_nct_root_fn(hi, &r);
    /* F falls with ncp: the root lies where flo >= 0 >= fhi. */
    for (iter = 0; !r.failed && iter < 200 && !(flo >= 0 && fhi <= 0); iter++) {
        step *= 2.0;
        if (flo < 0) {
            hi = lo;
            fhi = flo;
            lo -= step;
            flo = ana_nct_root_fn(lo, &r);
        } else {
            lo = hi;
            flo = fhi;
            hi += step;
            fhi = ana_nct_root_fn(hi, &r);
        }
    }
    if (r.failed)
        return e ? e->code : ANA_ENUMERIC;
    if (!(flo >= 0 && fhi <= 0))
        return err_set(e, ANA_ENUMERIC, "noncentral t: could not bracket the noncentrality");
    if (flo == 0 || fhi == 0) {
        *out = flo == 0 ? lo : hi;
        return 0;
    }
    s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (s == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    if ((status = gsl_root_fsolver_set(s, &fn, lo, hi)) != GSL_SUCCESS) {
        err_set(e, ANA_ENUMERIC, "noncentral t: root finder: %s", gsl_strerror(status));
        goto out;
    }
    for (iter = 0; iter < 300; iter++) {
        if ((status = gsl_root_fsolver_iterate(s)) != GSL_SUCCESS) {
            err_set(e, ANA_ENUMERIC, "noncentral t: root finder: %s", gsl_strerror(status));
            goto out;
        }
        if (r.failed) {
            rc = e ? e->code : ANA_ENUMERIC;
            goto out;
        }
        status = gsl_root_test_interval(gsl_root_fsolver_x_lower(s), gsl_root_fsolver_x_upper(s),
                                        1e-13, 1e-13);
        if (status == GSL_SUCCESS)
            break;
    }
    if (status != GSL_SUCCESS) {
        err_set(e, ANA_ENUMERIC, "noncentral t: the root finder did not converge");
        goto out;
    }
    *out = gsl_root_fsolver_root(s);
    rc = 0;
out:
    gsl_root_fsolver_free(s);
    return rc;
}

int ana_nct_ncp_ci(double t, double df, double level, struct ana_ci *out, struct err *e)
{
    struct ana_ci ci;
    int rc;

    if (!isfinite(t) || !(df > 0) || !isfinite(df) || !(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "noncentral t interval: invalid arguments (t %g, df %g)", t,
                       df);
    if ((rc = ana_nct_solve(t, df, 0.5 + level / 2.0, &ci.lo, e)) != 0 ||
        (rc = ana_nct_solve(t, df, 0.5 - level / 2.0, &ci.hi, e)) != 0)
        return rc;
    *out = ci;
    return 0;
}
