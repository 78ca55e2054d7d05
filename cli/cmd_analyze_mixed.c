/*
 * cmd_analyze_mixed.c — `attune analyze mixed`: a linear mixed model of the
 * scores over time (analysis/ana_lmm.h) from a study or a long CSV file,
 * with the model-based mean at each time and the model-based reduction from
 * a pre to a post time, as a table, JSON or CSV. A study's run is recorded
 * in analysis_runs.
 *
 * The plumbing only: ds_long → ana_lmm_data, ana_lmm_* → JSON. The JSON is
 * built once (cli_mixed_result) and the table and CSV are printed from the
 * fit, so the recorded result and the printed numbers are the same fit.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ana_lmm.h"
#include "analyze.h"
#include "analyze_cmd.h"
#include "cli.h"

enum {
    OPT_ARM_REF = 1100,
    OPT_RANDOM,
    OPT_METHOD,
    OPT_INTERACTION,
    OPT_CATEGORICAL,
    OPT_PRE,
    OPT_POST,
};

static int mixed_parse_time(const char *opt, const char *arg, double *out)
{
    char *end;
    double v = strtod(arg, &end);

    if (end == arg || *end != '\0' || !isfinite(v)) {
        fprintf(stderr, "error: invalid %s \"%s\"\nHINT: Give a study week, such as 0 or 8.\n", opt,
                arg);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_mixed_option(int opt, const char *arg, struct cli_mixed_options *o)
{
    switch (opt) {
    case OPT_ARM_REF:
        o->arm_ref = arg;
        return 1;
    case OPT_RANDOM:
        if (strcmp(arg, "intercept") == 0)
            o->random = ANA_LMM_RANDOM_INTERCEPT;
        else if (strcmp(arg, "slope") == 0)
            o->random = ANA_LMM_RANDOM_SLOPE;
        else {
            fprintf(stderr,
                    "error: unknown random effects \"%s\"\nHINT: Use intercept or "
                    "slope.\n",
                    arg);
            return -1;
        }
        return 1;
    case OPT_METHOD:
        if (strcmp(arg, "reml") == 0)
            o->method = ANA_LMM_REML;
        else if (strcmp(arg, "ml") == 0)
            o->method = ANA_LMM_ML;
        else {
            fprintf(stderr, "error: unknown method \"%s\"\nHINT: Use reml or ml.\n", arg);
            return -1;
        }
        return 1;
    case OPT_INTERACTION:
        o->interaction = 1;
        return 1;
    case OPT_CATEGORICAL:
        o->time_categorical = 1;
        return 1;
    case OPT_PRE:
        o->has_pre = 1;
        return mixed_parse_time("--pre", arg, &o->pre) == 0 ? 1 : -1;
    case OPT_POST:
        o->has_post = 1;
        return mixed_parse_time("--post", arg, &o->post) == 0 ? 1 : -1;
    default:
        return 0;
    }
}

/* Who the model uses, said in every output. */
#define MIXED_POPULATION                                                                           \
    "every observed score of every participant with at least one; valid when dropout is "          \
    "missing at random"

/* A JSON number, or null for NaN (a correlation without slope, say). */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jci(const double ci[2])
{
    return json_pack("[o, o]", jnum(ci[0]), jnum(ci[1]));
}

static json_t *jestimate(const struct ana_lmm_estimate *x)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "estimate", jnum(x->estimate), "se",
                     jnum(x->se), "df", jnum(x->df), "t", jnum(x->t), "p", jnum(x->p), "ci95",
                     jci(x->ci95));
}

/* The formula as R would write it, for people: gad7 ~ week * arm + (week | participant). */
static void mixed_formula(const struct ana_lmm_fit *f, const struct cli_mixed_names *n, char *buf,
                          size_t len)
{
    char time[160], cov[256] = "";
    size_t used = 0;

    if (f->spec.time_categorical)
        snprintf(time, sizeof time, "factor(%s)", n->time);
    else
        snprintf(time, sizeof time, "%s", n->time);
    for (size_t c = 0; c < f->n_covariates && used < sizeof cov; c++)
        used += (size_t)snprintf(cov + used, sizeof cov - used, " + %s", f->covariate_names[c]);
    if (f->n_levels > 0)
        snprintf(buf, len, "%s ~ %s %s %s%s + (%s | %s)", n->score, time,
                 f->spec.interaction ? "*" : "+", n->arm, cov,
                 f->spec.random == ANA_LMM_RANDOM_SLOPE ? n->time : "1", n->id);
    else
        snprintf(buf, len, "%s ~ %s%s + (%s | %s)", n->score, time, cov,
                 f->spec.random == ANA_LMM_RANDOM_SLOPE ? n->time : "1", n->id);
}

