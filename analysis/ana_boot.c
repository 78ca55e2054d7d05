/*
 * ana_boot.c — bootstrap of the percentage reduction of group means with
 * percentile and BCa intervals (see ana_boot.h).
 *
 * The intervals follow R's boot package (Canty & Ripley; Davison & Hinkley
 * 1997) to the letter, interpolation included, so that on the same
 * replicates they give the same numbers. The acceleration uses the
 * jackknife influence values l_i = (n - 1)(t - t_(-i)) of Davison & Hinkley
 * (1997, section 2.7), as boot.ci(..., L = empinf(b, type = "jack")) does;
 * Efron & Tibshirani (1993, eq. 14.15) centre on the mean of the t_(-i)
 * instead, which moves the ends slightly.
 *
 * Cost: O(n log n) to find the distinct pairs; O(B n) for index
 * resampling or O(B K) for multinomial resampling over K distinct pairs;
 * O(n) for the jackknife (leave-one-out from running sums); O(B log B) to
 * sort the replicates.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "ana_boot.h"

void ana_boot_opts_init(struct ana_boot_opts *o)
{
    o->resamples = ANA_BOOT_DEFAULT_RESAMPLES;
    o->seed = ANA_BOOT_DEFAULT_SEED;
    o->level = 0.95;
    o->method = ANA_BOOT_AUTO;
}

/*
 * A uniform index in [0, n) from one or more 32-bit MT19937 outputs, by
 * Lemire's multiply-and-reject method (Lemire 2019, ACM TOMACS 29(1):3):
 * unbiased like gsl_rng_uniform_int(), without its division per draw.
 */
static inline uint32_t ana_rand_index(gsl_rng *rng, uint32_t n)
{
    uint64_t m = (uint64_t)(uint32_t)gsl_rng_get(rng) * n;
    uint32_t low = (uint32_t)m;

    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)gsl_rng_get(rng) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

static int ana_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* boot:::norm.inter for one alpha: order statistics interpolated on the
 * normal quantile scale. `sorted` is 0-based here, R's is 1-based. */
static double ana_norm_inter(const double *sorted, size_t r, double alpha, int *extreme)
{
    double rk = ((double)r + 1.0) * alpha, k = trunc(rk), q1, q2, q3;
    size_t ki;

    if (!(rk > 1 && rk < (double)r))
        *extreme = 1;
    if (k <= 0)
        return sorted[0];
    if (k >= (double)r)
        return sorted[r - 1];
    ki = (size_t)k;
    if (k == rk)
        return sorted[ki - 1];
    q1 = gsl_cdf_ugaussian_Pinv(alpha);
    q2 = gsl_cdf_ugaussian_Pinv(k / ((double)r + 1.0));
    q3 = gsl_cdf_ugaussian_Pinv((k + 1.0) / ((double)r + 1.0));
    return sorted[ki - 1] + (q1 - q2) / (q3 - q2) * (sorted[ki] - sorted[ki - 1]);
}

