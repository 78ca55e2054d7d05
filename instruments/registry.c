/*
 * registry.c — every definition of a folder, found by id and version, and
 * the study-supplied item texts of definitions shipped without them.
 *
 * A registry is loaded once (at start-up, or per CLI command) and then only
 * read, so threads may share it without locks. A bad file fails the whole
 * load: serving with one instrument silently missing would be worse.
 */
#include "ins_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ins_registry {
    struct ins_definition **defs;
    size_t n;
};

void ins_registry_free(struct ins_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->n; i++)
        ins_definition_free(reg->defs[i]);
    free(reg->defs);
    free(reg);
}

static int ins_registry_cmp(const void *a, const void *b)
{
    const struct ins_definition *x = *(const struct ins_definition *const *)a;
    const struct ins_definition *y = *(const struct ins_definition *const *)b;
    int c = strcmp(x->id, y->id);

    return c != 0 ? c : ins_version_cmp(x->version, y->version);
}

static int ins_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ins_registry_load(const char *dir, struct ins_registry **out, struct err *e)
{
    struct ins_registry *reg = calloc(1, sizeof *reg);
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *ent;
    DIR *d = NULL;
    int rc = INS_ENOMEM;

    if (reg == NULL)
        return err_set(e, INS_ENOMEM, "out of memory");
    d = opendir(dir);
    if (d == NULL) {
        rc = err_set(e, INS_EIO, "could not open instruments folder \"%s\": %s", dir,
                     strerror(errno));
        goto out;
    }
    /* Names first, sorted, so that errors and order do not depend on readdir. */
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        char **grown;
        if (len < 6 || ent->d_name[0] == '.' || strcmp(ent->d_name + len - 5, ".json") != 0)
            continue;
        if (n_names >= INS_MAX_DEFINITIONS) {
            rc = err_set(e, INS_EINVAL, "instruments folder \"%s\" holds more than %d definitions",
                         dir, INS_MAX_DEFINITIONS);
            goto out;
        }
        grown = realloc(names, (n_names + 1) * sizeof *names);
        if (grown == NULL || (grown[n_names] = strdup(ent->d_name)) == NULL) {
            if (grown != NULL)
                names = grown;
            rc = err_set(e, INS_ENOMEM, "out of memory");
            goto out;
        }
        names = grown;
        n_names++;
    }
    qsort(names, n_names, sizeof *names, ins_name_cmp);
    reg->defs = calloc(n_names ? n_names : 1, sizeof *reg->defs);
    if (reg->defs == NULL) {
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_names; i++) {
        struct ins_definition *def = NULL;
        char path[4096], want[INS_ID_MAX + INS_VERSION_MAX + 8];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
            rc = err_set(e, INS_EIO, "path of \"%s\" is too long", names[i]);
            goto out;
        }
        if ((rc = ins_definition_load(path, &def, e)) != 0)
            goto out;
        reg->defs[reg->n++] = def;
        snprintf(want, sizeof want, "%s-%s.json", def->id, def->version);
        if (strcmp(want, names[i]) != 0) {
            rc =
                err_set(e, INS_EINVAL, "\"%s\": file name does not match the definition", names[i]);
            err_detail(e, "A definition with id \"%s\" and version \"%s\" lives in \"%s\".",
                       def->id, def->version, want);
            goto out;
        }
    }
    qsort(reg->defs, reg->n, sizeof *reg->defs, ins_registry_cmp);
    for (size_t i = 1; i < reg->n; i++)
        if (ins_registry_cmp(&reg->defs[i - 1], &reg->defs[i]) == 0) {
            rc = err_set(e, INS_EINVAL, "instrument \"%s\" version \"%s\" is defined twice",
                         reg->defs[i]->id, reg->defs[i]->version);
            goto out;
        }
    *out = reg;
    reg = NULL;
    rc = 0;
out:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    if (d != NULL)
        closedir(d);
    ins_registry_free(reg);
    return rc;
}

