#!/usr/bin/env python3
"""attune analyze end to end, against the values R computed.

CSV input (no database): the MASS anorexia and sleep data as long files, in
all three formats, compared key by key with tests/fixtures/reference/*.json
and tests/fixtures/analysis/extra.json; between arms; reliability on
psych::bfi; every refusal (a bad row, a missing column, a non-numeric score
name file and line, exit non-zero) and every undefined statistic (reported,
not NaN).

The database: a study loaded with SQL (participants, GAD-7 responses at
weeks 0 and 8, item answers), analysed by prepost, between and reliability;
each run recorded in analysis_runs; --rerun says identical, and after a
score is changed says it differs and that the fingerprint changed."""
import csv
import io
import json
import math
import os
import random

from harness import Home, Tap, SOURCE_ROOT

REF = os.path.join(SOURCE_ROOT, 'tests', 'fixtures', 'reference')
EXTRA_DIR = os.path.join(SOURCE_ROOT, 'tests', 'fixtures', 'analysis')
CLOSED = 1e-9
NCTCI = 1e-8

t = Tap()


def load(path):
    with open(path) as f:
        return json.load(f)


def get(d, path):
    for part in path.split('.'):
        if d is None:
            return None
        d = d[int(part)] if isinstance(d, list) else d.get(part)
    return d


def close(got, want, tol, name):
    ok = (isinstance(got, (int, float)) and isinstance(want, (int, float)) and
          math.isfinite(got) and abs(got - want) <= (tol * abs(want) if want else tol))
    return t.ok(ok, name, 'got %r, want %r (relative tolerance %g)' % (got, want, tol))


ANOREXIA = load(os.path.join(REF, 'anorexia.json'))['prepost']
SLEEP = load(os.path.join(REF, 'sleep.json'))['prepost']['group1_vs_group2']
BFI = load(os.path.join(REF, 'bfi.json'))['primary']
EXTRA = load(os.path.join(EXTRA_DIR, 'extra.json'))

# (key in the output, key in the reference, tolerance)
PREPOST_KEYS = [
    ('n', 'n', 0), ('mean_pre', 'mean_pre', CLOSED), ('mean_post', 'mean_post', CLOSED),
    ('sd_pre', 'sd_pre', CLOSED), ('sd_post', 'sd_post', CLOSED),
    ('mean_diff', 'mean_diff', CLOSED), ('sd_diff', 'sd_diff', CLOSED),
    ('r_pre_post', 'r_pre_post', CLOSED),
    ('paired_t.t', 'paired_t.t', CLOSED), ('paired_t.df', 'paired_t.df', CLOSED),
    ('paired_t.p', 'paired_t.p_two_sided', CLOSED),
    ('paired_t.mean_diff_ci95.0', 'paired_t.mean_diff_ci95.0', CLOSED),
    ('paired_t.mean_diff_ci95.1', 'paired_t.mean_diff_ci95.1', CLOSED),
    ('d_z.value', 'd_z.value', CLOSED), ('d_z.ci95.0', 'd_z.ci95.0', NCTCI),
    ('d_z.ci95.1', 'd_z.ci95.1', NCTCI), ('d_av', 'd_av', CLOSED), ('d_rm', 'd_rm', CLOSED),
    ('g_av', 'g_av', CLOSED), ('g_av_exact_J', 'g_av_exact_J', CLOSED),
    ('delta_pre', 'delta_pre', CLOSED),
    ('pct_reduction_group_means.value', 'pct_reduction_group_means', CLOSED),
    ('individual_pct_reduction.mean', 'individual_pct_reduction.mean', CLOSED),
    ('individual_pct_reduction.median', 'individual_pct_reduction.median', CLOSED),
    ('individual_pct_reduction.n_used', 'individual_pct_reduction.n_used', 0),
    ('individual_pct_reduction.n_excluded', 'individual_pct_reduction.n_excluded_pre_le_0', 0),
    ('wilcoxon.V', 'wilcoxon.V', CLOSED), ('wilcoxon.z', 'wilcoxon.z_continuity_corrected', CLOSED),
    ('wilcoxon.p', 'wilcoxon.p_two_sided', CLOSED),
    ('rank_biserial.value', 'rank_biserial.value', CLOSED),
    ('rank_biserial.ci95.0', 'rank_biserial.effectsize_on_differences.ci_low', CLOSED),
    ('rank_biserial.ci95.1', 'rank_biserial.effectsize_on_differences.ci_high', CLOSED),
    ('reliable_change.reliability', 'reliable_change.r_xx', CLOSED),
    ('reliable_change.se_diff', 'reliable_change.se_diff', CLOSED),
    ('reliable_change.improved', 'reliable_change.n_reliably_improved', 0),
    ('reliable_change.unchanged', 'reliable_change.n_unchanged', 0),
    ('reliable_change.deteriorated', 'reliable_change.n_reliably_deteriorated', 0),
]


