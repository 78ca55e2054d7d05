/*
 * http_mhd.c — the one file that speaks libmicrohttpd.
 *
 * It reads each request into a struct http_request (headers, query, body up
 * to the route's cap), calls http_dispatch(), turns the struct http_reply into
 * an MHD response with the security headers every response carries, logs the
 * request when it completes, and frees the request's memory at once.
 *
 * Threading: one accept thread deals connections out in turn to `threads`
 * single-threaded libmicrohttpd daemons (epoll), see struct http_server.
 * Handlers run on the daemons' threads and may block on PostgreSQL; slow or
 * idle clients do not hold a thread (epoll).
 *
 * Limits (docs/hardening.md): every open connection has a record (struct
 * http_conn) from the moment it is accepted until libmicrohttpd closes it.
 * The acceptor counts them: past connection_limit in all, or
 * ip_connection_limit from one address, a new connection is answered 503 and
 * closed at once. A watchdog thread closes connections that have spent
 * connection_timeout seconds without delivering a complete request header —
 * libmicrohttpd's own timeout only notices silence, so a client sending one
 * byte a second would otherwise keep its connection for ever. Headers are
 * bounded by the connection's memory (HTTP_CONNECTION_MEMORY); bodies by the
 * route's cap.
 *
 * libmicrohttpd calls the access handler several times per request: once with
 * the headers, once per chunk of body, and once more at the end. The first
 * call creates the request context, the middle ones append to the body, and
 * the last one dispatches.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "log.h"

#define HTTP_MAX_HEADERS       100
#define HTTP_MAX_QUERY         100
#define HTTP_CONNECTION_MEMORY (64 * 1024) /* bounds header size: larger gets 431 */
#define HTTP_STREAM_BLOCK      (64 * 1024)
#define HTTP_DISCARD_FACTOR    4 /* see http_access() */

#define HTTP_MAX_WORKERS 256

#define HTTP_DEFAULT_CONNECTIONS 1000
#define HTTP_FD_RESERVE          256   /* descriptors kept for PostgreSQL, files, logs */
#define HTTP_WATCH_MS            250   /* how often the watchdog looks */
#define HTTP_PENDING_MAX_MS      60000 /* a handed-over connection never started: forgotten */

/*
 * One open connection. The acceptor makes it (pending) before handing the
 * socket to a daemon; libmicrohttpd's NOTIFY_STARTED finds it by descriptor
 * and makes it live, NOTIFY_CLOSED frees it — before libmicrohttpd closes the
 * descriptor, so that the watchdog, which shuts live connections down under
 * the same lock, never touches a descriptor that has been reused.
 */
struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    int live; /* started by libmicrohttpd */
    int cut;  /* shut down by the watchdog */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    long long accepted_ms;
    /* Since when the connection waits for a request's header (accepted, or
     * the last request completed); 0 while a request is being handled. */
    atomic_llong idle_since_ms;
};

/*
 * One single-threaded libmicrohttpd daemon per worker, fed by one accept
 * thread that hands each new connection to the next daemon in turn. With
 * libmicrohttpd's own thread pool the workers compete for accept(), and with
 * a few keep-alive clients all of them can land on one worker, which then
 * serves alone while the others idle (shared/notes/performance.md): here
 * connections are spread evenly by construction.
 */
struct http_server {
    struct MHD_Daemon *daemons[HTTP_MAX_WORKERS];
    int n_daemons;
    int listen_fd;
    pthread_t acceptor;
    int acceptor_started;
    atomic_int accepting;
    atomic_uint next_daemon;
    struct http_server_config config;
    atomic_long in_flight;
    atomic_int stopping; /* http_server_stop() has begun: admit no new request */
    int port;
    int connection_limit, ip_connection_limit;
    long long header_timeout_ms;
    pthread_mutex_t conns_lock; /* the list below, and shutting its sockets down */
    struct http_conn *conns;
    int n_conns;
    pthread_t watchdog;
    int watchdog_started;
    atomic_int watching;
    atomic_long refused_total, refused_ip, cut_slow; /* for the watchdog's log line */
};

struct http_ctx {
    struct http_server *server;
    struct arena *arena;
    struct http_request req;
    struct http_reply rep;
    char *body;
    size_t body_len, body_cap, max_body;
    size_t discarded;       /* bytes dropped after the cap was passed */
    struct http_conn *conn; /* the connection's record, or NULL */
    int responded;
    int status;
    struct timespec start;
};

