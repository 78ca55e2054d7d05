/*
 * ds_long.c — the long data set: interning, building, checking,
 * fingerprinting, and shaping into pre/post pairs (see ds.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ds_int.h"

/* FNV-1a: short names, no adversary to fear here beyond slow loading. */
static uint64_t ds_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int ds_intern_grow(struct ds_intern *t, char *const *names, size_t n_names)
{
    size_t n_slots = t->n_slots ? t->n_slots * 2 : 1024;
    uint32_t *slots = calloc(n_slots, sizeof *slots);

    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < n_names; i++) {
        size_t at = ds_hash(names[i]) & (n_slots - 1);
        while (slots[at] != 0)
            at = (at + 1) & (n_slots - 1);
        slots[at] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return 0;
}

/* Finds `name`; when absent returns -1 and the free slot in *slot_out. */
static long ds_intern_find(const struct ds_intern *t, char *const *names, const char *name,
                           size_t *slot_out)
{
    size_t at = ds_hash(name) & (t->n_slots - 1);

    while (t->slots[at] != 0) {
        uint32_t idx = t->slots[at] - 1;
        if (strcmp(names[idx], name) == 0)
            return idx;
        at = (at + 1) & (t->n_slots - 1);
    }
    *slot_out = at;
    return -1;
}

