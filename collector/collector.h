/*
 * collector.h — `attune serve`: the service that takes participants'
 * questionnaires and app events, and serves the dashboards.
 *
 * struct col_app is the application context every handler reaches through
 * req->app: configuration, the PostgreSQL pool, the migrations the program
 * expects. col_serve() wires it to the HTTP server and runs until SIGTERM or
 * SIGINT, then finishes the requests in flight and stops.
 */
#ifndef ATTUNE_COLLECTOR_H
#define ATTUNE_COLLECTOR_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "access.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "migrate.h"

enum {
    COL_EINIT = -1,     /* something the server needs could not be set up */
    COL_EPENDING = -2,  /* the database has unapplied migrations */
    COL_EINVAL = -3,    /* a protocol or argument is invalid; the detail names every problem */
    COL_EEXISTS = -4,   /* the study already exists */
    COL_ENOTFOUND = -5, /* no such study, arm or participant */
    COL_ECHANGED = -6,  /* a registered version (or answered item texts) differs from the file */
};

struct col_defs;
struct col_batcher;
struct ins_registry;
struct dash_app;

struct col_app {
    /* First, so that access/ (acc_authorize(), its handlers) can read it
     * through req->app without knowing the rest of this struct. */
    struct acc_env access;
    const struct cfg *cfg;
    struct db_pool *pool;
    struct col_defs *defs;            /* instrument definitions, loaded from the database on use */
    struct col_batcher *batcher;      /* group commit of responses (batch.c) */
    struct ins_registry *registry;    /* definitions from instruments_dir (FHIR responses) */
    struct dash_app *dash;            /* the dashboards (dashboards/dash.h) */
    struct migration_set *migrations; /* what this program expects */
    pthread_mutex_t migrations_lock;  /* migrate_check() writes into the set */
    time_t started;
};

/* The collector's statement table (statements.c), and the set-up statements
 * of the command-line tools (study.c). col_statement_tables lists both, for
 * db_prepare() on a command-line connection. */
extern const struct db_statement col_statements[];
extern const struct db_statement col_setup_statements[];
extern const struct db_statement *const col_statement_tables[];

/* The health routes (health.c): /healthz, /readyz, the landing page. */
extern const struct http_route col_health_routes[];
extern const size_t col_health_routes_count;

/* ---- study set-up (study.c), used by the command line ---- */

/*
 * `attune study create FILE`: parses the protocol, registers the instrument
 * definitions it schedules (from cfg->instruments_dir) with their checksums —
 * refusing one whose registered version differs, since a definition with data
 * never changes in place — checks the item texts files its schedule names
 * (relative to FILE) against their definitions, and creates the study, its
 * arms, schedule, item texts and event types in one transaction. A texts file
 * the engine refuses is COL_EINVAL naming the protocol, the field
 * (/schedule/N/item_texts) and the problem. COL_EEXISTS when the study exists. With
 * `who` (may be NULL) the transaction also appends a study.create audit row
 * (its action and target are set here); the connection then needs
 * audit_statements prepared.
 */
struct audit_entry;
int col_study_create(PGconn *conn, const struct cfg *cfg, const char *path,
                     const struct audit_entry *who, struct err *e);

/* What col_study_texts() did with a study's item texts. */
enum col_texts_outcome {
    COL_TEXTS_STORED = 0, /* the study had none for that instrument version */
    COL_TEXTS_UNCHANGED,  /* the same texts (by checksum) were stored already */
    COL_TEXTS_REPLACED,   /* other texts were stored, and nobody had answered them */
};

/*
 * `attune study texts STUDY FILE`: checks an item texts file (format in
 * docs/instruments.md) against the definition study `study` schedules — the
 * file names the instrument and version — and stores it in item_texts
 * (sql/008_item_texts.sql) with a study.texts audit row (with `who`), in one
 * transaction. Texts stored already with another checksum are replaced only
 * while no participant of the study has answered that version; after that
 * COL_ECHANGED. COL_ENOTFOUND for an unknown study or an instrument it does
 * not schedule; COL_EINVAL (naming the file and field) for a file the engine
 * refuses. *outcome says what happened.
 */
int col_study_texts(PGconn *conn, const char *study, const char *path,
                    const struct audit_entry *who, int *outcome, struct err *e);

/* Whether a study exists: 1, 0, or a negative db_status. */
int col_study_exists(PGconn *conn, const char *study, struct err *e);

/* One enrolled participant as printed for a mail merge. */
struct col_enrolment {
    long long id;
    char code[40];
    char arm[64];
    char token[64]; /* shown once (256 bits, the access module's); only its hash is stored */
};

/*
 * Enrols `count` participants in one transaction, with fresh pseudonymous
 * codes and tokens (256 random bits each, acc_token_new()), enrolled at `enrolled_at`
 * (microseconds since the epoch), and creates the event partitions of their
 * study period. `code` (may be NULL) fixes the code when count is 1. With
 * `who`, one participant.enroll audit row per participant (by id).
 * *out (count entries) is the caller's to free().
 */
int col_enroll(PGconn *conn, const char *study, const char *arm, int count, int64_t enrolled_at,
               const char *code, const struct audit_entry *who, struct col_enrolment **out,
               struct err *e);

/*
 * Revokes every live token of participant `code` of `study`; with `reissue`
 * also issues a new one into *token_out (64 bytes). Returns 0, or COL_ENOTFOUND.
 * With `who`, a participant.link_revoke or participant.link_reissue audit row.
 */
int col_token_revoke(PGconn *conn, const char *study, const char *code, int reissue,
                     const struct audit_entry *who, char token_out[64], struct err *e);

/* Static files (static.c): GET /static/<path> from dashboards_dir/static. */
extern const struct http_route col_static_routes[];
extern const size_t col_static_routes_count;

/*
 * Every route `attune serve` answers, gathered from the modules' tables
 * (server.c): a malloc'd copy the caller frees, its length in *n_out; NULL
 * when out of memory. The route fuzz target takes the same list.
 */
struct http_route *col_server_routes(size_t *n_out);

/*
 * Runs `attune serve` with the given configuration until a stop signal.
 * Refuses to start (COL_EPENDING, naming them) when migrations are pending.
 */
int col_serve(const struct cfg *cfg, struct err *e);

/* Ready check used by /readyz: 0, or a reason in `e` (DB_EUNAVAILABLE, COL_EPENDING). */
int col_app_ready(struct col_app *app, int *applied, struct err *e);

#endif
