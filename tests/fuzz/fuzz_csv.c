/*
 * fuzz_csv.c — the long-CSV reader (libcsv) and the pairing that follows, on
 * arbitrary bytes. The input is written to an anonymous memory file because
 * the reader takes a path, as `attune analyze --csv` does.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ds_csv_columns cols = {"id", "week", "score", "arm"};
    struct ds_long *d = NULL;
    struct ds_pairs p;
    struct err e;
    char path[64];
    int fd = memfd_create("fuzz.csv", 0);

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (ds_load_csv(path, &cols, &d, &e) == 0) {
        for (int pop = DS_COMPLETERS; pop <= DS_LOCF; pop++) {
            if (ds_pair(d, 0, 8, -1, (enum ds_population)pop, &p, &e) == 0)
                ds_pairs_free(&p);
        }
        ds_long_free(d);
    }
    close(fd);
    return 0;
}