static long long http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Headers every response carries; see docs/api.md. The CSP is strict: pages
 * load scripts and styles from Attune itself only, and are never framed. */
static const struct http_pair http_security_headers[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
};

struct http_collect {
    struct arena *arena;
    struct http_pair *pairs;
    size_t n, cap;
    int lower; /* lower-case the names (headers) */
    int overflow;
};

static enum MHD_Result http_collect_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    struct http_collect *c = cls;
    char *name;

    (void)kind;
    if (c->n == c->cap) {
        c->overflow = 1;
        return MHD_NO;
    }
    name = arena_strdup(c->arena, key ? key : "");
    if (name == NULL) {
        c->overflow = 1;
        return MHD_NO;
    }
    if (c->lower)
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    c->pairs[c->n].name = name;
    c->pairs[c->n].value = value ? arena_strdup(c->arena, value) : "";
    c->n++;
    return MHD_YES;
}

static int http_collect(struct MHD_Connection *conn, enum MHD_ValueKind kind, struct arena *arena,
                        size_t cap, int lower, const struct http_pair **out, size_t *n_out)
{
    struct http_collect c = {
        arena, arena_calloc(arena, cap, sizeof(struct http_pair)), 0, cap, lower, 0};
    if (c.pairs == NULL)
        return -1;
    MHD_get_connection_values(conn, kind, http_collect_cb, &c);
    *out = c.pairs;
    *n_out = c.n;
    return c.overflow ? -1 : 0;
}

static int http_request_id_ok(const char *id)
{
    size_t len = id ? strlen(id) : 0;

    if (len == 0 || len > 64)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static void http_fill_request(struct http_ctx *ctx, struct MHD_Connection *conn, const char *url,
                              const char *method)
{
    struct http_request *req = &ctx->req;
    const union MHD_ConnectionInfo *info;
    const char *rid;
    int overflow = 0;

    req->method = arena_strdup(ctx->arena, method);
    req->path = arena_strdup(ctx->arena, url);
    req->arena = ctx->arena;
    req->app = ctx->server->config.app;
    overflow |= http_collect(conn, MHD_HEADER_KIND, ctx->arena, HTTP_MAX_HEADERS, 1, &req->headers,
                             &req->n_headers) != 0;
    overflow |= http_collect(conn, MHD_GET_ARGUMENT_KIND, ctx->arena, HTTP_MAX_QUERY, 0,
                             &req->query, &req->n_query) != 0;
    (void)overflow; /* extra fields beyond the caps are ignored */
    rid = http_header(req, "x-request-id");
    if (http_request_id_ok(rid)) {
        req->request_id = rid;
    } else {
        unsigned char raw[8];
        char *hex = arena_alloc(ctx->arena, 2 * sizeof raw + 1);
        randombytes_buf(raw, sizeof raw);
        if (hex != NULL)
            sodium_bin2hex(hex, 2 * sizeof raw + 1, raw, sizeof raw);
        req->request_id = hex ? hex : "-";
    }
    info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    req->remote_addr = "-";
    if (info != NULL && info->client_addr != NULL) {
        char buf[INET6_ADDRSTRLEN] = "";
        const struct sockaddr *sa = info->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof buf);
        if (buf[0])
            req->remote_addr = arena_strdup(ctx->arena, buf);
    }
    req->body = ctx->body;
    req->body_len = ctx->body_len;
}

