/*
 * ana_lmm.c — linear mixed models (see ana_lmm.h): the design (R's
 * treatment contrasts and term names), the checks lme4 makes before a fit,
 * the optimisation of the profiled deviance over θ, the estimates, and
 * Satterthwaite's degrees of freedom for any linear combination of the
 * fixed effects (means by week, reductions).
 *
 * The deviance itself is evaluated in ana_lmm_dev.c; numerical derivatives
 * come from ana_lmm_deriv.c.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_multimin.h>

#include "ana_lmm.h"
#include "ana_lmm_int.h"

/* ------------------------------------------------------------ the design */

/*
 * The columns of X, in the order R's model.matrix gives them for
 * score ~ time * arm + covariates: (Intercept); the time (one column, or one
 * per time after the first); the arm levels after the reference; the
 * covariates; the interactions, time varying fastest. Derived from the
 * fit's public fields so that a fit is all a caller needs.
 */
struct layout {
    size_t n_time, n_arm, n_cov, n_int;
    size_t c_time, c_arm, c_cov, c_int, p;
};

static struct layout layout_of(const struct ana_lmm_fit *f)
{
    struct layout l;

    l.n_time = f->spec.time_categorical ? f->n_times - 1 : 1;
    l.n_arm = f->n_levels > 0 ? f->n_levels - 1 : 0;
    l.n_cov = f->n_covariates;
    l.n_int = f->spec.interaction ? l.n_time * l.n_arm : 0;
    l.c_time = 1;
    l.c_arm = l.c_time + l.n_time;
    l.c_cov = l.c_arm + l.n_arm;
    l.c_int = l.c_cov + l.n_cov;
    l.p = l.c_int + l.n_int;
    return l;
}

/*
 * Fills one row of X. `ti` is the time's index in f->times (used when time
 * is categorical), `level` the arm level (0 = reference), or -1 for the
 * average over the levels; `cov` the covariate values.
 */
static void design_fill(const struct ana_lmm_fit *f, const struct layout *l, size_t ti, double time,
                        int level, const double *cov, double *x)
{
    double tcol[ANA_LMM_MAX_FIXED];

    memset(x, 0, l->p * sizeof *x);
    x[0] = 1.0;
    if (f->spec.time_categorical) {
        memset(tcol, 0, l->n_time * sizeof *tcol);
        if (ti > 0)
            tcol[ti - 1] = 1.0;
    } else {
        tcol[0] = time;
    }
    memcpy(x + l->c_time, tcol, l->n_time * sizeof *x);
    for (size_t a = 0; a < l->n_arm; a++) {
        double w = level < 0 ? 1.0 / (double)f->n_levels : (size_t)level == a + 1 ? 1.0 : 0.0;
        x[l->c_arm + a] = w;
        if (l->n_int > 0)
            for (size_t k = 0; k < l->n_time; k++)
                x[l->c_int + a * l->n_time + k] = w * tcol[k];
    }
    for (size_t c = 0; c < l->n_cov; c++)
        x[l->c_cov + c] = cov[c];
}

/* R prints numbers in factor levels with 15 significant digits. */
static void fmt_level(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.15g", v);
}

__attribute__((format(printf, 1, 2))) static char *str_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0 || (s = malloc((size_t)len + 1)) == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* The R names of the columns: (Intercept), week | factor(week)1, armB, x, week:armB. */
static int design_names(struct ana_lmm_fit *f, const struct layout *l, const char *tname,
                        const char *aname)
{
    char lv[64];

    if ((f->names = calloc(l->p, sizeof *f->names)) == NULL)
        return -1;
    if ((f->names[0] = strdup("(Intercept)")) == NULL)
        return -1;
    for (size_t k = 0; k < l->n_time; k++) {
        fmt_level(lv, sizeof lv, f->times[k + 1]);
        f->names[l->c_time + k] =
            f->spec.time_categorical ? str_fmt("factor(%s)%s", tname, lv) : strdup(tname);
        if (f->names[l->c_time + k] == NULL)
            return -1;
    }
    for (size_t a = 0; a < l->n_arm; a++) {
        if ((f->names[l->c_arm + a] = str_fmt("%s%s", aname, f->levels[a + 1])) == NULL)
            return -1;
        for (size_t k = 0; l->n_int > 0 && k < l->n_time; k++)
            if ((f->names[l->c_int + a * l->n_time + k] =
                     str_fmt("%s:%s%s", f->names[l->c_time + k], aname, f->levels[a + 1])) == NULL)
                return -1;
    }
    for (size_t c = 0; c < l->n_cov; c++)
        if ((f->names[l->c_cov + c] = strdup(f->covariate_names[c])) == NULL)
            return -1;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Index of t in the ascending f->times, or -1. */
static long time_index(const struct ana_lmm_fit *f, double t)
{
    size_t lo = 0, hi = f->n_times;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->times[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->n_times && f->times[lo] == t ? (long)lo : -1;
}

/* A set of doubles by open addressing, for the distinct times: rows are many, times few. */
struct dset {
    double *v;
    unsigned char *used;
    size_t n, cap;
};

static int dset_grow(struct dset *d)
{
    struct dset g = {NULL, NULL, 0, d->cap ? d->cap * 2 : 64};

    g.v = malloc(g.cap * sizeof *g.v);
    g.used = calloc(g.cap, 1);
    if (g.v == NULL || g.used == NULL) {
        free(g.v);
        free(g.used);
        return -1;
    }
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->used[i])
            continue;
        uint64_t bits;
        memcpy(&bits, &d->v[i], sizeof bits);
        size_t at = (size_t)((bits * 0x9E3779B97F4A7C15ULL) >> 20) & (g.cap - 1);
        while (g.used[at])
            at = (at + 1) & (g.cap - 1);
        g.used[at] = 1;
        g.v[at] = d->v[i];
        g.n++;
    }
    free(d->v);
    free(d->used);
    *d = g;
    return 0;
}

