// Accessibility and languages in Chromium (issue #22, item 8). axe-core runs on the main pages of a
// signed-in administrator — home, calls, CRM, telephony settings, reports, the phone panel open and
// its keyboard-shortcut list — and the test fails on any violation of impact serious or critical,
// printing each with the elements it found (minor and moderate ones are printed, not failed).
// Then: the phone's shortcuts `?` and D work and stay out of a text field; the Russian "enable sound"
// button fits inside the phone (it was cut off); and a Chromium whose language is Chinese gets the
// Chinese UI on its first visit (<html lang="zh-CN">, no stored choice), passes axe too, and is
// photographed: docs/screenshots/phone-zh.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { BASE, launch, newTenant, screenshot, signInPage, sleep, until, waitRegistered, watchSound } from './lab.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Violations as a readable list: rule, impact, what it means, and each element with its failure. */
function describeViolations(violations) {
  return violations
    .map((v) => [
      `  ✗ ${v.id} (${v.impact}): ${v.help} — ${v.helpUrl}`,
      ...v.nodes.map((n) => `      at ${n.target}\n        ${n.html}\n        ${n.summary.replace(/\n/g, '\n        ')}`),
    ].join('\n'))
    .join('\n');
}

/** Runs axe on the page as it is; fails on serious or critical violations. */
async function checkA11y(page, what) {
  // page.evaluate goes through the DevTools protocol: the app's CSP (no inline scripts) does not apply.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 240), summary: n.failureSummary ?? '' })),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = violations.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`[axe] ${what}: not failing on\n${describeViolations(minor)}`);
  assert.equal(bad.length, 0, `${what}: ${bad.length} serious or critical accessibility violation(s):\n${describeViolations(bad)}`);
}

/** A page signed in as the tenant's administrator, on the home page with the phone showing. */
/** The main page's sound-state log (`watchSound`). */
let sound;

async function openSignedIn(browser, t, { languages, watch = false } = {}) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  if (watch) sound = await watchSound(page);
  if (languages) {
    // What the browser says its languages are (Chromium's --lang sets them too; this makes sure).
    await page.evaluateOnNewDocument((langs) => {
      Object.defineProperty(navigator, 'languages', { get: () => langs });
      Object.defineProperty(navigator, 'language', { get: () => langs[0] });
    }, languages);
    await page.setExtraHTTPHeaders({ 'Accept-Language': languages.join(',') });
  }
  await page.setViewport({ width: 1366, height: 768 });
  await signInPage(page, t.account, 'boss', t.password);
  await page.goto(`${BASE}/#/`, { waitUntil: 'load' });
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid=dash]', { timeout: 15000 });
  await page.waitForSelector('[data-testid=phone]', { timeout: 15000 });
  return page;
}

/** Leaves no element focused: keys go to the page itself. */
const blur = (page) => page.evaluate(() => document.activeElement?.blur?.());

/** Goes to `route` in the app and waits for `ready`, then a moment for the rest of the page. */
async function go(page, route, ready) {
  await page.evaluate((r) => {
    location.hash = `#${r}`;
  }, route);
  await page.waitForSelector(ready, { timeout: 15000 });
  await sleep(700);
}

const PAGES = [
  ['home', '/', '[data-testid=dash]'],
  ['calls', '/calls', '[data-testid=calls-count]'],
  ['CRM', '/crm', '[data-testid=crm-table]'],
  ['telephony settings', '/telephony', '[data-testid=hours-zone]'],
  ['reports', '/reports', '[data-testid=reports-range]'],
];

