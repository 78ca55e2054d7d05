/*
 * cmd_instruments.c — `attune instruments ...`: the instrument definitions for
 * people who write them and people who check the engine by hand.
 *
 *   list | show ID | check FILE | score ID | import-redcap FILE.csv |
 *   export-redcap ID | export-fhir ID
 *
 * Definitions come from cfg.instruments_dir. Output that a program may read
 * (definitions, scores, FHIR, REDCap) goes to standard output; errors and
 * import notes go to standard error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ins.h"

#define CLI_INS_MAX_STDIN (1024 * 1024)

/* What every action gets: options and, when it asked, the registry. */
struct cli_ins {
    struct cfg *cfg;
    struct ins_registry *reg;
    const char *arg;     /* the one positional argument, or NULL */
    const char *version; /* --version */
    const char *out_dir; /* --out (import-redcap) */
    const char *texts;   /* --texts (export-fhir) */
    struct err *e;
};

/* Prints a JSON value on stdout, pretty, and a newline. */
static int cli_ins_print_json(const json_t *v)
{
    if (v == NULL || json_dumpf(v, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0)
        return CLI_FAIL;
    fputc('\n', stdout);
    return CLI_OK;
}

static const struct ins_definition *cli_ins_find(struct cli_ins *c)
{
    const struct ins_definition *def = ins_registry_find(c->reg, c->arg, c->version);

    if (def == NULL) {
        if (c->version != NULL)
            err_set(c->e, INS_ENOTFOUND, "no instrument \"%s\" version \"%s\"", c->arg, c->version);
        else
            err_set(c->e, INS_ENOTFOUND, "no instrument \"%s\"", c->arg);
        err_hint(c->e, "Run \"attune instruments list\" to see the definitions in %s.",
                 c->cfg->instruments_dir);
    }
    return def;
}

static int cli_ins_list(struct cli_ins *c)
{
    size_t n = ins_registry_count(c->reg);

    printf("%-10s %-8s %5s %6s  %-14s %-12s %s\n", "ID", "VERSION", "ITEMS", "SCORES", "TEXTS",
           "SHA-256", "TITLE");
    for (size_t i = 0; i < n; i++) {
        const struct ins_definition *d = ins_registry_at(c->reg, i);
        printf("%-10s %-8s %5zu %6zu  %-14s %.12s %s\n", d->id, d->version, d->n_items, d->n_scores,
               ins_texts_name(d->texts), d->checksum, d->title);
    }
    return CLI_OK;
}

static int cli_ins_show(struct cli_ins *c)
{
    const struct ins_definition *def = cli_ins_find(c);
    json_t *j;
    int rc;

    if (def == NULL)
        return CLI_FAIL;
    j = ins_definition_to_json(def);
    rc = cli_ins_print_json(j);
    json_decref(j);
    return rc;
}

static int cli_ins_check(struct cli_ins *c)
{
    struct ins_definition *def = NULL;
    size_t subscales;

    if (ins_definition_load(c->arg, &def, c->e) != 0)
        return CLI_FAIL;
    subscales = def->n_scores - (ins_definition_total(def) != NULL);
    printf("ok: %s version %s: %zu items, %s, %zu subscales, %zu cut-offs, %zu safety flags, "
           "item texts %s\nsha256 %s\n",
           def->id, def->version, def->n_items, ins_definition_total(def) ? "a total" : "no total",
           subscales, def->n_cutoffs, def->n_flags, ins_texts_name(def->texts), def->checksum);
    ins_definition_free(def);
    return CLI_OK;
}

/* Reads standard input whole, up to the cap. */
static int cli_ins_read_stdin(char **out, size_t *len, struct err *e)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);

    if (buf == NULL)
        return err_set(e, INS_ENOMEM, "out of memory");
    for (;;) {
        size_t got;
        if (n == cap) {
            char *grown;
            if (cap >= CLI_INS_MAX_STDIN) {
                free(buf);
                err_set(e, INS_EINVAL, "standard input is larger than %d bytes", CLI_INS_MAX_STDIN);
                return INS_EINVAL;
            }
            grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                return err_set(e, INS_ENOMEM, "out of memory");
            }
            buf = grown;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(stdin)) {
        free(buf);
        return err_set(e, INS_EIO, "could not read standard input");
    }
    *out = buf;
    *len = n;
    return 0;
}

