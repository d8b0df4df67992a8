// CRM telephony end to end (issue #6), in Chromium: clicking the handset of a client's phone in the
// CRM table places the call through the trunk and the call card shows the client; a call from that
// client's number rings the browser with the card; an agent who sees numbers masked calls the client
// by reference (the carrier gets the real number; the page never shows it); with the phone, a call
// card and the trunks page open the tab holds one /events socket; a speed dial entry is dialled by
// reference the same way (issue #18). Screenshots of the CRM page and
// the call card.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { carrierAmi, env, launch, openApp, screenshot, sleep, tenantWithTrunk, until, waitRegistered, DID, soundOn } from './lab.mjs';

const CLIENT_NUMBER = '79161234567';

async function hangup(page) {
  const b = await page.$('[data-testid=phone-hangup]');
  if (b) await b.click();
  await until('call ended in the page', async () => !(await page.$('[data-testid=phone-call]')), 10000);
}

async function clickHandset(page, recordId, fieldId) {
  const row = await page.waitForSelector(`[data-testid="rec-${recordId}"]`, { timeout: 10000 });
  await row.hover();
  const clicked = Date.now();
  await page.click(`[data-testid="dial-${recordId}-${fieldId}"]`);
  return clicked;
}

async function cardText(page) {
  return page.$eval('[data-testid=call-card]', (e) => e.textContent).catch(() => '');
}