static int dset_add(struct dset *d, double x)
{
    uint64_t bits;
    size_t at;

    if (x == 0.0)
        x = 0.0; /* −0 and +0 are one time */
    if (2 * (d->n + 1) > d->cap && dset_grow(d) != 0)
        return -1;
    memcpy(&bits, &x, sizeof bits);
    at = (size_t)((bits * 0x9E3779B97F4A7C15ULL) >> 20) & (d->cap - 1);
    while (d->used[at]) {
        if (d->v[at] == x)
            return 0;
        at = (at + 1) & (d->cap - 1);
    }
    d->used[at] = 1;
    d->v[at] = x;
    d->n++;
    return 0;
}

/* The distinct times, ascending. */
static int design_times(struct ana_lmm_fit *f, const struct ana_lmm_data *d)
{
    struct dset set = {NULL, NULL, 0, 0};
    size_t k = 0;
    int rc = -1;

    for (size_t i = 0; i < d->n; i++)
        if (dset_add(&set, d->time[i]) != 0)
            goto out;
    if ((f->times = malloc((set.n ? set.n : 1) * sizeof *f->times)) == NULL)
        goto out;
    for (size_t i = 0; i < set.cap; i++)
        if (set.used[i])
            f->times[k++] = set.v[i];
    qsort(f->times, k, sizeof *f->times, cmp_double);
    f->n_times = k;
    rc = 0;
out:
    free(set.v);
    free(set.used);
    return rc;
}

/*
 * The arm levels: the arms of participants with observations, in C-locale
 * order (R's default for a character column read with LC_COLLATE=C), with
 * the reference moved to the front (R's relevel()).
 */
static int design_levels(struct ana_lmm_fit *f, const struct ana_lmm_data *d,
                         const unsigned char *has_obs, const char *ref, struct err *e)
{
    unsigned char *used = NULL;
    int32_t *lv = NULL;
    size_t n = 0, at = 0, r = 0;
    int rc = ANA_LMM_ENOMEM;

    if ((used = calloc(d->n_arms, 1)) == NULL)
        goto nomem;
    for (size_t g = 0; g < d->n_groups; g++) {
        if (!has_obs[g])
            continue;
        if (d->group_arm[g] < 0 || (size_t)d->group_arm[g] >= d->n_arms) {
            rc = err_set(e, ANA_LMM_EINVAL, "participant %zu has no arm", g);
            goto out;
        }
        if (!used[d->group_arm[g]]) {
            used[d->group_arm[g]] = 1;
            n++;
        }
    }
    if ((lv = malloc(n * sizeof *lv)) == NULL)
        goto nomem;
    /* Insertion sort: there are few arms (datasets/ caps them at 1000). */
    for (size_t a = 0; a < d->n_arms; a++) {
        size_t i;
        if (!used[a])
            continue;
        for (i = at++; i > 0 && strcmp(d->arms[lv[i - 1]], d->arms[a]) > 0; i--)
            lv[i] = lv[i - 1];
        lv[i] = (int32_t)a;
    }
    if (ref != NULL) {
        for (r = 0; r < n && strcmp(d->arms[lv[r]], ref) != 0; r++)
            ;
        if (r == n) {
            rc = err_set(e, ANA_LMM_EINVAL, "no arm \"%s\" in the data", ref);
            err_detail(e, "The reference arm must be one of the arms with scores.");
            goto out;
        }
        for (int32_t keep = lv[r]; r > 0; r--) {
            lv[r] = lv[r - 1];
            lv[r - 1] = keep;
        }
    }
    if (n < 2) {
        rc = err_set(e, ANA_LMM_EDATA, "only one arm has scores");
        err_hint(e, "Fit the model without the arm.");
        goto out;
    }
    if ((f->levels = calloc(n, sizeof *f->levels)) == NULL)
        goto nomem;
    f->n_levels = n;
    for (size_t i = 0; i < n; i++)
        if ((f->levels[i] = strdup(d->arms[lv[i]])) == NULL)
            goto nomem;
    f->level_arm = lv;
    lv = NULL;
    f->spec.arm_ref = f->levels[0];
    rc = 0;
    goto out;
nomem:
    rc = err_set(e, ANA_LMM_ENOMEM, "out of memory");
out:
    free(used);
    free(lv);
    return rc;
}

/* ----------------------------------------------------------- the blocks */

/* Compact participant indices: the J participants with observations, in index order. */
static int blocks_build(struct ana_lmm_blocks *b, const struct ana_lmm_fit *f,
                        const struct ana_lmm_data *d, const uint32_t *compact, size_t J,
                        const int32_t *group_level)
{
    const struct layout l = layout_of(f);
    const size_t p = l.p, q = f->spec.random == ANA_LMM_RANDOM_SLOPE ? 2 : 1;
    const size_t nzz = q == 1 ? 1 : 3;
    double x[ANA_LMM_MAX_FIXED], cov[ANA_LMM_MAX_COVARIATES], ysum = 0.0;

    memset(b, 0, sizeof *b);
    b->n = d->n;
    b->p = p;
    b->q = q;
    b->J = J;
    b->P = J;
    b->reml = f->spec.method == ANA_LMM_REML;
    b->zz = calloc(J * nzz, sizeof *b->zz);
    b->zx = calloc(J * q * p, sizeof *b->zx);
    b->zy = calloc(J * q, sizeof *b->zy);
    b->xx = calloc(p * p, sizeof *b->xx);
    b->xy = calloc(p, sizeof *b->xy);
    b->s = calloc(p * p, sizeof *b->s);
    b->t = calloc(p, sizeof *b->t);
    b->beta = calloc(p, sizeof *b->beta);
    if (!b->zz || !b->zx || !b->zy || !b->xx || !b->xy || !b->s || !b->t || !b->beta)
        return -1;
    for (size_t o = 0; o < d->n; o++)
        ysum += d->y[o];
    b->y_mean = ysum / (double)d->n;
    for (size_t o = 0; o < d->n; o++) {
        const size_t g = compact[d->group[o]];
        const double t = d->time[o], y = d->y[o] - b->y_mean;
        size_t ti = 0;
        double *zx = b->zx + g * q * p;

        if (f->spec.time_categorical)
            ti = (size_t)time_index(f, t);
        for (size_t c = 0; c < l.n_cov; c++)
            cov[c] = d->covariates[c].value[o];
        design_fill(f, &l, ti, t, group_level ? group_level[d->group[o]] : 0, cov, x);
        for (size_t j = 0; j < p; j++) {
            b->xy[j] += x[j] * y;
            for (size_t k = 0; k <= j; k++)
                b->xx[j * p + k] += x[j] * x[k];
            zx[j] += x[j];
        }
        b->yy += y * y;
        if (q == 1) {
            b->zz[g] += 1.0;
            b->zy[g] += y;
        } else {
            b->zz[3 * g] += 1.0;
            b->zz[3 * g + 1] += t;
            b->zz[3 * g + 2] += t * t;
            b->zy[2 * g] += y;
            b->zy[2 * g + 1] += t * y;
            for (size_t j = 0; j < p; j++)
                zx[p + j] += t * x[j];
        }
    }
    for (size_t j = 0; j < p; j++)
        for (size_t k = j + 1; k < p; k++)
            b->xx[j * p + k] = b->xx[k * p + j];
    return ana_lmm_blocks_compress(b);
}

