/*
 * log.c — logfmt lines to stderr (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static atomic_int log_threshold = LOG_INFO;

/* Indexed by enum log_level. */
static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&log_threshold, (int)level);
}

int log_level_parse(const char *text, enum log_level *out)
{
    for (size_t i = 0; i < sizeof log_level_names / sizeof log_level_names[0]; i++) {
        if (strcmp(text, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(enum log_level level)
{
    if ((int)level < 0 || (size_t)level >= sizeof log_level_names / sizeof log_level_names[0])
        return "unknown";
    return log_level_names[level];
}

void log_event(enum log_level level, const char *event, const char *fields, ...)
{
    char line[LOG_LINE_MAX];
    struct timespec now;
    struct tm tm;
    size_t len;
    int n;

    if ((int)level < atomic_load(&log_threshold))
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 now.tv_nsec / 1000000L, log_level_name(level), event);
    len = n < 0 ? 0 : (size_t)n;
    if (fields != NULL && len < sizeof line - 1) {
        va_list ap;
        line[len++] = ' ';
        va_start(ap, fields);
        n = vsnprintf(line + len, sizeof line - len, fields, ap);
        va_end(ap);
        len = n < 0 ? len : len + (size_t)n;
    }
    if (len >= sizeof line - 1) {
        len = sizeof line - 5;
        memcpy(line + len, "...", 3);
        len += 3;
    }
    line[len++] = '\n';
    /* One write(2) per line keeps lines from different threads whole. */
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}

const char *log_quote(char *buf, size_t size, const char *value)
{
    static const char hex[] = "0123456789abcdef";
    size_t out = 0;
    int plain = value != NULL && value[0] != '\0';

    if (size == 0)
        return buf;
    if (value == NULL)
        value = "";
    for (const char *p = value; *p && plain; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
            plain = 0;
    }
    if (plain) {
        snprintf(buf, size, "%s", value);
        return buf;
    }
    /* Reserve room for the closing quote and NUL. */
    if (size < 3) {
        buf[0] = '\0';
        return buf;
    }
    buf[out++] = '"';
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[5];
        size_t elen;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (c < ' ' || c == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 15];
            elen = 4;
        } else {
            esc[0] = (char)c;
            elen = 1;
        }
        if (out + elen + 2 > size)
            break;
        memcpy(buf + out, esc, elen);
        out += elen;
    }
    buf[out++] = '"';
    buf[out] = '\0';
    return buf;
}
