/*
 * report.h — building the claim report's document (report.c) for
 * `attune report` (cmd_report.c).
 *
 * The document is one JSON object: the flow of participants, the analysis
 * populations and how they add up with the flow, baseline characteristics
 * by arm, the headline reduction computed every defensible way (each row a
 * definition, a population and an arm, with n and a 95% CI), effect sizes,
 * engagement and outcome, the claim check when a claim is given, and the
 * provenance of every number. report/rep_render.h prints it; docs/report.md
 * describes every key.
 */
#ifndef ATTUNE_CLI_REPORT_H
#define ATTUNE_CLI_REPORT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "err.h"
#include "flow.h"

struct cli_report_opts {
    const char *study;
    const char *instrument;
    const char *asof;    /* NULL: now */
    const int *pre;      /* NULL: the instrument's first scheduled week */
    const int *post;     /* NULL: its last */
    const char *arm_ref; /* reference arm of comparisons; NULL: first in C-locale order */
    const char *claim;   /* NULL: no claim check */
    double level;        /* 0.95 */
    size_t resamples;    /* bootstrap of the group-mean reduction: 2000 */
    unsigned long seed;  /* 1 */
    double session_cap;  /* minutes: 60 */
    enum ds_eng_metric metric;
};

/* Sets the defaults above. */
void cli_report_opts_init(struct cli_report_opts *o);

/*
 * Builds the report of a study on `conn` (cli_flow_connect) and records it
 * as an analysis run of kind "report" (its id in provenance.run_id). *doc
 * is the caller's. Errors: those of the loaders (an unknown study or
 * instrument, no scores), and the claim's (REP_EINVAL) before anything is
 * computed.
 */
int cli_report_build(PGconn *conn, const struct cfg *cfg, const struct cli_report_opts *o,
                     json_t **doc, struct err *e);

#endif
