/*
 * test_http_router.c — the dispatcher's rules without a socket: route
 * matching, 404 vs 405 with Allow, the body cap, content types, JSON parsing,
 * form decoding, the authorisation hook and problem+json bodies.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "tap.h"

static int handler_calls;

static void h_echo(struct http_request *req, struct http_reply *rep)
{
    handler_calls++;
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:s?}", "path", req->path, "id", http_path_param(req, "id")));
}

static void h_json(struct http_request *req, struct http_reply *rep)
{
    handler_calls++;
    http_reply_json(rep, 201, json_incref(req->json));
}

static void h_form(struct http_request *req, struct http_reply *rep)
{
    handler_calls++;
    http_reply_json(rep, 200, json_pack("{s:s?}", "q1", http_form(req, "q1")));
}

static void h_nothing(struct http_request *req, struct http_reply *rep)
{
    (void)req;
    (void)rep;
    handler_calls++;
}

static const struct http_route routes[] = {
    {"GET", "/things/{id}", 0, HTTP_BODY_NONE, 0, h_echo, NULL},
    {"DELETE", "/things/{id}", 0, HTTP_BODY_NONE, 0, h_echo, NULL},
    {"POST", "/things", 0, HTTP_BODY_JSON, 0, h_json, NULL},
    {"POST", "/form", 0, HTTP_BODY_FORM, 0, h_form, NULL},
    {"GET", "/private", 1, HTTP_BODY_NONE, 0, h_echo, NULL},
    {"GET", "/static/*", 0, HTTP_BODY_NONE, 0, h_echo, NULL},
    {"GET", "/broken", 0, HTTP_BODY_NONE, 0, h_nothing, NULL},
    {"GET", "/p/{token}", 0, HTTP_BODY_NONE, 0, h_echo, NULL},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static int authorize_calls;
static int deny_all(struct http_request *req, struct http_reply *rep)
{
    (void)req;
    authorize_calls++;
    http_problem(rep, 401, "unauthenticated", NULL, NULL, "Sign in first.");
    return 1;
}

struct call {
    struct http_request req;
    struct http_reply rep;
    json_t *body;
};

static void call(struct call *c, const char *method, const char *path, const char *ctype,
                 const char *body, http_authorize_fn authz)
{
    static struct http_pair headers[1];
    json_error_t jerr;

    memset(c, 0, sizeof *c);
    c->req.arena = arena_new();
    c->req.method = method;
    c->req.path = path;
    if (ctype != NULL) {
        headers[0].name = "content-type";
        headers[0].value = ctype;
        c->req.headers = headers;
        c->req.n_headers = 1;
    }
    c->req.body = body;
    c->req.body_len = body ? strlen(body) : 0;
    http_dispatch(routes, NROUTES, authz, &c->req, &c->rep);
    c->body = c->rep.body ? json_loadb(c->rep.body, c->rep.body_len, 0, &jerr) : NULL;
}

static void done(struct call *c)
{
    json_decref(c->body);
    json_decref(c->req.json);
    http_reply_clear(&c->rep);
    arena_free(c->req.arena);
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *reply_header(const struct http_reply *rep, const char *name)
{
    for (size_t i = 0; i < rep->n_headers; i++)
        if (strcmp(rep->headers[i].name, name) == 0)
            return rep->headers[i].value;
    return NULL;
}

static void test_patterns(void)
{
    struct http_pair params[HTTP_MAX_PATH_PARAMS];
    size_t n = 0;
    struct arena *a = arena_new();

    ok(http_pattern_match("/a/{x}/b", "/a/42/b", params, &n, a), "placeholder matches a segment");
    is_int(n, 1, "one parameter captured");
    is_str(params[0].name, "x", "parameter name");
    is_str(params[0].value, "42", "parameter value");
    ok(!http_pattern_match("/a/{x}/b", "/a//b", NULL, NULL, NULL), "empty segment does not match");
    ok(!http_pattern_match("/a/{x}", "/a/1/2", NULL, NULL, NULL),
       "placeholder does not cross a slash");
    ok(!http_pattern_match("/a", "/a/", NULL, NULL, NULL), "trailing slash is a different path");
    ok(http_pattern_match("/s/*", "/s/css/app.css", params, &n, a), "wildcard takes the rest");
    is_str(params[0].value, "css/app.css", "wildcard value");
    ok(!http_pattern_match("/s/*", "/s/../etc/passwd", NULL, NULL, NULL), "wildcard refuses ..");
    ok(!http_pattern_match("/s/*", "/s/", NULL, NULL, NULL), "wildcard refuses empty rest");
    arena_free(a);
}

static void test_not_found_and_method(void)
{
    struct call c;

    call(&c, "GET", "/nowhere", NULL, NULL, NULL);
    is_int(c.rep.status, 404, "unknown path is 404");
    is_str(c.rep.content_type, "application/problem+json", "404 is problem+json");
    is_str(jstr(c.body, "code"), "not-found", "404 code");
    is_int(json_integer_value(json_object_get(c.body, "status")), 404, "problem carries status");
    ok(jstr(c.body, "type") && strncmp(jstr(c.body, "type"), "urn:attune:problem:", 19) == 0,
       "problem type is a URN");
    done(&c);

    call(&c, "PUT", "/things/7", NULL, NULL, NULL);
    is_int(c.rep.status, 405, "known path, wrong method is 405");
    is_str(reply_header(&c.rep, "Allow"), "GET, HEAD, DELETE", "Allow lists the methods");
    is_str(jstr(c.body, "code"), "method-not-allowed", "405 code");
    done(&c);

    call(&c, "HEAD", "/things/7", NULL, NULL, NULL);
    is_int(c.rep.status, 200, "HEAD is served by the GET route");
    done(&c);

    call(&c, "GET", "/things/abc", NULL, NULL, NULL);
    is_int(c.rep.status, 200, "GET with a parameter");
    is_str(jstr(c.body, "id"), "abc", "handler sees the path parameter");
    done(&c);
}

static void test_bodies(void)
{
    struct call c;
    int before;

    call(&c, "POST", "/things", "application/json", "{\"a\": 1}", NULL);
    is_int(c.rep.status, 201, "valid JSON reaches the handler");
    is_int(json_integer_value(json_object_get(c.body, "a")), 1, "handler got the parsed body");
    done(&c);

    call(&c, "POST", "/things", "application/json; charset=utf-8", "{}", NULL);
    is_int(c.rep.status, 201, "media type parameters are accepted");
    done(&c);

    call(&c, "POST", "/things", "application/merge-patch+json", "{}", NULL);
    is_int(c.rep.status, 201, "+json media types are accepted");
    done(&c);

    before = handler_calls;
    call(&c, "POST", "/things", "text/plain", "{}", NULL);
    is_int(c.rep.status, 415, "wrong content type is 415");
    is_str(jstr(c.body, "code"), "unsupported-media-type", "415 code");
    done(&c);

    call(&c, "POST", "/things", NULL, "{}", NULL);
    is_int(c.rep.status, 415, "missing content type is 415");
    done(&c);

    call(&c, "POST", "/things", "application/json", "{\"a\": ", NULL);
    is_int(c.rep.status, 400, "malformed JSON is 400");
    is_str(jstr(c.body, "code"), "malformed-json", "400 code");
    ok(strstr(jstr(c.body, "detail"), "line 1") != NULL, "detail gives the parser's position");
    done(&c);

    call(&c, "POST", "/things", "application/json", "{\"a\": 1, \"a\": 2}", NULL);
    is_int(c.rep.status, 400, "duplicate keys are rejected");
    done(&c);

    memset(&c, 0, sizeof c);
    c.req.arena = arena_new();
    c.req.method = "POST";
    c.req.path = "/things";
    c.req.body_too_large = 1;
    http_dispatch(routes, NROUTES, NULL, &c.req, &c.rep);
    is_int(c.rep.status, 413, "oversized body is 413");
    done(&c);
    is_int(handler_calls, before, "no handler ran for a refused body");
}

static void test_forms(void)
{
    struct call c;
    struct http_pair *pairs;
    size_t n;
    struct arena *a = arena_new();

    call(&c, "POST", "/form", "application/x-www-form-urlencoded", "q1=2&note=a+b%21", NULL);
    is_int(c.rep.status, 200, "form reaches the handler");
    is_str(jstr(c.body, "q1"), "2", "form field decoded");
    done(&c);

    ok(http_form_parse("a=1&b=%zz", 9, a, 10, &pairs, &n) != 0, "bad escape is refused");
    ok(http_form_parse("a=%00", 5, a, 10, &pairs, &n) != 0, "encoded NUL is refused");
    ok(http_form_parse("a=1&b=2&c=3", 11, a, 2, &pairs, &n) != 0, "too many fields is refused");
    ok(http_form_parse("a=%4", 4, a, 10, &pairs, &n) != 0, "truncated escape is refused");
    ok(http_form_parse("a&b=", 4, a, 10, &pairs, &n) == 0 && n == 2, "bare names are fields");
    is_str(pairs[0].value, "", "bare name has an empty value");
    arena_free(a);
}

static void test_auth_and_handler_contract(void)
{
    struct call c;
    int before = handler_calls;

    call(&c, "GET", "/private", NULL, NULL, deny_all);
    is_int(c.rep.status, 401, "the hook's refusal is the reply");
    is_int(authorize_calls, 1, "the hook ran once");
    is_int(handler_calls, before, "the handler did not run");
    done(&c);

    call(&c, "GET", "/private", NULL, NULL, NULL);
    is_int(c.rep.status, 403, "a protected route without a hook is refused");
    done(&c);

    call(&c, "GET", "/things/1", NULL, NULL, deny_all);
    is_int(c.rep.status, 200, "public routes skip the hook");
    is_int(authorize_calls, 1, "the hook did not run for a public route");
    done(&c);

    call(&c, "GET", "/broken", NULL, NULL, NULL);
    is_int(c.rep.status, 500, "a handler that fills no reply gives 500");
    done(&c);
}

static void test_problem_errors(void)
{
    struct http_reply rep;
    json_t *body, *errors;
    json_error_t jerr;

    memset(&rep, 0, sizeof rep);
    errors = json_pack("[{s:s, s:s}]", "pointer", "/answers/q4", "message", "required");
    http_problem(&rep, 422, "invalid-response", NULL, errors, "%d problems", 1);
    body = json_loadb(rep.body, rep.body_len, 0, &jerr);
    is_int(rep.status, 422, "problem status");
    is_str(json_string_value(json_object_get(body, "title")), "Unprocessable Content",
           "default title from the status");
    is_str(json_string_value(
               json_object_get(json_array_get(json_object_get(body, "errors"), 0), "pointer")),
           "/answers/q4", "errors array carried");
    json_decref(body);
    http_reply_clear(&rep);
}

static void test_log_path(void)
{
    struct call c;

    call(&c, "GET", "/p/s3cr3t-token", NULL, NULL, NULL);
    is_int(c.rep.status, 200, "a {token} route is served");
    is_str(http_log_path(&c.req), "/p/{token}", "its path is logged as the pattern");
    done(&c);
    call(&c, "GET", "/things/7", NULL, NULL, NULL);
    is_str(http_log_path(&c.req), "/things/7", "other paths are logged as they are");
    done(&c);
    call(&c, "GET", "/nowhere/at/all", NULL, NULL, NULL);
    is_str(http_log_path(&c.req), "/nowhere/at/all", "an unrouted path is logged as it is");
    done(&c);
}

int main(void)
{
    test_patterns();
    test_not_found_and_method();
    test_bodies();
    test_forms();
    test_auth_and_handler_contract();
    test_problem_errors();
    test_log_path();
    return tap_done();
}
