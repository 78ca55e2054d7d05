/*
 * dash_int.h — dashboards/'s internals shared between its files: the
 * document builders and the cache that keeps their results, the study's data
 * version, small JSON and reply helpers, and the handlers routes.c lists.
 *
 * A document is what one dashboard section shows, built by one function from
 * the database (a struct dash_doc_kind). Its public part holds aggregates
 * only (viewers see it); its private part, when it has one, holds
 * participant-level rows (codes, individual scores) and is served only on
 * researcher routes, each read audited. Both parts are built together from
 * the same data, recorded as an analysis run, and cached under the study's
 * data version.
 */
#ifndef ATTUNE_DASH_INT_H
#define ATTUNE_DASH_INT_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "dash.h"
#include "db.h"
#include "err.h"
#include "http.h"

struct col_app;

/* ---- the study's data version (version.c) ---- */

/*
 * The newest sealed audit row of a data-changing action on the study
 * (response.create, event.create, participant.enroll|withdraw|erase,
 * alert.acknowledge, study.create): its seal number and time. Rows are
 * sealed in the order they became visible, within a second of their commit,
 * so the version moves whenever data arrive and never misses a late commit.
 */
struct dash_version {
    long long seq;       /* 0 before anything was sealed */
    char changed_at[40]; /* RFC 3339, or "" */
};

/* Reads the version on `conn`. Returns 0 or a db_status. */
int dash_version_read(PGconn *conn, const char *study, struct dash_version *out, struct err *e);

/* ---- documents and their cache (cache.c) ---- */

/* What a builder gets. */
struct dash_build {
    struct dash_app *dash;
    struct col_app *app;
    struct db_pool *pool;
    const struct cfg *cfg;
    const char *study;
    const char *param;           /* the instrument, for documents that take one; else NULL */
    struct dash_version version; /* read before the data: the document is at least this new */
};

/* What a builder makes: both parts are new references (private may stay NULL). */
struct dash_built {
    json_t *public_doc;
    json_t *private_doc;
};

struct dash_doc_kind {
    const char *name; /* "overview", "outcomes", ...: the cache key and the run kind suffix */
    int takes_param;  /* the instrument */
    int ttl_s;        /* rebuild at least this often, for statuses that change with time */
    int (*build)(const struct dash_build *b, struct dash_built *out, struct err *e);
};

extern const struct dash_doc_kind dash_doc_overview;
extern const struct dash_doc_kind dash_doc_alerts;
extern const struct dash_doc_kind dash_doc_outcomes;
extern const struct dash_doc_kind dash_doc_engagement;
extern const struct dash_doc_kind dash_doc_quality;

/* Which part of a document a route serves. */
enum dash_part {
    DASH_PUBLIC = 0,
    DASH_PRIVATE,
};

/*
 * Answers a request with a cached document: `{"meta": {...}, "data": doc}`,
 * building it first when there is none, or when it is older than the data
 * and cheap to rebuild; otherwise the last one at once, marked stale, while
 * the worker rebuilds it. A document still being built after a while is a
 * 503 `computing` with Retry-After. An unknown study is a 404.
 */
void dash_reply_doc(struct http_request *req, struct http_reply *rep,
                    const struct dash_doc_kind *kind, const char *param, enum dash_part part);

/*
 * Answers with the private part of a document, after auditing the read as a
 * participant-level list ("participant.list" on "study:<study>/<kind>"): if
 * the audit row cannot be written, no participant-level data leaves.
 */
void dash_reply_private_doc(struct http_request *req, struct http_reply *rep,
                            const struct dash_doc_kind *kind, const char *param);

/*
 * Marks the cached documents of `kind` for `study` stale, whatever their
 * version (the intake counts change without a data version).
 */
void dash_cache_invalidate(struct dash_app *d, const struct dash_doc_kind *kind, const char *study);

/* Queues a document for the worker to build (prewarming). */
void dash_cache_enqueue(struct dash_app *d, const struct dash_doc_kind *kind, const char *study,
                        const char *param);

/* The module's state: the cache, the worker, the intake counts. */
struct dash_intake;
struct dash_cache;
struct dash_app {
    struct db_pool *pool;
    const struct cfg *cfg;
    struct col_app *app;
    struct dash_cache *cache;
    struct dash_intake *intake;
    pthread_t worker;
    int worker_started;
    int prewarm;
};

/* The dashboards of an authorised request (req->app is a struct col_app). */
struct dash_app *dash_of(const struct http_request *req);

/* ---- intake counts (intake.c) ---- */

int dash_intake_new(struct dash_intake **out);
void dash_intake_free(struct dash_intake *in);

/*
 * Writes the counts gathered so far to intake_outcomes (the worker, every few
 * seconds), then calls `touched` once for each study whose counts changed.
 */
