/*
 * analyze_out.c — rendering an analysis document as JSON, an aligned table
 * or CSV (see analyze_out.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_out.h"
#include "rep_render.h"

json_t *cli_out_get(json_t *root, const char *path)
{
    json_t *v = rep_get(root, path);

    return json_is_null(v) ? NULL : v;
}

static void cli_out_number(char *buf, size_t size, json_t *v, char fmt)
{
    double x = json_number_value(v);

    if (json_is_integer(v) || fmt == 'n')
        snprintf(buf, size, "%.0f", x);
    else if (fmt == 'p')
        snprintf(buf, size, x < 1e-4 ? "%.2e" : "%.4f", x);
    else if (fmt == 'g')
        snprintf(buf, size, "%.6g", x);
    else
        snprintf(buf, size, "%.4f", x);
}

static void cli_out_csv_row(FILE *f, const char *section, const char *group, const char *name,
                            const char *value, const char *lo, const char *hi)
{
    rep_csv_cell(f, section);
    fputc(',', f);
    rep_csv_cell(f, group);
    fputc(',', f);
    rep_csv_cell(f, name);
    fputc(',', f);
    rep_csv_cell(f, value);
    fputc(',', f);
    rep_csv_cell(f, lo);
    fputc(',', f);
    rep_csv_cell(f, hi);
    fputc('\n', f);
}

/* Scalars as text: numbers at full precision, for CSV. */
static void cli_out_text(char *buf, size_t size, json_t *v)
{
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        rep_real(buf, size, json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, size, "true");
    else if (json_is_false(v))
        snprintf(buf, size, "false");
    else if (v == NULL || json_is_null(v))
        buf[0] = '\0';
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
        snprintf(buf, size, "%s", s ? s : "");
        free(s);
    }
}

/* Flattens an object into "prefix.key" rows of one section. */
static void cli_out_csv_flat(FILE *f, const char *section, const char *group, const char *prefix,
                             json_t *obj)
{
    const char *key;
    json_t *v;
    char name[256], text[4096];

    json_object_foreach(obj, key, v)
    {
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", key);
        if (json_is_object(v)) {
            cli_out_csv_flat(f, section, group, name, v);
            continue;
        }
        cli_out_text(text, sizeof text, v);
        cli_out_csv_row(f, section, group, name, text, "", "");
    }
}

/* The reason a row's value is missing: unavailable[first path segment]. */
static const char *cli_out_why(json_t *group, const char *path)
{
    char key[128];
    size_t len = strcspn(path, ".");
    json_t *why;

    snprintf(key, sizeof key, "%.*s", (int)len, path);
    why = json_object_get(json_object_get(group, "unavailable"), key);
    return json_is_string(why) ? json_string_value(why) : NULL;
}

static void cli_out_csv_group(FILE *f, const char *group_name, json_t *group,
                              const struct cli_out_layout *layout)
{
    char value[64], lo[64], hi[64];

    for (size_t i = 0; i < layout->n_rows; i++) {
        const struct cli_out_row *r = &layout->rows[i];
        json_t *v = cli_out_get(group, r->value);
        json_t *ci = r->ci ? cli_out_get(group, r->ci) : NULL;
        if (v == NULL) {
            const char *why = cli_out_why(group, r->value);
            if (why != NULL)
                cli_out_csv_row(f, "unavailable", group_name, r->name, why, "", "");
            continue;
        }
        cli_out_text(value, sizeof value, v);
        cli_out_text(lo, sizeof lo, ci ? json_array_get(ci, 0) : NULL);
        cli_out_text(hi, sizeof hi, ci ? json_array_get(ci, 1) : NULL);
        cli_out_csv_row(f, "statistic", group_name, r->name, value, lo, hi);
    }
}

/* Words for the exclusion reasons of a population. */
static const struct {
    const char *key, *words;
} cli_out_reasons[] = {
    {"no_baseline", "excluded without a baseline score"},
    {"no_followup", "excluded without a follow-up score"},
    {"missing_answer", "excluded with an item unanswered"},
};

static const char *cli_out_reason(const char *key)
{
    for (size_t i = 0; i < sizeof cli_out_reasons / sizeof cli_out_reasons[0]; i++)
        if (strcmp(cli_out_reasons[i].key, key) == 0)
            return cli_out_reasons[i].words;
    return key;
}

static void cli_out_table_group(FILE *f, const char *group_name, json_t *group,
                                const struct cli_out_layout *layout, double level)
{
    char value[64], lo[64], hi[64];
    json_t *pop = json_object_get(group, "population");

    fprintf(f, "\n%s\n", group_name);
    if (json_is_object(pop)) {
        json_t *ex = json_object_get(pop, "excluded");
        const char *key;
        json_t *v;
        fprintf(f, "  population: %s, %lld of %lld participants",
                json_string_value(json_object_get(pop, "name")),
                (long long)json_integer_value(json_object_get(pop, "included")),
                (long long)json_integer_value(json_object_get(pop, "considered")));
        json_object_foreach(ex, key, v)
        {
            fprintf(f, "; %lld %s", (long long)json_integer_value(v), cli_out_reason(key));
        }
        if (json_integer_value(json_object_get(pop, "imputed")) > 0)
            fprintf(f, "; %lld follow-ups carried forward",
                    (long long)json_integer_value(json_object_get(pop, "imputed")));
        fprintf(f, "\n");
    }
    fprintf(f, "  %-46s %14s   %.0f%% CI\n", "", "value", level * 100);
    for (size_t i = 0; i < layout->n_rows; i++) {
        const struct cli_out_row *r = &layout->rows[i];
        json_t *v = cli_out_get(group, r->value);
        json_t *ci = r->ci ? cli_out_get(group, r->ci) : NULL;
        if (v == NULL) {
            const char *why = cli_out_why(group, r->value);
            if (why != NULL)
                fprintf(f, "  %-46s %14s   (%s)\n", r->label, "n/a", why);
            continue;
        }
        cli_out_number(value, sizeof value, v, r->fmt);
        if (ci != NULL && json_is_number(json_array_get(ci, 0))) {
            cli_out_number(lo, sizeof lo, json_array_get(ci, 0), r->fmt);
            cli_out_number(hi, sizeof hi, json_array_get(ci, 1), r->fmt);
            fprintf(f, "  %-46s %14s   [%s, %s]\n", r->label, value, lo, hi);
        } else {
            fprintf(f, "  %-46s %14s\n", r->label, value);
        }
    }
}

