// form_phone.mjs — the participant web form /p/<token> on a phone-sized
// viewport in headless Chromium: it renders without JavaScript of its own,
// clean under the strict CSP, with tap targets of at least 44 px and no
// horizontal scrolling; a missing answer brings the form back with the
// message and the answers kept; a complete form is submitted by tapping and
// confirmed. Screenshots of each step are saved.
// Usage: node form_phone.mjs BASE_URL TOKEN
import { launch, openPage, assertClean, screenshot, ok, is, done, VIEWPORTS } from './browser.mjs';

const [base, token] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await openPage(browser, VIEWPORTS.phone);
  const resp = await page.goto(`${base}/p/${token}`, { waitUntil: 'load' });
  is(resp && resp.status(), 200, 'the form answers 200');
  ok((await page.textContent('h1')).includes('Generalized Anxiety Disorder'), 'GAD-7 is due first');
  is(await page.locator('script').count(), 0, 'the page has no script');
  is(await page.locator('fieldset').count(), 7, 'seven questions');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  ok(width <= 390, 'nothing wider than the phone (no sideways scrolling)', width);
  const heights = await page.$$eval('label.option', (ls) => ls.map((l) => l.getBoundingClientRect().height));
  ok(heights.length === 28 && Math.min(...heights) >= 44, 'every answer is a tap target of 44 px or more',
     heights.slice(0, 4));
  const button = await page.locator('button[type=submit]').boundingBox();
  ok(button && button.height >= 44, 'the submit button is large', button);
  ok((await page.textContent('footer')).includes('not a crisis'), 'the support text is on the page');
  await assertClean(page, 'the form');
  await screenshot(page, 'form-phone');

  // Answer six of seven questions by tapping, then submit.
  for (let q = 1; q <= 7; q += 1) {
    if (q === 4) continue;
    await page.locator(`input[name="gad7_${q}"][value="2"]`).tap();
  }
  await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').tap()]);
  ok((await page.textContent('.errors')).includes('Please answer question 4.'),
     'a missing answer: the kind message');
  is(await page.locator('input[type=radio]:checked').count(), 6, 'and the six answers are kept');
  await screenshot(page, 'form-phone-missing');
  // The form with problems comes back as 422 on purpose, which Chromium logs
  // as a failed load; only what follows must be clean.
  page.problems.console.length = 0;

  await page.locator('input[name="gad7_4"][value="1"]').tap();
  await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').tap()]);
  is(await page.textContent('h1'), 'Thank you', 'a complete form is confirmed');
  ok((await page.textContent('.confirm')).includes('have been saved'), 'the answers are saved');
  await assertClean(page, 'the confirmation');
  await screenshot(page, 'form-phone-thanks');
  await page.context().close();
} finally {
  await browser.close();
}
done();
