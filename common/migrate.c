/*
 * migrate.c — loading, checking and applying sql/NNN_what.sql (see migrate.h).
 */
#include "migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"

#define MIGRATE_LOCK_KEY "7384215" /* advisory lock id: arbitrary, fixed */
#define MIGRATE_MAX_FILE (16 * 1024 * 1024)

static const char migrate_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY CHECK (version > 0),"
    " name text NOT NULL UNIQUE,"
    " checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " applied_by text NOT NULL DEFAULT current_user,"
    " attune_version text NOT NULL)";

/* NNN_what.sql with what = [a-z0-9_]+. Returns NNN or -1. */
static int migrate_parse_name(const char *name)
{
    size_t len = strlen(name);
    int version = 0;

    if (len < 9 || strcmp(name + len - 4, ".sql") != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)name[i]))
            return -1;
        version = version * 10 + (name[i] - '0');
    }
    if (name[3] != '_' || version == 0)
        return -1;
    for (size_t i = 4; i < len - 4; i++)
        if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_'))
            return -1;
    return version;
}

static int migrate_read_file(const char *path, char **out, struct err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;
    int rc = MIGRATE_EIO;

    if (f == NULL)
        return err_set(e, MIGRATE_EIO, "could not open \"%s\": %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        err_set(e, MIGRATE_EIO, "could not read \"%s\"", path);
        goto out;
    }
    if (size > MIGRATE_MAX_FILE) {
        err_set(e, MIGRATE_EIO, "migration \"%s\" is larger than 16 MB", path);
        goto out;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        err_set(e, MIGRATE_EIO, "could not read \"%s\"", path);
        goto out;
    }
    buf[size] = '\0';
    if (strlen(buf) != (size_t)size) {
        err_set(e, MIGRATE_EIO, "migration \"%s\" contains a NUL byte", path);
        goto out;
    }
    *out = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int migrate_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

void migrate_set_free(struct migration_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->items[i].name);
        free(set->items[i].sql);
    }
    free(set->items);
    free(set);
}

int migrate_load(const char *dir, struct migration_set **out, struct err *e)
{
    struct migration_set *set = calloc(1, sizeof *set);
    DIR *d = NULL;
    struct dirent *ent;
    size_t cap = 0;
    int rc = MIGRATE_EIO;

    if (set == NULL)
        return err_set(e, MIGRATE_EIO, "out of memory");
    d = opendir(dir);
    if (d == NULL) {
        err_set(e, MIGRATE_EIO, "could not open migrations folder \"%s\": %s", dir,
                strerror(errno));
        goto out;
    }
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        struct migration *m;
        char path[4096];
        int version;
        unsigned char hash[crypto_hash_sha256_BYTES];

        if (len < 4 || strcmp(ent->d_name + len - 4, ".sql") != 0)
            continue;
        version = migrate_parse_name(ent->d_name);
        if (version < 0) {
            err_set(e, MIGRATE_ENAME, "migration file name \"%s\" is not NNN_what.sql",
                    ent->d_name);
            err_detail(e, "Names are three digits from 001, an underscore, and lower-case "
                          "letters, digits or underscores.");
            rc = MIGRATE_ENAME;
            goto out;
        }
        if (set->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct migration *grown = realloc(set->items, ncap * sizeof *grown);
            if (grown == NULL) {
                err_set(e, MIGRATE_EIO, "out of memory");
                goto out;
            }
            set->items = grown;
            cap = ncap;
        }
        m = &set->items[set->n];
        memset(m, 0, sizeof *m);
        m->version = version;
        m->name = strdup(ent->d_name);
        set->n++;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (m->name == NULL) {
            err_set(e, MIGRATE_EIO, "out of memory");
            goto out;
        }
        if ((rc = migrate_read_file(path, &m->sql, e)) != 0)
            goto out;
        rc = MIGRATE_EIO;
        crypto_hash_sha256(hash, (const unsigned char *)m->sql, strlen(m->sql));
        sodium_bin2hex(m->checksum, sizeof m->checksum, hash, sizeof hash);
    }
    qsort(set->items, set->n, sizeof *set->items, migrate_cmp);
    for (size_t i = 1; i < set->n; i++) {
        if (set->items[i].version == set->items[i - 1].version) {
            err_set(e, MIGRATE_ENAME, "migrations \"%s\" and \"%s\" share the number %03d",
                    set->items[i - 1].name, set->items[i].name, set->items[i].version);
            rc = MIGRATE_ENAME;
            goto out;
        }
    }
    *out = set;
    set = NULL;
    rc = 0;
