// The e2e lab's toolbox: the server's API as a signed-in browser would use it, AMI clients for the
// platform and the carrier, real Chromium / Firefox ESR through puppeteer-core, and audio checks
// (Goertzel on WAV files). Everything runs inside the lab's network namespace (tests/e2e/run).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export { env, BASE, LAB_ADDR, sleep, until } from './base.mjs';
import { env, BASE, LAB_ADDR, sleep, until } from './base.mjs';
export { Ami, carrierAmi, platformAmi } from './ami.mjs';

/** A cookie-keeping API client, like the web app (CSRF header from the cb_csrf cookie). */
export class Api {
  constructor() {
    this.cookies = new Map();
  }
  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  keep(res) {
    for (const c of res.headers.getSetCookie?.() ?? []) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      this.cookies.set(kv.slice(0, i), kv.slice(i + 1));
    }
  }
  async req(method, p, body) {
    if (method !== 'GET' && !this.cookies.get('cb_csrf')) await this.req('GET', '/api/auth/csrf');
    const res = await fetch(BASE + p, {
      method,
      headers: {
        'content-type': 'application/json',
        origin: BASE,
        cookie: this.cookieHeader(),
        ...(method !== 'GET' ? { 'x-csrf-token': this.cookies.get('cb_csrf') ?? '' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    this.keep(res);
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: json, text, headers: res.headers };
  }
  async ok(method, p, body, want = [200, 201, 202, 204]) {
    const r = await this.req(method, p, body);
    if (!want.includes(r.status)) throw new Error(`${method} ${p} → ${r.status}: ${r.text}`);
    return r.body;
  }
}

export const unique = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

/** A fresh tenant with telephony on; returns the admin's client and details. */
export async function newTenant() {
  const api = new Api();
  const account = unique('e');
  const password = 'Tenant-admin-pass-42';
  const me = await api.ok('POST', '/api/signup', {
    account,
    tenant_name: `Lab ${account}`,
    login: 'boss',
    name: 'Boss Lab',
    email: 'boss@example.com',
    password,
  });
  const enabled = await api.ok('POST', '/api/telephony/enable', {});
  return { api, account, password, me, adminId: me.user.id, admin: enabled.created };
}


/** A WAV file with a sine tone (16-bit mono), for Chromium's fake microphone. */
export function toneWav(freq, seconds = 30, rate = 48000) {
  const n = seconds * rate;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * freq * i) / rate) * 12000), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  const file = path.join(os.tmpdir(), `cb-tone-${freq}.wav`);
  fs.writeFileSync(file, Buffer.concat([h, data]));
  return file;
}

/** 16-bit PCM samples and rate of a WAV file. */
export function readWav(file) {
  const b = fs.readFileSync(file);
  let off = 12;
  let rate = 8000;
  let samples = null;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') rate = b.readUInt32LE(off + 12);
    if (id === 'data') {
      // A writer that has not finalised the header leaves 0 (or all ones) as the size.
      const end = size === 0 || off + 8 + size > b.length ? b.length : off + 8 + size;
      samples = new Int16Array(Math.floor((end - off - 8) / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = b.readInt16LE(off + 8 + i * 2);
    }
    if (id === 'data') break;
    off += 8 + size + (size % 2);
  }
  if (!samples) throw new Error(`${file}: no data chunk`);
  return { rate, samples };
}

/** Relative power of `freq` in the samples (Goertzel). */
export function goertzel(samples, rate, freq) {
  const k = (2 * Math.cos((2 * Math.PI * freq) / rate));
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.length;
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
];

/** Firefox's autoplay overrides (what `autoplay: 'default'` leaves out). */
const FIREFOX_AUTOPLAY = { 'media.autoplay.default': 0, 'media.autoplay.block-webaudio': false };

/**
 * Chromium or Firefox ESR, inside the lab namespace, microphone = a tone of `toneHz`; `args` are
 * Chromium's extra switches, `prefs` Firefox's extra preferences. Sound may play without a click
 * unless `autoplay: 'default'`: then the browsers' own autoplay policy holds (no
 * `--autoplay-policy` switch, no `media.autoplay.*` preferences).
 */
export async function launch(kind, toneHz, { args = [], prefs = {}, autoplay = 'allowed' } = {}) {
  const keep = autoplay === 'default' ? (a) => !a.startsWith('--autoplay-policy=') : () => true;
  if (kind === 'chromium') {
    return puppeteer.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_ARGS.filter(keep), `--use-file-for-fake-audio-capture=${toneWav(toneHz)}`, ...args],
    });
  }
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    env: { ...process.env, PULSE_SERVER: `unix:${env('CALLBASE_E2E_PULSE')}/native` },
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      ...(autoplay === 'default' ? {} : FIREFOX_AUTOPLAY),
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      ...prefs,
    },
  });
}