describe('chromium: CRM click-to-call and call card', () => {
  let browser;
  let page;
  let t;
  let carrier;
  let table;
  let client;
  let phoneField;

  before(async () => {
    t = await tenantWithTrunk();
    carrier = await carrierAmi();
    const tables = await t.api.ok('GET', '/api/crm/tables');
    table = tables.find((x) => x.name === 'Clients');
    const f = (n) => String(table.fields.find((x) => x.name === n).id);
    phoneField = Number(f('Phone'));
    client = await t.api.ok('POST', `/api/crm/tables/${table.id}/records`, {
      values: { [f('Name')]: 'Anna Petrova', [f('Phone')]: '8 (916) 123-45-67', [f('E-mail')]: 'anna@example.com', [f('Status')]: 'client', [f('Manager')]: t.adminId },
    });
    await t.api.ok('POST', `/api/crm/tables/${table.id}/records`, { values: { [f('Name')]: 'Boris Orlov', [f('Phone')]: '+7 495 765-43-21', [f('Status')]: 'new' } });
    // A speed dial entry for the administrators' group (issue #18), in the phone from the start.
    const admins = (await t.api.ok('GET', '/api/groups')).find((g) => g.name === 'Administrator');
    await t.api.ok('POST', '/api/telephony/speed-dials', { group_id: admins.id, name: 'Head office', number: '+7 495 765-43-21' });
    browser = await launch('chromium', 1000);
    page = (await openApp(browser, t.account, 'boss', t.password)).page;
    await waitRegistered(page, 20000);
  });
  after(async () => {
    carrier?.close();
    await browser?.close();
    await t?.removeTrunk();
  });

  it('the handset in the CRM table calls the client through the trunk and the card shows them', async () => {
    await page.evaluate((id) => { location.hash = `#/crm?table=${id}`; }, table.id);
    await page.waitForSelector(`[data-testid="rec-${client.id}"]`, { timeout: 10000 });
    await screenshot(page, 'crm');
    const invites = carrier.collect((m) => m.Event === 'Newchannel' && String(m.Exten || '').includes('9161234567'));
    const clicked = await clickHandset(page, client.id, phoneField);
    await until('the carrier got the INVITE for the client', async () => invites.events.length > 0, 15000);
    console.log(`# handset click → INVITE at the carrier ${invites.events[0].at - clicked} ms`);
    invites.stop();
    await until('call answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 15000);
    await until('the call card shows the client', async () => (await cardText(page)).includes('Anna Petrova'), 10000);
    const text = await cardText(page);
    assert.ok(text.includes('client') && text.includes('anna@example.com') && text.includes('Boss Lab'), text);
    await sleep(500); // the card's slide-in animation
    await screenshot(page, 'call-card');
    await hangup(page);
    await until('the card says the call ended', async () => (await page.$eval('[data-testid=call-card]', (e) => e.dataset.state).catch(() => null)) === 'ended', 10000);
    // The call record is linked to the client it was placed from.
    const calls = await t.api.ok('GET', '/api/calls?direction=outbound&per_page=1');
    assert.equal(calls.items[0].number, `+${CLIENT_NUMBER}`);
    await page.click('[data-testid=call-card] button[aria-label="Close"]');
  });

  it("a call from the client's number rings with the client on the card", async () => {
    await carrier.action('Originate', {
      Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
      Context: 'carrier-test', Exten: '9999', Priority: '1', Async: 'true', CallerID: CLIENT_NUMBER,
    });
    await page.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
    await until('the card pops up with the client while it rings', async () => (await cardText(page)).includes('Anna Petrova'), 10000);
    assert.equal(await page.$eval('[data-testid=call-card]', (e) => e.dataset.state), 'ringing');
    await page.click('[data-testid=phone-answer]');
    await until('answered', async () => (await page.$eval('[data-testid=call-card]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
    await sleep(1000);
    await hangup(page);
    await page.click('[data-testid=call-card] button[aria-label="Close"]');
  });

  it("the client's record lists both calls with them, newest first, with Call again", async () => {
    await page.$eval(`[data-testid="rec-${client.id}"]`, (e) => e.click());
    const items = async () => page.$$eval('[data-testid=client-calls] li[data-testid^=client-call-]', (l) => l.map((e) => e.textContent));
    await until('the record lists the two calls', async () => (await items()).length >= 2, 10000).catch(async (e) => {
      console.log(`# record dialog: ${await page.evaluate(() => document.querySelector('[data-testid=client-calls]')?.outerHTML ?? document.body.innerText.slice(0, 2000))}`);
      throw e;
    });
    const [newest, older] = await items();
    assert.match(newest, /Boss Lab/, newest);
    assert.ok(older, 'the first call is listed too');
    assert.ok(await page.$('[data-testid=client-redial]'), 'Call again is offered');
    await page.$eval('[data-testid=client-calls]', (e) => e.scrollIntoView({ block: 'end' }));
    await sleep(300);
    await screenshot(page, 'crm-history');
    await page.keyboard.press('Escape');
  });

  it('the tab has ONE /events socket with the phone, a call card and the trunks page open', async () => {
    // Chromium's DevTools protocol sees every WebSocket the page opens; attach, then load afresh.
    const cdp = await page.createCDPSession();
    const events = new Map();
    cdp.on('Network.webSocketCreated', ({ requestId, url }) => {
      if (new URL(url).pathname === '/events') events.set(requestId, { url, closed: false });
    });
    cdp.on('Network.webSocketClosed', ({ requestId }) => {
      const ws = events.get(requestId);
      if (ws) ws.closed = true;
    });
    await cdp.send('Network.enable');
    try {
      await page.reload({ waitUntil: 'load' });
      await soundOn(page);
      await waitRegistered(page, 20000);
      await page.evaluate(() => { location.hash = '#/telephony/trunks'; });
      await page.waitForSelector('.trunk-card', { timeout: 10000 });
      await carrier.action('Originate', {
        Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
        Context: 'carrier-test', Exten: '9999', Priority: '1', Async: 'true', CallerID: CLIENT_NUMBER,
      });
      await page.waitForSelector('[data-testid=phone-incoming]', { timeout: 15000 });
      await until('the card pops up while it rings', async () => (await cardText(page)).includes('Anna Petrova'), 10000);
      assert.ok(await page.$('.trunk-card'), 'the trunks page is still open');
      const all = [...events.values()];
      assert.equal(all.length, 1, `/events sockets opened since the reload: ${JSON.stringify(all)}`);
      assert.equal(all[0].closed, false);
      await page.click('[data-testid=phone-answer]');
      await until('answered', async () => (await page.$eval('[data-testid=call-card]', (e) => e.dataset.state).catch(() => null)) === 'answered', 10000);
      await hangup(page);
      await page.click('[data-testid=call-card] button[aria-label="Close"]');
    } finally {
      await cdp.detach().catch(() => undefined);
    }
  });

  it('an agent who sees numbers masked calls by reference: the carrier gets the number, the page never shows it', async () => {
    const groups = await t.api.ok('GET', '/api/groups');
    const admins = groups.find((g) => g.name === 'Administrator');
    const s = await t.api.ok('GET', '/api/crm/settings');
    await t.api.ok('PUT', '/api/crm/settings', { ...s, mask_group_ids: [admins.id], mask_mode: 'prefix', mask_chars: 8 });
    try {
      await page.evaluate(() => { location.hash = '#/'; });
      await page.evaluate((id) => { location.hash = `#/crm?table=${id}`; }, table.id);
      await page.waitForSelector(`[data-testid="rec-${client.id}"]`, { timeout: 10000 });
      const shown = await page.$eval(`[data-testid="rec-${client.id}"]`, (e) => e.textContent);
      assert.ok(!shown.includes('123-45-67') && shown.includes('****'), shown);
      const invites = carrier.collect((m) => m.Event === 'Newchannel' && String(m.Exten || '').includes('9161234567'));
      await clickHandset(page, client.id, phoneField);
      await until('the carrier got the INVITE for the real number', async () => invites.events.length > 0, 15000).catch(async (e) => {
        const phone = await page.$eval('[data-testid=phone]', (el) => el.textContent).catch(() => '(no phone panel)');
        throw new Error(`${e.message}; the phone shows: ${phone}`);
      });
      invites.stop();
      await until('call answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 15000);
      await until('the card shows the client', async () => (await cardText(page)).includes('Anna Petrova'), 10000);
      // The table, the phone's call and the card: none shows the number. (The phone's list of
      // recent calls still holds the number of the unmasked calls above, from this browser.)
      for (const sel of ['[data-testid=crm-table]', '[data-testid=phone-call]', '[data-testid=call-card]']) {
        const text = await page.$eval(sel, (e) => e.textContent);
        assert.ok(!text.includes('9161234567') && !text.includes('916) 123') && !text.includes('123-45-67'), `${sel}: ${text}`);
      }
      await hangup(page);

      // Speed dial, masked too: the phone lists the entry without its number and dials it by
      // reference; the carrier gets the real number.
      await (await page.waitForSelector('[data-testid=phone-speed-dials] summary', { timeout: 5000 })).click();
      const entry = await until('the speed dial entry shows masked', async () => {
        const text = await page.$eval('[data-testid=phone-speed-dial]', (e) => e.textContent).catch(() => '');
        return text.includes('Head office') && text.includes('****') ? text : null;
      }, 5000);
      assert.ok(!entry.includes('765-43') && !entry.includes('4957654321'), entry);
      const sdInvites = carrier.collect((m) => m.Event === 'Newchannel' && String(m.Exten || '').includes('4957654321'));
      await page.click('[data-testid=phone-speed-dial]');
      await until('the carrier got the speed dial INVITE for the real number', async () => sdInvites.events.length > 0, 15000);
      sdInvites.stop();
      await until('speed dial call answered', async () => (await page.$eval('[data-testid=phone-call]', (e) => e.dataset.state).catch(() => null)) === 'answered', 15000);
      const callText = await page.$eval('[data-testid=phone-call]', (e) => e.textContent);
      assert.ok(!callText.includes('765-43') && !callText.includes('7654321'), callText);
      await hangup(page);
    } finally {
      await t.api.ok('PUT', '/api/crm/settings', { ...s, mask_group_ids: [] });
    }
  });
});
