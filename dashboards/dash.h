/*
 * dash.h — the study dashboards: the pages researchers open in a browser,
 * the JSON endpoints behind them, the streamed exports, and the intake
 * counts the data-quality page reads.
 *
 * `attune serve` starts the module with dash_start() (collector/server.c),
 * puts dash_routes in its route table, prepares dash_statements on every
 * pooled connection, and installs dash_observe() as the HTTP server's
 * observer so that every participant submission is counted by outcome.
 *
 * Numbers are never computed here: the documents are built from the
 * datasets/ loaders and the analysis/ functions that `attune analyze` and
 * `attune report` use, recorded as analysis runs, and kept in a cache keyed
 * by the study's data version (docs/dashboards.md, "Performance").
 */
#ifndef ATTUNE_DASH_H
#define ATTUNE_DASH_H

#include <stddef.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "http.h"

enum {
    DASH_EINIT = -60,     /* a thread, a lock or memory could not be had */
    DASH_ENOTFOUND = -61, /* no such study, instrument, participant or response */
    DASH_EINVAL = -62,    /* a bad parameter */
    DASH_EDATA = -63,     /* the data cannot support the document (no scores yet, say) */
};

struct dash_app;

/*
 * Starts the dashboards: the document cache and the background worker that
 * refreshes documents and writes the intake counts. `pool`, `cfg` and `app`
 * (the server's application context, a struct col_app) are borrowed and must
 * outlive the module. With `prewarm`, the worker builds every study's main
 * documents at once, so that the first page view of a large study does not
 * wait for them.
 */
int dash_start(struct db_pool *pool, const struct cfg *cfg, void *app, int prewarm,
               struct dash_app **out, struct err *e);

/* Stops the worker (writing the last intake counts) and frees. NULL-safe. */
void dash_stop(struct dash_app *d);

/*
 * The HTTP server's observer (struct http_server_config.observe): counts a
 * participant submission's outcome (stored, retried, refused and why) by
 * study. Cheap and lock-short; the counts reach the database from the worker.
 * `app` is the server's application context, as in req->app.
 */
void dash_observe(const struct http_request *req, const struct http_reply *rep);

/* The routes (routes.c): pages, JSON endpoints, exports. */
extern const struct http_route dash_routes[];
extern const size_t dash_routes_count;

/* The module's SQL (statements.c); prepare on every pooled connection. */
extern const struct db_statement dash_statements[];

#endif
