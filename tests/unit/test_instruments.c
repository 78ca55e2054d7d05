/*
 * test_instruments.c — definitions and interchange: the strict loader (every
 * broken fixture refused, naming file, field and problem), the registry,
 * checksums, study-supplied texts, answer sets, the FHIR Questionnaire
 * (structure-checked against the R4 rules Attune relies on) and
 * QuestionnaireResponse reading, and REDCap: a dictionary in REDCap's own
 * export format imports, every shipped instrument survives export and import
 * unchanged, and edited or malformed dictionaries are refused.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ins.h"
#include "tap.h"

#define ROOT        ATTUNE_SOURCE_ROOT
#define DEFS_DIR    ROOT "/instruments/definitions"
#define BROKEN_DIR  ROOT "/tests/unit/data/broken"
#define GOOD_FILE   ROOT "/tests/unit/data/good/demo-1.json"
#define REDCAP_FILE ROOT "/tests/unit/data/redcap/wellbeing_study_DataDictionary_2024-03-18.csv"

static char tmp[64];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void put(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", tmp, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void drop(const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "%s/%s", tmp, name);
    unlink(path);
}

/* ----------------------------------------------------------- the loader */

static void test_good_and_checksum(void)
{
    struct ins_definition *def = NULL;
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[65];
    size_t len;
    char *bytes = slurp(GOOD_FILE, &len);
    struct err e;

    if (!ok(ins_definition_load(GOOD_FILE, &def, &e) == 0, "the base fixture loads")) {
        printf("#   %s | %s\n", e.message, e.detail);
        free(bytes);
        return;
    }
    crypto_hash_sha256(h, (const unsigned char *)bytes, len);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    is_str(def->checksum, hex, "checksum is the SHA-256 of the file's bytes");
    is_int(def->text_len, len, "the stored text is the file, byte for byte");
    ok(def->text != NULL && memcmp(def->text, bytes, len) == 0, "text equals the file");
    is_int(def->n_items, 3, "three items");
    is_double(def->scores[0].min, 0, 0, "total can be 0");
    is_double(def->scores[0].max, 6, 0, "total can be 6");
    is_int(def->items[2].keyed, INS_KEYED_REVERSE, "q3 is reverse keyed");
    is_double(def->items[2].options->options[0].weight, 2, 0, "q3: value 0 weighs 2");
    ins_definition_free(def);
    free(bytes);
}

static void test_broken(void)
{
    json_error_t jerr;
    json_t *expect = json_load_file(BROKEN_DIR "/expect.json", 0, &jerr);
    struct dirent *ent;
    size_t files = 0;
    DIR *d = opendir(BROKEN_DIR);

    if (!ok(expect != NULL && d != NULL, "broken fixtures and their expectations are there"))
        return;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        struct ins_definition *def = NULL;
        const char *ptr, *msg;
        char path[512], quoted[300];
        json_t *want;
        struct err e;
        int rc;

        if (len < 6 || strcmp(ent->d_name + len - 5, ".json") != 0 ||
            strcmp(ent->d_name, "expect.json") == 0)
            continue;
        files++;
        want = json_object_get(expect, ent->d_name);
        if (!ok(want != NULL, "%s has an expectation", ent->d_name))
            continue;
        ptr = json_string_value(json_object_get(want, "pointer"));
        msg = json_string_value(json_object_get(want, "message"));
        snprintf(path, sizeof path, "%s/%s", BROKEN_DIR, ent->d_name);
        snprintf(quoted, sizeof quoted, "\"%s\"", ent->d_name);
        err_clear(&e);
        rc = ins_definition_load(path, &def, &e);
        ok(rc == INS_EINVAL && def == NULL, "%s is refused", ent->d_name);
        if (!ok(strstr(e.message, quoted) != NULL && strstr(e.message, ptr) != NULL &&
                    strstr(e.message, msg) != NULL,
                "%s: the error names the file, %s and the problem", ent->d_name, ptr))
            printf("#   got: %s\n#   want: %s ... %s ... %s\n", e.message, quoted, ptr, msg);
        ins_definition_free(def);
    }
    closedir(d);
    is_int(files, json_object_size(expect), "every expectation has its file");
    ok(files >= 30, "at least 30 broken definitions (%zu)", files);
    json_decref(expect);
}

static void test_caps(void)
{
    struct ins_definition *def = NULL;
    char path[128], *big;
    struct err e;
    FILE *f;

    snprintf(path, sizeof path, "%s/big-1.json", tmp);
    f = fopen(path, "w");
    big = calloc(1, INS_MAX_FILE_BYTES + 2);
    memset(big, ' ', INS_MAX_FILE_BYTES + 1);
    fwrite(big, 1, INS_MAX_FILE_BYTES + 1, f);
    fclose(f);
    ok(ins_definition_load(path, &def, &e) == INS_EIO && strstr(e.message, "too large"),
       "a file over 1 MB is refused before parsing: %s", e.message);
    unlink(path);
    free(big);
    ok(ins_definition_load("/nonexistent/x-1.json", &def, &e) == INS_EIO, "a missing file is EIO");
}

/* ------------------------------------------------------------- registry */

