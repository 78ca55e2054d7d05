/*
 * login.c — GET /login (the form), POST /login (check, rate-limit, start a
 * session) and POST /logout (end it server-side).
 *
 * The pages are plain server-rendered HTML that pass the strict
 * Content-Security-Policy: no script, no inline style (the look comes from
 * /static/login.css). The form is protected against login CSRF by a
 * double-submit token: GET /login sets a random cookie (attune_login, sent
 * only to /login) and puts its HMAC in a hidden field; POST /login requires
 * both to match.
 *
 * Password guessing is bounded per account name and per client address over
 * a sliding window (login_failures_*, login_window); past the limit the
 * answer is 429 with Retry-After and the password is not even checked.
 * Attempts refused that way are not counted again, so the block lifts when
 * the window has passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "access_int.h"
#include "audit.h"
#include "log.h"

#define ACC_USERNAME_MAX     64
#define ACC_LOGIN_COOKIE_AGE 3600
#define ACC_LOGIN_LIMIT_MAX  1000 /* the configuration's upper bound for both limits */

/* Renders the form into the reply. `message` is plain text (escaped here). */
static void acc_login_page(struct http_reply *rep, const struct acc_env *env, int status,
                           const char *message, const char *username, const char *next)
{
    char secret[ACC_TOKEN_TEXT], csrf[ACC_CSRF_TEXT], cookie[256];
    char user_html[ACC_USERNAME_MAX * 6 + 1] = "", next_html[512 * 6 + 1] = "";
    char msg_html[1024] = "";
    char *html = NULL;
    int n;

    acc_token_new(secret);
    acc_csrf_token(secret, csrf);
    if (username && strlen(username) <= ACC_USERNAME_MAX)
        acc_html_escape(user_html, sizeof user_html, username);
    acc_html_escape(next_html, sizeof next_html, acc_next_is_local(next) ? next : "/");
    if (message != NULL) {
        char esc[800] = "";
        acc_html_escape(esc, sizeof esc, message);
        snprintf(msg_html, sizeof msg_html, "<p class=\"error\" role=\"alert\">%s</p>", esc);
    }
    n = asprintf(&html,
                 "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>Sign in · Attune</title>"
                 "<link rel=\"stylesheet\" href=\"/static/login.css\"></head>\n"
                 "<body><main class=\"login\"><h1>Attune</h1><h2>Sign in</h2>%s\n"
                 "<form method=\"post\" action=\"/login\">"
                 "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">"
                 "<input type=\"hidden\" name=\"next\" value=\"%s\">\n"
                 "<label for=\"username\">User name</label>"
                 "<input id=\"username\" name=\"username\" autocomplete=\"username\" required "
                 "maxlength=\"%d\" autocapitalize=\"none\" spellcheck=\"false\" value=\"%s\">\n"
                 "<label for=\"password\">Password</label>"
                 "<input id=\"password\" name=\"password\" type=\"password\" "
                 "autocomplete=\"current-password\" required maxlength=\"%d\">\n"
                 "<button type=\"submit\">Sign in</button></form></main></body></html>\n",
                 msg_html, csrf, next_html, ACC_USERNAME_MAX, user_html, ACC_PASSWORD_MAX);
    if (n < 0) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    http_reply_take(rep, status, "text/html; charset=utf-8", html, (size_t)n);
    if (acc_cookie_format(cookie, sizeof cookie, ACC_LOGIN_COOKIE, secret, "/login",
                          ACC_LOGIN_COOKIE_AGE, env->secure_cookies) == 0)
        http_reply_header(rep, "Set-Cookie", cookie);
    sodium_memzero(secret, sizeof secret);
}

void acc_login_get(struct http_request *req, struct http_reply *rep)
{
    acc_login_page(rep, req->app, 200, NULL, NULL, http_query(req, "next"));
}

