/*
 * test_corr.c — analysis/ana_corr.c and ana_groups.c against R: Pearson and
 * Spearman (cor.test), the two Spearman Fisher-z intervals written out in R
 * from their papers, mid-ranks, type-7 tertiles and per-tertile t intervals
 * and ana_summary.c's mean and median intervals (t.test, and Conover's
 * order statistics written out in R) (tests/fixtures/corr/corr.json, made by
 * make_corr.R); then the edge cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <jansson.h>

#include "ana_corr.h"
#include "ana_groups.h"
#include "ana_summary.h"
#include "tap.h"

#define TOL 1e-9 /* the fixture holds 15 significant digits */

#define is_rel(got, want, tol, ...)                                                                \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        double lim_ = w_ == 0 ? (tol) : (tol)*fabs(w_);                                            \
        if (!tap_ok(isfinite(g_) && fabs(g_ - w_) <= lim_, __FILE__, __LINE__, __VA_ARGS__))       \
            printf("#   got %.17g, want %.17g\n", g_, w_);                                         \
    } while (0)

static double num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static double *vec(json_t *a)
{
    double *v = malloc((json_array_size(a) + 1) * sizeof *v);
    for (size_t i = 0; i < json_array_size(a); i++)
        v[i] = json_number_value(json_array_get(a, i));
    return v;
}

