/*
 * fuzz_instrument_definition.c — the strict definition loader on arbitrary
 * JSON. A definition that loads must also survive the canonical round trip
 * (to JSON and back, equal) and the REDCap and FHIR exports.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    struct ins_definition *def = NULL, *again = NULL;
    struct err e;

    if (root == NULL)
        return 0;
    if (ins_definition_from_json(root, "fuzz.json", &def, &e) == 0) {
        json_t *canon = ins_definition_to_json(def);
        json_t *q = NULL;
        char *csv = NULL;
        size_t len = 0;
        if (canon == NULL || ins_definition_from_json(canon, "canon.json", &again, &e) != 0)
            abort(); /* what loaded once must load again from its own canonical form */
        {
            json_t *canon2 = ins_definition_to_json(again);
            if (!json_equal(canon, canon2))
                abort();
            json_decref(canon2);
        }
        if (ins_redcap_export(def, &csv, &len, &e) == 0)
            free(csv);
        if (ins_fhir_questionnaire(def, NULL, "https://attune.example", &q, &e) == 0)
            json_decref(q);
        json_decref(canon);
    }
    ins_definition_free(again);
    ins_definition_free(def);
    json_decref(root);
    return 0;
}
