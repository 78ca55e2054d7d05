/*
 * definition.c — reading a definition file into struct ins_definition,
 * strictly, and writing it back as canonical JSON.
 *
 * The checks are the point of this file: a definition that loads is one the
 * engine can score without asking questions. Every rule names the field it
 * looked at as a JSON pointer, and the loader prefixes the file name, so an
 * author reads `"gad7-1.json": /items/3/id: duplicate item id "gad7_3"`.
 * Unknown keys are errors too (a misspelt "requried" must not be ignored).
 *
 * Everything a definition holds is copied into its arena; the JSON it came
 * from is not kept.
 */
#include "ins_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parser state: where strings go, where errors go, what has been used. */
struct ins_parse {
    struct arena *arena;
    struct err *e;
    struct ins_definition *def;
    /* mutable views of the definition's arrays while they are filled */
    struct ins_source *sources;
    struct ins_option_set *sets;
    struct ins_item *items;
    struct ins_score *scores;
    unsigned char source_used[INS_MAX_SOURCES];
    unsigned char set_used[INS_MAX_OPTION_SETS];
    int loinc_codes; /* LOINC codes seen anywhere in the file */
};

/* Fails with "<path>: <message>". */
__attribute__((format(printf, 3, 4))) static int ins_bad(struct ins_parse *ps, const char *path,
                                                         const char *fmt, ...)
{
    char msg[ERR_MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(ps->e, INS_EINVAL, "%s: %s", path[0] ? path : "/", msg);
}

static int ins_nomem(struct ins_parse *ps)
{
    return err_set(ps->e, INS_ENOMEM, "out of memory");
}

static const char *ins_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* Refuses any key of `obj` not in the NULL-terminated list. */
static int ins_keys(struct ins_parse *ps, const json_t *obj, const char *path,
                    const char *const *allowed)
{
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i;
        for (i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                break;
        if (allowed[i] == NULL) {
            char p[256], list[512] = "";
            size_t n = 0;
            ins_pointer(p, sizeof p, path, key);
            for (i = 0; allowed[i] != NULL && n + 1 < sizeof list; i++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", allowed[i]);
            ins_bad(ps, p, "unknown key \"%s\"", key);
            err_detail(ps->e, "The keys allowed here are: %s.", list);
            return INS_EINVAL;
        }
    }
    return 0;
}

/* obj[key] of the given kind; *out is NULL when absent and optional. */
static int ins_member(struct ins_parse *ps, const json_t *obj, const char *path, const char *key,
                      int required, json_type type, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    char p[256];

    ins_pointer(p, sizeof p, path, key);
    *out = NULL;
    if (v == NULL) {
        if (required)
            return ins_bad(ps, p, "missing required key \"%s\"", key);
        return 0;
    }
    if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v)) &&
        !(type == JSON_REAL && json_is_number(v))) {
        static const char *const want[] = {
            [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
            [JSON_INTEGER] = "a number", [JSON_REAL] = "a number",  [JSON_TRUE] = "a boolean",
            [JSON_FALSE] = "a boolean",  [JSON_NULL] = "null",
        };
        return ins_bad(ps, p, "must be %s, not %s", want[type], ins_json_type_name(v));
    }
    *out = v;
    return 0;
}

/* A string member, copied into the arena. Control characters are refused
 * (newlines and tabs only where `multiline`). */
static int ins_string(struct ins_parse *ps, const json_t *obj, const char *path, const char *key,
                      int required, size_t max, int multiline, const char **out)
{
    json_t *v;
    const char *s;
    size_t len;
    char p[256];
    int rc;

    *out = NULL;
    if ((rc = ins_member(ps, obj, path, key, required, JSON_STRING, &v)) != 0 || v == NULL)
        return rc;
    ins_pointer(p, sizeof p, path, key);
    s = json_string_value(v);
    len = json_string_length(v);
    if (len == 0)
        return ins_bad(ps, p, "must not be empty");
    if (len > max) {
        ins_bad(ps, p, "is too long");
        err_detail(ps->e, "It has %zu bytes; the limit is %zu.", len, max);
        return INS_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f)
            return ins_bad(ps, p, "contains a control character at byte %zu", i);
    }
    *out = arena_strndup(ps->arena, s, len);
    return *out == NULL ? ins_nomem(ps) : 0;
}

/* A number member; *present says whether it was there. */
static int ins_number(struct ins_parse *ps, const json_t *obj, const char *path, const char *key,
                      int required, double *out, int *present)
{
    json_t *v;
    int rc;

    if (present != NULL)
        *present = 0;
    if ((rc = ins_member(ps, obj, path, key, required, JSON_REAL, &v)) != 0 || v == NULL)
        return rc;
    *out = json_number_value(v);
    if (!isfinite(*out) || fabs(*out) > 1e9) {
        char p[256];
        ins_pointer(p, sizeof p, path, key);
        return ins_bad(ps, p, "must be a finite number between -1e9 and 1e9");
    }
    if (present != NULL)
        *present = 1;
    return 0;
}

static int ins_whole(double v)
{
    return v == floor(v);
}

static int ins_whole_number(struct ins_parse *ps, const json_t *obj, const char *path,
                            const char *key, int required, double *out, int *present)
{
    int rc = ins_number(ps, obj, path, key, required, out, present);
    char p[256];

    if (rc != 0 || (present != NULL && !*present))
        return rc;
    ins_pointer(p, sizeof p, path, key);
    if (!ins_whole(*out))
        return ins_bad(ps, p, "must be a whole number");
    return 0;
}

static int ins_bool(struct ins_parse *ps, const json_t *obj, const char *path, const char *key,
                    int dflt, int *out)
{
    json_t *v;
    int rc;

    *out = dflt;
    if ((rc = ins_member(ps, obj, path, key, 0, JSON_TRUE, &v)) != 0 || v == NULL)
        return rc;
    *out = json_is_true(v);
    return 0;
}

/* A "source" member: a key of /sources, marked used. */
static int ins_source_ref(struct ins_parse *ps, const json_t *obj, const char *path,
                          const char *key, const char **out)
{
    const char *s;
    char p[256];
    int rc;

    if ((rc = ins_string(ps, obj, path, key, 1, INS_ITEM_ID_MAX, 0, &s)) != 0)
        return rc;
    for (size_t i = 0; i < ps->def->n_sources; i++)
        if (strcmp(ps->sources[i].key, s) == 0) {
            ps->source_used[i] = 1;
            *out = ps->sources[i].key;
            return 0;
        }
    ins_pointer(p, sizeof p, path, key);
    ins_bad(ps, p, "unknown source \"%s\"", s);
    err_detail(ps->e, "Every fact names its source by a key of the file's \"sources\" object.");
    return INS_EINVAL;
}

/* An optional LOINC code member, checked for form. */
static int ins_loinc_member(struct ins_parse *ps, const json_t *obj, const char *path, int answer,
                            const char **out)
{
    char p[256];
    int rc;

    if ((rc = ins_string(ps, obj, path, "loinc", 0, 16, 0, out)) != 0 || *out == NULL)
        return rc;
    ins_pointer(p, sizeof p, path, "loinc");
    if (answer ? !ins_valid_loinc_answer(*out) : !ins_valid_loinc(*out))
        return ins_bad(ps, p, "\"%s\" is not a LOINC %s", *out, answer ? "answer code" : "code");
    ps->loinc_codes++;
    return 0;
}

/* ----------------------------------------------------------------- sources */

static int ins_parse_sources(struct ins_parse *ps, const json_t *root)
{
    json_t *obj, *val;
    const char *key;
    size_t n, i = 0;
    int rc;

    if ((rc = ins_member(ps, root, "", "sources", 1, JSON_OBJECT, &obj)) != 0)
        return rc;
    n = json_object_size(obj);
    if (n == 0)
        return ins_bad(ps, "/sources", "must name at least one source");
    if (n > INS_MAX_SOURCES)
        return ins_bad(ps, "/sources", "has %zu sources; the limit is %d", n, INS_MAX_SOURCES);
    ps->sources = arena_calloc(ps->arena, n, sizeof *ps->sources);
    if (ps->sources == NULL)
        return ins_nomem(ps);
    json_object_foreach(obj, key, val)
    {
        char p[256];
        ins_pointer(p, sizeof p, "/sources", key);
        if (!ins_valid_item_id(key))
            return ins_bad(ps, p, "source key \"%s\" is not a valid key", key);
        if (!json_is_string(val))
            return ins_bad(ps, p, "must be a string, not %s", ins_json_type_name(val));
        if (json_string_length(val) == 0 || json_string_length(val) > INS_MAX_TEXT)
            return ins_bad(ps, p, "must be a citation of 1 to %d bytes", INS_MAX_TEXT);
        ps->sources[i].key = arena_strdup(ps->arena, key);
        ps->sources[i].text = arena_strdup(ps->arena, json_string_value(val));
        if (ps->sources[i].key == NULL || ps->sources[i].text == NULL)
            return ins_nomem(ps);
        i++;
    }
    ps->def->sources = ps->sources;
    ps->def->n_sources = n;
    return 0;
}

