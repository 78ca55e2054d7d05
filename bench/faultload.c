/*
 * faultload.c — the clients of the fault tests (tests/integration/faultkit.py):
 * many study apps submitting questionnaires and uploading event batches to
 * `attune serve` while the test kills the server and the database under
 * them, retrying exactly as a real app would.
 *
 * Every unit of work is fixed in advance by its number: submission k is
 * participant k / 27's answer to instrument k % 3 in study week (k % 27) / 3,
 * with a client-chosen uuid, answers and completion time that depend on k
 * alone; event batch b holds BATCH events of participant b mod N with uuids
 * and times that depend on (b, event) alone. So a retry resends the very same
 * id with the very same content. A client sends a unit until the server
 * acknowledges it (2xx), and only then takes the next:
 *
 *   2xx          acknowledged: recorded (the id, and for a batch how many
 *                events the server said were new)
 *   503          waits Retry-After (required: a 503 without it is counted as
 *                a violation), capped by --max-wait-ms, and sends it again
 *   no answer    (refused, reset, closed, timed out) backs off and sends again
 *   other 5xx    counted, backs off and sends again
 *   4xx          counted as refused; the unit is given up (never expected)
 *
 * Work is handed out interleaved (one batch after every S/B submissions), so
 * both kinds are under way throughout the run. Progress goes to stdout every
 * --progress-ms as "progress DONE TOTAL key=value..." lines, for the test to
 * time its faults; at the end the acknowledged ids go to files in --out and
 * one "summary {json}" line to stdout:
 *
 *   OUT/subs_acked.txt    "<uuid> <status>" per acknowledged submission
 *   OUT/events_acked.txt  "<uuid>" per event of every acknowledged batch
 *
 * Usage:
 *   faultload --port P --tokens FILE --out DIR --enrolled-at EPOCH_S
 *             [--host 127.0.0.1] [--clients 16] [--submissions S]
 *             [--batches B] [--batch-size 500] [--seed X] [--timeout-ms 30000]
 *             [--max-wait-ms 1000] [--deadline-s 900] [--progress-ms 250]
 *
 * Exit status: 0 when every unit was acknowledged, 1 when some were not
 * (refused, or the deadline passed), 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FL_MAX_CLIENTS  512
#define FL_SLOTS        27 /* submissions per participant: 9 weeks x 3 instruments */
#define FL_RESP_MAX     (256 * 1024)
#define FL_MAX_LAT      4000000
#define FL_EVENT_SPAN_S (60L * 86400) /* events fall in the first 60 days of the study */
#define FL_DAY_S        86400L
#define FL_REFUSED      (-1)
#define FL_ID_MAX       48

static const char *fl_host = "127.0.0.1", *fl_tokens_path, *fl_out;
static int fl_port, fl_clients = 16, fl_batch = 500, fl_timeout_ms = 30000, fl_max_wait_ms = 1000,
                    fl_progress_ms = 250;
static long fl_subs, fl_batches, fl_deadline_s = 900;
static long long fl_enrolled_at;
static unsigned fl_seed;
static char **fl_tokens;
static long fl_n_tokens;

/* Per unit: what the server answered in the end. */
static int *fl_sub_status;     /* 0 unanswered, 200/201, FL_REFUSED */
static int *fl_batch_status;   /* 0, 200, FL_REFUSED */
static int *fl_batch_accepted; /* events the acknowledging reply called new */

static atomic_long fl_next, fl_done;
static atomic_int fl_stop, fl_finished_clients;
static atomic_long fl_attempts, fl_acked_201, fl_acked_200, fl_batches_acked, fl_events_new,
    fl_events_dup, fl_s503, fl_s503_no_retry, fl_conn_errors, fl_timeouts, fl_s5xx, fl_s4xx, fl_odd,
    fl_max_latency_us;
static double *fl_lat; /* seconds, of acknowledged submissions */
static atomic_long fl_n_lat;
static double fl_t0;