/* The arms a summary is given for: each level, or one pass without arm (-1). */
static size_t mixed_arm_count(const struct ana_lmm_fit *f)
{
    return f->n_levels > 0 ? f->n_levels : 1;
}

static int mixed_arm_at(const struct ana_lmm_fit *f, size_t i)
{
    return f->n_levels > 0 ? f->level_arm[i] : -1;
}

static json_t *mixed_means_json(const struct ana_lmm_fit *f, struct err *e)
{
    json_t *means = json_array();

    for (size_t a = 0; means != NULL && a < mixed_arm_count(f); a++) {
        for (size_t t = 0; t < f->n_times; t++) {
            struct ana_lmm_estimate m;
            json_t *o;
            if (ana_lmm_mean(f, f->times[t], mixed_arm_at(f, a), &m, e) != 0) {
                json_decref(means);
                return NULL;
            }
            o = json_pack("{s:f, s:o}", "time", f->times[t], "arm",
                          f->n_levels ? json_string(f->levels[a]) : json_null());
            json_object_update_new(o, jestimate(&m));
            json_array_append_new(means, o);
        }
    }
    return means;
}

static json_t *mixed_reduction_json(const struct ana_lmm_fit *f, double pre, double post,
                                    struct err *e)
{
    json_t *out = json_array();

    for (size_t a = 0; out != NULL && a < mixed_arm_count(f); a++) {
        struct ana_lmm_reduction r;
        if (ana_lmm_reduction(f, pre, post, mixed_arm_at(f, a), &r, e) != 0) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(
            out, json_pack("{s:o, s:f, s:f, s:o, s:o, s:o, s:{s:o, s:o, s:o}}", "arm",
                           f->n_levels ? json_string(f->levels[a]) : json_null(), "pre", pre,
                           "post", post, "mean_pre", jnum(r.mean_pre), "mean_post",
                           jnum(r.mean_post), "points", jestimate(&r.points), "percent", "estimate",
                           jnum(r.percent), "se", jnum(r.percent_se), "ci95", jci(r.percent_ci95)));
    }
    return out;
}

/* The pre and post times: as given, or the first and last observed. */
static void mixed_pre_post(const struct ana_lmm_fit *f, const struct cli_mixed_options *o,
                           double *pre, double *post)
{
    *pre = o->has_pre ? o->pre : f->times[0];
    *post = o->has_post ? o->post : f->times[f->n_times - 1];
}

json_t *cli_mixed_options_json(const struct cli_mixed_options *o)
{
    json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:s?}", "random",
                          o->random == ANA_LMM_RANDOM_SLOPE ? "slope" : "intercept", "method",
                          o->method == ANA_LMM_ML ? "ml" : "reml", "interaction", o->interaction,
                          "time_categorical", o->time_categorical, "arm_ref", o->arm_ref);
    if (j != NULL && o->has_pre)
        json_object_set_new(j, "pre", json_real(o->pre));
    if (j != NULL && o->has_post)
        json_object_set_new(j, "post", json_real(o->post));
    return j;
}

int cli_mixed_fit(const struct ds_long *d, const struct cli_mixed_options *o,
                  const struct cli_mixed_names *names, struct ana_lmm_fit **out, struct err *e)
{
    int with_arm = o->with_arm && d->n_arms > 0;
    struct ana_lmm_data data = {
        .n = d->n,
        .group = d->subject,
        .time = d->time,
        .y = d->score,
        .n_groups = d->n_subjects,
        .group_arm = with_arm ? d->subject_arm : NULL,
        .n_arms = d->n_arms,
        .arms = (const char *const *)d->arms,
        .n_covariates = o->n_covariates,
        .covariates = o->covariates,
        .time_name = names->time,
        .arm_name = names->arm,
    };
    struct ana_lmm_spec spec = {
        .random = o->random,
        .method = o->method,
        .time_categorical = o->time_categorical,
        .interaction = o->interaction,
        .arm_ref = o->arm_ref,
    };

    if (o->interaction && !with_arm) {
        err_set(e, ANA_LMM_EINVAL, "--interaction needs an arm");
        err_hint(e, "Give the arm column with --arm, or leave out --interaction.");
        return ANA_LMM_EINVAL;
    }
    if (o->arm_ref != NULL && !with_arm) {
        err_set(e, ANA_LMM_EINVAL, "--arm-ref needs an arm");
        err_hint(e, "Give the arm column with --arm.");
        return ANA_LMM_EINVAL;
    }
    return ana_lmm_fit(&data, &spec, out, e);
}

