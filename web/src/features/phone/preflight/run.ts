/**
 * Runs a preflight: a test call to the platform echo (`PhoneController.startTest`, `*43`) for about
 * ten seconds with the chosen microphone. Every second it reads `getStats` (packets, loss, jitter,
 * the ICE pair's round trip or RTCP's) and the levels of the microphone and of the audio coming
 * back, then hangs up, lets {@link judge} give the verdict and stores the result on the server
 * (`POST /api/phone/preflight`) for the administrators.
 */
import type { TestCall } from '../types';
import { LevelMeter, browserCounters, browserName } from '../quality/monitor';
import { judge, type PreflightOutcome, type Reading } from './verdict';

export interface PreflightReport {
  rtt_ms: number | null;
  loss_pct: number | null;
  jitter_ms: number | null;
  mos: number | null;
  verdict: PreflightOutcome['verdict'];
  audio_back: boolean;
  browser: string | null;
}

export interface PreflightDeps {
  startTest(): Promise<TestCall>;
  report(r: PreflightReport): Promise<void>;
  /** How long the test talks (10 s). */
  durationMs?: number;
  everyMs?: number;
  sleep?(ms: number): Promise<void>;
}

/** The outcome, and whether the server has it. */
export interface PreflightRun extends PreflightOutcome {
  saved: boolean;
}

export const DURATION_MS = 10_000;

export function toReport(o: PreflightOutcome, ua = typeof navigator !== 'undefined' ? navigator.userAgent : ''): PreflightReport {
  return {
    rtt_ms: o.rttMs,
    loss_pct: o.lossPct,
    jitter_ms: o.jitterMs,
    mos: o.mos,
    verdict: o.verdict,
    audio_back: o.audioBack,
    browser: browserName(ua),
  };
}

export async function runPreflight(deps: PreflightDeps): Promise<PreflightRun> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const every = deps.everyMs ?? 1000;
  const test = await deps.startTest();
  const pc = test.pc;
  let ctx: AudioContext | null = null;
  let meters: (LevelMeter | null)[] = [null, null];
  try {
    ctx = new AudioContext();
    await ctx.resume().catch(() => undefined);
    const local = pc.getSenders().find((s) => s.track?.kind === 'audio')?.track ?? null;
    const remote = pc.getReceivers().find((r) => r.track?.kind === 'audio')?.track ?? null;
    meters = [local, remote].map((t) => (t ? new LevelMeter(ctx!, t) : null));
  } catch {
    // No Web Audio: the packets coming back are all the test can tell.
  }
  const readings: Reading[] = [];
  let last: Awaited<ReturnType<typeof browserCounters>> | null = null;
  let jitterSum = 0;
  let jitterN = 0;
  let rttSum = 0;
  let rttN = 0;
  let ended = false;
  void test.ended.then(() => (ended = true));
  try {
    for (let at = 0; at < (deps.durationMs ?? DURATION_MS) && !ended; at += every) {
      await sleep(every);
      let c: Awaited<ReturnType<typeof browserCounters>>;
      try {
        c = await browserCounters(pc);
      } catch {
        continue;
      }
      // The level coming back: the analyser's peak (Chromium), or the RMS of getStats' audio
      // energy over the second (Firefox, whose analyser of a remote track stays silent).
      const dur = last ? c.samplesDuration - last.samplesDuration : 0;
      const rms = dur > 0 ? Math.sqrt(Math.max(0, c.audioEnergy - last!.audioEnergy) / dur) : 0;
      const heard = meters[1]?.take() ?? null;
      readings.push({ micPeak: meters[0]?.take() ?? null, remotePeak: heard === null ? null : Math.max(heard, rms) });
      if (c.packetsReceived > 0) {
        jitterSum += c.jitterMs;
        jitterN += 1;
      }
      if (c.rttMs !== null) {
        rttSum += c.rttMs;
        rttN += 1;
      }
      last = c;
    }
  } finally {
    for (const m of meters) m?.close();
    void ctx?.close().catch(() => undefined);
    test.hangup();
  }
  const outcome = judge({
    readings,
    packetsReceived: last?.packetsReceived ?? 0,
    packetsLost: last?.packetsLost ?? 0,
    jitterMs: jitterN ? jitterSum / jitterN : null,
    rttMs: rttN ? rttSum / rttN : null,
  });
  let saved = true;
  try {
    await deps.report(toReport(outcome));
  } catch {
    saved = false;
  }
  return { ...outcome, saved };
}
