/*
 * db.c — connection pool, statement preparation, result classification and
 * the transaction runner (see db.h).
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_MAX_SOFT_RETRIES 5

struct db_slot {
    PGconn *conn;
    int busy;
};

struct db_pool {
    char *conninfo;
    const struct db_statement *const *tables;
    int size;
    struct db_slot *slots;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    long long reconnects;
};

/* libpq's messages end in a newline; the error record wants one line. */
static void db_copy_message(char *dst, size_t size, const char *msg)
{
    size_t n;

    snprintf(dst, size, "%s", msg ? msg : "");
    n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
    /* Fold newlines and tabs, and the runs of blanks they leave, into one space. */
    {
        char *w = dst;
        int blank = 0;
        for (const char *r = dst; *r; r++) {
            int is_blank = *r == '\n' || *r == '\t' || *r == ' ';
            if (is_blank && blank)
                continue;
            *w++ = is_blank ? ' ' : *r;
            blank = is_blank;
        }
        *w = '\0';
    }
}

int db_classify(PGconn *conn, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (conn != NULL && PQstatus(conn) == CONNECTION_BAD)
        return DB_EUNAVAILABLE;
    if (state == NULL)
        return res == NULL ? DB_EUNAVAILABLE : DB_EHARD;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return DB_ESOFT;
    /* Class 08: connection exception; 57P01-57P03: the server is going away. */
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        return DB_EUNAVAILABLE;
    if (strncmp(state, "23", 2) == 0)
        return DB_ECONSTRAINT;
    return DB_EHARD;
}

/* Fills `e` from a failed result: message from the server, detail and hint. */
static int db_fail(PGconn *conn, PGresult *res, const char *what, struct err *e)
{
    int status = db_classify(conn, res);
    char msg[ERR_MESSAGE_MAX];
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    db_copy_message(msg, sizeof msg, primary ? primary : PQerrorMessage(conn));
    if (status == DB_EUNAVAILABLE)
        err_set(e, status, "database unavailable: %s", msg[0] ? msg : "connection lost");
    else
        err_set(e, status, "%s: %s", what, msg);
    if (res != NULL && e != NULL) {
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (detail)
            err_detail(e, "%s (SQLSTATE %s)", detail, state ? state : "?");
        else if (state)
            err_detail(e, "SQLSTATE %s.", state);
        if (hint)
            err_hint(e, "%s", hint);
    }
    return status;
}

int db_connect(const char *conninfo, PGconn **out, struct err *e)
{
    PGconn *conn = PQconnectdb(conninfo);
    char msg[ERR_MESSAGE_MAX];

    if (conn == NULL)
        return err_set(e, DB_EUNAVAILABLE, "out of memory opening a database connection");
    if (PQstatus(conn) != CONNECTION_OK) {
        db_copy_message(msg, sizeof msg, PQerrorMessage(conn));
        PQfinish(conn);
        return err_set(e, DB_EUNAVAILABLE, "could not connect to the database: %s", msg);
    }
    /* Timestamps and numbers are exchanged as text: pin the formats. */
    if (db_exec(conn,
                "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'; "
                "SET extra_float_digits = 3; SET application_name = 'attune'; "
                "SET client_min_messages = warning",
                e) != 0) {
        PQfinish(conn);
        return e ? e->code : DB_EHARD;
    }
    *out = conn;
    return 0;
}

int db_prepare(PGconn *conn, const struct db_statement *const *tables, struct err *e)
{
    for (; tables != NULL && *tables != NULL; tables++) {
        for (const struct db_statement *s = *tables; s->name != NULL; s++) {
            PGresult *res = PQprepare(conn, s->name, s->sql, 0, NULL);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                int rc = db_fail(conn, res, "could not prepare statement", e);
                err_prefix(e, "statement \"%s\"", s->name);
                PQclear(res);
                return rc;
            }
            PQclear(res);
        }
    }
    return 0;
}

static int db_result(PGconn *conn, PGresult *res, const char *what, PGresult **out, struct err *e)
{
    ExecStatusType st = PQresultStatus(res);
    int rows;

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = db_fail(conn, res, what, e);
        PQclear(res);
        return rc;
    }
    if (st == PGRES_TUPLES_OK) {
        rows = PQntuples(res);
    } else {
        const char *n = PQcmdTuples(res);
        rows = (n && *n) ? (int)strtol(n, NULL, 10) : 0;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return rows;
}

