/*
 * redcap.c — REDCap data dictionaries in and out.
 *
 * A data dictionary is the 18-column CSV REDCap writes ("Variable / Field
 * Name", "Form Name", ...), one row per field, UTF-8 with a byte-order mark,
 * fields quoted when they hold spaces or punctuation, CRLF or LF. libcsv reads
 * it; each form becomes one definition, built as JSON and then checked by the
 * same loader as a definition file, so an import can never produce something
 * a file could not be.
 *
 * REDCap has no place for LOINC codes, weights, scores, bands or sources, so
 * on export Attune puts them, as JSON, in the Field Annotation column (where
 * REDCap keeps free text and action tags): @ATTUNE-DEFINITION=<the definition
 * without its items> on the first item, @ATTUNE-ITEM=<what the row cannot say>
 * on every item. An import that finds them restores the definition exactly;
 * one that does not builds a plain definition from what REDCap says and lists
 * everything else as not translated.
 */
#include "ins_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#define INS_REDCAP_COLUMNS   18
#define INS_REDCAP_MAX_FIELD (64 * 1024)
#define INS_REDCAP_TAG_DEF   "@ATTUNE-DEFINITION="
#define INS_REDCAP_TAG_ITEM  "@ATTUNE-ITEM="

/* The columns, in order, as REDCap names them in row 1. */
enum {
    RC_VAR = 0,
    RC_FORM,
    RC_SECTION,
    RC_TYPE,
    RC_LABEL,
    RC_CHOICES,
    RC_NOTE,
    RC_VALIDATION,
    RC_MIN,
    RC_MAX,
    RC_IDENTIFIER,
    RC_BRANCHING,
    RC_REQUIRED,
    RC_ALIGNMENT,
    RC_QUESTION_NUMBER,
    RC_MATRIX,
    RC_MATRIX_RANKING,
    RC_ANNOTATION,
};

static const char *const ins_redcap_header[INS_REDCAP_COLUMNS] = {
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
};

/* --------------------------------------------------------------- CSV rows */

struct ins_redcap_row {
    char *f[INS_REDCAP_COLUMNS];
    size_t line; /* record number, header = 1 */
};

struct ins_redcap_csv {
    struct ins_redcap_row *rows;
    size_t n, cap;
    char *cur[INS_REDCAP_COLUMNS];
    size_t nf;
    size_t record; /* records seen so far */
    int error;     /* set by the callbacks: 1 too many columns, 2 too long, 3 memory, 4 rows */
};

static void ins_redcap_field(void *s, size_t len, void *data)
{
    struct ins_redcap_csv *c = data;

    if (c->error)
        return;
    if (c->nf >= INS_REDCAP_COLUMNS) {
        c->error = 1;
        return;
    }
    if (len > INS_REDCAP_MAX_FIELD) {
        c->error = 2;
        return;
    }
    c->cur[c->nf] = strndup(s ? s : "", s ? len : 0);
    if (c->cur[c->nf] == NULL) {
        c->error = 3;
        return;
    }
    c->nf++;
}

static void ins_redcap_record(int term, void *data)
{
    struct ins_redcap_csv *c = data;

    (void)term;
    c->record++;
    if (c->error == 0 && c->nf != INS_REDCAP_COLUMNS)
        c->error = 1;
    if (c->error == 0 && c->n >= INS_MAX_REDCAP_ROWS + 1)
        c->error = 4;
    if (c->error == 0 && c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        struct ins_redcap_row *grown = realloc(c->rows, ncap * sizeof *grown);
        if (grown == NULL)
            c->error = 3;
        else {
            c->rows = grown;
            c->cap = ncap;
        }
    }
    if (c->error != 0) {
        for (size_t i = 0; i < c->nf; i++)
            free(c->cur[i]);
        c->nf = 0;
        return;
    }
    memcpy(c->rows[c->n].f, c->cur, sizeof c->cur);
    c->rows[c->n].line = c->record;
    c->n++;
    c->nf = 0;
}

static void ins_redcap_csv_free(struct ins_redcap_csv *c)
{
    for (size_t r = 0; r < c->n; r++)
        for (size_t i = 0; i < INS_REDCAP_COLUMNS; i++)
            free(c->rows[r].f[i]);
    for (size_t i = 0; i < c->nf; i++)
        free(c->cur[i]);
    free(c->rows);
}

static int ins_redcap_parse(const char *csv, size_t len, const char *name, struct ins_redcap_csv *c,
                            struct err *e)
{
    struct csv_parser p;
    int rc = INS_EINVAL;