static void test_registry(void)
{
    struct ins_registry *reg = NULL;
    const struct ins_definition *d;
    size_t len;
    char *base = slurp(GOOD_FILE, &len), *v9, *v10, *p;
    struct err e;

    if (!ok(ins_registry_load(DEFS_DIR, &reg, &e) == 0, "shipped definitions load"))
        printf("#   %s | %s\n", e.message, e.detail);
    is_int(ins_registry_count(reg), 7, "seven shipped definitions");
    d = ins_registry_find(reg, "gad7", NULL);
    ok(d != NULL && strcmp(d->version, "1") == 0, "gad7, latest version");
    ok(ins_registry_find(reg, "gad7", "1") == d, "gad7 version 1");
    ok(ins_registry_find(reg, "gad7", "2") == NULL, "no gad7 version 2");
    ok(ins_registry_find(reg, "hads", NULL) == NULL, "no hads");
    is_str(ins_registry_at(reg, 0)->id, "ecrr", "sorted by id");
    d = ins_registry_find(reg, "ecrr", NULL);
    ok(ins_definition_total(d) == NULL, "ECR-R has no total");
    ok(ins_definition_score(d, "anxiety") && ins_definition_score(d, "avoidance"),
       "ECR-R has anxiety and avoidance");
    is_int(d->texts, INS_TEXTS_STUDY_SUPPLIED, "ECR-R ships without texts");
    is_int(ins_definition_item(d, "ecrr_9")->keyed, INS_KEYED_REVERSE, "ECR-R item 9 reversed");
    is_int(ins_definition_item(d, "ecrr_3")->keyed, INS_KEYED_FORWARD,
           "ECR-R item 3 forward (reversed only in the original ECR)");
    d = ins_registry_find(reg, "phq9", NULL);
    is_int(ins_definition_total(d)->max_missing, 2, "PHQ-9: two items may be missing");
    ok(ins_definition_source(d, "nhs-missing") != NULL, "PHQ-9 cites the NHS rule");
    d = ins_registry_find(reg, "who5", NULL);
    is_double(ins_definition_total(d)->max, 100, 0, "WHO-5 percentage score tops at 100");
    ins_registry_free(reg);
    reg = NULL;

    /* Versions compare as numbers; file names must match the definitions. */
    p = strstr(base, "\"version\": \"1\"");
    v9 = strdup(base);
    v10 = strdup(base);
    memcpy(v9 + (p - base), "\"version\": \"9\"", 14);
    {
        size_t off = (size_t)(p - base);
        free(v10);
        v10 = malloc(len + 2);
        memcpy(v10, base, off);
        memcpy(v10 + off, "\"version\": \"10\"", 15);
        strcpy(v10 + off + 15, base + off + 14);
    }
    put("demo-1.json", base);
    put("demo-9.json", v9);
    put("demo-10.json", v10);
    put("notes.txt", "not a definition");
    if (ok(ins_registry_load(tmp, &reg, &e) == 0, "a folder of three versions loads"))
        is_str(ins_registry_find(reg, "demo", NULL)->version, "10", "latest of 1, 9, 10 is 10");
    ins_registry_free(reg);
    reg = NULL;
    put("other-2.json", base);
    ok(ins_registry_load(tmp, &reg, &e) == INS_EINVAL && strstr(e.message, "other-2.json") &&
           strstr(e.detail, "demo-1.json"),
       "a file whose name does not match its definition is refused: %s", e.message);
    drop("other-2.json");
    put("zz-1.json", "{\"attune_instrument\": 1}");
    ok(ins_registry_load(tmp, &reg, &e) == INS_EINVAL && strstr(e.message, "zz-1.json"),
       "one bad file fails the whole folder, named: %s", e.message);
    drop("zz-1.json");
    ok(ins_registry_load("/nonexistent", &reg, &e) == INS_EIO, "a missing folder is EIO");
    drop("demo-1.json");
    drop("demo-9.json");
    drop("demo-10.json");
    drop("notes.txt");
    free(base);
    free(v9);
    free(v10);
}

/* ----------------------------------------------------------- texts, answers */

static void test_texts(const struct ins_registry *reg)
{
    const struct ins_definition *ecrr = ins_registry_find(reg, "ecrr", NULL);
    const struct ins_definition *gad7 = ins_registry_find(reg, "gad7", NULL);
    struct ins_texts_file *t = NULL;
    char buf[8192], path[128];
    size_t n = 0;
    struct err e;

    ok(ins_definition_renderable(gad7, NULL, &e) == 0, "GAD-7 renders with its own texts");
    is_str(ins_item_text(gad7, NULL, 3), "Trouble relaxing", "GAD-7 item 4 text");
    ok(ins_definition_renderable(ecrr, NULL, &e) == INS_EINVAL &&
           strstr(e.message, "has no item texts") && e.hint[0] != '\0',
       "ECR-R refuses to render without study texts: %s", e.message);
    ok(ins_item_text(ecrr, NULL, 0) == NULL, "no text for ECR-R item 1");

    n += (size_t)snprintf(buf + n, sizeof buf - n,
                          "{\"attune_texts\": 1, \"instrument\": \"ecrr\", \"version\": \"1\", "
                          "\"language\": \"en\", \"permission\": \"test\", \"items\": {");
    for (int i = 1; i <= 36; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"ecrr_%d\": \"Statement %d\"",
                              i > 1 ? ", " : "", i, i);
    snprintf(buf + n, sizeof buf - n, "}}");
    put("ecrr-texts.json", buf);
    snprintf(path, sizeof path, "%s/ecrr-texts.json", tmp);
    if (ok(ins_texts_load(ecrr, path, &t, &e) == 0, "a complete texts file loads")) {
        ok(ins_definition_renderable(ecrr, t, &e) == 0, "ECR-R renders with the study's texts");
        is_str(ins_item_text(ecrr, t, 8), "Statement 9", "item 9 text from the study");
    }
    ins_texts_free(t);
    t = NULL;
    /* One text short, one unknown item, wrong instrument. */
    *strstr(buf, ", \"ecrr_36\"") = '\0';
    strcat(buf, "}}");
    put("ecrr-texts.json", buf);
    ok(ins_texts_load(ecrr, path, &t, &e) == INS_EINVAL && strstr(e.message, "ecrr_36"),
       "a missing text is named: %s", e.message);
    put("ecrr-texts.json", "{\"attune_texts\": 1, \"instrument\": \"ecrr\", \"version\": \"1\", "
                           "\"language\": \"en\", \"permission\": \"x\", \"items\": "
                           "{\"ecrr_99\": \"?\"}}");
    ok(ins_texts_load(ecrr, path, &t, &e) == INS_EINVAL && strstr(e.message, "ecrr_99"),
       "an unknown item is named: %s", e.message);
    ok(ins_texts_load(gad7, path, &t, &e) == INS_EINVAL && strstr(e.message, "not \"gad7\""),
       "texts for another instrument are refused: %s", e.message);
    drop("ecrr-texts.json");
}

static int check_questionnaire(const json_t *q, const struct ins_definition *def);
static const json_t *item_by_link(const json_t *q, const char *link);

/* A PSS-10 texts document with made-up wording (never the licensed items). */
static json_t *pss10_texts(void)
{
    json_t *items = json_object();
    char id[16], text[64];

    for (int i = 1; i <= 10; i++) {
        snprintf(id, sizeof id, "pss10_%d", i);
        snprintf(text, sizeof text, "Study wording for PSS-10 item %d", i);
        json_object_set_new(items, id, json_string(text));
    }
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:o}", "attune_texts", 1, "instrument", "pss10",
                     "version", "1", "language", "en-GB", "permission", "Test permission statement",
                     "items", items);
}