/* Sends a prepared statement; `lengths` and `formats` as PQsendQueryPrepared's. */
static int db_send_prepared(PGconn *conn, const char *name, int nparams, const char *const *params,
                            const int *lengths, const int *formats, struct err *e)
{
    char what[128];

    if (PQsendQueryPrepared(conn, name, nparams, params, lengths, formats, 0) == 1)
        return 0;
    snprintf(what, sizeof what, "statement \"%s\" could not be sent", name);
    return db_fail(conn, NULL, what, e);
}

int db_query_send(PGconn *conn, const char *name, int nparams, const char *const *params,
                  struct err *e)
{
    return db_send_prepared(conn, name, nparams, params, NULL, NULL, e);
}

int db_query_send_binary(PGconn *conn, const char *name, int nparams, const char *const *params,
                         const int *lengths, struct err *e)
{
    int formats[64];

    if (nparams > (int)(sizeof formats / sizeof formats[0]))
        return err_set(e, DB_EHARD, "statement \"%s\": too many parameters", name);
    for (int i = 0; i < nparams; i++)
        formats[i] = 1;
    return db_send_prepared(conn, name, nparams, params, lengths, formats, e);
}

int db_query_wait(PGconn *conn, const char *name, PGresult **out, struct err *e)
{
    PGresult *res = NULL, *next;
    char what[128];

    /* As PQexec: the last result, unless one of them was an error. */
    while ((next = PQgetResult(conn)) != NULL) {
        if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR) {
            PQclear(next);
            continue;
        }
        PQclear(res);
        res = next;
    }
    snprintf(what, sizeof what, "statement \"%s\" failed", name);
    return db_result(conn, res, what, out, e);
}

int db_query(PGconn *conn, const char *name, int nparams, const char *const *params, PGresult **out,
             struct err *e)
{
    int rc = db_query_send(conn, name, nparams, params, e);

    return rc < 0 ? rc : db_query_wait(conn, name, out, e);
}

int db_query_sql(PGconn *conn, const char *sql, int nparams, const char *const *params,
                 PGresult **out, struct err *e)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    return db_result(conn, res, "query failed", out, e);
}

int db_exec(PGconn *conn, const char *sql, struct err *e)
{
    PGresult *res = PQexec(conn, sql);
    int rc = db_result(conn, res, "command failed", NULL, e);
    return rc < 0 ? rc : 0;
}

int db_pool_new(const char *conninfo, int size, const struct db_statement *const *statement_tables,
                struct db_pool **out, struct err *e)
{
    struct db_pool *pool = calloc(1, sizeof *pool);

    if (pool == NULL || size < 1)
        goto fail;
    pool->conninfo = strdup(conninfo);
    pool->slots = calloc((size_t)size, sizeof *pool->slots);
    if (pool->conninfo == NULL || pool->slots == NULL)
        goto fail;
    pool->size = size;
    pool->tables = statement_tables;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    *out = pool;
    return 0;
fail:
    if (pool != NULL) {
        free(pool->conninfo);
        free(pool->slots);
        free(pool);
    }
    return err_set(e, DB_EHARD, "could not create the connection pool");
}

void db_pool_free(struct db_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++)
        if (pool->slots[i].conn != NULL)
            PQfinish(pool->slots[i].conn);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->freed);
    free(pool->slots);
    free(pool->conninfo);
    free(pool);
}

/* Opens (or reopens) the slot's connection. Called without the pool lock. */
static int db_slot_open(struct db_pool *pool, struct db_slot *slot, struct err *e)
{
    PGconn *conn = NULL;
    int rc;

    if (slot->conn != NULL) {
        PQfinish(slot->conn);
        slot->conn = NULL;
    }
    if ((rc = db_connect(pool->conninfo, &conn, e)) != 0)
        return rc;
    if ((rc = db_prepare(conn, pool->tables, e)) != 0) {
        PQfinish(conn);
        return rc;
    }
    slot->conn = conn;
    __atomic_add_fetch(&pool->reconnects, 1, __ATOMIC_RELAXED);
    return 0;
}

