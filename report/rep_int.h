/*
 * rep_int.h — what rep_render.c and rep_html.c share: reading numbers and
 * strings out of the documents by dotted path (rep_get, in rep_render.h),
 * and formatting them. Not part of report/'s contract.
 */
#ifndef ATTUNE_REP_INT_H
#define ATTUNE_REP_INT_H

#include <stdio.h>

#include <jansson.h>

#include "rep_render.h"

/* The number at a path, or NaN. */
double rep_num(json_t *root, const char *path);

/* The string at a path, or "". Borrowed. */
const char *rep_str(json_t *root, const char *path);

/* A number with `decimals` decimals, or "n/a" when not finite. */
void rep_fmt(char *buf, size_t size, double v, int decimals);

/* "[lo, hi]" of a two-number array, or "" when either end is missing. */
void rep_fmt_ci(char *buf, size_t size, json_t *ci, int decimals);

/* A p value: 4 decimals, or "<0.0001". */
void rep_fmt_p(char *buf, size_t size, double p);

/* A headline row's decimals (1 for percentages, 2 for points) and arm words. */
int rep_row_decimals(json_t *row);
const char *rep_row_arm(json_t *row);

/* Whether every arm's populations add up with its flow (the report's "adds_up" checks). */
int rep_populations_add_up(json_t *doc);

/* The text sections the report shares with the commands. */
void rep_text_flow(FILE *f, json_t *attrition);
void rep_text_engagement(FILE *f, json_t *engagement);

/* The HTML page (rep_html.c). */
int rep_html_report(FILE *f, json_t *doc, const char *stylesheet_url);

#endif
