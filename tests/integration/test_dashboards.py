#!/usr/bin/env python3
"""The dashboards' JSON API and exports on the demo study, end to end:

- every document answers with its provenance (data version, analysis runs
  that exist in analysis_runs), and its numbers are those of the analysis
  commands: pre/post equal to `attune analyze prepost` (every population),
  the model-based means equal to `attune analyze mixed`, observed means equal
  to the responses table, the flow adding up, statuses equal to
  participant_schedule, correlations equal to a direct computation;
- viewers get aggregates only: every participant-level route and export is
  403 for them, and for a researcher of another study; pages send strangers
  to /login;
- a safety flag acknowledged once (CSRF-checked, audited), then gone from
  the list; the data version moves with new data, and a stale document is
  rebuilt;
- participant submissions are counted by outcome (stored, retry, refusals
  by problem code) and reach the data-quality document;
- exports stream CSV and JSON with the right rows, columns and codebook, and
  are audited.
Then the browser suite (tests/browser/dashboards.mjs) runs against the same
server."""
import csv
import io
import json
import math
import statistics
import time
import uuid
from datetime import datetime, timezone

from accesskit import PASSWORD, Browser, add_user, audit_rows, bearer, last_audit_id
from harness import Home, Tap

t = Tap()
API = '/api/v1/studies/demo/dashboard'


