/**
 * Estimated MOS from what the browser measures: the ITU-T G.107 E-model reduced to the three
 * figures a call has (loss, jitter, round trip), as VoIP monitors commonly do it. The codec's own
 * impairment is left out (Opus and G.711 with loss concealment are both near zero), so a perfect
 * network scores about 4.4 — the ceiling of narrow-band telephony on the MOS scale.
 */
export interface NetFigures {
  /** Share of packets lost over the window, 0–100. */
  lossPct: number;
  jitterMs: number;
  /** Round trip; null when not known yet (counted as 0). */
  rttMs: number | null;
}

/** The E-model's transmission rating R (0–100). */
export function rating({ lossPct, jitterMs, rttMs }: NetFigures): number {
  // One-way delay the listener feels: half the round trip, the jitter buffer (about twice the
  // jitter) and the codec's framing.
  const delay = (rttMs ?? 0) / 2 + 2 * jitterMs + 10;
  const delayImpairment = delay < 160 ? delay / 40 : (delay - 120) / 10;
  // G.107's effective equipment impairment for random loss: Ie 0 and a packet-loss robustness
  // Bpl of 25.1 (G.711 with loss concealment, G.113 Appendix I).
  const loss = Math.min(Math.max(lossPct, 0), 100);
  const lossImpairment = (95 * loss) / (loss + 25.1);
  return Math.min(Math.max(93.2 - delayImpairment - lossImpairment, 0), 100);
}

/** MOS (1–4.5) from R (G.107 Annex B). */
export function mosOf(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

export function estimateMos(f: NetFigures): number {
  return Math.round(mosOf(rating(f)) * 100) / 100;
}

export type QualityLevel = 'good' | 'fair' | 'poor';

/** Good from 4.0 (toll quality), poor below 3.6 (users complain: G.107's "many dissatisfied"). */
export function levelOf(mos: number): QualityLevel {
  return mos >= 4 ? 'good' : mos >= 3.6 ? 'fair' : 'poor';
}
