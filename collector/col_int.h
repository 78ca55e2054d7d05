/*
 * col_int.h — the collector's internals shared between its files: who a
 * participant is once their token is checked, the definitions cache, the
 * core submission path every entry point shares (API, web form, FHIR, demo),
 * and the routes of each file. Public entry points are in collector.h.
 */
#ifndef ATTUNE_COL_INT_H
#define ATTUNE_COL_INT_H

#include <semaphore.h>
#include <stdint.h>

#include "access.h"
#include "audit.h"
#include "collector.h"
#include "intake.h"
#include "scoring.h"

/* Auth levels of the collector's routes (struct http_route.auth): the access
 * module's (access.h). */
#define COL_AUTH_PUBLIC      ACC_PUBLIC
#define COL_AUTH_PARTICIPANT ACC_PARTICIPANT

/* A participant, as their token reveals them (the access module's look-up
 * or its token cache: acc_identity). Strings live in the struct. */
struct col_participant {
    long long id;
    char study[64];
    char arm[64];
    char code[40];
    char status[16]; /* active, withdrawn, completed */
    int64_t enrolled_at;
    /* A token to check again inside the write statement (its \\x hex
     * hash), or "" when the request's token was just checked. */
    char token_hash_param[2 + 64 + 1];
    int verify_in_write;
    /* Who to name in audit rows (acc_identity of the request), or NULL. */
    const char *actor;
    const char *request_id;
    const char *source_addr;
};

/*
 * The participant of an authorised request (req->auth, a struct
 * acc_identity of kind participant, which carries all the collector needs)
 * into *out. 1, or 0 when the request is not a participant's. `e` is kept
 * for the callers' uniform error handling; nothing here fails otherwise.
 */
int col_participant_of(struct http_request *req, struct col_participant *out, struct err *e);

/* As col_participant_of(); on failure fills `rep` (503, 403) and returns 0. */
int col_participant_or_reply(struct http_request *req, struct http_reply *rep,
                             struct col_participant *p);

/* ---- definitions (definitions.c) ---- */

struct col_defs;

int col_defs_new(struct col_defs **out);
void col_defs_free(struct col_defs *defs);

/*
 * Both use `conn` for a cache miss, or (conn NULL) a connection of `pool`
 * taken only then: a hit touches no connection.
 *
 * The definition a study schedules for `instrument`, loaded from the
 * instruments table on first use and kept (a registered version never
 * changes). Returns 1 and *out (borrowed, lives as long as the cache), 0 when
 * the study does not schedule the instrument, or a negative db_status.
 */
int col_defs_scheduled(struct col_defs *defs, struct db_pool *pool, PGconn *conn, const char *study,
                       const char *instrument, const struct ins_definition **out, struct err *e);

/*
 * For a submission whose participant is not known yet (ACC_DEFERRED): the
 * definition of `instrument` in the version most studies schedule, a guess
 * the batch statement checks against the participant's own schedule. Takes
 * a connection of `pool` only on a miss. 1 and *out (borrowed), 0 when no
 * study schedules the instrument, or a negative db_status.
 */
int col_defs_guess(struct col_defs *defs, struct db_pool *pool, const char *instrument,
                   const struct ins_definition **out, struct err *e);

/* The definition id@version, loaded on first use. 1, 0 (unknown) or <0. */
int col_defs_get(struct col_defs *defs, struct db_pool *pool, PGconn *conn, const char *id,
                 const char *version, const struct ins_definition **out, struct err *e);

/*
 * The item texts study `study` supplied for `def` (a scoring key; its id and
 * version), checked against it by the instruments engine: 1 and *out
 * (borrowed, lives as long as the cache), 0 with *out NULL when the study
 * supplied none or the definition brings its own texts, or a negative
 * db_status (DB_EHARD also for stored texts that no longer check). Each call
 * reads the stored checksum; the texts are parsed once per checksum.
 */
int col_texts_get(struct col_defs *defs, struct db_pool *pool, PGconn *conn, const char *study,
                  const struct ins_definition *def, const struct ins_texts_file **out,
                  struct err *e);

/* ---- group commit (batch.c) ---- */

struct col_batcher;

