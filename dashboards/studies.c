/*
 * studies.c — GET /api/v1/dashboard/studies: the studies the caller may
 * see, each with its enrolment, its retention and its latest headline
 * result. Retention and the headline are read from the newest recorded
 * analysis runs (the overview's flow, the outcomes page's mixed model), so
 * each figure names the run it comes from; the counts are live.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "dash_int.h"

/* The caller's studies as a text[] literal, or NULL for every study (admins). */
static const char *dash_visible(const struct http_request *req, const struct acc_identity *who)
{
    size_t len = 3;
    char *out;
    size_t used;

    if (who->token_study != NULL)
        return arena_printf(req->arena, "{%s}",
                            acc_identity_sees_study(who, who->token_study) ? who->token_study : "");
    if (who->role == ACC_ROLE_ADMIN)
        return NULL;
    for (size_t i = 0; i < who->n_studies; i++)
        len += strlen(who->studies[i]) + 1;
    if ((out = arena_alloc(req->arena, len)) == NULL)
        return "{}";
    used = (size_t)snprintf(out, len, "{");
    for (size_t i = 0; i < who->n_studies; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "", who->studies[i]);
    snprintf(out + used, len - used, "}");
    return out;
}

static json_t *dash_json_col(const PGresult *res, int row, int col)
{
    json_t *v;

    if (PQgetisnull(res, row, col))
        return json_null();
    v = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

void dash_api_studies(struct http_request *req, struct http_reply *rep)
{
    const struct acc_identity *who = acc_identity_of(req);
    const char *params[1] = {dash_visible(req, who)};
    PGresult *res = NULL;
    json_t *list = json_array();
    struct err e;
    int n;

    err_clear(&e);
    if ((n = dash_query(dash_of(req)->pool, "dash_studies", 1, params, &res, &e)) < 0) {
        json_decref(list);
        dash_reply_error(req, rep, n, &e);
        return;
    }
    for (int i = 0; i < n; i++) {
        json_t *s = json_pack(
            "{s:s, s:s, s:s, s:i, s:s, s:{s:I, s:I, s:I, s:I}}", "id", PQgetvalue(res, i, 0),
            "title", PQgetvalue(res, i, 1), "status", PQgetvalue(res, i, 2), "weeks",
            (int)dash_ll(res, i, 3), "created_at", PQgetvalue(res, i, 4), "participants",
            "enrolled", (json_int_t)dash_ll(res, i, 5), "active", (json_int_t)dash_ll(res, i, 6),
            "withdrawn", (json_int_t)dash_ll(res, i, 7), "completed",
            (json_int_t)dash_ll(res, i, 8));
        if (!PQgetisnull(res, i, 9))
            json_object_set_new(s, "retention",
                                json_pack("{s:o, s:s, s:s}", "value", dash_json_col(res, i, 11),
                                          "run_id", PQgetvalue(res, i, 9), "run_at",
                                          PQgetvalue(res, i, 10)));
        else
            json_object_set_new(s, "retention", json_null());
        if (!PQgetisnull(res, i, 12))
            json_object_set_new(
                s, "headline",
                json_pack("{s:s?, s:o, s:o, s:s, s:s}", "instrument", dash_str(res, i, 15),
                          "reduction", dash_json_col(res, i, 14), "claims",
                          dash_json_col(res, i, 16), "run_id", PQgetvalue(res, i, 12), "run_at",
                          PQgetvalue(res, i, 13)));
        else
            json_object_set_new(s, "headline", json_null());
        json_array_append_new(list, s);
    }
    PQclear(res);
    http_reply_json(rep, 200, json_pack("{s:o}", "studies", list));
}
