// Issue #16's "done when", in the lab: ten live calls through the trunk — three Chromium agents,
// two Firefox agents, a baresip desk phone and four webrtc-rs agents (`callbase agent-calls`), every
// call recorded and echoed by the carrier's 9996 (which records what it hears) — go through
//   1. a rolling restart of both server replicas (SIGTERM, start again; the second one holds the
//      Stasis lease and the browsers' /sip sockets): no call drops;
//   2. a `kill -9` of the Stasis lease holder: the other replica holds the lease within 5 s and
//      adopts the calls; the browsers come back through it; every call keeps audio both ways —
//      tone detection in each browser (the echoed tone) and in baresip (what it hears), and at the
//      carrier (the last seconds of each call's recording, all after the takeover);
//   3. hang-ups, half by the agents and half by the carrier: both legs end;
// with hold/resume and a blind transfer on adopted calls before the agents' hang-ups;
// and then every record is closed with its true talk time (within 1 s of the carrier's), every
// recording reaches S3 and neither Asterisk has a channel left.
//
// The webrtc-rs agents speak SIP straight to Asterisk's WebSocket with their users' phone
// credentials (the synthetic agent does not reconnect through another replica the way the browser
// phone does); their calls run through the Stasis app like every other. Their audio is judged at
// the carrier only: webrtc-rs 0.21 does not follow the recorder's new RTP source (issue #23).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import {
  assertRecordingHolds,
  baresipCtrl,
  callEcho,
  callState,
  carrierAmi,
  carrierMonitorDir,
  env,
  goertzel,
  launch,
  openApp,
  platformAmi,
  readWav,
  regState,
  remoteTone,
  rtp,
  sleep,
  startBaresip,
  tenantWithTrunk,
  until,
  waitRegistered,
} from './lab.mjs';
import { alive, leasesOnReplica1, replicaDown, replicaPid, replicaUp, stasisHolderPid, stat } from './replicas.mjs';

const TONE = 1000;
const NUMBER = '9996';
const PASSWORD = 'Agent-pass-12345';
const BROWSERS = [
  ['chromium', 'c1', 'agent'],
  ['chromium', 'c2', 'carrier'],
  ['chromium', 'c3', 'agent'],
  ['firefox', 'f1', 'agent'],
  ['firefox', 'f2', 'carrier'],
];

/** Channels on an Asterisk (AMI CoreShowChannels), the health probe's own calls left out. */
async function channels(ami) {
  const items = ami.collect((m) => m.Event === 'CoreShowChannel');
  const done = ami.waitEvent((m) => m.Event === 'CoreShowChannelsComplete', 5000);
  await ami.action('CoreShowChannels');
  await done;
  items.stop();
  return items.events.map((m) => m.Channel).filter((c) => !/callbase-probe/.test(c));
}

