/*
 * server.c — col_serve(): configuration → database → HTTP server → wait for
 * a stop signal → graceful stop.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "col_int.h"
#include "ins.h"
#include "log.h"

/* Group-commit writer threads (batch.c). */
#define COL_WRITERS 2

/* Every route the server answers, gathered from the modules' tables. */
static struct http_route *col_collect_routes(size_t *n_out)
{
    const struct {
        const struct http_route *routes;
        size_t n;
    } tables[] = {
        {col_health_routes, col_health_routes_count},
        {col_participant_routes, col_participant_routes_count},
        {col_form_routes, col_form_routes_count},
        {col_fhir_routes, col_fhir_routes_count},
    };
    size_t total = 0, at = 0;
    struct http_route *all;

    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        total += tables[i].n;
    all = calloc(total, sizeof *all);
    if (all == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        memcpy(all + at, tables[i].routes, tables[i].n * sizeof *all);
        at += tables[i].n;
    }
    *n_out = total;
    return all;
}

/* Refuses to serve a database that is not fully migrated, naming what is missing. */
static int col_check_schema(const char *conninfo, struct migration_set *set, struct err *e)
{
    PGconn *conn = NULL;
    int rc;

    if ((rc = db_connect(conninfo, &conn, e)) != 0)
        return rc;
    rc = migrate_check(conn, set, e);
    if (rc == 0 && set->n_pending > 0) {
        char names[1024];
        migrate_pending_names(set, names, sizeof names);
        err_set(e, COL_EPENDING, "the database has unapplied migrations: %s", names);
        err_hint(e, "Run \"attune migrate\" first.");
        rc = COL_EPENDING;
    }
    PQfinish(conn);
    return rc;
}

int col_serve(const struct cfg *cfg, struct err *e)
{
    static const struct db_statement *const statement_tables[] = {col_statements, NULL};
    struct col_app app;
    struct http_server_config hcfg;
    struct http_server *server = NULL;
    struct http_route *routes = NULL;
    char *conninfo = NULL;
    sigset_t stop_signals;
    int sig = 0, rc;
    char q[512];

    memset(&app, 0, sizeof app);
    app.cfg = cfg;
    app.started = time(NULL);
    pthread_mutex_init(&app.migrations_lock, NULL);

    /* Block the stop signals before any thread starts so that only sigwait()
     * below receives them; worker threads inherit the mask. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((rc = cluster_resolve(cfg, 1, &conninfo, e)) != 0)
        goto out;
    if ((rc = migrate_load(cfg->sql_dir, &app.migrations, e)) != 0)
        goto out;
    if ((rc = col_check_schema(conninfo, app.migrations, e)) != 0)
        goto out;
    /* The definition files, for reading FHIR QuestionnaireResponses; scoring
     * itself uses the definitions registered in the database. */
    {
        struct err re;
        err_clear(&re);
        if (ins_registry_load(cfg->instruments_dir, &app.registry, &re) != 0)
            log_event(LOG_WARN, "serve.instruments", "message=%s",
                      log_quote(q, sizeof q, re.message));
    }
    if (col_defs_new(&app.defs) != 0 || col_token_cache_new(16384, &app.tokens) != 0) {
        rc = err_set(e, COL_EINIT, "out of memory");
        goto out;
    }
    /* The batch writers borrow connections too (COL_WRITERS more). */
    if ((rc = db_pool_new(conninfo, cfg->db_pool_size + COL_WRITERS, statement_tables, &app.pool,
                          e)) != 0)
        goto out;
    if (getenv("ATTUNE_NO_GROUP_COMMIT") == NULL &&
        (rc = col_batcher_start(app.pool, COL_WRITERS, &app.batcher, e)) != 0)
        goto out;
    routes = col_collect_routes(&hcfg.n_routes);
    if (routes == NULL) {
        rc = err_set(e, COL_EINIT, "out of memory");
        goto out;
    }
    hcfg.host = cfg->listen_host;
    hcfg.port = cfg->listen_port;
    hcfg.threads = cfg->threads;
    hcfg.connection_timeout_s = cfg->connection_timeout_s;
    hcfg.connection_limit = 0;
    hcfg.max_body_bytes = cfg->max_body_bytes;
    hcfg.routes = routes;
    hcfg.authorize = col_authorize;
    hcfg.app = &app;
    if ((rc = http_server_start(&hcfg, &server, e)) != 0)
        goto out;
    log_event(LOG_INFO, "serve.start",
              "url=http://%s:%d version=%s threads=%d db_pool=%d database=%s", cfg->listen_host,
              http_server_port(server), ATTUNE_VERSION, cfg->threads, cfg->db_pool_size,
              cfg->database_url ? "external" : "embedded");
    fprintf(stdout, "Attune is serving on http://%s:%d/ (stop with Ctrl-C)\n",
            strcmp(cfg->listen_host, "0.0.0.0") == 0 ? "localhost" : cfg->listen_host,
            http_server_port(server));
    fflush(stdout);

    while (sigwait(&stop_signals, &sig) != 0)
        ;
    log_event(LOG_INFO, "serve.stop", "signal=%s in_flight=%ld grace_s=%d",
              log_quote(q, sizeof q, strsignal(sig)), http_server_in_flight(server),
              cfg->shutdown_grace_s);
    http_server_stop(server, cfg->shutdown_grace_s);
    server = NULL;
    log_event(LOG_INFO, "serve.stopped", NULL);
    rc = 0;
out:
    http_server_stop(server, 0);
    col_batcher_stop(app.batcher);
    db_pool_free(app.pool);
    col_defs_free(app.defs);
    ins_registry_free(app.registry);
    col_token_cache_free(app.tokens);
    migrate_set_free(app.migrations);
    pthread_mutex_destroy(&app.migrations_lock);
    free(routes);
    free(conninfo);
    return rc;
}