int ana_boot_ci_percentile(const double *sorted, size_t r, double level, struct ana_ci *out,
                           int *extreme, struct err *e)
{
    int ext = 0;

    if (r < 2 || !(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "percentile interval: need 2 or more replicates");
    out->lo = ana_norm_inter(sorted, r, (1.0 - level) / 2.0, &ext);
    out->hi = ana_norm_inter(sorted, r, (1.0 + level) / 2.0, &ext);
    if (extreme != NULL)
        *extreme = ext;
    return 0;
}

int ana_boot_ci_bca(const double *sorted, size_t r, double t0, const double *L, size_t n,
                    double level, struct ana_ci *out, double *z0, double *a, int *extreme,
                    struct err *e)
{
    size_t below = 0;
    double w, acc, s2 = 0, s3 = 0, alpha[2], adj[2];
    int ext = 0;

    if (r < 2 || n < 2 || !(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "BCa interval: need 2 or more replicates");
    /* Sorted: count the replicates strictly below the estimate. */
    while (below < r && sorted[below] < t0)
        below++;
    w = gsl_cdf_ugaussian_Pinv((double)below / (double)r);
    if (!isfinite(w)) {
        err_set(e, ANA_ENUMERIC, "BCa interval: the bias correction is infinite");
        err_detail(e, "%s replicate lies below the estimate.", below == 0 ? "No" : "Every");
        return ANA_ENUMERIC;
    }
    for (size_t i = 0; i < n; i++) {
        s2 += L[i] * L[i];
        s3 += L[i] * L[i] * L[i];
    }
    acc = s3 / (6.0 * pow(s2, 1.5));
    if (!isfinite(acc))
        return err_set(e, ANA_ENUMERIC, "BCa interval: the acceleration is undefined");
    alpha[0] = (1.0 - level) / 2.0;
    alpha[1] = (1.0 + level) / 2.0;
    for (int i = 0; i < 2; i++) {
        double z = gsl_cdf_ugaussian_Pinv(alpha[i]);
        adj[i] = gsl_cdf_ugaussian_P(w + (w + z) / (1.0 - acc * (w + z)));
    }
    out->lo = ana_norm_inter(sorted, r, adj[0], &ext);
    out->hi = ana_norm_inter(sorted, r, adj[1], &ext);
    if (z0 != NULL)
        *z0 = w;
    if (a != NULL)
        *a = acc;
    if (extreme != NULL)
        *extreme = ext;
    return 0;
}

/* The pairs side by side: each draw touches one cache line, not two. */
struct ana_pair {
    double pre, post;
};

static int ana_cmp_pair(const void *a, const void *b)
{
    const struct ana_pair *x = a, *y = b;

    if (x->pre != y->pre)
        return x->pre < y->pre ? -1 : 1;
    return (x->post > y->post) - (x->post < y->post);
}

/*
 * Sorts the pairs and folds equal ones together: afterwards pairs[0..K-1]
 * are distinct and count[k] participants share pairs[k]. Returns K.
 */
static size_t ana_distinct_pairs(struct ana_pair *pairs, size_t n, unsigned int *count)
{
    size_t k = 0;

    qsort(pairs, n, sizeof *pairs, ana_cmp_pair);
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && pairs[i].pre == pairs[k - 1].pre && pairs[i].post == pairs[k - 1].post) {
            count[k - 1]++;
            continue;
        }
        pairs[k] = pairs[i];
        count[k++] = 1;
    }
    return k;
}

/*
 * One resample as multinomial counts over the distinct pairs: category k
 * gets Binomial(remaining, m_k / remaining_mass) participants, the
 * conditional decomposition of the multinomial (as gsl_ran_multinomial, but
 * with integer masses so that the last probability is exactly 1).
 */
static void ana_resample_multinomial(gsl_rng *rng, const struct ana_pair *pairs,
                                     const unsigned int *count, size_t k, unsigned int n,
                                     double *sp, double *sq)
{
    unsigned int left = n, mass = n;
    double a = 0, b = 0;

    for (size_t j = 0; j < k && left > 0; j++) {
        unsigned int c =
            mass == count[j] ? left : gsl_ran_binomial(rng, (double)count[j] / mass, left);
        a += c * pairs[j].pre;
        b += c * pairs[j].post;
        left -= c;
        mass -= count[j];
    }
    *sp = a;
    *sq = b;
}

