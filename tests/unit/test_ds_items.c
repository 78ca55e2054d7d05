/*
 * test_ds_items.c — item answers from a wide CSV file: what loads, what is
 * missing, what is refused (with file and line), and a fingerprint that does
 * not depend on row order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ds_items.h"
#include "tap.h"

static char dir[64];
static char made[32][256]; /* files written, removed at the end */
static int n_made;

static const char *put(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n_made < 32)
        snprintf(made[n_made++], sizeof made[0], "%s", path);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *const items[] = {"q1", "q2", "q3"};

static void refused(const char *name, const char *text, const char *expect)
{
    struct ds_items *d = NULL;
    struct err e;
    char want[128];
    int rc;

    err_clear(&e);
    rc = ds_load_items_csv(put(name, text), "id", items, 3, &d, &e);
    ok(rc == DS_EFORMAT && d == NULL, "%s is refused and nothing is returned", name);
    snprintf(want, sizeof want, "%s/%s", dir, name);
    ok(strstr(e.message, want) != NULL && strstr(e.message, expect) != NULL,
       "%s: \"%s\" names the file, line and says \"%s\"", name, e.message, expect);
    ds_items_free(d);
}

int main(void)
{
    struct ds_items *d = NULL, *d2 = NULL;
    struct err e;

    snprintf(dir, sizeof dir, "/tmp/attune-ds-items-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    err_clear(&e);
    ok(ds_load_items_csv(put("good.csv", "\xEF\xBB\xBF"
                                         "id,q3,extra,q1,q2\n"
                                         "r1,3,x,1,2\n"
                                         "\n"
                                         "r2,NA,,4,\n"
                                         "\"r3\",1,\"a, b\",2,3\n"),
                         "id", items, 3, &d, &e) == 0,
       "a wide file loads: %s", e.message);
    is_int(d->n, 3, "three rows (the blank line skipped)");
    ok(d->x[0] == 1 && d->x[1] == 2 && d->x[2] == 3, "columns in the order asked for");
    ok(isnan(d->x[3 + 1]) && isnan(d->x[3 + 2]) && d->x[3] == 4, "NA and empty are missing");
    is_int(d->n_missing, 2, "missing answers counted");
    is_str(d->ids[2], "r3", "respondent ids kept");
    is_int(strlen(d->fingerprint), 64, "fingerprint computed");
    ok(ds_load_items_csv(put("shuffled.csv", "q1,q2,q3,id\n2,3,1,r3\n1,2,3,r1\n4,,NA,r2\n"), "id",
                         items, 3, &d2, &e) == 0,
       "the same rows in another order load");
    is_str(d2->fingerprint, d->fingerprint, "the fingerprint does not depend on row order");
    ds_items_free(d2);
    d2 = NULL;
    ok(ds_load_items_csv(put("changed.csv", "q1,q2,q3,id\n2,3,1,r3\n1,2,3,r1\n4,,1,r2\n"), "id",
                         items, 3, &d2, &e) == 0,
       "a file with one answer changed loads");
    ok(strcmp(d2->fingerprint, d->fingerprint) != 0, "one changed answer changes the fingerprint");
    ds_items_free(d2);
    d2 = NULL;
    ok(ds_load_items_csv(put("noid.csv", "q1,q2,q3\n1,2,3\n"), NULL, items, 3, &d2, &e) == 0 &&
           strcmp(d2->ids[0], "1") == 0,
       "without an id column rows are numbered");
    ds_items_free(d2);

    refused("nocol.csv", "id,q1,q2\nr1,1,2\n", ":1: no column \"q3\"");
    refused("text.csv", "id,q1,q2,q3\nr1,1,2,3\nr2,1,two,3\n",
            ":3: answer \"two\" in column \"q2\" is not a number");
    refused("short.csv", "id,q1,q2,q3\nr1,1,2,3\nr2,1\n", ":3: the row has only 2 fields");
    refused("quote.csv", "id,q1,q2,q3\nr1,1,2,3\n\"r2,1,2,3\n", "malformed CSV");
    refused("noid.csv", "id,q1,q2,q3\n,1,2,3\n", ":2: empty respondent id");
    {
        struct ds_items *x = NULL;
        is_int(ds_load_items_csv(put("empty.csv", "id,q1,q2,q3\n"), "id", items, 3, &x, &e),
               DS_EEMPTY, "a file without rows is refused");
        is_int(ds_load_items_csv("/nonexistent/x.csv", "id", items, 3, &x, &e), DS_EIO,
               "a missing file is refused");
        is_int(ds_load_items_csv(put("k0.csv", "id\n"), "id", items, 0, &x, &e), DS_EFORMAT,
               "no items is refused");
    }
    ds_items_free(d);
    for (int i = 0; i < n_made; i++)
        unlink(made[i]);
    rmdir(dir);
    return tap_done();
}
