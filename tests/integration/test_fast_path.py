#!/usr/bin/env python3
"""The collector's fast path for questionnaires (sql/007, ACC_DEFERRED): the
token of POST /api/v1/responses is checked by the group-commit statement that
writes, not looked up before. Proves that this changes no answer: a revoked
token, a withdrawn or erased participant and an unknown token are refused at
once (and audited) whatever the body; an invalid body by a valid token names
every problem; a study that schedules another version of the instrument than
the server guessed is scored with its own; each stored response has its audit
row naming the participant; and, under concurrent submissions that share
batches, one revoked token among valid ones is refused alone. Also the item
answers in the response row: the response_items view, writing through it, its
refusals, and the migration that moved the rows of the old table."""
import csv
import io
import json
import os
import shutil
import threading
import uuid
from datetime import datetime, timedelta, timezone

from harness import Home, Tap, SOURCE_ROOT

t = Tap()
NOW = datetime.now(timezone.utc)
GAD = {'gad7_%d' % i: v for i, v in zip(range(1, 8), [1, 2, 1, 0, 3, 1, 1])}  # total 9


def iso(dt):
    return dt.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def bearer(tok):
    return {'Authorization': 'Bearer ' + tok}


with Home(t) as home:
    # A private copy of sql/ without 007 and what builds on it (009 replaces
    # 007's batch function), to migrate data across 007 below.
    sqldir = os.path.join(home.root, 'sql')
    shutil.copytree(os.path.join(SOURCE_ROOT, 'sql'), sqldir)
    later = sorted(f for f in os.listdir(sqldir)
                   if f[:3].isdigit() and int(f[:3]) >= 7 and f != '008_item_texts.sql')
    for f in later:
        os.rename(os.path.join(sqldir, f), os.path.join(home.root, f))
    before007 = {'ATTUNE_SQL_DIR': sqldir}
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate', env=before007).returncode, 0, 'migrated up to 006')

    # ------------------------------------------- migrating the old item rows
    # (SQL only: this binary's statements need 007 to be prepared.)
    home.sql("INSERT INTO studies (id, title) VALUES ('old', 'Before 007');"
             " INSERT INTO arms VALUES ('old', 'app', 'App');"
             " INSERT INTO instruments (id, version, checksum, definition)"
             "  VALUES ('old', '1', repeat('a', 64), '{}');"
             " INSERT INTO participants (study_id, code, arm_id, enrolled_at)"
             "  VALUES ('old', 'P001', 'app', now() - interval '1 day')")
    pid_old = home.sql("SELECT id FROM participants WHERE code = 'P001'")[0][0]
    rid_old, rid_none = str(uuid.uuid4()), str(uuid.uuid4())
    for r_id, week in ((rid_old, 0), (rid_none, 1)):
        home.sql("INSERT INTO responses (id, participant_id, instrument_id, instrument_version,"
                 " study_week, completed_at, timing, source, content_hash, total_score,"
                 " items_answered, items_missing) VALUES (%s, %s, 'old', '1', %s, now(),"
                 " 'on_time', 'import', sha256('x'), 12, 11, 0)", (r_id, pid_old, week))
    home.sql("INSERT INTO response_items VALUES " +
             ', '.join("(%%s, 'q%d', %d)" % (i, i) for i in (10, 2, 1, 11, 3)),
             (rid_old,) * 5)
    for f in later:
        shutil.move(os.path.join(home.root, f), sqldir)
    r = home.attune('migrate', env=before007)
    t.ok(r.returncode == 0 and '007_collector_fast_path.sql' in r.stdout, 'migration 007 applies',
         r.stdout + r.stderr)
    t.is_(home.sql('SELECT item_ids, item_values FROM responses WHERE id = %s', (rid_old,)),
          [(['q1', 'q2', 'q3', 'q10', 'q11'], [1.0, 2.0, 3.0, 10.0, 11.0])],
          'the old rows moved into the response, numbered items in their numbers\' order')
    t.is_(home.sql('SELECT item_ids, item_values FROM responses WHERE id = %s', (rid_none,)),
          [([], [])], 'a response without item rows has empty arrays')
    t.is_(home.sql("SELECT relkind FROM pg_class WHERE relname = 'response_items'"), [('v',)],
          'response_items is now a view')
    t.is_(home.sql('SELECT item_id, value FROM response_items WHERE response_id = %s',
                   (rid_old,)),
          [('q1', 1.0), ('q2', 2.0), ('q3', 3.0), ('q10', 10.0), ('q11', 11.0)],
          'which reads them as rows, in item order')

    # Two studies schedule GAD-7 version 1, one version 2 (the same items):
    # the server's guess for a deferred submission is version 1.
    defs = os.path.join(home.root, 'definitions')
    shutil.copytree(os.path.join(SOURCE_ROOT, 'instruments', 'definitions'), defs)
    with open(os.path.join(defs, 'gad7-1.json')) as f:
        v2 = json.load(f)
    v2['version'] = '2'
    with open(os.path.join(defs, 'gad7-2.json'), 'w') as f:
        json.dump(v2, f)
    for sid, version, weeks in (('one', '1', list(range(9))), ('two', '1', [0, 1]),
                                ('three', '2', [0])):
        path = os.path.join(home.root, sid + '.json')
        with open(path, 'w') as f:
            json.dump({'id': sid, 'title': 'Study ' + sid, 'arms': ['app'],
                       'schedule': [{'instrument': 'gad7', 'version': version,
                                     'weeks': weeks}]}, f)
        r = home.attune('study', 'create', path, env={'ATTUNE_INSTRUMENTS_DIR': defs})
        t.ok(r.returncode == 0, 'study %s created' % sid, r.stderr)

    def enroll(study, n=1, days=1):
        r = home.attune('enroll', '--study', study, '--arm', 'app', '--count', str(n),
                        '--enrolled-at', iso(NOW - timedelta(days=days)))
        return [(row['code'], row['token']) for row in csv.DictReader(io.StringIO(r.stdout))]

    # ---------------------------------------------- writing through the view
    def sql_error(query, params=None):
        try:
            home.sql(query, params)
            return None
        except Exception as exc:  # psycopg2.Error
            return getattr(exc, 'pgcode', None)

    home.sql("INSERT INTO response_items (response_id, item_id, value) VALUES (%s, 'q12', 4)",
             (rid_old,))
    t.is_(home.sql('SELECT item_ids[6], item_values[6] FROM responses WHERE id = %s',
                   (rid_old,)), [('q12', 4.0)], 'an insert through the view appends the answer')
    t.is_(sql_error("INSERT INTO response_items VALUES (%s, 'q12', 1)", (rid_old,)), '23505',
          'the same item twice is a unique violation, as with the table')
    t.is_(sql_error("INSERT INTO response_items VALUES (%s, 'q1', 1)", (str(uuid.uuid4()),)),
          '23503', 'an answer without its response is a foreign-key violation')
    t.is_(sql_error("INSERT INTO response_items VALUES (%s, 'q13', 'NaN')", (rid_old,)), '23514',
          'NaN is refused (the check constraint)')
    t.is_(sql_error("INSERT INTO response_items VALUES (%s, 'bad id!', 1)", (rid_old,)), '23514',
          'a malformed item id is refused')
    t.is_(sql_error("UPDATE responses SET item_ids = item_ids[1:2] WHERE id = %s", (rid_old,)),
          '23514', 'ids and values must pair up')
    t.ok(sql_error("UPDATE response_items SET value = 0 WHERE response_id = %s", (rid_old,))
         is not None, 'an answer cannot be changed in place')
    home.sql("DELETE FROM response_items WHERE response_id = %s AND item_id IN ('q2', 'q12')",
             (rid_old,))
    t.is_(home.sql('SELECT item_ids, item_values FROM responses WHERE id = %s', (rid_old,)),
          [(['q1', 'q3', 'q10', 'q11'], [1.0, 3.0, 10.0, 11.0])],
          'a delete through the view takes the answers out of the arrays')
    home.sql('DELETE FROM responses WHERE id = %s', (rid_old,))
    t.is_(home.sql('SELECT count(*) FROM response_items WHERE response_id = %s', (rid_old,)),
          [(0,)], 'the answers go with their response')

    # ------------------------------------------------------ the fast path
    srv = home.serve()
    people = enroll('one', 20)
    (code_a, tok_a), (code_b, tok_b), (code_c, tok_c), (code_d, tok_d) = people[:4]

    def submit(tok, answers=None, rid=None, completed=None, extra=None):
        body = {'id': rid or str(uuid.uuid4()), 'instrument': 'gad7',
                'answers': GAD if answers is None else answers,
                'completed_at': completed or iso(NOW - timedelta(minutes=5))}
        body.update(extra or {})
        return srv.json('POST', '/api/v1/responses', body, bearer(tok))

    def count(sql, *args):
        return home.sql(sql, args or None)[0][0]

    rid = str(uuid.uuid4())
    st, _, rec = submit(tok_a, rid=rid)
    t.is_((st, rec.get('version'), rec.get('study_week'), rec['scores']['total']),
          (201, '1', 0, 9.0), 'a valid submission by a valid token is stored (201)')
    pid_a = count('SELECT id FROM participants WHERE code = %s', code_a)
    t.is_(home.sql("SELECT actor_kind, actor, study_id, detail->>'instrument' FROM audit_log"
                   " WHERE action = 'response.create' AND target = %s", ('response:' + rid,)),
          [('participant', 'one/#%d' % pid_a, 'one', 'gad7')],
          'its audit row names the participant the statement found by the token')
    t.is_(home.sql('SELECT item_ids, item_values FROM responses WHERE id = %s', (rid,)),
          [(['gad7_%d' % i for i in range(1, 8)], [1.0, 2.0, 1.0, 0.0, 3.0, 1.0, 1.0])],
          'its answers are in the row, in item order')
    st, _, rec2 = submit(tok_a, rid=rid)
    t.is_((st, rec2), (200, rec), 'the retry is 200 with the same record')
    st, _, body = submit(tok_a, dict(GAD, gad7_1=3), rid=rid)
    t.is_((st, body.get('code')), (409, 'id-conflict'), 'the same id, other content: 409')
    st, _, body = submit(tok_a, dict(GAD, gad7_1=3))
    t.is_((st, body.get('code'), body.get('existing_response')), (409, 'already-answered', rid),
          'a second response for the instrument and week: 409 naming the first')

    # An invalid body by a valid token: every problem, nothing stored.
    n = count('SELECT count(*) FROM responses')
    st, _, body = submit(tok_b, {'gad7_1': 9, 'gad7_99': 1}, rid='nope',
                         completed=iso(NOW - timedelta(days=30)))
    t.is_((st, body.get('code')), (422, 'invalid-submission'), 'an invalid body is 422')
    t.is_(sorted(e['pointer'] for e in body['errors']),
          ['/answers/gad7_1', '/answers/gad7_2', '/answers/gad7_3', '/answers/gad7_4',
           '/answers/gad7_5', '/answers/gad7_6', '/answers/gad7_7', '/answers/gad7_99',
           '/completed_at', '/id'], 'naming every bad field, the enrolment check included')

    # Unknown tokens are refused before anything about the body is said.
    st, hdr, body = submit('x' * 43)
    t.is_((st, body.get('code')), (401, 'invalid-token'), 'an unknown token, valid body: 401')
    st, _, body = submit('x' * 43, {'gad7_1': 9})
    t.is_((st, body.get('code')), (401, 'invalid-token'), 'an unknown token, invalid body: 401')
    st, _, body = submit('not a token')
    t.is_((st, body.get('code')), (401, 'invalid-token'), 'a malformed token: 401')

    # Revocation, withdrawal and erasure take effect at the next write.
    r = home.attune('link', '--study', 'one', 'revoke', code_b)
    t.is_(r.returncode, 0, 'link revoke')
    st, _, body = submit(tok_b)
    t.is_((st, body.get('code')), (403, 'token-revoked'), 'the revoked token at once: 403')
    st, _, body = submit(tok_b, {'gad7_1': 9})
    t.is_((st, body.get('code')), (403, 'token-revoked'), '... with an invalid body too')
    pid_b = count('SELECT id FROM participants WHERE code = %s', code_b)
    t.ok(count("SELECT count(*) FROM audit_log WHERE action = 'auth.denied'"
               " AND actor = %s AND detail->>'code' = 'token-revoked'", 'one/#%d' % pid_b) >= 1,
         'the refusal is audited as auth.denied')
    r = home.attune('participant', 'withdraw', code_c, '--study', 'one', '--reason', 'test')
    t.is_(r.returncode, 0, 'participant withdraw', )
    st, _, body = submit(tok_c)
    t.is_((st, body.get('code')), (403, 'participant-withdrawn'), 'a withdrawn participant: 403')
    st, _, _ = srv.json('GET', '/api/v1/me', headers=bearer(tok_c))
    t.is_(st, 200, 'who can still read me')
    r = home.attune('participant', 'erase', code_d, '--study', 'one', '--reason', 'test')
    t.is_(r.returncode, 0, 'participant erase')
    st, _, body = submit(tok_d)
    t.is_((st, body.get('code')), (403, 'token-revoked'), 'an erased participant: 403')
    t.is_(count('SELECT count(*) FROM responses'), n, 'none of the refused wrote anything')

    # Another version in the participant's study than the server's guess.
    (code_v2, tok_v2), = enroll('three')
    rid_v2 = str(uuid.uuid4())
    st, _, rec = submit(tok_v2, rid=rid_v2)
    t.is_((st, rec.get('version')), (201, '2'),
          "a study scheduling version 2 gets its response scored with version 2")
    t.is_(home.sql('SELECT instrument_version FROM responses WHERE id = %s', (rid_v2,)),
          [('2',)], 'and stored so')
    st, _, rec2 = submit(tok_v2, rid=rid_v2)
    t.is_((st, rec2), (200, rec), 'its retry is 200 with the same record')

    # Concurrent submissions share batches: one revoked token among them.
    crowd = people[4:20]
    r = home.attune('link', '--study', 'one', 'revoke', crowd[7][0])
    t.is_(r.returncode, 0, 'one of sixteen tokens revoked')
    results = [None] * len(crowd)

    def one(i):
        results[i] = submit(crowd[i][1])[0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(crowd))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.is_(results, [403 if i == 7 else 201 for i in range(len(crowd))],
          'sixteen at once: the revoked token alone is refused')
    stored = home.sql("SELECT count(*), count(DISTINCT participant_id) FROM responses r"
                      " JOIN participants p ON p.id = r.participant_id WHERE p.code = ANY(%s)",
                      ([c for c, _ in crowd],))[0]
    t.is_(stored, (15, 15), 'fifteen responses, one each')
    t.is_(count("SELECT count(*) FROM responses r WHERE r.source = 'api' AND NOT EXISTS"
                " (SELECT 1 FROM audit_log a WHERE a.action = 'response.create'"
                "  AND a.target = 'response:' || r.id)"), 0,
          'every response stored through the API has its audit row')
    log = srv.log_text()
    t.ok('collector.batch' not in log, 'no batch failed', log[-2000:])
    t.is_(srv.stop(), 0, 'attune serve stops cleanly')
    r = home.attune('audit', 'verify')
    t.is_(r.returncode, 0, 'the audit trail verifies')
t.done()