static int ds_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *q;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    q = realloc(*p, ncap * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

int ds_builder_init(struct ds_builder *b, const char *file, struct err *e)
{
    memset(b, 0, sizeof *b);
    b->file = file;
    b->d = calloc(1, sizeof *b->d);
    if (b->d == NULL || ds_intern_grow(&b->subjects, NULL, 0) != 0 ||
        ds_intern_grow(&b->arms, NULL, 0) != 0) {
        ds_builder_free(b);
        return err_set(e, DS_ENOMEM, "out of memory");
    }
    return 0;
}

void ds_builder_free(struct ds_builder *b)
{
    ds_long_free(b->d);
    b->d = NULL;
    free(b->subjects.slots);
    free(b->arms.slots);
    free(b->row_line);
    free(b->subject_line);
    memset(b, 0, sizeof *b);
}

static long ds_builder_arm(struct ds_builder *b, const char *arm, struct err *e)
{
    struct ds_long *d = b->d;
    size_t slot = 0;
    long idx = ds_intern_find(&b->arms, d->arms, arm, &slot);

    if (idx >= 0)
        return idx;
    if (d->n_arms >= 1000)
        return err_set(e, DS_EFORMAT, "more than 1000 arms");
    if (ds_grow((void **)&d->arms, &b->cap_arms, d->n_arms + 1, sizeof *d->arms) != 0 ||
        (d->arms[d->n_arms] = strdup(arm)) == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    b->arms.slots[slot] = (uint32_t)(d->n_arms + 1);
    idx = (long)d->n_arms++;
    if (d->n_arms * 10 > b->arms.n_slots * 7 && ds_intern_grow(&b->arms, d->arms, d->n_arms) != 0)
        return err_set(e, DS_ENOMEM, "out of memory");
    return idx;
}

int ds_builder_subject(struct ds_builder *b, const char *id, const char *arm, uint32_t line,
                       uint32_t *out, struct err *e)
{
    struct ds_long *d = b->d;
    size_t slot = 0, cap;
    long idx = ds_intern_find(&b->subjects, d->subjects, id, &slot);
    long arm_idx = -1;

    if (arm != NULL && (arm_idx = ds_builder_arm(b, arm, e)) < 0)
        return (int)arm_idx;
    if (idx >= 0) {
        if (d->subject_arm[idx] != (int32_t)arm_idx) {
            if (b->file != NULL)
                err_set(e, DS_EFORMAT,
                        "%s:%u: participant \"%s\" is in arm \"%s\" here but in "
                        "arm \"%s\" on line %u",
                        b->file, line, id, arm ? arm : "",
                        d->subject_arm[idx] >= 0 ? d->arms[d->subject_arm[idx]] : "",
                        b->subject_line[idx]);
            else
                err_set(e, DS_EFORMAT, "participant \"%s\" is in two arms", id);
            return DS_EFORMAT;
        }
        *out = (uint32_t)idx;
        return 0;
    }
    if (d->n_subjects >= UINT32_MAX - 1)
        return err_set(e, DS_EFORMAT, "too many participants");
    cap = b->cap_subjects;
    if (ds_grow((void **)&d->subjects, &cap, d->n_subjects + 1, sizeof *d->subjects) != 0)
        return err_set(e, DS_ENOMEM, "out of memory");
    cap = b->cap_subjects;
    if (ds_grow((void **)&d->subject_arm, &cap, d->n_subjects + 1, sizeof *d->subject_arm) != 0)
        return err_set(e, DS_ENOMEM, "out of memory");
    cap = b->cap_subjects;
    if (ds_grow((void **)&d->subject_status, &cap, d->n_subjects + 1, sizeof *d->subject_status) !=
        0)
        return err_set(e, DS_ENOMEM, "out of memory");
    cap = b->cap_subjects;
    if (ds_grow((void **)&b->subject_line, &cap, d->n_subjects + 1, sizeof *b->subject_line) != 0)
        return err_set(e, DS_ENOMEM, "out of memory");
    b->cap_subjects = cap;
    if ((d->subjects[d->n_subjects] = strdup(id)) == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    d->subject_arm[d->n_subjects] = (int32_t)arm_idx;
    d->subject_status[d->n_subjects] = DS_STATUS_UNKNOWN;
    b->subject_line[d->n_subjects] = line;
    b->subjects.slots[slot] = (uint32_t)(d->n_subjects + 1);
    *out = (uint32_t)d->n_subjects++;
    if (d->n_subjects * 10 > b->subjects.n_slots * 7 &&
        ds_intern_grow(&b->subjects, d->subjects, d->n_subjects) != 0)
        return err_set(e, DS_ENOMEM, "out of memory");
    return 0;
}

int ds_builder_find(struct ds_builder *b, const char *id, uint32_t *out)
{
    size_t slot;
    long idx = ds_intern_find(&b->subjects, b->d->subjects, id, &slot);

    if (idx < 0)
        return DS_ENOTFOUND;
    *out = (uint32_t)idx;
    return 0;
}

int ds_builder_row(struct ds_builder *b, uint32_t subject, double time, double score, uint32_t line,
                   struct err *e)
{
    struct ds_long *d = b->d;
    size_t cap;

    if (d->n >= DS_MAX_ROWS)
        return err_set(e, DS_EFORMAT, "more than %u observations", DS_MAX_ROWS);
    if (d->n + 1 > b->cap_rows) {
        cap = b->cap_rows;
        if (ds_grow((void **)&d->subject, &cap, d->n + 1, sizeof *d->subject) != 0)
            return err_set(e, DS_ENOMEM, "out of memory");
        cap = b->cap_rows;
        if (ds_grow((void **)&d->time, &cap, d->n + 1, sizeof *d->time) != 0)
            return err_set(e, DS_ENOMEM, "out of memory");
        cap = b->cap_rows;
        if (ds_grow((void **)&d->score, &cap, d->n + 1, sizeof *d->score) != 0)
            return err_set(e, DS_ENOMEM, "out of memory");
        cap = b->cap_rows;
        if (ds_grow((void **)&b->row_line, &cap, d->n + 1, sizeof *b->row_line) != 0)
            return err_set(e, DS_ENOMEM, "out of memory");
        b->cap_rows = cap;
    }
    d->subject[d->n] = subject;
    d->time[d->n] = time;
    d->score[d->n] = score;
    b->row_line[d->n] = line;
    d->n++;
    return 0;
}

/* Sorting context: qsort has no user pointer, so sort an index array of
 * structs that carry the keys. */
struct ds_key {
    const char *name;
    double time;
    size_t row;
};

static int ds_key_cmp(const void *a, const void *b)
{
    const struct ds_key *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c != 0)
        return c;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static const char *const ds_status_names[] = {"unknown", "active", "withdrawn", "completed"};

/* One participant, for sorting by id. */
struct ds_named {
    const char *name;
    size_t index;
};

static int ds_named_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ds_named *)a)->name, ((const struct ds_named *)b)->name);
}

/* Appends a double's IEEE-754 bits in little-endian order (-0 as +0), so the
 * fingerprint is exact and the same on every machine. */
static void ds_hash_double(crypto_hash_sha256_state *st, double v)
{
    unsigned char bytes[8];
    uint64_t bits;

    if (v == 0)
        v = 0; /* folds -0.0 into +0.0 */
    memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(bits >> (8 * i));
    crypto_hash_sha256_update(st, bytes, sizeof bytes);
}

