// Settings → Integrations end to end (issue #21). In Chromium the administrator saves the screen-pop
// template (opening by itself when a call rings), creates an API key (its secret shown once, and it
// works against /api/v1 within its scopes), is refused a webhook endpoint on the lab's private
// address and adds one the lab allows; then the carrier calls the agent: the CRM page opens by
// itself in a new window whose URL carries the caller's number (URL-encoded), the call's id and
// dir=inbound, the call card offers "Open in CRM", and the endpoint's delivery log holds the
// call.ringing event. In Firefox the same call opens the CRM window too. Screenshot: integrations.
//
// The lab has no DNS (a lookup takes the resolver's 12 s timeout), so the browsers are told the CRM
// host (crm.example.test) at once: Chromium that it does not exist, Firefox that it is 127.0.0.1 (no
// one listens). The window opens on an error page at once; only its URL is judged — Chromium's
// target keeps the URL, Firefox's is `about:neterror?…&u=<the URL>`. The webhook's host does not
// resolve either: the server accepts a name it cannot resolve yet (its deliveries fail and say
// why), after the resolver's timeout (5–12 s here).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, carrierAmi, env, launch, openApp, screenshot, sleep, tenantWithTrunk, until, waitRegistered, DID } from './lab.mjs';

const CALLER = '79161234567';
const TEMPLATE = 'https://crm.example.test/find?phone={caller}&call={call_id}&dir={direction}';
const CRM = 'https://crm.example.test/';
const PRIVATE_HOOK = `https://${env('CALLBASE_E2E_LAB_ADDR')}/callbase`;
const HOOK = 'https://hooks.example.com/callbase';

/** Clicks the button whose text is `text` (inside `within`, a selector). */
async function clickButton(page, text, within = 'body') {
  const clicked = await page.evaluate((text, within) => {
    const b = [...document.querySelectorAll(`${within} button`)].find((x) => x.textContent.trim() === text);
    b?.click();
    return !!b;
  }, text, within);
  assert.ok(clicked, `a button "${text}" in ${within}`);
}

const textOf = (page, sel) => page.$eval(sel, (e) => e.textContent).catch(() => '');

/** The carrier calls the tenant's DID from `CALLER`. */
function ring(carrier) {
  return carrier.action('Originate', {
    Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
    Context: 'carrier-test', Exten: '9999', Priority: '1', Async: 'true', CallerID: CALLER,
  });
}

/** The URL a window was opened at: its own, or the one Firefox's error page names (`u=`). */
function openedAt(targetUrl) {
  if (targetUrl.startsWith('about:neterror?')) return new URLSearchParams(targetUrl.slice('about:neterror?'.length)).get('u') ?? '';
  return targetUrl;
}

/**
 * Waits for the window the screen-pop opens (a target at the CRM's URL); resolves with the target
 * and the URL it was opened at. Every new target's URL is in the failure message.
 */
async function crmWindow(browser, ms = 10000) {
  const seen = [];
  const note = (tg) => seen.push(`${tg.type()} ${tg.url()}`);
  browser.on('targetcreated', note);
  browser.on('targetchanged', note);
  try {
    const target = await browser.waitForTarget((tg) => openedAt(tg.url()).startsWith(CRM), { timeout: ms });
    return { target, url: openedAt(target.url()) };
  } catch (e) {
    throw new Error(`${e.message}; new targets seen: ${JSON.stringify(seen)}`);
  } finally {
    browser.off('targetcreated', note);
    browser.off('targetchanged', note);
  }
}

/** The newest inbound call record (the ringing one). */
async function newestInbound(t) {
  return until('the inbound call record', async () => (await t.api.ok('GET', '/api/calls?direction=inbound&per_page=1')).items[0], 10000);
}