static const char *const fl_instruments[3] = {"gad7", "phq9", "who5"};
static const int fl_items[3] = {7, 9, 5};
static const int fl_options[3] = {4, 4, 6}; /* values 0..n-1 are valid for every item */
static const char *const fl_types[4] = {"app_open", "session_start", "breathing_exercise",
                                        "session_end"};

static double fl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fl_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void fl_iso(long long epoch_s, char *buf, size_t size)
{
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fl_max_store(atomic_long *a, long v)
{
    long cur = atomic_load(a);
    while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

/* ---------------------------------------------------------- the units */

static void fl_sub_id(long k, char out[FL_ID_MAX])
{
    snprintf(out, FL_ID_MAX, "%08x-5000-4000-8000-%012lx", fl_seed,
             (unsigned long)k & 0xffffffffffffUL);
}

static void fl_event_id(long b, int e, char out[FL_ID_MAX])
{
    snprintf(out, FL_ID_MAX, "%08x-%04x-4000-9000-%012lx", fl_seed, (unsigned)e & 0xffffu,
             (unsigned long)b & 0xffffffffffffUL);
}

/* The body of submission k. */
static int fl_sub_body(long k, char *buf, size_t size)
{
    int slot = (int)(k % FL_SLOTS), inst = slot % 3, week = slot / 3;
    long long done = fl_enrolled_at + (long long)week * 7 * FL_DAY_S + FL_DAY_S + k % 3600;
    char id[FL_ID_MAX], when[32];
    size_t used;

    fl_sub_id(k, id);
    fl_iso(done, when, sizeof when);
    used = (size_t)snprintf(buf, size, "{\"id\":\"%s\",\"instrument\":\"%s\",\"answers\":{", id,
                            fl_instruments[inst]);
    for (int i = 0; i < fl_items[inst]; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s\"%s_%d\":%ld", i ? "," : "",
                                 fl_instruments[inst], i + 1, (k + i) % fl_options[inst]);
    used += (size_t)snprintf(buf + used, size - used, "},\"completed_at\":\"%s\"}", when);
    return (int)used;
}

/* The body of event batch b. */
static int fl_batch_body(long b, char *buf, size_t size)
{
    size_t used = 0;

    buf[used++] = '[';
    for (int e = 0; e < fl_batch; e++) {
        char id[FL_ID_MAX], when[32];
        long long at = fl_enrolled_at + 3600 +
                       (long long)(((unsigned long long)b * 7919u + (unsigned)e * 13u) %
                                   (unsigned long long)FL_EVENT_SPAN_S);
        fl_event_id(b, e, id);
        fl_iso(at, when, sizeof when);
        used += (size_t)snprintf(buf + used, size - used,
                                 "%s{\"id\":\"%s\",\"type\":\"%s\",\"at\":\"%s\","
                                 "\"duration_s\":%d.5,\"props\":{\"n\":%d}}",
                                 e ? "," : "", id, fl_types[(b + e) % 4], when, e % 60, e);
    }
    buf[used++] = ']';
    buf[used] = '\0';
    return (int)used;
}

/* Batches among the first n units: one after every S/B submissions. */
static long fl_batches_before(long n)
{
    return (long)((unsigned long long)n * (unsigned long long)fl_batches /
                  (unsigned long long)(fl_subs + fl_batches));
}

/* ---------------------------------------------------------------- HTTP */

static int fl_connect(void)
{
    struct sockaddr_in a;
    struct timeval tv = {fl_timeout_ms / 1000, (fl_timeout_ms % 1000) * 1000};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)fl_port);
    inet_pton(AF_INET, fl_host, &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

struct fl_reply {
    int status;      /* -1: no answer */
    int timed_out;   /* the answer did not come within --timeout-ms */
    int retry_after; /* seconds, -1 when absent */
    int close;       /* Connection: close */
    char *body;      /* NUL-terminated, in the caller's buffer */
};

static int fl_write_all(int fd, const char *p, size_t n, int *timed_out)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            *timed_out = w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response into buf; fills r. Returns 0, or -1 when none came. */
static int fl_read_reply(int fd, char *buf, size_t cap, struct fl_reply *r)
{
    size_t have = 0, head;
    char *end = NULL, *h;
    long clen = 0;

    r->status = -1;
    r->retry_after = -1;
    r->close = 0;
    r->body = NULL;
    while (end == NULL) {
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            return -1;
        }
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL && have >= cap - 1)
            return -1;
    }
    head = (size_t)(end + 4 - buf);
    if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    *end = '\0'; /* headers as a string for the look-ups below */
    if ((h = strcasestr(buf, "\r\nContent-Length:")) != NULL)
        clen = strtol(h + 17, NULL, 10);
    if ((h = strcasestr(buf, "\r\nRetry-After:")) != NULL)
        r->retry_after = (int)strtol(h + 14, NULL, 10);
    if ((h = strcasestr(buf, "\r\nConnection:")) != NULL && strncasecmp(h + 14, "close", 5) == 0)
        r->close = 1;
    *end = '\r';
    if (clen < 0 || (size_t)clen > cap - 1 - head)
        return -1;
    while (have < head + (size_t)clen) {
        ssize_t n = read(fd, buf + have, head + (size_t)clen - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            r->status = -1;
            return -1;
        }
        have += (size_t)n;
    }
    buf[head + (size_t)clen] = '\0';
    r->body = buf + head;
    return 0;
}

