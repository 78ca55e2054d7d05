"""Fault test, short form (CI): questionnaires and event batches from 16
retrying clients while the server is SIGKILLed twice and SIGTERMed once, and
PostgreSQL is stopped once and SIGKILLed once (crash recovery); then every
acknowledged record is accounted for. The long form, with the issue's
counts, is bench/bench_faults.py. See faultkit.py for what each step does.
"""
from harness import Tap, Home
from faultkit import FaultRun

t = Tap()
with Home(t) as home:
    run = FaultRun(t, home, submissions=16200, batches=160, batch_size=500, clients=16,
                   threads=8, outage_s=1.0, max_wait_ms=500, deadline_s=300,
                   plan=[(0.10, 'kill_server'), (0.25, 'stop_db'), (0.45, 'kill_db'),
                         (0.65, 'term_server'), (0.80, 'kill_server')])
    try:
        run.setup()
        run.run()
        run.verify()
        run.report()
        t.diag(run.describe())
    finally:
        run.close()
t.done()
