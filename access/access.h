/*
 * access.h — who is asking, and may they: authorisation levels for routes,
 * the identity a request carries once authorised, participant and API tokens,
 * passwords, sessions and the pure helpers behind them (cookies, CSRF tokens,
 * rate-limit arithmetic).
 *
 * A route says what it needs in its `auth` field (struct http_route): an
 * ACC_* level, OR-ed with ACC_SCOPE_* and ACC_* flags. acc_authorize() is the
 * HTTP layer's authorisation hook: it finds the credentials (a participant's
 * bearer token or {token} path segment; a user's session cookie; a user's
 * API token), checks them against the database, checks role, study
 * membership (from the {study} path parameter), token scope and CSRF, and
 * either sets req->auth to a struct acc_identity or answers 401/403/429/503
 * as problem+json (or sends a browser to /login for ACC_PAGE routes).
 *
 * The application context (req->app) must begin with a struct acc_env, the
 * part of it this module reads: struct col_app does (collector.h).
 */
#ifndef ATTUNE_ACCESS_H
#define ATTUNE_ACCESS_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "http.h"

enum {
    ACC_EINVAL = -20,    /* bad input: a password too short, an unknown role, a malformed token */
    ACC_ENOTFOUND = -21, /* no such user, participant, token or study */
    ACC_ECONFLICT = -22, /* already exists, already erased, ambiguous participant code */
    ACC_ECRYPTO = -23,   /* libsodium failed (out of memory for Argon2id) */
};

/* ---- what a route needs (struct http_route.auth) ---- */

/*
 * Levels, ordered: a user role satisfies its level and every lower user
 * level. Participants are a separate kind: a participant token satisfies only
 * ACC_PARTICIPANT, and a user only the user levels.
 */
enum acc_level {
    ACC_PUBLIC = 0,      /* no credentials needed; acc_authorize() is not called */
    ACC_PARTICIPANT = 1, /* a participant's token (bearer or {token} path segment) */
    ACC_VIEWER = 2,      /* any signed-in user or API token: aggregates only */
    ACC_RESEARCHER = 3,  /* participant-level data and exports of the user's studies */
    ACC_ADMIN = 4,       /* users, every study, withdrawals and erasure */
};
#define ACC_LEVEL_MASK 0x0fu

/*
 * API-token scopes a route needs. When none is given, GET and HEAD need
 * read and every other method needs write. Sessions hold every scope.
 */
#define ACC_SCOPE_READ   0x10u
#define ACC_SCOPE_WRITE  0x20u
#define ACC_SCOPE_EXPORT 0x40u
#define ACC_SCOPE_MASK   0x70u

/* Flags. */
#define ACC_PAGE         0x100u /* an HTML page: without a session, redirect to /login */
#define ACC_SESSION_ONLY 0x200u /* API tokens refused (token management, say) */
/*
 * A participant route whose handler may start before the token is looked up
 * (POST /api/v1/responses). acc_authorize() then checks only the token's form
 * and hands over an identity with `deferred` set: the token's hash and
 * nothing else of the participant. The handler must either store through a
 * statement that checks the token itself, atomically with the write (a live
 * token of a participant who has not withdrawn; erasure withdraws and
 * revokes), or call acc_authorize_resolve() before it answers anything else
 * or uses the participant; that looks the token up and refuses exactly as
 * acc_authorize() would have. It saves the look-up round trip on the common
 * path, a valid submission with a valid token (sql/007, docs/collector.md).
 */
#define ACC_DEFERRED 0x400u

/* ---- who is asking (req->auth) ---- */

enum acc_kind {
    ACC_KIND_USER = 1,        /* a browser session */
    ACC_KIND_TOKEN = 2,       /* an API token, acting for its user */
    ACC_KIND_PARTICIPANT = 3, /* a participant token */
};

enum acc_role {
    ACC_ROLE_NONE = 0,
    ACC_ROLE_VIEWER = ACC_VIEWER,
    ACC_ROLE_RESEARCHER = ACC_RESEARCHER,
    ACC_ROLE_ADMIN = ACC_ADMIN,
};