describe('chromium: accessibility (axe-core) and languages', () => {
  let browser;
  let zhBrowser;
  let t;
  let page;

  before(async () => {
    t = await newTenant();
    const tables = await t.api.ok('GET', '/api/crm/tables');
    const clients = tables.find((x) => x.name === 'Clients');
    const f = (n) => String(clients.fields.find((x) => x.name === n).id);
    await t.api.ok('POST', `/api/crm/tables/${clients.id}/records`, {
      values: { [f('Name')]: 'Anna Petrova', [f('Phone')]: '+7 916 123-45-67', [f('Status')]: 'client' },
    });
    // The browser's own autoplay policy: "enable sound" shows after a reload with no click (the
    // Russian label's fit is measured on it).
    browser = await launch('chromium', 1000, { autoplay: 'default' });
    page = await openSignedIn(browser, t, { watch: true });
    await waitRegistered(page, 20000);
  });
  after(async () => {
    await browser?.close();
    await zhBrowser?.close();
  });

  for (const [what, route, ready] of PAGES) {
    it(`${what} has no serious or critical violations`, async () => {
      await go(page, route, ready);
      await checkA11y(page, what);
    });
  }

  it('the phone panel open, and its shortcut list (opened with ?), have none either', async () => {
    await go(page, '/', '[data-testid=dash]');
    await page.waitForSelector('[data-testid=phone] .phone__body');
    await checkA11y(page, 'phone panel');
    await blur(page);
    await page.keyboard.type('?');
    await page.waitForSelector('[data-testid=shortcuts]', { timeout: 5000 });
    const rows = await page.$$eval('[data-testid=shortcuts] tbody tr', (trs) => trs.map((r) => r.dataset.action));
    assert.deepEqual(rows, ['answer', 'hangup', 'mute', 'hold', 'dialpad', 'help']);
    await checkA11y(page, 'keyboard shortcuts overlay');
    await page.keyboard.press('Escape');
    await until('the shortcut list closed', async () => !(await page.$('[data-testid=shortcuts]')), 5000);
  });

  it('D goes to the number field, where typing stays typing', async () => {
    await blur(page);
    await page.keyboard.press('KeyD');
    await until('the number field has the focus', () =>
      page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'phone-number'), 3000);
    await page.keyboard.type('m?d');
    assert.equal(await page.$eval('[data-testid=phone-number]', (e) => e.value), 'm?d');
    assert.equal(await page.$('[data-testid=shortcuts]'), null, '? typed in a field opens nothing');
    await page.click('[data-testid=phone-number]', { count: 3 });
    await page.keyboard.press('Backspace');
  });

  it('the Russian "enable sound" button fits inside the phone', async () => {
    await page.evaluate(() => [...document.querySelectorAll('.lang-switch__btn')].find((b) => b.textContent === 'RU').click());
    await until('the page in Russian', () => page.evaluate(() => document.documentElement.lang === 'ru-RU'), 3000);
    // "Enable sound" shows only while the browser blocks sound: after a reload with no click, read
    // without touching the page first (puppeteer's evaluate would count as a click).
    const from = sound.seen.length;
    await page.reload({ waitUntil: 'load' });
    assert.equal(await sound.next(from), 'blocked', 'sound is blocked after a reload with no click');
    await page.waitForSelector('[data-testid=phone-enable-sound]', { timeout: 5000 });
    const box = await page.$eval('[data-testid=phone-enable-sound]', (b) => {
      const phone = b.closest('[data-testid=phone]').getBoundingClientRect();
      const r = b.getBoundingClientRect();
      return {
        text: b.textContent,
        clipped: b.scrollWidth > b.clientWidth + 1,
        inside: r.left >= phone.left - 0.5 && r.right <= phone.right + 0.5,
      };
    });
    assert.match(box.text, /звук/);
    assert.ok(!box.clipped && box.inside, `the button shows its whole label inside the phone: ${JSON.stringify(box)}`);
    await checkA11y(page, 'home in Russian');
    await page.evaluate(() => [...document.querySelectorAll('.lang-switch__btn')].find((b) => b.textContent === 'EN').click());
  });

  it('a Chinese browser gets the Chinese UI on its first visit (screenshot phone-zh)', async () => {
    // The tenant's zone for the dates the page shows (shared/i18n/format.ts).
    await t.api.ok('PUT', '/api/telephony/hours', { enabled: false, time_zone: 'Asia/Shanghai', weekly: [] });
    zhBrowser = await launch('chromium', 1000, { args: ['--lang=zh-CN'] });
    const zh = await openSignedIn(zhBrowser, t, { languages: ['zh-CN', 'zh'] });
    const state = await zh.evaluate(() => ({
      lang: document.documentElement.lang,
      stored: localStorage.getItem('callbase.lang'),
      nav: document.querySelector('nav')?.textContent ?? '',
      phone: document.querySelector('[data-testid=phone]')?.textContent ?? '',
    }));
    assert.equal(state.lang, 'zh-CN');
    assert.equal(state.stored, null, 'nobody chose the language: it follows the browser');
    assert.match(state.nav, /通话/);
    assert.match(state.phone, /呼叫/); // the phone's Call button
    await waitRegistered(zh, 20000);
    assert.match(await zh.$eval('[data-testid=phone-reg]', (e) => e.textContent), /可以通话/);
    await checkA11y(zh, 'home in Chinese');
    await screenshot(zh, 'phone-zh');
  });
});
