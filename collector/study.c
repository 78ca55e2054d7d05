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
    /* col_texts_store: a study's item texts for an instrument version (sql/008) */
    {"col_setup_texts_insert",
     "INSERT INTO item_texts (study_id, instrument_id, instrument_version, language, permission,"
     " texts, checksum, supplied_by) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)"
     " ON CONFLICT DO NOTHING"},
    /* col_texts_store: the stored checksum, locked for the rest of the transaction */
    {"col_setup_texts_current",
     "SELECT checksum FROM item_texts WHERE study_id = $1 AND instrument_id = $2"
     " AND instrument_version = $3 FOR UPDATE"},
    /* col_texts_store: whether any participant of the study answered that version */
    {"col_setup_texts_answered",
     "SELECT EXISTS (SELECT 1 FROM responses r JOIN participants p ON p.id = r.participant_id"
     " WHERE p.study_id = $1 AND r.instrument_id = $2 AND r.instrument_version = $3)"},
    /* col_texts_store: other texts, while nobody has answered them */
    {"col_setup_texts_update",
     "UPDATE item_texts SET language = $4, permission = $5, texts = $6::jsonb, checksum = $7,"
     " supplied_by = $8, supplied_at = now()"
     " WHERE study_id = $1 AND instrument_id = $2 AND instrument_version = $3"},
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

/* The file a schedule entry's `item_texts` names: relative to the protocol
 * file's folder (an absolute path as it is). -1 when too long. */