/* ------------------------------------------------------------- clients */

/* A number after "key": in a small JSON object, or -1. */
static long fl_json_int(const char *body, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "\"%s\":", key);
    if (body == NULL || (p = strstr(body, pat)) == NULL)
        return -1;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return strtol(p, NULL, 10);
}

static void *fl_client(void *arg)
{
    size_t cap = (size_t)fl_batch * 220 + 4096;
    char *body = malloc(cap), *req = malloc(cap + 1024), *resp = malloc(FL_RESP_MAX);
    unsigned rnd = (unsigned)(uintptr_t)arg * 2654435761u ^ fl_seed;
    int fd = -1;

    if (body == NULL || req == NULL || resp == NULL) {
        fprintf(stderr, "faultload: out of memory\n");
        exit(2);
    }
    while (!atomic_load(&fl_stop)) {
        long n = atomic_fetch_add(&fl_next, 1), k;
        int is_batch, blen, rlen, backoff = 0;

        if (n >= fl_subs + fl_batches)
            break;
        is_batch = fl_batches_before(n + 1) > fl_batches_before(n);
        k = is_batch ? fl_batches_before(n) : n - fl_batches_before(n);
        if (is_batch)
            blen = fl_batch_body(k, body, cap);
        else
            blen = fl_sub_body(k, body, cap);
        rlen = snprintf(req, cap + 1024,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                        "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
                        is_batch ? "/api/v1/events" : "/api/v1/responses", fl_host,
                        fl_tokens[is_batch ? k % fl_n_tokens : k / FL_SLOTS], blen, body);
        /* The same bytes until the server acknowledges them. */
        for (;;) {
            struct fl_reply r = {-1, 0, -1, 0, NULL};
            double t0;
            long wait_ms;

            if (atomic_load(&fl_stop))
                goto out;
            atomic_fetch_add(&fl_attempts, 1);
            if (fd < 0 && (fd = fl_connect()) < 0) {
                atomic_fetch_add(&fl_conn_errors, 1);
                goto backoff;
            }
            t0 = fl_now();
            if (fl_write_all(fd, req, (size_t)rlen, &r.timed_out) != 0 ||
                fl_read_reply(fd, resp, FL_RESP_MAX, &r) != 0) {
                close(fd);
                fd = -1;
                atomic_fetch_add(r.timed_out ? &fl_timeouts : &fl_conn_errors, 1);
                if (r.timed_out)
                    fprintf(stderr, "faultload: no answer within %d ms (%s %ld)\n", fl_timeout_ms,
                            is_batch ? "batch" : "submission", k);
                goto backoff;
            }
            fl_max_store(&fl_max_latency_us, (long)((fl_now() - t0) * 1e6));
            if (r.close) {
                close(fd);
                fd = -1;
            }
            if (r.status >= 200 && r.status < 300) {
                if (is_batch) {
                    long acc = fl_json_int(r.body, "accepted"),
                         dup = fl_json_int(r.body, "duplicates");
                    fl_batch_status[k] = r.status;
                    fl_batch_accepted[k] = (int)acc;
                    atomic_fetch_add(&fl_batches_acked, 1);
                    atomic_fetch_add(&fl_events_new, acc);
                    atomic_fetch_add(&fl_events_dup, dup);
                    if ((acc < 0 || dup < 0 || acc + dup != fl_batch) &&
                        atomic_fetch_add(&fl_odd, 1) < 5)
                        fprintf(stderr, "faultload: batch %ld: odd answer %.200s\n", k, r.body);
                } else {
                    long i = atomic_fetch_add(&fl_n_lat, 1);
                    if (i < FL_MAX_LAT)
                        fl_lat[i] = fl_now() - t0;
                    fl_sub_status[k] = r.status;
                    atomic_fetch_add(r.status == 201 ? &fl_acked_201 : &fl_acked_200, 1);
                }
                break;
            }
            if (r.status == 503) {
                atomic_fetch_add(&fl_s503, 1);
                if (r.retry_after < 0)
                    atomic_fetch_add(&fl_s503_no_retry, 1);
                wait_ms = r.retry_after > 0 ? r.retry_after * 1000L : 1000L;
                if (wait_ms > fl_max_wait_ms)
                    wait_ms = fl_max_wait_ms;
                fl_sleep_ms(wait_ms / 2 + rand_r(&rnd) % (wait_ms / 2 + 1));
                continue;
            }
            if (r.status >= 500) {
                if (atomic_fetch_add(&fl_s5xx, 1) < 5)
                    fprintf(stderr, "faultload: status %d: %.300s\n", r.status, r.body);
                goto backoff;
            }
            /* A 4xx for a unit that is valid by construction: a defect. */
            if (atomic_fetch_add(&fl_s4xx, 1) < 5)
                fprintf(stderr, "faultload: status %d for %s %ld: %.300s\n", r.status,
                        is_batch ? "batch" : "submission", k, r.body);
            if (is_batch)
                fl_batch_status[k] = FL_REFUSED;
            else
                fl_sub_status[k] = FL_REFUSED;
            break;
        backoff:
            wait_ms = 50L << (backoff < 6 ? backoff : 6);
            if (wait_ms > fl_max_wait_ms)
                wait_ms = fl_max_wait_ms;
            backoff++;
            fl_sleep_ms(wait_ms / 2 + rand_r(&rnd) % (wait_ms / 2 + 1));
        }
        atomic_fetch_add(&fl_done, 1);
    }
out:
    if (fd >= 0)
        close(fd);
    free(body);
    free(req);
    free(resp);
    atomic_fetch_add(&fl_finished_clients, 1);
    return NULL;
}

