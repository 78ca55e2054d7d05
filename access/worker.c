/*
 * worker.c — the background thread of `attune serve`: seals the audit log
 * every second or so, so that rows are chained soon after they commit, and
 * once a minute deletes sessions and login failures that no longer matter.
 * It holds one pooled connection only while it works.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "audit.h"
#include "log.h"

#define ACC_SEAL_BATCH     1000
#define ACC_HOUSEKEEPING_S 60

struct acc_worker {
    struct db_pool *pool;
    int interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    time_t last_housekeeping;
};

static void acc_housekeeping(struct acc_worker *w)
{
    struct err e;
    char q[256];
    PGconn *conn;

    err_clear(&e);
    if ((conn = db_pool_acquire(w->pool, 1000, &e)) == NULL)
        return;
    if (db_query(conn, "acc_purge_sessions", 0, NULL, NULL, &e) < 0 ||
        db_query(conn, "acc_purge_failures", 0, NULL, NULL, &e) < 0)
        log_event(LOG_WARN, "access.housekeeping", "message=%s", log_quote(q, sizeof q, e.message));
    db_pool_release(w->pool, conn);
}

static void acc_worker_seal(struct acc_worker *w)
{
    struct err e;
    char q[256];
    long n;

    err_clear(&e);
    n = audit_seal(w->pool, ACC_SEAL_BATCH, AUDIT_SEAL_LAZY, &e);
    if (n < 0 && n != DB_EUNAVAILABLE && n != DB_EBUSY)
        log_event(LOG_WARN, "audit.seal_failed", "message=%s", log_quote(q, sizeof q, e.message));
    else if (n > 0)
        log_event(LOG_DEBUG, "audit.sealed", "rows=%ld", n);
}

static void *acc_worker_main(void *arg)
{
    struct acc_worker *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += w->interval_ms / 1000;
        until.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!w->stopping && pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&w->lock);
        acc_worker_seal(w);
        if (time(NULL) - w->last_housekeeping >= ACC_HOUSEKEEPING_S) {
            acc_housekeeping(w);
            w->last_housekeeping = time(NULL);
        }
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int acc_worker_start(struct db_pool *pool, int seal_interval_ms, struct acc_worker **out,
                     struct err *e)
{
    struct acc_worker *w = calloc(1, sizeof *w);

    if (w == NULL)
        return err_set(e, ACC_EINVAL, "out of memory");
    w->pool = pool;
    w->interval_ms = seal_interval_ms > 0 ? seal_interval_ms : 1000;
    w->last_housekeeping = 0;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, acc_worker_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return err_set(e, ACC_EINVAL, "could not start the audit sealer thread");
    }
    *out = w;
    return 0;
}

void acc_worker_stop(struct acc_worker *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    /* Rows written by the last requests are sealed before the server goes. */
    acc_worker_seal(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}
