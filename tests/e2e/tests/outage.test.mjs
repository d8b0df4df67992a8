// Issue #16, item 5: PostgreSQL and Redis fail and come back while agents are in calls. The lab has
// its own PostgreSQL (tests/e2e/lab.sh; the host cluster is shared with the dev and test stacks) and
// its own Redis with an append-only file.
//   - PostgreSQL stops (fast shutdown: every session cut) during two calls: the API answers 503 with
//     Retry-After — the replica itself, and HAProxy once both replicas report unready — and never
//     another 5xx; the calls go on; an agent hangs up while it is down and the carrier's leg ends
//     at once; when PostgreSQL is back the API recovers on its own with the same session, the call
//     that ended meanwhile has its record closed with its true talk time (the call actor's writes
//     waited for the database), a new call works (Asterisk's realtime reconnected), every
//     recording reaches S3.
//   - Redis is killed (-9) during a call for longer than a lease's TTL: 503 while it is down; when it
//     is back users are still signed in, a replica holds the Stasis lease again and has adopted the
//     call, the phone is registered, and the agent's hang-up ends the carrier's leg and the record.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  callEcho,
  callState,
  carrierAmi,
  env,
  launch,
  openApp,
  regState,
  remoteTone,
  rtp,
  sleep,
  tenantWithTrunk,
  until,
  waitRegistered,
} from './lab.mjs';
import { leasesOnReplica1, postgres, redis, stasisHolderPid } from './replicas.mjs';

const TONE = 1000;
const PASSWORD = 'Agent-pass-12345';
/** Replica 1 directly (HAProxy answers for the whole backend once both replicas are unready). */
const REPLICA_1 = `http://127.0.0.1:${Number(new URL(env('CALLBASE__HTTP__PUBLIC_ORIGIN')).port) + 1}`;