int dash_intake_flush(struct dash_intake *in, struct db_pool *pool,
                      void (*touched)(void *ctx, const char *study), void *ctx, struct err *e);

/* ---- shared by the builders (common.c) ---- */

/* A JSON number, or null when not finite. */
json_t *dash_num(double v);

/* [lo, hi], nulls for what is not finite. */
json_t *dash_ci(double lo, double hi);

/* A whole number from a text column. */
long long dash_ll(const PGresult *res, int row, int col);

/* A number from a text column; NaN for NULL. */
double dash_dbl(const PGresult *res, int row, int col);

/* A text column, or NULL for SQL NULL (borrowed from res). */
const char *dash_str(const PGresult *res, int row, int col);

/*
 * Runs a named statement on a connection borrowed from the pool for just this
 * query. As db_query (rows or a db_status).
 */
int dash_query(struct db_pool *pool, const char *name, int nparams, const char *const *params,
               PGresult **out, struct err *e);

/* Answers 503 or 500 for a failed query (logged once), 404 for DASH_ENOTFOUND. */
void dash_reply_error(struct http_request *req, struct http_reply *rep, int rc,
                      const struct err *e);

/*
 * The study's instrument to show: `param` when the study schedules it, else
 * the instrument with the most scheduled weeks (the weekly outcome), filling
 * `out` (at least 64 bytes). DASH_ENOTFOUND when the study schedules none of
 * them or does not exist.
 */
int dash_pick_instrument(PGconn *conn, const char *study, const char *param, char *out, size_t size,
                         struct err *e);

/*
 * The instrument's facts for charts: title, the total's possible range and
 * severity bands, its scheduled weeks in the study. A new reference.
 */
int dash_instrument_json(struct col_app *app, PGconn *conn, const char *study,
                         const char *instrument, json_t **out, struct err *e);

/*
 * Records a run of `kind` on the study: the document (borrowed) as its
 * result, `options` (borrowed), the fingerprint of its input and the
 * instrument versions. Writes the run's id into run_id.
 */
int dash_record_run(struct db_pool *pool, const char *study, const char *kind, json_t *options,
                    const char *fingerprint, json_t *versions, json_t *result, char run_id[37],
                    struct err *e);

/*
 * Whether item k of `total` is in an even, deterministic sample of at most
 * `max`: all when total <= max, else the items where floor(k max / total)
 * steps up (for the points of a scatter on a large study; the statistics
 * always use everyone).
 */
int dash_sample_keep(size_t k, size_t total, size_t max);

/* Points drawn per arm in scatters and trajectories, at most. */
#define DASH_POINTS_PER_ARM 3000

/* Hex SHA-256 of a text (65 bytes with the NUL). */
void dash_sha256_hex(const char *text, size_t len, char out[65]);

/* A query parameter as a whole number within [lo, hi]; `deflt` when absent; -1 when bad. */
long dash_query_long(const struct http_request *req, const char *name, long deflt, long lo,
                     long hi);

/* Appends an audit row of a participant-level read (its own transaction). */
int dash_audit_read(const struct http_request *req, const char *action, const char *target,
                    json_t *detail, struct err *e);

/* ---- handlers (each file's) ---- */

void dash_api_changes(struct http_request *req, struct http_reply *rep);
void dash_api_studies(struct http_request *req, struct http_reply *rep);
void dash_api_overview(struct http_request *req, struct http_reply *rep);
void dash_api_completion(struct http_request *req, struct http_reply *rep);
void dash_api_alerts(struct http_request *req, struct http_reply *rep);
void dash_api_acknowledge(struct http_request *req, struct http_reply *rep);
void dash_api_outcomes(struct http_request *req, struct http_reply *rep);
void dash_api_outcomes_individual(struct http_request *req, struct http_reply *rep);
void dash_api_engagement(struct http_request *req, struct http_reply *rep);
void dash_api_engagement_points(struct http_request *req, struct http_reply *rep);
void dash_api_quality(struct http_request *req, struct http_reply *rep);
void dash_api_quality_participants(struct http_request *req, struct http_reply *rep);
void dash_api_timeline(struct http_request *req, struct http_reply *rep);

void dash_export_long(struct http_request *req, struct http_reply *rep);
void dash_export_wide(struct http_request *req, struct http_reply *rep);
void dash_export_codebook(struct http_request *req, struct http_reply *rep);
void dash_export_events(struct http_request *req, struct http_reply *rep);
void dash_export_analysis(struct http_request *req, struct http_reply *rep);
void dash_export_report(struct http_request *req, struct http_reply *rep);
void dash_export_report_html(struct http_request *req, struct http_reply *rep);
void dash_export_report_json(struct http_request *req, struct http_reply *rep);
void dash_report_css(struct http_request *req, struct http_reply *rep);

void dash_page(struct http_request *req, struct http_reply *rep);
void dash_vendor_chart(struct http_request *req, struct http_reply *rep);

#endif