    memset(c, 0, sizeof *c);
    if (len > INS_MAX_REDCAP_BYTES) {
        err_set(e, INS_EINVAL, "\"%s\": data dictionary is too large", name);
        err_detail(e, "It has %zu bytes; the limit is %d.", len, INS_MAX_REDCAP_BYTES);
        return INS_EINVAL;
    }
    /* REDCap writes a UTF-8 byte-order mark for Excel's sake. */
    if (len >= 3 && memcmp(csv, "\xEF\xBB\xBF", 3) == 0) {
        csv += 3;
        len -= 3;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return err_set(e, INS_ENOMEM, "out of memory");
    if (csv_parse(&p, csv, len, ins_redcap_field, ins_redcap_record, c) != len ||
        csv_fini(&p, ins_redcap_field, ins_redcap_record, c) != 0) {
        err_set(e, INS_EINVAL, "\"%s\": row %zu: malformed CSV", name, c->record + 1);
        err_detail(e, "libcsv says: %s.", csv_strerror(csv_error(&p)));
        goto out;
    }
    switch (c->error) {
    case 0:
        break;
    case 1:
        err_set(e, INS_EINVAL, "\"%s\": row %zu: not %d columns", name, c->record,
                INS_REDCAP_COLUMNS);
        err_detail(e, "A REDCap data dictionary has exactly %d columns, from \"%s\" to \"%s\".",
                   INS_REDCAP_COLUMNS, ins_redcap_header[0],
                   ins_redcap_header[INS_REDCAP_COLUMNS - 1]);
        goto out;
    case 2:
        err_set(e, INS_EINVAL, "\"%s\": row %zu: a field is longer than %d bytes", name,
                c->record + 1, INS_REDCAP_MAX_FIELD);
        goto out;
    case 3:
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    default:
        err_set(e, INS_EINVAL, "\"%s\": more than %d fields", name, INS_MAX_REDCAP_ROWS);
        goto out;
    }
    if (c->n == 0) {
        err_set(e, INS_EINVAL, "\"%s\": empty data dictionary", name);
        goto out;
    }
    for (size_t i = 0; i < INS_REDCAP_COLUMNS; i++)
        if (strcmp(c->rows[0].f[i], ins_redcap_header[i]) != 0) {
            err_set(e, INS_EINVAL, "\"%s\": row 1: column %zu is \"%.80s\", not \"%s\"", name,
                    i + 1, c->rows[0].f[i], ins_redcap_header[i]);
            err_detail(e, "This is not a REDCap data dictionary, or not the 18-column kind.");
            goto out;
        }
    rc = 0;
out:
    csv_free(&p);
    return rc;
}

/* ---------------------------------------------------------------- import */

struct ins_redcap_ctx {
    const char *name;
    struct ins_redcap_import *imp;
    size_t cap_notes;
    struct err *e;
};

__attribute__((format(printf, 5, 6))) static int ins_redcap_note(struct ins_redcap_ctx *cx,
                                                                 size_t line, const char *form,
                                                                 const char *field, const char *fmt,
                                                                 ...)
{
    struct ins_redcap_import *imp = cx->imp;
    struct ins_redcap_note *n;
    va_list ap;

    if (imp->n_notes == cx->cap_notes) {
        size_t ncap = cx->cap_notes ? cx->cap_notes * 2 : 16;
        struct ins_redcap_note *grown = realloc(imp->notes, ncap * sizeof *grown);
        if (grown == NULL)
            return err_set(cx->e, INS_ENOMEM, "out of memory");
        imp->notes = grown;
        cx->cap_notes = ncap;
    }
    n = &imp->notes[imp->n_notes++];
    n->line = line;
    snprintf(n->form, sizeof n->form, "%s", form ? form : "");
    snprintf(n->field, sizeof n->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(n->message, sizeof n->message, fmt, ap);
    va_end(ap);
    return 0;
}

/* A whole number from text, allowing surrounding spaces; -1 when not one. */
static int ins_redcap_int(const char *s, double *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    while (*end == ' ')
        end++;
    if (errno != 0 || end == s || *end != '\0' || v < -1000000 || v > 1000000)
        return -1;
    *out = (double)v;
    return 0;
}

static int ins_redcap_number(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Trims spaces in place. */
static char *ins_trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

/*
 * REDCap choices "0, Not at all | 1, Several days" as a JSON array of
 * {"value", "label"}; NULL with *why set when they are not whole-number codes.
 */
static json_t *ins_redcap_choices(const char *text, const char **why)
{
    char *copy = strdup(text), *part, *next;
    json_t *arr = json_array();

    *why = NULL;
    if (copy == NULL || arr == NULL) {
        *why = "out of memory";
        goto fail;
    }
    for (part = copy; part != NULL; part = next) {
        char *comma, *label;
        double v;
        next = strchr(part, '|');
        if (next != NULL)
            *next++ = '\0';
        comma = strchr(part, ',');
        if (comma == NULL) {
            *why = "a choice has no \"code, label\" form";
            goto fail;
        }
        *comma = '\0';
        label = ins_trim(comma + 1);
        if (ins_redcap_int(ins_trim(part), &v) != 0) {
            *why = "choice codes are not whole numbers";
            goto fail;
        }
        if (*label == '\0') {
            *why = "a choice has no label";
            goto fail;
        }
        if (json_array_append_new(
                arr, json_pack("{s:o, s:s}", "value", ins_json_number(v), "label", label)) != 0) {
            *why = "out of memory";
            goto fail;
        }
    }
    if (json_array_size(arr) < 2) {
        *why = "fewer than two choices";
        goto fail;
    }
    free(copy);
    return arr;
fail:
    free(copy);
    json_decref(arr);
    return NULL;
}

/* Whether the values of a choices array are consecutive without repeats. */
static int ins_redcap_consecutive(const json_t *choices)
{
    size_t n = json_array_size(choices);
    double lo = INFINITY, hi = -INFINITY;

    for (size_t i = 0; i < n; i++) {
        double v = json_number_value(json_object_get(json_array_get(choices, i), "value"));
        lo = fmin(lo, v);
        hi = fmax(hi, v);
        for (size_t j = 0; j < i; j++)
            if (json_number_value(json_object_get(json_array_get(choices, j), "value")) == v)
                return 0;
    }
    return hi - lo == (double)(n - 1);
}

/* Strips HTML tags and decodes the common entities, in place: REDCap labels
 * may be rich text; Attune's are plain. Returns whether anything changed. */
static int ins_redcap_plain(char *s)
{
    static const struct {
        const char *entity;
        char c;
    } entities[] = {{"&amp;", '&'},  {"&lt;", '<'},   {"&gt;", '>'},
                    {"&quot;", '"'}, {"&#39;", '\''}, {"&nbsp;", ' '}};
    char *r = s, *w = s;
    int changed = 0;

    while (*r) {
        if (*r == '<' && strchr(r, '>') != NULL) {
            /* A block tag separates words. */
            if (w > s && w[-1] != ' ' &&
                (strncmp(r, "<br", 3) == 0 || strncmp(r, "<p", 2) == 0 ||
                 strncmp(r, "</p", 3) == 0 || strncmp(r, "<div", 4) == 0))
                *w++ = ' ';
            r = strchr(r, '>') + 1;
            changed = 1;
            continue;
        }
        if (*r == '&') {
            size_t k;
            for (k = 0; k < sizeof entities / sizeof entities[0]; k++)
                if (strncmp(r, entities[k].entity, strlen(entities[k].entity)) == 0)
                    break;
            if (k < sizeof entities / sizeof entities[0]) {
                *w++ = entities[k].c;
                r += strlen(entities[k].entity);
                changed = 1;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
    /* Collapse the whitespace the markup leaves. */
    r = w = s;
    while (*r) {
        if ((*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t') &&
            (w == s || w[-1] == ' ' || r[1] == '\0')) {
            r++;
            continue;
        }
        *w++ = (*r == '\n' || *r == '\r' || *r == '\t') && changed ? ' ' : *r;
        r++;
    }
    *w = '\0';
    while (w > s && w[-1] == ' ')
        *--w = '\0';
    return changed;
}

/*
 * The JSON that follows `tag` in an annotation (a new reference), NULL when the
 * tag is absent; *bad when it is there but not JSON.
 */
static json_t *ins_redcap_tag(const char *annotation, const char *tag, int *bad)
{
    const char *at = strstr(annotation, tag);
    json_error_t jerr;
    json_t *v;

    *bad = 0;
    if (at == NULL)
        return NULL;
    at += strlen(tag);
    v = json_loadb(at, strlen(at), JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL || !json_is_object(v)) {
        json_decref(v);
        *bad = 1;
        return NULL;
    }
    return v;
}

/* Action tags other than Attune's own, for the notes. */
static void ins_redcap_other_tags(const char *annotation, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (const char *a = strchr(annotation, '@'); a != NULL; a = strchr(a + 1, '@')) {
        size_t len = strspn(a + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_0123456789");
        if (len == 0 || (a > annotation && a[-1] != ' ' && a[-1] != '\n' && a[-1] != '\t'))
            continue;
        if (strncmp(a, INS_REDCAP_TAG_DEF, strlen(INS_REDCAP_TAG_DEF)) == 0 ||
            strncmp(a, INS_REDCAP_TAG_ITEM, strlen(INS_REDCAP_TAG_ITEM)) == 0)
            continue;
        if (n + len + 3 < size)
            n += (size_t)snprintf(buf + n, size - n, "%s%.*s", n ? ", " : "", (int)len + 1, a);
    }
}

/* One form being imported. */
struct ins_redcap_form {
    const char *form;
    json_t *meta;             /* the @ATTUNE-DEFINITION object, or NULL */
    json_t *items;            /* item objects */
    json_t *sets;             /* option sets made from plain choices (no metadata) */
    const char *instructions; /* the first field's section header, without metadata */
    char last_matrix[101];
};

/* The option set for plain choices: an equal earlier one, or a new one. */
static const char *ins_redcap_set_for(struct ins_redcap_form *fm, const char *var, json_t *choices)
{
    size_t i;
    json_t *s;
    char id[INS_ITEM_ID_MAX + 1];

    json_array_foreach(fm->sets, i, s)
    {
        json_t *opts = json_object_get(s, "options");
        size_t k, n = json_array_size(opts);
        if (n != json_array_size(choices))
            continue;
        for (k = 0; k < n; k++) {
            json_t *a = json_array_get(opts, k), *b = json_array_get(choices, k);
            if (!json_equal(json_object_get(a, "value"), json_object_get(b, "value")) ||
                !json_equal(json_object_get(a, "label"), json_object_get(b, "label")))
                break;
        }
        if (k == n)
            return json_string_value(json_object_get(s, "id"));
    }
    snprintf(id, sizeof id, "%.55s_choices", var);
    s = json_pack("{s:s, s:O, s:s}", "id", id, "options", choices, "source", "redcap");
    if (s == NULL || json_array_append_new(fm->sets, s) != 0)
        return NULL;
    return json_string_value(json_object_get(s, "id"));
}

/* Checks that a field's choices are those of the metadata's option set. */
static int ins_redcap_same_choices(const json_t *meta, const char *set_id, const json_t *choices)
{
    size_t i, n = json_array_size(choices);
    json_t *s;

    json_array_foreach(json_object_get(meta, "option_sets"), i, s)
    {
        json_t *opts;
        if (!json_is_string(json_object_get(s, "id")) ||
            strcmp(json_string_value(json_object_get(s, "id")), set_id) != 0)
            continue;
        opts = json_object_get(s, "options");
        if (json_array_size(opts) != n)
            return 0;
        for (size_t k = 0; k < n; k++) {
            json_t *a = json_array_get(opts, k), *b = json_array_get(choices, k);
            if (!json_is_number(json_object_get(a, "value")) ||
                json_number_value(json_object_get(a, "value")) !=
                    json_number_value(json_object_get(b, "value")) ||
                !json_equal(json_object_get(a, "label"), json_object_get(b, "label")))
                return 0;
        }
        return 1;
    }
    return 0;
}

static int ins_redcap_texts_included(const json_t *meta)
{
    const char *t = json_string_value(json_object_get(meta, "item_texts"));
    return t != NULL && strcmp(t, "included") == 0;
}

/* Translates one row into an item of `fm`, or a note. */
static int ins_redcap_row(struct ins_redcap_ctx *cx, struct ins_redcap_form *fm,
                          struct ins_redcap_row *row, int first)
{
    char **f = row->f;
    const char *type = f[RC_TYPE], *var = f[RC_VAR], *form = fm->form;
    json_t *item = NULL, *choices = NULL, *attune = NULL;
    char tags[200];
    int bad_tag, rc = 0;
    size_t line = row->line;

    attune = ins_redcap_tag(f[RC_ANNOTATION], INS_REDCAP_TAG_ITEM, &bad_tag);
    if (bad_tag) {
        err_set(cx->e, INS_EINVAL, "\"%s\": row %zu: field \"%s\": %s is not a JSON object",
                cx->name, line, var, INS_REDCAP_TAG_ITEM);
        return INS_EINVAL;
    }
    if (fm->meta != NULL && attune == NULL) {
        err_set(cx->e, INS_EINVAL, "\"%s\": row %zu: field \"%s\" has no %s annotation", cx->name,
                line, var, INS_REDCAP_TAG_ITEM);
        err_detail(cx->e,
                   "Form \"%s\" was exported by Attune, but this field was added or its "
                   "annotation edited since.",
                   form);
        return INS_EINVAL;
    }
    if (!ins_valid_item_id(var)) {
        rc = ins_redcap_note(cx, line, form, var,
                             "variable name is not a valid item id; field "
                             "not translated");
        goto out;
    }
    item = json_pack("{s:s, s:b, s:s, s:s}", "id", var, "required",
                     strcmp(f[RC_REQUIRED], "y") == 0, "keyed", "forward", "source", "redcap");
    if (item == NULL) {
        rc = err_set(cx->e, INS_ENOMEM, "out of memory");
        goto out;
    }
    if (strcmp(type, "radio") == 0 || strcmp(type, "dropdown") == 0 || strcmp(type, "yesno") == 0 ||
        strcmp(type, "truefalse") == 0) {
        const char *why = NULL;
        if (strcmp(type, "yesno") == 0)
            choices = json_pack("[{s:i, s:s}, {s:i, s:s}]", "value", 1, "label", "Yes", "value", 0,
                                "label", "No");
        else if (strcmp(type, "truefalse") == 0)
            choices = json_pack("[{s:i, s:s}, {s:i, s:s}]", "value", 1, "label", "True", "value", 0,
                                "label", "False");
        else
            choices = ins_redcap_choices(f[RC_CHOICES], &why);
        if (choices == NULL || !ins_redcap_consecutive(choices)) {
            rc = ins_redcap_note(cx, line, form, var, "%s field not translated: %s", type,
                                 why ? why : "choice codes are not consecutive whole numbers");
            goto out;
        }
        json_object_set_new(item, "type", json_string("choice"));
        if (attune != NULL) {
            const char *set = json_string_value(json_object_get(attune, "option_set"));
            if (set == NULL || !ins_redcap_same_choices(fm->meta, set, choices)) {
                err_set(cx->e, INS_EINVAL,
                        "\"%s\": row %zu: choices of \"%s\" do not match option set \"%s\" of "
                        "its Attune metadata",
                        cx->name, line, var, set ? set : "");
                err_detail(cx->e, "The choices were edited in REDCap after the export; scoring "
                                  "metadata for them would be stale.");
                rc = INS_EINVAL;
                goto out;
            }
        } else {
            const char *set = ins_redcap_set_for(fm, var, choices);
            if (set == NULL) {
                rc = err_set(cx->e, INS_ENOMEM, "out of memory");
                goto out;
            }
            json_object_set_new(item, "option_set", json_string(set));
        }
    } else if (strcmp(type, "text") == 0 && (strcmp(f[RC_VALIDATION], "integer") == 0 ||
                                             strncmp(f[RC_VALIDATION], "number", 6) == 0)) {
        int integer = strcmp(f[RC_VALIDATION], "integer") == 0;
        double mn, mx;
        if (integer ? ins_redcap_int(f[RC_MIN], &mn) != 0 || ins_redcap_int(f[RC_MAX], &mx) != 0
                    : ins_redcap_number(f[RC_MIN], &mn) != 0 ||
                          ins_redcap_number(f[RC_MAX], &mx) != 0) {
            rc = ins_redcap_note(cx, line, form, var,
                                 "numeric field without a valid min and max not translated");
            goto out;
        }
        json_object_set_new(item, "type", json_string(integer ? "integer" : "decimal"));
        json_object_set_new(item, "min", ins_json_number(mn));
        json_object_set_new(item, "max", ins_json_number(mx));
    } else {
        static const struct {
            const char *type;
            const char *why;
        } untranslated[] = {
            {"calc", "calculated field not translated: define the score in the definition's "
                     "\"scores\""},
            {"checkbox", "checkbox (several answers) not translated: items take one answer"},
            {"descriptive", "descriptive text not translated"},
            {"notes", "free-text field not translated: items are numeric"},
            {"file", "file upload not translated"},
            {"slider", "slider not translated"},
            {"sql", "dynamic SQL field not translated"},
            {"text", "text field without integer or number validation not translated"},
        };
        size_t k;
        for (k = 0; k < sizeof untranslated / sizeof untranslated[0]; k++)
            if (strcmp(type, untranslated[k].type) == 0)
                break;
        if (k == sizeof untranslated / sizeof untranslated[0])
            rc = ins_redcap_note(cx, line, form, var, "unknown field type \"%.40s\" not translated",
                                 type);
        else if (strcmp(type, "calc") == 0)
            rc = ins_redcap_note(cx, line, form, var, "%s (formula: %.150s)", untranslated[k].why,
                                 f[RC_CHOICES]);
        else
            rc = ins_redcap_note(cx, line, form, var, "%s", untranslated[k].why);
        goto out;
    }

    /* Texts. With Attune metadata the label is Attune's own plain text. */
    if (fm->meta == NULL || ins_redcap_texts_included(fm->meta)) {
        char *label = strdup(f[RC_LABEL]);
        int changed;
        if (label == NULL) {
            rc = err_set(cx->e, INS_ENOMEM, "out of memory");
            goto out;
        }
        changed = fm->meta == NULL && ins_redcap_plain(label);
        if (label[0] == '\0') {
            free(label);
            rc = ins_redcap_note(cx, line, form, var, "field without a label not translated");
            goto out;
        }
        if (changed)
            rc = ins_redcap_note(cx, line, form, var, "HTML markup removed from the label");
        json_object_set_new(item, "text", json_string(label));
        free(label);
        if (rc != 0)
            goto out;
    }
    /* Rich-text section headers and notes become plain text, and say so. */
    if (fm->meta == NULL && ins_redcap_plain(f[RC_SECTION]) &&
        (rc = ins_redcap_note(cx, line, form, var,
                              "HTML markup removed from the section header")) != 0)
        goto out;
    if (fm->meta == NULL && ins_redcap_plain(f[RC_NOTE]) &&
        (rc = ins_redcap_note(cx, line, form, var, "HTML markup removed from the field note")) != 0)
        goto out;
    if (f[RC_SECTION][0] != '\0') {
        int is_instructions =
            attune != NULL ? json_is_true(json_object_get(attune, "instructions_header")) : first;
        if (!is_instructions)
            json_object_set_new(item, "section", json_string(f[RC_SECTION]));
        else if (fm->meta == NULL)
            fm->instructions = f[RC_SECTION];
    }
    if (f[RC_NOTE][0] != '\0')
        json_object_set_new(item, "note", json_string(f[RC_NOTE]));
    if (attune != NULL) {
        const char *key;
        json_t *v;
        json_object_foreach(attune, key, v)
        {
            if (strcmp(key, "instructions_header") == 0)
                continue;
            json_object_set(item, key, v);
        }
    }
    /* What the row says that an item cannot. */
    if (f[RC_BRANCHING][0] != '\0' &&
        (rc = ins_redcap_note(cx, line, form, var,
                              "branching logic not translated (the item is always shown): %.150s",
                              f[RC_BRANCHING])) != 0)
        goto out;
    if (strcmp(f[RC_IDENTIFIER], "y") == 0 &&
        (rc = ins_redcap_note(cx, line, form, var, "identifier flag not translated")) != 0)
        goto out;
    if (f[RC_ALIGNMENT][0] != '\0' &&
        (rc = ins_redcap_note(cx, line, form, var, "custom alignment \"%.20s\" not translated",
                              f[RC_ALIGNMENT])) != 0)
        goto out;
    if (f[RC_QUESTION_NUMBER][0] != '\0' &&
        (rc = ins_redcap_note(cx, line, form, var, "question number \"%.20s\" not translated",
                              f[RC_QUESTION_NUMBER])) != 0)
        goto out;
    if (f[RC_MATRIX][0] != '\0' && strcmp(f[RC_MATRIX], fm->last_matrix) != 0) {
        snprintf(fm->last_matrix, sizeof fm->last_matrix, "%s", f[RC_MATRIX]);
        if ((rc = ins_redcap_note(cx, line, form, var,
                                  "matrix layout \"%.60s\" not translated: items are shown one "
                                  "by one",
                                  f[RC_MATRIX])) != 0)
            goto out;
    }
    ins_redcap_other_tags(f[RC_ANNOTATION], tags, sizeof tags);
    if (tags[0] != '\0' &&
        (rc = ins_redcap_note(cx, line, form, var, "action tags not translated: %s", tags)) != 0)
        goto out;
    if (json_array_append(fm->items, item) != 0)
        rc = err_set(cx->e, INS_ENOMEM, "out of memory");
out:
    json_decref(item);
    json_decref(choices);
    json_decref(attune);
    return rc;
}

/* Builds the definition JSON of a form without Attune metadata. */
static json_t *ins_redcap_plain_definition(struct ins_redcap_ctx *cx, struct ins_redcap_form *fm,
                                           const char *version)
{
    char title[INS_MAX_LABEL], citation[600], source[600];
    json_t *root;

    snprintf(title, sizeof title, "%s", fm->form);
    for (char *c = title; *c; c++)
        if (*c == '_')
            *c = ' ';
    snprintf(citation, sizeof citation,
             "Imported from the REDCap data dictionary \"%s\", form \"%s\". The dictionary does "
             "not say where the instrument comes from.",
             cx->name, fm->form);
    snprintf(source, sizeof source, "REDCap data dictionary \"%s\", form \"%s\"", cx->name,
             fm->form);
    root = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:{s:s}, s:O}",
                     "attune_instrument", INS_FORMAT_VERSION, "id", fm->form, "version", version,
                     "title", title, "language", "und", "citation", citation, "licence", "notice",
                     "Unknown: a REDCap data dictionary carries no licence. Check the "
                     "instrument's terms before use.",
                     "source", "redcap", "item_texts", "included", "sources", "redcap", source,
                     "items", fm->items);
    if (root != NULL && json_array_size(fm->sets) > 0 &&
        json_object_set(root, "option_sets", fm->sets) != 0) {
        json_decref(root);
        return NULL;
    }
    if (root != NULL && fm->instructions != NULL &&
        json_object_set_new(root, "instructions", json_string(fm->instructions)) != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Imports rows [from, to) of one form. */
static int ins_redcap_form(struct ins_redcap_ctx *cx, struct ins_redcap_csv *c, size_t from,
                           size_t to, const char *version)
{
    struct ins_redcap_form fm;
    struct ins_definition *def = NULL, **grown;
    json_t *root = NULL;
    int bad_tag, rc = INS_ENOMEM;

    memset(&fm, 0, sizeof fm);
    fm.form = c->rows[from].f[RC_FORM];
    fm.items = json_array();
    fm.sets = json_array();
    if (fm.items == NULL || fm.sets == NULL) {
        err_set(cx->e, INS_ENOMEM, "out of memory");
        goto out;
    }
    /* REDCap's record id heads the first form: it identifies records, not answers. */
    if (from == 1 && strcmp(c->rows[from].f[RC_TYPE], "text") == 0 &&
        c->rows[from].f[RC_VALIDATION][0] == '\0') {
        if ((rc = ins_redcap_note(cx, c->rows[from].line, fm.form, c->rows[from].f[RC_VAR],
                                  "the record id field identifies REDCap records; not an "
                                  "item")) != 0)
            goto out;
        from++;
    }
    if (from < to) {
        fm.meta = ins_redcap_tag(c->rows[from].f[RC_ANNOTATION], INS_REDCAP_TAG_DEF, &bad_tag);
        if (bad_tag) {
            rc = err_set(cx->e, INS_EINVAL, "\"%s\": row %zu: %s is not a JSON object", cx->name,
                         c->rows[from].line, INS_REDCAP_TAG_DEF);
            goto out;
        }
    }
    for (size_t r = from; r < to; r++)
        if ((rc = ins_redcap_row(cx, &fm, &c->rows[r], r == from)) != 0)
            goto out;
    if (json_array_size(fm.items) == 0) {
        rc = ins_redcap_note(cx, c->rows[from < to ? from : to - 1].line, fm.form, NULL,
                             "no field of the form can be an Attune item; no definition made");
        goto out;
    }
    if (fm.meta != NULL) {
        root = json_incref(fm.meta);
        if (json_object_set(root, "items", fm.items) != 0) {
            rc = err_set(cx->e, INS_ENOMEM, "out of memory");
            goto out;
        }
    } else {
        if (!ins_valid_key(fm.form)) {
            rc = ins_redcap_note(cx, c->rows[from].line, fm.form, NULL,
                                 "form name is not a valid instrument id; no definition made");
            goto out;
        }
        root = ins_redcap_plain_definition(cx, &fm, version ? version : "1");
        if (root == NULL) {
            rc = err_set(cx->e, INS_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = ins_redcap_note(cx, c->rows[from].line, fm.form, NULL,
                                  "citation, licence, language, scores, bands and cut-offs are "
                                  "not in a REDCap data dictionary; fill them in")) != 0)
            goto out;
    }
    {
        char name[400];
        snprintf(name, sizeof name, "%s, form %s", cx->name, fm.form);
        if ((rc = ins_definition_from_json(root, name, &def, cx->e)) != 0)
            goto out;
    }
    grown = realloc(cx->imp->defs, (cx->imp->n_defs + 1) * sizeof *grown);
    if (grown == NULL) {
        rc = err_set(cx->e, INS_ENOMEM, "out of memory");
        goto out;
    }
    cx->imp->defs = grown;
    grown[cx->imp->n_defs++] = def;
    def = NULL;
    rc = 0;
out:
    ins_definition_free(def);
    json_decref(root);
    json_decref(fm.meta);
    json_decref(fm.items);
    json_decref(fm.sets);
    return rc;
}

void ins_redcap_import_free(struct ins_redcap_import *imp)
{
    if (imp == NULL)
        return;
    for (size_t i = 0; i < imp->n_defs; i++)
        ins_definition_free(imp->defs[i]);
    free(imp->defs);
    free(imp->notes);
    free(imp);
}

int ins_redcap_import(const char *csv, size_t len, const char *name, const char *version,
                      struct ins_redcap_import **out, struct err *e)
{
    struct ins_redcap_ctx cx;
    struct ins_redcap_csv c;
    int rc;

    memset(&cx, 0, sizeof cx);
    cx.name = name ? name : "(data dictionary)";
    cx.e = e;
    if (version != NULL && !ins_valid_version(version))
        return err_set(e, INS_EINVAL, "\"%s\" is not a valid version", version);
    if ((rc = ins_redcap_parse(csv, len, cx.name, &c, e)) != 0) {
        ins_redcap_csv_free(&c);
        return rc;
    }
    cx.imp = calloc(1, sizeof *cx.imp);
    if (cx.imp == NULL) {
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t r = 1; r < c.n;) {
        size_t end = r + 1;
        while (end < c.n && strcmp(c.rows[end].f[RC_FORM], c.rows[r].f[RC_FORM]) == 0)
            end++;
        for (size_t k = end; k < c.n; k++)
            if (strcmp(c.rows[k].f[RC_FORM], c.rows[r].f[RC_FORM]) == 0) {
                rc = err_set(e, INS_EINVAL,
                             "\"%s\": row %zu: form \"%s\" appears again after "
                             "other forms",
                             cx.name, c.rows[k].line, c.rows[k].f[RC_FORM]);
                err_detail(e, "REDCap keeps the fields of a form together.");
                goto out;
            }
        if ((rc = ins_redcap_form(&cx, &c, r, end, version)) != 0)
            goto out;
        r = end;
    }
    *out = cx.imp;
    cx.imp = NULL;
    rc = 0;
out:
    ins_redcap_import_free(cx.imp);
    ins_redcap_csv_free(&c);
    return rc;
}

/* ---------------------------------------------------------------- export */

struct ins_buf {
    char *p;
    size_t n, cap;
    int oom;
};

static void ins_buf_add(struct ins_buf *b, const char *s, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        char *grown;
        while (ncap < b->n + len + 1)
            ncap *= 2;
        grown = realloc(b->p, ncap);
        if (grown == NULL) {
            b->oom = 1;
            return;
        }
        b->p = grown;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

/* One field, quoted as REDCap quotes: when it holds a space, a comma, a quote
 * or a line break; inner quotes doubled. */
static void ins_buf_field(struct ins_buf *b, const char *s, int last)
{
    s = s ? s : "";
    if (strpbrk(s, " ,\"\r\n\t") != NULL) {
        ins_buf_add(b, "\"", 1);
        for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
            ins_buf_add(b, s, (size_t)(q - s) + 1);
            ins_buf_add(b, "\"", 1);
        }
        ins_buf_add(b, s, strlen(s));
        ins_buf_add(b, "\"", 1);
    } else {
        ins_buf_add(b, s, strlen(s));
    }
    ins_buf_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void ins_buf_row(struct ins_buf *b, const char *const *f)
{
    for (size_t i = 0; i < INS_REDCAP_COLUMNS; i++)
        ins_buf_field(b, f[i], i + 1 == INS_REDCAP_COLUMNS);
}

static int ins_redcap_variable(const char *s)
{
    if (!(s[0] >= 'a' && s[0] <= 'z') || strlen(s) > 100)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s);
}

/* "0, Not at all | 1, Several days" for a choice item. */
static int ins_redcap_choice_text(const struct ins_item *it, struct ins_buf *b)
{
    for (size_t k = 0; k < it->options->n_options; k++) {
        const struct ins_option *o = &it->options->options[k];
        char v[40];
        if (strchr(o->label, '|') != NULL)
            return -1;
        ins_format_number(v, sizeof v, o->value);
        if (k > 0)
            ins_buf_add(b, " | ", 3);
        ins_buf_add(b, v, strlen(v));
        ins_buf_add(b, ", ", 2);
        ins_buf_add(b, o->label, strlen(o->label));
    }
    return 0;
}

/* The compact JSON of what an item's row cannot say. malloc'd. */
static char *ins_redcap_item_meta(const struct ins_definition *def, size_t i,
                                  int instructions_header)
{
    const struct ins_item *it = &def->items[i];
    json_t *o =
        json_pack("{s:s, s:s}", "keyed", it->keyed == INS_KEYED_REVERSE ? "reverse" : "forward",
                  "source", it->source);
    char *text = NULL;

    if (o != NULL &&
        (it->type != INS_ITEM_CHOICE ||
         json_object_set_new(o, "option_set", json_string(it->options->id)) == 0) &&
        (it->loinc == NULL || json_object_set_new(o, "loinc", json_string(it->loinc)) == 0) &&
        (!instructions_header || json_object_set_new(o, "instructions_header", json_true()) == 0))
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    json_decref(o);
    return text;
}

int ins_redcap_export(const struct ins_definition *def, char **out, size_t *len, struct err *e)
{
    struct ins_buf b = {0};
    struct ins_buf choices = {0};
    json_t *meta = NULL;
    char *meta_text = NULL, form[INS_ID_MAX + 8];
    int rc = INS_EINVAL;

    /* REDCap form names are lower-case letters, digits and '_', from a letter. */
    snprintf(form, sizeof form, "%s%s", def->id[0] >= 'a' && def->id[0] <= 'z' ? "" : "form_",
             def->id);
    for (char *c = form; *c; c++)
        if (*c == '-')
            *c = '_';
    for (size_t i = 0; i < def->n_items; i++)
        if (!ins_redcap_variable(def->items[i].id) || strcmp(def->items[i].id, "record_id") == 0) {
            err_set(e, INS_EINVAL, "item id \"%s\" is not a REDCap variable name",
                    def->items[i].id);
            err_detail(e, "REDCap variables are lower-case letters, digits and '_', starting "
                          "with a letter, and \"record_id\" is REDCap's own.");
            return INS_EINVAL;
        }
    meta = ins_definition_to_json(def);
    if (meta == NULL || json_object_del(meta, "items") != 0 ||
        (meta_text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))) ==
            NULL) {
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    ins_buf_add(&b, "\xEF\xBB\xBF", 3);
    ins_buf_row(&b, ins_redcap_header);
    ins_buf_row(
        &b, (const char *const[INS_REDCAP_COLUMNS]){"record_id", form, "", "text", "Record ID"});
    for (size_t i = 0; i < def->n_items; i++) {
        const struct ins_item *it = &def->items[i];
        const char *f[INS_REDCAP_COLUMNS] = {0};
        char label[INS_MAX_TEXT + 100], mn[40] = "", mx[40] = "";
        char *item_meta, *annotation = NULL;
        int instructions_header = i == 0 && it->section == NULL && def->instructions != NULL;

        choices.n = 0;
        if (choices.p != NULL)
            choices.p[0] = '\0';
        f[RC_VAR] = it->id;
        f[RC_FORM] = form;
        f[RC_SECTION] = instructions_header ? def->instructions : it->section;
        if (it->type == INS_ITEM_CHOICE) {
            f[RC_TYPE] = "radio";
            if (ins_redcap_choice_text(it, &choices) != 0) {
                err_set(e, INS_EINVAL, "an option label of item \"%s\" holds a '|'", it->id);
                err_detail(e, "REDCap separates choices with '|'.");
                goto out;
            }
            f[RC_CHOICES] = choices.p ? choices.p : "";
        } else {
            f[RC_TYPE] = "text";
            f[RC_VALIDATION] = it->type == INS_ITEM_INTEGER ? "integer" : "number";
            ins_format_number(mn, sizeof mn, it->min);
            ins_format_number(mx, sizeof mx, it->max);
            f[RC_MIN] = mn;
            f[RC_MAX] = mx;
        }
        if (it->text != NULL)
            snprintf(label, sizeof label, "%s", it->text);
        else
            snprintf(label, sizeof label, "[%s] item text supplied by the study", it->id);
        f[RC_LABEL] = label;
        f[RC_NOTE] = it->note;
        f[RC_REQUIRED] = it->required ? "y" : "";
        item_meta = ins_redcap_item_meta(def, i, instructions_header);
        if (item_meta == NULL ||
            asprintf(&annotation, "%s%s%s%s", i == 0 ? INS_REDCAP_TAG_DEF : "",
                     i == 0 ? meta_text : "",
                     i == 0 ? " " INS_REDCAP_TAG_ITEM : INS_REDCAP_TAG_ITEM, item_meta) < 0) {
            free(item_meta);
            rc = err_set(e, INS_ENOMEM, "out of memory");
            goto out;
        }
        free(item_meta);
        f[RC_ANNOTATION] = annotation;
        ins_buf_row(&b, f);
        free(annotation);
    }
    if (b.oom || choices.oom) {
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    *out = b.p;
    *len = b.n;
    b.p = NULL;
    rc = 0;
out:
    free(b.p);
    free(choices.p);
    free(meta_text);
    json_decref(meta);
    return rc;
}
