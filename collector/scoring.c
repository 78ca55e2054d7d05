/*
 * scoring.c — the collector's instrument seam (see scoring.h): definition
 * parsing, answer checks, the missing-item rule and scoring.
 */
#include "scoring.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *col_strdup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

void col_def_free(struct col_def *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_items; i++) {
        free(d->items[i].id);
        free(d->items[i].text);
        free(d->items[i].loinc);
        for (size_t j = 0; j < d->items[i].n_options; j++)
            free(d->items[i].options[j].label);
        free(d->items[i].options);
    }
    for (size_t i = 0; i < d->n_bands; i++)
        free(d->bands[i].label);
    for (size_t i = 0; i < d->n_flags; i++)
        free(d->flags[i].id);
    free(d->items);
    free(d->bands);
    free(d->flags);
    free(d->id);
    free(d->version);
    free(d->title);
    free(d->instructions);
    free(d->notice);
    free(d->loinc);
    free(d);
}

int col_def_item_index(const struct col_def *d, const char *item_id)
{
    for (size_t i = 0; i < d->n_items; i++)
        if (strcmp(d->items[i].id, item_id) == 0)
            return (int)i;
    return -1;
}

int col_def_has_texts(const struct col_def *d)
{
    for (size_t i = 0; i < d->n_items; i++)
        if (d->items[i].text == NULL || d->items[i].text[0] == '\0')
            return 0;
    return d->n_items > 0;
}

static int col_def_parse_item(json_t *jitem, size_t index, struct col_item *item, struct err *e)
{
    json_error_t jerr;
    const char *id = NULL, *text = NULL, *loinc = NULL;
    json_t *options = NULL, *opt;
    size_t j;

    if (json_unpack_ex(jitem, &jerr, 0, "{s:s, s?s, s?s, s:o}", "id", &id, "text", &text, "loinc",
                       &loinc, "options", &options) != 0)
        return err_set(e, COL_DEF_EINVAL, "invalid item %zu: %s", index, jerr.text);
    if (!json_is_array(options) || json_array_size(options) < 2 ||
        json_array_size(options) > COL_DEF_MAX_OPTIONS)
        return err_set(e, COL_DEF_EINVAL, "item \"%s\" needs 2 to %d options", id,
                       COL_DEF_MAX_OPTIONS);
    item->id = strdup(id);
    item->text = col_strdup_opt(text);
    item->loinc = col_strdup_opt(loinc);
    item->options = calloc(json_array_size(options), sizeof *item->options);
    if (item->id == NULL || item->options == NULL)
        return err_set(e, COL_DEF_ENOMEM, "out of memory");
    json_array_foreach(options, j, opt)
    {
        const char *label = NULL;
        double value = 0;
        if (json_unpack_ex(opt, &jerr, 0, "{s:F, s:s}", "value", &value, "label", &label) != 0)
            return err_set(e, COL_DEF_EINVAL, "invalid option %zu of item \"%s\": %s", j, id,
                           jerr.text);
        for (size_t k = 0; k < item->n_options; k++)
            if (item->options[k].value == value)
                return err_set(e, COL_DEF_EINVAL, "item \"%s\" repeats the option value %g", id,
                               value);
        item->options[item->n_options].value = value;
        if ((item->options[item->n_options].label = strdup(label)) == NULL)
            return err_set(e, COL_DEF_ENOMEM, "out of memory");
        item->n_options++;
    }
    return 0;
}

