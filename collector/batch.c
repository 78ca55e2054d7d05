/*
 * batch.c — group commit for questionnaire responses.
 *
 * With synchronous commit, every transaction pays for its commit (and, on
 * this kind of machine, for a statement's fixed cost: parse, plan, executor
 * start, round trip) whatever it holds. The HTTP threads therefore hand their
 * scored, validated responses to a few writer threads; a writer takes every
 * response waiting (up to COL_BATCH_MAX), stores them with one statement
 * (attune_response_store_rows(), sql/014, after sql/007, 009, 011, 013's
 * attune_response_store_batch(): placement by
 * attune_placement(), insert of the responses with their item answers and of
 * their audit rows, and for a request whose token was not looked up yet the
 * token check) in one transaction, and only after that commit wakes the HTTP
 * threads, which answer 201. Nothing is acknowledged
 * before its commit; a response that cannot go in as new (a retry, a
 * conflict, a refusal) is handed back to take the one-by-one path,
 * attune_response_store(), which says why. Two waiting responses with the
 * same id never share a batch (the second waits for the next one), so a
 * batch never inserts one id twice.
 */
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "col_int.h"
#include "log.h"

#define COL_BATCH_MAX     64
#define COL_BATCH_RETRIES 3

/* The statement's parameters: a column array each (enum col_batch_column,
 * in order), then the first index and the count of each job's flags and of
 * its items (sql/014_batch_typed_input.sql). */
#define COL_BATCH_PARAMS (COL_BC_N + 4)

/* Element type of each column's array (pg_type OIDs, fixed for built-in types). */
static const unsigned col_batch_oid[COL_BC_N] = {
    [COL_BC_ID] = 2950,       [COL_BC_PARTICIPANT] = 20, [COL_BC_INSTRUMENT] = 25,
    [COL_BC_VERSION] = 25,    [COL_BC_COMPLETED] = 1184, [COL_BC_SOURCE] = 25,
    [COL_BC_HASH] = 17,       [COL_BC_TOTAL] = 701,      [COL_BC_SUBSCALES] = 3802,
    [COL_BC_SEVERITY] = 25,   [COL_BC_ANSWERED] = 23,    [COL_BC_MISSING] = 23,
    [COL_BC_PRORATED] = 16,   [COL_BC_TOKEN] = 17,       [COL_BC_ACTOR] = 25,
    [COL_BC_REQUEST_ID] = 25, [COL_BC_SOURCE_ADDR] = 25, [COL_BC_FLAGS] = 25,
    [COL_BC_ITEMS] = 25,      [COL_BC_VALUES] = 701,
};
#define COL_OID_INT4 23u

/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC). */
#define COL_PG_EPOCH_USEC 946684800000000LL

/* ---- a job's values, encoded (col_int.h) ---- */

void col_cells_init(struct col_batch_cells *c)
{
    memset(c, 0, sizeof *c);
    c->cur = -1;
}

void col_cells_free(struct col_batch_cells *c)
{
    free(c->buf);
    col_cells_init(c);
}

static void col_cells_put(struct col_batch_cells *c, const void *p, size_t n)
{
    if (c->failed)
        return;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 512;
        unsigned char *grown;
        while (cap < c->len + n)
            cap *= 2;
        if ((grown = realloc(c->buf, cap)) == NULL) {
            c->failed = 1;
            return;
        }
        c->buf = grown;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
}

static void col_cells_be32(struct col_batch_cells *c, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    col_cells_put(c, b, 4);
}

static void col_cells_be64(struct col_batch_cells *c, uint64_t v)
{
    col_cells_be32(c, (uint32_t)(v >> 32));
    col_cells_be32(c, (uint32_t)v);
}

/* Counts an element of the current column; its bytes follow. */
static int col_cells_element(struct col_batch_cells *c)
{
    if (c->cur < 0) {
        c->failed = 1;
        return 0;
    }
    c->count[c->cur]++;
    return 1;
}

static void col_cells_close(struct col_batch_cells *c)
{
    if (c->cur >= 0)
        c->bytes[c->cur] = c->len - c->off[c->cur];
}

void col_cells_column(struct col_batch_cells *c, enum col_batch_column col)
{
    col_cells_close(c);
    c->cur = (int)col;
    c->off[col] = c->len;
    c->count[col] = 0;
}

void col_cells_null(struct col_batch_cells *c)
{
    if (!col_cells_element(c))
        return;
    c->nulls |= 1 << c->cur;
    col_cells_be32(c, 0xFFFFFFFFu);
    col_cells_close(c);
}

