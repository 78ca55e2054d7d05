/*
 * api.c — the access JSON API: who am I, the studies a caller may see, one
 * study's counts (viewer level: aggregates), the participant list and its CSV
 * export (researcher level, audited as participant-level reads), withdrawal
 * (admin, or the participant), the audit log (admin) and API tokens.
 *
 * Participant-level reads commit their audit row in the same transaction as
 * the read: if the row cannot be written, no data leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_int.h"
#include "audit.h"
#include "log.h"

#define ACC_LIST_DEFAULT 1000
#define ACC_LIST_MAX     10000
#define ACC_CSV_ROWS_MAX 1000000

void acc_reply_unavailable(struct http_request *req, struct http_reply *rep, const struct err *e)
{
    char q[512];

    log_event(LOG_WARN, "db.unavailable", "message=%s req=%s", log_quote(q, sizeof q, e->message),
              req->request_id);
    http_problem(rep, 503, "unavailable", "Service Unavailable", NULL,
                 "The database cannot be reached right now; try again shortly.");
    http_reply_header(rep, "Retry-After", "5");
}

void acc_reply_internal(struct http_request *req, struct http_reply *rep, const char *event,
                        const struct err *e)
{
    char q[512];

    log_event(LOG_ERROR, event, "message=%s req=%s", log_quote(q, sizeof q, e->message),
              req->request_id);
    http_problem(rep, 500, "internal", NULL, NULL,
                 "The request failed; the server log has the details under request id %s.",
                 req->request_id);
}

void acc_reply_db_error(struct http_request *req, struct http_reply *rep, const struct err *e)
{
    if (e->code == DB_EUNAVAILABLE || e->code == DB_EBUSY)
        acc_reply_unavailable(req, rep, e);
    else
        acc_reply_internal(req, rep, "db.failed", e);
}

/* A non-negative whole number from the query string within [0, max], else -1. */
static long acc_query_long(const struct http_request *req, const char *name, long deflt, long max)
{
    const char *v = http_query(req, name);
    char *end;
    long n;

    if (v == NULL)
        return deflt;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 0 || n > max)
        return -1;
    return n;
}

static json_t *acc_error_item(const char *pointer, const char *message)
{
    return json_pack("{s:s, s:s}", "pointer", pointer, "message", message);
}

/* ---- GET /api/v1/session ---- */

void acc_api_session(struct http_request *req, struct http_reply *rep)
{
    const struct acc_identity *who = acc_identity_of(req);
    json_t *studies = json_array(), *body;
    char scopes[40];

    for (size_t i = 0; studies != NULL && i < who->n_studies; i++)
        json_array_append_new(studies, json_string(who->studies[i]));
    acc_scopes_format(who->scopes, scopes, sizeof scopes);
    body = json_pack("{s:s, s:s, s:s, s:o, s:s?, s:s?, s:s}", "kind",
                     who->kind == ACC_KIND_TOKEN ? "token" : "user", "user", who->username, "role",
                     acc_role_name(who->role), "studies", studies, "csrf_token", who->csrf_token,
                     "token_study", who->token_study, "scopes", scopes);
    if (body != NULL && who->kind == ACC_KIND_TOKEN)
        json_object_set_new(body, "token_id", json_integer(who->token_id));
    http_reply_json(rep, 200, body);
}

/* ---- GET /api/v1/studies and /api/v1/studies/{study} ---- */

static json_t *acc_study_row(const PGresult *res, int i)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:{s:I, s:I, s:I, s:I}}", "id",
                     PQgetvalue(res, i, 0), "title", PQgetvalue(res, i, 1), "status",
                     PQgetvalue(res, i, 2), "weeks", (int)strtol(PQgetvalue(res, i, 3), NULL, 10),
                     "timezone", PQgetvalue(res, i, 4), "created_at", PQgetvalue(res, i, 5),
                     "participants", "enrolled",
                     (json_int_t)strtoll(PQgetvalue(res, i, 6), NULL, 10), "active",
                     (json_int_t)strtoll(PQgetvalue(res, i, 7), NULL, 10), "withdrawn",
                     (json_int_t)strtoll(PQgetvalue(res, i, 8), NULL, 10), "completed",
                     (json_int_t)strtoll(PQgetvalue(res, i, 9), NULL, 10));
}

/* The studies `who` may see as a text[] literal, or NULL for all (admins).
 * Study ids are attune_key values: no quoting needed. */
