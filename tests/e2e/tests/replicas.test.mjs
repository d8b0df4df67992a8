// Two server replicas behind HAProxy (issue #16, item 3): a browser in a call through the trunk
// whose /sip socket is on replica 2 (not the Stasis lease holder) stays in the call when replica 2
// gets SIGTERM: the phone shows "reconnecting", comes back through replica 1, the audio goes on
// both ways, the agent can hang up (the carrier's leg ends) and the carrier's hang-up ends the call
// in the browser. Replica 2 exits within its drain time and is started again for later tests.
// Chromium and Firefox ESR. In Chromium also a rolling restart of both replicas during a call,
// the Stasis lease holder included: the replica that takes the lease adopts the call.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertCallGoesOn,
  BASE,
  callEcho,
  callState,
  carrierAmi,
  env,
  launch,
  regState,
  rtp,
  signInPage,
  sleep,
  tenantWithTrunk,
  until,
  waitRegistered,
  soundOn,
} from './lab.mjs';
import { alive, replicaDown, replicaPid, replicaUp, sessions, stasisHolderPid, stat, haproxy } from './replicas.mjs';

const TONE = 1000;
/** (Re)opens the app with its sockets on replica 2: replica 1 is set to drain in HAProxy meanwhile. */
async function openOnReplica2(page, t) {
  // A replica just started again is taken in after two good health checks.
  await until('replica 2 is up in HAProxy', async () => (await stat('r2', 'status')) === 'UP', 10000);
  await haproxy('set server replicas/r1 state drain');
  try {
    await signInPage(page, t.account, 'boss', t.password);
    await page.goto(`${BASE}/#/`, { waitUntil: 'load' });
    await page.reload({ waitUntil: 'load' });
    await soundOn(page);
    await waitRegistered(page, 20000);
  } finally {
    await haproxy('set server replicas/r1 state ready');
  }
  assert.ok((await sessions('r2')) >= 2, 'the /events and /sip sockets are on replica 2');
}

/** SIGTERM to replica 2 mid-call: reconnecting, back through replica 1, audio both ways, replica 2 gone. */
async function stopReplica2DuringCall(page, kind) {
  const pid = replicaPid(2);
  assert.notEqual(stasisHolderPid(), pid, 'replica 2 does not hold the Stasis lease');
  await sleep(1500);
  const before = await rtp(page);
  const term = Date.now();
  process.kill(pid, 'SIGTERM');
  await until('phone shows reconnecting', async () => (await regState(page)) === 'reconnecting', 8000, 20);
  assert.equal(await callState(page), 'answered', 'the call is still shown');
  await waitRegistered(page, 15000);
  await until('replica 2 exits', async () => !alive(pid), 8000);
  console.log(`# ${kind}: SIGTERM → replica exited and the phone registered through the other in ${Date.now() - term} ms`);
  await assertCallGoesOn(page, kind, before, 'through the restart');
  assert.ok((await sessions('r1')) >= 2, 'the sockets are on replica 1 now');
}

for (const kind of ['chromium', 'firefox']) {
  describe(`${kind}: a call survives the stop of its server replica`, () => {
    let browser;
    let t;
    let page;
    let carrier;

    before(async () => {
      t = await tenantWithTrunk();
      carrier = await carrierAmi();
      browser = await launch(kind, TONE);
      page = await browser.defaultBrowserContext().newPage();
      page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
      await page.setViewport({ width: 1366, height: 768 });
    });
    after(async () => {
      carrier?.close();
      await browser?.close();
      await t?.removeTrunk();
      if (!alive(replicaPid(2))) replicaUp(2);
    });

    it('the agent hangs up through the other replica and the carrier leg ends', async () => {
      await openOnReplica2(page, t);
      const channel = await callEcho(page, carrier);
      const gone = carrier.waitEvent((m) => m.Event === 'Hangup' && m.Channel === channel, 30000);
      await stopReplica2DuringCall(page, kind);
      await page.click('[data-testid=phone-hangup]');
      await gone;
      replicaUp(2);
    });

    it("the carrier's hang-up reaches the browser through the other replica", async () => {
      await openOnReplica2(page, t);
      const channel = await callEcho(page, carrier);
      await stopReplica2DuringCall(page, kind);
      const r = await carrier.action('Hangup', { Channel: channel });
      assert.equal(r.Response, 'Success', JSON.stringify(r));
      await until('the call ends in the browser', async () => {
        const st = await callState(page);
        return st === null || st === 'ended';
      }, 8000);
      replicaUp(2);
    });

    if (kind !== 'chromium') return;

    it('a rolling restart of both replicas during a call drops nothing', async () => {
      await until('replica 2 is up in HAProxy', async () => (await stat('r2', 'status')) === 'UP', 10000);
      await page.reload({ waitUntil: 'load' });
      await soundOn(page);
      await waitRegistered(page, 20000);
      assert.equal(stasisHolderPid(), replicaPid(1), 'replica 1 holds the Stasis lease and the sockets');
      const channel = await callEcho(page, carrier);
      const gone = carrier.waitEvent((m) => m.Event === 'Hangup' && m.Channel === channel, 60000);
      // Replica 2 first (no sockets, no leases), then replica 1: its sockets and the Stasis lease
      // move to replica 2, which adopts the call.
      replicaDown(2);
      replicaUp(2);
      await until('replica 2 is up in HAProxy', async () => (await stat('r2', 'status')) === 'UP', 10000);
      await sleep(1500);
      const before = await rtp(page);
      const r1 = replicaPid(1);
      process.kill(r1, 'SIGTERM');
      await until('phone shows reconnecting', async () => (await regState(page)) === 'reconnecting', 8000, 20);
      await waitRegistered(page, 15000);
      await until('replica 1 exits', async () => !alive(r1), 8000);
      await until('replica 2 holds the Stasis lease', async () => stasisHolderPid() === replicaPid(2), 10000, 250);
      replicaUp(1);
      await assertCallGoesOn(page, kind, before, 'after both restarts');
      // The adopted call is still controlled: the agent's hang-up ends the carrier's leg.
      await page.click('[data-testid=phone-hangup]');
      await gone;
      // Back to the lab's layout for later tests: replica 1 holds the leases.
      replicaDown(2);
      await until('replica 1 holds the Stasis lease', async () => stasisHolderPid() === replicaPid(1), 10000, 250);
      replicaUp(2);
    });
  });
}
