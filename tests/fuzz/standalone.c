/*
 * standalone.c — runs a fuzz target's LLVMFuzzerTestOneInput over files,
 * without libFuzzer, so that every seed and every crash ever found is
 * replayed by the ordinary test suite (and under the sanitizer build in CI).
 *
 * Usage: fuzz_<target> DIR_OR_FILE ...   Prints one TAP line per input.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int count;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        printf("not ok %d - read %s\n", ++count, path);
        if (f)
            fclose(f);
        return;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        printf("not ok %d - read %s\n", ++count, path);
        free(buf);
        fclose(f);
        return;
    }
    fclose(f);
    /* A crash or sanitizer report aborts the process: the missing plan and
     * the exit status make the test fail. */
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    free(buf);
    printf("ok %d - %s\n", ++count, path);
    fflush(stdout);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *ent;
    char **names = NULL;
    size_t n = 0;

    if (stat(path, &st) != 0) {
        printf("not ok %d - %s exists\n", ++count, path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    d = opendir(path);
    while (d != NULL && (ent = readdir(d)) != NULL) {
        char full[4096];
        if (ent->d_name[0] == '.')
            continue;
        snprintf(full, sizeof full, "%s/%s", path, ent->d_name);
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(full);
    }
    if (d != NULL)
        closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (size_t i = 0; i < n; i++) {
        run_path(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    printf("1..%d\n", count);
    return count > 0 ? 0 : 1;
}
