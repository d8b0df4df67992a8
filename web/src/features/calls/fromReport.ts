/**
 * The call list opened from a report's figure (issue #20): `#/calls?from=…&to=…&rang_out=2…`
 * selects the calls behind the figure. These read the URL's parameters into the list's filter,
 * tell whether a report's filter is on, and take it off.
 */
import type { CallFilter } from '../../shared/api/types';

/** The parameters a report's link may carry (REPORTS-API "Drill-down"). */
export const REPORT_KEYS = [
  'from', 'to', 'user_id', 'direction', 'result', 'answered', 'failed', 'trunk', 'queue_id', 'queue_outcome',
  'in_service_level', 'rang_out', 'group_id', 'weekday', 'hour',
] as const;

/** The ones the list has no control of its own for: while any is on, the "Filtered from a report" chip shows. */
const CHIP_KEYS = ['user_id', 'answered', 'failed', 'trunk', 'queue_id', 'queue_outcome', 'in_service_level', 'rang_out', 'group_id', 'weekday', 'hour'] as const;

const int = (v: string | null, min: number, max: number): number | undefined => {
  if (v === null || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
};
const oneOf = <T extends string>(v: string | null, allowed: readonly T[]): T | undefined =>
  (allowed as readonly string[]).includes(v ?? '') ? (v as T) : undefined;

/** A date (`YYYY-MM-DD`, what the list's own date fields hold) or an instant (RFC 3339, a report's period). */
const WHEN = /^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$/;
export const isInstant = (v: string | undefined) => !!v && v.includes('T');

/** The filter a report's link asks for; unknown or malformed values are left out. */
export function reportFilter(search: string): Partial<CallFilter> {
  const p = new URLSearchParams(search);
  const f: Partial<CallFilter> = {};
  const when = (k: 'from' | 'to') => {
    const v = p.get(k);
    if (v && WHEN.test(v)) f[k] = v;
  };
  when('from');
  when('to');
  const ids = ['user_id', 'trunk', 'queue_id', 'rang_out', 'group_id'] as const;
  for (const k of ids) {
    const n = int(p.get(k), 1, Number.MAX_SAFE_INTEGER);
    if (n !== undefined) f[k] = n;
  }
  const weekday = int(p.get('weekday'), 1, 7);
  if (weekday !== undefined) f.weekday = weekday;
  const hour = int(p.get('hour'), 0, 23);
  if (hour !== undefined) f.hour = hour;
  const direction = oneOf(p.get('direction'), ['inbound', 'outbound', 'internal']);
  if (direction) f.direction = direction;
  const result = oneOf(p.get('result'), ['answered', 'missed', 'busy', 'failed', 'refused', 'forwarded']);
  if (result) f.result = result;
  const answered = oneOf(p.get('answered'), ['true', 'false'] as const);
  if (answered) f.answered = answered;
  const sl = oneOf(p.get('in_service_level'), ['true', 'false'] as const);
  if (sl) f.in_service_level = sl;
  if (p.get('failed') === 'true') f.failed = 'true';
  const outcome = oneOf(p.get('queue_outcome'), ['answered', 'abandoned', 'overflow', 'callback']);
  if (outcome) f.queue_outcome = outcome;
  return f;
}

/** Whether a report's filter is on (a filter the list has no control for, or a period given as instants). */
export function fromReport(f: CallFilter): boolean {
  return CHIP_KEYS.some((k) => f[k] !== undefined && f[k] !== '') || isInstant(f.from) || isInstant(f.to);
}

/** The filter without anything a report's link may have set (the list's sort stays). */
export function withoutReport(f: CallFilter): CallFilter {
  const out: CallFilter = { ...f, page: 1 };
  for (const k of REPORT_KEYS) delete out[k];
  return out;
}
