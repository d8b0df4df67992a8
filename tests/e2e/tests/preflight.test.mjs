// Preflight (issue #22, item 5): before a shift the agent runs "Test call" in Sound devices. The
// phone calls the platform echo (*43) with the chosen microphone for ten seconds and shows round
// trip, loss, jitter, whether its own audio came back, and a verdict; the server keeps the result
// for the administrators (GET /api/telephony/preflight). The tenant has no trunk: the echo is the
// platform's own. The test call is not a call of the panel: nothing in "recent", no call record.
// A second case disables the microphone's track under the app: "no audio back", naming the
// microphone. Chromium and Firefox ESR.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, launch, newTenant, screenshot, until, waitRegistered } from './lab.mjs';
import { openPhoneKeepingMic } from './media.mjs';

const TONE = 1000;

/** Opens Sound devices (once) and runs the test call; returns what the result shows. */
async function testCall(page) {
  if (!(await page.$('[data-testid=preflight-start]'))) {
    const opened = await page.evaluateHandle(() =>
      [...document.querySelectorAll('[data-testid=phone] button')].find((b) => b.getAttribute('aria-expanded') !== null && /Sound devices/.test(b.textContent)),
    );
    await opened.asElement().click();
  }
  await page.waitForSelector('[data-testid=preflight-start]:not([disabled])', { timeout: 10000 });
  await page.click('[data-testid=preflight-start]');
  // The test call is running: the panel shows no call.
  await until('the test call runs', () => page.evaluate(() => window.__cbPhone.state.testing === true), 10000, 100);
  assert.equal(await page.$('[data-testid=phone-call]'), null, 'no call in the panel');
  await page.waitForSelector('[data-testid=preflight-result]', { timeout: 30000 });
  return page.$eval('[data-testid=preflight-result]', (e) => ({
    verdict: e.getAttribute('data-verdict'),
    audioBack: e.getAttribute('data-audio-back'),
    text: e.textContent,
    rtt: e.querySelector('[data-testid=preflight-rtt]').textContent,
    loss: e.querySelector('[data-testid=preflight-loss]').textContent,
    jitter: e.querySelector('[data-testid=preflight-jitter]').textContent,
    back: e.querySelector('[data-testid=preflight-audio-back]').textContent,
  }));
}

/** The admin's view of this tenant's results, once it holds `verdict`. */
async function stored(t, verdict) {
  return until(`the server keeps "${verdict}"`, async () => {
    const rows = await t.api.ok('GET', '/api/telephony/preflight');
    const mine = rows.find((r) => r.user_id === t.adminId);
    return mine?.verdict === verdict ? mine : null;
  }, 10000, 300);
}

for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: preflight`, () => {
    let browser;
    let t;
    let page;

    before(async () => {
      t = await newTenant();
      browser = await launch(kind, TONE);
      page = await openPhoneKeepingMic(browser, t, { height: 900 });
    });
    after(async () => {
      await browser?.close();
    });

    it('the test call brings the audio back and shows the figures and a verdict the server keeps', async () => {
      const r = await testCall(page);
      console.log(`${kind} preflight: ${JSON.stringify(r)}`);
      assert.equal(r.audioBack, 'true', r.text);
      assert.ok(['good', 'fair'].includes(r.verdict), `a healthy lab is good or fair: ${r.text}`);
      assert.match(r.back, /^audio back$/);
      assert.match(r.rtt, /^\d+ ms$/, 'a round trip');
      assert.match(r.loss, /^[\d.]+ %$/, 'loss');
      assert.match(r.jitter, /^\d+ ms$/, 'jitter');
      if (kind === 'chromium') await screenshot(page, 'phone-preflight');

      const row = await stored(t, r.verdict);
      assert.equal(row.audio_back, true);
      assert.equal(row.name, 'Boss Lab');
      assert.ok(row.rtt_ms !== null && row.rtt_ms >= 0 && row.loss_pct !== null && row.jitter_ms !== null, JSON.stringify(row));
      assert.ok(row.mos >= 3.6, JSON.stringify(row));
      assert.match(row.browser ?? '', kind === 'chromium' ? /^Chrome \d+/ : /^Firefox \d+/);
      assert.ok(Date.now() - Date.parse(row.tested_at) < 120000, row.tested_at);

      // Not a call: nothing in "recent", no call record, the phone is ready again.
      const state = await page.evaluate(() => window.__cbPhone.state);
      assert.equal(state.testing, false);
      assert.equal(state.call, null);
      assert.deepEqual(state.recent, []);
      const calls = await t.api.ok('GET', '/api/calls');
      assert.equal(calls.total, 0, JSON.stringify(calls));
      await waitRegistered(page, 5000);
    });

    it('with the microphone track disabled: no audio back, naming the microphone', async () => {
      await page.evaluate(() => (window.__testMicOff = true));
      try {
        const r = await testCall(page);
        console.log(`${kind} preflight, microphone off: ${JSON.stringify(r)}`);
        assert.equal(r.verdict, 'no_audio', r.text);
        assert.equal(r.audioBack, 'false');
        assert.match(r.back, /^no audio back$/);
        assert.match(r.text, /microphone sends silence/);
        const row = await stored(t, 'no_audio');
        assert.equal(row.audio_back, false);
      } finally {
        await page.evaluate(() => (window.__testMicOff = false));
      }
    });

    it('the administrators see the last result per agent on the telephony page', async () => {
      await page.goto(`${BASE}/#/telephony`, { waitUntil: 'load' });
      const cell = await page.waitForSelector(`[data-testid=tel-preflight-${t.adminId}]`, { timeout: 15000 });
      await until('the preflight column shows the last verdict', async () => /No audio back/.test(await cell.evaluate((e) => e.textContent)), 10000, 300);
    });
  });
}
