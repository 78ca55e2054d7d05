/*
 * fuzz_protocol.c — a study protocol file (`attune study create`, format in
 * docs/collector.md) through col_protocol_parse(): every problem named by a
 * JSON pointer, and a protocol that passes within its documented bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_protocol *p = NULL;
    json_error_t jerr;
    json_t *root, *errors;
    size_t problems;

    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return 0;
    errors = json_array();
    problems = col_protocol_parse(root, "UTC", &p, errors);
    if (problems != json_array_size(errors))
        abort();
    if (problems == 0) {
        if (p == NULL || p->id == NULL || p->title == NULL || p->timezone == NULL || p->weeks < 1 ||
            p->weeks > 104 || p->n_arms < 1 || p->n_arms > COL_PROTOCOL_MAX_ARMS ||
            p->n_schedule < 1 || p->n_schedule > COL_PROTOCOL_MAX_SCHEDULE)
            abort();
        for (size_t i = 0; i < p->n_schedule; i++) {
            const struct col_protocol_entry *s = &p->schedule[i];
            if (s->instrument == NULL || s->version == NULL || s->window_days < 1 ||
                s->window_days > 365 || s->n_weeks > 105)
                abort();
            for (size_t w = 0; w < s->n_weeks; w++)
                if (s->weeks[w] < 0 || s->weeks[w] > p->weeks)
                    abort();
        }
        col_protocol_free(p);
    } else if (p != NULL) {
        abort();
    }
    json_decref(errors);
    json_decref(root);
    return 0;
}
