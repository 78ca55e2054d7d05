/*
 * ins.h — questionnaire instruments: definitions as data, one pure scoring
 * engine, and the REDCap and FHIR interchange built on them.
 *
 * A definition is a JSON file (docs/instruments.md), one per instrument and
 * version. Loading checks it strictly and turns it into the read-only structs
 * below; nothing is scored from JSON directly. The engine then:
 *
 *   1. builds a set of answers (item id -> numeric value) from a JSON object,
 *      a FHIR QuestionnaireResponse, or item by item, collecting EVERY problem
 *      (unknown item, value not among the options, not a number, required item
 *      missing) with a JSON pointer the caller can prefix ("/answers");
 *   2. scores it: the missing-item rule (void, prorate, mean substitution),
 *      totals and subscales (sum, mean, scaled sum), the severity band,
 *      cut-off flags and safety flags, items answered and missing.
 *
 * Pure C on jansson, libcsv and libsodium (the SHA-256 of each file): no
 * database, no network, no logging, no globals. Every function is
 * thread-safe on distinct objects; a loaded registry may be read by many
 * threads at once. The caller calls sodium_init() once before loading (main()
 * does), and numbers are parsed and printed in the C locale main() pins.
 *
 * Errors: functions return 0 or a negative INS_E* code and fill the
 * caller-owned struct err (common/err.h). Definition errors name the file and
 * the field as a JSON pointer: "gad7-1.json": /items/3/id: duplicate item id
 * "gad7_3". Problems with answers are not errors of the call: they come back
 * in a struct ins_problems with INS_EANSWERS.
 *
 * Ownership: a struct ins_definition and everything reachable from it is
 * owned by the definition (or by the registry holding it) and is read-only for
 * callers; pointers stay valid until ins_definition_free() or
 * ins_registry_free(). Every `**out` is the caller's to free with the matching
 * _free(), and every _free(NULL) is a no-op. Outputs are untouched on failure.
 */
#ifndef ATTUNE_INS_H
#define ATTUNE_INS_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

enum {
    INS_EINVAL = -1,    /* a definition, document or argument that breaks the rules */
    INS_EIO = -2,       /* a file or folder cannot be read */
    INS_ENOTFOUND = -3, /* no such instrument, version or item */
    INS_ENOMEM = -4,    /* out of memory */
    INS_EANSWERS = -5,  /* the answers have problems: see struct ins_problems */
};

/* Caps on every input (see docs/instruments.md for the reasoning). */
#define INS_MAX_FILE_BYTES   (1024 * 1024) /* one definition file */
#define INS_MAX_DEFINITIONS  256           /* definitions in one registry */
#define INS_MAX_ITEMS        200
#define INS_MAX_OPTIONS      32 /* per option set */
#define INS_MAX_OPTION_SETS  16
#define INS_MAX_SCORES       16
#define INS_MAX_BANDS        12 /* per score */
#define INS_MAX_CUTOFFS      16
#define INS_MAX_FLAGS        16
#define INS_MAX_NORMS        16 /* per score */
#define INS_MAX_SOURCES      64
#define INS_MAX_TEXT         2000 /* item texts, instructions, citations, notices */
#define INS_MAX_LABEL        200  /* option labels, titles, short strings */
#define INS_ID_MAX           63   /* instrument id: ^[a-z0-9][a-z0-9_-]{0,62}$ */
#define INS_VERSION_MAX      32   /* ^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$ */
#define INS_ITEM_ID_MAX      64   /* ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ */
#define INS_MAX_ANSWER_KEYS  1000 /* keys in one answers object */
#define INS_MAX_PROBLEMS     100  /* problems kept per answer set; the rest are counted */
#define INS_MAX_REDCAP_BYTES (4 * 1024 * 1024)
#define INS_MAX_REDCAP_ROWS  5000

/* The JSON format's own version: the "attune_instrument" key of every file. */
#define INS_FORMAT_VERSION 1

/* ---------------------------------------------------------------- definitions */

/* Whether the file carries the item texts (it may, by licence) or only the
 * scoring key, the texts coming from a file the study supplies. */
enum ins_texts {
    INS_TEXTS_INCLUDED = 0,
    INS_TEXTS_STUDY_SUPPLIED,
};

