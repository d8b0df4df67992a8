// Reports, the home dashboard and the wallboard in real browsers (issue #20). A tenant in
// Europe/Moscow with four agents, a queue and a month of calls (written as the call control writes
// ended calls; the aggregates follow by themselves). The administrator opens Reports in Chromium:
// the headline figures and the agents' table show what the API computes, a drill-down link opens
// the call list with exactly the calls behind the figure, and the CSV export downloads. Anna (an
// agent) sees only her own figures under "My statistics" (Firefox). The home dashboard shows
// today's figures; the wallboard shows the callers waiting and follows an agent's state change
// live. Screenshots: reports, dashboard, wallboard.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Api, BASE, launch, newTenant, screenshot, signInPage, sqlValue, startBaresip, until } from './lab.mjs';

const AGENTS = ['Anna Petrova', 'Boris Orlov', 'Clara Smirnova', 'Dmitry Volkov'];

/** Signs `page` in and opens `route` in the app (which reads the session as it loads). */
async function open(page, account, login, password, route) {
  await signInPage(page, account, login, password);
  await page.goto(`${BASE}/#/`, { waitUntil: 'load' });
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid=dash]', { timeout: 15000 });
  await page.goto(`${BASE}/#${route}`, { waitUntil: 'load' });
}

/** The number a figure shows ("1 234" → 1234). */
const digits = (s) => Number(String(s).replace(/[^0-9]/g, '') || NaN);

/** Text of the first element matching `sel`. */
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());

/** Ended calls of the tenant over the last 30 days and today, from generate_series (deterministic). */
function seedCalls(tenant, users, queue) {
  const arr = `ARRAY[${users.join(',')}]::bigint[]`;
  sqlValue(`
    INSERT INTO calls (id, tenant_id, direction, user_id, number, trunk_slot, started_at, answered_at, ended_at,
                       result, hold_secs, wrapup_secs, queue_id, queued_at, queue_wait_ms, queue_outcome, rang_out, phase)
    SELECT gen_random_uuid(), ${tenant}, dir, CASE WHEN ans THEN u END, '+7916' || lpad(i::text, 7, '0'), 1 + i % 2,
           s, CASE WHEN ans THEN s + interval '6 seconds' END,
           s + interval '6 seconds' + CASE WHEN ans THEN make_interval(secs => 20 + (i * 37) % 400) ELSE interval '0' END,
           CASE WHEN ans THEN 'answered' WHEN dir = 'outbound' THEN 'busy' ELSE 'missed' END,
           CASE WHEN ans AND i % 4 = 0 THEN 12 ELSE 0 END, CASE WHEN ans THEN 10 + i % 50 END,
           q, CASE WHEN q IS NOT NULL THEN s END, CASE WHEN q IS NOT NULL THEN (i * 3000) % 45000 END,
           CASE WHEN q IS NULL THEN NULL WHEN ans THEN 'answered' ELSE 'abandoned' END,
           CASE WHEN NOT ans AND dir = 'inbound' THEN ARRAY[u] ELSE '{}' END, 'ended'
    FROM (SELECT i, CASE WHEN i % 5 < 3 THEN 'inbound' ELSE 'outbound' END AS dir, i % 7 <> 0 AS ans,
                 (${arr})[1 + i % ${users.length}] AS u, CASE WHEN i % 3 = 0 THEN ${queue} END AS q,
                 date_trunc('day', now()) - make_interval(days => i % 30) + interval '6 hours'
                   + make_interval(mins => (i * 53) % 660) AS s
          FROM generate_series(1, 600) i) x
    WHERE s < now()`);
}