static int cli_ins_score(struct cli_ins *c)
{
    const struct ins_definition *def = cli_ins_find(c);
    struct ins_problems *problems = NULL;
    struct ins_answers *answers = NULL;
    struct ins_result *result = NULL;
    json_t *in = NULL, *out = NULL;
    json_error_t jerr;
    char *buf = NULL;
    size_t len = 0;
    int rc = CLI_FAIL, r;

    if (def == NULL)
        return CLI_FAIL;
    if (cli_ins_read_stdin(&buf, &len, c->e) != 0)
        goto out;
    in = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (in == NULL) {
        err_set(c->e, INS_EINVAL, "answers are not valid JSON (line %d, column %d)", jerr.line,
                jerr.column);
        err_detail(c->e, "The parser says: %s.", jerr.text);
        goto out;
    }
    problems = calloc(1, sizeof *problems);
    if (problems == NULL) {
        err_set(c->e, INS_ENOMEM, "out of memory");
        goto out;
    }
    r = ins_answers_from_json(def, in, &answers, problems, c->e);
    if (r == INS_EANSWERS) {
        out = json_pack("{s:o}", "errors", ins_problems_to_json(problems, ""));
        cli_ins_print_json(out);
        err_set(c->e, INS_EANSWERS, "%zu problem%s with the answers for \"%s\" version \"%s\"",
                problems->n + problems->n_dropped,
                problems->n + problems->n_dropped == 1 ? "" : "s", def->id, def->version);
        err_detail(c->e, "Each problem is listed on standard output with a JSON pointer to the "
                         "answer it concerns.");
        goto out;
    }
    if (r != 0 || ins_score(answers, &result, c->e) != 0)
        goto out;
    out = ins_result_to_json(result);
    rc = cli_ins_print_json(out);
out:
    json_decref(in);
    json_decref(out);
    ins_result_free(result);
    ins_answers_free(answers);
    free(problems);
    free(buf);
    return rc;
}

/* Writes a definition to DIR/<id>-<version>.json, never over an existing file. */
static int cli_ins_write_definition(const char *dir, const struct ins_definition *def,
                                    struct err *e)
{
    char path[4096];
    FILE *f;

    if ((size_t)snprintf(path, sizeof path, "%s/%s-%s.json", dir, def->id, def->version) >=
        sizeof path)
        return err_set(e, INS_EIO, "path too long");
    f = fopen(path, "wx");
    if (f == NULL)
        return err_set(e, INS_EIO, "could not create \"%s\": %s", path, strerror(errno));
    if (fwrite(def->text, 1, def->text_len, f) != def->text_len) {
        fclose(f);
        return err_set(e, INS_EIO, "could not write \"%s\"", path);
    }
    if (fclose(f) != 0)
        return err_set(e, INS_EIO, "could not write \"%s\": %s", path, strerror(errno));
    printf("wrote %s\n", path);
    return 0;
}

static int cli_ins_import_redcap(struct cli_ins *c)
{
    struct ins_redcap_import *imp = NULL;
    const char *base = strrchr(c->arg, '/');
    char *buf = NULL;
    FILE *f = NULL;
    size_t len = 0;
    int rc = CLI_FAIL;

    base = base ? base + 1 : c->arg;
    f = fopen(c->arg, "rb");
    if (f == NULL) {
        err_set(c->e, INS_EIO, "could not open \"%s\": %s", c->arg, strerror(errno));
        goto out;
    }
    buf = malloc(INS_MAX_REDCAP_BYTES + 1);
    if (buf == NULL) {
        err_set(c->e, INS_ENOMEM, "out of memory");
        goto out;
    }
    len = fread(buf, 1, INS_MAX_REDCAP_BYTES + 1, f);
    if (ferror(f)) {
        err_set(c->e, INS_EIO, "could not read \"%s\"", c->arg);
        goto out;
    }
    if (ins_redcap_import(buf, len, base, c->version, &imp, c->e) != 0)
        goto out;
    for (size_t i = 0; i < imp->n_notes; i++) {
        const struct ins_redcap_note *n = &imp->notes[i];
        fprintf(stderr, "NOTICE: row %zu, form \"%s\"%s%s%s: %s\n", n->line, n->form,
                n->field[0] ? ", field \"" : "", n->field, n->field[0] ? "\"" : "", n->message);
    }
    if (imp->n_defs == 0) {
        err_set(c->e, INS_EINVAL, "no form of \"%s\" could be imported", base);
        goto out;
    }
    if (c->out_dir != NULL) {
        for (size_t i = 0; i < imp->n_defs; i++)
            if (cli_ins_write_definition(c->out_dir, imp->defs[i], c->e) != 0)
                goto out;
    } else if (imp->n_defs == 1) {
        fwrite(imp->defs[0]->text, 1, imp->defs[0]->text_len, stdout);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < imp->n_defs; i++)
            json_array_append_new(arr, ins_definition_to_json(imp->defs[i]));
        if (cli_ins_print_json(arr) != CLI_OK) {
            json_decref(arr);
            err_set(c->e, INS_ENOMEM, "out of memory");
            goto out;
        }
        json_decref(arr);
    }
    rc = CLI_OK;
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    ins_redcap_import_free(imp);
    return rc;
}

