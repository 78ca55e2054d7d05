/*
 * ana_between.c — two arms at follow-up (see ana_between.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>

#include "ana_between.h"
#include "ana_nct.h"

static int ana_too_few_in_arm(const char *which, size_t n, struct err *e)
{
    err_set(e, ANA_ETOOFEW, "the %s arm has %zu participant%s", which, n, n == 1 ? "" : "s");
    err_detail(e, "A comparison of two arms needs at least 2 participants in each, so that "
                  "each arm's standard deviation is defined.");
    return ANA_ETOOFEW;
}

int ana_two_sample(const double *x, size_t nx, const double *y, size_t ny, double level,
                   enum ana_hedges_j j, struct ana_two_sample *out, struct err *e)
{
    struct ana_two_sample r;
    struct ana_ci ncp;
    double vx, vy, q, df, scale;
    int rc;

    if (!(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", level);
    if (nx < 2)
        return ana_too_few_in_arm("test", nx, e);
    if (ny < 2)
        return ana_too_few_in_arm("reference", ny, e);
    memset(&r, 0, sizeof r);
    if ((rc = ana_describe(x, nx, &r.x, e)) != 0 || (rc = ana_describe(y, ny, &r.y, e)) != 0)
        return rc;
    if (r.x.sd == 0 && r.y.sd == 0) {
        err_set(e, ANA_EZEROVAR, "the arms cannot be compared: both have zero variance");
        err_detail(e,
                   "Every score in the test arm is %g and every score in the reference arm "
                   "is %g.",
                   r.x.mean, r.y.mean);
        return ANA_EZEROVAR;
    }
    vx = r.x.sd * r.x.sd / (double)nx;
    vy = r.y.sd * r.y.sd / (double)ny;

    /* Welch (1947): unequal variances, Satterthwaite's df. */
    r.welch.estimate = r.x.mean - r.y.mean;
    r.welch.se = sqrt(vx + vy);
    r.welch.t = r.welch.estimate / r.welch.se;
    r.welch.df = (vx + vy) * (vx + vy) / (vx * vx / (double)(nx - 1) + vy * vy / (double)(ny - 1));
    r.welch.p = 2.0 * gsl_cdf_tdist_Q(fabs(r.welch.t), r.welch.df);
    q = ana_t_crit(level, r.welch.df);
    r.welch.ci.lo = r.welch.estimate - q * r.welch.se;
    r.welch.ci.hi = r.welch.estimate + q * r.welch.se;

    /* Student: the pooled variance. */
    df = (double)(nx + ny - 2);
    r.sd_pooled =
        sqrt(((double)(nx - 1) * r.x.sd * r.x.sd + (double)(ny - 1) * r.y.sd * r.y.sd) / df);
    r.student.estimate = r.welch.estimate;
    r.student.df = df;
    r.student.se = r.sd_pooled * sqrt(1.0 / (double)nx + 1.0 / (double)ny);
    r.student.t = r.student.estimate / r.student.se;
    r.student.p = 2.0 * gsl_cdf_tdist_Q(fabs(r.student.t), df);
    q = ana_t_crit(level, df);
    r.student.ci.lo = r.student.estimate - q * r.student.se;
    r.student.ci.hi = r.student.estimate + q * r.student.se;

    /* Cohen's d and its noncentral-t interval: t = d / sqrt(1/nx + 1/ny). */
    scale = sqrt(1.0 / (double)nx + 1.0 / (double)ny);
    r.cohens_d.value = r.welch.estimate / r.sd_pooled;
    if ((rc = ana_nct_ncp_ci(r.student.t, df, level, &ncp, e)) != 0)
        return rc;
    r.cohens_d.ci.lo = ncp.lo * scale;
    r.cohens_d.ci.hi = ncp.hi * scale;

    r.j_kind = j;
    if ((rc = ana_hedges_j(df, j, &r.j, e)) != 0)
        return rc;
    r.hedges_g.value = r.cohens_d.value * r.j;
    r.hedges_g.ci.lo = r.cohens_d.ci.lo * r.j;
    r.hedges_g.ci.hi = r.cohens_d.ci.hi * r.j;
    *out = r;
    return 0;
}