/* Sets `key` of a copy of `base` to `v` (NULL removes it) and checks it. */
static int texts_variant(const struct ins_definition *def, json_t *base, const char *key, json_t *v,
                         struct err *e)
{
    struct ins_texts_file *t = NULL;
    json_t *doc = json_deep_copy(base);
    int rc;

    if (v == NULL)
        json_object_del(doc, key);
    else
        json_object_set_new(doc, key, v);
    rc = ins_texts_from_json(def, doc, "variant.json", &t, e);
    ins_texts_free(t);
    json_decref(doc);
    return rc;
}

static void test_texts_from_json(const struct ins_registry *reg)
{
    const struct ins_definition *pss = ins_registry_find(reg, "pss10", "1");
    const struct ins_definition *gad7 = ins_registry_find(reg, "gad7", NULL);
    struct ins_texts_file *t = NULL, *f = NULL;
    json_t *doc = pss10_texts(), *items = json_object_get(doc, "items"), *q = NULL;
    const json_t *it;
    char path[128], sum[65];
    char *pretty, *canonical;
    struct err e;

    if (!ok(pss != NULL && doc != NULL, "PSS-10 is shipped"))
        return;
    ok(ins_definition_renderable(pss, NULL, &e) == INS_EINVAL, "PSS-10 needs study texts");
    if (!ok(ins_texts_from_json(pss, doc, "stored", &t, &e) == 0, "texts from JSON load"))
        goto out;
    ok(ins_definition_renderable(pss, t, &e) == 0, "PSS-10 renders with them");
    is_str(ins_item_text(pss, t, 3), "Study wording for PSS-10 item 4", "item 4 from the study");
    is_str(ins_item_text(pss, t, 9), "Study wording for PSS-10 item 10", "item 10 from the study");
    ok(ins_item_text(pss, t, 10) == NULL, "no item 11");
    is_str(ins_texts_language(t), "en-GB", "the language tag is kept");
    is_str(ins_texts_permission(t), "Test permission statement", "the permission is kept");
    /* Canonical JSON as the format says: sorted keys, two-space indent,
     * a final newline; its SHA-256 in hex. */
    {
        char *dump = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        unsigned char h[crypto_hash_sha256_BYTES];
        size_t len = strlen(dump) + 2;
        canonical = malloc(len);
        snprintf(canonical, len, "%s\n", dump);
        free(dump);
        crypto_hash_sha256(h, (const unsigned char *)canonical, strlen(canonical));
        sodium_bin2hex(sum, sizeof sum, h, sizeof h);
    }
    is_str(ins_texts_canonical(t), canonical, "the canonical JSON is kept");
    is_str(ins_texts_checksum(t), sum, "the checksum is the SHA-256 of the canonical JSON");
    free(canonical);
    ok(strlen(ins_texts_checksum(t)) == 64, "a hex SHA-256");

    /* The same document in another layout, from a file: the same checksum. */
    pretty = json_dumps(doc, JSON_COMPACT);
    put("pss10-texts.json", pretty);
    free(pretty);
    snprintf(path, sizeof path, "%s/pss10-texts.json", tmp);
    if (ok(ins_texts_load(pss, path, &f, &e) == 0, "the file loads through the same checks"))
        is_str(ins_texts_checksum(f), ins_texts_checksum(t),
               "layout alone does not change the checksum");
    ins_texts_free(f);
    f = NULL;
    json_object_set_new(items, "pss10_4", json_string("Study wording for PSS-10 item 4, edited"));
    ok(ins_texts_from_json(pss, doc, "stored", &f, &e) == 0 &&
           strcmp(ins_texts_checksum(f), ins_texts_checksum(t)) != 0,
       "a changed wording changes the checksum");
    ins_texts_free(f);
    f = NULL;
    json_object_set_new(items, "pss10_4", json_string("Study wording for PSS-10 item 4"));

    /* FHIR with the study's texts. */
    if (ok(ins_fhir_questionnaire(pss, t, "http://example.org", &q, &e) == 0,
           "a Questionnaire with the study's texts")) {
        it = item_by_link(q, "pss10_4");
        is_str(json_string_value(json_object_get(it, "text")), "Study wording for PSS-10 item 4",
               "FHIR item 4 carries the study's text");
        is_str(json_string_value(json_object_get(q, "language")), "en-GB",
               "the Questionnaire takes the texts' language");
        ok(strstr(json_string_value(json_object_get(q, "copyright")),
                  "Item texts: Test permission statement") != NULL,
           "and their permission beside the licence");
        ok(check_questionnaire(q, pss) == 0, "and follows the R4 rules checked");
    }
    json_decref(q);

    /* Every refusal names the document and the field. */
    ok(texts_variant(pss, doc, "permission", json_string(""), &e) == INS_EINVAL &&
           strstr(e.message, "\"variant.json\": /permission"),
       "an empty permission is refused: %s", e.message);
    ok(texts_variant(pss, doc, "permission", json_string("  \n"), &e) == INS_EINVAL &&
           strstr(e.message, "/permission"),
       "a blank permission is refused: %s", e.message);
    ok(texts_variant(pss, doc, "permission", NULL, &e) == INS_EINVAL &&
           strstr(e.message, "not an item texts file") && strstr(e.detail, "permission"),
       "a missing permission is refused: %s / %s", e.message, e.detail);
    ok(texts_variant(pss, doc, "language", json_string("English"), &e) == INS_EINVAL &&
           strstr(e.message, "/language"),
       "a bad language tag is refused: %s", e.message);
    ok(texts_variant(pss, doc, "attune_texts", json_integer(2), &e) == INS_EINVAL &&
           strstr(e.message, "/attune_texts"),
       "another format version is refused: %s", e.message);
    ok(texts_variant(pss, doc, "colour", json_string("blue"), &e) == INS_EINVAL &&
           strstr(e.detail, "colour"),
       "an unknown key is refused: %s", e.detail);
    ok(texts_variant(pss, doc, "instrument", json_string("ecrr"), &e) == INS_EINVAL &&
           strstr(e.message, "texts are for \"ecrr\""),
       "texts for another instrument are refused: %s", e.message);
    ok(texts_variant(pss, doc, "version", json_string("2"), &e) == INS_EINVAL &&
           strstr(e.message, "version \"2\", not \"pss10\" version \"1\""),
       "texts for another version are refused: %s", e.message);
    {
        json_t *gdoc = json_deep_copy(doc);
        json_object_set_new(gdoc, "instrument", json_string("gad7"));
        ok(ins_texts_from_json(gad7, gdoc, "g.json", &f, &e) == INS_EINVAL &&
               strstr(e.message, "ships its own item texts"),
           "a definition with its own texts takes none: %s", e.message);
        json_decref(gdoc);
    }
    json_object_del(items, "pss10_7");
    ok(ins_texts_from_json(pss, doc, "short.json", &f, &e) == INS_EINVAL &&
           strstr(e.message, "\"short.json\": /items: no text for item \"pss10_7\""),
       "a missing item is named: %s", e.message);
    json_object_set_new(items, "pss10_7", json_string("Study wording for PSS-10 item 7"));
    json_object_set_new(items, "pss10_11", json_string("One too many"));
    ok(ins_texts_from_json(pss, doc, "long.json", &f, &e) == INS_EINVAL &&
           strstr(e.message, "/items/pss10_11: unknown item \"pss10_11\""),
       "an extra item is named: %s", e.message);
    json_object_del(items, "pss10_11");
    json_object_set_new(items, "pss10_2", json_integer(2));
    ok(ins_texts_from_json(pss, doc, "n.json", &f, &e) == INS_EINVAL &&
           strstr(e.message, "/items/pss10_2: must be a text"),
       "a text that is not a string is refused: %s", e.message);
    json_object_set_new(items, "pss10_2", json_string(""));
    ok(ins_texts_from_json(pss, doc, "n.json", &f, &e) == INS_EINVAL &&
           strstr(e.message, "/items/pss10_2: must be a text"),
       "an empty text is refused: %s", e.message);
    ok(f == NULL, "nothing is returned on failure");
    put("pss10-texts.json", "{\"attune_texts\": 1, \"attune_texts\": 1}");
    ok(ins_texts_load(pss, path, &f, &e) == INS_EINVAL && strstr(e.message, "invalid JSON"),
       "a file with a repeated key is refused: %s", e.message);
    drop("pss10-texts.json");
out:
    ins_texts_free(t);
    json_decref(doc);
}

