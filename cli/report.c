/*
 * report.c — the claim report's document (see report.h): every population
 * through analysis/ (ana_prepost, ana_between, ana_lmm, ana_summary,
 * ana_corr), the flow through datasets/ds_attrition, engagement through
 * ds_engage, the claim through report/rep_claim. Plumbing only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ana_between.h"
#include "ana_lmm.h"
#include "ana_prepost.h"
#include "ana_summary.h"
#include "analyze.h"
#include "analyze_facts.h"
#include "report.h"
#include "rep_claim.h"

void cli_report_opts_init(struct cli_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->level = 0.95;
    o->resamples = 2000;
    o->seed = 1;
    o->session_cap = 60;
    o->metric = DS_ENG_ACTIVE_DAYS;
}

/* The analysis populations, in the order the report shows them. */
static const struct {
    const char *key;
    enum ds_population pop; /* unused for the model */
    enum rep_scope scope;
    const char *label, *definition, *assumption;
} report_populations[] = {
    {"completers", DS_COMPLETERS, REP_SCOPE_COMPLETERS, "Completers",
     "participants with a score at the baseline and at the final week",
     "valid when those who left are like those who stayed (missing completely at random)"},
    {"bocf", DS_BOCF, REP_SCOPE_ITT, "Intention to treat, baseline carried forward (BOCF)",
     "everyone with a baseline score; a missing final score is the baseline score (no change)",
     "conservative: assumes no change for everyone who left"},
    {"locf", DS_LOCF, REP_SCOPE_ITT, "Intention to treat, last observation carried forward (LOCF)",
     "everyone with a baseline score; a missing final score is the last score observed before it",
     "assumes those who left stayed where they were last seen"},
    {"mixed", DS_COMPLETERS, REP_SCOPE_ITT, "Mixed model, every observed score",
     "everyone with at least one score; the model-based mean at the final week",
     "valid when leaving depends only on what was observed (missing at random)"},
};

#define REPORT_N_PAIRED 3 /* the first three are pre/post populations */

/* The definitions of reduction, for the report's table and the claim check. */
static const struct {
    const char *key, *label;
    enum rep_unit unit;
    enum rep_kind kind;
} report_definitions[] = {
    {"group_mean_pct", "reduction of the group mean, % of the baseline mean", REP_UNIT_PERCENT,
     REP_KIND_REDUCTION},
    {"individual_pct_mean", "mean of individual % reductions", REP_UNIT_PERCENT,
     REP_KIND_REDUCTION},
    {"individual_pct_median", "median of individual % reductions", REP_UNIT_PERCENT,
     REP_KIND_REDUCTION},
    {"responders_pct", "responders (reduction of at least the threshold), % of participants",
     REP_UNIT_PERCENT, REP_KIND_SHARE},
    {"reliable_improvement_pct", "reliable improvement (Jacobson-Truax RCI), % of participants",
     REP_UNIT_PERCENT, REP_KIND_SHARE},
    {"remission_pct", "remission (below the cut-off at follow-up), % of those above it at baseline",
     REP_UNIT_PERCENT, REP_KIND_SHARE},
    {"mcid_pct", "improved by at least the MCID, % of participants", REP_UNIT_PERCENT,
     REP_KIND_SHARE},
    {"mean_change_points", "mean change in score points (pre - post)", REP_UNIT_POINTS,
     REP_KIND_REDUCTION},
};

#define REPORT_N_DEFINITIONS (sizeof report_definitions / sizeof report_definitions[0])

/* Everything the builder carries between steps. */
struct report_ctx {
    const struct cli_report_opts *o;
    struct ds_attrition *a;
    struct ds_long *d;
    struct ds_engagement *g;
    struct ds_baseline *b;
    struct ana_lmm_fit *fit;
    struct ana_facts facts;
    const char *facts_source;
    double pre, post;
    json_t *rows; /* headline rows */
    struct rep_claim claim;
    int has_claim;
};

static json_t *jnum(double v)
{
    return cli_jnum(v);
}

/* The arm's name for rows ("all" is JSON null), and its data index (-1 for all). */
static const char *report_arm_name(const struct report_ctx *c, size_t i)
{
    return i < c->d->n_arms ? c->d->arms[i] : NULL;
}

/* Appends one headline row. */
static void report_row(struct report_ctx *c, const char *def, const char *pop, const char *arm,
                       size_t n, double value, double lo, double hi, const char *ci_method,
                       const char *note)
{
    enum rep_unit unit = REP_UNIT_PERCENT;
    enum rep_kind kind = REP_KIND_REDUCTION;
    enum rep_scope scope = REP_SCOPE_ITT;
    const char *label = def;
    json_t *r;

    for (size_t i = 0; i < sizeof report_definitions / sizeof report_definitions[0]; i++)
        if (strcmp(report_definitions[i].key, def) == 0) {
            unit = report_definitions[i].unit;
            kind = report_definitions[i].kind;
            label = report_definitions[i].label;
        }
    for (size_t i = 0; i < sizeof report_populations / sizeof report_populations[0]; i++)
        if (strcmp(report_populations[i].key, pop) == 0)
            scope = report_populations[i].scope;
    r = json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:s, s:s, s:s, s:s}", "definition", def,
                  "label", label, "population", pop, "arm", arm ? json_string(arm) : json_null(),
                  "n", (json_int_t)n, "value", jnum(value), "ci95", cli_jci(lo, hi), "ci_method",
                  ci_method, "unit", unit == REP_UNIT_PERCENT ? "percent" : "points", "kind",
                  kind == REP_KIND_SHARE ? "share of participants" : "change of the score", "scope",
                  scope == REP_SCOPE_COMPLETERS ? "completers" : "everyone who started");
    if (note != NULL)
        json_object_set_new(r, "note", json_string(note));
    json_array_append_new(c->rows, r);
}

