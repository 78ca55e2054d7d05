/*
 * test_audit_chain.c — the audit log's hash chain without a database: the
 * link hash against an independent computation, a chain that verifies, and
 * each kind of tampering (an edited row, a deleted row, a reordered pair, a
 * rewritten link, rows cut from the end, a damaged head) named at the first
 * broken row.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "tap.h"

#define N 6

static struct audit_link rows[N];
static char texts[N][80];
static uint8_t head[AUDIT_HASH_BYTES];

/* Builds a sealed chain of N rows with ids 10, 20, ... as the sealer would. */
static void build(void)
{
    uint8_t prev[AUDIT_HASH_BYTES] = {0};

    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "[%d, \"2026-11-28T18:00:0%dZ\", \"user\", \"alice\"]",
                 (i + 1) * 10, i);
        rows[i].id = (i + 1) * 10;
        rows[i].seal_seq = i + 1;
        rows[i].canonical = texts[i];
        rows[i].canonical_len = strlen(texts[i]);
        memcpy(rows[i].prev_hash, prev, sizeof prev);
        audit_link_hash(prev, rows[i].seal_seq, texts[i], strlen(texts[i]), rows[i].row_hash);
        memcpy(prev, rows[i].row_hash, sizeof prev);
    }
    memcpy(head, prev, sizeof head);
}

/* Runs the verifier over `order` (indexes into rows, -1 ends); returns the id
 * of the row it stopped at, 0 if the chain held, -1 if only the end failed. */
static long long check(const int *order, long long head_seq, struct err *e)
{
    struct audit_chain c;

    audit_chain_init(&c);
    err_clear(e);
    for (int k = 0; order[k] >= 0; k++)
        if (audit_chain_step(&c, &rows[order[k]], e) != 0)
            return rows[order[k]].id;
    if (audit_chain_finish(&c, head_seq, head, e) != 0)
        return -1;
    return 0;
}

int main(void)
{
    static const int all[] = {0, 1, 2, 3, 4, 5, -1};
    static const int without_third[] = {0, 1, 3, 4, 5, -1};
    static const int swapped[] = {0, 2, 1, 3, 4, 5, -1};
    static const int cut_end[] = {0, 1, 2, 3, -1};
    static const int cut_start[] = {1, 2, 3, 4, 5, -1};
    struct err e;
    char saved[80];

    if (sodium_init() < 0)
        return 1;

    /* The link hash is SHA-256(prev || seq as 8 bytes big-endian || text). */
    {
        uint8_t prev[32], got[32], want[32], buf[32 + 8 + 3];
        memset(prev, 0xab, sizeof prev);
        audit_link_hash(prev, 0x0102030405060708LL, "xyz", 3, got);
        memcpy(buf, prev, 32);
        for (int i = 0; i < 8; i++)
            buf[32 + i] = (uint8_t)(i + 1);
        memcpy(buf + 40, "xyz", 3);
        crypto_hash_sha256(want, buf, sizeof buf);
        ok(memcmp(got, want, 32) == 0, "link hash = SHA-256(prev || seq big-endian || text)");
    }

    build();
    is_int(check(all, N, &e), 0, "an untouched chain verifies");
    {
        struct audit_chain c;
        audit_chain_init(&c);
        for (int i = 0; i < N; i++)
            audit_chain_step(&c, &rows[i], &e);
        is_int(c.checked, N, "every row was checked");
        is_int(c.seal_seq, N, "the chain ends at the last seal");
    }

    memcpy(saved, texts[2], sizeof saved);
    texts[2][2] = '9'; /* the row's content changes, its stored hash does not */
    is_int(check(all, N, &e), 30, "an edited row is named (row 30)");
    ok(strstr(e.detail, "changed after it was sealed") != NULL, "... as changed content");
    ok(strstr(e.message, "row 30 (seal 3)") != NULL, "... with its id and seal number");
    memcpy(texts[2], saved, sizeof saved);

    is_int(check(without_third, N, &e), 40, "a deleted row: the next one is named (row 40)");
    ok(strstr(e.detail, "deleted") != NULL, "... as a deletion");

    is_int(check(swapped, N, &e), 30, "rows out of seal order are caught at the first");

    {
        uint8_t keep[32];
        memcpy(keep, rows[3].prev_hash, 32);
        rows[3].prev_hash[0] ^= 1;
        is_int(check(all, N, &e), 40, "a rewritten link to the previous row is named");
        ok(strstr(e.detail, "does not match") != NULL, "... as a broken link");
        memcpy(rows[3].prev_hash, keep, 32);
    }

    /* A superuser who deletes a row and rehashes only that row's successor
     * still breaks the link after it. */
    {
        struct audit_link keep = rows[3];
        memcpy(rows[3].prev_hash, rows[1].row_hash, 32);
        rows[3].seal_seq = 3;
        audit_link_hash(rows[3].prev_hash, 3, texts[3], strlen(texts[3]), rows[3].row_hash);
        is_int(check(without_third, N, &e), 50, "a patched successor moves the break one row on");
        rows[3] = keep;
    }

    is_int(check(cut_end, N, &e), -1, "rows cut from the end are caught by the head");
    ok(strstr(e.detail, "missing from the end") != NULL, "... as missing from the end");
    is_int(check(cut_start, N, &e), 20, "rows cut from the start are caught at the first left");
    ok(strstr(e.detail, "should start at seal 1") != NULL, "... as a chain not starting at 1");

    head[0] ^= 1;
    is_int(check(all, N, &e), -1, "a head that does not match the last row is caught");
    head[0] ^= 1;

    {
        static const int none[] = {-1};
        uint8_t zero[32] = {0};
        struct audit_chain c;
        audit_chain_init(&c);
        is_int(audit_chain_finish(&c, 0, zero, &e), 0, "an empty, never sealed log verifies");
        is_int(check(none, 2, &e), -1, "an empty log whose head says 2 rows were sealed fails");
    }
    return tap_done();
}
