/*
 * form.c — the participant web form (placeholder while being written).
 */
#include "col_int.h"

const struct http_route col_form_routes[] = {
    {"GET", "/p/{token}", 0, HTTP_BODY_NONE, 0, NULL, NULL},
};
const size_t col_form_routes_count = 0;
