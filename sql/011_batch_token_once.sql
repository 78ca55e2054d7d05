-- 011_batch_token_once.sql — the group commit's statement probes each
-- submission's token once, not twice.
--
-- For a submission whose token was not looked up before (ACC_DEFERRED, the
-- common case), the statement of 009 found the participant by the token
-- (`who`: live token, one index probe) and then passed the same token to
-- attune_placement(), which probed participant_tokens again for the same row
-- in the same snapshot, so the answer could only be yes. Now the placement is
-- given the token only for an element that came with its participant (a
-- token looked up earlier, checked again with the write as before). Same
-- signature and results as in 009.

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
    -- it is live. One index probe per element (LATERAL ... LIMIT 1 is never
    -- flattened into a join the planner may hash). attune_placement() checks
    -- the status, and the token only when the participant was given with it:
    -- a participant found here by its token has that token live in this
    -- statement's snapshot, which is what the placement would probe again.
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
                                             CASE WHEN w.participant IS NULL THEN NULL
                                                  ELSE w.token_hash END) pl
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