static char *acc_visible_studies(const struct http_request *req, const struct acc_identity *who)
{
    size_t len = 3, used;
    char *out;

    if (who->role == ACC_ROLE_ADMIN && who->token_study == NULL)
        return NULL;
    if (who->token_study != NULL)
        return arena_printf(req->arena, "{%s}",
                            acc_identity_sees_study(who, who->token_study) ? who->token_study : "");
    for (size_t i = 0; i < who->n_studies; i++)
        len += strlen(who->studies[i]) + 1;
    if ((out = arena_alloc(req->arena, len)) == NULL)
        return NULL;
    used = (size_t)snprintf(out, len, "{");
    for (size_t i = 0; i < who->n_studies; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "", who->studies[i]);
    snprintf(out + used, len - used, "}");
    return out;
}

void acc_api_studies(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    const struct acc_identity *who = acc_identity_of(req);
    const char *params[1] = {acc_visible_studies(req, who)};
    json_t *list = json_array();
    PGresult *res = NULL;
    PGconn *conn;
    struct err e;
    int n;

    err_clear(&e);
    if ((conn = db_pool_acquire(env->pool, 2000, &e)) == NULL) {
        json_decref(list);
        acc_reply_db_error(req, rep, &e);
        return;
    }
    n = db_query(conn, "acc_studies", 1, params, &res, &e);
    db_pool_release(env->pool, conn);
    if (n < 0) {
        json_decref(list);
        acc_reply_db_error(req, rep, &e);
        return;
    }
    for (int i = 0; i < n; i++)
        json_array_append_new(list, acc_study_row(res, i));
    PQclear(res);
    http_reply_json(rep, 200, json_pack("{s:o}", "studies", list));
}

void acc_api_study(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    const char *study = http_path_param(req, "study");
    const char *params[1] = {study};
    PGresult *res = NULL, *arms = NULL;
    json_t *body = NULL, *arm_list;
    PGconn *conn;
    struct err e;
    int n;

    err_clear(&e);
    if ((conn = db_pool_acquire(env->pool, 2000, &e)) == NULL) {
        acc_reply_db_error(req, rep, &e);
        return;
    }
    n = db_query(conn, "acc_study", 1, params, &res, &e);
    if (n == 1) {
        n = db_query(conn, "acc_study_arms", 1, params, &arms, &e) < 0 ? -1 : 1;
    }
    db_pool_release(env->pool, conn);
    if (n < 0) {
        PQclear(res);
        acc_reply_db_error(req, rep, &e);
        return;
    }
    if (n == 0) {
        PQclear(res);
        http_problem(rep, 404, "not-found", NULL, NULL, "There is no study \"%s\".", study);
        return;
    }
    body = acc_study_row(res, 0);
    arm_list = json_array();
    for (int i = 0; i < PQntuples(arms); i++)
        json_array_append_new(
            arm_list, json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I}}", "id", PQgetvalue(arms, i, 0),
                                "label", PQgetvalue(arms, i, 1), "participants", "enrolled",
                                (json_int_t)strtoll(PQgetvalue(arms, i, 2), NULL, 10), "active",
                                (json_int_t)strtoll(PQgetvalue(arms, i, 3), NULL, 10), "withdrawn",
                                (json_int_t)strtoll(PQgetvalue(arms, i, 4), NULL, 10), "completed",
                                (json_int_t)strtoll(PQgetvalue(arms, i, 5), NULL, 10)));
    if (body != NULL)
        json_object_set_new(body, "arms", arm_list);
    else
        json_decref(arm_list);
    PQclear(res);
    PQclear(arms);
    http_reply_json(rep, 200, body);
}

/* ---- participant-level reads: JSON and CSV, each audited ---- */

struct acc_read_tx {
    const struct http_request *req;
    const char *study;
    const char *action; /* participant.list, export.csv */
    char limit[24], offset[24];
    PGresult *res; /* the rows, for the caller */
};

static int acc_read_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct acc_read_tx *t = vctx;
    const char *params[3] = {t->study, t->limit, t->offset};
    struct audit_entry a;
    json_t *detail;
    int rc, n;

    PQclear(t->res);
    t->res = NULL;
    if ((n = db_query(conn, "acc_study_exists", 1, params, NULL, e)) <= 0)
        return n < 0 ? n : err_set(e, ACC_ENOTFOUND, "study \"%s\" not found", t->study);
    if ((n = db_query(conn, "acc_participants", 3, params, &t->res, e)) < 0)
        return n;
    audit_entry_from_request(&a, t->req);
    a.action = t->action;
    a.target = arena_printf(t->req->arena, "study:%s/participants", t->study);
    detail = json_pack("{s:i}", "rows", n);
    a.detail = detail;
    rc = audit_append(conn, &a, e);
    json_decref(detail);
    return rc;
}

