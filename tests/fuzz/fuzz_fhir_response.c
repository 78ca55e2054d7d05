/*
 * fuzz_fhir_response.c — FHIR R4 QuestionnaireResponse resources (the body of
 * POST /fhir/QuestionnaireResponse) read against the shipped instruments, and
 * scored when accepted.
 */
#include <stdint.h>
#include <stdlib.h>

#include "shipped.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ins_registry *reg = fuzz_registry();
    const struct ins_definition *def = NULL;
    struct ins_answers *a = NULL;
    struct ins_result *r = NULL;
    struct ins_problems *p = calloc(1, sizeof *p);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    struct err e;

    if (p == NULL)
        abort();
    if (root != NULL && ins_fhir_response_read(reg, root, &def, &a, p, &e) == 0) {
        if (ins_score(a, &r, &e) != 0)
            abort();
    } else if (root != NULL) {
        json_decref(ins_problems_to_json(p, ""));
    }
    ins_result_free(r);
    ins_answers_free(a);
    free(p);
    json_decref(root);
    return 0;
}
