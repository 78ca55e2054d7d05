#!/usr/bin/env python3
"""bench_mixed.py — `attune analyze mixed` against lme4 on the same data.

The random-slope model score ~ week + (week | id), REML, for 280, 10,000 and
100,000 participants x 9 weeks (0..8), on deterministic synthetic data with
known parameters (a seeded Mersenne Twister; the same seed gives the same
file). Times the whole `attune analyze mixed --csv ... --format json`
process (reading the CSV, the fit, Satterthwaite df, means by week), and,
when Rscript with lme4 is present, lme4::lmer on the same file: the fit
alone (read.csv excluded) and the whole Rscript process. Reports medians,
the ratio of lme4's fit time to Attune's whole run, and the largest
differences between the two sets of estimates and from the true values.

Usage: bench/bench_mixed.py [--attune build/attune] [--sizes 280,10000,100000]
                            [--runs 5] [--r-runs 3] [--no-r] [--irregular]
                            [--json FILE]
Runnable on its own; exits 1 when a target is missed or estimates differ.
"""
import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WEEKS = range(9)
# The generating model: score = b0 + u0 + (b1 + u1)·week + e.
TRUE = {'intercept': 15.0, 'slope': -0.9, 'sd_intercept': 4.0, 'sd_slope': 0.5,
        'corr': -0.3, 'sd_residual': 2.5}
SEED = 20261128

R_SCRIPT = r'''
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$id <- factor(d$id)
t0 <- proc.time()[["elapsed"]]
fit <- lmer(score ~ week + (week | id), data = d, REML = TRUE)
t1 <- proc.time()[["elapsed"]]
vc <- as.data.frame(VarCorr(fit))
se <- sqrt(diag(as.matrix(vcov(fit))))
cat(jsonlite::toJSON(list(
  fit_seconds = t1 - t0,
  fixed = as.list(fixef(fit)), se = as.list(se),
  sd_intercept = vc$sdcor[1], sd_slope = vc$sdcor[2], corr = vc$sdcor[3],
  sd_residual = sigma(fit), reml_criterion = unname(REMLcrit(fit)),
  converged = length(fit@optinfo$conv$lme4$messages) == 0),
  auto_unbox = TRUE, digits = NA), "\n")
'''


def generate(path, n_participants, seed=SEED, irregular=False):
    """Writes id,week,score for n participants, all nine weeks each. With
    `irregular`, each visit is up to 0.4 week off schedule: no two
    participants share a design, the worst case for Attune's pattern merging."""
    rng = random.Random(seed + n_participants + (1 if irregular else 0))
    s0, s1, rho = TRUE['sd_intercept'], TRUE['sd_slope'], TRUE['corr']
    with open(path, 'w') as f:
        f.write('id,week,score\n')
        for i in range(n_participants):
            z0, z1 = rng.gauss(0, 1), rng.gauss(0, 1)
            u0 = s0 * z0
            u1 = s1 * (rho * z0 + math.sqrt(1 - rho * rho) * z1)
            pid = 'p%06d' % i
            rows = []
            for w in WEEKS:
                if irregular:
                    w = round(w + rng.uniform(-0.4, 0.4), 3)
                y = TRUE['intercept'] + u0 + (TRUE['slope'] + u1) * w + \
                    rng.gauss(0, TRUE['sd_residual'])
                rows.append('%s,%s,%.4f\n' % (pid, repr(w), y))
            f.write(''.join(rows))


def run_attune(attune, path):
    cmd = [attune, 'analyze', 'mixed', '--csv', path, '--id', 'id', '--time', 'week',
           '--score', 'score', '--random', 'slope', '--method', 'reml', '--format', 'json']
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError('attune failed: %s' % p.stderr)
    return wall, json.loads(p.stdout)


