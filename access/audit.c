/*
 * audit.c — appending audit rows, sealing them into the hash chain, verifying
 * the chain and reading rows back (see audit.h). The chain arithmetic itself
 * is in chain.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"

/* Sealers take this advisory lock for the length of one batch; writers never
 * touch it. Arbitrary, fixed, different from migrate.c's. */
#define AUDIT_SEAL_LOCK   "7384216"
#define AUDIT_VERIFY_PAGE 5000
#define AUDIT_QUERY_MAX   10000

const struct db_statement audit_statements[] = {
    /* audit_append */
    {"audit_insert",
     "INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id,"
     "                       source_addr, reason, detail)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7::inet, $8, $9::jsonb)"},

    /* audit_seal_batch: one sealer at a time; $1 is the transaction's
     * synchronous_commit (SET LOCAL): "off" for AUDIT_SEAL_LAZY */
    {"audit_seal_lock", "SELECT pg_try_advisory_xact_lock(" AUDIT_SEAL_LOCK "),"
                        " set_config('synchronous_commit', $1, true)"},

    /* audit_seal_batch, audit_verify: the end of the chain */
    {"audit_head", "SELECT seal_seq, encode(row_hash, 'hex') FROM attune_audit_head()"},

    /* audit_seal_batch: the next rows to seal, in id order, above $1 (sql/012) */
    {"audit_unsealed", "SELECT id, canonical FROM attune_audit_unsealed($1, $2)"},

    /* audit_seal: after a round, move the watermark below which all is sealed */
    {"audit_advance", "SELECT attune_audit_advance(), set_config('synchronous_commit', $1, true)"},

    /* audit_seal_batch: $3 and $4 are text[] of hex hashes */
    {"audit_seal",
     "SELECT attune_audit_seal($1::bigint[], $2::bigint[],"
     "  ARRAY(SELECT decode(x, 'hex') FROM unnest($3::text[]) WITH ORDINALITY AS u(x, n)"
     "         ORDER BY n),"
     "  ARRAY(SELECT decode(x, 'hex') FROM unnest($4::text[]) WITH ORDINALITY AS u(x, n)"
     "         ORDER BY n))"},

    /* audit_verify: the chain in seal order, a page at a time; the
     * canonical text is NULL where the sealed row is gone */
    {"audit_chain_page",
     "SELECT s.audit_id, s.seal_seq, encode(s.prev_hash, 'hex'), encode(s.row_hash, 'hex'),"
     "       CASE WHEN a.id IS NOT NULL THEN attune_audit_canonical(a) END"
     "  FROM audit_seals s LEFT JOIN audit_log a ON a.id = s.audit_id"
     " WHERE s.seal_seq > $1 ORDER BY s.seal_seq LIMIT $2"},

    /* audit_verify */
    {"audit_unsealed_count", "SELECT attune_audit_unsealed_count()"},

    /* audit_query: every filter optional; prefixes for "noun.*" and "target*" */
    {"audit_query",
     "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
     "       actor_kind, actor, action, target, study_id, request_id, host(source_addr),"
     "       reason, detail::text,"
     "       (SELECT s.seal_seq FROM audit_seals s WHERE s.audit_id = audit_log.id)"
     "  FROM audit_log"
     " WHERE ($1::timestamptz IS NULL OR at >= $1::timestamptz)"
     "   AND ($2::timestamptz IS NULL OR at < $2::timestamptz)"
     "   AND ($3::text IS NULL OR actor = $3)"
     "   AND ($4::text IS NULL OR action = $4)"
     "   AND ($5::text IS NULL OR starts_with(action, $5))"
     "   AND ($6::text IS NULL OR target = $6)"
     "   AND ($7::text IS NULL OR starts_with(target, $7))"
     "   AND ($8::text IS NULL OR study_id = $8)"
     " ORDER BY id DESC LIMIT $9"},
    {NULL, NULL},
};

void audit_entry_from_request(struct audit_entry *a, const struct http_request *req)
{
    const struct acc_identity *who = acc_identity_of(req);

    memset(a, 0, sizeof *a);
    a->request_id = req->request_id;
    if (who != NULL) {
        a->actor_kind = who->actor_kind;
        a->actor = who->actor;
        a->source_addr = who->source_addr;
        a->study_id = who->study_id;
    } else {
        a->actor_kind = "system";
        a->actor = "anonymous";
    }
}

/* The table's CHECK constraints, checked first so that a bad entry is a
 * programming error with a message, not a failed transaction. */
