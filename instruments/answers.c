/*
 * answers.c — a set of answers bound to one definition, and the checks that
 * fill it: every key and value of an answers object is looked at and every
 * problem reported, with a JSON pointer to the offending member, so a form or
 * an API client can fix them all in one round.
 */
#include "ins_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ins_answers {
    const struct ins_definition *def;
    double *values;         /* per item, in definition order */
    unsigned char *present; /* per item: answered or not */
    size_t count;
};

int ins_answers_new(const struct ins_definition *def, struct ins_answers **out, struct err *e)
{
    struct ins_answers *a = calloc(1, sizeof *a);

    if (a == NULL || (a->values = calloc(def->n_items, sizeof *a->values)) == NULL ||
        (a->present = calloc(def->n_items, 1)) == NULL) {
        ins_answers_free(a);
        return err_set(e, INS_ENOMEM, "out of memory");
    }
    a->def = def;
    *out = a;
    return 0;
}

void ins_answers_free(struct ins_answers *a)
{
    if (a == NULL)
        return;
    free(a->values);
    free(a->present);
    free(a);
}

const struct ins_definition *ins_answers_definition(const struct ins_answers *a)
{
    return a->def;
}

/* Why `v` is not an allowed value of item `it`, as a sentence; "" if it is. */
static void ins_value_problem(const struct ins_item *it, double v, char *buf, size_t size)
{
    char val[40], lo[40], hi[40];

    buf[0] = '\0';
    ins_format_number(val, sizeof val, v);
    ins_format_number(lo, sizeof lo, it->min);
    ins_format_number(hi, sizeof hi, it->max);
    switch (it->type) {
    case INS_ITEM_CHOICE:
        if (ins_option_find(it->options, v) == NULL)
            snprintf(buf, size, "The value %s is not among the options %s to %s.", val, lo, hi);
        break;
    case INS_ITEM_INTEGER:
        if (v != floor(v))
            snprintf(buf, size, "The value %s is not a whole number.", val);
        else if (v < it->min || v > it->max)
            snprintf(buf, size, "The value %s is outside the range %s to %s.", val, lo, hi);
        break;
    case INS_ITEM_DECIMAL:
        if (v < it->min || v > it->max)
            snprintf(buf, size, "The value %s is outside the range %s to %s.", val, lo, hi);
        break;
    }
}

int ins_answers_set(struct ins_answers *a, const char *item_id, double value, const char *pointer,
                    struct ins_problems *p)
{
    const struct ins_definition *def = a->def;
    char ptr[256], why[200];
    size_t i;

    if (pointer == NULL) {
        ins_pointer(ptr, sizeof ptr, "", item_id);
        pointer = ptr;
    }
    for (i = 0; i < def->n_items && strcmp(def->items[i].id, item_id) != 0; i++)
        ;
    if (i == def->n_items) {
        char detail[200];
        snprintf(detail, sizeof detail, "Instrument \"%s\" version \"%s\" has no such item.",
                 def->id, def->version);
        return ins_problem(p, INS_PROBLEM_UNKNOWN_ITEM, "", pointer, detail,
                           "unknown item \"%.64s\"", item_id);
    }
    if (!isfinite(value))
        return ins_problem(p, INS_PROBLEM_NOT_A_NUMBER, item_id, pointer,
                           "Answers are finite numbers.", "answer for item \"%s\" is not a number",
                           item_id);
    if (a->present[i])
        return ins_problem(p, INS_PROBLEM_DUPLICATE, item_id, pointer,
                           "Each item takes one answer.", "item \"%s\" is answered twice", item_id);
    ins_value_problem(&def->items[i], value, why, sizeof why);
    if (why[0] != '\0')
        return ins_problem(p, INS_PROBLEM_INVALID_VALUE, item_id, pointer, why,
                           "invalid answer for item \"%s\"", item_id);
    a->values[i] = value;
    a->present[i] = 1;
    a->count++;
    return 0;
}

