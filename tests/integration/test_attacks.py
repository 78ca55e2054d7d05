#!/usr/bin/env python3
"""The attack suite (issue 7). Each attack is refused with the right status,
changes nothing (fingerprints of the sensitive tables before and after), and
is audited where it should be:

- SQL-injection strings in every field of every endpoint access/ adds: form
  fields, query parameters, path parameters, JSON bodies and headers;
- path traversal on /static, including symbolic links out of the folder;
- a participant token on researcher, viewer, admin and another participant's
  endpoints; a viewer asking for participant rows or an export;
- state-changing requests without the CSRF token, with another session's,
  and from another origin;
- expired and signed-out sessions; revoked, expired and out-of-scope API
  tokens;
- password guessing past the limits per account and per address (429 with
  Retry-After, even for the right password) and the block lifting;
- UPDATE, DELETE and TRUNCATE on audit_log as the application role, and as
  the owner; tampering behind the application's back named by audit verify;
- erasure leaving none of the participant's answers or events anywhere.
"""
import hashlib
import re
import time
import urllib.parse

import psycopg2

from accesskit import (PASSWORD, Browser, add_participant, add_user, audit_rows, bearer,
                       last_audit_id, seed_study, snapshot)
from harness import Home, Tap

SQLI = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "admin'--",
    "'; DROP TABLE users; --",
    '"; DROP TABLE audit_log; --',
    "1; DELETE FROM audit_log",
    "' UNION SELECT password_hash FROM users --",
    "'; UPDATE users SET role='admin' WHERE username='vera'; --",
    "1) OR (1=1",
    "') OR ('a'='a",
    "'||(SELECT current_user)||'",
    "$$; DROP TABLE sessions; $$",
    "'; SELECT pg_sleep(5); --",
    "\\'; TRUNCATE audit_log; --",
    "%27%20OR%201%3D1",
    '{"$gt": ""}',
    "<script>alert(1)</script>",
    "demo' --",
]

# Everything a refused request must leave alone; users without last_login_at
# and api_tokens without last_used_at (legitimate uses note the time).
GUARDED = ['(SELECT id, username, display_name, role, password_hash, created_at,'
           ' password_changed_at, disabled_at FROM users)', 'study_members', 'participants', 'participant_tokens', 'studies', 'arms',
           'responses', 'response_items', 'analysis_runs',
           '(SELECT id, user_id, name, token_hash, study_id, scopes, expires_at, revoked_at'
           ' FROM api_tokens)']

