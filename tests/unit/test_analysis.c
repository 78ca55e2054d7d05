/*
 * test_analysis.c — analysis/ against R: every applicable value of
 * tests/fixtures/reference/{anorexia,sleep,bfi}.json, the extra references
 * of tests/fixtures/analysis/extra.json (two arms, R's bootstrap replicates,
 * Wilson intervals, a GAD-7-like data set), and the noncentral t CDF table
 * tests/fixtures/analysis/nct_cdf.csv; then every edge case.
 *
 * Tolerances, as the issue sets them: closed-form values 1e-9 relative,
 * noncentral-t intervals 1e-8 relative, bootstrap limits within four Monte
 * Carlo SDs (the spread over other seeds that the fixtures give).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <jansson.h>

#include "ana_alpha.h"
#include "ana_between.h"
#include "ana_boot.h"
#include "ana_nct.h"
#include "ana_prepost.h"
#include "ds.h"
#include "ds_items.h"
#include "tap.h"

#define CLOSED 1e-9 /* closed-form values */
#define NCTCI  1e-8 /* noncentral-t interval ends */

#define FIXTURE(rel) ATTUNE_SOURCE_ROOT "/tests/fixtures/" rel

/* The largest relative error seen per tolerance class, reported at the end. */
static double worst_closed, worst_nctci;

static void note_error(double got, double want, double tol)
{
    double err = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);

    if (!isfinite(err))
        return;
    if (tol == CLOSED)
        worst_closed = fmax(worst_closed, err);
    else if (tol == NCTCI)
        worst_nctci = fmax(worst_nctci, err);
}

/* Relative agreement: |got - want| <= tol |want| (absolute tol when want is 0). */
#define is_rel(got, want, tol, ...)                                                                \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        double lim_ = w_ == 0 ? (tol) : (tol)*fabs(w_);                                            \
        note_error(g_, w_, (tol));                                                                 \
        if (!tap_ok(isfinite(g_) && fabs(g_ - w_) <= lim_, __FILE__, __LINE__, __VA_ARGS__))       \
            printf("#   got %.17g, want %.17g (relative error %.3g, tolerance %g)\n", g_, w_,      \
                   w_ == 0 ? fabs(g_) : fabs(g_ - w_) / fabs(w_), (double)(tol));                  \
    } while (0)

static json_t *load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);

    if (j == NULL) {
        printf("Bail out! cannot read %s: %s (line %d)\n", path, je.text, je.line);
        exit(1);
    }
    return j;
}

/* A number at a dotted path ("paired_t.mean_diff_ci95.1"); NaN when absent. */
static double jnum(json_t *root, const char *path)
{
    char buf[256], *p = buf, *dot;
    json_t *cur = root;

    snprintf(buf, sizeof buf, "%s", path);
    while (cur != NULL && p != NULL) {
        dot = strchr(p, '.');
        if (dot != NULL)
            *dot = '\0';
        if (json_is_array(cur))
            cur = json_array_get(cur, strtoul(p, NULL, 10));
        else
            cur = json_object_get(cur, p);
        p = dot ? dot + 1 : NULL;
    }
    if (cur == NULL || !json_is_number(cur)) {
        printf("# fixture has no number at %s\n", path);
        return NAN;
    }
    return json_number_value(cur);
}

/* ---- data ---- */

struct pairs {
    size_t n;
    double pre[128], post[128];
    int id[128];
};

/* anorexia.csv: participant_id,Treat,Prewt,Postwt. arm NULL = every row. */
static void load_anorexia(const char *arm, struct pairs *p)
{
    FILE *f = fopen(FIXTURE("reference/anorexia.csv"), "r");
    char line[256], treat[32];
    int id;
    double a, b;

    memset(p, 0, sizeof *p);
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        printf("Bail out! cannot read anorexia.csv\n");
        exit(1);
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "%d,%31[^,],%lf,%lf", &id, treat, &a, &b) != 4)
            continue;
        if (arm != NULL && strcmp(arm, treat) != 0)
            continue;
        p->id[p->n] = id;
        p->pre[p->n] = a;
        p->post[p->n++] = b;
    }
    fclose(f);
}

/* sleep_wide.csv: ID,extra_group1,extra_group2 (drug 1 plays "pre"). */
static void load_sleep(struct pairs *p)
{
    FILE *f = fopen(FIXTURE("reference/sleep_wide.csv"), "r");
    char line[256];
    int id;
    double a, b;

    memset(p, 0, sizeof *p);
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        printf("Bail out! cannot read sleep_wide.csv\n");
        exit(1);
    }
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%d,%lf,%lf", &id, &a, &b) == 3) {
            p->id[p->n] = id;
            p->pre[p->n] = a;
            p->post[p->n++] = b;
        }
    fclose(f);
}

/* ---- the noncentral t CDF against R ---- */

static void test_nct_cdf_table(void)
{
    FILE *f = fopen(FIXTURE("analysis/nct_cdf.csv"), "r");
    char line[512];
    /* Per df: the largest error against the integral and against R's series. */
    double dfs[32], max_int[32] = {0}, max_r[32] = {0};
    size_t n_df = 0, rows = 0, failures = 0, n_r = 0;

    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        ok(0, "nct_cdf.csv is readable");
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        double q, df, ncp, r_pt, integral, p;
        int series;
        size_t k;
        struct err e;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%d,%lf", &q, &df, &ncp, &r_pt, &series, &integral) != 6)
            continue;
        rows++;
        for (k = 0; k < n_df && dfs[k] != df; k++)
            ;
        if (k == n_df && n_df < 32)
            dfs[n_df++] = df;
        if (ana_nct_cdf(q, df, ncp, &p, &e) != 0) {
            failures++;
            printf("# pnt(%g, %g, %g) failed: %s\n", q, df, ncp, e.message);
            continue;
        }
        max_int[k] = fmax(max_int[k], fabs(p - integral));
        if (series) {
            n_r++;
            max_r[k] = fmax(max_r[k], fabs(p - r_pt));
        }
    }
    fclose(f);
    ok(rows > 2800 && failures == 0, "noncentral t CDF computed at all %zu points of the table",
       rows);
    for (size_t k = 0; k < n_df; k++) {
        /* The integral is the independent reference; R's pt() series has its
         * own error bound of about 1e-12 (worse at df = 1e5, see the CSV). */
        ok(max_int[k] < 2e-12, "pnt at df %g: max |error| against the integral %.3g < 2e-12",
           dfs[k], max_int[k]);
        if (dfs[k] <= 4e5)
            ok(max_r[k] < (dfs[k] >= 1e5 ? 5e-11 : 3e-12),
               "pnt at df %g: max |difference| from R's pt() series %.3g", dfs[k], max_r[k]);
    }
    ok(n_r > 1500, "%zu points compared with R's pt() where R sums its series", n_r);
}

