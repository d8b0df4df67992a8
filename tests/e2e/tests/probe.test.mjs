// The synthetic agent (issue #8): webrtc-rs registers over SIP-over-WebSocket, calls, completes ICE
// and DTLS-SRTP with the platform Asterisk and measures its echoed audio — once on the platform path
// (`callbase probe`, the internal echo) and once through a tenant's trunk to the carrier's echo
// number (the Stasis path). The server's health probe (every 5 s in the lab) then charts the
// tenant's trunk path on the telephony page, exports a metric, and raises an alert when the probe
// number stops echoing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import puppeteer from 'puppeteer-core';
import { BASE, env, screenshot, signInPage, sqlValue, tenantWithTrunk, until } from './lab.mjs';

/**
 * Both replicas' /metrics (each is the app's port + N behind HAProxy, tests/e2e/lab.sh): the probe's
 * gauges live in the replica that holds the probe lease, which HAProxy need not pick.
 */
async function allMetrics() {
  const port = Number(new URL(BASE).port);
  const texts = await Promise.all([1, 2].map(async (n) => {
    try {
      return await (await fetch(`http://127.0.0.1:${port + n}/metrics`, METRICS_AUTH)).text();
    } catch {
      return '';
    }
  }));
  return texts.join('\n');
}

/** /metrics answers only with the configured bearer token (CALLBASE__HTTP__METRICS_TOKEN). */
const METRICS_AUTH = { headers: { authorization: `Bearer ${env('CALLBASE__HTTP__METRICS_TOKEN')}` } };

/** Runs `callbase probe …`; resolves with the exit code and the JSON report it printed. */
function probe(args) {
  return new Promise((resolve) => {
    execFile(env('CALLBASE_E2E_APP_BIN'), ['probe', ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      let report = null;
      try {
        report = JSON.parse(stdout);
      } catch {
        /* no report */
      }
      resolve({ code: err ? err.code ?? 1 : 0, report, stderr });
    });
  });
}

/** Runs `callbase <args>`; resolves with the exit code, stdout and stderr. */
function app(args, timeout) {
  return new Promise((resolve) => {
    execFile(env('CALLBASE_E2E_APP_BIN'), args, { timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr });
    });
  });
}

function assertFullReport(r, what) {
  assert.ok(r, `${what}: no report`);
  assert.equal(r.error, null, `${what}: ${r.error}`);
  for (const k of ['register_ms', 'invite_ok_ms', 'ice_ms', 'dtls_ms']) {
    assert.equal(typeof r[k], 'number', `${what}: ${k} missing`);
    assert.ok(r[k] > 0 && r[k] < 5000, `${what}: ${k} = ${r[k]}`);
  }
  const a = r.audio;
  assert.ok(a.sent >= 50, `${what}: sent ${a.sent}`);
  assert.ok(a.echoed >= a.sent * 0.95, `${what}: only ${a.echoed} of ${a.sent} packets came back`);
  for (const k of ['rtt_p50_ms', 'rtt_p95_ms', 'rtt_max_ms', 'jitter_ms']) assert.equal(typeof a[k], 'number', `${what}: ${k} missing`);
  assert.ok(a.rtt_p50_ms < 200, `${what}: RTT ${a.rtt_p50_ms} ms`);
}

