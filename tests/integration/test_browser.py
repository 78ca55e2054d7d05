#!/usr/bin/env python3
"""Browser smoke test: headless Debian chromium (playwright-core) loads the
landing page at desktop and phone sizes with no console error, exception,
failed request or CSP violation, and saves screenshots in the build folder."""
from harness import Home, Tap

t = Tap()
with Home(t) as home:
    t.is_(home.attune('db', 'start').returncode, 0, 'database started')
    t.is_(home.attune('migrate').returncode, 0, 'database migrated')
    srv = home.serve()
    home.browser('smoke.mjs', srv.url)
t.done()