int ana_ancova(const double *pre, const double *post, const unsigned char *arm, size_t n,
               double level, struct ana_ancova *out, struct err *e)
{
    gsl_multifit_linear_workspace *w = NULL;
    gsl_matrix *X = NULL, *cov = NULL;
    gsl_vector *y = NULL, *c = NULL;
    struct ana_ancova r;
    size_t n1 = 0, rank;
    double mean_pre = 0, chisq, q;
    int status, rc = ANA_ENOMEM;

    if (!(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", level);
    for (size_t i = 0; i < n; i++) {
        n1 += arm[i] != 0;
        mean_pre += pre[i];
    }
    if (n1 == 0 || n1 == n)
        return ana_too_few_in_arm(n1 == 0 ? "test" : "reference", 0, e);
    if (n < 4) {
        err_set(e, ANA_ETOOFEW, "ANCOVA needs at least 4 participants");
        err_detail(e, "Three coefficients leave no residual degree of freedom with %zu.", n);
        return ANA_ETOOFEW;
    }
    mean_pre /= (double)n;
    X = gsl_matrix_alloc(n, 3);
    y = gsl_vector_alloc(n);
    c = gsl_vector_alloc(3);
    cov = gsl_matrix_alloc(3, 3);
    w = gsl_multifit_linear_alloc(n, 3);
    if (X == NULL || y == NULL || c == NULL || cov == NULL || w == NULL) {
        err_set(e, ANA_ENOMEM, "out of memory");
        goto out;
    }
    /* The baseline centred: the arm coefficient and its SE do not change,
     * and the columns are better conditioned. */
    for (size_t i = 0; i < n; i++) {
        gsl_matrix_set(X, i, 0, 1.0);
        gsl_matrix_set(X, i, 1, pre[i] - mean_pre);
        gsl_matrix_set(X, i, 2, arm[i] ? 1.0 : 0.0);
        gsl_vector_set(y, i, post[i]);
    }
    status = gsl_multifit_linear(X, y, c, cov, &chisq, w);
    if (status != GSL_SUCCESS) {
        rc = err_set(e, ANA_ENUMERIC, "ANCOVA: least squares failed: %s", gsl_strerror(status));
        goto out;
    }
    /* Singular values relative to the largest: a rank below 3 means the
     * baseline is constant or confounded with the arm. */
    rank = gsl_multifit_linear_rank(1e-10, w);
    if (rank < 3) {
        err_set(e, ANA_ENUMERIC, "ANCOVA is undefined: the design is singular");
        err_detail(e, "The baseline scores are constant, or determined by the arm.");
        rc = ANA_ENUMERIC;
        goto out;
    }
    memset(&r, 0, sizeof r);
    r.df = (double)(n - 3);
    r.sigma = sqrt(chisq / r.df);
    r.estimate = gsl_vector_get(c, 2);
    r.slope_pre = gsl_vector_get(c, 1);
    r.intercept = gsl_vector_get(c, 0) - r.slope_pre * mean_pre;
    /* For unweighted data GSL estimates cov from the residual scatter:
     * it is already sigma^2 (X'X)^-1. */
    r.se = sqrt(gsl_matrix_get(cov, 2, 2));
    if (!(r.se > 0)) {
        rc = err_set(e, ANA_EZEROVAR, "ANCOVA is undefined: the model fits the data exactly");
        goto out;
    }
    r.t = r.estimate / r.se;
    r.p = 2.0 * gsl_cdf_tdist_Q(fabs(r.t), r.df);
    q = ana_t_crit(level, r.df);
    r.ci.lo = r.estimate - q * r.se;
    r.ci.hi = r.estimate + q * r.se;
    *out = r;
    rc = 0;
out:
    gsl_multifit_linear_free(w);
    gsl_matrix_free(X);
    gsl_matrix_free(cov);
    gsl_vector_free(y);
    gsl_vector_free(c);
    return rc;
}

static const char *const ana_between_part_names[ANA_BT_COUNT] = {
    [ANA_BT_TWO_SAMPLE] = "follow_up",
    [ANA_BT_CHANGE] = "mean_change_difference",
    [ANA_BT_ANCOVA] = "ancova",
};

const char *ana_between_part_name(enum ana_between_part part)
{
    return (unsigned)part < ANA_BT_COUNT ? ana_between_part_names[part] : "unknown";
}

int ana_between_run(const double *pre, const double *post, const unsigned char *arm, size_t n,
                    double level, enum ana_hedges_j j, struct ana_between *out, struct err *e)
{
    struct ana_between *r = calloc(1, sizeof *r);
    double *buf = malloc((n ? n : 1) * 6 * sizeof *buf);
    double *pre1, *post1, *pre0, *post0, *chg1, *chg0;
    struct ana_two_sample chg;
    struct err pe;
    size_t n1 = 0, n0 = 0;
    int rc = ANA_ENOMEM;

    if (r == NULL || buf == NULL) {
        err_set(e, ANA_ENOMEM, "out of memory");
        goto out;
    }
    pre1 = buf, post1 = buf + n, pre0 = buf + 2 * n, post0 = buf + 3 * n;
    chg1 = buf + 4 * n, chg0 = buf + 5 * n;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pre[i]) || !isfinite(post[i])) {
            rc = err_set(e, ANA_EINVAL, "value %zu is not a finite number", i + 1);
            goto out;
        }
        if (arm[i]) {
            pre1[n1] = pre[i], post1[n1] = post[i], chg1[n1] = pre[i] - post[i];
            n1++;
        } else {
            pre0[n0] = pre[i], post0[n0] = post[i], chg0[n0] = pre[i] - post[i];
            n0++;
        }
    }
    r->n_test = n1;
    r->n_ref = n0;
    if (n1 < 2) {
        rc = ana_too_few_in_arm("test", n1, e);
        goto out;
    }
    if (n0 < 2) {
        rc = ana_too_few_in_arm("reference", n0, e);
        goto out;
    }
    err_clear(&pe);
    r->has_test_summary = ana_paired_summary(pre1, post1, n1, &r->test, &pe) == 0;
    r->has_ref_summary = ana_paired_summary(pre0, post0, n0, &r->ref, &pe) == 0;

#define ANA_PART(part, call)                                                                       \
    do {                                                                                           \
        err_clear(&pe);                                                                            \
        r->status[part] = (call);                                                                  \
        if (r->status[part] == ANA_ENOMEM) {                                                       \
            rc = err_set(e, ANA_ENOMEM, "out of memory");                                          \
            goto out;                                                                              \
        }                                                                                          \
        if (r->status[part] != 0)                                                                  \
            snprintf(r->why[part], sizeof r->why[part], "%s", pe.message);                         \
    } while (0)

    ANA_PART(ANA_BT_TWO_SAMPLE, ana_two_sample(post1, n1, post0, n0, level, j, &r->post, &pe));
    ANA_PART(ANA_BT_CHANGE, ana_two_sample(chg1, n1, chg0, n0, level, j, &chg, &pe));
    if (r->status[ANA_BT_CHANGE] == 0)
        r->change = chg.welch;
    ANA_PART(ANA_BT_ANCOVA, ana_ancova(pre, post, arm, n, level, &r->ancova, &pe));
#undef ANA_PART

    *out = *r;
    rc = 0;
out:
    free(r);
    free(buf);
    return rc;
}
