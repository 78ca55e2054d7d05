/*
 * cache.c — the dashboards' documents, kept between requests, and the
 * worker thread that rebuilds them.
 *
 * Why a cache: a document of a 100,000-participant study (the mixed model,
 * the attrition flow over 1.5 million scheduled questionnaires, engagement
 * from 8 million events) takes seconds to build, and every page polls. A
 * document is built once per data version and served from memory until the
 * study's data change (dash_version_read: the newest sealed audit row of a
 * data-changing action) or its time-to-live runs out (statuses such as
 * "open" become "missed" with time alone).
 *
 * The policy, per document (kind, study, instrument):
 *   - fresh (same version, within its TTL): served from memory;
 *   - stale and cheap to build (its last build took under DASH_SYNC_MS):
 *     rebuilt in the request, so that small studies always show the latest
 *     data at once;
 *   - stale and expensive: the last document is served at once, marked
 *     stale, and the worker rebuilds it; the page polls and picks up the new
 *     one (stale-while-revalidate);
 *   - none yet: built in the request, or waited for when another request or
 *     the worker is building it (single flight), for up to DASH_WAIT_MS;
 *     after that a 503 `computing` with Retry-After.
 *
 * Entries are few (studies × document kinds × instruments) and bounded by
 * DASH_MAX_ENTRIES, the least recently used evicted first. One mutex guards
 * the table; builds run outside it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "access.h"
#include "audit.h"
#include "collector.h"
#include "dash_int.h"
#include "log.h"

#define DASH_SYNC_MS       300.0 /* builds this cheap happen in the request */
#define DASH_WAIT_MS       20000 /* how long a request waits for a build in progress */
#define DASH_MAX_ENTRIES   512
#define DASH_FLUSH_EVERY_S 5
#define DASH_MIN_GAP_S     10.0 /* see dash_rebuild_gap() */

struct dash_entry {
    const struct dash_doc_kind *kind;
    char study[64];
    char param[64];
    char *pub, *priv; /* serialised documents, or NULL */
    size_t pub_len, priv_len;
    struct dash_version version; /* of the data the documents were built from */
    char built_at[40];
    double built_mono; /* seconds, CLOCK_MONOTONIC */
    double build_ms;
    double used_mono;
    int building, queued;
    int last_rc; /* of the last build: 0 or an error code */
    struct err last_err;
    struct dash_entry *next;
    struct dash_entry *qnext;
};

struct dash_cache {
    pthread_mutex_t mu;
    pthread_cond_t built; /* broadcast when a build ends */
    pthread_cond_t work;  /* wakes the worker */
    struct dash_entry *entries;
    size_t n;
    struct dash_entry *qhead, *qtail;
    int stop;
};

/* Logs a failure of the worker's (one line, the message quoted). */
static void dash_log_error(const char *event, const struct err *e)
{
    char q[512];
    log_event(LOG_WARN, event, "message=%s", log_quote(q, sizeof q, e->message));
}

static double dash_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dash_now_rfc3339(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;
    char base[32];

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03dZ", base, (int)(tv.tv_usec / 1000));
}

static void dash_entry_free(struct dash_entry *x)
{
    if (x == NULL)
        return;
    free(x->pub);
    free(x->priv);
    free(x);
}

/* Finds or adds the entry (with the lock held). NULL when out of memory. */
static struct dash_entry *dash_entry_get(struct dash_cache *c, const struct dash_doc_kind *kind,
                                         const char *study, const char *param)
{
    struct dash_entry *x, **pp, **victim = NULL;

    for (x = c->entries; x != NULL; x = x->next)
        if (x->kind == kind && strcmp(x->study, study) == 0 &&
            strcmp(x->param, param ? param : "") == 0)
            return x;
    if (c->n >= DASH_MAX_ENTRIES) {
        for (pp = &c->entries; *pp != NULL; pp = &(*pp)->next)
            if (!(*pp)->building && !(*pp)->queued &&
                (victim == NULL || (*pp)->used_mono < (*victim)->used_mono))
                victim = pp;
        if (victim != NULL) {
            x = *victim;
            *victim = x->next;
            dash_entry_free(x);
            c->n--;
        }
    }
    if ((x = calloc(1, sizeof *x)) == NULL)
        return NULL;
    x->kind = kind;
    snprintf(x->study, sizeof x->study, "%s", study);
    snprintf(x->param, sizeof x->param, "%s", param ? param : "");
    x->next = c->entries;
    c->entries = x;
    c->n++;
    return x;
}

