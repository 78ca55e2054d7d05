/*
 * responses.c — the one path every questionnaire takes in (the API, the web
 * form, FHIR, the demo): shape check, the participant's schedule, answer
 * validation against the registered definition (every problem named), the
 * missing-item rule and scoring (scoring.h, the instruments engine), then
 * storage: the group-commit batch (batch.c) for the server, or
 * attune_response_store() (sql/004, 007) which places the response on its
 * study week and stores it with its item answers in one statement, exactly
 * once, and says why when it does not.
 *
 * Exactly once: the client's uuid is the primary key and the content hash
 * (col_submission_hash) tells a retry from a conflicting reuse; the unique
 * (participant, instrument, week) key refuses a second different answer.
 * The reply is built only after the statement has committed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "col_int.h"
#include "log.h"

#define COL_SOFT_RETRIES 3

void col_submit_clear(struct col_submit *s)
{
    json_decref(s->errors);
    json_decref(s->record);
    free(s->record_text);
    memset(s, 0, sizeof *s);
}

static int col_submit_fail(struct col_submit *s, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int col_submit_fail(struct col_submit *s, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    s->status = status;
    s->code = code;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof s->detail, fmt, ap);
    va_end(ap);
    return status;
}

static int col_submit_db_fail(struct col_submit *s, int rc, const struct err *e)
{
    if (rc == DB_EUNAVAILABLE || rc == DB_EBUSY)
        return col_submit_fail(s, 503, "database-unavailable",
                               "The database is not reachable right now, so the response is "
                               "not acknowledged. Please try again: sending the same response "
                               "again is safe.");
    {
        char q[512];
        log_event(LOG_ERROR, "collector.db", "code=%d message=%s", rc,
                  log_quote(q, sizeof q, e->message));
    }
    return col_submit_fail(s, 500, "internal", "The response could not be stored.");
}

static json_t *col_time_json(int64_t usec)
{
    char buf[COL_TIME_MAX];

    col_time_format(usec, buf);
    return json_string(buf);
}

json_t *col_response_record_from_row(PGresult *res, int row)
{
    json_t *subscales, *flags, *scores;
    json_error_t jerr;
    int voided = PQgetisnull(res, row, 7);

    subscales = json_loads(PQgetvalue(res, row, 8), 0, &jerr);
    flags = json_loads(PQgetvalue(res, row, 10), 0, &jerr);
    scores =
        json_pack("{s:o, s:s?, s:o, s:o, s:i, s:i, s:b, s:b}", "total",
                  voided ? json_null() : json_real(strtod(PQgetvalue(res, row, 7), NULL)),
                  "severity", PQgetisnull(res, row, 9) ? NULL : PQgetvalue(res, row, 9),
                  "subscales", subscales ? subscales : json_object(), "flags",
                  flags ? flags : json_array(), "items_answered", atoi(PQgetvalue(res, row, 11)),
                  "items_missing", atoi(PQgetvalue(res, row, 12)), "prorated",
                  PQgetvalue(res, row, 13)[0] == 't', "voided", voided);
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:s, s:o}", "id", PQgetvalue(res, row, 0),
                     "instrument", PQgetvalue(res, row, 1), "version", PQgetvalue(res, row, 2),
                     "study_week", atoi(PQgetvalue(res, row, 3)), "timing", PQgetvalue(res, row, 4),
                     "completed_at", col_time_json(strtoll(PQgetvalue(res, row, 5), NULL, 10)),
                     "received_at", col_time_json(strtoll(PQgetvalue(res, row, 6), NULL, 10)),
                     "source", PQgetvalue(res, row, 14), "scores", scores);
}

/* Text of a double for a parameter, in the C locale, round-trip exact. */
static void col_fmt_double(char *buf, size_t size, double x)
{
    snprintf(buf, size, "%.17g", x);
}

/* Appends `s` to an array literal as a double-quoted element. Item ids are
 * [A-Za-z0-9_.-] (checked against the definition), so no escaping is needed
 * beyond the quotes. */