/* A row that could not be computed, with why. */
static void report_row_na(struct report_ctx *c, const char *def, const char *pop, const char *arm,
                          size_t n, const char *why)
{
    report_row(c, def, pop, arm, n, NAN, NAN, NAN, "", NULL);
    json_object_set_new(json_array_get(c->rows, json_array_size(c->rows) - 1), "unavailable",
                        json_string(why));
}

/* Within-arm effect sizes of one population and arm. */
static json_t *report_within_json(const struct ana_prepost *r, const char *pop, const char *arm)
{
    json_t *j = json_pack("{s:s, s:o, s:I}", "population", pop, "arm",
                          arm ? json_string(arm) : json_null(), "n", (json_int_t)r->summary.n);

    json_object_set_new(j, "mean_pre", json_real(r->summary.pre.mean));
    json_object_set_new(j, "mean_post", json_real(r->summary.post.mean));
    json_object_set_new(j, "d_z",
                        r->status[ANA_PP_D_Z] == 0
                            ? json_pack("{s:f, s:o, s:s}", "value", r->d_z.value, "ci95",
                                        cli_jci(r->d_z.ci.lo, r->d_z.ci.hi), "ci_method",
                                        "noncentral t")
                            : json_null());
    json_object_set_new(j, "g_av", r->status[ANA_PP_G_AV] == 0 ? json_real(r->g_av) : json_null());
    json_object_set_new(j, "d_av", r->status[ANA_PP_D_AV] == 0 ? json_real(r->d_av) : json_null());
    json_object_set_new(j, "d_rm", r->status[ANA_PP_D_RM] == 0 ? json_real(r->d_rm) : json_null());
    json_object_set_new(j, "delta_pre",
                        r->status[ANA_PP_DELTA_PRE] == 0 ? json_real(r->delta_pre) : json_null());
    return j;
}

/* The pre/post rows of one population and arm (arm -1: every arm together). */
static int report_paired(struct report_ctx *c, size_t pi, int arm, json_t *within, json_t *pop_n,
                         struct ana_prepost *r, struct err *e)
{
    const char *pop = report_populations[pi].key;
    const char *armname = arm >= 0 ? c->d->arms[arm] : NULL;
    struct ds_pairs p;
    struct ana_prepost_opts po;
    double *pct = NULL;
    size_t n_pct = 0;
    char boot[160];
    int rc;