enum ins_item_type {
    INS_ITEM_CHOICE = 0, /* one option of an option set */
    INS_ITEM_INTEGER,    /* a whole number between min and max */
    INS_ITEM_DECIMAL,    /* a number between min and max */
};

enum ins_keyed {
    INS_KEYED_FORWARD = 0, /* weights rise with the option value */
    INS_KEYED_REVERSE,     /* weights fall as the option value rises */
};

enum ins_method {
    INS_METHOD_SUM = 0,    /* sum of item weights */
    INS_METHOD_MEAN,       /* mean of the answered items' weights */
    INS_METHOD_SCALED_SUM, /* sum times `factor` (WHO-5: x4) */
};

enum ins_missing_rule {
    INS_MISSING_NONE = 0,        /* max_missing is 0: any missing item voids the score */
    INS_MISSING_PRORATE,         /* sum x n_items / answered */
    INS_MISSING_MEAN_SUBSTITUTE, /* each missing item counts as the mean of the answered ones */
};

enum ins_op {
    INS_OP_GE = 0, /* >= */
    INS_OP_GT,     /* >  */
    INS_OP_LE,     /* <= */
    INS_OP_LT,     /* <  */
    INS_OP_EQ,     /* == */
    INS_OP_MISSING /* the item was not answered (safety flags only) */
};

/* One answer option. `value` is what is stored (a whole number: the values of
 * a set are consecutive); `weight` is what it adds to a score. */
struct ins_option {
    double value;
    double weight;
    const char *label;
    const char *loinc; /* LOINC answer code ("LA6568-5") or NULL */
};

struct ins_option_set {
    const char *id;
    const struct ins_option *options; /* in display order */
    size_t n_options;
    double min_value, max_value;   /* of the values */
    double min_weight, max_weight; /* of the weights */
    const char *source;            /* key into the definition's sources */
};

struct ins_item {
    const char *id;      /* stable: the FHIR linkId, the REDCap variable, response_items.item_id */
    const char *text;    /* NULL when the texts are study-supplied */
    const char *section; /* a heading shown before the item, or NULL */
    const char *note;    /* help shown under the item, or NULL */
    const char *loinc;   /* LOINC question code or NULL */
    enum ins_item_type type;
    const struct ins_option_set *options; /* INS_ITEM_CHOICE only */
    double min, max;                      /* of the values (numeric items: as declared) */
    int required;
    enum ins_keyed keyed;
    const char *source;
};

/* A severity band: published as an inclusive range ("10-14"). A score between
 * two published ranges (a prorated 14.6) belongs to the lower band: it has not
 * reached the next band's threshold. */
struct ins_band {
    double min, max;
    const char *label;
};

struct ins_norm {
    const char *population;
    double mean, sd;
    long n; /* 0 when not published */
    const char *source;
};

struct ins_score {
    const char *id; /* "total" is the total; any other id is a subscale */
    const char *label;
    const char *loinc;   /* LOINC code of the score, or NULL */
    const size_t *items; /* indexes into the definition's items */
    size_t n_items;
    enum ins_method method;
    double factor; /* INS_METHOD_SCALED_SUM only, else 1 */
    const char *source;
    int max_missing; /* items that may be missing before the score is void */
    enum ins_missing_rule missing_rule;
    const char *missing_source;
    double min, max; /* the possible range, computed from the weights */
    int integral;    /* every complete score is a whole number */
    const struct ins_band *bands;
    size_t n_bands;
    const char *bands_source;
    int has_mcid;
    double mcid; /* minimal clinically important difference, in score points */
    const char *mcid_source;
    double alpha; /* Cronbach's alpha, or NAN */
    const char *alpha_source;
    double retest;                /* test-retest reliability, or NAN */
    const char *retest_statistic; /* "ICC", "r" */
    const char *retest_interval;  /* "1 week" or NULL */
    const char *retest_source;
    const struct ins_norm *norms;
    size_t n_norms;
};

/* A clinical cut-off on a score: caseness (total >= 10), remission (< 5). */
struct ins_cutoff {
    const char *id;
    const char *label;
    size_t score; /* index into the definition's scores */
    enum ins_op op;
    double value;
    const char *source;
};

/* A safety flag on one item's answered value (PHQ-9 item 9 > 0): the study
 * team must see it whatever the scores say, even on a voided form. */
