// The call's media as the tests reach it: the app opened with the microphone's stream kept where a
// test can silence it, and the ICE candidate the call's media took.
import assert from 'node:assert/strict';
import { openApp, waitRegistered } from './lab.mjs';

/**
 * Opens the app as the account's `boss` (like `openApp`) and waits for the phone to register,
 * keeping every microphone stream the app asks for in `window.__testMic`; with
 * `window.__testMicOff` set, new streams start with their track disabled (a microphone that sends
 * silence under the app).
 */
export async function openPhoneKeepingMic(browser, t, { height = 768 } = {}) {
  const { page } = await openApp(browser, t.account, 'boss', t.password, {
    height,
    init: () => {
      const md = navigator.mediaDevices;
      if (!md) return;
      const gum = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        const s = await gum(c);
        if (window.__testMicOff) s.getAudioTracks().forEach((tr) => (tr.enabled = false));
        window.__testMic = s;
        return s;
      };
    },
  });
  await waitRegistered(page, 20000);
  return page;
}

/** The local candidate of the call's selected ICE pair (getStats): type, address, port, relay protocol. */
export async function selectedLocalCandidate(page) {
  const stats = await page.evaluate(() => window.__cbPhone.stats());
  const byId = new Map(stats.map((s) => [s.id, s]));
  const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = transport
    ? byId.get(transport.selectedCandidatePairId)
    : stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  const c = byId.get(pair?.localCandidateId);
  assert.ok(c, `the call's selected candidate pair: ${JSON.stringify(pair)}`);
  return { type: c.candidateType, port: c.port, relayProtocol: c.relayProtocol ?? null, protocol: c.protocol };
}