    memset(&p, 0, sizeof p);
    if ((rc = ds_pair(c->d, c->pre, c->post, arm, report_populations[pi].pop, &p, e)) != 0)
        return rc;
    json_object_set_new(pop_n, armname ? armname : "all",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "n", (json_int_t)p.n, "considered",
                                  (json_int_t)p.n_considered, "no_baseline",
                                  (json_int_t)p.n_no_baseline, "no_followup",
                                  (json_int_t)p.n_no_followup, "imputed", (json_int_t)p.n_imputed));
    if (p.n < 2) {
        for (size_t k = 0; k < sizeof report_definitions / sizeof report_definitions[0]; k++)
            report_row_na(c, report_definitions[k].key, pop, armname, p.n,
                          "fewer than 2 participants in this population");
        rc = 0;
        goto out;
    }
    ana_prepost_opts_init(&po);
    po.level = c->o->level;
    po.boot.resamples = c->o->resamples;
    po.boot.seed = c->o->seed;
    po.boot.level = c->o->level;
    if ((rc = ana_prepost_run(p.pre, p.post, p.n, &po, &c->facts, r, e)) != 0)
        goto out;
    snprintf(boot, sizeof boot, "bootstrap percentile, %zu resamples of participants, seed %lu",
             po.boot.resamples, po.boot.seed);
    if (r->status[ANA_PP_PCT_MEANS] == 0 && r->status[ANA_PP_BOOTSTRAP] == 0)
        report_row(c, "group_mean_pct", pop, armname, p.n, r->pct_means, r->boot.percentile.lo,
                   r->boot.percentile.hi, boot, NULL);
    else
        report_row_na(c, "group_mean_pct", pop, armname, p.n,
                      r->status[ANA_PP_PCT_MEANS] ? r->why[ANA_PP_PCT_MEANS]
                                                  : r->why[ANA_PP_BOOTSTRAP]);

    /* Individual percentages over positive baselines (ana_pct_individual's rule). */
    pct = malloc(p.n * sizeof *pct);
    if (pct == NULL) {
        rc = err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p.n; i++)
        if (p.pre[i] > 0)
            pct[n_pct++] = 100.0 * (p.pre[i] - p.post[i]) / p.pre[i];
    {
        struct ana_mean_ci m;
        struct ana_median_ci md;
        struct err se;
        char note[120];
        snprintf(note, sizeof note, "%zu of %zu with a baseline above 0", n_pct, p.n);
        err_clear(&se);
        if (ana_mean_ci(pct, n_pct, c->o->level, &m, &se) == 0)
            report_row(c, "individual_pct_mean", pop, armname, n_pct, m.mean, m.ci.lo, m.ci.hi,
                       "t interval of the mean", note);
        else
            report_row_na(c, "individual_pct_mean", pop, armname, n_pct, se.message);
        err_clear(&se);
        if (ana_median_ci(pct, n_pct, c->o->level, &md, &se) == 0) {
            char how[120];
            snprintf(how, sizeof how, "order statistics %zu and %zu (coverage %.4f)", md.lower_rank,
                     md.upper_rank, md.coverage);
            report_row(c, "individual_pct_median", pop, armname, n_pct, md.median, md.ci.lo,
                       md.ci.hi, how, note);
        } else {
            report_row_na(c, "individual_pct_median", pop, armname, n_pct, se.message);
        }
    }
    if (r->status[ANA_PP_RESPONDERS] == 0 && r->responders.has_responders) {
        const struct ana_proportion *x = &r->responders.responders;
        char note[80];
        snprintf(note, sizeof note, "threshold %g%% of the baseline", c->facts.responder_pct);
        report_row(c, "responders_pct", pop, armname, x->n, 100 * x->share, 100 * x->ci.lo,
                   100 * x->ci.hi, "Wilson", note);
    } else {
        report_row_na(c, "responders_pct", pop, armname, p.n, "no baseline above 0");
    }
    if (r->status[ANA_PP_RELIABLE_CHANGE] == 0) {
        struct ana_proportion x;
        char note[120];
        snprintf(note, sizeof note, "|RCI| > 1.96 with reliability %g: at least %.2f points",
                 r->rci.reliability, r->rci.min_reliable_change);
        if (ana_wilson(r->rci.improved, p.n, c->o->level, &x, e) != 0) {
            rc = e->code;
            goto out;
        }
        report_row(c, "reliable_improvement_pct", pop, armname, p.n, 100 * x.share, 100 * x.ci.lo,
                   100 * x.ci.hi, "Wilson", note);
    } else {
        report_row_na(c, "reliable_improvement_pct", pop, armname, p.n,
                      r->why[ANA_PP_RELIABLE_CHANGE]);
    }
    if (r->status[ANA_PP_RESPONDERS] == 0 && r->responders.has_remission) {
        const struct ana_proportion *x = &r->responders.remission;
        char note[120];
        snprintf(note, sizeof note, "below %g at follow-up; %zu already below at baseline left out",
                 c->facts.remission_cutoff, r->responders.remission_not_eligible);
        report_row(c, "remission_pct", pop, armname, x->n, 100 * x->share, 100 * x->ci.lo,
                   100 * x->ci.hi, "Wilson", note);
    } else {
        report_row_na(c, "remission_pct", pop, armname, p.n,
                      c->facts.has_remission ? "nobody was above the cut-off at baseline"
                                             : "the instrument has no remission cut-off");
    }
    if (r->status[ANA_PP_RESPONDERS] == 0 && r->responders.has_mcid) {
        const struct ana_proportion *x = &r->responders.mcid_improved;
        char note[80];
        snprintf(note, sizeof note, "MCID %g points", c->facts.mcid);
        report_row(c, "mcid_pct", pop, armname, x->n, 100 * x->share, 100 * x->ci.lo,
                   100 * x->ci.hi, "Wilson", note);
    } else {
        report_row_na(c, "mcid_pct", pop, armname, p.n, "the instrument has no MCID");
    }
    if (r->status[ANA_PP_PAIRED_T] == 0)
        report_row(c, "mean_change_points", pop, armname, p.n, r->paired_t.estimate,
                   r->paired_t.ci.lo, r->paired_t.ci.hi, "paired t", NULL);
    else
        report_row_na(c, "mean_change_points", pop, armname, p.n, r->why[ANA_PP_PAIRED_T]);
    json_array_append_new(within, report_within_json(r, pop, armname));
    rc = 0;
out:
    free(pct);
    ds_pairs_free(&p);
    return rc;
}

/* Participants with at least one score, per arm (-1: all). */
static size_t report_with_scores(const struct ds_long *d, int arm)
{
    unsigned char *seen = calloc(d->n_subjects + 1, 1);
    size_t k = 0;

    if (seen == NULL)
        return 0;
    for (size_t i = 0; i < d->n; i++) {
        uint32_t s = d->subject[i];
        if (!seen[s] && (arm < 0 || d->subject_arm[s] == arm)) {
            seen[s] = 1;
            k++;
        }
    }
    free(seen);
    return k;
}

