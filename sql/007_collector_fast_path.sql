-- 007_collector_fast_path.sql — a questionnaire's item answers move into
-- its response row, and the collector's store functions write them there.
-- Described in docs/schema.md (responses, response_items) and
-- docs/collector.md (group commit).
--
-- Why: a response was one row in responses plus one row per item answer in
-- response_items (7–10 for the common instruments), each with its primary key
-- entry and a foreign-key check against the response. Those rows were most of
-- what PostgreSQL did for a submission (measured: half the CPU time and more
-- than half the WAL of the collector's batch statement), for answers that
-- are written once, with their response, and never changed on their own.
-- Now they are two parallel arrays in the response row, in the definition's
-- item order, and response_items is a view of them with the same columns,
-- so every reader (datasets/ds_items.c, analyze reliability, the dashboards'
-- exports, erasure) reads and deletes as before.

-- ------------------------------------------------------- the answers

ALTER TABLE responses
    ADD COLUMN item_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN item_values double precision[] NOT NULL DEFAULT '{}';

-- The answers stored so far, in item order (numbered ids in their numbers'
-- order: gad7_2 before gad7_10).
UPDATE responses r
   SET item_ids = a.ids, item_values = a.vals
  FROM (SELECT response_id, array_agg(item_id ORDER BY length(item_id), item_id) AS ids,
               array_agg(value ORDER BY length(item_id), item_id) AS vals
          FROM response_items GROUP BY response_id) a
 WHERE a.response_id = r.id;

-- What the arrays may hold: as many ids as values; ids in the item id form
-- (as response_items.item_id was: a letter or digit, then letters, digits,
-- `_`, `.`, `-`, at most 64 in all); values that are numbers (no NULL, no
-- NaN). Each id once: the collector writes the ids of the definition's items
-- (the instruments engine refuses a definition that repeats one), and the
-- view's trigger below refuses a repeated one; a CHECK that looked for
-- repeats needs a subquery per row, which measured 15 µs per response against
-- about 1.5 µs for these.
ALTER TABLE responses ADD CONSTRAINT responses_items_valid CHECK (
    coalesce(array_ndims(item_ids), 1) = 1 AND coalesce(array_ndims(item_values), 1) = 1
    AND cardinality(item_ids) = cardinality(item_values)
    AND array_position(item_ids, NULL) IS NULL
    AND array_position(item_values, NULL) IS NULL
    AND 'NaN'::double precision <> ALL (item_values)
    AND (cardinality(item_ids) = 0
         OR (array_to_string(item_ids, ',')
                 ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*(,[A-Za-z0-9][A-Za-z0-9_.-]*)*$'
             AND array_to_string(item_ids, ',') !~ '[^,]{65}')));

DROP TABLE response_items;

-- One row per item answer, as the table was: (response_id, item_id) is
-- unique, the answers of a response come in item order.
CREATE VIEW response_items AS
SELECT r.id AS response_id, i.item_id, i.value
  FROM responses r
 CROSS JOIN LATERAL unnest(r.item_ids, r.item_values) AS i(item_id, value);

-- Writing through the view, for tools and tests that add or remove single
-- answers (the collector writes the arrays directly). An answer needs its
-- response (23503, as the foreign key was) and is given once per item
-- (23505, as the primary key was); deleting one takes it out of the arrays.
-- Changing an answer in place is not possible: there is no UPDATE rule.
CREATE FUNCTION attune_response_items_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pos integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE responses r
           SET item_ids = r.item_ids || NEW.item_id, item_values = r.item_values || NEW.value
         WHERE r.id = NEW.response_id AND NOT (NEW.item_id = ANY (r.item_ids));
        IF NOT FOUND THEN
            IF EXISTS (SELECT 1 FROM responses r WHERE r.id = NEW.response_id) THEN
                RAISE EXCEPTION 'duplicate key value violates unique constraint "response_items_pkey"'
                    USING ERRCODE = 'unique_violation',
                          DETAIL = format('Key (response_id, item_id)=(%s, %s) already exists.',
                                          NEW.response_id, NEW.item_id);
            END IF;
            RAISE EXCEPTION 'insert into response_items violates its foreign key to responses'
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('Key (response_id)=(%s) is not present in table "responses".',
                                      NEW.response_id);
        END IF;
        RETURN NEW;
    END IF;
    SELECT array_position(r.item_ids, OLD.item_id) INTO pos FROM responses r
     WHERE r.id = OLD.response_id;
    IF pos IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE responses r
       SET item_ids = r.item_ids[:pos - 1] || r.item_ids[pos + 1:],
           item_values = r.item_values[:pos - 1] || r.item_values[pos + 1:]
     WHERE r.id = OLD.response_id;
    RETURN OLD;
END $$;

CREATE TRIGGER response_items_write INSTEAD OF INSERT OR DELETE ON response_items
    FOR EACH ROW EXECUTE FUNCTION attune_response_items_write();

-- ------------------------------------------------ the store functions

-- As in 004 (the comments there hold), with the item answers written into
-- the response row.
CREATE OR REPLACE FUNCTION attune_response_store(
    p_id uuid, p_participant bigint, p_instrument text, p_version text,
    p_completed timestamptz, p_source text, p_hash bytea,
    p_total double precision, p_subscales jsonb, p_severity text, p_flags text[],
    p_answered integer, p_missing integer, p_prorated boolean,
    p_items text[], p_values double precision[], p_token bytea DEFAULT NULL,
    p_actor text DEFAULT NULL, p_request_id text DEFAULT NULL, p_source_addr inet DEFAULT NULL)
RETURNS TABLE (outcome text, response_id uuid, study_week integer, timing text,
               received_at timestamptz, detail text)
LANGUAGE plpgsql AS $$
DECLARE
    pl record;
    old record;
    v_week integer;
    v_timing text;
    v_received timestamptz;
    v_fail text;
BEGIN
    SELECT * INTO pl FROM attune_placement(p_participant, p_instrument, p_version, p_completed,
                                           p_token);
    IF NOT FOUND OR pl.status = 'withdrawn' THEN
        RETURN QUERY SELECT 'withdrawn', NULL::uuid, NULL::integer, NULL::text,
                            NULL::timestamptz, NULL::text;
        RETURN;
    END IF;
    IF NOT pl.token_ok THEN
        RETURN QUERY SELECT 'revoked', NULL::uuid, NULL::integer, NULL::text,
                            NULL::timestamptz, NULL::text;
        RETURN;
    END IF;

    IF pl.n = 0 OR NOT pl.version_ok THEN
        v_fail := 'not-scheduled';
    ELSIF pl.latest IS NULL THEN
        v_fail := 'not-open';
    ELSIF pl.on_time IS NOT NULL THEN
        v_week := pl.on_time;
        v_timing := 'on_time';
    ELSIF pl.allow_late THEN
        v_week := pl.latest;
        v_timing := 'late';
    ELSE
        v_fail := 'window-closed';
    END IF;

    IF v_fail IS NULL THEN
        INSERT INTO responses AS r (id, participant_id, instrument_id, instrument_version,
                                    study_week, completed_at, timing, source, content_hash,
                                    total_score, subscale_scores, severity, flags, items_answered,
                                    items_missing, prorated, item_ids, item_values)
        VALUES (p_id, p_participant, p_instrument, p_version, v_week, p_completed, v_timing,
                p_source, p_hash, p_total, coalesce(p_subscales, '{}'), p_severity,
                coalesce(p_flags, '{}'), p_answered, p_missing, p_prorated,
                coalesce(p_items, '{}'), coalesce(p_values, '{}'))
        ON CONFLICT DO NOTHING
        RETURNING r.received_at INTO v_received;
        IF FOUND THEN
            IF p_actor IS NOT NULL THEN
                INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id,
                                       source_addr, detail)
                SELECT 'participant', p_actor, 'response.create', 'response:' || p_id,
                       p.study_id, p_request_id, p_source_addr,
                       jsonb_build_object('instrument', p_instrument, 'version', p_version,
                                          'week', v_week, 'timing', v_timing,
                                          'source', p_source)
                  FROM participants p WHERE p.id = p_participant;
            END IF;
            RETURN QUERY SELECT 'created', p_id, v_week, v_timing, v_received, NULL::text;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO old FROM responses r WHERE r.id = p_id;
    IF FOUND THEN
        IF old.participant_id = p_participant AND old.content_hash = p_hash THEN
            RETURN QUERY SELECT 'duplicate', old.id, old.study_week, old.timing, old.received_at,
                                NULL::text;
        ELSE
            RETURN QUERY SELECT 'id-conflict', p_id, NULL::integer, NULL::text,
                                NULL::timestamptz, NULL::text;
        END IF;
        RETURN;
    END IF;
    IF v_fail IS NOT NULL THEN
        RETURN QUERY SELECT v_fail, NULL::uuid, pl.latest, NULL::text, NULL::timestamptz,
                            CASE WHEN v_fail = 'not-open' THEN
                                to_char(pl.next_open AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS"Z"') END;
        RETURN;
    END IF;
    SELECT * INTO old FROM responses r
     WHERE r.participant_id = p_participant AND r.instrument_id = p_instrument
       AND r.study_week = v_week;
    RETURN QUERY SELECT CASE v_timing WHEN 'late' THEN 'not-due' ELSE 'week-taken' END,
                        old.id, v_week, NULL::text, NULL::timestamptz, NULL::text;
END $$;

-- The group commit's statement (collector/batch.c), as in 004 with two
-- changes. The item answers go into the response row. And an element may
-- come with a token but no participant ("participant" null): the collector
-- has not looked the token up (ACC_DEFERRED in access/access.h), and this
-- statement does, atomically with the write. Such an element is stored only
-- for a live token (revoked_at NULL) of a participant who has not withdrawn
-- (erasure withdraws and revokes), whose study schedules the instrument at
-- that version; its audit row names the participant found, as
-- audit_append() would (actor "<study>/#<id>"). Anything else is not stored
-- and goes back to the collector, which looks the token up (refusing as the
-- access module refuses) and takes the one-by-one path. Each returned row
-- says, for a stored element, whose it was (participant, study).
--
-- Returns one row per element, as before, with the participant and study of
-- the stored ones; the return type changes, hence DROP and CREATE.
DROP FUNCTION attune_response_store_batch(jsonb);

CREATE FUNCTION attune_response_store_batch(batch jsonb)
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
    who AS (
        SELECT i.*, coalesce(i.participant, t.participant_id) AS pid
          FROM input i
          LEFT JOIN participant_tokens t
                 ON i.participant IS NULL AND t.token_hash = i.token_hash
                AND t.revoked_at IS NULL),
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
          FROM ins JOIN participants pa ON pa.id = ins.participant_id),
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
