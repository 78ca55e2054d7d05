/*
 * flow.h — what `attune analyze attrition`, `attune analyze engagement` and
 * `attune report` share: a connection with every statement they use, the
 * JSON sections of the attrition flow and of engagement (built once, so a
 * number in the report is the number the command prints), and finishing a
 * run (compare with a recorded run, record, print).
 *
 * The sections are plumbing: they shape datasets/ records and call the pure
 * ana_* functions; the printing of tables is report/rep_render.h's, from the
 * same JSON.
 */
#ifndef ATTUNE_CLI_FLOW_H
#define ATTUNE_CLI_FLOW_H

#include <stdio.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "ana_corr.h"
#include "analyze_cmd.h"
#include "ds.h"
#include "ds_attrition.h"
#include "ds_engage.h"

/* getopt_long codes of the flow options, above analyze_cmd.h's (1100 ...). */
enum {
    CLI_OPT_ASOF = 1300,
    CLI_OPT_SESSION_CAP,
    CLI_OPT_METRIC,
    CLI_OPT_COVARIATE,
    CLI_OPT_SPEARMAN_SE,
    CLI_OPT_CLAIM,
    CLI_OPT_STYLESHEET,
    CLI_OPT_OUTPUT,
    CLI_OPT_NO_PARTICIPANTS,
};

/*
 * A connection with the statements of the analyses (cli_analyze_connect)
 * and of the attrition and engagement loaders. The caller PQfinish-es it.
 */
int cli_flow_connect(const struct cfg *cfg, PGconn **out, struct err *e);

/* Parses a week option (a whole number 0 .. 1000). Prints the error and returns -1. */
int cli_flow_week(const char *opt, const char *arg, int *out);

/* Parses --metric (an engagement measure). Prints the error and returns -1. */
int cli_flow_metric(const char *arg, enum ds_eng_metric *out);

/*
 * The attrition section (new reference): options-free, as the command and
 * the report print it: baseline and final week, asof, fingerprint, per arm
 * and in total the flow and the weeks, and "adds_up" checks.
 */
json_t *cli_attrition_json(const struct ds_attrition *a);

/* Engagement as a covariate of the mixed model. */
enum cli_eng_covariate {
    CLI_COV_NONE = 0,
    CLI_COV_TOTAL,  /* the participant's study total, and its interaction with week */
    CLI_COV_WEEKLY, /* the measure in the week before each score (0 at the first week) */
};

struct cli_engage_opts {
    double pre, post;              /* the change score's times */
    enum ds_population population; /* of the change score (default completers) */
    enum ds_eng_metric metric;     /* for tertiles and the covariate */
    enum cli_eng_covariate covariate;
    enum ana_spearman_se spearman_se;
    double level;
    int participants; /* list every participant's measures */
};

/*
 * The engagement section (new reference in *out): definitions (the session
 * rule and cap), session counts, per-participant measures (when asked),
 * summaries by week and arm, study totals by arm, correlations of every
 * measure with the change score (Pearson and Spearman with Fisher-z
 * intervals) overall and per arm, change by tertile of the chosen measure,
 * and, unless covariate is none, the mixed model with engagement (the
 * result document of cli_mixed_result under "mixed").
 */
int cli_engagement_json(const struct ds_long *d, const struct ds_engagement *g,
                        const struct cli_engage_opts *o, json_t **out, struct err *e);

/* A printer of a whole document in a format. */
typedef int (*cli_flow_printer)(FILE *f, json_t *doc, enum cli_format fmt);

/*
 * As cli_analyze_finish, with the document's own printer: compares with
 * `rerun` when given, records on `conn` when the input is a study, prints.
 */
int cli_flow_finish(PGconn *conn, const struct cli_run_info *info, json_t *doc, enum cli_format fmt,
                    cli_flow_printer print, const struct cli_rerun *rerun);

/*
 * The fingerprint of several inputs: the SHA-256 of their hex fingerprints
 * in order, NULL-terminated (hex, 65 bytes with the NUL).
 */
void cli_flow_fingerprint(const char *const *parts, char out[65]);

/* The subcommands (cmd_analyze_flow.c). */
int cli_analyze_attrition(int argc, char **argv, const struct cli_rerun *rerun);
int cli_analyze_engagement(int argc, char **argv, const struct cli_rerun *rerun);

/* A JSON number, or null when not finite. */
json_t *cli_jnum(double v);
json_t *cli_jci(double lo, double hi);

#endif
