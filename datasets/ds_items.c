/*
 * ds_items.c — item answers from a wide CSV file or from response_items
 * (see ds_items.h).
 *
 * The CSV file is read by ds_csv_read() (ds_int.h), as the long loader's
 * is, so both refuse a file in the same words and with its line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ds_int.h"
#include "ds_items.h"

#define DS_ITEMS_MAX_ROWS 10000000u

const struct db_statement ds_item_statements[] = {
    /* ds_load_study_items: does the study exist */
    {"ds_items_study_exists", "SELECT 1 FROM studies WHERE id = $1"},
    /* ds_load_study_items: every item answer of the instrument at the week,
     * one response after another */
    {"ds_items_answers",
     "SELECT r.id::text, p.code, ri.item_id, ri.value, r.instrument_version"
     " FROM responses r JOIN participants p ON p.id = r.participant_id"
     " JOIN response_items ri ON ri.response_id = r.id"
     " WHERE p.study_id = $1 AND r.instrument_id = $2 AND r.study_week = $3::integer"
     " ORDER BY p.code, r.id, ri.item_id"},
    {NULL, NULL},
};

void ds_items_free(struct ds_items *d)
{
    if (d == NULL)
        return;
    for (size_t j = 0; j < d->k; j++)
        free(d->items[j]);
    for (size_t i = 0; i < d->n; i++)
        free(d->ids[i]);
    for (size_t v = 0; v < d->n_versions; v++)
        free(d->versions[v]);
    free(d->items);
    free(d->ids);
    free(d->x);
    free(d->versions);
    free(d);
}

static struct ds_items *ds_items_new(const char *const *items, size_t k)
{
    struct ds_items *d = calloc(1, sizeof *d);

    if (d == NULL)
        return NULL;
    d->items = calloc(k ? k : 1, sizeof *d->items);
    if (d->items == NULL) {
        free(d);
        return NULL;
    }
    for (size_t j = 0; j < k; j++) {
        if ((d->items[j] = strdup(items[j])) == NULL) {
            d->k = j;
            ds_items_free(d);
            return NULL;
        }
    }
    d->k = k;
    return d;
}

/* Appends a row of k NaNs with the given id; returns its index or -1. */
static long ds_items_row(struct ds_items *d, size_t *cap, const char *id)
{
    if (d->n >= DS_ITEMS_MAX_ROWS)
        return -1;
    if (d->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        double *x = realloc(d->x, ncap * d->k * sizeof *x);
        char **ids;
        if (x == NULL)
            return -1;
        d->x = x;
        ids = realloc(d->ids, ncap * sizeof *ids);
        if (ids == NULL)
            return -1;
        d->ids = ids;
        *cap = ncap;
    }
    if ((d->ids[d->n] = strdup(id)) == NULL)
        return -1;
    for (size_t j = 0; j < d->k; j++)
        d->x[d->n * d->k + j] = NAN;
    return (long)d->n++;
}

