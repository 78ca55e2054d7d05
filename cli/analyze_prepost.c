/*
 * analyze_prepost.c — `attune analyze prepost` and `attune analyze between`:
 * options, pairing through datasets/ (ds_pair), the ana_* statistics, and
 * the JSON document (key names fixed by issue 5) that analyze_out.c prints.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ana_between.h"
#include "ana_prepost.h"
#include "analyze_cmd.h"
#include "analyze_facts.h"
#include "cli.h"
#include "ds.h"

/* Everything a pre/post or between-arms run is made of. */
struct cli_pp {
    const char *kind; /* "prepost" or "between" */
    struct cli_data_source src;
    int have_pre, have_post;
    double pre, post;
    const char *in_arm; /* one arm only: --arm A (study) or --in-arm A (CSV) */
    int by_arm;
    enum ds_population population;
    struct ana_prepost_opts ana;
    int hedges_j_given;
    enum ana_hedges_j hedges_j;
    int no_instrument_facts;
    /* Facts given on the command line override the instrument's. */
    int given_reliability, given_remission, given_mcid, given_responder, given_higher;
    int given_norm_mean, given_norm_sd, given_clin_mean, given_clin_sd;
    double reliability, remission, mcid, responder_pct, norm_mean, norm_sd, clin_mean, clin_sd;
    struct ana_facts facts;
    const char *facts_source;
    const char *arm_ref, *arm_test;
};

static const struct option cli_pp_options[] = {
    CLI_DATA_OPTIONS,
    {"pre", required_argument, NULL, CLI_OPT_PRE},
    {"post", required_argument, NULL, CLI_OPT_POST},
    {"population", required_argument, NULL, CLI_OPT_POPULATION},
    {"in-arm", required_argument, NULL, CLI_OPT_IN_ARM},
    {"by-arm", no_argument, NULL, CLI_OPT_BY_ARM},
    {"level", required_argument, NULL, CLI_OPT_LEVEL},
    {"resamples", required_argument, NULL, CLI_OPT_RESAMPLES},
    {"seed", required_argument, NULL, CLI_OPT_SEED},
    {"no-bootstrap", no_argument, NULL, CLI_OPT_NO_BOOTSTRAP},
    {"hedges-j", required_argument, NULL, CLI_OPT_HEDGES_J},
    {"responder-pct", required_argument, NULL, CLI_OPT_RESPONDER_PCT},
    {"remission-below", required_argument, NULL, CLI_OPT_REMISSION_BELOW},
    {"mcid", required_argument, NULL, CLI_OPT_MCID},
    {"reliability", required_argument, NULL, CLI_OPT_RELIABILITY},
    {"norm-mean", required_argument, NULL, CLI_OPT_NORM_MEAN},
    {"norm-sd", required_argument, NULL, CLI_OPT_NORM_SD},
    {"clinical-mean", required_argument, NULL, CLI_OPT_CLINICAL_MEAN},
    {"clinical-sd", required_argument, NULL, CLI_OPT_CLINICAL_SD},
    {"higher-is-better", no_argument, NULL, CLI_OPT_HIGHER_IS_BETTER},
    {"no-instrument-facts", no_argument, NULL, CLI_OPT_NO_INSTRUMENT_FACTS},
    {"arm-ref", required_argument, NULL, CLI_OPT_ARM_REF},
    {"arm-test", required_argument, NULL, CLI_OPT_ARM_TEST},
    {NULL, 0, NULL, 0},
};