def now_iso():
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def same(a, b, tol=1e-12):
    if a is None or b is None:
        return a is b
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y, tol) for x, y in zip(a, b))
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def enroll(home, code, arm='app'):
    """Enrols a participant an hour ago (week 0 open); returns the token."""
    then = datetime.fromtimestamp(time.time() - 3600, timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    r = home.attune('enroll', '--study', 'demo', '--arm', arm, '--code', code, '--enrolled-at', then)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    return rows[0]['token'] if rows else None


def gad7(rid, value=2):
    return {'id': rid, 'instrument': 'gad7', 'completed_at': now_iso(),
            'answers': {'gad7_%d' % i: value for i in range(1, 8)}}


def wait_for(pred, seconds=20, every=0.5):
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return pred()


with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'migrated (006_dashboards.sql included)')
    r = home.attune('demo', timeout=600)
    t.ok(r.returncode == 0, 'the demo study is loaded', r.stderr)
    for name, role, studies in (('alice', 'researcher', ['demo']), ('vera', 'viewer', ['demo']),
                                ('root', 'admin', []), ('olga', 'researcher', [])):
        t.is_(add_user(home, name, role, studies=studies).returncode, 0, 'user %s' % name)
    r = home.attune('token', 'create', '--user', 'alice', '--name', 'dash', '--scope',
                    'read,write,export', '--study', 'demo')
    atk = r.stdout.split()[0] if r.returncode == 0 else None
    t.ok(atk and atk.startswith('atk.'), 'an API token for alice', r.stderr)
    srv = home.serve()

    alice, vera, root, olga = Browser(srv), Browser(srv), Browser(srv), Browser(srv)
    for b, name in ((alice, 'alice'), (vera, 'vera'), (root, 'root'), (olga, 'olga')):
        b.login(name)

    # ---- the change endpoint
    st, _, ch = alice.json('GET', API + '/changes')
    t.is_(st, 200, 'changes answers')
    t.ok(isinstance(ch.get('version'), int), 'changes has a numeric version', ch)

    # ---- overview
    st, hdr, ov = alice.json('GET', API + '/overview')
    t.is_(st, 200, 'overview answers')
    t.contains(hdr.get('cache-control', ''), 'no-store', 'documents are not cached by browsers')
    d = ov['data']
    t.is_(d['enrolled'], 280, 'overview: 280 enrolled')
    t.is_(d['primary_instrument'], 'gad7', 'overview: the weekly instrument is the primary one')
    t.is_(sorted(a['id'] for a in d['study']['arms']), ['app', 'waitlist'], 'overview: the arms')
    t.is_(sum(x['enrolled'] for x in d['enrolment'] if True), 280, 'enrolment by week adds up to 280')
    f = d['flow']
    ok = True
    for a in f['arms'] + [dict(f['total'], arm='total')]:
        ok &= a['enrolled'] == a['baseline_done'] + a['no_baseline']
        ok &= a['baseline_done'] == (a['completers'] + a['not_final_withdrawn'] + a['not_final_missed']
                                     + a['not_final_void'] + a['not_final_pending'])
    t.ok(ok, 'the flow adds up in every arm and in total', f)
    db = dict(((w, s), n) for w, s, n in home.sql(
        "SELECT week, status, count(*) FROM participant_schedule WHERE study_id = 'demo'"
        " AND instrument_id = 'gad7' GROUP BY 1, 2"))
    got = {(w['week'], s): w[s] for w in f['weeks'] if w['arm'] == 'all'
           for s in ('completed', 'late', 'missed', 'open', 'upcoming', 'withdrawn') if w[s]}
    t.is_(got, db, 'statuses by week equal participant_schedule')
    flagged = home.sql("SELECT count(*) FROM responses r JOIN participants p ON p.id ="
                       " r.participant_id WHERE p.study_id = 'demo' AND r.flags <> '{}'")[0][0]
    t.is_(d['alerts']['safety_unacknowledged'], flagged, 'every flagged response is an alert')
    runs = d['runs']
    t.ok(len(runs) == 1 and runs[0]['kind'] == 'dashboard.overview', 'overview names its run')
    rows = home.sql('SELECT kind, study_id, input_fingerprint FROM analysis_runs WHERE id = %s',
                    (runs[0]['id'],))
    t.is_(rows, [('dashboard.overview', 'demo', runs[0]['fingerprint'])],
          'the overview run is in analysis_runs with its fingerprint')
    t.ok(ov['meta']['version'] == ov['meta']['current_version'] and not ov['meta']['stale'],
         'a fresh document is not stale', ov['meta'])

    # ---- outcomes: the numbers of attune analyze
    st, _, oc = alice.json('GET', API + '/outcomes?instrument=gad7')
    t.is_(st, 200, 'outcomes answers')
    o = oc['data']
    t.is_((o['instrument']['min'], o['instrument']['max']), (0.0, 21.0),
          'outcomes: GAD-7 runs from 0 to 21')
    t.is_(o['instrument']['weeks'], list(range(9)), 'outcomes: GAD-7 weeks 0 to 8')
    for pop in ('completers', 'bocf', 'locf'):
        r = home.attune('analyze', 'prepost', '--study', 'demo', '--instrument', 'gad7',
                        '--by-arm', '--population', pop, '--format', 'json', timeout=300)
        ref = json.loads(r.stdout)
        mismatches = []
        for g in o['prepost']:
            if g['population_name'] != pop:
                continue
            want = ref if g['arm'] == 'all' else ref['by_arm'][g['arm']]
            for k in ('n', 'mean_pre', 'mean_post', 'sd_pre', 'sd_post', 'mean_diff', 'sd_diff',
                      'r_pre_post', 'd_av', 'd_rm', 'g_av', 'delta_pre'):
                if not same(g[k], want[k]):
                    mismatches.append((g['arm'], k, g[k], want[k]))
            for k, sub in (('paired_t', ('t', 'df', 'p', 'mean_diff_ci95')), ('d_z', ('value', 'ci95')),
                           ('pct_reduction_group_means', ('value', 'ci95', 'ci95_bca')),
                           ('individual_pct_reduction', ('mean', 'median', 'n_used', 'n_excluded')),
                           ('responders', ('count', 'n', 'share', 'ci95')),
                           ('remission', ('count', 'n', 'share', 'ci95')),
                           ('reliable_change', ('reliability', 'se_diff', 'min_reliable_change',
                                                'improved', 'unchanged', 'deteriorated',
                                                'clinically_significant'))):
                for s in sub:
                    a, b = g[k][s], want[k][s]
                    if isinstance(a, dict):
                        if a != b:
                            mismatches.append((g['arm'], k, s, a, b))
                    elif not same(a, b):
                        mismatches.append((g['arm'], k, s, a, b))
        t.ok(not mismatches, 'pre/post (%s, each arm and all) equals attune analyze prepost' % pop,
             mismatches[:5])
    r = home.attune('analyze', 'mixed', '--study', 'demo', '--instrument', 'gad7',
                    '--time-categorical', '--interaction', '--pre', '0', '--post', '8',
                    '--format', 'json', timeout=300)
    ref = json.loads(r.stdout)
    ref_means = {(m['arm'], int(m['time'])): m for m in ref['means']}
    bad = [(m['arm'], m['week']) for m in o['model']['means']
           if not (same(m['estimate'], ref_means[(m['arm'], m['week'])]['estimate'], 1e-9)
                   and same(m['ci95'], ref_means[(m['arm'], m['week'])]['ci95'], 1e-9))]
    t.ok(not bad and len(o['model']['means']) == 18,
         'model-based means (9 weeks x 2 arms) equal attune analyze mixed', bad)
    t.ok(all(same(a['percent']['estimate'], b['percent']['estimate'], 1e-9)
             for a, b in zip(o['model']['reduction'], ref['reduction'])),
         'the model-based reduction equals attune analyze mixed')
    kinds = {r['kind'] for r in o['runs']}
    t.is_(kinds, {'dashboard.outcomes', 'mixed'}, 'outcomes names its two runs')
    t.is_(home.sql('SELECT kind FROM analysis_runs WHERE id = %s',
                   ([r['id'] for r in o['runs'] if r['kind'] == 'mixed'][0],)), [('mixed',)],
          'the mixed-model run is recorded as attune analyze mixed records it')
    obs = {(a, w): (n, m) for a, w, n, m in home.sql(
        "SELECT p.arm_id, r.study_week, count(*), avg(r.total_score) FROM responses r"
        " JOIN participants p ON p.id = r.participant_id WHERE p.study_id = 'demo'"
        " AND r.instrument_id = 'gad7' AND r.total_score IS NOT NULL GROUP BY 1, 2")}
    bad = [x for x in o['observed'] if x['n'] != obs[(x['arm'], x['week'])][0]
           or not same(x['mean'], float(obs[(x['arm'], x['week'])][1]), 1e-9)
           or not (x['ci95'][0] < x['mean'] < x['ci95'][1])]
    t.ok(not bad and len(o['observed']) == 18, 'observed means and n by arm and week equal the'
         ' responses table, each inside its CI', bad[:3])
    claims = [c for c in o['claims']]
    t.is_(sorted({c['population'] for c in claims}), ['bocf', 'completers', 'locf', 'mixed model'],
          'the claim table covers every population')
    comp = [c for c in claims if c['population'] == 'completers' and c['arm'] == 'app'][0]
    grp = [g for g in o['prepost'] if g['population_name'] == 'completers' and g['arm'] == 'app'][0]
    t.ok(comp['n'] == grp['n'] and comp['value'] == grp['pct_reduction_group_means']['value'],
         'a claim row is its pre/post group\'s reduction, with its n')

    st, _, ind = alice.json('GET', API + '/outcomes/individual?instrument=gad7')
    t.is_(st, 200, 'researchers get trajectories and Jacobson-Truax points')
    pts = ind['data']['jacobson_truax']
    for arm in ('app', 'waitlist'):
        g = [x for x in o['prepost'] if x['population_name'] == 'completers' and x['arm'] == arm][0]
        cs = g['reliable_change']['clinically_significant']
        mine = [p for p in pts if p['arm'] == arm]
        counts = {c: sum(1 for p in mine if p['category'] == c)
                  for c in ('recovered', 'improved', 'unchanged', 'deteriorated')}
        t.ok(len(mine) == g['n'] and all(counts[c] == cs[c] for c in counts),
             'Jacobson-Truax points of %s: one per completer, categories as the library counts'
             % arm, (len(mine), g['n'], counts, cs))
    t.ok(0 < ind['data']['trajectories_shown'] <= 80, 'a sample of trajectories, at most 40 an arm')
    st, _, x = alice.json('GET', API + '/outcomes?instrument=phq9')
    t.ok(st == 200 and x['data']['instrument']['max'] == 27.0, 'PHQ-9 outcomes run from 0 to 27')
    st, _, x = alice.json('GET', API + '/outcomes?instrument=nope')
    t.is_(st, 404, 'an instrument the study does not schedule is 404')
    st, _, x = alice.json('GET', API + '/outcomes?instrument=Bad%27--')
    t.is_(st, 400, 'a malformed instrument id is 400')

    # ---- engagement
    st, _, en = alice.json('GET', API + '/engagement')
    t.is_(st, 200, 'engagement answers')
    e = en['data']
    t.ok(len([w for w in e['weekly'] if w['metric'] == 'sessions']) == 16,
         'sessions per week: 8 study weeks x 2 arms')
    n_ev = home.sql("SELECT count(*) FROM events e JOIN participants p ON p.id = e.participant_id"
                    " WHERE p.study_id = 'demo'")[0][0]
    t.is_(sum(x['events'] for x in e['events_by_type']), n_ev, 'events by type add up to every event')
    st, _, pp = alice.json('GET', API + '/engagement/points')
    points = pp['data']['points']
    a = [x for x in e['association'] if x['metric'] == 'minutes' and x['arm'] == 'all'][0]
    r_py = statistics.correlation([p['minutes'] for p in points], [p['change'] for p in points])
    t.ok(a['n'] == len(points) and same(a['pearson']['r'], r_py, 1e-9),
         'engagement vs change: Pearson r equals a direct computation', (a['pearson'], r_py))
    line = a['line']
    t.ok(same(line['y_at_max'] - line['y_at_min'],
              line['slope'] * (line['x_max'] - line['x_min']), 1e-9),
         'the fitted line runs over the observed range with its slope')

    # ---- quality
    st, _, q = alice.json('GET', API + '/quality')
    t.is_(st, 200, 'quality answers')
    qd = q['data']
    total = {s['status']: s['n'] for s in qd['statuses'] if s['instrument'] == 'all' and s['week'] == -1}
    t.is_(total.get('missed'), home.sql("SELECT count(*) FROM participant_schedule"
                                        " WHERE study_id = 'demo' AND status = 'missed'")[0][0],
          'missed questionnaires equal participant_schedule')
    retry = [x for x in qd['intake'] if x['channel'] == 'responses' and x['outcome'] == 'retry']
    t.ok(retry and retry[0]['items'] > 0, 'the demo\'s retried uploads are counted', qd['intake'])

    # ---- studies
    st, _, s = vera.json('GET', '/api/v1/dashboard/studies')
    t.ok(st == 200 and [x['id'] for x in s['studies']] == ['demo'], 'a viewer sees her study')
    demo = s['studies'][0]
    t.ok(demo['headline'] and demo['retention'] and demo['participants']['enrolled'] == 280,
         'the study has its enrolment, retention and headline, each from a run', demo)
    st, _, s = olga.json('GET', '/api/v1/dashboard/studies')
    t.is_(s['studies'], [], 'a researcher of no study sees none')

    # ---- who may see what
    participant_level = [API + '/completion', API + '/alerts', API + '/outcomes/individual',
                         API + '/engagement/points', API + '/quality/participants',
                         '/api/v1/studies/demo/participants/P001/timeline']
    exports = ['/api/v1/studies/demo/export/' + f for f in
               ('responses-long.csv', 'responses-wide.csv', 'codebook.csv', 'events.csv',
                'analysis.json', 'claims.csv', 'report.html', 'report.json')]
    aggregates = [API + '/changes', API + '/overview', API + '/outcomes', API + '/engagement',
                  API + '/quality']
    t.ok(all(vera.json('GET', p)[0] == 200 for p in aggregates), 'a viewer reads every aggregate')
    got = [(p, vera.json('GET', p)[0]) for p in participant_level + exports]
    t.ok(all(st == 403 for _, st in got), 'a viewer gets 403 on every participant-level route and'
         ' export', got)
    got = [(p, olga.json('GET', p)[0]) for p in aggregates + participant_level + exports]
    t.ok(all(st == 403 for _, st in got), 'a researcher of another study gets 403 everywhere', got)
    st, _, _ = srv.json('GET', API + '/overview')
    t.is_(st, 401, 'no credentials: 401')
    for page in ('/dashboards', '/dashboards/demo/overview', '/dashboards/demo/exports'):
        st, hdr, _ = srv.request('GET', page)
        t.ok(st == 303 and hdr.get('location', '').startswith('/login'),
             '%s sends a stranger to /login' % page, (st, hdr.get('location')))
    for page in ('/dashboards/demo/exports', '/dashboards/demo/participants/P001'):
        st, _, _ = vera.request('GET', page)
        t.is_(st, 403, 'a viewer cannot open %s' % page)
    for page in ('/dashboards', '/dashboards/demo/overview', '/dashboards/demo/outcomes',
                 '/dashboards/demo/engagement', '/dashboards/demo/quality'):
        st, hdr, body = vera.request('GET', page)
        ok = st == 200 and b'<script type="module"' in body and b'style=' not in body \
            and b'<style' not in body
        t.ok(ok, 'a viewer opens %s: a page without inline style' % page)
    t.is_(srv.request('GET', '/vendor/chart.umd.min.js')[0], 200,
          'Chart.js is served from node_modules')
    st, _, ap = srv.json('GET', '/api/v1/studies/demo/dashboard/completion',
                         headers=bearer(atk))
    t.ok(st == 200 and ap['total'] == 280 and len(ap['participants']) == 50,
         'an API token reads the completion grid (50 a page)')
    t.ok(all(len(p['weeks']) == 9 for p in ap['participants']), 'each row has 9 weekly cells')
    since = last_audit_id(home)
    alice.json('GET', '/api/v1/studies/demo/participants/P001/timeline')
    rows = audit_rows(home, 'participant.read', since)
    t.ok(len(rows) == 1 and rows[0][4].startswith('participant:demo/#') and 'P001' not in rows[0][4],
         'a timeline read is audited, naming the participant by id', rows)

    # ---- acknowledging a safety flag
    st, _, al = alice.json('GET', API + '/alerts')
    first = al['data']['safety'][0]
    path = API + '/alerts/%s/acknowledge' % first['response_id']
    st, _, _ = alice.json('POST', path, json_body={})
    t.is_(st, 403, 'acknowledging without the CSRF token is refused')
    st, _, _ = vera.json('POST', path, json_body={}, headers={'X-CSRF-Token': vera.csrf()})
    t.is_(st, 403, 'a viewer cannot acknowledge')
    since = last_audit_id(home)
    st, _, ack = alice.json('POST', path, json_body={'note': 'called, safe'},
                            headers={'X-CSRF-Token': alice.csrf()})
    t.ok(st == 200 and ack['already_acknowledged'] is False and ack['acknowledged_by'] == 'alice',
         'alice acknowledges a flag', ack)
    st, _, ack2 = alice.json('POST', path, json_body={}, headers={'X-CSRF-Token': alice.csrf()})
    t.ok(st == 200 and ack2['already_acknowledged'] is True, 'twice changes nothing')
    rows = audit_rows(home, 'alert.acknowledge', since)
    t.ok(len(rows) == 1 and rows[0][4] == 'response:' + first['response_id'],
         'the acknowledgement is audited once', rows)
    st, _, _ = alice.json('POST', API + '/alerts/%s/acknowledge' % uuid.uuid4(), json_body={},
                          headers={'X-CSRF-Token': alice.csrf()})
    t.is_(st, 404, 'an unknown response is 404')
    st, _, _ = alice.json('POST', path, json_body={'note': 5}, headers={'X-CSRF-Token': alice.csrf()})
    t.is_(st, 422, 'a note that is not text is 422')
    left = wait_for(lambda: first['response_id'] not in
                    [a['response_id'] for a in alice.json('GET', API + '/alerts')[2]['data']['safety']])
    t.ok(left, 'the acknowledged flag leaves the list')

    # ---- new data: the version moves, documents follow, submissions are counted
    v0 = alice.json('GET', API + '/changes')[2]['version']
    tok = enroll(home, 'NEW001')
    t.ok(tok, 'a participant enrolled now')
    rid = str(uuid.uuid4())
    st, _, _ = srv.json('POST', '/api/v1/responses', body='{"id": ', headers=dict(
        bearer(tok), **{'Content-Type': 'application/json'}))
    t.is_(st, 400, 'a malformed submission is refused')
    bad = gad7(str(uuid.uuid4()))
    bad['answers']['gad7_1'] = 9
    t.is_(srv.json('POST', '/api/v1/responses', body=bad, headers=bearer(tok))[0], 422,
          'an invalid answer is refused')
    t.is_(srv.json('POST', '/api/v1/responses', body=gad7(rid), headers=bearer(tok))[0], 201,
          'a GAD-7 is stored')
    t.is_(srv.json('POST', '/api/v1/responses', body=gad7(rid), headers=bearer(tok))[0], 200,
          'its retry is absorbed')
    v1 = wait_for(lambda: alice.json('GET', API + '/changes')[2]['version'] > v0 and
                  alice.json('GET', API + '/changes')[2]['version'])
    t.ok(v1, 'the data version moves once the submission is sealed', (v0, v1))
    st, _, ov2 = alice.json('GET', API + '/overview')
    t.ok(ov2['data']['enrolled'] == 281 and ov2['meta']['version'] >= v1,
         'the overview is rebuilt with the new participant', ov2['meta'])
    st, _, cg = alice.json('GET', API + '/completion?limit=1')
    row = cg['participants'][0]
    t.ok(row['code'] == 'NEW001' and row['weeks'][0]['status'] == 'completed',
         'the newest participant heads the grid with week 0 completed', row)

    def counted():
        st, _, qq = alice.json('GET', API + '/quality')
        got = {(x['channel'], x['outcome']): x['requests'] for x in qq['data']['intake']}
        want = [('responses', 'stored'), ('responses', 'malformed-json'),
                ('responses', 'invalid-submission')]
        return all(k in got for k in want) and got
    got = wait_for(counted, 30, 1)
    t.ok(got, 'submissions are counted by outcome, refusals by problem code', got)

    # ---- exports
    since = last_audit_id(home)
    st, hdr, body = alice.request('GET', '/api/v1/studies/demo/export/responses-long.csv')
    t.is_(st, 200, 'long CSV')
    t.contains(hdr.get('content-disposition', ''), 'demo-responses-long.csv', 'as an attachment')
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    want = home.sql("SELECT (SELECT count(*) FROM response_items i JOIN responses r ON r.id ="
                    " i.response_id JOIN participants p ON p.id = r.participant_id"
                    " WHERE p.study_id = 'demo') + 2 * (SELECT count(*) FROM responses r"
                    " JOIN participants p ON p.id = r.participant_id WHERE p.study_id = 'demo')"
                    " + (SELECT coalesce(sum((SELECT count(*) FROM jsonb_object_keys("
                    "r.subscale_scores))), 0) FROM responses r JOIN participants p ON p.id ="
                    " r.participant_id WHERE p.study_id = 'demo')")[0][0]
    t.is_(len(rows), want, 'long CSV: every item answer, score and band')
    t.is_(list(rows[0].keys()), ['code', 'arm', 'instrument', 'version', 'week', 'completed_at',
                                 'timing', 'variable', 'value'], 'long CSV: its columns')
    codes = [r['code'] for r in rows]
    t.ok(codes == sorted(codes, key=lambda c: codes.index(c)), 'long CSV: grouped by participant')
    st, _, body = alice.request('GET', '/api/v1/studies/demo/export/codebook.csv')
    book = list(csv.DictReader(io.StringIO(body.decode())))
    gad = [b for b in book if b['variable'] == 'gad7_1_w0']
    t.ok(gad and '0=Not at all' in gad[0]['values'] and gad[0]['label'],
         'codebook: items with their text and answer labels', gad)
    st, _, body = alice.request('GET', '/api/v1/studies/demo/export/responses-wide.csv')
    wide = list(csv.reader(io.StringIO(body.decode())))
    header = wide[0]
    t.is_(len(wide) - 1, 281, 'wide CSV: one row per participant')
    t.ok(all(v['variable'] in header for v in book if v['kind'] in ('item', 'score')),
         'wide CSV: a column for every variable in the codebook')
    i = header.index('gad7_total_w0')
    new_row = [r for r in wide if r[0] == 'NEW001'][0]
    t.is_(new_row[i], '14', 'wide CSV: the new participant\'s week-0 total')
    st, _, body = alice.request('GET', '/api/v1/studies/demo/export/events.csv')
    ev = list(csv.DictReader(io.StringIO(body.decode())))
    t.is_(len(ev), n_ev, 'events CSV: every event')
    st, _, aj = alice.json('GET', '/api/v1/studies/demo/export/analysis.json')
    t.ok(st == 200 and {r['kind'] for r in aj['runs']} >= {'dashboard.overview', 'mixed',
                                                            'dashboard.outcomes'},
         'analysis JSON: the newest run of each kind', [r['kind'] for r in aj.get('runs', [])])
    st, _, body = alice.request('GET', '/api/v1/studies/demo/export/claims.csv')
    cl = list(csv.DictReader(io.StringIO(body.decode())))
    t.ok(len(cl) >= 11 and all(c['run_id'] for c in cl), 'claims CSV: every row names its run')
    st, hdr, body = alice.request('GET', '/api/v1/studies/demo/export/report.html?claim='
                                  '43%25%20reduction%20among%20280%20adults%20over%208%20weeks')
    html = body.decode()
    t.ok(st == 200 and 'Claim report' in html and '<style' not in html and 'style=' not in html
         and '<script' not in html and '/vendor/report.css' in html,
         'the claim report as HTML: no inline style or script, its stylesheet linked', st)
    t.is_(srv.request('GET', '/vendor/report.css')[0], 200, 'the report\'s stylesheet is served')
    st, _, rj = alice.json('GET', '/api/v1/studies/demo/export/report.json')
    t.ok(st == 200 and rj.get('kind') == 'report' and
         home.sql('SELECT kind FROM analysis_runs WHERE id = %s',
                  (rj['provenance']['run_id'],)) == [('report',)],
         'the claim report as JSON, recorded as attune report records it')
    st, _, _ = alice.json('GET', '/api/v1/studies/demo/export/report.html?claim=nothing%20here')
    t.is_(st, 422, 'a claim without a figure is 422')
    st, _, body = srv.request('GET', '/api/v1/studies/demo/export/events.csv', headers=bearer(atk))
    t.is_(st, 200, 'an API token with the export scope exports')
    acts = [r[3] for r in audit_rows(home, None, since)]
    t.ok(acts.count('export.csv') >= 5 and acts.count('export.json') == 1
         and acts.count('export.report') == 2,
         'every export is audited', acts)

    # ---- the browser suite on this server (the demo, and a participant to submit)
    tok2 = enroll(home, 'LIVE01')
    home.browser('dashboards.mjs', srv.url, PASSWORD, tok2)
t.done()
