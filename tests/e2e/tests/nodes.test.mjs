// Two platform Asterisk nodes (issue #17), each in a network namespace of its own (cb-e2e-n1 at
// 10.77.1.2, cb-e2e-n2 at 10.77.2.2: tests/e2e/run), with the Kamailio SIP edge in front of them
// (10.77.0.1:5065) and the carrier. Tenant A is on node1, tenant B on node2; each has a browser
// agent (Chromium, through the server's /sip relay) and a baresip desk phone registered through the
// edge, and a trunk to the carrier with its own credential.
//   1. Each tenant's browser and desk phone call out through their trunk and take a carrier call,
//      with audio both ways (the carrier's recording holds the phone's tone; the phone hears the
//      carrier's echo), and every call runs on the tenant's node.
//   2. Each node knows only its tenant's endpoints, registrations and contacts.
//   3. B moves to node1 during a live call: the call goes on to its end on node2; B's next call
//      runs on node1.
//   4. node1 is killed (SIGKILL): A's trunk is registered from node2 within 60 s, A's browser phone
//      within 30 s, A's desk phone at its next registration through the edge; A's next calls, out
//      and in, have audio.
// The lab's first node, main, takes no new tenant meanwhile (draining); node1 and node2 are opened
// for the test and closed again after it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Ami,
  assertCallGoesOn,
  assertCarrierHeard,
  callEcho,
  callState,
  carrierAmi,
  env,
  goertzel,
  launch,
  LAB_ADDR,
  newTenant,
  openApp,
  readWav,
  remoteLevel,
  rtp,
  sleep,
  sqlValue,
  startBaresip,
  until,
  waitRegistered,
} from './lab.mjs';

const TONE = 1000;
const EDGE = env('CALLBASE_E2E_EDGE');
const ADDR = { node1: env('CALLBASE_E2E_NODE1_ADDR'), node2: env('CALLBASE_E2E_NODE2_ADDR') };
const AMI_PORT = env('CALLBASE__ASTERISK__AMI_ADDR').split(':')[1];
const LAB_SH = new URL('../lab.sh', import.meta.url).pathname;

const cli = (...args) => execFileSync(env('CALLBASE_E2E_APP_BIN'), args, { encoding: 'utf8', env: { ...process.env, RUST_LOG: 'warn' } });
const labSh = (...args) => execFileSync('bash', [LAB_SH, ...args], { env: { ...process.env, APP_BIN: env('CALLBASE_E2E_APP_BIN') }, stdio: 'inherit' });
const nodeOf = (tenantId) => sqlValue(`SELECT node_id FROM tenants WHERE id = ${Number(tenantId)}`);
const nodeAmi = (node) => Ami.connect(`${ADDR[node]}:${AMI_PORT}`, env('CALLBASE__ASTERISK__AMI_USER'), env('CALLBASE__ASTERISK__AMI_SECRET'));

/**
 * Whether the node's Asterisk finds the PJSIP endpoint: AMI PJSIPShowEndpoint asks sorcery, that is
 * the realtime rows the node's database role may read (ARI's endpoint list would also show an
 * endpoint the node once loaded, as chan_pjsip keeps a state object for it).
 */
async function knowsEndpoint(node, id) {
  const ami = await nodeAmi(node);
  try {
    const r = await ami.action('PJSIPShowEndpoint', { Endpoint: id });
    if (r.Response !== 'Success' && !/Unable to retrieve endpoint/.test(r.Message ?? '')) throw new Error(`AMI of ${node}: ${JSON.stringify(r)}`);
    return r.Response === 'Success';
  } finally {
    ami.close();
  }
}

