// A call survives its phone socket (issue #16, item 3): the browser's /sip socket closes mid-call
// (as when its server replica stops), the phone shows "reconnecting", reconnects and registers on
// its own, moves the call to the new socket with a re-INVITE; the audio never stopped (media goes
// browser ↔ Asterisk), and the call's in-dialog requests flow over the new socket both ways: the
// agent's hang-up ends the carrier's leg, the carrier's hang-up ends the call in the browser.
// Chromium and Firefox ESR.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertCallGoesOn,
  callEcho,
  carrierAmi,
  callState,
  launch,
  openApp,
  regState,
  rtp,
  sleep,
  tenantWithTrunk,
  until,
  waitRegistered,
} from './lab.mjs';

const TONE = 1000;

/** Closes the phone's /sip socket as a stopping server replica would (1012 "service restart"). */
async function dropPhoneSocket(page) {
  const n = await page.evaluate(() => {
    const open = window.__cbSockets.filter((s) => s.url.endsWith('/sip') && s.readyState === 1);
    for (const s of open) s.close(1000, 'test: the socket goes away');
    return open.length;
  });
  assert.equal(n, 1, 'one open /sip socket to close');
}

/** Drops the socket mid-call; asserts "reconnecting", then registered again and audio both ways. */
async function reconnectDuringCall(page, kind) {
  await sleep(1500);
  const before = await rtp(page);
  await dropPhoneSocket(page);
  await until('phone shows reconnecting', async () => (await regState(page)) === 'reconnecting', 3000, 20);
  assert.equal(await callState(page), 'answered', 'the call is still shown');
  await waitRegistered(page, 15000);
  // The re-INVITE is answered and the media never stopped.
  await assertCallGoesOn(page, kind, before, 'after the reconnect');
}

for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: a call survives its phone socket`, () => {
    let browser;
    let t;
    let page;
    let carrier;

    before(async () => {
      t = await tenantWithTrunk();
      carrier = await carrierAmi();
      browser = await launch(kind, TONE);
      ({ page } = await openApp(browser, t.account, 'boss', t.password, { init: () => {
        const Native = window.WebSocket;
        window.__cbSockets = [];
        window.WebSocket = class extends Native {
          constructor(...args) {
            super(...args);
            window.__cbSockets.push(this);
          }
        };
      } }));
      await waitRegistered(page, 20000);
    });
    after(async () => {
      carrier?.close();
      await browser?.close();
      await t?.removeTrunk();
    });

    it('the agent hangs up through the new socket and the carrier leg ends', async () => {
      const channel = await callEcho(page, carrier);
      const gone = carrier.waitEvent((m) => m.Event === 'Hangup' && m.Channel === channel, 20000);
      await reconnectDuringCall(page, kind);
      await page.click('[data-testid=phone-hangup]');
      await gone;
      await until('call ended in the page', async () => !(await page.$('[data-testid=phone-call]')) || (await callState(page)) === 'ended', 5000);
    });

    it("the carrier's hang-up reaches the browser over the new socket", async () => {
      const channel = await callEcho(page, carrier);
      await reconnectDuringCall(page, kind);
      const r = await carrier.action('Hangup', { Channel: channel });
      assert.equal(r.Response, 'Success', JSON.stringify(r));
      await until('the call ends in the browser', async () => {
        const st = await callState(page);
        return st === null || st === 'ended';
      }, 8000);
    });
  });
}