static void acc_read_failed(struct http_request *req, struct http_reply *rep, int rc,
                            const struct err *e)
{
    if (rc == ACC_ENOTFOUND)
        http_problem(rep, 404, "not-found", NULL, NULL, "There is no study \"%s\".",
                     http_path_param(req, "study"));
    else
        acc_reply_db_error(req, rep, e);
}

void acc_api_participants(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    struct acc_read_tx t = {req, http_path_param(req, "study"), "participant.list", "", "", NULL};
    long limit = acc_query_long(req, "limit", ACC_LIST_DEFAULT, ACC_LIST_MAX);
    long offset = acc_query_long(req, "offset", 0, 100000000L);
    json_t *list;
    struct err e;
    int rc;

    if (limit < 0 || offset < 0) {
        json_t *errors = json_array();
        if (limit < 0)
            json_array_append_new(errors, acc_error_item("/query/limit",
                                                         "limit must be a whole number from 0 "
                                                         "to 10000"));
        if (offset < 0)
            json_array_append_new(errors,
                                  acc_error_item("/query/offset", "offset must be a whole number"));
        http_problem(rep, 400, "invalid-query", NULL, errors, "The query parameters are invalid.");
        return;
    }
    snprintf(t.limit, sizeof t.limit, "%ld", limit);
    snprintf(t.offset, sizeof t.offset, "%ld", offset);
    err_clear(&e);
    if ((rc = db_run(env->pool, DB_READ_COMMITTED, acc_read_tx, &t, &e)) != 0) {
        PQclear(t.res);
        acc_read_failed(req, rep, rc, &e);
        return;
    }
    list = json_array();
    for (int i = 0; i < PQntuples(t.res); i++) {
#define COL(k) (PQgetisnull(t.res, i, k) ? NULL : PQgetvalue(t.res, i, k))
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b}", "code", COL(0), "arm",
                                        COL(1), "status", COL(2), "enrolled_at", COL(3),
                                        "withdrawn_at", COL(4), "erased", COL(5) != NULL));
#undef COL
    }
    PQclear(t.res);
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:o, s:i, s:i}", "study", t.study, "participants", list,
                              "limit", (int)limit, "offset", (int)offset));
}

/* Appends a CSV field, quoted when it needs to be (RFC 4180). */
static int acc_csv_field(char **buf, size_t *len, size_t *cap, const char *s, int last)
{
    size_t need = 2 * strlen(s) + 4;
    int quote = strpbrk(s, ",\"\r\n") != NULL;

    if (*len + need + 1 > *cap) {
        size_t c = *cap ? *cap : 65536;
        char *grown;
        while (c < *len + need + 1)
            c *= 2;
        if ((grown = realloc(*buf, c)) == NULL)
            return -1;
        *buf = grown;
        *cap = c;
    }
    if (quote)
        (*buf)[(*len)++] = '"';
    for (; *s; s++) {
        if (*s == '"')
            (*buf)[(*len)++] = '"';
        (*buf)[(*len)++] = *s;
    }
    if (quote)
        (*buf)[(*len)++] = '"';
    if (last) {
        (*buf)[(*len)++] = '\r';
        (*buf)[(*len)++] = '\n';
    } else {
        (*buf)[(*len)++] = ',';
    }
    (*buf)[*len] = '\0';
    return 0;
}

void acc_api_participants_csv(struct http_request *req, struct http_reply *rep)
{
    static const char *const header[] = {"code",        "arm",          "status",
                                         "enrolled_at", "withdrawn_at", "erased_at"};
    struct acc_env *env = req->app;
    struct acc_read_tx t = {req, http_path_param(req, "study"), "export.csv", "", "0", NULL};
    char *csv = NULL, disposition[160];
    size_t len = 0, cap = 0;
    struct err e;
    int failed = 0, rc;

    snprintf(t.limit, sizeof t.limit, "%d", ACC_CSV_ROWS_MAX);
    err_clear(&e);
    if ((rc = db_run(env->pool, DB_READ_COMMITTED, acc_read_tx, &t, &e)) != 0) {
        PQclear(t.res);
        acc_read_failed(req, rep, rc, &e);
        return;
    }
    for (int k = 0; k < 6; k++)
        failed |= acc_csv_field(&csv, &len, &cap, header[k], k == 5);
    for (int i = 0; i < PQntuples(t.res) && !failed; i++)
        for (int k = 0; k < 6; k++)
            failed |= acc_csv_field(&csv, &len, &cap, PQgetvalue(t.res, i, k), k == 5);
    PQclear(t.res);
    if (failed) {
        free(csv);
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    http_reply_take(rep, 200, "text/csv; charset=utf-8", csv, len);
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-participants.csv\"",
             t.study);
    http_reply_header(rep, "Content-Disposition", disposition);
}

