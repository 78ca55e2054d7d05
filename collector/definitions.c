/*
 * definitions.c — the cache of instrument definitions the collector scores
 * with. Definitions come from the instruments table (the registered text,
 * pinned by its checksum), never from files at request time, so a response is
 * always scored with exactly the version the study registered. A registered
 * version never changes, so entries are never invalidated; what a study
 * schedules is cached the same way (schedules are fixed when a study is
 * created).
 *
 * The item texts a study supplies for a scoring key (sql/008_item_texts.sql)
 * are cached here too, by study, instrument, version and checksum. Texts may
 * be replaced while nobody has answered them, so a lookup asks the database
 * for the stored checksum (one row by primary key) and parses the texts only
 * when that checksum is new here; an entry it no longer names stays until the
 * cache is freed, since a request may still be rendering with it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_int.h"

#define COL_DEFS_MAX 256

struct col_defs_entry {
    char *id, *version;
    struct ins_definition *def;
};

struct col_defs_sched {
    char *study, *instrument;
    const struct ins_definition *def;
};

struct col_defs_texts {
    char *study, *id, *version;
    char checksum[65];
    struct ins_texts_file *t;
};

struct col_defs {
    pthread_mutex_t lock;
    struct col_defs_entry defs[COL_DEFS_MAX];
    size_t n_defs;
    struct col_defs_sched sched[COL_DEFS_MAX];
    size_t n_sched;
    struct col_defs_sched guess[COL_DEFS_MAX]; /* study "" : col_defs_guess() */
    size_t n_guess;
    struct col_defs_texts texts[COL_DEFS_MAX];
    size_t n_texts;
};

int col_defs_new(struct col_defs **out)
{
    struct col_defs *d = calloc(1, sizeof *d);

    if (d == NULL)
        return -1;
    pthread_mutex_init(&d->lock, NULL);
    *out = d;
    return 0;
}

void col_defs_free(struct col_defs *defs)
{
    if (defs == NULL)
        return;
    for (size_t i = 0; i < defs->n_defs; i++) {
        free(defs->defs[i].id);
        free(defs->defs[i].version);
        ins_definition_free(defs->defs[i].def);
    }
    for (size_t i = 0; i < defs->n_sched; i++) {
        free(defs->sched[i].study);
        free(defs->sched[i].instrument);
    }
    for (size_t i = 0; i < defs->n_guess; i++)
        free(defs->guess[i].instrument);
    for (size_t i = 0; i < defs->n_texts; i++) {
        free(defs->texts[i].study);
        free(defs->texts[i].id);
        free(defs->texts[i].version);
        ins_texts_free(defs->texts[i].t);
    }
    pthread_mutex_destroy(&defs->lock);
    free(defs);
}

static const struct ins_definition *col_defs_find(struct col_defs *defs, const char *id,
                                                  const char *version)
{
    for (size_t i = 0; i < defs->n_defs; i++)
        if (strcmp(defs->defs[i].id, id) == 0 && strcmp(defs->defs[i].version, version) == 0)
            return defs->defs[i].def;
    return NULL;
}

/* A connection for a cache miss: `conn` when given, else one from `pool`. */
static PGconn *col_defs_conn(struct db_pool *pool, PGconn *conn, struct err *e)
{
    return conn != NULL ? conn : db_pool_acquire(pool, 5000, e);
}

static void col_defs_conn_done(struct db_pool *pool, PGconn *given, PGconn *used)
{
    if (given == NULL && used != NULL)
        db_pool_release(pool, used);
}

