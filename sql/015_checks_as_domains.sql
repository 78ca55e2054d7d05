-- 015_checks_as_domains.sql — the single-column rules of responses and
-- audit_log become domains: the same rules, prepared once per connection
-- instead of once per statement.
--
-- PostgreSQL keeps a table's CHECK constraints as text and, for every
-- INSERT statement, parses each of them again (stringToNode) and plans it
-- (expression_planner) before the first row. The group commit's statement
-- inserts into both tables, so it paid this for 16 constraints, whose text is
-- about 16 kB (the item rule alone 6.5 kB), on every batch: about 60 % of the
-- constraints' cost in a profile of the writer's backend, where the
-- constraints took 12 % of its time. A domain's constraint is parsed and
-- planned once per connection (the type cache); only its evaluation remains
-- per row. Rules over two columns stay table constraints, shorter now.
--
-- The SQLSTATE of a violation is the same (23514, check_violation); the
-- constraint's name in the message is now the domain's. Two columns keep
-- their table constraints (short ones): study_week and timing, which
-- attune_response_store() and attune_response_store_rows() return with
-- RETURN QUERY, where a domain would not match the declared result type.

CREATE DOMAIN attune_count AS integer CHECK (VALUE >= 0);
CREATE DOMAIN attune_response_source AS text
    CHECK (VALUE IN ('api', 'form', 'fhir', 'import', 'demo'));
CREATE DOMAIN attune_sha256 AS bytea CHECK (length(VALUE) = 32);
CREATE DOMAIN attune_json_object AS jsonb CHECK (jsonb_typeof(VALUE) = 'object');
-- Item ids as in 007 and 013: one dimension, no NULL, each id a letter or
-- digit and then letters, digits, `_`, `.` or `-`, 64 characters at most
-- (the length pattern runs only when the joined ids are longer than 64).
CREATE DOMAIN attune_item_ids AS text[] CHECK (
    coalesce(array_ndims(VALUE), 1) = 1
    AND array_position(VALUE, NULL) IS NULL
    AND (cardinality(VALUE) = 0
         OR (array_to_string(VALUE, ',') ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*(,[A-Za-z0-9][A-Za-z0-9_.-]*)*$'
             AND (length(array_to_string(VALUE, ',')) <= 64
                  OR array_to_string(VALUE, ',') !~ '[^,]{65}'))));
CREATE DOMAIN attune_item_values AS double precision[] CHECK (
    coalesce(array_ndims(VALUE), 1) = 1
    AND array_position(VALUE, NULL) IS NULL
    AND 'NaN'::double precision <> ALL (VALUE));
CREATE DOMAIN attune_actor_kind AS text
    CHECK (VALUE IN ('system', 'user', 'token', 'participant'));
CREATE DOMAIN attune_actor AS text CHECK (length(VALUE) BETWEEN 1 AND 200);
CREATE DOMAIN attune_action AS text CHECK (VALUE ~ '^[a-z_]+\.[a-z_]+$');
CREATE DOMAIN attune_target AS text CHECK (length(VALUE) <= 500);
CREATE DOMAIN attune_request_id AS text CHECK (length(VALUE) <= 64);
CREATE DOMAIN attune_reason AS text CHECK (length(VALUE) <= 2000);

-- The view of the item answers (007) stands on the two array columns; it is
-- put back as it was, with its trigger.
DROP VIEW response_items;

ALTER TABLE responses
    DROP CONSTRAINT responses_source_check,
    DROP CONSTRAINT responses_content_hash_check,
    DROP CONSTRAINT responses_subscale_scores_check,
    DROP CONSTRAINT responses_items_answered_check,
    DROP CONSTRAINT responses_items_missing_check,
    DROP CONSTRAINT responses_items_valid,
    ALTER COLUMN source TYPE attune_response_source,
    ALTER COLUMN content_hash TYPE attune_sha256,
    ALTER COLUMN subscale_scores TYPE attune_json_object,
    ALTER COLUMN items_answered TYPE attune_count,
    ALTER COLUMN items_missing TYPE attune_count,
    ALTER COLUMN item_ids TYPE attune_item_ids,
    ALTER COLUMN item_values TYPE attune_item_values,
    ADD CONSTRAINT responses_items_paired CHECK (cardinality(item_ids) = cardinality(item_values));

ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_actor_kind_check,
    DROP CONSTRAINT audit_log_actor_check,
    DROP CONSTRAINT audit_log_action_check,
    DROP CONSTRAINT audit_log_target_check,
    DROP CONSTRAINT audit_log_request_id_check,
    DROP CONSTRAINT audit_log_reason_check,
    DROP CONSTRAINT audit_log_detail_check,
    ALTER COLUMN actor_kind TYPE attune_actor_kind,
    ALTER COLUMN actor TYPE attune_actor,
    ALTER COLUMN action TYPE attune_action,
    ALTER COLUMN target TYPE attune_target,
    ALTER COLUMN request_id TYPE attune_request_id,
    ALTER COLUMN reason TYPE attune_reason,
    ALTER COLUMN detail TYPE attune_json_object;

CREATE VIEW response_items AS
SELECT r.id AS response_id, i.item_id, i.value
  FROM responses r
 CROSS JOIN LATERAL unnest(r.item_ids::text[], r.item_values::double precision[])
       AS i(item_id, value);

CREATE TRIGGER response_items_write INSTEAD OF INSERT OR DELETE ON response_items
    FOR EACH ROW EXECUTE FUNCTION attune_response_items_write();