/*
 * Set by acc_authorize() in req->auth for every route with auth != 0. Lives
 * in the request's arena: copy what must outlive the request.
 */
struct acc_identity {
    enum acc_kind kind;
    const char *actor_kind;  /* audit_log.actor_kind: "user", "token", "participant" */
    const char *actor;       /* audit_log.actor: "alice", "alice/token-12", "demo/#17" */
    const char *source_addr; /* the client (through a trusted proxy: X-Forwarded-For), or NULL */

    /* Users and API tokens. */
    long long user_id;
    const char *username;
    enum acc_role role;
    const char *const *studies; /* memberships, sorted; an admin sees every study anyway */
    size_t n_studies;
    long long session_id;    /* sessions: the session's id, else 0 */
    const char *csrf_token;  /* sessions: put in forms (csrf_token) or X-CSRF-Token */
    long long token_id;      /* API tokens: the token's id, else 0 */
    unsigned scopes;         /* ACC_SCOPE_* held: all for sessions */
    const char *token_study; /* API tokens limited to one study, else NULL */

    /* Participants. */
    long long participant_id;
    const char *participant_code;
    const char *participant_arm;
    int64_t participant_enrolled_us; /* enrolled_at, microseconds since the epoch */
    int withdrawn;                   /* reads still work; every write was refused */
    /* ACC_DEFERRED routes: not looked up yet. Only token_hash_hex is known
     * (and, once a write statement found the token live, what
     * acc_identity_settle() records); see ACC_DEFERRED. */
    int deferred;
    const char *token_hash_hex; /* "\\x" and 64 hex digits, PostgreSQL's bytea input */

    /* The participant's study, or for users the {study} path parameter checked. */
    const char *study_id;
};

/* The identity of an authorised request, or NULL on a public route. */
const struct acc_identity *acc_identity_of(const struct http_request *req);

/*
 * Whether the identity may see `study`: admins every study; viewers and
 * researchers their memberships; an API token limited to one study only that
 * one. Participants only their own study.
 */
int acc_identity_sees_study(const struct acc_identity *who, const char *study);

/* ---- the part of the application context this module reads ---- */

struct acc_env {
    struct db_pool *pool;
    const struct cfg *cfg;
    int secure_cookies;   /* served over TLS, or public_url is https: cookies get Secure */
    sem_t pwhash_slots;   /* bounds concurrent Argon2id work (64 MiB each) */
    char dummy_hash[128]; /* verified for unknown users so that timing tells nothing */
};

/*
 * Fills `env` (caller-owned, usually the first member of the application
 * context). `pool` and `cfg` are borrowed. ACC_ECRYPTO if the dummy hash
 * cannot be made.
 */
int acc_env_init(struct acc_env *env, struct db_pool *pool, const struct cfg *cfg, int tls,
                 struct err *e);

/* Releases what acc_env_init() made. */
void acc_env_destroy(struct acc_env *env);

/*
 * The http_authorize_fn hook (see the file comment). Returns 0 with req->auth
 * set, or non-zero with `rep` filled. Refusals by recognised credentials
 * (403) are audited as auth.denied.
 */
int acc_authorize(struct http_request *req, struct http_reply *rep);

/*
 * For a request whose identity is deferred (ACC_DEFERRED): looks the token up
 * and decides as acc_authorize() does. Returns 0 with req->auth now the
 * looked-up identity (also when it was not deferred: nothing to do), or
 * non-zero with `rep` filled: 401/403 (audited as acc_authorize() audits) or
 * 503 when the database cannot be reached.
 */
int acc_authorize_resolve(struct http_request *req, struct http_reply *rep);

/*
 * A deferred identity whose token a write statement has just found live, for
 * `participant_id` of study `study_id`: records them in the identity (for
 * the request's log and counters). Strings are copied into the request's
 * arena. 0, or -1 when out of memory.
 */
int acc_identity_settle(struct http_request *req, long long participant_id, const char *study_id);

