/*
 * shipped.h — the shipped instrument definitions, loaded once for the fuzz
 * targets that need a registry (answers, FHIR responses).
 */
#ifndef ATTUNE_FUZZ_SHIPPED_H
#define ATTUNE_FUZZ_SHIPPED_H

#include <stdio.h>
#include <stdlib.h>

#include "ins.h"

static struct ins_registry *fuzz_registry(void)
{
    static struct ins_registry *reg;
    struct err e;

    if (reg == NULL &&
        ins_registry_load(ATTUNE_SOURCE_ROOT "/instruments/definitions", &reg, &e) != 0) {
        fprintf(stderr, "cannot load the shipped definitions: %s\n", e.message);
        abort();
    }
    return reg;
}

#endif