int ins_answers_get(const struct ins_answers *a, size_t i, double *value)
{
    if (i >= a->def->n_items || !a->present[i])
        return 0;
    *value = a->values[i];
    return 1;
}

size_t ins_answers_count(const struct ins_answers *a)
{
    return a->count;
}

int ins_answers_check(const struct ins_answers *a, struct ins_problems *p)
{
    int rc = 0;

    for (size_t i = 0; i < a->def->n_items; i++) {
        const struct ins_item *it = &a->def->items[i];
        char ptr[256];
        if (!it->required || a->present[i])
            continue;
        ins_pointer(ptr, sizeof ptr, "", it->id);
        rc = ins_problem(p, INS_PROBLEM_REQUIRED_MISSING, it->id, ptr,
                         "The item is required and has no answer.",
                         "missing answer for required item \"%s\"", it->id);
    }
    return rc;
}

int ins_answers_from_json(const struct ins_definition *def, const json_t *obj,
                          struct ins_answers **out, struct ins_problems *p, struct err *e)
{
    struct ins_answers *a = NULL;
    unsigned char *tried = NULL; /* items given a non-null value, valid or not */
    const char *key;
    json_t *val;
    int rc, bad = 0;

    if (!json_is_object(obj))
        return err_set(e, INS_EINVAL, "answers must be a JSON object");
    if (json_object_size(obj) > INS_MAX_ANSWER_KEYS) {
        err_set(e, INS_EINVAL, "too many answers");
        err_detail(e, "The object has %zu keys; the limit is %d.", json_object_size(obj),
                   INS_MAX_ANSWER_KEYS);
        return INS_EINVAL;
    }
    if ((rc = ins_answers_new(def, &a, e)) != 0)
        return rc;
    tried = calloc(def->n_items, 1);
    if (tried == NULL) {
        ins_answers_free(a);
        return err_set(e, INS_ENOMEM, "out of memory");
    }
    json_object_foreach((json_t *)obj, key, val)
    {
        const struct ins_item *it = ins_definition_item(def, key);
        char ptr[256];
        ins_pointer(ptr, sizeof ptr, "", key);
        if (it == NULL) {
            /* Unknown, whatever the value; reported by ins_answers_set. */
            bad |= ins_answers_set(a, key, 0, ptr, p) != 0;
            continue;
        }
        if (json_is_null(val))
            continue; /* not answered */
        tried[it - def->items] = 1;
        if (!json_is_number(val)) {
            char detail[160];
            snprintf(detail, sizeof detail,
                     "The answer is %s; answers are the chosen option's numeric value.",
                     json_is_string(val)    ? "a string"
                     : json_is_boolean(val) ? "a boolean"
                     : json_is_array(val)   ? "an array"
                                            : "an object");
            ins_problem(p, INS_PROBLEM_NOT_A_NUMBER, key, ptr, detail,
                        "answer for item \"%s\" is not a number", key);
            bad = 1;
            continue;
        }
        bad |= ins_answers_set(a, key, json_number_value(val), ptr, p) != 0;
    }
    /* Required items with no answer at all: a wrong answer is reported once, above. */
    for (size_t i = 0; i < def->n_items; i++) {
        const struct ins_item *it = &def->items[i];
        char ptr[256];
        if (!it->required || a->present[i] || tried[i])
            continue;
        ins_pointer(ptr, sizeof ptr, "", it->id);
        ins_problem(p, INS_PROBLEM_REQUIRED_MISSING, it->id, ptr,
                    "The item is required and has no answer.",
                    "missing answer for required item \"%s\"", it->id);
        bad = 1;
    }
    free(tried);
    if (bad) {
        ins_answers_free(a);
        return INS_EANSWERS;
    }
    *out = a;
    return 0;
}

json_t *ins_answers_to_json(const struct ins_answers *a)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && i < a->def->n_items; i++)
        if (a->present[i] &&
            json_object_set_new(o, a->def->items[i].id, ins_json_number(a->values[i])) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}
