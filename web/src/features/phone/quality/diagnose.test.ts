import { describe, expect, it } from 'vitest';
import { Diagnoser, type BrowserSample, type LegCounters, type Problem } from './diagnose';

/** A call simulated every 2 s: packet rates per second and levels per hop. */
interface Hops {
  sent?: number; // browser → Asterisk, as the browser counts it
  agentRx?: number; // … as Asterisk counts it
  otherTx?: number; // Asterisk → the other party
  otherRx?: number; // the other party → Asterisk
  agentTx?: number; // Asterisk → browser
  received?: number; // … as the browser counts it
  lostPerSec?: number;
  mic?: number | null;
  remote?: number | null;
  rttMs?: number;
  jitterMs?: number;
}

function run(hops: Hops, seconds: number, flags = { muted: false, held: false }, withServer = true) {
  const d = new Diagnoser();
  const h = { sent: 50, agentRx: 50, otherTx: 50, otherRx: 50, agentTx: 50, received: 50, lostPerSec: 0, mic: 0.3, remote: 0.3, rttMs: 40, jitterMs: 3, ...hops };
  const total = { sent: 0, received: 0, lost: 0 };
  const agent: LegCounters = { rx_packets: 0, tx_packets: 0 };
  const other: LegCounters = { rx_packets: 0, tx_packets: 0 };
  let last: ReturnType<Diagnoser['browserSample']> | null = null;
  const seen: Problem[][] = [];
  for (let at = 0; at <= seconds * 1000; at += 2000) {
    if (withServer) d.serverSample({ at, agent: { ...agent }, other: { ...other } });
    const b: BrowserSample = {
      at,
      packetsSent: total.sent,
      packetsReceived: total.received,
      packetsLost: total.lost,
      jitterMs: h.jitterMs,
      rttMs: h.rttMs,
      micPeak: h.mic,
      remotePeak: h.remote,
    };
    last = d.browserSample(b, flags);
    seen.push(last.problems);
    total.sent += 2 * h.sent;
    total.received += 2 * h.received;
    total.lost += 2 * h.lostPerSec;
    agent.rx_packets += 2 * h.agentRx;
    agent.tx_packets += 2 * h.agentTx;
    other.rx_packets += 2 * h.otherRx;
    other.tx_packets += 2 * h.otherTx;
  }
  return { d, last: last!, seen };
}

describe('one-way-audio diagnosis', () => {
  it('names nothing on a good call and rates it good', () => {
    const { last, d } = run({}, 20);
    expect(last.problems).toEqual([]);
    expect(last.level).toBe('good');
    expect(last.askServer).toBe(false);
    expect(d.seen.size).toBe(0);
    expect(d.mosMin).toBeGreaterThan(4.3);
  });

  it('names the microphone when the track sends silence, not when the agent muted', () => {
    expect(run({ mic: 0 }, 10).last.problems).toEqual(['mic_silent']);
    expect(run({ mic: 0 }, 10, { muted: true, held: false }).last.problems).toEqual([]);
    expect(run({ mic: 0 }, 4).last.problems).toEqual([]); // a pause is not a fault
    expect(run({ mic: null }, 10).last.problems).toEqual([]); // no level, no claim
  });

  it('names the carrier side when its audio does not reach the server, whether or not Asterisk fills in silence', () => {
    expect(run({ otherRx: 0, agentTx: 0, received: 0, remote: null }, 8).last.problems).toEqual(['other_to_server']);
    expect(run({ otherRx: 0, remote: 0 }, 8).last.problems).toEqual(['other_to_server']);
  });

  it('names the network to the browser when Asterisk sends and the browser gets nothing', () => {
    const { last } = run({ received: 0, remote: null }, 6);
    expect(last.problems).toEqual(['server_to_browser']);
    expect(last.askServer).toBe(true);
  });

  it('names the other party when their line sends silence that arrives', () => {
    const { last, seen } = run({ remote: 0 }, 10);
    expect(last.problems).toEqual(['other_silent']);
    expect(seen[1]).toEqual([]); // not before five seconds of it
  });

  it('names the way up: the browser sends and Asterisk gets nothing, or Asterisk does not pass it on', () => {
    expect(run({ agentRx: 0 }, 6).last.problems).toEqual(['browser_to_server']);
    expect(run({ otherTx: 0 }, 6).last.problems).toEqual(['server_to_other']);
  });

  it('cannot tell the hop without the server, so it asks and names nothing', () => {
    const { last } = run({ received: 0, remote: null }, 8, { muted: false, held: false }, false);
    expect(last.problems).toEqual([]);
    expect(last.askServer).toBe(true);
  });

  it('says nothing on hold', () => {
    expect(run({ received: 0, sent: 0, agentRx: 0, otherRx: 0, remote: 0, mic: 0 }, 10, { muted: false, held: true }).last.problems).toEqual([]);
  });

  it('warns of poor quality after two poor readings and keeps it for the summary', () => {
    const { last, d } = run({ lostPerSec: 6, jitterMs: 40, rttMs: 300 }, 6);
    expect(last.level).toBe('poor');
    expect(last.problems).toEqual(['poor_quality']);
    expect([...d.seen]).toEqual(['poor_quality']);
    expect(d.mosAvg).toBeLessThan(3.6);
  });
});