/*
 * How long an expensive document is served stale before the worker builds it
 * again: at least DASH_MIN_GAP_S, and twice its last build, so that a study
 * taking data every second does not keep the worker (and a database
 * connection) busy rebuilding one document.
 */
static double dash_rebuild_gap(const struct dash_entry *x)
{
    double twice = 2 * x->build_ms / 1e3;
    return twice > DASH_MIN_GAP_S ? twice : DASH_MIN_GAP_S;
}

/* Queues an entry for the worker (lock held). */
static void dash_queue_locked(struct dash_cache *c, struct dash_entry *x)
{
    if (x->queued || x->building)
        return;
    x->queued = 1;
    x->qnext = NULL;
    if (c->qtail != NULL)
        c->qtail->qnext = x;
    else
        c->qhead = x;
    c->qtail = x;
    pthread_cond_signal(&c->work);
}

static char *dash_dump(json_t *doc, size_t *len)
{
    char *s;

    if (doc == NULL) {
        *len = 0;
        return NULL;
    }
    s = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
    *len = s ? strlen(s) : 0;
    return s;
}

/*
 * Builds entry x (marked building by the caller, lock not held) from data at
 * least as new as `v`, and stores the result under the lock.
 */
static void dash_build_entry(struct dash_app *d, struct dash_entry *x, const struct dash_version *v)
{
    struct dash_cache *c = d->cache;
    struct dash_build b = {d, d->app, d->pool, d->cfg, x->study, x->param[0] ? x->param : NULL, *v};
    struct dash_built out = {NULL, NULL};
    struct err e;
    char *pub = NULL, *priv = NULL;
    size_t pub_len = 0, priv_len = 0;
    double t0 = dash_mono(), ms;
    int rc;
    char q[512];

    err_clear(&e);
    rc = x->kind->build(&b, &out, &e);
    if (rc == 0) {
        pub = dash_dump(out.public_doc, &pub_len);
        priv = dash_dump(out.private_doc, &priv_len);
        if (pub == NULL || (out.private_doc != NULL && priv == NULL)) {
            free(pub);
            free(priv);
            pub = priv = NULL;
            rc = err_set(&e, DASH_EINIT, "out of memory");
        }
    }
    json_decref(out.public_doc);
    json_decref(out.private_doc);
    ms = (dash_mono() - t0) * 1e3;
    if (rc != 0 && rc != DASH_ENOTFOUND)
        log_event(LOG_WARN, "dash.build", "kind=%s study=%s ms=%.1f message=%s", x->kind->name,
                  x->study, ms, log_quote(q, sizeof q, e.message));
    else
        log_event(LOG_INFO, "dash.build",
                  "kind=%s study=%s param=%s ms=%.1f version=%lld bytes=%zu", x->kind->name,
                  x->study, x->param[0] ? x->param : "-", ms, v->seq, pub_len);

    pthread_mutex_lock(&c->mu);
    x->building = 0;
    x->last_rc = rc;
    x->last_err = e;
    if (rc == 0) {
        free(x->pub);
        free(x->priv);
        x->pub = pub;
        x->pub_len = pub_len;
        x->priv = priv;
        x->priv_len = priv_len;
        x->version = *v;
        x->build_ms = ms;
        x->built_mono = dash_mono();
        dash_now_rfc3339(x->built_at, sizeof x->built_at);
    }
    pthread_cond_broadcast(&c->built);
    pthread_mutex_unlock(&c->mu);
}

