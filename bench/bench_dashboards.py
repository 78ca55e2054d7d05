#!/usr/bin/env python3
"""bench_dashboards.py — the dashboards' endpoints on a large demo study.

Loads `attune demo --participants N` (default 100,000) into a fresh Attune
home, or reuses a home that holds it (--home; loading 100,000 participants
takes about twenty minutes on two cores), starts `attune serve` with
dashboard_prewarm on, waits until every document is built, then times each
dashboard endpoint: --requests sequential requests and as many again from
--concurrency clients at once, over kept-alive connections with an API
token. Prints p50 / p95 / max per endpoint as RESULT lines, the time each
document took to build (the cold path, done once per data version by the
worker), the time to the first byte and the rate of the streamed exports,
and, when node and chromium are present, the time from navigation until each
page has drawn its data (bench/dashboards_pages.mjs).

Target (issue 8): every endpoint under 200 ms at the 95th percentile, every
page usable within one second. Exits 1 when one is missed.

Usage: bench/bench_dashboards.py [--attune build/attune] [--participants N]
                                 [--home DIR] [--requests 200] [--concurrency 4]
"""
import argparse
import csv
import http.client
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = 'bench password 1234'
P95_TARGET_MS = 200.0
PAGE_TARGET_MS = 1000.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def result(section, what, value, unit, baseline='', ratio=''):
    print('RESULT\t%s\t%s\t%s\t%s\t%s\t%s' % (section, what, value, unit, baseline, ratio),
          flush=True)


