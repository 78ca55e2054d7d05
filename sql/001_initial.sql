-- 001_initial.sql — Attune's first schema, laid out for the whole mission:
-- studies and their protocol, participants and their access tokens,
-- questionnaire responses with item answers and scores, high-volume app
-- events partitioned by month, analysis runs for provenance, and an
-- append-only audit log. Every table is described in docs/schema.md.
--
-- Conventions: identifiers people type (study, arm, instrument ids) are short
-- lower-case text keys; internal rows use bigint identities; client-chosen ids
-- (responses, events) are uuid and serve as idempotency keys. Times are
-- timestamptz. jsonb only where the shape is truly open.

-- A time zone name PostgreSQL knows. IMMUTABLE so it can back a CHECK; the
-- time zone database changes rarely and never drops names.
CREATE FUNCTION attune_is_timezone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    PERFORM now() AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END $$;

CREATE DOMAIN attune_key AS text
    CHECK (VALUE ~ '^[a-z0-9][a-z0-9_-]{0,62}$');

-- ---------------------------------------------------------------- studies

CREATE TABLE studies (
    id            attune_key PRIMARY KEY,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    weeks         integer NOT NULL DEFAULT 8 CHECK (weeks BETWEEN 1 AND 104),
    timezone      text NOT NULL DEFAULT 'UTC' CHECK (attune_is_timezone(timezone)),
    allow_late    boolean NOT NULL DEFAULT true,
    support_text  text CHECK (length(support_text) <= 2000),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('draft', 'active', 'closed')),
    protocol      jsonb NOT NULL DEFAULT '{}'   -- the protocol file as given, for provenance
                  CHECK (jsonb_typeof(protocol) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE arms (
    study_id      attune_key NOT NULL REFERENCES studies ON DELETE CASCADE,
    id            attune_key NOT NULL,
    label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    PRIMARY KEY (study_id, id)
);

-- Every instrument definition version the database has seen. A version that
-- has responses cannot change: the checksum pins the definition's text.
CREATE TABLE instruments (
    id            attune_key NOT NULL,
    version       text NOT NULL CHECK (version ~ '^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$'),
    checksum      text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    definition    jsonb NOT NULL CHECK (jsonb_typeof(definition) = 'object'),
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version)
);

-- Which instrument is due at which study week, and for how long it stays open.
CREATE TABLE schedule (
    study_id           attune_key NOT NULL REFERENCES studies ON DELETE CASCADE,
    instrument_id      attune_key NOT NULL,
    instrument_version text NOT NULL,
    week               integer NOT NULL CHECK (week >= 0),
    window_days        integer NOT NULL DEFAULT 7 CHECK (window_days BETWEEN 1 AND 365),
    PRIMARY KEY (study_id, instrument_id, week),
    FOREIGN KEY (instrument_id, instrument_version) REFERENCES instruments
);

-- A scheduled week must lie inside the protocol (week 0 .. weeks).
CREATE FUNCTION attune_schedule_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    SELECT weeks INTO n FROM studies WHERE id = NEW.study_id;
    IF NEW.week > n THEN
        RAISE EXCEPTION 'week % is outside the protocol of study "%"', NEW.week, NEW.study_id
            USING ERRCODE = 'check_violation',
                  DETAIL = format('The study runs from week 0 to week %s.', n);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER schedule_week_in_protocol BEFORE INSERT OR UPDATE ON schedule
    FOR EACH ROW EXECUTE FUNCTION attune_schedule_check();

-- ----------------------------------------------------------- participants

CREATE TABLE participants (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id      attune_key NOT NULL REFERENCES studies,
    code          text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9-]{2,31}$'), -- pseudonymous
    arm_id        attune_key NOT NULL,
    enrolled_at   timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'withdrawn', 'completed')),
    withdrawn_at  timestamptz,
    erased_at     timestamptz,      -- set when the participant's data was erased
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (study_id, code),
    FOREIGN KEY (study_id, arm_id) REFERENCES arms,
    CHECK ((status = 'withdrawn') = (withdrawn_at IS NOT NULL)),
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= enrolled_at),
    CHECK (erased_at IS NULL OR status = 'withdrawn')
);

