"""Resource limits (docs/hardening.md): slow clients sending a byte a second,
many idle connections and very large headers cannot exhaust the server's
threads, memory or file descriptors, and /healthz keeps answering
throughout; past the connection limits new connections get a quick 503
instead of a hang, and the server recovers by itself.

The attackers connect from 127.0.0.1, .3 and .5-.9; the /healthz probe from
127.0.0.2, so that the per-address limit, which is meant to stop the
attackers, does not stop it. The server runs with 4 threads, a 4-second
connection timeout, 600 connections at most and 200 from one address.
"""
import http.client
import os
import select
import socket
import threading
import time

from harness import Tap, Home

TIMEOUT_S = 4
LIMIT = 600
IP_LIMIT = 200


def proc_stats(pid):
    st = {'threads': 0, 'rss_kb': 0, 'fds': 0}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Threads:'):
                st['threads'] = int(line.split()[1])
            elif line.startswith('VmRSS:'):
                st['rss_kb'] = int(line.split()[1])
    st['fds'] = len(os.listdir('/proc/%d/fd' % pid))
    return st


def connect_from(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(('127.0.0.1', port))
    s.setblocking(False)
    return s


def read_some(s):
    """What the server sent so far; b'' once it closed; None if nothing yet."""
    try:
        data = s.recv(65536)
        return data
    except BlockingIOError:
        return None
    except OSError:
        return b''


class Probe(threading.Thread):
    """GET /healthz from 127.0.0.2 every 100 ms on a fresh connection."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.results = []   # (time, status or error text, seconds)
        self.running = True

    def run(self):
        while self.running:
            t0 = time.time()
            try:
                c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=3,
                                               source_address=('127.0.0.2', 0))
                c.request('GET', '/healthz')
                r = c.getresponse()
                r.read()
                c.close()
                res = r.status
            except OSError as exc:
                res = repr(exc)
            self.results.append((t0, res, time.time() - t0))
            time.sleep(0.1)

    def between(self, t0, t1):
        return [r for r in self.results if t0 <= r[0] <= t1]


t = Tap()
with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')
    srv = home.serve('--threads', '4', env={'ATTUNE_CONNECTION_TIMEOUT': str(TIMEOUT_S),
                                           'ATTUNE_CONNECTION_LIMIT': str(LIMIT),
                                           'ATTUNE_IP_CONNECTION_LIMIT': str(IP_LIMIT)})
    pid = srv.proc.pid
    st, _, _ = srv.get('/healthz')
    t.is_(st, 200, 'the server answers before the attack')
    base = proc_stats(pid)
    probe = Probe(srv.port)
    probe.start()
    time.sleep(0.5)

    # ------------------------------------------------ slow, idle, huge headers
    start = time.time()
    slow, idle, huge = [], [], []
    for _ in range(IP_LIMIT + 50):
        s = connect_from('127.0.0.1', srv.port)
        slow.append(s)
    for _ in range(150):
        idle.append(connect_from('127.0.0.3', srv.port))
    big_header = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 200000 + b'\r\n\r\n'
    many_headers = (b'GET /healthz HTTP/1.1\r\nHost: x\r\n' +
                    b''.join(b'X-H%d: %s\r\n' % (i, b'b' * 40) for i in range(3000)) + b'\r\n')
    for i in range(40):
        s = connect_from('127.0.0.5', srv.port)
        s.setblocking(True)
        s.settimeout(5)
        try:
            s.sendall(big_header if i % 2 == 0 else many_headers)
        except OSError:
            pass  # the server may cut it off half-way: that is an answer too
        s.setblocking(False)
        huge.append(s)

    # The per-address limit: the 50 slow connections over it were answered
    # 503 at once, without reading anything from them.
    time.sleep(0.5)
    refused = 0
    for s in slow:
        data = read_some(s)
        if data and b' 503 ' in data.split(b'\r\n', 1)[0] and b'too-many-connections' in data:
            refused += 1
    t.is_(refused, 50, 'connections over the per-address limit get 503 at once (%d)' % refused)

    # Drip one byte a second into each slow connection's header.
    header = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '
    sent_at = {}
    closed_at = {}
    stats_mid = None
    for second in range(TIMEOUT_S + 4):
        for s in slow:
            if s in closed_at:
                continue
            n = sent_at.get(s, 0)
            try:
                s.send(header[n:n + 1] if n < len(header) else b'z')
                sent_at[s] = n + 1
            except OSError:
                closed_at[s] = time.time() - start
        if second == 1:
            stats_mid = proc_stats(pid)
        time.sleep(1)
        for group in (slow, idle):
            for s in group:
                if s not in closed_at and read_some(s) is not None:
                    closed_at[s] = time.time() - start
    attack_end = time.time()
    admitted_slow = [s for s in slow if sent_at.get(s, 0) > 1 or s in closed_at]
    slow_closed = [closed_at[s] for s in slow if s in closed_at]
    idle_closed = [closed_at[s] for s in idle if s in closed_at]
    t.is_(len(slow_closed), len(slow), 'every slow client was cut off (a byte a second does '
          'not keep a connection)')
    t.ok(slow_closed and max(slow_closed) < TIMEOUT_S + 3,
         'slow clients are cut off within the connection timeout (%ds) plus a moment: '
         'last after %.1f s' % (TIMEOUT_S, max(slow_closed or [0])))
    t.is_(len(idle_closed), len(idle), 'every idle connection was closed')
    t.ok(idle_closed and max(idle_closed) < TIMEOUT_S + 3,
         'idle connections close within the timeout: last after %.1f s' % max(idle_closed or [0]))
    answers = []
    for s in huge:
        s.setblocking(True)
        s.settimeout(3)
        try:
            answers.append(s.recv(200))
        except OSError:
            answers.append(b'')
    t.ok(all(a == b'' or a.startswith(b'HTTP/1.1 431') or a.startswith(b'HTTP/1.1 413')
             for a in answers),
         'very large headers are refused (431) or cut off, never served',
         set(a[:40] for a in answers))
    t.ok(sum(1 for a in answers if a.startswith(b'HTTP/1.1 431')) > 0,
         'very large headers get 431 Request Header Fields Too Large')
    for s in slow + idle + huge:
        s.close()

    results = probe.between(start, attack_end)
    bad = [r for r in results if r[1] != 200 or r[2] > 2.0]
    t.ok(len(results) >= 20 and not bad,
         '/healthz answered every probe (%d) during the attack, each within 2 s (slowest '
         '%.0f ms)' % (len(results), 1000 * max([r[2] for r in results] or [0])), bad[:5])
    t.is_(stats_mid['threads'], base['threads'],
          'no thread per connection: %d threads during the attack as before' % base['threads'])
    t.ok(stats_mid['fds'] <= base['fds'] + LIMIT,
         'descriptors stay within the connection limit: %d (before %d)'
         % (stats_mid['fds'], base['fds']))
    t.ok(stats_mid['rss_kb'] - base['rss_kb'] < 100 * 1024,
         'memory grows by less than 100 MB: %.1f MB with %d connections open'
         % ((stats_mid['rss_kb'] - base['rss_kb']) / 1024.0, len(admitted_slow) + len(idle)))

    # ------------------------------------------------ past the connection limit
    flood, quick_503, t_flood = [], 0, time.time()
    for i in range(LIMIT + 100):
        src = '127.0.0.%d' % (6 + i % 4)   # 4 addresses, each under the per-address limit
        try:
            flood.append(connect_from(src, srv.port))
        except OSError:
            pass
    time.sleep(0.5)
    for s in flood:
        data = read_some(s)
        if data and data.startswith(b'HTTP/1.1 503') and b'Retry-After: 5' in data:
            quick_503 += 1
    t.ok(quick_503 >= 100, 'past the connection limit (%d), new connections get 503 with '
         'Retry-After at once: %d of %d' % (LIMIT, quick_503, len(flood)))
    st_during = proc_stats(pid)
    t.ok(st_during['fds'] <= base['fds'] + LIMIT + 10,
         'descriptors stay bounded at the limit: %d' % st_during['fds'])
    # The flood's connections time out; then the server answers everyone again.
    time.sleep(TIMEOUT_S + 2)
    for s in flood:
        s.close()
    time.sleep(0.5)
    st, _, _ = srv.get('/healthz')
    t.is_(st, 200, 'after the flood /healthz answers from the attackers\' address too')
    after = proc_stats(pid)
    t.ok(after['fds'] <= base['fds'] + 5,
         'descriptors back to where they were: %d (before %d)' % (after['fds'], base['fds']))
    probe.running = False
    probe.join()
    t.ok(srv.alive(), 'the server is still the same process')
    log = srv.log_text()
    t.contains(log, 'event=http.limits', 'the refusals and cut-offs are logged')
    t.is_(srv.stop(), 0, 'the server stops cleanly')
t.done()