/* Interval ends where R's pt() approximates, against roots of the integral. */
static void test_nct_ci_table(void)
{
    FILE *f = fopen(FIXTURE("analysis/nct_ci.csv"), "r");
    char line[512];
    int rows = 0;

    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        ok(0, "nct_ci.csv is readable");
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        double t, df, lo, hi, rlo, rhi;
        struct ana_ci ci;
        struct err e;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf", &t, &df, &lo, &hi, &rlo, &rhi) != 6)
            continue;
        rows++;
        err_clear(&e);
        ok(ana_nct_ncp_ci(t, df, 0.95, &ci, &e) == 0, "ncp interval at t = %g, df = %g: %s", t, df,
           e.message);
        is_rel(ci.lo, lo, NCTCI, "t = %g, df = %g: lower end (R's pt() gives %.6f)", t, df, rlo);
        is_rel(ci.hi, hi, NCTCI, "t = %g, df = %g: upper end (R's pt() gives %.6f)", t, df, rhi);
    }
    fclose(f);
    ok(rows >= 7, "%d intervals checked where R's pt() approximates", rows);
}

static void test_nct_ci(void)
{
    struct ana_ci ci;
    struct err e;
    double p;
    int rc;

    /* The interval's ends solve the defining equations. */
    ok(ana_nct_ncp_ci(50.0, 279, 0.95, &ci, &e) == 0, "ncp interval for t = 50, df = 279");
    ana_nct_cdf(50.0, 279, ci.lo, &p, &e);
    is_rel(p, 0.975, 1e-12, "P(T <= 50; ncp = lower end) = 0.975");
    ana_nct_cdf(50.0, 279, ci.hi, &p, &e);
    is_rel(p, 0.025, 1e-10, "P(T <= 50; ncp = upper end) = 0.025");
    ok(ana_nct_ncp_ci(0.0, 9, 0.95, &ci, &e) == 0 && fabs(ci.lo + ci.hi) < 1e-12,
       "the interval at t = 0 is symmetric");
    rc = ana_nct_ncp_ci(-1500.0, 999999, 0.95, &ci, &e);
    ok(rc == 0 && ci.lo < -1500 && ci.hi > -1500 && ci.hi - ci.lo < 2 * 1.96 * 1.6,
       "ncp interval for t = -1500 with a million participants: [%.6f, %.6f]", ci.lo, ci.hi);
    ana_nct_cdf(-1500.0, 999999, ci.hi, &p, &e);
    is_rel(p, 0.025, 1e-9, "... its upper end puts t at the 0.025 quantile");
    is_int(ana_nct_cdf(NAN, 5, 1, &p, &e), ANA_EINVAL, "NaN t is refused");
    is_int(ana_nct_cdf(1, 0, 1, &p, &e), ANA_EINVAL, "df 0 is refused");
    is_int(ana_nct_ncp_ci(1, 5, 1.0, &ci, &e), ANA_EINVAL, "level 1 is refused");
    ok(ana_nct_cdf(INFINITY, 3, 2, &p, &e) == 0 && p == 1.0, "P(T <= inf) = 1");
}

/* ---- one pre/post reference case ---- */

static void check_prepost(const char *label, json_t *ref, const struct pairs *p,
                          int higher_is_better)
{
    struct ana_prepost_opts o;
    struct ana_facts f;
    struct ana_prepost r;
    struct err e;
    double rci[128], worst = 0;
    json_t *pp;
    size_t idx;

    ana_prepost_opts_init(&o);
    ana_facts_init(&f);
    f.higher_is_better = higher_is_better;
    f.has_reliability = 1;
    f.reliability = jnum(ref, "reliable_change.r_xx");
    ok(ana_prepost_run(p->pre, p->post, p->n, &o, &f, &r, &e) == 0, "%s: analysis runs", label);
    is_int(r.summary.n, (long long)jnum(ref, "n"), "%s: n", label);
    is_rel(r.summary.pre.mean, jnum(ref, "mean_pre"), CLOSED, "%s: mean_pre", label);
    is_rel(r.summary.post.mean, jnum(ref, "mean_post"), CLOSED, "%s: mean_post", label);
    is_rel(r.summary.pre.sd, jnum(ref, "sd_pre"), CLOSED, "%s: sd_pre", label);
    is_rel(r.summary.post.sd, jnum(ref, "sd_post"), CLOSED, "%s: sd_post", label);
    is_rel(r.summary.diff.mean, jnum(ref, "mean_diff"), CLOSED, "%s: mean_diff", label);
    is_rel(r.summary.diff.sd, jnum(ref, "sd_diff"), CLOSED, "%s: sd_diff", label);
    is_rel(r.summary.r_pre_post, jnum(ref, "r_pre_post"), CLOSED, "%s: r_pre_post", label);

    is_rel(r.paired_t.t, jnum(ref, "paired_t.t"), CLOSED, "%s: paired t", label);
    is_rel(r.paired_t.df, jnum(ref, "paired_t.df"), CLOSED, "%s: paired t df", label);
    is_rel(r.paired_t.p, jnum(ref, "paired_t.p_two_sided"), CLOSED, "%s: paired t p", label);
    is_rel(r.paired_t.se, jnum(ref, "paired_t.se_mean_diff"), CLOSED, "%s: paired t SE", label);
    is_rel(r.paired_t.ci.lo, jnum(ref, "paired_t.mean_diff_ci95.0"), CLOSED, "%s: mean_diff CI low",
           label);
    is_rel(r.paired_t.ci.hi, jnum(ref, "paired_t.mean_diff_ci95.1"), CLOSED,
           "%s: mean_diff CI high", label);

    is_rel(r.d_z.value, jnum(ref, "d_z.value"), CLOSED, "%s: d_z", label);
    is_rel(r.d_z.value, jnum(ref, "standardized_response_mean"), CLOSED, "%s: SRM = d_z", label);
    is_rel(r.d_z.ci.lo, jnum(ref, "d_z.ci95.0"), NCTCI, "%s: d_z CI low (noncentral t)", label);
    is_rel(r.d_z.ci.hi, jnum(ref, "d_z.ci95.1"), NCTCI, "%s: d_z CI high (noncentral t)", label);
    is_rel(r.d_av, jnum(ref, "d_av"), CLOSED, "%s: d_av", label);
    is_rel(r.d_rm, jnum(ref, "d_rm"), CLOSED, "%s: d_rm", label);
    is_rel(r.d_rm, jnum(ref, "d_rm_direct_formula"), CLOSED, "%s: d_rm (direct formula)", label);
    is_rel(r.g_av, jnum(ref, "g_av"), CLOSED, "%s: g_av (approximate J, the default)", label);
    ok(r.has_g_av_other_j, "%s: g_av with the exact J is there too", label);
    is_rel(r.g_av_other_j, jnum(ref, "g_av_exact_J"), CLOSED, "%s: g_av with the exact J", label);
    is_rel(r.j_approx, jnum(ref, "hedges_J.J_approx"), CLOSED, "%s: J approx", label);
    is_rel(r.j_exact, jnum(ref, "hedges_J.J_exact"), CLOSED, "%s: J exact", label);
    is_rel(r.delta_pre, jnum(ref, "delta_pre"), CLOSED, "%s: Glass's delta (baseline SD)", label);
    is_rel(r.pct_means, jnum(ref, "pct_reduction_group_means"), CLOSED,
           "%s: %% reduction of group means", label);

    is_int(r.pct_individual.n_used, (long long)jnum(ref, "individual_pct_reduction.n_used"),
           "%s: individual %% reduction n_used", label);
    is_int(r.pct_individual.n_excluded,
           (long long)jnum(ref, "individual_pct_reduction.n_excluded_pre_le_0"),
           "%s: individual %% reduction n_excluded", label);
    is_rel(r.pct_individual.mean, jnum(ref, "individual_pct_reduction.mean"), CLOSED,
           "%s: mean individual %% reduction", label);
    is_rel(r.pct_individual.median, jnum(ref, "individual_pct_reduction.median"), CLOSED,
           "%s: median individual %% reduction", label);

    is_rel(r.wilcoxon.V, jnum(ref, "wilcoxon.V"), CLOSED, "%s: Wilcoxon V", label);
    is_rel(r.wilcoxon.t_minus, jnum(ref, "wilcoxon.T_minus"), CLOSED, "%s: Wilcoxon T-", label);
    is_int(r.wilcoxon.n_nonzero, (long long)jnum(ref, "wilcoxon.n_nonzero"),
           "%s: Wilcoxon non-zero differences", label);
    is_int(r.wilcoxon.n_zero, (long long)jnum(ref, "wilcoxon.n_zero_diff_dropped"),
           "%s: Wilcoxon zero differences dropped", label);
    is_rel(r.wilcoxon.sigma, jnum(ref, "wilcoxon.sigma_tie_corrected"), CLOSED,
           "%s: Wilcoxon tie-corrected sigma", label);
    is_rel(r.wilcoxon.z, jnum(ref, "wilcoxon.z_continuity_corrected"), CLOSED, "%s: Wilcoxon z",
           label);
    is_rel(r.wilcoxon.p, jnum(ref, "wilcoxon.p_two_sided"), CLOSED, "%s: Wilcoxon p", label);
    is_rel(r.rank_biserial.value, jnum(ref, "rank_biserial.value"), CLOSED, "%s: rank-biserial",
           label);
    is_rel(r.rank_biserial.ci.lo, jnum(ref, "rank_biserial.effectsize_on_differences.ci_low"),
           CLOSED, "%s: rank-biserial CI low", label);
    is_rel(r.rank_biserial.ci.hi, jnum(ref, "rank_biserial.effectsize_on_differences.ci_high"),
           CLOSED, "%s: rank-biserial CI high", label);

    /* Reliable change; weight and sleep improve upwards. */
    is_int(r.status[ANA_PP_RELIABLE_CHANGE], 0, "%s: reliable change computed", label);
    is_rel(r.rci.se_measurement, jnum(ref, "reliable_change.se_measurement"), CLOSED,
           "%s: SE of measurement", label);
    is_rel(r.rci.se_diff, jnum(ref, "reliable_change.se_diff"), CLOSED, "%s: SE_diff", label);
    is_rel(r.rci.min_reliable_change, jnum(ref, "reliable_change.min_reliable_change_raw_units"),
           CLOSED, "%s: smallest reliable change", label);
    is_int(r.rci.improved, (long long)jnum(ref, "reliable_change.n_reliably_improved"),
           "%s: reliably improved", label);
    is_int(r.rci.deteriorated, (long long)jnum(ref, "reliable_change.n_reliably_deteriorated"),
           "%s: reliably deteriorated", label);
    is_int(r.rci.unchanged, (long long)jnum(ref, "reliable_change.n_unchanged"),
           "%s: no reliable change", label);
    ana_reliable_change(p->pre, p->post, p->n, &r.summary, &f, &r.rci, rci, &e);
    pp = json_object_get(json_object_get(ref, "reliable_change"), "per_participant");
    json_array_foreach(pp, idx, ref)
    {
        double want = json_number_value(json_object_get(ref, "rci"));
        double err = want == 0 ? fabs(rci[idx]) : fabs(rci[idx] - want) / fabs(want);
        worst = fmax(worst, err);
    }
    ok(json_array_size(pp) == p->n && worst < CLOSED,
       "%s: every participant's RCI (max relative error %.3g)", label, worst);
}

