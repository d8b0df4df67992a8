// The browser phone end to end (issue #4): Chromium and Firefox ESR register through /sip, call the
// carrier's echo number through the tenant's trunk with audio both ways, ring and answer a call from
// the carrier whose recording holds the browser's tone; in Chromium also hold/unhold (music on
// hold), DTMF at the carrier, blind transfer to a second agent, ring timeout → forward, and a
// refused international number that never reaches the carrier. Prints the timings.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertCarrierHeard,
  carrierAmi,
  launch,
  env,
  openApp,
  platformAmi,
  regState,
  remoteLevel,
  statsLevel,
  rtp,
  screenshot,
  sleep,
  sqlValue,
  tenantWithTrunk,
  until,
  waitRegistered,
  DID,
} from './lab.mjs';

const TONE = 1000;
const timings = [];

async function setupTenant() {
  const t = await tenantWithTrunk();
  // A second agent for transfers: rings only when called directly.
  const bob = await t.api.ok('POST', '/api/users', {
    login: 'bob',
    name: 'Bob Agent',
    email: 'bob@example.com',
    password: 'Agent-pass-12345',
    group_ids: [],
  });
  await t.api.ok('POST', '/api/telephony/users', { user_id: bob.id, extension: '102', accept_incoming: false });
  return t;
}

async function dial(page, number) {
  await page.click('[data-testid=phone-number]', { count: 3 });
  await page.type('[data-testid=phone-number]', number);
  await page.waitForSelector('[data-testid=phone-call-btn]:not([disabled])', { timeout: 10000 });
  const clicked = Date.now();
  await page.click('[data-testid=phone-call-btn]');
  return clicked;
}

async function hangup(page) {
  const b = await page.$('[data-testid=phone-hangup]');
  if (b) await b.click();
  await until('call ended in the page', async () => !(await page.$('[data-testid=phone-call]')), 10000);
}

/** The carrier calls the tenant's DID; its dialplan runs `exten` once we answer. */
async function carrierCalls(ami, exten) {
  const sent = Date.now();
  const r = await ami.action('Originate', {
    Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
    Context: 'carrier-test',
    Exten: exten,
    Priority: '1',
    Async: 'true',
    CallerID: '79161234567',
  });
  assert.equal(r.Response, 'Success', `carrier originate: ${JSON.stringify(r)}`);
  return sent;
}

async function waitIncoming(page, ms = 15000) {
  await page.waitForSelector('[data-testid=phone-incoming]', { timeout: ms });
  return Date.now();
}

