/*
 * utf8.c — UTF-8 validation for text that becomes JSON (see utf8.h).
 */
#include "utf8.h"

#include <string.h>

/* Length of the valid character at s[0..len), or 0 if there is none. */
static size_t utf8_char(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

size_t utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_char(u + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

char *utf8_sanitize(char *s)
{
    unsigned char *u = (unsigned char *)s;
    size_t len = strlen(s), i = 0;

    while (i < len) {
        size_t n = utf8_char(u + i, len - i);
        if (n > 0) {
            i += n;
            continue;
        }
        /* A lead byte whose character runs past the end: a cut. Drop it. */
        if (u[i] >= 0xC2 && u[i] <= 0xF4 && len - i < 4) {
            size_t want = u[i] <= 0xDF ? 2 : u[i] <= 0xEF ? 3 : 4, k = 1;
            while (i + k < len && (u[i + k] & 0xC0) == 0x80)
                k++;
            if (i + k == len && k < want) {
                u[i] = '\0';
                break;
            }
        }
        u[i++] = '?';
    }
    return s;
}
