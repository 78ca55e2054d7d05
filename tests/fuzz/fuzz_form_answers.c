/*
 * fuzz_form_answers.c — the participant web form's POST body
 * (application/x-www-form-urlencoded) through the router's form parser
 * (http_form_parse, as http_dispatch calls it), the form's reading of the
 * answers (col_form_answers) and the instruments engine's check and scoring
 * (col_answers_score), with the engine's problems mapped back to questions
 * as the form does. The first byte picks a shipped instrument.
 *
 * Checks: a question flagged has a message; answers are numbers; whatever
 * the engine refuses names an item of the definition.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "col_int.h"
#include "shipped.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ins_registry *reg = fuzz_registry();
    const struct ins_definition *def;
    struct http_request req;
    struct http_pair *pairs = NULL;
    struct col_item_error *errs;
    struct col_scored score;
    size_t n_pairs = 0, flagged;
    json_t *answers, *errors;

    if (size < 1)
        return 0;
    def = ins_registry_at(reg, data[0] % ins_registry_count(reg));
    memset(&req, 0, sizeof req);
    memset(&score, 0, sizeof score);
    req.arena = arena_new();
    if (req.arena == NULL)
        abort();
    if (http_form_parse((const char *)data + 1, size - 1, req.arena, 1000, &pairs, &n_pairs) != 0) {
        arena_free(req.arena);
        return 0;
    }
    req.form = pairs;
    req.n_form = n_pairs;
    errs = arena_calloc(req.arena, def->n_items, sizeof *errs);
    answers = json_object();
    errors = json_array();
    if (errs == NULL || answers == NULL || errors == NULL)
        abort();
    flagged = col_form_answers(&req, def, answers, errs);
    {
        size_t n = 0;
        for (size_t i = 0; i < def->n_items; i++)
            if (errs[i].has) {
                if (errs[i].text == NULL)
                    abort();
                n++;
            }
        if (n != flagged)
            abort();
    }
    {
        const char *key;
        json_t *v;
        json_object_foreach(answers, key, v)
        {
            if (!json_is_real(v) || col_item_index(def, key) < 0)
                abort();
        }
    }
    if (flagged == 0 && col_answers_score(def, answers, "/answers", errors, &score) > 0) {
        size_t i;
        json_t *pe;
        json_array_foreach(errors, i, pe)
        {
            const char *ptr = json_string_value(json_object_get(pe, "pointer"));
            if (ptr == NULL)
                abort();
            /* The form maps problems back to its questions by pointer. */
            if (strncmp(ptr, "/answers/", 9) == 0 && col_item_index(def, ptr + 9) < 0)
                abort();
        }
    }
    col_scored_clear(&score);
    json_decref(errors);
    json_decref(answers);
    arena_free(req.arena);
    return 0;
}
