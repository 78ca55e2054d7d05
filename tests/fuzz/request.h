/*
 * request.h — how the HTTP fuzz targets read their input as a request:
 * "METHOD TARGET\n" (no space: a GET of the whole line), header lines
 * "name: value\n" (a line without ':' is skipped), a blank line, the body.
 * Read in place: `text` is the input copied with a NUL after its `size`
 * bytes, and the request's strings point into it.
 */
#ifndef ATTUNE_FUZZ_REQUEST_H
#define ATTUNE_FUZZ_REQUEST_H

#include <string.h>

#include "http.h"

/* Sets req's method, path (the whole target), headers and body. */
static void fuzz_request_read(char *text, size_t size, struct http_request *req,
                              struct http_pair *headers, size_t max_headers)
{
    char *line = text, *next, *sp;
    size_t nh = 0;

    next = strchr(line, '\n');
    if (next != NULL)
        *next++ = '\0';
    sp = strchr(line, ' ');
    if (sp != NULL) {
        *sp = '\0';
        req->method = line;
        req->path = sp + 1;
    } else {
        req->method = "GET";
        req->path = line;
    }
    while (next != NULL && *next != '\0' && *next != '\n' && nh < max_headers) {
        char *colon;
        line = next;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        headers[nh].name = line;
        headers[nh].value = colon[1] == ' ' ? colon + 2 : colon + 1;
        nh++;
    }
    if (next != NULL && *next == '\n')
        next++;
    req->headers = headers;
    req->n_headers = nh;
    req->body = next;
    req->body_len = next ? size - (size_t)(next - text) : 0;
}

#endif