describe('PostgreSQL and Redis fail and come back during calls', () => {
  let t;
  let carrier;
  let chromium;
  const agents = {};
  const up = new Map();
  const gone = new Map();
  /** Every answer seen while a dependency was down: `[what, status]`. */
  const seen = [];

  before(async () => {
    t = await tenantWithTrunk();
    carrier = await carrierAmi();
    carrier.collect((m) => {
      if (m.Event === 'Newstate' && m.ChannelStateDesc === 'Up' && !up.has(m.Channel)) up.set(m.Channel, m.at);
      if (m.Event === 'Hangup') gone.set(m.Channel, m.at);
      return false;
    });
    chromium = await launch('chromium', TONE);
    for (const login of ['a1', 'a2']) {
      const u = await t.api.ok('POST', '/api/users', { login, name: `Agent ${login}`, email: `${login}@example.com`, password: PASSWORD, group_ids: [] });
      await t.api.ok('POST', '/api/telephony/users', { user_id: u.id, accept_incoming: false });
      const ctx = await chromium.createBrowserContext();
      agents[login] = (await openApp({ defaultBrowserContext: () => ctx }, t.account, login, PASSWORD)).page;
      await waitRegistered(agents[login], 20000);
    }
  });

  after(async () => {
    // Every step runs even if one fails: a browser left open keeps the test file from exiting.
    const steps = [
      () => postgres('up'),
      () => redis('up'),
      () => carrier?.action('Hangup', { Channel: '/^PJSIP\\//' }),
      () => carrier?.close(),
      () => chromium?.close(),
      () => t?.removeTrunk(),
      // Later tests expect replica 1 to hold the Stasis lease; after Redis came back either may.
      () => leasesOnReplica1(),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch((e) => console.log(`[cleanup] ${e.message}`));
  });

  /** What the API answers while a dependency is down, through HAProxy and from replica 1 itself. */
  async function whileDown(dependency, code) {
    const direct = async (method, p) => {
      const res = await fetch(REPLICA_1 + p, {
        method,
        headers: { cookie: t.api.cookieHeader(), origin: env('CALLBASE__HTTP__PUBLIC_ORIGIN'), 'x-csrf-token': t.api.cookies.get('cb_csrf') ?? '', 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : JSON.stringify({ login: 'nobody', name: 'N', email: 'n@example.com', password: PASSWORD, group_ids: [] }),
      });
      return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
    };
    for (const [method, p] of [['GET', '/api/auth/me'], ['GET', '/api/calls?per_page=5'], ['GET', '/api/telephony/users'], ['POST', '/api/users']]) {
      const r = await direct(method, p);
      seen.push([`${dependency} down: replica ${method} ${p}`, r.status]);
      assert.equal(r.status, 503, `${method} ${p} on the replica while ${dependency} is down: ${JSON.stringify(r.body)}`);
      assert.equal(r.body?.code, code, `${method} ${p}: ${JSON.stringify(r.body)}`);
      assert.ok(Number(r.headers.get('retry-after')) > 0, `${method} ${p}: Retry-After`);
    }
    // Both replicas report unready (/readyz) within HAProxy's two checks; then HAProxy answers.
    await sleep(1000);
    for (const p of ['/api/auth/me', '/api/calls?per_page=5']) {
      const r = await t.api.req('GET', p);
      seen.push([`${dependency} down: HAProxy GET ${p}`, r.status]);
      assert.equal(r.status, 503, `GET ${p} through HAProxy while ${dependency} is down: ${r.text}`);
      assert.ok(Number(r.headers.get('retry-after')) > 0, `GET ${p} through HAProxy: Retry-After`);
    }
  }

  /** The API answers again (the same session): every answer until then is recorded. */
  async function recovers(dependency) {
    const back = Date.now();
    await until(`the API answers after ${dependency} came back`, async () => {
      const r = await t.api.req('GET', '/api/auth/me');
      seen.push([`${dependency} back: HAProxy GET /api/auth/me`, r.status]);
      return r.status === 200 && r.body.user.login === 'boss';
    }, 30000, 250);
    console.log(`# ${dependency} back → the API answers (same session) in ${Date.now() - back} ms`);
  }

  const record = async (channel) => {
    const r = await t.api.ok('GET', '/api/calls?per_page=50');
    return r.items;
  };

  /** Every answered record is closed with its true talk time and a stored recording. */
  async function assertRecords(channels, n) {
    const items = await until(`${n} closed records with stored recordings`, async () => {
      const all = (await record()).filter((x) => x.answered_at);
      return all.length === n && all.every((x) => x.ended_at && x.recording?.state === 'stored') && all;
    }, 30000, 500);
    const ours = items.map((x) => (Date.parse(x.ended_at) - Date.parse(x.answered_at)) / 1000).sort((a, b) => a - b);
    const carriers = channels.map((c) => (gone.get(c) - up.get(c)) / 1000).sort((a, b) => a - b);
    ours.forEach((s, i) => assert.ok(Math.abs(s - carriers[i]) < 1.0, `talk times: ours ${JSON.stringify(ours)} vs the carrier's ${JSON.stringify(carriers)}`));
  }

  async function assertHearsTone(page, what) {
    const before = await rtp(page);
    const got = await remoteTone(page, TONE, 1500);
    const after = await rtp(page);
    assert.ok(after.received > before.received + 40 && after.sent > before.sent + 40, `RTP goes on ${what}: ${JSON.stringify({ before, after })}`);
    assert.ok(got.tone > 20 * got.other, `the echoed tone is heard ${what}: ${JSON.stringify(got)}`);
  }

  const channels = [];

  it('PostgreSQL stops during two calls: 503 with Retry-After, the calls go on and end, no record is lost', async () => {
    const c1 = await callEcho(agents.a1, carrier, '9996');
    const c2 = await callEcho(agents.a2, carrier, '9996');
    channels.push(c1, c2);
    await sleep(1500);
    postgres('down');
    await whileDown('PostgreSQL', 'database_unavailable');
    // The agent hangs up while the database is down: the call is still controlled.
    await agents.a1.click('[data-testid=phone-hangup]');
    await until("a1's hang-up ends the carrier's leg", async () => gone.has(c1), 5000, 50);
    await assertHearsTone(agents.a2, 'while PostgreSQL is down');
    await sleep(2000);
    postgres('up');
    await recovers('PostgreSQL');
    await until("a1's record closed after PostgreSQL came back", async () => (await record()).some((x) => x.ended_at), 20000, 500);
    await assertHearsTone(agents.a2, 'after PostgreSQL came back');
    // A new call once the database is back: Asterisk's realtime (endpoints, trunk) reconnected.
    await waitRegistered(agents.a1, 20000);
    const c3 = await callEcho(agents.a1, carrier, '9996');
    channels.push(c3);
    await sleep(2000);
    await agents.a1.click('[data-testid=phone-hangup]');
    await agents.a2.click('[data-testid=phone-hangup]');
    await until("the carrier's legs end", async () => channels.every((c) => gone.has(c)), 5000, 50);
    await assertRecords(channels, 3);
  });

  it('Redis is killed during a call for longer than a lease: 503 while down, users stay signed in, the call is adopted and ends', async () => {
    const c4 = await callEcho(agents.a2, carrier, '9996');
    channels.push(c4);
    await sleep(1500);
    redis('down');
    await whileDown('Redis', 'redis_unavailable');
    // Longer than a lease's TTL (3 s): the Stasis holder cannot renew and stops its worker.
    await sleep(4000);
    redis('up');
    await recovers('Redis');
    await until('a replica holds the Stasis lease again', async () => stasisHolderPid() > 0, 15000, 250);
    await until('the phone is registered', async () => (await regState(agents.a2)) === 'registered', 20000);
    assert.equal(await callState(agents.a2), 'answered', 'the call is still shown');
    assert.ok(!gone.has(c4), 'the call was not dropped');
    await assertHearsTone(agents.a2, 'after Redis came back');
    await agents.a2.click('[data-testid=phone-hangup]');
    await until("a2's hang-up ends the carrier's leg", async () => gone.has(c4), 5000, 50);
    await assertRecords(channels, 4);
  });

  it('no answer while a dependency was down was a 5xx other than 503', () => {
    const bad = seen.filter(([, s]) => s >= 500 && s !== 503);
    assert.deepEqual(bad, []);
    assert.ok(seen.length >= 10, `answers were seen: ${seen.length}`);
  });
});
