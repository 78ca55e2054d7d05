/*
 * server.c — col_serve(): configuration → database → HTTP server → wait for
 * a stop signal → graceful stop.
 *
 * The schema check runs as the database owner (it must see pending
 * migrations even before the application role exists); the pool that serves
 * requests connects as the less privileged application role, attune_app,
 * which may insert audit rows but never change or delete them (see
 * docs/access.md for how an external server is set up).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cluster.h"
#include "dash.h"
#include "ds.h"
#include "ds_attrition.h"
#include "ds_engage.h"
#include "ds_items.h"
#include "col_int.h"
#include "ins.h"
#include "log.h"

#define COL_APP_ROLE         "attune_app"
#define COL_SEAL_INTERVAL_MS 1000
#define COL_TLS_FILE_MAX     (1024 * 1024)

_Static_assert(offsetof(struct col_app, access) == 0,
               "access/ reads req->app as a struct acc_env: it must come first");
/* Group-commit writer threads (batch.c). One: the batches are larger and on
 * the 2-core development machine 1 writer took 10-15 % more submissions/s
 * than 2 or 3 (16 threads, 16 clients); PostgreSQL's own work for a batch
 * is what limits, and a second writer mostly splits the batches. */
#define COL_WRITERS 1
/* Connections the dashboards hold beyond the request threads' own: the
 * worker that rebuilds documents, and a streamed export or two. */
#define COL_DASH_CONNECTIONS 3