void col_cells_bytes(struct col_batch_cells *c, const void *p, size_t n)
{
    if (n > 0x3FFFFFFF) {
        c->failed = 1;
        return;
    }
    if (!col_cells_element(c))
        return;
    col_cells_be32(c, (uint32_t)n);
    col_cells_put(c, p, n);
    col_cells_close(c);
}

void col_cells_text(struct col_batch_cells *c, const char *s)
{
    if (s == NULL)
        col_cells_null(c);
    else
        col_cells_bytes(c, s, strlen(s));
}

void col_cells_int4(struct col_batch_cells *c, int32_t v)
{
    if (!col_cells_element(c))
        return;
    col_cells_be32(c, 4);
    col_cells_be32(c, (uint32_t)v);
    col_cells_close(c);
}

void col_cells_int8(struct col_batch_cells *c, int64_t v)
{
    if (!col_cells_element(c))
        return;
    col_cells_be32(c, 8);
    col_cells_be64(c, (uint64_t)v);
    col_cells_close(c);
}

void col_cells_float8(struct col_batch_cells *c, double v)
{
    uint64_t bits;

    if (isnan(v)) {
        col_cells_null(c);
        return;
    }
    memcpy(&bits, &v, sizeof bits);
    if (!col_cells_element(c))
        return;
    col_cells_be32(c, 8);
    col_cells_be64(c, bits);
    col_cells_close(c);
}

void col_cells_bool(struct col_batch_cells *c, int v)
{
    unsigned char b = v ? 1 : 0;

    col_cells_bytes(c, &b, 1);
}

void col_cells_uuid(struct col_batch_cells *c, const char *text)
{
    unsigned char u[16];
    size_t n = 0;

    /* The 8-4-4-4-12 form (intake.c), its dashes skipped by libsodium. */
    if (!col_uuid_ok(text) || sodium_hex2bin(u, sizeof u, text, strlen(text), "-", &n, NULL) != 0 ||
        n != sizeof u) {
        c->failed = 1;
        return;
    }
    col_cells_bytes(c, u, sizeof u);
}

void col_cells_timestamptz(struct col_batch_cells *c, int64_t unix_usec)
{
    col_cells_int8(c, unix_usec - COL_PG_EPOCH_USEC);
}

void col_cells_jsonb(struct col_batch_cells *c, const char *json_text)
{
    size_t n = strlen(json_text);

    if (n > 0x3FFFFFFE) {
        c->failed = 1;
        return;
    }
    if (!col_cells_element(c))
        return;
    col_cells_be32(c, (uint32_t)(n + 1));
    col_cells_put(c, "\x01", 1); /* jsonb's binary format: version 1, then the text */
    col_cells_put(c, json_text, n);
    col_cells_close(c);
}

/* ---- the writer ---- */

struct col_batcher {
    struct db_pool *pool;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or stop */
    struct col_batch_job *head, *tail;
    int stop;
    int n_writers;
    pthread_t writers[8];
    long long batches, jobs; /* counters, under lock */
};

/* One batch on its way through the database. */
struct col_batch_flight {
    struct col_batch_job *jobs[COL_BATCH_MAX];
    size_t n;
    /* the statement's parameters: binary arrays, all in one buffer */
    struct col_batch_cells params;
    const char *values[COL_BATCH_PARAMS];
    int lengths[COL_BATCH_PARAMS];
    PGconn *conn; /* borrowed from the pool while the statement runs */
    int rc;       /* 0 once sent; else why not */
    struct err e;
};

/* A one-dimensional array's header: whether it holds a NULL, its element
 * type, its length, lower bound 1. */
static void col_batch_array_header(struct col_batch_cells *a, int has_null, unsigned oid, size_t n)
{
    col_cells_be32(a, 1);
    col_cells_be32(a, has_null ? 1 : 0);
    col_cells_be32(a, oid);
    col_cells_be32(a, (uint32_t)n);
    col_cells_be32(a, 1);
}

/* Puts the jobs' elements together into the statement's arrays. 0, or -1
 * when out of memory or a job's values did not encode. */
