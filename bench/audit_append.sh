#!/usr/bin/env bash
# What an audit row costs a write, side by side in one run, with pgbench on a
# throwaway embedded cluster, connected as attune_app like attune serve:
#
#   bare     BEGIN; one INSERT (the write); COMMIT
#   two      the same with a second ordinary INSERT: what any extra row costs
#   audited  the same with audit_append()'s INSERT into audit_log instead,
#            while attune serve's sealer chains rows every second (the design
#            in docs/access.md)
#   locked   audited, but taking one lock held until commit and reading the
#            previous row first: what chaining at insert time costs
#
#   bench/audit_append.sh [SECONDS] [CLIENTS]     (defaults 15 and 16)
#
# Needs build/attune and PostgreSQL 15's pgbench. Prints transactions per
# second for each and the audited/bare ratio; removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
clients=${2:-16}
attune=${ATTUNE:-build/attune}
pgbench=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
root=$(mktemp -d /tmp/attune-bench-XXXXXX)
chmod 755 "$root"
export ATTUNE_HOME=$root/home ATTUNE_DATA_DIR=$PWD
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  "$attune" db stop >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT

"$attune" db start >/dev/null
"$attune" migrate >/dev/null
owner=$("$attune" db url)
psql -qX "$owner" -c "CREATE TABLE bench_writes (id bigint GENERATED ALWAYS AS IDENTITY
  PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL);
  GRANT SELECT, INSERT ON bench_writes TO attune_app;"
app="$owner user=attune_app"

cat > "$root/bare.sql" <<'SQL'
BEGIN;
INSERT INTO bench_writes (payload) VALUES ('{"gad7": [1, 2, 0, 3, 1, 2, 1]}');
END;
SQL
cat > "$root/two.sql" <<'SQL'
BEGIN;
INSERT INTO bench_writes (payload) VALUES ('{"gad7": [1, 2, 0, 3, 1, 2, 1]}');
INSERT INTO bench_writes (payload) VALUES ('response.create demo/#17 response:x');
END;
SQL
cat > "$root/audited.sql" <<'SQL'
BEGIN;
INSERT INTO bench_writes (payload) VALUES ('{"gad7": [1, 2, 0, 3, 1, 2, 1]}');
INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id, source_addr,
                       detail)
VALUES ('participant', 'demo/#17', 'response.create', 'response:' || gen_random_uuid(), 'demo',
        '8a7c0f3e2b1d4c5a', '127.0.0.1', '{"items": 7, "week": 4}');
END;
SQL
cat > "$root/locked.sql" <<'SQL'
BEGIN;
INSERT INTO bench_writes (payload) VALUES ('{"gad7": [1, 2, 0, 3, 1, 2, 1]}');
SELECT pg_advisory_xact_lock(4242);
SELECT id FROM audit_log ORDER BY id DESC LIMIT 1;
INSERT INTO audit_log (actor_kind, actor, action, target, study_id, request_id, source_addr,
                       detail)
VALUES ('participant', 'demo/#17', 'response.create', 'response:' || gen_random_uuid(), 'demo',
        '8a7c0f3e2b1d4c5a', '127.0.0.1', '{"items": 7, "week": 4}');
END;
SQL

run() {
  "$pgbench" -n -f "$root/$1.sql" -c "$clients" -j 2 -T "$secs" "$app" 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

"$attune" serve --listen 127.0.0.1:0 >/dev/null 2>"$root/serve.log" &
serve_pid=$!
sleep 2
bare=$(run bare)
two=$(run two)
audited=$(run audited)
locked=$(run locked)
sleep 2
unsealed=$(psql -qXtA "$owner" -c "SELECT attune_audit_unsealed_count()")
rows=$(psql -qXtA "$owner" -c "SELECT count(*) FROM audit_log")
verify=$("$attune" audit verify | head -2 | tail -1)
printf 'clients=%s seconds=%s\n' "$clients" "$secs"
printf 'bare     %10.0f tps\n' "$bare"
printf 'two      %10.0f tps  (%.0f%% of bare)\n' "$two" "$(echo "100 * $two / $bare" | bc -l)"
printf 'audited  %10.0f tps  (%.0f%% of bare)\n' "$audited" "$(echo "100 * $audited / $bare" | bc -l)"
printf 'locked   %10.0f tps  (%.0f%% of bare)\n' "$locked" "$(echo "100 * $locked / $bare" | bc -l)"
printf 'audit rows %s, unsealed 2 s after the runs: %s; %s\n' "$rows" "$unsealed" "$verify"
