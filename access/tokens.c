/*
 * tokens.c — API tokens: made (shown once, stored as a hash), revoked (never
 * deleted) and listed. Used by POST /api/v1/tokens and `attune token`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"

int acc_token_create(PGconn *conn, const struct acc_token_spec *spec, const struct audit_entry *who,
                     struct acc_token_made *out, struct err *e)
{
    char uid[24], days[16], hash[2 * ACC_HASH_BYTES + 3], scopes[40], scopes_array[48];
    char target[160];
    const char *params[6];
    struct audit_entry a = *who;
    PGresult *res = NULL;
    json_t *detail = NULL;
    int rc;

    if (spec->name == NULL || spec->name[0] == '\0' || strlen(spec->name) > 100)
        return err_set(e, ACC_EINVAL, "a token needs a name of 1 to 100 characters");
    if (spec->scopes == 0 || (spec->scopes & ~ACC_SCOPE_MASK) != 0)
        return err_set(e, ACC_EINVAL, "a token needs at least one scope: read, write, export");
    if (spec->days < 1 || spec->days > 3650)
        return err_set(e, ACC_EINVAL, "a token lives from 1 to 3650 days");
    if (spec->study != NULL) {
        const char *sp[1] = {spec->study};
        if ((rc = db_query(conn, "acc_study_exists", 1, sp, NULL, e)) < 0)
            return rc;
        if (rc == 0)
            return err_set(e, ACC_ENOTFOUND, "study \"%s\" not found", spec->study);
    }
    acc_api_token_new(out->token);
    acc_token_hash_hex(out->token, hash);
    acc_scopes_format(spec->scopes, scopes, sizeof scopes);
    snprintf(scopes_array, sizeof scopes_array, "{%s}", scopes);
    snprintf(uid, sizeof uid, "%lld", spec->user_id);
    snprintf(days, sizeof days, "%d", spec->days);
    params[0] = uid;
    params[1] = spec->name;
    params[2] = hash;
    params[3] = spec->study;
    params[4] = scopes_array;
    params[5] = days;
    if ((rc = db_query(conn, "acc_token_insert", 6, params, &res, e)) < 0)
        goto out;
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->created_at, sizeof out->created_at, "%s", PQgetvalue(res, 0, 1));
    snprintf(out->expires_at, sizeof out->expires_at, "%s", PQgetvalue(res, 0, 2));
    snprintf(target, sizeof target, "token:%lld", out->id);
    detail = json_pack("{s:s, s:s, s:s, s:s?, s:i}", "owner", spec->username, "name", spec->name,
                       "scopes", scopes, "study", spec->study, "days", spec->days);
    a.action = "token.create";
    a.target = target;
    a.study_id = spec->study;
    a.detail = detail;
    rc = audit_append(conn, &a, e);
out:
    if (rc != 0)
        sodium_memzero(out->token, sizeof out->token);
    json_decref(detail);
    PQclear(res);
    return rc;
}

int acc_token_revoke(PGconn *conn, long long id, long long owner, const struct audit_entry *who,
                     struct err *e)
{
    char num[24], own[24], target[64];
    const char *params[2] = {num, owner > 0 ? own : NULL};
    struct audit_entry a = *who;
    PGresult *res = NULL;
    json_t *detail = NULL;
    int rc;

    snprintf(num, sizeof num, "%lld", id);
    snprintf(own, sizeof own, "%lld", owner);
    if ((rc = db_query(conn, "acc_token_get", 2, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        rc = err_set(e, ACC_ENOTFOUND, "API token %lld not found", id);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
        rc = 1;
        goto out;
    }
    if ((rc = db_query(conn, "acc_token_revoke", 1, params, NULL, e)) < 0)
        goto out;
    snprintf(target, sizeof target, "token:%lld", id);
    detail = json_pack("{s:s}", "owner", PQgetvalue(res, 0, 2));
    a.action = "token.revoke";
    a.target = target;
    a.study_id = PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4);
    a.detail = detail;
    rc = audit_append(conn, &a, e);
out:
    json_decref(detail);
    PQclear(res);
    return rc;
}

int acc_token_list(PGconn *conn, long long owner, json_t **out, struct err *e)
{
    char own[24];
    const char *params[1] = {owner > 0 ? own : NULL};
    PGresult *res = NULL;
    json_t *list = NULL;
    int rc, n;

    snprintf(own, sizeof own, "%lld", owner);
    if ((rc = db_query(conn, "acc_tokens", 1, params, &res, e)) < 0)
        return rc;
    n = rc;
    if ((list = json_array()) == NULL)
        goto oom;
    for (int i = 0; i < n; i++) {
#define COL(k) (PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k))
        json_t *scopes = json_array();
        const char *p = COL(4);
        while (scopes != NULL && p != NULL && *p) {
            size_t len = strcspn(p, ",");
            json_array_append_new(scopes, json_stringn(p, len));
            p += len + (p[len] == ',');
        }
        json_t *row = json_pack("{s:I, s:s, s:s, s:s?, s:o, s:s, s:s, s:s?, s:s?, s:b}", "id",
                                (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "owner",
                                COL(1), "name", COL(2), "study", COL(3), "scopes", scopes,
                                "created_at", COL(5), "expires_at", COL(6), "revoked_at", COL(7),
                                "last_used_at", COL(8), "revoked", COL(7) != NULL);
#undef COL
        if (row == NULL || json_array_append_new(list, row) != 0)
            goto oom;
    }
    *out = list;
    list = NULL;
    rc = n;
    goto done;
oom:
    rc = err_set(e, DB_EHARD, "out of memory");
done:
    json_decref(list);
    PQclear(res);
    return rc;
}
