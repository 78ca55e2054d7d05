/*
 * test_datasets.c — long CSV loading (every refusal names file and line),
 * interning, fingerprints, and pre/post pairing for completers, BOCF and
 * LOCF with the counts of who is left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ds.h"
#include "tap.h"

static char dir[64];

static const char *put(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static const struct ds_csv_columns cols = {"id", "week", "score", "arm"};
static const struct ds_csv_columns cols_noarm = {"id", "week", "score", NULL};

static void refused(const char *name, const char *text, const char *expect, int code)
{
    struct ds_long *d = NULL;
    struct err e;
    char want[128];
    int rc;

    err_clear(&e);
    rc = ds_load_csv(put(name, text), &cols, &d, &e);
    is_int(rc, code, "%s is refused", name);
    ok(d == NULL, "%s: nothing is returned", name);
    snprintf(want, sizeof want, "%s:", name);
    ok(strstr(e.message, want) != NULL && strstr(e.message, expect) != NULL,
       "%s: message \"%s\" names the file and says \"%s\"", name, e.message, expect);
    ds_long_free(d);
}

static void test_load(void)
{
    struct ds_long *d = NULL, *d2 = NULL;
    struct err e;
    const char *good = "\xEF\xBB\xBF"
                       "id,arm,week,score,extra\n"
                       "p1,app,0,10,x\n"
                       "p1,app,8,4,\"a, quoted\ncell\"\n"
                       "p2,wait,0,12,\n"
                       "p2,wait,8,NA,\n"
                       "\"p3\",app,0,,\n"
                       "p3,app,4,7.5,\n";

    err_clear(&e);
    ok(ds_load_csv(put("good.csv", good), &cols, &d, &e) == 0, "good file loads: %s", e.message);
    is_int(d->n, 4, "observations with a score");
    is_int(d->n_missing, 2, "empty and NA scores counted as missing");
    is_int(d->n_subjects, 3, "participants, with or without scores");
    is_int(d->n_arms, 2, "arms");
    is_str(d->arms[d->subject_arm[2]], "app", "arm of p3");
    is_str(d->subjects[0], "p1", "first-seen order (BOM stripped from the header)");
    is_int(strlen(d->fingerprint), 64, "fingerprint computed");

    /* The same data in another row order has the same fingerprint. */
    ok(ds_load_csv(put("shuffled.csv", "week,score,id,arm\n8,4,p1,app\n4,7.5,p3,app\n"
                                       "0,12,p2,wait\n0,10,p1,app\n8,NA,p2,wait\n,,p3,app\n"),
                   &cols, &d2, &e) != 0,
       "an empty time is refused");
    ds_long_free(d2);
    d2 = NULL;
    ok(ds_load_csv(put("shuffled.csv", "week,score,id,arm\n8,4,p1,app\n4,7.5,p3,app\n"
                                       "0,12,p2,wait\n0,10,p1,app\n8,NA,p2,wait\n0,,p3,app\n"),
                   &cols, &d2, &e) == 0,
       "reordered file loads");
    is_str(d2->fingerprint, d->fingerprint, "fingerprint ignores row and column order");
    ds_long_free(d2);
    d2 = NULL;
    ds_load_csv(put("changed.csv", "id,arm,week,score\np1,app,0,10\np1,app,8,4.000001\n"
                                   "p2,wait,0,12\np2,wait,8,NA\np3,app,0,\np3,app,4,7.5\n"),
                &cols, &d2, &e);
    ok(d2 && strcmp(d2->fingerprint, d->fingerprint) != 0, "a changed score changes it");
    ds_long_free(d2);
    ds_long_free(d);

    d = NULL;
    ok(ds_load_csv(put("noarm.csv", "id,week,score\na,0,1\nb,0,2\n"), &cols_noarm, &d, &e) == 0,
       "no arm column needed");
    is_int(d->n_arms, 0, "no arms");
    is_int(d->subject_arm[0], -1, "arm index -1");
    ds_long_free(d);
}

