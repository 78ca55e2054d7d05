-- 004_collector.sql — the collector's schema logic: study weeks counted in
-- the study's time zone, the status of every scheduled questionnaire derived
-- from the schedule, the enrolment, the withdrawal and the responses (never
-- stored, so it can never disagree with them), and the one function that
-- places a scored response on its study week and stores it exactly once.
-- Described in docs/schema.md and docs/collector.md.

-- ------------------------------------------------------------ study weeks

-- Study week `week` of a participant enrolled at `enrolled` starts at the same
-- wall-clock time 7 × week days later in the study's zone `tz`, so a week
-- spanning a daylight-saving change still starts at the participant's hour.
CREATE FUNCTION attune_week_start(enrolled timestamptz, tz text, week integer)
RETURNS timestamptz LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN ((enrolled AT TIME ZONE tz) + make_interval(days => 7 * week)) AT TIME ZONE tz;

-- The end (exclusive) of the completion window of a questionnaire due at
-- `week`: `window_days` local days after the week starts.
CREATE FUNCTION attune_window_close(enrolled timestamptz, tz text, week integer, window_days integer)
RETURNS timestamptz LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN ((enrolled AT TIME ZONE tz) + make_interval(days => 7 * week + window_days)) AT TIME ZONE tz;

-- The study week `at` falls in (negative before enrolment), counted in local
-- days of the study's zone.
CREATE FUNCTION attune_study_week(enrolled timestamptz, tz text, at timestamptz)
RETURNS integer LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN floor(extract(epoch FROM (at AT TIME ZONE tz) - (enrolled AT TIME ZONE tz)) / 604800)::integer;

-- ------------------------------------------------ questionnaire statuses

-- Every scheduled questionnaire of every participant with its window and its
-- status as of `asof`:
--   completed  answered inside its window
--   late       answered after its window closed (the study allows late answers)
--   upcoming   its window has not opened yet
--   open       its window is open and it has no answer
--   missed     its window closed without an answer
--   withdrawn  the participant withdrew before its window closed, without
--              answering: it is no longer expected, so never counted missed
-- Dashboards and analyses read this (through participant_schedule, below)
-- rather than guessing attrition from absent rows.
CREATE FUNCTION attune_schedule_status(asof timestamptz)
RETURNS TABLE (participant_id bigint, study_id text, code text, arm_id text,
               instrument_id text, instrument_version text, week integer,
               opens_at timestamptz, closes_at timestamptz,
               response_id uuid, completed_at timestamptz, status text)
LANGUAGE sql STABLE AS $$
    SELECT p.id, p.study_id, p.code, p.arm_id, sc.instrument_id, sc.instrument_version, sc.week,
           attune_week_start(p.enrolled_at, s.timezone, sc.week),
           attune_window_close(p.enrolled_at, s.timezone, sc.week, sc.window_days),
           r.id, r.completed_at,
           CASE
               WHEN r.id IS NOT NULL THEN CASE r.timing WHEN 'late' THEN 'late' ELSE 'completed' END
               WHEN p.withdrawn_at IS NOT NULL
                    AND p.withdrawn_at < attune_window_close(p.enrolled_at, s.timezone, sc.week,
                                                             sc.window_days) THEN 'withdrawn'
               WHEN asof < attune_week_start(p.enrolled_at, s.timezone, sc.week) THEN 'upcoming'
               WHEN asof < attune_window_close(p.enrolled_at, s.timezone, sc.week,
                                               sc.window_days) THEN 'open'
               ELSE 'missed'
           END
      FROM participants p
      JOIN studies s ON s.id = p.study_id
      JOIN schedule sc ON sc.study_id = p.study_id
      LEFT JOIN responses r ON r.participant_id = p.id AND r.instrument_id = sc.instrument_id
                           AND r.study_week = sc.week
$$;

-- The statuses as of now.
CREATE VIEW participant_schedule AS SELECT * FROM attune_schedule_status(now());

-- --------------------------------------------------------------- responses