static void check_bootstrap(const char *label, json_t *boot, const struct pairs *p)
{
    struct ana_boot_opts o;
    struct ana_boot b, b2;
    struct err e;
    double lo = jnum(boot, "ci95.0"), hi = jnum(boot, "ci95.1");
    double sd_lo = jnum(boot, "mc_check_seeds_2_to_21.ci95_low_sd");
    double sd_hi = jnum(boot, "mc_check_seeds_2_to_21.ci95_high_sd");

    ana_boot_opts_init(&o);
    o.resamples = (size_t)jnum(boot, "R");
    err_clear(&e);
    ok(ana_boot_pct_reduction(p->pre, p->post, p->n, &o, &b, &e) == 0, "%s: bootstrap runs: %s",
       label, e.message);
    is_rel(b.estimate, jnum(boot, "estimate"), CLOSED, "%s: bootstrap estimate", label);
    ok(fabs(b.percentile.lo - lo) <= 4 * sd_lo,
       "%s: percentile CI low %.4f within 4 Monte Carlo SDs (%.4f) of R's %.4f", label,
       b.percentile.lo, sd_lo, lo);
    ok(fabs(b.percentile.hi - hi) <= 4 * sd_hi,
       "%s: percentile CI high %.4f within 4 Monte Carlo SDs (%.4f) of R's %.4f", label,
       b.percentile.hi, sd_hi, hi);
    ok(b.has_bca && b.bca.lo < b.estimate && b.bca.hi > b.estimate,
       "%s: BCa interval [%.4f, %.4f] around the estimate", label, b.bca.lo, b.bca.hi);
    ana_boot_pct_reduction(p->pre, p->post, p->n, &o, &b2, &e);
    ok(memcmp(&b.percentile, &b2.percentile, sizeof b.percentile) == 0 &&
           memcmp(&b.bca, &b2.bca, sizeof b.bca) == 0,
       "%s: the same seed gives the same intervals, to the bit", label);
    o.seed = 2;
    ana_boot_pct_reduction(p->pre, p->post, p->n, &o, &b2, &e);
    ok(b2.percentile.lo != b.percentile.lo, "%s: another seed gives another interval", label);
}

static void test_reference_prepost(void)
{
    json_t *an = load_json(FIXTURE("reference/anorexia.json"));
    json_t *sl = load_json(FIXTURE("reference/sleep.json"));
    const char *arms[] = {"CBT", "Cont", "FT", "overall"};
    struct pairs p;

    for (size_t i = 0; i < 4; i++) {
        json_t *ref = json_object_get(json_object_get(an, "prepost"), arms[i]);
        char label[64];
        snprintf(label, sizeof label, "anorexia %s", arms[i]);
        load_anorexia(i < 3 ? arms[i] : NULL, &p);
        check_prepost(label, ref, &p, 1);
        if (json_is_true(json_object_get(json_object_get(ref, "bootstrap_pct_reduction"),
                                         "usable_as_check")))
            check_bootstrap(label, json_object_get(ref, "bootstrap_pct_reduction"), &p);
    }
    load_sleep(&p);
    check_prepost("sleep", json_object_get(json_object_get(sl, "prepost"), "group1_vs_group2"), &p,
                  1);
    {
        /* Not a usable check (the fixture says so), but it must not fail:
         * resamples with a zero mean baseline are left out and counted. */
        struct ana_boot_opts o;
        struct ana_boot b;
        struct err e;
        int rc;
        ana_boot_opts_init(&o);
        rc = ana_boot_pct_reduction(p.pre, p.post, p.n, &o, &b, &e);
        ok(rc == 0 && isfinite(b.percentile.lo) && isfinite(b.percentile.hi),
           "sleep: the bootstrap runs, leaving out the %zu resamples with mean baseline 0",
           b.n_nonfinite);
    }
    json_decref(an);
    json_decref(sl);
}

