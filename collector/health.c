/*
 * health.c — /healthz (the process answers), /readyz (the database is
 * reachable and fully migrated) and the landing page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "log.h"

int col_app_ready(struct col_app *app, int *applied, struct err *e)
{
    int rc = DB_EUNAVAILABLE;

    /* Two tries: the first may find a connection the server dropped while it
     * restarted; the pool reopens it for the second. */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *conn = db_pool_acquire(app->pool, 2000, e);
        if (conn == NULL) {
            rc = e ? e->code : DB_EUNAVAILABLE;
            continue;
        }
        pthread_mutex_lock(&app->migrations_lock);
        rc = migrate_check(conn, app->migrations, e);
        if (rc == 0 && app->migrations->n_pending > 0) {
            char names[256];
            migrate_pending_names(app->migrations, names, sizeof names);
            rc = err_set(e, COL_EPENDING, "migrations pending: %s", names);
        } else if (rc == MIGRATE_EDB) {
            rc = PQstatus(conn) == CONNECTION_OK ? DB_EHARD : DB_EUNAVAILABLE;
        }
        *applied = (int)(app->migrations->n - app->migrations->n_pending);
        pthread_mutex_unlock(&app->migrations_lock);
        db_pool_release(app->pool, conn);
        if (rc != DB_EUNAVAILABLE)
            break;
    }
    return rc;
}

static void col_healthz(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = req->app;

    http_reply_json(rep, 200,
                    json_pack("{s:s, s:s, s:I}", "status", "alive", "version", ATTUNE_VERSION,
                              "uptime_s", (json_int_t)(time(NULL) - app->started)));
}

static void col_readyz(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = req->app;
    struct err e;
    int applied = 0;
    struct db_pool_stats stats;

    err_clear(&e);
    if (col_app_ready(app, &applied, &e) != 0) {
        http_problem(rep, 503, "not-ready", "Service Unavailable", NULL, "%s", e.message);
        http_reply_header(rep, "Retry-After", "5");
        return;
    }
    db_pool_stats(app->pool, &stats);
    http_reply_json(rep, 200,
                    json_pack("{s:s, s:s, s:{s:i, s:i}, s:{s:i, s:i, s:i}}", "status", "ready",
                              "database", "ok", "migrations", "applied", applied, "pending", 0,
                              "pool", "size", stats.size, "open", stats.open, "busy", stats.busy));
}

/* Until a study exists the landing page says so and points to the docs. */
static void col_landing(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = req->app;
    PGconn *conn;
    struct err e;
    PGresult *res = NULL;
    long studies = -1;
    char *html = NULL;
    int n;

    err_clear(&e);
    conn = db_pool_acquire(app->pool, 2000, &e);
    if (conn != NULL) {
        if (db_query(conn, "col_count_studies", 0, NULL, &res, &e) == 1)
            studies = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        db_pool_release(app->pool, conn);
    }
    n = asprintf(&html,
                 "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>Attune</title></head><body><main><h1>Attune</h1>"
                 "<p>The collector is running (version %s).</p><p>%s</p>"
                 "<p><a href=\"/login\">Sign in</a> (researchers)</p>"
                 "<p>Health: <a href=\"/healthz\">/healthz</a> · "
                 "readiness: <a href=\"/readyz\">/readyz</a></p></main></body></html>",
                 ATTUNE_VERSION,
                 studies < 0    ? "The database cannot be reached right now."
                 : studies == 0 ? "No study has been created yet."
                                : "Studies are set up; sign in to see them.");
    if (n < 0) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    http_reply_take(rep, 200, "text/html; charset=utf-8", html, (size_t)n);
}

/* Browsers ask for /favicon.ico on their own; an empty answer keeps their
 * consoles free of 404s without shipping an icon. */
static void col_favicon(struct http_request *req, struct http_reply *rep)
{
    (void)req;
    http_reply_bytes(rep, 204, NULL, "", 0);
    http_reply_header(rep, "Cache-Control", "public, max-age=86400");
}

const struct http_route col_health_routes[] = {
    {"GET", "/favicon.ico", 0, HTTP_BODY_NONE, 0, col_favicon, "no icon (204)"},
    {"GET", "/healthz", 0, HTTP_BODY_NONE, 0, col_healthz, "process is alive"},
    {"GET", "/readyz", 0, HTTP_BODY_NONE, 0, col_readyz, "database reachable and migrated"},
    {"GET", "/", 0, HTTP_BODY_NONE, 0, col_landing, "landing page"},
};
const size_t col_health_routes_count = sizeof col_health_routes / sizeof col_health_routes[0];