/* ------------------------------------------------------------- results */

static void fl_progress(void)
{
    printf("progress %ld %ld t=%.1f subs_acked=%ld batches_acked=%ld s503=%ld conn_errors=%ld "
           "timeouts=%ld s5xx=%ld s4xx=%ld\n",
           atomic_load(&fl_done), fl_subs + fl_batches, fl_now() - fl_t0,
           atomic_load(&fl_acked_201) + atomic_load(&fl_acked_200), atomic_load(&fl_batches_acked),
           atomic_load(&fl_s503), atomic_load(&fl_conn_errors), atomic_load(&fl_timeouts),
           atomic_load(&fl_s5xx), atomic_load(&fl_s4xx));
    fflush(stdout);
}

static int fl_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fl_write_results(long *unacked)
{
    char path[4096];
    FILE *f;

    *unacked = 0;
    snprintf(path, sizeof path, "%s/subs_acked.txt", fl_out);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    for (long k = 0; k < fl_subs; k++) {
        char id[FL_ID_MAX];
        if (fl_sub_status[k] <= 0) {
            (*unacked)++;
            continue;
        }
        fl_sub_id(k, id);
        fprintf(f, "%s %d\n", id, fl_sub_status[k]);
    }
    if (fclose(f) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/events_acked.txt", fl_out);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    for (long b = 0; b < fl_batches; b++) {
        if (fl_batch_status[b] <= 0) {
            (*unacked)++;
            continue;
        }
        for (int e = 0; e < fl_batch; e++) {
            char id[FL_ID_MAX];
            fl_event_id(b, e, id);
            fprintf(f, "%s\n", id);
        }
    }
    return fclose(f);
}

