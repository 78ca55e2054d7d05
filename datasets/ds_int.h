/*
 * ds_int.h — internals shared by the data-set loaders: a builder that interns
 * participant and arm names and appends observations, then checks and
 * fingerprints the result; and the CSV reader both file loaders use.
 */
#ifndef ATTUNE_DS_INT_H
#define ATTUNE_DS_INT_H

#include <sodium.h>

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

/* ---- shared by the database loaders (ds_study.c) ---- */

/*
 * Adds "instrument@version" to a data set's list of instrument versions
 * (`versions`, `n` of them) unless it is there already.
 */
int ds_versions_add(char ***versions, size_t *n, const char *instrument, const char *version,
                    struct err *e);

/* Adds a text and its terminating NUL to a fingerprint, so that "ab","c" and "a","bc" differ. */
void ds_hash_text(crypto_hash_sha256_state *st, const char *s);

/* The index of a participant id in `ids` (n of them, ascending), or -1. */
long ds_find_id(const long long *ids, size_t n, long long id);

/* ---- the CSV reader (ds_csv_read.c) ---- */

/*
 * What the long loader (ds_csv.c) and the wide item loader (ds_items.c)
 * share: libcsv fed one physical line at a time so that every record's line
 * number is known; the caps (a cell of at most 4096 bytes without a NUL, at
 * most 1000 columns); the header row, a UTF-8 byte-order mark dropped; and
 * every refusal as DS_EFORMAT "file:line: ...". A loader keeps what it needs
 * of each record and decides what a record means.
 */
struct ds_csv_reader;

/*
 * A loader's callbacks, each with the `ctx` given to ds_csv_read(). Each
 * returns 0 or an error code (with `e` filled, usually by ds_csv_fail());
 * the first error stops the reading.
 */
struct ds_csv_handler {
    /* The header row has been read: look the columns up with ds_csv_column(). */
    int (*header)(struct ds_csv_reader *r, void *ctx);
    /* One cell of a data record, in column `col`: `len` bytes, NUL-terminated. */
    int (*cell)(struct ds_csv_reader *r, size_t col, const char *text, size_t len, void *ctx);
    /*
     * The end of a data record of `fields` cells, the first of them
     * `first_len` bytes long (a blank line is one empty cell).
     */
    int (*record)(struct ds_csv_reader *r, size_t fields, size_t first_len, void *ctx);
};

/*
 * Reads the CSV file at `path` through `h`. Returns 0, DS_EIO (the file
 * cannot be opened or read), DS_ENOMEM, or the first error the file or a
 * callback met. An empty file is 0 without a call of `header`.
 */
int ds_csv_read(const char *path, const struct ds_csv_handler *h, void *ctx, struct err *e);

/*
 * The index of the header's column `name` in *col; DS_EFORMAT "no column"
 * with the header's names in the detail when it has none.
 */
int ds_csv_column(struct ds_csv_reader *r, const char *name, int *col);

/*
 * Fails the reading with "file:line: message" (the record's first line).
 * Returns `code`, or the error the reading already failed with.
 */
__attribute__((format(printf, 3, 4))) int ds_csv_fail(struct ds_csv_reader *r, int code,
                                                      const char *fmt, ...);

/* The line the current record starts on. */
uint32_t ds_csv_line(const struct ds_csv_reader *r);

/* The number of columns in the header. */
size_t ds_csv_width(const struct ds_csv_reader *r);

/* strtod that accepts only a whole finite number, spaces around it allowed (C locale). */
int ds_csv_number(const char *text, double *out);

#endif
