/**
 * The Reports page's pure logic (issue #20): the period and filters the page keeps (and mirrors in
 * the URL), the query sent to `/api/reports/*`, the derived figures (averages, service level, the
 * change against the previous period), table sorting and the heatmap's colour scale.
 */
import type { CallDirection, Figures, ReportPeriodKind, ReportQuery } from '../../shared/api/types';
import { formatNumber } from '../../shared/i18n/format';
import { mmss } from '../../shared/ui/time';

export const PERIODS: readonly ReportPeriodKind[] = [
  'today', 'yesterday', 'this_week', 'last_week', 'this_month', 'last_month', 'last_7_days', 'last_30_days', 'custom',
];
export const DIRECTIONS: readonly CallDirection[] = ['inbound', 'outbound', 'internal'];

/** What the page's picker and filters hold (numbers: ids; `undefined`: any). */
export interface ReportState {
  period: ReportPeriodKind;
  /** `YYYY-MM-DD`, used with `custom`. */
  from: string;
  to: string;
  group_id?: number;
  user_id?: number;
  trunk?: number;
  queue_id?: number;
  direction?: CallDirection;
}

export const INITIAL: ReportState = { period: 'today', from: '', to: '' };

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const posInt = (v: string | null): number | undefined => {
  if (v === null || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n > 0 ? n : undefined;
};

/** The state a `#/reports?period=…` link asks for (unknown values are left at their defaults). */
export function stateFromSearch(search: string): ReportState {
  const p = new URLSearchParams(search);
  const period = p.get('period');
  const dir = p.get('direction');
  const s: ReportState = {
    period: (PERIODS as readonly string[]).includes(period ?? '') ? (period as ReportPeriodKind) : 'today',
    from: DATE.test(p.get('from') ?? '') ? p.get('from')! : '',
    to: DATE.test(p.get('to') ?? '') ? p.get('to')! : '',
  };
  for (const k of ['group_id', 'user_id', 'trunk', 'queue_id'] as const) {
    const n = posInt(p.get(k));
    if (n !== undefined) s[k] = n;
  }
  if ((DIRECTIONS as readonly string[]).includes(dir ?? '')) s.direction = dir as CallDirection;
  return s;
}

/** Why a custom period cannot be asked for yet, or `null` when it can. */
export function customProblem(s: ReportState): 'dates' | 'order' | null {
  if (s.period !== 'custom') return null;
  if (!DATE.test(s.from) || !DATE.test(s.to)) return 'dates';
  return s.from > s.to ? 'order' : null;
}

/**
 * The query for `/api/reports/*`, or `null` while a custom period lacks its dates. A
 * non-supervisor's group/user/trunk/queue filters are dropped (the server would answer 403).
 */
export function buildQuery(s: ReportState, supervisor: boolean): ReportQuery | null {
  if (customProblem(s)) return null;
  const q: ReportQuery = { period: s.period };
  if (s.period === 'custom') {
    q.from = s.from;
    q.to = s.to;
  }
  if (supervisor) {
    for (const k of ['group_id', 'user_id', 'trunk', 'queue_id'] as const) if (s[k] !== undefined) q[k] = s[k];
  }
  if (s.direction) q.direction = s.direction;
  return q;
}

// --- derived figures ---

/** `a / b`, or `null` when there is nothing to divide by. */
export function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}
export const answered = (f: Figures) => f.inbound_answered + f.outbound_answered;
export const avgTalk = (f: Figures) => ratio(f.talk_ms, answered(f));
export const avgHold = (f: Figures) => ratio(f.hold_ms, answered(f));
export const avgWrapup = (f: Figures) => ratio(f.wrapup_ms, f.wrapups);
export const avgWait = (f: Figures) => ratio(f.answer_wait_ms, f.queue_answered);
/** 0..1 of the queued calls answered within the service-level time; `null` without queued calls. */
export const serviceLevel = (f: Figures) => ratio(f.in_service_level, f.queued);

/**
 * The change against the previous period: `pct` in whole percent of the previous value, `pts` in
 * percentage points (for shares such as the service level, given as 0..1). `null` when it cannot
 * be said (no figure, or nothing to compare with for `pct`).
 */
export function delta(cur: number | null, prev: number | null, kind: 'pct' | 'pts' = 'pct'): number | null {
  if (cur === null || prev === null) return null;
  if (kind === 'pts') return Math.round((cur - prev) * 100);
  if (prev === 0) return null;
  return Math.round(((cur - prev) / prev) * 100);
}

/** `+12`, `−5` (a real minus sign), `0`. */
export function signed(n: number): string {
  return n > 0 ? `+${n}` : n < 0 ? `−${Math.abs(n)}` : '0';
}

// --- formatting ---

export function fmtNum(n: number): string {
  return formatNumber(n);
}

/** A duration in ms: `mm:ss`, or `h:mm:ss` from an hour on; `—` when there is none. */
export function fmtDur(ms: number | null): string {
  if (ms === null) return '—';
  const hours = Math.floor(ms / 3_600_000);
  return hours > 0 ? `${hours}:${mmss(ms - hours * 3_600_000)}` : mmss(ms);
}

/** A share 0..1 as whole percent (`87 %`), `—` when there is none. */
export function fmtShare(v: number | null): string {
  return v === null ? '—' : `${Math.round(v * 100)} %`;
}

// --- sorting ---

export type SortDir = 'asc' | 'desc';
export type SortValue = number | string | null;

/** A sorted copy; `null` values always last, equal values keep their order. */
export function sortRows<T>(rows: readonly T[], key: (r: T) => SortValue, dir: SortDir): T[] {
  const sign = dir === 'asc' ? 1 : -1;
  return rows
    .map((r, i) => ({ r, i, v: key(r) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
      const c = typeof a.v === 'string' || typeof b.v === 'string' ? String(a.v).localeCompare(String(b.v)) : a.v - b.v;
      return c === 0 ? a.i - b.i : c * sign;
    })
    .map((x) => x.r);
}

// --- the heatmap's colour scale ---

export interface HeatColour {
  background: string;
  /** Text colour readable on `background`. */
  color: string;
}

/**
 * The colour of a heatmap cell: none for 0, then from a pale to a deep blue as `value` goes to
 * `max` (lightness 94 % → 30 %), with white text on the darker half.
 */
export function heatColour(value: number, max: number): HeatColour | null {
  if (value <= 0 || max <= 0) return null;
  const share = Math.min(1, value / max);
  const lightness = Math.round(94 - share * 64);
  return { background: `hsl(214, 70%, ${lightness}%)`, color: lightness < 58 ? '#ffffff' : '#1b2430' };
}
