/*
 * fuzz_redcap.c — REDCap data dictionaries (CSV through libcsv) turned into
 * definitions; every definition imported must export back to REDCap.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ins_redcap_import *imp = NULL;
    struct err e;

    if (ins_redcap_import((const char *)data, size, "fuzz.csv", NULL, &imp, &e) == 0) {
        for (size_t i = 0; i < imp->n_defs; i++) {
            char *csv = NULL;
            size_t len = 0;
            if (ins_redcap_export(imp->defs[i], &csv, &len, &e) == 0)
                free(csv);
        }
    }
    ins_redcap_import_free(imp);
    return 0;
}
