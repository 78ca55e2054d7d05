/*
 * study.c — setting a study up: creating it from its protocol file
 * (registering the instrument definitions it uses, pinned by checksum),
 * enrolling participants with pseudonymous codes and tokens, and revoking or
 * reissuing tokens. Used by the command line (cli/cmd_study.c) and the demo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "col_int.h"
#include "ins.h"

#define COL_ENROLL_MAX    100000
#define COL_CODE_LEN      8
#define COL_CODE_ATTEMPTS 20

const struct db_statement col_setup_statements[] = {
    /* col_study_exists, col_study_create */
    {"col_setup_study_exists", "SELECT 1 FROM studies WHERE id = $1"},
    /* col_study_create: register a definition unless that version is known */
    {"col_setup_instrument_register",
     "INSERT INTO instruments (id, version, checksum, definition) VALUES ($1, $2, $3, $4::jsonb)"
     " ON CONFLICT (id, version) DO NOTHING"},
    /* col_study_create: the registered checksum of a version */
    {"col_setup_instrument_checksum",
     "SELECT checksum FROM instruments WHERE id = $1 AND version = $2"},
    /* col_study_create */
    {"col_setup_study_insert",
     "INSERT INTO studies (id, title, weeks, timezone, allow_late, support_text, protocol)"
     " VALUES ($1, $2, $3::integer, $4, $5::boolean, $6, $7::jsonb)"},
    /* col_study_create: the zone must be one PostgreSQL knows */
    {"col_setup_timezone_ok", "SELECT attune_is_timezone($1)"},
    /* col_study_create */
    {"col_setup_arm_insert", "INSERT INTO arms (study_id, id, label) VALUES ($1, $2, $3)"},
    /* col_study_create */
    {"col_setup_schedule_insert",
     "INSERT INTO schedule (study_id, instrument_id, instrument_version, week, window_days)"
     " VALUES ($1, $2, $3, $4::integer, $5::integer)"},
    /* col_study_create: a study's own event types */
    {"col_setup_event_type_insert",
     "INSERT INTO event_types (study_id, type, description) VALUES ($1, $2, $3)"
     " ON CONFLICT DO NOTHING"},
    /* col_enroll: the study's length, and whether the arm exists */
    {"col_setup_arm_weeks", "SELECT s.weeks FROM studies s JOIN arms a ON a.study_id = s.id"
                            " WHERE s.id = $1 AND a.id = $2"},
    /* col_enroll: one participant (a code already taken gives no row) */
    {"col_setup_participant_insert",
     "INSERT INTO participants (study_id, arm_id, code, enrolled_at)"
     " VALUES ($1, $2, $3, to_timestamp($4::bigint / 1000000.0)) ON CONFLICT DO NOTHING"
     " RETURNING id"},
    /* col_enroll, col_token_revoke */
    {"col_setup_token_insert",
     "INSERT INTO participant_tokens (participant_id, token_hash) VALUES ($1::bigint, $2::bytea)"},
    /* col_enroll: partitions covering the study period of the new participants */
    {"col_setup_partitions",
     "SELECT attune_ensure_event_partitions(to_timestamp($1::bigint / 1000000.0)"
     " - interval '1 day', to_timestamp($1::bigint / 1000000.0)"
     " + make_interval(days => 7 * ($2::integer + 2)))"},
    /* col_token_revoke */
    {"col_setup_participant_find", "SELECT id FROM participants WHERE study_id = $1 AND code = $2"},
    /* col_token_revoke */
    {"col_setup_token_revoke", "UPDATE participant_tokens SET revoked_at = now()"
                               " WHERE participant_id = $1::bigint AND revoked_at IS NULL"},
    {NULL, NULL},
};

const struct db_statement *const col_statement_tables[] = {col_statements, col_setup_statements,
                                                           NULL};

int col_study_exists(PGconn *conn, const char *study, struct err *e)
{
    return db_query(conn, "col_setup_study_exists", 1, &study, NULL, e);
}

/* Appends `who` (a template) with this action and target, if given. */
static int col_audit(PGconn *conn, const struct audit_entry *who, const char *action,
                     const char *target, const char *study, json_t *detail, struct err *e)
{
    struct audit_entry a;

    if (who == NULL)
        return 0;
    a = *who;
    a.action = action;
    a.target = target;
    a.study_id = study;
    a.detail = detail;
    return audit_append(conn, &a, e);
}

