/*
 * score.c — the scoring engine: answers in, scores, bands and flags out.
 *
 * Per score: count the answered items; more missing than the definition
 * allows voids the score; otherwise add the weights of the answered options
 * and fill the missing ones by the definition's rule (proration: sum x n /
 * answered; mean substitution: each missing item counts as the mean of the
 * answered ones — the same number for a sum, kept apart because definitions
 * cite the rule as their source words it). A mean is the mean of the answered
 * items. A scaled sum multiplies at the end (WHO-5: raw x 4).
 *
 * A band is found by threshold: the last band whose minimum the score
 * reaches, so a prorated 14.6 on the PHQ-9 is "moderate" (10-14), not yet
 * "moderately severe" (15-19). Cut-offs compare the unrounded score. Safety
 * flags look at the raw answer value, and are raised even when the form is
 * voided: the study team must see them regardless.
 */
#include "ins_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What an answered item adds to a score. */
static double ins_weight(const struct ins_item *it, double value)
{
    if (it->type == INS_ITEM_CHOICE) {
        const struct ins_option *o = ins_option_find(it->options, value);
        return o != NULL ? o->weight : NAN;
    }
    return value;
}

static const struct ins_band *ins_band_of(const struct ins_score *sc, double v)
{
    const struct ins_band *band = NULL;

    for (size_t b = 0; b < sc->n_bands; b++)
        if (v >= sc->bands[b].min)
            band = &sc->bands[b];
    return band;
}

static void ins_score_one(const struct ins_answers *a, const struct ins_score *sc,
                          struct ins_score_result *r)
{
    const struct ins_definition *def = ins_answers_definition(a);
    double sum = 0, raw;

    memset(r, 0, sizeof *r);
    r->score = sc;
    r->value = NAN;
    for (size_t k = 0; k < sc->n_items; k++) {
        double v;
        if (ins_answers_get(a, sc->items[k], &v)) {
            sum += ins_weight(&def->items[sc->items[k]], v);
            r->answered++;
        } else {
            r->missing++;
        }
    }
    if (r->answered == 0 || r->missing > (size_t)sc->max_missing) {
        r->voided = 1;
        return;
    }
    raw = sum;
    if (r->missing > 0) {
        r->prorated = 1;
        if (sc->missing_rule == INS_MISSING_PRORATE)
            raw = sum * (double)sc->n_items / (double)r->answered;
        else
            raw = sum + (double)r->missing * (sum / (double)r->answered);
    }
    switch (sc->method) {
    case INS_METHOD_SUM:
        r->value = raw;
        break;
    case INS_METHOD_MEAN:
        r->value = sum / (double)r->answered;
        break;
    case INS_METHOD_SCALED_SUM:
        r->value = raw * sc->factor;
        break;
    }
    r->band = ins_band_of(sc, r->value);
}

void ins_result_free(struct ins_result *r)
{
    if (r == NULL)
        return;
    free(r->scores);
    free(r->cutoffs);
    free(r->flags);
    free(r);
}

int ins_score(const struct ins_answers *a, struct ins_result **out, struct err *e)
{
    const struct ins_definition *def = ins_answers_definition(a);
    struct ins_result *r = calloc(1, sizeof *r);
    int any_voided = 0;

    if (r == NULL || (r->scores = calloc(def->n_scores + 1, sizeof *r->scores)) == NULL ||
        (r->cutoffs = calloc(def->n_cutoffs + 1, sizeof *r->cutoffs)) == NULL ||
        (r->flags = calloc(def->n_flags + 1, sizeof *r->flags)) == NULL) {
        ins_result_free(r);
        return err_set(e, INS_ENOMEM, "out of memory");
    }
    r->def = def;
    r->n_scores = def->n_scores;
    for (size_t s = 0; s < def->n_scores; s++) {
        ins_score_one(a, &def->scores[s], &r->scores[s]);
        r->prorated |= r->scores[s].prorated;
        any_voided |= r->scores[s].voided;
    }
    for (size_t c = 0; c < def->n_cutoffs; c++) {
        const struct ins_cutoff *cut = &def->cutoffs[c];
        const struct ins_score_result *sr = &r->scores[cut->score];
        r->cutoffs[c] = sr->voided ? -1 : ins_op_holds(cut->op, sr->value, cut->value);
    }
    for (size_t f = 0; f < def->n_flags; f++) {
        const struct ins_flag *fl = &def->flags[f];
        double v;
        int answered = ins_answers_get(a, fl->item, &v);
        if (fl->op == INS_OP_MISSING ? !answered : answered && ins_op_holds(fl->op, v, fl->value))
            r->flags[r->n_flags++] = fl;
    }
    r->items_answered = ins_answers_count(a);
    r->items_missing = def->n_items - r->items_answered;
    {
        const struct ins_score_result *t = ins_result_total(r);
        r->voided = t != NULL ? t->voided : any_voided;
    }
    *out = r;
    return 0;
}

const struct ins_score_result *ins_result_total(const struct ins_result *r)
{
    for (size_t s = 0; s < r->n_scores; s++)
        if (strcmp(r->scores[s].score->id, "total") == 0)
            return &r->scores[s];
    return NULL;
}

json_t *ins_result_to_json(const struct ins_result *r)
{
    const struct ins_score_result *t = ins_result_total(r);
    json_t *root, *scores = json_object(), *cuts = json_object(), *flags = json_array();
    int bad = scores == NULL || cuts == NULL || flags == NULL;

    for (size_t s = 0; !bad && s < r->n_scores; s++) {
        const struct ins_score_result *sr = &r->scores[s];
        bad = json_object_set_new(
                  scores, sr->score->id,
                  json_pack("{s:o, s:I, s:I, s:b, s:b, s:o}", "value", ins_json_number(sr->value),
                            "answered", (json_int_t)sr->answered, "missing",
                            (json_int_t)sr->missing, "prorated", sr->prorated, "voided", sr->voided,
                            "band", sr->band ? json_string(sr->band->label) : json_null())) != 0;
    }
    for (size_t c = 0; !bad && c < r->def->n_cutoffs; c++)
        bad =
            json_object_set_new(cuts, r->def->cutoffs[c].id,
                                r->cutoffs[c] < 0 ? json_null() : json_boolean(r->cutoffs[c])) != 0;
    for (size_t f = 0; !bad && f < r->n_flags; f++)
        bad = json_array_append_new(flags, json_string(r->flags[f]->id)) != 0;
    if (bad) {
        json_decref(scores);
        json_decref(cuts);
        json_decref(flags);
        return NULL;
    }
    root = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:b, s:b}", "instrument", r->def->id,
        "version", r->def->version, "total", t ? ins_json_number(t->value) : json_null(), "band",
        t && t->band ? json_string(t->band->label) : json_null(), "scores", scores, "cutoffs", cuts,
        "flags", flags, "items_answered", (json_int_t)r->items_answered, "items_missing",
        (json_int_t)r->items_missing, "prorated", r->prorated, "voided", r->voided);
    return root;
}