struct http_route *col_server_routes(size_t *n_out)
{
    const struct {
        const struct http_route *routes;
        size_t n;
    } tables[] = {
        {col_health_routes, col_health_routes_count},
        {col_participant_routes, col_participant_routes_count},
        {col_form_routes, col_form_routes_count},
        {col_fhir_routes, col_fhir_routes_count},
        {acc_routes, acc_routes_count},
        {dash_routes, dash_routes_count},
        {col_static_routes, col_static_routes_count},
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

/*
 * The connection string of the pool: app_database_url when set; on the
 * embedded cluster the owner's socket with user=attune_app (trust
 * authentication on a private socket); otherwise, for lack of anything
 * better, the owner's own URL, which *as_owner reports so that it is logged.
 */
static int col_app_conninfo(const struct cfg *cfg, const char *owner, char **out, int *as_owner,
                            struct err *e)
{
    *as_owner = 0;
    if (cfg->app_database_url != NULL)
        *out = strdup(cfg->app_database_url);
    else if (cfg->database_url != NULL) {
        *as_owner = 1;
        *out = strdup(owner);
    } else if (asprintf(out, "%s user=" COL_APP_ROLE, owner) < 0) {
        *out = NULL;
    }
    if (*out == NULL)
        return err_set(e, COL_EINIT, "out of memory");
    return 0;
}

/* Reads a PEM file whole (certificate or key), NUL-terminated. */
static int col_read_pem(const char *path, char **out, struct err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    if (f == NULL)
        return err_set(e, COL_EINIT, "could not open \"%s\": %s", path, strerror(errno));
    if ((buf = malloc(COL_TLS_FILE_MAX + 1)) == NULL) {
        fclose(f);
        return err_set(e, COL_EINIT, "out of memory");
    }
    n = fread(buf, 1, COL_TLS_FILE_MAX + 1, f);
    fclose(f);
    if (n == 0 || n > COL_TLS_FILE_MAX) {
        free(buf);
        return err_set(e, COL_EINIT, "\"%s\" is empty, unreadable or larger than 1 MB", path);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

int col_serve(const struct cfg *cfg, struct err *e)
{
    static const struct db_statement *const statement_tables[] = {
        col_statements,       acc_statements,     audit_statements,
        dash_statements,      ds_statements,      ds_attrition_statements,
        ds_engage_statements, ds_item_statements, NULL};
    struct col_app app;
    struct http_server_config hcfg;
    struct http_server *server = NULL;
    struct http_route *routes = NULL;
    struct acc_worker *worker = NULL;
    char *conninfo = NULL, *app_conninfo = NULL, *tls_cert = NULL, *tls_key = NULL;
    PGconn *probe = NULL;
    int as_owner = 0, access_ready = 0;
    sigset_t stop_signals;
    int sig = 0, rc;
    char q[512];

    memset(&app, 0, sizeof app);
    memset(&hcfg, 0, sizeof hcfg);
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
    if (col_defs_new(&app.defs) != 0) {
        rc = err_set(e, COL_EINIT, "out of memory");
        goto out;
    }
    if ((rc = col_app_conninfo(cfg, conninfo, &app_conninfo, &as_owner, e)) != 0)
        goto out;
    /* Fail now, with a clear message, rather than on the first request. */
    if ((rc = db_connect(app_conninfo, &probe, e)) != 0) {
        err_prefix(e, "connecting as the application role");
        err_hint(e, "Run \"attune migrate\" (it creates the role attune_app), or check "
                    "app_database_url; see docs/access.md.");
        goto out;
    }
    PQfinish(probe);
    probe = NULL;
    if (cfg->tls_cert != NULL && ((rc = col_read_pem(cfg->tls_cert, &tls_cert, e)) != 0 ||
                                  (rc = col_read_pem(cfg->tls_key, &tls_key, e)) != 0))
        goto out;
    /* The batch writers borrow connections too (COL_WRITERS more). */
    if ((rc = db_pool_new(app_conninfo, cfg->db_pool_size + COL_WRITERS + COL_DASH_CONNECTIONS,
                          statement_tables, &app.pool, e)) != 0)
        goto out;
    if ((rc = col_batcher_start(app.pool, COL_WRITERS, &app.batcher, e)) != 0)
        goto out;
    if ((rc = acc_env_init(&app.access, app.pool, cfg, tls_cert != NULL, e)) != 0)
        goto out;
    access_ready = 1;
    if ((rc = acc_worker_start(app.pool, COL_SEAL_INTERVAL_MS, &worker, e)) != 0)
        goto out;
    if ((rc = dash_start(app.pool, cfg, &app, cfg->dashboard_prewarm, &app.dash, e)) != 0)
        goto out;
    routes = col_server_routes(&hcfg.n_routes);
    if (routes == NULL) {
        rc = err_set(e, COL_EINIT, "out of memory");
        goto out;
    }
    hcfg.host = cfg->listen_host;
    hcfg.port = cfg->listen_port;
    hcfg.threads = cfg->threads;
    hcfg.connection_timeout_s = cfg->connection_timeout_s;
    hcfg.connection_limit = cfg->connection_limit;
    hcfg.ip_connection_limit = cfg->ip_connection_limit;
    hcfg.ip_limit_exempt = cfg->trusted_proxy;
    hcfg.max_body_bytes = cfg->max_body_bytes;
    hcfg.routes = routes;
    hcfg.authorize = acc_authorize;
    hcfg.observe = dash_observe;
    hcfg.app = &app;
    hcfg.tls_cert_pem = tls_cert;
    hcfg.tls_key_pem = tls_key;
    if ((rc = http_server_start(&hcfg, &server, e)) != 0)
        goto out;
    if (as_owner)
        log_event(LOG_WARN, "serve.role", "message=%s",
                  log_quote(q, sizeof q,
                            "serving as the database owner: set app_database_url to a login "
                            "role in attune_app so that the audit log is append-only for the "
                            "service (docs/access.md)"));
    log_event(LOG_INFO, "serve.start",
              "url=%s://%s:%d version=%s threads=%d db_pool=%d database=%s role=%s",
              tls_cert ? "https" : "http", cfg->listen_host, http_server_port(server),
              ATTUNE_VERSION, cfg->threads, cfg->db_pool_size,
              cfg->database_url ? "external" : "embedded",
              as_owner ? "owner" : (cfg->app_database_url ? "app_database_url" : COL_APP_ROLE));
    fprintf(stdout, "Attune is serving on %s://%s:%d/ (stop with Ctrl-C)\n",
            tls_cert ? "https" : "http",
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
    dash_stop(app.dash);
    col_batcher_stop(app.batcher);
    acc_worker_stop(worker);
    if (access_ready)
        acc_env_destroy(&app.access);
    if (probe != NULL)
        PQfinish(probe);
    db_pool_free(app.pool);
    col_defs_free(app.defs);
    ins_registry_free(app.registry);
    migrate_set_free(app.migrations);
    pthread_mutex_destroy(&app.migrations_lock);
    free(routes);
    free(conninfo);
    free(app_conninfo);
    if (tls_key != NULL) {
        memset(tls_key, 0, strlen(tls_key));
        free(tls_key);
    }
    free(tls_cert);
    return rc;
}
