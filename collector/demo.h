/*
 * demo.h — the synthetic demo study (demo.c; parameters in docs/demo.md).
 */
#ifndef ATTUNE_COL_DEMO_H
#define ATTUNE_COL_DEMO_H

#include <stdint.h>

#include <libpq-fe.h>

#include "cfg.h"
#include "db.h"
#include "err.h"

struct col_demo_options {
    unsigned long seed;
    long participants;
    int64_t start;                 /* first possible enrolment, microseconds since the epoch */
    int enrol_days;                /* enrolments spread over this many days */
    int progress;                  /* print progress to stderr */
    const struct audit_entry *who; /* audits study.create (may be NULL) */
};

struct audit_entry;

struct col_demo_summary {
    int existed; /* the study was there already: nothing done */
    long long participants, withdrawn;
    long long responses, response_retries, skipped;
    long long events, event_duplicates;
    long long event_batches, event_batches_retried;       /* batches that stored / skipped events */
    long long completed, late, missed, not_due_withdrawn; /* from participant_schedule */
};

/* The demo's own statements (participants with fixed codes, partitions). */
extern const struct db_statement col_demo_statements[];

/*
 * Creates study "demo" from data_dir/studies/demo.json and fills it. Does
 * nothing (summary->existed = 1) when the study exists. `conn` must have the
 * collector's and the demo's statements prepared.
 */
int col_demo_run(PGconn *conn, const struct cfg *cfg, const struct col_demo_options *o,
                 struct col_demo_summary *summary, struct err *e);

#endif
