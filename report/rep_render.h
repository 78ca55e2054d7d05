/*
 * rep_render.h — printing the documents of `attune analyze attrition`,
 * `attune analyze engagement` and `attune report` for people: an aligned
 * text table, CSV (one number a row), or one self-contained HTML page.
 *
 * Every printer reads the JSON document the command built and recorded, so
 * the formats can never disagree with each other or with the recorded run.
 * Pure: jansson in, text out, nothing else touched.
 *
 * The HTML page has no script, no inline style attribute, no event handler
 * and no external resource; its styles are one <style> element, so it opens
 * anywhere as a file. Attune's server sends a Content-Security-Policy with
 * default-src 'self', which blocks a <style> element: a page it serves must
 * link the same rules as a stylesheet instead (stylesheet_url below; the
 * rules are rep_css).
 */
#ifndef ATTUNE_REP_RENDER_H
#define ATTUNE_REP_RENDER_H

#include <stdio.h>

#include <jansson.h>

enum rep_format {
    REP_TEXT = 0,
    REP_CSV,
    REP_HTML,
};

/* The attrition document (or any object holding its keys). Returns 0, or -1 when writing failed. */
int rep_print_attrition(FILE *f, json_t *doc, enum rep_format fmt);

/* The engagement document. */
int rep_print_engagement(FILE *f, json_t *doc, enum rep_format fmt);

/*
 * The claim report. For HTML, stylesheet_url NULL embeds rep_css in a
 * <style> element (a file to open or send); otherwise the page links it.
 */
int rep_print_report(FILE *f, json_t *doc, enum rep_format fmt, const char *stylesheet_url);

/* The report page's style rules. */
extern const char rep_css[];

/*
 * Small pieces of printing that `attune analyze`'s own printer
 * (cli/analyze_out.c) shares with these.
 */

/*
 * The value at a dotted path ("flow.not_completed.missed"; an array is
 * indexed by a whole number, "ci95.0"), or NULL. Borrowed.
 */
json_t *rep_get(json_t *root, const char *path);

/* One CSV cell, quoted when it holds a comma, quote or line break (RFC 4180). */
void rep_csv_cell(FILE *f, const char *s);

/* The shortest text (15 to 17 significant digits) that reads back as the same double. */
void rep_real(char *buf, size_t size, double x);

#endif
