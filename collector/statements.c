/*
 * statements.c — the collector's SQL, one named prepared statement per row,
 * each noting the function that uses it. Prepared on every pooled connection
 * (and by the command-line tools that share the collector's code: study,
 * enroll, demo).
 */
#include "collector.h"

const struct db_statement col_statements[] = {
    /* col_landing: how many studies exist */
    {"col_count_studies", "SELECT count(*) FROM studies"},

    /* col_defs_scheduled: the version a study schedules for an instrument */
    {"col_schedule_version", "SELECT instrument_version FROM schedule"
                             " WHERE study_id = $1 AND instrument_id = $2 LIMIT 1"},

    /* col_defs_guess: the version most studies schedule for an instrument */
    {"col_schedule_version_any",
     "SELECT instrument_version FROM schedule WHERE instrument_id = $1"
     " GROUP BY instrument_version ORDER BY count(*) DESC, instrument_version DESC LIMIT 1"},

    /* col_defs_get: a registered definition */
    {"col_instrument_definition",
     "SELECT definition::text FROM instruments WHERE id = $1 AND version = $2"},

    /* col_texts_get: the checksum of a study's item texts for an instrument version */
    {"col_item_texts_checksum",
     "SELECT checksum FROM item_texts WHERE study_id = $1 AND instrument_id = $2"
     " AND instrument_version = $3"},

    /* col_texts_get (a checksum not cached yet): the texts themselves */
    {"col_item_texts",
     "SELECT texts::text, checksum FROM item_texts WHERE study_id = $1 AND instrument_id = $2"
     " AND instrument_version = $3"},

    /* col_fhir_questionnaire: the latest registered version of an instrument */
    {"col_instrument_latest", "SELECT version FROM instruments WHERE id = $1"
                              " ORDER BY registered_at DESC, version DESC LIMIT 1"},

    /* col_response_submit: place, check and store one scored response (sql/004) */
    {"col_response_store",
     "SELECT outcome, response_id, study_week, timing,"
     " (extract(epoch FROM received_at) * 1000000)::bigint, detail"
     " FROM attune_response_store($1::uuid, $2::bigint, $3, $4, $5::timestamptz, $6,"
     " $7::bytea, $8::float8, $9::jsonb, $10, $11::text[], $12::integer, $13::integer,"
     " $14::boolean, $15::text[], $16::float8[], $17::bytea, $18, $19, $20::inet)"},

    /* col_batch_send: many scored responses from different requests in one
     * statement and one commit (group commit; sql/014), each parameter an
     * array in binary format (enum col_batch_column, then the flags' and the
     * items' first indexes and counts) */
    {"col_response_store_rows",
     "SELECT k, stored, study_week, timing, (extract(epoch FROM received_at) * 1000000)::bigint,"
     " participant, study FROM attune_response_store_rows($1::uuid[], $2::int8[], $3::text[],"
     " $4::text[], $5::timestamptz[], $6::text[], $7::bytea[], $8::float8[], $9::jsonb[],"
     " $10::text[], $11::int4[], $12::int4[], $13::bool[], $14::bytea[], $15::text[],"
     " $16::text[], $17::text[], $18::text[], $19::text[], $20::float8[], $21::int4[],"
     " $22::int4[], $23::int4[], $24::int4[])"},

    /* col_response_submit (a retry) and the form's confirmation: a stored response */
    {"col_response_select",
     "SELECT id, instrument_id, instrument_version, study_week, timing,"
     " (extract(epoch FROM completed_at) * 1000000)::bigint,"
     " (extract(epoch FROM received_at) * 1000000)::bigint, total_score,"
     " subscale_scores::text, severity, array_to_json(flags)::text, items_answered,"
     " items_missing, prorated, source FROM responses WHERE id = $1::uuid"},

    /* col_me, col_form_get: the participant's questionnaires and their statuses */
    {"col_participant_schedule",
     "SELECT instrument_id, instrument_version, week,"
     " (extract(epoch FROM opens_at) * 1000000)::bigint,"
     " (extract(epoch FROM closes_at) * 1000000)::bigint, status, response_id"
     " FROM attune_schedule_status(now()) WHERE participant_id = $1"
     " ORDER BY week, instrument_id"},

    /* col_me, col_form_get: the study's description */
    {"col_study_select", "SELECT id, title, weeks, timezone, allow_late, support_text"
                         " FROM studies WHERE id = $1"},

    /* col_me: the participant's current study week */
    {"col_participant_week",
     "SELECT attune_study_week(p.enrolled_at, s.timezone, now())"
     " FROM participants p JOIN studies s ON s.id = p.study_id WHERE p.id = $1"},

    /* col_events_post: which of these type names the study's registry lacks */
    {"col_event_types_unknown",
     "SELECT array_to_json(coalesce(array_agg(t), '{}'))::text FROM unnest($2::text[]) AS t"
     " WHERE NOT EXISTS (SELECT 1 FROM event_types e"
     " WHERE e.type = t AND (e.study_id IS NULL OR e.study_id = $1))"},

    /* col_events_post: the whole batch in one statement — the participant
     * still active and (when $5 is given) the token still live, the types in
     * the study's registry, then the insert; duplicates (same participant,
     * time and id) are skipped by the primary key. Returns inserted rows, the
     * unknown types (NULL when none), and whether the writer may write. */
    {"col_events_insert",
     "WITH auth AS ("
     "  SELECT p.status <> 'withdrawn' AS active,"
     "   ($5::bytea IS NULL OR EXISTS (SELECT 1 FROM participant_tokens t"
     "    WHERE t.token_hash = $5::bytea AND t.participant_id = p.id"
     "    AND t.revoked_at IS NULL)) AS token_ok"
     "  FROM participants p WHERE p.id = $1::bigint),"
     " unknown AS ("
     "  SELECT array_agg(t) AS types FROM unnest($3::text[]) AS t"
     "  WHERE NOT EXISTS (SELECT 1 FROM event_types e"
     "   WHERE e.type = t AND (e.study_id IS NULL OR e.study_id = $2))),"
     " ins AS ("
     "  INSERT INTO events (participant_id, id, type, at, duration_s, props)"
     "  SELECT $1::bigint, b.id, b.type, b.at, b.duration_s, b.props"
     "  FROM jsonb_to_recordset($4::jsonb)"
     "   AS b(id uuid, type text, at timestamptz, duration_s float8, props jsonb)"
     "  WHERE (SELECT types FROM unknown) IS NULL"
     "   AND (SELECT active AND token_ok FROM auth)"
     "  ON CONFLICT DO NOTHING RETURNING 1),"
     /* one audit row per batch that stored something, as audit_append() writes it */
     " aud AS ("
     "  INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id,"
     "   source_addr, detail)"
     "  SELECT 'participant', $6::text, 'event.create', 'participant:' || $2 || '/#' || $1, $2, "
     "$7::text,"
     "   $8::inet, jsonb_build_object('received', jsonb_array_length($4::jsonb),"
     "   'accepted', n.c)"
     "  FROM (SELECT count(*) AS c FROM ins) n WHERE $6::text IS NOT NULL AND n.c > 0)"
     " SELECT (SELECT count(*) FROM ins), (SELECT array_to_json(types)::text FROM unknown),"
     " (SELECT active FROM auth), (SELECT token_ok FROM auth)"},

    {NULL, NULL},
};
