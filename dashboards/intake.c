/*
 * intake.c — counting what happens to participants' submissions, for the
 * Data quality page: stored, retried (the same questionnaire again,
 * answered 200 with nothing stored), duplicate events skipped inside a
 * batch, and every refusal by its problem code.
 *
 * dash_observe() is the HTTP server's observer: it sees every request with
 * the reply its handler made (collector/http_mhd.c calls it once, before the
 * reply is sent) and, for the four submission routes, adds one to a counter
 * in memory. The worker writes the counters into intake_outcomes every few
 * seconds in one transaction (dash_intake_flush), so the submission path
 * pays a lock and a small allocation, never a database round trip.
 *
 * Which study: the participant's, when the request was authorised. Some
 * refusals come before authorisation (a malformed JSON body is refused by
 * the router before the token is checked); for those the token's hash is
 * kept (in memory only) and the flush looks its study up. A request with no
 * token, or one nobody holds, belongs to no study and is not counted.
 * Counts are best effort: those not yet written when the process dies, or
 * beyond DASH_INTAKE_MAX distinct keys between two flushes, are lost (and
 * the latter logged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "access.h"
#include "collector.h"
#include "dash_int.h"
#include "log.h"

#define DASH_INTAKE_MAX 10000

struct dash_count {
    char study[64];      /* "" when only the token is known */
    char token_hex[68];  /* hex SHA-256 of the token, when study is "" */
    char day[11];        /* UTC */
    const char *channel; /* static */
    char outcome[64];
    long long requests, items;
    struct dash_count *next;
};

struct dash_intake {
    pthread_mutex_t mu;
    struct dash_count *head;
    size_t n;
    long long dropped;
};

int dash_intake_new(struct dash_intake **out)
{
    struct dash_intake *in = calloc(1, sizeof *in);

    if (in == NULL)
        return -1;
    pthread_mutex_init(&in->mu, NULL);
    *out = in;
    return 0;
}

static void dash_counts_free(struct dash_count *c)
{
    while (c != NULL) {
        struct dash_count *next = c->next;
        free(c);
        c = next;
    }
}

void dash_intake_free(struct dash_intake *in)
{
    if (in == NULL)
        return;
    dash_counts_free(in->head);
    pthread_mutex_destroy(&in->mu);
    free(in);
}

static void dash_count_add(struct dash_intake *in, const char *study, const char *token_hex,
                           const char *channel, const char *outcome, long long requests,
                           long long items)
{
    struct dash_count *c;
    char day[11];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    pthread_mutex_lock(&in->mu);
    for (c = in->head; c != NULL; c = c->next)
        if (c->channel == channel && strcmp(c->study, study) == 0 &&
            strcmp(c->token_hex, token_hex) == 0 && strcmp(c->day, day) == 0 &&
            strcmp(c->outcome, outcome) == 0)
            break;
    if (c == NULL) {
        if (in->n >= DASH_INTAKE_MAX || (c = calloc(1, sizeof *c)) == NULL) {
            in->dropped++;
            pthread_mutex_unlock(&in->mu);
            return;
        }
        snprintf(c->study, sizeof c->study, "%s", study);
        snprintf(c->token_hex, sizeof c->token_hex, "%s", token_hex);
        snprintf(c->day, sizeof c->day, "%s", day);
        c->channel = channel;
        snprintf(c->outcome, sizeof c->outcome, "%s", outcome);
        c->next = in->head;
        in->head = c;
        in->n++;
    }
    c->requests += requests;
    c->items += items;
    pthread_mutex_unlock(&in->mu);
}

/* The problem code of a problem+json reply, into out. */
static void dash_problem_code(const struct http_reply *rep, char *out, size_t size)
{
    json_t *j = NULL, *code;

    out[0] = '\0';
    if (rep->body != NULL && rep->content_type != NULL &&
        strstr(rep->content_type, "problem+json") != NULL)
        j = json_loadb(rep->body, rep->body_len, 0, NULL);
    code = j ? json_object_get(j, "code") : NULL;
    if (json_is_string(code) && json_string_length(code) < size) {
        const char *s = json_string_value(code);
        size_t i;
        for (i = 0; s[i] && i + 1 < size; i++)
            out[i] = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ? s[i] : '-';
        out[i] = '\0';
    }
    json_decref(j);
}

