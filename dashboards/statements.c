/*
 * statements.c — the dashboards' SQL, one named prepared statement per row,
 * each with the function that uses it. Parameters are always $n. Statuses
 * of scheduled questionnaires come from attune_schedule_status()
 * (sql/004_collector.sql), which PostgreSQL inlines, so a filter on one
 * participant or a page of them reaches its scans.
 *
 * Streamed exports iterate participants in id order and read each one's
 * rows through a LATERAL subquery (a nested loop by construction), so rows
 * leave in order without the database sorting the whole study first.
 */
#include "dash_int.h"

/* Actions that change what a dashboard shows (dash_version). */
#define DASH_DATA_ACTIONS                                                                          \
    "'response.create', 'event.create', 'participant.enroll', 'participant.withdraw', "            \
    "'participant.erase', 'alert.acknowledge', 'study.create'"

/* Microsecond RFC 3339, for event times. */
#define DASH_TS_US(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Last app event or questionnaire of participant `p` (an alias with id). */
#define DASH_LAST_ACTIVITY(p)                                                                      \
    "greatest((SELECT max(e.at) FROM events e WHERE e.participant_id = " p ".id),"                 \
    " (SELECT max(r.completed_at) FROM responses r WHERE r.participant_id = " p ".id))"

const struct db_statement dash_statements[] = {
    /* dash_version_read */
    {"dash_version", "SELECT s.seal_seq, attune_rfc3339(a.at) FROM audit_seals s"
                     " JOIN audit_log a ON a.id = s.audit_id"
                     " WHERE s.study_id = $1 AND a.action IN (" DASH_DATA_ACTIONS ")"
                     " ORDER BY s.seal_seq DESC LIMIT 1"},
    /* dash_pick_instrument: the one asked for, else the one with the most weeks */
    {"dash_instrument_pick",
     "SELECT instrument_id FROM schedule WHERE study_id = $1"
     " AND ($2::text IS NULL OR instrument_id = $2::text)"
     " GROUP BY instrument_id ORDER BY count(*) DESC, instrument_id LIMIT 1"},
    /* dash_instrument_json */
    {"dash_instrument_weeks",
     "SELECT week FROM schedule WHERE study_id = $1 AND instrument_id = $2 ORDER BY week"},
    /* dash_prewarm */
    {"dash_study_ids", "SELECT id FROM studies ORDER BY id"},

    /* overview.c */
    {"dash_study", "SELECT id, title, weeks, timezone, status FROM studies WHERE id = $1"},
    {"dash_study_arms",
     "SELECT a.id, a.label, count(p.id), count(p.id) FILTER (WHERE p.status = 'active'),"
     " count(p.id) FILTER (WHERE p.status = 'withdrawn'),"
     " count(p.id) FILTER (WHERE p.status = 'completed')"
     " FROM arms a LEFT JOIN participants p ON p.study_id = a.study_id AND p.arm_id = a.id"
     " WHERE a.study_id = $1 GROUP BY a.id, a.label ORDER BY a.id"},
    {"dash_study_instruments",
     "SELECT instrument_id, instrument_version, count(*) FROM schedule WHERE study_id = $1"
     " GROUP BY 1, 2 ORDER BY 3 DESC, 1"},
    {"dash_enrolment",
     "SELECT to_char(date_trunc('week', p.enrolled_at AT TIME ZONE s.timezone), 'YYYY-MM-DD'),"
     " p.arm_id, count(*)"
     " FROM participants p JOIN studies s ON s.id = p.study_id WHERE p.study_id = $1"
     " GROUP BY 1, 2 ORDER BY 1, 2"},
    /* dash_overview_build: unacknowledged flags; in-period participants idle 3, 7, 14 days */
    {"dash_alert_counts",
     "SELECT (SELECT count(*) FROM responses r JOIN participants p ON p.id = r.participant_id"
     "   WHERE r.flags <> '{}' AND p.study_id = $1"
     "   AND NOT EXISTS (SELECT 1 FROM alert_acknowledgements a WHERE a.response_id = r.id)),"
     " count(*) FILTER (WHERE idle >= 3), count(*) FILTER (WHERE idle >= 7),"
     " count(*) FILTER (WHERE idle >= 14)"
     " FROM (SELECT extract(epoch FROM now() - coalesce(" DASH_LAST_ACTIVITY(
         "p") ","
              "   p.enrolled_at)) / 86400 AS idle"
              "  FROM participants p JOIN studies s ON s.id = p.study_id"
              "  WHERE p.study_id = $1 AND p.status = 'active'"
              "  AND now() < p.enrolled_at + make_interval(days => 7 * s.weeks + 7)) x"},
    {"dash_data_updated",
     "SELECT coalesce(attune_rfc3339(greatest("
     " (SELECT max(r.received_at) FROM responses r JOIN participants p ON p.id = r.participant_id"
     "  WHERE p.study_id = $1),"
     " (SELECT max(p.created_at) FROM participants p WHERE p.study_id = $1))), '')"},
    /* dash_alerts_build */
    {"dash_alerts_safety",
     "SELECT r.id, p.code, p.arm_id, r.instrument_id, r.study_week,"
     " attune_rfc3339(r.completed_at), attune_rfc3339(r.received_at), array_to_json(r.flags)"
     " FROM responses r JOIN participants p ON p.id = r.participant_id"
     " WHERE r.flags <> '{}' AND p.study_id = $1"
     " AND NOT EXISTS (SELECT 1 FROM alert_acknowledgements a WHERE a.response_id = r.id)"
     " ORDER BY r.received_at DESC LIMIT $2::int"},
    {"dash_alerts_acknowledged",
     "SELECT r.id, p.code, p.arm_id, r.instrument_id, r.study_week,"
     " attune_rfc3339(r.completed_at), attune_rfc3339(a.acknowledged_at),"
     " array_to_json(r.flags), a.acknowledged_by, a.note"
     " FROM alert_acknowledgements a JOIN responses r ON r.id = a.response_id"
     " JOIN participants p ON p.id = r.participant_id"
     " WHERE p.study_id = $1 ORDER BY a.acknowledged_at DESC LIMIT 20"},
    {"dash_alerts_inactive",
     "SELECT p.code, p.arm_id, attune_rfc3339(p.enrolled_at), attune_rfc3339(la.last),"
     " extract(epoch FROM now() - coalesce(la.last, p.enrolled_at)) / 86400,"
     " attune_study_week(p.enrolled_at, s.timezone, now())"
     " FROM participants p JOIN studies s ON s.id = p.study_id"
     " CROSS JOIN LATERAL (SELECT " DASH_LAST_ACTIVITY(
         "p") " AS last) la"
              " WHERE p.study_id = $1 AND p.status = 'active'"
              " AND now() < p.enrolled_at + make_interval(days => 7 * s.weeks + 7)"
              " AND coalesce(la.last, p.enrolled_at) < now() - make_interval(days => $2::int)"
              " ORDER BY coalesce(la.last, p.enrolled_at) LIMIT 1000"},
    /* dash_ack_tx */
    {"dash_ack_find", "SELECT 1 FROM responses r JOIN participants p ON p.id = r.participant_id"
                      " WHERE r.id = $1::uuid AND p.study_id = $2 AND r.flags <> '{}'"},
    {"dash_ack_insert", "INSERT INTO alert_acknowledgements (response_id, acknowledged_by, note)"
                        " VALUES ($1::uuid, $2, $3) ON CONFLICT DO NOTHING RETURNING 1"},
    {"dash_ack_select",
     "SELECT attune_rfc3339(acknowledged_at), acknowledged_by FROM alert_acknowledgements"
     " WHERE response_id = $1::uuid"},
    /* dash_api_completion: a page of participants, newest enrolment first, with statuses */
    {"dash_completion",
     "SELECT pg.code, pg.arm_id, pg.status, attune_rfc3339(pg.enrolled_at), st.week, st.status,"
     " attune_rfc3339(st.opens_at), attune_rfc3339(st.closes_at), attune_rfc3339(pg.last)"
     " FROM (SELECT q.*, " DASH_LAST_ACTIVITY(
         "q") " AS last"
              "  FROM (SELECT p.id, p.code, p.arm_id, p.status, p.enrolled_at FROM participants p"
              "   WHERE p.study_id = $1 ORDER BY p.enrolled_at DESC, p.id DESC"
              "   LIMIT $3::int OFFSET $4::int) q) pg"
              " JOIN attune_schedule_status(now()) st ON st.participant_id = pg.id"
              " AND st.instrument_id = $2"
              " ORDER BY pg.enrolled_at DESC, pg.id DESC, st.week"},
    {"dash_participant_count", "SELECT count(*) FROM participants WHERE study_id = $1"},

    /* outcomes.c: the engine's stored band of each scored response */
    {"dash_severity",
     "SELECT p.arm_id, r.study_week, coalesce(r.severity, ''), count(*)"
     " FROM responses r JOIN participants p ON p.id = r.participant_id"
     " WHERE p.study_id = $1 AND r.instrument_id = $2 AND r.total_score IS NOT NULL"
     " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"},

    /* engagement.c */
    {"dash_dau", "SELECT to_char((e.at AT TIME ZONE s.timezone)::date, 'YYYY-MM-DD'), p.arm_id,"
                 " count(DISTINCT e.participant_id)"
                 " FROM events e JOIN participants p ON p.id = e.participant_id"
                 " JOIN studies s ON s.id = p.study_id WHERE p.study_id = $1"
                 " GROUP BY 1, 2 ORDER BY 1, 2"},
    {"dash_event_types",
     "SELECT to_char(date_trunc('week', e.at AT TIME ZONE s.timezone), 'YYYY-MM-DD'), e.type,"
     " count(*)"
     " FROM events e JOIN participants p ON p.id = e.participant_id"
     " JOIN studies s ON s.id = p.study_id WHERE p.study_id = $1"
     " GROUP BY 1, 2 ORDER BY 1, 2"},

    /* quality.c */
    /* by instrument and week; every instrument by week ("all"); and over all weeks (-1) */
    {"dash_quality_statuses",
     "SELECT coalesce(instrument_id, 'all'), coalesce(week, -1), status, count(*)"
     " FROM attune_schedule_status(now()) WHERE study_id = $1"
     " GROUP BY GROUPING SETS ((instrument_id, week, status), (week, status), (status))"
     " ORDER BY 1, 2, 3"},
    {"dash_quality_intake",
     "SELECT channel, outcome, sum(requests), sum(items) FROM intake_outcomes"
     " WHERE study_id = $1 GROUP BY 1, 2 ORDER BY 1, 2"},
    {"dash_quality_intake_days",
     "SELECT to_char(day, 'YYYY-MM-DD'),"
     " coalesce(sum(items) FILTER (WHERE outcome NOT IN ('stored', 'retry', 'duplicate')), 0),"
     " coalesce(sum(items) FILTER (WHERE outcome = 'retry'), 0),"
     " coalesce(sum(items) FILTER (WHERE outcome = 'duplicate'), 0)"
     " FROM intake_outcomes WHERE study_id = $1 GROUP BY day ORDER BY day"},
    {"dash_quality_scores",
     "SELECT r.instrument_id, count(*), count(*) FILTER (WHERE r.total_score IS NULL),"
     " count(*) FILTER (WHERE r.prorated), count(*) FILTER (WHERE r.timing = 'late'),"
     " coalesce(sum(r.items_missing), 0)"
     " FROM responses r JOIN participants p ON p.id = r.participant_id"
     " WHERE p.study_id = $1 GROUP BY 1 ORDER BY 1"},
    {"dash_quality_no_events",
     "SELECT p.code, p.arm_id, p.status, attune_rfc3339(p.enrolled_at) FROM participants p"
     " WHERE p.study_id = $1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.participant_id = p.id)"
     " ORDER BY p.id"},

    /* studies.c: counts live; retention and headline from the newest runs */
    {"dash_studies",
     "SELECT s.id, s.title, s.status, s.weeks, attune_rfc3339(s.created_at),"
     " c.enrolled, c.active, c.withdrawn, c.completed,"
     " ov.id, attune_rfc3339(ov.created_at), ov.retention::text,"
     " oc.id, attune_rfc3339(oc.created_at), oc.reduction::text, oc.instrument, oc.claims::text"
     " FROM studies s"
     " CROSS JOIN LATERAL (SELECT count(*) AS enrolled,"
     "   count(*) FILTER (WHERE p.status = 'active') AS active,"
     "   count(*) FILTER (WHERE p.status = 'withdrawn') AS withdrawn,"
     "   count(*) FILTER (WHERE p.status = 'completed') AS completed"
     "  FROM participants p WHERE p.study_id = s.id) c"
     " LEFT JOIN LATERAL (SELECT r.id, r.created_at, r.result -> 'retention' AS retention"
     "  FROM analysis_runs r WHERE r.study_id = s.id AND r.kind = 'dashboard.overview'"
     "  ORDER BY r.created_at DESC LIMIT 1) ov ON true"
     " LEFT JOIN LATERAL (SELECT r.id, r.created_at, r.result -> 'model' -> 'reduction' AS "
     "reduction,"
     "   r.options ->> 'instrument' AS instrument, r.result -> 'claims' AS claims"
     "  FROM analysis_runs r WHERE r.study_id = s.id AND r.kind = 'dashboard.outcomes'"
     "  AND r.options ->> 'instrument' = (SELECT sc.instrument_id FROM schedule sc"
     "   WHERE sc.study_id = s.id GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)"
     "  ORDER BY r.created_at DESC LIMIT 1) oc ON true"
     " WHERE $1::text[] IS NULL OR s.id = ANY ($1::text[])"
     " ORDER BY s.id"},

    /* participant.c */
    {"dash_participant", "SELECT p.id, p.code, p.arm_id, p.status, attune_rfc3339(p.enrolled_at),"
                         " attune_rfc3339(p.withdrawn_at), p.erased_at, s.weeks,"
                         " attune_study_week(p.enrolled_at, s.timezone, now()), s.timezone"
                         " FROM participants p JOIN studies s ON s.id = p.study_id"
                         " WHERE p.study_id = $1 AND p.code = $2"},
    {"dash_participant_schedule",
     "SELECT st.instrument_id, st.week, st.status, attune_rfc3339(st.opens_at),"
     " attune_rfc3339(st.closes_at), st.response_id, attune_rfc3339(st.completed_at),"
     " r.total_score, r.severity, array_to_json(r.flags), r.timing,"
     " attune_rfc3339(a.acknowledged_at)"
     " FROM attune_schedule_status(now()) st"
     " LEFT JOIN responses r ON r.id = st.response_id"
     " LEFT JOIN alert_acknowledgements a ON a.response_id = st.response_id"
     " WHERE st.participant_id = $1::bigint ORDER BY st.week, st.instrument_id"},
    {"dash_participant_daily",
     "SELECT to_char((e.at AT TIME ZONE s.timezone)::date, 'YYYY-MM-DD'), e.type, count(*),"
     " sum(e.duration_s) / 60"
     " FROM events e JOIN participants p ON p.id = e.participant_id"
     " JOIN studies s ON s.id = p.study_id"
     " WHERE e.participant_id = $1::bigint GROUP BY 1, 2 ORDER BY 1, 2"},
    /* as ds_engage_events (datasets/ds_engage.c) reads them, for one participant */
    {"dash_participant_events",
     "SELECT (extract(epoch FROM e.at) * 1000000)::bigint,"
     " (e.at AT TIME ZONE s.timezone)::date - DATE '2000-01-01',"
     " attune_study_week(p.enrolled_at, s.timezone, e.at), e.type"
     " FROM events e JOIN participants p ON p.id = e.participant_id"
     " JOIN studies s ON s.id = p.study_id"
     " WHERE e.participant_id = $1::bigint ORDER BY e.at, e.type, e.id LIMIT $2::int"},

    /* exports.c */
    {"dash_export_long",
     "SELECT p.code, p.arm_id, r.instrument_id, r.instrument_version, r.study_week,"
     " attune_rfc3339(r.completed_at), r.timing, x.variable, x.value"
     " FROM (SELECT id, code, arm_id FROM participants WHERE study_id = $1 ORDER BY id) p"
     " CROSS JOIN LATERAL (SELECT * FROM responses r WHERE r.participant_id = p.id"
     "  ORDER BY r.instrument_id, r.study_week) r"
     " CROSS JOIN LATERAL ("
     "  SELECT 0 AS ord, 'total' AS variable, r.total_score::text AS value"
     "  UNION ALL SELECT 1, s.key, s.value::text FROM jsonb_each(r.subscale_scores) s"
     "  UNION ALL SELECT 2, 'severity', r.severity"
     "  UNION ALL (SELECT 3, i.item_id, i.value::text FROM response_items i"
     "   WHERE i.response_id = r.id ORDER BY length(i.item_id), i.item_id)) x"
     " ORDER BY p.id"},
    {"dash_export_events",
     "SELECT p.code, p.arm_id, e.id, e.type, " DASH_TS_US(
         "e.at") ","
                 " attune_study_week(p.enrolled_at, p.tz, e.at), e.duration_s,"
                 " " DASH_TS_US(
                     "e.received_at") ", e.props::text"
                                      " FROM (SELECT p.id, p.code, p.arm_id, p.enrolled_at, "
                                      "s.timezone AS tz"
                                      "  FROM participants p JOIN studies s ON s.id = p.study_id"
                                      "  WHERE p.study_id = $1 ORDER BY p.id) p"
                                      " CROSS JOIN LATERAL (SELECT * FROM events e WHERE "
                                      "e.participant_id = p.id"
                                      "  ORDER BY e.at, e.id) e"
                                      " ORDER BY p.id"},
    {"dash_schedule",
     "SELECT instrument_id, instrument_version, week FROM schedule WHERE study_id = $1"
     " ORDER BY instrument_id, week"},
    /* the wide file: each participant's values keyed as the codebook names them */
    {"dash_export_wide",
     "SELECT p.code, p.arm_id, p.status, attune_rfc3339(p.enrolled_at),"
     " (SELECT jsonb_object_agg(v.k, v.val) FROM ("
     "   SELECT r.instrument_id || '_total_w' || r.study_week AS k, r.total_score::text AS val"
     "    FROM responses r WHERE r.participant_id = p.id"
     "   UNION ALL SELECT r.instrument_id || '_' || s.key || '_w' || r.study_week, s.value::text"
     "    FROM responses r, jsonb_each(r.subscale_scores) s WHERE r.participant_id = p.id"
     "   UNION ALL SELECT i.item_id || '_w' || r.study_week, i.value::text"
     "    FROM responses r JOIN response_items i ON i.response_id = r.id"
     "    WHERE r.participant_id = p.id) v)::text"
     " FROM participants p WHERE p.study_id = $1 ORDER BY p.id"},
    {"dash_export_runs",
     "SELECT json_build_object('id', r.id, 'kind', r.kind, 'created_at',"
     " attune_rfc3339(r.created_at), 'options', r.options, 'input_fingerprint',"
     " r.input_fingerprint, 'instrument_versions', r.instrument_versions, 'program_version',"
     " r.program_version, 'reproducible', r.reproducible, 'created_by', r.created_by,"
     " 'result', r.result)::text, row_number() OVER (ORDER BY r.kind, r.options ->> 'instrument')"
     " FROM (SELECT DISTINCT ON (kind, options ->> 'instrument') * FROM analysis_runs"
     "  WHERE study_id = $1 ORDER BY kind, options ->> 'instrument', created_at DESC) r"
     " ORDER BY r.kind, r.options ->> 'instrument'"},
    {"dash_export_claims",
     "SELECT r.options ->> 'instrument', c ->> 'arm', c ->> 'population', c ->> 'definition',"
     " c ->> 'n', c ->> 'value', c -> 'ci95' ->> 0, c -> 'ci95' ->> 1, c ->> 'ci_method', r.id,"
     " attune_rfc3339(r.created_at), r.input_fingerprint, r.program_version"
     " FROM (SELECT DISTINCT ON (options ->> 'instrument') * FROM analysis_runs"
     "  WHERE study_id = $1 AND kind = 'dashboard.outcomes'"
     "  ORDER BY options ->> 'instrument', created_at DESC) r"
     " CROSS JOIN LATERAL jsonb_array_elements(r.result -> 'claims') c"
     " ORDER BY 1"},

    /* intake.c */
    {"dash_intake_add",
     "INSERT INTO intake_outcomes (study_id, day, channel, outcome, requests, items)"
     " SELECT $1::text, $2::date, $3::text, $4::text, $5::bigint, $6::bigint"
     " WHERE EXISTS (SELECT 1 FROM studies WHERE id = $1::text)"
     " ON CONFLICT (study_id, day, channel, outcome) DO UPDATE"
     " SET requests = intake_outcomes.requests + EXCLUDED.requests,"
     " items = intake_outcomes.items + EXCLUDED.items"},
    {"dash_token_studies",
     "SELECT encode(t.token_hash, 'hex'), p.study_id FROM participant_tokens t"
     " JOIN participants p ON p.id = t.participant_id"
     " WHERE t.token_hash = ANY (SELECT decode(h, 'hex') FROM unnest($1::text[]) AS h)"},
    {NULL, NULL},
};
