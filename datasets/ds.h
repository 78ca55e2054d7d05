/*
 * ds.h — study data as the analysis sees it.
 *
 * The plumbing between where scores live (a long CSV file, or the study
 * database) and the pure statistics in analysis/: observations in long format
 * (one row per participant and time point), participants and arms interned
 * to small integers, a fingerprint of the exact input, and the shaping of
 * those rows into the arrays a statistic takes (pre/post pairs for a
 * population). Also records analysis runs for provenance.
 *
 * Nothing here computes a statistic; nothing in analysis/ reads a file.
 */
#ifndef ATTUNE_DS_H
#define ATTUNE_DS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "err.h"

enum {
    DS_EIO = -1,       /* the file cannot be read */
    DS_EFORMAT = -2,   /* a bad row or column; the message starts "file:line:" */
    DS_EEMPTY = -3,    /* nothing to analyse */
    DS_ENOTFOUND = -4, /* no such study, instrument or run */
    DS_EDB = -5,       /* the database failed; e->code may hold the db_status instead */
    DS_ENOMEM = -6,
};

/* Largest number of observations one data set may hold. */
#define DS_MAX_ROWS 50000000u

/* Participant status in the study database (CSV data: DS_STATUS_UNKNOWN). */
enum ds_status {
    DS_STATUS_UNKNOWN = 0,
    DS_STATUS_ACTIVE,
    DS_STATUS_WITHDRAWN,
    DS_STATUS_COMPLETED,
};

struct ds_long {
    size_t n;          /* observations with a score */
    uint32_t *subject; /* [n] index into subjects */
    double *time;      /* [n] time point (study week) */
    double *score;     /* [n] */

    size_t n_subjects;              /* every participant seen, with or without scores */
    char **subjects;                /* [n_subjects] ids / codes, in first-seen order */
    int32_t *subject_arm;           /* [n_subjects] index into arms, -1 without arms */
    enum ds_status *subject_status; /* [n_subjects] */

    size_t n_arms; /* 0 when there is no arm column */
    char **arms;   /* [n_arms] in first-seen order */

    size_t n_missing;     /* rows or responses whose score was empty, NA or voided */
    size_t n_versions;    /* instrument versions seen (database only) */
    char **versions;      /* [n_versions] "gad7@1" */
    char source[512];     /* "csv:/path/file.csv" or "study:demo/gad7" */
    char fingerprint[65]; /* hex SHA-256 of the canonical observations */
};

/* Column names of a long CSV file. `arm` may be NULL. */
struct ds_csv_columns {
    const char *id;
    const char *time;
    const char *score;
    const char *arm;
};

/*
 * Reads a long CSV file (header row; comma-separated; RFC 4180 quoting) with
 * libcsv. An empty score or "NA" is a missing observation, counted in
 * n_missing. Any other problem — a missing column, a non-numeric time or
 * score, a participant in two arms, two scores for one participant and time,
 * a malformed line — fails with DS_EFORMAT and a message "file:line: ...",
 * and nothing is returned: no statistic is ever computed from part of a file.
 * *out is the caller's, freed by ds_long_free().
 */
int ds_load_csv(const char *path, const struct ds_csv_columns *cols, struct ds_long **out,
                struct err *e);

/*
 * Reads one instrument's total scores of one study from the database: every
 * participant of the study (so that those without scores still count), their
 * arm and status, and each response's study week and total score (a voided
 * response counts as missing). The statements come from ds_statements, which
 * must be prepared on `conn` (db_prepare). DS_ENOTFOUND when the study does
 * not exist.
 */
int ds_load_study(PGconn *conn, const char *study, const char *instrument, struct ds_long **out,
                  struct err *e);

/* Frees a data set. NULL-safe. */
void ds_long_free(struct ds_long *d);

/* The arm index of a name, or -1. */
int ds_arm_index(const struct ds_long *d, const char *arm);

/*
 * How many arms have at least one score (a mixed model puts the arm in only
 * when two or more do).
 */
size_t ds_arms_with_scores(const struct ds_long *d);

/*
 * Who counts in a pre/post analysis:
 * - DS_COMPLETERS: participants with a score at both times.
 * - DS_BOCF: everyone with a baseline; a missing follow-up is the baseline
 *   (baseline observation carried forward: no change).
 * - DS_LOCF: everyone with a baseline; a missing follow-up is the last score
 *   observed after the baseline and before the follow-up time (or the
 *   baseline when there is none).
 */
enum ds_population {
    DS_COMPLETERS = 0,
    DS_BOCF,
    DS_LOCF,
};

struct ds_pairs {
    size_t n;          /* pairs */
    double *pre;       /* [n] */
    double *post;      /* [n] */
    uint32_t *subject; /* [n] index into the data set's subjects */
    int32_t *arm;      /* [n] arm index, -1 without arms */
    uint8_t *imputed;  /* [n] 1 when post was carried forward */
    /* Why the other participants (of the selected arm) are not in: */
    size_t n_considered;  /* participants of the selected arm(s) */
    size_t n_no_baseline; /* no score at the pre time */
    size_t n_no_followup; /* baseline but no score at the post time (completers only) */
    size_t n_imputed;     /* follow-ups carried forward (BOCF / LOCF) */
};

/*
 * Builds pre/post pairs for the participants of `arm` (-1 for all) at times
 * `t_pre` and `t_post`. Participants are in first-seen order. *out is
 * filled even when it holds no pair (n = 0); free with ds_pairs_free().
 */
int ds_pair(const struct ds_long *d, double t_pre, double t_post, int arm,
            enum ds_population population, struct ds_pairs *out, struct err *e);

void ds_pairs_free(struct ds_pairs *p);

/* "completers", "bocf", "locf"; and back. */
const char *ds_population_name(enum ds_population p);
int ds_population_parse(const char *name, enum ds_population *out);

/* ---- analysis runs (provenance) ---- */

struct ds_run {
    const char *study;       /* NULL for CSV input */
    const char *kind;        /* "prepost", "between", "mixed", ... */
    json_t *options;         /* borrowed: everything needed to repeat the run */
    const char *fingerprint; /* of the input */
    char *const *versions;   /* instrument versions used */
    size_t n_versions;
    json_t *result;         /* borrowed */
    const char *created_by; /* may be NULL */
};

/*
 * Inserts a row into analysis_runs and writes its id (a uuid, 36 characters
 * and NUL) into run_id.
 */
int ds_run_record(PGconn *conn, const struct ds_run *run, char run_id[37], struct err *e);

/*
 * Reads a recorded run. *options and *result are new references, *kind,
 * *study (NULL for none) and *fingerprint malloc'd strings: all the caller's.
 * DS_ENOTFOUND when there is no such run.
 */
int ds_run_fetch(PGconn *conn, const char *run_id, char **kind, char **study, char **fingerprint,
                 json_t **options, json_t **result, int *reproducible, struct err *e);

/* The named statements ds_load_study and the run functions use. */
extern const struct db_statement ds_statements[];

#endif
