/*
 * cmd_analyze.c — `attune analyze <kind>`: the table of analysis
 * subcommands, `--rerun ID`, and what every analysis does at the end
 * (compare, record, print).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_cmd.h"
#include "cli.h"
#include "db.h"
#include "ds.h"
#include "ds_items.h"
#include "flow.h"

/*
 * The subcommands. One row each; the dispatcher checks the name and passes
 * argv from the subcommand's name on.
 */
static const struct cli_analyze_command {
    const char *name;
    cli_analyze_fn run;
    const char *summary;
} cli_analyze_commands[] = {
    {"prepost", cli_analyze_prepost,
     "one group at baseline and follow-up: effect sizes, reductions, reliable change"},
    {"between", cli_analyze_between,
     "two arms at follow-up: Welch and Student t, Cohen's d, Hedges' g, ANCOVA"},
    {"reliability", cli_analyze_reliability, "Cronbach's alpha from item answers"},
    {"attrition", cli_analyze_attrition,
     "the participant flow by arm and week, from the derived questionnaire statuses"},
    {"engagement", cli_analyze_engagement,
     "app use per participant and week, and its relation to the change score"},
    {"mixed", cli_analyze_mixed,
     "scores over the weeks: a linear mixed model, model-based means and reduction"},
};

#define CLI_ANALYZE_N (sizeof cli_analyze_commands / sizeof cli_analyze_commands[0])

static const struct cli_analyze_command *cli_analyze_find(const char *name)
{
    for (size_t i = 0; i < CLI_ANALYZE_N; i++)
        if (strcmp(cli_analyze_commands[i].name, name) == 0)
            return &cli_analyze_commands[i];
    return NULL;
}

int cli_analyze_fail(const struct err *e)
{
    cli_error(e);
    return CLI_FAIL;
}

int cli_analyze_number(const char *opt, const char *arg, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (end == arg || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "error: invalid value \"%s\" for --%s\n", arg, opt);
        if (isfinite(lo) && isfinite(hi))
            fprintf(stderr, "DETAIL: Give a number from %g to %g.\n", lo, hi);
        else
            fprintf(stderr, "DETAIL: Give a number.\n");
        return -1;
    }
    *out = v;
    return 0;
}

