/*
 * test_csv_read.c — the CSV reader the long and the wide loaders share
 * (datasets/ds_csv_read.c): the caps on cells and columns, malformed quoting
 * and a missing column are refused by both loaders in the same words, with
 * the file and line; and its number parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ds.h"
#include "ds_int.h"
#include "ds_items.h"
#include "tap.h"

static char dir[64];
static char made[16][256]; /* files written, removed at the end */
static int n_made;

static const char *put(const char *name, const char *text, size_t len)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n_made < 16)
        snprintf(made[n_made++], sizeof made[0], "%s", path);
    f = fopen(path, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    return path;
}

/* Both loaders refuse the file with DS_EFORMAT and the same message, which says `expect`. */
static void both_refuse(const char *name, const char *text, size_t len, const char *expect)
{
    static const struct ds_csv_columns cols = {"id", "week", "score", NULL};
    static const char *const items[] = {"week", "score"};
    struct ds_long *d = NULL;
    struct ds_items *x = NULL;
    struct err e1, e2;
    const char *path = put(name, text, len);
    char want[128];

    err_clear(&e1);
    err_clear(&e2);
    is_int(ds_load_csv(path, &cols, &d, &e1), DS_EFORMAT, "%s: the long loader refuses it", name);
    is_int(ds_load_items_csv(path, "id", items, 2, &x, &e2), DS_EFORMAT,
           "%s: the wide loader refuses it", name);
    ok(d == NULL && x == NULL, "%s: nothing is returned", name);
    snprintf(want, sizeof want, "%s/%s:", dir, name);
    ok(strncmp(e1.message, want, strlen(want)) == 0 && strstr(e1.message, expect) != NULL,
       "%s: \"%s\" names the file and line and says \"%s\"", name, e1.message, expect);
    is_str(e2.message, e1.message, "%s: both loaders say the same", name);
    is_str(e2.detail, e1.detail, "%s: with the same detail", name);
}

/* A literal's length, NUL bytes inside it included. */
#define TEXT(s) s, sizeof s - 1

static void test_refusals(void)
{
    char *big = malloc(20000);
    size_t n;

    both_refuse("nul.csv", TEXT("id,week,score\np1,0,1\np2,0\0,1\n"),
                ":3: a cell contains a NUL byte");
    n = (size_t)snprintf(big, 20000, "id,week,score\np1,0,");
    memset(big + n, '7', 4097);
    n += 4097;
    big[n++] = '\n';
    both_refuse("long.csv", big, n, ":2: a cell is longer than 4096 bytes");
    n = (size_t)snprintf(big, 20000, "id,week,score");
    for (int i = 0; i < 998; i++)
        n += (size_t)snprintf(big + n, 20000 - n, ",c%d", i);
    big[n++] = '\n';
    both_refuse("wide.csv", big, n, ":1: more than 1000 columns");
    both_refuse("quote.csv", TEXT("id,week,score\np1,0,1\n\"p2,0,1\n"),
                "malformed CSV at the end of the file");
    both_refuse("nocol.csv", TEXT("id,week,points\np1,0,1\n"), ":1: no column \"score\"");
    free(big);
}

static void test_number(void)
{
    double v = -1;

    ok(ds_csv_number(" 2.5 ", &v) == 0 && v == 2.5, "spaces around a number are allowed");
    ok(ds_csv_number("-0", &v) == 0 && v == 0, "a negative zero is a number");
    v = 7;
    ok(ds_csv_number("", &v) != 0 && v == 7, "an empty cell is not a number and leaves *out");
    ok(ds_csv_number("2 3", &v) != 0, "two numbers are not one");
    ok(ds_csv_number("inf", &v) != 0 && ds_csv_number("nan", &v) != 0,
       "infinity and NaN are refused");
    ok(ds_csv_number("1e400", &v) != 0, "a number out of range is refused");
    ok(ds_csv_number("4x", &v) != 0, "trailing text is refused");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/attune-csv-read-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    test_refusals();
    test_number();
    for (int i = 0; i < n_made; i++)
        unlink(made[i]);
    rmdir(dir);
    return tap_done();
}