/*
 * Refuses collinear fixed effects (lme4 drops them with a message). A
 * Cholesky factorisation of XᵀX scaled to unit diagonal: a pivot near zero
 * means the column is (almost) a combination of the columns before it, as
 * R's pivoted QR would drop the later of two aliased columns.
 */
static int rank_check(const struct ana_lmm_blocks *b, char *const *names, struct err *e)
{
    const size_t p = b->p;
    double *a = malloc(p * p * sizeof *a), sc[ANA_LMM_MAX_FIXED];
    int rc = ANA_LMM_ERANK;

    if (a == NULL)
        return err_set(e, ANA_LMM_ENOMEM, "out of memory");
    for (size_t j = 0; j < p; j++) {
        if (!(b->xx[j * p + j] > 0.0)) {
            err_set(e, ANA_LMM_ERANK, "fixed effect \"%s\" is zero in every observation", names[j]);
            err_detail(e, "A time-by-arm term is empty when no participant of that arm has a "
                          "score at that time; a covariate may be always 0.");
            goto out;
        }
        sc[j] = 1.0 / sqrt(b->xx[j * p + j]);
    }
    for (size_t j = 0; j < p; j++) {
        for (size_t k = 0; k <= j; k++) {
            double v = b->xx[j * p + k] * sc[j] * sc[k];
            for (size_t m = 0; m < k; m++)
                v -= a[j * p + m] * a[k * p + m];
            if (k < j) {
                a[j * p + k] = v / a[k * p + k];
            } else if (v < 1e-10) {
                err_set(e, ANA_LMM_ERANK,
                        "fixed effects are collinear: \"%s\" depends on the terms before it",
                        names[j]);
                err_detail(e, "The design matrix is rank deficient; lme4 would drop \"%s\".",
                           names[j]);
                err_hint(e, "Check that the time varies, that every arm has scores at more "
                            "than one time, and that covariates are not constant.");
                goto out;
            } else {
                a[j * p + j] = sqrt(v);
            }
        }
    }
    rc = 0;
out:
    free(a);
    return rc;
}

/* --------------------------------------------------------- optimisation */

struct opt_ctx {
    struct ana_lmm_blocks *b;
    size_t nt;
};

/* The profiled deviance; a failed evaluation is a huge value the simplex moves away from. */
static double opt_deviance(struct ana_lmm_blocks *b, const double *theta)
{
    if (ana_lmm_blocks_eval(b, theta) != 0)
        return 1e300;
    return ana_lmm_blocks_profiled(b);
}

static double opt_gsl_fn(const gsl_vector *v, void *params)
{
    struct opt_ctx *c = params;
    double th[3];

    for (size_t i = 0; i < c->nt; i++)
        th[i] = gsl_vector_get(v, i);
    return opt_deviance(c->b, th);
}

static int opt_vec_fn(const double *x, double *f, void *ctx)
{
    struct opt_ctx *c = ctx;

    if (ana_lmm_blocks_eval(c->b, x) != 0)
        return -1;
    *f = ana_lmm_blocks_profiled(c->b);
    return 0;
}

/*
 * Nelder–Mead (GSL's nmsimplex2) from θ = 1 on the diagonal, 0 off it, as
 * lme4 starts. No bounds are needed: the deviance is even in the sign of
 * each column of the factor T (θ₁,θ₂ → −θ₁,−θ₂ and θ₃ → −θ₃ give the same
 * covariance TTᵀ), so an unconstrained minimum is mapped onto lme4's
 * feasible set θ₁, θ₃ ≥ 0 afterwards, and a variance at its boundary 0 is
 * an ordinary stationary point. Returns 1 when the simplex met its
 * tolerance, 0 when it ran out of iterations, -1 on failure.
 */
static int opt_simplex(struct opt_ctx *c, double *theta, double step, double tol, unsigned max_iter)
{
    const gsl_multimin_fminimizer_type *type = gsl_multimin_fminimizer_nmsimplex2;
    gsl_multimin_fminimizer *s = NULL;
    gsl_multimin_function fn = {opt_gsl_fn, c->nt, c};
    gsl_vector *x = gsl_vector_alloc(c->nt), *ss = gsl_vector_alloc(c->nt);
    int rc = -1;

    if (x == NULL || ss == NULL || (s = gsl_multimin_fminimizer_alloc(type, c->nt)) == NULL)
        goto out;
    for (size_t i = 0; i < c->nt; i++) {
        gsl_vector_set(x, i, theta[i]);
        gsl_vector_set(ss, i, step);
    }
    if (gsl_multimin_fminimizer_set(s, &fn, x, ss) != GSL_SUCCESS)
        goto out;
    rc = 0;
    for (unsigned it = 0; it < max_iter; it++) {
        int st = gsl_multimin_fminimizer_iterate(s);
        if (st != GSL_SUCCESS && st != GSL_ENOPROG)
            break;
        if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), tol) == GSL_SUCCESS ||
            st == GSL_ENOPROG) {
            rc = 1;
            break;
        }
    }
    for (size_t i = 0; i < c->nt; i++)
        theta[i] = gsl_vector_get(s->x, i);
