-- 010_audit_lighter_writes.sql — two of the audit log's indexes stop costing
-- every write an index entry.
--
-- Every submission, event batch and other write inserts an audit row, so
-- each index on audit_log is paid on the hot path. Two were paid for
-- nothing at insert time:
--
-- * `seal_seq bigint UNIQUE` (003) indexed every new row's NULL, although
--   NULLs never conflict and only sealed rows are ever looked up by seal_seq
--   (the sealer and `attune audit verify` ask for seal_seq > n). A partial
--   unique index over the sealed rows enforces exactly the same rule and gets
--   its entry when the sealer seals the row.
-- * the B-tree on `at` (001): the log is append-only and written in time
--   order, what BRIN indexes are made for (one summary per range of pages).
--   Its only reader is `attune audit list --since/--until`, a range filter a
--   BRIN index serves; ranges not yet summarised are always read, so nothing
--   is missed, and autosummarize keeps the summaries current.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_seal_seq_key;
CREATE UNIQUE INDEX audit_log_seal_seq_key ON audit_log (seal_seq) WHERE seal_seq IS NOT NULL;

DROP INDEX audit_log_at;
CREATE INDEX audit_log_at ON audit_log USING brin (at) WITH (autosummarize = on);