/** `callbase agent-calls`: webrtc-rs agents of the tenant, one call each, JSON lines on stdout. */
function agentCalls(tenant, n) {
  const proc = spawn(
    env('CALLBASE_E2E_APP_BIN'),
    ['agent-calls', '--tenant', String(tenant), '--agents', String(n), '--number', NUMBER, '--direct', '--max-secs', '400'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const events = [];
  readline.createInterface({ input: proc.stdout }).on('line', (l) => {
    try {
      events.push(JSON.parse(l));
    } catch {
      console.log(`[agent-calls] ${l}`);
    }
  });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  return { proc, events, stderr: () => err, tell: (line) => proc.stdin.write(`${line}\n`) };
}

/** The echo level the browser hears is its own tone. */
async function assertBrowserHearsTone(call, what) {
  const before = await rtp(call.page);
  const got = await remoteTone(call.page, TONE, 1500);
  const after = await rtp(call.page);
  assert.ok(after.received > before.received + 40, `${call.who}: inbound RTP goes on ${what}: ${JSON.stringify({ before, after })}`);
  assert.ok(after.sent > before.sent + 40, `${call.who}: outbound RTP goes on ${what}: ${JSON.stringify({ before, after })}`);
  assert.ok(got.tone > 20 * got.other, `${call.who} hears the echoed ${TONE} Hz tone ${what}: ${JSON.stringify(got)}`);
  assert.equal(await callState(call.page), 'answered', `${call.who}: the call is still shown`);
}

/** The last `secs` of what baresip hears (its sndfile dump) hold its echoed tone. */
function assertDeskHearsTone(dir, what) {
  const file = fs.readdirSync(dir).filter((f) => f.endsWith('-dec.wav')).map((f) => path.join(dir, f))[0];
  assert.ok(file, `baresip dumps what it hears into ${dir}`);
  const { rate, samples } = readWav(file);
  const tail = samples.slice(Math.max(0, samples.length - 2 * rate));
  const tone = goertzel(tail, rate, TONE);
  const other = goertzel(tail, rate, 440) + goertzel(tail, rate, 1700);
  assert.ok(tail.length >= rate && tone > 20 * other, `the desk phone hears the echoed tone ${what}: ${tone.toExponential(2)} vs ${other.toExponential(2)} (${tail.length} samples)`);
}

describe('ten live calls through a rolling restart and a kill -9 of the Stasis lease holder', () => {
  let t;
  let carrier;
  let platform;
  let chromium;
  let firefox;
  let desk;
  let webrtc;
  const calls = []; // { kind, who, page?, channel, hangup: 'agent'|'carrier' }
  const carrierUp = new Map();
  const carrierGone = new Map();
  const uniqueid = new Map();
  const extensions = {};

  before(async () => {
    t = await tenantWithTrunk();
    carrier = await carrierAmi();
    platform = await platformAmi();
    carrier.collect((m) => {
      if (m.Event === 'Newchannel' && m.Exten === NUMBER) uniqueid.set(m.Channel, m.Uniqueid);
      if (m.Event === 'Newstate' && m.ChannelStateDesc === 'Up' && !carrierUp.has(m.Channel)) carrierUp.set(m.Channel, m.at);
      if (m.Event === 'Hangup') carrierGone.set(m.Channel, m.at);
      return false;
    });
    const user = async (login, extra = {}) => {
      const u = await t.api.ok('POST', '/api/users', { login, name: `Agent ${login}`, email: `${login}@example.com`, password: PASSWORD, group_ids: [] });
      return t.api.ok('POST', '/api/telephony/users', { user_id: u.id, accept_incoming: false, ...extra });
    };
    for (const [, who] of BROWSERS) extensions[who] = (await user(who)).extension;
    const dora = await user('desk', { browser_calls: false });

    chromium = await launch('chromium', TONE);
    firefox = await launch('firefox', TONE);
    for (const [kind, who, hangup] of BROWSERS) {
      const ctx = await (kind === 'chromium' ? chromium : firefox).createBrowserContext();
      const { page } = await openApp({ defaultBrowserContext: () => ctx }, t.account, who, PASSWORD);
      await waitRegistered(page, 20000);
      calls.push({ kind, who, page, hangup });
    }
    desk = startBaresip(dora.sip_login, dora.sip_password, { dump: true });
    await until('baresip online', async () => {
      const list = await t.api.ok('GET', '/api/telephony/users');
      return list.find((x) => x.user_id === dora.user_id)?.online.desk;
    }, 20000, 300);
  });

  after(async () => {
    // Every step runs even if one fails: a browser left open keeps the test file from exiting.
    const steps = [
      () => webrtc?.proc.kill('SIGTERM'),
      () => desk?.proc.kill('SIGTERM'),
      () => carrier?.action('Hangup', { Channel: '/^PJSIP\\//' }),
      () => carrier?.close(),
      () => platform?.close(),
      () => chromium?.close(),
      () => firefox?.close(),
      () => t?.removeTrunk(),
      ...[1, 2].map((n) => () => alive(replicaPid(n)) || replicaUp(n)),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch((e) => console.log(`[cleanup] ${e.message}`));
  });

  it('ten calls are up: browsers, a desk phone and webrtc-rs agents', async () => {
    await leasesOnReplica1();
    for (const c of calls) c.channel = await callEcho(c.page, carrier, NUMBER);
    const deskChan = carrier.waitEvent((m) => m.Event === 'Newchannel' && m.Exten === NUMBER, 15000);
    await baresipCtrl('dial', NUMBER);
    calls.push({ kind: 'baresip', who: 'desk', channel: (await deskChan).Channel, hangup: 'carrier' });

    const before = new Set(uniqueid.keys());
    webrtc = agentCalls(t.me.tenant.id, 4);
    await until('four webrtc-rs calls at the carrier', async () => [...uniqueid.keys()].filter((c) => !before.has(c)).length === 4, 30000, 200)
      .catch((e) => { throw new Error(`${e.message}\n${webrtc.stderr()}`); });
    [...uniqueid.keys()].filter((c) => !before.has(c)).forEach((channel, i) =>
      calls.push({ kind: 'webrtc-rs', who: null, channel, hangup: i < 2 ? 'carrier' : 'agent' }));

    assert.equal(calls.length, 10);
    await until('all ten answered at the carrier', async () => calls.every((c) => carrierUp.has(c.channel)), 20000, 200);
    const open = await until('ten answered, open call records', async () => {
      const r = await t.api.ok('GET', '/api/calls?per_page=50');
      const live = r.items.filter((x) => x.answered_at && !x.ended_at);
      // The recorder joins just after the answer: wait for it too.
      return live.length === 10 && live.every((x) => x.recording?.state === 'recording') && live;
    }, 20000, 300).catch(async (e) => {
      const r = await t.api.ok('GET', '/api/calls?per_page=50');
      throw new Error(`${e.message}: ${JSON.stringify(r.items.map((x) => x.recording))}`);
    });
    assert.ok(open.every((x) => x.recording?.state === 'recording'), `every call is recorded: ${JSON.stringify(open.map((x) => x.recording))}`);
  });

  it('a rolling restart of both replicas drops none of them', async () => {
    // Replica 2 first (no sockets, no leases), then replica 1: its /sip sockets and the Stasis
    // lease move to replica 2, which adopts the ten calls.
    replicaDown(2);
    replicaUp(2);
    await until('replica 2 is up in HAProxy', async () => (await stat('r2', 'status')) === 'UP', 10000);
    const r1 = replicaPid(1);
    process.kill(r1, 'SIGTERM');
    for (const c of calls.filter((x) => x.page)) await waitRegistered(c.page, 20000);
    await until('replica 1 exits', async () => !alive(r1), 10000);
    await until('replica 2 holds the Stasis lease', async () => stasisHolderPid() === replicaPid(2), 10000, 250);
    replicaUp(1);
    await until('replica 1 is up in HAProxy', async () => (await stat('r1', 'status')) === 'UP', 10000);
    assert.deepEqual(calls.filter((c) => carrierGone.has(c.channel)).map((c) => c.who ?? c.channel), [], 'no call was dropped');
    assert.deepEqual(webrtc.events.filter((e) => e.event === 'ended'), [], 'no webrtc-rs call ended');
    for (const c of calls.filter((x) => x.page)) await assertBrowserHearsTone(c, 'after the rolling restart');
  });

  it('kill -9 of the Stasis lease holder: the other replica takes over within 5 s and every call keeps audio both ways', async () => {
    const holder = replicaPid(2);
    assert.equal(stasisHolderPid(), holder, 'replica 2 holds the Stasis lease and the browsers\' sockets');
    const killed = Date.now();
    process.kill(holder, 'SIGKILL');
    await until('replica 1 holds the Stasis lease', async () => stasisHolderPid() === replicaPid(1), 8000, 100);
    const takeover = Date.now() - killed;
    console.log(`# kill -9 → the other replica holds the Stasis lease in ${takeover} ms`);
    assert.ok(takeover <= 5000, `taken over in ${takeover} ms`);
    for (const c of calls.filter((x) => x.page)) {
      await until(`${c.who} registered again`, async () => (await regState(c.page)) === 'registered', 20000);
    }
    replicaUp(2);
    // Audio after the takeover, at both ends. The carrier's end is judged on its recordings once the
    // calls ended (their last seconds are all after this point).
    await sleep(1000);
    for (const c of calls.filter((x) => x.page)) await assertBrowserHearsTone(c, 'after the takeover');
    assertDeskHearsTone(desk.dir, 'after the takeover');
    assert.deepEqual(calls.filter((c) => carrierGone.has(c.channel)).map((c) => c.who ?? c.channel), [], 'no call was dropped');
    await sleep(2000);
  });

  it('half hung up by the agents, half by the carrier: both legs end', async () => {
    const gone = (c) => carrierGone.has(c.channel);
    for (const c of calls.filter((x) => x.hangup === 'carrier')) {
      const r = await carrier.action('Hangup', { Channel: c.channel });
      assert.equal(r.Response, 'Success', `${c.who ?? c.channel}: ${JSON.stringify(r)}`);
      if (c.page) {
        await until(`${c.who}: the call ends in the browser`, async () => [null, 'ended'].includes(await callState(c.page)), 8000);
      }
      await sleep(300);
    }
    // The webrtc-rs agents the carrier hung up on say so; the other two hang up themselves.
    const farEnd = await until('two webrtc-rs agents saw the carrier hang up', async () => {
      const e = webrtc.events.filter((x) => x.event === 'ended');
      return e.length === 2 && e;
    }, 10000, 200);
    for (const e of farEnd) assert.match(e.report.error ?? '', /far end hung up/, JSON.stringify(e));

    // The adopted calls are still controlled: hold and resume, and a blind transfer to an agent
    // whose call the carrier just ended.
    const c1 = calls.find((c) => c.who === 'c1');
    const moh = platform.collect((m) => m.Event === 'MusicOnHoldStart' || m.Event === 'MusicOnHoldStop');
    await c1.page.click('[data-testid=phone-hold]');
    await until('c1 holds: the carrier gets music on hold', async () => moh.events.some((m) => m.Event === 'MusicOnHoldStart'), 8000);
    await c1.page.click('[data-testid=phone-hold]');
    await until('c1 resumes: the music stops', async () => moh.events.some((m) => m.Event === 'MusicOnHoldStop'), 8000);
    moh.stop();
    await assertBrowserHearsTone(c1, 'after hold and resume');
    const c3 = calls.find((c) => c.who === 'c3');
    const c2 = calls.find((c) => c.who === 'c2').page;
    await c3.page.type('[data-testid=phone-transfer-target]', String(extensions.c2));
    await c3.page.click('[data-testid=phone-transfer]');
    await c2.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
    await c2.click('[data-testid=phone-answer]');
    await until('c2 has the transferred call', async () => (await callState(c2)) === 'answered', 10000);
    await until("c3's part ended", async () => !(await c3.page.$('[data-testid=phone-call]')), 10000);
    await sleep(1500);
    Object.assign(c3, { page: c2, who: 'c2 (transferred from c3)' });
    await assertBrowserHearsTone(c3, 'after the transfer');
    const rest = ['lg1', 'lg2', 'lg3', 'lg4'].filter((l) => !farEnd.some((e) => e.login === l));
    for (const c of calls.filter((x) => x.hangup === 'agent')) {
      if (c.page) await c.page.click('[data-testid=phone-hangup]');
      else webrtc.tell(`hangup ${rest.pop()}`);
      await sleep(300);
    }
    await until("every agent's hang-up ended the carrier's leg", async () => calls.filter((x) => x.hangup === 'agent').every(gone), 5000, 50)
      .catch((e) => { throw new Error(`${e.message}\nagent-calls: ${JSON.stringify(webrtc.events)}\n${webrtc.stderr()}`); });
    await until('every carrier leg ended', async () => calls.every(gone), 5000, 100);
    await until('every webrtc-rs agent ended its call', async () => webrtc.events.filter((x) => x.event === 'ended').length === 4, 5000, 100);
    await until('neither Asterisk has a channel left', async () => {
      const left = [...(await channels(platform)), ...(await channels(carrier))];
      return left.length === 0 || (console.log(`# left: ${left.join(' ')}`), false);
    }, 10000, 500);
  });

  it('every record has its true talk time, every recording is in S3, the carrier heard every agent after the takeover', async () => {
    const done = await until('ten closed records with stored recordings', async () => {
      const r = await t.api.ok('GET', '/api/calls?per_page=50');
      const items = r.items.filter((x) => x.answered_at);
      return items.length === 10 && items.every((x) => x.ended_at && x.recording?.state === 'stored') && items;
    }, 60000, 500);
    const ours = done.map((x) => (Date.parse(x.ended_at) - Date.parse(x.answered_at)) / 1000).sort((a, b) => a - b);
    const carriers = calls.map((c) => (carrierGone.get(c.channel) - carrierUp.get(c.channel)) / 1000).sort((a, b) => a - b);
    // Sorted against sorted: the pairing that keeps the largest difference smallest.
    ours.forEach((s, i) => assert.ok(Math.abs(s - carriers[i]) < 1.0, `talk times: ours ${JSON.stringify(ours)} vs the carrier's ${JSON.stringify(carriers)}`));
    for (const c of calls) {
      const file = path.join(carrierMonitorDir(), `carrier-${uniqueid.get(c.channel)}-rx.wav`);
      await assertRecordingHolds(file, c.kind === 'webrtc-rs' ? null : TONE);
    }
  });
});

