/*
 * test_scoring.c — the scoring test vectors: every JSON file in
 * tests/unit/data/scoring names an instrument and lists cases of answers with the scores, bands,
 * cut-offs, flags and counts expected (hand-computed from the published keys),
 * or the problems expected, as JSON pointers and codes. Each case is scored
 * through the engine against the shipped definitions and must match exactly
 * (1e-9 for fractional scores). One TAP line per case; every mismatch is
 * printed. Unknown keys in a vector are failures too, so a typo cannot make a
 * case vacuous.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ins.h"
#include "tap.h"

#define DATA_DIR  ATTUNE_SOURCE_ROOT "/tests/unit/data/scoring"
#define DEFS_DIR  ATTUNE_SOURCE_ROOT "/instruments/definitions"
#define TOLERANCE 1e-9

static int mismatches;

__attribute__((format(printf, 1, 2))) static void miss(const char *fmt, ...)
{
    va_list ap;

    printf("#   ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    mismatches++;
}

static void check_number(const char *what, double got, const json_t *want)
{
    if (json_is_null(want)) {
        if (!isnan(got))
            miss("%s: got %.17g, want null", what, got);
    } else if (!json_is_number(want)) {
        miss("%s: the vector's value is not a number or null", what);
    } else if (isnan(got) || fabs(got - json_number_value(want)) > TOLERANCE) {
        miss("%s: got %.17g, want %.17g", what, got, json_number_value(want));
    }
}

static void check_label(const char *what, const struct ins_band *got, const json_t *want)
{
    const char *g = got ? got->label : NULL, *w = json_string_value(want);

    if (!json_is_null(want) && w == NULL)
        miss("%s: the vector's value is not a string or null", what);
    else if ((g == NULL) != (w == NULL) || (g != NULL && strcmp(g, w) != 0))
        miss("%s: got %s, want %s", what, g ? g : "null", w ? w : "null");
}

static const struct ins_score_result *score_of(const struct ins_result *r, const char *id)
{
    for (size_t s = 0; s < r->n_scores; s++)
        if (strcmp(r->scores[s].score->id, id) == 0)
            return &r->scores[s];
    return NULL;
}

static void check_result(const struct ins_result *r, const json_t *expect)
{
    const struct ins_score_result *t = ins_result_total(r);
    const char *key, *id;
    json_t *want, *w;

    json_object_foreach((json_t *)expect, key, want)
    {
        if (strcmp(key, "total") == 0) {
            check_number("total", t ? t->value : NAN, want);
        } else if (strcmp(key, "band") == 0) {
            check_label("band", t ? t->band : NULL, want);
        } else if (strcmp(key, "scores") == 0 || strcmp(key, "bands") == 0) {
            json_object_foreach(want, id, w)
            {
                const struct ins_score_result *sr = score_of(r, id);
                char what[128];
                snprintf(what, sizeof what, "%s.%s", key, id);
                if (sr == NULL)
                    miss("%s: no such score", what);
                else if (key[0] == 's')
                    check_number(what, sr->voided ? NAN : sr->value, w);
                else
                    check_label(what, sr->band, w);
            }
        } else if (strcmp(key, "cutoffs") == 0) {
            json_object_foreach(want, id, w)
            {
                size_t c;
                int wv = json_is_null(w) ? -1 : json_is_true(w) ? 1 : 0;
                for (c = 0; c < r->def->n_cutoffs && strcmp(r->def->cutoffs[c].id, id) != 0; c++)
                    ;
                if (c == r->def->n_cutoffs)
                    miss("cutoffs.%s: no such cut-off", id);
                else if (r->cutoffs[c] != wv)
                    miss("cutoffs.%s: got %d, want %d (1 met, 0 not, -1 unknown)", id,
                         r->cutoffs[c], wv);
            }
        } else if (strcmp(key, "flags") == 0) {
            size_t i;
            if (json_array_size(want) != r->n_flags)
                miss("flags: got %zu, want %zu", r->n_flags, json_array_size(want));
            json_array_foreach(want, i, w)
            {
                if (i < r->n_flags && strcmp(r->flags[i]->id, json_string_value(w)) != 0)
                    miss("flags[%zu]: got %s, want %s", i, r->flags[i]->id, json_string_value(w));
            }
        } else if (strcmp(key, "items_answered") == 0 || strcmp(key, "items_missing") == 0) {
            size_t got = key[6] == 'a' ? r->items_answered : r->items_missing;
            if ((json_int_t)got != json_integer_value(want))
                miss("%s: got %zu, want %lld", key, got, (long long)json_integer_value(want));
        } else if (strcmp(key, "prorated") == 0 || strcmp(key, "voided") == 0) {
            int got = key[0] == 'p' ? r->prorated : r->voided;
            if (got != json_is_true(want))
                miss("%s: got %d, want %d", key, got, json_is_true(want));
        } else {
            miss("unknown key \"%s\" in the vector", key);
        }
    }
}

static void check_problems(const struct ins_problems *p, const json_t *want)
{
    int before = mismatches;
    size_t i;
    json_t *w;

    if (json_array_size(want) != p->n)
        miss("problems: got %zu, want %zu", p->n, json_array_size(want));
    json_array_foreach(want, i, w)
    {
        const char *ptr = json_string_value(json_object_get(w, "pointer"));
        const char *code = json_string_value(json_object_get(w, "code"));
        if (i >= p->n)
            break;
        if (ptr == NULL || strcmp(p->items[i].pointer, ptr) != 0)
            miss("problem %zu: pointer %s, want %s", i, p->items[i].pointer, ptr ? ptr : "?");
        if (code == NULL || strcmp(ins_problem_code_name(p->items[i].code), code) != 0)
            miss("problem %zu: code %s, want %s", i, ins_problem_code_name(p->items[i].code),
                 code ? code : "?");
    }
    for (i = 0; mismatches > before && i < p->n; i++)
        printf("#     got %s %s (%s)\n", p->items[i].pointer,
               ins_problem_code_name(p->items[i].code), p->items[i].message);
}

static void run_case(const struct ins_definition *def, const char *file, const json_t *c,
                     struct ins_problems *p)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const json_t *answers = json_object_get(c, "answers"), *expect = json_object_get(c, "expect");
    const json_t *errors = json_object_get(c, "expect_errors");
    struct ins_answers *a = NULL;
    struct ins_result *r = NULL;
    struct err e;
    int rc;

    mismatches = 0;
    ins_problems_clear(p);
    if (name == NULL || answers == NULL || (expect == NULL) == (errors == NULL)) {
        ok(0, "%s: malformed case", file);
        return;
    }
    rc = ins_answers_from_json(def, answers, &a, p, &e);
    if (errors != NULL) {
        if (rc != INS_EANSWERS)
            miss("answers accepted (rc %d), want problems", rc);
        check_problems(p, errors);
    } else if (rc != 0) {
        miss("answers refused (rc %d): %zu problems", rc, p->n);
        for (size_t i = 0; i < p->n; i++)
            printf("#     %s: %s %s\n", p->items[i].pointer, p->items[i].message,
                   p->items[i].detail);
    } else if (ins_score(a, &r, &e) != 0) {
        miss("scoring failed: %s", e.message);
    } else {
        check_result(r, expect);
    }
    ok(mismatches == 0, "%s %s: %s", def->id, file, name);
    ins_result_free(r);
    ins_answers_free(a);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    struct ins_registry *reg = NULL;
    struct ins_problems *p = calloc(1, sizeof *p);
    char *names[64];
    size_t n_names = 0, n_cases = 0;
    struct dirent *ent;
    struct err e;
    DIR *d;

    if (sodium_init() < 0 || p == NULL)
        return 1;
    if (!ok(ins_registry_load(DEFS_DIR, &reg, &e) == 0, "shipped definitions load"))
        printf("#   %s\n#   %s\n", e.message, e.detail);
    d = opendir(DATA_DIR);
    if (!ok(d != NULL, "vector folder opens"))
        return tap_done();
    while ((ent = readdir(d)) != NULL && n_names < 64) {
        size_t len = strlen(ent->d_name);
        if (len > 5 && strcmp(ent->d_name + len - 5, ".json") == 0)
            names[n_names++] = strdup(ent->d_name);
    }
    closedir(d);
    qsort(names, n_names, sizeof *names, cmp_names);
    for (size_t f = 0; f < n_names; f++) {
        char path[512];
        json_error_t jerr;
        json_t *doc, *cases, *c;
        const struct ins_definition *def;
        size_t i;

        snprintf(path, sizeof path, "%s/%s", DATA_DIR, names[f]);
        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!ok(doc != NULL, "%s parses", names[f])) {
            printf("#   %s line %d\n", jerr.text, jerr.line);
            continue;
        }
        def = ins_registry_find(reg, json_string_value(json_object_get(doc, "instrument")),
                                json_string_value(json_object_get(doc, "version")));
        cases = json_object_get(doc, "cases");
        if (ok(def != NULL && json_array_size(cases) > 0,
               "%s names a shipped instrument and has "
               "cases",
               names[f]))
            json_array_foreach(cases, i, c)
            {
                run_case(def, names[f], c, p);
                n_cases++;
            }
        json_decref(doc);
        free(names[f]);
    }
    /* Every shipped instrument has vectors. */
    for (size_t i = 0; i < ins_registry_count(reg); i++) {
        const struct ins_definition *def = ins_registry_at(reg, i);
        char path[512];
        FILE *f;
        snprintf(path, sizeof path, "%s/%s.json", DATA_DIR, def->id);
        f = fopen(path, "r");
        ok(f != NULL, "shipped instrument %s has scoring vectors", def->id);
        if (f != NULL)
            fclose(f);
    }
    ok(n_cases >= 100, "at least 100 cases ran (%zu)", n_cases);
    ins_registry_free(reg);
    free(p);
    return tap_done();
}
