/*
 * cookie.c — the pure helpers of access control: cookies, CSRF tokens, the
 * rate-limit arithmetic, bearer tokens, scopes, roles, safe redirects and
 * HTML escaping. No database, no I/O; the unit suite checks each.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "access.h"

#define ACC_COOKIE_HEADER_MAX 8192

int acc_cookie_get(const char *header, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    const char *p = header;

    if (header == NULL)
        return -1;
    if (strlen(header) > ACC_COOKIE_HEADER_MAX)
        return -2;
    while (*p != '\0') {
        const char *pair_end, *eq, *v, *v_end;
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        pair_end = strchr(p, ';');
        if (pair_end == NULL)
            pair_end = p + strlen(p);
        eq = memchr(p, '=', (size_t)(pair_end - p));
        if (eq != NULL && (size_t)(eq - p) == name_len && memcmp(p, name, name_len) == 0) {
            size_t len;
            v = eq + 1;
            v_end = pair_end;
            while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
                v_end--;
            if (v_end - v >= 2 && v[0] == '"' && v_end[-1] == '"') {
                v++;
                v_end--;
            }
            len = (size_t)(v_end - v);
            if (len + 1 > size)
                return -2;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
        p = pair_end;
    }
    return -1;
}

int acc_cookie_format(char *out, size_t size, const char *name, const char *value, const char *path,
                      long max_age, int secure)
{
    char age[40] = "";
    int n;

    if (max_age >= 0)
        snprintf(age, sizeof age, "; Max-Age=%ld", max_age);
    n = snprintf(out, size, "%s=%s; Path=%s; HttpOnly; SameSite=Strict%s%s", name, value, path, age,
                 secure ? "; Secure" : "");
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

void acc_csrf_token(const char *secret, char out[ACC_CSRF_TEXT])
{
    static const char label[] = "attune-csrf-v1";
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof label - 1);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(out, ACC_CSRF_TEXT, mac, sizeof mac,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int acc_csrf_check(const char *secret, const char *given)
{
    char want[ACC_CSRF_TEXT];

    if (secret == NULL || given == NULL || secret[0] == '\0')
        return 0;
    if (strlen(given) != ACC_CSRF_TEXT - 1)
        return 0;
    acc_csrf_token(secret, want);
    return sodium_memcmp(want, given, ACC_CSRF_TEXT - 1) == 0;
}

long acc_ratelimit_wait(const double *recent, size_t n, double now, int limit, int window_s)
{
    double leaves;
    long wait;

    if (limit <= 0 || n < (size_t)limit)
        return 0;
    /* recent[limit - 1] is the limit-th newest failure: while it is inside
     * the window, `limit` failures are. */
    leaves = recent[limit - 1] + window_s;
    if (leaves <= now)
        return 0;
    wait = (long)ceil(leaves - now);
    return wait < 1 ? 1 : wait;
}

const char *acc_bearer(const char *header)
{
    if (header == NULL)
        return NULL;
    while (*header == ' ')
        header++;
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    header += 7;
    while (*header == ' ')
        header++;
    return *header ? header : NULL;
}

static const struct {
    const char *name;
    unsigned bit;
} acc_scope_names[] = {
    {"read", ACC_SCOPE_READ},
    {"write", ACC_SCOPE_WRITE},
    {"export", ACC_SCOPE_EXPORT},
};

int acc_scopes_parse(const char *text, unsigned *out)
{
    unsigned bits = 0;
    const char *p = text;

    if (text == NULL || *text == '\0')
        return -1;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof acc_scope_names / sizeof acc_scope_names[0]; i++) {
            if (strlen(acc_scope_names[i].name) == len &&
                strncmp(p, acc_scope_names[i].name, len) == 0) {
                bits |= acc_scope_names[i].bit;
                found = 1;
            }
        }
        if (!found)
            return -1;
        p += len;
        if (*p == ',') {
            p++;
            if (*p == '\0')
                return -1;
        }
    }
    *out = bits;
    return 0;
}

void acc_scopes_format(unsigned scopes, char *out, size_t size)
{
    size_t used = 0;

    if (size == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof acc_scope_names / sizeof acc_scope_names[0]; i++) {
        if (!(scopes & acc_scope_names[i].bit))
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? "," : "", acc_scope_names[i].name);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

enum acc_role acc_role_parse(const char *name)
{
    if (name == NULL)
        return ACC_ROLE_NONE;
    if (strcmp(name, "viewer") == 0)
        return ACC_ROLE_VIEWER;
    if (strcmp(name, "researcher") == 0)
        return ACC_ROLE_RESEARCHER;
    if (strcmp(name, "admin") == 0)
        return ACC_ROLE_ADMIN;
    return ACC_ROLE_NONE;
}

const char *acc_role_name(enum acc_role role)
{
    switch (role) {
    case ACC_ROLE_VIEWER:
        return "viewer";
    case ACC_ROLE_RESEARCHER:
        return "researcher";
    case ACC_ROLE_ADMIN:
        return "admin";
    case ACC_ROLE_NONE:
        break;
    }
    return "none";
}

int acc_next_is_local(const char *next)
{
    size_t len = next ? strlen(next) : 0;

    if (len == 0 || len > 512 || next[0] != '/')
        return 0;
    /* "//host" and "/\host" are other servers to a browser. */
    if (next[1] == '/' || next[1] == '\\')
        return 0;
    for (const char *p = next; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int acc_study_key_ok(const char *s)
{
    size_t len = s ? strlen(s) : 0;

    if (len < 1 || len > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

int acc_html_escape(char *out, size_t size, const char *s)
{
    size_t used = strlen(out);

    for (; s && *s; s++) {
        const char *rep;
        char one[2] = {*s, '\0'};
        size_t len;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            rep = one;
        }
        len = strlen(rep);
        if (used + len + 1 > size)
            return -1;
        memcpy(out + used, rep, len + 1);
        used += len;
    }
    return 0;
}