int col_def_parse(json_t *root, struct col_def **out, struct err *e)
{
    json_error_t jerr;
    struct col_def *d = NULL;
    const char *id, *version, *title, *instructions = NULL, *notice = NULL, *loinc = NULL;
    const char *method = "sum";
    json_t *items, *scoring = NULL, *bands = NULL, *flags = NULL, *v;
    json_int_t max_missing = 0;
    int prorate = 0;
    double multiplier = 1;
    size_t i;
    int rc = COL_DEF_EINVAL;

    if (json_unpack_ex(root, &jerr, 0, "{s:s, s:s, s:s, s?s, s?s, s?s, s:o, s?o, s?o, s?o}", "id",
                       &id, "version", &version, "title", &title, "instructions", &instructions,
                       "notice", &notice, "loinc", &loinc, "items", &items, "scoring", &scoring,
                       "bands", &bands, "flags", &flags) != 0) {
        err_set(e, COL_DEF_EINVAL, "invalid instrument definition: %s", jerr.text);
        goto out;
    }
    if (scoring != NULL &&
        json_unpack_ex(scoring, &jerr, 0, "{s?s, s?F, s?I, s?b}", "method", &method, "multiplier",
                       &multiplier, "max_missing", &max_missing, "prorate", &prorate) != 0) {
        err_set(e, COL_DEF_EINVAL, "invalid \"scoring\" of \"%s\": %s", id, jerr.text);
        goto out;
    }
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > COL_DEF_MAX_ITEMS) {
        err_set(e, COL_DEF_EINVAL, "\"items\" of \"%s\" must hold 1 to %d items", id,
                COL_DEF_MAX_ITEMS);
        goto out;
    }
    if (strcmp(method, "sum") != 0 && strcmp(method, "mean") != 0) {
        err_set(e, COL_DEF_EINVAL, "unknown scoring method \"%s\"", method);
        goto out;
    }
    if ((d = calloc(1, sizeof *d)) == NULL)
        goto nomem;
    d->id = strdup(id);
    d->version = strdup(version);
    d->title = strdup(title);
    d->instructions = col_strdup_opt(instructions);
    d->notice = col_strdup_opt(notice);
    d->loinc = col_strdup_opt(loinc);
    d->items = calloc(json_array_size(items), sizeof *d->items);
    if (d->id == NULL || d->version == NULL || d->title == NULL || d->items == NULL)
        goto nomem;
    d->mean = strcmp(method, "mean") == 0;
    d->multiplier = multiplier;
    d->prorate = prorate;
    if (max_missing < 0 || (size_t)max_missing >= json_array_size(items)) {
        err_set(e, COL_DEF_EINVAL, "\"max_missing\" of \"%s\" is out of range", id);
        goto out;
    }
    d->max_missing = (size_t)max_missing;
    json_array_foreach(items, i, v)
    {
        if ((rc = col_def_parse_item(v, i, &d->items[i], e)) != 0)
            goto out;
        d->n_items++;
        if (col_def_item_index(d, d->items[i].id) != (int)i) {
            rc = err_set(e, COL_DEF_EINVAL, "duplicate item id \"%s\"", d->items[i].id);
            goto out;
        }
    }
    rc = COL_DEF_EINVAL;
    if (bands != NULL) {
        if (!json_is_array(bands)) {
            err_set(e, COL_DEF_EINVAL, "\"bands\" must be an array");
            goto out;
        }
        if ((d->bands = calloc(json_array_size(bands) + 1, sizeof *d->bands)) == NULL)
            goto nomem;
        json_array_foreach(bands, i, v)
        {
            const char *label;
            double max;
            if (json_unpack_ex(v, &jerr, 0, "{s:F, s:s}", "max", &max, "label", &label) != 0) {
                err_set(e, COL_DEF_EINVAL, "invalid band %zu: %s", i, jerr.text);
                goto out;
            }
            if (i > 0 && max <= d->bands[i - 1].max) {
                err_set(e, COL_DEF_EINVAL, "bands of \"%s\" must ascend", id);
                goto out;
            }
            d->bands[i].max = max;
            if ((d->bands[i].label = strdup(label)) == NULL)
                goto nomem;
            d->n_bands++;
        }
    }
    if (flags != NULL) {
        if (!json_is_array(flags) || json_array_size(flags) > COL_DEF_MAX_FLAGS) {
            err_set(e, COL_DEF_EINVAL, "\"flags\" must be an array of at most %d",
                    COL_DEF_MAX_FLAGS);
            goto out;
        }
        if ((d->flags = calloc(json_array_size(flags) + 1, sizeof *d->flags)) == NULL)
            goto nomem;
        json_array_foreach(flags, i, v)
        {
            const char *fid, *item;
            double min;
            int idx;
            if (json_unpack_ex(v, &jerr, 0, "{s:s, s:s, s:F}", "id", &fid, "item", &item, "min",
                               &min) != 0) {
                err_set(e, COL_DEF_EINVAL, "invalid flag %zu: %s", i, jerr.text);
                goto out;
            }
            if ((idx = col_def_item_index(d, item)) < 0) {
                err_set(e, COL_DEF_EINVAL, "flag \"%s\" names the unknown item \"%s\"", fid, item);
                goto out;
            }
            d->flags[i].item = (size_t)idx;
            d->flags[i].min = min;
            if ((d->flags[i].id = strdup(fid)) == NULL)
                goto nomem;
            d->n_flags++;
        }
    }
    *out = d;
    d = NULL;
    rc = 0;
    goto out;