static int col_study_insert(PGconn *conn, const struct cfg *cfg, const struct col_protocol *p,
                            const struct audit_entry *who, struct err *e)
{
    char weeks[16], week[16], window[16];
    char *protocol_text = NULL, checksum[65];
    struct ins_registry *reg = NULL;
    PGresult *res = NULL;
    int rc;

    rc = col_study_exists(conn, p->id, e);
    if (rc < 0)
        return rc;
    if (rc > 0)
        return err_set(e, COL_EEXISTS, "study \"%s\" already exists", p->id);
    rc = db_query(conn, "col_setup_timezone_ok", 1, &p->timezone, &res, e);
    if (rc < 0)
        return rc;
    if (PQgetvalue(res, 0, 0)[0] != 't') {
        PQclear(res);
        err_set(e, COL_EINVAL, "invalid protocol: unknown time zone \"%s\"", p->timezone);
        err_detail(e, "/timezone: PostgreSQL does not know this zone; use an IANA name such "
                      "as \"Europe/London\".");
        return COL_EINVAL;
    }
    PQclear(res);
    /* Register every scheduled definition (the file's text, checked by the
     * instruments engine), refusing one whose registered version differs. */
    if ((rc = ins_registry_load(cfg->instruments_dir, &reg, e)) != 0) {
        err_prefix(e, "instrument definitions");
        return COL_EINVAL;
    }
    for (size_t i = 0; i < p->n_schedule; i++) {
        const struct col_protocol_entry *s = &p->schedule[i];
        const struct ins_definition *def = ins_registry_find(reg, s->instrument, s->version);
        char *text;
        const char *params[4] = {s->instrument, s->version, NULL, NULL};
        if (def == NULL) {
            ins_registry_free(reg);
            err_set(e, COL_ENOTFOUND, "no definition of instrument \"%s\" version \"%s\" in \"%s\"",
                    s->instrument, s->version, cfg->instruments_dir);
            err_hint(e, "Instrument definitions are <id>-<version>.json files in the instruments "
                        "folder (ATTUNE_INSTRUMENTS_DIR); see docs/instruments.md.");
            return COL_ENOTFOUND;
        }
        if ((text = strndup(def->text, def->text_len)) == NULL) {
            ins_registry_free(reg);
            return err_set(e, COL_EINVAL, "out of memory");
        }
        snprintf(checksum, sizeof checksum, "%s", def->checksum);
        params[2] = checksum;
        params[3] = text;
        rc = db_query(conn, "col_setup_instrument_register", 4, params, NULL, e);
        free(text);
        if (rc < 0) {
            ins_registry_free(reg);
            return rc;
        }
        rc = db_query(conn, "col_setup_instrument_checksum", 2, params, &res, e);
        if (rc != 1) {
            PQclear(res);
            ins_registry_free(reg);
            return rc < 0 ? rc : err_set(e, DB_EHARD, "instrument registration vanished");
        }
        if (strcmp(PQgetvalue(res, 0, 0), checksum) != 0) {
            err_set(e, COL_ECHANGED,
                    "instrument \"%s\" version \"%s\" is registered with a different definition",
                    s->instrument, s->version);
            err_detail(e, "The registered checksum is %s; the file's is %s.", PQgetvalue(res, 0, 0),
                       checksum);
            err_hint(e, "A definition never changes in place: give the changed file a new "
                        "version and schedule that.");
            PQclear(res);
            ins_registry_free(reg);
            return COL_ECHANGED;
        }
        PQclear(res);
        res = NULL;
    }
    ins_registry_free(reg);
    protocol_text = json_dumps(p->root, JSON_COMPACT);
    snprintf(weeks, sizeof weeks, "%d", p->weeks);
    {
        const char *params[7] = {p->id,
                                 p->title,
                                 weeks,
                                 p->timezone,
                                 p->allow_late ? "true" : "false",
                                 p->support_text ? p->support_text : col_default_support_text,
                                 protocol_text};
        rc = db_query(conn, "col_setup_study_insert", 7, params, NULL, e);
        free(protocol_text);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < p->n_arms; i++) {
        const char *params[3] = {p->id, p->arm_ids[i], p->arm_labels[i]};
        if ((rc = db_query(conn, "col_setup_arm_insert", 3, params, NULL, e)) < 0)
            return rc;
    }
    for (size_t i = 0; i < p->n_schedule; i++) {
        const struct col_protocol_entry *s = &p->schedule[i];
        snprintf(window, sizeof window, "%d", s->window_days);
        for (size_t w = 0; w < s->n_weeks; w++) {
            const char *params[5] = {p->id, s->instrument, s->version, week, window};
            snprintf(week, sizeof week, "%d", s->weeks[w]);
            if ((rc = db_query(conn, "col_setup_schedule_insert", 5, params, NULL, e)) < 0)
                return rc;
        }
    }
    {
        char target[96];
        json_t *detail =
            json_pack("{s:i, s:i}", "arms", (int)p->n_arms, "schedule", (int)p->n_schedule);
        snprintf(target, sizeof target, "study:%s", p->id);
        rc = col_audit(conn, who, "study.create", target, p->id, detail, e);
        json_decref(detail);
        if (rc < 0)
            return rc;
    }
    if (p->event_types != NULL) {
        size_t i;
        json_t *et;
        json_array_foreach(p->event_types, i, et)
        {
            const char *params[3] = {p->id, json_string_value(json_object_get(et, "type")),
                                     json_string_value(json_object_get(et, "description"))};
            if ((rc = db_query(conn, "col_setup_event_type_insert", 3, params, NULL, e)) < 0)
                return rc;
        }
    }
    return 0;
}

