#!/usr/bin/env python3
"""Study-supplied item texts for scoring keys shipped without them (PSS-10,
ECR-R), end to end: `attune study create` refuses a protocol whose texts file
lacks an item, has an extra one, is for another instrument, has no permission
statement, is missing, or is given for an instrument with its own texts —
naming the file and field, creating nothing; a good protocol stores the texts
(item_texts, canonical checksum, who) where `attune serve` reads them
(attune_app: SELECT only); the participant form renders the study's wording
and its permission, and a POST stores and scores it, reverse-keyed items
included; a study without texts gets a polite 409 page for the key (the
other questionnaires still show) while the JSON API takes its answers;
`attune study texts` supplies texts later, replaces them while nobody has
answered them (the running server follows), and refuses a change once they
have answers, as the database does. The public FHIR Questionnaire never
carries the wording; the participant's and the study team's routes do.

The wording in these fixtures is made up ("Study wording for PSS-10 item 4"):
the licensed item texts never appear in this repository."""
import csv
import hashlib
import io
import json
import os
import re
import urllib.parse
from datetime import datetime, timedelta, timezone

from accesskit import Browser, add_user, bearer
from harness import Home, Tap

t = Tap()

PERMISSION = 'Placeholder permission for the integration tests (not a real licence).'
PSS_REVERSED = {4, 5, 7, 8}
FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


def iso(dt):
    return dt.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def texts_doc(instrument, n, wording, language='en', permission=PERMISSION, version='1'):
    return {'attune_texts': 1, 'instrument': instrument, 'version': version,
            'language': language, 'permission': permission,
            'items': {'%s_%d' % (instrument, i): wording % i for i in range(1, n + 1)}}


def canonical_sha(doc):
    """SHA-256 of the canonical JSON docs/instruments.md describes: sorted keys,
    two-space indent, UTF-8, a final newline."""
    text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + '\n'
    return hashlib.sha256(text.encode()).hexdigest()


