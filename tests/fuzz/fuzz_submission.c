/*
 * fuzz_submission.c — a POST /api/v1/responses body as a client could send
 * it, through everything the collector does before the database: the JSON
 * parse the router makes (duplicate keys refused), the shape check
 * (col_submission_parse: id, instrument, answers, completed_at, nothing
 * else), then, for a shipped instrument, the answer check and scoring
 * (col_answers_score) and the content hash. The path of
 * col_response_submit_in() up to its first query.
 *
 * Checks: a body with no problem has a valid uuid, a known instrument, an
 * answers object and a completion time not after now plus the allowed skew;
 * every problem names a JSON pointer; scoring what passed never fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "scoring.h"
#include "shipped.h"

/* 2026-06-01T00:00:00Z: a fixed "now", so runs repeat. */
#define FUZZ_NOW (1780272000LL * 1000000LL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_problems(json_t *errors)
{
    size_t i;
    json_t *pe;

    json_array_foreach(errors, i, pe)
    {
        const char *ptr = json_string_value(json_object_get(pe, "pointer"));
        const char *msg = json_string_value(json_object_get(pe, "message"));
        if (ptr == NULL || msg == NULL || (ptr[0] != '/' && ptr[0] != '\0'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ins_registry *reg = fuzz_registry();
    struct col_submission sub;
    struct col_scored score;
    json_error_t jerr;
    json_t *root, *errors;
    size_t problems;

    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return 0;
    errors = json_array();
    memset(&score, 0, sizeof score);
    problems = col_submission_parse(root, FUZZ_NOW, &sub, errors);
    if (problems != json_array_size(errors))
        abort();
    fuzz_check_problems(errors);
    if (problems == 0) {
        if (sub.id == NULL || !col_uuid_ok(sub.id) || sub.instrument == NULL ||
            !json_is_object(sub.answers) || sub.completed_at > FUZZ_NOW + COL_CLOCK_SKEW_US)
            abort();
    }
    if (sub.instrument != NULL && sub.answers != NULL) {
        const struct ins_definition *def = ins_registry_find(reg, sub.instrument, NULL);
        if (def != NULL) {
            json_t *answer_errors = json_array();
            size_t n = col_answers_score(def, sub.answers, "/answers", answer_errors, &score);
            if (n != json_array_size(answer_errors))
                abort();
            fuzz_check_problems(answer_errors);
            if (n == 0) {
                const char *ids[INS_MAX_ITEMS];
                unsigned char hash[32];
                if (score.answered + score.missing != def->n_items)
                    abort();
                if (!score.voided && def->n_scores > 0 && isnan(score.total) &&
                    score.severity != NULL)
                    abort();
                for (size_t i = 0; i < def->n_items; i++)
                    ids[i] = def->items[i].id;
                col_submission_hash(def->id, def->version, sub.completed_at, ids, score.values,
                                    def->n_items, hash);
            }
            col_scored_clear(&score);
            json_decref(answer_errors);
        }
    }
    json_decref(errors);
    json_decref(root);
    return 0;
}
