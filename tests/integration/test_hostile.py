"""Hostile input end to end: the defects the fuzz targets found
(tests/fuzz/corpus/*/crash-*), checked against a running server, so that a
refusal stays a refusal all the way to the reply and the database.

- An unknown answer item with a long multi-byte name: its problem's message
  was cut inside a character, jansson refused the text, the list of problems
  came back empty and the answers were taken as valid, unscored; only a later
  failure to encode the unscored response kept it out of the database, as a
  500 "Out of memory". It must be 422 naming each item, and nothing stored.
- A path of raw bytes (percent-decoded, not UTF-8) must get its 404
  problem+json, not a 500 because the detail quoting it was not UTF-8.
"""
import json
import os
import uuid
from datetime import datetime, timedelta, timezone

from harness import Tap, Home

t = Tap()
with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')
    protocol = os.path.join(home.root, 'hostile.json')
    with open(protocol, 'w') as f:
        json.dump({'id': 'hostile', 'title': 'Hostile input', 'arms': ['app'],
                   'schedule': [{'instrument': 'gad7', 'version': '1', 'weeks': [0]}]}, f)
    t.is_(home.attune('study', 'create', protocol).returncode, 0, 'study created')
    enrolled = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')
    r = home.attune('enroll', '--study', 'hostile', '--arm', 'app', '--count', '1',
                    '--enrolled-at', enrolled)
    token = r.stdout.splitlines()[1].split(',')[2]
    auth = {'Authorization': 'Bearer ' + token}
    srv = home.serve()

    answers = {'gad7_%d' % i: 2 for i in range(1, 8)}
    answers['x' + '\u00e9' * 300] = 1
    answers['xy' + '\u00e9' * 300] = 2
    body = {'id': str(uuid.uuid4()), 'instrument': 'gad7', 'answers': answers,
            'completed_at': datetime.now(timezone.utc).isoformat()}
    st, hdr, reply = srv.json('POST', '/api/v1/responses', body, auth)
    t.is_(st, 422, 'unknown items with long multi-byte names: 422 (was 500)')
    pointers = [e.get('pointer', '') for e in (reply or {}).get('errors', [])] \
        if isinstance(reply, dict) else []
    t.ok(len(pointers) >= 2 and all(p.startswith('/answers/x') for p in pointers),
         'each unknown item is named by its pointer', reply)
    rows = home.sql('SELECT count(*) FROM responses')
    t.is_(rows[0][0], 0, 'nothing was stored')
    del answers['x' + '\u00e9' * 300]
    del answers['xy' + '\u00e9' * 300]
    st, _, reply = srv.json('POST', '/api/v1/responses', dict(body, answers=answers), auth)
    t.is_(st, 201, 'the same submission without them is stored')
    t.is_((reply or {}).get('scores', {}).get('total'), 14.0, 'with its own answers (total 14)')

    # Raw bytes in the path (was: 500 "The reply could not be encoded.").
    for path in ('/%FF%FEx', '/static/%C3', '/api/v1/%E2%82'):
        st, hdr, data = srv.request('GET', path)
        t.is_(st, 404, 'GET %s: 404' % path)
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        t.ok(hdr.get('content-type') == 'application/problem+json' and doc is not None and
             doc.get('code') == 'not-found', 'GET %s: a valid problem+json body' % path, data[:200])
t.done()
