// One-way-audio diagnosis (issue #22, item 1): during a call the phone names the silent hop from
// the browser's getStats and Asterisk's RTP counters of both legs (GET /api/calls/{id}/media), and
// the call record keeps its summary. Four faults, each in its own call through the carrier:
//   - the carrier sends only silence (its number 9992)              → "the other party's line sends only silence"
//   - the browser's microphone track is disabled under the app      → "your microphone sends silence"
//   - RTP from the carrier is dropped in the lab netns (trunk leg)  → "the other party's audio does not reach the server"
//   - RTP to the browser's port is dropped (the agent's leg, in)    → "audio reaches the server but not your browser"
// The last two look the same from the browser (nothing, or silence, arrives): only Asterisk's
// counters of the two legs tell them apart. Chromium and Firefox ESR.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { callState, launch, screenshot, sleep, tenantWithTrunk, until } from './lab.mjs';
import { openPhoneKeepingMic, selectedLocalCandidate } from './media.mjs';

const TONE = 1000;
const CARRIER_RTP = '15000:15999';

async function dial(page, number) {
  await page.click('[data-testid=phone-number]', { count: 3 });
  await page.type('[data-testid=phone-number]', number);
  await page.waitForSelector('[data-testid=phone-call-btn]:not([disabled])', { timeout: 10000 });
  await page.click('[data-testid=phone-call-btn]');
  await until('call answered', async () => (await callState(page)) === 'answered', 15000);
  return until('call id', () => page.evaluate(() => window.__cbPhone.state.call?.callId ?? null), 10000);
}

async function hangup(page) {
  const b = await page.$('[data-testid=phone-hangup]');
  if (b) await b.click();
  await until('call ended in the page', async () => !(await page.$('[data-testid=phone-call]')), 10000);
}

const problems = (page) =>
  page.$$eval('[data-testid=phone-problem]', (els) => els.map((e) => e.getAttribute('data-problem')));

/** Waits until the phone names `problem`; returns what it names then, and the text the agent reads. */
async function named(page, problem, ms = 25000) {
  try {
    await until(`the phone names ${problem}`, async () => (await problems(page)).includes(problem), ms, 250);
  } catch (e) {
    const seen = await page.evaluate(() => JSON.stringify(window.__cbPhone.quality));
    throw new Error(`${e.message}; the phone's diagnosis: ${seen}`);
  }
  const text = await page.$eval(`[data-problem=${problem}]`, (e) => e.textContent);
  return { all: await problems(page), text };
}

/** A drop rule in the lab's netns (the tests run inside it) for the length of `fn`. */
async function dropping(rule, fn) {
  const args = ['-p', 'udp', ...rule, '-j', 'DROP'];
  execFileSync('iptables', ['-I', 'OUTPUT', ...args]);
  try {
    return await fn();
  } finally {
    execFileSync('iptables', ['-D', 'OUTPUT', ...args]);
  }
}

/** The summary the phone sent for the call, once the server has it. */
async function summary(t, id) {
  return until('the call quality summary', async () => {
    const r = await t.api.req('GET', `/api/calls/${id}/quality`);
    return r.status === 200 ? r.body : null;
  }, 10000, 300);
}

for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: the phone names the silent hop`, () => {
    let browser;
    let t;
    let page;

    before(async () => {
      t = await tenantWithTrunk();
      browser = await launch(kind, TONE);
      page = await openPhoneKeepingMic(browser, t);
    });
    after(async () => {
      await browser?.close();
      await t?.removeTrunk();
    });

    it('a good call names nothing and rates the sound', async () => {
      const id = await dial(page, '9998');
      await sleep(7000);
      assert.deepEqual(await problems(page), []);
      const level = await page.$eval('[data-testid=phone-quality]', (e) => e.getAttribute('data-level'));
      assert.equal(level, 'good');
      await hangup(page);
      const q = await summary(t, id);
      assert.deepEqual(q.problems, [], JSON.stringify(q));
      assert.ok(q.mos_avg >= 4, JSON.stringify(q));
      assert.match(q.browser ?? '', kind === 'chromium' ? /^Chrome \d+/ : /^Firefox \d+/);
    });

    it('the carrier sends silence: the phone names the other side', async () => {
      const id = await dial(page, '9992');
      const { all, text } = await named(page, 'other_silent');
      assert.deepEqual(all, ['other_silent'], 'and nothing else');
      assert.match(text, /other party's line sends only silence/);
      await hangup(page);
      assert.ok((await summary(t, id)).problems.includes('other_silent'));
    });

    it('the microphone track is disabled: the phone names the microphone', async () => {
      const id = await dial(page, '9998');
      await page.evaluate(() => window.__testMic.getAudioTracks().forEach((tr) => (tr.enabled = false)));
      const { all } = await named(page, 'mic_silent');
      assert.deepEqual(all, ['mic_silent'], 'and nothing else');
      await page.evaluate(() => window.__testMic.getAudioTracks().forEach((tr) => (tr.enabled = true)));
      await until('the problem clears with the microphone back', async () => (await problems(page)).length === 0, 10000, 250);
      await hangup(page);
      assert.ok((await summary(t, id)).problems.includes('mic_silent'));
    });

    it('RTP dropped on the trunk leg: the phone names the other side, not the network to the browser', async () => {
      const id = await dial(page, '9998');
      await sleep(3000);
      const { all } = await dropping(['--sport', CARRIER_RTP], async () => {
        const seen = await named(page, 'other_to_server');
        if (kind === 'chromium') await screenshot(page, 'phone-diagnosis');
        return seen;
      });
      assert.ok(!all.includes('server_to_browser'), JSON.stringify(all));
      await hangup(page);
      assert.ok((await summary(t, id)).problems.includes('other_to_server'));
    });

    it("RTP dropped on the agent's leg towards the browser: the phone names the network to the browser", async () => {
      const id = await dial(page, '9998');
      await sleep(3000);
      const { port } = await selectedLocalCandidate(page);
      const { all, text } = await dropping(['--dport', String(port)], () => named(page, 'server_to_browser'));
      assert.ok(!all.includes('other_to_server'), JSON.stringify(all));
      assert.match(text, /firewall or VPN/);
      await hangup(page);
      assert.ok((await summary(t, id)).problems.includes('server_to_browser'));
    });
  });
}
