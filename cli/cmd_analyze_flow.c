/*
 * cmd_analyze_flow.c — `attune analyze attrition` (the CONSORT-style flow of
 * one instrument by arm and week) and `attune analyze engagement` (app use
 * per participant and week, and its relation to the change score): options,
 * loading through datasets/, the sections of flow.h, and printing through
 * report/rep_render.h. Runs are recorded with their canonical arguments, so
 * `attune analyze --rerun ID` repeats them.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flow.h"
#include "rep_render.h"

struct cli_flow_opts {
    struct cli_data_source src;
    const char *asof;
    int have_pre, have_post;
    int pre, post;
    double session_cap; /* minutes */
    struct cli_engage_opts eng;
};

static const struct option cli_flow_options[] = {
    CLI_DATA_OPTIONS,
    {"asof", required_argument, NULL, CLI_OPT_ASOF},
    {"pre", required_argument, NULL, CLI_OPT_PRE},
    {"post", required_argument, NULL, CLI_OPT_POST},
    {"session-cap", required_argument, NULL, CLI_OPT_SESSION_CAP},
    {"metric", required_argument, NULL, CLI_OPT_METRIC},
    {"covariate", required_argument, NULL, CLI_OPT_COVARIATE},
    {"spearman-se", required_argument, NULL, CLI_OPT_SPEARMAN_SE},
    {"population", required_argument, NULL, CLI_OPT_POPULATION},
    {"level", required_argument, NULL, CLI_OPT_LEVEL},
    {"no-participants", no_argument, NULL, CLI_OPT_NO_PARTICIPANTS},
    {NULL, 0, NULL, 0},
};