static ssize_t http_stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_ctx *ctx = cls;
    ssize_t n = ctx->rep.stream(ctx->rep.stream_ctx, pos, buf, max);

    if (n == HTTP_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

/* Turns ctx->rep into a libmicrohttpd response and queues it. */
static enum MHD_Result http_queue(struct http_ctx *ctx, struct MHD_Connection *conn)
{
    struct http_server *s = ctx->server;
    struct MHD_Response *resp;
    struct http_reply *rep = &ctx->rep;
    enum MHD_Result ret;
    int has_cache_control = 0;

    ctx->responded = 1;
    if (s->config.observe != NULL)
        s->config.observe(&ctx->req, rep);
    if (rep->stream != NULL) {
        /* The stream context lives until the response is destroyed; the
         * request context outlives it (freed in the completion callback). */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK,
                                                 http_stream_reader, ctx, NULL);
    } else {
        resp = MHD_create_response_from_buffer(rep->body_len, rep->body ? rep->body : (void *)"",
                                               rep->body ? MHD_RESPMEM_MUST_FREE
                                                         : MHD_RESPMEM_PERSISTENT);
        if (resp != NULL)
            rep->body = NULL; /* handed over to libmicrohttpd */
    }
    if (resp == NULL)
        return MHD_NO;
    if (rep->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    MHD_add_response_header(resp, "X-Request-Id", ctx->req.request_id);
    for (size_t i = 0; i < sizeof http_security_headers / sizeof http_security_headers[0]; i++) {
        int overridden = 0;
        for (size_t j = 0; j < rep->n_headers; j++)
            overridden |= strcasecmp(rep->headers[j].name, http_security_headers[i].name) == 0;
        if (!overridden)
            MHD_add_response_header(resp, http_security_headers[i].name,
                                    http_security_headers[i].value);
    }
    for (size_t j = 0; j < rep->n_headers; j++) {
        MHD_add_response_header(resp, rep->headers[j].name, rep->headers[j].value);
        has_cache_control |= strcasecmp(rep->headers[j].name, "Cache-Control") == 0;
    }
    if (!has_cache_control)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    /* While stopping, no connection is kept for another request. */
    if (atomic_load(&s->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ctx->status = rep->status;
    ret = MHD_queue_response(conn, (unsigned int)rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result http_respond(struct http_ctx *ctx, struct MHD_Connection *conn,
                                    const char *url, const char *method)
{
    struct http_server *s = ctx->server;

    http_fill_request(ctx, conn, url, method);
    ctx->rep.arena = ctx->arena;
    http_dispatch(s->config.routes, s->config.n_routes, s->config.authorize, &ctx->req, &ctx->rep);
    return http_queue(ctx, conn);
}

/*
 * A request that arrives once the server is stopping (on a kept-alive
 * connection) is not started: 503 with Retry-After, and the connection is
 * closed. So the requests in flight when the stop began are exactly the ones
 * the grace period waits for, and a busy client cannot keep the server alive.
 */
static enum MHD_Result http_refuse_stopping(struct http_ctx *ctx, struct MHD_Connection *conn,
                                            const char *url, const char *method)
{
    http_fill_request(ctx, conn, url, method);
    ctx->rep.arena = ctx->arena;
    http_problem(&ctx->rep, 503, "shutting-down", NULL, NULL,
                 "The server is restarting; nothing was done. Please try again.");
    http_reply_header(&ctx->rep, "Retry-After", "1");
    return http_queue(ctx, conn);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct http_ctx *ctx = *con_cls;

    (void)version;
    if (ctx == NULL) {
        const struct http_route *route;
        const char *clen;
        int path_known;

        ctx = calloc(1, sizeof *ctx);
        if (ctx == NULL)
            return MHD_NO;
        ctx->server = s;
        ctx->arena = arena_new();
        clock_gettime(CLOCK_MONOTONIC, &ctx->start);
        {
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
            ctx->conn = ci != NULL ? ci->socket_context : NULL;
            if (ctx->conn != NULL)
                atomic_store(&ctx->conn->idle_since_ms, 0); /* a header came in */
        }
        /* Counted before `stopping` is read: see http_server_stop(). */
        atomic_fetch_add(&s->in_flight, 1);
        *con_cls = ctx;
        if (ctx->arena == NULL)
            return MHD_NO;
        if (atomic_load(&s->stopping))
            return http_refuse_stopping(ctx, conn, url, method);
        route = http_route_find(s->config.routes, s->config.n_routes, method, url, &path_known);
        ctx->max_body =
            (route != NULL && route->max_body != 0) ? route->max_body : s->config.max_body_bytes;
        clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (clen != NULL) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(clen, &end, 10);
            if (errno != 0 || end == clen || n > ctx->max_body)
                ctx->req.body_too_large = 1;
        }
        /* Refuse an announced oversized body before reading any of it. */
        if (ctx->req.body_too_large)
            return http_respond(ctx, conn, url, method);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (ctx->responded)
            return MHD_YES;
        if (!ctx->req.body_too_large && ctx->body_len + n > ctx->max_body) {
            ctx->req.body_too_large = 1;
            free(ctx->body);
            ctx->body = NULL;
            ctx->body_len = 0;
        }
        if (ctx->req.body_too_large) {
            /* libmicrohttpd cannot answer in the middle of a body, so a body
             * without Content-Length that outgrows the cap is read and
             * dropped, to answer 413 at its end — up to a bound, past which
             * the connection is simply closed. */
            ctx->discarded += n;
            return ctx->discarded > HTTP_DISCARD_FACTOR * ctx->max_body ? MHD_NO : MHD_YES;
        }
        if (ctx->body_len + n + 1 > ctx->body_cap) {
            size_t cap = ctx->body_cap ? ctx->body_cap : 4096;
            char *grown;
            while (cap < ctx->body_len + n + 1)
                cap *= 2;
            if (cap > ctx->max_body + 1)
                cap = ctx->max_body + 1;
            grown = realloc(ctx->body, cap);
            if (grown == NULL)
                return MHD_NO;
            ctx->body = grown;
            ctx->body_cap = cap;
        }
        memcpy(ctx->body + ctx->body_len, upload_data, n);
        ctx->body_len += n;
        ctx->body[ctx->body_len] = '\0';
        return MHD_YES;
    }
    if (ctx->responded)
        return MHD_YES;
    return http_respond(ctx, conn, url, method);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_ctx *ctx = *con_cls;
    struct timespec end;
    double ms;
    char qpath[512];

    (void)conn;
    if (ctx == NULL)
        return;
    clock_gettime(CLOCK_MONOTONIC, &end);
    ms = (double)(end.tv_sec - ctx->start.tv_sec) * 1e3 +
         (double)(end.tv_nsec - ctx->start.tv_nsec) / 1e6;
    log_event(ctx->status >= 500 ? LOG_WARN : LOG_INFO, "http.request",
              "method=%s path=%s status=%d ms=%.2f bytes_in=%zu req=%s remote=%s%s",
              ctx->req.method ? ctx->req.method : "-",
              log_quote(qpath, sizeof qpath, ctx->req.path ? http_log_path(&ctx->req) : "-"),
              ctx->status, ms, ctx->body_len, ctx->req.request_id ? ctx->req.request_id : "-",
              ctx->req.remote_addr ? ctx->req.remote_addr : "-",
              toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " completed=false");
    if (ctx->conn != NULL)
        atomic_store(&ctx->conn->idle_since_ms, http_now_ms());
    json_decref(ctx->req.json);
    http_reply_clear(&ctx->rep);
    free(ctx->body);
    arena_free(ctx->arena);
    free(ctx);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512], q[600];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_event(LOG_WARN, "http.mhd", "message=%s", log_quote(q, sizeof q, msg));
}

/* ------------------------------------------------------------ connections */

static int http_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return 0;
}

static int http_ip_exempt(const struct http_server *s, const struct sockaddr_storage *addr)
{
    char buf[INET6_ADDRSTRLEN] = "";

    if (s->config.ip_limit_exempt == NULL)
        return 0;
    if (addr->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, buf, sizeof buf);
    else if (addr->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, buf, sizeof buf);
    return strcmp(buf, s->config.ip_limit_exempt) == 0;
}

static void http_conn_unlink(struct http_server *s, struct http_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->n_conns--;
}

/* Answers a connection over a limit without reading from it, and closes it.
 * Over TLS a plain-text answer would be noise: the connection is just closed. */
static void http_refuse_socket(int fd, int tls)
{
#define HTTP_REFUSE_BODY                                                                           \
    "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,"                  \
    "\"code\":\"too-many-connections\",\"detail\":\"The server has too many open connections; "    \
    "please try again.\"}"
    static const char reply[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                "Content-Type: application/problem+json\r\n"
                                "Retry-After: 5\r\n"
                                "Connection: close\r\n"
                                "Cache-Control: no-store\r\n"
                                "Content-Length: %zu\r\n\r\n" HTTP_REFUSE_BODY;
    char buf[sizeof reply + 16];
    int n = tls ? 0 : snprintf(buf, sizeof buf, reply, sizeof HTTP_REFUSE_BODY - 1);

    if (n > 0)
        (void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    close(fd);
#undef HTTP_REFUSE_BODY
}

/* libmicrohttpd's connection notifications: see struct http_conn. */
static void http_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    struct http_conn *c;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = NULL;
        if (ci == NULL)
            return;
        pthread_mutex_lock(&s->conns_lock);
        /* The newest pending record of this descriptor (the list is newest first). */
        for (c = s->conns; c != NULL; c = c->next)
            if (!c->live && c->fd == ci->connect_fd)
                break;
        if (c != NULL) {
            c->live = 1;
            atomic_store(&c->idle_since_ms, http_now_ms());
            *socket_context = c;
        }
        pthread_mutex_unlock(&s->conns_lock);
        return;
    }
    if (code == MHD_CONNECTION_NOTIFY_CLOSED && (c = *socket_context) != NULL) {
        pthread_mutex_lock(&s->conns_lock);
        http_conn_unlink(s, c);
        pthread_mutex_unlock(&s->conns_lock);
        free(c);
        *socket_context = NULL;
    }
}

/*
 * The watchdog: shuts down live connections that have waited longer than
 * connection_timeout for a complete request header (libmicrohttpd then sees
 * the socket closed and closes the connection), and forgets pending records
 * libmicrohttpd never started. Logs what it and the acceptor refused.
 */
static void *http_watchdog(void *arg)
{
    struct http_server *s = arg;
    long refused = 0, refused_ip = 0, cut = 0;

    while (atomic_load(&s->watching)) {
        struct timespec tick = {0, HTTP_WATCH_MS * 1000000L};
        long long now;
        int n_cut = 0;
        long r, ri, k;

        nanosleep(&tick, NULL);
        now = http_now_ms();
        pthread_mutex_lock(&s->conns_lock);
        for (struct http_conn *c = s->conns, *next; c != NULL; c = next) {
            long long idle = atomic_load(&c->idle_since_ms);
            next = c->next;
            if (!c->live) {
                if (now - c->accepted_ms > HTTP_PENDING_MAX_MS) {
                    http_conn_unlink(s, c);
                    free(c);
                }
            } else if (!c->cut && idle != 0 && now - idle > s->header_timeout_ms) {
                shutdown(c->fd, SHUT_RDWR);
                c->cut = 1;
                n_cut++;
            }
        }
        pthread_mutex_unlock(&s->conns_lock);
        atomic_fetch_add(&s->cut_slow, n_cut);
        r = atomic_load(&s->refused_total);
        ri = atomic_load(&s->refused_ip);
        k = atomic_load(&s->cut_slow);
        if (r != refused || ri != refused_ip || k != cut) {
            log_event(LOG_WARN, "http.limits",
                      "refused_connection_limit=%ld refused_ip_limit=%ld closed_slow=%ld "
                      "connection_limit=%d ip_connection_limit=%d timeout_s=%lld",
                      r - refused, ri - refused_ip, k - cut, s->connection_limit,
                      s->ip_connection_limit, s->header_timeout_ms / 1000);
            refused = r;
            refused_ip = ri;
            cut = k;
        }
    }
    return NULL;
}

/* Accepts connections, applies the limits, and deals them out to the daemons in turn. */
static void *http_acceptor(void *arg)
{
    struct http_server *s = arg;

    while (atomic_load(&s->accepting)) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC);
        struct http_conn *c;
        int over = 0;
        unsigned i;
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: let connections finish, then go on. */
                struct timespec pause = {0, 50 * 1000000L};
                nanosleep(&pause, NULL);
            }
            continue; /* EINTR, ECONNABORTED; EINVAL after shutdown() ends the loop */
        }
        if (!atomic_load(&s->accepting)) {
            close(fd);
            break;
        }
        if ((c = calloc(1, sizeof *c)) == NULL) {
            http_refuse_socket(fd, s->config.tls_cert_pem != NULL);
            continue;
        }
        c->fd = fd;
        c->addr = addr;
        c->addr_len = len;
        c->accepted_ms = http_now_ms();
        atomic_init(&c->idle_since_ms, c->accepted_ms);
        pthread_mutex_lock(&s->conns_lock);
        if (s->n_conns >= s->connection_limit) {
            over = 1;
        } else if (s->ip_connection_limit > 0 && !http_ip_exempt(s, &addr)) {
            int same = 0;
            for (struct http_conn *o = s->conns; o != NULL && same < s->ip_connection_limit;
                 o = o->next)
                same += http_same_ip(&o->addr, &addr);
            over = same >= s->ip_connection_limit ? 2 : 0;
        }
        if (!over) {
            c->next = s->conns;
            if (s->conns != NULL)
                s->conns->prev = c;
            s->conns = c;
            s->n_conns++;
        }
        pthread_mutex_unlock(&s->conns_lock);
        if (over) {
            atomic_fetch_add(over == 1 ? &s->refused_total : &s->refused_ip, 1);
            free(c);
            http_refuse_socket(fd, s->config.tls_cert_pem != NULL);
            continue;
        }
        i = atomic_fetch_add(&s->next_daemon, 1) % (unsigned)s->n_daemons;
        /* On failure libmicrohttpd closes the socket itself, before starting
         * it: the record, made by this thread alone, is still pending. */
        if (MHD_add_connection(s->daemons[i], fd, (struct sockaddr *)&addr, len) != MHD_YES) {
            pthread_mutex_lock(&s->conns_lock);
            for (struct http_conn *o = s->conns; o != NULL; o = o->next) {
                if (o == c && !c->live) {
                    http_conn_unlink(s, c);
                    free(c);
                    break;
                }
            }
            pthread_mutex_unlock(&s->conns_lock);
        }
    }
    return NULL;
}

