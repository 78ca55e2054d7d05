/*
 * ds_attrition.h — the flow of participants through a study for one
 * instrument (a CONSORT-style diagram, Schulz, Altman & Moher 2010, BMJ
 * 340:c332), by arm and study week, from the collector's derived
 * questionnaire statuses (attune_schedule_status, sql/004_collector.sql):
 * never guessed from absent rows.
 *
 * Per arm:
 *   enrolled = baseline_done + no_baseline
 *   baseline_done = completers + not_final_withdrawn + not_final_missed
 *                   + not_final_void + not_final_pending
 * where baseline_done means a scored answer at the baseline week, and
 * completers a scored answer at both the baseline and the final week: the
 * same participants as the completers population of ds_pair, and
 * baseline_done the same as its BOCF and LOCF populations. Per week: every
 * scheduled questionnaire by status (completed on time, late, missed, open,
 * upcoming, no longer due after a withdrawal), and how many answers have a
 * score or were voided by the instrument's missing-item rule.
 */
#ifndef ATTUNE_DS_ATTRITION_H
#define ATTUNE_DS_ATTRITION_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "db.h"
#include "ds.h"
#include "err.h"

/* The derived statuses, as attune_schedule_status() names them. */
enum ds_sched_status {
    DS_SCHED_COMPLETED = 0, /* answered inside its window */
    DS_SCHED_LATE,          /* answered after its window */
    DS_SCHED_MISSED,        /* the window closed without an answer */
    DS_SCHED_OPEN,          /* the window is open, no answer yet */
    DS_SCHED_UPCOMING,      /* the window has not opened */
    DS_SCHED_WITHDRAWN,     /* the participant withdrew before the window closed */
    DS_SCHED_COUNT,
};

/* "completed", "late", ...; and back (-1 for an unknown name). */
const char *ds_sched_status_name(enum ds_sched_status s);
int ds_sched_status_parse(const char *name, enum ds_sched_status *out);

struct ds_attrition_week {
    int week;
    size_t status[DS_SCHED_COUNT];
    size_t scored;   /* answered (completed or late) with a score */
    size_t voided;   /* answered, but the missing-item rule voided the score */
    size_t withdrew; /* participants whose withdrawal fell in this study week */
};

struct ds_attrition_flow {
    size_t enrolled;
    size_t baseline_done; /* a scored answer at the baseline week */
    size_t no_baseline;   /* of which answered_void_baseline answered but were voided */
    size_t no_baseline_void;
    size_t completers;             /* scored at baseline and at the final week */
    size_t not_final_withdrawn;    /* baseline done; withdrew before the final window closed */
    size_t not_final_missed;       /* baseline done; the final questionnaire was missed */
    size_t not_final_void;         /* baseline done; answered the final one, but voided */
    size_t not_final_pending;      /* baseline done; the final window is open or upcoming */
    size_t final_without_baseline; /* scored at the final week without a baseline score */
    size_t withdrawn;              /* formally withdrawn, at any time */
};

struct ds_attrition_arm {
    char *arm;
    struct ds_attrition_flow flow;
    struct ds_attrition_week *weeks; /* [n_weeks] */
};

struct ds_attrition {
    size_t n_weeks;
    int *weeks; /* [n_weeks] the instrument's scheduled weeks, ascending */
    int baseline_week, final_week;
    size_t n_arms;
    struct ds_attrition_arm *arms; /* [n_arms] in the order of the study's arms */
    struct ds_attrition_arm total; /* every arm together (arm "all") */
    char asof[64];                 /* when the statuses were judged */
    char fingerprint[65];          /* SHA-256 of the rows the flow was built from */
};

/* ---- the pure part: the flow from status rows ---- */

/* One participant as the flow needs them. */
struct ds_attrition_participant {
    int32_t arm;           /* index into the arm names */
    int withdrawn;         /* formally withdrawn */
    int32_t withdrew_week; /* the study week of the withdrawal (when withdrawn) */
};

/* One scheduled questionnaire of one participant. */
struct ds_attrition_row {
    uint32_t participant; /* index into the participants */
    int32_t week;
    enum ds_sched_status status;
    int scored; /* answered with a score (only for completed and late) */
};

/*
 * Builds the flow. `weeks` are the scheduled weeks (ascending, at least
 * one); baseline and final are weeks among them. Rows of weeks not in
 * `weeks` are an error (DS_EFORMAT), as is a participant with two rows for
 * one week. *out is the caller's (ds_attrition_free); asof and fingerprint
 * are left empty for the caller.
 */
int ds_attrition_build(const char *const *arms, size_t n_arms, const int *weeks, size_t n_weeks,
                       int baseline, int final, const struct ds_attrition_participant *p,
                       size_t n_participants, const struct ds_attrition_row *rows, size_t n_rows,
                       struct ds_attrition **out, struct err *e);

/* ---- the database ---- */

/*
 * The flow of `instrument` in `study` as of `asof` (RFC 3339; NULL for
 * now), from its baseline week (`baseline`, or NULL for the first scheduled
 * week) to its final week (`final` or NULL: the last). DS_ENOTFOUND for an
 * unknown study or an instrument it does not schedule, or a baseline or
 * final week it does not schedule. Needs ds_attrition_statements prepared.
 */
int ds_attrition_load(PGconn *conn, const char *study, const char *instrument, const char *asof,
                      const int *baseline, const int *final, struct ds_attrition **out,
                      struct err *e);

void ds_attrition_free(struct ds_attrition *a);

/* ---- baseline characteristics ---- */

/* How many participants of an arm had a score in a severity band at a week. */
struct ds_band_count {
    char *arm;
    char *band; /* the instrument's band label as stored with the response ("" when none) */
    size_t count;
};

struct ds_baseline {
    size_t n_instruments;
    char **instruments; /* [n_instruments] every instrument due at the week */
    size_t n_bands;
    struct ds_band_count *bands; /* every instrument's, in instrument order */
    size_t *band_instrument;     /* [n_bands] the index of the instrument of each */
};

/*
 * The instruments a study schedules at `week` (the baseline) and, for each,
 * the scored answers at that week by arm and severity band. The scores
 * themselves come from ds_load_study. *out is the caller's
 * (ds_baseline_free). Needs ds_attrition_statements prepared.
 */
int ds_baseline_load(PGconn *conn, const char *study, int week, struct ds_baseline **out,
                     struct err *e);

void ds_baseline_free(struct ds_baseline *b);

extern const struct db_statement ds_attrition_statements[];

#endif
