/*
 * rep_render.c — text and CSV printing of the attrition, engagement and
 * report documents (see rep_render.h; HTML is rep_html.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep_int.h"

json_t *rep_get(json_t *root, const char *path)
{
    char buf[256], *p = buf, *dot;
    json_t *cur = root;

    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return NULL;
    while (cur != NULL && p != NULL) {
        dot = strchr(p, '.');
        if (dot != NULL)
            *dot = '\0';
        if (json_is_array(cur)) {
            char *end;
            unsigned long i = strtoul(p, &end, 10);
            cur = *end == '\0' ? json_array_get(cur, i) : NULL;
        } else
            cur = json_object_get(cur, p);
        p = dot ? dot + 1 : NULL;
    }
    return cur;
}

double rep_num(json_t *root, const char *path)
{
    json_t *v = rep_get(root, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *rep_str(json_t *root, const char *path)
{
    json_t *v = rep_get(root, path);
    return json_is_string(v) ? json_string_value(v) : "";
}

void rep_fmt(char *buf, size_t size, double v, int decimals)
{
    if (!isfinite(v))
        snprintf(buf, size, "n/a");
    else
        snprintf(buf, size, "%.*f", decimals, v);
}

void rep_fmt_ci(char *buf, size_t size, json_t *ci, int decimals)
{
    double lo =
        json_is_number(json_array_get(ci, 0)) ? json_number_value(json_array_get(ci, 0)) : NAN;
    double hi =
        json_is_number(json_array_get(ci, 1)) ? json_number_value(json_array_get(ci, 1)) : NAN;
    if (!isfinite(lo) || !isfinite(hi))
        buf[0] = '\0';
    else
        snprintf(buf, size, "[%.*f, %.*f]", decimals, lo, decimals, hi);
}

void rep_fmt_p(char *buf, size_t size, double p)
{
    if (!isfinite(p))
        snprintf(buf, size, "n/a");
    else if (p < 0.0001)
        snprintf(buf, size, "<0.0001");
    else
        snprintf(buf, size, "%.4f", p);
}

/* ------------------------------------------------------------------ CSV */

void rep_csv_cell(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void rep_real(char *buf, size_t size, double x)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

static void rep_csv_value(FILE *f, json_t *v)
{
    char buf[64];

    if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        rep_real(buf, sizeof buf, json_real_value(v));
        fputs(buf, f);
    } else if (json_is_string(v))
        rep_csv_cell(f, json_string_value(v));
    else if (json_is_boolean(v))
        fputs(json_is_true(v) ? "true" : "false", f);
}

/* Every scalar under `node` as rows: section, group, path, value. Arrays of
 * objects are indexed; arrays of scalars become one cell each. */
static void rep_csv_flat(FILE *f, const char *section, const char *group, const char *prefix,
                         json_t *node)
{
    char name[512];
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(node)) {
        json_object_foreach(node, key, v)
        {
            snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", key);
            rep_csv_flat(f, section, group, name, v);
        }
        return;
    }
    if (json_is_array(node)) {
        json_array_foreach(node, i, v)
        {
            snprintf(name, sizeof name, "%s.%zu", prefix, i);
            rep_csv_flat(f, section, group, name, v);
        }
        return;
    }
    if (json_is_null(node))
        return;
    rep_csv_cell(f, section);
    fputc(',', f);
    rep_csv_cell(f, group);
    fputc(',', f);
    rep_csv_cell(f, prefix);
    fputc(',', f);
    rep_csv_value(f, node);
    fputc('\n', f);
}

/* -------------------------------------------------------------- attrition */

/* The flow's rows: label and dotted path in each arm's "flow". */
static const struct {
    const char *label, *path;
} rep_flow_rows[] = {
    {"enrolled", "enrolled"},
    {"scored at the baseline week", "baseline_done"},
    {"  no baseline score", "no_baseline"},
    {"    of whom answered, but voided", "no_baseline_voided"},
    {"completers: scored at baseline and final week", "completers"},
    {"did not complete, with a baseline score:", NULL},
    {"  withdrew before the final week", "not_completed.withdrew"},
    {"  missed the final questionnaire", "not_completed.missed"},
    {"  answered it, but the score was voided", "not_completed.voided"},
    {"  final window still open or upcoming", "not_completed.pending"},
    {"scored at the final week without a baseline", "final_without_baseline"},
    {"withdrawn, at any time", "withdrawn_any_time"},
};