out:
    gsl_multimin_fminimizer_free(s);
    gsl_vector_free(x);
    gsl_vector_free(ss);
    return rc;
}

/*
 * Gradient and Hessian of the profiled deviance by central differences,
 * 1 + k² evaluations (k = 1 or 3): f(θ ± h_i) give g_i and H_ii, and
 * f(θ ± (h_i + h_j)) the mixed H_ij (as numDeriv's genD forms them). The
 * steps are 1e-4 of each parameter's scale, small enough for the
 * truncation error and large against the rounding noise of the deviance.
 */
static int opt_derivs(struct opt_ctx *c, const double *theta, double f0, double *g, double *h)
{
    const size_t k = c->nt;
    double step[3], x[3], scale = 0.0, fp[3], fm[3];

    for (size_t i = 0; i < k; i++)
        scale = fmax(scale, fabs(theta[i]));
    for (size_t i = 0; i < k; i++)
        step[i] = 1e-4 * fmax(fmax(fabs(theta[i]), 0.1 * scale), 1e-3);
    for (size_t i = 0; i < k; i++) {
        memcpy(x, theta, k * sizeof *x);
        x[i] = theta[i] + step[i];
        if (opt_vec_fn(x, &fp[i], c) != 0)
            return -1;
        x[i] = theta[i] - step[i];
        if (opt_vec_fn(x, &fm[i], c) != 0)
            return -1;
        g[i] = (fp[i] - fm[i]) / (2.0 * step[i]);
        h[i * k + i] = (fp[i] - 2.0 * f0 + fm[i]) / (step[i] * step[i]);
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++) {
            double f1, f2;
            memcpy(x, theta, k * sizeof *x);
            x[i] += step[i];
            x[j] += step[j];
            if (opt_vec_fn(x, &f1, c) != 0)
                return -1;
            x[i] = theta[i] - step[i];
            x[j] = theta[j] - step[j];
            if (opt_vec_fn(x, &f2, c) != 0)
                return -1;
            h[i * k + j] = h[j * k + i] = (f1 - 2.0 * f0 + f2 - h[i * k + i] * step[i] * step[i] -
                                           h[j * k + j] * step[j] * step[j]) /
                                          (2.0 * step[i] * step[j]);
        }
    return 0;
}

/*
 * Newton steps after the simplex: the deviance is flat near its minimum, so
 * comparing function values (all a simplex does) locates θ only to about
 * the square root of the rounding noise, while the gradient locates it to
 * the noise itself; and Newton converges quadratically where the simplex
 * crawls. A step is taken only when it lowers the deviance (halving it up to
 * four times). Returns 1 at the optimum: a step below 1e-9 of θ's scale, or
 * below 1e-5 of it when the deviance no longer moves beyond its rounding
 * noise (with 10⁵ participants the deviance is ~10⁷ and its last digits
 * are noise); 0 when Newton could not continue (a Hessian that is not
 * positive definite, no descent from afar); -1 on failure. *rel_grad gets
 * the last |H⁻¹g|∞, the scaled gradient lme4's convergence check uses (|g|∞
 * when H is not positive definite, as lme4 falls back to).
 */
static int opt_newton(struct opt_ctx *c, double *theta, double *rel_grad)
{
    const size_t k = c->nt;
    double g[3], h[9], step[3], trial[3], f0, scale = 1e-3;
    gsl_matrix_view hv = gsl_matrix_view_array(h, k, k);
    gsl_vector_view gv = gsl_vector_view_array(g, k), sv = gsl_vector_view_array(step, k);

    *rel_grad = INFINITY;
    f0 = opt_deviance(c->b, theta);
    for (int it = 0; it < 8; it++) {
        double size = 0.0, lambda = 1.0, f1 = INFINITY, noise = 1e-13 * fabs(f0);

        if (opt_derivs(c, theta, f0, g, h) != 0)
            return -1;
        if (gsl_linalg_cholesky_decomp1(&hv.matrix) != GSL_SUCCESS ||
            gsl_linalg_cholesky_solve(&hv.matrix, &gv.vector, &sv.vector) != GSL_SUCCESS) {
            /* no scaled gradient without a positive definite Hessian: lme4 then checks |g|∞ */
            *rel_grad = 0.0;
            for (size_t i = 0; i < k; i++)
                *rel_grad = fmax(*rel_grad, fabs(g[i]));
            return 0;
        }
        for (size_t i = 0; i < k; i++) {
            size = fmax(size, fabs(step[i]));
            scale = fmax(scale, fabs(theta[i]));
        }
        *rel_grad = size;
        if (size < 1e-9 * scale)
            return 1;
        for (int half = 0; half < 5; half++, lambda /= 2.0) {
            for (size_t i = 0; i < k; i++)
                trial[i] = theta[i] - lambda * step[i];
            f1 = opt_deviance(c->b, trial);
            if (f1 <= f0)
                break;
        }
        if (!(f1 <= f0 + noise))
            return size < 1e-5 * scale ? 1 : 0;
        if (f1 < f0)
            memcpy(theta, trial, k * sizeof *theta);
        if (f0 - f1 <= noise && size < 1e-5 * scale)
            return 1;
        f0 = fmin(f0, f1);
    }
    return 0;
}

/* lme4's representative of θ: non-negative diagonal of T. */
static void theta_canonical(double *theta, size_t nt)
{
    if (theta[0] < 0.0) {
        theta[0] = -theta[0];
        if (nt == 3)
            theta[1] = -theta[1];
    }
    if (nt == 3 && theta[2] < 0.0)
        theta[2] = -theta[2];
}

/* ------------------------------------------------------- Satterthwaite */

/*
 * lmerTest's deviance as a function of the variance parameters (θ, σ),
 * with β at its conditional estimate (lmerTest's devfun_vp and get_covbeta).
 * The last θ is remembered: steps in σ alone need no new evaluation.
 */
struct vp_ctx {
    struct ana_lmm_blocks *b;
    size_t nt;
    int have;
    double theta[3];
    double *sinv; /* [p*p] (R_XᵀR_X)⁻¹ at theta */
};

