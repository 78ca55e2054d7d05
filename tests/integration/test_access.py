#!/usr/bin/env python3
"""Accounts, sessions, tokens, the access API, withdrawal and erasure, the
audit trail and TLS, end to end through the attune command and HTTP:

- attune serve runs as attune_app; users are made with attune user;
- sign-in by form: cookies HttpOnly + SameSite=Strict (+ Secure over TLS),
  safe redirects, a page that sends strangers to /login, sign-out that ends
  the session server-side, idle and absolute expiry;
- roles and study membership on the JSON endpoints; API tokens from the
  command line and the API, scopes, study binding, revocation, expiry;
- withdrawal (command line, admin API, the participant), erasure with its
  counts, and analysis runs marked not reproducible;
- every action in the audit trail, sealed into a chain that verifies, with
  attune audit show and GET /api/v1/audit filtering it;
- HTTPS with a certificate from config, and the client address from a
  trusted proxy's X-Forwarded-For."""
import hashlib
import json
import os
import re
import subprocess
import time

from accesskit import (PASSWORD, Browser, add_participant, add_user, audit_rows, bearer,
                       last_audit_id, seed_study)
from harness import Home, Tap

t = Tap()
with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    r = home.attune('migrate')
    t.is_(r.returncode, 0, 'migrated')
    t.contains(r.stdout, '003_access.sql', 'the access migration is applied')
    seed_study(home, 'demo')
    seed_study(home, 'other', arms=('a',))

    # ---- accounts from the command line
    r = add_user(home, 'alice', 'researcher', studies=['demo'])
    t.is_(r.returncode, 0, 'user add (password on stdin)')
    t.contains(r.stdout, 'alice added', 'user add says so')
    t.is_(add_user(home, 'vera', 'viewer', studies=['demo']).returncode, 0, 'a viewer')
    t.is_(add_user(home, 'root-admin', 'admin').returncode, 0, 'an admin')
    t.is_(add_user(home, 'rob', 'researcher', studies=['other']).returncode, 0,
          'a researcher of another study')
    r = add_user(home, 'shorty', 'viewer', password='too short')
    t.is_(r.returncode, 1, 'a short password is refused')
    t.contains(r.stderr, 'at least 12 characters', 'the refusal says the minimum')
    r = add_user(home, 'alice', 'viewer')
    t.is_(r.returncode, 1, 'a second alice is refused')
    t.contains(r.stderr, 'already exists', 'the refusal says why')
    r = add_user(home, 'Bad Name', 'viewer')
    t.is_(r.returncode, 1, 'an invalid user name is refused')
    r = home.attune('user', 'add', 'nobody', '--role', 'king', '--password-stdin',
                    input=PASSWORD + '\n')
    t.is_(r.returncode, 2, 'an unknown role is a usage error')
    r = add_user(home, 'ghost', 'viewer', studies=['nope'])
    t.is_(r.returncode, 1, 'joining an unknown study fails')
    t.is_(home.sql("SELECT count(*) FROM users WHERE username = 'ghost'"), [(0,)],
          '... and nothing of that user remains (one transaction)')
    rows = home.sql("SELECT password_hash FROM users WHERE username = 'alice'")
    t.ok(rows[0][0].startswith('$argon2id$') and PASSWORD not in rows[0][0],
         'the password is stored as Argon2id only')
    r = home.attune('user', 'list')
    t.is_(r.returncode, 0, 'user list')
    t.ok(re.search(r'alice\s+researcher\s+active\s+demo', r.stdout), 'list shows role, state and '
         'studies', r.stdout)
    t.is_(home.attune('user', 'join', 'vera', 'other').returncode, 0, 'user join')
    t.is_(home.attune('user', 'leave', 'vera', 'other').returncode, 0, 'user leave')
    t.is_(home.sql("SELECT study_id FROM study_members m JOIN users u ON u.id = m.user_id"
                   " WHERE u.username = 'vera'"), [('demo',)], 'membership follows join/leave')

    srv = home.serve()
    b = Browser(srv)
    st, hdr, _ = b.request('GET', '/readyz')
    users = {r[0] for r in home.sql("SELECT usename FROM pg_stat_activity"
                                    " WHERE application_name = 'attune'")}
    t.ok('attune_app' in users, 'attune serve connects as attune_app', users)

    # ---- the sign-in page
    st, hdr, page = b.request('GET', '/login?next=/api/v1/session')
    t.is_(st, 200, 'GET /login')
    t.ok(b'<script' not in page and b'style=' not in page and b'<style' not in page,
         'the sign-in page has no script and no inline style (strict CSP)')
    t.contains(hdr.get('content-security-policy', ''), "default-src 'self'", 'strict CSP header')
    t.contains(page.decode(), 'value="/api/v1/session"', 'next is carried in the form')
    login_cookie = [c for c in b.last_set_cookies if c.startswith('attune_login=')]
    t.ok(login_cookie and 'HttpOnly' in login_cookie[0] and 'SameSite=Strict' in login_cookie[0]
         and 'Path=/login' in login_cookie[0], 'the form cookie is HttpOnly, Strict, /login only',
         login_cookie)
    st, hdr, css = b.request('GET', '/static/login.css')
    t.is_((st, hdr.get('content-type')), (200, 'text/css; charset=utf-8'),
          'the page stylesheet is served from /static')

    st, hdr, _ = b.login('alice', next_path='/api/v1/session')
    t.is_(st, 303, 'sign-in redirects')
    t.is_(hdr.get('location'), '/api/v1/session', '... to next')
    sess = [c for c in b.last_set_cookies if c.startswith('attune_session=')]
    t.ok(sess and 'HttpOnly' in sess[0] and 'SameSite=Strict' in sess[0] and 'Path=/' in sess[0],
         'session cookie is HttpOnly and SameSite=Strict', sess)
    t.ok(sess and 'Secure' not in sess[0], 'no Secure flag over plain HTTP')
    raw = b.cookies['attune_session']
    t.is_(home.sql('SELECT count(*) FROM sessions WHERE token_hash = %s',
                   (hashlib.sha256(raw.encode()).digest(),)), [(1,)],
          'the server keeps only the hash of the session token')
    st, _, me = b.json('GET', '/api/v1/session')
    t.is_((st, me.get('user'), me.get('role'), me.get('studies')),
          (200, 'alice', 'researcher', ['demo']), 'GET /api/v1/session says who is signed in')
    st, hdr, _ = Browser(srv).login('alice', next_path='//evil.example/x')
    t.is_(hdr.get('location'), '/', 'an off-site next is replaced by /')
    st, _, page = Browser(srv).login('alice', password='wrong password here')
    t.is_(st, 401, 'a wrong password is 401')
    t.contains(page.decode(), 'not right', 'the page says so without saying which part')
    st, _, page = Browser(srv).login('nobody-here')
    t.is_(st, 401, 'an unknown user is the same 401')
    fails = [r for r in audit_rows(home, 'user.login_failed')]
    t.ok(len(fails) == 2 and fails[0][2] == 'alice' and fails[0][8] == {'reason': 'wrong password'},
         'failed sign-ins are audited with the reason', fails)
    t.ok(all('wrong password here' not in json.dumps(r, default=str) for r in
             audit_rows(home)), 'no password reaches the audit trail')

    # A page sends strangers to the sign-in form, and shows the signed-in user.
    st, hdr, _ = Browser(srv).request('GET', '/account')
    t.is_((st, hdr.get('location')), (303, '/login?next=/account'),
          'a page without a session redirects to /login?next=')
    st, _, page = b.request('GET', '/account')
    t.is_(st, 200, '/account with a session')
    t.contains(page.decode(), 'Signed in as <strong>alice</strong>', '/account names the user')
    csrf = b.csrf()
    t.contains(page.decode(), 'value="%s"' % csrf, 'the sign-out form carries the CSRF token')

    # ---- roles and membership on the JSON endpoints
    st, _, body = b.json('GET', '/api/v1/studies')
    t.is_([s['id'] for s in body['studies']], ['demo'], 'a researcher lists their studies only')
    admin = Browser(srv)
    admin.login('root-admin')
    st, _, body = admin.json('GET', '/api/v1/studies')
    t.is_([s['id'] for s in body['studies']], ['demo', 'other'], 'an admin lists every study')
    viewer = Browser(srv)
    viewer.login('vera')
    st, _, body = viewer.json('GET', '/api/v1/studies/demo')
    t.is_((st, [a['id'] for a in body['arms']]), (200, ['app', 'waitlist']),
          'a viewer sees a study with counts by arm')
    pid1, tok1 = add_participant(home, 'demo', 'P001', 'app')
    pid2, tok2 = add_participant(home, 'demo', 'P002', 'waitlist')
    st, _, body = viewer.json('GET', '/api/v1/studies/demo')
    t.is_(body['participants']['enrolled'], 2, 'counts follow enrolment')
    st, _, body = viewer.json('GET', '/api/v1/studies/demo/participants')
    t.is_((st, body.get('code')), (403, 'forbidden'), 'a viewer gets no participant rows')
    before = last_audit_id(home)
    st, _, body = b.json('GET', '/api/v1/studies/demo/participants')
    t.is_((st, [p['code'] for p in body['participants']]), (200, ['P001', 'P002']),
          'a researcher gets participant rows of their study')
    rows = audit_rows(home, 'participant.list', before)
    t.ok(len(rows) == 1 and rows[0][2] == 'alice' and rows[0][4] == 'study:demo/participants',
         'a participant-level read is audited', rows)
    st, hdr, data = b.request('GET', '/api/v1/studies/demo/export/participants.csv')
    t.is_((st, hdr.get('content-type')), (200, 'text/csv; charset=utf-8'), 'CSV export')
    t.ok(data.decode().startswith('code,arm,status,enrolled_at,withdrawn_at,erased_at\r\n')
         and 'P002,waitlist,active' in data.decode(), 'the CSV has a header and the rows')
    t.is_(len(audit_rows(home, 'export.csv', before)), 1, 'the export is audited')
    st, _, body = b.json('GET', '/api/v1/studies/other')
    t.is_((st, body.get('code')), (403, 'not-a-member'), 'a study one is not a member of: 403')
    st, _, body = admin.json('GET', '/api/v1/studies/nope')
    t.is_(st, 404, 'an admin asking for a study that does not exist: 404')

    # ---- API tokens from the command line
    r = home.attune('token', 'create', '--user', 'alice', '--name', 'analysis script',
                    '--scope', 'read', '--study', 'demo', '--days', '30')
    t.is_(r.returncode, 0, 'token create')
    read_token = r.stdout.strip()
    t.ok(read_token.startswith('atk.') and len(read_token) == 47, 'the token is printed once',
         r.stdout)
    t.contains(r.stderr, 'shown only this once', 'and the command says so')
    t.is_(home.sql('SELECT count(*) FROM api_tokens WHERE token_hash = %s',
                   (hashlib.sha256(read_token.encode()).digest(),)), [(1,)],
          'only the hash is stored')
    st, _, body = b.json('GET', '/api/v1/studies/demo/participants', headers=bearer(read_token),
                         cookies=False)
    t.is_(st, 200, 'a read token reads participant rows')
    rows = audit_rows(home, 'participant.list', before)
    t.is_((rows[-1][1], rows[-1][2]), ('token', 'alice/token-1'),
          'a token is audited as the token of its user')
    t.is_(home.sql("SELECT last_used_at IS NOT NULL FROM api_tokens WHERE name ="
                   " 'analysis script'"), [(True,)], 'a token\'s use is noted (last_used_at)')
    r = home.attune('token', 'create', '--user', 'vera', '--name', 'x', '--scope', 'read')
    t.is_(r.returncode, 1, 'viewers cannot have tokens')
    r = home.attune('token', 'list')
    t.ok(r.returncode == 0 and 'analysis script' in r.stdout and 'atk.' not in r.stdout,
         'token list shows tokens, never their text', r.stdout)

    # ---- API tokens through the API (session only, CSRF header)
    st, _, body = b.json('POST', '/api/v1/tokens', json_body={
        'name': 'study app', 'scopes': ['read', 'write'], 'study': 'demo', 'expires_days': 7},
        headers={'X-CSRF-Token': csrf})
    t.is_(st, 201, 'POST /api/v1/tokens creates a token')
    app_token = body.get('token', '')
    t.ok(app_token.startswith('atk.') and body.get('scopes') == 'read,write',
         'the new token is returned once with its scopes', body)
    st, _, body = b.json('GET', '/api/v1/tokens')
    t.ok(st == 200 and len(body['tokens']) == 2 and all('token' not in x for x in body['tokens']),
         'GET /api/v1/tokens lists the user\'s tokens without their text', body)
    st, _, body = b.json('POST', '/api/v1/tokens', json_body={
        'name': '', 'scopes': ['read', 'root'], 'study': 'other', 'expires_days': 0},
        headers={'X-CSRF-Token': csrf})
    t.is_(st, 422, 'an invalid token request is 422')
    t.is_(sorted(e['pointer'] for e in body.get('errors', [])),
          ['/expires_days', '/name', '/scopes/1', '/study'], 'every bad field is named')
    st, _, body = b.json('GET', '/api/v1/tokens', headers=bearer(app_token), cookies=False)
    t.is_((st, body.get('code')), (403, 'forbidden'), 'tokens cannot manage tokens')
    tid = b.json('GET', '/api/v1/tokens')[2]['tokens'][-1]['id']
    st, _, body = b.json('POST', '/api/v1/tokens/%d/revoke' % tid,
                         headers={'X-CSRF-Token': csrf})
    t.is_((st, body.get('revoked')), (200, True), 'a user revokes their token')
    st, _, body = b.json('GET', '/api/v1/studies', headers=bearer(app_token), cookies=False)
    t.is_((st, body.get('code')), (403, 'token-revoked'), 'a revoked token is refused at once')
    r = home.attune('token', 'revoke', '1')
    t.ok(r.returncode == 0 and 'revoked' in r.stdout, 'token revoke from the command line')
    st, _, body = b.json('GET', '/api/v1/studies', headers=bearer(read_token), cookies=False)
    t.is_(st, 403, '... and that token stops working')
    r = home.attune('token', 'create', '--user', 'alice', '--name', 'short-lived', '--scope',
                    'read')
    short = r.stdout.strip()
    home.sql("UPDATE api_tokens SET created_at = now() - interval '2 days',"
             " expires_at = now() - interval '1 day' WHERE name = 'short-lived'")
    st, hdr, body = b.json('GET', '/api/v1/studies', headers=bearer(short), cookies=False)
    t.is_((st, body.get('code')), (401, 'token-expired'), 'an expired token is 401')
    t.ok('www-authenticate' in hdr, '401 carries WWW-Authenticate')

    # ---- sessions end: idle, absolute, account disabled, password changed, sign-out
    def fresh(name):
        x = Browser(srv)
        x.login(name)
        return x

    x = fresh('alice')
    h = hashlib.sha256(x.cookies['attune_session'].encode()).digest()
    home.sql("UPDATE sessions SET last_seen_at = now() - interval '20 minutes'"
             " WHERE token_hash = %s", (h,))
    t.is_(x.json('GET', '/api/v1/session')[0], 200, 'a session idle for 20 minutes still works')
    t.is_(home.sql("SELECT last_seen_at > now() - interval '1 minute' FROM sessions"
                   " WHERE token_hash = %s", (h,)), [(True,)],
          'and the request moved last_seen_at forward (the idle clock restarts)')
    home.sql("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'"
             " WHERE token_hash = %s", (hashlib.sha256(x.cookies['attune_session'].encode())
                                        .digest(),))
    st, _, body = x.json('GET', '/api/v1/session')
    t.is_((st, body.get('code')), (401, 'session-expired'), 'an idle session has expired')
    x = fresh('alice')
    home.sql("UPDATE sessions SET created_at = now() - interval '13 hours',"
             " expires_at = now() - interval '1 hour' WHERE token_hash = %s",
             (hashlib.sha256(x.cookies['attune_session'].encode()).digest(),))
    st, _, body = x.json('GET', '/api/v1/session')
    t.is_(st, 401, 'a session past its absolute lifetime has expired')
    x = fresh('rob')
    t.is_(home.attune('user', 'disable', 'rob').returncode, 0, 'user disable')
    st, _, _ = x.json('GET', '/api/v1/session')
    t.is_(st, 401, 'disabling a user ends their sessions')
    st, _, _ = Browser(srv).login('rob')
    t.is_(st, 401, 'a disabled user cannot sign in')
    t.is_(home.attune('user', 'enable', 'rob').returncode, 0, 'user enable')
    st, _, _ = fresh('rob').json('GET', '/api/v1/session')
    t.is_(st, 200, 'an enabled user signs in again')
    x = fresh('rob')
    r = home.attune('user', 'passwd', 'rob', '--password-stdin',
                    input='another long passphrase\n')
    t.is_(r.returncode, 0, 'user passwd')
    st, _, _ = x.json('GET', '/api/v1/session')
    t.is_(st, 401, 'a new password ends the old sessions')
    st, _, _ = Browser(srv).login('rob', password='another long passphrase')
    t.is_(st, 303, 'the new password works')
    t.is_(home.attune('user', 'role', 'rob', 'viewer').returncode, 0, 'user role')
    x = Browser(srv)
    x.login('rob', password='another long passphrase')
    t.is_(x.json('GET', '/api/v1/session')[2].get('role'), 'viewer', 'the new role applies')

    x = fresh('alice')
    kept = Browser(srv)
    kept.cookies = dict(x.cookies)  # what an attacker might have copied
    st, hdr, _ = x.request('POST', '/logout', form={'csrf_token': x.csrf()})
    t.is_((st, hdr.get('location')), (303, '/login'), 'sign-out redirects to /login')
    t.ok(any(c.startswith('attune_session=;') and 'Max-Age=0' in c for c in x.last_set_cookies),
         'sign-out clears the cookie')
    st, _, body = kept.json('GET', '/api/v1/session')
    t.is_((st, body.get('code')), (401, 'session-expired'),
          'a copy of the cookie is worthless after sign-out (ended server-side)')
    st, _, body = b.json('GET', '/api/v1/session')
    t.is_(st, 200, 'other sessions of the same user go on')

    # ---- withdrawal: the command line, the admin API, the participant
    st, _, body = Browser(srv).json('POST', '/api/v1/me/withdraw', headers=bearer(tok2))
    t.is_((st, body.get('status')), (200, 'withdrawn'), 'a participant withdraws themselves')
    st, _, body = Browser(srv).json('POST', '/api/v1/me/withdraw', headers=bearer(tok2))
    t.is_((st, body.get('code')), (403, 'participant-withdrawn'),
          'after withdrawal the token gets 403 on writes')
    pid3, tok3 = add_participant(home, 'demo', 'P003')
    r = home.attune('participant', 'withdraw', 'P003', '--reason', 'moved away')
    t.ok(r.returncode == 0 and 'withdrawn at' in r.stdout, 'participant withdraw', r.stdout)
    t.is_(home.sql('SELECT status, withdrawn_at IS NOT NULL FROM participants WHERE id = %s',
                   (pid3,)), [('withdrawn', True)], 'status and withdrawn_at are set')
    st, _, body = Browser(srv).json('POST', '/api/v1/me/withdraw', headers=bearer(tok3))
    t.is_(st, 403, 'the withdrawn participant\'s token is refused at once')
    r = home.attune('participant', 'withdraw', 'P003')
    t.contains(r.stdout, 'already withdrawn', 'withdrawing again changes nothing')
    pid4, tok4 = add_participant(home, 'demo', 'P004')
    add_participant(home, 'other', 'P004', 'a')
    r = home.attune('participant', 'withdraw', 'P004')
    t.is_(r.returncode, 1, 'a code used in two studies needs --study')
    t.contains(r.stderr, '"demo", "other"', '... and the error names them')
    acsrf = admin.csrf()
    st, _, body = admin.json('POST', '/api/v1/studies/demo/participants/P004/withdraw',
                             json_body={'reason': 'asked by phone'},
                             headers={'X-CSRF-Token': acsrf})
    t.is_((st, body.get('status')), (200, 'withdrawn'), 'an admin withdraws over the API')
    st, _, body = b.json('POST', '/api/v1/studies/demo/participants/P001/withdraw',
                         json_body={}, headers={'X-CSRF-Token': b.csrf()})
    t.is_(st, 403, 'a researcher may not withdraw')
    rows = audit_rows(home, 'participant.withdraw')
    t.is_([(r[1], r[2], r[4], r[7]) for r in rows],
          [('participant', 'demo/#%d' % pid2, 'participant:demo/#%d' % pid2,
            'withdrawn by the participant'),
           ('system', 'cli:' + __import__('pwd').getpwuid(os.geteuid()).pw_name,
            'participant:demo/#%d' % pid3, 'moved away'),
           ('user', 'root-admin', 'participant:demo/#%d' % pid4, 'asked by phone')],
          'each withdrawal is audited with its actor and reason, naming the participant by id')

    # ---- erasure
    home.sql("INSERT INTO instruments (id, version, checksum, definition) VALUES"
             " ('gad7', '1', repeat('a', 64), '{}')")
    home.sql("INSERT INTO responses (id, participant_id, instrument_id, instrument_version,"
             " study_week, completed_at, timing, source, content_hash, total_score,"
             " items_answered, items_missing) VALUES (gen_random_uuid(), %s, 'gad7', '1', 0,"
             " now(), 'on_time', 'api', sha256('x'), 12, 7, 0)", (pid1,))
    home.sql("INSERT INTO response_items SELECT id, 'q1', 3 FROM responses"
             " WHERE participant_id = %s", (pid1,))
    home.sql("INSERT INTO events (participant_id, id, type, at) VALUES"
             " (%s, gen_random_uuid(), 'app_open', now()),"
             " (%s, gen_random_uuid(), 'app_open', now())", (pid1, pid1))
    home.sql("INSERT INTO analysis_runs (study_id, kind, options, input_fingerprint,"
             " program_version, result) VALUES ('demo', 'prepost', '{}', repeat('b', 64), 'x',"
             " '{}'), ('other', 'prepost', '{}', repeat('b', 64), 'x', '{}')")
    r = home.attune('participant', 'erase', 'P001', '--study', 'demo')
    t.is_(r.returncode, 2, 'erase without --reason is refused')
    r = home.attune('participant', 'erase', 'P001', '--study', 'demo', '--reason',
                    'participant asked for erasure (GDPR art. 17)')
    t.is_(r.returncode, 0, 'participant erase')
    t.contains(r.stdout, '1 responses, 1 item answers, 2 events deleted; 1 tokens revoked; '
               '1 analysis runs marked', 'erase reports what it did')
    t.is_(home.sql('SELECT code, status, erased_at IS NOT NULL FROM participants WHERE id = %s',
                   (pid1,)), [('erased-%d' % pid1, 'withdrawn', True)],
          'the code is replaced and the participant withdrawn and marked erased')
    t.is_(home.sql('SELECT study_id, reproducible FROM analysis_runs ORDER BY study_id'),
          [('demo', False), ('other', True)], 'only the study\'s runs are marked not reproducible')
    st, _, _ = Browser(srv).json('POST', '/api/v1/me/withdraw', headers=bearer(tok1))
    t.is_(st, 403, 'the erased participant\'s token is revoked')
    rows = audit_rows(home, 'participant.erase')
    t.ok(len(rows) == 1 and rows[0][7] == 'participant asked for erasure (GDPR art. 17)'
         and rows[0][4] == 'participant:demo/#%d' % pid1 and 'P001' not in json.dumps(rows[0],
                                                                                        default=str),
         'the erasure is audited with its reason and without the code', rows)
    r = home.attune('participant', 'erase', 'erased-%d' % pid1, '--reason', 'again')
    t.is_(r.returncode, 1, 'erasing twice is refused')

    # ---- the audit trail
    time.sleep(1.5)  # the sealer runs every second
    t.is_(home.sql('SELECT attune_audit_unsealed_count()'), [(0,)],
          'attune serve seals audit rows within a couple of seconds')
    r = home.attune('audit', 'verify')
    t.is_(r.returncode, 0, 'audit verify: intact')
    t.contains(r.stdout, 'audit trail intact', 'verify says so')
    n = home.sql('SELECT count(*) FROM audit_log')[0][0]
    t.contains(r.stdout, '%d sealed rows' % n, 'verify checked every row')
    # An independent check of one link with Python's hashlib.
    rid, seq, prev, rh, canon = home.sql(
        'SELECT a.id, s.seal_seq, s.prev_hash, s.row_hash, attune_audit_canonical(a)'
        ' FROM audit_seals s JOIN audit_log a ON a.id = s.audit_id WHERE s.seal_seq = 2')[0]
    t.is_(hashlib.sha256(bytes(prev) + seq.to_bytes(8, 'big') + canon.encode()).digest(),
          bytes(rh), 'row_hash = SHA-256(prev_hash || seal_seq || canonical text)')
    # A row that commits late: its transaction took an id, rows with higher
    # ids commit and are sealed around it, and the watermark below which
    # every row is sealed must wait for it (sql/012_audit_seals.sql).
    import psycopg2
    slow = psycopg2.connect(home.conninfo())
    with slow.cursor() as cur:
        cur.execute("INSERT INTO audit_log (actor_kind, actor, action) VALUES"
                    " ('system', 'slow', 'test.late') RETURNING id")
        late_id = cur.fetchone()[0]
    for i in range(3):
        home.sql("INSERT INTO audit_log (actor_kind, actor, action) VALUES"
                 " ('system', 'quick', 'test.quick')")
        time.sleep(1.2)  # the server's sealer seals them and tries to move the watermark
    quick = home.sql("SELECT count(*) FROM audit_seals s JOIN audit_log a ON a.id = s.audit_id"
                     " WHERE a.action = 'test.quick' AND a.id > %s", (late_id,))[0][0]
    mark = home.sql('SELECT sealed_through FROM audit_seal_head')[0][0]
    t.ok(quick == 3 and mark < late_id,
         'rows after an open transaction\'s row are sealed, the watermark stays below it',
         (quick, mark, late_id))
    slow.commit()
    slow.close()
    time.sleep(2.5)
    t.is_(home.sql('SELECT count(*) FROM audit_seals WHERE audit_id = %s', (late_id,)), [(1,)],
          'the row that committed late is sealed once it commits')
    t.is_(home.sql('SELECT attune_audit_unsealed_count()'), [(0,)], 'nothing is left unsealed')
    t.ok(home.sql('SELECT sealed_through FROM audit_seal_head')[0][0] >= late_id,
         'and the watermark moves past it')
    r = home.attune('audit', 'verify')
    t.ok(r.returncode == 0, 'the chain verifies with the late row in it', r.stderr)
    r = home.attune('audit', 'show', '--action', 'user.*', '--limit', '500')
    t.ok(r.returncode == 0 and 'user.create' in r.stdout and 'user.login' in r.stdout
         and 'participant.' not in r.stdout, 'audit show filters by action prefix', r.stdout[-500:])
    r = home.attune('audit', 'show', '--actor', 'alice', '--json', '--limit', '10000')
    rows = json.loads(r.stdout)
    t.ok(rows and all(x['actor'] == 'alice' for x in rows), 'audit show --actor --json')
    r = home.attune('audit', 'show', '--target', 'participant:demo/*', '--since', '2000-01-01')
    t.ok('participant.withdraw' in r.stdout and 'user.' not in r.stdout,
         'audit show filters by target prefix and time')
    st, _, body = admin.json('GET', '/api/v1/audit?action=participant.erase')
    t.ok(st == 200 and len(body['entries']) == 1 and body['entries'][0]['reason'].startswith(
        'participant asked'), 'GET /api/v1/audit for admins', body)
    st, _, body = admin.json('GET', '/api/v1/audit?since=yesterday&limit=x')
    t.is_((st, sorted(e['pointer'] for e in body.get('errors', []))),
          (400, ['/query/limit', '/query/since']), 'bad audit filters are 400, each named')
    st, _, _ = b.json('GET', '/api/v1/audit')
    t.is_(st, 403, 'GET /api/v1/audit is for admins only')
    t.ok(audit_rows(home, 'audit.read'), 'reading the audit log is itself audited')
    for action in ('user.create', 'user.join', 'user.leave', 'user.disable', 'user.enable',
                   'user.password', 'user.role', 'user.login', 'user.logout', 'token.create',
                   'token.revoke', 'auth.denied', 'export.csv'):
        t.ok(audit_rows(home, action), 'audited: %s' % action)

    # ---- a trusted proxy names the client
    t.is_(srv.stop(), 0, 'attune serve stops cleanly (no sanitizer report)')
    srv = home.serve(env={'ATTUNE_TRUSTED_PROXY': '127.0.0.1'})
    before = last_audit_id(home)
    Browser(srv, xff='203.0.113.9, 198.51.100.7').login('alice', password='not the password')
    rows = audit_rows(home, 'user.login_failed', before)
    t.is_(rows[-1][6] if rows else None, '198.51.100.7',
          'behind a trusted proxy the last X-Forwarded-For hop is the client')
    srv.stop()
    srv = home.serve()
    before = last_audit_id(home)
    Browser(srv, xff='198.51.100.7').login('alice', password='not the password')
    rows = audit_rows(home, 'user.login_failed', before)
    t.is_(rows[-1][6] if rows else None, '127.0.0.1',
          'without a trusted proxy X-Forwarded-For is ignored')
    srv.stop()

    # ---- HTTPS from config
    cert = os.path.join(home.root, 'cert.pem')
    key = os.path.join(home.root, 'key.pem')
    r = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
                        '-days', '1', '-subj', '/CN=localhost'], capture_output=True, text=True)
    t.ok(r.returncode == 0, 'a self-signed certificate for the test', r.stderr)
    tls = home.serve(env={'ATTUNE_TLS_CERT': cert, 'ATTUNE_TLS_KEY': key})
    tb = Browser(tls, tls=True)
    st, _, _ = tb.request('GET', '/healthz')
    t.is_(st, 200, 'attune serve answers over HTTPS')
    st, _, _ = tb.login('alice')
    sess = [c for c in tb.last_set_cookies if c.startswith('attune_session=')]
    t.ok(st == 303 and sess and '; Secure' in sess[0], 'over TLS the session cookie is Secure',
         sess)
    st, _, body = tb.json('GET', '/api/v1/session')
    t.is_(st, 200, 'the session works over HTTPS')
    t.is_(tls.stop(), 0, 'the HTTPS server stops cleanly')
    r = home.attune('serve', '--listen', '127.0.0.1:0',
                    env={'ATTUNE_TLS_CERT': cert}, timeout=30)
    t.is_(r.returncode, 1, 'a certificate without a key is a configuration error')
    t.contains(r.stderr, 'tls_cert and tls_key', '... that names both settings')
t.done()