const struct ins_definition *ins_registry_find(const struct ins_registry *reg, const char *id,
                                               const char *version)
{
    const struct ins_definition *best = NULL;

    for (size_t i = 0; reg != NULL && i < reg->n; i++) {
        const struct ins_definition *d = reg->defs[i];
        if (strcmp(d->id, id) != 0)
            continue;
        if (version != NULL) {
            if (strcmp(d->version, version) == 0)
                return d;
        } else if (best == NULL || ins_version_cmp(d->version, best->version) > 0) {
            best = d;
        }
    }
    return best;
}

size_t ins_registry_count(const struct ins_registry *reg)
{
    return reg ? reg->n : 0;
}

const struct ins_definition *ins_registry_at(const struct ins_registry *reg, size_t i)
{
    return reg != NULL && i < reg->n ? reg->defs[i] : NULL;
}

/* ------------------------------------------------------- study-supplied texts */

struct ins_texts_file {
    char **texts; /* one per item of the definition */
    size_t n;
    char *language, *permission;
    char *canonical; /* the canonical JSON the checksum covers */
    char checksum[65];
};

void ins_texts_free(struct ins_texts_file *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->texts[i]);
    free(t->texts);
    free(t->language);
    free(t->permission);
    free(t->canonical);
    free(t);
}

int ins_texts_read(const char *path, json_t **out, struct err *e)
{
    const char *base = strrchr(path, '/');
    json_error_t jerr;
    json_t *root;
    char *buf = NULL;
    size_t len;
    int rc;

    base = base ? base + 1 : path;
    if ((rc = ins_read_file(path, INS_MAX_FILE_BYTES, &buf, &len, e)) != 0)
        return rc;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (root == NULL) {
        err_set(e, INS_EINVAL, "\"%s\": invalid JSON at line %d, column %d", base, jerr.line,
                jerr.column);
        err_detail(e, "The parser says: %s.", jerr.text);
        return INS_EINVAL;
    }
    *out = root;
    return 0;
}

int ins_texts_from_json(const struct ins_definition *def, const json_t *root, const char *name,
                        struct ins_texts_file **out, struct err *e)
{
    struct ins_texts_file *t = NULL;
    const char *key, *inst, *ver, *lang, *perm;
    json_t *items, *val;
    json_error_t jerr;
    int fmt, rc = INS_EINVAL;

