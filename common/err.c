/*
 * err.c — filling and printing the caller-owned error record (see err.h).
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->message[0] = '\0';
    e->detail[0] = '\0';
    e->hint[0] = '\0';
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->detail[0] = '\0';
    e->hint[0] = '\0';
    return code;
}

void err_detail(struct err *e, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
}

void err_hint(struct err *e, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(e->hint, sizeof e->hint, fmt, ap);
    va_end(ap);
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    char prefix[ERR_MESSAGE_MAX];
    char joined[2 * ERR_MESSAGE_MAX + 4];
    va_list ap;

    if (e == NULL)
        return 0;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof joined, "%s: %s", prefix, e->message);
    memcpy(e->message, joined, sizeof e->message - 1);
    e->message[sizeof e->message - 1] = '\0';
    return e->code;
}

void err_print(const struct err *e, FILE *out)
{
    if (e == NULL)
        return;
    fprintf(out, "error: %s\n", e->message[0] ? e->message : "unknown error");
    if (e->detail[0])
        fprintf(out, "DETAIL: %s\n", e->detail);
    if (e->hint[0])
        fprintf(out, "HINT: %s\n", e->hint);
}