/**
 * Signs `page` in through the API as the app would. The login page fetches its own CSRF token as it
 * loads (its cookie may replace ours: 403), so this tries again on a 403.
 */
export async function signInPage(page, account, login, password) {
  await page.goto(`${BASE}/#/login`, { waitUntil: 'load' });
  let r = 0;
  for (let attempt = 0; attempt < 3 && r !== 200; attempt++) {
    if (attempt) await sleep(300);
    r = await page.evaluate(
      async (account, login, password) => {
        const c = await (await fetch('/api/auth/csrf')).json();
        const res = await fetch('/api/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': c.csrf },
          body: JSON.stringify({ account, login, password }),
        });
        return res.status;
      },
      account,
      login,
      password,
    );
  }
  if (r !== 200) throw new Error(`login as ${login} failed: ${r}`);
}

/** Opens the app signed in as `login`, with sound enabled; returns the page. `init` runs first in every document. */
export async function openApp(browser, account, login, password, { init = null, height = 768 } = {}) {
  const ctx = browser.defaultBrowserContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  // A script every document of the page runs first (a test's hooks on WebSocket, getUserMedia).
  if (init) await page.evaluateOnNewDocument(init);
  await page.setViewport({ width: 1366, height });
  await signInPage(page, account, login, password);
  const started = Date.now();
  await page.goto(`${BASE}/#/`, { waitUntil: 'load' });
  await page.reload({ waitUntil: 'load' });
  await soundOn(page);
  return { page, started };
}

/**
 * Waits until the phone knows whether the browser lets it sound and clicks "enable sound" if it
 * shows (it shows only while sound is blocked: never under `launch`'s default autoplay overrides).
 */
export async function soundOn(page, ms = 15000) {
  const state = await until('the phone knows whether it may sound', () =>
    page.evaluate(() => {
      const s = window.__cbPhone?.sound?.state;
      return s && s !== 'unknown' ? s : null;
    }), ms);
  if (state === 'blocked') await (await page.waitForSelector('[data-testid=phone-enable-sound]', { timeout: 5000 })).click();
}

/**
 * Follows the phone's sound state (`__cbPhone.sound.state`) without touching the page: puppeteer
 * evaluates with user activation (page.evaluate, $eval, waitForSelector all activate the document),
 * which alone would let sound play. A script in every new document logs each change; install this
 * before the page loads. `next(from)` resolves with the first known state logged after `seen[from]`.
 */
export async function watchSound(page) {
  const seen = [];
  const wake = new Set();
  page.on('console', (m) => {
    const x = /^cb-sound (\w+)$/.exec(m.text());
    if (!x) return;
    seen.push(x[1]);
    for (const w of wake) w();
  });
  await page.evaluateOnNewDocument(() => {
    let last = null;
    setInterval(() => {
      const s = window.__cbPhone?.sound?.state ?? null;
      if (s && s !== 'unknown' && s !== last) console.log(`cb-sound ${(last = s)}`);
    }, 50);
  });
  return {
    seen,
    next(from = seen.length, ms = 20000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (seen.length <= from) return;
          wake.delete(check);
          clearTimeout(timer);
          resolve(seen[from]);
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`the phone logged no sound state within ${ms} ms (seen: ${seen.join(', ') || 'none'})`));
        }, ms);
        wake.add(check);
        check();
      });
    },
  };
}

export async function regState(page) {
  return page.$eval('[data-testid=phone-reg]', (e) => e.getAttribute('data-state')).catch(() => null);
}