struct ins_flag {
    const char *id;
    const char *message;
    size_t item; /* index into the definition's items */
    enum ins_op op;
    double value; /* unused for INS_OP_MISSING */
    const char *source;
};

struct ins_source {
    const char *key;
    const char *text; /* the citation or URL */
};

struct ins_definition {
    const char *id;
    const char *version;
    const char *title;
    const char *short_title; /* "GAD-7" */
    const char *language;    /* BCP 47 ("en"); "und" when unknown */
    const char *citation;
    const char *licence; /* the notice to keep with the instrument */
    const char *licence_source;
    const char *instructions; /* NULL when none */
    const char *recall_period;
    enum ins_texts texts;
    const char *loinc;        /* LOINC panel code or NULL */
    const char *loinc_source; /* source of every LOINC code in the file */
    const struct ins_option_set *option_sets;
    size_t n_option_sets;
    const struct ins_item *items;
    size_t n_items;
    const struct ins_score *scores;
    size_t n_scores;
    const struct ins_cutoff *cutoffs;
    size_t n_cutoffs;
    const struct ins_flag *flags;
    size_t n_flags;
    const struct ins_source *sources;
    size_t n_sources;
    const char *name; /* where it came from: the file name, or what the caller said */
    const char *text; /* the bytes the checksum covers: the file, or the canonical JSON */
    size_t text_len;
    char checksum[65]; /* hex SHA-256 of `text`: instruments.checksum */
    struct ins_definition_private *priv;
};

/*
 * Loads and checks one definition file (at most INS_MAX_FILE_BYTES). The file
 * name must be "<id>-<version>.json" matching the file's id and version.
 * INS_EIO when it cannot be read; INS_EINVAL naming the file and field.
 */
int ins_definition_load(const char *path, struct ins_definition **out, struct err *e);

/*
 * Checks a definition given as JSON (borrowed). `name` says where it came from
 * in messages. `text` is the canonical JSON (sorted keys, two-space indent),
 * and the checksum covers it. INS_EINVAL naming `name` and the field.
 */
int ins_definition_from_json(const json_t *root, const char *name, struct ins_definition **out,
                             struct err *e);

void ins_definition_free(struct ins_definition *def);

/*
 * The definition as canonical JSON (a new reference): every field the format
 * knows, defaults written out. Two definitions that mean the same thing give
 * equal JSON (json_equal), which is how round trips are checked. NULL when out
 * of memory.
 */
json_t *ins_definition_to_json(const struct ins_definition *def);

/* Lookups by id; NULL when absent. Borrowed. */
const struct ins_item *ins_definition_item(const struct ins_definition *def, const char *item_id);
const struct ins_score *ins_definition_score(const struct ins_definition *def,
                                             const char *score_id);
/* The score with id "total", or NULL (ECR-R has only subscales). */
const struct ins_score *ins_definition_total(const struct ins_definition *def);
/* The text of a source key, or NULL. */
const char *ins_definition_source(const struct ins_definition *def, const char *key);

/* Names for the enums, as written in the files ("sum", ">=", "study-supplied"). */
const char *ins_method_name(enum ins_method m);
const char *ins_op_name(enum ins_op op);
const char *ins_texts_name(enum ins_texts t);

/* ------------------------------------------------------- study-supplied texts */

/*
 * Item texts a study supplies for a definition shipped without them (ECR-R,
 * PSS-10): a JSON document {"attune_texts": 1, "instrument": "ecrr",
 * "version": "1", "language": "en", "permission": "...", "items": {"ecrr_1":
 * "...", ...}} that must name the definition's id and version, carry a
 * language tag and a non-blank permission statement (the study's licence to
 * use the wording), and give a text for every item and no other. Only a
 * definition whose texts are study-supplied takes one. The participant form
 * must refuse to render such a definition without them: see
 * ins_definition_renderable().
 *
 * The checksum covers the document's canonical JSON (sorted keys, two-space
 * indent, as ins_definition_to_json's text), so a file and the same document
 * read back from a database agree, and layout alone is not a change.
 */
struct ins_texts_file;

/*
 * Checks a texts document (borrowed) against `def`. `name` says where it came
 * from in messages (a file name, "study demo (stored)"). INS_EINVAL naming
 * `name` and the field: "pss10-en.json": /items/pss10_11: unknown item.
 * *out is freed with ins_texts_free().
 */
