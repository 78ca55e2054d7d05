/*
 * http.h — Attune's HTTP layer: requests, replies, route tables, the server.
 *
 * Handlers never talk to libmicrohttpd. The server (http_mhd.c, the only file
 * that includes microhttpd.h) reads a request into a struct http_request,
 * hands it to the dispatcher (http_router.c), and turns the struct http_reply
 * the handler filled into a response. The dispatcher owns the rules common to
 * every route: 404 vs 405, the body cap (413), the content type (415), parsing
 * JSON once (400), and authorisation through the application's hook — in that
 * order — and only then calls the handler. Handlers are thus plain functions
 * that tests can call without a socket.
 *
 * Memory: every string reachable from a request lives in the request's arena
 * or in libmicrohttpd's connection memory, and dies when the request
 * completes. A reply's body is malloc'd and owned by the reply.
 */
#ifndef ATTUNE_HTTP_H
#define ATTUNE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "arena.h"
#include "err.h"

#define HTTP_MAX_PATH_PARAMS   4
#define HTTP_MAX_REPLY_HEADERS 16

struct http_pair {
    const char *name;
    const char *value;
};

enum http_body_kind {
    HTTP_BODY_NONE = 0, /* any body is ignored */
    HTTP_BODY_JSON,     /* application/json (or +json), parsed into req->json */
    HTTP_BODY_FORM,     /* application/x-www-form-urlencoded, parsed into req->form */
    HTTP_BODY_RAW,      /* kept as bytes in req->body */
};

struct http_request;
struct http_reply;

/* A handler fills the reply; it never fails silently: errors are replies too. */
typedef void (*http_handler)(struct http_request *req, struct http_reply *rep);

/*
 * One row of a route table. Patterns are literal segments and {name}
 * placeholders ("/api/v1/studies/{study}"); a final "*" segment matches the
 * rest of the path, which becomes the parameter "*". `auth` is opaque to the
 * HTTP layer: 0 means public; anything else is passed to the application's
 * authorisation hook.
 */
struct http_route {
    const char *method; /* "GET", "POST", ...; GET routes also answer HEAD */
    const char *pattern;
    unsigned auth;
    enum http_body_kind body;
    size_t max_body; /* 0: the server's default cap */
    http_handler handler;
    const char *summary; /* one line, for the route listing in the docs */
};

struct http_request {
    const char *method;     /* as received; HEAD is dispatched as GET */
    const char *path;       /* decoded, without the query string */
    const char *request_id; /* X-Request-Id if sane, else random */
    const char *remote_addr;
    const struct http_pair *headers; /* names lower-cased */
    size_t n_headers;
    const struct http_pair *query;
    size_t n_query;
    const struct http_pair *form; /* for HTTP_BODY_FORM routes */
    size_t n_form;
    struct http_pair path_params[HTTP_MAX_PATH_PARAMS];
    size_t n_path_params;
    const char *body; /* may hold NULs; NUL-terminated for convenience */
    size_t body_len;
    int body_too_large; /* set by the server when the cap was exceeded */
    json_t *json;       /* parsed body (HTTP_BODY_JSON); owned by the request */
    const struct http_route *route;
    struct arena *arena;
    void *app;  /* the application context given to the server */
    void *auth; /* set by the authorisation hook: who is asking */
};

/*
 * Streaming bodies (exports): called with a buffer to fill; returns the number
 * of bytes written, HTTP_STREAM_END when done, or HTTP_STREAM_ERROR to abort
 * the connection. Runs on the server's worker thread after the handler.
 */
#define HTTP_STREAM_END   (-1)
#define HTTP_STREAM_ERROR (-2)
typedef ssize_t (*http_stream_fn)(void *ctx, uint64_t pos, char *buf, size_t max);

struct http_reply {
    int status;
    const char *content_type; /* static or arena string */
    char *body;               /* malloc'd, owned by the reply */
    size_t body_len;
    struct http_pair headers[HTTP_MAX_REPLY_HEADERS];
    size_t n_headers;
    http_stream_fn stream; /* instead of body, when set */
    void *stream_ctx;
    void (*stream_free)(void *ctx);
    struct arena *arena; /* the request's arena, for header strings */
};

/*
 * The application's authorisation hook. Called for routes with auth != 0,
 * after the body is parsed. Returns 0 to let the handler run (setting
 * req->auth), or non-zero after filling `rep` with a 401/403/429.
 */
typedef int (*http_authorize_fn)(struct http_request *req, struct http_reply *rep);

/*
 * An observer the server calls once per request, after the handler and
 * before the reply is sent (the body is still in `rep`, or a stream is set):
 * for counting outcomes (the dashboards count participant submissions).
 * It must be quick, must not block, and must not change the reply.
 */