/* qsort order of strings: the fingerprint's row lines, the item names of a study. */
static int ds_items_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "R\tid\tv1\t...\n" per row, sorted, so the hash does not depend on row order. */
static int ds_items_fingerprint(struct ds_items *d, struct err *e)
{
    crypto_hash_sha256_state st;
    unsigned char hash[crypto_hash_sha256_BYTES];
    char **lines = calloc(d->n ? d->n : 1, sizeof *lines);
    int rc = DS_ENOMEM;

    if (lines == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    crypto_hash_sha256_init(&st);
    for (size_t j = 0; j < d->k; j++) {
        crypto_hash_sha256_update(&st, (const unsigned char *)"I\t", 2);
        crypto_hash_sha256_update(&st, (const unsigned char *)d->items[j], strlen(d->items[j]));
        crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    }
    for (size_t i = 0; i < d->n; i++) {
        size_t len = strlen(d->ids[i]) + 4 + d->k * 26, used;
        if ((lines[i] = malloc(len)) == NULL) {
            err_set(e, DS_ENOMEM, "out of memory");
            goto out;
        }
        used = (size_t)snprintf(lines[i], len, "R\t%s", d->ids[i]);
        for (size_t j = 0; j < d->k; j++) {
            double v = d->x[i * d->k + j];
            used += (size_t)(isnan(v) ? snprintf(lines[i] + used, len - used, "\tNA")
                                      : snprintf(lines[i] + used, len - used, "\t%.17g", v));
        }
        snprintf(lines[i] + used, len - used, "\n");
    }
    qsort(lines, d->n, sizeof *lines, ds_items_cmp);
    for (size_t i = 0; i < d->n; i++)
        crypto_hash_sha256_update(&st, (const unsigned char *)lines[i], strlen(lines[i]));
    crypto_hash_sha256_final(&st, hash);
    sodium_bin2hex(d->fingerprint, sizeof d->fingerprint, hash, sizeof hash);
    rc = 0;
out:
    for (size_t i = 0; i < d->n; i++)
        free(lines[i]);
    free(lines);
    return rc;
}

/* ---- CSV ---- */

struct ds_items_csv {
    struct ds_items *d;
    const char *id_column;
    int col_id;  /* -1 without an id column */
    int *col_of; /* [k] column of each item */
    size_t cap;
    char *id;     /* the current record's id cell */
    char **cells; /* [k] the current record's item cells */
};

static int ds_items_header(struct ds_csv_reader *r, void *ctx)
{
    struct ds_items_csv *c = ctx;
    int rc;

    if (c->id_column != NULL && (rc = ds_csv_column(r, c->id_column, &c->col_id)) != 0)
        return rc;
    for (size_t j = 0; j < c->d->k; j++)
        if ((rc = ds_csv_column(r, c->d->items[j], &c->col_of[j])) != 0)
            return rc;
    return 0;
}

static int ds_items_cell(struct ds_csv_reader *r, size_t col, const char *text, size_t len,
                         void *ctx)
{
    struct ds_items_csv *c = ctx;

    (void)r;
    if ((int)col == c->col_id) {
        free(c->id);
        c->id = strndup(text, len);
    }
    for (size_t j = 0; j < c->d->k; j++) {
        if (c->col_of[j] == (int)col) {
            free(c->cells[j]);
            c->cells[j] = strndup(text, len);
        }
    }
    return 0;
}

/* One row: a respondent's answers, or the reason the file is refused. */
static int ds_items_row_csv(struct ds_csv_reader *r, struct ds_items_csv *c, size_t fields,
                            size_t first_len)
{
    char rowname[32];
    long row;

    /* A blank line is one empty field: skip it. */
    if (fields == 1 && first_len == 0 && ds_csv_width(r) > 1)
        return 0;
    for (size_t j = 0; j < c->d->k; j++)
        if (c->cells[j] == NULL)
            return ds_csv_fail(r, DS_EFORMAT, "the row has only %zu fields", fields);
    if (c->col_id >= 0 && (c->id == NULL || c->id[0] == '\0'))
        return ds_csv_fail(r, DS_EFORMAT, "empty respondent id in column \"%s\"", c->id_column);
    snprintf(rowname, sizeof rowname, "%zu", c->d->n + 1);
    row = ds_items_row(c->d, &c->cap, c->col_id >= 0 ? c->id : rowname);
    if (row < 0)
        return ds_csv_fail(r, DS_ENOMEM, "out of memory or more than %u rows", DS_ITEMS_MAX_ROWS);
    for (size_t j = 0; j < c->d->k; j++) {
        const char *cell = c->cells[j];
        double v;
        if (cell[0] == '\0' || strcmp(cell, "NA") == 0) {
            c->d->n_missing++;
            continue;
        }
        if (ds_csv_number(cell, &v) != 0)
            return ds_csv_fail(r, DS_EFORMAT, "answer \"%s\" in column \"%s\" is not a number",
                               cell, c->d->items[j]);
        c->d->x[(size_t)row * c->d->k + j] = v;
    }
    return 0;
}

static void ds_items_clear(struct ds_items_csv *c, size_t k)
{
    free(c->id);
    c->id = NULL;
    for (size_t j = 0; c->cells != NULL && j < k; j++) {
        free(c->cells[j]);
        c->cells[j] = NULL;
    }
}

static int ds_items_record(struct ds_csv_reader *r, size_t fields, size_t first_len, void *ctx)
{
    struct ds_items_csv *c = ctx;
    int rc = ds_items_row_csv(r, c, fields, first_len);

    ds_items_clear(c, c->d->k);
    return rc;
}

static const struct ds_csv_handler ds_items_wide = {ds_items_header, ds_items_cell,
                                                    ds_items_record};

int ds_load_items_csv(const char *path, const char *id_column, const char *const *items, size_t k,
                      struct ds_items **out, struct err *e)
{
    struct ds_items_csv c;
    int rc = DS_ENOMEM;

    if (k == 0 || k > DS_MAX_ITEMS)
        return err_set(e, DS_EFORMAT, "give between 1 and %d items", DS_MAX_ITEMS);
    memset(&c, 0, sizeof c);
    c.id_column = id_column;
    c.col_id = -1;
    c.d = ds_items_new(items, k);
    c.col_of = malloc(k * sizeof *c.col_of);
    c.cells = calloc(k, sizeof *c.cells);
    if (c.d == NULL || c.col_of == NULL || c.cells == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < k; j++)
        c.col_of[j] = -1;
    if ((rc = ds_csv_read(path, &ds_items_wide, &c, e)) != 0)
        goto out;
    if (c.d->n == 0) {
        rc = err_set(e, DS_EEMPTY, "%s: the file has no rows", path);
        goto out;
    }
    snprintf(c.d->source, sizeof c.d->source, "csv:%s", path);
    if ((rc = ds_items_fingerprint(c.d, e)) != 0)
        goto out;
    *out = c.d;
    c.d = NULL;
    rc = 0;
out:
    ds_items_clear(&c, k);
    free(c.cells);
    free(c.col_of);
    ds_items_free(c.d);
    return rc;
}

/* ---- the database ---- */

int ds_load_study_items(PGconn *conn, const char *study, const char *instrument, int week,
                        const char *const *items, size_t k, struct ds_items **out, struct err *e)
{
    char weekbuf[16];
    const char *params[3] = {study, instrument, weekbuf};
    const char **names = NULL;
    struct ds_items *d = NULL;
    PGresult *res = NULL;
    size_t n_names = 0, cap = 0;
    const char *last_response = NULL;
    long row = -1;
    int rows, rc = DS_ENOMEM;

    snprintf(weekbuf, sizeof weekbuf, "%d", week);
    rows = db_query(conn, "ds_items_study_exists", 1, params, NULL, e);
    if (rows < 0)
        return rows;
    if (rows == 0)
        return err_set(e, DS_ENOTFOUND, "no study \"%s\"", study);
    rows = db_query(conn, "ds_items_answers", 3, params, &res, e);
    if (rows < 0)
        return rows;
    if (rows == 0) {
        err_set(e, DS_EEMPTY, "no item answers for \"%s\" at week %d in study \"%s\"", instrument,
                week, study);
        rc = DS_EEMPTY;
        goto out;
    }
    if (items == NULL) {
        /* Every item seen, by name: the instrument definition's order would
         * be better, and the caller passes it when it has one. */
        names = malloc((size_t)rows * sizeof *names);
        if (names == NULL) {
            err_set(e, DS_ENOMEM, "out of memory");
            goto out;
        }
        for (int r = 0; r < rows; r++)
            names[r] = PQgetvalue(res, r, 2);
        qsort(names, (size_t)rows, sizeof *names, ds_items_cmp);
        for (int r = 0; r < rows; r++)
            if (n_names == 0 || strcmp(names[n_names - 1], names[r]) != 0)
                names[n_names++] = names[r];
        if (n_names > DS_MAX_ITEMS) {
            rc = err_set(e, DS_EFORMAT, "more than %d items", DS_MAX_ITEMS);
            goto out;
        }
        items = names;
        k = n_names;
    }
    if (k == 0 || k > DS_MAX_ITEMS) {
        rc = err_set(e, DS_EFORMAT, "give between 1 and %d items", DS_MAX_ITEMS);
        goto out;
    }
    if ((d = ds_items_new(items, k)) == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    for (int r = 0; r < rows; r++) {
        const char *response = PQgetvalue(res, r, 0), *item = PQgetvalue(res, r, 2);
        if (last_response == NULL || strcmp(last_response, response) != 0) {
            char id[160];
            /* A participant answers an instrument once per week, so the code
             * names the row. */
            snprintf(id, sizeof id, "%s", PQgetvalue(res, r, 1));
            if ((row = ds_items_row(d, &cap, id)) < 0) {
                err_set(e, DS_ENOMEM, "out of memory");
                goto out;
            }
            last_response = response;
            if ((rc = ds_versions_add(&d->versions, &d->n_versions, instrument,
                                      PQgetvalue(res, r, 4), e)) != 0)
                goto out;
            rc = DS_ENOMEM;
        }
        for (size_t j = 0; j < k; j++) {
            if (strcmp(d->items[j], item) == 0) {
                d->x[(size_t)row * k + j] = strtod(PQgetvalue(res, r, 3), NULL);
                break;
            }
        }
    }
    for (size_t i = 0; i < d->n * k; i++)
        d->n_missing += isnan(d->x[i]);
    snprintf(d->source, sizeof d->source, "study:%s/%s@week%d", study, instrument, week);
    if ((rc = ds_items_fingerprint(d, e)) != 0)
        goto out;
    *out = d;
    d = NULL;
    rc = 0;
out:
    ds_items_free(d);
    free(names);
    PQclear(res);
    return rc;
}