export async function waitRegistered(page, ms = 15000) {
  await until('phone registered', async () => (await regState(page)) === 'registered', ms);
}

export async function callState(page) {
  return page.$eval('[data-testid=phone-call]', (e) => e.getAttribute('data-state')).catch(() => null);
}

/** RTP counters of the current call from getStats. */
export async function rtp(page) {
  const stats = await page.evaluate(async () => (window.__cbPhone ? await window.__cbPhone.stats() : null));
  if (!stats) return null;
  let received = 0;
  let sent = 0;
  let level = null;
  for (const s of stats) {
    if (s.type === 'inbound-rtp' && (s.kind === 'audio' || s.mediaType === 'audio')) {
      received += s.packetsReceived ?? 0;
      if (typeof s.audioLevel === 'number') level = Math.max(level ?? 0, s.audioLevel);
    }
    if (s.type === 'outbound-rtp' && (s.kind === 'audio' || s.mediaType === 'audio')) sent += s.packetsSent ?? 0;
  }
  return { received, sent, level };
}

/**
 * Dials the carrier's echo (9999, or 9996: the echo that records what it hears) from the phone;
 * resolves with the carrier's channel once answered.
 */
export async function callEcho(page, carrier, number = '9999') {
  const chan = carrier.waitEvent((m) => m.Event === 'Newchannel' && m.Exten === number, 15000);
  await page.click('[data-testid=phone-number]', { count: 3 });
  await page.type('[data-testid=phone-number]', number);
  await page.waitForSelector('[data-testid=phone-call-btn]:not([disabled])', { timeout: 10000 });
  await page.click('[data-testid=phone-call-btn]');
  const ch = await chan.catch(async (e) => {
    // Say what the phone shows: a refusal, "not registered", or a call stuck before the carrier.
    const phone = await page.$eval('[data-testid=phone]', (el) => el.innerText).catch(() => '(no phone panel)');
    throw new Error(`${e.message} (the carrier saw no call to ${number}); the phone shows: ${phone.replace(/\s+/g, ' ').slice(0, 400)}`);
  });
  await until('call answered', async () => (await callState(page)) === 'answered', 15000);
  return ch.Channel;
}

/**
 * The call to the echo still has media both ways since `before` (RTP counters from `rtp`) and the
 * echo is heard (Chromium: measured on the remote stream; Firefox: getStats' audio level), and it
 * is still shown as answered. `what` names the event the call went through.
 */
export async function assertCallGoesOn(page, kind, before, what) {
  await sleep(3000);
  const s = await rtp(page);
  assert.ok(s.received > before.received + 50, `inbound RTP goes on: ${JSON.stringify({ before, s })}`);
  assert.ok(s.sent > before.sent + 50, `outbound RTP goes on: ${JSON.stringify({ before, s })}`);
  const level = kind === 'chromium' ? await remoteLevel(page) : await statsLevel(page);
  assert.ok(level > 0.01, `the echo is heard ${what}: level ${level}`);
  assert.equal(await callState(page), 'answered');
}

/**
 * Peak of getStats' inbound audioLevel (0–1) sampled every 100 ms over `ms` (Firefox, where the
 * remote stream cannot be tapped by an analyser). One sample is the level of one instant — it reads
 * 0 in any gap of the echo — so the peak over a window, like `remoteLevel`'s, is what "heard" means.
 */
export async function statsLevel(page, ms = 1500) {
  let peak = 0;
  for (let waited = 0; waited < ms; waited += 100) {
    peak = Math.max(peak, (await rtp(page))?.level ?? 0);
    if (peak > 0.01) break;
    await sleep(100);
  }
  return peak;
}

/**
 * Peak level (0–1) of the remote audio (`from`: 'remote'), or of the ring tone's element ('ring'),
 * measured with a Web Audio analyser over `ms`.
 */