PGconn *db_pool_acquire(struct db_pool *pool, int timeout_ms, struct err *e)
{
    struct timespec deadline;
    struct db_slot *slot = NULL;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        /* Prefer a slot that is already open. */
        for (int i = 0; i < pool->size && slot == NULL; i++)
            if (!pool->slots[i].busy && pool->slots[i].conn != NULL)
                slot = &pool->slots[i];
        for (int i = 0; i < pool->size && slot == NULL; i++)
            if (!pool->slots[i].busy)
                slot = &pool->slots[i];
        if (slot != NULL)
            break;
        if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool->lock);
            err_set(e, DB_EBUSY, "no database connection free after %d ms", timeout_ms);
            return NULL;
        }
    }
    slot->busy = 1;
    pthread_mutex_unlock(&pool->lock);

    if (slot->conn == NULL || PQstatus(slot->conn) != CONNECTION_OK) {
        if (db_slot_open(pool, slot, e) != 0) {
            pthread_mutex_lock(&pool->lock);
            slot->busy = 0;
            pthread_cond_signal(&pool->freed);
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
    }
    return slot->conn;
}

void db_pool_release(struct db_pool *pool, PGconn *conn)
{
    if (conn == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    for (int i = 0; i < pool->size; i++) {
        if (pool->slots[i].conn == conn) {
            /* A connection left inside a transaction or broken is not reusable. */
            if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
                PQfinish(conn);
                pool->slots[i].conn = NULL;
            }
            pool->slots[i].busy = 0;
            pthread_cond_signal(&pool->freed);
            break;
        }
    }
    pthread_mutex_unlock(&pool->lock);
}

void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&pool->lock);
    out->size = pool->size;
    for (int i = 0; i < pool->size; i++) {
        out->open += pool->slots[i].conn != NULL;
        out->busy += pool->slots[i].busy;
    }
    pthread_mutex_unlock(&pool->lock);
    out->reconnects = __atomic_load_n(&pool->reconnects, __ATOMIC_RELAXED);
}

static const char *const db_begin_sql[] = {
    [DB_READ_COMMITTED] = "BEGIN ISOLATION LEVEL READ COMMITTED",
    [DB_REPEATABLE_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ",
    [DB_SERIALIZABLE] = "BEGIN ISOLATION LEVEL SERIALIZABLE",
};

/* Short randomised pause before retrying a serialization failure. */
static void db_backoff(int attempt)
{
    struct timespec ts = {0, (long)(1 + attempt * attempt) * 1000000L + (rand() % 1000) * 1000L};
    nanosleep(&ts, NULL);
}

int db_run(struct db_pool *pool, enum db_isolation isolation, db_tx_fn fn, void *ctx, struct err *e)
{
    PGconn *conn;
    int rc = DB_EHARD;
    int reopened = 0;

    conn = db_pool_acquire(pool, 5000, e);
    if (conn == NULL)
        return e ? e->code : DB_EUNAVAILABLE;
    for (int attempt = 0; attempt <= DB_MAX_SOFT_RETRIES; attempt++) {
        rc = db_exec(conn, db_begin_sql[isolation], e);
        if (rc == DB_EUNAVAILABLE && !reopened) {
            /* A connection the server dropped since it was last used (say, a
             * restart). Nothing was sent: reopen and begin again, once. */
            reopened = 1;
            db_pool_release(pool, conn);
            conn = db_pool_acquire(pool, 5000, e);
            if (conn == NULL)
                return e ? e->code : DB_EUNAVAILABLE;
            attempt--;
            continue;
        }
        if (rc != 0)
            break;
        rc = fn(conn, ctx, e);
        if (rc == 0) {
            rc = db_exec(conn, "COMMIT", e);
            if (rc == 0)
                break;
        } else if (PQtransactionStatus(conn) != PQTRANS_UNKNOWN) {
            struct err ignored;
            db_exec(conn, "ROLLBACK", &ignored);
        }
        if (rc != DB_ESOFT)
            break;
        db_backoff(attempt);
    }
    db_pool_release(pool, conn);
    return rc;
}
