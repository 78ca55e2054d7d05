/*
 * analyze_cmd.h — internals shared by the `attune analyze` subcommands
 * (cmd_analyze.c dispatches; analyze_prepost.c, analyze_reliability.c
 * implement them).
 *
 * A subcommand parses its options, loads its data, builds one JSON document
 * with cli_analyze_doc() and the ana_* results, and hands it to
 * cli_analyze_finish(), which compares it with a recorded run (--rerun),
 * records it (database input), and prints it. Its options are also kept as
 * a canonical argument list ("args"): the run is repeated by parsing exactly
 * those arguments again.
 */
#ifndef ATTUNE_CLI_ANALYZE_CMD_H
#define ATTUNE_CLI_ANALYZE_CMD_H

#include <jansson.h>
#include <libpq-fe.h>

#include "analyze.h"
#include "analyze_out.h"
#include "cfg.h"

/* getopt_long codes of the analysis options, after the shared CLI_OPT_*. */
enum {
    CLI_OPT_PRE = 1100,
    CLI_OPT_POST,
    CLI_OPT_POPULATION,
    CLI_OPT_IN_ARM,
    CLI_OPT_BY_ARM,
    CLI_OPT_LEVEL,
    CLI_OPT_RESAMPLES,
    CLI_OPT_SEED,
    CLI_OPT_NO_BOOTSTRAP,
    CLI_OPT_HEDGES_J,
    CLI_OPT_RESPONDER_PCT,
    CLI_OPT_REMISSION_BELOW,
    CLI_OPT_MCID,
    CLI_OPT_RELIABILITY,
    CLI_OPT_NORM_MEAN,
    CLI_OPT_NORM_SD,
    CLI_OPT_CLINICAL_MEAN,
    CLI_OPT_CLINICAL_SD,
    CLI_OPT_HIGHER_IS_BETTER,
    CLI_OPT_NO_INSTRUMENT_FACTS,
    CLI_OPT_ARM_REF,
    CLI_OPT_ARM_TEST,
    CLI_OPT_ITEMS,
    CLI_OPT_REVERSE,
    CLI_OPT_SCALE_MIN,
    CLI_OPT_SCALE_MAX,
    CLI_OPT_WEEK,
};

/* A recorded run being repeated (attune analyze --rerun ID). */
struct cli_rerun {
    const char *id;
    json_t *result;          /* the recorded result (borrowed) */
    const char *fingerprint; /* the recorded input fingerprint */
    int reproducible;        /* 0 once input data were erased */
};

/* One subcommand of `attune analyze`. */
typedef int (*cli_analyze_fn)(int argc, char **argv, const struct cli_rerun *rerun);

int cli_analyze_prepost(int argc, char **argv, const struct cli_rerun *rerun);
int cli_analyze_between(int argc, char **argv, const struct cli_rerun *rerun);
int cli_analyze_reliability(int argc, char **argv, const struct cli_rerun *rerun);
int cli_analyze_mixed(int argc, char **argv, const struct cli_rerun *rerun);

/* What a finished run is recorded with. */
struct cli_run_info {
    const char *kind;
    const char *study;       /* NULL for CSV input: then nothing is recorded */
    json_t *options;         /* borrowed */
    const char *fingerprint; /* of the input */
    char *const *versions;
    size_t n_versions;
};

/*
 * Finishes a run whose document is `doc` (borrowed; "rerun" and "run_id"
 * are added to it): compares it with `rerun` when given, records it on
 * `conn` when not NULL, and prints it in `fmt`. Returns the exit status:
 * CLI_OK, or CLI_FAIL when recording or printing failed or a rerun's result
 * differs from the recorded one.
 */
int cli_analyze_finish(PGconn *conn, const struct cli_run_info *info, json_t *doc,
                       enum cli_format fmt, const struct cli_out_layout *layout,
                       const struct cli_rerun *rerun);

/*
 * The two halves of cli_analyze_finish() for a subcommand that prints in its
 * own way (mixed): settle compares with `rerun` and records, adding "rerun"
 * and "run_id" to `doc` (CLI_OK, or CLI_FAIL after printing the error);
 * verdict, after printing, says whether a rerun reproduced its result.
 */
int cli_analyze_settle(PGconn *conn, const struct cli_run_info *info, json_t *doc,
                       const struct cli_rerun *rerun, int *identical);
int cli_analyze_verdict(const struct cli_run_info *info, const struct cli_rerun *rerun,
                        int identical);

/*
 * The start of every document: kind, options, input. `options` is stolen.
 */
json_t *cli_analyze_doc(const char *kind, json_t *options, const char *source,
                        const char *fingerprint);

/* Opens a connection to the study database with every statement the analyze
 * commands use prepared (the caller PQfinish-es it). */
int cli_analyze_connect(const struct cfg *cfg, PGconn **out, struct err *e);

/*
 * Parses a number option with strtod and an end pointer; prints the error
 * and returns -1 when it is not a finite number within [lo, hi].
 */
int cli_analyze_number(const char *opt, const char *arg, double lo, double hi, double *out);

/* As cli_analyze_number, for a whole number (resamples, a seed, a week). */
int cli_analyze_whole(const char *opt, const char *arg, double lo, double hi, double *out);

/* Parses --population (completers, bocf, locf); prints the error and returns -1. */
int cli_analyze_population(const char *arg, enum ds_population *out);

/* Appends "--opt" and, when value is not NULL, its value to a canonical
 * argument list; cli_args_num formats a number so it parses back exactly. */
void cli_args_add(json_t *args, const char *opt, const char *value);
void cli_args_num(json_t *args, const char *opt, double value);

/* Prints an error record and returns CLI_FAIL. */
int cli_analyze_fail(const struct err *e);

#endif
