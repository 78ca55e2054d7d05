/*
 * baseline.c — the comparison server for bench/collector.py: the least a
 * libmicrohttpd + libpq service can do to take the same requests in, and
 * nothing of Attune's code. It parses each JSON body with jansson (to be a
 * fair minimum, as any service must), then
 *   POST /submit  inserts one row per submission (its id, the body as jsonb)
 *   POST /events  inserts the whole batch with one multi-row statement
 *                 (jsonb_to_recordset), ON CONFLICT DO NOTHING
 * in autocommit, on one PostgreSQL connection per worker thread, with
 * synchronous commit as configured on the server: what it acknowledges is
 * on disk, as for the collector. No validation, no authentication, no
 * scoring.
 *
 *   baseline CONNINFO PORT THREADS
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#define MAX_BODY (8 * 1024 * 1024)

static const char *conninfo;
static __thread PGconn *thread_conn;

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS bench_submissions (id uuid PRIMARY KEY, body jsonb NOT NULL,"
    " received_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS bench_events (id uuid NOT NULL, type text NOT NULL,"
    " at timestamptz NOT NULL, duration_s float8, props jsonb,"
    " received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (at, id));";

static PGconn *conn_get(void)
{
    if (thread_conn != NULL && PQstatus(thread_conn) == CONNECTION_OK)
        return thread_conn;
    if (thread_conn != NULL)
        PQfinish(thread_conn);
    thread_conn = PQconnectdb(conninfo);
    if (PQstatus(thread_conn) != CONNECTION_OK)
        return NULL;
    PQclear(PQprepare(thread_conn, "submit",
                      "INSERT INTO bench_submissions (id, body) VALUES ($1::uuid, $2::jsonb)"
                      " ON CONFLICT DO NOTHING",
                      0, NULL));
    PQclear(PQprepare(thread_conn, "events",
                      "INSERT INTO bench_events (id, type, at, duration_s, props)"
                      " SELECT id, type, at, duration_s, props FROM jsonb_to_recordset($1::jsonb)"
                      " AS b(id uuid, type text, at timestamptz, duration_s float8, props jsonb)"
                      " ON CONFLICT DO NOTHING",
                      0, NULL));
    return thread_conn;
}

struct body {
    char *data;
    size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct body *b = *con_cls;
    json_t *root;
    PGconn *conn;
    PGresult *res;
    int ok;

    (void)cls;
    (void)version;
    if (b == NULL) {
        b = calloc(1, sizeof *b);
        *con_cls = b;
        return b ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        char *grown;
        if (b->len + *upload_size > MAX_BODY)
            return MHD_NO;
        grown = realloc(b->data, b->len + *upload_size + 1);
        if (grown == NULL)
            return MHD_NO;
        b->data = grown;
        memcpy(b->data + b->len, upload, *upload_size);
        b->len += *upload_size;
        b->data[b->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0 || b->data == NULL)
        return reply(c, 404, "{}");
    root = json_loadb(b->data, b->len, 0, NULL);
    if (root == NULL)
        return reply(c, 400, "{\"error\":\"json\"}");
    conn = conn_get();
    if (conn == NULL) {
        json_decref(root);
        return reply(c, 503, "{}");
    }
    if (strcmp(url, "/submit") == 0) {
        const char *params[2] = {json_string_value(json_object_get(root, "id")), b->data};
        res = PQexecPrepared(conn, "submit", 2, params, NULL, NULL, 0);
    } else if (strcmp(url, "/events") == 0) {
        const char *params[1] = {b->data};
        res = PQexecPrepared(conn, "events", 1, params, NULL, NULL, 0);
    } else {
        json_decref(root);
        return reply(c, 404, "{}");
    }
    json_decref(root);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? reply(c, 201, "{\"ok\":true}") : reply(c, 500, "{}");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct body *b = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (b != NULL) {
        free(b->data);
        free(b);
    }
    *con_cls = NULL;
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *d;
    PGconn *setup;
    sigset_t set;
    int sig;

    if (argc != 4) {
        fprintf(stderr, "usage: baseline CONNINFO PORT THREADS\n");
        return 2;
    }
    conninfo = argv[1];
    setup = PQconnectdb(conninfo);
    if (PQstatus(setup) != CONNECTION_OK) {
        fprintf(stderr, "baseline: %s", PQerrorMessage(setup));
        return 1;
    }
    PQclear(PQexec(setup, schema_sql));
    PQfinish(setup);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)atoi(argv[2]),
                         NULL, NULL, handle, NULL, MHD_OPTION_THREAD_POOL_SIZE,
                         (unsigned)atoi(argv[3]), MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "baseline: could not listen on port %s\n", argv[2]);
        return 1;
    }
    printf("baseline listening on %s\n", argv[2]);
    fflush(stdout);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