/* The version now, on a connection of its own for a moment. */
static int dash_version_now(struct db_pool *pool, const char *study, struct dash_version *v,
                            struct err *e)
{
    PGconn *conn = db_pool_acquire(pool, 2000, e);
    int rc;

    if (conn == NULL)
        return e->code;
    rc = dash_version_read(conn, study, v, e);
    db_pool_release(pool, conn);
    return rc;
}

/* What a request takes out of an entry under the lock. */
struct dash_copy {
    char *body;
    size_t len;
    struct dash_version version;
    char built_at[40];
    double build_ms;
    double age_s;
};

static int dash_copy_out(const struct dash_entry *x, enum dash_part part, struct dash_copy *out)
{
    const char *src = part == DASH_PRIVATE ? x->priv : x->pub;
    size_t len = part == DASH_PRIVATE ? x->priv_len : x->pub_len;

    if (src == NULL)
        return -1;
    if ((out->body = malloc(len + 1)) == NULL)
        return -1;
    memcpy(out->body, src, len + 1);
    out->len = len;
    out->version = x->version;
    snprintf(out->built_at, sizeof out->built_at, "%s", x->built_at);
    out->build_ms = x->build_ms;
    out->age_s = dash_mono() - x->built_mono;
    return 0;
}

static void dash_send(struct http_request *req, struct http_reply *rep,
                      const struct dash_doc_kind *kind, const char *study, const char *param,
                      const struct dash_copy *cp, const struct dash_version *now)
{
    int stale = cp->version.seq != now->seq || cp->age_s > kind->ttl_s;
    json_t *meta =
        json_pack("{s:s, s:s, s:s?, s:I, s:I, s:b, s:s, s:f, s:s?, s:s?}", "kind", kind->name,
                  "study", study, "instrument", param, "version", (json_int_t)cp->version.seq,
                  "current_version", (json_int_t)now->seq, "stale", stale, "built_at", cp->built_at,
                  "build_ms", round(cp->build_ms * 10) / 10, "data_changed_at",
                  cp->version.changed_at[0] ? cp->version.changed_at : NULL, "current_changed_at",
                  now->changed_at[0] ? now->changed_at : NULL);
    char *mtext = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    char *body = NULL;
    int n;

    json_decref(meta);
    if (mtext == NULL) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    n = asprintf(&body, "{\"meta\":%s,\"data\":%s}", mtext, cp->body);
    free(mtext);
    if (n < 0) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    (void)req;
    http_reply_take(rep, 200, "application/json", body, (size_t)n);
}

/* A safe instrument id from the query (attune_key), or NULL. */
static int dash_param_ok(const char *p)
{
    size_t n = p ? strlen(p) : 0;

    if (n == 0 || n > 63 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
              p[i] == '-'))
            return 0;
    return 1;
}

