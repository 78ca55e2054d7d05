/*
 * fuzz_answers.c — a participant's answers ({"item": value, ...}) validated
 * and scored against every shipped instrument: the path of
 * POST /api/v1/responses after the JSON is parsed. The first byte picks the
 * instrument. Scoring accepted answers must never fail.
 */
#include <stdint.h>
#include <stdlib.h>

#include "shipped.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ins_registry *reg = fuzz_registry();
    const struct ins_definition *def;
    struct ins_problems *p;
    struct ins_answers *a = NULL;
    struct ins_result *r = NULL;
    json_error_t jerr;
    json_t *root, *problems;
    struct err e;

    if (size < 1)
        return 0;
    def = ins_registry_at(reg, data[0] % ins_registry_count(reg));
    root = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return 0;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    if (ins_answers_from_json(def, root, &a, p, &e) == 0) {
        if (ins_score(a, &r, &e) != 0)
            abort();
        json_decref(ins_result_to_json(r));
    } else {
        problems = ins_problems_to_json(p, "/answers");
        json_decref(problems);
    }
    ins_result_free(r);
    ins_answers_free(a);
    free(p);
    json_decref(root);
    return 0;
}
