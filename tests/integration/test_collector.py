#!/usr/bin/env python3
"""The collector end to end: a study from its protocol file, enrolment with
tokens stored hashed, the participant API (me, responses, events) with its
exactly-once rules and every refusal naming every bad field while storing
nothing, the derived questionnaire statuses, token revocation, withdrawal,
FHIR in and out, and 503 with Retry-After while the database is down."""
import csv
import hashlib
import io
import json
import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone

from harness import Home, Tap, SOURCE_ROOT

t = Tap()


def iso(dt):
    return dt.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


NOW = datetime.now(timezone.utc)
GAD_OK = {'gad7_%d' % i: v for i, v in zip(range(1, 8), [1, 2, 1, 0, 3, 1, 1])}  # total 9


def pointers(body):
    return sorted(e['pointer'] for e in (body or {}).get('errors', []))


with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')

    # ---------------------------------------------------------------- study
    protocol = os.path.join(home.root, 'trial.json')
    with open(protocol, 'w') as f:
        json.dump({
            'id': 'trial', 'title': 'A test trial', 'weeks': 8, 'timezone': 'Europe/Berlin',
            'allow_late': True, 'support_text': 'Call the trial team on 0123.',
            'arms': [{'id': 'app', 'label': 'App'}, 'waitlist'],
            'schedule': [
                {'instrument': 'gad7', 'version': '1', 'weeks': list(range(9))},
                {'instrument': 'phq9', 'version': '1', 'weeks': [0, 4, 8], 'window_days': 3},
            ],
            'event_types': [{'type': 'diary_saved', 'description': 'A diary entry was saved.'}],
        }, f)
    r = home.attune('study', 'create', protocol)
    t.is_(r.returncode, 0, 'study create succeeds')
    r = home.attune('study', 'create', protocol)
    t.ok(r.returncode != 0 and 'already exists' in r.stderr, 'creating it again is refused',
         r.stderr)
    t.is_(home.sql("SELECT count(*) FROM schedule WHERE study_id = 'trial'")[0][0], 12,
          'the schedule has 12 rows')
    t.is_(home.sql("SELECT count(*) FROM instruments")[0][0], 2, 'two definitions registered')
    with open(os.path.join(SOURCE_ROOT, 'instruments', 'definitions', 'gad7-1.json'), 'rb') as f:
        want = hashlib.sha256(f.read()).hexdigest()
    t.is_(home.sql("SELECT checksum FROM instruments WHERE id = 'gad7'")[0][0], want,
          'the registered checksum is the file\'s SHA-256')

    bad = os.path.join(home.root, 'bad.json')
    with open(bad, 'w') as f:
        json.dump({'id': 'Bad Id', 'weeks': 300, 'arms': [], 'color': 'red',
                   'schedule': [{'instrument': 'gad7', 'weeks': [0, 99]}]}, f)
    r = home.attune('study', 'create', bad)
    t.ok(r.returncode != 0, 'an invalid protocol is refused')
    for ptr in ('/id', '/title', '/weeks', '/arms', '/color', '/schedule/0/version'):
        t.contains(r.stderr, ptr + ':', 'the refusal names %s' % ptr)

    # A changed definition under a registered version is refused.
    insdir = os.path.join(home.root, 'instruments')
    shutil.copytree(os.path.join(SOURCE_ROOT, 'instruments', 'definitions'), insdir)
    with open(os.path.join(insdir, 'gad7-1.json')) as f:
        d = json.load(f)
    d['title'] = 'GAD-7, edited in place'
    with open(os.path.join(insdir, 'gad7-1.json'), 'w') as f:
        json.dump(d, f)
    other = os.path.join(home.root, 'other.json')
    with open(other, 'w') as f:
        json.dump({'id': 'other', 'title': 'Other', 'arms': ['a'],
                   'schedule': [{'instrument': 'gad7', 'version': '1', 'weeks': [0]}]}, f)
    r = home.attune('study', 'create', other, env={'ATTUNE_INSTRUMENTS_DIR': insdir})
    t.ok(r.returncode != 0 and 'different definition' in r.stderr,
         'a registered version whose file changed is refused', r.stderr)
    t.is_(home.sql("SELECT count(*) FROM studies WHERE id = 'other'")[0][0], 0,
          'and no study was created')

    # ------------------------------------------------- study-week arithmetic
    # Week 4 of an enrolment at 10:00 London time on 1 March 2026 starts at
    # 10:00 London time on 29 March — after the clocks went forward, so at
    # 09:00 UTC, not 10:00.
    r = home.sql("SELECT attune_week_start('2026-03-01 10:00+00', 'Europe/London', 4)::text, "
                 "attune_study_week('2026-03-01 10:00+00', 'Europe/London', "
                 "'2026-03-29 08:59+00'), "
                 "attune_study_week('2026-03-01 10:00+00', 'Europe/London', "
                 "'2026-03-29 09:00+00'), "
                 "attune_window_close('2026-03-01 10:00+00', 'Europe/London', 0, 3)::text, "
                 "attune_study_week('2026-03-01 10:00+00', 'Europe/London', "
                 "'2026-02-28 10:00+00')")[0]
    t.is_(r, ('2026-03-29 09:00:00+00', 3, 4, '2026-03-04 10:00:00+00', -1),
          'study weeks count wall-clock days in the study zone (daylight saving)')

    # ------------------------------------------------------------- enrolment
    r = home.attune('enroll', '--study', 'trial', '--arm', 'app', '--count', '3',
                    env={'ATTUNE_PUBLIC_URL': 'https://study.example.org/'})
    t.is_(r.returncode, 0, 'enroll succeeds')
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    t.is_(len(rows), 3, 'enroll prints one CSV row per participant')
    t.is_(list(rows[0].keys()), ['code', 'arm', 'token', 'link'], 'CSV header')
    tok = rows[0]['token']
    t.ok(len(tok) >= 22, 'tokens carry at least 128 bits', tok)
    t.is_(rows[0]['link'], 'https://study.example.org/p/' + tok, 'the personal link')
    hashes = [bytes(h[0]).hex() for h in home.sql('SELECT token_hash FROM participant_tokens')]
    t.ok(hashlib.sha256(tok.encode()).hexdigest() in hashes, 'the token is stored as its hash')
    dump = home.sql("SELECT string_agg(p::text, '') FROM participants p")[0][0] + \
        home.sql("SELECT string_agg(t::text, '') FROM participant_tokens t")[0][0]
    t.ok(tok not in dump, 'the token itself is stored nowhere')
    r = home.attune('enroll', '--study', 'trial', '--arm', 'nope')
    t.ok(r.returncode != 0 and 'no arm' in r.stderr, 'an unknown arm is refused')

    def enroll(at, arm='app'):
        r = home.attune('enroll', '--study', 'trial', '--arm', arm, '--enrolled-at', iso(at))
        row = list(csv.DictReader(io.StringIO(r.stdout)))[0]
        return row['code'], row['token']

    # Enrolled 17 days ago: GAD-7 weeks 0-1 closed, week 2 open; PHQ-9 week 0 closed.
    code_a, tok_a = enroll(NOW - timedelta(days=17))
    code_b, tok_b = enroll(NOW - timedelta(days=17))
    t.ok(home.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'events_y%%'")[0][0] >= 1,
         'enrolment creates the monthly event partitions')

    srv = home.serve()
    A = {'Authorization': 'Bearer ' + tok_a}
    B = {'Authorization': 'Bearer ' + tok_b}

    st, _, me = srv.json('GET', '/api/v1/me', headers=A)
    t.is_(st, 200, 'GET /api/v1/me answers 200')
    t.is_(me['participant']['code'], code_a, 'me names the participant')
    t.is_(me['study_week'], 2, 'me gives the current study week')
    t.is_(me['study']['support_text'], 'Call the trial team on 0123.', 'me gives the support text')
    status = {(q['instrument'], q['week']): q['status'] for q in me['questionnaires']}
    t.is_(status[('gad7', 0)], 'missed', 'a closed unanswered window is missed')
    t.is_(status[('gad7', 2)], 'open', 'the current week is open')
    t.is_(status[('gad7', 3)], 'upcoming', 'a later week is upcoming')
    t.is_(status[('phq9', 0)], 'missed', 'PHQ-9 week 0 (3-day window) is missed')
    st, hdr, body = srv.json('GET', '/api/v1/me')
    t.is_(st, 401, 'no token: 401')
    t.ok('bearer' in hdr.get('www-authenticate', '').lower(), '401 asks for a bearer token')
    st, _, body = srv.json('GET', '/api/v1/me', headers={'Authorization': 'Bearer ' + 'x' * 32})
    t.is_((st, body['code']), (401, 'invalid-token'), 'an unknown token: 401 invalid-token')

    # ------------------------------------------------------------- responses
    def submit(headers, rid, answers, completed=None, instrument='gad7', extra=None):
        body = {'id': rid, 'instrument': instrument, 'answers': answers,
                'completed_at': completed or iso(NOW)}
        body.update(extra or {})
        return srv.json('POST', '/api/v1/responses', body, headers)

    def count(sql, *args):
        return home.sql(sql, args or None)[0][0]

    rid = str(uuid.uuid4())
    st, _, rec = submit(A, rid, GAD_OK)
    t.is_(st, 201, 'a valid submission is 201')
    t.is_(rec['scores']['total'], 9.0, 'scored: GAD-7 total 9')
    t.is_(rec['scores']['severity'], 'mild', 'severity band mild')
    t.is_((rec['study_week'], rec['timing']), (2, 'on_time'), 'placed on week 2, on time')
    st, _, rec2 = submit(A, rid, GAD_OK)
    t.is_(st, 200, 'the same id and content again is 200')
    t.is_(rec2, rec, 'and answers the same record')
    t.is_(count('SELECT count(*) FROM responses'), 1, 'a retry stores no second response')
    t.is_(count('SELECT count(*) FROM response_items'), 7, 'and no second set of item answers')
    changed = dict(GAD_OK, gad7_1=3)
    st, _, body = submit(A, rid, changed)
    t.is_((st, body['code']), (409, 'id-conflict'), 'the same id with other content is 409')
    st, _, body = submit(A, str(uuid.uuid4()), changed)
    t.is_((st, body['code']), (409, 'already-answered'),
          'a second response for the instrument and week is 409')
    t.is_(body.get('existing_response'), rid, 'the 409 names the existing response')
    t.contains(body['detail'], rid, 'and its detail too')
    t.is_(count('SELECT count(*) FROM responses'), 1, 'nothing stored by the 409s')

    # Late: PHQ-9 week 0 closed unanswered; the study allows late answers.
    phq = {'phq9_%d' % i: 1 for i in range(1, 10)}
    st, _, rec = submit(A, str(uuid.uuid4()), phq, instrument='phq9')
    t.is_((st, rec.get('study_week'), rec.get('timing')), (201, 0, 'late'),
          'a late PHQ-9 is stored on week 0, marked late')
    t.is_(rec['scores']['flags'], ['phq9_item9_positive'], 'PHQ-9 item 9 raises the safety flag')
    # Completed inside the week-1 window (an offline phone uploading later): on time.
    st, _, rec = submit(A, str(uuid.uuid4()), GAD_OK, iso(NOW - timedelta(days=9)))
    t.is_((st, rec.get('study_week'), rec.get('timing')), (201, 1, 'on_time'),
          'an answer completed in week 1 lands on week 1')
    # Missing-item rule: PHQ-9 with two missing items is prorated, three voids it.
    phq2 = {k: v for k, v in phq.items() if k not in ('phq9_1', 'phq9_2')}
    st, _, rec = submit(B, str(uuid.uuid4()), phq2, instrument='phq9')
    t.is_((st, rec['scores']['total'], rec['scores']['prorated']), (201, 9.0, True),
          'PHQ-9 with 2 missing items is prorated to 9')
    st, _, me = srv.json('GET', '/api/v1/me', headers=A)
    status = {(q['instrument'], q['week']): q['status'] for q in me['questionnaires']}
    t.is_((status[('gad7', 2)], status[('phq9', 0)], status[('gad7', 1)]),
          ('completed', 'late', 'completed'), 'me shows completed and late')

    before = count('SELECT count(*) FROM responses')
    st, hdr, body = srv.json('POST', '/api/v1/responses', b'{"id": "x", ', dict(A, **{
        'Content-Type': 'application/json'}))
    t.is_((st, body['code']), (400, 'malformed-json'), 'malformed JSON is 400')
    st, hdr, body = submit(A, 'not-a-uuid', {'gad7_1': 'often', 'gad7_2': 7, 'gad7_99': 1},
                         'yesterday', extra={'colour': 'red'})
    t.is_((st, body['code']), (422, 'invalid-submission'), 'wrong types and values are 422')
    want = ['/answers/gad7_1', '/answers/gad7_2', '/answers/gad7_3', '/answers/gad7_4',
            '/answers/gad7_5', '/answers/gad7_6', '/answers/gad7_7', '/answers/gad7_99',
            '/colour', '/completed_at', '/id']
    t.is_(pointers(body), want, 'every bad field is named by a JSON pointer')
    t.is_(hdr.get('content-type'), 'application/problem+json', 'refusals are problem+json')
    st, _, body = submit(A, str(uuid.uuid4()), {'who5_1': 1}, instrument='who5')
    t.is_((st, body['code'], pointers(body)), (422, 'not-scheduled', ['/instrument']),
          'an unscheduled instrument is 422 naming /instrument')
    st, _, body = submit(A, str(uuid.uuid4()), GAD_OK, iso(NOW + timedelta(hours=2)))
    t.is_((st, pointers(body)), (422, ['/completed_at']), 'a completion time in the future is 422')
    st, _, body = submit(A, str(uuid.uuid4()), GAD_OK, iso(NOW - timedelta(days=30)))
    t.is_((st, pointers(body)), (422, ['/completed_at']), 'a completion before enrolment is 422')
    st, _, body = srv.json('POST', '/api/v1/responses', b'x' * (70 * 1024),
                           dict(A, **{'Content-Type': 'application/json'}))
    t.is_((st, body['code']), (413, 'body-too-large'), 'an oversized submission is 413')
    st, _, body = srv.json('POST', '/api/v1/responses', b'{}', dict(A, **{
        'Content-Type': 'text/plain'}))
    t.is_(st, 415, 'a wrong content type is 415')
    t.is_(count('SELECT count(*) FROM responses'), before, 'no refused submission stored anything')

    # Another participant's data: B cannot touch A's response id.
    st, _, body = submit(B, rid, GAD_OK)
    t.is_((st, body['code']), (409, 'id-conflict'), "reusing another participant's id is 409")
    t.is_(count('SELECT count(*) FROM responses r JOIN participants p ON p.id = r.participant_id '
                'WHERE p.code = %s', code_b), 1, "B's rows are only B's own")
    t.ok(rid not in json.dumps(srv.json('GET', '/api/v1/me', headers=B)[2]),
         "B's me shows nothing of A")

    # ---------------------------------------------------------------- events
    def ev(i, typ='app_open', at=None, **kw):
        e = {'id': str(uuid.UUID(int=i)), 'type': typ, 'at': at or iso(NOW - timedelta(hours=1))}
        e.update(kw)
        return e

    batch = [ev(i + 1, 'session_end', duration_s=12.5, props={'screen': 'home'})
             for i in range(500)] + [ev(1000 + i, at=iso(NOW - timedelta(days=3, minutes=i)))
                                     for i in range(500)]
    st, _, body = srv.json('POST', '/api/v1/events', batch, A)
    t.is_((st, body), (200, {'received': 1000, 'accepted': 1000, 'duplicates': 0}),
          'a batch of 1,000 events is accepted')
    st, _, body = srv.json('POST', '/api/v1/events', batch, A)
    t.is_(body, {'received': 1000, 'accepted': 0, 'duplicates': 1000},
          'the retried batch is all duplicates')
    st, _, body = srv.json('POST', '/api/v1/events', batch[:10] + [ev(5000)], A)
    t.is_(body, {'received': 11, 'accepted': 1, 'duplicates': 10}, 'a partly new batch')
    t.is_(count('SELECT count(*) FROM events'), 1001, 'retries stored no second row')
    st, _, body = srv.json('POST', '/api/v1/events', [ev(6000, 'diary_saved')], A)
    t.is_(body.get('accepted'), 1, "a study's own event type is accepted")
    n_events = count('SELECT count(*) FROM events')

    st, _, body = srv.json('POST', '/api/v1/events', [ev(7000 + i) for i in range(1001)], A)
    t.is_((st, body['code']), (422, 'invalid-events'), 'a batch of 1,001 events is 422')
    bad = [ev(8001), ev(8002, 'teleported'), {'id': 'x', 'type': 'Bad Type', 'at': 'soon',
                                              'duration_s': -1, 'props': [1], 'extra': 1},
           ev(8004, at=iso(NOW + timedelta(days=1))), ev(8005, at=iso(NOW - timedelta(days=60))),
           ev(8006, duration_s=90000), 'not an object']
    st, _, body = srv.json('POST', '/api/v1/events', bad, A)
    t.is_((st, body['code']), (422, 'invalid-events'), 'a batch with bad events is 422')
    t.is_(pointers(body), sorted(['/1/type', '/2/id', '/2/type', '/2/at', '/2/duration_s',
                                  '/2/props', '/2/extra', '/3/at', '/4/at', '/5/duration_s',
                                  '/6']),
          'every bad event is named by index and field')
    st, _, body = srv.json('POST', '/api/v1/events', {'events': []}, A)
    t.is_(st, 422, 'a body that is not an array is 422')
    t.is_(count('SELECT count(*) FROM events'), n_events, 'no refused batch stored anything')

    # ------------------------------------------------------ revoke, withdraw
    r = home.attune('link', '--study', 'trial', 'reissue', code_b)
    t.is_(r.returncode, 0, 'link reissue succeeds')
    new_b = list(csv.DictReader(io.StringIO(r.stdout)))[0]['token']
    st, _, body = srv.json('POST', '/api/v1/events', [ev(9001)], B)
    t.is_((st, body['code']), (403, 'token-revoked'), 'a revoked token is refused (403)')
    st, _, body = srv.json('POST', '/api/v1/events', [ev(9001)],
                           {'Authorization': 'Bearer ' + new_b})
    t.is_(st, 200, 'the reissued token works')
    home.sql("UPDATE participants SET status = 'withdrawn', withdrawn_at = now() "
             "WHERE code = %s", (code_a,))
    n_resp, n_events = count('SELECT count(*) FROM responses'), count('SELECT count(*) FROM events')
    st, _, body = srv.json('POST', '/api/v1/events', [ev(9100)], A)
    t.is_((st, body['code']), (403, 'participant-withdrawn'), 'a withdrawn participant: events 403')
    st, _, body = submit(A, str(uuid.uuid4()), GAD_OK)
    t.is_((st, body['code']), (403, 'participant-withdrawn'),
          'a withdrawn participant: responses 403')
    st, _, me = srv.json('GET', '/api/v1/me', headers=A)
    t.is_(st, 200, 'a withdrawn participant can still read me')
    status = {(q['instrument'], q['week']): q['status'] for q in me['questionnaires']}
    t.is_((status[('gad7', 3)], status[('gad7', 0)]), ('withdrawn', 'missed'),
          'after withdrawal later questionnaires are not missed; earlier misses stay')
    t.is_((count('SELECT count(*) FROM responses'), count('SELECT count(*) FROM events')),
          (n_resp, n_events), 'nothing stored for the withdrawn participant')
    v = home.sql("SELECT count(*) FILTER (WHERE status = 'missed'), "
                 "count(*) FILTER (WHERE status = 'late') FROM participant_schedule")[0]
    t.ok(v[0] > 0 and v[1] == 2, 'the participant_schedule view derives missed and late', v)

    # ------------------------------------------------------------------ FHIR
    code_c, tok_c = enroll(NOW - timedelta(days=1))
    C = {'Authorization': 'Bearer ' + tok_c}
    st, hdr, q = srv.json('GET', '/fhir/Questionnaire/gad7')
    t.is_(st, 200, 'GET /fhir/Questionnaire/gad7 answers 200')
    t.is_(q['resourceType'], 'Questionnaire', 'it is a Questionnaire')
    questions = [i for i in q['item'] if i['linkId'].startswith('gad7_')]
    t.is_([i['linkId'] for i in questions], ['gad7_%d' % i for i in range(1, 8)], 'with linkIds')
    t.is_(questions[0]['code'][0]['code'], '69725-0', 'with LOINC item codes')
    t.is_(questions[0]['answerOption'][1]['valueCoding']['display'], 'Several days',
          'with answer labels')
    t.is_(srv.json('GET', '/fhir/Questionnaire/nope')[0], 404, 'an unknown instrument is 404')
    qr = {'resourceType': 'QuestionnaireResponse', 'status': 'completed',
          'identifier': {'system': 'urn:app', 'value': 'session-42'},
          'questionnaire': q['url'] + '|' + q['version'], 'authored': iso(NOW),
          'item': [{'linkId': it['linkId'], 'answer': [{'valueCoding': it['answerOption'][2][
              'valueCoding']}]} for it in questions]}
    st, _, rec = srv.json('POST', '/fhir/QuestionnaireResponse', qr, C)
    t.is_((st, rec.get('scores', {}).get('total'), rec.get('source')), (201, 14.0, 'fhir'),
          'a QuestionnaireResponse is stored and scored (GAD-7 14)')
    st, _, rec2 = srv.json('POST', '/fhir/QuestionnaireResponse', qr, C)
    t.is_((st, rec2), (200, rec), 'the same identifier again is 200 with the same record')
    qr['item'][3]['answer'] = [{'valueInteger': 9}]
    qr['item'][5]['answer'] = [{'valueCoding': {'code': 'sometimes'}}]
    qr['identifier']['value'] = 'session-43'
    st, _, body = srv.json('POST', '/fhir/QuestionnaireResponse', qr, C)
    t.is_((st, pointers(body)), (422, ['/item/3/answer/0/valueInteger', '/item/5/answer/0/valueCoding']),
          'bad FHIR answers are named by their place in the resource')
    t.is_(count("SELECT count(*) FROM responses WHERE source = 'fhir'"), 1,
          'one FHIR response stored')

    # ------------------------------------------------- the database goes away
    t.is_(home.attune('db', 'stop').returncode, 0, 'database stopped under the server')
    st, hdr, body = submit(C, str(uuid.uuid4()), GAD_OK, extra={})
    t.is_(st, 503, 'a submission gets 503')
    t.ok('retry-after' in hdr, 'with Retry-After')
    st, hdr, body = srv.json('POST', '/api/v1/events', [ev(9500)], C)
    t.ok(st == 503 and 'retry-after' in hdr, 'an event batch gets 503 with Retry-After', st)
    t.is_(home.attune('db', 'start').returncode, 0, 'database started again')
    ok = False
    for _ in range(3):
        st, _, body = srv.json('POST', '/api/v1/events', [ev(9500)], C)
        ok = ok or st == 200
    t.ok(ok, 'the retried batch is stored once the database is back')
    t.is_(count("SELECT count(*) FROM events WHERE id = %s", str(uuid.UUID(int=9500))), 1,
          'exactly once')
    srv.stop()

    # ------------------------------------------------------------- the audit
    rows = dict(home.sql("SELECT action, count(*) FROM audit_log GROUP BY 1"))
    n_api = count("SELECT count(*) FROM responses WHERE source IN ('api', 'fhir')")
    t.is_(rows.get('response.create'), n_api, 'one response.create audit row per stored response')
    t.ok(rows.get('event.create', 0) >= 4, 'event.create audit rows for stored batches', rows)
    t.is_(rows.get('participant.enroll'), 6, 'one participant.enroll audit row per enrolment')
    t.is_(rows.get('study.create'), 1, 'a study.create audit row')
    t.is_(rows.get('participant.link_reissue'), 1, 'a participant.link_reissue audit row')
    leaked = home.sql("SELECT count(*) FROM audit_log WHERE detail::text LIKE '%%gad7_1%%' "
                      "OR target LIKE '%%' || %s || '%%'", (code_a,))[0][0]
    t.is_(leaked, 0, 'audit rows hold neither answers nor participant codes')
t.done()
