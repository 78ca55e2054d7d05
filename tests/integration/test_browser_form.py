#!/usr/bin/env python3
"""The participant web form in headless Chromium on a phone-sized viewport
(tests/browser/form_phone.mjs): the demo study, a participant enrolled into
it, the form rendered clean under the CSP with large tap targets, a missing
answer kept, and a tapped submission stored and scored."""
import csv
import io

from harness import Home, Tap

t = Tap()
with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')
    t.is_(home.attune('demo', timeout=600).returncode, 0, 'the demo study is loaded')
    r = home.attune('enroll', '--study', 'demo', '--arm', 'app')
    enrolled = list(csv.DictReader(io.StringIO(r.stdout)))[0]
    token = enrolled['token']
    srv = home.serve()
    home.browser('form_phone.mjs', srv.url, token)
    rows = home.sql("SELECT r.source, r.total_score, r.severity, r.study_week, r.timing "
                    "FROM responses r JOIN participants p ON p.id = r.participant_id "
                    "WHERE p.code = %s", (enrolled['code'],))
    t.is_(rows, [('form', 13.0, 'moderate', 0, 'on_time')],
          'the tapped submission is stored and scored (GAD-7 13, moderate)')
t.done()