void dash_reply_doc(struct http_request *req, struct http_reply *rep,
                    const struct dash_doc_kind *kind, const char *param, enum dash_part part)
{
    struct dash_app *d = dash_of(req);
    struct dash_cache *c = d->cache;
    const char *study = http_path_param(req, "study");
    struct dash_version now;
    struct dash_copy cp = {0};
    struct dash_entry *x;
    char instrument[64] = "";
    struct err e;
    PGconn *conn;
    int rc = 0, have = 0;

    err_clear(&e);
    if (param != NULL && !dash_param_ok(param)) {
        http_problem(rep, 400, "invalid-query", NULL,
                     json_pack("[{s:s, s:s}]", "pointer", "/query/instrument", "message",
                               "not an instrument id"),
                     "The instrument must be an instrument id such as gad7.");
        return;
    }
    if ((conn = db_pool_acquire(d->pool, 2000, &e)) == NULL) {
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    rc = dash_version_read(conn, study, &now, &e);
    if (rc == 0 && kind->takes_param)
        rc = dash_pick_instrument(conn, study, param, instrument, sizeof instrument, &e);
    db_pool_release(d->pool, conn);
    if (rc != 0) {
        dash_reply_error(req, rep, rc, &e);
        return;
    }

    pthread_mutex_lock(&c->mu);
    if ((x = dash_entry_get(c, kind, study, kind->takes_param ? instrument : NULL)) == NULL) {
        pthread_mutex_unlock(&c->mu);
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    x->used_mono = dash_mono();
    if (x->pub != NULL) {
        int fresh = x->version.seq == now.seq && dash_mono() - x->built_mono <= x->kind->ttl_s;
        if (fresh || x->building || x->build_ms > DASH_SYNC_MS) {
            if (!fresh && dash_mono() - x->built_mono >= dash_rebuild_gap(x))
                dash_queue_locked(c, x);
            have = dash_copy_out(x, part, &cp) == 0;
            pthread_mutex_unlock(&c->mu);
            goto send;
        }
    }
    if (x->building) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += DASH_WAIT_MS / 1000;
        while (x->building && pthread_cond_timedwait(&c->built, &c->mu, &until) == 0)
            ;
        if (x->building && x->pub == NULL) {
            pthread_mutex_unlock(&c->mu);
            http_problem(rep, 503, "computing", "Service Unavailable", NULL,
                         "The %s of study \"%s\" is still being computed; try again shortly.",
                         kind->name, study);
            http_reply_header(rep, "Retry-After", "5");
            return;
        }
    } else {
        x->building = 1;
        pthread_mutex_unlock(&c->mu);
        dash_build_entry(d, x, &now);
        pthread_mutex_lock(&c->mu);
    }
    rc = x->last_rc;
    e = x->last_err;
    have = dash_copy_out(x, part, &cp) == 0;
    pthread_mutex_unlock(&c->mu);
    if (!have && rc != 0) {
        dash_reply_error(req, rep, rc, &e);
        return;
    }
send:
    if (!have) {
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    dash_send(req, rep, kind, study, kind->takes_param ? instrument : NULL, &cp, &now);
    free(cp.body);
}

void dash_reply_private_doc(struct http_request *req, struct http_reply *rep,
                            const struct dash_doc_kind *kind, const char *param)
{
    const char *study = http_path_param(req, "study");
    struct err e;

    err_clear(&e);
    if (dash_audit_read(req, "participant.list",
                        arena_printf(req->arena, "study:%s/%s", study, kind->name), NULL,
                        &e) != 0) {
        dash_reply_error(req, rep, e.code, &e);
        return;
    }
    dash_reply_doc(req, rep, kind, param, DASH_PRIVATE);
}

void dash_cache_invalidate(struct dash_app *d, const struct dash_doc_kind *kind, const char *study)
{
    struct dash_cache *c = d->cache;

    pthread_mutex_lock(&c->mu);
    for (struct dash_entry *x = c->entries; x != NULL; x = x->next)
        if (x->kind == kind && strcmp(x->study, study) == 0)
            x->version.seq = -1;
    pthread_mutex_unlock(&c->mu);
}

/* New intake counts: the study's data-quality document shows them. */
static void dash_intake_touched(void *ctx, const char *study)
{
    dash_cache_invalidate(ctx, &dash_doc_quality, study);
}

void dash_cache_enqueue(struct dash_app *d, const struct dash_doc_kind *kind, const char *study,
                        const char *param)
{
    struct dash_cache *c = d->cache;
    struct dash_entry *x;

    pthread_mutex_lock(&c->mu);
    if ((x = dash_entry_get(c, kind, study, param)) != NULL)
        dash_queue_locked(c, x);
    pthread_mutex_unlock(&c->mu);
}

/* Queues every study's main documents (at start, with prewarm). */
static void dash_prewarm(struct dash_app *d)
{
    static const struct dash_doc_kind *const kinds[] = {&dash_doc_overview, &dash_doc_outcomes,
                                                        &dash_doc_engagement, &dash_doc_quality,
                                                        &dash_doc_alerts};
    PGresult *res = NULL;
    struct err e;
    PGconn *conn;
    int n;

    err_clear(&e);
    n = dash_query(d->pool, "dash_study_ids", 0, NULL, &res, &e);
    if (n < 0) {
        dash_log_error("dash.prewarm", &e);
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *study = PQgetvalue(res, i, 0);
        char instrument[64] = "";
        if ((conn = db_pool_acquire(d->pool, 2000, &e)) == NULL)
            break;
        if (dash_pick_instrument(conn, study, NULL, instrument, sizeof instrument, &e) != 0)
            instrument[0] = '\0';
        db_pool_release(d->pool, conn);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            if (kinds[k]->takes_param && instrument[0] == '\0')
                continue;
            dash_cache_enqueue(d, kinds[k], study, kinds[k]->takes_param ? instrument : NULL);
        }
    }
    PQclear(res);
}

static void *dash_worker(void *arg)
{
    struct dash_app *d = arg;
    struct dash_cache *c = d->cache;
    double last_flush = dash_mono();

    if (d->prewarm)
        dash_prewarm(d);
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct dash_entry *x = c->qhead;
        if (x != NULL) {
            struct dash_version v;
            struct err e;
            c->qhead = x->qnext;
            if (c->qhead == NULL)
                c->qtail = NULL;
            x->queued = 0;
            if (x->building)
                continue;
            x->building = 1;
            pthread_mutex_unlock(&c->mu);
            err_clear(&e);
            if (dash_version_now(d->pool, x->study, &v, &e) == 0) {
                dash_build_entry(d, x, &v);
            } else {
                pthread_mutex_lock(&c->mu);
                x->building = 0;
                pthread_cond_broadcast(&c->built);
                pthread_mutex_unlock(&c->mu);
            }
            pthread_mutex_lock(&c->mu);
        } else {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&c->work, &c->mu, &until);
        }
        if (dash_mono() - last_flush >= DASH_FLUSH_EVERY_S) {
            struct err e;
            pthread_mutex_unlock(&c->mu);
            err_clear(&e);
            if (dash_intake_flush(d->intake, d->pool, dash_intake_touched, d, &e) != 0)
                dash_log_error("dash.intake", &e);
            last_flush = dash_mono();
            pthread_mutex_lock(&c->mu);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int dash_start(struct db_pool *pool, const struct cfg *cfg, void *app, int prewarm,
               struct dash_app **out, struct err *e)
{
    struct dash_app *d = calloc(1, sizeof *d);
    struct dash_cache *c = calloc(1, sizeof *c);

    if (d == NULL || c == NULL || dash_intake_new(&d->intake) != 0) {
        free(d);
        free(c);
        return err_set(e, DASH_EINIT, "out of memory");
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->built, NULL);
    pthread_cond_init(&c->work, NULL);
    d->pool = pool;
    d->cfg = cfg;
    d->app = app;
    d->cache = c;
    d->prewarm = prewarm;
    if (pthread_create(&d->worker, NULL, dash_worker, d) != 0) {
        dash_stop(d);
        return err_set(e, DASH_EINIT, "could not start the dashboards' worker thread");
    }
    d->worker_started = 1;
    *out = d;
    return 0;
}

void dash_stop(struct dash_app *d)
{
    struct dash_cache *c;
    struct err e;

    if (d == NULL)
        return;
    c = d->cache;
    if (d->worker_started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->work);
        pthread_mutex_unlock(&c->mu);
        pthread_join(d->worker, NULL);
        err_clear(&e);
        if (dash_intake_flush(d->intake, d->pool, NULL, NULL, &e) != 0)
            dash_log_error("dash.intake", &e);
    }
    while (c->entries != NULL) {
        struct dash_entry *x = c->entries;
        c->entries = x->next;
        dash_entry_free(x);
    }
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->built);
    pthread_mutex_destroy(&c->mu);
    free(c);
    dash_intake_free(d->intake);
    free(d);
}
