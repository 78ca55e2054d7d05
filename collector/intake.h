/*
 * intake.h — the pure half of taking data in: RFC 3339 times, client uuids,
 * the shape of a questionnaire submission, event batches and study protocol
 * files. No database and no HTTP: every function takes JSON (or text) and
 * returns values plus a list of problems, each a {"pointer", "message"}
 * object naming the offending field as a JSON pointer (RFC 6901), so that a
 * refusal names every bad field, not just the first. The unit suite drives
 * these directly (tests/unit/test_intake.c).
 */
#ifndef ATTUNE_COL_INTAKE_H
#define ATTUNE_COL_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* ---- times and ids ---- */

#define COL_TIME_MAX 40 /* room for a formatted time and its NUL */

/*
 * Parses an RFC 3339 date-time ("2026-03-01T10:00:00Z",
 * "2026-03-01T11:00:00.5+01:00") into microseconds since the Unix epoch.
 * Strict: a 'T' (or 't'), seconds, and a zone are required; years 1970–9999.
 * Returns 0, or -1 when `s` is not such a time.
 */
int col_time_parse(const char *s, int64_t *usec);

/* Formats microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
void col_time_format(int64_t usec, char buf[COL_TIME_MAX]);

/* The current time in microseconds since the epoch. */
int64_t col_time_now(void);

/* 1 when `s` is a uuid in the 8-4-4-4-12 hex form (either case). */
int col_uuid_ok(const char *s);

/* Appends {"pointer", "message"} to `errors`; the message is printf-style. */
void col_error_add(json_t *errors, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- JSON text written directly ----
 *
 * For the texts on every submission's path (the batch statement's input, the
 * 201 record): building jansson objects only to dump them was a third of the
 * collector's own instructions per submission (callgrind). The buffer is
 * fixed-size, the caller's: `failed` is set when a write does not fit, and
 * stays set.
 */
struct col_jtext {
    char *buf; /* cap bytes, NUL-terminated as it grows */
    size_t len, cap;
    int failed;
};

#define COL_JT_LIT(t, lit) col_jt_raw((t), (lit), sizeof(lit) - 1)

/* Appends `n` bytes as they are. */
void col_jt_raw(struct col_jtext *t, const char *s, size_t n);
/* A JSON string, or null for NULL: '"', '\\' and control characters escaped
 * (as jansson writes them), UTF-8 passed through. */
void col_jt_str(struct col_jtext *t, const char *s);
/* ",\"key\":" */
void col_jt_key(struct col_jtext *t, const char *key);
/* A finite number that reads back exactly: whole numbers below 1e15 as
 * integers, others with 17 significant digits; '.' whatever the locale. */
void col_jt_num(struct col_jtext *t, double v);
/* A real exactly as jansson's json_dumps() with JSON_REAL_PRECISION(17)
 * writes it (the replies' format): "9.0", "0.33333333333333331", "1e20". */
void col_jt_real(struct col_jtext *t, double v);

/* ---- questionnaire submissions ---- */

/* How far in the future a client's clock may be before its times are refused. */
#define COL_CLOCK_SKEW_US (10LL * 60 * 1000000)

struct col_submission {
    const char *id;         /* borrowed from the body */
    const char *instrument; /* borrowed */
    json_t *answers;        /* borrowed object */
    int64_t completed_at;   /* microseconds */
};

/*
 * Checks the shape of a POST /api/v1/responses body:
 * {"id": uuid, "instrument": key, "answers": {...}, "completed_at": RFC 3339}
 * and nothing else. `now` bounds completed_at (no later than now + skew).
 * Appends a problem per bad or missing field; returns how many.
 */
size_t col_submission_parse(json_t *body, int64_t now, struct col_submission *out, json_t *errors);

/*
 * The content hash of a submission (SHA-256): instrument, version,
 * completed_at and the answers in item order, so that the same content gives
 * the same hash however its JSON was laid out. `values` are the checked
 * values (NAN = missing) of the definition's `n` items named `item_ids`.
 */
void col_submission_hash(const char *instrument, const char *version, int64_t completed_at,
                         const char *const *item_ids, const double *values, size_t n,
                         unsigned char out[32]);

/* ---- event batches ---- */

#define COL_EVENTS_MAX       1000 /* events per batch */
#define COL_EVENT_PROPS_MAX  4096 /* bytes of one event's props, as compact JSON */
#define COL_EVENT_DURATION_X 86400.0

/*
 * Checks a batch (a JSON array of events, 1..COL_EVENTS_MAX) in full: every
 * event an object with "id" (uuid), "type" (a well-formed type name),
 * "at" (RFC 3339, not before `not_before`, not after `now` + skew), optional
 * "duration_s" (0–86400) and "props" (an object of at most
 * COL_EVENT_PROPS_MAX bytes), and nothing else; the same id twice in a batch
 * with a different time is refused too. Appends one problem per bad field
 * ("/3/at"); on success (no problem) sets *rows to the text of a JSON array
 * of normalised events for the database ({"id","type","at","duration_s",
 * "props"} with "at" in UTC; malloc'd, the caller's) and the types in *types
 * (a new array of the distinct type names). Returns the number of problems.
 */
size_t col_events_check(json_t *batch, int64_t now, int64_t not_before, json_t *errors, char **rows,
                        json_t **types);

/* 1 when `type` is a well-formed event type name (^[a-z][a-z0-9_]{0,63}$). */
int col_event_type_ok(const char *type);

/* ---- study protocol files ---- */

#define COL_PROTOCOL_MAX_ARMS     16
#define COL_PROTOCOL_MAX_SCHEDULE 64
#define COL_PROTOCOL_MAX_PATH     1024 /* an item texts path */

struct col_protocol_entry {
    const char *instrument; /* borrowed from the protocol's JSON */
    const char *version;
    const char *item_texts; /* the study's item texts file (relative to the protocol), or NULL */
    int weeks[105];
    size_t n_weeks;
    int window_days;
};

struct col_protocol {
    json_t *root; /* a reference, released by col_protocol_free() */
    const char *id, *title, *timezone, *support_text;
    int weeks;
    int allow_late;
    const char *arm_ids[COL_PROTOCOL_MAX_ARMS];
    const char *arm_labels[COL_PROTOCOL_MAX_ARMS];
    size_t n_arms;
    struct col_protocol_entry schedule[COL_PROTOCOL_MAX_SCHEDULE];
    size_t n_schedule;
    json_t *event_types; /* borrowed array of {"type","description"}, or NULL */
};

/* The support text a study without its own shows on every participant page. */
extern const char col_default_support_text[];

/*
 * Parses a protocol (format in docs/collector.md). Every problem is appended
 * to `errors` as a JSON pointer into the file; returns the number found.
 * `default_tz` applies when the protocol names no time zone (the zone itself
 * is checked by PostgreSQL when the study is created). On success *out is the
 * caller's, freed with col_protocol_free().
 */
size_t col_protocol_parse(json_t *root, const char *default_tz, struct col_protocol **out,
                          json_t *errors);

void col_protocol_free(struct col_protocol *p);

#endif
