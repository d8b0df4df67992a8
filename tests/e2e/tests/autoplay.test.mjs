// Sound armed at sign-in (issue #22, item 3), Chromium and Firefox ESR with their autoplay policy
// left at the defaults (`launch(…, { autoplay: 'default' })`: no --autoplay-policy switch, no
// media.autoplay.* preferences). An agent signs in through the login form — typed credentials, a
// real click on "Sign in" — and, without a reload, waits for the first call: the carrier calls the
// tenant's DID, the phone shows it and the ring tone plays (the ring element playing, not refused;
// the AudioContext that makes the tone running; in Chromium its level measured), with no "enable
// sound" button. Then a reload with no click since: the phone finds sound blocked and shows the
// button (so this suite can fail), and that button's click arms sound again.
//
// Puppeteer evaluates with user activation (page.evaluate, $eval, waitForSelector activate the
// document, which alone would let sound play), so what the phone decided right after the sign-in
// click and after the reload is read from its console log (`watchSound`), before touching the page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, carrierAmi, carrierCallsDid, launch, remoteLevel, tenantWithTrunk, until, waitRegistered, watchSound } from './lab.mjs';

const TONE = 1000;


const soundOf = (page) => page.evaluate(() => window.__cbPhone?.sound ?? null);


for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: sound armed at sign-in, autoplay policy at the browser's defaults`, () => {
    let t;
    let browser;
    let page;
    let carrier;
    let sound;

    before(async () => {
      t = await tenantWithTrunk();
      carrier = await carrierAmi();
      browser = await launch(kind, TONE, { autoplay: 'default' });
      page = await browser.newPage();
      page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
      await page.setViewport({ width: 1366, height: 768 });
      sound = await watchSound(page);
    });
    after(async () => {
      await carrier?.action('Hangup', { Channel: '/^PJSIP\\/.*/' }).catch(() => undefined);
      carrier?.close();
      await browser?.close();
      await t?.removeTrunk();
    });

    it('the sign-in click arms sound: the first inbound call rings out loud, no "enable sound"', async () => {
      await page.goto(`${BASE}/#/login`, { waitUntil: 'load' });
      await page.waitForSelector('#login-account', { timeout: 15000 });
      await page.type('#login-account', t.account);
      await page.type('#login-login', 'boss');
      await page.type('#login-password', t.password);
      const from = sound.seen.length;
      await page.click('form button[type=submit]');
      // What the phone decided on its own, before this test touches the page again.
      assert.equal(await sound.next(from), 'allowed', 'the phone opened after sign-in may sound');
      assert.ok(!page.url().includes('/login'), `signed in without leaving the page: ${page.url()}`);
      await waitRegistered(page, 20000);
      assert.equal(await page.$('[data-testid=phone-enable-sound]'), null, 'no "enable sound" after sign-in');

      await carrierCallsDid(carrier);
      try {
        await page.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
        const s = await until('the ring tone playing', async () => {
          const x = await soundOf(page);
          return x?.ringing && x.ringPlaying && x.context === 'running' ? x : null;
        }, 5000).catch(async (e) => {
          throw new Error(`${e.message}; the phone's sound: ${JSON.stringify(await soundOf(page))}`);
        });
        assert.deepEqual(s, { state: 'allowed', context: 'running', ringing: true, ringPlaying: true, ringBlocked: false });
        const el = await page.$eval('[data-testid=phone-ring-audio]', (a) => ({ paused: a.paused, connected: a.isConnected, stream: !!a.srcObject }));
        assert.deepEqual(el, { paused: false, connected: true, stream: true }, 'the ring element plays the tone');
        if (kind === 'chromium') {
          // Firefox cannot tap a stream of another AudioContext with an analyser; the context
          // running is its proof that the tone is made.
          const level = await remoteLevel(page, 1800, 'ring');
          assert.ok(level > 0.05, `the ring tone is audible: level ${level}`);
        }
        assert.equal(await page.$('[data-testid=phone-enable-sound]'), null, 'no "enable sound" while ringing');
        assert.equal(sound.seen.slice(from).includes('blocked'), false, `never blocked since sign-in: ${sound.seen.join(', ')}`);
      } finally {
        const decline = await page.$('[data-testid=phone-decline]');
        if (decline) await decline.click();
        await until('the ring stops', async () => !(await page.$('[data-testid=phone-incoming]')) && !(await soundOf(page))?.ringing, 10000);
        await carrier.action('Hangup', { Channel: '/^PJSIP\\/.*/' });
      }
    });

    it('after a reload with no click the phone says sound is blocked; "enable sound" arms it', async () => {
      const from = sound.seen.length;
      await page.reload({ waitUntil: 'load' });
      assert.equal(await sound.next(from), 'blocked', 'a reloaded page with no click since may not sound');
      const button = await page.waitForSelector('[data-testid=phone-enable-sound]', { timeout: 5000 });
      assert.equal((await soundOf(page))?.state, 'blocked');
      await button.click();
      assert.equal(await sound.next(from + 1, 10000), 'allowed', 'the click arms sound');
      await until('the button gone', async () => !(await page.$('[data-testid=phone-enable-sound]')), 5000);
      await until('the AudioContext running', async () => (await soundOf(page))?.context === 'running', 5000);
    });
  });
}