/* ---- bootstrap intervals on R's own replicates ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_boot_intervals_exact(void)
{
    json_t *x = load_json(FIXTURE("analysis/extra.json"));
    json_t *bc = json_object_get(x, "bootstrap_cbt");
    FILE *f = fopen(FIXTURE("analysis/boot_cbt_replicates.csv"), "r");
    double t[2000], L[64], jack, sp = 0, sq = 0, z0, a;
    struct ana_ci ci;
    struct pairs p;
    struct err e;
    char line[64];
    size_t r = 0;
    int ext;

    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        ok(0, "boot_cbt_replicates.csv is readable");
        json_decref(x);
        return;
    }
    while (r < 2000 && fgets(line, sizeof line, f) != NULL)
        t[r++] = strtod(line, NULL);
    fclose(f);
    is_int(r, 2000, "R's 2000 replicates read");
    qsort(t, r, sizeof t[0], cmp_double);
    ok(ana_boot_ci_percentile(t, r, 0.95, &ci, &ext, &e) == 0, "percentile interval");
    is_rel(ci.lo, jnum(bc, "percentile.0"), CLOSED,
           "percentile CI low = boot.ci on R's replicates");
    is_rel(ci.hi, jnum(bc, "percentile.1"), CLOSED,
           "percentile CI high = boot.ci on R's replicates");
    /* Jackknife influence values as boot:::usual.jack: (n - 1)(t0 - t_(-i)). */
    load_anorexia("CBT", &p);
    for (size_t i = 0; i < p.n; i++) {
        sp += p.pre[i];
        sq += p.post[i];
    }
    for (size_t i = 0; i < p.n; i++) {
        jack = 100 * ((sp - p.pre[i]) - (sq - p.post[i])) / (sp - p.pre[i]);
        L[i] = (double)(p.n - 1) * (jnum(bc, "t0") - jack);
    }
    ok(ana_boot_ci_bca(t, r, jnum(bc, "t0"), L, p.n, 0.95, &ci, &z0, &a, &ext, &e) == 0,
       "BCa interval");
    is_rel(ci.lo, jnum(bc, "bca.0"), CLOSED,
           "BCa CI low = boot.ci(type = 'bca') on R's replicates");
    is_rel(ci.hi, jnum(bc, "bca.1"), CLOSED,
           "BCa CI high = boot.ci(type = 'bca') on R's replicates");
    {
        /* Our own resampling against the spread of R's BCa over 20 seeds. */
        struct ana_boot_opts o;
        struct ana_boot b;
        ana_boot_opts_init(&o);
        ana_boot_pct_reduction(p.pre, p.post, p.n, &o, &b, &e);
        ok(fabs(b.bca.lo - jnum(bc, "spread_seeds_2_to_21.bca_low_mean")) <=
               4 * jnum(bc, "spread_seeds_2_to_21.bca_low_sd"),
           "CBT: our BCa low %.4f within 4 Monte Carlo SDs of R's mean over seeds", b.bca.lo);
        ok(fabs(b.bca.hi - jnum(bc, "spread_seeds_2_to_21.bca_high_mean")) <=
               4 * jnum(bc, "spread_seeds_2_to_21.bca_high_sd"),
           "CBT: our BCa high %.4f within 4 Monte Carlo SDs of R's mean over seeds", b.bca.hi);
    }
    json_decref(x);
}

static void test_wilson(void)
{
    json_t *x = load_json(FIXTURE("analysis/extra.json"));
    json_t *w = json_object_get(x, "wilson"), *c;
    size_t i;

    json_array_foreach(w, i, c)
    {
        struct ana_proportion pr;
        struct err e;
        size_t cx = (size_t)jnum(c, "x"), cn = (size_t)jnum(c, "n");
        ok(ana_wilson(cx, cn, 0.95, &pr, &e) == 0, "Wilson %zu of %zu", cx, cn);
        is_rel(pr.ci.lo, jnum(c, "ci95.0"), CLOSED, "Wilson %zu/%zu low = prop.test", cx, cn);
        is_rel(pr.ci.hi, jnum(c, "ci95.1"), CLOSED, "Wilson %zu/%zu high = prop.test", cx, cn);
    }
    json_decref(x);
}

/* ---- two arms ---- */