void dash_observe(const struct http_request *req, const struct http_reply *rep)
{
    const struct col_app *app = req->app;
    const struct acc_identity *who;
    const char *channel, *pattern, *token = NULL;
    char study[64] = "", token_hex[68] = "", outcome[64];

    if (app == NULL || app->dash == NULL || req->route == NULL ||
        strcmp(req->route->method, "POST") != 0)
        return;
    pattern = req->route->pattern;
    if (strcmp(pattern, "/api/v1/responses") == 0)
        channel = "responses";
    else if (strcmp(pattern, "/api/v1/events") == 0)
        channel = "events";
    else if (strcmp(pattern, "/fhir/QuestionnaireResponse") == 0)
        channel = "fhir";
    else if (strcmp(pattern, "/p/{token}") == 0)
        channel = "form";
    else
        return;

    who = req->auth != NULL ? acc_identity_of(req) : NULL;
    if (who != NULL && who->kind == ACC_KIND_PARTICIPANT && who->study_id != NULL) {
        snprintf(study, sizeof study, "%s", who->study_id);
    } else {
        const char *authz = http_header(req, "authorization");
        if (strcmp(channel, "form") == 0)
            token = http_path_param(req, "token");
        else if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0)
            token = authz + 7;
        if (token == NULL || !acc_token_well_formed(token))
            return;
        {
            char hex[2 * ACC_HASH_BYTES + 3];
            acc_token_hash_hex(token, hex);
            snprintf(token_hex, sizeof token_hex, "%s", hex + 2); /* without "\\x" */
        }
    }

    if (rep->status == 201) {
        dash_count_add(app->dash->intake, study, token_hex, channel, "stored", 1, 1);
    } else if (rep->status == 200 && strcmp(channel, "events") == 0) {
        json_t *j = rep->body ? json_loadb(rep->body, rep->body_len, 0, NULL) : NULL;
        json_int_t accepted = json_integer_value(json_object_get(j, "accepted"));
        json_int_t dup = json_integer_value(json_object_get(j, "duplicates"));
        if (accepted > 0)
            dash_count_add(app->dash->intake, study, token_hex, channel, "stored", 1, accepted);
        if (dup > 0)
            dash_count_add(app->dash->intake, study, token_hex, channel, "duplicate", 1, dup);
        json_decref(j);
    } else if (rep->status == 200) {
        dash_count_add(app->dash->intake, study, token_hex, channel, "retry", 1, 1);
    } else if (rep->status >= 400 && rep->status < 500) {
        dash_problem_code(rep, outcome, sizeof outcome);
        if (outcome[0] == '\0') /* the web form answers in HTML */
            snprintf(outcome, sizeof outcome, "%s",
                     rep->status == 422   ? "invalid-submission"
                     : rep->status == 409 ? "already-answered"
                     : rep->status == 403 ? "forbidden"
                     : rep->status == 413 ? "body-too-large"
                                          : "refused");
        dash_count_add(app->dash->intake, study, token_hex, channel, outcome, 1, 1);
    }
}

/* ---- writing the counts ---- */

struct dash_flush_tx {
    struct dash_count *list;
};

static int dash_flush_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct dash_flush_tx *t = vctx;
    int n;

    for (struct dash_count *c = t->list; c != NULL; c = c->next) {
        char req[24], items[24];
        const char *params[6] = {c->study, c->day, c->channel, c->outcome, req, items};
        if (c->study[0] == '\0')
            continue;
        snprintf(req, sizeof req, "%lld", c->requests);
        snprintf(items, sizeof items, "%lld", c->items);
        if ((n = db_query(conn, "dash_intake_add", 6, params, NULL, e)) < 0)
            return n;
    }
    return 0;
}

/* Fills the study of counts known only by their token's hash. */
static int dash_resolve_tokens(struct db_pool *pool, struct dash_count *list, struct err *e)
{
    size_t len = 3, used;
    char *arr;
    const char *params[1];
    PGresult *res = NULL;
    int n, any = 0;

    for (struct dash_count *c = list; c != NULL; c = c->next)
        if (c->study[0] == '\0') {
            len += strlen(c->token_hex) + 1;
            any = 1;
        }
    if (!any)
        return 0;
    if ((arr = malloc(len)) == NULL)
        return err_set(e, DASH_EINIT, "out of memory");
    used = (size_t)snprintf(arr, len, "{");
    for (struct dash_count *c = list; c != NULL; c = c->next)
        if (c->study[0] == '\0')
            used +=
                (size_t)snprintf(arr + used, len - used, "%s%s", used > 1 ? "," : "", c->token_hex);
    snprintf(arr + used, len - used, "}");
    params[0] = arr;
    n = dash_query(pool, "dash_token_studies", 1, params, &res, e);
    free(arr);
    if (n < 0)
        return n;
    for (struct dash_count *c = list; c != NULL; c = c->next)
        for (int i = 0; i < n && c->study[0] == '\0'; i++)
            if (strcmp(PQgetvalue(res, i, 0), c->token_hex) == 0)
                snprintf(c->study, sizeof c->study, "%s", PQgetvalue(res, i, 1));
    PQclear(res);
    return 0;
}

int dash_intake_flush(struct dash_intake *in, struct db_pool *pool,
                      void (*touched)(void *ctx, const char *study), void *ctx, struct err *e)
{
    struct dash_flush_tx t;
    long long dropped;
    int rc;

    pthread_mutex_lock(&in->mu);
    t.list = in->head;
    in->head = NULL;
    in->n = 0;
    dropped = in->dropped;
    in->dropped = 0;
    pthread_mutex_unlock(&in->mu);
    if (dropped > 0)
        log_event(LOG_WARN, "dash.intake", "dropped=%lld reason=\"too many distinct counters\"",
                  dropped);
    if (t.list == NULL)
        return 0;
    rc = dash_resolve_tokens(pool, t.list, e);
    if (rc == 0)
        rc = db_run(pool, DB_READ_COMMITTED, dash_flush_tx, &t, e);
    for (struct dash_count *c = t.list; rc == 0 && touched != NULL && c != NULL; c = c->next) {
        int seen = 0;
        for (struct dash_count *b = t.list; b != c && !seen; b = b->next)
            seen = strcmp(b->study, c->study) == 0;
        if (!seen && c->study[0] != '\0')
            touched(ctx, c->study);
    }
    dash_counts_free(t.list);
    return rc;
}