int cli_mixed_result(const struct ana_lmm_fit *f, const struct ds_long *d,
                     const struct cli_mixed_options *o, const struct cli_mixed_names *names,
                     json_t *options, json_t **out, struct err *e)
{
    json_t *r = NULL, *fixed = NULL, *means = NULL, *red = NULL, *versions = NULL;
    char formula[640];
    double pre, post;
    int rc = ANA_LMM_ENOMEM;

    mixed_pre_post(f, o, &pre, &post);
    mixed_formula(f, names, formula, sizeof formula);
    if ((means = mixed_means_json(f, e)) == NULL ||
        (red = mixed_reduction_json(f, pre, post, e)) == NULL) {
        rc = e->code != 0 ? e->code : ANA_LMM_ENOMEM;
        goto out;
    }
    if ((fixed = json_object()) == NULL || (versions = json_array()) == NULL)
        goto nomem;
    for (size_t j = 0; j < f->p; j++) {
        const struct ana_lmm_coef *c = &f->fixed[j];
        json_object_set_new(fixed, f->names[j],
                            json_pack("{s:o, s:o, s:o, s:o, s:o}", "estimate", jnum(c->estimate),
                                      "se", jnum(c->se), "df", jnum(c->df), "t", jnum(c->t), "p",
                                      jnum(c->p)));
    }
    for (size_t i = 0; i < d->n_versions; i++)
        json_array_append_new(versions, json_string(d->versions[i]));
    r = json_pack("{s:s, s:O, s:{s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:i}, s:o, "
                  "s:{s:o, s:o, s:o, s:o}, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:b, s:b, s:o, s:o, "
                  "s:{s:s, s:s, s:I, s:o}, s:s}",
                  "analysis", "mixed", "options", options, "model", "formula", formula, "random",
                  f->spec.random == ANA_LMM_RANDOM_SLOPE ? "intercept and slope" : "intercept",
                  "method", f->spec.method == ANA_LMM_ML ? "ML" : "REML", "time",
                  f->spec.time_categorical ? "categorical" : "numeric", "df_method",
                  "Satterthwaite", "reference_arm", f->n_levels ? f->levels[0] : NULL, "optimizer",
                  "Nelder-Mead (GSL nmsimplex2), then Newton steps on the profiled deviance",
                  "evaluations", (int)f->n_evaluations, "fixed", fixed, "random", "sd_intercept",
                  jnum(f->sd_intercept), "sd_slope", jnum(f->sd_slope), "corr", jnum(f->corr),
                  "sd_residual", jnum(f->sd_residual), "loglik", jnum(f->loglik), "aic",
                  jnum(f->aic), "bic", jnum(f->bic), "reml_criterion", jnum(f->reml_criterion),
                  "deviance", jnum(f->deviance), "n_obs", (json_int_t)f->n_obs, "n_groups",
                  (json_int_t)f->n_groups, "converged", f->converged, "singular", f->singular,
                  "means", means, "reduction", red, "data", "source", d->source, "fingerprint",
                  d->fingerprint, "n_missing", (json_int_t)d->n_missing, "instrument_versions",
                  versions, "population", MIXED_POPULATION);
    fixed = means = red = versions = NULL;
    if (r == NULL)
        goto nomem;
    *out = r;
    rc = 0;
    goto out;
nomem:
    rc = err_set(e, ANA_LMM_ENOMEM, "out of memory");
out:
    json_decref(fixed);
    json_decref(means);
    json_decref(red);
    json_decref(versions);
    return rc;
}

/* ---------------------------------------------------------- printing */

