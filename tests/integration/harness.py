"""Integration-test harness: a throwaway Attune home with its own PostgreSQL
cluster, `attune serve` on a free port, plain HTTP requests, TAP output, and
teardown that runs even when a test fails or is interrupted.

Each test file is a script run by meson (protocol 'tap'):

    from harness import Tap, Home
    t = Tap()
    with Home(t) as home:          # temp folder, ATTUNE_HOME inside it
        home.attune('db', 'start')  # the embedded cluster, as a user would
        home.attune('migrate')
        srv = home.serve()          # attune serve --listen 127.0.0.1:0
        st, hdr, body = srv.get('/healthz')
        t.is_(st, 200, 'healthz answers')
    t.done()

The binary comes from $ATTUNE_BIN (set by meson); the source tree from
$ATTUNE_SOURCE_ROOT.
"""
import atexit
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ATTUNE_BIN = os.environ.get('ATTUNE_BIN', os.path.join(os.getcwd(), 'attune'))
SOURCE_ROOT = os.environ.get('ATTUNE_SOURCE_ROOT',
                             os.path.dirname(os.path.dirname(os.path.dirname(
                                 os.path.abspath(__file__)))))


class Tap:
    """Prints TAP: one line per check, the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print('%sok %d - %s' % ('' if cond else 'not ', self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:40]:
                    print('#   ' + line, flush=True)
        return bool(cond)

    def is_(self, got, want, name):
        return self.ok(got == want, name, 'got:  %r\nwant: %r' % (got, want))

    def contains(self, text, part, name):
        return self.ok(text is not None and part in text, name,
                       'wanted %r in:\n%s' % (part, text))

    def diag(self, msg):
        for line in str(msg).splitlines():
            print('# ' + line, flush=True)

    def done(self):
        print('1..%d' % self.n, flush=True)
        sys.exit(1 if self.failed or self.n == 0 else 0)


def _http(host, port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault('Content-Type', 'application/json')
        elif isinstance(body, str):
            body = body.encode()
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (413, say) and close before reading the
            # whole body; its answer is still waiting in the socket.
            pass
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


class Server:
    """A running `attune serve`. Stopped by stop() or by the Home's teardown."""

    def __init__(self, home, args, env):
        self.home = home
        self.log_path = os.path.join(home.root, 'serve-%d.log' % len(home.servers))
        self.log = open(self.log_path, 'w')
        self.proc = subprocess.Popen([ATTUNE_BIN, 'serve', '--listen', '127.0.0.1:0'] + args,
                                     env=env, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True)
        self.host = '127.0.0.1'
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r'https?://[^:/]+:(\d+)/', line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.wait(timeout=10)
            raise RuntimeError('attune serve did not start (exit %s):\n%s'
                               % (self.proc.returncode, self.log_text()))

    @property
    def url(self):
        return 'http://%s:%d' % (self.host, self.port)

    def request(self, method, path, body=None, headers=None, timeout=30):
        return _http(self.host, self.port, method, path, body, headers, timeout)

    def get(self, path, headers=None):
        return self.request('GET', path, headers=headers)

    def post(self, path, body=None, headers=None):
        return self.request('POST', path, body, headers)

    def json(self, method, path, body=None, headers=None):
        st, hdr, data = self.request(method, path, body, headers)
        try:
            return st, hdr, json.loads(data) if data else None
        except ValueError:
            return st, hdr, data

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig` and waits; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


class Home:
    """A temporary ATTUNE_HOME (and any extra environment) for one test file."""

    def __init__(self, tap, env=None):
        self.tap = tap
        self.root = tempfile.mkdtemp(prefix='attune-it-')
        # The embedded cluster runs as an unprivileged user when we are root:
        # it must be able to reach its folder.
        os.chmod(self.root, 0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('ATTUNE_')}
        self.env.update({'ATTUNE_HOME': os.path.join(self.root, 'home'),
                         'ATTUNE_DATA_DIR': SOURCE_ROOT,
                         'ATTUNE_LOG_LEVEL': 'info'})
        self.env.update(env or {})
        self.servers = []
        self.cluster_started = False
        atexit.register(self.close)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None:
            import traceback
            self.tap.ok(False, 'test script raised %s' % exc_type.__name__,
                        ''.join(traceback.format_exception(exc_type, exc, tb)))
            for s in self.servers:
                if s.alive():
                    self.tap.diag('server log:\n' + s.log_text()[-3000:])
        self.close()
        return True

    def attune(self, *args, env=None, timeout=120, input=None):
        """Runs build/attune; returns CompletedProcess (text)."""
        e = dict(self.env)
        e.update(env or {})
        if args and args[0] == 'db' and len(args) > 1 and args[1] == 'start':
            self.cluster_started = True
        return subprocess.run([ATTUNE_BIN] + list(args), env=e, capture_output=True, text=True,
                              timeout=timeout, input=input)

    def serve(self, *args, env=None):
        e = dict(self.env)
        e.update(env or {})
        srv = Server(self, list(args), e)
        self.servers.append(srv)
        return srv

    def browser(self, script, *args, timeout=300):
        """Runs a Node browser script from tests/browser and relays its TAP
        lines into this file's count (prefixed with the script's name)."""
        node = shutil.which('node')
        if node is None:
            self.tap.ok(False, 'node is installed (needed for browser tests)')
            return
        env = dict(self.env)
        env.setdefault('ATTUNE_SCREENSHOT_DIR', os.path.join(
            os.environ.get('ATTUNE_BUILD_DIR', self.root), 'screenshots'))
        path = os.path.join(SOURCE_ROOT, 'tests', 'browser', script)
        r = subprocess.run([node, path] + [str(a) for a in args], env=env, capture_output=True,
                           text=True, timeout=timeout, cwd=SOURCE_ROOT)
        seen = 0
        for line in r.stdout.splitlines():
            m = re.match(r'^(not ok|ok) \d+ - (.*)$', line)
            if m:
                seen += 1
                self.tap.ok(m.group(1) == 'ok', '%s: %s' % (script, m.group(2)))
            elif line.startswith('#'):
                print(line, flush=True)
        if r.returncode != 0 and seen == 0 or seen == 0:
            self.tap.ok(False, '%s ran' % script, r.stderr[-3000:])

    def conninfo(self):
        return self.attune('db', 'url').stdout.strip()

    def sql(self, query, params=None):
        """Runs one statement on the embedded cluster; returns rows (or [])."""
        import psycopg2
        conn = psycopg2.connect(self.conninfo())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def close(self):
        for s in self.servers:
            try:
                s.stop(signal.SIGKILL if not s.alive() else signal.SIGTERM, timeout=20)
            except Exception:
                pass
        self.servers = []
        if self.cluster_started:
            self.cluster_started = False
            try:
                subprocess.run([ATTUNE_BIN, 'db', 'stop'], env=self.env, capture_output=True,
                               timeout=90)
            except Exception:
                pass
            # If the polite stop failed, do not leave a server behind.
            pidfile = os.path.join(self.env['ATTUNE_HOME'], 'pg', 'data', 'postmaster.pid')
            try:
                with open(pidfile) as f:
                    os.kill(int(f.readline()), signal.SIGQUIT)
                time.sleep(0.5)
            except (OSError, ValueError):
                pass
        if self.root and os.path.isdir(self.root):
            shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
