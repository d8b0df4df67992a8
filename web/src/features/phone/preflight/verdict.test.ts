import { describe, expect, it } from 'vitest';
import { judge, type Measured, type Reading } from './verdict';

const talking = (n: number, remote = 0.3): Reading[] => Array.from({ length: n }, () => ({ micPeak: 0.4, remotePeak: remote }));
const clean = (over: Partial<Measured> = {}): Measured => ({
  readings: talking(10),
  packetsReceived: 500,
  packetsLost: 0,
  jitterMs: 2,
  rttMs: 20,
  ...over,
});

describe('preflight verdict', () => {
  it('is good on a clean network with the echo bringing the audio back', () => {
    const o = judge(clean());
    expect(o).toMatchObject({ verdict: 'good', advice: 'good', audioBack: true, micHeard: true, lossPct: 0, jitterMs: 2, rttMs: 20 });
    expect(o.mos).toBeGreaterThan(4.3);
  });

  it('is fair with some loss or a long round trip, poor with heavy loss', () => {
    expect(judge(clean({ packetsReceived: 475, packetsLost: 25 })).verdict).toBe('fair');
    expect(judge(clean({ rttMs: 500, jitterMs: 20 })).verdict).toBe('fair');
    const poor = judge(clean({ packetsReceived: 450, packetsLost: 50 }));
    expect(poor).toMatchObject({ verdict: 'poor', advice: 'poor', lossPct: 10 });
    expect(judge(clean({ rttMs: 900, jitterMs: 60 })).verdict).toBe('poor');
  });

  it('never calls 5 % loss good', () => {
    // A short round trip would otherwise keep the MOS at 4.0.
    const o = judge(clean({ packetsReceived: 950, packetsLost: 50, jitterMs: 0, rttMs: 1 }));
    expect(o.lossPct).toBe(5);
    expect(o.verdict).not.toBe('good');
  });

  it('says "no audio back" when the microphone sends silence', () => {
    const readings = Array.from({ length: 10 }, () => ({ micPeak: 0, remotePeak: 0 }));
    const o = judge(clean({ readings }));
    expect(o).toMatchObject({ verdict: 'no_audio', advice: 'mic_silent', audioBack: false, micHeard: false });
    // The network figures are still shown.
    expect(o.rttMs).toBe(20);
  });

  it('says "no audio back" when the mic sends sound but nothing comes back', () => {
    expect(judge(clean({ readings: talking(10, 0) }))).toMatchObject({ verdict: 'no_audio', advice: 'no_echo', micHeard: true });
    const none = judge(clean({ packetsReceived: 0, packetsLost: 0, rttMs: null, jitterMs: null }));
    expect(none).toMatchObject({ verdict: 'no_audio', advice: 'no_media', lossPct: null, mos: null });
  });

  it('needs sound both ways in two readings: one click is not an echo', () => {
    const readings = [{ micPeak: 0.4, remotePeak: 0.2 }, ...talking(9, 0)];
    expect(judge(clean({ readings })).verdict).toBe('no_audio');
    const two = [{ micPeak: 0.4, remotePeak: 0.2 }, { micPeak: 0.4, remotePeak: 0.2 }, ...talking(8, 0)];
    expect(judge(clean({ readings: two })).verdict).toBe('good');
  });

  it('trusts the packets coming back where levels cannot be measured', () => {
    const readings = Array.from({ length: 10 }, () => ({ micPeak: null, remotePeak: null }));
    expect(judge(clean({ readings })).verdict).toBe('good');
  });
});