static void check_case(json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *pj = json_object_get(c, "pearson"), *sj = json_object_get(c, "spearman");
    json_t *tj = json_object_get(c, "tertiles");
    size_t n = json_array_size(json_object_get(c, "x"));
    double *x = vec(json_object_get(c, "x")), *y = vec(json_object_get(c, "y"));
    double *ranks_want = vec(json_object_get(c, "ranks_x")), *ranks = malloc(n * sizeof *ranks);
    struct ana_corr p, s;
    struct ana_group_summary g[3];
    double cuts[2];
    unsigned *group = malloc(n * sizeof *group);
    struct err e;
    int same = 1;

    err_clear(&e);
    ok(ana_ranks(x, n, ranks, &e) == 0, "%s: ranks", name);
    for (size_t i = 0; i < n; i++)
        same &= ranks[i] == ranks_want[i];
    ok(same, "%s: mid-ranks are R's rank()", name);

    ok(ana_pearson(x, y, n, 0.95, &p, &e) == 0, "%s: pearson computes", name);
    is_rel(p.r, num(pj, "r"), TOL, "%s: pearson r", name);
    is_rel(p.t, num(pj, "t"), TOL, "%s: pearson t", name);
    is_rel(p.df, num(pj, "df"), TOL, "%s: pearson df", name);
    is_rel(p.p, num(pj, "p"), 1e-8, "%s: pearson p", name);
    is_rel(p.ci.lo, json_number_value(json_array_get(json_object_get(pj, "ci95"), 0)), TOL,
           "%s: pearson CI low (Fisher z)", name);
    is_rel(p.ci.hi, json_number_value(json_array_get(json_object_get(pj, "ci95"), 1)), TOL,
           "%s: pearson CI high (Fisher z)", name);

    ok(ana_spearman(x, y, n, 0.95, ANA_SPEARMAN_SE_BONETT_WRIGHT, &s, &e) == 0,
       "%s: spearman computes", name);
    is_rel(s.r, num(sj, "rho"), TOL, "%s: spearman rho", name);
    is_rel(s.t, num(sj, "t"), TOL, "%s: spearman t", name);
    is_rel(s.p, num(sj, "p"), 1e-8, "%s: spearman p (cor.test exact = FALSE)", name);
    is_rel(s.se_z, num(sj, "se_bonett_wright"), TOL, "%s: Bonett-Wright SE", name);
    is_rel(s.ci.lo, json_number_value(json_array_get(json_object_get(sj, "ci95_bonett_wright"), 0)),
           TOL, "%s: spearman CI low (Bonett-Wright)", name);
    is_rel(s.ci.hi, json_number_value(json_array_get(json_object_get(sj, "ci95_bonett_wright"), 1)),
           TOL, "%s: spearman CI high (Bonett-Wright)", name);
    ok(ana_spearman(x, y, n, 0.95, ANA_SPEARMAN_SE_FIELLER, &s, &e) == 0, "%s: fieller", name);
    is_rel(s.se_z, num(sj, "se_fieller"), TOL, "%s: Fieller SE", name);
    is_rel(s.ci.lo, json_number_value(json_array_get(json_object_get(sj, "ci95_fieller"), 0)), TOL,
           "%s: spearman CI low (Fieller)", name);
    is_rel(s.ci.hi, json_number_value(json_array_get(json_object_get(sj, "ci95_fieller"), 1)), TOL,
           "%s: spearman CI high (Fieller)", name);

    ok(ana_quantile_groups(x, n, 3, cuts, group, &e) == 0, "%s: tertiles", name);
    is_rel(cuts[0], json_number_value(json_array_get(json_object_get(tj, "cuts"), 0)), TOL,
           "%s: first tertile cut (type 7)", name);
    is_rel(cuts[1], json_number_value(json_array_get(json_object_get(tj, "cuts"), 1)), TOL,
           "%s: second tertile cut (type 7)", name);
    same = 1;
    for (size_t i = 0; i < n; i++)
        same &=
            group[i] ==
                (unsigned)json_integer_value(json_array_get(json_object_get(tj, "group"), i)) ||
            (double)group[i] == json_number_value(json_array_get(json_object_get(tj, "group"), i));
    ok(same, "%s: every participant in R's tertile", name);
    ok(ana_group_summaries(x, y, group, n, 3, 0.95, g, &e) == 0, "%s: tertile summaries", name);
    for (unsigned k = 0; k < 3; k++) {
        json_t *w = json_array_get(json_object_get(tj, "groups"), k);
        is_int(g[k].n, (long long)num(w, "n"), "%s: tertile %u n", name, k + 1);
        is_rel(g[k].mean, num(w, "mean"), TOL, "%s: tertile %u mean change", name, k + 1);
        is_rel(g[k].sd, num(w, "sd"), TOL, "%s: tertile %u SD", name, k + 1);
        is_rel(g[k].median, num(w, "median"), TOL, "%s: tertile %u median", name, k + 1);
        is_rel(g[k].ci.lo, json_number_value(json_array_get(json_object_get(w, "ci95"), 0)), TOL,
               "%s: tertile %u CI low (t.test)", name, k + 1);
        is_rel(g[k].ci.hi, json_number_value(json_array_get(json_object_get(w, "ci95"), 1)), TOL,
               "%s: tertile %u CI high (t.test)", name, k + 1);
        is_rel(g[k].x_min, num(w, "x_min"), TOL, "%s: tertile %u lowest engagement", name, k + 1);
        is_rel(g[k].x_max, num(w, "x_max"), TOL, "%s: tertile %u highest engagement", name, k + 1);
    }
    {
        json_t *sm = json_object_get(c, "summary");
        struct ana_mean_ci mc;
        struct ana_median_ci md;
        ok(ana_mean_ci(y, n, 0.95, &mc, &e) == 0, "%s: mean interval", name);
        is_rel(mc.mean, num(sm, "mean"), TOL, "%s: mean", name);
        is_rel(mc.ci.lo, json_number_value(json_array_get(json_object_get(sm, "ci95"), 0)), TOL,
               "%s: mean CI low (t.test)", name);
        is_rel(mc.ci.hi, json_number_value(json_array_get(json_object_get(sm, "ci95"), 1)), TOL,
               "%s: mean CI high (t.test)", name);
        ok(ana_median_ci(y, n, 0.95, &md, &e) == 0, "%s: median interval", name);
        is_rel(md.median, num(sm, "median"), TOL, "%s: median", name);
        is_int(md.lower_rank, (long long)num(sm, "lower_rank"), "%s: lower order statistic", name);
        is_int(md.upper_rank, (long long)num(sm, "upper_rank"), "%s: upper order statistic", name);
        is_rel(md.ci.lo, json_number_value(json_array_get(json_object_get(sm, "median_ci95"), 0)),
               TOL, "%s: median CI low", name);
        is_rel(md.ci.hi, json_number_value(json_array_get(json_object_get(sm, "median_ci95"), 1)),
               TOL, "%s: median CI high", name);
        is_rel(md.coverage, num(sm, "coverage"), TOL, "%s: its exact coverage", name);
        ok(md.coverage >= 0.95, "%s: at least 95%%", name);
    }
    free(x);
    free(y);
    free(ranks);
    free(ranks_want);
    free(group);
}

