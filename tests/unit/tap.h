/*
 * tap.h — a tiny Test Anything Protocol producer for the unit suite.
 *
 * Each check prints "ok N - name" or "not ok N - name" with the file, line and
 * the values compared; tap_done() prints the plan and returns the exit status.
 * meson runs the executables with protocol 'tap'; tests/summary.py counts the
 * individual checks across the whole run.
 */
#ifndef ATTUNE_TAP_H
#define ATTUNE_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failures;

__attribute__((format(printf, 4, 5), unused)) static int tap_ok(int pass, const char *file,
                                                                int line, const char *fmt, ...)
{
    va_list ap;

    tap_count++;
    printf("%sok %d - ", pass ? "" : "not ", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failures++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                                     \
    do {                                                                                           \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                           \
        if (!tap_ok(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__))                            \
            printf("#   got %lld, want %lld\n", tap_g_, tap_w_);                                   \
    } while (0)

#define is_str(got, want, ...)                                                                     \
    do {                                                                                           \
        const char *tap_g_ = (got), *tap_w_ = (want);                                              \
        int tap_p_ = (tap_g_ == NULL && tap_w_ == NULL) ||                                         \
                     (tap_g_ != NULL && tap_w_ != NULL && strcmp(tap_g_, tap_w_) == 0);            \
        if (!tap_ok(tap_p_, __FILE__, __LINE__, __VA_ARGS__))                                      \
            printf("#   got \"%s\", want \"%s\"\n", tap_g_ ? tap_g_ : "(null)",                    \
                   tap_w_ ? tap_w_ : "(null)");                                                    \
    } while (0)

/* Relative tolerance; near zero it becomes absolute (|want| < 1 uses 1). */
#define is_double(got, want, tol, ...)                                                             \
    do {                                                                                           \
        double tap_g_ = (got), tap_w_ = (want);                                                    \
        double tap_s_ = fabs(tap_w_) > 1.0 ? fabs(tap_w_) : 1.0;                                   \
        int tap_p_ = (isnan(tap_g_) && isnan(tap_w_)) || fabs(tap_g_ - tap_w_) <= (tol)*tap_s_;    \
        if (!tap_ok(tap_p_, __FILE__, __LINE__, __VA_ARGS__))                                      \
            printf("#   got %.17g, want %.17g (tolerance %g)\n", tap_g_, tap_w_, (double)(tol));   \
    } while (0)

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failures == 0 && tap_count > 0 ? 0 : 1;
}

#endif