/*
 * The researcher API's answers (access/ and dashboards/ alike) to a request
 * whose database work failed, each logged once: 503 "unavailable" with
 * Retry-After when the database cannot be reached or no connection is free
 * (a db.unavailable warning), or 500 "internal" naming the request id (an
 * error logged as `event`). The caller decides which applies.
 */
void acc_reply_unavailable(struct http_request *req, struct http_reply *rep, const struct err *e);
void acc_reply_internal(struct http_request *req, struct http_reply *rep, const char *event,
                        const struct err *e);

/*
 * The background worker of `attune serve`: seals the audit log every
 * `seal_interval_ms` (audit_seal()) and, once a minute, deletes sessions that
 * ended or expired over a day ago and login failures older than a day.
 * `pool` is borrowed and must outlive the worker.
 */
struct acc_worker;
int acc_worker_start(struct db_pool *pool, int seal_interval_ms, struct acc_worker **out,
                     struct err *e);

/* Seals once more, stops the thread and frees the worker. NULL-safe. */
void acc_worker_stop(struct acc_worker *w);

/* The module's routes (routes.c): sign-in pages and the access API. */
extern const struct http_route acc_routes[];
extern const size_t acc_routes_count;

/* The module's SQL (statements.c); prepare it on every connection that uses acc_*. */
extern const struct db_statement acc_statements[];

/* ---- tokens (token.c) ---- */

#define ACC_TOKEN_BYTES    32 /* 256 random bits */
#define ACC_TOKEN_TEXT     44 /* base64url without padding, 43 characters + NUL */
#define ACC_API_PREFIX     "atk."
#define ACC_API_TOKEN_TEXT (sizeof ACC_API_PREFIX - 1 + ACC_TOKEN_TEXT)
#define ACC_HASH_BYTES     32

/*
 * A new participant token: 256 random bits from libsodium as URL-safe text
 * (base64url, 43 characters, no padding), written into `out` (at least
 * ACC_TOKEN_TEXT bytes). Participant tokens never contain '.', so they cannot
 * be mistaken for API tokens.
 */
void acc_token_new(char out[ACC_TOKEN_TEXT]);

/* A new API token: "atk." followed by a participant-style token. */
void acc_api_token_new(char out[ACC_API_TOKEN_TEXT]);

/*
 * The hash stored for a token (participant_tokens.token_hash,
 * api_tokens.token_hash, sessions.token_hash): SHA-256 of the token's text.
 */
void acc_token_hash(const char *token, uint8_t out[ACC_HASH_BYTES]);

/* The same as PostgreSQL's bytea hex input ("\\x…", 67 bytes with NUL). */
void acc_token_hash_hex(const char *token, char out[2 * ACC_HASH_BYTES + 3]);

/* Whether `token` looks like a token (length and alphabet). */
int acc_token_well_formed(const char *token);

/* ---- participants: withdrawal and erasure (participants.c) ---- */

struct audit_entry;

struct acc_participant {
    long long id;
    char study_id[64];
    char code[33];
    char arm_id[64];
    char status[16];       /* active, withdrawn, completed */
    char enrolled_at[32];  /* RFC 3339 */
    char withdrawn_at[32]; /* RFC 3339, or "" */
    int erased;
    char enrolled_exact[48]; /* enrolled_at as PostgreSQL prints it, microseconds kept */
};

/*
 * Finds a participant by pseudonymous code, in `study` when not NULL, and
 * locks the row for the rest of the transaction. ACC_ENOTFOUND; ACC_ECONFLICT
 * when the code exists in several studies and `study` is NULL (the detail
 * names them).
 */
int acc_participant_find(PGconn *conn, const char *study, const char *code,
                         struct acc_participant *out, struct err *e);

/* The same by internal id (a participant's own token). */
int acc_participant_find_id(PGconn *conn, long long id, struct acc_participant *out, struct err *e);

