import { describe, expect, it, vi } from 'vitest';
import { runPreflight, toReport, type PreflightReport } from './run';

/** A peer connection whose stats say: packets back growing, some loss, jitter and a round trip. */
function fakePc(received: number, lost: number) {
  let n = 0;
  return {
    getSenders: () => [],
    getReceivers: () => [],
    getStats: async () => {
      n += 1;
      const m = new Map<string, unknown>([
        ['o', { type: 'outbound-rtp', kind: 'audio', packetsSent: 50 * n }],
        ['i', { type: 'inbound-rtp', kind: 'audio', packetsReceived: received * n, packetsLost: lost * n, jitter: 0.003 }],
        ['p', { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.02 }],
      ]);
      return m as unknown as RTCStatsReport;
    },
  } as unknown as RTCPeerConnection;
}

describe('running a preflight', () => {
  it('measures for the duration, hangs up, judges and stores the result', async () => {
    const hangup = vi.fn();
    const reports: PreflightReport[] = [];
    const r = await runPreflight({
      startTest: async () => ({ pc: fakePc(50, 0), ended: new Promise(() => undefined), hangup }),
      report: async (x) => void reports.push(x),
      durationMs: 5000,
      sleep: async () => undefined,
    });
    expect(hangup).toHaveBeenCalledOnce();
    // No Web Audio in the test environment: the packets coming back decide.
    expect(r).toMatchObject({ verdict: 'good', audioBack: true, lossPct: 0, jitterMs: 3, rttMs: 20, saved: true });
    expect(reports).toEqual([expect.objectContaining({ verdict: 'good', audio_back: true, rtt_ms: 20, loss_pct: 0, jitter_ms: 3 })]);
  });

  it('gives "no audio back" when nothing returns, and says when the server did not store it', async () => {
    const r = await runPreflight({
      startTest: async () => ({ pc: fakePc(0, 0), ended: new Promise(() => undefined), hangup: () => undefined }),
      report: async () => {
        throw new Error('offline');
      },
      durationMs: 3000,
      sleep: async () => undefined,
    });
    expect(r).toMatchObject({ verdict: 'no_audio', advice: 'no_media', audioBack: false, saved: false });
  });

  it('names the browser in the report', () => {
    const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
    const o = { verdict: 'fair', advice: 'fair', audioBack: true, micHeard: true, lossPct: 3, jitterMs: 4, rttMs: 80, mos: 3.9 } as const;
    expect(toReport(o, ua)).toEqual({ rtt_ms: 80, loss_pct: 3, jitter_ms: 4, mos: 3.9, verdict: 'fair', audio_back: true, browser: 'Firefox 128' });
  });
});
