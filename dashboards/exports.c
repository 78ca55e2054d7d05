/*
 * exports.c — the study's data for R, Stata or a spreadsheet, streamed:
 * responses in tidy long form and in wide form (one row per participant)
 * with a codebook, the app events, the latest analysis runs as JSON, and the
 * claim table of the outcomes page.
 *
 * Streaming: the query runs in libpq's single-row mode on a pooled
 * connection held for the life of the response; the HTTP layer pulls bytes
 * (rep->stream), and each pull reads rows until its buffer is full. The
 * first bytes leave before the last row is read, so a 100,000-participant
 * study neither times out nor sits in memory. A client that goes away
 * cancels the query. Every export is audited (export.csv / export.json)
 * before its first byte; researchers and admins only, and API tokens need
 * the export scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "col_int.h"
#include "dash_int.h"
#include "ds.h"
#include "ins.h"
#include "log.h"
#include "rep_claim.h"
#include "rep_render.h"
#include "report.h"

#define DASH_STREAM_ROWS_PER_PULL 4096

struct dash_stream;
typedef int (*dash_row_fn)(struct dash_stream *s, const PGresult *row);

/* One export in flight. */
struct dash_stream {
    struct db_pool *pool;
    PGconn *conn;
    int running; /* a query is being read */
    int done;
    int failed;
    char *buf; /* formatted bytes not yet handed to the HTTP layer */
    size_t len, off, cap;
    dash_row_fn row;
    /* the wide export's columns */
    json_t *columns; /* {"variable": index} */
    size_t n_columns;
    char **cells;
    char *trailer; /* written once the rows end */
};

