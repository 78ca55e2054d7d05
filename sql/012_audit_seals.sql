-- 012_audit_seals.sql — sealing appends links to a table of its own instead
-- of updating the audit rows.
--
-- Until now the sealer filled seal_seq, prev_hash and row_hash of each
-- audit row with an UPDATE. Every audit row was therefore written twice:
-- the sealed version a new tuple (seal_seq is indexed, so never a HOT
-- update) with an entry in each of the table's five indexes, a PL/pgSQL
-- trigger call, and a dead tuple for vacuum. Measured under the collector
-- benchmark, the sealing cost about a tenth of the submissions per second
-- (bench/README.md). Now an audit row is written once and never changes;
-- its link of the chain is one row of audit_seals, inserted by the sealer.
-- The chain's definition is unchanged (access/audit.h):
--
--     row_hash = SHA-256(prev_hash || seal_seq as 8 bytes big-endian
--                        || attune_audit_canonical(row))
--
-- and links already made move here as they are, so the chain verifies across
-- the change.
--
-- Finding the rows not yet sealed. The partial index "WHERE seal_seq IS NULL"
-- did that; without the columns, the sealer keeps a watermark,
-- audit_seal_head.sealed_through: every audit row with an id at or below it
-- is sealed. It looks for unsealed rows above it only (a range of the
-- primary key, each probed in audit_seals). Ids are taken when a row is
-- inserted but become visible at commit, in another order, so the watermark
-- may pass an id only once no transaction can still commit a row with it.
-- The sealer notes the sequence's last value and then every transaction
-- running at that moment (their virtual transaction ids, from pg_locks: a
-- transaction holds its own from its start, so before it takes any id); once
-- none of those is running any more, every id up to the noted value is
-- final, and the watermark moves there when none of those rows is unsealed.

LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE;

-- ------------------------------------------------------------- the links

-- One row per link of the chain, written only by attune_audit_seal().
-- study_id is the sealed row's, kept here for a study's data version
-- (dashboards/version.c: the newest sealed data-changing row of a study).
-- No foreign key to audit_log: its check would lock the audit row (a write
-- to it), and `attune audit verify` names a link whose row is gone anyway.
CREATE TABLE audit_seals (
    seal_seq   bigint PRIMARY KEY CHECK (seal_seq > 0),
    audit_id   bigint NOT NULL UNIQUE,
    study_id   text,
    prev_hash  bytea NOT NULL CHECK (length(prev_hash) = 32),
    row_hash   bytea NOT NULL CHECK (length(row_hash) = 32)
);

CREATE INDEX audit_seals_study ON audit_seals (study_id, seal_seq) WHERE study_id IS NOT NULL;

INSERT INTO audit_seals (seal_seq, audit_id, study_id, prev_hash, row_hash)
SELECT seal_seq, id, study_id, prev_hash, row_hash FROM audit_log WHERE seal_seq IS NOT NULL;

CREATE TRIGGER audit_seals_no_update BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION attune_audit_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION attune_audit_append_only();

-- ------------------------------------------------------------- the watermark

-- sealed_through: every audit row with id <= it is sealed. pending_through
-- and pending_vxids: the sequence's last value noted by a sealer and the
-- transactions that were running then; the watermark may move to
-- pending_through once none of them runs any more.
ALTER TABLE audit_seal_head
    ADD COLUMN sealed_through bigint NOT NULL DEFAULT 0 CHECK (sealed_through >= 0),
    ADD COLUMN pending_through bigint,
    ADD COLUMN pending_vxids text[];

-- The table is locked: no transaction can be inserting, so every row is
-- final and the watermark starts below the first unsealed row.
UPDATE audit_seal_head
   SET sealed_through = coalesce((SELECT min(id) - 1 FROM audit_log WHERE seal_seq IS NULL),
                                 (SELECT max(id) FROM audit_log), 0);

-- ----------------------------------------------------- the rows lose the columns

-- Dropping the columns drops the indexes and the check that used them
-- (audit_log_unsealed, audit_log_seal_seq_key, audit_log_study_seal,
-- audit_log_seal_complete, the two length checks): an insert into audit_log
-- now pays for three indexes and seven checks.
ALTER TABLE audit_log DROP COLUMN seal_seq, DROP COLUMN prev_hash, DROP COLUMN row_hash;

-- Append-only, without exception now: nothing changes a row of audit_log or
-- audit_seals, for any role, the owner included.
CREATE OR REPLACE FUNCTION attune_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('%s on %s is not allowed.', TG_OP, TG_TABLE_NAME);
END $$;

-- ------------------------------------------------------------- sealing

-- The watermark, for the sealer's search (SECURITY DEFINER: the application
-- role cannot read audit_seal_head).
CREATE FUNCTION attune_audit_sealed_through() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce((SELECT h.sealed_through FROM audit_seal_head h), 0)
$$;

-- The next audit rows to seal, in id order: above the watermark and above
-- `after` (the last row a sealer sealed in this round, so that its batches
-- do not search the same ids again), without a link. Each row comes with
-- its canonical text. A row skipped because it committed behind `after` is
-- above the watermark still, and the next round finds it.
CREATE FUNCTION attune_audit_unsealed(after bigint, max_rows integer)
RETURNS TABLE (id bigint, canonical text)
LANGUAGE sql STABLE AS $$
    SELECT a.id, attune_audit_canonical(a)
      FROM audit_log a
     WHERE a.id > greatest(after, attune_audit_sealed_through())
       AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.audit_id = a.id)
     ORDER BY a.id
     LIMIT max_rows
$$;

-- How many audit rows have no link (for attune audit verify and tests; reads
-- the whole log).
CREATE FUNCTION attune_audit_unsealed_count() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM audit_log a
     WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.audit_id = a.id)