/* Parses "1.5,2.25" (newest first) into `out`; returns the count. */
static size_t acc_parse_times(const char *text, double *out, size_t max)
{
    size_t n = 0;
    const char *p = text;

    while (p && *p && n < max) {
        char *end;
        out[n] = strtod(p, &end);
        if (end == p)
            break;
        n++;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* How long the caller must wait before another attempt; 0 when it may go on. */
static int acc_login_wait(PGconn *conn, const struct acc_env *env, const char *username,
                          const char *addr, long *wait, struct err *e)
{
    const struct cfg *c = env->cfg;
    char window[16], lim_user[16], lim_addr[16];
    const char *params[5] = {username, addr, window, lim_user, lim_addr};
    double user_times[ACC_LOGIN_LIMIT_MAX], addr_times[ACC_LOGIN_LIMIT_MAX];
    PGresult *res = NULL;
    size_t nu, na;
    double now;
    long w1, w2;
    int rc;

    snprintf(window, sizeof window, "%d", c->login_window_s);
    snprintf(lim_user, sizeof lim_user, "%d", c->login_failures_account);
    snprintf(lim_addr, sizeof lim_addr, "%d", c->login_failures_address);
    if ((rc = db_query(conn, "acc_login_failures_recent", 5, params, &res, e)) < 0)
        return rc;
    now = strtod(PQgetvalue(res, 0, 0), NULL);
    nu = acc_parse_times(PQgetvalue(res, 0, 1), user_times, ACC_LOGIN_LIMIT_MAX);
    na = acc_parse_times(PQgetvalue(res, 0, 2), addr_times, ACC_LOGIN_LIMIT_MAX);
    w1 = acc_ratelimit_wait(user_times, nu, now, c->login_failures_account, c->login_window_s);
    w2 = acc_ratelimit_wait(addr_times, na, now, c->login_failures_address, c->login_window_s);
    *wait = w1 > w2 ? w1 : w2;
    PQclear(res);
    return 0;
}

struct acc_login_tx {
    const struct acc_env *env;
    const struct http_request *req;
    const char *username;
    const char *addr;
    long long user_id;
    int success;
    const char *why;       /* failures: "unknown user", "wrong password", "disabled" */
    const char *token_hex; /* success: the session's hash */
    long long session_id;
};

static int acc_login_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct acc_login_tx *t = vctx;
    struct audit_entry a;
    json_t *detail = NULL;
    PGresult *res = NULL;
    char uid[24], max[16];
    int rc;

    memset(&a, 0, sizeof a);
    a.actor_kind = "user";
    a.actor = t->username;
    a.target = arena_printf(t->req->arena, "user:%s", t->username);
    a.request_id = t->req->request_id;
    a.source_addr = t->addr;
    if (!t->success) {
        const char *params[2] = {t->username, t->addr};
        if ((rc = db_query(conn, "acc_login_failure_add", 2, params, NULL, e)) < 0)
            goto out;
        a.action = "user.login_failed";
        detail = json_pack("{s:s}", "reason", t->why);
        a.detail = detail;
        rc = audit_append(conn, &a, e);
        goto out;
    }
    snprintf(uid, sizeof uid, "%lld", t->user_id);
    snprintf(max, sizeof max, "%d", t->env->cfg->session_max_s);
    {
        const char *params[4] = {t->token_hex, uid, max, t->addr};
        if ((rc = db_query(conn, "acc_session_create", 4, params, &res, e)) < 0)
            goto out;
        t->session_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    {
        const char *params[1] = {t->username};
        if ((rc = db_query(conn, "acc_login_failures_clear", 1, params, NULL, e)) < 0)
            goto out;
    }
    {
        const char *params[1] = {uid};
        if ((rc = db_query(conn, "acc_user_touch_login", 1, params, NULL, e)) < 0)
            goto out;
    }
    a.action = "user.login";
    detail = json_pack("{s:I}", "session", (json_int_t)t->session_id);
    a.detail = detail;
    rc = audit_append(conn, &a, e);
out:
    json_decref(detail);
    PQclear(res);
    return rc < 0 ? rc : 0;
}

static void acc_login_unavailable(struct http_reply *rep, const struct err *e)
{
    char q[256];

    log_event(LOG_WARN, "login.unavailable", "message=%s", log_quote(q, sizeof q, e->message));
    http_problem(rep, 503, "unavailable", "Service Unavailable", NULL,
                 "The database cannot be reached right now; try again shortly.");
    http_reply_header(rep, "Retry-After", "5");
}

/* Audits a sign-in refused before any password check (CSRF, throttling). */
static void acc_login_audit(struct acc_env *env, const struct http_request *req,
                            const char *username, const char *addr, const char *action,
                            json_t *detail)
{
    struct audit_entry a;
    struct err e;
    char q[256];

    memset(&a, 0, sizeof a);
    a.actor_kind = "user";
    a.actor = username && username[0] ? username : "anonymous";
    a.action = action;
    a.target = username && username[0] ? arena_printf(req->arena, "user:%s", username) : NULL;
    a.request_id = req->request_id;
    a.source_addr = addr;
    a.detail = detail;
    err_clear(&e);
    if (audit_append_now(env->pool, &a, &e) != 0)
        log_event(LOG_WARN, "audit.failed", "action=%s message=%s", action,
                  log_quote(q, sizeof q, e.message));
    json_decref(detail);
}

void acc_login_post(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    const char *given_user = http_form(req, "username");
    const char *password = http_form(req, "password");
    const char *next = http_form(req, "next");
    const char *addr = acc_client_addr(env, req);
    char username[ACC_USERNAME_MAX + 1], cookie[128] = "", hash[128] = "";
    char token[ACC_TOKEN_TEXT], token_hex[2 * ACC_HASH_BYTES + 3], set_cookie[256];
    struct acc_login_tx t;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    struct err e;
    long wait = 0;
    int known = 0, disabled = 0, good;

    err_clear(&e);
    if (!acc_next_is_local(next))
        next = "/";
    if (acc_cookie_get(http_header(req, "cookie"), ACC_LOGIN_COOKIE, cookie, sizeof cookie) != 0 ||
        !acc_csrf_check(cookie, http_form(req, "csrf_token"))) {
        acc_login_audit(env, req, NULL, addr, "auth.denied",
                        json_pack("{s:s, s:i}", "code", "csrf-failed", "status", 403));
        acc_login_page(rep, env, 403,
                       "The sign-in form had expired or came from another site. Please try again.",
                       given_user, next);
        return;
    }
    if (given_user == NULL || password == NULL || given_user[0] == '\0' || password[0] == '\0') {
        acc_login_page(rep, env, 400, "Enter your user name and password.", given_user, next);
        return;
    }
    if (strlen(given_user) > ACC_USERNAME_MAX || strlen(password) > ACC_PASSWORD_MAX) {
        acc_login_page(rep, env, 400, "The user name or password is too long.", NULL, next);
        return;
    }
    /* User names are lower case; what people type may not be. */
    for (size_t i = 0;; i++) {
        char ch = given_user[i];
        username[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        if (ch == '\0')
            break;
    }

    if ((conn = db_pool_acquire(env->pool, 2000, &e)) == NULL)
        goto unavailable;
    if (acc_login_wait(conn, env, username, addr, &wait, &e) != 0)
        goto unavailable;
    if (wait > 0) {
        char after[24], msg[200];
        db_pool_release(env->pool, conn);
        conn = NULL;
        acc_login_audit(env, req, username, addr, "user.login_throttled",
                        json_pack("{s:I}", "retry_after_s", (json_int_t)wait));
        snprintf(msg, sizeof msg,
                 "Too many failed sign-ins. Please wait %ld minute%s before trying again.",
                 (wait + 59) / 60, (wait + 59) / 60 == 1 ? "" : "s");
        acc_login_page(rep, env, 429, msg, given_user, next);
        snprintf(after, sizeof after, "%ld", wait);
        http_reply_header(rep, "Retry-After", after);
        return;
    }
    {
        const char *params[1] = {username};
        int n = db_query(conn, "acc_user_for_login", 1, params, &res, &e);
        if (n < 0)
            goto unavailable;
        if (n == 1) {
            known = 1;
            snprintf(hash, sizeof hash, "%s", PQgetvalue(res, 0, 1));
            disabled = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        }
    }
    db_pool_release(env->pool, conn);
    conn = NULL;

    /* Verify against the dummy hash for unknown users: the answer takes as
     * long either way. */
    sem_wait(&env->pwhash_slots);
    good = acc_password_verify(known ? hash : env->dummy_hash, password);
    sem_post(&env->pwhash_slots);
    sodium_memzero(hash, sizeof hash);

    memset(&t, 0, sizeof t);
    t.env = env;
    t.req = req;
    t.username = username;
    t.addr = addr;
    t.success = known && good && !disabled;
    t.why = !known ? "unknown user" : !good ? "wrong password" : "account disabled";
    if (t.success) {
        t.user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        acc_token_new(token);
        acc_token_hash_hex(token, token_hex);
        t.token_hex = token_hex;
    }
    if (db_run(env->pool, DB_READ_COMMITTED, acc_login_tx, &t, &e) != 0)
        goto unavailable;
    if (!t.success) {
        log_event(LOG_INFO, "login.failed", "req=%s", req->request_id);
        acc_login_page(rep, env, 401, "The user name or password is not right.", given_user, next);
        goto out;
    }
    http_reply_bytes(rep, 303, "text/plain; charset=utf-8", "Signed in.\n", 11);
    http_reply_header(rep, "Location", next);
    if (acc_cookie_format(set_cookie, sizeof set_cookie, ACC_SESSION_COOKIE, token, "/",
                          env->cfg->session_max_s, env->secure_cookies) == 0)
        http_reply_header(rep, "Set-Cookie", set_cookie);
    if (acc_cookie_format(set_cookie, sizeof set_cookie, ACC_LOGIN_COOKIE, "", "/login", 0,
                          env->secure_cookies) == 0)
        http_reply_header(rep, "Set-Cookie", set_cookie);
    sodium_memzero(token, sizeof token);
    sodium_memzero(set_cookie, sizeof set_cookie);
    goto out;
unavailable:
    acc_login_unavailable(rep, &e);
out:
    if (conn != NULL)
        db_pool_release(env->pool, conn);
    PQclear(res);
}

struct acc_logout_tx {
    const struct http_request *req;
    const struct acc_identity *who;
};

static int acc_logout_tx(PGconn *conn, void *vctx, struct err *e)
{
    struct acc_logout_tx *t = vctx;
    struct audit_entry a;
    char sid[24];
    const char *params[1] = {sid};
    int rc;

    snprintf(sid, sizeof sid, "%lld", t->who->session_id);
    if ((rc = db_query(conn, "acc_session_end", 1, params, NULL, e)) < 0)
        return rc;
    audit_entry_from_request(&a, t->req);
    a.action = "user.logout";
    a.target = arena_printf(t->req->arena, "user:%s", t->who->username);
    return audit_append(conn, &a, e);
}

void acc_logout_post(struct http_request *req, struct http_reply *rep)
{
    struct acc_env *env = req->app;
    struct acc_logout_tx t = {req, acc_identity_of(req)};
    char cookie[256];
    struct err e;

    err_clear(&e);
    if (db_run(env->pool, DB_READ_COMMITTED, acc_logout_tx, &t, &e) != 0) {
        acc_login_unavailable(rep, &e);
        return;
    }
    http_reply_bytes(rep, 303, "text/plain; charset=utf-8", "Signed out.\n", 12);
    http_reply_header(rep, "Location", "/login");
    if (acc_cookie_format(cookie, sizeof cookie, ACC_SESSION_COOKIE, "", "/", 0,
                          env->secure_cookies) == 0)
        http_reply_header(rep, "Set-Cookie", cookie);
}

/* GET /account: who is signed in, and the sign-out button (a form carrying the
 * CSRF token, since signing out changes state). */
void acc_account_get(struct http_request *req, struct http_reply *rep)
{
    const struct acc_identity *who = acc_identity_of(req);
    char user_html[ACC_USERNAME_MAX * 6 + 1] = "", studies_html[4096] = "";
    char *html = NULL;
    int n;

    acc_html_escape(user_html, sizeof user_html, who->username);
    for (size_t i = 0; i < who->n_studies; i++) {
        if (i > 0 && acc_html_escape(studies_html, sizeof studies_html, ", ") != 0)
            break;
        if (acc_html_escape(studies_html, sizeof studies_html, who->studies[i]) != 0)
            break;
    }
    n = asprintf(&html,
                 "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>Your account · Attune</title>"
                 "<link rel=\"stylesheet\" href=\"/static/login.css\"></head>\n"
                 "<body><main class=\"login\"><h1>Attune</h1><h2>Your account</h2>\n"
                 "<p>Signed in as <strong>%s</strong> (%s).</p>\n<p>Studies: %s</p>\n"
                 "<form method=\"post\" action=\"/logout\">"
                 "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">"
                 "<button type=\"submit\">Sign out</button></form></main></body></html>\n",
                 user_html, acc_role_name(who->role),
                 who->role == ACC_ROLE_ADMIN ? "all (admin)"
                 : studies_html[0]           ? studies_html
                                             : "none yet",
                 who->csrf_token);
    if (n < 0) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    http_reply_take(rep, 200, "text/html; charset=utf-8", html, (size_t)n);
}