int ins_texts_from_json(const struct ins_definition *def, const json_t *root, const char *name,
                        struct ins_texts_file **out, struct err *e);

/*
 * Reads a texts file (at most INS_MAX_FILE_BYTES, duplicate keys refused)
 * as JSON, unchecked: for a caller that must see its instrument and version
 * before it can pick the definition. INS_EIO, INS_EINVAL (not JSON). *out is
 * a new reference.
 */
int ins_texts_read(const char *path, json_t **out, struct err *e);

/* ins_texts_read() then ins_texts_from_json(), named by the file's base name. */
int ins_texts_load(const struct ins_definition *def, const char *path, struct ins_texts_file **out,
                   struct err *e);
void ins_texts_free(struct ins_texts_file *t);

/* What the document says, borrowed from `t` (NULL for t NULL): its language
 * tag, its permission statement, the hex SHA-256 of its canonical JSON, and
 * that canonical JSON (NUL-terminated). */
const char *ins_texts_language(const struct ins_texts_file *t);
const char *ins_texts_permission(const struct ins_texts_file *t);
const char *ins_texts_checksum(const struct ins_texts_file *t);
const char *ins_texts_canonical(const struct ins_texts_file *t);

/*
 * The text to show for item `i`: the definition's own, else the study's (t may
 * be NULL), else NULL.
 */
const char *ins_item_text(const struct ins_definition *def, const struct ins_texts_file *t,
                          size_t i);

/*
 * 0 when every item has a text to show (from the definition or from `t`);
 * INS_EINVAL otherwise, saying that the study must supply the texts. The
 * participant form calls this before rendering anything.
 */
int ins_definition_renderable(const struct ins_definition *def, const struct ins_texts_file *t,
                              struct err *e);

/* ------------------------------------------------------------------ registry */

/* Every definition of a folder, by id and version. Read-only once loaded. */
struct ins_registry;

/*
 * Loads every "*.json" file of `dir` (not recursive). Any bad file fails the
 * whole load, naming it; so does an id and version given by two files.
 */
int ins_registry_load(const char *dir, struct ins_registry **out, struct err *e);

void ins_registry_free(struct ins_registry *reg);

/*
 * The definition with this id and version; with version NULL, the latest
 * version (versions compare as numbers where they are numbers: "10" > "9").
 * Borrowed; NULL when absent.
 */
const struct ins_definition *ins_registry_find(const struct ins_registry *reg, const char *id,
                                               const char *version);

/* Number of definitions, and the i-th, sorted by id then version. Borrowed. */
size_t ins_registry_count(const struct ins_registry *reg);
const struct ins_definition *ins_registry_at(const struct ins_registry *reg, size_t i);

/* ------------------------------------------------------------------- answers */

enum ins_problem_code {
    INS_PROBLEM_UNKNOWN_ITEM = 0, /* no such item in the definition */
    INS_PROBLEM_NOT_A_NUMBER,     /* the value is not a number */
    INS_PROBLEM_INVALID_VALUE,    /* a number, but not one of the options / out of range */
    INS_PROBLEM_REQUIRED_MISSING, /* a required item has no answer */
    INS_PROBLEM_DUPLICATE,        /* the same item answered twice */
    INS_PROBLEM_MALFORMED,        /* the document's shape is wrong (FHIR) */
    INS_PROBLEM_UNKNOWN_QUESTIONNAIRE,
};

struct ins_problem {
    enum ins_problem_code code;
    char item_id[INS_ITEM_ID_MAX + 1]; /* may be empty */
    char pointer[256]; /* JSON pointer into the document validated: "/q4", "/item/2/answer/0" */
    char message[256]; /* PostgreSQL voice: "invalid answer for item \"q4\"" */
    char detail[256];  /* a sentence: "The value 9 is not among the options 0 to 3." */
};

/* Every problem found, in document order; past INS_MAX_PROBLEMS only counted.
 * Caller-owned (about 80 KB: allocate it, do not put it on a small stack). */
struct ins_problems {
    size_t n;
    size_t n_dropped;
    struct ins_problem items[INS_MAX_PROBLEMS];
};

void ins_problems_clear(struct ins_problems *p);

/* The stable machine name of a code ("invalid-value"). */
const char *ins_problem_code_name(enum ins_problem_code code);