static void check_edges(void)
{
    double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 6, 8, 10}, flat[] = {3, 3, 3, 3, 3};
    double bad[] = {1, 2, NAN, 4, 5}, cuts[2];
    unsigned group[5];
    struct ana_corr c;
    struct ana_group_summary g[3];
    struct err e;

    err_clear(&e);
    is_int(ana_pearson(x, y, 3, 0.95, &c, &e), ANA_ETOOFEW, "3 pairs: too few for an interval");
    ok(strstr(e.detail, "at least 4") != NULL, "and the detail says how many are needed");
    is_int(ana_pearson(x, flat, 5, 0.95, &c, &e), ANA_EZEROVAR, "a constant measure: EZEROVAR");
    is_int(ana_spearman(flat, y, 5, 0.95, 0, &c, &e), ANA_EZEROVAR,
           "spearman of a constant measure: EZEROVAR");
    is_int(ana_pearson(x, bad, 5, 0.95, &c, &e), ANA_EINVAL, "NaN: EINVAL");
    is_int(ana_pearson(x, y, 5, 1.5, &c, &e), ANA_EINVAL, "a level outside (0, 1): EINVAL");
    ok(ana_pearson(x, y, 5, 0.95, &c, &e) == 0, "a perfect line computes");
    ok(c.r == 1 && c.ci.lo == 1 && c.ci.hi == 1 && c.p == 0 && isinf(c.t),
       "r = 1: the interval is the point, p = 0");
    ok(ana_spearman(x, y, 5, 0.95, 0, &c, &e) == 0 && c.r == 1, "spearman of a monotone line is 1");

    is_int(ana_quantile_groups(x, 0, 3, cuts, group, &e), ANA_ETOOFEW, "no values: ETOOFEW");
    is_int(ana_quantile_groups(x, 5, 1, cuts, group, &e), ANA_EINVAL, "one group: EINVAL");
    is_int(ana_quantile_groups(bad, 5, 3, cuts, group, &e), ANA_EINVAL, "NaN: EINVAL");
    ok(ana_quantile_groups(flat, 5, 3, cuts, group, &e) == 0, "all ties group");
    ok(group[0] == 0 && group[4] == 0, "all ties: everyone in the first tertile (right-closed)");
    ok(ana_group_summaries(flat, y, group, 5, 3, 0.95, g, &e) == 0 && g[0].n == 5 && g[1].n == 0 &&
           g[2].n == 0 && isnan(g[1].mean),
       "empty tertiles are counted as empty, with no mean");
    group[0] = 3;
    is_int(ana_group_summaries(flat, y, group, 5, 3, 0.95, g, &e), ANA_EINVAL,
           "a group index out of range: EINVAL");
    is_int(ana_spearman_se_parse("fieller", &(enum ana_spearman_se){0}), 0, "fieller parses");
    is_int(ana_spearman_se_parse("kendall", &(enum ana_spearman_se){0}), -1,
           "an unknown SE does not");
    is_str(ana_spearman_se_name(ANA_SPEARMAN_SE_BONETT_WRIGHT), "bonett-wright", "default name");
    {
        struct ana_mean_ci mc;
        struct ana_median_ci md;
        is_int(ana_mean_ci(x, 1, 0.95, &mc, &e), ANA_ETOOFEW,
               "a mean interval of 1 value: ETOOFEW");
        is_int(ana_median_ci(x, 5, 0.95, &md, &e), ANA_ETOOFEW,
               "a 95%% median interval of 5 values: ETOOFEW");
        ok(ana_median_ci(x, 5, 0.8, &md, &e) == 0 && md.lower_rank == 1 && md.upper_rank == 5 &&
               fabs(md.coverage - 0.9375) < 1e-12,
           "an 80%% median interval of 5 values: order statistics 1 and 5, coverage 15/16 (R: "
           "qbinom(0.1, 5, 0.5) = 1)");
        is_int(ana_median_ci(bad, 5, 0.8, &md, &e), ANA_EINVAL, "NaN: EINVAL");
    }
}

int main(void)
{
    json_error_t je;
    json_t *cases;
    size_t i;
    json_t *c;

    gsl_set_error_handler_off();
    cases = json_load_file(ATTUNE_SOURCE_ROOT "/tests/fixtures/corr/corr.json", 0, &je);
    if (cases == NULL) {
        printf("Bail out! cannot read corr.json: %s\n", je.text);
        return 1;
    }
    json_array_foreach(cases, i, c) check_case(c);
    json_decref(cases);
    check_edges();
    return tap_done();
}
