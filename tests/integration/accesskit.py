"""Helpers for the access and attack suites: a small browser that keeps
cookies and sees every Set-Cookie header, sign-in, users made through the
command line, and studies and participants seeded directly in the database
(the collector, which will enrol participants, comes later).

Participant tokens are made the way access/token.c makes them: 32 random
bytes as unpadded base64url (43 characters), stored as SHA-256 of the text.
"""
import hashlib
import http.client
import json
import re
import secrets
import ssl
import urllib.parse

PASSWORD = 'correct horse battery staple'


class Browser:
    """Cookies in, cookies out; optional X-Forwarded-For (behind a trusted
    proxy each Browser can be its own client address) and HTTPS."""

    def __init__(self, srv, xff=None, tls=False):
        self.srv = srv
        self.cookies = {}
        self.xff = xff
        self.tls = tls
        self.last_set_cookies = []

    def request(self, method, path, body=None, headers=None, form=None, json_body=None,
                cookies=True):
        hdrs = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs.setdefault('Content-Type', 'application/x-www-form-urlencoded')
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault('Content-Type', 'application/json')
        if isinstance(body, str):
            body = body.encode()
        if cookies and self.cookies and 'Cookie' not in hdrs:
            hdrs['Cookie'] = '; '.join('%s=%s' % kv for kv in self.cookies.items())
        if self.xff and 'X-Forwarded-For' not in hdrs:
            hdrs['X-Forwarded-For'] = self.xff
        if self.tls:
            conn = http.client.HTTPSConnection(self.srv.host, self.srv.port, timeout=60,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            all_headers = resp.getheaders()
        finally:
            conn.close()
        self.last_set_cookies = [v for k, v in all_headers if k.lower() == 'set-cookie']
        for sc in self.last_set_cookies:
            name, _, rest = sc.partition('=')
            value = rest.split(';', 1)[0]
            if 'Max-Age=0' in sc:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        hdr = {}
        for k, v in all_headers:
            hdr.setdefault(k.lower(), v)
        return resp.status, hdr, data

    def json(self, method, path, **kw):
        st, hdr, data = self.request(method, path, **kw)
        try:
            return st, hdr, json.loads(data) if data else None
        except ValueError:
            return st, hdr, data

    def login_form(self):
        """GET /login; returns the form's csrf_token."""
        st, hdr, data = self.request('GET', '/login')
        m = re.search(rb'name="csrf_token" value="([^"]+)"', data)
        return m.group(1).decode() if m else None

    def login(self, username, password=PASSWORD, next_path=None):
        token = self.login_form()
        form = {'username': username, 'password': password, 'csrf_token': token}
        if next_path is not None:
            form['next'] = next_path
        return self.request('POST', '/login', form=form)

    def csrf(self):
        st, hdr, body = self.json('GET', '/api/v1/session')
        return body.get('csrf_token') if st == 200 else None


def add_user(home, name, role, studies=(), password=PASSWORD):
    args = ['user', 'add', name, '--role', role, '--password-stdin']
    for s in studies:
        args += ['--study', s]
    return home.attune(*args, input=password + '\n')


def seed_study(home, study='demo', arms=('app', 'waitlist')):
    home.sql('INSERT INTO studies (id, title) VALUES (%s, %s)', (study, 'Study ' + study))
    for a in arms:
        home.sql('INSERT INTO arms (study_id, id, label) VALUES (%s, %s, %s)', (study, a, a))


def add_participant(home, study, code, arm='app'):
    """Enrols a participant with a fresh token; returns (id, token)."""
    token = secrets.token_urlsafe(32)
    assert len(token) == 43
    rows = home.sql("INSERT INTO participants (study_id, code, arm_id, enrolled_at)"
                    " VALUES (%s, %s, %s, now() - interval '7 days') RETURNING id",
                    (study, code, arm))
    pid = rows[0][0]
    home.sql('INSERT INTO participant_tokens (participant_id, token_hash) VALUES (%s, %s)',
             (pid, hashlib.sha256(token.encode()).digest()))
    return pid, token


def bearer(token):
    return {'Authorization': 'Bearer ' + token}


def audit_rows(home, action=None, since_id=0):
    q = ('SELECT id, actor_kind, actor, action, target, study_id, host(source_addr), reason,'
         ' detail FROM audit_log WHERE id > %s')
    params = [since_id]
    if action is not None:
        q += ' AND action = %s'
        params.append(action)
    return home.sql(q + ' ORDER BY id', tuple(params))


def last_audit_id(home):
    return home.sql('SELECT coalesce(max(id), 0) FROM audit_log')[0][0]


def snapshot(home, tables):
    """A fingerprint of whole tables, to show that a refused request changed nothing."""
    out = {}
    for t in tables:
        out[t] = home.sql('SELECT md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text), \'\'))'
                          ' FROM %s x' % t)[0][0]
    return out
