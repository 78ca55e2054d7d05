/*
 * users.c — accounts, for `attune user`: add, change password or role,
 * disable and enable, study membership. Every change is audited (user.*) in
 * the same transaction; a password change or a disabled account ends the
 * user's sessions at once. The service itself never writes accounts: its
 * database role cannot (sql/003_access.sql).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"

/* The user's id, or ACC_ENOTFOUND. */
static int acc_user_id(PGconn *conn, const char *username, char id[24], struct err *e)
{
    const char *params[1] = {username};
    PGresult *res = NULL;
    int rc;

    if ((rc = db_query(conn, "acc_user_get", 1, params, &res, e)) < 0)
        return rc;
    if (rc == 0)
        rc = err_set(e, ACC_ENOTFOUND, "user \"%s\" not found", username);
    else {
        snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int acc_user_audit(PGconn *conn, const struct audit_entry *who, const char *action,
                          const char *username, json_t *detail, struct err *e)
{
    struct audit_entry a = *who;
    char target[96];
    int rc;

    snprintf(target, sizeof target, "user:%s", username);
    a.action = action;
    a.target = target;
    a.detail = detail;
    rc = audit_append(conn, &a, e);
    json_decref(detail);
    return rc;
}

static int acc_username_ok(const char *u)
{
    size_t len = u ? strlen(u) : 0;

    if (len < 2 || len > 63 || !((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= '0' && u[0] <= '9')))
        return 0;
    return strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

int acc_user_add(PGconn *conn, const char *username, const char *display_name, enum acc_role role,
                 const char *password, const struct audit_entry *who, struct err *e)
{
    char hash[128];
    const char *params[4];
    int rc;

    if (!acc_username_ok(username)) {
        err_set(e, ACC_EINVAL, "invalid user name \"%s\"", username ? username : "");
        err_detail(e, "A user name has 2 to 63 characters: lower-case letters, digits, '.', '_' "
                      "and '-', starting with a letter or digit.");
        return ACC_EINVAL;
    }
    if (role == ACC_ROLE_NONE)
        return err_set(e, ACC_EINVAL, "a user needs a role: viewer, researcher or admin");
    if (display_name != NULL && (display_name[0] == '\0' || strlen(display_name) > 200))
        return err_set(e, ACC_EINVAL, "a display name has 1 to 200 characters");
    if ((rc = acc_password_hash(password, username, hash, e)) != 0)
        return rc;
    params[0] = username;
    params[1] = display_name;
    params[2] = acc_role_name(role);
    params[3] = hash;
    rc = db_query(conn, "acc_user_insert", 4, params, NULL, e);
    sodium_memzero(hash, sizeof hash);
    if (rc == DB_ECONSTRAINT)
        return err_set(e, ACC_ECONFLICT, "user \"%s\" already exists", username);
    if (rc < 0)
        return rc;
    return acc_user_audit(conn, who, "user.create", username,
                          json_pack("{s:s}", "role", acc_role_name(role)), e);
}

int acc_user_set_password(PGconn *conn, const char *username, const char *password,
                          const struct audit_entry *who, struct err *e)
{
    char id[24], hash[128];
    const char *params[2] = {id, hash};
    int rc;

    if ((rc = acc_user_id(conn, username, id, e)) != 0)
        return rc;
    if ((rc = acc_password_hash(password, username, hash, e)) != 0)
        return rc;
    rc = db_query(conn, "acc_user_set_password", 2, params, NULL, e);
    sodium_memzero(hash, sizeof hash);
    if (rc < 0 || (rc = db_query(conn, "acc_user_end_sessions", 1, params, NULL, e)) < 0)
        return rc;
    return acc_user_audit(conn, who, "user.password", username,
                          json_pack("{s:i}", "sessions_ended", rc), e);
}

int acc_user_set_role(PGconn *conn, const char *username, enum acc_role role,
                      const struct audit_entry *who, struct err *e)
{
    char id[24];
    const char *params[2] = {id, acc_role_name(role)};
    int rc;

    if (role == ACC_ROLE_NONE)
        return err_set(e, ACC_EINVAL, "unknown role: use viewer, researcher or admin");
    if ((rc = acc_user_id(conn, username, id, e)) != 0)
        return rc;
    if ((rc = db_query(conn, "acc_user_set_role", 2, params, NULL, e)) < 0)
        return rc;
    return acc_user_audit(conn, who, "user.role", username,
                          json_pack("{s:s}", "role", acc_role_name(role)), e);
}

int acc_user_set_disabled(PGconn *conn, const char *username, int disabled,
                          const struct audit_entry *who, struct err *e)
{
    char id[24];
    const char *params[2] = {id, disabled ? "true" : "false"};
    int rc, ended = 0;

    if ((rc = acc_user_id(conn, username, id, e)) != 0)
        return rc;
    if ((rc = db_query(conn, "acc_user_set_disabled", 2, params, NULL, e)) < 0)
        return rc;
    if (disabled && (ended = db_query(conn, "acc_user_end_sessions", 1, params, NULL, e)) < 0)
        return ended;
    return acc_user_audit(conn, who, disabled ? "user.disable" : "user.enable", username,
                          disabled ? json_pack("{s:i}", "sessions_ended", ended) : NULL, e);
}

int acc_user_membership(PGconn *conn, const char *username, const char *study, int member,
                        const struct audit_entry *who, struct err *e)
{
    char id[24];
    const char *params[2] = {id, study};
    const char *sp[1] = {study};
    struct audit_entry a = *who;
    int rc;

    if ((rc = acc_user_id(conn, username, id, e)) != 0)
        return rc;
    if ((rc = db_query(conn, "acc_study_exists", 1, sp, NULL, e)) < 0)
        return rc;
    if (rc == 0)
        return err_set(e, ACC_ENOTFOUND, "study \"%s\" not found", study);
    if ((rc = db_query(conn, member ? "acc_member_add" : "acc_member_remove", 2, params, NULL, e)) <
        0)
        return rc;
    a.study_id = study;
    return acc_user_audit(conn, &a, member ? "user.join" : "user.leave", username,
                          json_pack("{s:s}", "study", study), e);
}