/* ------------------------------------------------------------------ header */

static int ins_parse_header(struct ins_parse *ps, const json_t *root)
{
    struct ins_definition *def = ps->def;
    double fmt;
    json_t *lic, *loinc;
    const char *texts, *lang;
    int rc;

    if ((rc = ins_whole_number(ps, root, "", "attune_instrument", 1, &fmt, NULL)) != 0)
        return rc;
    if (fmt != INS_FORMAT_VERSION)
        return ins_bad(ps, "/attune_instrument", "format version %g is not supported (only %d)",
                       fmt, INS_FORMAT_VERSION);
    if ((rc = ins_string(ps, root, "", "id", 1, INS_ID_MAX, 0, &def->id)) != 0)
        return rc;
    if (!ins_valid_key(def->id)) {
        ins_bad(ps, "/id", "\"%s\" is not a valid instrument id", def->id);
        err_detail(ps->e, "Ids are 1 to 63 lower-case letters, digits, '_' or '-', starting "
                          "with a letter or digit.");
        return INS_EINVAL;
    }
    if ((rc = ins_string(ps, root, "", "version", 1, INS_VERSION_MAX, 0, &def->version)) != 0)
        return rc;
    if (!ins_valid_version(def->version))
        return ins_bad(ps, "/version", "\"%s\" is not a valid version", def->version);
    if ((rc = ins_string(ps, root, "", "title", 1, INS_MAX_LABEL, 0, &def->title)) != 0 ||
        (rc = ins_string(ps, root, "", "short_title", 0, 40, 0, &def->short_title)) != 0 ||
        (rc = ins_string(ps, root, "", "language", 1, 35, 0, &lang)) != 0 ||
        (rc = ins_string(ps, root, "", "citation", 1, INS_MAX_TEXT, 1, &def->citation)) != 0 ||
        (rc = ins_string(ps, root, "", "instructions", 0, INS_MAX_TEXT, 1, &def->instructions)) !=
            0 ||
        (rc = ins_string(ps, root, "", "recall_period", 0, INS_MAX_LABEL, 0,
                         &def->recall_period)) != 0 ||
        (rc = ins_string(ps, root, "", "item_texts", 1, 20, 0, &texts)) != 0)
        return rc;
    if (!ins_valid_language(lang))
        return ins_bad(ps, "/language", "\"%s\" is not a BCP 47 language tag", lang);
    def->language = lang;
    if (strcmp(texts, "included") == 0) {
        def->texts = INS_TEXTS_INCLUDED;
    } else if (strcmp(texts, "study-supplied") == 0) {
        def->texts = INS_TEXTS_STUDY_SUPPLIED;
    } else {
        ins_bad(ps, "/item_texts", "unknown value \"%s\"", texts);
        err_detail(ps->e, "It is \"included\" or \"study-supplied\".");
        return INS_EINVAL;
    }
    if ((rc = ins_member(ps, root, "", "licence", 1, JSON_OBJECT, &lic)) != 0 ||
        (rc = ins_keys(ps, lic, "/licence", (const char *const[]){"notice", "source", NULL})) !=
            0 ||
        (rc = ins_string(ps, lic, "/licence", "notice", 1, INS_MAX_TEXT, 1, &def->licence)) != 0 ||
        (rc = ins_source_ref(ps, lic, "/licence", "source", &def->licence_source)) != 0)
        return rc;
    if ((rc = ins_member(ps, root, "", "loinc", 0, JSON_OBJECT, &loinc)) != 0)
        return rc;
    if (loinc != NULL) {
        if ((rc = ins_keys(ps, loinc, "/loinc", (const char *const[]){"panel", "source", NULL})) !=
                0 ||
            (rc = ins_string(ps, loinc, "/loinc", "panel", 0, 16, 0, &def->loinc)) != 0 ||
            (rc = ins_source_ref(ps, loinc, "/loinc", "source", &def->loinc_source)) != 0)
            return rc;
        if (def->loinc != NULL) {
            if (!ins_valid_loinc(def->loinc))
                return ins_bad(ps, "/loinc/panel", "\"%s\" is not a LOINC code", def->loinc);
            ps->loinc_codes++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- option sets */

static int ins_parse_option_set(struct ins_parse *ps, const json_t *obj, const char *path,
                                struct ins_option_set *set)
{
    static const char *const keys[] = {"id", "options", "source", NULL};
    static const char *const option_keys[] = {"value", "weight", "label", "loinc", NULL};
    struct ins_option *opts;
    json_t *arr, *o;
    size_t n, i;
    char p[256], op[300];
    int rc;

    if (!json_is_object(obj))
        return ins_bad(ps, path, "must be an object, not %s", ins_json_type_name(obj));
    if ((rc = ins_keys(ps, obj, path, keys)) != 0 ||
        (rc = ins_string(ps, obj, path, "id", 1, INS_ITEM_ID_MAX, 0, &set->id)) != 0 ||
        (rc = ins_source_ref(ps, obj, path, "source", &set->source)) != 0 ||
        (rc = ins_member(ps, obj, path, "options", 1, JSON_ARRAY, &arr)) != 0)
        return rc;
    if (!ins_valid_item_id(set->id))
        return ins_bad(ps, path, "\"%s\" is not a valid option set id", set->id);
    ins_pointer(p, sizeof p, path, "options");
    n = json_array_size(arr);
    if (n < 2 || n > INS_MAX_OPTIONS)
        return ins_bad(ps, p, "has %zu options; a set has 2 to %d", n, INS_MAX_OPTIONS);
    opts = arena_calloc(ps->arena, n, sizeof *opts);
    if (opts == NULL)
        return ins_nomem(ps);
    json_array_foreach(arr, i, o)
    {
        int has_weight;
        snprintf(op, sizeof op, "%s/%zu", p, i);
        if (!json_is_object(o))
            return ins_bad(ps, op, "must be an object, not %s", ins_json_type_name(o));
        if ((rc = ins_keys(ps, o, op, option_keys)) != 0 ||
            (rc = ins_whole_number(ps, o, op, "value", 1, &opts[i].value, NULL)) != 0 ||
            (rc = ins_number(ps, o, op, "weight", 0, &opts[i].weight, &has_weight)) != 0 ||
            (rc = ins_string(ps, o, op, "label", 1, INS_MAX_LABEL, 0, &opts[i].label)) != 0 ||
            (rc = ins_loinc_member(ps, o, op, 1, &opts[i].loinc)) != 0)
            return rc;
        if (!has_weight)
            opts[i].weight = opts[i].value;
        for (size_t j = 0; j < i; j++) {
            char vp[320];
            snprintf(vp, sizeof vp, "%s/value", op);
            if (opts[j].value == opts[i].value) {
                ins_bad(ps, vp, "duplicate option value %g", opts[i].value);
                err_detail(ps->e, "Option %zu already has the value %g.", j, opts[j].value);
                return INS_EINVAL;
            }
            if (strcmp(opts[j].label, opts[i].label) == 0)
                return ins_bad(ps, op, "duplicate option label \"%s\"", opts[i].label);
            if (opts[i].loinc && opts[j].loinc && strcmp(opts[i].loinc, opts[j].loinc) == 0)
                return ins_bad(ps, op, "duplicate LOINC answer code \"%s\"", opts[i].loinc);
        }
    }
    set->min_value = set->max_value = opts[0].value;
    set->min_weight = set->max_weight = opts[0].weight;
    for (i = 1; i < n; i++) {
        set->min_value = fmin(set->min_value, opts[i].value);
        set->max_value = fmax(set->max_value, opts[i].value);
        set->min_weight = fmin(set->min_weight, opts[i].weight);
        set->max_weight = fmax(set->max_weight, opts[i].weight);
    }
    /* n distinct whole numbers spanning n-1 have no gap. */
    if (set->max_value - set->min_value != (double)(n - 1)) {
        for (double v = set->min_value; v <= set->max_value; v++) {
            size_t j;
            for (j = 0; j < n && opts[j].value != v; j++)
                ;
            if (j == n) {
                ins_bad(ps, p, "option values have a gap: %g is missing", v);
                err_detail(ps->e,
                           "The values of a set are consecutive whole numbers (%g to %g "
                           "here); reverse keying goes in the weights.",
                           set->min_value, set->max_value);
                return INS_EINVAL;
            }
        }
    }
    set->options = opts;
    set->n_options = n;
    return 0;
}

static int ins_parse_option_sets(struct ins_parse *ps, const json_t *root)
{
    json_t *arr, *o;
    size_t n, i;
    int rc;

    if ((rc = ins_member(ps, root, "", "option_sets", 0, JSON_ARRAY, &arr)) != 0 || arr == NULL)
        return rc;
    n = json_array_size(arr);
    if (n > INS_MAX_OPTION_SETS)
        return ins_bad(ps, "/option_sets", "has %zu sets; the limit is %d", n, INS_MAX_OPTION_SETS);
    ps->sets = arena_calloc(ps->arena, n ? n : 1, sizeof *ps->sets);
    if (ps->sets == NULL)
        return ins_nomem(ps);
    json_array_foreach(arr, i, o)
    {
        char p[64];
        snprintf(p, sizeof p, "/option_sets/%zu", i);
        if ((rc = ins_parse_option_set(ps, o, p, &ps->sets[i])) != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(ps->sets[j].id, ps->sets[i].id) == 0) {
                char ip[80];
                snprintf(ip, sizeof ip, "%s/id", p);
                return ins_bad(ps, ip, "duplicate option set id \"%s\"", ps->sets[i].id);
            }
    }
    ps->def->option_sets = ps->sets;
    ps->def->n_option_sets = n;
    return 0;
}

/* ------------------------------------------------------------------- items */

static const struct {
    const char *name;
    enum ins_item_type type;
} ins_item_types[] = {
    {"choice", INS_ITEM_CHOICE},
    {"integer", INS_ITEM_INTEGER},
    {"decimal", INS_ITEM_DECIMAL},
};

static const char *ins_item_type_name(enum ins_item_type t)
{
    for (size_t i = 0; i < sizeof ins_item_types / sizeof ins_item_types[0]; i++)
        if (ins_item_types[i].type == t)
            return ins_item_types[i].name;
    return "?";
}

/* The weights of a choice item must run with its keying: up for forward, down
 * for reverse. A reverse-keyed item on a forward set (the classic mistake)
 * fails here. */
static int ins_check_keying(struct ins_parse *ps, const char *path, const struct ins_item *it)
{
    const struct ins_option_set *set = it->options;
    const struct ins_option *prev = NULL;

    for (double v = set->min_value; v <= set->max_value; v++) {
        const struct ins_option *o = ins_option_find(set, v);
        if (prev != NULL) {
            int ok = it->keyed == INS_KEYED_FORWARD ? o->weight > prev->weight
                                                    : o->weight < prev->weight;
            if (!ok) {
                ins_bad(ps, path, "weights of option set \"%s\" do not run %s", set->id,
                        it->keyed == INS_KEYED_FORWARD ? "forward" : "in reverse");
                err_detail(ps->e,
                           "Item \"%s\" is keyed %s, but the value %g weighs %g and the value "
                           "%g weighs %g.",
                           it->id, it->keyed == INS_KEYED_FORWARD ? "forward" : "in reverse",
                           prev->value, prev->weight, o->value, o->weight);
                err_hint(ps->e, "A reverse-keyed item uses an option set whose weights fall as "
                                "the values rise.");
                return INS_EINVAL;
            }
        }
        prev = o;
    }
    return 0;
}

static int ins_parse_item(struct ins_parse *ps, const json_t *obj, const char *path,
                          struct ins_item *it)
{
    static const char *const keys[] = {"id",    "text",       "section", "note", "loinc",
                                       "type",  "option_set", "min",     "max",  "required",
                                       "keyed", "source",     NULL};
    const char *type = NULL, *set = NULL, *keyed = NULL;
    double mn = 0, mx = 0;
    int has_min, has_max, rc;
    char p[256];

    if (!json_is_object(obj))
        return ins_bad(ps, path, "must be an object, not %s", ins_json_type_name(obj));
    if ((rc = ins_keys(ps, obj, path, keys)) != 0 ||
        (rc = ins_string(ps, obj, path, "id", 1, INS_ITEM_ID_MAX, 0, &it->id)) != 0)
        return rc;
    ins_pointer(p, sizeof p, path, "id");
    if (!ins_valid_item_id(it->id)) {
        ins_bad(ps, p, "\"%s\" is not a valid item id", it->id);
        err_detail(ps->e, "Item ids are 1 to 64 letters, digits, '.', '_' or '-', starting "
                          "with a letter or digit.");
        return INS_EINVAL;
    }
    if ((rc = ins_string(ps, obj, path, "text", 0, INS_MAX_TEXT, 1, &it->text)) != 0 ||
        (rc = ins_string(ps, obj, path, "section", 0, INS_MAX_TEXT, 1, &it->section)) != 0 ||
        (rc = ins_string(ps, obj, path, "note", 0, INS_MAX_TEXT, 1, &it->note)) != 0 ||
        (rc = ins_loinc_member(ps, obj, path, 0, &it->loinc)) != 0 ||
        (rc = ins_string(ps, obj, path, "type", 0, 20, 0, &type)) != 0 ||
        (rc = ins_string(ps, obj, path, "option_set", 0, INS_ITEM_ID_MAX, 0, &set)) != 0 ||
        (rc = ins_number(ps, obj, path, "min", 0, &mn, &has_min)) != 0 ||
        (rc = ins_number(ps, obj, path, "max", 0, &mx, &has_max)) != 0 ||
        (rc = ins_bool(ps, obj, path, "required", 0, &it->required)) != 0 ||
        (rc = ins_string(ps, obj, path, "keyed", 0, 20, 0, &keyed)) != 0 ||
        (rc = ins_source_ref(ps, obj, path, "source", &it->source)) != 0)
        return rc;
    if (ps->def->texts == INS_TEXTS_INCLUDED && it->text == NULL) {
        ins_pointer(p, sizeof p, path, "text");
        ins_bad(ps, p, "missing required key \"text\"");
        err_detail(ps->e, "The definition says its item texts are included.");
        return INS_EINVAL;
    }
    if (ps->def->texts == INS_TEXTS_STUDY_SUPPLIED && it->text != NULL) {
        ins_pointer(p, sizeof p, path, "text");
        ins_bad(ps, p, "item text in a definition whose texts are study-supplied");
        err_detail(ps->e, "A scoring key ships without item texts; the study supplies them.");
        return INS_EINVAL;
    }
    it->type = INS_ITEM_CHOICE;
    if (type != NULL) {
        size_t i;
        for (i = 0; i < sizeof ins_item_types / sizeof ins_item_types[0]; i++)
            if (strcmp(type, ins_item_types[i].name) == 0)
                break;
        ins_pointer(p, sizeof p, path, "type");
        if (i == sizeof ins_item_types / sizeof ins_item_types[0]) {
            ins_bad(ps, p, "unknown item type \"%s\"", type);
            err_detail(ps->e, "It is \"choice\", \"integer\" or \"decimal\".");
            return INS_EINVAL;
        }
        it->type = ins_item_types[i].type;
    }
    it->keyed = INS_KEYED_FORWARD;
    if (keyed != NULL) {
        ins_pointer(p, sizeof p, path, "keyed");
        if (strcmp(keyed, "reverse") == 0)
            it->keyed = INS_KEYED_REVERSE;
        else if (strcmp(keyed, "forward") != 0)
            return ins_bad(ps, p, "unknown keying \"%s\" (forward or reverse)", keyed);
    }
    if (it->type == INS_ITEM_CHOICE) {
        size_t i;
        if (has_min || has_max) {
            ins_pointer(p, sizeof p, path, has_min ? "min" : "max");
            return ins_bad(ps, p, "a choice item takes its range from its option set");
        }
        ins_pointer(p, sizeof p, path, "option_set");
        if (set == NULL)
            return ins_bad(ps, p, "missing required key \"option_set\"");
        for (i = 0; i < ps->def->n_option_sets; i++)
            if (strcmp(ps->sets[i].id, set) == 0)
                break;
        if (i == ps->def->n_option_sets)
            return ins_bad(ps, p, "unknown option set \"%s\"", set);
        ps->set_used[i] = 1;
        it->options = &ps->sets[i];
        it->min = it->options->min_value;
        it->max = it->options->max_value;
        if ((rc = ins_check_keying(ps, p, it)) != 0)
            return rc;
    } else {
        if (set != NULL) {
            ins_pointer(p, sizeof p, path, "option_set");
            return ins_bad(ps, p, "a %s item has no option set", ins_item_type_name(it->type));
        }
        if (it->keyed != INS_KEYED_FORWARD) {
            ins_pointer(p, sizeof p, path, "keyed");
            return ins_bad(ps, p, "a numeric item cannot be reverse-keyed");
        }
        if (!has_min || !has_max) {
            ins_pointer(p, sizeof p, path, has_min ? "max" : "min");
            return ins_bad(ps, p, "missing required key \"%s\"", has_min ? "max" : "min");
        }
        ins_pointer(p, sizeof p, path, "max");
        if (mx <= mn)
            return ins_bad(ps, p, "max %g is not above min %g", mx, mn);
        if (it->type == INS_ITEM_INTEGER && (!ins_whole(mn) || !ins_whole(mx)))
            return ins_bad(ps, path, "an integer item needs whole-number min and max");
        it->min = mn;
        it->max = mx;
    }
    return 0;
}

static int ins_parse_items(struct ins_parse *ps, const json_t *root)
{
    json_t *arr, *o;
    size_t n, i;
    int rc;

    if ((rc = ins_member(ps, root, "", "items", 1, JSON_ARRAY, &arr)) != 0)
        return rc;
    n = json_array_size(arr);
    if (n == 0 || n > INS_MAX_ITEMS)
        return ins_bad(ps, "/items", "has %zu items; a definition has 1 to %d", n, INS_MAX_ITEMS);
    ps->items = arena_calloc(ps->arena, n, sizeof *ps->items);
    if (ps->items == NULL)
        return ins_nomem(ps);
    ps->def->items = ps->items;
    json_array_foreach(arr, i, o)
    {
        char p[64];
        snprintf(p, sizeof p, "/items/%zu", i);
        if ((rc = ins_parse_item(ps, o, p, &ps->items[i])) != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(ps->items[j].id, ps->items[i].id) == 0) {
                char ip[80];
                snprintf(ip, sizeof ip, "%s/id", p);
                ins_bad(ps, ip, "duplicate item id \"%s\"", ps->items[i].id);
                err_detail(ps->e, "Item %zu already uses this id (/items/%zu/id).", j, j);
                return INS_EINVAL;
            }
        ps->def->n_items = i + 1;
    }
    return 0;
}

static int ins_item_index(const struct ins_definition *def, const char *id, size_t *out)
{
    for (size_t i = 0; i < def->n_items; i++)
        if (strcmp(def->items[i].id, id) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

/* ------------------------------------------------------------------ scores */

static const struct {
    const char *name;
    enum ins_method method;
} ins_methods[] = {
    {"sum", INS_METHOD_SUM},
    {"mean", INS_METHOD_MEAN},
    {"scaled_sum", INS_METHOD_SCALED_SUM},
};

const char *ins_method_name(enum ins_method m)
{
    for (size_t i = 0; i < sizeof ins_methods / sizeof ins_methods[0]; i++)
        if (ins_methods[i].method == m)
            return ins_methods[i].name;
    return "?";
}

static const struct {
    const char *name;
    enum ins_missing_rule rule;
} ins_rules[] = {
    {"prorate", INS_MISSING_PRORATE},
    {"mean_substitute", INS_MISSING_MEAN_SUBSTITUTE},
};

static const char *ins_rule_name(enum ins_missing_rule r)
{
    for (size_t i = 0; i < sizeof ins_rules / sizeof ins_rules[0]; i++)
        if (ins_rules[i].rule == r)
            return ins_rules[i].name;
    return NULL;
}

const char *ins_texts_name(enum ins_texts t)
{
    return t == INS_TEXTS_INCLUDED ? "included" : "study-supplied";
}

/* Bands: ascending, whole-number bounds, from the lowest possible score to
 * the highest, each starting one above where the last one ended. */
static int ins_parse_bands(struct ins_parse *ps, const json_t *obj, const char *path,
                           struct ins_score *sc)
{
    static const char *const range_keys[] = {"min", "max", "label", NULL};
    struct ins_band *bands;
    json_t *arr, *o;
    size_t n, i;
    char p[256], rp[300];
    int rc;

    if (!json_is_object(obj))
        return ins_bad(ps, path, "must be an object, not %s", ins_json_type_name(obj));
    if ((rc = ins_keys(ps, obj, path, (const char *const[]){"ranges", "source", NULL})) != 0 ||
        (rc = ins_source_ref(ps, obj, path, "source", &sc->bands_source)) != 0 ||
        (rc = ins_member(ps, obj, path, "ranges", 1, JSON_ARRAY, &arr)) != 0)
        return rc;
    ins_pointer(p, sizeof p, path, "ranges");
    n = json_array_size(arr);
    if (n < 2 || n > INS_MAX_BANDS)
        return ins_bad(ps, p, "has %zu bands; a score has 2 to %d", n, INS_MAX_BANDS);
    if (!ins_whole(sc->min) || !ins_whole(sc->max)) {
        ins_bad(ps, p, "bands need a score range with whole-number ends");
        err_detail(ps->e, "Score \"%s\" ranges from %g to %g.", sc->id, sc->min, sc->max);
        return INS_EINVAL;
    }
    bands = arena_calloc(ps->arena, n, sizeof *bands);
    if (bands == NULL)
        return ins_nomem(ps);
    json_array_foreach(arr, i, o)
    {
        snprintf(rp, sizeof rp, "%s/%zu", p, i);
        if (!json_is_object(o))
            return ins_bad(ps, rp, "must be an object, not %s", ins_json_type_name(o));
        if ((rc = ins_keys(ps, o, rp, range_keys)) != 0 ||
            (rc = ins_whole_number(ps, o, rp, "min", 1, &bands[i].min, NULL)) != 0 ||
            (rc = ins_whole_number(ps, o, rp, "max", 1, &bands[i].max, NULL)) != 0 ||
            (rc = ins_string(ps, o, rp, "label", 1, INS_MAX_LABEL, 0, &bands[i].label)) != 0)
            return rc;
        if (bands[i].max < bands[i].min)
            return ins_bad(ps, rp, "band \"%s\" ends (%g) before it starts (%g)", bands[i].label,
                           bands[i].max, bands[i].min);
        for (size_t j = 0; j < i; j++)
            if (strcmp(bands[j].label, bands[i].label) == 0)
                return ins_bad(ps, rp, "duplicate band label \"%s\"", bands[i].label);
        if (i == 0 && bands[0].min != sc->min) {
            ins_bad(ps, rp, "the first band starts at %g, not at the lowest possible score %g",
                    bands[0].min, sc->min);
            err_detail(ps->e,
                       "Bands cover the whole range of score \"%s\" (%g to %g) without "
                       "gaps or overlaps.",
                       sc->id, sc->min, sc->max);
            return INS_EINVAL;
        }
        if (i > 0 && bands[i].min <= bands[i - 1].max) {
            ins_bad(ps, rp, "band \"%s\" (%g-%g) overlaps band \"%s\" (%g-%g)", bands[i].label,
                    bands[i].min, bands[i].max, bands[i - 1].label, bands[i - 1].min,
                    bands[i - 1].max);
            return INS_EINVAL;
        }
        if (i > 0 && bands[i].min > bands[i - 1].max + 1) {
            ins_bad(ps, rp, "gap between band \"%s\" (ends at %g) and band \"%s\" (starts at %g)",
                    bands[i - 1].label, bands[i - 1].max, bands[i].label, bands[i].min);
            err_detail(ps->e, "Scores from %g to %g would have no band.", bands[i - 1].max + 1,
                       bands[i].min - 1);
            return INS_EINVAL;
        }
    }
    if (bands[n - 1].max != sc->max) {
        snprintf(rp, sizeof rp, "%s/%zu", p, n - 1);
        ins_bad(ps, rp, "the last band ends at %g, not at the highest possible score %g",
                bands[n - 1].max, sc->max);
        err_detail(ps->e,
                   "Bands cover the whole range of score \"%s\" (%g to %g) without gaps "
                   "or overlaps.",
                   sc->id, sc->min, sc->max);
        return INS_EINVAL;
    }
    sc->bands = bands;
    sc->n_bands = n;
    return 0;
}

static int ins_parse_reliability(struct ins_parse *ps, const json_t *obj, const char *path,
                                 struct ins_score *sc)
{
    json_t *a, *r;
    char p[256];
    int rc;

    if (!json_is_object(obj))
        return ins_bad(ps, path, "must be an object, not %s", ins_json_type_name(obj));
    if ((rc = ins_keys(ps, obj, path, (const char *const[]){"alpha", "test_retest", NULL})) != 0 ||
        (rc = ins_member(ps, obj, path, "alpha", 0, JSON_OBJECT, &a)) != 0 ||
        (rc = ins_member(ps, obj, path, "test_retest", 0, JSON_OBJECT, &r)) != 0)
        return rc;
    if (a == NULL && r == NULL)
        return ins_bad(ps, path, "names neither alpha nor test_retest");
    if (a != NULL) {
        ins_pointer(p, sizeof p, path, "alpha");
        if ((rc = ins_keys(ps, a, p, (const char *const[]){"value", "source", NULL})) != 0 ||
            (rc = ins_number(ps, a, p, "value", 1, &sc->alpha, NULL)) != 0 ||
            (rc = ins_source_ref(ps, a, p, "source", &sc->alpha_source)) != 0)
            return rc;
        if (sc->alpha <= 0 || sc->alpha > 1)
            return ins_bad(ps, p, "alpha %g is not in (0, 1]", sc->alpha);
    }
    if (r != NULL) {
        ins_pointer(p, sizeof p, path, "test_retest");
        if ((rc = ins_keys(
                 ps, r, p,
                 (const char *const[]){"value", "statistic", "interval", "source", NULL})) != 0 ||
            (rc = ins_number(ps, r, p, "value", 1, &sc->retest, NULL)) != 0 ||
            (rc = ins_string(ps, r, p, "statistic", 1, 20, 0, &sc->retest_statistic)) != 0 ||
            (rc = ins_string(ps, r, p, "interval", 0, 60, 0, &sc->retest_interval)) != 0 ||
            (rc = ins_source_ref(ps, r, p, "source", &sc->retest_source)) != 0)
            return rc;
        if (sc->retest <= 0 || sc->retest > 1)
            return ins_bad(ps, p, "test-retest reliability %g is not in (0, 1]", sc->retest);
    }
    return 0;
}

static int ins_parse_norms(struct ins_parse *ps, const json_t *arr, const char *path,
                           struct ins_score *sc)
{
    static const char *const keys[] = {"population", "n", "mean", "sd", "source", NULL};
    struct ins_norm *norms;
    size_t n = json_array_size(arr), i;
    json_t *o;
    int rc;

    if (n == 0 || n > INS_MAX_NORMS)
        return ins_bad(ps, path, "has %zu norms; the limit is %d", n, INS_MAX_NORMS);
    norms = arena_calloc(ps->arena, n, sizeof *norms);
    if (norms == NULL)
        return ins_nomem(ps);
    json_array_foreach(arr, i, o)
    {
        char p[300];
        double nn = 0;
        int has_n;
        snprintf(p, sizeof p, "%s/%zu", path, i);
        if (!json_is_object(o))
            return ins_bad(ps, p, "must be an object, not %s", ins_json_type_name(o));
        if ((rc = ins_keys(ps, o, p, keys)) != 0 ||
            (rc = ins_string(ps, o, p, "population", 1, INS_MAX_LABEL, 0, &norms[i].population)) !=
                0 ||
            (rc = ins_whole_number(ps, o, p, "n", 0, &nn, &has_n)) != 0 ||
            (rc = ins_number(ps, o, p, "mean", 1, &norms[i].mean, NULL)) != 0 ||
            (rc = ins_number(ps, o, p, "sd", 1, &norms[i].sd, NULL)) != 0 ||
            (rc = ins_source_ref(ps, o, p, "source", &norms[i].source)) != 0)
            return rc;
        if (has_n && nn < 1)
            return ins_bad(ps, p, "sample size %g is not positive", nn);
        norms[i].n = has_n ? (long)nn : 0;
        if (norms[i].sd <= 0)
            return ins_bad(ps, p, "standard deviation %g is not positive", norms[i].sd);
        if (norms[i].mean < sc->min || norms[i].mean > sc->max)
            return ins_bad(ps, p, "mean %g is outside the possible range %g to %g", norms[i].mean,
                           sc->min, sc->max);
    }
    sc->norms = norms;
    sc->n_norms = n;
    return 0;
}

/* The possible range of a score, from its items' weights. */
static void ins_score_range(const struct ins_definition *def, struct ins_score *sc)
{
    double lo = 0, hi = 0;
    int integral = 1;

    for (size_t k = 0; k < sc->n_items; k++) {
        const struct ins_item *it = &def->items[sc->items[k]];
        if (it->type == INS_ITEM_CHOICE) {
            lo += it->options->min_weight;
            hi += it->options->max_weight;
            for (size_t o = 0; o < it->options->n_options; o++)
                if (!ins_whole(it->options->options[o].weight))
                    integral = 0;
        } else {
            lo += it->min;
            hi += it->max;
            if (it->type == INS_ITEM_DECIMAL)
                integral = 0;
        }
    }
    switch (sc->method) {
    case INS_METHOD_SUM:
        break;
    case INS_METHOD_MEAN:
        lo /= (double)sc->n_items;
        hi /= (double)sc->n_items;
        if (sc->n_items > 1)
            integral = 0;
        break;
    case INS_METHOD_SCALED_SUM:
        lo *= sc->factor;
        hi *= sc->factor;
        if (!ins_whole(sc->factor))
            integral = 0;
        break;
    }
    sc->min = lo;
    sc->max = hi;
    sc->integral = integral;
}

static int ins_parse_score(struct ins_parse *ps, const json_t *obj, const char *path,
                           struct ins_score *sc)
{
    static const char *const keys[] = {"id",          "label",  "items",   "method", "factor",
                                       "loinc",       "source", "missing", "bands",  "mcid",
                                       "reliability", "norms",  NULL};
    const char *method, *rule = NULL;
    json_t *items, *miss, *bands, *mcid, *rel, *norms, *v;
    size_t n, i, *idx;
    double max_missing;
    int has_factor, rc;
    char p[256];

    if (!json_is_object(obj))
        return ins_bad(ps, path, "must be an object, not %s", ins_json_type_name(obj));
    sc->alpha = NAN;
    sc->retest = NAN;
    sc->factor = 1;
    if ((rc = ins_keys(ps, obj, path, keys)) != 0 ||
        (rc = ins_string(ps, obj, path, "id", 1, INS_ITEM_ID_MAX, 0, &sc->id)) != 0 ||
        (rc = ins_string(ps, obj, path, "label", 1, INS_MAX_LABEL, 0, &sc->label)) != 0 ||
        (rc = ins_loinc_member(ps, obj, path, 0, &sc->loinc)) != 0 ||
        (rc = ins_string(ps, obj, path, "method", 1, 20, 0, &method)) != 0 ||
        (rc = ins_number(ps, obj, path, "factor", 0, &sc->factor, &has_factor)) != 0 ||
        (rc = ins_source_ref(ps, obj, path, "source", &sc->source)) != 0 ||
        (rc = ins_member(ps, obj, path, "items", 1, JSON_ARRAY, &items)) != 0 ||
        (rc = ins_member(ps, obj, path, "missing", 1, JSON_OBJECT, &miss)) != 0 ||
        (rc = ins_member(ps, obj, path, "bands", 0, JSON_OBJECT, &bands)) != 0 ||
        (rc = ins_member(ps, obj, path, "mcid", 0, JSON_OBJECT, &mcid)) != 0 ||
        (rc = ins_member(ps, obj, path, "reliability", 0, JSON_OBJECT, &rel)) != 0 ||
        (rc = ins_member(ps, obj, path, "norms", 0, JSON_ARRAY, &norms)) != 0)
        return rc;
    ins_pointer(p, sizeof p, path, "id");
    if (!ins_valid_item_id(sc->id))
        return ins_bad(ps, p, "\"%s\" is not a valid score id", sc->id);
    if (ins_item_index(ps->def, sc->id, &n) == 0) {
        ins_bad(ps, p, "score id \"%s\" is also an item id", sc->id);
        err_detail(ps->e, "Scores and items share one namespace: both become FHIR linkIds.");
        return INS_EINVAL;
    }
    ins_pointer(p, sizeof p, path, "method");
    for (i = 0; i < sizeof ins_methods / sizeof ins_methods[0]; i++)
        if (strcmp(method, ins_methods[i].name) == 0)
            break;
    if (i == sizeof ins_methods / sizeof ins_methods[0]) {
        ins_bad(ps, p, "unknown scoring method \"%s\"", method);
        err_detail(ps->e, "It is \"sum\", \"mean\" or \"scaled_sum\".");
        return INS_EINVAL;
    }
    sc->method = ins_methods[i].method;
    ins_pointer(p, sizeof p, path, "factor");
    if (sc->method == INS_METHOD_SCALED_SUM && (!has_factor || sc->factor <= 0))
        return ins_bad(ps, p, "a scaled sum needs a positive factor");
    if (sc->method != INS_METHOD_SCALED_SUM && has_factor)
        return ins_bad(ps, p, "only a scaled sum has a factor");

    ins_pointer(p, sizeof p, path, "items");
    n = json_array_size(items);
    if (n == 0)
        return ins_bad(ps, p, "a score needs at least one item");
    idx = arena_calloc(ps->arena, n, sizeof *idx);
    if (idx == NULL)
        return ins_nomem(ps);
    json_array_foreach(items, i, v)
    {
        char ip[300];
        snprintf(ip, sizeof ip, "%s/%zu", p, i);
        if (!json_is_string(v))
            return ins_bad(ps, ip, "must be an item id, not %s", ins_json_type_name(v));
        if (ins_item_index(ps->def, json_string_value(v), &idx[i]) != 0) {
            ins_bad(ps, ip, "unknown item \"%s\"", json_string_value(v));
            err_detail(ps->e, "Score \"%s\" names an item the definition does not have.", sc->id);
            return INS_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (idx[j] == idx[i])
                return ins_bad(ps, ip, "item \"%s\" is listed twice", json_string_value(v));
    }
    sc->items = idx;
    sc->n_items = n;
    ins_score_range(ps->def, sc);

    ins_pointer(p, sizeof p, path, "missing");
    if ((rc = ins_keys(ps, miss, p,
                       (const char *const[]){"max_missing", "rule", "source", NULL})) != 0 ||
        (rc = ins_whole_number(ps, miss, p, "max_missing", 1, &max_missing, NULL)) != 0 ||
        (rc = ins_string(ps, miss, p, "rule", 0, 20, 0, &rule)) != 0 ||
        (rc = ins_source_ref(ps, miss, p, "source", &sc->missing_source)) != 0)
        return rc;
    if (max_missing < 0 || max_missing >= (double)n)
        return ins_bad(ps, p, "max_missing %g must be between 0 and %zu", max_missing, n - 1);
    sc->max_missing = (int)max_missing;
    sc->missing_rule = INS_MISSING_NONE;
    if (sc->max_missing > 0) {
        if (rule == NULL)
            return ins_bad(ps, p, "a score that allows missing items needs a \"rule\"");
        for (i = 0; i < sizeof ins_rules / sizeof ins_rules[0]; i++)
            if (strcmp(rule, ins_rules[i].name) == 0)
                break;
        if (i == sizeof ins_rules / sizeof ins_rules[0]) {
            ins_bad(ps, p, "unknown missing-item rule \"%s\"", rule);
            err_detail(ps->e, "It is \"prorate\" or \"mean_substitute\".");
            return INS_EINVAL;
        }
        sc->missing_rule = ins_rules[i].rule;
    } else if (rule != NULL) {
        return ins_bad(ps, p, "a rule for missing items needs max_missing above 0");
    }

    if (bands != NULL) {
        ins_pointer(p, sizeof p, path, "bands");
        if ((rc = ins_parse_bands(ps, bands, p, sc)) != 0)
            return rc;
    }
    if (mcid != NULL) {
        ins_pointer(p, sizeof p, path, "mcid");
        if ((rc = ins_keys(ps, mcid, p, (const char *const[]){"value", "source", NULL})) != 0 ||
            (rc = ins_number(ps, mcid, p, "value", 1, &sc->mcid, NULL)) != 0 ||
            (rc = ins_source_ref(ps, mcid, p, "source", &sc->mcid_source)) != 0)
            return rc;
        if (sc->mcid <= 0 || sc->mcid > sc->max - sc->min)
            return ins_bad(ps, p, "MCID %g is not within the score's range of %g points", sc->mcid,
                           sc->max - sc->min);
        sc->has_mcid = 1;
    }
    if (rel != NULL) {
        ins_pointer(p, sizeof p, path, "reliability");
        if ((rc = ins_parse_reliability(ps, rel, p, sc)) != 0)
            return rc;
    }
    if (norms != NULL) {
        ins_pointer(p, sizeof p, path, "norms");
        if ((rc = ins_parse_norms(ps, norms, p, sc)) != 0)
            return rc;
    }
    return 0;
}

static int ins_parse_scores(struct ins_parse *ps, const json_t *root)
{
    json_t *arr, *o;
    size_t n, i;
    int rc;

    if ((rc = ins_member(ps, root, "", "scores", 0, JSON_ARRAY, &arr)) != 0 || arr == NULL)
        return rc;
    n = json_array_size(arr);
    if (n > INS_MAX_SCORES)
        return ins_bad(ps, "/scores", "has %zu scores; the limit is %d", n, INS_MAX_SCORES);
    ps->scores = arena_calloc(ps->arena, n ? n : 1, sizeof *ps->scores);
    if (ps->scores == NULL)
        return ins_nomem(ps);
    ps->def->scores = ps->scores;
    json_array_foreach(arr, i, o)
    {
        char p[64];
        snprintf(p, sizeof p, "/scores/%zu", i);
        if ((rc = ins_parse_score(ps, o, p, &ps->scores[i])) != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(ps->scores[j].id, ps->scores[i].id) == 0) {
                char ip[80];
                snprintf(ip, sizeof ip, "%s/id", p);
                return ins_bad(ps, ip, "duplicate score id \"%s\"", ps->scores[i].id);
            }
        ps->def->n_scores = i + 1;
    }
    return 0;
}

/* ------------------------------------------------------ cut-offs and flags */

static int ins_parse_cutoffs(struct ins_parse *ps, const json_t *root)
{
    static const char *const keys[] = {"id", "label", "score", "op", "value", "source", NULL};
    struct ins_cutoff *cuts;
    json_t *arr, *o;
    size_t n, i;
    int rc;

    if ((rc = ins_member(ps, root, "", "cutoffs", 0, JSON_ARRAY, &arr)) != 0 || arr == NULL)
        return rc;
    n = json_array_size(arr);
    if (n > INS_MAX_CUTOFFS)
        return ins_bad(ps, "/cutoffs", "has %zu cut-offs; the limit is %d", n, INS_MAX_CUTOFFS);
    cuts = arena_calloc(ps->arena, n ? n : 1, sizeof *cuts);
    if (cuts == NULL)
        return ins_nomem(ps);
    json_array_foreach(arr, i, o)
    {
        const char *score, *op;
        const struct ins_score *sc = NULL;
        char p[64], fp[80];
        snprintf(p, sizeof p, "/cutoffs/%zu", i);
        if (!json_is_object(o))
            return ins_bad(ps, p, "must be an object, not %s", ins_json_type_name(o));
        if ((rc = ins_keys(ps, o, p, keys)) != 0 ||
            (rc = ins_string(ps, o, p, "id", 1, INS_ITEM_ID_MAX, 0, &cuts[i].id)) != 0 ||
            (rc = ins_string(ps, o, p, "label", 1, INS_MAX_LABEL, 0, &cuts[i].label)) != 0 ||
            (rc = ins_string(ps, o, p, "score", 1, INS_ITEM_ID_MAX, 0, &score)) != 0 ||
            (rc = ins_string(ps, o, p, "op", 1, 10, 0, &op)) != 0 ||
            (rc = ins_number(ps, o, p, "value", 1, &cuts[i].value, NULL)) != 0 ||
            (rc = ins_source_ref(ps, o, p, "source", &cuts[i].source)) != 0)
            return rc;
        snprintf(fp, sizeof fp, "%s/id", p);
        if (!ins_valid_item_id(cuts[i].id))
            return ins_bad(ps, fp, "\"%s\" is not a valid cut-off id", cuts[i].id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cuts[j].id, cuts[i].id) == 0)
                return ins_bad(ps, fp, "duplicate cut-off id \"%s\"", cuts[i].id);
        snprintf(fp, sizeof fp, "%s/score", p);
        for (size_t j = 0; j < ps->def->n_scores; j++)
            if (strcmp(ps->scores[j].id, score) == 0) {
                sc = &ps->scores[j];
                cuts[i].score = j;
            }
        if (sc == NULL)
            return ins_bad(ps, fp, "unknown score \"%s\"", score);
        snprintf(fp, sizeof fp, "%s/op", p);
        if (ins_op_parse(op, &cuts[i].op) != 0 || cuts[i].op == INS_OP_MISSING) {
            ins_bad(ps, fp, "unknown operator \"%s\"", op);
            err_detail(ps->e, "It is one of >=, >, <=, <, ==.");
            return INS_EINVAL;
        }
        snprintf(fp, sizeof fp, "%s/value", p);
        if (cuts[i].value < sc->min || cuts[i].value > sc->max)
            return ins_bad(ps, fp, "cut-off %g is outside the possible range %g to %g of \"%s\"",
                           cuts[i].value, sc->min, sc->max, sc->id);
    }
    ps->def->cutoffs = cuts;
    ps->def->n_cutoffs = n;
    return 0;
}

static int ins_parse_flags(struct ins_parse *ps, const json_t *root)
{
    static const char *const keys[] = {"id", "message", "item", "op", "value", "source", NULL};
    struct ins_flag *flags;
    json_t *arr, *o;
    size_t n, i;
    int rc;

    if ((rc = ins_member(ps, root, "", "safety_flags", 0, JSON_ARRAY, &arr)) != 0 || arr == NULL)
        return rc;
    n = json_array_size(arr);
    if (n > INS_MAX_FLAGS)
        return ins_bad(ps, "/safety_flags", "has %zu flags; the limit is %d", n, INS_MAX_FLAGS);
    flags = arena_calloc(ps->arena, n ? n : 1, sizeof *flags);
    if (flags == NULL)
        return ins_nomem(ps);
    json_array_foreach(arr, i, o)
    {
        const char *item, *op;
        const struct ins_item *it;
        int has_value;
        char p[64], fp[80];
        snprintf(p, sizeof p, "/safety_flags/%zu", i);
        if (!json_is_object(o))
            return ins_bad(ps, p, "must be an object, not %s", ins_json_type_name(o));
        if ((rc = ins_keys(ps, o, p, keys)) != 0 ||
            (rc = ins_string(ps, o, p, "id", 1, INS_ITEM_ID_MAX, 0, &flags[i].id)) != 0 ||
            (rc = ins_string(ps, o, p, "message", 1, INS_MAX_TEXT, 0, &flags[i].message)) != 0 ||
            (rc = ins_string(ps, o, p, "item", 1, INS_ITEM_ID_MAX, 0, &item)) != 0 ||
            (rc = ins_string(ps, o, p, "op", 1, 10, 0, &op)) != 0 ||
            (rc = ins_number(ps, o, p, "value", 0, &flags[i].value, &has_value)) != 0 ||
            (rc = ins_source_ref(ps, o, p, "source", &flags[i].source)) != 0)
            return rc;
        snprintf(fp, sizeof fp, "%s/id", p);
        if (!ins_valid_item_id(flags[i].id))
            return ins_bad(ps, fp, "\"%s\" is not a valid flag id", flags[i].id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(flags[j].id, flags[i].id) == 0)
                return ins_bad(ps, fp, "duplicate safety flag id \"%s\"", flags[i].id);
        snprintf(fp, sizeof fp, "%s/item", p);
        if (ins_item_index(ps->def, item, &flags[i].item) != 0)
            return ins_bad(ps, fp, "unknown item \"%s\"", item);
        it = &ps->items[flags[i].item];
        snprintf(fp, sizeof fp, "%s/op", p);
        if (ins_op_parse(op, &flags[i].op) != 0) {
            ins_bad(ps, fp, "unknown operator \"%s\"", op);
            err_detail(ps->e, "It is one of >=, >, <=, <, ==, missing.");
            return INS_EINVAL;
        }
        snprintf(fp, sizeof fp, "%s/value", p);
        if (flags[i].op == INS_OP_MISSING) {
            if (has_value)
                return ins_bad(ps, fp, "the operator \"missing\" takes no value");
        } else if (!has_value) {
            return ins_bad(ps, fp, "missing required key \"value\"");
        } else if (flags[i].value < it->min || flags[i].value > it->max) {
            return ins_bad(ps, fp, "%g is outside the values %g to %g of item \"%s\"",
                           flags[i].value, it->min, it->max, it->id);
        }
    }
    ps->def->flags = flags;
    ps->def->n_flags = n;
    return 0;
}

/* --------------------------------------------------------------- the whole */

static int ins_parse_all(struct ins_parse *ps, const json_t *root)
{
    static const char *const keys[] = {"attune_instrument",
                                       "id",
                                       "version",
                                       "title",
                                       "short_title",
                                       "language",
                                       "citation",
                                       "licence",
                                       "instructions",
                                       "recall_period",
                                       "item_texts",
                                       "loinc",
                                       "sources",
                                       "option_sets",
                                       "items",
                                       "scores",
                                       "cutoffs",
                                       "safety_flags",
                                       NULL};
    int rc;

    if (!json_is_object(root))
        return ins_bad(ps, "", "a definition is a JSON object, not %s", ins_json_type_name(root));
    if ((rc = ins_keys(ps, root, "", keys)) != 0 || (rc = ins_parse_sources(ps, root)) != 0 ||
        (rc = ins_parse_header(ps, root)) != 0 || (rc = ins_parse_option_sets(ps, root)) != 0 ||
        (rc = ins_parse_items(ps, root)) != 0 || (rc = ins_parse_scores(ps, root)) != 0 ||
        (rc = ins_parse_cutoffs(ps, root)) != 0 || (rc = ins_parse_flags(ps, root)) != 0)
        return rc;
    for (size_t i = 0; i < ps->def->n_option_sets; i++)
        if (!ps->set_used[i]) {
            char p[64];
            snprintf(p, sizeof p, "/option_sets/%zu", i);
            return ins_bad(ps, p, "option set \"%s\" is not used by any item", ps->sets[i].id);
        }
    for (size_t i = 0; i < ps->def->n_sources; i++)
        if (!ps->source_used[i]) {
            char p[256];
            ins_pointer(p, sizeof p, "/sources", ps->sources[i].key);
            return ins_bad(ps, p, "source \"%s\" is not cited by any fact", ps->sources[i].key);
        }
    if (ps->loinc_codes > 0 && ps->def->loinc_source == NULL) {
        ins_bad(ps, "/loinc", "the file uses LOINC codes but does not say where they come from");
        err_hint(ps->e, "Add \"loinc\": {\"source\": ...} naming the LOINC release or panel.");
        return INS_EINVAL;
    }
    if (ps->loinc_codes == 0 && ps->def->loinc_source != NULL)
        return ins_bad(ps, "/loinc", "a LOINC source, but no LOINC code in the file");
    return 0;
}

/*
 * Builds a definition from `root`. `text`/`len` are the bytes the checksum
 * covers (copied); NULL means the canonical JSON.
 */
static int ins_definition_build(const json_t *root, const char *name, const char *text, size_t len,
                                struct ins_definition **out, struct err *e)
{
    struct ins_definition *def = NULL;
    struct ins_parse ps;
    char *canonical = NULL;
    int rc = INS_ENOMEM;

    memset(&ps, 0, sizeof ps);
    ps.e = e;
    ps.arena = arena_new();
    if (ps.arena == NULL)
        return err_set(e, INS_ENOMEM, "out of memory");
    def = arena_calloc(ps.arena, 1, sizeof *def);
    if (def == NULL || (def->priv = arena_calloc(ps.arena, 1, sizeof *def->priv)) == NULL ||
        (def->name = arena_strdup(ps.arena, name)) == NULL) {
        err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    def->priv->arena = ps.arena;
    ps.def = def;
    if ((rc = ins_parse_all(&ps, root)) != 0) {
        err_prefix(e, "\"%s\"", name);
        goto out;
    }
    if (text == NULL) {
        canonical = ins_canonical_text(root);
        if (canonical == NULL) {
            rc = err_set(e, INS_ENOMEM, "out of memory");
            goto out;
        }
        text = canonical;
        len = strlen(canonical);
    }
    def->text = arena_strndup(ps.arena, text, len);
    if (def->text == NULL) {
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    def->text_len = len;
    ins_sha256_hex(text, len, def->checksum);
    *out = def;
    def = NULL;
    rc = 0;
out:
    free(canonical);
    if (def != NULL || rc != 0)
        arena_free(ps.arena);
    return rc;
}

int ins_definition_from_json(const json_t *root, const char *name, struct ins_definition **out,
                             struct err *e)
{
    return ins_definition_build(root, name ? name : "(definition)", NULL, 0, out, e);
}

int ins_definition_load(const char *path, struct ins_definition **out, struct err *e)
{
    const char *base = strrchr(path, '/');
    json_error_t jerr;
    json_t *root = NULL;
    char *buf = NULL;
    size_t len;
    int rc;

    base = base ? base + 1 : path;
    if ((rc = ins_read_file(path, INS_MAX_FILE_BYTES, &buf, &len, e)) != 0)
        return rc;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rc = err_set(e, INS_EINVAL, "\"%s\": invalid JSON at line %d, column %d", base, jerr.line,
                     jerr.column);
        err_detail(e, "The parser says: %s.", jerr.text);
        goto out;
    }
    rc = ins_definition_build(root, base, buf, len, out, e);
out:
    json_decref(root);
    free(buf);
    return rc;
}

void ins_definition_free(struct ins_definition *def)
{
    if (def == NULL)
        return;
    arena_free(def->priv->arena);
}

/* ------------------------------------------------------------------ lookups */

const struct ins_item *ins_definition_item(const struct ins_definition *def, const char *item_id)
{
    size_t i;
    return ins_item_index(def, item_id, &i) == 0 ? &def->items[i] : NULL;
}

const struct ins_score *ins_definition_score(const struct ins_definition *def, const char *score_id)
{
    for (size_t i = 0; i < def->n_scores; i++)
        if (strcmp(def->scores[i].id, score_id) == 0)
            return &def->scores[i];
    return NULL;
}

const struct ins_score *ins_definition_total(const struct ins_definition *def)
{
    return ins_definition_score(def, "total");
}

const char *ins_definition_source(const struct ins_definition *def, const char *key)
{
    for (size_t i = 0; i < def->n_sources; i++)
        if (strcmp(def->sources[i].key, key) == 0)
            return def->sources[i].text;
    return NULL;
}

/* -------------------------------------------------------- canonical JSON out */

/* Sets key to a new value when value is not NULL; reports failure. */
static int ins_put(json_t *obj, const char *key, json_t *value)
{
    if (value == NULL)
        return -1;
    return json_object_set_new(obj, key, value);
}

static int ins_put_str(json_t *obj, const char *key, const char *s)
{
    return s == NULL ? 0 : ins_put(obj, key, json_string(s));
}

static json_t *ins_score_to_json(const struct ins_definition *def, const struct ins_score *sc)
{
    json_t *o = json_object(), *items = json_array(), *miss = json_object();
    int bad = o == NULL || items == NULL || miss == NULL;

    for (size_t k = 0; !bad && k < sc->n_items; k++)
        bad = json_array_append_new(items, json_string(def->items[sc->items[k]].id)) != 0;
    bad = bad || ins_put_str(o, "id", sc->id) || ins_put_str(o, "label", sc->label) ||
          ins_put_str(o, "loinc", sc->loinc) ||
          ins_put_str(o, "method", ins_method_name(sc->method)) ||
          (sc->method == INS_METHOD_SCALED_SUM &&
           ins_put(o, "factor", ins_json_number(sc->factor))) ||
          ins_put_str(o, "source", sc->source) || ins_put(o, "items", json_incref(items)) ||
          ins_put(miss, "max_missing", json_integer(sc->max_missing)) ||
          ins_put_str(miss, "rule", ins_rule_name(sc->missing_rule)) ||
          ins_put_str(miss, "source", sc->missing_source) ||
          ins_put(o, "missing", json_incref(miss));
    if (!bad && sc->n_bands > 0) {
        json_t *ranges = json_array();
        bad = ranges == NULL;
        for (size_t b = 0; !bad && b < sc->n_bands; b++)
            bad = json_array_append_new(ranges, json_pack("{s:o, s:o, s:s}", "min",
                                                          ins_json_number(sc->bands[b].min), "max",
                                                          ins_json_number(sc->bands[b].max),
                                                          "label", sc->bands[b].label)) != 0;
        bad = bad || ins_put(o, "bands",
                             json_pack("{s:O, s:s}", "ranges", ranges, "source", sc->bands_source));
        json_decref(ranges);
    }
    if (!bad && sc->has_mcid)
        bad = ins_put(
            o, "mcid",
            json_pack("{s:o, s:s}", "value", ins_json_number(sc->mcid), "source", sc->mcid_source));
    if (!bad && (!isnan(sc->alpha) || !isnan(sc->retest))) {
        json_t *rel = json_object();
        bad = rel == NULL;
        if (!bad && !isnan(sc->alpha))
            bad = ins_put(rel, "alpha",
                          json_pack("{s:o, s:s}", "value", ins_json_number(sc->alpha), "source",
                                    sc->alpha_source));
        if (!bad && !isnan(sc->retest)) {
            json_t *r = json_pack("{s:o, s:s, s:s}", "value", ins_json_number(sc->retest),
                                  "statistic", sc->retest_statistic, "source", sc->retest_source);
            bad = r == NULL || ins_put_str(r, "interval", sc->retest_interval) ||
                  ins_put(rel, "test_retest", json_incref(r));
            json_decref(r);
        }
        bad = bad || ins_put(o, "reliability", json_incref(rel));
        json_decref(rel);
    }
    if (!bad && sc->n_norms > 0) {
        json_t *norms = json_array();
        bad = norms == NULL;
        for (size_t k = 0; !bad && k < sc->n_norms; k++) {
            const struct ins_norm *nm = &sc->norms[k];
            json_t *n = json_pack("{s:s, s:o, s:o, s:s}", "population", nm->population, "mean",
                                  ins_json_number(nm->mean), "sd", ins_json_number(nm->sd),
                                  "source", nm->source);
            bad = n == NULL || (nm->n > 0 && ins_put(n, "n", json_integer(nm->n))) ||
                  json_array_append(norms, n) != 0;
            json_decref(n);
        }
        bad = bad || ins_put(o, "norms", json_incref(norms));
        json_decref(norms);
    }
    json_decref(items);
    json_decref(miss);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ins_definition_to_json(const struct ins_definition *def)
{
    json_t *root = json_object(), *arr = NULL, *o = NULL;
    int bad = root == NULL;

    bad = bad || ins_put(root, "attune_instrument", json_integer(INS_FORMAT_VERSION)) ||
          ins_put_str(root, "id", def->id) || ins_put_str(root, "version", def->version) ||
          ins_put_str(root, "title", def->title) ||
          ins_put_str(root, "short_title", def->short_title) ||
          ins_put_str(root, "language", def->language) ||
          ins_put_str(root, "citation", def->citation) ||
          ins_put(root, "licence",
                  json_pack("{s:s, s:s}", "notice", def->licence, "source", def->licence_source)) ||
          ins_put_str(root, "instructions", def->instructions) ||
          ins_put_str(root, "recall_period", def->recall_period) ||
          ins_put_str(root, "item_texts", ins_texts_name(def->texts));
    if (!bad && def->loinc_source != NULL) {
        o = json_pack("{s:s}", "source", def->loinc_source);
        bad = o == NULL || ins_put_str(o, "panel", def->loinc) ||
              ins_put(root, "loinc", json_incref(o));
        json_decref(o);
    }
    if (!bad) {
        o = json_object();
        bad = o == NULL;
        for (size_t i = 0; !bad && i < def->n_sources; i++)
            bad = ins_put_str(o, def->sources[i].key, def->sources[i].text);
        bad = bad || ins_put(root, "sources", json_incref(o));
        json_decref(o);
    }
    if (!bad && def->n_option_sets > 0) {
        arr = json_array();
        bad = arr == NULL;
        for (size_t i = 0; !bad && i < def->n_option_sets; i++) {
            const struct ins_option_set *set = &def->option_sets[i];
            json_t *opts = json_array();
            bad = opts == NULL;
            for (size_t k = 0; !bad && k < set->n_options; k++) {
                const struct ins_option *op = &set->options[k];
                json_t *x = json_pack("{s:o, s:o, s:s}", "value", ins_json_number(op->value),
                                      "weight", ins_json_number(op->weight), "label", op->label);
                bad = x == NULL || ins_put_str(x, "loinc", op->loinc) ||
                      json_array_append(opts, x) != 0;
                json_decref(x);
            }
            bad = bad ||
                  json_array_append_new(arr, json_pack("{s:s, s:O, s:s}", "id", set->id, "options",
                                                       opts, "source", set->source)) != 0;
            json_decref(opts);
        }
        bad = bad || ins_put(root, "option_sets", json_incref(arr));
        json_decref(arr);
    }
    if (!bad) {
        arr = json_array();
        bad = arr == NULL;
        for (size_t i = 0; !bad && i < def->n_items; i++) {
            const struct ins_item *it = &def->items[i];
            json_t *x = json_pack("{s:s, s:s, s:b, s:s, s:s}", "id", it->id, "type",
                                  ins_item_type_name(it->type), "required", it->required, "keyed",
                                  it->keyed == INS_KEYED_REVERSE ? "reverse" : "forward", "source",
                                  it->source);
            bad = x == NULL || ins_put_str(x, "text", it->text) ||
                  ins_put_str(x, "section", it->section) || ins_put_str(x, "note", it->note) ||
                  ins_put_str(x, "loinc", it->loinc) ||
                  (it->type == INS_ITEM_CHOICE ? ins_put_str(x, "option_set", it->options->id)
                                               : (ins_put(x, "min", ins_json_number(it->min)) ||
                                                  ins_put(x, "max", ins_json_number(it->max)))) ||
                  json_array_append(arr, x) != 0;
            json_decref(x);
        }
        bad = bad || ins_put(root, "items", json_incref(arr));
        json_decref(arr);
    }
    if (!bad && def->n_scores > 0) {
        arr = json_array();
        bad = arr == NULL;
        for (size_t i = 0; !bad && i < def->n_scores; i++)
            bad = json_array_append_new(arr, ins_score_to_json(def, &def->scores[i])) != 0;
        bad = bad || ins_put(root, "scores", json_incref(arr));
        json_decref(arr);
    }
    if (!bad && def->n_cutoffs > 0) {
        arr = json_array();
        bad = arr == NULL;
        for (size_t i = 0; !bad && i < def->n_cutoffs; i++) {
            const struct ins_cutoff *c = &def->cutoffs[i];
            bad =
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "id", c->id, "label", c->label,
                                   "score", def->scores[c->score].id, "op", ins_op_name(c->op),
                                   "value", ins_json_number(c->value), "source", c->source)) != 0;
        }
        bad = bad || ins_put(root, "cutoffs", json_incref(arr));
        json_decref(arr);
    }
    if (!bad && def->n_flags > 0) {
        arr = json_array();
        bad = arr == NULL;
        for (size_t i = 0; !bad && i < def->n_flags; i++) {
            const struct ins_flag *f = &def->flags[i];
            json_t *x =
                json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", f->id, "message", f->message, "item",
                          def->items[f->item].id, "op", ins_op_name(f->op), "source", f->source);
            bad = x == NULL ||
                  (f->op != INS_OP_MISSING && ins_put(x, "value", ins_json_number(f->value))) ||
                  json_array_append(arr, x) != 0;
            json_decref(x);
        }
        bad = bad || ins_put(root, "safety_flags", json_incref(arr));
        json_decref(arr);
    }
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}