def check_prepost(label, out, ref, keys=PREPOST_KEYS):
    bad = []
    for mine, theirs, tol in keys:
        got, want = get(out, mine), get(ref, theirs)
        if want is None:
            bad.append('the reference has no %s' % theirs)
            continue
        if tol == 0:
            if got != want:
                bad.append('%s: got %r, want %r' % (mine, got, want))
        elif not (isinstance(got, (int, float)) and
                  abs(got - want) <= (tol * abs(want) if want else tol)):
            bad.append('%s: got %r, want %r' % (mine, got, want))
    t.ok(not bad, '%s: %d statistics agree with R' % (label, len(keys)), '\n'.join(bad))


def check_boot(label, out, boot):
    mc = boot['mc_check_seeds_2_to_21']
    ci = get(out, 'pct_reduction_group_means.ci95')
    t.ok(ci is not None and abs(ci[0] - boot['ci95'][0]) <= 4 * mc['ci95_low_sd'] and
         abs(ci[1] - boot['ci95'][1]) <= 4 * mc['ci95_high_sd'],
         '%s: bootstrap percentile CI within 4 Monte Carlo SDs of R' % label,
         'got %r, R %r, SDs %r %r' % (ci, boot['ci95'], mc['ci95_low_sd'], mc['ci95_high_sd']))