/*
 * The problems as a JSON array of {"pointer", "code", "item", "message",
 * "detail"}, each pointer prefixed with `prefix` ("/answers"; may be ""), the
 * shape of the collector's problem+json "errors". A new reference; NULL when
 * out of memory.
 */
json_t *ins_problems_to_json(const struct ins_problems *p, const char *prefix);

/* A set of answers bound to one definition. */
struct ins_answers;

int ins_answers_new(const struct ins_definition *def, struct ins_answers **out, struct err *e);
void ins_answers_free(struct ins_answers *a);

/* The definition the answers belong to. Borrowed. */
const struct ins_definition *ins_answers_definition(const struct ins_answers *a);

/*
 * Sets one answer by item id. On a problem (unknown item, value not allowed,
 * item already answered) appends it to `p` (may be NULL), with `pointer` (may
 * be NULL: "/<item id>"), and returns INS_EANSWERS; the set is unchanged.
 */
int ins_answers_set(struct ins_answers *a, const char *item_id, double value, const char *pointer,
                    struct ins_problems *p);

/* 1 and *value when item `i` is answered, 0 when not. */
int ins_answers_get(const struct ins_answers *a, size_t i, double *value);

/* Number of items answered. */
size_t ins_answers_count(const struct ins_answers *a);

/*
 * Appends a problem for every required item without an answer (pointer
 * "/<item id>"). Returns 0 or INS_EANSWERS.
 */
int ins_answers_check(const struct ins_answers *a, struct ins_problems *p);

/*
 * Reads {"<item id>": <number or null>, ...} (borrowed; null means "not
 * answered"), checks every key and value and the required items, and returns
 * 0 with *out, or INS_EANSWERS with every problem in `p` (pointers relative
 * to the object: "/q4"), or INS_EINVAL when `obj` is not an object or has
 * more than INS_MAX_ANSWER_KEYS keys.
 */
int ins_answers_from_json(const struct ins_definition *def, const json_t *obj,
                          struct ins_answers **out, struct ins_problems *p, struct err *e);

/* The answers as {"<item id>": value, ...} in item order. A new reference. */
json_t *ins_answers_to_json(const struct ins_answers *a);

/* ------------------------------------------------------------------- scoring */

struct ins_score_result {
    const struct ins_score *score;
    double value; /* NAN when voided */
    int voided;   /* more items missing than the rule allows */
    int prorated; /* missing items were filled by the rule */
    size_t answered, missing;
    const struct ins_band *band; /* NULL when voided or the score has no bands */
};

struct ins_result {
    const struct ins_definition *def;
    struct ins_score_result *scores; /* one per definition score, same order */
    size_t n_scores;
    int *cutoffs; /* per definition cut-off: 1 met, 0 not met, -1 unknown (voided) */
    const struct ins_flag **flags; /* safety flags raised */
    size_t n_flags;
    size_t items_answered, items_missing; /* over every item of the definition */
    int prorated;                         /* some score was prorated */
    int voided; /* the total (or, without a total, some score) was voided */
};

/*
 * Scores a set of answers: the missing-item rule, every score, its band, the
 * cut-offs and the safety flags. Never fails on the answers themselves (a
 * voided score is a result); INS_ENOMEM only. *out is freed with
 * ins_result_free().
 */
int ins_score(const struct ins_answers *a, struct ins_result **out, struct err *e);

void ins_result_free(struct ins_result *r);

/* The total's result, or NULL when the definition has no total. Borrowed. */
const struct ins_score_result *ins_result_total(const struct ins_result *r);

/*
 * The result as JSON (a new reference), the shape `attune instruments score`
 * prints and the responses table stores:
 * {"instrument", "version", "total", "band", "scores": {id: {"value",
 * "answered", "missing", "prorated", "voided", "band"}}, "cutoffs": {id:
 * true|false|null}, "flags": [id, ...], "items_answered", "items_missing",
 * "prorated", "voided"}.
 */
json_t *ins_result_to_json(const struct ins_result *r);

/* ---------------------------------------------------------------------- FHIR */

/* The extension and profile URLs Attune writes (FHIR R4 + SDC). */
#define INS_FHIR_ITEM_WEIGHT "http://hl7.org/fhir/StructureDefinition/itemWeight"
#define INS_FHIR_CALCULATED_EXPRESSION                                                             \
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
#define INS_FHIR_MIN_VALUE "http://hl7.org/fhir/StructureDefinition/minValue"
#define INS_FHIR_MAX_VALUE "http://hl7.org/fhir/StructureDefinition/maxValue"
#define INS_FHIR_LOINC     "http://loinc.org"