def run_r(script, path):
    t0 = time.perf_counter()
    p = subprocess.run(['Rscript', script, path], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError('Rscript failed: %s' % p.stderr)
    return wall, json.loads(p.stdout.strip().splitlines()[-1])


def r_available():
    if shutil.which('Rscript') is None:
        return False
    p = subprocess.run(['Rscript', '-e', 'library(lme4); library(jsonlite)'],
                       capture_output=True)
    return p.returncode == 0


def compare(a, r):
    """Largest relative differences between Attune's and lme4's estimates."""
    pairs = {
        'fixed': [(a['fixed']['(Intercept)']['estimate'], r['fixed']['(Intercept)']),
                  (a['fixed']['week']['estimate'], r['fixed']['week'])],
        'se': [(a['fixed']['(Intercept)']['se'], r['se']['(Intercept)']),
               (a['fixed']['week']['se'], r['se']['week'])],
        'sd': [(a['random'][k], r[k]) for k in ('sd_intercept', 'sd_slope', 'sd_residual')],
        'reml_criterion': [(a['reml_criterion'], r['reml_criterion'])],
    }
    out = {k: max(abs(x - y) / abs(y) for x, y in v) for k, v in pairs.items()}
    out['corr_abs'] = abs(a['random']['corr'] - r['corr'])
    # lme4 stops earlier than the optimum; the REML criterion says who is lower.
    out['reml_criterion_attune_minus_lme4'] = a['reml_criterion'] - r['reml_criterion']
    return out


def recovery(a):
    """Is each true value inside Attune's 95% CI (fixed effects), and how far are the SDs."""
    fx = a['fixed']
    rec = {}
    for term, true in (('(Intercept)', TRUE['intercept']), ('week', TRUE['slope'])):
        e, se, df = fx[term]['estimate'], fx[term]['se'], fx[term]['df']
        rec[term] = {'estimate': e, 'true': true, 'within_ci95': abs(e - true) <= 1.96 * se,
                     'z': (e - true) / se}
    for k in ('sd_intercept', 'sd_slope', 'corr', 'sd_residual'):
        rec[k] = {'estimate': a['random'][k], 'true': TRUE[k]}
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--attune', default=os.path.join(os.path.dirname(here), 'build', 'attune'))
    ap.add_argument('--sizes', default='280,10000,100000')
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--r-runs', type=int, default=3)
    ap.add_argument('--no-r', action='store_true')
    ap.add_argument('--irregular', action='store_true',
                    help='visits off schedule: every participant a design of their own')
    ap.add_argument('--json', help='also write the results here')
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    with_r = not args.no_r and r_available()
    tmp = tempfile.mkdtemp(prefix='attune-bench-mixed-')
    results, failed = [], False
    try:
        rscript = os.path.join(tmp, 'fit.R')
        with open(rscript, 'w') as f:
            f.write(R_SCRIPT)
        print('attune analyze mixed vs lme4: score ~ week + (week | id), REML, 9 weeks%s'
              % (', irregular visit times' if args.irregular else ''))
        print('%10s %8s %12s %12s %12s %8s  %s' % ('participants', 'rows', 'attune s',
                                                  'lme4 fit s', 'Rscript s', 'ratio',
                                                  'max rel diff (fixed / se / sd), '
                                                  'REML crit. attune - lme4'))
        for n in sizes:
            path = os.path.join(tmp, 'mixed_%d.csv' % n)
            generate(path, n, irregular=args.irregular)
            times, res = [], None
            for _ in range(args.runs):
                wall, res = run_attune(args.attune, path)
                times.append(wall)
            row = {'participants': n, 'rows': n * len(WEEKS), 'attune_runs': times,
                   'attune_median_s': statistics.median(times),
                   'attune_converged': res['converged'], 'recovery': recovery(res)}
            if with_r:
                rw, rf, rres = [], [], None
                for _ in range(args.r_runs):
                    wall, rres = run_r(rscript, path)
                    rw.append(wall)
                    rf.append(rres['fit_seconds'])
                row.update({'lme4_fit_runs': rf, 'lme4_fit_median_s': statistics.median(rf),
                            'rscript_median_s': statistics.median(rw),
                            'lme4_converged': rres['converged'],
                            'ratio_lme4_fit_to_attune': statistics.median(rf) /
                            row['attune_median_s'],
                            'differences': compare(res, rres)})
            results.append(row)
            if with_r:
                dif = row['differences']
                print('%10d %8d %12.3f %12.3f %12.3f %7.1fx  %.1e / %.1e / %.1e, %+.2g' % (
                    n, row['rows'], row['attune_median_s'], row['lme4_fit_median_s'],
                    row['rscript_median_s'], row['ratio_lme4_fit_to_attune'], dif['fixed'],
                    dif['se'], dif['sd'], dif['reml_criterion_attune_minus_lme4']))
            else:
                print('%10d %8d %12.3f %12s %12s %8s' % (n, row['rows'], row['attune_median_s'],
                                                        '-', '-', '-'))
            # One line for bench/run.py's table (make bench): Attune's whole
            # command against lme4's fit alone, medians.
            print('RESULT\tanalysis\tmixed random slope, %d participants x 9 weeks%s\t%.3f\ts\t%s\t%s'
                  % (n, ' (irregular)' if args.irregular else '', row['attune_median_s'],
                     '%.3f (lme4 fit)' % row['lme4_fit_median_s'] if with_r else '-',
                     '%.1fx faster' % row['ratio_lme4_fit_to_attune'] if with_r else '-'))
            rec = row['recovery']
            print('%10s true slope %.2f: estimate %.4f, inside the 95%% CI: %s' % (
                '', TRUE['slope'], rec['week']['estimate'],
                'yes' if rec['week']['within_ci95'] else 'no'))
            if not res['converged']:
                failed = True
            if n >= 100000 and row['attune_median_s'] >= 10.0:
                print('TARGET MISSED: 100,000 participants took %.2f s (target < 10 s)'
                      % row['attune_median_s'])
                failed = True
            if with_r and n >= 100000 and row['ratio_lme4_fit_to_attune'] < 10.0:
                print('TARGET MISSED: only %.1fx faster than lme4 (target >= 10x)'
                      % row['ratio_lme4_fit_to_attune'])
                failed = True
            if with_r and (row['differences']['fixed'] > 1e-5 or
                           row['differences']['se'] > 1e-3 or row['differences']['sd'] > 1e-3):
                print('ESTIMATES DIFFER from lme4 beyond 1e-5 (fixed) / 1e-3 (SE, SD)')
                failed = True
        if not with_r:
            print('(Rscript with lme4 not found: lme4 side skipped)')
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'true': TRUE, 'seed': SEED, 'results': results}, f, indent=2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
