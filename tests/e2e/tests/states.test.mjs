// Agent states in real browsers (issue #18): two agents of one tenant in Chromium, each with the
// phone docked. The boss goes on Break from the phone's state menu: a carrier call rings Anna only.
// Anna answers, talks and hangs up: she is in Wrap-up (the phone shows it with a countdown and a
// Ready button) and the next carrier call rings nobody. Anna presses Ready and the boss goes back to
// Available: the next call rings both. The ringing phone shows the line (DID) the call came in on.
// Screenshots: the state menu and the wrap-up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { carrierAmi, env, launch, openApp, screenshot, sleep, tenantWithTrunk, until, waitRegistered, DID } from './lab.mjs';

const TONE = 1000;

async function carrierCalls(ami) {
  const r = await ami.action('Originate', {
    Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
    Context: 'carrier-test',
    Exten: '9998',
    Priority: '1',
    Async: 'true',
    CallerID: '79161234567',
  });
  assert.equal(r.Response, 'Success', `carrier originate: ${JSON.stringify(r)}`);
}

async function hangupCarrier(ami) {
  await ami.action('Hangup', { Channel: `/^PJSIP\\/${env('CALLBASE_CARRIER_TRUNK_USER')}-/` });
  await sleep(1000);
}

const stateOf = (page) => page.$eval('[data-testid=agent-state-box]', (e) => e.getAttribute('data-state')).catch(() => null);
const ringing = async (page) => !!(await page.$('[data-testid=phone-incoming]'));

describe('agent states: who rings', () => {
  let t;
  let carrier;
  const browsers = [];
  let boss;
  let anna;

  before(async () => {
    t = await tenantWithTrunk();
    // A wrap-up long enough that only Ready ends it here.
    const s = await t.api.ok('GET', '/api/telephony/agent-settings');
    await t.api.ok('PUT', '/api/telephony/agent-settings', { ...s, wrapup_max_secs: 300 });
    await t.api.ok('PUT', '/api/telephony/routing', { ring_timeout_secs: 8, forward_number: null });
    const u = await t.api.ok('POST', '/api/users', { login: 'anna', name: 'Anna Agent', email: 'anna@example.com', password: 'Agent-pass-12345', group_ids: [] });
    await t.api.ok('POST', '/api/telephony/users', { user_id: u.id, extension: '102' });
    carrier = await carrierAmi();
    for (const [login, pw] of [['boss', t.password], ['anna', 'Agent-pass-12345']]) {
      const b = await launch('chromium', TONE);
      browsers.push(b);
      const { page } = await openApp(b, t.account, login, pw);
      await waitRegistered(page, 20000);
      await page.waitForSelector('[data-testid=agent-state]', { timeout: 10000 });
      if (login === 'boss') boss = page;
      else anna = page;
    }
  });

  after(async () => {
    carrier?.close();
    for (const b of browsers) await b.close();
    await t?.removeTrunk();
  });

  it('an agent on Break is not rung while an available colleague is', async () => {
    assert.equal(await stateOf(boss), 'available', 'agents start available');
    await boss.select('[data-testid=agent-state]', 'break:Lunch');
    await until('the boss is on a break', async () => (await stateOf(boss)) === 'break', 5000);
    await screenshot(boss, 'phone-states');
    await carrierCalls(carrier);
    await anna.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
    // The ringing phone names the line the call came in on (the tenant's DID).
    const line = await anna.waitForSelector('[data-testid=phone-line]', { timeout: 5000 });
    assert.match(await line.evaluate((e) => e.textContent), new RegExp(DID.replace('+', '\\+')));
    await sleep(1500);
    assert.equal(await ringing(boss), false, 'the boss on a break is not rung');
    await anna.click('[data-testid=phone-answer]');
    await until('Anna talks', async () => (await anna.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
    await sleep(2000);
    await anna.click('[data-testid=phone-hangup]');
  });

  it('wrap-up after the call holds the agent until Ready', async () => {
    await until("Anna's phone shows the wrap-up", async () => (await stateOf(anna)) === 'wrapup', 10000);
    await anna.waitForSelector('[data-testid=agent-ready]', { timeout: 5000 });
    await screenshot(anna, 'phone-wrapup');
    await carrierCalls(carrier);
    await sleep(5000);
    assert.equal(await ringing(anna), false, 'an agent in wrap-up is not rung');
    assert.equal(await ringing(boss), false, 'the boss is still on a break');
    await hangupCarrier(carrier);
    await anna.click('[data-testid=agent-ready]');
    await until('Anna is available', async () => (await stateOf(anna)) === 'available', 5000);
    await boss.select('[data-testid=agent-state]', 'available');
    await until('the boss is available', async () => (await stateOf(boss)) === 'available', 5000);
    await carrierCalls(carrier);
    await until('both agents ring', async () => (await ringing(anna)) && (await ringing(boss)), 15000);
    await hangupCarrier(carrier);
  });
});