static int col_array_append(char *buf, size_t size, size_t *used, const char *s, int first)
{
    int n = snprintf(buf + *used, size - *used, "%s\"%s\"", first ? "" : ",", s);
    if (n < 0 || (size_t)n >= size - *used)
        return -1;
    *used += (size_t)n;
    return 0;
}

static int col_response_submit_in(struct col_defs *defs, struct col_batcher *batcher,
                                  struct db_pool *pool, PGconn *conn,
                                  const struct col_participant *p, json_t *body, const char *source,
                                  int64_t now, struct col_submit *out);

int col_response_submit(struct col_defs *defs, PGconn *conn, const struct col_participant *p,
                        json_t *body, const char *source, int64_t now, struct col_submit *out)
{
    return col_response_submit_in(defs, NULL, NULL, conn, p, body, source, now, out);
}

int col_response_submit_via(struct col_defs *defs, struct col_batcher *batcher,
                            struct db_pool *pool, const struct col_participant *p, json_t *body,
                            const char *source, int64_t now, struct col_submit *out)
{
    return col_response_submit_in(defs, batcher, pool, NULL, p, body, source, now, out);
}

/*
 * Pieces the two hand-written JSON texts below share. Subscale values are
 * numbers or null; an integer is written as one, a real with `real` (the 201
 * record keeps jansson's form of a real, the batch statement needs only the
 * number).
 */
static void col_jt_subscales(struct col_jtext *t, json_t *subscales,
                             void (*real)(struct col_jtext *, double))
{
    const char *key;
    json_t *v;
    int first = 1;

    COL_JT_LIT(t, "{");
    json_object_foreach(subscales, key, v)
    {
        if (!first)
            COL_JT_LIT(t, ",");
        first = 0;
        col_jt_str(t, key);
        COL_JT_LIT(t, ":");
        if (json_is_integer(v))
            col_jt_num(t, (double)json_integer_value(v));
        else if (json_is_real(v))
            real(t, json_real_value(v));
        else
            COL_JT_LIT(t, "null");
    }
    COL_JT_LIT(t, "}");
}

static void col_jt_flags(struct col_jtext *t, const struct col_scored *score)
{
    COL_JT_LIT(t, "[");
    for (size_t f = 0; f < score->n_flags; f++) {
        if (f > 0)
            COL_JT_LIT(t, ",");
        col_jt_str(t, score->flags[f]);
    }
    COL_JT_LIT(t, "]");
}

static void col_jt_bool(struct col_jtext *t, int b)
{
    if (b)
        COL_JT_LIT(t, "true");
    else
        COL_JT_LIT(t, "false");
}

/*
 * The record answered for a response stored as new, as JSON text: what
 * jansson would write for it (json_pack in key order, JSON_COMPACT,
 * JSON_REAL_PRECISION(17)), without building the objects. malloc'd; NULL
 * when out of memory.
 */
