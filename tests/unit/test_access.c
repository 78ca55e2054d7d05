/*
 * test_access.c — access control's pure parts: cookie parsing and
 * formatting, CSRF tokens, the rate limiter's arithmetic, bearer tokens,
 * token shapes and hashes, scopes, roles, safe redirects, HTML escaping,
 * password rules and hashing, and the authorisation decision matrix.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "tap.h"

static void test_cookies(void)
{
    char v[64];

    is_int(acc_cookie_get("a=1; attune_session=abc; b=2", "attune_session", v, sizeof v), 0,
           "cookie found among others");
    is_str(v, "abc", "cookie value");
    is_int(acc_cookie_get("attune_session=first; attune_session=second", "attune_session", v,
                          sizeof v),
           0, "repeated cookie: found");
    is_str(v, "first", "repeated cookie: the first wins");
    is_int(acc_cookie_get("xattune_session=1; attune_sessionx=2", "attune_session", v, sizeof v),
           -1, "names must match exactly, not as a prefix or suffix");
    is_int(acc_cookie_get("a=\"quoted\"", "a", v, sizeof v), 0, "quoted value");
    is_str(v, "quoted", "quotes are removed");
    is_int(acc_cookie_get("a=", "a", v, sizeof v), 0, "empty value is found");
    is_str(v, "", "empty value");
    is_int(acc_cookie_get("a=1;b=2", "b", v, sizeof v), 0, "no space after ;");
    is_str(v, "2", "value after a bare ;");
    is_int(acc_cookie_get("a=1; flag; b=2 ", "b", v, sizeof v), 0, "a pair without = is skipped");
    is_str(v, "2", "trailing blanks are trimmed");
    is_int(acc_cookie_get(NULL, "a", v, sizeof v), -1, "no header: absent");
    is_int(acc_cookie_get("a=0123456789", "a", v, 5), -2, "a value that does not fit: -2");
    {
        char *big = malloc(10000);
        memset(big, 'x', 9999);
        big[0] = 'a';
        big[1] = '=';
        big[9999] = '\0';
        is_int(acc_cookie_get(big, "a", v, sizeof v), -2, "an oversized header is refused");
        free(big);
    }

    char out[256];
    is_int(acc_cookie_format(out, sizeof out, "attune_session", "tok", "/", 3600, 0), 0,
           "Set-Cookie formats");
    is_str(out, "attune_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600",
           "Set-Cookie: HttpOnly, SameSite=Strict, no Secure over plain HTTP");
    acc_cookie_format(out, sizeof out, "s", "", "/login", 0, 1);
    is_str(out, "s=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0; Secure",
           "clearing cookie over TLS carries Secure");
    acc_cookie_format(out, sizeof out, "s", "v", "/", -1, 0);
    is_str(out, "s=v; Path=/; HttpOnly; SameSite=Strict", "negative Max-Age is left out");
    is_int(acc_cookie_format(out, 20, "attune_session", "tok", "/", 1, 0), -1,
           "a cookie that does not fit is an error");
}

static void test_csrf(void)
{
    char t1[ACC_CSRF_TEXT], t2[ACC_CSRF_TEXT], t3[ACC_CSRF_TEXT];

    acc_csrf_token("session-secret-one", t1);
    acc_csrf_token("session-secret-one", t2);
    acc_csrf_token("session-secret-two", t3);
    is_int(strlen(t1), ACC_CSRF_TEXT - 1, "CSRF token is 43 characters");
    is_str(t1, t2, "CSRF token is a function of the secret");
    ok(strcmp(t1, t3) != 0, "another secret gives another token");
    ok(acc_csrf_check("session-secret-one", t1), "the right token passes");
    ok(!acc_csrf_check("session-secret-two", t1), "another session's token fails");
    ok(!acc_csrf_check("session-secret-one", NULL), "a missing token fails");
    ok(!acc_csrf_check("session-secret-one", ""), "an empty token fails");
    ok(!acc_csrf_check(NULL, t1), "no secret: fails");
    ok(!acc_csrf_check("", t1), "an empty secret fails");
    t2[5] ^= 1;
    ok(!acc_csrf_check("session-secret-one", t2), "one changed character fails");
    {
        char longer[ACC_CSRF_TEXT + 2];
        snprintf(longer, sizeof longer, "%sA", t1);
        ok(!acc_csrf_check("session-secret-one", longer), "a token with extra characters fails");
    }
    /* HMAC-SHA-256(key, "attune-csrf-v1"), base64url: pinned so that it
     * never changes silently (a change would sign every browser out). */
    acc_csrf_token("key", t1);
    {
        unsigned char mac[32];
        char want[ACC_CSRF_TEXT];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)"key", 3);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)"attune-csrf-v1", 14);
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2base64(want, sizeof want, mac, sizeof mac,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        is_str(t1, want, "CSRF token is base64url(HMAC-SHA-256(secret, label))");
    }
}