describe('reports, dashboard and wallboard', () => {
  let chromium;
  let firefox;
  let t;
  let users;
  let queue;
  let deskPhone;
  const waiting = [];
  const creds = [];

  before(async () => {
    t = await newTenant();
    await t.api.ok('PUT', '/api/telephony/hours', { enabled: false, time_zone: 'Europe/Moscow', weekly: [] });
    users = [];
    for (const [i, name] of AGENTS.entries()) {
      const login = name.split(' ')[0].toLowerCase();
      const u = await t.api.ok('POST', '/api/users', {
        login, name, email: `${login}@example.com`, password: 'Agent-pass-12345', group_ids: [],
      });
      const tu = await t.api.ok('POST', '/api/telephony/users', { user_id: u.id, browser_calls: i % 2 === 0 });
      users.push(u.id);
      creds.push(tu);
    }
    queue = (await t.api.ok('POST', '/api/telephony/queues', {
      name: 'Sales', strategy: 'longest_idle', ring_secs: 15, max_wait_secs: 300, max_callers: 20,
      announce_position: true, service_level_secs: 20, overflow: 'missed', members: users.map((u) => ({ user: u })),
    })).id;
    seedCalls(t.me.tenant.id, users, queue);
    // Two callers waiting in Sales now (as the call control keeps them: open calls in the queue's line).
    for (const secs of [95, 30]) {
      const id = sqlValue(`INSERT INTO calls (id, tenant_id, direction, number, trunk_slot, started_at, queue_id, queued_at, phase)
        VALUES (gen_random_uuid(), ${t.me.tenant.id}, 'inbound', '+79160000${secs}', 1, now() - interval '${secs} seconds',
                ${queue}, now() - interval '${secs} seconds', 'queued') RETURNING id`);
      waiting.push(id.split('\n')[0]);
    }
    chromium = await launch('chromium', 1000);
    firefox = await launch('firefox', 1000);
  });

  after(async () => {
    deskPhone?.proc.kill('SIGTERM');
    if (waiting.length) sqlValue(`DELETE FROM calls WHERE id IN (${waiting.map((w) => `'${w}'`).join(',')})`);
    await chromium?.close();
    await firefox?.close();
  });

  it('the administrator reads the month, drills down to the calls and exports', async () => {
    const expected = await t.api.ok('GET', '/api/reports/agents?period=last_30_days');
    assert.ok(expected.totals.calls > 300, `the month has calls: ${expected.totals.calls}`);
    const page = await chromium.newPage();
    page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    await page.setViewport({ width: 1440, height: 1000 });
    await open(page, t.account, 'boss', t.password, '/reports');
    await page.waitForSelector('[data-testid=reports-period]', { timeout: 15000 });
    await page.select('[data-testid=reports-period]', 'last_30_days');
    await until('the month is shown', async () =>
      digits(await text(page, '[data-testid=reports-value-calls]').catch(() => '')) === expected.totals.calls, 15000, 200);
    // Every agent has a row (the boss too: a telephony user), with the API's figures.
    await page.waitForSelector('[data-testid=reports-agents-row]');
    assert.equal((await page.$$('[data-testid=reports-agents-row]')).length, AGENTS.length + 1);
    const anna = expected.agents.find((a) => a.user_id === users[0]);
    assert.ok(anna.figures.rang_out > 0, `Anna let calls ring out: ${JSON.stringify(anna.figures)}`);
    const missed = `[data-testid=drill-agent-missed-${users[0]}]`;
    assert.equal(digits(await text(page, missed)), anna.figures.rang_out);
    // The chart drew, and the heatmap has the month's calls.
    await page.waitForSelector('[data-testid=reports-chart] canvas', { timeout: 15000 });
    const heat = await page.$$eval('[data-testid^=reports-heat-]', (cells) =>
      cells.reduce((n, c) => n + Number(c.getAttribute('data-calls') ?? 0), 0));
    assert.equal(heat, expected.totals.calls, 'the heatmap holds every call of the period');
    await screenshot(page, 'reports');

    // The CSV export is the same report.
    const csvHref = await page.$eval('[data-testid=reports-export-agents-csv]', (a) => a.href);
    const csv = await page.evaluate(async (u) => (await fetch(u)).text(), csvHref);
    assert.match(csv.split('\n')[0], /"Agent"/);
    assert.ok(csv.includes('"Anna Petrova"'), csv.slice(0, 300));

    // Anna's missed calls: the drill-down opens the call list with exactly those calls.
    await page.click(missed);
    await page.waitForSelector('[data-testid=calls-from-report]', { timeout: 15000 });
    await until('the calls behind the figure are listed', async () =>
      Number(await page.$eval('[data-testid=calls-count]', (e) => e.getAttribute('data-total')).catch(() => -1)) === anna.figures.rang_out,
    15000, 200);
    await page.close();
  });

  it('an agent sees only her own figures under My statistics (Firefox)', async () => {
    const page = await firefox.newPage();
    await open(page, t.account, 'anna', 'Agent-pass-12345', '/reports');
    await page.waitForSelector('[data-testid=reports-period]', { timeout: 15000 });
    await page.select('[data-testid=reports-period]', 'last_30_days');
    const own = await t.api.ok('GET', `/api/reports/agents?period=last_30_days&user_id=${users[0]}`);
    await until('her own month is shown', async () =>
      digits(await text(page, '[data-testid=reports-value-calls]').catch(() => '')) === own.totals.calls, 15000, 200);
    assert.equal((await page.$$('[data-testid=reports-agents-row]')).length, 1);
    assert.equal(await page.$('[data-testid=reports-queues]'), null, 'no queue section for an agent');
    assert.equal(await page.$('[data-testid=reports-filter-user]'), null, 'no agent filter for an agent');
    await page.close();
  });

  it('the home dashboard shows today and the wallboard follows the team live', async () => {
    const dash = await t.api.ok('GET', '/api/reports/dashboard');
    const page = await chromium.newPage();
    page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    await page.setViewport({ width: 1366, height: 900 });
    await open(page, t.account, 'boss', t.password, '/');
    await page.waitForSelector('[data-testid=dash-team]', { timeout: 15000 });
    await until('the team figures are today\'s', async () =>
      digits(await text(page, '[data-testid=dash-team-calls]').catch(() => '')) === dash.team.figures.calls, 15000, 200);
    assert.equal(digits(await text(page, '[data-testid=dash-team-waiting]')), 2, 'two callers wait in Sales');
    await screenshot(page, 'dashboard');

    await page.setViewport({ width: 1920, height: 1080 });
    await page.goto(`${BASE}/#/wallboard`, { waitUntil: 'load' });
    await page.waitForSelector('[data-testid=wallboard-waiting]', { timeout: 15000 });
    await until('the wallboard shows the two waiting callers', async () =>
      digits(await text(page, '[data-testid=wallboard-waiting]').catch(() => '')) === 2, 15000, 200);
    // The longest wait ticks on its own (95 s and more).
    const longest = await text(page, '[data-testid=wallboard-longest]');
    const [, m, sec] = longest.match(/(\d+):(\d\d)/) ?? [];
    assert.ok(Number(m) * 60 + Number(sec) >= 95, `the longest wait is the first caller's, 95 s and more: ${longest}`);
    const count = async (state) => digits(await text(page, `[data-testid=wallboard-agents-${state}]`).catch(() => ''));
    const [offline, available, onBreak] = [await count('offline'), await count('available'), await count('break')];
    // Boris's desk phone registers: he is available, live, without a reload.
    deskPhone = startBaresip(creds[1].sip_login, creds[1].sip_password);
    await until('the wallboard counts Boris available', async () =>
      (await count('available')) === available + 1 && (await count('offline')) === offline - 1, 20000, 200)
      .catch((e) => { throw new Error(`${e.message}\nbaresip log:\n${deskPhone.log().slice(-2000)}`); });
    // He goes on a break: the wallboard follows.
    const b = new Api();
    await b.ok('POST', '/api/auth/login', { account: t.account, login: 'boris', password: 'Agent-pass-12345' });
    await b.ok('PUT', '/api/telephony/me/state', { state: 'break', reason: 'Lunch' });
    await until('the wallboard counts Boris on a break', async () =>
      (await count('break')) === onBreak + 1 && (await count('available')) === available, 10000, 200);
    await screenshot(page, 'wallboard');
    await page.close();
  });
});
