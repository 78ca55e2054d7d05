/*
 * analyze_reliability.c — `attune analyze reliability`: Cronbach's alpha
 * from item answers, in a wide CSV file (one row per respondent) or in a
 * study's response_items (one row per response at one week).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ana_alpha.h"
#include "analyze_cmd.h"
#include "analyze_facts.h"
#include "cli.h"
#include "ds_items.h"

#define CLI_MAX_ITEM_NAME 64

struct cli_rel {
    struct cli_data_source src;
    char **items; /* NULL: every item the study has (database only) */
    size_t k;
    char **reverse;
    size_t n_reverse;
    int have_min, have_max;
    double scale_min, scale_max;
    double week;
};

static void cli_list_free(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Splits "A1,A2,A3" into names; -1 after printing why. */
static int cli_list_parse(const char *opt, const char *text, char ***out, size_t *n)
{
    char **list = NULL;
    size_t count = 0;
    const char *p = text;

    if (*out != NULL) {
        fprintf(stderr, "error: --%s given twice\n", opt);
        return -1;
    }
    for (;;) {
        size_t len = strcspn(p, ",");
        char **grown;
        if (len == 0 || len > CLI_MAX_ITEM_NAME || count >= DS_MAX_ITEMS) {
            fprintf(stderr, "error: invalid --%s list \"%s\"\n", opt, text);
            fprintf(stderr,
                    "DETAIL: Give up to %d comma-separated names of 1 to %d "
                    "characters.\n",
                    DS_MAX_ITEMS, CLI_MAX_ITEM_NAME);
            cli_list_free(list, count);
            return -1;
        }
        grown = realloc(list, (count + 1) * sizeof *list);
        if (grown == NULL || (grown[count] = strndup(p, len)) == NULL) {
            fprintf(stderr, "error: out of memory\n");
            cli_list_free(grown ? grown : list, count);
            return -1;
        }
        list = grown;
        count++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *out = list;
    *n = count;
    return 0;
}

static const struct option cli_rel_options[] = {
    CLI_DATA_OPTIONS,
    {"items", required_argument, NULL, CLI_OPT_ITEMS},
    {"reverse", required_argument, NULL, CLI_OPT_REVERSE},
    {"scale-min", required_argument, NULL, CLI_OPT_SCALE_MIN},
    {"scale-max", required_argument, NULL, CLI_OPT_SCALE_MAX},
    {"week", required_argument, NULL, CLI_OPT_WEEK},
    {NULL, 0, NULL, 0},
};

static int cli_rel_parse(int argc, char **argv, struct cli_rel *o)
{
    int opt, r;

    optind = 0;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "", cli_rel_options, NULL)) != -1) {
        if ((r = cli_data_option(opt, optarg, &o->src)) == 1)
            continue;
        if (r < 0)
            return CLI_USAGE;
        switch (opt) {
        case CLI_OPT_ITEMS:
            if (cli_list_parse("items", optarg, &o->items, &o->k) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_REVERSE:
            if (cli_list_parse("reverse", optarg, &o->reverse, &o->n_reverse) != 0)
                return CLI_USAGE;
            break;
        case CLI_OPT_SCALE_MIN:
            if (cli_analyze_number("scale-min", optarg, -1e9, 1e9, &o->scale_min) != 0)
                return CLI_USAGE;
            o->have_min = 1;
            break;
        case CLI_OPT_SCALE_MAX:
            if (cli_analyze_number("scale-max", optarg, -1e9, 1e9, &o->scale_max) != 0)
                return CLI_USAGE;
            o->have_max = 1;
            break;
        case CLI_OPT_WEEK:
            if (cli_analyze_whole("week", optarg, 0, 1000, &o->week) != 0)
                return CLI_USAGE;
            break;
        default:
            cli_usage("analyze", 1);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (o->src.csv != NULL && o->src.study != NULL) {
        fprintf(stderr, "error: give either --csv or --study, not both\n");
        return CLI_USAGE;
    }
    if (o->src.csv == NULL && (o->src.study == NULL || o->src.instrument == NULL)) {
        fprintf(stderr, "error: no data given\nHINT: Use --csv FILE --items A1,A2,... or "
                        "--study S --instrument I.\n");
        return CLI_USAGE;
    }
    if (o->src.csv != NULL && o->items == NULL) {
        fprintf(stderr, "error: --csv needs --items\nHINT: Name the item columns, for example "
                        "--items A1,A2,A3,A4,A5.\n");
        return CLI_USAGE;
    }
    if (o->n_reverse > 0 && (!o->have_min || !o->have_max || !(o->scale_min < o->scale_max))) {
        fprintf(stderr, "error: reverse-keyed items need the answer range\n"
                        "HINT: Give --scale-min and --scale-max (for 1-6 answers, --scale-min 1 "
                        "--scale-max 6): a reversed answer is min + max - x.\n");
        return CLI_USAGE;
    }
    return 0;
}

static json_t *cli_rel_args(const struct cli_rel *o, const struct ds_items *d)
{
    json_t *a = json_array();
    char list[DS_MAX_ITEMS * (CLI_MAX_ITEM_NAME + 1) + 1];
    size_t used = 0;

    if (o->src.study != NULL) {
        cli_args_add(a, "--study", o->src.study);
        cli_args_add(a, "--instrument", o->src.instrument);
        cli_args_num(a, "--week", o->week);
    } else {
        cli_args_add(a, "--csv", o->src.csv);
        if (o->src.columns.id != NULL)
            cli_args_add(a, "--id", o->src.columns.id);
    }
    /* The items actually used, so a rerun uses the same ones. */
    list[0] = '\0';
    for (size_t j = 0; j < d->k; j++)
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? "," : "", d->items[j]);
    cli_args_add(a, "--items", list);
    if (o->n_reverse > 0) {
        used = 0;
        for (size_t j = 0; j < o->n_reverse; j++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? "," : "",
                                     o->reverse[j]);
        cli_args_add(a, "--reverse", list);
        cli_args_num(a, "--scale-min", o->scale_min);
        cli_args_num(a, "--scale-max", o->scale_max);
    }
    return a;
}

static const struct cli_out_row cli_rel_rows[] = {
    {"n", "complete cases", "n", NULL, 'n'},
    {"k", "items", "k", NULL, 'n'},
    {"alpha_raw", "Cronbach's alpha (raw)", "alpha_raw", NULL, 'f'},
    {"alpha_std", "Cronbach's alpha (standardised)", "alpha_std", NULL, 'f'},
    {"mean_r", "mean inter-item correlation", "mean_r", NULL, 'f'},
    {"total_mean", "mean of the total", "total_mean", NULL, 'f'},
    {"total_sd", "SD of the total", "total_sd", NULL, 'f'},
};

static const struct cli_out_layout cli_rel_layout = {"attune analyze reliability", cli_rel_rows,
                                                     sizeof cli_rel_rows / sizeof cli_rel_rows[0]};

int cli_analyze_reliability(int argc, char **argv, const struct cli_rerun *rerun)
{
    struct cli_rel o;
    struct cfg cfg;
    struct ds_items *d = NULL;
    struct ana_alpha a;
    PGconn *conn = NULL;
    json_t *doc = NULL, *opts, *items, *vers;
    unsigned char *rev = NULL;
    double *mean = NULL, *sd = NULL;
    struct err e;
    int status, cfg_loaded = 0;

    memset(&o, 0, sizeof o);
    if ((status = cli_rel_parse(argc, argv, &o)) != 0)
        goto out;
    status = CLI_FAIL;
    err_clear(&e);
    if (o.src.study != NULL) {
        char **inst_rev = NULL;
        size_t n_inst_rev = 0;
        double lo, hi;
        if (cli_config(&cfg, NULL) != CLI_OK)
            goto out;
        cfg_loaded = 1;
        /* Reverse keys from the instrument definition, when it can say. */
        if (o.reverse == NULL &&
            cli_items_for_instrument(&cfg, o.src.instrument, &inst_rev, &n_inst_rev, &lo, &hi)) {
            o.reverse = inst_rev;
            o.n_reverse = n_inst_rev;
            o.scale_min = lo, o.scale_max = hi, o.have_min = o.have_max = 1;
        }
        if (cli_analyze_connect(&cfg, &conn, &e) != 0 ||
            ds_load_study_items(conn, o.src.study, o.src.instrument, (int)o.week,
                                (const char *const *)o.items, o.k, &d, &e) != 0) {
            status = cli_analyze_fail(&e);
            goto out;
        }
    } else if (ds_load_items_csv(o.src.csv, o.src.columns.id, (const char *const *)o.items, o.k, &d,
                                 &e) != 0) {
        status = cli_analyze_fail(&e);
        goto out;
    }
    for (size_t j = 0; j < d->k; j++) {
        size_t answered = 0;
        for (size_t i = 0; i < d->n; i++)
            answered += !isnan(d->x[i * d->k + j]);
        if (answered == 0) {
            fprintf(stderr, "error: item \"%s\" has no answers in %s\n", d->items[j], d->source);
            goto out;
        }
    }
    rev = calloc(d->k, 1);
    mean = malloc(d->k * sizeof *mean);
    sd = malloc(d->k * sizeof *sd);
    if (rev == NULL || mean == NULL || sd == NULL) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    for (size_t r = 0; r < o.n_reverse; r++) {
        size_t j;
        for (j = 0; j < d->k && strcmp(d->items[j], o.reverse[r]) != 0; j++)
            ;
        if (j == d->k) {
            fprintf(stderr, "error: reverse-keyed item \"%s\" is not among the items\n",
                    o.reverse[r]);
            status = CLI_USAGE;
            goto out;
        }
        rev[j] = 1;
    }
    if (ana_cronbach_alpha(d->x, d->n, d->k, rev, o.scale_min, o.scale_max, &a, mean, sd, &e) !=
        0) {
        status = cli_analyze_fail(&e);
        goto out;
    }

    opts = json_pack("{s:s, s:o}", "source", o.src.study ? "study" : "csv", "args",
                     cli_rel_args(&o, d));
    if (o.src.study != NULL) {
        json_object_set_new(opts, "study", json_string(o.src.study));
        json_object_set_new(opts, "instrument", json_string(o.src.instrument));
        json_object_set_new(opts, "week", json_real(o.week));
    } else {
        json_object_set_new(opts, "csv", json_string(o.src.csv));
        json_object_set_new(opts, "id",
                            o.src.columns.id ? json_string(o.src.columns.id) : json_null());
    }
    json_object_set_new(opts, "scale_min", o.n_reverse ? json_real(o.scale_min) : json_null());
    json_object_set_new(opts, "scale_max", o.n_reverse ? json_real(o.scale_max) : json_null());
    doc = cli_analyze_doc("reliability", opts, d->source, d->fingerprint);
    vers = json_array();
    for (size_t v = 0; v < d->n_versions; v++)
        json_array_append_new(vers, json_string(d->versions[v]));
    json_object_set_new(json_object_get(doc, "input"), "rows", json_integer((json_int_t)d->n));
    json_object_set_new(json_object_get(doc, "input"), "missing_answers",
                        json_integer((json_int_t)d->n_missing));
    json_object_set_new(json_object_get(doc, "input"), "instrument_versions", vers);
    json_object_set_new(doc, "group", json_string("scale"));
    json_object_set_new(doc, "population",
                        json_pack("{s:s, s:I, s:I, s:{s:I}, s:I}", "name", "complete cases",
                                  "considered", (json_int_t)d->n, "included", (json_int_t)a.n,
                                  "excluded", "missing_answer", (json_int_t)a.n_excluded, "imputed",
                                  (json_int_t)0));
    json_object_set_new(doc, "alpha_raw", json_real(a.alpha_raw));
    json_object_set_new(doc, "alpha_std", json_real(a.alpha_std));
    json_object_set_new(doc, "n", json_integer((json_int_t)a.n));
    json_object_set_new(doc, "k", json_integer((json_int_t)a.k));
    json_object_set_new(doc, "mean_r", json_real(a.mean_r));
    json_object_set_new(doc, "total_mean", json_real(a.total_mean));
    json_object_set_new(doc, "total_sd", json_real(a.total_sd));
    items = json_array();
    for (size_t j = 0; j < d->k; j++)
        json_array_append_new(items, json_pack("{s:s, s:b, s:f, s:f}", "item", d->items[j],
                                               "reversed", rev[j], "mean", mean[j], "sd", sd[j]));
    json_object_set_new(doc, "items", items);
    json_object_set_new(doc, "unavailable", json_object());
    {
        struct cli_run_info info = {"reliability",  o.src.study, json_object_get(doc, "options"),
                                    d->fingerprint, d->versions, d->n_versions};
        status = cli_analyze_finish(conn, &info, doc, o.src.format, &cli_rel_layout, rerun);
    }
out:
    json_decref(doc);
    free(rev);
    free(mean);
    free(sd);
    ds_items_free(d);
    cli_list_free(o.items, o.k);
    cli_list_free(o.reverse, o.n_reverse);
    if (conn != NULL)
        PQfinish(conn);
    if (cfg_loaded)
        cfg_free(&cfg);
    return status;
}