static int vp_at(struct vp_ctx *c, const double *theta)
{
    if (c->have && memcmp(c->theta, theta, c->nt * sizeof *theta) == 0)
        return 0;
    c->have = 0;
    if (ana_lmm_blocks_eval(c->b, theta) != 0 || ana_lmm_blocks_unscaled_vcov(c->b, c->sinv) != 0)
        return -1;
    memcpy(c->theta, theta, c->nt * sizeof *theta);
    c->have = 1;
    return 0;
}

static int vp_deviance(const double *vp, double *f, void *ctx)
{
    struct vp_ctx *c = ctx;
    const struct ana_lmm_blocks *b = c->b;
    double s2 = vp[c->nt] * vp[c->nt], l2ps = log(2.0 * M_PI * s2);

    if (vp_at(c, vp) != 0)
        return -1;
    *f = b->ldL2 + b->r2 / s2 + (double)b->n * l2ps;
    if (b->reml)
        *f += b->ldRX2 - (double)b->p * l2ps;
    return 0;
}

static int vp_covbeta(const double *vp, double *f, void *ctx)
{
    struct vp_ctx *c = ctx;
    const size_t pp = c->b->p * c->b->p;
    double s2 = vp[c->nt] * vp[c->nt];

    if (vp_at(c, vp) != 0)
        return -1;
    for (size_t i = 0; i < pp; i++)
        f[i] = s2 * c->sinv[i];
    return 0;
}

/*
 * vcov_varpar = 2·H⁺ with H the Hessian of the deviance in (θ, σ), inverted
 * on its eigenvalues above 1e-8 as lmerTest does (a boundary fit has a zero
 * eigenvalue), and the Jacobian of vcov(β) in the same parameters.
 */
static int satt_prepare(struct ana_lmm_fit *f, struct ana_lmm_blocks *b)
{
    const size_t k = f->n_theta + 1, p = f->p;
    double vp[4], g[4], h[16], *jac = NULL;
    struct vp_ctx c = {b, f->n_theta, 0, {0, 0, 0}, NULL};
    gsl_eigen_symmv_workspace *w = NULL;
    gsl_matrix *evec = NULL;
    gsl_vector *eval = NULL;
    int rc = -1;

    memcpy(vp, f->theta, f->n_theta * sizeof *vp);
    vp[f->n_theta] = f->sd_residual;
    f->n_varpar = k;
    f->vcov_varpar = calloc(k * k, sizeof *f->vcov_varpar);
    f->jac = calloc(k * p * p, sizeof *f->jac);
    c.sinv = malloc(p * p * sizeof *c.sinv);
    jac = malloc(p * p * k * sizeof *jac);
    w = gsl_eigen_symmv_alloc(k);
    evec = gsl_matrix_alloc(k, k);
    eval = gsl_vector_alloc(k);
    if (!f->vcov_varpar || !f->jac || !c.sinv || !jac || !w || !evec || !eval)
        goto out;
    if (ana_lmm_hessian(vp_deviance, &c, vp, k, g, h) != 0)
        goto out;
    {
        gsl_matrix_view hv = gsl_matrix_view_array(h, k, k);
        if (gsl_eigen_symmv(&hv.matrix, eval, evec, w) != GSL_SUCCESS)
            goto out;
    }
    for (size_t m = 0; m < k; m++) {
        double lam = gsl_vector_get(eval, m);
        if (!(lam > 1e-8))
            continue;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++)
                f->vcov_varpar[i * k + j] +=
                    2.0 * gsl_matrix_get(evec, i, m) * gsl_matrix_get(evec, j, m) / lam;
    }
    c.have = 0;
    if (ana_lmm_jacobian(vp_covbeta, &c, vp, k, p * p, jac) != 0)
        goto out;
    for (size_t i = 0; i < k; i++)
        for (size_t m = 0; m < p * p; m++)
            f->jac[i * p * p + m] = jac[m * k + i];
    rc = 0;
out:
    free(c.sinv);
    free(jac);
    gsl_eigen_symmv_free(w);
    gsl_matrix_free(evec);
    gsl_vector_free(eval);
    return rc;
}

static double qform(const double *L, const double *V, size_t p)
{
    double s = 0.0;

    for (size_t i = 0; i < p; i++) {
        double r = 0.0;
        for (size_t j = 0; j < p; j++)
            r += V[i * p + j] * L[j];
        s += L[i] * r;
    }
    return s;
}

/* Satterthwaite's df of L·β: 2·(LᵀVL)² / (gᵀ A g), g_i = Lᵀ(∂V/∂φ_i)L (lmerTest's contest1D). */
static double satt_df(const struct ana_lmm_fit *f, const double *L, double var)
{
    const size_t k = f->n_varpar, p = f->p;
    double g[4], denom = 0.0;

    for (size_t i = 0; i < k; i++)
        g[i] = qform(L, f->jac + i * p * p, p);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            denom += g[i] * f->vcov_varpar[i * k + j] * g[j];
    return denom > 0.0 ? 2.0 * var * var / denom : NAN;
}

static double t_two_sided_p(double t, double df)
{
    if (isnan(df) || isnan(t))
        return NAN;
    return 2.0 * gsl_cdf_tdist_Q(fabs(t), df);
}

/* -------------------------------------------------------------- the fit */