static void print_p(double p)
{
    if (isnan(p))
        printf("  %9s", "NA");
    else if (p < 2.2e-16)
        printf("  %9s", "<2e-16");
    else
        printf("  %9.3g", p);
}

static void print_table(const struct ana_lmm_fit *f, const struct ds_long *d,
                        const struct cli_mixed_options *o, const struct cli_mixed_names *n,
                        const char *run_id)
{
    char formula[640];
    size_t w = 12;
    double pre, post;
    struct err e;

    err_clear(&e);
    mixed_formula(f, n, formula, sizeof formula);
    mixed_pre_post(f, o, &pre, &post);
    for (size_t j = 0; j < f->p; j++)
        w = strlen(f->names[j]) > w ? strlen(f->names[j]) : w;
    printf("Linear mixed model: %s\n", formula);
    printf("%s; random %s per %s; Satterthwaite df\n",
           f->spec.method == ANA_LMM_ML ? "Maximum likelihood" : "REML",
           f->spec.random == ANA_LMM_RANDOM_SLOPE ? "intercept and slope" : "intercept", n->id);
    printf("Data: %s, %zu observations of %zu participants (%zu missing scores left out)\n",
           d->source, f->n_obs, f->n_groups, d->n_missing);
    printf("Input fingerprint: %s\n", d->fingerprint);
    printf("Population: %s\n", MIXED_POPULATION);
    if (f->n_levels > 0)
        printf("Reference arm: %s\n", f->levels[0]);
    printf("\nFixed effects\n  %-*s  %11s  %9s  %8s  %8s  %9s\n", (int)w, "term", "estimate", "SE",
           "df", "t", "p");
    for (size_t j = 0; j < f->p; j++) {
        const struct ana_lmm_coef *c = &f->fixed[j];
        printf("  %-*s  %11.5g  %9.4g  %8.2f  %8.3f", (int)w, f->names[j], c->estimate, c->se,
               c->df, c->t);
        print_p(c->p);
        printf("\n");
    }
    printf("\nRandom effects (SD)\n  %-16s %10.5g\n", "intercept", f->sd_intercept);
    if (f->spec.random == ANA_LMM_RANDOM_SLOPE) {
        char label[160];
        snprintf(label, sizeof label, "slope (%s)", n->time);
        printf("  %-16s %10.5g\n", label, f->sd_slope);
        if (isnan(f->corr))
            printf("  %-16s %10s\n", "correlation", "NA");
        else
            printf("  %-16s %10.4f\n", "correlation", f->corr);
    }
    printf("  %-16s %10.5g\n", "residual", f->sd_residual);
    printf("\n%s %.4f  logLik %.4f  AIC %.4f  BIC %.4f\n",
           f->spec.method == ANA_LMM_ML ? "deviance" : "REML criterion",
           f->spec.method == ANA_LMM_ML ? f->deviance : f->reml_criterion, f->loglik, f->aic,
           f->bic);
    printf("converged: %s%s\n", f->converged ? "yes" : "NO",
           f->singular ? " (singular fit: a random-effect SD is 0)" : "");

    printf("\nModel-based means (95%% CI, Satterthwaite df)\n  %-10s %-12s %10s %8s %8s  %s\n",
           n->time, f->n_levels ? n->arm : "", "mean", "SE", "df", "95% CI");
    for (size_t a = 0; a < mixed_arm_count(f); a++)
        for (size_t t = 0; t < f->n_times; t++) {
            struct ana_lmm_estimate m;
            if (ana_lmm_mean(f, f->times[t], mixed_arm_at(f, a), &m, &e) != 0)
                continue;
            printf("  %-10g %-12s %10.4f %8.4f %8.2f  [%.4f, %.4f]\n", f->times[t],
                   f->n_levels ? f->levels[a] : "", m.estimate, m.se, m.df, m.ci95[0], m.ci95[1]);
        }
    printf("\nModel-based reduction from %s %g to %s %g (positive: the score went down)\n", n->time,
           pre, n->time, post);
    for (size_t a = 0; a < mixed_arm_count(f); a++) {
        struct ana_lmm_reduction r;
        if (ana_lmm_reduction(f, pre, post, mixed_arm_at(f, a), &r, &e) != 0) {
            printf("  %s\n", e.message);
            break;
        }
        printf("  %-12s %.4f points [%.4f, %.4f], p %.3g", f->n_levels ? f->levels[a] : "all",
               r.points.estimate, r.points.ci95[0], r.points.ci95[1], r.points.p);
        if (r.has_percent)
            printf("; %.2f%% [%.2f, %.2f] (delta method)\n", r.percent, r.percent_ci95[0],
                   r.percent_ci95[1]);
        else
            printf("; no percentage (the %s %g mean is 0)\n", n->time, pre);
    }
    if (run_id != NULL)
        printf("\nrun: %s\n", run_id);
}

