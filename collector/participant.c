/*
 * participant.c — the participant API: token authentication, GET
 * /api/v1/me, POST /api/v1/responses and POST /api/v1/events.
 *
 * Events take one round trip per batch: the whole batch is checked in C
 * first (col_events_check: every bad event and field named), then one
 * statement checks the types against the study's registry and inserts the
 * batch with ON CONFLICT DO NOTHING, returning how many rows were new. An
 * event's identity is (participant, at, id), the events table's primary key:
 * a retried upload resends the same event with the same time and is
 * absorbed; see docs/collector.md for why a global (participant, id) check is
 * not made on the partitioned table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "col_int.h"
#include "log.h"

#define COL_TOKEN_MAX 128

void col_token_hash(const char *token, unsigned char out[32])
{
    crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

int col_participant_by_token(PGconn *conn, const char *token, struct col_participant *out,
                             struct err *e)
{
    unsigned char hash[32];
    char hex[2 + 64 + 1];
    const char *param = hex;
    PGresult *res = NULL;
    int rc;

    if (token == NULL || strlen(token) < 16 || strlen(token) > COL_TOKEN_MAX)
        return 0;
    col_token_hash(token, hash);
    hex[0] = '\\';
    hex[1] = 'x';
    sodium_bin2hex(hex + 2, 65, hash, sizeof hash);
    rc = db_query(conn, "col_participant_by_token", 1, &param, &res, e);
    if (rc == 1) {
        memset(out, 0, sizeof *out);
        out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(out->study, sizeof out->study, "%s", PQgetvalue(res, 0, 1));
        snprintf(out->arm, sizeof out->arm, "%s", PQgetvalue(res, 0, 2));
        snprintf(out->code, sizeof out->code, "%s", PQgetvalue(res, 0, 3));
        snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, 0, 4));
        out->enrolled_at = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        snprintf(out->timezone, sizeof out->timezone, "%s", PQgetvalue(res, 0, 6));
        out->allow_late = PQgetvalue(res, 0, 7)[0] == 't';
        out->revoked = PQgetvalue(res, 0, 8)[0] == 't';
        memcpy(out->token_hash_param, hex, sizeof hex);
    }
    PQclear(res);
    return rc;
}

/*
 * The hook for every route with an auth level: participant routes take
 * `Authorization: Bearer <token>`. Unknown or revoked token: 401. A
 * withdrawn participant may still read (GET) but every write is 403.
 */
int col_authorize(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = col_app_of(req);
    const char *h = http_header(req, "authorization");
    struct col_participant *p;
    unsigned char hash[32];
    PGconn *conn;
    struct err e;
    int rc;

    if (req->route->auth != COL_AUTH_PARTICIPANT) {
        http_problem(rep, 403, "forbidden", NULL, NULL, "This endpoint needs access rights.");
        return 1;
    }
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
        http_problem(rep, 401, "unauthenticated", NULL, NULL,
                     "This endpoint needs the participant's token as "
                     "\"Authorization: Bearer <token>\".");
        http_reply_header(rep, "WWW-Authenticate", "Bearer");
        return 1;
    }
    p = arena_calloc(req->arena, 1, sizeof *p);
    if (p == NULL) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return 1;
    }
    col_token_hash(h + 7, hash);
    /* A write with a known token goes straight on: its statement checks the
     * token and the participant's status itself (see col_int.h). */
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
        col_token_cache_get(app->tokens, hash, p)) {
        p->verify_in_write = 1;
        req->auth = p;
        return 0;
    }
    err_clear(&e);
    conn = db_pool_acquire(app->pool, 5000, &e);
    if (conn == NULL) {
        col_reply_db_error(rep, &e);
        return 1;
    }
    rc = col_participant_by_token(conn, h + 7, p, &e);
    db_pool_release(app->pool, conn);
    if (rc < 0) {
        col_reply_db_error(rep, &e);
        return 1;
    }
    if (rc == 0 || p->revoked) {
        http_problem(rep, 401, rc == 0 ? "invalid-token" : "token-revoked", NULL, NULL,
                     rc == 0 ? "The token is not known." : "The token has been revoked.");
        http_reply_header(rep, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        return 1;
    }
    if (strcmp(p->status, "withdrawn") == 0 && strcmp(req->method, "GET") != 0 &&
        strcmp(req->method, "HEAD") != 0) {
        http_problem(rep, 403, "withdrawn", NULL, NULL,
                     "This participant has withdrawn from the study; nothing more is collected.");
        return 1;
    }
    if (strcmp(p->status, "active") == 0)
        col_token_cache_put(app->tokens, hash, p);
    req->auth = p;
    return 0;
}

