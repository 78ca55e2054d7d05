/*
 * fhir.c — FHIR R4 interchange: a definition as a Questionnaire, and a
 * QuestionnaireResponse read back into a set of answers.
 *
 * The Questionnaire follows R4 with the extensions SDC uses for scoring: each
 * answer option carries its weight in the itemWeight extension (formerly
 * ordinalValue; on answerOption, where the extension's definition prefers
 * it), and each score is a read-only item whose SDC calculatedExpression sums
 * those weights in FHIRPath (weight(), from SDC's FHIRPath supplements). The
 * expression is the plain formula; the missing-item rule is Attune's to
 * apply, and the response the engine scores is the authority.
 *
 * Answer codes: an option with a LOINC answer code is coded in LOINC; any
 * other option is coded by its value in the system
 * urn:attune:option-set:<instrument>:<option set>, stable across versions.
 */
#include "ins_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INS_FHIR_MAX_DEPTH 8

void ins_fhir_canonical(const struct ins_definition *def, const char *base_url, char *buf,
                        size_t size)
{
    size_t n = base_url ? strlen(base_url) : 0;

    while (n > 0 && base_url[n - 1] == '/')
        n--;
    snprintf(buf, size, "%.*s/fhir/Questionnaire/%s", (int)n, base_url ? base_url : "", def->id);
}

static void ins_fhir_option_system(const struct ins_definition *def,
                                   const struct ins_option_set *set, char *buf, size_t size)
{
    snprintf(buf, size, "urn:attune:option-set:%s:%s", def->id, set->id);
}

/* Whether a linkId is already an item's or a score's. */
static int ins_fhir_taken(const struct ins_definition *def, const char *link_id)
{
    return ins_definition_item(def, link_id) != NULL || ins_definition_score(def, link_id) != NULL;
}

static json_t *ins_fhir_loinc_code(const char *code)
{
    return json_pack("[{s:s, s:s}]", "system", INS_FHIR_LOINC, "code", code);
}