static void csv_num(double v)
{
    if (isfinite(v))
        printf(",%.17g", v);
    else
        printf(",NA");
}

static void csv_row(const char *section, const char *term, const char *arm, double time,
                    const struct ana_lmm_estimate *x)
{
    printf("%s,%s,%s", section, term, arm);
    csv_num(time);
    csv_num(x->estimate);
    csv_num(x->se);
    csv_num(x->df);
    csv_num(x->t);
    csv_num(x->p);
    csv_num(x->ci95[0]);
    csv_num(x->ci95[1]);
    printf("\n");
}

/* Long CSV, one estimate a row; arms and terms are identifiers without commas. */
static void print_csv(const struct ana_lmm_fit *f, const struct cli_mixed_options *o,
                      const char *run_id)
{
    static const double nan2[2] = {NAN, NAN};
    struct ana_lmm_estimate x;
    double pre, post;
    struct err e;

    err_clear(&e);
    mixed_pre_post(f, o, &pre, &post);
    printf("section,term,arm,time,estimate,se,df,t,p,ci_low,ci_high\n");
    for (size_t j = 0; j < f->p; j++) {
        const struct ana_lmm_coef *c = &f->fixed[j];
        x = (struct ana_lmm_estimate){c->estimate, c->se, c->df, c->t, c->p, {NAN, NAN}};
        csv_row("fixed", f->names[j], "", NAN, &x);
    }
    {
        const char *names[] = {"sd_intercept", "sd_slope",       "corr",
                               "sd_residual",  "loglik",         "aic",
                               "bic",          "reml_criterion", "deviance"};
        const double vals[] = {f->sd_intercept, f->sd_slope,       f->corr,
                               f->sd_residual,  f->loglik,         f->aic,
                               f->bic,          f->reml_criterion, f->deviance};
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            x = (struct ana_lmm_estimate){vals[i], NAN, NAN, NAN, NAN, {nan2[0], nan2[1]}};
            csv_row(i < 4 ? "random" : "fit", names[i], "", NAN, &x);
        }
    }
    for (size_t a = 0; a < mixed_arm_count(f); a++)
        for (size_t t = 0; t < f->n_times; t++)
            if (ana_lmm_mean(f, f->times[t], mixed_arm_at(f, a), &x, &e) == 0)
                csv_row("mean", "", f->n_levels ? f->levels[a] : "", f->times[t], &x);
    for (size_t a = 0; a < mixed_arm_count(f); a++) {
        struct ana_lmm_reduction r;
        if (ana_lmm_reduction(f, pre, post, mixed_arm_at(f, a), &r, &e) != 0)
            break;
        csv_row("reduction_points", "", f->n_levels ? f->levels[a] : "", post, &r.points);
        x = (struct ana_lmm_estimate){
            r.percent, r.percent_se, NAN, NAN, NAN, {r.percent_ci95[0], r.percent_ci95[1]}};
        csv_row("reduction_percent", "", f->n_levels ? f->levels[a] : "", post, &x);
    }
    if (run_id != NULL)
        printf("run,%s,,NA,NA,NA,NA,NA,NA,NA,NA\n", run_id);
}

/* ------------------------------------------------------------ command */

/* The run's arguments after "mixed", without --format (a rerun chooses its
 * own), as a JSON array of strings. */
static json_t *mixed_args(int argc, char **argv)
{
    json_t *args = json_array();

    for (int i = 1; args != NULL && i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--format=", 9) == 0)
            continue;
        json_array_append_new(args, json_string(argv[i]));
    }
    return args;
}

