"""The fault tests: load, crashes and outages, then an account of every
acknowledged record. Used by tests/integration/test_faults.py (the short
form, in CI) and bench/bench_faults.py (the long form, in `make bench`).

A run:

1. sets up a study whose participants were enrolled 64 days ago, so that
   each of them can answer GAD-7, PHQ-9 and WHO-5 in each of study weeks
   0..8 (27 submissions) and log events over 60 days;
2. starts `attune serve` on a fixed port and bench/faultload, whose clients
   submit questionnaires and event batches with ids fixed in advance,
   retrying each until it is acknowledged (see faultload.c);
3. injects the faults of its plan when the load reaches each one's point
   (a fraction of the work acknowledged):

     kill_server   SIGKILL `attune serve`, start it again
     term_server   SIGTERM `attune serve` (graceful stop), start it again
     stop_db       `attune db stop` (fast shutdown), wait, `attune db start`
     kill_db       SIGKILL the postmaster and every backend (a crash), wait,
                   `attune db start` (crash recovery)

   While the database is down it also probes the server itself: /healthz
   must answer 200, and a submission must get 503 with Retry-After, fast;
4. checks, in the database, that every acknowledged submission and event is
   stored, that nothing is stored twice or without an acknowledgement, that
   the audit trail agrees, and that `attune audit verify` finds the chain
   intact.

Only processes this run started are ever signalled: the servers it spawned
and the PostgreSQL cluster of its own temporary home.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import harness

SLOTS = 27                      # submissions per participant (faultload.c)
ITEMS = (7, 9, 5)               # gad7, phq9, who5
FAULTLOAD = os.environ.get('ATTUNE_FAULTLOAD', os.path.join(
    os.path.dirname(harness.ATTUNE_BIN), 'bench', 'faultload'))


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vm_hwm_kb(pid):
    """Peak resident set size of a live process, in KiB (0 if unknown)."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(pid):
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                stat = f.read()
            # pid (comm) state ppid ...: comm may hold spaces and parentheses.
            ppid = int(stat.rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def become_subreaper():
    """Orphaned descendants (the postmaster, once pg_ctl has exited, and its
    backends when it dies) become this process's children instead of init's,
    so that a killed postmaster can be reaped here at once: a zombie still
    holds its pid, and pg_ctl would take it for a running server."""
    import ctypes
    PR_SET_CHILD_SUBREAPER = 36
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def reap(pid):
    """Collects `pid` if it is a dead child of ours (never a Popen's: callers
    pass only the database's processes)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FaultRun:
    """One run. `plan` is a list of (fraction, action) in order; the fraction
    is of all units (submissions + batches) acknowledged."""

    def __init__(self, tap, home, *, submissions, batches, batch_size=500, clients=16,
                 threads=8, plan=(), outage_s=2.0, max_wait_ms=1000, deadline_s=900,
                 log_level='warn', quiet=False):
        self.t = tap
        self.home = home
        self.submissions = submissions
        self.batches = batches
        self.batch_size = batch_size
        self.clients = clients
        self.threads = threads
        self.plan = list(plan)
        self.outage_s = outage_s
        self.max_wait_ms = max_wait_ms
        self.deadline_s = deadline_s
        self.log_level = log_level
        self.quiet = quiet
        self.participants = max(1, -(-submissions // SLOTS))
        import atexit
        atexit.register(self.close)
        self.port = free_port()
        self.server = None
        self.server_logs = []
        self.peak_rss_kb = 0
        self.progress = {'done': 0, 'total': 1}
        self.progress_lock = threading.Lock()
        self.load = None
        self.summary = None
        self.events = []          # (what, seconds taken, notes)
        self.counts = {'kill_server': 0, 'term_server': 0, 'stop_db': 0, 'kill_db': 0}
        self.outage_probes = []   # (healthz status, submit status, retry-after, seconds)
        self.term_exits = []      # (exit code, seconds, in-flight warning in log)

    # ------------------------------------------------------------ set-up

    def close(self):
        """Stops whatever this run started and is still running (after a
        failure half-way); the Home's teardown stops the database."""
        if self.load is not None and self.load.poll() is None:
            self.load.kill()
            self.load.wait()
        if self.server is not None:
            self.stop_server(signal.SIGKILL)

    def note(self, msg):
        if not self.quiet:
            self.t.diag(msg)

    def setup(self):
        h = self.home
        become_subreaper()
        self.t.is_(h.attune('db', 'start').returncode, 0, 'database started')
        self.t.is_(h.attune('migrate').returncode, 0, 'database migrated')
        protocol = os.path.join(h.root, 'faults.json')
        with open(protocol, 'w') as f:
            json.dump({'id': 'faults', 'title': 'Fault test', 'timezone': 'UTC',
                       'arms': ['app'],
                       'schedule': [{'instrument': i, 'version': '1', 'weeks': list(range(9)),
                                     'window_days': 7} for i in ('gad7', 'phq9', 'who5')]}, f)
        r = h.attune('study', 'create', protocol)
        self.t.is_(r.returncode, 0, 'fault study created', )
        self.enrolled_at = int((datetime.now(timezone.utc) - timedelta(days=64)).timestamp())
        stamp = datetime.fromtimestamp(self.enrolled_at, timezone.utc).strftime(
            '%Y-%m-%dT%H:%M:%SZ')
        # One more participant than the load needs: the outage probe's.
        r = h.attune('enroll', '--study', 'faults', '--arm', 'app', '--count',
                     str(self.participants + 1), '--enrolled-at', stamp, timeout=600)
        self.t.is_(r.returncode, 0, '%d participants enrolled' % (self.participants + 1))
        tokens = [line.split(',')[2] for line in r.stdout.splitlines()[1:] if line]
        self.probe_token = tokens.pop()
        self.tokens_path = os.path.join(h.root, 'tokens.txt')
        with open(self.tokens_path, 'w') as f:
            f.write('\n'.join(tokens) + '\n')
        self.out = os.path.join(h.root, 'faultload')

    def start_server(self):
        log_path = os.path.join(self.home.root, 'serve-fault-%d.log' % len(self.server_logs))
        self.server_logs.append(log_path)
        env = dict(self.home.env, ATTUNE_LOG_LEVEL=self.log_level)
        log = open(log_path, 'w')
        proc = subprocess.Popen([harness.ATTUNE_BIN, 'serve', '--listen',
                                 '127.0.0.1:%d' % self.port, '--threads', str(self.threads)],
                                env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        deadline = time.time() + 60
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if 'serving on' in line:
                self.server = proc
                # Drain stdout so that the server never blocks on it.
                threading.Thread(target=proc.stdout.read, daemon=True).start()
                return proc
        proc.kill()
        proc.wait()
        with open(log_path) as f:
            raise RuntimeError('attune serve did not start:\n' + f.read()[-3000:])

    def stop_server(self, sig=signal.SIGTERM, timeout=60):
        proc, self.server = self.server, None
        if proc is None:
            return None
        self.peak_rss_kb = max(self.peak_rss_kb, vm_hwm_kb(proc.pid))
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    # ------------------------------------------------------------ faults

    def postmaster_pid(self):
        path = os.path.join(self.home.env['ATTUNE_HOME'], 'pg', 'data', 'postmaster.pid')
        try:
            with open(path) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def probe_outage(self):
        """While the database is down: /healthz answers 200 and a submission
        gets 503 with Retry-After, both quickly."""
        t0 = time.time()
        try:
            st_h, _, _ = harness._http('127.0.0.1', self.port, 'GET', '/healthz', timeout=20)
        except OSError as exc:
            st_h = repr(exc)
        body = {'id': str(uuid.uuid4()), 'instrument': 'gad7',
                'answers': {'gad7_%d' % i: 1 for i in range(1, 8)},
                'completed_at': datetime.fromtimestamp(self.enrolled_at + 86400,
                                                       timezone.utc).isoformat()}
        try:
            st_s, hdr, _ = harness._http('127.0.0.1', self.port, 'POST', '/api/v1/responses',
                                         body, {'Authorization': 'Bearer ' + self.probe_token},
                                         timeout=20)
            ra = hdr.get('retry-after')
        except OSError as exc:
            st_s, ra = repr(exc), None
        self.outage_probes.append((st_h, st_s, ra, time.time() - t0))

    def fault(self, action):
        t0 = time.time()
        note = ''
        if action == 'kill_server':
            self.stop_server(signal.SIGKILL)
            self.start_server()
        elif action == 'term_server':
            log = self.server_logs[-1]
            ts = time.time()
            code = self.stop_server(signal.SIGTERM)
            took = time.time() - ts
            with open(log) as f:
                cut = 'event=http.shutdown' in f.read()
            self.term_exits.append((code, took, cut))
            note = 'exit %s after %.2f s' % (code, took)
            self.start_server()
        elif action == 'stop_db':
            before = self.progress_snapshot().get('s503', 0)
            r = self.home.attune('db', 'stop', timeout=120)
            if r.returncode != 0:
                raise RuntimeError('attune db stop failed: ' + r.stderr)
            self.probe_outage()
            time.sleep(self.outage_s)
            r = self.home.attune('db', 'start', timeout=120)
            if r.returncode != 0:
                raise RuntimeError('attune db start failed: ' + r.stderr)
            note = '%d answers of 503 to the clients' % (
                self.progress_snapshot().get('s503', 0) - before)
        elif action == 'kill_db':
            pm = self.postmaster_pid()
            if pm is None or not alive(pm):
                raise RuntimeError('no running postmaster to kill')
            victims = [pm] + children_of(pm)
            for pid in victims:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 30
            while time.time() < deadline:
                for p in victims:
                    reap(p)
                if not any(alive(p) for p in victims):
                    break
                time.sleep(0.05)
            self.probe_outage()
            time.sleep(self.outage_s)
            r = self.home.attune('db', 'start', timeout=180)
            if r.returncode != 0:
                raise RuntimeError('attune db start (crash recovery) failed: ' + r.stderr)
            note = 'killed %d processes' % len(victims)
        else:
            raise ValueError(action)
        self.counts[action] += 1
        self.events.append((action, time.time() - t0, note))
        p = self.progress_snapshot()
        self.note('fault %-11s at %5.1f s, %5.1f %% of the work done; took %.2f s; %s' % (
            action, p.get('t', 0), 100.0 * p['done'] / p['total'], time.time() - t0, note))

    # -------------------------------------------------------------- load

    def progress_snapshot(self):
        with self.progress_lock:
            return dict(self.progress)

    def _read_load(self):
        for line in self.load.stdout:
            if line.startswith('progress '):
                parts = line.split()
                d = {'done': int(parts[1]), 'total': int(parts[2])}
                for kv in parts[3:]:
                    k, _, v = kv.partition('=')
                    try:
                        d[k] = float(v) if '.' in v else int(v)
                    except ValueError:
                        pass
                with self.progress_lock:
                    self.progress = d
            elif line.startswith('summary '):
                self.summary = json.loads(line[8:])

    def run(self):
        self.start_server()
        cmd = [FAULTLOAD, '--port', str(self.port), '--tokens', self.tokens_path,
               '--out', self.out, '--enrolled-at', str(self.enrolled_at),
               '--clients', str(self.clients), '--submissions', str(self.submissions),
               '--batches', str(self.batches), '--batch-size', str(self.batch_size),
               '--max-wait-ms', str(self.max_wait_ms), '--deadline-s', str(self.deadline_s)]
        self.load_err = open(os.path.join(self.home.root, 'faultload.err'), 'w')
        t0 = time.time()
        self.load = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.load_err, text=True)
        reader = threading.Thread(target=self._read_load, daemon=True)
        reader.start()
        try:
            for fraction, action in self.plan:
                while self.load.poll() is None:
                    p = self.progress_snapshot()
                    if p['done'] >= fraction * p['total']:
                        break
                    time.sleep(0.02)
                if self.load.poll() is not None:
                    self.t.ok(False, 'the load lasted until the fault at %.0f %% (%s)'
                              % (100 * fraction, action))
                    break
                self.fault(action)
            self.load.wait(timeout=self.deadline_s + 60)
        finally:
            if self.load.poll() is None:
                self.load.kill()
                self.load.wait()
            reader.join(timeout=10)
            self.load_err.close()
        self.seconds = time.time() - t0
        # The final stop is graceful too, and the chain is checked after it.
        self.final_exit = self.stop_server(signal.SIGTERM)
        with open(os.path.join(self.home.root, 'faultload.err')) as f:
            self.load_stderr = f.read()

    # ------------------------------------------------------------ checks

    def verify(self):
        """Counts in the database against what was acknowledged (through
        psql, so that any Python will do)."""
        subs_path = os.path.join(self.out, 'subs_acked.txt')
        events_path = os.path.join(self.out, 'events_acked.txt')
        subs = []
        with open(subs_path) as f:
            for line in f:
                sid, status = line.split()
                subs.append((sid, int(status)))
        with open(events_path) as f:
            n_events_acked = sum(1 for _ in f)
        v = {'subs_acked': len(subs), 'subs_acked_200': sum(1 for _, s in subs if s == 200),
             'events_acked': n_events_acked}
        queries = {
            'subs_lost': 'SELECT count(*) FROM acked_subs a WHERE NOT EXISTS '
                         '(SELECT 1 FROM responses r WHERE r.id = a.id)',
            'events_lost': 'SELECT count(*) FROM acked_events a WHERE NOT EXISTS '
                           '(SELECT 1 FROM events e WHERE e.id = a.id)',
            'responses_stored': 'SELECT count(*) FROM responses',
            'responses_unacked': 'SELECT count(*) FROM responses r WHERE NOT EXISTS '
                                 '(SELECT 1 FROM acked_subs a WHERE a.id = r.id)',
            'responses_twice': 'SELECT count(*) FROM (SELECT 1 FROM responses GROUP BY '
                               'participant_id, instrument_id, study_week '
                               'HAVING count(*) > 1) x',
            'responses_late': "SELECT count(*) FROM responses WHERE timing <> 'on_time'",
            'items_stored': 'SELECT count(*) FROM response_items',
            'events_stored': 'SELECT count(*) FROM events',
            'events_twice': 'SELECT count(*) - count(DISTINCT id) FROM events',
            'events_unacked': 'SELECT count(*) FROM events e WHERE NOT EXISTS '
                              '(SELECT 1 FROM acked_events a WHERE a.id = e.id)',
            'audit_responses': "SELECT count(*), count(DISTINCT target) FROM audit_log "
                               "WHERE action = 'response.create'",
            'audit_events': "SELECT coalesce(sum((detail->>'accepted')::bigint), 0) "
                            "FROM audit_log WHERE action = 'event.create'",
        }
        script = ['CREATE TEMP TABLE acked_subs (id uuid PRIMARY KEY, status int);',
                  'CREATE TEMP TABLE acked_events (id uuid);',
                  "\\copy acked_subs FROM '%s' (FORMAT text, DELIMITER ' ')" % subs_path,
                  "\\copy acked_events FROM '%s'" % events_path,
                  'ANALYZE acked_subs;', 'ANALYZE acked_events;']
        for k, q in queries.items():
            script += ['\\echo %s' % k, q + ';']
        r = subprocess.run(['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', self.home.conninfo()],
                           input='\n'.join(script) + '\n', capture_output=True, text=True,
                           timeout=1800)
        if r.returncode != 0:
            raise RuntimeError('psql failed: ' + r.stderr)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        for key, value in zip(lines[0::2], lines[1::2]):
            parts = tuple(int(x) for x in value.split('|'))
            v[key] = parts[0] if len(parts) == 1 else parts
        # The items each acknowledged submission holds (faultload.c: k % 3).
        v['items_expected'] = sum(ITEMS[(int(sid.split('-')[4], 16) % SLOTS) % 3]
                                  for sid, _ in subs)
        r = self.home.attune('audit', 'verify', timeout=600)
        v['audit_verify'] = (r.returncode, (r.stdout + r.stderr).strip().splitlines()[:1])
        self.verified = v
        return v

    def report(self):
        """TAP checks of everything the run promised."""
        t, s, v = self.t, self.summary or {}, self.verified
        t.ok(self.summary is not None, 'the load generator finished and summarised',
             self.load_stderr[-2000:])
        t.is_(s.get('unacked'), 0, 'every unit of work was acknowledged in the end')
        t.is_(s.get('s4xx'), 0, 'no valid submission or batch was refused (4xx)')
        t.is_(s.get('s5xx'), 0, 'no 5xx other than 503', )
        t.is_(s.get('timeouts'), 0, 'no request hung (no answer within 30 s)')
        t.is_(s.get('s503_without_retry_after'), 0, 'every 503 carried Retry-After')
        for action, n in self.counts.items():
            want = sum(1 for _, a in self.plan if a == action)
            t.is_(n, want, '%s done %d time(s)' % (action, want))
        for st_h, st_s, ra, took in self.outage_probes:
            t.is_(st_h, 200, '/healthz answers 200 while the database is down')
            t.ok(st_s == 503 and ra is not None and took < 15,
                 'a submission gets 503 with Retry-After while the database is down, fast',
                 (st_s, ra, took))
        for code, took, cut in self.term_exits:
            t.is_(code, 0, 'SIGTERM under load: the server exits 0')
            t.ok(not cut, 'SIGTERM under load: every request in flight was finished')
            t.ok(took < 10, 'SIGTERM under load: the server stopped in %.1f s' % took)
        t.is_(self.final_exit, 0, 'the last server stops cleanly')
        t.is_(v['subs_lost'], 0, 'acknowledged submissions lost: 0 of %d' % v['subs_acked'])
        t.is_(v['events_lost'], 0, 'acknowledged events lost: 0 of %d' % v['events_acked'])
        t.is_(v['responses_stored'], v['subs_acked'],
              'responses stored = submissions acknowledged (nothing extra, nothing twice)')
        t.is_(v['responses_unacked'], 0, 'no stored response that was never acknowledged')
        t.is_(v['responses_twice'], 0, 'no instrument and week answered twice')
        t.is_(v['responses_late'], 0, 'every response placed on its own week, on time')
        t.is_(v['items_stored'], v['items_expected'], 'item answers stored exactly once each')
        t.is_(v['events_stored'], v['events_acked'],
              'events stored = events acknowledged (nothing extra, nothing twice)')
        t.is_(v['events_twice'], 0, 'no event id stored twice')
        t.is_(v['events_unacked'], 0, 'no stored event that was never acknowledged')
        t.is_(s.get('odd_batch_answers'), 0,
              'every batch answer counted each event as new or duplicate')
        t.is_(s.get('events_new', 0) + s.get('events_dup', 0), v['events_acked'],
              'the acknowledgements account for every event sent')
        t.ok(s.get('events_new', -1) <= v['events_stored'] and
             s.get('acked_201', -1) <= v['responses_stored'],
             'no server called more records new than are stored',
             (s.get('events_new'), v['events_stored'], s.get('acked_201'),
              v['responses_stored']))
        t.is_(v['audit_responses'], (v['responses_stored'], v['responses_stored']),
              'one response.create audit row per stored response')
        t.is_(v['audit_events'], v['events_stored'],
              'event.create audit rows account for every stored event')
        t.ok(v['audit_verify'][0] == 0, 'attune audit verify: the chain is intact after the faults',
             v['audit_verify'][1])

    def describe(self):
        s, v = self.summary or {}, self.verified
        kills = ', '.join('%s x%d' % (k, n) for k, n in self.counts.items() if n)
        return ('%d submissions and %d events acknowledged by %d clients in %.0f s (%s); '
                'lost %d + %d, stored twice %d + %d; %d acknowledgements lost in a crash and '
                'given again as 200 on retry; %d answers of 503, %d connection errors; '
                'peak RSS of attune serve %.0f MB'
                % (v['subs_acked'], v['events_acked'], self.clients, self.seconds, kills,
                   v['subs_lost'], v['events_lost'], v['responses_twice'], v['events_twice'],
                   v['subs_acked_200'], s.get('s503', 0), s.get('conn_errors', 0),
                   self.peak_rss_kb / 1024.0))
