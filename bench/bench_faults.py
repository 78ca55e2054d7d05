#!/usr/bin/env python3
"""bench_faults.py — the fault test's long form: at least 50,000
questionnaire submissions and 1,000,000 events from 32 retrying clients,
while `attune serve` is SIGKILLed four times and SIGTERMed once and
PostgreSQL is stopped twice and SIGKILLed twice (crash recovery); then every
acknowledged record is accounted for in the database. The short form of the
same run is tests/integration/test_faults.py; the steps and checks are in
tests/integration/faultkit.py.

Usage: bench/bench_faults.py [--build build] [--submissions 52000]
                             [--batches 2040] [--clients 32] [--threads 16]

Prints TAP lines for every check, a summary, and RESULT lines for
bench/run.py; exits 1 when any check fails.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PLAN = [(0.08, 'kill_server'), (0.16, 'stop_db'), (0.26, 'kill_server'), (0.36, 'kill_db'),
        (0.46, 'term_server'), (0.56, 'kill_server'), (0.66, 'stop_db'), (0.76, 'kill_db'),
        (0.86, 'kill_server')]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.environ.get('ATTUNE_BUILD', os.path.join(ROOT, 'build')))
    ap.add_argument('--submissions', type=int, default=52000)
    ap.add_argument('--batches', type=int, default=2040)
    ap.add_argument('--batch-size', type=int, default=500)
    ap.add_argument('--clients', type=int, default=32)
    ap.add_argument('--threads', type=int, default=16)
    ap.add_argument('--outage', type=float, default=3.0, help='seconds the database stays down')
    a = ap.parse_args()

    os.environ['ATTUNE_BIN'] = os.path.abspath(os.path.join(a.build, 'attune'))
    os.environ['ATTUNE_FAULTLOAD'] = os.path.abspath(os.path.join(a.build, 'bench', 'faultload'))
    os.environ.setdefault('ATTUNE_SOURCE_ROOT', ROOT)
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
    from harness import Tap, Home
    from faultkit import FaultRun

    t = Tap()
    home = Home(t)
    run = None
    try:
        run = FaultRun(t, home, submissions=a.submissions, batches=a.batches,
                       batch_size=a.batch_size, clients=a.clients, threads=a.threads, plan=PLAN,
                       outage_s=a.outage, max_wait_ms=1000, deadline_s=1500)
        run.setup()
        run.run()
        run.verify()
        run.report()
    finally:
        if run is not None:
            run.close()
        home.close()
    s, v = run.summary or {}, run.verified
    t.diag(run.describe())
    t.diag('load generator: %r' % s)
    c = run.counts
    faults = ('server SIGKILL x%d, SIGTERM x%d; PostgreSQL stop x%d, SIGKILL x%d'
              % (c['kill_server'], c['term_server'], c['stop_db'], c['kill_db']))
    rows = [
        ('faults', 'submissions acknowledged / lost / stored twice (%d clients; %s)'
         % (a.clients, faults),
         '%d / %d / %d' % (v['subs_acked'], v['subs_lost'],
                           v['responses_stored'] - v['subs_acked'] + v['responses_twice']), ''),
        ('faults', 'events acknowledged / lost / stored twice (same run)',
         '%d / %d / %d' % (v['events_acked'], v['events_lost'], v['events_twice']), ''),
        ('faults', 'acknowledgements lost in a crash and given again (200) on retry',
         '%d' % (v['subs_acked_200'] + s.get('events_dup', 0) // max(1, a.batch_size)),
         'records'),
        ('faults', '503 answers during outages, all with Retry-After / requests that hung',
         '%d / %d' % (s.get('s503', 0), s.get('timeouts', 0)), ''),
        ('faults', 'fault run: wall time, load and faults included', '%.0f' % run.seconds, 's'),
        ('memory', 'peak RSS of attune serve under load (fault run, %d clients, %d threads)'
         % (a.clients, a.threads), '%.0f' % (run.peak_rss_kb / 1024.0), 'MB'),
    ]
    for r in rows:
        print('RESULT\t' + '\t'.join(r))
    print('1..%d' % t.n, flush=True)
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
