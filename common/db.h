/*
 * db.h — PostgreSQL access: a pool of connections, named prepared statements,
 * classified results and one transaction runner.
 *
 * Rules (after the GNU Taler exchange's database plugin):
 * - One PGconn per thread at a time: the pool lends a connection exclusively.
 * - SQL lives in per-module tables of named statements (struct db_statement),
 *   prepared on every new connection; parameters always go as $n.
 * - A query returns the number of rows (0, 1, ...) or a negative enum db_status
 *   that tells the caller what to do: retry the transaction (DB_ESOFT), answer
 *   503 and let the client retry (DB_EUNAVAILABLE, DB_EBUSY), report a conflict
 *   (DB_ECONSTRAINT), or fail (DB_EHARD).
 * - Transactions go through db_run(), which begins, calls back, commits, rolls
 *   back on error and retries soft failures a bounded number of times.
 */
#ifndef ATTUNE_DB_H
#define ATTUNE_DB_H

#include <libpq-fe.h>

#include "err.h"

enum db_status {
    DB_OK = 0,
    DB_EHARD = -1,        /* a failed statement that retrying will not fix */
    DB_ESOFT = -2,        /* serialization failure or deadlock: retry the transaction */
    DB_EUNAVAILABLE = -3, /* the server cannot be reached or is shutting down */
    DB_ECONSTRAINT = -4,  /* integrity constraint violated (SQLSTATE class 23) */
    DB_EBUSY = -5,        /* every pooled connection stayed busy past the timeout */
};

/* One named prepared statement. Tables end with a {NULL, NULL} row. */
struct db_statement {
    const char *name;
    const char *sql;
};

struct db_pool;

/*
 * Creates a pool of up to `size` connections to `conninfo`. Connections are
 * opened lazily and reopened after the server went away. `statement_tables` is
 * a NULL-terminated list of statement tables to prepare on every connection
 * (borrowed: must outlive the pool). Returns 0 and *out, or DB_EHARD.
 */
int db_pool_new(const char *conninfo, int size, const struct db_statement *const *statement_tables,
                struct db_pool **out, struct err *e);

/* Closes every connection. The caller must have released them all. NULL-safe. */
void db_pool_free(struct db_pool *pool);

/*
 * Lends a connection, opening it if needed, waiting up to `timeout_ms` for one
 * to be free. Returns NULL with DB_EBUSY or DB_EUNAVAILABLE in `e`.
 */
PGconn *db_pool_acquire(struct db_pool *pool, int timeout_ms, struct err *e);

/* Gives a connection back. A broken connection is closed, to be reopened. */
void db_pool_release(struct db_pool *pool, PGconn *conn);

/* Opens one connection outside any pool (command-line tools). */
int db_connect(const char *conninfo, PGconn **out, struct err *e);

/* Prepares every statement of the NULL-terminated list of tables. */
int db_prepare(PGconn *conn, const struct db_statement *const *tables, struct err *e);

/*
 * Runs a named prepared statement with text parameters (NULL = SQL NULL).
 * Returns the number of rows (for commands, the affected rows) and, when
 * `out` is not NULL, the result for the caller to PQclear(); or a negative
 * enum db_status with `e` filled.
 */
int db_query(PGconn *conn, const char *name, int nparams, const char *const *params, PGresult **out,
             struct err *e);

/*
 * db_query in two halves, so that the caller can do other work while the
 * server runs the statement: db_query_send() sends it (0, or a negative
 * enum db_status), db_query_wait() waits for its result and returns what
 * db_query would have. Nothing else may be sent on `conn` in between.
 */
int db_query_send(PGconn *conn, const char *name, int nparams, const char *const *params,
                  struct err *e);
int db_query_wait(PGconn *conn, const char *name, PGresult **out, struct err *e);
/* As db_query_send, with every parameter in binary format (`lengths` in
 * bytes); the result still comes as text. */
int db_query_send_binary(PGconn *conn, const char *name, int nparams, const char *const *params,
                         const int *lengths, struct err *e);
/* As db_query, for SQL text that is not in a statement table (tools, DDL). */
int db_query_sql(PGconn *conn, const char *sql, int nparams, const char *const *params,
                 PGresult **out, struct err *e);

/* Runs SQL text that may hold several statements and returns no rows. */
int db_exec(PGconn *conn, const char *sql, struct err *e);

/* Classifies a failed result (or a NULL one) into an enum db_status. */
int db_classify(PGconn *conn, const PGresult *res);

enum db_isolation {
    DB_READ_COMMITTED = 0,
    DB_REPEATABLE_READ,
    DB_SERIALIZABLE,
};

/*
 * The body of a transaction: returns 0 to commit, or a negative code to roll
 * back (DB_ESOFT makes db_run() try again; anything else is passed up).
 */
typedef int (*db_tx_fn)(PGconn *conn, void *ctx, struct err *e);

/*
 * Borrows a connection from `pool`, runs `fn` inside BEGIN ... COMMIT, and
 * gives the connection back. Soft failures are retried up to 5 times. A
 * connection found dead at BEGIN is reopened once, because nothing has been
 * sent that could have committed; a connection lost later reports
 * DB_EUNAVAILABLE (the outcome is unknown, and the client must retry an
 * idempotent request). Returns 0 when committed, or fn's code, or a db_status.
 */
int db_run(struct db_pool *pool, enum db_isolation isolation, db_tx_fn fn, void *ctx,
           struct err *e);

/* Pool counters for /readyz and the logs. */
struct db_pool_stats {
    int size;
    int open;
    int busy;
    long long reconnects;
};
void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);

#endif
