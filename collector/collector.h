/*
 * collector.h — `attune serve`: the service that takes participants'
 * questionnaires and app events, and serves the dashboards.
 *
 * struct col_app is the application context every handler reaches through
 * req->app: configuration, the PostgreSQL pool, the migrations the program
 * expects. col_serve() wires it to the HTTP server and runs until SIGTERM or
 * SIGINT, then finishes the requests in flight and stops.
 */
#ifndef ATTUNE_COLLECTOR_H
#define ATTUNE_COLLECTOR_H

#include <pthread.h>
#include <time.h>

#include "access.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "migrate.h"

enum {
    COL_EINIT = -1,    /* something the server needs could not be set up */
    COL_EPENDING = -2, /* the database has unapplied migrations */
};

struct col_app {
    /* First, so that access/ (acc_authorize(), its handlers) can read it
     * through req->app without knowing the rest of this struct. */
    struct acc_env access;
    const struct cfg *cfg;
    struct db_pool *pool;
    struct migration_set *migrations; /* what this program expects */
    pthread_mutex_t migrations_lock;  /* migrate_check() writes into the set */
    time_t started;
};

/* The collector's statement table (statements.c). */
extern const struct db_statement col_statements[];

/* The health routes (health.c): /healthz, /readyz, the landing page. */
extern const struct http_route col_health_routes[];
extern const size_t col_health_routes_count;

/* Static files (static.c): GET /static/<path> from dashboards_dir/static. */
extern const struct http_route col_static_routes[];
extern const size_t col_static_routes_count;

/*
 * Runs `attune serve` with the given configuration until a stop signal.
 * Refuses to start (COL_EPENDING, naming them) when migrations are pending.
 */
int col_serve(const struct cfg *cfg, struct err *e);

/* Ready check used by /readyz: 0, or a reason in `e` (DB_EUNAVAILABLE, COL_EPENDING). */
int col_app_ready(struct col_app *app, int *applied, struct err *e);

#endif