static void cli_out_table(FILE *f, json_t *doc, const struct cli_out_layout *layout)
{
    json_t *opt = json_object_get(doc, "options"), *input = json_object_get(doc, "input");
    json_t *args = json_object_get(opt, "args"), *by_arm = json_object_get(doc, "by_arm");
    json_t *rerun = json_object_get(doc, "rerun"), *v;
    const char *key;
    double level = json_number_value(json_object_get(opt, "level"));
    size_t i;

    if (!(level > 0))
        level = 0.95;
    fprintf(f, "%s\n", layout->title);
    fprintf(f, "options:");
    json_array_foreach(args, i, v) fprintf(f, " %s", json_string_value(v));
    fprintf(f, "\n");
    fprintf(f, "input: %s\n", json_string_value(json_object_get(input, "source")));
    fprintf(f, "fingerprint: %s\n", json_string_value(json_object_get(input, "fingerprint")));
    if (json_is_object(json_object_get(opt, "facts")))
        fprintf(f, "instrument facts: %s\n",
                json_string_value(json_object_get(json_object_get(opt, "facts"), "source")));
    cli_out_table_group(f, json_string_value(json_object_get(doc, "group")), doc, layout, level);
    json_object_foreach(by_arm, key, v)
    {
        char name[160];
        snprintf(name, sizeof name, "arm %s", key);
        cli_out_table_group(f, name, v, layout, level);
    }
    if (json_is_object(rerun))
        fprintf(f, "\nrerun of %s: result %s; input fingerprint %s\n",
                json_string_value(json_object_get(rerun, "of")),
                json_is_true(json_object_get(rerun, "identical")) ? "identical" : "DIFFERS",
                json_is_true(json_object_get(rerun, "fingerprint_matches")) ? "matches"
                                                                            : "CHANGED");
    if (json_is_string(json_object_get(doc, "run_id")))
        fprintf(f, "\nrun: %s\n", json_string_value(json_object_get(doc, "run_id")));
}

static void cli_out_csv(FILE *f, json_t *doc, const struct cli_out_layout *layout)
{
    json_t *opt = json_object_get(doc, "options"), *by_arm = json_object_get(doc, "by_arm");
    json_t *args = json_object_get(opt, "args"), *v;
    const char *key;
    char text[4096];
    size_t i, used = 0;

    fprintf(f, "section,group,name,value,ci95_low,ci95_high\n");
    text[0] = '\0';
    json_array_foreach(args, i, v)
    {
        if (used < sizeof text)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%s", i ? " " : "",
                                     json_string_value(v));
    }
    cli_out_csv_row(f, "option", "", "args", text, "", "");
    json_object_foreach(opt, key, v)
    {
        if (strcmp(key, "args") == 0)
            continue;
        if (json_is_object(v)) {
            char prefix[128];
            snprintf(prefix, sizeof prefix, "%s", key);
            cli_out_csv_flat(f, "option", "", prefix, v);
            continue;
        }
        cli_out_text(text, sizeof text, v);
        cli_out_csv_row(f, "option", "", key, text, "", "");
    }
    cli_out_csv_flat(f, "input", "", "", json_object_get(doc, "input"));
    {
        const char *g = json_string_value(json_object_get(doc, "group"));
        cli_out_csv_flat(f, "population", g ? g : "", "", json_object_get(doc, "population"));
        cli_out_csv_group(f, g ? g : "", doc, layout);
    }
    json_object_foreach(by_arm, key, v)
    {
        cli_out_csv_flat(f, "population", key, "", json_object_get(v, "population"));
        cli_out_csv_group(f, key, v, layout);
    }
    if (json_is_object(json_object_get(doc, "rerun")))
        cli_out_csv_flat(f, "rerun", "", "", json_object_get(doc, "rerun"));
    if (json_is_string(json_object_get(doc, "run_id")))
        cli_out_csv_row(f, "run", "", "run_id", json_string_value(json_object_get(doc, "run_id")),
                        "", "");
}

int cli_out_json(FILE *f, json_t *doc)
{
    return json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) == 0 &&
                   fputc('\n', f) != EOF
               ? 0
               : -1;
}

int cli_out_print(FILE *f, json_t *doc, enum cli_format fmt, const struct cli_out_layout *layout)
{
    if (fmt == CLI_FORMAT_JSON) {
        if (cli_out_json(f, doc) != 0)
            return -1;
    } else if (fmt == CLI_FORMAT_CSV) {
        cli_out_csv(f, doc, layout);
    } else {
        cli_out_table(f, doc, layout);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
