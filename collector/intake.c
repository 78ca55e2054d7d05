/*
 * intake.c — times, uuids, submissions and event batches (see intake.h).
 * Pure: no database, no HTTP.
 */
#include "intake.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "utf8.h"

void col_error_add(json_t *errors, const char *pointer, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    char ptr[512];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Both quote the input, maybe cut mid-character: a string jansson
     * refuses would drop the problem, and with it the refusal. */
    snprintf(ptr, sizeof ptr, "%s", pointer);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", utf8_sanitize(ptr), "message",
                                            utf8_sanitize(msg)));
}

/* Reads exactly n digits. */
static int col_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to a civil date (Howard Hinnant's days_from_civil). */
static int64_t col_days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int col_time_parse(const char *s, int64_t *usec)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;
    int64_t t;

    if (s == NULL || strlen(s) > 35)
        return -1;
    if (col_digits(&p, 4, &y) || *p++ != '-' || col_digits(&p, 2, &mo) || *p++ != '-' ||
        col_digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return -1;
    p++;
    if (col_digits(&p, 2, &h) || *p++ != ':' || col_digits(&p, 2, &mi) || *p++ != ':' ||
        col_digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        int ndig = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (ndig < 6)
                frac = frac * 10 + (*p - '0');
            ndig++;
            p++;
        }
        if (ndig == 0)
            return -1;
        for (int k = ndig; k < 6; k++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (col_digits(&p, 2, &oh) || *p++ != ':' || col_digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
        return -1;
    if (d > mdays[mo - 1] + (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
        return -1;
    t = col_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= (int64_t)sign * (oh * 3600 + om * 60);
    *usec = t * 1000000 + frac;
    return 0;
}

void col_time_format(int64_t usec, char buf[COL_TIME_MAX])
{
    time_t secs = (time_t)(usec >= 0 ? usec / 1000000 : (usec - 999999) / 1000000);
    int64_t frac = usec - (int64_t)secs * 1000000;
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, COL_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(frac % 1000000));
}

int64_t col_time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int col_uuid_ok(const char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    size_t i;

    if (s == NULL || strlen(s) != 36)
        return 0;
    for (i = 0; i < 36; i++) {
        int is_dash = i == (size_t)dash[0] || i == (size_t)dash[1] || i == (size_t)dash[2] ||
                      i == (size_t)dash[3];
        char c = s[i];
        if (is_dash ? c != '-'
                    : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

int col_event_type_ok(const char *type)
{
    size_t n = type ? strlen(type) : 0;

    if (n == 0 || n > 64 || type[0] < 'a' || type[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((type[i] >= 'a' && type[i] <= 'z') || (type[i] >= '0' && type[i] <= '9') ||
              type[i] == '_'))
            return 0;
    return 1;
}

/* An attune_key: ^[a-z0-9][a-z0-9_-]{0,62}$ */
static int col_key_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '_' || c == '-'))))
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------- submissions */

size_t col_submission_parse(json_t *body, int64_t now, struct col_submission *out, json_t *errors)
{
    size_t before = json_array_size(errors);
    const char *key;
    json_t *v;

    memset(out, 0, sizeof *out);
    if (!json_is_object(body)) {
        col_error_add(errors, "", "the body must be a JSON object");
        return 1;
    }
    json_object_foreach(body, key, v)
    {
        char ptr[128];
        if (strcmp(key, "id") == 0 || strcmp(key, "instrument") == 0 ||
            strcmp(key, "answers") == 0 || strcmp(key, "completed_at") == 0)
            continue;
        snprintf(ptr, sizeof ptr, "/%.100s", key);
        col_error_add(errors, ptr, "unknown field \"%.100s\"", key);
    }
    v = json_object_get(body, "id");
    if (v == NULL)
        col_error_add(errors, "/id", "\"id\" is required (a uuid chosen by the client)");
    else if (!json_is_string(v) || !col_uuid_ok(json_string_value(v)))
        col_error_add(errors, "/id", "\"id\" must be a uuid");
    else
        out->id = json_string_value(v);
    v = json_object_get(body, "instrument");
    if (v == NULL)
        col_error_add(errors, "/instrument", "\"instrument\" is required");
    else if (!json_is_string(v) || !col_key_ok(json_string_value(v)))
        col_error_add(errors, "/instrument", "\"instrument\" must be an instrument id");
    else
        out->instrument = json_string_value(v);
    v = json_object_get(body, "answers");
    if (v == NULL)
        col_error_add(errors, "/answers", "\"answers\" is required");
    else if (!json_is_object(v))
        col_error_add(errors, "/answers", "\"answers\" must be an object of item ids to numbers");
    else if (json_object_size(v) > 500)
        col_error_add(errors, "/answers", "\"answers\" holds too many items");
    else
        out->answers = v;
    v = json_object_get(body, "completed_at");
    if (v == NULL) {
        col_error_add(errors, "/completed_at", "\"completed_at\" is required (RFC 3339)");
    } else if (!json_is_string(v) || col_time_parse(json_string_value(v), &out->completed_at)) {
        col_error_add(errors, "/completed_at", "\"completed_at\" must be an RFC 3339 date-time");
    } else if (out->completed_at > now + COL_CLOCK_SKEW_US) {
        col_error_add(errors, "/completed_at", "\"completed_at\" is in the future");
    }
    return json_array_size(errors) - before;
}

void col_submission_hash(const char *instrument, const char *version, int64_t completed_at,
                         const char *const *item_ids, const double *values, size_t n,
                         unsigned char out[32])
{
    crypto_hash_sha256_state st;
    char buf[128];
    int len;

    crypto_hash_sha256_init(&st);
    len = snprintf(buf, sizeof buf, "attune-response-v1\n%s\n%s\n%lld\n", instrument, version,
                   (long long)completed_at);
    crypto_hash_sha256_update(&st, (const unsigned char *)buf, (unsigned long long)len);
    for (size_t i = 0; i < n; i++) {
        size_t id_len = strlen(item_ids[i]);
        double v = values[i];
        if (!isnan(v) && v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v)) &&
            id_len < sizeof buf - 24) {
            /* What "%.17g" writes for a whole number (every option value
             * so far), without printf: a third of the hash's cost. */
            char digits[24];
            long long w = (long long)v;
            unsigned long long u = w < 0 ? 0ULL - (unsigned long long)w : (unsigned long long)w;
            size_t nd = 0;
            do {
                digits[nd++] = (char)('0' + u % 10);
                u /= 10;
            } while (u > 0);
            memcpy(buf, item_ids[i], id_len);
            len = (int)id_len;
            buf[len++] = '=';
            if (w < 0)
                buf[len++] = '-';
            while (nd > 0)
                buf[len++] = digits[--nd];
            buf[len++] = '\n';
        } else if (isnan(v))
            len = snprintf(buf, sizeof buf, "%s=\n", item_ids[i]);
        else
            len = snprintf(buf, sizeof buf, "%s=%.17g\n", item_ids[i], v);
        if (len >= (int)sizeof buf)
            len = (int)sizeof buf - 1;
        crypto_hash_sha256_update(&st, (const unsigned char *)buf, (unsigned long long)len);
    }
    crypto_hash_sha256_final(&st, out);
}

/* ------------------------------------------------------- JSON text */

void col_jt_raw(struct col_jtext *t, const char *s, size_t n)
{
    if (t->failed || t->len + n + 1 > t->cap) {
        t->failed = 1;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void col_jt_str(struct col_jtext *t, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *run = s;

    if (s == NULL) {
        COL_JT_LIT(t, "null");
        return;
    }
    COL_JT_LIT(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6] = {'\\', (char)c, '0', '0', hex[c >> 4], hex[c & 15]};
        size_t n = 2;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        col_jt_raw(t, run, (size_t)(s - run));
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            n = 6;
        }
        col_jt_raw(t, esc, n);
        run = s + 1;
    }
    col_jt_raw(t, run, (size_t)(s - run));
    COL_JT_LIT(t, "\"");
}

void col_jt_num(struct col_jtext *t, double v)
{
    char buf[40];
    int n;

    if (v == floor(v) && fabs(v) < 1e15)
        n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    else {
        n = snprintf(buf, sizeof buf, "%.17g", v);
        for (char *c = buf; *c; c++)
            if (*c == ',')
                *c = '.';
    }
    col_jt_raw(t, buf, n > 0 ? (size_t)n : 0);
}

void col_jt_key(struct col_jtext *t, const char *key)
{
    COL_JT_LIT(t, ",");
    col_jt_str(t, key);
    COL_JT_LIT(t, ":");
}

void col_jt_real(struct col_jtext *t, double v)
{
    char buf[48], *e;
    int n = snprintf(buf, sizeof buf - 2, "%.17g", v);

    if (n <= 0) {
        col_jt_raw(t, "null", 4);
        return;
    }
    for (char *c = buf; *c; c++)
        if (*c == ',')
            *c = '.';
    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(buf, 'e')) != NULL) {
        char *from = e + 1, *to = e + 1;
        if (*from == '+')
            from++;
        else if (*from == '-')
            from++, to++;
        while (*from == '0' && from[1] != '\0')
            from++;
        memmove(to, from, strlen(from) + 1);
        n = (int)strlen(buf);
    }
    col_jt_raw(t, buf, (size_t)n);
}

