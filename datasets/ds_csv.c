/*
 * ds_csv.c — reading a long CSV file with libcsv into a data set (see ds.h).
 *
 * The file is fed to libcsv one physical line at a time so that every
 * record's line number is known for messages; a quoted field may still span
 * lines, since libcsv keeps its state between calls.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "ds_int.h"

#define DS_MAX_FIELD   4096 /* longest cell accepted */
#define DS_MAX_COLUMNS 1000

struct ds_csv {
    struct ds_builder b;
    const struct ds_csv_columns *cols;
    const char *path;
    struct err *e;
    int rc;               /* first error; parsing stops being useful after it */
    uint32_t line;        /* physical line being fed */
    uint32_t record_line; /* line where the current record started */
    int header_done;
    int col_id, col_time, col_score, col_arm; /* column positions, -1 unknown */
    size_t field;                             /* index of the next field in the record */
    char *header[DS_MAX_COLUMNS];
    size_t n_header;
    /* The current record's cells of interest, copied. */
    char *id, *time, *score, *arm;
    int too_wide;
};

__attribute__((format(printf, 3, 4))) static void ds_csv_fail(struct ds_csv *c, int code,
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

static void ds_csv_take(char **slot, const char *data, size_t len)
{
    free(*slot);
    *slot = strndup(data, len);
}

static void ds_csv_cell(void *data, size_t len, void *ctx)
{
    struct ds_csv *c = ctx;
    size_t f = c->field++;
    const char *text = data ? data : "";

    if (c->rc != 0)
        return;
    if (len > DS_MAX_FIELD) {
        ds_csv_fail(c, DS_EFORMAT, "a cell is longer than 4096 bytes");
        return;
    }
    if (memchr(text, '\0', len) != NULL) {
        ds_csv_fail(c, DS_EFORMAT, "a cell contains a NUL byte");
        return;
    }
    if (!c->header_done) {
        if (c->n_header >= DS_MAX_COLUMNS) {
            c->too_wide = 1;
            return;
        }
        /* A UTF-8 byte-order mark before the first name is not part of it. */
        if (f == 0 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
            text += 3;
            len -= 3;
        }
        c->header[c->n_header++] = strndup(text, len);
        return;
    }
    if ((int)f == c->col_id)
        ds_csv_take(&c->id, text, len);
    else if ((int)f == c->col_time)
        ds_csv_take(&c->time, text, len);
    else if ((int)f == c->col_score)
        ds_csv_take(&c->score, text, len);
    else if ((int)f == c->col_arm)
        ds_csv_take(&c->arm, text, len);
}

static int ds_csv_column(struct ds_csv *c, const char *name)
{
    for (size_t i = 0; i < c->n_header; i++)
        if (c->header[i] != NULL && strcmp(c->header[i], name) == 0)
            return (int)i;
    return -1;
}

static void ds_csv_header_done(struct ds_csv *c)
{
    const char *names[] = {c->cols->id, c->cols->time, c->cols->score, c->cols->arm};
    int *slots[] = {&c->col_id, &c->col_time, &c->col_score, &c->col_arm};

    c->header_done = 1;
    if (c->too_wide) {
        ds_csv_fail(c, DS_EFORMAT, "more than 1000 columns");
        return;
    }
    for (size_t i = 0; i < 4; i++) {
        if (names[i] == NULL)
            continue;
        *slots[i] = ds_csv_column(c, names[i]);
        if (*slots[i] < 0) {
            char list[512] = "";
            size_t used = 0;
            for (size_t k = 0; k < c->n_header && used < sizeof list - 1; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", k ? ", " : "",
                                         c->header[k] ? c->header[k] : "");
            ds_csv_fail(c, DS_EFORMAT, "no column \"%s\"", names[i]);
            err_detail(c->e, "The header has %s.", list[0] ? list : "no columns");
            return;
        }
    }
}

/* strtod that accepts only a whole finite number, in the C locale. */
static int ds_csv_number(const char *text, double *out)
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

static void ds_csv_record(int term, void *ctx)
{
    struct ds_csv *c = ctx;
    double t, s;
    uint32_t subject;

    (void)term;
    if (c->rc == 0 && !c->header_done) {
        ds_csv_header_done(c);
        goto next;
    }
    if (c->rc != 0)
        goto next;
    /* A blank line is one empty field: skip it. */
    if (c->field == 1 && (c->id == NULL || c->id[0] == '\0') && c->col_id == 0)
        goto next;
    if (c->id == NULL || c->time == NULL || c->score == NULL ||
        (c->col_arm >= 0 && c->arm == NULL)) {
        char count[32];
        snprintf(count, sizeof count, "%zu", c->field);
        ds_csv_fail(c, DS_EFORMAT, "the row has only %s fields", count);
        goto next;
    }
    if (c->id[0] == '\0') {
        ds_csv_fail(c, DS_EFORMAT, "empty participant id in column \"%s\"", c->cols->id);
        goto next;
    }
    if (ds_csv_number(c->time, &t) != 0) {
        ds_csv_fail(c, DS_EFORMAT, "time \"%s\" in column \"%s\" is not a number", c->time,
                    c->cols->time);
        goto next;
    }
    if (c->col_arm >= 0 && c->arm[0] == '\0') {
        ds_csv_fail(c, DS_EFORMAT, "empty arm for participant \"%s\"", c->id);
        goto next;
    }
    if ((c->rc = ds_builder_subject(&c->b, c->id, c->col_arm >= 0 ? c->arm : NULL, c->record_line,
                                    &subject, c->e)) != 0)
        goto next;
    if (c->score[0] == '\0' || strcmp(c->score, "NA") == 0) {
        c->b.d->n_missing++;
        goto next;
    }
    if (ds_csv_number(c->score, &s) != 0) {
        ds_csv_fail(c, DS_EFORMAT, "score \"%s\" in column \"%s\" is not a number", c->score,
                    c->cols->score);
        goto next;
    }
    c->rc = ds_builder_row(&c->b, subject, t, s, c->record_line, c->e);
next:
    c->field = 0;
    free(c->id);
    free(c->time);
    free(c->score);
    free(c->arm);
    c->id = c->time = c->score = c->arm = NULL;
    c->record_line = c->line + 1;
}

int ds_load_csv(const char *path, const struct ds_csv_columns *cols, struct ds_long **out,
                struct err *e)
{
    struct csv_parser p;
    struct ds_csv c;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int parser_ready = 0;
    int rc = DS_EIO;

    memset(&c, 0, sizeof c);
    c.cols = cols;
    c.path = path;
    c.e = e;
    c.col_id = c.col_time = c.col_score = c.col_arm = -1;
    c.record_line = 1;
    if (cols->id == NULL || cols->time == NULL || cols->score == NULL)
        return err_set(e, DS_EFORMAT, "the id, time and score columns must be named");
    if ((rc = ds_builder_init(&c.b, path, e)) != 0)
        return rc;
    rc = DS_EIO;
    f = fopen(path, "r");
    if (f == NULL) {
        err_set(e, DS_EIO, "could not open \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    parser_ready = 1;
    while ((len = getline(&line, &cap, f)) > 0 && c.rc == 0) {
        c.line++;
        if (csv_parse(&p, line, (size_t)len, ds_csv_cell, ds_csv_record, &c) != (size_t)len) {
            c.record_line = c.line;
            ds_csv_fail(&c, DS_EFORMAT, "malformed CSV: %s", csv_strerror(csv_error(&p)));
        }
    }
    if (ferror(f)) {
        err_set(e, DS_EIO, "could not read \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (c.rc == 0 && csv_fini(&p, ds_csv_cell, ds_csv_record, &c) != 0) {
        c.record_line = c.line;
        ds_csv_fail(&c, DS_EFORMAT, "malformed CSV at the end of the file: %s",
                    csv_strerror(csv_error(&p)));
    }
    if (c.rc != 0) {
        rc = c.rc;
        goto out;
    }
    if (!c.header_done) {
        rc = err_set(e, DS_EEMPTY, "%s: the file is empty", path);
        goto out;
    }
    snprintf(c.b.d->source, sizeof c.b.d->source, "csv:%s", path);
    rc = ds_builder_finish(&c.b, out, e);
out:
    if (parser_ready)
        csv_free(&p);
    if (f != NULL)
        fclose(f);
    free(line);
    for (size_t i = 0; i < c.n_header; i++)
        free(c.header[i]);
    free(c.id);
    free(c.time);
    free(c.score);
    free(c.arm);
    ds_builder_free(&c.b);
    return rc;
}
