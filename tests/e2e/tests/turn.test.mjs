// TURN for agents behind strict firewalls (issue #22, item 7): the lab runs coturn (infra/lib/turn.sh)
// and the phone gets credentials for it with its session (server/api/src/turn.rs). With the
// firewall open a call goes direct (a host candidate: TURN is only the fallback); with UDP between
// the browser and every Asterisk's RTP ports blocked — and UDP to the TURN server too — the call
// still has audio both ways, through a relay candidate over TCP. Without TURN that second call
// would have no media at all. Chromium and Firefox ESR.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { callEcho, carrierAmi, launch, openApp, remoteLevel, rtp, sleep, statsLevel, tenantWithTrunk, waitRegistered } from './lab.mjs';
import { selectedLocalCandidate } from './media.mjs';

const TONE = 1000;
// The platform Asterisk's RTP (14000–14999) and the nodes' (16000–16999); what may still reach
// them: the carrier (15000–15999) and coturn's relay ports (17500–17999).
const ASTERISK_RTP = '14000:14999,16000:16999';
const ALLOWED = '15000:15999,17500:17999';
const RULES = [
  ['OUTPUT', '-p', 'udp', '-m', 'multiport', '--dports', ASTERISK_RTP, '-m', 'multiport', '!', '--sports', ALLOWED, '-j', 'DROP'],
  ['INPUT', '-p', 'udp', '-m', 'multiport', '--sports', ASTERISK_RTP, '-m', 'multiport', '!', '--dports', ALLOWED, '-j', 'DROP'],
  ['OUTPUT', '-p', 'udp', '--dport', '3478', '-j', 'DROP'],
];

function firewall(on) {
  for (const [chain, ...rule] of RULES) {
    try {
      execFileSync('iptables', [on ? '-I' : '-D', chain, ...rule], { stdio: 'pipe' });
    } catch (e) {
      if (on) throw e; // removing a rule that is not there is fine
    }
  }
}

async function hangup(page) {
  const b = await page.$('[data-testid=phone-hangup]');
  if (b) await b.click();
  await sleep(500);
}

/** Media both ways for 3 s and the echo heard. */
async function audioBothWays(page, kind) {
  const before = await rtp(page);
  await sleep(3000);
  const s = await rtp(page);
  assert.ok(s.received > before.received + 50, `inbound RTP: ${JSON.stringify({ before, s })}`);
  assert.ok(s.sent > before.sent + 50, `outbound RTP: ${JSON.stringify({ before, s })}`);
  const level = kind === 'chromium' ? await remoteLevel(page) : await statsLevel(page);
  assert.ok(level > 0.01, `the echo is heard: level ${level}`);
}

for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: TURN when direct media is blocked`, () => {
    let browser;
    let t;
    let page;
    let carrier;

    before(async () => {
      t = await tenantWithTrunk();
      carrier = await carrierAmi();
      browser = await launch(kind, TONE);
      ({ page } = await openApp(browser, t.account, 'boss', t.password));
      await waitRegistered(page, 20000);
    });
    after(async () => {
      firewall(false);
      carrier?.close();
      await browser?.close();
      await t?.removeTrunk();
    });

    it('the phone session carries TURN credentials for this user', async () => {
      const s = await page.evaluate(async () => {
        const c = await (await fetch('/api/auth/csrf')).json();
        return (await fetch('/api/phone/session', { method: 'POST', headers: { 'x-csrf-token': c.csrf } })).json();
      });
      const turn = s.ice_servers?.[0];
      assert.ok(turn, JSON.stringify(s.ice_servers));
      assert.ok(turn.urls.some((u) => u.endsWith('?transport=tcp')), JSON.stringify(turn.urls));
      assert.match(turn.username, /^\d+:t\d+-u\d+$/);
      assert.ok(turn.credential.length > 20);
      // That session rotated the phone's password: start the phone again.
      await page.reload({ waitUntil: 'load' });
      await waitRegistered(page, 20000);
    });

    it('with the firewall open the call goes direct', async () => {
      await callEcho(page, carrier);
      await audioBothWays(page, kind);
      const c = await selectedLocalCandidate(page);
      assert.notEqual(c.type, 'relay', JSON.stringify(c));
      await hangup(page);
    });

    it('with UDP to Asterisk and to the TURN server blocked, the call relays over TCP with audio both ways', async () => {
      firewall(true);
      try {
        await callEcho(page, carrier);
        await audioBothWays(page, kind);
        const c = await selectedLocalCandidate(page);
        assert.equal(c.type, 'relay', JSON.stringify(c));
        assert.equal(c.relayProtocol, 'tcp', JSON.stringify(c));
        await hangup(page);
      } finally {
        firewall(false);
      }
    });
  });
}
