/*
 * ana_between.h — two arms compared at follow-up: Welch's and Student's t,
 * Cohen's d and Hedges' g with noncentral-t intervals, the difference in mean
 * change, and ANCOVA of the follow-up score on baseline and arm.
 *
 * Direction: every difference is the test arm minus the reference arm
 * (group 1 minus group 0). For a change score (pre - post, positive when the
 * score went down) a positive difference means the test arm went down more.
 */
#ifndef ATTUNE_ANA_BETWEEN_H
#define ATTUNE_ANA_BETWEEN_H

#include <stddef.h>

#include "ana_common.h"
#include "ana_prepost.h"

/* Two independent samples x (test) and y (reference). */
struct ana_two_sample {
    struct ana_describe x, y;
    struct ana_ttest welch;   /* R's t.test(x, y) */
    struct ana_ttest student; /* R's t.test(x, y, var.equal = TRUE) */
    double sd_pooled;
    /* d = (mean_x - mean_y) / sd_pooled (Cohen 1988), interval from the
     * noncentral t at t = d sqrt(nx ny/(nx + ny)) on nx + ny - 2 df, as
     * effectsize::cohens_d (Steiger & Fouladi 1997; Goulet-Pelletier & Cousineau 2018). */
    struct ana_effect cohens_d;
    /* g = d J(nx + ny - 2), the interval's ends also times J (Hedges 1981;
     * effectsize::hedges_g, which uses the exact J). */
    struct ana_effect hedges_g;
    enum ana_hedges_j j_kind;
    double j;
};

/*
 * Compares x and y. ANA_ETOOFEW when an arm has fewer than 2 values (its SD
 * is undefined); ANA_EZEROVAR when both arms have zero variance.
 */
int ana_two_sample(const double *x, size_t nx, const double *y, size_t ny, double level,
                   enum ana_hedges_j j, struct ana_two_sample *out, struct err *e);

/*
 * ANCOVA: the linear model post = b0 + b1 pre + b2 [test arm] + error, by
 * least squares (GSL's gsl_multifit_linear, an SVD), as R's
 * lm(post ~ pre + arm). The arm effect b2 is the difference in follow-up
 * adjusted for baseline (Vickers & Altman 2001, BMJ 323:1123-1124).
 */
struct ana_ancova {
    double estimate; /* b2 */
    double se;
    double t;
    double df; /* n - 3 */
    double p;
    struct ana_ci ci;
    double slope_pre; /* b1 */
    double intercept; /* b0 (with pre uncentred) */
    double sigma;     /* residual SD */
};

/*
 * `arm` holds 0 (reference) or 1 (test) per participant. ANA_ETOOFEW when
 * either arm is empty or n < 4; ANA_ENUMERIC when the design is singular
 * (for example every baseline equal).
 */
int ana_ancova(const double *pre, const double *post, const unsigned char *arm, size_t n,
               double level, struct ana_ancova *out, struct err *e);

/* ---- everything at once ---- */

enum ana_between_part {
    ANA_BT_TWO_SAMPLE = 0, /* Welch, Student, d, g at follow-up */
    ANA_BT_CHANGE,         /* difference in mean change (Welch) */
    ANA_BT_ANCOVA,
    ANA_BT_COUNT,
};

struct ana_between {
    size_t n_test, n_ref;
    struct ana_paired test, ref; /* each arm's own pre/post summary (status in has_) */
    int has_test_summary, has_ref_summary;
    struct ana_two_sample post; /* follow-up scores */
    struct ana_ttest change;    /* Welch t on the change scores pre - post */
    struct ana_ancova ancova;
    int status[ANA_BT_COUNT];
    char why[ANA_BT_COUNT][ERR_MESSAGE_MAX];
};

/*
 * Runs every comparison on n pairs with arm[i] in {0, 1}. Fails only when an
 * arm has fewer than 2 participants, on invalid input or out of memory;
 * other undefined parts are marked in status[] and why[].
 */
int ana_between_run(const double *pre, const double *post, const unsigned char *arm, size_t n,
                    double level, enum ana_hedges_j j, struct ana_between *out, struct err *e);

const char *ana_between_part_name(enum ana_between_part part);

#endif
