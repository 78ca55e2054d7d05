// smoke.mjs — the landing page in headless Chromium at desktop and phone
// sizes: it renders, it is clean under the strict CSP, and a screenshot of
// each size is saved. Usage: node smoke.mjs BASE_URL
import fs from 'node:fs';
import { launch, openPage, assertClean, screenshot, ok, done, VIEWPORTS } from './browser.mjs';

const base = process.argv[2];
const browser = await launch();
try {
  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    const page = await openPage(browser, viewport);
    const resp = await page.goto(`${base}/`, { waitUntil: 'load' });
    ok(resp && resp.status() === 200, `landing page answers 200 (${size})`);
    ok((await page.textContent('h1')) === 'Attune', `landing page has its heading (${size})`);
    const csp = resp.headers()['content-security-policy'] || '';
    ok(csp.includes("default-src 'self'"), `landing page carries the strict CSP (${size})`);
    await assertClean(page, `landing page (${size})`);
    const file = await screenshot(page, `landing-${size}`);
    ok(fs.statSync(file).size > 1000, `screenshot saved (${size})`, file);
    await page.context().close();
  }
} finally {
  await browser.close();
}
done();
