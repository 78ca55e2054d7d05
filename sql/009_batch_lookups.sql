-- 009_batch_lookups.sql — the group commit's statement (sql/007) looks
-- up each element's token and participant by their indexes, whatever plan
-- PostgreSQL keeps for it.
--
-- attune_response_store_batch() runs with plan_cache_mode =
-- force_generic_plan: each writer connection plans it once and keeps that
-- plan. In 007 the token and the participant were plain joins against
-- jsonb_to_recordset's input, which the planner guesses at 100 rows; on a
-- small database (a new study, the first batch after a restart) it hashed
-- the whole of participant_tokens and of participants, and the connection
-- kept that plan while the tables grew to tens of thousands of rows. As
-- LATERAL subqueries with LIMIT 1 (never pulled up into a join) each is an
-- index probe per element, on any database. Same signature and results as
-- in 007.

CREATE OR REPLACE FUNCTION attune_response_store_batch(batch jsonb)
RETURNS TABLE (k integer, stored boolean, study_week integer, timing text,
               received_at timestamptz, participant bigint, study text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT x.*, decode(x.token, 'hex') AS token_hash
          FROM jsonb_to_recordset(batch) AS x(
            k integer, id uuid, participant bigint, instrument text, version text,
            completed timestamptz, source text, hash text, total float8, subscales jsonb,
            severity text, flags text[], answered integer, missing integer, prorated boolean,
            items text[], vals float8[], token text, study text, actor text, request_id text,
            source_addr inet)),
    -- Whose: the participant given, or the one the token belongs to while
    -- it is live (attune_placement() checks the token and the status again).
    -- One index probe per element (LATERAL ... LIMIT 1 is never flattened
    -- into a join the planner may hash).
    who AS (
        SELECT i.*, coalesce(i.participant, t.participant_id) AS pid
          FROM input i
          LEFT JOIN LATERAL (
              SELECT t.participant_id FROM participant_tokens t
               WHERE i.participant IS NULL AND t.token_hash = i.token_hash
                 AND t.revoked_at IS NULL
               LIMIT 1) t ON true),
    placed AS (
        SELECT w.*, coalesce(pl.on_time, pl.latest) AS week,
               CASE WHEN pl.on_time IS NOT NULL THEN 'on_time' ELSE 'late' END AS wtiming
          FROM who w
         CROSS JOIN LATERAL attune_placement(w.pid, w.instrument, w.version, w.completed,
                                             w.token_hash) pl
         WHERE w.pid IS NOT NULL
           AND pl.status <> 'withdrawn' AND pl.token_ok AND pl.n > 0 AND pl.version_ok
           AND pl.latest IS NOT NULL AND (pl.on_time IS NOT NULL OR pl.allow_late)),
    ins AS (
        INSERT INTO responses AS r (id, participant_id, instrument_id, instrument_version,
                                    study_week, completed_at, timing, source, content_hash,
                                    total_score, subscale_scores, severity, flags, items_answered,
                                    items_missing, prorated, item_ids, item_values)
        SELECT p.id, p.pid, p.instrument, p.version, p.week, p.completed, p.wtiming,
               p.source, decode(p.hash, 'hex'), p.total, coalesce(p.subscales, '{}'),
               p.severity, coalesce(p.flags, '{}'), p.answered, p.missing, p.prorated,
               coalesce(p.items, '{}'), coalesce(p.vals, '{}')
          FROM placed p
        ON CONFLICT DO NOTHING
        RETURNING r.id, r.participant_id, r.study_week, r.timing, r.received_at),
    stored AS (
        SELECT ins.*, pa.study_id
          FROM ins CROSS JOIN LATERAL (
              SELECT p2.study_id FROM participants p2 WHERE p2.id = ins.participant_id
               LIMIT 1) pa),
    aud AS (
        INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id,
                               source_addr, detail)
        SELECT 'participant', coalesce(i.actor, s.study_id || '/#' || s.participant_id),
               'response.create', 'response:' || s.id, s.study_id, i.request_id,
               i.source_addr,
               jsonb_build_object('instrument', i.instrument, 'version', i.version,
                                  'week', s.study_week, 'timing', s.timing,
                                  'source', i.source)
          FROM stored s JOIN input i ON i.id = s.id
         WHERE i.actor IS NOT NULL OR i.participant IS NULL)
    SELECT i.k, s.id IS NOT NULL, s.study_week, s.timing, s.received_at, s.participant_id,
           s.study_id::text
      FROM input i LEFT JOIN stored s ON s.id = i.id
     ORDER BY i.k;
END $$;

