#!/usr/bin/env python3
"""The collector against a minimal libmicrohttpd + libpq insert server
(bench/baseline.c), side by side in one run.

Each server gets its own fresh, throwaway PostgreSQL cluster (Attune's
embedded one, the same settings for both), the same number of worker
threads and database connections, and the same requests from the same load
generator (bench/loadgen.c: 16 keep-alive connections):

  submissions  one questionnaire per request (GAD-7, PHQ-9 or WHO-5 of a
               fresh participant slot); the collector validates, scores,
               places and stores it with its item answers, the baseline
               inserts the body as one row
  events       batches of 500 events per request; the collector validates
               every event and checks the type registry, the baseline
               inserts the batch as it came

Runs alternate baseline and collector, RUNS times each, and the medians
give the ratios. The collector gets enough participant slots for every run
(each submission needs a fresh one; a run that runs out stops early and says
so), and the runs start once its server has sealed the enrolment's audit
rows: setting up is not what is measured. Usage:

  bench/collector.py [--build build] [--runs 5] [--seconds 5] [--threads 16]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env, **kw):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit('bench: %s failed:\n%s%s' % (' '.join(cmd), r.stdout, r.stderr))
    return r.stdout


def start(cmd, env, pattern, log):
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    sys.exit('bench: %s did not start' % cmd[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.environ.get('ATTUNE_BUILD', os.path.join(ROOT, 'build')))
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--threads', type=int, default=16)
    ap.add_argument('--conns', type=int, default=16)
    ap.add_argument('--batch', type=int, default=500)
    ap.add_argument('--participants', type=int, default=0,
                    help='participants to enrol (default: enough for every run at 20,000 '
                         'submissions/s, at least 40,000)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder')
    a = ap.parse_args()
    if a.participants <= 0:
        a.participants = max(40000, int(a.runs * a.seconds * 20000 / 3))

    attune = os.path.join(a.build, 'attune')
    baseline = os.path.join(a.build, 'bench', 'baseline')
    loadgen = os.path.join(a.build, 'bench', 'loadgen')
    tmp = tempfile.mkdtemp(prefix='attune-bench-')
    os.chmod(tmp, 0o755)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith('ATTUNE_')}
    base_env['ATTUNE_DATA_DIR'] = ROOT
    env_c = dict(base_env, ATTUNE_HOME=os.path.join(tmp, 'collector'))
    env_b = dict(base_env, ATTUNE_HOME=os.path.join(tmp, 'baseline'))
    procs = []
    try:
        for env in (env_c, env_b):
            run([attune, 'db', 'start'], env)
        run([attune, 'migrate'], env_c)
        conninfo_b = run([attune, 'db', 'url'], env_b).strip()

        protocol = os.path.join(tmp, 'bench.json')
        with open(protocol, 'w') as f:
            json.dump({'id': 'bench', 'title': 'Benchmark', 'arms': ['app'],
                       'schedule': [{'instrument': i, 'version': '1', 'weeks': [0]}
                                    for i in ('gad7', 'phq9', 'who5')]}, f)
        run([attune, 'study', 'create', protocol], env_c)
        enrolled = (datetime.now(timezone.utc) - timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')
        t0 = time.time()
        tokens = os.path.join(tmp, 'tokens.txt')
        with open(tokens, 'w') as f:
            left = a.participants
            while left > 0:  # attune enroll takes at most 100,000 at a time
                n = min(left, 100000)
                out = run([attune, 'enroll', '--study', 'bench', '--arm', 'app', '--count',
                           str(n), '--enrolled-at', enrolled], env_c, timeout=1800)
                for line in out.splitlines()[1:]:
                    f.write(line.split(',')[2] + '\n')
                left -= n
        print('# enrolled %d participants in %.1f s' % (a.participants, time.time() - t0),
              flush=True)

        log_c = open(os.path.join(tmp, 'collector.log'), 'w')
        log_b = open(os.path.join(tmp, 'baseline.log'), 'w')
        srv_c, port_c = start([attune, 'serve', '--listen', '127.0.0.1:0', '--threads',
                               str(a.threads)], env_c, r'http://[^:/]+:(\d+)/', log_c)
        procs.append(srv_c)
        # The baseline takes its port from the command line: find a free one.
        import socket
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port_b = s.getsockname()[1]
        s.close()
        srv_b, _ = start([baseline, conninfo_b, str(port_b), str(a.threads)], env_b,
                         r'listening on (\d+)', log_b)
        procs.append(srv_b)
        # The enrolment wrote an audit row per participant, which the server's
        # sealer hashes into the chain in its first seconds: wait for it.
        conninfo_c = run([attune, 'db', 'url'], env_c).strip()
        t0 = time.time()
        while time.time() - t0 < 300:
            left = subprocess.run(['psql', '-XAtq', conninfo_c, '-c',
                                   'SELECT attune_audit_unsealed_count()'],
                                  capture_output=True, text=True).stdout.strip()
            if left == '0':
                break
            time.sleep(0.5)
        print('# the collector sealed the enrolment\'s audit rows in %.1f s'
              % (time.time() - t0), flush=True)

        targets = {'baseline': (port_b, '/submit', '/events'),
                   'collector': (port_c, '/api/v1/responses', '/api/v1/events')}
        results = {(t, m): [] for t in targets for m in ('submit', 'events')}
        offsets = {'baseline': 0, 'collector': 0}
        for r in range(a.runs):
            order = ['baseline', 'collector'] if r % 2 == 0 else ['collector', 'baseline']
            for mode in ('submit', 'events'):
                for t in order:
                    port, p_sub, p_ev = targets[t]
                    cmd = [loadgen, '127.0.0.1', str(port), p_sub if mode == 'submit' else p_ev,
                           mode, str(a.seconds), str(a.conns), tokens, str(offsets[t]),
                           str(a.batch)]
                    env = dict(os.environ)
                    if t == 'baseline':
                        env['LOADGEN_NO_LIMIT'] = '1'
                    res = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                                    check=True, env=env).stdout)
                    if mode == 'submit':
                        offsets[t] = res['next_offset']
                    rate = res['rows'] / res['seconds']
                    results[(t, mode)].append((rate, res))
                    print('# run %d %-9s %-6s %9.0f rows/s  %6d requests  %d failed  '
                          'p50 %.2f ms  p99 %.2f ms%s' % (
                              r + 1, t, mode, rate, res['requests'], res['failed'],
                              res['p50_ms'], res['p99_ms'],
                              '  (participant slots exhausted)' if res['exhausted'] else ''),
                          flush=True)

        def med(t, m):
            return statistics.median(x[0] for x in results[(t, m)])

        def rng(t, m):
            xs = [x[0] for x in results[(t, m)]]
            return '%.0f..%.0f' % (min(xs), max(xs))

        # Every acknowledged row is in the database, once.
        stored = subprocess.run(
            ['psql', '-XAtq', run([attune, 'db', 'url'], env_c).strip(), '-c',
             "SELECT (SELECT count(*) FROM responses), (SELECT count(*) FROM events)"],
            capture_output=True, text=True).stdout.strip()
        acked = (sum(x[1]['rows'] for x in results[('collector', 'submit')]),
                 sum(x[1]['rows'] for x in results[('collector', 'events')]))
        print()
        print('| measure (median of %d runs, %g s each, %d connections) | baseline | collector |'
              ' ratio |' % (a.runs, a.seconds, a.conns))
        print('|---|---|---|---|')
        for m, label in (('submit', 'submissions/s'), ('events', 'events/s (batches of %d)'
                                                        % a.batch)):
            b, c = med('baseline', m), med('collector', m)
            print('| %s | %.0f (%s) | %.0f (%s) | %.2f |' % (label, b, rng('baseline', m), c,
                                                            rng('collector', m), c / b))
        for m, label in (('submit', 'questionnaire submissions/s, %d connections' % a.conns),
                         ('events', 'events/s, batches of %d, %d connections' % (a.batch,
                                                                               a.conns))):
            b, c = med('baseline', m), med('collector', m)
            print('RESULT\tcollector\t%s\t%.0f\t/s\t%.0f\t%.2f' % (label, c, b, c / b))
        for m in ('submit', 'events'):
            p50 = statistics.median(x[1]['p50_ms'] for x in results[('collector', m)])
            p99 = statistics.median(x[1]['p99_ms'] for x in results[('collector', m)])
            print('RESULT\tcollector\t%s latency p50 / p99 under load\t%.1f / %.1f\tms' % (
                'submission' if m == 'submit' else 'event batch', p50, p99))
        print()
        print('collector rows acknowledged: %d responses, %d events; stored: %s' % (
            acked[0], acked[1], stored.replace('|', ' responses, ') + ' events'))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for env in (env_c, env_b):
            subprocess.run([attune, 'db', 'stop'], env=env, capture_output=True)
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print('# kept %s' % tmp)


if __name__ == '__main__':
    main()