static void test_answers(const struct ins_registry *reg, struct ins_problems *p)
{
    const struct ins_definition *gad7 = ins_registry_find(reg, "gad7", NULL);
    struct ins_answers *a = NULL;
    json_t *big, *j;
    double v;
    struct err e;

    ins_answers_new(gad7, &a, &e);
    ins_problems_clear(p);
    is_int(ins_answers_set(a, "gad7_1", 2, NULL, p), 0, "set gad7_1 = 2");
    is_int(ins_answers_set(a, "gad7_1", 1, NULL, p), INS_EANSWERS, "a second answer is refused");
    is_int(p->items[0].code, INS_PROBLEM_DUPLICATE, "as a duplicate");
    ok(ins_answers_get(a, 0, &v) && v == 2, "the first answer stays");
    is_int(ins_answers_set(a, "gad7_2", NAN, NULL, p), INS_EANSWERS, "NaN is not a number");
    is_int(ins_answers_count(a), 1, "one answer");
    is_int(ins_answers_check(a, p), INS_EANSWERS, "six required items missing");
    is_int(p->n, 2 + 6, "each reported");
    j = ins_answers_to_json(a);
    ok(json_integer_value(json_object_get(j, "gad7_1")) == 2 && json_object_size(j) == 1,
       "answers back to JSON");
    json_decref(j);
    ins_answers_free(a);

    big = json_object();
    for (int i = 0; i <= INS_MAX_ANSWER_KEYS; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(big, k, json_integer(0));
    }
    a = NULL;
    ok(ins_answers_from_json(gad7, big, &a, p, &e) == INS_EINVAL && a == NULL,
       "more than %d keys is refused outright", INS_MAX_ANSWER_KEYS);
    json_decref(big);
    big = json_array();
    ok(ins_answers_from_json(gad7, big, &a, p, &e) == INS_EINVAL, "answers must be an object");
    json_decref(big);

    /* Past INS_MAX_PROBLEMS, problems are counted, not kept. */
    big = json_object();
    for (int i = 0; i < INS_MAX_PROBLEMS + 5; i++) {
        char k[16];
        snprintf(k, sizeof k, "x%d", i);
        json_object_set_new(big, k, json_integer(0));
    }
    ins_problems_clear(p);
    ins_answers_from_json(gad7, big, &a, p, &e);
    ok(p->n == INS_MAX_PROBLEMS && p->n_dropped == 5 + 7, "problems capped at %d, %zu dropped",
       INS_MAX_PROBLEMS, p->n_dropped);
    j = ins_problems_to_json(p, "/answers");
    ok(json_array_size(j) == INS_MAX_PROBLEMS + 1 &&
           strcmp(json_string_value(json_object_get(json_array_get(j, 0), "pointer")),
                  "/answers/x0") == 0,
       "problem JSON is prefixed and says how many were left out");
    json_decref(j);
    json_decref(big);
}

/* ------------------------------------------------------------------ FHIR */