int cli_analyze_whole(const char *opt, const char *arg, double lo, double hi, double *out)
{
    double v;

    if (cli_analyze_number(opt, arg, lo, hi, &v) != 0)
        return -1;
    if (v != floor(v)) {
        fprintf(stderr, "error: --%s must be a whole number\n", opt);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_analyze_population(const char *arg, enum ds_population *out)
{
    if (ds_population_parse(arg, out) != 0) {
        fprintf(stderr, "error: unknown population \"%s\"\nHINT: Use completers, bocf or locf.\n",
                arg);
        return -1;
    }
    return 0;
}

void cli_args_add(json_t *args, const char *opt, const char *value)
{
    json_array_append_new(args, json_string(opt));
    if (value != NULL)
        json_array_append_new(args, json_string(value));
}

void cli_args_num(json_t *args, const char *opt, double value)
{
    char buf[40];

    /* %.17g reads back as the same double; shorter when it is exact. */
    snprintf(buf, sizeof buf, "%.15g", value);
    if (strtod(buf, NULL) != value)
        snprintf(buf, sizeof buf, "%.17g", value);
    cli_args_add(args, opt, buf);
}

json_t *cli_analyze_doc(const char *kind, json_t *options, const char *source,
                        const char *fingerprint)
{
    return json_pack("{s:s, s:o, s:{s:s, s:s}}", "kind", kind, "options", options, "input",
                     "source", source, "fingerprint", fingerprint);
}

int cli_analyze_connect(const struct cfg *cfg, PGconn **out, struct err *e)
{
    static const struct db_statement *const tables[] = {ds_statements, ds_item_statements, NULL};

    return cli_data_connect(cfg, tables, out, e);
}

int cli_analyze_settle(PGconn *conn, const struct cli_run_info *info, json_t *doc,
                       const struct cli_rerun *rerun, int *identical)
{
    char run_id[37];
    struct err e;

    err_clear(&e);
    *identical = 1;
    if (rerun != NULL) {
        /* Compared before anything is added, and without "options": those
         * are replayed from the record by construction, and only their
         * wording of where facts came from may differ. */
        int same_input = strcmp(rerun->fingerprint, info->fingerprint) == 0;
        json_t *was = json_deep_copy(rerun->result), *now = json_deep_copy(doc);
        json_object_del(was, "options");
        json_object_del(now, "options");
        json_object_del(was, "run_id");
        *identical = was != NULL && now != NULL && json_equal(was, now);
        json_decref(was);
        json_decref(now);
        json_object_set_new(doc, "rerun",
                            json_pack("{s:s, s:b, s:b, s:b}", "of", rerun->id, "identical",
                                      *identical, "fingerprint_matches", same_input,
                                      "recorded_as_reproducible", rerun->reproducible));
    }
    if (conn != NULL && info->study != NULL) {
        struct ds_run run = {info->study,    info->kind,       info->options, info->fingerprint,
                             info->versions, info->n_versions, NULL,          NULL};
        json_t *result = json_deep_copy(doc);
        /* The stored result is the document without the rerun verdict. */
        json_object_del(result, "rerun");
        run.result = result;
        if (ds_run_record(conn, &run, run_id, &e) != 0) {
            json_decref(result);
            err_prefix(&e, "could not record the analysis run");
            return cli_analyze_fail(&e);
        }
        json_decref(result);
        json_object_set_new(doc, "run_id", json_string(run_id));
    }
    return CLI_OK;
}

int cli_analyze_verdict(const struct cli_run_info *info, const struct cli_rerun *rerun,
                        int identical)
{
    if (rerun == NULL || identical)
        return CLI_OK;
    fprintf(stderr, "error: the result of run %s is not reproduced\n", rerun->id);
    if (strcmp(rerun->fingerprint, info->fingerprint) != 0)
        fprintf(stderr,
                "DETAIL: The input data changed since the run (fingerprint %.12s..., "
                "now %.12s...).\n",
                rerun->fingerprint, info->fingerprint);
    return CLI_FAIL;
}

int cli_analyze_finish(PGconn *conn, const struct cli_run_info *info, json_t *doc,
                       enum cli_format fmt, const struct cli_out_layout *layout,
                       const struct cli_rerun *rerun)
{
    int identical, status;
    json_t *run_id;

    if ((status = cli_analyze_settle(conn, info, doc, rerun, &identical)) != CLI_OK)
        return status;
    if (cli_out_print(stdout, doc, fmt, layout) != 0) {
        fprintf(stderr, "error: could not write the result\n");
        status = CLI_FAIL;
    }
    run_id = json_object_get(doc, "run_id");
    if (json_is_string(run_id) && fmt != CLI_FORMAT_TABLE)
        fprintf(stderr, "run: %s\n", json_string_value(run_id));
    if (cli_analyze_verdict(info, rerun, identical) != CLI_OK)
        status = CLI_FAIL;
    return status;
}

/* attune analyze --rerun ID [--format F] */
static int cli_analyze_rerun(int argc, char **argv)
{
    const struct cli_analyze_command *cmd;
    struct cfg cfg;
    struct err e;
    struct cli_rerun rr;
    PGconn *conn = NULL;
    json_t *options = NULL, *result = NULL, *args;
    char *kind = NULL, *study = NULL, *fingerprint = NULL;
    char **av = NULL;
    const char *id = NULL, *format = NULL;
    int reproducible = 1, ac = 0, status = CLI_FAIL;
    size_t i;
    json_t *v;

    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--rerun") == 0 && k + 1 < argc && id == NULL)
            id = argv[++k];
        else if (strcmp(argv[k], "--format") == 0 && k + 1 < argc && format == NULL)
            format = argv[++k];
        else {
            fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[k]);
            cli_usage("analyze", 1);
            return CLI_USAGE;
        }
    }
    if (id == NULL) {
        fprintf(stderr, "error: --rerun needs the id of an analysis run\n");
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    if (cli_analyze_connect(&cfg, &conn, &e) != 0 ||
        ds_run_fetch(conn, id, &kind, &study, &fingerprint, &options, &result, &reproducible, &e) !=
            0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    /* The connection is not needed while the subcommand opens its own. */
    PQfinish(conn);
    conn = NULL;
    cmd = cli_analyze_find(kind);
    args = json_object_get(options, "args");
    if (cmd == NULL || !json_is_array(args)) {
        err_set(&e, DS_EFORMAT, "analysis run \"%s\" cannot be repeated", id);
        err_detail(&e,
                   "Its kind \"%s\" is not one this program knows, or it has no recorded "
                   "arguments.",
                   kind);
        status = cli_analyze_fail(&e);
        goto out;
    }
    av = calloc(json_array_size(args) + 4, sizeof *av);
    if (av == NULL) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    av[ac++] = kind;
    json_array_foreach(args, i, v)
    {
        if (!json_is_string(v)) {
            fprintf(stderr, "error: analysis run \"%s\" has a malformed argument list\n", id);
            goto out;
        }
        av[ac++] = (char *)json_string_value(v);
    }
    if (format != NULL) {
        av[ac++] = (char *)"--format";
        av[ac++] = (char *)format;
    }
    rr.id = id;
    rr.result = result;
    rr.fingerprint = fingerprint;
    rr.reproducible = reproducible;
    status = cmd->run(ac, av, &rr);
out:
    if (conn != NULL)
        PQfinish(conn);
    cfg_free(&cfg);
    json_decref(options);
    json_decref(result);
    free(kind);
    free(study);
    free(fingerprint);
    free(av);
    return status;
}

int cli_analyze(int argc, char **argv)
{
    const struct cli_analyze_command *cmd;

    if (argc < 2) {
        fprintf(stderr, "error: which analysis?\n");
        for (size_t i = 0; i < CLI_ANALYZE_N; i++)
            fprintf(stderr, "  %-12s %s\n", cli_analyze_commands[i].name,
                    cli_analyze_commands[i].summary);
        fprintf(stderr, "HINT: Run \"attune analyze --help\" for the options.\n");
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--rerun") == 0)
        return cli_analyze_rerun(argc, argv);
    cmd = cli_analyze_find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "error: unknown analysis \"%s\"\nHINT: Use one of:", argv[1]);
        for (size_t i = 0; i < CLI_ANALYZE_N; i++)
            fprintf(stderr, " %s", cli_analyze_commands[i].name);
        fprintf(stderr, ".\n");
        return CLI_USAGE;
    }
    return cmd->run(argc - 1, argv + 1, NULL);
}
