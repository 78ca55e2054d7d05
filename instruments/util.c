/*
 * util.c — small helpers shared by the files of instruments/ (see ins_int.h):
 * identifier rules, operators, version order, JSON pointers, problem lists,
 * file reading, locale-proof number formatting, SHA-256.
 */
#include "ins_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

static int ins_is_lower_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int ins_is_alnum(int c)
{
    return ins_is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

int ins_valid_key(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > INS_ID_MAX || !ins_is_lower_alnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!ins_is_lower_alnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

int ins_valid_version(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > INS_VERSION_MAX || !ins_is_alnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!ins_is_alnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

int ins_valid_language(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz");

    /* BCP 47, loosely: a 2-3 letter language, then subtags. */
    if (strlen(s) > 35 || n < 2 || n > 3 || (s[n] != '\0' && s[n] != '-'))
        return 0;
    return strspn(s + n, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
           strlen(s + n);
}

int ins_valid_item_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > INS_ITEM_ID_MAX || !ins_is_alnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!ins_is_alnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* digits{1,7} "-" digit, after an optional prefix. */
static int ins_valid_loinc_body(const char *s)
{
    size_t digits = 0;

    while (isdigit((unsigned char)*s)) {
        s++;
        digits++;
    }
    return digits >= 1 && digits <= 7 && s[0] == '-' && isdigit((unsigned char)s[1]) &&
           s[2] == '\0';
}

int ins_valid_loinc(const char *s)
{
    return ins_valid_loinc_body(s);
}

int ins_valid_loinc_answer(const char *s)
{
    return s[0] == 'L' && s[1] == 'A' && ins_valid_loinc_body(s + 2);
}

/* Operators as written in definition files; the table is the only spelling. */
static const struct {
    const char *name;
    enum ins_op op;
} ins_ops[] = {
    {">=", INS_OP_GE}, {">", INS_OP_GT},  {"<=", INS_OP_LE},
    {"<", INS_OP_LT},  {"==", INS_OP_EQ}, {"missing", INS_OP_MISSING},
};

int ins_op_parse(const char *s, enum ins_op *out)
{
    for (size_t i = 0; i < sizeof ins_ops / sizeof ins_ops[0]; i++)
        if (strcmp(s, ins_ops[i].name) == 0) {
            *out = ins_ops[i].op;
            return 0;
        }
    return -1;
}

const char *ins_op_name(enum ins_op op)
{
    for (size_t i = 0; i < sizeof ins_ops / sizeof ins_ops[0]; i++)
        if (ins_ops[i].op == op)
            return ins_ops[i].name;
    return "?";
}

int ins_op_holds(enum ins_op op, double a, double b)
{
    switch (op) {
    case INS_OP_GE:
        return a >= b;
    case INS_OP_GT:
        return a > b;
    case INS_OP_LE:
        return a <= b;
    case INS_OP_LT:
        return a < b;
    case INS_OP_EQ:
        return a == b;
    case INS_OP_MISSING:
        return 0;
    }
    return 0;
}

int ins_version_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            const char *da = a, *db = b;
            size_t la, lb;
            int c;
            while (*da == '0' && isdigit((unsigned char)da[1]))
                da++;
            while (*db == '0' && isdigit((unsigned char)db[1]))
                db++;
            for (a = da; isdigit((unsigned char)*a); a++)
                ;
            for (b = db; isdigit((unsigned char)*b); b++)
                ;
            la = (size_t)(a - da);
            lb = (size_t)(b - db);
            if (la != lb)
                return la < lb ? -1 : 1;
            c = memcmp(da, db, la);
            if (c != 0)
                return c;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (*a != '\0') - (*b != '\0');
}

void ins_pointer(char *buf, size_t size, const char *prefix, const char *key)
{
    size_t n;

    if (size == 0)
        return;
    snprintf(buf, size, "%s/", prefix);
    n = strlen(buf);
    for (const char *k = key; *k && n + 3 < size; k++) {
        unsigned char c = (unsigned char)*k;
        if (c == '~' || c == '/') {
            buf[n++] = '~';
            buf[n++] = c == '~' ? '0' : '1';
        } else if (c < 0x20 || c == 0x7f) {
            buf[n++] = '?';
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n] = '\0';
}

void ins_problems_clear(struct ins_problems *p)
{
    if (p == NULL)
        return;
    p->n = 0;
    p->n_dropped = 0;
}

int ins_problem(struct ins_problems *p, enum ins_problem_code code, const char *item_id,
                const char *pointer, const char *detail, const char *fmt, ...)
{
    struct ins_problem *pr;
    va_list ap;

    if (p == NULL)
        return INS_EANSWERS;
    if (p->n >= INS_MAX_PROBLEMS) {
        p->n_dropped++;
        return INS_EANSWERS;
    }
    pr = &p->items[p->n++];
    pr->code = code;
    snprintf(pr->item_id, sizeof pr->item_id, "%s", item_id ? item_id : "");
    snprintf(pr->pointer, sizeof pr->pointer, "%s", pointer ? pointer : "");
    snprintf(pr->detail, sizeof pr->detail, "%s", detail ? detail : "");
    va_start(ap, fmt);
    vsnprintf(pr->message, sizeof pr->message, fmt, ap);
    va_end(ap);
    return INS_EANSWERS;
}

/* Machine names of problem codes: stable, documented in docs/instruments.md. */
static const char *const ins_problem_names[] = {
    [INS_PROBLEM_UNKNOWN_ITEM] = "unknown-item",
    [INS_PROBLEM_NOT_A_NUMBER] = "not-a-number",
    [INS_PROBLEM_INVALID_VALUE] = "invalid-value",
    [INS_PROBLEM_REQUIRED_MISSING] = "required-missing",
    [INS_PROBLEM_DUPLICATE] = "duplicate-answer",
    [INS_PROBLEM_MALFORMED] = "malformed",
    [INS_PROBLEM_UNKNOWN_QUESTIONNAIRE] = "unknown-questionnaire",
};

const char *ins_problem_code_name(enum ins_problem_code code)
{
    if ((size_t)code < sizeof ins_problem_names / sizeof ins_problem_names[0] &&
        ins_problem_names[code] != NULL)
        return ins_problem_names[code];
    return "unknown";
}

json_t *ins_problems_to_json(const struct ins_problems *p, const char *prefix)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; p != NULL && i < p->n; i++) {
        const struct ins_problem *pr = &p->items[i];
        char ptr[512];
        json_t *o;

        snprintf(ptr, sizeof ptr, "%s%s", prefix ? prefix : "", pr->pointer);
        o = json_pack("{s:s, s:s, s:s}", "pointer", ptr, "code", ins_problem_code_name(pr->code),
                      "message", pr->message);
        if (o == NULL)
            goto fail;
        if ((pr->item_id[0] && json_object_set_new(o, "item", json_string(pr->item_id)) != 0) ||
            (pr->detail[0] && json_object_set_new(o, "detail", json_string(pr->detail)) != 0) ||
            json_array_append_new(arr, o) != 0) {
            json_decref(o);
            goto fail;
        }
    }
    if (p != NULL && p->n_dropped > 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu more problems not listed", p->n_dropped);
        if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "pointer", prefix ? prefix : "",
                                                 "code", "truncated", "message", msg)) != 0)
            goto fail;
    }
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

