-- 003_access.sql — who may do what, and the record of what they did:
-- researchers' accounts and study membership, browser sessions, API tokens,
-- failed-login counting for rate limits, the hash chain over the audit log,
-- and the database role `attune serve` runs as. Described in docs/schema.md
-- and docs/access.md.

-- ---------------------------------------------------------------- accounts

-- People who sign in to the dashboards or own API tokens. The role is global;
-- study_members says which studies a viewer or researcher sees (an admin sees
-- every study). Passwords are Argon2id strings from libsodium's
-- crypto_pwhash_str_alg(); the clear text never reaches the database.
CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name        text CHECK (length(display_name) BETWEEN 1 AND 200),
    role                text NOT NULL CHECK (role IN ('viewer', 'researcher', 'admin')),
    password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    disabled_at         timestamptz,
    last_login_at       timestamptz
);

CREATE TABLE study_members (
    user_id   bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    study_id  attune_key NOT NULL REFERENCES studies ON DELETE CASCADE,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, study_id)
);

CREATE INDEX study_members_study ON study_members (study_id);

-- Browser sessions. The cookie holds a random token; only its SHA-256 is kept.
-- A session ends at expires_at (absolute), after the configured idle time
-- since last_seen_at, or when ended_at is set (logout, password change,
-- account disabled).
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    source_addr  inet,
    CHECK (expires_at > created_at)
);

CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- API tokens for scripts and the study app, used as "Authorization: Bearer".
-- A token acts for the user who made it, never beyond that user's current
-- role and studies, and only within its scopes and (when set) its study.
-- Shown once; only the SHA-256 of its text is kept. Revoked, never deleted.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    study_id     attune_key REFERENCES studies ON DELETE CASCADE,  -- NULL: the user's studies
    scopes       text[] NOT NULL CHECK (cardinality(scopes) BETWEEN 1 AND 3
                                        AND scopes <@ ARRAY['read', 'write', 'export']),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CHECK (expires_at > created_at),
    CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed sign-ins, counted per account name and per client address over a
-- sliding window to refuse password guessing (429). Old rows are purged by
-- attune serve; a successful sign-in clears the account's own rows.
CREATE TABLE login_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    username    text NOT NULL CHECK (length(username) <= 200),
    source_addr inet
);

CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_addr ON login_failures (source_addr, at);

-- Times as RFC 3339 text in UTC ("2026-11-28T18:00:00Z"), for JSON replies
-- and CSV exports, whatever the session's time zone and DateStyle.
CREATE FUNCTION attune_rfc3339(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- ------------------------------------------------------------- audit chain

-- Rows are inserted by the writers inside their own transactions, without any
-- shared lock. A sealer (attune serve, every second, and attune audit verify)
-- later hashes unsealed rows in id order, giving each the next seal_seq:
--
--     row_hash = SHA-256(prev_hash || seal_seq as 8 bytes big-endian
--                        || attune_audit_canonical(row))
--
-- where prev_hash is the row_hash of seal_seq - 1 (32 zero bytes for the
-- first). The chain runs in seal order, not id order, because ids are taken at
-- insert but rows become visible at commit, in another order.
ALTER TABLE audit_log ADD COLUMN seal_seq bigint UNIQUE;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_seal_complete
    CHECK ((seal_seq IS NULL) = (row_hash IS NULL) AND (seal_seq IS NULL) = (prev_hash IS NULL));

CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seal_seq IS NULL;

-- The text a row's hash covers: every column but the chain's own, in a form
-- that does not depend on the session (UTC times with microseconds, jsonb's
-- normalised output).
CREATE FUNCTION attune_audit_canonical(a audit_log) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(
        a.id,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.actor_kind, a.actor, a.action, a.target, a.study_id, a.request_id,
        a.source_addr::text, a.reason, a.detail)::text
$$;

-- The last link of the chain, kept apart so that rows deleted from the end of
-- the log are noticed too. Written only by attune_audit_seal().
CREATE TABLE audit_seal_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seal_seq   bigint NOT NULL CHECK (seal_seq > 0),
    row_hash   bytea NOT NULL CHECK (length(row_hash) = 32),
    sealed_at  timestamptz NOT NULL DEFAULT now()
);