/** The node's outbound registrations that are registered, and its phones' contacts (AMI). */
async function nodeView(node) {
  const ami = await nodeAmi(node);
  try {
    const regs = await ami.list('PJSIPShowRegistrationsOutbound');
    const contacts = await ami.list('PJSIPShowContacts');
    return {
      registered: regs.filter((m) => m.Event === 'OutboundRegistrationDetail' && m.Status === 'Registered').map((m) => m.ObjectName),
      // A contact's id is `<aor>;@<hash>`.
      contacts: contacts.filter((m) => m.Event === 'ContactList').map((m) => ({ aor: (m.ObjectName ?? '').split(';@')[0], uri: m.Uri, path: m.Path ?? '' })),
    };
  } finally {
    ami.close();
  }
}

/** The newest call record of a tenant: `direction|result|answered|node`. */
function lastCall(tenantId) {
  return sqlValue(
    `SELECT direction || '|' || coalesce(result, '') || '|' || (answered_at IS NOT NULL) || '|' || coalesce(node, '') FROM calls WHERE tenant_id = ${Number(tenantId)} ORDER BY started_at DESC LIMIT 1`,
  );
}

/** The newest of baresip's dumps of what it hears holds the echoed tone in its last 2 s. */
function assertDeskHearsTone(dir, what) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('-dec.wav')).map((f) => path.join(dir, f));
  files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  assert.ok(files[0], `baresip dumps what it hears into ${dir}`);
  const { rate, samples } = readWav(files[0]);
  const tail = samples.slice(Math.max(0, samples.length - 2 * rate));
  const tone = goertzel(tail, rate, TONE);
  const other = goertzel(tail, rate, 440) + goertzel(tail, rate, 1700);
  assert.ok(tail.length >= rate && tone > 20 * other, `the desk phone hears the echoed tone ${what}: ${tone.toExponential(2)} vs ${other.toExponential(2)}`);
}

async function hangupPage(page) {
  const b = await page.$('[data-testid=phone-hangup]');
  if (b) await b.click();
  await until('call ended in the page', async () => !(await page.$('[data-testid=phone-call]')), 10000);
}

/**
 * A tenant on `node` with a trunk to the carrier (its own credential `who`: tenant-a, tenant-b), the
 * carrier's test numbers as short numbers, its admin in Chromium and a desk user on baresip
 * registered through the edge.
 */
async function tenantOn(node, who, did, { port, ctrlPort }) {
  // Placed on `node` as a new tenant, the other nodes draining: no other node ever loads its rows.
  for (const n of ['main', 'node1', 'node2']) cli('node', 'state', n, n === node ? 'live' : 'draining');
  const t = await newTenant();
  assert.equal(nodeOf(t.me.tenant.id), node, `the new tenant is placed on ${node}`);
  t.node = node;
  t.id = t.me.tenant.id;
  t.did = did;
  t.carrierUser = env(`CALLBASE_CARRIER_TENANT_${who}_USER`);
  const rules = await t.api.ok('GET', '/api/telephony/dial-rules');
  await t.api.ok('PUT', '/api/telephony/dial-rules', { ...rules, short_rules: ['_999X'] });
  t.trunk = await t.api.ok('POST', '/api/trunks', {
    mode: 'extended',
    label: `Carrier ${who}`,
    number: did,
    username: t.carrierUser,
    password: env(`CALLBASE_CARRIER_TENANT_${who}_PASSWORD`),
    domain: `${LAB_ADDR}:5070`,
  });
  await until(`${who}: trunk registered`, async () => {
    const list = await t.api.ok('GET', '/api/trunks');
    return list.find((x) => x.id === t.trunk.id)?.status.state === 'registered';
  }, 30000, 300);
  const u = await t.api.ok('POST', '/api/users', { login: 'dora', name: 'Dora Desk', email: 'dora@example.com', password: 'Agent-pass-12345', group_ids: [] });
  t.desk = await t.api.ok('POST', '/api/telephony/users', { user_id: u.id, browser_calls: false });
  t.browser = await launch('chromium', TONE);
  t.page = (await openApp(t.browser, t.account, 'boss', t.password)).page;
  await waitRegistered(t.page, 20000);
  t.startDesk = () => {
    t.phone = startBaresip(t.desk.sip_login, t.desk.sip_password, { registrar: EDGE, port, ctrlPort, dump: true });
  };
  t.startDesk();
  await until(`${who}: desk phone registered through the edge`, async () => {
    const list = await t.api.ok('GET', '/api/telephony/users');
    return list.find((x) => x.user_id === t.desk.user_id)?.online.desk;
  }, 20000, 300).catch((e) => {
    throw new Error(`${e.message}\nbaresip log:\n${t.phone.log().slice(-3000)}`);
  });
  t.webId = `t${t.id}-w${t.adminId}`;
  return t;
}

