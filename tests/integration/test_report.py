#!/usr/bin/env python3
"""attune analyze attrition, attune analyze engagement and attune report on a
small study made by hand through the collector's own API: nine participants
whose every answer, miss, late answer, withdrawal and app event is known, so
the flow, the populations, the engagement measures and the headline numbers
can be checked against values computed here independently. Then the claim
checker (a claim the data reproduce, one they do not, one with the wrong n),
reruns, the HTML page's hygiene, and every refusal."""
import csv
import io
import json
import os
import re
import uuid
from datetime import datetime, timedelta, timezone

from harness import Home, Tap

t = Tap()
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def iso(dt):
    return dt.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def gad(total):
    """GAD-7 answers (7 items, 0-3) adding up to total."""
    items, left = {}, total
    for i in range(1, 8):
        v = min(3, left)
        items['gad7_%d' % i] = v
        left -= v
    assert left == 0
    return items


# Each participant: arm, days since enrolment, {week: (total, 'on_time'|'late')},
# withdrawal day (or None). Weeks are 7 days; the GAD-7 window is 4 days.
PEOPLE = {
    'AP1': ('app', 40, {0: (16, 'on'), 1: (13, 'on'), 2: (11, 'on'), 3: (9, 'on'), 4: (8, 'on')},
           None),
    'AP2': ('app', 40, {0: (12, 'on'), 1: (11, 'on')}, None),
    'AP3': ('app', 40, {1: (10, 'on'), 2: (9, 'on'), 3: (9, 'on'), 4: (8, 'on')}, None),
    'AP4': ('app', 40, {0: (14, 'on'), 1: (13, 'late'), 2: (12, 'on')}, 22),
    'AP5': ('app', 40, {0: (9, 'on'), 1: (9, 'on'), 2: (6, 'on'), 3: (5, 'on'), 4: (3, 'on')},
           None),
    'CT1': ('control', 40, {0: (13, 'on'), 1: (13, 'on'), 2: (12, 'on'), 3: (12, 'on'),
                           4: (12, 'on')}, None),
    'CT2': ('control', 40, {0: (10, 'on'), 1: (10, 'on'), 2: (11, 'on'), 3: (9, 'on'),
                           4: (10, 'on')}, None),
    'CT3': ('control', 40, {0: (16, 'on'), 1: (15, 'on')}, None),
    'CT4': ('control', 19, {0: (11, 'on'), 1: (11, 'on'), 2: (10, 'on')}, None),
}

# App events of AP1 and AP5 (minutes after enrolment at 08:00 UTC), with the
# measures they must give (docs/report.md's session rule, 60-minute cap).
DAY = 24 * 60
EVENTS = {
    'AP1': [(1 * DAY + 600, 'session_start'), (1 * DAY + 602, 'breathing_exercise'),
           (1 * DAY + 612, 'session_end'), (1 * DAY + 630, 'trigger_log_entry'),
           (3 * DAY + 540, 'session_start'), (3 * DAY + 545, 'exercise_completed'),
           (9 * DAY + 60, 'session_end'), (9 * DAY + 61, 'app_open'),
           (9 * DAY + 120, 'session_start'), (9 * DAY + 240, 'session_end')],
    'AP5': [(15 * DAY + 60, 'session_start'), (15 * DAY + 70, 'grounding_exercise'),
           (15 * DAY + 90, 'session_end')],
}
# AP1: week 0: days 1 and 3, sessions of 12 (paired) and 5 (the day-3 start is still open when
# an end comes on day 9, after the cap: it is kept as an unpaired start lasting until its last
# exercise, and that end is dropped) minutes, 2 exercises, 1 trigger log; week 1: day 9, a start
# whose end comes 120 minutes later (over the cap again: kept for 0 minutes, the end dropped).
A1_WEEKS = {0: dict(active_days=2, sessions=2, minutes=17, exercises=2, trigger_logs=1),
            1: dict(active_days=1, sessions=1, minutes=0, exercises=0, trigger_logs=0)}