/* A string member's value, or "" (never NULL). */
static const char *sv(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/*
 * The R4 rules a consumer needs from Attune's Questionnaire: resource fields,
 * unique linkIds, item types from the R4 value set, display items without
 * answers, one value[x] per answerOption, Codings with system and code, the
 * itemWeight extension as a decimal on every option, and calculatedExpression
 * on read-only score items. Returns the number of violations (printed).
 */
static int check_questionnaire(const json_t *q, const struct ins_definition *def)
{
    static const char *const types[] = {
        "group",       "display",    "boolean",   "decimal",  "integer", "date",
        "dateTime",    "time",       "string",    "text",     "url",     "choice",
        "open-choice", "attachment", "reference", "quantity", NULL};
    static const char *const statuses[] = {"draft", "active", "retired", "unknown", NULL};
    const char *url = json_string_value(json_object_get(q, "url"));
    const char *name = json_string_value(json_object_get(q, "name"));
    const char *status = json_string_value(json_object_get(q, "status"));
    json_t *items = json_object_get(q, "item"), *it;
    char want_url[256];
    int bad = 0;
    size_t i, n_scores = 0, n_questions = 0;

#define VIOLATION(...)                                                                             \
    do {                                                                                           \
        printf("#   %s: ", def->id);                                                               \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        bad++;                                                                                     \
    } while (0)

    snprintf(want_url, sizeof want_url, "http://example.org/fhir/Questionnaire/%s", def->id);
    if (strcmp(sv(json_object_get(q, "resourceType")), "Questionnaire") != 0)
        VIOLATION("resourceType");
    if (url == NULL || strcmp(url, want_url) != 0)
        VIOLATION("url %s", url ? url : "(none)");
    if (!json_is_string(json_object_get(q, "version")))
        VIOLATION("version");
    if (status == NULL || !in_list(status, statuses))
        VIOLATION("status");
    if (name == NULL || !(name[0] >= 'A' && name[0] <= 'Z') ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
            strlen(name))
        VIOLATION("name %s", name ? name : "(none)");
    if (!json_is_string(json_object_get(q, "copyright")))
        VIOLATION("copyright notice missing");
    if (!json_is_array(items) || json_array_size(items) == 0) {
        VIOLATION("no items");
        return bad;
    }
    json_array_foreach(items, i, it)
    {
        const char *link = json_string_value(json_object_get(it, "linkId"));
        const char *type = json_string_value(json_object_get(it, "type"));
        json_t *opts = json_object_get(it, "answerOption"), *code = json_object_get(it, "code");
        size_t k;
        json_t *o;

        if (link == NULL || type == NULL || !in_list(type, types)) {
            VIOLATION("item %zu: linkId or type", i);
            continue;
        }
        for (k = 0; k < i; k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(items, k), "linkId")),
                       link) == 0)
                VIOLATION("linkId %s repeats", link);
        json_array_foreach(code, k, o)
        {
            if (!json_is_string(json_object_get(o, "system")) ||
                !json_is_string(json_object_get(o, "code")))
                VIOLATION("%s: code without system and code", link);
        }
        if (strcmp(type, "display") == 0) {
            if (opts != NULL || json_object_get(it, "required") != NULL)
                VIOLATION("%s: display item with answers or required", link);
            continue;
        }
        if (json_is_true(json_object_get(it, "readOnly"))) {
            json_t *ext = json_array_get(json_object_get(it, "extension"), 0);
            json_t *ex = json_object_get(ext, "valueExpression");
            n_scores++;
            if (strcmp(sv(json_object_get(ext, "url")), INS_FHIR_CALCULATED_EXPRESSION) != 0 ||
                strcmp(sv(json_object_get(ex, "language")), "text/fhirpath") != 0 ||
                strstr(sv(json_object_get(ex, "expression")), ".sum()") == NULL)
                VIOLATION("%s: score item without a FHIRPath calculatedExpression", link);
            continue;
        }
        n_questions++;
        if (!json_is_boolean(json_object_get(it, "required")))
            VIOLATION("%s: required not a boolean", link);
        if (strcmp(type, "choice") == 0) {
            const struct ins_item *di = ins_definition_item(def, link);
            if (!json_is_array(opts) || di == NULL ||
                json_array_size(opts) != di->options->n_options) {
                VIOLATION("%s: answerOption count", link);
                continue;
            }
            json_array_foreach(opts, k, o)
            {
                const char *key;
                json_t *v, *ext = json_object_get(o, "extension");
                int values = 0;
                json_object_foreach(o, key, v) values += strncmp(key, "value", 5) == 0;
                if (values != 1 || !json_is_object(json_object_get(o, "valueCoding")))
                    VIOLATION("%s: answerOption %zu has %d value[x]", link, k, values);
                v = json_object_get(o, "valueCoding");
                if (!json_is_string(json_object_get(v, "system")) ||
                    !json_is_string(json_object_get(v, "code")) ||
                    !json_is_string(json_object_get(v, "display")))
                    VIOLATION("%s: answerOption %zu coding", link, k);
                v = json_array_get(ext, 0);
                if (json_array_size(ext) != 1 ||
                    strcmp(sv(json_object_get(v, "url")), INS_FHIR_ITEM_WEIGHT) != 0 ||
                    !json_is_real(json_object_get(v, "valueDecimal")) ||
                    json_real_value(json_object_get(v, "valueDecimal")) !=
                        di->options->options[k].weight)
                    VIOLATION("%s: answerOption %zu itemWeight", link, k);
            }
        }
    }
    if (n_questions != def->n_items)
        VIOLATION("%zu questions for %zu items", n_questions, def->n_items);
    if (n_scores != def->n_scores)
        VIOLATION("%zu score items for %zu scores", n_scores, def->n_scores);
    return bad;
#undef VIOLATION
}

static const json_t *item_by_link(const json_t *q, const char *link)
{
    size_t i;
    json_t *it;

    json_array_foreach(json_object_get(q, "item"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "linkId")), link) == 0)
            return it;
    }
    return NULL;
}