/* The mixed model: fit, its document, and its rows. */
static int report_mixed(struct report_ctx *c, json_t *doc, json_t *pop_n, struct err *e)
{
    struct cli_mixed_options mo;
    struct cli_mixed_names names = {"participant", "week", NULL, "arm"};
    json_t *opts = NULL, *res = NULL;
    size_t arms_with = 0;
    int rc;

    names.score = c->o->instrument;
    memset(&mo, 0, sizeof mo);
    mo.random = ANA_LMM_RANDOM_SLOPE;
    mo.method = ANA_LMM_REML;
    for (size_t a = 0; a < c->d->n_arms; a++)
        arms_with += report_with_scores(c->d, (int)a) > 0;
    mo.with_arm = arms_with > 1;
    mo.interaction = mo.with_arm;
    mo.arm_ref = mo.with_arm ? c->o->arm_ref : NULL;
    mo.has_pre = mo.has_post = 1;
    mo.pre = c->pre;
    mo.post = c->post;
    for (size_t i = 0; i <= c->d->n_arms; i++) {
        int arm = i < c->d->n_arms ? (int)i : -1;
        json_object_set_new(pop_n, arm >= 0 ? c->d->arms[arm] : "all",
                            json_pack("{s:I}", "n", (json_int_t)report_with_scores(c->d, arm)));
    }
    if ((rc = cli_mixed_fit(c->d, &mo, &names, &c->fit, e)) != 0)
        return rc;
    opts = cli_mixed_options_json(&mo);
    rc = cli_mixed_result(c->fit, c->d, &mo, &names, opts, &res, e);
    json_decref(opts);
    if (rc != 0)
        return rc;
    json_object_del(res, "options");
    json_object_set_new(doc, "mixed", res);
    for (size_t i = 0; i <= c->d->n_arms; i++) {
        int arm = i < c->d->n_arms ? (int)i : -1;
        const char *name = report_arm_name(c, i);
        struct ana_lmm_reduction r;
        struct err me;
        size_t n = report_with_scores(c->d, arm);
        err_clear(&me);
        if (arm >= 0 && ana_lmm_level_of_arm(c->fit, arm) < 0)
            continue; /* an arm without scores is not in the model */
        if (ana_lmm_reduction(c->fit, c->pre, c->post, arm, &r, &me) != 0) {
            report_row_na(c, "group_mean_pct", "mixed", name, n, me.message);
            continue;
        }
        if (r.has_percent)
            report_row(c, "group_mean_pct", "mixed", name, n, r.percent, r.percent_ci95[0],
                       r.percent_ci95[1], "delta method (normal)",
                       arm < 0 && mo.with_arm ? "the average of the arms' model-based means"
                                              : NULL);
        else
            report_row_na(c, "group_mean_pct", "mixed", name, n, "the baseline mean is 0");
        report_row(c, "mean_change_points", "mixed", name, n, r.points.estimate, r.points.ci95[0],
                   r.points.ci95[1], "Satterthwaite t", NULL);
    }
    return 0;
}

static int report_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The reference arm: as given, or the first in C-locale order (as the mixed model). */
static int report_reference(const struct report_ctx *c, struct err *e)
{
    const char **names;
    int idx;

    if (c->d->n_arms == 0)
        return -1;
    if (c->o->arm_ref != NULL) {
        idx = ds_arm_index(c->d, c->o->arm_ref);
        if (idx < 0) {
            err_set(e, DS_ENOTFOUND, "no arm \"%s\" with participants", c->o->arm_ref);
            return -2;
        }
        return idx;
    }
    names = malloc(c->d->n_arms * sizeof *names);
    if (names == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        return -2;
    }
    for (size_t i = 0; i < c->d->n_arms; i++)
        names[i] = c->d->arms[i];
    qsort(names, c->d->n_arms, sizeof *names, report_cmp_str);
    idx = ds_arm_index(c->d, names[0]);
    free(names);
    return idx;
}