static int col_texts_path(const char *protocol_path, const char *rel, char *buf, size_t size)
{
    const char *slash = strrchr(protocol_path, '/');
    int n;

    if (rel[0] == '/' || slash == NULL)
        n = snprintf(buf, size, "%s", rel);
    else
        n = snprintf(buf, size, "%.*s/%s", (int)(slash - protocol_path), protocol_path, rel);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Stores a study's checked texts for `def` (its id and version) as `by`:
 * inserts them, or finds them stored with the same checksum (unchanged), or
 * replaces them when no participant of the study has answered that version
 * yet. Refuses (COL_ECHANGED) a different checksum once there are responses:
 * like a registered definition, wording that was answered never changes in
 * place. `previous` gets the stored checksum ("" when there was none).
 */
static int col_texts_store(PGconn *conn, const char *study, const struct ins_definition *def,
                           const struct ins_texts_file *t, const char *by, int *outcome,
                           char previous[65], struct err *e)
{
    const char *params[8] = {study,
                             def->id,
                             def->version,
                             ins_texts_language(t),
                             ins_texts_permission(t),
                             ins_texts_canonical(t),
                             ins_texts_checksum(t),
                             by};
    PGresult *res = NULL;
    int rc, answered;

    previous[0] = '\0';
    rc = db_query(conn, "col_setup_texts_insert", 8, params, NULL, e);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        *outcome = COL_TEXTS_STORED;
        return 0;
    }
    rc = db_query(conn, "col_setup_texts_current", 3, params, &res, e);
    if (rc != 1) {
        PQclear(res);
        return rc < 0 ? rc : err_set(e, DB_EHARD, "stored item texts vanished");
    }
    snprintf(previous, 65, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    if (strcmp(previous, ins_texts_checksum(t)) == 0) {
        *outcome = COL_TEXTS_UNCHANGED;
        return 0;
    }
    rc = db_query(conn, "col_setup_texts_answered", 3, params, &res, e);
    if (rc != 1) {
        PQclear(res);
        return rc < 0 ? rc : err_set(e, DB_EHARD, "could not count responses");
    }
    answered = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (answered) {
        err_set(e, COL_ECHANGED,
                "item texts of \"%s\" version \"%s\" in study \"%s\" already have responses",
                def->id, def->version, study);
        err_detail(e, "The stored texts have checksum %s; the file's is %s.", previous,
                   ins_texts_checksum(t));
        err_hint(e, "Wording that participants have answered is part of their data and never "
                    "changes in place; other wording needs another instrument version, "
                    "scheduled in a new study.");
        return COL_ECHANGED;
    }
    rc = db_query(conn, "col_setup_texts_update", 8, params, NULL, e);
    if (rc < 0)
        return rc;
    *outcome = COL_TEXTS_REPLACED;
    return 0;
}

static int col_study_insert(PGconn *conn, const struct cfg *cfg, const char *path,
                            const struct col_protocol *p, const struct audit_entry *who,
                            struct err *e)
{
    char weeks[16], week[16], window[16];
    char *protocol_text = NULL, *text = NULL, checksum[65];
    const struct ins_definition *defs[COL_PROTOCOL_MAX_SCHEDULE] = {0};
    struct ins_texts_file *texts[COL_PROTOCOL_MAX_SCHEDULE] = {0};
    struct ins_registry *reg = NULL;
    json_t *detail = NULL, *texts_detail = NULL;
    PGresult *res = NULL;
    int rc;

    rc = col_study_exists(conn, p->id, e);
    if (rc < 0)
        goto out;
    if (rc > 0) {
        rc = err_set(e, COL_EEXISTS, "study \"%s\" already exists", p->id);
        goto out;
    }
    rc = db_query(conn, "col_setup_timezone_ok", 1, &p->timezone, &res, e);
    if (rc < 0)
        goto out;
    if (PQgetvalue(res, 0, 0)[0] != 't') {
        rc = err_set(e, COL_EINVAL, "invalid protocol: unknown time zone \"%s\"", p->timezone);
        err_detail(e, "/timezone: PostgreSQL does not know this zone; use an IANA name such "
                      "as \"Europe/London\".");
        goto out;
    }
    PQclear(res);
    res = NULL;
    /* Register every scheduled definition (the file's text, checked by the
     * instruments engine), refusing one whose registered version differs;
     * check the study's item texts against their definitions. */
    if ((rc = ins_registry_load(cfg->instruments_dir, &reg, e)) != 0) {
        err_prefix(e, "instrument definitions");
        rc = COL_EINVAL;
        goto out;
    }
    for (size_t i = 0; i < p->n_schedule; i++) {
        const struct col_protocol_entry *s = &p->schedule[i];
        const struct ins_definition *def = ins_registry_find(reg, s->instrument, s->version);
        const char *params[4] = {s->instrument, s->version, NULL, NULL};
        if (def == NULL) {
            rc = err_set(e, COL_ENOTFOUND,
                         "no definition of instrument \"%s\" version \"%s\" in \"%s\"",
                         s->instrument, s->version, cfg->instruments_dir);
            err_hint(e, "Instrument definitions are <id>-<version>.json files in the instruments "
                        "folder (ATTUNE_INSTRUMENTS_DIR); see docs/instruments.md.");
            goto out;
        }
        defs[i] = def;
        if (s->item_texts != NULL) {
            char tpath[4096];
            if (col_texts_path(path, s->item_texts, tpath, sizeof tpath) != 0) {
                rc = err_set(e, COL_EINVAL,
                             "invalid protocol \"%s\": /schedule/%zu/item_texts: path too long",
                             path, i);
                goto out;
            }
            if (ins_texts_load(def, tpath, &texts[i], e) != 0) {
                err_prefix(e, "invalid protocol \"%s\": /schedule/%zu/item_texts", path, i);
                rc = e->code = COL_EINVAL;
                goto out;
            }
        }
        if ((text = strndup(def->text, def->text_len)) == NULL) {
            rc = err_set(e, COL_EINVAL, "out of memory");
            goto out;
        }
        snprintf(checksum, sizeof checksum, "%s", def->checksum);
        params[2] = checksum;
        params[3] = text;
        rc = db_query(conn, "col_setup_instrument_register", 4, params, NULL, e);
        free(text);
        text = NULL;
        if (rc < 0)
            goto out;
        rc = db_query(conn, "col_setup_instrument_checksum", 2, params, &res, e);
        if (rc != 1) {
            if (rc >= 0)
                rc = err_set(e, DB_EHARD, "instrument registration vanished");
            goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 0), checksum) != 0) {
            rc = err_set(e, COL_ECHANGED,
                         "instrument \"%s\" version \"%s\" is registered with a different "
                         "definition",
                         s->instrument, s->version);
            err_detail(e, "The registered checksum is %s; the file's is %s.", PQgetvalue(res, 0, 0),
                       checksum);
            err_hint(e, "A definition never changes in place: give the changed file a new "
                        "version and schedule that.");
            goto out;
        }
        PQclear(res);
        res = NULL;
    }
    protocol_text = json_dumps(p->root, JSON_COMPACT);
    if (protocol_text == NULL) {
        rc = err_set(e, COL_EINVAL, "out of memory");
        goto out;
    }
    snprintf(weeks, sizeof weeks, "%d", p->weeks);
    {
        const char *params[7] = {p->id,
                                 p->title,
                                 weeks,
                                 p->timezone,
                                 p->allow_late ? "true" : "false",
                                 p->support_text ? p->support_text : col_default_support_text,
                                 protocol_text};
        if ((rc = db_query(conn, "col_setup_study_insert", 7, params, NULL, e)) < 0)
            goto out;
    }
    for (size_t i = 0; i < p->n_arms; i++) {
        const char *params[3] = {p->id, p->arm_ids[i], p->arm_labels[i]};
        if ((rc = db_query(conn, "col_setup_arm_insert", 3, params, NULL, e)) < 0)
            goto out;
    }
    for (size_t i = 0; i < p->n_schedule; i++) {
        const struct col_protocol_entry *s = &p->schedule[i];
        snprintf(window, sizeof window, "%d", s->window_days);
        for (size_t w = 0; w < s->n_weeks; w++) {
            const char *params[5] = {p->id, s->instrument, s->version, week, window};
            snprintf(week, sizeof week, "%d", s->weeks[w]);
            if ((rc = db_query(conn, "col_setup_schedule_insert", 5, params, NULL, e)) < 0)
                goto out;
        }
        if (texts[i] != NULL) {
            char previous[65], key[INS_ID_MAX + INS_VERSION_MAX + 2];
            int outcome;
            if ((rc = col_texts_store(conn, p->id, defs[i], texts[i],
                                      who && who->actor ? who->actor : "attune", &outcome, previous,
                                      e)) != 0)
                goto out;
            if (texts_detail == NULL && (texts_detail = json_object()) == NULL) {
                rc = err_set(e, COL_EINVAL, "out of memory");
                goto out;
            }
            snprintf(key, sizeof key, "%s@%s", s->instrument, s->version);
            json_object_set_new(texts_detail, key, json_string(ins_texts_checksum(texts[i])));
        }
    }
    {
        char target[96];
        detail = json_pack("{s:i, s:i}", "arms", (int)p->n_arms, "schedule", (int)p->n_schedule);
        if (detail != NULL && texts_detail != NULL) {
            json_object_set_new(detail, "item_texts", texts_detail);
            texts_detail = NULL;
        }
        snprintf(target, sizeof target, "study:%s", p->id);
        if ((rc = col_audit(conn, who, "study.create", target, p->id, detail, e)) < 0)
            goto out;
    }
    if (p->event_types != NULL) {
        size_t i;
        json_t *et;
        json_array_foreach(p->event_types, i, et)
        {
            const char *params[3] = {p->id, json_string_value(json_object_get(et, "type")),
                                     json_string_value(json_object_get(et, "description"))};
            if ((rc = db_query(conn, "col_setup_event_type_insert", 3, params, NULL, e)) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < p->n_schedule; i++)
        ins_texts_free(texts[i]);
    ins_registry_free(reg);
    json_decref(detail);
    json_decref(texts_detail);
    free(protocol_text);
    free(text);
    PQclear(res);
    return rc;
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
    rc = col_finish_tx(conn, col_study_insert(conn, cfg, path, p, who, e), e);
out:
    col_protocol_free(p);
    json_decref(root);
    json_decref(errors);
    return rc;
}

static int col_study_texts_tx(PGconn *conn, const char *study, const char *path, json_t *root,
                              const struct audit_entry *who, int *outcome, struct err *e)
{
    const char *base = strrchr(path, '/');
    const char *inst = json_string_value(json_object_get(root, "instrument"));
    const char *ver = json_string_value(json_object_get(root, "version"));
    const char *params[2] = {study, inst};
    struct ins_definition *def = NULL;
    struct ins_texts_file *t = NULL;
    json_t *stored = NULL, *detail = NULL;
    PGresult *res = NULL;
    char name[160], previous[65], target[96];
    json_error_t jerr;
    int rc;

    base = base ? base + 1 : path;
    if (inst == NULL || ver == NULL) {
        rc = err_set(e, COL_EINVAL, "\"%s\": not an item texts file", base);
        err_detail(e, "Its /instrument and /version must name the definition the texts are for.");
        goto out;
    }
    if ((rc = col_study_exists(conn, study, e)) <= 0) {
        if (rc == 0)
            rc = err_set(e, COL_ENOTFOUND, "study \"%s\" does not exist", study);
        goto out;
    }
    /* The version the study schedules, as registered: texts go with it. */
    if ((rc = db_query(conn, "col_schedule_version", 2, params, &res, e)) <= 0) {
        if (rc == 0)
            rc = err_set(e, COL_ENOTFOUND, "study \"%s\" does not schedule instrument \"%.63s\"",
                         study, inst);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), ver) != 0) {
        rc = err_set(e, COL_EINVAL,
                     "\"%s\": texts are for \"%s\" version \"%.32s\", but study "
                     "\"%s\" schedules version \"%s\"",
                     base, inst, ver, study, PQgetvalue(res, 0, 0));
        goto out;
    }
    PQclear(res);
    res = NULL;
    params[0] = inst;
    params[1] = ver;
    if ((rc = db_query(conn, "col_instrument_definition", 2, params, &res, e)) != 1) {
        if (rc >= 0)
            rc = err_set(e, DB_EHARD, "instrument \"%s\" version \"%s\" is not registered", inst,
                         ver);
        goto out;
    }
    snprintf(name, sizeof name, "%s@%s (registered)", inst, ver);
    stored = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    if (stored == NULL || ins_definition_from_json(stored, name, &def, e) != 0) {
        if (stored == NULL)
            err_set(e, DB_EHARD, "registered definition %s is not JSON: %s", name, jerr.text);
        rc = DB_EHARD;
        goto out;
    }
    if (ins_texts_from_json(def, root, base, &t, e) != 0) {
        rc = e->code = COL_EINVAL;
        goto out;
    }
    if ((rc = col_texts_store(conn, study, def, t, who && who->actor ? who->actor : "attune",
                              outcome, previous, e)) != 0)
        goto out;
    if (*outcome != COL_TEXTS_UNCHANGED) {
        detail = json_pack("{s:s, s:s, s:s, s:s?}", "instrument", inst, "version", ver, "checksum",
                           ins_texts_checksum(t), "replaced", previous[0] ? previous : NULL);
        snprintf(target, sizeof target, "study:%s", study);
        if ((rc = col_audit(conn, who, "study.texts", target, study, detail, e)) < 0)
            goto out;
    }
    rc = 0;
out:
    ins_texts_free(t);
    ins_definition_free(def);
    json_decref(stored);
    json_decref(detail);
    PQclear(res);
    return rc;
}

int col_study_texts(PGconn *conn, const char *study, const char *path,
                    const struct audit_entry *who, int *outcome, struct err *e)
{
    json_t *root = NULL;
    int rc;

    if (ins_texts_read(path, &root, e) != 0)
        return e->code = COL_EINVAL;
    if ((rc = db_exec(conn, "BEGIN", e)) == 0)
        rc = col_finish_tx(conn, col_study_texts_tx(conn, study, path, root, who, outcome, e), e);
    json_decref(root);
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