typedef void (*http_observe_fn)(const struct http_request *req, const struct http_reply *rep);

/* ---- replies (http_reply.c) ---- */

/* A JSON reply; `body` is stolen (json_decref'd). Serialisation failure gives 500. */
void http_reply_json(struct http_reply *rep, int status, json_t *body);

/* A reply from bytes, copied. */
void http_reply_bytes(struct http_reply *rep, int status, const char *content_type,
                      const char *data, size_t len);

/* A reply that takes ownership of a malloc'd buffer. */
void http_reply_take(struct http_reply *rep, int status, const char *content_type, char *data,
                     size_t len);

/*
 * An RFC 9457 problem+json reply: {"type", "title", "status", "detail", "code",
 * "request_id", "errors"?}. `code` is the stable machine code documented in
 * docs/api.md ("not-found"); `errors` (may be NULL, stolen) is an array of
 * {"pointer": "/answers/q4", "message": "..."} objects naming every offending
 * field.
 */
void http_problem(struct http_reply *rep, int status, const char *code, const char *title,
                  json_t *errors, const char *detail_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Adds a response header (copied into the arena). Extra headers are dropped. */
void http_reply_header(struct http_reply *rep, const char *name, const char *value);

/* Frees what the reply owns and resets it. */
void http_reply_clear(struct http_reply *rep);

/* ---- requests and routing (http_router.c) ---- */

/* A request header by lower-case name, or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* A query parameter, form field or path parameter by name, or NULL. */
const char *http_query(const struct http_request *req, const char *name);
const char *http_form(const struct http_request *req, const char *name);
const char *http_path_param(const struct http_request *req, const char *name);

/*
 * The path as it may be logged: the request's path, or the route's pattern
 * when the route has a {token} parameter (a participant's personal link holds
 * their secret; logs must not).
 */
const char *http_log_path(const struct http_request *req);

/*
 * Matches `path` against `pattern`, filling params. Returns 1 on a match.
 * Exposed for tests.
 */
int http_pattern_match(const char *pattern, const char *path, struct http_pair *params,
                       size_t *n_params, struct arena *arena);

/*
 * Finds the route for method and path. Returns it, or NULL with *path_known
 * set when some route has the path but not the method (405).
 */
const struct http_route *http_route_find(const struct http_route *routes, size_t n_routes,
                                         const char *method, const char *path, int *path_known);

/*
 * Decodes an application/x-www-form-urlencoded string into pairs in the arena.
 * Returns 0, or -1 on malformed escapes or more than `max_pairs` fields.
 */
int http_form_parse(const char *body, size_t len, struct arena *arena, size_t max_pairs,
                    struct http_pair **out, size_t *n_out);

/*
 * The dispatcher: applies the rules in the file comment and calls the
 * handler. `req` must have method, path, headers, query, body and arena set.
 */
void http_dispatch(const struct http_route *routes, size_t n_routes, http_authorize_fn authorize,
                   struct http_request *req, struct http_reply *rep);

/* ---- the server (http_mhd.c) ---- */

struct http_server_config {
    const char *host;
    int port; /* 0: any free port, see http_server_port() */
    int threads;
    int connection_timeout_s;    /* idle connections, and the whole of a request's header */
    int connection_limit;        /* open connections at once; 0: 1000 */
    int ip_connection_limit;     /* of them from one client address; 0: no limit */
    const char *ip_limit_exempt; /* an address the per-address limit spares (a proxy), or NULL */
    size_t max_body_bytes;       /* default cap for routes with max_body 0 */
    const struct http_route *routes; /* borrowed, must outlive the server */
    size_t n_routes;
    http_authorize_fn authorize;
    http_observe_fn observe; /* may be NULL */
    void *app;
    const char *tls_cert_pem; /* both set: HTTPS (GnuTLS); borrowed, must outlive the server */
    const char *tls_key_pem;
};

struct http_server;

enum {
    HTTP_EINVAL = -1, /* bad address or settings */
    HTTP_ESTART = -2, /* libmicrohttpd could not start (port in use?) */
};

int http_server_start(const struct http_server_config *config, struct http_server **out,
                      struct err *e);

/* The port actually bound. */
int http_server_port(const struct http_server *server);

/* Requests being handled right now. */
long http_server_in_flight(const struct http_server *server);

/*
 * Stops accepting connections, waits up to `grace_s` seconds for requests in
 * flight to finish, then stops the workers and frees the server. NULL-safe.
 */
void http_server_stop(struct http_server *server, int grace_s);

/* The reason phrase for a status ("Not Found"). */
const char *http_status_text(int status);

#endif
