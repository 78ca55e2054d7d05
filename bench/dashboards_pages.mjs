// dashboards_pages.mjs — how long each dashboard page takes, from the start
// of navigation until it has drawn its data (body[data-loaded="1"]), in
// headless Chromium at desktop size, signed in as a researcher. Five
// navigations per page; prints the median and the slowest as RESULT lines.
// Usage: node dashboards_pages.mjs BASE_URL USER PASSWORD PARTICIPANT_CODE
import { launch, openPage } from '../tests/browser/browser.mjs';

const [base, user, password, code] = process.argv.slice(2);
const pages = ['/dashboards', '/dashboards/demo/overview', '/dashboards/demo/outcomes',
  '/dashboards/demo/engagement', '/dashboards/demo/quality', '/dashboards/demo/exports',
  `/dashboards/demo/participants/${code}`];
const browser = await launch();
try {
  const page = await openPage(browser);
  await page.goto(`${base}/login?next=/dashboards`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${base}/dashboards`), page.click('button[type=submit]')]);
  for (const p of pages) {
    const times = [];
    for (let i = 0; i < 5; i++) {
      await page.goto('about:blank');
      const t0 = Date.now();
      await page.goto(`${base}${p}`);
      await page.waitForSelector('body[data-loaded="1"]', { timeout: 60000 });
      times.push(Date.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(`RESULT\tpage usable (median of 5)\t${p}\t${times[2]}\tms\t1000\t${(times[2] / 1000).toFixed(2)}`);
    console.log(`RESULT\tpage usable (slowest of 5)\t${p}\t${times[4]}\tms\t1000\t${(times[4] / 1000).toFixed(2)}`);
  }
} finally {
  await browser.close();
}