static void test_fhir_questionnaire(const struct ins_registry *reg)
{
    json_t *q = NULL;
    const json_t *it, *opt;
    struct err e;

    for (size_t i = 0; i < ins_registry_count(reg); i++) {
        const struct ins_definition *def = ins_registry_at(reg, i);
        json_t *qq = NULL;
        if (!ok(ins_fhir_questionnaire(def, NULL, "http://example.org/", &qq, &e) == 0,
                "%s: Questionnaire built", def->id))
            continue;
        ok(check_questionnaire(qq, def) == 0, "%s: Questionnaire follows the R4 rules checked",
           def->id);
        json_decref(qq);
    }
    ins_fhir_questionnaire(ins_registry_find(reg, "gad7", NULL), NULL, "http://example.org", &q,
                           &e);
    is_str(
        json_string_value(json_object_get(json_array_get(json_object_get(q, "code"), 0), "code")),
        "69737-5", "GAD-7 panel code");
    it = item_by_link(q, "gad7_1");
    is_str(
        json_string_value(json_object_get(json_array_get(json_object_get(it, "code"), 0), "code")),
        "69725-0", "GAD-7 item 1 LOINC code");
    opt = json_array_get(json_object_get(it, "answerOption"), 3);
    is_str(json_string_value(json_object_get(json_object_get(opt, "valueCoding"), "code")),
           "LA6571-9", "'Nearly every day' is LA6571-9");
    is_double(json_real_value(json_object_get(json_array_get(json_object_get(opt, "extension"), 0),
                                              "valueDecimal")),
              3, 0, "and weighs 3");
    it = item_by_link(q, "total");
    ok(it != NULL && strstr(json_string_value(json_object_get(
                                json_object_get(json_array_get(json_object_get(it, "extension"), 0),
                                                "valueExpression"),
                                "expression")),
                            "'gad7_7')).answer.value.weight().sum()") != NULL,
       "GAD-7 total sums the weights of items 1-7");
    is_str(
        json_string_value(json_object_get(json_array_get(json_object_get(it, "code"), 0), "code")),
        "70274-6", "GAD-7 total LOINC code");
    json_decref(q);

    ins_fhir_questionnaire(ins_registry_find(reg, "ecrr", NULL), NULL, "http://example.org", &q,
                           &e);
    it = item_by_link(q, "ecrr_9");
    opt = json_array_get(json_object_get(it, "answerOption"), 0);
    is_double(json_real_value(json_object_get(json_array_get(json_object_get(opt, "extension"), 0),
                                              "valueDecimal")),
              7, 0, "ECR-R item 9: 'strongly disagree' weighs 7");
    is_str(json_string_value(json_object_get(json_object_get(opt, "valueCoding"), "system")),
           "urn:attune:option-set:ecrr:agree7_reverse", "non-LOINC options get Attune codes");
    ok(json_object_get(it, "text") == NULL, "no text in a scoring key");
    it = item_by_link(q, "anxiety");
    ok(strstr(json_string_value(json_object_get(
                  json_object_get(json_array_get(json_object_get(it, "extension"), 0),
                                  "valueExpression"),
                  "expression")),
              ".answer.count()") != NULL,
       "ECR-R anxiety is a mean");
    json_decref(q);
    ins_fhir_questionnaire(ins_registry_find(reg, "who5", NULL), NULL, "http://example.org", &q,
                           &e);
    it = item_by_link(q, "total");
    ok(strstr(json_string_value(json_object_get(
                  json_object_get(json_array_get(json_object_get(it, "extension"), 0),
                                  "valueExpression"),
                  "expression")),
              ") * 4") != NULL,
       "WHO-5 total is scaled by 4");
    json_decref(q);
}

/* The ECR-R's reverse-keyed items, as Fraley's page lists them. */
static int ecrr_reversed(int item)
{
    static const int rev[] = {9, 11, 20, 22, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36};
    for (size_t k = 0; k < sizeof rev / sizeof rev[0]; k++)
        if (rev[k] == item)
            return 1;
    return 0;
}

static json_t *qr_answer(const char *link, json_t *answer)
{
    return json_pack("{s:s, s:[o]}", "linkId", link, "answer", answer);
}

static void test_fhir_response(const struct ins_registry *reg, struct ins_problems *p)
{
    const struct ins_definition *def = NULL;
    struct ins_answers *a = NULL;
    struct ins_result *r = NULL;
    json_t *qr, *items;
    struct err e;
    int rc;

    /* GAD-7 by LOINC codes, in a group, with the calculated total echoed. */
    items = json_array();
    for (int i = 1; i <= 7; i++) {
        char link[16];
        snprintf(link, sizeof link, "gad7_%d", i);
        json_array_append_new(items, qr_answer(link, json_pack("{s:{s:s, s:s}}", "valueCoding",
                                                               "system", "http://loinc.org", "code",
                                                               i <= 4 ? "LA6570-1" : "LA6569-3")));
    }
    json_array_append_new(items, qr_answer("total", json_pack("{s:f}", "valueDecimal", 99.0)));
    qr = json_pack("{s:s, s:s, s:s, s:[{s:s, s:o}]}", "resourceType", "QuestionnaireResponse",
                   "questionnaire", "https://attune.example/fhir/Questionnaire/gad7|1", "status",
                   "completed", "item", "linkId", "group", "item", items);
    ins_problems_clear(p);
    rc = ins_fhir_response_read(reg, qr, &def, &a, p, &e);
    if (!ok(rc == 0 && def != NULL && strcmp(def->id, "gad7") == 0, "GAD-7 response read"))
        for (size_t i = 0; i < p->n; i++)
            printf("#   %s %s\n", p->items[i].pointer, p->items[i].message);
    if (rc == 0 && ins_score(a, &r, &e) == 0)
        is_double(ins_result_total(r)->value, 4 * 2 + 3 * 1, 0,
                  "scored from LOINC codes: 11, the echoed total ignored");
    ins_result_free(r);
    ins_answers_free(a);
    a = NULL;
    r = NULL;
    json_decref(qr);

    /* ECR-R by Attune codes and plain integers. */
    items = json_array();
    for (int i = 1; i <= 36; i++) {
        char link[16], sys[64];
        snprintf(link, sizeof link, "ecrr_%d", i);
        snprintf(sys, sizeof sys, "urn:attune:option-set:ecrr:%s",
                 ecrr_reversed(i) ? "agree7_reverse" : "agree7");
        json_array_append_new(items,
                              qr_answer(link, i % 2 ? json_pack("{s:i}", "valueInteger", 7)
                                                    : json_pack("{s:{s:s, s:s}}", "valueCoding",
                                                                "system", sys, "code", "7")));
    }
    qr = json_pack("{s:s, s:s, s:s, s:o}", "resourceType", "QuestionnaireResponse", "questionnaire",
                   "Questionnaire/ecrr", "status", "amended", "item", items);
    rc = ins_fhir_response_read(reg, qr, &def, &a, p, &e);
    ok(rc == 0 && ins_score(a, &r, &e) == 0 && fabs(r->scores[0].value - 114.0 / 18) < 1e-12 &&
           fabs(r->scores[1].value - 3) < 1e-12,
       "ECR-R response from codes and integers scores (6.33, 3.00)");
    ins_result_free(r);
    ins_answers_free(a);
    a = NULL;
    json_decref(qr);

    /* Every problem, with pointers into the resource. */
    qr = json_pack(
        "{s:s, s:s, s:s, s:[o, o, o, o, {s:s, s:[{s:{s:s, s:s}}, {s:i}]}]}", "resourceType",
        "QuestionnaireResponse", "questionnaire", "http://x/fhir/Questionnaire/gad7", "status",
        "in-progress", "item", qr_answer("gad7_1", json_pack("{s:s}", "valueString", "often")),
        qr_answer("gad7_2", json_pack("{s:{s:s, s:s}}", "valueCoding", "system",
                                      "http://snomed.info/sct", "code", "1")),
        qr_answer("gad7_9", json_pack("{s:i}", "valueInteger", 1)),
        qr_answer("gad7_3", json_pack("{s:i}", "valueInteger", 7)), "linkId", "gad7_4", "answer",
        "valueCoding", "system", "http://loinc.org", "code", "LA6570-1", "valueInteger", 1);
    ins_problems_clear(p);
    a = NULL;
    rc = ins_fhir_response_read(reg, qr, &def, &a, p, &e);
    ok(rc == INS_EANSWERS && a == NULL, "a bad response is refused");
    {
        static const char *const want[][2] = {
            {"/status", "malformed"},
            {"/item/0/answer/0", "not-a-number"},
            {"/item/1/answer/0/valueCoding", "invalid-value"},
            {"/item/2", "unknown-item"},
            {"/item/3/answer/0/valueInteger", "invalid-value"},
            {"/item/4/answer", "malformed"},
            {"/item", "required-missing"},
        };
        /* Items answered wrongly are reported once; only 5, 6 and 7 are missing. */
        int all = p->n == 6 + 3;
        for (size_t i = 0; i < sizeof want / sizeof want[0] && i < p->n; i++)
            all = all && strcmp(p->items[i].pointer, want[i][0]) == 0 &&
                  strcmp(ins_problem_code_name(p->items[i].code), want[i][1]) == 0;
        if (!ok(all, "every problem named with its pointer and code"))
            for (size_t i = 0; i < p->n; i++)
                printf("#   %s %s %s\n", p->items[i].pointer,
                       ins_problem_code_name(p->items[i].code), p->items[i].message);
    }
    json_decref(qr);

    qr = json_pack("{s:s, s:s, s:s}", "resourceType", "QuestionnaireResponse", "questionnaire",
                   "http://x/fhir/Questionnaire/hads", "status", "completed");
    ins_problems_clear(p);
    ok(ins_fhir_response_read(reg, qr, &def, &a, p, &e) == INS_ENOTFOUND && p->n == 1 &&
           strcmp(p->items[0].pointer, "/questionnaire") == 0,
       "an unknown questionnaire is INS_ENOTFOUND at /questionnaire");
    json_decref(qr);
    qr = json_pack("{s:s}", "resourceType", "Patient");
    ins_problems_clear(p);
    ok(ins_fhir_response_read(reg, qr, &def, &a, p, &e) == INS_EANSWERS &&
           strcmp(p->items[0].pointer, "/resourceType") == 0,
       "another resource type is refused");
    json_decref(qr);
}

