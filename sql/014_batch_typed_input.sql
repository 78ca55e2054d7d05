-- 014_batch_typed_input.sql — the group commit's statement takes its input
-- as typed arrays, one per column, sent in PostgreSQL's binary format,
-- instead of one JSON document.
--
-- Parsing the JSON batch (jsonb_in) and turning it into rows
-- (jsonb_to_recordset: a key look-up, a text value and a type's input
-- function per field, the time stamps' parser among them) took about 53 µs
-- for a batch of 8 in psql, the statement's largest cost that grows with the
-- batch after its inserts. Arrays in binary format arrive as their values:
-- a uuid is 16 bytes, a time stamp 8. The variable-length parts of a
-- response (its flags, its item ids and values) come as one flat array each
-- with each response's first index and count, sliced back per row.
--
-- attune_response_store_rows() does what attune_response_store_batch()
-- (013) did, with the same results, and replaces it.

DROP FUNCTION attune_response_store_batch(jsonb);

CREATE FUNCTION attune_response_store_rows(
    ids uuid[], participants bigint[], instruments text[], versions text[],
    completed timestamptz[], sources text[], hashes bytea[], totals float8[],
    subscales jsonb[], severities text[], answered integer[], missing integer[],
    prorated boolean[], tokens bytea[], actors text[], request_ids text[],
    source_addrs text[], flags text[], items text[], vals float8[],
    flag_lo integer[], flag_n integer[], item_lo integer[], item_n integer[])
RETURNS TABLE (k integer, stored boolean, study_week integer, timing text,
               received_at timestamptz, participant bigint, study text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT (u.n - 1)::integer AS k, u.id, u.participant, u.instrument, u.version,
               u.completed, u.source, u.hash, u.total, u.subscales, u.severity,
               u.flags_of_row AS flags, u.answered, u.missing, u.prorated,
               items[u.ilo : u.ilo + u.icount - 1] AS items,
               vals[u.ilo : u.ilo + u.icount - 1] AS vals,
               u.token_hash, u.actor, u.request_id, u.source_addr::inet AS source_addr
          FROM (SELECT x.*, flags[x.flo : x.flo + x.fcount - 1] AS flags_of_row
                  FROM unnest(ids, participants, instruments, versions, completed, sources,
                              hashes, totals, subscales, severities, answered, missing,
                              prorated, tokens, actors, request_ids, source_addrs,
                              flag_lo, flag_n, item_lo, item_n)
                       WITH ORDINALITY AS x(id, participant, instrument, version, completed,
                                            source, hash, total, subscales, severity, answered,
                                            missing, prorated, token_hash, actor, request_id,
                                            source_addr, flo, fcount, ilo, icount, n)) u),
    -- As in 013 from here on, but for the hash, which comes as bytes.
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
               CASE WHEN pl.on_time IS NOT NULL THEN 'on_time' ELSE 'late' END AS wtiming,
               pl.study AS study_id
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
               p.source, p.hash, p.total, coalesce(p.subscales, '{}'),
               p.severity, coalesce(p.flags, '{}'), p.answered, p.missing, p.prorated,
               coalesce(p.items, '{}'), coalesce(p.vals, '{}')
          FROM placed p
        ON CONFLICT DO NOTHING
        RETURNING r.id, r.participant_id, r.study_week, r.timing, r.received_at),
    stored AS (
        SELECT p.k, p.participant AS given, p.actor, p.request_id, p.source_addr,
               p.instrument, p.version, p.source, p.study_id, ins.*
          FROM ins JOIN placed p ON p.id = ins.id),
    aud AS (
        INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id,
                               source_addr, detail)
        SELECT 'participant', coalesce(s.actor, s.study_id || '/#' || s.participant_id),
               'response.create', 'response:' || s.id, s.study_id, s.request_id,
               s.source_addr,
               jsonb_build_object('instrument', s.instrument, 'version', s.version,
                                  'week', s.study_week, 'timing', s.timing,
                                  'source', s.source)
          FROM stored s
         WHERE s.actor IS NOT NULL OR s.given IS NULL)
    SELECT s.k, true, s.study_week, s.timing, s.received_at, s.participant_id, s.study_id
      FROM stored s;
END $$;