CREATE INDEX participants_study_arm ON participants (study_id, arm_id);

-- Access tokens are random (at least 128 bits) and shown once; only their
-- hash is kept. A token is revoked, never deleted, so a reissue is traceable.
CREATE TABLE participant_tokens (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id bigint NOT NULL REFERENCES participants ON DELETE CASCADE,
    token_hash     bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);

CREATE INDEX participant_tokens_participant ON participant_tokens (participant_id);

-- -------------------------------------------------------------- responses

-- One row per submitted questionnaire. `id` is chosen by the client and makes
-- retries idempotent; `content_hash` tells a retry (same content) from a
-- conflicting reuse of the id. A participant answers an instrument at most
-- once per study week.
CREATE TABLE responses (
    id                 uuid PRIMARY KEY,
    participant_id     bigint NOT NULL REFERENCES participants,
    instrument_id      attune_key NOT NULL,
    instrument_version text NOT NULL,
    study_week         integer NOT NULL CHECK (study_week >= 0),
    completed_at       timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    timing             text NOT NULL CHECK (timing IN ('on_time', 'late')),
    source             text NOT NULL CHECK (source IN ('api', 'form', 'fhir', 'import', 'demo')),
    content_hash       bytea NOT NULL CHECK (length(content_hash) = 32),
    total_score        double precision,   -- NULL when the missing-item rule voids the form
    subscale_scores    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(subscale_scores) = 'object'),
    severity           text,
    flags              text[] NOT NULL DEFAULT '{}',  -- safety flags raised by the answers
    items_answered     integer NOT NULL CHECK (items_answered >= 0),
    items_missing      integer NOT NULL CHECK (items_missing >= 0),
    prorated           boolean NOT NULL DEFAULT false,
    UNIQUE (participant_id, instrument_id, study_week),
    FOREIGN KEY (instrument_id, instrument_version) REFERENCES instruments,
    CHECK (received_at >= completed_at - interval '1 day')
);

CREATE INDEX responses_instrument_week ON responses (instrument_id, study_week);

-- The answer to each item, as the option value given.
CREATE TABLE response_items (
    response_id   uuid NOT NULL REFERENCES responses ON DELETE CASCADE,
    item_id       text NOT NULL CHECK (item_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    value         double precision NOT NULL CHECK (value = value),  -- rejects NaN
    PRIMARY KEY (response_id, item_id)
);

-- ----------------------------------------------------------------- events

-- The registry of app event types: rows with study_id NULL hold for every
-- study; a study may add its own.
CREATE TABLE event_types (
    study_id      attune_key REFERENCES studies ON DELETE CASCADE,
    type          text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,63}$'),
    description   text NOT NULL,
    UNIQUE NULLS NOT DISTINCT (study_id, type)
);

INSERT INTO event_types (study_id, type, description) VALUES
    (NULL, 'app_open', 'The app came to the foreground.'),
    (NULL, 'session_start', 'A programme session began.'),
    (NULL, 'session_end', 'A programme session ended; duration_s is its length.'),
    (NULL, 'exercise_completed', 'An exercise of the programme was completed.'),
    (NULL, 'breathing_exercise', 'A breathing exercise was done; duration_s is its length.'),
    (NULL, 'grounding_exercise', 'A grounding exercise was done; duration_s is its length.'),
    (NULL, 'trigger_log_entry', 'An entry in the anxiety trigger log.'),
    (NULL, 'journal_entry', 'A journal entry was written.'),
    (NULL, 'chat_message_sent', 'A message was sent in the in-app support chat.'),
    (NULL, 'notification_opened', 'A reminder notification was opened.'),
    (NULL, 'content_viewed', 'A psychoeducation page was viewed; duration_s is the time on it.'),
    (NULL, 'mood_check_in', 'A momentary mood rating was recorded.');

