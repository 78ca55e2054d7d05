#!/usr/bin/env python3
"""The embedded database and migrations, through the attune command as an
operator uses it: db start/status/stop/url, migrate (idempotent, --status,
changed files, unknown migrations), serve refusing pending migrations, and
ATTUNE_DATABASE_URL keeping Attune away from any local cluster."""
import os
import shutil

import psycopg2

from harness import Home, Tap, SOURCE_ROOT

t = Tap()
with Home(t) as home:
    r = home.attune('db', 'status')
    t.is_(r.returncode, 3, 'db status before start: exit 3')
    t.contains(r.stdout, 'not initialised', 'db status says not initialised')

    r = home.attune('db', 'start')
    t.is_(r.returncode, 0, 'db start initialises and starts the cluster')
    t.ok(r.returncode == 0, 'db start output', r.stderr)
    t.ok(os.path.isfile(os.path.join(home.env['ATTUNE_HOME'], 'pg', 'data', 'PG_VERSION')),
         'initdb ran under ATTUNE_HOME/pg/data')

    r = home.attune('db', 'start')
    t.is_(r.returncode, 0, 'db start again is a no-op')

    r = home.attune('db', 'status')
    t.is_(r.returncode, 0, 'db status when running: exit 0')
    t.contains(r.stdout, 'running', 'db status says running')

    url = home.conninfo()
    t.contains(url, os.path.join(home.env['ATTUNE_HOME'], 'pg', 'run'),
               'db url points at the private socket folder')
    rows = home.sql("SELECT setting FROM pg_settings WHERE name = 'listen_addresses'")
    t.is_(rows, [('',)], 'the cluster listens on no TCP address')
    if os.geteuid() == 0:
        rows = home.sql('SELECT usename FROM pg_user WHERE usesuper')
        t.is_(rows, [('attune',)], 'cluster superuser is attune')
        st = os.stat(os.path.join(home.env['ATTUNE_HOME'], 'pg', 'data'))
        t.ok(st.st_uid != 0, 'running as root, the data folder belongs to an unprivileged user')

    # Migrations.
    r = home.attune('migrate', '--status')
    t.is_(r.returncode, 0, 'migrate --status works on an empty database')
    t.contains(r.stdout, 'pending  001_initial.sql', 'migrate --status lists pending files')
    r = home.attune('migrate')
    t.is_(r.returncode, 0, 'migrate applies the migrations')
    t.contains(r.stdout, 'applied 001_initial.sql', 'migrate names what it applied')
    r = home.attune('migrate')
    t.is_(r.returncode, 0, 'migrate again succeeds')
    t.ok('applied 0' not in r.stdout, 'migrate again applies nothing', r.stdout)
    rows = home.sql('SELECT version, name, length(checksum) FROM schema_migrations ORDER BY 1')
    t.ok(len(rows) >= 1 and rows[0] == (1, '001_initial.sql', 64),
         'schema_migrations records version, name and checksum', rows)
    tables = {r[0] for r in home.sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    for name in ('studies', 'arms', 'participants', 'responses', 'events',
                 'audit_log', 'schedule', 'instruments', 'analysis_runs'):
        t.ok(name in tables, 'table %s exists' % name)
    # Item answers live in their response row since 007; response_items is
    # the view of them that every reader uses.
    t.is_(home.sql("SELECT relkind FROM pg_class WHERE relname = 'response_items'"),
          [('v',)], 'response_items is a view (007)')

    # The rules 013 rewrote for speed still hold, at their edges.
    def accepted(sql):
        try:
            home.sql('DO $$ BEGIN ' + sql + '; RAISE EXCEPTION \'rolled back\'; END $$')
        except psycopg2.Error as exc:
            return 'rolled back' in str(exc)
        return False

    for key, ok in (('gad7', True), ('a' * 63, True), ('a' * 64, False), ('GAD7', False),
                    ('-x', False), ('x_y-z9', True), ('', False), ('a b', False)):
        t.is_(accepted("PERFORM '%s'::attune_key" % key), ok,
              'attune_key %s %r' % ('accepts' if ok else 'refuses', key[:12]))
    home.sql("INSERT INTO studies (id, title) VALUES ('rules', 'Rules')"
             " ON CONFLICT DO NOTHING")
    home.sql("INSERT INTO arms (study_id, id, label) VALUES ('rules', 'a', 'A')"
             " ON CONFLICT DO NOTHING")
    home.sql("INSERT INTO instruments (id, version, checksum, definition) VALUES"
             " ('rules', '1', repeat('a', 64), '{}') ON CONFLICT DO NOTHING")
    pid = home.sql("INSERT INTO participants (study_id, arm_id, code, enrolled_at) VALUES"
                   " ('rules', 'a', 'R01', now()) RETURNING id")[0][0]

    def items_accepted(ids, vals):
        return accepted(
            "INSERT INTO responses (id, participant_id, instrument_id, instrument_version,"
            " study_week, completed_at, timing, source, content_hash, items_answered,"
            " items_missing, item_ids, item_values) VALUES (gen_random_uuid(), %d, 'rules', '1',"
            " 0, now(), 'on_time', 'api', sha256('x'), 1, 0, %s, %s)" % (pid, ids, vals))

    long64, long65 = 'q' * 64, 'q' * 65
    for ids, vals, ok, what in (
            ("ARRAY['q1','q2']", "ARRAY[1,2]::float8[]", True, 'two items'),
            ("ARRAY['%s']" % long64, "ARRAY[1]::float8[]", True, 'an id of 64 characters'),
            ("ARRAY['%s']" % long65, "ARRAY[1]::float8[]", False, 'an id of 65 characters'),
            ("ARRAY['q1','%s']" % long65, "ARRAY[1,2]::float8[]", False,
             'an id of 65 characters after a short one'),
            ("ARRAY[%s]" % ','.join("'q%02d'" % i for i in range(30)),
             "array_fill(1::float8, ARRAY[30])", True, '30 ids joined longer than 64'),
            ("ARRAY['q1','_q']", "ARRAY[1,2]::float8[]", False, 'an id starting with _'),
            ("ARRAY['q1','q 2']", "ARRAY[1,2]::float8[]", False, 'an id with a space'),
            ("ARRAY['q1']", "ARRAY[1,2]::float8[]", False, 'fewer ids than values'),
            ("ARRAY['q1']", "ARRAY['NaN']::float8[]", False, 'a NaN value')):
        t.is_(items_accepted(ids, vals), ok,
              'responses_items_valid %s %s' % ('accepts' if ok else 'refuses', what))
    home.sql("DELETE FROM participants WHERE study_id = 'rules';"
             " DELETE FROM instruments WHERE id = 'rules'; DELETE FROM studies WHERE id = 'rules'")

    # A private copy of sql/ to change things in.
    sqldir = os.path.join(home.root, 'sql')
    shutil.copytree(os.path.join(SOURCE_ROOT, 'sql'), sqldir)
    env = {'ATTUNE_SQL_DIR': sqldir}
    with open(os.path.join(sqldir, '900_extra.sql'), 'w') as f:
        f.write('CREATE TABLE extra_test (id integer PRIMARY KEY);\n')
    r = home.attune('serve', '--listen', '127.0.0.1:0', env=env, timeout=30)
    t.ok(r.returncode != 0, 'serve refuses to start with a pending migration')
    t.contains(r.stderr, '900_extra.sql', 'serve names the pending migration')
    r = home.attune('migrate', env=env)
    t.is_(r.returncode, 0, 'migrate applies the new file')
    t.is_(home.sql("SELECT to_regclass('extra_test') IS NOT NULL"), [(True,)],
          'the new migration took effect')

    with open(os.path.join(sqldir, '900_extra.sql'), 'a') as f:
        f.write('-- edited after it was applied\n')
    r = home.attune('migrate', env=env)
    t.ok(r.returncode != 0, 'migrate refuses a file changed after it was applied')
    t.contains(r.stderr, '900_extra.sql', 'the error names the changed file')
    t.contains(r.stderr, 'changed after it was applied', 'the error says what happened')

    os.remove(os.path.join(sqldir, '900_extra.sql'))
    r = home.attune('migrate', env=env)
    t.ok(r.returncode != 0, 'a recorded migration with no file is an error')
    t.contains(r.stderr, '900_extra.sql', 'the error names the unknown migration')

    with open(os.path.join(sqldir, '901_broken.sql'), 'w') as f:
        f.write('CREATE TABLE half_done (id integer);\nSELECT no_such_function();\n')
    home.sql('DELETE FROM schema_migrations WHERE version = 900')
    home.sql('DROP TABLE extra_test')
    r = home.attune('migrate', env=env)
    t.ok(r.returncode != 0, 'a failing migration fails')
    t.contains(r.stderr, '901_broken.sql', 'the error names the failing file')
    t.is_(home.sql("SELECT to_regclass('half_done') IS NULL"), [(True,)],
          'nothing of the failing migration remains (its own transaction)')
    t.is_(home.sql('SELECT count(*) FROM schema_migrations WHERE version = 901'), [(0,)],
          'the failing migration is not recorded')

    # Schema constraints reject impossible values.
    import psycopg2
    def refused(stmt):
        try:
            home.sql(stmt)
            return False
        except psycopg2.Error:
            return True
    home.sql("INSERT INTO studies (id, title) VALUES ('s1', 'Study one')")
    home.sql("INSERT INTO arms (study_id, id, label) VALUES ('s1', 'app', 'App')")
    t.ok(refused("INSERT INTO studies (id, title, weeks) VALUES ('s2', 'x', 0)"),
         'a study of 0 weeks is refused')
    t.ok(refused("INSERT INTO studies (id, title, timezone) VALUES ('s3', 'x', 'Mars/Base')"),
         'an unknown time zone is refused')
    t.ok(refused("INSERT INTO studies (id, title) VALUES ('Bad Id', 'x')"),
         'a study id with spaces and capitals is refused')
    t.ok(refused("INSERT INTO participants (study_id, code, arm_id, enrolled_at, status) "
                 "VALUES ('s1', 'P001', 'app', now(), 'withdrawn')"),
         'withdrawn without a withdrawal time is refused')
    t.ok(refused("INSERT INTO participants (study_id, code, arm_id, enrolled_at) "
                 "VALUES ('s1', 'P001', 'nope', now())"),
         'an unknown arm is refused')
    home.sql("INSERT INTO participants (study_id, code, arm_id, enrolled_at) "
             "VALUES ('s1', 'P001', 'app', '2026-01-05')")
    home.sql("SELECT attune_ensure_event_partitions('2026-01-01', '2026-03-01')")
    home.sql("INSERT INTO events (participant_id, id, type, at) SELECT id, gen_random_uuid(), "
             "'app_open', '2026-01-06T10:00:00Z' FROM participants")
    t.is_(home.sql("SELECT tableoid::regclass::text FROM events"), [('events_y2026m01',)],
          'events land in their month partition')
    home.sql("INSERT INTO events (participant_id, id, type, at) SELECT id, gen_random_uuid(), "
             "'app_open', '2026-05-06T10:00:00Z' FROM participants")
    home.sql("SELECT attune_ensure_event_partitions('2026-05-01', '2026-06-01')")
    t.is_(home.sql("SELECT count(*) FROM events_default"), [(0,)],
          'creating a partition moves rows out of the default partition')
    t.is_(home.sql("SELECT count(*) FROM events"), [(2,)], 'no event lost in the move')
    t.ok(refused("INSERT INTO events (participant_id, id, type, at, duration_s) SELECT id, "
                 "gen_random_uuid(), 'app_open', now(), -5 FROM participants"),
         'a negative duration is refused')
    home.sql("INSERT INTO audit_log (actor_kind, actor, action) VALUES ('system', 'test', "
             "'test.insert')")
    t.ok(refused("UPDATE audit_log SET actor = 'someone else'"), 'audit rows cannot be updated')
    t.ok(refused("DELETE FROM audit_log"), 'audit rows cannot be deleted')
    t.ok(refused("TRUNCATE audit_log"), 'the audit log cannot be truncated')

    r = home.attune('db', 'stop')
    t.is_(r.returncode, 0, 'db stop')
    r = home.attune('db', 'status')
    t.is_(r.returncode, 3, 'db status after stop: exit 3')
    r = home.attune('db', 'stop')
    t.is_(r.returncode, 0, 'db stop again is a no-op')
    r = home.attune('db', 'start')
    t.is_(r.returncode, 0, 'db start after stop')
    t.is_(home.sql('SELECT count(*) FROM studies'), [(1,)], 'data survives stop and start')

    # An external database URL: Attune never manages a local cluster.
    ext = {'ATTUNE_DATABASE_URL': url, 'ATTUNE_HOME': os.path.join(home.root, 'other')}
    r = home.attune('db', 'start', env=ext)
    t.ok(r.returncode != 0, 'db start refuses when a database URL is set')
    t.contains(r.stderr, 'ATTUNE_DATABASE_URL', 'the refusal names the setting')
    r = home.attune('migrate', env=ext)
    t.is_(r.returncode, 0, 'migrate works against the URL')
    t.ok(not os.path.exists(os.path.join(home.root, 'other', 'pg')),
         'no local cluster is created when a URL is set')
    r = home.attune('db', 'status', env=ext)
    t.is_(r.returncode, 0, 'db status reports the external server reachable')
t.done()
