#!/usr/bin/env python3
"""The participant web form /p/<token>: what is due rendered from the
instrument definition (instructions, answer labels, progress, support text,
no inline script or style under a strict CSP), a POST with a missing answer
shown again with a kind, specific message and every answer kept, a valid POST
stored and scored through the same path as the API, a double submit stored
once, the next questionnaire and the thanks page, and the refusals."""
import csv
import io
import json
import os
import re
import urllib.parse
from datetime import datetime, timedelta, timezone

from harness import Home, Tap

t = Tap()


def iso(dt):
    return dt.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def form_fields(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


with Home(t) as home:
    home.attune('db', 'start')
    home.attune('migrate')
    protocol = os.path.join(home.root, 'p.json')
    with open(protocol, 'w') as f:
        json.dump({'id': 'formtest', 'title': 'Form trial', 'arms': ['app'],
                   'support_text': 'Questions? Write to team@example.org.',
                   'schedule': [{'instrument': 'gad7', 'version': '1', 'weeks': [0, 1]},
                                {'instrument': 'who5', 'version': '1', 'weeks': [0]}]}, f)
    t.is_(home.attune('study', 'create', protocol).returncode, 0, 'study created')
    r = home.attune('enroll', '--study', 'formtest', '--arm', 'app', '--enrolled-at',
                    iso(datetime.now(timezone.utc) - timedelta(hours=1)))
    row = list(csv.DictReader(io.StringIO(r.stdout)))[0]
    token = row['token']
    srv = home.serve()
    path = '/p/' + token

    st, hdr, body = srv.get(path)
    html = body.decode()
    t.is_(st, 200, 'GET /p/<token> renders')
    t.contains(hdr.get('content-type'), 'text/html', 'as HTML')
    csp = hdr.get('content-security-policy', '')
    t.ok("script-src" not in csp or "'unsafe-inline'" not in csp, 'the CSP allows no inline script')
    t.ok('<script' not in html and 'style=' not in html and '<style' not in html,
         'no inline script or style in the page')
    t.contains(html, '<link rel="stylesheet" href="/p-assets/form.css">', 'one served stylesheet')
    t.contains(html, 'name="viewport"', 'a phone viewport')
    t.contains(html, 'Over the last 2 weeks, how often have you been bothered',
               "the instrument's own instructions")
    t.contains(html, 'Feeling nervous, anxious, or on edge', 'the item text')
    t.is_(html.count('type="radio"'), 28, '7 questions with 4 answers each')
    t.contains(html, 'More than half the days', "the instrument's answer labels")
    t.contains(html, 'Question 4 of 7', 'progress through the items')
    t.contains(html, 'Questionnaire 1 of 2 due now', 'progress through what is due')
    t.contains(html, 'Questions? Write to team@example.org.', "the study's support text")
    fields = form_fields(html)
    t.is_(fields.get('instrument'), 'gad7', 'the form names its instrument')
    st, hdr, css = srv.get('/p-assets/form.css')
    t.ok(st == 200 and b'min-height:48px' in css, 'the stylesheet gives large tap targets')

    answers = {'gad7_1': '1', 'gad7_2': '2', 'gad7_3': '0', 'gad7_5': '3', 'gad7_6': '1',
               'gad7_7': '1'}
    post = dict(fields, **answers)
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post),
                             {'Content-Type': 'application/x-www-form-urlencoded'})
    html = body.decode()
    t.is_(st, 422, 'a missing answer shows the form again (422)')
    t.contains(html, 'Please answer question 4.', 'with a kind, specific message')
    t.is_(html.count(' checked'), 6, 'and all six answers given still selected')
    t.contains(html, 'name="gad7_2" value="2" checked', 'each as it was chosen')
    t.is_(form_fields(html).get('rid'), fields['rid'], 'the same response id is kept')
    t.is_(home.sql('SELECT count(*) FROM responses')[0][0], 0, 'nothing stored')

    post['gad7_4'] = '7'
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post),
                             {'Content-Type': 'application/x-www-form-urlencoded'})
    t.is_(st, 422, 'a value outside the options is refused')
    t.contains(body.decode(), 'Please choose one of the answers to question 4.',
               'with its own message')

    post['gad7_4'] = '2'
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post),
                             {'Content-Type': 'application/x-www-form-urlencoded'})
    html = body.decode()
    t.is_(st, 201, 'a complete form is stored (201)')
    t.contains(html, 'Your answers to', 'with a clear confirmation')
    t.contains(html, 'There is more to answer now', 'and the way to what is due next')
    rows = home.sql("SELECT source, total_score, severity, study_week FROM responses")
    t.is_(rows, [('form', 10.0, 'moderate', 0)], 'stored as a form response and scored (GAD-7 10, moderate)')
    t.is_(home.sql('SELECT count(*) FROM response_items')[0][0], 7, 'with its item answers')
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post),
                             {'Content-Type': 'application/x-www-form-urlencoded'})
    t.ok(st in (200, 409), 'pressing Submit again stores nothing new', st)
    t.is_(home.sql('SELECT count(*) FROM responses')[0][0], 1, 'still one response')

    st, hdr, body = srv.get(path)
    html = body.decode()
    t.contains(html, 'WHO-5', 'the next questionnaire due is WHO-5')
    t.is_(html.count('type="radio"'), 30, '5 questions with 6 answers each')
    fields = form_fields(html)
    post = dict(fields, **{'who5_%d' % i: '3' for i in range(1, 6)})
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post),
                             {'Content-Type': 'application/x-www-form-urlencoded'})
    t.is_(st, 201, 'WHO-5 stored')
    t.contains(body.decode(), 'Thank you', 'the thanks page')
    t.contains(body.decode(), 'next questionnaire opens', 'says when the next one opens')
    t.is_(home.sql("SELECT total_score FROM responses WHERE instrument_id = 'who5'")[0][0], 60.0,
          'WHO-5 scored ×4 (60)')
    st, hdr, body = srv.get(path)
    t.contains(body.decode(), 'Nothing to answer now', 'nothing is due afterwards')

    st, hdr, body = srv.get('/p/' + 'A' * 43)
    t.ok(st in (401, 403, 404) and b'<html' in body.lower(), 'an unknown link is refused as a page',
         (st, body[:200]))
    home.sql("UPDATE participants SET status = 'withdrawn', withdrawn_at = now()")
    st, hdr, body = srv.get(path)
    t.contains(body.decode(), 'You have left the study', 'a withdrawn participant is told so')
    st, hdr, body = srv.post(path, urllib.parse.urlencode(post),
                             {'Content-Type': 'application/x-www-form-urlencoded'})
    t.is_(st, 403, 'and cannot submit')
t.done()
