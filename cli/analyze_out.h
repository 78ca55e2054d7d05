/*
 * analyze_out.h — how `attune analyze` prints a result.
 *
 * Every analysis first builds one JSON document (the single source of
 * truth, the one stored with the run); the table and CSV forms are rendered
 * from it by a table of rows per kind, so the three formats can never
 * disagree. A document holds:
 *
 *   kind, options (with "args", the canonical command line), input
 *   (source, fingerprint, ...), population, the statistics of the main
 *   group at top level, "unavailable" {key: why}, and optionally "by_arm"
 *   {arm: group}, "run_id" and "rerun".
 */
#ifndef ATTUNE_CLI_ANALYZE_OUT_H
#define ATTUNE_CLI_ANALYZE_OUT_H

#include <stdio.h>

#include <jansson.h>

#include "analyze.h"

/* One printed statistic. Paths are dotted JSON paths within a group. */
struct cli_out_row {
    const char *name;  /* CSV name: the JSON path of the value */
    const char *label; /* the table's words */
    const char *value; /* path of the number */
    const char *ci;    /* path of a [low, high] array, or NULL */
    char fmt;          /* 'n' a count, 'f' 4 decimals, 'p' a p-value, 'g' 6 digits */
};

struct cli_out_layout {
    const char *title;
    const struct cli_out_row *rows;
    size_t n_rows;
};

/*
 * Writes a document as JSON, as every command prints one: indented, each
 * double with 17 significant digits (it reads back as the same number), and
 * a line end. Returns 0, or -1 when writing failed.
 */
int cli_out_json(FILE *f, json_t *doc);

/* Writes the document in the format. Returns 0, or -1 when writing failed. */
int cli_out_print(FILE *f, json_t *doc, enum cli_format fmt, const struct cli_out_layout *layout);

/* The number at a dotted path ("d_z.ci95.0"), or NULL when absent or null. */
json_t *cli_out_get(json_t *root, const char *path);

#endif