/* ---------------------------------------------------------------- REDCap */

static int has_note(const struct ins_redcap_import *imp, const char *field, const char *part)
{
    for (size_t i = 0; i < imp->n_notes; i++)
        if (strcmp(imp->notes[i].field, field) == 0 && strstr(imp->notes[i].message, part))
            return 1;
    return 0;
}

static void test_redcap_import(const struct ins_registry *reg)
{
    struct ins_redcap_import *imp = NULL;
    const struct ins_definition *phq9, *gad7;
    struct ins_answers *a = NULL;
    struct ins_result *r = NULL;
    size_t len;
    char *csv = slurp(REDCAP_FILE, &len);
    struct err e;

    ok(csv != NULL && memcmp(csv, "\xEF\xBB\xBF", 3) == 0 && strstr(csv, "\r\n") != NULL,
       "the fixture is REDCap's format: BOM, CRLF");
    if (!ok(ins_redcap_import(csv, len, "wellbeing.csv", NULL, &imp, &e) == 0,
            "a REDCap data dictionary imports")) {
        printf("#   %s | %s\n", e.message, e.detail);
        free(csv);
        return;
    }
    is_int(imp->n_defs, 4, "four forms became definitions");
    is_str(imp->defs[0]->id, "demographics", "form 1");
    is_int(imp->defs[0]->n_items, 2, "demographics: age and sex");
    is_int(imp->defs[0]->items[0].type, INS_ITEM_INTEGER, "age is an integer item");
    ok(imp->defs[0]->items[0].min == 18 && imp->defs[0]->items[0].max == 99, "age 18-99");
    phq9 = imp->defs[1];
    is_str(phq9->id, "phq9", "form 2");
    is_int(phq9->n_items, 10, "phq9: ten items");
    is_str(phq9->instructions,
           "Over the last 2 weeks, how often have you been bothered by any of the following "
           "problems?",
           "rich-text section header became plain instructions");
    is_str(phq9->items[0].text, "Little interest or pleasure in doing things", "item text");
    ok(phq9->items[0].required && !phq9->items[9].required, "required flags kept");
    is_int(phq9->items[0].options->n_options, 4, "four choices");
    is_str(phq9->items[0].options->options[3].label, "Nearly every day", "choice labels");
    ok(phq9->items[0].options == phq9->items[8].options, "identical choices share a set");
    ok(strstr(phq9->items[9].text, "<u>") == NULL && strstr(phq9->items[9].text, "any problems"),
       "HTML stripped from labels");
    is_int(phq9->n_scores, 0, "no scores: REDCap has none");
    gad7 = imp->defs[2];
    is_int(gad7->n_items, 8, "gad7: seven items and the yes/no contact question");
    ok(strchr(gad7->items[7].text, '\n') != NULL, "a label with a line break survives quoting");
    is_str(gad7->items[7].section, "Contact", "a later section header stays an item section");
    ok(gad7->items[7].options->n_options == 2 && gad7->items[7].options->options[0].value == 1 &&
           strcmp(gad7->items[7].options->options[0].label, "Yes") == 0,
       "yesno becomes 1 Yes / 0 No");
    is_int(imp->defs[3]->items[0].type, INS_ITEM_DECIMAL, "number_1dp becomes a decimal item");

    ok(has_note(imp, "record_id", "record id"), "note: record id");
    ok(has_note(imp, "consent_date", "not translated"), "note: date field");
    ok(has_note(imp, "phq9_total", "calculated field") && has_note(imp, "phq9_total", "sum("),
       "note: calculated field with its formula");
    ok(has_note(imp, "phq9_10", "branching logic"), "note: branching logic");
    ok(has_note(imp, "phq9_1", "matrix layout"), "note: matrix");
    ok(has_note(imp, "phq9_comment", "free-text"), "note: notes field");
    ok(has_note(imp, "gad7_treatment", "checkbox"), "note: checkbox");
    ok(has_note(imp, "mood_slider", "slider"), "note: slider");
    ok(has_note(imp, "overall_health", "consecutive"), "note: choices with a gap");
    ok(has_note(imp, "sex", "custom alignment"), "note: custom alignment");
    ok(has_note(imp, "", "citation, licence"), "note: what a dictionary does not carry");

    /* The imported PHQ-9 takes answers like the shipped one. */
    {
        json_t *ans = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "phq9_1", 1,
                                "phq9_2", 1, "phq9_3", 1, "phq9_4", 1, "phq9_5", 1, "phq9_6", 1,
                                "phq9_7", 1, "phq9_8", 1, "phq9_9", 1);
        struct ins_problems *p = calloc(1, sizeof *p);
        ok(ins_answers_from_json(phq9, ans, &a, p, &e) == 0 && ins_score(a, &r, &e) == 0 &&
               r->items_answered == 9 && ins_result_total(r) == NULL,
           "answers to the imported PHQ-9 validate; no total until scores are added");
        json_decref(ans);
        free(p);
    }
    ins_result_free(r);
    ins_answers_free(a);
    ins_redcap_import_free(imp);
    free(csv);
    (void)reg;
}

