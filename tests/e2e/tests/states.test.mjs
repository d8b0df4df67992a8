// Agent states in real browsers (issue #18): two agents of one tenant in Chromium, each with the
// phone docked. The boss goes on Break from the phone's state menu: a carrier call rings Anna only.
// Anna answers, talks and hangs up: she is in Wrap-up (the phone shows it with a countdown and a
// Ready button) and the next carrier call rings nobody. Anna presses Ready and the boss goes back to
// Available: the next call rings both. The ringing phone shows the line (DID) the call came in on.
// A supervisor (Sofia: a group with the supervisor permission whose numbers are masked) watches the
// live board in a third browser: Anna goes idle → ringing → talking (the masked caller) → wrap-up
// there within a second of her own phone. Screenshots: the state menu, the wrap-up and the board.
// Then Sofia, with her own browser phone (another tone), listens to Anna's call from the board: she
// hears Anna and Anna does not hear her; she whispers: Anna hears her; the call ends and so does
// Sofia's leg.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { BASE, callState, carrierAmi, carrierMonitorDir, env, goertzel, launch, openApp, readWav, remoteTone, screenshot, signInPage, sleep, tenantWithTrunk, until, waitRegistered, DID } from './lab.mjs';

const TONE = 1000;
/** Sofia's microphone: the tone Anna hears only when Sofia whispers or barges in. */
const SOFIA_TONE = 1500;
/** The carrier's side of the call (its 9995/9998 play it). */
const CARRIER_TONE = 440;

/** Whether `got` (remoteTone's answer) holds the tone far above the frequencies beside it. */
const hears = (got) => got.tone > 20 * got.other;

/**
 * What the carrier heard between wall-clock times `a` and `b` (its recording started at `t0`): the
 * power of Sofia's tone and of Anna's.
 */
function carrierHeard(file, t0, a, b) {
  const { rate, samples } = readWav(file);
  const seg = samples.subarray(Math.floor(((a - t0) / 1000) * rate), Math.floor(((b - t0) / 1000) * rate));
  return { sofia: goertzel(seg, rate, SOFIA_TONE), anna: goertzel(seg, rate, TONE), samples: seg.length };
}

/** Waits until the carrier's recording of a call stops growing (the call ended and it is written). */
async function recordingComplete(file) {
  let size = -1;
  await until('the carrier recording is complete', async () => {
    const now = fs.existsSync(file) ? fs.statSync(file).size : 0;
    const done = now > 44 && now === size;
    size = now;
    return done;
  }, 15000, 500);
}

/**
 * The carrier (AMI `carrier`) calls the tenant's DID from its 9995 (440 Hz, recording what it
 * hears) and `page` answers. The carrier answers its side — and starts recording — once our side is answered, which
 * is when the agent answers (issue #19: a call is answered only when something needs it). Returns
 * the carrier's recording file and when it started.
 */
async function carrierCallAnsweredBy(carrier, page) {
  const recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
  await carrierCalls(carrier, '9995');
  await page.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
  await page.click('[data-testid=phone-answer]');
  await until('the carrier records what it hears', async () => recs.events.length > 0, 15000, 20);
  const t0 = Date.now();
  recs.stop();
  await until('the agent talks', async () => (await callState(page)) === 'answered', 10000);
  return { file: path.join(carrierMonitorDir(), recs.events[0].File), t0 };
}