/* ---- withdrawal ---- */

struct acc_withdraw_tx {
    const struct http_request *req;
    const char *study;
    const char *code;
    long long participant_id; /* a participant's own request */
    const char *reason;
    struct acc_participant p;
    int already;
};

static int acc_withdraw_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct acc_withdraw_tx *t = vctx;
    struct audit_entry who;
    int rc;

    rc = t->participant_id > 0 ? acc_participant_find_id(conn, t->participant_id, &t->p, e)
                               : acc_participant_find(conn, t->study, t->code, &t->p, e);
    if (rc != 0)
        return rc;
    audit_entry_from_request(&who, t->req);
    who.reason = t->reason;
    rc = acc_participant_withdraw(conn, &t->p, &who, e);
    t->already = rc == 1;
    return rc < 0 ? rc : 0;
}

static void acc_withdraw_reply(struct http_reply *rep, const struct acc_withdraw_tx *t)
{
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "study", t->p.study_id, "code",
                              t->p.code, "arm", t->p.arm_id, "status", t->p.status, "withdrawn_at",
                              t->p.withdrawn_at, "already_withdrawn", t->already));
}

void acc_api_withdraw(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    struct acc_withdraw_tx t;
    json_error_t jerr;
    const char *reason = NULL;
    struct err e;
    int rc;

    memset(&t, 0, sizeof t);
    if (json_unpack_ex(req->json, &jerr, JSON_STRICT, "{s?:s}", "reason", &reason) != 0) {
        http_problem(rep, 422, "invalid-body", NULL,
                     json_pack("[{s:s, s:s}]", "pointer", "/reason", "message", jerr.text),
                     "The body must be an object with an optional string \"reason\": %s.",
                     jerr.text);
        return;
    }
    if (reason != NULL && strlen(reason) > 2000) {
        http_problem(
            rep, 422, "invalid-body", NULL,
            json_pack("[{s:s, s:s}]", "pointer", "/reason", "message", "at most 2000 characters"),
            "The reason is too long.");
        return;
    }
    t.req = req;
    t.study = http_path_param(req, "study");
    t.code = http_path_param(req, "code");
    t.reason = reason;
    err_clear(&e);
    rc = db_run(env->pool, DB_READ_COMMITTED, acc_withdraw_tx, &t, &e);
    if (rc == ACC_ENOTFOUND) {
        http_problem(rep, 404, "not-found", NULL, NULL, "There is no participant \"%s\" in \"%s\".",
                     t.code, t.study);
        return;
    }
    if (rc != 0) {
        acc_reply_db_error(req, rep, &e);
        return;
    }
    acc_withdraw_reply(rep, &t);
}

void acc_api_me_withdraw(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    const struct acc_identity *who = acc_identity_of(req);
    struct acc_withdraw_tx t;
    struct err e;

    memset(&t, 0, sizeof t);
    t.req = req;
    t.participant_id = who->participant_id;
    t.reason = "withdrawn by the participant";
    err_clear(&e);
    if (db_run(env->pool, DB_READ_COMMITTED, acc_withdraw_tx, &t, &e) != 0) {
        acc_reply_db_error(req, rep, &e);
        return;
    }
    acc_withdraw_reply(rep, &t);
}

/* ---- GET /api/v1/audit ---- */

/* "2026-11-28", "2026-11-28T18:00", "…:00", "…:00.123456", with Z or ±hh:mm. */
static int acc_time_ok(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;

    if (s == NULL || strlen(s) > 40 || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 ||
        used != 10)
        return 0;
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return 0;
    s += 10;
    if (*s == 'T' || *s == ' ') {
        if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &used) != 2 || used != 5)
            return 0;
        s += 6;
        if (*s == ':') {
            if (sscanf(s + 1, "%2d%n", &sec, &used) != 1 || used != 2)
                return 0;
            s += 3;
            if (*s == '.') {
                size_t digits = strspn(s + 1, "0123456789");
                if (digits < 1 || digits > 6)
                    return 0;
                s += 1 + digits;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return 0;
    }
    if (*s == 'Z')
        s++;
    else if (*s == '+' || *s == '-') {
        int oh, om = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &used) == 2 && used == 5)
            s += 6;
        else if (sscanf(s + 1, "%2d%n", &oh, &used) == 1 && used == 2)
            s += 3;
        else
            return 0;
        if (oh > 14 || om > 59)
            return 0;
    }
    return *s == '\0';
}

