/*
 * token.c — random tokens and their stored hashes. Participant tokens, API
 * tokens and session cookies are all 256 random bits from libsodium as
 * base64url text; the database keeps only SHA-256 of the text, which is
 * enough for values this random (no slow hash needed: nothing to guess).
 */
#include <string.h>

#include <sodium.h>

#include "access.h"

_Static_assert(ACC_TOKEN_TEXT == 44, "43 base64url characters for 32 bytes, and a NUL");

void acc_token_new(char out[ACC_TOKEN_TEXT])
{
    uint8_t raw[ACC_TOKEN_BYTES];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, ACC_TOKEN_TEXT, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void acc_api_token_new(char out[ACC_API_TOKEN_TEXT])
{
    memcpy(out, ACC_API_PREFIX, sizeof ACC_API_PREFIX - 1);
    acc_token_new(out + sizeof ACC_API_PREFIX - 1);
}

void acc_token_hash(const char *token, uint8_t out[ACC_HASH_BYTES])
{
    crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

void acc_token_hash_hex(const char *token, char out[2 * ACC_HASH_BYTES + 3])
{
    uint8_t h[ACC_HASH_BYTES];

    acc_token_hash(token, h);
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 2 * ACC_HASH_BYTES + 1, h, sizeof h);
}

int acc_token_well_formed(const char *token)
{
    size_t len;

    if (token == NULL)
        return 0;
    if (strncmp(token, ACC_API_PREFIX, sizeof ACC_API_PREFIX - 1) == 0)
        token += sizeof ACC_API_PREFIX - 1;
    len = strlen(token);
    /* Exactly what acc_token_new() makes; longer or shorter is never ours. */
    if (len != ACC_TOKEN_TEXT - 1)
        return 0;
    for (const char *p = token; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}