static void check_between(const char *label, json_t *ref, const double *pre, const double *post,
                          const unsigned char *arm, size_t n)
{
    struct ana_between b;
    struct err e;

    err_clear(&e);
    ok(ana_between_run(pre, post, arm, n, 0.95, ANA_J_EXACT, &b, &e) == 0, "%s: runs: %s", label,
       e.message);
    is_int(b.n_test, (long long)jnum(ref, "n_test"), "%s: test arm n", label);
    is_int(b.n_ref, (long long)jnum(ref, "n_reference"), "%s: reference arm n", label);
    is_rel(b.post.welch.t, jnum(ref, "welch_t.t"), CLOSED, "%s: Welch t", label);
    is_rel(b.post.welch.df, jnum(ref, "welch_t.df"), CLOSED, "%s: Welch df", label);
    is_rel(b.post.welch.p, jnum(ref, "welch_t.p"), CLOSED, "%s: Welch p", label);
    is_rel(b.post.welch.estimate, jnum(ref, "welch_t.estimate"), CLOSED, "%s: difference", label);
    is_rel(b.post.welch.ci.lo, jnum(ref, "welch_t.ci95.0"), CLOSED, "%s: Welch CI low", label);
    is_rel(b.post.welch.ci.hi, jnum(ref, "welch_t.ci95.1"), CLOSED, "%s: Welch CI high", label);
    is_rel(b.post.student.t, jnum(ref, "student_t.t"), CLOSED, "%s: Student t", label);
    is_rel(b.post.student.df, jnum(ref, "student_t.df"), CLOSED, "%s: Student df", label);
    is_rel(b.post.student.p, jnum(ref, "student_t.p"), CLOSED, "%s: Student p", label);
    is_rel(b.post.student.ci.lo, jnum(ref, "student_t.ci95.0"), CLOSED, "%s: Student CI low",
           label);
    is_rel(b.post.student.ci.hi, jnum(ref, "student_t.ci95.1"), CLOSED, "%s: Student CI high",
           label);
    is_rel(b.post.cohens_d.value, jnum(ref, "cohens_d.value"), CLOSED, "%s: Cohen's d", label);
    is_rel(b.post.cohens_d.value, jnum(ref, "cohens_d.effectsize.0"), CLOSED,
           "%s: Cohen's d = effectsize::cohens_d", label);
    is_rel(b.post.cohens_d.ci.lo, jnum(ref, "cohens_d.ci95.0"), NCTCI, "%s: d CI low", label);
    is_rel(b.post.cohens_d.ci.hi, jnum(ref, "cohens_d.ci95.1"), NCTCI, "%s: d CI high", label);
    is_rel(b.post.j, jnum(ref, "hedges_g.J_exact"), CLOSED, "%s: exact J", label);
    is_rel(b.post.hedges_g.value, jnum(ref, "hedges_g.effectsize.0"), CLOSED,
           "%s: Hedges' g = effectsize::hedges_g", label);
    is_rel(b.post.hedges_g.ci.lo, jnum(ref, "hedges_g.ci95.0"), NCTCI, "%s: g CI low", label);
    is_rel(b.post.hedges_g.ci.hi, jnum(ref, "hedges_g.ci95.1"), NCTCI, "%s: g CI high", label);
    /* effectsize's own interval comes from optim(abstol = 1e-9): looser. */
    is_rel(b.post.hedges_g.ci.lo, jnum(ref, "hedges_g.effectsize.1"), 1e-5,
           "%s: g CI low agrees with effectsize's optim() to 1e-5", label);
    is_rel(b.change.estimate, jnum(ref, "mean_change_difference.estimate"), CLOSED,
           "%s: difference in mean change", label);
    is_rel(b.change.t, jnum(ref, "mean_change_difference.t"), CLOSED, "%s: its Welch t", label);
    is_rel(b.change.df, jnum(ref, "mean_change_difference.df"), CLOSED, "%s: its df", label);
    is_rel(b.change.p, jnum(ref, "mean_change_difference.p"), CLOSED, "%s: its p", label);
    is_rel(b.change.ci.lo, jnum(ref, "mean_change_difference.ci95.0"), CLOSED, "%s: its CI low",
           label);
    is_rel(b.change.ci.hi, jnum(ref, "mean_change_difference.ci95.1"), CLOSED, "%s: its CI high",
           label);
    is_rel(b.ancova.estimate, jnum(ref, "ancova.estimate"), CLOSED, "%s: ANCOVA arm effect", label);
    is_rel(b.ancova.se, jnum(ref, "ancova.se"), CLOSED, "%s: ANCOVA SE", label);
    is_rel(b.ancova.t, jnum(ref, "ancova.t"), CLOSED, "%s: ANCOVA t", label);
    is_rel(b.ancova.df, jnum(ref, "ancova.df"), CLOSED, "%s: ANCOVA df", label);
    is_rel(b.ancova.p, jnum(ref, "ancova.p"), CLOSED, "%s: ANCOVA p", label);
    is_rel(b.ancova.ci.lo, jnum(ref, "ancova.ci95.0"), CLOSED, "%s: ANCOVA CI low", label);
    is_rel(b.ancova.ci.hi, jnum(ref, "ancova.ci95.1"), CLOSED, "%s: ANCOVA CI high", label);
    is_rel(b.ancova.slope_pre, jnum(ref, "ancova.slope_pre"), CLOSED, "%s: ANCOVA baseline slope",
           label);
    is_rel(b.ancova.sigma, jnum(ref, "ancova.sigma"), CLOSED, "%s: ANCOVA residual SD", label);
}

static void test_between_anorexia(void)
{
    json_t *x = load_json(FIXTURE("analysis/extra.json"));
    const char *tests[] = {"CBT", "FT"};

    for (size_t k = 0; k < 2; k++) {
        struct pairs t, c;
        double pre[128], post[128];
        unsigned char arm[128];
        size_t n = 0;
        char key[32], label[48];
        load_anorexia(tests[k], &t);
        load_anorexia("Cont", &c);
        for (size_t i = 0; i < t.n; i++, n++)
            pre[n] = t.pre[i], post[n] = t.post[i], arm[n] = 1;
        for (size_t i = 0; i < c.n; i++, n++)
            pre[n] = c.pre[i], post[n] = c.post[i], arm[n] = 0;
        snprintf(key, sizeof key, "%s_vs_Cont", tests[k]);
        snprintf(label, sizeof label, "anorexia %s vs Cont", tests[k]);
        check_between(label, json_object_get(json_object_get(x, "between"), key), pre, post, arm,
                      n);
    }
    json_decref(x);
}

/* ---- the GAD-7-like data set: loaded through datasets/ like the CLI ---- */