/** The popped URL carries the caller (URL-encoded), the call id and the direction. */
function assertPopUrl(raw, call) {
  const u = new URL(raw);
  assert.equal(`${u.origin}${u.pathname}`, 'https://crm.example.test/find', raw);
  assert.equal(call.number, `+${CALLER}`, `the call record's number: ${JSON.stringify(call)}`);
  assert.ok(raw.includes(`phone=${encodeURIComponent(`+${CALLER}`)}`), `the caller URL-encoded (%2B…): ${raw}`);
  assert.equal(u.searchParams.get('phone'), `+${CALLER}`, raw);
  assert.equal(u.searchParams.get('call'), call.id, raw);
  assert.equal(u.searchParams.get('dir'), 'inbound', raw);
}

async function hangupAndClose(page) {
  const b = await page.$('[data-testid=phone-hangup]');
  if (b) await b.click();
  await until('the call ended in the page', async () => !(await page.$('[data-testid=phone-call]')), 10000);
  await until('the card says the call ended', async () => (await page.$eval('[data-testid=call-card]', (e) => e.dataset.state).catch(() => null)) === 'ended', 10000);
  await page.click('[data-testid=call-card] button[aria-label="Close"]');
}

/**
 * A carrier call rings `page`'s phone: the CRM window opens by itself with the call's values, the
 * call card offers "Open in CRM" and no blocked pop-up notice; then the call is answered and hung up.
 */
