/**
 * Preflight (issue #22, item 5): the verdict of a test call to the platform echo (`*43`). Pure:
 * the runner (`run.ts`) feeds it what it measured; tests feed it numbers.
 *
 * Whether the echo brought the agent's own audio back decides first: the microphone must send
 * sound, and while it does the remote level must not be silence. Then the network figures give
 * an estimated MOS (the call-quality E-model, `quality/mos.ts`) and its level: good from 4.0,
 * poor below 3.6. Loss of 5 % or more is never good, whatever the MOS says (bursts of it are
 * what agents hear first).
 */
import { estimateMos, levelOf } from '../quality/mos';

export type PreflightVerdict = 'good' | 'fair' | 'poor' | 'no_audio';

/** What to tell the agent, beside the verdict. */
export type Advice = 'good' | 'fair' | 'poor' | 'mic_silent' | 'no_media' | 'no_echo';

/** One reading during the test (about every second). */
export interface Reading {
  /** Peak level (0–1) of the microphone's track and of the audio coming back; null when not measurable. */
  micPeak: number | null;
  remotePeak: number | null;
}

export interface Measured {
  readings: Reading[];
  /** RTP packets received from the echo over the test. */
  packetsReceived: number;
  packetsLost: number;
  /** Average jitter and round trip over the test (null when the browser gave none). */
  jitterMs: number | null;
  rttMs: number | null;
}

export interface PreflightOutcome {
  verdict: PreflightVerdict;
  advice: Advice;
  audioBack: boolean;
  /** Whether the microphone sent sound at all. */
  micHeard: boolean;
  lossPct: number | null;
  jitterMs: number | null;
  rttMs: number | null;
  mos: number | null;
}

/** Below this peak (0–1) a level is silence (as the call diagnosis counts it). */
export const SILENT = 0.001;
/** Readings with sound both ways needed for "audio back" (one could be a click). */
export const BOTH_WAYS = 2;
/** Loss that is never good. */
const LOSS_NOT_GOOD = 5;

const sound = (p: number | null) => p !== null && p >= SILENT;
const round1 = (x: number) => Math.round(x * 10) / 10;

export function judge(m: Measured): PreflightOutcome {
  const expected = m.packetsReceived + m.packetsLost;
  const lossPct = expected > 0 ? round1((100 * m.packetsLost) / expected) : null;
  const jitterMs = m.jitterMs === null ? null : round1(m.jitterMs);
  const rttMs = m.rttMs === null ? null : round1(m.rttMs);
  const micHeard = m.readings.some((r) => sound(r.micPeak));
  // Levels the browser cannot measure (no Web Audio): the packets coming back are all there is.
  const measurable = m.readings.some((r) => r.micPeak !== null && r.remotePeak !== null);
  const bothWays = m.readings.filter((r) => sound(r.micPeak) && sound(r.remotePeak)).length;
  const audioBack = m.packetsReceived > 0 && (measurable ? bothWays >= BOTH_WAYS : true);
  const base = { audioBack, micHeard, lossPct, jitterMs, rttMs };
  if (!audioBack) {
    const advice: Advice = m.packetsReceived === 0 ? 'no_media' : measurable && !micHeard ? 'mic_silent' : 'no_echo';
    const mos = m.packetsReceived > 0 ? estimateMos({ lossPct: lossPct ?? 0, jitterMs: jitterMs ?? 0, rttMs }) : null;
    return { ...base, verdict: 'no_audio', advice, mos };
  }
  const mos = estimateMos({ lossPct: lossPct ?? 0, jitterMs: jitterMs ?? 0, rttMs });
  let verdict: PreflightVerdict = levelOf(mos);
  if (verdict === 'good' && (lossPct ?? 0) >= LOSS_NOT_GOOD) verdict = 'fair';
  return { ...base, verdict, advice: verdict as Advice, mos };
}