for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: browser phone`, () => {
    let browser;
    let t;
    let page;
    let carrier;
    let platform;

    before(async () => {
      t = await setupTenant();
      carrier = await carrierAmi();
      platform = await platformAmi();
      browser = await launch(kind, TONE);
      const opened = await openApp(browser, t.account, 'boss', t.password);
      page = opened.page;
      await waitRegistered(page, 20000);
      timings.push(`${kind}: page load → registered (confirmed by the server) ${Date.now() - opened.started} ms`);
    });
    after(async () => {
      carrier?.close();
      platform?.close();
      await browser?.close();
      await t?.removeTrunk();
    });

    it('registers only when Asterisk holds the contact', async () => {
      assert.equal(await regState(page), 'registered');
      const st = await page.evaluate(async () => (await fetch('/api/phone/status')).json());
      assert.equal(st.registered, true);
      if (kind === 'chromium') await screenshot(page, 'phone-idle');
    });

    it('calls the echo number through the trunk with audio both ways', async () => {
      const invites = carrier.collect((m) => m.Event === 'Newchannel' && m.Exten === '9999');
      const clicked = await dial(page, '9999');
      await until('call answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 15000);
      assert.ok(invites.events.length > 0, 'the carrier got the INVITE');
      timings.push(`${kind}: click → INVITE at the carrier ${invites.events[0].at - clicked} ms`);
      invites.stop();
      await sleep(3000);
      const s = await rtp(page);
      assert.ok(s && s.received > 0, `inbound RTP packets: ${JSON.stringify(s)}`);
      assert.ok(s.sent > 0, `outbound RTP packets: ${JSON.stringify(s)}`);
      // The echo returns our tone: the remote audio is not silence.
      const level = kind === 'chromium' ? await remoteLevel(page) : await statsLevel(page);
      assert.ok(level > 0.01, `remote audio level ${level}`);
      if (kind === 'chromium') await screenshot(page, 'phone-in-call');
      await hangup(page);
      const hungUp = Date.now();

      // The call's recording reaches S3 within 10 s of the hang-up, and the mp3 the user downloads
      // decodes (in the browser) to the call's length and holds the echoed tone.
      let rec;
      await until('recording stored', async () => {
        const r = await page.evaluate(async () => (await fetch('/api/calls?direction=outbound&per_page=1')).json());
        rec = r.items?.[0];
        return rec?.recording?.state === 'stored';
      }, 10000, 200);
      timings.push(`${kind}: hang-up → recording in S3 ${Date.now() - hungUp} ms`);
      const got = await page.evaluate(async (id, tone) => {
        const res = await fetch(`/api/calls/${id}/recording?download=1`);
        const buf = await res.arrayBuffer();
        const audio = await new OfflineAudioContext(1, 1, 16000).decodeAudioData(buf);
        const x = audio.getChannelData(0);
        const power = (f) => {
          const k = 2 * Math.cos((2 * Math.PI * f) / audio.sampleRate);
          let s1 = 0, s2 = 0;
          for (const v of x) { const s0 = v + k * s1 - s2; s2 = s1; s1 = s0; }
          return (s1 * s1 + s2 * s2 - k * s1 * s2) / x.length;
        };
        return { secs: audio.duration, disposition: res.headers.get('content-disposition'), tone: power(tone), other: power(tone * 1.37) + power(tone * 0.61) };
      }, rec.id, TONE);
      const talk = (Date.parse(rec.ended_at) - Date.parse(rec.answered_at)) / 1000;
      assert.ok(Math.abs(got.secs - talk) < 1.0, `recording ${got.secs.toFixed(2)} s vs call ${talk.toFixed(2)} s`);
      assert.ok(got.disposition.includes(`${rec.id}_${rec.number}_`), got.disposition);
      assert.ok(got.tone > 20 * got.other, `the recording holds the echoed ${TONE} Hz tone: ${JSON.stringify(got)}`);
      if (kind === 'chromium') {
        await page.evaluate(() => { location.hash = '#/calls'; });
        const row = await page.waitForSelector(`[data-testid="call-${rec.id}"] button`, { timeout: 10000 });
        await row.click();
        await page.waitForSelector('[data-testid=call-audio]', { timeout: 5000 });
        await screenshot(page, 'calls');
        await page.evaluate(() => { location.hash = '#/'; });
      }
    });

    it('rings for a call from the carrier, answers, and the carrier hears the browser', async () => {
      const recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
      const sent = await carrierCalls(carrier, '9996');
      const ringing = await waitIncoming(page);
      timings.push(`${kind}: carrier INVITE → browser ringing ${ringing - sent} ms`);
      if (kind === 'chromium') await screenshot(page, 'phone-ringing');
      await page.click('[data-testid=phone-answer]');
      await until('inbound call answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
      await sleep(4000);
      const s = await rtp(page);
      assert.ok(s && s.received > 0 && s.sent > 0, `RTP both ways: ${JSON.stringify(s)}`);
      await hangup(page);
      await assertCarrierHeard(recs, TONE);
      recs.stop();
    });

    if (kind !== 'chromium') return;

    it('holds (the carrier gets music on hold) and resumes', async () => {
      const moh = platform.collect((m) => m.Event === 'MusicOnHoldStart' || m.Event === 'MusicOnHoldStop');
      await dial(page, '9999');
      await until('call answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 15000);
      await page.click('[data-testid=phone-hold]');
      await until('music on hold started', async () => moh.events.some((m) => m.Event === 'MusicOnHoldStart'), 8000);
      await page.click('[data-testid=phone-hold]');
      await until('music on hold stopped', async () => moh.events.some((m) => m.Event === 'MusicOnHoldStop'), 8000);
      moh.stop();
      await hangup(page);
    });

    it('sends DTMF digits that the carrier logs', async () => {
      const dtmf = carrier.waitEvent((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierDtmf', 30000);
      await dial(page, '9997');
      await until('call answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 15000);
      await sleep(1000);
      for (const d of ['1', '2', '3', '#']) {
        await page.click(`[data-testid=phone-dtmf-${d === '#' ? '\\#' : d}]`);
        await sleep(400);
      }
      const ev = await dtmf;
      assert.equal(ev.Digits, '123');
      await hangup(page).catch(() => undefined);
    });

    it('refuses an international number before it reaches the carrier', async () => {
      const seen = carrier.collect((m) => m.Event === 'Newchannel');
      await dial(page, '810441234567890');
      const ended = await page.waitForSelector('[data-testid=phone-ended]', { timeout: 10000 });
      const text = await ended.evaluate((e) => e.textContent);
      assert.match(text, /international/i);
      await sleep(2000);
      assert.equal(seen.events.length, 0, 'no INVITE reached the carrier');
      seen.stop();
    });

    it('blind-transfers an answered call to a second agent', async () => {
      const ctx = await browser.createBrowserContext();
      const bobBrowser = { defaultBrowserContext: () => ctx };
      const { page: bob } = await openApp(bobBrowser, t.account, 'bob', 'Agent-pass-12345');
      await waitRegistered(bob, 20000);
      await carrierCalls(carrier, '9999');
      await waitIncoming(page);
      await page.click('[data-testid=phone-answer]');
      await until('answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
      // The call id arrives with the call's events; the transfer needs it.
      await sleep(1000);
      await page.type('[data-testid=phone-transfer-target]', '102');
      await page.click('[data-testid=phone-transfer]');
      await waitIncoming(bob, 15000);
      await bob.click('[data-testid=phone-answer]');
      await until('bob connected', async () => (await bob.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
      await sleep(2000);
      const s = await rtp(bob);
      assert.ok(s && s.received > 0, `bob hears the caller: ${JSON.stringify(s)}`);
      assert.equal(await page.$('[data-testid=phone-call]'), null, "the first agent's call ended");
      await hangup(bob);
      await ctx.close();
    });

    it('forwards an unanswered call to the forward number after the ring timeout and logs it', async () => {
      await t.api.ok('PUT', '/api/telephony/routing', { ring_timeout_secs: 5, forward_number: '1234567' });
      const fwd = carrier.waitEvent((m) => m.Event === 'Newchannel' && /4951234567$/.test(m.Exten ?? ''), 25000);
      const sent = await carrierCalls(carrier, '9998');
      await waitIncoming(page);
      const ev = await fwd;
      const waited = ev.at - sent;
      assert.ok(waited >= 5000, `forwarded only after the ring timeout (${waited} ms)`);
      await until('ringing stopped in the browser', async () => !(await page.$('[data-testid=phone-incoming]')), 10000);
      const record = await until('the call record says forwarded', async () => {
        const r = sqlValue(`SELECT coalesce(result, '') || '|' || coalesce(reason, '') FROM calls WHERE tenant_id = ${Number(t.me.tenant.id)} AND direction = 'inbound' ORDER BY started_at DESC LIMIT 1`);
        return r.startsWith('forwarded|') && r;
      }, 15000, 300);
      assert.match(record, /no answer: forwarded to 1234567/);
      await t.api.ok('PUT', '/api/telephony/routing', { ring_timeout_secs: 15, forward_number: null });
      await carrier.action('Hangup', { Channel: '/^PJSIP\\/.*/' });
    });

    it('a caller presses 1 in an IVR menu, lands in a queue and the browser answers', async () => {
      // Issue #19: the line starts in a menu whose 1 leads to a queue of this agent; the carrier
      // presses 1 (RFC 4733) 1.5 s after the answer.
      const me = (await t.api.ok('GET', '/api/telephony')).me.user_id;
      const q = await t.api.ok('POST', '/api/telephony/queues', { name: `Queue ${kind}`, strategy: 'ring_all', members: [{ user: me }] });
      const m = await t.api.ok('POST', '/api/telephony/menus', { name: `Menu ${kind}`, timeout_secs: 8, options: [{ digit: '1', to: `queue:${q.id}` }] });
      const [line] = await t.api.ok('GET', '/api/telephony/first-steps');
      await t.api.ok('PUT', `/api/telephony/first-steps/${line.id}`, { step: 'menu', menu_id: m.id });
      try {
        const r = await carrier.action('Originate', {
          Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
          Context: 'carrier-test', Exten: '9993', Priority: '1', Async: 'true', CallerID: '79161234567', Variable: 'DTMF=1',
        });
        assert.equal(r.Response, 'Success', `carrier originate: ${JSON.stringify(r)}`);
        await waitIncoming(page, 20000);
        await page.click('[data-testid=phone-answer]');
        await until('answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
        await sleep(1500);
        const s = await rtp(page);
        assert.ok(s && s.received > 0, `the agent hears the caller: ${JSON.stringify(s)}`);
        await hangup(page);
        const rec = await until('the call record names the queue', async () => {
          const row = sqlValue(`SELECT coalesce(queue_id, 0) || '|' || coalesce(queue_outcome, '') || '|' || coalesce(result, '') FROM calls WHERE tenant_id = ${Number(t.me.tenant.id)} AND direction = 'inbound' ORDER BY started_at DESC LIMIT 1`);
          return row.endsWith('|answered') && row;
        }, 15000, 300);
        assert.equal(rec, `${q.id}|answered|answered`);
      } finally {
        await t.api.ok('PUT', `/api/telephony/first-steps/${line.id}`, { step: 'ring_all' });
        await t.api.ok('DELETE', `/api/telephony/menus/${m.id}`);
        await t.api.ok('DELETE', `/api/telephony/queues/${q.id}`);
        await carrier.action('Hangup', { Channel: '/^PJSIP\\/.*/' });
      }
    });

    it('a caller outside business hours leaves a voicemail that the phone announces and Calls plays', async () => {
      // Issue #19: never open (business hours on, no opening hours), voicemail on.
      await t.api.ok('PUT', '/api/telephony/routing', { ring_timeout_secs: 15, forward_number: null, voicemail: true });
      await t.api.ok('PUT', '/api/telephony/hours', { enabled: true, time_zone: 'Asia/Kolkata', weekly: [], holidays: [] });
      try {
        await carrierCalls(carrier, '9998');
        const rec = await until('a message is being left', async () => (await t.api.ok('GET', '/api/calls?voicemail=any&per_page=1')).items[0], 25000, 300);
        assert.equal(await page.$('[data-testid=phone-incoming]'), null, 'a closed line rings nobody');
        await sleep(3000);
        await carrier.action('Hangup', { Channel: '/^PJSIP\\/.*/' });
        await until('the message is stored', async () => (await t.api.ok('GET', `/api/calls/${rec.id}`)).recording?.state === 'stored', 30000, 300);
        const badge = await page.waitForSelector('[data-testid=phone-voicemail]', { timeout: 15000 });
        assert.match(await badge.evaluate((e) => e.textContent), /New voicemail: 1/);
        await badge.click();
        const row = await page.waitForSelector(`[data-testid="call-${rec.id}"] button`, { timeout: 10000 });
        assert.match(await page.$eval(`[data-testid="call-vm-${rec.id}"]`, (e) => e.textContent), /New message/);
        await row.click();
        await page.waitForSelector('[data-testid=call-audio]', { timeout: 5000 });
        const played = await page.$eval('[data-testid=call-audio]', async (a) => {
          a.muted = true;
          await a.play();
          await new Promise((r) => setTimeout(r, 1500));
          return a.currentTime;
        });
        assert.ok(played > 0.5, `the message plays in the browser (${played} s)`);
        await until('no longer new once heard', async () => !(await t.api.ok('GET', `/api/calls/${rec.id}`)).voicemail_new, 10000, 300);
        await page.evaluate(() => { location.hash = '#/'; });
      } finally {
        await t.api.ok('PUT', '/api/telephony/hours', { enabled: false, time_zone: 'UTC', weekly: [], holidays: [] });
        await t.api.ok('PUT', '/api/telephony/routing', { ring_timeout_secs: 15, forward_number: null, voicemail: false });
      }
    });
  });
}

after(() => {
  console.log('\n== e2e timings ==');
  for (const l of timings) console.log(l);
});