static json_t *ins_fhir_choice_options(const struct ins_definition *def, const struct ins_item *it)
{
    json_t *arr = json_array();
    char system[200];

    ins_fhir_option_system(def, it->options, system, sizeof system);
    for (size_t k = 0; arr != NULL && k < it->options->n_options; k++) {
        const struct ins_option *o = &it->options->options[k];
        char code[40];
        json_t *opt;
        ins_format_number(code, sizeof code, o->value);
        opt = json_pack("{s:{s:s, s:s, s:s}, s:[{s:s, s:o}]}", "valueCoding", "system",
                        o->loinc ? INS_FHIR_LOINC : system, "code", o->loinc ? o->loinc : code,
                        "display", o->label, "extension", "url", INS_FHIR_ITEM_WEIGHT,
                        "valueDecimal", json_real(o->weight));
        if (json_array_append_new(arr, opt) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *ins_fhir_item(const struct ins_definition *def, const struct ins_texts_file *t,
                             size_t i)
{
    const struct ins_item *it = &def->items[i];
    const char *text = ins_item_text(def, t, i);
    json_t *o = json_pack("{s:s, s:s, s:b}", "linkId", it->id, "type",
                          it->type == INS_ITEM_CHOICE    ? "choice"
                          : it->type == INS_ITEM_INTEGER ? "integer"
                                                         : "decimal",
                          "required", it->required);
    int bad = o == NULL;

    if (!bad && text != NULL)
        bad = json_object_set_new(o, "text", json_string(text)) != 0;
    if (!bad && it->loinc != NULL)
        bad = json_object_set_new(o, "code", ins_fhir_loinc_code(it->loinc)) != 0;
    if (!bad && it->type == INS_ITEM_CHOICE) {
        bad = json_object_set_new(o, "answerOption", ins_fhir_choice_options(def, it)) != 0;
    } else if (!bad) {
        int integer = it->type == INS_ITEM_INTEGER;
        bad = json_object_set_new(
                  o, "extension",
                  json_pack("[{s:s, s:o}, {s:s, s:o}]", "url", INS_FHIR_MIN_VALUE,
                            integer ? "valueInteger" : "valueDecimal",
                            integer ? json_integer((json_int_t)it->min) : json_real(it->min), "url",
                            INS_FHIR_MAX_VALUE, integer ? "valueInteger" : "valueDecimal",
                            integer ? json_integer((json_int_t)it->max) : json_real(it->max))) != 0;
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Appends "'a' | 'b'" for the score's items of one kind to buf. */
static int ins_fhir_link_list(const struct ins_definition *def, const struct ins_score *sc,
                              int choice, char *buf, size_t size)
{
    size_t n = 0;
    int count = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < sc->n_items; k++) {
        const struct ins_item *it = &def->items[sc->items[k]];
        if ((it->type == INS_ITEM_CHOICE) != choice)
            continue;
        /* Item ids hold no quote or backslash, so they need no escaping. */
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s'%s'", count ? " | " : "",
                              it->id);
        count++;
    }
    return n < size ? count : -1;
}

/* Room for one list of quoted item ids, and for a whole expression. */
#define INS_FHIR_LIST_MAX (INS_MAX_ITEMS * (INS_ITEM_ID_MAX + 5) + 1)
#define INS_FHIR_EXPR_MAX (3 * INS_FHIR_LIST_MAX + 512)

/* The FHIRPath of a score over a QuestionnaireResponse, into buf
 * (INS_FHIR_EXPR_MAX bytes). The lists live on the heap: worker threads may
 * have small stacks. */
static int ins_fhir_expression(const struct ins_definition *def, const struct ins_score *sc,
                               char *buf)
{
    char *choice = malloc(INS_FHIR_LIST_MAX), *numeric = malloc(INS_FHIR_LIST_MAX);
    char *sum = malloc(INS_FHIR_EXPR_MAX), factor[40];
    int nc, nn, rc = -1;
    size_t n = 0, size = INS_FHIR_EXPR_MAX;

    if (choice == NULL || numeric == NULL || sum == NULL)
        goto out;
    nc = ins_fhir_link_list(def, sc, 1, choice, INS_FHIR_LIST_MAX);
    nn = ins_fhir_link_list(def, sc, 0, numeric, INS_FHIR_LIST_MAX);
    if (nc < 0 || nn < 0)
        goto out;
    if (nc > 0)
        n += (size_t)snprintf(sum + n, size - n,
                              "%%resource.item.where(linkId in (%s)).answer.value.weight().sum()",
                              choice);
    if (nn > 0 && n < size)
        n += (size_t)snprintf(sum + n, size - n,
                              "%s%%resource.item.where(linkId in (%s)).answer.value.sum()",
                              nc > 0 ? " + " : "", numeric);
    if (n >= size)
        goto out;
    switch (sc->method) {
    case INS_METHOD_SUM:
        n = (size_t)snprintf(buf, size, "%s", sum);
        break;
    case INS_METHOD_MEAN:
        n = (size_t)snprintf(buf, size,
                             "(%s) / %%resource.item.where(linkId in (%s%s%s)).answer.count()", sum,
                             choice, nc > 0 && nn > 0 ? " | " : "", numeric);
        break;
    case INS_METHOD_SCALED_SUM:
        ins_format_number(factor, sizeof factor, sc->factor);
        n = (size_t)snprintf(buf, size, "(%s) * %s", sum, factor);
        break;
    }
    rc = n < size ? 0 : -1;
out:
    free(choice);
    free(numeric);
    free(sum);
    return rc;
}

static json_t *ins_fhir_score_item(const struct ins_definition *def, const struct ins_score *sc)
{
    char desc[300];
    char *buf = malloc(INS_FHIR_EXPR_MAX);
    json_t *o;

    if (buf == NULL || ins_fhir_expression(def, sc, buf) != 0) {
        free(buf);
        return NULL;
    }
    snprintf(desc, sizeof desc,
             "%s (%s of the item weights%s); Attune applies the missing-item rule", sc->label,
             ins_method_name(sc->method), sc->method == INS_METHOD_SCALED_SUM ? ", scaled" : "");
    o = json_pack("{s:s, s:s, s:s, s:b, s:[{s:s, s:{s:s, s:s, s:s}}]}", "linkId", sc->id, "text",
                  sc->label, "type", "decimal", "readOnly", 1, "extension", "url",
                  INS_FHIR_CALCULATED_EXPRESSION, "valueExpression", "description", desc,
                  "language", "text/fhirpath", "expression", buf);
    free(buf);
    if (o != NULL && sc->loinc != NULL &&
        json_object_set_new(o, "code", ins_fhir_loinc_code(sc->loinc)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A FHIR computable name: [A-Z][A-Za-z0-9_]* from the id. */
static void ins_fhir_name(const char *id, char *buf, size_t size)
{
    size_t n = 0;

    if (!isalpha((unsigned char)id[0]) && n + 1 < size)
        buf[n++] = 'Q';
    for (const char *c = id; *c && n + 1 < size; c++)
        buf[n++] = *c == '-' ? '_' : *c;
    buf[n] = '\0';
    buf[0] = (char)toupper((unsigned char)buf[0]);
}

int ins_fhir_questionnaire(const struct ins_definition *def, const struct ins_texts_file *t,
                           const char *base_url, json_t **out, struct err *e)
{
    char url[512], name[80];
    json_t *q, *items;
    /* A study's texts bring their own language and the permission under
     * which the study uses them, which belongs beside the licence notice. */
    const char *language = t != NULL ? ins_texts_language(t) : def->language;
    char *copyright = NULL;
    int bad;

    if (t != NULL &&
        asprintf(&copyright, "%s Item texts: %s", def->licence, ins_texts_permission(t)) < 0)
        return err_set(e, INS_ENOMEM, "out of memory");
    ins_fhir_canonical(def, base_url, url, sizeof url);
    ins_fhir_name(def->id, name, sizeof name);
    q = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s}", "resourceType",
                  "Questionnaire", "id", def->id, "url", url, "version", def->version, "name", name,
                  "title", def->title, "status", "active", "subjectType", "Patient", "description",
                  def->citation, "copyright", copyright != NULL ? copyright : def->licence);
    free(copyright);
    items = json_array();
    bad = q == NULL || items == NULL;
    if (!bad && strcmp(language, "und") != 0)
        bad = json_object_set_new(q, "language", json_string(language)) != 0;
    if (!bad && def->loinc != NULL)
        bad = json_object_set_new(q, "code", ins_fhir_loinc_code(def->loinc)) != 0;
    if (!bad && def->instructions != NULL && !ins_fhir_taken(def, "instructions"))
        bad = json_array_append_new(items,
                                    json_pack("{s:s, s:s, s:s}", "linkId", "instructions", "type",
                                              "display", "text", def->instructions)) != 0;
    for (size_t i = 0; !bad && i < def->n_items; i++) {
        const struct ins_item *it = &def->items[i];
        if (it->section != NULL) {
            char link[INS_ITEM_ID_MAX + 16];
            snprintf(link, sizeof link, "%s-section", it->id);
            if (!ins_fhir_taken(def, link))
                bad = json_array_append_new(items,
                                            json_pack("{s:s, s:s, s:s}", "linkId", link, "type",
                                                      "display", "text", it->section)) != 0;
        }
        bad = bad || json_array_append_new(items, ins_fhir_item(def, t, i)) != 0;
    }
    for (size_t s = 0; !bad && s < def->n_scores; s++)
        bad = json_array_append_new(items, ins_fhir_score_item(def, &def->scores[s])) != 0;
    if (bad || json_object_set_new(q, "item", items) != 0) {
        if (!bad)
            items = NULL;
        json_decref(items);
        json_decref(q);
        return err_set(e, INS_ENOMEM, "out of memory");
    }
    *out = q;
    return 0;
}

/* -------------------------------------------------- QuestionnaireResponse */

struct ins_fhir_read {
    const struct ins_definition *def;
    struct ins_answers *answers;
    unsigned char *tried; /* items given an answer, valid or not */
    struct ins_problems *p;
    int bad;
};

/* The option value a valueCoding stands for; -1 with a problem when none. */
static int ins_fhir_coding(struct ins_fhir_read *rd, const struct ins_item *it,
                           const json_t *coding, const char *ptr, double *value)
{
    const char *system = json_string_value(json_object_get(coding, "system"));
    const char *code = json_string_value(json_object_get(coding, "code"));
    char ours[200], detail[256];

    if (!json_is_object(coding) || code == NULL) {
        ins_problem(rd->p, INS_PROBLEM_MALFORMED, it->id, ptr, "A valueCoding has a code.",
                    "answer for item \"%s\" has no code", it->id);
        return -1;
    }
    ins_fhir_option_system(rd->def, it->options, ours, sizeof ours);
    if (system != NULL && strcmp(system, INS_FHIR_LOINC) != 0 && strcmp(system, ours) != 0) {
        snprintf(detail, sizeof detail, "The code system \"%.100s\" is neither LOINC nor %.80s.",
                 system, ours);
        ins_problem(rd->p, INS_PROBLEM_INVALID_VALUE, it->id, ptr, detail,
                    "invalid answer for item \"%s\"", it->id);
        return -1;
    }
    for (size_t k = 0; k < it->options->n_options; k++) {
        const struct ins_option *o = &it->options->options[k];
        char v[40];
        ins_format_number(v, sizeof v, o->value);
        if ((system == NULL || strcmp(system, INS_FHIR_LOINC) == 0) && o->loinc != NULL &&
            strcmp(o->loinc, code) == 0) {
            *value = o->value;
            return 0;
        }
        if ((system == NULL || strcmp(system, ours) == 0) && strcmp(v, code) == 0) {
            *value = o->value;
            return 0;
        }
    }
    snprintf(detail, sizeof detail, "The code \"%.60s\" is not one of the item's options.", code);
    ins_problem(rd->p, INS_PROBLEM_INVALID_VALUE, it->id, ptr, detail,
                "invalid answer for item \"%s\"", it->id);
    return -1;
}

static void ins_fhir_answer(struct ins_fhir_read *rd, const struct ins_item *it,
                            const json_t *answers, const char *path)
{
    char ptr[400];
    const json_t *ans, *v;
    double value;

    if (!json_is_array(answers)) {
        rd->bad = 1;
        ins_problem(rd->p, INS_PROBLEM_MALFORMED, it->id, path, NULL,
                    "\"answer\" of item \"%s\" is not an array", it->id);
        return;
    }
    if (json_array_size(answers) == 0)
        return;
    if (json_array_size(answers) > 1) {
        rd->bad = 1;
        ins_problem(rd->p, INS_PROBLEM_MALFORMED, it->id, path, "The item takes one answer.",
                    "item \"%s\" has %zu answers", it->id, json_array_size(answers));
        return;
    }
    ans = json_array_get(answers, 0);
    snprintf(ptr, sizeof ptr, "%s/0", path);
    if (!json_is_object(ans)) {
        rd->bad = 1;
        ins_problem(rd->p, INS_PROBLEM_MALFORMED, it->id, ptr, NULL,
                    "answer of item \"%s\" is not an object", it->id);
        return;
    }
    if ((v = json_object_get(ans, "valueCoding")) != NULL) {
        snprintf(ptr, sizeof ptr, "%s/0/valueCoding", path);
        if (it->type != INS_ITEM_CHOICE) {
            rd->bad = 1;
            ins_problem(rd->p, INS_PROBLEM_NOT_A_NUMBER, it->id, ptr,
                        "A numeric item takes valueInteger or valueDecimal.",
                        "answer for item \"%s\" is not a number", it->id);
            return;
        }
        if (ins_fhir_coding(rd, it, v, ptr, &value) != 0) {
            rd->bad = 1;
            return;
        }
    } else if ((v = json_object_get(ans, "valueInteger")) != NULL ||
               (v = json_object_get(ans, "valueDecimal")) != NULL) {
        snprintf(ptr, sizeof ptr, "%s/0/%s", path,
                 json_object_get(ans, "valueInteger") ? "valueInteger" : "valueDecimal");
        if (!json_is_number(v)) {
            rd->bad = 1;
            ins_problem(rd->p, INS_PROBLEM_NOT_A_NUMBER, it->id, ptr, NULL,
                        "answer for item \"%s\" is not a number", it->id);
            return;
        }
        value = json_number_value(v);
    } else {
        rd->bad = 1;
        ins_problem(rd->p, INS_PROBLEM_NOT_A_NUMBER, it->id, ptr,
                    "Answers are valueCoding, valueInteger or valueDecimal.",
                    "answer for item \"%s\" is not a number", it->id);
        return;
    }
    if (ins_answers_set(rd->answers, it->id, value, ptr, rd->p) != 0)
        rd->bad = 1;
}

static void ins_fhir_walk(struct ins_fhir_read *rd, const json_t *items, const char *path,
                          int depth)
{
    size_t i;
    json_t *el;

    if (!json_is_array(items)) {
        rd->bad = 1;
        ins_problem(rd->p, INS_PROBLEM_MALFORMED, NULL, path, NULL, "\"item\" is not an array");
        return;
    }
    if (depth > INS_FHIR_MAX_DEPTH) {
        rd->bad = 1;
        ins_problem(rd->p, INS_PROBLEM_MALFORMED, NULL, path, NULL, "items nest too deeply");
        return;
    }
    json_array_foreach(items, i, el)
    {
        const char *link = json_string_value(json_object_get(el, "linkId"));
        const json_t *answer = json_object_get(el, "answer"), *sub = json_object_get(el, "item");
        const struct ins_item *it;
        char ptr[300], sp[320];

        snprintf(ptr, sizeof ptr, "%s/%zu", path, i);
        if (link == NULL) {
            rd->bad = 1;
            ins_problem(rd->p, INS_PROBLEM_MALFORMED, NULL, ptr, "Every item has a linkId.",
                        "item without a linkId");
            continue;
        }
        if (sub != NULL) {
            snprintf(sp, sizeof sp, "%s/item", ptr);
            ins_fhir_walk(rd, sub, sp, depth + 1);
        }
        if (answer == NULL || ins_definition_score(rd->def, link) != NULL)
            continue; /* a group, a display item, or a score the engine recomputes */
        snprintf(sp, sizeof sp, "%s/answer", ptr);
        it = ins_definition_item(rd->def, link);
        if (it != NULL && json_array_size(answer) > 0)
            rd->tried[it - rd->def->items] = 1;
        if (it == NULL) {
            char detail[200];
            rd->bad = 1;
            snprintf(detail, sizeof detail, "Questionnaire \"%s\" version \"%s\" has no such item.",
                     rd->def->id, rd->def->version);
            ins_problem(rd->p, INS_PROBLEM_UNKNOWN_ITEM, NULL, ptr, detail,
                        "unknown item \"%.64s\"", link);
            continue;
        }
        ins_fhir_answer(rd, it, answer, sp);
    }
}

/* The instrument id and version a canonical names, or -1. */
static int ins_fhir_parse_canonical(const char *url, char *id, size_t id_size, char *ver,
                                    size_t ver_size)
{
    const char *bar = strchr(url, '|'), *seg, *end;
    size_t len;

    end = bar ? bar : url + strlen(url);
    for (seg = end; seg > url && seg[-1] != '/'; seg--)
        ;
    len = (size_t)(end - seg);
    /* An absolute canonical ".../Questionnaire/<id>", or a relative reference. */
    if (len == 0 || len >= id_size ||
        !((seg - url >= 15 && strncmp(seg - 15, "/Questionnaire/", 15) == 0) ||
          (seg - url == 14 && strncmp(url, "Questionnaire/", 14) == 0)))
        return -1;
    memcpy(id, seg, len);
    id[len] = '\0';
    ver[0] = '\0';
    if (bar != NULL) {
        if (strlen(bar + 1) == 0 || strlen(bar + 1) >= ver_size)
            return -1;
        snprintf(ver, ver_size, "%s", bar + 1);
    }
    return ins_valid_key(id) && (ver[0] == '\0' || ins_valid_version(ver)) ? 0 : -1;
}

int ins_fhir_response_read(const struct ins_registry *reg, const json_t *qr,
                           const struct ins_definition **def_out, struct ins_answers **out,
                           struct ins_problems *p, struct err *e)
{
    struct ins_fhir_read rd;
    const char *type, *canonical, *status;
    char id[INS_ID_MAX + 1], ver[INS_VERSION_MAX + 1];
    int rc;

    memset(&rd, 0, sizeof rd);
    rd.p = p;
    if (!json_is_object(qr))
        return err_set(e, INS_EINVAL, "a QuestionnaireResponse is a JSON object");
    type = json_string_value(json_object_get(qr, "resourceType"));
    if (type == NULL || strcmp(type, "QuestionnaireResponse") != 0) {
        ins_problem(p, INS_PROBLEM_MALFORMED, NULL, "/resourceType", NULL,
                    "resource is not a QuestionnaireResponse");
        return err_set(e, INS_EANSWERS, "resource is not a QuestionnaireResponse");
    }
    canonical = json_string_value(json_object_get(qr, "questionnaire"));
    if (canonical == NULL ||
        ins_fhir_parse_canonical(canonical, id, sizeof id, ver, sizeof ver) != 0 ||
        (rd.def = ins_registry_find(reg, id, ver[0] ? ver : NULL)) == NULL) {
        ins_problem(p, INS_PROBLEM_UNKNOWN_QUESTIONNAIRE, NULL, "/questionnaire",
                    "The questionnaire is named by a canonical URL ending in "
                    "/Questionnaire/<id>, optionally followed by |<version>.",
                    "unknown questionnaire \"%.120s\"", canonical ? canonical : "");
        rc = err_set(e, INS_ENOTFOUND, "unknown questionnaire \"%.120s\"",
                     canonical ? canonical : "");
        return rc;
    }
    status = json_string_value(json_object_get(qr, "status"));
    if (status == NULL || (strcmp(status, "completed") != 0 && strcmp(status, "amended") != 0)) {
        rd.bad = 1;
        ins_problem(p, INS_PROBLEM_MALFORMED, NULL, "/status",
                    "Only completed (or amended) responses are scored.",
                    "response status is \"%.40s\", not \"completed\"", status ? status : "");
    }
    if ((rc = ins_answers_new(rd.def, &rd.answers, e)) != 0)
        return rc;
    rd.tried = calloc(rd.def->n_items, 1);
    if (rd.tried == NULL) {
        ins_answers_free(rd.answers);
        return err_set(e, INS_ENOMEM, "out of memory");
    }
    if (json_object_get(qr, "item") != NULL)
        ins_fhir_walk(&rd, json_object_get(qr, "item"), "/item", 0);
    for (size_t i = 0; i < rd.def->n_items; i++) {
        double v;
        /* An item answered wrongly is reported once, above. */
        if (rd.def->items[i].required && !rd.tried[i] && !ins_answers_get(rd.answers, i, &v)) {
            rd.bad = 1;
            ins_problem(p, INS_PROBLEM_REQUIRED_MISSING, rd.def->items[i].id, "/item",
                        "The item is required and has no answer.",
                        "missing answer for required item \"%s\"", rd.def->items[i].id);
        }
    }
    free(rd.tried);
    if (rd.bad) {
        ins_answers_free(rd.answers);
        return err_set(e, INS_EANSWERS, "the QuestionnaireResponse has problems");
    }
    *def_out = rd.def;
    *out = rd.answers;
    return 0;
}
