/*
 * participant.c — the participant API: token authentication, GET
 * /api/v1/me, POST /api/v1/responses and POST /api/v1/events.
 *
 * Who is asking was settled by the access module (acc_authorize()); these
 * handlers take the participant from req->auth (col_participant_of()).
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

#include "col_int.h"
#include "log.h"

int col_participant_of(struct http_request *req, struct col_participant *out, struct err *e)
{
    const struct acc_identity *who = acc_identity_of(req);

    (void)e;
    if (who == NULL || who->kind != ACC_KIND_PARTICIPANT || who->deferred)
        return 0;
    /* The access module's look-up (or its cache of it) holds what never
     * changes about the participant, and the status as it read it. */
    memset(out, 0, sizeof *out);
    out->id = who->participant_id;
    snprintf(out->study, sizeof out->study, "%s", who->study_id);
    snprintf(out->arm, sizeof out->arm, "%s", who->participant_arm ? who->participant_arm : "");
    snprintf(out->code, sizeof out->code, "%s", who->participant_code);
    out->enrolled_at = who->participant_enrolled_us;
    snprintf(out->status, sizeof out->status, "%s", who->withdrawn ? "withdrawn" : "active");
    out->actor = who->actor;
    out->request_id = req->request_id;
    out->source_addr = who->source_addr && who->source_addr[0] && strcmp(who->source_addr, "-") != 0
                           ? who->source_addr
                           : NULL;
    return 1;
}

/* The participant of a request, or an answer: 1 with *p, or 0 after
 * filling `rep`. */
int col_participant_or_reply(struct http_request *req, struct http_reply *rep,
                             struct col_participant *p)
{
    struct err e;
    int rc;

    err_clear(&e);
    rc = col_participant_of(req, p, &e);
    if (rc < 0) {
        col_reply_db_error(rep, &e);
        return 0;
    }
    if (rc == 0) {
        http_problem(rep, 403, "forbidden", NULL, NULL, "This endpoint is for participants.");
        return 0;
    }
    return 1;
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
    struct col_participant pp, *p = &pp;
    PGresult *study = NULL, *sched = NULL, *week = NULL;
    char pid[24];
    const char *param;
    json_t *list = NULL;
    PGconn *conn;
    struct err e;
    int rc;

    err_clear(&e);
    if (!col_participant_or_reply(req, rep, p))
        return;
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
            json_pack("{s:s, s:s, s:i, s:o, s:o, s:s, s:s?}", "instrument", PQgetvalue(sched, r, 0),
                      "version", PQgetvalue(sched, r, 1), "week", atoi(PQgetvalue(sched, r, 2)),
                      "opens_at", col_time_value(PQgetvalue(sched, r, 3)), "closes_at",
                      col_time_value(PQgetvalue(sched, r, 4)), "status", PQgetvalue(sched, r, 5),
                      "response_id", PQgetisnull(sched, r, 6) ? NULL : PQgetvalue(sched, r, 6)));
    {
        char enrolled[COL_TIME_MAX];
        col_time_format(p->enrolled_at, enrolled);
        http_reply_json(
            rep, 200,
            json_pack("{s:{s:s, s:s, s:i, s:s, s:b, s:s}, s:{s:s, s:s, s:s, s:s}, s:i, s:o}",
                      "study", "id", PQgetvalue(study, 0, 0), "title", PQgetvalue(study, 0, 1),
                      "weeks", atoi(PQgetvalue(study, 0, 2)), "timezone", PQgetvalue(study, 0, 3),
                      "allow_late", PQgetvalue(study, 0, 4)[0] == 't', "support_text",
                      PQgetisnull(study, 0, 5) ? col_default_support_text : PQgetvalue(study, 0, 5),
                      "participant", "code", p->code, "arm", p->arm, "status", p->status,
                      "enrolled_at", enrolled, "study_week",
                      week && PQntuples(week) ? atoi(PQgetvalue(week, 0, 0)) : 0, "questionnaires",
                      list));
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
    const struct acc_identity *who = acc_identity_of(req);
    struct col_participant p;
    struct col_submit s;

    /* The token was not looked up (ACC_DEFERRED): first try the common case,
     * a valid submission by a live token, whose batch statement checks the
     * token with the write. Anything else looks the token up now, refusing
     * as the access module does, and goes the ordinary way, which answers. */
    if (who != NULL && who->deferred) {
        struct col_deferred d = {who->token_hash_hex, req->request_id, who->source_addr};
        if (col_response_submit_deferred(app->defs, app->batcher, app->pool, &d, req->json, "api",
                                         col_time_now(), &s)) {
            acc_identity_settle(req, s.participant, s.study);
            col_submit_reply(&s, rep);
            col_submit_clear(&s);
            return;
        }
        col_submit_clear(&s);
        if (acc_authorize_resolve(req, rep) != 0)
            return;
    }
    if (!col_participant_or_reply(req, rep, &p))
        return;
    col_response_submit_via(app->defs, app->batcher, app->pool, &p, req->json, "api",
                            col_time_now(), &s);
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
    struct col_participant pp, *p = &pp;
    json_t *errors = json_array(), *types = NULL;
    char *rows_text = NULL, *types_lit = NULL, pid[24];
    PGresult *res = NULL;
    PGconn *conn = NULL;
    struct err e;
    int rc;

    err_clear(&e);
    if (!col_participant_or_reply(req, rep, p))
        goto out;
    if (col_events_check(req->json, col_time_now(), p->enrolled_at, errors, &rows_text, &types) >
        0) {
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
        const char *params[8] = {pid,
                                 p->study,
                                 types_lit,
                                 rows_text,
                                 p->verify_in_write ? p->token_hash_param : NULL,
                                 p->actor,
                                 p->request_id,
                                 p->source_addr};
        for (int attempt = 0;; attempt++) {
            rc = db_query(conn, "col_events_insert", 8, params, &res, &e);
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
        if (PQgetisnull(res, 0, 2) || PQgetvalue(res, 0, 2)[0] != 't')
            http_problem(rep, 403, "participant-withdrawn", NULL, NULL,
                         "The participant has withdrawn from the study; nothing more is "
                         "collected.");
        else
            http_problem(rep, 403, "token-revoked", NULL, NULL,
                         "This access token has been revoked.");
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
        long long received = (long long)json_array_size(req->json);
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
    json_decref(types);
    json_decref(errors);
}

/* Bodies: a questionnaire is small; a batch of 1,000 events with props may
 * be a few MB at most (props are capped at 4 KB each). A questionnaire's
 * token is looked up only when its batch statement does not store it
 * (ACC_DEFERRED, col_responses_post). */
const struct http_route col_participant_routes[] = {
    {"GET", "/api/v1/me", COL_AUTH_PARTICIPANT, HTTP_BODY_NONE, 0, col_me,
     "the participant's study, week and questionnaires"},
    {"POST", "/api/v1/responses", COL_AUTH_PARTICIPANT | ACC_DEFERRED, HTTP_BODY_JSON, 64 * 1024,
     col_responses_post, "submit one questionnaire"},
    {"POST", "/api/v1/events", COL_AUTH_PARTICIPANT, HTTP_BODY_JSON, 4 * 1024 * 1024,
     col_events_post, "upload a batch of app events"},
};
const size_t col_participant_routes_count =
    sizeof col_participant_routes / sizeof col_participant_routes[0];
