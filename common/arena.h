/*
 * arena.h — a bump allocator for memory that dies together.
 *
 * An HTTP request owns one arena: its headers, parameters, decoded strings and
 * reply headers all live there and are released at once when the request
 * completes (h2o's req->pool, PostgreSQL's memory contexts). Allocation never
 * frees individually. Not thread-safe: one arena, one thread at a time.
 */
#ifndef ATTUNE_ARENA_H
#define ATTUNE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* A new empty arena, or NULL when out of memory. */
struct arena *arena_new(void);

/* Releases every allocation and the arena. NULL-safe. */
void arena_free(struct arena *a);

/* `size` bytes aligned for any type, or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);

/* Zeroed `n * size` bytes, or NULL on overflow or out of memory. */
void *arena_calloc(struct arena *a, size_t n, size_t size);

/* Copies of strings, or NULL. arena_strndup copies at most n bytes and ends with NUL. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* A formatted string in the arena, or NULL. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes handed out so far (for caps and tests). */
size_t arena_used(const struct arena *a);

#endif
