/*
 * fhir.c — FHIR R4 interchange for participants' apps:
 *   GET  /fhir/Questionnaire/{id}      a registered definition as a Questionnaire
 *                                      (public: never a study's item texts)
 *   GET  /api/v1/me/questionnaires/{id}, /api/v1/studies/{study}/questionnaires/{id}
 *                                      the same as a study schedules it, with the
 *                                      item texts the study supplied (participant;
 *                                      study team)
 *   POST /fhir/QuestionnaireResponse   a completed QuestionnaireResponse, taken in
 *                                      through the same path as the JSON API
 *
 * The instruments engine makes the Questionnaire (ins_fhir_questionnaire) and
 * reads the response's items (ins_fhir_response_read: the canonical URL
 * "…/Questionnaire/<id>|<version>" picks the definition, linkIds the items,
 * valueCoding / valueInteger / valueDecimal the answers); the version must be
 * the one the participant's study schedules. The
 * response's `identifier.value` is the idempotency key: a uuid is used as
 * the response id as is; any other identifier is turned into a name-based
 * uuid (SHA-256 of system|value), so the same identifier always maps to the
 * same response. `authored` is the completion time.
 *
 * A scoring key shipped without item texts (ECR-R, PSS-10) takes its wording
 * from the study, under the study's own permission: the public Questionnaire
 * leaves its items without text, and only the study's own people — its
 * participants, its team — get the wording, from the study's routes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "col_int.h"

/* public_url without a trailing slash, for canonical URLs. */
static void col_fhir_base(const struct col_app *app, char *buf, size_t size)
{
    size_t bl;

    snprintf(buf, size, "%s", app->cfg->public_url ? app->cfg->public_url : "");
    bl = strlen(buf);
    while (bl > 0 && buf[bl - 1] == '/')
        buf[--bl] = '\0';
}

static void col_fhir_questionnaire(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = col_app_of(req);
    const char *id = http_path_param(req, "id");
    const char *version = http_query(req, "version");
    const struct ins_definition *def = NULL;
    PGresult *res = NULL;
    json_t *q = NULL;
    char base[512];
    PGconn *conn;
    struct err e;
    int rc;

    err_clear(&e);
    conn = db_pool_acquire(app->pool, 5000, &e);
    if (conn == NULL) {
        col_reply_db_error(rep, &e);
        return;
    }
    if (version == NULL) {
        rc = db_query(conn, "col_instrument_latest", 1, &id, &res, &e);
        if (rc == 1)
            version = arena_strdup(req->arena, PQgetvalue(res, 0, 0));
        PQclear(res);
    } else {
        rc = 1;
    }
    if (rc == 1)
        rc = col_defs_get(app->defs, app->pool, conn, id, version, &def, &e);
    db_pool_release(app->pool, conn);
    if (rc < 0) {
        col_reply_db_error(rep, &e);
        return;
    }
    if (rc == 0) {
        http_problem(rep, 404, "not-found", NULL, NULL,
                     "No instrument \"%s\" is registered in this database.", id);
        return;
    }
    col_fhir_base(app, base, sizeof base);
    if (ins_fhir_questionnaire(def, NULL, base, &q, &e) != 0) {
        http_problem(rep, 500, "internal", NULL, NULL, "The Questionnaire could not be made.");
        return;
    }
    http_reply_json(rep, 200, q);
    rep->content_type = "application/fhir+json";
}

/*
 * The Questionnaire of instrument {id} in the version `study` schedules, with
 * the item texts the study supplied: 404 when the study does not schedule it,
 * 409 when it is a scoring key whose wording the study has not supplied (an
 * app must not show empty questions, as the web form does not).
 */
static void col_fhir_study_questionnaire(struct http_request *req, struct http_reply *rep,
                                         const char *study)
{
    struct col_app *app = col_app_of(req);
    const char *id = http_path_param(req, "id");
    const struct ins_definition *def = NULL;
    const struct ins_texts_file *texts = NULL;
    json_t *q = NULL;
    char base[512];
    struct err e;
    int rc;

    err_clear(&e);
    rc = col_defs_scheduled(app->defs, app->pool, NULL, study, id, &def, &e);
    if (rc == 1)
        rc = col_texts_get(app->defs, app->pool, NULL, study, def, &texts, &e);
    if (rc < 0) {
        col_reply_db_error(rep, &e);
        return;
    }
    if (def == NULL) {
        http_problem(rep, 404, "not-scheduled", NULL, NULL,
                     "Study \"%s\" does not schedule an instrument \"%.63s\".", study, id);
        return;
    }
    if (ins_definition_renderable(def, texts, &e) != 0) {
        http_problem(rep, 409, "texts-missing", NULL, NULL,
                     "\"%s\" version \"%s\" is a scoring key without item texts, and study "
                     "\"%s\" has not supplied its wording (attune study texts).",
                     def->id, def->version, study);
        return;
    }
    col_fhir_base(app, base, sizeof base);
    if (ins_fhir_questionnaire(def, texts, base, &q, &e) != 0) {
        http_problem(rep, 500, "internal", NULL, NULL, "The Questionnaire could not be made.");
        return;
    }
    http_reply_json(rep, 200, q);
    rep->content_type = "application/fhir+json";
}

