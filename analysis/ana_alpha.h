/*
 * ana_alpha.h — internal consistency of a scale from item answers:
 * Cronbach's alpha, raw and standardised (Cronbach 1951, Psychometrika
 * 16:297-334), as psych::alpha computes them.
 *
 * Reverse-keyed items are turned around before anything else,
 * x' = scale_min + scale_max - x; which items are reverse-keyed and the
 * scale's range come from the instrument definition (or the command line).
 */
#ifndef ATTUNE_ANA_ALPHA_H
#define ATTUNE_ANA_ALPHA_H

#include <stddef.h>

#include "ana_common.h"

/* Most items a scale may have here. */
#define ANA_ALPHA_MAX_ITEMS 500

struct ana_alpha {
    size_t k;          /* items */
    size_t n;          /* complete cases used */
    size_t n_excluded; /* rows with a missing answer */
    double alpha_raw;  /* k/(k-1) (1 - sum var_i / var(total)), n - 1 variances */
    double alpha_std;  /* k rbar / (1 + (k-1) rbar) */
    double mean_r;     /* rbar: mean inter-item correlation */
    double total_mean; /* of the (reversed) item sum */
    double total_sd;
};

/*
 * x holds n rows of k answers, row-major; NaN marks a missing answer, and a
 * row with one is left out (complete cases, counted). reverse[j] != 0 marks
 * item j reverse-keyed (reverse may be NULL); scale_min/max are then needed
 * (scale_min < scale_max). item_mean and item_sd, when not NULL, receive the
 * k items' means and SDs after reversal.
 *
 * ANA_ETOOFEW for k < 2 or fewer than 2 complete rows; ANA_EZEROVAR when an
 * item or the total has zero variance; ANA_EINVAL for k above the cap or an
 * invalid range.
 */
int ana_cronbach_alpha(const double *x, size_t n, size_t k, const unsigned char *reverse,
                       double scale_min, double scale_max, struct ana_alpha *out, double *item_mean,
                       double *item_sd, struct err *e);

#endif