static void test_redcap_round_trip(const struct ins_registry *reg)
{
    struct err e;

    for (size_t i = 0; i < ins_registry_count(reg); i++) {
        const struct ins_definition *def = ins_registry_at(reg, i);
        struct ins_redcap_import *imp = NULL;
        json_t *a = NULL, *b = NULL;
        char *csv = NULL;
        size_t len;

        if (!ok(ins_redcap_export(def, &csv, &len, &e) == 0, "%s: exported to REDCap", def->id))
            continue;
        if (ok(ins_redcap_import(csv, len, "export.csv", NULL, &imp, &e) == 0 && imp->n_defs == 1,
               "%s: its export imports", def->id)) {
            a = ins_definition_to_json(def);
            b = ins_definition_to_json(imp->defs[0]);
            ok(json_equal(a, b), "%s: unchanged by the round trip", def->id);
        } else {
            printf("#   %s | %s\n", e.message, e.detail);
        }
        json_decref(a);
        json_decref(b);
        ins_redcap_import_free(imp);
        free(csv);
    }
}

static void test_redcap_refusals(const struct ins_registry *reg)
{
    const struct ins_definition *gad7 = ins_registry_find(reg, "gad7", NULL);
    struct ins_redcap_import *imp = NULL;
    char *csv = NULL, *hit;
    size_t len;
    struct err e;

    ins_redcap_export(gad7, &csv, &len, &e);
    ok(strncmp(csv, "\xEF\xBB\xBF\"Variable / Field Name\",\"Form Name\"", 36) == 0 &&
           strstr(csv, ",Identifier?,") && strstr(csv, "\r\nrecord_id,gad7,,text,\"Record ID\""),
       "export writes REDCap's header, quoting and record id row");
    /* Someone relabels an option in REDCap: the Attune metadata is stale. */
    hit = strstr(csv, "3, Nearly every day");
    memcpy(hit, "3, Nearly all days!", 19);
    ok(ins_redcap_import(csv, len, "edited.csv", NULL, &imp, &e) == INS_EINVAL &&
           strstr(e.message, "do not match option set \"frequency\""),
       "edited choices are refused: %s", e.message);
    free(csv);

    {
        const char *hdr17 = "\"Variable / Field Name\",\"Form Name\",\"Section Header\",\"Field "
                            "Type\",\"Field Label\",\"Choices, Calculations, OR Slider "
                            "Labels\",\"Field Note\",\"Text Validation Type OR Show Slider "
                            "Number\",\"Text Validation Min\",\"Text Validation Max\","
                            "Identifier?,\"Branching Logic (Show field only if...)\",\"Required "
                            "Field?\",\"Custom Alignment\",\"Question Number (surveys "
                            "only)\",\"Matrix Group Name\",\"Matrix Ranking?\"\n";
        ok(ins_redcap_import(hdr17, strlen(hdr17), "old.csv", NULL, &imp, &e) == INS_EINVAL &&
               strstr(e.message, "row 1") && strstr(e.message, "18"),
           "a 17-column dictionary is refused: %s", e.message);
    }
    {
        char bad[2048];
        snprintf(bad, sizeof bad, "%s\nq1,f,,radio,\"Unclosed label,\"0, a | 1, b\"\n",
                 "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
                 "\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR "
                 "Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,"
                 "Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
                 "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field "
                 "Annotation");
        ok(ins_redcap_import(bad, strlen(bad), "bad.csv", NULL, &imp, &e) == INS_EINVAL &&
               strstr(e.message, "bad.csv") && strstr(e.message, "row 2"),
           "malformed CSV is refused with its row: %s", e.message);
        memcpy(strstr(bad, "Field Type"), "Field type", 10);
        strchr(bad, '\n')[1] = '\0';
        ok(ins_redcap_import(bad, strlen(bad), "bad.csv", NULL, &imp, &e) == INS_EINVAL &&
               strstr(e.message, "column 4"),
           "a wrong header is named by column: %s", e.message);
    }
}

int main(void)
{
    struct ins_registry *reg = NULL;
    struct ins_problems *p = calloc(1, sizeof *p);
    struct err e;

    if (sodium_init() < 0 || p == NULL)
        return 1;
    strcpy(tmp, "/tmp/attune-ins-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    test_good_and_checksum();
    test_broken();
    test_caps();
    test_registry();
    if (ins_registry_load(DEFS_DIR, &reg, &e) != 0) {
        ok(0, "registry: %s", e.message);
        return tap_done();
    }
    test_texts(reg);
    test_texts_from_json(reg);
    test_answers(reg, p);
    test_fhir_questionnaire(reg);
    test_fhir_response(reg, p);
    test_redcap_import(reg);
    test_redcap_round_trip(reg);
    test_redcap_refusals(reg);
    ins_registry_free(reg);
    free(p);
    rmdir(tmp);
    return tap_done();
}
