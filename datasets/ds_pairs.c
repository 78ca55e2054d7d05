/*
 * ds_pairs.c — shaping long observations into pre/post pairs for an analysis
 * population (completers, BOCF, LOCF), with the count of who is left out and
 * why (see ds.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ds.h"

static const char *const ds_population_names[] = {
    [DS_COMPLETERS] = "completers",
    [DS_BOCF] = "bocf",
    [DS_LOCF] = "locf",
};

const char *ds_population_name(enum ds_population p)
{
    return (unsigned)p < sizeof ds_population_names / sizeof ds_population_names[0]
               ? ds_population_names[p]
               : "unknown";
}

int ds_population_parse(const char *name, enum ds_population *out)
{
    for (size_t i = 0; i < sizeof ds_population_names / sizeof ds_population_names[0]; i++) {
        if (strcmp(name, ds_population_names[i]) == 0) {
            *out = (enum ds_population)i;
            return 0;
        }
    }
    return -1;
}

void ds_pairs_free(struct ds_pairs *p)
{
    if (p == NULL)
        return;
    free(p->pre);
    free(p->post);
    free(p->subject);
    free(p->arm);
    free(p->imputed);
    memset(p, 0, sizeof *p);
}

int ds_pair(const struct ds_long *d, double t_pre, double t_post, int arm,
            enum ds_population population, struct ds_pairs *out, struct err *e)
{
    size_t *start = NULL, *rows = NULL, *fill = NULL;
    size_t np = 0;
    int rc = DS_ENOMEM;

    memset(out, 0, sizeof *out);
    if (arm >= (int)d->n_arms || arm < -1)
        return err_set(e, DS_ENOTFOUND, "no arm with index %d", arm);
    if (t_pre >= t_post) {
        err_set(e, DS_EFORMAT, "the follow-up time must come after the baseline time");
        err_detail(e, "Baseline %g, follow-up %g.", t_pre, t_post);
        return DS_EFORMAT;
    }
    /* Rows grouped by participant (a counting sort), so each participant's
     * observations are found without searching. */
    start = calloc(d->n_subjects + 1, sizeof *start);
    fill = calloc(d->n_subjects + 1, sizeof *fill);
    rows = malloc((d->n ? d->n : 1) * sizeof *rows);
    out->pre = malloc((d->n_subjects ? d->n_subjects : 1) * sizeof *out->pre);
    out->post = malloc((d->n_subjects ? d->n_subjects : 1) * sizeof *out->post);
    out->subject = malloc((d->n_subjects ? d->n_subjects : 1) * sizeof *out->subject);
    out->arm = malloc((d->n_subjects ? d->n_subjects : 1) * sizeof *out->arm);
    out->imputed = malloc((d->n_subjects ? d->n_subjects : 1) * sizeof *out->imputed);
    if (start == NULL || fill == NULL || rows == NULL || out->pre == NULL || out->post == NULL ||
        out->subject == NULL || out->arm == NULL || out->imputed == NULL) {
        err_set(e, DS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d->n; i++)
        start[d->subject[i] + 1]++;
    for (size_t s = 0; s < d->n_subjects; s++)
        start[s + 1] += start[s];
    for (size_t i = 0; i < d->n; i++) {
        uint32_t s = d->subject[i];
        rows[start[s] + fill[s]++] = i;
    }
    for (size_t s = 0; s < d->n_subjects; s++) {
        int have_pre = 0, have_post = 0, have_last = 0;
        double pre = 0, post = 0, last = 0, last_time = 0;

        if (arm >= 0 && d->subject_arm[s] != arm)
            continue;
        out->n_considered++;
        for (size_t k = start[s]; k < start[s + 1]; k++) {
            size_t r = rows[k];
            double t = d->time[r];
            if (t == t_pre) {
                have_pre = 1;
                pre = d->score[r];
            } else if (t == t_post) {
                have_post = 1;
                post = d->score[r];
            } else if (t > t_pre && t < t_post && (!have_last || t > last_time)) {
                have_last = 1;
                last = d->score[r];
                last_time = t;
            }
        }
        if (!have_pre) {
            out->n_no_baseline++;
            continue;
        }
        out->imputed[np] = 0;
        if (!have_post) {
            if (population == DS_COMPLETERS) {
                out->n_no_followup++;
                continue;
            }
            post = (population == DS_LOCF && have_last) ? last : pre;
            out->imputed[np] = 1;
            out->n_imputed++;
        }
        out->pre[np] = pre;
        out->post[np] = post;
        out->subject[np] = (uint32_t)s;
        out->arm[np] = d->subject_arm[s];
        np++;
    }
    out->n = np;
    rc = 0;
out:
    free(start);
    free(fill);
    free(rows);
    if (rc != 0)
        ds_pairs_free(out);
    return rc;
}