/** The carrier calls the tenant's DID; its side plays 440 Hz (9998, or 9995: also records what it hears). */
async function carrierCalls(ami, exten = '9998') {
  const r = await ami.action('Originate', {
    Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
    Context: 'carrier-test',
    Exten: exten,
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

/** Anna's row on the board: its state and whether she is idle, ringing or talking, and the party shown. */
const boardRow = (page, user) =>
  page
    .$eval(`[data-testid=board-agent][data-user="${user}"]`, (e) => ({
      state: e.dataset.state,
      busy: e.dataset.busy,
      number: e.querySelector('[data-testid=board-number]')?.textContent ?? null,
    }))
    .catch(() => null);

/** Waits at most 1 s for the board to show what Anna's phone has just shown. */
async function boardShows(page, user, what, check) {
  const start = Date.now();
  const row = await until(`the board shows Anna ${what} within 1 s`, async () => {
    const r = await boardRow(page, user);
    return r && check(r) ? r : null;
  }, 1000, 50);
  console.log(`# board: ${what} after ${Date.now() - start} ms`);
  return row;
}

describe('agent states: who rings', () => {
  let t;
  let carrier;
  const browsers = [];
  let boss;
  let anna;
  let annaId;
  let board;
  let sofia;

  before(async () => {
    t = await tenantWithTrunk();
    // A wrap-up long enough that only Ready ends it here.
    const s = await t.api.ok('GET', '/api/telephony/agent-settings');
    await t.api.ok('PUT', '/api/telephony/agent-settings', { ...s, wrapup_max_secs: 300 });
    await t.api.ok('PUT', '/api/telephony/routing', { ring_timeout_secs: 8, forward_number: null });
    // Agents may pause their call's recording (the phones read it when they start).
    const rec = await t.api.ok('GET', '/api/telephony/recording');
    await t.api.ok('PUT', '/api/telephony/recording', { ...rec, recording_pause_allowed: true });
    const u = await t.api.ok('POST', '/api/users', { login: 'anna', name: 'Anna Agent', email: 'anna@example.com', password: 'Agent-pass-12345', group_ids: [] });
    annaId = u.id;
    await t.api.ok('POST', '/api/telephony/users', { user_id: u.id, extension: '102' });
    // Sofia supervises; her group sees numbers masked (the CRM's masking rule).
    const leads = await t.api.ok('POST', '/api/groups', { name: 'Team leads', supervisor: true });
    sofia = await t.api.ok('POST', '/api/users', { login: 'sofia', name: 'Sofia Lead', email: 'sofia@example.com', password: 'Agent-pass-12345', group_ids: [leads.id] });
    // Her browser phone joins calls she supervises; inbound calls do not ring her.
    await t.api.ok('POST', '/api/telephony/users', { user_id: sofia.id, extension: '103', accept_incoming: false });
    const crm = await t.api.ok('GET', '/api/crm/settings');
    await t.api.ok('PUT', '/api/crm/settings', { ...crm, mask_group_ids: [leads.id], mask_mode: 'prefix', mask_chars: 7 });
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
    const sb = await launch('chromium', SOFIA_TONE);
    browsers.push(sb);
    board = await sb.defaultBrowserContext().newPage();
    board.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    await board.setViewport({ width: 1366, height: 768 });
    await signInPage(board, t.account, 'sofia', 'Agent-pass-12345');
    // A new document (the query), so the app reads the session it now has.
    await board.goto(`${BASE}/?board#/board`, { waitUntil: 'load' });
    await board.waitForSelector(`[data-testid=board-agent][data-user="${annaId}"]`, { timeout: 15000 }).catch(async (e) => {
      console.log(`# board page: ${board.url()}\n${await board.evaluate(() => document.body.innerText)}`);
      throw e;
    });
    await waitRegistered(board, 20000);
    // Her browser phone registered after the board opened: the board hears it (the /sip relay says).
    await until('the board shows Sofia online', async () => (await boardRow(board, sofia.id))?.state === 'available', 3000);
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
    await boardShows(board, annaId, 'idle and available', (r) => r.busy === 'idle' && r.state === 'available');
    await carrierCalls(carrier);
    await anna.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
    await boardShows(board, annaId, 'ringing', (r) => r.busy === 'ringing');
    // The ringing phone names the line the call came in on (the tenant's DID).
    const line = await anna.waitForSelector('[data-testid=phone-line]', { timeout: 5000 });
    assert.match(await line.evaluate((e) => e.textContent), new RegExp(DID.replace('+', '\\+')));
    await sleep(1500);
    assert.equal(await ringing(boss), false, 'the boss on a break is not rung');
    await anna.click('[data-testid=phone-answer]');
    await until('Anna talks', async () => (await anna.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
    const talking = await boardShows(board, annaId, 'talking', (r) => r.busy === 'talking');
    assert.match(talking.number ?? '', /^\*{7}\d+4567$/, `the supervisor sees the caller masked by her group: ${talking.number}`);
    assert.ok(!(await board.content()).includes('79161234567'), 'the raw number is nowhere on the board');
    // Calls are recorded by default: the board says so once the recorder has joined.
    await until('the board shows the call recorded', async () =>
      board.$eval(`[data-testid=board-agent][data-user="${annaId}"] .badge--rec`, () => true).catch(() => false), 3000);
    await sleep(1500);
    await screenshot(board, 'board');
    await anna.click('[data-testid=phone-hangup]');
  });

  it('wrap-up after the call holds the agent until Ready', async () => {
    await until("Anna's phone shows the wrap-up", async () => (await stateOf(anna)) === 'wrapup', 10000);
    await boardShows(board, annaId, 'in wrap-up', (r) => r.busy === 'idle' && r.state === 'wrapup');
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

  it('a supervisor listens, whispers and barges in from the board; each is heard by whom it should be', async () => {
    await boss.select('[data-testid=agent-state]', 'break:Lunch');
    await until('the boss is on a break', async () => (await stateOf(boss)) === 'break', 5000);
    const { file, t0 } = await carrierCallAnsweredBy(carrier, anna);
    await boardShows(board, annaId, 'talking', (r) => r.busy === 'talking');
    const row = `[data-testid=board-agent][data-user="${annaId}"]`;

    // Anna pauses the recording (a card number is read out): the board says so; she resumes.
    await until('the board shows the call recorded', async () => !!(await board.$(`${row} .badge--rec`)), 5000);
    await anna.click('[data-testid=phone-rec-pause]');
    await board.waitForSelector(`${row} [data-testid=board-rec-paused]`, { timeout: 3000 });
    await anna.click('[data-testid=phone-rec-pause]');
    await board.waitForSelector(`${row} .badge--rec`, { timeout: 3000 });

    /** Sofia joins in `mode`; returns the wall-clock time her audio is on. */
    async function join(mode) {
      await board.click(`${row} [data-testid=board-${mode}]`);
      await board.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
      await board.click('[data-testid=phone-answer]');
      await until(`Sofia's phone joins (${mode})`, async () => (await callState(board)) === 'answered', 10000);
      await sleep(1000);
      return Date.now();
    }
    async function leave() {
      const at = Date.now();
      await board.click('[data-testid=phone-hangup]');
      await until("Sofia's leg ends", async () => (await callState(board)) !== 'answered', 10000);
      assert.equal(await callState(anna), 'answered', "Anna's call goes on");
      return at;
    }
    const tones = async (page, freqs) => Object.fromEntries(await Promise.all(freqs.map(async (f) => [f, await remoteTone(page, f, 1500)])));

    // Listen: Sofia hears both parties; Anna does not hear her.
    const listenFrom = await join('listen');
    const sListen = await tones(board, [TONE, CARRIER_TONE]);
    const aListen = await remoteTone(anna, SOFIA_TONE, 1500);
    console.log(`# listen: Sofia hears ${JSON.stringify(sListen)}; Anna hears Sofia ${JSON.stringify(aListen)}`);
    assert.ok(hears(sListen[TONE]) && hears(sListen[CARRIER_TONE]), `listening, Sofia hears Anna and the carrier: ${JSON.stringify(sListen)}`);
    assert.ok(aListen.tone < 5 * aListen.other, `listening, Anna does not hear Sofia: ${JSON.stringify(aListen)}`);
    const listenTo = await leave();

    // Whisper: Anna hears Sofia; Sofia still hears both parties.
    const whisperFrom = await join('whisper');
    const aWhisper = await remoteTone(anna, SOFIA_TONE, 1500);
    const sWhisper = await tones(board, [TONE, CARRIER_TONE]);
    console.log(`# whisper: Anna hears Sofia ${JSON.stringify(aWhisper)}; Sofia hears ${JSON.stringify(sWhisper)}`);
    assert.ok(hears(aWhisper), `whispering, Anna hears Sofia's ${SOFIA_TONE} Hz: ${JSON.stringify(aWhisper)}`);
    assert.ok(hears(sWhisper[TONE]) && hears(sWhisper[CARRIER_TONE]), `whispering, Sofia hears both: ${JSON.stringify(sWhisper)}`);
    const whisperTo = await leave();

    // Barge: all three hear each other.
    const bargeFrom = await join('barge');
    const aBarge = await remoteTone(anna, SOFIA_TONE, 1500);
    const sBarge = await tones(board, [TONE, CARRIER_TONE]);
    console.log(`# barge: Anna hears Sofia ${JSON.stringify(aBarge)}; Sofia hears ${JSON.stringify(sBarge)}`);
    assert.ok(hears(aBarge), `barging in, Anna hears Sofia: ${JSON.stringify(aBarge)}`);
    assert.ok(hears(sBarge[TONE]) && hears(sBarge[CARRIER_TONE]), `barging in, Sofia hears both: ${JSON.stringify(sBarge)}`);
    const bargeTo = Date.now();
    // Anna hangs up: Sofia's leg ends with the call.
    await anna.click('[data-testid=phone-hangup]');
    await until("Sofia's leg ends with the call", async () => (await callState(board)) !== 'answered', 10000);

    // What the carrier heard: Anna throughout, Sofia only while she barged in.
    await recordingComplete(file);
    const heard = {
      listen: carrierHeard(file, t0, listenFrom, listenTo),
      whisper: carrierHeard(file, t0, whisperFrom, whisperTo),
      barge: carrierHeard(file, t0, bargeFrom, bargeTo),
    };
    console.log(`# the carrier heard: ${JSON.stringify(heard)}`);
    for (const mode of ['listen', 'whisper']) {
      const h = heard[mode];
      assert.ok(h.samples > 8000 && h.anna > 100 * h.sofia, `${mode}: the carrier hears Anna, not Sofia: ${JSON.stringify(h)}`);
    }
    assert.ok(heard.barge.sofia > heard.barge.anna / 10, `barge: the carrier hears Sofia too: ${JSON.stringify(heard.barge)}`);

    // The audit lists each (Sofia is no administrator: the tenant's admin reads it).
    const log = await t.api.ok('GET', '/api/telephony/supervisions');
    assert.deepEqual(log.slice(0, 3).map((e) => [e.mode, e.agent_name, e.supervisor_name]),
      [['barge', 'Anna Agent', 'Sofia Lead'], ['whisper', 'Anna Agent', 'Sofia Lead'], ['listen', 'Anna Agent', 'Sofia Lead']]);
    assert.deepEqual(log.slice(0, 3).map((e) => e.result), ['call ended', 'supervisor hung up', 'supervisor hung up']);
  });
});

describe('attended transfer and parking', () => {
  let t;
  let carrier;
  const browsers = [];
  let anna;
  let sofia;

  before(async () => {
    t = await tenantWithTrunk();
    await t.api.ok('PUT', '/api/telephony/routing', { ring_timeout_secs: 15, forward_number: null });
    // The boss (the tenant's admin) takes no calls here: only Anna rings.
    await t.api.ok('PATCH', `/api/telephony/users/${t.adminId}`, { accept_incoming: false });
    const a = await t.api.ok('POST', '/api/users', { login: 'anna', name: 'Anna Agent', email: 'anna@example.com', password: 'Agent-pass-12345', group_ids: [] });
    await t.api.ok('POST', '/api/telephony/users', { user_id: a.id, extension: '102' });
    const s = await t.api.ok('POST', '/api/users', { login: 'sofia', name: 'Sofia Colleague', email: 'sofia@example.com', password: 'Agent-pass-12345', group_ids: [] });
    await t.api.ok('POST', '/api/telephony/users', { user_id: s.id, extension: '103', accept_incoming: false });
    carrier = await carrierAmi();
    for (const [login, tone] of [['anna', TONE], ['sofia', SOFIA_TONE]]) {
      const b = await launch('chromium', tone);
      browsers.push(b);
      const { page } = await openApp(b, t.account, login, 'Agent-pass-12345');
      await waitRegistered(page, 20000);
      if (login === 'anna') anna = page;
      else sofia = page;
    }
  });

  after(async () => {
    carrier?.close();
    for (const b of browsers) await b.close();
    await t?.removeTrunk();
  });

  it('consult, go back, consult again, complete: the carrier ends up talking to the colleague both ways', async () => {
    const { file, t0 } = await carrierCallAnsweredBy(carrier, anna);
    const annaHears = await remoteTone(anna, CARRIER_TONE, 1500);
    assert.ok(hears(annaHears), `Anna hears the caller: ${JSON.stringify(annaHears)}`);

    /** Anna consults Sofia (picked from her colleagues); Sofia answers. Returns when they talk. */
    async function consultSofia() {
      await anna.click('[data-testid=phone-transfer-target]');
      // The picker lists Sofia with her live state.
      await until('the colleagues are loaded', async () =>
        anna.$eval('#phone-colleagues', (l) => [...l.options].some((o) => o.value === '103' && /Sofia Colleague · available/.test(o.textContent))).catch(() => false), 5000);
      // Replaces what the field holds (the last consultation's target stays in it).
      await anna.click('[data-testid=phone-transfer-target]', { clickCount: 3 });
      await anna.type('[data-testid=phone-transfer-target]', '103');
      await anna.click('[data-testid=phone-consult-start]');
      await anna.waitForSelector('[data-testid=phone-consult][data-connected=false]', { timeout: 5000 });
      await sofia.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
      await sofia.click('[data-testid=phone-answer]');
      await anna.waitForSelector('[data-testid=phone-consult][data-connected=true]', { timeout: 10000 });
      await until('Sofia talks', async () => (await callState(sofia)) === 'answered', 10000);
      await sleep(1000);
      return Date.now();
    }

    // Consult: Anna and Sofia hear each other; the caller hears neither (music on hold).
    const c1From = await consultSofia();
    const aC1 = await remoteTone(anna, SOFIA_TONE, 1500);
    const sC1 = await remoteTone(sofia, TONE, 1500);
    console.log(`# consulting: Anna hears Sofia ${JSON.stringify(aC1)}; Sofia hears Anna ${JSON.stringify(sC1)}`);
    assert.ok(hears(aC1) && hears(sC1), 'consulting, Anna and Sofia hear each other');
    await screenshot(anna, 'phone-consult');
    const c1To = Date.now();

    // Back to the caller: Sofia's leg ends, Anna hears the caller again.
    await anna.click('[data-testid=phone-consult-return]');
    await anna.waitForSelector('[data-testid=phone-transfer-target]', { timeout: 5000 });
    await until("Sofia's consultation ends", async () => (await callState(sofia)) !== 'answered', 10000);
    await sleep(1000);
    const aBack = await remoteTone(anna, CARRIER_TONE, 1500);
    assert.ok(hears(aBack), `back with the caller, Anna hears them: ${JSON.stringify(aBack)}`);
    const backFrom = Date.now();
    await sleep(1500);
    const backTo = Date.now();
    await sofia.$eval('[data-testid=phone-ended] button', (b) => b.click()).catch(() => {});

    // Consult again, then complete: Anna's call ends; the caller and Sofia hear each other.
    await consultSofia();
    await anna.click('[data-testid=phone-consult-complete]');
    await until("Anna's call ends", async () => (await callState(anna)) !== 'answered', 10000);
    await sleep(1000);
    const afterFrom = Date.now();
    const sAfter = await remoteTone(sofia, CARRIER_TONE, 1500);
    console.log(`# transferred: Sofia hears the caller ${JSON.stringify(sAfter)}`);
    assert.ok(hears(sAfter), `after the transfer Sofia hears the caller: ${JSON.stringify(sAfter)}`);
    await sleep(1000);
    const afterTo = Date.now();
    await sofia.click('[data-testid=phone-hangup]');

    await recordingComplete(file);
    const heard = {
      consulting: carrierHeard(file, t0, c1From, c1To),
      back: carrierHeard(file, t0, backFrom, backTo),
      transferred: carrierHeard(file, t0, afterFrom, afterTo),
    };
    console.log(`# the carrier heard: ${JSON.stringify(heard)}`);
    const quiet = heard.consulting;
    assert.ok(quiet.samples > 8000, 'the consultation is in the carrier recording');
    // The caller hears music on hold meanwhile (its 333 Hz note has power near 1 kHz): Anna's tone
    // is a small part of what it was (a leak would keep it whole), Sofia's is nowhere.
    assert.ok(heard.back.anna > 10 * quiet.anna && heard.transferred.sofia > 1000 * quiet.sofia,
      `while Anna consults, the caller hears neither her nor Sofia: ${JSON.stringify(heard)}`);
    assert.ok(heard.transferred.sofia > 100 * heard.transferred.anna, `after the transfer the caller hears Sofia: ${JSON.stringify(heard.transferred)}`);

    // The call record shows both agents, Sofia last.
    const calls = await t.api.ok('GET', '/api/calls?direction=inbound');
    const rec = await until('the call record ends', async () => {
      const c = (await t.api.ok('GET', `/api/calls/${calls.items[0].id}`));
      return c.ended_at ? c : null;
    }, 10000);
    assert.deepEqual(rec.agent_names, ['Anna Agent', 'Sofia Colleague']);
    assert.equal(rec.user_name, 'Sofia Colleague');
  });

  it('Anna parks a call, Sofia picks it up from her phone: the caller and Sofia hear each other', async () => {
    await until("Sofia's phone is idle", async () => (await callState(sofia)) !== 'answered', 10000);
    const { file, t0 } = await carrierCallAnsweredBy(carrier, anna);
    await sleep(500);
    await anna.click('[data-testid=phone-park]');
    const ended = await anna.waitForSelector('[data-testid=phone-ended]', { timeout: 10000 });
    assert.match(await ended.evaluate((e) => e.textContent), /parked in slot 1/);
    // Sofia's phone lists it (the caller's number, who parked it) and picks it up.
    const item = await sofia.waitForSelector('[data-testid=phone-parked-call][data-slot="1"]', { timeout: 5000 });
    assert.match(await item.evaluate((e) => e.textContent), /79161234567.*Anna Agent/);
    await screenshot(sofia, 'phone-parked');
    await sofia.click('[data-testid=phone-pickup]');
    await until('Sofia talks to the caller', async () => (await callState(sofia)) === 'answered', 10000);
    await until('the parked list empties', async () => !(await anna.$('[data-testid=phone-parked-call]')), 5000);
    await sleep(1000);
    const from = Date.now();
    const sHears = await remoteTone(sofia, CARRIER_TONE, 1500);
    console.log(`# picked up: Sofia hears the caller ${JSON.stringify(sHears)}`);
    assert.ok(hears(sHears), `Sofia hears the caller: ${JSON.stringify(sHears)}`);
    await sleep(500);
    const to = Date.now();
    await sofia.click('[data-testid=phone-hangup]');
    await recordingComplete(file);
    const heard = carrierHeard(file, t0, from, to);
    console.log(`# the carrier heard after the pickup: ${JSON.stringify(heard)}`);
    assert.ok(heard.samples > 8000 && heard.sofia > 100 * heard.anna, `the caller hears Sofia: ${JSON.stringify(heard)}`);
    const calls = await t.api.ok('GET', '/api/calls?direction=inbound');
    assert.deepEqual(calls.items[0].agent_names, ['Anna Agent', 'Sofia Colleague']);
  });
});