/** Which phone takes the tenant's inbound calls: 'browser' or 'desk' (the other one does not ring). */
async function ringOnly(t, which) {
  await t.api.ok('PATCH', `/api/telephony/users/${t.adminId}`, { accept_incoming: which === 'browser' });
  await t.api.ok('PATCH', `/api/telephony/users/${t.desk.user_id}`, { accept_incoming: which === 'desk' });
}

/** The carrier calls the tenant's DID; its dialplan runs the recording echo (9996) once answered. */
async function carrierCalls(carrier, t) {
  const r = await carrier.action('Originate', {
    Channel: `PJSIP/${t.did}@${t.carrierUser}`,
    Context: 'carrier-test',
    Exten: '9996',
    Priority: '1',
    Async: 'true',
    CallerID: '79161234567',
  });
  assert.equal(r.Response, 'Success', `carrier originate: ${JSON.stringify(r)}`);
}

async function hangupCarrier(carrier) {
  await carrier.action('Hangup', { Channel: '/^PJSIP\\//' });
}

describe('two Asterisk nodes, each in its own namespace, behind the Kamailio edge', () => {
  let carrier;
  let A;
  let B;
  const timings = [];

  /** Browser calls out (the recording echo), then the desk phone; then both take a carrier call. */
  async function callsBothWays(t, what) {
    const node = () => t.node;
    // The browser calls out: the carrier records the browser's tone, the browser hears the echo.
    let recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    await callEcho(t.page, carrier, '9996');
    await sleep(4000);
    const s = await rtp(t.page);
    assert.ok(s.received > 50 && s.sent > 50, `${what}: browser RTP both ways ${JSON.stringify(s)}`);
    assert.ok((await remoteLevel(t.page)) > 0.01, `${what}: the browser hears the carrier's echo`);
    await hangupPage(t.page);
    await assertCarrierHeard(recs, TONE);
    recs.stop();
    await until(`${what}: browser call out recorded on ${node()}`, async () => lastCall(t.id) === `outbound|answered|true|${node()}`, 10000, 300);

    // The desk phone calls out through the edge.
    recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    await t.phone.ctrl('dial', '9996');
    await until(`${what}: desk call out answered`, async () => lastCall(t.id).startsWith('outbound||true|'), 15000, 300);
    await sleep(4000);
    await t.phone.ctrl('hangup');
    await sleep(500);
    await hangupCarrier(carrier);
    await assertCarrierHeard(recs, TONE);
    recs.stop();
    assertDeskHearsTone(t.phone.dir, `${what}, calling out`);
    await until(`${what}: desk call out recorded on ${node()}`, async () => lastCall(t.id) === `outbound|answered|true|${node()}`, 10000, 300);

    // The carrier calls the browser.
    await ringOnly(t, 'browser');
    recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    await carrierCalls(carrier, t);
    await t.page.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
    await t.page.click('[data-testid=phone-answer]');
    await until(`${what}: inbound call answered in the browser`, async () => (await callState(t.page)) === 'answered', 10000);
    await sleep(4000);
    const i = await rtp(t.page);
    assert.ok(i.received > 50 && i.sent > 50, `${what}: inbound browser RTP both ways ${JSON.stringify(i)}`);
    assert.ok((await remoteLevel(t.page)) > 0.01, `${what}: the browser hears the carrier's echo`);
    await hangupPage(t.page);
    await assertCarrierHeard(recs, TONE);
    recs.stop();
    await until(`${what}: browser call in recorded on ${node()}`, async () => lastCall(t.id) === `inbound|answered|true|${node()}`, 10000, 300);

    // The carrier calls the desk phone (through the edge, by the Path of its registration).
    await ringOnly(t, 'desk');
    recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    await carrierCalls(carrier, t);
    await until(`${what}: inbound call answered by the desk phone`, async () => lastCall(t.id).startsWith('inbound||true|'), 15000, 300);
    await sleep(4000);
    await t.phone.ctrl('hangup');
    await sleep(500);
    await hangupCarrier(carrier);
    await assertCarrierHeard(recs, TONE);
    recs.stop();
    assertDeskHearsTone(t.phone.dir, `${what}, called by the carrier`);
    await until(`${what}: desk call in recorded on ${node()}`, async () => lastCall(t.id) === `inbound|answered|true|${node()}`, 10000, 300);
    await ringOnly(t, 'browser');
  }

  before(async () => {
    carrier = await carrierAmi();
    A = await tenantOn('node1', 'A', '4957770011', { port: 5082, ctrlPort: 4445 });
    B = await tenantOn('node2', 'B', '4957770022', { port: 5084, ctrlPort: 4446 });
    // Both nodes take tenants from now on (the watcher fails node1 over to node2), main none.
    cli('node', 'state', 'node1', 'live');
  });

  after(async () => {
    for (const t of [A, B]) {
      if (process.env.CALLBASE_E2E_VERBOSE) console.log(t?.phone?.log());
      t?.phone?.proc.kill('SIGTERM');
      await t?.browser?.close();
      if (t?.trunk) await t.api.ok('DELETE', `/api/trunks/${t.trunk.id}`).catch(() => undefined);
    }
    carrier?.close();
    // node1 back (killed by the last test), and the lab's placement as before: main takes the
    // tenants of the other suites.
    try {
      labSh('node', '1', 'up');
    } catch (e) {
      console.log(`# node1 did not start again: ${e.message}`);
    }
    cli('node', 'state', 'main', 'live');
    cli('node', 'state', 'node1', 'draining');
    cli('node', 'state', 'node2', 'draining');
    for (const l of timings) console.log(`# ${l}`);
  });

  it("each tenant's browser and desk phone call out and take a carrier call on the tenant's node, with audio both ways", async () => {
    await callsBothWays(A, 'A on node1');
    await callsBothWays(B, 'B on node2');
  });

  it("each node knows only its tenant's endpoints, registrations and contacts", async () => {
    for (const [mine, other] of [[A, B], [B, A]]) {
      for (const [t, known] of [[mine, true], [other, false]]) {
        for (const id of [t.webId, t.desk.sip_login]) {
          assert.equal(await knowsEndpoint(mine.node, id), known, `${mine.node} knows ${id}: expected ${known}`);
        }
      }
      const v = await nodeView(mine.node);
      assert.ok(v.registered.some((r) => r.startsWith(`t${mine.id}-`)), `${mine.node} registers its tenant's trunk: ${JSON.stringify(v.registered)}`);
      assert.ok(!v.registered.some((r) => r.startsWith(`t${other.id}-`)), `${mine.node} registers no trunk of the other tenant: ${JSON.stringify(v.registered)}`);
      assert.ok(v.contacts.some((c) => c.aor === mine.webId), `${mine.node} holds its browser's contact: ${JSON.stringify(v.contacts)}`);
      const desk = v.contacts.find((c) => c.aor === mine.desk.sip_login);
      assert.ok(desk, `${mine.node} holds its desk phone's contact: ${JSON.stringify(v.contacts)}`);
      assert.ok(desk.path.includes(EDGE), `the desk phone's contact has the edge's Path: ${JSON.stringify(desk)}`);
      assert.ok(!v.contacts.some((c) => c.aor === other.webId || c.aor === other.desk.sip_login), `${mine.node} holds none of the other tenant's contacts: ${JSON.stringify(v.contacts)}`);
    }
  });

  it("moving B to node1 during a live call: the call goes on to its end on node2, B's next call runs on node1", async () => {
    await callEcho(B.page, carrier, '9999');
    await until('the live call is recorded on node2', async () => lastCall(B.id) === 'outbound||true|node2', 5000, 200);
    const before = await rtp(B.page);
    const moved = Date.now();
    cli('node', 'move', String(B.id), 'node1');
    B.node = 'node1';
    assert.equal(nodeOf(B.id), 'node1');
    await assertCallGoesOn(B.page, 'chromium', before, 'after the move');
    // The trunk registers from node1 meanwhile, and node2 lets it go.
    await until("B's trunk registered from node1", async () => (await nodeView('node1')).registered.some((r) => r.startsWith(`t${B.id}-`)), 30000, 1000);
    timings.push(`move: B's trunk registered from node1 ${Date.now() - moved} ms after the move`);
    const still = await rtp(B.page);
    assert.ok(still.received > before.received + 100, `the call still has media: ${JSON.stringify({ before, still })}`);
    assert.equal(await callState(B.page), 'answered');
    await hangupPage(B.page);
    await until('the moved call ended, recorded on node2', async () => lastCall(B.id) === 'outbound|answered|true|node2', 10000, 300);
    // The idle phone is moved (1012 node_moved) and registers on node1.
    await until("B's browser registered on node1", async () => (await nodeView('node1')).contacts.some((c) => c.aor === B.webId), 20000, 500);
    timings.push(`move: B's browser registered on node1 ${Date.now() - moved} ms after the move`);
    await waitRegistered(B.page, 10000);
    // B's next call runs on node1, with audio both ways.
    const recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    await callEcho(B.page, carrier, '9996');
    await sleep(4000);
    assert.ok((await remoteLevel(B.page)) > 0.01, "B's next call: the browser hears the echo");
    await hangupPage(B.page);
    await assertCarrierHeard(recs, TONE);
    recs.stop();
    await until("B's next call recorded on node1", async () => lastCall(B.id) === 'outbound|answered|true|node1', 10000, 300);
  });

  it("killing node1: A's trunk is registered from node2 within 60 s, A's browser phone within 30 s, its desk phone at its next registration; A's next calls have audio", async () => {
    const killed = Date.now();
    labSh('node', '1', 'kill');
    let trunkAt;
    let browserAt;
    await until("A's trunk and browser phone registered on node2", async () => {
      const v = await nodeView('node2');
      if (!trunkAt && v.registered.some((r) => r.startsWith(`t${A.id}-`))) trunkAt = Date.now();
      if (!browserAt && v.contacts.some((c) => c.aor === A.webId)) browserAt = Date.now();
      return trunkAt && browserAt;
    }, 60000, 500);
    timings.push(`kill: A's trunk registered from node2 ${trunkAt - killed} ms after the kill`);
    timings.push(`kill: A's browser phone registered on node2 ${browserAt - killed} ms after the kill`);
    assert.equal(nodeOf(A.id), 'node2', 'A was moved to node2');
    assert.ok(trunkAt - killed <= 60000, `A's trunk within 60 s: ${trunkAt - killed} ms`);
    assert.ok(browserAt - killed <= 30000, `A's browser phone within 30 s: ${browserAt - killed} ms`);
    await waitRegistered(A.page, 10000);
    A.node = 'node2';
    // The desk phone's next registration goes through the edge to node2 (a restart of the phone
    // registers at once; by itself it would at its registration interval).
    A.phone.proc.kill('SIGTERM');
    await sleep(500);
    A.startDesk();
    await until("A's desk phone registered on node2 through the edge", async () => {
      const desk = (await nodeView('node2')).contacts.find((c) => c.aor === A.desk.sip_login);
      return desk && desk.path.includes(EDGE);
    }, 20000, 500);
    timings.push(`kill: A's desk phone registered on node2 ${Date.now() - killed} ms after the kill (restarted)`);
    await callsBothWays(A, 'A after node1 died');
  });
});
