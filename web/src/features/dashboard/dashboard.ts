/**
 * Home's dashboard (issue #20): pure helpers, so the page only renders. The figures come from
 * `GET /api/reports/dashboard`; the page reads it again on live news, at most once per
 * {@link READ_EVERY_MS}, and every {@link POLL_MS} anyway.
 */
import type { Dashboard } from '../../shared/api/types';

/** Reads on news are at most this far apart. */
export const READ_EVERY_MS = 2000;
/** …and the figures are read this often without news (today's totals move without events too). */
export const POLL_MS = 30_000;

export interface Throttle {
  /** Asks for a run: now if the last one is `ms` old, else once when it will be (asks meanwhile are merged). */
  poke(): void;
  /** Drops a pending run (the page is leaving). */
  cancel(): void;
}

/** Runs `run` at most once per `ms` however often it is poked; the first poke runs at once. */
export function throttle(run: () => void, ms: number): Throttle {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const go = () => {
    timer = undefined;
    last = Date.now();
    run();
  };
  return {
    poke() {
      if (timer !== undefined) return;
      const wait = last + ms - Date.now();
      if (wait <= 0) go();
      else timer = setTimeout(go, wait);
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** A talk time: `mm:ss` under an hour, `h:mm:ss` from one. */
export function hms(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The service level as a whole percent (`null`: nobody was offered a queue today). */
export function percent(share: number | null | undefined): number | null {
  return share == null ? null : Math.round(share * 100);
}

/** The user's own "today": calls, answered (both ways), missed (rung out), talk time, to call back. */
export function myToday(d: Dashboard) {
  const m = d.mine;
  return {
    calls: m.calls,
    answered: m.inbound_answered + m.outbound_answered,
    missed: m.rang_out,
    talkMs: m.talk_ms,
    toCallBack: d.to_call_back,
  };
}

/**
 * Whether an answer has the dashboard's shape (a proxy's error page or an older server answering
 * 200 with something else must not break Home: it counts as a failed read).
 */
export function isDashboard(v: unknown): v is Dashboard {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return typeof d.mine === 'object' && d.mine !== null && typeof d.to_call_back === 'number' && (d.team == null || typeof d.team === 'object');
}
