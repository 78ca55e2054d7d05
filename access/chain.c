/*
 * chain.c — the audit log's hash chain, pure: hashing one link and checking a
 * sequence of links in seal order. audit.c feeds it rows from the database;
 * the unit suite feeds it rows it has tampered with.
 */
#include <string.h>

#include <sodium.h>

#include "audit.h"

void audit_link_hash(const uint8_t prev[AUDIT_HASH_BYTES], long long seal_seq,
                     const char *canonical, size_t len, uint8_t out[AUDIT_HASH_BYTES])
{
    crypto_hash_sha256_state st;
    uint8_t seq[8];
    unsigned long long v = (unsigned long long)seal_seq;

    for (int i = 7; i >= 0; i--) {
        seq[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, AUDIT_HASH_BYTES);
    crypto_hash_sha256_update(&st, seq, sizeof seq);
    crypto_hash_sha256_update(&st, (const unsigned char *)canonical, len);
    crypto_hash_sha256_final(&st, out);
}

void audit_chain_init(struct audit_chain *c)
{
    memset(c, 0, sizeof *c);
}

int audit_chain_step(struct audit_chain *c, const struct audit_link *row, struct err *e)
{
    uint8_t want[AUDIT_HASH_BYTES];

    if (row->seal_seq != c->seal_seq + 1) {
        err_set(e, AUDIT_EBROKEN, "audit trail broken at row %lld (seal %lld)", row->id,
                row->seal_seq);
        if (c->seal_seq == 0)
            err_detail(e, "The chain should start at seal 1; seals 1 to %lld are missing.",
                       row->seal_seq - 1);
        else
            err_detail(e,
                       "The row sealed before it (seal %lld, after row %lld) is missing: it was "
                       "deleted.",
                       c->seal_seq + 1, c->id);
        return AUDIT_EBROKEN;
    }
    if (sodium_memcmp(row->prev_hash, c->hash, AUDIT_HASH_BYTES) != 0) {
        err_set(e, AUDIT_EBROKEN, "audit trail broken at row %lld (seal %lld)", row->id,
                row->seal_seq);
        err_detail(e, "Its link to the row before it does not match that row's hash: a row was "
                      "replaced or the chain columns were rewritten.");
        return AUDIT_EBROKEN;
    }
    audit_link_hash(row->prev_hash, row->seal_seq, row->canonical, row->canonical_len, want);
    if (sodium_memcmp(want, row->row_hash, AUDIT_HASH_BYTES) != 0) {
        err_set(e, AUDIT_EBROKEN, "audit trail broken at row %lld (seal %lld)", row->id,
                row->seal_seq);
        err_detail(e, "Its content no longer matches its hash: it was changed after it was "
                      "sealed.");
        return AUDIT_EBROKEN;
    }
    c->seal_seq = row->seal_seq;
    c->id = row->id;
    memcpy(c->hash, row->row_hash, AUDIT_HASH_BYTES);
    c->checked++;
    return 0;
}

int audit_chain_finish(const struct audit_chain *c, long long head_seq,
                       const uint8_t head_hash[AUDIT_HASH_BYTES], struct err *e)
{
    if (head_seq > c->seal_seq) {
        err_set(e, AUDIT_EBROKEN, "audit trail broken after row %lld (seal %lld)", c->id,
                c->seal_seq);
        err_detail(e,
                   "The chain was sealed up to seal %lld, but seals %lld to %lld are missing "
                   "from the end: they were deleted.",
                   head_seq, c->seal_seq + 1, head_seq);
        return AUDIT_EBROKEN;
    }
    if (head_seq < c->seal_seq ||
        (head_seq > 0 && sodium_memcmp(head_hash, c->hash, AUDIT_HASH_BYTES) != 0)) {
        err_set(e, AUDIT_EBROKEN, "audit trail broken at row %lld (seal %lld)", c->id, c->seal_seq);
        err_detail(e,
                   "The recorded head of the chain (seal %lld) does not match the last "
                   "sealed row.",
                   head_seq);
        return AUDIT_EBROKEN;
    }
    return 0;
}