static int cli_ins_export_redcap(struct cli_ins *c)
{
    const struct ins_definition *def = cli_ins_find(c);
    char *csv = NULL;
    size_t len;

    if (def == NULL || ins_redcap_export(def, &csv, &len, c->e) != 0)
        return CLI_FAIL;
    fwrite(csv, 1, len, stdout);
    free(csv);
    return CLI_OK;
}

static int cli_ins_export_fhir(struct cli_ins *c)
{
    const struct ins_definition *def = cli_ins_find(c);
    struct ins_texts_file *texts = NULL;
    json_t *q = NULL;
    int rc = CLI_FAIL;

    if (def == NULL)
        return CLI_FAIL;
    if (c->texts != NULL && ins_texts_load(def, c->texts, &texts, c->e) != 0)
        goto out;
    if (ins_fhir_questionnaire(def, texts, c->cfg->public_url, &q, c->e) != 0)
        goto out;
    rc = cli_ins_print_json(q);
out:
    json_decref(q);
    ins_texts_free(texts);
    return rc;
}

/*
 * The actions: name, the positional argument it takes (NULL: none), whether it
 * needs the registry loaded, and which options it accepts.
 */
#define CLI_INS_OPT_VERSION 1
#define CLI_INS_OPT_OUT     2
#define CLI_INS_OPT_TEXTS   4

static const struct {
    const char *name;
    const char *arg;
    int registry;
    int options;
    int (*run)(struct cli_ins *c);
} cli_ins_actions[] = {
    {"list", NULL, 1, 0, cli_ins_list},
    {"show", "ID", 1, CLI_INS_OPT_VERSION, cli_ins_show},
    {"check", "FILE", 0, 0, cli_ins_check},
    {"score", "ID", 1, CLI_INS_OPT_VERSION, cli_ins_score},
    {"import-redcap", "FILE.csv", 0, CLI_INS_OPT_VERSION | CLI_INS_OPT_OUT, cli_ins_import_redcap},
    {"export-redcap", "ID", 1, CLI_INS_OPT_VERSION, cli_ins_export_redcap},
    {"export-fhir", "ID", 1, CLI_INS_OPT_VERSION | CLI_INS_OPT_TEXTS, cli_ins_export_fhir},
};

int cli_instruments(int argc, char **argv)
{
    static const struct option options[] = {
        {"version", required_argument, NULL, CLI_INS_OPT_VERSION},
        {"out", required_argument, NULL, CLI_INS_OPT_OUT},
        {"texts", required_argument, NULL, CLI_INS_OPT_TEXTS},
        {NULL, 0, NULL, 0},
    };
    struct cli_ins c;
    struct cfg cfg;
    struct err e;
    size_t a;
    int opt, rc;

    if (argc < 2) {
        cli_usage("instruments", 1);
        return CLI_USAGE;
    }
    for (a = 0; a < sizeof cli_ins_actions / sizeof cli_ins_actions[0]; a++)
        if (strcmp(argv[1], cli_ins_actions[a].name) == 0)
            break;
    if (a == sizeof cli_ins_actions / sizeof cli_ins_actions[0]) {
        fprintf(stderr, "error: unknown action \"instruments %s\"\n", argv[1]);
        cli_usage("instruments", 1);
        return CLI_USAGE;
    }
    memset(&c, 0, sizeof c);
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        if (opt == '?' || !(cli_ins_actions[a].options & opt)) {
            if (opt != '?')
                fprintf(stderr, "error: \"instruments %s\" takes no such option\n", argv[1]);
            cli_usage("instruments", 1);
            return CLI_USAGE;
        }
        if (opt == CLI_INS_OPT_VERSION)
            c.version = optarg;
        else if (opt == CLI_INS_OPT_OUT)
            c.out_dir = optarg;
        else
            c.texts = optarg;
    }
    if (cli_ins_actions[a].arg != NULL) {
        if (optind + 1 != argc - 1) {
            fprintf(stderr, "error: \"instruments %s\" takes one argument, %s\n", argv[1],
                    cli_ins_actions[a].arg);
            return CLI_USAGE;
        }
        c.arg = argv[optind + 1];
    } else if (optind + 1 != argc) {
        fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind + 1]);
        return CLI_USAGE;
    }
    if (cli_config(&cfg, NULL) != CLI_OK)
        return CLI_FAIL;
    err_clear(&e);
    c.cfg = &cfg;
    c.e = &e;
    rc = CLI_FAIL;
    if (!cli_ins_actions[a].registry || ins_registry_load(cfg.instruments_dir, &c.reg, &e) == 0)
        rc = cli_ins_actions[a].run(&c);
    if (rc == CLI_FAIL)
        cli_error(&e);
    ins_registry_free(c.reg);
    cfg_free(&cfg);
    return rc;
}