static int col_batch_params(struct col_batch_flight *f)
{
    struct col_batch_cells *a = &f->params;
    size_t start[COL_BATCH_PARAMS];

    col_cells_init(a);
    for (int col = 0; col < COL_BC_N; col++) {
        size_t total = 0;
        int has_null = 0;
        for (size_t i = 0; i < f->n; i++) {
            const struct col_batch_cells *c = &f->jobs[i]->cells;
            if (c->failed)
                return -1;
            total += (size_t)c->count[col];
            has_null |= (c->nulls >> col) & 1;
        }
        start[col] = a->len;
        col_batch_array_header(a, has_null, col_batch_oid[col], total);
        for (size_t i = 0; i < f->n; i++) {
            const struct col_batch_cells *c = &f->jobs[i]->cells;
            col_cells_put(a, c->buf + c->off[col], c->bytes[col]);
        }
    }
    /* Where each job's flags and items start in their flat arrays (from 1),
     * and how many it has. */
    for (int k = 0; k < 4; k++) {
        int col = k < 2 ? COL_BC_FLAGS : COL_BC_ITEMS;
        int32_t at = 1;
        start[COL_BC_N + k] = a->len;
        col_batch_array_header(a, 0, COL_OID_INT4, f->n);
        for (size_t i = 0; i < f->n; i++) {
            int32_t count = f->jobs[i]->cells.count[col];
            col_cells_be32(a, 4);
            col_cells_be32(a, (uint32_t)((k % 2 == 0) ? at : count));
            at += count;
        }
    }
    if (a->failed)
        return -1;
    for (int p = 0; p < COL_BATCH_PARAMS; p++) {
        size_t end = p + 1 < COL_BATCH_PARAMS ? start[p + 1] : a->len;
        f->values[p] = (const char *)a->buf + start[p];
        f->lengths[p] = (int)(end - start[p]);
    }
    return 0;
}

/* Builds the batch's parameters and sends its statement without waiting
 * for the result. Called without the lock. A failure is kept in f->rc for
 * col_batch_finish() to report. */
static void col_batch_send(struct col_batcher *b, struct col_batch_flight *f)
{
    f->conn = NULL;
    f->rc = DB_EHARD;
    err_clear(&f->e);
    if (col_batch_params(f) != 0) {
        err_set(&f->e, DB_EHARD, "out of memory for a batch of %zu responses", f->n);
        return;
    }
    f->conn = db_pool_acquire(b->pool, 5000, &f->e);
    if (f->conn == NULL) {
        f->rc = f->e.code ? f->e.code : DB_EUNAVAILABLE;
        return;
    }
    f->rc = db_query_send_binary(f->conn, "col_response_store_rows", COL_BATCH_PARAMS, f->values,
                                 f->lengths, &f->e);
}

/* Waits for the statement col_batch_send() sent (and commits it: the
 * statement runs in autocommit), retries it on a serialization failure, and
 * fills each job's result. Called without the lock. */
static void col_batch_finish(struct col_batcher *b, struct col_batch_flight *f)
{
    PGresult *res = NULL;
    int rc = f->rc;

    if (rc == 0) {
        rc = db_query_wait(f->conn, "col_response_store_rows", &res, &f->e);
        for (int attempt = 1; rc == DB_ESOFT && attempt <= COL_BATCH_RETRIES; attempt++) {
            rc = db_query_send_binary(f->conn, "col_response_store_rows", COL_BATCH_PARAMS,
                                      f->values, f->lengths, &f->e);
            if (rc == 0)
                rc = db_query_wait(f->conn, "col_response_store_rows", &res, &f->e);
        }
    }
    if (f->conn != NULL)
        db_pool_release(b->pool, f->conn);
    f->conn = NULL;
    if (rc < 0)
        goto fail;
    /* A row for each stored response (sql/013); every other job takes the
     * one-by-one path, which says why it was not stored. */
    for (size_t i = 0; i < f->n; i++) {
        f->jobs[i]->rc = 0;
        f->jobs[i]->inserted = 0;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        size_t k = (size_t)strtoul(PQgetvalue(res, r, 0), NULL, 10);
        struct col_batch_job *j;
        if (k >= f->n)
            continue;
        j = f->jobs[k];
        j->rc = 0;
        j->inserted = PQgetvalue(res, r, 1)[0] == 't';
        if (j->inserted) {
            j->week = atoi(PQgetvalue(res, r, 2));
            snprintf(j->timing, sizeof j->timing, "%s", PQgetvalue(res, r, 3));
            j->received = strtoll(PQgetvalue(res, r, 4), NULL, 10);
            j->participant = strtoll(PQgetvalue(res, r, 5), NULL, 10);
            snprintf(j->study, sizeof j->study, "%s", PQgetvalue(res, r, 6));
        }
    }
    PQclear(res);
    col_cells_free(&f->params);
    return;
fail:
    /* Unreachable database: every job answers 503. Any other failure (a
     * statement one job made fail): every job takes the one-by-one path, so
     * that one bad job cannot fail the others. */
    if (rc != DB_EUNAVAILABLE && rc != DB_EBUSY) {
        char q[512];
        log_event(LOG_WARN, "collector.batch", "jobs=%zu code=%d message=%s", f->n, rc,
                  log_quote(q, sizeof q, f->e.message));
    }
    for (size_t i = 0; i < f->n; i++) {
        f->jobs[i]->rc = (rc == DB_EUNAVAILABLE || rc == DB_EBUSY) ? rc : 0;
        f->jobs[i]->inserted = 0;
    }
    col_cells_free(&f->params);
}

