/*
 * analyze_facts.c — instrument facts for the analyses, read from the
 * instrument definitions (see analyze_facts.h and docs/instruments.md).
 *
 * From the latest version of the instrument's definition in instruments_dir:
 *   - remission: the cut-off with id "remission" on the total. Its operator
 *     also gives the direction (a remission "below" means lower is better);
 *     without one, a caseness-like cut-off on the total gives it (">= 10"
 *     marks the clinical side high, so lower is better; WHO-5's "<= 50"
 *     marks it low, so higher is better).
 *   - the minimal clinically important difference of the total;
 *   - reliability for the reliable change index: the total's Cronbach's
 *     alpha (internal consistency, as most trials report; the definition's
 *     test-retest value is printed by `attune instruments show` and can be
 *     passed with --reliability);
 *   - normative mean and SD for Jacobson-Truax criterion c: the total's
 *     published norms, pooled when the definition lists several groups
 *     (weighted by their n when given, else equally: the mean of the means,
 *     and the SD of the mixture, sqrt(sum w_i (sd_i^2 + (mean_i - mean)^2))).
 * Command-line options override every value.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_facts.h"
#include "ins.h"

/* The one definition the facts come from; NULL when not known. */
static const struct ins_definition *
cli_facts_definition(const struct cfg *cfg, const char *instrument, struct ins_registry **reg)
{
    struct err e;

    *reg = NULL;
    if (cfg == NULL || instrument == NULL || cfg->instruments_dir == NULL)
        return NULL;
    if (ins_registry_load(cfg->instruments_dir, reg, &e) != 0) {
        fprintf(stderr, "WARNING: instrument definitions not read: %s\n", e.message);
        return NULL;
    }
    return ins_registry_find(*reg, instrument, NULL);
}

/* +1: lower is better; -1: higher is better; 0: the cut-off does not say. */
static int cli_facts_direction(enum ins_op op)
{
    switch (op) {
    case INS_OP_GE:
    case INS_OP_GT:
        return 1;
    case INS_OP_LE:
    case INS_OP_LT:
        return -1;
    default:
        return 0;
    }
}

int cli_facts_for_instrument(const struct cfg *cfg, const char *instrument, struct ana_facts *f,
                             const char **source)
{
    static char description[1024];
    struct ins_registry *reg = NULL;
    const struct ins_definition *def;
    const struct ins_score *total;
    size_t total_index = 0, used = 0;
    int direction = 0, remission_direction = 0;

    ana_facts_init(f);
    *source = NULL;
    def = cli_facts_definition(cfg, instrument, &reg);
    total = def ? ins_definition_total(def) : NULL;
    if (total == NULL) {
        ins_registry_free(reg);
        return 0;
    }
    total_index = (size_t)(total - def->scores);
    used = (size_t)snprintf(description, sizeof description,
                            "instrument definition %s@%s:", def->id, def->version);
    for (size_t i = 0; i < def->n_cutoffs; i++) {
        const struct ins_cutoff *c = &def->cutoffs[i];
        if (c->score != total_index)
            continue;
        if (strcmp(c->id, "remission") == 0) {
            remission_direction = -cli_facts_direction(c->op);
            /* "Below v" is the cut-off itself; "at most v" sits just above v. */
            f->has_remission = 1;
            f->remission_cutoff = c->op == INS_OP_LE   ? nextafter(c->value, INFINITY)
                                  : c->op == INS_OP_GE ? nextafter(c->value, -INFINITY)
                                                       : c->value;
            used += (size_t)snprintf(description + used, sizeof description - used,
                                     " remission %s %g (%s);",
                                     c->op == INS_OP_LT   ? "<"
                                     : c->op == INS_OP_LE ? "<="
                                     : c->op == INS_OP_GT ? ">"
                                                          : ">=",
                                     c->value, c->source);
        } else if (direction == 0) {
            direction = cli_facts_direction(c->op);
        }
        if (used >= sizeof description)
            used = sizeof description - 1;
    }
    if (remission_direction != 0)
        direction = remission_direction;
    f->higher_is_better = direction < 0;
    if (total->has_mcid) {
        f->has_mcid = 1;
        f->mcid = total->mcid;
        used += (size_t)snprintf(description + used, sizeof description - used, " MCID %g (%s);",
                                 total->mcid, total->mcid_source);
    }
    if (used < sizeof description && !isnan(total->alpha)) {
        f->has_reliability = 1;
        f->reliability = total->alpha;
        used += (size_t)snprintf(description + used, sizeof description - used,
                                 " reliability alpha %g (%s);", total->alpha, total->alpha_source);
    }
    if (used < sizeof description && total->n_norms > 0) {
        double wsum = 0, mean = 0, var = 0;
        int weighted = 1;
        for (size_t i = 0; i < total->n_norms; i++)
            weighted &= total->norms[i].n > 0;
        for (size_t i = 0; i < total->n_norms; i++) {
            double w = weighted ? (double)total->norms[i].n : 1.0;
            wsum += w;
            mean += w * total->norms[i].mean;
        }
        mean /= wsum;
        for (size_t i = 0; i < total->n_norms; i++) {
            const struct ins_norm *nm = &total->norms[i];
            double w = (weighted ? (double)nm->n : 1.0) / wsum;
            var += w * (nm->sd * nm->sd + (nm->mean - mean) * (nm->mean - mean));
        }
        f->has_norms = 1;
        f->norm_mean = mean;
        f->norm_sd = sqrt(var);
        used += (size_t)snprintf(
            description + used, sizeof description - used, " norms %.4g/%.4g (%s%s);", f->norm_mean,
            f->norm_sd, total->norms[0].source, total->n_norms > 1 ? ", groups pooled" : "");
    }
    if (used < sizeof description)
        snprintf(description + used, sizeof description - used, " %s is better",
                 f->higher_is_better ? "higher" : "lower");
    *source = description;
    ins_registry_free(reg);
    return 1;
}

int cli_items_for_instrument(const struct cfg *cfg, const char *instrument, char ***reverse,
                             size_t *n_reverse, double *scale_min, double *scale_max)
{
    struct ins_registry *reg = NULL;
    const struct ins_definition *def = cli_facts_definition(cfg, instrument, &reg);
    char **list = NULL;
    size_t n = 0;
    int known = 0;

    *reverse = NULL;
    *n_reverse = 0;
    *scale_min = *scale_max = 0;
    if (def == NULL)
        goto out;
    /* One answer range for every item: the reversal min + max - x needs it. */
    for (size_t i = 0; i < def->n_items; i++) {
        const struct ins_item *it = &def->items[i];
        if (i == 0) {
            *scale_min = it->min;
            *scale_max = it->max;
        } else if (it->min != *scale_min || it->max != *scale_max) {
            goto out;
        }
    }
    list = calloc(def->n_items ? def->n_items : 1, sizeof *list);
    if (list == NULL)
        goto out;
    for (size_t i = 0; i < def->n_items; i++) {
        if (def->items[i].keyed != INS_KEYED_REVERSE)
            continue;
        if ((list[n] = strdup(def->items[i].id)) == NULL)
            goto out;
        n++;
    }
    *reverse = list;
    *n_reverse = n;
    list = NULL;
    known = 1;
out:
    if (list != NULL) {
        for (size_t i = 0; i < n; i++)
            free(list[i]);
        free(list);
    }
    ins_registry_free(reg);
    return known;
}