def form_fields(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


with Home(t) as home:
    home.attune('db', 'start')
    t.is_(home.attune('migrate').returncode, 0, 'migrated (008_item_texts.sql included)')
    root = home.root
    os.makedirs(os.path.join(root, 'texts'))

    def write(name, doc):
        path = os.path.join(root, name)
        with open(path, 'w', encoding='utf-8') as f:
            if isinstance(doc, str):
                f.write(doc)
            else:
                json.dump(doc, f, ensure_ascii=False)
        return path

    pss = texts_doc('pss10', 10, 'Study wording for PSS-10 item %d')
    pss['items']['pss10_10'] = 'Study wording for PSS-10 item 10 — déjà vu'
    ecrr = texts_doc('ecrr', 36, 'Study wording for ECR-R item %d', language='en-GB')
    write('texts/pss10-en.json', pss)
    write('texts/ecrr-en.json', ecrr)
    short = json.loads(json.dumps(pss))
    del short['items']['pss10_4']
    extra = json.loads(json.dumps(pss))
    extra['items']['pss10_11'] = 'Study wording for an item PSS-10 does not have'
    other = json.loads(json.dumps(pss))
    other['instrument'] = 'ecrr'
    unpermitted = json.loads(json.dumps(pss))
    unpermitted['permission'] = '   '
    gad7 = texts_doc('gad7', 7, 'Our own wording for GAD-7 item %d')

    def protocol(name, study, pss_texts=None, ecrr_texts=None, gad7_texts=None):
        sched = [{'instrument': 'pss10', 'version': '1', 'weeks': [0, 1]},
                 {'instrument': 'gad7', 'version': '1', 'weeks': [0]}]
        if pss_texts:
            sched[0]['item_texts'] = pss_texts
        if gad7_texts:
            sched[1]['item_texts'] = gad7_texts
        if ecrr_texts:
            sched.append({'instrument': 'ecrr', 'version': '1', 'weeks': [0],
                          'item_texts': ecrr_texts})
        return write(name, {'id': study, 'title': 'Texts trial ' + study, 'arms': ['app'],
                            'schedule': sched})

    # ------------------------------------------------ refusals at study create
    refusals = [
        ('a texts file missing an item', short,
         '/schedule/0/item_texts: "pss10-bad.json": /items: no text for item "pss10_4"'),
        ('a texts file with an extra item', extra,
         '/items/pss10_11: unknown item "pss10_11"'),
        ('a texts file for the wrong instrument', other,
         'texts are for "ecrr" version "1", not "pss10" version "1"'),
        ('a texts file without a permission statement', unpermitted,
         '/schedule/0/item_texts: "pss10-bad.json": /permission'),
        ('a texts file that is not JSON', '{"attune_texts": 1,',
         '"pss10-bad.json": invalid JSON'),
    ]
    for what, doc, want in refusals:
        write('texts/pss10-bad.json', doc)
        r = home.attune('study', 'create', protocol('p-bad.json', 'texts', 'texts/pss10-bad.json'))
        t.ok(r.returncode != 0, 'study create refuses %s' % what, r.stdout)
        t.contains(r.stderr, want, '%s: the protocol, field and problem are named' % what)
        t.contains(r.stderr, 'invalid protocol "%s"' % os.path.join(root, 'p-bad.json'),
                   '%s: the protocol file is named' % what)
    r = home.attune('study', 'create', protocol('p-bad.json', 'texts', 'texts/nowhere.json'))
    t.ok(r.returncode != 0 and '/schedule/0/item_texts' in r.stderr and
         os.path.join(root, 'texts', 'nowhere.json') in r.stderr,
         'a missing texts file is refused, its path resolved beside the protocol', r.stderr)
    write('texts/gad7-en.json', gad7)
    r = home.attune('study', 'create',
                    protocol('p-bad.json', 'texts', 'texts/pss10-en.json', None,
                             'texts/gad7-en.json'))
    t.ok(r.returncode != 0 and '/schedule/1/item_texts' in r.stderr and
         'ships its own item texts' in r.stderr,
         'texts for an instrument that ships its own are refused', r.stderr)
    t.is_(home.sql("SELECT count(*) FROM studies")[0][0], 0, 'no study was created by any of them')
    t.is_(home.sql("SELECT count(*) FROM item_texts")[0][0], 0, 'and no texts were stored')

    # ------------------------------------------------------- a good protocol
    good = protocol('p.json', 'texts', 'texts/pss10-en.json', 'texts/ecrr-en.json')
    r = home.attune('study', 'create', good)
    t.ok(r.returncode == 0, 'a study with PSS-10 and ECR-R texts is created', r.stderr)
    rows = home.sql("SELECT instrument_id, instrument_version, language, permission, checksum,"
                    " supplied_by, texts->'items'->>'pss10_10' FROM item_texts"
                    " WHERE study_id = 'texts' ORDER BY 1")
    t.is_([r[:4] for r in rows],
          [('ecrr', '1', 'en-GB', PERMISSION), ('pss10', '1', 'en', PERMISSION)],
          'item_texts holds both, by study, instrument and version, with language and permission')
    t.is_(rows[1][4], canonical_sha(pss), "the checksum is the SHA-256 of the canonical JSON")
    t.is_(rows[0][4], canonical_sha(ecrr), 'for ECR-R too')
    t.ok(rows[1][5].startswith('cli:'), 'who supplied them is recorded', rows[1][5])
    t.is_(rows[1][6], 'Study wording for PSS-10 item 10 — déjà vu', 'UTF-8 wording kept exactly')
    audit = home.sql("SELECT detail FROM audit_log WHERE action = 'study.create'")
    t.is_(audit[0][0].get('item_texts'),
          {'pss10@1': canonical_sha(pss), 'ecrr@1': canonical_sha(ecrr)},
          'the study.create audit row names the texts by checksum')

    # The service's role reads them and cannot change them.
    import psycopg2
    conn = psycopg2.connect(home.conninfo())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute('SET ROLE attune_app')
            cur.execute('SELECT count(*) FROM item_texts')
            t.is_(cur.fetchone()[0], 2, 'attune_app may read item_texts')
            for stmt in ("UPDATE item_texts SET permission = 'mine'",
                         "DELETE FROM item_texts",
                         "INSERT INTO item_texts SELECT * FROM item_texts"):
                try:
                    cur.execute(stmt)
                    t.ok(False, 'attune_app is refused: %s' % stmt.split()[0])
                except psycopg2.errors.InsufficientPrivilege:
                    t.ok(True, 'attune_app is refused: %s' % stmt.split()[0])
    finally:
        conn.close()

    # A second study: PSS-10 without texts.
    t.is_(home.attune('study', 'create', protocol('p2.json', 'notexts')).returncode, 0,
          'a study with PSS-10 but no texts is created (the API can still take it)')

    def enroll(study):
        r = home.attune('enroll', '--study', study, '--arm', 'app', '--enrolled-at',
                        iso(datetime.now(timezone.utc) - timedelta(hours=1)))
        return list(csv.DictReader(io.StringIO(r.stdout)))[0]['token']

    p1, p2, p3 = enroll('texts'), enroll('texts'), enroll('notexts')
    t.is_(add_user(home, 'rita', 'researcher', studies=['texts']).returncode, 0, 'a researcher')
    t.is_(add_user(home, 'otto', 'researcher', studies=['notexts']).returncode, 0,
          'a researcher of the other study')
    srv = home.serve()

    # -------------------------------------------------------------- the form
    path = '/p/' + p1
    st, hdr, body = srv.get(path)
    html = body.decode()
    t.is_(st, 200, 'the form renders a study with texts')
    t.contains(html, 'Experiences in Close Relationships', 'ECR-R is due first')
    t.is_(len(re.findall(r'Study wording for ECR-R item \d+<', html)), 36,
          "every ECR-R item shows the study's wording")
    t.contains(html, '<span lang="en-GB">Study wording for ECR-R item 9</span>',
               "the wording carries the texts' language")
    t.contains(html, PERMISSION, "the study's permission statement is shown")
    t.contains(html, 'Question 36 of 36', 'progress through the items')

    st, hdr, body = srv.get(path + '?q=pss10')
    html = body.decode()
    t.is_(st, 200, 'PSS-10 renders with the study texts')
    for i in (1, 4, 5, 7, 8):
        t.contains(html, '<span class="num">Question %d of 10</span> Study wording for PSS-10 '
                   'item %d<' % (i, i), 'PSS-10 item %d shows the study wording' % i)
    t.contains(html, 'Study wording for PSS-10 item 10 — déjà vu', 'UTF-8 wording rendered')
    t.is_(html.count('type="radio"'), 50, '10 questions with 5 answers each')
    t.contains(html, 'Fairly often', "the definition's answer labels")
    t.contains(html, PERMISSION, 'and the permission statement')
    t.contains(html, 'scoring key only', "beside the definition's licence notice")
    fields = form_fields(html)
    t.is_(fields.get('instrument'), 'pss10', 'the form names PSS-10')

    # Items 4, 5, 7 and 8 are reverse keyed: value v weighs 4 - v.
    values = [2, 3, 1, 0, 4, 1, 3, 2, 1, 0]
    want_total = sum((4 - v) if i + 1 in PSS_REVERSED else v for i, v in enumerate(values))
    t.is_(want_total, 15, 'hand-computed PSS-10 total: 8 forward + 7 reversed')
    post = dict(fields, **{'pss10_%d' % (i + 1): str(v) for i, v in enumerate(values)})
    del post['pss10_7']
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post), FORM)
    t.is_(st, 422, 'a missing answer shows the form again')
    t.contains(body.decode(), 'Please answer question 7.', 'naming the question')
    t.contains(body.decode(), 'Study wording for PSS-10 item 7', 'with the study wording again')
    post['pss10_7'] = '3'
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post), FORM)
    t.is_(st, 201, 'the PSS-10 form is stored')
    rows = home.sql("SELECT source, total_score, study_week, items_answered FROM responses"
                    " WHERE instrument_id = 'pss10'")
    t.is_(rows, [('form', 15.0, 0, 10)], 'and scored with the reverse keys (15)')
    items = dict(home.sql("SELECT item_id, value FROM response_items ri JOIN responses r"
                          " ON r.id = ri.response_id WHERE r.instrument_id = 'pss10'"))
    t.is_(items, {'pss10_%d' % (i + 1): float(v) for i, v in enumerate(values)},
          'the answers are stored as given (values, not weights)')

    # Replacing unanswered texts: the running server follows.
    edited = json.loads(json.dumps(ecrr))
    edited['items']['ecrr_9'] = 'Study wording for ECR-R item 9, edited before anyone answered'
    write('texts/ecrr-edited.json', edited)
    r = home.attune('study', 'texts', 'texts', os.path.join(root, 'texts/ecrr-edited.json'))
    t.is_(r.returncode, 0, 'attune study texts replaces texts nobody has answered')
    t.contains(r.stdout, 'replaced', 'and says so')
    t.is_(home.sql("SELECT checksum FROM item_texts WHERE instrument_id = 'ecrr'")[0][0],
          canonical_sha(edited), 'the new checksum is stored')
    st, hdr, body = srv.get(path)
    html = body.decode()
    t.contains(html, 'item 9, edited before anyone answered',
               'the form shows the new wording without a restart')
    t.is_(form_fields(html).get('instrument'), 'ecrr', 'ECR-R is still due')

    # ECR-R has no total, only its two subscales: its answers are stored with
    # a null total (this once failed with a 500).
    fields = form_fields(html)
    post = dict(fields, **{'ecrr_%d' % i: '4' for i in range(1, 37)})
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post), FORM)
    t.is_(st, 201, 'the ECR-R form is stored')
    rows = home.sql("SELECT total_score, subscale_scores ? 'anxiety', subscale_scores ? 'avoidance',"
                    " items_answered FROM responses WHERE instrument_id = 'ecrr'")
    t.is_(rows, [(None, True, True, 36)], 'with a null total and both subscales')

    # Answered texts never change: PSS-10 has a response in this study now.
    changed = json.loads(json.dumps(pss))
    changed['items']['pss10_1'] = 'Study wording for PSS-10 item 1, changed'
    write('texts/pss10-changed.json', changed)
    r = home.attune('study', 'texts', 'texts', os.path.join(root, 'texts/pss10-changed.json'))
    t.ok(r.returncode != 0, 'other texts for an answered version are refused', r.stdout)
    t.contains(r.stderr, 'already have responses', 'saying why')
    t.contains(r.stderr, canonical_sha(pss), 'naming the stored checksum')
    t.is_(home.sql("SELECT checksum FROM item_texts WHERE study_id = 'texts'"
                   " AND instrument_id = 'pss10'")[0][0],
          canonical_sha(pss), 'the stored texts are unchanged')
    st, hdr, body = srv.get(path + '?q=pss10')
    t.ok('item 1, changed' not in body.decode(), 'and the form still shows the answered wording')
    r = home.attune('study', 'texts', 'texts', os.path.join(root, 'texts/pss10-en.json'))
    t.ok(r.returncode == 0 and 'unchanged' in r.stdout, 'the same texts again change nothing',
         r.stdout + r.stderr)
    t.is_(home.sql("SELECT count(*) FROM audit_log WHERE action = 'study.texts'")[0][0], 1,
          'one study.texts audit row (the replacement), none for the refusal or the no-op')
    detail = home.sql("SELECT detail FROM audit_log WHERE action = 'study.texts'")[0][0]
    t.is_(detail, {'instrument': 'ecrr', 'version': '1', 'checksum': canonical_sha(edited),
                   'replaced': canonical_sha(ecrr)}, 'it names both checksums')
    for stmt, what in (("UPDATE item_texts SET checksum = repeat('0', 64)"
                        " WHERE study_id = 'texts' AND instrument_id = 'pss10'", 'an UPDATE'),
                       ("DELETE FROM item_texts WHERE study_id = 'texts'"
                        " AND instrument_id = 'pss10'", 'a DELETE')):
        try:
            home.sql(stmt)
            t.ok(False, 'the database refuses %s of answered texts' % what)
        except Exception as ex:  # psycopg2's IntegrityError
            t.ok('have responses' in str(ex), 'the database refuses %s of answered texts' % what,
                 ex)
    try:
        home.sql("UPDATE item_texts SET supplied_at = supplied_at WHERE study_id = 'texts'")
        t.ok(True, 'an update that keeps the checksum is allowed')
    except Exception as ex:
        t.ok(False, 'an update that keeps the checksum is allowed', ex)

    # ------------------------------------------------------------------ FHIR
    st, hdr, q = srv.json('GET', '/fhir/Questionnaire/pss10')
    t.is_(st, 200, 'the public Questionnaire of PSS-10')
    t.ok(all('text' not in it for it in q['item'] if it['linkId'].startswith('pss10_')),
         'never carries a study wording')
    st, hdr, q = srv.json('GET', '/api/v1/me/questionnaires/pss10', headers=bearer(p2))
    t.is_(st, 200, "the participant's Questionnaire of PSS-10")
    t.contains(hdr.get('content-type'), 'application/fhir+json', 'as FHIR JSON')
    texts = {it['linkId']: it.get('text') for it in q['item']}
    t.is_(texts.get('pss10_4'), 'Study wording for PSS-10 item 4', "with the study's wording")
    t.contains(q.get('copyright'), 'Item texts: ' + PERMISSION, 'and its permission')
    t.contains(q.get('url'), '/fhir/Questionnaire/pss10', 'under the instrument canonical URL')
    st, hdr, q = srv.json('GET', '/api/v1/me/questionnaires/ecrr', headers=bearer(p2))
    t.is_((st, q.get('language')), (200, 'en-GB'), "ECR-R in the texts' language")
    st, _, body = srv.json('GET', '/api/v1/me/questionnaires/who5', headers=bearer(p2))
    t.is_((st, body.get('code')), (404, 'not-scheduled'), 'an unscheduled instrument is 404')
    st, _, body = srv.json('GET', '/api/v1/me/questionnaires/pss10')
    t.is_(st, 401, 'the participant route needs a token')
    rita, otto = Browser(srv), Browser(srv)
    t.is_(rita.login('rita')[0], 303, 'the researcher signs in')
    t.is_(otto.login('otto')[0], 303, 'the other researcher signs in')
    st, hdr, q = rita.json('GET', '/api/v1/studies/texts/questionnaires/pss10')
    t.is_(st, 200, "the study team's Questionnaire")
    t.is_({it['linkId']: it.get('text') for it in q['item']}.get('pss10_5'),
          'Study wording for PSS-10 item 5', "with the study's wording")
    st, _, body = otto.json('GET', '/api/v1/studies/texts/questionnaires/pss10')
    t.is_(st, 403, "another study's researcher is refused")
    st, _, body = otto.json('GET', '/api/v1/studies/notexts/questionnaires/pss10')
    t.is_((st, body.get('code')), (409, 'texts-missing'),
          'a study without texts gets 409 texts-missing')

    # --------------------------------------------- a study without texts
    path3 = '/p/' + p3
    st, hdr, body = srv.get(path3)
    html = body.decode()
    t.is_(st, 200, 'a study without texts still shows what it can')
    t.is_(form_fields(html).get('instrument'), 'gad7', 'GAD-7, not the scoring key')
    t.contains(html, 'Questionnaire 1 of 2 due now', 'both are counted as due')
    st, hdr, body = srv.get(path3 + '?q=pss10')
    html = body.decode()
    t.is_(st, 409, 'asked for PSS-10, the form refuses (409)')
    t.contains(hdr.get('content-type'), 'text/html', 'as a page')
    t.contains(html, 'has not supplied the wording', 'politely, saying why')
    t.ok('Question 1' not in html and 'type="radio"' not in html, 'with no empty questions')
    st, hdr, body = srv.get(path3)
    rid = form_fields(body.decode()).get('rid')
    st, hdr, body = srv.post(path3, urllib.parse.urlencode(
        dict({'instrument': 'pss10', 'rid': rid}, **{'pss10_%d' % i: '1' for i in range(1, 11)})),
        FORM)
    t.is_(st, 409, 'a crafted form POST for PSS-10 is refused too')
    st, _, body = srv.json('GET', '/api/v1/me/questionnaires/pss10', headers=bearer(p3))
    t.is_((st, body.get('code')), (409, 'texts-missing'), 'and so is its Questionnaire')
    answers = {'pss10_%d' % (i + 1): v for i, v in enumerate(values)}
    answers['pss10_7'] = 3
    st, _, body = srv.json('POST', '/api/v1/responses', {
        'id': '5f0e4b7e-2b1a-4c55-9d9a-0b6c1f1e7a01', 'instrument': 'pss10', 'answers': answers,
        'completed_at': iso(datetime.now(timezone.utc))}, bearer(p3))
    t.is_(st, 201, 'the JSON API takes PSS-10 answers without texts')
    t.is_(body.get('scores', {}).get('total') if isinstance(body, dict) else body, 15.0,
          'and scores them with the reverse keys (15)')

    # Texts supplied later show at once; changing them after answers does not.
    r = home.attune('study', 'texts', 'notexts', os.path.join(root, 'texts/pss10-en.json'))
    t.ok(r.returncode == 0 and 'stored' in r.stdout, 'attune study texts supplies them later',
         r.stdout + r.stderr)
    st, _, q = otto.json('GET', '/api/v1/studies/notexts/questionnaires/pss10')
    t.is_((st, {it['linkId']: it.get('text') for it in q.get('item', [])}.get('pss10_1')),
          (200, 'Study wording for PSS-10 item 1'), 'the running server serves them without a restart')
    r = home.attune('study', 'texts', 'notexts', os.path.join(root, 'texts/pss10-changed.json'))
    t.ok(r.returncode != 0 and 'already have responses' in r.stderr,
         'and refuses to change them once PSS-10 has answers (from the API)', r.stderr)

    # The command's own refusals.
    r = home.attune('study', 'texts', 'nosuch', os.path.join(root, 'texts/pss10-en.json'))
    t.ok(r.returncode != 0 and 'study "nosuch" does not exist' in r.stderr,
         'an unknown study is named', r.stderr)
    write('texts/pss10-v2.json', texts_doc('pss10', 10, 'Wording %d', version='2'))
    r = home.attune('study', 'texts', 'texts', os.path.join(root, 'texts/pss10-v2.json'))
    t.ok(r.returncode != 0 and 'schedules version "1"' in r.stderr,
         'texts for a version the study does not schedule are refused', r.stderr)
    r = home.attune('study', 'texts', 'texts', os.path.join(root, 'texts/pss10-bad.json'))
    t.ok(r.returncode != 0 and 'invalid JSON' in r.stderr, 'a broken file is refused', r.stderr)
    write('texts/pss10-short.json', short)
    r = home.attune('study', 'texts', 'notexts', os.path.join(root, 'texts/pss10-short.json'))
    t.ok(r.returncode != 0 and 'no text for item "pss10_4"' in r.stderr,
         'an incomplete file is refused by the same checks', r.stderr)
    t.is_(home.sql("SELECT count(*) FROM audit_log WHERE action = 'study.texts'")[0][0], 2,
          'only the two changes were audited')
t.done()
