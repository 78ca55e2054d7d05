/*
 * ds_csv.c — reading a long CSV file into a data set (see ds.h): one row per
 * participant and time. The file is read by ds_csv_read() (ds_int.h); this
 * file keeps the cells of the four columns and turns each row into an
 * observation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_int.h"

struct ds_csv {
    struct ds_builder b;
    const struct ds_csv_columns *cols;
    struct err *e;
    int header_done;
    int col_id, col_time, col_score, col_arm; /* column positions, -1 unknown */
    /* The current record's cells of interest, copied. */
    char *id, *time, *score, *arm;
};

static void ds_csv_take(char **slot, const char *data, size_t len)
{
    free(*slot);
    *slot = strndup(data, len);
}

static void ds_csv_clear(struct ds_csv *c)
{
    free(c->id);
    free(c->time);
    free(c->score);
    free(c->arm);
    c->id = c->time = c->score = c->arm = NULL;
}

static int ds_csv_header(struct ds_csv_reader *r, void *ctx)
{
    struct ds_csv *c = ctx;
    const char *names[] = {c->cols->id, c->cols->time, c->cols->score, c->cols->arm};
    int *slots[] = {&c->col_id, &c->col_time, &c->col_score, &c->col_arm};
    int rc;

    c->header_done = 1;
    for (size_t i = 0; i < 4; i++)
        if (names[i] != NULL && (rc = ds_csv_column(r, names[i], slots[i])) != 0)
            return rc;
    return 0;
}

static int ds_csv_cell(struct ds_csv_reader *r, size_t col, const char *text, size_t len, void *ctx)
{
    struct ds_csv *c = ctx;

    (void)r;
    if ((int)col == c->col_id)
        ds_csv_take(&c->id, text, len);
    else if ((int)col == c->col_time)
        ds_csv_take(&c->time, text, len);
    else if ((int)col == c->col_score)
        ds_csv_take(&c->score, text, len);
    else if ((int)col == c->col_arm)
        ds_csv_take(&c->arm, text, len);
    return 0;
}

/* One row: an observation, a missing score, or the reason the file is refused. */
static int ds_csv_row(struct ds_csv_reader *r, struct ds_csv *c, size_t fields)
{
    double t, s;
    uint32_t subject;
    int rc;

    /* A blank line is one empty field: skip it. */
    if (fields == 1 && (c->id == NULL || c->id[0] == '\0') && c->col_id == 0)
        return 0;
    if (c->id == NULL || c->time == NULL || c->score == NULL || (c->col_arm >= 0 && c->arm == NULL))
        return ds_csv_fail(r, DS_EFORMAT, "the row has only %zu fields", fields);
    if (c->id[0] == '\0')
        return ds_csv_fail(r, DS_EFORMAT, "empty participant id in column \"%s\"", c->cols->id);
    if (ds_csv_number(c->time, &t) != 0)
        return ds_csv_fail(r, DS_EFORMAT, "time \"%s\" in column \"%s\" is not a number", c->time,
                           c->cols->time);
    if (c->col_arm >= 0 && c->arm[0] == '\0')
        return ds_csv_fail(r, DS_EFORMAT, "empty arm for participant \"%s\"", c->id);
    if ((rc = ds_builder_subject(&c->b, c->id, c->col_arm >= 0 ? c->arm : NULL, ds_csv_line(r),
                                 &subject, c->e)) != 0)
        return rc;
    if (c->score[0] == '\0' || strcmp(c->score, "NA") == 0) {
        c->b.d->n_missing++;
        return 0;
    }
    if (ds_csv_number(c->score, &s) != 0)
        return ds_csv_fail(r, DS_EFORMAT, "score \"%s\" in column \"%s\" is not a number", c->score,
                           c->cols->score);
    return ds_builder_row(&c->b, subject, t, s, ds_csv_line(r), c->e);
}

static int ds_csv_record(struct ds_csv_reader *r, size_t fields, size_t first_len, void *ctx)
{
    struct ds_csv *c = ctx;
    int rc;

    (void)first_len;
    rc = ds_csv_row(r, c, fields);
    ds_csv_clear(c);
    return rc;
}

static const struct ds_csv_handler ds_csv_long = {ds_csv_header, ds_csv_cell, ds_csv_record};

int ds_load_csv(const char *path, const struct ds_csv_columns *cols, struct ds_long **out,
                struct err *e)
{
    struct ds_csv c;
    int rc;

    memset(&c, 0, sizeof c);
    c.cols = cols;
    c.e = e;
    c.col_id = c.col_time = c.col_score = c.col_arm = -1;
    if (cols->id == NULL || cols->time == NULL || cols->score == NULL)
        return err_set(e, DS_EFORMAT, "the id, time and score columns must be named");
    if ((rc = ds_builder_init(&c.b, path, e)) != 0)
        return rc;
    if ((rc = ds_csv_read(path, &ds_csv_long, &c, e)) != 0)
        goto out;
    if (!c.header_done) {
        rc = err_set(e, DS_EEMPTY, "%s: the file is empty", path);
        goto out;
    }
    snprintf(c.b.d->source, sizeof c.b.d->source, "csv:%s", path);
    rc = ds_builder_finish(&c.b, out, e);
out:
    ds_csv_clear(&c);
    ds_builder_free(&c.b);
    return rc;
}
