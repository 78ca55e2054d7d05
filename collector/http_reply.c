/*
 * http_reply.c — filling struct http_reply: JSON, bytes, problem+json, headers.
 */
#include "http.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_reply_clear(struct http_reply *rep)
{
    free(rep->body);
    rep->body = NULL;
    rep->body_len = 0;
    if (rep->stream_free != NULL && rep->stream_ctx != NULL)
        rep->stream_free(rep->stream_ctx);
    rep->stream = NULL;
    rep->stream_ctx = NULL;
    rep->stream_free = NULL;
    rep->n_headers = 0;
    rep->status = 0;
    rep->content_type = NULL;
}

void http_reply_take(struct http_reply *rep, int status, const char *content_type, char *data,
                     size_t len)
{
    free(rep->body);
    rep->status = status;
    rep->content_type = content_type;
    rep->body = data;
    rep->body_len = len;
}

void http_reply_bytes(struct http_reply *rep, int status, const char *content_type,
                      const char *data, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy == NULL) {
        http_reply_take(rep, 500, "text/plain; charset=utf-8", NULL, 0);
        return;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    http_reply_take(rep, status, content_type, copy, len);
}

void http_reply_json(struct http_reply *rep, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;

    json_decref(body);
    if (text == NULL) {
        static const char fail[] =
            "{\"type\":\"urn:attune:problem:internal\",\"title\":\"Internal Server Error\","
            "\"status\":500,\"code\":\"internal\",\"detail\":\"The reply could not be encoded.\"}";
        http_reply_bytes(rep, 500, "application/problem+json", fail, sizeof fail - 1);
        return;
    }
    http_reply_take(rep, status, "application/json", text, strlen(text));
}

void http_problem(struct http_reply *rep, int status, const char *code, const char *title,
                  json_t *errors, const char *detail_fmt, ...)
{
    char detail[1024] = "";
    char type[128];
    json_t *body;

    if (detail_fmt != NULL) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof detail, detail_fmt, ap);
        va_end(ap);
        utf8_sanitize(detail); /* it may quote a path or a value */
    }
    snprintf(type, sizeof type, "urn:attune:problem:%s", code);
    body = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title",
                     title ? title : http_status_text(status), "status", status, "code", code,
                     "detail", detail);
    if (body != NULL && errors != NULL)
        json_object_set(body, "errors", errors);
    json_decref(errors);
    http_reply_json(rep, status, body);
    if (rep->status == status)
        rep->content_type = "application/problem+json";
}

void http_reply_header(struct http_reply *rep, const char *name, const char *value)
{
    char *n, *v;

    if (rep->n_headers >= HTTP_MAX_REPLY_HEADERS || rep->arena == NULL)
        return;
    n = arena_strdup(rep->arena, name);
    v = arena_strdup(rep->arena, value);
    if (n == NULL || v == NULL)
        return;
    rep->headers[rep->n_headers].name = n;
    rep->headers[rep->n_headers].value = v;
    rep->n_headers++;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}