/* Ends a transaction begun with BEGIN: COMMIT when rc is 0, else ROLLBACK. */
static int col_finish_tx(PGconn *conn, int rc, struct err *e)
{
    if (rc == 0)
        return db_exec(conn, "COMMIT", e);
    if (PQtransactionStatus(conn) != PQTRANS_UNKNOWN) {
        struct err ignored;
        db_exec(conn, "ROLLBACK", &ignored);
    }
    return rc;
}

int col_study_create(PGconn *conn, const struct cfg *cfg, const char *path,
                     const struct audit_entry *who, struct err *e)
{
    struct col_protocol *p = NULL;
    json_error_t jerr;
    json_t *root, *errors = json_array();
    int rc;

    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rc = err_set(e, COL_EINVAL, "could not read protocol \"%s\": %s (line %d, column %d)", path,
                     jerr.text, jerr.line, jerr.column);
        goto out;
    }
    if (col_protocol_parse(root, cfg->study_timezone, &p, errors) > 0) {
        char detail[ERR_DETAIL_MAX] = "";
        size_t used = 0, i;
        json_t *pe;
        json_array_foreach(errors, i, pe)
        {
            int n = snprintf(detail + used, sizeof detail - used, "%s%s: %s.", i ? " " : "",
                             json_string_value(json_object_get(pe, "pointer")),
                             json_string_value(json_object_get(pe, "message")));
            if (n < 0 || (size_t)n >= sizeof detail - used)
                break;
            used += (size_t)n;
        }
        rc = err_set(e, COL_EINVAL, "invalid protocol \"%s\": %zu problem(s)", path,
                     json_array_size(errors));
        err_detail(e, "%s", detail);
        goto out;
    }
    if ((rc = db_exec(conn, "BEGIN", e)) != 0)
        goto out;
    rc = col_finish_tx(conn, col_study_insert(conn, cfg, p, who, e), e);
out:
    col_protocol_free(p);
    json_decref(root);
    json_decref(errors);
    return rc;
}

/* Crockford's base32 without I, L, O, U: codes people can read aloud. */
static void col_code_random(char out[COL_CODE_LEN + 1])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    for (int i = 0; i < COL_CODE_LEN; i++)
        out[i] = alphabet[randombytes_uniform(32)];
    out[COL_CODE_LEN] = '\0';
}

/* A new token for participant `pid` (the access module's: 256 random bits,
 * stored as its SHA-256). */
static int col_token_new(PGconn *conn, const char *pid, char token[64], struct err *e)
{
    char hex[2 * ACC_HASH_BYTES + 3];
    const char *params[2] = {pid, hex};

    acc_token_new(token);
    acc_token_hash_hex(token, hex);
    return db_query(conn, "col_setup_token_insert", 2, params, NULL, e) < 0 ? e->code : 0;
}

static int col_enroll_tx(PGconn *conn, const char *study, const char *arm, int count,
                         int64_t enrolled_at, const char *fixed_code, const struct audit_entry *who,
                         struct col_enrolment *list, struct err *e)
{
    const char *params[4];
    char at[32], weeks[16];
    PGresult *res = NULL;
    int rc;

