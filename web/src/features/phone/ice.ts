/**
 * When the phone's offer or answer leaves (issue #22, item 7). JsSIP waits for ICE gathering to
 * complete before it sends the SDP (Asterisk takes no trickled candidates), and a browser whose
 * UDP to the TURN server is blocked keeps gathering until the UDP allocation times out — about 40 s
 * in Chromium — while the TCP relay it needs is there after a few hundred milliseconds. JsSIP hands
 * each candidate to the `icecandidate` event with a `ready()` that sends now; this decides when:
 * shortly after the first relay candidate (the other ones arriving in the same moment come along),
 * and in any case a few seconds after the first candidate, so a blocked path never holds a call.
 * Without TURN nothing changes: gathering host candidates completes at once.
 */

/** After the first relay candidate: time for its siblings (UDP and TCP relays, other interfaces). */
export const AFTER_RELAY_MS = 250;
/** After the first candidate, whatever came: host and server-reflexive paths are known by then. */
export const AT_MOST_MS = 3000;

export interface CandidateEvent {
  candidate: { candidate?: string; type?: string | null } | null;
  ready(): void;
}

type Timer = ReturnType<typeof setTimeout>;

/** A handler for one offer or answer's `icecandidate` events. */
export function gatheringPolicy(opts: { setTimer?: (fn: () => void, ms: number) => Timer; clearTimer?: (t: Timer) => void } = {}) {
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t));
  let cap: Timer | null = null;
  let soon: Timer | null = null;
  let sent = false;
  let ready: (() => void) | null = null;
  const send = () => {
    if (sent || !ready) return;
    sent = true;
    if (cap) clearTimer(cap);
    if (soon) clearTimer(soon);
    ready();
  };
  return (e: CandidateEvent) => {
    if (sent) return;
    ready = e.ready;
    cap ??= setTimer(send, AT_MOST_MS);
    const c = e.candidate;
    const relay = c && (c.type === 'relay' || / typ relay /.test(` ${c.candidate ?? ''} `));
    if (relay && !soon) soon = setTimer(send, AFTER_RELAY_MS);
  };
}