/*
 * Withdraws `p` (found and locked in this transaction) and audits
 * participant.withdraw with the actor, request and reason of `who` (a
 * template: its action, target and detail are ignored). From that moment the
 * participant's token gets 403 on every write. Returns 0, or 1 when the
 * participant had already withdrawn (nothing changes, nothing is audited), or
 * a db_status. Updates `p`.
 */
int acc_participant_withdraw(PGconn *conn, struct acc_participant *p, const struct audit_entry *who,
                             struct err *e);

struct acc_erasure {
    long responses, items, events, tokens, runs;
};

/*
 * Erases `p` inside the caller's transaction: deletes their responses, item
 * answers and events, revokes their tokens, withdraws them if needed, replaces
 * their code with "erased-<id>", marks the study's analysis runs made since
 * their enrolment as not reproducible, and audits participant.erase with the
 * counts and `who->reason` (required) — never the erased data or the code.
 * ACC_EINVAL without a reason, ACC_ECONFLICT when already erased.
 */
int acc_participant_erase(PGconn *conn, struct acc_participant *p, const struct audit_entry *who,
                          struct acc_erasure *out, struct err *e);

/* ---- API tokens and accounts (tokens.c, users.c) ---- */

struct acc_token_spec {
    long long user_id;
    const char *username; /* for the audit target */
    const char *name;     /* 1–100 characters */
    const char *study;    /* NULL: every study of the user */
    unsigned scopes;      /* ACC_SCOPE_* */
    int days;             /* 1–3650 */
};

struct acc_token_made {
    long long id;
    char token[ACC_API_TOKEN_TEXT]; /* shown once */
    char created_at[32];
    char expires_at[32];
};

/*
 * Creates an API token inside the caller's transaction and audits
 * token.create (never the token). ACC_EINVAL for a bad name, scope or
 * lifetime; ACC_ENOTFOUND for an unknown study.
 */
int acc_token_create(PGconn *conn, const struct acc_token_spec *spec, const struct audit_entry *who,
                     struct acc_token_made *out, struct err *e);

/*
 * Revokes token `id` (only the owner's when `owner` > 0) and audits
 * token.revoke. ACC_ENOTFOUND; 1 when it was already revoked.
 */
int acc_token_revoke(PGconn *conn, long long id, long long owner, const struct audit_entry *who,
                     struct err *e);

/* Tokens as a JSON array (no hashes): the owner's, or everyone's when owner is 0. */
int acc_token_list(PGconn *conn, long long owner, json_t **out, struct err *e);

/*
 * Accounts, for the command line (the service only reads them). Each audits
 * user.* with `who`. ACC_EINVAL, ACC_ENOTFOUND, ACC_ECONFLICT.
 */
int acc_user_add(PGconn *conn, const char *username, const char *display_name, enum acc_role role,
                 const char *password, const struct audit_entry *who, struct err *e);
int acc_user_set_password(PGconn *conn, const char *username, const char *password,
                          const struct audit_entry *who, struct err *e);
int acc_user_set_role(PGconn *conn, const char *username, enum acc_role role,
                      const struct audit_entry *who, struct err *e);
int acc_user_set_disabled(PGconn *conn, const char *username, int disabled,
                          const struct audit_entry *who, struct err *e);
int acc_user_membership(PGconn *conn, const char *username, const char *study, int member,
                        const struct audit_entry *who, struct err *e);

/* ---- passwords (password.c) ---- */

#define ACC_PASSWORD_MIN 12   /* characters (UTF-8 code points) */
#define ACC_PASSWORD_MAX 1024 /* bytes */

/* 0 when `password` is acceptable; ACC_EINVAL with the reason otherwise. */
int acc_password_check(const char *password, const char *username, struct err *e);

/*
 * Hashes a password with Argon2id (libsodium's interactive limits) into `out`
 * (128 bytes, the $argon2id$ string). Checks it first. ACC_EINVAL, ACC_ECRYPTO.
 */
int acc_password_hash(const char *password, const char *username, char out[128], struct err *e);

/* 1 when `password` matches `hash`, else 0. Constant in the password's content. */
int acc_password_verify(const char *hash, const char *password);

