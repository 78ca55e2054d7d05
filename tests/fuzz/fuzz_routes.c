/*
 * fuzz_routes.c — the real route tables of `attune serve` (every module's,
 * as col_server_routes() gathers them for the server) under hostile request
 * lines: method, path with
 * percent-escapes, query string, headers and body. Handlers and the
 * authorisation hook are stubs, so no database is needed: what is fuzzed is
 * what runs before them — splitting the request target as libmicrohttpd
 * does (path unescaped, query arguments with '+' and %XX decoded), route
 * matching with {param} and * segments, 404 / 405 with Allow, the body cap,
 * content types, the JSON and form parsers — and what the handlers read
 * (path parameters, query arguments, the log path).
 *
 * Input: "METHOD TARGET\n", header lines "name: value\n", a blank line, the
 * body. The first byte of the method decides whether the stub hook lets
 * routes that need authorisation through.
 *
 * Checks: a status in 100..599; JSON replies parse; a matched route's
 * parameters are non-empty, hold no '/', and a * parameter never climbs
 * (".."); a path holding a token is logged as the route's pattern.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "col_int.h"
#include "request.h"

#define FUZZ_MAX_HEADERS 32
#define FUZZ_MAX_QUERY   100 /* as http_mhd.c */

static struct http_route *fuzz_routes;
static size_t fuzz_n_routes;
static int fuzz_allow;

/* The stub handler: reads what handlers read, and answers it as JSON. */
static void fuzz_handler(struct http_request *req, struct http_reply *rep)
{
    json_t *o = json_object(), *params = json_object(), *query = json_object();
    const char *logged = http_log_path(req);

    for (size_t i = 0; i < req->n_path_params; i++) {
        const struct http_pair *p = &req->path_params[i];
        if (p->value == NULL || p->value[0] == '\0')
            abort();
        if (strcmp(p->name, "*") == 0 ? strstr(p->value, "..") != NULL
                                      : strchr(p->value, '/') != NULL)
            abort();
        json_object_set_new(params, p->name, json_stringn(p->value, strlen(p->value)));
    }
    if (http_path_param(req, "token") != NULL && strcmp(logged, req->route->pattern) != 0)
        abort();
    for (size_t i = 0; i < req->n_query; i++)
        json_object_set_new(query, req->query[i].name,
                            json_stringn(req->query[i].value, strlen(req->query[i].value)));
    /* Every query argument a real handler reads. */
    static const char *const names[] = {
        "version", "q",      "next",   "since", "until", "actor", "action", "target",    "study",
        "limit",   "offset", "format", "arm",   "from",  "to",    "claim",  "instrument"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        (void)http_query(req, names[i]);
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "query", query);
    json_object_set_new(o, "form", json_integer((json_int_t)req->n_form));
    http_reply_json(rep, 200, o);
}

static int fuzz_authorize(struct http_request *req, struct http_reply *rep)
{
    if (fuzz_allow)
        return 0;
    (void)req;
    http_problem(rep, 401, "unauthenticated", NULL, NULL, "Sign in first.");
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The server's own list, so that a table added there is fuzzed too. */
    fuzz_routes = col_server_routes(&fuzz_n_routes);
    if (fuzz_routes == NULL)
        abort();
    for (size_t i = 0; i < fuzz_n_routes; i++)
        fuzz_routes[i].handler = fuzz_handler;
    return 0;
}

static int fuzz_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* libmicrohttpd's unescaping: %XX where valid, the rest as is; '+' too for
 * query arguments. In place; stops at NUL. */
static void fuzz_unescape(char *s, int plus)
{
    char *w = s;

    for (char *r = s; *r; r++) {
        if (plus && *r == '+') {
            *w++ = ' ';
        } else if (*r == '%' && fuzz_hex(r[1]) >= 0 && fuzz_hex(r[2]) >= 0) {
            *w++ = (char)(fuzz_hex(r[1]) * 16 + fuzz_hex(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_request req;
    struct http_reply rep;
    struct http_pair headers[FUZZ_MAX_HEADERS], *query;
    char *text = malloc(size + 1), *qs;
    size_t nq = 0;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&req, 0, sizeof req);
    memset(&rep, 0, sizeof rep);
    req.arena = arena_new();
    query = arena_calloc(req.arena, FUZZ_MAX_QUERY, sizeof *query);
    fuzz_allow = size > 0 && (data[0] & 1);
    fuzz_request_read(text, size, &req, headers, FUZZ_MAX_HEADERS);
    /* As libmicrohttpd hands them over: header names in lower case, the
     * query string split off the target into unescaped arguments, the path
     * unescaped. */
    for (size_t h = 0; h < req.n_headers; h++)
        for (char *p = (char *)headers[h].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    qs = strchr(req.path, '?');
    if (qs != NULL) {
        char *arg = qs + 1;
        *qs = '\0';
        while (arg != NULL && *arg != '\0' && nq < FUZZ_MAX_QUERY) {
            char *amp = strchr(arg, '&'), *eq;
            if (amp != NULL)
                *amp = '\0';
            eq = strchr(arg, '=');
            if (eq != NULL)
                *eq = '\0';
            fuzz_unescape(arg, 1);
            query[nq].name = arg;
            if (eq != NULL) {
                fuzz_unescape(eq + 1, 1);
                query[nq].value = eq + 1;
            } else {
                query[nq].value = "";
            }
            nq++;
            arg = amp != NULL ? amp + 1 : NULL;
        }
    }
    fuzz_unescape((char *)req.path, 0);
    req.query = query;
    req.n_query = nq;
    req.request_id = "fuzz";
    req.remote_addr = "127.0.0.1";
    http_dispatch(fuzz_routes, fuzz_n_routes, fuzz_authorize, &req, &rep);
    if (rep.status < 100 || rep.status > 599)
        abort();
    if (rep.content_type != NULL && strstr(rep.content_type, "json") != NULL) {
        json_error_t jerr;
        json_t *j = json_loadb(rep.body, rep.body_len, 0, &jerr);
        if (j == NULL)
            abort();
        json_decref(j);
    }
    if (req.route != NULL) /* the log line's path is computed for every request */
        (void)http_log_path(&req);
    json_decref(req.json);
    http_reply_clear(&rep);
    arena_free(req.arena);
    free(text);
    return 0;
}