int cli_analyze_mixed(int argc, char **argv, const struct cli_rerun *rerun)
{
    static const struct option options[] = {
        CLI_DATA_OPTIONS,
        {"arm-ref", required_argument, NULL, OPT_ARM_REF},
        {"random", required_argument, NULL, OPT_RANDOM},
        {"method", required_argument, NULL, OPT_METHOD},
        {"interaction", no_argument, NULL, OPT_INTERACTION},
        {"time-categorical", no_argument, NULL, OPT_CATEGORICAL},
        {"pre", required_argument, NULL, OPT_PRE},
        {"post", required_argument, NULL, OPT_POST},
        {NULL, 0, NULL, 0},
    };
    struct cli_data_source src;
    struct cli_mixed_options mo;
    struct cli_mixed_names names;
    struct ds_long *d = NULL;
    struct ana_lmm_fit *f = NULL;
    PGconn *conn = NULL;
    json_t *opts = NULL, *result = NULL, *args = NULL;
    char run_id[37];
    int identical = 1;
    struct cfg cfg;
    struct err e;
    int opt, have_cfg = 0, recorded = 0, rc = CLI_FAIL;

    memset(&src, 0, sizeof src);
    memset(&mo, 0, sizeof mo);
    mo.random = ANA_LMM_RANDOM_SLOPE;
    mo.method = ANA_LMM_REML;
    err_clear(&e);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int took = cli_data_option(opt, optarg, &src);
        if (took == 0)
            took = cli_mixed_option(opt, optarg, &mo);
        if (took < 0)
            return CLI_USAGE;
        if (took == 0) {
            cli_usage("analyze", 1);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    have_cfg = 1;
    if (cli_data_load(&cfg, &src, &d, &conn, &e) != 0)
        goto out;
    /* A study always knows its arms; a CSV file has them when --arm names the column. */
    mo.with_arm = src.csv != NULL ? src.columns.arm != NULL : ds_arms_with_scores(d) > 1;
    names.id = src.csv != NULL ? src.columns.id : "participant";
    names.time = src.csv != NULL ? src.columns.time : "week";
    names.score = src.csv != NULL ? src.columns.score : src.instrument;
    names.arm = src.csv != NULL && src.columns.arm != NULL ? src.columns.arm : "arm";
    if (cli_mixed_fit(d, &mo, &names, &f, &e) != 0)
        goto out;
    if ((opts = cli_data_options_json(&src)) == NULL || (args = mixed_args(argc, argv)) == NULL)
        goto nomem;
    json_object_update_new(opts, cli_mixed_options_json(&mo));
    /* The arguments themselves, so that `attune analyze --rerun` can repeat
     * the run by parsing exactly them again. */
    json_object_set(opts, "args", args);
    if (cli_mixed_result(f, d, &mo, &names, opts, &result, &e) != 0)
        goto out;
    {
        struct cli_run_info info = {"mixed",        src.study,   opts,
                                    d->fingerprint, d->versions, d->n_versions};
        if (cli_analyze_settle(conn, &info, result, rerun, &identical) != CLI_OK) {
            rc = CLI_FAIL;
            goto done;
        }
        if (json_is_string(json_object_get(result, "run_id"))) {
            snprintf(run_id, sizeof run_id, "%s",
                     json_string_value(json_object_get(result, "run_id")));
            recorded = 1;
        }
    }
    switch (src.format) {
    case CLI_FORMAT_JSON:
        if (json_dumpf(result, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0)
            goto nomem;
        printf("\n");
        break;
    case CLI_FORMAT_CSV:
        print_csv(f, &mo, recorded ? run_id : NULL);
        break;
    case CLI_FORMAT_TABLE:
        print_table(f, d, &mo, &names, recorded ? run_id : NULL);
        break;
    }
    {
        struct cli_run_info info = {"mixed",        src.study,   opts,
                                    d->fingerprint, d->versions, d->n_versions};
        rc = cli_analyze_verdict(&info, rerun, identical);
    }
    goto done;
nomem:
    err_set(&e, ANA_LMM_ENOMEM, "out of memory");
out:
    if (rc != CLI_OK)
        cli_error(&e);
done:
    json_decref(args);
    json_decref(opts);
    json_decref(result);
    ana_lmm_fit_free(f);
    ds_long_free(d);
    if (conn != NULL)
        PQfinish(conn);
    if (have_cfg)
        cfg_free(&cfg);
    return rc;
}