static void check_gad7(const char *label, json_t *ref, json_t *facts, const struct ds_pairs *pp,
                       int arm)
{
    struct ana_prepost_opts o;
    struct ana_facts f;
    struct ana_prepost r;
    struct err e;
    double pre[128], post[128];
    size_t n = 0;

    for (size_t i = 0; i < pp->n; i++)
        if (arm < 0 || pp->arm[i] == arm)
            pre[n] = pp->pre[i], post[n++] = pp->post[i];
    ana_prepost_opts_init(&o);
    ana_facts_init(&f);
    f.has_reliability = 1;
    f.reliability = jnum(facts, "reliability");
    f.has_remission = 1;
    f.remission_cutoff = jnum(facts, "remission_below");
    f.has_mcid = 1;
    f.mcid = jnum(facts, "mcid");
    f.responder_pct = jnum(facts, "responder_pct");
    f.has_norms = 1;
    f.norm_mean = jnum(facts, "norm_mean");
    f.norm_sd = jnum(facts, "norm_sd");
    ok(ana_prepost_run(pre, post, n, &o, &f, &r, &e) == 0, "%s: analysis runs", label);
    is_int(r.summary.n, (long long)jnum(ref, "n"), "%s: n (completers)", label);
    is_rel(r.summary.pre.median, jnum(ref, "median_pre"), CLOSED, "%s: median_pre", label);
    is_rel(r.summary.post.median, jnum(ref, "median_post"), CLOSED, "%s: median_post", label);
    is_rel(r.summary.diff.mean, jnum(ref, "mean_diff"), CLOSED, "%s: mean_diff", label);
    is_rel(r.summary.r_pre_post, jnum(ref, "r_pre_post"), CLOSED, "%s: r", label);
    is_rel(r.paired_t.p, jnum(ref, "paired_t.p"), CLOSED, "%s: paired t p", label);
    is_rel(r.d_z.ci.lo, jnum(ref, "d_z.ci95.0"), NCTCI, "%s: d_z CI low", label);
    is_rel(r.d_z.ci.hi, jnum(ref, "d_z.ci95.1"), NCTCI, "%s: d_z CI high", label);
    is_rel(r.d_rm, jnum(ref, "d_rm"), CLOSED, "%s: d_rm", label);
    is_rel(r.g_av, jnum(ref, "g_av"), CLOSED, "%s: g_av", label);
    is_rel(r.delta_pre, jnum(ref, "delta_pre"), CLOSED, "%s: delta_pre", label);
    is_rel(r.pct_individual.median, jnum(ref, "individual_pct_reduction.median"), CLOSED,
           "%s: median individual %% reduction", label);
    is_int(r.pct_individual.n_excluded, (long long)jnum(ref, "individual_pct_reduction.n_excluded"),
           "%s: zero baselines excluded from individual %%", label);
    is_rel(r.wilcoxon.V, jnum(ref, "wilcoxon.V"), CLOSED, "%s: Wilcoxon V (many ties)", label);
    is_int(r.wilcoxon.n_zero, (long long)jnum(ref, "wilcoxon.n_zero"),
           "%s: zero differences dropped", label);
    is_rel(r.wilcoxon.sigma, jnum(ref, "wilcoxon.sigma"), CLOSED, "%s: tie-corrected sigma", label);
    is_rel(r.wilcoxon.p, jnum(ref, "wilcoxon.p"), CLOSED, "%s: Wilcoxon p", label);
    is_rel(r.rank_biserial.ci.lo, jnum(ref, "rank_biserial.ci95.0"), CLOSED,
           "%s: rank-biserial CI low", label);
    is_int(r.responders.responders.count, (long long)jnum(ref, "responders.count"),
           "%s: responders (>= 50%%)", label);
    is_int(r.responders.responders.n, (long long)jnum(ref, "responders.n"),
           "%s: responders' denominator (baseline > 0)", label);
    is_rel(r.responders.responders.ci.lo, jnum(ref, "responders.ci95.0"), CLOSED,
           "%s: responders Wilson CI low", label);
    is_rel(r.responders.responders.ci.hi, jnum(ref, "responders.ci95.1"), CLOSED,
           "%s: responders Wilson CI high", label);
    is_int(r.responders.remission.count, (long long)jnum(ref, "remission.count"),
           "%s: remissions (< 5 at follow-up)", label);
    is_int(r.responders.remission.n, (long long)jnum(ref, "remission.n"),
           "%s: eligible for remission (>= 5 at baseline)", label);
    is_rel(r.responders.remission.ci.hi, jnum(ref, "remission.ci95.1"), CLOSED,
           "%s: remission Wilson CI high", label);
    is_int(r.responders.mcid_improved.count, (long long)jnum(ref, "mcid.improved"),
           "%s: improved by the MCID", label);
    is_int(r.responders.mcid_deteriorated, (long long)jnum(ref, "mcid.deteriorated"),
           "%s: worse by the MCID", label);
    is_int(r.rci.improved, (long long)jnum(ref, "reliable_change.improved"),
           "%s: reliably improved (lower is better)", label);
    is_int(r.rci.deteriorated, (long long)jnum(ref, "reliable_change.deteriorated"),
           "%s: reliably deteriorated", label);
    is_int(r.rci.criterion, ANA_JT_C, "%s: criterion c with normative values", label);
    is_rel(r.rci.cutoff, jnum(ref, "reliable_change.cutoff"), CLOSED, "%s: criterion c cut-off",
           label);
    is_int(r.rci.recovered, (long long)jnum(ref, "reliable_change.recovered"), "%s: recovered",
           label);
    is_int(r.rci.improved_only, (long long)jnum(ref, "reliable_change.improved_only"),
           "%s: improved, not recovered", label);
    ok(r.rci.recovered + r.rci.improved_only + r.rci.unchanged + r.rci.deteriorated == n,
       "%s: the four Jacobson-Truax categories add up to n", label);
}

static void test_gad7(void)
{
    json_t *x = load_json(FIXTURE("analysis/extra.json"));
    json_t *g = json_object_get(x, "gad7"), *bt;
    static const struct ds_csv_columns cols = {"participant", "week", "gad7", "arm"};
    struct ds_long *d = NULL;
    struct ds_pairs pp;
    struct err e;
    double pre[128], post[128];
    unsigned char arm[128];
    int treat;

    if (ds_load_csv(FIXTURE("analysis/gad7_synthetic_long.csv"), &cols, &d, &e) != 0) {
        ok(0, "gad7_synthetic_long.csv loads: %s", e.message);
        json_decref(x);
        return;
    }
    ok(ds_pair(d, 0, 8, -1, DS_COMPLETERS, &pp, &e) == 0, "gad7: completers paired");
    is_int(pp.n_no_baseline, 1, "gad7: one participant without a baseline");
    is_int(pp.n_no_followup, 1, "gad7: one participant without a follow-up");
    check_gad7("gad7 all", json_object_get(g, "all"), json_object_get(g, "facts"), &pp, -1);
    check_gad7("gad7 control", json_object_get(json_object_get(g, "by_arm"), "control"),
               json_object_get(g, "facts"), &pp, ds_arm_index(d, "control"));
    check_gad7("gad7 treatment", json_object_get(json_object_get(g, "by_arm"), "treatment"),
               json_object_get(g, "facts"), &pp, ds_arm_index(d, "treatment"));
    {
        struct ana_boot_opts o;
        struct ana_boot b;
        json_t *bs = json_object_get(g, "bootstrap");
        ana_boot_opts_init(&o);
        ana_boot_pct_reduction(pp.pre, pp.post, pp.n, &o, &b, &e);
        ok(fabs(b.percentile.lo - jnum(bs, "spread_seeds_2_to_21.perc_low_mean")) <=
               4 * jnum(bs, "spread_seeds_2_to_21.perc_low_sd"),
           "gad7: percentile CI low %.4f within 4 Monte Carlo SDs of R's", b.percentile.lo);
        ok(fabs(b.bca.hi - jnum(bs, "spread_seeds_2_to_21.bca_high_mean")) <=
               4 * jnum(bs, "spread_seeds_2_to_21.bca_high_sd"),
           "gad7: BCa CI high %.4f within 4 Monte Carlo SDs of R's", b.bca.hi);
    }
    treat = ds_arm_index(d, "treatment");
    for (size_t i = 0; i < pp.n; i++) {
        pre[i] = pp.pre[i];
        post[i] = pp.post[i];
        arm[i] = pp.arm[i] == treat;
    }
    bt = json_object_get(json_object_get(x, "between"), "gad7_treatment_vs_control");
    check_between("gad7 treatment vs control", bt, pre, post, arm, pp.n);
    ds_pairs_free(&pp);
    ds_long_free(d);
    json_decref(x);
}

/* ---- Cronbach's alpha on psych::bfi ---- */

static void check_alpha(const char *label, json_t *ref, const struct ds_items *d, size_t first,
                        const unsigned char *reverse, const unsigned char *keep)
{
    double *x = malloc(d->n * 5 * sizeof *x), mean[5], sd[5];
    struct ana_alpha a;
    struct err e;
    size_t n = 0;
    const char *names[5];

    for (size_t i = 0; i < d->n; i++) {
        if (keep != NULL && !keep[i])
            continue;
        for (size_t j = 0; j < 5; j++)
            x[n * 5 + j] = d->x[i * d->k + first + j];
        n++;
    }
    ok(ana_cronbach_alpha(x, n, 5, reverse, 1, 6, &a, mean, sd, &e) == 0, "%s: alpha computed",
       label);
    is_int(a.n, (long long)jnum(ref, "n"), "%s: complete cases", label);
    is_rel(a.alpha_raw, jnum(ref, "alpha_raw"), CLOSED, "%s: raw alpha", label);
    is_rel(a.alpha_std, jnum(ref, "alpha_std"), CLOSED, "%s: standardised alpha", label);
    is_rel(a.mean_r, jnum(ref, "average_r"), CLOSED, "%s: mean inter-item r", label);
    is_rel(a.total_mean, jnum(ref, "total_score_mean"), CLOSED, "%s: total mean", label);
    is_rel(a.total_sd, jnum(ref, "total_score_sd"), CLOSED, "%s: total SD", label);
    for (size_t j = 0; j < 5; j++) {
        char path[96];
        names[j] = d->items[first + j];
        snprintf(path, sizeof path, "item_means_after_reversal.%s", names[j]);
        is_rel(mean[j], jnum(ref, path), CLOSED, "%s: mean of %s after reversal", label, names[j]);
        snprintf(path, sizeof path, "item_sd_after_reversal.%s", names[j]);
        is_rel(sd[j], jnum(ref, path), CLOSED, "%s: SD of %s", label, names[j]);
    }
    free(x);
}

