-- 006_dashboards.sql — what the dashboards keep of their own: who
-- acknowledged a safety flag, and the intake's outcomes (stored, retried,
-- refused and why) counted per study and day; and the indexes that keep the
-- dashboards' cheap questions cheap on a large study. Described in
-- docs/schema.md and docs/dashboards.md.

-- ------------------------------------------------------ safety-flag alerts

-- A response whose answers raised a safety flag (PHQ-9 item 9 above 0, say)
-- is an alert until someone on the study team acknowledges it. One row per
-- acknowledged response; the audit trail holds the same fact
-- (alert.acknowledge) in its append-only chain. The note is the team's own
-- words and goes when the response goes (an erasure deletes the response).
CREATE TABLE alert_acknowledgements (
    response_id      uuid PRIMARY KEY REFERENCES responses ON DELETE CASCADE,
    acknowledged_at  timestamptz NOT NULL DEFAULT now(),
    acknowledged_by  text NOT NULL CHECK (length(acknowledged_by) BETWEEN 1 AND 200),
    note             text CHECK (length(note) <= 2000)
);

-- The dashboards list the flagged responses of a study that nobody has
-- acknowledged: few rows among many, so a partial index finds them without
-- reading every response.
CREATE INDEX responses_flagged ON responses (participant_id) WHERE flags <> '{}';

-- ----------------------------------------------------------- intake counts

-- What happened to the participants' submissions, by study, UTC day, channel
-- and outcome: 'stored', 'retry' (the same submission again, answered 200
-- with nothing new stored), 'duplicate' (events already stored, skipped
-- inside an accepted batch), or the problem code of a refusal
-- ('invalid-submission', 'window-closed', 'invalid-events', ...). `requests`
-- counts HTTP requests, `items` what they carried (events for the events
-- channel, one per questionnaire otherwise). Written by attune serve, which
-- counts in memory and adds its counts here every few seconds
-- (dashboards/intake.c); never participant-level, so erasure leaves it be.
CREATE TABLE intake_outcomes (
    study_id  attune_key NOT NULL REFERENCES studies ON DELETE CASCADE,
    day       date NOT NULL,
    channel   text NOT NULL CHECK (channel IN ('responses', 'events', 'fhir', 'form')),
    outcome   text NOT NULL CHECK (outcome ~ '^[a-z][a-z0-9-]{0,63}$'),
    requests  bigint NOT NULL DEFAULT 0 CHECK (requests >= 0),
    items     bigint NOT NULL DEFAULT 0 CHECK (items >= 0),
    PRIMARY KEY (study_id, day, channel, outcome)
);

-- ------------------------------------------------------- "last change"

-- A study's data version for the dashboards is the newest sealed audit row
-- of a data-changing action on it (dashboards/version.c). Sealing numbers
-- rows in the order they became visible, so unlike the row id it never
-- misses a transaction that committed late. This index answers "the newest
-- sealed row of study S" by one backward index scan.
CREATE INDEX audit_log_study_seal ON audit_log (study_id, seal_seq) WHERE seal_seq IS NOT NULL;

-- ---------------------------------------------------------- cheap lookups

-- The Studies page cites each study's newest run of a kind (its retention,
-- its headline); a live study records a run per data change, so that lookup
-- must not read them all.
CREATE INDEX analysis_runs_study_kind ON analysis_runs (study_id, kind, created_at DESC);

-- The completion grid pages through a study's participants, newest
-- enrolment first.
CREATE INDEX participants_study_enrolled ON participants (study_id, enrolled_at DESC, id DESC);