static int check_input(const struct ana_lmm_data *d, const struct ana_lmm_spec *s, struct err *e)
{
    if (d == NULL || s == NULL || d->n == 0 || d->group == NULL || d->time == NULL || d->y == NULL)
        return err_set(e, ANA_LMM_EINVAL, "no observations to fit");
    if (s->random != ANA_LMM_RANDOM_INTERCEPT && s->random != ANA_LMM_RANDOM_SLOPE)
        return err_set(e, ANA_LMM_EINVAL, "unknown random-effects structure");
    if (s->method != ANA_LMM_REML && s->method != ANA_LMM_ML)
        return err_set(e, ANA_LMM_EINVAL, "unknown estimation method");
    if (s->interaction && d->group_arm == NULL)
        return err_set(e, ANA_LMM_EINVAL, "a time-by-arm interaction needs an arm");
    if (d->group_arm != NULL && (d->arms == NULL || d->n_arms == 0))
        return err_set(e, ANA_LMM_EINVAL, "arm indices without arm names");
    if (d->n_covariates > ANA_LMM_MAX_COVARIATES)
        return err_set(e, ANA_LMM_EINVAL, "more than %d covariates", ANA_LMM_MAX_COVARIATES);
    for (size_t c = 0; c < d->n_covariates; c++)
        if (d->covariates == NULL || d->covariates[c].value == NULL ||
            d->covariates[c].name == NULL)
            return err_set(e, ANA_LMM_EINVAL, "covariate %zu has no values or no name", c);
    for (size_t o = 0; o < d->n; o++) {
        if (d->group[o] >= d->n_groups)
            return err_set(e, ANA_LMM_EINVAL, "observation %zu names participant %u of %zu", o,
                           d->group[o], d->n_groups);
        if (!isfinite(d->time[o]) || !isfinite(d->y[o]))
            return err_set(e, ANA_LMM_EINVAL, "observation %zu is not a finite number", o);
        for (size_t c = 0; c < d->n_covariates; c++)
            if (!isfinite(d->covariates[c].value[o]))
                return err_set(e, ANA_LMM_EINVAL,
                               "covariate \"%s\" is not finite at observation "
                               "%zu",
                               d->covariates[c].name, o);
    }
    return 0;
}

/*
 * lme4's checks before a fit (lmerControl's check.nlev.gtr.1,
 * check.nobs.vs.nlev, check.nobs.vs.nRE, all "stop" by default), and a score
 * that does not vary.
 */
static int check_identifiable(const struct ana_lmm_fit *f, size_t J, size_t q, double yy,
                              struct err *e)
{
    if (J < 2) {
        err_set(e, ANA_LMM_EDATA, "a mixed model needs more than one participant");
        err_detail(e, "The data hold scores of %zu participant.", J);
        return ANA_LMM_EDATA;
    }
    if (f->n_obs <= J) {
        err_set(e, ANA_LMM_EDATA, "too few observations: %zu for %zu participants", f->n_obs, J);
        err_detail(e, "A mixed model needs more observations than participants; with one score "
                      "per participant the random intercept cannot be told from the residual.");
        return ANA_LMM_EDATA;
    }
    if (f->n_obs <= q * J) {
        err_set(e, ANA_LMM_EDATA,
                "too few observations for a random slope: %zu for %zu random effects", f->n_obs,
                q * J);
        err_detail(e, "A random intercept and slope per participant need more observations "
                      "than twice the number of participants.");
        err_hint(e, "Fit a random intercept only (--random intercept).");
        return ANA_LMM_EDATA;
    }
    if (f->n_obs <= f->p)
        return err_set(e, ANA_LMM_EDATA, "too few observations: %zu for %zu fixed effects",
                       f->n_obs, f->p);
    if (!(yy > 0.0)) {
        err_set(e, ANA_LMM_EDATA, "the score does not vary");
        err_detail(e, "Every observation has the same score; there is nothing to model.");
        return ANA_LMM_EDATA;
    }
    return 0;
}

static int fit_design(struct ana_lmm_fit *f, const struct ana_lmm_data *d,
                      const unsigned char *has_obs, struct err *e)
{
    struct layout l;
    int rc;

    if (design_times(f, d) != 0)
        return err_set(e, ANA_LMM_ENOMEM, "out of memory");
    if (f->n_times < 2) {
        err_set(e, ANA_LMM_EDATA, "every score is at the same time");
        err_detail(e, "A model of change over time needs scores at two times at least.");
        return ANA_LMM_EDATA;
    }
    if (f->spec.time_categorical && f->n_times > ANA_LMM_MAX_FIXED)
        return err_set(e, ANA_LMM_EINVAL, "too many distinct times for a categorical time: %zu",
                       f->n_times);
    if (d->group_arm != NULL && (rc = design_levels(f, d, has_obs, f->spec.arm_ref, e)) != 0)
        return rc;
    if (d->group_arm == NULL)
        f->spec.arm_ref = NULL;
    f->n_covariates = d->n_covariates;
    if (d->n_covariates > 0) {
        f->covariate_names = calloc(d->n_covariates, sizeof *f->covariate_names);
        f->covariate_mean = calloc(d->n_covariates, sizeof *f->covariate_mean);
        if (f->covariate_names == NULL || f->covariate_mean == NULL)
            return err_set(e, ANA_LMM_ENOMEM, "out of memory");
    }
    for (size_t c = 0; c < d->n_covariates; c++) {
        double s = 0.0;
        if ((f->covariate_names[c] = strdup(d->covariates[c].name)) == NULL)
            return err_set(e, ANA_LMM_ENOMEM, "out of memory");
        for (size_t o = 0; o < d->n; o++)
            s += d->covariates[c].value[o];
        f->covariate_mean[c] = s / (double)d->n;
    }
    l = layout_of(f);
    if (l.p > ANA_LMM_MAX_FIXED)
        return err_set(e, ANA_LMM_EINVAL, "too many fixed effects: %zu (at most %d)", l.p,
                       ANA_LMM_MAX_FIXED);
    f->p = l.p;
    if (design_names(f, &l, d->time_name ? d->time_name : "time",
                     d->arm_name ? d->arm_name : "arm") != 0)
        return err_set(e, ANA_LMM_ENOMEM, "out of memory");
    return 0;
}

