#!/usr/bin/env python3
"""The report on the demo study (attune demo, docs/demo.md), whose generating
parameters are known:

- the report's populations add up with the attrition table in every arm
  (completers + those who did not complete = scored at baseline; BOCF and
  LOCF = scored at baseline; completers = the flow's completers), and each
  headline row's n is its population's;
- the mixed model recovers the true mean slopes (app -0.50, waitlist -0.15
  GAD-7 points a week, so reductions of 4.0 and 1.2 points over 8 weeks):
  on the default seed and on two more, every estimate lies within 3 SE of the
  truth, and the 95% intervals cover it in at least 5 of the 6 arm-seed
  pairs (a calibrated 95% interval fails that with probability 0.033);
- dropout is documented to fall with engagement: app-arm completers used
  the app on more days than those who left;
- the claim checker accepts a claim built from one of the report's rows
  and rejects the issue's example unless a row with that n reproduces it."""
from harness import Home, Tap

t = Tap()
TRUTH = {'app': -0.50, 'waitlist': -0.15}  # docs/demo.md: mean slope per week
WEEKS = 8


def demo_home(seed):
    home = Home(t)
    home.attune('db', 'start')
    home.attune('migrate')
    r = home.attune('demo', '--seed', str(seed), timeout=600)
    t.is_(r.returncode, 0, 'attune demo --seed %d' % seed)
    return home


def run_json(home, *args):
    import json
    r = home.attune(*args, '--format', 'json', timeout=600)
    try:
        return json.loads(r.stdout)
    except ValueError:
        t.ok(False, 'attune %s gives JSON' % ' '.join(args), r.stderr[-2000:])
        return None


def slopes(home, seed):
    """The model-based reduction over 8 weeks per arm, as a slope with its CI."""
    mixed = run_json(home, 'analyze', 'mixed', '--study', 'demo', '--instrument', 'gad7',
                     '--interaction')
    out = {}
    for red in mixed['reduction']:
        p = red['points']
        # reduction = mean(week 0) - mean(week 8) = -8 x slope for a straight line.
        out[red['arm']] = (-p['estimate'] / WEEKS, p['se'] / WEEKS,
                           (-p['ci95'][1] / WEEKS, -p['ci95'][0] / WEEKS))
    for arm, (est, se, ci) in sorted(out.items()):
        t.diag('seed %d %s: slope %.4f (SE %.4f), 95%% CI [%.4f, %.4f]; truth %.2f' %
               (seed, arm, est, se, ci[0], ci[1], TRUTH[arm]))
    return out


