/*
 * test_common.c — small plumbing: log value quoting, the arena, error records.
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "err.h"
#include "log.h"
#include "tap.h"
#include "utf8.h"

static void test_log_quote(void)
{
    char buf[64];
    enum log_level lvl;

    is_str(log_quote(buf, sizeof buf, "/healthz"), "/healthz", "plain token unquoted");
    is_str(log_quote(buf, sizeof buf, "a b"), "\"a b\"", "space forces quotes");
    is_str(log_quote(buf, sizeof buf, "say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"",
           "quotes and newline escaped");
    is_str(log_quote(buf, sizeof buf, "k=v"), "\"k=v\"", "equals sign quoted");
    is_str(log_quote(buf, sizeof buf, "\x01"), "\"\\x01\"", "control byte escaped");
    is_str(log_quote(buf, sizeof buf, ""), "\"\"", "empty value quoted");
    log_quote(buf, 8, "a very long value with spaces");
    ok(strlen(buf) < 8 && buf[strlen(buf) - 1] == '"', "cut value still closes its quote");
    ok(log_level_parse("warn", &lvl) == 0 && lvl == LOG_WARN, "level parses");
    ok(log_level_parse("verbose", &lvl) != 0, "unknown level refused");
}

static void test_arena(void)
{
    struct arena *a = arena_new();
    char *s, *big;
    void *p;

    s = arena_strdup(a, "hello");
    is_str(s, "hello", "strdup");
    is_str(arena_strndup(a, "abcdef", 3), "abc", "strndup cuts");
    is_str(arena_printf(a, "%d-%s", 42, "x"), "42-x", "printf");
    p = arena_alloc(a, 3);
    ok(((uintptr_t)p % _Alignof(max_align_t)) == 0, "allocations are aligned");
    big = arena_alloc(a, 100000);
    ok(big != NULL, "allocation larger than a chunk");
    memset(big, 'x', 100000);
    is_str(s, "hello", "earlier allocations survive a big one");
    ok(arena_calloc(a, SIZE_MAX / 2, 4) == NULL, "overflowing calloc refused");
    ok(arena_used(a) >= 100000, "usage counted");
    arena_free(a);
    arena_free(NULL);
    ok(1, "arena_free(NULL) is a no-op");
}

static void test_err(void)
{
    struct err e;

    is_int(err_set(&e, -3, "could not open \"%s\"", "x"), -3, "err_set returns the code");
    is_str(e.message, "could not open \"x\"", "message formatted");
    err_detail(&e, "The file is missing.");
    err_prefix(&e, "config");
    is_str(e.message, "config: could not open \"x\"", "prefix added");
    is_str(e.detail, "The file is missing.", "detail kept by prefix");
    is_int(err_set(NULL, -2, "ignored"), -2, "NULL record still returns the code");
}

static void test_utf8(void)
{
    char cut[] = "caf\xc3";    /* é cut after its first byte */
    char cut3[] = "x\xe2\x82"; /* € cut after two bytes */
    char bad[] = "a\xff"
                 "b\xc0\xaf"
                 "c"; /* a stray byte; an overlong '/' */
    char sur[] = "\xed\xa0\x80"
                 "d"; /* a UTF-16 surrogate */
    char fine[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ok";

    is_str(utf8_sanitize(cut), "caf", "a character cut at the end is dropped");
    is_str(utf8_sanitize(cut3), "x", "a three-byte character cut after two bytes is dropped");
    is_str(utf8_sanitize(bad), "a?b??c", "stray and overlong bytes become '?'");
    is_str(utf8_sanitize(sur), "???d", "surrogates are not UTF-8");
    is_str(utf8_sanitize(fine), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ok",
           "valid text is left alone");
    is_int(utf8_valid_prefix("ab\xc3\xa9\xc3", 5), 4, "the valid prefix stops before a cut");
    is_int(utf8_valid_prefix("\xf4\x90\x80\x80", 4), 0, "nothing above U+10FFFF");
}

int main(void)
{
    test_log_quote();
    test_arena();
    test_err();
    test_utf8();
    return tap_done();
}
