/*
 * fhir.c — FHIR R4 interchange (placeholder while being written).
 */
#include "col_int.h"

const struct http_route col_fhir_routes[] = {
    {"GET", "/fhir/metadata", 0, HTTP_BODY_NONE, 0, NULL, NULL},
};
const size_t col_fhir_routes_count = 0;