    params[0] = study;
    params[1] = arm;
    rc = db_query(conn, "col_setup_arm_weeks", 2, params, &res, e);
    if (rc <= 0) {
        PQclear(res);
        if (rc == 0)
            return err_set(e, COL_ENOTFOUND, "study \"%s\" has no arm \"%s\"", study, arm);
        return rc;
    }
    snprintf(weeks, sizeof weeks, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(at, sizeof at, "%lld", (long long)enrolled_at);
    for (int i = 0; i < count; i++) {
        struct col_enrolment *en = &list[i];
        char pid[24];
        int attempt;
        for (attempt = 0; attempt < COL_CODE_ATTEMPTS; attempt++) {
            if (fixed_code != NULL)
                snprintf(en->code, sizeof en->code, "%s", fixed_code);
            else
                col_code_random(en->code);
            params[2] = en->code;
            params[3] = at;
            res = NULL;
            rc = db_query(conn, "col_setup_participant_insert", 4, params, &res, e);
            if (rc < 0)
                return rc;
            if (rc == 1)
                break;
            PQclear(res);
            if (fixed_code != NULL)
                return err_set(e, COL_EEXISTS, "participant code \"%s\" is taken in study \"%s\"",
                               fixed_code, study);
        }
        if (attempt == COL_CODE_ATTEMPTS)
            return err_set(e, DB_EHARD, "could not find a free participant code");
        en->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        snprintf(en->arm, sizeof en->arm, "%s", arm);
        snprintf(pid, sizeof pid, "%lld", en->id);
        if ((rc = col_token_new(conn, pid, en->token, e)) != 0)
            return rc;
        if (who != NULL) {
            char target[160];
            json_t *detail = json_pack("{s:s}", "arm", arm);
            snprintf(target, sizeof target, "participant:%s/#%lld", study, en->id);
            rc = col_audit(conn, who, "participant.enroll", target, study, detail, e);
            json_decref(detail);
            if (rc < 0)
                return rc;
        }
    }
    params[0] = at;
    params[1] = weeks;
    rc = db_query(conn, "col_setup_partitions", 2, params, NULL, e);
    return rc < 0 ? rc : 0;
}

int col_enroll(PGconn *conn, const char *study, const char *arm, int count, int64_t enrolled_at,
               const char *code, const struct audit_entry *who, struct col_enrolment **out,
               struct err *e)
{
    struct col_enrolment *list;
    int rc;

    if (count < 1 || count > COL_ENROLL_MAX || (code != NULL && count != 1))
        return err_set(e, COL_EINVAL, "--count must be between 1 and %d", COL_ENROLL_MAX);
    list = calloc((size_t)count, sizeof *list);
    if (list == NULL)
        return err_set(e, COL_EINVAL, "out of memory");
    if ((rc = db_exec(conn, "BEGIN", e)) == 0)
        rc = col_finish_tx(
            conn, col_enroll_tx(conn, study, arm, count, enrolled_at, code, who, list, e), e);
    if (rc != 0) {
        free(list);
        return rc;
    }
    *out = list;
    return 0;
}

static int col_token_revoke_tx(PGconn *conn, const char *study, const char *code, int reissue,
                               const struct audit_entry *who, char token_out[64], struct err *e)
{
    const char *params[2] = {study, code};
    PGresult *res = NULL;
    char pid[24];
    int rc;

    rc = db_query(conn, "col_setup_participant_find", 2, params, &res, e);
    if (rc <= 0) {
        PQclear(res);
        return rc == 0 ? err_set(e, COL_ENOTFOUND, "study \"%s\" has no participant \"%s\"", study,
                                 code)
                       : rc;
    }
    snprintf(pid, sizeof pid, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    params[0] = pid;
    if ((rc = db_query(conn, "col_setup_token_revoke", 1, params, NULL, e)) < 0)
        return rc;
    if (reissue && (rc = col_token_new(conn, pid, token_out, e)) != 0)
        return rc;
    {
        char target[160];
        snprintf(target, sizeof target, "participant:%s/#%s", study, pid);
        rc = col_audit(conn, who, reissue ? "participant.link_reissue" : "participant.link_revoke",
                       target, study, NULL, e);
    }
    return rc < 0 ? rc : 0;
}

int col_token_revoke(PGconn *conn, const char *study, const char *code, int reissue,
                     const struct audit_entry *who, char token_out[64], struct err *e)
{
    int rc = db_exec(conn, "BEGIN", e);

    if (rc != 0)
        return rc;
    return col_finish_tx(conn, col_token_revoke_tx(conn, study, code, reissue, who, token_out, e),
                         e);
}
