/**
 * The wallboard's figures (issue #20): derived from the presence board's state (the snapshot of
 * `GET /api/telephony/board`, kept live by features/board/board.ts) — pure, so the page only renders.
 */
import type { Board, QueueFigures } from '../../shared/api/types';
import { callOf, shownState } from '../board/board';

export type AgentBucket = 'available' | 'on_call' | 'wrapup' | 'break' | 'dnd' | 'offline';
export const AGENT_BUCKETS: readonly AgentBucket[] = ['available', 'on_call', 'wrapup', 'break', 'dnd', 'offline'];

/**
 * Agents by what they are doing now. Offline (no phone) wins; then a call of their own (talking,
 * dialling, on hold — not one merely ringing them, nor one they parked); then their chosen state.
 */
export function agentCounts(b: Board, now: number): Record<AgentBucket, number> & { total: number } {
  const n = { available: 0, on_call: 0, wrapup: 0, break: 0, dnd: 0, offline: 0, total: b.agents.length };
  for (const a of b.agents) {
    const state = shownState(a, now);
    const call = state === 'offline' ? undefined : callOf(b, a);
    const bucket: AgentBucket =
      state === 'offline' ? 'offline' : call && call.user_id === a.user_id ? 'on_call' : (AGENT_BUCKETS as readonly string[]).includes(state) ? (state as AgentBucket) : 'available';
    n[bucket] += 1;
  }
  return n;
}

/** A queue's longest wait now: the snapshot's, counted on by `ageMs` since it was read (0: nobody waits). */
export function longestMs(q: QueueFigures, ageMs: number): number {
  return q.waiting > 0 ? q.longest_wait_secs * 1000 + Math.max(0, ageMs) : 0;
}

/** The service level in percent: answered within the queue's time, of the callers offered (null: none offered). */
export function offeredLevel(inTime: number, offered: number): number | null {
  return offered > 0 ? Math.round((inTime * 100) / offered) : null;
}

export interface QueueTotals {
  waiting: number;
  longestMs: number;
  offered: number;
  answered: number;
  answeredInTime: number;
  abandoned: number;
  /** Percent of the offered callers answered in time, across queues (null: none offered today). */
  serviceLevel: number | null;
}

/** Every queue together: waiting callers, the longest wait of any, and today's calls. */
export function queueTotals(queues: QueueFigures[], ageMs: number): QueueTotals {
  const sum = (f: (q: QueueFigures) => number) => queues.reduce((acc, q) => acc + f(q), 0);
  const offered = sum((q) => q.offered);
  const answeredInTime = sum((q) => q.answered_in_time);
  return {
    waiting: sum((q) => q.waiting),
    longestMs: queues.reduce((m, q) => Math.max(m, longestMs(q, ageMs)), 0),
    offered,
    answered: sum((q) => q.answered),
    answeredInTime,
    abandoned: sum((q) => q.abandoned),
    serviceLevel: offeredLevel(answeredInTime, offered),
  };
}

/** How a figure is coloured on the wall: calm, amber (look), red (act). */
export type Tone = 'ok' | 'warn' | 'alert';

/** Service level at or above this percent is calm… */
export const SL_TARGET = 80;
/** …at or above this amber, below it red. */
export const SL_WARN = 60;

/** A queue's waiting callers: calm when nobody waits, amber when someone does, red once the longest wait passed the queue's service-level time. */
export function waitTone(waiting: number, longestWaitMs: number, serviceLevelSecs: number): Tone {
  if (waiting <= 0) return 'ok';
  return longestWaitMs > serviceLevelSecs * 1000 ? 'alert' : 'warn';
}

/** Every queue together: the worst of the queues' tones. */
export function totalWaitTone(queues: QueueFigures[], ageMs: number): Tone {
  const rank: Record<Tone, number> = { ok: 0, warn: 1, alert: 2 };
  return queues.reduce<Tone>((worst, q) => {
    const tone = waitTone(q.waiting, longestMs(q, ageMs), q.service_level_secs);
    return rank[tone] > rank[worst] ? tone : worst;
  }, 'ok');
}

/** The service level's colour (null — nobody offered yet — is calm). */
export function levelTone(percent: number | null): Tone {
  if (percent === null || percent >= SL_TARGET) return 'ok';
  return percent >= SL_WARN ? 'warn' : 'alert';
}

/** Abandoned callers: amber from the first. */
export function abandonedTone(abandoned: number): Tone {
  return abandoned > 0 ? 'warn' : 'ok';
}