/*
 * Enough descriptors for the connection limit: the soft limit is raised to
 * the hard one; if that is still short, the connection limit is lowered to
 * fit (and logged), so that accept() never fails for want of descriptors
 * while PostgreSQL connections and files still open.
 */
static int http_fit_descriptors(int wanted)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return wanted;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)wanted + HTTP_FD_RESERVE > rl.rlim_cur) {
        int fit = rl.rlim_cur > HTTP_FD_RESERVE + 16 ? (int)(rl.rlim_cur - HTTP_FD_RESERVE) : 16;
        log_event(LOG_WARN, "http.limits",
                  "connection_limit=%d lowered_to=%d open_files_limit=%llu", wanted, fit,
                  (unsigned long long)rl.rlim_cur);
        return fit;
    }
    return wanted;
}

/* The listening socket: bound, listening, its port read back. */
static int http_listen(struct http_server *s, const struct addrinfo *ai, struct err *e)
{
    int one = 1, fd;
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return err_set(e, HTTP_ESTART, "could not make a socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &len) != 0) {
        int saved = errno;
        close(fd);
        err_set(e, HTTP_ESTART, "could not listen on %s:%d: %s", s->config.host, s->config.port,
                strerror(saved));
        err_hint(e, "Another program may be using the port; choose another with --listen or "
                    "ATTUNE_LISTEN.");
        return HTTP_ESTART;
    }
    s->listen_fd = fd;
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

static void http_server_free(struct http_server *s)
{
    if (s->acceptor_started) {
        atomic_store(&s->accepting, 0);
        shutdown(s->listen_fd, SHUT_RDWR); /* wakes accept() */
        pthread_join(s->acceptor, NULL);
        s->acceptor_started = 0;
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    if (s->watchdog_started) {
        atomic_store(&s->watching, 0);
        pthread_join(s->watchdog, NULL);
        s->watchdog_started = 0;
    }
    /* Stopping a daemon closes its connections (NOTIFY_CLOSED frees their
     * records); what is left was pending. */
    for (int i = 0; i < s->n_daemons; i++)
        MHD_stop_daemon(s->daemons[i]);
    while (s->conns != NULL) {
        struct http_conn *c = s->conns;
        http_conn_unlink(s, c);
        free(c);
    }
    pthread_mutex_destroy(&s->conns_lock);
    free(s);
}

int http_server_start(const struct http_server_config *config, struct http_server **out,
                      struct err *e)
{
    struct http_server *s;
    struct addrinfo hints = {0}, *ai = NULL;
    char port[16];
    unsigned int flags, per_daemon;
    int gai, rc;

    if (config->threads < 1 || config->threads > HTTP_MAX_WORKERS || config->n_routes == 0)
        return err_set(e, HTTP_EINVAL, "invalid HTTP server settings");
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof port, "%d", config->port);
    gai = getaddrinfo(config->host, port, &hints, &ai);
    if (gai != 0)
        return err_set(e, HTTP_EINVAL, "could not resolve listen address \"%s\": %s", config->host,
                       gai_strerror(gai));
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        freeaddrinfo(ai);
        return err_set(e, HTTP_ESTART, "out of memory");
    }
    s->config = *config;
    s->listen_fd = -1;
    pthread_mutex_init(&s->conns_lock, NULL);
    s->connection_limit = http_fit_descriptors(
        config->connection_limit > 0 ? config->connection_limit : HTTP_DEFAULT_CONNECTIONS);
    s->ip_connection_limit = config->ip_connection_limit > 0 ? config->ip_connection_limit : 0;
    s->header_timeout_ms =
        (long long)(config->connection_timeout_s > 0 ? config->connection_timeout_s : 30) * 1000;
    atomic_init(&s->watching, 1);
    atomic_init(&s->refused_total, 0);
    atomic_init(&s->refused_ip, 0);
    atomic_init(&s->cut_slow, 0);
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->stopping, 0);
    atomic_init(&s->accepting, 1);
    atomic_init(&s->next_daemon, 0);
    rc = http_listen(s, ai, e);
    freeaddrinfo(ai);
    if (rc != 0) {
        http_server_free(s);
        return rc;
    }
    /* The daemons take connections only from the acceptor. */
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
            MHD_USE_NO_LISTEN_SOCKET;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    /* HTTPS through libmicrohttpd's GnuTLS support; the options go in an
     * array so that plain HTTP passes none of them. */
    struct MHD_OptionItem tls_options[3] = {{MHD_OPTION_END, 0, NULL}};
    if (config->tls_cert_pem != NULL && config->tls_key_pem != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            http_server_free(s);
            err_set(e, HTTP_EINVAL, "this libmicrohttpd was built without TLS support");
            err_hint(e, "Install Debian's libmicrohttpd12 (built with GnuTLS), or terminate TLS "
                        "in a reverse proxy (docs/operations.md).");
            return HTTP_EINVAL;
        }
        flags |= MHD_USE_TLS;
        tls_options[0] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)config->tls_key_pem};
        tls_options[1] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)config->tls_cert_pem};
        tls_options[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    /* The acceptor enforces the limits; a daemon must never refuse what it
     * was handed, whichever daemon the connections land on. */
    per_daemon = (unsigned int)s->connection_limit;
    for (int i = 0; i < config->threads; i++) {
        s->daemons[i] = MHD_start_daemon(
            flags, 0, NULL, NULL, http_access, s,
            /* The logger must come first or early messages bypass it. */
            MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)config->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)HTTP_CONNECTION_MEMORY, MHD_OPTION_CONNECTION_LIMIT, per_daemon,
            MHD_OPTION_NOTIFY_COMPLETED, http_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
            http_notify_connection, s, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
        if (s->daemons[i] == NULL) {
            http_server_free(s);
            err_set(e, HTTP_ESTART, "could not start the HTTP workers on %s:%d", config->host,
                    config->port);
            if (config->tls_cert_pem != NULL)
                err_hint(e, "The TLS certificate and key may not load or not match; the log "
                            "line before this says which.");
            return HTTP_ESTART;
        }
        s->n_daemons++;
    }
    if (pthread_create(&s->watchdog, NULL, http_watchdog, s) != 0) {
        http_server_free(s);
        return err_set(e, HTTP_ESTART, "could not start the connection watchdog");
    }
    s->watchdog_started = 1;
    if (pthread_create(&s->acceptor, NULL, http_acceptor, s) != 0) {
        http_server_free(s);
        return err_set(e, HTTP_ESTART, "could not start the accept thread");
    }
    s->acceptor_started = 1;
    *out = s;
    return 0;
}