void col_participant_refused(struct col_app *app, struct http_reply *rep,
                             const struct col_participant *p, int withdrawn)
{
    unsigned char hash[32];

    if (sodium_hex2bin(hash, sizeof hash, p->token_hash_param + 2, 64, NULL, NULL, NULL) == 0)
        col_token_cache_drop(app->tokens, hash);
    if (withdrawn) {
        http_problem(rep, 403, "withdrawn", NULL, NULL,
                     "This participant has withdrawn from the study; nothing more is collected.");
    } else {
        http_problem(rep, 401, "token-revoked", NULL, NULL, "The token has been revoked.");
        http_reply_header(rep, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    }
}

void col_submit_forget(struct col_app *app, const struct col_participant *p,
                       const struct col_submit *s)
{
    unsigned char hash[32];

    if ((s->status == 401 || s->status == 403) && p->token_hash_param[0] &&
        sodium_hex2bin(hash, sizeof hash, p->token_hash_param + 2, 64, NULL, NULL, NULL) == 0)
        col_token_cache_drop(app->tokens, hash);
}

/* ------------------------------------------------------------------ /me */

static json_t *col_time_value(const char *usec_text)
{
    char buf[COL_TIME_MAX];

    col_time_format(strtoll(usec_text, NULL, 10), buf);
    return json_string(buf);
}

static void col_me(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = col_app_of(req);
    const struct col_participant *p = req->auth;
    PGresult *study = NULL, *sched = NULL, *week = NULL;
    char pid[24];
    const char *param;
    json_t *list = NULL;
    PGconn *conn;
    struct err e;
    int rc;

    err_clear(&e);
    snprintf(pid, sizeof pid, "%lld", p->id);
    conn = db_pool_acquire(app->pool, 5000, &e);
    if (conn == NULL) {
        col_reply_db_error(rep, &e);
        return;
    }
    param = p->study;
    rc = db_query(conn, "col_study_select", 1, &param, &study, &e);
    param = pid;
    if (rc == 1)
        rc = db_query(conn, "col_participant_schedule", 1, &param, &sched, &e);
    if (rc >= 0)
        rc = db_query(conn, "col_participant_week", 1, &param, &week, &e);
    db_pool_release(app->pool, conn);
    if (rc < 0) {
        col_reply_db_error(rep, &e);
        goto out;
    }
    list = json_array();
    for (int r = 0; sched && r < PQntuples(sched); r++)
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:i, s:o, s:o, s:s, s:s?}", "instrument",
                      PQgetvalue(sched, r, 0), "version", PQgetvalue(sched, r, 1), "week",
                      atoi(PQgetvalue(sched, r, 2)), "opens_at",
                      col_time_value(PQgetvalue(sched, r, 3)), "closes_at",
                      col_time_value(PQgetvalue(sched, r, 4)), "status", PQgetvalue(sched, r, 5),
                      "response_id",
                      PQgetisnull(sched, r, 6) ? NULL : PQgetvalue(sched, r, 6)));
    {
        char enrolled[COL_TIME_MAX];
        col_time_format(p->enrolled_at, enrolled);
        http_reply_json(
            rep, 200,
            json_pack("{s:{s:s, s:s, s:i, s:s, s:b, s:s}, s:{s:s, s:s, s:s, s:s}, s:i, s:o}",
                      "study", "id", PQgetvalue(study, 0, 0), "title", PQgetvalue(study, 0, 1),
                      "weeks", atoi(PQgetvalue(study, 0, 2)), "timezone",
                      PQgetvalue(study, 0, 3), "allow_late", PQgetvalue(study, 0, 4)[0] == 't',
                      "support_text",
                      PQgetisnull(study, 0, 5) ? col_default_support_text
                                               : PQgetvalue(study, 0, 5),
                      "participant", "code", p->code, "arm", p->arm, "status", p->status,
                      "enrolled_at", enrolled, "study_week",
                      week && PQntuples(week) ? atoi(PQgetvalue(week, 0, 0)) : 0,
                      "questionnaires", list));
        list = NULL;
    }