export async function remoteLevel(page, ms = 1500, from = 'remote') {
  return page.evaluate(async (ms, from) => {
    const stream = from === 'ring'
      ? document.querySelector('[data-testid=phone-ring-audio]')?.srcObject
      : window.__cbPhone?.remoteStream;
    if (!stream) return 0;
    const ctx = new AudioContext();
    await ctx.resume();
    const an = ctx.createAnalyser();
    ctx.createMediaStreamSource(stream).connect(an);
    const buf = new Float32Array(an.fftSize);
    let peak = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      an.getFloatTimeDomainData(buf);
      for (const v of buf) peak = Math.max(peak, Math.abs(v));
      await new Promise((r) => setTimeout(r, 50));
    }
    await ctx.close();
    return peak;
  }, ms, from);
}

/**
 * The power of `freq` in the remote audio over `ms` (Goertzel over a Web Audio analyser's samples)
 * against two frequencies nearby but apart from it: `{ tone, other }`.
 */
export async function remoteTone(page, freq, ms = 1500) {
  return page.evaluate(async (freq, ms) => {
    const stream = window.__cbPhone?.remoteStream;
    if (!stream) return { tone: 0, other: 0 };
    const ctx = new AudioContext();
    await ctx.resume();
    const an = ctx.createAnalyser();
    an.fftSize = 4096;
    ctx.createMediaStreamSource(stream).connect(an);
    const buf = new Float32Array(an.fftSize);
    const power = (f) => {
      const k = 2 * Math.cos((2 * Math.PI * f) / ctx.sampleRate);
      let s1 = 0;
      let s2 = 0;
      for (const v of buf) {
        const s0 = v + k * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      return (s1 * s1 + s2 * s2 - k * s1 * s2) / buf.length;
    };
    let tone = 0;
    let other = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      an.getFloatTimeDomainData(buf);
      tone += power(freq);
      other += power(freq * 1.37) + power(freq * 0.61);
    }
    await ctx.close();
    return { tone, other };
  }, freq, ms);
}