int ins_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *buf = NULL;
    size_t size;
    int rc = INS_EIO;

    if (f == NULL)
        return err_set(e, INS_EIO, "could not open \"%s\": %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        err_set(e, INS_EIO, "\"%s\" is not a regular file", path);
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        err_set(e, INS_EIO, "\"%s\" is too large", path);
        err_detail(e, "The file has %lld bytes; the limit is %zu.", (long long)st.st_size, max);
        goto out;
    }
    size = (size_t)st.st_size;
    buf = malloc(size + 1);
    if (buf == NULL) {
        err_set(e, INS_ENOMEM, "out of memory");
        rc = INS_ENOMEM;
        goto out;
    }
    if (fread(buf, 1, size, f) != size) {
        err_set(e, INS_EIO, "could not read \"%s\"", path);
        goto out;
    }
    buf[size] = '\0';
    if (memchr(buf, '\0', size) != NULL) {
        err_set(e, INS_EIO, "\"%s\" contains a NUL byte", path);
        goto out;
    }
    *out = buf;
    *len = size;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

void ins_format_number(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%lld", (long long)v);
        return;
    }
    /* The shortest %g precision that reads back exactly. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        /* Whatever the locale's decimal point, write '.'. */
        for (char *c = buf; *c; c++)
            if (*c == ',')
                *c = '.';
        if (strtod(buf, NULL) == v)
            break;
    }
}

json_t *ins_json_number(double v)
{
    if (isnan(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

void ins_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(hash, data, len);
    sodium_bin2hex(out, 65, hash, sizeof hash);
}

const struct ins_option *ins_option_find(const struct ins_option_set *set, double v)
{
    for (size_t i = 0; set != NULL && i < set->n_options; i++)
        if (set->options[i].value == v)
            return &set->options[i];
    return NULL;
}

char *ins_canonical_text(const json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    size_t n;
    char *grown;

    if (text == NULL)
        return NULL;
    n = strlen(text);
    grown = realloc(text, n + 2);
    if (grown == NULL) {
        free(text);
        return NULL;
    }
    grown[n] = '\n';
    grown[n + 1] = '\0';
    return grown;
}
