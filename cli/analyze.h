/*
 * analyze.h — what every `attune analyze <kind>` command shares: where the
 * data come from (a long CSV file, or a study in the database), the output
 * format, and recording the run.
 *
 * A command lists CLI_DATA_OPTIONS in its getopt_long table, passes each
 * option it does not know itself to cli_data_option(), then calls
 * cli_data_load() to get a struct ds_long (and, for a study, an open
 * connection to record the run on).
 */
#ifndef ATTUNE_CLI_ANALYZE_H
#define ATTUNE_CLI_ANALYZE_H

#include <getopt.h>

#include <libpq-fe.h>

#include "cfg.h"
#include "ds.h"
#include "err.h"

enum cli_format {
    CLI_FORMAT_TABLE = 0, /* aligned, for people (default) */
    CLI_FORMAT_JSON,
    CLI_FORMAT_CSV,
};

/* getopt_long codes of the shared options (above any short option). */
enum {
    CLI_OPT_CSV = 1000,
    CLI_OPT_ID,
    CLI_OPT_TIME,
    CLI_OPT_SCORE,
    CLI_OPT_ARM,
    CLI_OPT_STUDY,
    CLI_OPT_INSTRUMENT,
    CLI_OPT_FORMAT,
};

#define CLI_DATA_OPTIONS                                                                           \
    {"csv", required_argument, NULL, CLI_OPT_CSV}, {"id", required_argument, NULL, CLI_OPT_ID},    \
        {"time", required_argument, NULL, CLI_OPT_TIME},                                           \
        {"score", required_argument, NULL, CLI_OPT_SCORE},                                         \
        {"arm", required_argument, NULL, CLI_OPT_ARM},                                             \
        {"study", required_argument, NULL, CLI_OPT_STUDY},                                         \
        {"instrument", required_argument, NULL, CLI_OPT_INSTRUMENT},                               \
    {                                                                                              \
        "format", required_argument, NULL, CLI_OPT_FORMAT                                          \
    }

/* Usage lines for the shared options, to append to a command's usage text. */
#define CLI_DATA_USAGE                                                                             \
    "Data (one of):\n"                                                                             \
    "  --study S --instrument I   total scores of instrument I in study S (the database)\n"        \
    "  --csv FILE --id COL --time COL --score COL [--arm COL]\n"                                   \
    "                             a long CSV file, one row per participant and time;\n"            \
    "                             an empty or NA score is missing\n"                               \
    "Output:\n"                                                                                    \
    "  --format table|json|csv    default table\n"

struct cli_data_source {
    const char *csv;
    struct ds_csv_columns columns; /* arm may stay NULL */
    const char *study;
    const char *instrument;
    enum cli_format format;
};

/*
 * Handles one shared option. Returns 1 when `opt` was one of them, 0 when it
 * is not, or -1 (after printing the error) when its value is invalid.
 */
int cli_data_option(int opt, const char *arg, struct cli_data_source *src);

/*
 * Checks that exactly one source is complete, then loads it. For a study it
 * resolves the database (starting the embedded cluster if needed), prepares
 * ds_statements, and returns the open connection in *conn (the caller's to
 * PQfinish; NULL for CSV input). Prints nothing; errors go to `e`.
 */
int cli_data_load(const struct cfg *cfg, const struct cli_data_source *src, struct ds_long **out,
                  PGconn **conn, struct err *e);

/*
 * Opens a connection to the study database (starting the embedded cluster
 * if needed) with the statement `tables` prepared. *out is the caller's to
 * PQfinish.
 */
int cli_data_connect(const struct cfg *cfg, const struct db_statement *const *tables, PGconn **out,
                     struct err *e);

/*
 * The options of a run as JSON (new reference): the source and columns, plus
 * whatever the command adds. Echoed in the output so a result says how it
 * was made, and stored with the run.
 */
json_t *cli_data_options_json(const struct cli_data_source *src);

/* ---- attune analyze mixed (cmd_analyze_mixed.c) ---- */

#include "ana_lmm.h"

/* The options of a mixed model, as the command line gives them. */
struct cli_mixed_options {
    enum ana_lmm_random random; /* default: slope */
    enum ana_lmm_method method; /* default: REML */
    int interaction;
    int time_categorical;
    const char *arm_ref; /* NULL: the first arm in C-locale order */
    int has_pre, has_post;
    double pre, post; /* default: the first and last observed times */
    int with_arm;     /* put the arm in the model (when the data have arms) */
    /* Extra numeric fixed effects (engagement, say), one value per observation of the data set. */
    size_t n_covariates;
    const struct ana_lmm_covariate *covariates;
};

/* How terms and the formula are named: the CSV columns, or participant/week/arm and the instrument.
 */
struct cli_mixed_names {
    const char *id, *time, *score, *arm;
};

/* Handles one of the mixed-model options (codes above the shared ones); as cli_data_option. */
int cli_mixed_option(int opt, const char *arg, struct cli_mixed_options *o);

/* The mixed-model options as JSON (new reference), to echo and to record. */
json_t *cli_mixed_options_json(const struct cli_mixed_options *o);

/* Fits the model the options describe to a data set. *out is the caller's (ana_lmm_fit_free). */
int cli_mixed_fit(const struct ds_long *d, const struct cli_mixed_options *o,
                  const struct cli_mixed_names *names, struct ana_lmm_fit **out, struct err *e);

/*
 * The result document of a fit (new reference in *out): the keys of issue 6
 * (fixed, random, loglik, aic, bic, reml_criterion, deviance, n_obs,
 * n_groups, converged), the means at every observed time and the reduction
 * from pre to post for each arm, the data's source and fingerprint, and
 * `options` (borrowed, echoed). The report reuses it so that its numbers are
 * the command's.
 */
int cli_mixed_result(const struct ana_lmm_fit *f, const struct ds_long *d,
                     const struct cli_mixed_options *o, const struct cli_mixed_names *names,
                     json_t *options, json_t **out, struct err *e);

#endif
