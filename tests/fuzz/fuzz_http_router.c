/*
 * fuzz_http_router.c — the router and dispatcher on hostile requests:
 * method, path, query, headers and body as a client could send them.
 *
 * Input: "METHOD PATH\n" then "name: value\n" header lines, a blank line, and
 * the body. Checks that dispatch never crashes, always produces a status, and
 * that problem replies are valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "request.h"

static void h_ok(struct http_request *req, struct http_reply *rep)
{
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:s?}", "path", req->path, "p", http_path_param(req, "id")));
}

static void h_form(struct http_request *req, struct http_reply *rep)
{
    json_t *o = json_object();
    for (size_t i = 0; i < req->n_form; i++)
        json_object_set_new(o, req->form[i].name, json_string(req->form[i].value));
    http_reply_json(rep, 200, o);
}

static const struct http_route routes[] = {
    {"GET", "/healthz", 0, HTTP_BODY_NONE, 0, h_ok, NULL},
    {"GET", "/api/v1/studies/{id}", 0, HTTP_BODY_NONE, 0, h_ok, NULL},
    {"POST", "/api/v1/studies/{id}/things", 0, HTTP_BODY_JSON, 0, h_ok, NULL},
    {"POST", "/p/{id}", 0, HTTP_BODY_FORM, 0, h_form, NULL},
    {"GET", "/static/*", 0, HTTP_BODY_NONE, 0, h_ok, NULL},
    {"GET", "/private", 1, HTTP_BODY_NONE, 0, h_ok, NULL},
};

static int deny(struct http_request *req, struct http_reply *rep)
{
    (void)req;
    http_problem(rep, 401, "unauthenticated", NULL, NULL, "no");
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_request req;
    struct http_reply rep;
    struct http_pair headers[32];
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&req, 0, sizeof req);
    memset(&rep, 0, sizeof rep);
    req.arena = arena_new();
    fuzz_request_read(text, size, &req, headers, sizeof headers / sizeof headers[0]);
    http_dispatch(routes, sizeof routes / sizeof routes[0], deny, &req, &rep);
    if (rep.status < 100 || rep.status > 599)
        abort();
    if (rep.content_type != NULL && strstr(rep.content_type, "json") != NULL) {
        json_error_t jerr;
        json_t *j = json_loadb(rep.body, rep.body_len, 0, &jerr);
        if (j == NULL)
            abort();
        json_decref(j);
    }
    json_decref(req.json);
    http_reply_clear(&rep);
    arena_free(req.arena);
    free(text);
    return 0;
}
