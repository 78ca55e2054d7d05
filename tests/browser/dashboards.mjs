// dashboards.mjs — the study dashboards in headless Chromium, on the demo
// study: sign in; every page at desktop and phone sizes, clean (no console
// error, exception, failed request or CSP violation) and photographed; each
// chart has its expected marks; the numbers in the tables equal the API's;
// a viewer cannot reach participant pages or exports; a new submission
// appears on the overview without a reload; sign-in, account, sign-out.
//
// Usage: node dashboards.mjs BASE_URL PASSWORD PARTICIPANT_TOKEN
// (the harness enrols the participant, code LIVE01, just before).
import { randomUUID } from 'node:crypto';
import { launch, openPage, assertClean, collectCsp, screenshot, ok, is, done, VIEWPORTS } from './browser.mjs';

const [base, password, liveToken] = process.argv.slice(2);
const STUDY = 'demo';
const PAGES = ['overview', 'outcomes', 'engagement', 'quality', 'exports', 'participants/P001'];

async function login(browser, user, viewport = VIEWPORTS.desktop) {
  const page = await openPage(browser, viewport);
  await page.goto(`${base}/login?next=/dashboards`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${base}/dashboards`), page.click('button[type=submit]')]);
  return page;
}

async function api(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { credentials: 'same-origin' });
    return { status: r.status, body: r.ok ? await r.json() : null };
  }, path);
}

// Leaves the previous page first, so that its requests cut short by the
// navigation are not counted against the next page.
function forget(page) {
  for (const k of Object.keys(page.problems)) page.problems[k].length = 0;
}

async function open(page, path) {
  await page.goto('about:blank');
  forget(page);
  const resp = await page.goto(`${base}${path}`);
  await page.waitForSelector('body[data-loaded]', { timeout: 60000 });
  return resp;
}

// Chart.js's own record of a chart: per dataset, its label and number of points.
async function marks(page, selector) {
  return page.evaluate((sel) => {
    const canvas = document.querySelector(`${sel} canvas`);
    const c = canvas && window.Chart.getChart(canvas);
    if (!c) return null;
    return { labels: c.data.labels ? c.data.labels.length : null,
      datasets: c.data.datasets.map((d) => ({ label: d.label, n: d.data.length, kind: d.kind, arm: d.arm })) };
  }, selector);
}

// The full-precision numbers of a table column (data-value), by row.
async function column(page, tableId, index) {
  return page.evaluate(([id, i]) => [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) => {
    const cell = tr.children[i];
    return cell && cell.dataset.value !== undefined ? Number(cell.dataset.value) : null;
  }), [tableId, index]);
}

const browser = await launch();
try {
  // ---- every page, both sizes, as a researcher
  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    const page = await login(browser, 'alice', viewport);
    await page.waitForSelector('body[data-loaded]');
    ok(await page.locator('.study-card[data-study="demo"]').count() === 1, `studies page lists the demo study (${size})`);
    await assertClean(page, `studies (${size})`);
    await screenshot(page, `dashboards-studies-${size}`);
    for (const p of PAGES) {
      const resp = await open(page, `/dashboards/${STUDY}/${p}`);
      is(resp.status(), 200, `${p} answers 200 (${size})`);
      is(await page.getAttribute('body', 'data-loaded'), '1', `${p} loaded its data (${size})`);
      await assertClean(page, `${p} (${size})`);
      await screenshot(page, `dashboards-${p.replace('/', '-')}-${size}`);
    }
    await page.context().close();
  }

  // ---- marks and numbers (desktop)
  const page = await login(browser, 'alice');

  await open(page, `/dashboards/${STUDY}/overview`);
  const ov = (await api(page, `/api/v1/studies/${STUDY}/dashboard/overview`)).body.data;
  let m = await marks(page, '#status-chart');
  ok(m && m.labels === 9 && m.datasets.length === 6, 'statuses chart: 9 weeks x 6 statuses', m);
  m = await marks(page, '#enrol-chart');
  ok(m && m.datasets.length === 2, 'enrolment chart: one line per arm', m);
  is(await page.textContent('[data-kpi="enrolled"] .v'), ov.enrolled.toLocaleString('en-GB'), 'the enrolled figure is the API\'s');
  const rows = await page.locator('#completion-grid tbody tr').count();
  is(rows, 50, 'completion grid: 50 participants a page');
  is(await page.locator('#completion-grid tbody tr:first-child td.cell').count(), 9, 'completion grid: 9 weekly cells a row');
  ok(await page.locator('#safety-list li').count() === ov.alerts.safety_unacknowledged, 'every unacknowledged safety flag is listed with its button');
  is(await page.locator('.flow .arm').count(), 2, 'the flow has a column per arm');

  await open(page, `/dashboards/${STUDY}/outcomes`);
  const oc = (await api(page, `/api/v1/studies/${STUDY}/dashboard/outcomes?instrument=gad7`)).body.data;
  m = await marks(page, '#means-chart');
  for (const arm of ['app', 'waitlist']) {
    const obs = m.datasets.find((d) => d.arm === arm && d.kind === 'observed');
    const mod = m.datasets.find((d) => d.arm === arm && d.kind === 'model');
    ok(obs && obs.n === 9, `means chart: 9 weekly observed points for ${arm}`, m);
    ok(mod && mod.n === 9, `means chart: 9 weekly model-based points for ${arm}`, m);
  }
  const yMax = await page.evaluate(() => window.Chart.getChart(document.querySelector('#means-chart canvas')).scales.y.max);
  const yMin = await page.evaluate(() => window.Chart.getChart(document.querySelector('#means-chart canvas')).scales.y.min);
  ok(yMin === 0 && yMax === 21, 'the GAD-7 axis runs from 0 to 21', [yMin, yMax]);
  const shownMeans = await column(page, 'means-numbers', 3);
  const apiMeans = [];
  for (const arm of ['app', 'waitlist']) for (let w = 0; w <= 8; w++) apiMeans.push(oc.observed.find((o) => o.arm === arm && o.week === w).mean);
  ok(JSON.stringify(shownMeans) === JSON.stringify(apiMeans), 'the means table shows the API\'s observed means', { shownMeans, apiMeans });
  const shownModel = await column(page, 'means-numbers', 6);
  const apiModel = [];
  for (const arm of ['app', 'waitlist']) for (let w = 0; w <= 8; w++) apiModel.push(oc.model.means.find((o) => o.arm === arm && o.week === w).estimate);
  ok(JSON.stringify(shownModel) === JSON.stringify(apiModel), 'the means table shows the model-based means', { shownModel, apiModel });
  const shownClaims = await column(page, 'claims-numbers', 3);
  ok(JSON.stringify(shownClaims) === JSON.stringify(oc.claims.map((c) => c.value)), 'the claim table shows the API\'s reductions', { shownClaims });
  const shownN = await column(page, 'prepost-numbers', 1);
  const apiN = oc.prepost.filter((g) => g.population_name === 'completers').map((g) => g.n);
  ok(JSON.stringify(shownN) === JSON.stringify(apiN), 'the pre/post table shows the API\'s n', { shownN, apiN });
  const shownDz = await column(page, 'prepost-numbers', 11);
  ok(JSON.stringify(shownDz) === JSON.stringify(oc.prepost.filter((g) => g.population_name === 'completers').map((g) => g.d_z.value)), 'the pre/post table shows the API\'s d_z');
  for (const arm of ['app', 'waitlist']) {
    const jm = await marks(page, `#jt-${arm}`);
    const g = oc.prepost.find((x) => x.population_name === 'completers' && x.arm === arm);
    const pts = jm ? jm.datasets.filter((d) => ['recovered', 'improved', 'unchanged', 'deteriorated'].includes(d.label)).reduce((a, d) => a + d.n, 0) : -1;
    is(pts, g.n, `Jacobson-Truax plot of ${arm}: one point per completer`);
  }
  m = await marks(page, '#traj-chart');
  ok(m && m.datasets.length > 0 && m.datasets.length <= 80, 'trajectories: a line per sampled participant', m && m.datasets.length);
  m = await marks(page, '#claims-chart');
  ok(m && m.datasets.reduce((a, d) => a + d.n, 0) === oc.claims.filter((c) => c.value !== null).length, 'claims chart: a point per claim');

  await open(page, `/dashboards/${STUDY}/engagement`);
  const en = (await api(page, `/api/v1/studies/${STUDY}/dashboard/engagement`)).body.data;
  m = await marks(page, '#sessions-chart');
  ok(m && m.datasets.length === 2 && m.datasets.every((d) => d.n === 8), 'sessions chart: 8 weekly points per arm', m);
  m = await marks(page, '#dau-chart');
  ok(m && m.datasets.length === 2 && m.labels > 100, 'daily active chart: a line per arm over the days', m);
  const shownR = await column(page, 'assoc-numbers', 2);
  const apiR = en.association.filter((a) => a.metric === 'minutes').map((a) => (a.pearson ? a.pearson.r : null));
  ok(JSON.stringify(shownR) === JSON.stringify(apiR), 'the correlation table shows the API\'s r', { shownR, apiR });
  m = await marks(page, '#assoc-chart');
  ok(m && m.datasets.some((d) => d.kind === 'line' && d.arm === 'all') && m.datasets.some((d) => d.kind === 'points'), 'the scatter has points and the fitted line', m);

  await open(page, `/dashboards/${STUDY}/quality`);
  const q = (await api(page, `/api/v1/studies/${STUDY}/dashboard/quality`)).body.data;
  m = await marks(page, '#ml-chart');
  ok(m && m.labels === 9 && m.datasets.length === 2, 'missed and late: 9 weeks, two series', m);
  const missed = q.statuses.find((s) => s.instrument === 'all' && s.week === -1 && s.status === 'missed').n;
  is(await page.textContent('[data-kpi="missed"] .v'), missed.toLocaleString('en-GB'), 'the missed figure is the API\'s');

  await open(page, `/dashboards/${STUDY}/participants/P001`);
  is(await page.locator('#questionnaires tbody tr').count(), 15, 'the participant page lists 15 scheduled questionnaires');

  // ---- the claim report export opens under the strict CSP
  await page.goto('about:blank');
  forget(page);
  const rr = await page.goto(`${base}/api/v1/studies/${STUDY}/export/report.html`);
  is(rr.status(), 200, 'the claim report opens in the browser');
  ok((await page.textContent('h1')).includes('Claim report'), 'the claim report has its heading');
  await assertClean(page, 'claim report');
  await screenshot(page, 'dashboards-claim-report-desktop');

  // ---- a new submission appears on the overview without a reload
  await open(page, `/dashboards/${STUDY}/overview?poll=1`);
  await page.evaluate(() => { window.__sameDocument = true; });
  const cell = '#completion-grid tbody tr:first-child td.cell';
  is(await page.textContent('#completion-grid tbody tr:first-child th'), 'LIVE01', 'the newest participant heads the grid');
  ok((await page.getAttribute(cell, 'class')).includes('s-open'), 'their week 0 is open');
  const renders = Number(await page.getAttribute('body', 'data-renders'));
  const resp = await fetch(`${base}/api/v1/responses`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${liveToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: randomUUID(), instrument: 'gad7', completed_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      answers: Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((i) => [`gad7_${i}`, 1])) }),
  });
  is(resp.status, 201, 'the participant submits their GAD-7');
  let shown = false;
  for (let i = 0; i < 60 && !shown; i++) {
    await page.waitForTimeout(500);
    shown = (await page.getAttribute(cell, 'class')).includes('s-completed');
  }
  ok(shown, 'the submission appears on the overview, week 0 completed');
  ok(await page.evaluate(() => window.__sameDocument === true), 'without a reload of the page');
  ok(Number(await page.getAttribute('body', 'data-renders')) > renders, 'the page re-rendered itself');
  await collectCsp(page);
  await assertClean(page, 'overview after a live update');

  // ---- acknowledging an alert from the page
  const before = await page.locator('#safety-list li').count();
  await page.click('#safety-list li:first-child button');
  let after = before;
  for (let i = 0; i < 40 && after === before; i++) {
    await page.waitForTimeout(500);
    after = await page.locator('#safety-list li').count();
  }
  is(after, before - 1, 'an acknowledged flag leaves the list');
  await page.context().close();

  // ---- a viewer: aggregates only
  const viewer = await login(browser, 'vera');
  for (const p of ['exports', 'participants/P001']) {
    const r = await viewer.goto(`${base}/dashboards/${STUDY}/${p}`);
    is(r.status(), 403, `a viewer cannot open ${p}`);
  }
  for (const p of ['completion', 'alerts', 'outcomes/individual', 'engagement/points']) {
    is((await api(viewer, `/api/v1/studies/${STUDY}/dashboard/${p}`)).status, 403, `a viewer cannot read ${p}`);
  }
  is((await api(viewer, `/api/v1/studies/${STUDY}/export/responses-long.csv`)).status, 403, 'a viewer cannot export');
  // Those refusals were asked for; what follows must be clean.
  await open(viewer, `/dashboards/${STUDY}/overview`);
  await assertClean(viewer, 'overview as a viewer');
  ok(await viewer.locator('#grid-panel.hidden').count() === 1, 'a viewer sees no completion grid');
  ok(await viewer.locator('#study-nav a[href$="/exports"]').count() === 0, 'a viewer has no Exports link');
  await screenshot(viewer, 'dashboards-overview-viewer-desktop');
  await open(viewer, `/dashboards/${STUDY}/outcomes`);
  await assertClean(viewer, 'outcomes as a viewer');
  ok(await viewer.locator('#traj-panel.hidden').count() === 1, 'a viewer sees no individual trajectories');
  ok(await viewer.locator('#jt-numbers tbody tr').count() === 2, 'a viewer sees the Jacobson-Truax counts');
  await viewer.context().close();

  // ---- withdrawal is an admin's, from the participant page
  const r2 = await login(browser, 'alice');
  await open(r2, `/dashboards/${STUDY}/participants/P279`);
  ok(await r2.locator('#withdraw-panel.hidden').count() === 1, 'a researcher has no Withdraw button');
  await r2.context().close();
  const admin = await login(browser, 'root');
  await open(admin, `/dashboards/${STUDY}/participants/P279`);
  ok(await admin.locator('#withdraw-panel.hidden').count() === 0, 'an admin sees the Withdraw form');
  ok(await admin.isDisabled('#withdraw-button'), 'withdrawal waits for the confirmation');
  await admin.fill('#withdraw-reason', 'asked by e-mail');
  await admin.check('#withdraw-confirm');
  await admin.click('#withdraw-button');
  await admin.waitForFunction(() => document.querySelector('#withdraw-result').textContent.startsWith('Withdrawn'), null, { timeout: 20000 });
  const t = (await api(admin, `/api/v1/studies/${STUDY}/participants/P279/timeline`)).body;
  is(t.participant.status, 'withdrawn', 'the admin withdrew the participant from the page');
  await assertClean(admin, 'participant page, withdrawal');
  await admin.context().close();

  // ---- sign-in, account, sign-out
  const s = await login(browser, 'alice');
  await s.goto(`${base}/account`);
  forget(s);
  ok((await s.textContent('main')).includes('alice'), 'the account page names who is signed in');
  await screenshot(s, 'dashboards-account-desktop');
  await Promise.all([s.waitForURL(/\/login/), s.click('form[action="/logout"] button')]);
  ok(s.url().includes('/login'), 'signing out leads to the sign-in form');
  await s.goto(`${base}/dashboards/${STUDY}/overview`);
  ok(s.url().includes('/login'), 'after signing out, the dashboards send you to sign in');
  await assertClean(s, 'sign-in, account, sign-out');
  await s.context().close();
} finally {
  await browser.close();
}
done();