    if (name == NULL)
        name = "(texts)";
    /* json_unpack_ex takes a non-const root; it only reads it. */
    if (json_unpack_ex((json_t *)root, &jerr, JSON_STRICT, "{s:i, s:s, s:s, s:s, s:s, s:o}",
                       "attune_texts", &fmt, "instrument", &inst, "version", &ver, "language",
                       &lang, "permission", &perm, "items", &items) != 0) {
        err_set(e, INS_EINVAL, "\"%s\": not an item texts file", name);
        err_detail(e,
                   "%s. A texts file is {\"attune_texts\": 1, \"instrument\", \"version\", "
                   "\"language\", \"permission\", \"items\"}.",
                   jerr.text);
        goto out;
    }
    if (fmt != 1) {
        err_set(e, INS_EINVAL, "\"%s\": /attune_texts: unknown format version %d", name, fmt);
        err_detail(e, "This program reads item texts files of format version 1.");
        goto out;
    }
    if (strcmp(inst, def->id) != 0 || strcmp(ver, def->version) != 0) {
        err_set(e, INS_EINVAL,
                "\"%s\": texts are for \"%.63s\" version \"%.32s\", not \"%s\" version \"%s\"",
                name, inst, ver, def->id, def->version);
        err_detail(e, "Its /instrument and /version must name the definition the texts are for.");
        goto out;
    }
    if (def->texts != INS_TEXTS_STUDY_SUPPLIED) {
        err_set(e, INS_EINVAL, "\"%s\": \"%s\" version \"%s\" ships its own item texts", name,
                def->id, def->version);
        err_detail(e, "Only a scoring key (\"item_texts\": \"study-supplied\") takes its texts "
                      "from the study.");
        goto out;
    }
    if (!ins_valid_language(lang)) {
        err_set(e, INS_EINVAL, "\"%s\": /language: \"%.40s\" is not a BCP 47 language tag", name,
                lang);
        goto out;
    }
    if (strspn(perm, " \t\r\n") == strlen(perm) || strlen(perm) > INS_MAX_TEXT) {
        err_set(e, INS_EINVAL,
                "\"%s\": /permission: a permission statement of 1 to %d bytes is "
                "required",
                name, INS_MAX_TEXT);
        err_detail(e, "The instrument is licensed: say under what permission the study uses "
                      "these texts (who granted it, for which study, when).");
        goto out;
    }
    if (!json_is_object(items) || json_object_size(items) > INS_MAX_ITEMS) {
        err_set(e, INS_EINVAL, "\"%s\": /items must be an object of at most %d item texts", name,
                INS_MAX_ITEMS);
        goto out;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL || (t->texts = calloc(def->n_items, sizeof *t->texts)) == NULL) {
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    t->n = def->n_items;
    json_object_foreach(items, key, val)
    {
        char p[256];
        size_t i;
        ins_pointer(p, sizeof p, "/items", key);
        for (i = 0; i < def->n_items && strcmp(def->items[i].id, key) != 0; i++)
            ;
        if (i == def->n_items) {
            err_set(e, INS_EINVAL, "\"%s\": %s: unknown item \"%.64s\"", name, p, key);
            err_detail(e,
                       "\"%s\" version \"%s\" has no such item; a texts file gives a text for "
                       "every item of the definition and no other.",
                       def->id, def->version);
            goto out;
        }
        if (!json_is_string(val) || json_string_length(val) == 0 ||
            json_string_length(val) > INS_MAX_TEXT) {
            err_set(e, INS_EINVAL, "\"%s\": %s: must be a text of 1 to %d bytes", name, p,
                    INS_MAX_TEXT);
            goto out;
        }
        if ((t->texts[i] = strdup(json_string_value(val))) == NULL) {
            rc = err_set(e, INS_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < def->n_items; i++)
        if (t->texts[i] == NULL) {
            err_set(e, INS_EINVAL, "\"%s\": /items: no text for item \"%s\"", name,
                    def->items[i].id);
            err_detail(e, "The study's file must give a text for every item.");
            goto out;
        }
    if ((t->language = strdup(lang)) == NULL || (t->permission = strdup(perm)) == NULL ||
        (t->canonical = ins_canonical_text(root)) == NULL) {
        rc = err_set(e, INS_ENOMEM, "out of memory");
        goto out;
    }
    ins_sha256_hex(t->canonical, strlen(t->canonical), t->checksum);
    *out = t;
    t = NULL;
    rc = 0;
out:
    ins_texts_free(t);
    return rc;
}

int ins_texts_load(const struct ins_definition *def, const char *path, struct ins_texts_file **out,
                   struct err *e)
{
    const char *base = strrchr(path, '/');
    json_t *root = NULL;
    int rc;

    base = base ? base + 1 : path;
    if ((rc = ins_texts_read(path, &root, e)) != 0)
        return rc;
    rc = ins_texts_from_json(def, root, base, out, e);
    json_decref(root);
    return rc;
}

const char *ins_texts_language(const struct ins_texts_file *t)
{
    return t ? t->language : NULL;
}

const char *ins_texts_permission(const struct ins_texts_file *t)
{
    return t ? t->permission : NULL;
}

const char *ins_texts_checksum(const struct ins_texts_file *t)
{
    return t ? t->checksum : NULL;
}

const char *ins_texts_canonical(const struct ins_texts_file *t)
{
    return t ? t->canonical : NULL;
}

const char *ins_item_text(const struct ins_definition *def, const struct ins_texts_file *t,
                          size_t i)
{
    if (i >= def->n_items)
        return NULL;
    if (def->items[i].text != NULL)
        return def->items[i].text;
    if (t != NULL && i < t->n)
        return t->texts[i];
    return NULL;
}

int ins_definition_renderable(const struct ins_definition *def, const struct ins_texts_file *t,
                              struct err *e)
{
    for (size_t i = 0; i < def->n_items; i++)
        if (ins_item_text(def, t, i) == NULL) {
            err_set(e, INS_EINVAL, "instrument \"%s\" has no item texts", def->id);
            err_detail(e, "The definition is a scoring key without item texts; its texts come "
                          "from a file the study supplies, under its own permission.");
            err_hint(e, "Supply the study's licensed item texts for \"%s\" version \"%s\".",
                     def->id, def->version);
            return INS_EINVAL;
        }
    return 0;
}