/* Appends a string with its terminating NUL, so that fields cannot run together. */
static void ds_hash_string(crypto_hash_sha256_state *st, const char *s)
{
    crypto_hash_sha256_update(st, (const unsigned char *)s, (unsigned long long)strlen(s) + 1);
}

/*
 * The fingerprint is the SHA-256 of a canonical form: participants sorted by
 * id ('S', id, arm, status), then observations sorted by id and time ('O',
 * id, time, score as IEEE-754 bits). It changes whenever anything an analysis
 * could use changes, and not with row or column order. Hashing the bits, not
 * decimal text, keeps it exact and cheap (formatting every value with %.17g
 * took half the load time of a million-row file).
 */
static int ds_fingerprint(struct ds_long *d, const struct ds_key *keys, struct err *e)
{
    crypto_hash_sha256_state st;
    unsigned char hash[crypto_hash_sha256_BYTES];
    struct ds_named *named = malloc((d->n_subjects ? d->n_subjects : 1) * sizeof *named);

    if (named == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n_subjects; i++) {
        named[i].name = d->subjects[i];
        named[i].index = i;
    }
    qsort(named, d->n_subjects, sizeof *named, ds_named_cmp);
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < d->n_subjects; i++) {
        size_t k = named[i].index;
        int arm = d->subject_arm[k];
        ds_hash_string(&st, "S");
        ds_hash_string(&st, d->subjects[k]);
        ds_hash_string(&st, arm >= 0 ? d->arms[arm] : "");
        ds_hash_string(&st, ds_status_names[d->subject_status[k]]);
    }
    free(named);
    for (size_t i = 0; i < d->n; i++) {
        size_t r = keys[i].row;
        ds_hash_string(&st, "O");
        ds_hash_string(&st, keys[i].name);
        ds_hash_double(&st, d->time[r]);
        ds_hash_double(&st, d->score[r]);
    }
    crypto_hash_sha256_final(&st, hash);
    sodium_bin2hex(d->fingerprint, sizeof d->fingerprint, hash, sizeof hash);
    return 0;
}

int ds_builder_finish(struct ds_builder *b, struct ds_long **out, struct err *e)
{
    struct ds_long *d = b->d;
    struct ds_key *keys;
    int rc;

    keys = malloc((d->n ? d->n : 1) * sizeof *keys);
    if (keys == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n; i++) {
        keys[i].name = d->subjects[d->subject[i]];
        keys[i].time = d->time[i];
        keys[i].row = i;
    }
    qsort(keys, d->n, sizeof *keys, ds_key_cmp);
    for (size_t i = 1; i < d->n; i++) {
        if (strcmp(keys[i].name, keys[i - 1].name) == 0 && keys[i].time == keys[i - 1].time) {
            if (b->file != NULL)
                err_set(e, DS_EFORMAT,
                        "%s:%u: second score for participant \"%s\" at time %g (the first is on "
                        "line %u)",
                        b->file, b->row_line[keys[i].row], keys[i].name, keys[i].time,
                        b->row_line[keys[i - 1].row]);
            else
                err_set(e, DS_EFORMAT, "two scores for participant \"%s\" at time %g", keys[i].name,
                        keys[i].time);
            free(keys);
            return DS_EFORMAT;
        }
    }
    rc = ds_fingerprint(d, keys, e);
    free(keys);
    if (rc != 0)
        return rc;
    *out = d;
    b->d = NULL;
    return 0;
}

void ds_long_free(struct ds_long *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_subjects; i++)
        free(d->subjects[i]);
    for (size_t i = 0; i < d->n_arms; i++)
        free(d->arms[i]);
    for (size_t i = 0; i < d->n_versions; i++)
        free(d->versions[i]);
    free(d->subjects);
    free(d->subject_arm);
    free(d->subject_status);
    free(d->arms);
    free(d->versions);
    free(d->subject);
    free(d->time);
    free(d->score);
    free(d);
}

int ds_arm_index(const struct ds_long *d, const char *arm)
{
    for (size_t i = 0; i < d->n_arms; i++)
        if (strcmp(d->arms[i], arm) == 0)
            return (int)i;
    return -1;
}

size_t ds_arms_with_scores(const struct ds_long *d)
{
    size_t k = 0;

    for (size_t a = 0; a < d->n_arms; a++)
        for (size_t i = 0; i < d->n; i++)
            if (d->subject_arm[d->subject[i]] == (int32_t)a) {
                k++;
                break;
            }
    return k;
}