A1_TOTAL = dict(active_days=3, sessions=3, minutes=17, exercises=2, trigger_logs=1)


def pct(x):
    return 100.0 * x


with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')
    protocol = os.path.join(home.root, 'trial.json')
    with open(protocol, 'w') as f:
        json.dump({'id': 'trial', 'title': 'A hand-made trial', 'weeks': 4, 'timezone': 'UTC',
                   'allow_late': True, 'arms': ['app', 'control'],
                   'schedule': [{'instrument': 'gad7', 'version': '1', 'weeks': [0, 1, 2, 3, 4],
                                 'window_days': 4}]}, f)
    t.is_(home.attune('study', 'create', protocol).returncode, 0, 'study created')

    enrolled, tokens = {}, {}
    for code, (arm, days, _, _) in PEOPLE.items():
        at = (NOW - timedelta(days=days)).replace(hour=8, minute=0, second=0)
        r = home.attune('enroll', '--study', 'trial', '--arm', arm, '--code', code,
                        '--enrolled-at', iso(at))
        row = list(csv.DictReader(io.StringIO(r.stdout)))
        t.ok(r.returncode == 0 and row, 'enrolled %s' % code, r.stderr)
        enrolled[code], tokens[code] = at, row[0]['token']

    srv = home.serve()
    for code, (arm, days, answers, _) in PEOPLE.items():
        H = {'Authorization': 'Bearer ' + tokens[code]}
        for week, (total, when) in answers.items():
            # On time: day 1 of the week, 10:00; late: day 5 (the window is 4 days).
            done = enrolled[code] + timedelta(days=7 * week + (1 if when == 'on' else 5), hours=2)
            st, _, rec = srv.json('POST', '/api/v1/responses',
                                  {'id': str(uuid.uuid4()), 'instrument': 'gad7',
                                   'answers': gad(total), 'completed_at': iso(done)}, H)
            ok = st == 201 and rec['study_week'] == week and \
                rec['timing'] == ('on_time' if when == 'on' else 'late')
            t.ok(ok, '%s week %d stored %s' % (code, week, when), (st, rec))
        if code in EVENTS:
            batch = [{'id': str(uuid.uuid4()), 'type': typ,
                      'at': iso(enrolled[code] + timedelta(minutes=m))} for m, typ in EVENTS[code]]
            st, _, body = srv.json('POST', '/api/v1/events', batch, H)
            t.is_((st, body.get('accepted')), (200, len(batch)), '%s events stored' % code)
    srv.stop()
    for code, (_, _, _, wd) in PEOPLE.items():
        if wd is not None:
            home.sql("UPDATE participants SET status = 'withdrawn', withdrawn_at = %s "
                     "WHERE code = %s", (enrolled[code] + timedelta(days=wd), code))

    def run_json(*args):
        r = home.attune(*args, '--format', 'json', timeout=300)
        try:
            return r, json.loads(r.stdout)
        except ValueError:
            t.diag(r.stderr)
            return r, None

    # ------------------------------------------------------------------ attrition
    r, att = run_json('analyze', 'attrition', '--study', 'trial', '--instrument', 'gad7')
    t.is_(r.returncode, 0, 'attrition runs')
    arms = {a['arm']: a for a in att['arms']}
    t.is_(sorted(arms), ['app', 'control'], 'both arms, in order')
    want = {'app': dict(enrolled=5, baseline_done=4, no_baseline=1, completers=2,
                        final_without_baseline=1, withdrawn_any_time=1,
                        not_completed=dict(withdrew=1, missed=1, voided=0, pending=0)),
            'control': dict(enrolled=4, baseline_done=4, no_baseline=0, completers=2,
                            final_without_baseline=0, withdrawn_any_time=0,
                            not_completed=dict(withdrew=0, missed=1, voided=0, pending=1))}
    for arm, w in want.items():
        got = {k: arms[arm]['flow'][k] for k in w}
        t.is_(got, w, '%s: the flow is the hand count' % arm)
        t.ok(arms[arm]['adds_up']['baseline'] and arms[arm]['adds_up']['enrolled'],
             '%s: it adds up' % arm)
    t.is_(att['total']['flow']['enrolled'], 9, 'all arms: 9 enrolled')
    wk = {w['week']: w for w in arms['app']['weeks']}
    t.is_((wk[1]['completed'], wk[1]['late'], wk[1]['missed']), (4, 1, 0),
          'app week 1: 4 on time, 1 late')
    t.is_((wk[3]['missed'], wk[3]['withdrawn'], wk[3]['withdrew']), (1, 1, 1),
          'app week 3: AP2 missed, AP4 withdrawn (and withdrew that week)')
    t.is_((wk[0]['missed'], wk[0]['scored']), (1, 4), 'app week 0: AP3 missed, 4 scored')
    cw = {w['week']: w for w in arms['control']['weeks']}
    t.is_((cw[4]['completed'], cw[4]['missed'], cw[4]['upcoming']), (2, 1, 1),
          'control week 4: 2 answered, CT3 missed, CT4 upcoming')
    run_id = att.get('run_id')
    t.ok(run_id, 'the attrition run is recorded')
    r = home.attune('analyze', '--rerun', run_id)
    t.ok(r.returncode == 0 and 'identical' not in r.stderr, 'its rerun reproduces it', r.stderr)
    r, rr = run_json('analyze', '--rerun', run_id)
    t.ok(rr and rr['rerun']['identical'] and rr['rerun']['fingerprint_matches'],
         'rerun: identical, same fingerprint', rr and rr.get('rerun'))
    r = home.attune('analyze', 'attrition', '--study', 'trial', '--instrument', 'gad7')
    t.contains(r.stdout, 'completers: scored at baseline and final week', 'the table names rows')
    r = home.attune('analyze', 'attrition', '--study', 'trial', '--instrument', 'gad7',
                    '--format', 'csv')
    t.contains(r.stdout, 'flow,app,not_completed.missed,1', 'CSV has one number a row')

    # --------------------------------------------- the populations agree with the flow
    for arm in ('app', 'control'):
        for pop, key in (('completers', 'completers'), ('bocf', 'baseline_done'),
                         ('locf', 'baseline_done')):
            r, pp = run_json('analyze', 'prepost', '--study', 'trial', '--instrument', 'gad7',
                             '--arm', arm, '--population', pop, '--no-bootstrap')
            t.is_(pp and pp['n'], arms[arm]['flow'][key],
                  'analyze prepost %s %s: n is the flow\'s %s' % (arm, pop, key))

    # ------------------------------------------------------------------ engagement
    r, eng = run_json('analyze', 'engagement', '--study', 'trial', '--instrument', 'gad7')
    t.is_(r.returncode, 0, 'engagement runs')
    parts = {p['participant']: p for p in eng['participants']}
    t.is_({k: parts['AP1']['total'][k] for k in A1_TOTAL}, A1_TOTAL,
          'AP1 over the study: the hand count')
    for w, m in A1_WEEKS.items():
        got = {k: parts['AP1']['weeks'][w][k] for k in m}
        t.is_(got, m, 'AP1 week %d: the hand count' % w)
    t.is_(parts['AP5']['total']['minutes'], 30.0, 'AP5: one paired session of 30 minutes')
    t.is_(parts['AP5']['total']['exercises'], 1.0, 'AP5: grounding counts as an exercise')
    t.is_(eng['sessions'], {'sessions': 4, 'paired': 2, 'unpaired_start': 2, 'unpaired_end': 2,
                            'end_after_cap': 2}, 'session counts follow the documented rule')
    t.is_(parts['AP4']['weeks'][3]['exposed'], True, 'AP4 is exposed in the week of withdrawal')
    t.is_(parts['CT4']['full_exposure'], False, 'CT4 has not reached every study week')
    t.is_([w['exposed'] for w in parts['CT4']['weeks']], [True, True, True, False],
          'CT4: weeks 0-2 begun, week 3 not yet')
    t.is_(eng['outcome']['population']['included'], 4, 'the change score has 4 completers')
    corr = eng['outcome']['correlations']['all']['active_days']['pearson']
    xs = [parts[c]['total']['active_days'] for c in ('AP1', 'AP5', 'CT1', 'CT2')]
    ys = [PEOPLE[c][2][0][0] - PEOPLE[c][2][4][0] for c in ('AP1', 'AP5', 'CT1', 'CT2')]
    mx, my = sum(xs) / 4, sum(ys) / 4
    sxy = sum((a - mx) * (b - my) for a, b in zip(xs, ys))
    sxx = sum((a - mx) ** 2 for a in xs)
    syy = sum((b - my) ** 2 for b in ys)
    t.ok(abs(corr['r'] - sxy / (sxx * syy) ** 0.5) < 1e-12,
         'Pearson r of active days with change is the hand value', (corr, xs, ys))
    t.ok('mixed' in eng and 'fixed' in eng['mixed'] and
         'week:active_days_total' in eng['mixed']['fixed'],
         'the mixed model has engagement and its interaction with week', eng.get('mixed'))
    r = home.attune('analyze', '--rerun', eng['run_id'])
    t.is_(r.returncode, 0, 'the engagement run reproduces', )

    # ------------------------------------------------------------------ the report
    claim_ok = None
    r, rep = run_json('report', '--study', 'trial', '--instrument', 'gad7', '--arm-ref', 'control')
    t.is_(r.returncode, 0, 'the report runs', )
    rows = rep['headline']['rows']

    def row(defn, pop, arm):
        return next((x for x in rows if x['definition'] == defn and x['population'] == pop and
                     x['arm'] == arm), None)

    def pairs(arm, pop):
        out = []
        for code, (a, _, ans, _) in PEOPLE.items():
            if a != arm or 0 not in ans:
                continue
            if 4 in ans:
                out.append((ans[0][0], ans[4][0]))
            elif pop == 'bocf':
                out.append((ans[0][0], ans[0][0]))
            elif pop == 'locf':
                out.append((ans[0][0], ans[max(ans)][0]))
        return out

    for arm in ('app', 'control'):
        for pop in ('completers', 'bocf', 'locf'):
            p = pairs(arm, pop)
            mpre, mpost = sum(a for a, _ in p) / len(p), sum(b for _, b in p) / len(p)
            x = row('group_mean_pct', pop, arm)
            t.ok(x and x['n'] == len(p) and abs(x['value'] - 100 * (mpre - mpost) / mpre) < 1e-9,
                 'report %s %s: group-mean reduction is the hand value' % (arm, pop), x)
            ind = [100.0 * (a - b) / a for a, b in p]
            x = row('individual_pct_mean', pop, arm)
            t.ok(x and abs(x['value'] - sum(ind) / len(ind)) < 1e-9,
                 'report %s %s: mean individual reduction is the hand value' % (arm, pop), x)
            x = row('responders_pct', pop, arm)
            t.ok(x and abs(x['value'] - 100.0 * sum(v >= 50 for v in ind) / len(ind)) < 1e-9,
                 'report %s %s: responders are the hand share' % (arm, pop), x)
    pops = {p['key']: p['n'] for p in rep['populations']}
    for arm in ('app', 'control'):
        f = arms[arm]['flow']
        t.is_((pops['completers'][arm]['n'], pops['bocf'][arm]['n'], pops['locf'][arm]['n']),
              (f['completers'], f['baseline_done'], f['baseline_done']),
              '%s: completers and ITT populations are the flow\'s counts' % arm)
        left = sum(f['not_completed'].values())
        t.is_(pops['completers'][arm]['n'] + left, f['baseline_done'],
              '%s: completers + those who did not complete = baseline done' % arm)
        t.ok(all(rep['adds_up'][arm][k] for k in rep['adds_up'][arm] if k.endswith('_is_flow') or
                 k.endswith('_is_baseline')), '%s: the report says it adds up' % arm,
             rep['adds_up'][arm])
    t.is_(pops['mixed']['all']['n'], 9, 'the mixed model uses all 9 participants with a score')
    t.ok(row('group_mean_pct', 'mixed', 'app') is not None, 'a model-based reduction per arm')
    prov = rep['provenance']
    t.ok(re.match(r'^[0-9a-f-]{36}$', prov.get('run_id', '')), 'provenance: the run id')
    t.ok(re.match(r'^[0-9a-f]{64}$', prov.get('data_fingerprint', '')), 'provenance: fingerprint')
    t.is_(prov.get('instrument_versions'), ['gad7@1'], 'provenance: instrument versions')
    t.ok(prov.get('version') and prov.get('git'), 'provenance: program version')
    t.is_(home.sql("SELECT kind, input_fingerprint FROM analysis_runs WHERE id = %s",
                   (prov['run_id'],)), [('report', prov['data_fingerprint'])],
          'the report run is recorded with its fingerprint')
    t.is_([b['instrument'] for b in rep['baseline']], ['gad7'], 'baseline characteristics')
    t.is_({a['arm']: a['n'] for a in rep['baseline'][0]['arms']},
          {'app': 4, 'control': 4, 'all': 8}, 'baseline n by arm')

    # ------------------------------------------------------------------ claims
    x = row('group_mean_pct', 'completers', 'app')
    figure = round(x['value'])
    good = '%d%% reduction in anxiety among %d completers in the app arm over 4 weeks' % (
        figure, x['n'])
    r, rep = run_json('report', '--study', 'trial', '--instrument', 'gad7', '--claim', good)
    cl = rep and rep['claim']
    t.is_(cl and cl['verdict'], 'reproduced', 'a claim the data reproduce is accepted: ' + good)
    t.ok(cl and any(m['verdict'] == 'reproduces' and m['definition'] == 'group_mean_pct' and
                    m['population'] == 'completers' and m['arm'] == 'app' for m in cl['rows']),
         'and the reproducing row is the completers group-mean reduction in the app arm')
    bad = '%d%% reduction in anxiety among %d completers in the app arm over 4 weeks' % (
        figure + 9, x['n'])
    r, rep = run_json('report', '--study', 'trial', '--instrument', 'gad7', '--claim', bad)
    t.ok(rep and rep['claim']['verdict'].startswith('not reproduced'),
         'a claim the data do not reproduce is rejected: ' + bad, rep and rep['claim']['verdict'])
    t.is_(rep and rep['claim']['counts']['reproduces'], 0, 'no row reproduces it')
    wrong_n = '%d%% reduction in anxiety among 9 adults over 4 weeks' % figure
    r, rep = run_json('report', '--study', 'trial', '--instrument', 'gad7', '--claim', wrong_n)
    rows_v = [m for m in rep['claim']['rows'] if m['definition'] == 'group_mean_pct' and
              m['population'] == 'completers' and m['arm'] == 'app']
    t.ok(rows_v and rows_v[0]['verdict'] == 'value only' and 'n is 2' in rows_v[0]['why'],
         'the right figure for the wrong n is only a value match, and says why', rows_v)
    t.ok({'arm': 'all', 'count': 'enrolled'} in rep['claim']['claimed_n_is'],
         'the claimed 9 is recognised as the number enrolled')

    # ------------------------------------------------------------------ formats
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--claim', good)
    t.ok(r.returncode == 0 and 'ATTUNE CLAIM REPORT' in r.stdout and 'Verdict: reproduced' in
         r.stdout, 'the text report has the verdict', r.stderr)
    out = os.path.join(home.root, 'report.html')
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--format', 'html',
                    '--output', out, '--claim', good + ' <script>alert(1)</script>')
    t.is_(r.returncode, 0, 'the HTML report is written to a file')
    page = open(out).read()
    t.ok(page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>'), 'a whole page')
    t.ok('<script' not in page.lower(), 'no script, even from the claim text (escaped)')
    t.ok('&lt;script&gt;' in page, 'the claim text is escaped')
    t.ok(re.search(r'\sstyle\s*=', page) is None, 'no inline style attributes')
    t.ok(re.search(r'\son[a-z]+\s*=', page) is None, 'no event handlers')
    t.ok(re.search(r'(src|href)\s*=\s*"(https?:)?//', page) is None, 'no external resources')
    t.is_(page.count('<style>'), 1, 'one <style> element: the file stands alone')
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--format', 'html',
                    '--stylesheet', '/static/report.css')
    t.ok('<style>' not in r.stdout and '<link rel="stylesheet" href="/static/report.css">' in
         r.stdout, 'with --stylesheet the page links the rules instead (CSP default-src self)')
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--format', 'csv')
    t.ok(r.returncode == 0 and r.stdout.startswith('section,group,name,value') and
         'headline,group_mean_pct/completers/app,value,' in r.stdout, 'the CSV report')

    # ------------------------------------------------------------------ refusals
    r = home.attune('report', '--study', 'nope', '--instrument', 'gad7')
    t.ok(r.returncode == 1 and 'no study "nope"' in r.stderr, 'an unknown study', r.stderr)
    r = home.attune('report', '--study', 'trial', '--instrument', 'phq9')
    t.ok(r.returncode == 1 and 'does not schedule instrument "phq9"' in r.stderr,
         'an instrument the study does not schedule', r.stderr)
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--claim', 'it works')
    t.ok(r.returncode == 1 and 'states no figure' in r.stderr, 'a claim without a figure',
         r.stderr)
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--post', '7')
    t.ok(r.returncode == 1 and 'not due at week 7' in r.stderr, 'a week that is not scheduled',
         r.stderr)
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--format', 'pdf')
    t.is_(r.returncode, 2, 'an unknown format is a usage error')
    r = home.attune('report', '--study', 'trial', '--instrument', 'gad7', '--arm-ref', 'x')
    t.ok(r.returncode == 1 and 'no arm "x"' in r.stderr, 'an unknown reference arm', r.stderr)
    r = home.attune('analyze', 'attrition', '--csv', 'x.csv', '--id', 'a', '--time', 'b',
                    '--score', 'c')
    t.ok(r.returncode == 2 and 'needs a study' in r.stderr, 'attrition needs a study', r.stderr)
    r = home.attune('analyze', 'attrition', '--study', 'trial', '--instrument', 'gad7',
                    '--metric', 'minutes')
    t.is_(r.returncode, 2, 'attrition refuses engagement options')
    r = home.attune('analyze', 'engagement', '--study', 'trial', '--instrument', 'gad7',
                    '--metric', 'clicks')
    t.ok(r.returncode == 2 and 'unknown measure' in r.stderr, 'an unknown measure', r.stderr)
    r = home.attune('analyze', 'attrition', '--study', 'trial', '--instrument', 'gad7',
                    '--asof', 'yesterday-ish')
    t.ok(r.returncode == 1 and 'yesterday-ish' in r.stderr, 'an unreadable --asof', r.stderr)
    # As of a time in the past, later windows were still upcoming: the flow says pending.
    r, past = run_json('analyze', 'attrition', '--study', 'trial', '--instrument', 'gad7',
                       '--asof', iso(NOW - timedelta(days=10)))
    t.ok(past and past['arms'][0]['flow']['not_completed']['pending'] +
         past['arms'][0]['flow']['completers'] >= 2,
         '--asof judges the statuses at that time', past and past['arms'][0]['flow'])
t.done()