nomem:
    rc = err_set(e, COL_DEF_ENOMEM, "out of memory");
out:
    col_def_free(d);
    return rc;
}

static void col_problem(json_t *errors, const char *pointer, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void col_problem(json_t *errors, const char *pointer, const char *key, const char *fmt, ...)
{
    char ptr[256], msg[512];
    va_list ap;

    /* JSON pointer escaping (RFC 6901): ~ is ~0, / is ~1. */
    size_t n = (size_t)snprintf(ptr, sizeof ptr, "%s/", pointer);
    for (const char *k = key; *k && n + 3 < sizeof ptr; k++) {
        if (*k == '~' || *k == '/') {
            ptr[n++] = '~';
            ptr[n++] = *k == '~' ? '0' : '1';
        } else {
            ptr[n++] = *k;
        }
    }
    ptr[n] = '\0';
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", ptr, "message", msg));
}

size_t col_def_check(const struct col_def *d, json_t *answers, const char *pointer, double *values,
                     json_t *errors)
{
    size_t problems = 0, missing = 0;
    const char *key;
    json_t *v;

    for (size_t i = 0; i < d->n_items; i++)
        values[i] = NAN;
    json_object_foreach(answers, key, v)
    {
        int idx = col_def_item_index(d, key);
        double x;
        int allowed = 0;
        if (idx < 0) {
            col_problem(errors, pointer, key, "unknown item \"%s\" for %s", key, d->id);
            problems++;
            continue;
        }
        if (json_is_null(v))
            continue; /* an explicit "no answer" */
        if (!json_is_number(v)) {
            col_problem(errors, pointer, key, "the answer to \"%s\" must be a number", key);
            problems++;
            continue;
        }
        x = json_number_value(v);
        for (size_t j = 0; j < d->items[idx].n_options; j++)
            allowed |= d->items[idx].options[j].value == x;
        if (!allowed) {
            col_problem(errors, pointer, key, "%g is not an option of item \"%s\" (allowed: %g to %g)",
                        x, key, d->items[idx].options[0].value,
                        d->items[idx].options[d->items[idx].n_options - 1].value);
            problems++;
            continue;
        }
        values[idx] = x;
    }
    for (size_t i = 0; i < d->n_items; i++)
        missing += isnan(values[i]);
    /* Without a missing-item rule every item is required; with one, a form
     * missing more is accepted and voided (the rule decides, not the input). */
    if (d->max_missing == 0 && missing > 0) {
        for (size_t i = 0; i < d->n_items; i++) {
            json_t *given = json_object_get(answers, d->items[i].id);
            if (!isnan(values[i]) || (given != NULL && !json_is_null(given)))
                continue; /* answered, or already reported as invalid */
            col_problem(errors, pointer, d->items[i].id, "item \"%s\" (question %zu) is required",
                        d->items[i].id, i + 1);
            problems++;
        }
    }
    return problems;
}

void col_def_score(const struct col_def *d, const double *values, struct col_score *out)
{
    double sum = 0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < d->n_items; i++) {
        if (isnan(values[i])) {
            out->missing++;
        } else {
            out->answered++;
            sum += values[i];
        }
    }
    if (out->missing > d->max_missing || out->answered == 0) {
        out->voided = 1;
        out->total = NAN;
    } else {
        double mean = sum / (double)out->answered;
        if (out->missing > 0 && d->prorate) {
            sum += mean * (double)out->missing; /* missing items take the mean of the answered */
            out->prorated = 1;
        }
        out->total = (d->mean ? mean : sum) * d->multiplier;
        for (size_t b = 0; b < d->n_bands; b++) {
            if (out->total <= d->bands[b].max + 1e-9) {
                out->severity = d->bands[b].label;
                break;
            }
        }
    }
    for (size_t f = 0; f < d->n_flags; f++) {
        double x = values[d->flags[f].item];
        if (!isnan(x) && x >= d->flags[f].min && out->n_flags < COL_DEF_MAX_FLAGS)
            out->flags[out->n_flags++] = d->flags[f].id;
    }
}