/*
 * A FHIR R4 Questionnaire for the definition (a new reference): url
 * "<base_url>/fhir/Questionnaire/<id>", version, title, status, copyright,
 * code (the LOINC panel), one item per question (linkId = item id, LOINC
 * code, required, answerOption.valueCoding with the itemWeight extension, or
 * integer/decimal with minValue/maxValue), then one read-only item per score
 * with an SDC calculatedExpression (FHIRPath over weight()). Item texts come
 * from the definition or from `t` (may be NULL); without either the item has
 * no text. With `t`, the Questionnaire's language is the texts' and its
 * copyright adds their permission statement ("<licence> Item texts:
 * <permission>"). `base_url` without a trailing slash ("http://127.0.0.1:8080").
 */
int ins_fhir_questionnaire(const struct ins_definition *def, const struct ins_texts_file *t,
                           const char *base_url, json_t **out, struct err *e);

/*
 * Reads a FHIR R4 QuestionnaireResponse (borrowed): its "questionnaire"
 * canonical (".../Questionnaire/<id>" with an optional "|<version>") picks the
 * definition from `reg`; items are matched by linkId (groups are walked;
 * score items are ignored, the engine recomputes them); each answer is a
 * valueCoding (matched by LOINC or Attune code) or a valueInteger /
 * valueDecimal. Returns 0 with *def_out (borrowed) and *out, or INS_EANSWERS
 * with every problem (pointers into the resource: "/item/3/answer/0"), or
 * INS_ENOTFOUND (also as a problem at "/questionnaire") when no definition
 * matches.
 */
int ins_fhir_response_read(const struct ins_registry *reg, const json_t *qr,
                           const struct ins_definition **def_out, struct ins_answers **out,
                           struct ins_problems *p, struct err *e);

/* The canonical URL of a definition's Questionnaire into buf. */
void ins_fhir_canonical(const struct ins_definition *def, const char *base_url, char *buf,
                        size_t size);

/* -------------------------------------------------------------------- REDCap */

/* Something in a REDCap data dictionary that the import could not carry over. */
struct ins_redcap_note {
    size_t line;     /* CSV record number, header = 1 */
    char field[101]; /* the variable, or "" for the whole form */
    char form[101];
    char message[300];
};

struct ins_redcap_import {
    struct ins_definition **defs; /* one per translatable form, in file order */
    size_t n_defs;
    struct ins_redcap_note *notes; /* everything not translated, never dropped silently */
    size_t n_notes;
};

/*
 * Imports a REDCap data dictionary (the 18-column CSV REDCap writes: UTF-8
 * with or without BOM, CRLF or LF, quoted fields). Each form becomes one
 * definition: radio, dropdown, yesno and truefalse fields become choice items
 * (choices "0, Not at all | 1, Several days"), text fields validated as
 * integer or number become numeric items with their min and max. What cannot
 * be translated (calculated fields, branching logic, checkboxes, free text,
 * descriptive fields, matrix layout, action tags, ...) is listed in notes. A
 * form exported by ins_redcap_export() carries Attune's own metadata in its
 * Field Annotations and comes back unchanged. `name` names the file in
 * messages and sources; `version` is given to forms without Attune metadata
 * (NULL: "1"). INS_EINVAL naming the line and column.
 */
int ins_redcap_import(const char *csv, size_t len, const char *name, const char *version,
                      struct ins_redcap_import **out, struct err *e);

void ins_redcap_import_free(struct ins_redcap_import *imp);

/*
 * Writes a definition as a REDCap data dictionary (a record_id row, then one
 * row per item; CRLF; fields quoted as REDCap does). What REDCap cannot hold
 * (LOINC codes, weights, scores, bands, sources) travels as JSON in the Field
 * Annotations (@ATTUNE-DEFINITION on the first item, @ATTUNE-ITEM on each).
 * *out is NUL-terminated and the caller's to free(). INS_EINVAL when an item
 * id is not a valid REDCap variable name.
 */
int ins_redcap_export(const struct ins_definition *def, char **out, size_t *len, struct err *e);

#endif