struct acc_audit_tx {
    const struct http_request *req;
    struct audit_filter f;
    json_t *rows;
};

static int acc_audit_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct acc_audit_tx *t = vctx;
    struct audit_entry a;
    json_t *detail;
    int n, rc;

    json_decref(t->rows);
    t->rows = NULL;
    if ((n = audit_query(conn, &t->f, &t->rows, e)) < 0)
        return n;
    audit_entry_from_request(&a, t->req);
    a.action = "audit.read";
    a.target = "audit_log";
    detail = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:i}", "since", t->f.since, "until",
                       t->f.until, "actor", t->f.actor, "action", t->f.action, "target",
                       t->f.target, "study", t->f.study_id, "rows", n);
    a.detail = detail;
    rc = audit_append(conn, &a, e);
    json_decref(detail);
    return rc;
}

void acc_api_audit(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    struct acc_audit_tx t;
    json_t *errors = json_array();
    long limit = acc_query_long(req, "limit", 100, 10000);
    struct err e;

    memset(&t, 0, sizeof t);
    t.req = req;
    t.f.since = http_query(req, "since");
    t.f.until = http_query(req, "until");
    t.f.actor = http_query(req, "actor");
    t.f.action = http_query(req, "action");
    t.f.target = http_query(req, "target");
    t.f.study_id = http_query(req, "study");
    t.f.limit = limit;
    if (t.f.since != NULL && !acc_time_ok(t.f.since))
        json_array_append_new(errors, acc_error_item("/query/since", "not an RFC 3339 time"));
    if (t.f.until != NULL && !acc_time_ok(t.f.until))
        json_array_append_new(errors, acc_error_item("/query/until", "not an RFC 3339 time"));
    if (limit < 0)
        json_array_append_new(errors, acc_error_item("/query/limit",
                                                     "limit must be a whole number from 0 to "
                                                     "10000"));
    if (json_array_size(errors) > 0) {
        http_problem(rep, 400, "invalid-query", NULL, errors, "The query parameters are invalid.");
        return;
    }
    json_decref(errors);
    err_clear(&e);
    if (db_run(env->pool, DB_READ_COMMITTED, acc_audit_tx, &t, &e) != 0) {
        json_decref(t.rows);
        acc_reply_db_error(req, rep, &e);
        return;
    }
    http_reply_json(rep, 200, json_pack("{s:o}", "entries", t.rows));
}

/* ---- API tokens ---- */

void acc_api_tokens(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    const struct acc_identity *who = acc_identity_of(req);
    json_t *list = NULL;
    PGconn *conn;
    struct err e;
    int n;

    err_clear(&e);
    if ((conn = db_pool_acquire(env->pool, 2000, &e)) == NULL) {
        acc_reply_db_error(req, rep, &e);
        return;
    }
    n = acc_token_list(conn, who->user_id, &list, &e);
    db_pool_release(env->pool, conn);
    if (n < 0) {
        acc_reply_db_error(req, rep, &e);
        return;
    }
    http_reply_json(rep, 200, json_pack("{s:o}", "tokens", list));
}

struct acc_token_tx {
    const struct http_request *req;
    struct acc_token_spec spec;
    struct acc_token_made made;
    long long revoke_id;
    long long owner;
    int already;
};

static int acc_token_create_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct acc_token_tx *t = vctx;
    struct audit_entry who;

    audit_entry_from_request(&who, t->req);
    return acc_token_create(conn, &t->spec, &who, &t->made, e);
}

