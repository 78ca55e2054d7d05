/*
 * loadgen.c — an HTTP/1.1 keep-alive load generator for bench/collector.py:
 * CONNS connections, one thread each, each sending its next request as soon
 * as the previous answer is read, for DURATION seconds. It sends the same
 * requests to the baseline and to the collector (the collector also gets
 * each participant's bearer token; the baseline ignores it).
 *
 *   loadgen HOST PORT PATH MODE DURATION_S CONNS TOKENS_FILE OFFSET [BATCH]
 *
 * MODE submit: questionnaires, one per request; request k uses participant
 * k / 3 (from OFFSET) and instrument k % 3 (GAD-7, PHQ-9, WHO-5), since a
 * participant answers each instrument once per week. MODE events: batches
 * of BATCH events for participant k mod N. Prints one line of JSON:
 * requests, non-2xx answers, rows sent, seconds, p50/p99 latency, and the
 * next OFFSET.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_LAT   2000000

static const char *host, *path, *mode;
static int port, batch = 500, submit_mode;
static double duration;
static char **tokens;
static long n_tokens;
static atomic_long next_index;
static long limit_index;
static atomic_long sent, failed, rows;
static atomic_int stop;
static unsigned run_id;
static double *lat;
static atomic_long n_lat;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso_now(char *buf, size_t size, int minus_s)
{
    time_t t = time(NULL) - minus_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int connect_to(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns its status or -1. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *hdr_end = NULL;
    long clen = 0;
    int status;

    while (hdr_end == NULL) {
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        hdr_end = strstr(buf, "\r\n\r\n");
        if (hdr_end == NULL && have >= cap - 1)
            return -1;
    }
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    {
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl != NULL && cl < hdr_end)
            clen = strtol(cl + 17, NULL, 10);
    }
    {
        size_t body_have = have - (size_t)(hdr_end + 4 - buf);
        while ((long)body_have < clen) {
            char tmp[65536];
            ssize_t n = read(fd, tmp, sizeof tmp);
            if (n <= 0)
                return -1;
            body_have += (size_t)n;
        }
    }
    return status;
}

static const char *answers[3] = {
    "{\"gad7_1\":1,\"gad7_2\":2,\"gad7_3\":1,\"gad7_4\":0,\"gad7_5\":3,\"gad7_6\":1,\"gad7_7\":1}",
    "{\"phq9_1\":1,\"phq9_2\":2,\"phq9_3\":1,\"phq9_4\":0,\"phq9_5\":3,\"phq9_6\":1,\"phq9_7\":1,"
    "\"phq9_8\":0,\"phq9_9\":0}",
    "{\"who5_1\":3,\"who5_2\":2,\"who5_3\":4,\"who5_4\":1,\"who5_5\":3}"};
static const char *instruments[3] = {"gad7", "phq9", "who5"};
static const char *types[4] = {"app_open", "session_start", "breathing_exercise", "session_end"};

static void *worker(void *arg)
{
    size_t body_cap = (size_t)batch * 200 + 1024;
    char *body = malloc(body_cap), *req = malloc(body_cap + 1024), *resp = malloc(65536);
    int fd = -1;
    (void)arg;

    while (!atomic_load(&stop)) {
        long k = atomic_fetch_add(&next_index, 1);
        const char *token;
        int blen, rlen, status;
        double t0;

        if (submit_mode && limit_index > 0 && k >= limit_index) {
            atomic_store(&stop, 1);
            break;
        }
        if (fd < 0 && (fd = connect_to()) < 0) {
            atomic_fetch_add(&failed, 1);
            usleep(10000);
            continue;
        }
        if (submit_mode) {
            char when[32];
            token = tokens[(k / 3) % n_tokens];
            iso_now(when, sizeof when, 60);
            blen = snprintf(body, body_cap,
                            "{\"id\":\"%08x-0000-4000-8000-%012lx\",\"instrument\":\"%s\","
                            "\"answers\":%s,\"completed_at\":\"%s\"}",
                            run_id, k, instruments[k % 3], answers[k % 3], when);
        } else {
            size_t used = 0;
            token = tokens[k % n_tokens];
            body[used++] = '[';
            for (int i = 0; i < batch; i++) {
                char when[32];
                iso_now(when, sizeof when, 60 + (int)((k * 7 + i) % 3600));
                used += (size_t)snprintf(
                    body + used, body_cap - used,
                    "%s{\"id\":\"%08x-%04x-4000-8000-%012lx\",\"type\":\"%s\",\"at\":\"%s\","
                    "\"duration_s\":%d.5,\"props\":{\"screen\":\"home\",\"n\":%d}}",
                    i ? "," : "", run_id, (unsigned)(i & 0xffff), k, types[i % 4], when, i % 60, i);
            }
            body[used++] = ']';
            body[used] = '\0';
            blen = (int)used;
        }
        rlen = snprintf(req, body_cap + 1024,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                        "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
                        path, host, token, blen, body);
        t0 = now_s();
        if (write_all(fd, req, (size_t)rlen) != 0 ||
            (status = read_response(fd, resp, 65536)) < 0) {
            close(fd);
            fd = -1;
            atomic_fetch_add(&failed, 1);
            continue;
        }
        {
            long i = atomic_fetch_add(&n_lat, 1);
            if (i < MAX_LAT)
                lat[i] = now_s() - t0;
        }
        atomic_fetch_add(&sent, 1);
        if (status < 200 || status > 299) {
            if (atomic_fetch_add(&failed, 1) < 3)
                fprintf(stderr, "loadgen: status %d: %.300s\n", status, resp);
        } else {
            atomic_fetch_add(&rows, submit_mode ? 1 : batch);
        }
    }
    if (fd >= 0)
        close(fd);
    free(body);
    free(req);
    free(resp);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    pthread_t th[MAX_CONNS];
    int conns;
    long offset;
    FILE *f;
    char line[256];
    double t0, t1;
    long n;

    if (argc < 9) {
        fprintf(stderr, "usage: loadgen HOST PORT PATH MODE DURATION_S CONNS TOKENS OFFSET "
                        "[BATCH]\n");
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    path = argv[3];
    mode = argv[4];
    duration = strtod(argv[5], NULL);
    conns = atoi(argv[6]);
    offset = strtol(argv[8], NULL, 10);
    if (argc > 9)
        batch = atoi(argv[9]);
    submit_mode = strcmp(mode, "submit") == 0;
    if (conns < 1 || conns > MAX_CONNS || batch < 1 || batch > 1000)
        return 2;
    f = fopen(argv[7], "r");
    if (f == NULL) {
        perror(argv[7]);
        return 1;
    }
    tokens = malloc(1000000 * sizeof *tokens);
    while (fgets(line, sizeof line, f) && n_tokens < 1000000) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            tokens[n_tokens++] = strdup(line);
    }
    fclose(f);
    if (n_tokens == 0)
        return 1;
    lat = malloc(MAX_LAT * sizeof *lat);
    run_id = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    atomic_init(&next_index, offset);
    /* The collector takes one response per participant slot; the baseline,
     * which has no slots, runs on (LOADGEN_NO_LIMIT). */
    limit_index = getenv("LOADGEN_NO_LIMIT") ? 0 : 3 * n_tokens;
    t0 = now_s();
    for (int i = 0; i < conns; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    while (!atomic_load(&stop) && now_s() - t0 < duration)
        usleep(20000);
    atomic_store(&stop, 1);
    for (int i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    t1 = now_s();
    n = atomic_load(&n_lat) < MAX_LAT ? atomic_load(&n_lat) : MAX_LAT;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf("{\"requests\": %ld, \"failed\": %ld, \"rows\": %ld, \"seconds\": %.3f, "
           "\"p50_ms\": %.2f, \"p99_ms\": %.2f, \"next_offset\": %ld, \"exhausted\": %s}\n",
           atomic_load(&sent), atomic_load(&failed), atomic_load(&rows), t1 - t0,
           n ? lat[n / 2] * 1e3 : 0.0, n ? lat[(long)(n * 0.99)] * 1e3 : 0.0,
           atomic_load(&next_index),
           submit_mode && limit_index > 0 && atomic_load(&next_index) >= limit_index ? "true"
                                                                                     : "false");
    return 0;
}
