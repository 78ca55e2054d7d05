#!/usr/bin/env python3
"""attune demo: the default study (280 participants in arms app and
waitlist, weekly GAD-7 and PHQ-9/WHO-5 at weeks 0, 4 and 8, events for
everyone), with late, missed and withdrawn questionnaires derived by the
schema, retried uploads that stored nothing twice, a second run that does
nothing, and the same data again from the same seed in a fresh database."""
from harness import Home, Tap

t = Tap()

FINGERPRINT = """
SELECT md5(string_agg(concat_ws('|', p.code, p.arm_id, p.enrolled_at, p.status, r.id,
                                r.instrument_id, r.study_week, r.timing, r.total_score,
                                r.completed_at), ',' ORDER BY p.code, r.instrument_id,
                                r.study_week)),
       (SELECT md5(string_agg(concat_ws('|', e.participant_id, e.id, e.type, e.at,
                                        e.duration_s, e.props), ',' ORDER BY e.id))
          FROM events e)
  FROM participants p LEFT JOIN responses r ON r.participant_id = p.id
"""


def demo_home(seed):
    home = Home(t)
    home.attune('db', 'start')
    home.attune('migrate')
    r = home.attune('demo', '--seed', str(seed), timeout=600)
    return home, r


home, r = demo_home(7)
with home:
    t.is_(r.returncode, 0, 'attune demo succeeds')
    t.contains(r.stdout, 'study "demo" created', 'it says what it made')
    q = home.sql
    t.is_(q("SELECT count(*) FROM participants WHERE study_id = 'demo'")[0][0], 280,
          '280 participants')
    arms = dict(q("SELECT arm_id, count(*) FROM participants GROUP BY 1"))
    t.is_(arms, {'app': 140, 'waitlist': 140}, 'two arms of 140 (permuted blocks)')
    sched = dict(q("SELECT instrument_id, array_agg(week ORDER BY week)::text FROM schedule "
                   "WHERE study_id = 'demo' GROUP BY 1"))
    t.is_(sched, {'gad7': '{0,1,2,3,4,5,6,7,8}', 'phq9': '{0,4,8}', 'who5': '{0,4,8}'},
          'GAD-7 weekly, PHQ-9 and WHO-5 at weeks 0, 4 and 8')
    st = dict(q("SELECT status, count(*) FROM participant_schedule GROUP BY 1"))
    t.ok(st.get('completed', 0) > 2000, 'most questionnaires completed', st)
    t.ok(st.get('late', 0) > 50, 'some late', st)
    t.ok(st.get('missed', 0) > 300, 'some missed', st)
    t.ok(st.get('withdrawn', 0) > 0, 'some no longer due after a withdrawal', st)
    t.is_(sum(st.values()), 280 * 15, 'every scheduled questionnaire has a status')
    t.ok(set(st) <= {'completed', 'late', 'missed', 'withdrawn'},
         'the study is over: nothing open or upcoming', st)
    t.is_(q("SELECT count(*) FROM participants p WHERE NOT EXISTS "
            "(SELECT 1 FROM events e WHERE e.participant_id = p.id)")[0][0], 0,
          'every participant has app events')
    n_events = q("SELECT count(*) FROM events")[0][0]
    t.ok(n_events > 5000, 'thousands of events', n_events)
    t.contains(r.stdout, 'duplicates in retried batches skipped', 'retried batches were sent')
    t.ok(' 0 retried uploads' not in r.stdout, 'retried submissions were sent', r.stdout)
    t.is_(q("SELECT count(*) FROM (SELECT participant_id, instrument_id, study_week FROM responses"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1) d")[0][0], 0,
          'no instrument and week answered twice')
    t.is_(q("SELECT count(*) FROM responses WHERE source <> 'demo'")[0][0], 0,
          'responses marked as demo data')
    t.ok(q("SELECT count(*) FROM responses WHERE prorated")[0][0] > 0,
         'some PHQ-9 prorated by the missing-item rule')
    slopes = dict(q("""SELECT arm_id, avg(s) FROM (SELECT p.arm_id, regr_slope(total_score,
                       study_week) AS s FROM responses r JOIN participants p
                       ON p.id = r.participant_id WHERE instrument_id = 'gad7'
                       GROUP BY p.id, p.arm_id HAVING count(*) >= 3) x GROUP BY 1"""))
    t.ok(-0.7 < slopes['app'] < -0.3 and -0.35 < slopes['waitlist'] < 0.05,
         'GAD-7 slopes near the true -0.50 (app) and -0.15 (waitlist) per week', slopes)
    first = q(FINGERPRINT)[0]
    r2 = home.attune('demo')
    t.ok(r2.returncode == 0 and 'nothing done' in r2.stdout, 'a second run does nothing',
         r2.stdout)

home2, r = demo_home(7)
with home2:
    t.is_(home2.sql(FINGERPRINT)[0], first, 'the same seed gives the same data')
home3, r = demo_home(8)
with home3:
    t.ok(home3.sql(FINGERPRINT)[0][0] != first[0], 'another seed gives other data')
t.done()
