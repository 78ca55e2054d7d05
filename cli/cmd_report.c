/*
 * cmd_report.c — `attune report`: the claim report of one study and
 * instrument (report.c builds the document, report/rep_render.h prints it)
 * as text, JSON, CSV or one self-contained HTML page, to standard output or
 * a file. The run is recorded in analysis_runs; its id is in the output.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "rep_render.h"

int cli_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"study", required_argument, NULL, CLI_OPT_STUDY},
        {"instrument", required_argument, NULL, CLI_OPT_INSTRUMENT},
        {"format", required_argument, NULL, CLI_OPT_FORMAT},
        {"claim", required_argument, NULL, CLI_OPT_CLAIM},
        {"asof", required_argument, NULL, CLI_OPT_ASOF},
        {"pre", required_argument, NULL, CLI_OPT_PRE},
        {"post", required_argument, NULL, CLI_OPT_POST},
        {"arm-ref", required_argument, NULL, CLI_OPT_ARM_REF},
        {"resamples", required_argument, NULL, CLI_OPT_RESAMPLES},
        {"seed", required_argument, NULL, CLI_OPT_SEED},
        {"session-cap", required_argument, NULL, CLI_OPT_SESSION_CAP},
        {"metric", required_argument, NULL, CLI_OPT_METRIC},
        {"stylesheet", required_argument, NULL, CLI_OPT_STYLESHEET},
        {"output", required_argument, NULL, CLI_OPT_OUTPUT},
        {NULL, 0, NULL, 0},
    };
    struct cli_report_opts o;
    enum rep_format fmt = REP_TEXT;
    int json = 0, pre, post, opt, status = CLI_FAIL, have_cfg = 0;
    const char *stylesheet = NULL, *output = NULL;
    double v;
    struct cfg cfg;
    struct err e;
    PGconn *conn = NULL;
    json_t *doc = NULL;
    FILE *f = stdout;

    cli_report_opts_init(&o);
    optind = 0;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case CLI_OPT_STUDY:
            o.study = optarg;
            break;
        case CLI_OPT_INSTRUMENT:
            o.instrument = optarg;
            break;
        case CLI_OPT_FORMAT:
            json = strcmp(optarg, "json") == 0;
            if (strcmp(optarg, "text") == 0 || strcmp(optarg, "table") == 0)
                fmt = REP_TEXT;
            else if (strcmp(optarg, "html") == 0)
                fmt = REP_HTML;
            else if (strcmp(optarg, "csv") == 0)
                fmt = REP_CSV;
            else if (!json) {
                fprintf(stderr,
                        "error: unknown format \"%s\"\nHINT: Use text, json, html or "
                        "csv.\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case CLI_OPT_CLAIM:
            o.claim = optarg;
            break;
        case CLI_OPT_ASOF:
            o.asof = optarg;
            break;
        case CLI_OPT_PRE:
            if (cli_flow_week("pre", optarg, &pre) != 0)
                return CLI_USAGE;
            o.pre = &pre;
            break;
        case CLI_OPT_POST:
            if (cli_flow_week("post", optarg, &post) != 0)
                return CLI_USAGE;
            o.post = &post;
            break;
        case CLI_OPT_ARM_REF:
            o.arm_ref = optarg;
            break;
        case CLI_OPT_RESAMPLES:
            if (cli_analyze_number("resamples", optarg, 100, 1000000, &v) != 0)
                return CLI_USAGE;
            o.resamples = (size_t)v;
            break;
        case CLI_OPT_SEED:
            if (cli_analyze_number("seed", optarg, 0, 4294967295.0, &v) != 0)
                return CLI_USAGE;
            o.seed = (unsigned long)v;
            break;
        case CLI_OPT_SESSION_CAP:
            if (cli_analyze_number("session-cap", optarg, 1, 24 * 60, &o.session_cap) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_METRIC:
            if (cli_flow_metric(optarg, &o.metric) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_STYLESHEET:
            stylesheet = optarg;
            break;
        case CLI_OPT_OUTPUT:
            output = optarg;
            break;
        default:
            cli_usage("report", 1);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (o.study == NULL || o.instrument == NULL) {
        fprintf(stderr, "error: give --study S --instrument I\n");
        return CLI_USAGE;
    }
    if (stylesheet != NULL && fmt != REP_HTML) {
        fprintf(stderr, "error: --stylesheet is for --format html\n");
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    have_cfg = 1;
    err_clear(&e);
    if (cli_flow_connect(&cfg, &conn, &e) != 0 || cli_report_build(conn, &cfg, &o, &doc, &e) != 0) {
        cli_error(&e);
        goto out;
    }
    if (output != NULL && (f = fopen(output, "w")) == NULL) {
        fprintf(stderr, "error: could not open \"%s\": %s\n", output, strerror(errno));
        goto out;
    }
    if (json ? cli_out_json(f, doc) != 0 : rep_print_report(f, doc, fmt, stylesheet) != 0) {
        fprintf(stderr, "error: could not write the report\n");
        goto out;
    }
    if (f != stdout && fclose(f) != 0) {
        f = stdout;
        fprintf(stderr, "error: could not write \"%s\"\n", output);
        goto out;
    }
    f = stdout;
    if (output != NULL)
        fprintf(stderr, "report: %s (run %s)\n", output,
                json_string_value(json_object_get(json_object_get(doc, "provenance"), "run_id")));
    status = CLI_OK;
out:
    if (f != stdout)
        fclose(f);
    json_decref(doc);
    if (conn != NULL)
        PQfinish(conn);
    if (have_cfg)
        cfg_free(&cfg);
    return status;
}