/* Moves what waits into f, in order, but never one id twice (the second
 * waits for the next batch). Called with the lock held. */
static void col_batch_take(struct col_batcher *b, struct col_batch_flight *f)
{
    struct col_batch_job **link = &b->head, *j;

    f->n = 0;
    b->tail = NULL;
    while ((j = *link) != NULL) {
        int dup = 0;
        for (size_t i = 0; i < f->n && !dup; i++)
            dup = strcmp(f->jobs[i]->id, j->id) == 0;
        if (!dup && f->n < COL_BATCH_MAX) {
            f->jobs[f->n++] = j;
            *link = j->next;
        } else {
            b->tail = j;
            link = &j->next;
        }
    }
    if (f->n > 0) {
        b->batches++;
        b->jobs += (long long)f->n;
    }
}

/*
 * A writer keeps its database connection busy: as soon as one batch has
 * committed, it sends the next one (what queued meanwhile) and only then
 * wakes the HTTP threads of the committed one. Waking them first would let
 * them take the CPU from the writer, and the database would wait for the
 * next statement while they write their answers.
 */
static void *col_batch_writer(void *arg)
{
    struct col_batcher *b = arg;
    struct col_batch_flight flights[2], *sent = NULL;
    int next = 0;

    pthread_mutex_lock(&b->lock);
    for (;;) {
        struct col_batch_flight *done = sent, *f = &flights[next];
        if (done == NULL) {
            while (b->head == NULL && !b->stop)
                pthread_cond_wait(&b->work, &b->lock);
            if (b->head == NULL && b->stop)
                break;
        }
        pthread_mutex_unlock(&b->lock);
        if (done != NULL)
            col_batch_finish(b, done);
        pthread_mutex_lock(&b->lock);
        col_batch_take(b, f);
        pthread_mutex_unlock(&b->lock);
        sent = NULL;
        if (f->n > 0) {
            col_batch_send(b, f);
            sent = f;
            next ^= 1;
        }
        /* Wake exactly the threads whose responses are committed. */
        for (size_t i = 0; done != NULL && i < done->n; i++)
            sem_post(&done->jobs[i]->wake);
        pthread_mutex_lock(&b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int col_batcher_start(struct db_pool *pool, int writers, struct col_batcher **out, struct err *e)
{
    struct col_batcher *b = calloc(1, sizeof *b);

    if (b == NULL || writers < 1 || writers > 8) {
        free(b);
        return err_set(e, COL_EINIT, "invalid batch writer settings");
    }
    b->pool = pool;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->work, NULL);
    for (int i = 0; i < writers; i++) {
        if (pthread_create(&b->writers[i], NULL, col_batch_writer, b) != 0)
            break;
        b->n_writers++;
    }
    if (b->n_writers == 0) {
        col_batcher_stop(b);
        return err_set(e, COL_EINIT, "could not start the batch writers");
    }
    *out = b;
    return 0;
}

void col_batcher_stop(struct col_batcher *b)
{
    if (b == NULL)
        return;
    pthread_mutex_lock(&b->lock);
    b->stop = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->lock);
    for (int i = 0; i < b->n_writers; i++)
        pthread_join(b->writers[i], NULL);
    if (b->batches > 0)
        log_event(LOG_INFO, "collector.batches", "batches=%lld responses=%lld mean=%.2f",
                  b->batches, b->jobs, (double)b->jobs / (double)b->batches);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

int col_batcher_store(struct col_batcher *b, struct col_batch_job *job)
{
    job->next = NULL;
    if (sem_init(&job->wake, 0, 0) != 0)
        return DB_EHARD;
    pthread_mutex_lock(&b->lock);
    if (b->tail != NULL)
        b->tail->next = job;
    else
        b->head = job;
    b->tail = job;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->lock);
    while (sem_wait(&job->wake) != 0)
        ; /* EINTR */
    sem_destroy(&job->wake);
    return job->rc;
}
