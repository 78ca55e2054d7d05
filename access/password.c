/*
 * password.c — Argon2id password hashes through libsodium. The clear text is
 * never stored or logged; callers wipe their copies.
 */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "access.h"

_Static_assert(crypto_pwhash_STRBYTES == 128, "the hash buffers are 128 bytes");

/* UTF-8 code points: bytes that do not continue a sequence. */
static size_t acc_utf8_length(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int acc_password_check(const char *password, const char *username, struct err *e)
{
    size_t bytes = password ? strlen(password) : 0;

    if (bytes > ACC_PASSWORD_MAX)
        return err_set(e, ACC_EINVAL, "password too long: at most %d bytes", ACC_PASSWORD_MAX);
    if (password == NULL || acc_utf8_length(password) < ACC_PASSWORD_MIN) {
        err_set(e, ACC_EINVAL, "password too short");
        err_detail(e, "A password needs at least %d characters.", ACC_PASSWORD_MIN);
        err_hint(e, "A few unrelated words make a long password that is easy to remember.");
        return ACC_EINVAL;
    }
    if (username != NULL && strcasecmp(password, username) == 0)
        return err_set(e, ACC_EINVAL, "the password may not be the user name");
    return 0;
}

int acc_password_hash(const char *password, const char *username, char out[128], struct err *e)
{
    int rc;

    if ((rc = acc_password_check(password, username, e)) != 0)
        return rc;
    if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return err_set(e, ACC_ECRYPTO, "could not hash the password: out of memory");
    return 0;
}

int acc_password_verify(const char *hash, const char *password)
{
    if (hash == NULL || password == NULL || strlen(password) > ACC_PASSWORD_MAX)
        return 0;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
