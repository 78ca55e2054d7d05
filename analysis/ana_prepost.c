/*
 * ana_prepost.c — statistics of one group measured at baseline and follow-up
 * (see ana_prepost.h for the definitions and their references).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "ana_nct.h"
#include "ana_prepost.h"

/* Jacobson & Truax's reliable-change criterion: |RCI| > 1.96, the literal
 * value of their paper (and of the reference computations), not qnorm(0.975). */
#define ANA_RCI_CRITICAL 1.96

int ana_paired_summary(const double *pre, const double *post, size_t n, struct ana_paired *out,
                       struct err *e)
{
    struct ana_paired s;
    double *diff = NULL, sxy = 0, sxx = 0, syy = 0;
    int rc;

    if (n < 2) {
        err_set(e, ANA_ETOOFEW, "too few participants");
        err_detail(e,
                   "A pre/post analysis needs at least 2 participants with both scores; "
                   "there %s %zu.",
                   n == 1 ? "is" : "are", n);
        return ANA_ETOOFEW;
    }
    diff = malloc(n * sizeof *diff);
    if (diff == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        diff[i] = pre[i] - post[i];
    memset(&s, 0, sizeof s);
    s.n = n;
    if ((rc = ana_describe(pre, n, &s.pre, e)) != 0 ||
        (rc = ana_describe(post, n, &s.post, e)) != 0 ||
        (rc = ana_describe(diff, n, &s.diff, e)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        double dx = pre[i] - s.pre.mean, dy = post[i] - s.post.mean;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    s.has_r = sxx > 0 && syy > 0;
    s.r_pre_post = s.has_r ? sxy / sqrt(sxx * syy) : 0.0;
    *out = s;
    rc = 0;
out:
    free(diff);
    return rc;
}

static int ana_zero_diff_var(const struct ana_paired *s, const char *what, struct err *e)
{
    err_set(e, ANA_EZEROVAR, "%s is undefined: the differences have zero variance", what);
    err_detail(e, "Every participant changed by exactly %g points.", s->diff.mean);
    return ANA_EZEROVAR;
}

int ana_paired_t(const struct ana_paired *s, double level, struct ana_ttest *out, struct err *e)
{
    struct ana_ttest t;
    double q;

    if (!(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", level);
    if (s->diff.sd == 0)
        return ana_zero_diff_var(s, "the paired t test", e);
    t.df = (double)(s->n - 1);
    t.estimate = s->diff.mean;
    t.se = s->diff.se;
    t.t = t.estimate / t.se;
    t.p = 2.0 * gsl_cdf_tdist_Q(fabs(t.t), t.df);
    q = ana_t_crit(level, t.df);
    t.ci.lo = t.estimate - q * t.se;
    t.ci.hi = t.estimate + q * t.se;
    *out = t;
    return 0;
}

int ana_d_z(const struct ana_paired *s, double level, struct ana_effect *out, struct err *e)
{
    struct ana_ci ncp;
    double rootn = sqrt((double)s->n);
    int rc;

    if (s->diff.sd == 0)
        return ana_zero_diff_var(s, "d_z", e);
    if ((rc = ana_nct_ncp_ci(s->diff.mean / s->diff.se, (double)(s->n - 1), level, &ncp, e)) != 0)
        return rc;
    out->value = s->diff.mean / s->diff.sd;
    out->ci.lo = ncp.lo / rootn;
    out->ci.hi = ncp.hi / rootn;
    return 0;
}

int ana_d_av(const struct ana_paired *s, double *out, struct err *e)
{
    double sd_av = (s->pre.sd + s->post.sd) / 2.0;

    if (sd_av == 0) {
        err_set(e, ANA_EZEROVAR, "d_av is undefined: both occasions have zero variance");
        return ANA_EZEROVAR;
    }
    *out = s->diff.mean / sd_av;
    return 0;
}

int ana_d_rm(const struct ana_paired *s, double *out, struct err *e)
{
    if (!s->has_r) {
        err_set(e, ANA_EZEROVAR, "d_rm is undefined: an occasion has zero variance");
        err_detail(e, "d_rm needs the correlation of pre and post scores.");
        return ANA_EZEROVAR;
    }
    if (s->diff.sd == 0)
        return ana_zero_diff_var(s, "d_rm", e);
    *out = s->diff.mean / s->diff.sd * sqrt(2.0 * (1.0 - s->r_pre_post));
    return 0;
}

int ana_g_av(const struct ana_paired *s, enum ana_hedges_j j, double *out, struct err *e)
{
    double d, J;
    int rc;

    if ((rc = ana_d_av(s, &d, e)) != 0)
        return rc;
    if ((rc = ana_hedges_j((double)(s->n - 1), j, &J, e)) != 0)
        return rc;
    *out = d * J;
    return 0;
}

int ana_glass_delta_pre(const struct ana_paired *s, double *out, struct err *e)
{
    if (s->pre.sd == 0) {
        err_set(e, ANA_EZEROVAR,
                "Glass's delta is undefined: the baseline scores have zero "
                "variance");
        return ANA_EZEROVAR;
    }
    *out = s->diff.mean / s->pre.sd;
    return 0;
}

static int ana_cmp_abs(const void *a, const void *b)
{
    double x = fabs(*(const double *)a), y = fabs(*(const double *)b);

    return (x > y) - (x < y);
}

int ana_wilcoxon_paired(const double *pre, const double *post, size_t n, struct ana_wilcoxon *out,
                        struct err *e)
{
    struct ana_wilcoxon w;
    double *d = malloc((n ? n : 1) * sizeof *d);
    double m, ties = 0, centre, correction;
    size_t nz = 0;
    int rc = ANA_ENOMEM;

    if (d == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    memset(&w, 0, sizeof w);
    /* The differences exactly as R forms them (x - y in double), so that
     * ties and zeros are the same ones R sees. */
    for (size_t i = 0; i < n; i++) {
        double v = pre[i] - post[i];
        if (v != 0)
            d[nz++] = v;
    }
    w.n_nonzero = nz;
    w.n_zero = n - nz;
    if (nz == 0) {
        rc = err_set(e, ANA_ETOOFEW, "the signed-rank test is undefined: every difference is zero");
        goto out;
    }
    qsort(d, nz, sizeof *d, ana_cmp_abs);
    /* Mid-ranks over runs of equal |d|; each run of t adds t^3 - t to the
     * tie correction. */
    for (size_t i = 0; i < nz;) {
        size_t j = i;
        double rank, t;
        while (j + 1 < nz && fabs(d[j + 1]) == fabs(d[i]))
            j++;
        rank = ((double)i + (double)j) / 2.0 + 1.0;
        t = (double)(j - i + 1);
        ties += t * t * t - t;
        for (size_t k = i; k <= j; k++) {
            if (d[k] > 0)
                w.V += rank;
            else
                w.t_minus += rank;
        }
        i = j + 1;
    }
    m = (double)nz;
    w.sigma = sqrt(m * (m + 1) * (2 * m + 1) / 24.0 - ties / 48.0);
    if (!(w.sigma > 0)) {
        rc = err_set(e, ANA_EZEROVAR, "the signed-rank test is undefined: its variance is zero");
        goto out;
    }
    centre = w.V - m * (m + 1) / 4.0;
    correction = centre > 0 ? 0.5 : centre < 0 ? -0.5 : 0.0;
    w.z = (centre - correction) / w.sigma;
    w.p = 2.0 * fmin(gsl_cdf_ugaussian_P(w.z), gsl_cdf_ugaussian_Q(w.z));
    *out = w;
    rc = 0;
out:
    free(d);
    return rc;
}

int ana_rank_biserial(const struct ana_wilcoxon *w, double level, struct ana_effect *out,
                      struct err *e)
{
    double m = (double)w->n_nonzero, max_w, r, se, z, q;

    if (w->n_nonzero == 0)
        return err_set(e, ANA_ETOOFEW,
                       "the rank-biserial correlation needs a non-zero "
                       "difference");
    if (!(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", level);
    max_w = m * (m + 1) / 2.0;
    r = (w->V - w->t_minus) / max_w;
    out->value = r;
    if (fabs(r) >= 1.0) {
        /* atanh(+-1) is infinite: effectsize reports the point as its interval. */
        out->ci.lo = out->ci.hi = r;
        return 0;
    }
    se = sqrt((2 * m * m * m + 3 * m * m + m) / 6.0) / max_w;
    z = atanh(r);
    q = ana_z_crit(level);
    out->ci.lo = tanh(z - q * se);
    out->ci.hi = tanh(z + q * se);
    return 0;
}

int ana_pct_reduction_means(const struct ana_paired *s, double *out, struct err *e)
{
    if (s->pre.mean == 0) {
        err_set(e, ANA_EZEROBASE,
                "the percentage reduction of group means is undefined: the mean baseline is 0");
        return ANA_EZEROBASE;
    }
    *out = 100.0 * (s->pre.mean - s->post.mean) / s->pre.mean;
    return 0;
}

int ana_pct_individual(const double *pre, const double *post, size_t n,
                       struct ana_pct_individual *out, struct err *e)
{
    struct ana_pct_individual r;
    double *pct = malloc((n ? n : 1) * sizeof *pct), sum = 0;
    int rc = ANA_ENOMEM;

    if (pct == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        if (pre[i] > 0) {
            pct[r.n_used] = 100.0 * (pre[i] - post[i]) / pre[i];
            sum += pct[r.n_used++];
        } else {
            r.n_excluded++;
        }
    }
    if (r.n_used == 0) {
        out->n_used = 0;
        out->n_excluded = r.n_excluded;
        err_set(e, ANA_EZEROBASE,
                "individual percentage reductions are undefined: no baseline is above 0");
        err_detail(e, "All %zu baselines are zero or negative.", n);
        rc = ANA_EZEROBASE;
        goto out;
    }
    r.mean = sum / (double)r.n_used;
    if ((rc = ana_median(pct, r.n_used, &r.median, e)) != 0)
        goto out;
    *out = r;
    rc = 0;
out:
    free(pct);
    return rc;
}

/* Improvement in the instrument's direction, in points (positive = better). */
static double ana_improvement(const struct ana_facts *f, double pre, double post)
{
    return f->higher_is_better ? post - pre : pre - post;
}

/* On the healthy side of a cut-off. */
static int ana_healthy(const struct ana_facts *f, double score, double cutoff)
{
    return f->higher_is_better ? score > cutoff : score < cutoff;
}

int ana_responders(const double *pre, const double *post, size_t n, const struct ana_facts *f,
                   double level, struct ana_responders *out, struct err *e)
{
    struct ana_responders r;
    size_t resp = 0, eligible = 0, base_ok = 0, remitted = 0, mcid_up = 0, mcid_down = 0;
    int rc;

    if (n == 0)
        return err_set(e, ANA_ETOOFEW, "no participants");
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        double gain = ana_improvement(f, pre[i], post[i]);
        if (pre[i] > 0) {
            base_ok++;
            if (100.0 * gain / pre[i] >= f->responder_pct)
                resp++;
        }
        if (f->has_remission && !ana_healthy(f, pre[i], f->remission_cutoff)) {
            eligible++;
            if (ana_healthy(f, post[i], f->remission_cutoff))
                remitted++;
        }
        if (f->has_mcid) {
            if (gain >= f->mcid)
                mcid_up++;
            else if (-gain >= f->mcid)
                mcid_down++;
        }
    }
    r.responders_excluded = n - base_ok;
    if (base_ok > 0) {
        r.has_responders = 1;
        if ((rc = ana_wilson(resp, base_ok, level, &r.responders, e)) != 0)
            return rc;
    }
    if (f->has_remission) {
        r.remission_not_eligible = n - eligible;
        if (eligible > 0) {
            r.has_remission = 1;
            if ((rc = ana_wilson(remitted, eligible, level, &r.remission, e)) != 0)
                return rc;
        }
    }
    if (f->has_mcid) {
        r.has_mcid = 1;
        if ((rc = ana_wilson(mcid_up, n, level, &r.mcid_improved, e)) != 0)
            return rc;
        r.mcid_deteriorated = mcid_down;
        r.mcid_unchanged = n - mcid_up - mcid_down;
    }
    *out = r;
    return 0;
}

int ana_reliable_change(const double *pre, const double *post, size_t n, const struct ana_paired *s,
                        const struct ana_facts *f, struct ana_rci *out, double *rci, struct err *e)
{
    struct ana_rci r;

    if (!f->has_reliability) {
        err_set(e, ANA_ENOFACT, "reliable change needs the instrument's reliability");
        err_hint(e, "Give it with --reliability R (for example the test-retest reliability or "
                    "Cronbach's alpha of the instrument).");
        return ANA_ENOFACT;
    }
    if (!(f->reliability >= 0 && f->reliability < 1))
        return err_set(e, ANA_EINVAL, "reliability %g is outside [0, 1)", f->reliability);
    if (s->pre.sd == 0) {
        err_set(e, ANA_EZEROVAR,
                "reliable change is undefined: the baseline scores have zero "
                "variance");
        return ANA_EZEROVAR;
    }
    memset(&r, 0, sizeof r);
    r.reliability = f->reliability;
    r.sd_pre = s->pre.sd;
    r.se_measurement = r.sd_pre * sqrt(1.0 - r.reliability);
    r.se_diff = sqrt(2.0) * r.se_measurement;
    r.critical = ANA_RCI_CRITICAL;
    r.min_reliable_change = r.critical * r.se_diff;

    /* The cut-off between the clinical and the healthy population. */
    if (f->has_norms && f->norm_sd > 0) {
        double md = f->has_clinical_norms ? f->clinical_mean : s->pre.mean;
        double sdd = f->has_clinical_norms ? f->clinical_sd : s->pre.sd;
        r.criterion = ANA_JT_C;
        r.cutoff = (f->norm_sd * md + sdd * f->norm_mean) / (f->norm_sd + sdd);
    } else {
        r.criterion = ANA_JT_A;
        r.cutoff =
            f->higher_is_better ? s->pre.mean + 2.0 * s->pre.sd : s->pre.mean - 2.0 * s->pre.sd;
    }
    for (size_t i = 0; i < n; i++) {
        double v = (post[i] - pre[i]) / r.se_diff;
        double better = f->higher_is_better ? v : -v;
        if (rci != NULL)
            rci[i] = v;
        if (fabs(v) > r.critical && better > 0) {
            r.improved++;
            if (!ana_healthy(f, pre[i], r.cutoff) && ana_healthy(f, post[i], r.cutoff))
                r.recovered++;
            else
                r.improved_only++;
        } else if (fabs(v) > r.critical) {
            r.deteriorated++;
        } else {
            r.unchanged++;
        }
    }
    *out = r;
    return 0;
}

/* ---- everything at once ---- */

static const char *const ana_prepost_part_names[ANA_PP_COUNT] = {
    [ANA_PP_PAIRED_T] = "paired_t",
    [ANA_PP_D_Z] = "d_z",
    [ANA_PP_D_AV] = "d_av",
    [ANA_PP_D_RM] = "d_rm",
    [ANA_PP_G_AV] = "g_av",
    [ANA_PP_DELTA_PRE] = "delta_pre",
    [ANA_PP_WILCOXON] = "wilcoxon",
    [ANA_PP_RANK_BISERIAL] = "rank_biserial",
    [ANA_PP_PCT_MEANS] = "pct_reduction_group_means",
    [ANA_PP_BOOTSTRAP] = "bootstrap",
    [ANA_PP_PCT_INDIVIDUAL] = "individual_pct_reduction",
    [ANA_PP_RESPONDERS] = "responders",
    [ANA_PP_RELIABLE_CHANGE] = "reliable_change",
};

const char *ana_prepost_part_name(enum ana_prepost_part part)
{
    return (unsigned)part < ANA_PP_COUNT ? ana_prepost_part_names[part] : "unknown";
}

void ana_prepost_opts_init(struct ana_prepost_opts *o)
{
    memset(o, 0, sizeof *o);
    o->level = 0.95;
    o->g_av_j = ANA_J_APPROX;
    ana_boot_opts_init(&o->boot);
}

/* Records a part's outcome; only memory exhaustion stops the whole run. */
static int ana_part(struct ana_prepost *r, enum ana_prepost_part part, int rc, const struct err *pe,
                    struct err *e)
{
    r->status[part] = rc;
    r->why[part][0] = '\0';
    if (rc == ANA_ENOMEM)
        return err_set(e, ANA_ENOMEM, "out of memory");
    if (rc != 0)
        snprintf(r->why[part], sizeof r->why[part], "%s", pe->message);
    return 0;
}

int ana_prepost_run(const double *pre, const double *post, size_t n,
                    const struct ana_prepost_opts *o, const struct ana_facts *f,
                    struct ana_prepost *out, struct err *e)
{
    struct ana_prepost *r = calloc(1, sizeof *r);
    struct ana_boot_opts bo;
    struct err pe;
    int rc;

    if (r == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    if (!(o->level > 0 && o->level < 1)) {
        rc = err_set(e, ANA_EINVAL, "invalid confidence level %g", o->level);
        goto out;
    }
    if ((rc = ana_paired_summary(pre, post, n, &r->summary, e)) != 0)
        goto out;

#define ANA_PART(part, call)                                                                       \
    do {                                                                                           \
        err_clear(&pe);                                                                            \
        if ((rc = ana_part(r, part, (call), &pe, e)) != 0)                                         \
            goto out;                                                                              \
    } while (0)

    ANA_PART(ANA_PP_PAIRED_T, ana_paired_t(&r->summary, o->level, &r->paired_t, &pe));
    ANA_PART(ANA_PP_D_Z, ana_d_z(&r->summary, o->level, &r->d_z, &pe));
    ANA_PART(ANA_PP_D_AV, ana_d_av(&r->summary, &r->d_av, &pe));
    ANA_PART(ANA_PP_D_RM, ana_d_rm(&r->summary, &r->d_rm, &pe));
    ANA_PART(ANA_PP_G_AV, ana_g_av(&r->summary, o->g_av_j, &r->g_av, &pe));
    if (r->status[ANA_PP_G_AV] == 0) {
        /* The other J beside the chosen one, for the record; the exact J needs
         * n >= 3, so with n = 2 only the approximation exists. */
        enum ana_hedges_j other = o->g_av_j == ANA_J_EXACT ? ANA_J_APPROX : ANA_J_EXACT;
        double J;
        if (ana_hedges_j((double)(n - 1), ANA_J_APPROX, &J, &pe) == 0)
            r->j_approx = J;
        if (ana_hedges_j((double)(n - 1), ANA_J_EXACT, &J, &pe) == 0)
            r->j_exact = J;
        r->has_g_av_other_j = ana_g_av(&r->summary, other, &r->g_av_other_j, &pe) == 0;
    }
    ANA_PART(ANA_PP_DELTA_PRE, ana_glass_delta_pre(&r->summary, &r->delta_pre, &pe));
    ANA_PART(ANA_PP_WILCOXON, ana_wilcoxon_paired(pre, post, n, &r->wilcoxon, &pe));
    /* Without the test (every difference zero) the zeroed record makes the
     * rank-biserial correlation fail with the same reason. */
    ANA_PART(ANA_PP_RANK_BISERIAL,
             ana_rank_biserial(&r->wilcoxon, o->level, &r->rank_biserial, &pe));
    ANA_PART(ANA_PP_PCT_MEANS, ana_pct_reduction_means(&r->summary, &r->pct_means, &pe));
    if (o->no_bootstrap) {
        r->status[ANA_PP_BOOTSTRAP] = ANA_EINVAL;
        snprintf(r->why[ANA_PP_BOOTSTRAP], sizeof r->why[0], "the bootstrap was not asked for");
    } else {
        bo = o->boot;
        bo.level = o->level;
        ANA_PART(ANA_PP_BOOTSTRAP, ana_boot_pct_reduction(pre, post, n, &bo, &r->boot, &pe));
    }
    ANA_PART(ANA_PP_PCT_INDIVIDUAL, ana_pct_individual(pre, post, n, &r->pct_individual, &pe));
    if (r->status[ANA_PP_PCT_INDIVIDUAL] == ANA_EZEROBASE) {
        /* The counts say why; keep them even though the statistic is undefined. */
        r->pct_individual.n_used = 0;
        r->pct_individual.n_excluded = n;
    }
    ANA_PART(ANA_PP_RESPONDERS, ana_responders(pre, post, n, f, o->level, &r->responders, &pe));
    ANA_PART(ANA_PP_RELIABLE_CHANGE,
             ana_reliable_change(pre, post, n, &r->summary, f, &r->rci, NULL, &pe));
#undef ANA_PART

    *out = *r;
    rc = 0;
out:
    free(r);
    return rc;
}