-- The head of the chain: (0, 32 zero bytes) before the first seal.
CREATE FUNCTION attune_audit_head(OUT seal_seq bigint, OUT row_hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce((SELECT h.seal_seq FROM audit_seal_head h), 0),
           coalesce((SELECT h.row_hash FROM audit_seal_head h), ('\x' || repeat('00', 32))::bytea)
$$;

-- Seals rows: fills seal_seq, prev_hash and row_hash (computed by the caller,
-- attune's audit_seal()) and moves the head. Refuses links that do not
-- continue the chain or rows already sealed, so two sealers cannot interleave.
-- SECURITY DEFINER: the application role may run this but has no UPDATE
-- privilege on audit_log, and the trigger below lets only this transition
-- through. A forged hash passed here is caught by attune audit verify, which
-- recomputes every hash.
CREATE FUNCTION attune_audit_seal(ids bigint[], seqs bigint[], prevs bytea[], hashes bytea[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n integer := coalesce(cardinality(ids), 0);
    head_seq bigint;
    head_hash bytea;
    updated integer;
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
    UPDATE audit_log a
       SET seal_seq = v.seq, prev_hash = v.prev, row_hash = v.h
      FROM unnest(ids, seqs, prevs, hashes) AS v(id, seq, prev, h)
     WHERE a.id = v.id AND a.seal_seq IS NULL;
    GET DIAGNOSTICS updated = ROW_COUNT;
    IF updated <> n THEN
        RAISE EXCEPTION 'audit rows offered for sealing are missing or already sealed'
            USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO audit_seal_head (singleton, seal_seq, row_hash)
         VALUES (true, seqs[n], hashes[n])
    ON CONFLICT (singleton) DO UPDATE
        SET seal_seq = excluded.seal_seq, row_hash = excluded.row_hash, sealed_at = now();
    RETURN n;
END $$;

-- Append-only, now with the one change sealing needs: an unsealed row may
-- receive its chain columns, and nothing else may change. DELETE, TRUNCATE
-- and every other UPDATE are refused for every role, the owner included.
CREATE OR REPLACE FUNCTION attune_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seal_seq IS NULL AND NEW.seal_seq IS NOT NULL
           AND (OLD.id, OLD.at, OLD.actor_kind, OLD.actor, OLD.action, OLD.target, OLD.study_id,
                OLD.request_id, OLD.source_addr, OLD.reason, OLD.detail)
               IS NOT DISTINCT FROM
               (NEW.id, NEW.at, NEW.actor_kind, NEW.actor, NEW.action, NEW.target, NEW.study_id,
                NEW.request_id, NEW.source_addr, NEW.reason, NEW.detail) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('%s on audit_log is not allowed.', TG_OP);
END $$;

-- ------------------------------------------------------- the application role

-- attune serve connects as attune_app: on the embedded cluster directly (the
-- socket is private, trust authentication), on an external server through a
-- login role that is a member of it (app_database_url; see docs/access.md).
-- Migrations and the command line keep using the owner.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'attune_app') THEN
        CREATE ROLE attune_app LOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'the role attune_app does not exist and cannot be created here'
        USING HINT = 'Ask the database administrator to run: CREATE ROLE attune_app NOLOGIN;';
END $$;

GRANT USAGE ON SCHEMA public TO attune_app;

-- Ordinary data: read and write, including tables later migrations create.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO attune_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO attune_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO attune_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO attune_app;

-- Then what the application must not do. The audit log: insert and read,
-- never change (sealing goes through attune_audit_seal()).
REVOKE ALL ON audit_log FROM attune_app;
GRANT SELECT, INSERT ON audit_log TO attune_app;
REVOKE ALL ON audit_seal_head FROM attune_app;
-- Accounts are managed from the command line: the service reads them and
-- notes sign-ins, so a compromised service cannot make itself an admin.
REVOKE ALL ON users, study_members FROM attune_app;
GRANT SELECT ON users, study_members TO attune_app;
GRANT UPDATE (last_login_at) ON users TO attune_app;
REVOKE DELETE ON api_tokens FROM attune_app;
REVOKE ALL ON schema_migrations FROM attune_app;
GRANT SELECT ON schema_migrations TO attune_app;

REVOKE EXECUTE ON FUNCTION attune_audit_seal(bigint[], bigint[], bytea[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attune_audit_seal(bigint[], bigint[], bytea[], bytea[]) TO attune_app;
REVOKE EXECUTE ON FUNCTION attune_audit_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attune_audit_head() TO attune_app;

-- Event partitions are created while serving (enrolment, daily upkeep), which
-- needs CREATE on the schema: the function runs with its owner's rights.
ALTER FUNCTION attune_ensure_event_partitions(timestamptz, timestamptz)
    SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE EXECUTE ON FUNCTION attune_ensure_event_partitions(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attune_ensure_event_partitions(timestamptz, timestamptz) TO attune_app;
