/*
 * ana_alpha.c — Cronbach's alpha, raw and standardised (see ana_alpha.h).
 *
 * Both come from the k x k covariance matrix of the complete cases:
 * var(total) is the sum of all its entries, the item variances its diagonal,
 * and the correlations its entries over the products of SDs. Cost O(n k^2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ana_alpha.h"

int ana_cronbach_alpha(const double *x, size_t n, size_t k, const unsigned char *reverse,
                       double scale_min, double scale_max, struct ana_alpha *out, double *item_mean,
                       double *item_sd, struct err *e)
{
    struct ana_alpha a;
    double *mean = NULL, *cov = NULL, *row = NULL;
    double var_total = 0, sum_var = 0, sum_r = 0, tsum = 0;
    int any_reverse = 0, rc = ANA_ENOMEM;

    if (k < 2)
        return err_set(e, ANA_ETOOFEW, "Cronbach's alpha needs at least 2 items");
    if (k > ANA_ALPHA_MAX_ITEMS)
        return err_set(e, ANA_EINVAL, "more than %d items", ANA_ALPHA_MAX_ITEMS);
    for (size_t j = 0; reverse != NULL && j < k; j++)
        any_reverse |= reverse[j] != 0;
    if (any_reverse && !(scale_min < scale_max)) {
        err_set(e, ANA_EINVAL, "reverse-keyed items need the scale's range");
        err_detail(e, "The range given is %g to %g.", scale_min, scale_max);
        return ANA_EINVAL;
    }
    memset(&a, 0, sizeof a);
    a.k = k;
    mean = calloc(k, sizeof *mean);
    cov = calloc(k * k, sizeof *cov);
    row = malloc(k * sizeof *row);
    if (mean == NULL || cov == NULL || row == NULL) {
        err_set(e, ANA_ENOMEM, "out of memory");
        goto out;
    }
/* Row i's item j, reversed where keyed so. */
#define ANA_ITEM(i, j)                                                                             \
    (reverse != NULL && reverse[j] ? scale_min + scale_max - x[(i)*k + (j)] : x[(i)*k + (j)])

    /* Pass 1: which rows are complete, and the item means over them. */
    for (size_t i = 0; i < n; i++) {
        int complete = 1;
        for (size_t j = 0; j < k && complete; j++)
            complete = !isnan(x[i * k + j]);
        if (!complete) {
            a.n_excluded++;
            continue;
        }
        for (size_t j = 0; j < k; j++) {
            if (!isfinite(x[i * k + j])) {
                rc = err_set(e, ANA_EINVAL, "row %zu, item %zu: not a finite number", i + 1, j + 1);
                goto out;
            }
            mean[j] += ANA_ITEM(i, j);
        }
        a.n++;
    }
    if (a.n < 2) {
        err_set(e, ANA_ETOOFEW, "Cronbach's alpha needs at least 2 complete rows");
        err_detail(e, "%zu of %zu rows have every item answered.", a.n, n);
        rc = ANA_ETOOFEW;
        goto out;
    }
    for (size_t j = 0; j < k; j++)
        mean[j] /= (double)a.n;
    /* Pass 2: the covariance matrix (upper triangle) and the total's moments. */
    for (size_t i = 0; i < n; i++) {
        int complete = 1;
        double total = 0;
        for (size_t j = 0; j < k && complete; j++)
            complete = !isnan(x[i * k + j]);
        if (!complete)
            continue;
        for (size_t j = 0; j < k; j++) {
            row[j] = ANA_ITEM(i, j) - mean[j];
            total += ANA_ITEM(i, j);
        }
        for (size_t j = 0; j < k; j++)
            for (size_t l = j; l < k; l++)
                cov[j * k + l] += row[j] * row[l];
        tsum += total;
    }
#undef ANA_ITEM
    a.total_mean = tsum / (double)a.n;
    for (size_t j = 0; j < k; j++) {
        for (size_t l = j; l < k; l++) {
            cov[j * k + l] /= (double)(a.n - 1);
            cov[l * k + j] = cov[j * k + l];
        }
        if (!(cov[j * k + j] > 0)) {
            err_set(e, ANA_EZEROVAR, "Cronbach's alpha is undefined: item %zu has zero variance",
                    j + 1);
            rc = ANA_EZEROVAR;
            goto out;
        }
        sum_var += cov[j * k + j];
    }
    for (size_t j = 0; j < k; j++)
        for (size_t l = 0; l < k; l++)
            var_total += cov[j * k + l];
    for (size_t j = 0; j < k; j++)
        for (size_t l = j + 1; l < k; l++)
            sum_r += cov[j * k + l] / sqrt(cov[j * k + j] * cov[l * k + l]);
    if (!(var_total > 0)) {
        rc = err_set(e, ANA_EZEROVAR,
                     "Cronbach's alpha is undefined: the total has zero "
                     "variance");
        goto out;
    }
    a.total_sd = sqrt(var_total);
    a.mean_r = sum_r / ((double)k * (double)(k - 1) / 2.0);
    a.alpha_raw = (double)k / (double)(k - 1) * (1.0 - sum_var / var_total);
    a.alpha_std = (double)k * a.mean_r / (1.0 + (double)(k - 1) * a.mean_r);
    for (size_t j = 0; j < k; j++) {
        if (item_mean != NULL)
            item_mean[j] = mean[j];
        if (item_sd != NULL)
            item_sd[j] = sqrt(cov[j * k + j]);
    }
    *out = a;
    rc = 0;
out:
    free(mean);
    free(cov);
    free(row);
    return rc;
}