/* Returns 0, or CLI_USAGE after printing why. */
static int cli_pp_parse(int argc, char **argv, struct cli_pp *o)
{
    int opt, r;
    double v = 0;

    ana_prepost_opts_init(&o->ana);
    o->population = DS_COMPLETERS;
    o->hedges_j = ANA_J_APPROX;
    optind = 0; /* GNU: start afresh, also when --rerun calls a second time */
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "", cli_pp_options, NULL)) != -1) {
        if ((r = cli_data_option(opt, optarg, &o->src)) == 1)
            continue;
        if (r < 0)
            return CLI_USAGE;
        switch (opt) {
        case CLI_OPT_PRE:
            if (cli_analyze_number("pre", optarg, -1e9, 1e9, &o->pre) != 0)
                return CLI_USAGE;
            o->have_pre = 1;
            break;
        case CLI_OPT_POST:
            if (cli_analyze_number("post", optarg, -1e9, 1e9, &o->post) != 0)
                return CLI_USAGE;
            o->have_post = 1;
            break;
        case CLI_OPT_POPULATION:
            if (cli_analyze_population(optarg, &o->population) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_IN_ARM:
            o->in_arm = optarg;
            break;
        case CLI_OPT_BY_ARM:
            o->by_arm = 1;
            break;
        case CLI_OPT_LEVEL:
            if (cli_analyze_number("level", optarg, 0.5, 0.999, &o->ana.level) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_RESAMPLES:
            if (cli_analyze_whole("resamples", optarg, 100, ANA_BOOT_MAX_RESAMPLES, &v) != 0)
                return CLI_USAGE;
            o->ana.boot.resamples = (size_t)v;
            break;
        case CLI_OPT_SEED:
            if (cli_analyze_whole("seed", optarg, 0, 4294967295.0, &v) != 0)
                return CLI_USAGE;
            o->ana.boot.seed = (unsigned long)v;
            break;
        case CLI_OPT_NO_BOOTSTRAP:
            o->ana.no_bootstrap = 1;
            break;
        case CLI_OPT_HEDGES_J:
            if (ana_hedges_j_parse(optarg, &o->hedges_j) != 0) {
                fprintf(stderr, "error: unknown --hedges-j \"%s\"\nHINT: Use approx or exact.\n",
                        optarg);
                return CLI_USAGE;
            }
            o->hedges_j_given = 1;
            break;
        case CLI_OPT_RESPONDER_PCT:
            if (cli_analyze_number("responder-pct", optarg, 1e-9, 1000, &o->responder_pct) != 0)
                return CLI_USAGE;
            o->given_responder = 1;
            break;
        case CLI_OPT_REMISSION_BELOW:
            if (cli_analyze_number("remission-below", optarg, -1e9, 1e9, &o->remission) != 0)
                return CLI_USAGE;
            o->given_remission = 1;
            break;
        case CLI_OPT_MCID:
            if (cli_analyze_number("mcid", optarg, 1e-9, 1e9, &o->mcid) != 0)
                return CLI_USAGE;
            o->given_mcid = 1;
            break;
        case CLI_OPT_RELIABILITY:
            if (cli_analyze_number("reliability", optarg, 0, 0.9999, &o->reliability) != 0)
                return CLI_USAGE;
            o->given_reliability = 1;
            break;
        case CLI_OPT_NORM_MEAN:
            if (cli_analyze_number("norm-mean", optarg, -1e9, 1e9, &o->norm_mean) != 0)
                return CLI_USAGE;
            o->given_norm_mean = 1;
            break;
        case CLI_OPT_NORM_SD:
            if (cli_analyze_number("norm-sd", optarg, 1e-9, 1e9, &o->norm_sd) != 0)
                return CLI_USAGE;
            o->given_norm_sd = 1;
            break;
        case CLI_OPT_CLINICAL_MEAN:
            if (cli_analyze_number("clinical-mean", optarg, -1e9, 1e9, &o->clin_mean) != 0)
                return CLI_USAGE;
            o->given_clin_mean = 1;
            break;
        case CLI_OPT_CLINICAL_SD:
            if (cli_analyze_number("clinical-sd", optarg, 1e-9, 1e9, &o->clin_sd) != 0)
                return CLI_USAGE;
            o->given_clin_sd = 1;
            break;
        case CLI_OPT_HIGHER_IS_BETTER:
            o->given_higher = 1;
            break;
        case CLI_OPT_NO_INSTRUMENT_FACTS:
            o->no_instrument_facts = 1;
            break;
        case CLI_OPT_ARM_REF:
            o->arm_ref = optarg;
            break;
        case CLI_OPT_ARM_TEST:
            o->arm_test = optarg;
            break;
        default:
            cli_usage("analyze", 1);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (o->given_norm_mean != o->given_norm_sd || o->given_clin_mean != o->given_clin_sd) {
        fprintf(stderr, "error: normative values need both a mean and an SD\n"
                        "HINT: Give --norm-mean with --norm-sd (and --clinical-mean with "
                        "--clinical-sd).\n");
        return CLI_USAGE;
    }
    if (o->src.study != NULL && o->in_arm != NULL) {
        fprintf(stderr, "error: --in-arm is for CSV input\nHINT: With --study, pick an arm "
                        "with --arm A.\n");
        return CLI_USAGE;
    }
    /* With a study, --arm names the arm to analyse (with a CSV file, the column). */
    if (o->src.study != NULL && o->src.columns.arm != NULL) {
        o->in_arm = o->src.columns.arm;
        o->src.columns.arm = NULL;
    }
    if (o->by_arm && o->in_arm != NULL) {
        fprintf(stderr, "error: give either one arm or --by-arm, not both\n");
        return CLI_USAGE;
    }
    return 0;
}

/* Instrument facts, then what the command line says. */
static void cli_pp_facts(const struct cfg *cfg, struct cli_pp *o)
{
    struct ana_facts *f = &o->facts;
    int cli = 0;

    if (o->no_instrument_facts ||
        !cli_facts_for_instrument(cfg, o->src.instrument, f, &o->facts_source))
        ana_facts_init(f);
    if (o->no_instrument_facts)
        o->facts_source = NULL;
    if (o->given_responder)
        f->responder_pct = o->responder_pct, cli = 1;
    if (o->given_higher)
        f->higher_is_better = 1, cli = 1;
    if (o->given_remission)
        f->has_remission = 1, f->remission_cutoff = o->remission, cli = 1;
    if (o->given_mcid)
        f->has_mcid = 1, f->mcid = o->mcid, cli = 1;
    if (o->given_reliability)
        f->has_reliability = 1, f->reliability = o->reliability, cli = 1;
    if (o->given_norm_mean)
        f->has_norms = 1, f->norm_mean = o->norm_mean, f->norm_sd = o->norm_sd, cli = 1;
    if (o->given_clin_mean) {
        f->has_clinical_norms = 1;
        f->clinical_mean = o->clin_mean;
        f->clinical_sd = o->clin_sd;
        cli = 1;
    }
    if (cli && o->facts_source != NULL)
        o->facts_source = "the instrument, with command-line options overriding";
    else if (cli)
        o->facts_source = "command-line options";
}

/* The arm an option names, or a usage error listing the arms. */
static int cli_pp_arm(const struct ds_long *d, const char *name, int *out)
{
    int idx = ds_arm_index(d, name);

    if (idx < 0) {
        fprintf(stderr, "error: no arm \"%s\"\n", name);
        if (d->n_arms == 0)
            fprintf(stderr, "DETAIL: The data have no arms.\nHINT: Name the arm column with "
                            "--arm COL (CSV input).\n");
        else {
            fprintf(stderr, "DETAIL: The arms are");
            for (size_t i = 0; i < d->n_arms; i++)
                fprintf(stderr, "%s \"%s\"", i ? "," : "", d->arms[i]);
            fprintf(stderr, ".\n");
        }
        return -1;
    }
    *out = idx;
    return 0;
}

/* The canonical argument list: the run, repeatable exactly. */
static json_t *cli_pp_args(const struct cli_pp *o, int between)
{
    json_t *a = json_array();
    const struct ana_facts *f = &o->facts;

    if (o->src.study != NULL) {
        cli_args_add(a, "--study", o->src.study);
        cli_args_add(a, "--instrument", o->src.instrument);
        if (o->in_arm != NULL && !between)
            cli_args_add(a, "--arm", o->in_arm);
    } else {
        cli_args_add(a, "--csv", o->src.csv);
        cli_args_add(a, "--id", o->src.columns.id);
        cli_args_add(a, "--time", o->src.columns.time);
        cli_args_add(a, "--score", o->src.columns.score);
        if (o->src.columns.arm != NULL)
            cli_args_add(a, "--arm", o->src.columns.arm);
        if (o->src.instrument != NULL)
            cli_args_add(a, "--instrument", o->src.instrument);
        if (o->in_arm != NULL && !between)
            cli_args_add(a, "--in-arm", o->in_arm);
    }
    cli_args_num(a, "--pre", o->pre);
    cli_args_num(a, "--post", o->post);
    cli_args_add(a, "--population", ds_population_name(o->population));
    cli_args_num(a, "--level", o->ana.level);
    if (between) {
        cli_args_add(a, "--arm-ref", o->arm_ref);
        cli_args_add(a, "--arm-test", o->arm_test);
        cli_args_add(a, "--hedges-j", ana_hedges_j_name(o->hedges_j));
        return a;
    }
    if (o->by_arm)
        cli_args_add(a, "--by-arm", NULL);
    if (o->ana.no_bootstrap) {
        cli_args_add(a, "--no-bootstrap", NULL);
    } else {
        cli_args_num(a, "--resamples", (double)o->ana.boot.resamples);
        cli_args_num(a, "--seed", (double)o->ana.boot.seed);
    }
    cli_args_add(a, "--hedges-j", ana_hedges_j_name(o->hedges_j));
    cli_args_num(a, "--responder-pct", f->responder_pct);
    if (f->higher_is_better)
        cli_args_add(a, "--higher-is-better", NULL);
    if (f->has_remission)
        cli_args_num(a, "--remission-below", f->remission_cutoff);
    if (f->has_mcid)
        cli_args_num(a, "--mcid", f->mcid);
    if (f->has_reliability)
        cli_args_num(a, "--reliability", f->reliability);
    if (f->has_norms) {
        cli_args_num(a, "--norm-mean", f->norm_mean);
        cli_args_num(a, "--norm-sd", f->norm_sd);
    }
    if (f->has_clinical_norms) {
        cli_args_num(a, "--clinical-mean", f->clinical_mean);
        cli_args_num(a, "--clinical-sd", f->clinical_sd);
    }
    /* The facts are all above: a rerun must not pick up changed definitions. */
    cli_args_add(a, "--no-instrument-facts", NULL);
    return a;
}

static json_t *cli_facts_json(const struct cli_pp *o)
{
    const struct ana_facts *f = &o->facts;
    json_t *j = json_pack("{s:s, s:f}", "direction",
                          f->higher_is_better ? "higher is better" : "lower is better",
                          "responder_pct", f->responder_pct);

    json_object_set_new(j, "remission_below",
                        f->has_remission ? json_real(f->remission_cutoff) : json_null());
    json_object_set_new(j, "mcid", f->has_mcid ? json_real(f->mcid) : json_null());
    json_object_set_new(j, "reliability",
                        f->has_reliability ? json_real(f->reliability) : json_null());
    json_object_set_new(j, "norm_mean", f->has_norms ? json_real(f->norm_mean) : json_null());
    json_object_set_new(j, "norm_sd", f->has_norms ? json_real(f->norm_sd) : json_null());
    if (f->has_clinical_norms) {
        json_object_set_new(j, "clinical_mean", json_real(f->clinical_mean));
        json_object_set_new(j, "clinical_sd", json_real(f->clinical_sd));
    }
    json_object_set_new(j, "source",
                        json_string(o->facts_source ? o->facts_source : "defaults only"));
    return j;
}

/* The options as people read them, with the canonical "args". */
static json_t *cli_pp_options_json(const struct cli_pp *o, int between)
{
    json_t *j = cli_data_options_json(&o->src);

    json_object_set_new(j, "args", cli_pp_args(o, between));
    json_object_set_new(j, "pre", json_real(o->pre));
    json_object_set_new(j, "post", json_real(o->post));
    json_object_set_new(j, "population", json_string(ds_population_name(o->population)));
    json_object_set_new(j, "level", json_real(o->ana.level));
    if (between) {
        json_object_set_new(j, "arm_reference", json_string(o->arm_ref));
        json_object_set_new(j, "arm_test", json_string(o->arm_test));
        json_object_set_new(j, "hedges_j", json_string(ana_hedges_j_name(o->hedges_j)));
        return j;
    }
    json_object_set_new(j, "arm", o->in_arm ? json_string(o->in_arm) : json_null());
    json_object_set_new(j, "by_arm", json_boolean(o->by_arm));
    json_object_set_new(j, "g_av_j", json_string(ana_hedges_j_name(o->hedges_j)));
    if (o->ana.no_bootstrap)
        json_object_set_new(j, "bootstrap", json_null());
    else
        json_object_set_new(j, "bootstrap",
                            json_pack("{s:I, s:I, s:s, s:s}", "resamples",
                                      (json_int_t)o->ana.boot.resamples, "seed",
                                      (json_int_t)o->ana.boot.seed, "rng", "GSL mt19937",
                                      "resampling", "participants (pre/post pairs)"));
    json_object_set_new(j, "facts", cli_facts_json(o));
    return j;
}

static json_t *cli_input_json(const struct ds_long *d, const char *source)
{
    json_t *v = json_array(), *arms = json_array();
    json_t *j;

    for (size_t i = 0; i < d->n_versions; i++)
        json_array_append_new(v, json_string(d->versions[i]));
    for (size_t i = 0; i < d->n_arms; i++)
        json_array_append_new(arms, json_string(d->arms[i]));
    j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "source", source, "fingerprint",
                  d->fingerprint, "participants", (json_int_t)d->n_subjects, "scores",
                  (json_int_t)d->n, "missing_scores", (json_int_t)d->n_missing, "arms", arms,
                  "instrument_versions", v);
    return j;
}

/* Who counts: the population and the number excluded for each reason. */
static json_t *cli_population_json(const struct cli_pp *o, const struct ds_pairs *p)
{
    json_t *ex = json_object();

    json_object_set_new(ex, "no_baseline", json_integer((json_int_t)p->n_no_baseline));
    if (o->population == DS_COMPLETERS)
        json_object_set_new(ex, "no_followup", json_integer((json_int_t)p->n_no_followup));
    return json_pack("{s:s, s:f, s:f, s:I, s:I, s:o, s:I}", "name",
                     ds_population_name(o->population), "pre", o->pre, "post", o->post,
                     "considered", (json_int_t)p->n_considered, "included", (json_int_t)p->n,
                     "excluded", ex, "imputed", (json_int_t)p->n_imputed);
}

static json_t *jci(struct ana_ci ci)
{
    return json_pack("[f, f]", ci.lo, ci.hi);
}

static json_t *jprop(const struct ana_proportion *p)
{
    return json_pack("{s:I, s:I, s:f, s:o}", "count", (json_int_t)p->count, "n", (json_int_t)p->n,
                     "share", p->share, "ci95", jci(p->ci));
}

/* One group's statistics, with the key names issue 5 fixes. */
static json_t *cli_prepost_json(const struct ana_prepost *r, const struct cli_pp *o)
{
    const struct ana_paired *s = &r->summary;
    const struct ana_facts *f = &o->facts;
    json_t *j = json_object(), *un = json_object(), *x;
    const char *other = o->hedges_j == ANA_J_EXACT ? "g_av_approx_J" : "g_av_exact_J";

#define OK(part)       (r->status[part] == 0)
#define WHY(key, part) json_object_set_new(un, key, json_string(r->why[part]))
    json_object_set_new(j, "n", json_integer((json_int_t)s->n));
    json_object_set_new(j, "mean_pre", json_real(s->pre.mean));
    json_object_set_new(j, "mean_post", json_real(s->post.mean));
    json_object_set_new(j, "sd_pre", json_real(s->pre.sd));
    json_object_set_new(j, "sd_post", json_real(s->post.sd));
    json_object_set_new(j, "se_pre", json_real(s->pre.se));
    json_object_set_new(j, "se_post", json_real(s->post.se));
    json_object_set_new(j, "median_pre", json_real(s->pre.median));
    json_object_set_new(j, "median_post", json_real(s->post.median));
    json_object_set_new(j, "mean_diff", json_real(s->diff.mean));
    json_object_set_new(j, "sd_diff", json_real(s->diff.sd));
    json_object_set_new(j, "median_diff", json_real(s->diff.median));
    json_object_set_new(j, "r_pre_post", s->has_r ? json_real(s->r_pre_post) : json_null());
    if (!s->has_r)
        json_object_set_new(un, "r_pre_post",
                            json_string("the correlation is undefined: an occasion has zero "
                                        "variance"));

    if (OK(ANA_PP_PAIRED_T))
        json_object_set_new(j, "paired_t",
                            json_pack("{s:f, s:f, s:f, s:o, s:f}", "t", r->paired_t.t, "df",
                                      r->paired_t.df, "p", r->paired_t.p, "mean_diff_ci95",
                                      jci(r->paired_t.ci), "se", r->paired_t.se));
    else
        json_object_set_new(j, "paired_t", json_null()), WHY("paired_t", ANA_PP_PAIRED_T);
    if (OK(ANA_PP_D_Z))
        json_object_set_new(j, "d_z",
                            json_pack("{s:f, s:o, s:s}", "value", r->d_z.value, "ci95",
                                      jci(r->d_z.ci), "ci_method", "noncentral t"));
    else
        json_object_set_new(j, "d_z", json_null()), WHY("d_z", ANA_PP_D_Z);
    json_object_set_new(j, "d_av", OK(ANA_PP_D_AV) ? json_real(r->d_av) : json_null());
    if (!OK(ANA_PP_D_AV))
        WHY("d_av", ANA_PP_D_AV);
    json_object_set_new(j, "d_rm", OK(ANA_PP_D_RM) ? json_real(r->d_rm) : json_null());
    if (!OK(ANA_PP_D_RM))
        WHY("d_rm", ANA_PP_D_RM);
    json_object_set_new(j, "g_av", OK(ANA_PP_G_AV) ? json_real(r->g_av) : json_null());
    if (!OK(ANA_PP_G_AV))
        WHY("g_av", ANA_PP_G_AV);
    json_object_set_new(j, "g_av_j", json_string(ana_hedges_j_name(o->hedges_j)));
    json_object_set_new(j, other,
                        OK(ANA_PP_G_AV) && r->has_g_av_other_j ? json_real(r->g_av_other_j)
                                                               : json_null());
    json_object_set_new(j, "delta_pre",
                        OK(ANA_PP_DELTA_PRE) ? json_real(r->delta_pre) : json_null());
    if (!OK(ANA_PP_DELTA_PRE))
        WHY("delta_pre", ANA_PP_DELTA_PRE);

    if (OK(ANA_PP_PCT_MEANS)) {
        x = json_pack("{s:f}", "value", r->pct_means);
        if (OK(ANA_PP_BOOTSTRAP)) {
            const struct ana_boot *b = &r->boot;
            json_object_set_new(x, "ci95", jci(b->percentile));
            json_object_set_new(x, "ci95_bca", b->has_bca ? jci(b->bca) : json_null());
            json_object_set_new(x, "bootstrap",
                                json_pack("{s:I, s:I, s:I, s:f, s:f, s:b}", "resamples",
                                          (json_int_t)b->resamples, "seed", (json_int_t)b->seed,
                                          "nonfinite", (json_int_t)b->n_nonfinite, "mean",
                                          b->boot_mean, "sd", b->boot_sd,
                                          "extreme_order_statistics", b->extreme));
            json_object_set_new(
                json_object_get(x, "bootstrap"), "method",
                b->method == ANA_BOOT_MULTINOMIAL
                    ? json_sprintf("multinomial counts over %zu distinct pairs", b->distinct)
                    : json_string("uniform indices"));
            if (b->has_bca) {
                json_object_set_new(json_object_get(x, "bootstrap"), "z0", json_real(b->z0));
                json_object_set_new(json_object_get(x, "bootstrap"), "acceleration",
                                    json_real(b->acceleration));
            } else {
                json_object_set_new(un, "ci95_bca", json_string(b->bca_why));
            }
        } else {
            json_object_set_new(x, "ci95", json_null());
            WHY("bootstrap", ANA_PP_BOOTSTRAP);
        }
        json_object_set_new(j, "pct_reduction_group_means", x);
    } else {
        json_object_set_new(j, "pct_reduction_group_means", json_null());
        WHY("pct_reduction_group_means", ANA_PP_PCT_MEANS);
    }

    x = json_pack("{s:I, s:I, s:s}", "n_used", (json_int_t)r->pct_individual.n_used, "n_excluded",
                  (json_int_t)r->pct_individual.n_excluded, "excluded_because",
                  "baseline <= 0 (a percentage of it is undefined)");
    if (OK(ANA_PP_PCT_INDIVIDUAL)) {
        json_object_set_new(x, "mean", json_real(r->pct_individual.mean));
        json_object_set_new(x, "median", json_real(r->pct_individual.median));
    } else {
        json_object_set_new(x, "mean", json_null());
        json_object_set_new(x, "median", json_null());
        WHY("individual_pct_reduction", ANA_PP_PCT_INDIVIDUAL);
    }
    json_object_set_new(j, "individual_pct_reduction", x);

    if (OK(ANA_PP_WILCOXON))
        json_object_set_new(j, "wilcoxon",
                            json_pack("{s:f, s:f, s:f, s:I, s:I, s:f, s:f}", "V", r->wilcoxon.V,
                                      "z", r->wilcoxon.z, "p", r->wilcoxon.p, "n_nonzero",
                                      (json_int_t)r->wilcoxon.n_nonzero, "n_zero_dropped",
                                      (json_int_t)r->wilcoxon.n_zero, "T_minus",
                                      r->wilcoxon.t_minus, "sigma", r->wilcoxon.sigma));
    else
        json_object_set_new(j, "wilcoxon", json_null()), WHY("wilcoxon", ANA_PP_WILCOXON);
    if (OK(ANA_PP_RANK_BISERIAL))
        json_object_set_new(j, "rank_biserial",
                            json_pack("{s:f, s:o}", "value", r->rank_biserial.value, "ci95",
                                      jci(r->rank_biserial.ci)));
    else
        json_object_set_new(j, "rank_biserial", json_null()),
            WHY("rank_biserial", ANA_PP_RANK_BISERIAL);

    if (OK(ANA_PP_RESPONDERS)) {
        const struct ana_responders *rs = &r->responders;
        x = rs->has_responders ? jprop(&rs->responders) : json_object();
        json_object_set_new(x, "threshold_pct", json_real(f->responder_pct));
        json_object_set_new(x, "n_excluded", json_integer((json_int_t)rs->responders_excluded));
        if (!rs->has_responders)
            json_object_set_new(un, "responders", json_string("no baseline is above 0"));
        json_object_set_new(j, "responders", x);
        if (f->has_remission) {
            x = rs->has_remission ? jprop(&rs->remission) : json_object();
            json_object_set_new(x, "cutoff", json_real(f->remission_cutoff));
            json_object_set_new(x, "n_not_eligible",
                                json_integer((json_int_t)rs->remission_not_eligible));
            if (!rs->has_remission)
                json_object_set_new(un, "remission",
                                    json_string("nobody was above the cut-off at baseline"));
            json_object_set_new(j, "remission", x);
        } else {
            json_object_set_new(j, "remission", json_null());
            json_object_set_new(un, "remission",
                                json_string("no remission cut-off: give --remission-below"));
        }
        if (f->has_mcid) {
            json_object_set_new(j, "mcid",
                                json_pack("{s:f, s:o, s:I, s:I}", "mcid", f->mcid, "improved",
                                          jprop(&rs->mcid_improved), "deteriorated",
                                          (json_int_t)rs->mcid_deteriorated, "unchanged",
                                          (json_int_t)rs->mcid_unchanged));
        } else {
            json_object_set_new(j, "mcid", json_null());
            json_object_set_new(un, "mcid", json_string("no MCID: give --mcid"));
        }
    } else {
        json_object_set_new(j, "responders", json_null());
        WHY("responders", ANA_PP_RESPONDERS);
    }

    if (OK(ANA_PP_RELIABLE_CHANGE)) {
        const struct ana_rci *c = &r->rci;
        json_object_set_new(
            j, "reliable_change",
            json_pack("{s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:{s:s, s:f, s:I, s:I, s:I, s:I}}",
                      "reliability", c->reliability, "se_measurement", c->se_measurement, "se_diff",
                      c->se_diff, "critical", c->critical, "min_reliable_change",
                      c->min_reliable_change, "improved", (json_int_t)c->improved, "unchanged",
                      (json_int_t)c->unchanged, "deteriorated", (json_int_t)c->deteriorated,
                      "clinically_significant", "criterion", c->criterion == ANA_JT_C ? "c" : "a",
                      "cutoff", c->cutoff, "recovered", (json_int_t)c->recovered, "improved",
                      (json_int_t)c->improved_only, "unchanged", (json_int_t)c->unchanged,
                      "deteriorated", (json_int_t)c->deteriorated));
    } else {
        json_object_set_new(j, "reliable_change", json_null());
        WHY("reliable_change", ANA_PP_RELIABLE_CHANGE);
    }
#undef OK
#undef WHY
    json_object_set_new(j, "unavailable", un);
    return j;
}

static const struct cli_out_row cli_prepost_rows[] = {
    {"n", "participants", "n", NULL, 'n'},
    {"mean_pre", "mean at baseline", "mean_pre", NULL, 'f'},
    {"sd_pre", "SD at baseline", "sd_pre", NULL, 'f'},
    {"median_pre", "median at baseline", "median_pre", NULL, 'f'},
    {"mean_post", "mean at follow-up", "mean_post", NULL, 'f'},
    {"sd_post", "SD at follow-up", "sd_post", NULL, 'f'},
    {"median_post", "median at follow-up", "median_post", NULL, 'f'},
    {"mean_diff", "mean difference (pre - post)", "mean_diff", "paired_t.mean_diff_ci95", 'f'},
    {"sd_diff", "SD of differences", "sd_diff", NULL, 'f'},
    {"r_pre_post", "Pearson r (pre, post)", "r_pre_post", NULL, 'f'},
    {"paired_t.t", "paired t", "paired_t.t", NULL, 'f'},
    {"paired_t.df", "paired t df", "paired_t.df", NULL, 'g'},
    {"paired_t.p", "paired t p (two-sided)", "paired_t.p", NULL, 'p'},
    {"d_z", "d_z (standardized response mean)", "d_z.value", "d_z.ci95", 'f'},
    {"d_av", "d_av", "d_av", NULL, 'f'},
    {"d_rm", "d_rm", "d_rm", NULL, 'f'},
    {"g_av", "g_av (Hedges' correction)", "g_av", NULL, 'f'},
    {"delta_pre", "Glass's delta (baseline SD)", "delta_pre", NULL, 'f'},
    {"wilcoxon.V", "Wilcoxon signed-rank V", "wilcoxon.V", NULL, 'g'},
    {"wilcoxon.z", "Wilcoxon z (continuity-corrected)", "wilcoxon.z", NULL, 'f'},
    {"wilcoxon.p", "Wilcoxon p (two-sided)", "wilcoxon.p", NULL, 'p'},
    {"rank_biserial", "matched-pairs rank-biserial r", "rank_biserial.value", "rank_biserial.ci95",
     'f'},
    {"pct_reduction_group_means", "% reduction of group means (percentile CI)",
     "pct_reduction_group_means.value", "pct_reduction_group_means.ci95", 'f'},
    {"pct_reduction_group_means.bca", "% reduction of group means (BCa CI)",
     "pct_reduction_group_means.value", "pct_reduction_group_means.ci95_bca", 'f'},
    {"individual_pct_reduction.mean", "mean individual % reduction",
     "individual_pct_reduction.mean", NULL, 'f'},
    {"individual_pct_reduction.median", "median individual % reduction",
     "individual_pct_reduction.median", NULL, 'f'},
    {"individual_pct_reduction.n_used", "  participants used (baseline > 0)",
     "individual_pct_reduction.n_used", NULL, 'n'},
    {"individual_pct_reduction.n_excluded", "  excluded (baseline <= 0)",
     "individual_pct_reduction.n_excluded", NULL, 'n'},
    {"responders.share", "responders (share)", "responders.share", "responders.ci95", 'f'},
    {"responders.count", "  responders", "responders.count", NULL, 'n'},
    {"responders.n", "  of participants with baseline > 0", "responders.n", NULL, 'n'},
    {"remission.share", "remission (share)", "remission.share", "remission.ci95", 'f'},
    {"remission.count", "  remitted", "remission.count", NULL, 'n'},
    {"remission.n", "  of those above the cut-off at baseline", "remission.n", NULL, 'n'},
    {"mcid.improved.share", "improved by at least the MCID (share)", "mcid.improved.share",
     "mcid.improved.ci95", 'f'},
    {"mcid.improved.count", "  improved by at least the MCID", "mcid.improved.count", NULL, 'n'},
    {"mcid.deteriorated", "  worse by at least the MCID", "mcid.deteriorated", NULL, 'n'},
    {"reliable_change.reliability", "reliability used for the RCI", "reliable_change.reliability",
     NULL, 'f'},
    {"reliable_change.se_diff", "SE of the difference", "reliable_change.se_diff", NULL, 'f'},
    {"reliable_change.improved", "reliably improved", "reliable_change.improved", NULL, 'n'},
    {"reliable_change.unchanged", "no reliable change", "reliable_change.unchanged", NULL, 'n'},
    {"reliable_change.deteriorated", "reliably deteriorated", "reliable_change.deteriorated", NULL,
     'n'},
    {"reliable_change.clinically_significant.cutoff", "clinical cut-off (Jacobson-Truax)",
     "reliable_change.clinically_significant.cutoff", NULL, 'f'},
    {"reliable_change.clinically_significant.recovered", "  recovered",
     "reliable_change.clinically_significant.recovered", NULL, 'n'},
    {"reliable_change.clinically_significant.improved", "  improved (not recovered)",
     "reliable_change.clinically_significant.improved", NULL, 'n'},
};

static const struct cli_out_layout cli_prepost_layout = {"attune analyze prepost", cli_prepost_rows,
                                                         sizeof cli_prepost_rows /
                                                             sizeof cli_prepost_rows[0]};

/* Shared start of both commands: options, facts, data. */
static int cli_pp_load(int argc, char **argv, struct cli_pp *o, struct cfg *cfg, struct ds_long **d,
                       PGconn **conn)
{
    struct err e;
    int rc;

    if ((rc = cli_pp_parse(argc, argv, o)) != 0)
        return rc;
    if (cli_config(cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    if (cli_data_load(cfg, &o->src, d, conn, &e) != 0) {
        cfg_free(cfg);
        return cli_analyze_fail(&e);
    }
    cli_pp_facts(cfg, o);
    /* Default times: the first and the last observed. */
    if ((!o->have_pre || !o->have_post) && (*d)->n > 0) {
        double lo = (*d)->time[0], hi = (*d)->time[0];
        for (size_t i = 1; i < (*d)->n; i++) {
            lo = fmin(lo, (*d)->time[i]);
            hi = fmax(hi, (*d)->time[i]);
        }
        if (!o->have_pre)
            o->pre = lo;
        if (!o->have_post)
            o->post = hi;
    }
    return 0;
}

static int cli_too_few(const struct cli_pp *o, const char *group, const struct ds_pairs *p)
{
    fprintf(stderr, "error: too few participants to analyse%s%s\n", group ? " in arm " : "",
            group ? group : "");
    fprintf(stderr,
            "DETAIL: %zu participant%s considered; %zu included as %s between times %g and %g "
            "(%zu without a baseline score, %zu without a follow-up score). At least 2 are "
            "needed.\n",
            p->n_considered, p->n_considered == 1 ? "" : "s", p->n,
            ds_population_name(o->population), o->pre, o->post, p->n_no_baseline, p->n_no_followup);
    return CLI_FAIL;
}

int cli_analyze_prepost(int argc, char **argv, const struct cli_rerun *rerun)
{
    struct cli_pp o;
    struct cfg cfg;
    struct ds_long *d = NULL;
    struct ds_pairs p;
    struct ana_prepost *r = NULL;
    PGconn *conn = NULL;
    json_t *doc = NULL, *g = NULL;
    struct err e;
    int arm = -1, status = CLI_FAIL;

    memset(&o, 0, sizeof o);
    memset(&p, 0, sizeof p);
    o.kind = "prepost";
    if ((status = cli_pp_load(argc, argv, &o, &cfg, &d, &conn)) != 0)
        return status;
    status = CLI_FAIL;
    err_clear(&e);
    r = malloc(sizeof *r);
    if (r == NULL) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    if (o.in_arm != NULL && cli_pp_arm(d, o.in_arm, &arm) != 0)
        goto out;
    if (o.by_arm && d->n_arms == 0) {
        fprintf(stderr, "error: --by-arm needs arms\nHINT: Name the arm column with --arm COL.\n");
        status = CLI_USAGE;
        goto out;
    }
    if (ds_pair(d, o.pre, o.post, arm, o.population, &p, &e) != 0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    if (p.n < 2) {
        status = cli_too_few(&o, o.in_arm, &p);
        goto out;
    }
    o.ana.g_av_j = o.hedges_j;
    if (ana_prepost_run(p.pre, p.post, p.n, &o.ana, &o.facts, r, &e) != 0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    doc = cli_analyze_doc("prepost", cli_pp_options_json(&o, 0), d->source, d->fingerprint);
    json_object_set_new(doc, "input", cli_input_json(d, d->source));
    json_object_set_new(doc, "group", json_string(o.in_arm ? o.in_arm : "all"));
    json_object_set_new(doc, "population", cli_population_json(&o, &p));
    g = cli_prepost_json(r, &o);
    json_object_update(doc, g);
    json_decref(g);
    g = NULL;
    if (o.by_arm) {
        json_t *by = json_object();
        json_object_set_new(doc, "by_arm", by);
        for (size_t a = 0; a < d->n_arms; a++) {
            json_t *one;
            ds_pairs_free(&p);
            if (ds_pair(d, o.pre, o.post, (int)a, o.population, &p, &e) != 0) {
                status = cli_analyze_fail(&e);
                goto out;
            }
            err_clear(&e);
            if (p.n >= 2 && ana_prepost_run(p.pre, p.post, p.n, &o.ana, &o.facts, r, &e) == 0) {
                one = cli_prepost_json(r, &o);
            } else {
                char why[ERR_MESSAGE_MAX + 64];
                if (e.code == ANA_ENOMEM) {
                    status = cli_analyze_fail(&e);
                    goto out;
                }
                snprintf(why, sizeof why, "%s",
                         p.n < 2 ? "too few participants with both scores (at least 2 needed)"
                                 : e.message);
                one = json_pack("{s:I, s:{s:s}}", "n", (json_int_t)p.n, "unavailable", "n", why);
            }
            json_object_set_new(one, "population", cli_population_json(&o, &p));
            json_object_set_new(by, d->arms[a], one);
        }
    }
    {
        struct cli_run_info info = {"prepost",      o.src.study, json_object_get(doc, "options"),
                                    d->fingerprint, d->versions, d->n_versions};
        status = cli_analyze_finish(conn, &info, doc, o.src.format, &cli_prepost_layout, rerun);
    }
out:
    json_decref(doc);
    free(r);
    ds_pairs_free(&p);
    ds_long_free(d);
    if (conn != NULL)
        PQfinish(conn);
    cfg_free(&cfg);
    return status;
}

/* ---- between ---- */

static int cli_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Picks the reference and test arms: given, or the two there are (the
 * reference first in alphabetical order, as R's factor levels). */
static int cli_between_arms(const struct ds_long *d, struct cli_pp *o, int *ref, int *test)
{
    if (d->n_arms < 2) {
        fprintf(stderr, "error: a comparison of arms needs two arms; the data have %zu\n",
                d->n_arms);
        if (o->src.csv != NULL && o->src.columns.arm == NULL)
            fprintf(stderr, "HINT: Name the arm column with --arm COL.\n");
        return CLI_USAGE;
    }
    if (o->arm_ref == NULL || o->arm_test == NULL) {
        const char *names[2];
        if (d->n_arms > 2 && (o->arm_ref == NULL || o->arm_test == NULL)) {
            fprintf(stderr, "error: the data have %zu arms; choose two\n", d->n_arms);
            fprintf(stderr, "HINT: Give --arm-ref R --arm-test T; the arms are");
            for (size_t i = 0; i < d->n_arms; i++)
                fprintf(stderr, "%s \"%s\"", i ? "," : "", d->arms[i]);
            fprintf(stderr, ".\n");
            return CLI_USAGE;
        }
        names[0] = d->arms[0];
        names[1] = d->arms[1];
        qsort(names, 2, sizeof names[0], cli_cmp_str);
        if (o->arm_ref == NULL && o->arm_test == NULL) {
            o->arm_ref = names[0];
            o->arm_test = names[1];
        } else if (o->arm_ref == NULL) {
            o->arm_ref = strcmp(o->arm_test, names[0]) == 0 ? names[1] : names[0];
        } else {
            o->arm_test = strcmp(o->arm_ref, names[0]) == 0 ? names[1] : names[0];
        }
    }
    if (cli_pp_arm(d, o->arm_ref, ref) != 0 || cli_pp_arm(d, o->arm_test, test) != 0)
        return CLI_USAGE;
    if (*ref == *test) {
        fprintf(stderr, "error: the reference and test arms are the same arm \"%s\"\n", o->arm_ref);
        return CLI_USAGE;
    }
    return 0;
}

static json_t *cli_arm_json(const char *name, const struct ana_paired *s, int ok)
{
    if (!ok)
        return json_pack("{s:s}", "arm", name);
    return json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "arm", name, "n", (json_int_t)s->n,
                     "mean_pre", s->pre.mean, "sd_pre", s->pre.sd, "mean_post", s->post.mean,
                     "sd_post", s->post.sd, "mean_change", s->diff.mean, "sd_change", s->diff.sd);
}

static json_t *jtest(const struct ana_ttest *t)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:o}", "t", t->t, "df", t->df, "p", t->p,
                     "estimate", t->estimate, "se", t->se, "ci95", jci(t->ci));
}

static const struct cli_out_row cli_between_rows[] = {
    {"reference.n", "reference arm: participants", "reference.n", NULL, 'n'},
    {"reference.mean_pre", "  mean at baseline", "reference.mean_pre", NULL, 'f'},
    {"reference.mean_post", "  mean at follow-up", "reference.mean_post", NULL, 'f'},
    {"reference.sd_post", "  SD at follow-up", "reference.sd_post", NULL, 'f'},
    {"test.n", "test arm: participants", "test.n", NULL, 'n'},
    {"test.mean_pre", "  mean at baseline", "test.mean_pre", NULL, 'f'},
    {"test.mean_post", "  mean at follow-up", "test.mean_post", NULL, 'f'},
    {"test.sd_post", "  SD at follow-up", "test.sd_post", NULL, 'f'},
    {"welch_t.estimate", "difference at follow-up (test - ref)", "welch_t.estimate", "welch_t.ci95",
     'f'},
    {"welch_t.t", "Welch t", "welch_t.t", NULL, 'f'},
    {"welch_t.df", "Welch df", "welch_t.df", NULL, 'g'},
    {"welch_t.p", "Welch p (two-sided)", "welch_t.p", NULL, 'p'},
    {"student_t.t", "Student t", "student_t.t", "student_t.ci95", 'f'},
    {"student_t.df", "Student df", "student_t.df", NULL, 'g'},
    {"student_t.p", "Student p (two-sided)", "student_t.p", NULL, 'p'},
    {"cohens_d", "Cohen's d (pooled SD)", "cohens_d.value", "cohens_d.ci95", 'f'},
    {"hedges_g", "Hedges' g", "hedges_g.value", "hedges_g.ci95", 'f'},
    {"mean_change_difference", "difference in mean change (Welch)",
     "mean_change_difference.estimate", "mean_change_difference.ci95", 'f'},
    {"mean_change_difference.p", "  p (two-sided)", "mean_change_difference.p", NULL, 'p'},
    {"ancova", "ANCOVA: arm effect adjusted for baseline", "ancova.estimate", "ancova.ci95", 'f'},
    {"ancova.se", "  SE", "ancova.se", NULL, 'f'},
    {"ancova.p", "  p (two-sided)", "ancova.p", NULL, 'p'},
    {"ancova.slope_pre", "  baseline slope", "ancova.slope_pre", NULL, 'f'},
};

static const struct cli_out_layout cli_between_layout = {"attune analyze between", cli_between_rows,
                                                         sizeof cli_between_rows /
                                                             sizeof cli_between_rows[0]};

int cli_analyze_between(int argc, char **argv, const struct cli_rerun *rerun)
{
    struct cli_pp o;
    struct cfg cfg;
    struct ds_long *d = NULL;
    struct ds_pairs pr, pt;
    struct ana_between *b = NULL;
    double *pre = NULL, *post = NULL;
    unsigned char *arm = NULL;
    PGconn *conn = NULL;
    json_t *doc = NULL, *un, *pop;
    struct err e;
    int ref = -1, test = -1, status;
    size_t n;

    memset(&o, 0, sizeof o);
    memset(&pr, 0, sizeof pr);
    memset(&pt, 0, sizeof pt);
    o.kind = "between";
    if ((status = cli_pp_load(argc, argv, &o, &cfg, &d, &conn)) != 0)
        return status;
    status = CLI_FAIL;
    err_clear(&e);
    if (o.by_arm || o.in_arm != NULL) {
        fprintf(stderr, "error: between compares two arms: choose them with --arm-ref and "
                        "--arm-test\n");
        status = CLI_USAGE;
        goto out;
    }
    if (!o.hedges_j_given)
        o.hedges_j = ANA_J_EXACT; /* as effectsize::hedges_g */
    if ((status = cli_between_arms(d, &o, &ref, &test)) != 0)
        goto out;
    status = CLI_FAIL;
    if (ds_pair(d, o.pre, o.post, ref, o.population, &pr, &e) != 0 ||
        ds_pair(d, o.pre, o.post, test, o.population, &pt, &e) != 0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    if (pr.n < 2 || pt.n < 2) {
        fprintf(stderr, "error: the %s arm \"%s\" has %zu participant%s with both scores\n",
                pr.n < 2 ? "reference" : "test", pr.n < 2 ? o.arm_ref : o.arm_test,
                pr.n < 2 ? pr.n : pt.n, (pr.n < 2 ? pr.n : pt.n) == 1 ? "" : "s");
        fprintf(stderr, "DETAIL: Comparing two arms needs at least 2 participants in each, so "
                        "that each arm's standard deviation is defined.\n");
        goto out;
    }
    n = pr.n + pt.n;
    pre = malloc(n * sizeof *pre);
    post = malloc(n * sizeof *post);
    arm = malloc(n);
    b = malloc(sizeof *b);
    if (pre == NULL || post == NULL || arm == NULL || b == NULL) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < pt.n; i++)
        pre[i] = pt.pre[i], post[i] = pt.post[i], arm[i] = 1;
    for (size_t i = 0; i < pr.n; i++)
        pre[pt.n + i] = pr.pre[i], post[pt.n + i] = pr.post[i], arm[pt.n + i] = 0;
    if (ana_between_run(pre, post, arm, n, o.ana.level, o.hedges_j, b, &e) != 0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    doc = cli_analyze_doc("between", cli_pp_options_json(&o, 1), d->source, d->fingerprint);
    json_object_set_new(doc, "input", cli_input_json(d, d->source));
    json_object_set_new(doc, "group", json_sprintf("%s vs %s", o.arm_test, o.arm_ref));
    pop = cli_population_json(&o, &pt);
    json_object_set_new(pop, "by_arm",
                        json_pack("{s:o, s:o}", o.arm_test, cli_population_json(&o, &pt), o.arm_ref,
                                  cli_population_json(&o, &pr)));
    /* Both arms together. */
    json_object_set_new(pop, "considered",
                        json_integer((json_int_t)(pr.n_considered + pt.n_considered)));
    json_object_set_new(pop, "included", json_integer((json_int_t)n));
    json_object_set_new(json_object_get(pop, "excluded"), "no_baseline",
                        json_integer((json_int_t)(pr.n_no_baseline + pt.n_no_baseline)));
    if (o.population == DS_COMPLETERS)
        json_object_set_new(json_object_get(pop, "excluded"), "no_followup",
                            json_integer((json_int_t)(pr.n_no_followup + pt.n_no_followup)));
    json_object_set_new(pop, "imputed", json_integer((json_int_t)(pr.n_imputed + pt.n_imputed)));
    json_object_set_new(doc, "population", pop);
    json_object_set_new(doc, "n", json_integer((json_int_t)n));
    json_object_set_new(doc, "reference", cli_arm_json(o.arm_ref, &b->ref, b->has_ref_summary));
    json_object_set_new(doc, "test", cli_arm_json(o.arm_test, &b->test, b->has_test_summary));
    un = json_object();
    if (b->status[ANA_BT_TWO_SAMPLE] == 0) {
        const struct ana_two_sample *t = &b->post;
        json_object_set_new(doc, "welch_t", jtest(&t->welch));
        json_object_set_new(doc, "student_t", jtest(&t->student));
        json_object_set_new(doc, "cohens_d",
                            json_pack("{s:f, s:o, s:f, s:s}", "value", t->cohens_d.value, "ci95",
                                      jci(t->cohens_d.ci), "sd_pooled", t->sd_pooled, "ci_method",
                                      "noncentral t"));
        json_object_set_new(doc, "hedges_g",
                            json_pack("{s:f, s:o, s:s, s:f}", "value", t->hedges_g.value, "ci95",
                                      jci(t->hedges_g.ci), "j", ana_hedges_j_name(t->j_kind), "J",
                                      t->j));
    } else {
        const char *keys[] = {"welch_t", "student_t", "cohens_d", "hedges_g"};
        for (size_t k = 0; k < 4; k++) {
            json_object_set_new(doc, keys[k], json_null());
            json_object_set_new(un, keys[k], json_string(b->why[ANA_BT_TWO_SAMPLE]));
        }
    }
    if (b->status[ANA_BT_CHANGE] == 0) {
        json_object_set_new(doc, "mean_change_difference", jtest(&b->change));
        json_object_set_new(json_object_get(doc, "mean_change_difference"), "method",
                            json_string("Welch t on change = pre - post, test - reference"));
    } else {
        json_object_set_new(doc, "mean_change_difference", json_null());
        json_object_set_new(un, "mean_change_difference", json_string(b->why[ANA_BT_CHANGE]));
    }
    if (b->status[ANA_BT_ANCOVA] == 0) {
        const struct ana_ancova *a = &b->ancova;
        json_object_set_new(doc, "ancova",
                            json_pack("{s:f, s:f, s:o, s:f, s:f, s:f, s:f, s:f, s:s}", "estimate",
                                      a->estimate, "se", a->se, "ci95", jci(a->ci), "p", a->p, "t",
                                      a->t, "df", a->df, "slope_pre", a->slope_pre, "sigma",
                                      a->sigma, "model", "post ~ pre + arm (least squares)"));
    } else {
        json_object_set_new(doc, "ancova", json_null());
        json_object_set_new(un, "ancova", json_string(b->why[ANA_BT_ANCOVA]));
    }
    json_object_set_new(doc, "unavailable", un);
    {
        struct cli_run_info info = {"between",      o.src.study, json_object_get(doc, "options"),
                                    d->fingerprint, d->versions, d->n_versions};
        status = cli_analyze_finish(conn, &info, doc, o.src.format, &cli_between_layout, rerun);
    }
out:
    json_decref(doc);
    free(b);
    free(pre);
    free(post);
    free(arm);
    ds_pairs_free(&pr);
    ds_pairs_free(&pt);
    ds_long_free(d);
    if (conn != NULL)
        PQfinish(conn);
    cfg_free(&cfg);
    return status;
}