t = Tap()
with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'migrated')
    seed_study(home, 'demo')
    seed_study(home, 'other', arms=('a',))
    for name, role, studies in (('alice', 'researcher', ['demo']), ('vera', 'viewer', ['demo']),
                                ('root-admin', 'admin', []), ('carol', 'researcher', ['demo'])):
        t.is_(add_user(home, name, role, studies=studies).returncode, 0, 'user %s' % name)
    p1, tok1 = add_participant(home, 'demo', 'P001')
    p2, tok2 = add_participant(home, 'demo', 'P002', 'waitlist')
    q1, qtok1 = add_participant(home, 'other', 'Q001', 'a')

    def cli_token(user, scope, study=None, name='t'):
        args = ['token', 'create', '--user', user, '--name', name, '--scope', scope]
        if study:
            args += ['--study', study]
        return home.attune(*args).stdout.strip()

    read_tok = cli_token('alice', 'read', 'demo', 'read only')
    export_tok = cli_token('alice', 'read,export', 'demo', 'exports')
    admin_read = cli_token('root-admin', 'read', None, 'admin read')
    admin_write = cli_token('root-admin', 'read,write', None, 'admin write')
    revoked_tok = cli_token('alice', 'read', None, 'to revoke')
    rid = home.sql("SELECT id FROM api_tokens WHERE name = 'to revoke'")[0][0]
    t.is_(home.attune('token', 'revoke', str(rid)).returncode, 0, 'a token revoked')

    # Generous limits here; guessing gets its own server below.
    srv = home.serve(env={'ATTUNE_TRUSTED_PROXY': '127.0.0.1',
                          'ATTUNE_LOGIN_FAILURES_ACCOUNT': '1000',
                          'ATTUNE_LOGIN_FAILURES_ADDRESS': '1000'})
    alice, vera, admin = Browser(srv), Browser(srv), Browser(srv)
    t.is_(alice.login('alice')[0], 303, 'alice signs in')
    t.is_(vera.login('vera')[0], 303, 'vera (viewer) signs in')
    t.is_(admin.login('root-admin')[0], 303, 'the admin signs in')
    a_csrf, adm_csrf = alice.csrf(), admin.csrf()

    def unchanged(before, what):
        after = snapshot(home, GUARDED)
        changed = [k for k in before if before[k] != after[k]]
        t.ok(not changed, '%s: nothing changed' % what, changed)

    def intact(what):
        names = {r[0] for r in home.sql("SELECT tablename FROM pg_tables"
                                        " WHERE schemaname = 'public'")}
        t.ok({'users', 'sessions', 'audit_log', 'api_tokens'} <= names,
             '%s: every table is still there' % what)
        t.is_(home.sql("SELECT role FROM users WHERE username = 'vera'"), [('viewer',)],
              '%s: vera is still a viewer' % what)

    q = urllib.parse.quote

    # ================================================= SQL injection, field by field
    before = snapshot(home, GUARDED)
    audit_before = home.sql('SELECT count(*) FROM audit_log')[0][0]
    statuses = {}

    def expect(label, got):
        statuses.setdefault(label, []).append(got)

    t0 = time.time()
    for s in SQLI:
        # POST /login: each field in turn, the others valid.
        b = Browser(srv, xff='10.1.0.1')
        tok = b.login_form()
        st, _, page = b.request('POST', '/login', form={
            'username': s, 'password': PASSWORD, 'csrf_token': tok})
        expect('login username', st)
        t.ok(b'<script>alert' not in page, 'login page escapes the echoed user name %r' % s)
        st, _, _ = b.request('POST', '/login', form={
            'username': 'alice', 'password': s, 'csrf_token': b.login_form()})
        expect('login password', st)
        st, _, _ = b.request('POST', '/login', form={
            'username': 'alice', 'password': PASSWORD, 'csrf_token': s})
        expect('login csrf_token', st)
        c = Browser(srv)
        st, hdr, _ = c.request('POST', '/login', form={
            'username': 'alice', 'password': PASSWORD, 'csrf_token': c.login_form(), 'next': s})
        expect('login next', (st, hdr.get('location')))
        st, _, page = Browser(srv).request('GET', '/login?next=' + q(s))
        expect('GET /login next', st)
        t.ok(b'<script>alert' not in page, 'the form escapes next %r' % s)
        # POST /logout with a forged CSRF token.
        st, _, _ = alice.request('POST', '/logout', form={'csrf_token': s})
        expect('logout csrf_token', st)
        # Path parameters, as the admin (who passes the membership check, so
        # the value reaches SQL as a parameter).
        st, _, _ = admin.json('GET', '/api/v1/studies/' + q(s, safe=''))
        expect('study path (admin)', st)
        st, _, _ = alice.json('GET', '/api/v1/studies/' + q(s, safe=''))
        expect('study path (researcher)', st)
        st, _, _ = admin.json('GET', '/api/v1/studies/%s/participants' % q(s, safe=''))
        expect('participants study path', st)
        st, _, _ = admin.request('GET', '/api/v1/studies/%s/export/participants.csv'
                                 % q(s, safe=''))
        expect('export study path', st)
        st, _, _ = admin.json('POST', '/api/v1/studies/demo/participants/%s/withdraw'
                              % q(s, safe=''), json_body={'reason': s},
                              headers={'X-CSRF-Token': adm_csrf})
        expect('withdraw code path + reason', st)
        st, _, _ = admin.json('POST', '/api/v1/studies/%s/participants/P001/withdraw'
                              % q(s, safe=''), json_body={}, headers={'X-CSRF-Token': adm_csrf})
        expect('withdraw study path', st)
        st, _, _ = alice.json('POST', '/api/v1/tokens/%s/revoke' % q(s, safe=''),
                              headers={'X-CSRF-Token': a_csrf})
        expect('token id path', st)
        # Query parameters.
        st, _, _ = alice.json('GET', '/api/v1/studies/demo/participants?limit=%s&offset=%s'
                              % (q(s), q(s)))
        expect('participants limit/offset', st)
        st, _, body = admin.json('GET', '/api/v1/audit?actor=%s&action=%s&target=%s&study=%s'
                                 % (q(s), q(s), q(s), q(s)))
        expect('audit text filters', (st, len(body.get('entries', [None]))))
        st, _, _ = admin.json('GET', '/api/v1/audit?since=%s&until=%s&limit=%s'
                              % (q(s), q(s), q(s)))
        expect('audit since/until/limit', st)
        # JSON bodies.
        st, _, _ = alice.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': a_csrf},
                              json_body={'name': 'x', 'scopes': [s]})
        expect('token scopes', st)
        st, _, _ = alice.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': a_csrf},
                              json_body={'name': 'x', 'scopes': ['read'], 'study': s})
        expect('token study', st)
        st, _, _ = alice.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': a_csrf},
                              json_body={'name': 'x', 'scopes': ['read'], 'expires_days': s})
        expect('token expires_days', st)
        # Headers.
        st, _, _ = Browser(srv).json('GET', '/api/v1/studies', headers={
            'Authorization': 'Bearer ' + s})
        expect('Authorization', st)
        st, _, _ = Browser(srv).json('POST', '/api/v1/me/withdraw', headers={
            'Authorization': 'Bearer ' + s})
        expect('participant bearer', st)
        st, _, _ = Browser(srv).json('GET', '/api/v1/studies', headers={
            'Cookie': 'attune_session=' + q(s)})
        expect('session cookie', st)
        st, _, _ = alice.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': s},
                              json_body={'name': 'x', 'scopes': ['read']})
        expect('X-CSRF-Token', st)
        st, hdr, _ = Browser(srv).request('GET', '/healthz', headers={
            'X-Request-Id': s, 'X-Forwarded-For': s})
        expect('X-Request-Id / X-Forwarded-For', (st, hdr.get('x-request-id') == s))
    elapsed = time.time() - t0

    for label, got in statuses.items():
        want = {'login username': {401}, 'login password': {401}, 'login csrf_token': {403},
                'login next': {(303, '/')}, 'GET /login next': {200},
                'logout csrf_token': {403}, 'study path (admin)': {404},
                'study path (researcher)': {403, 404}, 'participants study path': {404},
                'export study path': {404}, 'withdraw code path + reason': {404},
                'withdraw study path': {404}, 'token id path': {404},
                'participants limit/offset': {400}, 'audit text filters': {(200, 0)},
                'audit since/until/limit': {400}, 'token scopes': {422}, 'token study': {422},
                'token expires_days': {422}, 'Authorization': {401},
                'participant bearer': {401}, 'session cookie': {401}, 'X-CSRF-Token': {403},
                'X-Request-Id / X-Forwarded-For': {(200, False)}}[label]
        t.ok(set(got) <= want and len(got) == len(SQLI),
             'SQL injection in %s: every string refused as %s' % (label, sorted(want, key=str)),
             got)
    t.ok(elapsed < 240, 'no injected pg_sleep ran (%.0f s for all)' % elapsed)
    unchanged(before, 'SQL injection')
    intact('SQL injection')
    t.ok(home.sql('SELECT count(*) FROM audit_log')[0][0] >= audit_before,
         'SQL injection: the audit log only grew')
    st, _, _ = alice.json('GET', '/api/v1/session')
    t.is_(st, 200, 'alice\'s session survived forged sign-out attempts')

    # A value that is legal data is stored verbatim, proving it went as a parameter.
    name = "'; DROP TABLE users; --"
    st, _, body = alice.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': a_csrf},
                             json_body={'name': name, 'scopes': ['read'], 'study': 'demo'})
    t.is_(st, 201, 'a token whose name is SQL is just a token')
    t.is_(home.sql('SELECT name FROM api_tokens WHERE id = %s', (body['id'],)), [(name,)],
          '... and its name is stored verbatim')
    r = home.attune('user', 'add', "x' OR '1'='1", '--role', 'viewer', '--password-stdin',
                    input=PASSWORD + '\n')
    t.is_(r.returncode, 1, 'the command line refuses an SQL user name')
    r = home.attune('participant', 'withdraw', "P001' OR '1'='1")
    t.ok(r.returncode == 1 and 'not found' in r.stderr, 'and an SQL participant code')
    r = home.attune('audit', 'show', '--actor', "' OR 1=1 --")
    t.ok(r.returncode == 0 and len(r.stdout.strip().splitlines()) == 1,
         'audit show treats an SQL actor as a name that matches nothing', r.stdout)
    intact('command line')

    # ================================================= path traversal on /static
    import os
    import shutil
    dash = os.path.join(home.root, 'dashboards')
    os.makedirs(os.path.join(dash, 'static', 'css'))
    shutil.copy(os.path.join(os.environ.get('ATTUNE_SOURCE_ROOT', '.'), 'dashboards', 'static',
                             'login.css'), os.path.join(dash, 'static', 'login.css'))
    with open(os.path.join(dash, 'static', 'css', 'app.css'), 'w') as f:
        f.write('body { color: black; }\n')
    with open(os.path.join(home.root, 'secret.txt'), 'w') as f:
        f.write('TOP-SECRET-OUTSIDE\n')
    with open(os.path.join(dash, 'static', '.hidden.css'), 'w') as f:
        f.write('HIDDEN-FILE\n')
    os.symlink(os.path.join(home.root, 'secret.txt'), os.path.join(dash, 'static', 'leak.txt'))
    os.symlink('/etc', os.path.join(dash, 'static', 'etc'))
    os.makedirs(os.path.join(home.root, 'outside'))
    with open(os.path.join(home.root, 'outside', 'x.css'), 'w') as f:
        f.write('TOP-SECRET-CSS\n')
    os.symlink(os.path.join(home.root, 'outside'), os.path.join(dash, 'static', 'out'))
    os.symlink(os.path.join(dash, 'static', 'css', 'app.css'),
               os.path.join(dash, 'static', 'inside.css'))
    srv.stop()
    srv = home.serve(env={'ATTUNE_DASHBOARDS_DIR': dash, 'ATTUNE_TRUSTED_PROXY': '127.0.0.1'})
    st, _, data = Browser(srv).request('GET', '/static/css/app.css')
    t.is_((st, data), (200, b'body { color: black; }\n'), 'a file in a subfolder is served')
    st, _, data = Browser(srv).request('GET', '/static/inside.css')
    t.is_(st, 200, 'a link that stays inside the folder is served')
    for path in ['/static/../sql/001_initial.sql', '/static/%2e%2e/sql/001_initial.sql',
                 '/static/..%2f..%2fetc%2fpasswd', '/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
                 '/static/css/../../secret.txt', '/static//etc/passwd', '/static/etc/passwd',
                 '/static/etc/hostname', '/static/leak.txt', '/static/.hidden.css',
                 '/static/out/x.css', '/static/out/../leak.txt',
                 '/static/..\\..\\secret.txt', '/static/%252e%252e/secret.txt',
                 '/static/css/%2e%2e/%2e%2e/%2e%2e/secret.txt', '/static/', '/static',
                 '/static/login.css/..', '/static/./login.css', '/static/login.css?x=../../etc']:
        st, _, data = Browser(srv).request('GET', path)
        ok_status = st == 404 or (path.endswith('?x=../../etc') and st == 200)
        t.ok(ok_status and b'TOP-SECRET' not in data and b'root:' not in data
             and b'CREATE TABLE' not in data and b'HIDDEN-FILE' not in data,
             'static traversal refused: %s -> %d' % (path, st), data[:200])
    srv.stop()

    # ================================================= participant tokens out of place
    srv = home.serve(env={'ATTUNE_TRUSTED_PROXY': '127.0.0.1'})
    alice, vera, admin = Browser(srv), Browser(srv), Browser(srv)
    alice.login('alice')
    vera.login('vera')
    admin.login('root-admin')
    a_csrf, adm_csrf = alice.csrf(), admin.csrf()
    before = snapshot(home, GUARDED)
    mark = last_audit_id(home)
    for method, path, body in [
            ('GET', '/api/v1/studies/demo/participants', None),
            ('GET', '/api/v1/studies/demo/export/participants.csv', None),
            ('GET', '/api/v1/studies', None),
            ('GET', '/api/v1/studies/demo', None),
            ('POST', '/api/v1/studies/demo/participants/P002/withdraw', {}),
            ('GET', '/api/v1/audit', None),
            ('GET', '/api/v1/session', None)]:
        st, _, resp = Browser(srv).json(method, path, headers=bearer(tok1), json_body=body)
        t.is_((st, resp.get('code') if isinstance(resp, dict) else None), (403, 'forbidden'),
              'participant token on %s %s: 403' % (method, path))
    st, _, _ = Browser(srv).json('POST', '/api/v1/me/withdraw', headers=bearer(tok1),
                                 json_body=None)
    rows = audit_rows(home, 'auth.denied', mark)
    t.ok(len(rows) == 7 and all(r[1] == 'participant' and r[2] == 'demo/#%d' % p1 for r in rows),
         'each refusal is audited with the participant as actor', rows)
    t.is_(home.sql('SELECT status FROM participants WHERE id = %s', (p2,)), [('active',)],
          'the other participant was not withdrawn')
    # The one write P001 may do is their own withdrawal; undo it for the rest.
    home.sql("UPDATE participants SET status = 'active', withdrawn_at = NULL WHERE id = %s",
             (p1,))
    before = snapshot(home, GUARDED)
    st, _, body = alice.json('POST', '/api/v1/me/withdraw')
    t.is_((st, body.get('code')), (403, 'forbidden'),
          'a researcher session on a participant endpoint: 403')
    st, _, body = Browser(srv).json('POST', '/api/v1/me/withdraw', headers=bearer(read_tok))
    t.is_((st, body.get('code')), (403, 'forbidden'),
          'an API token on a participant endpoint: 403')
    unchanged(before, 'credentials out of place')

    # ================================================= a viewer and participant-level data
    mark = last_audit_id(home)
    for path in ['/api/v1/studies/demo/participants',
                 '/api/v1/studies/demo/export/participants.csv', '/api/v1/audit']:
        st, _, body = vera.json('GET', path)
        t.is_((st, body.get('code')), (403, 'forbidden'), 'viewer on %s: 403' % path)
    st, _, body = vera.json('GET', '/api/v1/studies/other')
    t.is_((st, body.get('code')), (403, 'not-a-member'), 'viewer on a study not theirs: 403')
    st, _, body = vera.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': vera.csrf()},
                            json_body={'name': 'x', 'scopes': ['read']})
    t.is_(st, 403, 'a viewer cannot make API tokens')
    rows = audit_rows(home, 'auth.denied', mark)
    t.ok(len(rows) == 5 and all(r[2] == 'vera' for r in rows),
         'the viewer\'s refusals are audited', rows)
    unchanged(before, 'viewer')

    # ================================================= CSRF
    mark = last_audit_id(home)
    ntokens = home.sql('SELECT count(*) FROM api_tokens')[0][0]
    st, _, body = alice.json('POST', '/api/v1/tokens',
                             json_body={'name': 'csrf', 'scopes': ['read']})
    t.is_((st, body.get('code')), (403, 'csrf-failed'), 'POST without the CSRF token: 403')
    st, _, body = alice.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': adm_csrf},
                             json_body={'name': 'csrf', 'scopes': ['read']})
    t.is_(st, 403, 'POST with another session\'s CSRF token: 403')
    st, _, body = alice.json('POST', '/api/v1/tokens', headers={
        'X-CSRF-Token': a_csrf, 'Origin': 'https://evil.example'},
        json_body={'name': 'csrf', 'scopes': ['read']})
    t.is_(st, 403, 'POST with the right token from another origin: 403')
    st, _, body = alice.json('POST', '/api/v1/tokens', headers={'Origin': 'null'},
                             json_body={'name': 'csrf', 'scopes': ['read']})
    t.is_(st, 403, 'POST from an opaque origin without the token: 403')
    t.is_(home.sql('SELECT count(*) FROM api_tokens')[0][0], ntokens, 'no token was made')
    st, _, _ = admin.json('POST', '/api/v1/studies/demo/participants/P002/withdraw',
                          json_body={})
    t.is_(st, 403, 'an admin withdrawal without the CSRF token: 403')
    t.is_(home.sql('SELECT status FROM participants WHERE id = %s', (p2,)), [('active',)],
          '... and the participant is still active')
    st, _, _ = alice.request('POST', '/logout', form={})
    t.is_(st, 403, 'sign-out without the CSRF token: 403')
    t.is_(alice.json('GET', '/api/v1/session')[0], 200, '... and the session goes on')
    x = Browser(srv)
    st, _, _ = x.request('POST', '/login', form={'username': 'alice', 'password': PASSWORD})
    t.is_(st, 403, 'sign-in without the form\'s token (login CSRF): 403')
    st, _, body = alice.json('POST', '/api/v1/tokens', headers={
        'X-CSRF-Token': a_csrf, 'Origin': 'http://127.0.0.1:%d' % srv.port},
        json_body={'name': 'same origin', 'scopes': ['read']})
    t.is_(st, 201, 'the same request with the token from our own origin works')
    # What a browser sends for our own forms: Referrer-Policy: no-referrer makes
    # the Origin of a same-site POST "null".
    st, _, body = alice.json('POST', '/api/v1/tokens', headers={
        'X-CSRF-Token': a_csrf, 'Origin': 'null'},
        json_body={'name': 'opaque origin', 'scopes': ['read']})
    t.is_(st, 201, 'with the token, an opaque Origin (our own forms) works')
    rows = [r for r in audit_rows(home, 'auth.denied', mark) if r[8].get('code') == 'csrf-failed']
    t.ok(len(rows) == 7, 'every CSRF refusal is audited', rows)

    # ================================================= expired and signed-out sessions
    def sess_hash(b):
        return hashlib.sha256(b.cookies['attune_session'].encode()).digest()

    x = Browser(srv)
    x.login('alice')
    home.sql("UPDATE sessions SET last_seen_at = now() - interval '2 hours' WHERE token_hash = %s",
             (sess_hash(x),))
    st, _, body = x.json('GET', '/api/v1/studies')
    t.is_((st, body.get('code')), (401, 'session-expired'), 'an idle-expired session: 401')
    st, _, body = x.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': a_csrf},
                         json_body={'name': 'late', 'scopes': ['read']})
    t.is_(st, 401, '... also for writes')
    x = Browser(srv)
    x.login('alice')
    home.sql("UPDATE sessions SET created_at = now() - interval '2 days', expires_at = now()"
             " - interval '1 day' WHERE token_hash = %s", (sess_hash(x),))
    t.is_(x.json('GET', '/api/v1/studies')[0], 401, 'a session past its absolute expiry: 401')
    x = Browser(srv)
    x.login('alice')
    copy = dict(x.cookies)
    csrf = x.csrf()
    x.request('POST', '/logout', form={'csrf_token': csrf})
    y = Browser(srv)
    y.cookies = copy
    st, _, body = y.json('GET', '/api/v1/studies')
    t.is_((st, body.get('code')), (401, 'session-expired'), 'a signed-out session: 401')
    st, _, _ = y.json('POST', '/api/v1/tokens', headers={'X-CSRF-Token': csrf},
                      json_body={'name': 'ghost', 'scopes': ['read']})
    t.is_(st, 401, 'a signed-out session cannot write even with its old CSRF token')
    st, hdr, _ = y.request('GET', '/account')
    t.is_((st, hdr.get('location')), (303, '/login?next=/account'),
          'a page with a dead session goes to the sign-in form')
    t.is_(home.sql("SELECT count(*) FROM api_tokens WHERE name IN ('late', 'ghost')"), [(0,)],
          'dead sessions made nothing')

    # ================================================= API tokens: revoked, expired, out of scope
    before = snapshot(home, GUARDED)
    mark = last_audit_id(home)
    st, _, body = Browser(srv).json('GET', '/api/v1/studies', headers=bearer(revoked_tok))
    t.is_((st, body.get('code')), (403, 'token-revoked'), 'a revoked token: 403')
    st, _, body = Browser(srv).json('GET', '/api/v1/studies/demo/export/participants.csv',
                                    headers=bearer(read_tok))
    t.is_((st, body.get('code')), (403, 'insufficient-scope'),
          'a read token asking for an export: 403')
    st, _, body = Browser(srv).json('GET', '/api/v1/studies/other', headers=bearer(read_tok))
    t.is_((st, body.get('code')), (403, 'insufficient-scope'),
          'a token bound to demo asking for another study: 403')
    st, _, body = Browser(srv).json('POST', '/api/v1/studies/demo/participants/P002/withdraw',
                                    headers=bearer(admin_read), json_body={})
    t.is_((st, body.get('code')), (403, 'insufficient-scope'), 'an admin read token writing: 403')
    st, _, body = Browser(srv).json('POST', '/api/v1/studies/demo/participants/P002/withdraw',
                                    headers=bearer(read_tok), json_body={})
    t.is_((st, body.get('code')), (403, 'forbidden'),
          'a researcher\'s token on an admin endpoint: 403')
    st, _, body = Browser(srv).json('POST', '/api/v1/tokens', headers=bearer(export_tok),
                                    json_body={'name': 'x', 'scopes': ['read']})
    t.is_((st, body.get('code')), (403, 'forbidden'), 'a token cannot mint tokens')
    st, hdr, page = Browser(srv).request('GET', '/account', headers=bearer(read_tok))
    t.ok(st == 403 and hdr.get('content-type', '').startswith('text/html')
         and b'API tokens cannot use it' in page,
         'a refusal on an HTML page is an HTML page with the reason', (st, hdr, page[:300]))
    forged = 'atk.' + 'A' * 43
    st, _, body = Browser(srv).json('GET', '/api/v1/studies', headers=bearer(forged))
    t.is_((st, body.get('code')), (401, 'invalid-token'), 'a made-up token: 401')
    home.sql("UPDATE api_tokens SET created_at = now() - interval '3 days',"
             " expires_at = now() - interval '1 day' WHERE name = 'exports'")
    st, _, body = Browser(srv).json('GET', '/api/v1/studies/demo/export/participants.csv',
                                    headers=bearer(export_tok))
    t.is_((st, body.get('code')), (401, 'token-expired'), 'an expired token: 401')
    before = snapshot(home, GUARDED)
    rows = audit_rows(home, 'auth.denied', mark)
    t.is_(sorted(r[8]['code'] for r in rows),
          ['forbidden', 'forbidden', 'forbidden', 'insufficient-scope', 'insufficient-scope',
           'insufficient-scope', 'token-revoked'],
          'refusals of known tokens are audited (made-up and expired ones are only logged)')
    t.ok(all(r[1] == 'token' for r in rows), '... with the token as actor')
    st, _, body = Browser(srv).json('GET', '/api/v1/studies/demo/participants',
                                    headers=bearer(read_tok))
    t.is_(st, 200, 'the read token still reads what it may')
    st, _, body = Browser(srv).json('POST', '/api/v1/studies/demo/participants/P002/withdraw',
                                    headers=bearer(admin_write), json_body={'reason': 'test'})
    t.is_((st, body.get('status')), (200, 'withdrawn'),
          'an admin write token withdraws (no CSRF needed for bearer tokens)')
    home.sql("UPDATE participants SET status = 'active', withdrawn_at = NULL WHERE id = %s",
             (p2,))
    srv.stop()

    # ================================================= password guessing
    srv = home.serve(env={'ATTUNE_TRUSTED_PROXY': '127.0.0.1',
                          'ATTUNE_LOGIN_FAILURES_ACCOUNT': '3',
                          'ATTUNE_LOGIN_FAILURES_ADDRESS': '6', 'ATTUNE_LOGIN_WINDOW': '600'})
    home.sql('DELETE FROM login_failures')
    mark = last_audit_id(home)
    got = [Browser(srv, xff='10.9.0.1').login('carol', password='guess number %d' % i)[0]
           for i in range(3)]
    t.is_(got, [401, 401, 401], 'three wrong passwords: 401 each')
    st, hdr, page = Browser(srv, xff='10.9.0.1').login('carol', password='guess number 4')
    t.is_(st, 429, 'the fourth guess: 429')
    ra = hdr.get('retry-after', '')
    t.ok(ra.isdigit() and 500 <= int(ra) <= 600, '429 carries Retry-After in seconds', ra)
    t.contains(page.decode(), 'Too many failed sign-ins', 'the page says what happened')
    st, _, _ = Browser(srv, xff='10.9.0.1').login('carol')
    t.is_(st, 429, 'even the right password is refused while the account is blocked')
    st, _, _ = Browser(srv, xff='10.9.0.2').login('carol')
    t.is_(st, 429, 'and from another address too (per account)')
    t.is_(home.sql("SELECT count(*) FROM login_failures WHERE username = 'carol'"), [(3,)],
          'refused attempts are not counted again')
    got = [Browser(srv, xff='10.9.0.3').login('nobody%d' % i, password='x' * 12)[0]
           for i in range(6)]
    t.is_(got, [401] * 6, 'six failures from one address, for six names')
    st, hdr, _ = Browser(srv, xff='10.9.0.3').login('alice')
    t.ok(st == 429 and hdr.get('retry-after', '').isdigit(),
         'the seventh attempt from that address is 429, whatever the account')
    st, _, _ = Browser(srv, xff='10.9.0.4').login('alice')
    t.is_(st, 303, 'alice signs in from another address')
    rows = audit_rows(home, 'user.login_throttled', mark)
    t.ok(len(rows) == 4 and all(r[8].get('retry_after_s', 0) > 0 for r in rows),
         'each throttled attempt is audited', rows)
    t.is_(len(audit_rows(home, 'user.login_failed', mark)), 9, 'each failure is audited')
    home.sql("UPDATE login_failures SET at = at - interval '11 minutes'")
    st, _, _ = Browser(srv, xff='10.9.0.1').login('carol')
    t.is_(st, 303, 'once the window has passed, carol signs in')
    t.is_(home.sql("SELECT count(*) FROM login_failures WHERE username = 'carol'"), [(0,)],
          'a successful sign-in clears the account\'s failures')
    srv.stop()

    # ================================================= the audit log as the application role
    conninfo = home.conninfo()
    app = psycopg2.connect(conninfo + ' user=attune_app')
    app.autocommit = True
    for stmt in ["UPDATE audit_log SET actor = 'mallory'",
                 "DELETE FROM audit_log",
                 "TRUNCATE audit_log",
                 "UPDATE audit_seals SET row_hash = prev_hash",
                 "DELETE FROM audit_seals",
                 "TRUNCATE audit_seals",
                 "INSERT INTO audit_seals (seal_seq, audit_id, prev_hash, row_hash)"
                 " VALUES (999999, 1, '\\x00', '\\x00')",
                 "UPDATE audit_seal_head SET seal_seq = 1",
                 "DELETE FROM audit_seal_head",
                 "UPDATE users SET role = 'admin' WHERE username = 'vera'",
                 "INSERT INTO users (username, role, password_hash) VALUES"
                 " ('evil', 'admin', '$argon2id$x')",
                 "DELETE FROM study_members",
                 "DROP TABLE audit_log",
                 "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
                 "CREATE TABLE sneaky (x int)"]:
        with app.cursor() as cur:
            try:
                cur.execute(stmt)
                t.ok(False, 'as attune_app: %s is refused' % stmt)
            except psycopg2.Error as exc:
                t.ok(exc.pgcode in ('42501',), 'as attune_app: %s is refused (%s)'
                     % (stmt, exc.pgcode), exc)
    with app.cursor() as cur:
        cur.execute("INSERT INTO audit_log (actor_kind, actor, action) VALUES"
                    " ('system', 'test', 'test.insert') RETURNING id")
        t.ok(cur.fetchone()[0] > 0, 'as attune_app: INSERT into audit_log works')
    intact('application role')
    for stmt in ["UPDATE audit_log SET actor = 'mallory' WHERE id = 1",
                 "DELETE FROM audit_log WHERE id = 1", "TRUNCATE audit_log",
                 "UPDATE audit_seals SET row_hash = prev_hash WHERE seal_seq = 1",
                 "DELETE FROM audit_seals WHERE seal_seq = 1", "TRUNCATE audit_seals"]:
        try:
            home.sql(stmt)
            t.ok(False, 'as the owner: %s is refused by the trigger' % stmt)
        except psycopg2.Error as exc:
            t.ok('append-only' in str(exc), 'as the owner: %s is refused by the trigger' % stmt)

    # ================================================= erasure leaves nothing behind
    home.sql("INSERT INTO instruments (id, version, checksum, definition) VALUES"
             " ('gad7', '1', repeat('a', 64), '{}')")

    def give_data(pid, marker, value):
        rid = home.sql("INSERT INTO responses (id, participant_id, instrument_id,"
                       " instrument_version, study_week, completed_at, timing, source,"
                       " content_hash, total_score, subscale_scores, severity, items_answered,"
                       " items_missing) VALUES (gen_random_uuid(), %s, 'gad7', '1', 0, now(),"
                       " 'on_time', 'api', sha256('x'), %s, jsonb_build_object('anx', %s),"
                       " %s, 7, 0) RETURNING id::text", (pid, value, value, marker))[0][0]
        home.sql("INSERT INTO response_items VALUES (%s, 'q1', %s), (%s, 'q2', 3)",
                 (rid, value, rid))
        home.sql("INSERT INTO events (participant_id, id, type, at, duration_s, props) VALUES"
                 " (%s, gen_random_uuid(), 'journal_entry', now(), %s,"
                 " jsonb_build_object('note', %s)),"
                 " (%s, gen_random_uuid(), 'app_open', now() - interval '40 days', NULL, NULL)",
                 (pid, value, marker, pid))
        return rid

    home.sql("SELECT attune_ensure_event_partitions(now() - interval '60 days',"
             " now() + interval '1 day')")
    gone = give_data(p2, 'ERASE-ME-MARKER-7f3a', 17.123456789)
    kept = give_data(p1, 'KEEP-ME-MARKER-91c2', 13.987654321)
    event_ids = [r[0] for r in home.sql('SELECT id::text FROM events WHERE participant_id = %s',
                                        (p2,))]

    def everywhere(needle):
        """Tables (of the whole public schema, partitions included) holding `needle`."""
        hits = []
        for (name,) in home.sql("SELECT c.relname FROM pg_class c JOIN pg_namespace n"
                                " ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                                " AND c.relkind IN ('r', 'p') ORDER BY 1"):
            if home.sql('SELECT count(*) FROM %s x WHERE x::text LIKE %%s' % name,
                        ('%' + needle + '%',))[0][0]:
                hits.append(name)
        return hits

    t.ok(everywhere('ERASE-ME-MARKER') and everywhere('17.123456789'),
         'before erasure the marker is found (the scan works)')
    r = home.attune('participant', 'erase', 'P002', '--study', 'demo', '--reason',
                    'withdrew consent for data use')
    t.is_(r.returncode, 0, 'erase P002')
    for needle in ['ERASE-ME-MARKER', '17.123456789', gone] + event_ids:
        t.is_(everywhere(needle), [], 'after erasure no table holds %s' % needle)
    t.is_(everywhere('P002'), [], 'and no table holds the participant\'s code')
    t.ok('responses' in everywhere('KEEP-ME-MARKER') and everywhere('13.987654321'),
         'the other participant\'s data is untouched')
    t.is_(home.sql('SELECT count(*) FROM responses WHERE participant_id = %s', (p2,))
          + home.sql('SELECT count(*) FROM events WHERE participant_id = %s', (p2,)),
          [(0,), (0,)], 'no responses or events of the erased participant')
    esrv = home.serve()
    st, _, _ = Browser(esrv).json('POST', '/api/v1/me/withdraw', headers=bearer(tok2))
    t.is_(st, 403, 'the erased participant\'s token is refused')
    time.sleep(1.5)
    t.is_(esrv.stop(), 0, 'attune serve stops cleanly')  # its sealer would race the tampering

    # ================================================= tampering behind the application's back
    r = home.attune('audit', 'verify')
    t.ok(r.returncode == 0, 'before tampering the audit trail verifies', r.stderr)
    victim = home.sql("SELECT id FROM audit_log WHERE action = 'participant.erase'")[0][0]
    home.sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;"
             " UPDATE audit_log SET reason = 'nothing to see' WHERE id = %s;"
             " ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update" % victim)
    r = home.attune('audit', 'verify')
    t.is_(r.returncode, 1, 'a superuser\'s edit is detected')
    t.contains(r.stderr, 'row %d ' % victim, '... naming the edited row')
    home.sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;"
             " UPDATE audit_log SET reason = 'withdrew consent for data use' WHERE id = %s;"
             " ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update" % victim)
    t.is_(home.attune('audit', 'verify').returncode, 0, 'restored, the chain verifies again')
    def link_row(seq):
        return home.sql('SELECT audit_id FROM audit_seals WHERE seal_seq = %d' % seq)[0][0]

    def without_triggers(sql):
        home.sql('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;'
                 ' ALTER TABLE audit_seals DISABLE TRIGGER audit_seals_no_update; ' + sql +
                 '; ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;'
                 ' ALTER TABLE audit_seals ENABLE TRIGGER audit_seals_no_update')

    def back_up(audit_id):
        home.sql('CREATE TABLE audit_backup AS SELECT * FROM audit_log WHERE id = %s;'
                 ' CREATE TABLE seal_backup AS SELECT * FROM audit_seals WHERE audit_id = %s'
                 % (audit_id, audit_id))

    def put_back(what):
        without_triggers('DELETE FROM audit_seals WHERE audit_id IN (SELECT audit_id FROM seal_backup);'
                         ' INSERT INTO audit_log OVERRIDING SYSTEM VALUE'
                         ' SELECT * FROM audit_backup b WHERE b.id NOT IN (SELECT id FROM audit_log);'
                         ' INSERT INTO audit_seals SELECT * FROM seal_backup;'
                         ' DROP TABLE audit_backup; DROP TABLE seal_backup')
        r = home.attune('audit', 'verify')
        t.ok(r.returncode == 0, 'put back, the chain verifies again (%s)' % what, r.stderr)

    mid, nxt = link_row(10), link_row(11)
    back_up(mid)
    without_triggers('DELETE FROM audit_log WHERE id = %s' % mid)
    r = home.attune('audit', 'verify')
    t.ok(r.returncode == 1 and 'row %d ' % mid in r.stderr and 'deleted' in r.stderr,
         'a deleted row whose link is kept is named', r.stderr)
    put_back('row')
    back_up(mid)
    without_triggers('DELETE FROM audit_log WHERE id = %s; DELETE FROM audit_seals WHERE seal_seq = 10'
                     % mid)
    r = home.attune('audit', 'verify')
    t.ok(r.returncode == 1 and 'row %d ' % nxt in r.stderr and 'deleted' in r.stderr,
         'a row deleted with its link is detected at the row after it', r.stderr)
    put_back('row and link')
    last = home.sql('SELECT audit_id FROM audit_seals ORDER BY seal_seq DESC LIMIT 1')[0][0]
    back_up(last)
    without_triggers('DELETE FROM audit_log WHERE id = %s; DELETE FROM audit_seals WHERE audit_id = %s'
                     % (last, last))
    r = home.attune('audit', 'verify', '--no-seal')
    t.ok(r.returncode == 1 and 'missing from the end' in r.stderr,
         'deleting the newest sealed row and its link is detected through the chain head', r.stderr)
    put_back('newest row')
    # The application role can call the sealing function, but a hash it
    # forges is caught, because verify recomputes every link.
    with app.cursor() as cur:
        cur.execute("INSERT INTO audit_log (actor_kind, actor, action) VALUES"
                    " ('system', 'forger', 'test.forge') RETURNING id")
        fid = cur.fetchone()[0]
        cur.execute('SELECT seal_seq, row_hash FROM attune_audit_head()')
        seq, h = cur.fetchone()
        cur.execute('SELECT attune_audit_seal(ARRAY[%s]::bigint[], ARRAY[%s]::bigint[],'
                    ' ARRAY[%s]::bytea[], ARRAY[%s]::bytea[])',
                    (fid, seq + 1, psycopg2.Binary(bytes(h)), psycopg2.Binary(b'\x01' * 32)))
    r = home.attune('audit', 'verify')
    t.ok(r.returncode == 1 and 'row %d ' % fid in r.stderr,
         'a seal forged through the sealing function is named by verify', r.stderr)
    app.close()
t.done()
