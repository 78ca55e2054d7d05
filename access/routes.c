/*
 * routes.c — every route access/ answers, in one table: the sign-in pages,
 * the session and study endpoints the dashboards build on, participant-level
 * reads and exports, withdrawal, the audit log and API tokens. The `auth`
 * column says who may call each (access.h); acc_authorize() enforces it
 * before the handler runs.
 */
#include "access_int.h"

const struct http_route acc_routes[] = {
    /* Sign-in (login.c). */
    {"GET", "/login", ACC_PUBLIC, HTTP_BODY_NONE, 0, acc_login_get, "the sign-in form"},
    {"POST", "/login", ACC_PUBLIC, HTTP_BODY_FORM, 8192, acc_login_post,
     "sign in (form: username, password, csrf_token, next)"},
    {"POST", "/logout", ACC_VIEWER | ACC_SESSION_ONLY, HTTP_BODY_FORM, 4096, acc_logout_post,
     "sign out (form: csrf_token)"},
    {"GET", "/account", ACC_VIEWER | ACC_PAGE | ACC_SESSION_ONLY, HTTP_BODY_NONE, 0,
     acc_account_get, "who is signed in, with the sign-out form"},

    /* Who am I; studies (api.c). */
    {"GET", "/api/v1/session", ACC_VIEWER, HTTP_BODY_NONE, 0, acc_api_session,
     "the signed-in user or token: role, studies, CSRF token"},
    {"GET", "/api/v1/studies", ACC_VIEWER, HTTP_BODY_NONE, 0, acc_api_studies,
     "studies the caller may see, with participant counts"},
    {"GET", "/api/v1/studies/{study}", ACC_VIEWER, HTTP_BODY_NONE, 0, acc_api_study,
     "one study with counts by arm and status"},
    {"GET", "/api/v1/studies/{study}/participants", ACC_RESEARCHER, HTTP_BODY_NONE, 0,
     acc_api_participants, "participant-level rows (audited)"},
    {"GET", "/api/v1/studies/{study}/export/participants.csv", ACC_RESEARCHER | ACC_SCOPE_EXPORT,
     HTTP_BODY_NONE, 0, acc_api_participants_csv, "the participant list as CSV (audited)"},
    {"POST", "/api/v1/studies/{study}/participants/{code}/withdraw", ACC_ADMIN, HTTP_BODY_JSON,
     16384, acc_api_withdraw, "withdraw a participant (admin)"},

    /* A participant's own withdrawal, with their token. */
    {"POST", "/api/v1/me/withdraw", ACC_PARTICIPANT, HTTP_BODY_NONE, 0, acc_api_me_withdraw,
     "withdraw from the study (the participant)"},

    /* The audit log (admin). */
    {"GET", "/api/v1/audit", ACC_ADMIN, HTTP_BODY_NONE, 0, acc_api_audit,
     "audit rows filtered by time, actor, action, target, study"},

    /* API tokens: made and revoked by signed-in users, never by tokens. */
    {"GET", "/api/v1/tokens", ACC_RESEARCHER | ACC_SESSION_ONLY, HTTP_BODY_NONE, 0, acc_api_tokens,
     "the caller's API tokens"},
    {"POST", "/api/v1/tokens", ACC_RESEARCHER | ACC_SESSION_ONLY, HTTP_BODY_JSON, 16384,
     acc_api_token_create, "create an API token (shown once)"},
    {"POST", "/api/v1/tokens/{id}/revoke", ACC_RESEARCHER | ACC_SESSION_ONLY, HTTP_BODY_NONE, 0,
     acc_api_token_revoke, "revoke an API token"},
};
const size_t acc_routes_count = sizeof acc_routes / sizeof acc_routes[0];