static int dash_buf_put(struct dash_stream *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        char *grown;
        while (cap < s->len + n + 1)
            cap *= 2;
        if ((grown = realloc(s->buf, cap)) == NULL)
            return -1;
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

/* One CSV field (RFC 4180: quoted when it holds a comma, quote or line break). */
static int dash_csv_field(struct dash_stream *s, const char *v, int last)
{
    int rc = 0;

    if (v != NULL && v[strcspn(v, ",\"\r\n")] != '\0') {
        rc |= dash_buf_put(s, "\"", 1);
        for (const char *p = v; *p; p++)
            rc |= *p == '"' ? dash_buf_put(s, "\"\"", 2) : dash_buf_put(s, p, 1);
        rc |= dash_buf_put(s, "\"", 1);
    } else if (v != NULL) {
        rc |= dash_buf_put(s, v, strlen(v));
    }
    return rc | dash_buf_put(s, last ? "\r\n" : ",", last ? 2 : 1);
}

/* Every column of a row, as CSV. */
static int dash_row_csv(struct dash_stream *s, const PGresult *row)
{
    int n = PQnfields(row), rc = 0;

    for (int k = 0; k < n; k++)
        rc |= dash_csv_field(s, PQgetisnull(row, 0, k) ? NULL : PQgetvalue(row, 0, k), k == n - 1);
    return rc;
}

/* The wide export: code, arm, status, enrolled_at, then the values by variable. */
static int dash_row_wide(struct dash_stream *s, const PGresult *row)
{
    json_t *vals = json_loads(PQgetisnull(row, 0, 4) ? "{}" : PQgetvalue(row, 0, 4), 0, NULL);
    const char *key;
    json_t *v;
    int rc = 0;

    if (vals == NULL)
        return -1;
    for (size_t i = 0; i < s->n_columns; i++)
        s->cells[i] = NULL;
    json_object_foreach(vals, key, v)
    {
        json_t *idx = json_object_get(s->columns, key);
        if (idx != NULL && json_is_string(v))
            s->cells[json_integer_value(idx)] = (char *)json_string_value(v);
    }
    for (int k = 0; k < 4; k++)
        rc |= dash_csv_field(s, PQgetvalue(row, 0, k), 0);
    for (size_t i = 0; i < s->n_columns; i++)
        rc |= dash_csv_field(s, s->cells[i] ? s->cells[i] : "", i + 1 == s->n_columns);
    if (s->n_columns == 0)
        rc |= dash_buf_put(s, "\r\n", 2);
    json_decref(vals);
    return rc;
}

static ssize_t dash_stream_pull(void *ctx, uint64_t pos, char *out, size_t max)
{
    struct dash_stream *s = ctx;
    int rows = 0;

    (void)pos;
    while (s->len - s->off < max && !s->done && rows < DASH_STREAM_ROWS_PER_PULL) {
        PGresult *r = PQgetResult(s->conn);
        if (r == NULL) {
            s->running = 0;
            s->done = 1;
            if (!s->failed && s->trailer != NULL &&
                dash_buf_put(s, s->trailer, strlen(s->trailer)) != 0)
                s->failed = 1;
            break;
        }
        switch (PQresultStatus(r)) {
        case PGRES_SINGLE_TUPLE:
            if (!s->failed && s->row(s, r) != 0)
                s->failed = 1;
            rows++;
            break;
        case PGRES_TUPLES_OK:
            break;
        default:
            log_event(LOG_WARN, "dash.export", "message=\"the query of an export failed\"");
            s->failed = 1;
            break;
        }
        PQclear(r);
    }
    if (s->failed)
        return HTTP_STREAM_ERROR;
    if (s->off == s->len) {
        s->off = s->len = 0;
        if (s->done)
            return HTTP_STREAM_END;
        return 0;
    }
    {
        size_t n = s->len - s->off < max ? s->len - s->off : max;
        memcpy(out, s->buf + s->off, n);
        s->off += n;
        if (s->off == s->len)
            s->off = s->len = 0;
        return (ssize_t)n;
    }
}

static void dash_stream_free(void *ctx)
{
    struct dash_stream *s = ctx;

    if (s == NULL)
        return;
    if (s->conn != NULL) {
        if (s->running) {
            /* The client went away: stop the query and read what is left. */
            PGcancel *c = PQgetCancel(s->conn);
            char errbuf[256];
            PGresult *r;
            if (c != NULL) {
                PQcancel(c, errbuf, sizeof errbuf);
                PQfreeCancel(c);
            }
            while ((r = PQgetResult(s->conn)) != NULL)
                PQclear(r);
        }
        db_pool_release(s->pool, s->conn);
    }
    json_decref(s->columns);
    free(s->cells);
    free(s->buf);
    free(s->trailer);
    free(s);
}

/* Audits an export of `filename` (one of the study's files) as `action`, before its first byte. */
static int dash_export_audit(struct http_request *req, const char *action, const char *filename,
                             struct err *e)
{
    json_t *detail = json_pack("{s:s}", "file", filename);
    int rc = dash_audit_read(
        req, action,
        arena_printf(req->arena, "study:%s/%s", http_path_param(req, "study"), filename), detail,
        e);

    json_decref(detail);
    return rc;
}

/* Names the download "<study>-<filename>". */
static void dash_export_attachment(struct http_request *req, struct http_reply *rep,
                                   const char *filename)
{
    char disposition[200];

    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-%s\"",
             http_path_param(req, "study"), filename);
    http_reply_header(rep, "Content-Disposition", disposition);
}

/*
 * Starts streaming the rows of a named statement after `header` (borrowed).
 * Audits `action` on `target` first. On failure fills `rep` with the error.
 */