def numbers(doc):
    """Every number in a document (json.loads reads NaN and Infinity too)."""
    if isinstance(doc, dict):
        for v in doc.values():
            yield from numbers(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from numbers(v)
    elif isinstance(doc, float):
        yield doc


def run_json(home, *args):
    r = home.attune('analyze', *args, '--format', 'json')
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


with Home(t) as home:
    work = home.root

    # ---- long CSV files from the reference data ----
    anorexia_long = os.path.join(work, 'anorexia_long.csv')
    with open(os.path.join(REF, 'anorexia.csv')) as f, open(anorexia_long, 'w') as g:
        rows = list(csv.DictReader(f))
        g.write('id,arm,week,weight\n')
        for r in rows:
            g.write('%s,%s,0,%s\n' % (r['participant_id'], r['Treat'], r['Prewt']))
            g.write('%s,%s,1,%s\n' % (r['participant_id'], r['Treat'], r['Postwt']))
    base = ['--csv', anorexia_long, '--id', 'id', '--time', 'week', '--score', 'weight',
            '--arm', 'arm', '--higher-is-better', '--reliability', '0.9']

    r, out = run_json(home, 'prepost', *base, '--in-arm', 'CBT')
    t.is_(r.returncode, 0, 'prepost --csv (anorexia CBT) exits 0')
    if out is not None:
        check_prepost('anorexia CBT', out, ANOREXIA['CBT'])
        check_boot('anorexia CBT', out, ANOREXIA['CBT']['bootstrap_pct_reduction'])
        t.is_(out['population']['included'], 29, 'CBT: 29 completers')
        t.is_(out['options']['arm'], 'CBT', 'the options are echoed in the output')
        t.ok('--in-arm' in out['options']['args'], 'the canonical arguments are echoed')

    r, out = run_json(home, 'prepost', *base, '--by-arm')
    t.is_(r.returncode, 0, 'prepost --by-arm exits 0')
    if out is not None:
        check_prepost('anorexia overall', out, ANOREXIA['overall'])
        for arm in ('CBT', 'Cont', 'FT'):
            check_prepost('anorexia %s (by arm)' % arm, out['by_arm'][arm], ANOREXIA[arm])

    # The sleep data as given (long, "group" 1 and 2 play pre and post).
    r, out = run_json(home, 'prepost', '--csv', os.path.join(REF, 'sleep_long.csv'), '--id', 'ID',
                      '--time', 'group', '--score', 'extra', '--pre', '1', '--post', '2',
                      '--reliability', '0.9', '--higher-is-better')
    t.is_(r.returncode, 0, 'prepost on sleep_long.csv exits 0')
    if out is not None:
        check_prepost('sleep', out, SLEEP)

    # ---- populations: BOCF and LOCF, checked against a direct computation ----
    gadcsv = os.path.join(EXTRA_DIR, 'gad7_synthetic_long.csv')
    scores = {}
    for row in csv.DictReader(open(gadcsv)):
        scores.setdefault(row['participant'], {})[int(row['week'])] = float(row['gad7'])
    with_base = {p: s for p, s in scores.items() if 0 in s}
    bocf_post = [s.get(8, s[0]) for s in with_base.values()]
    diffs = [s[0] - s.get(8, s[0]) for s in with_base.values()]
    mean_d = sum(diffs) / len(diffs)
    sd_d = math.sqrt(sum((d - mean_d) ** 2 for d in diffs) / (len(diffs) - 1))
    for pop in ('bocf', 'locf'):
        r, out = run_json(home, 'prepost', '--csv', gadcsv, '--id', 'participant', '--time',
                          'week', '--score', 'gad7', '--population', pop, '--no-bootstrap')
        t.is_(r.returncode, 0, '--population %s exits 0' % pop)
        if out is None:
            continue
        t.is_((out['population']['name'], out['population']['included'],
               out['population']['imputed'], out['population']['excluded']),
              (pop, len(with_base), 1, {'no_baseline': 1}),
              '%s: everyone with a baseline, one follow-up carried forward' % pop)
        close(out['mean_post'], sum(bocf_post) / len(bocf_post), CLOSED,
              '%s: mean at follow-up with the baseline carried forward' % pop)
        close(out['d_z']['value'], mean_d / sd_d, CLOSED, '%s: d_z' % pop)
        t.ok(out['pct_reduction_group_means'].get('ci95') is None and
             'not asked for' in out['unavailable'].get('bootstrap', ''),
             '%s: --no-bootstrap leaves the interval out, saying so' % pop)

    # ---- the three formats say the same ----
    r_table = home.attune('analyze', 'prepost', *base, '--in-arm', 'CBT')
    t.is_(r_table.returncode, 0, 'table format exits 0')
    t.contains(r_table.stdout, 'd_z (standardized response mean)', 'the table names d_z')
    t.contains(r_table.stdout, '-0.4114', 'the table shows d_z to 4 decimals')
    t.contains(r_table.stdout, '[-0.7875, -0.0286]', 'the table shows the noncentral-t CI')
    t.contains(r_table.stdout, 'options: --csv', 'the table echoes the options')
    t.contains(r_table.stdout, 'completers, 29 of 29 participants',
               'the table says who counts')
    r_csv = home.attune('analyze', 'prepost', *base, '--in-arm', 'CBT', '--format', 'csv')
    t.is_(r_csv.returncode, 0, 'csv format exits 0')
    rows = list(csv.DictReader(io.StringIO(r_csv.stdout)))
    t.is_(list(rows[0].keys()) if rows else None,
          ['section', 'group', 'name', 'value', 'ci95_low', 'ci95_high'], 'CSV header')
    stat = {(x['group'], x['name']): x for x in rows if x['section'] == 'statistic'}
    dz = stat.get(('CBT', 'd_z'))
    ref = ANOREXIA['CBT']['d_z']
    t.ok(dz is not None and abs(float(dz['value']) - ref['value']) <= CLOSED * abs(ref['value'])
         and abs(float(dz['ci95_low']) - ref['ci95'][0]) <= NCTCI * abs(ref['ci95'][0]),
         'CSV d_z row at full precision', dz)
    t.ok(any(x['section'] == 'option' and x['name'] == 'population' and
             x['value'] == 'completers' for x in rows), 'CSV echoes the options')
    t.ok(any(x['section'] == 'population' and x['name'] == 'excluded.no_followup' and
             x['value'] == '0' for x in rows), 'CSV gives exclusions by reason')

    # ---- between arms ----
    for test, key in (('CBT', 'CBT_vs_Cont'), ('FT', 'FT_vs_Cont')):
        r, out = run_json(home, 'between', '--csv', anorexia_long, '--id', 'id', '--time', 'week',
                          '--score', 'weight', '--arm', 'arm', '--arm-ref', 'Cont',
                          '--arm-test', test)
        t.is_(r.returncode, 0, 'between %s vs Cont exits 0' % test)
        if out is None:
            continue
        ref = EXTRA['between'][key]
        keys = [('welch_t.t', 'welch_t.t', CLOSED), ('welch_t.df', 'welch_t.df', CLOSED),
                ('welch_t.p', 'welch_t.p', CLOSED), ('welch_t.ci95.0', 'welch_t.ci95.0', CLOSED),
                ('student_t.t', 'student_t.t', CLOSED), ('student_t.p', 'student_t.p', CLOSED),
                ('cohens_d.value', 'cohens_d.value', CLOSED),
                ('cohens_d.ci95.0', 'cohens_d.ci95.0', NCTCI),
                ('cohens_d.ci95.1', 'cohens_d.ci95.1', NCTCI),
                ('hedges_g.value', 'hedges_g.effectsize.0', CLOSED),
                ('hedges_g.ci95.1', 'hedges_g.ci95.1', NCTCI),
                ('mean_change_difference.estimate', 'mean_change_difference.estimate', CLOSED),
                ('mean_change_difference.ci95.1', 'mean_change_difference.ci95.1', CLOSED),
                ('ancova.estimate', 'ancova.estimate', CLOSED), ('ancova.se', 'ancova.se', CLOSED),
                ('ancova.p', 'ancova.p', CLOSED), ('ancova.ci95.0', 'ancova.ci95.0', CLOSED),
                ('ancova.ci95.1', 'ancova.ci95.1', CLOSED)]
        check_prepost('between %s vs Cont' % test, out, ref, keys)
    r = home.attune('analyze', 'between', '--csv', anorexia_long, '--id', 'id', '--time', 'week',
                    '--score', 'weight', '--arm', 'arm')
    t.ok(r.returncode == 2 and 'choose two' in r.stderr,
         'between with three arms asks which two', r.stderr)

    # ---- reliability on psych::bfi ----
    bfi = os.path.join(REF, 'bfi_A_C_items.csv')
    for scale, items, rev in (('A', 'A1,A2,A3,A4,A5', 'A1'), ('C', 'C1,C2,C3,C4,C5', 'C4,C5')):
        r, out = run_json(home, 'reliability', '--csv', bfi, '--id', 'respondent_id', '--items',
                          items, '--reverse', rev, '--scale-min', '1', '--scale-max', '6')
        t.is_(r.returncode, 0, 'reliability %s exits 0' % scale)
        if out is not None:
            close(out['alpha_raw'], BFI[scale]['alpha_raw'], CLOSED, 'bfi %s: alpha_raw' % scale)
            close(out['alpha_std'], BFI[scale]['alpha_std'], CLOSED, 'bfi %s: alpha_std' % scale)
            t.is_(out['n'], BFI[scale]['n'], 'bfi %s: complete cases' % scale)
    r = home.attune('analyze', 'reliability', '--csv', bfi, '--items', 'A1,A2', '--reverse', 'A1')
    t.ok(r.returncode == 2 and 'answer range' in r.stderr,
         'reverse keys without a range are refused', r.stderr)

    # ---- refusals: file:line, non-zero exit, nothing computed ----
    def bad_file(name, text, cols, expect, what):
        path = os.path.join(work, name)
        with open(path, 'w') as f:
            f.write(text)
        r = home.attune('analyze', 'prepost', '--csv', path, *cols)
        t.ok(r.returncode != 0 and r.stdout == '', '%s: exit %d, nothing printed' %
             (what, r.returncode), r.stdout)
        t.contains(r.stderr, expect % path, '%s: the error names file and line' % what)

    cols = ['--id', 'id', '--time', 'week', '--score', 'score']
    bad_file('nonnumeric.csv', 'id,week,score\np1,0,5\np1,8,seven\np2,0,4\np2,8,2\n', cols,
             '%s:3: score "seven" in column "score" is not a number', 'a non-numeric score')
    bad_file('missingcol.csv', 'id,week,gad7\np1,0,5\n', cols,
             '%s:1: no column "score"', 'a missing column')
    bad_file('shortrow.csv', 'id,week,score\np1,0,5\np2,0\np1,8,3\n', cols,
             '%s:3: the row has only 2 fields', 'a short row')
    bad_file('quote.csv', 'id,week,score\np1,0,5\n"p2,0,4\n', cols,
             '%s:3: malformed CSV', 'an unterminated quote')
    r = home.attune('analyze', 'prepost', '--csv', os.path.join(work, 'nope.csv'), *cols)
    t.ok(r.returncode != 0 and 'could not open' in r.stderr, 'a missing file is refused',
         r.stderr)

    def data(name, rows):
        path = os.path.join(work, name)
        with open(path, 'w') as f:
            f.write('id,arm,week,score\n')
            for pid, arm, pre, post in rows:
                f.write('%s,%s,0,%s\n%s,%s,8,%s\n' % (pid, arm, pre, pid, arm, post))
        return ['--csv', path, '--id', 'id', '--time', 'week', '--score', 'score', '--arm', 'arm']

    r = home.attune('analyze', 'prepost', *data('one.csv', [('p1', 'a', 5, 3)]))
    t.ok(r.returncode == 1 and 'too few participants' in r.stderr and
         '1 participant considered' in r.stderr, 'n < 2: a clear error, exit 1', r.stderr)
    r, out = run_json(home, 'prepost', *data('samediff.csv', [('p1', 'a', 5, 3), ('p2', 'a', 9, 7),
                                                              ('p3', 'a', 12, 10)]))
    t.is_(r.returncode, 0, 'zero variance of differences: still exits 0')
    if out is not None:
        t.ok(out['d_z'] is None and 'zero variance' in out['unavailable']['d_z'],
             'zero variance: d_z is null with the reason', out.get('unavailable'))
        t.ok(out['paired_t'] is None, 'zero variance: no paired t')
        t.ok(all(math.isfinite(x) for x in numbers(out)), 'zero variance: no NaN anywhere')
        close(out['d_av'], 2 / ((math.sqrt(12.33333333333333) * 2) / 2), 1e-6,
              'zero variance: d_av still computed')
    r, out = run_json(home, 'prepost', *data('zerobase.csv', [('p1', 'a', 0, 3), ('p2', 'a', 0, 1),
                                                              ('p3', 'a', 0, 0)]))
    t.is_(r.returncode, 0, 'all baselines zero: still exits 0')
    if out is not None:
        t.ok(out['pct_reduction_group_means'] is None and
             'mean baseline is 0' in out['unavailable']['pct_reduction_group_means'],
             'all baselines zero: no % of means, with the reason', out.get('unavailable'))
        t.ok(out['individual_pct_reduction']['n_excluded'] == 3 and
             out['individual_pct_reduction']['mean'] is None,
             'all baselines zero: 3 excluded from individual %, counted')
    r = home.attune('analyze', 'prepost', *data('zerobase.csv', [('p1', 'a', 0, 3),
                                                                 ('p2', 'a', 0, 1)]))
    t.contains(r.stdout, 'n/a', 'the table marks what could not be computed')
    r = home.attune('analyze', 'between', *data('onearm.csv', [('p1', 'a', 5, 3), ('p2', 'a', 9, 7),
                                                               ('p3', 'b', 12, 10)]))
    t.ok(r.returncode == 1 and '"b" has 1 participant' in r.stderr,
         'an arm with one participant: a clear error, exit 1', r.stderr)
    r = home.attune('analyze', 'prepost', *cols)
    t.ok(r.returncode != 0 and 'no data given' in r.stderr, 'no data: refused', r.stderr)
    r = home.attune('analyze', 'prepost', '--csv', anorexia_long, '--id', 'id', '--time', 'week',
                    '--score', 'weight', '--level', '1.5')
    t.ok(r.returncode == 2 and '--level' in r.stderr, 'an invalid level is refused', r.stderr)
    r = home.attune('analyze', 'nosuch')
    t.ok(r.returncode == 2 and 'unknown analysis' in r.stderr, 'an unknown analysis is refused')

    # ---- the study database ----
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')
    gad = list(csv.DictReader(open(os.path.join(EXTRA_DIR, 'gad7_synthetic_long.csv'))))
    home.sql("INSERT INTO studies (id, title) VALUES ('calm', 'Calm app trial')")
    home.sql("INSERT INTO arms (study_id, id, label) VALUES ('calm', 'control', 'Waiting list'),"
             " ('calm', 'treatment', 'App')")
    home.sql("INSERT INTO instruments (id, version, checksum, definition) VALUES"
             " ('gad7', '1', repeat('a', 64), '{}')")
    people = {}
    for row in gad:
        people[row['participant']] = row['arm']
    values = ','.join(['(%s, %s, %s, now())'] * len(people))
    params = []
    for code, arm in people.items():
        params += ['calm', code, arm]
    home.sql('INSERT INTO participants (study_id, code, arm_id, enrolled_at) VALUES ' + values,
             params)
    values = ','.join(["((SELECT id FROM participants WHERE study_id = 'calm' AND code = %s),"
                       " gen_random_uuid(), 'gad7', '1', %s, now(), 'on_time', 'import',"
                       " decode(repeat('ab', 32), 'hex'), %s, 7, 0)"] * len(gad))
    params = []
    for row in gad:
        params += [row['participant'], int(row['week']), float(row['gad7'])]
    home.sql('INSERT INTO responses (participant_id, id, instrument_id, instrument_version,'
             ' study_week, completed_at, timing, source, content_hash, total_score,'
             ' items_answered, items_missing) VALUES ' + values, params)
    # Item answers at week 0: seven items 0..3, deterministic, one missing.
    rng = random.Random(7)
    ids = home.sql("SELECT r.id::text, p.code FROM responses r JOIN participants p"
                   " ON p.id = r.participant_id WHERE r.study_week = 0 ORDER BY p.code")
    matrix = []
    params = []
    for rid, code in ids:
        level = rng.random() * 3
        answers = [max(0, min(3, round(level + rng.gauss(0, 0.8)))) for _ in range(7)]
        if code == 'p010':
            answers[3] = None
        matrix.append(answers)
        for j, v in enumerate(answers):
            if v is not None:
                params += [rid, 'q%d' % (j + 1), v]
    home.sql('INSERT INTO response_items (response_id, item_id, value) VALUES ' +
             ','.join(['(%s::uuid, %s, %s)'] * (len(params) // 3)), params)

    study = ['--study', 'calm', '--instrument', 'gad7', '--pre', '0', '--post', '8']
    r, out = run_json(home, 'prepost', *study)
    t.is_(r.returncode, 0, 'prepost --study exits 0')
    ref = EXTRA['gad7']['all']
    run_id = None
    if out is not None:
        keys = [('n', 'n', 0), ('mean_pre', 'mean_pre', CLOSED), ('sd_diff', 'sd_diff', CLOSED),
                ('paired_t.p', 'paired_t.p', CLOSED), ('d_z.ci95.0', 'd_z.ci95.0', NCTCI),
                ('d_z.ci95.1', 'd_z.ci95.1', NCTCI), ('d_rm', 'd_rm', CLOSED),
                ('g_av', 'g_av', CLOSED), ('wilcoxon.V', 'wilcoxon.V', CLOSED),
                ('wilcoxon.p', 'wilcoxon.p', CLOSED),
                ('rank_biserial.ci95.1', 'rank_biserial.ci95.1', CLOSED),
                ('individual_pct_reduction.median', 'individual_pct_reduction.median', CLOSED),
                ('individual_pct_reduction.n_excluded', 'individual_pct_reduction.n_excluded', 0),
                ('responders.count', 'responders.count', 0),
                ('responders.ci95.0', 'responders.ci95.0', CLOSED),
                ('remission.count', 'remission.count', 0), ('remission.n', 'remission.n', 0),
                ('mcid.improved.count', 'mcid.improved', 0),
                ('reliable_change.reliability', 'reliable_change.reliability', CLOSED),
                ('reliable_change.improved', 'reliable_change.improved', 0),
                ('reliable_change.deteriorated', 'reliable_change.deteriorated', 0),
                ('reliable_change.clinically_significant.cutoff', 'reliable_change.cutoff',
                 CLOSED),
                ('reliable_change.clinically_significant.recovered', 'reliable_change.recovered',
                 0)]
        check_prepost('study calm (GAD-7 facts from the instrument)', out, ref, keys)
        t.is_(out['population']['excluded'], {'no_baseline': 1, 'no_followup': 1},
              'study: exclusions by reason')
        t.is_(out['input']['instrument_versions'], ['gad7@1'], 'study: instrument versions')
        run_id = out.get('run_id')
        t.ok(run_id is not None and len(run_id) == 36, 'study: the run id is printed')
        t.contains(r.stderr, 'run: %s' % run_id, 'study: the run id is on stderr too')
        rows = home.sql('SELECT kind, study_id, input_fingerprint, program_version,'
                        ' instrument_versions, options, result FROM analysis_runs WHERE id = %s',
                        (run_id,))
        t.ok(len(rows) == 1, 'the run is in analysis_runs')
        if rows:
            kind, sid, fp, ver, vers, opts, res = rows[0]
            t.is_((kind, sid, vers), ('prepost', 'calm', ['gad7@1']),
                  'analysis_runs: kind, study, versions')
            t.is_(fp, out['input']['fingerprint'], 'analysis_runs: the input fingerprint')
            t.ok(ver and ver[0].isdigit(), 'analysis_runs: the program version', ver)
            t.is_(opts['args'], out['options']['args'], 'analysis_runs: the options')
            t.ok(abs(res['d_z']['value'] - out['d_z']['value']) == 0,
                 'analysis_runs: the result, to the bit')

    r, out = run_json(home, 'prepost', *study, '--arm', 'treatment')
    if out is not None:
        check_prepost('study, one arm', out, EXTRA['gad7']['by_arm']['treatment'],
                      [('n', 'n', 0), ('d_z.value', 'd_z.value', CLOSED),
                       ('d_z.ci95.0', 'd_z.ci95.0', NCTCI)])
    r, out = run_json(home, 'between', *study)
    t.is_(r.returncode, 0, 'between --study exits 0')
    if out is not None:
        ref = EXTRA['between']['gad7_treatment_vs_control']
        check_prepost('study between arms', out, ref,
                      [('ancova.estimate', 'ancova.estimate', CLOSED),
                       ('ancova.se', 'ancova.se', CLOSED), ('ancova.p', 'ancova.p', CLOSED),
                       ('hedges_g.ci95.0', 'hedges_g.ci95.0', NCTCI),
                       ('welch_t.df', 'welch_t.df', CLOSED)])
        t.is_(out['options']['arm_reference'], 'control', 'between: reference arm by default')

    # Reliability from response_items, checked against the textbook formula.
    r, out = run_json(home, 'reliability', '--study', 'calm', '--instrument', 'gad7', '--week', '0')
    t.is_(r.returncode, 0, 'reliability --study exits 0')
    complete = [row for row in matrix if None not in row]
    k = 7
    cols_ = list(zip(*complete))

    def var(xs):
        m = sum(xs) / len(xs)
        return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
    alpha = k / (k - 1) * (1 - sum(var(c) for c in cols_) / var([sum(row) for row in complete]))
    if out is not None:
        close(out['alpha_raw'], alpha, 1e-12, 'study reliability: raw alpha')
        t.is_((out['n'], out['k'], out['population']['excluded']['missing_answer']),
              (len(complete), 7, 1), 'study reliability: complete cases, items, one excluded')
        t.ok(out.get('run_id') is not None, 'study reliability: recorded')

    r = home.attune('analyze', 'reliability', '--study', 'calm', '--instrument', 'gad7',
                    '--items', 'q1,q2,q9')
    t.ok(r.returncode == 1 and 'item "q9" has no answers' in r.stderr,
         'study reliability: an item nobody answered is named', r.stderr)

    # --rerun: identical, then the data change.
    if run_id:
        r = home.attune('analyze', '--rerun', run_id, '--format', 'json')
        t.is_(r.returncode, 0, '--rerun exits 0 when the result is identical')
        try:
            again = json.loads(r.stdout)
        except ValueError:
            again = {}
        t.is_(get(again, 'rerun.identical'), True, '--rerun: identical')
        t.is_(get(again, 'rerun.fingerprint_matches'), True, '--rerun: fingerprint matches')
        t.ok(again.get('run_id') not in (None, run_id), '--rerun is recorded as a new run')
        r = home.attune('analyze', '--rerun', run_id)
        t.contains(r.stdout, 'result identical; input fingerprint matches', '--rerun in a table')
        home.sql("UPDATE responses SET total_score = total_score + 1 WHERE study_week = 8 AND"
                 " participant_id = (SELECT id FROM participants WHERE code = 'p001')")
        r = home.attune('analyze', '--rerun', run_id, '--format', 'json')
        t.is_(r.returncode, 1, '--rerun exits 1 after the data changed')
        try:
            again = json.loads(r.stdout)
        except ValueError:
            again = {}
        t.is_((get(again, 'rerun.identical'), get(again, 'rerun.fingerprint_matches')),
              (False, False), '--rerun: differs, and the fingerprint changed')
        t.contains(r.stderr, 'not reproduced', '--rerun says so on stderr')
    r = home.attune('analyze', '--rerun', '00000000-0000-0000-0000-000000000000')
    t.ok(r.returncode == 1 and 'no analysis run' in r.stderr, '--rerun of an unknown id',
         r.stderr)
    r = home.attune('analyze', 'prepost', '--study', 'nosuch', '--instrument', 'gad7')
    t.ok(r.returncode == 1 and 'no study "nosuch"' in r.stderr, 'an unknown study', r.stderr)
t.done()