/* Each arm's object, then the total. */
static json_t *rep_arm_at(json_t *att, size_t i)
{
    json_t *arms = json_object_get(att, "arms");
    return i < json_array_size(arms) ? json_array_get(arms, i) : json_object_get(att, "total");
}

static size_t rep_arm_count(json_t *att)
{
    return json_array_size(json_object_get(att, "arms")) + 1;
}

void rep_text_flow(FILE *f, json_t *att)
{
    size_t na = rep_arm_count(att);

    fprintf(f, "Participant flow (baseline week %lld, final week %lld; statuses as of %s)\n",
            (long long)json_integer_value(json_object_get(att, "baseline_week")),
            (long long)json_integer_value(json_object_get(att, "final_week")),
            rep_str(att, "asof"));
    fprintf(f, "  %-48s", "");
    for (size_t i = 0; i < na; i++)
        fprintf(f, " %10.10s", rep_str(rep_arm_at(att, i), "arm"));
    fprintf(f, "\n");
    for (size_t r = 0; r < sizeof rep_flow_rows / sizeof rep_flow_rows[0]; r++) {
        fprintf(f, "  %-48s", rep_flow_rows[r].label);
        for (size_t i = 0; rep_flow_rows[r].path != NULL && i < na; i++) {
            char path[128];
            snprintf(path, sizeof path, "flow.%s", rep_flow_rows[r].path);
            fprintf(f, " %10.0f", rep_num(rep_arm_at(att, i), path));
        }
        fprintf(f, "\n");
    }
    fprintf(f, "  %-48s", "adds up (see definitions.adds_up)");
    for (size_t i = 0; i < na; i++) {
        json_t *a = rep_arm_at(att, i);
        fprintf(f, " %10s",
                json_is_true(rep_get(a, "adds_up.baseline")) &&
                        json_is_true(rep_get(a, "adds_up.enrolled"))
                    ? "yes"
                    : "NO");
    }
    fprintf(f, "\n");
}

static void rep_text_weeks(FILE *f, json_t *arm)
{
    static const char *const cols[] = {"completed", "late",   "missed", "open",    "upcoming",
                                       "withdrawn", "scored", "voided", "withdrew"};
    json_t *w;
    size_t i;

    fprintf(f, "\nQuestionnaires by week: %s\n  %5s", rep_str(arm, "arm"), "week");
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
        fprintf(f, " %9s", cols[c]);
    fprintf(f, "\n");
    json_array_foreach(json_object_get(arm, "weeks"), i, w)
    {
        fprintf(f, "  %5.0f", rep_num(w, "week"));
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            fprintf(f, " %9.0f", rep_num(w, cols[c]));
        fprintf(f, "\n");
    }
}