static int audit_entry_valid(const struct audit_entry *a, struct err *e)
{
    static const char *const kinds[] = {"system", "user", "token", "participant"};
    const char *dot;
    int kind_ok = 0;

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        kind_ok |= a->actor_kind != NULL && strcmp(a->actor_kind, kinds[i]) == 0;
    if (!kind_ok)
        return err_set(e, AUDIT_EINVAL, "invalid audit actor kind \"%s\"",
                       a->actor_kind ? a->actor_kind : "(null)");
    if (a->actor == NULL || a->actor[0] == '\0' || strlen(a->actor) > 200)
        return err_set(e, AUDIT_EINVAL, "an audit actor needs 1 to 200 characters");
    dot = a->action ? strchr(a->action, '.') : NULL;
    if (dot == NULL || dot == a->action || dot[1] == '\0' ||
        strspn(a->action, "abcdefghijklmnopqrstuvwxyz_.") != strlen(a->action) ||
        strchr(dot + 1, '.') != NULL)
        return err_set(e, AUDIT_EINVAL, "invalid audit action \"%s\"",
                       a->action ? a->action : "(null)");
    if ((a->target && strlen(a->target) > 500) || (a->request_id && strlen(a->request_id) > 64) ||
        (a->reason && strlen(a->reason) > 2000))
        return err_set(e, AUDIT_EINVAL, "audit entry field too long for action \"%s\"", a->action);
    return 0;
}