$$;

-- Seals rows: appends their links (computed by the caller, attune's
-- audit_seal()) and moves the head. Refuses links that do not continue the
-- chain, and rows missing or already sealed, so two sealers cannot
-- interleave. SECURITY DEFINER: the application role may run this but
-- cannot write audit_seals or the head. A forged hash passed here is caught
-- by attune audit verify, which recomputes every link.
DROP FUNCTION attune_audit_seal(bigint[], bigint[], bytea[], bytea[]);
CREATE FUNCTION attune_audit_seal(ids bigint[], seqs bigint[], prevs bytea[], hashes bytea[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n integer := coalesce(cardinality(ids), 0);
    head_seq bigint;
    head_hash bytea;
    inserted integer;
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    IF cardinality(seqs) <> n OR cardinality(prevs) <> n OR cardinality(hashes) <> n THEN
        RAISE EXCEPTION 'audit seal arrays differ in length';
    END IF;
    SELECT h.seal_seq, h.row_hash INTO head_seq, head_hash FROM audit_seal_head h FOR UPDATE;
    head_seq := coalesce(head_seq, 0);
    head_hash := coalesce(head_hash, ('\x' || repeat('00', 32))::bytea);
    FOR i IN 1 .. n LOOP
        IF seqs[i] <> head_seq + i OR prevs[i] <> head_hash THEN
            RAISE EXCEPTION 'audit seal does not continue the chain'
                USING ERRCODE = 'serialization_failure',
                      DETAIL = format('The chain ends at seal %s; link %s was offered.',
                                      head_seq + i - 1, seqs[i]);
        END IF;
        head_hash := hashes[i];
    END LOOP;
    -- A row sealed already: audit_seals' unique audit_id refuses it.
    INSERT INTO audit_seals (seal_seq, audit_id, study_id, prev_hash, row_hash)
    SELECT v.seq, a.id, a.study_id, v.prev, v.h
      FROM unnest(ids, seqs, prevs, hashes) AS v(id, seq, prev, h)
      JOIN audit_log a ON a.id = v.id;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted <> n THEN
        RAISE EXCEPTION 'audit rows offered for sealing are missing'
            USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO audit_seal_head (singleton, seal_seq, row_hash)
         VALUES (true, seqs[n], hashes[n])
    ON CONFLICT (singleton) DO UPDATE
        SET seal_seq = excluded.seal_seq, row_hash = excluded.row_hash, sealed_at = now();
    RETURN n;
END $$;

-- Moves the watermark when it can; returns it. Called by the sealer after
-- each round, in a transaction of its own.
--
-- The steps are separate statements on purpose: under READ COMMITTED each
-- takes a new snapshot, so a transaction found ended in pg_locks is visible
-- to the search that follows. Under a stricter isolation level the snapshot
-- is the transaction's, and the watermark stays where it is.
CREATE FUNCTION attune_audit_advance() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head audit_seal_head;
    still_running boolean;
    unsealed boolean;
    mark bigint;
BEGIN
    SELECT * INTO head FROM audit_seal_head h FOR UPDATE;
    IF head.singleton IS NULL THEN
        RETURN 0;  -- before the first link the search starts at zero anyway
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN head.sealed_through;
    END IF;
    IF head.pending_through IS NOT NULL THEN
        SELECT EXISTS (SELECT 1 FROM pg_locks l
                        WHERE l.locktype = 'virtualxid' AND l.virtualxid = ANY (head.pending_vxids))
          INTO still_running;
        IF still_running THEN
            RETURN head.sealed_through;
        END IF;
        SELECT EXISTS (SELECT 1 FROM audit_log a
                        WHERE a.id > head.sealed_through AND a.id <= head.pending_through
                          AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.audit_id = a.id))
          INTO unsealed;
        IF unsealed THEN
            RETURN head.sealed_through;  -- the next round seals them
        END IF;
        head.sealed_through := greatest(head.sealed_through, head.pending_through);
        head.pending_through := NULL;
        head.pending_vxids := NULL;
    END IF;
    -- A new mark: the last id taken so far, then which client transactions
    -- are running now (other processes never write audit rows, and a long
    -- autovacuum must not hold the watermark back).
    mark := coalesce(pg_sequence_last_value('audit_log_id_seq'), 0);
    IF mark > head.sealed_through THEN
        head.pending_through := mark;
        head.pending_vxids := ARRAY(
            SELECT l.virtualxid FROM pg_locks l
             WHERE l.locktype = 'virtualxid' AND l.granted
               AND l.pid IS DISTINCT FROM pg_backend_pid()
               AND (l.pid IS NULL OR l.pid IN (SELECT s.pid FROM pg_stat_activity s
                                                WHERE s.backend_type = 'client backend')));
    END IF;
    UPDATE audit_seal_head
       SET sealed_through = head.sealed_through, pending_through = head.pending_through,
           pending_vxids = head.pending_vxids
     WHERE (sealed_through, pending_through, pending_vxids)
           IS DISTINCT FROM (head.sealed_through, head.pending_through, head.pending_vxids);
    RETURN head.sealed_through;
END $$;

-- ------------------------------------------------------------- privileges

REVOKE ALL ON audit_seals FROM attune_app;
GRANT SELECT ON audit_seals TO attune_app;
REVOKE EXECUTE ON FUNCTION attune_audit_seal(bigint[], bigint[], bytea[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attune_audit_seal(bigint[], bigint[], bytea[], bytea[]) TO attune_app;
REVOKE EXECUTE ON FUNCTION attune_audit_sealed_through() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attune_audit_sealed_through() TO attune_app;
REVOKE EXECUTE ON FUNCTION attune_audit_advance() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attune_audit_advance() TO attune_app;