-- App usage events: the high-volume table. Partitioned by month of the event
-- time so that old months can be archived or dropped whole; the primary key
-- (participant_id, at, id) both serves per-participant time ranges and makes
-- a retried upload of the same event a no-op (ON CONFLICT DO NOTHING).
CREATE TABLE events (
    participant_id bigint NOT NULL REFERENCES participants,
    id             uuid NOT NULL,
    type           text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,63}$'),
    at             timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    duration_s     double precision CHECK (duration_s >= 0 AND duration_s <= 86400),
    props          jsonb CHECK (jsonb_typeof(props) = 'object'),
    PRIMARY KEY (participant_id, at, id)
) PARTITION BY RANGE (at);

-- Catches any event whose month has no partition yet, so that no insert fails.
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- Creates the monthly partitions covering [lo, hi), moving any rows that had
-- landed in the default partition. Idempotent; called when participants are
-- enrolled (their study period) and by the server's daily maintenance.
CREATE FUNCTION attune_ensure_event_partitions(lo timestamptz, hi timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m timestamptz := date_trunc('month', lo AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    next_m timestamptz;
    part text;
    created integer := 0;
BEGIN
    IF hi - lo > interval '20 years' THEN
        RAISE EXCEPTION 'partition range too wide: % to %', lo, hi;
    END IF;
    WHILE m < hi LOOP
        next_m := (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
        part := format('events_y%sm%s', to_char(m AT TIME ZONE 'UTC', 'YYYY'),
                       to_char(m AT TIME ZONE 'UTC', 'MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           part);
            EXECUTE format('WITH moved AS (DELETE FROM events_default WHERE at >= $1 AND at < $2 '
                           'RETURNING *) INSERT INTO %I SELECT * FROM moved', part)
                USING m, next_m;
            EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           part, m, next_m);
            created := created + 1;
        END IF;
        m := next_m;
    END LOOP;
    RETURN created;
END $$;

-- ------------------------------------------------------- analysis provenance

-- Every analysis run against the database: what was asked, on exactly which
-- rows (a fingerprint of the input), by which program, and what came out, so
-- that any number on a dashboard or in a paper points to a repeatable run.
CREATE TABLE analysis_runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    study_id          attune_key REFERENCES studies,
    kind              text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    options           jsonb NOT NULL CHECK (jsonb_typeof(options) = 'object'),
    input_fingerprint text NOT NULL CHECK (input_fingerprint ~ '^[0-9a-f]{64}$'),
    instrument_versions text[] NOT NULL DEFAULT '{}',
    program_version   text NOT NULL,
    result            jsonb NOT NULL,
    reproducible      boolean NOT NULL DEFAULT true,  -- false once input data were erased
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text
);

CREATE INDEX analysis_runs_study ON analysis_runs (study_id, created_at DESC);

-- --------------------------------------------------------------- audit log

-- Append-only: who did what to which target, when, from where. Rows are never
-- updated or deleted (the trigger below refuses, for every role that owns the
-- table; the application role additionally lacks the privileges). The hash
-- columns chain each row to the previous one so that an edit made behind the
-- application's back is detectable.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind    text NOT NULL CHECK (actor_kind IN ('system', 'user', 'token', 'participant')),
    actor         text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    action        text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    target        text CHECK (length(target) <= 500),
    study_id      text,
    request_id    text CHECK (length(request_id) <= 64),
    source_addr   inet,
    reason        text CHECK (length(reason) <= 2000),
    detail        jsonb CHECK (jsonb_typeof(detail) = 'object'),
    prev_hash     bytea CHECK (length(prev_hash) = 32),
    row_hash      bytea CHECK (length(row_hash) = 32)
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target) WHERE target IS NOT NULL;

CREATE FUNCTION attune_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('%s on audit_log is not allowed.', TG_OP);
END $$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION attune_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION attune_audit_append_only();
