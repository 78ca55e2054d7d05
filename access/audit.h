/*
 * audit.h — the audit trail: appending rows, sealing them into a hash chain,
 * verifying the chain, and reading it back.
 *
 * Writers call audit_append() inside their own transaction, so the audit row
 * commits (or rolls back) with the change it records. Appending takes no
 * lock: rows are chained later by the sealer (audit_seal()), which hashes
 * unsealed rows in id order, each onto the previous one:
 *
 *     row_hash = SHA-256(prev_hash || seal_seq (8 bytes, big-endian) || canonical text)
 *
 * where the canonical text is attune_audit_canonical(row) (sql/003_access.sql)
 * and the first prev_hash is 32 zero bytes. `attune serve` seals every second;
 * `attune audit verify` seals and then recomputes every link, naming the first
 * row whose content, order or predecessor does not match.
 *
 * What audit rows must never hold: answers, scores, event contents, passwords
 * or tokens — ids, counts and reasons only, so that erasing a participant's
 * data leaves nothing of it in a log that cannot be changed. Participants are
 * named by internal id ("demo/#17"), never by their pseudonymous code, which
 * erasure replaces.
 */
#ifndef ATTUNE_AUDIT_H
#define ATTUNE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "err.h"
#include "http.h"

enum {
    AUDIT_EINVAL = -30,  /* an entry that breaks the table's rules (action name, lengths) */
    AUDIT_EBROKEN = -31, /* audit_verify(): the chain is broken; `e` names the row */
};

/* One audit row. Strings are borrowed; NULL means SQL NULL. */
struct audit_entry {
    const char *actor_kind; /* "system", "user", "token", "participant" */
    const char *actor;      /* 1–200 characters */
    const char *action;     /* noun.verb: "response.create", "export.csv", "participant.erase" */
    const char *target;     /* what it was done to: "participant:demo/P001", ≤ 500 */
    const char *study_id;
    const char *request_id;  /* ≤ 64 */
    const char *source_addr; /* an IP address, or NULL */
    const char *reason;      /* required for some actions (erasure), ≤ 2000 */
    json_t *detail;          /* borrowed object or NULL: ids and counts, never answers */
};

/*
 * Fills actor, source address and request id from an authorised request
 * (req->auth), clearing the rest. For the collector and dashboard handlers:
 *
 *     struct audit_entry a;
 *     audit_entry_from_request(&a, req);
 *     a.action = "response.create";
 *     a.target = target;            // "response:<uuid>"
 *     rc = audit_append(conn, &a, e);   // inside the db_run() callback
 */
void audit_entry_from_request(struct audit_entry *a, const struct http_request *req);

/*
 * Appends one row on `conn`, inside whatever transaction is open there (the
 * caller's: the row commits with the write it records). Returns 0, or a
 * db_status (DB_ESOFT makes db_run() retry the whole transaction, as it
 * should), or AUDIT_EINVAL for an entry the table would refuse. Needs
 * audit_statements prepared on `conn`.
 */
int audit_append(PGconn *conn, const struct audit_entry *a, struct err *e);

/*
 * As audit_append(), in a transaction of its own from `pool` (refusals,
 * sign-ins: nothing else to commit with).
 */
int audit_append_now(struct db_pool *pool, const struct audit_entry *a, struct err *e);

/* The module's SQL; prepare it on every connection that appends or seals. */
extern const struct db_statement audit_statements[];

/* ---- the chain (chain.c, pure) ---- */

#define AUDIT_HASH_BYTES 32

/* One sealed row as the verifier sees it. */
struct audit_link {
    long long id;
    long long seal_seq;
    uint8_t prev_hash[AUDIT_HASH_BYTES];
    uint8_t row_hash[AUDIT_HASH_BYTES];
    const char *canonical; /* attune_audit_canonical(row) */
    size_t canonical_len;
};

/* row_hash = SHA-256(prev || seal_seq big-endian || canonical). */
void audit_link_hash(const uint8_t prev[AUDIT_HASH_BYTES], long long seal_seq,
                     const char *canonical, size_t len, uint8_t out[AUDIT_HASH_BYTES]);

/* The verifier's running state: the last good link. Start with audit_chain_init(). */
struct audit_chain {
    long long seal_seq; /* 0 before the first row */
    long long id;       /* id of the last good row (0 before the first) */
    uint8_t hash[AUDIT_HASH_BYTES];
    long long checked;
};

void audit_chain_init(struct audit_chain *c);

/*
 * Checks the next row in seal order against the chain so far. Returns 0 and
 * advances, or AUDIT_EBROKEN with `e` naming the row (its id and seal number)
 * and saying what is wrong: a gap (a sealed row before it is missing), a
 * predecessor that does not match, or content that no longer matches its hash.
 */
int audit_chain_step(struct audit_chain *c, const struct audit_link *row, struct err *e);

/*
 * Checks the end of the chain against the recorded head (seal number and
 * hash). AUDIT_EBROKEN when sealed rows are missing from the end or the head
 * does not match.
 */
int audit_chain_finish(const struct audit_chain *c, long long head_seq,
                       const uint8_t head_hash[AUDIT_HASH_BYTES], struct err *e);

/* ---- sealing and verifying (audit.c) ---- */

/* How a sealer commits. */
enum audit_seal_mode {
    /* Each commit waits for its WAL flush: for `attune audit verify`, whose
     * printed head hash must survive a crash. */
    AUDIT_SEAL_DURABLE,
    /* Commits without waiting for the flush: `attune serve`'s sealer. A
     * crash of PostgreSQL can lose its last transactions, each whole (links
     * and head together); their rows are simply unsealed again and sealed
     * by the next round. The flush comes with the next synchronous commit
     * of anyone, at the latest within wal_writer_delay. */
    AUDIT_SEAL_LAZY,
};

/*
 * Seals every row not yet sealed, in batches of `batch` rows, each batch in
 * its own short transaction. Another sealer at work makes this one return at
 * once (an advisory lock, held only by sealers: writers never wait). Returns
 * the number of rows sealed, or a negative db_status.
 */
long audit_seal(struct db_pool *pool, int batch, enum audit_seal_mode mode, struct err *e);

struct audit_report {
    long long rows;     /* sealed rows checked */
    long long unsealed; /* rows not yet sealed when the check ran */
    long long head_seq;
    uint8_t head_hash[AUDIT_HASH_BYTES];
    long long broken_id; /* AUDIT_EBROKEN: the first broken row's id (0 when at the end) */
};

/*
 * Recomputes the whole chain from `conn`. Returns 0 with the report filled, or
 * AUDIT_EBROKEN (report.broken_id and `e` name the first broken row), or a
 * db_status.
 */
int audit_verify(PGconn *conn, struct audit_report *report, struct err *e);

/* ---- reading (audit.c) ---- */

struct audit_filter {
    const char *since; /* timestamptz text, inclusive */
    const char *until; /* exclusive */
    const char *actor;
    const char *action; /* exact, or "noun.*" */
    const char *target; /* exact, or a prefix ending in '*' */
    const char *study_id;
    long limit; /* ≤ 10000 */
};

/*
 * The rows matching `f`, newest first, as a JSON array of objects. *out is the
 * caller's (json_decref). Returns the number of rows or a negative db_status.
 */
int audit_query(PGconn *conn, const struct audit_filter *f, json_t **out, struct err *e);

#endif
