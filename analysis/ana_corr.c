/*
 * ana_corr.c — Pearson's r and Spearman's rho with tests and Fisher-z
 * intervals (see ana_corr.h for the methods and references).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "ana_corr.h"

static const char *const ana_spearman_se_names[] = {
    [ANA_SPEARMAN_SE_BONETT_WRIGHT] = "bonett-wright",
    [ANA_SPEARMAN_SE_FIELLER] = "fieller",
};

const char *ana_spearman_se_name(enum ana_spearman_se se)
{
    return (unsigned)se < 2 ? ana_spearman_se_names[se] : "unknown";
}

int ana_spearman_se_parse(const char *name, enum ana_spearman_se *out)
{
    for (unsigned i = 0; i < 2; i++) {
        if (strcmp(name, ana_spearman_se_names[i]) == 0) {
            *out = (enum ana_spearman_se)i;
            return 0;
        }
    }
    return -1;
}

/* Sorting indices by value, for the ranks. */
struct ana_rank_item {
    double v;
    size_t i;
};

static int ana_rank_cmp(const void *a, const void *b)
{
    const struct ana_rank_item *x = a, *y = b;

    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int ana_ranks(const double *x, size_t n, double *ranks, struct err *e)
{
    struct ana_rank_item *it;

    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return err_set(e, ANA_EINVAL, "value %zu is not a finite number", i + 1);
    it = malloc((n ? n : 1) * sizeof *it);
    if (it == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        it[i] = (struct ana_rank_item){x[i], i};
    qsort(it, n, sizeof *it, ana_rank_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        double mid;
        while (b < n && it[b].v == it[a].v)
            b++;
        /* Positions a..b-1 hold ranks a+1..b; each gets their mean. */
        mid = ((double)(a + 1) + (double)b) / 2.0;
        for (size_t k = a; k < b; k++)
            ranks[it[k].i] = mid;
        a = b;
    }
    free(it);
    return 0;
}

/* r, with the two-pass means; ANA_EZEROVAR when a variable is constant. */
static int ana_corr_r(const double *x, const double *y, size_t n, double *out, struct err *e)
{
    double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0, r;

    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return err_set(e, ANA_EINVAL, "pair %zu is not a pair of finite numbers", i + 1);
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if (sxx == 0 || syy == 0) {
        err_set(e, ANA_EZEROVAR, "the correlation is undefined");
        err_detail(e, "The %s takes one value for every participant.",
                   sxx == 0 ? "first measure" : "second measure");
        return ANA_EZEROVAR;
    }
    r = sxy / sqrt(sxx * syy);
    /* Rounding can carry |r| a hair past 1. */
    *out = fmax(-1.0, fmin(1.0, r));
    return 0;
}

/* The test and the Fisher-z interval of a correlation r with SE se_z. */
static void ana_corr_finish(double r, size_t n, double level, double se_z, struct ana_corr *out)
{
    double df = (double)n - 2, z = ana_z_crit(level);

    out->n = n;
    out->r = r;
    out->df = df;
    out->se_z = se_z;
    if (fabs(r) == 1.0) {
        out->t = r > 0 ? INFINITY : -INFINITY;
        out->p = 0.0;
        out->ci.lo = out->ci.hi = r;
        return;
    }
    out->t = r * sqrt(df / (1.0 - r * r));
    out->p = fmin(1.0, 2.0 * gsl_cdf_tdist_Q(fabs(out->t), df));
    out->ci.lo = tanh(atanh(r) - z * se_z);
    out->ci.hi = tanh(atanh(r) + z * se_z);
}

static int ana_corr_check(size_t n, double level, struct err *e)
{
    if (!(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", level);
    if (n < 4) {
        err_set(e, ANA_ETOOFEW, "too few participants for a correlation");
        err_detail(e, "Its interval needs at least 4 pairs; there %s %zu.", n == 1 ? "is" : "are",
                   n);
        return ANA_ETOOFEW;
    }
    return 0;
}

int ana_pearson(const double *x, const double *y, size_t n, double level, struct ana_corr *out,
                struct err *e)
{
    double r;
    int rc;

    if ((rc = ana_corr_check(n, level, e)) != 0 || (rc = ana_corr_r(x, y, n, &r, e)) != 0)
        return rc;
    ana_corr_finish(r, n, level, 1.0 / sqrt((double)n - 3), out);
    return 0;
}

int ana_spearman(const double *x, const double *y, size_t n, double level, enum ana_spearman_se se,
                 struct ana_corr *out, struct err *e)
{
    double *rx = NULL, *ry = NULL, rho, se_z;
    int rc;

    if ((rc = ana_corr_check(n, level, e)) != 0)
        return rc;
    rc = ANA_ENOMEM;
    rx = malloc(n * sizeof *rx);
    ry = malloc(n * sizeof *ry);
    if (rx == NULL || ry == NULL) {
        err_set(e, ANA_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = ana_ranks(x, n, rx, e)) != 0 || (rc = ana_ranks(y, n, ry, e)) != 0 ||
        (rc = ana_corr_r(rx, ry, n, &rho, e)) != 0)
        goto out;
    if (se == ANA_SPEARMAN_SE_FIELLER)
        se_z = sqrt(1.06 / ((double)n - 3));
    else
        se_z = sqrt((1.0 + rho * rho / 2.0) / ((double)n - 3));
    ana_corr_finish(rho, n, level, se_z, out);
    rc = 0;
out:
    free(rx);
    free(ry);
    return rc;
}