static void test_bfi(void)
{
    json_t *ref = load_json(FIXTURE("reference/bfi.json"));
    const char *items[] = {"A1", "A2", "A3", "A4", "A5", "C1", "C2", "C3", "C4", "C5"};
    const unsigned char rev_a[5] = {1, 0, 0, 0, 0}, rev_c[5] = {0, 0, 0, 1, 1};
    struct ds_items *d = NULL;
    unsigned char *all10;
    struct err e;

    if (ds_load_items_csv(FIXTURE("reference/bfi_A_C_items.csv"), "respondent_id", items, 10, &d,
                          &e) != 0) {
        ok(0, "bfi items load: %s", e.message);
        json_decref(ref);
        return;
    }
    is_int(d->n, 2800, "bfi: 2800 respondents");
    check_alpha("bfi A", json_object_get(json_object_get(ref, "primary"), "A"), d, 0, rev_a, NULL);
    check_alpha("bfi C", json_object_get(json_object_get(ref, "primary"), "C"), d, 5, rev_c, NULL);
    all10 = malloc(d->n);
    for (size_t i = 0; i < d->n; i++) {
        all10[i] = 1;
        for (size_t j = 0; j < 10; j++)
            if (isnan(d->x[i * 10 + j]))
                all10[i] = 0;
    }
    check_alpha("bfi A (all 10 complete)",
                json_object_get(json_object_get(ref, "complete_cases_all_10_items"), "A"), d, 0,
                rev_a, all10);
    check_alpha("bfi C (all 10 complete)",
                json_object_get(json_object_get(ref, "complete_cases_all_10_items"), "C"), d, 5,
                rev_c, all10);
    free(all10);
    ds_items_free(d);
    json_decref(ref);
}

/* ---- edge cases: a clear code and message, never NaN, never a crash ---- */

static void test_edges(void)
{
    struct ana_prepost_opts o;
    struct ana_facts f;
    struct ana_prepost r;
    struct ana_paired s;
    struct ana_effect eff;
    struct ana_ttest t;
    struct ana_between b;
    struct ana_alpha a;
    struct ana_boot bo;
    struct ana_boot_opts bopt;
    struct ana_pct_individual ind;
    struct ana_rci rci;
    struct ana_ancova anc;
    struct err e;
    double one[1] = {5}, same_pre[4] = {10, 12, 14, 16}, same_post[4] = {8, 10, 12, 14};
    double zero_pre[4] = {0, 0, 0, 0}, zpost[4] = {1, 2, 0, 3};
    double const_pre[4] = {7, 7, 7, 7}, post4[4] = {5, 6, 8, 3};
    double x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {2, 3, 4, 5, 6, 8};
    unsigned char arm1[6] = {1, 0, 0, 0, 0, 0}, arm_bad[4] = {0, 1, 0, 1};
    double nanv[3] = {1, NAN, 3};
    double d_x[6], d_v;

    ana_prepost_opts_init(&o);
    ana_facts_init(&f);

    err_clear(&e);
    is_int(ana_prepost_run(one, one, 1, &o, &f, &r, &e), ANA_ETOOFEW, "n = 1 is refused");
    ok(strstr(e.message, "too few") != NULL && strstr(e.detail, "there is 1") != NULL,
       "n = 1: \"%s\" / \"%s\"", e.message, e.detail);
    is_int(ana_prepost_run(one, one, 0, &o, &f, &r, &e), ANA_ETOOFEW, "n = 0 is refused");
    is_int(ana_prepost_run(nanv, nanv, 3, &o, &f, &r, &e), ANA_EINVAL, "a NaN score is refused");

    /* Every difference the same: t and d_z undefined, the rest goes on. */
    ok(ana_prepost_run(same_pre, same_post, 4, &o, &f, &r, &e) == 0,
       "zero variance of differences: the analysis still runs");
    is_int(r.status[ANA_PP_PAIRED_T], ANA_EZEROVAR, "zero variance: no paired t");
    ok(strstr(r.why[ANA_PP_PAIRED_T], "zero variance") != NULL, "zero variance: says why: %s",
       r.why[ANA_PP_PAIRED_T]);
    is_int(r.status[ANA_PP_D_Z], ANA_EZEROVAR, "zero variance: no d_z");
    is_int(r.status[ANA_PP_D_AV], 0, "zero variance of differences: d_av is still defined");
    is_rel(r.d_av, 2.0 / sqrt(20.0 / 3.0), CLOSED, "zero variance of differences: d_av value");
    is_int(r.status[ANA_PP_RELIABLE_CHANGE], ANA_ENOFACT, "no reliability: no reliable change");
    ok(strstr(r.why[ANA_PP_RELIABLE_CHANGE], "reliability") != NULL, "no reliability: says why");
    ana_paired_summary(same_pre, same_post, 4, &s, &e);
    is_int(ana_d_z(&s, 0.95, &eff, &e), ANA_EZEROVAR, "d_z alone: zero variance");
    is_int(ana_paired_t(&s, 0.95, &t, &e), ANA_EZEROVAR, "paired t alone: zero variance");

    /* All baselines zero. */
    ok(ana_prepost_run(zero_pre, zpost, 4, &o, &f, &r, &e) == 0,
       "all baselines zero: the analysis still runs");
    is_int(r.status[ANA_PP_PCT_MEANS], ANA_EZEROBASE, "all baselines zero: no %% of group means");
    is_int(r.status[ANA_PP_PCT_INDIVIDUAL], ANA_EZEROBASE, "all baselines zero: no individual %%");
    is_int(r.pct_individual.n_excluded, 4, "all baselines zero: 4 excluded, counted");
    is_int(r.status[ANA_PP_BOOTSTRAP], ANA_EZEROBASE, "all baselines zero: no bootstrap");
    ok(!r.responders.has_responders && r.responders.responders_excluded == 4,
       "all baselines zero: no responder share, 4 excluded");
    is_int(r.status[ANA_PP_DELTA_PRE], ANA_EZEROVAR, "all baselines zero: no Glass's delta");
    is_int(r.status[ANA_PP_D_RM], ANA_EZEROVAR, "all baselines zero: no d_rm (no r)");
    is_int(ana_pct_individual(zero_pre, zpost, 4, &ind, &e), ANA_EZEROBASE,
           "individual %% alone: zero baselines");
    ok(strstr(e.detail, "All 4 baselines") != NULL, "zero baselines: detail \"%s\"", e.detail);

    /* Every difference zero: no Wilcoxon, no rank-biserial. */
    ok(ana_prepost_run(same_pre, same_pre, 4, &o, &f, &r, &e) == 0,
       "no change at all: the analysis still runs");
    is_int(r.status[ANA_PP_WILCOXON], ANA_ETOOFEW, "no change: no signed-rank test");
    is_int(r.status[ANA_PP_RANK_BISERIAL], ANA_ETOOFEW, "no change: no rank-biserial");

    /* Constant baseline: no Glass's delta, no RCI, no ANCOVA. */
    f.has_reliability = 1;
    f.reliability = 0.9;
    ana_paired_summary(const_pre, post4, 4, &s, &e);
    is_int(ana_reliable_change(const_pre, post4, 4, &s, &f, &rci, NULL, &e), ANA_EZEROVAR,
           "constant baseline: no reliable change");
    f.reliability = 1.0;
    ana_paired_summary(same_pre, post4, 4, &s, &e);
    is_int(ana_reliable_change(same_pre, post4, 4, &s, &f, &rci, NULL, &e), ANA_EINVAL,
           "reliability 1 is refused");
    is_int(ana_ancova(const_pre, post4, arm_bad, 4, 0.95, &anc, &e), ANA_ENUMERIC,
           "constant baseline: ANCOVA's design is singular");
    ok(strstr(e.message, "singular") != NULL, "ANCOVA: \"%s\"", e.message);

    /* An arm with one participant. */
    err_clear(&e);
    is_int(ana_between_run(x, y, arm1, 6, 0.95, ANA_J_EXACT, &b, &e), ANA_ETOOFEW,
           "an arm with one participant is refused");
    ok(strstr(e.message, "test arm has 1 participant") != NULL, "one participant: \"%s\"",
       e.message);
    is_int(ana_two_sample(x, 1, y, 6, 0.95, ANA_J_EXACT, &b.post, &e), ANA_ETOOFEW,
           "two-sample with one participant is refused");
    for (size_t i = 0; i < 6; i++)
        d_x[i] = 3;
    {
        double d_y[6] = {4, 4, 4, 4, 4, 4};
        is_int(ana_two_sample(d_x, 6, d_y, 6, 0.95, ANA_J_EXACT, &b.post, &e), ANA_EZEROVAR,
               "two constant arms are refused");
    }

    /* Hedges' J and levels. */
    is_int(ana_hedges_j(1, ANA_J_EXACT, &d_v, &e), ANA_ETOOFEW, "exact J at df 1 is refused");
    ok(ana_hedges_j(1, ANA_J_APPROX, &d_v, &e) == 0 && fabs(d_v - 0.0) < 1e-15,
       "approximate J at df 1 is 0");
    o.level = 1.5;
    is_int(ana_prepost_run(x, y, 6, &o, &f, &r, &e), ANA_EINVAL, "level 1.5 is refused");
    o.level = 0.95;

    /* The bootstrap's limits. */
    ana_boot_opts_init(&bopt);
    bopt.resamples = 10;
    is_int(ana_boot_pct_reduction(x, y, 6, &bopt, &bo, &e), ANA_EINVAL, "10 resamples are refused");

    /* Cronbach's alpha. */
    is_int(ana_cronbach_alpha(x, 6, 1, NULL, 0, 0, &a, NULL, NULL, &e), ANA_ETOOFEW,
           "alpha of one item is refused");
    {
        double m[6] = {1, 2, 1, 3, 1, 4};
        unsigned char rev[2] = {0, 1};
        is_int(ana_cronbach_alpha(m, 3, 2, NULL, 0, 0, &a, NULL, NULL, &e), ANA_EZEROVAR,
               "an item with zero variance is refused");
        is_int(ana_cronbach_alpha(x, 3, 2, rev, 6, 1, &a, NULL, NULL, &e), ANA_EINVAL,
               "reverse keys without a valid range are refused");
        double miss[6] = {1, 2, NAN, 3, 2, 4};
        is_int(ana_cronbach_alpha(miss, 3, 2, NULL, 0, 0, &a, NULL, NULL, &e), 0,
               "a row with a missing answer is left out");
        is_int(a.n_excluded, 1, "... and counted");
    }
    /* Wilson at the bounds. */
    {
        struct ana_proportion p;
        is_int(ana_wilson(0, 0, 0.95, &p, &e), ANA_ETOOFEW, "a proportion of nobody is refused");
        is_int(ana_wilson(3, 2, 0.95, &p, &e), ANA_EINVAL, "3 of 2 is refused");
    }
}

