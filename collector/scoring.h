/*
 * scoring.h — the collector's one call into the instruments engine (ins.h):
 * check a set of answers against a definition, naming every problem, then
 * score it (missing-item rule, total, subscales, band, safety flags), in the
 * shape the responses table stores. Pure: no I/O, no database.
 */
#ifndef ATTUNE_COL_SCORING_H
#define ATTUNE_COL_SCORING_H

#include <stddef.h>

#include <jansson.h>

#include "ins.h"

struct col_scored {
    double values[INS_MAX_ITEMS]; /* per item of the definition; NAN = not answered */
    double total;                 /* NAN when voided or the definition has no total: store NULL */
    int voided;
    const char *severity; /* the total's band label (borrowed), or NULL */
    size_t answered, missing;
    int prorated;
    const char *flags[INS_MAX_FLAGS]; /* ids of the safety flags raised (borrowed) */
    size_t n_flags;
    json_t *subscales; /* {score id: value or null} for every score but the total; owned */
};

/*
 * Checks `answers` ({item id: number or null}) against `def`, appending one
 * {"pointer", "message", ...} per problem to `errors` with pointers under
 * `prefix` ("/answers"), and returns the number of problems. With none, it
 * scores and fills `out` (clear it with col_scored_clear()).
 */
size_t col_answers_score(const struct ins_definition *def, json_t *answers, const char *prefix,
                         json_t *errors, struct col_scored *out);

void col_scored_clear(struct col_scored *s);

/* Index of an item id in `def`, or -1. */
int col_item_index(const struct ins_definition *def, const char *item_id);

#endif
