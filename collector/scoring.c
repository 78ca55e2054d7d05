/*
 * scoring.c — answers in, scores out, through the instruments engine (see
 * scoring.h).
 */
#include "scoring.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void col_scored_clear(struct col_scored *s)
{
    json_decref(s->subscales);
    s->subscales = NULL;
}

int col_item_index(const struct ins_definition *def, const char *item_id)
{
    for (size_t i = 0; i < def->n_items; i++)
        if (strcmp(def->items[i].id, item_id) == 0)
            return (int)i;
    return -1;
}

size_t col_answers_score(const struct ins_definition *def, json_t *answers, const char *prefix,
                         json_t *errors, struct col_scored *out)
{
    struct ins_problems *p = malloc(sizeof *p); /* ~80 KB: not on the stack, not zeroed */
    struct ins_answers *a = NULL;
    struct ins_result *r = NULL;
    const struct ins_score_result *total;
    struct err e;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    err_clear(&e);
    ins_problems_clear(p);
    if (p == NULL) {
        json_array_append_new(
            errors, json_pack("{s:s, s:s}", "pointer", prefix, "message", "out of memory"));
        return 1;
    }
    rc = ins_answers_from_json(def, answers, &a, p, &e);
    if (rc == INS_EANSWERS) {
        json_t *list = ins_problems_to_json(p, prefix);
        n = json_array_size(list);
        json_array_extend(errors, list);
        json_decref(list);
        goto out;
    }
    if (rc != 0 || ins_score(a, &r, &e) != 0) {
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", prefix, "message",
                                                e.message[0] ? e.message : "invalid answers"));
        n = 1;
        goto out;
    }
    for (size_t i = 0; i < def->n_items; i++) {
        double v;
        out->values[i] = ins_answers_get(a, i, &v) ? v : NAN;
    }
    total = ins_result_total(r);
    out->total = total && !total->voided ? total->value : NAN;
    out->voided = r->voided;
    out->severity = total && total->band ? total->band->label : NULL;
    out->answered = r->items_answered;
    out->missing = r->items_missing;
    out->prorated = r->prorated;
    for (size_t f = 0; f < r->n_flags && f < INS_MAX_FLAGS; f++)
        out->flags[out->n_flags++] = r->flags[f]->id;
    out->subscales = json_object();
    for (size_t s = 0; s < r->n_scores; s++) {
        const struct ins_score_result *sr = &r->scores[s];
        if (sr == total)
            continue;
        json_object_set_new(out->subscales, sr->score->id,
                            sr->voided ? json_null() : json_real(sr->value));
    }
out:
    ins_result_free(r);
    ins_answers_free(a);
    free(p);
    return n;
}