int col_defs_get(struct col_defs *defs, struct db_pool *pool, PGconn *given, const char *id,
                 const char *version, const struct ins_definition **out, struct err *e)
{
    PGconn *conn = NULL;
    const char *params[2] = {id, version};
    PGresult *res = NULL;
    json_t *root = NULL;
    struct ins_definition *def = NULL;
    char name[160];
    json_error_t jerr;
    int rc;

    pthread_mutex_lock(&defs->lock);
    *out = col_defs_find(defs, id, version);
    pthread_mutex_unlock(&defs->lock);
    if (*out != NULL)
        return 1;
    if ((conn = col_defs_conn(pool, given, e)) == NULL)
        return e->code ? e->code : DB_EUNAVAILABLE;
    rc = db_query(conn, "col_instrument_definition", 2, params, &res, e);
    if (rc <= 0)
        goto out;
    root = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    snprintf(name, sizeof name, "%s@%s (registered)", id, version);
    if (root == NULL || ins_definition_from_json(root, name, &def, e) != 0) {
        if (root == NULL)
            err_set(e, DB_EHARD, "registered definition %s@%s is not JSON: %s", id, version,
                    jerr.text);
        rc = DB_EHARD;
        goto out;
    }
    pthread_mutex_lock(&defs->lock);
    *out = col_defs_find(defs, id, version);
    if (*out == NULL && defs->n_defs < COL_DEFS_MAX) {
        struct col_defs_entry *en = &defs->defs[defs->n_defs];
        en->id = strdup(id);
        en->version = strdup(version);
        if (en->id != NULL && en->version != NULL) {
            en->def = def;
            *out = def;
            def = NULL;
            defs->n_defs++;
        } else {
            free(en->id);
            free(en->version);
            en->id = en->version = NULL;
        }
    }
    pthread_mutex_unlock(&defs->lock);
    if (*out == NULL) {
        rc = err_set(e, DB_EHARD, "the definitions cache is full");
        goto out;
    }
    rc = 1;
out:
    col_defs_conn_done(pool, given, conn);
    ins_definition_free(def);
    json_decref(root);
    PQclear(res);
    return rc;
}

int col_defs_scheduled(struct col_defs *defs, struct db_pool *pool, PGconn *given,
                       const char *study, const char *instrument, const struct ins_definition **out,
                       struct err *e)
{
    PGconn *conn;
    const char *params[2] = {study, instrument};
    PGresult *res = NULL;
    int rc;

    pthread_mutex_lock(&defs->lock);
    for (size_t i = 0; i < defs->n_sched; i++) {
        if (strcmp(defs->sched[i].study, study) == 0 &&
            strcmp(defs->sched[i].instrument, instrument) == 0) {
            *out = defs->sched[i].def;
            pthread_mutex_unlock(&defs->lock);
            return 1;
        }
    }
    pthread_mutex_unlock(&defs->lock);
    if ((conn = col_defs_conn(pool, given, e)) == NULL)
        return e->code ? e->code : DB_EUNAVAILABLE;
    rc = db_query(conn, "col_schedule_version", 2, params, &res, e);
    if (rc <= 0) {
        PQclear(res);
        col_defs_conn_done(pool, given, conn);
        return rc;
    }
    rc = col_defs_get(defs, pool, conn, instrument, PQgetvalue(res, 0, 0), out, e);
    PQclear(res);
    col_defs_conn_done(pool, given, conn);
    if (rc != 1)
        return rc < 0 ? rc : DB_EHARD;
    pthread_mutex_lock(&defs->lock);
    if (defs->n_sched < COL_DEFS_MAX) {
        struct col_defs_sched *s = &defs->sched[defs->n_sched];
        s->study = strdup(study);
        s->instrument = strdup(instrument);
        s->def = *out;
        if (s->study != NULL && s->instrument != NULL) {
            defs->n_sched++;
        } else {
            free(s->study);
            free(s->instrument);
            s->study = s->instrument = NULL;
        }
    }
    pthread_mutex_unlock(&defs->lock);
    return 1;
}

int col_defs_guess(struct col_defs *defs, struct db_pool *pool, const char *instrument,
                   const struct ins_definition **out, struct err *e)
{
    PGconn *conn;
    const char *params[1] = {instrument};
    PGresult *res = NULL;
    int rc;

    pthread_mutex_lock(&defs->lock);
    for (size_t i = 0; i < defs->n_guess; i++) {
        if (strcmp(defs->guess[i].instrument, instrument) == 0) {
            *out = defs->guess[i].def;
            pthread_mutex_unlock(&defs->lock);
            return 1;
        }
    }
    pthread_mutex_unlock(&defs->lock);
    if ((conn = db_pool_acquire(pool, 5000, e)) == NULL)
        return e->code ? e->code : DB_EUNAVAILABLE;
    rc = db_query(conn, "col_schedule_version_any", 1, params, &res, e);
    if (rc == 1)
        rc = col_defs_get(defs, pool, conn, instrument, PQgetvalue(res, 0, 0), out, e);
    PQclear(res);
    db_pool_release(pool, conn);
    if (rc != 1)
        return rc < 0 ? rc : 0;
    /* Kept even if a study created later schedules another version: it is
     * only a guess, which the batch statement checks. */
    pthread_mutex_lock(&defs->lock);
    if (defs->n_guess < COL_DEFS_MAX &&
        (defs->guess[defs->n_guess].instrument = strdup(instrument)) != NULL)
        defs->guess[defs->n_guess++].def = *out;
    pthread_mutex_unlock(&defs->lock);
    return 1;
}