/* Comparisons of each arm with the reference, for each pre/post population and the model. */
static int report_between(struct report_ctx *c, int ref, json_t *out, struct err *e)
{
    for (size_t a = 0; a < c->d->n_arms; a++) {
        if ((int)a == ref)
            continue;
        for (size_t pi = 0; pi < REPORT_N_PAIRED; pi++) {
            struct ds_pairs pr, pt;
            double *pre = NULL, *post = NULL;
            unsigned char *arm = NULL;
            struct ana_between *b = NULL;
            struct err be;
            json_t *j;
            int rc;
            memset(&pr, 0, sizeof pr);
            memset(&pt, 0, sizeof pt);
            if ((rc = ds_pair(c->d, c->pre, c->post, ref, report_populations[pi].pop, &pr, e)) !=
                    0 ||
                (rc = ds_pair(c->d, c->pre, c->post, (int)a, report_populations[pi].pop, &pt, e)) !=
                    0) {
                ds_pairs_free(&pr);
                return rc;
            }
            j = json_pack("{s:s, s:s, s:s, s:I, s:I}", "population", report_populations[pi].key,
                          "test", c->d->arms[a], "reference", c->d->arms[ref], "n_test",
                          (json_int_t)pt.n, "n_reference", (json_int_t)pr.n);
            pre = malloc((pr.n + pt.n + 1) * sizeof *pre);
            post = malloc((pr.n + pt.n + 1) * sizeof *post);
            arm = malloc(pr.n + pt.n + 1);
            b = malloc(sizeof *b);
            err_clear(&be);
            if (pre == NULL || post == NULL || arm == NULL || b == NULL) {
                rc = err_set(e, DS_ENOMEM, "out of memory");
            } else {
                size_t n = 0;
                for (size_t i = 0; i < pt.n; i++, n++)
                    pre[n] = pt.pre[i], post[n] = pt.post[i], arm[n] = 1;
                for (size_t i = 0; i < pr.n; i++, n++)
                    pre[n] = pr.pre[i], post[n] = pr.post[i], arm[n] = 0;
                if (pt.n >= 2 && pr.n >= 2 &&
                    ana_between_run(pre, post, arm, n, c->o->level, ANA_J_EXACT, b, &be) == 0) {
                    if (b->status[ANA_BT_TWO_SAMPLE] == 0) {
                        json_object_set_new(
                            j, "cohens_d",
                            json_pack("{s:f, s:o}", "value", b->post.cohens_d.value, "ci95",
                                      cli_jci(b->post.cohens_d.ci.lo, b->post.cohens_d.ci.hi)));
                        json_object_set_new(
                            j, "hedges_g",
                            json_pack("{s:f, s:o}", "value", b->post.hedges_g.value, "ci95",
                                      cli_jci(b->post.hedges_g.ci.lo, b->post.hedges_g.ci.hi)));
                    }
                    if (b->status[ANA_BT_CHANGE] == 0)
                        json_object_set_new(
                            j, "mean_change_difference",
                            json_pack("{s:f, s:o, s:f}", "estimate", b->change.estimate, "ci95",
                                      cli_jci(b->change.ci.lo, b->change.ci.hi), "p", b->change.p));
                    if (b->status[ANA_BT_ANCOVA] == 0)
                        json_object_set_new(
                            j, "ancova",
                            json_pack("{s:f, s:f, s:o, s:f}", "estimate", b->ancova.estimate, "se",
                                      b->ancova.se, "ci95",
                                      cli_jci(b->ancova.ci.lo, b->ancova.ci.hi), "p", b->ancova.p));
                } else {
                    json_object_set_new(j, "unavailable",
                                        json_string(pt.n < 2 || pr.n < 2
                                                        ? "an arm has fewer than 2 participants"
                                                        : be.message));
                }
            }
            json_array_append_new(out, j);
            free(pre);
            free(post);
            free(arm);
            free(b);
            ds_pairs_free(&pr);
            ds_pairs_free(&pt);
            if (rc != 0)
                return rc;
        }
        /* The model: the difference between the arms' model-based reductions. */
        if (c->fit != NULL && c->fit->n_levels > 1 && ana_lmm_level_of_arm(c->fit, (int)a) >= 0 &&
            ana_lmm_level_of_arm(c->fit, ref) >= 0) {
            double *L = calloc(c->fit->p * 5 + 1, sizeof *L);
            struct ana_lmm_estimate est;
            struct err me;
            int ok = L != NULL;
            err_clear(&me);
            /* (pre - post) in the test arm minus (pre - post) in the reference arm. */
            ok = ok && ana_lmm_design_row(c->fit, c->pre, (int)a, NULL, L + c->fit->p, &me) == 0 &&
                 ana_lmm_design_row(c->fit, c->post, (int)a, NULL, L + 2 * c->fit->p, &me) == 0 &&
                 ana_lmm_design_row(c->fit, c->pre, ref, NULL, L + 3 * c->fit->p, &me) == 0 &&
                 ana_lmm_design_row(c->fit, c->post, ref, NULL, L + 4 * c->fit->p, &me) == 0;
            if (ok) {
                for (size_t k = 0; k < c->fit->p; k++)
                    L[k] = L[c->fit->p + k] - L[2 * c->fit->p + k] - L[3 * c->fit->p + k] +
                           L[4 * c->fit->p + k];
                ok = ana_lmm_contrast(c->fit, L, &est, &me) == 0;
            }
            json_array_append_new(
                out, ok ? json_pack("{s:s, s:s, s:s, s:{s:f, s:f, s:f, s:o, s:f}}", "population",
                                    "mixed", "test", c->d->arms[a], "reference", c->d->arms[ref],
                                    "difference_in_reduction_points", "estimate", est.estimate,
                                    "se", est.se, "df", est.df, "ci95",
                                    cli_jci(est.ci95[0], est.ci95[1]), "p", est.p)
                        : json_pack("{s:s, s:s, s:s, s:s}", "population", "mixed", "test",
                                    c->d->arms[a], "reference", c->d->arms[ref], "unavailable",
                                    L == NULL ? "out of memory" : me.message));
            free(L);
        }
    }
    return 0;
}

/* Baseline characteristics by arm of every instrument due at the baseline week. */
static int report_baseline(struct report_ctx *c, PGconn *conn, json_t *out, struct err *e)
{
    int rc;

    if ((rc = ds_baseline_load(conn, c->o->study, (int)c->pre, &c->b, e)) != 0)
        return rc;
    for (size_t k = 0; k < c->b->n_instruments; k++) {
        struct ds_long *d = NULL;
        json_t *arms = json_array();
        double *buf = NULL;
        if ((rc = ds_load_study(conn, c->o->study, c->b->instruments[k], &d, e)) != 0) {
            json_decref(arms);
            return rc;
        }
        buf = malloc((d->n + 1) * sizeof *buf);
        for (size_t i = 0; buf != NULL && i <= d->n_arms; i++) {
            int arm = i < d->n_arms ? (int)i : -1;
            const char *name = arm >= 0 ? d->arms[arm] : "all";
            size_t n = 0;
            struct ana_describe ds;
            struct err de;
            json_t *bands = json_object(), *j;
            for (size_t r = 0; r < d->n; r++)
                if (d->time[r] == c->pre && (arm < 0 || d->subject_arm[d->subject[r]] == arm))
                    buf[n++] = d->score[r];
            err_clear(&de);
            if (n >= 2 && ana_describe(buf, n, &ds, &de) == 0)
                j = json_pack("{s:s, s:I, s:f, s:f, s:f}", "arm", name, "n", (json_int_t)n, "mean",
                              ds.mean, "sd", ds.sd, "median", ds.median);
            else
                j = json_pack("{s:s, s:I}", "arm", name, "n", (json_int_t)n);
            for (size_t bi = 0; bi < c->b->n_bands; bi++) {
                const struct ds_band_count *x = &c->b->bands[bi];
                const char *key;
                json_t *have;
                if (c->b->band_instrument[bi] != k || x->band[0] == '\0' ||
                    (arm >= 0 && strcmp(x->arm, name) != 0))
                    continue;
                key = x->band[0] ? x->band : "(no band)";
                have = json_object_get(bands, key);
                json_object_set_new(
                    bands, key,
                    json_integer((have ? json_integer_value(have) : 0) + (json_int_t)x->count));
            }
            json_object_set_new(j, "bands", bands);
            json_array_append_new(arms, j);
        }
        json_array_append_new(out, json_pack("{s:s, s:f, s:o}", "instrument", c->b->instruments[k],
                                             "week", c->pre, "arms", arms));
        free(buf);
        ds_long_free(d);
        if (buf == NULL)
            return err_set(e, DS_ENOMEM, "out of memory");
    }
    return 0;
}