static void test_ratelimit(void)
{
    double none[1] = {0};
    double three[] = {1000.0, 990.0, 980.0};
    double five[] = {1000.0, 950.0, 900.0, 500.0, 200.5};

    is_int(acc_ratelimit_wait(none, 0, 1000.0, 5, 900), 0, "no failures: allowed");
    is_int(acc_ratelimit_wait(three, 3, 1001.0, 5, 900), 0, "fewer failures than the limit");
    is_int(acc_ratelimit_wait(three, 3, 1001.0, 3, 900), 879,
           "at the limit: wait until the oldest counted failure leaves the window");
    is_int(acc_ratelimit_wait(three, 3, 1880.0, 3, 900), 0, "the window has passed: allowed");
    is_int(acc_ratelimit_wait(three, 3, 1879.5, 3, 900), 1, "half a second left rounds up to 1");
    is_int(acc_ratelimit_wait(five, 5, 1000.0, 5, 900), 101,
           "the limit-th newest failure decides: ceil(200.5 + 900 - 1000) = 101");
    is_int(acc_ratelimit_wait(five, 5, 1000.0, 3, 900), 800,
           "limit 3 looks at the 3rd newest failure (900 + 900 - 1000)");
    is_int(acc_ratelimit_wait(five, 5, 1000.0, 0, 900), 0, "limit 0 disables the check");
    is_int(acc_ratelimit_wait(five, 2, 1000.0, 5, 900), 0,
           "fewer rows than the limit means fewer failures");
}