static const struct ins_texts_file *col_texts_find(struct col_defs *defs, const char *study,
                                                   const struct ins_definition *def,
                                                   const char *checksum)
{
    for (size_t i = 0; i < defs->n_texts; i++) {
        const struct col_defs_texts *en = &defs->texts[i];
        if (strcmp(en->checksum, checksum) == 0 && strcmp(en->study, study) == 0 &&
            strcmp(en->id, def->id) == 0 && strcmp(en->version, def->version) == 0)
            return en->t;
    }
    return NULL;
}

/* Loads, checks and caches the texts stored now; *out as col_texts_get. */
static int col_texts_fetch(struct col_defs *defs, PGconn *conn, const char *study,
                           const struct ins_definition *def, const struct ins_texts_file **out,
                           struct err *e)
{
    const char *params[3] = {study, def->id, def->version};
    struct ins_texts_file *t = NULL;
    PGresult *res = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    char name[200], checksum[65];
    int rc;

    rc = db_query(conn, "col_item_texts", 3, params, &res, e);
    if (rc <= 0)
        goto out;
    snprintf(checksum, sizeof checksum, "%s", PQgetvalue(res, 0, 1));
    snprintf(name, sizeof name, "item texts of %s@%s in study %s (stored)", def->id, def->version,
             study);
    root = json_loads(PQgetvalue(res, 0, 0), JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || ins_texts_from_json(def, root, name, &t, e) != 0) {
        if (root == NULL)
            err_set(e, DB_EHARD, "%s are not JSON: %s", name, jerr.text);
        rc = DB_EHARD;
        goto out;
    }
    /* What was stored is what was checked: the engine's checksum of the
     * canonical JSON read back must be the one stored beside it. */
    if (strcmp(ins_texts_checksum(t), checksum) != 0) {
        rc = err_set(e, DB_EHARD, "%s do not match their checksum", name);
        err_detail(e, "The stored checksum is %s; the texts give %s.", checksum,
                   ins_texts_checksum(t));
        goto out;
    }
    pthread_mutex_lock(&defs->lock);
    *out = col_texts_find(defs, study, def, checksum);
    if (*out == NULL && defs->n_texts < COL_DEFS_MAX) {
        struct col_defs_texts *en = &defs->texts[defs->n_texts];
        en->study = strdup(study);
        en->id = strdup(def->id);
        en->version = strdup(def->version);
        if (en->study != NULL && en->id != NULL && en->version != NULL) {
            snprintf(en->checksum, sizeof en->checksum, "%s", checksum);
            en->t = t;
            *out = t;
            t = NULL;
            defs->n_texts++;
        } else {
            free(en->study);
            free(en->id);
            free(en->version);
            en->study = en->id = en->version = NULL;
        }
    }
    pthread_mutex_unlock(&defs->lock);
    if (*out == NULL) {
        rc = err_set(e, DB_EHARD, "the item texts cache is full");
        goto out;
    }
    rc = 1;
out:
    ins_texts_free(t);
    json_decref(root);
    PQclear(res);
    return rc;
}

int col_texts_get(struct col_defs *defs, struct db_pool *pool, PGconn *given, const char *study,
                  const struct ins_definition *def, const struct ins_texts_file **out,
                  struct err *e)
{
    const char *params[3] = {study, def->id, def->version};
    PGresult *res = NULL;
    PGconn *conn;
    int rc;

    *out = NULL;
    if (def->texts != INS_TEXTS_STUDY_SUPPLIED)
        return 0; /* the definition brings its own */
    if ((conn = col_defs_conn(pool, given, e)) == NULL)
        return e->code ? e->code : DB_EUNAVAILABLE;
    rc = db_query(conn, "col_item_texts_checksum", 3, params, &res, e);
    if (rc == 1) {
        pthread_mutex_lock(&defs->lock);
        *out = col_texts_find(defs, study, def, PQgetvalue(res, 0, 0));
        pthread_mutex_unlock(&defs->lock);
        if (*out == NULL)
            rc = col_texts_fetch(defs, conn, study, def, out, e);
    }
    PQclear(res);
    col_defs_conn_done(pool, given, conn);
    return rc;
}
