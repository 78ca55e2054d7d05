/*
 * rep_html.c — the claim report as one HTML page (see rep_render.h): every
 * text escaped, no script, no inline style attribute, no event handler, no
 * external resource. The trajectory chart is inline SVG drawn with
 * presentation attributes, which a Content-Security-Policy does not treat
 * as styles.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rep_int.h"

const char rep_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;"
    "max-width:72rem;padding:0 1rem;color:#1d1d1f;line-height:1.4}\n"
    "h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;"
    "border-bottom:1px solid #ccc;padding-bottom:.2rem}h3{font-size:1rem;margin-bottom:.3rem}\n"
    "table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}\n"
    "th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;vertical-align:top}\n"
    "th{background:#f3f3f5}td.l,th.l{text-align:left}\n"
    ".meta{color:#555;font-size:.85rem}.ok{color:#176f2c;font-weight:600}"
    ".bad{color:#a0161b;font-weight:600}\n"
    ".verdict{font-size:1.1rem;padding:.5rem .8rem;border:2px solid #888;display:inline-block}\n"
    "tr.reproduces td{background:#e6f4ea}tr.value-only td{background:#fff4e0}"
    "tr.within-ci td{background:#eef3fb}\n"
    "code{font-size:.85rem;word-break:break-all}svg{max-width:100%;height:auto}\n"
    "@media print{body{margin:0}h2{break-after:avoid}}\n";

/* Escapes text for HTML element content and double-quoted attributes. */
static void h(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static void td_num(FILE *f, double v, int decimals)
{
    char buf[32];
    rep_fmt(buf, sizeof buf, v, decimals);
    fprintf(f, "<td>%s</td>", buf);
}

static void td_text(FILE *f, const char *s)
{
    fputs("<td class=\"l\">", f);
    h(f, s);
    fputs("</td>", f);
}

static void html_flow(FILE *f, json_t *att)
{
    static const struct {
        const char *label, *path;
    } rows[] = {
        {"Enrolled", "enrolled"},
        {"Scored at the baseline week", "baseline_done"},
        {"No baseline score", "no_baseline"},
        {"Completers (scored at baseline and final week)", "completers"},
        {"Did not complete: withdrew before the final week", "not_completed.withdrew"},
        {"Did not complete: missed the final questionnaire", "not_completed.missed"},
        {"Did not complete: final answer voided", "not_completed.voided"},
        {"Did not complete: final window open or upcoming", "not_completed.pending"},
        {"Scored at the final week without a baseline", "final_without_baseline"},
        {"Withdrawn, at any time", "withdrawn_any_time"},
    };
    json_t *arms = json_object_get(att, "arms"), *a;
    size_t na = json_array_size(arms), i;

    fprintf(f,
            "<p class=\"meta\">Baseline week %.0f, final week %.0f; questionnaire statuses as "
            "derived by the database as of ",
            rep_num(att, "baseline_week"), rep_num(att, "final_week"));
    h(f, rep_str(att, "asof"));
    fputs(".</p>\n<table><tr><th class=\"l\">Participants</th>", f);
    json_array_foreach(arms, i, a)
    {
        fputs("<th>", f);
        h(f, rep_str(a, "arm"));
        fputs("</th>", f);
    }
    fputs("<th>all</th></tr>\n", f);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        char path[96];
        snprintf(path, sizeof path, "flow.%s", rows[r].path);
        fputs("<tr>", f);
        td_text(f, rows[r].label);
        for (size_t k = 0; k <= na; k++)
            td_num(f,
                   rep_num(k < na ? json_array_get(arms, k) : json_object_get(att, "total"), path),
                   0);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h3>Questionnaires by week, all arms</h3>\n<table><tr><th>week</th>"
          "<th>completed</th><th>late</th><th>missed</th><th>open</th><th>upcoming</th>"
          "<th>withdrawn</th><th>scored</th><th>voided</th><th>withdrew</th></tr>\n",
          f);
    json_array_foreach(rep_get(att, "total.weeks"), i, a)
    {
        static const char *const cols[] = {"week",     "completed", "late",   "missed", "open",
                                           "upcoming", "withdrawn", "scored", "voided", "withdrew"};
        fputs("<tr>", f);
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            td_num(f, rep_num(a, cols[c]), 0);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void html_populations(FILE *f, json_t *doc)
{
    json_t *arms = rep_get(doc, "attrition.arms"), *p;
    size_t na = json_array_size(arms), i;
    int all = rep_populations_add_up(doc);

    fputs("<h3>Analysis populations</h3>\n<table><tr><th class=\"l\">population</th>", f);
    for (size_t a = 0; a < na; a++) {
        fputs("<th>", f);
        h(f, rep_str(json_array_get(arms, a), "arm"));
        fputs("</th>", f);
    }
    fputs("<th>all</th><th class=\"l\">who is included</th><th class=\"l\">valid when</th></tr>\n",
          f);
    json_array_foreach(json_object_get(doc, "populations"), i, p)
    {
        fputs("<tr>", f);
        td_text(f, rep_str(p, "label"));
        for (size_t a = 0; a <= na; a++) {
            const char *arm = a < na ? rep_str(json_array_get(arms, a), "arm") : "all";
            json_t *n = json_object_get(json_object_get(json_object_get(p, "n"), arm), "n");
            td_num(f, json_is_number(n) ? json_number_value(n) : 0, 0);
        }
        td_text(f, rep_str(p, "definition"));
        td_text(f, rep_str(p, "assumption"));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    fprintf(f,
            "<p>Populations and flow add up in every arm: <span class=\"%s\">%s</span> "
            "(completers = the flow's completers; BOCF = LOCF = scored at baseline = "
            "completers + did not complete).</p>\n",
            all ? "ok" : "bad", all ? "yes" : "no");
}

static void html_baseline(FILE *f, json_t *doc)
{
    json_t *ins, *a, *c;
    size_t i, k;
    const char *band;

    json_array_foreach(json_object_get(doc, "baseline"), i, ins)
    {
        fputs("<h3>", f);
        h(f, rep_str(ins, "instrument"));
        fputs("</h3>\n<table><tr><th class=\"l\">arm</th><th>n</th><th>mean</th><th>SD</th>"
              "<th>median</th><th class=\"l\">severity bands</th></tr>\n",
              f);
        json_array_foreach(json_object_get(ins, "arms"), k, a)
        {
            fputs("<tr>", f);
            td_text(f, rep_str(a, "arm"));
            td_num(f, rep_num(a, "n"), 0);
            td_num(f, rep_num(a, "mean"), 2);
            td_num(f, rep_num(a, "sd"), 2);
            td_num(f, rep_num(a, "median"), 1);
            fputs("<td class=\"l\">", f);
            json_object_foreach(json_object_get(a, "bands"), band, c)
            {
                h(f, band);
                fprintf(f, " %lld; ", (long long)json_integer_value(c));
            }
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void html_headline(FILE *f, json_t *doc)
{
    json_t *r;
    size_t i;
    const char *last = "";

    json_array_foreach(rep_get(doc, "headline.rows"), i, r)
    {
        char ci[48];
        const char *label = rep_str(r, "label");
        if (strcmp(label, last) != 0) {
            if (last[0] != '\0')
                fputs("</table>\n", f);
            fputs("<h3>", f);
            h(f, label);
            fputs("</h3>\n<table><tr><th class=\"l\">population</th><th class=\"l\">arm</th>"
                  "<th>n</th><th>value</th><th>95% CI</th><th class=\"l\">CI method, notes</th>"
                  "</tr>\n",
                  f);
            last = label;
        }
        fputs("<tr>", f);
        td_text(f, rep_str(r, "population"));
        td_text(f, rep_row_arm(r));
        td_num(f, rep_num(r, "n"), 0);
        td_num(f, rep_num(r, "value"), rep_row_decimals(r));
        rep_fmt_ci(ci, sizeof ci, json_object_get(r, "ci95"), rep_row_decimals(r));
        td_text(f, ci);
        fputs("<td class=\"l\">", f);
        h(f, json_is_string(json_object_get(r, "unavailable")) ? rep_str(r, "unavailable")
                                                               : rep_str(r, "ci_method"));
        if (json_is_string(json_object_get(r, "note"))) {
            fputs("; ", f);
            h(f, rep_str(r, "note"));
        }
        fputs("</td></tr>\n", f);
    }
    if (last[0] != '\0')
        fputs("</table>\n", f);
}

/* Model-based means by week and arm with their 95% CIs, as an inline SVG. */
static void html_chart(FILE *f, json_t *doc)
{
    static const char *const colours[] = {"#1f5fa8", "#c2561a", "#2a8a3e", "#7b3fa0"};
    json_t *means = rep_get(doc, "mixed.means"), *m;
    double tmin = INFINITY, tmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    const double W = 640, H = 300, L = 50, R = 120, T = 20, B = 40;
    char arms[4][64];
    size_t n_arms = 0, i;

    if (json_array_size(means) == 0)
        return;
    json_array_foreach(means, i, m)
    {
        const char *arm = json_is_string(json_object_get(m, "arm")) ? rep_str(m, "arm") : "all";
        size_t k;
        tmin = fmin(tmin, rep_num(m, "time"));
        tmax = fmax(tmax, rep_num(m, "time"));
        ymin = fmin(ymin, rep_num(m, "ci95.0"));
        ymax = fmax(ymax, rep_num(m, "ci95.1"));
        for (k = 0; k < n_arms && strcmp(arms[k], arm) != 0; k++)
            ;
        if (k == n_arms && n_arms < 4)
            snprintf(arms[n_arms++], sizeof arms[0], "%s", arm);
    }
    if (!(tmax > tmin) || !(ymax > ymin))
        return;
    ymin = floor(ymin);
    ymax = ceil(ymax);
#define X(t) (L + ((t)-tmin) / (tmax - tmin) * (W - L - R))
#define Y(v) (T + (ymax - (v)) / (ymax - ymin) * (H - T - B))
    fprintf(f,
            "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
            "aria-label=\"Model-based mean score by week and arm with 95%% confidence "
            "intervals\">\n",
            W, H, W, H);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", L,
            H - B, W - R, H - B);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", L, T, L,
            H - B);
    for (double t = tmin; t <= tmax; t += 1)
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n",
                X(t), H - B + 15, t);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">study "
            "week</text>\n",
            (L + W - R) / 2, H - 5);
    for (double y = ymin; y <= ymax; y += (ymax - ymin) > 10 ? 2 : 1)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
                L - 5, Y(y) + 4, y);
    for (size_t a = 0; a < n_arms; a++) {
        const char *col = colours[a % 4];
        int first = 1;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        json_array_foreach(means, i, m)
        {
            const char *arm = json_is_string(json_object_get(m, "arm")) ? rep_str(m, "arm") : "all";
            if (strcmp(arm, arms[a]) != 0)
                continue;
            fprintf(f, "%s%.1f,%.1f", first ? "" : " ", X(rep_num(m, "time")),
                    Y(rep_num(m, "estimate")));
            first = 0;
        }
        fputs("\"/>\n", f);
        json_array_foreach(means, i, m)
        {
            const char *arm = json_is_string(json_object_get(m, "arm")) ? rep_str(m, "arm") : "all";
            double x = X(rep_num(m, "time")) + (double)a * 3;
            if (strcmp(arm, arms[a]) != 0)
                continue;
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    x, Y(rep_num(m, "ci95.0")), x, Y(rep_num(m, "ci95.1")), col, x,
                    Y(rep_num(m, "estimate")), col);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"%s\">", W - R + 10,
                T + 15 + 18 * (double)a, col);
        h(f, arms[a]);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
#undef X
#undef Y
}

static void html_effects(FILE *f, json_t *doc)
{
    json_t *x;
    size_t i;

    fputs("<h3>Within arms (pre - post)</h3>\n<table><tr><th class=\"l\">population</th>"
          "<th class=\"l\">arm</th><th>n</th><th>d<sub>z</sub> (SRM)</th><th>95% CI (noncentral "
          "t)</th><th>g<sub>av</sub></th><th>d<sub>av</sub></th><th>d<sub>rm</sub></th></tr>\n",
          f);
    json_array_foreach(rep_get(doc, "effect_sizes.within"), i, x)
    {
        char ci[48];
        fputs("<tr>", f);
        td_text(f, rep_str(x, "population"));
        td_text(f, rep_row_arm(x));
        td_num(f, rep_num(x, "n"), 0);
        td_num(f, rep_num(x, "d_z.value"), 3);
        rep_fmt_ci(ci, sizeof ci, rep_get(x, "d_z.ci95"), 3);
        td_text(f, ci);
        td_num(f, rep_num(x, "g_av"), 3);
        td_num(f, rep_num(x, "d_av"), 3);
        td_num(f, rep_num(x, "d_rm"), 3);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h3>Between arms (test - reference)</h3>\n<table><tr><th class=\"l\">"
          "population</th><th class=\"l\">test vs reference</th><th>Hedges' g at follow-up</th>"
          "<th>95% CI</th><th>ANCOVA difference</th><th>95% CI</th><th>difference in mean "
          "change</th><th>95% CI</th></tr>\n",
          f);
    json_array_foreach(rep_get(doc, "effect_sizes.between"), i, x)
    {
        char ci[48], who[160];
        int mixed = strcmp(rep_str(x, "population"), "mixed") == 0;
        snprintf(who, sizeof who, "%s vs %s", rep_str(x, "test"), rep_str(x, "reference"));
        fputs("<tr>", f);
        td_text(f, rep_str(x, "population"));
        td_text(f, who);
        td_num(f, rep_num(x, "hedges_g.value"), 3);
        rep_fmt_ci(ci, sizeof ci, rep_get(x, "hedges_g.ci95"), 3);
        td_text(f, ci);
        td_num(f, rep_num(x, "ancova.estimate"), 2);
        rep_fmt_ci(ci, sizeof ci, rep_get(x, "ancova.ci95"), 2);
        td_text(f, ci);
        td_num(f,
               rep_num(x, mixed ? "difference_in_reduction_points.estimate"
                                : "mean_change_difference.estimate"),
               2);
        rep_fmt_ci(ci, sizeof ci,
                   rep_get(x, mixed ? "difference_in_reduction_points.ci95"
                                    : "mean_change_difference.ci95"),
                   2);
        td_text(f, ci);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void html_engagement(FILE *f, json_t *eng)
{
    static const char *const metrics[] = {"active_days", "sessions", "minutes", "exercises",
                                          "trigger_logs"};
    json_t *corr = rep_get(eng, "outcome.correlations"), *arm, *g;
    const char *name;
    size_t i;

    fprintf(f,
            "<p>Sessions: %.0f (%.0f paired, %.0f unpaired starts kept, %.0f unpaired ends "
            "dropped). Session rule: ",
            rep_num(eng, "sessions.sessions"), rep_num(eng, "sessions.paired"),
            rep_num(eng, "sessions.unpaired_start"), rep_num(eng, "sessions.unpaired_end"));
    h(f, rep_str(eng, "definitions.sessions"));
    fprintf(f, "; cap %g minutes.</p>\n", rep_num(eng, "definitions.session_cap_minutes"));
    fputs("<h3>Study totals by arm (participants exposed to every study week)</h3>\n<table><tr>"
          "<th class=\"l\">arm</th><th>n</th>",
          f);
    for (size_t m = 0; m < 5; m++)
        fprintf(f, "<th>%s mean (SD)</th>", metrics[m]);
    fputs("</tr>\n", f);
    json_object_foreach(json_object_get(eng, "by_arm"), name, arm)
    {
        fputs("<tr>", f);
        td_text(f, name);
        td_num(f, rep_num(arm, "participants"), 0);
        for (size_t m = 0; m < 5; m++) {
            char p1[64], p2[64], cell[64];
            snprintf(p1, sizeof p1, "%s.mean", metrics[m]);
            snprintf(p2, sizeof p2, "%s.sd", metrics[m]);
            snprintf(cell, sizeof cell, "%.1f (%.1f)", rep_num(arm, p1), rep_num(arm, p2));
            td_text(f, cell);
        }
        fputs("</tr>\n", f);
    }
    fprintf(f, "</table>\n<h3>Engagement and change (pre - post), population ");
    h(f, rep_str(eng, "outcome.population.name"));
    fputs("</h3>\n<table><tr><th class=\"l\">arm</th><th class=\"l\">measure</th><th>n</th>"
          "<th>Pearson r</th><th>95% CI</th><th>p</th><th>Spearman rho</th><th>95% CI</th>"
          "<th>p</th></tr>\n",
          f);
    json_object_foreach(corr, name, arm)
    {
        for (size_t m = 0; m < 5; m++) {
            json_t *x = json_object_get(arm, metrics[m]);
            char ci[48], p[16];
            fputs("<tr>", f);
            td_text(f, name);
            td_text(f, metrics[m]);
            td_num(f, rep_num(x, "pearson.n"), 0);
            td_num(f, rep_num(x, "pearson.r"), 3);
            rep_fmt_ci(ci, sizeof ci, rep_get(x, "pearson.ci95"), 3);
            td_text(f, ci);
            rep_fmt_p(p, sizeof p, rep_num(x, "pearson.p"));
            td_text(f, p);
            td_num(f, rep_num(x, "spearman.r"), 3);
            rep_fmt_ci(ci, sizeof ci, rep_get(x, "spearman.ci95"), 3);
            td_text(f, ci);
            rep_fmt_p(p, sizeof p, rep_num(x, "spearman.p"));
            td_text(f, p);
            fputs("</tr>\n", f);
        }
    }
    fputs("</table>\n<h3>Change by tertile of ", f);
    h(f, rep_str(eng, "outcome.tertiles.metric"));
    fputs("</h3>\n<table><tr><th class=\"l\">arm</th><th>tertile</th><th>range</th><th>n</th>"
          "<th>mean change</th><th>95% CI</th></tr>\n",
          f);
    json_object_foreach(rep_get(eng, "outcome.tertiles.by_arm"), name, arm)
    {
        json_array_foreach(json_object_get(arm, "groups"), i, g)
        {
            char range[48], ci[48];
            snprintf(range, sizeof range, "%g to %g", rep_num(g, "engagement_range.0"),
                     rep_num(g, "engagement_range.1"));
            rep_fmt_ci(ci, sizeof ci, json_object_get(g, "ci95"), 2);
            fputs("<tr>", f);
            td_text(f, name);
            td_num(f, rep_num(g, "tertile"), 0);
            td_text(f, rep_num(g, "n") > 0 ? range : "");
            td_num(f, rep_num(g, "n"), 0);
            td_num(f, rep_num(g, "mean_change"), 2);
            td_text(f, ci);
            fputs("</tr>\n", f);
        }
    }
    fputs("</table>\n", f);
    if (json_is_object(rep_get(eng, "mixed.fixed"))) {
        json_t *c;
        const char *term;
        fputs("<h3>Mixed model with engagement as a covariate</h3>\n<p><code>", f);
        h(f, rep_str(eng, "mixed.model.formula"));
        fputs("</code>: ", f);
        h(f, rep_str(eng, "mixed.covariate.meaning"));
        fputs("</p>\n<table><tr><th class=\"l\">term</th><th>estimate</th><th>SE</th><th>df</th>"
              "<th>p</th></tr>\n",
              f);
        json_object_foreach(rep_get(eng, "mixed.fixed"), term, c)
        {
            char p[16];
            fputs("<tr>", f);
            td_text(f, term);
            td_num(f, rep_num(c, "estimate"), 4);
            td_num(f, rep_num(c, "se"), 4);
            td_num(f, rep_num(c, "df"), 1);
            rep_fmt_p(p, sizeof p, rep_num(c, "p"));
            td_text(f, p);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void html_claim(FILE *f, json_t *cl)
{
    json_t *r;
    size_t i;

    fputs("<h2>Claim check</h2>\n<p>Claim: <q>", f);
    h(f, rep_str(cl, "text"));
    fprintf(f, "</q></p>\n<p>Read as: %g %s (rounding &plusmn;%g), direction: ",
            rep_num(cl, "read_as.value"), rep_str(cl, "read_as.unit"),
            rep_num(cl, "read_as.tolerance"));
    h(f, rep_str(cl, "read_as.direction"));
    fputs(", a ", f);
    h(f, rep_str(cl, "read_as.kind"));
    if (json_is_number(rep_get(cl, "read_as.n")))
        fprintf(f, "; n %.0f", rep_num(cl, "read_as.n"));
    if (json_is_number(rep_get(cl, "read_as.weeks")))
        fprintf(f, "; %g weeks", rep_num(cl, "read_as.weeks"));
    fputs("; population: ", f);
    h(f, rep_str(cl, "read_as.population"));
    if (json_is_string(rep_get(cl, "read_as.arm"))) {
        fputs("; arm ", f);
        h(f, rep_str(cl, "read_as.arm"));
    }
    fputs(".</p>\n<p class=\"verdict\">", f);
    h(f, rep_str(cl, "verdict"));
    fputs("</p>\n<table><tr><th class=\"l\">verdict</th><th class=\"l\">definition</th>"
          "<th class=\"l\">population</th><th class=\"l\">arm</th><th>n</th><th>value</th>"
          "<th class=\"l\">why not</th></tr>\n",
          f);
    json_array_foreach(json_object_get(cl, "rows"), i, r)
    {
        const char *v = rep_str(r, "verdict");
        if (strcmp(v, "no") == 0)
            continue;
        fprintf(f, "<tr class=\"%s\">",
                strcmp(v, "reproduces") == 0   ? "reproduces"
                : strcmp(v, "value only") == 0 ? "value-only"
                                               : "within-ci");
        td_text(f, v);
        td_text(f, rep_str(r, "definition"));
        td_text(f, rep_str(r, "population"));
        td_text(f, rep_row_arm(r));
        td_num(f, rep_num(r, "n"), 0);
        td_num(f, rep_num(r, "value"), 2);
        td_text(f, rep_str(r, "why"));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p class=\"meta\">", f);
    h(f, rep_str(cl, "rule"));
    fputs("</p>\n", f);
}

static void html_provenance(FILE *f, json_t *doc)
{
    static const struct {
        const char *label, *path;
    } rows[] = {
        {"analysis run", "provenance.run_id"},
        {"program", "provenance.version"},
        {"git revision", "provenance.git"},
        {"data fingerprint (all inputs)", "provenance.data_fingerprint"},
        {"scores fingerprint", "input.scores_fingerprint"},
        {"questionnaire statuses fingerprint", "input.attrition_fingerprint"},
        {"app events fingerprint", "input.events_fingerprint"},
        {"statuses and exposure as of", "provenance.asof"},
        {"instrument facts", "provenance.facts_source"},
    };
    json_t *v;
    size_t i;

    fputs("<h2>Provenance</h2>\n<table>\n", f);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        fputs("<tr>", f);
        td_text(f, rows[r].label);
        fputs("<td class=\"l\"><code>", f);
        h(f, rep_str(doc, rows[r].path));
        fputs("</code></td></tr>\n", f);
    }
    fputs("<tr><td class=\"l\">instrument versions</td><td class=\"l\"><code>", f);
    json_array_foreach(rep_get(doc, "provenance.instrument_versions"), i, v)
    {
        h(f, json_string_value(v));
        fputs(" ", f);
    }
    fputs("</code></td></tr>\n<tr><td class=\"l\">options</td><td class=\"l\"><code>attune "
          "report",
          f);
    json_array_foreach(rep_get(doc, "options.args"), i, v)
    {
        fputs(" ", f);
        h(f, json_string_value(v));
    }
    fputs("</code></td></tr>\n</table>\n", f);
}

int rep_html_report(FILE *f, json_t *doc, const char *stylesheet_url)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    fputs("Claim report: ", f);
    h(f, rep_str(doc, "study"));
    fputs(" / ", f);
    h(f, rep_str(doc, "instrument"));
    fputs("</title>\n", f);
    if (stylesheet_url != NULL) {
        fputs("<link rel=\"stylesheet\" href=\"", f);
        h(f, stylesheet_url);
        fputs("\">\n", f);
    } else {
        fprintf(f, "<style>\n%s</style>\n", rep_css);
    }
    fputs("</head>\n<body>\n<h1>Claim report: study ", f);
    h(f, rep_str(doc, "study"));
    fputs(", instrument ", f);
    h(f, rep_str(doc, "instrument"));
    fputs("</h1>\n<p class=\"meta\">Analysis run <code>", f);
    h(f, rep_str(doc, "provenance.run_id"));
    fputs("</code>; data fingerprint <code>", f);
    h(f, rep_str(doc, "provenance.data_fingerprint"));
    fprintf(f, "</code>; weeks %g to %g.</p>\n", rep_num(doc, "headline.pre"),
            rep_num(doc, "headline.post"));
    if (json_is_object(json_object_get(doc, "claim"))) {
        fputs("<p>Claim: <q>", f);
        h(f, rep_str(doc, "claim.text"));
        fputs("</q> &mdash; <strong>", f);
        h(f, rep_str(doc, "claim.verdict"));
        fputs("</strong> (details below).</p>\n", f);
    }
    fputs("<h2>1. Participants and attrition</h2>\n", f);
    html_flow(f, json_object_get(doc, "attrition"));
    html_populations(f, doc);
    fputs("<h2>2. Baseline characteristics by arm</h2>\n", f);
    html_baseline(f, doc);
    fputs("<h2>3. The headline reduction, every defensible way</h2>\n<p>Reduction = baseline - "
          "follow-up, so a positive value means the score went down.</p>\n",
          f);
    html_chart(f, doc);
    html_headline(f, doc);
    fputs("<h2>4. Effect sizes</h2>\n", f);
    html_effects(f, doc);
    fputs("<h2>5. Engagement and outcome</h2>\n", f);
    html_engagement(f, json_object_get(doc, "engagement"));
    if (json_is_object(json_object_get(doc, "claim")))
        html_claim(f, json_object_get(doc, "claim"));
    html_provenance(f, doc);
    fputs("</body>\n</html>\n", f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
