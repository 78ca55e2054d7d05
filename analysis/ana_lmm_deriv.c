/*
 * ana_lmm_deriv.c — numerical derivatives by Richardson extrapolation, as R
 * package numDeriv computes them (Gilbert & Varadhan 2019, numDeriv 2016.8;
 * functions genD and jacobian). lmerTest's Satterthwaite df rest on
 * numDeriv's Hessian of the deviance and Jacobian of vcov(β); doing the same
 * steps here makes the df agree with lmerTest's to many digits, and the
 * extrapolation from large steps (10% of each parameter) keeps rounding
 * noise out of the second differences.
 *
 * Central differences with step h have error a₂h² + a₄h⁴ + …; halving h
 * r = 4 times and combining D(h/2) and D(h) as (4^m D(h/2) − D(h))/(4^m − 1)
 * removes the terms one order at a time (Richardson 1927).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ana_lmm_int.h"

#define RICH_R   4    /* steps */
#define RICH_EPS 1e-4 /* the step of a parameter near zero */

/* numDeriv's zero.tol: sqrt(.Machine$double.eps / 7e-7). */
static double rich_zero_tol(void)
{
    return sqrt(DBL_EPSILON / 7e-7);
}

static double rich_h0(double x, double d)
{
    return fabs(d * x) + RICH_EPS * (fabs(x) < rich_zero_tol() ? 1.0 : 0.0);
}

/* Extrapolates a[0..r-1] (steps h, h/2, ...) in place; the answer is a[0]. */
static void rich_extrapolate(double *a, size_t stride, size_t len)
{
    for (int m = 1; m < RICH_R; m++) {
        double f = pow(4.0, m);
        for (int k = 0; k < RICH_R - m; k++)
            for (size_t c = 0; c < len; c++)
                a[k * stride + c] = (a[(k + 1) * stride + c] * f - a[k * stride + c]) / (f - 1.0);
    }
}

int ana_lmm_hessian(ana_lmm_vecfn fn, void *ctx, const double *x, size_t k, double *g, double *h)
{
    double xs[8], h0[8], hd[8], f0, f1, f2, da[RICH_R], ha[RICH_R];

    if (k > 8 || fn(x, &f0, ctx) != 0)
        return -1;
    for (size_t i = 0; i < k; i++)
        h0[i] = rich_h0(x[i], 0.1);
    for (size_t i = 0; i < k; i++) {
        double hi = h0[i];
        memcpy(xs, x, k * sizeof *xs);
        for (int s = 0; s < RICH_R; s++) {
            xs[i] = x[i] + hi;
            if (fn(xs, &f1, ctx) != 0)
                return -1;
            xs[i] = x[i] - hi;
            if (fn(xs, &f2, ctx) != 0)
                return -1;
            da[s] = (f1 - f2) / (2.0 * hi);
            ha[s] = (f1 - 2.0 * f0 + f2) / (hi * hi);
            hi /= 2.0;
        }
        rich_extrapolate(da, 1, 1);
        rich_extrapolate(ha, 1, 1);
        g[i] = da[0];
        hd[i] = ha[0];
        h[i * k + i] = ha[0];
    }
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j < i; j++) {
            double hi = h0[i], hj = h0[j];
            memcpy(xs, x, k * sizeof *xs);
            for (int s = 0; s < RICH_R; s++) {
                xs[i] = x[i] + hi;
                xs[j] = x[j] + hj;
                if (fn(xs, &f1, ctx) != 0)
                    return -1;
                xs[i] = x[i] - hi;
                xs[j] = x[j] - hj;
                if (fn(xs, &f2, ctx) != 0)
                    return -1;
                da[s] = (f1 - 2.0 * f0 + f2 - hd[i] * hi * hi - hd[j] * hj * hj) / (2.0 * hi * hj);
                hi /= 2.0;
                hj /= 2.0;
            }
            rich_extrapolate(da, 1, 1);
            h[i * k + j] = h[j * k + i] = da[0];
        }
    }
    return 0;
}

int ana_lmm_jacobian(ana_lmm_vecfn fn, void *ctx, const double *x, size_t k, size_t m, double *j)
{
    double xs[8], h[8];
    double *a = NULL, *f1 = NULL, *f2 = NULL;
    int rc = -1;

    if (k > 8)
        return -1;
    /* a[s][i][c]: step s, parameter i, output c */
    a = malloc(RICH_R * k * m * sizeof *a);
    f1 = malloc(m * sizeof *f1);
    f2 = malloc(m * sizeof *f2);
    if (a == NULL || f1 == NULL || f2 == NULL)
        goto out;
    for (size_t i = 0; i < k; i++)
        h[i] = rich_h0(x[i], 1e-4);
    memcpy(xs, x, k * sizeof *xs);
    for (int s = 0; s < RICH_R; s++) {
        for (size_t i = 0; i < k; i++) {
            xs[i] = x[i] + h[i];
            if (fn(xs, f1, ctx) != 0)
                goto out;
            xs[i] = x[i] - h[i];
            if (fn(xs, f2, ctx) != 0)
                goto out;
            xs[i] = x[i];
            for (size_t c = 0; c < m; c++)
                a[(s * k + i) * m + c] = (f1[c] - f2[c]) / (2.0 * h[i]);
        }
        for (size_t i = 0; i < k; i++)
            h[i] /= 2.0;
    }
    rich_extrapolate(a, k * m, k * m);
    for (size_t i = 0; i < k; i++)
        for (size_t c = 0; c < m; c++)
            j[c * k + i] = a[i * m + c];
    rc = 0;
out:
    free(a);
    free(f1);
    free(f2);
    return rc;
}