class Client:
    def __init__(self, port, token):
        self.port = port
        self.headers = {'Authorization': 'Bearer ' + token}
        self.conn = http.client.HTTPConnection('127.0.0.1', port, timeout=120)

    def get(self, path):
        t0 = time.perf_counter()
        try:
            self.conn.request('GET', path, headers=self.headers)
            r = self.conn.getresponse()
            body = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=120)
            self.conn.request('GET', path, headers=self.headers)
            r = self.conn.getresponse()
            body = r.read()
        return r.status, body, (time.perf_counter() - t0) * 1e3


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--attune', default=os.path.join(os.environ.get('ATTUNE_BUILD', 'build'),
                                                     'attune'))
    ap.add_argument('--participants', type=int, default=100000)
    ap.add_argument('--home', help='an Attune home to reuse (created and loaded when empty)')
    ap.add_argument('--requests', type=int, default=200)
    ap.add_argument('--concurrency', type=int, default=4)
    ap.add_argument('--no-pages', action='store_true', help='skip the browser timing')
    a = ap.parse_args()
    attune = os.path.abspath(a.attune)
    tmp = None
    home = a.home
    if home is None:
        tmp = tempfile.mkdtemp(prefix='attune-bench-dash-')
        os.chmod(tmp, 0o755)
        home = os.path.join(tmp, 'home')
    env = {k: v for k, v in os.environ.items() if not k.startswith('ATTUNE_')}
    env.update({'ATTUNE_HOME': os.path.abspath(home), 'ATTUNE_DATA_DIR': ROOT,
                'ATTUNE_LOG_LEVEL': 'warn', 'ATTUNE_DASHBOARD_PREWARM': '1'})

    def run(*args, **kw):
        return subprocess.run([attune] + list(args), env=env, capture_output=True, text=True,
                              **kw)

    server = None
    failed = False
    try:
        if run('db', 'start').returncode != 0 or run('migrate').returncode != 0:
            log('could not start or migrate the database')
            return 1
        study = run('db', 'url')
        r = subprocess.run(['psql', study.stdout.strip(), '-Atc',
                            "SELECT count(*) FROM participants WHERE study_id = 'demo'"],
                           capture_output=True, text=True)
        n = int(r.stdout.strip() or 0) if r.returncode == 0 else 0
        if n == 0:
            log('loading the demo study with %d participants (minutes)...' % a.participants)
            t0 = time.time()
            r = run('demo', '--participants', str(a.participants), timeout=7200)
            if r.returncode != 0:
                log(r.stderr)
                return 1
            result('dashboards', 'attune demo --participants %d' % a.participants,
                   '%.0f' % (time.time() - t0), 's')
            n = a.participants
        log('demo study: %d participants' % n)
        user = 'bench%d' % os.getpid()
        run('user', 'add', user, '--role', 'researcher', '--study', 'demo', '--password-stdin',
            input=PASSWORD + '\n')
        r = run('token', 'create', '--user', user, '--name', 'bench', '--scope', 'read,export',
                '--study', 'demo', '--days', '1')
        token = r.stdout.split()[0]
        code = subprocess.run(['psql', study.stdout.strip(), '-Atc',
                               "SELECT code FROM participants WHERE study_id = 'demo'"
                               " ORDER BY id OFFSET %d LIMIT 1" % (n // 2)],
                              capture_output=True, text=True).stdout.strip()
        server = subprocess.Popen([attune, 'serve', '--listen', '127.0.0.1:0'], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        port = None
        while port is None:
            line = server.stdout.readline()
            if not line:
                log('attune serve did not start: ' + server.stderr.read())
                return 1
            m = re.search(r':(\d+)/', line)
            port = int(m.group(1)) if m else None
        c = Client(port, token)
        api = '/api/v1/studies/demo/dashboard'
        endpoints = [
            ('changes', api + '/changes'),
            ('studies', '/api/v1/dashboard/studies'),
            ('overview', api + '/overview'),
            ('outcomes (gad7)', api + '/outcomes?instrument=gad7'),
            ('outcomes (phq9)', api + '/outcomes?instrument=phq9'),
            ('engagement', api + '/engagement'),
            ('quality', api + '/quality'),
            ('alerts (researcher)', api + '/alerts'),
            ('completion grid, first page', api + '/completion?limit=50'),
            ('completion grid, page at 50,000', api + '/completion?limit=50&offset=50000'),
            ('trajectories and J-T points', api + '/outcomes/individual?instrument=gad7'),
            ('engagement points', api + '/engagement/points'),
            ('participants without events', api + '/quality/participants'),
            ('participant timeline', '/api/v1/studies/demo/participants/%s/timeline' % code),
        ]

        # Cold: wait for every document to be built (the worker prewarms;
        # a request that finds none builds it or waits for it).
        log('waiting for the documents to be built...')
        t0 = time.time()
        for name, path in endpoints:
            while True:
                st, body, ms = c.get(path)
                if st == 200:
                    try:
                        meta = json.loads(body).get('meta')
                    except ValueError:
                        meta = None
                    if meta:
                        result('dashboards cold build', name, '%.0f' % meta['build_ms'], 'ms')
                    break
                if st != 503:
                    log('%s: HTTP %d %s' % (path, st, body[:300]))
                    failed = True
                    break
                time.sleep(2)
        result('dashboards', 'every document built after start', '%.0f' % (time.time() - t0), 's')

        # Warm: sequential, then concurrent.
        for name, path in endpoints:
            times = []
            for _ in range(a.requests):
                st, body, ms = c.get(path)
                if st != 200:
                    log('%s: HTTP %d' % (path, st))
                    failed = True
                    break
                times.append(ms)
            if not times:
                continue
            p95 = pct(times, 95)
            result('dashboards p95 (1 client)', name, '%.1f' % p95, 'ms', '%.0f' % P95_TARGET_MS,
                   '%.2f' % (p95 / P95_TARGET_MS))
            result('dashboards p50 (1 client)', name, '%.1f' % pct(times, 50), 'ms')
            failed |= p95 > P95_TARGET_MS
        lock = threading.Lock()
        conc = {name: [] for name, _ in endpoints}

        def worker(k):
            cl = Client(port, token)
            for i in range(a.requests):
                name, path = endpoints[(i + k) % len(endpoints)]
                st, body, ms = cl.get(path)
                with lock:
                    conc[name].append(ms if st == 200 else float('inf'))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.concurrency)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for name, _ in endpoints:
            xs = conc[name]
            if xs:
                p95 = pct(xs, 95)
                result('dashboards p95 (%d clients, mixed)' % a.concurrency, name, '%.1f' % p95,
                       'ms', '%.0f' % P95_TARGET_MS, '%.2f' % (p95 / P95_TARGET_MS))
                failed |= p95 > P95_TARGET_MS

        # Streamed exports: the first byte, and the whole file.
        for f in ('responses-long.csv', 'events.csv', 'responses-wide.csv'):
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=3600)
            t0 = time.perf_counter()
            conn.request('GET', '/api/v1/studies/demo/export/' + f, headers=c.headers)
            r = conn.getresponse()
            first = r.read(1)
            ttfb = (time.perf_counter() - t0) * 1e3
            total = len(first)
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
            secs = time.perf_counter() - t0
            conn.close()
            result('dashboards export', f + ': first byte', '%.0f' % ttfb, 'ms')
            result('dashboards export', f + ': whole file', '%.1f' % secs,
                   's (%.0f MB, %.1f MB/s)' % (total / 1e6, total / 1e6 / secs))

        if not a.no_pages and shutil.which('node') and os.path.exists('/usr/bin/chromium'):
            p = subprocess.run(['node', os.path.join(ROOT, 'bench', 'dashboards_pages.mjs'),
                                'http://127.0.0.1:%d' % port, user, PASSWORD, code],
                               cwd=ROOT, capture_output=True, text=True, timeout=600)
            for line in p.stdout.splitlines():
                if line.startswith('RESULT\t'):
                    print(line, flush=True)
                    parts = line.split('\t')
                    if parts[1].startswith('page') and float(parts[3]) > PAGE_TARGET_MS:
                        failed = True
            if p.returncode != 0:
                log(p.stderr[-2000:])
                failed = True
        return 1 if failed else 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        if tmp is not None:
            run('db', 'stop')
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