/* Optimises θ and fills the estimates, the likelihood and the variance components. */
static int fit_optimise(struct ana_lmm_fit *f, struct ana_lmm_blocks *b, struct err *e)
{
    const size_t nt = f->n_theta, p = f->p;
    struct opt_ctx c = {b, nt};
    double th[3] = {1.0, 0.0, 1.0}, best[3], rel_grad = INFINITY, dev, s2, np;
    int conv, newton;

    conv = opt_simplex(&c, th, 0.5, 1e-4, 4000);
    if (conv < 0)
        return err_set(e, ANA_LMM_ENUM, "the optimiser could not start");
    newton = opt_newton(&c, th, &rel_grad);
    if (newton <= 0) {
        /*
         * Newton could not finish (a flat direction, as when a variance is
         * 0): a second, smaller simplex from here, the usual guard against
         * a simplex that collapsed early, then the scaled gradient again.
         */
        memcpy(best, th, sizeof th);
        if (opt_simplex(&c, th, 0.05, 1e-8, 4000) < 0)
            return err_set(e, ANA_LMM_ENUM, "the optimiser could not restart");
        if (opt_deviance(b, th) > opt_deviance(b, best))
            memcpy(th, best, sizeof th);
        if (opt_newton(&c, th, &rel_grad) < 0)
            rel_grad = INFINITY;
    }
    theta_canonical(th, nt);
    for (size_t i = 0; i < nt; i++) {
        if (!(fabs(th[i]) < 1e7)) {
            err_set(e, ANA_LMM_EDATA, "the residual variance is zero");
            err_detail(e,
                       "The participants' own intercepts%s fit every score exactly; a mixed "
                       "model needs variation within participants.",
                       nt == 3 ? " and slopes" : "");
            return ANA_LMM_EDATA;
        }
    }
    if (ana_lmm_blocks_eval(b, th) != 0)
        return err_set(e, ANA_LMM_ENUM, "the deviance cannot be evaluated at the optimum");
    dev = ana_lmm_blocks_profiled(b);
    memcpy(f->theta, th, sizeof th);
    f->converged = conv == 1 && rel_grad < 2e-3;
    f->singular = th[0] < 1e-4 || (nt == 3 && th[2] < 1e-4);

    s2 = b->r2 / (b->reml ? (double)(b->n - p) : (double)b->n);
    f->sd_residual = sqrt(s2);
    if (!(f->sd_residual > 1e-10 * sqrt(b->yy / (double)b->n))) {
        err_set(e, ANA_LMM_EDATA, "the residual variance is zero");
        err_detail(e, "The fixed and random effects fit every score exactly.");
        return ANA_LMM_EDATA;
    }
    f->sd_intercept = f->sd_residual * th[0];
    f->sd_slope = f->corr = NAN;
    if (nt == 3) {
        double sl = sqrt(th[1] * th[1] + th[2] * th[2]);
        f->sd_slope = f->sd_residual * sl;
        f->corr = th[0] > 0.0 && sl > 0.0 ? th[1] / sl : NAN;
    }
    if (ana_lmm_blocks_unscaled_vcov(b, f->vcov) != 0)
        return err_set(e, ANA_LMM_ENUM, "the fixed-effect covariance is not positive definite");
    for (size_t i = 0; i < p * p; i++)
        f->vcov[i] *= s2;
    for (size_t j = 0; j < p; j++)
        f->fixed[j].estimate = b->beta[j];
    f->fixed[0].estimate += b->y_mean;

    np = (double)f->n_params;
    f->loglik = -dev / 2.0;
    f->aic = dev + 2.0 * np;
    f->bic = dev + np * log((double)f->n_obs);
    f->reml_criterion = b->reml ? dev : NAN;
    f->deviance = b->reml ? NAN : dev;
    return 0;
}

int ana_lmm_fit(const struct ana_lmm_data *d, const struct ana_lmm_spec *spec,
                struct ana_lmm_fit **out, struct err *e)
{
    struct ana_lmm_fit *f = NULL;
    struct ana_lmm_blocks b;
    unsigned char *has_obs = NULL;
    uint32_t *compact = NULL;
    int32_t *group_level = NULL;
    size_t J = 0, q;
    int rc;

    memset(&b, 0, sizeof b);
    if ((rc = check_input(d, spec, e)) != 0)
        return rc;
    rc = ANA_LMM_ENOMEM;
    f = calloc(1, sizeof *f);
    has_obs = calloc(d->n_groups, 1);
    compact = malloc(d->n_groups * sizeof *compact);
    if (f == NULL || has_obs == NULL || compact == NULL)
        goto nomem;
    f->spec = *spec;
    q = spec->random == ANA_LMM_RANDOM_SLOPE ? 2 : 1;
    f->n_theta = q == 2 ? 3 : 1;
    for (size_t o = 0; o < d->n; o++)
        has_obs[d->group[o]] = 1;
    for (size_t g = 0; g < d->n_groups; g++)
        compact[g] = has_obs[g] ? (uint32_t)J++ : UINT32_MAX;
    f->n_obs = d->n;
    f->n_groups = J;

    if ((rc = fit_design(f, d, has_obs, e)) != 0)
        goto out;
    f->n_params = f->p + q * (q + 1) / 2 + 1;
    if (d->group_arm != NULL) {
        if ((group_level = malloc(d->n_groups * sizeof *group_level)) == NULL)
            goto nomem;
        for (size_t g = 0; g < d->n_groups; g++)
            group_level[g] = has_obs[g] ? ana_lmm_level_of_arm(f, d->group_arm[g]) : -1;
    }
    f->fixed = calloc(f->p, sizeof *f->fixed);
    f->vcov = calloc(f->p * f->p, sizeof *f->vcov);
    if (f->fixed == NULL || f->vcov == NULL || blocks_build(&b, f, d, compact, J, group_level) != 0)
        goto nomem;
    if ((rc = check_identifiable(f, J, q, b.yy, e)) != 0)
        goto out;
    if ((rc = rank_check(&b, f->names, e)) != 0)
        goto out;
    if ((rc = fit_optimise(f, &b, e)) != 0)
        goto out;
    if (satt_prepare(f, &b) != 0) {
        rc = err_set(e, ANA_LMM_ENUM, "the Satterthwaite degrees of freedom cannot be computed");
        goto out;
    }
    for (size_t j = 0; j < f->p; j++) {
        struct ana_lmm_coef *c = &f->fixed[j];
        double var = f->vcov[j * f->p + j];
        double *L = calloc(f->p, sizeof *L);
        if (L == NULL)
            goto nomem;
        L[j] = 1.0;
        c->se = sqrt(var);
        c->t = c->estimate / c->se;
        c->df = satt_df(f, L, var);
        c->p = t_two_sided_p(c->t, c->df);
        free(L);
    }
    f->n_evaluations = b.n_eval;
    *out = f;
    f = NULL;
    rc = 0;
    goto out;
nomem:
    rc = err_set(e, ANA_LMM_ENOMEM, "out of memory");
out:
    ana_lmm_blocks_free(&b);
    ana_lmm_fit_free(f);
    free(has_obs);
    free(compact);
    free(group_level);
    return rc;
}

