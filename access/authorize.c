/*
 * authorize.c — acc_authorize(), the HTTP layer's authorisation hook: find the
 * credentials, look them up, decide (acc_decide(), pure), check CSRF, and
 * either set req->auth or refuse. See access.h for the levels and docs/access.md
 * for the rules in prose.
 *
 * Which refusals are audited: those of recognised credentials (403: wrong
 * role, kind, scope, study, a revoked token, a withdrawn participant writing,
 * a failed CSRF check), because they say who tried what. Requests without
 * usable credentials (401: none, unknown, expired, signed out) are only
 * logged: anyone can send them, and an expired dashboard polling would fill
 * the audit log with noise.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"
#include "log.h"

#define ACC_DB_WAIT_MS 2000

int acc_env_init(struct acc_env *env, struct db_pool *pool, const struct cfg *cfg, int tls,
                 struct err *e)
{
    char dummy[ACC_TOKEN_TEXT];

    memset(env, 0, sizeof *env);
    env->pool = pool;
    env->cfg = cfg;
    env->secure_cookies = tls || (cfg->public_url && strncmp(cfg->public_url, "https:", 6) == 0);
    /* Two Argon2id computations at a time: more would not go faster on the
     * machines Attune runs on, and each holds 64 MiB. */
    if (sem_init(&env->pwhash_slots, 0, 2) != 0)
        return err_set(e, ACC_ECRYPTO, "could not create a semaphore");
    acc_token_new(dummy);
    if (crypto_pwhash_str_alg(
            env->dummy_hash, dummy, strlen(dummy), crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sem_destroy(&env->pwhash_slots);
        return err_set(e, ACC_ECRYPTO, "could not prepare password hashing: out of memory");
    }
    return 0;
}

void acc_env_destroy(struct acc_env *env)
{
    if (env != NULL && env->pool != NULL)
        sem_destroy(&env->pwhash_slots);
}

const struct acc_identity *acc_identity_of(const struct http_request *req)
{
    return req->auth;
}

static int acc_is_member(const struct acc_identity *who, const char *study)
{
    for (size_t i = 0; i < who->n_studies; i++)
        if (strcmp(who->studies[i], study) == 0)
            return 1;
    return 0;
}

int acc_identity_sees_study(const struct acc_identity *who, const char *study)
{
    if (who == NULL || study == NULL)
        return 0;
    if (who->kind == ACC_KIND_PARTICIPANT)
        return who->study_id != NULL && strcmp(who->study_id, study) == 0;
    if (who->token_study != NULL && strcmp(who->token_study, study) != 0)
        return 0;
    return who->role == ACC_ROLE_ADMIN || acc_is_member(who, study);
}

