/*
 * ana_common.h — what every part of analysis/ shares: the error codes, the
 * interval type, the facts about an instrument that an analysis takes as
 * input, and a few small building blocks (descriptives, Hedges' J, Wilson's
 * interval).
 *
 * analysis/ is pure statistics on GSL: arrays and counts in, structs out. No
 * file, database or JSON is touched here, nothing is logged, and there is no
 * global state. GSL's abort-on-error handler must be off (main() does it);
 * every GSL status is checked and comes back as ANA_ENUMERIC.
 *
 * Conventions used throughout (the reference values in
 * tests/fixtures/reference/ follow them): diff = pre - post, so a positive
 * difference means the score went down; standard deviations use n - 1.
 */
#ifndef ATTUNE_ANA_COMMON_H
#define ATTUNE_ANA_COMMON_H

#include <stddef.h>

#include "err.h"

enum {
    ANA_EINVAL = -1,    /* an argument out of range (a level outside (0, 1), NaN data, ...) */
    ANA_ETOOFEW = -2,   /* too few observations for the statistic */
    ANA_EZEROVAR = -3,  /* a standard deviation the statistic divides by is zero */
    ANA_EZEROBASE = -4, /* a percentage of a baseline that is zero (or not positive) */
    ANA_ENUMERIC = -5,  /* a numerical method failed; the message names it */
    ANA_ENOMEM = -6,
    ANA_ENOFACT = -7, /* the statistic needs a fact about the instrument that was not given */
};

/* A two-sided confidence interval. */
struct ana_ci {
    double lo;
    double hi;
};

/*
 * Facts about the instrument that some statistics need. They come from the
 * instrument definition (instruments/) or from command-line options; the
 * analysis never guesses them. A fact is used only when its has_ flag is set.
 *
 * Direction: for symptom scales such as GAD-7 a lower score is better, so an
 * improvement is a decrease. `higher_is_better` flips every "improved" /
 * "deteriorated" decision (responders, remission, MCID, reliable change);
 * it never changes the sign of diff = pre - post or of the effect sizes.
 */
struct ana_facts {
    int higher_is_better;

    /* Responders: improvement of at least responder_pct percent of the baseline. */
    double responder_pct; /* default 50 */

    /* Remission: a follow-up score on the healthy side of the cut-off (below
     * it when lower is better, above it otherwise), counted among those who
     * were not on that side at baseline. */
    int has_remission;
    double remission_cutoff;

    /* Minimal clinically important change, in score points. */
    int has_mcid;
    double mcid;

    /* Reliability (r_xx) for the reliable change index. */
    int has_reliability;
    double reliability;

    /* Normative ("functional") population mean and SD, for Jacobson-Truax
     * criterion c. Without them criterion a is used. */
    int has_norms;
    double norm_mean;
    double norm_sd;

    /* The clinical ("dysfunctional") population for criterion c; without it
     * the sample's own baseline mean and SD stand in. */
    int has_clinical_norms;
    double clinical_mean;
    double clinical_sd;
};

/* Sets every fact to "not given" and responder_pct to 50. */
void ana_facts_init(struct ana_facts *f);

/* Mean, SD (n - 1), standard error and median of n values. */
struct ana_describe {
    size_t n;
    double mean;
    double sd;
    double se;
    double median;
};

/*
 * Describes n >= 2 finite values. ANA_ETOOFEW for n < 2, ANA_EINVAL for a
 * non-finite value, ANA_ENOMEM (the median sorts a copy).
 */
int ana_describe(const double *x, size_t n, struct ana_describe *out, struct err *e);

/* The median of n >= 1 values (sorts a copy). */
int ana_median(const double *x, size_t n, double *out, struct err *e);

/*
 * Hedges' small-sample correction J(df) for a standardized mean difference
 * (Hedges 1981, J Educ Stat 6:107-128):
 *   ANA_J_EXACT:  J = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)), df > 1
 *   ANA_J_APPROX: J = 1 - 3/(4 df - 1), df > 1/4  (the usual approximation)
 * The approximation is within 1e-4 of the exact value from df = 10 on.
 */
enum ana_hedges_j {
    ANA_J_APPROX = 0,
    ANA_J_EXACT,
};

int ana_hedges_j(double df, enum ana_hedges_j kind, double *out, struct err *e);

/* "approx" / "exact", and back (-1 for an unknown name). */
const char *ana_hedges_j_name(enum ana_hedges_j kind);
int ana_hedges_j_parse(const char *name, enum ana_hedges_j *out);

/* A count out of a total, with its share and interval. */
struct ana_proportion {
    size_t count;
    size_t n;
    double share; /* count / n */
    struct ana_ci ci;
};

/*
 * Wilson's score interval for x successes in n trials (Wilson 1927, JASA
 * 22:209-212), as R's prop.test(x, n, correct = FALSE). ANA_ETOOFEW for n = 0.
 */
int ana_wilson(size_t x, size_t n, double level, struct ana_proportion *out, struct err *e);

/* Two-sided normal and t quantiles for a confidence level in (0, 1). */
double ana_z_crit(double level);
double ana_t_crit(double level, double df);

#endif
