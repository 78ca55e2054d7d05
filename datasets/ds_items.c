/*
 * ds_items.c — item answers from a wide CSV file or from response_items
 * (see ds_items.h).
 *
 * The CSV file is fed to libcsv one physical line at a time, as in
 * ds_csv.c, so every record's line number is known for messages.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <sodium.h>

#include "ds_items.h"

#define DS_ITEMS_MAX_FIELD   4096
#define DS_ITEMS_MAX_COLUMNS 1000
#define DS_ITEMS_MAX_ROWS    10000000u

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

/* "R\tid\tv1\t...\n" per row, sorted, so the hash does not depend on row order. */
static int ds_items_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

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

/* strtod that accepts only a whole finite number (C locale). */
static int ds_items_number(const char *text, double *out)
{
    char *end;
    double v;

    while (*text == ' ')
        text++;
    errno = 0;
    v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* ---- CSV ---- */

struct ds_items_csv {
    struct ds_items *d;
    const char *path;
    const char *id_column;
    struct err *e;
    int rc;
    uint32_t line, record_line;
    int header_done;
    size_t field;
    char *header[DS_ITEMS_MAX_COLUMNS];
    size_t n_header;
    int too_wide;
    size_t first_len; /* length of the record's first cell: a blank line is one empty cell */
    int col_id;       /* -1 without an id column */
    int *col_of;      /* [k] column of each item */
    size_t cap;
    char *id;     /* the current record's id cell */
    char **cells; /* [k] the current record's item cells */
};

__attribute__((format(printf, 3, 4))) static void ds_items_fail(struct ds_items_csv *c, int code,
                                                                const char *fmt, ...)
{
    char msg[ERR_MESSAGE_MAX];
    va_list ap;

    if (c->rc != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->rc = err_set(c->e, code, "%s:%u: %s", c->path, c->record_line, msg);
}

static void ds_items_cell(void *data, size_t len, void *ctx)
{
    struct ds_items_csv *c = ctx;
    size_t f = c->field++;
    const char *text = data ? data : "";

    if (c->rc != 0)
        return;
    if (len > DS_ITEMS_MAX_FIELD) {
        ds_items_fail(c, DS_EFORMAT, "a cell is longer than 4096 bytes");
        return;
    }
    if (memchr(text, '\0', len) != NULL) {
        ds_items_fail(c, DS_EFORMAT, "a cell contains a NUL byte");
        return;
    }
    if (f == 0)
        c->first_len = len;
    if (!c->header_done) {
        if (c->n_header >= DS_ITEMS_MAX_COLUMNS) {
            c->too_wide = 1;
            return;
        }
        if (f == 0 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
            text += 3;
            len -= 3;
        }
        c->header[c->n_header++] = strndup(text, len);
        return;
    }
    if ((int)f == c->col_id) {
        free(c->id);
        c->id = strndup(text, len);
    }
    for (size_t j = 0; j < c->d->k; j++) {
        if (c->col_of[j] == (int)f) {
            free(c->cells[j]);
            c->cells[j] = strndup(text, len);
        }
    }
}

static int ds_items_column(struct ds_items_csv *c, const char *name)
{
    for (size_t i = 0; i < c->n_header; i++)
        if (c->header[i] != NULL && strcmp(c->header[i], name) == 0)
            return (int)i;
    return -1;
}

static void ds_items_missing_column(struct ds_items_csv *c, const char *name)
{
    char list[512] = "";
    size_t used = 0;

    for (size_t i = 0; i < c->n_header && used < sizeof list - 1; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "",
                                 c->header[i] ? c->header[i] : "");
    ds_items_fail(c, DS_EFORMAT, "no column \"%s\"", name);
    err_detail(c->e, "The header has %s.", list[0] ? list : "no columns");
}

static void ds_items_header_done(struct ds_items_csv *c)
{
    c->header_done = 1;
    if (c->too_wide) {
        ds_items_fail(c, DS_EFORMAT, "more than 1000 columns");
        return;
    }
    if (c->id_column != NULL && (c->col_id = ds_items_column(c, c->id_column)) < 0) {
        ds_items_missing_column(c, c->id_column);
        return;
    }
    for (size_t j = 0; j < c->d->k; j++) {
        if ((c->col_of[j] = ds_items_column(c, c->d->items[j])) < 0) {
            ds_items_missing_column(c, c->d->items[j]);
            return;
        }
    }
}

static void ds_items_record(int term, void *ctx)
{
    struct ds_items_csv *c = ctx;
    char rowname[32];
    long row;

    (void)term;
    if (c->rc == 0 && !c->header_done) {
        ds_items_header_done(c);
        goto next;
    }
    if (c->rc != 0)
        goto next;
    /* A blank line is one empty field: skip it. */
    if (c->field == 1 && c->first_len == 0 && c->n_header > 1)
        goto next;
    for (size_t j = 0; j < c->d->k; j++) {
        if (c->cells[j] == NULL) {
            ds_items_fail(c, DS_EFORMAT, "the row has only %zu fields", c->field);
            goto next;
        }
    }
    if (c->col_id >= 0 && (c->id == NULL || c->id[0] == '\0')) {
        ds_items_fail(c, DS_EFORMAT, "empty respondent id in column \"%s\"", c->id_column);
        goto next;
    }
    snprintf(rowname, sizeof rowname, "%zu", c->d->n + 1);
    row = ds_items_row(c->d, &c->cap, c->col_id >= 0 ? c->id : rowname);
    if (row < 0) {
        ds_items_fail(c, DS_ENOMEM, "out of memory or more than %u rows", DS_ITEMS_MAX_ROWS);
        goto next;
    }
    for (size_t j = 0; j < c->d->k; j++) {
        const char *cell = c->cells[j];
        double v;
        if (cell[0] == '\0' || strcmp(cell, "NA") == 0) {
            c->d->n_missing++;
            continue;
        }
        if (ds_items_number(cell, &v) != 0) {
            ds_items_fail(c, DS_EFORMAT, "answer \"%s\" in column \"%s\" is not a number", cell,
                          c->d->items[j]);
            goto next;
        }
        c->d->x[(size_t)row * c->d->k + j] = v;
    }
next:
    c->field = 0;
    free(c->id);
    c->id = NULL;
    for (size_t j = 0; c->cells != NULL && j < c->d->k; j++) {
        free(c->cells[j]);
        c->cells[j] = NULL;
    }
    c->record_line = c->line + 1;
}

int ds_load_items_csv(const char *path, const char *id_column, const char *const *items, size_t k,
                      struct ds_items **out, struct err *e)
{
    struct csv_parser p;
    struct ds_items_csv c;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int parser_ready = 0, rc = DS_ENOMEM;

    if (k == 0 || k > DS_MAX_ITEMS)
        return err_set(e, DS_EFORMAT, "give between 1 and %d items", DS_MAX_ITEMS);
    memset(&c, 0, sizeof c);
    c.path = path;
    c.id_column = id_column;
    c.e = e;
    c.col_id = -1;
    c.record_line = 1;
    c.d = ds_items_new(items, k);
    c.col_of = malloc(k * sizeof *c.col_of);
    c.cells = calloc(k, sizeof *c.cells);
    if (c.d == NULL || c.col_of == NULL || c.cells == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < k; j++)
        c.col_of[j] = -1;
    f = fopen(path, "r");
    if (f == NULL) {
        rc = err_set(e, DS_EIO, "could not open \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    parser_ready = 1;
    while ((len = getline(&line, &cap, f)) > 0 && c.rc == 0) {
        c.line++;
        if (csv_parse(&p, line, (size_t)len, ds_items_cell, ds_items_record, &c) != (size_t)len) {
            c.record_line = c.line;
            ds_items_fail(&c, DS_EFORMAT, "malformed CSV: %s", csv_strerror(csv_error(&p)));
        }
    }
    if (ferror(f)) {
        rc = err_set(e, DS_EIO, "could not read \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (c.rc == 0 && csv_fini(&p, ds_items_cell, ds_items_record, &c) != 0) {
        c.record_line = c.line;
        ds_items_fail(&c, DS_EFORMAT, "malformed CSV at the end of the file: %s",
                      csv_strerror(csv_error(&p)));
    }
    if (c.rc != 0) {
        rc = c.rc;
        goto out;
    }
    if (!c.header_done || c.d->n == 0) {
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
    if (parser_ready)
        csv_free(&p);
    if (f != NULL)
        fclose(f);
    free(line);
    for (size_t i = 0; i < c.n_header; i++)
        free(c.header[i]);
    free(c.id);
    for (size_t j = 0; c.cells != NULL && j < k; j++)
        free(c.cells[j]);
    free(c.cells);
    free(c.col_of);
    ds_items_free(c.d);
    return rc;
}

/* ---- the database ---- */

static int ds_items_add_version(struct ds_items *d, const char *instrument, const char *version,
                                struct err *e)
{
    char buf[160];
    char **grown;

    snprintf(buf, sizeof buf, "%s@%s", instrument, version);
    for (size_t i = 0; i < d->n_versions; i++)
        if (strcmp(d->versions[i], buf) == 0)
            return 0;
    grown = realloc(d->versions, (d->n_versions + 1) * sizeof *grown);
    if (grown == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    d->versions = grown;
    if ((d->versions[d->n_versions] = strdup(buf)) == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    d->n_versions++;
    return 0;
}

static int ds_items_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

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
        qsort(names, (size_t)rows, sizeof *names, ds_items_name_cmp);
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
            if ((rc = ds_items_add_version(d, instrument, PQgetvalue(res, r, 4), e)) != 0)
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
