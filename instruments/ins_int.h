/*
 * ins_int.h — what the files of instruments/ share and nobody else sees: the
 * private part of a definition, the checks on identifiers, problem lists,
 * JSON pointers, file reading and number formatting.
 */
#ifndef ATTUNE_INS_INT_H
#define ATTUNE_INS_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "arena.h"
#include "ins.h"

/* Everything a definition owns lives in its arena and dies with it. */
struct ins_definition_private {
    struct arena *arena;
};

/* Identifier rules, the same as the database's CHECK constraints
 * (sql/001_initial.sql): attune_key, instruments.version, response_items.item_id. */
int ins_valid_key(const char *s);
int ins_valid_version(const char *s);
int ins_valid_item_id(const char *s);
/* A BCP 47 language tag, loosely: a 2-3 letter language, then subtags ("en", "pt-BR"). */
int ins_valid_language(const char *s);
/* LOINC codes: "69725-0" and answer codes "LA6568-5" (digits, dash, check digit). */
int ins_valid_loinc(const char *s);
int ins_valid_loinc_answer(const char *s);

/* ">=" -> INS_OP_GE ...; -1 when unknown. */
int ins_op_parse(const char *s, enum ins_op *out);
/* `a op b`; INS_OP_MISSING is never true here (the caller handles it). */
int ins_op_holds(enum ins_op op, double a, double b);

/*
 * Compares versions: runs of digits as numbers, everything else byte by byte,
 * so "10" > "9" and "1.10" > "1.9". Returns <0, 0, >0.
 */
int ins_version_cmp(const char *a, const char *b);

/*
 * Appends "/" and `key` escaped as a JSON pointer token (~ -> ~0, / -> ~1) to
 * `prefix` in buf. Control characters and over-long keys are cut: pointers are
 * for messages.
 */
void ins_pointer(char *buf, size_t size, const char *prefix, const char *key);

/*
 * Adds a problem (NULL-safe on p). `detail` may be NULL; `message` is a
 * printf format. Returns INS_EANSWERS, so callers can `return ins_problem(...)`.
 */
int ins_problem(struct ins_problems *p, enum ins_problem_code code, const char *item_id,
                const char *pointer, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Reads a whole regular file of at most `max` bytes into a NUL-terminated
 * malloc'd buffer. INS_EIO (missing, unreadable, too big, holds a NUL byte).
 */
int ins_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e);

/* Shortest text that reads back as the same double, never locale-dependent
 * ("3", "0.92", "13.5"). */
void ins_format_number(char *buf, size_t size, double v);

/* A JSON number for v: an integer when v is whole and small, else a real.
 * A new reference (json_null() for NaN). */
json_t *ins_json_number(double v);

/* Lower-case hex SHA-256 of the bytes. */
void ins_sha256_hex(const void *data, size_t len, char out[65]);

/* The option of `set` whose value is v, or NULL. */
const struct ins_option *ins_option_find(const struct ins_option_set *set, double v);

/*
 * The canonical text of a definition JSON: sorted keys, two-space indent,
 * final newline. malloc'd; NULL when out of memory.
 */
char *ins_canonical_text(const json_t *root);

#endif