static long fl_arg_long(const char *s, const char *name, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "faultload: --%s must be an integer from %ld to %ld\n", name, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"host", required_argument, NULL, 'h'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"tokens", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"clients", required_argument, NULL, 'c'},
                                         {"submissions", required_argument, NULL, 's'},
                                         {"batches", required_argument, NULL, 'b'},
                                         {"batch-size", required_argument, NULL, 'k'},
                                         {"seed", required_argument, NULL, 'r'},
                                         {"timeout-ms", required_argument, NULL, 'T'},
                                         {"max-wait-ms", required_argument, NULL, 'w'},
                                         {"deadline-s", required_argument, NULL, 'd'},
                                         {"progress-ms", required_argument, NULL, 'g'},
                                         {"enrolled-at", required_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    pthread_t th[FL_MAX_CLIENTS];
    char line[512];
    FILE *f;
    long unacked = 0, n_lat;
    double elapsed;
    int c;

    fl_seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fl_host = optarg;
            break;
        case 'p':
            fl_port = (int)fl_arg_long(optarg, "port", 1, 65535);
            break;
        case 't':
            fl_tokens_path = optarg;
            break;
        case 'o':
            fl_out = optarg;
            break;
        case 'c':
            fl_clients = (int)fl_arg_long(optarg, "clients", 1, FL_MAX_CLIENTS);
            break;
        case 's':
            fl_subs = fl_arg_long(optarg, "submissions", 0, 100000000);
            break;
        case 'b':
            fl_batches = fl_arg_long(optarg, "batches", 0, 10000000);
            break;
        case 'k':
            fl_batch = (int)fl_arg_long(optarg, "batch-size", 1, 1000);
            break;
        case 'r':
            fl_seed = (unsigned)fl_arg_long(optarg, "seed", 0, 0xffffffffL);
            break;
        case 'T':
            fl_timeout_ms = (int)fl_arg_long(optarg, "timeout-ms", 100, 3600000);
            break;
        case 'w':
            fl_max_wait_ms = (int)fl_arg_long(optarg, "max-wait-ms", 1, 600000);
            break;
        case 'd':
            fl_deadline_s = fl_arg_long(optarg, "deadline-s", 1, 86400);
            break;
        case 'g':
            fl_progress_ms = (int)fl_arg_long(optarg, "progress-ms", 10, 60000);
            break;
        case 'e':
            fl_enrolled_at = fl_arg_long(optarg, "enrolled-at", 0, 4000000000L);
            break;
        default:
            return 2;
        }
    }
    if (fl_port == 0 || fl_tokens_path == NULL || fl_out == NULL || fl_enrolled_at == 0 ||
        fl_subs + fl_batches == 0) {
        fprintf(stderr, "usage: faultload --port P --tokens FILE --out DIR --enrolled-at EPOCH_S "
                        "[--submissions S] [--batches B] [options]\n");
        return 2;
    }
    if ((f = fopen(fl_tokens_path, "r")) == NULL) {
        perror(fl_tokens_path);
        return 2;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        fl_tokens = realloc(fl_tokens, (size_t)(fl_n_tokens + 1) * sizeof *fl_tokens);
        fl_tokens[fl_n_tokens++] = strdup(line);
    }
    fclose(f);
    if (fl_n_tokens == 0 || fl_subs > (long)FL_SLOTS * fl_n_tokens) {
        fprintf(stderr, "faultload: %ld submissions need %ld participants; %ld tokens given\n",
                fl_subs, (fl_subs + FL_SLOTS - 1) / FL_SLOTS, fl_n_tokens);
        return 2;
    }
    mkdir(fl_out, 0755);
    fl_sub_status = calloc((size_t)fl_subs + 1, sizeof *fl_sub_status);
    fl_batch_status = calloc((size_t)fl_batches + 1, sizeof *fl_batch_status);
    fl_batch_accepted = calloc((size_t)fl_batches + 1, sizeof *fl_batch_accepted);
    fl_lat = malloc(FL_MAX_LAT * sizeof *fl_lat);
    if (fl_sub_status == NULL || fl_batch_status == NULL || fl_batch_accepted == NULL ||
        fl_lat == NULL)
        return 2;

    fl_t0 = fl_now();
    for (int i = 0; i < fl_clients; i++)
        pthread_create(&th[i], NULL, fl_client, (void *)(uintptr_t)(i + 1));
    while (atomic_load(&fl_finished_clients) < fl_clients) {
        fl_sleep_ms(fl_progress_ms);
        fl_progress();
        if (fl_now() - fl_t0 > (double)fl_deadline_s && !atomic_load(&fl_stop)) {
            fprintf(stderr, "faultload: deadline of %ld s passed; stopping\n", fl_deadline_s);
            atomic_store(&fl_stop, 1);
        }
    }
    for (int i = 0; i < fl_clients; i++)
        pthread_join(th[i], NULL);
    elapsed = fl_now() - fl_t0;
    fl_progress();
    if (fl_write_results(&unacked) != 0) {
        perror("faultload: writing results");
        return 2;
    }
    n_lat = atomic_load(&fl_n_lat) < FL_MAX_LAT ? atomic_load(&fl_n_lat) : FL_MAX_LAT;
    qsort(fl_lat, (size_t)n_lat, sizeof *fl_lat, fl_cmp_double);
    printf("summary {\"seconds\": %.2f, \"submissions\": %ld, \"batches\": %ld, "
           "\"batch_size\": %d, \"clients\": %d, \"attempts\": %ld, \"acked_201\": %ld, "
           "\"acked_200\": %ld, \"batches_acked\": %ld, \"events_new\": %ld, "
           "\"events_dup\": %ld, \"s503\": %ld, \"s503_without_retry_after\": %ld, "
           "\"conn_errors\": %ld, \"timeouts\": %ld, \"s5xx\": %ld, \"s4xx\": %ld, "
           "\"odd_batch_answers\": %ld, \"unacked\": %ld, \"max_latency_ms\": %.1f, "
           "\"sub_p50_ms\": %.2f, "
           "\"sub_p99_ms\": %.2f}\n",
           elapsed, fl_subs, fl_batches, fl_batch, fl_clients, atomic_load(&fl_attempts),
           atomic_load(&fl_acked_201), atomic_load(&fl_acked_200), atomic_load(&fl_batches_acked),
           atomic_load(&fl_events_new), atomic_load(&fl_events_dup), atomic_load(&fl_s503),
           atomic_load(&fl_s503_no_retry), atomic_load(&fl_conn_errors), atomic_load(&fl_timeouts),
           atomic_load(&fl_s5xx), atomic_load(&fl_s4xx), atomic_load(&fl_odd), unacked,
           (double)atomic_load(&fl_max_latency_us) / 1e3, n_lat ? fl_lat[n_lat / 2] * 1e3 : 0.0,
           n_lat ? fl_lat[(long)((double)n_lat * 0.99)] * 1e3 : 0.0);
    fflush(stdout);
    return unacked == 0 ? 0 : 1;
}