/* "Adds up": the populations against the flow, per arm and in total. */
static json_t *report_adds_up(const struct report_ctx *c, json_t *pops)
{
    json_t *out = json_object();

    for (size_t i = 0; i <= c->a->n_arms; i++) {
        const struct ds_attrition_arm *aa = i < c->a->n_arms ? &c->a->arms[i] : &c->a->total;
        const char *name = i < c->a->n_arms ? aa->arm : "all";
        const struct ds_attrition_flow *f = &aa->flow;
        size_t left =
            f->not_final_withdrawn + f->not_final_missed + f->not_final_void + f->not_final_pending;
        json_int_t nc = -1, nb = -1, nl = -1;
        json_t *x;
        size_t pi;
        json_array_foreach(pops, pi, x)
        {
            json_int_t v = json_integer_value(
                json_object_get(json_object_get(json_object_get(x, "n"), name), "n"));
            const char *key = json_string_value(json_object_get(x, "key"));
            if (json_object_get(json_object_get(x, "n"), name) == NULL)
                v = 0; /* an arm without participants with scores */
            if (strcmp(key, "completers") == 0)
                nc = v;
            else if (strcmp(key, "bocf") == 0)
                nb = v;
            else if (strcmp(key, "locf") == 0)
                nl = v;
        }
        json_object_set_new(
            out, name,
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:b}", "baseline_done",
                      (json_int_t)f->baseline_done, "completers_flow", (json_int_t)f->completers,
                      "did_not_complete", (json_int_t)left, "completers_population", nc,
                      "bocf_population", nb, "completers_plus_did_not_complete_is_baseline",
                      f->completers + left == f->baseline_done, "completers_population_is_flow",
                      nc == (json_int_t)f->completers, "bocf_population_is_baseline",
                      nb == (json_int_t)f->baseline_done, "locf_population_is_baseline",
                      nl == (json_int_t)f->baseline_done));
    }
    return out;
}

/* The claim check over every headline row. */
static json_t *report_claim_json(struct report_ctx *c)
{
    json_t *rows = json_array(), *x;
    size_t i, n_repro = 0, n_value = 0, n_ci = 0;
    static const char *const scopes[] = {"not stated", "completers", "everyone who started"};
    const struct rep_claim *cl = &c->claim;
    json_t *flow_n = json_array();

    json_array_foreach(c->rows, i, x)
    {
        struct rep_candidate cand;
        struct rep_match m;
        json_t *ci = json_object_get(x, "ci95");
        if (!json_is_number(json_object_get(x, "value")))
            continue;
        cand.definition = json_string_value(json_object_get(x, "definition"));
        cand.unit = strcmp(json_string_value(json_object_get(x, "unit")), "points") == 0
                        ? REP_UNIT_POINTS
                        : REP_UNIT_PERCENT;
        cand.kind =
            strcmp(json_string_value(json_object_get(x, "kind")), "share of participants") == 0
                ? REP_KIND_SHARE
                : REP_KIND_REDUCTION;
        cand.value = json_number_value(json_object_get(x, "value"));
        cand.ci_lo =
            json_is_number(json_array_get(ci, 0)) ? json_number_value(json_array_get(ci, 0)) : NAN;
        cand.ci_hi =
            json_is_number(json_array_get(ci, 1)) ? json_number_value(json_array_get(ci, 1)) : NAN;
        cand.n = (long)json_integer_value(json_object_get(x, "n"));
        cand.weeks = c->post - c->pre;
        cand.scope = strcmp(json_string_value(json_object_get(x, "scope")), "completers") == 0
                         ? REP_SCOPE_COMPLETERS
                         : REP_SCOPE_ITT;
        cand.arm = json_string_value(json_object_get(x, "arm"));
        rep_claim_match(cl, &cand, &m);
        n_repro += m.verdict == REP_REPRODUCES;
        n_value += m.verdict == REP_VALUE_ONLY;
        n_ci += m.verdict == REP_WITHIN_CI;
        if (m.verdict == REP_NO && !m.unit_ok)
            continue; /* another kind of number altogether: not worth a line */
        json_array_append_new(rows,
                              json_pack("{s:I, s:s, s:s, s:o, s:o, s:I, s:s, s:s}", "row",
                                        (json_int_t)i, "definition", cand.definition, "population",
                                        json_string_value(json_object_get(x, "population")), "arm",
                                        json_copy(json_object_get(x, "arm")), "value",
                                        json_real(cand.value), "n", (json_int_t)cand.n, "verdict",
                                        rep_verdict_name(m.verdict), "why", m.why));
    }
    /* Which counts of the flow the claimed n is, if any. */
    if (cl->has_n) {
        for (size_t k = 0; k <= c->a->n_arms; k++) {
            const struct ds_attrition_arm *aa = k < c->a->n_arms ? &c->a->arms[k] : &c->a->total;
            const struct {
                const char *what;
                size_t v;
            } counts[] = {{"enrolled", aa->flow.enrolled},
                          {"baseline_done", aa->flow.baseline_done},
                          {"completers", aa->flow.completers}};
            for (size_t q = 0; q < 3; q++)
                if ((long)counts[q].v == cl->n)
                    json_array_append_new(
                        flow_n, json_pack("{s:s, s:s}", "arm", aa->arm, "count", counts[q].what));
        }
    }
    return json_pack(
        "{s:s, s:{s:f, s:i, s:f, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:s}, s:s, s:{s:I, s:I, s:I}, "
        "s:o, s:o, s:s}",
        "text", cl->text, "read_as", "value", cl->value, "decimals", cl->decimals, "tolerance",
        cl->tolerance, "unit", cl->unit == REP_UNIT_PERCENT ? "percent" : "points", "n",
        cl->has_n ? json_integer(cl->n) : json_null(), "weeks",
        cl->has_weeks ? json_real(cl->weeks) : json_null(), "direction",
        cl->direction == REP_DIR_UP     ? "increase"
        : cl->direction == REP_DIR_DOWN ? "reduction"
                                        : "not stated",
        "population", scopes[cl->scope], "kind",
        cl->kind == REP_KIND_SHARE       ? "share of participants"
        : cl->kind == REP_KIND_REDUCTION ? "change of the score"
                                         : "not stated",
        "arm", cl->has_arm ? json_string(cl->arm) : json_null(), "population_noun",
        cl->population_noun, "verdict",
        n_repro > 0   ? "reproduced"
        : n_value > 0 ? "figure found, but not for what the claim says"
        : n_ci > 0    ? "not reproduced, but inside a confidence interval"
                      : "not reproduced",
        "counts", "reproduces", (json_int_t)n_repro, "value_only", (json_int_t)n_value, "within_ci",
        (json_int_t)n_ci, "rows", rows, "claimed_n_is", flow_n, "rule",
        "a row reproduces the claim when its value rounds to the claim's figure at the claim's "
        "precision and the n, weeks, population and arm the claim states agree; 'value only' "
        "when only the value does; 'within CI' when the figure is inside the row's 95% CI");
}

