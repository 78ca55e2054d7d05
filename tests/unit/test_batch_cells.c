/*
 * test_batch_cells.c — the group commit's input encoder (collector/batch.c):
 * each value as an element of a PostgreSQL array in binary format (a 4-byte
 * big-endian length, -1 for NULL, then the value's binary form), counted
 * per column. The database checks the arrays the writer assembles from
 * these in the integration tests; here each encoding is checked byte by byte.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "col_int.h"
#include "tap.h"

static int32_t be32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)(uint32_t)be32(p) << 32 | (uint32_t)be32(p + 4));
}

/* The column's first element: its length (-1: NULL) and where its bytes are. */
static int32_t first(const struct col_batch_cells *c, enum col_batch_column col,
                     const unsigned char **bytes)
{
    *bytes = c->buf + c->off[col] + 4;
    return be32(c->buf + c->off[col]);
}

int main(void)
{
    struct col_batch_cells c;
    const unsigned char *b;
    double v;
    uint64_t bits;

    col_cells_init(&c);
    col_cells_column(&c, COL_BC_ID);
    col_cells_uuid(&c, "01234567-89ab-cdef-0123-456789ABCDEF");
    is_int(first(&c, COL_BC_ID, &b), 16, "a uuid is 16 bytes");
    ok(b[0] == 0x01 && b[1] == 0x23 && b[7] == 0xef && b[15] == 0xef && b[14] == 0xcd,
       "in the order of its hex digits, either case");
    col_cells_column(&c, COL_BC_PARTICIPANT);
    col_cells_null(&c);
    is_int(first(&c, COL_BC_PARTICIPANT, &b), -1, "NULL is the length -1");
    ok((c.nulls >> COL_BC_PARTICIPANT) & 1, "and marks its column as holding a NULL");
    ok(!((c.nulls >> COL_BC_ID) & 1), "other columns are not marked");
    col_cells_column(&c, COL_BC_COMPLETED);
    col_cells_timestamptz(&c, 946684800000000LL + 1);
    is_int(first(&c, COL_BC_COMPLETED, &b), 8, "a time stamp is 8 bytes");
    ok(be64(b) == 1, "microseconds since 2000-01-01 UTC, PostgreSQL's epoch");
    col_cells_column(&c, COL_BC_TOTAL);
    col_cells_float8(&c, NAN);
    is_int(first(&c, COL_BC_TOTAL, &b), -1, "a NaN total is NULL (voided)");
    col_cells_column(&c, COL_BC_VALUES);
    col_cells_float8(&c, 2.5);
    col_cells_float8(&c, -1);
    is_int(c.count[COL_BC_VALUES], 2, "a column counts its elements");
    is_int((int)c.bytes[COL_BC_VALUES], 2 * (4 + 8), "and knows its bytes");
    first(&c, COL_BC_VALUES, &b);
    bits = (uint64_t)be64(b);
    memcpy(&v, &bits, sizeof v);
    ok(v == 2.5, "a float8 is its IEEE 754 bits, big-endian");
    col_cells_column(&c, COL_BC_ANSWERED);
    col_cells_int4(&c, -2);
    is_int(first(&c, COL_BC_ANSWERED, &b), 4, "an int4 is 4 bytes");
    is_int(be32(b), -2, "big-endian, two's complement");
    col_cells_column(&c, COL_BC_PRORATED);
    col_cells_bool(&c, 7);
    ok(first(&c, COL_BC_PRORATED, &b) == 1 && b[0] == 1, "true is the byte 1");
    col_cells_column(&c, COL_BC_SUBSCALES);
    col_cells_jsonb(&c, "{\"a\":1}");
    ok(first(&c, COL_BC_SUBSCALES, &b) == 8 && b[0] == 1 && memcmp(b + 1, "{\"a\":1}", 7) == 0,
       "jsonb is the version byte 1 and the text");
    col_cells_column(&c, COL_BC_FLAGS);
    is_int(c.count[COL_BC_FLAGS], 0, "a column with nothing in it has no element");
    is_int((int)c.bytes[COL_BC_FLAGS], 0, "and no bytes");
    col_cells_column(&c, COL_BC_ACTOR);
    col_cells_text(&c, NULL);
    col_cells_column(&c, COL_BC_ITEMS);
    col_cells_text(&c, "gad7_1");
    ok(first(&c, COL_BC_ITEMS, &b) == 6 && memcmp(b, "gad7_1", 6) == 0, "text is its bytes");
    is_int(first(&c, COL_BC_ID, &b), 16, "columns written later leave earlier ones alone");
    ok(!c.failed, "nothing failed");
    col_cells_column(&c, COL_BC_HASH);
    col_cells_uuid(&c, "not-a-uuid");
    ok(c.failed, "a malformed uuid fails the job (it takes no batch)");
    col_cells_free(&c);
    ok(c.buf == NULL && c.len == 0, "freed and reset");
    return tap_done();
}
