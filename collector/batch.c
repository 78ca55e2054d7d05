/*
 * batch.c — group commit for questionnaire responses.
 *
 * With synchronous commit, every transaction pays for its commit (and, on
 * this kind of machine, for a statement's fixed cost: parse, plan, executor
 * start, round trip) whatever it holds. The HTTP threads therefore hand their
 * scored, validated responses to a few writer threads; a writer takes every
 * response waiting (up to COL_BATCH_MAX), stores them with one statement
 * (attune_response_store_batch() in sql/007: placement by
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

/* Runs one batch; fills each job's result. Called without the lock. */
static void col_batch_run(struct col_batcher *b, struct col_batch_job **jobs, size_t n)
{
    size_t len = 2, used = 0;
    char *text;
    PGresult *res = NULL;
    PGconn *conn;
    struct err e;
    int rc = DB_EHARD;

    for (size_t i = 0; i < n; i++)
        len += strlen(jobs[i]->json) + 24;
    text = malloc(len);
    if (text == NULL)
        goto fail;
    text[used++] = '[';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(text + used, len - used, "%s{\"k\":%zu,%s", i ? "," : "", i,
                                 jobs[i]->json);
    text[used++] = ']';
    text[used] = '\0';
    err_clear(&e);
    conn = db_pool_acquire(b->pool, 5000, &e);
    if (conn == NULL) {
        rc = e.code ? e.code : DB_EUNAVAILABLE;
        goto fail;
    }
    for (int attempt = 0;; attempt++) {
        const char *param = text;
        rc = db_query(conn, "col_response_store_batch", 1, &param, &res, &e);
        if (rc != DB_ESOFT || attempt >= COL_BATCH_RETRIES)
            break;
    }
    db_pool_release(b->pool, conn);
    if (rc < 0)
        goto fail;
    for (int r = 0; r < PQntuples(res); r++) {
        size_t k = (size_t)strtoul(PQgetvalue(res, r, 0), NULL, 10);
        struct col_batch_job *j;
        if (k >= n)
            continue;
        j = jobs[k];
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
    free(text);
    return;
fail:
    /* Unreachable database: every job answers 503. Any other failure (a
     * statement one job made fail): every job takes the one-by-one path, so
     * that one bad job cannot fail the others. */
    if (rc != DB_EUNAVAILABLE && rc != DB_EBUSY) {
        char q[512];
        log_event(LOG_WARN, "collector.batch", "jobs=%zu code=%d message=%s", n, rc,
                  log_quote(q, sizeof q, e.message));
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i]->rc = (rc == DB_EUNAVAILABLE || rc == DB_EBUSY) ? rc : 0;
        jobs[i]->inserted = 0;
    }
    PQclear(res);
    free(text);
}

static void *col_batch_writer(void *arg)
{
    struct col_batcher *b = arg;
    struct col_batch_job *jobs[COL_BATCH_MAX];

    pthread_mutex_lock(&b->lock);
    for (;;) {
        struct col_batch_job **link, *j;
        size_t n = 0;
        while (b->head == NULL && !b->stop)
            pthread_cond_wait(&b->work, &b->lock);
        if (b->head == NULL && b->stop)
            break;
        /* Take what waits, in order, but never one id twice. */
        link = &b->head;
        b->tail = NULL;
        while ((j = *link) != NULL) {
            int dup = 0;
            for (size_t i = 0; i < n && !dup; i++)
                dup = strcmp(jobs[i]->id, j->id) == 0;
            if (!dup && n < COL_BATCH_MAX) {
                jobs[n++] = j;
                *link = j->next;
            } else {
                b->tail = j;
                link = &j->next;
            }
        }
        b->batches++;
        b->jobs += (long long)n;
        pthread_mutex_unlock(&b->lock);
        col_batch_run(b, jobs, n);
        /* Wake exactly the threads whose responses are committed. */
        for (size_t i = 0; i < n; i++)
            sem_post(&jobs[i]->wake);
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
