/*
 * ana_prepost.h — one group measured twice: a baseline ("pre") and a
 * follow-up ("post") score per participant.
 *
 * Each statistic is its own function that returns 0 or a clear ANA_E* code
 * when it is undefined for the data (zero variance, a zero baseline, too few
 * participants), so callers can report what could and could not be
 * computed. ana_prepost_run() computes all of them and keeps, for each, its
 * status and message.
 *
 * Sign convention: diff = pre - post (positive when the score went down), so
 * d_z, d_av, d_rm, g_av and delta_pre are positive for a reduction, and
 * reductions are 100 (pre - post) / pre.
 */
#ifndef ATTUNE_ANA_PREPOST_H
#define ATTUNE_ANA_PREPOST_H

#include <stddef.h>

#include "ana_boot.h"
#include "ana_common.h"

/* Descriptives of both occasions and of diff = pre - post. */
struct ana_paired {
    size_t n;
    struct ana_describe pre, post, diff;
    int has_r;         /* 0 when either occasion has zero variance */
    double r_pre_post; /* Pearson's r */
};

/*
 * Describes n >= 2 pairs. ANA_ETOOFEW for n < 2; ANA_EINVAL for a value that
 * is not finite.
 */
int ana_paired_summary(const double *pre, const double *post, size_t n, struct ana_paired *out,
                       struct err *e);

/* A t test: statistic, df, two-sided p, and the estimate with its CI. */
struct ana_ttest {
    double t;
    double df;
    double p;
    double estimate;
    double se;
    struct ana_ci ci;
};

/* The paired t test of mean(diff) = 0, as R's t.test(pre, post, paired = TRUE).
 * ANA_EZEROVAR when every difference is the same. */
int ana_paired_t(const struct ana_paired *s, double level, struct ana_ttest *out, struct err *e);

/* An effect size with its confidence interval. */
struct ana_effect {
    double value;
    struct ana_ci ci;
};

/*
 * d_z = mean(diff) / sd(diff), the standardized response mean (Lakens 2013,
 * Front Psychol 4:863; Cohen 1988), with the exact interval from the
 * noncentral t: the ncp limits for t = d_z sqrt(n) on n - 1 df, over sqrt(n).
 * ANA_EZEROVAR when sd(diff) = 0.
 */
int ana_d_z(const struct ana_paired *s, double level, struct ana_effect *out, struct err *e);

/* d_av = mean(diff) / ((sd_pre + sd_post)/2) (Lakens 2013; Cumming 2012). */
int ana_d_av(const struct ana_paired *s, double *out, struct err *e);

/*
 * d_rm = d_z sqrt(2 (1 - r)) = mean(diff) / sqrt(sd_pre^2 + sd_post^2 -
 * 2 r sd_pre sd_post) * sqrt(2 (1 - r)) (Lakens 2013; Morris & DeShon
 * 2002). Needs r (ANA_EZEROVAR when an occasion has zero variance).
 */
int ana_d_rm(const struct ana_paired *s, double *out, struct err *e);

/* g_av = d_av * J(n - 1) with the chosen J (Lakens 2013; Hedges 1981). */
int ana_g_av(const struct ana_paired *s, enum ana_hedges_j j, double *out, struct err *e);

/* Glass's delta with the baseline SD: mean(diff) / sd_pre (Glass 1976). */
int ana_glass_delta_pre(const struct ana_paired *s, double *out, struct err *e);

/*
 * Wilcoxon signed-rank test as R's wilcox.test(pre, post, paired = TRUE,
 * exact = FALSE, correct = TRUE): zero differences dropped, mid-ranks for
 * tied |diff|, tie-corrected variance, continuity correction 0.5 sign(z)
 * (Wilcoxon 1945; Hollander & Wolfe 1999, ch. 3).
 */
struct ana_wilcoxon {
    double V; /* sum of the ranks of positive differences (= T+) */
    double t_minus;
    size_t n_nonzero;
    size_t n_zero; /* dropped */
    double sigma;  /* tie-corrected SD of V */
    double z;      /* continuity-corrected */
    double p;      /* two-sided */
};

/* ANA_ETOOFEW when no difference is non-zero; ANA_EZEROVAR when sigma is 0. */
int ana_wilcoxon_paired(const double *pre, const double *post, size_t n, struct ana_wilcoxon *out,
                        struct err *e);

/*
 * Matched-pairs rank-biserial correlation r = (T+ - T-)/(m(m+1)/2) over the
 * m non-zero differences (Kerby 2014, Compr Psychol 3:11.IT.3.1; King, Rosopa
 * & Minium 2011), with the Fisher-z interval of effectsize 0.8.3:
 * tanh(atanh(r) -+ z SE), SE = sqrt((2m^3 + 3m^2 + m)/6) / (m(m+1)/2). At
 * r = +-1 the interval is the point.
 */
int ana_rank_biserial(const struct ana_wilcoxon *w, double level, struct ana_effect *out,
                      struct err *e);

/* 100 (mean_pre - mean_post) / mean_pre. ANA_EZEROBASE when mean_pre = 0. */
int ana_pct_reduction_means(const struct ana_paired *s, double *out, struct err *e);

/*
 * Individual percentage reductions 100 (pre - post)/pre, over participants
 * with pre > 0; the others are excluded (a percentage of a zero or negative
 * baseline is undefined) and counted.
 */
struct ana_pct_individual {
    double mean;
    double median;
    size_t n_used;
    size_t n_excluded; /* baseline <= 0 */
};

/* ANA_EZEROBASE when no baseline is positive (the counts are still filled). */
int ana_pct_individual(const double *pre, const double *post, size_t n,
                       struct ana_pct_individual *out, struct err *e);