-- Where a response completed at `completed` would go, for one participant
-- and instrument: the participant's status, whether `token` (the hash of the
-- request's token, or NULL when already checked) is still live, the study's
-- late rule, how many weeks schedule the instrument and whether all at
-- `version`, the week whose window holds the time (on_time), the latest week
-- whose window has opened (latest), and when the next one opens. One row, or
-- none for an unknown participant. Shared by attune_response_store() and the
-- collector's batched insert (collector/batch.c), so both place alike.
CREATE FUNCTION attune_placement(participant bigint, instrument text, version text,
                                 completed timestamptz, token bytea)
RETURNS TABLE (status text, token_ok boolean, allow_late boolean, n bigint, version_ok boolean,
               on_time integer, latest integer, next_open timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT p.status,
           token IS NULL OR EXISTS (SELECT 1 FROM participant_tokens t
                                     WHERE t.token_hash = token AND t.participant_id = p.id
                                       AND t.revoked_at IS NULL),
           s.allow_late,
           count(sc.week),
           coalesce(bool_and(sc.instrument_version = version), true),
           max(sc.week) FILTER (WHERE w.opens <= completed AND completed < w.closes),
           max(sc.week) FILTER (WHERE w.opens <= completed),
           min(w.opens) FILTER (WHERE w.opens > completed)
      FROM participants p
      JOIN studies s ON s.id = p.study_id
      LEFT JOIN schedule sc ON sc.study_id = p.study_id AND sc.instrument_id = instrument
      LEFT JOIN LATERAL (
          SELECT attune_week_start(p.enrolled_at, s.timezone, sc.week) AS opens,
                 attune_window_close(p.enrolled_at, s.timezone, sc.week, sc.window_days) AS closes
      ) w ON true
     WHERE p.id = participant
     GROUP BY p.id, s.allow_late
$$;

-- Places a scored response on its study week and stores it with its item
-- answers, exactly once. Called by the collector (collector/responses.c) for
-- the API, the web form, FHIR and the demo; the scores come from the
-- instruments engine in C, the placement from here, so that the study's time
-- zone arithmetic is PostgreSQL's. Runs as one statement: atomic on its own.
--
-- p_token, when not NULL, is the hash of a token to check again, atomically
-- with the write (the access module checked it when the request came in).
-- With p_actor, a response.create row goes into audit_log in the same
-- transaction (the columns audit_append() fills; ids only).
--
-- Placement: the window that holds completed_at gives the week (on time);
-- otherwise, when the study allows late answers, the latest week whose window
-- has opened (late), if that week is still unanswered. The outcome says what
-- happened:
--   created        stored
--   duplicate      the same id with the same content was stored before: nothing new
--   id-conflict    the id is taken by different content (or by someone else)
--   week-taken     another response already answers this instrument and week (its id returned)
--   not-scheduled  the study does not schedule this instrument (version mismatch included)
--   not-open       no window of the instrument has opened yet (detail: when the next opens)
--   not-due        the latest opened week was answered after its window; nothing is due
--   window-closed  the window closed and the study does not accept late answers
--   withdrawn      the participant has withdrawn
--   revoked        the token is no longer valid
CREATE FUNCTION attune_response_store(
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
                                    items_missing, prorated)
        VALUES (p_id, p_participant, p_instrument, p_version, v_week, p_completed, v_timing,
                p_source, p_hash, p_total, coalesce(p_subscales, '{}'), p_severity,
                coalesce(p_flags, '{}'), p_answered, p_missing, p_prorated)
        ON CONFLICT DO NOTHING
        RETURNING r.received_at INTO v_received;
        IF FOUND THEN
            INSERT INTO response_items (response_id, item_id, value)
            SELECT p_id, i.item, i.value FROM unnest(p_items, p_values) AS i(item, value);
            IF p_actor IS NOT NULL THEN
                -- The audit row commits with the response (as audit_append()
                -- writes it; ids only, never answers or scores).
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

    -- Not stored. A retry of a stored response is recognised first, whatever
    -- else has changed since (a window that closed in the meantime, say).
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
    -- The week is taken by another response (or, for a late answer, the
    -- latest opened week was answered: nothing is due).
    SELECT * INTO old FROM responses r
     WHERE r.participant_id = p_participant AND r.instrument_id = p_instrument
       AND r.study_week = v_week;
    RETURN QUERY SELECT CASE v_timing WHEN 'late' THEN 'not-due' ELSE 'week-taken' END,
                        old.id, v_week, NULL::text, NULL::timestamptz, NULL::text;
END $$;

-- Many scored responses from different requests, stored by one statement in
-- one transaction (the collector's group commit, collector/batch.c). Each
-- element of `batch` is one response ({"k", "id", "participant",
-- "instrument", "version", "completed", "source", "hash" (hex), "total",
-- "subscales", "severity", "flags", "answered", "missing", "prorated",
-- "items", "vals", "token" (hex or null), "study", "actor", "request_id",
-- "source_addr"}). Each is placed by attune_placement() — as
-- attune_response_store() places — and inserted with its item answers and,
-- given an actor, its response.create audit row (the columns audit_append()
-- fills; ids only) when it can go in as new. Returns one row per element:
-- whether it was stored, and where. One not stored (a retry, a conflict, a
-- refusal) goes on to attune_response_store(), which says why. The elements'
-- ids must be distinct (the collector never batches one id twice).
--
-- plpgsql so that the plan is made once per connection (a generic plan: the
-- statement's cost is in its inserts, not in the values of one batch).
CREATE FUNCTION attune_response_store_batch(batch jsonb)
RETURNS TABLE (k integer, stored boolean, study_week integer, timing text,
               received_at timestamptz)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT * FROM jsonb_to_recordset(batch) AS x(
            k integer, id uuid, participant bigint, instrument text, version text,
            completed timestamptz, source text, hash text, total float8, subscales jsonb,
            severity text, flags text[], answered integer, missing integer, prorated boolean,
            items text[], vals float8[], token text, study text, actor text, request_id text,
            source_addr inet)),
    placed AS (
        SELECT i.*, coalesce(pl.on_time, pl.latest) AS week,
               CASE WHEN pl.on_time IS NOT NULL THEN 'on_time' ELSE 'late' END AS wtiming
          FROM input i
         CROSS JOIN LATERAL attune_placement(i.participant, i.instrument, i.version,
                                             i.completed, decode(i.token, 'hex')) pl
         WHERE pl.status <> 'withdrawn' AND pl.token_ok AND pl.n > 0 AND pl.version_ok
           AND pl.latest IS NOT NULL AND (pl.on_time IS NOT NULL OR pl.allow_late)),
    ins AS (
        INSERT INTO responses AS r (id, participant_id, instrument_id, instrument_version,
                                    study_week, completed_at, timing, source, content_hash,
                                    total_score, subscale_scores, severity, flags, items_answered,
                                    items_missing, prorated)
        SELECT p.id, p.participant, p.instrument, p.version, p.week, p.completed, p.wtiming,
               p.source, decode(p.hash, 'hex'), p.total, coalesce(p.subscales, '{}'),
               p.severity, coalesce(p.flags, '{}'), p.answered, p.missing, p.prorated
          FROM placed p
        ON CONFLICT DO NOTHING
        RETURNING r.id, r.study_week, r.timing, r.received_at),
    items AS (
        INSERT INTO response_items (response_id, item_id, value)
        SELECT ins.id, u.item, u.value
          FROM ins JOIN input i ON i.id = ins.id
         CROSS JOIN LATERAL unnest(i.items, i.vals) AS u(item, value)),
    aud AS (
        INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id,
                               source_addr, detail)
        SELECT 'participant', i.actor, 'response.create', 'response:' || ins.id, i.study,
               i.request_id, i.source_addr,
               jsonb_build_object('instrument', i.instrument, 'version', i.version,
                                  'week', ins.study_week, 'timing', ins.timing,
                                  'source', i.source)
          FROM ins JOIN input i ON i.id = ins.id
         WHERE i.actor IS NOT NULL)
    SELECT i.k, ins.id IS NOT NULL, ins.study_week, ins.timing, ins.received_at
      FROM input i LEFT JOIN ins ON ins.id = i.id
     ORDER BY i.k;
END $$;
