/*
 * http_router.c — route matching and the dispatcher (see http.h). Pure: no
 * sockets, no libmicrohttpd, so the unit suite drives it directly.
 */
#include "http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define HTTP_MAX_ALLOW 128

static const char *http_pair_get(const struct http_pair *pairs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pairs[i].name, name) == 0)
            return pairs[i].value;
    return NULL;
}

const char *http_header(const struct http_request *req, const char *name)
{
    return http_pair_get(req->headers, req->n_headers, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
    return http_pair_get(req->query, req->n_query, name);
}

const char *http_form(const struct http_request *req, const char *name)
{
    return http_pair_get(req->form, req->n_form, name);
}

const char *http_path_param(const struct http_request *req, const char *name)
{
    return http_pair_get(req->path_params, req->n_path_params, name);
}

const char *http_log_path(const struct http_request *req)
{
    if (req->route != NULL && http_path_param(req, "token") != NULL)
        return req->route->pattern;
    return req->path;
}

int http_pattern_match(const char *pattern, const char *path, struct http_pair *params,
                       size_t *n_params, struct arena *arena)
{
    const char *p = pattern, *s = path;
    size_t n = 0;

    while (*p != '\0') {
        if (p[0] == '*' && p[1] == '\0') {
            /* A rest-of-path wildcard must not be empty and must not climb. */
            if (*s == '\0' || strstr(s, "..") != NULL)
                return 0;
            if (params != NULL && n < HTTP_MAX_PATH_PARAMS) {
                params[n].name = "*";
                params[n].value = arena ? arena_strdup(arena, s) : s;
                n++;
            }
            s += strlen(s);
            p++;
            break;
        }
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = s;
            if (close == NULL)
                return 0;
            while (*end != '\0' && *end != '/')
                end++;
            if (end == s)
                return 0; /* empty segment */
            if (params != NULL && n < HTTP_MAX_PATH_PARAMS) {
                params[n].name = arena ? arena_strndup(arena, p + 1, (size_t)(close - p - 1)) : "";
                params[n].value = arena ? arena_strndup(arena, s, (size_t)(end - s)) : "";
                n++;
            }
            p = close + 1;
            s = end;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*s != '\0')
        return 0;
    if (n_params != NULL)
        *n_params = n;
    return 1;
}

const struct http_route *http_route_find(const struct http_route *routes, size_t n_routes,
                                         const char *method, const char *path, int *path_known)
{
    int is_head = strcmp(method, "HEAD") == 0;

    *path_known = 0;
    for (size_t i = 0; i < n_routes; i++) {
        if (!http_pattern_match(routes[i].pattern, path, NULL, NULL, NULL))
            continue;
        *path_known = 1;
        if (strcmp(routes[i].method, method) == 0 ||
            (is_head && strcmp(routes[i].method, "GET") == 0))
            return &routes[i];
    }
    return NULL;
}

static int http_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes %XX and '+' in [s, s+len) into a new arena string, or NULL. */
static char *http_form_decode(const char *s, size_t len, struct arena *arena)
{
    char *out = arena_alloc(arena, len + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return NULL;
            hi = http_hex((unsigned char)s[i + 1]);
            lo = http_hex((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    /* A decoded NUL would cut the string silently: refuse it. */
    if (strlen(out) != o)
        return NULL;
    return out;
}

int http_form_parse(const char *body, size_t len, struct arena *arena, size_t max_pairs,
                    struct http_pair **out, size_t *n_out)
{
    size_t count = 0, n = 0;
    struct http_pair *pairs;
    const char *p = body, *end = body + len;

    for (size_t i = 0; i < len; i++)
        count += body[i] == '&';
    count++;
    if (len == 0) {
        *out = NULL;
        *n_out = 0;
        return 0;
    }
    if (count > max_pairs)
        return -1;
    pairs = arena_calloc(arena, count, sizeof *pairs);
    if (pairs == NULL)
        return -1;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *field_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(field_end - p));
        if (field_end > p) {
            const char *name_end = eq ? eq : field_end;
            pairs[n].name = http_form_decode(p, (size_t)(name_end - p), arena);
            pairs[n].value = eq ? http_form_decode(eq + 1, (size_t)(field_end - eq - 1), arena)
                                : arena_strdup(arena, "");
            if (pairs[n].name == NULL || pairs[n].value == NULL)
                return -1;
            n++;
        }
        p = amp ? amp + 1 : end;
    }
    *out = pairs;
    *n_out = n;
    return 0;
}

/* "application/json; charset=utf-8" → does the media type equal `want` (or end in +json)? */
static int http_media_type_is(const char *header, const char *want, int allow_json_suffix)
{
    size_t len;

    if (header == NULL)
        return 0;
    while (*header == ' ')
        header++;
    len = strcspn(header, "; ");
    if (len == strlen(want) && strncasecmp(header, want, len) == 0)
        return 1;
    return allow_json_suffix && len > 5 && strncasecmp(header + len - 5, "+json", 5) == 0;
}

static void http_method_not_allowed(const struct http_route *routes, size_t n_routes,
                                    struct http_request *req, struct http_reply *rep)
{
    char allow[HTTP_MAX_ALLOW] = "";
    size_t used = 0;

    for (size_t i = 0; i < n_routes; i++) {
        if (!http_pattern_match(routes[i].pattern, req->path, NULL, NULL, NULL))
            continue;
        if (strstr(allow, routes[i].method) != NULL)
            continue;
        used += (size_t)snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
                                 routes[i].method);
        if (strcmp(routes[i].method, "GET") == 0)
            used += (size_t)snprintf(allow + used, sizeof allow - used, ", HEAD");
        if (used >= sizeof allow)
            break;
    }
    http_problem(rep, 405, "method-not-allowed", NULL, NULL,
                 "The method %s is not allowed on %s; allowed: %s.", req->method, req->path, allow);
    http_reply_header(rep, "Allow", allow);
}

void http_dispatch(const struct http_route *routes, size_t n_routes, http_authorize_fn authorize,
                   struct http_request *req, struct http_reply *rep)
{
    const struct http_route *route;
    int path_known;

    rep->arena = req->arena;
    /* Checked first: an oversized body is refused whatever it was sent to,
     * and the server stops reading it as soon as it knows. */
    if (req->body_too_large) {
        http_problem(rep, 413, "body-too-large", NULL, NULL,
                     "The request body is larger than the server accepts here.");
        return;
    }
    route = http_route_find(routes, n_routes, req->method, req->path, &path_known);
    if (route == NULL) {
        if (path_known)
            http_method_not_allowed(routes, n_routes, req, rep);
        else
            http_problem(rep, 404, "not-found", NULL, NULL, "There is nothing at %s.", req->path);
        return;
    }
    req->route = route;
    http_pattern_match(route->pattern, req->path, req->path_params, &req->n_path_params,
                       req->arena);
    switch (route->body) {
    case HTTP_BODY_NONE:
    case HTTP_BODY_RAW:
        break;
    case HTTP_BODY_JSON: {
        json_error_t jerr;
        if (!http_media_type_is(http_header(req, "content-type"), "application/json", 1)) {
            http_problem(rep, 415, "unsupported-media-type", NULL, NULL,
                         "This endpoint takes application/json.");
            return;
        }
        req->json =
            json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (req->json == NULL) {
            http_problem(rep, 400, "malformed-json", NULL, NULL,
                         "The body is not valid JSON: %s (line %d, column %d).", jerr.text,
                         jerr.line, jerr.column);
            return;
        }
        break;
    }
    case HTTP_BODY_FORM: {
        struct http_pair *pairs = NULL;
        size_t n = 0;
        if (!http_media_type_is(http_header(req, "content-type"),
                                "application/x-www-form-urlencoded", 0)) {
            http_problem(rep, 415, "unsupported-media-type", NULL, NULL,
                         "This endpoint takes application/x-www-form-urlencoded.");
            return;
        }
        if (http_form_parse(req->body ? req->body : "", req->body_len, req->arena, 1000, &pairs,
                            &n) != 0) {
            http_problem(rep, 400, "malformed-form", NULL, NULL,
                         "The form body is not valid application/x-www-form-urlencoded.");
            return;
        }
        req->form = pairs;
        req->n_form = n;
        break;
    }
    }
    if (route->auth != 0) {
        if (authorize == NULL) {
            http_problem(rep, 403, "forbidden", NULL, NULL, "This endpoint needs access rights.");
            return;
        }
        if (authorize(req, rep) != 0)
            return;
    }
    route->handler(req, rep);
    if (rep->status == 0)
        http_problem(rep, 500, "internal", NULL, NULL, "The handler produced no reply.");
}