static char *col_created_record(const struct ins_definition *def, const struct col_scored *score,
                                const char *id, int week, const char *timing, int64_t completed_at,
                                int64_t received_at, const char *source)
{
    struct col_jtext t = {NULL, 0,
                          1024 + json_object_size(score->subscales) * 96 + score->n_flags * 96, 0};
    char when[COL_TIME_MAX];

    if ((t.buf = malloc(t.cap)) == NULL)
        return NULL;
    t.buf[0] = '\0';
    COL_JT_LIT(&t, "{\"id\":");
    col_jt_str(&t, id);
    col_jt_key(&t, "instrument");
    col_jt_str(&t, def->id);
    col_jt_key(&t, "version");
    col_jt_str(&t, def->version);
    col_jt_key(&t, "study_week");
    col_jt_num(&t, week);
    col_jt_key(&t, "timing");
    col_jt_str(&t, timing);
    col_jt_key(&t, "completed_at");
    col_time_format(completed_at, when);
    col_jt_str(&t, when);
    col_jt_key(&t, "received_at");
    col_time_format(received_at, when);
    col_jt_str(&t, when);
    col_jt_key(&t, "source");
    col_jt_str(&t, source);
    COL_JT_LIT(&t, ",\"scores\":{\"total\":");
    /* null when voided, and when the instrument has no total (ECR-R scores
     * only its two subscales): both are NAN (scoring.h), and NaN is not JSON. */
    if (isnan(score->total))
        COL_JT_LIT(&t, "null");
    else
        col_jt_real(&t, score->total);
    col_jt_key(&t, "severity");
    col_jt_str(&t, score->severity);
    col_jt_key(&t, "subscales");
    col_jt_subscales(&t, score->subscales, col_jt_real);
    col_jt_key(&t, "flags");
    col_jt_flags(&t, score);
    col_jt_key(&t, "items_answered");
    col_jt_num(&t, (double)score->answered);
    col_jt_key(&t, "items_missing");
    col_jt_num(&t, (double)score->missing);
    col_jt_key(&t, "prorated");
    col_jt_bool(&t, score->prorated);
    col_jt_key(&t, "voided");
    col_jt_bool(&t, score->voided);
    COL_JT_LIT(&t, "}}");
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

/*
 * This response's values for the batch statement (attune_response_store_rows
 * in sql/014), encoded into job->cells: `pid` 0 when the statement is to find
 * the participant by the token. 0, or -1 when out of memory or too large.
 */
static int col_batch_cells_fill(struct col_batch_job *job, const struct ins_definition *def,
                                const struct col_scored *score, const double *values, long long pid,
                                int64_t completed_at, const char *source,
                                const unsigned char hash[32], const struct col_participant *p)
{
    struct col_batch_cells *c = &job->cells;
    struct col_jtext t = {NULL, 0, 256 + json_object_size(score->subscales) * 64, 0};
    unsigned char token[32];
    size_t token_len = 0;

    col_cells_init(c);
    if (json_object_size(score->subscales) > 64 || (t.buf = malloc(t.cap)) == NULL)
        return -1;
    t.buf[0] = '\0';
    col_jt_subscales(&t, score->subscales, col_jt_num);
    col_cells_column(c, COL_BC_ID);
    col_cells_uuid(c, job->id);
    col_cells_column(c, COL_BC_PARTICIPANT);
    if (pid > 0)
        col_cells_int8(c, pid);
    else
        col_cells_null(c); /* not known yet: the statement finds them by the token */
    col_cells_column(c, COL_BC_INSTRUMENT);
    col_cells_text(c, def->id);
    col_cells_column(c, COL_BC_VERSION);
    col_cells_text(c, def->version);
    col_cells_column(c, COL_BC_COMPLETED);
    col_cells_timestamptz(c, completed_at);
    col_cells_column(c, COL_BC_SOURCE);
    col_cells_text(c, source);
    col_cells_column(c, COL_BC_HASH);
    col_cells_bytes(c, hash, 32);
    col_cells_column(c, COL_BC_TOTAL);
    col_cells_float8(c, score->total); /* NaN (voided): NULL, as in col_created_record() */
    col_cells_column(c, COL_BC_SUBSCALES);
    col_cells_jsonb(c, t.buf);
    col_cells_column(c, COL_BC_SEVERITY);
    col_cells_text(c, score->severity);
    col_cells_column(c, COL_BC_ANSWERED);
    col_cells_int4(c, (int32_t)score->answered);
    col_cells_column(c, COL_BC_MISSING);
    col_cells_int4(c, (int32_t)score->missing);
    col_cells_column(c, COL_BC_PRORATED);
    col_cells_bool(c, score->prorated);
    col_cells_column(c, COL_BC_TOKEN);
    if (p->verify_in_write &&
        sodium_hex2bin(token, sizeof token, p->token_hash_param + 2,
                       strlen(p->token_hash_param + 2), NULL, &token_len, NULL) == 0 &&
        token_len == sizeof token)
        col_cells_bytes(c, token, sizeof token);
    else if (p->verify_in_write)
        c->failed = 1;
    else
        col_cells_null(c);
    col_cells_column(c, COL_BC_ACTOR);
    col_cells_text(c, p->actor);
    col_cells_column(c, COL_BC_REQUEST_ID);
    col_cells_text(c, p->request_id);
    col_cells_column(c, COL_BC_SOURCE_ADDR);
    col_cells_text(c, p->source_addr);
    col_cells_column(c, COL_BC_FLAGS);
    for (size_t f = 0; f < score->n_flags; f++)
        col_cells_text(c, score->flags[f]);
    /* The answered items, in the definition's item order. */
    col_cells_column(c, COL_BC_ITEMS);
    for (size_t i = 0; i < def->n_items; i++)
        if (!isnan(values[i]))
            col_cells_text(c, def->items[i].id);
    col_cells_column(c, COL_BC_VALUES);
    for (size_t i = 0; i < def->n_items; i++)
        if (!isnan(values[i]))
            col_cells_float8(c, values[i]);
    free(t.buf);
    if (t.failed || c->failed) {
        col_cells_free(c);
        return -1;
    }
    return 0;
}

int col_response_submit_deferred(struct col_defs *defs, struct col_batcher *batcher,
                                 struct db_pool *pool, const struct col_deferred *d, json_t *body,
                                 const char *source, int64_t now, struct col_submit *out)
{
    struct col_submission sub;
    const struct ins_definition *def = NULL;
    const char *item_ids[INS_MAX_ITEMS];
    struct col_scored score;
    struct col_participant p;
    struct col_batch_job job;
    unsigned char hash[32];
    json_t *errors = json_array();
    struct err e;
    int stored = 0;

    memset(out, 0, sizeof *out);
    memset(&score, 0, sizeof score);
    memset(&job, 0, sizeof job);
    err_clear(&e);
    if (errors == NULL || d->token_hash_hex == NULL || strlen(d->token_hash_hex) != 2 + 64)
        goto out;
    /* Anything wrong is left to the ordinary path, which names it once the
     * token is known to be good: so the checks here need not collect. */
    col_submission_parse(body, now, &sub, errors);
    if (json_array_size(errors) > 0 || sub.instrument == NULL || sub.answers == NULL)
        goto out;
    if (col_defs_guess(defs, pool, sub.instrument, &def, &e) != 1)
        goto out;
    if (col_answers_score(def, sub.answers, "/answers", errors, &score) > 0)
        goto out;
    for (size_t i = 0; i < def->n_items; i++)
        item_ids[i] = def->items[i].id;
    col_submission_hash(def->id, def->version, sub.completed_at, item_ids, score.values,
                        def->n_items, hash);
    /* No participant: the statement finds them by the token, if it is live,
     * and names them in the audit row. */
    memset(&p, 0, sizeof p);
    p.verify_in_write = 1;
    snprintf(p.token_hash_param, sizeof p.token_hash_param, "%s", d->token_hash_hex);
    p.request_id = d->request_id;
    p.source_addr = d->source_addr;
    snprintf(job.id, sizeof job.id, "%s", sub.id);
    for (char *c = job.id; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    if (col_batch_cells_fill(&job, def, &score, score.values, 0, sub.completed_at, source, hash,
                             &p) != 0 ||
        col_batcher_store(batcher, &job) != 0 || !job.inserted)
        goto out;
    out->record_text = col_created_record(def, &score, job.id, job.week, job.timing,
                                          sub.completed_at, job.received, source);
    if (out->record_text == NULL)
        goto out; /* stored: the ordinary path answers 200 with it */
    out->status = 201;
    out->participant = job.participant;
    snprintf(out->study, sizeof out->study, "%s", job.study);
    stored = 1;
out:
    col_cells_free(&job.cells);
    json_decref(errors);
    col_scored_clear(&score);
    return stored;
}

/* `conn` (direct) or `pool` (a connection taken only while needed). */
static int col_response_submit_in(struct col_defs *defs, struct col_batcher *batcher,
                                  struct db_pool *pool, PGconn *conn,
                                  const struct col_participant *p, json_t *body, const char *source,
                                  int64_t now, struct col_submit *out)
{
    PGconn *given = conn;
    struct col_submission sub;
    const struct ins_definition *def = NULL;
    const char *item_ids[INS_MAX_ITEMS];
    struct col_scored score;
    const double *values = score.values;
    unsigned char hash[32];
    char hash_hex[2 + 64 + 1], completed[COL_TIME_MAX], total[40], answered[16], missing[16];
    char pid[24], *items = NULL, *vals = NULL, *flags = NULL, *subscales = NULL;
    const char *params[20];
    PGresult *res = NULL;
    struct err e;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&score, 0, sizeof score);
    err_clear(&e);
    out->errors = json_array();
    if (strcmp(p->status, "withdrawn") == 0)
        return col_submit_fail(out, 403, "participant-withdrawn",
                               "This participant has withdrawn from the study; nothing more is "
                               "collected.");
    /* Every problem is collected before answering: the shape, the
     * schedule, the enrolment and each answer. */
    col_submission_parse(body, now, &sub, out->errors);
    if (sub.instrument != NULL) {
        rc = col_defs_scheduled(defs, pool, conn, p->study, sub.instrument, &def, &e);
        if (rc < 0)
            return col_submit_db_fail(out, rc, &e);
        if (rc == 0)
            col_error_add(out->errors, "/instrument", "\"%s\" is not scheduled in study \"%s\"",
                          sub.instrument, p->study);
    }
    if (sub.completed_at != 0 && sub.completed_at < p->enrolled_at)
        col_error_add(out->errors, "/completed_at", "\"completed_at\" is before the enrolment");
    if (def != NULL && sub.answers != NULL)
        col_answers_score(def, sub.answers, "/answers", out->errors, &score);
    if (json_array_size(out->errors) > 0) {
        col_scored_clear(&score);
        if (def == NULL && sub.instrument != NULL && json_array_size(out->errors) == 1)
            return col_submit_fail(out, 422, "not-scheduled",
                                   "The study does not schedule the instrument \"%s\".",
                                   sub.instrument);
        return col_submit_fail(out, 422, "invalid-submission",
                               "The submission has %zu problem(s); each is listed in errors. "
                               "Nothing was stored.",
                               json_array_size(out->errors));
    }
    for (size_t i = 0; i < def->n_items; i++)
        item_ids[i] = def->items[i].id;
    col_submission_hash(def->id, def->version, sub.completed_at, item_ids, values, def->n_items,
                        hash);

    hash_hex[0] = '\\';
    hash_hex[1] = 'x';
    sodium_bin2hex(hash_hex + 2, 65, hash, sizeof hash);
    col_time_format(sub.completed_at, completed);
    snprintf(pid, sizeof pid, "%lld", p->id);

    if (batcher != NULL) {
        struct col_batch_job job;
        memset(&job, 0, sizeof job);
        snprintf(job.id, sizeof job.id, "%s", sub.id);
        for (char *c = job.id; *c; c++)
            if (*c >= 'A' && *c <= 'F')
                *c = (char)(*c - 'A' + 'a');
        if (col_batch_cells_fill(&job, def, &score, values, p->id, sub.completed_at, source, hash,
                                 p) != 0) {
            col_submit_fail(out, 500, "internal", "Out of memory.");
            goto out;
        }
        rc = col_batcher_store(batcher, &job);
        col_cells_free(&job.cells);
        if (rc < 0) {
            err_set(&e, rc, "database unavailable");
            col_submit_db_fail(out, rc, &e);
            goto out;
        }
        if (job.inserted) {
            out->record_text = col_created_record(def, &score, job.id, job.week, job.timing,
                                                  sub.completed_at, job.received, source);
            if (out->record_text == NULL)
                col_submit_fail(out, 500, "internal", "Out of memory.");
            else
                out->status = 201;
            goto out;
        }
        /* Not new: the one-by-one path below finds out what it is. */
    }

    /* Parameters of attune_response_store (only now: most responses are
     * stored by the batch). */
    {
        size_t cap = def->n_items * 72 + 8, iu = 1, vu = 1, fu = 1;
        int first = 1;
        items = malloc(cap);
        vals = malloc(cap);
        flags = malloc(INS_MAX_FLAGS * 72 + 8);
        if (items == NULL || vals == NULL || flags == NULL) {
            col_submit_fail(out, 500, "internal", "Out of memory.");
            goto out;
        }
        snprintf(items, cap, "{");
        snprintf(vals, cap, "{");
        snprintf(flags, INS_MAX_FLAGS * 72 + 8, "{");
        for (size_t i = 0; i < def->n_items; i++) {
            char num[40];
            if (isnan(values[i]))
                continue;
            col_fmt_double(num, sizeof num, values[i]);
            if (col_array_append(items, cap, &iu, def->items[i].id, first) != 0 ||
                col_array_append(vals, cap, &vu, num, first) != 0) {
                col_submit_fail(out, 500, "internal", "Too many items.");
                goto out;
            }
            first = 0;
        }
        for (size_t f = 0; f < score.n_flags; f++)
            col_array_append(flags, INS_MAX_FLAGS * 72 + 8, &fu, score.flags[f], f == 0);
        /* The sizes leave room for the closing brace. */
        snprintf(items + iu, cap - iu, "}");
        snprintf(vals + vu, cap - vu, "}");
        snprintf(flags + fu, INS_MAX_FLAGS * 72 + 8 - fu, "}");
    }
    subscales = json_dumps(score.subscales, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!isnan(score.total)) /* no total: NULL, as in col_created_record() */
        col_fmt_double(total, sizeof total, score.total);
    snprintf(answered, sizeof answered, "%zu", score.answered);
    snprintf(missing, sizeof missing, "%zu", score.missing);
    params[0] = sub.id;
    params[1] = pid;
    params[2] = def->id;
    params[3] = def->version;
    params[4] = completed;
    params[5] = source;
    params[6] = hash_hex;
    params[7] = isnan(score.total) ? NULL : total;
    params[8] = subscales;
    params[9] = score.severity;
    params[10] = flags;
    params[11] = answered;
    params[12] = missing;
    params[13] = score.prorated ? "true" : "false";
    params[14] = items;
    params[15] = vals;
    params[16] = p->verify_in_write ? p->token_hash_param : NULL;
    params[17] = p->actor;
    params[18] = p->request_id;
    params[19] = p->source_addr;

    if (conn == NULL && (conn = db_pool_acquire(pool, 5000, &e)) == NULL) {
        col_submit_db_fail(out, e.code ? e.code : DB_EUNAVAILABLE, &e);
        goto out;
    }
    for (int attempt = 0;; attempt++) {
        rc = db_query(conn, "col_response_store", 20, params, &res, &e);
        if (rc != DB_ESOFT || attempt >= COL_SOFT_RETRIES)
            break;
    }
    if (rc < 0) {
        col_submit_db_fail(out, rc, &e);
        goto out;
    }
    {
        const char *outcome = PQgetvalue(res, 0, 0);
        if (strcmp(outcome, "created") == 0) {
            out->record_text =
                col_created_record(def, &score, PQgetvalue(res, 0, 1), atoi(PQgetvalue(res, 0, 2)),
                                   PQgetvalue(res, 0, 3), sub.completed_at,
                                   strtoll(PQgetvalue(res, 0, 4), NULL, 10), source);
            if (out->record_text == NULL)
                col_submit_fail(out, 500, "internal", "Out of memory.");
            else
                out->status = 201;
        } else if (strcmp(outcome, "duplicate") == 0) {
            PGresult *row = NULL;
            const char *id = PQgetvalue(res, 0, 1);
            rc = db_query(conn, "col_response_select", 1, &id, &row, &e);
            if (rc != 1) {
                PQclear(row);
                col_submit_db_fail(out, rc < 0 ? rc : DB_EHARD, &e);
                goto out;
            }
            out->record = col_response_record_from_row(row, 0);
            PQclear(row);
            out->status = 200;
        } else if (strcmp(outcome, "id-conflict") == 0) {
            col_error_add(out->errors, "/id", "this id is already used by a different response");
            col_submit_fail(out, 409, "id-conflict",
                            "A response with the id %s was stored before with different "
                            "content; a new response needs a new id.",
                            sub.id);
        } else if (strcmp(outcome, "week-taken") == 0) {
            snprintf(out->existing, sizeof out->existing, "%s", PQgetvalue(res, 0, 1));
            col_error_add(out->errors, "/instrument",
                          "week %s of \"%s\" is already answered by response %s",
                          PQgetvalue(res, 0, 2), def->id, out->existing);
            col_submit_fail(out, 409, "already-answered",
                            "Study week %s of %s already has a response (%s); only one is kept "
                            "per instrument and week.",
                            PQgetvalue(res, 0, 2), def->id, out->existing);
        } else if (strcmp(outcome, "not-open") == 0) {
            col_error_add(out->errors, "/completed_at", "no window of \"%s\" is open at this time",
                          def->id);
            col_submit_fail(out, 422, "not-open",
                            "%s is not open yet for this participant; the next window opens at "
                            "%s.",
                            def->id, PQgetvalue(res, 0, 5));
        } else if (strcmp(outcome, "not-due") == 0) {
            col_error_add(out->errors, "/completed_at", "nothing of \"%s\" is due at this time",
                          def->id);
            col_submit_fail(out, 422, "not-due",
                            "%s is not due now: its last window is answered and the next has "
                            "not opened.",
                            def->id);
        } else if (strcmp(outcome, "window-closed") == 0) {
            col_error_add(out->errors, "/completed_at",
                          "the window of \"%s\" for week %s has closed", def->id,
                          PQgetvalue(res, 0, 2));
            col_submit_fail(out, 422, "window-closed",
                            "The window for %s in study week %s has closed, and this study does "
                            "not accept late answers.",
                            def->id, PQgetvalue(res, 0, 2));
        } else if (strcmp(outcome, "revoked") == 0) {
            col_submit_fail(out, 403, "token-revoked", "This access token has been revoked.");
        } else if (strcmp(outcome, "withdrawn") == 0) {
            col_submit_fail(out, 403, "participant-withdrawn",
                            "This participant has withdrawn from the study; nothing more is "
                            "collected.");
        } else {
            col_error_add(out->errors, "/instrument", "\"%s\" is not scheduled", def->id);
            col_submit_fail(out, 422, "not-scheduled",
                            "The study does not schedule the instrument \"%s\".", def->id);
        }
    }
out:
    if (given == NULL && conn != NULL)
        db_pool_release(pool, conn);
    PQclear(res);
    free(items);
    free(vals);
    free(flags);
    free(subscales);
    col_scored_clear(&score);
    return out->status;
}

void col_submit_reply(struct col_submit *s, struct http_reply *rep)
{
    if (s->status >= 200 && s->status < 300) {
        if (s->record_text != NULL) {
            http_reply_take(rep, s->status, "application/json", s->record_text,
                            strlen(s->record_text));
            s->record_text = NULL;
            return;
        }
        http_reply_json(rep, s->status, s->record);
        s->record = NULL;
        return;
    }
    http_problem(rep, s->status, s->code, NULL,
                 json_array_size(s->errors) > 0 ? json_incref(s->errors) : NULL, "%s", s->detail);
    if (s->status == 503)
        http_reply_header(rep, "Retry-After", "5");
    if (s->existing[0] && rep->body != NULL) {
        /* Name the response that holds the week in the problem body too. */
        json_t *body = json_loadb(rep->body, rep->body_len, 0, NULL);
        if (body != NULL) {
            json_object_set_new(body, "existing_response", json_string(s->existing));
            http_reply_json(rep, s->status, body);
            rep->content_type = "application/problem+json";
        }
    }
}

void col_reply_db_error(struct http_reply *rep, const struct err *e)
{
    if (e->code == DB_EUNAVAILABLE || e->code == DB_EBUSY) {
        http_problem(rep, 503, "database-unavailable", NULL, NULL,
                     "The database is not reachable right now, so nothing is acknowledged. "
                     "Please try again: sending the same request again is safe.");
        http_reply_header(rep, "Retry-After", "5");
        return;
    }
    {
        char q[512];
        log_event(LOG_ERROR, "collector.db", "code=%d message=%s", e->code,
                  log_quote(q, sizeof q, e->message));
    }
    http_problem(rep, 500, "internal", NULL, NULL, "The request could not be completed.");
}
