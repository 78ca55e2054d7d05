/*
 * fuzz_events.c — a POST /api/v1/events body as a client could send it:
 * the router's JSON parse, then col_events_check(), which judges the whole
 * batch (1..1000 events; id, type, at, duration_s, props; the same id twice
 * at different times) and, when it passes, writes the rows the database
 * statement takes.
 *
 * Checks: the count returned is the number of problems listed, each naming a
 * JSON pointer; a batch that passes yields a rows text that is a JSON array
 * with one object per event and the distinct types, each well formed; a
 * batch that fails yields neither.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"

#define FUZZ_NOW        (1780272000LL * 1000000LL) /* 2026-06-01T00:00:00Z */
#define FUZZ_NOT_BEFORE (1767225600LL * 1000000LL) /* 2026-01-01T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *root, *errors, *types = NULL;
    char *rows = NULL;
    size_t problems, i;
    json_t *pe;

    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return 0;
    errors = json_array();
    problems = col_events_check(root, FUZZ_NOW, FUZZ_NOT_BEFORE, errors, &rows, &types);
    if (problems != json_array_size(errors))
        abort();
    json_array_foreach(errors, i, pe)
    {
        const char *ptr = json_string_value(json_object_get(pe, "pointer"));
        if (ptr == NULL || (ptr[0] != '/' && ptr[0] != '\0') ||
            json_string_value(json_object_get(pe, "message")) == NULL)
            abort();
    }
    if (problems == 0) {
        json_t *parsed, *t;
        if (rows == NULL || !json_is_array(types) || json_array_size(types) == 0)
            abort();
        parsed = json_loads(rows, 0, &jerr);
        if (!json_is_array(parsed) || json_array_size(parsed) != json_array_size(root) ||
            json_array_size(root) < 1 || json_array_size(root) > COL_EVENTS_MAX)
            abort();
        json_array_foreach(types, i, t)
        {
            if (!json_is_string(t) || !col_event_type_ok(json_string_value(t)))
                abort();
        }
        json_decref(parsed);
    } else if (rows != NULL) {
        abort();
    }
    free(rows);
    json_decref(types);
    json_decref(errors);
    json_decref(root);
    return 0;
}
