// Long calls are kept alive with SIP session timers (issue #22, item 6; RFC 4028). The lab's servers
// run the minimum session interval, 90 s (CALLBASE__ASTERISK__SESSION_EXPIRES_SECS, infra/lib/stack.sh):
// the phone asks for it in its INVITE, Asterisk takes it with the phone as refresher, and the phone
// refreshes with a re-INVITE every 45 s. Without refreshes Asterisk hangs up 60 s after the last
// one, so a call to the carrier's echo that is still up, with audio both ways, after 110 s — past
// two refreshes — proves they are sent and answered. Chromium only (the JsSIP code is the same in
// Firefox, where reconnect.test.mjs runs re-INVITEs too); about two minutes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertCallGoesOn, callEcho, carrierAmi, launch, openApp, rtp, sleep, tenantWithTrunk, waitRegistered } from './lab.mjs';

const TONE = 1000;
const EXPIRES = Number(process.env.CALLBASE__ASTERISK__SESSION_EXPIRES_SECS || 90);

describe('chromium: session timers keep a long call', () => {
  let browser;
  let t;
  let page;
  let carrier;

  before(async () => {
    t = await tenantWithTrunk();
    carrier = await carrierAmi();
    browser = await launch('chromium', TONE);
    // Every SIP message the page sends or receives on its /sip socket, in order.
    ({ page } = await openApp(browser, t.account, 'boss', t.password, { init: () => {
      const Native = window.WebSocket;
      window.__cbSockets = [];
      window.__cbSip = [];
      window.WebSocket = class extends Native {
        constructor(...args) {
          super(...args);
          window.__cbSockets.push(this);
          if (String(args[0]).endsWith('/sip')) {
            this.addEventListener('message', (e) => typeof e.data === 'string' && window.__cbSip.push({ dir: 'in', at: Date.now(), text: e.data }));
          }
        }
        send(data) {
          if (this.url.endsWith('/sip') && typeof data === 'string') window.__cbSip.push({ dir: 'out', at: Date.now(), text: data });
          return super.send(data);
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

  it('the phone refreshes the call with re-INVITEs and the call goes on past the interval', async () => {
    const channel = await callEcho(page, carrier);
    let hungUp = false;
    const gone = carrier.waitEvent((m) => m.Event === 'Hangup' && m.Channel === channel, 200000).then(() => (hungUp = true), () => false);
    const before = await rtp(page);
    const sip = () => page.evaluate(() => window.__cbSip.map((m) => ({ dir: m.dir, at: m.at, text: m.text })));
    const header = (text, name) => text.match(new RegExp(`^${name}:\\s*(.*)$`, 'mi'))?.[1]?.trim() ?? null;
    const cseqInvite = (text) => /^CSeq:\s*\d+\s+INVITE\s*$/im.test(text);
    // The INVITE that set the call up, and Asterisk's 200 OK to it.
    const setup = (await sip()).filter((m) => cseqInvite(m.text));
    const invite = setup.find((m) => m.dir === 'out' && m.text.startsWith('INVITE '));
    assert.ok(invite, 'the phone sent an INVITE');
    assert.match(header(invite.text, '(?:Supported|k)') ?? '', /\btimer\b/, 'the INVITE supports timers');
    assert.equal(header(invite.text, '(?:Session-Expires|x)'), String(EXPIRES), 'the INVITE asks for the server\'s interval');
    const ok = setup.find((m) => m.dir === 'in' && m.text.startsWith('SIP/2.0 200'));
    assert.ok(ok, "Asterisk's 200 OK to the INVITE");
    assert.match(header(ok.text, '(?:Session-Expires|x)') ?? '', new RegExp(`^${EXPIRES};refresher=uac$`, 'i'), 'Asterisk takes the interval, the phone refreshes');
    const answeredAt = Date.now();

    // Past two refreshes (45 s and 90 s); without the second Asterisk would hang up at 105 s.
    await sleep(110000);
    assert.equal(hungUp, false, "the carrier's leg is still up");
    const msgs = (await sip()).filter((m) => m.at > answeredAt);
    const refreshes = msgs.filter((m) => m.dir === 'out' && m.text.startsWith('INVITE ') && header(m.text, '(?:To|t)')?.includes('tag='));
    const answered = msgs.filter((m) => m.dir === 'in' && m.text.startsWith('SIP/2.0 200') && cseqInvite(m.text));
    console.log(`[timers] ${refreshes.length} refresh re-INVITEs, ${answered.length} answered, over ${Math.round((Date.now() - answeredAt) / 1000)} s`);
    assert.ok(refreshes.length >= 2, `at least two refreshes in 110 s: ${refreshes.length}`);
    assert.ok(answered.length >= 2, `Asterisk answered them: ${answered.length}`);
    for (const r of refreshes) {
      assert.match(header(r.text, '(?:Session-Expires|x)') ?? '', new RegExp(`^${EXPIRES};refresher=uac$`, 'i'), 'a refresh keeps the interval and the refresher');
    }
    assert.ok(!msgs.some((m) => m.dir === 'out' && m.text.startsWith('BYE ')), 'the phone sent no BYE');
    // The call is up, with the echo heard and RTP both ways.
    await assertCallGoesOn(page, 'chromium', before, 'after two session refreshes');
    await page.click('[data-testid=phone-hangup]');
    assert.equal(await gone, true, "the carrier's leg ends with the agent's hang-up");
  });
});