/*
 * The batch statement's input (attune_response_store_rows(), sql/014) is one
 * array per column, in PostgreSQL's binary format. A job brings its values
 * already encoded, column by column, as array elements (each a 4-byte
 * big-endian length, -1 for NULL, then the value's binary form); the writer
 * puts the jobs' elements together behind each array's header. The flags,
 * item ids and values take several elements per job, sliced back per row by
 * the statement.
 */
enum col_batch_column {
    COL_BC_ID,          /* uuid */
    COL_BC_PARTICIPANT, /* int8, NULL while the token is still to be looked up */
    COL_BC_INSTRUMENT,  /* text */
    COL_BC_VERSION,     /* text */
    COL_BC_COMPLETED,   /* timestamptz */
    COL_BC_SOURCE,      /* text */
    COL_BC_HASH,        /* bytea: the content hash */
    COL_BC_TOTAL,       /* float8, NULL when voided */
    COL_BC_SUBSCALES,   /* jsonb */
    COL_BC_SEVERITY,    /* text or NULL */
    COL_BC_ANSWERED,    /* int4 */
    COL_BC_MISSING,     /* int4 */
    COL_BC_PRORATED,    /* bool */
    COL_BC_TOKEN,       /* bytea: the token's hash to check in the write, or NULL */
    COL_BC_ACTOR,       /* text or NULL */
    COL_BC_REQUEST_ID,  /* text or NULL */
    COL_BC_SOURCE_ADDR, /* text (an address) or NULL */
    COL_BC_FLAGS,       /* text, one element per flag */
    COL_BC_ITEMS,       /* text, one element per answered item */
    COL_BC_VALUES,      /* float8, one element per answered item */
    COL_BC_N
};

struct col_batch_cells {
    unsigned char *buf; /* every column's elements, one column after another */
    size_t len, cap;
    size_t off[COL_BC_N], bytes[COL_BC_N];
    int count[COL_BC_N]; /* elements in each column */
    int nulls;           /* a bit per column holding a NULL */
    int cur;             /* the column being written, -1 before the first */
    int failed;          /* out of memory, or a value that does not encode */
};

void col_cells_init(struct col_batch_cells *c);
void col_cells_free(struct col_batch_cells *c);
/* Starts column `col`; columns are written once each, in any order. */
void col_cells_column(struct col_batch_cells *c, enum col_batch_column col);
void col_cells_null(struct col_batch_cells *c);
void col_cells_text(struct col_batch_cells *c, const char *s); /* NULL: SQL NULL */
void col_cells_bytes(struct col_batch_cells *c, const void *p, size_t n);
void col_cells_int4(struct col_batch_cells *c, int32_t v);
void col_cells_int8(struct col_batch_cells *c, int64_t v);
void col_cells_float8(struct col_batch_cells *c, double v); /* NaN: SQL NULL */
void col_cells_bool(struct col_batch_cells *c, int v);
void col_cells_uuid(struct col_batch_cells *c, const char *text); /* canonical text form */
void col_cells_timestamptz(struct col_batch_cells *c, int64_t unix_usec);
void col_cells_jsonb(struct col_batch_cells *c, const char *json_text);

/* One response waiting for a batch, with its values for the statement. */
struct col_batch_job {
    struct col_batch_cells cells;
    char id[37];
    sem_t wake; /* posted by the writer once the job's batch is done */
    /* filled by the writer */
    int rc;       /* 0, or a db_status (DB_EUNAVAILABLE: answer 503) */
    int inserted; /* stored as new; else take the one-by-one path */
    int week;
    char timing[8];
    long long received;    /* microseconds since the epoch */
    long long participant; /* whose it was (found by the token when not given) */
    char study[64];
    struct col_batch_job *next;
};

/* Starts `writers` writer threads on `pool` (borrowed). */
int col_batcher_start(struct db_pool *pool, int writers, struct col_batcher **out, struct err *e);

/* Stores what is queued, stops the writers and frees. NULL-safe. */
void col_batcher_stop(struct col_batcher *b);

/* Queues `job` and waits until its batch has committed (or failed). Returns job->rc. */
int col_batcher_store(struct col_batcher *b, struct col_batch_job *job);

/* ---- the submission path (responses.c) ---- */