out:
    if (d != NULL)
        closedir(d);
    migrate_set_free(set);
    return rc;
}

int migrate_check(PGconn *conn, struct migration_set *set, struct err *e)
{
    PGresult *res = NULL;
    int rows, rc = MIGRATE_EDB;

    for (size_t i = 0; i < set->n; i++)
        set->items[i].applied = 0;
    set->n_pending = set->n;
    rows =
        db_query_sql(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, &res, e);
    if (rows < 0)
        return MIGRATE_EDB;
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        return 0;
    }
    PQclear(res);
    rows = db_query_sql(conn, "SELECT version, name, checksum FROM schema_migrations ORDER BY 1", 0,
                        NULL, &res, e);
    if (rows < 0)
        return MIGRATE_EDB;
    for (int r = 0; r < rows; r++) {
        int version = (int)strtol(PQgetvalue(res, r, 0), NULL, 10);
        const char *name = PQgetvalue(res, r, 1);
        const char *checksum = PQgetvalue(res, r, 2);
        struct migration *m = NULL;

        for (size_t i = 0; i < set->n && m == NULL; i++)
            if (set->items[i].version == version)
                m = &set->items[i];
        if (m == NULL) {
            err_set(e, MIGRATE_EUNKNOWN,
                    "the database has migration \"%s\", which this "
                    "program does not know",
                    name);
            err_detail(e, "The database was migrated by a newer version of Attune, or the "
                          "file was removed from the migrations folder.");
            rc = MIGRATE_EUNKNOWN;
            goto out;
        }
        if (strcmp(m->checksum, checksum) != 0 || strcmp(m->name, name) != 0) {
            err_set(e, MIGRATE_ECHANGED, "migration \"%s\" changed after it was applied", m->name);
            err_detail(e,
                       "It was applied as \"%s\" with checksum %.12s…; the file now has "
                       "checksum %.12s….",
                       name, checksum, m->checksum);
            err_hint(e, "Restore the file as it was and put the change in a new migration.");
            rc = MIGRATE_ECHANGED;
            goto out;
        }
        m->applied = 1;
        set->n_pending--;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

void migrate_pending_names(const struct migration_set *set, char *buf, size_t size)
{
    size_t used = 0;

    if (size == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < set->n; i++) {
        int n;
        if (set->items[i].applied)
            continue;
        n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", set->items[i].name);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

static int migrate_apply_one(PGconn *conn, const struct migration *m, struct err *e)
{
    char version[16];
    const char *params[4];
    struct err ignored;
    int rc;

    if ((rc = db_exec(conn, "BEGIN", e)) != 0)
        return rc;
    if ((rc = db_exec(conn, m->sql, e)) != 0)
        goto fail;
    snprintf(version, sizeof version, "%d", m->version);
    params[0] = version;
    params[1] = m->name;
    params[2] = m->checksum;
    params[3] = ATTUNE_VERSION;
    rc = db_query_sql(conn,
                      "INSERT INTO schema_migrations (version, name, checksum, attune_version)"
                      " VALUES ($1, $2, $3, $4)",
                      4, params, NULL, e);
    if (rc < 0)
        goto fail;
    if ((rc = db_exec(conn, "COMMIT", e)) != 0)
        goto fail;
    return 0;
fail:
    db_exec(conn, "ROLLBACK", &ignored);
    return rc;
}

int migrate_apply(PGconn *conn, struct migration_set *set,
                  void (*applied_cb)(const struct migration *m, void *ctx), void *ctx,
                  struct err *e)
{
    struct err ignored;
    int rc;

    if (db_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", e) != 0)
        return MIGRATE_EDB;
    if (db_exec(conn, migrate_table_sql, e) != 0) {
        rc = MIGRATE_EDB;
        goto out;
    }
    /* Checked under the lock: another run may have applied some meanwhile. */
    if ((rc = migrate_check(conn, set, e)) != 0)
        goto out;
    for (size_t i = 0; i < set->n; i++) {
        struct migration *m = &set->items[i];
        if (m->applied)
            continue;
        if (migrate_apply_one(conn, m, e) != 0) {
            err_prefix(e, "migration \"%s\" failed", m->name);
            rc = MIGRATE_EDB;
            goto out;
        }
        m->applied = 1;
        set->n_pending--;
        if (applied_cb != NULL)
            applied_cb(m, ctx);
    }
    rc = 0;
out:
    db_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", &ignored);
    return rc;
}
