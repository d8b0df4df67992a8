import { describe, expect, it } from 'vitest';
import { estimateMos, levelOf, mosOf, rating } from './mos';

describe('estimated MOS', () => {
  it('is about 4.4 on a clean network', () => {
    const m = estimateMos({ lossPct: 0, jitterMs: 2, rttMs: 20 });
    expect(m).toBeGreaterThan(4.3);
    expect(m).toBeLessThanOrEqual(4.5);
    expect(levelOf(m)).toBe('good');
  });

  it('falls with loss: 5 % is fair, 10 % is poor', () => {
    const clean = estimateMos({ lossPct: 0, jitterMs: 5, rttMs: 50 });
    const three = estimateMos({ lossPct: 3, jitterMs: 5, rttMs: 50 });
    const five = estimateMos({ lossPct: 5, jitterMs: 5, rttMs: 50 });
    const ten = estimateMos({ lossPct: 10, jitterMs: 5, rttMs: 50 });
    expect(three).toBeLessThan(clean);
    expect(five).toBeLessThan(three);
    expect(levelOf(five)).toBe('fair');
    expect(levelOf(ten)).toBe('poor');
  });

  it('falls with delay past 160 ms one way much faster than below it', () => {
    const r = (rtt: number) => rating({ lossPct: 0, jitterMs: 0, rttMs: rtt });
    expect(r(100) - r(200)).toBeLessThan(3); // 60 → 110 ms one way
    expect(r(400) - r(600)).toBeGreaterThan(9); // 210 → 310 ms one way
    expect(levelOf(estimateMos({ lossPct: 0, jitterMs: 30, rttMs: 800 }))).toBe('poor');
  });

  it('stays within 1 and 4.5 whatever comes in', () => {
    expect(mosOf(-5)).toBe(1);
    expect(mosOf(120)).toBe(4.5);
    expect(estimateMos({ lossPct: 100, jitterMs: 1000, rttMs: 5000 })).toBe(1);
    expect(estimateMos({ lossPct: -3, jitterMs: 0, rttMs: null })).toBeLessThanOrEqual(4.5);
  });
});