int cli_report_build(PGconn *conn, const struct cfg *cfg, const struct cli_report_opts *o,
                     json_t **out, struct err *e)
{
    struct report_ctx c;
    struct ana_prepost *pp = NULL;
    json_t *doc = NULL, *pops = NULL, *within = NULL, *between = NULL, *baseline = NULL;
    json_t *eng = NULL, *opts = NULL, *args = NULL, *versions = NULL;
    struct cli_engage_opts eo;
    char fingerprint[65], run_id[37];
    int ref, rc;

    memset(&c, 0, sizeof c);
    c.o = o;
    if ((rc = ds_attrition_load(conn, o->study, o->instrument, o->asof, o->pre, o->post, &c.a,
                                e)) != 0)
        goto out;
    c.pre = c.a->baseline_week;
    c.post = c.a->final_week;
    if ((rc = ds_load_study(conn, o->study, o->instrument, &c.d, e)) != 0)
        goto out;
    if (c.d->n == 0) {
        rc = err_set(e, DS_EEMPTY, "study \"%s\" has no %s scores", o->study, o->instrument);
        goto out;
    }
    if (o->claim != NULL && (rc = rep_claim_parse(o->claim, (const char *const *)c.d->arms,
                                                  c.d->n_arms, &c.claim, e)) != 0)
        goto out;
    c.has_claim = o->claim != NULL;
    if (!cli_facts_for_instrument(cfg, o->instrument, &c.facts, &c.facts_source))
        c.facts_source = "none known: responders at 50%; no remission, MCID or reliability";
    if ((rc = ds_engagement_load(conn, o->study, c.d, c.a->asof, (int64_t)(o->session_cap * 60e6),
                                 &c.g, e)) != 0)
        goto out;
    rc = DS_ENOMEM;
    c.rows = json_array();
    pops = json_array();
    within = json_array();
    between = json_array();
    baseline = json_array();
    pp = malloc(sizeof *pp);
    if (c.rows == NULL || pops == NULL || within == NULL || between == NULL || baseline == NULL ||
        pp == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    doc = json_pack("{s:s, s:s, s:s}", "kind", "report", "study", o->study, "instrument",
                    o->instrument);
    for (size_t pi = 0; pi < sizeof report_populations / sizeof report_populations[0]; pi++) {
        json_t *pn = json_object();
        json_array_append_new(pops, json_pack("{s:s, s:s, s:s, s:s, s:o}", "key",
                                              report_populations[pi].key, "label",
                                              report_populations[pi].label, "definition",
                                              report_populations[pi].definition, "assumption",
                                              report_populations[pi].assumption, "n", pn));
        if (pi < REPORT_N_PAIRED) {
            for (size_t i = 0; i <= c.d->n_arms; i++)
                if ((rc = report_paired(&c, pi, i < c.d->n_arms ? (int)i : -1, within, pn, pp,
                                        e)) != 0)
                    goto out;
        } else if ((rc = report_mixed(&c, doc, pn, e)) != 0) {
            goto out;
        }
    }
    if ((ref = report_reference(&c, e)) < -1) {
        rc = e->code;
        goto out;
    }
    if (ref >= 0 && (rc = report_between(&c, ref, between, e)) != 0)
        goto out;
    if ((rc = report_baseline(&c, conn, baseline, e)) != 0)
        goto out;
    memset(&eo, 0, sizeof eo);
    eo.pre = c.pre;
    eo.post = c.post;
    eo.population = DS_COMPLETERS;
    eo.metric = o->metric;
    eo.covariate = CLI_COV_TOTAL;
    eo.spearman_se = ANA_SPEARMAN_SE_BONETT_WRIGHT;
    eo.level = o->level;
    if ((rc = cli_engagement_json(c.d, c.g, &eo, &eng, e)) != 0)
        goto out;

    /* Options and their canonical arguments; then provenance. */
    args = json_array();
    cli_args_add(args, "--study", o->study);
    cli_args_add(args, "--instrument", o->instrument);
    cli_args_add(args, "--asof", c.a->asof);
    cli_args_num(args, "--pre", c.pre);
    cli_args_num(args, "--post", c.post);
    if (ref >= 0)
        cli_args_add(args, "--arm-ref", c.d->arms[ref]);
    cli_args_num(args, "--resamples", (double)o->resamples);
    cli_args_num(args, "--seed", (double)o->seed);
    cli_args_num(args, "--session-cap", o->session_cap);
    cli_args_add(args, "--metric", ds_eng_metric_name(o->metric));
    if (o->claim != NULL)
        cli_args_add(args, "--claim", o->claim);
    opts = json_pack(
        "{s:s, s:s, s:s, s:f, s:f, s:o, s:f, s:I, s:I, s:f, s:s, s:{s:s, s:f, s:o, "
        "s:o, s:o}, s:o}",
        "study", o->study, "instrument", o->instrument, "asof", c.a->asof, "pre", c.pre, "post",
        c.post, "arm_reference", ref >= 0 ? json_string(c.d->arms[ref]) : json_null(), "level",
        o->level, "resamples", (json_int_t)o->resamples, "seed", (json_int_t)o->seed,
        "session_cap_minutes", o->session_cap, "engagement_metric", ds_eng_metric_name(o->metric),
        "facts", "source", c.facts_source, "responder_pct", c.facts.responder_pct,
        "remission_below",
        c.facts.has_remission ? json_real(c.facts.remission_cutoff) : json_null(), "mcid",
        c.facts.has_mcid ? json_real(c.facts.mcid) : json_null(), "reliability",
        c.facts.has_reliability ? json_real(c.facts.reliability) : json_null(), "args", args);
    args = NULL;
    {
        const char *parts[] = {c.d->fingerprint, c.a->fingerprint, c.g->fingerprint, NULL};
        cli_flow_fingerprint(parts, fingerprint);
    }
    versions = json_array();
    for (size_t i = 0; i < c.d->n_versions; i++)
        json_array_append_new(versions, json_string(c.d->versions[i]));
    json_object_set_new(doc, "options", opts);
    opts = NULL;
    json_object_set_new(doc, "input",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "source", c.d->source, "fingerprint",
                                  fingerprint, "scores_fingerprint", c.d->fingerprint,
                                  "attrition_fingerprint", c.a->fingerprint, "events_fingerprint",
                                  c.g->fingerprint));
    json_object_set_new(doc, "attrition", cli_attrition_json(c.a));
    json_object_set_new(doc, "populations", pops);
    json_object_set_new(doc, "adds_up", report_adds_up(&c, pops));
    pops = NULL;
    json_object_set_new(doc, "baseline", baseline);
    baseline = NULL;
    {
        /* By definition, then population and arm as computed. */
        json_t *sorted = json_array(), *x;
        size_t i;
        for (size_t k = 0; k < REPORT_N_DEFINITIONS; k++) {
            json_array_foreach(c.rows, i, x)
            {
                if (strcmp(json_string_value(json_object_get(x, "definition")),
                           report_definitions[k].key) == 0)
                    json_array_append(sorted, x);
            }
        }
        json_decref(c.rows);
        c.rows = sorted;
    }
    json_object_set_new(doc, "headline",
                        json_pack("{s:f, s:f, s:s, s:O}", "pre", c.pre, "post", c.post, "direction",
                                  "reduction = pre - post: positive when the score went down",
                                  "rows", c.rows));
    json_object_set_new(doc, "effect_sizes",
                        json_pack("{s:o, s:o}", "within", within, "between", between));
    within = between = NULL;
    json_object_del(eng, "participants");
    json_object_set_new(doc, "engagement", eng);
    eng = NULL;
    if (c.has_claim)
        json_object_set_new(doc, "claim", report_claim_json(&c));
    json_object_set_new(doc, "provenance",
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "program", "attune",
                                  "version", ATTUNE_VERSION, "git", ATTUNE_GIT_REV,
                                  "data_fingerprint", fingerprint, "asof", c.a->asof,
                                  "instrument_versions", versions, "facts_source", c.facts_source));
    versions = NULL;
    {
        struct ds_run run = {o->study,    "report",      json_object_get(doc, "options"),
                             fingerprint, c.d->versions, c.d->n_versions,
                             doc,         NULL};
        if ((rc = ds_run_record(conn, &run, run_id, e)) != 0) {
            err_prefix(e, "could not record the report run");
            goto out;
        }
    }
    json_object_set_new(json_object_get(doc, "provenance"), "run_id", json_string(run_id));
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    json_decref(doc);
    json_decref(pops);
    json_decref(within);
    json_decref(between);
    json_decref(baseline);
    json_decref(eng);
    json_decref(opts);
    json_decref(args);
    json_decref(versions);
    json_decref(c.rows);
    free(pp);
    ds_attrition_free(c.a);
    ds_long_free(c.d);
    ds_engagement_free(c.g);
    ds_baseline_free(c.b);
    ana_lmm_fit_free(c.fit);
    return rc;
}
