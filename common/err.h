/*
 * err.h — the caller-owned error record that every module fills on failure.
 *
 * Functions return an int status (0 success, a small negative per-module code
 * on failure) and, when given a non-NULL `struct err *`, describe the failure
 * there. Messages follow PostgreSQL's voice: `message` is short, lower case,
 * no full stop; `detail` and `hint` are full sentences. Library code never
 * logs: the layer that decides what to do with an error logs it, once.
 */
#ifndef ATTUNE_ERR_H
#define ATTUNE_ERR_H

#include <stddef.h>
#include <stdio.h>

#define ERR_MESSAGE_MAX 256
#define ERR_DETAIL_MAX  1024
#define ERR_HINT_MAX    512

struct err {
    int code;                      /* the failing module's code; 0 when clear */
    char message[ERR_MESSAGE_MAX]; /* "could not open \"x\"" */
    char detail[ERR_DETAIL_MAX];   /* "The file does not exist." (may be empty) */
    char hint[ERR_HINT_MAX];       /* "Run attune migrate." (may be empty) */
};

/* Clears the record. NULL-safe. */
void err_clear(struct err *e);

/*
 * Sets code and message (printf-style) and clears detail and hint. Returns
 * `code`, so failures read `return err_set(e, X_NOTFOUND, "...")`. NULL-safe:
 * with e == NULL it only returns the code.
 */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets the detail sentence(s). NULL-safe. */
void err_detail(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the hint sentence. NULL-safe. */
void err_hint(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Prefixes the message with context, "context: message", keeping the code,
 * detail and hint. Used when an error crosses a layer that knows more (the file
 * name, say). Returns e->code. NULL-safe.
 */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Writes "error: message\nDETAIL: ...\nHINT: ...\n" to a stdio stream, the form
 * the command line uses.
 */
void err_print(const struct err *e, FILE *out);

#endif
