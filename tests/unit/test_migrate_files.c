/*
 * test_migrate_files.c — loading migration files: naming rules, ordering,
 * duplicate numbers, checksums. (Applying them needs a database: see the
 * integration suite.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "migrate.h"
#include "tap.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void drop(const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

int main(void)
{
    struct migration_set *set = NULL;
    struct err e;

    if (sodium_init() < 0)
        return 1;
    strcpy(dir, "/tmp/attune-mig-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;

    put("002_second.sql", "SELECT 2;");
    put("001_first.sql", "SELECT 1;");
    put("README.md", "not a migration");
    ok(migrate_load(dir, &set, &e) == 0, "folder loads");
    is_int(set->n, 2, "only .sql files count");
    is_str(set->items[0].name, "001_first.sql", "sorted by number");
    is_int(set->items[1].version, 2, "version parsed");
    is_int(strlen(set->items[0].checksum), 64, "checksum is 64 hex digits");
    migrate_set_free(set);
    set = NULL;

    {
        /* The checksum is the SHA-256 of the file's bytes. */
        unsigned char h[32];
        char hex[65];
        crypto_hash_sha256(h, (const unsigned char *)"SELECT 1;", 9);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        migrate_load(dir, &set, &e);
        is_str(set->items[0].checksum, hex, "checksum is SHA-256 of the text");
        migrate_set_free(set);
        set = NULL;
    }

    put("002_again.sql", "SELECT 3;");
    ok(migrate_load(dir, &set, &e) == MIGRATE_ENAME, "duplicate number refused");
    ok(strstr(e.message, "002_again.sql") && strstr(e.message, "002_second.sql"),
       "both files named: %s", e.message);
    drop("002_again.sql");

    put("3_short.sql", "SELECT 4;");
    ok(migrate_load(dir, &set, &e) == MIGRATE_ENAME, "bad name refused");
    ok(strstr(e.message, "3_short.sql") != NULL, "bad name named: %s", e.message);
    drop("3_short.sql");

    put("004_Upper.sql", "SELECT 4;");
    ok(migrate_load(dir, &set, &e) == MIGRATE_ENAME, "upper case refused");
    drop("004_Upper.sql");

    put("000_zero.sql", "SELECT 0;");
    ok(migrate_load(dir, &set, &e) == MIGRATE_ENAME, "number 000 refused");
    drop("000_zero.sql");

    ok(migrate_load("/nonexistent/sql", &set, &e) == MIGRATE_EIO, "missing folder is an error");

    drop("001_first.sql");
    drop("002_second.sql");
    drop("README.md");
    rmdir(dir);
    return tap_done();
}
