// browser.mjs — headless Chromium for Attune's browser tests.
//
// Debian's chromium driven by playwright-core (never a downloaded browser).
// Each page records console errors, uncaught exceptions, failed requests and
// Content-Security-Policy violations, so a test can assert that a page is
// clean. Results are printed as TAP lines, which the Python integration
// harness (tests/integration/harness.py, Home.browser) relays into its own
// count.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

// Without the background-networking flags Chromium tries to reach Google at
// every start, and this machine's closed network refuses it.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const VIEWPORTS = {
  desktop: { width: 1366, height: 900 },
  phone: { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

let count = 0;
let failed = 0;

export function ok(cond, name, diag) {
  count += 1;
  console.log(`${cond ? '' : 'not '}ok ${count} - ${name}`);
  if (!cond) {
    failed += 1;
    if (diag !== undefined) {
      for (const line of String(typeof diag === 'string' ? diag : JSON.stringify(diag, null, 1))
        .split('\n').slice(0, 30)) console.log(`#   ${line}`);
    }
  }
  return Boolean(cond);
}

export function is(got, want, name) {
  return ok(got === want, name, `got:  ${JSON.stringify(got)}\nwant: ${JSON.stringify(want)}`);
}

export function done() {
  console.log(`1..${count}`);
  process.exitCode = failed || count === 0 ? 1 : 0;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  });
}

// A page in a fresh context at the given viewport, recording problems in
// page.problems: {console: [], errors: [], csp: [], failed: []}.
export async function openPage(browser, viewport = VIEWPORTS.desktop) {
  const { isMobile, hasTouch, deviceScaleFactor, ...size } = viewport;
  const context = await browser.newContext({
    viewport: size, isMobile: Boolean(isMobile), hasTouch: Boolean(hasTouch),
    deviceScaleFactor: deviceScaleFactor || 1,
  });
  const page = await context.newPage();
  const problems = { console: [], errors: [], csp: [], failed: [] };
  page.problems = problems;
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.console.push(msg.text());
  });
  page.on('pageerror', (err) => problems.errors.push(String(err)));
  page.on('requestfailed', (req) => problems.failed.push(`${req.url()} ${req.failure()?.errorText}`));
  // Injected through the DevTools protocol, so the page's own CSP does not
  // block it; it reports every violation the page triggers.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return page;
}

// Collects CSP violations seen by the page so far into page.problems.csp.
export async function collectCsp(page) {
  const v = await page.evaluate(() => window.__cspViolations || []);
  page.problems.csp.push(...v);
  return page.problems;
}

// Asserts the page is clean: no console error, exception, CSP violation or
// failed request.
export async function assertClean(page, label) {
  const p = await collectCsp(page);
  ok(p.console.length === 0, `${label}: no console errors`, p.console);
  ok(p.errors.length === 0, `${label}: no uncaught exceptions`, p.errors);
  ok(p.csp.length === 0, `${label}: no CSP violations`, p.csp);
  ok(p.failed.length === 0, `${label}: no failed requests`, p.failed);
}

// Saves a full-page screenshot under $ATTUNE_SCREENSHOT_DIR (default
// ./screenshots) and returns its path.
export async function screenshot(page, name) {
  const dir = process.env.ATTUNE_SCREENSHOT_DIR || 'screenshots';
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
