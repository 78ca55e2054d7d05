#!/usr/bin/env python3
"""attune serve end to end: health and readiness, problem+json errors for an
unknown path, a wrong method and an oversized body (the server keeps
running), security headers and request ids, one log line per request,
readiness following the database through a stop and a start without a
restart of the server, configuration, and a clean stop on SIGTERM."""
import json
import os
import signal
import socket
import threading
import time

from harness import Home, Tap

t = Tap()
with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')

    r = home.attune('serve', '--print-config', env={
        'ATTUNE_DATABASE_URL': 'postgresql://attune:sekrit@localhost/attune'})
    t.is_(r.returncode, 0, 'serve --print-config exits 0')
    t.ok('sekrit' not in r.stdout, 'print-config masks the password')
    t.contains(r.stdout, 'listen', 'print-config shows listen')
    r = home.attune('serve', '--print-config', '--listen', '0.0.0.0:9999')
    t.contains(r.stdout, '0.0.0.0:9999', '--listen flag takes effect')
    cfgfile = os.path.join(home.root, 'attune.conf')
    with open(cfgfile, 'w') as f:
        f.write('threads = 3\n')
    r = home.attune('--config', cfgfile, 'serve', '--print-config')
    t.ok('threads              = 3 ' in r.stdout, 'config file is read', r.stdout)
    r = home.attune('serve', '--listen', 'nonsense')
    t.is_(r.returncode, 1, 'a bad --listen value is an error')
    t.contains(r.stderr, 'listen', 'the error names the setting')

    srv = home.serve()
    st, hdr, body = srv.json('GET', '/healthz')
    t.is_(st, 200, '/healthz answers 200')
    t.is_(body.get('status'), 'alive', '/healthz says alive')
    st, hdr, body = srv.json('GET', '/readyz')
    t.is_(st, 200, '/readyz answers 200 on a migrated database')
    t.is_(body.get('migrations', {}).get('pending'), 0, '/readyz reports no pending migration')

    st, hdr, body = srv.json('GET', '/no/such/path')
    t.is_(st, 404, 'unknown path is 404')
    t.is_(hdr.get('content-type'), 'application/problem+json', '404 is problem+json')
    t.is_(body.get('code'), 'not-found', '404 has a stable code')
    t.is_(body.get('status'), 404, 'problem body has status')

    st, hdr, body = srv.json('DELETE', '/healthz')
    t.is_(st, 405, 'wrong method is 405')
    t.is_(hdr.get('allow'), 'GET, HEAD', '405 names the allowed methods')
    t.is_(hdr.get('content-type'), 'application/problem+json', '405 is problem+json')

    big = b'x' * (2 * 1024 * 1024)
    st, hdr, body = srv.json('POST', '/healthz', big, {'Content-Type': 'application/json'})
    t.is_(st, 413, 'an oversized body is 413')
    t.is_(hdr.get('content-type'), 'application/problem+json', '413 is problem+json')

    # A chunked oversized body (no Content-Length) is cut off too. Read while
    # sending: the server answers as soon as the cap is passed.
    s = socket.create_connection(('127.0.0.1', srv.port), timeout=10)
    received = []

    def reader():
        try:
            received.append(s.recv(200))
        except OSError as exc:
            received.append(repr(exc).encode())

    rt = threading.Thread(target=reader)
    rt.start()
    try:
        s.sendall(b'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
                  b'Content-Type: application/json\r\n\r\n')
        chunk = b'x' * 65536
        for _ in range(40):
            s.sendall(b'%x\r\n%s\r\n' % (len(chunk), chunk))
        s.sendall(b'0\r\n\r\n')
    except OSError:
        pass
    rt.join(timeout=10)
    s.close()
    t.ok(received and b' 413 ' in received[0], 'a chunked oversized body is 413', received)
    st, _, _ = srv.get('/healthz')
    t.is_(st, 200, 'the server keeps running after the refusals')

    st, hdr, _ = srv.get('/healthz', {'X-Request-Id': 'abc-123'})
    t.is_(hdr.get('x-request-id'), 'abc-123', 'a sane X-Request-Id is echoed')
    st, hdr, _ = srv.get('/healthz', {'X-Request-Id': 'bad id "with" junk'})
    t.ok(hdr.get('x-request-id') not in (None, 'bad id "with" junk'),
         'an unsafe X-Request-Id is replaced')
    t.is_(hdr.get('x-content-type-options'), 'nosniff', 'nosniff on every response')
    t.contains(hdr.get('content-security-policy'), "frame-ancestors 'none'",
               'CSP forbids framing')
    t.is_(hdr.get('referrer-policy'), 'no-referrer', 'Referrer-Policy set')

    st, hdr, body = srv.get('/')
    t.is_(st, 200, 'the landing page answers')
    t.contains(body.decode(), 'No study has been created yet', 'landing page serves an empty study')

    # Readiness follows the database, without restarting the server.
    t.is_(home.attune('db', 'stop').returncode, 0, 'database stopped under the server')
    st, hdr, body = srv.json('GET', '/readyz')
    t.is_(st, 503, '/readyz is 503 while the database is down')
    t.ok('retry-after' in hdr, '503 carries Retry-After')
    t.is_(hdr.get('content-type'), 'application/problem+json', '503 is problem+json')
    st, _, _ = srv.get('/healthz')
    t.is_(st, 200, '/healthz stays 200 while the database is down')
    t.is_(home.attune('db', 'start').returncode, 0, 'database started again')
    st, hdr, body = srv.json('GET', '/readyz')
    t.is_(st, 200, '/readyz is 200 again without restarting the server')
    t.ok(srv.alive(), 'the server process is still the same one')

    # Graceful stop: a request in flight finishes.
    results = []

    def slow_client():
        # Sends the headers, waits, then the body: the request is in flight
        # when SIGTERM arrives.
        c = socket.create_connection(('127.0.0.1', srv.port), timeout=20)
        body = b'{"a": 1}'
        c.sendall(b'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                  b'Content-Length: %d\r\n\r\n' % len(body))
        time.sleep(1.0)
        try:
            c.sendall(body)
            results.append(c.recv(100))
        except OSError as exc:
            results.append(repr(exc).encode())
        c.close()

    th = threading.Thread(target=slow_client)
    th.start()
    time.sleep(0.4)
    code = srv.stop(signal.SIGTERM)
    th.join()
    t.is_(code, 0, 'SIGTERM stops the server with exit 0')
    t.ok(results and results[0].startswith(b'HTTP/1.1 405'),
         'the request in flight at SIGTERM still got its answer', results)
    log = srv.log_text()
    lines = [l for l in log.splitlines() if 'event=http.request' in l]
    t.ok(len(lines) >= 10, 'one log line per request', len(lines))
    t.ok(all(' level=' in l and ' status=' in l and ' ms=' in l for l in lines),
         'request log lines carry level, status and duration')
    t.contains(log, 'event=serve.stopped', 'the stop is logged')
    t.ok(all(l[:4].isdigit() for l in log.splitlines() if l), 'every log line starts with a time')
t.done()