struct col_submit {
    int status;        /* HTTP status: 201, 200, 4xx, 5xx */
    const char *code;  /* problem code when status >= 400 */
    char detail[512];  /* for people */
    json_t *errors;    /* array of {"pointer","message"}; owned */
    json_t *record;    /* the stored record (200: a retry); owned */
    char *record_text; /* or, for one stored now (201), its JSON text; malloc'd */
    char existing[37]; /* the response that holds the week, on week-taken */
    /* col_response_submit_deferred(): whose the stored response was */
    long long participant;
    char study[64];
};

/*
 * Takes one questionnaire submission `body` ({"id","instrument","answers",
 * "completed_at"}) for participant `p` through validation, the missing-item
 * rule, scoring, placement on the study week and storage, exactly once.
 * `source` is the responses.source value ("api", "form", "fhir", "demo").
 * `conn` serves the definitions cache and the one-by-one path.
 * Fills `out` (free with col_submit_clear()); the return value is out->status.
 * A 2xx means the response is committed.
 */
int col_response_submit(struct col_defs *defs, PGconn *conn, const struct col_participant *p,
                        json_t *body, const char *source, int64_t now, struct col_submit *out);

/* The same in the server: stores through the group-commit writers (batcher)
 * and takes connections from `pool` only while it needs one — never while it
 * waits for a batch. col_response_submit() stores on `conn` directly. */
int col_response_submit_via(struct col_defs *defs, struct col_batcher *batcher,
                            struct db_pool *pool, const struct col_participant *p, json_t *body,
                            const char *source, int64_t now, struct col_submit *out);

/* A submission whose token the access module has not looked up (ACC_DEFERRED). */
struct col_deferred {
    const char *token_hash_hex; /* "\\x" and 64 hex digits (acc_identity.token_hash_hex) */
    const char *request_id;
    const char *source_addr; /* or NULL */
};

/*
 * The common path of POST /api/v1/responses when the token's look-up was
 * deferred: the submission is checked and scored against the definition
 * col_defs_guess() names and handed to the group commit with the token's
 * hash instead of a participant, so that the batch statement checks the
 * token together with the write (live token, participant not withdrawn, the
 * instrument scheduled at that version for them) and names the participant
 * in the audit row. Returns 1 with `out` filled (201, the record,
 * out->participant and out->study) once committed; 0 when not stored, for
 * whatever reason (invalid, unknown instrument, a retry, a conflict, an
 * unknown or revoked token, a withdrawn participant, the database
 * unreachable): the caller then looks the token up (acc_authorize_resolve())
 * and takes the ordinary path, which stores or says why. Clear `out` either
 * way.
 */
int col_response_submit_deferred(struct col_defs *defs, struct col_batcher *batcher,
                                 struct db_pool *pool, const struct col_deferred *d, json_t *body,
                                 const char *source, int64_t now, struct col_submit *out);

void col_submit_clear(struct col_submit *s);

/* Sends a col_submit as a reply (record or problem+json). */
void col_submit_reply(struct col_submit *s, struct http_reply *rep);

/* ---- the web form ---- */

/* A question of the web form that needs asking again, and why (arena text). */
struct col_item_error {
    int has;
    const char *text;
};

/*
 * The answers of a posted web form (req->form, one field per item id) as the
 * object a submission carries, into `answers` (a new object the caller
 * owns); for each question not answered, or answered with something that is
 * not a number, errs[i] (an array of def->n_items, zeroed) gets a kind
 * message in req->arena. Returns the number of such questions. Pure: the
 * instruments engine judges the values afterwards (col_answers_score), and
 * tests/fuzz/fuzz_form_answers.c drives it with arbitrary bodies.
 */
size_t col_form_answers(const struct http_request *req, const struct ins_definition *def,
                        json_t *answers, struct col_item_error *errs);

/* ---- replies shared by the handlers ---- */

/* 503 with Retry-After for an unavailable database, 500 otherwise. */
void col_reply_db_error(struct http_reply *rep, const struct err *e);

/* The application context of a request. */
static inline struct col_app *col_app_of(struct http_request *req)
{
    return (struct col_app *)req->app;
}

/* ---- routes of each file ---- */

extern const struct http_route col_participant_routes[];
extern const size_t col_participant_routes_count;
extern const struct http_route col_form_routes[];
extern const size_t col_form_routes_count;
extern const struct http_route col_fhir_routes[];
extern const size_t col_fhir_routes_count;

/* Builds the JSON of a stored response from a col_response_select row. */
json_t *col_response_record_from_row(PGresult *res, int row);

#endif