int rep_print_attrition(FILE *f, json_t *doc, enum rep_format fmt)
{
    size_t na = rep_arm_count(doc);

    if (fmt == REP_CSV) {
        fprintf(f, "section,arm,name,value\n");
        for (size_t i = 0; i < na; i++) {
            json_t *a = rep_arm_at(doc, i);
            json_t *w;
            size_t k;
            rep_csv_flat(f, "flow", rep_str(a, "arm"), "", json_object_get(a, "flow"));
            json_array_foreach(json_object_get(a, "weeks"), k, w)
            {
                char prefix[32];
                snprintf(prefix, sizeof prefix, "week%.0f", rep_num(w, "week"));
                rep_csv_flat(f, "weeks", rep_str(a, "arm"), prefix, w);
            }
        }
        if (json_is_string(json_object_get(doc, "run_id")))
            fprintf(f, "run,,run_id,%s\n", rep_str(doc, "run_id"));
    } else {
        fprintf(f, "attune analyze attrition: %s\n", rep_str(doc, "input.source"));
        fprintf(f, "fingerprint: %s\n\n", rep_str(doc, "input.fingerprint"));
        rep_text_flow(f, doc);
        for (size_t i = 0; i < na; i++)
            rep_text_weeks(f, rep_arm_at(doc, i));
        if (json_is_string(json_object_get(doc, "run_id")))
            fprintf(f, "\nrun: %s\n", rep_str(doc, "run_id"));
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* ------------------------------------------------------------- engagement */

static const char *const rep_metrics[] = {"active_days", "sessions", "minutes", "exercises",
                                          "trigger_logs"};
#define REP_N_METRICS (sizeof rep_metrics / sizeof rep_metrics[0])

static void rep_text_corr(FILE *f, json_t *eng)
{
    json_t *corr = rep_get(eng, "outcome.correlations"), *arm;
    const char *name;

    fprintf(f, "\nEngagement (study total) and change: %s; population %s, n %.0f of %.0f\n",
            rep_str(eng, "outcome.change"), rep_str(eng, "outcome.population.name"),
            rep_num(eng, "outcome.population.included"),
            rep_num(eng, "outcome.population.considered"));
    fprintf(f, "  %-10s %-13s %5s %24s %8s %24s %8s\n", "arm", "measure", "n", "Pearson r [95% CI]",
            "p", "Spearman rho [95% CI]", "p");
    json_object_foreach(corr, name, arm)
    {
        for (size_t m = 0; m < REP_N_METRICS; m++) {
            json_t *x = json_object_get(arm, rep_metrics[m]);
            json_t *pe = json_object_get(x, "pearson"), *sp = json_object_get(x, "spearman");
            char r1[16], c1[40], p1[16], r2[16], c2[40], p2[16], both1[64], both2[64];
            rep_fmt(r1, sizeof r1, rep_num(pe, "r"), 3);
            rep_fmt_ci(c1, sizeof c1, json_object_get(pe, "ci95"), 3);
            rep_fmt_p(p1, sizeof p1, rep_num(pe, "p"));
            rep_fmt(r2, sizeof r2, rep_num(sp, "r"), 3);
            rep_fmt_ci(c2, sizeof c2, json_object_get(sp, "ci95"), 3);
            rep_fmt_p(p2, sizeof p2, rep_num(sp, "p"));
            snprintf(both1, sizeof both1, "%s %s", r1, c1);
            snprintf(both2, sizeof both2, "%s %s", r2, c2);
            fprintf(f, "  %-10.10s %-13s %5.0f %24s %8s %24s %8s\n", name, rep_metrics[m],
                    rep_num(pe, "n"), both1, p1, both2, p2);
        }
    }
    fprintf(f, "  (Fisher-z intervals; Spearman SE: %s)\n",
            rep_str(json_object_get(json_object_iter_value(json_object_iter(corr)), "active_days"),
                    "spearman.ci_method"));
}

static void rep_text_tertiles(FILE *f, json_t *eng)
{
    json_t *by = rep_get(eng, "outcome.tertiles.by_arm"), *arm, *g;
    const char *name;
    size_t i;

    fprintf(f, "\nChange by tertile of %s (type-7 cut points, right-closed)\n",
            rep_str(eng, "outcome.tertiles.metric"));
    fprintf(f, "  %-10s %-8s %-16s %5s %24s %8s\n", "arm", "tertile", "engagement", "n",
            "mean change [95% CI]", "median");
    json_object_foreach(by, name, arm)
    {
        if (json_is_string(json_object_get(arm, "unavailable"))) {
            fprintf(f, "  %-10.10s (%s)\n", name, rep_str(arm, "unavailable"));
            continue;
        }
        json_array_foreach(json_object_get(arm, "groups"), i, g)
        {
            char range[40], mean[16], ci[40], both[64], med[16];
            snprintf(range, sizeof range, "%g-%g", rep_num(g, "engagement_range.0"),
                     rep_num(g, "engagement_range.1"));
            rep_fmt(mean, sizeof mean, rep_num(g, "mean_change"), 2);
            rep_fmt_ci(ci, sizeof ci, json_object_get(g, "ci95"), 2);
            rep_fmt(med, sizeof med, rep_num(g, "median_change"), 1);
            snprintf(both, sizeof both, "%s %s", mean, ci);
            fprintf(f, "  %-10.10s %-8.0f %-16s %5.0f %24s %8s\n", name, rep_num(g, "tertile"),
                    rep_num(g, "n") > 0 ? range : "-", rep_num(g, "n"), both, med);
        }
    }
}

static void rep_text_eng_mixed(FILE *f, json_t *eng)
{
    json_t *mx = json_object_get(eng, "mixed"), *fixed, *c;
    const char *term;

    if (!json_is_object(mx))
        return;
    if (json_is_string(json_object_get(mx, "unavailable"))) {
        fprintf(f, "\nMixed model with engagement: not fitted (%s)\n", rep_str(mx, "unavailable"));
        return;
    }
    fprintf(f, "\nMixed model with engagement as a covariate: %s\n  (%s)\n",
            rep_str(mx, "model.formula"), rep_str(mx, "covariate.meaning"));
    fprintf(f, "  %-30s %11s %9s %8s %8s %10s\n", "term", "estimate", "SE", "df", "t", "p");
    fixed = json_object_get(mx, "fixed");
    json_object_foreach(fixed, term, c)
    {
        char p[16];
        rep_fmt_p(p, sizeof p, rep_num(c, "p"));
        fprintf(f, "  %-30s %11.5f %9.5f %8.2f %8.3f %10s\n", term, rep_num(c, "estimate"),
                rep_num(c, "se"), rep_num(c, "df"), rep_num(c, "t"), p);
    }
    fprintf(f, "  converged: %s\n", json_is_true(json_object_get(mx, "converged")) ? "yes" : "NO");
}

/* Everything of engagement but the per-participant list. */
void rep_text_engagement(FILE *f, json_t *eng)
{
    json_t *by_arm = json_object_get(eng, "by_arm"), *a, *w;
    const char *name;
    size_t i;

    fprintf(f,
            "Sessions: %.0f (%.0f paired, %.0f unpaired starts kept, %.0f unpaired ends dropped, "
            "%.0f of them after the %g-minute cap); events %.0f, %.0f outside the study weeks\n",
            rep_num(eng, "sessions.sessions"), rep_num(eng, "sessions.paired"),
            rep_num(eng, "sessions.unpaired_start"), rep_num(eng, "sessions.unpaired_end"),
            rep_num(eng, "sessions.end_after_cap"), rep_num(eng, "definitions.session_cap_minutes"),
            rep_num(eng, "events"), rep_num(eng, "events_outside_study_weeks"));
    fprintf(f, "\nStudy totals by arm (participants exposed to every study week): mean (SD), "
               "median, share above 0\n");
    fprintf(f, "  %-10s %5s", "arm", "n");
    for (size_t m = 0; m < REP_N_METRICS; m++)
        fprintf(f, " %24s", rep_metrics[m]);
    fprintf(f, "\n");
    json_object_foreach(by_arm, name, a)
    {
        fprintf(f, "  %-10.10s %5.0f", name, rep_num(a, "participants"));
        for (size_t m = 0; m < REP_N_METRICS; m++) {
            json_t *s = json_object_get(a, rep_metrics[m]);
            char cell[64];
            snprintf(cell, sizeof cell, "%.1f (%.1f), %.0f, %.0f%%", rep_num(s, "mean"),
                     rep_num(s, "sd"), rep_num(s, "median"), 100 * rep_num(s, "share_above_0"));
            fprintf(f, " %24s", cell);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\nBy study week: mean per exposed participant (share active)\n  %-10s %4s %7s",
            "arm", "week", "exposed");
    for (size_t m = 0; m < REP_N_METRICS; m++)
        fprintf(f, " %12s", rep_metrics[m]);
    fprintf(f, "\n");
    json_array_foreach(json_object_get(eng, "by_week"), i, w)
    {
        fprintf(f, "  %-10.10s %4.0f %7.0f", rep_str(w, "arm"), rep_num(w, "week"),
                rep_num(w, "exposed"));
        for (size_t m = 0; m < REP_N_METRICS; m++) {
            char path[64], cell[32];
            snprintf(path, sizeof path, "%s.mean", rep_metrics[m]);
            rep_fmt(cell, sizeof cell, rep_num(w, path), 2);
            if (m == 0) {
                size_t len = strlen(cell);
                snprintf(cell + len, sizeof cell - len, " (%.0f%%)",
                         100 * rep_num(w, "active_days.share_above_0"));
            }
            fprintf(f, " %12s", cell);
        }
        fprintf(f, "\n");
    }
    rep_text_corr(f, eng);
    rep_text_tertiles(f, eng);
    rep_text_eng_mixed(f, eng);
}

int rep_print_engagement(FILE *f, json_t *doc, enum rep_format fmt)
{
    if (fmt == REP_CSV) {
        json_t *p;
        size_t i;
        fprintf(f, "section,group,name,value\n");
        rep_csv_flat(f, "sessions", "", "", json_object_get(doc, "sessions"));
        rep_csv_flat(f, "by_arm", "", "", json_object_get(doc, "by_arm"));
        rep_csv_flat(f, "by_week", "", "", json_object_get(doc, "by_week"));
        rep_csv_flat(f, "outcome", "", "", json_object_get(doc, "outcome"));
        rep_csv_flat(f, "mixed", "", "", json_object_get(json_object_get(doc, "mixed"), "fixed"));
        json_array_foreach(json_object_get(doc, "participants"), i, p)
        {
            rep_csv_flat(f, "participant", rep_str(p, "participant"), "total",
                         json_object_get(p, "total"));
            rep_csv_flat(f, "participant", rep_str(p, "participant"), "weeks",
                         json_object_get(p, "weeks"));
        }
        if (json_is_string(json_object_get(doc, "run_id")))
            fprintf(f, "run,,run_id,%s\n", rep_str(doc, "run_id"));
    } else {
        fprintf(f, "attune analyze engagement: %s (events as of %s)\n",
                rep_str(doc, "input.source"), rep_str(doc, "asof"));
        fprintf(f, "fingerprint: %s\n\n", rep_str(doc, "input.fingerprint"));
        rep_text_engagement(f, doc);
        if (json_is_string(json_object_get(doc, "run_id")))
            fprintf(f, "\nrun: %s\n", rep_str(doc, "run_id"));
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* ---------------------------------------------------------------- report */

/* A row's value in its unit: one decimal for percentages, two for points. */
int rep_row_decimals(json_t *row)
{
    return strcmp(rep_str(row, "unit"), "points") == 0 ? 2 : 1;
}

const char *rep_row_arm(json_t *row)
{
    json_t *a = json_object_get(row, "arm");
    return json_is_string(a) ? json_string_value(a) : "all arms";
}

static void rep_text_headline(FILE *f, json_t *doc)
{
    json_t *rows = rep_get(doc, "headline.rows"), *r;
    const char *last = "";
    size_t i;

    fprintf(f,
            "\n3. The headline reduction, every defensible way (week %g to week %g; reduction = "
            "pre - post)\n",
            rep_num(doc, "headline.pre"), rep_num(doc, "headline.post"));
    json_array_foreach(rows, i, r)
    {
        char v[24], ci[48];
        const char *label = rep_str(r, "label");
        if (strcmp(label, last) != 0) {
            fprintf(f, "\n  %s\n  %-12s %-10s %6s %9s  %-20s %s\n", label, "population", "arm", "n",
                    "value", "95% CI", "CI method");
            last = label;
        }
        if (!json_is_number(json_object_get(r, "value"))) {
            fprintf(f, "  %-12s %-10.10s %6.0f %9s  (%s)\n", rep_str(r, "population"),
                    rep_row_arm(r), rep_num(r, "n"), "n/a", rep_str(r, "unavailable"));
            continue;
        }
        rep_fmt(v, sizeof v, rep_num(r, "value"), rep_row_decimals(r));
        rep_fmt_ci(ci, sizeof ci, json_object_get(r, "ci95"), rep_row_decimals(r));
        fprintf(f, "  %-12s %-10.10s %6.0f %9s  %-20s %s\n", rep_str(r, "population"),
                rep_row_arm(r), rep_num(r, "n"), v, ci, rep_str(r, "ci_method"));
    }
}

int rep_populations_add_up(json_t *doc)
{
    const char *name;
    json_t *x;
    int all = 1;

    json_object_foreach(json_object_get(doc, "adds_up"), name, x)
    {
        all &= json_is_true(json_object_get(x, "completers_plus_did_not_complete_is_baseline")) &&
               json_is_true(json_object_get(x, "completers_population_is_flow")) &&
               json_is_true(json_object_get(x, "bocf_population_is_baseline")) &&
               json_is_true(json_object_get(x, "locf_population_is_baseline"));
    }
    return all;
}

static void rep_text_populations(FILE *f, json_t *doc)
{
    json_t *pops = json_object_get(doc, "populations"), *p;
    json_t *arms = rep_get(doc, "attrition.arms");
    size_t i;

    fprintf(f, "\n   Analysis populations (participants included)\n   %-12s", "");
    for (size_t a = 0; a <= json_array_size(arms); a++)
        fprintf(f, " %10.10s",
                a < json_array_size(arms) ? rep_str(json_array_get(arms, a), "arm") : "all");
    fprintf(f, "\n");
    json_array_foreach(pops, i, p)
    {
        fprintf(f, "   %-12s", rep_str(p, "key"));
        for (size_t a = 0; a <= json_array_size(arms); a++) {
            const char *name =
                a < json_array_size(arms) ? rep_str(json_array_get(arms, a), "arm") : "all";
            json_t *n = json_object_get(json_object_get(json_object_get(p, "n"), name), "n");
            fprintf(f, " %10.0f", json_is_number(n) ? json_number_value(n) : 0.0);
        }
        fprintf(f, "   %s; %s\n", rep_str(p, "definition"), rep_str(p, "assumption"));
    }
    fprintf(f,
            "   Populations and flow add up in every arm: %s (completers = the flow's "
            "completers; BOCF = LOCF = scored at baseline = completers + did not "
            "complete)\n",
            rep_populations_add_up(doc) ? "yes" : "NO");
}

static void rep_text_baseline(FILE *f, json_t *doc)
{
    json_t *ins, *a;
    size_t i, k;

    fprintf(f, "\n2. Baseline characteristics by arm (week %g)\n", rep_num(doc, "headline.pre"));
    json_array_foreach(json_object_get(doc, "baseline"), i, ins)
    {
        fprintf(f, "  %s\n", rep_str(ins, "instrument"));
        json_array_foreach(json_object_get(ins, "arms"), k, a)
        {
            const char *band;
            json_t *c;
            fprintf(f, "    %-10.10s n %4.0f  mean %6.2f (SD %5.2f)  median %5.1f   ",
                    rep_str(a, "arm"), rep_num(a, "n"), rep_num(a, "mean"), rep_num(a, "sd"),
                    rep_num(a, "median"));
            json_object_foreach(json_object_get(a, "bands"), band, c)
            {
                fprintf(f, " %s %lld", band, (long long)json_integer_value(c));
            }
            fprintf(f, "\n");
        }
    }
}

static void rep_text_effects(FILE *f, json_t *doc)
{
    json_t *x;
    size_t i;

    fprintf(f,
            "\n4. Effect sizes (95%% CI)\n  Within arms (pre - post)\n  %-12s %-10s %5s %26s %7s "
            "%7s %7s\n",
            "population", "arm", "n", "d_z (SRM) [noncentral t]", "g_av", "d_av", "d_rm");
    json_array_foreach(rep_get(doc, "effect_sizes.within"), i, x)
    {
        char dz[16], ci[40], both[64], g[16], dav[16], drm[16];
        rep_fmt(dz, sizeof dz, rep_num(x, "d_z.value"), 3);
        rep_fmt_ci(ci, sizeof ci, rep_get(x, "d_z.ci95"), 3);
        snprintf(both, sizeof both, "%s %s", dz, ci);
        rep_fmt(g, sizeof g, rep_num(x, "g_av"), 3);
        rep_fmt(dav, sizeof dav, rep_num(x, "d_av"), 3);
        rep_fmt(drm, sizeof drm, rep_num(x, "d_rm"), 3);
        fprintf(f, "  %-12s %-10.10s %5.0f %26s %7s %7s %7s\n", rep_str(x, "population"),
                rep_row_arm(x), rep_num(x, "n"), both, g, dav, drm);
    }
    fprintf(f, "\n  Between arms (test - reference)\n");
    json_array_foreach(rep_get(doc, "effect_sizes.between"), i, x)
    {
        char a[16], b[40], c2[16], d[40];
        if (json_is_string(json_object_get(x, "unavailable"))) {
            fprintf(f, "  %-12s %s vs %s: %s\n", rep_str(x, "population"), rep_str(x, "test"),
                    rep_str(x, "reference"), rep_str(x, "unavailable"));
            continue;
        }
        if (strcmp(rep_str(x, "population"), "mixed") == 0) {
            rep_fmt(a, sizeof a, rep_num(x, "difference_in_reduction_points.estimate"), 2);
            rep_fmt_ci(b, sizeof b, rep_get(x, "difference_in_reduction_points.ci95"), 2);
            fprintf(f, "  %-12s %s vs %s: difference in model-based reduction %s points %s\n",
                    "mixed", rep_str(x, "test"), rep_str(x, "reference"), a, b);
            continue;
        }
        rep_fmt(a, sizeof a, rep_num(x, "hedges_g.value"), 3);
        rep_fmt_ci(b, sizeof b, rep_get(x, "hedges_g.ci95"), 3);
        rep_fmt(c2, sizeof c2, rep_num(x, "ancova.estimate"), 2);
        rep_fmt_ci(d, sizeof d, rep_get(x, "ancova.ci95"), 2);
        fprintf(f,
                "  %-12s %s (n %.0f) vs %s (n %.0f): Hedges' g at follow-up %s %s; ANCOVA "
                "adjusted difference %s %s points\n",
                rep_str(x, "population"), rep_str(x, "test"), rep_num(x, "n_test"),
                rep_str(x, "reference"), rep_num(x, "n_reference"), a, b, c2, d);
    }
}

static void rep_text_claim(FILE *f, json_t *cl)
{
    json_t *r;
    size_t i;
    static const char *const order[] = {"reproduces", "value only", "within CI"};

    fprintf(f, "\n6. Claim check\n  Claim: \"%s\"\n", rep_str(cl, "text"));
    fprintf(f, "  Read as: %g%s (rounding: +/- %g), direction: %s, a %s",
            rep_num(cl, "read_as.value"),
            strcmp(rep_str(cl, "read_as.unit"), "percent") == 0 ? "%" : " points",
            rep_num(cl, "read_as.tolerance"), rep_str(cl, "read_as.direction"),
            rep_str(cl, "read_as.kind"));
    if (json_is_number(rep_get(cl, "read_as.n")))
        fprintf(f, "; n %.0f%s%s", rep_num(cl, "read_as.n"),
                rep_str(cl, "read_as.population_noun")[0] ? " " : "",
                rep_str(cl, "read_as.population_noun"));
    if (json_is_number(rep_get(cl, "read_as.weeks")))
        fprintf(f, "; %g weeks", rep_num(cl, "read_as.weeks"));
    fprintf(f, "; population: %s", rep_str(cl, "read_as.population"));
    if (json_is_string(rep_get(cl, "read_as.arm")))
        fprintf(f, "; arm %s", rep_str(cl, "read_as.arm"));
    fprintf(f, "\n  Verdict: %s\n", rep_str(cl, "verdict"));
    if (json_array_size(json_object_get(cl, "claimed_n_is")) > 0) {
        fprintf(f, "  The claimed n is, in the flow:");
        json_array_foreach(json_object_get(cl, "claimed_n_is"), i, r)
        {
            fprintf(f, "%s %s (%s)", i ? "," : "", rep_str(r, "count"), rep_str(r, "arm"));
        }
        fprintf(f, "\n");
    }
    for (size_t o = 0; o < 3; o++) {
        int any = 0;
        json_array_foreach(json_object_get(cl, "rows"), i, r)
        {
            if (strcmp(rep_str(r, "verdict"), order[o]) != 0)
                continue;
            if (!any)
                fprintf(f, "  %s:\n", order[o]);
            any = 1;
            fprintf(f, "    %-26s %-11s %-10.10s n %5.0f  %8.2f  %s\n", rep_str(r, "definition"),
                    rep_str(r, "population"), rep_row_arm(r), rep_num(r, "n"), rep_num(r, "value"),
                    rep_str(r, "why"));
        }
    }
    fprintf(f, "  Rule: %s\n", rep_str(cl, "rule"));
}

/* A label, then the strings of an array after a space each, on one line. */
static void rep_text_words(FILE *f, const char *label, json_t *words)
{
    json_t *v;
    size_t i;

    fputs(label, f);
    json_array_foreach(words, i, v)
    {
        fprintf(f, " %s", json_string_value(v));
    }
    fputc('\n', f);
}

static void rep_text_report(FILE *f, json_t *doc)
{
    fprintf(f, "ATTUNE CLAIM REPORT: study %s, instrument %s\n", rep_str(doc, "study"),
            rep_str(doc, "instrument"));
    fprintf(f, "run %s | %s %s (%s) | data fingerprint %.16s... | as of %s\n",
            rep_str(doc, "provenance.run_id"), rep_str(doc, "provenance.program"),
            rep_str(doc, "provenance.version"), rep_str(doc, "provenance.git"),
            rep_str(doc, "provenance.data_fingerprint"), rep_str(doc, "provenance.asof"));
    fprintf(f, "\n1. ");
    rep_text_flow(f, json_object_get(doc, "attrition"));
    rep_text_populations(f, doc);
    rep_text_baseline(f, doc);
    rep_text_headline(f, doc);
    rep_text_effects(f, doc);
    fprintf(f, "\n5. Engagement and outcome\n");
    rep_text_engagement(f, json_object_get(doc, "engagement"));
    if (json_is_object(json_object_get(doc, "claim")))
        rep_text_claim(f, json_object_get(doc, "claim"));
    fprintf(f, "\n7. Provenance\n");
    fprintf(f,
            "  analysis run        %s (attune analyze --rerun is for single analyses; the run "
            "records this report's options and result)\n",
            rep_str(doc, "provenance.run_id"));
    fprintf(f, "  program             %s %s (git %s)\n", rep_str(doc, "provenance.program"),
            rep_str(doc, "provenance.version"), rep_str(doc, "provenance.git"));
    fprintf(f, "  data fingerprint    %s\n", rep_str(doc, "provenance.data_fingerprint"));
    fprintf(f, "    scores            %s\n", rep_str(doc, "input.scores_fingerprint"));
    fprintf(f, "    statuses          %s\n", rep_str(doc, "input.attrition_fingerprint"));
    fprintf(f, "    events            %s\n", rep_str(doc, "input.events_fingerprint"));
    rep_text_words(f, "  instrument versions", rep_get(doc, "provenance.instrument_versions"));
    fprintf(f, "  instrument facts    %s\n", rep_str(doc, "provenance.facts_source"));
    rep_text_words(f, "  options            ", rep_get(doc, "options.args"));
}

int rep_print_report(FILE *f, json_t *doc, enum rep_format fmt, const char *stylesheet_url)
{
    if (fmt == REP_HTML)
        return rep_html_report(f, doc, stylesheet_url);
    if (fmt == REP_CSV) {
        json_t *r;
        size_t i;
        fprintf(f, "section,group,name,value\n");
        rep_csv_flat(f, "provenance", "", "", json_object_get(doc, "provenance"));
        rep_csv_flat(f, "input", "", "", json_object_get(doc, "input"));
        rep_csv_flat(f, "attrition", "", "", json_object_get(doc, "attrition"));
        rep_csv_flat(f, "populations", "", "", json_object_get(doc, "populations"));
        rep_csv_flat(f, "adds_up", "", "", json_object_get(doc, "adds_up"));
        rep_csv_flat(f, "baseline", "", "", json_object_get(doc, "baseline"));
        json_array_foreach(rep_get(doc, "headline.rows"), i, r)
        {
            char group[160];
            snprintf(group, sizeof group, "%s/%s/%s", rep_str(r, "definition"),
                     rep_str(r, "population"), rep_row_arm(r));
            rep_csv_flat(f, "headline", group, "", r);
        }
        rep_csv_flat(f, "effect_sizes", "", "", json_object_get(doc, "effect_sizes"));
        rep_csv_flat(f, "engagement", "", "", json_object_get(doc, "engagement"));
        rep_csv_flat(f, "claim", "", "", json_object_get(doc, "claim"));
    } else {
        rep_text_report(f, doc);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