/* ------------------------------------------------------------ event batches */

/* A growing text buffer; on allocation failure it stays failed (NULL). */
struct col_text {
    char *buf;
    size_t len, cap;
};

static void col_text_add(struct col_text *t, const char *s, size_t n)
{
    if (t->buf == NULL && t->cap != 0)
        return; /* failed before */
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 16384;
        char *grown;
        while (cap < t->len + n + 1)
            cap *= 2;
        grown = realloc(t->buf, cap);
        if (grown == NULL) {
            free(t->buf);
            t->buf = NULL;
            t->cap = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

size_t col_events_check(json_t *batch, int64_t now, int64_t not_before, json_t *errors,
                        char **rows_out, json_t **types_out)
{
    size_t before = json_array_size(errors), i;
    json_t *types = NULL, *seen = NULL, *ev;
    struct col_text rows = {NULL, 0, 0};
    char ptr[64], when[COL_TIME_MAX];

    if (!json_is_array(batch)) {
        col_error_add(errors, "", "the body must be a JSON array of events");
        return 1;
    }
    if (json_array_size(batch) == 0) {
        col_error_add(errors, "", "the batch is empty");
        return 1;
    }
    if (json_array_size(batch) > COL_EVENTS_MAX) {
        col_error_add(errors, "", "a batch holds at most %d events; this one has %zu",
                      COL_EVENTS_MAX, json_array_size(batch));
        return 1;
    }
    col_text_add(&rows, "[", 1);
    types = json_array();
    seen = json_object(); /* id -> at, to catch one id with two times */
    json_array_foreach(batch, i, ev)
    {
        const char *key, *id = NULL, *type = NULL;
        char *props_text = NULL;
        json_t *v;
        int64_t at = 0;
        double duration = NAN;
        int bad = 0;

        if (!json_is_object(ev)) {
            snprintf(ptr, sizeof ptr, "/%zu", i);
            col_error_add(errors, ptr, "event %zu must be an object", i);
            continue;
        }
        json_object_foreach(ev, key, v)
        {
            if (strcmp(key, "id") == 0 || strcmp(key, "type") == 0 || strcmp(key, "at") == 0 ||
                strcmp(key, "duration_s") == 0 || strcmp(key, "props") == 0)
                continue;
            snprintf(ptr, sizeof ptr, "/%zu/%.40s", i, key);
            col_error_add(errors, ptr, "unknown field \"%.40s\"", key);
            bad = 1;
        }
        v = json_object_get(ev, "id");
        snprintf(ptr, sizeof ptr, "/%zu/id", i);
        if (v == NULL) {
            col_error_add(errors, ptr, "\"id\" is required");
            bad = 1;
        } else if (!json_is_string(v) || !col_uuid_ok(json_string_value(v))) {
            col_error_add(errors, ptr, "\"id\" must be a uuid");
            bad = 1;
        } else {
            id = json_string_value(v);
        }
        v = json_object_get(ev, "type");
        snprintf(ptr, sizeof ptr, "/%zu/type", i);
        if (v == NULL) {
            col_error_add(errors, ptr, "\"type\" is required");
            bad = 1;
        } else if (!json_is_string(v) || !col_event_type_ok(json_string_value(v))) {
            col_error_add(errors, ptr, "\"type\" must be an event type name");
            bad = 1;
        } else {
            type = json_string_value(v);
        }
        v = json_object_get(ev, "at");
        snprintf(ptr, sizeof ptr, "/%zu/at", i);
        if (v == NULL) {
            col_error_add(errors, ptr, "\"at\" is required (RFC 3339)");
            bad = 1;
        } else if (!json_is_string(v) || col_time_parse(json_string_value(v), &at) != 0) {
            col_error_add(errors, ptr, "\"at\" must be an RFC 3339 date-time");
            bad = 1;
        } else if (at > now + COL_CLOCK_SKEW_US) {
            col_error_add(errors, ptr, "\"at\" is too far in the future");
            bad = 1;
        } else if (at < not_before) {
            col_error_add(errors, ptr, "\"at\" is before the participant's enrolment");
            bad = 1;
        }
        v = json_object_get(ev, "duration_s");
        snprintf(ptr, sizeof ptr, "/%zu/duration_s", i);
        if (v != NULL && !json_is_null(v)) {
            if (!json_is_number(v)) {
                col_error_add(errors, ptr, "\"duration_s\" must be a number of seconds");
                bad = 1;
            } else {
                duration = json_number_value(v);
                if (!(duration >= 0 && duration <= COL_EVENT_DURATION_X)) {
                    col_error_add(errors, ptr, "\"duration_s\" must be between 0 and 86400");
                    bad = 1;
                }
            }
        }
        v = json_object_get(ev, "props");
        snprintf(ptr, sizeof ptr, "/%zu/props", i);
        if (v != NULL && !json_is_null(v)) {
            char *text;
            if (!json_is_object(v)) {
                col_error_add(errors, ptr, "\"props\" must be an object");
                bad = 1;
            } else if ((text = json_dumps(v, JSON_COMPACT)) == NULL ||
                       strlen(text) > COL_EVENT_PROPS_MAX) {
                free(text);
                col_error_add(errors, ptr, "\"props\" is larger than %d bytes",
                              COL_EVENT_PROPS_MAX);
                bad = 1;
            } else {
                props_text = text; /* kept: it goes into the rows as is */
            }
        }
        if (id != NULL && at != 0) {
            char lower[37];
            json_t *prev;
            for (size_t k = 0; k < 37; k++)
                lower[k] = (char)((id[k] >= 'A' && id[k] <= 'F') ? id[k] - 'A' + 'a' : id[k]);
            prev = json_object_get(seen, lower);
            if (prev != NULL && json_integer_value(prev) != at) {
                snprintf(ptr, sizeof ptr, "/%zu/id", i);
                col_error_add(errors, ptr,
                              "the id repeats an earlier event of this batch with "
                              "another time");
                bad = 1;
            } else if (prev == NULL) {
                json_object_set_new(seen, lower, json_integer(at));
            }
            id = json_string_value(json_object_get(ev, "id"));
        }
        if (bad || json_array_size(errors) > before) {
            free(props_text);
            continue; /* once anything is wrong only problems are collected */
        }
        {
            /* The row as JSON text, written directly: the id is hex and
             * dashes, the type [a-z0-9_], the time formatted here, the
             * props as jansson wrote them. */
            char lower[37], head[200], dur[40];
            int n;
            for (size_t k = 0; k < 37; k++)
                lower[k] = (char)((id[k] >= 'A' && id[k] <= 'F') ? id[k] - 'A' + 'a' : id[k]);
            col_time_format(at, when);
            if (isnan(duration))
                snprintf(dur, sizeof dur, "null");
            else
                snprintf(dur, sizeof dur, "%.17g", duration);
            n = snprintf(head, sizeof head,
                         "%s{\"id\":\"%s\",\"type\":\"%s\",\"at\":\"%s\",\"duration_s\":%s,"
                         "\"props\":",
                         rows.len > 1 ? "," : "", lower, type, when, dur);
            col_text_add(&rows, head, (size_t)n);
            if (props_text != NULL)
                col_text_add(&rows, props_text, strlen(props_text));
            else
                col_text_add(&rows, "null", 4);
            col_text_add(&rows, "}", 1);
            free(props_text);
            {
                int known = 0;
                size_t k;
                json_t *t;
                json_array_foreach(types, k, t) known |= strcmp(json_string_value(t), type) == 0;
                if (!known)
                    json_array_append_new(types, json_string(type));
            }
        }
    }
    json_decref(seen);
    col_text_add(&rows, "]", 1);
    if (json_array_size(errors) == before && rows.buf == NULL)
        col_error_add(errors, "", "out of memory");
    if (json_array_size(errors) > before) {
        free(rows.buf);
        json_decref(types);
        return json_array_size(errors) - before;
    }
    *rows_out = rows.buf;
    *types_out = types;
    return 0;
}