static void test_refusals(void)
{
    struct ds_long *d = NULL;
    struct err e;

    refused("nocol.csv", "id,arm,week,points\np,a,0,1\n", "no column \"score\"", DS_EFORMAT);
    refused("badscore.csv", "id,arm,week,score\np,a,0,1\np,a,1,lots\n",
            "badscore.csv:3: score \"lots\"", DS_EFORMAT);
    refused("badtime.csv", "id,arm,week,score\np,a,zero,1\n", "badtime.csv:2: time \"zero\"",
            DS_EFORMAT);
    refused("dup.csv", "id,arm,week,score\np,a,0,1\nq,a,0,1\np,a,0,2\n",
            "dup.csv:4: second score for participant \"p\" at time 0 (the first is on line 2)",
            DS_EFORMAT);
    refused("twoarms.csv", "id,arm,week,score\np,a,0,1\np,b,1,2\n",
            "twoarms.csv:3: participant \"p\" is in arm \"b\" here but in arm \"a\" on line 2",
            DS_EFORMAT);
    refused("short.csv", "id,arm,week,score\np,a,0\n", "short.csv:2: the row has only 3 fields",
            DS_EFORMAT);
    refused("quote.csv", "id,arm,week,score\np,a,0,\"1\n", "malformed CSV", DS_EFORMAT);
    refused("emptyid.csv", "id,arm,week,score\n,a,0,1\n", "empty participant id", DS_EFORMAT);
    refused("inf.csv", "id,arm,week,score\np,a,0,inf\n", "score \"inf\"", DS_EFORMAT);
    ok(ds_load_csv(put("empty.csv", ""), &cols, &d, &e) == DS_EEMPTY, "an empty file is refused");
    ok(ds_load_csv("/nonexistent.csv", &cols, &d, &e) == DS_EIO && d == NULL,
       "a missing file is refused");
}

static void test_pairs(void)
{
    struct ds_long *d = NULL;
    struct ds_pairs p;
    struct err e;
    /* a: complete; b: no week 8, has week 4; c: no baseline; d: baseline only;
     * e (other arm): complete. */
    const char *text = "id,arm,week,score\n"
                       "a,app,0,10\na,app,4,8\na,app,8,5\n"
                       "b,app,0,12\nb,app,4,9\n"
                       "c,app,4,6\nc,app,8,3\n"
                       "d,app,0,7\n"
                       "e,wait,0,11\ne,wait,8,10\n";

    ok(ds_load_csv(put("pairs.csv", text), &cols, &d, &e) == 0, "pairs data loads");

    ok(ds_pair(d, 0, 8, -1, DS_COMPLETERS, &p, &e) == 0, "completers, all arms");
    is_int(p.n, 2, "two completers");
    is_int(p.n_considered, 5, "five participants considered");
    is_int(p.n_no_baseline, 1, "one without baseline");
    is_int(p.n_no_followup, 2, "two without follow-up");
    ok(p.pre[0] == 10 && p.post[0] == 5 && p.pre[1] == 11 && p.post[1] == 10,
       "pairs in first-seen order");
    ds_pairs_free(&p);

    ok(ds_pair(d, 0, 8, ds_arm_index(d, "app"), DS_COMPLETERS, &p, &e) == 0, "one arm");
    is_int(p.n, 1, "one completer in app");
    is_int(p.n_considered, 4, "four in app");
    ds_pairs_free(&p);

    ok(ds_pair(d, 0, 8, -1, DS_BOCF, &p, &e) == 0, "BOCF");
    is_int(p.n, 4, "everyone with a baseline");
    is_int(p.n_imputed, 2, "two carried forward");
    ok(p.post[1] == 12 && p.imputed[1] == 1, "b's baseline carried forward");
    ok(p.post[2] == 7, "d's baseline carried forward");
    ds_pairs_free(&p);

    ok(ds_pair(d, 0, 8, -1, DS_LOCF, &p, &e) == 0, "LOCF");
    is_int(p.n, 4, "everyone with a baseline");
    ok(p.post[1] == 9, "b's last observation (week 4) carried forward");
    ok(p.post[2] == 7, "d has nothing after baseline: baseline carried");
    ds_pairs_free(&p);

    ok(ds_pair(d, 8, 0, -1, DS_COMPLETERS, &p, &e) == DS_EFORMAT,
       "follow-up before baseline refused");
    ds_long_free(d);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/attune-ds-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    test_load();
    test_refusals();
    test_pairs();
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", dir);
    }
    return tap_done();
}