out:
    json_decref(list);
    PQclear(study);
    PQclear(sched);
    PQclear(week);
}

/* ----------------------------------------------------------- responses */

static void col_responses_post(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = col_app_of(req);
    struct col_submit s;
    PGconn *conn;
    struct err e;

    err_clear(&e);
    conn = db_pool_acquire(app->pool, 5000, &e);
    if (conn == NULL) {
        col_reply_db_error(rep, &e);
        return;
    }
    col_response_submit_via(app->defs, app->batcher, conn, req->auth, req->json, "api",
                            col_time_now(), &s);
    db_pool_release(app->pool, conn);
    col_submit_forget(app, req->auth, &s);
    col_submit_reply(&s, rep);
    col_submit_clear(&s);
}

/* --------------------------------------------------------------- events */

/* Builds "{a,b,c}" from an array of type names (already checked: [a-z0-9_]). */
static char *col_types_literal(json_t *types)
{
    size_t cap = 2 + json_array_size(types) * 66, used = 1, i;
    char *lit = malloc(cap + 1);
    json_t *t;

    if (lit == NULL)
        return NULL;
    lit[0] = '{';
    json_array_foreach(types, i, t)
    {
        int n = snprintf(lit + used, cap + 1 - used, "%s%s", i ? "," : "", json_string_value(t));
        used += (size_t)n;
    }
    lit[used++] = '}';
    lit[used] = '\0';
    return lit;
}

/* Names every event whose type is in `unknown` (a JSON array text). */
static void col_events_unknown(json_t *batch, const char *unknown_json, json_t *errors)
{
    json_t *unknown = json_loads(unknown_json, 0, NULL), *ev;
    size_t i;

    json_array_foreach(batch, i, ev)
    {
        json_t *type = json_object_get(ev, "type"), *u;
        size_t k;
        if (!json_is_string(type))
            continue;
        json_array_foreach(unknown, k, u)
        {
            if (json_is_string(u) && strcmp(json_string_value(u), json_string_value(type)) == 0) {
                char ptr[48];
                snprintf(ptr, sizeof ptr, "/%zu/type", i);
                col_error_add(errors, ptr, "\"%s\" is not an event type of this study",
                              json_string_value(type));
            }
        }
    }
    json_decref(unknown);
}

