#!/usr/bin/env python3
"""`attune analyze mixed` as a researcher runs it: on long CSV files (lme4's
sleepstudy and HSAUR3's Beat the Blues trial, compared with the R values in
the fixtures), in every output format, with every refusal; and on a study in
the database (a small two-arm trial inserted here), where the run is
recorded in analysis_runs and gives the same numbers as the same rows
exported to CSV."""
import csv
import json
import os
import random
import re

from harness import Home, Tap, SOURCE_ROOT

FIX = os.path.join(SOURCE_ROOT, 'tests', 'fixtures')
SLEEP = os.path.join(FIX, 'reference', 'sleepstudy.csv')
BTHEB = os.path.join(FIX, 'mixed', 'btheb_long.csv')

t = Tap()


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def close(got, want, tol, name):
    return t.ok(got is not None and rel(got, want) <= tol, name,
                'got %r, want %r (relative tolerance %g)' % (got, want, tol))


def mixed(home, *args, fmt='json'):
    r = home.attune('analyze', 'mixed', *args, '--format', fmt)
    if fmt == 'json' and r.returncode == 0:
        return r, json.loads(r.stdout)
    return r, None


with Home(t) as home:
    # ---- CSV: sleepstudy against lme4 (the team's reference file)
    with open(os.path.join(FIX, 'reference', 'sleepstudy.json')) as f:
        ref = json.load(f)['mixed_models']
    sleep = ('--csv', SLEEP, '--id', 'Subject', '--time', 'Days', '--score', 'Reaction')
    for model, random_opt in (('random_slope', 'slope'), ('random_intercept', 'intercept')):
        for method in ('REML', 'ML'):
            r, j = mixed(home, *sleep, '--random', random_opt, '--method', method.lower())
            want = ref[model][method]['lme4']
            name = '%s %s' % (model, method)
            if not t.ok(r.returncode == 0, '%s via --csv runs' % name, r.stderr):
                continue
            for term in ('(Intercept)', 'Days'):
                close(j['fixed'][term]['estimate'], want['fixed_effects'][term], 1e-6,
                      '%s: %s estimate as lme4' % (name, term))
                tight = ref[model][method]['lme4_tight_bobyqa']['fixed_effects_se'][term]
                close(j['fixed'][term]['se'], tight, 1e-6, '%s: %s SE as lme4 (tight)' % (name, term))
                close(j['fixed'][term]['df'], want['satterthwaite_lmerTest']['df'][term], 1e-4,
                      '%s: %s Satterthwaite df as lmerTest' % (name, term))
            for key, rkey in (('loglik', 'logLik'), ('aic', 'AIC'), ('bic', 'BIC')):
                close(j[key], want[rkey], 1e-6, '%s: %s as lme4' % (name, key))
            if method == 'REML':
                close(j['reml_criterion'], want['REML_criterion'], 1e-6, name + ': REML criterion')
                t.is_(j['deviance'], None, name + ': deviance null for a REML fit')
            else:
                close(j['deviance'], want['deviance_ML'], 1e-6, name + ': deviance')
                t.is_(j['reml_criterion'], None, name + ': REML criterion null for an ML fit')
            t.ok(abs(j['random']['sd_intercept'] - want['random_effect_sd']['(Intercept)']) < 1e-3,
                 name + ': SD of intercepts within 1e-3')
            if random_opt == 'slope':
                t.ok(abs(j['random']['sd_slope'] - want['random_effect_sd']['Days']) < 1e-3,
                     name + ': SD of slopes within 1e-3')
                t.ok(abs(j['random']['corr'] - want['random_effect_cor']) < 1e-3,
                     name + ': correlation within 1e-3')
            else:
                t.ok(j['random']['sd_slope'] is None and j['random']['corr'] is None,
                     name + ': no slope SD or correlation')
            t.ok(abs(j['random']['sd_residual'] - want['residual_sd']) < 1e-3,
                 name + ': residual SD within 1e-3')
            t.is_((j['n_obs'], j['n_groups'], j['converged']), (180, 18, True),
                  name + ': n_obs, n_groups, converged')
            t.is_(j['options']['random'], random_opt, name + ': options echoed')
            t.is_(j['options']['csv'], SLEEP, name + ': the source is echoed')
            t.is_(len(j['means']), 10, name + ': a mean for each of the 10 days')
            t.ok('run_id' not in j, name + ': a CSV run is not recorded')

    # ---- CSV: Beat the Blues, with arm and interaction, against the fixture
    with open(os.path.join(FIX, 'mixed', 'lmm_reference.json')) as f:
        models = json.load(f)['models']
    btheb = ('--csv', BTHEB, '--id', 'subject', '--time', 'month', '--score', 'bdi',
             '--arm', 'treatment')
    cases = {
        'btheb_armx_slope_reml': ('--arm-ref', 'TAU', '--interaction'),
        'btheb_armx_slope_ml': ('--arm-ref', 'TAU', '--interaction', '--method', 'ml'),
        'btheb_cat_armx_int_reml': ('--arm-ref', 'TAU', '--interaction', '--time-categorical',
                                    '--random', 'intercept'),
        'btheb_armx_int_reml_defref': ('--interaction', '--random', 'intercept'),
    }
    for case, extra in cases.items():
        want = models[case]['tight']
        r, j = mixed(home, *btheb, *extra)
        if not t.ok(r.returncode == 0, '%s via --csv runs' % case, r.stderr):
            continue
        t.is_(list(j['fixed']), list(want['fixed']), case + ': terms named and ordered as R')
        worst = {'estimate': 0, 'se': 0, 'df': 0}
        for term, w in want['fixed'].items():
            for k in worst:
                worst[k] = max(worst[k], rel(j['fixed'][term][k], w[k]))
        t.ok(worst['estimate'] < 1e-6 and worst['se'] < 1e-6 and worst['df'] < 1e-4,
             case + ': fixed effects, SEs and df as lme4/lmerTest', worst)
        close(j['loglik'], want['loglik'], 1e-9, case + ': logLik')
        t.is_((j['n_obs'], j['n_groups']), (380, 100), case + ': 380 scores of 100 patients')
        t.is_(j['data']['n_missing'], 120, case + ': 120 missing scores (dropout) counted')
        by_key = {(m['time'], m['arm']): m for m in j['means']}
        worst_mean = max(rel(by_key[(m['time'], m['arm'])]['estimate'], m['estimate'])
                         for m in want['means'])
        t.ok(worst_mean < 1e-6, case + ': means by month and arm as emmeans', worst_mean)
        for wr in want['reductions']:
            got = [x for x in j['reduction'] if x['arm'] == wr['arm']]
            if t.ok(len(got) == 1, '%s: reduction for %s' % (case, wr['arm'])):
                g = got[0]
                close(g['points']['estimate'], wr['points']['estimate'], 1e-6,
                      '%s: %s reduction in points' % (case, wr['arm']))
                close(g['percent']['estimate'], wr['percent']['estimate'], 1e-6,
                      '%s: %s reduction in percent' % (case, wr['arm']))
                close(g['percent']['ci95'][0], wr['percent']['ci95'][0], 1e-6,
                      '%s: %s percent CI (delta method)' % (case, wr['arm']))

    # ---- the other formats
    r = home.attune('analyze', 'mixed', *btheb, '--arm-ref', 'TAU', '--interaction')
    t.is_(r.returncode, 0, 'table output runs')
    for part in ('Linear mixed model: bdi ~ month * treatment + (month | subject)',
                 'Satterthwaite df', 'month:treatmentBtheB', 'Reference arm: TAU',
                 'Model-based means', 'Model-based reduction from month 0 to month 8',
                 'delta method', '120 missing scores'):
        t.contains(r.stdout, part, 'the table shows "%s"' % part)
    r, _ = mixed(home, *sleep, fmt='csv')
    t.is_(r.returncode, 0, 'CSV output runs')
    rows = list(csv.reader(r.stdout.splitlines()))
    t.is_(rows[0], ['section', 'term', 'arm', 'time', 'estimate', 'se', 'df', 't', 'p', 'ci_low',
                    'ci_high'], 'CSV header')
    t.ok(any(x[0] == 'fixed' and x[1] == 'Days' for x in rows), 'CSV has the fixed effects')
    t.is_(sum(1 for x in rows if x[0] == 'mean'), 10, 'CSV has a mean per day')
    t.ok(any(x[0] == 'reduction_percent' for x in rows), 'CSV has the reduction in percent')

    # ---- refusals
    def refused(args, code, part, name):
        r = home.attune('analyze', 'mixed', *args)
        t.is_(r.returncode, code, name + ': exit %d' % code)
        t.contains(r.stderr, part, name + ': says "%s"' % part)

    refused(sleep + ('--random', 'quadratic'), 2, 'unknown random effects', 'bad --random')
    refused(sleep + ('--method', 'bayes'), 2, 'unknown method', 'bad --method')
    refused(sleep + ('--pre', 'zero'), 2, 'invalid --pre', 'bad --pre')
    refused(sleep + ('--interaction',), 1, '--interaction needs an arm', 'interaction without arm')
    refused(sleep + ('--time-categorical', '--pre', '1.5'), 1, 'no time 1.5',
            'a categorical time not in the data')
    refused(btheb + ('--arm-ref', 'placebo'), 1, 'no arm "placebo"', 'unknown reference arm')
    refused(('--csv', os.path.join(home.root, 'nope.csv'), '--id', 'a', '--time', 'b',
             '--score', 'c'), 1, 'could not open', 'missing file')
    one = os.path.join(home.root, 'one.csv')
    with open(one, 'w') as f:
        f.write('id,week,score\n' + ''.join('p%d,%d,%d\n' % (i, i % 3, 5 + i) for i in range(12)))
    refused(('--csv', one, '--id', 'id', '--time', 'week', '--score', 'score'), 1,
            'too few observations', 'one score per participant')
    bad = os.path.join(home.root, 'bad.csv')
    with open(bad, 'w') as f:
        f.write('id,week,score\np1,0,3\np1,1,x\n')
    refused(('--csv', bad, '--id', 'id', '--time', 'week', '--score', 'score'), 1, 'bad.csv:3:',
            'a bad row is named by file and line')

    # ---- a study in the database
    r = home.attune('db', 'start')
    t.is_(r.returncode, 0, 'db start')
    r = home.attune('migrate')
    t.is_(r.returncode, 0, 'migrate')
    rng = random.Random(6)
    rows = []  # (code, arm, week, score or None)
    true_slope = {'app': -1.0, 'waitlist': -0.3}
    for i in range(40):
        arm = 'app' if i % 2 == 0 else 'waitlist'
        code = 'P-%03d' % i
        u0, u1 = rng.gauss(0, 3), rng.gauss(0, 0.4)
        last = 8 if i % 5 else rng.choice([2, 4, 6])  # dropout
        for w in range(0, last + 1):
            y = 14 + u0 + (true_slope[arm] + u1) * w + rng.gauss(0, 1.5)
            rows.append((code, arm, w, round(y, 3)))
    home.sql("INSERT INTO studies (id, title, weeks) VALUES ('trial', 'Mixed model test', 8)")
    home.sql("INSERT INTO arms (study_id, id, label) VALUES ('trial', 'app', 'App'),"
             " ('trial', 'waitlist', 'Wait list')")
    home.sql("INSERT INTO instruments (id, version, checksum, definition)"
             " VALUES ('gad7', '1', repeat('a', 64), '{}')")
    codes = sorted({r[0] for r in rows})
    arms = {r[0]: r[1] for r in rows}
    home.sql("INSERT INTO participants (study_id, code, arm_id, enrolled_at)"
             " SELECT 'trial', c, a, now() - interval '60 days'"
             " FROM unnest(%s::text[], %s::text[]) AS x(c, a)",
             (codes, [arms[c] for c in codes]))
    home.sql("INSERT INTO responses (id, participant_id, instrument_id, instrument_version,"
             " study_week, completed_at, timing, source, content_hash, total_score,"
             " items_answered, items_missing)"
             " SELECT gen_random_uuid(), p.id, 'gad7', '1', x.w, now(), 'on_time', 'demo',"
             " sha256(convert_to(x.c || '/' || x.w, 'UTF8')), x.s, 7, 0"
             " FROM unnest(%s::text[], %s::int[], %s::float8[]) AS x(c, w, s)"
             " JOIN participants p ON p.study_id = 'trial' AND p.code = x.c",
             ([r[0] for r in rows], [r[2] for r in rows], [r[3] for r in rows]))
    # one voided form (no total score): a missing observation
    home.sql("UPDATE responses SET total_score = NULL WHERE study_week = 3 AND participant_id ="
             " (SELECT id FROM participants WHERE code = 'P-004')")
    rows = [r for r in rows if not (r[0] == 'P-004' and r[2] == 3)]

    r, j = mixed(home, '--study', 'trial', '--instrument', 'gad7', '--interaction')
    if t.ok(r.returncode == 0, 'study run works', r.stderr):
        t.ok(re.fullmatch(r'[0-9a-f-]{36}', j.get('run_id', '')), 'the run id is printed')
        t.is_(list(j['fixed']), ['(Intercept)', 'week', 'armwaitlist', 'week:armwaitlist'],
              'the study\'s arms are in the model, reference app (C-locale first)')
        t.is_((j['n_obs'], j['n_groups']), (len(rows), 40), 'every observed score counts')
        t.is_(j['data']['n_missing'], 1, 'the voided form is a missing score')
        t.is_(j['data']['instrument_versions'], ['gad7@1'], 'instrument versions reported')
        wk = j['fixed']['week']
        # t(0.975, df) < 2.03 for df > 30
        t.ok(wk['df'] > 30, 'the slope has %.1f Satterthwaite df' % wk['df'])
        lo = wk['estimate'] - 2.03 * wk['se']
        hi = wk['estimate'] + 2.03 * wk['se']
        t.ok(lo < true_slope['app'] < hi, 'the true app slope -1.0 lies in the 95%% CI '
             '(%.3f, %.3f)' % (lo, hi))
        runs = home.sql("SELECT kind, study_id, input_fingerprint, instrument_versions,"
                        " result->>'n_obs', options->>'random', options->>'interaction'"
                        " FROM analysis_runs WHERE id = %s", (j['run_id'],))
        t.is_(runs, [('mixed', 'trial', j['data']['fingerprint'], ['gad7@1'], str(len(rows)),
                      'slope', 'true')], 'the run is recorded with options and fingerprint')

        # The same rows through a CSV file give the same model.
        path = os.path.join(home.root, 'trial.csv')
        with open(path, 'w') as f:
            f.write('participant,arm,week,gad7\n')
            for c, a, w, s in rows:
                f.write('%s,%s,%d,%r\n' % (c, a, w, s))
        r2, j2 = mixed(home, '--csv', path, '--id', 'participant', '--time', 'week', '--score',
                       'gad7', '--arm', 'arm', '--interaction')
        if t.ok(r2.returncode == 0, 'the exported rows fit via --csv', r2.stderr):
            worst = max(rel(j2['fixed'][k]['estimate'], v['estimate'])
                        for k, v in j['fixed'].items())
            t.ok(worst < 1e-9, 'database and CSV give the same estimates', worst)
            close(j2['loglik'], j['loglik'], 1e-12, 'database and CSV give the same logLik')

    r = home.attune('analyze', 'mixed', '--study', 'trial', '--instrument', 'gad7',
                    '--random', 'intercept', '--arm-ref', 'waitlist')
    t.is_(r.returncode, 0, 'study run as a table')
    m = re.search(r'^run: ([0-9a-f-]{36})$', r.stdout, re.M)
    if t.ok(m, 'the table prints the run id', r.stdout[-500:]):
        t.is_(home.sql('SELECT kind FROM analysis_runs WHERE id = %s', (m.group(1),)),
              [('mixed',)], 'that run is in analysis_runs')
    t.contains(r.stdout, 'armapp', 'the reference arm is waitlist: the term is armapp')
    if m:
        # attune analyze --rerun repeats a recorded mixed run from its arguments.
        rr = home.attune('analyze', '--rerun', m.group(1), '--format', 'json')
        t.is_(rr.returncode, 0, '--rerun of a mixed run succeeds', )
        if rr.returncode == 0:
            jr = json.loads(rr.stdout)
            t.is_(jr.get('rerun', {}).get('identical'), True, '--rerun says the result is identical')
            t.is_(jr.get('rerun', {}).get('fingerprint_matches'), True,
                  '--rerun says the input is the same')
        home.sql("UPDATE responses SET total_score = total_score + 1 WHERE study_week = 8 AND"
                 " participant_id = (SELECT id FROM participants WHERE code = 'P-001')")
        rr = home.attune('analyze', '--rerun', m.group(1), '--format', 'json')
        t.is_(rr.returncode, 1, '--rerun after a changed score fails')
        t.contains(rr.stderr, 'not reproduced', 'and says the result is not reproduced')
        t.contains(rr.stderr, 'input data changed', 'and that the input changed')
    r = home.attune('analyze', 'mixed', '--study', 'nosuch', '--instrument', 'gad7')
    t.is_(r.returncode, 1, 'an unknown study fails')
    t.contains(r.stderr, 'no study "nosuch"', 'and says so')
t.done()