int http_server_port(const struct http_server *server)
{
    return server->port;
}

long http_server_in_flight(const struct http_server *server)
{
    return atomic_load(&((struct http_server *)server)->in_flight);
}

void http_server_stop(struct http_server *server, int grace_s)
{
    struct timespec tick = {0, 20 * 1000000L};
    int waited_ms = 0;

    if (server == NULL)
        return;
    /* From here no new request starts (http_access() counts a request in
     * in_flight before it reads `stopping`, so each one either is counted
     * below or is refused); then stop accepting; requests already started
     * keep going. */
    atomic_store(&server->stopping, 1);
    if (server->acceptor_started) {
        atomic_store(&server->accepting, 0);
        shutdown(server->listen_fd, SHUT_RDWR);
        pthread_join(server->acceptor, NULL);
        server->acceptor_started = 0;
    }
    if (server->listen_fd >= 0)
        close(server->listen_fd);
    server->listen_fd = -1;
    while (atomic_load(&server->in_flight) > 0 && waited_ms < grace_s * 1000) {
        nanosleep(&tick, NULL);
        waited_ms += 20;
    }
    if (atomic_load(&server->in_flight) > 0)
        log_event(LOG_WARN, "http.shutdown", "in_flight=%ld grace_s=%d",
                  atomic_load(&server->in_flight), grace_s);
    http_server_free(server);
}
