/*
 * scoring.h — what the collector needs from an instrument definition:
 * answer validation that reports every problem, the missing-item rule,
 * scoring, the severity band and safety flags.
 *
 * This is the collector's seam to the instruments engine (issue 3, `ins_`).
 * While that engine was not yet on a branch the collector could merge, the
 * functions below were implemented here on a small definition format (see
 * docs/collector.md, "Instrument definitions"); every caller in the collector
 * goes through this header only, so switching the implementation to `ins_`
 * touches scoring.c alone. Pure: no I/O, no database.
 */
#ifndef ATTUNE_COL_SCORING_H
#define ATTUNE_COL_SCORING_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

enum {
    COL_DEF_EINVAL = -1, /* the definition is malformed */
    COL_DEF_ENOMEM = -2,
};

#define COL_DEF_MAX_ITEMS   200
#define COL_DEF_MAX_OPTIONS 20
#define COL_DEF_MAX_FLAGS   8

struct col_option {
    double value;
    char *label;
};

struct col_item {
    char *id;   /* stable item id, the FHIR linkId */
    char *text; /* NULL when the definition ships no text (licensed instruments) */
    char *loinc;
    struct col_option *options;
    size_t n_options;
};

struct col_band {
    double max; /* inclusive upper bound; bands ascend */
    char *label;
};

struct col_flag {
    char *id;
    size_t item; /* index into items */
    double min;  /* raised when the answer is >= min */
};

struct col_def {
    char *id;
    char *version;
    char *title;
    char *instructions;
    char *notice; /* copyright / licence notice */
    char *loinc;  /* panel code, or NULL */
    struct col_item *items;
    size_t n_items;
    int mean;           /* 1: mean of items; 0: sum */
    double multiplier;  /* e.g. 4 for WHO-5 */
    size_t max_missing; /* items that may be missing; more voids the form */
    int prorate;        /* missing items replaced by the mean of the answered */
    struct col_band *bands;
    size_t n_bands;
    struct col_flag *flags;
    size_t n_flags;
};

/*
 * Parses and validates a definition (borrowed `root`). *out is the caller's,
 * freed with col_def_free(). COL_DEF_EINVAL names the offending field.
 */
int col_def_parse(json_t *root, struct col_def **out, struct err *e);

void col_def_free(struct col_def *d);

/* 1 when every item has its text (the participant form can render it). */
int col_def_has_texts(const struct col_def *d);

/* Index of an item id, or -1. */
int col_def_item_index(const struct col_def *d, const char *item_id);

/*
 * Checks one set of answers, `answers` an object {item id: number}. Fills
 * values[n_items] (NAN for a missing item) and appends one
 * {"pointer", "message"} to `errors` (not NULL) per problem, under the JSON
 * pointer prefix `pointer` (e.g. "/answers"): an unknown item, a value that is
 * not a number, a value not among the options, more items missing than the
 * missing-item rule allows. Returns the number of problems found.
 */
size_t col_def_check(const struct col_def *d, json_t *answers, const char *pointer, double *values,
                     json_t *errors);

struct col_score {
    double total;         /* NAN when voided */
    int voided;           /* too many items missing */
    const char *severity; /* borrowed from the definition; NULL when voided */
    size_t answered, missing;
    int prorated;
    const char *flags[COL_DEF_MAX_FLAGS]; /* borrowed ids of the safety flags raised */
    size_t n_flags;
};

/* Scores checked values (NAN = missing). */
void col_def_score(const struct col_def *d, const double *values, struct col_score *out);

#endif