describe('synthetic agent and health probe', () => {
  let t;
  let browser;
  before(async () => {
    t = await tenantWithTrunk();
  });
  after(async () => {
    await browser?.close();
    await t?.api.req('PUT', '/api/telephony/probe', { probe_number: null });
    await t?.removeTrunk();
  });

  it('calls the platform echo: registration, INVITE→200, ICE, DTLS and the echoed audio are measured', async () => {
    const { code, report, stderr } = await probe(['--talk-ms', '2000']);
    assert.equal(code, 0, stderr);
    assertFullReport(report, 'platform echo');
  });

  it('calls the carrier echo number through the tenant trunk (the Stasis path)', async () => {
    const { code, report, stderr } = await probe(['--tenant', String(t.me.tenant.id), '--number', '9999', '--talk-ms', '2000']);
    assert.equal(code, 0, stderr);
    assertFullReport(report, 'trunk path');
  });

  it('an unknown tenant trunk path fails with the SIP status, not a hang', async () => {
    const { code, report } = await probe(['--tenant', '999999', '--number', '9999', '--talk-ms', '500']);
    assert.notEqual(code, 0);
    assert.match(report.error, /INVITE answered [45]\d\d/);
  });

  it('the load generator: telephony users register at once through /sip, then hold calls on the agent path', async () => {
    // Recorded calls (the tenant's default): the recorder's joining turns the bridge softmix, whose
    // mix keeps the agents' audio tags (callbase_probe::audio), so loss is measured by tag.
    const tenant = String(t.me.tenant.id);
    assert.equal(sqlValue(`SELECT record_calls FROM telephony WHERE tenant_id = ${tenant}`), 't');
    const { code, stdout, stderr } = await app([
      'loadgen', '--via-server', '--storm', '--agents', '4', '--tenant', tenant, '--number', '9999',
      '--steps', '2', '--window-secs', '3', '--json', '--max-loss-pct', '100',
    ], 150000);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    const line = (tag) => JSON.parse(stdout.split('\n').find((l) => l.startsWith(`${tag} `))?.slice(tag.length + 1) ?? 'null');
    const storm = line('STORM');
    assert.ok(storm, stdout);
    assert.equal(storm.registered, 4, stdout);
    assert.equal(typeof storm.all_registered_secs, 'number', stdout);
    const step = line('JSON');
    assert.ok(step, stdout);
    assert.equal(step.ok, 2, `${stdout}\n${stderr}`);
    assert.ok(step.loss_pct < 2, `the calls lost ${step.loss_pct} % of their packets:\n${stdout}\n${stderr}`);
    const calls = Number(sqlValue(`SELECT count(*) FROM calls c JOIN users u ON u.id = c.user_id WHERE c.tenant_id = ${tenant} AND u.login LIKE 'lg%' AND c.answered_at IS NOT NULL AND c.recording_state IS NOT NULL`));
    assert.ok(calls >= 2, `the load calls have call records, recorded (${calls})`);
  });

  it('the health probe charts the trunk path, exports a metric, and alerts when the echo stops', async () => {
    const tenant = String(t.me.tenant.id);
    await t.api.ok('PUT', '/api/telephony/probe', { probe_number: '9999' });
    const bad = await t.api.req('PUT', '/api/telephony/probe', { probe_number: '99 99; drop' });
    assert.equal(bad.status, 422);
    const passing = await until('five passing probe results', async () => {
      const h = await t.api.ok('GET', '/api/telephony/probe');
      return h.points.filter((p) => p.ok).length >= 5 && h;
    }, 90000, 1000);
    assert.equal(passing.probe_number, '9999');
    assert.equal(passing.alert, null);
    const p = passing.points.find((x) => x.ok);
    for (const k of ['setup_ms', 'ice_ms', 'dtls_ms', 'rtt_ms', 'loss_pct', 'jitter_ms']) assert.equal(typeof p[k], 'number', k);

    const metrics = await allMetrics();
    assert.match(metrics, new RegExp(`callbase_probe_up\\{node="e2e",path="trunk",tenant="${tenant}"\\} 1`));
    assert.match(metrics, /callbase_probe_up\{node="e2e",path="platform",tenant=""\} 1/);

    browser = await puppeteer.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1366, height: 900 });
    await signInPage(page, t.account, 'boss', t.password);
    // A fresh document on the Telephony route (a hash change from the login page races with the
    // login page sending a signed-in user home).
    await page.goto('about:blank');
    await page.goto(`${BASE}/#/telephony`, { waitUntil: 'load' });
    try {
      await page.waitForSelector('[data-testid=probe-chart] [data-testid=probe-ok]', { timeout: 20000 });
    } catch (e) {
      const text = await page.evaluate(() => document.body.innerText);
      console.log(`[probe page]\n${text}`);
      throw e;
    }
    const card = await page.$('[data-testid=probe-card]');
    await card.scrollIntoView();
    await screenshot(page, 'probe-chart');

    // The carrier's 9998 answers with a tone, not an echo: the probe must fail and say so.
    await t.api.ok('PUT', '/api/telephony/probe', { probe_number: '9998' });
    const failing = await until('the probe alert', async () => {
      const h = await t.api.ok('GET', '/api/telephony/probe');
      return h.alert && h;
    }, 60000, 1000);
    assert.match(failing.alert.error, /no audio came back|loss/);
    const down = await allMetrics();
    assert.match(down, new RegExp(`callbase_probe_up\\{node="e2e",path="trunk",tenant="${tenant}"\\} 0`));
    assert.match(down, new RegExp(`callbase_probe_failures_total\\{node="e2e",path="trunk",tenant="${tenant}"\\} [1-9]`));
    await page.reload({ waitUntil: 'load' });
    const alert = await page.waitForSelector('[data-testid=probe-alert]', { timeout: 15000 });
    assert.match(await alert.evaluate((e) => e.textContent), /failing since/);
    await page.waitForSelector('[data-testid=probe-fail]');
    await (await page.$('[data-testid=probe-card]')).scrollIntoView();
    await screenshot(page, 'probe-alert');

    // The business hours editor (issue #19) shows a saved schedule and what it says now.
    const weekdays = [1, 2, 3, 4, 5].flatMap((day) => [{ day, from: '09:00', to: '13:00' }, { day, from: '14:00', to: '18:00' }]);
    await t.api.ok('PUT', '/api/telephony/hours', {
      enabled: true, time_zone: 'Europe/Moscow', weekly: [...weekdays, { day: 6, from: '10:00', to: '15:00' }],
      holidays: [{ date: '2026-12-31', name: 'New Year' }, { date: '2027-01-07', name: 'Christmas' }], closed_forward: null,
    });
    await page.reload({ waitUntil: 'load' });
    const now = await page.waitForSelector('[data-testid=hours-now]', { timeout: 15000 });
    assert.match(await now.evaluate((e) => e.textContent), /(Open|Closed) now.*\(Europe\/Moscow\)/);
    assert.equal(await page.$$eval('[data-testid=hours-day-1] .hours-range', (r) => r.length), 2);
    await (await page.$('[data-testid=hours]')).scrollIntoView();
    await screenshot(page, 'hours');

    // A queue and an IVR menu (issue #19), built in their editors as an administrator would, and
    // the trunk's first step pointed at the menu; what the server saved is what was chosen.
    const me = (await t.api.ok('GET', '/api/telephony')).me.user_id;
    await page.click('[data-testid=queue-new]');
    await page.waitForSelector('[data-testid=queue-editor]');
    await page.type('[data-testid=queue-name]', 'Support');
    await page.select('[data-testid=queue-strategy]', 'longest_idle');
    await page.click(`[data-testid=queue-member-user-${me}]`);
    await page.click('[data-testid=queue-callback]');
    await page.click('[data-testid=queue-save]');
    await page.waitForSelector('[data-testid=queue-row]', { timeout: 15000 });
    const [queue] = await t.api.ok('GET', '/api/telephony/queues');
    assert.deepEqual(
      [queue.name, queue.strategy, queue.callback, queue.members],
      ['Support', 'longest_idle', true, [{ user: me }]],
    );
    await page.click('[data-testid=queue-edit]');
    await (await page.waitForSelector('[data-testid=queue-editor]')).scrollIntoView();
    await screenshot(page, 'queues');
    await page.click('[data-testid=queue-cancel]');

    await page.click('[data-testid=menu-new]');
    await page.waitForSelector('[data-testid=menu-editor]');
    await page.type('[data-testid=menu-name]', 'Main');
    await page.click('[data-testid=menu-option-add]');
    await page.click('[data-testid=menu-option-add]');
    const rows = await page.$$('[data-testid=menu-option]');
    await (await rows[0].$('[data-testid=menu-option-digit]')).select('1');
    await (await rows[0].$('[data-testid=menu-option-kind]')).select('queue');
    await (await rows[1].$('[data-testid=menu-option-digit]')).select('2');
    await (await rows[1].$('[data-testid=menu-option-kind]')).select('user');
    await page.select('[data-testid=menu-fallback-kind]', 'voicemail');
    await page.click('[data-testid=menu-save]');
    await page.waitForSelector('[data-testid=menu-row]', { timeout: 15000 });
    const [menu] = await t.api.ok('GET', '/api/telephony/menus');
    assert.deepEqual(
      [menu.name, menu.fallback, menu.options.map((o) => [o.digit, o.to])],
      ['Main', 'voicemail', [['1', `queue:${queue.id}`], ['2', `user:${me}`]]],
    );
    await page.click('[data-testid=menu-edit]');
    await (await page.waitForSelector('[data-testid=menu-editor]')).scrollIntoView();
    await screenshot(page, 'menus');
    await page.click('[data-testid=menu-cancel]');

    await page.select('[data-testid=first-step-select]', `menu:${menu.id}`);
    await page.click('[data-testid=first-step-save]');
    await until('the line starts in the menu', async () => {
      const [step] = await t.api.ok('GET', '/api/telephony/first-steps');
      return step.step === 'menu' && step.menu_id === menu.id;
    }, 10000, 300);
  });
});