void acc_api_token_create(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    const struct acc_identity *who = acc_identity_of(req);
    struct acc_token_tx t;
    json_t *scopes = NULL, *errors = json_array(), *s;
    const char *name = NULL, *study = NULL;
    char scope_text[40];
    int days = 90;
    json_error_t jerr;
    size_t i;
    struct err e;
    int rc;

    memset(&t, 0, sizeof t);
    if (json_unpack_ex(req->json, &jerr, JSON_STRICT, "{s:s, s:o, s?:s, s?:i}", "name", &name,
                       "scopes", &scopes, "study", &study, "expires_days", &days) != 0) {
        json_decref(errors);
        http_problem(rep, 422, "invalid-body", NULL,
                     json_pack("[{s:s, s:s}]", "pointer", "", "message", jerr.text),
                     "The body must be {\"name\": text, \"scopes\": [\"read\", ...], \"study\": "
                     "id (optional), \"expires_days\": 1-3650 (optional)}: %s.",
                     jerr.text);
        return;
    }
    if (strlen(name) < 1 || strlen(name) > 100)
        json_array_append_new(errors, acc_error_item("/name", "1 to 100 characters"));
    if (!json_is_array(scopes) || json_array_size(scopes) == 0)
        json_array_append_new(errors,
                              acc_error_item("/scopes", "a non-empty list of read, write, export"));
    json_array_foreach(scopes, i, s)
    {
        unsigned bit = 0;
        if (!json_is_string(s) || acc_scopes_parse(json_string_value(s), &bit) != 0 ||
            strchr(json_string_value(s), ',') != NULL) {
            char *ptr = arena_printf(req->arena, "/scopes/%zu", i);
            json_array_append_new(errors, acc_error_item(ptr, "read, write or export"));
        }
        t.spec.scopes |= bit;
    }
    if (days < 1 || days > 3650)
        json_array_append_new(errors, acc_error_item("/expires_days", "1 to 3650 days"));
    if (study != NULL && !acc_identity_sees_study(who, study))
        json_array_append_new(errors, acc_error_item("/study", "not a study you are a member of"));
    if ((t.spec.scopes & ACC_SCOPE_EXPORT) && who->role < ACC_ROLE_RESEARCHER)
        json_array_append_new(errors,
                              acc_error_item("/scopes", "export needs the researcher role"));
    if (json_array_size(errors) > 0) {
        http_problem(rep, 422, "invalid-body", NULL, errors, "The token request is invalid.");
        return;
    }
    json_decref(errors);
    t.req = req;
    t.spec.user_id = who->user_id;
    t.spec.username = who->username;
    t.spec.name = name;
    t.spec.study = study;
    t.spec.days = days;
    err_clear(&e);
    rc = db_run(env->pool, DB_READ_COMMITTED, acc_token_create_tx, &t, &e);
    if (rc == ACC_ENOTFOUND || rc == ACC_EINVAL) {
        http_problem(rep, 422, "invalid-body", NULL, NULL, "%s.", e.message);
        return;
    }
    if (rc != 0) {
        acc_reply_db_error(req, rep, &e);
        return;
    }
    acc_scopes_format(t.spec.scopes, scope_text, sizeof scope_text);
    http_reply_json(rep, 201,
                    json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s, s:s}", "id", (json_int_t)t.made.id,
                              "token", t.made.token, "name", name, "study", study, "scopes",
                              scope_text, "created_at", t.made.created_at, "expires_at",
                              t.made.expires_at));
}

static int acc_token_revoke_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct acc_token_tx *t = vctx;
    struct audit_entry who;
    int rc;

    audit_entry_from_request(&who, t->req);
    rc = acc_token_revoke(conn, t->revoke_id, t->owner, &who, e);
    t->already = rc == 1;
    return rc < 0 ? rc : 0;
}

void acc_api_token_revoke(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    const struct acc_identity *who = acc_identity_of(req);
    const char *idtext = http_path_param(req, "id");
    struct acc_token_tx t;
    char *end;
    struct err e;
    int rc;

    memset(&t, 0, sizeof t);
    t.req = req;
    t.revoke_id = strtoll(idtext, &end, 10);
    if (end == idtext || *end != '\0' || t.revoke_id <= 0) {
        http_problem(rep, 404, "not-found", NULL, NULL, "There is no token \"%s\".", idtext);
        return;
    }
    /* Admins may revoke anyone's token; others only their own. */
    t.owner = who->role == ACC_ROLE_ADMIN ? 0 : who->user_id;
    err_clear(&e);
    rc = db_run(env->pool, DB_READ_COMMITTED, acc_token_revoke_tx, &t, &e);
    if (rc == ACC_ENOTFOUND) {
        http_problem(rep, 404, "not-found", NULL, NULL, "There is no token %lld of yours.",
                     t.revoke_id);
        return;
    }
    if (rc != 0) {
        acc_reply_db_error(req, rep, &e);
        return;
    }
    http_reply_json(rep, 200,
                    json_pack("{s:I, s:b, s:b}", "id", (json_int_t)t.revoke_id, "revoked", 1,
                              "already_revoked", t.already));
}
