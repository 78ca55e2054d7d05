/*
 * utf8.h — making text safe to put in JSON. jansson refuses a string that is
 * not valid UTF-8 (json_string() and json_pack() return NULL), so a message
 * that quotes outside input — cut to fit a fixed buffer in the middle of a
 * multi-byte character, or holding raw bytes from a percent-decoded path —
 * would silently vanish from a list of problems, or turn a refusal into a
 * failure to describe it. Every message built from outside input goes
 * through utf8_sanitize() before it becomes a JSON string.
 */
#ifndef ATTUNE_UTF8_H
#define ATTUNE_UTF8_H

#include <stddef.h>

/* The length of the longest prefix of s[0..len) that is valid UTF-8. */
size_t utf8_valid_prefix(const char *s, size_t len);

/*
 * Makes the NUL-terminated `s` valid UTF-8 in place: an incomplete
 * character at the end (a cut) is dropped, and every other byte that does not
 * begin a valid character (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF) becomes '?'. Returns `s`.
 */
char *utf8_sanitize(char *s);

#endif