int audit_append(PGconn *conn, const struct audit_entry *a, struct err *e)
{
    const char *params[9];
    char *detail = NULL;
    int rc;

    if ((rc = audit_entry_valid(a, e)) != 0)
        return rc;
    if (a->detail != NULL &&
        (detail = json_dumps(a->detail, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        return err_set(e, AUDIT_EINVAL, "audit detail for \"%s\" is not an encodable object",
                       a->action);
    params[0] = a->actor_kind;
    params[1] = a->actor;
    params[2] = a->action;
    params[3] = a->target;
    params[4] = a->study_id;
    params[5] = a->request_id;
    params[6] = (a->source_addr && a->source_addr[0] && strcmp(a->source_addr, "-") != 0)
                    ? a->source_addr
                    : NULL;
    params[7] = a->reason;
    params[8] = detail;
    rc = db_query(conn, "audit_insert", 9, params, NULL, e);
    free(detail);
    return rc < 0 ? rc : 0;
}

static int audit_append_tx(PGconn *conn, void *ctx, struct err *e)
{
    return audit_append(conn, ctx, e);
}

int audit_append_now(struct db_pool *pool, const struct audit_entry *a, struct err *e)
{
    /* The entry is only read: the cast drops const for db_run()'s context. */
    return db_run(pool, DB_READ_COMMITTED, audit_append_tx, (void *)a, e);
}

/* ---- sealing ---- */

struct audit_seal_ctx {
    int batch;
    long sealed;     /* rows sealed by this transaction */
    long long last;  /* ... and the last of them */
    long long after; /* the last row sealed in this round: the next search starts above it */
    enum audit_seal_mode mode;
};

/* Appends `s` to a growing text buffer; -1 when out of memory. */
static int audit_buf_add(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);

    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        char *grown;
        while (c < *len + n + 1)
            c *= 2;
        if ((grown = realloc(*buf, c)) == NULL)
            return -1;
        *buf = grown;
        *cap = c;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return 0;
}

static int audit_hex_to_hash(const char *hex, uint8_t out[AUDIT_HASH_BYTES])
{
    size_t n = 0;

    return (hex != NULL &&
            sodium_hex2bin(out, AUDIT_HASH_BYTES, hex, strlen(hex), NULL, &n, NULL) == 0 &&
            n == AUDIT_HASH_BYTES)
               ? 0
               : -1;
}

/* The synchronous_commit a sealing transaction runs with. */
static const char *audit_sync_commit(enum audit_seal_mode mode)
{
    return mode == AUDIT_SEAL_LAZY ? "off" : "on";
}

/* One batch: lock, read the head and the next unsealed rows, hash, seal. */
static int audit_seal_batch(PGconn *conn, void *vctx, struct err *e)
{
    struct audit_seal_ctx *ctx = vctx;
    PGresult *lock = NULL, *head = NULL, *rows = NULL;
    char *arr[4] = {NULL, NULL, NULL, NULL};
    size_t len[4] = {0}, cap[4] = {0};
    uint8_t prev[AUDIT_HASH_BYTES];
    long long seq;
    char limit[16], after[32];
    const char *params[4];
    int rc, n;

    ctx->sealed = 0;
    params[0] = audit_sync_commit(ctx->mode);
    if ((rc = db_query(conn, "audit_seal_lock", 1, params, &lock, e)) < 0)
        goto out;
    if (strcmp(PQgetvalue(lock, 0, 0), "t") != 0) {
        rc = 0; /* another sealer is at work */
        goto out;
    }
    if ((rc = db_query(conn, "audit_head", 0, NULL, &head, e)) < 0)
        goto out;
    seq = strtoll(PQgetvalue(head, 0, 0), NULL, 10);
    if (audit_hex_to_hash(PQgetvalue(head, 0, 1), prev) != 0) {
        rc = err_set(e, DB_EHARD, "the audit chain's head is not a SHA-256 hash");
        goto out;
    }
    snprintf(after, sizeof after, "%lld", ctx->after);
    snprintf(limit, sizeof limit, "%d", ctx->batch);
    params[0] = after;
    params[1] = limit;
    if ((rc = db_query(conn, "audit_unsealed", 2, params, &rows, e)) < 0)
        goto out;
    n = rc;
    for (int i = 0; i < n; i++) {
        const char *canon = PQgetvalue(rows, i, 1);
        uint8_t hash[AUDIT_HASH_BYTES];
        char num[32], hex[2 * AUDIT_HASH_BYTES + 1];
        const char *sep = i == 0 ? "{" : ",";

        audit_link_hash(prev, seq + 1 + i, canon, (size_t)PQgetlength(rows, i, 1), hash);
        if (audit_buf_add(&arr[0], &len[0], &cap[0], sep) ||
            audit_buf_add(&arr[0], &len[0], &cap[0], PQgetvalue(rows, i, 0)))
            goto oom;
        snprintf(num, sizeof num, "%lld", seq + 1 + i);
        if (audit_buf_add(&arr[1], &len[1], &cap[1], sep) ||
            audit_buf_add(&arr[1], &len[1], &cap[1], num))
            goto oom;
        sodium_bin2hex(hex, sizeof hex, prev, sizeof prev);
        if (audit_buf_add(&arr[2], &len[2], &cap[2], sep) ||
            audit_buf_add(&arr[2], &len[2], &cap[2], hex))
            goto oom;
        sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
        if (audit_buf_add(&arr[3], &len[3], &cap[3], sep) ||
            audit_buf_add(&arr[3], &len[3], &cap[3], hex))
            goto oom;
        memcpy(prev, hash, sizeof prev);
    }
    if (n > 0) {
        for (int k = 0; k < 4; k++)
            if (audit_buf_add(&arr[k], &len[k], &cap[k], "}"))
                goto oom;
        for (int k = 0; k < 4; k++)
            params[k] = arr[k];
        if ((rc = db_query(conn, "audit_seal", 4, params, NULL, e)) < 0)
            goto out;
        ctx->last = strtoll(PQgetvalue(rows, n - 1, 0), NULL, 10);
    }
    ctx->sealed = n;
    rc = 0;
    goto out;
oom:
    rc = err_set(e, DB_EHARD, "out of memory sealing the audit log");
out:
    for (int k = 0; k < 4; k++)
        free(arr[k]);
    PQclear(lock);
    PQclear(head);
    PQclear(rows);
    return rc;
}

static int audit_advance_tx(PGconn *conn, void *vctx, struct err *e)
{
    const struct audit_seal_ctx *ctx = vctx;
    const char *sync = audit_sync_commit(ctx->mode);
    int rc = db_query(conn, "audit_advance", 1, &sync, NULL, e);

    return rc < 0 ? rc : 0;
}

long audit_seal(struct db_pool *pool, int batch, enum audit_seal_mode mode, struct err *e)
{
    struct audit_seal_ctx ctx = {batch > 0 ? batch : 1000, 0, 0, 0, mode};
    long total = 0;
    int rc;

    do {
        if ((rc = db_run(pool, DB_READ_COMMITTED, audit_seal_batch, &ctx, e)) != 0)
            return rc;
        total += ctx.sealed;
        if (ctx.sealed > 0)
            ctx.after = ctx.last; /* committed: search above it next */
    } while (ctx.sealed == ctx.batch);
    /* Its own transaction, READ COMMITTED: each of its steps must see what
     * committed before it (sql/012_audit_seals.sql). */
    if ((rc = db_run(pool, DB_READ_COMMITTED, audit_advance_tx, &ctx, e)) != 0)
        return rc;
    return total;
}

/* ---- verifying ---- */

int audit_verify(PGconn *conn, struct audit_report *report, struct err *e)
{
    struct audit_chain chain;
    PGresult *res = NULL;
    char after[32], page[16];
    const char *params[2];
    int rc, n;

    memset(report, 0, sizeof *report);
    audit_chain_init(&chain);
    if ((rc = db_query(conn, "audit_unsealed_count", 0, NULL, &res, e)) < 0)
        goto out;
    report->unsealed = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = NULL;
    if ((rc = db_query(conn, "audit_head", 0, NULL, &res, e)) < 0)
        goto out;
    report->head_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (audit_hex_to_hash(PQgetvalue(res, 0, 1), report->head_hash) != 0) {
        rc = err_set(e, AUDIT_EBROKEN, "the audit chain's recorded head is damaged");
        goto out;
    }
    PQclear(res);
    res = NULL;
    snprintf(page, sizeof page, "%d", AUDIT_VERIFY_PAGE);
    do {
        snprintf(after, sizeof after, "%lld", chain.seal_seq);
        params[0] = after;
        params[1] = page;
        if ((rc = db_query(conn, "audit_chain_page", 2, params, &res, e)) < 0)
            goto out;
        n = rc;
        for (int i = 0; i < n; i++) {
            struct audit_link link;
            link.id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            link.seal_seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);
            if (PQgetisnull(res, i, 4)) {
                report->broken_id = link.id;
                rc = err_set(e, AUDIT_EBROKEN, "audit trail broken at row %lld (seal %lld)",
                             link.id, link.seal_seq);
                err_detail(e, "The row was deleted: its link is in the chain, the row is not.");
                goto out;
            }
            link.canonical = PQgetvalue(res, i, 4);
            link.canonical_len = (size_t)PQgetlength(res, i, 4);
            if (audit_hex_to_hash(PQgetvalue(res, i, 2), link.prev_hash) != 0 ||
                audit_hex_to_hash(PQgetvalue(res, i, 3), link.row_hash) != 0) {
                report->broken_id = link.id;
                rc = err_set(e, AUDIT_EBROKEN, "audit trail broken at row %lld (seal %lld)",
                             link.id, link.seal_seq);
                err_detail(e, "Its chain columns are not SHA-256 hashes.");
                goto out;
            }
            if ((rc = audit_chain_step(&chain, &link, e)) != 0) {
                report->broken_id = link.id;
                goto out;
            }
        }
        PQclear(res);
        res = NULL;
    } while (n == AUDIT_VERIFY_PAGE);
    report->rows = chain.checked;
    if ((rc = audit_chain_finish(&chain, report->head_seq, report->head_hash, e)) != 0)
        goto out;
    rc = 0;
out:
    report->rows = chain.checked;
    PQclear(res);
    return rc;
}

/* ---- reading ---- */

int audit_query(PGconn *conn, const struct audit_filter *f, json_t **out, struct err *e)
{
    const char *params[9];
    char *action_prefix = NULL, *target_prefix = NULL;
    char limit[24];
    PGresult *res = NULL;
    json_t *rows = NULL;
    int rc, n;

    memset(params, 0, sizeof params);
    params[0] = f->since;
    params[1] = f->until;
    params[2] = f->actor;
    if (f->action != NULL) {
        size_t len = strlen(f->action);
        if (len >= 2 && strcmp(f->action + len - 2, ".*") == 0) {
            if ((action_prefix = strndup(f->action, len - 1)) == NULL)
                return err_set(e, DB_EHARD, "out of memory");
            params[4] = action_prefix;
        } else {
            params[3] = f->action;
        }
    }
    if (f->target != NULL) {
        size_t len = strlen(f->target);
        if (len >= 1 && f->target[len - 1] == '*') {
            if ((target_prefix = strndup(f->target, len - 1)) == NULL) {
                free(action_prefix);
                return err_set(e, DB_EHARD, "out of memory");
            }
            params[6] = target_prefix;
        } else {
            params[5] = f->target;
        }
    }
    params[7] = f->study_id;
    snprintf(limit, sizeof limit, "%ld",
             f->limit <= 0 ? 100 : (f->limit > AUDIT_QUERY_MAX ? AUDIT_QUERY_MAX : f->limit));
    params[8] = limit;
    if ((rc = db_query(conn, "audit_query", 9, params, &res, e)) < 0)
        goto out;
    n = rc;
    if ((rows = json_array()) == NULL)
        goto oom;
    for (int i = 0; i < n; i++) {
        json_t *row, *detail = NULL;
        if (!PQgetisnull(res, i, 10))
            detail = json_loads(PQgetvalue(res, i, 10), 0, NULL);
#define COL(k) (PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k))
        row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:o?, s:b}", "id",
                        (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "at", COL(1),
                        "actor_kind", COL(2), "actor", COL(3), "action", COL(4), "target", COL(5),
                        "study_id", COL(6), "request_id", COL(7), "source_addr", COL(8), "reason",
                        COL(9), "detail", detail, "sealed", !PQgetisnull(res, i, 11));
#undef COL
        if (row == NULL || json_array_append_new(rows, row) != 0)
            goto oom;
    }
    *out = rows;
    rows = NULL;
    rc = n;
    goto out;
oom:
    rc = err_set(e, DB_EHARD, "out of memory reading the audit log");
out:
    json_decref(rows);
    PQclear(res);
    free(action_prefix);
    free(target_prefix);
    return rc;
}