/* The two ways of drawing a resample have the same distribution. */
static void test_boot_methods(void)
{
    static double pre[29 * 100], post[29 * 100];
    struct ana_boot_opts o;
    struct ana_boot a, m;
    struct pairs p;
    struct err e;
    size_t n = 0;

    load_anorexia("CBT", &p);
    for (int copy = 0; copy < 100; copy++)
        for (size_t i = 0; i < p.n; i++)
            pre[n] = p.pre[i], post[n++] = p.post[i];
    ana_boot_opts_init(&o);
    o.resamples = 20000;
    ok(ana_boot_pct_reduction(pre, post, n, &o, &m, &e) == 0, "29 distinct pairs x 100");
    is_int(m.method, ANA_BOOT_MULTINOMIAL, "auto picks the multinomial for 29 distinct of 2900");
    is_int(m.distinct, 29, "29 distinct pairs found");
    o.method = ANA_BOOT_INDEX;
    o.seed = 7;
    ok(ana_boot_pct_reduction(pre, post, n, &o, &a, &e) == 0, "the same data by indices");
    is_int(a.method, ANA_BOOT_INDEX, "indices when asked");
    /* 20000 resamples: each limit's Monte Carlo SD is about 0.02 bootstrap SDs. */
    ok(fabs(m.percentile.lo - a.percentile.lo) < 0.15 * a.boot_sd &&
           fabs(m.percentile.hi - a.percentile.hi) < 0.15 * a.boot_sd,
       "multinomial [%.4f, %.4f] and index [%.4f, %.4f] percentile intervals agree",
       m.percentile.lo, m.percentile.hi, a.percentile.lo, a.percentile.hi);
    ok(fabs(m.boot_sd / a.boot_sd - 1) < 0.03, "bootstrap SDs agree (%.5f, %.5f)", m.boot_sd,
       a.boot_sd);
    ok(fabs(m.boot_mean - a.boot_mean) < 0.05 * a.boot_sd, "bootstrap means agree");
    ok(fabs(m.bca.lo - a.bca.lo) < 0.2 * a.boot_sd, "BCa low ends agree");
}

int main(void)
{
    gsl_set_error_handler_off();
    test_nct_cdf_table();
    test_nct_ci();
    test_nct_ci_table();
    test_reference_prepost();
    test_boot_intervals_exact();
    test_boot_methods();
    test_wilson();
    test_between_anorexia();
    test_gad7();
    test_bfi();
    test_edges();
    printf("# largest relative error against R: closed-form values %.3g, noncentral-t "
           "interval ends %.3g\n",
           worst_closed, worst_nctci);
    return tap_done();
}
