/*
 * batch.c — group commit for questionnaire responses.
 *
 * With synchronous commit, every transaction pays for its commit (and, on
 * this kind of machine, for a statement's fixed cost: parse, plan, executor
 * start, round trip) whatever it holds. The HTTP threads therefore hand their
 * scored, validated responses to a few writer threads; a writer takes every
 * response waiting (up to COL_BATCH_MAX), stores them with one statement
 * (attune_response_store_batch(), sql/007, 009, 011, 013: placement by
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
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_int.h"
#include "log.h"

#define COL_BATCH_MAX     64
#define COL_BATCH_RETRIES 3

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
    char *text;   /* the statement's parameter: the jobs as one JSON array */
    PGconn *conn; /* borrowed from the pool while the statement runs */
    int rc;       /* 0 once sent; else why not */
    struct err e;
};

/* Builds the batch's text and sends its statement without waiting for the
 * result. Called without the lock. A failure is kept in f->rc for
 * col_batch_finish() to report. */
static void col_batch_send(struct col_batcher *b, struct col_batch_flight *f)
{
    size_t len = 2, used = 0;

    f->text = NULL;
    f->conn = NULL;
    f->rc = DB_EHARD;
    err_clear(&f->e);
    for (size_t i = 0; i < f->n; i++)
        len += strlen(f->jobs[i]->json) + 24;
    f->text = malloc(len);
    if (f->text == NULL) {
        err_set(&f->e, DB_EHARD, "out of memory for a batch of %zu responses", f->n);
        return;
    }
    f->text[used++] = '[';
    for (size_t i = 0; i < f->n; i++)
        used += (size_t)snprintf(f->text + used, len - used, "%s{\"k\":%zu,%s", i ? "," : "", i,
                                 f->jobs[i]->json);
    f->text[used++] = ']';
    f->text[used] = '\0';
    f->conn = db_pool_acquire(b->pool, 5000, &f->e);
    if (f->conn == NULL) {
        f->rc = f->e.code ? f->e.code : DB_EUNAVAILABLE;
        return;
    }
    {
        const char *param = f->text;
        f->rc = db_query_send(f->conn, "col_response_store_batch", 1, &param, &f->e);
    }
}

/* Waits for the statement col_batch_send() sent (and commits it: the
 * statement runs in autocommit), retries it on a serialization failure, and
 * fills each job's result. Called without the lock. */
static void col_batch_finish(struct col_batcher *b, struct col_batch_flight *f)
{
    PGresult *res = NULL;
    int rc = f->rc;

    if (rc == 0) {
        rc = db_query_wait(f->conn, "col_response_store_batch", &res, &f->e);
        for (int attempt = 1; rc == DB_ESOFT && attempt <= COL_BATCH_RETRIES; attempt++) {
            const char *param = f->text;
            rc = db_query(f->conn, "col_response_store_batch", 1, &param, &res, &f->e);
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
    free(f->text);
    f->text = NULL;
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
    free(f->text);
    f->text = NULL;
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
