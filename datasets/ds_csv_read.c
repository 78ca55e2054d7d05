/*
 * ds_csv_read.c — the CSV reader both file loaders use: the long loader
 * (ds_csv.c) and the wide item loader (ds_items.c). See ds_int.h.
 *
 * The file is fed to libcsv one physical line at a time so that every
 * record's line number is known for messages; a quoted field may still span
 * lines, since libcsv keeps its state between calls. The caps, the header
 * row and the wording of every refusal live here once, so that both loaders
 * refuse the same file in the same words.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "ds_int.h"

#define DS_CSV_MAX_FIELD   4096 /* longest cell accepted */
#define DS_CSV_MAX_COLUMNS 1000

struct ds_csv_reader {
    const char *path;
    const struct ds_csv_handler *h;
    void *ctx;
    struct err *e;
    int rc;               /* first error; parsing stops being useful after it */
    uint32_t line;        /* physical line being fed */
    uint32_t record_line; /* line where the current record started */
    int header_done;
    int too_wide;
    size_t field;     /* index of the next field in the record */
    size_t first_len; /* length of the record's first cell */
    char *header[DS_CSV_MAX_COLUMNS];
    size_t n_header;
};

int ds_csv_fail(struct ds_csv_reader *r, int code, const char *fmt, ...)
{
    char msg[ERR_MESSAGE_MAX];
    va_list ap;

    if (r->rc != 0)
        return r->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->rc = err_set(r->e, code, "%s:%u: %s", r->path, r->record_line, msg);
    return r->rc;
}

/* Keeps the first error: a handler may return one ds_csv_fail() already set. */
static void ds_csv_status(struct ds_csv_reader *r, int rc)
{
    if (rc != 0 && r->rc == 0)
        r->rc = rc;
}

static void ds_csv_on_cell(void *data, size_t len, void *ctx)
{
    struct ds_csv_reader *r = ctx;
    size_t f = r->field++;
    const char *text = data ? data : "";

    if (r->rc != 0)
        return;
    if (len > DS_CSV_MAX_FIELD) {
        ds_csv_fail(r, DS_EFORMAT, "a cell is longer than 4096 bytes");
        return;
    }
    if (memchr(text, '\0', len) != NULL) {
        ds_csv_fail(r, DS_EFORMAT, "a cell contains a NUL byte");
        return;
    }
    if (f == 0)
        r->first_len = len;
    if (!r->header_done) {
        if (r->n_header >= DS_CSV_MAX_COLUMNS) {
            r->too_wide = 1;
            return;
        }
        /* A UTF-8 byte-order mark before the first name is not part of it. */
        if (f == 0 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
            text += 3;
            len -= 3;
        }
        r->header[r->n_header++] = strndup(text, len);
        return;
    }
    ds_csv_status(r, r->h->cell(r, f, text, len, r->ctx));
}

static void ds_csv_on_record(int term, void *ctx)
{
    struct ds_csv_reader *r = ctx;

    (void)term;
    if (r->rc == 0 && !r->header_done) {
        r->header_done = 1;
        if (r->too_wide)
            ds_csv_fail(r, DS_EFORMAT, "more than 1000 columns");
        else
            ds_csv_status(r, r->h->header(r, r->ctx));
    } else if (r->rc == 0) {
        ds_csv_status(r, r->h->record(r, r->field, r->first_len, r->ctx));
    }
    r->field = 0;
    r->record_line = r->line + 1;
}

int ds_csv_column(struct ds_csv_reader *r, const char *name, int *col)
{
    char list[512] = "";
    size_t used = 0;

    for (size_t i = 0; i < r->n_header; i++) {
        if (r->header[i] != NULL && strcmp(r->header[i], name) == 0) {
            *col = (int)i;
            return 0;
        }
    }
    for (size_t i = 0; i < r->n_header && used < sizeof list - 1; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "",
                                 r->header[i] ? r->header[i] : "");
    ds_csv_fail(r, DS_EFORMAT, "no column \"%s\"", name);
    err_detail(r->e, "The header has %s.", list[0] ? list : "no columns");
    return DS_EFORMAT;
}

uint32_t ds_csv_line(const struct ds_csv_reader *r)
{
    return r->record_line;
}

size_t ds_csv_width(const struct ds_csv_reader *r)
{
    return r->n_header;
}

int ds_csv_number(const char *text, double *out)
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

int ds_csv_read(const char *path, const struct ds_csv_handler *h, void *ctx, struct err *e)
{
    struct csv_parser p;
    struct ds_csv_reader r;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int parser_ready = 0, rc = DS_EIO;

    memset(&r, 0, sizeof r);
    r.path = path;
    r.h = h;
    r.ctx = ctx;
    r.e = e;
    r.record_line = 1;
    f = fopen(path, "r");
    if (f == NULL) {
        err_set(e, DS_EIO, "could not open \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        rc = err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    parser_ready = 1;
    while ((len = getline(&line, &cap, f)) > 0 && r.rc == 0) {
        r.line++;
        if (csv_parse(&p, line, (size_t)len, ds_csv_on_cell, ds_csv_on_record, &r) != (size_t)len) {
            r.record_line = r.line;
            ds_csv_fail(&r, DS_EFORMAT, "malformed CSV: %s", csv_strerror(csv_error(&p)));
        }
    }
    if (ferror(f)) {
        err_set(e, DS_EIO, "could not read \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (r.rc == 0 && csv_fini(&p, ds_csv_on_cell, ds_csv_on_record, &r) != 0) {
        r.record_line = r.line;
        ds_csv_fail(&r, DS_EFORMAT, "malformed CSV at the end of the file: %s",
                    csv_strerror(csv_error(&p)));
    }
    rc = r.rc;
out:
    if (parser_ready)
        csv_free(&p);
    if (f != NULL)
        fclose(f);
    free(line);
    for (size_t i = 0; i < r.n_header; i++)
        free(r.header[i]);
    return rc;
}