/*
 * Responders, remission and minimal clinically important change, each as a
 * count out of the participants it applies to, with a Wilson interval.
 */
struct ana_responders {
    /* Improvement of at least facts->responder_pct percent of the baseline,
     * among participants with a positive baseline; has_responders = 0 when
     * no baseline is positive. */
    int has_responders;
    struct ana_proportion responders;
    size_t responders_excluded; /* baseline <= 0 */
    /* On the healthy side of the cut-off at follow-up, among those who were
     * not at baseline; has_remission = 0 without a cut-off. */
    int has_remission;
    struct ana_proportion remission;
    size_t remission_not_eligible; /* already on the healthy side at baseline */
    /* Change of at least the MCID in either direction. */
    int has_mcid;
    struct ana_proportion mcid_improved;
    size_t mcid_deteriorated;
    size_t mcid_unchanged;
};

/* ANA_ETOOFEW for n = 0. Parts whose facts are missing are left out (has_ = 0). */
int ana_responders(const double *pre, const double *post, size_t n, const struct ana_facts *f,
                   double level, struct ana_responders *out, struct err *e);

/*
 * Reliable and clinically significant change (Jacobson & Truax 1991, J
 * Consult Clin Psychol 59:12-19). RCI = (post - pre) / SE_diff with
 * SE_diff = sqrt(2) SE_m, SE_m = sd_pre sqrt(1 - r_xx); a change is reliable
 * when |RCI| > 1.96.
 *
 * The cut-off for clinically significant change is criterion c,
 * (sd_f m_d + sd_d m_f)/(sd_f + sd_d), when normative ("functional") values
 * are given (the clinical "d" values default to the sample's baseline), and
 * otherwise criterion a, two baseline SDs from the baseline mean in the
 * direction of improvement. The four categories: recovered (reliably
 * improved and moved from the clinical to the healthy side of the cut-off),
 * improved (reliably, but not recovered), unchanged, deteriorated.
 */
enum ana_jt_criterion {
    ANA_JT_A = 0,
    ANA_JT_C,
};

struct ana_rci {
    double reliability;
    double sd_pre;         /* the SD the standard error is built on */
    double se_measurement; /* sd_pre sqrt(1 - r_xx) */
    double se_diff;
    double critical;            /* 1.96 */
    double min_reliable_change; /* critical * se_diff, in score points */
    size_t improved;
    size_t unchanged;
    size_t deteriorated;
    enum ana_jt_criterion criterion;
    double cutoff;
    size_t recovered; /* JT categories: recovered + improved_only + unchanged + deteriorated = n */
    size_t improved_only;
};

/*
 * ANA_ENOFACT without a reliability; ANA_EINVAL for one outside [0, 1);
 * ANA_EZEROVAR when sd_pre = 0. `rci`, when not NULL, receives each
 * participant's RCI (n values).
 */
int ana_reliable_change(const double *pre, const double *post, size_t n, const struct ana_paired *s,
                        const struct ana_facts *f, struct ana_rci *out, double *rci, struct err *e);

/* ---- everything at once ---- */

/* The parts of a pre/post analysis, in the order they are reported. */
enum ana_prepost_part {
    ANA_PP_PAIRED_T = 0,
    ANA_PP_D_Z,
    ANA_PP_D_AV,
    ANA_PP_D_RM,
    ANA_PP_G_AV,
    ANA_PP_DELTA_PRE,
    ANA_PP_WILCOXON,
    ANA_PP_RANK_BISERIAL,
    ANA_PP_PCT_MEANS,
    ANA_PP_BOOTSTRAP,
    ANA_PP_PCT_INDIVIDUAL,
    ANA_PP_RESPONDERS,
    ANA_PP_RELIABLE_CHANGE,
    ANA_PP_COUNT,
};

struct ana_prepost_opts {
    double level;             /* 0.95 */
    enum ana_hedges_j g_av_j; /* J for g_av; the other J is reported beside it */
    struct ana_boot_opts boot;
    int no_bootstrap; /* skip the bootstrap (it is the slow part) */
};

/* Sets level 0.95, g_av_j ANA_J_APPROX and the bootstrap defaults. */
void ana_prepost_opts_init(struct ana_prepost_opts *o);

struct ana_prepost {
    struct ana_paired summary;
    struct ana_ttest paired_t;
    struct ana_effect d_z;
    double d_av, d_rm, g_av, delta_pre;
    int has_g_av_other_j; /* g_av with the J not chosen (the exact J needs n >= 3) */
    double g_av_other_j;
    double j_approx, j_exact; /* 0 when undefined */
    struct ana_wilcoxon wilcoxon;
    struct ana_effect rank_biserial;
    double pct_means;
    struct ana_boot boot;
    struct ana_pct_individual pct_individual;
    struct ana_responders responders;
    struct ana_rci rci;
    /* Per part: 0 when computed, else its ANA_E* code and why. */
    int status[ANA_PP_COUNT];
    char why[ANA_PP_COUNT][ERR_MESSAGE_MAX];
};

/*
 * Computes every part. Fails only when nothing can be said: n < 2, a value
 * that is not finite, or out of memory; a part that is undefined for these
 * data is marked in status[] and why[] and the rest go on.
 */
int ana_prepost_run(const double *pre, const double *post, size_t n,
                    const struct ana_prepost_opts *o, const struct ana_facts *f,
                    struct ana_prepost *out, struct err *e);

/* The name of a part, as the JSON output names it ("paired_t", "d_z", ...). */
const char *ana_prepost_part_name(enum ana_prepost_part part);

#endif