int ana_boot_pct_reduction(const double *pre, const double *post, size_t n,
                           const struct ana_boot_opts *o, struct ana_boot *out, struct err *e)
{
    struct ana_boot b;
    struct ana_pair *pairs = NULL;
    unsigned int *count = NULL;
    double *t = NULL, *L = NULL, *jack = NULL;
    double s_pre = 0, s_post = 0, sum = 0, ss = 0;
    gsl_rng *rng = NULL;
    size_t finite = 0;
    int jack_ok = 1, rc = ANA_ENOMEM, ext = 0;

    if (n < 2)
        return err_set(e, ANA_ETOOFEW, "the bootstrap needs at least 2 participants");
    if (n > UINT32_MAX)
        return err_set(e, ANA_EINVAL, "the bootstrap takes at most %u participants", UINT32_MAX);
    if (o->resamples < 100 || o->resamples > ANA_BOOT_MAX_RESAMPLES) {
        err_set(e, ANA_EINVAL, "invalid number of resamples %zu", o->resamples);
        err_detail(e, "Use between 100 and %d.", ANA_BOOT_MAX_RESAMPLES);
        return ANA_EINVAL;
    }
    if (!(o->level > 0 && o->level < 1))
        return err_set(e, ANA_EINVAL, "invalid confidence level %g", o->level);
    for (size_t i = 0; i < n; i++) {
        s_pre += pre[i];
        s_post += post[i];
    }
    if (s_pre == 0) {
        err_set(e, ANA_EZEROBASE, "the bootstrap is undefined: the mean baseline is 0");
        return ANA_EZEROBASE;
    }
    memset(&b, 0, sizeof b);
    b.estimate = 100.0 * (s_pre - s_post) / s_pre;
    b.resamples = o->resamples;
    b.seed = o->seed;

    pairs = malloc(n * sizeof *pairs);
    count = malloc(n * sizeof *count);
    t = malloc(o->resamples * sizeof *t);
    L = malloc(n * sizeof *L);
    jack = malloc(n * sizeof *jack);
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (pairs == NULL || count == NULL || t == NULL || L == NULL || jack == NULL || rng == NULL) {
        err_set(e, ANA_ENOMEM, "out of memory");
        goto out;
    }
    /* MT19937 (Matsumoto & Nishimura 1998) gives 32 bits per call, which
     * ana_rand_index relies on. */
    gsl_rng_set(rng, o->seed);
    for (size_t i = 0; i < n; i++) {
        pairs[i].pre = pre[i];
        pairs[i].post = post[i];
    }
    b.method = o->method;
    if (b.method != ANA_BOOT_INDEX) {
        b.distinct = ana_distinct_pairs(pairs, n, count);
        if (b.method == ANA_BOOT_AUTO)
            b.method = b.distinct * 16 <= n ? ANA_BOOT_MULTINOMIAL : ANA_BOOT_INDEX;
        if (b.method == ANA_BOOT_INDEX) {
            /* Back to the participants in their given order: the index
             * method draws positions, and the order must not depend on
             * how the distinct pairs were found. */
            for (size_t i = 0; i < n; i++) {
                pairs[i].pre = pre[i];
                pairs[i].post = post[i];
            }
        }
    }
    for (size_t k = 0; k < o->resamples; k++) {
        double sp = 0, sq = 0;
        if (b.method == ANA_BOOT_MULTINOMIAL) {
            ana_resample_multinomial(rng, pairs, count, b.distinct, (unsigned int)n, &sp, &sq);
        } else {
            for (size_t i = 0; i < n; i++) {
                const struct ana_pair *p = &pairs[ana_rand_index(rng, (uint32_t)n)];
                sp += p->pre;
                sq += p->post;
            }
        }
        /* A resample whose baseline mean is 0 has no percentage; boot.ci
         * leaves such replicates out, and so do we (counted). */
        if (sp != 0)
            t[finite++] = 100.0 * (sp - sq) / sp;
    }
    b.n_nonfinite = o->resamples - finite;
    if (finite < 10) {
        err_set(e, ANA_ETOOFEW,
                "the bootstrap failed: %zu of %zu resamples had a mean "
                "baseline of 0",
                b.n_nonfinite, o->resamples);
        rc = ANA_ETOOFEW;
        goto out;
    }
    qsort(t, finite, sizeof *t, ana_cmp_double);
    for (size_t k = 0; k < finite; k++)
        sum += t[k];
    b.boot_mean = sum / (double)finite;
    for (size_t k = 0; k < finite; k++)
        ss += (t[k] - b.boot_mean) * (t[k] - b.boot_mean);
    b.boot_sd = sqrt(ss / (double)(finite - 1));
    if ((rc = ana_boot_ci_percentile(t, finite, o->level, &b.percentile, &ext, e)) != 0)
        goto out;
    b.extreme = ext;

    /* Jackknife: leave each participant out of the running sums. */
    for (size_t i = 0; i < n; i++) {
        double sp = s_pre - pre[i], sq = s_post - post[i];
        if (sp == 0) {
            jack_ok = 0;
            snprintf(b.bca_why, sizeof b.bca_why,
                     "the jackknife is undefined: leaving out participant %zu leaves a mean "
                     "baseline of 0",
                     i + 1);
            break;
        }
        jack[i] = 100.0 * (sp - sq) / sp;
    }
    if (jack_ok) {
        struct err be;
        for (size_t i = 0; i < n; i++)
            L[i] = (double)(n - 1) * (b.estimate - jack[i]);
        err_clear(&be);
        b.has_bca = ana_boot_ci_bca(t, finite, b.estimate, L, n, o->level, &b.bca, &b.z0,
                                    &b.acceleration, &ext, &be) == 0;
        if (!b.has_bca)
            snprintf(b.bca_why, sizeof b.bca_why, "%s", be.message);
        if (b.has_bca && ext)
            b.extreme = 1;
    }
    *out = b;
    rc = 0;
out:
    gsl_rng_free(rng);
    free(pairs);
    free(count);
    free(t);
    free(L);
    free(jack);
    return rc;
}