static void test_bearer_and_tokens(void)
{
    char t[ACC_TOKEN_TEXT], t2[ACC_TOKEN_TEXT], api[ACC_API_TOKEN_TEXT];
    uint8_t h[ACC_HASH_BYTES];
    char hex[2 * ACC_HASH_BYTES + 3];

    is_str(acc_bearer("Bearer abc"), "abc", "Bearer token");
    is_str(acc_bearer("bearer   abc"), "abc", "scheme is case-insensitive, blanks skipped");
    ok(acc_bearer("Basic abc") == NULL, "other schemes are not bearer");
    ok(acc_bearer("Bearer ") == NULL, "empty bearer");
    ok(acc_bearer(NULL) == NULL, "no header");

    acc_token_new(t);
    acc_token_new(t2);
    is_int(strlen(t), 43, "participant token: 43 characters (256 bits)");
    ok(strcmp(t, t2) != 0, "two tokens differ");
    ok(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43,
       "participant token is URL-safe base64");
    ok(strchr(t, '.') == NULL, "participant token never holds '.'");
    ok(acc_token_well_formed(t), "participant token is well formed");
    acc_api_token_new(api);
    ok(strncmp(api, "atk.", 4) == 0 && strlen(api) == 47, "API token: atk. + 43 characters");
    ok(acc_token_well_formed(api), "API token is well formed");
    ok(!acc_token_well_formed("short"), "a short string is not a token");
    ok(!acc_token_well_formed("' OR 1=1 --aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
       "SQL text of the right length is not a token");
    ok(!acc_token_well_formed(NULL), "NULL is not a token");

    acc_token_hash("abc", h);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "token hash is SHA-256 of the text (FIPS 180-2 \"abc\")");
    acc_token_hash_hex("abc", hex);
    is_str(hex, "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "hash as bytea hex input");
}

static void test_scopes_roles_next_html(void)
{
    unsigned s = 0;
    char out[64];

    is_int(acc_scopes_parse("read,write", &s), 0, "scopes parse");
    is_int(s, ACC_SCOPE_READ | ACC_SCOPE_WRITE, "read,write bits");
    is_int(acc_scopes_parse("export", &s), 0, "one scope");
    is_int(s, ACC_SCOPE_EXPORT, "export bit");
    is_int(acc_scopes_parse("read,admin", &s), -1, "unknown scope refused");
    is_int(acc_scopes_parse("read,", &s), -1, "trailing comma refused");
    is_int(acc_scopes_parse("", &s), -1, "empty refused");
    is_int(acc_scopes_parse("readwrite", &s), -1, "no partial matches");
    acc_scopes_format(ACC_SCOPE_READ | ACC_SCOPE_EXPORT, out, sizeof out);
    is_str(out, "read,export", "scopes format");

    is_int(acc_role_parse("viewer"), ACC_ROLE_VIEWER, "viewer");
    is_int(acc_role_parse("admin"), ACC_ROLE_ADMIN, "admin");
    is_int(acc_role_parse("Admin"), ACC_ROLE_NONE, "roles are case-sensitive");
    is_str(acc_role_name(ACC_ROLE_RESEARCHER), "researcher", "role name");
    ok(ACC_ROLE_VIEWER < ACC_ROLE_RESEARCHER && ACC_ROLE_RESEARCHER < ACC_ROLE_ADMIN,
       "roles are ordered");

    ok(acc_next_is_local("/dashboards/demo"), "a local path is a safe redirect");
    ok(!acc_next_is_local("//evil.example/"), "//host is not local");
    ok(!acc_next_is_local("/\\evil.example/"), "/\\host is not local");
    ok(!acc_next_is_local("https://evil.example/"), "an absolute URL is not local");
    ok(!acc_next_is_local("/a\r\nSet-Cookie: x=1"), "control characters are refused");
    ok(!acc_next_is_local(""), "empty is not local");
    ok(!acc_next_is_local(NULL), "NULL is not local");

    ok(acc_study_key_ok("demo") && acc_study_key_ok("trial-2_b") && acc_study_key_ok("0x"),
       "study keys");
    ok(!acc_study_key_ok("Demo") && !acc_study_key_ok("-x") && !acc_study_key_ok("") &&
           !acc_study_key_ok("a b") && !acc_study_key_ok("x'--") && !acc_study_key_ok(NULL),
       "not study keys: capitals, leading dash, empty, blanks, quotes");
    {
        char long_key[70];
        memset(long_key, 'a', 64);
        long_key[64] = '\0';
        ok(!acc_study_key_ok(long_key), "not a study key: 64 characters");
        long_key[63] = '\0';
        ok(acc_study_key_ok(long_key), "63 characters is a study key");
    }

    out[0] = '\0';
    is_int(acc_html_escape(out, sizeof out, "<a href=\"x\">'&'</a>"), 0, "escape fits");
    is_str(out, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;", "HTML escaping");
    out[0] = '\0';
    is_int(acc_html_escape(out, 8, "<<<<"), -1, "escape that does not fit: -1");
}

static void test_passwords(void)
{
    struct err e;
    char hash[128];

    err_clear(&e);
    is_int(acc_password_check("short", "alice", &e), ACC_EINVAL, "short password refused");
    is_str(e.message, "password too short", "the message says why");
    is_int(acc_password_check("élan vital éé", "alice", &e), 0,
           "12 characters counted as code points, not bytes");
    is_int(acc_password_check("ééééééééééé", "alice", &e), ACC_EINVAL,
           "11 two-byte characters are still 11");
    is_int(acc_password_check("aliceinwonder", "aliceinwonder", &e), ACC_EINVAL,
           "password equal to the user name refused");
    {
        char *big = malloc(ACC_PASSWORD_MAX + 2);
        memset(big, 'x', ACC_PASSWORD_MAX + 1);
        big[ACC_PASSWORD_MAX + 1] = '\0';
        is_int(acc_password_check(big, "alice", &e), ACC_EINVAL, "over 1024 bytes refused");
        free(big);
    }
    is_int(acc_password_hash("correct horse battery", "alice", hash, &e), 0, "hash made");
    ok(strncmp(hash, "$argon2id$", 10) == 0, "the hash is Argon2id");
    ok(strstr(hash, "correct") == NULL, "the hash does not hold the password");
    ok(acc_password_verify(hash, "correct horse battery"), "the password verifies");
    ok(!acc_password_verify(hash, "correct horse batterY"), "another password does not");
    ok(!acc_password_verify(hash, NULL), "no password does not");
    ok(!acc_password_verify("not a hash", "correct horse battery"), "a broken hash does not");
}

/* ---- the decision matrix ---- */

static const char *const member_of_demo[] = {"demo"};

static struct acc_identity user(enum acc_role role)
{
    struct acc_identity w;

    memset(&w, 0, sizeof w);
    w.kind = ACC_KIND_USER;
    w.role = role;
    w.studies = member_of_demo;
    w.n_studies = 1;
    w.scopes = ACC_SCOPE_MASK;
    return w;
}

static void test_decide(void)
{
    struct acc_identity viewer = user(ACC_ROLE_VIEWER), researcher = user(ACC_ROLE_RESEARCHER);
    struct acc_identity admin = user(ACC_ROLE_ADMIN), token = user(ACC_ROLE_RESEARCHER);
    struct acc_identity participant;
    struct acc_denial d;

    admin.n_studies = 0;
    token.kind = ACC_KIND_TOKEN;
    token.scopes = ACC_SCOPE_READ;
    memset(&participant, 0, sizeof participant);
    participant.kind = ACC_KIND_PARTICIPANT;
    participant.study_id = "demo";

    is_int(acc_decide(ACC_VIEWER, "GET", &viewer, "demo", &d), 0, "viewer sees a member study");
    is_int(acc_decide(ACC_VIEWER, "GET", &viewer, "other", &d), -1,
           "viewer refused a study they are not in");
    is_str(d.code, "not-a-member", "... as not-a-member");
    is_int(d.status, 403, "... with 403");
    is_int(acc_decide(ACC_RESEARCHER, "GET", &viewer, "demo", &d), -1,
           "viewer refused participant rows");
    is_str(d.code, "forbidden", "... as forbidden");
    is_int(acc_decide(ACC_RESEARCHER | ACC_SCOPE_EXPORT, "GET", &viewer, "demo", &d), -1,
           "viewer refused an export");
    is_int(acc_decide(ACC_RESEARCHER, "GET", &researcher, "demo", &d), 0,
           "researcher sees participant rows of their study");
    is_int(acc_decide(ACC_RESEARCHER, "GET", &researcher, "other", &d), -1,
           "researcher refused another study");
    is_int(acc_decide(ACC_ADMIN, "POST", &researcher, "demo", &d), -1,
           "researcher refused an admin action");
    is_int(acc_decide(ACC_ADMIN, "POST", &admin, "other", &d), 0,
           "admin may act on any study, member or not");
    is_int(acc_decide(ACC_PARTICIPANT, "POST", &researcher, NULL, &d), -1,
           "a user refused a participant endpoint");

    is_int(acc_decide(ACC_RESEARCHER, "GET", &token, "demo", &d), 0, "read token reads");
    is_int(acc_decide(ACC_RESEARCHER, "POST", &token, "demo", &d), -1,
           "read token refused a write");
    is_str(d.code, "insufficient-scope", "... as insufficient-scope");
    is_int(acc_decide(ACC_RESEARCHER | ACC_SCOPE_EXPORT, "GET", &token, "demo", &d), -1,
           "read token refused an export");
    token.scopes = ACC_SCOPE_READ | ACC_SCOPE_EXPORT;
    is_int(acc_decide(ACC_RESEARCHER | ACC_SCOPE_EXPORT, "GET", &token, "demo", &d), 0,
           "export token exports");
    token.token_study = "demo";
    is_int(acc_decide(ACC_RESEARCHER, "GET", &token, "other", &d), -1,
           "study-bound token refused another study");
    is_str(d.code, "insufficient-scope", "... as insufficient-scope");
    is_int(acc_decide(ACC_RESEARCHER | ACC_SESSION_ONLY, "GET", &token, NULL, &d), -1,
           "tokens refused session-only endpoints");
    token.role = ACC_ROLE_VIEWER;
    is_int(acc_decide(ACC_RESEARCHER, "GET", &token, "demo", &d), -1,
           "a token never exceeds its user's role");

    is_int(acc_decide(ACC_PARTICIPANT, "POST", &participant, NULL, &d), 0,
           "participant writes with their token");
    is_int(acc_decide(ACC_RESEARCHER, "GET", &participant, "demo", &d), -1,
           "participant token refused a researcher endpoint");
    is_str(d.code, "forbidden", "... as forbidden");
    is_int(acc_decide(ACC_VIEWER, "GET", &participant, NULL, &d), -1,
           "participant token refused a viewer endpoint");
    is_int(acc_decide(ACC_PARTICIPANT, "GET", &participant, "other", &d), -1,
           "participant refused another study's path");
    participant.withdrawn = 1;
    is_int(acc_decide(ACC_PARTICIPANT, "POST", &participant, NULL, &d), -1,
           "withdrawn participant refused a write");
    is_str(d.code, "participant-withdrawn", "... as participant-withdrawn");
    is_int(acc_decide(ACC_PARTICIPANT, "GET", &participant, NULL, &d), 0,
           "withdrawn participant may still read");

    ok(acc_identity_sees_study(&admin, "anything"), "admin sees every study");
    ok(acc_identity_sees_study(&viewer, "demo") && !acc_identity_sees_study(&viewer, "x"),
       "members see their studies only");
    ok(!acc_identity_sees_study(NULL, "demo"), "no identity sees nothing");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_cookies();
    test_csrf();
    test_ratelimit();
    test_bearer_and_tokens();
    test_scopes_roles_next_html();
    test_passwords();
    test_decide();
    return tap_done();
}