/* ---- the pure parts (cookie.c) ---- */

#define ACC_SESSION_COOKIE "attune_session"
#define ACC_LOGIN_COOKIE   "attune_login"

/*
 * Finds cookie `name` in a Cookie header ("a=1; b=2") and copies its value
 * (surrounding double quotes removed) into `out`. Returns 0, -1 when absent,
 * -2 when the value does not fit or the header is malformed.
 */
int acc_cookie_get(const char *header, const char *name, char *out, size_t size);

/*
 * Writes a Set-Cookie value: name=value; Path=path; HttpOnly; SameSite=Strict;
 * Max-Age=max_age (omitted when negative); Secure when `secure`. Returns 0 or
 * -1 when it does not fit.
 */
int acc_cookie_format(char *out, size_t size, const char *name, const char *value, const char *path,
                      long max_age, int secure);

#define ACC_CSRF_TEXT ACC_TOKEN_TEXT

/*
 * The CSRF token bound to a secret (the session cookie's value, or the
 * sign-in form's own cookie): base64url(HMAC-SHA-256(key = secret,
 * "attune-csrf-v1")). A cross-site page cannot read the cookie, so it cannot
 * compute the token.
 */
void acc_csrf_token(const char *secret, char out[ACC_CSRF_TEXT]);

/* 1 when `given` is the CSRF token of `secret` (constant-time), else 0. NULL-safe. */
int acc_csrf_check(const char *secret, const char *given);

/*
 * Sliding-window rate limit. `recent` holds the times (seconds) of the most
 * recent failures, newest first, at most `limit` of them. Returns 0 when
 * another attempt is allowed at `now` (fewer than `limit` failures in the
 * last `window_s` seconds), else the whole seconds until it is (≥ 1): when
 * the limit-th newest failure leaves the window.
 */
long acc_ratelimit_wait(const double *recent, size_t n, double now, int limit, int window_s);

/*
 * The Bearer token of an Authorization header, or NULL. Borrowed from
 * `header`; the scheme is matched case-insensitively.
 */
const char *acc_bearer(const char *header);

/* Parses "read,write,export" into ACC_SCOPE_* bits. -1 on an unknown or empty scope. */
int acc_scopes_parse(const char *text, unsigned *out);

/* Writes the scopes as "read,write" into `out`. */
void acc_scopes_format(unsigned scopes, char *out, size_t size);

/* Role names: "viewer", "researcher", "admin". ACC_ROLE_NONE for anything else. */
enum acc_role acc_role_parse(const char *name);
const char *acc_role_name(enum acc_role role);

/*
 * Whether `next` is a safe place to send a browser after signing in: a path
 * on this server ("/x"), not "//host" or "/\\host", without control
 * characters, at most 512 bytes.
 */
int acc_next_is_local(const char *next);

/* Whether `s` is an attune_key, the form of every study id: ^[a-z0-9][a-z0-9_-]{0,62}$. */
int acc_study_key_ok(const char *s);

/* Appends `s` to `out` with & < > " ' escaped for HTML. Returns 0, or -1 if it does not fit. */
int acc_html_escape(char *out, size_t size, const char *s);

/* ---- the pure authorisation decision (authorize.c) ---- */

struct acc_denial {
    int status;         /* 401, 403 */
    const char *code;   /* problem code: "forbidden", "not-a-member", "insufficient-scope", ... */
    const char *detail; /* one sentence for people */
};

/*
 * Whether `who` may use a route needing `auth` with `method` on `study` (the
 * {study} path parameter, or NULL). Returns 0, or -1 with `out` filled.
 * Credentials are already verified; this is role, kind, scope, membership and
 * withdrawal. CSRF is checked separately (it needs the request).
 */
int acc_decide(unsigned auth, const char *method, const struct acc_identity *who, const char *study,
               struct acc_denial *out);

/* The client address: X-Forwarded-For's last hop from a trusted proxy, else the peer; NULL if
 * unknown. */
const char *acc_client_addr(const struct acc_env *env, const struct http_request *req);

#endif