static int acc_method_writes(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

static int acc_deny(struct acc_denial *out, int status, const char *code, const char *detail)
{
    out->status = status;
    out->code = code;
    out->detail = detail;
    return -1;
}

int acc_decide(unsigned auth, const char *method, const struct acc_identity *who, const char *study,
               struct acc_denial *out)
{
    unsigned level = auth & ACC_LEVEL_MASK;
    unsigned needed;

    if (level == ACC_PARTICIPANT) {
        if (who->kind != ACC_KIND_PARTICIPANT)
            return acc_deny(out, 403, "forbidden",
                            "This endpoint is for participants, with their own token.");
        if (study != NULL && strcmp(study, who->study_id) != 0)
            return acc_deny(out, 403, "forbidden", "The token belongs to another study.");
        if (who->withdrawn && acc_method_writes(method))
            return acc_deny(out, 403, "participant-withdrawn",
                            "The participant has withdrawn from the study; nothing more is "
                            "collected.");
        return 0;
    }
    if (who->kind == ACC_KIND_PARTICIPANT)
        return acc_deny(out, 403, "forbidden", "Participant tokens cannot use this endpoint.");
    if ((auth & ACC_SESSION_ONLY) && who->kind == ACC_KIND_TOKEN)
        return acc_deny(out, 403, "forbidden",
                        "This endpoint needs a signed-in user; API tokens cannot use it.");
    if ((unsigned)who->role < level) {
        switch (level) {
        case ACC_ADMIN:
            return acc_deny(out, 403, "forbidden", "This needs the admin role.");
        case ACC_RESEARCHER:
            return acc_deny(out, 403, "forbidden",
                            "This needs the researcher role: viewers see aggregates only.");
        default:
            return acc_deny(out, 403, "forbidden", "This needs a signed-in user.");
        }
    }
    if (who->kind == ACC_KIND_TOKEN) {
        needed = auth & ACC_SCOPE_MASK;
        if (needed == 0)
            needed = acc_method_writes(method) ? ACC_SCOPE_WRITE : ACC_SCOPE_READ;
        if ((needed & ~who->scopes) != 0)
            return acc_deny(out, 403, "insufficient-scope",
                            (needed & ACC_SCOPE_EXPORT)  ? "The API token lacks the export scope."
                            : (needed & ACC_SCOPE_WRITE) ? "The API token lacks the write scope."
                                                         : "The API token lacks the read scope.");
        if (study != NULL && who->token_study != NULL && strcmp(study, who->token_study) != 0)
            return acc_deny(out, 403, "insufficient-scope",
                            "The API token is limited to another study.");
    }
    if (study != NULL && !acc_identity_sees_study(who, study))
        return acc_deny(out, 403, "not-a-member", "You are not a member of this study.");
    return 0;
}

const char *acc_client_addr(const struct acc_env *env, const struct http_request *req)
{
    const char *peer = req->remote_addr;
    const char *xff;

    if (peer == NULL || peer[0] == '\0' || strcmp(peer, "-") == 0)
        peer = NULL;
    if (peer != NULL && env->cfg->trusted_proxy != NULL &&
        strcmp(peer, env->cfg->trusted_proxy) == 0 &&
        (xff = http_header(req, "x-forwarded-for")) != NULL) {
        /* The proxy appends the address it saw: the last entry is the only
         * one it vouches for. */
        const char *last = strrchr(xff, ',');
        char buf[INET6_ADDRSTRLEN + 1];
        unsigned char bin[sizeof(struct in6_addr)];
        size_t len;
        last = last ? last + 1 : xff;
        while (*last == ' ')
            last++;
        len = strcspn(last, " ");
        if (len > 0 && len < sizeof buf) {
            memcpy(buf, last, len);
            buf[len] = '\0';
            if (inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1)
                return arena_strdup(req->arena, buf);
        }
    }
    return peer;
}

/* ---- looking credentials up ---- */

enum acc_lookup {
    ACC_FOUND = 0,
    ACC_UNKNOWN = 1, /* no such token or session */
    ACC_REFUSED = 2, /* known but not usable: `denial` says why */
};

/* Splits "a,b,c" into an arena array. */
static int acc_split_studies(struct arena *a, const char *text, const char *const **out,
                             size_t *n_out)
{
    size_t n = 0, i = 0;
    const char **list;
    const char *p = text;

    *out = NULL;
    *n_out = 0;
    if (text == NULL || text[0] == '\0')
        return 0;
    for (const char *q = text; *q; q++)
        n += *q == ',';
    n++;
    if ((list = arena_calloc(a, n, sizeof *list)) == NULL)
        return -1;
    while (i < n) {
        size_t len = strcspn(p, ",");
        if ((list[i++] = arena_strndup(a, p, len)) == NULL)
            return -1;
        p += len + (p[len] == ',');
    }
    *out = list;
    *n_out = n;
    return 0;
}

/* `hash` is the token's hash as bytea input (acc_token_hash_hex). */
static int acc_lookup_participant(PGconn *conn, const char *hash, struct http_request *req,
                                  struct acc_identity *who, struct acc_denial *denial,
                                  struct err *e)
{
    const char *params[1] = {hash};
    PGresult *res = NULL;
    int rc;

    if ((rc = db_query(conn, "acc_participant_by_token", 1, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        rc = ACC_UNKNOWN;
        goto out;
    }
    who->kind = ACC_KIND_PARTICIPANT;
    who->actor_kind = "participant";
    who->participant_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    who->participant_code = arena_strdup(req->arena, PQgetvalue(res, 0, 1));
    who->study_id = arena_strdup(req->arena, PQgetvalue(res, 0, 2));
    who->withdrawn = strcmp(PQgetvalue(res, 0, 3), "withdrawn") == 0;
    who->participant_arm = arena_strdup(req->arena, PQgetvalue(res, 0, 6));
    who->participant_enrolled_us = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    /* Audit rows name participants by internal id, never by code: erasing the
     * code then unlinks the whole trail from the person. */
    who->actor = arena_printf(req->arena, "%s/#%lld", who->study_id, who->participant_id);
    if (who->participant_code == NULL || who->study_id == NULL || who->actor == NULL ||
        who->participant_arm == NULL) {
        rc = err_set(e, DB_EHARD, "out of memory");
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 4), "t") == 0 || strcmp(PQgetvalue(res, 0, 5), "t") == 0) {
        acc_deny(denial, 403, "token-revoked", "This access token has been revoked.");
        rc = ACC_REFUSED;
        goto out;
    }
    rc = ACC_FOUND;
out:
    PQclear(res);
    return rc;
}

static int acc_lookup_session(struct acc_env *env, PGconn *conn, const char *cookie,
                              struct http_request *req, struct acc_identity *who,
                              struct acc_denial *denial, struct err *e)
{
    char hash[2 * ACC_HASH_BYTES + 3], idle[16];
    const char *params[2] = {hash, idle};
    PGresult *res = NULL;
    const char *state;
    char *csrf;
    int rc;

    acc_token_hash_hex(cookie, hash);
    snprintf(idle, sizeof idle, "%d", env->cfg->session_idle_s);
    if ((rc = db_query(conn, "acc_session_lookup", 2, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        rc = ACC_UNKNOWN;
        goto out;
    }
    state = PQgetvalue(res, 0, 4);
    if (strcmp(state, "live") != 0) {
        if (strcmp(state, "disabled") == 0)
            acc_deny(denial, 401, "session-expired", "The account has been disabled.");
        else if (strcmp(state, "ended") == 0)
            acc_deny(denial, 401, "session-expired", "You have signed out; sign in again.");
        else
            acc_deny(denial, 401, "session-expired", "The session has expired; sign in again.");
        rc = ACC_REFUSED;
        goto out;
    }
    who->kind = ACC_KIND_USER;
    who->actor_kind = "user";
    who->session_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    who->user_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    who->username = arena_strdup(req->arena, PQgetvalue(res, 0, 2));
    who->actor = who->username;
    who->role = acc_role_parse(PQgetvalue(res, 0, 3));
    who->scopes = ACC_SCOPE_MASK;
    csrf = arena_alloc(req->arena, ACC_CSRF_TEXT);
    if (who->username == NULL || csrf == NULL ||
        acc_split_studies(req->arena, PQgetvalue(res, 0, 5), &who->studies, &who->n_studies) != 0) {
        rc = err_set(e, DB_EHARD, "out of memory");
        goto out;
    }
    acc_csrf_token(cookie, csrf);
    who->csrf_token = csrf;
    rc = ACC_FOUND;
out:
    PQclear(res);
    return rc;
}

static int acc_lookup_api_token(PGconn *conn, const char *token, struct http_request *req,
                                struct acc_identity *who, struct acc_denial *denial, struct err *e)
{
    char hash[2 * ACC_HASH_BYTES + 3];
    const char *params[1] = {hash};
    PGresult *res = NULL;
    const char *state;
    unsigned scopes = 0;
    int rc;

    acc_token_hash_hex(token, hash);
    if ((rc = db_query(conn, "acc_api_token_lookup", 1, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        rc = ACC_UNKNOWN;
        goto out;
    }
    who->kind = ACC_KIND_TOKEN;
    who->actor_kind = "token";
    who->token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    who->user_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    who->username = arena_strdup(req->arena, PQgetvalue(res, 0, 2));
    who->role = acc_role_parse(PQgetvalue(res, 0, 3));
    who->token_study =
        PQgetisnull(res, 0, 4) ? NULL : arena_strdup(req->arena, PQgetvalue(res, 0, 4));
    acc_scopes_parse(PQgetvalue(res, 0, 5), &scopes);
    who->scopes = scopes;
    who->actor = arena_printf(req->arena, "%s/token-%lld", PQgetvalue(res, 0, 2), who->token_id);
    if (who->username == NULL || who->actor == NULL ||
        acc_split_studies(req->arena, PQgetvalue(res, 0, 7), &who->studies, &who->n_studies) != 0) {
        rc = err_set(e, DB_EHARD, "out of memory");
        goto out;
    }
    state = PQgetvalue(res, 0, 6);
    if (strcmp(state, "live") == 0) {
        rc = ACC_FOUND;
    } else {
        if (strcmp(state, "revoked") == 0)
            acc_deny(denial, 403, "token-revoked", "This API token has been revoked.");
        else if (strcmp(state, "disabled") == 0)
            acc_deny(denial, 403, "account-disabled", "The token's account has been disabled.");
        else
            acc_deny(denial, 401, "token-expired", "This API token has expired.");
        rc = ACC_REFUSED;
    }
out:
    PQclear(res);
    return rc;
}

/* ---- refusing ---- */

/* A refusal on an HTML page is a page too, not problem+json. */
static void acc_refusal_page(struct http_reply *rep, const struct acc_denial *d)
{
    char detail[512] = "";
    char *html = NULL;
    int n;

    acc_html_escape(detail, sizeof detail, d->detail);
    n = asprintf(&html,
                 "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>%s · Attune</title>"
                 "<link rel=\"stylesheet\" href=\"/static/login.css\"></head>\n"
                 "<body><main class=\"login\"><h1>Attune</h1><h2>%s</h2>\n"
                 "<p class=\"error\" role=\"alert\">%s</p></main></body></html>\n",
                 http_status_text(d->status), http_status_text(d->status), detail);
    if (n < 0) {
        http_problem(rep, d->status, d->code, NULL, NULL, "%s", d->detail);
        return;
    }
    http_reply_take(rep, d->status, "text/html; charset=utf-8", html, (size_t)n);
}

static void acc_refuse(struct acc_env *env, struct http_request *req, struct http_reply *rep,
                       const struct acc_identity *who, const struct acc_denial *d)
{
    char q[256], path[256];

    log_event(LOG_INFO, "auth.denied", "status=%d code=%s actor=%s path=%s req=%s", d->status,
              d->code, log_quote(q, sizeof q, who && who->actor ? who->actor : "-"),
              log_quote(path, sizeof path, http_log_path(req)), req->request_id);
    if (who != NULL && who->actor != NULL && d->status == 403) {
        struct audit_entry a;
        struct err ignored;
        json_t *detail = json_pack("{s:s, s:i}", "code", d->code, "status", d->status);
        /* The route's pattern, not the path: a path can hold a participant's
         * code or token, which must never reach a log that cannot be changed. */
        char *target = arena_printf(req->arena, "%s %.480s", req->method,
                                    req->route ? req->route->pattern : "?");
        memset(&a, 0, sizeof a);
        a.actor_kind = who->actor_kind;
        a.actor = who->actor;
        a.action = "auth.denied";
        a.target = target;
        a.study_id = who->study_id;
        a.request_id = req->request_id;
        a.source_addr = who->source_addr;
        a.detail = detail;
        if (audit_append_now(env->pool, &a, &ignored) != 0)
            log_event(LOG_WARN, "audit.failed", "action=auth.denied message=%s",
                      log_quote(q, sizeof q, ignored.message));
        json_decref(detail);
    }
    if (req->route != NULL && (req->route->auth & ACC_PAGE))
        acc_refusal_page(rep, d);
    else
        http_problem(rep, d->status, d->code, NULL, NULL, "%s", d->detail);
    if (d->status == 401)
        http_reply_header(rep, "WWW-Authenticate", "Bearer realm=\"attune\"");
}

/* Browsers asking for a page without a session go to the sign-in form. */
static void acc_to_login(struct http_request *req, struct http_reply *rep)
{
    static const char safe[] = "/-_.~";
    static const char prefix[] = "/login?next=";
    size_t size = sizeof prefix + strlen(req->path) * 3;
    char *location = arena_alloc(req->arena, size);
    size_t o;

    if (location == NULL) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    o = (size_t)snprintf(location, size, "%s", prefix);
    for (const unsigned char *p = (const unsigned char *)req->path; *p && o + 4 <= size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr(safe, *p) != NULL)
            location[o++] = (char)*p;
        else
            o += (size_t)snprintf(location + o, size - o, "%%%02X", *p);
    }
    location[o] = '\0';
    http_reply_bytes(rep, 303, "text/plain; charset=utf-8", "Sign in first.\n", 15);
    http_reply_header(rep, "Location", location);
}

/*
 * A second check besides the CSRF token: a request whose Origin names another
 * site is refused. "null" says nothing: browsers send it for our own forms,
 * because every response carries Referrer-Policy: no-referrer.
 */
static int acc_origin_ok(const struct http_request *req)
{
    const char *origin = http_header(req, "origin");
    const char *host = http_header(req, "host");

    if (origin == NULL || strcmp(origin, "null") == 0)
        return 1;
    if (host == NULL)
        return 0;
    if (strncmp(origin, "https://", 8) == 0)
        origin += 8;
    else if (strncmp(origin, "http://", 7) == 0)
        origin += 7;
    else
        return 0;
    return strcasecmp(origin, host) == 0;
}

static int acc_csrf_ok(const struct http_request *req, const char *cookie)
{
    const char *given = http_header(req, "x-csrf-token");

    if (given == NULL)
        given = http_form(req, "csrf_token");
    return acc_origin_ok(req) && acc_csrf_check(cookie, given);
}

/*
 * acc_authorize(), and with `may_defer` 0 acc_authorize_resolve(): on an
 * ACC_DEFERRED route a well-formed participant token is not looked up (see
 * ACC_DEFERRED in access.h).
 */
static int acc_authorize_in(struct http_request *req, struct http_reply *rep, int may_defer)
{
    struct acc_env *env = req->app; /* the application context begins with it */
    unsigned auth = req->route ? req->route->auth : ACC_ADMIN;
    unsigned level = auth & ACC_LEVEL_MASK;
    /* Pages for users send strangers to /login; participant pages cannot. */
    int to_login = (auth & ACC_PAGE) && level != ACC_PARTICIPANT;
    const char *bearer = acc_bearer(http_header(req, "authorization"));
    const char *study = http_path_param(req, "study");
    char cookie[128] = "";
    struct acc_identity *who;
    struct acc_denial denial;
    char *hash = NULL;
    PGconn *conn = NULL;
    struct err e;
    int found, rc = 1;

    err_clear(&e);
    who = arena_calloc(req->arena, 1, sizeof *who);
    if (who == NULL) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return 1;
    }
    who->source_addr = acc_client_addr(env, req);
    if (level == ACC_PARTICIPANT && bearer == NULL)
        bearer = http_path_param(req, "token");
    if (bearer == NULL &&
        acc_cookie_get(http_header(req, "cookie"), ACC_SESSION_COOKIE, cookie, sizeof cookie) != 0)
        cookie[0] = '\0';
    if (bearer == NULL && cookie[0] == '\0') {
        if (to_login) {
            acc_to_login(req, rep);
            return 1;
        }
        acc_deny(&denial, 401, "unauthenticated",
                 level == ACC_PARTICIPANT ? "This endpoint needs the participant's access token."
                                          : "Sign in, or send an API token as a Bearer token.");
        acc_refuse(env, req, rep, NULL, &denial);
        return 1;
    }
    if ((bearer != NULL && !acc_token_well_formed(bearer)) ||
        (bearer == NULL && !acc_token_well_formed(cookie))) {
        acc_deny(&denial, 401, bearer ? "invalid-token" : "session-expired",
                 bearer ? "The token is not one this server issued."
                        : "The session cookie is not valid; sign in again.");
        if (!bearer && to_login)
            acc_to_login(req, rep);
        else
            acc_refuse(env, req, rep, NULL, &denial);
        return 1;
    }
    if (bearer != NULL && strncmp(bearer, ACC_API_PREFIX, sizeof ACC_API_PREFIX - 1) != 0) {
        /* A participant token: found by its hash, which a deferring handler's
         * write statement checks itself. */
        if ((hash = arena_alloc(req->arena, 2 * ACC_HASH_BYTES + 3)) == NULL) {
            http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
            return 1;
        }
        acc_token_hash_hex(bearer, hash);
        who->token_hash_hex = hash;
        if (may_defer && level == ACC_PARTICIPANT && (auth & ACC_DEFERRED)) {
            who->kind = ACC_KIND_PARTICIPANT;
            who->actor_kind = "participant";
            who->deferred = 1;
            req->auth = who;
            return 0;
        }
    }
    conn = db_pool_acquire(env->pool, ACC_DB_WAIT_MS, &e);
    if (conn == NULL)
        goto unavailable;
    if (bearer != NULL && strncmp(bearer, ACC_API_PREFIX, sizeof ACC_API_PREFIX - 1) == 0)
        found = acc_lookup_api_token(conn, bearer, req, who, &denial, &e);
    else if (bearer != NULL)
        found = acc_lookup_participant(conn, hash, req, who, &denial, &e);
    else
        found = acc_lookup_session(env, conn, cookie, req, who, &denial, &e);
    db_pool_release(env->pool, conn);
    conn = NULL;
    if (found < 0)
        goto unavailable;
    if (found == ACC_UNKNOWN) {
        if (bearer == NULL && to_login) {
            acc_to_login(req, rep);
            goto out;
        }
        acc_deny(&denial, 401, bearer ? "invalid-token" : "session-expired",
                 bearer ? "The token is not known here."
                        : "The session is not known; sign in again.");
        acc_refuse(env, req, rep, NULL, &denial);
        goto out;
    }
    if (found == ACC_REFUSED) {
        if (denial.status == 401 && bearer == NULL && to_login)
            acc_to_login(req, rep);
        else
            acc_refuse(env, req, rep, denial.status == 403 ? who : NULL, &denial);
        goto out;
    }
    /* Only a well-formed study id is recorded (audit rows); any other value
     * names no study and is refused or answered 404 below. */
    if (who->kind != ACC_KIND_PARTICIPANT && study != NULL && acc_study_key_ok(study))
        who->study_id = study;
    if (acc_decide(auth, req->method, who, study, &denial) != 0) {
        acc_refuse(env, req, rep, who, &denial);
        goto out;
    }
    if (who->kind == ACC_KIND_USER && acc_method_writes(req->method) && !acc_csrf_ok(req, cookie)) {
        acc_deny(&denial, 403, "csrf-failed",
                 "The request did not carry this session's CSRF token (form field csrf_token or "
                 "header X-CSRF-Token), or came from another site.");
        acc_refuse(env, req, rep, who, &denial);
        goto out;
    }
    req->auth = who;
    rc = 0;
    goto out;
unavailable : {
    char q[256];
    log_event(LOG_WARN, "auth.unavailable", "message=%s req=%s", log_quote(q, sizeof q, e.message),
              req->request_id);
}
    http_problem(rep, 503, "unavailable", "Service Unavailable", NULL,
                 "The database cannot be reached right now; try again shortly.");
    http_reply_header(rep, "Retry-After", "5");
out:
    if (conn != NULL)
        db_pool_release(env->pool, conn);
    sodium_memzero(cookie, sizeof cookie);
    return rc;
}

int acc_authorize(struct http_request *req, struct http_reply *rep)
{
    return acc_authorize_in(req, rep, 1);
}

int acc_authorize_resolve(struct http_request *req, struct http_reply *rep)
{
    const struct acc_identity *who = req->auth;

    if (who == NULL || !who->deferred)
        return 0;
    return acc_authorize_in(req, rep, 0);
}

int acc_identity_settle(struct http_request *req, long long participant_id, const char *study_id)
{
    struct acc_identity *who = req->auth;

    if (who == NULL || !who->deferred)
        return 0;
    who->participant_id = participant_id;
    who->study_id = arena_strdup(req->arena, study_id);
    who->actor = arena_printf(req->arena, "%s/#%lld", study_id, participant_id);
    return who->study_id && who->actor ? 0 : -1;
}
