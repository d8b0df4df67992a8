// A real desk phone (issue #5): baresip registers to the platform Asterisk with the credentials the
// API generated, auto-answers a call from the carrier, calls out through the trunk, and the callback
// click-to-call rings it first and then dials the number — from the app and from the public API
// with an API key (issue #21). Audio is proved by the carrier's recording holding baresip's 1 kHz
// tone (Goertzel).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Api, BASE, assertCarrierHeard, baresipCtrl, carrierAmi, env, sleep, sqlValue, startBaresip, tenantWithTrunk, until, DID } from './lab.mjs';

const TONE = 1000;
const ctrl = baresipCtrl;

/** Ends the call from both sides: baresip's own hang-up, and the carrier's (so its recording is
 * finished even if the control command was lost). */
async function hangupAll() {
  await ctrl('hangup').catch(() => undefined);
  await sleep(500);
  await carrierRef.action('Hangup', { Channel: '/^PJSIP\\//' });
}
let carrierRef;

function lastCall(tenantId) {
  return sqlValue(
    `SELECT direction || '|' || coalesce(result, '') || '|' || (answered_at IS NOT NULL) FROM calls WHERE tenant_id = ${Number(tenantId)} ORDER BY started_at DESC LIMIT 1`,
  );
}

describe('desk phone (baresip)', () => {
  let t;
  let phone;
  let carrier;
  let dora;
  let doraApi;

  before(async () => {
    t = await tenantWithTrunk();
    carrier = await carrierAmi();
    carrierRef = carrier;
    const u = await t.api.ok('POST', '/api/users', { login: 'dora', name: 'Dora Desk', email: 'dora@example.com', password: 'Agent-pass-12345', group_ids: [] });
    dora = await t.api.ok('POST', '/api/telephony/users', { user_id: u.id, browser_calls: false });
    doraApi = new Api();
    await doraApi.ok('POST', '/api/auth/login', { account: t.account, login: 'dora', password: 'Agent-pass-12345' });
  });
  after(async () => {
    if (process.env.CALLBASE_E2E_VERBOSE) console.log(phone?.log());
    phone?.proc.kill('SIGTERM');
    carrier?.close();
    await t?.removeTrunk();
  });

  it('registers with the generated credentials', async () => {
    const started = Date.now();
    phone = startBaresip(dora.sip_login, dora.sip_password);
    await until('baresip online', async () => {
      const list = await t.api.ok('GET', '/api/telephony/users');
      return list.find((x) => x.user_id === dora.user_id)?.online.desk;
    }, 20000, 300).catch((e) => {
      throw new Error(`${e.message}\nbaresip log:\n${phone.log().slice(-3000)}`);
    });
    console.log(`# baresip: start → registered ${Date.now() - started} ms`);
  });

  it('rings and auto-answers a call from the carrier; the carrier hears it', async () => {
    const recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    await carrier.action('Originate', {
      Channel: `PJSIP/${DID}@${env('CALLBASE_CARRIER_TRUNK_USER')}`,
      Context: 'carrier-test', Exten: '9996', Priority: '1', Async: 'true', CallerID: '79161234567',
    });
    await until('inbound call answered by baresip', async () => lastCall(t.me.tenant.id).startsWith('inbound|') && lastCall(t.me.tenant.id).endsWith('|true'), 15000, 300);
    await sleep(4000);
    await hangupAll();
    await assertCarrierHeard(recs, TONE);
    recs.stop();
    await until('call record finished', async () => lastCall(t.me.tenant.id) === 'inbound|answered|true', 10000, 300);
  });

  it('calls out through the trunk', async () => {
    const recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    await ctrl('dial', '9996');
    await until('outbound call answered', async () => lastCall(t.me.tenant.id) === 'outbound||true', 15000, 300);
    await sleep(4000);
    await hangupAll();
    await assertCarrierHeard(recs, TONE);
    recs.stop();
  });

  it('callback click-to-call rings the desk phone first, then dials the number', async () => {
    const recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    const carrierInvites = carrier.collect((m) => m.Event === 'Newchannel' && m.Exten === '9996');
    const r = await doraApi.ok('POST', '/api/calls/callback', { number: '9996' });
    assert.ok(r.call_id);
    await until('the number is dialled after the desk phone answered', async () => carrierInvites.events.length > 0, 20000, 200);
    await sleep(4000);
    await hangupAll();
    await assertCarrierHeard(recs, TONE);
    recs.stop();
    carrierInvites.stop();
    // A refused number is refused before anything rings.
    const refused = await doraApi.req('POST', '/api/calls/callback', { number: '810441234567890' });
    assert.equal(refused.status, 422);
  });

  it('POST /api/v1/calls with an API key rings the desk phone first, then the carrier, once per Idempotency-Key', async () => {
    const key = await t.api.ok('POST', '/api/integrations/keys', { name: 'ERP', scopes: ['calls:place'] });
    const place = (idem) =>
      fetch(`${BASE}/api/v1/calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json', 'idempotency-key': idem },
        body: JSON.stringify({ user_id: dora.user_id, number: '9996' }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const recs = carrier.collect((m) => m.Event === 'UserEvent' && m.UserEvent === 'CarrierRecording');
    const carrierInvites = carrier.collect((m) => m.Event === 'Newchannel' && m.Exten === '9996');
    const first = await place('crm-order-7');
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.ok(first.body.call_id);
    await until('the number is dialled after the desk phone answered', async () => carrierInvites.events.length > 0, 20000, 200);
    const again = await place('crm-order-7');
    assert.deepEqual([again.status, again.body.call_id], [202, first.body.call_id], 'a retry gets the first answer');
    await sleep(4000);
    await hangupAll();
    await assertCarrierHeard(recs, TONE);
    assert.equal(carrierInvites.events.length, 1, 'the retry placed no second call');
    recs.stop();
    carrierInvites.stop();
  });
});