static void dash_stream_start(struct http_request *req, struct http_reply *rep,
                              struct dash_stream *s, const char *statement, int nparams,
                              const char *const *params, const char *header,
                              const char *content_type, const char *filename, const char *action)
{
    struct err e;
    int rc;

    err_clear(&e);
    s->pool = dash_of(req)->pool;
    if ((rc = dash_export_audit(req, action, filename, &e)) != 0)
        goto fail;
    if ((s->conn = db_pool_acquire(s->pool, 5000, &e)) == NULL) {
        rc = e.code;
        goto fail;
    }
    if (header != NULL && dash_buf_put(s, header, strlen(header)) != 0) {
        rc = err_set(&e, DASH_EINIT, "out of memory");
        goto fail;
    }
    if (!PQsendQueryPrepared(s->conn, statement, nparams, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(s->conn)) {
        rc = err_set(&e, DB_EHARD, "%s", PQerrorMessage(s->conn));
        /* Read whatever was started so that the connection goes back clean. */
        {
            PGresult *r;
            while ((r = PQgetResult(s->conn)) != NULL)
                PQclear(r);
        }
        goto fail;
    }
    s->running = 1;
    rep->status = 200;
    rep->content_type = content_type;
    rep->stream = dash_stream_pull;
    rep->stream_ctx = s;
    rep->stream_free = dash_stream_free;
    dash_export_attachment(req, rep, filename);
    return;
fail:
    dash_stream_free(s);
    dash_reply_error(req, rep, rc, &e);
}

static struct dash_stream *dash_stream_new(struct http_reply *rep)
{
    struct dash_stream *s = calloc(1, sizeof *s);

    if (s == NULL)
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
    return s;
}

/*
 * An export of a named statement's rows as they come, one CSV line each,
 * after `header`: the study is the statement's one parameter.
 */
static void dash_export_rows(struct http_request *req, struct http_reply *rep,
                             const char *statement, const char *header, const char *filename)
{
    const char *params[1] = {http_path_param(req, "study")};
    struct dash_stream *s = dash_stream_new(rep);

    if (s == NULL)
        return;
    s->row = dash_row_csv;
    dash_stream_start(req, rep, s, statement, 1, params, header, "text/csv; charset=utf-8",
                      filename, "export.csv");
}

/* GET .../export/responses-long.csv */
void dash_export_long(struct http_request *req, struct http_reply *rep)
{
    dash_export_rows(req, rep, "dash_export_long",
                     "code,arm,instrument,version,week,completed_at,timing,variable,value\r\n",
                     "responses-long.csv");
}

/* GET .../export/events.csv */
void dash_export_events(struct http_request *req, struct http_reply *rep)
{
    dash_export_rows(req, rep, "dash_export_events",
                     "code,arm,event_id,type,at,study_week,duration_s,received_at,props\r\n",
                     "events.csv");
}

/* ---- the codebook and the wide layout: both from the schedule and the definitions ---- */

/* One variable of the wide file, described. */
struct dash_var {
    char name[160];
    const char *instrument, *version;
    int week;
    const char *kind; /* "score", "item" */
    const char *label;
    const char *type;
    char values[1024];
};

/*
 * Calls `fn` for every variable of the study's wide file, in column order:
 * for each scheduled instrument and week, its total and subscale scores,
 * then its items.
 */
static int dash_variables(struct http_request *req, PGconn *conn,
                          int (*fn)(void *ctx, const struct dash_var *v), void *ctx, struct err *e)
{
    struct col_app *app = req->app;
    const char *params[1] = {http_path_param(req, "study")};
    PGresult *res = NULL;
    int n, rc = 0;

    if ((n = db_query(conn, "dash_schedule", 1, params, &res, e)) < 0)
        return n;
    for (int i = 0; i < n && rc == 0; i++) {
        const struct ins_definition *def = NULL;
        struct dash_var v;
        int week = (int)dash_ll(res, i, 2);
        if ((rc = col_defs_get(app->defs, app->pool, conn, PQgetvalue(res, i, 0),
                               PQgetvalue(res, i, 1), &def, e)) < 0)
            break;
        rc = 0;
        if (def == NULL)
            continue;
        for (size_t k = 0; k < def->n_scores && rc == 0; k++) {
            const struct ins_score *sc = &def->scores[k];
            memset(&v, 0, sizeof v);
            snprintf(v.name, sizeof v.name, "%s_%s_w%d", def->id, sc->id, week);
            v.instrument = def->id;
            v.version = def->version;
            v.week = week;
            v.kind = "score";
            v.label = sc->label;
            v.type = sc->integral ? "integer" : "decimal";
            snprintf(v.values, sizeof v.values, "%g to %g; empty when not answered or voided",
                     sc->min, sc->max);
            rc = fn(ctx, &v);
        }
        for (size_t k = 0; k < def->n_items && rc == 0; k++) {
            const struct ins_item *it = &def->items[k];
            size_t used = 0;
            memset(&v, 0, sizeof v);
            snprintf(v.name, sizeof v.name, "%s_w%d", it->id, week);
            v.instrument = def->id;
            v.version = def->version;
            v.week = week;
            v.kind = "item";
            v.label = it->text ? it->text : it->id;
            v.type = it->type == INS_ITEM_DECIMAL ? "decimal" : "integer";
            if (it->type == INS_ITEM_CHOICE && it->options != NULL) {
                for (size_t o = 0; o < it->options->n_options && used < sizeof v.values; o++)
                    used += (size_t)snprintf(v.values + used, sizeof v.values - used, "%s%g=%s",
                                             o ? "; " : "", it->options->options[o].value,
                                             it->options->options[o].label);
            } else {
                snprintf(v.values, sizeof v.values, "%g to %g", it->min, it->max);
            }
            rc = fn(ctx, &v);
        }
    }
    PQclear(res);
    return rc;
}

static int dash_codebook_row(void *ctx, const struct dash_var *v)
{
    struct dash_stream *s = ctx;
    char week[16];
    int rc = 0;

    snprintf(week, sizeof week, "%d", v->week);
    rc |= dash_csv_field(s, v->name, 0);
    rc |= dash_csv_field(s, v->instrument, 0);
    rc |= dash_csv_field(s, v->version, 0);
    rc |= dash_csv_field(s, week, 0);
    rc |= dash_csv_field(s, v->kind, 0);
    rc |= dash_csv_field(s, v->label, 0);
    rc |= dash_csv_field(s, v->type, 0);
    rc |= dash_csv_field(s, v->values, 1);
    return rc ? -1 : 0;
}

/* GET .../export/codebook.csv: every column of both response files, described. */
void dash_export_codebook(struct http_request *req, struct http_reply *rep)
{
    static const char *const fixed[][8] = {
        {"code", "", "", "", "id", "pseudonymous participant code", "text", ""},
        {"arm", "", "", "", "id", "study arm", "text", ""},
        {"status", "", "", "", "id", "participant status", "text", "active; withdrawn; completed"},
        {"enrolled_at", "", "", "", "id", "enrolment time, start of week 0", "RFC 3339 UTC", ""},
        {"instrument", "", "", "", "long", "instrument id (long file)", "text", ""},
        {"version", "", "", "", "long", "instrument version (long file)", "text", ""},
        {"week", "", "", "", "long", "study week the answer counts for (long file)", "integer",
         "0 = baseline"},
        {"completed_at", "", "", "", "long", "when the participant finished (long file)",
         "RFC 3339 UTC", ""},
        {"timing", "", "", "", "long", "inside or after the week's window (long file)", "text",
         "on_time; late"},
        {"variable", "", "", "", "long",
         "item id, or a score id (total, subscales), or severity (long file)", "text", ""},
        {"value", "", "", "", "long", "the answer's option value, the score, or the band label",
         "text", "see the item or score rows below"},
    };
    struct dash_stream *s = dash_stream_new(rep);
    struct dash_app *d = dash_of(req);
    struct err e;
    PGconn *conn;
    int rc;

    if (s == NULL)
        return;
    err_clear(&e);
    if ((conn = db_pool_acquire(d->pool, 5000, &e)) == NULL) {
        free(s);
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    rc = dash_buf_put(s, "variable,instrument,version,week,kind,label,type,values\r\n", 57);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && rc == 0; i++)
        for (int k = 0; k < 8; k++)
            rc |= dash_csv_field(s, fixed[i][k], k == 7);
    if (rc == 0)
        rc = dash_variables(req, conn, dash_codebook_row, s, &e);
    db_pool_release(d->pool, conn);
    if (rc == 0)
        rc = dash_export_audit(req, "export.csv", "codebook.csv", &e);
    if (rc != 0) {
        free(s->buf);
        free(s);
        dash_reply_error(req, rep, rc, &e);
        return;
    }
    http_reply_take(rep, 200, "text/csv; charset=utf-8", s->buf, s->len);
    free(s);
    dash_export_attachment(req, rep, "codebook.csv");
}

static int dash_wide_column(void *ctx, const struct dash_var *v)
{
    struct dash_stream *s = ctx;

    json_object_set_new(s->columns, v->name, json_integer((json_int_t)s->n_columns++));
    return dash_csv_field(s, v->name, 0) ? -1 : 0;
}

/* GET .../export/responses-wide.csv: one row per participant, a column per variable. */
void dash_export_wide(struct http_request *req, struct http_reply *rep)
{
    const char *params[1] = {http_path_param(req, "study")};
    struct dash_stream *s = dash_stream_new(rep);
    struct dash_app *d = dash_of(req);
    struct err e;
    PGconn *conn;
    int rc;

    if (s == NULL)
        return;
    err_clear(&e);
    s->columns = json_object();
    if ((conn = db_pool_acquire(d->pool, 5000, &e)) == NULL) {
        dash_stream_free(s);
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    rc = dash_buf_put(s, "code,arm,status,enrolled_at,", 28);
    if (rc == 0)
        rc = dash_variables(req, conn, dash_wide_column, s, &e);
    db_pool_release(d->pool, conn);
    if (rc != 0) {
        dash_stream_free(s);
        dash_reply_error(req, rep, rc, &e);
        return;
    }
    /* The header's last comma becomes its line end. */
    if (s->len > 0 && s->buf[s->len - 1] == ',')
        s->len--;
    dash_buf_put(s, "\r\n", 2);
    if ((s->cells = calloc(s->n_columns + 1, sizeof *s->cells)) == NULL) {
        dash_stream_free(s);
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    s->row = dash_row_wide;
    dash_stream_start(req, rep, s, "dash_export_wide", 1, params, NULL, "text/csv; charset=utf-8",
                      "responses-wide.csv", "export.csv");
}

/* One run per row: a JSON object built by the database; commas between them. */
static int dash_row_json(struct dash_stream *s, const PGresult *row)
{
    const char *v = PQgetvalue(row, 0, 0);
    int first = strcmp(PQgetvalue(row, 0, 1), "1") == 0;

    if (!first && dash_buf_put(s, ",\n", 2) != 0)
        return -1;
    return dash_buf_put(s, v, strlen(v));
}

/* GET .../export/analysis.json: the newest run of each kind, whole. */
void dash_export_analysis(struct http_request *req, struct http_reply *rep)
{
    const char *study = http_path_param(req, "study");
    const char *params[1] = {study};
    struct dash_stream *s = dash_stream_new(rep);

    if (s == NULL)
        return;
    s->row = dash_row_json;
    s->trailer = strdup("\n]}\n");
    dash_stream_start(req, rep, s, "dash_export_runs", 1, params,
                      arena_printf(req->arena, "{\"study\":\"%s\",\"runs\":[\n", study),
                      "application/json", "analysis.json", "export.json");
}

/* GET .../export/claims.csv: the claim table of the newest outcomes run, with its provenance. */
void dash_export_report(struct http_request *req, struct http_reply *rep)
{
    dash_export_rows(req, rep, "dash_export_claims",
                     "instrument,arm,population,definition,n,value,ci_low,ci_high,ci_method,"
                     "run_id,run_at,input_fingerprint,program_version\r\n",
                     "claims.csv");
}

/*
 * GET .../export/report.html and report.json (?instrument=, ?claim=): the
 * claim report exactly as `attune report` builds it (cli_report_build(),
 * which records it as a run of kind "report"), printed by report/'s
 * rep_print_report(). The HTML links its rules as /vendor/report.css, since
 * the strict CSP refuses a <style> element. The report is computed before
 * the first byte (seconds on a large study: it loads scores, the flow and
 * every app event).
 */
static void dash_export_claim_report(struct http_request *req, struct http_reply *rep, int html)
{
    struct dash_app *d = dash_of(req);
    const char *study = http_path_param(req, "study");
    const char *param = http_query(req, "instrument");
    const char *claim = http_query(req, "claim");
    struct cli_report_opts o;
    char instrument[64], disposition[200];
    json_t *doc = NULL, *detail;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    struct err e;
    PGconn *conn;
    int rc;

    err_clear(&e);
    if (claim != NULL && (claim[0] == '\0' || strlen(claim) > REP_CLAIM_MAX)) {
        http_problem(
            rep, 400, "invalid-query", NULL,
            json_pack("[{s:s, s:s}]", "pointer", "/query/claim", "message", "1 to 500 characters"),
            "A claim is 1 to %d characters of text.", REP_CLAIM_MAX);
        return;
    }
    if ((conn = db_pool_acquire(d->pool, 5000, &e)) == NULL) {
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    rc = dash_pick_instrument(conn, study, param, instrument, sizeof instrument, &e);
    if (rc == 0 && claim != NULL) {
        /* The claim is read first, against the study's arms, so that a claim
         * that cannot be read is told apart from a failure (both are -1). */
        const char *p1[1] = {study};
        PGresult *arms = NULL;
        int n = db_query(conn, "dash_study_arms", 1, p1, &arms, &e);
        if (n < 0) {
            rc = n;
        } else {
            const char *names[16];
            struct rep_claim c;
            struct err ce;
            err_clear(&ce);
            for (int i = 0; i < n && i < 16; i++)
                names[i] = PQgetvalue(arms, i, 0);
            if (rep_claim_parse(claim, names, (size_t)(n < 16 ? n : 16), &c, &ce) != 0) {
                PQclear(arms);
                db_pool_release(d->pool, conn);
                http_problem(
                    rep, 422, "invalid-claim", NULL,
                    json_pack("[{s:s, s:s}]", "pointer", "/query/claim", "message", ce.message),
                    "The claim cannot be read: %s.", ce.message);
                return;
            }
        }
        PQclear(arms);
    }
    if (rc == 0) {
        cli_report_opts_init(&o);
        o.study = study;
        o.instrument = instrument;
        o.claim = claim;
        rc = cli_report_build(conn, d->cfg, &o, &doc, &e);
    }
    db_pool_release(d->pool, conn);
    if (rc != 0) {
        dash_reply_error(req, rep, rc == DS_EEMPTY ? DASH_ENOTFOUND : rc, &e);
        return;
    }
    detail = json_pack("{s:s, s:s}", "file", html ? "report.html" : "report.json", "instrument",
                       instrument);
    rc = dash_audit_read(req, "export.report", arena_printf(req->arena, "study:%s/report", study),
                         detail, &e);
    json_decref(detail);
    if (rc != 0) {
        json_decref(doc);
        dash_reply_error(req, rep, rc, &e);
        return;
    }
    if (html) {
        if ((f = open_memstream(&buf, &len)) == NULL) {
            json_decref(doc);
            http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
            return;
        }
        rc = rep_print_report(f, doc, REP_HTML, "/vendor/report.css");
        if (fclose(f) != 0 || rc != 0) {
            json_decref(doc);
            free(buf);
            http_problem(rep, 500, "internal", NULL, NULL, "The report could not be printed.");
            return;
        }
    } else {
        /* JSON: the document itself, as the run recorded it. */
        buf = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
        len = buf ? strlen(buf) : 0;
    }
    json_decref(doc);
    if (buf == NULL) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    http_reply_take(rep, 200, html ? "text/html; charset=utf-8" : "application/json", buf, len);
    snprintf(disposition, sizeof disposition, "%s; filename=\"%s-report-%s.%s\"",
             html ? "inline" : "attachment", study, instrument, html ? "html" : "json");
    http_reply_header(rep, "Content-Disposition", disposition);
}

void dash_export_report_html(struct http_request *req, struct http_reply *rep)
{
    dash_export_claim_report(req, rep, 1);
}

void dash_export_report_json(struct http_request *req, struct http_reply *rep)
{
    dash_export_claim_report(req, rep, 0);
}

/* GET /vendor/report.css: the claim report's rules (report/rep_render.h). */
void dash_report_css(struct http_request *req, struct http_reply *rep)
{
    (void)req;
    http_reply_bytes(rep, 200, "text/css; charset=utf-8", rep_css, strlen(rep_css));
    http_reply_header(rep, "Cache-Control", "public, max-age=3600");
}