static void col_events_post(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = col_app_of(req);
    const struct col_participant *p = req->auth;
    json_t *errors = json_array(), *rows = NULL, *types = NULL;
    char *rows_text = NULL, *types_lit = NULL, pid[24];
    PGresult *res = NULL;
    PGconn *conn = NULL;
    struct err e;
    int rc;

    err_clear(&e);
    if (col_events_check(req->json, col_time_now(), p->enrolled_at, errors, &rows, &types) > 0) {
        /* Name unknown types too, so the 422 lists every problem at once. */
        json_t *all = json_array(), *ev;
        size_t i;
        json_array_foreach(req->json, i, ev)
        {
            json_t *t = json_object_get(ev, "type");
            if (json_is_string(t) && col_event_type_ok(json_string_value(t)))
                json_array_append(all, t);
        }
        if (json_array_size(all) > 0 && json_array_size(req->json) <= COL_EVENTS_MAX &&
            (types_lit = col_types_literal(all)) != NULL &&
            (conn = db_pool_acquire(app->pool, 5000, &e)) != NULL) {
            const char *params[2] = {p->study, types_lit};
            if (db_query(conn, "col_event_types_unknown", 2, params, &res, &e) == 1)
                col_events_unknown(req->json, PQgetvalue(res, 0, 0), errors);
        }
        json_decref(all);
        http_problem(rep, 422, "invalid-events", NULL, json_incref(errors),
                     "The batch has %zu problem(s), each listed in errors; nothing was stored.",
                     json_array_size(errors));
        goto out;
    }
    rows_text = json_dumps(rows, JSON_COMPACT | JSON_REAL_PRECISION(17));
    types_lit = col_types_literal(types);
    if (rows_text == NULL || types_lit == NULL) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        goto out;
    }
    snprintf(pid, sizeof pid, "%lld", p->id);
    conn = db_pool_acquire(app->pool, 5000, &e);
    if (conn == NULL) {
        col_reply_db_error(rep, &e);
        goto out;
    }
    {
        const char *params[5] = {pid, p->study, types_lit, rows_text,
                                 p->verify_in_write ? p->token_hash_param : NULL};
        for (int attempt = 0;; attempt++) {
            rc = db_query(conn, "col_events_insert", 5, params, &res, &e);
            if (rc != DB_ESOFT || attempt >= 3)
                break;
        }
    }
    if (rc != 1) {
        if (rc >= 0)
            err_set(&e, DB_EHARD, "the events statement returned %d rows", rc);
        col_reply_db_error(rep, &e);
        goto out;
    }
    if (PQgetisnull(res, 0, 2) || PQgetvalue(res, 0, 2)[0] != 't' ||
        PQgetvalue(res, 0, 3)[0] != 't') {
        col_participant_refused(app, rep, p, PQgetisnull(res, 0, 2) || PQgetvalue(res, 0, 2)[0] != 't');
        goto out;
    }
    if (!PQgetisnull(res, 0, 1)) {
        col_events_unknown(req->json, PQgetvalue(res, 0, 1), errors);
        http_problem(rep, 422, "invalid-events", NULL, json_incref(errors),
                     "The batch has %zu problem(s), each listed in errors; nothing was stored.",
                     json_array_size(errors));
        goto out;
    }
    {
        long long inserted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        long long received = (long long)json_array_size(rows);
        http_reply_json(rep, 200,
                        json_pack("{s:I, s:I, s:I}", "received", (json_int_t)received, "accepted",
                                  (json_int_t)inserted, "duplicates",
                                  (json_int_t)(received - inserted)));
    }
out:
    if (conn != NULL)
        db_pool_release(app->pool, conn);
    PQclear(res);
    free(rows_text);
    free(types_lit);
    json_decref(rows);
    json_decref(types);
    json_decref(errors);
}

/* Bodies: a questionnaire is small; a batch of 1,000 events with props may
 * be a few MB at most (props are capped at 4 KB each). */
const struct http_route col_participant_routes[] = {
    {"GET", "/api/v1/me", COL_AUTH_PARTICIPANT, HTTP_BODY_NONE, 0, col_me,
     "the participant's study, week and questionnaires"},
    {"POST", "/api/v1/responses", COL_AUTH_PARTICIPANT, HTTP_BODY_JSON, 64 * 1024,
     col_responses_post, "submit one questionnaire"},
    {"POST", "/api/v1/events", COL_AUTH_PARTICIPANT, HTTP_BODY_JSON, 4 * 1024 * 1024,
     col_events_post, "upload a batch of app events"},
};
const size_t col_participant_routes_count =
    sizeof col_participant_routes / sizeof col_participant_routes[0];
