/*
 * ds_int.h — internals shared by the data-set loaders: a builder that interns
 * participant and arm names and appends observations, then checks and
 * fingerprints the result.
 */
#ifndef ATTUNE_DS_INT_H
#define ATTUNE_DS_INT_H

#include "ds.h"

/* Open-addressing table from names to their index in a names array. */
struct ds_intern {
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t n_slots;  /* a power of two */
};

struct ds_builder {
    struct ds_long *d;
    struct ds_intern subjects;
    struct ds_intern arms;
    size_t cap_rows, cap_subjects, cap_arms;
    uint32_t *row_line;     /* [n] source line of each row (CSV), for messages */
    uint32_t *subject_line; /* [n_subjects] line where each participant was first seen */
    const char *file;       /* for messages; NULL for the database */
};

int ds_builder_init(struct ds_builder *b, const char *file, struct err *e);

/* Frees the builder and, unless taken with ds_builder_finish(), the data set. */
void ds_builder_free(struct ds_builder *b);

/*
 * The index of a participant, adding it when new. `arm` may be NULL (no arm
 * column). A participant seen before in another arm is DS_EFORMAT.
 */
int ds_builder_subject(struct ds_builder *b, const char *id, const char *arm, uint32_t line,
                       uint32_t *out, struct err *e);

/* The index of a known participant, or DS_ENOTFOUND. */
int ds_builder_find(struct ds_builder *b, const char *id, uint32_t *out);

/* Appends one observation. */
int ds_builder_row(struct ds_builder *b, uint32_t subject, double time, double score, uint32_t line,
                   struct err *e);

/*
 * Checks for two scores of one participant at one time, fingerprints the
 * data, and hands the data set over (*out), leaving the builder empty.
 */
int ds_builder_finish(struct ds_builder *b, struct ds_long **out, struct err *e);

#endif