async function popsOnRing(browser, page, t, carrier) {
  const popped = crmWindow(browser);
  popped.catch(() => undefined); // awaited below; not an unhandled rejection if the phone never rings
  const rang = Date.now();
  await ring(carrier);
  await page.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
  const { target, url } = await popped;
  console.log(`# carrier call → CRM window ${Date.now() - rang} ms: ${url}`);
  const call = await newestInbound(t);
  assertPopUrl(url, call);
  await page.waitForSelector('[data-testid=call-card] [data-testid=screen-pop-open]', { timeout: 10000 });
  assert.equal(await page.$('[data-testid=screen-pop-blocked]'), null, 'no blocked pop-up notice');
  await (await target.page())?.close();
  await page.click('[data-testid=phone-answer]');
  await until('answered', async () => (await page.$eval('[data-testid=call-card]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
  await hangupAndClose(page);
}

describe('chromium: Settings → Integrations and the screen-pop', () => {
  let browser;
  let page;
  let t;
  let carrier;

  before(async () => {
    t = await tenantWithTrunk();
    carrier = await carrierAmi();
    browser = await launch('chromium', 1000, { args: ['--host-resolver-rules=MAP crm.example.test ~NOTFOUND'] });
    page = (await openApp(browser, t.account, 'boss', t.password)).page;
    await waitRegistered(page, 20000);
    await page.evaluate(() => { location.hash = '#/integrations'; });
    await page.waitForSelector('[data-testid=api-keys]', { timeout: 15000 });
  });
  after(async () => {
    carrier?.close();
    await browser?.close();
    await t?.removeTrunk();
  });

  it('saves the screen-pop template, opening by itself when a call rings', async () => {
    await page.waitForSelector('#pop-template', { timeout: 10000 });
    await page.type('#pop-template', TEMPLATE);
    await page.select('#pop-open', 'ringing');
    await page.click('[data-testid=pop-save]');
    await until('Saved.', async () => (await textOf(page, '[data-testid=screen-pop-settings]')).includes('Saved.'), 10000);
    assert.deepEqual(await t.api.ok('GET', '/api/integrations/screen-pop'), { url_template: TEMPLATE, open_on: 'ringing' });
  });

  it('creates an API key whose secret is shown once, and the key works within its scopes', async () => {
    await page.click('[data-testid=key-new]');
    await page.waitForSelector('#key-name', { timeout: 5000 });
    await page.type('#key-name', 'CRM sync');
    await page.click('[data-testid="scope-calls:read"]');
    await page.click('[data-testid=key-create]');
    const secret = await until('the secret is shown', async () => (await textOf(page, '[data-testid=secret-value]')).trim(), 10000);
    assert.match(secret, /^cbk_/);
    assert.match(await textOf(page, '[data-testid=secret-once]'), /it will not be shown again/);
    await clickButton(page, 'Done, I have copied it');
    await until('the dialog closed', async () => !(await page.$('[data-testid=secret-once]')), 5000);

    // The list shows the key by its prefix; the secret is nowhere on the page or in the API's list.
    const row = await until('the key listed', async () => textOf(page, '[data-testid=key-row]'), 10000);
    const [key] = await t.api.ok('GET', '/api/integrations/keys');
    assert.ok(row.includes('CRM sync') && row.includes(key.prefix) && row.includes('Active'), row);
    assert.ok(secret.startsWith(key.prefix), `${key.prefix} starts ${secret.slice(0, 12)}…`);
    assert.ok(!(await page.content()).includes(secret), 'the secret is gone from the page');
    assert.ok(!JSON.stringify(await t.api.ok('GET', '/api/integrations/keys')).includes(secret));

    // It opens the public API within its scope, and nothing else.
    const v1 = async (p) => (await fetch(`${BASE}${p}`, { headers: { authorization: `Bearer ${secret}` } })).status;
    assert.equal(await v1('/api/v1/calls'), 200);
    assert.equal(await v1('/api/v1/users'), 403);
  });

  it('refuses a webhook endpoint on the private network, and adds one the lab allows', async () => {
    await page.click('[data-testid=hook-new]');
    await page.waitForSelector('#hook-url', { timeout: 5000 });
    await page.type('#hook-url', PRIVATE_HOOK);
    await page.click('[data-testid="event-call.ringing"]');
    await page.click('[data-testid="event-call.ended"]');
    await page.click('[data-testid=hook-save]');
    const refusal = await until('the refusal on the URL field', async () => textOf(page, '#hook-url-error'), 10000);
    assert.match(refusal, /private network that callbase may not call/, refusal);
    assert.equal(await page.$eval('#hook-url', (e) => e.getAttribute('aria-invalid')), 'true');

    await page.click('#hook-url', { count: 3 });
    await page.type('#hook-url', HOOK);
    const saved = Date.now();
    await page.click('[data-testid=hook-save]');
    const secret = await until('the signing secret is shown', async () => (await textOf(page, '[data-testid=secret-value]')).trim(), 30000);
    console.log(`# webhook saved in ${Date.now() - saved} ms (the server resolves the host first)`);
    assert.match(secret, /^whsec_/);
    await clickButton(page, 'Done, I have copied it');
    const row = await until('the endpoint listed', async () => textOf(page, '[data-testid=hook-row]'), 10000);
    assert.ok(row.includes(HOOK) && row.includes('call.ringing') && row.includes('Enabled'), row);
    assert.ok(!(await page.content()).includes(secret), 'the signing secret is gone from the page');

    await page.setViewport({ width: 1440, height: 1280 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await sleep(300);
    await screenshot(page, 'integrations');
    await page.setViewport({ width: 1366, height: 768 });
  });

  it('a carrier call opens the CRM page by itself with the caller, the call id and dir=inbound', async () => {
    await popsOnRing(browser, page, t, carrier);

    // The endpoint got the call's events in its queue: the delivery log lists call.ringing.
    await clickButton(page, 'Delivery log', '[data-testid=hook-row]');
    await until('the delivery log lists call.ringing', async () =>
      (await page.$$eval('[data-testid=delivery-row]', (rows) => rows.map((r) => r.textContent))).some((r) => r.includes('call.ringing')), 15000);
  });
});

describe('firefox: the screen-pop opens when a call rings', () => {
  let browser;
  let page;
  let t;
  let carrier;

  before(async () => {
    t = await tenantWithTrunk();
    await t.api.ok('PUT', '/api/integrations/screen-pop', { url_template: TEMPLATE, open_on: 'ringing' });
    carrier = await carrierAmi();
    browser = await launch('firefox', 1000, { prefs: { 'network.dns.localDomains': 'crm.example.test' } });
    page = (await openApp(browser, t.account, 'boss', t.password)).page;
    await waitRegistered(page, 20000);
  });
  after(async () => {
    carrier?.close();
    await browser?.close();
    await t?.removeTrunk();
  });

  it('a carrier call opens the CRM window with the caller, the call id and dir=inbound', async () => {
    await popsOnRing(browser, page, t, carrier);
  });
});