export async function screenshot(page, name) {
  const dir = process.env.CALLBASE_E2E_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

/** Where the carrier's MixMonitor files land (inside its rootfs instance directory). */
export function carrierMonitorDir() {
  return path.join(env('CALLBASE_E2E_ROOTFS'), 'srv/callbase/e2e/carrier/spool/monitor');
}

/** The DID the carrier calls (the tenant's trunk number in extended mode). */
export const DID = '4957770001';

/** The carrier calls the tenant's DID; its dialplan runs `exten` once we answer. Returns when it was sent. */
export async function carrierCallsDid(ami, exten = '9998') {
  const r = await ami.action('Originate', {
    Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
    Context: 'carrier-test',
    Exten: exten,
    Priority: '1',
    Async: 'true',
    CallerID: '79161234567',
  });
  assert.equal(r.Response, 'Success', `carrier originate: ${JSON.stringify(r)}`);
  return Date.now();
}

/**
 * A fresh tenant with telephony on, the carrier test numbers (9996–9999) allowed as short numbers,
 * and a trunk to the carrier that is registered. Only one tenant at a time may hold the carrier
 * credential's registration: call `removeTrunk()` when done.
 */
export async function tenantWithTrunk() {
  const t = await newTenant();
  const rules = await t.api.ok('GET', '/api/telephony/dial-rules');
  await t.api.ok('PUT', '/api/telephony/dial-rules', { ...rules, short_rules: ['_999X'] });
  const trunk = await t.api.ok('POST', '/api/trunks', {
    mode: 'extended',
    label: 'Lab carrier',
    number: DID,
    username: env('CALLBASE_CARRIER_TRUNK_USER'),
    password: env('CALLBASE_CARRIER_TRUNK_PASSWORD'),
    domain: `${LAB_ADDR}:5070`,
  });
  await until('trunk registered', async () => {
    const list = await t.api.ok('GET', '/api/trunks');
    return list.find((x) => x.id === trunk.id)?.status.state === 'registered';
  }, 30000, 300);
  t.removeTrunk = () => t.api.ok('DELETE', `/api/trunks/${trunk.id}`).catch(() => undefined);
  return t;
}

/**
 * Waits for the carrier's recording announced by `recs` (a collector of `CarrierRecording`
 * UserEvents) to be complete, and asserts it holds `toneHz` far above other frequencies — the
 * audio that reached the carrier from our side. Every caller talks 4 s before hanging up, and only
 * that part is judged: before the answer the carrier hears our ringing tone (425 Hz, close enough
 * to 440 Hz to count as "other"), and how long it rang (a screenshot is taken meanwhile) is not
 * what this checks.
 */
export async function assertCarrierHeard(recs, toneHz) {
  await until('carrier recording announced', async () => recs.events.length > 0, 10000);
  await assertRecordingHolds(path.join(carrierMonitorDir(), recs.events[0].File), toneHz);
}

/**
 * Waits for the WAV `file` to be complete (it stops growing), and asserts its last 3 s of talk hold
 * `toneHz` far above other frequencies; with `toneHz` null, that they are not silence (a caller
 * that sends no tone, e.g. the synthetic agent's pattern).
 */
export async function assertRecordingHolds(file, toneHz) {
  // MixMonitor finishes the file after the hang-up: wait until it stops growing.
  let last = -1;
  await until(`carrier recording ${file}`, async () => {
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    const done = size > 8000 && size === last;
    last = size;
    return done;
  }, 15000, 500);
  const { rate, samples: all } = readWav(file);
  // The last 3 s of talk (the final half second may already be the hang-up).
  const end = Math.max(0, all.length - Math.round(rate / 2));
  const samples = all.slice(Math.max(0, end - 3 * rate), end);
  if (toneHz === null) {
    const rms = Math.sqrt(samples.reduce((a, x) => a + x * x, 0) / Math.max(1, samples.length));
    if (!(rms > 300)) throw new Error(`${file}: the last 3 s of talk are silence (RMS ${rms.toFixed(1)})`);
    return;
  }
  const tone = goertzel(samples, rate, toneHz);
  const other = goertzel(samples, rate, 440) + goertzel(samples, rate, 1700);
  if (!(tone > 20 * other)) {
    throw new Error(`${file}: the carrier's recording does not hold the ${toneHz} Hz tone (${tone.toExponential(2)} vs ${other.toExponential(2)})`);
  }
}

/** One SQL value from the lab's database (worker role: sees every tenant). */
export function sqlValue(query) {
  return execFileSync('psql', [env('CALLBASE__DATABASE__WORKER_URL'), '-tAc', query]).toString().trim();
}

const BARESIP_CTRL_PORT = 4444;

/**
 * baresip (a real desk phone) registered to the platform Asterisk (or `registrar`, e.g. the SIP
 * edge) over UDP as `login`, sending a 1 kHz sine (ausine) and auto-answering. With `dump`, what it
 * hears is written to `<dir>/dump-…-dec.wav` (the sndfile module) for tone checks at the phone's end.
 * Several phones at once need their own `port` (SIP) and `ctrlPort` (ctrl_tcp, for `ctrl`).
 */
export function startBaresip(login, password, { dump = false, registrar = `${LAB_ADDR}:5060`, port = 5080, ctrlPort = BARESIP_CTRL_PORT } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-baresip-'));
  fs.writeFileSync(
    path.join(dir, 'config'),
    [
      `sip_listen ${LAB_ADDR}:${port}`,
      'audio_source ausine,1000',
      'ausrc_srate 48000',
      'auplay_srate 48000',
      'ausrc_channels 2',
      'auplay_channels 1',
      'audio_player aubridge,nil',
      'audio_alert aubridge,nil',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module ausine.so',
      'module aubridge.so',
      ...(dump ? ['module sndfile.so', `snd_path ${dir}`] : []),
      'module_app account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      'sip_trans_def udp',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'accounts'),
    `<sip:${login}@${registrar};transport=udp>;auth_pass=${password};regint=60;answermode=auto;audio_codecs=PCMU\n`,
  );
  const proc = spawn('baresip', ['-f', dir, '-t', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  return { proc, dir, log: () => log, ctrl: (command, params = '') => baresipCtrl(command, params, ctrlPort) };
}

/** One command over baresip's ctrl_tcp (netstring-framed JSON). */
export async function baresipCtrl(command, params = '', port = BARESIP_CTRL_PORT) {
  const body = JSON.stringify({ command, params, token: String(Date.now()) });
  await new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`${Buffer.byteLength(body)}:${body},`);
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 300);
    });
    s.on('error', reject);
  });
}
