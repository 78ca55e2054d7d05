/*
 * migrate.h — schema migrations: plain SQL files named NNN_what.sql.
 *
 * Each file is applied once, in order, inside its own transaction, and
 * recorded in schema_migrations with the SHA-256 of its text. A recorded file
 * whose text has since changed is an error that names it; so is a recorded
 * migration that no file provides (the database is newer than this program).
 * A session-level advisory lock keeps two `attune migrate` runs from racing.
 */
#ifndef ATTUNE_MIGRATE_H
#define ATTUNE_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "err.h"

enum {
    MIGRATE_EIO = -1,      /* the folder or a file cannot be read */
    MIGRATE_ENAME = -2,    /* a file name does not follow NNN_what.sql, or a number repeats */
    MIGRATE_ECHANGED = -3, /* an applied file's text has changed */
    MIGRATE_EUNKNOWN = -4, /* the database holds a migration no file provides */
    MIGRATE_EDB = -5,      /* a statement failed */
};

struct migration {
    int version;       /* NNN */
    char *name;        /* file name, "001_initial.sql" */
    char checksum[65]; /* hex SHA-256 of the file */
    char *sql;
    int applied; /* filled by migrate_check() */
};

struct migration_set {
    struct migration *items; /* sorted by version */
    size_t n;
    size_t n_pending; /* filled by migrate_check() */
};

/* Reads every *.sql file of `dir`. *out is the caller's, freed by migrate_set_free(). */
int migrate_load(const char *dir, struct migration_set **out, struct err *e);

void migrate_set_free(struct migration_set *set);

/*
 * Compares the set with the database's schema_migrations (absent table = none
 * applied): fills `applied` and `n_pending`. Fails with MIGRATE_ECHANGED or
 * MIGRATE_EUNKNOWN naming the file.
 */
int migrate_check(PGconn *conn, struct migration_set *set, struct err *e);

/*
 * Writes the names of pending migrations, comma-separated, into buf (cut to
 * size). Call after migrate_check().
 */
void migrate_pending_names(const struct migration_set *set, char *buf, size_t size);

/*
 * Applies every pending migration in order, each in its own transaction, and
 * calls `applied_cb` (may be NULL) after each commit. On failure nothing of
 * the failing file remains, and `e` names it.
 */
int migrate_apply(PGconn *conn, struct migration_set *set,
                  void (*applied_cb)(const struct migration *m, void *ctx), void *ctx,
                  struct err *e);

#endif