/* Options of both commands; engagement's own are refused for attrition. */
static int cli_flow_parse(int argc, char **argv, int engagement, struct cli_flow_opts *o)
{
    int opt, r;

    memset(o, 0, sizeof *o);
    o->session_cap = 60;
    o->eng.population = DS_COMPLETERS;
    o->eng.metric = DS_ENG_ACTIVE_DAYS;
    o->eng.covariate = CLI_COV_TOTAL;
    o->eng.spearman_se = ANA_SPEARMAN_SE_BONETT_WRIGHT;
    o->eng.level = 0.95;
    o->eng.participants = 1;
    optind = 0;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "", cli_flow_options, NULL)) != -1) {
        if ((r = cli_data_option(opt, optarg, &o->src)) == 1)
            continue;
        if (r < 0)
            return CLI_USAGE;
        if (!engagement && opt != CLI_OPT_ASOF && opt != CLI_OPT_PRE && opt != CLI_OPT_POST) {
            fprintf(stderr, "error: option \"%s\" is not one of attrition's\n", argv[optind - 1]);
            return CLI_USAGE;
        }
        switch (opt) {
        case CLI_OPT_ASOF:
            o->asof = optarg;
            break;
        case CLI_OPT_PRE:
            if (cli_flow_week("pre", optarg, &o->pre) != 0)
                return CLI_USAGE;
            o->have_pre = 1;
            break;
        case CLI_OPT_POST:
            if (cli_flow_week("post", optarg, &o->post) != 0)
                return CLI_USAGE;
            o->have_post = 1;
            break;
        case CLI_OPT_SESSION_CAP:
            if (cli_analyze_number("session-cap", optarg, 1, 24 * 60, &o->session_cap) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_METRIC:
            if (cli_flow_metric(optarg, &o->eng.metric) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_COVARIATE:
            if (strcmp(optarg, "total") == 0)
                o->eng.covariate = CLI_COV_TOTAL;
            else if (strcmp(optarg, "weekly") == 0)
                o->eng.covariate = CLI_COV_WEEKLY;
            else if (strcmp(optarg, "none") == 0)
                o->eng.covariate = CLI_COV_NONE;
            else {
                fprintf(stderr,
                        "error: unknown covariate \"%s\"\nHINT: Use total, weekly or "
                        "none.\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case CLI_OPT_SPEARMAN_SE:
            if (ana_spearman_se_parse(optarg, &o->eng.spearman_se) != 0) {
                fprintf(stderr,
                        "error: unknown --spearman-se \"%s\"\nHINT: Use bonett-wright or "
                        "fieller.\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case CLI_OPT_POPULATION:
            if (cli_analyze_population(optarg, &o->eng.population) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_LEVEL:
            if (cli_analyze_number("level", optarg, 0.5, 0.999, &o->eng.level) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_NO_PARTICIPANTS:
            o->eng.participants = 0;
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
    if (o->src.study == NULL || o->src.instrument == NULL || o->src.csv != NULL) {
        fprintf(stderr,
                "error: %s needs a study: give --study S --instrument I\n"
                "DETAIL: Attrition and engagement come from the collector's derived "
                "statuses and app events, which a CSV file does not have.\n",
                engagement ? "engagement" : "attrition");
        return CLI_USAGE;
    }
    if (o->src.columns.arm != NULL) {
        fprintf(stderr, "error: --arm is not an option here\nDETAIL: Every arm is shown.\n");
        return CLI_USAGE;
    }
    return 0;
}

/* The canonical arguments, with asof resolved so a rerun judges statuses at the same time. */
static json_t *cli_flow_args(const struct cli_flow_opts *o, const struct ds_attrition *a,
                             const char *asof, int engagement)
{
    json_t *args = json_array();

    cli_args_add(args, "--study", o->src.study);
    cli_args_add(args, "--instrument", o->src.instrument);
    cli_args_add(args, "--asof", asof);
    cli_args_num(args, "--pre", a->baseline_week);
    cli_args_num(args, "--post", a->final_week);
    if (engagement) {
        cli_args_num(args, "--session-cap", o->session_cap);
        cli_args_add(args, "--metric", ds_eng_metric_name(o->eng.metric));
        cli_args_add(args, "--covariate",
                     o->eng.covariate == CLI_COV_TOTAL    ? "total"
                     : o->eng.covariate == CLI_COV_WEEKLY ? "weekly"
                                                          : "none");
        cli_args_add(args, "--spearman-se", ana_spearman_se_name(o->eng.spearman_se));
        cli_args_add(args, "--population", ds_population_name(o->eng.population));
        cli_args_num(args, "--level", o->eng.level);
        if (!o->eng.participants)
            cli_args_add(args, "--no-participants", NULL);
    }
    return args;
}

static int cli_flow_print_attrition(FILE *f, json_t *doc, enum cli_format fmt)
{
    if (fmt == CLI_FORMAT_JSON)
        return cli_out_json(f, doc);
    return rep_print_attrition(f, doc, fmt == CLI_FORMAT_CSV ? REP_CSV : REP_TEXT);
}

static int cli_flow_print_engagement(FILE *f, json_t *doc, enum cli_format fmt)
{
    if (fmt == CLI_FORMAT_JSON)
        return cli_out_json(f, doc);
    return rep_print_engagement(f, doc, fmt == CLI_FORMAT_CSV ? REP_CSV : REP_TEXT);
}

/* Both commands: attrition always (it resolves asof and the weeks), engagement when asked. */
static int cli_flow_run(int argc, char **argv, const struct cli_rerun *rerun, int engagement)
{
    struct cli_flow_opts o;
    struct cfg cfg;
    struct ds_attrition *a = NULL;
    struct ds_long *d = NULL;
    struct ds_engagement *g = NULL;
    PGconn *conn = NULL;
    json_t *doc = NULL, *section = NULL, *opts;
    struct err e;
    char fingerprint[65];
    int status, have_cfg = 0;

    if ((status = cli_flow_parse(argc, argv, engagement, &o)) != 0)
        return status;
    status = CLI_FAIL;
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    have_cfg = 1;
    err_clear(&e);
    if (cli_flow_connect(&cfg, &conn, &e) != 0 ||
        ds_attrition_load(conn, o.src.study, o.src.instrument, o.asof, o.have_pre ? &o.pre : NULL,
                          o.have_post ? &o.post : NULL, &a, &e) != 0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    opts = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:o}", "source", "study", "study", o.src.study,
                     "instrument", o.src.instrument, "asof", a->asof, "pre", a->baseline_week,
                     "post", a->final_week, "args", cli_flow_args(&o, a, a->asof, engagement));
    if (!engagement) {
        char source[300];
        snprintf(source, sizeof source, "study:%s/%s", o.src.study, o.src.instrument);
        doc = cli_analyze_doc("attrition", opts, source, a->fingerprint);
        section = cli_attrition_json(a);
        json_object_update(doc, section);
        {
            struct cli_run_info info = {
                "attrition", o.src.study, json_object_get(doc, "options"), a->fingerprint, NULL, 0};
            status =
                cli_flow_finish(conn, &info, doc, o.src.format, cli_flow_print_attrition, rerun);
        }
        goto out;
    }
    o.eng.pre = a->baseline_week;
    o.eng.post = a->final_week;
    json_object_set_new(opts, "session_cap_minutes", json_real(o.session_cap));
    json_object_set_new(opts, "metric", json_string(ds_eng_metric_name(o.eng.metric)));
    json_object_set_new(opts, "population", json_string(ds_population_name(o.eng.population)));
    json_object_set_new(opts, "spearman_se", json_string(ana_spearman_se_name(o.eng.spearman_se)));
    json_object_set_new(opts, "level", json_real(o.eng.level));
    if (ds_load_study(conn, o.src.study, o.src.instrument, &d, &e) != 0 ||
        ds_engagement_load(conn, o.src.study, d, a->asof, (int64_t)(o.session_cap * 60e6), &g,
                           &e) != 0 ||
        cli_engagement_json(d, g, &o.eng, &section, &e) != 0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    {
        /* The input is the scores and the events: one fingerprint of both. */
        const char *parts[] = {d->fingerprint, g->fingerprint, NULL};
        cli_flow_fingerprint(parts, fingerprint);
    }
    doc = cli_analyze_doc("engagement", opts, d->source, fingerprint);
    json_object_set_new(json_object_get(doc, "input"), "scores_fingerprint",
                        json_string(d->fingerprint));
    json_object_set_new(json_object_get(doc, "input"), "events_fingerprint",
                        json_string(g->fingerprint));
    json_object_update(doc, section);
    {
        struct cli_run_info info = {"engagement", o.src.study, json_object_get(doc, "options"),
                                    fingerprint,  d->versions, d->n_versions};
        status = cli_flow_finish(conn, &info, doc, o.src.format, cli_flow_print_engagement, rerun);
    }
out:
    json_decref(doc);
    json_decref(section);
    ds_attrition_free(a);
    ds_engagement_free(g);
    ds_long_free(d);
    if (conn != NULL)
        PQfinish(conn);
    if (have_cfg)
        cfg_free(&cfg);
    return status;
}

int cli_analyze_attrition(int argc, char **argv, const struct cli_rerun *rerun)
{
    return cli_flow_run(argc, argv, rerun, 0);
}

int cli_analyze_engagement(int argc, char **argv, const struct cli_rerun *rerun)
{
    return cli_flow_run(argc, argv, rerun, 1);
}