/* GET /api/v1/me/questionnaires/{id}: for the participant's app. */
static void col_fhir_me_questionnaire(struct http_request *req, struct http_reply *rep)
{
    struct col_participant p;

    if (!col_participant_or_reply(req, rep, &p))
        return;
    col_fhir_study_questionnaire(req, rep, p.study);
}

/* GET /api/v1/studies/{study}/questionnaires/{id}: for the study team (the
 * access module has checked membership of {study}). */
static void col_fhir_team_questionnaire(struct http_request *req, struct http_reply *rep)
{
    col_fhir_study_questionnaire(req, rep, http_path_param(req, "study"));
}

/* A name-based uuid for a non-uuid identifier: SHA-256(system|value), with
 * the version nibble set to 8 (RFC 9562's custom version) and the variant. */
static void col_fhir_identifier_uuid(const char *system, const char *value, char out[37])
{
    crypto_hash_sha256_state st;
    unsigned char h[32];
    char hex[33];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)(system ? system : ""),
                              system ? strlen(system) : 0);
    crypto_hash_sha256_update(&st, (const unsigned char *)"|", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)value, strlen(value));
    crypto_hash_sha256_final(&st, h);
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x80);
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
    sodium_bin2hex(hex, sizeof hex, h, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/*
 * Translates a QuestionnaireResponse into the collector's submission JSON.
 * Problems are appended with pointers into the FHIR resource. *link_index
 * maps each answer to its /item/N index for the engine's problems.
 */
static json_t *col_fhir_to_submission(const struct ins_registry *registry, json_t *qr,
                                      json_t *errors, json_t **link_index, const char **version_out)
{
    const char *rt = json_string_value(json_object_get(qr, "resourceType"));
    const char *status = json_string_value(json_object_get(qr, "status"));
    const char *authored = json_string_value(json_object_get(qr, "authored"));
    json_t *ident = json_object_get(qr, "identifier"), *items = json_object_get(qr, "item");
    json_t *answers = json_object(), *index = json_object(), *sub = NULL, *it;
    char instrument[64] = "", id[37] = "";
    const char *canonical = json_string_value(json_object_get(qr, "questionnaire"));
    size_t i;

    if (!json_is_object(qr)) {
        col_error_add(errors, "", "the body must be a FHIR resource (a JSON object)");
        goto out;
    }
    if (rt == NULL || strcmp(rt, "QuestionnaireResponse") != 0)
        col_error_add(errors, "/resourceType",
                      "\"resourceType\" must be \"QuestionnaireResponse\"");
    if (status == NULL || strcmp(status, "completed") != 0)
        col_error_add(errors, "/status", "only a \"completed\" QuestionnaireResponse is taken in");
    if (canonical == NULL)
        col_error_add(errors, "/questionnaire", "\"questionnaire\" (a canonical URL) is required");
    if (json_is_array(ident))
        ident = json_array_get(ident, 0); /* R5 style arrays are accepted too */
    if (!json_is_object(ident) || !json_is_string(json_object_get(ident, "value")) ||
        json_string_length(json_object_get(ident, "value")) == 0 ||
        json_string_length(json_object_get(ident, "value")) > 200) {
        col_error_add(errors, "/identifier/value",
                      "an \"identifier\" with a \"value\" is required: it makes retries safe");
    } else {
        const char *v = json_string_value(json_object_get(ident, "value"));
        if (strncmp(v, "urn:uuid:", 9) == 0)
            v += 9;
        if (col_uuid_ok(v))
            snprintf(id, sizeof id, "%s", v);
        else
            col_fhir_identifier_uuid(json_string_value(json_object_get(ident, "system")), v, id);
    }
    if (authored == NULL)
        col_error_add(errors, "/authored", "\"authored\" (when it was completed) is required");
    if (json_is_array(items))
        json_array_foreach(items, i, it)
        {
            const char *link = json_string_value(json_object_get(it, "linkId"));
            if (link != NULL)
                json_object_set_new(index, link, json_integer((json_int_t)i));
        }
    /* The items, by the instruments engine: linkIds, valueCoding (by LOINC
     * answer code or option value) or valueInteger / valueDecimal. */
    {
        struct ins_problems *p = calloc(1, sizeof *p);
        const struct ins_definition *def = NULL;
        struct ins_answers *a = NULL;
        struct err e;
        int rc;
        err_clear(&e);
        if (p == NULL || registry == NULL) {
            col_error_add(errors, "/questionnaire", "no instrument definitions are loaded");
        } else if ((rc = ins_fhir_response_read(registry, qr, &def, &a, p, &e)) == 0) {
            snprintf(instrument, sizeof instrument, "%s", def->id);
            *version_out = def->version;
            json_decref(answers);
            answers = ins_answers_to_json(a);
        } else if (rc == INS_EANSWERS || rc == INS_ENOTFOUND) {
            json_t *list = ins_problems_to_json(p, "");
            json_array_extend(errors, list);
            json_decref(list);
            if (rc == INS_ENOTFOUND && p->n == 0)
                col_error_add(errors, "/questionnaire", "no such questionnaire");
        } else {
            col_error_add(errors, "", "%s", e.message);
        }
        ins_answers_free(a);
        free(p);
    }
    sub = json_pack("{s:s, s:s, s:O, s:s}", "id", id[0] ? id : "-", "instrument",
                    instrument[0] ? instrument : "-", "answers", answers, "completed_at",
                    authored ? authored : "-");
out:
    json_decref(answers);
    *link_index = index;
    return sub;
}

/* Rewrites the engine's pointers (/answers/x, /completed_at, /id) into the
 * resource's own (/item/N/answer/0, /authored, /identifier/value). */
static void col_fhir_map_errors(json_t *errors, json_t *index)
{
    size_t i;
    json_t *pe;

    json_array_foreach(errors, i, pe)
    {
        const char *ptr = json_string_value(json_object_get(pe, "pointer"));
        char buf[96];
        if (ptr == NULL)
            continue;
        if (strncmp(ptr, "/answers/", 9) == 0) {
            json_t *n = json_object_get(index, ptr + 9);
            if (n != NULL)
                snprintf(buf, sizeof buf, "/item/%lld/answer/0", (long long)json_integer_value(n));
            else
                snprintf(buf, sizeof buf, "/item");
        } else if (strcmp(ptr, "/completed_at") == 0) {
            snprintf(buf, sizeof buf, "/authored");
        } else if (strcmp(ptr, "/id") == 0) {
            snprintf(buf, sizeof buf, "/identifier/value");
        } else if (strcmp(ptr, "/instrument") == 0) {
            snprintf(buf, sizeof buf, "/questionnaire");
        } else {
            continue;
        }
        json_object_set_new(pe, "pointer", json_string(buf));
    }
}

static void col_fhir_response_post(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = col_app_of(req);
    json_t *errors = json_array(), *index = NULL, *sub = NULL;
    struct col_participant p;
    const char *version = NULL;
    struct col_submit s;
    PGconn *conn;
    struct err e;
    int rc;

    memset(&s, 0, sizeof s);
    if (!col_participant_or_reply(req, rep, &p))
        goto out;
    sub = col_fhir_to_submission(app->registry, req->json, errors, &index, &version);
    if (json_array_size(errors) == 0 && sub != NULL) {
        /* The Questionnaire's version must be the one the study schedules. */
        const struct ins_definition *scheduled = NULL;
        const char *instrument = json_string_value(json_object_get(sub, "instrument"));
        err_clear(&e);
        conn = db_pool_acquire(app->pool, 5000, &e);
        if (conn == NULL) {
            col_reply_db_error(rep, &e);
            goto out;
        }
        rc = col_defs_scheduled(app->defs, app->pool, conn, p.study, instrument, &scheduled, &e);
        db_pool_release(app->pool, conn);
        if (rc < 0) {
            col_reply_db_error(rep, &e);
            goto out;
        }
        if (rc == 1 && version != NULL && strcmp(scheduled->version, version) != 0)
            col_error_add(errors, "/questionnaire",
                          "version %s of \"%s\" is not the one this study uses (%s)", version,
                          instrument, scheduled->version);
    }
    if (json_array_size(errors) > 0 || sub == NULL) {
        http_problem(rep, 422, "invalid-submission", NULL, json_incref(errors),
                     "The QuestionnaireResponse has %zu problem(s); each is listed in errors. "
                     "Nothing was stored.",
                     json_array_size(errors));
        goto out;
    }
    col_response_submit_via(app->defs, app->batcher, app->pool, &p, sub, "fhir", col_time_now(),
                            &s);
    col_fhir_map_errors(s.errors, index);
    col_submit_reply(&s, rep);
out:
    col_submit_clear(&s);
    json_decref(sub);
    json_decref(index);
    json_decref(errors);
}

const struct http_route col_fhir_routes[] = {
    {"GET", "/fhir/Questionnaire/{id}", COL_AUTH_PUBLIC, HTTP_BODY_NONE, 0, col_fhir_questionnaire,
     "an instrument as a FHIR R4 Questionnaire"},
    {"GET", "/api/v1/me/questionnaires/{id}", COL_AUTH_PARTICIPANT, HTTP_BODY_NONE, 0,
     col_fhir_me_questionnaire,
     "a scheduled instrument as a FHIR R4 Questionnaire, with the study's item texts"},
    {"GET", "/api/v1/studies/{study}/questionnaires/{id}", ACC_VIEWER, HTTP_BODY_NONE, 0,
     col_fhir_team_questionnaire,
     "a study's instrument as a FHIR R4 Questionnaire, with its item texts"},
    {"POST", "/fhir/QuestionnaireResponse", COL_AUTH_PARTICIPANT, HTTP_BODY_JSON, 256 * 1024,
     col_fhir_response_post, "submit a FHIR R4 QuestionnaireResponse"},
};
const size_t col_fhir_routes_count = sizeof col_fhir_routes / sizeof col_fhir_routes[0];