void ana_lmm_fit_free(struct ana_lmm_fit *f)
{
    if (f == NULL)
        return;
    for (size_t j = 0; f->names != NULL && j < f->p; j++)
        free(f->names[j]);
    free(f->names);
    free(f->fixed);
    free(f->vcov);
    free(f->times);
    for (size_t i = 0; f->levels != NULL && i < f->n_levels; i++)
        free(f->levels[i]);
    free(f->levels);
    free(f->level_arm);
    for (size_t c = 0; f->covariate_names != NULL && c < f->n_covariates; c++)
        free(f->covariate_names[c]);
    free(f->covariate_names);
    free(f->covariate_mean);
    free(f->vcov_varpar);
    free(f->jac);
    free(f);
}

/* ------------------------------------------------ means and contrasts */

int ana_lmm_level_of_arm(const struct ana_lmm_fit *f, int arm)
{
    for (size_t i = 0; i < f->n_levels; i++)
        if (f->level_arm[i] == arm)
            return (int)i;
    return -1;
}

int ana_lmm_design_row(const struct ana_lmm_fit *f, double time, int arm, const double *covariates,
                       double *row, struct err *e)
{
    const struct layout l = layout_of(f);
    long ti = 0;
    int level = -1;

    if (f->spec.time_categorical && (ti = time_index(f, time)) < 0) {
        char buf[64];
        fmt_level(buf, sizeof buf, time);
        err_set(e, ANA_LMM_EINVAL, "no time %s in the data", buf);
        err_detail(e, "With a categorical time, means exist only at the observed times.");
        return ANA_LMM_EINVAL;
    }
    if (!isfinite(time))
        return err_set(e, ANA_LMM_EINVAL, "the time is not a finite number");
    if (f->n_levels > 0 && arm >= 0 && (level = ana_lmm_level_of_arm(f, arm)) < 0)
        return err_set(e, ANA_LMM_EINVAL, "arm %d is not in the model", arm);
    design_fill(f, &l, (size_t)ti, time, level, covariates ? covariates : f->covariate_mean, row);
    return 0;
}

int ana_lmm_contrast(const struct ana_lmm_fit *f, const double *L, struct ana_lmm_estimate *out,
                     struct err *e)
{
    double est = 0.0, var = qform(L, f->vcov, f->p), q;

    for (size_t j = 0; j < f->p; j++)
        est += L[j] * f->fixed[j].estimate;
    if (!(var > 0.0))
        return err_set(e, ANA_LMM_EINVAL, "the contrast has no variance");
    out->estimate = est;
    out->se = sqrt(var);
    out->df = satt_df(f, L, var);
    out->t = est / out->se;
    out->p = t_two_sided_p(out->t, out->df);
    q = isnan(out->df) ? NAN : gsl_cdf_tdist_Qinv(0.025, out->df);
    out->ci95[0] = est - q * out->se;
    out->ci95[1] = est + q * out->se;
    return 0;
}

int ana_lmm_mean(const struct ana_lmm_fit *f, double time, int arm, struct ana_lmm_estimate *out,
                 struct err *e)
{
    double L[ANA_LMM_MAX_FIXED];
    int rc;

    if ((rc = ana_lmm_design_row(f, time, arm, NULL, L, e)) != 0)
        return rc;
    return ana_lmm_contrast(f, L, out, e);
}

int ana_lmm_reduction(const struct ana_lmm_fit *f, double pre, double post, int arm,
                      struct ana_lmm_reduction *out, struct err *e)
{
    double L0[ANA_LMM_MAX_FIXED], L1[ANA_LMM_MAX_FIXED], Ld[ANA_LMM_MAX_FIXED];
    struct ana_lmm_reduction r;
    double m0 = 0.0, m1 = 0.0, v00, v11, v01 = 0.0, g0, g1, z;
    int rc;

    memset(&r, 0, sizeof r);
    if ((rc = ana_lmm_design_row(f, pre, arm, NULL, L0, e)) != 0 ||
        (rc = ana_lmm_design_row(f, post, arm, NULL, L1, e)) != 0)
        return rc;
    for (size_t j = 0; j < f->p; j++) {
        Ld[j] = L0[j] - L1[j];
        m0 += L0[j] * f->fixed[j].estimate;
        m1 += L1[j] * f->fixed[j].estimate;
    }
    if ((rc = ana_lmm_contrast(f, Ld, &r.points, e)) != 0)
        return rc;
    r.pre = pre;
    r.post = post;
    r.mean_pre = m0;
    r.mean_post = m1;
    /*
     * Delta method for g(m0, m1) = 100(m0 − m1)/m0: ∂g/∂m0 = 100·m1/m0²,
     * ∂g/∂m1 = −100/m0, Var g ≈ ∇gᵀ Cov(m0, m1) ∇g (e.g. Casella & Berger
     * 2002, theorem 5.5.24), with a normal interval as car::deltaMethod.
     */
    r.has_percent = m0 != 0.0;
    if (r.has_percent) {
        v00 = qform(L0, f->vcov, f->p);
        v11 = qform(L1, f->vcov, f->p);
        for (size_t i = 0; i < f->p; i++)
            for (size_t j = 0; j < f->p; j++)
                v01 += L0[i] * f->vcov[i * f->p + j] * L1[j];
        g0 = 100.0 * m1 / (m0 * m0);
        g1 = -100.0 / m0;
        r.percent = 100.0 * (m0 - m1) / m0;
        r.percent_se = sqrt(fmax(0.0, g0 * g0 * v00 + 2.0 * g0 * g1 * v01 + g1 * g1 * v11));
        z = gsl_cdf_ugaussian_Pinv(0.975);
        r.percent_ci95[0] = r.percent - z * r.percent_se;
        r.percent_ci95[1] = r.percent + z * r.percent_se;
    } else {
        r.percent = r.percent_se = r.percent_ci95[0] = r.percent_ci95[1] = NAN;
    }
    *out = r;
    return 0;
}
