/*
 * log.h — one line per event, to stderr, in logfmt:
 *
 *   2026-11-28T18:00:00.123Z level=info event=http.request method=GET path=/healthz status=200
 *
 * The time is UTC with milliseconds; `event` is a dotted name that says what
 * happened; the rest are key=value fields chosen by the caller. Values that may
 * hold spaces, quotes or control characters (paths, messages from libpq) go
 * through log_quote() so that one event is always exactly one line.
 *
 * Thread-safe: each line is formatted into a private buffer and written with
 * one call. Only the layer that decides what to do with an error logs it.
 */
#ifndef ATTUNE_LOG_H
#define ATTUNE_LOG_H

#include <stddef.h>

enum log_level {
    LOG_DEBUG = 0,
    LOG_INFO = 1,
    LOG_WARN = 2,
    LOG_ERROR = 3,
};

/* Events below `level` are dropped. Default: LOG_INFO. */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 if unknown. */
int log_level_parse(const char *text, enum log_level *out);

/* The name of a level, as printed in the log ("info"). */
const char *log_level_name(enum log_level level);

/*
 * Writes one event. `fields` is a printf format for the key=value part (may be
 * NULL). Lines longer than 4 KiB are cut and end in "...".
 */
void log_event(enum log_level level, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Writes `value` into `buf` as a logfmt value: as is when it is a plain token,
 * otherwise in double quotes with \" \\ \n \t and \xNN escapes. Always
 * NUL-terminates; cuts long values. Returns buf, so it can be used inline:
 *   char q[256]; log_event(LOG_INFO, "x", "path=%s", log_quote(q, sizeof q, path));
 */
const char *log_quote(char *buf, size_t size, const char *value);

#endif
