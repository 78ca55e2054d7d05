/*
 * statements.c — access/'s SQL, one named prepared statement per row, each
 * noting the function that uses it. Hashes travel as bytea hex text
 * ("\x…"); times come back as RFC 3339 text (attune_rfc3339()).
 */
#include "access.h"

const struct db_statement acc_statements[] = {
    /* ---- authorize.c: credentials ---- */

    /* acc_lookup_participant: a participant token and its participant (with
     * what never changes about them, so that the collector needs no second
     * look-up: arm, enrolment time in microseconds) */
    {"acc_participant_by_token",
     "SELECT p.id, p.code, p.study_id, p.status, t.revoked_at IS NOT NULL, p.erased_at IS NOT NULL,"
     "       p.arm_id, (extract(epoch FROM p.enrolled_at) * 1000000)::bigint"
     "  FROM participant_tokens t JOIN participants p ON p.id = t.participant_id"
     " WHERE t.token_hash = $1::bytea"},

    /* acc_lookup_session: the session, its user and memberships; notes the
     * use (at most every 5 s, to spare writes) while the session is live.
     * $1 hash, $2 idle seconds */
    {"acc_session_lookup",
     "WITH s AS ("
     "    SELECT s.id, s.user_id, s.last_seen_at, s.expires_at, s.ended_at,"
     "           u.username, u.role, u.disabled_at"
     "      FROM sessions s JOIN users u ON u.id = s.user_id"
     "     WHERE s.token_hash = $1::bytea),"
     " touched AS ("
     "    UPDATE sessions SET last_seen_at = now() FROM s"
     "     WHERE sessions.id = s.id AND s.ended_at IS NULL AND s.disabled_at IS NULL"
     "       AND s.expires_at > now()"
     "       AND s.last_seen_at > now() - make_interval(secs => $2::int)"
     "       AND s.last_seen_at < now() - interval '5 seconds')"
     " SELECT s.id, s.user_id, s.username, s.role,"
     "        CASE WHEN s.disabled_at IS NOT NULL THEN 'disabled'"
     "             WHEN s.ended_at IS NOT NULL THEN 'ended'"
     "             WHEN s.expires_at <= now()"
     "               OR s.last_seen_at <= now() - make_interval(secs => $2::int) THEN 'expired'"
     "             ELSE 'live' END,"
     "        array_to_string(ARRAY(SELECT m.study_id FROM study_members m"
     "                                WHERE m.user_id = s.user_id ORDER BY 1), ','),"
     "        attune_rfc3339(s.expires_at)"
     "   FROM s"},

    /* acc_lookup_api_token: the token, its user and memberships; notes the
     * use at most once a minute. $1 hash */
    {"acc_api_token_lookup",
     "WITH t AS ("
     "    SELECT t.id, t.user_id, t.study_id, t.scopes, t.expires_at, t.revoked_at,"
     "           t.last_used_at, u.username, u.role, u.disabled_at"
     "      FROM api_tokens t JOIN users u ON u.id = t.user_id"
     "     WHERE t.token_hash = $1::bytea),"
     " touched AS ("
     "    UPDATE api_tokens SET last_used_at = now() FROM t"
     "     WHERE api_tokens.id = t.id AND t.revoked_at IS NULL AND t.expires_at > now()"
     "       AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '60 seconds'))"
     " SELECT t.id, t.user_id, t.username, t.role, t.study_id, array_to_string(t.scopes, ','),"
     "        CASE WHEN t.disabled_at IS NOT NULL THEN 'disabled'"
     "             WHEN t.revoked_at IS NOT NULL THEN 'revoked'"
     "             WHEN t.expires_at <= now() THEN 'expired'"
     "             ELSE 'live' END,"
     "        array_to_string(ARRAY(SELECT m.study_id FROM study_members m"
     "                                WHERE m.user_id = t.user_id ORDER BY 1), ',')"
     "   FROM t"},

    /* ---- login.c: signing in and out ---- */

    /* acc_login_post: the account being signed in to */
    {"acc_user_for_login",
     "SELECT id, password_hash, role, disabled_at IS NOT NULL FROM users WHERE username = $1"},

    /* acc_login_post: recent failures for the account and the address, newest
     * first. $1 username, $2 address, $3 window seconds, $4 limit per list */
    {"acc_login_failures_recent",
     "SELECT extract(epoch FROM now()),"
     "       array_to_string(ARRAY(SELECT extract(epoch FROM f.at) FROM login_failures f"
     "                              WHERE f.username = $1"
     "                                AND f.at > now() - make_interval(secs => $3::int)"
     "                              ORDER BY f.at DESC LIMIT $4::int), ','),"
     "       array_to_string(ARRAY(SELECT extract(epoch FROM f.at) FROM login_failures f"
     "                              WHERE f.source_addr = $2::inet"
     "                                AND f.at > now() - make_interval(secs => $3::int)"
     "                              ORDER BY f.at DESC LIMIT $5::int), ',')"},

    /* acc_login_post: one more failure */
    {"acc_login_failure_add", "INSERT INTO login_failures (username, source_addr) VALUES ($1, $2)"},

    /* acc_login_tx: a new session. $3 absolute lifetime in seconds */
    {"acc_session_create",
     "INSERT INTO sessions (token_hash, user_id, expires_at, source_addr)"
     " VALUES ($1::bytea, $2, now() + make_interval(secs => $3::int), $4::inet)"
     " RETURNING id"},

    /* acc_login_tx: a successful sign-in forgets the account's failures */
    {"acc_login_failures_clear", "DELETE FROM login_failures WHERE username = $1"},

    /* acc_login_tx */
    {"acc_user_touch_login", "UPDATE users SET last_login_at = now() WHERE id = $1"},

    /* acc_logout_post */
    {"acc_session_end", "UPDATE sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL"},

    /* ---- api.c: studies and participants ---- */

    /* acc_api_studies: studies with participant counts; $1 NULL = all, else a
     * text[] of ids (the caller's memberships, which are attune_key values) */
    {"acc_studies",
     "SELECT s.id, s.title, s.status, s.weeks, s.timezone, attune_rfc3339(s.created_at),"
     "       count(p.id), count(p.id) FILTER (WHERE p.status = 'active'),"
     "       count(p.id) FILTER (WHERE p.status = 'withdrawn'),"
     "       count(p.id) FILTER (WHERE p.status = 'completed')"
     "  FROM studies s LEFT JOIN participants p ON p.study_id = s.id"
     " WHERE $1::text[] IS NULL OR s.id = ANY ($1::text[])"
     " GROUP BY s.id ORDER BY s.id"},

    /* acc_api_study: one study with participant counts */
    {"acc_study",
     "SELECT s.id, s.title, s.status, s.weeks, s.timezone, attune_rfc3339(s.created_at),"
     "       count(p.id), count(p.id) FILTER (WHERE p.status = 'active'),"
     "       count(p.id) FILTER (WHERE p.status = 'withdrawn'),"
     "       count(p.id) FILTER (WHERE p.status = 'completed')"
     "  FROM studies s LEFT JOIN participants p ON p.study_id = s.id"
     " WHERE s.id = $1 GROUP BY s.id"},

    /* acc_api_study: the arms of one study with participant counts */
    {"acc_study_arms",
     "SELECT a.id, a.label, count(p.id), count(p.id) FILTER (WHERE p.status = 'active'),"
     "       count(p.id) FILTER (WHERE p.status = 'withdrawn'),"
     "       count(p.id) FILTER (WHERE p.status = 'completed')"
     "  FROM arms a LEFT JOIN participants p ON p.study_id = a.study_id AND p.arm_id = a.id"
     " WHERE a.study_id = $1 GROUP BY a.id, a.label ORDER BY a.id"},

    /* acc_api_participants, acc_api_participants_csv: participant-level rows.
     * $2 limit, $3 offset */
    {"acc_participants",
     "SELECT code, arm_id, status, attune_rfc3339(enrolled_at), attune_rfc3339(withdrawn_at),"
     "       attune_rfc3339(erased_at)"
     "  FROM participants WHERE study_id = $1 ORDER BY code LIMIT $2 OFFSET $3"},

    /* acc_participant_find (participants.c): by code, locked for a change.
     * $1 study or NULL */
    {"acc_participant_find",
     "SELECT id, study_id, code, arm_id, status, attune_rfc3339(enrolled_at),"
     "       attune_rfc3339(withdrawn_at), erased_at IS NOT NULL, enrolled_at::text"
     "  FROM participants WHERE code = $2 AND ($1::text IS NULL OR study_id = $1)"
     " ORDER BY study_id LIMIT 10 FOR UPDATE"},

    /* acc_participant_find: after an id from a participant's own token */
    {"acc_participant_by_id",
     "SELECT id, study_id, code, arm_id, status, attune_rfc3339(enrolled_at),"
     "       attune_rfc3339(withdrawn_at), erased_at IS NOT NULL, enrolled_at::text"
     "  FROM participants WHERE id = $1 FOR UPDATE"},

    /* acc_participant_withdraw */
    {"acc_participant_withdraw",
     "UPDATE participants SET status = 'withdrawn', withdrawn_at = greatest(now(), enrolled_at)"
     " WHERE id = $1 AND status <> 'withdrawn' RETURNING attune_rfc3339(withdrawn_at)"},

    /* acc_participant_erase: the participant's data, then what identifies them */
    {"acc_erase_items", "DELETE FROM response_items WHERE response_id IN"
                        " (SELECT id FROM responses WHERE participant_id = $1)"},
    {"acc_erase_responses", "DELETE FROM responses WHERE participant_id = $1"},
    {"acc_erase_events", "DELETE FROM events WHERE participant_id = $1"},
    {"acc_erase_tokens", "UPDATE participant_tokens SET revoked_at = now()"
                         " WHERE participant_id = $1 AND revoked_at IS NULL"},
    {"acc_erase_participant",
     "UPDATE participants SET code = 'erased-' || id, erased_at = now(), status = 'withdrawn',"
     "       withdrawn_at = coalesce(withdrawn_at, greatest(now(), enrolled_at))"
     " WHERE id = $1"},
    /* Runs of the study made after the participant enrolled may have used
     * their data: no longer reproducible. $2 enrolled_at */
    {"acc_erase_runs", "UPDATE analysis_runs SET reproducible = false"
                       " WHERE study_id = $1 AND created_at >= $2::timestamptz AND reproducible"},

    /* ---- api.c: tokens ---- */

    /* acc_token_create. $5 scopes as a text[] literal, $6 days */
    {"acc_token_insert",
     "INSERT INTO api_tokens (user_id, name, token_hash, study_id, scopes, expires_at)"
     " VALUES ($1, $2, $3::bytea, $4, $5::text[], now() + make_interval(days => $6::int))"
     " RETURNING id, attune_rfc3339(created_at), attune_rfc3339(expires_at)"},

    /* acc_token_list: $1 user id, or NULL for everyone's */
    {"acc_tokens", "SELECT t.id, u.username, t.name, t.study_id, array_to_string(t.scopes, ','),"
                   "       attune_rfc3339(t.created_at), attune_rfc3339(t.expires_at),"
                   "       attune_rfc3339(t.revoked_at), attune_rfc3339(t.last_used_at)"
                   "  FROM api_tokens t JOIN users u ON u.id = t.user_id"
                   " WHERE $1::bigint IS NULL OR t.user_id = $1 ORDER BY t.id"},

    /* acc_token_revoke: $2 the owner, or NULL for any */
    {"acc_token_get",
     "SELECT t.id, t.user_id, u.username, t.revoked_at IS NOT NULL, t.study_id"
     "  FROM api_tokens t JOIN users u ON u.id = t.user_id"
     " WHERE t.id = $1 AND ($2::bigint IS NULL OR t.user_id = $2) FOR UPDATE OF t"},
    {"acc_token_revoke",
     "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"},

    /* ---- users.c: accounts (the command line) ---- */

    {"acc_user_insert",
     "INSERT INTO users (username, display_name, role, password_hash) VALUES ($1, $2, $3, $4)"
     " RETURNING id"},
    {"acc_user_get", "SELECT id, role, disabled_at IS NOT NULL FROM users WHERE username = $1"},
    {"acc_user_list", "SELECT u.username, u.display_name, u.role,"
                      "       CASE WHEN u.disabled_at IS NULL THEN 'active' ELSE 'disabled' END,"
                      "       array_to_string(ARRAY(SELECT m.study_id FROM study_members m"
                      "                               WHERE m.user_id = u.id ORDER BY 1), ','),"
                      "       attune_rfc3339(u.created_at), attune_rfc3339(u.last_login_at)"
                      "  FROM users u ORDER BY u.username"},
    {"acc_user_set_password",
     "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1"},
    {"acc_user_set_role", "UPDATE users SET role = $2 WHERE id = $1"},
    {"acc_user_set_disabled",
     "UPDATE users SET disabled_at = CASE WHEN $2::boolean THEN coalesce(disabled_at, now()) END"
     " WHERE id = $1"},
    {"acc_user_end_sessions",
     "UPDATE sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL"},
    {"acc_member_add",
     "INSERT INTO study_members (user_id, study_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"},
    {"acc_member_remove", "DELETE FROM study_members WHERE user_id = $1 AND study_id = $2"},
    {"acc_study_exists", "SELECT 1 FROM studies WHERE id = $1"},

    /* ---- worker.c: upkeep ---- */

    {"acc_purge_sessions", "DELETE FROM sessions WHERE ended_at < now() - interval '1 day'"
                           "    OR expires_at < now() - interval '1 day'"
                           "    OR last_seen_at < now() - interval '2 days'"},
    {"acc_purge_failures", "DELETE FROM login_failures WHERE at < now() - interval '1 day'"},
    {NULL, NULL},
};
