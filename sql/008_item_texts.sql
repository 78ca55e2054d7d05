-- 008_item_texts.sql — the item texts a study supplies for an instrument
-- shipped as a scoring key without them (ECR-R, PSS-10), so that
-- `attune serve` can show the participant form wherever the protocol file
-- was. Described in docs/schema.md and docs/instruments.md.

-- One row per study, instrument and version: the texts document as the
-- instruments engine checked it (ins_texts_from_json), and the SHA-256 of its
-- canonical JSON. Written by the command line (`attune study create`,
-- `attune study texts`) as the owner; `attune serve` only reads it. No
-- participant data: an erasure leaves it alone.
CREATE TABLE item_texts (
    study_id           attune_key NOT NULL REFERENCES studies ON DELETE CASCADE,
    instrument_id      attune_key NOT NULL,
    instrument_version text NOT NULL,
    language           text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9-]*)?$'),
    permission         text NOT NULL CHECK (length(btrim(permission)) BETWEEN 1 AND 2000),
    texts              jsonb NOT NULL CHECK (jsonb_typeof(texts) = 'object'
                                             AND jsonb_typeof(texts -> 'items') = 'object'),
    checksum           text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    supplied_by        text NOT NULL CHECK (length(supplied_by) BETWEEN 1 AND 200),
    supplied_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study_id, instrument_id, instrument_version),
    FOREIGN KEY (instrument_id, instrument_version) REFERENCES instruments,
    CHECK (texts ->> 'instrument' = instrument_id AND texts ->> 'version' = instrument_version)
);

-- Wording that participants have answered is part of their data: once the
-- study has a response to that instrument version, its texts may be neither
-- changed nor removed. (The command line refuses first, with a hint; this is
-- the same rule where no client can skip it.) Removing the study itself is
-- left to the foreign keys: a study with responses has participants, which
-- cannot go.
CREATE FUNCTION attune_item_texts_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.checksum = OLD.checksum
       AND NEW.study_id = OLD.study_id AND NEW.instrument_id = OLD.instrument_id
       AND NEW.instrument_version = OLD.instrument_version THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM responses r JOIN participants p ON p.id = r.participant_id
                WHERE p.study_id = OLD.study_id AND r.instrument_id = OLD.instrument_id
                  AND r.instrument_version = OLD.instrument_version) THEN
        RAISE EXCEPTION 'item texts of "%" version "%" in study "%" have responses',
                OLD.instrument_id, OLD.instrument_version, OLD.study_id
            USING ERRCODE = 'integrity_constraint_violation',
                  DETAIL = format('The stored texts have checksum %s; participants answered them.',
                                  OLD.checksum);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER item_texts_fixed_once_answered BEFORE UPDATE OR DELETE ON item_texts
    FOR EACH ROW EXECUTE FUNCTION attune_item_texts_guard();

-- The service reads the texts; only the command line writes them (the
-- default privileges of 003_access.sql would grant more).
REVOKE ALL ON item_texts FROM attune_app;
GRANT SELECT ON item_texts TO attune_app;