covered = 0
pairs = 0
home = demo_home(1)
with home:
    att = run_json(home, 'analyze', 'attrition', '--study', 'demo', '--instrument', 'gad7')
    rep = run_json(home, 'report', '--study', 'demo', '--instrument', 'gad7', '--arm-ref',
                   'waitlist')
    flow = {a['arm']: a['flow'] for a in att['arms']}
    flow['all'] = att['total']['flow']
    t.is_({k: v['enrolled'] for k, v in flow.items()}, {'app': 140, 'waitlist': 140, 'all': 280},
          'the flow starts from 140 + 140 enrolled')
    pops = {p['key']: p['n'] for p in rep['populations']}
    for arm in ('app', 'waitlist', 'all'):
        f = flow[arm]
        left = sum(f['not_completed'].values())
        t.is_(f['completers'] + left, f['baseline_done'],
              '%s: completers %d + did not complete %d = scored at baseline %d' %
              (arm, f['completers'], left, f['baseline_done']))
        t.is_(f['baseline_done'] + f['no_baseline'], f['enrolled'],
              '%s: scored at baseline + no baseline = enrolled' % arm)
        t.is_(pops['completers'][arm]['n'], f['completers'],
              "%s: the report's completers are the flow's" % arm)
        t.is_((pops['bocf'][arm]['n'], pops['locf'][arm]['n']),
              (f['baseline_done'], f['baseline_done']),
              '%s: BOCF and LOCF include everyone scored at baseline' % arm)
        t.is_(pops['completers'][arm]['no_followup'], left,
              '%s: the completers population left out exactly those who did not complete' % arm)
        t.ok(f['not_completed']['missed'] > 0, '%s: some missed the final questionnaire' % arm)
    t.ok(all(v for a in rep['adds_up'].values() for k, v in a.items()
             if k.endswith('_is_flow') or k.endswith('_is_baseline') or k.endswith('baseline')
             and isinstance(v, bool)), 'the report says so too', rep['adds_up'])
    bad = [r for r in rep['headline']['rows'] if r['population'] in ('completers', 'bocf', 'locf')
           and r['definition'] in ('group_mean_pct', 'mean_change_points')
           and r['n'] != pops[r['population']][r['arm'] or 'all']['n']]
    t.is_(bad, [], "every group-mean row's n is its population's")
    t.is_([a['flow'] for a in rep['attrition']['arms']], [a['flow'] for a in att['arms']],
          'the report shows the flow the attrition command gives')

    pp = run_json(home, 'analyze', 'prepost', '--study', 'demo', '--instrument', 'gad7',
                  '--arm', 'app')
    row = next(r for r in rep['headline']['rows'] if r['definition'] == 'group_mean_pct' and
               r['population'] == 'completers' and r['arm'] == 'app')
    t.is_((row['n'], row['value'], row['ci95']),
          (pp['n'], pp['pct_reduction_group_means']['value'],
           pp['pct_reduction_group_means']['ci95']),
          'the report\'s completers reduction is analyze prepost\'s, bootstrap CI and all')

    # The mixed model against the truth (default seed).
    for arm, (est, se, ci) in slopes(home, 1).items():
        t.ok(abs(est - TRUTH[arm]) < 3 * se, 'seed 1 %s: the slope is within 3 SE of %.2f' %
             (arm, TRUTH[arm]), (est, se))
        covered += ci[0] <= TRUTH[arm] <= ci[1]
        pairs += 1

    # Dropout falls with engagement (docs/demo.md): completers used the app more.
    eng = run_json(home, 'analyze', 'engagement', '--study', 'demo', '--instrument', 'gad7')
    done = {c for (c,) in home.sql(
        "SELECT p.code FROM participants p JOIN responses r ON r.participant_id = p.id "
        "WHERE p.arm_id = 'app' AND r.instrument_id = 'gad7' AND r.study_week = 8 "
        "AND r.total_score IS NOT NULL")}
    app = [p for p in eng['participants'] if p['arm'] == 'app']
    a_done = [p['total']['active_days'] for p in app if p['participant'] in done]
    a_left = [p['total']['active_days'] for p in app if p['participant'] not in done]
    t.ok(sum(a_done) / len(a_done) > sum(a_left) / len(a_left),
         'app arm: completers were active on more days (%.1f) than those who left (%.1f)' %
         (sum(a_done) / len(a_done), sum(a_left) / len(a_left)))
    t.is_(eng['sessions']['sessions'], eng['sessions']['paired'] +
          eng['sessions']['unpaired_start'], 'sessions = paired + unpaired starts')
    corr = eng['outcome']['correlations']['app']['active_days']
    t.ok(corr['pearson']['n'] == flow['app']['completers'] and
         corr['pearson']['ci95'][0] < corr['pearson']['r'] < corr['pearson']['ci95'][1],
         'app arm: engagement-change correlation over the completers, inside its CI', corr)

    # Claims.
    row = next(r for r in rep['headline']['rows'] if r['definition'] == 'group_mean_pct' and
               r['population'] == 'mixed' and r['arm'] == 'app')
    good = '%.0f%% reduction in anxiety among %d adults in the app arm over 8 weeks' % (
        row['value'], row['n'])
    got = run_json(home, 'report', '--study', 'demo', '--instrument', 'gad7', '--claim', good)
    t.is_(got['claim']['verdict'], 'reproduced', 'accepted: "%s"' % good)
    ex = '43% reduction in anxiety among 280 adults over 8 weeks'
    got = run_json(home, 'report', '--study', 'demo', '--instrument', 'gad7', '--claim', ex)
    could = [r for r in got['headline']['rows'] if r['n'] == 280 and r['unit'] == 'percent' and
             r['kind'] == 'change of the score' and r['value'] is not None and
             42.5 <= r['value'] < 43.5]
    t.is_(got['claim']['verdict'] == 'reproduced', bool(could),
          'the issue\'s example is %s, as the rows say' %
          ('reproduced' if could else 'not reproduced'))
    t.ok(got['claim']['counts']['reproduces'] == len(could), 'and the count of rows agrees')

for seed in (2, 3):
    home = demo_home(seed)
    with home:
        for arm, (est, se, ci) in slopes(home, seed).items():
            t.ok(abs(est - TRUTH[arm]) < 3 * se, 'seed %d %s: the slope is within 3 SE of %.2f' %
                 (seed, arm, TRUTH[arm]), (est, se))
            covered += ci[0] <= TRUTH[arm] <= ci[1]
            pairs += 1
t.ok(pairs == 6 and covered >= 5, 'the 95%% CIs cover the true slopes in %d of %d arm-seed pairs '
     '(at least 5 needed)' % (covered, pairs))
t.done()
