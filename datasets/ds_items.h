/*
 * ds_items.h — item answers as the reliability analysis sees them: one row
 * per respondent (or response), one column per item, from a wide CSV file
 * or from a study's response_items.
 *
 * Like ds.h, nothing here computes a statistic; the rows go to
 * ana_cronbach_alpha() (analysis/ana_alpha.h).
 */
#ifndef ATTUNE_DS_ITEMS_H
#define ATTUNE_DS_ITEMS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"
#include "ds.h"
#include "err.h"

/* Most items one analysis takes (as ANA_ALPHA_MAX_ITEMS). */
#define DS_MAX_ITEMS 500

struct ds_items {
    size_t n;          /* rows */
    size_t k;          /* items */
    char **items;      /* [k] item names, in the order asked for */
    char **ids;        /* [n] respondent id (the row number as text without an id column) */
    double *x;         /* [n * k] row-major; NaN = not answered */
    size_t n_missing;  /* cells not answered (empty, NA, or no row in response_items) */
    size_t n_versions; /* instrument versions seen (database only) */
    char **versions;
    char source[512];     /* "csv:/path/file.csv" or "study:demo/gad7@week0" */
    char fingerprint[65]; /* hex SHA-256 of the canonical rows, independent of row order */
};

/*
 * Reads a wide CSV file (header row, RFC 4180) with libcsv: the columns
 * `items[0..k-1]` and, when id_column is not NULL, the respondent id. An
 * empty cell or "NA" is a missing answer. A missing column, a non-numeric
 * answer or a malformed line fails with DS_EFORMAT and "file:line: ...", and
 * nothing is returned. *out is the caller's (ds_items_free).
 */
int ds_load_items_csv(const char *path, const char *id_column, const char *const *items, size_t k,
                      struct ds_items **out, struct err *e);

/*
 * Reads the item answers of one instrument at one study week from
 * response_items: one row per response. `items` (k of them) picks and orders
 * the items; with items == NULL every item seen is used, sorted by name.
 * The statements come from ds_item_statements, which must be prepared on
 * `conn`. DS_ENOTFOUND when the study does not exist; DS_EEMPTY when no
 * response has item answers.
 */
int ds_load_study_items(PGconn *conn, const char *study, const char *instrument, int week,
                        const char *const *items, size_t k, struct ds_items **out, struct err *e);

void ds_items_free(struct ds_items *d);

extern const struct db_statement ds_item_statements[];

#endif
